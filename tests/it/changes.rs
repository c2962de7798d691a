//! SPEC §11 changes and band hysteresis, on a small model whose metrics
//! ma, mb, mc score the account columns a, b, c as points (linear 0-100): g1 = mean(a, b)
//! and g2 = c, weighed 3 : 1 by scorecard `all` (g1 only for `young`,
//! tenure < 90 days). A metric's contribution is points · share, with
//! share = w_g/Σ_present w_g · w_m/Σ_present-in-g w_m: for `all` with every
//! metric present a and b weigh 3/4 · 1/2 = 0.375 and c 1/4. Default bands:
//! Critical 0-40, At-Risk 41-60, Healthy 61-80, Thriving 81-100.

use std::path::Path;

use polars::prelude::{DataFrame, DataType};

use crate::common::*;
use crate::fixture::*;

fn pipeline(version: &str, settings: &str) -> String {
    header(&["a", "b", "c"])
        .replacen("version = \"1\"", &format!("version = \"{version}\""), 1)
        .replacen(
            "lag_table = \"\"",
            &format!("lag_table = \"\"\n{settings}"),
            1,
        )
        + r#"
[[groups]]
name = "g1"
[[groups]]
name = "g2"

[[metrics]]
name = "ma"
group = "g1"
account = "a"
normalize = { linear = [0, 100] }

[[metrics]]
name = "mb"
group = "g1"
account = "b"
normalize = { linear = [0, 100] }

[[metrics]]
name = "mc"
group = "g2"
account = "c"
normalize = { linear = [0, 100] }

[[scorecards]]
name = "young"
when = "tenure_days < 90"
weights = { g1 = 1 }

[[scorecards]]
name = "all"
weights = { g1 = 3, g2 = 1 }
"#
}

/// An account with points a, b, c, signed up 400 days before D.
fn abc(id: &'static str, a: Option<f64>, b: Option<f64>, c: Option<f64>) -> Account {
    acc(id).x("a", a).x("b", b).x("c", c)
}

/// Runs date `d1` then `d2` into one output, each with its accounts.
struct TwoDates {
    tmp: tempfile::TempDir,
}

impl TwoDates {
    fn run(pipelines: [&str; 2], dates: [&str; 2], accounts: [Vec<Account>; 2]) -> TwoDates {
        let tmp = tempfile::tempdir().unwrap();
        for ((p, d), a) in pipelines.iter().zip(dates).zip(accounts) {
            let input = tmp.path().join(format!("in-{d}"));
            Data {
                accounts: a,
                ..Default::default()
            }
            .write(&input);
            let file = tmp.path().join(format!("p-{d}.toml"));
            std::fs::write(&file, p).unwrap();
            let o = healthscore(&[
                "run",
                "--pipeline",
                file.to_str().unwrap(),
                "--input",
                input.to_str().unwrap(),
                "--output",
                tmp.path().join("out").to_str().unwrap(),
                "--as-of",
                d,
                "--allow-schema-change",
            ]);
            assert_eq!(o.code, 0, "{d}: {}", o.stderr);
        }
        TwoDates { tmp }
    }
    fn out(&self) -> std::path::PathBuf {
        self.tmp.path().join("out")
    }
    fn table(&self, table: &str, d: &str) -> DataFrame {
        read_parquet(&self.out().join(format!("{table}/snapshot_date={d}")))
    }
}

const D1: &str = "2026-11-17";

fn row(df: &DataFrame, id: &str) -> Option<usize> {
    (0..df.height()).find(|&i| s(df, "customer_id", i).as_deref() == Some(id))
}

/// Asserts `id`'s change row: kind, bands, scores, cause and its numbers.
#[allow(clippy::too_many_arguments)]
fn change(
    df: &DataFrame,
    id: &str,
    kind: &str,
    bands: (&str, &str),
    scores: (Option<f64>, Option<f64>, Option<f64>),
    cause: Option<&str>,
    cause_points: (Option<f64>, Option<f64>),
    delta: Option<f64>,
) {
    let i = row(df, id).unwrap_or_else(|| panic!("{id} has no change row"));
    assert_eq!(s(df, "kind", i).as_deref(), Some(kind), "{id} kind");
    assert_eq!(
        s(df, "prev_band", i).as_deref(),
        Some(bands.0),
        "{id} prev_band"
    );
    assert_eq!(s(df, "band", i).as_deref(), Some(bands.1), "{id} band");
    assert_eq!(f(df, "prev_score", i), scores.0, "{id} prev_score");
    assert_eq!(f(df, "score", i), scores.1, "{id} score");
    assert_eq!(f(df, "score_change", i), scores.2, "{id} score_change");
    assert_eq!(s(df, "cause", i).as_deref(), cause, "{id} cause");
    assert_eq!(
        f(df, "cause_prev_points", i),
        cause_points.0,
        "{id} cause_prev_points"
    );
    assert_eq!(
        f(df, "cause_points", i),
        cause_points.1,
        "{id} cause_points"
    );
    match delta {
        Some(d) => close(f(df, "cause_delta", i), d, &format!("{id} cause_delta")),
        None => assert_eq!(f(df, "cause_delta", i), None, "{id} cause_delta"),
    }
}

