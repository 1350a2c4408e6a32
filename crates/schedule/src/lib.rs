//! Schedule expressions: rate, cron and at; next firing times in a time zone (pure, no IO).
//!
//! This is the decision core behind EventBridge scheduled rules and EventBridge Scheduler
//! schedules. It parses `ScheduleExpression` strings and answers one question: when does this
//! schedule fire next after a given instant? The caller owns the clock, the stored schedules,
//! `StartDate`/`EndDate` bounds and the invocation itself. Times cross the API as i64
//! milliseconds since the Unix epoch (UTC).
//!
//! The only outside data read is the time zone database, through `jiff`: the system copy
//! (`/usr/share/zoneinfo`), or the copy bundled with `jiff` where the system has none.
//!
//! # Expressions
//!
//! - `rate(value unit)`: every `value` minutes, hours or days of elapsed time, counted from an
//!   anchor the caller gives (when the rule was created, or the schedule's `StartDate`).
//!   Rules want `rate(1 minute)` but `rate(5 minutes)`; Scheduler documents plural units only,
//!   so it takes a plural unit with any value and a singular one with 1.
//! - `cron(minutes hours day-of-month month day-of-week year)`: AWS's six-field, Quartz-style
//!   cron, with `, - * / ? L W #`, names `JAN`-`DEC` and `SUN`-`SAT` (1 = Sunday), years
//!   1970-2199, minute precision. Exactly one of day-of-month and day-of-week is `?`.
//!   Ranges may wrap (`FRI-MON`, hours `22-2`) as in Quartz.
//! - `at(yyyy-mm-ddThh:mm:ss)`: Scheduler only; fires once.
//!
//! References: "Cron expressions reference" and "Rate expressions reference" in the
//! EventBridge User Guide (eb-cron-expressions.html, eb-rate-expressions.html), and "Schedule
//! types in EventBridge Scheduler" in the Scheduler User Guide (schedule-types.html).
//!
//! # Time zones and daylight saving time
//!
//! EventBridge rules always run in UTC: their callers pass [`Zone::utc`]. Scheduler reads cron
//! and at() on the wall clock of the schedule's `ScheduleExpressionTimezone`. For the days the
//! clocks change, AWS documents the behaviour in schedule-types.html (section "Daylight saving
//! time on EventBridge Scheduler"); the sentences quoted below are from AWS's re:Post
//! knowledge-center article "How can I adjust my Amazon EventBridge schedule for daylight
//! saving?" (repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst):
//!
//! - "When the time shifts forward in Spring, your schedule invocation gets skipped if the cron
//!   expression falls on a non-existent date and time." So a cron local time inside the gap
//!   does not fire that day; it is not moved to after the gap. `cron(30 2 * * ? *)` in
//!   `Europe/Paris` does not fire on 2024-03-31.
//! - "When the time shifts back in the Fall, your schedule runs only once and doesn't repeat
//!   its invocation." So a cron local time that occurs twice fires once, on its first
//!   occurrence (with the offset in force before the change); during the repeated stretch
//!   nothing fires.
//!   `cron(*/30 * * * ? *)` in `Europe/Paris` fires at 02:30+02:00 and then 03:00+01:00 on
//!   2024-10-27.
//! - Rates are elapsed time: "days represents a 24-hour duration", so `rate(1 day)` keeps its
//!   UTC instant and moves an hour on the local clock across a change.
//! - at() on a local time the clocks skip or repeat is not documented by AWS. We resolve it the
//!   way `java.time`'s `ZonedDateTime.of` and RFC 5545 do, so a one-time schedule is never
//!   lost: a skipped time moves forward by the length of the gap (02:30 becomes 03:30), a
//!   repeated one takes its first occurrence.

mod at;
mod calendar;
mod cron;
mod error;
mod rate;
mod zone;

pub use at::LocalDateTime;
pub use cron::Cron;
pub use error::ScheduleError;
pub use rate::RateUnit;
pub use zone::{parse_timezone, Zone};

