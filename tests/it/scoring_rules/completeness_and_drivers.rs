//! Completeness, drivers, playbooks

use super::*;

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
