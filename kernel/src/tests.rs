//! Hand-computed cases for the kernel on its own (healthscore's tests run
//! it end to end).

use super::*;

/// Views and one data buffer for `strings` (inlined up to 12 bytes).
fn views(strings: &[&str]) -> (Vec<[u8; 16]>, Vec<u8>) {
    let mut data = Vec::new();
    let views = strings
        .iter()
        .map(|s| {
            let b = s.as_bytes();
            let mut v = [0u8; 16];
            v[0..4].copy_from_slice(&(b.len() as u32).to_ne_bytes());
            if b.len() <= 12 {
                v[4..4 + b.len()].copy_from_slice(b);
            } else {
                v[4..8].copy_from_slice(&b[0..4]);
                v[8..12].copy_from_slice(&0u32.to_ne_bytes());
                v[12..16].copy_from_slice(&(data.len() as u32).to_ne_bytes());
                data.extend_from_slice(b);
            }
            v
        })
        .collect();
    (views, data)
}

/// A bitmap of `flags`, one bit per row, starting at bit `offset` of its
/// first byte (the other bits set, so a misread offset shows).
fn bitmap(flags: &[bool], offset: usize) -> Vec<u8> {
    let mut bytes = vec![0xffu8; (offset + flags.len()).div_ceil(8)];
    for (i, &f) in flags.iter().enumerate() {
        let j = offset + i;
        if !f {
            bytes[j >> 3] &= !(1 << (j & 7));
        }
    }
    bytes
}

/// No row set.
const NONE: Bits<'static> = Bits {
    bytes: &[0; 16],
    offset: 0,
};

/// Every row set.
const ALL: Bits<'static> = Bits {
    bytes: &[0xff; 16],
    offset: 0,
};

/// A batch of valid rows (none after D, no null id, no rule or null
/// flags) with `aggs`: `day.len()` rows.
fn plain_batch<'a>(ids: Strings<'a>, day: &'a [i32], aggs: Vec<AggColumns<'a>>) -> Batch<'a> {
    Batch {
        len: day.len(),
        after: NONE,
        day,
        ids,
        ids_valid: None,
        rules: Vec::new(),
        nulls: Vec::new(),
        aggs,
    }
}

fn index(ids: &[&str]) -> Arc<AccountIndex> {
    let (v, d) = views(ids);
    let buffers = [d.as_slice()];
    Arc::new(AccountIndex::new(&[Strings::new(&v, &buffers)]))
}

#[test]
fn strings_read_inlined_and_buffered_values() {
    let (v, d) = views(&["a", "twelve bytes", "thirteen byte", ""]);
    let buffers = [d.as_slice()];
    let s = Strings::new(&v, &buffers);
    assert_eq!(s.get(0), b"a");
    assert_eq!(s.get(1), b"twelve bytes");
    assert_eq!(s.get(2), b"thirteen byte");
    assert_eq!(s.get(3), b"");
}

#[test]
fn row_accounting_orders_after_null_id_unknown_id_then_rules() {
    let idx = index(&["A", "B"]);
    let mut k = TableKernel::new(idx.clone(), &[Func::Count]);
    // Rows: valid A (day 10), valid B (day 12), after-D A, null id,
    // unknown Z (valid), unknown Z with rule 2, A with rule 2, B with rule
    // 1, valid A (day 7) whose optional column 1 is null.
    let (v, d) = views(&["A", "B", "A", "", "Z", "Z", "A", "B", "A"]);
    let buffers = [d.as_slice()];
    let (t, f) = (true, false);
    let after = bitmap(&[f, f, t, f, f, f, f, f, f], 3);
    let ids_valid = bitmap(&[t, t, t, f, t, t, t, t, t], 5);
    // Rule 1 broken by the B row; rule 2 by both Z rows, the A row, the
    // B row (counted under rule 1, its first) and the after-D and null-id
    // rows (counted as those).
    let rule1 = bitmap(&[f, f, f, f, f, f, f, t, f], 0);
    let rule2 = bitmap(&[f, f, t, t, f, t, t, t, f], 7);
    let day = [10, 12, 99, 5, 5, 5, 5, 5, 7];
    let null0 = bitmap(&[f; 9], 1);
    let null1 = bitmap(&[f, f, f, f, f, f, f, f, t], 2);
    k.add(&Batch {
        len: 9,
        after: Bits::new(&after, 3),
        day: &day,
        ids: Strings::new(&v, &buffers),
        ids_valid: Some(Bits::new(&ids_valid, 5)),
        rules: vec![Bits::new(&rule1, 0), Bits::new(&rule2, 7)],
        nulls: vec![Bits::new(&null0, 1), Bits::new(&null1, 2)],
        aggs: vec![AggColumns {
            window: Window::ALL,
            mask: Some(ALL),
            values: Values::None,
        }],
    });
    let (t, out) = k.finish().expect("fits");
    assert_eq!(t.rows, 9);
    assert_eq!(t.after, 1);
    assert_eq!(t.orphan_null, 1);
    assert_eq!(t.orphan_unknown, 2); // both Z rows, the rejected one too
    assert_eq!(t.rejected[1], 1);
    assert_eq!(t.rejected[2], 1);
    assert_eq!(t.nulls[1], 1);
    assert_eq!(t.nulls[0], 0);
    assert_eq!((t.min_day, t.max_day), (Some(7), Some(12)));
    // Count: A has its two valid rows, B one.
    assert_eq!(out[0], vec![2.0, 1.0]);
}

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

