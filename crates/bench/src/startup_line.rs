//! The one log line the no-op bootstrap writes, during its first invocation: when its
//! `main()` started and when it asked for its first event, in Unix microseconds. With it
//! the benchmark can split a cold start's `Init Duration` into the platform's part
//! (starting the process) and the function's own part, which `REPORT` lumps together.

const PREFIX: &str = "noop-bootstrap started:";

/// The line, as the bootstrap prints it.
pub fn format(main_us: u64, first_next_us: u64) -> String {
    format!("{PREFIX} main_us={main_us} first_next_us={first_next_us}")
}

/// Reads `(main_us, first_next_us)` back out of a log tail.
pub fn parse(tail: &str) -> Option<(u64, u64)> {
    let line = tail.lines().find_map(|l| l.split(PREFIX).nth(1))?;
    let mut main_us = None;
    let mut next_us = None;
    for field in line.split_whitespace() {
        match field.split_once('=') {
            Some(("main_us", v)) => main_us = v.parse().ok(),
            Some(("first_next_us", v)) => next_us = v.parse().ok(),
            _ => {}
        }
    }
    Some((main_us?, next_us?))
}

/// Microseconds since the Unix epoch on the system clock, which every process on the
/// machine shares; that is what makes times from two processes comparable.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_inside_a_tail() {
        // Eddy may prefix function log lines; the parser must not care.
        let tail = format!(
            "START RequestId: x\n2024-01-01T00:00:00Z x {}\nEND RequestId: x\n",
            format(1_000, 1_250)
        );
        assert_eq!(parse(&tail), Some((1_000, 1_250)));
        assert_eq!(parse("START RequestId: x\n"), None);
        assert_eq!(parse("noop-bootstrap started: main_us=5"), None);
    }
}
