//! HTTP APIs' authorizers, run before a route's integration: Lambda (`CUSTOM` routes)
//! and JWT. The decisions themselves are `gateway::authorizer` and `gateway::jwt`
//! (pure); this module does their IO: invoking the authorizer function, fetching key
//! sets, and caching both.
//!
//! Eddy extension: a JWT authorizer's issuer may be a `file://` URL, read as either a
//! discovery document (with `jwks_uri`) or a key set, so tokens can be checked offline;
//! `jwks_uri` may be `file://` too. Key sets are fetched over `https://` or `http://`.

use apigw::{AuthorizerKind, RouteTarget};
use bytes::Bytes;
use gateway::authorizer::{self as lambda_auth, Decision, TtlCache};
use gateway::jwt::{self, Jwks, JwtError, Token};
use gateway::{EventContext, HttpRequest, HttpResponse};
use http_body_util::{BodyExt, Empty, Limited};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wire::time::Clock;

/// Lambda authorizer answers kept for their TTL, across all APIs.
/// The largest authorizer answer (with its cache key) the result cache keeps.
const CACHED_ANSWER_BYTES_MAX: usize = 64 * 1024;
const RESULTS_CACHED_MAX: usize = 10_000;
/// Issuers whose key sets are kept.
const KEY_SETS_CACHED_MAX: usize = 64;
/// How long a key set is used before it is fetched again.
const KEY_SET_TTL_MS: i64 = 5 * 60 * 1000;
/// A token naming an unknown key fetches the set again, at most this often per issuer.
const KEY_SET_REFRESH_MS_MIN: i64 = 10 * 1000;
/// The longest wait for a discovery document or key set.
const KEY_SET_FETCH_TIMEOUT_MS: u64 = 5_000;
/// The largest discovery document or key set read.
const KEY_SET_BYTES_MAX: usize = 1024 * 1024;

/// The authorizers' caches.
pub(crate) struct AuthState {
    clock: Arc<dyn Clock>,
    /// Lambda authorizer answers by API, authorizer and identity. The raw answer is
    /// kept, not the decision: an IAM policy is judged again for each route it is
    /// asked about, as API Gateway does. A std mutex: held only to read or insert.
    results: Mutex<TtlCache<Bytes>>,
    /// Key sets by issuer, with when they were fetched. Held only to read or insert;
    /// two requests may fetch the same set at once, which is harmless.
    key_sets: Mutex<HashMap<String, (i64, Arc<Jwks>)>>,
}

impl AuthState {
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            results: Mutex::new(TtlCache::new(RESULTS_CACHED_MAX)),
            key_sets: Mutex::new(HashMap::new()),
        }
    }
}

fn internal_error() -> HttpResponse {
    gateway::function_error()
}

