//! `days_since` (SPEC §4, issue 22): D minus the latest event date among
//! the window's rows, in days; null with no rows. D = 2026-11-24; "day k"
//! is D − k. Usage goes through the columnar kernel; revenue, which also
//! has a float `sum` the kernel does not take, through the polars group-by:
//! both paths are checked against the same hand-computed values.

use polars::prelude::{
    Column, DataFrame, DataType, IntoColumn, NamedFrom, Series, TimeUnit, TimeZone,
};

use crate::common::*;
use crate::fixture::*;

/// The contract sources, the given metrics in group `g` (or helpers), and
/// a catch-all scorecard.
fn pipeline(metrics: &str) -> String {
    format!(
        "{}\n[[groups]]\nname = \"g\"\n\n{metrics}\n[[scorecards]]\nname = \"all\"\nweights = {{ g = 1 }}\n",
        header(&[])
    )
}

/// A scored `days_since` metric of `table` (so the scorecard has a metric).
const SCORED: &str = r#"[[metrics]]
name = "recency"
group = "g"
table = "usage"
agg = "days_since"
window_days = 30
normalize = { linear = [30, 0] }
missing = "worst"
"#;

#[test]
fn days_since_on_usage_counts_back_from_d_within_the_window() {
    let metrics = format!(
        "{SCORED}\n[[metrics]]\nname = \"since_login\"\ntable = \"usage\"\nagg = \"days_since\"\nfilter = \"feature = 'login'\"\nwindow_days = 30\n"
    );
    let data = Data {
        accounts: ["A", "B", "C", "E", "F", "G"].map(acc).to_vec(),
        usage: vec![
            ("A", 0, "login", 1, 1), // the last event on D: 0
            ("A", 3, "login", 1, 1),
            ("B", 29, "login", 1, 1), // D − 29, the oldest day of 30: 29
            ("C", 30, "login", 1, 1), // outside the window: null
            ("C", -1, "login", 1, 1), // after D: dropped first, still null
            ("E", 0, "report", 4, 1), // the latest row, but not a login
            ("E", 5, "login", 1, 1),  // the latest login: 5
            ("F", 2, "login", 1, 1),  // duplicate rows on the last day: 2
            ("F", 2, "login", 1, 1),
            ("F", 9, "login", 1, 1),
            // G: no usage at all: null.
        ],
        ..Default::default()
    };
    let (run, df) = run_ok(&pipeline(&metrics), &data);
    is(&df, "A", "recency", 0.0);
    is(&df, "B", "recency", 29.0);
    is_null(&df, "C", "recency");
    is(&df, "E", "recency", 0.0);
    is(&df, "F", "recency", 2.0);
    is_null(&df, "G", "recency");
    is(&df, "A", "since_login", 0.0);
    is(&df, "B", "since_login", 29.0);
    is_null(&df, "C", "since_login");
    is(&df, "E", "since_login", 5.0);
    is(&df, "F", "since_login", 2.0);
    // Normalisation linear(30, 0), lower is better: 100 · (x − 30)/(0 − 30).
    is(&df, "A", "recency_points", 100.0);
    close(fv(&df, "B", "recency_points"), 100.0 / 30.0, "B points"); // (29 − 30)/(−30)
    is(&df, "F", "recency_points", 100.0 * 28.0 / 30.0);
    // Missing (no rows in the window) under `worst`: raw null, 0 points.
    is(&df, "C", "recency_points", 0.0);
    is(&df, "G", "recency_points", 0.0);
    assert_eq!(run.manifest()["tables"]["usage"]["after_as_of"], 1);
}

#[test]
fn days_since_on_revenue_months_through_the_group_by() {
    // A float sum on revenue keeps the table out of the kernel.
    let metrics = format!(
        "{SCORED}\n[[metrics]]\nname = \"billed\"\ntable = \"revenue\"\nagg = \"days_since\"\nwindow_days = 90\n\n[[metrics]]\nname = \"mrr_sum\"\ntable = \"revenue\"\nagg = \"sum\"\ncolumn = \"mrr\"\nwindow_days = 90\n"
    );
    let data = Data {
        accounts: ["A", "B", "C"].map(acc).to_vec(),
        usage: vec![("A", 0, "login", 1, 1)],
        revenue: vec![
            ("A", (2026, 9, 1), 10.5, 0),
            ("A", (2026, 11, 1), 10.5, 0), // 2026-11-24 − 2026-11-01 = 23
            ("B", (2026, 9, 1), 20.5, 0),  // D − 90 = 2026-08-26 < 09-01: 84
            ("C", (2026, 8, 1), 30.5, 0),  // before the window: null
        ],
        ..Default::default()
    };
    let (_, df) = run_ok(&pipeline(&metrics), &data);
    is(&df, "A", "billed", 23.0);
    is(&df, "B", "billed", 84.0);
    is_null(&df, "C", "billed");
    is(&df, "A", "mrr_sum", 21.0);
}

