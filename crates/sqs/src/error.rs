//! Why an SQS call failed, and the one place that maps each failure to its HTTP status,
//! its json error type and the query-protocol code AWS repeats in `x-amzn-query-error`.

use http::{HeaderValue, StatusCode};
use wire::ApiResponse;

/// An SQS error; the variant names the AWS error shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqsError {
    #[error("The specified queue does not exist.")]
    QueueDoesNotExist,
    #[error("{0}")]
    QueueNameExists(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    InvalidAttributeName(String),
    #[error("{0}")]
    InvalidAttributeValue(String),
    #[error("{0}")]
    MissingParameter(String),
    #[error("{0}")]
    InvalidMessageContents(String),
    #[error("{0}")]
    ReceiptHandleIsInvalid(String),
    #[error("{0}")]
    MessageNotInflight(String),
    #[error("{0}")]
    TooManyEntriesInBatchRequest(String),
    #[error("{0}")]
    EmptyBatchRequest(String),
    #[error("{0}")]
    BatchEntryIdsNotDistinct(String),
    #[error("{0}")]
    BatchRequestTooLong(String),
    #[error("{0}")]
    InvalidBatchEntryId(String),
    #[error("{0}")]
    PurgeQueueInProgress(String),
    #[error("{0}")]
    OverLimit(String),
    #[error("{0}")]
    Serialization(String),
    #[error("{0}")]
    NotImplemented(String),
    /// A well-formed request SQS does not allow here (an operation on the wrong kind of
    /// queue, a second move task).
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    Internal(String),
}

impl SqsError {
    /// The HTTP status, the json error type and the query-protocol error code.
    pub fn status_and_codes(&self) -> (StatusCode, &'static str, &'static str) {
        let bad = StatusCode::BAD_REQUEST;
        match self {
            Self::QueueDoesNotExist => (
                bad,
                "QueueDoesNotExist",
                "AWS.SimpleQueueService.NonExistentQueue",
            ),
            Self::QueueNameExists(_) => (bad, "QueueNameExists", "QueueAlreadyExists"),
            Self::InvalidParameterValue(_) => (
                bad,
                "InvalidParameterValueException",
                "InvalidParameterValue",
            ),
            Self::InvalidAttributeName(_) => (bad, "InvalidAttributeName", "InvalidAttributeName"),
            Self::InvalidAttributeValue(_) => {
                (bad, "InvalidAttributeValue", "InvalidAttributeValue")
            }
            Self::MissingParameter(_) => {
                (bad, "MissingRequiredParameterException", "MissingParameter")
            }
            Self::InvalidMessageContents(_) => {
                (bad, "InvalidMessageContents", "InvalidMessageContents")
            }
            Self::ReceiptHandleIsInvalid(_) => {
                (bad, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid")
            }
            Self::MessageNotInflight(_) => (
                bad,
                "MessageNotInflight",
                "AWS.SimpleQueueService.MessageNotInflight",
            ),
            Self::TooManyEntriesInBatchRequest(_) => (
                bad,
                "TooManyEntriesInBatchRequest",
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            ),
            Self::EmptyBatchRequest(_) => (
                bad,
                "EmptyBatchRequest",
                "AWS.SimpleQueueService.EmptyBatchRequest",
            ),
            Self::BatchEntryIdsNotDistinct(_) => (
                bad,
                "BatchEntryIdsNotDistinct",
                "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            ),
            Self::BatchRequestTooLong(_) => (
                bad,
                "BatchRequestTooLong",
                "AWS.SimpleQueueService.BatchRequestTooLong",
            ),
            Self::InvalidBatchEntryId(_) => (
                bad,
                "InvalidBatchEntryId",
                "AWS.SimpleQueueService.InvalidBatchEntryId",
            ),
            Self::PurgeQueueInProgress(_) => (
                bad,
                "PurgeQueueInProgress",
                "AWS.SimpleQueueService.PurgeQueueInProgress",
            ),
            Self::OverLimit(_) => (bad, "OverLimit", "OverLimit"),
            Self::Serialization(_) => (bad, "SerializationException", "SerializationException"),
            Self::NotImplemented(_) => (
                StatusCode::NOT_IMPLEMENTED,
                "UnsupportedOperation",
                "AWS.SimpleQueueService.UnsupportedOperation",
            ),
            Self::Unsupported(_) => (
                bad,
                "UnsupportedOperation",
                "AWS.SimpleQueueService.UnsupportedOperation",
            ),
            Self::ResourceNotFound(_) => (
                bad,
                "ResourceNotFoundException",
                "ResourceNotFoundException",
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "InternalError",
            ),
        }
    }

    /// The json 1.0 reply, with the `x-amzn-query-error` header SDKs of the query
    /// protocol era read their error code from (`awsQueryCompatible`).
    pub fn into_response(self) -> ApiResponse {
        let (status, ty, query_code) = self.status_and_codes();
        error_response(status, ty, query_code, &self.to_string())
    }
}

/// An SQS error reply.
pub fn error_response(
    status: StatusCode,
    ty: &str,
    query_code: &str,
    message: &str,
) -> ApiResponse {
    let body =
        serde_json::json!({ "__type": format!("com.amazonaws.sqs#{ty}"), "message": message });
    let mut r = wire::response(
        status,
        crate::JSON_1_0,
        serde_json::to_vec(&body).unwrap_or_default(),
    );
    let fault = if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{query_code};{fault}")) {
        r.headers_mut().insert("x-amzn-query-error", v);
    }
    if let Ok(v) = HeaderValue::from_str(ty) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

impl From<store::StoreError> for SqsError {
    fn from(e: store::StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, SqsError>;
