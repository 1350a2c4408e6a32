//! The HTTP API operations: one match arm per operation in [`HttpApis::dispatch`], each
//! checking its input with `model`, then changing a copy of the API that is committed
//! before it replaces the original in memory.

use crate::error::{self, invalid_identifier, ApigwError, Result};
pub(crate) use crate::error::{bad, quota};
use crate::model::{self, opt_bool, opt_str, opt_string_map, req_str};
use crate::{
    in_region, ApiEntry, Deployment, HttpApis, API, AUTHORIZER, DEPLOYMENT, INTEGRATION, ROUTE,
    STAGE,
};
use http::{Method, StatusCode};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use store::{Resource, ResourceWrite};
use wire::{ApiRequest, ApiResponse, BoxFuture};

/// One decoded call: what the operations need of an [`ApiRequest`].
pub(crate) struct Call<'a> {
    pub method: &'a Method,
    /// Percent-decoded path segments after `/v2/`.
    pub segs: Vec<String>,
    pub query: &'a [(String, String)],
    pub body: Value,
    pub region: &'a str,
    pub host: Option<&'a str>,
}

impl Call<'_> {
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        query_param(self.query, name)
    }
}

/// The value of the query parameter `name`, the first if it repeats.
pub(crate) fn query_param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A control-plane call's body: a JSON object, `{}` when empty.
pub(crate) fn json_body(req: &ApiRequest) -> Result<Value> {
    if req.body.is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(bad("The request body is not a JSON object.")),
    }
}

/// The reply to a control-plane call: `Value::Null` answers with an empty body.
pub(crate) fn reply(out: Result<(StatusCode, Value)>) -> ApiResponse {
    match out {
        Ok((status, Value::Null)) => wire::empty_response(status),
        Ok((status, v)) => wire::json_response(status, &v),
        Err(e) => e.into_response(),
    }
}

/// The store writes of one change.
#[derive(Default)]
pub(crate) struct Writes(pub(crate) Vec<ResourceWrite>);

impl Writes {
    pub(crate) fn put(&mut self, kind: &str, scope: &str, name: &str, body: &Value) {
        self.0.push(ResourceWrite::Put(Resource {
            kind: kind.into(),
            scope: scope.into(),
            name: name.into(),
            body: body.to_string(),
            due_ms: None,
        }));
    }

    pub(crate) fn delete(&mut self, kind: &str, scope: &str, name: &str) {
        self.0.push(ResourceWrite::Delete {
            kind: kind.into(),
            scope: scope.into(),
            name: name.into(),
        });
    }
}

/// The store writes of one change to an HTTP API, and whether it changed what
/// auto-deployed stages serve (so a new automatic deployment is due).
#[derive(Default)]
pub(crate) struct Tx {
    writes: Writes,
    pub(crate) redeploy: bool,
}

impl std::ops::Deref for Tx {
    type Target = Writes;

