//! SPEC §11 overrides: the row rules and their order, expiry, precedence,
//! the four columns, the summary and the manifest, changes and hysteresis
//! beside them. The model: score = onboarding_completion_pct (the `pct`
//! pipeline of tests/it/common), default bands (Critical 0-40, At-Risk
//! 41-60, Healthy 61-80, Thriving 81-100). "day k" is D − k; D = 2026-11-24.

use std::path::Path;

use polars::prelude::*;

use crate::common::*;

const D1: &str = "2026-11-23";

fn pipeline() -> String {
    pct_pipeline("1").replacen(
        "[sources.accounts]\npath = \"accounts\"",
        "[settings]\nmax_rejected_share = 0.5\nmax_orphaned_share = 0.5\nband_hysteresis_points = 5\nlag_table = \"\"\n\n[sources.accounts]\npath = \"accounts\"\n[sources.overrides]\npath = \"overrides\"",
        1,
    )
}

/// (customer, band, reason, set_by, set_on day, expires_on day)
type Row = (
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<i64>,
    Option<i64>,
);

fn write_overrides(dir: &Path, rows: &[Row]) {
    let s = |f: fn(&Row) -> Option<&'static str>| rows.iter().map(f).collect::<Vec<_>>();
    let df = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), s(|r| r.0)),
        Column::new("band".into(), s(|r| r.1)),
        Column::new("reason".into(), s(|r| r.2)),
        Column::new("set_by".into(), s(|r| r.3)),
        date_col("set_on", &rows.iter().map(|r| r.4).collect::<Vec<_>>()),
        date_col("expires_on", &rows.iter().map(|r| r.5).collect::<Vec<_>>()),
    ])
    .unwrap();
    let _ = std::fs::remove_dir_all(dir.join("overrides"));
    write_parquet(dir, "overrides/part-0.parquet", df);
}