#[test]
fn bitmaps_are_read_across_words_at_any_offset() {
    // 130 rows of account A: rows 128 and 129 after D, rows 64 and 100
    // break the rule, the mask holds every third row. Counted: rows
    // 0, 3, ..., 126 (43 rows; 64 and 100 are not multiples of 3).
    let idx = index(&["A"]);
    let (v, d) = views(&["A"; 130]);
    let buffers = [d.as_slice()];
    let after: Vec<bool> = (0..130).map(|i| i >= 128).collect();
    let rule: Vec<bool> = (0..130).map(|i| i == 64 || i == 100).collect();
    let mask: Vec<bool> = (0..130).map(|i| i % 3 == 0).collect();
    let (after, rule, mask) = (bitmap(&after, 5), bitmap(&rule, 7), bitmap(&mask, 3));
    let mut k = TableKernel::new(idx, &[Func::Count]);
    k.add(&Batch {
        len: 130,
        after: Bits::new(&after, 5),
        day: &[1; 130],
        ids: Strings::new(&v, &buffers),
        ids_valid: None,
        rules: vec![Bits::new(&rule, 7)],
        nulls: Vec::new(),
        aggs: vec![AggColumns {
            window: Window::ALL,
            mask: Some(Bits::new(&mask, 3)),
            values: Values::None,
        }],
    });
    let (t, out) = k.finish().expect("fits");
    assert_eq!((t.rows, t.after, t.rejected[1]), (130, 2, 2));
    assert_eq!(out[0], vec![43.0]);
}

#[test]
fn ids_are_found_across_batches_and_unsorted() {
    let idx = index(&["long account id 1", "long account id 2"]);
    let mut k = TableKernel::new(idx.clone(), &[Func::Count]);
    for ids in [
        [
            "long account id 2",
            "long account id 1",
            "long account id 2",
        ],
        ["long account id 1", "nope", "long account id 1"],
    ] {
        let (v, d) = views(&ids);
        let buffers = [d.as_slice()];
        k.add(&plain_batch(
            Strings::new(&v, &buffers),
            &[0; 3],
            vec![AggColumns {
                window: Window::ALL,
                mask: Some(ALL),
                values: Values::None,
            }],
        ));
    }
    let (t, out) = k.finish().expect("fits");
    assert_eq!(t.orphan_unknown, 1);
    assert_eq!(out[0], vec![3.0, 2.0]);
}

#[test]
fn positions_in_order_out_of_order_and_unknown_then_gather() {
    let idx = index(&["A", "B", "C"]);
    let (v, d) = views(&["A", "C", "B", "X", "C"]);
    let buffers = [d.as_slice()];
    let p = idx.positions(&[Strings::new(&v, &buffers)]);
    assert_eq!(p, vec![Some(0), Some(2), Some(1), None, Some(2)]);
    let (g, valid) = gather_valid(&[10.0, 11.0, 12.0], &p);
    assert_eq!(&g[..3], &[10.0, 12.0, 11.0]);
    // The unknown id's row is null (bit 3 clear).
    assert_eq!(valid, [0b1_0111]);
    assert_eq!(g[4], 12.0);
}