#[test]
fn days_since_takes_the_utc_date_of_zoned_timestamps() {
    let metrics = format!(
        "{SCORED}\n[[metrics]]\nname = \"since_ticket\"\ntable = \"support_tickets\"\nagg = \"days_since\"\nwindow_days = 30\n"
    );
    let data = Data {
        accounts: ["A", "B"].map(acc).to_vec(),
        usage: vec![("A", 0, "login", 1, 1)],
        ..Default::default()
    };
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let d = (day(0) - epoch).num_days();
    const MS_DAY: i64 = 86_400_000;
    const MS_HOUR: i64 = 3_600_000;
    let opened_ms: Vec<i64> = vec![
        // A: D − 2 22:00 in New York (UTC−5) = D − 1 03:00 UTC: day 1.
        (d - 1) * MS_DAY + 3 * MS_HOUR,
        // A: D 21:00 in New York = D + 1 02:00 UTC: after D, dropped.
        (d + 1) * MS_DAY + 2 * MS_HOUR,
        // B: D − 3 01:00 UTC = D − 4 20:00 in New York: day 3 (the UTC
        // date, not New York's D − 4).
        (d - 3) * MS_DAY + MS_HOUR,
    ];
    let new_york = DataType::Datetime(
        TimeUnit::Milliseconds,
        TimeZone::opt_try_new(Some("America/New_York")).unwrap(),
    );
    let run = run_with(&pipeline(&metrics), &data, |dir| {
        let tickets = DataFrame::new_infer_height(vec![
            Column::new("ticket_id".into(), ["T1", "T2", "T3"]),
            Column::new("customer_id".into(), ["A", "A", "B"]),
            Series::new("opened_at".into(), opened_ms)
                .cast(&new_york)
                .unwrap()
                .into_column(),
            Series::new("closed_at".into(), vec![None::<i64>; 3])
                .cast(&new_york)
                .unwrap()
                .into_column(),
            Column::new("priority".into(), ["low"; 3]),
        ])
        .unwrap();
        write_parquet(dir, "support_tickets/part-0.parquet", tickets);
    });
    assert_eq!(run.result.code, 0, "{}", run.result.stderr);
    let df = run.scores();
    is(&df, "A", "since_ticket", 1.0);
    is(&df, "B", "since_ticket", 3.0);
    assert_eq!(
        run.manifest()["tables"]["support_tickets"]["after_as_of"],
        1
    );
}

#[test]
fn the_csm_pulse_example_reads_the_latest_fresh_pulse_and_its_age() {
    // pipelines/csm_pulse.toml on hand-made exports and a csm_pulse table.
    let text = std::fs::read_to_string(repo().join("pipelines/csm_pulse.toml")).unwrap();
    let data = Data {
        accounts: ["A", "B", "C", "E"].map(acc).to_vec(),
        // A login on D for everyone: the freshness guard passes, and each
        // account has 1 active day of 30 (adoption 100 · 1/20 = 5 points).
        usage: ["A", "B", "C", "E"]
            .map(|id| (id, 0, "login", 1, 1))
            .to_vec(),
        ..Default::default()
    };
    let run = run_with(&text, &data, |dir| {
        let pulses = DataFrame::new_infer_height(vec![
            Column::new("customer_id".into(), ["A", "A", "B", "C", "C"]),
            date_col("date", &[Some(100), Some(10), Some(120), Some(3), Some(3)]),
            Column::new("sentiment".into(), [5i64, 2, 4, 3, 4]),
            Column::new("note".into(), ["n"; 5]),
        ])
        .unwrap();
        write_parquet(dir, "csm_pulse/part-0.parquet", pulses);
    });
    assert_eq!(run.result.code, 0, "{}", run.result.stderr);
    let df = run.scores();
    // A: the last pulse within 90 days is day 10's 2 (day 100's 5 is
    // stale): points 100 · (2 − 1)/(5 − 1) = 25; the latest pulse is 10
    // days old.
    is(&df, "A", "csm_sentiment", 2.0);
    is(&df, "A", "csm_sentiment_points", 25.0);
    is(&df, "A", "days_since_pulse", 10.0);
    // B: only a stale pulse (120 days): skipped, but its age is shown.
    is_null(&df, "B", "csm_sentiment");
    is_null(&df, "B", "csm_sentiment_points");
    is(&df, "B", "days_since_pulse", 120.0);
    // C: two pulses on the same day: the larger value, 4 → 75 points.
    is(&df, "C", "csm_sentiment", 4.0);
    is(&df, "C", "csm_sentiment_points", 75.0);
    // E: no pulse at all.
    is_null(&df, "E", "csm_sentiment");
    is_null(&df, "E", "days_since_pulse");
    // A's score: adoption 5 (weight 50); sentiment = csm only (no NPS) = 25
    // (weight 50): (5 · 50 + 25 · 50)/100 = 15. B: sentiment missing, so
    // adoption alone: 5.
    is(&df, "A", "score", 15.0);
    is(&df, "B", "score", 5.0);
    assert_eq!(run.manifest()["tables"]["csm_pulse"]["rows_used"], 5);
}
