//! The `eddy` binary: parses settings, opens the store, assembles the services behind the
//! edge, and runs until told to stop.

mod internal;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use sha2::Digest;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Eddy: the AWS serverless stack in one binary.
#[derive(Parser, Debug)]
#[command(name = "eddy", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs the platform: every API on one port, state in the data dir.
    Server(ServerArgs),
}

/// Every setting is also an environment variable `EDDY_<NAME>`.
#[derive(Args, Debug, Clone)]
struct ServerArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "EDDY_LISTEN", default_value = "127.0.0.1:4566")]
    listen: SocketAddr,
    /// Where all state lives: database, code, blobs.
    #[arg(long, env = "EDDY_DATA_DIR", default_value = "./.eddy")]
    data_dir: PathBuf,
    /// Access key id clients must sign with (default on loopback: `test`).
    #[arg(long, env = "EDDY_ACCESS_KEY_ID")]
    access_key_id: Option<String>,
    /// Secret of --access-key-id (default on loopback: `test`).
    #[arg(long, env = "EDDY_SECRET_ACCESS_KEY", hide_env_values = true)]
    secret_access_key: Option<String>,
    /// Delay before the first retry of a failed async invocation; later ones double it.
    #[arg(long, env = "EDDY_ASYNC_RETRY_BASE_DELAY_MS", default_value_t = 60_000)]
    async_retry_base_delay_ms: u64,
    /// Idle environments are stopped after this long.
    #[arg(long, env = "EDDY_IDLE_TIMEOUT_MS", default_value_t = 300_000)]
    idle_timeout_ms: u64,
    /// Idle environments are frozen after this long (0 freezes at once).
    #[arg(long, env = "EDDY_FREEZE_AFTER_MS", default_value_t = 1_000)]
    freeze_after_ms: u64,
    /// Sum of MemorySize over live environments [default: 80% of the host's memory].
    #[arg(long, env = "EDDY_MEMORY_BUDGET_MB")]
    memory_budget_mb: Option<u64>,
    /// Concurrent environments across all functions (Lambda's account limit).
    #[arg(long, env = "EDDY_ACCOUNT_CONCURRENCY", default_value_t = 1000)]
    account_concurrency: u32,
    /// Folder with boto3 and its dependencies for Python functions.
    #[arg(long, env = "EDDY_PYTHON_SDK_PATH")]
    python_sdk_path: Option<PathBuf>,
    /// Folder whose node_modules holds the AWS SDK v3 for Node functions.
    #[arg(long, env = "EDDY_NODE_SDK_PATH")]
    node_sdk_path: Option<PathBuf>,
    /// Where SDK installs are cached, shared by every data dir [default: ~/.cache/eddy].
    #[arg(long, env = "EDDY_SDK_CACHE_DIR")]
    sdk_cache_dir: Option<PathBuf>,
    /// Install the AWS SDKs that managed runtimes provide (boto3, @aws-sdk/client-*) from
    /// the package registries on first use.
    #[arg(long, env = "EDDY_SDK_INSTALL", default_value_t = true, action = clap::ArgAction::Set)]
    sdk_install: bool,
    /// Interpreter for Python runtimes.
    #[arg(long, env = "EDDY_PYTHON", default_value = "python3")]
    python: String,
    /// Interpreter for Node.js runtimes.
    #[arg(long, env = "EDDY_NODE", default_value = "node")]
    node: String,
    /// Function logs older than this are deleted.
    #[arg(long, env = "EDDY_LOG_RETENTION_DAYS", default_value_t = 7)]
    log_retention_days: u64,
    /// Limit environments with cgroups when the host allows it.
    #[arg(long, env = "EDDY_CGROUPS", default_value_t = true, action = clap::ArgAction::Set)]
    cgroups: bool,
    /// The master key that wraps the keys of stored secrets and SecureString parameters
    /// (32 bytes, base64). Without it, a key is created in the data dir on first start
    /// (`master.key`, readable by the owner only); keep that file with the data.
    #[arg(long, env = "EDDY_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
    /// The port of the parameters and secrets endpoint functions read (AWS's extension
    /// uses 2773; 0 picks a free port). Functions find it in
    /// `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`.
    #[arg(long, env = "EDDY_PARAMETERS_SECRETS_PORT", default_value_t = 2773)]
    parameters_secrets_port: u16,
    /// Largest single S3 PUT, in bytes (S3's 5 GiB); larger objects use multipart uploads.
    #[arg(long, env = "EDDY_S3_PUT_BYTES_MAX", default_value_t = 5 * 1024 * 1024 * 1024)]
    s3_put_bytes_max: u64,
    /// Largest request body read, in bytes.
    #[arg(long, env = "EDDY_BODY_BYTES_MAX", default_value_t = 80 * 1024 * 1024)]
    body_bytes_max: usize,
    /// The longest pause allowed while a request body arrives, in milliseconds; a client
    /// that pauses longer gets 408 and the connection is closed.
    #[arg(long, env = "EDDY_BODY_IDLE_TIMEOUT_MS", default_value_t = 30_000)]
    body_idle_timeout_ms: u64,
    /// Connections served at once.
    #[arg(long, env = "EDDY_CONNECTIONS_MAX", default_value_t = 4096)]
    connections_max: usize,
    /// Server log level: error, warn, info, debug or trace.
    #[arg(long, env = "EDDY_LOG_LEVEL", default_value = "info")]
    log_level: tracing::Level,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Server(args) => {
            tracing_subscriber::fmt()
                .with_max_level(args.log_level)
                .with_writer(std::io::stderr)
                .with_target(false)
                .init();
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("eddy")
                .build()?;
            rt.block_on(server(args))
        }
    }
}

