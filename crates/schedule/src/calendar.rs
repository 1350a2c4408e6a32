//! Proleptic Gregorian calendar arithmetic on plain integers, and the local minute the cron search walks.
//!
//! The cron search runs in local wall-clock time at minute precision. It keeps its position as
//! plain integers rather than `jiff` values because it steps field by field and is allowed to
//! hold out-of-range values (minute 60, hour 24, day 32) that mean "carry into the next field";
//! the search normalises them as it goes.

use jiff::civil::DateTime;

/// Whether `year` has a 29th of February.
pub(crate) fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The number of days in `month` (1-12) of `year`.
pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date (negative before it).
fn days_since_epoch(year: i32, month: u32, day: u32) -> i64 {
    // Count from a year that starts in March so the leap day is the last day of the year.
    let (year, month) = if month <= 2 {
        (i64::from(year) - 1, i64::from(month) + 9)
    } else {
        (i64::from(year), i64::from(month) - 3)
    };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719_468 days separate 0000-03-01 from 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The day of the week in AWS cron numbering: 1 = Sunday through 7 = Saturday.
pub(crate) fn weekday(year: i32, month: u32, day: u32) -> u32 {
    // 1970-01-01 was a Thursday, day 5 in this numbering.
    let from_sunday = (days_since_epoch(year, month, day) + 4).rem_euclid(7);
    from_sunday as u32 + 1
}

/// A local wall-clock minute. Fields may run past their range to ask for a carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Minute {
    pub(crate) year: i32,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
}

impl Minute {
    /// The minute containing `dt` (seconds dropped).
    pub(crate) fn floor(dt: DateTime) -> Minute {
        Minute {
            year: i32::from(dt.year()),
            month: dt.month() as u32,
            day: dt.day() as u32,
            hour: dt.hour() as u32,
            minute: dt.minute() as u32,
        }
    }

    /// The first minute at or after `dt`.
    pub(crate) fn ceil(dt: DateTime) -> Minute {
        let floor = Minute::floor(dt);
        if dt.second() == 0 && dt.subsec_nanosecond() == 0 {
            floor
        } else {
            floor.next()
        }
    }

    /// The following minute, possibly unnormalised (minute 60 carries later).
    pub(crate) fn next(self) -> Minute {
        Minute {
            minute: self.minute + 1,
            ..self
        }
    }

    /// The civil date-time of a normalised minute, or None if jiff cannot represent it.
    pub(crate) fn to_datetime(self) -> Option<DateTime> {
        DateTime::new(
            i16::try_from(self.year).ok()?,
            i8::try_from(self.month).ok()?,
            i8::try_from(self.day).ok()?,
            i8::try_from(self.hour).ok()?,
            i8::try_from(self.minute).ok()?,
            0,
            0,
        )
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(date: (i32, u32, u32), expected_weekday: u32, expected_days_in_month: u32) {
        let (year, month, day) = date;
        assert_eq!(
            weekday(year, month, day),
            expected_weekday,
            "weekday of {date:?}"
        );
        assert_eq!(
            days_in_month(year, month),
            expected_days_in_month,
            "length of {date:?}"
        );
    }

    #[test]
    fn weekdays_and_month_lengths() {
        check((1970, 1, 1), 5, 31); // Thursday
        check((1969, 12, 31), 4, 31); // Wednesday
        check((2000, 2, 29), 3, 29); // Tuesday; 2000 is a leap year (divisible by 400)
        check((1900, 2, 1), 5, 28); // Thursday; 1900 is not (divisible by 100)
        check((2024, 2, 29), 5, 29); // Thursday
        check((2023, 2, 28), 3, 28); // Tuesday
        check((2024, 3, 31), 1, 31); // Sunday
        check((2024, 4, 30), 3, 30); // Tuesday
        check((2100, 2, 28), 1, 28); // Sunday; 2100 is not a leap year
        check((2199, 12, 31), 3, 31); // Tuesday
    }
}
