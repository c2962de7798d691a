//! Pipeline-file errors (SPEC §4 last bullet): each is exit 2 with
//! file:line:column and what to change, reported before any data is read
//! (the input folder here does not even exist).

use crate::common;
use common::*;

/// A small valid pipeline; line numbers below refer to it.
const BASE: &str = r#"[pipeline]
name = "t"
version = "1"

[sources.accounts]
path = "accounts"
[sources.usage]
path = "usage"

[[groups]]
name = "adoption"

[[metrics]]
name = "logins"
table = "usage"
agg = "sum"
column = "events"
window_days = 30

[[metrics]]
name = "logins_per_seat"
group = "adoption"
ratio = ["logins", { account = "seats" }]
normalize = { linear = [0, 20] }

[[scorecards]]
name = "all"
weights = { adoption = 1 }
"#;

fn check(text: &str) -> Out {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("p.toml");
    std::fs::write(&file, text).unwrap();
    let out = tmp.path().join("out");
    let r = healthscore(&[
        "run",
        "--pipeline",
        file.to_str().unwrap(),
        "--input",
        tmp.path().join("no-such-input").to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--as-of",
        D,
    ]);
    assert!(!out.exists(), "nothing may be written for a bad pipeline");
    r
}

fn expect_error(text: &str, line: usize, words: &[&str]) {
    let r = check(text);
    assert_eq!(r.code, 2, "stderr: {}", r.stderr);
    let located = format!("p.toml:{line}:");
    assert!(
        r.stderr.contains(&located),
        "expected {located} in: {}",
        r.stderr
    );
    for w in words {
        assert!(r.stderr.contains(w), "expected `{w}` in: {}", r.stderr);
    }
}

#[test]
fn base_pipeline_is_valid_and_fails_only_on_missing_input() {
    let r = check(BASE);
    // A missing input folder is a storage error (exit 1), not a pipeline error.
    assert_eq!(r.code, 1, "stderr: {}", r.stderr);
}

#[test]
fn unknown_key() {
    let text = BASE.replace("window_days = 30", "window_days = 30\nwindow = 30");
    expect_error(&text, 19, &["unknown field `window`"]);
}

#[test]
fn unknown_metric_in_ratio() {
    let text = BASE.replace("ratio = [\"logins\"", "ratio = [\"loginz\"");
    expect_error(&text, 23, &["loginz", "not a declared metric"]);
}

#[test]
fn unknown_column() {
    let text = BASE.replace("column = \"events\"", "column = \"evnts\"");
    expect_error(&text, 17, &["evnts", "not a column of usage"]);
}

#[test]
fn unknown_table() {
    let text = BASE.replace("table = \"usage\"", "table = \"usages\"");
    expect_error(&text, 15, &["unknown table `usages`"]);
}

#[test]
fn unknown_group() {
    let text = BASE.replace("group = \"adoption\"", "group = \"adopt\"");
    expect_error(&text, 22, &["unknown group `adopt`"]);
}

#[test]
fn linear_bounds_equal() {
    let text = BASE.replace("linear = [0, 20]", "linear = [5, 5]");
    expect_error(&text, 24, &["lo = 5", "hi = 5", "distinct"]);
}

#[test]
fn negative_metric_weight() {
    let text = BASE.replace("group = \"adoption\"", "group = \"adoption\"\nweight = -1");
    expect_error(&text, 23, &["weight -1", "> 0"]);
}

#[test]
fn all_zero_group_weights() {
    let text = BASE.replace("weights = { adoption = 1 }", "weights = { adoption = 0 }");
    expect_error(&text, 28, &["all group weights are zero"]);
}

#[test]
fn negative_group_weight() {
    let text = BASE.replace("weights = { adoption = 1 }", "weights = { adoption = -2 }");
    expect_error(&text, 28, &["weight of `adoption` is -2"]);
}

#[test]
fn duplicate_metric_name() {
    let text = BASE.replace("name = \"logins_per_seat\"", "name = \"logins\"");
    expect_error(&text, 21, &["duplicate metric name `logins`"]);
}