/// Which API an expression was given to; they accept slightly different expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// EventBridge `PutRule`: rate() and cron(), evaluated in UTC.
    Rule,
    /// EventBridge Scheduler `CreateSchedule`/`UpdateSchedule`: also at(), and a time zone.
    Scheduler,
}

/// A parsed schedule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expression {
    /// `rate(value unit)`: every `every_ms` milliseconds from an anchor.
    Rate {
        every_ms: i64,
        value: u64,
        unit: RateUnit,
    },
    /// `cron(...)`: the local minutes matching all six fields.
    Cron(Cron),
    /// `at(...)`: one local date and time.
    At(LocalDateTime),
}

/// Parses a `ScheduleExpression` as the API of `flavor` would.
pub fn parse(expr: &str, flavor: Flavor) -> Result<Expression, ScheduleError> {
    let invalid = |reason: String| ScheduleError::InvalidExpression {
        flavor,
        expression: expr.to_owned(),
        reason,
    };
    if let Some(text) = arguments(expr, "rate") {
        let (value, unit) = rate::parse(text, flavor).map_err(invalid)?;
        // rate::parse checked that the product fits.
        let every_ms = value as i64 * unit.ms();
        return Ok(Expression::Rate {
            every_ms,
            value,
            unit,
        });
    }
    if let Some(text) = arguments(expr, "cron") {
        return cron::parse(text).map(Expression::Cron).map_err(invalid);
    }
    if let Some(text) = arguments(expr, "at") {
        if flavor == Flavor::Rule {
            return Err(invalid(
                "at() expressions are for EventBridge Scheduler; rules take rate() or cron()"
                    .to_owned(),
            ));
        }
        return at::parse(text).map(Expression::At).map_err(invalid);
    }
    Err(invalid(match flavor {
        Flavor::Rule => "expected rate(value unit) or cron(fields)".to_owned(),
        Flavor::Scheduler => {
            "expected at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)".to_owned()
        }
    }))
}

/// The text inside `name(...)`, if `expr` has that form.
fn arguments<'a>(expr: &'a str, name: &str) -> Option<&'a str> {
    expr.strip_prefix(name)?
        .strip_prefix('(')?
        .strip_suffix(')')
}

impl Expression {
    /// The first firing strictly after `after_ms`, in zone `tz`, or None if none (at() in the
    /// past, cron year range exhausted).
    ///
    /// For rate(): firings are anchored at `anchor_ms` (when the rule/schedule was created or
    /// its StartDate), i.e. anchor + k*every for k >= 0. cron() and at() ignore the anchor;
    /// rate() ignores the zone.
    pub fn next_after(&self, after_ms: i64, anchor_ms: i64, tz: &Zone) -> Option<i64> {
        match self {
            Expression::Rate { every_ms, .. } => rate::next_after(*every_ms, after_ms, anchor_ms),
            Expression::Cron(cron) => cron.next_after(after_ms, tz),
            Expression::At(local) => {
                let at = tz
                    .tz()
                    .to_ambiguous_timestamp(local.to_datetime()?)
                    .compatible()
                    .ok()?
                    .as_millisecond();
                (at > after_ms).then_some(at)
            }
        }
    }

