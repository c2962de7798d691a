//! The default pipeline end to end on one enterprise account whose every
//! metric, group, score, band, driver and playbook is worked out by hand
//! below from SPEC §4-§5.

use crate::common;
use common::*;
use polars::prelude::*;

fn fixture(dir: &std::path::Path) {
    let accounts = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), ["A1"]),
        Column::new("name".into(), ["Acme"]),
        Column::new("segment".into(), ["enterprise"]),
        date_col("signup_date", &[Some(1000)]),
        Column::new("seats".into(), [10i64]),
        Column::new("onboarding_completion_pct".into(), [80.0f64]),
    ])
    .unwrap();
    write_parquet(dir, "accounts/part-0.parquet", accounts);

    // (days before D, feature, events, users)
    let rows: Vec<(i64, &str, i64, i64)> = vec![
        (0, "login", 100, 6),
        (10, "login", 50, 8),
        (40, "login", 100, 9), // previous 30 days
        (1, "reports", 5, 2),
        (2, "api", 0, 1),     // events 0: not a used feature, not an active day
        (35, "export", 7, 1), // outside 30 days
    ];
    let usage = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), vec!["A1"; rows.len()]),
        date_col("date", &rows.iter().map(|r| Some(r.0)).collect::<Vec<_>>()),
        Column::new(
            "feature".into(),
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        ),
        Column::new(
            "events".into(),
            rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        ),
        Column::new("users".into(), rows.iter().map(|r| r.3).collect::<Vec<_>>()),
    ])
    .unwrap();
    write_parquet(dir, "usage/part-0.parquet", usage);

    let tickets = DataFrame::new_infer_height(vec![
        Column::new("ticket_id".into(), ["T1", "T2", "T3"]),
        Column::new("customer_id".into(), ["A1", "A1", "A1"]),
        ts_col("opened_at", &[Some(3), Some(20), Some(60)]),
        ts_col("closed_at", &[None, Some(19), Some(59)]),
        Column::new("priority".into(), ["urgent", "normal", "high"]),
    ])
    .unwrap();
    write_parquet(dir, "support_tickets/part-0.parquet", tickets);

    let surveys = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), ["A1", "A1"]),
        ts_col("responded_at", &[Some(5), Some(100)]),
        Column::new("kind".into(), ["nps", "nps"]),
        Column::new("score".into(), [9i64, 7]),
    ])
    .unwrap();
    write_parquet(dir, "survey_responses/part-0.parquet", surveys);

    // Months: 2026-09-01, 2026-10-01, 2026-11-01 are inside (D-90, D];
    // 2026-08-01 is not.
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let month =
        |m: u32| (chrono::NaiveDate::from_ymd_opt(2026, m, 1).unwrap() - epoch).num_days() as i32;
    let revenue = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), ["A1", "A1", "A1", "A1"]),
        Series::new("month".into(), [month(8), month(9), month(10), month(11)])
            .cast(&DataType::Date)
            .unwrap()
            .into_column(),
        Column::new("mrr".into(), [500.0f64, 1000.0, 1100.0, 1200.0]),
        Column::new("days_past_due".into(), [90i64, 0, 20, 5]),
    ])
    .unwrap();
    write_parquet(dir, "revenue/part-0.parquet", revenue);
}

/// Writes the fixture under `dir/in` and runs the default pipeline on it
/// as of D into `output`.
fn run_fixture(dir: &std::path::Path, output: &std::path::Path) -> Out {
    let input = dir.join("in");
    fixture(&input);
    let pipeline = repo().join("pipelines/default.toml");
    healthscore(&[
        "run",
        "--pipeline",
        pipeline.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--as-of",
        D,
    ])
}