#[test]
fn overrides_apply_by_precedence_and_every_row_is_counted_once() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("p.toml");
    std::fs::write(&file, pipeline()).unwrap();
    let out = tmp.path().join("out");
    let run = |d: &str, input: &Path| run_pipeline(&file, input, &out, d, &[]);
    let k_override: Row = (
        Some("K"),
        Some("Critical"),
        Some("sponsor left"),
        Some("bo"),
        Some(20),
        Some(1),
    );

    // D − 1: K (62, Healthy) is overridden to Critical until D − 1.
    let day1 = tmp.path().join("in1");
    write_pct_accounts(
        &day1,
        &[
            ("A", Some(20.0)),
            ("B", Some(70.0)),
            ("C", Some(40.0)),
            ("E", Some(50.0)),
            ("F", Some(90.0)),
            ("G", Some(60.0)),
            ("H", None),
            ("K", Some(62.0)),
        ],
    );
    write_overrides(&day1, &[k_override]);
    let o = run(D1, &day1);
    assert_eq!(o.code, 0, "{}", o.stderr);

    // D: C rises to 70, K falls to 58; the overrides below.
    let day2 = tmp.path().join("in2");
    write_pct_accounts(
        &day2,
        &[
            ("A", Some(20.0)),
            ("B", Some(70.0)),
            ("C", Some(70.0)),
            ("E", Some(50.0)),
            ("F", Some(90.0)),
            ("G", Some(60.0)),
            ("H", None),
            ("K", Some(58.0)),
        ],
    );
    let rows: Vec<Row> = vec![
        (
            Some("A"),
            Some("Healthy"),
            Some("exec sponsor"),
            Some("ana"),
            Some(10),
            Some(-5),
        ),
        // Expires on D: still in force.
        (
            Some("B"),
            Some("At-Risk"),
            Some("budget cut"),
            Some("ana"),
            Some(9),
            Some(0),
        ),
        // Expired the day before D.
        (
            Some("C"),
            Some("Thriving"),
            Some("expansion"),
            Some("ana"),
            Some(9),
            Some(1),
        ),
        // E: the latest set_on (day 3) wins, then the latest expiry (D + 2).
        (
            Some("E"),
            Some("Thriving"),
            Some("old"),
            Some("ana"),
            Some(5),
            Some(-10),
        ),
        (
            Some("E"),
            Some("Critical"),
            Some("newer"),
            Some("ana"),
            Some(3),
            Some(-1),
        ),
        (
            Some("E"),
            Some("Healthy"),
            Some("newest"),
            Some("ana"),
            Some(3),
            Some(-2),
        ),
        // F: same set_on and expiry: band ascending, At-Risk before Thriving.
        (
            Some("F"),
            Some("Thriving"),
            Some("t"),
            Some("bo"),
            Some(2),
            Some(-3),
        ),
        (
            Some("F"),
            Some("At-Risk"),
            Some("a"),
            Some("bo"),
            Some(2),
            Some(-3),
        ),
        // G: to the band the model already gives.
        (
            Some("G"),
            Some("At-Risk"),
            Some("confirmed"),
            Some("bo"),
            Some(1),
            Some(-30),
        ),
        // H: an Unscored account.
        (
            Some("H"),
            Some("Healthy"),
            Some("new logo"),
            Some("bo"),
            Some(1),
            Some(-30),
        ),
        k_override,
        // Set after D: dropped first.
        (
            Some("A"),
            Some("Critical"),
            Some("future"),
            Some("ana"),
            Some(-1),
            Some(-9),
        ),
        // Rules, each row under the first it breaks.
        (Some("A"), None, Some("r"), Some("ana"), Some(5), Some(-5)),
        (
            Some("A"),
            Some("Healthy"),
            None,
            Some("ana"),
            Some(5),
            Some(-5),
        ),
        (
            Some("A"),
            Some("Gold"),
            None,
            Some("ana"),
            Some(5),
            Some(-5),
        ), // null_reason first
        (
            Some("A"),
            Some("Healthy"),
            Some("r"),
            None,
            Some(5),
            Some(-5),
        ),
        (
            Some("A"),
            Some("Healthy"),
            Some("r"),
            Some("ana"),
            None,
            Some(-5),
        ),
        (
            Some("A"),
            Some("Healthy"),
            Some("r"),
            Some("ana"),
            Some(5),
            None,
        ),
        (
            Some("A"),
            Some("Gold"),
            Some("r"),
            Some("ana"),
            Some(5),
            Some(-5),
        ),
        (
            Some("A"),
            Some("Healthy"),
            Some("r"),
            Some("ana"),
            Some(5),
            Some(8),
        ),
        // Orphans.
        (
            None,
            Some("Healthy"),
            Some("r"),
            Some("ana"),
            Some(5),
            Some(-5),
        ),
        (
            Some("ZZ"),
            Some("Healthy"),
            Some("r"),
            Some("ana"),
            Some(5),
            Some(-5),
        ),
    ];
    write_overrides(&day2, &rows);
    let o = run(D, &day2);
    assert_eq!(o.code, 0, "{}", o.stderr);

    let scores = read_parquet(&out.join(format!("scores/snapshot_date={D}")));
    let cell = |id: &str, c: &str| {
        let i = row_of(&scores, id);
        s(&scores, c, i)
    };
    let expect = |id: &str, band: &str, model: &str, reason: Option<&str>| {
        assert_eq!(cell(id, "band").as_deref(), Some(band), "{id} band");
        assert_eq!(
            cell(id, "band_model").as_deref(),
            Some(model),
            "{id} band_model"
        );
        assert_eq!(
            cell(id, "override_reason").as_deref(),
            reason,
            "{id} reason"
        );
    };
    expect("A", "Healthy", "Critical", Some("exec sponsor"));
    assert_eq!(cell("A", "color").as_deref(), Some("green"));
    assert_eq!(
        f(&scores, "score", row_of(&scores, "A")),
        Some(20.0),
        "the score stays the model's"
    );
    expect("B", "At-Risk", "Healthy", Some("budget cut"));
    expect("C", "Healthy", "Healthy", None);
    expect("E", "Healthy", "At-Risk", Some("newest"));
    expect("F", "At-Risk", "Thriving", Some("a"));
    expect("G", "At-Risk", "At-Risk", Some("confirmed"));
    expect("H", "Healthy", "Unscored", Some("new logo"));
    // K: its override expired; the previous *model* band (Healthy, not the
    // overridden Critical) is held by hysteresis: 58 ≥ 61 − 5.
    expect("K", "Healthy", "Healthy", None);
    let i = row_of(&scores, "A");
    assert_eq!(s(&scores, "override_set_by", i).as_deref(), Some("ana"));
    let expires = scores.column("override_expires_on").unwrap();
    assert_eq!(expires.dtype(), &DataType::Date);
    assert_eq!(
        expires.get(i).unwrap().to_string(),
        (day(-5)).to_string(),
        "A's override expires on D + 5"
    );
    // Column order: model_version, then the four override columns.
    let names: Vec<String> = scores
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let mv = names.iter().position(|n| n == "model_version").unwrap();
    assert_eq!(
        &names[mv + 1..],
        [
            "band_model",
            "override_reason",
            "override_set_by",
            "override_expires_on"
        ]
    );

    // Every row read is in exactly one count.
    let m = read_manifest(&out, D);
    let t = &m["tables"]["overrides"];
    assert_eq!(t["rows_read"], 22);
    assert_eq!(t["after_as_of"], 1);
    assert_eq!(
        t["rejected"],
        serde_json::json!({"null_band": 1, "null_reason": 2, "null_set_by": 1, "null_set_on": 1,
            "null_expires_on": 1, "unknown_band": 1, "expires_before_set": 1})
    );
    assert_eq!(
        t["orphaned"],
        serde_json::json!({"null_customer_id": 1, "unknown_customer_id": 1})
    );
    assert_eq!(t["expired"], 2); // C, K
    assert_eq!(t["superseded"], 3); // E × 2, F × 1
    assert_eq!(t["rows_used"], 6); // A, B, E, F, G, H
    assert_eq!(
        m["overrides_applied"],
        serde_json::json!({"Healthy": 3, "At-Risk": 3})
    );

    // The summary counts the bands as written: At-Risk B, F, G; Healthy A,
    // C, E, H, K.
    let summary = read_parquet(&out.join(format!("summary/snapshot_date={D}")));
    let accounts = |band: &str| {
        (0..summary.height())
            .find(|&i| s(&summary, "band", i).as_deref() == Some(band))
            .and_then(|i| f(&summary, "accounts", i))
    };
    assert_eq!(accounts("At-Risk"), Some(3.0));
    assert_eq!(accounts("Healthy"), Some(5.0));

    // Changes: C (Critical → Healthy, +30) and K (its D − 1 band as
    // written was the override's Critical; now Healthy, −4) are band_up
    // rows, by score_change ascending; A, whose band an override moved, B,
    // E, F, G and H are not (overrides in force).
    let changes = read_parquet(&out.join(format!("changes/snapshot_date={D}")));
    let ids: Vec<String> = (0..changes.height())
        .map(|i| s(&changes, "customer_id", i).unwrap())
        .collect();
    assert_eq!(ids, ["K", "C"]);
}