#[test]
fn duplicate_group_name() {
    let text = BASE.replace(
        "[[groups]]\nname = \"adoption\"\n",
        "[[groups]]\nname = \"adoption\"\n[[groups]]\nname = \"adoption\"\n",
    );
    expect_error(&text, 13, &["duplicate group name `adoption`"]);
}

#[test]
fn cycle_in_derived_metrics() {
    let text = BASE.replace(
        "[[scorecards]]",
        "[[metrics]]\nname = \"a\"\nratio = [\"b\", \"logins\"]\n\n[[metrics]]\nname = \"b\"\nratio = [\"a\", \"logins\"]\n\n[[scorecards]]",
    );
    let r = check(&text);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cycle"), "{}", r.stderr);
    assert!(
        r.stderr.contains("a → b → a") || r.stderr.contains("b → a → b"),
        "{}",
        r.stderr
    );
}

#[test]
fn scorecard_after_catch_all() {
    let text = format!("{BASE}\n[[scorecards]]\nname = \"late\"\nwhen = \"seats > 1\"\nweights = {{ adoption = 1 }}\n");
    expect_error(&text, 31, &["`late` follows a scorecard without `when`"]);
}

#[test]
fn empty_and_unsorted_steps() {
    let empty = BASE.replace("linear = [0, 20]", "steps = []");
    expect_error(&empty, 24, &["steps is empty"]);
    let unsorted = BASE.replace("linear = [0, 20]", "steps = [[10, 50], [5, 100]]");
    expect_error(&unsorted, 24, &["strictly ascending"]);
}

#[test]
fn toml_syntax_error_has_a_line() {
    let text = BASE.replace("agg = \"sum\"", "agg = sum");
    expect_error(&text, 16, &[]);
}

#[test]
fn all_errors_reported_at_once() {
    let text = BASE
        .replace("column = \"events\"", "column = \"evnts\"")
        .replace("linear = [0, 20]", "linear = [5, 5]");
    let r = check(&text);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("2 errors"), "{}", r.stderr);
    assert!(
        r.stderr.contains("p.toml:17:") && r.stderr.contains("p.toml:24:"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_filter_comparing_a_number_with_text_is_refused_at_load() {
    let text = BASE.replace(
        "column = \"events\"\nwindow_days = 30",
        "column = \"events\"\nwindow_days = 30\nfilter = \"events = 'ten'\"",
    );
    expect_error(
        &text,
        19,
        &[
            "metric `logins` filter",
            "events = 'ten'",
            "incompatible types",
        ],
    );
}

#[test]
fn a_scorecard_predicate_comparing_a_number_with_text_is_refused_at_load() {
    let text = BASE.replace(
        "name = \"all\"",
        "name = \"big\"\nwhen = \"seats = 'ten'\"\nweights = { adoption = 1 }\n\n[[scorecards]]\nname = \"all\"",
    );
    expect_error(&text, 28, &["scorecard `big`", "incompatible types"]);
}

#[test]
fn group_weights_too_large_to_add_up_are_refused() {
    // 1e308 is finite, but weighing points of up to 100 with it is not.
    let text = BASE.replace(
        "weights = { adoption = 1 }",
        "weights = { adoption = 1e308 }",
    );
    expect_error(
        &text,
        28,
        &["scorecard `all`", "add up to", "scale them down"],
    );
}

#[test]
fn metric_weights_too_large_to_add_up_are_refused() {
    let text = BASE.replace(
        "group = \"adoption\"",
        "group = \"adoption\"\nweight = 1e307",
    );
    let r = check(&text);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("group `adoption`"), "{}", r.stderr);
    assert!(r.stderr.contains("add up to 1e307"), "{}", r.stderr);
}

#[test]
fn days_since_takes_no_column() {
    let text = BASE.replace("agg = \"sum\"", "agg = \"days_since\"");
    expect_error(&text, 17, &["agg `days_since` takes no `column`"]);
}
