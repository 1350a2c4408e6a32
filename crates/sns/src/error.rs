//! Why an SNS call failed, and the one place that maps each failure to its HTTP status,
//! its query-protocol error code and the XML error body.

use crate::xml;
use http::StatusCode;
use wire::ApiResponse;

/// An SNS error; the variant names the AWS error shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnsError {
    #[error("{0}")]
    InvalidParameter(String),
    /// AWS's `InvalidParameterValueException`, whose code is `ParameterValueInvalid`.
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    InvalidAction(String),
    #[error("{0}")]
    MissingAction(String),
    #[error("{0}")]
    EmptyBatchRequest(String),
    #[error("{0}")]
    TooManyEntriesInBatchRequest(String),
    #[error("{0}")]
    BatchEntryIdsNotDistinct(String),
    #[error("{0}")]
    BatchRequestTooLong(String),
    #[error("{0}")]
    InvalidBatchEntryId(String),
    #[error("{0}")]
    TagLimitExceeded(String),
    #[error("{0}")]
    TopicLimitExceeded(String),
    #[error("{0}")]
    SubscriptionLimitExceeded(String),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, SnsError>;

impl From<store::StoreError> for SnsError {
    fn from(e: store::StoreError) -> Self {
        tracing::error!("SNS store write failed: {e}");
        Self::Internal("Internal Error".into())
    }
}

impl SnsError {
    /// The HTTP status and the query-protocol error code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        let bad = StatusCode::BAD_REQUEST;
        match self {
            Self::InvalidParameter(_) => (bad, "InvalidParameter"),
            Self::InvalidParameterValue(_) => (bad, "ParameterValueInvalid"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "NotFound"),
            Self::ResourceNotFound(_) => (StatusCode::NOT_FOUND, "ResourceNotFound"),
            Self::InvalidAction(_) => (bad, "InvalidAction"),
            Self::MissingAction(_) => (bad, "MissingAction"),
            Self::EmptyBatchRequest(_) => (bad, "EmptyBatchRequest"),
            Self::TooManyEntriesInBatchRequest(_) => (bad, "TooManyEntriesInBatchRequest"),
            Self::BatchEntryIdsNotDistinct(_) => (bad, "BatchEntryIdsNotDistinct"),
            Self::BatchRequestTooLong(_) => (bad, "BatchRequestTooLong"),
            Self::InvalidBatchEntryId(_) => (bad, "InvalidBatchEntryId"),
            Self::TagLimitExceeded(_) => (bad, "TagLimitExceeded"),
            Self::TopicLimitExceeded(_) => (StatusCode::FORBIDDEN, "TopicLimitExceeded"),
            Self::SubscriptionLimitExceeded(_) => {
                (StatusCode::FORBIDDEN, "SubscriptionLimitExceeded")
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        }
    }

    pub fn into_response(self) -> ApiResponse {
        let (status, code) = self.status_and_code();
        error_response(status, code, &self.to_string())
    }
}

/// An error in the query protocol's XML shape.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> ApiResponse {
    wire::response(
        status,
        "text/xml",
        xml::error_body(status, code, message, &wire::id::uuid4()),
    )
}
