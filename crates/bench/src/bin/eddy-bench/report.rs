//! The Markdown report: every measured number, the machine it was measured on, and
//! each target with whether this run met it.

use crate::load::{Point, Warm};
use crate::machine::Machine;
use std::fmt::Write;

pub struct Startup {
    pub runs: usize,
    pub median_ms: f64,
    pub p90_ms: f64,
    pub stop_median_ms: f64,
    pub rss_runs: usize,
    pub rss_median_kib: u64,
}

pub struct WarmSeries {
    pub label: &'static str,
    pub points: Vec<(Point, Warm)>,
}

pub struct Cold {
    pub label: &'static str,
    pub runs: usize,
    pub end_to_end_ms: f64,
    pub init_ms: f64,
    pub duration_ms: f64,
    pub eddy_share_ms: f64,
    /// Invoke sent to the runtime's `main()`: only known for the no-op bootstrap, which
    /// logs when it started.
    pub before_main_ms: Option<f64>,
    /// The runtime's own init: `main()` to asking for the first event.
    pub runtime_init_ms: Option<f64>,
    /// End-to-end minus the runtime's own init and the handler: Eddy's share when
    /// starting the process (cgroup, fork, exec) counts as Eddy's, as it should.
    pub eddy_share_with_start_ms: Option<f64>,
}

/// One HTTP entry point, or the echo floor, at each concurrency.
pub struct EntrySeries {
    pub label: &'static str,
    /// What each request is.
    pub request: String,
    pub points: Vec<Point>,
    /// Why the series is missing, or stops before the last concurrency.
    pub failure: Option<String>,
}

impl EntrySeries {
    fn at(&self, concurrency: usize) -> Option<&Point> {
        self.points.iter().find(|p| p.concurrency == concurrency)
    }
}

pub struct EntryPoints {
    pub floor: EntrySeries,
    pub url: EntrySeries,
    pub api: EntrySeries,
}

/// The entry points' targets: p50 under this many times the echo floor's...
const ENTRY_P50_FLOOR_RATIO_MAX: f64 = 3.0;
/// ...and more than this many requests per second at [`ENTRY_RPS_CONCURRENCY`].
const ENTRY_RPS_MIN: f64 = 10_000.0;
const ENTRY_RPS_CONCURRENCY: usize = 16;

