//! One execution environment: a child process in its own process group, and the Runtime
//! API listener that only it talks to.

use crate::cgroup::EnvGroup;
use crate::{EnvSpec, ExitInfo, LogSink, RuntimeKind};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// The largest response a function may return (Lambda's 6 MB, with its small slack).
pub const RESPONSE_BYTES_MAX: usize = 6 * 1024 * 1024 + 100;
/// The largest error document a runtime may post.
const ERROR_BYTES_MAX: usize = 1024 * 1024;
/// A longer line is cut: CloudWatch Logs' event limit is 256 KiB.
const LOG_LINE_BYTES_MAX: usize = 256 * 1024;
/// How much of the log an invocation keeps for `LogType=Tail`.
pub const TAIL_BYTES_MAX: usize = 4096;

/// One event handed to the environment.
pub struct Invocation {
    pub request_id: String,
    pub payload: Bytes,
    pub deadline_ms: i64,
    pub invoked_arn: String,
    pub trace_id: String,
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
}

/// What the runtime answered for one invocation.
pub enum Reply {
    Response(Bytes),
    Error {
        error_type: String,
        body: Bytes,
    },
    TooLarge,
    Exited(ExitInfo),
    /// The function streams its response (`Lambda-Runtime-Function-Response-Mode:
    /// streaming`): the pieces follow on the receiver as the runtime sends them.
    Stream {
        content_type: Option<String>,
        body: mpsc::Receiver<StreamItem>,
    },
}

/// One piece of a streamed response.
#[derive(Debug)]
pub enum StreamItem {
    Data(Bytes),
    /// The end: `None` when the function finished, or the error it reported (trailers),
    /// or why the stream broke off.
    End(Option<String>),
}

/// The most a function may stream in one response (Lambda's limit).
pub const STREAM_BYTES_MAX: usize = 20 * 1024 * 1024;

/// How INIT ended.
pub enum InitResult {
    Ready,
    Failed { error_type: String, body: Bytes },
    Exited(ExitInfo),
}

struct Pending {
    request_id: String,
    reply: oneshot::Sender<Reply>,
}

/// What the listener, the log readers, the exit watcher and the invoker share. Each mutex
/// guards one small field and is never held across an await.
struct Shared {
    init: Mutex<Option<oneshot::Sender<InitResult>>>,
    current: Mutex<Option<Pending>>,
    /// An async mutex: only the one `next` request of the environment waits on it.
    invocations: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    /// Log lines of the invocation under way, when its caller asked for the tail.
    tail: Mutex<Option<String>>,
    dead: AtomicBool,
}

/// A running environment.
pub struct Env {
    pub pid: i32,
    pub memory_mb: u32,
    pub log_stream: String,
    pub init_duration_ms: Mutex<Option<f64>>,
    pub last_used: Mutex<Instant>,
    pub frozen: AtomicBool,
    shared: Arc<Shared>,
    invocations: mpsc::Sender<Invocation>,
    pub group: Option<EnvGroup>,
    tmp_dir: PathBuf,
    listener_task: tokio::task::JoinHandle<()>,
    /// The read end of the one pipe both stdout and stderr write into.
    pipe_fd: RawFd,
    pipes_open: Arc<AtomicBool>,
    /// The environment's own credentials, withdrawn when it ends.
    credentials: Option<Revocable>,
}

/// Temporary credentials and the registry to withdraw them from.
#[derive(Clone)]
pub struct Revocable {
    pub registry: Arc<wire::identity::Credentials>,
    pub issued: wire::identity::Issued,
}

impl Revocable {
    fn revoke(&self) {
        self.registry.revoke(&self.issued.access_key_id);
    }
}

/// Everything needed to start a process.
pub struct Launch<'a> {
    pub spec: &'a EnvSpec,
    pub log_stream: String,
    pub tmp_dir: PathBuf,
    pub bootstrap_dir: &'a Path,
    pub python: &'a str,
    pub node: &'a str,
    pub group: Option<EnvGroup>,
    pub sink: Arc<dyn LogSink>,
    pub extra_env: Vec<(String, String)>,
    pub runtime_libs: Option<String>,
    /// Credentials of this environment's own, set as `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
    pub credentials: Option<Revocable>,
}

