//! The control plane's rules and `resolve`, driven through the operations with plain
//! data: one `check` helper per feature, so cases read one per line.

use crate::api::Call;
use crate::model;
use crate::{ApigwConfig, HttpApis, Integration, Resolved};
use http::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use store::SqliteStore;
use wire::time::ManualClock;

const REGION: &str = "us-east-1";
const FN: &str = "arn:aws:lambda:us-east-1:000000000000:function:shop";

struct Fixture {
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    apis: HttpApis,
}

impl Fixture {
    fn new() -> Self {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let apis = HttpApis::open(store.clone(), clock.clone(), config()).unwrap();
        Self { store, clock, apis }
    }

    /// The service as a restart would load it from the same store.
    fn reopened(&self) -> HttpApis {
        HttpApis::open(self.store.clone(), self.clock.clone(), config()).unwrap()
    }

    /// Runs `method path` with `body`: the status and body, or the error's code and text.
    async fn call(&self, method: Method, path: &str, body: Value) -> Result<(u16, Value), String> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let query = wire::parse_query(query);
        let call = Call {
            method: &method,
            segs: path
                .trim_start_matches('/')
                .split('/')
                .map(wire::percent_decode)
                .collect(),
            query: &query,
            body,
            region: REGION,
            host: Some("localhost:4566"),
        };
        self.apis
            .dispatch(&call)
            .await
            .map(|(s, v)| (s.as_u16(), v))
            .map_err(|e| format!("{}: {e}", e.code()))
    }

    /// Runs a call that must succeed and returns its body.
    async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        match self.call(method.clone(), path, body).await {
            Ok((_, v)) => v,
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    /// Runs a call that must fail and returns `Code: message`.
    async fn err(&self, method: Method, path: &str, body: Value) -> String {
        match self.call(method.clone(), path, body).await {
            Ok(v) => panic!("{method} {path} succeeded: {v:?}"),
            Err(e) => e,
        }
    }

    async fn api(&self) -> String {
        let v = self
            .ok(
                Method::POST,
                "apis",
                json!({"name": "shop", "protocolType": "HTTP"}),
            )
            .await;
        v["apiId"].as_str().unwrap().to_string()
    }

    async fn integration(&self, api: &str, body: Value) -> String {
        let v = self
            .ok(Method::POST, &format!("apis/{api}/integrations"), body)
            .await;
        v["integrationId"].as_str().unwrap().to_string()
    }

    async fn lambda(&self, api: &str, function: &str) -> String {
        let arn = format!("arn:aws:lambda:us-east-1:000000000000:function:{function}");
        self.integration(
            api,
            json!({"integrationType": "AWS_PROXY", "integrationUri": arn}),
        )
        .await
    }

    async fn route(&self, api: &str, key: &str, integration: Option<&str>) -> String {
        let mut body = json!({ "routeKey": key });
        if let Some(i) = integration {
            body["target"] = json!(format!("integrations/{i}"));
        }
        let v = self
            .ok(Method::POST, &format!("apis/{api}/routes"), body)
            .await;
        v["routeId"].as_str().unwrap().to_string()
    }
}

fn config() -> ApigwConfig {
    ApigwConfig {
        public_base: Some("127.0.0.1:4566".into()),
        stages_per_api_max: 3,
        ..Default::default()
    }
}

/// `resolve`'s answer in one line: `stage | route key | path | params | target`.
fn resolved(apis: &HttpApis, api: &str, request: &str) -> String {
    let (method, path) = request.split_once(' ').unwrap();
    match apis.resolve(api, method, path) {
        Resolved::NoApi => "no api".into(),
        Resolved::NoStage => "no stage".into(),
        Resolved::NoRoute { .. } => "no route".into(),
        Resolved::Route(t) => {
            let params: Vec<String> = t
                .path_parameters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let target = match &t.integration {
                Integration::Lambda {
                    function_arn,
                    payload_format_version,
                    ..
                } => format!(
                    "{}@{payload_format_version}",
                    function_arn.rsplit(':').next().unwrap()
                ),
                Integration::Http { uri, method, .. } => format!("{method} {uri}"),
            };
            format!(
                "{} | {} | {} | {} | {target}",
                t.stage,
                t.route_key,
                t.path,
                params.join(" ")
            )
        }
    }
}