/// A [`scoring::Col`] holding `values` then NaN.
fn block_of(values: &[f64]) -> scoring::Col {
    let mut c = [f64::NAN; scoring::BLOCK];
    c[..values.len()].copy_from_slice(values);
    c
}

#[test]
fn top_three_ranks_by_key_and_keeps_the_first_of_equals() {
    let nan = f64::NAN;
    // Row 0: c (5) > a = b (2; a comes first) > d (1). Row 1: b > c, a
    // and d have no loss. Row 2: none. Row 3: four equal keys, the first
    // three win in order.
    let a = block_of(&[2e9, nan, nan, 4.0]);
    let b = block_of(&[2e9, 7e9, nan, 4.0]);
    let c = block_of(&[5e9, 3e9, nan, 4.0]);
    let d = block_of(&[1e9, nan, nan, 4.0]);
    let mut top = [u64::MAX; scoring::BLOCK];
    scoring::top_three([&a, &b, &c, &d].into_iter(), &mut top);
    // 1 + position in bits 0.., 21.., 42..; 0 for none.
    assert_eq!(
        top[..4],
        [3 | 1 << 21 | 2 << 42, 2 | 3 << 21, 0, 1 | 2 << 21 | 3 << 42]
    );
    assert_eq!(top[4], 0);
}

/// Scores rows `first ..` of `inputs` (as many as `band` holds) into
/// `columns` (the points the model computes, its groups' points,
/// score_raw, score, completeness, then each metric's loss), `band` and
/// `top`.
fn score_into(
    model: &ScoreModel,
    inputs: &RowInputs<'_>,
    first: usize,
    columns: &mut [Vec<f64>],
    band: &mut [u32],
    top: &mut [u64],
) {
    let parts = columns.iter_mut().map(Vec::as_mut_slice);
    let mut out = RowOutputs::from_parts(model, parts, band, top);
    score_rows(model, inputs, first, &mut out);
}

