//! Wall-clock formatting in the shapes AWS APIs use, and a clock trait so time can be
//! controlled in tests.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the current time comes from.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> i64;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        now_ms()
    }
}

/// A clock that only moves when told to, for tests.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(ms: i64) -> Self {
        Self(AtomicI64::new(ms))
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The calendar arithmetic, shared with SigV4's date handling.
pub use sigv4::{civil_from_days, days_from_civil};

struct Parts {
    y: i64,
    mo: u32,
    d: u32,
    h: i64,
    mi: i64,
    s: i64,
    ms: i64,
}

fn parts(ms: i64) -> Parts {
    let secs = ms.div_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    Parts {
        y,
        mo,
        d,
        h: sod / 3600,
        mi: sod % 3600 / 60,
        s: sod % 60,
        ms: ms.rem_euclid(1000),
    }
}

/// `2024-05-01T12:00:00.000+0000`, Lambda's `LastModified` shape.
pub fn lambda_timestamp(ms: i64) -> String {
    let p = parts(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms
    )
}

/// `2024-05-01T12:00:00.000Z`.
pub fn iso8601_ms(ms: i64) -> String {
    let p = parts(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms
    )
}

/// `2024-05-01T12:00:00Z`.
pub fn iso8601(ms: i64) -> String {
    let p = parts(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        p.y, p.mo, p.d, p.h, p.mi, p.s
    )
}

/// `Wed, 01 May 2024 12:00:00 GMT`, the HTTP date (RFC 7231 IMF-fixdate).
pub fn http_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let p = parts(ms);
    let weekday = DAYS[ms.div_euclid(86_400_000).rem_euclid(7) as usize];
    format!(
        "{weekday}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        p.d,
        MONTHS[(p.mo - 1) as usize],
        p.y,
        p.h,
        p.mi,
        p.s
    )
}

/// Parses an HTTP date (`Wed, 01 May 2024 12:00:00 GMT`, also the RFC 850 and asctime
/// forms HTTP allows) to milliseconds since the epoch.
pub fn parse_http_date(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let words: Vec<&str> = s.split([' ', ',', '-']).filter(|w| !w.is_empty()).collect();
    // IMF-fixdate and RFC 850: weekday day month year time GMT; asctime: weekday month day time year.
    let (day, month, year, time) = match words.as_slice() {
        [_, d, m, y, t, ..] if d.parse::<u32>().is_ok() => (*d, *m, *y, *t),
        [_, m, d, t, y] => (*d, *m, *y, *t),
        _ => return None,
    };
    let day: u32 = day.parse().ok()?;
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? as u32 + 1;
    let mut year: i64 = year.parse().ok()?;
    if year < 100 {
        year += if year < 70 { 2000 } else { 1900 };
    }
    let mut t = time.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, sec) = (t.next()??, t.next()??, t.next()??);
    if !(1..=31).contains(&day) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some((days_from_civil(year, month, day) * 86_400 + h * 3600 + mi * 60 + sec) * 1000)
}

/// `2024/05/01`, the date prefix of Lambda's log stream names.
pub fn slash_date(ms: i64) -> String {
    let p = parts(ms);
    format!("{:04}/{:02}/{:02}", p.y, p.mo, p.d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        // 2021-03-04T05:06:07.089Z
        let ms = 1_614_834_367_089;
        assert_eq!(lambda_timestamp(ms), "2021-03-04T05:06:07.089+0000");
        assert_eq!(iso8601_ms(ms), "2021-03-04T05:06:07.089Z");
        assert_eq!(iso8601(ms), "2021-03-04T05:06:07Z");
        assert_eq!(slash_date(ms), "2021/03/04");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(http_date(ms), "Thu, 04 Mar 2021 05:06:07 GMT");
        assert_eq!(
            parse_http_date("Thu, 04 Mar 2021 05:06:07 GMT"),
            Some(ms - 89)
        );
        assert_eq!(
            parse_http_date("Thursday, 04-Mar-21 05:06:07 GMT"),
            Some(ms - 89)
        );
        assert_eq!(parse_http_date("Thu Mar  4 05:06:07 2021"), Some(ms - 89));
        assert_eq!(parse_http_date("garbage"), None);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(5);
        assert_eq!(c.now_ms(), 5);
        c.advance(10);
        assert_eq!(c.now_ms(), 15);
    }
}
