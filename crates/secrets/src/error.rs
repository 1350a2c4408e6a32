//! Why a Secrets Manager call failed, and the one place that maps each failure to its HTTP
//! status and AWS error code.

use http::StatusCode;
use wire::ApiResponse;

/// AWS's words for a secret that does not exist (or no longer does).
pub const SECRET_NOT_FOUND: &str = "Secrets Manager can't find the specified secret.";
/// AWS's words for a call that a secret scheduled for deletion refuses.
pub const MARKED_FOR_DELETION: &str =
    "You can't perform this operation on the secret because it was marked for deletion.";
/// AWS's words for a client request token that names a version with other contents.
pub const VERSION_EXISTS: &str = "A resource with the ID you requested already exists.";
/// AWS's words for LimitExceededException.
pub const QUOTA_EXCEEDED: &str =
    "The request failed because it would exceed one of the Secrets Manager quotas.";

/// A Secrets Manager error. Messages never contain secret values.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// `ResourceNotFoundException`.
    #[error("{0}")]
    NotFound(String),
    /// `InvalidParameterException`: a parameter value is not valid.
    #[error("{0}")]
    InvalidParameter(String),
    /// `InvalidRequestException`: not valid for the secret's current state.
    #[error("{0}")]
    InvalidRequest(String),
    /// `ResourceExistsException`.
    #[error("{0}")]
    Exists(String),
    /// `LimitExceededException`.
    #[error("{0}")]
    LimitExceeded(String),
    /// `ValidationException`: the request does not fit the API's model (lengths, enums).
    #[error("{0}")]
    Validation(String),
    /// `InvalidNextTokenException`.
    #[error("{0}")]
    InvalidNextToken(String),
    /// `AccessDeniedException`.
    #[error("{0}")]
    AccessDenied(String),
    /// `DecryptionFailure`: a stored value does not open with this server's master key.
    #[error("{0}")]
    Decryption(String),
    /// `NotImplemented` (HTTP 501).
    #[error("{0}")]
    NotImplemented(String),
    /// `InternalServiceError`.
    #[error("{0}")]
    Internal(String),
}

impl SecretsError {
    pub fn not_found() -> Self {
        Self::NotFound(SECRET_NOT_FOUND.into())
    }

    pub fn marked_for_deletion() -> Self {
        Self::InvalidRequest(MARKED_FOR_DELETION.into())
    }

    /// The status and AWS error code of this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::NotFound(_) => (StatusCode::BAD_REQUEST, "ResourceNotFoundException"),
            Self::InvalidParameter(_) => (StatusCode::BAD_REQUEST, "InvalidParameterException"),
            Self::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "InvalidRequestException"),
            Self::Exists(_) => (StatusCode::BAD_REQUEST, "ResourceExistsException"),
            Self::LimitExceeded(_) => (StatusCode::BAD_REQUEST, "LimitExceededException"),
            Self::Validation(_) => (StatusCode::BAD_REQUEST, "ValidationException"),
            Self::InvalidNextToken(_) => (StatusCode::BAD_REQUEST, "InvalidNextTokenException"),
            Self::AccessDenied(_) => (StatusCode::BAD_REQUEST, "AccessDeniedException"),
            Self::Decryption(_) => (StatusCode::BAD_REQUEST, "DecryptionFailure"),
            Self::NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, "NotImplemented"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServiceError"),
        }
    }

    /// The json 1.1 reply.
    pub fn into_response(self) -> ApiResponse {
        let (status, code) = self.status_and_code();
        wire::aws_json_error(status, code, &self.to_string())
    }
}

impl From<store::StoreError> for SecretsError {
    fn from(e: store::StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, SecretsError>;