/// Three metrics in three groups, two scorecards and rows without one;
/// every value worked out by hand from SPEC §4 (see each row).
#[test]
fn score_rows_by_hand() {
    let nan = f64::NAN;
    // m0: linear 0..10, weight 1, group 0, skipped when missing.
    // m1: steps 0 → 0, 5 → 50, 8 → 100, weight 3, group 0, 50 when
    //     missing.
    // m2: given (percentile) points, weight 2, group 1.
    // Group 2 has no metrics. Names order the drivers: m2, m0, m1.
    let model = ScoreModel {
        metrics: vec![
            ScoredMetric {
                group: 0,
                weight: 1.0,
                rule: PointsRule::Linear {
                    lo: 0.0,
                    span: 10.0,
                },
                missing: None,
            },
            ScoredMetric {
                group: 0,
                weight: 3.0,
                rule: PointsRule::Steps(vec![(0.0, 0.0), (5.0, 50.0), (8.0, 100.0)]),
                missing: Some(50.0),
            },
            ScoredMetric {
                group: 1,
                weight: 2.0,
                rule: PointsRule::Given,
                missing: None,
            },
        ],
        weights: vec![vec![1.0, 3.0, 2.0], vec![0.0, 1.0, 0.0]],
        group_totals: vec![4.0, 2.0, 0.0],
        bands: vec![(0, 49), (50, 100)],
        drivers: vec![2, 0, 1],
    };
    // Rows: 0 S0; 1 S0, nothing observed; 2 S1, m0 above its range; 3 no
    // scorecard; 4 S0, m0 below its range; 5 S1, a score of exactly 62.5.
    let m0 = [2.5, 0.0, 12.0, 5.0, -3.0, 0.0];
    let m0_valid = bitmap(&[true, false, true, true, true, false], 3);
    let m1 = [6.0, 0.0, 9.0, 0.0, 4.9, 0.0];
    let m1_valid = bitmap(&[true, false, true, true, true, false], 0);
    let m2 = [1.0, 0.0, 0.5, 1.0, 7.0, 1.0];
    let m2_valid = bitmap(&[true, false, true, true, true, true], 6);
    let m2_points = [80.0, 0.0, 10.0, 55.0, 100.0, 62.5];
    let scorecards = [0u32, 0, 1, 0, 0, 1];
    let scorecard_valid = bitmap(&[true, true, true, false, true, true], 1);
    let inputs = RowInputs {
        raw: vec![
            (&m0[..], Some(Bits::new(&m0_valid, 3))),
            (&m1[..], Some(Bits::new(&m1_valid, 0))),
            (&m2[..], Some(Bits::new(&m2_valid, 6))),
        ],
        given: vec![
            None,
            None,
            Some((&m2_points[..], Some(Bits::new(&m2_valid, 6)))),
        ],
        scorecard: (&scorecards[..], Some(Bits::new(&scorecard_valid, 1))),
    };
    let rows = 6;
    let mut columns = vec![vec![-7.0; rows]; 2 + 3 + 3 + 3];
    let (mut band, mut top) = (vec![9u32; rows], vec![9u64; rows]);
    score_into(&model, &inputs, 0, &mut columns, &mut band, &mut top);
    let same = |got: &[f64], want: &[f64], what: &str| {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                "{what} row {i}: {g} != {w}"
            );
        }
    };
    // Points: m0 = 10·x clamped to 0..100 (null when missing); m1 = the
    // last step reached (missing: 50).
    same(
        &columns[0],
        &[25.0, nan, 100.0, 50.0, 0.0, nan],
        "m0 points",
    );
    same(
        &columns[1],
        &[50.0, 50.0, 100.0, 0.0, 0.0, 50.0],
        "m1 points",
    );
    // Group 0 = (1·p0 + 3·p1) / (weights with points), where used: row 0
    // (25 + 150) / 4, row 1 150 / 3, row 4 0 / 4. Group 1 = p2 where
    // used. Group 2 is never scored.
    same(&columns[2], &[43.75, 50.0, nan, nan, 0.0, nan], "group 0");
    same(&columns[3], &[80.0, nan, 10.0, nan, 100.0, 62.5], "group 1");
    same(&columns[4], &[nan; 6], "group 2");
    // score_raw: row 0 (1·43.75 + 3·80) / 4; row 1 50; row 4 300 / 4.
    same(
        &columns[5],
        &[70.9375, 50.0, 10.0, nan, 75.0, 62.5],
        "score_raw",
    );
    same(&columns[6], &[71.0, 50.0, 10.0, nan, 75.0, 63.0], "score");
    // Completeness: S0 uses groups 0, 1, 2 (weights 1, 3, 2), group 2
    // observes nothing: rows 0 and 4 (1 + 3) / 6, row 1 0 / 6; S1 uses
    // group 1 alone, observed; no scorecard: 0.
    same(
        &columns[7],
        &[4.0 / 6.0, 0.0, 1.0, 0.0, 4.0 / 6.0, 1.0],
        "completeness",
    );
    // Losses: (100 − p) × group weight / counted weight × metric weight /
    // the group's weight with points. Row 0: 75·1/4·1/4, 50·1/4·3/4,
    // 20·3/4·2/2. Row 1: m1 50·1/1·3/3. Rows 2 and 5: m2 90 and 37.5 (group 0 is not
    // used by S1). Row 4: 100·1/4·1/4, 100·1/4·3/4, and m2 0.
    same(&columns[8], &[4.6875, nan, nan, nan, 6.25, nan], "m0 loss");
    same(&columns[9], &[9.375, 50.0, nan, nan, 18.75, nan], "m1 loss");
    same(&columns[10], &[15.0, nan, 90.0, nan, 0.0, 37.5], "m2 loss");
    assert_eq!(band, [1, 1, 0, 2, 1, 1]);
    // Drivers in the order m2, m0, m1 (codes 1, 2, 3); a zero loss is no
    // driver.
    assert_eq!(top, [1 | 3 << 21 | 2 << 42, 3, 1, 0, 3 | 2 << 21, 1]);

    // Rows 2.. alone, as a second task would score them: the same values.
    let mut tail = vec![vec![-7.0; 4]; 11];
    let (mut band_tail, mut top_tail) = (vec![9u32; 4], vec![9u64; 4]);
    score_into(&model, &inputs, 2, &mut tail, &mut band_tail, &mut top_tail);
    for (whole, part) in columns.iter().zip(&tail) {
        same(part, &whole[2..], "rows 2..");
    }
    assert_eq!(band_tail, band[2..]);
    assert_eq!(top_tail, top[2..]);
}