#[tokio::test]
#[rustfmt::skip]
async fn quick_create_serves_everything_from_the_default_stage() {
    let f = Fixture::new();
    let api = f.ok(Method::POST, "apis", json!({"name": "shop", "protocolType": "HTTP", "target": FN})).await;
    let id = api["apiId"].as_str().unwrap();
    assert_eq!(id.len(), 10);
    assert_eq!(api["apiEndpoint"], format!("http://{id}.execute-api.localhost:4566"));
    assert_eq!(api["routeSelectionExpression"], "$request.method $request.path");
    let routes = f.ok(Method::GET, &format!("apis/{id}/routes"), json!({})).await;
    assert_eq!(routes["items"][0]["routeKey"], "$default");
    assert_eq!(routes["items"][0]["apiGatewayManaged"], true);
    let ints = f.ok(Method::GET, &format!("apis/{id}/integrations"), json!({})).await;
    let int = &ints["items"][0];
    assert_eq!((int["integrationType"].as_str(), int["payloadFormatVersion"].as_str()), (Some("AWS_PROXY"), Some("2.0")));
    assert_eq!(int["timeoutInMillis"], 30000);
    assert_eq!(routes["items"][0]["target"], format!("integrations/{}", int["integrationId"].as_str().unwrap()));
    let stage = f.ok(Method::GET, &format!("apis/{id}/stages/$default"), json!({})).await;
    assert_eq!(stage["autoDeploy"], true);
    let deployments = f.ok(Method::GET, &format!("apis/{id}/deployments"), json!({})).await;
    assert_eq!(deployments["items"][0]["autoDeployed"], true);
    assert_eq!(stage["deploymentId"], deployments["items"][0]["deploymentId"]);

    assert_eq!(resolved(&f.apis, id, "GET /"), "$default | $default | / |  | shop@2.0");
    assert_eq!(resolved(&f.apis, id, "POST /a/b?x=1"), "$default | $default | /a/b |  | shop@2.0");
    assert_eq!(resolved(&f.apis, "nosuchapi0", "GET /"), "no api");

    // A quick create with a route key routes only that key.
    let api = f.ok(Method::POST, "apis", json!({"name": "one", "protocolType": "HTTP", "target": FN, "routeKey": "GET /items/{id}"})).await;
    let id = api["apiId"].as_str().unwrap();
    assert_eq!(resolved(&f.apis, id, "GET /items/7"), "$default | GET /items/{id} | /items/7 | id=7 | shop@2.0");
    assert_eq!(resolved(&f.apis, id, "POST /items/7"), "no route");

    // An HTTP URL target makes an HTTP proxy integration.
    let api = f.ok(Method::POST, "apis", json!({"name": "web", "protocolType": "HTTP", "target": "https://example.com/base"})).await;
    let id = api["apiId"].as_str().unwrap();
    assert_eq!(resolved(&f.apis, id, "GET /x"), "$default | $default | /x |  | ANY https://example.com/base");
}

#[tokio::test]
#[rustfmt::skip]
async fn stages_are_chosen_by_the_first_segment() {
    let f = Fixture::new();
    let api = f.api().await;
    let shop = f.lambda(&api, "shop").await;
    f.route(&api, "GET /items/{id}", Some(&shop)).await;
    f.route(&api, "ANY /{proxy+}", Some(&shop)).await;
    f.ok(Method::POST, &format!("apis/{api}/stages"), json!({"stageName": "prod", "autoDeploy": true, "stageVariables": {"env": "production"}})).await;
    let cases = [
        ("GET /prod/items/7", "prod | GET /items/{id} | /items/7 | id=7 | shop@2.0"),
        ("GET /prod", "no route"),
        ("GET /prod/", "no route"),
        ("PUT /prod/a/b", "prod | ANY /{proxy+} | /a/b | proxy=a/b | shop@2.0"),
        ("GET /items/7", "no stage"),
        ("GET /dev/items/7", "no stage"),
        ("GET /", "no stage"),
    ];
    for (request, expected) in cases {
        assert_eq!(resolved(&f.apis, &api, request), expected, "{request}");
    }
    let Resolved::Route(t) = f.apis.resolve(&api, "GET", "/prod/items/1") else { panic!() };
    assert_eq!(t.stage_variables, [("env".to_string(), "production".to_string())]);
    assert_eq!(t.authorization_type, "NONE");

    // With a $default stage, paths that name no stage go to it, whole.
    f.ok(Method::POST, &format!("apis/{api}/stages"), json!({"stageName": "$default", "autoDeploy": true})).await;
    let cases = [
        ("GET /items/7", "$default | GET /items/{id} | /items/7 | id=7 | shop@2.0"),
        ("GET /prod/items/7", "prod | GET /items/{id} | /items/7 | id=7 | shop@2.0"),
        ("GET /dev/items/7", "$default | ANY /{proxy+} | /dev/items/7 | proxy=dev/items/7 | shop@2.0"),
        ("GET /$default/items/7", "$default | ANY /{proxy+} | /$default/items/7 | proxy=$default/items/7 | shop@2.0"),
        ("GET /", "no route"),
    ];
    for (request, expected) in cases {
        assert_eq!(resolved(&f.apis, &api, request), expected, "{request}");
    }
}