    /// Whether the expression fires at most once (at()).
    pub fn is_one_time(&self) -> bool {
        matches!(self, Expression::At(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    /// Lists the next firings of `expr` after `from` (an RFC 3339 instant), written with the
    /// offset of `zone`, and compares them with `expected`; [`NEVER`] stands for "no more".
    /// Rates count from `anchor`.
    fn check(expr: &str, flavor: Flavor, zone: &str, anchor: &str, from: &str, expected: &[&str]) {
        let expression = parse(expr, flavor).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let zone = Zone::parse(zone).unwrap();
        let ms = |text: &str| text.parse::<Timestamp>().unwrap().as_millisecond();
        let (anchor, mut after) = (ms(anchor), ms(from));
        let mut actual = Vec::new();
        while actual.len() < expected.len() {
            let Some(next) = expression.next_after(after, anchor, &zone) else {
                actual.push(NEVER.to_owned());
                break;
            };
            assert!(next > after, "{expr}: {next} is not after {after}");
            let at = Timestamp::from_millisecond(next).unwrap();
            actual.push(at.display_with_offset(zone.tz().to_offset(at)).to_string());
            after = next;
        }
        assert_eq!(actual, expected, "{expr} in {} from {from}", zone.name());
    }

    const NEVER: &str = "never";
    const NO_ANCHOR: &str = "1970-01-01T00:00:00Z";

    #[test]
    fn rules_run_cron_in_utc() {
        use Flavor::Rule;
        check(
            "cron(0 12 * * ? *)",
            Rule,
            "UTC",
            NO_ANCHOR,
            "2024-03-30T12:00:00Z",
            &[
                "2024-03-31T12:00:00+00:00",
                "2024-04-01T12:00:00+00:00",
                "2024-04-02T12:00:00+00:00",
            ],
        );
        // Strictly after: a firing exactly at `from` is not repeated; seconds round up.
        check(
            "cron(0/15 * * * ? *)",
            Rule,
            "UTC",
            NO_ANCHOR,
            "2024-01-01T00:14:59.999Z",
            &[
                "2024-01-01T00:15:00+00:00",
                "2024-01-01T00:30:00+00:00",
                "2024-01-01T00:45:00+00:00",
            ],
        );
        check(
            "cron(0 0 1 1 ? 2199)",
            Rule,
            "UTC",
            NO_ANCHOR,
            "2150-01-01T00:00:00Z",
            &["2199-01-01T00:00:00+00:00", NEVER],
        );
    }

    #[test]
    fn scheduler_cron_across_paris_dst() {
        use Flavor::Scheduler;
        let paris = "Europe/Paris";
        // 2024-03-31: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist and is skipped.
        check(
            "cron(30 2 * * ? *)",
            Scheduler,
            paris,
            NO_ANCHOR,
            "2024-03-29T12:00:00Z",
            &[
                "2024-03-30T02:30:00+01:00",
                "2024-04-01T02:30:00+02:00",
                "2024-04-02T02:30:00+02:00",
            ],
        );
        check(
            "cron(*/30 * * * ? *)",
            Scheduler,
            paris,
            NO_ANCHOR,
            "2024-03-31T00:00:00Z",
            &[
                "2024-03-31T01:30:00+01:00",
                "2024-03-31T03:00:00+02:00",
                "2024-03-31T03:30:00+02:00",
            ],
        );
        // 2024-10-27: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice and fires once.
        check(
            "cron(30 2 * * ? *)",
            Scheduler,
            paris,
            NO_ANCHOR,
            "2024-10-26T12:00:00Z",
            &[
                "2024-10-27T02:30:00+02:00",
                "2024-10-28T02:30:00+01:00",
                "2024-10-29T02:30:00+01:00",
            ],
        );
        // Asked from inside the repeated hour (02:10 CET), the first 02:30 has already been.
        check(
            "cron(30 2 * * ? *)",
            Scheduler,
            paris,
            NO_ANCHOR,
            "2024-10-27T01:10:00Z",
            &[
                "2024-10-28T02:30:00+01:00",
                "2024-10-29T02:30:00+01:00",
                "2024-10-30T02:30:00+01:00",
            ],
        );
        check(
            "cron(*/30 * * * ? *)",
            Scheduler,
            paris,
            NO_ANCHOR,
            "2024-10-27T00:00:00Z",
            &[
                "2024-10-27T02:30:00+02:00",
                "2024-10-27T03:00:00+01:00",
                "2024-10-27T03:30:00+01:00",
            ],
        );
        // Daily at 10:00 local keeps the local hour, so the UTC hour moves.
        check(
            "cron(0 10 * * ? *)",
            Scheduler,
            paris,
            NO_ANCHOR,
            "2024-03-30T12:00:00Z",
            &[
                "2024-03-31T10:00:00+02:00",
                "2024-04-01T10:00:00+02:00",
                "2024-04-02T10:00:00+02:00",
            ],
        );
    }

    #[test]
    fn scheduler_cron_across_new_york_dst() {
        use Flavor::Scheduler;
        let new_york = "America/New_York";
        // 2024-03-10: 02:00 EST jumps to 03:00 EDT.
        check(
            "cron(30 2 * * ? *)",
            Scheduler,
            new_york,
            NO_ANCHOR,
            "2024-03-09T00:00:00Z",
            &[
                "2024-03-09T02:30:00-05:00",
                "2024-03-11T02:30:00-04:00",
                "2024-03-12T02:30:00-04:00",
            ],
        );
        // 2024-11-03: 02:00 EDT falls back to 01:00 EST; 01:00-01:59 repeats.
        check(
            "cron(30 1 * * ? *)",
            Scheduler,
            new_york,
            NO_ANCHOR,
            "2024-11-02T12:00:00Z",
            &[
                "2024-11-03T01:30:00-04:00",
                "2024-11-04T01:30:00-05:00",
                "2024-11-05T01:30:00-05:00",
            ],
        );
        check(
            "cron(0 * * * ? *)",
            Scheduler,
            new_york,
            NO_ANCHOR,
            "2024-11-03T04:30:00Z",
            &[
                "2024-11-03T01:00:00-04:00",
                "2024-11-03T02:00:00-05:00",
                "2024-11-03T03:00:00-05:00",
            ],
        );
        // Every minute through the spring gap: 01:59 EST is followed by 03:00 EDT.
        check(
            "cron(* * * * ? *)",
            Scheduler,
            new_york,
            NO_ANCHOR,
            "2024-03-10T06:58:00Z",
            &[
                "2024-03-10T01:59:00-05:00",
                "2024-03-10T03:00:00-04:00",
                "2024-03-10T03:01:00-04:00",
            ],
        );
        // The second Sunday of March at 02:00 never exists: every firing is skipped until a
        // year where it is not the changeover day... and in New York it always is.
        check(
            "cron(0 2 ? 3 1#2 *)",
            Scheduler,
            new_york,
            NO_ANCHOR,
            "2024-01-01T00:00:00Z",
            &[NEVER],
        );
    }

    #[test]
    fn scheduler_cron_across_unusual_changes() {
        use Flavor::Scheduler;
        // From inside New York's repeated hour, every minute of it has already fired once.
        check(
            "cron(* * * * ? *)",
            Scheduler,
            "America/New_York",
            NO_ANCHOR,
            "2024-11-03T06:10:00Z",
            &["2024-11-03T02:00:00-05:00", "2024-11-03T02:01:00-05:00"],
        );
        // Lord Howe Island moves its clocks by half an hour: 02:00 becomes 02:30.
        check(
            "cron(*/15 * * * ? *)",
            Scheduler,
            "Australia/Lord_Howe",
            NO_ANCHOR,
            "2024-10-05T15:10:00Z",
            &[
                "2024-10-06T01:45:00+10:30",
                "2024-10-06T02:30:00+11:00",
                "2024-10-06T02:45:00+11:00",
            ],
        );
        // Samoa skipped 2011-12-30 entirely when it crossed the date line.
        check(
            "cron(0 12 * * ? *)",
            Scheduler,
            "Pacific/Apia",
            NO_ANCHOR,
            "2011-12-29T00:00:00Z",
            &["2011-12-29T12:00:00-10:00", "2011-12-31T12:00:00+14:00"],
        );
    }

    #[test]
    fn scheduler_cron_across_sydney_dst() {
        use Flavor::Scheduler;
        let sydney = "Australia/Sydney";
        // 2024-04-07: 03:00 AEDT falls back to 02:00 AEST; 02:30 fires once.
        check(
            "cron(30 2 * * ? *)",
            Scheduler,
            sydney,
            NO_ANCHOR,
            "2024-04-05T12:00:00Z",
            &[
                "2024-04-06T02:30:00+11:00",
                "2024-04-07T02:30:00+11:00",
                "2024-04-08T02:30:00+10:00",
            ],
        );
        // 2024-10-06: 02:00 AEST jumps to 03:00 AEDT; 02:30 is skipped.
        check(
            "cron(30 2 * * ? *)",
            Scheduler,
            sydney,
            NO_ANCHOR,
            "2024-10-04T12:00:00Z",
            &[
                "2024-10-05T02:30:00+10:00",
                "2024-10-07T02:30:00+11:00",
                "2024-10-08T02:30:00+11:00",
            ],
        );
        // The last day of February in a leap year, in a zone ahead of UTC.
        check(
            "cron(0 9 L 2 ? *)",
            Scheduler,
            sydney,
            NO_ANCHOR,
            "2023-03-01T00:00:00Z",
            &[
                "2024-02-29T09:00:00+11:00",
                "2025-02-28T09:00:00+11:00",
                "2026-02-28T09:00:00+11:00",
            ],
        );
    }

    #[test]
    fn rates_are_elapsed_time_from_the_anchor() {
        use Flavor::{Rule, Scheduler};
        let anchor = "2024-01-01T00:00:00Z";
        // Before the anchor, the anchor itself is the first firing.
        check(
            "rate(5 minutes)",
            Rule,
            "UTC",
            anchor,
            "2023-12-31T00:00:00Z",
            &[
                "2024-01-01T00:00:00+00:00",
                "2024-01-01T00:05:00+00:00",
                "2024-01-01T00:10:00+00:00",
            ],
        );
        check(
            "rate(5 minutes)",
            Rule,
            "UTC",
            anchor,
            "2024-01-01T00:07:30Z",
            &[
                "2024-01-01T00:10:00+00:00",
                "2024-01-01T00:15:00+00:00",
                "2024-01-01T00:20:00+00:00",
            ],
        );
        check(
            "rate(1 hour)",
            Rule,
            "UTC",
            "2024-01-01T00:00:17.250Z",
            "2024-01-01T00:00:17.250Z",
            &[
                "2024-01-01T01:00:17.25+00:00",
                "2024-01-01T02:00:17.25+00:00",
                "2024-01-01T03:00:17.25+00:00",
            ],
        );
        // A day is 24 hours even when the Paris day is 23 hours long.
        check(
            "rate(1 days)",
            Scheduler,
            "Europe/Paris",
            "2024-03-30T09:00:00Z",
            "2024-03-30T09:00:00Z",
            &[
                "2024-03-31T11:00:00+02:00",
                "2024-04-01T11:00:00+02:00",
                "2024-04-02T11:00:00+02:00",
            ],
        );
        check(
            "rate(3 days)",
            Rule,
            "UTC",
            anchor,
            "2024-02-27T00:00:00Z", // itself a firing: 57 days after the anchor
            &[
                "2024-03-01T00:00:00+00:00",
                "2024-03-04T00:00:00+00:00",
                "2024-03-07T00:00:00+00:00",
            ],
        );
    }

    #[test]
    fn at_fires_once_in_its_zone() {
        use Flavor::Scheduler;
        let from = "2024-01-01T00:00:00Z";
        check(
            "at(2024-06-01T10:00:00)",
            Scheduler,
            "Europe/Paris",
            NO_ANCHOR,
            from,
            &["2024-06-01T10:00:00+02:00", NEVER],
        );
        check(
            "at(2024-06-01T10:00:00)",
            Scheduler,
            "UTC",
            NO_ANCHOR,
            from,
            &["2024-06-01T10:00:00+00:00", NEVER],
        );
        // In the spring gap: moved forward by the gap's length.
        check(
            "at(2024-03-31T02:30:00)",
            Scheduler,
            "Europe/Paris",
            NO_ANCHOR,
            from,
            &["2024-03-31T03:30:00+02:00", NEVER],
        );
        // In the autumn repeat: the first occurrence.
        check(
            "at(2024-11-03T01:30:00)",
            Scheduler,
            "America/New_York",
            NO_ANCHOR,
            from,
            &["2024-11-03T01:30:00-04:00", NEVER],
        );
        check(
            "at(2024-02-29T23:59:59)",
            Scheduler,
            "Australia/Sydney",
            NO_ANCHOR,
            from,
            &["2024-02-29T23:59:59+11:00", NEVER],
        );
        // In the past, or exactly now: never.
        check(
            "at(2023-12-31T23:59:59)",
            Scheduler,
            "UTC",
            NO_ANCHOR,
            from,
            &[NEVER],
        );
        check(
            "at(2024-01-01T00:00:00)",
            Scheduler,
            "UTC",
            NO_ANCHOR,
            from,
            &[NEVER],
        );
    }

    /// Whether `expr` parses for `flavor`; on refusal, the message must contain `message`.
    fn check_parse(expr: &str, flavor: Flavor, expected: Result<(), &str>) {
        match (parse(expr, flavor), expected) {
            (Ok(_), Ok(())) => {}
            (Err(err), Err(part)) => {
                let message = err.to_string();
                assert!(message.contains(part), "{expr}: {message:?} lacks {part:?}");
            }
            (actual, expected) => {
                panic!("{expr} ({flavor:?}): got {actual:?}, wanted {expected:?}")
            }
        }
    }

    #[test]
    fn which_expressions_each_flavor_accepts() {
        use Flavor::{Rule, Scheduler};
        let valid: &[(&str, Flavor)] = &[
            ("rate(1 minute)", Rule),
            ("rate(5 minutes)", Rule),
            ("rate(1 hour)", Rule),
            ("rate(12 hours)", Rule),
            ("rate(1 day)", Rule),
            ("rate(7 days)", Rule),
            ("rate(1 minutes)", Scheduler),
            ("rate(1 minute)", Scheduler),
            ("rate(5 minutes)", Scheduler),
            ("rate(2 days)", Scheduler),
            ("cron(0 10 * * ? *)", Rule),
            ("cron(0 10 * * ? *)", Scheduler),
            ("cron(0/5 8-17 ? * MON-FRI *)", Rule),
            ("cron(0 8 1 * ? *)", Rule),
            ("cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)", Scheduler),
            ("cron(30-30 13-13 ? * 2,4,6 *)", Scheduler),
            ("cron(1-31/30 1-1 ? * 1,7 *)", Scheduler),
            ("cron(0 12 ? * 6L 2024-2030)", Scheduler),
            ("at(2024-11-20T13:00:00)", Scheduler),
            ("at(2024-02-29T00:00:00)", Scheduler),
        ];
        for (expr, flavor) in valid {
            check_parse(expr, *flavor, Ok(()));
        }
        let invalid: &[(&str, Flavor, &str)] = &[
            ("rate(0 minutes)", Rule, "not a positive whole number"),
            ("rate(-5 minutes)", Rule, "not a positive whole number"),
            ("rate(1.5 hours)", Rule, "not a positive whole number"),
            ("rate(minutes)", Rule, "rate(value unit)"),
            ("rate(5)", Rule, "rate(value unit)"),
            ("rate()", Scheduler, "rate(value unit)"),
            ("rate(5 seconds)", Rule, "not one of minute"),
            ("rate(5 Minutes)", Rule, "not one of minute"),
            ("rate(1 minutes)", Rule, "singular unit"),
            ("rate(1 hours)", Rule, "singular unit"),
            ("rate(5 minute)", Rule, "plural unit"),
            ("rate(5 hour)", Scheduler, "plural unit"),
            (
                "rate(99999999999999999999 days)",
                Rule,
                "not a positive whole number",
            ),
            ("rate(999999999999 days)", Rule, "too large"),
            ("rate(5 minutes", Rule, "expected rate(value unit)"),
            ("Rate(5 minutes)", Rule, "expected rate(value unit)"),
            (" rate(5 minutes)", Rule, "expected rate(value unit)"),
            ("every 5 minutes", Scheduler, "expected at("),
            ("", Rule, "expected rate("),
            ("cron(0 10 * * *)", Rule, "6 fields"),
            ("cron(7 20 * * 1-7 *)", Rule, "must be '?'"),
            ("cron(*/60 * * * ? *)", Rule, "from 1 to 59"),
            ("at(2024-11-20T13:00:00)", Rule, "for EventBridge Scheduler"),
            ("at(2024-11-20 13:00:00)", Scheduler, "yyyy-mm-ddThh:mm:ss"),
            ("at(2024-11-20T13:00)", Scheduler, "yyyy-mm-ddThh:mm:ss"),
            ("at(2024-11-20T13:00:00Z)", Scheduler, "yyyy-mm-ddThh:mm:ss"),
            ("at(2024-1-20T13:00:00)", Scheduler, "yyyy-mm-ddThh:mm:ss"),
            ("at(2024-+1-20T13:00:00)", Scheduler, "yyyy-mm-ddThh:mm:ss"),
            ("at(2023-02-29T00:00:00)", Scheduler, "not a real date"),
            ("at(2024-04-31T00:00:00)", Scheduler, "not a real date"),
            ("at(2024-01-01T24:00:00)", Scheduler, "not a real date"),
            ("at(2024-01-01T12:60:00)", Scheduler, "not a real date"),
        ];
        for (expr, flavor, message) in invalid {
            check_parse(expr, *flavor, Err(message));
        }
    }

    #[test]
    fn error_messages_follow_aws() {
        let rule = parse("rate(5 minute)", Flavor::Rule).unwrap_err();
        assert_eq!(
            rule.aws_message(),
            "Parameter ScheduleExpression is not valid."
        );
        assert_eq!(
            rule.to_string(),
            "Parameter ScheduleExpression is not valid: \
             a rate of 5 takes a plural unit, as in rate(5 minutes)."
        );
        let scheduler = parse("cron(0 10 * * *)", Flavor::Scheduler).unwrap_err();
        assert_eq!(
            scheduler.aws_message(),
            "Invalid Schedule Expression cron(0 10 * * *)"
        );
        assert!(scheduler
            .to_string()
            .starts_with("Invalid Schedule Expression cron(0 10 * * *): a cron expression has 6"));
    }

    #[test]
    fn parsed_forms() {
        assert_eq!(
            parse("rate(2 hours)", Flavor::Rule),
            Ok(Expression::Rate {
                every_ms: 7_200_000,
                value: 2,
                unit: RateUnit::Hours
            })
        );
        assert_eq!(
            parse("at(2030-12-31T23:59:58)", Flavor::Scheduler),
            Ok(Expression::At(LocalDateTime {
                year: 2030,
                month: 12,
                day: 31,
                hour: 23,
                minute: 59,
                second: 58
            }))
        );
        assert!(parse("at(2030-12-31T23:59:58)", Flavor::Scheduler)
            .unwrap()
            .is_one_time());
        assert!(!parse("rate(1 day)", Flavor::Rule).unwrap().is_one_time());
    }

    #[test]
    fn extreme_instants_do_not_panic() {
        let utc = Zone::utc();
        let cron = parse("cron(0 0 1 1 ? *)", Flavor::Rule).unwrap();
        assert_eq!(cron.next_after(i64::MIN, 0, &utc), Some(0));
        assert_eq!(cron.next_after(i64::MAX, 0, &utc), None);
        let rate = parse("rate(1 minute)", Flavor::Rule).unwrap();
        assert_eq!(rate.next_after(i64::MAX - 1, 0, &utc), None);
        assert_eq!(rate.next_after(i64::MIN, i64::MAX, &utc), Some(i64::MAX));
        let at = parse("at(2030-01-01T00:00:00)", Flavor::Scheduler).unwrap();
        assert!(at.next_after(i64::MIN, 0, &utc).is_some());
        let sydney = Zone::parse("Australia/Sydney").unwrap();
        let new_york = Zone::parse("America/New_York").unwrap();
        for zone in [&sydney, &new_york] {
            assert!(cron.next_after(i64::MIN, 0, zone).is_some());
            assert_eq!(cron.next_after(i64::MAX, 0, zone), None);
            assert!(at.next_after(i64::MIN, 0, zone).is_some());
        }
        // A hand-built date that does not exist never fires.
        let impossible = Expression::At(LocalDateTime {
            year: 2030,
            month: 2,
            day: 30,
            hour: 0,
            minute: 0,
            second: 0,
        });
        assert_eq!(impossible.next_after(0, 0, &utc), None);
    }
}