#[test]
fn losses_and_scores_are_rounded_half_away_from_zero() {
    // One metric, linear 0..3: x = 1 is worth (1/3)·100 points (SPEC's
    // order: the fraction first), so the loss is 66.666666666666…,
    // 66.666666667 to 9 decimals, and the score 33. x = 1.5 is worth 50
    // points (a score of exactly 50).
    let model = ScoreModel {
        metrics: vec![ScoredMetric {
            group: 0,
            weight: 1.0,
            rule: PointsRule::Linear { lo: 0.0, span: 3.0 },
            missing: None,
        }],
        weights: vec![vec![1.0]],
        group_totals: vec![1.0],
        bands: vec![(0, 100)],
        drivers: vec![0],
    };
    let x = [1.0, 1.5];
    let inputs = RowInputs {
        raw: vec![(&x[..], None)],
        given: vec![None],
        scorecard: (&[0, 0], None),
    };
    let mut columns = vec![vec![0.0; 2]; 6];
    let (mut band, mut top) = (vec![0u32; 2], vec![0u64; 2]);
    score_into(&model, &inputs, 0, &mut columns, &mut band, &mut top);
    assert_eq!(columns[0], [(1.0 / 3.0) * 100.0, 50.0]);
    assert_eq!(columns[3], [33.0, 50.0]);
    assert_eq!(columns[5], [66.666666667, 50.0]);
    assert_eq!(top, [1, 1]);
}

#[test]
fn nan_marks_nulls_and_integers_keep_their_range() {
    let nan = f64::NAN;
    let mut v = vec![1.5, nan, -0.0, 3.0, nan, 6.0, 7.0, 8.0, nan];
    let (validity, nulls) = nulls_from_nan(&mut v).expect("nulls");
    assert_eq!(validity, [0b1110_1101, 0b0]);
    assert_eq!(nulls, 3);
    assert_eq!(v, [1.5, 0.0, -0.0, 3.0, 0.0, 6.0, 7.0, 8.0, 0.0]);
    assert!(nulls_from_nan(&mut [1.0, 2.0]).is_none());

    let (ints, validity) = integers_from_floats(&[71.0, nan, -3.0, 3e9, 2147483647.0]);
    assert_eq!(ints, [71, 0, -3, 0, i32::MAX]);
    assert_eq!(validity, Some(vec![0b1_0101]));
    assert_eq!(integers_from_floats(&[1.0, 2.0]), (vec![1, 2], None));
}

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

/// The bits of a bitmap's first `n` rows.
fn rows_of(bytes: &[u8], n: usize) -> Vec<bool> {
    (0..n).map(|i| (bytes[i / 8] >> (i % 8)) & 1 == 1).collect()
}

