//! Measures matching throughput against 10, 100 and 1000 rules.
//!
//! Usage: `cargo run --release -p pattern --example bench`
//!
//! Rules look like typical EventBridge rules: most pin `source` (and often
//! `detail-type`) and add content filters; a tenth pin nothing and must be
//! evaluated for every event. Prints the median of several runs for the
//! indexed `RuleSet` and, for comparison, for checking every pattern in turn.

use std::hint::black_box;
use std::time::Instant;

use pattern::{Pattern, RuleSet};
use serde_json::{json, Value};

const RUNS: usize = 7;
const EVENTS: usize = 256;
const SOURCES: u64 = 50;

/// A small deterministic generator, so runs are comparable.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

fn rule(i: u64, rng: &mut Lcg) -> String {
    let source = format!("app.svc{}", rng.next(SOURCES));
    match i % 10 {
        0 => r#"{"detail": {"customer": {"tier": [{"anything-but": ["free", "trial"]}]}, "amount": [{"numeric": [">", 900]}]}}"#.to_string(),
        1 | 2 => format!(
            r#"{{"source": ["{source}"], "detail-type": ["Order{}"], "detail": {{"amount": [{{"numeric": [">", {}, "<=", 1000]}}], "region": [{{"prefix": "eu-"}}]}}}}"#,
            rng.next(5),
            rng.next(500)
        ),
        3 => format!(
            r#"{{"source": ["{source}"], "$or": [{{"detail": {{"status": ["FAILED", "TIMED_OUT"]}}}}, {{"detail": {{"retries": [{{"numeric": [">=", 3]}}]}}}}]}}"#
        ),
        4 => format!(
            r#"{{"source": ["{source}"], "resources": [{{"wildcard": "arn:aws:s3:::bucket-{}/*"}}]}}"#,
            rng.next(20)
        ),
        5 => format!(
            r#"{{"source": ["{source}"], "detail": {{"items": {{"sku": [{{"prefix": "SKU-{}"}}], "qty": [{{"numeric": [">", 1]}}]}}}}}}"#,
            rng.next(10)
        ),
        _ => format!(
            r#"{{"source": ["{source}"], "detail-type": ["Order{}"], "detail": {{"customer": {{"tier": ["gold", "silver"]}}}}}}"#,
            rng.next(5)
        ),
    }
}

fn event(rng: &mut Lcg) -> Value {
    let statuses = ["OK", "FAILED", "TIMED_OUT", "PENDING"];
    let tiers = ["free", "trial", "gold", "silver", "bronze"];
    let regions = ["eu-west-1", "us-east-1", "eu-central-1", "ap-south-1"];
    let items: Vec<Value> = (0..rng.next(4))
        .map(|_| json!({"sku": format!("SKU-{}-{}", rng.next(10), rng.next(1000)), "qty": rng.next(5)}))
        .collect();
    json!({
        "version": "0",
        "id": format!("{:08x}-0000-0000-0000-000000000000", rng.next(1 << 32)),
        "detail-type": format!("Order{}", rng.next(5)),
        "source": format!("app.svc{}", rng.next(SOURCES)),
        "account": "123456789012",
        "time": "2024-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [format!("arn:aws:s3:::bucket-{}/key/{}", rng.next(20), rng.next(100))],
        "detail": {
            "amount": rng.next(1000) as f64 + 0.5,
            "region": regions[rng.next(4) as usize],
            "status": statuses[rng.next(4) as usize],
            "retries": rng.next(5),
            "customer": {"id": rng.next(100000), "tier": tiers[rng.next(5) as usize]},
            "items": items
        }
    })
}

/// Events per second for each run, sorted.
fn measure(events: &[Value], mut match_one: impl FnMut(&Value) -> usize) -> Vec<f64> {
    // Enough rounds that one run takes a noticeable time even for few rules.
    let rounds = 20;
    let mut rates = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let mut total = 0;
        for _ in 0..rounds {
            for e in events {
                total += match_one(e);
            }
        }
        black_box(total);
        rates.push((rounds * events.len()) as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    rates
}

fn main() {
    let mut rng = Lcg(42);
    let events: Vec<Value> = (0..EVENTS).map(|_| event(&mut rng)).collect();
    println!("{EVENTS} distinct events, median of {RUNS} runs");
    for count in [10u64, 100, 1000] {
        let mut rng = Lcg(7);
        let patterns: Vec<Pattern> = (0..count)
            .map(|i| {
                let text = rule(i, &mut rng);
                Pattern::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
            })
            .collect();
        let mut rules = RuleSet::new();
        for (i, p) in patterns.iter().enumerate() {
            rules.insert(i, p.clone());
        }
        // The index must not change answers: compare with the plain loop first.
        for e in &events {
            let one_by_one: Vec<usize> = (0..patterns.len())
                .filter(|&i| patterns[i].matches(e))
                .collect();
            assert_eq!(rules.matching(e), one_by_one, "event {e}");
        }
        let matched: usize = events.iter().map(|e| rules.matching(e).len()).sum();
        let indexed = measure(&events, |e| rules.matching(e).len());
        let naive = measure(&events, |e| {
            patterns.iter().filter(|p| p.matches(e)).count()
        });
        let median = |v: &[f64]| v[v.len() / 2];
        println!(
            "{count:>5} rules: RuleSet {:>10.0} events/s ({:>6.2} µs/event) | one by one {:>10.0} events/s | {:.2} matches/event",
            median(&indexed),
            1e6 / median(&indexed),
            median(&naive),
            matched as f64 / events.len() as f64
        );
    }
}
