//! Missing values

use super::*;

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
