//! `eddy-bench`: measures Eddy's start-up, warm invoke latency and throughput, the HTTP
//! entry points in front of functions, and cold starts against a bare HTTP baseline on
//! the same machine, and prints a Markdown report.

mod api;
mod client;
mod echo;
mod entry;
mod load;
mod machine;
mod report;
mod server;

use anyhow::{bail, Context};
use bench::{startup_line, stats};
use clap::Parser;
use http::Method;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Benchmarks an Eddy binary and prints a Markdown report.
#[derive(Parser, Debug)]
#[command(name = "eddy-bench")]
struct Args {
    /// The Eddy binary to measure.
    #[arg(long, default_value = "target/release/eddy")]
    eddy: PathBuf,
    /// The no-op runtime packaged as the Rust function [default: noop-bootstrap next to
    /// this binary].
    #[arg(long)]
    bootstrap: Option<PathBuf>,
    /// Python interpreter Eddy runs Python functions with [default: the binary behind
    /// `python3`, resolved past version-manager shims].
    #[arg(long)]
    python: Option<String>,
    /// Seconds measured per load point.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Smoke test: 1 s per point and fewer repetitions.
    #[arg(long)]
    quick: bool,
    /// Also write the report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Measure only the HTTP entry points (function URL, HTTP API, echo floor) and print
    /// their progress lines, without a report: for working on that path.
    #[arg(long)]
    entry_only: bool,
}

/// How much of everything to do.
struct Plan {
    startups: usize,
    rss_starts: usize,
    idle_before_rss: Duration,
    warmup: Duration,
    measure: Duration,
    sign_calls: usize,
    cold_runs: usize,
    concurrency: [usize; 3],
}

impl Plan {
    fn new(args: &Args) -> Self {
        let full = !args.quick;
        Self {
            startups: if full { 20 } else { 5 },
            rss_starts: if full { 5 } else { 2 },
            idle_before_rss: Duration::from_millis(if full { 500 } else { 200 }),
            warmup: Duration::from_millis(if full { 1000 } else { 300 }),
            measure: Duration::from_secs(if full { args.seconds.max(1) } else { 1 }),
            sign_calls: if full { 20_000 } else { 2_000 },
            cold_runs: if full { 10 } else { 3 },
            concurrency: [1, 16, 64],
        }
    }
}

