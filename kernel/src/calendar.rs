//! Day arithmetic on day numbers counted from 1970-01-01.

/// The first day of each day's month, days counted from 1970-01-01
/// (revenue.month is truncated to it, SPEC §2). One fused pass over the
/// column: the calendar arithmetic is that of Howard Hinnant's
/// `civil_from_days`, in `i64` so that no `i32` input can overflow.
pub fn first_of_month(days: &[i32]) -> Vec<i32> {
    days.iter().map(|&d| month_start(d)).collect()
}

/// The first day of day `d`'s month (see [`first_of_month`]).
#[inline]
fn month_start(d: i32) -> i32 {
    // Days since 0000-03-01 in 400-year eras of 146,097 days.
    let z = d as i64 + 719_468;
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    // Day of the March-based year, then its month (0 = March).
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day_of_month = doy - (153 * mp + 2) / 5;
    (d as i64 - day_of_month) as i32
}