impl EntryPoints {
    /// The targets for one entry point, `None` where it was not measured.
    fn targets(&self, s: &EntrySeries) -> [(String, String, Option<bool>); 2] {
        let ratios: Vec<(usize, f64)> = s
            .points
            .iter()
            .filter_map(|p| {
                let f = self.floor.at(p.concurrency)?;
                Some((p.concurrency, p.p50_us / f.p50_us))
            })
            .collect();
        let all = self.floor.points.len();
        let p50 = (
            format!(
                "{} → Rust no-op: p50 < {ENTRY_P50_FLOOR_RATIO_MAX}× the echo floor's p50 at every concurrency",
                s.label
            ),
            if ratios.is_empty() {
                "not measured".to_string()
            } else {
                ratios
                    .iter()
                    .map(|(c, r)| format!("{r:.2}× at {c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            (!ratios.is_empty()).then(|| {
                ratios.len() == all && ratios.iter().all(|(_, r)| *r < ENTRY_P50_FLOOR_RATIO_MAX)
            }),
        );
        let at = s.at(ENTRY_RPS_CONCURRENCY);
        let rps = (
            format!(
                "{} → Rust no-op: > {} requests/s at concurrency {ENTRY_RPS_CONCURRENCY}",
                s.label,
                grouped(ENTRY_RPS_MIN)
            ),
            at.map_or_else(|| "not measured".into(), |p| format!("{:.0}/s", p.rps)),
            at.map(|p| p.rps > ENTRY_RPS_MIN),
        );
        [p50, rps]
    }
}

pub struct Results {
    pub machine: Machine,
    pub date: String,
    pub seconds: f64,
    pub quick: bool,
    pub startup: Startup,
    pub sign_us: f64,
    pub baseline: Vec<Point>,
    pub warm: Vec<WarmSeries>,
    pub rss_after_warm_kib: Option<u64>,
    pub environments_after_warm: Option<String>,
    pub cold: Vec<Cold>,
    /// The HTTP entry points, or why they could not be set up.
    pub entry: Result<EntryPoints, String>,
}

fn us(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        // One decimal still: 100.4 ms against a 100 ms target must not print as 100.
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn yes(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "not measured",
    }
}

/// A whole number with thousands separated by commas, as the targets are written.
fn grouped(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// One target: what it is, what was measured, whether it was met (`None`: it could
/// not be measured).
struct Target {
    what: String,
    measured: String,
    met: Option<bool>,
}

impl Results {
    fn baseline_at(&self, concurrency: usize) -> Option<&Point> {
        self.baseline.iter().find(|p| p.concurrency == concurrency)
    }

    fn targets(&self) -> Vec<Target> {
        let mut t = Vec::new();
        if let Some(rust) = self.warm.first() {
            let at = |c: usize| rust.points.iter().find(|(p, _)| p.concurrency == c);
            if let Some((p, _)) = at(1) {
                t.push(Target {
                    what: format!("{}: warm p50 at concurrency 1 < 150 µs", rust.label),
                    measured: format!("{} µs", us(p.p50_us)),
                    met: Some(p.p50_us < 150.0),
                });
            }
            if let Some((p, _)) = at(16) {
                t.push(Target {
                    what: format!("{}: > 10,000 invocations/s at concurrency 16", rust.label),
                    measured: format!("{:.0}/s", p.rps),
                    met: Some(p.rps > 10_000.0),
                });
            }
        }
        for c in &self.cold {
            t.push(Target {
                what: format!(
                    "{}: Eddy's share of a cold start (end-to-end − Init Duration − Duration) < 5 ms",
                    c.label
                ),
                measured: format!("{} ms", ms(c.eddy_share_ms)),
                met: Some(c.eddy_share_ms < 5.0),
            });
            if let Some(v) = c.eddy_share_with_start_ms {
                t.push(Target {
                    what: format!(
                        "{}: same, but counting process start-up (cgroup, fork, exec) as Eddy's < 5 ms",
                        c.label
                    ),
                    measured: format!("{} ms", ms(v)),
                    met: Some(v < 5.0),
                });
            }
        }
        if let Some(py) = self.cold.iter().find(|c| c.label.starts_with("Python")) {
            t.push(Target {
                what: format!("{}: cold start < 100 ms end to end", py.label),
                measured: format!("{} ms", ms(py.end_to_end_ms)),
                met: Some(py.end_to_end_ms < 100.0),
            });
        }
        if let Ok(e) = &self.entry {
            for series in [&e.api, &e.url] {
                for (what, measured, met) in e.targets(series) {
                    t.push(Target {
                        what,
                        measured,
                        met,
                    });
                }
            }
        }
        t.push(Target {
            what: "Start-up to healthy < 20 ms (median)".into(),
            measured: format!("{} ms", ms(self.startup.median_ms)),
            met: Some(self.startup.median_ms < 20.0),
        });
        t.push(Target {
            what: "Idle server resident memory < 20 MB".into(),
            measured: format!("{:.1} MiB", mib(self.startup.rss_median_kib)),
            met: Some(mib(self.startup.rss_median_kib) < 20.0),
        });
        t
    }

    fn write_entry_points(&self, s: &mut String) -> std::fmt::Result {
        writeln!(s, "\n## HTTP entry points\n")?;
        let e = match &self.entry {
            Ok(e) => e,
            Err(why) => {
                writeln!(s, "Not measured: `{}`", why.replace('`', "'"))?;
                return Ok(());
            }
        };
        writeln!(
            s,
            "Plain unsigned `GET /` over keep-alive connections to Eddy's port, the entry point \
             named by the Host header, answered by the warm Rust no-op (its `{{}}` becomes \
             `200` with body `{{}}`). The echo floor is the bare HTTP server of the baseline, \
             sent the same requests in the same run just before each entry point at the same \
             concurrency. Ratios are to the floor at the same concurrency.\n"
        )?;
        for series in [&e.floor, &e.url, &e.api] {
            writeln!(s, "- {}: `{}`", series.label, series.request)?;
        }
        writeln!(
            s,
            "\n| Entry point | Concurrency | Requests/s | p50 µs | p99 µs | p50 ÷ floor | p99 ÷ floor | Requests/s ÷ floor | Errors |"
        )?;
        writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        let concurrencies: Vec<usize> = e.floor.points.iter().map(|p| p.concurrency).collect();
        for c in concurrencies {
            let floor = e.floor.at(c);
            for series in [&e.floor, &e.url, &e.api] {
                let Some(p) = series.at(c) else {
                    writeln!(s, "| {} | {c} | not measured | | | | | | |", series.label)?;
                    continue;
                };
                let ratio = |f: fn(&Point) -> f64| match floor {
                    Some(b) if !std::ptr::eq(b, p) => format!("{:.2}×", f(p) / f(b)),
                    _ => "–".into(),
                };
                writeln!(
                    s,
                    "| {} | {c} | {:.0} | {} | {} | {} | {} | {} | {} |",
                    series.label,
                    p.rps,
                    us(p.p50_us),
                    us(p.p99_us),
                    ratio(|p| p.p50_us),
                    ratio(|p| p.p99_us),
                    ratio(|p| p.rps),
                    p.errors
                )?;
            }
        }
        for series in [&e.floor, &e.url, &e.api] {
            if let Some(why) = &series.failure {
                writeln!(
                    s,
                    "\n{} not measured: `{}`",
                    series.label,
                    why.replace('`', "'")
                )?;
            }
            if let Some(first) = series
                .points
                .iter()
                .filter(|p| p.errors > 0)
                .find_map(|p| p.first_error.as_ref())
            {
                writeln!(
                    s,
                    "\n{}: first error seen: `{}`",
                    series.label,
                    first.replace('`', "'")
                )?;
            }
        }
        let verdict = |series: &EntrySeries| {
            let t = e.targets(series);
            let met = match (t[0].2, t[1].2) {
                (Some(a), Some(b)) => Some(a && b),
                _ => None,
            };
            let how = match met {
                Some(true) => "met",
                Some(false) => "**not met**",
                None => "not measured",
            };
            format!(
                "{}: {how} (p50 ÷ floor: {}; {})",
                series.label, t[0].1, t[1].1
            )
        };
        writeln!(
            s,
            "\nTargets (p50 under {ENTRY_P50_FLOOR_RATIO_MAX}× the echo floor's at every concurrency, \
             and over {} requests/s at concurrency {ENTRY_RPS_CONCURRENCY}): {}; {}.",
            grouped(ENTRY_RPS_MIN),
            verdict(&e.api),
            verdict(&e.url)
        )?;
        Ok(())
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_markdown(&mut s);
        s
    }

    fn write_markdown(&self, s: &mut String) -> std::fmt::Result {
        let m = &self.machine;
        writeln!(s, "# Eddy benchmark\n")?;
        writeln!(s, "- Date: {}", self.date)?;
        writeln!(
            s,
            "- Eddy commit: {}",
            m.commit.as_deref().unwrap_or("unknown")
        )?;
        writeln!(
            s,
            "- Machine: {} CPUs, {}, {} memory, Linux {}",
            m.cpus, m.model, m.mem_total, m.kernel
        )?;
        writeln!(s, "- Load average when the run started: {}", m.load)?;
        writeln!(
            s,
            "- Python interpreter for python3.12 functions: {}",
            m.python.as_deref().unwrap_or("unknown")
        )?;
        writeln!(
            s,
            "- Load points: {} s each after warm-up{}; client, server and functions share the machine",
            self.seconds,
            if self.quick { " (--quick)" } else { "" }
        )?;

        writeln!(s, "\n## Targets\n")?;
        writeln!(s, "| Target | Measured | Met |")?;
        writeln!(s, "|---|---:|:-:|")?;
        for t in self.targets() {
            writeln!(s, "| {} | {} | {} |", t.what, t.measured, yes(t.met))?;
        }

        let st = &self.startup;
        writeln!(s, "\n## Server start-up\n")?;
        writeln!(s, "| Metric | Value |")?;
        writeln!(s, "|---|---:|")?;
        writeln!(
            s,
            "| Spawn to first healthy response, median of {} | {} ms |",
            st.runs,
            ms(st.median_ms)
        )?;
        writeln!(s, "| Same, p90 | {} ms |", ms(st.p90_ms))?;
        writeln!(
            s,
            "| Resident memory when idle (VmRSS), median of {} | {:.1} MiB |",
            st.rss_runs,
            mib(st.rss_median_kib)
        )?;
        writeln!(
            s,
            "| SIGTERM to exit, idle server, median | {} ms |",
            ms(st.stop_median_ms)
        )?;
        if let Some(kib) = self.rss_after_warm_kib {
            writeln!(
                s,
                "| Resident memory after the warm runs (server process only) | {:.1} MiB |",
                mib(kib)
            )?;
        }

        writeln!(s, "\n## Baseline: bare HTTP server in the bench process\n")?;
        writeln!(
            s,
            "Same client, same request shape, no signing and no Lambda work: \
             the floor set by the machine, the kernel's loopback and the client.\n"
        )?;
        writeln!(s, "| Concurrency | p50 µs | p99 µs | Requests/s |")?;
        writeln!(s, "|---:|---:|---:|---:|")?;
        for p in &self.baseline {
            writeln!(
                s,
                "| {} | {} | {} | {:.0} |",
                p.concurrency,
                us(p.p50_us),
                us(p.p99_us),
                p.rps
            )?;
        }

        writeln!(s, "\n## Warm invoke\n")?;
        writeln!(
            s,
            "Signed `Invoke` with payload `{{}}`; every request is signed anew \
             (median signing cost: {} µs per request, included in throughput but not in latency).\n",
            us(self.sign_us)
        )?;
        writeln!(
            s,
            "| Function | Concurrency | p50 µs | p99 µs | Invokes/s | p50 ÷ baseline | Throughput ÷ baseline | Errors | Warm-up |"
        )?;
        writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---|")?;
        for series in &self.warm {
            for (p, w) in &series.points {
                let (lat_ratio, tput_ratio) = match self.baseline_at(p.concurrency) {
                    Some(b) => (
                        format!("{:.1}×", p.p50_us / b.p50_us),
                        format!("{:.2}", p.rps / b.rps),
                    ),
                    None => ("–".into(), "–".into()),
                };
                writeln!(
                    s,
                    "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {:.1} s, {} cold |",
                    series.label,
                    p.concurrency,
                    us(p.p50_us),
                    us(p.p99_us),
                    p.rps,
                    lat_ratio,
                    tput_ratio,
                    p.errors,
                    w.took.as_secs_f64(),
                    w.cold_starts
                )?;
            }
        }
        let errors: Vec<String> = self
            .warm
            .iter()
            .flat_map(|w| &w.points)
            .filter(|(p, _)| p.errors > 0)
            .filter_map(|(p, _)| p.first_error.clone())
            .collect();
        if !errors.is_empty() {
            writeln!(s, "\nFirst error seen: `{}`", errors[0].replace('`', "'"))?;
        }
        if let Some(envs) = &self.environments_after_warm {
            writeln!(s, "\nHealth after the warm runs: `{envs}`")?;
        }

        self.write_entry_points(s)?;

        writeln!(s, "\n## Cold start\n")?;
        writeln!(
            s,
            "Each run retires the function's environments (UpdateFunctionConfiguration with a new \
             Description), then times one signed invoke with `X-Amz-Log-Type: Tail`. \
             Eddy's share = end-to-end − Init Duration − Duration, per run. \
             Eddy's Init Duration starts before the runtime process is created, so it also holds \
             Eddy's own process start-up; the no-op bootstrap logs when its `main()` ran, which \
             splits that out for the Rust function. All columns are medians.\n"
        )?;
        writeln!(
            s,
            "| Function | Runs | End-to-end ms | Init Duration ms | Duration ms | Eddy's share ms \
             | Sent → runtime main() ms | Runtime's own init ms | Eddy's share incl. process start ms |"
        )?;
        writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        let or_dash = |v: Option<f64>| v.map_or_else(|| "–".to_string(), ms);
        for c in &self.cold {
            writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                c.label,
                c.runs,
                ms(c.end_to_end_ms),
                ms(c.init_ms),
                ms(c.duration_ms),
                ms(c.eddy_share_ms),
                or_dash(c.before_main_ms),
                or_dash(c.runtime_init_ms),
                or_dash(c.eddy_share_with_start_ms),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn groups_thousands() {
        assert_eq!(grouped(0.0), "0");
        assert_eq!(grouped(999.0), "999");
        assert_eq!(grouped(10_000.0), "10,000");
        assert_eq!(grouped(1_234_567.4), "1,234,567");
        assert_eq!(grouped(-1_000.0), "-1,000");
    }
}
