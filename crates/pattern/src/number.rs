//! Numbers the way EventBridge compares them.
//!
//! A number takes part in numeric matching (`numeric`, exact numbers,
//! `anything-but` numbers) only when a double holds it exactly, i.e. when the
//! decimal written equals the shortest decimal of the nearest double. So `5`,
//! `5.0` and `3.018e2` compare numerically, while `12345678901234567890` does
//! not and is matched by its literal text instead.

use serde_json::Number;

/// The double for a JSON number literal, if it compares exactly.
pub(crate) fn comparable(text: &str) -> Option<f64> {
    let value: f64 = text.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    let shortest = format!("{value:e}");
    (Decimal::parse(text)? == Decimal::parse(&shortest)?).then_some(value)
}

/// The double for an event number, if it compares exactly.
pub(crate) fn comparable_event(n: &Number) -> Option<f64> {
    if let Some(i) = n.as_i64() {
        let f = i as f64;
        // The round trip fails for integers beyond 2^53 that doubles skip.
        return (f as i128 == i128::from(i)).then_some(f);
    }
    if let Some(u) = n.as_u64() {
        let f = u as f64;
        return (f as i128 == i128::from(u)).then_some(f);
    }
    n.as_f64().filter(|f| f.is_finite())
}

/// A decimal normalised so equal values compare equal: `0.d1d2… × 10^exp`.
#[derive(Debug, PartialEq)]
struct Decimal {
    negative: bool,
    digits: String,
    exponent: i64,
}

impl Decimal {
    fn parse(text: &str) -> Option<Decimal> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let all: String = format!("{int}{frac}");
        let leading = all.len() - all.trim_start_matches('0').len();
        let digits = all
            .trim_start_matches('0')
            .trim_end_matches('0')
            .to_string();
        if digits.is_empty() {
            return Some(Decimal {
                negative: false,
                digits,
                exponent: 0,
            });
        }
        let exponent = exp
            .checked_add(int.len() as i64)?
            .checked_sub(leading as i64)?;
        Some(Decimal {
            negative,
            digits,
            exponent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Option<f64>) {
        assert_eq!(comparable(text), expected, "{text}");
    }

    #[test]
    fn comparable_numbers() {
        check("5", Some(5.0));
        check("5.0", Some(5.0));
        check("-0", Some(0.0));
        check("3.018e2", Some(301.8));
        check("0.1", Some(0.1));
        check("1e-7", Some(1e-7));
        check("9007199254740992", Some(9007199254740992.0));
        check("9007199254740993", None);
        check("12345678901234567890", None);
        check("0.30000000000000001", None);
        check("1e400", None);
    }

    #[test]
    fn event_numbers() {
        let n: Number = serde_json::from_str("9007199254740993").unwrap();
        assert_eq!(comparable_event(&n), None);
        let n: Number = serde_json::from_str("101.0").unwrap();
        assert_eq!(comparable_event(&n), Some(101.0));
        let n: Number = serde_json::from_str("-7").unwrap();
        assert_eq!(comparable_event(&n), Some(-7.0));
    }
}