impl Env {
    pub fn is_dead(&self) -> bool {
        self.shared.dead.load(Ordering::Acquire)
    }

    /// Starts the process and its listener; INIT's outcome arrives on the receiver.
    pub async fn start(
        l: Launch<'_>,
    ) -> std::io::Result<(Arc<Env>, oneshot::Receiver<InitResult>)> {
        let spec = l.spec;
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let api_addr = listener.local_addr()?;
        let (inv_tx, inv_rx) = mpsc::channel(1);
        let (init_tx, init_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            init: Mutex::new(Some(init_tx)),
            current: Mutex::new(None),
            invocations: tokio::sync::Mutex::new(inv_rx),
            tail: Mutex::new(None),
            dead: AtomicBool::new(false),
        });
        std::fs::create_dir_all(&l.tmp_dir)?;

        // One pipe for stdout and stderr, as Lambda has one log stream: lines keep the
        // order the function wrote them in, whichever stream they went to.
        let (pipe_r, out_w) = std::io::pipe()?;
        let err_w = out_w.try_clone()?;
        let mut cmd = match spec.kind {
            RuntimeKind::Provided => tokio::process::Command::new(spec.code_dir.join("bootstrap")),
            RuntimeKind::Python => {
                let mut c = tokio::process::Command::new(l.python);
                c.arg("-u").arg(l.bootstrap_dir.join("python/bootstrap.py"));
                c
            }
            RuntimeKind::Node => {
                let mut c = tokio::process::Command::new(l.node);
                c.arg(l.bootstrap_dir.join("node/bootstrap.mjs"));
                c
            }
        };
        cmd.current_dir(&spec.code_dir)
            .env_clear()
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::from(out_w))
            .stderr(std::process::Stdio::from(err_w));
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
        cmd.env("PATH", path)
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .env("TMPDIR", &l.tmp_dir)
            .env("LAMBDA_TASK_ROOT", &spec.code_dir)
            .env("LAMBDA_RUNTIME_DIR", l.bootstrap_dir)
            .env("AWS_LAMBDA_RUNTIME_API", api_addr.to_string())
            .env("_HANDLER", &spec.handler)
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.function_name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", &spec.version)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                spec.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_LOG_GROUP_NAME", &spec.log_group)
            .env("AWS_LAMBDA_LOG_STREAM_NAME", &l.log_stream)
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", &spec.region)
            .env("AWS_DEFAULT_REGION", &spec.region)
            .env("AWS_EXECUTION_ENV", format!("AWS_Lambda_{}", spec.runtime));
        if let Some(libs) = &l.runtime_libs {
            cmd.env("EDDY_RUNTIME_LIBS", libs);
        }
        for (k, v) in l.extra_env.iter().chain(spec.env.iter()) {
            cmd.env(k, v);
        }
        // After the function's variables: Lambda reserves these names.
        if let Some(c) = &l.credentials {
            cmd.env("AWS_ACCESS_KEY_ID", &c.issued.access_key_id)
                .env("AWS_SECRET_ACCESS_KEY", &c.issued.secret_access_key)
                .env("AWS_SESSION_TOKEN", &c.issued.session_token);
        }

        let fsize = spec.ephemeral_mb as u64 * 1024 * 1024;
        let data_limit = if l.group.is_none() && spec.kind != RuntimeKind::Node {
            Some(spec.memory_mb as u64 * 1024 * 1024 * 2)
        } else {
            None
        };
        let parent = std::process::id() as i32;
        // SAFETY: the closure runs between fork and exec and only makes async-signal-safe
        // calls on memory prepared before the fork; it allocates nothing.
        unsafe {
            cmd.pre_exec(move || child_setup(parent, fsize, data_limit));
        }
        let mut child = cmd.spawn()?;
        let pid = child.id().map(|p| p as i32).unwrap_or(-1);
        if let Some(g) = &l.group {
            // Joining a v1 cgroup takes the kernel milliseconds (an RCU grace period), so
            // the server moves the process from a blocking thread while it starts, rather
            // than the child joining before exec and starting that much later. What the
            // process allocates before the move is charged to the server.
            let files = g.procs_files.clone();
            tokio::task::spawn_blocking(move || {
                for f in files {
                    if let Err(e) = std::fs::write(&f, pid.to_string()) {
                        tracing::warn!(
                            "could not move environment {pid} into {}: {e}",
                            f.display()
                        );
                    }
                }
            });
        }
        // The write ends now live in the child only, so the pipe closes when it exits.
        drop(cmd);
        let pipe_fd = pipe_r.as_raw_fd();
        let output =
            tokio::net::unix::pipe::Receiver::from_owned_fd(std::os::fd::OwnedFd::from(pipe_r))?;
        let pipes_open = Arc::new(AtomicBool::new(true));

        let log = LogCtx {
            sink: l.sink.clone(),
            region: spec.region.clone(),
            group: spec.log_group.clone(),
            stream: l.log_stream.clone(),
            shared: shared.clone(),
        };
        let open = pipes_open.clone();
        tokio::spawn(async move {
            let _ = read_lines(output, log).await;
            open.store(false, Ordering::Release);
        });

        let watcher_shared = shared.clone();
        let watcher_credentials = l.credentials.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            // Credentials end with the process, whatever ended it.
            if let Some(c) = &watcher_credentials {
                c.revoke();
            }
            let info = match status {
                Ok(s) => {
                    use std::os::unix::process::ExitStatusExt;
                    ExitInfo {
                        code: s.code(),
                        signal: s.signal(),
                        oom: false,
                    }
                }
                Err(_) => ExitInfo {
                    code: None,
                    signal: None,
                    oom: false,
                },
            };
            watcher_shared.dead.store(true, Ordering::Release);
            let init = watcher_shared
                .init
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            if let Some(tx) = init {
                let _ = tx.send(InitResult::Exited(info));
            }
            let cur = watcher_shared
                .current
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            if let Some(p) = cur {
                let _ = p.reply.send(Reply::Exited(info));
            }
        });

        let api_shared = shared.clone();
        let listener_task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let s = api_shared.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let s = s.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle_api(s, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });

        let now = Instant::now();
        Ok((
            Arc::new(Env {
                pid,
                memory_mb: spec.memory_mb,
                log_stream: l.log_stream,
                init_duration_ms: Mutex::new(None),
                last_used: Mutex::new(now),
                frozen: AtomicBool::new(false),
                shared,
                invocations: inv_tx,
                group: l.group,
                tmp_dir: l.tmp_dir,
                listener_task,
                pipe_fd,
                pipes_open,
                credentials: l.credentials,
            }),
            init_rx,
        ))
    }

    /// Hands one invocation over; the reply arrives on the receiver.
    pub fn dispatch(&self, inv: Invocation, tail: bool) -> Option<oneshot::Receiver<Reply>> {
        let (tx, rx) = oneshot::channel();
        *self
            .shared
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Pending {
            request_id: inv.request_id.clone(),
            reply: tx,
        });
        *self.shared.tail.lock().unwrap_or_else(|p| p.into_inner()) =
            if tail { Some(String::new()) } else { None };
        // Capacity 1 and one invocation at a time: this never finds the channel full.
        self.invocations.try_send(inv).ok()?;
        Some(rx)
    }

    /// Waits until the log lines written before now have been read, then returns the
    /// invocation's tail. The runtime writes its lines before posting its answer, so
    /// they are in the pipe by the time the answer is here.
    pub async fn take_tail(&self) -> Option<String> {
        for _ in 0..200 {
            if !self.pipes_open.load(Ordering::Acquire) || self.pipe_bytes() == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        tokio::task::yield_now().await;
        self.shared
            .tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Appends a line of the platform's own (START, END, REPORT) to the tail.
    pub fn add_to_tail(&self, line: &str) {
        if let Some(t) = self
            .shared
            .tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            push_tail(t, line);
        }
    }

    fn pipe_bytes(&self) -> i32 {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int; the fd is the pipe the reader task still holds
        // open (callers check that the reader has not finished).
        if unsafe { libc::ioctl(self.pipe_fd, libc::FIONREAD, &mut n) } == 0 {
            n
        } else {
            0
        }
    }

    /// Drops any invocation left (after a timeout).
    pub fn clear_current(&self) {
        self.shared
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }

    pub fn signal(&self, sig: i32) {
        if self.pid > 0 {
            // SAFETY: kill has no memory-safety preconditions; the negative pid names the
            // environment's own process group.
            unsafe {
                libc::kill(-self.pid, sig);
            }
        }
    }

    /// Stops or continues the whole process group (see the `cgroup` module for why not
    /// the cgroup freezer).
    pub fn set_frozen(&self, frozen: bool) {
        self.signal(if frozen { libc::SIGSTOP } else { libc::SIGCONT });
        self.frozen.store(frozen, Ordering::Release);
    }

    /// Kills the environment at once and frees what it held.
    pub fn kill(&self) {
        self.shared.dead.store(true, Ordering::Release);
        if self.frozen.swap(false, Ordering::AcqRel) {
            self.set_frozen(false);
        }
        self.signal(libc::SIGKILL);
        self.cleanup();
    }

    /// SIGTERM, then SIGKILL after the grace period.
    pub async fn shutdown(&self, grace: std::time::Duration) {
        if self.frozen.swap(false, Ordering::AcqRel) {
            self.set_frozen(false);
        }
        self.signal(libc::SIGTERM);
        let until = Instant::now() + grace;
        while Instant::now() < until && !self.is_dead() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        self.kill();
    }

    fn cleanup(&self) {
        if let Some(c) = &self.credentials {
            c.revoke();
        }
        self.listener_task.abort();
        if let Some(g) = &self.group {
            g.destroy();
        }
        let _ = std::fs::remove_dir_all(&self.tmp_dir);
    }

    pub fn peak_memory_mb(&self) -> u64 {
        if let Some(b) = self.group.as_ref().and_then(|g| g.peak_bytes()) {
            return b / (1024 * 1024);
        }
        // Without a memory controller, the main process's high-water mark.
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
            .map(|kb| kb / 1024)
            .unwrap_or(0)
    }

    pub fn oom_killed(&self) -> bool {
        self.group.as_ref().is_some_and(|g| g.oom_killed())
    }
}

