//! What the Parquet writer uses: first-seen numbering and statistics.

use super::*;

/// Codes in first-seen order: equal inlined strings share a view; a long
/// string stored twice (two views) is one value; a null row is code 0 and
/// takes no value.
#[test]
fn few_valued_strings_number_values_in_first_seen_order() {
    let long = "renewal-risk-review"; // 19 bytes: not inlined
    let rows = ["b", long, "a", "b", long, "a", "c"];
    let (v, d) = views(&rows);
    let buffers = [d.as_slice()];
    let strings = Strings::new(&v, &buffers);
    // Row 5 is null.
    let valid = bitmap(&[true, true, true, true, true, false, true], 3);
    let seen = few_valued_strings(&strings, Some(Bits::new(&valid, 3)), 64).unwrap();
    assert_eq!(seen.codes, vec![0, 1, 2, 0, 1, 0, 3]);
    // First rows of "b", the long one, "a", "c".
    assert_eq!(seen.rows, vec![0, 1, 2, 6]);
    // The two copies of the long string have distinct views.
    assert_ne!(v[1], v[4]);
}

/// More distinct values than the limit, or four times as many distinct
/// views: None.
#[test]
fn few_valued_strings_give_up_past_the_limit() {
    let rows = ["a", "b", "c", "a"];
    let (v, d) = views(&rows);
    let buffers = [d.as_slice()];
    let strings = Strings::new(&v, &buffers);
    assert!(few_valued_strings(&strings, None, 2).is_none());
    assert_eq!(
        few_valued_strings(&strings, None, 3).unwrap().codes,
        vec![0, 1, 2, 0]
    );
    // One value stored as 9 separate long strings: 9 views > 4 × 2.
    let long = ["a long value, not inlined"; 9];
    let (v, d) = views(&long);
    let buffers = [d.as_slice()];
    let strings = Strings::new(&v, &buffers);
    assert!(few_valued_strings(&strings, None, 2).is_none());
    assert_eq!(few_valued_strings(&strings, None, 3).unwrap().rows, vec![0]);
}

/// Categorical keys renumbered by first use; unused names get no code; a
/// null row is code 0.
#[test]
fn first_seen_keys_renumber_used_names() {
    // Names 0..5; rows use 3, 1, 3, (null), 4.
    let keys: [u8; 5] = [3, 1, 3, 0, 4];
    let valid = bitmap(&[true, true, true, false, true], 0);
    let seen = first_seen_keys(Keys::U8(&keys), Some(Bits::new(&valid, 0)), 5);
    assert_eq!(seen.codes, vec![0, 1, 0, 0, 2]);
    assert_eq!(seen.rows, vec![0, 1, 4]);
    let wide: [u32; 3] = [7, 7, 2];
    let seen = first_seen_keys(Keys::U32(&wide), None, 8);
    assert_eq!(seen.codes, vec![0, 0, 1]);
    assert_eq!(seen.rows, vec![0, 2]);
    assert_eq!(
        first_seen_keys(Keys::U16(&[2, 0]), None, 3).rows,
        vec![0, 1]
    );
}

#[test]
fn few_valued_floats_number_values_by_their_bits_in_first_seen_order() {
    // Rows: 2.5, null, −0, 2.5, +0, 7, −0. Codes by first sight: 2.5 → 0,
    // −0 → 1, +0 → 2 (other bits), 7 → 3; the null row is code 0.
    let values = [2.5, 9.0, -0.0, 2.5, 0.0, 7.0, -0.0];
    let valid = bitmap(&[true, false, true, true, true, true, true], 5);
    let seen = few_valued_floats(&values, Some(Bits::new(&valid, 5)), 4).expect("4 values");
    assert_eq!(seen.codes, [0, 0, 1, 0, 2, 3, 1]);
    assert_eq!(seen.rows, [0, 2, 4, 5]);
    // A fifth distinct value is one too many; four fit exactly.
    assert_eq!(
        few_valued_floats(&values, Some(Bits::new(&valid, 5)), 3),
        None
    );
    assert_eq!(few_valued_floats(&[1.0, 2.0, 3.0, 4.0, 5.0], None, 4), None);
    let many: Vec<f64> = (0..1000).map(|i| (i % 600) as f64 * 0.5).collect();
    let seen = few_valued_floats(&many, None, 600).expect("600 values");
    assert_eq!(seen.rows, (0..600).collect::<Vec<_>>());
    assert_eq!(seen.codes[600..], (0..400).collect::<Vec<u32>>()[..]);
}

#[test]
fn min_max_of_valid_values_with_infinities_and_nans() {
    // 70 rows over two words: row i is i − 30, except row 65 (−1000) and
    // row 3 (+1000), both null, and row 66 = +inf (valid).
    let mut values: Vec<f64> = (0..70).map(|i| i as f64 - 30.0).collect();
    values[65] = -1000.0;
    values[3] = 1000.0;
    values[66] = f64::INFINITY;
    let flags: Vec<bool> = (0..70).map(|i| i != 65 && i != 3).collect();
    let valid = bitmap(&flags, 6);
    let valid = Some(Bits::new(&valid, 6));
    assert_eq!(min_max(&values, valid), Some((-30.0, f64::INFINITY)));
    // Every value: the nulls' own values count.
    assert_eq!(min_max(&values, None), Some((-1000.0, f64::INFINITY)));
    // No valid value.
    let none = bitmap(&[false; 70], 0);
    assert_eq!(min_max(&values, Some(Bits::new(&none, 0))), None);
    assert_eq!(min_max(&[], None), None);
    // A NaN among the valid values: the first one is both (its bits kept);
    // a NaN in a null row does not count.
    let first_nan = f64::from_bits(0x7ff8_0000_0000_0001);
    values[10] = f64::from_bits(0x7ff8_0000_0000_0002);
    values[20] = first_nan;
    values[3] = f64::NAN;
    let flags: Vec<bool> = (0..70).map(|i| i != 3 && i != 10).collect();
    let valid = bitmap(&flags, 0);
    let (lo, hi) = min_max(&values, Some(Bits::new(&valid, 0))).expect("valid values");
    assert_eq!(
        (lo.to_bits(), hi.to_bits()),
        (first_nan.to_bits(), first_nan.to_bits())
    );
    // Only −inf.
    assert_eq!(
        min_max(&[f64::NEG_INFINITY; 5], None),
        Some((f64::NEG_INFINITY, f64::NEG_INFINITY))
    );
}
