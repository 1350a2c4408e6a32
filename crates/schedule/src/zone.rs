//! IANA time zones, looked up in the system time zone database (or the copy bundled with `jiff`).

use jiff::tz::TimeZone;

use crate::ScheduleError;

/// Files of a system zoneinfo directory that are not time zone names.
///
/// Debian ships `localtime` and `posixrules` next to the zones; they are aliases of the
/// machine's configuration, which AWS knows nothing of.
const NOT_ZONES: &[&str] = &["localtime", "posixrules"];

/// A time zone in which cron and at() expressions are read.
#[derive(Debug, Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// Looks up an IANA time zone name such as `Europe/Paris`, `UTC` or `US/Eastern`.
    ///
    /// The name must be spelled exactly as the database spells it: the lookup underneath is
    /// case-insensitive, but a service that echoes the name back should not accept a spelling
    /// that AWS would refuse.
    pub fn parse(name: &str) -> Result<Zone, ScheduleError> {
        let unknown = || ScheduleError::UnknownTimeZone {
            name: name.to_owned(),
        };
        if name == "UTC" {
            // Needs no database, so UTC works even on a machine without one.
            return Ok(Zone::utc());
        }
        if NOT_ZONES.contains(&name) {
            return Err(unknown());
        }
        let tz = TimeZone::get(name).map_err(|_| unknown())?;
        if tz.iana_name() != Some(name) {
            return Err(unknown());
        }
        Ok(Zone {
            name: name.to_owned(),
            tz,
        })
    }

    /// Coordinated Universal Time: the zone of EventBridge rules and Scheduler's default.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_owned(),
            tz: TimeZone::UTC,
        }
    }

    /// The name this zone was parsed from.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn tz(&self) -> &TimeZone {
        &self.tz
    }
}

impl Default for Zone {
    fn default() -> Zone {
        Zone::utc()
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

/// Validates a `ScheduleExpressionTimezone` value; the same as [`Zone::parse`].
pub fn parse_timezone(name: &str) -> Result<Zone, ScheduleError> {
    Zone::parse(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, valid: bool) {
        let result = Zone::parse(name);
        assert_eq!(result.is_ok(), valid, "{name}: {result:?}");
        if let Ok(zone) = result {
            assert_eq!(zone.name(), name);
        }
    }

    #[test]
    fn zone_names() {
        check("UTC", true);
        check("Etc/UTC", true);
        check("Europe/Paris", true);
        check("America/New_York", true);
        check("Australia/Sydney", true);
        check("US/Eastern", true);
        check("CET", true);
        check("Etc/GMT+5", true);
        check("Asia/Kolkata", true);

        check("", false);
        check("utc", false);
        check("europe/paris", false);
        check("Mars/Olympus_Mons", false);
        check("localtime", false);
        check("posixrules", false);
        check("+02:00", false);
        check("Europe//Paris", false);
        check("../zoneinfo/UTC", false);
        check("/etc/localtime", false);
    }

    #[test]
    fn unknown_zone_message() {
        let err = Zone::parse("Nowhere/Land").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid ScheduleExpressionTimezone Nowhere/Land: not a known IANA time zone name"
        );
    }
}
