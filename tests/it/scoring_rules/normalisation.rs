//! Normalisation

use super::*;

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
