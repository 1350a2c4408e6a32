//! API Gateway v2 HTTP APIs (rest-json, `apigateway/2018-11-29`): the control plane
//! (APIs, routes, integrations, authorizers, stages, deployments, tags) and [`HttpApis::resolve`],
//! the lookup the data plane asks which integration answers a request.
//!
//! Invariants: the state lives in memory and is written through to the store under one
//! writer lock, memory changing only after its commit succeeded; an API's records
//! (routes, integrations, authorizers, stages, deployments) are stored and deleted with it in one
//! transaction. Every route key stored compiles in `gateway::RouteTable`; the compiled
//! tables are built when an API or deployment changes, never per request.

mod api;
mod authorizers;
mod error;
pub mod model;
mod rest;
pub mod rest_model;

pub use authorizers::{Authorizer, AuthorizerKind, JWT_IDENTITY_DEFAULT};
pub use error::ApigwError;
pub use rest::{RestResolved, RestTarget};

use error::Result;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use store::{Live, ResourceStore};
use wire::time::Clock;

/// Settings.
#[derive(Debug, Clone)]
pub struct ApigwConfig {
    /// Where clients reach this server (`host:port`). APIs are
    /// `http://<api-id>.execute-api.localhost:<port>` on its port; without it, on the port
    /// of the request's `Host`.
    pub public_base: Option<String>,
    /// HTTP APIs per region (AWS's default quota is 600).
    pub apis_per_region_max: usize,
    /// Routes per API (AWS: 300).
    pub routes_per_api_max: usize,
    /// Integrations per API (AWS: 300).
    pub integrations_per_api_max: usize,
    /// Stages per API (AWS: 10).
    pub stages_per_api_max: usize,
    /// Deployments kept per API; automatic deployments no stage uses are dropped.
    pub deployments_per_api_max: usize,
}

impl Default for ApigwConfig {
    fn default() -> Self {
        Self {
            public_base: None,
            apis_per_region_max: 600,
            routes_per_api_max: 300,
            integrations_per_api_max: 300,
            stages_per_api_max: 10,
            deployments_per_api_max: 1000,
        }
    }
}

/// Resource kinds in the store. APIs are scoped by region; everything else by API id
/// (API ids are unique across regions, since the data plane finds an API by id alone).
const API: &str = "apigw.api";
const ROUTE: &str = "apigw.route";
const INTEGRATION: &str = "apigw.integration";
const AUTHORIZER: &str = "apigw.authorizer";
const STAGE: &str = "apigw.stage";
const DEPLOYMENT: &str = "apigw.deployment";

/// What a request to an API's endpoint resolves to.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    /// No API has this id (or its execute-api endpoint is disabled).
    NoApi,
    /// The path names no stage and the API has no `$default` stage, or the stage has
    /// nothing deployed yet.
    NoStage,
    /// No route matches, or the route matched has no integration (API Gateway answers
    /// both with 404). `cors` is the API's corsConfiguration, for preflights.
    NoRoute {
        cors: Option<Value>,
    },
    Route(Box<RouteTarget>),
}

/// The route a request matched and the integration to call.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteTarget {
    pub api_id: String,
    /// The API's region, for the route's `execute-api` ARN.
    pub region: String,
    /// The stage's name (`$default` or a name).
    pub stage: String,
    /// The route key as configured, e.g. `GET /items/{id}` or `$default`.
    pub route_key: String,
    /// The request path without the stage prefix (still percent-encoded, no query).
    pub path: String,
    /// Path variable name to percent-decoded value, in path order.
    pub path_parameters: Vec<(String, String)>,
    /// The stage's variables, by name.
    pub stage_variables: Vec<(String, String)>,
    pub integration: Integration,
    /// The API's corsConfiguration.
    pub cors: Option<Value>,
    /// `NONE`, `AWS_IAM`, `CUSTOM` or `JWT`.
    pub authorization_type: String,
    /// The route's authorizer, for `CUSTOM` and `JWT` routes. `None` on such a route
    /// means its authorizer is gone from the configuration served (answer 500).
    pub authorizer: Option<Authorizer>,
    /// The route's authorizationScopes (JWT routes).
    pub authorization_scopes: Vec<String>,
}

/// What a route calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integration {
    /// A Lambda proxy integration: the function ARN (qualified or not), `1.0` or `2.0`.
    Lambda {
        function_arn: String,
        payload_format_version: String,
        timeout_ms: u64,
    },
    /// An HTTP proxy integration: the URL and method (`ANY` passes the request's).
    Http {
        uri: String,
        method: String,
        timeout_ms: u64,
    },
}

