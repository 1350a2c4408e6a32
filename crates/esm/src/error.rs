//! Errors of the event source mapping operations, in Lambda's wire form.

use http::StatusCode;
use wire::ApiResponse;

#[derive(Debug, thiserror::Error)]
pub enum EsmError {
    #[error("The resource you requested does not exist.")]
    NotFound,
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidRequestContent(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    Service(String),
    /// Lambda's own answer (the function named does not exist, or its name is malformed).
    #[error("the function was refused")]
    Lambda(Box<ApiResponse>),
}

impl EsmError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::NotFound => (StatusCode::NOT_FOUND, "ResourceNotFoundException"),
            Self::InvalidParameter(_) => {
                (StatusCode::BAD_REQUEST, "InvalidParameterValueException")
            }
            Self::Validation(_) => (StatusCode::BAD_REQUEST, "ValidationException"),
            Self::InvalidRequestContent(_) => {
                (StatusCode::BAD_REQUEST, "InvalidRequestContentException")
            }
            Self::Conflict(_) => (StatusCode::CONFLICT, "ResourceConflictException"),
            Self::NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, "NotImplemented"),
            Self::Service(_) | Self::Lambda(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "ServiceException")
            }
        }
    }

    pub fn into_response(self) -> ApiResponse {
        match self {
            Self::Lambda(r) => *r,
            other => {
                let (status, code) = other.status_and_code();
                wire::rest_json_error(status, code, &other.to_string())
            }
        }
    }
}

impl From<store::StoreError> for EsmError {
    fn from(e: store::StoreError) -> Self {
        Self::Service(format!("storage failure: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, EsmError>;
