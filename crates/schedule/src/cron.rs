//! Six-field AWS cron expressions: parsing, and the next matching local minute.
//!
//! Each field is kept as a bit set, so the search for the next firing steps field by field
//! (year, month, day, hour, minute) instead of minute by minute: a typical expression needs a
//! handful of steps, and even one that never fires stops after a few thousand (every month up
//! to 2199).

use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::Timestamp;

use crate::calendar::{days_in_month, weekday, Minute};
use crate::Zone;

/// The first year a cron expression can name.
pub(crate) const FIRST_YEAR: i32 = 1970;
/// The last year a cron expression can name; nothing fires after it.
pub(crate) const LAST_YEAR: i32 = 2199;

/// A parsed `cron(minutes hours day-of-month month day-of-week year)` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    /// Bit `m` set: minute `m` matches.
    minutes: u64,
    /// Bit `h` set: hour `h` matches.
    hours: u64,
    days: Days,
    /// Bit `m` set: month `m` (1-12) matches.
    months: u64,
    /// Bit `n` set: year `FIRST_YEAR + n` matches.
    years: [u64; 4],
}

/// Which of the two day fields decides; the other one is `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Days {
    OfMonth(MonthDays),
    OfWeek(WeekDays),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum MonthDays {
    /// Bit `d` set: day `d` matches (days past the month's end never match).
    Set(u64),
    /// `L`: the last day of the month.
    Last,
    /// `LW`: the last weekday (Monday to Friday) of the month.
    LastWeekday,
    /// `nW`: the weekday nearest to day `n`, without leaving the month.
    NearestWeekday(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum WeekDays {
    /// Bit `w` set: weekday `w` (1 = Sunday .. 7 = Saturday) matches.
    Set(u64),
    /// `wL`: the last weekday `w` of the month.
    Last(u32),
    /// `w#n`: the `n`th weekday `w` of the month.
    Nth { weekday: u32, nth: u32 },
}

/// The shape of one cron field.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for `min`, `min + 1`, ...
    names: &'static [&'static str],
    /// The largest step `/n` accepted, where there is one. Quartz, whose syntax AWS follows,
    /// refuses steps longer than the field (`*/60` in minutes); AWS refuses them too.
    step_max: Option<u32>,
    /// Whether a range may wrap past the end (`FRI-MON`, hours `22-2`), as in Quartz.
    wraps: bool,
    /// Whether `/` is accepted at all: AWS documents no steps in day-of-week.
    steps: bool,
    /// The value stored in bit 0 of the field's bit set.
    bit_base: u32,
}

const MINUTES: Field = Field {
    name: "minutes",
    min: 0,
    max: 59,
    names: &[],
    step_max: Some(59),
    wraps: true,
    steps: true,
    bit_base: 0,
};
const HOURS: Field = Field {
    name: "hours",
    min: 0,
    max: 23,
    names: &[],
    step_max: Some(23),
    wraps: true,
    steps: true,
    bit_base: 0,
};
const DAY_OF_MONTH: Field = Field {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
    step_max: Some(31),
    wraps: true,
    steps: true,
    bit_base: 0,
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
    step_max: Some(12),
    wraps: true,
    steps: true,
    bit_base: 0,
};
const DAY_OF_WEEK: Field = Field {
    name: "day-of-week",
    min: 1,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    step_max: Some(7),
    wraps: true,
    steps: false,
    bit_base: 0,
};
const YEAR: Field = Field {
    name: "year",
    min: FIRST_YEAR as u32,
    max: LAST_YEAR as u32,
    names: &[],
    step_max: None,
    wraps: false,
    steps: true,
    bit_base: FIRST_YEAR as u32,
};

/// Parses the text between `cron(` and `)`. The error is a reason for a person to read.
pub(crate) fn parse(fields: &str) -> Result<Cron, String> {
    // Quartz, whose syntax AWS follows, reads names and letters in any case.
    let upper = fields.to_ascii_uppercase();
    let fields: Vec<&str> = upper.split_ascii_whitespace().collect();
    let [minutes, hours, day_of_month, month, day_of_week, year] = fields[..] else {
        return Err(format!(
            "a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), \
             found {}",
            fields.len()
        ));
    };
    Ok(Cron {
        minutes: parse_set(minutes, &MINUTES)?[0],
        hours: parse_set(hours, &HOURS)?[0],
        days: parse_days(day_of_month, day_of_week)?,
        months: parse_set(month, &MONTH)?[0],
        years: parse_set(year, &YEAR)?,
    })
}