#[test]
fn each_kind_its_boundaries_and_its_cause() {
    let p = pipeline("1", "");
    let young = |a: Account| a.signup(Some(92)); // tenure 85 on D1, 92 on D
    let before = vec![
        abc("A1", Some(80.0), Some(80.0), Some(80.0)),
        abc("A2", Some(80.0), Some(80.0), Some(80.0)),
        abc("A3", Some(80.0), Some(80.0), Some(80.0)),
        abc("A4", Some(61.0), Some(61.0), Some(61.0)),
        abc("A5", None, None, None),
        abc("A6", Some(50.0), Some(50.0), Some(100.0)),
        young(abc("A7", Some(80.0), Some(80.0), Some(0.0))),
    ];
    let after = vec![
        // (3 · 50 + 80)/4 = 57.5 → 58: Healthy → At-Risk, −22. a's
        // contribution 80 · 0.375 = 30 → 20 · 0.375 = 7.5: −22.5.
        abc("A1", Some(20.0), Some(80.0), Some(80.0)),
        // (3 · 60 + 80)/4 = 65: still Healthy, −15 = the threshold: a drop;
        // a: 30 → 40 · 0.375 = 15.
        abc("A2", Some(40.0), Some(80.0), Some(80.0)),
        // g1 = (44 + 80)/2 = 62; (3 · 62 + 80)/4 = 66.5 → 67: −13 within
        // Healthy: no row.
        abc("A3", Some(44.0), Some(80.0), Some(80.0)),
        // 61 → 60 everywhere: Healthy → At-Risk with a change of −1; a and b
        // both fall 0.375 (c 0.25): the tie goes to a, declared first.
        abc("A4", Some(60.0), Some(60.0), Some(60.0)),
        // Unscored → 90 (Thriving): band_up, no score change; a and b both
        // rise 0 → 33.75: a.
        abc("A5", Some(90.0), Some(90.0), Some(90.0)),
        // c goes missing: g2 drops out and g1 alone gives 50 (63 → 50,
        // At-Risk, −13). a and b rise 18.75 → 25, c falls 25 → 0: c.
        abc("A6", Some(50.0), Some(50.0), None),
        // Same points, but the account is now 92 days old: `all` instead of
        // `young`. young: a, b weigh 1/2 (40 each) → all: 0.375 (30 each), c
        // 0 · 1/4 = 0; score 80 → (240 + 0)/4 = 60: band_down −20, a (tie).
        young(abc("A7", Some(80.0), Some(80.0), Some(0.0))),
    ];
    let run = TwoDates::run([&p, &p], [D1, D], [before, after]);
    let df = run.table("changes", D);
    change(
        &df,
        "A1",
        "band_down",
        ("Healthy", "At-Risk"),
        (Some(80.0), Some(58.0), Some(-22.0)),
        Some("ma"),
        (Some(80.0), Some(20.0)),
        Some(-22.5),
    );
    change(
        &df,
        "A2",
        "drop",
        ("Healthy", "Healthy"),
        (Some(80.0), Some(65.0), Some(-15.0)),
        Some("ma"),
        (Some(80.0), Some(40.0)),
        Some(-15.0),
    );
    assert_eq!(
        row(&df, "A3"),
        None,
        "a change of 13 in the same band is no row"
    );
    change(
        &df,
        "A4",
        "band_down",
        ("Healthy", "At-Risk"),
        (Some(61.0), Some(60.0), Some(-1.0)),
        Some("ma"),
        (Some(61.0), Some(60.0)),
        Some(-0.375),
    );
    change(
        &df,
        "A5",
        "band_up",
        ("Unscored", "Thriving"),
        (None, Some(90.0), None),
        Some("ma"),
        (None, Some(90.0)),
        Some(33.75),
    );
    change(
        &df,
        "A6",
        "band_down",
        ("Healthy", "At-Risk"),
        (Some(63.0), Some(50.0), Some(-13.0)),
        Some("mc"),
        (Some(100.0), None),
        Some(-25.0),
    );
    change(
        &df,
        "A7",
        "band_down",
        ("Healthy", "At-Risk"),
        (Some(80.0), Some(60.0), Some(-20.0)),
        Some("ma"),
        (Some(80.0), Some(80.0)),
        Some(-10.0),
    );
    let i = row(&df, "A7").unwrap();
    assert_eq!(s(&df, "prev_scorecard", i).as_deref(), Some("young"));
    assert_eq!(s(&df, "scorecard", i).as_deref(), Some("all"));
    // Order: band_down (by score_change ascending: A1 −22, A7 −20, A6 −13,
    // A4 −1), drop (A2), band_up (A5).
    let order: Vec<String> = (0..df.height())
        .map(|i| s(&df, "customer_id", i).unwrap())
        .collect();
    assert_eq!(order, ["A1", "A7", "A6", "A4", "A2", "A5"]);
    // Types, and the manifest's counts per kind.
    assert_eq!(
        df.column("score").unwrap().dtype(),
        &polars::prelude::DataType::Int32
    );
    let m = read_manifest(&run.out(), D);
    assert_eq!(
        m["changes"],
        serde_json::json!({"band_down": 4, "drop": 1, "band_up": 1, "rise": 0})
    );
}

