//! S3's errors and their wire form: status, `<Code>`, message, all decided here.

use http::StatusCode;
use wire::ApiResponse;

/// An S3 error as the API answers it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct S3Error {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub resource: String,
}

pub type Result<T> = std::result::Result<T, S3Error>;

impl S3Error {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            resource: String::new(),
        }
    }

    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = resource.into();
        self
    }

    pub fn no_such_bucket(bucket: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist",
        )
        .with_resource(bucket)
    }

    pub fn no_such_key(key: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )
        .with_resource(key)
    }

    pub fn no_such_upload(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        )
        .with_resource(id)
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidArgument", message)
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidRequest", message)
    }

    pub fn malformed_xml() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    }

    pub fn not_implemented(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            format!("A header or query you provided implies functionality that is not implemented: Eddy does not implement {what} yet"),
        )
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!("s3 internal error: {message}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }

    /// The reply; HEAD replies carry no body, as S3 sends them.
    pub fn into_response(self, request_id: &str, head: bool) -> ApiResponse {
        let body = if head {
            String::new()
        } else {
            crate::xml::error_document(self.code, &self.message, &self.resource, request_id)
        };
        let mut r = wire::response(self.status, "application/xml", body);
        if let Ok(v) = http::HeaderValue::from_str(request_id) {
            r.headers_mut().insert("x-amz-request-id", v);
        }
        r
    }
}

impl From<store::StoreError> for S3Error {
    fn from(e: store::StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<std::io::Error> for S3Error {
    fn from(e: std::io::Error) -> Self {
        Self::internal(e)
    }
}
