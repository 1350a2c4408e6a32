//! Execution environments: pools of child processes per function version, each speaking
//! the Lambda Runtime API, started on demand, reused warm, frozen when idle, and stopped
//! when idle too long, retired, out of budget, or misbehaving.
//!
//! Invariants: this crate knows nothing of the Lambda control plane's API or of HTTP
//! clients; it is handed an [`EnvSpec`] and a payload and gives back bytes. One invocation
//! per environment at a time. Every process it starts dies with the server (parent-death
//! signal) or, failing that, at the next start (its cgroup is swept).

pub mod cgroup;
pub mod code;
mod env;
pub mod logsink;
pub mod scale;
pub mod sdk;

use bytes::Bytes;
use env::{Env, InitResult, Invocation, Launch, Reply};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use env::{RESPONSE_BYTES_MAX, TAIL_BYTES_MAX};

/// Which bootstrap starts the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    Provided,
    Python,
    Node,
}

impl RuntimeKind {
    /// The kind for a Lambda runtime identifier, or `None` when it is not supported.
    pub fn from_runtime(id: &str) -> Option<Self> {
        match id {
            "provided.al2023" | "provided.al2" | "provided" => Some(Self::Provided),
            "python3.9" | "python3.10" | "python3.11" | "python3.12" | "python3.13"
            | "python3.14" => Some(Self::Python),
            "nodejs18.x" | "nodejs20.x" | "nodejs22.x" => Some(Self::Node),
            _ => None,
        }
    }
}

/// The function variables the server's local services read for an environment (the
/// parameters and secrets cache endpoint).
pub const LOCAL_SERVICE_SETTINGS: &[&str] = &[
    "SSM_PARAMETER_STORE_TTL",
    "SECRETS_MANAGER_TTL",
    "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED",
    "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE",
    "PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS",
];

/// Everything an environment of one function version needs.
#[derive(Debug, Clone)]

pub struct EnvSpec {
    /// Identifies the pool: changes whenever code or configuration changes.
    pub pool_key: String,
    /// Identifies the function across its versions (`region:name`), for concurrency.
    pub function_key: String,
    pub function_name: String,
    pub version: String,
    pub region: String,
    pub runtime: String,
    pub kind: RuntimeKind,
    pub handler: String,
    pub code_dir: PathBuf,
    pub memory_mb: u32,
    pub timeout_ms: u64,
    pub ephemeral_mb: u32,
    pub env: Vec<(String, String)>,
    pub reserved_concurrency: Option<u32>,
    pub log_group: String,
    /// The execution role the environment's credentials act as.
    pub role: String,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitInfo {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub oom: bool,
}

impl ExitInfo {
    fn describe(&self) -> String {
        if let Some(s) = self.signal {
            let name = match s {
                libc::SIGKILL => "killed",
                libc::SIGSEGV => "segmentation fault",
                libc::SIGABRT => "aborted",
                libc::SIGTERM => "terminated",
                _ => "",
            };
            if name.is_empty() {
                format!("signal: {s}")
            } else {
                format!("signal: {name}")
            }
        } else {
            format!("exit status {}", self.code.unwrap_or(-1))
        }
    }
}

/// Where environments' log lines go.
pub trait LogSink: Send + Sync + 'static {
    fn emit(&self, region: &str, group: &str, stream: &str, timestamp_ms: i64, line: String);
}

/// One call into a function.
#[derive(Debug, Clone)]
pub struct InvokeInput {
    pub request_id: String,
    pub payload: Bytes,
    pub invoked_arn: String,
    pub client_context: Option<String>,
    pub tail: bool,
}

/// What came back. Function errors (handled, unhandled, timeouts, crashes, failed INIT)
/// are outcomes with `function_error` set, as Lambda reports them, not `Err`.
#[derive(Debug, Clone)]
pub struct InvokeOutcome {
    pub payload: Bytes,
    /// `Unhandled` (or `Handled`) when the function failed.
    pub function_error: Option<String>,
    /// The error type, for destinations and logs.
    pub error_type: Option<String>,
    pub log_tail: Option<String>,
    pub duration_ms: f64,
    /// Set on the first invocation of a new environment.
    pub init_duration_ms: Option<f64>,
    /// Whether the environment was started for this invocation.
    pub cold: bool,
    /// A streamed response: `payload` is then empty and the pieces follow here; the
    /// environment stays busy until the stream ends.
    pub stream: Option<ResponseStream>,
}