#[test]
fn an_overrides_table_without_a_column_is_exit_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    write_pct_accounts(tmp.path(), &[("A", Some(20.0))]);
    let df = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), ["A"]),
        Column::new("band".into(), ["Healthy"]),
        Column::new("reason".into(), ["r"]),
        date_col("set_on", &[Some(1)]),
        date_col("expires_on", &[Some(-1)]),
    ])
    .unwrap();
    write_parquet(tmp.path(), "overrides/part-0.parquet", df);
    let file = tmp.path().join("p.toml");
    std::fs::write(&file, pipeline()).unwrap();
    let out = tmp.path().join("out");
    let o = run_pipeline(&file, tmp.path(), &out, D, &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("table overrides"), "{}", o.stderr);
    assert!(o.stderr.contains("set_by"), "{}", o.stderr);
    assert!(!out.join("scores").exists());
}

#[test]
fn an_overrides_column_of_the_wrong_type_is_exit_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    write_pct_accounts(tmp.path(), &[("A", Some(20.0))]);
    // set_on as text: not a date.
    let df = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), ["A"]),
        Column::new("band".into(), ["Healthy"]),
        Column::new("reason".into(), ["r"]),
        Column::new("set_by".into(), ["ana"]),
        Column::new("set_on".into(), ["yesterday"]),
        date_col("expires_on", &[Some(-1)]),
    ])
    .unwrap();
    write_parquet(tmp.path(), "overrides/part-0.parquet", df);
    let file = tmp.path().join("p.toml");
    std::fs::write(&file, pipeline()).unwrap();
    let out = tmp.path().join("out");
    let o = run_pipeline(&file, tmp.path(), &out, D, &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("table overrides"), "{}", o.stderr);
    assert!(o.stderr.contains("`set_on`"), "{}", o.stderr);
    assert!(o.stderr.contains("expected a date"), "{}", o.stderr);
    assert!(!out.join("scores").exists());
}