/// Conditions over 70 rows (two words): `feature` cycles through "login",
/// "export", a 15-byte "dashboard-share" and a null every 7th row;
/// `events` is i - 3 (null every 5th row).
#[test]
fn conditions_compare_strings_and_integers_with_nulls_as_false() {
    let names = ["login", "export", "dashboard-share"];
    let rows: Vec<&str> = (0..70).map(|i| names[i % 3]).collect();
    let (v, d) = views(&rows);
    let buffers = [d.as_slice()];
    let feature_valid = bitmap(&(0..70).map(|i| i % 7 != 0).collect::<Vec<_>>(), 0);
    let events: Vec<i64> = (0..70).map(|i| i as i64 - 3).collect();
    let events_valid = bitmap(&(0..70).map(|i| i % 5 != 0).collect::<Vec<_>>(), 5);
    let ops = [
        Operand::Str(
            Strings::new(&v, &buffers),
            Some(Bits::new(&feature_valid, 0)),
        ),
        Operand::Int(&events, Some(Bits::new(&events_valid, 5))),
    ];
    let str_eq = |value: &str, equal| Cond::StrEq {
        op: 0,
        value: value.as_bytes().to_vec(),
        equal,
    };
    let (login, not_login) = (str_eq("login", true), str_eq("login", false));
    let share = str_eq("dashboard-share", true);
    let positive = Cond::IntCmp {
        op: 1,
        cmp: Cmp::Gt,
        value: 0,
    };
    let eval = |c: &Cond| rows_of(&eval_cond(c, &ops, 70), 70);
    let expect = |f: &dyn Fn(usize) -> bool| (0..70).map(f).collect::<Vec<bool>>();
    let feature_ok = |i: usize| !i.is_multiple_of(7);
    let events_ok = |i: usize| !i.is_multiple_of(5);
    assert_eq!(eval(&login), expect(&|i| feature_ok(i) && i % 3 == 0));
    assert_eq!(eval(&not_login), expect(&|i| feature_ok(i) && i % 3 != 0));
    assert_eq!(eval(&share), expect(&|i| feature_ok(i) && i % 3 == 2));
    assert_eq!(eval(&positive), expect(&|i| events_ok(i) && i > 3));
    assert_eq!(
        eval(&Cond::All(vec![not_login.clone(), positive.clone()])),
        expect(&|i| feature_ok(i) && i % 3 != 0 && events_ok(i) && i > 3)
    );
    assert_eq!(eval(&Cond::NotNull(1)), expect(&|i| events_ok(i)));
    for (cmp, f) in [
        (Cmp::Eq, (|a: i64| a == 4) as fn(i64) -> bool),
        (Cmp::Ne, |a| a != 4),
        (Cmp::Lt, |a| a < 4),
        (Cmp::Le, |a| a <= 4),
        (Cmp::Gt, |a| a > 4),
        (Cmp::Ge, |a| a >= 4),
    ] {
        let c = Cond::IntCmp {
            op: 1,
            cmp,
            value: 4,
        };
        assert_eq!(
            eval(&c),
            expect(&|i| events_ok(i) && f(i as i64 - 3)),
            "{cmp:?}"
        );
        let n = Cond::IntCmp {
            op: 1,
            cmp: cmp.negated(),
            value: 4,
        };
        assert_eq!(
            eval(&n),
            expect(&|i| events_ok(i) && !f(i as i64 - 3)),
            "not {cmp:?}"
        );
    }
    // Bits past the last row are clear: 70 rows fill 9 bytes, the last
    // one holds rows 64-69 only.
    let all = eval_cond(&Cond::All(vec![]), &ops, 70);
    assert_eq!(all.len(), 9);
    assert_eq!(all[8], 0b0011_1111);
}

/// Several conditions over one batch: each gives what it gives alone
/// (comparisons they share are evaluated once); a column of another type
/// is read for its nulls only.
#[test]
fn conditions_evaluated_together_give_what_each_gives_alone() {
    let rows: Vec<&str> = (0..10)
        .map(|i| if i % 2 == 0 { "login" } else { "x" })
        .collect();
    let (v, d) = views(&rows);
    let buffers = [d.as_slice()];
    let events: Vec<i64> = (0..10).collect();
    let other_valid = bitmap(&(0..10).map(|i| i != 4).collect::<Vec<_>>(), 0);
    let ops = [
        Operand::Str(Strings::new(&v, &buffers), None),
        Operand::Int(&events, None),
        Operand::Other(Some(Bits::new(&other_valid, 0))),
    ];
    let login = Cond::StrEq {
        op: 0,
        value: b"login".to_vec(),
        equal: true,
    };
    let big = Cond::IntCmp {
        op: 1,
        cmp: Cmp::Ge,
        value: 6,
    };
    let conds = vec![
        Cond::All(vec![login.clone(), Cond::NotNull(2)]),
        Cond::All(vec![login.clone(), big.clone()]),
        big.clone(),
    ];
    let together = eval_conds(&conds, &ops, 10);
    for (c, got) in conds.iter().zip(&together) {
        assert_eq!(got, &eval_cond(c, &ops, 10), "{c:?}");
    }
    // Rows 0, 2, 6, 8 (login, row 4 null in the other column); 6, 8; 6-9.
    assert_eq!(
        rows_of(&together[0], 10),
        (0..10)
            .map(|i| [0, 2, 6, 8].contains(&i))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        rows_of(&together[1], 10),
        (0..10).map(|i| [6, 8].contains(&i)).collect::<Vec<_>>()
    );
    assert_eq!(
        rows_of(&together[2], 10),
        (0..10).map(|i| i >= 6).collect::<Vec<_>>()
    );
}