    fn deref(&self) -> &Writes {
        &self.writes
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Writes {
        &mut self.writes
    }
}

fn api_not_found(id: &str) -> ApigwError {
    error::api_not_found("Api", id)
}

fn route_not_found(id: &str) -> ApigwError {
    invalid_identifier("Route", id)
}

fn integration_not_found(id: &str) -> ApigwError {
    invalid_identifier("Integration", id)
}

fn stage_not_found(name: &str) -> ApigwError {
    ApigwError::not_found(
        "Stage",
        format!("Invalid stage identifier specified {name}"),
    )
}

fn deployment_not_found(id: &str) -> ApigwError {
    invalid_identifier("Deployment", id)
}

/// A record as the API shows it: without Eddy's own `_` members.
pub(crate) fn view(rec: &Value) -> Value {
    match rec {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('_'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Copies `fields` that `body` carries (and that are not null) into `rec`.
pub(crate) fn merge(rec: &mut Value, body: &Value, fields: &[&str]) {
    for f in fields {
        if let Some(v) = body.get(*f).filter(|v| !v.is_null()) {
            rec[*f] = v.clone();
        }
    }
}

fn port_of(authority: &str) -> Option<u16> {
    let (host, port) = authority.rsplit_once(':')?;
    if host.is_empty() || host.ends_with(':') {
        return None;
    }
    port.parse().ok()
}

/// A fresh id of `len` characters not in `taken`.
pub(crate) fn fresh_id(len: usize, taken: impl Fn(&str) -> bool) -> String {
    loop {
        let id = model::alnum_id(len);
        if !taken(&id) {
            return id;
        }
    }
}

/// Members of CreateIntegration and UpdateIntegration that are stored as given.
const INTEGRATION_FIELDS: [&str; 13] = [
    "integrationType",
    "integrationUri",
    "integrationMethod",
    "payloadFormatVersion",
    "timeoutInMillis",
    "connectionType",
    "connectionId",
    "description",
    "requestParameters",
    "responseParameters",
    "tlsConfig",
    "credentialsArn",
    "integrationSubtype",
];

/// Members of CreateRoute and UpdateRoute that are stored as given.
const ROUTE_FIELDS: [&str; 8] = [
    "routeKey",
    "target",
    "authorizationType",
    "authorizerId",
    "authorizationScopes",
    "apiKeyRequired",
    "operationName",
    "requestParameters",
];

impl HttpApis {
    fn endpoint(&self, host: Option<&str>, api_id: &str) -> String {
        let port = self
            .inner
            .cfg
            .public_base
            .as_deref()
            .and_then(port_of)
            .or_else(|| host.and_then(port_of));
        match port {
            Some(p) => format!("http://{api_id}.execute-api.localhost:{p}"),
            None => format!("http://{api_id}.execute-api.localhost"),
        }
    }

    fn api_view(&self, host: Option<&str>, api: &ApiEntry) -> Value {
        let mut v = view(&api.record);
        v["apiEndpoint"] = json!(self.endpoint(host, api.id()));
        v
    }

    /// A copy of the API `id` in `region`, to change.
    fn api_copy(&self, region: &str, id: &str) -> Result<ApiEntry> {
        in_region(&self.live().read().apis, region, id)
            .cloned()
            .ok_or_else(|| api_not_found(id))
    }

    /// Reads the API `id` in `region`.
    pub(crate) fn with_api<T>(
        &self,
        region: &str,
        id: &str,
        f: impl FnOnce(&ApiEntry) -> Result<T>,
    ) -> Result<T> {
        let st = self.live().read();
        let api = in_region(&st.apis, region, id).ok_or_else(|| api_not_found(id))?;
        f(api)
    }

    /// Changes the API `id` under the writer lock: `f` edits a copy and names its writes;
    /// a change to routes or integrations deploys to the auto-deploy stages in the same
    /// commit; the copy replaces the API once the commit succeeded.
    pub(crate) async fn change<T>(
        &self,
        region: &str,
        id: &str,
        f: impl FnOnce(&mut ApiEntry, &mut Tx, i64) -> Result<T>,
    ) -> Result<T> {
        self.change_and(region, id, f, |_, out| out).await
    }

    /// [`Self::change`], with the reply made by `reply` from the API as committed (after
    /// any automatic deployment), still under the writer lock.
    async fn change_and<T, U>(
        &self,
        region: &str,
        id: &str,
        f: impl FnOnce(&mut ApiEntry, &mut Tx, i64) -> Result<T>,
        reply: impl FnOnce(&ApiEntry, T) -> U,
    ) -> Result<U> {
        let _w = self.live().lock().await;
        let mut api = self.api_copy(region, id)?;
        let now = self.now_ms();
        let mut tx = Tx::default();
        let out = f(&mut api, &mut tx, now)?;
        if tx.redeploy {
            api.recompile();
            auto_deploy(&mut api, &mut tx, now);
        }
        prune_auto_deployments(&mut api, &mut tx);
        self.live().commit(tx.writes.0, vec![], now).await?;
        let out = reply(&api, out);
        self.live().write().apis.insert(id.to_string(), api);
        Ok(out)
    }

    async fn create_api(&self, call: &Call<'_>) -> Result<Value> {
        let body = &call.body;
        let name = req_str(body, "name")?;
        model::check_len("name", name, 1, 128)?;
        match opt_str(body, "protocolType")? {
            Some("HTTP") => {}
            Some("WEBSOCKET") => {
                return Err(bad(
                    "WebSocket APIs are not implemented in Eddy yet; use protocolType HTTP.",
                ))
            }
            Some(other) => return Err(bad(format!("Invalid protocolType {other}: use HTTP."))),
            None => return Err(bad("Invalid input: protocolType is required.")),
        }
        let now = self.now_ms();
        let mut rec = json!({
            "name": name,
            "protocolType": "HTTP",
            "routeSelectionExpression": model::ROUTE_SELECTION,
            "apiKeySelectionExpression": model::API_KEY_SELECTION,
            "disableExecuteApiEndpoint": false,
            "ipAddressType": "ipv4",
            "createdDate": wire::time::iso8601(now),
            "tags": {},
        });
        apply_api_fields(&mut rec, body)?;
        if let Some(tags) = opt_string_map(body, "tags")? {
            model::check_tags(&tags)?;
            rec["tags"] = Value::Object(tags);
        }
        let target = opt_str(body, "target")?;
        let quick = match target {
            Some(t) => Some(model::quick_create_integration(t)?),
            None => {
                for f in ["routeKey", "credentialsArn"] {
                    if body.get(f).is_some_and(|v| !v.is_null()) {
                        return Err(bad(format!(
                            "{f} is part of quick create: it needs a target."
                        )));
                    }
                }
                None
            }
        };
        let route_key = opt_str(body, "routeKey")?.unwrap_or(gateway::DEFAULT_ROUTE);
        if quick.is_some() {
            model::check_route_key(route_key, &[])?;
        }

        let _w = self.live().lock().await;
        let id = {
            let st = self.live().read();
            let in_region = st.apis.values().filter(|a| a.region == call.region).count();
            if in_region >= self.inner.cfg.apis_per_region_max {
                return Err(quota(
                    "apis",
                    "APIs in this region",
                    self.inner.cfg.apis_per_region_max,
                ));
            }
            fresh_id(10, |id| st.apis.contains_key(id))
        };
        rec["apiId"] = json!(id);
        let mut api = ApiEntry::new(call.region.to_string(), rec);
        let mut tx = Tx::default();
        tx.put(API, call.region, &id, &api.record);
        if let Some(mut integration) = quick {
            // Quick create: an integration, a route to it and an auto-deployed $default
            // stage, all managed by API Gateway.
            let iid = model::alnum_id(7);
            integration["integrationId"] = json!(iid);
            integration["apiGatewayManaged"] = json!(true);
            integration["_createdMs"] = json!(now);
            if let Some(c) = opt_str(body, "credentialsArn")? {
                integration["credentialsArn"] = json!(c);
            }
            let rid = model::alnum_id(7);
            let route = json!({
                "routeId": rid, "routeKey": route_key, "target": format!("integrations/{iid}"),
                "authorizationType": "NONE", "apiKeyRequired": false, "apiGatewayManaged": true,
                "_createdMs": now,
            });
            let stage = new_stage(model::DEFAULT_STAGE, true, now, true);
            tx.put(INTEGRATION, &id, &iid, &integration);
            tx.put(ROUTE, &id, &rid, &route);
            tx.put(STAGE, &id, model::DEFAULT_STAGE, &stage);
            api.integrations.insert(iid, integration);
            api.routes.insert(rid, route);
            api.stages.insert(model::DEFAULT_STAGE.into(), stage);
            api.recompile();
            auto_deploy(&mut api, &mut tx, now);
        }
        self.live().commit(tx.writes.0, vec![], now).await?;
        let out = self.api_view(call.host, &api);
        self.live().write().apis.insert(id, api);
        Ok(out)
    }

    async fn update_api(&self, call: &Call<'_>, id: &str) -> Result<Value> {
        let body = &call.body;
        if let Some(n) = opt_str(body, "name")? {
            model::check_len("name", n, 1, 128)?;
        }
        let target = opt_str(body, "target")?
            .map(model::quick_create_integration)
            .transpose()?;
        let route_key = opt_str(body, "routeKey")?;
        let credentials = opt_str(body, "credentialsArn")?;
        self.change_and(
            call.region,
            id,
            |api, tx, _now| {
                if let Some(n) = opt_str(body, "name")? {
                    api.record["name"] = json!(n);
                }
                apply_api_fields(&mut api.record, body)?;
                if target.is_some() || route_key.is_some() || credentials.is_some() {
                    update_quick_create(api, tx, target, route_key, credentials)?;
                }
                tx.put(API, &api.region, id, &api.record);
                Ok(())
            },
            |api, ()| self.api_view(call.host, api),
        )
        .await
    }

    async fn delete_cors(&self, region: &str, id: &str) -> Result<()> {
        self.change(region, id, |api, tx, _| {
            if let Some(m) = api.record.as_object_mut() {
                m.remove("corsConfiguration");
            }
            tx.put(API, &api.region, id, &api.record);
            Ok(())
        })
        .await
    }

    async fn delete_api(&self, region: &str, id: &str) -> Result<()> {
        let _w = self.live().lock().await;
        let api = self.api_copy(region, id)?;
        let mut tx = Tx::default();
        for (kind, names) in [
            (ROUTE, api.routes.keys().collect::<Vec<_>>()),
            (AUTHORIZER, api.authorizers.keys().collect()),
            (INTEGRATION, api.integrations.keys().collect()),
            (STAGE, api.stages.keys().collect()),
            (DEPLOYMENT, api.deployments.keys().collect()),
        ] {
            for n in names {
                tx.delete(kind, id, n);
            }
        }
        tx.delete(API, region, id);
        self.live()
            .commit(tx.writes.0, vec![], self.now_ms())
            .await?;
        self.live().write().apis.remove(id);
        Ok(())
    }

    fn get_apis(&self, call: &Call<'_>) -> Result<Value> {
        let limit = model::max_results(call.query("maxResults"))?;
        let st = self.live().read();
        let items = st
            .apis
            .iter()
            .filter(|(_, a)| a.region == call.region)
            .map(|(k, a)| (k, self.api_view(call.host, a)));
        model::page(items, call.query("nextToken"), limit)
    }

    async fn create_route(&self, region: &str, id: &str, body: &Value) -> Result<Value> {
        let key = req_str(body, "routeKey")?.to_string();
        let mut route = json!({ "authorizationType": "NONE", "apiKeyRequired": false });
        merge(&mut route, body, &ROUTE_FIELDS);
        model::check_authorization(&route)?;
        let max = self.inner.cfg.routes_per_api_max;
        self.change(region, id, |api, tx, now| {
            if api.routes.len() >= max {
                return Err(quota("routes", "routes in this API", max));
            }
            model::check_route_key(&key, &route_keys(api, None))?;
            check_route_target(api, &route)?;
            crate::authorizers::check_route_authorizer(api, &route)?;
            let rid = fresh_id(7, |r| api.routes.contains_key(r));
            route["routeId"] = json!(rid);
            route["_createdMs"] = json!(now);
            tx.put(ROUTE, id, &rid, &route);
            api.routes.insert(rid, route.clone());
            tx.redeploy = true;
            Ok(view(&route))
        })
        .await
    }

    async fn update_route(&self, region: &str, id: &str, rid: &str, body: &Value) -> Result<Value> {
        self.change(region, id, |api, tx, _| {
            let mut route = api
                .routes
                .get(rid)
                .cloned()
                .ok_or_else(|| route_not_found(rid))?;
            if let Some(key) = opt_str(body, "routeKey")? {
                if route["routeKey"].as_str() != Some(key) {
                    if route["apiGatewayManaged"].as_bool() == Some(true) {
                        return Err(bad(
                            "The route key of a route made by quick create can only be changed with UpdateApi.",
                        ));
                    }
                    model::check_route_key(key, &route_keys(api, Some(rid)))?;
                }
            }
            merge(&mut route, body, &ROUTE_FIELDS);
            // An empty target detaches the route from its integration.
            if route["target"].as_str() == Some("") {
                if let Some(m) = route.as_object_mut() {
                    m.remove("target");
                }
            }
            // Moving a route off CUSTOM or JWT drops its authorizer, as AWS does.
            if matches!(route["authorizationType"].as_str(), Some("NONE" | "AWS_IAM")) {
                if let Some(m) = route.as_object_mut() {
                    m.remove("authorizerId");
                    m.remove("authorizationScopes");
                }
            }
            model::check_authorization(&route)?;
            check_route_target(api, &route)?;
            crate::authorizers::check_route_authorizer(api, &route)?;
            tx.put(ROUTE, id, rid, &route);
            api.routes.insert(rid.to_string(), route.clone());
            tx.redeploy = true;
            Ok(view(&route))
        })
        .await
    }

    async fn delete_route(&self, region: &str, id: &str, rid: &str) -> Result<()> {
        self.change(region, id, |api, tx, _| {
            api.routes.remove(rid).ok_or_else(|| route_not_found(rid))?;
            tx.delete(ROUTE, id, rid);
            tx.redeploy = true;
            Ok(())
        })
        .await
    }

    async fn create_integration(&self, region: &str, id: &str, body: &Value) -> Result<Value> {
        let mut rec = json!({});
        merge(&mut rec, body, &INTEGRATION_FIELDS);
        model::check_integration(&mut rec)?;
        let max = self.inner.cfg.integrations_per_api_max;
        self.change(region, id, |api, tx, now| {
            if api.integrations.len() >= max {
                return Err(quota("integrations", "integrations in this API", max));
            }
            let iid = fresh_id(7, |i| api.integrations.contains_key(i));
            rec["integrationId"] = json!(iid);
            rec["_createdMs"] = json!(now);
            tx.put(INTEGRATION, id, &iid, &rec);
            api.integrations.insert(iid, rec.clone());
            tx.redeploy = true;
            Ok(view(&rec))
        })
        .await
    }

    async fn update_integration(
        &self,
        region: &str,
        id: &str,
        iid: &str,
        body: &Value,
    ) -> Result<Value> {
        self.change(region, id, |api, tx, _| {
            let mut rec = api
                .integrations
                .get(iid)
                .cloned()
                .ok_or_else(|| integration_not_found(iid))?;
            let new_type = opt_str(body, "integrationType")?;
            if new_type.is_some() && new_type != rec["integrationType"].as_str() {
                // The old type's defaults do not carry over to the new type.
                if let Some(m) = rec.as_object_mut() {
                    m.remove("payloadFormatVersion");
                    m.remove("integrationMethod");
                }
            }
            merge(&mut rec, body, &INTEGRATION_FIELDS);
            model::check_integration(&mut rec)?;
            tx.put(INTEGRATION, id, iid, &rec);
            api.integrations.insert(iid.to_string(), rec.clone());
            tx.redeploy = true;
            Ok(view(&rec))
        })
        .await
    }

    async fn delete_integration(&self, region: &str, id: &str, iid: &str) -> Result<()> {
        self.change(region, id, |api, tx, _| {
            if !api.integrations.contains_key(iid) {
                return Err(integration_not_found(iid));
            }
            let target = format!("integrations/{iid}");
            let users: Vec<&str> = api
                .routes
                .values()
                .filter(|r| r["target"].as_str() == Some(target.as_str()))
                .filter_map(|r| r["routeKey"].as_str())
                .collect();
            if !users.is_empty() {
                return Err(ApigwError::Conflict(format!(
                    "Integration {iid} is the target of route(s) {}; change or delete them first.",
                    users.join(", ")
                )));
            }
            api.integrations.remove(iid);
            tx.delete(INTEGRATION, id, iid);
            tx.redeploy = true;
            Ok(())
        })
        .await
    }

    async fn create_stage(&self, region: &str, id: &str, body: &Value) -> Result<Value> {
        let name = req_str(body, "stageName")?.to_string();
        model::check_stage_name(&name)?;
        let auto = opt_bool(body, "autoDeploy")?.unwrap_or(false);
        let mut stage = new_stage(&name, auto, self.now_ms(), false);
        apply_stage_fields(&mut stage, body)?;
        if let Some(tags) = opt_string_map(body, "tags")? {
            model::check_tags(&tags)?;
            stage["tags"] = Value::Object(tags);
        }
        let max = self.inner.cfg.stages_per_api_max;
        self.change_and(
            region,
            id,
            |api, tx, _| {
                if api.stages.contains_key(&name) {
                    return Err(ApigwError::Conflict(format!("Stage {name} already exists")));
                }
                if api.stages.len() >= max {
                    return Err(quota("stages", "stages in this API", max));
                }
                check_stage_deployment(api, &stage)?;
                tx.put(STAGE, id, &name, &stage);
                api.stages.insert(name.clone(), stage);
                tx.redeploy = auto;
                Ok(())
            },
            |api, ()| stage_view(api, &name),
        )
        .await
    }

    async fn update_stage(
        &self,
        region: &str,
        id: &str,
        name: &str,
        body: &Value,
    ) -> Result<Value> {
        let auto = opt_bool(body, "autoDeploy")?;
        self.change_and(
            region,
            id,
            |api, tx, now| {
                let mut stage = api
                    .stages
                    .get(name)
                    .cloned()
                    .ok_or_else(|| stage_not_found(name))?;
                let was_auto = stage["autoDeploy"].as_bool() == Some(true);
                if let Some(a) = auto {
                    stage["autoDeploy"] = json!(a);
                }
                apply_stage_fields(&mut stage, body)?;
                check_stage_deployment(api, &stage)?;
                stage["lastUpdatedDate"] = json!(wire::time::iso8601(now));
                tx.put(STAGE, id, name, &stage);
                api.stages.insert(name.to_string(), stage);
                tx.redeploy = auto == Some(true) && !was_auto;
                Ok(())
            },
            |api, ()| stage_view(api, name),
        )
        .await
    }

    async fn delete_stage(&self, region: &str, id: &str, name: &str) -> Result<()> {
        self.change(region, id, |api, tx, _| {
            api.stages
                .remove(name)
                .ok_or_else(|| stage_not_found(name))?;
            tx.delete(STAGE, id, name);
            Ok(())
        })
        .await
    }

    async fn create_deployment(&self, region: &str, id: &str, body: &Value) -> Result<Value> {
        let description = opt_str(body, "description")?;
        if let Some(d) = description {
            model::check_len("description", d, 0, 1024)?;
        }
        let stage_name = opt_str(body, "stageName")?;
        let max = self.inner.cfg.deployments_per_api_max;
        self.change(region, id, |api, tx, now| {
            if let Some(s) = stage_name {
                if !api.stages.contains_key(s) {
                    return Err(stage_not_found(s));
                }
            }
            if api.routes.is_empty() {
                return Err(bad(
                    "Unable to deploy API because no routes exist in this API",
                ));
            }
            if api.deployments.len() >= max {
                return Err(quota("deployments", "deployments of this API", max));
            }
            let did = fresh_id(7, |d| api.deployments.contains_key(d));
            let mut rec = new_deployment(api, &did, false, now);
            if let Some(d) = description {
                rec["description"] = json!(d);
            }
            tx.put(DEPLOYMENT, id, &did, &rec);
            let out = view(&rec);
            let compiled = Arc::new(crate::Compiled::from_snapshot(&rec["_snapshot"]));
            api.deployments.insert(
                did.clone(),
                Arc::new(Deployment {
                    record: rec,
                    compiled,
                }),
            );
            if let Some(s) = stage_name {
                point_stage(api, tx, s, &did, now);
            }
            Ok(out)
        })
        .await
    }

    async fn update_deployment(
        &self,
        region: &str,
        id: &str,
        did: &str,
        body: &Value,
    ) -> Result<Value> {
        let description = opt_str(body, "description")?;
        if let Some(d) = description {
            model::check_len("description", d, 0, 1024)?;
        }
        self.change(region, id, |api, tx, _| {
            let d = api
                .deployments
                .get(did)
                .cloned()
                .ok_or_else(|| deployment_not_found(did))?;
            let mut rec = d.record.clone();
            if let Some(desc) = description {
                rec["description"] = json!(desc);
            }
            tx.put(DEPLOYMENT, id, did, &rec);
            let out = view(&rec);
            api.deployments.insert(
                did.to_string(),
                Arc::new(Deployment {
                    record: rec,
                    compiled: d.compiled.clone(),
                }),
            );
            Ok(out)
        })
        .await
    }

    async fn delete_deployment(&self, region: &str, id: &str, did: &str) -> Result<()> {
        self.change(region, id, |api, tx, _| {
            if !api.deployments.contains_key(did) {
                return Err(deployment_not_found(did));
            }
            if api
                .stages
                .values()
                .any(|s| s["deploymentId"].as_str() == Some(did))
            {
                return Err(bad(
                    "Active stages pointing to this deployment must be moved or deleted",
                ));
            }
            api.deployments.remove(did);
            tx.delete(DEPLOYMENT, id, did);
            Ok(())
        })
        .await
    }

    async fn tags(&self, call: &Call<'_>, arn: &str) -> Result<(StatusCode, Value)> {
        let not_found = || {
            ApigwError::not_found(
                "Resource",
                format!("Invalid resource identifier specified {arn}"),
            )
        };
        let (region, api_id, stage) = model::parse_tag_arn(arn).ok_or_else(not_found)?;
        if region != call.region {
            return Err(not_found());
        }
        let current = |api: &ApiEntry| -> Result<Map<String, Value>> {
            let rec = match &stage {
                None => &api.record,
                Some(s) => api.stages.get(s).ok_or_else(not_found)?,
            };
            Ok(rec["tags"].as_object().cloned().unwrap_or_default())
        };
        if call.method == Method::GET {
            let tags = self
                .with_api(&region, &api_id, |api| current(api))
                .map_err(|_| not_found())?;
            return Ok((StatusCode::OK, json!({ "tags": tags })));
        }
        let (added, removed): (Map<String, Value>, Vec<&str>) = if call.method == Method::POST {
            let tags = opt_string_map(&call.body, "tags")?
                .ok_or_else(|| bad("Invalid input: tags is required."))?;
            (tags, vec![])
        } else {
            let keys = call
                .query
                .iter()
                .filter(|(k, _)| k == "tagKeys")
                .map(|(_, v)| v.as_str())
                .collect();
            (Map::new(), keys)
        };
        if self.api_copy(&region, &api_id).is_err() {
            return Err(not_found());
        }
        self.change(&region, &api_id, |api, tx, _| {
            let mut tags = current(api)?;
            tags.extend(added);
            for k in removed {
                tags.remove(k);
            }
            model::check_tags(&tags)?;
            match &stage {
                None => {
                    api.record["tags"] = Value::Object(tags);
                    tx.put(API, &api.region, &api_id, &api.record);
                }
                Some(s) => {
                    let rec = api.stages.get_mut(s).ok_or_else(not_found)?;
                    rec["tags"] = Value::Object(tags);
                    tx.put(STAGE, &api_id, s, rec);
                }
            }
            Ok(())
        })
        .await?;
        Ok(if call.method == Method::POST {
            (StatusCode::CREATED, json!({}))
        } else {
            (StatusCode::NO_CONTENT, Value::Null)
        })
    }

    /// Runs one operation: its status and body (`Null` for none).
    pub(crate) async fn dispatch(&self, call: &Call<'_>) -> Result<(StatusCode, Value)> {
        use StatusCode as S;
        let segs: Vec<&str> = call.segs.iter().map(String::as_str).collect();
        let region = call.region;
        let body = &call.body;
        let none = (S::NO_CONTENT, Value::Null);
        let m = call.method;
        let page = |items: Vec<(&String, Value)>| {
            model::page(
                items.into_iter(),
                call.query("nextToken"),
                model::max_results(call.query("maxResults"))?,
            )
        };
        Ok(match (m, segs.as_slice()) {
            (&Method::POST, ["apis"]) => (S::CREATED, self.create_api(call).await?),
            (&Method::GET, ["apis"]) => (S::OK, self.get_apis(call)?),
            (&Method::GET, ["apis", id]) => (
                S::OK,
                self.with_api(region, id, |a| Ok(self.api_view(call.host, a)))?,
            ),
            (&Method::PATCH, ["apis", id]) => (S::OK, self.update_api(call, id).await?),
            (&Method::DELETE, ["apis", id]) => {
                self.delete_api(region, id).await?;
                none
            }
            (&Method::DELETE, ["apis", id, "cors"]) => {
                self.delete_cors(region, id).await?;
                none
            }
            (&Method::POST, ["apis", id, "routes"]) => {
                (S::CREATED, self.create_route(region, id, body).await?)
            }
            (&Method::GET, ["apis", id, "routes"]) => (
                S::OK,
                self.with_api(region, id, |a| {
                    page(a.routes.iter().map(|(k, v)| (k, view(v))).collect())
                })?,
            ),
            (&Method::GET, ["apis", id, "routes", rid]) => (
                S::OK,
                self.with_api(region, id, |a| {
                    a.routes
                        .get(*rid)
                        .map(view)
                        .ok_or_else(|| route_not_found(rid))
                })?,
            ),
            (&Method::PATCH, ["apis", id, "routes", rid]) => {
                (S::OK, self.update_route(region, id, rid, body).await?)
            }
            (&Method::DELETE, ["apis", id, "routes", rid]) => {
                self.delete_route(region, id, rid).await?;
                none
            }
            (&Method::POST, ["apis", id, "integrations"]) => {
                (S::CREATED, self.create_integration(region, id, body).await?)
            }
            (&Method::GET, ["apis", id, "integrations"]) => (
                S::OK,
                self.with_api(region, id, |a| {
                    page(a.integrations.iter().map(|(k, v)| (k, view(v))).collect())
                })?,
            ),
            (&Method::GET, ["apis", id, "integrations", iid]) => (
                S::OK,
                self.with_api(region, id, |a| {
                    a.integrations
                        .get(*iid)
                        .map(view)
                        .ok_or_else(|| integration_not_found(iid))
                })?,
            ),
            (&Method::PATCH, ["apis", id, "integrations", iid]) => {
                (S::OK, self.update_integration(region, id, iid, body).await?)
            }
            (&Method::DELETE, ["apis", id, "integrations", iid]) => {
                self.delete_integration(region, id, iid).await?;
                none
            }
            (&Method::POST, ["apis", id, "stages"]) => {
                (S::CREATED, self.create_stage(region, id, body).await?)
            }
            (&Method::GET, ["apis", id, "stages"]) => (
                S::OK,
                self.with_api(region, id, |a| {
                    page(a.stages.iter().map(|(k, v)| (k, view(v))).collect())
                })?,
            ),
            (&Method::GET, ["apis", id, "stages", name]) => (
                S::OK,
                self.with_api(region, id, |a| {
                    a.stages
                        .get(*name)
                        .map(view)
                        .ok_or_else(|| stage_not_found(name))
                })?,
            ),
            (&Method::PATCH, ["apis", id, "stages", name]) => {
                (S::OK, self.update_stage(region, id, name, body).await?)
            }
            (&Method::DELETE, ["apis", id, "stages", name]) => {
                self.delete_stage(region, id, name).await?;
                none
            }
            (&Method::POST, ["apis", id, "deployments"]) => {
                (S::CREATED, self.create_deployment(region, id, body).await?)
            }
            (&Method::GET, ["apis", id, "deployments"]) => (
                S::OK,
                self.with_api(region, id, |a| {
                    page(
                        a.deployments
                            .iter()
                            .map(|(k, d)| (k, view(&d.record)))
                            .collect(),
                    )
                })?,
            ),
            (&Method::GET, ["apis", id, "deployments", did]) => (
                S::OK,
                self.with_api(region, id, |a| {
                    a.deployments
                        .get(*did)
                        .map(|d| view(&d.record))
                        .ok_or_else(|| deployment_not_found(did))
                })?,
            ),
            (&Method::PATCH, ["apis", id, "deployments", did]) => {
                (S::OK, self.update_deployment(region, id, did, body).await?)
            }
            (&Method::DELETE, ["apis", id, "deployments", did]) => {
                self.delete_deployment(region, id, did).await?;
                none
            }
            (_, ["apis", id, "authorizers", rest @ ..]) => self.authorizers(call, id, rest).await?,
            (&Method::GET | &Method::POST | &Method::DELETE, ["tags", rest @ ..])
                if !rest.is_empty() =>
            {
                self.tags(call, &rest.join("/")).await?
            }
            _ => {
                return Err(ApigwError::NotImplemented(format!(
                    "Eddy does not implement {m} /v2/{} in API Gateway v2 yet.",
                    segs.join("/")
                )))
            }
        })
    }
}

/// The members CreateApi and UpdateApi share, checked and copied into `rec`.
fn apply_api_fields(rec: &mut Value, body: &Value) -> Result<()> {
    if let Some(d) = opt_str(body, "description")? {
        model::check_len("description", d, 0, 1024)?;
        rec["description"] = json!(d);
    }
    if let Some(v) = opt_str(body, "version")? {
        model::check_len("version", v, 1, 64)?;
        rec["version"] = json!(v);
    }
    if let Some(b) = opt_bool(body, "disableExecuteApiEndpoint")? {
        rec["disableExecuteApiEndpoint"] = json!(b);
    }
    if let Some(c) = body.get("corsConfiguration").filter(|c| !c.is_null()) {
        rec["corsConfiguration"] = model::check_cors(c)?;
    }
    if let Some(e) = opt_str(body, "routeSelectionExpression")? {
        if e != model::ROUTE_SELECTION && e != "${request.method} ${request.path}" {
            return Err(bad(format!(
                "Invalid routeSelectionExpression {e}: HTTP APIs use {}.",
                model::ROUTE_SELECTION
            )));
        }
    }
    match opt_str(body, "ipAddressType")? {
        None => {}
        Some(t @ ("ipv4" | "dualstack")) => rec["ipAddressType"] = json!(t),
        Some(other) => {
            return Err(bad(format!(
                "Invalid ipAddressType {other}: use ipv4 or dualstack."
            )))
        }
    }
    Ok(())
}

/// UpdateApi's quick-create members: a new target replaces the managed integration's
/// type and URI, a route key the managed route's key.
fn update_quick_create(
    api: &mut ApiEntry,
    tx: &mut Tx,
    target: Option<Value>,
    route_key: Option<&str>,
    credentials: Option<&str>,
) -> Result<()> {
    let managed = |m: &std::collections::BTreeMap<String, Value>| {
        m.iter()
            .find(|(_, v)| v["apiGatewayManaged"].as_bool() == Some(true))
            .map(|(k, _)| k.clone())
    };
    let not_quick = || {
        bad("target, routeKey and credentialsArn can be updated only on an API made with quick create.")
    };
    let id = api.id().to_string();
    if target.is_some() || credentials.is_some() {
        let iid = managed(&api.integrations).ok_or_else(not_quick)?;
        let rec = api.integrations.get_mut(&iid).ok_or_else(not_quick)?;
        if let Some(t) = target {
            for f in [
                "integrationType",
                "integrationUri",
                "integrationMethod",
                "payloadFormatVersion",
            ] {
                rec[f] = t[f].clone();
            }
        }
        if let Some(c) = credentials {
            rec["credentialsArn"] = json!(c);
        }
        tx.put(INTEGRATION, &id, &iid, rec);
    }
    if let Some(key) = route_key {
        let rid = managed(&api.routes).ok_or_else(not_quick)?;
        model::check_route_key(key, &route_keys(api, Some(&rid)))?;
        let rec = api.routes.get_mut(&rid).ok_or_else(not_quick)?;
        rec["routeKey"] = json!(key);
        tx.put(ROUTE, &id, &rid, rec);
    }
    tx.redeploy = true;
    Ok(())
}

/// The API's route keys, but the route `except`'s.
fn route_keys(api: &ApiEntry, except: Option<&str>) -> Vec<String> {
    api.routes
        .iter()
        .filter(|(id, _)| Some(id.as_str()) != except)
        .filter_map(|(_, r)| r["routeKey"].as_str().map(str::to_string))
        .collect()
}

/// A route's target must name one of the API's integrations.
fn check_route_target(api: &ApiEntry, route: &Value) -> Result<()> {
    if let Some(t) = opt_str(route, "target")? {
        let iid = model::target_integration(t)?;
        if !api.integrations.contains_key(iid) {
            return Err(bad(format!(
                "Invalid target {t}: this API has no integration {iid}."
            )));
        }
    }
    Ok(())
}

/// GetStage's view of the stage `name` (present: the caller just wrote it).
fn stage_view(api: &ApiEntry, name: &str) -> Value {
    api.stages.get(name).map(view).unwrap_or_else(|| json!({}))
}

fn new_stage(name: &str, auto: bool, now: i64, managed: bool) -> Value {
    let mut s = json!({
        "stageName": name,
        "autoDeploy": auto,
        "createdDate": wire::time::iso8601(now),
        "lastUpdatedDate": wire::time::iso8601(now),
        "defaultRouteSettings": { "detailedMetricsEnabled": false },
        "routeSettings": {},
        "stageVariables": {},
        "tags": {},
    });
    if managed {
        s["apiGatewayManaged"] = json!(true);
    }
    s
}

/// The members CreateStage and UpdateStage share. Stage variables are merged into the
/// stage's, and an empty value removes a variable.
fn apply_stage_fields(stage: &mut Value, body: &Value) -> Result<()> {
    if let Some(d) = opt_str(body, "description")? {
        model::check_len("description", d, 0, 1024)?;
        stage["description"] = json!(d);
    }
    if let Some(d) = opt_str(body, "deploymentId")? {
        stage["deploymentId"] = json!(d);
    }
    if let Some(vars) = opt_string_map(body, "stageVariables")? {
        let mut all = stage["stageVariables"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (k, v) in vars {
            if v.as_str() == Some("") {
                all.remove(&k);
            } else {
                all.insert(k, v);
            }
        }
        model::check_stage_variables(&all)?;
        stage["stageVariables"] = Value::Object(all);
    }
    for f in ["accessLogSettings", "defaultRouteSettings", "routeSettings"] {
        match body.get(f) {
            None | Some(Value::Null) => {}
            Some(v @ Value::Object(_)) => stage[f] = v.clone(),
            Some(_) => return Err(bad(format!("Invalid input: {f} must be an object."))),
        }
    }
    if let Some(c) = opt_str(body, "clientCertificateId")? {
        stage["clientCertificateId"] = json!(c);
    }
    Ok(())
}

/// A stage's deploymentId must name one of the API's deployments.
fn check_stage_deployment(api: &ApiEntry, stage: &Value) -> Result<()> {
    match stage["deploymentId"].as_str() {
        Some(d) if !api.deployments.contains_key(d) => Err(deployment_not_found(d)),
        _ => Ok(()),
    }
}

fn new_deployment(api: &ApiEntry, id: &str, auto: bool, now: i64) -> Value {
    json!({
        "deploymentId": id,
        "deploymentStatus": "DEPLOYED",
        "autoDeployed": auto,
        "createdDate": wire::time::iso8601(now),
        "_createdMs": now,
        "_snapshot": api.snapshot(),
    })
}

/// Points the stage `name` at deployment `did`.
fn point_stage(api: &mut ApiEntry, tx: &mut Tx, name: &str, did: &str, now: i64) {
    let id = api.id().to_string();
    if let Some(s) = api.stages.get_mut(name) {
        s["deploymentId"] = json!(did);
        s["lastDeploymentStatusMessage"] = json!(format!(
            "Successfully deployed stage with deployment ID '{did}'"
        ));
        s["lastUpdatedDate"] = json!(wire::time::iso8601(now));
        tx.put(STAGE, &id, name, s);
    }
}

/// Deploys the API as it is now (`api.live`, already recompiled) to every auto-deploy
/// stage, as API Gateway does after each change. An API without routes has nothing to
/// deploy; its auto-deploy stages serve the (empty) live configuration anyway.
fn auto_deploy(api: &mut ApiEntry, tx: &mut Tx, now: i64) {
    let stages: Vec<String> = api
        .stages
        .iter()
        .filter(|(_, s)| s["autoDeploy"].as_bool() == Some(true))
        .map(|(k, _)| k.clone())
        .collect();
    if stages.is_empty() || api.routes.is_empty() {
        return;
    }
    let did = fresh_id(7, |d| api.deployments.contains_key(d));
    let rec = new_deployment(api, &did, true, now);
    tx.put(DEPLOYMENT, api.id(), &did, &rec);
    let compiled = api.live.clone();
    api.deployments.insert(
        did.clone(),
        Arc::new(Deployment {
            record: rec,
            compiled,
        }),
    );
    for s in stages {
        point_stage(api, tx, &s, &did, now);
    }
}

/// Drops automatic deployments no stage points at any more, so an auto-deployed API
/// keeps one deployment per stage instead of one per change.
fn prune_auto_deployments(api: &mut ApiEntry, tx: &mut Tx) {
    let used: Vec<String> = api
        .stages
        .values()
        .filter_map(|s| s["deploymentId"].as_str().map(str::to_string))
        .collect();
    let stale: Vec<String> = api
        .deployments
        .iter()
        .filter(|(id, d)| d.record["autoDeployed"].as_bool() == Some(true) && !used.contains(id))
        .map(|(id, _)| id.clone())
        .collect();
    let api_id = api.id().to_string();
    for id in stale {
        api.deployments.remove(&id);
        tx.delete(DEPLOYMENT, &api_id, &id);
    }
}

impl wire::Service for HttpApis {
    fn handle(&self, req: ApiRequest) -> BoxFuture<'_, ApiResponse> {
        Box::pin(async move {
            let Some(rest) = req.path.strip_prefix("/v2/") else {
                // REST APIs (v1): everything of the signing name but `/v2/`.
                return self.handle_rest(&req).await;
            };
            let body = match json_body(&req) {
                Ok(body) => body,
                Err(e) => return e.into_response(),
            };
            let call = Call {
                method: &req.method,
                segs: rest.split('/').map(wire::percent_decode).collect(),
                query: &req.query,
                body,
                region: &req.region,
                host: req.header("host"),
            };
            reply(self.dispatch(&call).await)
        })
    }
}