#[tokio::test]
#[rustfmt::skip]
async fn a_stage_without_auto_deploy_serves_its_deployment() {
    let f = Fixture::new();
    let api = f.api().await;
    let v1 = f.lambda(&api, "v1").await;
    let route = f.route(&api, "GET /hello", Some(&v1)).await;
    f.ok(Method::POST, &format!("apis/{api}/stages"), json!({"stageName": "prod"})).await;
    f.ok(Method::POST, &format!("apis/{api}/stages"), json!({"stageName": "live", "autoDeploy": true})).await;
    // Nothing deployed to prod yet.
    assert_eq!(resolved(&f.apis, &api, "GET /prod/hello"), "no stage");
    let d1 = f.ok(Method::POST, &format!("apis/{api}/deployments"), json!({"stageName": "prod", "description": "first"})).await;
    assert_eq!(d1["deploymentStatus"], "DEPLOYED");
    assert_eq!(d1["autoDeployed"], false);
    let prod = f.ok(Method::GET, &format!("apis/{api}/stages/prod"), json!({})).await;
    assert_eq!(prod["deploymentId"], d1["deploymentId"]);
    assert_eq!(resolved(&f.apis, &api, "GET /prod/hello"), "prod | GET /hello | /hello |  | v1@2.0");

    // Changes reach the auto-deployed stage at once and prod only when deployed.
    let v2 = f.lambda(&api, "v2").await;
    f.ok(Method::PATCH, &format!("apis/{api}/routes/{route}"), json!({"target": format!("integrations/{v2}")})).await;
    f.route(&api, "GET /new", Some(&v2)).await;
    let cases = [
        ("GET /prod/hello", "prod | GET /hello | /hello |  | v1@2.0"),
        ("GET /prod/new", "no route"),
        ("GET /live/hello", "live | GET /hello | /hello |  | v2@2.0"),
        ("GET /live/new", "live | GET /new | /new |  | v2@2.0"),
    ];
    for (request, expected) in cases {
        assert_eq!(resolved(&f.apis, &api, request), expected, "{request}");
    }
    // The deployment keeps the integration it was made with, even once it is deleted.
    f.ok(Method::DELETE, &format!("apis/{api}/integrations/{v1}"), json!({})).await;
    assert_eq!(resolved(&f.apis, &api, "GET /prod/hello"), "prod | GET /hello | /hello |  | v1@2.0");

    let d2 = f.ok(Method::POST, &format!("apis/{api}/deployments"), json!({})).await;
    assert_eq!(resolved(&f.apis, &api, "GET /prod/new"), "no route");
    let did2 = d2["deploymentId"].as_str().unwrap();
    f.ok(Method::PATCH, &format!("apis/{api}/stages/prod"), json!({"deploymentId": did2})).await;
    assert_eq!(resolved(&f.apis, &api, "GET /prod/new"), "prod | GET /new | /new |  | v2@2.0");

    // All of it survives a restart.
    let again = f.reopened();
    for request in ["GET /prod/hello", "GET /prod/new", "GET /live/new"] {
        assert_eq!(resolved(&again, &api, request), resolved(&f.apis, &api, request), "{request}");
    }

    // Turning autoDeploy off leaves the stage on its last automatic deployment.
    f.ok(Method::PATCH, &format!("apis/{api}/stages/live"), json!({"autoDeploy": false})).await;
    f.ok(Method::DELETE, &format!("apis/{api}/routes/{route}"), json!({})).await;
    assert_eq!(resolved(&f.apis, &api, "GET /live/hello"), "live | GET /hello | /hello |  | v2@2.0");
}

#[tokio::test]
#[rustfmt::skip]
async fn routes_follow_the_route_table_precedence() {
    let f = Fixture::new();
    let api = f.api().await;
    let mut ids = Vec::new();
    for name in ["dog", "pets", "proxy", "fallback"] {
        ids.push(f.lambda(&api, name).await);
    }
    // AWS's routing example, created in the opposite order of precedence.
    f.route(&api, "$default", Some(&ids[3])).await;
    f.route(&api, "ANY /{proxy+}", Some(&ids[2])).await;
    f.route(&api, "GET /pets/{proxy+}", Some(&ids[1])).await;
    f.route(&api, "GET /pets/dog/{id}", Some(&ids[0])).await;
    f.route(&api, "GET /unwired", None).await;
    f.ok(Method::POST, &format!("apis/{api}/stages"), json!({"stageName": "$default", "autoDeploy": true})).await;
    let cases = [
        ("GET /pets/dog/1", "$default | GET /pets/dog/{id} | /pets/dog/1 | id=1 | dog@2.0"),
        ("GET /pets/cat/1", "$default | GET /pets/{proxy+} | /pets/cat/1 | proxy=cat/1 | pets@2.0"),
        ("POST /test/5", "$default | ANY /{proxy+} | /test/5 | proxy=test/5 | proxy@2.0"),
        ("GET /", "$default | $default | / |  | fallback@2.0"),
        ("GET /pets/dog/a%20b", "$default | GET /pets/dog/{id} | /pets/dog/a%20b | id=a b | dog@2.0"),
        // A route with no integration answers 404, like API Gateway.
        ("GET /unwired", "no route"),
    ];
    for (request, expected) in cases {
        assert_eq!(resolved(&f.apis, &api, request), expected, "{request}");
    }
    // CORS comes along with a miss, for the preflight.
    f.ok(Method::PATCH, &format!("apis/{api}"), json!({"corsConfiguration": {"allowOrigins": ["*"]}})).await;
    assert_eq!(f.apis.resolve(&api, "GET", "/unwired"), Resolved::NoRoute { cors: Some(json!({"allowOrigins": ["*"]})) });
    // A disabled execute-api endpoint answers nothing.
    f.ok(Method::PATCH, &format!("apis/{api}"), json!({"disableExecuteApiEndpoint": true})).await;
    assert_eq!(resolved(&f.apis, &api, "GET /"), "no api");
}

