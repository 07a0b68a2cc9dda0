//! The Rules Engine's timestamp format: UTC, milliseconds, `+00:00`
//! (moment's `YYYY-MM-DDTHH:mm:ss.SSSZ`), e.g. `2026-11-23T20:15:22.123+00:00`.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats `at` as the Rules Engine writes `IntegrationStart` and `IntegrationEnd`.
pub fn format_rules_engine(at: DateTime<Utc>) -> String {
    // `use_z = false` writes the offset as `+00:00`, as moment does.
    at.to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// Reads a timestamp written by [`format_rules_engine`] (or any RFC 3339 time).
pub fn parse_rules_engine(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc))
}

/// Epoch milliseconds, as the run attributes store times.
pub fn to_epoch_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// The inverse of [`to_epoch_ms`]; `None` for a value outside chrono's range.
pub fn from_epoch_ms(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_written_in_utc_with_milliseconds_and_a_numeric_offset() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 20, 15, 22).unwrap()
            + chrono::Duration::milliseconds(123);
        assert_eq!(format_rules_engine(at), "2026-11-23T20:15:22.123+00:00");
        let whole = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(format_rules_engine(whole), "2026-01-02T03:04:05.000+00:00");
    }

    #[test]
    fn written_times_parse_back_and_other_offsets_become_utc() {
        let at = parse_rules_engine("2026-11-23T20:15:22.123+00:00").unwrap();
        assert_eq!(format_rules_engine(at), "2026-11-23T20:15:22.123+00:00");
        let shifted = parse_rules_engine("2026-11-23T21:15:22.123+01:00").unwrap();
        assert_eq!(shifted, at);
        assert!(parse_rules_engine("yesterday").is_err());
    }

    #[test]
    fn epoch_milliseconds_round_trip() {
        let at = parse_rules_engine("2026-11-23T20:15:22.123+00:00").unwrap();
        assert_eq!(from_epoch_ms(to_epoch_ms(at)), Some(at));
    }
}
