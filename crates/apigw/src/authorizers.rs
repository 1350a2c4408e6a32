//! Authorizers of HTTP APIs: Lambda (`REQUEST`) and `JWT`. Their records, checked as
//! API Gateway checks them; the operations Create/Get/Update/DeleteAuthorizer; and
//! [`Authorizer`], what `resolve` tells the data plane about a route's authorizer.

use crate::api::{merge, quota, view, Call};
use crate::error::{bad, invalid_identifier, ApigwError, Result};
use crate::model::{self, opt_bool, opt_i64, opt_str, req_str};
use crate::{ApiEntry, HttpApis, AUTHORIZER};
use http::{Method, StatusCode};
use serde_json::{json, Value};

/// The identity source of a JWT authorizer that names none.
pub const JWT_IDENTITY_DEFAULT: &str = "$request.header.Authorization";
/// The longest a Lambda authorizer's answer is cached (AWS: one hour).
pub const RESULT_TTL_S_MAX: i64 = 3600;
/// How long a Lambda authorizer may run (AWS: 10 seconds).
pub const LAMBDA_TIMEOUT_MS: u64 = 10_000;

/// A route's authorizer, as the data plane runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorizer {
    pub id: String,
    /// `$request.header.X`, `$request.querystring.x`, `$context.x`, `$stageVariables.x`.
    pub identity_sources: Vec<String>,
    pub kind: AuthorizerKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizerKind {
    /// A Lambda authorizer: the function (qualified or not), its event's payload
    /// format (`1.0` or `2.0`), whether it answers `{"isAuthorized": ...}` rather than
    /// an IAM policy, and how long an answer is cached (0: not at all).
    Lambda {
        function_arn: String,
        payload_format_version: String,
        simple_responses: bool,
        result_ttl_s: u64,
        timeout_ms: u64,
    },
    /// A JWT authorizer: the token's `iss` must be `issuer`, its `aud` (or `client_id`)
    /// one of `audience`. The keys come from the issuer's OpenID discovery document.
    Jwt {
        issuer: String,
        audience: Vec<String>,
    },
}

impl Authorizer {
    /// The authorizer a stored record describes.
    pub(crate) fn from_record(rec: &Value) -> Option<Authorizer> {
        let id = rec["authorizerId"].as_str()?.to_string();
        let identity_sources = strings(&rec["identitySource"]);
        let kind = match rec["authorizerType"].as_str()? {
            "REQUEST" => AuthorizerKind::Lambda {
                function_arn: model::lambda_function_arn(rec["authorizerUri"].as_str()?)?,
                payload_format_version: rec["authorizerPayloadFormatVersion"]
                    .as_str()
                    .unwrap_or("2.0")
                    .to_string(),
                simple_responses: rec["enableSimpleResponses"].as_bool() == Some(true),
                result_ttl_s: rec["authorizerResultTtlInSeconds"].as_u64().unwrap_or(0),
                timeout_ms: LAMBDA_TIMEOUT_MS,
            },
            "JWT" => AuthorizerKind::Jwt {
                issuer: rec["jwtConfiguration"]["issuer"].as_str()?.to_string(),
                audience: strings(&rec["jwtConfiguration"]["audience"]),
            },
            _ => return None,
        };
        Some(Authorizer {
            id,
            identity_sources,
            kind,
        })
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Members of CreateAuthorizer and UpdateAuthorizer that are stored as given.
const FIELDS: [&str; 10] = [
    "authorizerCredentialsArn",
    "authorizerPayloadFormatVersion",
    "authorizerResultTtlInSeconds",
    "authorizerType",
    "authorizerUri",
    "enableSimpleResponses",
    "identitySource",
    "identityValidationExpression",
    "jwtConfiguration",
    "name",
];

fn opt_strings(body: &Value, field: &str) -> Result<Option<Vec<String>>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Ok(Some(strings(&body[field]))),
        Some(_) => Err(bad(format!(
            "Invalid input: {field} must be a list of strings."
        ))),
    }
}

