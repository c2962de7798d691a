//! SPEC §11 changes: previous rows by merge, causes by contribution.

use super::*;

#[test]
fn sorted_positions_merge_two_ascending_id_columns() {
    let (kv, kd) = views(&["b", "d", "e", "a longer id than twelve"]);
    let kb = [kd.as_slice()];
    let keys = [Strings::new(&kv, &kb)];
    // Out of order ("a longer…" < "b"): refused.
    let (sv, sd) = views(&["a", "b", "c", "d"]);
    let sb = [sd.as_slice()];
    let sorted = [Strings::new(&sv[..2], &sb), Strings::new(&sv[2..], &sb)];
    assert_eq!(sorted_positions(&keys, &sorted), None);
    // b at 1, d at 3 (second chunk), e nowhere.
    let keys = [Strings::new(&kv[..3], &kb)];
    assert_eq!(
        sorted_positions(&keys, &sorted),
        Some(vec![Some(1), Some(3), None])
    );
    assert_eq!(sorted_positions(&keys, &[]), Some(vec![None, None, None]));
    // `sorted` out of order after the last key, or holding an id twice:
    // refused.
    let (tv, td) = (views(&["a", "b", "d", "c"]), views(&["a", "b", "b"]));
    let (tb, db) = ([tv.1.as_slice()], [td.1.as_slice()]);
    let (tail, twice) = ([Strings::new(&tv.0, &tb)], [Strings::new(&td.0, &db)]);
    let key = [Strings::new(&kv[..1], &kb)];
    assert_eq!(sorted_positions(&key, &tail), None);
    assert_eq!(sorted_positions(&key, &twice), None);
}

/// Float columns with their validity bitmaps.
fn floats<'a>(cols: &'a [Vec<f64>], valid: &'a [Vec<u8>]) -> Vec<Floats<'a>> {
    cols.iter()
        .zip(valid)
        .map(|(c, b)| (c.as_slice(), Some(Bits::new(b, 0))))
        .collect()
}

/// m0 (group 0, weight 1), m1 (group 0, weight 3), m2 (group 1, weight
/// 2); scorecard 0 weighs the groups 1, 3, 2 (group 2 has no metrics),
/// scorecard 1 only group 1.
fn model() -> ScoreModel {
    let metric = |group, weight| ScoredMetric {
        group,
        weight,
        rule: PointsRule::Given,
        missing: None,
    };
    ScoreModel {
        metrics: vec![metric(0, 1.0), metric(0, 3.0), metric(1, 2.0)],
        weights: vec![vec![1.0, 3.0, 2.0], vec![0.0, 1.0, 0.0]],
        group_totals: vec![4.0, 2.0, 0.0],
        bands: vec![(0, 100)],
        drivers: vec![0, 1, 2],
    }
}

/// Shares under scorecard 0 with every metric present: Σ_present w = 1 + 3
/// = 4 (group 2 has no metric), so m0 1/4 · 1/4 = 0.0625, m1 1/4 · 3/4 =
/// 0.1875, m2 3/4 · 2/2 = 0.75. Each row worked out by hand:
/// 0. down; m0 80 → 40: contribution 5 → 2.5, delta −2.5 (m1, m2 equal):
///    cause m0.
/// 1. up; before scorecard 0 with m1 missing (m0 share 1/4 · 1/1, m2
///    0.75): m0 2.5, m2 45; now scorecard 1 (only group 1, m2 share 1):
///    m0 0, m2 90. Deltas −2.5 and 45: cause m2.
/// 2. down; now no scorecard (every contribution 0), before all points 0:
///    no delta, no cause.
/// 3. up; m0 10 → 40 (0.625 → 2.5) and m1 50 → 60 (9.375 → 11.25): both
///    deltas 1.875, the tie goes to m0, declared first.
#[test]
fn the_cause_is_the_contribution_that_moved_most_toward_the_change() {
    let nan = f64::NAN;
    let before = [
        vec![80.0, 10.0, 0.0, 10.0],
        vec![50.0, nan, 0.0, 50.0],
        vec![80.0, 60.0, 0.0, 80.0],
    ];
    let now = [
        vec![40.0, 10.0, 0.0, 40.0],
        vec![50.0, 7.0, 0.0, 60.0],
        vec![80.0, 90.0, 0.0, 80.0],
    ];
    // NaN marks no points through a validity bitmap, as in a column.
    let valid = |c: &Vec<f64>| bitmap(&c.iter().map(|x| !x.is_nan()).collect::<Vec<_>>(), 0);
    let (vb, vn): (Vec<_>, Vec<_>) = (
        before.iter().map(valid).collect(),
        now.iter().map(valid).collect(),
    );
    let down = bitmap(&[true, false, true, false], 0);
    let c = change_causes(
        &model(),
        &Side {
            points: floats(&now, &vn),
            scorecard: &[0, 1, 2, 0],
        },
        &Side {
            points: floats(&before, &vb),
            scorecard: &[0, 0, 0, 0],
        },
        Bits::new(&down, 0),
    );
    assert_eq!(c.metric, vec![Some(0), Some(2), None, Some(0)]);
    assert_eq!(c.delta[0], -2.5);
    assert_eq!(c.delta[1], 45.0);
    assert!(c.delta[2].is_nan());
    assert_eq!(c.delta[3], 1.875);
    assert_eq!((c.prev_points[0], c.points[0]), (80.0, 40.0));
    assert_eq!((c.prev_points[1], c.points[1]), (60.0, 90.0));
    assert!(c.prev_points[2].is_nan() && c.points[2].is_nan());
    assert_eq!((c.prev_points[3], c.points[3]), (10.0, 40.0));
}
