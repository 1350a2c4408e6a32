//! Lambda's errors and their wire form: status, the AWS code in `x-amzn-ErrorType`, and
//! the message, all decided here and nowhere else.

use http::StatusCode;
use wire::ApiResponse;

/// Why a Lambda API call failed.
#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    RequestTooLarge(String),
    #[error("{0}")]
    InvalidRequestContent(String),
    #[error("Rate Exceeded.")]
    Throttled(&'static str),
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    Service(String),
}

impl LambdaError {
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "ResourceNotFoundException"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "ResourceConflictException"),
            Self::InvalidParameter(_) => {
                (StatusCode::BAD_REQUEST, "InvalidParameterValueException")
            }
            Self::Validation(_) => (StatusCode::BAD_REQUEST, "ValidationException"),
            Self::PreconditionFailed(_) => (
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailedException",
            ),
            Self::RequestTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLargeException"),
            Self::InvalidRequestContent(_) => {
                (StatusCode::BAD_REQUEST, "InvalidRequestContentException")
            }
            Self::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException"),
            Self::NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, "NotImplemented"),
            Self::Service(_) => (StatusCode::INTERNAL_SERVER_ERROR, "ServiceException"),
        }
    }

    pub fn into_response(self) -> ApiResponse {
        let (status, code) = self.status_and_code();
        let mut r = wire::rest_json_error(status, code, &self.to_string());
        if let Self::Throttled(reason) = self {
            let body = serde_json::json!({
                "Type": "User", "message": "Rate Exceeded.", "Reason": reason
            });
            *r.body_mut() = serde_json::to_vec(&body).unwrap_or_default().into();
        }
        r
    }
}

impl From<store::StoreError> for LambdaError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::Conflict => Self::Conflict("Resource already exists".into()),
            other => Self::Service(format!("storage failure: {other}")),
        }
    }
}

pub type Result<T> = std::result::Result<T, LambdaError>;