/// Checks an authorizer record (after a create or update merged into it) and fills
/// in defaults.
pub(crate) fn check_authorizer(rec: &mut Value) -> Result<()> {
    let name = req_str(rec, "name")?;
    model::check_len("name", name, 1, 128)?;
    let sources = opt_strings(rec, "identitySource")?.unwrap_or_default();
    for s in &sources {
        if !gateway::authorizer::identity_source_ok(s) {
            return Err(bad(format!(
                "Invalid identity source {s}: use $request.header.<name>, $request.querystring.<name>, $context.<name> or $stageVariables.<name>."
            )));
        }
    }
    match opt_str(rec, "authorizerType")? {
        Some("REQUEST") => {
            let uri = opt_str(rec, "authorizerUri")?.ok_or_else(|| {
                bad("Invalid input: authorizerUri is required for REQUEST authorizers.")
            })?;
            if model::lambda_function_arn(uri).is_none() {
                return Err(bad(format!(
                    "Invalid authorizerUri {uri}: use arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function-arn>/invocations."
                )));
            }
            let version = opt_str(rec, "authorizerPayloadFormatVersion")?.ok_or_else(|| {
                bad("Invalid input: authorizerPayloadFormatVersion is required for REQUEST authorizers.")
            })?;
            if version != "1.0" && version != "2.0" {
                return Err(bad(format!(
                    "Invalid authorizerPayloadFormatVersion {version}: use 1.0 or 2.0."
                )));
            }
            let simple = opt_bool(rec, "enableSimpleResponses")?.unwrap_or(false);
            if simple && version != "2.0" {
                return Err(bad(
                    "enableSimpleResponses is supported only for authorizerPayloadFormatVersion 2.0.",
                ));
            }
            rec["enableSimpleResponses"] = json!(simple);
            let ttl = opt_i64(rec, "authorizerResultTtlInSeconds")?.unwrap_or(0);
            if !(0..=RESULT_TTL_S_MAX).contains(&ttl) {
                return Err(bad(format!(
                    "Invalid authorizerResultTtlInSeconds {ttl}: use 0 to {RESULT_TTL_S_MAX}."
                )));
            }
            rec["authorizerResultTtlInSeconds"] = json!(ttl);
            if ttl > 0 && sources.is_empty() {
                return Err(bad(
                    "Identity sources are required when authorizer caching is enabled.",
                ));
            }
            if rec.get("jwtConfiguration").is_some_and(|j| !j.is_null()) {
                return Err(bad("jwtConfiguration is only for JWT authorizers."));
            }
        }
        Some("JWT") => {
            let jwt = rec
                .get("jwtConfiguration")
                .filter(|j| j.is_object())
                .ok_or_else(|| {
                    bad("Invalid input: jwtConfiguration is required for JWT authorizers.")
                })?;
            let issuer = opt_str(jwt, "issuer")?
                .ok_or_else(|| bad("Invalid input: jwtConfiguration.issuer is required."))?;
            if !(issuer.starts_with("https://")
                || issuer.starts_with("http://")
                || issuer.starts_with("file://"))
            {
                return Err(bad(format!(
                    "Invalid issuer {issuer}: use an https:// URL (Eddy also takes http:// and file://)."
                )));
            }
            if opt_strings(jwt, "audience")?.unwrap_or_default().is_empty() {
                return Err(bad(
                    "Invalid input: jwtConfiguration.audience needs at least one entry.",
                ));
            }
            if sources.len() > 1 {
                return Err(bad("A JWT authorizer takes one identity source."));
            }
            if sources.is_empty() {
                rec["identitySource"] = json!([JWT_IDENTITY_DEFAULT]);
            }
            for f in [
                "authorizerUri",
                "authorizerPayloadFormatVersion",
                "authorizerResultTtlInSeconds",
                "enableSimpleResponses",
            ] {
                if rec.get(f).is_some_and(|v| !v.is_null()) {
                    return Err(bad(format!("{f} is only for REQUEST authorizers.")));
                }
            }
        }
        Some(other) => {
            return Err(bad(format!(
                "Invalid authorizerType {other}: use REQUEST or JWT."
            )))
        }
        None => return Err(bad("Invalid input: authorizerType is required.")),
    }
    Ok(())
}

/// A route's authorizer must exist and fit its authorizationType: CUSTOM takes a
/// REQUEST authorizer, JWT a JWT one; authorization scopes are for JWT routes.
pub(crate) fn check_route_authorizer(api: &ApiEntry, route: &Value) -> Result<()> {
    let kind = route["authorizationType"].as_str().unwrap_or("NONE");
    let Some(aid) = route["authorizerId"].as_str() else {
        return Ok(());
    };
    let rec = api
        .authorizers
        .get(aid)
        .ok_or_else(|| authorizer_not_found(aid))?;
    let wanted = match kind {
        "CUSTOM" => "REQUEST",
        "JWT" => "JWT",
        _ => return Ok(()),
    };
    if rec["authorizerType"].as_str() != Some(wanted) {
        return Err(bad(format!(
            "Authorization type {kind} needs a {wanted} authorizer; {aid} is not one."
        )));
    }
    Ok(())
}