fn push_tail(t: &mut String, line: &str) {
    t.push_str(line);
    t.push('\n');
    if t.len() > TAIL_BYTES_MAX * 2 {
        let mut cut = t.len() - TAIL_BYTES_MAX;
        while !t.is_char_boundary(cut) {
            cut += 1;
        }
        t.drain(..cut);
    }
}

/// Runs in the child between fork and exec.
fn child_setup(parent: i32, fsize: u64, data_limit: Option<u64>) -> std::io::Result<()> {
    // SAFETY: plain syscalls on values owned by this closure; no allocation.
    unsafe {
        libc::setpgid(0, 0);
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
        // The server may have died between fork and prctl: then nobody would kill us.
        if libc::getppid() != parent {
            libc::_exit(1);
        }
        let set = |res, v: u64| {
            let l = libc::rlimit {
                rlim_cur: v as libc::rlim_t,
                rlim_max: v as libc::rlim_t,
            };
            libc::setrlimit(res, &l);
        };
        if fsize > 0 {
            set(libc::RLIMIT_FSIZE, fsize);
        }
        set(libc::RLIMIT_CORE, 0);
        set(libc::RLIMIT_NOFILE, 1024);
        if let Some(d) = data_limit {
            set(libc::RLIMIT_DATA, d);
        }
    }
    Ok(())
}