fn parse_days(day_of_month: &str, day_of_week: &str) -> Result<Days, String> {
    match (day_of_month == "?", day_of_week == "?") {
        (true, true) => Err("day-of-month and day-of-week cannot both be '?'".to_owned()),
        (false, false) => Err(
            "one of day-of-month and day-of-week must be '?' (they cannot both be given)"
                .to_owned(),
        ),
        (false, true) => parse_month_days(day_of_month).map(Days::OfMonth),
        (true, false) => parse_week_days(day_of_week).map(Days::OfWeek),
    }
}

fn parse_month_days(text: &str) -> Result<MonthDays, String> {
    match text {
        "L" => return Ok(MonthDays::Last),
        "LW" => return Ok(MonthDays::LastWeekday),
        _ => {}
    }
    if let Some(day) = text.strip_suffix('W') {
        return parse_value(day, &DAY_OF_MONTH)
            .map(MonthDays::NearestWeekday)
            .map_err(|_| format!("day-of-month '{text}': W follows a single day, as in 15W"));
    }
    if text.contains(['L', 'W']) {
        return Err(format!(
            "day-of-month '{text}': L, LW and nW stand alone, not in lists or ranges"
        ));
    }
    Ok(MonthDays::Set(parse_set(text, &DAY_OF_MONTH)?[0]))
}

fn parse_week_days(text: &str) -> Result<WeekDays, String> {
    if text == "L" {
        // Alone, L is the last day of the week: Saturday.
        return Ok(WeekDays::Set(1 << 7));
    }
    if let Some((day, nth)) = text.split_once('#') {
        let weekday = parse_value(day, &DAY_OF_WEEK)
            .map_err(|_| format!("day-of-week '{text}': # follows a single day, as in 3#2"))?;
        let nth = parse_number(nth)
            .filter(|n| (1..=5).contains(n))
            .ok_or_else(|| {
                format!("day-of-week '{text}': the number after # must be 1 to 5, alone")
            })?;
        return Ok(WeekDays::Nth { weekday, nth });
    }
    if let Some(day) = text.strip_suffix('L') {
        return parse_value(day, &DAY_OF_WEEK)
            .map(WeekDays::Last)
            .map_err(|_| format!("day-of-week '{text}': L follows a single day, as in 6L"));
    }
    if text.contains('L') {
        return Err(format!(
            "day-of-week '{text}': L and nL stand alone, not in lists or ranges"
        ));
    }
    Ok(WeekDays::Set(parse_set(text, &DAY_OF_WEEK)?[0]))
}

/// Parses a list of values, ranges and steps into a bit set indexed by `value - field.bit_base`.
fn parse_set(text: &str, field: &Field) -> Result<[u64; 4], String> {
    if text.contains('?') {
        return Err(format!(
            "{} '{text}': '?' is only allowed, alone, in day-of-month or day-of-week",
            field.name
        ));
    }
    let mut bits = [0u64; 4];
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(parse_step(step, field)?)),
            None => (item, None),
        };
        let (start, end) = if range == "*" {
            (field.min, field.max)
        } else if let Some((start, end)) = range.split_once('-') {
            (parse_value(start, field)?, parse_value(end, field)?)
        } else {
            let value = parse_value(range, field)?;
            // `5/15` means from 5 to the end of the field, every 15.
            (value, if step.is_some() { field.max } else { value })
        };
        if start > end && !field.wraps {
            return Err(format!(
                "{} '{item}': a range must go from low to high",
                field.name
            ));
        }
        let span = field.max - field.min + 1;
        let last_offset = if end >= start {
            end - start
        } else {
            end + span - start
        };
        let step = step.unwrap_or(1);
        let mut offset = 0;
        while offset <= last_offset {
            let bit = field.min + (start - field.min + offset) % span - field.bit_base;
            bits[(bit / 64) as usize] |= 1 << (bit % 64);
            offset += step;
        }
    }
    Ok(bits)
}