#[test]
fn one_enterprise_account_scored_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let output = tmp.path().join("out");
    let r = run_fixture(tmp.path(), &output);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let df = read_parquet(&output.join("scores/snapshot_date=2026-11-24"));
    assert_eq!(df.height(), 1);
    let i = row_of(&df, "A1");

    // adoption: logins 150 / 10 seats = 15 → 75; breadth 1 feature → 12.5;
    // active days {D, D-1, D-10} = 3 → 15.
    close(f(&df, "logins_30d", i), 150.0, "logins_30d");
    close(f(&df, "logins_prev_30d", i), 100.0, "logins_prev_30d");
    close(
        f(&df, "logins_per_seat_30d", i),
        15.0,
        "logins_per_seat_30d",
    );
    close(
        f(&df, "logins_per_seat_30d_points", i),
        75.0,
        "logins_per_seat points",
    );
    close(f(&df, "feature_breadth_30d", i), 1.0, "feature_breadth_30d");
    close(
        f(&df, "feature_breadth_30d_points", i),
        12.5,
        "feature_breadth points",
    );
    close(f(&df, "active_days_30d", i), 3.0, "active_days_30d");
    close(
        f(&df, "active_days_30d_points", i),
        15.0,
        "active_days points",
    );
    close(
        f(&df, "adoption_score", i),
        (75.0 + 12.5 + 15.0) / 3.0,
        "adoption",
    );
    // sentiment: nps mean(9, 7) = 8 → 80; no csat → skipped.
    close(f(&df, "nps_180d", i), 8.0, "nps");
    assert_eq!(f(&df, "csat_180d", i), None);
    assert_eq!(f(&df, "csat_180d_points", i), None);
    close(f(&df, "sentiment_score", i), 80.0, "sentiment");
    // churn risk: trend 1.5 → 100; mrr 1200/1000 = 1.2 → 100; max dpd 20 → 50.
    close(f(&df, "login_trend", i), 1.5, "login_trend");
    close(f(&df, "login_trend_points", i), 100.0, "login_trend points");
    close(f(&df, "mrr_latest", i), 1200.0, "mrr_latest");
    close(f(&df, "mrr_first", i), 1000.0, "mrr_first");
    close(f(&df, "mrr_change_90d", i), 1.2, "mrr_change");
    close(f(&df, "max_days_past_due_90d", i), 20.0, "max dpd");
    close(
        f(&df, "max_days_past_due_90d_points", i),
        50.0,
        "max dpd points",
    );
    close(f(&df, "churn_risk_score", i), 250.0 / 3.0, "churn_risk");
    // support: 2 tickets in 30 days, alone in its scorecard → 100;
    // urgent share 2/3 → linear(0.5, 0) clamps to 0.
    close(f(&df, "tickets_30d", i), 2.0, "tickets_30d");
    close(
        f(&df, "tickets_30d_points", i),
        100.0,
        "tickets points (n = 1)",
    );
    close(f(&df, "urgent_share_90d", i), 2.0 / 3.0, "urgent share");
    close(
        f(&df, "urgent_share_90d_points", i),
        0.0,
        "urgent share points",
    );
    close(f(&df, "support_score", i), 50.0, "support");
    close(f(&df, "onboarding_score", i), 80.0, "onboarding");
    // engagement: max login users 8 / 10 seats = 0.8 → 100.
    close(f(&df, "seat_utilization_30d", i), 0.8, "seat utilization");
    close(f(&df, "engagement_score", i), 100.0, "engagement");
    close(f(&df, "revenue_score", i), 100.0, "revenue (n = 1)");

    // enterprise weights 20,25,20,20,5,5,5:
    // (20·34.1667 + 25·80 + 20·83.3333 + 20·50 + 5·80 + 5·100 + 5·100)/100 = 67.5
    assert_eq!(s(&df, "scorecard", i).as_deref(), Some("enterprise"));
    close(f(&df, "score_raw", i), 67.5, "score_raw");
    assert_eq!(
        f(&df, "score", i),
        Some(68.0),
        "67.5 rounds half away from zero"
    );
    assert_eq!(s(&df, "band", i).as_deref(), Some("Healthy"));
    assert_eq!(s(&df, "color", i).as_deref(), Some("green"));
    // csat (weight 1 of 2 in sentiment) is the only unobserved metric:
    // (100 − 25·0.5)/100.
    close(f(&df, "completeness", i), 0.875, "completeness");
    // losses: urgent_share 100·0.20·1/2 = 10; feature_breadth 87.5·0.20/3 = 5.833;
    // active_days 85·0.20/3 = 5.667; nps 20·0.25 = 5; dpd 50·0.2/3 = 3.33.
    assert_eq!(
        s(&df, "top_drivers", i).as_deref(),
        Some("urgent_share_90d,feature_breadth_30d,active_days_30d")
    );
    assert_eq!(
        s(&df, "playbook", i).as_deref(),
        Some("support-escalation-review")
    );
    assert_eq!(s(&df, "trend", i).as_deref(), Some("new"));
    assert_eq!(f(&df, "prev_score", i), None);
    assert_eq!(s(&df, "model_version", i).as_deref(), Some("default@1"));
    assert_eq!(
        df.width(),
        53,
        "SPEC §6: 53 columns for the default pipeline"
    );
}

