//! `healthscore explain` on a written snapshot (SPEC §8): one account's
//! score, band, scorecard, drivers and playbook for a person; an unknown
//! customer is exit 2.

use crate::common;
use crate::fixture;
use common::*;
use fixture::*;

fn pipeline() -> String {
    format!(
        r#"{}
[[groups]]
name = "usage_grp"
[[groups]]
name = "care"
playbook = "call-them"

[[metrics]]
name = "activity"
group = "usage_grp"
account = "xa"
normalize = {{ linear = [0, 100] }}

[[metrics]]
name = "care_calls"
group = "care"
account = "xd"
normalize = {{ linear = [0, 100] }}
missing = "worst"

[[scorecards]]
name = "core"
weights = {{ usage_grp = 3, care = 1 }}
"#,
        header(&["xa", "xd"])
    )
}

#[test]
fn explain_prints_score_band_scorecard_and_drivers() {
    let data = Data {
        accounts: vec![
            acc("C1").x("xa", Some(80.0)).x("xd", None),
            acc("C2").x("xa", Some(10.0)).x("xd", Some(10.0)),
        ],
        ..Default::default()
    };
    let (run, df) = run_ok(&pipeline(), &data);
    // C1: usage_grp 80, care 0 (worst): (3·80 + 1·0) / 4 = 60 → At-Risk.
    // Losses: care_calls 100·1/4 = 25, activity 20·3/4 = 15.
    is(&df, "C1", "score", 60.0);
    is_str(&df, "C1", "top_drivers", Some("care_calls,activity"));
    is_str(&df, "C1", "playbook", Some("call-them"));

    let out = run.out_dir();
    let r = healthscore(&[
        "explain",
        "--output",
        out.to_str().unwrap(),
        "--customer",
        "C1",
    ]);
    assert_eq!(r.code, 0, "stdout {}\nstderr {}", r.stdout, r.stderr);
    for want in [
        "C1",
        "60",
        "At-Risk",
        "core",
        "care_calls,activity",
        "call-them",
        "usage_grp",
        "activity",
    ] {
        assert!(
            r.stdout.contains(want),
            "expected `{want}` in:\n{}",
            r.stdout
        );
    }

    // The same with the snapshot date given.
    let r = healthscore(&[
        "explain",
        "--output",
        out.to_str().unwrap(),
        "--customer",
        "C2",
        "--as-of",
        D,
    ]);
    assert_eq!(r.code, 0, "stderr {}", r.stderr);
    // C2: (3·10 + 1·10) / 4 = 10 → Critical.
    assert!(r.stdout.contains("Critical"), "{}", r.stdout);
}

#[test]
fn explain_of_an_unknown_customer_is_exit_2() {
    let data = Data {
        accounts: vec![acc("C1").x("xa", Some(80.0)).x("xd", None)],
        ..Default::default()
    };
    let (run, _df) = run_ok(&pipeline(), &data);
    let r = healthscore(&[
        "explain",
        "--output",
        run.out_dir().to_str().unwrap(),
        "--customer",
        "NOPE",
    ]);
    assert_eq!(r.code, 2, "stdout {}\nstderr {}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("NOPE"),
        "the error names the customer: {}",
        r.stderr
    );
}
