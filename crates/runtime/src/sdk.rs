//! The AWS SDKs that managed runtimes provide without packaging: boto3 for Python, the v3
//! clients for Node.js. Installed once from the package registries into a cache shared by
//! every data dir (or taken from a configured folder on offline machines), and put on the
//! module path after the function's own code, so a packaged version wins.

use crate::RuntimeKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// The Node.js clients installed: the services Eddy speaks, and the document client.
pub const NODE_PACKAGES: &[&str] = &[
    "@aws-sdk/client-lambda",
    "@aws-sdk/client-s3",
    "@aws-sdk/client-sqs",
    "@aws-sdk/client-sns",
    "@aws-sdk/client-eventbridge",
    "@aws-sdk/client-ssm",
    "@aws-sdk/client-secrets-manager",
    "@aws-sdk/client-sfn",
    "@aws-sdk/client-dynamodb",
    "@aws-sdk/lib-dynamodb",
    "@aws-sdk/client-cloudwatch-logs",
];

/// How long an environment start waits for a first install before going on without it.
pub const INSTALL_WAIT_MAX: Duration = Duration::from_secs(120);

/// Where each language's SDK comes from.
#[derive(Debug, Clone)]
pub struct SdkConfig {
    /// A folder already holding boto3 (put on the module path as is).
    pub python_path: Option<PathBuf>,
    /// A folder whose `node_modules` holds the v3 clients.
    pub node_path: Option<PathBuf>,
    /// Where installs go when no path is configured.
    pub cache_dir: PathBuf,
    /// Whether to install from the registries at all.
    pub install: bool,
    pub python: String,
}

/// One language's SDK: installed at most once, by whichever environment asks first.
#[derive(Default)]
struct Slot {
    cell: OnceCell<Option<PathBuf>>,
    /// Whether an install was asked for (the cell is still empty while it runs).
    started: AtomicBool,
}

/// Single-flight installs, shared by all environments.
#[derive(Clone)]
pub struct Sdks {
    cfg: Arc<SdkConfig>,
    python: Arc<Slot>,
    node: Arc<Slot>,
}

impl Sdks {
    pub fn new(cfg: SdkConfig) -> Self {
        Self {
            cfg: Arc::new(cfg),
            python: Default::default(),
            node: Default::default(),
        }
    }

    /// The slot of `kind` and the module folder configured for it, if any.
    fn slot(&self, kind: RuntimeKind) -> Option<(&Slot, Option<PathBuf>)> {
        match kind {
            RuntimeKind::Python => Some((&self.python, self.cfg.python_path.clone())),
            RuntimeKind::Node => Some((
                &self.node,
                self.cfg.node_path.as_ref().map(|p| p.join("node_modules")),
            )),
            RuntimeKind::Provided => None,
        }
    }

    /// Starts preparing the SDK for `kind` in the background (for example when a function
    /// of that runtime is created), so the first environment rarely waits.
    pub fn prepare(&self, kind: RuntimeKind) {
        let me = self.clone();
        tokio::spawn(async move {
            me.get(kind).await;
        });
    }

    /// The module folder of `kind`'s SDK, installing it first if needed.
    pub async fn get(&self, kind: RuntimeKind) -> Option<PathBuf> {
        let (slot, configured) = self.slot(kind)?;
        if configured.is_some() {
            return configured;
        }
        slot.started.store(true, Ordering::Release);
        slot.cell
            .get_or_init(|| install(self.cfg.clone(), kind))
            .await
            .clone()
    }

    /// Where `kind`'s SDK stands: `configured`, `ready`, `installing`, `unavailable` or
    /// `not-requested`, for the health endpoint.
    pub fn status(&self, kind: RuntimeKind) -> &'static str {
        let Some((slot, configured)) = self.slot(kind) else {
            return "not-needed";
        };
        if configured.is_some() {
            return "configured";
        }
        match slot.cell.get() {
            Some(Some(_)) => "ready",
            Some(None) => "unavailable",
            None if slot.started.load(Ordering::Acquire) => "installing",
            None => "not-requested",
        }
    }

    /// Like [`get`](Self::get) but gives up waiting after [`INSTALL_WAIT_MAX`].
    pub async fn get_bounded(&self, kind: RuntimeKind) -> Option<PathBuf> {
        tokio::time::timeout(INSTALL_WAIT_MAX, self.get(kind))
            .await
            .ok()
            .flatten()
    }
}

fn done_marker(dir: &Path) -> PathBuf {
    dir.join(".eddy-complete")
}

async fn install(cfg: Arc<SdkConfig>, kind: RuntimeKind) -> Option<PathBuf> {
    let (name, dir) = match kind {
        RuntimeKind::Python => ("python", cfg.cache_dir.join("sdk/python")),
        RuntimeKind::Node => ("node", cfg.cache_dir.join("sdk/node")),
        RuntimeKind::Provided => return None,
    };
    let modules = match kind {
        RuntimeKind::Node => dir.join("node_modules"),
        _ => dir.clone(),
    };
    if done_marker(&dir).exists() {
        return Some(modules);
    }
    if !cfg.install {
        tracing::warn!(
            "the AWS SDK for {name} functions is not installed and installs are off; functions must package it"
        );
        return None;
    }
    let tmp = cfg.cache_dir.join(format!(
        "sdk/.{name}-{}-{}",
        std::process::id(),
        wire::id::hex_id(6)
    ));
    if std::fs::create_dir_all(&tmp).is_err() {
        return None;
    }
    let mut cmd = match kind {
        RuntimeKind::Python => {
            let mut c = tokio::process::Command::new(&cfg.python);
            c.args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&tmp)
            .arg("boto3");
            c
        }
        _ => {
            let mut c = tokio::process::Command::new("npm");
            c.args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
                .arg(&tmp)
                .args(NODE_PACKAGES);
            c
        }
    };
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    tracing::info!(
        "installing the AWS SDK for {name} functions into {} (once; later starts reuse it)",
        dir.display()
    );
    let started = std::time::Instant::now();
    let out = match cmd.output().await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!("could not run the {name} SDK install: {e}");
            let _ = std::fs::remove_dir_all(&tmp);
            return None;
        }
    };
    if !out.status.success() {
        tracing::warn!(
            "the {name} SDK install failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        let _ = std::fs::remove_dir_all(&tmp);
        return None;
    }
    let _ = std::fs::write(done_marker(&tmp), b"");
    if let Some(parent) = dir.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    // Another server sharing the cache may have finished first; either copy is complete.
    if std::fs::rename(&tmp, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    if !done_marker(&dir).exists() {
        return None;
    }
    tracing::info!(
        "the AWS SDK for {name} functions is ready ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Some(modules)
}