fn parse_step(text: &str, field: &Field) -> Result<u32, String> {
    if !field.steps {
        return Err(format!("{} does not take steps ('/')", field.name));
    }
    parse_number(text)
        .filter(|step| *step >= 1 && field.step_max.is_none_or(|max| *step <= max))
        .ok_or_else(|| match field.step_max {
            Some(max) => format!(
                "{} step '/{text}': the step must be a number from 1 to {max}",
                field.name
            ),
            None => format!(
                "{} step '/{text}': the step must be a positive number",
                field.name
            ),
        })
}

/// One value of a field: a number in range, or one of the field's names.
fn parse_value(text: &str, field: &Field) -> Result<u32, String> {
    if let Some(number) = parse_number(text) {
        if (field.min..=field.max).contains(&number) {
            return Ok(number);
        }
        return Err(format!(
            "{} value {text} is outside {}-{}",
            field.name, field.min, field.max
        ));
    }
    if let Some(index) = field.names.iter().position(|name| *name == text) {
        return Ok(field.min + index as u32);
    }
    let names = match (field.names.first(), field.names.last()) {
        (Some(first), Some(last)) => format!(" or a name {first}-{last}"),
        _ => String::new(),
    };
    Err(format!(
        "{} value '{text}' is not a number {}-{}{names}",
        field.name, field.min, field.max
    ))
}

/// A plain decimal number; `None` for anything else, signs included.
fn parse_number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Leading zeros are fine ("05"); a number too long for u32 is out of every range anyway.
    text.parse().ok().or(Some(u32::MAX))
}

/// The lowest set bit at or above `from`.
fn next_bit(mask: u64, from: u32) -> Option<u32> {
    if from >= 64 {
        return None;
    }
    let rest = mask & (u64::MAX << from);
    (rest != 0).then(|| rest.trailing_zeros())
}

/// The weekday closest to `day` without leaving the month: Saturday moves back to Friday and
/// Sunday on to Monday, except at the month's edges where they move the other way.
fn nearest_weekday(year: i32, month: u32, day: u32) -> u32 {
    let last = days_in_month(year, month);
    match weekday(year, month, day) {
        7 if day == 1 => 3,
        7 => day - 1,
        1 if day == last => day - 2,
        1 => day + 1,
        _ => day,
    }
}

impl Days {
    /// The days of this month that match, as bits 1..=31.
    fn mask(&self, year: i32, month: u32) -> u64 {
        let last = days_in_month(year, month);
        match *self {
            Days::OfMonth(MonthDays::Set(days)) => days & (((1u64 << (last + 1)) - 1) & !1),
            Days::OfMonth(MonthDays::Last) => 1 << last,
            Days::OfMonth(MonthDays::LastWeekday) => 1 << nearest_weekday(year, month, last),
            Days::OfMonth(MonthDays::NearestWeekday(day)) if day <= last => {
                1 << nearest_weekday(year, month, day)
            }
            Days::OfMonth(MonthDays::NearestWeekday(_)) => 0,
            Days::OfWeek(WeekDays::Set(weekdays)) => {
                let first = weekday(year, month, 1);
                (1..=last)
                    .filter(|day| weekdays & (1 << ((first - 1 + day - 1) % 7 + 1)) != 0)
                    .fold(0, |mask, day| mask | 1 << day)
            }
            Days::OfWeek(WeekDays::Last(wanted)) => {
                let on_last = weekday(year, month, last);
                1 << (last - (on_last + 7 - wanted) % 7)
            }
            Days::OfWeek(WeekDays::Nth {
                weekday: wanted,
                nth,
            }) => {
                let first = 1 + (wanted + 7 - weekday(year, month, 1)) % 7;
                let day = first + 7 * (nth - 1);
                if day <= last {
                    1 << day
                } else {
                    0
                }
            }
        }
    }
}

