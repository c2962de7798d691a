//! Rounding and bands

use super::*;

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
