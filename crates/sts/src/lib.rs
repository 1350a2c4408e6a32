//! STS (query protocol, `sts/2011-06-15`): GetCallerIdentity, and AssumeRole issuing
//! temporary credentials the edge accepts until they expire.

use http::StatusCode;
use std::sync::Arc;
use wire::identity::{Credentials, Principal};
use wire::query::escape;
use wire::time::Clock;
use wire::{ApiRequest, ApiResponse, BoxFuture};

const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
/// AssumeRole's DurationSeconds bounds and default (AWS's).
const DURATION_S_MIN: i64 = 900;
const DURATION_S_MAX: i64 = 43_200;
const DURATION_S_DEFAULT: i64 = 3600;

/// The STS API.
pub struct Sts {
    credentials: Arc<Credentials>,
    clock: Arc<dyn Clock>,
}

impl Sts {
    pub fn new(credentials: Arc<Credentials>, clock: Arc<dyn Clock>) -> Self {
        Self { credentials, clock }
    }
}

fn reply(action: &str, result: &str, request_id: &str) -> ApiResponse {
    wire::query::reply(NS, action, result, request_id)
}

/// An STS error in the query protocol's XML shape.
pub fn error(status: StatusCode, code: &str, message: &str) -> ApiResponse {
    wire::query::error(NS, status, code, message)
}

fn validation(message: String) -> ApiResponse {
    error(StatusCode::BAD_REQUEST, "ValidationError", &message)
}

/// The role ARN checks AssumeRole makes: an IAM role of this account.
fn role_arn_ok(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts[..], ["arn", "aws", "iam", "", account, res]
        if account == wire::ACCOUNT_ID && res.strip_prefix("role/").is_some_and(|n| !n.is_empty()))
}

fn session_name_ok(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=,.@-_".contains(&b))
}

impl Sts {
    fn get_caller_identity(&self, req: &ApiRequest) -> ApiResponse {
        let user_id = match req.caller.as_ref() {
            Principal::Root | Principal::Anonymous => wire::ACCOUNT_ID.to_string(),
            Principal::Function { function_name, .. } => {
                format!("AROA{}:{function_name}", role_id())
            }
            Principal::AssumedRole { session_name, .. } => {
                format!("AROA{}:{session_name}", role_id())
            }
        };
        reply(
            "GetCallerIdentity",
            &format!(
                "<Arn>{}</Arn><UserId>{}</UserId><Account>{}</Account>",
                escape(&req.caller.arn()),
                escape(&user_id),
                wire::ACCOUNT_ID
            ),
            &req.request_id,
        )
    }

    fn assume_role(&self, req: &ApiRequest, params: &[(String, String)]) -> ApiResponse {
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let Some(role_arn) = get("RoleArn") else {
            return validation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null".into());
        };
        let Some(session) = get("RoleSessionName") else {
            return validation("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null".into());
        };
        if !role_arn_ok(role_arn) {
            return validation(format!("{role_arn} is invalid"));
        }
        if !session_name_ok(session) {
            return validation(format!(
                "1 validation error detected: Value '{session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
            ));
        }
        let duration = match get("DurationSeconds").map(str::parse::<i64>) {
            None => DURATION_S_DEFAULT,
            Some(Ok(d)) if (DURATION_S_MIN..=DURATION_S_MAX).contains(&d) => d,
            Some(_) => {
                return validation(format!(
                    "The requested DurationSeconds exceeds the allowed range of {DURATION_S_MIN} to {DURATION_S_MAX} seconds."
                ))
            }
        };
        let now = self.clock.now_ms();
        let expires = now + duration * 1000;
        let principal = Principal::AssumedRole {
            role_arn: role_arn.to_string(),
            session_name: session.to_string(),
        };
        let arn = principal.arn();
        let Some(issued) = self.credentials.issue(principal, Some(expires), now) else {
            return error(
                StatusCode::BAD_REQUEST,
                "LimitExceeded",
                "Too many temporary credentials are alive; try again later.",
            );
        };
        reply(
            "AssumeRole",
            &format!(
                "<Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
                 <SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials>\
                 <AssumedRoleUser><AssumedRoleId>AROA{}:{}</AssumedRoleId><Arn>{}</Arn></AssumedRoleUser>\
                 <PackedPolicySize>0</PackedPolicySize>",
                issued.access_key_id,
                escape(&issued.secret_access_key),
                escape(&issued.session_token),
                wire::time::iso8601(expires),
                role_id(),
                escape(session),
                escape(&arn)
            ),
            &req.request_id,
        )
    }
}

/// The unique id part of role ids (AWS's are per role; one stands for all here).
fn role_id() -> &'static str {
    "EDDY0000000000000000"
}

impl wire::Service for Sts {
    fn handle(&self, req: ApiRequest) -> BoxFuture<'_, ApiResponse> {
        Box::pin(async move {
            let mut params = req.query.clone();
            if !req.body.is_empty() {
                params.extend(wire::parse_form(&req.body));
            }
            let action = params
                .iter()
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            match action.as_str() {
                "GetCallerIdentity" => self.get_caller_identity(&req),
                "AssumeRole" => self.assume_role(&req, &params),
                "" => error(StatusCode::BAD_REQUEST, "MissingAction", "Missing Action"),
                other => error(
                    StatusCode::NOT_IMPLEMENTED,
                    "NotImplemented",
                    &format!("Eddy does not implement the STS action {other} yet."),
                ),
            }
        })
    }

    fn error(&self, status: StatusCode, code: &str, message: &str) -> ApiResponse {
        error(status, code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        assert!(role_arn_ok("arn:aws:iam::000000000000:role/app"));
        assert!(role_arn_ok("arn:aws:iam::000000000000:role/path/app"));
        assert!(!role_arn_ok("arn:aws:iam::111111111111:role/app"));
        assert!(!role_arn_ok("arn:aws:iam::000000000000:user/app"));
        assert!(session_name_ok("my-session.1"));
        assert!(!session_name_ok("x"));
        assert!(!session_name_ok("has space"));
        assert_eq!(escape("a<b&\"c\""), "a&lt;b&amp;&quot;c&quot;");
    }
}