impl crate::FrontDoors {
    /// Runs the route's authorizer, if it has one: `Ok` with the
    /// `requestContext.authorizer` for the integration's event, or the answer that ends
    /// the request (401, 403, 500).
    pub(crate) async fn authorize(
        &self,
        target: &RouteTarget,
        req: &HttpRequest,
        ctx: &EventContext,
    ) -> Result<Option<Value>, HttpResponse> {
        if !matches!(target.authorization_type.as_str(), "CUSTOM" | "JWT") {
            return Ok(None);
        }
        let Some(authorizer) = &target.authorizer else {
            tracing::warn!(
                "API {} route {}: its authorizer is missing",
                target.api_id,
                target.route_key
            );
            return Err(internal_error());
        };
        match &authorizer.kind {
            AuthorizerKind::Lambda {
                function_arn,
                payload_format_version,
                simple_responses,
                result_ttl_s,
                timeout_ms,
            } => {
                let identity = lambda_auth::identity_values(&authorizer.identity_sources, req, ctx)
                    .ok_or_else(lambda_auth::unauthorized)?;
                let arn = lambda_auth::route_arn(
                    &target.region,
                    wire::ACCOUNT_ID,
                    &target.api_id,
                    &target.stage,
                    &req.method,
                    &target.path,
                );
                let v1 = payload_format_version == "1.0";
                // Without identity sources there is nothing to key a cache on.
                let key = (*result_ttl_s > 0 && !identity.is_empty()).then(|| {
                    format!(
                        "{}\n{}\n{}",
                        target.api_id,
                        authorizer.id,
                        identity.join("\n")
                    )
                });
                let now_ms = self.auth.clock.now_ms();
                let cached = key.as_ref().and_then(|k| {
                    let results = self.auth.results.lock().unwrap_or_else(|e| e.into_inner());
                    results.get(k, now_ms)
                });
                let payload = match cached {
                    Some(p) => p,
                    None => {
                        let event = if v1 {
                            lambda_auth::authorizer_event_v1(req, ctx, &arn, &identity)
                        } else {
                            lambda_auth::authorizer_event_v2(req, ctx, &arn, &identity)
                        };
                        let p = self
                            .invoke_authorizer(target, function_arn, event, *timeout_ms)
                            .await?;
                        // Answers and keys come from outside: only modest ones are kept.
                        if let Some(k) =
                            key.filter(|k| p.len() + k.len() <= CACHED_ANSWER_BYTES_MAX)
                        {
                            let expires_ms = now_ms + *result_ttl_s as i64 * 1000;
                            let mut results =
                                self.auth.results.lock().unwrap_or_else(|e| e.into_inner());
                            results.insert(k, p.clone(), expires_ms, now_ms);
                        }
                        p
                    }
                };
                match lambda_auth::decide(&payload, *simple_responses && !v1, &arn) {
                    Ok(Decision::Allow { context }) => Ok(Some(json!({ "lambda": context }))),
                    Ok(Decision::Deny) => Err(lambda_auth::forbidden()),
                    Err(e) => {
                        tracing::warn!("API {} authorizer {}: {e}", target.api_id, authorizer.id);
                        Err(internal_error())
                    }
                }
            }
            AuthorizerKind::Jwt { issuer, audience } => {
                let default = [apigw::JWT_IDENTITY_DEFAULT.to_string()];
                let sources = if authorizer.identity_sources.is_empty() {
                    &default[..]
                } else {
                    &authorizer.identity_sources[..]
                };
                let value = lambda_auth::identity_values(sources, req, ctx)
                    .and_then(|v| v.into_iter().next())
                    .ok_or_else(lambda_auth::unauthorized)?;
                let token = Token::parse(jwt::bearer_token(&value))
                    .map_err(|_| lambda_auth::unauthorized())?;
                let checked = self.check_jwt(&token, issuer, audience).await;
                if let Err(e) = checked {
                    tracing::debug!("API {} JWT refused: {e}", target.api_id);
                    return Err(lambda_auth::unauthorized());
                }
                if !jwt::scopes_allow(&target.authorization_scopes, &token.scopes()) {
                    return Err(lambda_auth::forbidden());
                }
                Ok(Some(token.authorizer_context()))
            }
        }
    }

    async fn invoke_authorizer(
        &self,
        target: &RouteTarget,
        function_arn: &str,
        event: Value,
        timeout_ms: u64,
    ) -> Result<Bytes, HttpResponse> {
        let call = self
            .lambda
            .invoke_for_http(function_arn, event.to_string().into_bytes(), false);
        match tokio::time::timeout(Duration::from_millis(timeout_ms), call).await {
            Ok(Ok(r)) if !r.function_error => Ok(r.payload),
            Ok(Ok(_)) => Err(internal_error()),
            Err(_) => Err(internal_error()),
            Ok(Err(e)) => {
                tracing::warn!(
                    "API {} route {} authorizer {function_arn}: {e:?}",
                    target.api_id,
                    target.route_key
                );
                Err(internal_error())
            }
        }
    }