impl Integration {
    /// The integration a stored integration record describes.
    fn from_record(rec: &Value) -> Option<Integration> {
        let uri = rec["integrationUri"].as_str()?;
        let timeout_ms = rec["timeoutInMillis"]
            .as_u64()
            .unwrap_or(model::TIMEOUT_MS_MAX as u64);
        match rec["integrationType"].as_str()? {
            "AWS_PROXY" => Some(Integration::Lambda {
                function_arn: model::lambda_function_arn(uri)?,
                payload_format_version: rec["payloadFormatVersion"]
                    .as_str()
                    .unwrap_or("2.0")
                    .to_string(),
                timeout_ms,
            }),
            "HTTP_PROXY" => Some(Integration::Http {
                uri: uri.to_string(),
                method: rec["integrationMethod"]
                    .as_str()
                    .unwrap_or("ANY")
                    .to_string(),
                timeout_ms,
            }),
            _ => None,
        }
    }
}

/// One configuration of an API's routes (the live one, or a deployment's snapshot),
/// compiled for matching.
#[derive(Debug, Default)]
struct Compiled {
    table: gateway::RouteTable,
    /// By route key.
    routes: HashMap<String, CompiledRoute>,
}

/// What a route does once matched.
#[derive(Debug)]
struct CompiledRoute {
    authorization_type: String,
    authorizer: Option<Authorizer>,
    authorization_scopes: Vec<String>,
    /// `None`: no target.
    integration: Option<Integration>,
}

impl Compiled {
    /// Compiles `routes` (records in any order; ties between equally specific keys go to
    /// the route created first) against `integrations` and `authorizers` (records by id).
    fn build<'a>(
        routes: impl Iterator<Item = &'a Value>,
        integrations: &BTreeMap<String, Value>,
        authorizers: &BTreeMap<String, Value>,
    ) -> Compiled {
        let mut routes: Vec<&Value> = routes.collect();
        routes.sort_by_key(|r| {
            (
                r["_createdMs"].as_i64().unwrap_or(0),
                r["routeId"].as_str().unwrap_or_default().to_string(),
            )
        });
        let keys: Vec<String> = routes
            .iter()
            .filter_map(|r| r["routeKey"].as_str().map(str::to_string))
            .collect();
        let table = match gateway::RouteTable::new(&keys) {
            Ok(t) => t,
            Err(e) => {
                // Keys are checked before they are stored; a stored set that no longer
                // compiles (an older version's rules) serves no routes rather than panic.
                tracing::warn!("route keys do not compile: {e}");
                gateway::RouteTable::default()
            }
        };
        let mut map = HashMap::new();
        for r in routes {
            let Some(key) = r["routeKey"].as_str() else {
                continue;
            };
            let integration = r["target"]
                .as_str()
                .and_then(|t| t.strip_prefix("integrations/"))
                .and_then(|id| integrations.get(id))
                .and_then(Integration::from_record);
            let authorization_type = r["authorizationType"]
                .as_str()
                .unwrap_or("NONE")
                .to_string();
            let authorizer = match authorization_type.as_str() {
                "CUSTOM" | "JWT" => r["authorizerId"]
                    .as_str()
                    .and_then(|id| authorizers.get(id))
                    .and_then(Authorizer::from_record),
                _ => None,
            };
            let authorization_scopes = r["authorizationScopes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            map.insert(
                key.to_string(),
                CompiledRoute {
                    authorization_type,
                    authorizer,
                    authorization_scopes,
                    integration,
                },
            );
        }
        Compiled { table, routes: map }
    }

    /// Compiles a deployment's stored snapshot.
    fn from_snapshot(snapshot: &Value) -> Compiled {
        let by_id = |name: &str| -> BTreeMap<String, Value> {
            snapshot[name]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        };
        let routes = snapshot["routes"].as_array().map(Vec::as_slice);
        Compiled::build(
            routes.unwrap_or_default().iter(),
            &by_id("integrations"),
            &by_id("authorizers"),
        )
    }
}

/// A deployment: its record (with the snapshot) and the snapshot compiled.
#[derive(Debug)]
struct Deployment {
    record: Value,
    compiled: Arc<Compiled>,
}