#[tokio::test]
#[rustfmt::skip]
async fn errors_are_aws_errors() {
    let f = Fixture::new();
    let api = f.api().await;
    let shop = f.lambda(&api, "shop").await;
    let route = f.route(&api, "GET /a", Some(&shop)).await;
    f.ok(Method::POST, &format!("apis/{api}/stages"), json!({"stageName": "prod"})).await;
    let p = |rest: &str| format!("apis/{api}/{rest}");
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (Method::GET, "apis/nope123456".into(), json!({}), "NotFoundException: Invalid API identifier specified 000000000000:nope123456"),
        (Method::DELETE, "apis/nope123456".into(), json!({}), "NotFoundException: Invalid API identifier specified 000000000000:nope123456"),
        (Method::GET, "apis/nope123456/routes".into(), json!({}), "NotFoundException: Invalid API identifier specified 000000000000:nope123456"),
        (Method::GET, p("routes/zzzzzzz"), json!({}), "NotFoundException: Invalid Route identifier specified zzzzzzz"),
        (Method::GET, p("integrations/zzzzzzz"), json!({}), "NotFoundException: Invalid Integration identifier specified zzzzzzz"),
        (Method::GET, p("stages/dev"), json!({}), "NotFoundException: Invalid stage identifier specified dev"),
        (Method::GET, p("deployments/zzzzzzz"), json!({}), "NotFoundException: Invalid Deployment identifier specified zzzzzzz"),
        (Method::POST, "apis".into(), json!({"name": "ws", "protocolType": "WEBSOCKET"}), "BadRequestException: WebSocket APIs are not implemented in Eddy yet; use protocolType HTTP."),
        (Method::POST, "apis".into(), json!({"protocolType": "HTTP"}), "BadRequestException: Invalid input: name is required."),
        (Method::POST, "apis".into(), json!({"name": "", "protocolType": "HTTP"}), "BadRequestException: Invalid input: name must be between 1 and 128 characters long."),
        (Method::POST, "apis".into(), json!({"name": "x", "protocolType": "HTTP", "target": "not-a-target"}), "BadRequestException: Invalid target specified not-a-target: use a Lambda function ARN or an HTTP(S) URL."),
        (Method::POST, "apis".into(), json!({"name": "x", "protocolType": "HTTP", "routeKey": "GET /"}), "BadRequestException: routeKey is part of quick create: it needs a target."),
        (Method::POST, "apis".into(), json!({"name": "x", "protocolType": "HTTP", "corsConfiguration": {"maxAge": 90000}}), "BadRequestException: Invalid CORS maxAge 90000: it must be between -1 and 86400."),
        (Method::POST, p("routes"), json!({"routeKey": "GET /a"}), "ConflictException: Route with key GET /a already exists for this API"),
        (Method::POST, p("routes"), json!({"routeKey": "FETCH /a"}), "BadRequestException: Invalid route key: route key 'FETCH /a' has an unsupported method 'FETCH'."),
        (Method::POST, p("routes"), json!({"routeKey": "GET /{proxy+}/x"}), "BadRequestException: Invalid route key: route key 'GET /{proxy+}/x' has a greedy path variable that is not the last segment."),
        (Method::POST, p("routes"), json!({"routeKey": "GET /b", "target": "integrations/zzzzzzz"}), "BadRequestException: Invalid target integrations/zzzzzzz: this API has no integration zzzzzzz."),
        (Method::POST, p("routes"), json!({"routeKey": "GET /b", "target": "lambda"}), "BadRequestException: Invalid target lambda: a route's target must be integrations/<integration id>."),
        (Method::POST, p("routes"), json!({"routeKey": "GET /b", "authorizationType": "JWT"}), "BadRequestException: Authorization type JWT needs an authorizerId."),
        (Method::POST, p("routes"), json!({"routeKey": "GET /b", "authorizationType": "CUSTOM"}), "BadRequestException: Authorization type CUSTOM needs an authorizerId."),
        (Method::POST, p("routes"), json!({"routeKey": "GET /b", "apiKeyRequired": true}), "BadRequestException: API keys are not supported for HTTP APIs."),
        (Method::POST, p("routes"), json!({}), "BadRequestException: Invalid input: routeKey is required."),
        (Method::PATCH, p(&format!("routes/{route}")), json!({"routeKey": "GET /a/"}), "BadRequestException: Invalid route key: route key 'GET /a/' has an empty path segment."),
        (Method::DELETE, p(&format!("integrations/{shop}")), json!({}), "ConflictException: Integration SHOP is the target of route(s) GET /a; change or delete them first."),
        (Method::POST, p("stages"), json!({"stageName": "prod"}), "ConflictException: Stage prod already exists"),
        (Method::POST, p("stages"), json!({"stageName": "bad name"}), "BadRequestException: Invalid stage name bad name: use $default or letters, digits, '-' and '_' (at most 128)."),
        (Method::POST, p("stages"), json!({"stageName": "x", "stageVariables": {"a-b": "1"}}), "BadRequestException: Invalid stage variable name a-b: use letters, digits and '_' (at most 64)."),
        (Method::POST, p("stages"), json!({"stageName": "x", "stageVariables": {"a": "<b>"}}), "BadRequestException: Invalid stage variable value for a: use letters, digits and ' -._~:/?#&=,' (at most 2048)."),
        (Method::POST, p("stages"), json!({"stageName": "x", "deploymentId": "zzzzzzz"}), "NotFoundException: Invalid Deployment identifier specified zzzzzzz"),
        (Method::POST, p("deployments"), json!({"stageName": "dev"}), "NotFoundException: Invalid stage identifier specified dev"),
        (Method::GET, "apis?maxResults=0".into(), json!({}), "BadRequestException: Invalid maxResults 0: it must be a positive integer."),
        (Method::GET, "apis?nextToken=%25%25".into(), json!({}), "BadRequestException: Invalid nextToken specified."),
        (Method::GET, "apis/nope123456/authorizers".into(), json!({}), "NotFoundException: Invalid API identifier specified 000000000000:nope123456"),
        (Method::GET, "tags/arn:aws:apigateway:us-east-1::/apis/nope123456".into(), json!({}), "NotFoundException: Invalid resource identifier specified arn:aws:apigateway:us-east-1::/apis/nope123456"),
    ];
    for (method, path, body, expected) in cases {
        let expected = expected.replace("SHOP", &shop);
        assert_eq!(f.err(method.clone(), &path, body.clone()).await, expected, "{method} {path} {body}");
    }
    // Quotas: three stages per API in this configuration.
    f.ok(Method::POST, &p("stages"), json!({"stageName": "two"})).await;
    f.ok(Method::POST, &p("stages"), json!({"stageName": "three"})).await;
    assert_eq!(f.err(Method::POST, &p("stages"), json!({"stageName": "four"})).await, "TooManyRequestsException: The maximum number of stages in this API (3) has been reached.");
    // A deployment needs a route; a deployment in use cannot go.
    let empty = f.api().await;
    assert_eq!(f.err(Method::POST, &format!("apis/{empty}/deployments"), json!({})).await, "BadRequestException: Unable to deploy API because no routes exist in this API");
    let d = f.ok(Method::POST, &p("deployments"), json!({"stageName": "prod"})).await;
    let did = d["deploymentId"].as_str().unwrap();
    assert_eq!(f.err(Method::DELETE, &p(&format!("deployments/{did}")), json!({})).await, "BadRequestException: Active stages pointing to this deployment must be moved or deleted");
    f.ok(Method::DELETE, &p("stages/prod"), json!({})).await;
    f.ok(Method::DELETE, &p(&format!("deployments/{did}")), json!({})).await;
}