pub(crate) fn authorizer_not_found(id: &str) -> ApigwError {
    invalid_identifier("Authorizer", id)
}

/// Authorizers per API (AWS: 10).
const AUTHORIZERS_PER_API_MAX: usize = 10;

impl HttpApis {
    /// `/v2/apis/{id}/authorizers[/{authorizerId}]`.
    pub(crate) async fn authorizers(
        &self,
        call: &Call<'_>,
        id: &str,
        rest: &[&str],
    ) -> Result<(StatusCode, Value)> {
        let region = call.region;
        match (call.method, rest) {
            (&Method::POST, []) => Ok((
                StatusCode::CREATED,
                self.create_authorizer(region, id, &call.body).await?,
            )),
            (&Method::GET, []) => {
                let limit = model::max_results(call.query("maxResults"))?;
                self.with_api(region, id, |a| {
                    model::page(
                        a.authorizers.iter().map(|(k, v)| (k, view(v))),
                        call.query("nextToken"),
                        limit,
                    )
                })
                .map(|v| (StatusCode::OK, v))
            }
            (&Method::GET, [aid]) => self
                .with_api(region, id, |a| {
                    a.authorizers
                        .get(*aid)
                        .map(view)
                        .ok_or_else(|| authorizer_not_found(aid))
                })
                .map(|v| (StatusCode::OK, v)),
            (&Method::PATCH, [aid]) => Ok((
                StatusCode::OK,
                self.update_authorizer(region, id, aid, &call.body).await?,
            )),
            (&Method::DELETE, [aid]) => {
                self.delete_authorizer(region, id, aid).await?;
                Ok((StatusCode::NO_CONTENT, Value::Null))
            }
            _ => Err(ApigwError::NotImplemented(format!(
                "Eddy does not implement {} /v2/apis/{id}/authorizers/{} in API Gateway v2 yet.",
                call.method,
                rest.join("/")
            ))),
        }
    }

    async fn create_authorizer(&self, region: &str, id: &str, body: &Value) -> Result<Value> {
        let mut rec = json!({});
        merge(&mut rec, body, &FIELDS);
        check_authorizer(&mut rec)?;
        self.change(region, id, |api, tx, now| {
            if api.authorizers.len() >= AUTHORIZERS_PER_API_MAX {
                return Err(quota(
                    "authorizers",
                    "authorizers in this API",
                    AUTHORIZERS_PER_API_MAX,
                ));
            }
            let aid = crate::api::fresh_id(6, |a| api.authorizers.contains_key(a));
            rec["authorizerId"] = json!(aid);
            rec["_createdMs"] = json!(now);
            tx.put(AUTHORIZER, id, &aid, &rec);
            api.authorizers.insert(aid, rec.clone());
            tx.redeploy = true;
            Ok(view(&rec))
        })
        .await
    }

    async fn update_authorizer(
        &self,
        region: &str,
        id: &str,
        aid: &str,
        body: &Value,
    ) -> Result<Value> {
        self.change(region, id, |api, tx, _| {
            let mut rec = api
                .authorizers
                .get(aid)
                .cloned()
                .ok_or_else(|| authorizer_not_found(aid))?;
            if let Some(t) = opt_str(body, "authorizerType")? {
                if rec["authorizerType"].as_str() != Some(t) {
                    return Err(bad(
                        "The authorizerType of an authorizer cannot be changed; create another.",
                    ));
                }
            }
            merge(&mut rec, body, &FIELDS);
            check_authorizer(&mut rec)?;
            tx.put(AUTHORIZER, id, aid, &rec);
            api.authorizers.insert(aid.to_string(), rec.clone());
            tx.redeploy = true;
            Ok(view(&rec))
        })
        .await
    }

    async fn delete_authorizer(&self, region: &str, id: &str, aid: &str) -> Result<()> {
        self.change(region, id, |api, tx, _| {
            if !api.authorizers.contains_key(aid) {
                return Err(authorizer_not_found(aid));
            }
            let users: Vec<&str> = api
                .routes
                .values()
                .filter(|r| r["authorizerId"].as_str() == Some(aid))
                .filter_map(|r| r["routeKey"].as_str())
                .collect();
            if !users.is_empty() {
                return Err(ApigwError::Conflict(format!(
                    "Authorizer {aid} is used by route(s) {}; change or delete them first.",
                    users.join(", ")
                )));
            }
            api.authorizers.remove(aid);
            tx.delete(AUTHORIZER, id, aid);
            tx.redeploy = true;
            Ok(())
        })
        .await
    }
}
