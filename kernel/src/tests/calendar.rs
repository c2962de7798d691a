//! Day arithmetic.

use super::*;

/// Month starts of hand-picked days (day numbers from Python's
/// `datetime.date`): a leap day, the epoch and the day before it, century
/// years that are (2000) and are not (1900, 2100) leap years, a first of
/// month (unchanged).
#[test]
fn first_of_month_of_known_days() {
    let cases = [
        (19_782, 19_754),   // 2024-02-29 -> 2024-02-01
        (19_754, 19_754),   // 2024-02-01
        (0, 0),             // 1970-01-01
        (-1, -31),          // 1969-12-31 -> 1969-12-01
        (11_017, 11_017),   // 2000-03-01
        (20_781, 20_758),   // 2026-11-24 -> 2026-11-01
        (-25_494, -25_508), // 1900-03-15 -> 1900-03-01
        (47_846, 47_816),   // 2100-12-31 -> 2100-12-01
    ];
    let (days, expected): (Vec<i32>, Vec<i32>) = cases.into_iter().unzip();
    assert_eq!(first_of_month(&days), expected);
    // Any i32 is accepted (values under a null slot are arbitrary).
    assert_eq!(first_of_month(&[i32::MIN, i32::MAX]).len(), 2);
}

/// Rows of days 5, null, 3, 5, 3, 9 (the null row's value is arbitrary):
/// the null row first, then days 3 (rows 2, 4), 5 (rows 0, 3) and 9 (row
/// 5), file order within a day.
#[test]
fn day_order_puts_null_days_first_then_days_ascending_stably() {
    let days = [5, 1_000_000, 3, 5, 3, 9];
    let valid = [0b11_1101u8];
    let order = day_order(&days, Some(Bits::new(&valid, 0))).expect("small span");
    assert_eq!(order.rows, vec![1, 2, 4, 0, 3, 5]);
    assert_eq!(order.nulls, 1);
    assert_eq!(order.starts, vec![(3, 1), (5, 3), (9, 5)]);
    // Without nulls, and with no rows.
    let order = day_order(&[-2, -4], None).expect("small span");
    assert_eq!((order.rows, order.nulls), (vec![1, 0], 0));
    assert_eq!(order.starts, vec![(-4, 0), (-2, 1)]);
    let empty = day_order(&[], None).expect("empty");
    assert_eq!(
        (empty.rows.len(), empty.nulls, empty.starts.len()),
        (0, 0, 0)
    );
    // A span of more than 2^24 days is refused.
    assert_eq!(day_order(&[0, 1 << 25], None), None);
}