fn default_cache_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(x).join("eddy");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cache/eddy"),
        None => PathBuf::from(".eddy-cache"),
    }
}

fn host_memory_mb() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages <= 0 || size <= 0 {
        return 4096;
    }
    (pages as u64 * size as u64) / (1024 * 1024)
}

async fn server(args: ServerArgs) -> anyhow::Result<()> {
    let credentials = match (&args.access_key_id, &args.secret_access_key) {
        (Some(k), Some(s)) => vec![(k.clone(), s.clone())],
        (None, None) => {
            if !args.listen.ip().is_loopback() {
                bail!(
                    "refusing to listen on {} without credentials: set --access-key-id and --secret-access-key \
                     (or EDDY_ACCESS_KEY_ID and EDDY_SECRET_ACCESS_KEY); the default test/test key is only accepted on a loopback address",
                    args.listen
                );
            }
            vec![("test".to_string(), "test".to_string())]
        }
        _ => bail!("set both --access-key-id and --secret-access-key, or neither"),
    };

    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data dir {}", args.data_dir.display()))?;
    let data_dir = args.data_dir.canonicalize()?;
    let db = Arc::new(
        store::SqliteStore::open(&data_dir.join("eddy.db"))
            .with_context(|| format!("opening the database in {}", data_dir.display()))?,
    );
    let blobs = Arc::new(store::FsBlobStore::open(data_dir.join("blobs"))?);
    let master_key = Arc::new(match &args.master_key {
        Some(k) => crypto::MasterKey::from_base64(k).context("--master-key")?,
        None => crypto::MasterKey::load_or_create(&data_dir.join("master.key"))?,
    });

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let reach = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let endpoint = format!("http://{reach}");

    let sink = runtime::logsink::StoreSink::start(db.clone());
    let dir_hash = hex::encode(&sha2::Sha256::digest(data_dir.as_os_str().as_encoded_bytes())[..6]);
    let identity = wire::identity::Credentials::new(credentials);
    // Bound before the runtime starts so environments can be told its port; a port in
    // use (another server on this machine) leaves functions without it, not the server.
    let paramcache_listener = match tokio::net::TcpListener::bind((
        "127.0.0.1",
        args.parameters_secrets_port,
    ))
    .await
    {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(
                    "the parameters and secrets endpoint cannot listen on port {}: {e}; set --parameters-secrets-port",
                    args.parameters_secrets_port
                );
            None
        }
    };
    let mut extra_env = vec![("AWS_ENDPOINT_URL".to_string(), endpoint.clone())];
    if let Some(port) = paramcache_listener
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port())
    {
        extra_env.push((
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT".into(),
            port.to_string(),
        ));
    }
    let rt_cfg = runtime::RuntimeConfig {
        envs_dir: data_dir.join("envs"),
        bootstrap_dir: data_dir.join("runtime"),
        python: args.python.clone(),
        node: args.node.clone(),
        sdk: runtime::sdk::SdkConfig {
            python_path: args.python_sdk_path.clone(),
            node_path: args.node_sdk_path.clone(),
            cache_dir: args.sdk_cache_dir.clone().unwrap_or_else(default_cache_dir),
            install: args.sdk_install,
            python: args.python.clone(),
        },
        memory_budget_mb: args.memory_budget_mb.unwrap_or(host_memory_mb() * 8 / 10),
        account_concurrency: args.account_concurrency,
        idle_timeout_ms: args.idle_timeout_ms,
        init_timeout_ms: 10_000,
        freeze_after_ms: args.freeze_after_ms,
        shutdown_grace_ms: 500,
        pids_max: 1024,
        cgroup_name: format!("eddy-{dir_hash}"),
        use_cgroups: args.cgroups,
        extra_env,
        credentials: Some(identity.clone()),
    };
    let runtime = runtime::Runtime::new(rt_cfg, sink.clone())?;
    let delivery = delivery::Delivery::new(
        db.clone(),
        Arc::new(wire::time::SystemClock),
        Default::default(),
    );
    let lambda = lambda::Lambda::new(
        db.clone(),
        blobs.clone(),
        runtime.clone(),
        delivery.clone(),
        lambda::LambdaConfig {
            code_dir: data_dir.join("code"),
            unpack_limits: Default::default(),
            async_retry_base_delay_ms: args.async_retry_base_delay_ms as i64,
            account_concurrency: args.account_concurrency,
            public_base: Some(reach.to_string()),
        },
    );
    delivery.register(
        lambda::model::ASYNC_KIND,
        lambda::LambdaDeliverer::new(lambda.clone()),
    );

    let events = events::Events::open(
        db.clone(),
        db.clone(),
        delivery.clone(),
        Arc::new(wire::time::SystemClock),
        events::EventsConfig {
            retry_base_delay_ms: args.async_retry_base_delay_ms as i64,
            ..Default::default()
        },
    )
    .context("loading event buses, rules and schedules")?;
    let events_deliverer = events::EventsDeliverer::new(events.clone());
    delivery.register(events::TARGET_KIND, events_deliverer.clone());
    delivery.register(events::PUT_KIND, events_deliverer);

    let internal = Arc::new(internal::Internal::new(
        blobs.clone(),
        runtime.clone(),
        delivery.clone(),
        events.clone(),
    ));
    let mut edge = edge::Edge::new(
        edge::EdgeConfig {
            credentials: identity.clone(),
            body_bytes_max: args.body_bytes_max,
            body_idle_timeout_ms: args.body_idle_timeout_ms,
            connections_max: args.connections_max,
        },
        internal.clone(),
    );
    edge.register("logs", Arc::new(logs::Logs::new(db.clone())));
    edge.register("events", Arc::new(events.clone()));
    let clock: Arc<dyn wire::time::Clock> = Arc::new(wire::time::SystemClock);
    edge.register(
        "sts",
        Arc::new(sts::Sts::new(identity.clone(), clock.clone())),
    );
    let ssm: Arc<dyn wire::Service> = Arc::new(
        ssm::Ssm::open(db.clone(), master_key.clone(), clock.clone())
            .context("loading parameters")?,
    );
    let secrets_api = secrets::Secrets::open(
        db.clone(),
        master_key.clone(),
        clock.clone(),
        Some(Arc::new(LambdaRotator(lambda.clone()))),
    )
    .context("loading secrets")?;
    let secrets: Arc<dyn wire::Service> = Arc::new(secrets_api.clone());
    edge.register("ssm", ssm.clone());
    edge.register("secretsmanager", secrets.clone());
    let paramcache = paramcache::ParamCache::new(identity.clone(), ssm, secrets, clock.clone());
    edge.register(
        "scheduler",
        Arc::new(events::Scheduler::new(events.clone())),
    );
    let http_apis = apigw::HttpApis::open(
        db.clone(),
        clock.clone(),
        apigw::ApigwConfig {
            public_base: Some(reach.to_string()),
            ..Default::default()
        },
    )
    .context("loading HTTP APIs")?;
    edge.register("apigateway", Arc::new(http_apis.clone()));
    edge.set_front_door(Arc::new(frontdoor::FrontDoors::new(
        lambda.clone(),
        Some(http_apis.clone()),
    )));
    edge.register(
        "s3",
        Arc::new(s3::S3::new(
            db.clone(),
            db.clone(),
            blobs.clone(),
            delivery.clone(),
            s3::S3Config {
                put_bytes_max: args.s3_put_bytes_max,
                ..Default::default()
            },
        )),
    );
    let sqs = sqs::Sqs::open(
        db.clone(),
        clock.clone(),
        sqs::SqsConfig {
            public_base: Some(endpoint.clone()),
        },
    )
    .context("loading queues")?;
    delivery.register(
        delivery::events::SQS_SEND_KIND,
        sqs::SqsDeliverer::new(sqs.clone()),
    );
    edge.register("sqs", Arc::new(sqs.clone()));
    let sns = sns::Sns::open(
        db.clone(),
        delivery.clone(),
        sqs.clone(),
        clock.clone(),
        sns::SnsConfig {
            public_base: endpoint.clone(),
        },
    )
    .context("loading topics and subscriptions")?;
    let sns_deliverer = sns::SnsDeliverer::new(sns.clone());
    delivery.register(sns::DELIVER_KIND, sns_deliverer.clone());
    delivery.register(delivery::events::SNS_PUBLISH_KIND, sns_deliverer);
    internal.set_sns(sns.clone());
    edge.register("sns", Arc::new(sns));
    let mappings = esm::Mappings::open(db.clone(), lambda.clone(), sqs.clone(), clock.clone())
        .context("loading event source mappings")?;
    edge.register(
        "lambda",
        Arc::new(esm::LambdaFront {
            lambda: Arc::new(lambda.clone()),
            mappings: mappings.clone(),
        }),
    );
    let edge = Arc::new(edge);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tasks = vec![
        tokio::spawn(delivery.clone().run(stop_rx.clone())),
        tokio::spawn(events.clone().run_timers(stop_rx.clone())),
        tokio::spawn(secrets_api.run_schedule(stop_rx.clone())),
        tokio::spawn(runtime.clone().run_reaper(stop_rx.clone())),
        tokio::spawn(prune_logs(
            db.clone(),
            args.log_retention_days,
            stop_rx.clone(),
        )),
        tokio::spawn(sweep_blobs(db.clone(), blobs.clone(), stop_rx.clone())),
    ];
    let server = tokio::spawn(edge.clone().serve(listener, stop_rx.clone()));
    mappings.start();
    if let Some(l) = paramcache_listener {
        tokio::spawn(paramcache.serve(l, stop_rx.clone()));
    }

    println!(
        "eddy {} listening on {endpoint} (data: {}, services: {}, limits: {})",
        env!("CARGO_PKG_VERSION"),
        data_dir.display(),
        edge.service_names().join(", "),
        runtime.limits_description()
    );
    let port = reach.port();
    println!(
        "HTTP APIs answer at http://<api-id>.execute-api.localhost:{port}/ and function URLs at \
         http://<url-id>.lambda-url.<region>.localhost:{port}/ (or {endpoint}/_eddy/apis/<api-id>/, \
         {endpoint}/_eddy/urls/<url-id>/)"
    );

    wait_for_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    mappings.stop();
    let _ = server.await;
    runtime.shutdown().await;
    for t in tasks {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), t).await;
    }
    Ok(())
}