#[derive(Clone)]
struct LogCtx {
    sink: Arc<dyn LogSink>,
    region: String,
    group: String,
    stream: String,
    shared: Arc<Shared>,
}

async fn read_lines(pipe: impl AsyncRead + Unpin, log: LogCtx) -> std::io::Result<()> {
    let mut r = BufReader::with_capacity(64 * 1024, pipe);
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        let n = r.read_until(b'\n', &mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        buf.truncate(LOG_LINE_BYTES_MAX);
        let line = String::from_utf8_lossy(&buf).into_owned();
        if let Some(t) = log
            .shared
            .tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            push_tail(t, &line);
        }
        log.sink.emit(
            &log.region,
            &log.group,
            &log.stream,
            wire::time::now_ms(),
            line,
        );
    }
}

type ApiResponse = Response<Full<Bytes>>;

fn api_reply(status: StatusCode, body: &'static str) -> ApiResponse {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

async fn read_body(req: Request<Incoming>, max: usize) -> Result<Bytes, ()> {
    match Limited::new(req.into_body(), max).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(_) => Err(()),
    }
}

/// Relays a streamed response piece by piece to the invocation (which hands it on to
/// the caller); waits while the caller is slow, so the function is held back instead of
/// memory filling up. Errors the runtime reports in trailers end the stream.
async fn stream_response(req: Request<Incoming>, p: Pending) -> ApiResponse {
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (tx, rx) = mpsc::channel(16);
    let _ = p.reply.send(Reply::Stream {
        content_type,
        body: rx,
    });
    let mut body = req.into_body();
    let mut sent = 0usize;
    let mut end = None;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) if f.is_data() => {
                let Ok(d) = f.into_data() else { continue };
                sent += d.len();
                if sent > STREAM_BYTES_MAX {
                    end = Some("Function.ResponseSizeTooLarge".to_string());
                    break;
                }
                // The caller may be gone; the function still runs to its end.
                let _ = tx.send(StreamItem::Data(d)).await;
            }
            Ok(f) => {
                if let Ok(trailers) = f.into_trailers() {
                    if let Some(t) = trailers
                        .get("lambda-runtime-function-error-type")
                        .and_then(|v| v.to_str().ok())
                    {
                        end = Some(t.to_string());
                    }
                }
            }
            Err(_) => {
                end = Some("Runtime.StreamError".to_string());
                break;
            }
        }
    }
    let too_large = end.as_deref() == Some("Function.ResponseSizeTooLarge");
    let _ = tx.send(StreamItem::End(end)).await;
    if too_large {
        return api_reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            r#"{"errorMessage":"Exceeded maximum allowed payload size.","errorType":"RequestEntityTooLarge"}"#,
        );
    }
    api_reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}

