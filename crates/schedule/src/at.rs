//! `at(yyyy-mm-ddThh:mm:ss)` expressions: one local date and time.

use jiff::civil::DateTime;

/// A wall-clock date and time, read in the schedule's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalDateTime {
    pub year: i16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl LocalDateTime {
    /// The civil date-time, or None for a date that does not exist (only possible for a value
    /// built by hand, since `parse` refuses them).
    pub(crate) fn to_datetime(self) -> Option<DateTime> {
        DateTime::new(
            self.year,
            i8::try_from(self.month).ok()?,
            i8::try_from(self.day).ok()?,
            i8::try_from(self.hour).ok()?,
            i8::try_from(self.minute).ok()?,
            i8::try_from(self.second).ok()?,
            0,
        )
        .ok()
    }
}

/// Parses the text between `at(` and `)`: exactly `yyyy-mm-ddThh:mm:ss`, a date that exists.
pub(crate) fn parse(text: &str) -> Result<LocalDateTime, String> {
    let wrong_form = || format!("'{text}' is not a date and time of the form yyyy-mm-ddThh:mm:ss");
    let bytes = text.as_bytes();
    let separators_ok = bytes.len() == 19
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !separators_ok {
        return Err(wrong_form());
    }
    let number = |from: usize, to: usize| -> Result<u16, String> {
        let digits = &text[from..to];
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(wrong_form());
        }
        digits.parse().map_err(|_| wrong_form())
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let local = LocalDateTime {
        year: year as i16,
        month: month as u8,
        day: day as u8,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
    };
    if local.to_datetime().is_none() {
        return Err(format!("'{text}' is not a real date and time"));
    }
    Ok(local)
}
