//! Reads Lambda's `REPORT` log line, as returned base64-encoded in `X-Amz-Log-Result`
//! when an invoke asks for `X-Amz-Log-Type: Tail`.

/// The timings of one invocation's `REPORT` line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// `Duration`: the handler's own run time.
    pub duration_ms: f64,
    /// `Init Duration`: only present when the invoke started a new environment.
    pub init_ms: Option<f64>,
}

/// Finds the last `REPORT` line in a decoded log tail and reads its timings.
///
/// Fields are tab-separated `Name: value unit`. Matching whole field names matters:
/// `Billed Duration` and `Init Duration` both end in `Duration`.
pub fn parse(tail: &str) -> Option<Report> {
    let line = tail.lines().rev().find(|l| l.starts_with("REPORT "))?;
    let mut duration_ms = None;
    let mut init_ms = None;
    for field in line.split('\t') {
        let Some((name, value)) = field.trim().split_once(": ") else {
            continue;
        };
        let ms = || value.trim().strip_suffix("ms")?.trim().parse::<f64>().ok();
        match name {
            "Duration" => duration_ms = ms(),
            "Init Duration" => init_ms = ms(),
            _ => {}
        }
    }
    Some(Report {
        duration_ms: duration_ms?,
        init_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cold_report() {
        let tail = "START RequestId: a Version: $LATEST\nEND RequestId: a\n\
                    REPORT RequestId: a\tDuration: 0.42 ms\tBilled Duration: 1 ms\t\
                    Memory Size: 128 MB\tMax Memory Used: 3 MB\tInit Duration: 12.50 ms\n";
        assert_eq!(
            parse(tail),
            Some(Report {
                duration_ms: 0.42,
                init_ms: Some(12.5)
            })
        );
    }

    #[test]
    fn warm_report_and_garbage() {
        let warm = "REPORT RequestId: b\tDuration: 3.00 ms\tBilled Duration: 3 ms";
        assert_eq!(
            parse(warm),
            Some(Report {
                duration_ms: 3.0,
                init_ms: None
            })
        );
        assert_eq!(parse("no report here"), None);
        assert_eq!(parse("REPORT RequestId: c\tBilled Duration: 1 ms"), None);
    }
}
