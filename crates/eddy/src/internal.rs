//! Eddy's own routes under `/_eddy/`: health, code package downloads (the
//! `Code.Location` of GetFunction; the content hash in the path is the capability), and
//! the `SubscribeURL` of SNS subscription confirmations (the token is the capability).

use http::{Method, StatusCode};
use std::sync::Arc;
use store::BlobStore;
use wire::{ApiRequest, ApiResponse, BoxFuture};

pub struct Internal {
    blobs: Arc<dyn BlobStore>,
    runtime: runtime::Runtime,
    delivery: delivery::Delivery,
    events: events::Events,
    started_ms: i64,
    /// Set once SNS is built (after the edge that serves these routes).
    sns: std::sync::OnceLock<sns::Sns>,
}

impl Internal {
    pub fn new(
        blobs: Arc<dyn BlobStore>,
        runtime: runtime::Runtime,
        delivery: delivery::Delivery,
        events: events::Events,
    ) -> Self {
        Self {
            blobs,
            runtime,
            delivery,
            events,
            started_ms: wire::time::now_ms(),
            sns: std::sync::OnceLock::new(),
        }
    }

    pub fn set_sns(&self, sns: sns::Sns) {
        let _ = self.sns.set(sns);
    }

    fn route(&self, req: &ApiRequest) -> ApiResponse {
        let not_found = || {
            wire::json_response(
                StatusCode::NOT_FOUND,
                &serde_json::json!({"message": "Not Found"}),
            )
        };
        if req.method != Method::GET {
            return not_found();
        }
        if req.path == "/_eddy/health" {
            let (live, idle, mb) = self.runtime.stats();
            let sdks: serde_json::Map<String, serde_json::Value> = self
                .runtime
                .sdk_status()
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
                .collect();
            let (fired, p50, p99, max) = self.events.lateness();
            return wire::json_response(
                StatusCode::OK,
                &serde_json::json!({
                    "status": "ok",
                    "timers": {
                        "armed": self.events.timer_count(),
                        "fired": fired,
                        "late_ms": { "p50": p50, "p99": p99, "max": max },
                    },
                    "version": env!("CARGO_PKG_VERSION"),
                    "uptime_ms": wire::time::now_ms() - self.started_ms,
                    "environments": { "live": live, "idle": idle, "memory_mb": mb },
                    "deliveries_pending": self.delivery.pending(),
                    "sdks": sdks,
                }),
            );
        }
        if let Some(file) = req.path.strip_prefix("/_eddy/code/") {
            let Some(hash) = file.strip_suffix(".zip") else {
                return not_found();
            };
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return not_found();
            }
            return match self.blobs.get(&format!("code/{hash}.zip")) {
                Ok(Some(zip)) => wire::response(StatusCode::OK, "application/zip", zip),
                _ => not_found(),
            };
        }
        not_found()
    }
}

impl wire::Service for Internal {
    fn handle(&self, req: ApiRequest) -> BoxFuture<'_, ApiResponse> {
        Box::pin(async move {
            if req.method == Method::GET && req.path == sns::CONFIRM_PATH {
                if let Some(sns) = self.sns.get() {
                    return sns.confirm_by_url(&req.query).await;
                }
            }
            self.route(&req)
        })
    }
}
