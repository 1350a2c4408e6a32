//! HTTP entry points in front of functions: plain unsigned `GET`s through a function URL
//! and through an API Gateway HTTP API's `$default` route to the warm Rust no-op, each
//! next to the bare echo server sent the same request in the same run, as the floor.

use crate::client::{Client, PlainGet, Signer};
use crate::report::{EntryPoints, EntrySeries};
use crate::{api, echo, load, progress, server, Plan};
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;

/// The function behind both entry points (created by the warm runs).
const FUNCTION: &str = "bench-rust-noop";
const API_NAME: &str = "bench-http-api";

pub async fn measure(server: &server::Eddy, plan: &Plan) -> anyhow::Result<EntryPoints> {
    let lambda = Signer::new(server.addr);
    let mut admin = Client::connect(server.addr).await?;

    let url = api::create_function_url(&mut admin, &lambda, FUNCTION).await?;
    let url_get = PlainGet::new(
        api::authority(&url.url).with_context(|| format!("no host in {}", url.url))?,
        "/",
    )?;
    progress(format!("function URL: {}", url.url));

    let apigw = Signer::for_service(server.addr, "apigateway");
    let api_get = match api::create_http_api(&mut admin, &apigw, API_NAME, &url.function_arn).await
    {
        Ok(a) => {
            progress(format!("HTTP API {}: {}", a.api_id, a.endpoint));
            api::authority(&a.endpoint)
                .with_context(|| format!("no host in {}", a.endpoint))
                .and_then(|host| PlainGet::new(host, "/"))
                .map_err(|e| format!("{e:#}"))
        }
        Err(e) => Err(format!("{e:#}")),
    };

    let mut floor = series("Echo floor", &url_get, Ok(()));
    let mut by_url = series(
        "Function URL",
        &url_get,
        probe(server, &url_get).await.map_err(|e| format!("{e:#}")),
    );
    let mut by_api = match &api_get {
        Ok(get) => series(
            "HTTP API",
            get,
            probe(server, get).await.map_err(|e| format!("{e:#}")),
        ),
        Err(e) => EntrySeries {
            label: "HTTP API",
            request: "GET / with Host: <api-id>.execute-api.localhost:<port>".into(),
            points: Vec::new(),
            failure: Some(e.clone()),
        },
    };
    for s in [&by_url, &by_api] {
        if let Some(why) = &s.failure {
            progress(format!("{} not measured: {why}", s.label));
        }
    }

    let echo = echo::Echo::start()?;
    for c in plan.concurrency {
        // The entry points share the function's environments with Invoke: warm as many
        // as this concurrency needs with signed invokes, which say when one starts.
        let s = lambda.clone();
        let tail: load::MakeRequest = Arc::new(move || api::invoke(&s, FUNCTION, true));
        let warm = load::warm_environments(
            server.addr,
            c,
            tail,
            Duration::from_millis(200),
            Duration::from_millis(500),
            Duration::from_secs(60),
        )
        .await
        .with_context(|| format!("warming {FUNCTION} at concurrency {c}"))?;
        if warm.cold_starts > 0 {
            progress(format!(
                "{FUNCTION} c={c}: {} environments started while warming",
                warm.cold_starts
            ));
        }
        // The floor first, then each entry point, so a drift in the machine's state
        // shows as a drift across concurrencies rather than between the rows compared.
        run(&mut floor, echo.addr, c, plan, &url_get).await;
        run(&mut by_url, server.addr, c, plan, &url_get).await;
        if let Ok(get) = &api_get {
            run(&mut by_api, server.addr, c, plan, get).await;
        }
    }
    Ok(EntryPoints {
        floor,
        url: by_url,
        api: by_api,
    })
}

fn series(label: &'static str, get: &PlainGet, ready: Result<(), String>) -> EntrySeries {
    EntrySeries {
        label,
        request: get.describe(),
        points: Vec::new(),
        failure: ready.err(),
    }
}

/// One load point; a failure ends the series (its later points are not measured).
async fn run(
    s: &mut EntrySeries,
    addr: std::net::SocketAddr,
    c: usize,
    plan: &Plan,
    get: &PlainGet,
) {
    if s.failure.is_some() {
        return;
    }
    let make = load::plain_gets(get.clone());
    match load::run(addr, c, plan.warmup, plan.measure, make).await {
        Ok(p) => {
            progress(format!(
                "{} c={c}: p50 {:.1} µs, p99 {:.1} µs, {:.0}/s, {} errors",
                s.label, p.p50_us, p.p99_us, p.rps, p.errors
            ));
            s.points.push(p);
        }
        Err(e) => {
            let why = format!("at concurrency {c}: {e:#}");
            progress(format!("{}: {why}", s.label));
            s.failure = Some(why);
        }
    }
}

/// One request to an entry point before loading it: an answer other than `200` is
/// reported whole (status, headers, body) instead of as a load point's error count.
async fn probe(server: &server::Eddy, get: &PlainGet) -> anyhow::Result<()> {
    let mut c = Client::connect(server.addr).await?;
    let r = c.send(get.request()).await?;
    if r.status == 200 {
        return Ok(());
    }
    anyhow::bail!("{} answered {}", get.describe(), r.whole())
}
