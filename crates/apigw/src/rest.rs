//! API Gateway v1 REST APIs (rest-json, `apigateway/2015-07-09`), as much as Lambda proxy
//! integrations need: REST APIs, resources, methods, `AWS_PROXY` integrations,
//! deployments and stages (with stage variables); and [`HttpApis::resolve_rest`], the
//! lookup the data plane asks. Everything else answers 501 `NotImplemented`.
//!
//! Invariants: REST APIs live in their own [`Live`] state (their own store kinds), so the
//! HTTP API lookup never sees them and [`HttpApis::resolve_rest`] never sees an HTTP API;
//! a new REST API id is unused by both. A stage serves its deployment's snapshot, compiled
//! into a [`ResourceTree`] when the deployment is made or loaded, never per request.

use crate::api::{fresh_id, json_body, merge, query_param, reply, view, Writes};
use crate::error::{self, bad, invalid_identifier, ApigwError, Result};
use crate::model::{opt_str, req_str};
use crate::rest_model::{self as rm, ResourceTree, TreeResource};
use crate::{in_region, load_apis, load_parts, HttpApis, Regional};
use http::{Method, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use store::{Live, ResourceStore};
use wire::{ApiRequest, ApiResponse};

/// Resource kinds in the store: APIs scoped by region, the rest by API id.
const REST_API: &str = "apigw.restapi";
const REST_RESOURCE: &str = "apigw.restresource";
const REST_STAGE: &str = "apigw.reststage";
const REST_DEPLOYMENT: &str = "apigw.restdeployment";

/// What a request to a REST API's endpoint resolves to.
#[derive(Debug, Clone, PartialEq)]
pub enum RestResolved {
    /// The first path segment names no stage with a deployment (AWS answers 403
    /// `Forbidden`).
    NoStage,
    /// No resource and method match (AWS answers 403 `Missing Authentication Token`).
    NoResource,
    Target(Box<RestTarget>),
}

/// The resource and method a request matched, and the function to call.
#[derive(Debug, Clone, PartialEq)]
pub struct RestTarget {
    pub api_id: String,
    pub stage: String,
    pub resource_id: String,
    /// The resource's path as configured, e.g. `/items/{id}`.
    pub resource_path: String,
    /// The request path without the stage (still percent-encoded, no query).
    pub path: String,
    pub path_parameters: Vec<(String, String)>,
    pub stage_variables: Vec<(String, String)>,
    /// The API's binaryMediaTypes (they decide when the event's body is base64).
    pub binary_media_types: Vec<String>,
    /// `NONE`, `AWS_IAM`, `CUSTOM` or `COGNITO_USER_POOLS`.
    pub authorization_type: String,
    pub function_arn: String,
    pub timeout_ms: u64,
}

/// What a deployed method calls.
#[derive(Debug, Clone)]
struct MethodTarget {
    authorization_type: String,
    function_arn: Option<String>,
    timeout_ms: u64,
}

/// A deployment's resources and methods, compiled for matching.
#[derive(Debug, Default)]
struct Compiled {
    tree: ResourceTree,
    /// By (resource id, method key).
    methods: HashMap<(String, String), MethodTarget>,
}

impl Compiled {
    fn build(resources: &[Value]) -> Compiled {
        let mut tree_resources = Vec::new();
        let mut methods = HashMap::new();
        for r in resources {
            let id = r["id"].as_str().unwrap_or_default().to_string();
            let mut keys = Vec::new();
            for (key, m) in r["resourceMethods"].as_object().into_iter().flatten() {
                keys.push(key.clone());
                let integ = &m["methodIntegration"];
                let function_arn = (integ["type"] == "AWS_PROXY")
                    .then(|| integ["uri"].as_str())
                    .flatten()
                    .and_then(|u| rm::lambda_integration_uri(u).ok());
                methods.insert(
                    (id.clone(), key.clone()),
                    MethodTarget {
                        authorization_type: m["authorizationType"]
                            .as_str()
                            .unwrap_or("NONE")
                            .to_string(),
                        function_arn,
                        timeout_ms: integ["timeoutInMillis"]
                            .as_u64()
                            .unwrap_or(rm::TIMEOUT_MS_MAX as u64),
                    },
                );
            }
            tree_resources.push(TreeResource {
                id,
                parent_id: r["parentId"].as_str().map(str::to_string),
                path_part: r["pathPart"].as_str().map(str::to_string),
                path: r["path"].as_str().unwrap_or("/").to_string(),
                methods: keys,
            });
        }
        Compiled {
            tree: ResourceTree::new(&tree_resources),
            methods,
        }
    }
}

#[derive(Debug)]
struct Deployment {
    /// The stored record, with the resources as deployed in `_snapshot`.
    record: Value,
    compiled: Compiled,
}

/// One REST API and everything in it. Cloned to be changed: a change edits a copy,
/// commits it, and then replaces the original.
#[derive(Debug, Clone)]
struct RestApi {
    region: String,
    record: Value,
    /// By resource id; methods and their integrations live in `resourceMethods`.
    resources: BTreeMap<String, Value>,
    stages: BTreeMap<String, Value>,
    deployments: BTreeMap<String, Arc<Deployment>>,
}

impl RestApi {
    fn id(&self) -> &str {
        self.record["id"].as_str().unwrap_or_default()
    }

    fn resource(&self, id: &str) -> Result<&Value> {
        self.resources.get(id).ok_or_else(|| resource_not_found(id))
    }
}

impl Regional for RestApi {
    fn region(&self) -> &str {
        &self.region
    }
}

/// Every REST API, by id.
#[derive(Default)]
pub(crate) struct RestState {
    apis: BTreeMap<String, RestApi>,
}

/// Loads the stored REST APIs.
pub(crate) fn load(store: Arc<dyn ResourceStore>) -> Result<Live<RestState>> {
    let mut apis = load_apis(store.as_ref(), REST_API, "REST API", |region, record| {
        RestApi {
            region,
            record,
            resources: BTreeMap::new(),
            stages: BTreeMap::new(),
            deployments: BTreeMap::new(),
        }
    })?;
    load_parts(
        store.as_ref(),
        &[REST_RESOURCE, REST_STAGE, REST_DEPLOYMENT],
        &mut apis,
        |api, kind, name, v| match kind {
            REST_RESOURCE => {
                api.resources.insert(name, v);
            }
            REST_STAGE => {
                api.stages.insert(name, v);
            }
            _ => {
                let compiled = Compiled::build(snapshot_of(&v));
                api.deployments.insert(
                    name,
                    Arc::new(Deployment {
                        record: v,
                        compiled,
                    }),
                );
            }
        },
    )?;
    let st = RestState { apis };
    Ok(Live::new(store, st))
}

fn snapshot_of(record: &Value) -> &[Value] {
    record["_snapshot"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn api_not_found(id: &str) -> ApigwError {
    error::api_not_found("RestApi", id)
}

fn resource_not_found(id: &str) -> ApigwError {
    invalid_identifier("Resource", id)
}

fn method_not_found() -> ApigwError {
    ApigwError::not_found("Method", "Invalid Method identifier specified".into())
}

fn stage_not_found(name: &str) -> ApigwError {
    invalid_identifier("Stage", name)
}

fn deployment_not_found(id: &str) -> ApigwError {
    invalid_identifier("Deployment", id)
}

fn quota(what: &str, max: usize) -> ApigwError {
    error::quota("LimitExceeded", what, max)
}

/// A resource as Get(Resource|Resources) show it: with its methods in full when
/// `embed=methods` was asked for, as bare names otherwise.
fn resource_view(rec: &Value, embed: bool) -> Value {
    let mut v = view(rec);
    match v["resourceMethods"].as_object_mut() {
        Some(m) if m.is_empty() => {
            v.as_object_mut().map(|o| o.remove("resourceMethods"));
        }
        Some(m) if !embed => {
            for value in m.values_mut() {
                *value = json!({});
            }
        }
        _ => {}
    }
    v
}

fn string_list(body: &Value, field: &str) -> Result<Option<Vec<String>>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Ok(Some(
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect(),
        )),
        Some(_) => Err(bad(format!(
            "Invalid input: {field} must be a list of strings."
        ))),
    }
}

fn variables(body: &Value, field: &str) -> Result<Option<Map<String, Value>>> {
    let vars = crate::model::opt_string_map(body, field)?;
    if let Some(vars) = &vars {
        if vars.len() > rm::STAGE_VARIABLES_MAX {
            return Err(bad(format!(
                "A stage may have at most {} variables",
                rm::STAGE_VARIABLES_MAX
            )));
        }
        for (k, v) in vars {
            rm::check_stage_variable(k, v.as_str().unwrap_or_default())?;
        }
    }
    Ok(vars)
}

/// One page of `items` (in key order): `position` is the key to start at.
fn page(items: Vec<(String, Value)>, position: Option<&str>, limit: Option<&str>) -> Result<Value> {
    let limit = match limit {
        None => rm::PAGE_DEFAULT,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=rm::PAGE_MAX).contains(&n) => n,
            _ => {
                return Err(bad(format!(
                    "Invalid limit: must be between 1 and {}",
                    rm::PAGE_MAX
                )))
            }
        },
    };
    let mut rest: Vec<(String, Value)> = items
        .into_iter()
        .filter(|(k, _)| position.is_none_or(|p| k.as_str() >= p))
        .collect();
    let next = (rest.len() > limit).then(|| rest[limit].0.clone());
    rest.truncate(limit);
    let mut out = json!({ "item": rest.into_iter().map(|(_, v)| v).collect::<Vec<_>>() });
    if let Some(next) = next {
        out["position"] = json!(next);
    }
    Ok(out)
}

