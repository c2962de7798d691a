//! Scoring rules of SPEC §4: normalisation, missing policies, groups,
//! scorecards, rounding, bands, completeness, drivers and playbooks. The
//! metric values come from account columns (`[accounts] extra_columns`),
//! so every raw value is chosen by the test and every expectation below is
//! worked out by hand from the SPEC formulas.

use crate::common;
use crate::fixture;
use common::*;
use fixture::*;

/// An smb account with the extra float columns given.
fn with(id: &'static str, xs: &[(&'static str, Option<f64>)]) -> Account {
    let mut a = acc(id);
    for (k, v) in xs {
        a = a.x(k, *v);
    }
    a
}

fn data(accounts: Vec<Account>) -> Data {
    Data {
        accounts,
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------

#[test]
fn linear_with_clamping_and_lower_is_better() {
    let text = format!(
        r#"{}
[[groups]]
name = "gu"
[[groups]]
name = "gd"

[[metrics]]
name = "up"
group = "gu"
account = "x"
normalize = {{ linear = [10, 30] }}

[[metrics]]
name = "down"
group = "gd"
account = "x"
normalize = {{ linear = [30, 10] }}

[[scorecards]]
name = "all"
weights = {{ gu = 1, gd = 3 }}
"#,
        header(&["x"])
    );
    let xs = [
        ("L1", 5.0),
        ("L2", 10.0),
        ("L3", 15.0),
        ("L4", 30.0),
        ("L5", 40.0),
        ("L6", 25.0),
    ];
    let (_r, df) = run_ok(
        &text,
        &data(
            xs.iter()
                .map(|(id, x)| with(id, &[("x", Some(*x))]))
                .collect(),
        ),
    );
    // up = 100·clamp((x − 10)/20, 0, 1); down = 100·clamp((x − 30)/(10 − 30), 0, 1).
    let expected = [
        ("L1", 0.0, 100.0), // (5−10)/20 = −0.25 → 0;  (5−30)/−20 = 1.25 → 1
        ("L2", 0.0, 100.0), // 0;                      1
        ("L3", 25.0, 75.0), // 5/20;                   −15/−20
        ("L4", 100.0, 0.0), // 1;                      0
        ("L5", 100.0, 0.0), // 1.5 → 1;                −0.5 → 0
        ("L6", 75.0, 25.0), // 15/20;                  −5/−20
    ];
    for (id, up, down) in expected {
        is(&df, id, "up_points", up);
        is(&df, id, "down_points", down);
        is(&df, id, "gu_score", up);
        is(&df, id, "gd_score", down);
        // score_raw = (1·up + 3·down) / 4
        is(&df, id, "score_raw", (up + 3.0 * down) / 4.0);
    }
    is(&df, "L3", "score_raw", 62.5); // (25 + 225) / 4
    is(&df, "L3", "score", 63.0);
}

#[test]
fn steps_below_the_first_threshold_and_exactly_on_thresholds() {
    let text = format!(
        r#"{}
[[groups]]
name = "g"

[[metrics]]
name = "s"
group = "g"
account = "x"
normalize = {{ steps = [[10, 20], [20, 50], [40, 90]] }}

[[scorecards]]
name = "all"
weights = {{ g = 1 }}
"#,
        header(&["x"])
    );
    // points of the largest tᵢ ≤ x; p1 when x < t1.
    let cases = [
        ("S1", -3.0, 20.0),   // below t1 → p1
        ("S2", 5.0, 20.0),    // below t1 → p1
        ("S3", 10.0, 20.0),   // exactly t1
        ("S4", 19.999, 20.0), // largest t ≤ x is 10
        ("S5", 20.0, 50.0),   // exactly t2
        ("S6", 39.5, 50.0),
        ("S7", 40.0, 90.0), // exactly t3
        ("S8", 1000.0, 90.0),
    ];
    let (_r, df) = run_ok(
        &text,
        &data(
            cases
                .iter()
                .map(|(id, x, _)| with(id, &[("x", Some(*x))]))
                .collect(),
        ),
    );
    for (id, x, p) in cases {
        is(&df, id, "s", x);
        is(&df, id, "s_points", p);
        is(&df, id, "score", p);
    }
}

#[test]
fn percentile_within_the_scorecard_population_ties_in_the_customers_favour() {
    let text = format!(
        r#"{}
[[groups]]
name = "hi"
[[groups]]
name = "lo"

[[metrics]]
name = "hib"
group = "hi"
account = "x"
normalize = {{ percentile = "higher_is_better" }}

[[metrics]]
name = "lib"
group = "lo"
account = "x"
normalize = {{ percentile = "lower_is_better" }}

[[scorecards]]
name = "big"
when = "segment = 'enterprise'"
weights = {{ hi = 1, lo = 1 }}

[[scorecards]]
name = "small"
weights = {{ hi = 1, lo = 0 }}
"#,
        header(&["x"])
    );
    let big = |id, x| with(id, &[("x", x)]).segment("enterprise");
    let (_r, df) = run_ok(
        &text,
        &data(vec![
            big("P1", Some(10.0)),
            big("P2", Some(20.0)),
            big("P3", Some(20.0)),
            big("P4", Some(30.0)),
            big("P5", None),
            with("Q1", &[("x", Some(1000.0))]),
            with("Q2", &[("x", None)]),
        ]),
    );
    // big: non-null values {10, 20, 20, 30}, n = 4; points = 100·(m − 1)/3.
    // higher is better, m = #{v ≤ x}: 10 → 1 → 0; 20 → 3 → 66.67; 30 → 4 → 100.
    // lower is better,  m = #{v ≥ x}: 10 → 4 → 100; 20 → 3 → 66.67; 30 → 1 → 0.
    is(&df, "P1", "hib_points", 0.0);
    is(&df, "P2", "hib_points", 200.0 / 3.0);
    is(&df, "P3", "hib_points", 200.0 / 3.0); // the tie gets the higher points
    is(&df, "P4", "hib_points", 100.0);
    is(&df, "P1", "lib_points", 100.0);
    is(&df, "P2", "lib_points", 200.0 / 3.0);
    is(&df, "P3", "lib_points", 200.0 / 3.0);
    is(&df, "P4", "lib_points", 0.0);
    // A null value is not in the population and, under skip, has no points.
    is_null(&df, "P5", "hib_points");
    is_null(&df, "P5", "lib_points");
    // P2: (66.67 + 66.67) / 2 → 67.
    is(&df, "P2", "score_raw", 200.0 / 3.0);
    is(&df, "P2", "score", 67.0);
    // small: only Q1's 1000 is non-null, n = 1 → 100 either way. (Over all
    // accounts, lower is better would give m = #{v ≥ 1000} = 1 → 0.)
    is(&df, "Q1", "hib_points", 100.0);
    is(&df, "Q1", "lib_points", 100.0); // computed although `lo` weighs 0 here
    is(&df, "Q1", "hi_score", 100.0);
    is_null(&df, "Q1", "lo_score"); // weight 0 in `small`: not used
    is(&df, "Q1", "score", 100.0);
    is_null(&df, "Q2", "hib_points");
}

// ---------------------------------------------------------------------------
// Missing values
// ---------------------------------------------------------------------------

const MISSING: &str = r#"
[[groups]]
name = "g"
playbook = "g-play"

[[metrics]]
name = "m_skip"
group = "g"
account = "a"
normalize = { linear = [0, 100] }

[[metrics]]
name = "m_neutral"
group = "g"
account = "b"
normalize = { linear = [0, 100] }
missing = "neutral"

[[metrics]]
name = "m_worst"
group = "g"
account = "c"
normalize = { linear = [0, 100] }
missing = "worst"

[[metrics]]
name = "m_best"
group = "g"
account = "d"
normalize = { linear = [0, 100] }
missing = "best"

[[metrics]]
name = "m_fixed"
group = "g"
account = "e"
normalize = { linear = [0, 100] }
missing = 30

[[scorecards]]
name = "all"
weights = { g = 1 }
"#;

#[test]
fn missing_policies_skip_neutral_worst_best_and_a_number() {
    let text = format!("{}{MISSING}", header(&["a", "b", "c", "d", "e"]));
    let cols = ["a", "b", "c", "d", "e"];
    let vals = |v: [Option<f64>; 5]| -> Vec<(&'static str, Option<f64>)> {
        cols.iter().copied().zip(v).collect()
    };
    let (_r, df) = run_ok(
        &text,
        &data(vec![
            with("M1", &vals([None; 5])),
            with(
                "M2",
                &vals([Some(10.0), Some(20.0), Some(30.0), Some(40.0), Some(50.0)]),
            ),
            with("M3", &vals([Some(80.0), None, None, None, None])),
        ]),
    );
    // M1: nothing observed. Raw columns null; points: skip → null (default
    // policy), neutral 50, worst 0, best 100, fixed 30.
    for m in ["m_skip", "m_neutral", "m_worst", "m_best", "m_fixed"] {
        is_null(&df, "M1", m);
    }
    is_null(&df, "M1", "m_skip_points");
    is(&df, "M1", "m_neutral_points", 50.0);
    is(&df, "M1", "m_worst_points", 0.0);
    is(&df, "M1", "m_best_points", 100.0);
    is(&df, "M1", "m_fixed_points", 30.0);
    // g = mean of the 4 present: (50 + 0 + 100 + 30) / 4 = 45.
    is(&df, "M1", "g_score", 45.0);
    is(&df, "M1", "score", 45.0);
    is_str(&df, "M1", "band", Some("At-Risk"));
    // Imputed points are present but not observed: completeness 0/5 = 0.
    is(&df, "M1", "completeness", 0.0);
    // Losses (100 − p)·1·(1/4): neutral 12.5, worst 25, best 0, fixed 17.5.
    is_str(&df, "M1", "top_drivers", Some("m_worst,m_fixed,m_neutral"));
    is_str(&df, "M1", "playbook", Some("g-play"));
    // M2: everything observed: (10 + 20 + 30 + 40 + 50) / 5 = 30.
    is(&df, "M2", "g_score", 30.0);
    is(&df, "M2", "completeness", 1.0);
    is_str(&df, "M2", "band", Some("Critical"));
    // M3: 80 observed, the rest imputed: (80 + 50 + 0 + 100 + 30) / 5 = 52.
    is(&df, "M3", "g_score", 52.0);
    is(&df, "M3", "score", 52.0);
    is(&df, "M3", "completeness", 0.2); // 1 of 5 equal weights observed
}

#[test]
fn nan_and_infinities_are_missing() {
    let text = format!(
        r#"{}
[[groups]]
name = "gn"
[[groups]]
name = "gs"

[[metrics]]
name = "mn"
group = "gn"
account = "x"
normalize = {{ linear = [0, 100] }}
missing = "neutral"

[[metrics]]
name = "ms"
group = "gs"
account = "x"
normalize = {{ linear = [0, 100] }}
missing = "skip"

[[scorecards]]
name = "all"
weights = {{ gn = 1, gs = 1 }}
"#,
        header(&["x"])
    );
    let (_r, df) = run_ok(
        &text,
        &data(vec![
            with("N1", &[("x", Some(f64::NAN))]),
            with("N2", &[("x", Some(f64::INFINITY))]),
            with("N3", &[("x", Some(f64::NEG_INFINITY))]),
            with("N4", &[("x", Some(40.0))]),
        ]),
    );
    for id in ["N1", "N2", "N3"] {
        // Missing, not clamped to 100 / 0: raw null, neutral → 50, skip → null.
        is_null(&df, id, "mn");
        is(&df, id, "mn_points", 50.0);
        is_null(&df, id, "ms");
        is_null(&df, id, "ms_points");
        is_null(&df, id, "gs_score");
        // Only gn is present: score_raw = 50; nothing observed.
        is(&df, id, "score_raw", 50.0);
        is(&df, id, "completeness", 0.0);
    }
    is(&df, "N4", "mn_points", 40.0);
    is(&df, "N4", "ms_points", 40.0);
    is(&df, "N4", "score", 40.0);
    is(&df, "N4", "completeness", 1.0);
}

const TWO_GROUPS: &str = r#"
[[groups]]
name = "g1"
playbook = "g1-play"
[[groups]]
name = "g2"
playbook = "g2-play"

[[metrics]]
name = "a"
group = "g1"
account = "x1"
normalize = { linear = [0, 100] }

[[metrics]]
name = "b"
group = "g2"
account = "x2"
normalize = { linear = [0, 100] }

[[scorecards]]
name = "all"
weights = { g1 = 60, g2 = 40 }
"#;

#[test]
fn a_group_without_a_present_metric_is_left_out_of_the_score() {
    let text = format!("{}{TWO_GROUPS}", header(&["x1", "x2"]));
    let (_r, df) = run_ok(
        &text,
        &data(vec![with("G1", &[("x1", Some(70.0)), ("x2", None)])]),
    );
    is(&df, "G1", "g1_score", 70.0);
    is_null(&df, "G1", "b_points"); // skip
    is_null(&df, "G1", "g2_score");
    // score_raw over present groups only: 60·70 / 60 = 70 (not 4200/100 = 42).
    is(&df, "G1", "score_raw", 70.0);
    is(&df, "G1", "score", 70.0);
    // completeness: (60·1 + 40·0) / 100.
    is(&df, "G1", "completeness", 0.6);
    // a's loss: (100 − 70)·60/60·1/1 = 30.
    is_str(&df, "G1", "top_drivers", Some("a"));
    is_str(&df, "G1", "playbook", Some("g1-play"));
}

#[test]
fn a_scorecard_without_a_present_group_is_unscored() {
    let text = format!("{}{TWO_GROUPS}", header(&["x1", "x2"]));
    let (_r, df) = run_ok(
        &text,
        &data(vec![with("U1", &[("x1", None), ("x2", None)])]),
    );
    is_null(&df, "U1", "g1_score");
    is_null(&df, "U1", "g2_score");
    is_null(&df, "U1", "score_raw");
    is_null(&df, "U1", "score");
    is_str(&df, "U1", "scorecard", Some("all"));
    is_str(&df, "U1", "band", Some("Unscored"));
    is_str(&df, "U1", "color", Some("grey"));
    is(&df, "U1", "completeness", 0.0);
    is_str(&df, "U1", "top_drivers", None);
    is_str(&df, "U1", "playbook", None);
}

// ---------------------------------------------------------------------------
// Scorecards
// ---------------------------------------------------------------------------

#[test]
fn default_pipeline_new_enterprise_account_uses_the_onboarding_scorecard() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let d = Data {
        accounts: vec![
            acc("E1").segment("enterprise").signup(Some(30)),
            acc("E2").segment("enterprise").signup(Some(400)),
            acc("EN").segment("enterprise").signup(None),
            acc("M1").segment("mid_market").signup(Some(89)),
            acc("M2").segment("mid_market").signup(Some(90)),
        ],
        // One login day each (D): 100 events by 4 users; keeps the lag guard happy.
        usage: ["E1", "E2", "EN", "M1", "M2"]
            .iter()
            .map(|id| (*id, 0, "login", 100, 4))
            .collect(),
        ..Default::default()
    };
    d.write(&input);
    let out = tmp.path().join("out");
    let pipeline = repo().join("pipelines/default.toml");
    let r = healthscore(&[
        "run",
        "--pipeline",
        pipeline.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--as-of",
        D,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let df = read_parquet(&out.join("scores/snapshot_date=2026-11-24"));
    // First match wins: onboarding (tenure < 90) before enterprise.
    is_str(&df, "E1", "scorecard", Some("onboarding"));
    is_str(&df, "E2", "scorecard", Some("enterprise"));
    is_str(&df, "EN", "scorecard", Some("enterprise")); // null tenure: not < 90
    is_str(&df, "M1", "scorecard", Some("onboarding")); // 89 < 90
    is_str(&df, "M2", "scorecard", Some("standard")); // 90 is not < 90
                                                      // onboarding weighs churn_risk, engagement and revenue 0: their group
                                                      // scores are null though their metrics have points.
    for g in ["churn_risk_score", "engagement_score", "revenue_score"] {
        is_null(&df, "E1", g);
    }
    // seat_utilization: 4 users / 10 seats = 0.4 → linear(0, 0.8) → 50.
    is(&df, "E1", "seat_utilization_30d_points", 50.0);
    is(&df, "E2", "engagement_score", 50.0);
    // E1 by hand: adoption = (logins 100/10 = 10 → 50, breadth 0 → 0,
    // active days 1 → 5) / 3 = 55/3; sentiment has no present metric;
    // support: tickets 0 in a population {E1, M1} of zeros → m = n = 2 →
    // 100, urgent share 0/0 → missing best → 100, so 100; onboarding 50 → 50.
    // score_raw = (30·55/3 + 20·100 + 40·50) / (30 + 20 + 40) = 4550/90.
    is(&df, "E1", "adoption_score", 55.0 / 3.0);
    is_null(&df, "E1", "sentiment_score");
    is(&df, "E1", "support_score", 100.0);
    is(&df, "E1", "onboarding_score", 50.0);
    is(&df, "E1", "score_raw", 4550.0 / 90.0);
    is(&df, "E1", "score", 51.0); // 50.56 → 51
    is_str(&df, "E1", "band", Some("At-Risk"));
}

#[test]
fn the_first_matching_scorecard_wins() {
    let text = format!(
        r#"{}
[[groups]]
name = "g"
[[groups]]
name = "h"

[[metrics]]
name = "xm"
group = "g"
account = "x"
normalize = {{ linear = [0, 100] }}

[[metrics]]
name = "ym"
group = "h"
account = "y"
normalize = {{ linear = [0, 100] }}

[[scorecards]]
name = "a"
when = "xm >= 10"
weights = {{ g = 1, h = 0 }}

[[scorecards]]
name = "b"
when = "xm >= 5 or seats > 100"
weights = {{ g = 0, h = 1 }}

[[scorecards]]
name = "c"
weights = {{ g = 1, h = 1 }}
"#,
        header(&["x", "y"])
    );
    let row = |id, x: Option<f64>| with(id, &[("x", x), ("y", Some(80.0))]);
    let (_r, df) = run_ok(
        &text,
        &data(vec![
            row("K1", Some(20.0)),       // matches a and b: a
            row("K2", Some(7.0)),        // b
            row("K3", Some(1.0)),        // c
            row("K4", None),             // null xm: a and b false (seats 10) → c
            row("K5", None).seats(None), // seats null too: still c
        ]),
    );
    is_str(&df, "K1", "scorecard", Some("a"));
    is_str(&df, "K2", "scorecard", Some("b"));
    is_str(&df, "K3", "scorecard", Some("c"));
    is_str(&df, "K4", "scorecard", Some("c"));
    is_str(&df, "K5", "scorecard", Some("c"));
    // Weights 0 → that group's score is null.
    is(&df, "K1", "g_score", 20.0);
    is_null(&df, "K1", "h_score");
    is(&df, "K1", "score", 20.0);
    is_null(&df, "K2", "g_score");
    is(&df, "K2", "h_score", 80.0);
    is(&df, "K2", "score", 80.0);
    // c: (1·1 + 1·80) / 2 = 40.5 → 41.
    is(&df, "K3", "score_raw", 40.5);
    is(&df, "K3", "score", 41.0);
    // K4: g has no present metric → only h: 80.
    is(&df, "K4", "score", 80.0);
    // A group of weight 0 yields no driver: K1's ym (80 points) is in h,
    // unused by `a`; xm loses (100 − 20)·1/1 = 80.
    is_str(&df, "K1", "top_drivers", Some("xm"));
    // completeness counts only used groups: K1 = 1; K4 (c) = (1·0 + 1·1)/2.
    is(&df, "K1", "completeness", 1.0);
    is(&df, "K4", "completeness", 0.5);
}

// ---------------------------------------------------------------------------
// Rounding and bands
// ---------------------------------------------------------------------------

#[test]
fn score_rounds_half_away_from_zero_after_nine_decimals() {
    // Exact points from steps: the score is exactly those points.
    let text = format!(
        r#"{}
[[groups]]
name = "g"

[[metrics]]
name = "s"
group = "g"
account = "x"
normalize = {{ steps = [[0, 57.4], [1, 57.5], [2, 57.4999999994], [3, 57.4999999996], [4, 0.5], [5, 0.4]] }}

[[scorecards]]
name = "all"
weights = {{ g = 1 }}
"#,
        header(&["x"])
    );
    let cases = [
        ("R0", 0.0, 57.4, 57.0),          // below .5 → down
        ("R1", 1.0, 57.5, 58.0),          // half → away from zero
        ("R2", 2.0, 57.4999999994, 57.0), // 9 decimals: 57.499999999 → 57
        ("R3", 3.0, 57.4999999996, 58.0), // 9 decimals: 57.500000000 → 58
        ("R4", 4.0, 0.5, 1.0),
        ("R5", 5.0, 0.4, 0.0),
    ];
    let (_r, df) = run_ok(
        &text,
        &data(
            cases
                .iter()
                .map(|(id, x, _, _)| with(id, &[("x", Some(*x))]))
                .collect(),
        ),
    );
    for (id, _, raw, score) in cases {
        is(&df, id, "score_raw", raw);
        is(&df, id, "score", score);
    }
    is_str(&df, "R5", "band", Some("Critical"));
}

#[test]
fn a_float_error_just_below_half_counts_as_half() {
    // Two groups of exactly 57.5 points (steps), weighted by thirds 0.1 and
    // 0.2: exactly (0.1·57.5 + 0.2·57.5)/0.3 = 57.5, in floats
    // (5.75 + 11.5)/0.30000000000000004 = 57.49999999999999.
    // A third group: linear(0, 100) of 57.5 = 57.5/100·100, in floats
    // 0.575 → 0.57499999999999995559 × 100 → 57.49999999999999.
    let text = format!(
        r#"{}
[[groups]]
name = "g1"
[[groups]]
name = "g2"
[[groups]]
name = "g3"

[[metrics]]
name = "s1"
group = "g1"
account = "x"
normalize = {{ steps = [[0, 57.5]] }}

[[metrics]]
name = "s2"
group = "g2"
account = "x"
normalize = {{ steps = [[0, 57.5]] }}

[[metrics]]
name = "lin"
group = "g3"
account = "y"
normalize = {{ linear = [0, 100] }}

[[scorecards]]
name = "thirds"
when = "y is null"
weights = {{ g1 = 0.1, g2 = 0.2, g3 = 0 }}

[[scorecards]]
name = "linear"
weights = {{ g1 = 0, g2 = 0, g3 = 1 }}
"#,
        header(&["x", "y"])
    );
    // The fixture really exercises the rule: the float results are below 57.5.
    let thirds = (0.1f64 * 57.5 + 0.2 * 57.5) / (0.1 + 0.2);
    let linear = (57.5f64 - 0.0) / (100.0 - 0.0) * 100.0;
    assert!(thirds < 57.5 && linear < 57.5, "{thirds} {linear}");
    let (_r, df) = run_ok(
        &text,
        &data(vec![
            with("T", &[("x", Some(1.0)), ("y", None)]),
            with("L", &[("x", Some(1.0)), ("y", Some(57.5))]),
        ]),
    );
    is_str(&df, "T", "scorecard", Some("thirds"));
    is(&df, "T", "score_raw", 57.5);
    is(&df, "T", "score", 58.0);
    is_str(&df, "L", "scorecard", Some("linear"));
    is(&df, "L", "score_raw", 57.5);
    is(&df, "L", "score", 58.0);
}

#[test]
fn default_band_boundaries() {
    // Score = x (linear(0, 100)); default bands 0-40, 41-60, 61-80, 81-100.
    let text = format!(
        r#"{}
[[groups]]
name = "g"

[[metrics]]
name = "v"
group = "g"
account = "x"
normalize = {{ linear = [0, 100] }}

[[scorecards]]
name = "all"
weights = {{ g = 1 }}
"#,
        header(&["x"])
    );
    let cases = [
        ("B000", 0.0, "Critical", "red"),
        ("B040", 40.0, "Critical", "red"),
        ("B040.4", 40.4, "Critical", "red"),   // 40.4 → 40
        ("B040.5", 40.5, "At-Risk", "yellow"), // 40.5 → 41
        ("B041", 41.0, "At-Risk", "yellow"),
        ("B060", 60.0, "At-Risk", "yellow"),
        ("B061", 61.0, "Healthy", "green"),
        ("B080", 80.0, "Healthy", "green"),
        ("B081", 81.0, "Thriving", "green"),
        ("B100", 100.0, "Thriving", "green"),
        ("B150", 150.0, "Thriving", "green"), // clamped to 100
    ];
    let (_r, df) = run_ok(
        &text,
        &data(
            cases
                .iter()
                .map(|(id, x, _, _)| with(id, &[("x", Some(*x))]))
                .collect(),
        ),
    );
    for (id, x, band, color) in cases {
        let score = if x > 100.0 {
            100.0
        } else {
            (x + 0.5f64).floor()
        };
        is(&df, id, "score", score);
        is_str(&df, id, "band", Some(band));
        is_str(&df, id, "color", Some(color));
    }
}

// ---------------------------------------------------------------------------
// Completeness, drivers, playbooks
// ---------------------------------------------------------------------------

#[test]
fn completeness_weighs_observed_metrics_by_metric_and_group_weights() {
    let text = format!(
        r#"{}
[[groups]]
name = "g1"
[[groups]]
name = "g2"
[[groups]]
name = "g3"

[[metrics]]
name = "a"
group = "g1"
weight = 2
account = "xa"
normalize = {{ linear = [0, 100] }}

[[metrics]]
name = "b"
group = "g1"
account = "xb"
normalize = {{ linear = [0, 100] }}
missing = "neutral"

[[metrics]]
name = "c"
group = "g1"
account = "xc"
normalize = {{ linear = [0, 100] }}

[[metrics]]
name = "d"
group = "g2"
account = "xd"
normalize = {{ linear = [0, 100] }}
missing = "worst"

[[metrics]]
name = "e"
group = "g3"
account = "xe"
normalize = {{ linear = [0, 100] }}

[[scorecards]]
name = "all"
weights = {{ g1 = 3, g2 = 1, g3 = 0 }}
"#,
        header(&["xa", "xb", "xc", "xd", "xe"])
    );
    let c1 = [
        ("xa", Some(80.0)),
        ("xb", None),
        ("xc", None),
        ("xd", None),
        ("xe", Some(90.0)),
    ];
    let c2 = [
        ("xa", Some(80.0)),
        ("xb", Some(80.0)),
        ("xc", Some(80.0)),
        ("xd", Some(80.0)),
        ("xe", None),
    ];
    let (_r, df) = run_ok(&text, &data(vec![with("C1", &c1), with("C2", &c2)]));
    // C1: g1 = (2·80 + 1·50 [b neutral]) / 3 = 70 (c skipped); g2 = 0 (d worst);
    // g3 weighs 0: null, though e has 90 points.
    is(&df, "C1", "g1_score", 70.0);
    is(&df, "C1", "g2_score", 0.0);
    is_null(&df, "C1", "g3_score");
    is(&df, "C1", "e_points", 90.0);
    // score_raw = (3·70 + 1·0) / 4 = 52.5 → 53.
    is(&df, "C1", "score_raw", 52.5);
    is(&df, "C1", "score", 53.0);
    // completeness = (3·(2/4) + 1·(0/1)) / (3 + 1) = 0.375 (g3 not counted).
    is(&df, "C1", "completeness", 0.375);
    // losses: a (100−80)·3/4·2/3 = 10; b (100−50)·3/4·1/3 = 12.5; d 100·1/4·1 = 25.
    is_str(&df, "C1", "top_drivers", Some("d,b,a"));
    // C2: all scored groups fully observed (e unobserved but g3 weighs 0).
    is(&df, "C2", "completeness", 1.0);
    is(&df, "C2", "score", 80.0);
}

const DRIVERS: &str = r#"
[[groups]]
name = "g"

[[metrics]]
name = "m_e"
group = "g"
account = "xe"
normalize = { linear = [0, 100] }

[[metrics]]
name = "m_d"
group = "g"
account = "xd"
normalize = { linear = [0, 100] }

[[metrics]]
name = "m_c"
group = "g"
account = "xc"
normalize = { linear = [0, 100] }

[[metrics]]
name = "m_b"
group = "g"
account = "xb"
normalize = { linear = [0, 100] }

[[metrics]]
name = "m_a"
group = "g"
account = "xa"
normalize = { linear = [0, 100] }

[[scorecards]]
name = "all"
weights = { g = 1 }
"#;

#[test]
fn drivers_by_loss_ties_by_name_at_most_three_only_positive() {
    let text = format!("{}{DRIVERS}", header(&["xa", "xb", "xc", "xd", "xe"]));
    let pts = |v: [f64; 5]| -> Vec<(&'static str, Option<f64>)> {
        ["xa", "xb", "xc", "xd", "xe"]
            .into_iter()
            .zip(v.map(Some))
            .collect()
    };
    let (_r, df) = run_ok(
        &text,
        &data(vec![
            with("D1", &pts([40.0, 40.0, 70.0, 90.0, 100.0])),
            with("D2", &pts([100.0, 100.0, 100.0, 100.0, 90.0])),
            with("D3", &pts([100.0; 5])),
        ]),
    );
    // D1: losses (100 − p)/5: a 12, b 12 (tie: a before b), c 6, d 2 (4th), e 0.
    is_str(&df, "D1", "top_drivers", Some("m_a,m_b,m_c"));
    is(&df, "D1", "score_raw", 68.0); // (40 + 40 + 70 + 90 + 100) / 5
                                      // D2: only e loses (10/5 = 2).
    is_str(&df, "D2", "top_drivers", Some("m_e"));
    // D3: no loss > 0: no driver, no playbook, still scored.
    is_str(&df, "D3", "top_drivers", None);
    is_str(&df, "D3", "playbook", None);
    is(&df, "D3", "score", 100.0);
}

#[test]
fn driver_losses_tie_when_equal_at_nine_decimals() {
    // zz_p in g1 (weight 0.1), aa_q in g2 (weight 0.7); points from steps.
    // Exactly: loss zz_p = (100 − 44)·0.1/0.8 = 7, loss aa_q = (100 − 92)·0.7/0.8 = 7.
    // In floats 7.000000000000001 and 7.0: equal at 9 decimals → name order.
    let text = format!(
        r#"{}
[[groups]]
name = "g1"
[[groups]]
name = "g2"

[[metrics]]
name = "zz_p"
group = "g1"
account = "x"
normalize = {{ steps = [[0, 44]] }}

[[metrics]]
name = "aa_q"
group = "g2"
account = "x"
normalize = {{ steps = [[0, 92]] }}

[[scorecards]]
name = "all"
weights = {{ g1 = 0.1, g2 = 0.7 }}
"#,
        header(&["x"])
    );
    let (_r, df) = run_ok(&text, &data(vec![with("A", &[("x", Some(1.0))])]));
    // score_raw = (0.1·44 + 0.7·92) / 0.8 = 68.8 / 0.8 = 86.
    is(&df, "A", "score_raw", 86.0);
    is_str(&df, "A", "top_drivers", Some("aa_q,zz_p"));
}

#[test]
fn playbook_of_the_top_driver_with_scorecard_overrides() {
    let text = format!(
        r#"{}
[[groups]]
name = "g1"
playbook = "g1-play"
[[groups]]
name = "g2"
playbook = "g2-play"
[[groups]]
name = "g3"

[[metrics]]
name = "m1"
group = "g1"
account = "x1"
normalize = {{ linear = [0, 100] }}
playbook = "m1-play"

[[metrics]]
name = "m2"
group = "g1"
account = "x2"
normalize = {{ linear = [0, 100] }}

[[metrics]]
name = "m3"
group = "g2"
account = "x3"
normalize = {{ linear = [0, 100] }}

[[metrics]]
name = "m4"
group = "g2"
account = "x4"
normalize = {{ linear = [0, 100] }}
playbook = "m4-play"

[[metrics]]
name = "m5"
group = "g3"
account = "x5"
normalize = {{ linear = [0, 100] }}

[[scorecards]]
name = "ov"
when = "segment = 'enterprise'"
weights = {{ g1 = 1, g2 = 1, g3 = 1 }}
playbooks = {{ m2 = "ov-m2", g2 = "ov-g2", m3 = "ov-m3" }}

[[scorecards]]
name = "plain"
weights = {{ g1 = 1, g2 = 1, g3 = 1 }}
"#,
        header(&["x1", "x2", "x3", "x4", "x5"])
    );
    // The named metric at 0 points, every other at 100: it is the only driver.
    let only = |id: &'static str, low: &'static str| {
        let mut a = acc(id);
        for c in ["x1", "x2", "x3", "x4", "x5"] {
            a = a.x(c, Some(if c == low { 0.0 } else { 100.0 }));
        }
        a
    };
    let ent = |id, low| only(id, low).segment("enterprise");
    let (_r, df) = run_ok(
        &text,
        &data(vec![
            only("P1", "x1"),
            only("P2", "x2"),
            only("P3", "x4"),
            only("P4", "x5"),
            ent("O1", "x1"),
            ent("O2", "x2"),
            ent("O3", "x3"),
            ent("O4", "x4"),
        ]),
    );
    let cases = [
        ("P1", "m1", Some("m1-play")), // the metric's own
        ("P2", "m2", Some("g1-play")), // failing that, its group's
        ("P3", "m4", Some("m4-play")),
        ("P4", "m5", None),            // nothing attached anywhere
        ("O1", "m1", Some("m1-play")), // ov overrides neither m1 nor g1
        ("O2", "m2", Some("ov-m2")),   // scorecard override by metric name
        ("O3", "m3", Some("ov-m3")),   // metric entry before group entry
        ("O4", "m4", Some("ov-g2")),   // scorecard's group entry before m4's own
    ];
    for (id, driver, playbook) in cases {
        is_str(&df, id, "top_drivers", Some(driver));
        is_str(&df, id, "playbook", playbook);
    }
}