/// One API and everything in it. Cloned to be changed: a change edits a copy, commits
/// it, and then replaces the original.
#[derive(Debug, Clone)]
struct ApiEntry {
    region: String,
    /// The stored API record (GetApi's members but `apiEndpoint`).
    record: Value,
    routes: BTreeMap<String, Value>,
    integrations: BTreeMap<String, Value>,
    authorizers: BTreeMap<String, Value>,
    /// By stage name.
    stages: BTreeMap<String, Value>,
    deployments: BTreeMap<String, Arc<Deployment>>,
    /// The routes and integrations as they are now: what auto-deployed stages serve.
    live: Arc<Compiled>,
}

impl ApiEntry {
    fn new(region: String, record: Value) -> Self {
        Self {
            region,
            record,
            routes: BTreeMap::new(),
            integrations: BTreeMap::new(),
            authorizers: BTreeMap::new(),
            stages: BTreeMap::new(),
            deployments: BTreeMap::new(),
            live: Arc::default(),
        }
    }

    fn recompile(&mut self) {
        self.live = Arc::new(Compiled::build(
            self.routes.values(),
            &self.integrations,
            &self.authorizers,
        ));
    }

    fn id(&self) -> &str {
        self.record["apiId"].as_str().unwrap_or_default()
    }

    fn cors(&self) -> Option<Value> {
        self.record
            .get("corsConfiguration")
            .filter(|c| !c.is_null())
            .cloned()
    }

    /// The routes and integrations as a deployment keeps them.
    fn snapshot(&self) -> Value {
        serde_json::json!({
            "routes": self.routes.values().collect::<Vec<_>>(),
            "integrations": self.integrations,
            "authorizers": self.authorizers,
        })
    }

    /// The stage a request path names, and the path without the stage prefix: a first
    /// segment naming a stage selects it; otherwise the `$default` stage takes the whole
    /// path.
    fn stage_for<'p>(&self, path: &'p str) -> Option<(&Value, std::borrow::Cow<'p, str>)> {
        let rest = path.strip_prefix('/').unwrap_or(path);
        let (first, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let first = wire::percent_decode(first);
        if first != model::DEFAULT_STAGE && !first.is_empty() {
            if let Some(stage) = self.stages.get(&first) {
                let tail = if tail.is_empty() { "/" } else { tail };
                return Some((stage, tail.into()));
            }
        }
        let stage = self.stages.get(model::DEFAULT_STAGE)?;
        let path = if path.starts_with('/') {
            path.into()
        } else {
            format!("/{path}").into()
        };
        Some((stage, path))
    }
}

/// An API (HTTP or REST) that lives in one region.
trait Regional {
    fn region(&self) -> &str;
}

impl Regional for ApiEntry {
    fn region(&self) -> &str {
        &self.region
    }
}

/// The API `id` of `apis` if it lives in `region`.
fn in_region<'a, A: Regional>(
    apis: &'a BTreeMap<String, A>,
    region: &str,
    id: &str,
) -> Option<&'a A> {
    apis.get(id).filter(|a| a.region() == region)
}

/// The stored APIs of `kind` (scoped by region), by id, each made by `new` from its
/// region and record; an unreadable one is skipped with a warning naming it a `what`.
fn load_apis<A>(
    store: &dyn ResourceStore,
    kind: &str,
    what: &str,
    new: impl Fn(String, Value) -> A,
) -> Result<BTreeMap<String, A>> {
    let mut apis = BTreeMap::new();
    for r in store.resources(kind)? {
        match serde_json::from_str::<Value>(&r.body) {
            Ok(v) => {
                apis.insert(r.name, new(r.scope, v));
            }
            Err(e) => tracing::warn!("skipping unreadable {what} {}: {e}", r.name),
        }
    }
    Ok(apis)
}

/// Loads the stored parts of `kinds` (scoped by API id) into their APIs with `insert`
/// (given the API, the kind, the part's name and record); a part that is unreadable or
/// whose API is gone is skipped with a warning.
fn load_parts<A>(
    store: &dyn ResourceStore,
    kinds: &[&str],
    apis: &mut BTreeMap<String, A>,
    mut insert: impl FnMut(&mut A, &str, String, Value),
) -> Result<()> {
    for &kind in kinds {
        for r in store.resources(kind)? {
            let (Some(api), Ok(v)) = (
                apis.get_mut(&r.scope),
                serde_json::from_str::<Value>(&r.body),
            ) else {
                tracing::warn!("skipping {kind} {}/{}", r.scope, r.name);
                continue;
            };
            insert(api, kind, r.name, v);
        }
    }
    Ok(())
}

