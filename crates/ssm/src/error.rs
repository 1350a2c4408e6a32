//! Why a Parameter Store call failed, and the one place that maps each failure to its HTTP
//! status and AWS error code.

use http::StatusCode;
use wire::ApiResponse;

/// A Parameter Store error; the variant names the AWS error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsmError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Serialization(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    ParameterNotFound(String),
    #[error("The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")]
    ParameterAlreadyExists,
    #[error("{0}")]
    ParameterVersionNotFound(String),
    #[error("{0}")]
    ParameterMaxVersionLimitExceeded(String),
    #[error("{0}")]
    ParameterVersionLabelLimitExceeded(String),
    #[error("{0}")]
    ParameterLimitExceeded(String),
    #[error("{0}")]
    HierarchyLevelLimitExceeded(String),
    #[error("{0}")]
    InvalidAllowedPattern(String),
    #[error("{0}")]
    ParameterPatternMismatch(String),
    #[error("{0}")]
    UnsupportedParameterType(String),
    #[error("{0}")]
    InvalidKeyId(String),
    #[error("{0}")]
    InvalidFilterKey(String),
    #[error("{0}")]
    InvalidFilterOption(String),
    #[error("{0}")]
    InvalidFilterValue(String),
    #[error("{0}")]
    InvalidNextToken(String),
    #[error("{0}")]
    InvalidResourceId(String),
    #[error("{0}")]
    InvalidResourceType(String),
    #[error("{0}")]
    TooManyTags(String),
    #[error("{0}")]
    InvalidPolicyType(String),
    #[error("{0}")]
    InvalidPolicyAttribute(String),
    #[error("{0}")]
    PoliciesLimitExceeded(String),
    #[error("{0}")]
    IncompatiblePolicy(String),
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    Internal(String),
}

impl SsmError {
    /// The HTTP status and AWS error code of this failure.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        let bad = StatusCode::BAD_REQUEST;
        match self {
            Self::Validation(_) => (bad, "ValidationException"),
            Self::Serialization(_) => (bad, "SerializationException"),
            Self::AccessDenied(_) => (bad, "AccessDeniedException"),
            Self::ParameterNotFound(_) => (bad, "ParameterNotFound"),
            Self::ParameterAlreadyExists => (bad, "ParameterAlreadyExists"),
            Self::ParameterVersionNotFound(_) => (bad, "ParameterVersionNotFound"),
            Self::ParameterMaxVersionLimitExceeded(_) => (bad, "ParameterMaxVersionLimitExceeded"),
            Self::ParameterVersionLabelLimitExceeded(_) => {
                (bad, "ParameterVersionLabelLimitExceeded")
            }
            Self::ParameterLimitExceeded(_) => (bad, "ParameterLimitExceeded"),
            Self::HierarchyLevelLimitExceeded(_) => (bad, "HierarchyLevelLimitExceededException"),
            Self::InvalidAllowedPattern(_) => (bad, "InvalidAllowedPatternException"),
            Self::ParameterPatternMismatch(_) => (bad, "ParameterPatternMismatchException"),
            Self::UnsupportedParameterType(_) => (bad, "UnsupportedParameterType"),
            Self::InvalidKeyId(_) => (bad, "InvalidKeyId"),
            Self::InvalidFilterKey(_) => (bad, "InvalidFilterKey"),
            Self::InvalidFilterOption(_) => (bad, "InvalidFilterOption"),
            Self::InvalidFilterValue(_) => (bad, "InvalidFilterValue"),
            Self::InvalidNextToken(_) => (bad, "InvalidNextToken"),
            Self::InvalidResourceId(_) => (bad, "InvalidResourceId"),
            Self::InvalidResourceType(_) => (bad, "InvalidResourceType"),
            Self::TooManyTags(_) => (bad, "TooManyTagsError"),
            Self::InvalidPolicyType(_) => (bad, "InvalidPolicyTypeException"),
            Self::InvalidPolicyAttribute(_) => (bad, "InvalidPolicyAttributeException"),
            Self::PoliciesLimitExceeded(_) => (bad, "PoliciesLimitExceededException"),
            Self::IncompatiblePolicy(_) => (bad, "IncompatiblePolicyException"),
            Self::NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, "NotImplemented"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
        }
    }

    /// The json 1.1 reply.
    pub fn into_response(self) -> ApiResponse {
        let (status, code) = self.status_and_code();
        wire::aws_json_error(status, code, &self.to_string())
    }

    /// AWS's validation-layer message for a member that fails a constraint.
    pub fn constraint(value: &str, field: &str, constraint: &str) -> Self {
        Self::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ))
    }

    /// The same for a sensitive member, whose value AWS leaves out of the message.
    pub fn sensitive_constraint(field: &str, constraint: &str) -> Self {
        Self::Validation(format!(
            "1 validation error detected: Value at '{field}' failed to satisfy constraint: {constraint}"
        ))
    }

    /// A required member that is missing.
    pub fn missing(field: &str) -> Self {
        Self::Validation(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))
    }
}

impl From<store::StoreError> for SsmError {
    fn from(e: store::StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, SsmError>;