impl Cron {
    /// The first local minute at or after `from` that matches, or None past `LAST_YEAR`.
    ///
    /// `from` may be unnormalised (minute 60, hour 24, day 32, month 13): each field that
    /// runs out carries into the one above, which is how the search moves on.
    pub(crate) fn next_local(&self, from: Minute) -> Option<Minute> {
        let Minute {
            mut year,
            mut month,
            mut day,
            mut hour,
            mut minute,
        } = from;
        if year < FIRST_YEAR {
            (year, month, day, hour, minute) = (FIRST_YEAR, 1, 1, 0, 0);
        }
        loop {
            let found_year = self.next_year(year)?;
            if found_year != year {
                (year, month, day, hour, minute) = (found_year, 1, 1, 0, 0);
            }
            let Some(found_month) = next_bit(self.months, month) else {
                (year, month, day, hour, minute) = (year + 1, 1, 1, 0, 0);
                continue;
            };
            if found_month != month {
                (month, day, hour, minute) = (found_month, 1, 0, 0);
            }
            let Some(found_day) = next_bit(self.days.mask(year, month), day) else {
                (month, day, hour, minute) = (month + 1, 1, 0, 0);
                continue;
            };
            if found_day != day {
                (day, hour, minute) = (found_day, 0, 0);
            }
            let Some(found_hour) = next_bit(self.hours, hour) else {
                (day, hour, minute) = (day + 1, 0, 0);
                continue;
            };
            if found_hour != hour {
                (hour, minute) = (found_hour, 0);
            }
            let Some(found_minute) = next_bit(self.minutes, minute) else {
                (hour, minute) = (hour + 1, 0);
                continue;
            };
            return Some(Minute {
                year,
                month,
                day,
                hour,
                minute: found_minute,
            });
        }
    }

    fn next_year(&self, from: i32) -> Option<i32> {
        if from > LAST_YEAR {
            return None;
        }
        let offset = (from - FIRST_YEAR) as u32;
        (offset / 64..4).find_map(|word| {
            let start = if word == offset / 64 { offset % 64 } else { 0 };
            next_bit(self.years[word as usize], start)
                .map(|bit| FIRST_YEAR + (word * 64 + bit) as i32)
        })
    }

    /// The first firing strictly after `after_ms`, reading the expression on the wall clock of
    /// `zone`. A local time the clocks skip does not fire; one they repeat fires once, on its
    /// first occurrence (see the crate documentation).
    pub fn next_after(&self, after_ms: i64, zone: &Zone) -> Option<i64> {
        let tz = zone.tz();
        let after = match Timestamp::from_millisecond(after_ms) {
            Ok(after) => after,
            // Before jiff's range (year -9999) every firing is later; after it, none is.
            Err(_) if after_ms < 0 => Timestamp::MIN,
            Err(_) => return None,
        };
        let mut from = Minute::floor(tz.to_datetime(after)).next();
        loop {
            let candidate = self.next_local(from)?;
            let local = candidate.to_datetime()?;
            let next_from = match tz.to_ambiguous_timestamp(local).offset() {
                AmbiguousOffset::Unambiguous { offset } => {
                    let at = offset.to_timestamp(local).ok()?;
                    if at > after {
                        return Some(at.as_millisecond());
                    }
                    candidate.next()
                }
                AmbiguousOffset::Gap {
                    after: offset_after,
                    ..
                } => {
                    // The clocks jump over this local time: skip it, and the rest of the gap.
                    let before_jump = offset_after.to_timestamp(local).ok()?;
                    let jump = transition_after(tz, before_jump)?;
                    Minute::ceil(tz.to_datetime(jump))
                }
                AmbiguousOffset::Fold { before, .. } => {
                    let first = before.to_timestamp(local).ok()?;
                    if first > after {
                        return Some(first.as_millisecond());
                    }
                    // `after` lies in the repeat: every local time of this fold already fired
                    // on its first pass, so resume where the repeat ends.
                    let fall_back = transition_after(tz, first)?;
                    Minute::ceil(before.to_datetime(fall_back))
                }
            };
            // Always move forward, so the search ends even on odd time zone data.
            from = next_from.max(candidate.next());
        }
    }
}