#[test]
fn the_changes_table_is_empty_without_a_previous_snapshot_of_the_model() {
    let accounts = || vec![abc("A", Some(80.0), Some(80.0), Some(80.0))];
    let lower = || vec![abc("A", Some(10.0), Some(10.0), Some(10.0))];
    let run = TwoDates::run(
        [&pipeline("1", ""), &pipeline("2", "")],
        [D1, D],
        [accounts(), lower()],
    );
    // No previous snapshot on D1; another model_version on D (rebased).
    for d in [D1, D] {
        let df = run.table("changes", d);
        assert_eq!(df.height(), 0, "{d}");
        assert_eq!(df.get_column_names().len(), 15, "{d}: the schema is there");
        assert!(Path::new(
            &run.out()
                .join(format!("changes/snapshot_date={d}/_SUCCESS"))
        )
        .exists());
    }
}

#[test]
fn hysteresis_holds_the_previous_band_within_h_points_outside_it() {
    let p = pipeline("1", "band_hysteresis_points = 5");
    let same = |id: &'static str, v: Option<f64>| abc(id, v, v, v);
    let before = vec![
        same("H1", Some(70.0)),
        same("H2", Some(70.0)),
        same("H3", Some(70.0)),
        same("H4", Some(70.0)),
        same("H5", None),
        same("H6", Some(70.0)),
    ];
    let after = vec![
        same("H1", Some(56.0)), // lo − h = 61 − 5: held Healthy
        same("H2", Some(55.0)), // lo − h − 1: At-Risk
        same("H3", Some(85.0)), // hi + h = 80 + 5: held Healthy
        same("H4", Some(86.0)), // hi + h + 1: Thriving
        same("H5", Some(58.0)), // from Unscored: nothing to hold, At-Risk
        same("H6", None),       // a null score is Unscored
    ];
    let run = TwoDates::run([&p, &p], [D1, D], [before, after]);
    let scores = run.table("scores", D);
    let band = |id: &str| sv(&scores, id, "band");
    let color = |id: &str| sv(&scores, id, "color");
    assert_eq!(band("H1").as_deref(), Some("Healthy"));
    assert_eq!(color("H1").as_deref(), Some("green"));
    assert_eq!(
        fv(&scores, "H1", "score"),
        Some(56.0),
        "the score is unchanged"
    );
    assert_eq!(sv(&scores, "H1", "trend").as_deref(), Some("down"));
    assert_eq!(band("H2").as_deref(), Some("At-Risk"));
    assert_eq!(color("H2").as_deref(), Some("yellow"));
    assert_eq!(band("H3").as_deref(), Some("Healthy"));
    assert_eq!(band("H4").as_deref(), Some("Thriving"));
    assert_eq!(band("H5").as_deref(), Some("At-Risk"));
    assert_eq!(band("H6").as_deref(), Some("Unscored"));
    assert_eq!(read_manifest(&run.out(), D)["bands_held"], 2);
    // The summary counts the bands as written: 2 Healthy (H1, H3).
    let summary = run.table("summary", D);
    let healthy = (0..summary.height())
        .find(|&i| s(&summary, "band", i).as_deref() == Some("Healthy"))
        .unwrap();
    assert_eq!(f(&summary, "accounts", healthy), Some(2.0));
    // H1 kept its band and moved 14 points: no change row; H2 moved band.
    let changes = run.table("changes", D);
    assert_eq!(row(&changes, "H1"), None);
    assert!(row(&changes, "H2").is_some());
}

#[test]
fn the_changes_folder_reads_as_one_table_across_dates_with_a_typed_pass_through() {
    // seats (an integer) passed through: the empty table of the first date
    // must type it as the second date's rows do, or readers of the folder
    // cannot merge the dates.
    let p = pipeline("1", "").replacen(
        "extra_columns = [\"a\", \"b\", \"c\"]",
        "extra_columns = [\"a\", \"b\", \"c\"]\npass_through = [\"seats\"]",
        1,
    );
    let run = TwoDates::run(
        [&p, &p],
        [D1, D],
        [
            vec![abc("A", Some(80.0), Some(80.0), Some(80.0))],
            vec![abc("A", Some(20.0), Some(20.0), Some(20.0))],
        ],
    );
    let first = run.table("changes", D1);
    let second = run.table("changes", D);
    assert_eq!(first.height(), 0);
    assert_eq!(second.height(), 1);
    assert_eq!(first.schema(), second.schema());
    assert_eq!(second.column("seats").unwrap().dtype(), &DataType::Int64);
    // pyarrow reads the Hive-partitioned folder as one table.
    run_python(
        "import sys, pyarrow.dataset as ds\n\
         t = ds.dataset(sys.argv[1] + '/changes', partitioning='hive').to_table()\n\
         assert t.num_rows == 1, t.num_rows\n\
         assert str(t.schema.field('seats').type) == 'int64', t.schema\n",
        &run.out(),
    );
}
