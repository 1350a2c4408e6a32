//! Why an API Gateway v2 call failed, and how the rest-json protocol reports it: the
//! code in `x-amzn-ErrorType`, the text in the body's `message`.

use http::StatusCode;
use serde_json::json;
use wire::ApiResponse;

/// An API Gateway v2 error, one variant per AWS error code.
#[derive(Debug, thiserror::Error)]
pub enum ApigwError {
    #[error("{0}")]
    BadRequest(String),
    /// `resource_type` is what AWS puts in the body's `resourceType` (`Api`, `Route`, ...).
    #[error("{message}")]
    NotFound {
        message: String,
        resource_type: &'static str,
    },
    #[error("{0}")]
    Conflict(String),
    /// A quota (routes per API, APIs per region, ...) is used up.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        limit_type: &'static str,
    },
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    Internal(String),
}

impl ApigwError {
    pub(crate) fn not_found(resource_type: &'static str, message: String) -> Self {
        Self::NotFound {
            message,
            resource_type,
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "BadRequestException"),
            Self::NotFound { .. } => (StatusCode::NOT_FOUND, "NotFoundException"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "ConflictException"),
            Self::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException")
            }
            Self::NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, "NotImplemented"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
        }
    }

    /// The AWS error code (`NotFoundException`, ...).
    pub fn code(&self) -> &'static str {
        self.status_and_code().1
    }

    pub fn into_response(self) -> ApiResponse {
        let (status, code) = self.status_and_code();
        let mut body = json!({ "message": self.to_string() });
        match &self {
            Self::NotFound { resource_type, .. } => body["resourceType"] = json!(resource_type),
            Self::TooManyRequests { limit_type, .. } => body["limitType"] = json!(limit_type),
            _ => {}
        }
        error_response(status, code, &body)
    }
}

/// A rest-json error reply with `body`.
pub(crate) fn error_response(
    status: StatusCode,
    code: &str,
    body: &serde_json::Value,
) -> ApiResponse {
    let mut r = wire::json_response(status, body);
    if let Ok(v) = http::HeaderValue::from_str(code) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

impl From<store::StoreError> for ApigwError {
    fn from(e: store::StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, ApigwError>;

/// A 400 `BadRequestException` with `message`.
pub(crate) fn bad(message: impl Into<String>) -> ApigwError {
    ApigwError::BadRequest(message.into())
}

/// No `resource_type` (`Route`, `Resource`, ...) has the identifier `id`.
pub(crate) fn invalid_identifier(resource_type: &'static str, id: &str) -> ApigwError {
    ApigwError::not_found(
        resource_type,
        format!("Invalid {resource_type} identifier specified {id}"),
    )
}

/// No API (of `resource_type`: `Api` or `RestApi`) has the identifier `id`.
pub(crate) fn api_not_found(resource_type: &'static str, id: &str) -> ApigwError {
    ApigwError::not_found(
        resource_type,
        format!("Invalid API identifier specified {}:{id}", wire::ACCOUNT_ID),
    )
}

/// The quota on `what` (at most `max`) is used up.
pub(crate) fn quota(limit_type: &'static str, what: &str, max: usize) -> ApigwError {
    ApigwError::TooManyRequests {
        message: format!("The maximum number of {what} ({max}) has been reached."),
        limit_type,
    }
}
