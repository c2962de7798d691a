//! Row scoring, percentile points and gathering.

use super::*;

/// A [`crate::scoring::Col`] holding `values` then NaN.
fn block_of(values: &[f64]) -> crate::scoring::Col {
    let mut c = [f64::NAN; crate::scoring::BLOCK];
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
    let mut top = [u64::MAX; crate::scoring::BLOCK];
    crate::scoring::top_three([&a, &b, &c, &d].into_iter(), &mut top);
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

/// The model of [`score_rows_by_hand`]:
/// m0: linear 0..10, weight 1, group 0, skipped when missing.
/// m1: steps 0 → 0, 5 → 50, 8 → 100, weight 3, group 0, 50 when
///     missing.
/// m2: given (percentile) points, weight 2, group 1.
/// Group 2 has no metrics. Names order the drivers: m2, m0, m1.
fn by_hand_model() -> ScoreModel {
    ScoreModel {
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
    }
}

/// Asserts that `got` holds the floats of `want` bit for bit (NaN for
/// NaN), naming `what` and the row where it does not.
fn same(got: &[f64], want: &[f64], what: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
            "{what} row {i}: {g} != {w}"
        );
    }
}

/// Three metrics in three groups, two scorecards and rows without one;
/// every value worked out by hand from SPEC §4 (see each row).
#[test]
fn score_rows_by_hand() {
    let nan = f64::NAN;
    let model = by_hand_model();
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
        let (got, want) = (crate::scoring::round(x), x.round());
        assert!(
            got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
            "{x}: {got} != {want}"
        );
    }
}

/// Driver codes packed the way the kernel packs them (by [`top_three`]
/// over known keys, and by hand: 1 + the position at bits
/// `DRIVER_BITS · k`) decode to those positions, None where there is no
/// such driver; the decoding is the arithmetic healthscore did on its
/// side.
///
/// [`top_three`]: crate::scoring::top_three
#[test]
fn driver_positions_decode_the_kernels_top_codes() {
    // 40 key columns. Row 0: columns 37 > 5 > 20 > 1 (the fourth is no
    // driver); row 1: column 12 alone; row 2: none; row 3: columns 0 and
    // 39 equal (the first column stays ahead).
    let mut keys = vec![block_of(&[]); 40];
    keys[37][0] = 9e9;
    keys[5][0] = 7e9;
    keys[20][0] = 3e9;
    keys[1][0] = 1e9;
    keys[12][1] = 2e9;
    keys[0][3] = 5.0;
    keys[39][3] = 5.0;
    let mut top = [u64::MAX; crate::scoring::BLOCK];
    crate::scoring::top_three(keys.iter(), &mut top);
    let rows = &top[..4];
    assert_eq!(
        driver_positions(rows, 0),
        [Some(37), Some(12), None, Some(0)]
    );
    assert_eq!(driver_positions(rows, 1), [Some(5), None, None, Some(39)]);
    assert_eq!(driver_positions(rows, 2), [Some(20), None, None, None]);
    assert_eq!(driver_positions(rows, 3), [None; 4]);
    assert_eq!(driver_positions(&[], 0), []);

    // By hand: the largest position a field holds, 0, and one between;
    // and a code with its middle field alone.
    let largest = (1u64 << DRIVER_BITS) - 2;
    let code = (largest + 1) | 1 << DRIVER_BITS | 1235 << (2 * DRIVER_BITS);
    let decoded: Vec<_> = (0..4).map(|k| driver_position(code, k)).collect();
    assert_eq!(decoded, [Some(largest as u32), Some(0), Some(1234), None]);
    let middle = 8 << DRIVER_BITS;
    let decoded: Vec<_> = (0..3).map(|k| driver_position(middle, k)).collect();
    assert_eq!(decoded, [None, Some(7), None]);

    // The same as healthscore's arithmetic on the code: field k is
    // (code / 2^(bits·k)) % 2^bits; 0 is none, else position + 1.
    for &code in top.iter().chain([code, middle, 0, u64::MAX >> 1].iter()) {
        for k in 0..3 {
            let field = (code / (1u64 << (DRIVER_BITS * k))) % (1u64 << DRIVER_BITS);
            let want = (field != 0).then(|| (field - 1) as u32);
            assert_eq!(driver_position(code, k), want, "code {code:#x}, k {k}");
        }
    }
}

/// Band values as [`score_rows`] writes them (the first band holding the
/// score, else the bands' count) decode to the band's position, None for
/// the unscored band (no score, or a score in no band); the drivers it
/// writes decode too.
#[test]
fn band_positions_decode_the_kernels_bands() {
    // One linear metric 0..10 in one group; bands 0-49 and 60-100 (a gap).
    let model = ScoreModel {
        metrics: vec![ScoredMetric {
            group: 0,
            weight: 1.0,
            rule: PointsRule::Linear {
                lo: 0.0,
                span: 10.0,
            },
            missing: None,
        }],
        weights: vec![vec![1.0]],
        group_totals: vec![1.0],
        bands: vec![(0, 49), (60, 100)],
        drivers: vec![0],
    };
    // Scores 20, 80, none (missing value), 55 (in no band), 100.
    let raw = [2.0, 8.0, 0.0, 5.5, 10.0];
    let valid = bitmap(&[true, true, false, true, true], 0);
    let scorecards = [0u32; 5];
    let inputs = RowInputs {
        raw: vec![(&raw[..], Some(Bits::new(&valid, 0)))],
        given: vec![None],
        scorecard: (&scorecards[..], None),
    };
    // Points, the group's points, score_raw, score, completeness, loss.
    let mut columns = vec![vec![-7.0; 5]; 6];
    let (mut band, mut top) = (vec![9u32; 5], vec![9u64; 5]);
    score_into(&model, &inputs, 0, &mut columns, &mut band, &mut top);
    assert_eq!(band, [0, 1, 2, 2, 1]);
    assert_eq!(
        band_positions(&band, model.bands.len()),
        [Some(0), Some(1), None, None, Some(1)]
    );
    assert_eq!(band_position(0, 0), None);
    assert_eq!(band_position(u32::MAX, 2), None);
    // The metric is the first driver where it loses points (not at 100
    // points, nor without a value).
    assert_eq!(
        driver_positions(&top, 0),
        [Some(0), Some(0), None, Some(0), None]
    );
}