    /// Verifies the token's signature against the issuer's keys (fetched again once when
    /// the token names a key not in the cached set) and checks its claims.
    async fn check_jwt(
        &self,
        token: &Token,
        issuer: &str,
        audience: &[String],
    ) -> Result<(), JwtError> {
        let now_ms = self.auth.clock.now_ms();
        let cached = {
            let sets = self.auth.key_sets.lock().unwrap_or_else(|e| e.into_inner());
            sets.get(issuer).cloned()
        };
        let fresh = |fetched_ms: i64, set: &Jwks| {
            now_ms - fetched_ms < KEY_SET_TTL_MS
                && (set.has_kid(token.kid.as_deref())
                    || now_ms - fetched_ms < KEY_SET_REFRESH_MS_MIN)
        };
        let jwks = match cached {
            Some((fetched_ms, set)) if fresh(fetched_ms, &set) => set,
            _ => {
                let set = Arc::new(load_key_set(issuer).await.map_err(|e| {
                    tracing::warn!("JWT issuer {issuer}: {e}");
                    JwtError::Jwks(e)
                })?);
                let mut sets = self.auth.key_sets.lock().unwrap_or_else(|e| e.into_inner());
                if sets.len() >= KEY_SETS_CACHED_MAX && !sets.contains_key(issuer) {
                    let oldest = sets
                        .iter()
                        .min_by_key(|(_, (t, _))| *t)
                        .map(|(k, _)| k.clone());
                    if let Some(k) = oldest {
                        sets.remove(&k);
                    }
                }
                sets.insert(issuer.to_string(), (now_ms, set.clone()));
                set
            }
        };
        token.verify_signature(&jwks)?;
        token.check_claims(issuer, audience, now_ms.div_euclid(1000))
    }
}

/// The issuer's key set: from its discovery document's `jwks_uri`, or for a `file://`
/// issuer, the file itself when it is a key set.
async fn load_key_set(issuer: &str) -> Result<Jwks, String> {
    let doc = if issuer.starts_with("file://") {
        fetch(issuer).await?
    } else {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        fetch(&url).await?
    };
    let v: Value =
        serde_json::from_slice(&doc).map_err(|_| "the discovery document is not JSON")?;
    if v.get("keys").is_some() {
        return Jwks::parse(&doc).map_err(|e| e.to_string());
    }
    let uri = v["jwks_uri"]
        .as_str()
        .ok_or("the discovery document has no jwks_uri")?;
    Jwks::parse(&fetch(uri).await?).map_err(|e| e.to_string())
}

/// Reads a `file://` or `http://` URL, within the size and time limits.
async fn fetch(url: &str) -> Result<Bytes, String> {
    let timeout = Duration::from_millis(KEY_SET_FETCH_TIMEOUT_MS);
    if let Some(path) = url.strip_prefix("file://") {
        let path = wire::percent_decode(path);
        let read = async {
            let meta = tokio::fs::metadata(&path)
                .await
                .map_err(|e| format!("{path}: {e}"))?;
            if meta.len() > KEY_SET_BYTES_MAX as u64 {
                return Err(format!("{path} is larger than {KEY_SET_BYTES_MAX} bytes"));
            }
            tokio::fs::read(&path)
                .await
                .map(Bytes::from)
                .map_err(|e| format!("{path}: {e}"))
        };
        return tokio::time::timeout(timeout, read)
            .await
            .map_err(|_| format!("reading {path} timed out"))?;
    }
    tokio::time::timeout(timeout, http_get(url))
        .await
        .map_err(|_| format!("{url} timed out"))?
}

async fn http_get(url: &str) -> Result<Bytes, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let mut sender = outbound::connect(&uri).await?;
    let req = http::Request::get(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header(http::header::HOST, outbound::host_header(&uri))
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("{url} answered {}", resp.status()));
    }
    Limited::new(resp.into_body(), KEY_SET_BYTES_MAX)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .map_err(|e| format!("{url}: {e}"))
}
