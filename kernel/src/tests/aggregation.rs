//! Accumulators and windows.

use super::*;

#[test]
fn accumulators_mask_rows_and_give_nan_for_empty_extrema() {
    let idx = index(&["A", "B", "C"]);
    let funcs = [
        Func::Sum,
        Func::Mean,
        Func::Min,
        Func::Max,
        Func::First,
        Func::Last,
        Func::DistinctBits,
        Func::DistinctStrings,
    ];
    let mut k = TableKernel::new(idx.clone(), &funcs);
    // A: days 3, 5, 5, 9 (the day-9 row masked out); B: one masked row.
    let (v, d) = views(&["A", "A", "A", "A", "B"]);
    let buffers = [d.as_slice()];
    let ints = [4i64, 6, 1, 100, 7];
    let floats = [4.0, 6.0, 1.0, 100.0, 7.0];
    // Days before day 5: 2, 0, 0, -4 (masked out), 0.
    let (fv, fd) = views(&["x", "a longer feature", "x", "y", "z"]);
    let fbuf = [fd.as_slice()];
    let mask = bitmap(&[true, true, true, false, false], 6);
    let day = [3, 5, 5, 9, 5];
    let col = |values| AggColumns {
        window: Window::ALL,
        mask: Some(Bits::new(&mask, 6)),
        values,
    };
    k.add(&Batch {
        len: 5,
        after: NONE,
        day: &day,
        ids: Strings::new(&v, &buffers),
        ids_valid: None,
        rules: vec![NONE],
        nulls: Vec::new(),
        aggs: vec![
            col(Values::Int(&ints)),
            col(Values::Float(&floats)),
            col(Values::Float(&floats)),
            col(Values::Float(&floats)),
            col(Values::Float(&floats)),
            col(Values::Float(&floats)),
            col(Values::DaysBefore(5)),
            col(Values::Str(Strings::new(&fv, &fbuf))),
        ],
    });
    let (_, out) = k.finish().expect("fits");
    let a = |j: usize| out[j][0];
    assert_eq!(a(0), 11.0); // 4 + 6 + 1
    assert_eq!(a(1), 11.0 / 3.0);
    assert_eq!(a(2), 1.0);
    assert_eq!(a(3), 6.0);
    assert_eq!(a(4), 4.0); // first: day 3
    assert_eq!(a(5), 6.0); // last: day 5, tie 6 vs 1 → 6
    assert_eq!(a(6), 2.0); // days before 5: {2, 0}
    assert_eq!(a(7), 2.0); // {x, a longer feature}
    for j in 0..funcs.len() {
        for acct in [1, 2] {
            let v = out[j][acct];
            match funcs[j] {
                Func::Sum | Func::DistinctBits | Func::DistinctStrings => assert_eq!(v, 0.0),
                _ => assert!(v.is_nan(), "{:?} of an empty account", funcs[j]),
            }
        }
    }
}