/// Percentile points, SPEC §3: 100 · (m − 1)/(n − 1), m counting ties.
#[test]
fn percentile_points_count_ties_in_the_customers_favour() {
    // Valid: 10, 20, 20, 30 (n = 4); the fifth row is null.
    let values = [20.0, 10.0, 30.0, 20.0, 99.0];
    let valid = bitmap(&[true, true, true, true, false], 3);
    let valid = Some(Bits::new(&valid, 3));
    let groups = [0u32; 5];
    // Higher is better: m = 3, 1, 4, 3 (values ≤ x).
    let up = percentile_points(&values, valid, &groups, None, true);
    assert_eq!(up[..4], [200.0 / 3.0, 0.0, 100.0, 200.0 / 3.0]);
    // Lower is better: m = 3, 4, 1, 3 (values ≥ x).
    let down = percentile_points(&values, valid, &groups, None, false);
    assert_eq!(down[..4], [200.0 / 3.0, 100.0, 0.0, 200.0 / 3.0]);
    assert_eq!(up[4], 0.0);
    assert_eq!(down[4], 0.0);
}

#[test]
fn percentile_points_rank_within_each_group_and_the_null_group() {
    // Group 0: 5, 1, 3 → 100, 0, 50. Group 7: one value → 100.
    // Null group (rows 4 and 5): 2, 1 → 100, 0.
    let values = [5.0, 1.0, 42.0, 3.0, 2.0, 1.0];
    let groups = [0, 0, 7, 0, 0, 0];
    let gvalid = bitmap(&[true, true, true, true, false, false], 0);
    let p = percentile_points(&values, None, &groups, Some(Bits::new(&gvalid, 0)), true);
    assert_eq!(p, [100.0, 0.0, 100.0, 50.0, 100.0, 0.0]);
}