/// A response the function streams, as it arrives: its content type and its pieces,
/// which whoever answers the caller takes once.
#[derive(Debug, Clone)]
pub struct ResponseStream {
    pub content_type: Option<String>,
    body: Arc<Mutex<Option<tokio::sync::mpsc::Receiver<StreamPiece>>>>,
}

/// One piece of a streamed response.
#[derive(Debug)]
pub enum StreamPiece {
    Data(Bytes),
    /// The stream ended with this error type (the function failed after it started, ran
    /// out of time, or sent too much); nothing follows.
    Failed(String),
}

impl ResponseStream {
    /// The pieces, the first time only.
    pub fn take(&self) -> Option<tokio::sync::mpsc::Receiver<StreamPiece>> {
        self.body.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// The whole response, for callers that cannot stream: the bytes (at most `max`),
    /// and the error type if the stream failed or was longer than `max`.
    pub async fn collect(&self, max: usize) -> (Bytes, Option<String>) {
        let Some(mut rx) = self.take() else {
            return (Bytes::new(), Some("Runtime.StreamError".into()));
        };
        let mut out = Vec::new();
        while let Some(piece) = rx.recv().await {
            match piece {
                StreamPiece::Data(d) if out.len() + d.len() <= max => out.extend_from_slice(&d),
                StreamPiece::Data(_) => {
                    return (
                        Bytes::new(),
                        Some("Function.ResponseSizeTooLarge".to_string()),
                    )
                }
                StreamPiece::Failed(e) => return (Bytes::from(out), Some(e)),
            }
        }
        (Bytes::from(out), None)
    }
}

/// Why an invocation did not run.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("Rate Exceeded.")]
    Throttled(scale::ThrottleReason),
}

/// Server-wide runtime settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where environments' private temp folders go.
    pub envs_dir: PathBuf,
    /// Where the shipped bootstraps are written.
    pub bootstrap_dir: PathBuf,
    pub python: String,
    pub node: String,
    /// Where the provided AWS SDKs come from.
    pub sdk: sdk::SdkConfig,
    pub memory_budget_mb: u64,
    pub account_concurrency: u32,
    pub idle_timeout_ms: u64,
    pub init_timeout_ms: u64,
    pub freeze_after_ms: u64,
    pub shutdown_grace_ms: u64,
    pub pids_max: u32,
    /// Name of this server's parent cgroup (unique per data dir).
    pub cgroup_name: String,
    pub use_cgroups: bool,
    /// Variables every environment gets (credentials, endpoint).
    pub extra_env: Vec<(String, String)>,
    /// Where environments' own credentials are issued; without it they get none.
    pub credentials: Option<Arc<wire::identity::Credentials>>,
}

struct Pool {
    spec: Arc<EnvSpec>,
    /// Idle environments, most recently used last.
    idle: Vec<Arc<Env>>,
    live: u32,
    retired: bool,
}

#[derive(Default)]
struct State {
    pools: HashMap<String, Pool>,
    counts: Counts,
}

/// What live environments hold, for the scaler.
#[derive(Default)]
struct Counts {
    /// Live environments per function, for reserved concurrency.
    per_function: HashMap<String, u32>,
    used_mb: u64,
    live: u32,
}

impl Counts {
    fn add(&mut self, function_key: &str, memory_mb: u32) {
        self.live += 1;
        self.used_mb += memory_mb as u64;
        *self
            .per_function
            .entry(function_key.to_owned())
            .or_insert(0) += 1;
    }

    fn remove(&mut self, function_key: &str, memory_mb: u32) {
        debug_assert!(
            self.live > 0,
            "removing an environment that was never added"
        );
        self.live -= 1;
        self.used_mb -= memory_mb as u64;
        if let Some(n) = self.per_function.get_mut(function_key) {
            *n -= 1;
        }
    }
}

/// The environment manager.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: RuntimeConfig,
    /// Scaling decisions are taken under this one lock; it is never held across an await
    /// and its critical sections are a few map operations.
    state: Mutex<State>,
    cgroups: cgroup::Cgroups,
    sink: Arc<dyn LogSink>,
    sdks: sdk::Sdks,
    /// The interpreters' real paths: version managers' shims (pyenv, asdf) add a
    /// shell script and tens of milliseconds to every start.
    python: Arc<tokio::sync::OnceCell<String>>,
    node: Arc<tokio::sync::OnceCell<String>>,
}

