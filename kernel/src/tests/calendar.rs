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