fn progress(msg: impl std::fmt::Display) {
    eprintln!("eddy-bench: {msg}");
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let plan = Plan::new(&args);
    let eddy = std::fs::canonicalize(&args.eddy)
        .with_context(|| format!("finding the Eddy binary {}", args.eddy.display()))?;
    let bootstrap_path = match &args.bootstrap {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("locating this binary's directory")?
            .join("noop-bootstrap"),
    };
    let bootstrap = std::fs::read(&bootstrap_path).with_context(|| {
        format!(
            "reading {} (build it with `cargo build --release -p bench`)",
            bootstrap_path.display()
        )
    })?;
    let python = args.python.clone().or_else(machine::real_python);
    let env: Vec<(&str, &str)> = python
        .as_deref()
        .map(|p| ("EDDY_PYTHON", p))
        .into_iter()
        .collect();

    let machine = machine::Machine::probe(python.as_deref());
    let date = bench::date::utc_minute(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    );
    let t0 = Instant::now();
    if args.entry_only {
        return entry_only(&eddy, &env, &plan, &bootstrap);
    }

    let startup = measure_startup(&eddy, &env, &plan)?;

    // The long-running server for everything else, started before the client runtime
    // so its start-up is not measured against a busy process.
    let server = server::Eddy::start(&eddy, &env)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("eddy-bench")
        .build()?;
    let results = rt.block_on(async {
        let sign_us = signing_cost(&server, plan.sign_calls);
        progress(format!("signing: {sign_us:.1} µs per request (median)"));
        let baseline = baseline(&plan).await?;
        let (warm, rss_after_warm_kib, environments_after_warm) =
            warm_invokes(&server, &plan, &bootstrap).await?;
        // While the Rust function's environments are still warm from the invokes, and
        // before the cold starts retire them.
        let entry = entry::measure(&server, &plan).await.map_err(|e| {
            progress(format!("HTTP entry points not measured: {e:#}"));
            format!("{e:#}")
        });
        let cold = cold_starts(&server, &plan).await?;
        Ok::<_, anyhow::Error>(report::Results {
            machine,
            date,
            seconds: plan.measure.as_secs_f64(),
            quick: args.quick,
            startup,
            sign_us,
            baseline,
            warm,
            rss_after_warm_kib,
            environments_after_warm,
            cold,
            entry,
        })
    });
    let stopped = server.stop();
    drop(rt);
    let results = results?;
    if let Ok(took) = stopped {
        progress(format!(
            "loaded server stopped {} ms after SIGTERM",
            took.as_millis()
        ));
    }
    progress(format!("done in {:.0} s", t0.elapsed().as_secs_f64()));

    let md = results.markdown();
    print!("{md}");
    if let Some(out) = &args.out {
        std::fs::write(out, &md).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

/// The HTTP entry points alone, in front of a freshly created Rust no-op.
fn entry_only(
    eddy: &std::path::Path,
    env: &[(&str, &str)],
    plan: &Plan,
    bootstrap: &[u8],
) -> anyhow::Result<()> {
    let server = server::Eddy::start(eddy, env)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("eddy-bench")
        .build()?;
    let measured = rt.block_on(async {
        let signer = client::Signer::new(server.addr);
        let mut admin = client::Client::connect(server.addr).await?;
        api::create(&mut admin, &signer, &api::rust_noop(bootstrap)?).await?;
        entry::measure(&server, plan).await.map(|_| ())
    });
    server.stop()?;
    drop(rt);
    measured
}

/// Start-up time over fresh data dirs, then idle resident memory.
fn measure_startup(
    eddy: &std::path::Path,
    env: &[(&str, &str)],
    plan: &Plan,
) -> anyhow::Result<report::Startup> {
    let mut startup_ms = Vec::with_capacity(plan.startups);
    let mut stop_ms = Vec::with_capacity(plan.startups);
    for _ in 0..plan.startups {
        let s = server::Eddy::start(eddy, env)?;
        startup_ms.push(s.startup.as_secs_f64() * 1000.0);
        stop_ms.push(s.stop()?.as_secs_f64() * 1000.0);
    }
    let mut rss = Vec::with_capacity(plan.rss_starts);
    for _ in 0..plan.rss_starts {
        let s = server::Eddy::start(eddy, env)?;
        std::thread::sleep(plan.idle_before_rss);
        rss.push(s.rss_kib()?);
        s.stop()?;
    }
    stats::sort(&mut startup_ms);
    let st = report::Startup {
        runs: startup_ms.len(),
        median_ms: stats::percentile(&startup_ms, 50.0).unwrap_or(f64::NAN),
        p90_ms: stats::percentile(&startup_ms, 90.0).unwrap_or(f64::NAN),
        stop_median_ms: stats::median(&stop_ms).unwrap_or(f64::NAN),
        rss_runs: rss.len(),
        rss_median_kib: stats::median(&rss).unwrap_or(0),
    };
    progress(format!(
        "start-up: median {:.2} ms, p90 {:.2} ms, idle RSS {:.1} MiB",
        st.median_ms,
        st.p90_ms,
        st.rss_median_kib as f64 / 1024.0
    ));
    Ok(st)
}

/// Median cost of one SigV4 signature over an Invoke request.
fn signing_cost(server: &server::Eddy, calls: usize) -> f64 {
    let signer = client::Signer::new(server.addr);
    let path = api::invoke_path("bench-rust-noop");
    let mut ns: Vec<u64> = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        let h = signer.sign("POST", &path, b"{}");
        ns.push(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
        std::hint::black_box(h);
    }
    stats::median(&ns).map_or(f64::NAN, |n| n as f64 / 1000.0)
}

async fn baseline(plan: &Plan) -> anyhow::Result<Vec<load::Point>> {
    let echo = echo::Echo::start()?;
    let signer = client::Signer::new(echo.addr);
    let path = api::invoke_path("bench-rust-noop");
    let make: load::MakeRequest = Arc::new(move || {
        signer.unsigned(Method::POST, &path, bytes::Bytes::from_static(b"{}"), &[])
    });
    let mut points = Vec::new();
    for c in plan.concurrency {
        let p = load::run(echo.addr, c, plan.warmup, plan.measure, make.clone()).await?;
        progress(format!(
            "baseline c={c}: p50 {:.1} µs, p99 {:.1} µs, {:.0}/s",
            p.p50_us, p.p99_us, p.rps
        ));
        points.push(p);
    }
    Ok(points)
}

type WarmOutcome = (Vec<report::WarmSeries>, Option<u64>, Option<String>);

async fn warm_invokes(
    server: &server::Eddy,
    plan: &Plan,
    bootstrap: &[u8],
) -> anyhow::Result<WarmOutcome> {
    let signer = client::Signer::new(server.addr);
    let mut admin = client::Client::connect(server.addr).await?;
    let functions = [api::rust_noop(bootstrap)?, api::python_hello()?];
    let mut series = Vec::new();
    for f in &functions {
        api::create(&mut admin, &signer, f).await?;
        let mut points = Vec::new();
        for c in plan.concurrency {
            let (s, name) = (signer.clone(), f.name);
            let tail: load::MakeRequest = Arc::new(move || api::invoke(&s, name, true));
            let warm = load::warm_environments(
                server.addr,
                c,
                tail,
                plan.warmup,
                Duration::from_millis(500),
                Duration::from_secs(60),
            )
            .await
            .with_context(|| format!("warming {} at concurrency {c}", f.name))?;
            let s = signer.clone();
            let make: load::MakeRequest = Arc::new(move || api::invoke(&s, name, false));
            // A short warm-up of its own, so connections and caches are hot before
            // the window opens.
            let p = load::run(
                server.addr,
                c,
                Duration::from_millis(200),
                plan.measure,
                make,
            )
            .await
            .with_context(|| format!("invoking {} at concurrency {c}", f.name))?;
            progress(format!(
                "{} c={c}: p50 {:.1} µs, p99 {:.1} µs, {:.0}/s, {} errors (warm-up {:.1} s, {} cold)",
                f.name,
                p.p50_us,
                p.p99_us,
                p.rps,
                p.errors,
                warm.took.as_secs_f64(),
                warm.cold_starts
            ));
            points.push((p, warm));
        }
        series.push(report::WarmSeries {
            label: f.label,
            points,
        });
    }
    let rss = server.rss_kib().ok();
    let health = server.health_body().ok();
    Ok((series, rss, health))
}

async fn cold_starts(server: &server::Eddy, plan: &Plan) -> anyhow::Result<Vec<report::Cold>> {
    let signer = client::Signer::new(server.addr);
    let mut admin = client::Client::connect(server.addr).await?;
    let mut out = Vec::new();
    let functions = [
        ("bench-rust-noop", "Rust no-op (provided.al2023)"),
        ("bench-python-hello", "Python hello (python3.12)"),
    ];
    for (name, label) in functions {
        let mut end_to_end = Vec::new();
        let mut init = Vec::new();
        let mut duration = Vec::new();
        let mut share = Vec::new();
        let mut before_main = Vec::new();
        let mut own_init = Vec::new();
        let mut share_with_start = Vec::new();
        // The first round is discarded: it also tears down everything the warm runs left.
        for run in 0..=plan.cold_runs {
            api::retire_environments(&mut admin, &signer, name, &format!("cold start {run}"))
                .await?;
            // Let the retired environments finish exiting so their teardown does not
            // compete with the start being measured.
            tokio::time::sleep(Duration::from_millis(if run == 0 { 1000 } else { 100 })).await;
            let mut c = client::Client::connect(server.addr).await?;
            let req = api::invoke(&signer, name, true);
            let sent_us = startup_line::now_us();
            let t = Instant::now();
            let r = c.send(req).await?;
            let e2e = t.elapsed().as_secs_f64() * 1000.0;
            if r.status != 200 || r.headers.contains_key("x-amz-function-error") {
                bail!(
                    "cold invoke of {name} failed with {}: {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                );
            }
            let rep = api::tail_report(&r)
                .with_context(|| format!("no REPORT line in the log tail of {name}"))?;
            let Some(init_ms) = rep.init_ms else {
                bail!(
                    "the invoke of {name} after UpdateFunctionConfiguration was not a cold start"
                );
            };
            if run == 0 {
                continue;
            }
            end_to_end.push(e2e);
            init.push(init_ms);
            duration.push(rep.duration_ms);
            share.push(e2e - init_ms - rep.duration_ms);
            if let Some((main_us, next_us)) =
                api::tail_text(&r).and_then(|t| startup_line::parse(&t))
            {
                let runtime_ms = next_us.saturating_sub(main_us) as f64 / 1000.0;
                before_main.push(main_us.saturating_sub(sent_us) as f64 / 1000.0);
                own_init.push(runtime_ms);
                share_with_start.push(e2e - runtime_ms - rep.duration_ms);
            }
        }
        let med = |v: &[f64]| stats::median(v).unwrap_or(f64::NAN);
        let opt = |v: &[f64]| stats::median(v);
        let cold = report::Cold {
            label,
            runs: end_to_end.len(),
            end_to_end_ms: med(&end_to_end),
            init_ms: med(&init),
            duration_ms: med(&duration),
            eddy_share_ms: med(&share),
            before_main_ms: opt(&before_main),
            runtime_init_ms: opt(&own_init),
            eddy_share_with_start_ms: opt(&share_with_start),
        };
        progress(format!(
            "{name} cold: end-to-end {:.2} ms, init {:.2} ms, duration {:.2} ms, Eddy {:.2} ms{}",
            cold.end_to_end_ms,
            cold.init_ms,
            cold.duration_ms,
            cold.eddy_share_ms,
            cold.eddy_share_with_start_ms
                .map(|s| format!(" ({s:.2} ms counting process start as Eddy's)"))
                .unwrap_or_default()
        ));
        out.push(cold);
    }
    Ok(out)
}
