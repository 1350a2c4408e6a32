//! The closed-loop load generator: N workers, each on its own connection, each sending
//! its next request as soon as the last one is answered.

use crate::client::{Body, Client, PlainGet, Reply};
use anyhow::{bail, Context};
use bench::stats;
use http::Request;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Builds the next request; called once per request, so signing cost lands in the loop.
pub type MakeRequest = Arc<dyn Fn() -> Request<Body> + Send + Sync>;

/// Plain unsigned `GET`s with a Host header, for an HTTP entry point or the echo floor.
pub fn plain_gets(get: PlainGet) -> MakeRequest {
    Arc::new(move || get.request())
}

/// One measured point.
#[derive(Debug, Clone)]
pub struct Point {
    pub concurrency: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub rps: f64,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// Whether a reply is a successful invoke: a `200` that is not a function error.
fn is_ok(r: &Reply) -> bool {
    r.status == 200 && !r.headers.contains_key("x-amz-function-error")
}

fn describe(r: &Reply) -> String {
    let body = String::from_utf8_lossy(&r.body);
    let body: String = body.chars().take(300).collect();
    format!("status {}: {body}", r.status)
}

async fn connect_all(addr: SocketAddr, n: usize) -> anyhow::Result<Vec<Client>> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(Client::connect(addr).await?);
    }
    Ok(clients)
}

/// Runs `concurrency` workers for `warmup` and then `measure`. Only requests sent during
/// `measure` count. Latency is timed from after the request is built (and signed) to the
/// last byte of the response; throughput counts every request completed in the window,
/// so building and signing do slow it down.
pub async fn run(
    addr: SocketAddr,
    concurrency: usize,
    warmup: Duration,
    measure: Duration,
    make: MakeRequest,
) -> anyhow::Result<Point> {
    let clients = connect_all(addr, concurrency).await?;
    let measure_from = Instant::now() + warmup;
    let until = measure_from + measure;
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let mut tasks = Vec::with_capacity(concurrency);
    for mut client in clients {
        let make = make.clone();
        let errors = errors.clone();
        let first_error = first_error.clone();
        tasks.push(tokio::spawn(async move {
            // Sized for a fast server so the vector rarely grows inside the window.
            let mut samples: Vec<u32> = Vec::with_capacity(1 << 16);
            loop {
                let req = make();
                let t0 = Instant::now();
                if t0 >= until {
                    break;
                }
                let reply = client.send(req).await;
                let took = t0.elapsed();
                match reply {
                    Ok(r) if is_ok(&r) => {
                        if t0 >= measure_from {
                            samples.push(u32::try_from(took.as_nanos()).unwrap_or(u32::MAX));
                        }
                    }
                    other => {
                        if t0 >= measure_from {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                        let msg = match other {
                            Ok(r) => describe(&r),
                            Err(e) => format!("{e:#}"),
                        };
                        let mut first = first_error.lock().unwrap_or_else(|p| p.into_inner());
                        first.get_or_insert(msg);
                        // A broken connection stays broken; stop this worker.
                        if client.is_closed() {
                            break;
                        }
                    }
                }
            }
            samples
        }));
    }
    let mut all: Vec<u32> = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    stats::sort(&mut all);
    let us = |p: f64| stats::percentile(&all, p).map_or(f64::NAN, |ns| f64::from(ns) / 1000.0);
    let first_error = first_error.lock().unwrap_or_else(|p| p.into_inner()).take();
    if all.is_empty() {
        bail!(
            "no successful request at concurrency {concurrency}: {}",
            first_error.as_deref().unwrap_or("no request completed")
        );
    }
    Ok(Point {
        concurrency,
        p50_us: us(50.0),
        p99_us: us(99.0),
        rps: all.len() as f64 / measure.as_secs_f64(),
        errors: errors.load(Ordering::Relaxed),
        first_error,
    })
}

/// What warming up took.
#[derive(Debug, Clone, Copy)]
pub struct Warm {
    pub took: Duration,
    pub cold_starts: u64,
}

/// Sends invokes that ask for the log tail at `concurrency` until at least `min` has
/// passed and no invoke has started a new environment for `quiet`: by then the
/// function has as many environments as this concurrency needs.
pub async fn warm_environments(
    addr: SocketAddr,
    concurrency: usize,
    make_tail: MakeRequest,
    min: Duration,
    quiet: Duration,
    max: Duration,
) -> anyhow::Result<Warm> {
    let clients = connect_all(addr, concurrency).await?;
    let start = Instant::now();
    let last_cold_ns = Arc::new(AtomicU64::new(0));
    let cold_starts = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(concurrency);
    for mut client in clients {
        let make = make_tail.clone();
        let last_cold_ns = last_cold_ns.clone();
        let cold_starts = cold_starts.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let now = start.elapsed();
                let last_cold = Duration::from_nanos(last_cold_ns.load(Ordering::Relaxed));
                if (now >= min && now.saturating_sub(last_cold) >= quiet) || now >= max {
                    return Ok::<_, anyhow::Error>(());
                }
                let r = client.send(make()).await.context("warm-up invoke")?;
                if !is_ok(&r) {
                    bail!("warm-up invoke failed: {}", describe(&r));
                }
                if crate::api::tail_report(&r)
                    .and_then(|rep| rep.init_ms)
                    .is_some()
                {
                    cold_starts.fetch_add(1, Ordering::Relaxed);
                    let at = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    last_cold_ns.fetch_max(at, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(Warm {
        took: start.elapsed(),
        cold_starts: cold_starts.load(Ordering::Relaxed),
    })
}