fn take_pending(shared: &Shared, id: &str) -> Option<Pending> {
    let mut cur = shared.current.lock().unwrap_or_else(|p| p.into_inner());
    if cur.as_ref().is_some_and(|p| p.request_id == id) {
        cur.take()
    } else {
        None
    }
}

async fn handle_api(shared: Arc<Shared>, req: Request<Incoming>) -> ApiResponse {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return api_reply(
            StatusCode::NOT_FOUND,
            r#"{"errorMessage":"not found","errorType":"NotFound"}"#,
        );
    };
    let error_type = |req: &Request<Incoming>| {
        req.headers()
            .get("lambda-runtime-function-error-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("Unhandled")
            .to_owned()
    };
    match (req.method(), rest) {
        (&Method::GET, "invocation/next") => next(shared).await,
        (&Method::POST, "init/error") => {
            let et = error_type(&req);
            let body = read_body(req, ERROR_BYTES_MAX).await.unwrap_or_default();
            let tx = shared.init.lock().unwrap_or_else(|p| p.into_inner()).take();
            match tx {
                Some(tx) => {
                    let _ = tx.send(InitResult::Failed {
                        error_type: et,
                        body,
                    });
                    api_reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
                }
                None => api_reply(
                    StatusCode::FORBIDDEN,
                    r#"{"errorMessage":"Init already completed","errorType":"InvalidStateTransition"}"#,
                ),
            }
        }
        (&Method::POST, r) if r.starts_with("invocation/") => {
            let r = &r["invocation/".len()..];
            let (id, what) = match r.rsplit_once('/') {
                Some(x) => x,
                None => {
                    return api_reply(
                        StatusCode::NOT_FOUND,
                        r#"{"errorMessage":"not found","errorType":"NotFound"}"#,
                    )
                }
            };
            let id = id.to_owned();
            let streaming = req
                .headers()
                .get("lambda-runtime-function-response-mode")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"streaming"));
            match what {
                "response" if streaming => {
                    let Some(p) = take_pending(&shared, &id) else {
                        return api_reply(
                            StatusCode::BAD_REQUEST,
                            r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#,
                        );
                    };
                    stream_response(req, p).await
                }
                "response" => {
                    let body = read_body(req, RESPONSE_BYTES_MAX).await;
                    let Some(p) = take_pending(&shared, &id) else {
                        return api_reply(
                            StatusCode::BAD_REQUEST,
                            r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#,
                        );
                    };
                    match body {
                        Ok(b) => {
                            let _ = p.reply.send(Reply::Response(b));
                            api_reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
                        }
                        Err(()) => {
                            let _ = p.reply.send(Reply::TooLarge);
                            api_reply(
                                StatusCode::PAYLOAD_TOO_LARGE,
                                r#"{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}"#,
                            )
                        }
                    }
                }
                "error" => {
                    let et = error_type(&req);
                    let body = read_body(req, ERROR_BYTES_MAX).await.unwrap_or_default();
                    let Some(p) = take_pending(&shared, &id) else {
                        return api_reply(
                            StatusCode::BAD_REQUEST,
                            r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#,
                        );
                    };
                    let _ = p.reply.send(Reply::Error {
                        error_type: et,
                        body,
                    });
                    api_reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
                }
                _ => api_reply(
                    StatusCode::NOT_FOUND,
                    r#"{"errorMessage":"not found","errorType":"NotFound"}"#,
                ),
            }
        }
        _ => api_reply(
            StatusCode::NOT_FOUND,
            r#"{"errorMessage":"not found","errorType":"NotFound"}"#,
        ),
    }
}