#[test]
fn a_65th_distinct_string_or_a_bit_past_63_gives_up() {
    let idx = index(&["A"]);
    let names: Vec<String> = (0..65).map(|i| format!("f{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (fv, fd) = views(&refs);
    let fbuf = [fd.as_slice()];
    let (v, d) = views(&["A"; 65]);
    let buffers = [d.as_slice()];
    let mut days = [0; 65];
    days[3] = -64;
    let batch = |values| Batch {
        len: 65,
        after: NONE,
        day: &days,
        ids: Strings::new(&v, &buffers),
        ids_valid: None,
        rules: Vec::new(),
        nulls: Vec::new(),
        aggs: vec![AggColumns {
            window: Window::ALL,
            mask: Some(ALL),
            values,
        }],
    };
    // 64 distinct values fit...
    let mut k64 = TableKernel::new(idx.clone(), &[Func::DistinctStrings]);
    let (v64, d64) = views(&["A"; 64]);
    let b64 = [d64.as_slice()];
    k64.add(&Batch {
        len: 64,
        after: NONE,
        day: &[0; 64],
        ids: Strings::new(&v64, &b64),
        ids_valid: None,
        rules: Vec::new(),
        nulls: Vec::new(),
        aggs: vec![AggColumns {
            window: Window::ALL,
            mask: Some(ALL),
            values: Values::Str(Strings::new(&fv[..64], &fbuf)),
        }],
    });
    assert_eq!(k64.finish().expect("64 fit").1[0], vec![64.0]);
    // ...a 65th does not.
    let mut k = TableKernel::new(idx.clone(), &[Func::DistinctStrings]);
    k.add(&batch(Values::Str(Strings::new(&fv, &fbuf))));
    assert!(k.finish().is_none());
    // Day -64 is 64 days before day 0: past the 64 bits.
    let mut k = TableKernel::new(idx.clone(), &[Func::DistinctBits]);
    k.add(&batch(Values::DaysBefore(0)));
    assert!(k.finish().is_none());
}

/// Windows are applied by the kernel: rows `after < day ≤ through`, shared
/// between aggregations, and combined with each one's mask.
#[test]
fn windows_bound_the_days_and_combine_with_masks() {
    // 70 rows of account A (across two words), day = row number; events =
    // 1 on every row.
    let idx = index(&["A"]);
    let (v, d) = views(&["A"; 70]);
    let buffers = [d.as_slice()];
    let days: Vec<i32> = (0..70).collect();
    let events = vec![1i64; 70];
    // Mask: even rows only.
    let even: Vec<bool> = (0..70).map(|i| i % 2 == 0).collect();
    let even = bitmap(&even, 5);
    let w = Window {
        after: 60,
        through: 65,
    };
    let mut k = TableKernel::new(idx.clone(), &[Func::Count, Func::Sum, Func::Count]);
    k.add(&plain_batch(
        Strings::new(&v, &buffers),
        &days,
        vec![
            // Days 61-65: 5 rows.
            AggColumns {
                window: w,
                mask: None,
                values: Values::None,
            },
            // Days 62 and 64 (even) of the same window: 2 events.
            AggColumns {
                window: w,
                mask: Some(Bits::new(&even, 5)),
                values: Values::Int(&events),
            },
            // Days up to 3 (no lower bound): rows 0-3.
            AggColumns {
                window: Window {
                    after: i64::MIN,
                    through: 3,
                },
                mask: None,
                values: Values::None,
            },
        ],
    ));
    let (_, results) = k.finish().expect("fits");
    assert_eq!(results, vec![vec![5.0], vec![2.0], vec![4.0]]);
}

/// Repeated strings count once however often they come back (short ones
/// through the recent-keys slots, which 40 keys share with collisions, a
/// long one through its bytes).
#[test]
fn distinct_strings_count_repeats_once() {
    let idx = index(&["A", "B"]);
    // 40 short values three times over for A, then a 20-byte value twice;
    // B sees two of the short ones.
    let mut features: Vec<String> = (0..120).map(|i| format!("f{}", i % 40)).collect();
    features.extend([
        "a-twenty-byte-string".to_string(),
        "a-twenty-byte-string".to_string(),
    ]);
    features.extend(["f3".to_string(), "f7".to_string()]);
    let owners: Vec<&str> = (0..122).map(|_| "A").chain(["B", "B"]).collect();
    let (v, d) = views(&owners);
    let buffers = [d.as_slice()];
    let refs: Vec<&str> = features.iter().map(String::as_str).collect();
    let (fv, fd) = views(&refs);
    let fbuf = [fd.as_slice()];
    let mut k = TableKernel::new(idx, &[Func::DistinctStrings]);
    k.add(&plain_batch(
        Strings::new(&v, &buffers),
        &[0; 124],
        vec![AggColumns {
            window: Window::ALL,
            mask: None,
            values: Values::Str(Strings::new(&fv, &fbuf)),
        }],
    ));
    assert_eq!(k.finish().expect("fits").1[0], vec![41.0, 2.0]);
}

/// Window words bit by bit: row k of each 64 is bit k; bounds beyond the
/// i32 day range clamp; an empty window sets nothing.
#[test]
fn window_words_bit_by_bit() {
    // Days 0..=69: window (2, 9] holds rows 3-9; (63, 65] rows 64-65.
    let days: Vec<i32> = (0..70).collect();
    let w = |after, through| Window { after, through }.words(&days);
    assert_eq!(w(2, 9), vec![0b11_1111_1000, 0]);
    assert_eq!(w(63, 65), vec![0, 0b11]);
    assert_eq!(w(i64::MIN, i64::MAX), vec![u64::MAX, 0b11_1111]);
    assert_eq!(w(i64::MAX - 1, i64::MAX), vec![0, 0]);
    assert_eq!(w(5, 5), vec![0, 0]);
    // Extreme days are compared exactly, not wrapped.
    let extremes = [i32::MIN, -1, 0, i32::MAX];
    let ew = |after, through| Window { after, through }.words(&extremes);
    assert_eq!(ew(i32::MIN as i64, i32::MAX as i64), vec![0b1110]);
    assert_eq!(ew(i64::MIN, -1), vec![0b0011]);
    assert_eq!(ew(-1, i64::MAX), vec![0b1100]);
}

/// Integer values feed the number aggregations as f64 (mean, min, max,
/// first, last), the same as the float values they replace.
#[test]
fn integer_values_feed_mean_min_max_first_last() {
    // Account A, days 5, 3, 9, 9: values 4, -2, 7, 10.
    let idx = index(&["A"]);
    let (v, d) = views(&["A"; 4]);
    let buffers = [d.as_slice()];
    let days = [5, 3, 9, 9];
    let ints = [4i64, -2, 7, 10];
    let funcs = [Func::Mean, Func::Min, Func::Max, Func::First, Func::Last];
    let agg = AggColumns {
        window: Window::ALL,
        mask: None,
        values: Values::Int(&ints),
    };
    let mut k = TableKernel::new(idx, &funcs);
    k.add(&plain_batch(
        Strings::new(&v, &buffers),
        &days,
        vec![agg; 5],
    ));
    let (_, r) = k.finish().expect("fits");
    // Mean 19 / 4; first: day 3's -2; last: day 9, the larger of 7 and 10.
    assert_eq!(
        r,
        vec![vec![4.75], vec![-2.0], vec![10.0], vec![-2.0], vec![10.0]]
    );
}

/// Rows of A, Z (unknown), B, A, null id: with slots looked up once
/// (A 0, Z and the null id 2 = unknown, B 1) the kernel counts and sums
/// as with the ids (A: 1 + 4, B: 3; Z unknown, the null id orphaned).
#[test]
fn rows_placed_by_slot_aggregate_as_rows_looked_up_by_id() {
    let idx = index(&["A", "B"]);
    let (v, d) = views(&["A", "Z", "B", "A", ""]);
    let buffers = [d.as_slice()];
    let ids = Strings::new(&v, &buffers);
    let slots = idx.slots(&[ids]);
    assert_eq!(slots[..4], [0, 2, 1, 0]);
    let ints = [1i64, 2, 3, 4, 5];
    let day = [1, 1, 1, 1, 1];
    let valid = bitmap(&[true, true, true, true, false], 0);
    let batch = || Batch {
        ids_valid: Some(Bits::new(&valid, 0)),
        ..plain_batch(
            ids,
            &day,
            vec![AggColumns {
                window: Window::ALL,
                mask: None,
                values: Values::Int(&ints),
            }],
        )
    };
    let mut by_id = TableKernel::new(idx.clone(), &[Func::Sum]);
    by_id.add(&batch());
    let mut placed = TableKernel::new(idx.clone(), &[Func::Sum]);
    placed.add_placed(&batch(), &slots);
    let (t, out) = placed.finish().expect("fits");
    assert_eq!(out[0], vec![5.0, 3.0]);
    assert_eq!((t.orphan_unknown, t.orphan_null), (1, 1));
    assert_eq!(by_id.finish().expect("fits"), (t, out));
}
