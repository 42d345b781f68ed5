//! The three ways S3 writes a time: `X-Amz-Date` (`20260102T030405Z`, what a presigned URL
//! carries), ISO 8601 (`2026-01-02T03:04:05Z`, in error bodies) and the HTTP date
//! (`Fri, 02 Jan 2026 03:04:05 GMT`, `Last-Modified`). Times are epoch seconds, UTC.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

const AMZ_DATE: &[BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");
const ISO_8601: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
const HTTP_DATE: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

fn format(secs: i64, items: &[BorrowedFormatItem<'static>]) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|at| at.format(items).ok())
        .unwrap_or_default()
}

/// `yyyymmddThhmmssZ`.
pub(crate) fn amz_date(secs: i64) -> String {
    format(secs, AMZ_DATE)
}

/// `yyyy-mm-ddThh:mm:ssZ`.
pub(crate) fn iso_8601(secs: i64) -> String {
    format(secs, ISO_8601)
}

/// The IMF-fixdate of HTTP headers.
pub(crate) fn http_date(secs: i64) -> String {
    format(secs, HTTP_DATE)
}

/// Epoch seconds of an `X-Amz-Date`, or `None` when it is not exactly `yyyymmddThhmmssZ` with
/// a real date and time.
pub(crate) fn parse_amz_date(raw: &str) -> Option<i64> {
    let bytes = raw.as_bytes();
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = raw.get(range)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let year = i32::try_from(digits(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(digits(4..6)?).ok()?).ok()?;
    let day = u8::try_from(digits(6..8)?).ok()?;
    let hour = u8::try_from(digits(9..11)?).ok()?;
    let minute = u8::try_from(digits(11..13)?).ok()?;
    let second = u8::try_from(digits(13..15)?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// Whether `raw` is a `yyyymmdd` calendar date.
pub(crate) fn is_yyyymmdd(raw: &str) -> bool {
    parse_amz_date(&format!("{raw}T000000Z")).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_formats_are_s3s() {
        let secs = 1_767_323_045; // 2026-01-02T03:04:05Z
        assert_eq!(amz_date(secs), "20260102T030405Z");
        assert_eq!(iso_8601(secs), "2026-01-02T03:04:05Z");
        assert_eq!(http_date(secs), "Fri, 02 Jan 2026 03:04:05 GMT");
        assert_eq!(parse_amz_date("20260102T030405Z"), Some(secs));
    }

    #[test]
    fn only_real_amz_dates_parse() {
        for raw in [
            "",
            "20260102T030405",
            "20260102 030405Z",
            "2026010XT030405Z",
            "20261302T030405Z",
            "20260230T030405Z",
            "20260102T250405Z",
            "+0260102T030405Z",
        ] {
            assert_eq!(parse_amz_date(raw), None, "{raw:?}");
        }
        assert!(is_yyyymmdd("20260102"));
        assert!(!is_yyyymmdd("2026012"));
    }
}
