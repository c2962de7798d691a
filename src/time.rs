//! SPEC §3 time: the day numbers the aggregation works in, the as-of date
//! and its default, date and `--every` parsing, ranges of dates, and the
//! `{as_of}` placeholder of input URLs. One copy of each, used by every
//! command.

use chrono::{NaiveDate, Utc};

use crate::error::{Error, Result};

/// 1970-01-01, day 0 of the day numbers.
pub const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("1970-01-01 is a date"),
};

/// The placeholder of an input URL that is replaced by the as-of date, for
/// warehouses that export a point-in-time folder per day.
pub const AS_OF_PLACEHOLDER: &str = "{as_of}";

/// Days since 1970-01-01 (the physical value of an Arrow `Date32`).
pub fn day_of(d: NaiveDate) -> i32 {
    (d - EPOCH).num_days() as i32
}

/// The date of a day number (the inverse of [`day_of`]).
pub fn date_of(day: i32) -> NaiveDate {
    EPOCH + chrono::Duration::days(i64::from(day))
}

/// Parses a `YYYY-MM-DD` date given to `--{flag}` (surrounding spaces are
/// ignored); a wrong date is a usage error naming the flag.
pub fn parse_date(flag: &str, s: &str) -> Result<NaiveDate> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| Error::Usage(format!("--{flag} {s}: expected a date YYYY-MM-DD")))?;
    if !(FIRST_DATE..=LAST_DATE).contains(&d) {
        return Err(Error::Usage(format!(
            "--{flag} {s}: expected a date between {FIRST_DATE} and {LAST_DATE}"
        )));
    }
    Ok(d)
}

/// The earliest date a command takes (older ones are typing mistakes).
pub const FIRST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!("1900-01-01 is a date"),
};

/// The latest date a command takes.
pub const LAST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2999, 12, 31) {
    Some(d) => d,
    None => panic!("2999-12-31 is a date"),
};

/// Parses `--as-of`, defaulting to yesterday in UTC (the last complete day
/// for a job that runs after midnight).
pub fn parse_as_of(s: Option<&str>) -> Result<NaiveDate> {
    match s {
        None => Ok(yesterday_utc()),
        Some(s) => parse_date("as-of", s),
    }
}

/// Yesterday's date in UTC: the default as-of date.
pub fn yesterday_utc() -> NaiveDate {
    Utc::now().date_naive() - chrono::Duration::days(1)
}

/// Parses a span of days given to `--{flag}` (`--every`, `--horizon`):
/// `30d`, `4w` (weeks) or a bare `30`, between 1 and 36,600 days.
pub fn parse_days(flag: &str, s: &str) -> Result<i64> {
    let t = s.trim();
    let (num, mul) = if let Some(n) = t.strip_suffix('d') {
        (n, 1)
    } else if let Some(n) = t.strip_suffix('w') {
        (n, 7)
    } else {
        (t, 1)
    };
    match num.trim().parse::<i64>() {
        Ok(n) if (1..=36_600).contains(&n) => Ok(n * mul),
        _ => Err(Error::Usage(format!(
            "--{flag} {s}: expected a number of days such as 1d or 7d (or weeks such as 4w)"
        ))),
    }
}

/// The dates `from`, `from + every_days`, … up to `to` (included when on
/// the step), ascending; `--from` after `--to` is a usage error.
pub fn dates_every(from: NaiveDate, to: NaiveDate, every_days: i64) -> Result<Vec<NaiveDate>> {
    if from > to {
        return Err(Error::Usage(format!(
            "--from {from} is after --to {to}: expected --from on or before --to"
        )));
    }
    let step = chrono::Duration::days(every_days.max(1));
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        out.push(d);
        d += step;
    }
    Ok(out)
}

/// `url` with every `{as_of}` replaced by `date` (YYYY-MM-DD).
pub fn with_as_of(url: &str, date: NaiveDate) -> String {
    url.replace(AS_OF_PLACEHOLDER, &date.format("%Y-%m-%d").to_string())
}

/// Whether `url` names a folder per as-of date (holds `{as_of}`).
pub fn is_per_date(url: &str) -> bool {
    url.contains(AS_OF_PLACEHOLDER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn day_numbers_count_from_1970() {
        assert_eq!(day_of(d("1970-01-01")), 0);
        assert_eq!(day_of(d("1970-02-01")), 31);
        assert_eq!(day_of(d("1969-12-31")), -1);
        assert_eq!(date_of(20_000), d("2024-10-04"));
    }

    #[test]
    fn spans_of_days_take_days_weeks_and_bare_numbers() {
        assert_eq!(parse_days("every", "30d").unwrap(), 30);
        assert_eq!(parse_days("every", "4w").unwrap(), 28);
        assert_eq!(parse_days("every", "7").unwrap(), 7);
        assert!(parse_days("every", "0d").is_err());
        assert!(parse_days("every", "1m").is_err());
        assert!(parse_days("every", "weekly").is_err());
    }

    #[test]
    fn ranges_step_from_the_first_date() {
        assert_eq!(
            dates_every(d("2026-01-01"), d("2026-03-01"), 30).unwrap(),
            vec![d("2026-01-01"), d("2026-01-31"), d("2026-03-02")][..2].to_vec()
        );
        assert_eq!(
            dates_every(d("2026-01-01"), d("2026-01-01"), 7)
                .unwrap()
                .len(),
            1
        );
        assert!(dates_every(d("2026-01-02"), d("2026-01-01"), 1).is_err());
    }

    #[test]
    fn dates_parse_trimmed_and_name_the_flag() {
        assert_eq!(parse_date("from", " 2026-11-24 ").unwrap(), d("2026-11-24"));
        let e = parse_date("from", "2026-11-31").unwrap_err().to_string();
        assert!(
            e.contains("--from 2026-11-31: expected a date YYYY-MM-DD"),
            "{e}"
        );
        assert_eq!(
            with_as_of("s3://b/{as_of}/x", d("2026-11-24")),
            "s3://b/2026-11-24/x"
        );
    }
}