/// The first transition of `tz` after `at`.
fn transition_after(tz: &TimeZone, at: Timestamp) -> Option<Timestamp> {
    tz.following(at)
        .next()
        .map(|transition| transition.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `fields` and lists its firings (local minutes in UTC, as `yyyy-mm-dd hh:mm`)
    /// from `from` on, or the parse error.
    fn firings(fields: &str, from: &str, count: usize) -> Result<Vec<String>, String> {
        let cron = parse(fields)?;
        let number = |range: std::ops::Range<usize>| from[range].parse::<u32>().unwrap();
        let mut at = Minute {
            year: number(0..4) as i32,
            month: number(5..7),
            day: number(8..10),
            hour: number(11..13),
            minute: number(14..16),
        };
        let mut found = Vec::new();
        while found.len() < count {
            let Some(next) = cron.next_local(at) else {
                break;
            };
            found.push(format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                next.year, next.month, next.day, next.hour, next.minute
            ));
            at = next.next();
        }
        Ok(found)
    }

    /// `expected` is the first firings from `from` (inclusive; an empty list means none ever),
    /// or `Err` with a part of the reason the expression is refused.
    fn check(fields: &str, from: &str, expected: Result<&[&str], &str>) {
        let actual = firings(fields, from, expected.map_or(0, |e| e.len()).max(1));
        match (actual, expected) {
            (Ok(actual), Ok(expected)) => assert_eq!(actual, expected, "cron({fields})"),
            (Err(reason), Err(part)) => {
                assert!(
                    reason.contains(part),
                    "cron({fields}): {reason:?} lacks {part:?}"
                )
            }
            (actual, expected) => panic!("cron({fields}): got {actual:?}, wanted {expected:?}"),
        }
    }

    #[test]
    fn fields_values_ranges_lists_steps() {
        check(
            "0 10 * * ? *",
            "2024-01-01 10:00",
            Ok(&["2024-01-01 10:00", "2024-01-02 10:00"]),
        );
        check(
            "15 12 * * ? *",
            "2024-01-01 12:16",
            Ok(&["2024-01-02 12:15"]),
        );
        check(
            "*/20 * * * ? *",
            "2024-01-01 23:30",
            Ok(&["2024-01-01 23:40", "2024-01-02 00:00", "2024-01-02 00:20"]),
        );
        check(
            "0/15 * * * ? *",
            "2024-01-01 00:01",
            Ok(&["2024-01-01 00:15", "2024-01-01 00:30", "2024-01-01 00:45"]),
        );
        // "1/10": every tenth minute from minute 1 (AWS's own example: 11, 21, 31, ...).
        check(
            "1/10 * * * ? *",
            "2024-01-01 00:02",
            Ok(&["2024-01-01 00:11", "2024-01-01 00:21", "2024-01-01 00:31"]),
        );
        check(
            "1-10/4 8 * * ? *",
            "2024-01-01 00:00",
            Ok(&[
                "2024-01-01 08:01",
                "2024-01-01 08:05",
                "2024-01-01 08:09",
                "2024-01-02 08:01",
            ]),
        );
        check(
            "0 10,15 * * ? *",
            "2024-01-01 11:00",
            Ok(&["2024-01-01 15:00", "2024-01-02 10:00"]),
        );
        check(
            "0 8-8 ? * 2,4,6 *",
            "2024-01-01 00:00",
            Ok(&[
                "2024-01-01 08:00",
                "2024-01-03 08:00",
                "2024-01-05 08:00",
                "2024-01-08 08:00",
            ]),
        );
        // Wrapping ranges, as Quartz reads them.
        check(
            "0 22-1 * * ? *",
            "2024-01-01 12:00",
            Ok(&[
                "2024-01-01 22:00",
                "2024-01-01 23:00",
                "2024-01-02 00:00",
                "2024-01-02 01:00",
            ]),
        );
        check(
            "0 12 ? * FRI-MON *",
            "2024-01-03 00:00",
            Ok(&[
                "2024-01-05 12:00",
                "2024-01-06 12:00",
                "2024-01-07 12:00",
                "2024-01-08 12:00",
                "2024-01-12 12:00",
            ]),
        );
        // Names in any case, months by name and by step.
        check(
            "0 0 1 jan,Jul ? *",
            "2024-02-01 00:00",
            Ok(&["2024-07-01 00:00", "2025-01-01 00:00"]),
        );
        check(
            "0 0 1 */4 ? *",
            "2024-02-01 00:00",
            Ok(&["2024-05-01 00:00", "2024-09-01 00:00", "2025-01-01 00:00"]),
        );
        check(
            "0 18 ? * MON-FRI *",
            "2024-01-05 18:01",
            Ok(&["2024-01-08 18:00"]),
        );
        // Day 31 only exists in some months.
        check(
            "0 0 31 * ? *",
            "2024-01-31 00:01",
            Ok(&[
                "2024-03-31 00:00",
                "2024-05-31 00:00",
                "2024-07-31 00:00",
                "2024-08-31 00:00",
            ]),
        );
        check(
            "0 0 1-31/10 * ? *",
            "2024-02-01 00:00",
            Ok(&[
                "2024-02-01 00:00",
                "2024-02-11 00:00",
                "2024-02-21 00:00",
                "2024-03-01 00:00",
            ]),
        );
    }

    #[test]
    fn leap_years_and_month_ends() {
        check(
            "0 0 29 2 ? *",
            "2023-01-01 00:00",
            Ok(&["2024-02-29 00:00", "2028-02-29 00:00"]),
        );
        // 2100 is not a leap year; 2000 was.
        check(
            "0 0 29 FEB ? 2097-2199",
            "2097-01-01 00:00",
            Ok(&["2104-02-29 00:00"]),
        );
        check(
            "0 0 29 2 ? 2000",
            "1999-01-01 00:00",
            Ok(&["2000-02-29 00:00"]),
        );
        check(
            "0 0 L 2 ? *",
            "2023-01-01 00:00",
            Ok(&["2023-02-28 00:00", "2024-02-29 00:00"]),
        );
        check(
            "30 23 L * ? *",
            "2024-01-31 23:31",
            Ok(&["2024-02-29 23:30", "2024-03-31 23:30", "2024-04-30 23:30"]),
        );
        // Never: February has no 30th. The search gives up after 2199 instead of spinning.
        check("0 0 30 2 ? *", "2024-01-01 00:00", Ok(&[]));
        check("0 0 31 4,6,9,11 ? *", "2024-01-01 00:00", Ok(&[]));
        // Carries across the end of a day, month and year at once.
        check(
            "* * * * ? *",
            "2024-12-31 23:59",
            Ok(&["2024-12-31 23:59", "2025-01-01 00:00"]),
        );
    }

    #[test]
    fn weekday_features() {
        // W: the weekday nearest the 15th (2024-06-15 is a Saturday, 2024-09-15 a Sunday).
        check(
            "0 9 15W * ? *",
            "2024-06-01 00:00",
            Ok(&[
                "2024-06-14 09:00",
                "2024-07-15 09:00",
                "2024-08-15 09:00",
                "2024-09-16 09:00",
            ]),
        );
        // 1W never leaves the month: 2024-06-01 is a Saturday, so Monday the 3rd.
        check(
            "0 9 1W 6 ? 2024",
            "2024-01-01 00:00",
            Ok(&["2024-06-03 09:00"]),
        );
        // 31W: 2024-03-31 is a Sunday, so Friday the 29th; months without a 31st are skipped.
        check(
            "0 9 31W * ? 2024",
            "2024-02-01 00:00",
            Ok(&["2024-03-29 09:00", "2024-05-31 09:00", "2024-07-31 09:00"]),
        );
        // LW: last weekday (2024-08-31 is a Saturday, 2024-03-31 a Sunday).
        check(
            "0 9 LW * ? 2024",
            "2024-02-01 00:00",
            Ok(&["2024-02-29 09:00", "2024-03-29 09:00", "2024-04-30 09:00"]),
        );
        check(
            "0 9 LW 8 ? 2024",
            "2024-01-01 00:00",
            Ok(&["2024-08-30 09:00"]),
        );
        // #: 3#2 is the second Tuesday.
        check(
            "0 12 ? * 3#2 *",
            "2024-01-01 00:00",
            Ok(&["2024-01-09 12:00", "2024-02-13 12:00", "2024-03-12 12:00"]),
        );
        // A fifth Friday exists only in some months.
        check(
            "0 12 ? * FRI#5 2024",
            "2024-01-01 00:00",
            Ok(&[
                "2024-03-29 12:00",
                "2024-05-31 12:00",
                "2024-08-30 12:00",
                "2024-11-29 12:00",
            ]),
        );
        // nL: 5L is the last Thursday.
        check(
            "0 12 ? * 5L *",
            "2024-01-01 00:00",
            Ok(&["2024-01-25 12:00", "2024-02-29 12:00", "2024-03-28 12:00"]),
        );
        check(
            "0 12 ? 2 1L 2026",
            "2026-01-01 00:00",
            Ok(&["2026-02-22 12:00"]),
        );
        // L alone in day-of-week is Saturday.
        check(
            "0 12 ? * L *",
            "2024-01-01 00:00",
            Ok(&["2024-01-06 12:00", "2024-01-13 12:00"]),
        );
        check(
            "0 12 ? * SUN,7 *",
            "2024-01-01 00:00",
            Ok(&["2024-01-06 12:00", "2024-01-07 12:00", "2024-01-13 12:00"]),
        );
    }

    #[test]
    fn years() {
        check(
            "0 0 1 1 ? 2030",
            "2024-01-01 00:00",
            Ok(&["2030-01-01 00:00"]),
        );
        check("0 0 1 1 ? 2030", "2030-01-01 00:01", Ok(&[]));
        check(
            "0 0 1 1 ? 2190/5",
            "2024-01-01 00:00",
            Ok(&["2190-01-01 00:00", "2195-01-01 00:00"]),
        );
        check(
            "59 23 31 12 ? *",
            "2199-12-31 23:59",
            Ok(&["2199-12-31 23:59"]),
        );
        check("59 23 31 12 ? *", "2200-01-01 00:00", Ok(&[]));
        check("0 0 1 1 ? *", "1900-06-01 00:00", Ok(&["1970-01-01 00:00"]));
    }

    #[test]
    fn invalid_expressions() {
        let cases: &[(&str, &str)] = &[
            ("0 10 * * *", "6 fields"),
            ("0 10 * * ? * *", "6 fields"),
            ("", "6 fields"),
            ("60 10 * * ? *", "minutes value 60 is outside 0-59"),
            ("0 24 * * ? *", "hours value 24"),
            ("0 0 0 * ? *", "day-of-month value 0"),
            ("0 0 32 * ? *", "day-of-month value 32"),
            ("0 0 1 13 ? *", "month value 13"),
            ("0 0 1 0 ? *", "month value 0"),
            ("0 0 ? * 0 *", "day-of-week value 0"),
            ("0 0 ? * 8 *", "day-of-week value 8"),
            ("0 0 1 1 ? 1969", "year value 1969"),
            ("0 0 1 1 ? 2200", "year value 2200"),
            ("0 0 1 1 ? 2030-2025", "low to high"),
            ("0 0 * * * *", "must be '?'"),
            ("7 20 * * 1-7 *", "must be '?'"),
            ("0 0 1 * MON *", "must be '?'"),
            ("0 0 ? * ? *", "both be '?'"),
            ("? 0 * * ? *", "'?' is only allowed"),
            ("0 0 1,? * ? *", "'?' is only allowed"),
            ("*/60 * * * ? *", "from 1 to 59"),
            ("*/0 * * * ? *", "from 1 to 59"),
            ("0 */24 * * ? *", "from 1 to 23"),
            ("0 0 1 */13 ? *", "from 1 to 12"),
            ("0/ * * * ? *", "step"),
            ("0 0 ? * 1/2 *", "does not take steps"),
            ("-1 0 * * ? *", "not a number"),
            ("1- 0 * * ? *", "not a number"),
            ("1,,2 0 * * ? *", "not a number"),
            ("0 0 1 JANUARY ? *", "or a name JAN-DEC"),
            ("0 0 ? * MONDAY *", "or a name SUN-SAT"),
            ("0,5, 0 * * ? *", "not a number"),
            ("0 0 L-2 * ? *", "stand alone"),
            ("0 0 1,L * ? *", "stand alone"),
            ("0 0 1-5W * ? *", "W follows a single day"),
            ("0 0 32W * ? *", "W follows a single day"),
            ("0 0 ? * 6L,2 *", "stand alone"),
            ("0 0 ? * 1,L *", "L follows a single day"),
            ("0 0 ? * 3#1,6#3 *", "1 to 5"),
            ("0 0 ? * 3#6 *", "1 to 5"),
            ("0 0 ? * 3#0 *", "1 to 5"),
            ("0 0 ? * 8#1 *", "# follows a single day"),
            ("0 0 ? * 2-3#1 *", "# follows a single day"),
            ("0 0 1 1 L *", "must be '?'"),
            ("0 L * * ? *", "not a number"),
            ("0 0 1W * MON *", "must be '?'"),
        ];
        for (fields, reason) in cases {
            check(fields, "2024-01-01 00:00", Err(reason));
        }
    }
}
