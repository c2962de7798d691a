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

/// Rows ordered by day: the rows with no day (`valid` unset) first, then
/// by ascending day, file order kept within a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayOrder {
    /// The row at each position of the order.
    pub rows: Vec<u32>,
    /// Rows with no day (positions `0 .. nulls`).
    pub nulls: usize,
    /// Each day present, ascending, with its first position.
    pub starts: Vec<(i32, usize)>,
}

/// The [`DayOrder`] of a day column: a counting sort (a table spans a few
/// hundred or thousand days; a span over 2^24 days is refused as None).
/// `days` under an unset `valid` bit are ignored.
pub fn day_order(days: &[i32], valid: Option<crate::Bits<'_>>) -> Option<DayOrder> {
    let has = |i: usize| valid.is_none_or(|v| v.get(i));
    let (mut lo, mut hi) = (i32::MAX, i32::MIN);
    for (i, &d) in days.iter().enumerate() {
        if has(i) {
            lo = lo.min(d);
            hi = hi.max(d);
        }
    }
    let span = if lo <= hi {
        (hi as i64 - lo as i64) as usize + 1
    } else {
        0
    };
    if span > 1 << 24 {
        return None;
    }
    // Slot 0 holds the rows with no day, slot 1 + (d − lo) day d.
    let slot = |i: usize| {
        if has(i) {
            1 + (days[i] - lo) as usize
        } else {
            0
        }
    };
    let mut next = vec![0usize; span + 1];
    for i in 0..days.len() {
        next[slot(i)] += 1;
    }
    let mut starts = Vec::new();
    let mut start = 0;
    for (s, n) in next.iter_mut().enumerate() {
        if s > 0 && *n > 0 {
            starts.push((lo + (s - 1) as i32, start));
        }
        (*n, start) = (start, start + *n);
    }
    let nulls = starts.first().map_or(days.len(), |(_, s)| *s);
    let mut rows = vec![0u32; days.len()];
    for i in 0..days.len() {
        let s = &mut next[slot(i)];
        rows[*s] = i as u32;
        *s += 1;
    }
    Some(DayOrder {
        rows,
        nulls,
        starts,
    })
}