#[test]
fn percentile_points_compare_numbers_negatives_and_signed_zeros() {
    // −5 < −1 < −0 = +0 < 3: m = 1, 2, 4, 4, 5 of n = 5.
    let values = [-1.0, 3.0, -0.0, -5.0, 0.0];
    let p = percentile_points(&values, None, &[1; 5], None, true);
    assert_eq!(p, [25.0, 100.0, 75.0, 0.0, 75.0]);
    // Lower is better: values ≥ x: m = 4, 1, 3, 5, 3.
    let p = percentile_points(&values, None, &[1; 5], None, false);
    assert_eq!(p, [75.0, 0.0, 50.0, 100.0, 50.0]);
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

/// Row accounting over several words with ids of 17 bytes (kept in a
/// buffer, not inlined), runs of one id, accounts skipped (near and far)
/// and out of order, unknown and null ids: the counts a row-at-a-time
/// reading of SPEC §7's order gives.
#[test]
fn row_accounting_over_words_matches_a_row_by_row_reading() {
    let names: Vec<String> = (0..10).map(|a| format!("long-account-{a:04}")).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let idx = index(&name_refs);
    // Account positions per row (None: an unknown id); 13 times over.
    let pattern = [
        Some(0),
        Some(0),
        Some(2),
        Some(2),
        Some(2),
        Some(7),
        None,
        Some(8),
        Some(3),
        Some(9),
    ];
    let n = 130;
    let rows: Vec<Option<usize>> = (0..n).map(|r| pattern[r % pattern.len()]).collect();
    let ids: Vec<&str> = rows
        .iter()
        .map(|a| a.map_or("long-account-zzzz", |a| name_refs[a]))
        .collect();
    let after: Vec<bool> = (0..n).map(|r| r % 11 == 0).collect();
    let valid: Vec<bool> = (0..n).map(|r| r % 17 != 5).collect();
    let broken: Vec<bool> = (0..n).map(|r| r % 13 == 4).collect();
    let nulls: Vec<bool> = (0..n).map(|r| r % 3 == 1).collect();
    let day: Vec<i32> = (0..n as i32).map(|r| 1000 - r).collect();
    // Row by row, as SPEC §7 orders the reasons.
    let (mut n_after, mut n_null, mut n_unknown, mut n_rejected, mut n_nulls) = (0, 0, 0, 0, 0);
    let mut counts = [0.0; 10];
    let (mut lo, mut hi) = (i32::MAX, i32::MIN);
    for r in 0..n {
        if after[r] {
            n_after += 1;
        } else if !valid[r] {
            n_null += 1;
        } else if let Some(a) = rows[r] {
            if broken[r] {
                n_rejected += 1;
            } else {
                counts[a] += 1.0;
                n_nulls += nulls[r] as i64;
                lo = lo.min(day[r]);
                hi = hi.max(day[r]);
            }
        } else {
            n_unknown += 1;
        }
    }
    let (v, d) = views(&ids);
    let buffers = [d.as_slice()];
    let (after, valid, broken, nulls) = (
        bitmap(&after, 2),
        bitmap(&valid, 0),
        bitmap(&broken, 5),
        bitmap(&nulls, 7),
    );
    let mut k = TableKernel::new(idx, &[Func::Count]);
    k.add(&Batch {
        len: n,
        after: Bits::new(&after, 2),
        day: &day,
        ids: Strings::new(&v, &buffers),
        ids_valid: Some(Bits::new(&valid, 0)),
        rules: vec![Bits::new(&broken, 5)],
        nulls: vec![Bits::new(&nulls, 7)],
        aggs: vec![AggColumns {
            window: Window::ALL,
            mask: None,
            values: Values::None,
        }],
    });
    let (t, out) = k.finish().expect("fits");
    assert_eq!(t.rows, n as i64);
    assert_eq!(
        (t.after, t.orphan_null, t.orphan_unknown),
        (n_after, n_null, n_unknown)
    );
    assert_eq!(t.rejected[1], n_rejected);
    assert_eq!(t.nulls[0], n_nulls);
    assert_eq!((t.min_day, t.max_day), (Some(lo), Some(hi)));
    assert_eq!(out[0], counts);
    // The pattern leaves accounts 1, 4, 5 and 6 without rows.
    assert_eq!([out[0][1], out[0][4], out[0][5], out[0][6]], [0.0; 4]);
    assert!(n_after > 0 && n_null > 0 && n_unknown > 0 && n_rejected > 0);
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

#[test]
fn gather_valid_reads_positions_and_makes_nan_and_unknown_null() {
    let values = [1.5, f64::NAN, -2.0];
    let positions = [
        Some(2),
        None,
        Some(1),
        Some(0),
        Some(0),
        None,
        Some(2),
        Some(0),
        Some(2),
    ];
    let (out, valid) = gather_valid(&values, &positions);
    assert_eq!(out, [-2.0, 0.0, 0.0, 1.5, 1.5, 0.0, -2.0, 1.5, -2.0]);
    // Rows 1, 2 and 5 null: bits 0b1101_1001, then row 8.
    assert_eq!(valid, [0b1101_1001, 0b1]);
}

#[test]
fn strictly_ascending_compares_bytes_across_chunks() {
    let (a, da) = views(&["C1", "C10", "C2"]);
    let (b, db) = views(&["C3", "a long identifier 1", "a long identifier 2"]);
    let (ba, bb) = ([da.as_slice()], [db.as_slice()]);
    let (first, second) = (Strings::new(&a, &ba), Strings::new(&b, &bb));
    assert!(strictly_ascending(&[first, second]));
    // Equal neighbours (across the chunk boundary) are not strictly ascending.
    let (c, dc) = views(&["C2", "C3"]);
    let bc = [dc.as_slice()];
    assert!(!strictly_ascending(&[first, Strings::new(&c, &bc)]));
    // "C2" after "C10" is ascending; "C10" after "C2" is not.
    let (d, dd) = views(&["C2", "C10"]);
    let bd = [dd.as_slice()];
    assert!(!strictly_ascending(&[Strings::new(&d, &bd)]));
    assert!(strictly_ascending(&[]));
}

#[test]
fn round_is_the_standard_rounding() {
    let mut cases = vec![
        0.0,
        -0.0,
        0.5,
        -0.5,
        1.5,
        -1.5,
        2.5,
        0.49999999999999994,
        -0.49999999999999994,
        2.4999999999999996,
        1e9 * 12.345678901,
        -7.5e10,
        4_503_599_627_370_495.5,
        4_503_599_627_370_497.0,
        9.3e18,
        -9.3e18,
        1e300,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    // A sweep of quarters and of values near halves.
    cases.extend((-400..400).map(|i| i as f64 * 0.25));
    cases.extend((0..200).map(|i| i as f64 + 0.5 - f64::EPSILON * i as f64));
    for x in cases {
        let (got, want) = (scoring::round(x), x.round());
        assert!(
            got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
            "{x}: {got} != {want}"
        );
    }
}