async fn next(shared: Arc<Shared>) -> ApiResponse {
    let init = shared.init.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(tx) = init {
        let _ = tx.send(InitResult::Ready);
    }
    let inv = {
        let mut rx = shared.invocations.lock().await;
        rx.recv().await
    };
    let Some(inv) = inv else {
        // The environment is being retired; the process is about to be stopped.
        return std::future::pending().await;
    };
    let mut r = Response::new(Full::new(inv.payload));
    let h = r.headers_mut();
    let mut put = |name: &'static str, v: &str| {
        if let Ok(v) = http::HeaderValue::from_str(v) {
            h.insert(name, v);
        }
    };
    put("content-type", "application/json");
    put("lambda-runtime-aws-request-id", &inv.request_id);
    put("lambda-runtime-deadline-ms", &inv.deadline_ms.to_string());
    put("lambda-runtime-invoked-function-arn", &inv.invoked_arn);
    put("lambda-runtime-trace-id", &inv.trace_id);
    if let Some(c) = &inv.client_context {
        put("lambda-runtime-client-context", c);
    }
    if let Some(c) = &inv.cognito_identity {
        put("lambda-runtime-cognito-identity", c);
    }
    r
}

#[cfg(test)]
mod tests {
    #[test]
    fn tail_keeps_the_end() {
        let mut t = String::new();
        for i in 0..5000 {
            super::push_tail(&mut t, &format!("line {i}"));
        }
        assert!(t.len() <= super::TAIL_BYTES_MAX * 2);
        assert!(t.ends_with("line 4999\n"));
    }
}
