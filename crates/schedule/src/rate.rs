//! `rate(value unit)` expressions: a fixed period of elapsed time.

use crate::Flavor;

/// The unit of a rate expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Minutes,
    Hours,
    Days,
}

impl RateUnit {
    /// Elapsed milliseconds in one unit. A day is always 24 hours, also across a daylight
    /// saving change: AWS says so for Scheduler, and rules run in UTC where it makes no odds.
    pub fn ms(self) -> i64 {
        match self {
            RateUnit::Minutes => 60_000,
            RateUnit::Hours => 3_600_000,
            RateUnit::Days => 86_400_000,
        }
    }
}

/// Parses the text between `rate(` and `)` into its value and unit.
///
/// EventBridge rules want a singular unit for 1 and a plural one above it (`rate(1 minute)`,
/// `rate(5 minutes)`; `rate(1 minutes)` and `rate(5 minute)` are refused). Scheduler documents
/// only plural units (`rate(1 minutes)` is its form) while its API reference also lists the
/// singular ones, so it takes a plural unit with any value and a singular one with 1.
pub(crate) fn parse(text: &str, flavor: Flavor) -> Result<(u64, RateUnit), String> {
    let parts: Vec<&str> = text.split_ascii_whitespace().collect();
    let [value, unit] = parts[..] else {
        return Err("a rate expression is rate(value unit), as in rate(5 minutes)".to_owned());
    };
    let value = Some(value)
        .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("the rate value '{value}' is not a positive whole number"))?;
    let (unit, plural) = match unit {
        "minute" => (RateUnit::Minutes, false),
        "minutes" => (RateUnit::Minutes, true),
        "hour" => (RateUnit::Hours, false),
        "hours" => (RateUnit::Hours, true),
        "day" => (RateUnit::Days, false),
        "days" => (RateUnit::Days, true),
        _ => {
            return Err(format!(
                "the rate unit '{unit}' is not one of minute, minutes, hour, hours, day, days"
            ))
        }
    };
    let agrees = match flavor {
        Flavor::Rule => plural == (value != 1),
        Flavor::Scheduler => plural || value == 1,
    };
    if !agrees {
        return Err(if value == 1 {
            "a rate of 1 takes a singular unit, as in rate(1 minute)".to_owned()
        } else {
            format!("a rate of {value} takes a plural unit, as in rate({value} minutes)")
        });
    }
    if i64::try_from(value).map_or(true, |v| v.checked_mul(unit.ms()).is_none()) {
        return Err(format!("the rate value {value} is too large"));
    }
    Ok((value, unit))
}

/// The first of `anchor + k * every` (k >= 0) strictly after `after`, if it fits in an i64.
pub(crate) fn next_after(every_ms: i64, after_ms: i64, anchor_ms: i64) -> Option<i64> {
    debug_assert!(every_ms > 0, "a parsed rate is positive");
    if after_ms < anchor_ms {
        return Some(anchor_ms);
    }
    let periods = (i128::from(after_ms) - i128::from(anchor_ms)) / i128::from(every_ms) + 1;
    i64::try_from(i128::from(anchor_ms) + periods * i128::from(every_ms)).ok()
}