#[test]
fn the_long_metrics_table_holds_each_scored_metric_of_the_account() {
    let tmp = tempfile::tempdir().unwrap();
    let output = tmp.path().join("out");
    let r = run_fixture(tmp.path(), &output);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let folder = output.join("metrics/snapshot_date=2026-11-24");
    assert!(folder.join("_SUCCESS").exists(), "committed with the date");
    let df = read_parquet(&folder);
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "customer_id",
            "scorecard",
            "group",
            "metric",
            "raw",
            "points",
            "loss",
            "model_version"
        ]
    );
    // The 13 scored metrics of SPEC §5 in pipeline order (helpers such as
    // logins_30d are not scored, so not here). Enterprise weights 20, 25,
    // 20, 20, 5, 5, 5; every group present, so Σ present w = 100 and
    // loss = (100 − points) · w_g/100 · 1/(present metrics of the group).
    let third = 1.0 / 3.0;
    // (group, metric, raw, points, loss)
    type Row = (
        &'static str,
        &'static str,
        Option<f64>,
        Option<f64>,
        Option<f64>,
    );
    let expected: Vec<Row> = vec![
        (
            "adoption",
            "logins_per_seat_30d",
            Some(15.0),
            Some(75.0),
            Some(25.0 * 0.20 * third),
        ),
        (
            "adoption",
            "feature_breadth_30d",
            Some(1.0),
            Some(12.5),
            Some(87.5 * 0.20 * third),
        ),
        (
            "adoption",
            "active_days_30d",
            Some(3.0),
            Some(15.0),
            Some(85.0 * 0.20 * third),
        ),
        // csat absent: nps is the group's only present metric.
        (
            "sentiment",
            "nps_180d",
            Some(8.0),
            Some(80.0),
            Some(20.0 * 0.25),
        ),
        ("sentiment", "csat_180d", None, None, None),
        (
            "churn_risk",
            "login_trend",
            Some(1.5),
            Some(100.0),
            Some(0.0),
        ),
        (
            "churn_risk",
            "mrr_change_90d",
            Some(1.2),
            Some(100.0),
            Some(0.0),
        ),
        (
            "churn_risk",
            "max_days_past_due_90d",
            Some(20.0),
            Some(50.0),
            Some(50.0 * 0.20 * third),
        ),
        ("support", "tickets_30d", Some(2.0), Some(100.0), Some(0.0)),
        (
            "support",
            "urgent_share_90d",
            Some(2.0 / 3.0),
            Some(0.0),
            Some(100.0 * 0.20 / 2.0),
        ),
        (
            "onboarding",
            "onboarding_pct",
            Some(80.0),
            Some(80.0),
            Some(20.0 * 0.05),
        ),
        (
            "engagement",
            "seat_utilization_30d",
            Some(0.8),
            Some(100.0),
            Some(0.0),
        ),
        (
            "revenue",
            "mrr_percentile",
            Some(1200.0),
            Some(100.0),
            Some(0.0),
        ),
    ];
    assert_eq!(df.height(), expected.len());
    for (i, (group, metric, raw, points, loss)) in expected.into_iter().enumerate() {
        assert_eq!(s(&df, "customer_id", i).as_deref(), Some("A1"));
        assert_eq!(s(&df, "scorecard", i).as_deref(), Some("enterprise"));
        assert_eq!(s(&df, "group", i).as_deref(), Some(group), "row {i}");
        assert_eq!(s(&df, "metric", i).as_deref(), Some(metric), "row {i}");
        assert_eq!(s(&df, "model_version", i).as_deref(), Some("default@1"));
        for (column, want) in [("raw", raw), ("points", points), ("loss", loss)] {
            match want {
                // losses are rounded to 9 decimals (SPEC §4)
                Some(v) => close(f(&df, column, i), v, &format!("{metric} {column}")),
                None => assert_eq!(f(&df, column, i), None, "{metric} {column}"),
            }
        }
    }
}