/// Asks an interpreter for its own executable's path; falls back to the name given.
async fn real_interpreter(name: &str, args: &[&str]) -> String {
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::process::Command::new(name)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output(),
    )
    .await;
    match out {
        Ok(Ok(o)) if o.status.success() => {
            let p = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if p.is_empty() {
                name.to_string()
            } else {
                p
            }
        }
        _ => name.to_string(),
    }
}

enum Lease {
    Warm(Arc<Env>),
    Start,
}

impl Runtime {
    pub fn new(cfg: RuntimeConfig, sink: Arc<dyn LogSink>) -> std::io::Result<Self> {
        std::fs::create_dir_all(&cfg.envs_dir)?;
        // Temp folders of a previous run belong to processes that are gone.
        if let Ok(rd) = std::fs::read_dir(&cfg.envs_dir) {
            for e in rd.flatten() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        write_bootstraps(&cfg.bootstrap_dir)?;
        let cgroups = if cfg.use_cgroups {
            cgroup::Cgroups::detect(&cfg.cgroup_name)
        } else {
            cgroup::Cgroups::disabled()
        };
        let sdks = sdk::Sdks::new(cfg.sdk.clone());
        let me = Self {
            inner: Arc::new(Inner {
                cfg,
                state: Mutex::new(State::default()),
                cgroups,
                sink,
                sdks,
                python: Default::default(),
                node: Default::default(),
            }),
        };
        Ok(me)
    }

    async fn interpreter(&self, kind: RuntimeKind) -> String {
        let cfg = &self.inner.cfg;
        match kind {
            RuntimeKind::Python => self
                .inner
                .python
                .get_or_init(|| {
                    real_interpreter(&cfg.python, &["-c", "import sys; print(sys.executable)"])
                })
                .await
                .clone(),
            RuntimeKind::Node => self
                .inner
                .node
                .get_or_init(|| {
                    real_interpreter(&cfg.node, &["-e", "console.log(process.execPath)"])
                })
                .await
                .clone(),
            RuntimeKind::Provided => String::new(),
        }
    }

    /// Starts installing the SDK a runtime provides, ahead of its first environment.
    pub fn prepare_sdk(&self, kind: RuntimeKind) {
        self.inner.sdks.prepare(kind);
        // Resolving the interpreter runs it once; done now, off the first invoke's path,
        // rather than at start-up, where it would compete with the server for the CPU.
        let r = self.clone();
        tokio::spawn(async move {
            r.interpreter(kind).await;
        });
    }

    /// Where each runtime's provided SDK stands (see [`sdk::Sdks::status`]).
    pub fn sdk_status(&self) -> [(&'static str, &'static str); 2] {
        [
            ("python", self.inner.sdks.status(RuntimeKind::Python)),
            ("node", self.inner.sdks.status(RuntimeKind::Node)),
        ]
    }

    pub fn limits_description(&self) -> &'static str {
        self.inner.cgroups.describe()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs the periodic work: freezing idle environments and reaping old ones.
    pub async fn run_reaper(self, shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut shutdown = shutdown;
        let tick = Duration::from_millis(self.inner.cfg.freeze_after_ms.clamp(50, 1000));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = shutdown.changed() => return,
            }
            let idle_for = Duration::from_millis(self.inner.cfg.idle_timeout_ms);
            let freeze_after = Duration::from_millis(self.inner.cfg.freeze_after_ms);
            let mut reap = Vec::new();
            let mut freeze = Vec::new();
            {
                let mut st = self.state();
                let State { pools, counts } = &mut *st;
                for pool in pools.values_mut() {
                    let now = Instant::now();
                    let (old, keep): (Vec<_>, Vec<_>) = pool
                        .idle
                        .drain(..)
                        .partition(|e| last_used(e) + idle_for <= now || e.is_dead());
                    pool.idle = keep;
                    for e in old {
                        pool.live -= 1;
                        counts.remove(&pool.spec.function_key, e.memory_mb);
                        reap.push(e);
                    }
                    for e in &pool.idle {
                        if !e.frozen.load(std::sync::atomic::Ordering::Acquire)
                            && last_used(e) + freeze_after <= now
                        {
                            freeze.push(e.clone());
                        }
                    }
                }
                pools.retain(|_, p| p.live > 0 || !p.retired);
            }
            for e in freeze {
                e.set_frozen(true);
            }
            let grace = Duration::from_millis(self.inner.cfg.shutdown_grace_ms);
            for e in reap {
                tokio::spawn(async move { e.shutdown(grace).await });
            }
        }
    }

    /// Retires every pool of a function (code or configuration changed, or deleted):
    /// idle environments stop now, busy ones when their invocation ends.
    pub fn retire_function(&self, function_key: &str) {
        let mut stop = Vec::new();
        {
            let mut st = self.state();
            let State { pools, counts } = &mut *st;
            for pool in pools.values_mut() {
                if pool.spec.function_key == function_key {
                    pool.retired = true;
                    for e in pool.idle.drain(..) {
                        pool.live -= 1;
                        counts.remove(function_key, e.memory_mb);
                        stop.push(e);
                    }
                }
            }
            pools.retain(|_, p| p.live > 0 || !p.retired);
        }
        let grace = Duration::from_millis(self.inner.cfg.shutdown_grace_ms);
        for e in stop {
            tokio::spawn(async move { e.shutdown(grace).await });
        }
    }

    /// Stops every environment (server shutdown).
    pub async fn shutdown(&self) {
        let all: Vec<Arc<Env>> = {
            let mut st = self.state();
            let mut v = Vec::new();
            for p in st.pools.values_mut() {
                p.retired = true;
                v.append(&mut p.idle);
            }
            v
        };
        let grace = Duration::from_millis(self.inner.cfg.shutdown_grace_ms);
        let tasks: Vec<_> = all
            .into_iter()
            .map(|e| tokio::spawn(async move { e.shutdown(grace).await }))
            .collect();
        for t in tasks {
            let _ = t.await;
        }
    }

    /// Counts of live and idle environments, for metrics and tests.
    pub fn stats(&self) -> (u32, u32, u64) {
        let st = self.state();
        let idle = st.pools.values().map(|p| p.idle.len() as u32).sum();
        (st.counts.live, idle, st.counts.used_mb)
    }

    fn acquire(&self, spec: &Arc<EnvSpec>) -> Result<Lease, InvokeError> {
        let mut evict = Vec::new();
        let lease = {
            let mut st = self.state();
            let st = &mut *st;
            let pool = st
                .pools
                .entry(spec.pool_key.clone())
                .or_insert_with(|| Pool {
                    spec: spec.clone(),
                    idle: Vec::new(),
                    live: 0,
                    retired: false,
                });
            pool.retired = false;
            if let Some(env) = pool.idle.pop() {
                Lease::Warm(env)
            } else {
                let per_fn = st
                    .counts
                    .per_function
                    .get(&spec.function_key)
                    .copied()
                    .unwrap_or(0);
                // Least recently used idle environments of other pools, oldest first.
                let mut candidates: Vec<(Instant, String, u32)> = st
                    .pools
                    .iter()
                    .flat_map(|(k, p)| {
                        p.idle
                            .iter()
                            .map(move |e| (last_used(e), k.clone(), e.memory_mb))
                    })
                    .collect();
                candidates.sort_by_key(|c| c.0);
                let plan = scale::plan_start(&scale::StartInput {
                    function_live: per_fn,
                    reserved: spec.reserved_concurrency,
                    account_live: st.counts.live,
                    account_limit: self.inner.cfg.account_concurrency,
                    used_mb: st.counts.used_mb,
                    need_mb: spec.memory_mb as u64,
                    budget_mb: self.inner.cfg.memory_budget_mb,
                    idle_mb_lru: candidates.iter().map(|c| c.2 as u64).collect(),
                })
                .map_err(InvokeError::Throttled)?;
                for (_, key, _) in candidates.into_iter().take(plan.evict) {
                    if let Some(p) = st.pools.get_mut(&key) {
                        // The oldest idle environment of that pool is at the front.
                        if !p.idle.is_empty() {
                            let e = p.idle.remove(0);
                            p.live -= 1;
                            st.counts.remove(&p.spec.function_key, e.memory_mb);
                            evict.push(e);
                        }
                    }
                }
                let pool = st
                    .pools
                    .get_mut(&spec.pool_key)
                    .expect("pool inserted above");
                pool.live += 1;
                st.counts.add(&spec.function_key, spec.memory_mb);
                Lease::Start
            }
        };
        for e in evict {
            e.kill();
        }
        Ok(lease)
    }

    /// Gives an environment back after an invocation, or forgets a dead one.
    fn release(&self, spec: &EnvSpec, env: Option<Arc<Env>>) {
        let mut stop = None;
        {
            let mut st = self.state();
            let st = &mut *st;
            let healthy = env.as_ref().is_some_and(|e| !e.is_dead());
            let pool = st.pools.get_mut(&spec.pool_key);
            match pool {
                Some(pool) if healthy && !pool.retired => {
                    let e = env.expect("healthy implies some");
                    *e.last_used.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
                    pool.idle.push(e);
                }
                _ => {
                    if let Some(p) = pool {
                        p.live -= 1;
                    }
                    st.counts.remove(&spec.function_key, spec.memory_mb);
                    stop = env;
                }
            }
            st.pools.retain(|_, p| p.live > 0 || !p.retired);
        }
        if let Some(e) = stop {
            if e.is_dead() {
                e.kill();
            } else {
                let grace = Duration::from_millis(self.inner.cfg.shutdown_grace_ms);
                tokio::spawn(async move { e.shutdown(grace).await });
            }
        }
    }

    /// Invokes the function described by `spec` once.
    pub async fn invoke(
        &self,
        spec: &Arc<EnvSpec>,
        input: InvokeInput,
    ) -> Result<InvokeOutcome, InvokeError> {
        let lease = self.acquire(spec)?;
        let (env, cold) = match lease {
            Lease::Warm(env) => {
                if env.frozen.swap(false, std::sync::atomic::Ordering::AcqRel) {
                    env.set_frozen(false);
                }
                (env, false)
            }
            Lease::Start => match self.start_env(spec, &input).await {
                Ok(env) => (env, true),
                Err(outcome) => {
                    self.release(spec, None);
                    return Ok(outcome);
                }
            },
        };
        let outcome = self.run(spec, &env, input, cold).await;
        // A streamed response keeps its environment until the stream ends.
        if outcome.stream.is_none() {
            self.release(spec, Some(env));
        }
        Ok(outcome)
    }

    async fn start_env(
        &self,
        spec: &Arc<EnvSpec>,
        input: &InvokeInput,
    ) -> Result<Arc<Env>, InvokeOutcome> {
        let cfg = &self.inner.cfg;
        let env_id = wire::id::hex_id(32);
        let log_stream = format!(
            "{}/[{}]{}",
            wire::time::slash_date(wire::time::now_ms()),
            spec.version,
            env_id
        );
        let group =
            self.inner
                .cgroups
                .create(&env_id, spec.memory_mb as u64 * 1024 * 1024, cfg.pids_max);
        let libs = self.inner.sdks.get_bounded(spec.kind).await;
        if let (RuntimeKind::Node, Some(modules)) = (spec.kind, &libs) {
            // ES modules resolve bare imports by walking up from the code folder only,
            // so the SDK is linked in as the code folders' shared parent `node_modules`.
            if let Some(parent) = spec.code_dir.parent() {
                let link = parent.join("node_modules");
                if std::fs::symlink_metadata(&link).is_err() {
                    let _ = std::os::unix::fs::symlink(modules, &link);
                }
            }
        }
        let libs = libs.map(|p| p.display().to_string());
        let interpreter = self.interpreter(spec.kind).await;
        let started = Instant::now();
        let launch = Launch {
            spec,
            log_stream: log_stream.clone(),
            tmp_dir: cfg.envs_dir.join(&env_id),
            bootstrap_dir: &cfg.bootstrap_dir,
            python: &interpreter,
            node: &interpreter,
            group: group.clone(),
            sink: self.inner.sink.clone(),
            extra_env: cfg.extra_env.clone(),
            runtime_libs: libs,
            credentials: cfg.credentials.as_ref().and_then(|registry| {
                let issued = registry.issue(
                    wire::identity::Principal::Function {
                        function_name: spec.function_name.clone(),
                        version: spec.version.clone(),
                        region: spec.region.clone(),
                        role_arn: spec.role.clone(),
                        settings: spec
                            .env
                            .iter()
                            .filter(|(k, _)| LOCAL_SERVICE_SETTINGS.contains(&k.as_str()))
                            .cloned()
                            .collect(),
                    },
                    None,
                    wire::time::now_ms(),
                )?;
                Some(env::Revocable {
                    registry: registry.clone(),
                    issued,
                })
            }),
        };
        let credentials = launch.credentials.clone();
        let (env, init_rx) = match Env::start(launch).await {
            Ok(x) => x,
            Err(e) => {
                if let Some(c) = &credentials {
                    c.registry.revoke(&c.issued.access_key_id);
                }
                if let Some(g) = group {
                    g.destroy();
                }
                let _ = std::fs::remove_dir_all(cfg.envs_dir.join(&env_id));
                // AWS reports a bootstrap it cannot run as a function error.
                let (etype, msg) = if e.kind() == std::io::ErrorKind::PermissionDenied
                    || e.kind() == std::io::ErrorKind::NotFound
                {
                    (
                        "Runtime.InvalidEntrypoint",
                        format!(
                            "RequestId: {} Error: Couldn't find valid bootstrap(s): {}",
                            input.request_id, e
                        ),
                    )
                } else {
                    (
                        "Runtime.Unknown",
                        format!("RequestId: {} Error: {}", input.request_id, e),
                    )
                };
                return Err(init_failure(etype.into(), error_body(etype, &msg), None));
            }
        };
        let init_timeout = Duration::from_millis(cfg.init_timeout_ms);
        let result = tokio::time::timeout(init_timeout, init_rx).await;
        let init_ms = started.elapsed().as_secs_f64() * 1000.0;
        let emit = |line: String| self.emit(spec, &env, line);
        let failure = match result {
            Ok(Ok(InitResult::Ready)) => {
                *env.init_duration_ms
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(init_ms);
                return Ok(env);
            }
            Ok(Ok(InitResult::Failed { error_type, body })) => {
                let body = if body.is_empty() {
                    Bytes::from(
                        serde_json::json!({"errorMessage": "init failed", "errorType": error_type})
                            .to_string(),
                    )
                } else {
                    body
                };
                (error_type, body, "error")
            }
            Ok(Ok(InitResult::Exited(mut info))) => {
                info.oom = env.oom_killed();
                let etype = if info.oom {
                    "Runtime.OutOfMemory"
                } else {
                    "Runtime.ExitError"
                };
                let msg = format!(
                    "RequestId: {} Error: Runtime exited with error: {}",
                    input.request_id,
                    info.describe()
                );
                (etype.to_string(), error_body(etype, &msg), "error")
            }
            Ok(Err(_)) => {
                let msg = format!(
                    "RequestId: {} Error: Runtime exited without providing a reason",
                    input.request_id
                );
                (
                    "Runtime.ExitError".to_string(),
                    error_body("Runtime.ExitError", &msg),
                    "error",
                )
            }
            Err(_) => {
                let msg = format!(
                    "RequestId: {} Error: Task timed out after {:.2} seconds",
                    input.request_id,
                    init_timeout.as_secs_f64()
                );
                (
                    "Sandbox.Timedout".to_string(),
                    error_body("Sandbox.Timedout", &msg),
                    "timeout",
                )
            }
        };
        let (error_type, body, status) = failure;
        // Give the runtime's own report of the failure a moment to reach the log.
        let _ = env.take_tail().await;
        emit(format!(
            "INIT_REPORT Init Duration: {init_ms:.2} ms\tPhase: init\tStatus: {status}\tError Type: {error_type}"
        ));
        env.kill();
        Err(init_failure(error_type, body, Some(init_ms)))
    }

    async fn run(
        &self,
        spec: &Arc<EnvSpec>,
        env: &Arc<Env>,
        input: InvokeInput,
        cold: bool,
    ) -> InvokeOutcome {
        let started = Instant::now();
        let now_ms = wire::time::now_ms();
        let deadline_ms = now_ms + spec.timeout_ms as i64;
        let rid = input.request_id.clone();
        let emit = |line: String| self.emit(spec, env, line);
        let start_line = format!("START RequestId: {rid} Version: {}", spec.version);
        let inv = Invocation {
            request_id: rid.clone(),
            payload: input.payload,
            deadline_ms,
            invoked_arn: input.invoked_arn,
            trace_id: format!(
                "Root=1-{:08x}-{};Parent={};Sampled=0",
                now_ms / 1000,
                wire::id::hex_id(24),
                wire::id::hex_id(16)
            ),
            client_context: input.client_context,
            cognito_identity: None,
        };
        let rx = env.dispatch(inv, input.tail);
        env.add_to_tail(&start_line);
        emit(start_line);
        let timeout = Duration::from_millis(spec.timeout_ms);
        let reply = match rx {
            Some(rx) => match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(r)) => Some(r),
                Ok(Err(_)) => None,
                Err(_) => None,
            },
            None => None,
        };
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let timed_out = reply.is_none() && started.elapsed() >= timeout;
        let (payload, error_type) = match reply {
            Some(Reply::Stream { content_type, body }) => {
                return self.relay_stream(
                    spec,
                    env,
                    rid,
                    started,
                    timeout,
                    cold,
                    content_type,
                    body,
                )
            }
            Some(Reply::Response(b)) => (b, None),
            Some(Reply::Error { error_type, body }) => {
                let body = if body.is_empty() {
                    error_body(&error_type, "")
                } else {
                    body
                };
                (body, Some(error_type))
            }
            Some(Reply::TooLarge) => {
                let msg = format!(
                    "Response payload size exceeded maximum allowed payload size ({} bytes).",
                    RESPONSE_BYTES_MAX
                );
                (
                    error_body("Function.ResponseSizeTooLarge", &msg),
                    Some("Function.ResponseSizeTooLarge".to_string()),
                )
            }
            Some(Reply::Exited(mut info)) => {
                info.oom = env.oom_killed();
                let etype = if info.oom {
                    "Runtime.OutOfMemory"
                } else {
                    "Runtime.ExitError"
                };
                let msg = format!(
                    "RequestId: {rid} Error: Runtime exited with error: {}",
                    info.describe()
                );
                (error_body(etype, &msg), Some(etype.to_string()))
            }
            None if timed_out => {
                env.clear_current();
                let msg = format!(
                    "RequestId: {rid} Error: Task timed out after {:.2} seconds",
                    timeout.as_secs_f64()
                );
                let line = timed_out_line(&rid, timeout);
                env.add_to_tail(&line);
                emit(line);
                env.kill();
                (
                    error_body("Sandbox.Timedout", &msg),
                    Some("Sandbox.Timedout".to_string()),
                )
            }
            None => {
                env.kill();
                let msg =
                    format!("RequestId: {rid} Error: Runtime exited without providing a reason");
                (
                    error_body("Runtime.ExitError", &msg),
                    Some("Runtime.ExitError".to_string()),
                )
            }
        };
        if matches!(
            error_type.as_deref(),
            Some("Runtime.ExitError" | "Runtime.OutOfMemory")
        ) {
            env.kill();
        }
        let init_duration_ms = init_duration(env, cold);
        let end_line = format!("END RequestId: {rid}");
        let report = report_line(&rid, duration_ms, spec, env, init_duration_ms);
        let log_tail = if input.tail {
            let mut t = env.take_tail().await.unwrap_or_default();
            t.push_str(&end_line);
            t.push('\n');
            t.push_str(&report);
            t.push('\n');
            Some(tail_of(&t))
        } else {
            None
        };
        emit(end_line);
        emit(report);
        InvokeOutcome {
            payload,
            function_error: error_type.as_ref().map(|_| "Unhandled".to_string()),
            error_type,
            log_tail,
            duration_ms,
            init_duration_ms,
            cold,
            stream: None,
        }
    }

    /// Hands a streamed response on as it arrives. A task of its own relays the pieces
    /// until the function ends the stream, fails, or runs out of time, then writes the
    /// END and REPORT lines and gives the environment back.
    #[allow(clippy::too_many_arguments)]
    fn relay_stream(
        &self,
        spec: &Arc<EnvSpec>,
        env: &Arc<Env>,
        rid: String,
        started: Instant,
        timeout: Duration,
        cold: bool,
        content_type: Option<String>,
        mut body: tokio::sync::mpsc::Receiver<env::StreamItem>,
    ) -> InvokeOutcome {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let init_duration_ms = init_duration(env, cold);
        let (rt, spec, env) = (self.clone(), spec.clone(), env.clone());
        let deadline = tokio::time::Instant::from_std(started + timeout);
        tokio::spawn(async move {
            let emit = |line: String| rt.emit(&spec, &env, line);
            let failed = loop {
                match tokio::time::timeout_at(deadline, body.recv()).await {
                    Ok(Some(env::StreamItem::Data(d))) => {
                        // A caller that stopped reading holds the function back, but
                        // not past its timeout.
                        let sent = tokio::time::timeout_at(deadline, tx.send(StreamPiece::Data(d)));
                        if sent.await.is_err() {
                            continue;
                        }
                    }
                    Ok(Some(env::StreamItem::End(e))) => break e,
                    Ok(None) => {
                        env.kill();
                        break Some("Runtime.ExitError".to_string());
                    }
                    Err(_) => {
                        emit(timed_out_line(&rid, timeout));
                        env.kill();
                        break Some("Sandbox.Timedout".to_string());
                    }
                }
            };
            if let Some(e) = &failed {
                let _ = tx.send(StreamPiece::Failed(e.clone())).await;
            }
            drop(tx);
            let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            emit(format!("END RequestId: {rid}"));
            emit(report_line(
                &rid,
                duration_ms,
                &spec,
                &env,
                init_duration_ms,
            ));
            rt.release(&spec, Some(env));
        });
        InvokeOutcome {
            payload: Bytes::new(),
            function_error: None,
            error_type: None,
            log_tail: None,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            init_duration_ms,
            cold,
            stream: Some(ResponseStream {
                content_type,
                body: Arc::new(Mutex::new(Some(rx))),
            }),
        }
    }
}