#[test]
#[rustfmt::skip]
fn integrations_are_checked_and_defaulted() {
    // `expected` is `type method payload timeout` once defaulted, or the error.
    fn check(input: Value, expected: &str) {
        let mut rec = input.clone();
        let got = match model::check_integration(&mut rec) {
            Ok(()) => format!("{} {} {} {}", rec["integrationType"].as_str().unwrap(), rec["integrationMethod"].as_str().unwrap_or("-"), rec["payloadFormatVersion"].as_str().unwrap(), rec["timeoutInMillis"]),
            Err(e) => format!("{}: {e}", e.code()),
        };
        assert_eq!(got, expected, "{input}");
    }
    let apigw_uri = format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}/invocations");
    check(json!({"integrationType": "AWS_PROXY", "integrationUri": FN}), "AWS_PROXY POST 2.0 30000");
    check(json!({"integrationType": "AWS_PROXY", "integrationUri": format!("{FN}:live"), "payloadFormatVersion": "1.0", "timeoutInMillis": 50}), "AWS_PROXY POST 1.0 50");
    check(json!({"integrationType": "AWS_PROXY", "integrationUri": apigw_uri}), "AWS_PROXY POST 2.0 30000");
    check(json!({"integrationType": "HTTP_PROXY", "integrationUri": "https://example.com/x", "integrationMethod": "GET"}), "HTTP_PROXY GET 1.0 30000");
    check(json!({"integrationType": "AWS_PROXY", "integrationUri": FN, "payloadFormatVersion": "3.0"}), "BadRequestException: Invalid payloadFormatVersion 3.0: Lambda proxy integrations support 1.0 and 2.0.");
    check(json!({"integrationType": "AWS_PROXY", "integrationUri": FN, "timeoutInMillis": 30001}), "BadRequestException: Invalid timeoutInMillis 30001: it must be between 50 and 30000.");
    check(json!({"integrationType": "AWS_PROXY", "integrationUri": FN, "timeoutInMillis": 49}), "BadRequestException: Invalid timeoutInMillis 49: it must be between 50 and 30000.");
    check(json!({"integrationType": "AWS_PROXY", "integrationUri": "arn:aws:lambda:us-east-1:000000000000:function:"}), "BadRequestException: Invalid integration URI specified arn:aws:lambda:us-east-1:000000000000:function:: use a Lambda function ARN or arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations.");
    check(json!({"integrationType": "AWS_PROXY", "integrationUri": "https://example.com"}), "BadRequestException: Invalid integration URI specified https://example.com: use a Lambda function ARN or arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations.");
    check(json!({"integrationType": "AWS_PROXY"}), "BadRequestException: Invalid input: integrationUri is required for HTTP APIs.");
    check(json!({"integrationType": "HTTP_PROXY", "integrationUri": "https://example.com"}), "BadRequestException: Invalid input: integrationMethod is required for HTTP_PROXY integrations.");
    check(json!({"integrationType": "HTTP_PROXY", "integrationUri": "ftp://example.com", "integrationMethod": "GET"}), "BadRequestException: Invalid integration URI specified ftp://example.com: an HTTP proxy integration needs an http:// or https:// URL.");
    check(json!({"integrationType": "HTTP_PROXY", "integrationUri": "http://example.com", "integrationMethod": "GET", "payloadFormatVersion": "2.0"}), "BadRequestException: Invalid payloadFormatVersion 2.0: HTTP proxy integrations support only 1.0.");
    check(json!({"integrationType": "MOCK"}), "BadRequestException: Invalid input: integrationUri is required for HTTP APIs.");
    check(json!({"integrationType": "MOCK", "integrationUri": "x"}), "BadRequestException: Integration type MOCK is not supported for HTTP APIs; use AWS_PROXY or HTTP_PROXY.");
    check(json!({"integrationUri": FN}), "BadRequestException: Invalid input: integrationType is required.");
    check(json!({"integrationType": "AWS_PROXY", "integrationUri": FN, "integrationSubtype": "SQS-SendMessage"}), "NotImplemented: Eddy does not implement AWS service integrations (integrationSubtype) yet; use AWS_PROXY with a Lambda function or HTTP_PROXY.");
    check(json!({"integrationType": "HTTP_PROXY", "integrationUri": "http://x", "integrationMethod": "GET", "connectionType": "VPC_LINK"}), "NotImplemented: Eddy does not implement VPC links; use connectionType INTERNET.");
    check(json!({"integrationType": "AWS_PROXY", "integrationUri": FN, "timeoutInMillis": "5"}), "BadRequestException: Invalid input: timeoutInMillis must be an integer.");
}