/// Deletes blobs no record names (uploads cut off by a crash, replaced objects whose
/// delete was interrupted), once at start and then hourly. Only blobs older than an hour
/// go, so uploads in flight are never touched.
async fn sweep_blobs(
    db: Arc<store::SqliteStore>,
    blobs: Arc<store::FsBlobStore>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use store::ObjectStore;
    loop {
        let (d, b) = (db.clone(), blobs.clone());
        let swept = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
            let referenced: std::collections::HashSet<String> =
                d.referenced_blobs()?.into_iter().collect();
            Ok(b.sweep("objects", &referenced, std::time::Duration::from_secs(3600))?)
        })
        .await;
        match swept {
            Ok(Ok(n)) if n > 0 => tracing::info!("deleted {n} orphaned blobs"),
            Ok(Err(e)) => tracing::warn!("blob sweep failed: {e}"),
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Runs Secrets Manager's rotation functions on Lambda.
struct LambdaRotator(lambda::Lambda);

impl secrets::Rotator for LambdaRotator {
    fn invoke<'a>(
        &'a self,
        function_arn: &'a str,
        payload: Vec<u8>,
    ) -> wire::BoxFuture<'a, Result<(), String>> {
        Box::pin(self.0.invoke_function(function_arn, payload))
    }

    fn can_invoke(&self, function_arn: &str) -> bool {
        self.0.can_invoke(function_arn)
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn prune_logs(
    db: Arc<store::SqliteStore>,
    days: u64,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use store::LogStore;
    loop {
        let cutoff = wire::time::now_ms() - (days as i64) * 86_400_000;
        let d = db.clone();
        match tokio::task::spawn_blocking(move || d.prune(cutoff)).await {
            Ok(Ok(n)) if n > 0 => tracing::info!("deleted {n} log events older than {days} days"),
            Ok(Err(e)) => tracing::warn!("log pruning failed: {e}"),
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
    }
}
