//! Scorecards

use super::*;

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