#[derive(Default)]
struct State {
    /// By API id.
    apis: BTreeMap<String, ApiEntry>,
}

/// The HTTP APIs service.
#[derive(Clone)]
pub struct HttpApis {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Arc<dyn Clock>,
    cfg: ApigwConfig,
    /// Every API with its routes, integrations, stages and deployments, written through
    /// to the store; read by `resolve` without waiting for writers' store commits.
    live: Live<State>,
    /// The REST APIs (v1), in their own state: see `rest`.
    rest: Live<rest::RestState>,
}

impl HttpApis {
    /// Loads the stored APIs.
    pub fn open(
        store: Arc<dyn ResourceStore>,
        clock: Arc<dyn Clock>,
        cfg: ApigwConfig,
    ) -> Result<Self> {
        let mut st = State {
            apis: load_apis(store.as_ref(), API, "API", ApiEntry::new)?,
        };
        load_parts(
            store.as_ref(),
            &[ROUTE, INTEGRATION, AUTHORIZER, STAGE, DEPLOYMENT],
            &mut st.apis,
            |api, kind, name, v| match kind {
                ROUTE => {
                    api.routes.insert(name, v);
                }
                INTEGRATION => {
                    api.integrations.insert(name, v);
                }
                AUTHORIZER => {
                    api.authorizers.insert(name, v);
                }
                STAGE => {
                    api.stages.insert(name, v);
                }
                _ => {
                    let compiled = Arc::new(Compiled::from_snapshot(&v["_snapshot"]));
                    let d = Deployment {
                        record: v,
                        compiled,
                    };
                    api.deployments.insert(name, Arc::new(d));
                }
            },
        )?;
        for api in st.apis.values_mut() {
            api.recompile();
        }
        let rest = rest::load(store.clone())?;
        Ok(Self {
            inner: Arc::new(Inner {
                clock,
                cfg,
                live: Live::new(store, st),
                rest,
            }),
        })
    }

    fn live(&self) -> &Live<State> {
        &self.inner.live
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// What a request to an API's endpoint resolves to: strips the stage prefix (none for
    /// the `$default` stage; otherwise the first path segment names the stage), picks the
    /// route with `gateway::RouteTable` (compiled once per API and deployment), and
    /// returns the integration to call. `path` is the raw, still percent-encoded path; a
    /// query string on it is ignored. A stage with autoDeploy serves the API as it is
    /// now; any other stage serves its deployment's snapshot.
    pub fn resolve(&self, api_id: &str, method: &str, path: &str) -> Resolved {
        let path = path.split('?').next().unwrap_or_default();
        let (stage, compiled, rest, cors, vars, region) = {
            let st = self.live().read();
            let Some(api) = st.apis.get(api_id) else {
                return Resolved::NoApi;
            };
            if api.record["disableExecuteApiEndpoint"].as_bool() == Some(true) {
                return Resolved::NoApi;
            }
            let Some((stage, rest)) = api.stage_for(path) else {
                return Resolved::NoStage;
            };
            let compiled = if stage["autoDeploy"].as_bool() == Some(true) {
                api.live.clone()
            } else {
                match stage["deploymentId"]
                    .as_str()
                    .and_then(|d| api.deployments.get(d))
                {
                    Some(d) => d.compiled.clone(),
                    None => return Resolved::NoStage,
                }
            };
            let vars: Vec<(String, String)> = stage["stageVariables"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            let name = stage["stageName"].as_str().unwrap_or_default().to_string();
            let region = api.region.clone();
            (name, compiled, rest.into_owned(), api.cors(), vars, region)
        };
        let Some(found) = compiled.table.find(method, &rest) else {
            return Resolved::NoRoute { cors };
        };
        let Some(route) = compiled.routes.get(&found.route_key) else {
            return Resolved::NoRoute { cors };
        };
        let Some(integration) = &route.integration else {
            return Resolved::NoRoute { cors };
        };
        Resolved::Route(Box::new(RouteTarget {
            api_id: api_id.to_string(),
            region,
            stage,
            route_key: found.route_key,
            path: rest,
            path_parameters: found.path_parameters,
            stage_variables: vars,
            integration: integration.clone(),
            cors,
            authorization_type: route.authorization_type.clone(),
            authorizer: route.authorizer.clone(),
            authorization_scopes: route.authorization_scopes.clone(),
        }))
    }
}

#[cfg(test)]
mod tests;
