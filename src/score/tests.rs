use super::*;

/// Metrics by the longest chain of metrics they read: `logins` and
/// `seats_now` read none, `per_seat` and `logins_per_seat` read level-0 metrics,
/// `per_seat_trend` reads `per_seat` (level 1) and `logins`.
#[test]
fn raw_values_are_computed_a_level_of_dependencies_at_a_time() {
    let text = r#"[pipeline]
name = "t"
version = "1"

[sources.accounts]
path = "accounts"
[sources.usage]
path = "usage"

[[groups]]
name = "adoption"

[[metrics]]
name = "per_seat_trend"
group = "adoption"
ratio = ["per_seat", "logins"]
normalize = { linear = [0, 1] }

[[metrics]]
name = "logins"
table = "usage"
agg = "sum"
column = "events"
window_days = 30

[[metrics]]
name = "per_seat"
ratio = ["logins", "seats_now"]

[[metrics]]
name = "seats_now"
account = "seats"

[[metrics]]
name = "logins_per_seat"
ratio = ["logins", { account = "seats" }]

[[scorecards]]
name = "all"
weights = { adoption = 1 }
"#;
    let p = Pipeline::parse("t.toml", text).expect("a valid pipeline");
    let names = |level: &[usize]| -> Vec<String> {
        let mut n: Vec<String> = level.iter().map(|&i| p.metrics[i].name.clone()).collect();
        n.sort();
        n
    };
    let levels: Vec<Vec<String>> = raw_value_levels(&p).iter().map(|l| names(l)).collect();
    assert_eq!(
        levels,
        [
            vec!["logins", "seats_now"],
            vec!["logins_per_seat", "per_seat"],
            vec!["per_seat_trend"]
        ]
    );
}