/// `embed=methods` in the query.
fn embeds_methods(query: &[(String, String)]) -> bool {
    query
        .iter()
        .any(|(k, v)| k == "embed" && v.split(',').any(|e| e.trim() == "methods"))
}

fn epoch_s(now_ms: i64) -> i64 {
    now_ms / 1000
}

/// The resources of `api` under (and including) `id`.
fn subtree(api: &RestApi, id: &str) -> Vec<String> {
    let mut out = vec![id.to_string()];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i].clone();
        out.extend(
            api.resources
                .iter()
                .filter(|(_, r)| r["parentId"].as_str() == Some(parent.as_str()))
                .map(|(k, _)| k.clone()),
        );
        i += 1;
    }
    out
}

impl HttpApis {
    fn rest(&self) -> &Live<RestState> {
        &self.inner.rest
    }

    /// Whether `api_id` is a REST API (the data plane asks, since REST and HTTP APIs share
    /// the `<api-id>.execute-api` host form).
    pub fn is_rest_api(&self, api_id: &str) -> bool {
        self.rest().read().apis.contains_key(api_id)
    }

    /// What a request to a REST API resolves to, or `None` when no REST API has this id.
    /// `path` is the raw path after the host (first segment: the stage); a query string
    /// on it is ignored.
    pub fn resolve_rest(&self, api_id: &str, method: &str, path: &str) -> Option<RestResolved> {
        let path = path.split('?').next().unwrap_or_default();
        let st = self.rest().read();
        let api = st.apis.get(api_id)?;
        if api.record["disableExecuteApiEndpoint"].as_bool() == Some(true) {
            return Some(RestResolved::NoStage);
        }
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let (first, tail) = match trimmed.find('/') {
            Some(i) => (&trimmed[..i], &trimmed[i..]),
            None => (trimmed, "/"),
        };
        let Some(stage) = api.stages.get(&wire::percent_decode(first)) else {
            return Some(RestResolved::NoStage);
        };
        let Some(deployment) = stage["deploymentId"]
            .as_str()
            .and_then(|d| api.deployments.get(d))
        else {
            return Some(RestResolved::NoStage);
        };
        let compiled = &deployment.compiled;
        let Some(found) = compiled.tree.find(method, tail) else {
            return Some(RestResolved::NoResource);
        };
        let Some(target) = compiled
            .methods
            .get(&(found.resource_id.clone(), found.method_key.clone()))
        else {
            return Some(RestResolved::NoResource);
        };
        let Some(function_arn) = target.function_arn.clone() else {
            return Some(RestResolved::NoResource);
        };
        let stage_variables = stage["variables"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let binary_media_types = api.record["binaryMediaTypes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Some(RestResolved::Target(Box::new(RestTarget {
            api_id: api_id.to_string(),
            stage: stage["stageName"].as_str().unwrap_or_default().to_string(),
            resource_id: found.resource_id,
            resource_path: found.resource_path,
            path: if tail.is_empty() { "/" } else { tail }.to_string(),
            path_parameters: found.path_parameters,
            stage_variables,
            binary_media_types,
            authorization_type: target.authorization_type.clone(),
            function_arn,
            timeout_ms: target.timeout_ms,
        })))
    }

    /// Answers a REST API (v1) control-plane call: every path of the `apigateway` signing
    /// name but `/v2/`.
    pub(crate) async fn handle_rest(&self, req: &ApiRequest) -> ApiResponse {
        let body = match json_body(req) {
            Ok(body) => body,
            Err(e) => return e.into_response(),
        };
        reply(self.rest_dispatch(req, &body).await)
    }

    async fn rest_dispatch(&self, req: &ApiRequest, body: &Value) -> Result<(StatusCode, Value)> {
        use StatusCode as S;
        let segs: Vec<String> = req
            .path
            .trim_start_matches('/')
            .split('/')
            .map(wire::percent_decode)
            .collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let r = req.region.as_str();
        let q = req.query.as_slice();
        let m = &req.method;
        Ok(match (m, segs.as_slice()) {
            (&Method::POST, ["restapis"]) => (S::CREATED, self.create_rest_api(r, body).await?),
            (&Method::GET, ["restapis"]) => (S::OK, self.get_rest_apis(r, q)?),
            (&Method::GET, ["restapis", id]) => {
                (S::OK, self.read_rest(r, id, |a| Ok(view(&a.record)))?)
            }
            (&Method::DELETE, ["restapis", id]) => {
                self.delete_rest_api(r, id).await?;
                (S::ACCEPTED, Value::Null)
            }
            (&Method::GET, ["restapis", id, "resources"]) => {
                let embed = embeds_methods(q);
                let items = self.read_rest(r, id, |a| {
                    Ok(a.resources
                        .iter()
                        .map(|(k, v)| (k.clone(), resource_view(v, embed)))
                        .collect::<Vec<_>>())
                })?;
                (S::OK, page(items, query_param(q, "position"), query_param(q, "limit"))?)
            }
            (&Method::GET, ["restapis", id, "resources", rid]) => {
                let embed = embeds_methods(q);
                let v = self.read_rest(r, id, |a| Ok(resource_view(a.resource(rid)?, embed)))?;
                (S::OK, v)
            }
            (&Method::POST, ["restapis", id, "resources", parent]) => (
                S::CREATED,
                self.create_resource(r, id, parent, body).await?,
            ),
            (&Method::DELETE, ["restapis", id, "resources", rid]) => {
                self.delete_resource(r, id, rid).await?;
                (S::ACCEPTED, Value::Null)
            }
            (&Method::PUT, ["restapis", id, "resources", rid, "methods", hm]) => (
                S::CREATED,
                self.put_method(r, id, rid, hm, body).await?,
            ),
            (&Method::GET, ["restapis", id, "resources", rid, "methods", hm]) => {
                let v = self.read_rest(r, id, |a| {
                    let hm = rm::check_http_method(hm)?;
                    let m = &a.resource(rid)?["resourceMethods"][&hm];
                    if m.is_null() {
                        return Err(method_not_found());
                    }
                    Ok(m.clone())
                })?;
                (S::OK, v)
            }
            (&Method::DELETE, ["restapis", id, "resources", rid, "methods", hm]) => {
                self.delete_method(r, id, rid, hm, false).await?;
                (S::NO_CONTENT, Value::Null)
            }
            (&Method::PUT, ["restapis", id, "resources", rid, "methods", hm, "integration"]) => (
                S::CREATED,
                self.put_integration(r, id, rid, hm, body).await?,
            ),
            (&Method::GET, ["restapis", id, "resources", rid, "methods", hm, "integration"]) => {
                let v = self.read_rest(r, id, |a| {
                    let hm = rm::check_http_method(hm)?;
                    let m = &a.resource(rid)?["resourceMethods"][&hm];
                    if m.is_null() {
                        return Err(method_not_found());
                    }
                    let i = &m["methodIntegration"];
                    if i.is_null() {
                        return Err(ApigwError::not_found(
                            "Integration",
                            "No integration defined for method".into(),
                        ));
                    }
                    Ok(i.clone())
                })?;
                (S::OK, v)
            }
            (&Method::DELETE, ["restapis", id, "resources", rid, "methods", hm, "integration"]) => {
                self.delete_method(r, id, rid, hm, true).await?;
                (S::NO_CONTENT, Value::Null)
            }
            (&Method::POST, ["restapis", id, "deployments"]) => {
                (S::CREATED, self.rest_create_deployment(r, id, body).await?)
            }
            (&Method::GET, ["restapis", id, "deployments"]) => {
                let items = self.read_rest(r, id, |a| {
                    Ok(a.deployments
                        .iter()
                        .map(|(k, d)| (k.clone(), view(&d.record)))
                        .collect::<Vec<_>>())
                })?;
                (S::OK, page(items, query_param(q, "position"), query_param(q, "limit"))?)
            }
            (&Method::GET, ["restapis", id, "deployments", did]) => {
                let v = self.read_rest(r, id, |a| {
                    a.deployments
                        .get(*did)
                        .map(|d| view(&d.record))
                        .ok_or_else(|| deployment_not_found(did))
                })?;
                (S::OK, v)
            }
            (&Method::DELETE, ["restapis", id, "deployments", did]) => {
                self.rest_delete_deployment(r, id, did).await?;
                (S::ACCEPTED, Value::Null)
            }
            (&Method::POST, ["restapis", id, "stages"]) => {
                (S::CREATED, self.rest_create_stage(r, id, body).await?)
            }
            (&Method::GET, ["restapis", id, "stages"]) => {
                let items = self.read_rest(r, id, |a| {
                    let filter = query_param(q, "deploymentId");
                    Ok(a.stages
                        .values()
                        .filter(|s| filter.is_none_or(|d| s["deploymentId"] == d))
                        .map(view)
                        .collect::<Vec<_>>())
                })?;
                (S::OK, json!({ "item": items }))
            }
            (&Method::GET, ["restapis", id, "stages", name]) => {
                let v = self.read_rest(r, id, |a| {
                    a.stages
                        .get(*name)
                        .map(view)
                        .ok_or_else(|| stage_not_found(name))
                })?;
                (S::OK, v)
            }
            (&Method::PATCH, ["restapis", id, "stages", name]) => {
                (S::OK, self.rest_update_stage(r, id, name, body).await?)
            }
            (&Method::DELETE, ["restapis", id, "stages", name]) => {
                let name = name.to_string();
                self.change_rest(r, id, |api, w, _| {
                    if api.stages.remove(&name).is_none() {
                        return Err(stage_not_found(&name));
                    }
                    w.delete(REST_STAGE, api.id(), &name);
                    Ok(())
                })
                .await?;
                (S::ACCEPTED, Value::Null)
            }
            _ => {
                return Err(ApigwError::NotImplemented(format!(
                    "Eddy does not implement {m} {} in API Gateway REST APIs yet; it serves REST APIs, resources, methods, AWS_PROXY integrations, deployments and stages.",
                    req.path
                )))
            }
        })
    }

    /// A copy of the REST API `id` in `region`, to change.
    fn rest_copy(&self, region: &str, id: &str) -> Result<RestApi> {
        in_region(&self.rest().read().apis, region, id)
            .cloned()
            .ok_or_else(|| api_not_found(id))
    }

    fn read_rest<T>(
        &self,
        region: &str,
        id: &str,
        f: impl FnOnce(&RestApi) -> Result<T>,
    ) -> Result<T> {
        let st = self.rest().read();
        let api = in_region(&st.apis, region, id).ok_or_else(|| api_not_found(id))?;
        f(api)
    }

    /// Changes the REST API `id` under the writer lock: `f` edits a copy and names its
    /// writes; the copy replaces the API once the commit succeeded.
    async fn change_rest<T>(
        &self,
        region: &str,
        id: &str,
        f: impl FnOnce(&mut RestApi, &mut Writes, i64) -> Result<T>,
    ) -> Result<T> {
        let _w = self.rest().lock().await;
        let mut api = self.rest_copy(region, id)?;
        let now = self.now_ms();
        let mut w = Writes::default();
        let out = f(&mut api, &mut w, now)?;
        self.rest().commit(w.0, vec![], now).await?;
        self.rest().write().apis.insert(id.to_string(), api);
        Ok(out)
    }

    /// Changes the resource `rid` of the REST API `id` with `f`, and writes it back.
    async fn change_resource<T>(
        &self,
        region: &str,
        id: &str,
        rid: &str,
        f: impl FnOnce(&mut Value) -> Result<T>,
    ) -> Result<T> {
        self.change_rest(region, id, |api, w, _| {
            let mut rec = api.resource(rid)?.clone();
            let out = f(&mut rec)?;
            w.put(REST_RESOURCE, api.id(), rid, &rec);
            api.resources.insert(rid.to_string(), rec);
            Ok(out)
        })
        .await
    }

    async fn create_rest_api(&self, region: &str, body: &Value) -> Result<Value> {
        let name = opt_str(body, "name")?
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad("Invalid input: name is required."))?;
        crate::model::check_len("name", name, 1, 128)?;
        if opt_str(body, "cloneFrom")?.is_some() {
            return Err(ApigwError::NotImplemented(
                "Eddy does not implement cloneFrom for REST APIs yet.".into(),
            ));
        }
        let binary = string_list(body, "binaryMediaTypes")?;
        let tags = crate::model::opt_string_map(body, "tags")?;
        let _w = self.rest().lock().await;
        let now = self.now_ms();
        {
            let st = self.rest().read();
            if st.apis.values().filter(|a| a.region == region).count()
                >= rm::REST_APIS_PER_REGION_MAX
            {
                return Err(quota("REST APIs", rm::REST_APIS_PER_REGION_MAX));
            }
        }
        // REST and HTTP API ids share the execute-api host namespace.
        let id = fresh_id(rm::API_ID_LEN, |id| {
            self.rest().read().apis.contains_key(id) || self.live().read().apis.contains_key(id)
        });
        let root_id = crate::model::alnum_id(rm::RESOURCE_ID_LEN);
        let mut record = json!({
            "id": id,
            "name": name,
            "createdDate": epoch_s(now),
            "apiKeySource": body.get("apiKeySource").filter(|v| v.is_string()).cloned().unwrap_or(json!("HEADER")),
            "endpointConfiguration": body.get("endpointConfiguration").filter(|v| v.is_object()).cloned().unwrap_or(json!({"types": ["EDGE"]})),
            "disableExecuteApiEndpoint": crate::model::opt_bool(body, "disableExecuteApiEndpoint")?.unwrap_or(false),
            "rootResourceId": root_id,
        });
        merge(
            &mut record,
            body,
            &["description", "version", "policy", "minimumCompressionSize"],
        );
        if let Some(b) = binary {
            record["binaryMediaTypes"] = json!(b);
        }
        if let Some(t) = tags {
            record["tags"] = Value::Object(t);
        }
        let root = json!({ "id": root_id, "path": "/", "resourceMethods": {} });
        let mut w = Writes::default();
        w.put(REST_API, region, &id, &record);
        w.put(REST_RESOURCE, &id, &root_id, &root);
        self.rest().commit(w.0, vec![], now).await?;
        let api = RestApi {
            region: region.to_string(),
            record: record.clone(),
            resources: BTreeMap::from([(root_id, root)]),
            stages: BTreeMap::new(),
            deployments: BTreeMap::new(),
        };
        self.rest().write().apis.insert(id, api);
        Ok(view(&record))
    }

    fn get_rest_apis(&self, region: &str, q: &[(String, String)]) -> Result<Value> {
        let items: Vec<(String, Value)> = self
            .rest()
            .read()
            .apis
            .iter()
            .filter(|(_, a)| a.region == region)
            .map(|(k, a)| (k.clone(), view(&a.record)))
            .collect();
        page(items, query_param(q, "position"), query_param(q, "limit"))
    }

    async fn delete_rest_api(&self, region: &str, id: &str) -> Result<()> {
        let _w = self.rest().lock().await;
        let api = self.rest_copy(region, id)?;
        let mut w = Writes::default();
        w.delete(REST_API, region, id);
        for k in api.resources.keys() {
            w.delete(REST_RESOURCE, id, k);
        }
        for k in api.stages.keys() {
            w.delete(REST_STAGE, id, k);
        }
        for k in api.deployments.keys() {
            w.delete(REST_DEPLOYMENT, id, k);
        }
        self.rest().commit(w.0, vec![], self.now_ms()).await?;
        self.rest().write().apis.remove(id);
        Ok(())
    }

    async fn create_resource(
        &self,
        region: &str,
        id: &str,
        parent: &str,
        body: &Value,
    ) -> Result<Value> {
        let part = req_str(body, "pathPart")?.to_string();
        self.change_rest(region, id, |api, w, _| {
            let parent_rec = api.resource(parent)?;
            if api.resources.len() >= rm::RESOURCES_PER_API_MAX {
                return Err(quota("resources", rm::RESOURCES_PER_API_MAX));
            }
            let siblings: Vec<&str> = api
                .resources
                .values()
                .filter(|r| r["parentId"].as_str() == Some(parent))
                .filter_map(|r| r["pathPart"].as_str())
                .collect();
            rm::check_child(&part, parent_rec["pathPart"].as_str(), &siblings)?;
            let parent_path = parent_rec["path"].as_str().unwrap_or("/");
            let path = format!("{}/{part}", parent_path.trim_end_matches('/'));
            let rid = fresh_id(rm::RESOURCE_ID_LEN, |k| api.resources.contains_key(k));
            let rec = json!({
                "id": rid,
                "parentId": parent,
                "pathPart": part,
                "path": path,
                "resourceMethods": {},
            });
            w.put(REST_RESOURCE, api.id(), &rid, &rec);
            api.resources.insert(rid, rec.clone());
            Ok(resource_view(&rec, true))
        })
        .await
    }

    async fn delete_resource(&self, region: &str, id: &str, rid: &str) -> Result<()> {
        self.change_rest(region, id, |api, w, _| {
            let rec = api.resource(rid)?;
            if rec["parentId"].is_null() {
                return Err(bad("Cannot delete root resource"));
            }
            for k in subtree(api, rid) {
                api.resources.remove(&k);
                w.delete(
                    REST_RESOURCE,
                    api.record["id"].as_str().unwrap_or_default(),
                    &k,
                );
            }
            Ok(())
        })
        .await
    }

    async fn put_method(
        &self,
        region: &str,
        id: &str,
        rid: &str,
        hm: &str,
        body: &Value,
    ) -> Result<Value> {
        let hm = rm::check_http_method(hm)?;
        let auth = req_str(body, "authorizationType")?.to_string();
        rm::check_authorization_type(&auth)?;
        let mut method = json!({
            "httpMethod": hm,
            "authorizationType": auth,
            "apiKeyRequired": crate::model::opt_bool(body, "apiKeyRequired")?.unwrap_or(false),
        });
        merge(
            &mut method,
            body,
            &[
                "authorizerId",
                "operationName",
                "requestParameters",
                "requestModels",
                "requestValidatorId",
                "authorizationScopes",
            ],
        );
        self.change_resource(region, id, rid, |rec| {
            if !rec["resourceMethods"][&hm].is_null() {
                return Err(ApigwError::Conflict(
                    "Method already exists for this resource".into(),
                ));
            }
            rec["resourceMethods"][&hm] = method.clone();
            Ok(method)
        })
        .await
    }

    /// DeleteMethod, or DeleteIntegration when `integration_only`.
    async fn delete_method(
        &self,
        region: &str,
        id: &str,
        rid: &str,
        hm: &str,
        integration_only: bool,
    ) -> Result<()> {
        let hm = rm::check_http_method(hm)?;
        self.change_resource(region, id, rid, |rec| {
            let methods = rec["resourceMethods"]
                .as_object_mut()
                .ok_or_else(method_not_found)?;
            let method = methods.get_mut(&hm).ok_or_else(method_not_found)?;
            if integration_only {
                let removed = method
                    .as_object_mut()
                    .and_then(|m| m.remove("methodIntegration"));
                if removed.is_none() {
                    return Err(ApigwError::not_found(
                        "Integration",
                        "No integration defined for method".into(),
                    ));
                }
            } else {
                methods.remove(&hm);
            }
            Ok(())
        })
        .await
    }

    async fn put_integration(
        &self,
        region: &str,
        id: &str,
        rid: &str,
        hm: &str,
        body: &Value,
    ) -> Result<Value> {
        let hm = rm::check_http_method(hm)?;
        let kind = req_str(body, "type")?;
        match kind {
            "AWS_PROXY" => {}
            "AWS" | "HTTP" | "HTTP_PROXY" | "MOCK" => {
                return Err(ApigwError::NotImplemented(format!(
                    "Eddy does not implement {kind} integrations for REST APIs yet; use AWS_PROXY with a Lambda function."
                )))
            }
            other => {
                return Err(bad(format!(
                    "Invalid integration type specified: {other}. Valid options are HTTP,AWS,MOCK,HTTP_PROXY,AWS_PROXY"
                )))
            }
        }
        let integration_method = opt_str(body, "httpMethod")?
            .filter(|m| !m.is_empty())
            .ok_or_else(|| bad("Enumeration value for HttpMethod must be non-empty"))?;
        let integration_method = rm::check_http_method(integration_method)?;
        let uri = opt_str(body, "uri")?
            .ok_or_else(|| bad("Invalid input: uri is required for AWS_PROXY integrations."))?;
        rm::lambda_integration_uri(uri)?;
        let timeout = crate::model::opt_i64(body, "timeoutInMillis")?.unwrap_or(rm::TIMEOUT_MS_MAX);
        if !(rm::TIMEOUT_MS_MIN..=rm::TIMEOUT_MS_MAX).contains(&timeout) {
            return Err(bad(format!(
                "Timeout should be between {} ms and {} ms",
                rm::TIMEOUT_MS_MIN,
                rm::TIMEOUT_MS_MAX
            )));
        }
        let mut integ = json!({
            "type": "AWS_PROXY",
            "httpMethod": integration_method,
            "uri": uri,
            "passthroughBehavior": opt_str(body, "passthroughBehavior")?.unwrap_or("WHEN_NO_MATCH"),
            "timeoutInMillis": timeout,
            "cacheNamespace": rid,
            "cacheKeyParameters": body.get("cacheKeyParameters").filter(|v| v.is_array()).cloned().unwrap_or(json!([])),
        });
        merge(
            &mut integ,
            body,
            &[
                "contentHandling",
                "credentials",
                "requestParameters",
                "requestTemplates",
            ],
        );
        self.change_resource(region, id, rid, |rec| {
            let method = &mut rec["resourceMethods"][&hm];
            if method.is_null() {
                return Err(method_not_found());
            }
            method["methodIntegration"] = integ.clone();
            Ok(integ)
        })
        .await
    }

    async fn rest_create_deployment(&self, region: &str, id: &str, body: &Value) -> Result<Value> {
        let stage_name = opt_str(body, "stageName")?.map(str::to_string);
        if let Some(s) = &stage_name {
            rm::check_stage_name(s)?;
        }
        let vars = variables(body, "variables")?;
        let description = opt_str(body, "description")?.map(str::to_string);
        let stage_description = opt_str(body, "stageDescription")?.map(str::to_string);
        self.change_rest(region, id, |api, w, now| {
            let mut any_method = false;
            for r in api.resources.values() {
                for m in r["resourceMethods"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(_, m)| m)
                {
                    any_method = true;
                    if m["methodIntegration"].is_null() {
                        return Err(bad("No integration defined for method"));
                    }
                }
            }
            if !any_method {
                return Err(bad("The REST API doesn't contain any methods"));
            }
            if api.deployments.len() >= rm::DEPLOYMENTS_PER_API_MAX {
                return Err(quota("deployments", rm::DEPLOYMENTS_PER_API_MAX));
            }
            let did = fresh_id(rm::DEPLOYMENT_ID_LEN, |k| api.deployments.contains_key(k));
            let snapshot: Vec<Value> = api.resources.values().cloned().collect();
            let mut record = json!({ "id": did, "createdDate": epoch_s(now) });
            if let Some(d) = &description {
                record["description"] = json!(d);
            }
            let compiled = Compiled::build(&snapshot);
            record["_snapshot"] = json!(snapshot);
            w.put(REST_DEPLOYMENT, api.id(), &did, &record);
            let out = view(&record);
            api.deployments
                .insert(did.clone(), Arc::new(Deployment { record, compiled }));
            if let Some(name) = &stage_name {
                let mut stage = match api.stages.get(name) {
                    Some(s) => s.clone(),
                    None => {
                        if api.stages.len() >= rm::STAGES_PER_API_MAX {
                            return Err(quota("stages", rm::STAGES_PER_API_MAX));
                        }
                        new_stage(name, now)
                    }
                };
                stage["deploymentId"] = json!(did);
                stage["lastUpdatedDate"] = json!(epoch_s(now));
                if let Some(d) = &stage_description {
                    stage["description"] = json!(d);
                }
                if let Some(v) = &vars {
                    let merged = stage["variables"].as_object_mut();
                    match merged {
                        Some(m) => m.extend(v.clone()),
                        None => stage["variables"] = Value::Object(v.clone()),
                    }
                }
                w.put(REST_STAGE, api.id(), name, &stage);
                api.stages.insert(name.clone(), stage);
            }
            Ok(out)
        })
        .await
    }

    async fn rest_delete_deployment(&self, region: &str, id: &str, did: &str) -> Result<()> {
        self.change_rest(region, id, |api, w, _| {
            if !api.deployments.contains_key(did) {
                return Err(deployment_not_found(did));
            }
            if api.stages.values().any(|s| s["deploymentId"] == did) {
                return Err(bad(
                    "Active stages pointing to this deployment must be moved or deleted",
                ));
            }
            api.deployments.remove(did);
            w.delete(REST_DEPLOYMENT, api.id(), did);
            Ok(())
        })
        .await
    }

    async fn rest_create_stage(&self, region: &str, id: &str, body: &Value) -> Result<Value> {
        let name = req_str(body, "stageName")?.to_string();
        rm::check_stage_name(&name)?;
        let did = req_str(body, "deploymentId")?.to_string();
        let vars = variables(body, "variables")?;
        self.change_rest(region, id, |api, w, now| {
            if api.stages.contains_key(&name) {
                return Err(ApigwError::Conflict("Stage already exists".into()));
            }
            if !api.deployments.contains_key(&did) {
                return Err(deployment_not_found(&did));
            }
            if api.stages.len() >= rm::STAGES_PER_API_MAX {
                return Err(quota("stages", rm::STAGES_PER_API_MAX));
            }
            let mut stage = new_stage(&name, now);
            stage["deploymentId"] = json!(did);
            merge(
                &mut stage,
                body,
                &[
                    "description",
                    "tracingEnabled",
                    "tags",
                    "documentationVersion",
                ],
            );
            if let Some(v) = vars {
                stage["variables"] = Value::Object(v);
            }
            w.put(REST_STAGE, api.id(), &name, &stage);
            api.stages.insert(name.clone(), stage.clone());
            Ok(view(&stage))
        })
        .await
    }

    /// UpdateStage: `replace`/`add`/`remove` of `/variables/<name>`, `replace` of
    /// `/description` and `/deploymentId`.
    async fn rest_update_stage(
        &self,
        region: &str,
        id: &str,
        name: &str,
        body: &Value,
    ) -> Result<Value> {
        let ops = match body.get("patchOperations") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err(bad("Invalid input: patchOperations must be a list.")),
        };
        self.change_rest(region, id, |api, w, now| {
            let mut stage = api.stages.get(name).cloned().ok_or_else(|| stage_not_found(name))?;
            for op in &ops {
                let kind = op["op"].as_str().unwrap_or_default();
                let path = op["path"].as_str().unwrap_or_default();
                let value = op["value"].as_str();
                match (kind, path) {
                    ("replace" | "add", p) if p.starts_with("/variables/") => {
                        let var = &p["/variables/".len()..];
                        let value = value.unwrap_or_default();
                        rm::check_stage_variable(var, value)?;
                        if !stage["variables"].is_object() {
                            stage["variables"] = json!({});
                        }
                        stage["variables"][var] = json!(value);
                    }
                    ("remove", p) if p.starts_with("/variables/") => {
                        let var = &p["/variables/".len()..];
                        if let Some(m) = stage["variables"].as_object_mut() {
                            m.remove(var);
                        }
                    }
                    ("replace", "/description") => stage["description"] = json!(value),
                    ("replace", "/deploymentId") => {
                        let did = value.unwrap_or_default();
                        if !api.deployments.contains_key(did) {
                            return Err(deployment_not_found(did));
                        }
                        stage["deploymentId"] = json!(did);
                    }
                    _ => {
                        return Err(bad(format!(
                            "Invalid patch path '{path}' for op '{kind}'; Eddy supports /variables/*, /description and /deploymentId"
                        )))
                    }
                }
            }
            if stage["variables"]
                .as_object()
                .is_some_and(|m| m.len() > rm::STAGE_VARIABLES_MAX)
            {
                return Err(bad(format!(
                    "A stage may have at most {} variables",
                    rm::STAGE_VARIABLES_MAX
                )));
            }
            stage["lastUpdatedDate"] = json!(epoch_s(now));
            w.put(REST_STAGE, api.id(), name, &stage);
            api.stages.insert(name.to_string(), stage.clone());
            Ok(view(&stage))
        })
        .await
    }
}

fn new_stage(name: &str, now_ms: i64) -> Value {
    json!({
        "stageName": name,
        "cacheClusterEnabled": false,
        "cacheClusterStatus": "NOT_AVAILABLE",
        "methodSettings": {},
        "tracingEnabled": false,
        "createdDate": epoch_s(now_ms),
        "lastUpdatedDate": epoch_s(now_ms),
    })
}
