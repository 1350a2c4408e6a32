//! SSM Parameter Store (json 1.1, `ssm/2014-11-06`).

use std::sync::Arc;
use wire::{ApiRequest, ApiResponse, BoxFuture};

/// The Parameter Store API.
#[derive(Clone)]
pub struct Ssm {
    #[allow(dead_code)]
    inner: Arc<Inner>,
}

#[allow(dead_code)] // the operations arrive in the next changes
struct Inner {
    store: Arc<dyn store::ResourceStore>,
    key: Arc<crypto::MasterKey>,
    clock: Arc<dyn wire::time::Clock>,
}

impl Ssm {
    /// Loads the stored parameters.
    pub fn open(
        store: Arc<dyn store::ResourceStore>,
        key: Arc<crypto::MasterKey>,
        clock: Arc<dyn wire::time::Clock>,
    ) -> Result<Self, store::StoreError> {
        Ok(Self {
            inner: Arc::new(Inner { store, key, clock }),
        })
    }
}

impl wire::Service for Ssm {
    fn handle(&self, _req: ApiRequest) -> BoxFuture<'_, ApiResponse> {
        Box::pin(async move {
            wire::aws_json_error(
                http::StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                "Eddy does not implement SSM yet.",
            )
        })
    }

    fn error(&self, status: http::StatusCode, code: &str, message: &str) -> ApiResponse {
        wire::aws_json_error(status, code, message)
    }
}