#[test]
#[rustfmt::skip]
fn lambda_uris() {
    let cases = [
        (FN, Some(FN)),
        ("arn:aws:lambda:eu-west-1:123456789012:function:my-fn_1:$LATEST", Some("arn:aws:lambda:eu-west-1:123456789012:function:my-fn_1:$LATEST")),
        ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:shop:7/invocations", Some("arn:aws:lambda:us-east-1:000000000000:function:shop:7")),
        ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:shop", None),
        ("arn:aws:apigateway:us-east-1:s3:path/bucket/key", None),
        ("arn:aws:lambda:us-east-1:0000:function:shop", None),
        ("arn:aws:lambda:us-east-1:000000000000:layer:shop", None),
        ("arn:aws:lambda:us-east-1:000000000000:function:shop:a:b", None),
        ("arn:aws:lambda:us-east-1:000000000000:function:bad.name", None),
        ("shop", None),
    ];
    for (uri, expected) in cases {
        assert_eq!(model::lambda_function_arn(uri).as_deref(), expected, "{uri}");
    }
}

#[test]
#[rustfmt::skip]
fn tag_arns_and_cors() {
    assert_eq!(model::parse_tag_arn("arn:aws:apigateway:us-east-1::/apis/abc"), Some(("us-east-1".into(), "abc".into(), None)));
    assert_eq!(model::parse_tag_arn("arn:aws:apigateway:us-east-1::/apis/abc/stages/$default"), Some(("us-east-1".into(), "abc".into(), Some("$default".into()))));
    for bad in ["arn:aws:apigateway:us-east-1::/restapis/abc", "arn:aws:apigateway:us-east-1::/apis/", "arn:aws:lambda:us-east-1::/apis/abc", "x"] {
        assert_eq!(model::parse_tag_arn(bad), None, "{bad}");
    }
    let ok = model::check_cors(&json!({"allowOrigins": ["https://a.example"], "allowMethods": ["GET", "post", "*"], "maxAge": -1, "allowCredentials": true, "other": 1})).unwrap();
    assert_eq!(ok, json!({"allowOrigins": ["https://a.example"], "allowMethods": ["GET", "post", "*"], "maxAge": -1, "allowCredentials": true}));
    for (bad, message) in [
        (json!({"allowMethods": ["FETCH"]}), "Invalid CORS allowMethods FETCH: use HTTP methods or *."),
        (json!({"allowOrigins": "*"}), "Invalid input: corsConfiguration.allowOrigins must be a list of strings."),
        (json!({"maxAge": -2}), "Invalid CORS maxAge -2: it must be between -1 and 86400."),
        (json!([]), "Invalid input: corsConfiguration must be an object."),
    ] {
        assert_eq!(model::check_cors(&bad).unwrap_err().to_string(), message, "{bad}");
    }
}

#[tokio::test]
async fn lists_page_and_tags_stick() {
    let f = Fixture::new();
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(f.api().await);
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            Some(t) => format!("apis?maxResults=2&nextToken={t}"),
            None => "apis?maxResults=2".to_string(),
        };
        let page = f.ok(Method::GET, &path, json!({})).await;
        for a in page["items"].as_array().unwrap() {
            seen.push(a["apiId"].as_str().unwrap().to_string());
        }
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    let arn = format!("arn:aws:apigateway:us-east-1::/apis/{}", ids[0]);
    let (status, _) = f
        .call(
            Method::POST,
            &format!("tags/{arn}"),
            json!({"tags": {"team": "a", "env": "x"}}),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED.as_u16());
    f.call(
        Method::DELETE,
        &format!("tags/{arn}?tagKeys=env"),
        json!({}),
    )
    .await
    .unwrap();
    let tags = f.ok(Method::GET, &format!("tags/{arn}"), json!({})).await;
    assert_eq!(tags, json!({"tags": {"team": "a"}}));
    let api = f
        .ok(Method::GET, &format!("apis/{}", ids[0]), json!({}))
        .await;
    assert_eq!(api["tags"], json!({"team": "a"}));

    // Deleting an API deletes what is in it, in the store too.
    let shop = f.lambda(&ids[1], "shop").await;
    f.route(&ids[1], "GET /", Some(&shop)).await;
    f.ok(Method::DELETE, &format!("apis/{}", ids[1]), json!({}))
        .await;
    let again = f.reopened();
    assert_eq!(again.live().read().apis.len(), 4);
    assert_eq!(resolved(&again, &ids[1], "GET /"), "no api");
}