impl Runtime {
    /// Writes one of the platform's own lines to the environment's log stream.
    fn emit(&self, spec: &EnvSpec, env: &Env, line: String) {
        self.inner.sink.emit(
            &spec.region,
            &spec.log_group,
            &env.log_stream,
            wire::time::now_ms(),
            line,
        )
    }
}

/// The Init Duration a REPORT line carries: only on an environment's first invocation.
fn init_duration(env: &Env, cold: bool) -> Option<f64> {
    if !cold {
        return None;
    }
    *env.init_duration_ms
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Lambda's REPORT line.
fn report_line(
    rid: &str,
    duration_ms: f64,
    spec: &EnvSpec,
    env: &Env,
    init_duration_ms: Option<f64>,
) -> String {
    let billed = duration_ms.ceil().max(1.0) as u64;
    let mut report = format!(
        "REPORT RequestId: {rid}\tDuration: {duration_ms:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
        spec.memory_mb,
        env.peak_memory_mb()
    );
    if let Some(i) = init_duration_ms {
        report.push_str(&format!("\tInit Duration: {i:.2} ms"));
    }
    report
}

/// The line Lambda logs when an invocation runs out of time.
fn timed_out_line(rid: &str, timeout: Duration) -> String {
    format!(
        "{} {rid} Task timed out after {:.2} seconds",
        wire::time::iso8601_ms(wire::time::now_ms()),
        timeout.as_secs_f64()
    )
}

fn last_used(e: &Env) -> Instant {
    *e.last_used.lock().unwrap_or_else(|p| p.into_inner())
}

fn tail_of(s: &str) -> String {
    if s.len() <= TAIL_BYTES_MAX {
        return s.to_string();
    }
    let mut cut = s.len() - TAIL_BYTES_MAX;
    while !s.is_char_boundary(cut) {
        cut += 1;
    }
    s[cut..].to_string()
}

/// Lambda's error document.
pub fn error_body(error_type: &str, message: &str) -> Bytes {
    Bytes::from(serde_json::json!({ "errorType": error_type, "errorMessage": message }).to_string())
}

/// The outcome of an invocation whose environment never got through INIT, as Lambda
/// reports it: a function error.
fn init_failure(
    error_type: String,
    payload: Bytes,
    init_duration_ms: Option<f64>,
) -> InvokeOutcome {
    InvokeOutcome {
        payload,
        function_error: Some("Unhandled".into()),
        error_type: Some(error_type),
        log_tail: None,
        duration_ms: 0.0,
        init_duration_ms,
        cold: true,
        stream: None,
    }
}

const PYTHON_BOOTSTRAP: &str = include_str!("../bootstrap/python/bootstrap.py");
const NODE_BOOTSTRAP: &str = include_str!("../bootstrap/node/bootstrap.mjs");

fn write_bootstraps(dir: &std::path::Path) -> std::io::Result<()> {
    for (rel, text) in [
        ("python/bootstrap.py", PYTHON_BOOTSTRAP),
        ("node/bootstrap.mjs", NODE_BOOTSTRAP),
    ] {
        let p = dir.join(rel);
        if std::fs::read_to_string(&p).ok().as_deref() != Some(text) {
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let tmp = p.with_extension("tmp");
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, &p)?;
        }
    }
    Ok(())
}
