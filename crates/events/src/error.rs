//! Why an EventBridge or Scheduler call failed, and how each protocol reports it.

use http::StatusCode;
use wire::ApiResponse;

/// An EventBridge or Scheduler error. Both APIs use the same codes for the same failures;
/// only the wire shape differs (json 1.1 against rest-json).
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// Scheduler's name for an existing resource, or a resource in use.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidPattern(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    Internal(String),
}

impl EventsError {
    fn status_and_code(&self, scheduler: bool) -> (StatusCode, &'static str) {
        match self {
            Self::Validation(_) => (StatusCode::BAD_REQUEST, "ValidationException"),
            Self::NotFound(_) if scheduler => (StatusCode::NOT_FOUND, "ResourceNotFoundException"),
            Self::NotFound(_) => (StatusCode::BAD_REQUEST, "ResourceNotFoundException"),
            Self::AlreadyExists(_) => (StatusCode::BAD_REQUEST, "ResourceAlreadyExistsException"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "ConflictException"),
            Self::InvalidPattern(_) => (StatusCode::BAD_REQUEST, "InvalidEventPatternException"),
            Self::LimitExceeded(_) if scheduler => (
                StatusCode::PAYMENT_REQUIRED,
                "ServiceQuotaExceededException",
            ),
            Self::LimitExceeded(_) => (StatusCode::BAD_REQUEST, "LimitExceededException"),
            Self::InvalidState(_) => (StatusCode::BAD_REQUEST, "InvalidStateException"),
            Self::NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, "NotImplemented"),
            Self::Internal(_) if scheduler => {
                (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException")
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalException"),
        }
    }

    /// The json 1.1 reply (EventBridge).
    pub fn into_events_response(self) -> ApiResponse {
        let (status, code) = self.status_and_code(false);
        wire::aws_json_error(status, code, &self.to_string())
    }

    /// The rest-json reply (Scheduler), whose body carries `Message`.
    pub fn into_scheduler_response(self) -> ApiResponse {
        let (status, code) = self.status_and_code(true);
        let body = serde_json::json!({ "Message": self.to_string() });
        let mut r = wire::json_response(status, &body);
        if let Ok(v) = http::HeaderValue::from_str(code) {
            r.headers_mut().insert("x-amzn-errortype", v);
        }
        r
    }
}

impl From<store::StoreError> for EventsError {
    fn from(e: store::StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, EventsError>;