#[tokio::test]
async fn auto_deploy_keeps_one_deployment_per_stage() {
    let f = Fixture::new();
    let api = f
        .ok(
            Method::POST,
            "apis",
            json!({"name": "shop", "protocolType": "HTTP", "target": FN}),
        )
        .await;
    let id = api["apiId"].as_str().unwrap();
    let shop = f.lambda(id, "other").await;
    for i in 0..5 {
        f.route(id, &format!("GET /r{i}"), Some(&shop)).await;
        f.clock.advance(1000);
    }
    let deployments = f
        .ok(Method::GET, &format!("apis/{id}/deployments"), json!({}))
        .await;
    assert_eq!(deployments["items"].as_array().unwrap().len(), 1);
    let stage = f
        .ok(
            Method::GET,
            &format!("apis/{id}/stages/$default"),
            json!({}),
        )
        .await;
    assert_eq!(
        stage["deploymentId"],
        deployments["items"][0]["deploymentId"]
    );
    assert_eq!(
        resolved(&f.apis, id, "GET /r4"),
        "$default | GET /r4 | /r4 |  | other@2.0"
    );
}

const AUTH_URI: &str = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:auth/invocations";

#[tokio::test]
#[rustfmt::skip]
async fn authorizers_are_checked() {
    let f = Fixture::new();
    let api = f.api().await;
    let p = |rest: &str| format!("apis/{api}/{rest}");
    let lambda = json!({"name": "lam", "authorizerType": "REQUEST", "authorizerUri": AUTH_URI, "authorizerPayloadFormatVersion": "2.0", "identitySource": ["$request.header.Authorization"]});
    let with = |extra: Value| {
        let mut b = lambda.clone();
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({"authorizerType": "REQUEST"}), "BadRequestException: Invalid input: name is required."),
        (json!({"name": "x", "authorizerType": "TOKEN"}), "BadRequestException: Invalid authorizerType TOKEN: use REQUEST or JWT."),
        (json!({"name": "x", "authorizerType": "REQUEST"}), "BadRequestException: Invalid input: authorizerUri is required for REQUEST authorizers."),
        (with(json!({"authorizerUri": "nope"})), "BadRequestException: Invalid authorizerUri nope: use arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function-arn>/invocations."),
        (with(json!({"authorizerPayloadFormatVersion": "3.0"})), "BadRequestException: Invalid authorizerPayloadFormatVersion 3.0: use 1.0 or 2.0."),
        (with(json!({"authorizerPayloadFormatVersion": "1.0", "enableSimpleResponses": true})), "BadRequestException: enableSimpleResponses is supported only for authorizerPayloadFormatVersion 2.0."),
        (with(json!({"authorizerResultTtlInSeconds": 3601})), "BadRequestException: Invalid authorizerResultTtlInSeconds 3601: use 0 to 3600."),
        (with(json!({"identitySource": [], "authorizerResultTtlInSeconds": 60})), "BadRequestException: Identity sources are required when authorizer caching is enabled."),
        (with(json!({"identitySource": ["$request.body.x"]})), "BadRequestException: Invalid identity source $request.body.x: use $request.header.<name>, $request.querystring.<name>, $context.<name> or $stageVariables.<name>."),
        (json!({"name": "j", "authorizerType": "JWT"}), "BadRequestException: Invalid input: jwtConfiguration is required for JWT authorizers."),
        (json!({"name": "j", "authorizerType": "JWT", "jwtConfiguration": {"audience": ["a"]}}), "BadRequestException: Invalid input: jwtConfiguration.issuer is required."),
        (json!({"name": "j", "authorizerType": "JWT", "jwtConfiguration": {"issuer": "https://i", "audience": []}}), "BadRequestException: Invalid input: jwtConfiguration.audience needs at least one entry."),
        (json!({"name": "j", "authorizerType": "JWT", "jwtConfiguration": {"issuer": "ftp://i", "audience": ["a"]}}), "BadRequestException: Invalid issuer ftp://i: use an https:// URL (Eddy also takes http:// and file://)."),
        (json!({"name": "j", "authorizerType": "JWT", "authorizerUri": AUTH_URI, "jwtConfiguration": {"issuer": "https://i", "audience": ["a"]}}), "BadRequestException: authorizerUri is only for REQUEST authorizers."),
    ];
    for (body, expected) in cases {
        assert_eq!(f.err(Method::POST, &p("authorizers"), body.clone()).await, expected, "{body}");
    }

    let lam = f.ok(Method::POST, &p("authorizers"), with(json!({"enableSimpleResponses": true, "authorizerResultTtlInSeconds": 300}))).await;
    let lam_id = lam["authorizerId"].as_str().unwrap().to_string();
    assert_eq!(lam["enableSimpleResponses"], true);
    let jwt = f.ok(Method::POST, &p("authorizers"), json!({"name": "j", "authorizerType": "JWT", "jwtConfiguration": {"issuer": "https://issuer.example", "audience": ["api"]}})).await;
    let jwt_id = jwt["authorizerId"].as_str().unwrap().to_string();
    // A JWT authorizer reads the Authorization header unless told otherwise.
    assert_eq!(jwt["identitySource"], json!(["$request.header.Authorization"]));
    assert_eq!(f.ok(Method::GET, &p("authorizers"), json!({})).await["items"].as_array().unwrap().len(), 2);
    assert_eq!(f.ok(Method::GET, &p(&format!("authorizers/{lam_id}")), json!({})).await["name"], "lam");
    let updated = f.ok(Method::PATCH, &p(&format!("authorizers/{lam_id}")), json!({"authorizerResultTtlInSeconds": 0})).await;
    assert_eq!(updated["authorizerResultTtlInSeconds"], 0);
    assert_eq!(f.err(Method::PATCH, &p(&format!("authorizers/{lam_id}")), json!({"authorizerType": "JWT"})).await, "BadRequestException: The authorizerType of an authorizer cannot be changed; create another.");

    // Routes name an authorizer of the right type.
    let shop = f.lambda(&api, "shop").await;
    let target = format!("integrations/{shop}");
    let route_cases: Vec<(Value, String)> = vec![
        (json!({"routeKey": "GET /a", "authorizationType": "CUSTOM", "authorizerId": "zzzzzz"}), "NotFoundException: Invalid Authorizer identifier specified zzzzzz".into()),
        (json!({"routeKey": "GET /a", "authorizationType": "CUSTOM", "authorizerId": jwt_id}), format!("BadRequestException: Authorization type CUSTOM needs a REQUEST authorizer; {jwt_id} is not one.")),
        (json!({"routeKey": "GET /a", "authorizationType": "NONE", "authorizerId": lam_id}), "BadRequestException: Authorization type NONE takes no authorizerId; use CUSTOM or JWT.".into()),
        (json!({"routeKey": "GET /a", "authorizationType": "CUSTOM", "authorizerId": lam_id, "authorizationScopes": ["read"]}), "BadRequestException: authorizationScopes are supported only for JWT routes in HTTP APIs.".into()),
    ];
    for (body, expected) in route_cases {
        assert_eq!(f.err(Method::POST, &p("routes"), body.clone()).await, expected, "{body}");
    }
    f.ok(Method::POST, &p("routes"), json!({"routeKey": "GET /lam", "target": target, "authorizationType": "CUSTOM", "authorizerId": lam_id})).await;
    f.ok(Method::POST, &p("routes"), json!({"routeKey": "GET /jwt", "target": target, "authorizationType": "JWT", "authorizerId": jwt_id, "authorizationScopes": ["read"]})).await;
    f.ok(Method::POST, &p("stages"), json!({"stageName": "$default", "autoDeploy": true})).await;
    assert_eq!(f.err(Method::DELETE, &p(&format!("authorizers/{lam_id}")), json!({})).await, "ConflictException: Authorizer LAM is used by route(s) GET /lam; change or delete them first.".replace("LAM", &lam_id));

    // resolve hands the data plane the authorizer, after a restart too.
    for apis in [f.apis.clone(), f.reopened()] {
        let Resolved::Route(t) = apis.resolve(&api, "GET", "/lam") else { panic!() };
        assert_eq!(t.authorization_type, "CUSTOM");
        assert_eq!(t.region, REGION);
        assert_eq!(t.authorizer, Some(crate::Authorizer {
            id: lam_id.clone(),
            identity_sources: vec!["$request.header.Authorization".into()],
            kind: crate::AuthorizerKind::Lambda {
                function_arn: "arn:aws:lambda:us-east-1:000000000000:function:auth".into(),
                payload_format_version: "2.0".into(),
                simple_responses: true,
                result_ttl_s: 0,
                timeout_ms: crate::authorizers::LAMBDA_TIMEOUT_MS,
            },
        }));
        let Resolved::Route(t) = apis.resolve(&api, "GET", "/jwt") else { panic!() };
        assert_eq!(t.authorization_scopes, ["read"]);
        assert_eq!(t.authorizer.unwrap().kind, crate::AuthorizerKind::Jwt { issuer: "https://issuer.example".into(), audience: vec!["api".into()] });
    }

    // A deployment keeps the authorizer as it was.
    f.ok(Method::POST, &p("stages"), json!({"stageName": "v1"})).await;
    f.ok(Method::POST, &p("deployments"), json!({"stageName": "v1"})).await;
    f.ok(Method::PATCH, &p(&format!("authorizers/{lam_id}")), json!({"enableSimpleResponses": false})).await;
    let simple = |path: &str| {
        let Resolved::Route(t) = f.apis.resolve(&api, "GET", path) else { panic!() };
        match t.authorizer.unwrap().kind {
            crate::AuthorizerKind::Lambda { simple_responses, .. } => simple_responses,
            _ => panic!(),
        }
    };
    assert!(simple("/v1/lam"));
    assert!(!simple("/lam"));

    // Back to NONE drops the authorizer; then it can go.
    let routes = f.ok(Method::GET, &p("routes"), json!({})).await;
    let rid = routes["items"].as_array().unwrap().iter().find(|r| r["routeKey"] == "GET /lam").unwrap()["routeId"].as_str().unwrap().to_string();
    let r = f.ok(Method::PATCH, &p(&format!("routes/{rid}")), json!({"authorizationType": "NONE"})).await;
    assert_eq!(r.get("authorizerId"), None);
    f.ok(Method::DELETE, &p(&format!("authorizers/{lam_id}")), json!({})).await;
    assert_eq!(f.err(Method::GET, &p(&format!("authorizers/{lam_id}")), json!({})).await, format!("NotFoundException: Invalid Authorizer identifier specified {lam_id}"));
}
