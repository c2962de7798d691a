//! Further scoring rules pinned by hand from the SPEC: the summary table's
//! mrr, mean_score and share (§6), duplicate usage rows adding up (§2), the
//! percentile population (§3, §4, §8 accounts filter) and the missing
//! policies of the default pipeline (§5). D = 2026-11-24; "day k" means
//! D − k. Every expected value is worked out in the comment beside it.

use crate::common;
use crate::fixture;
use common::*;
use fixture::*;
use polars::prelude::DataType;

/// Runs `pipelines/default.toml` on `data` as of D; returns the temporary
/// folder (kept alive) and the scores table.
fn run_default(data: &Data) -> (tempfile::TempDir, polars::prelude::DataFrame) {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    data.write(&input);
    let out = tmp.path().join("out");
    let pipeline = repo().join("pipelines/default.toml");
    let r = healthscore(&[
        "run",
        "--pipeline",
        pipeline.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--as-of",
        D,
    ]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let df = read_parquet(&out.join("scores/snapshot_date=2026-11-24"));
    (tmp, df)
}

// ---------------------------------------------------------------------------
// 1. Summary: mrr, mean_score, share per (scorecard, band)
// ---------------------------------------------------------------------------

/// One expected summary row: scorecard, band, accounts, mean_score, mrr,
/// share.
type SummaryRow = (&'static str, &'static str, f64, Option<f64>, f64, f64);

#[test]
fn summary_mrr_sums_mrr_latest_per_scorecard_and_band_and_is_zero_when_all_null() {
    // The score is onboarding_completion_pct (linear 0-100, one group), so
    // each account's band is chosen by its pct; mrr_latest is
    // last(revenue.mrr by month, 90d), the metric the summary sums.
    let text = format!(
        r#"{}
[[groups]]
name = "g"

[[metrics]]
name = "mrr_latest"
table = "revenue"
agg = "last"
column = "mrr"
window_days = 90

[[metrics]]
name = "pct"
group = "g"
account = "onboarding_completion_pct"
normalize = {{ linear = [0, 100] }}

[[scorecards]]
name = "ent"
when = "segment = 'enterprise'"
weights = {{ g = 1 }}

[[scorecards]]
name = "rest"
weights = {{ g = 1 }}
"#,
        header(&[])
    );
    let ent = |id| acc(id).segment("enterprise");
    let data = Data {
        accounts: vec![
            ent("E1").pct(Some(90.0)), // 90 → Thriving
            ent("E2").pct(Some(85.0)), // 85 → Thriving
            ent("E3").pct(Some(30.0)), // 30 → Critical, no revenue row
            ent("E4").pct(Some(20.0)), // 20 → Critical, revenue only before the window
            acc("R1").pct(Some(50.0)), // 50 → At-Risk
            acc("R2").pct(Some(60.0)), // 60 → At-Risk, no revenue
            acc("R3").pct(Some(70.0)), // 70 → Healthy, no revenue
            acc("R4").pct(None),       // null pct → no present group → Unscored
        ],
        // 90-day window: D − 90 = 2026-08-26 < month ≤ D, so 09-01, 10-01
        // and 11-01 are in, 08-01 is not.
        revenue: vec![
            ("E1", (2026, 9, 1), 100.0, 0),
            ("E1", (2026, 11, 1), 300.0, 0), // last month in the window → 300
            ("E2", (2026, 8, 1), 9999.0, 0), // outside the window
            ("E2", (2026, 10, 1), 250.5, 0), // → 250.5
            ("E4", (2026, 8, 1), 777.0, 0),  // outside → E4's mrr_latest is null
            ("R1", (2026, 11, 1), 40.0, 0),  // → 40
            ("R4", (2026, 10, 1), 10.0, 0),  // → 10
        ],
        ..Default::default()
    };
    let (run, scores) = run_ok(&text, &data);
    is(&scores, "E1", "mrr_latest", 300.0);
    is(&scores, "E2", "mrr_latest", 250.5);
    is_null(&scores, "E3", "mrr_latest");
    is_null(&scores, "E4", "mrr_latest");
    is_str(&scores, "R4", "band", Some("Unscored"));

    let sm = read_parquet(
        &run.out_dir()
            .join("summary/snapshot_date=2026-11-24/part-00000.parquet"),
    );
    assert_eq!(sm.column("accounts").unwrap().dtype(), &DataType::Int64);
    assert_eq!(sm.column("mrr").unwrap().dtype(), &DataType::Float64);
    assert_eq!(sm.column("mean_score").unwrap().dtype(), &DataType::Float64);
    assert_eq!(sm.column("share").unwrap().dtype(), &DataType::Float64);
    // 8 accounts in the snapshot. Rows: scorecards in declared order (ent,
    // rest), bands in declared order, Unscored last.
    // (scorecard, band, accounts, mean_score, mrr, share)
    let expected: Vec<SummaryRow> = vec![
        // E3 30, E4 20: mean (30 + 20)/2 = 25; both mrr null → 0.0; 2/8.
        ("ent", "Critical", 2.0, Some(25.0), 0.0, 0.25),
        // E1 90, E2 85: mean 87.5; mrr 300 + 250.5 = 550.5; 2/8.
        ("ent", "Thriving", 2.0, Some(87.5), 550.5, 0.25),
        // R1 50, R2 60: mean 55; mrr 40 + null = 40; 2/8.
        ("rest", "At-Risk", 2.0, Some(55.0), 40.0, 0.25),
        // R3 70: mean 70; its only mrr is null → 0.0; 1/8.
        ("rest", "Healthy", 1.0, Some(70.0), 0.0, 0.125),
        // R4: mean_score null for Unscored; mrr 10; 1/8.
        ("rest", "Unscored", 1.0, None, 10.0, 0.125),
    ];
    assert_eq!(sm.height(), expected.len(), "{sm}");
    for (i, (card, band, n, mean, mrr, share)) in expected.into_iter().enumerate() {
        assert_eq!(s(&sm, "scorecard", i).as_deref(), Some(card), "row {i}");
        assert_eq!(s(&sm, "band", i).as_deref(), Some(band), "row {i}");
        close(f(&sm, "accounts", i), n, &format!("{card}/{band} accounts"));
        match mean {
            Some(m) => close(
                f(&sm, "mean_score", i),
                m,
                &format!("{card}/{band} mean_score"),
            ),
            None => assert_eq!(f(&sm, "mean_score", i), None, "{card}/{band} mean_score"),
        }
        // 0.0, never null, when every mrr_latest of the row is null.
        close(f(&sm, "mrr", i), mrr, &format!("{card}/{band} mrr"));
        close(f(&sm, "share", i), share, &format!("{card}/{band} share"));
    }
}

// ---------------------------------------------------------------------------
// 2. Duplicate usage rows add up
// ---------------------------------------------------------------------------

#[test]
fn duplicate_usage_rows_add_up_in_sums_and_counts() {
    let text = format!(
        r#"{}
[[groups]]
name = "g"

[[metrics]]
name = "login_rows_30d"
table = "usage"
agg = "count"
filter = "feature = 'login'"
window_days = 30

[[metrics]]
name = "login_days_30d"
table = "usage"
agg = "count_distinct"
column = "date"
filter = "feature = 'login'"
window_days = 30

[[metrics]]
name = "login_mean_30d"
table = "usage"
agg = "mean"
column = "events"
filter = "feature = 'login'"
window_days = 30

[[metrics]]
name = "logins_30d"
group = "g"
table = "usage"
agg = "sum"
column = "events"
filter = "feature = 'login'"
window_days = 30
normalize = {{ linear = [0, 100] }}

[[scorecards]]
name = "all"
weights = {{ g = 1 }}
"#,
        header(&[])
    );
    let data = Data {
        accounts: vec![acc("A"), acc("B")],
        usage: vec![
            ("A", 3, "login", 7, 2),
            ("A", 3, "login", 7, 2), // the same (customer, day, feature) again
            ("A", 5, "login", 4, 1),
            ("B", 3, "login", 7, 2), // B: the row once
        ],
        ..Default::default()
    };
    let (run, df) = run_ok(&text, &data);
    // A: 7 + 7 + 4 = 18 (the duplicate counts); B: 7.
    is(&df, "A", "logins_30d", 18.0);
    is(&df, "B", "logins_30d", 7.0);
    // linear(0, 100): 100·18/100 = 18 and 100·7/100 = 7; the only metric.
    is(&df, "A", "logins_30d_points", 18.0);
    is(&df, "A", "score", 18.0);
    is(&df, "B", "logins_30d_points", 7.0);
    // count(rows): both copies → 3 for A, 1 for B.
    is(&df, "A", "login_rows_30d", 3.0);
    is(&df, "B", "login_rows_30d", 1.0);
    // distinct days: {D − 3, D − 5} = 2; mean of events 18 / 3 rows = 6.
    is(&df, "A", "login_days_30d", 2.0);
    is(&df, "A", "login_mean_30d", 6.0);
    // No uniqueness check on usage: nothing rejected, all 4 rows used.
    let m = run.manifest();
    assert_eq!(m["tables"]["usage"]["rows_read"], 4);
    assert_eq!(m["tables"]["usage"]["rows_used"], 4);
}

// ---------------------------------------------------------------------------
// 3. The percentile population
// ---------------------------------------------------------------------------

#[test]
fn percentile_population_leaves_out_filtered_accounts_and_not_yet_customers() {
    let text = format!(
        r#"{}
[accounts]
extra_columns = ["x"]
filter = "segment != 'internal'"

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
name = "all"
weights = {{ hi = 1, lo = 1 }}
"#,
        header(&[])
    );
    let x = |id, v: f64| acc(id).x("x", Some(v));
    let data = Data {
        accounts: vec![
            // Eligible: the population, n = 4.
            x("A", 10.0),
            x("B", 20.0),
            x("C", 30.0),
            x("D", 40.0),
            // Excluded by the filter: segment 'internal', and a null
            // segment (a filter on null is false). Their values sit between
            // and below the eligible ones, so they would shift every rank.
            x("F1", 15.0).segment("internal"),
            x("F2", 5.0).segment("internal"),
            Account {
                segment: None,
                ..x("F3", 35.0)
            },
            // Not yet customers: signup D + 3 and D + 1.
            x("N1", 25.0).signup(Some(-3)),
            x("N2", 1.0).signup(Some(-1)),
        ],
        ..Default::default()
    };
    let (run, df) = run_ok(&text, &data);
    let ids: Vec<Option<String>> = (0..df.height()).map(|i| s(&df, "customer_id", i)).collect();
    assert_eq!(
        ids,
        ["A", "B", "C", "D"].map(|i| Some(i.to_string())).to_vec()
    );
    // Population {10, 20, 30, 40}, n = 4, points = 100·(m − 1)/3.
    // higher is better, m = #{v ≤ x}: A 1 → 0, B 2 → 33.33, C 3 → 66.67, D 4 → 100.
    // lower is better,  m = #{v ≥ x}: A 4 → 100, B 3 → 66.67, C 2 → 33.33, D 1 → 0.
    // (With the 5 left-out values in, n = 9 and e.g. A would get
    // hib 100·(3 − 1)/8 = 25.)
    let expected = [
        ("A", 0.0, 100.0),
        ("B", 100.0 / 3.0, 200.0 / 3.0),
        ("C", 200.0 / 3.0, 100.0 / 3.0),
        ("D", 100.0, 0.0),
    ];
    for (id, hib, lib) in expected {
        is(&df, id, "hib_points", hib);
        is(&df, id, "lib_points", lib);
        // score_raw = (hib + lib)/2 = 50 for each, as the two mirror.
        is(&df, id, "score_raw", 50.0);
    }
    let a = &run.manifest()["tables"]["accounts"];
    assert_eq!(a["excluded_by_filter"], 3, "F1, F2, F3");
    assert_eq!(a["not_yet_customers"], 2, "N1, N2");
    assert_eq!(a["rows_used"], 4);
}

// ---------------------------------------------------------------------------
// 4. default.toml's missing policies (SPEC §5)
// ---------------------------------------------------------------------------

#[test]
fn default_pipeline_missing_policies_neutral_trend_worst_onboarding_and_seats() {
    let data = Data {
        // smb, signed up 400 days before D → scorecard `standard`
        // (weights adoption 25, sentiment 20, churn_risk 20, support 15,
        // onboarding 10, engagement 5, revenue 5).
        accounts: vec![
            acc("T"),             // no usage in the prior 30 days
            acc("P").pct(None),   // null onboarding_completion_pct
            acc("S").seats(None), // null seats
        ],
        // A login day at D for each (the lag guard: latest date ≥ D − 3);
        // P and S also logged in 40 days before D (the prior 30 days).
        usage: vec![
            ("T", 0, "login", 100, 4),
            ("P", 0, "login", 100, 4),
            ("P", 40, "login", 100, 4),
            ("S", 0, "login", 100, 4),
            ("S", 40, "login", 100, 4),
        ],
        ..Default::default()
    };
    let (_tmp, df) = run_default(&data);
    for id in ["T", "P", "S"] {
        is_str(&df, id, "scorecard", Some("standard"));
    }

    // T: logins_prev_30d = 0 → login_trend = 100/0 is null → neutral 50.
    is(&df, "T", "logins_30d", 100.0);
    is(&df, "T", "logins_prev_30d", 0.0);
    is_null(&df, "T", "login_trend");
    is(&df, "T", "login_trend_points", 50.0);
    // P and S: 100/100 = 1 → 100·(1 − 0.5)/0.7 = 500/7 (observed, not imputed).
    is(&df, "P", "login_trend", 1.0);
    is(&df, "P", "login_trend_points", 500.0 / 7.0);
    // No revenue: mrr_change and max dpd skip, so churn_risk = the trend alone.
    is(&df, "T", "churn_risk_score", 50.0);

    // P: null pct → onboarding_pct raw null, worst 0 → onboarding group 0.
    is_null(&df, "P", "onboarding_pct");
    is(&df, "P", "onboarding_pct_points", 0.0);
    is(&df, "P", "onboarding_score", 0.0);

    // S: null seats → seat_utilization_30d = 4/null is null, worst 0;
    // logins_per_seat_30d = 100/null is null too, but skip → null points.
    is_null(&df, "S", "seat_utilization_30d");
    is(&df, "S", "seat_utilization_30d_points", 0.0);
    is(&df, "S", "engagement_score", 0.0);
    is_null(&df, "S", "logins_per_seat_30d");
    is_null(&df, "S", "logins_per_seat_30d_points");
    // ... while T (10 seats) has 4/10 = 0.4 → 100·0.4/0.8 = 50.
    is(&df, "T", "seat_utilization_30d", 0.4);
    is(&df, "T", "seat_utilization_30d_points", 50.0);

    // T's score by hand:
    // adoption: logins/seat 100/10 = 10 → 50; breadth 0 → 0; active days 1
    //   → 100·1/20 = 5; (50 + 0 + 5)/3 = 55/3.
    // sentiment: no survey → missing. churn_risk: 50 (above).
    // support: tickets 0 for all three → percentile m = n = 3 → 100;
    //   urgent share 0/0 null → best 100; → 100.
    // onboarding: pct 50 → 50. engagement: 50. revenue: no mrr → missing.
    // score_raw = (25·55/3 + 20·50 + 15·100 + 10·50 + 5·50)/(25+20+15+10+5)
    //           = (1375/3 + 1000 + 1500 + 500 + 250)/75 = (11125/3)/75 = 445/9
    //           = 49.44 → 49, At-Risk.
    is(&df, "T", "adoption_score", 55.0 / 3.0);
    is_null(&df, "T", "sentiment_score");
    is(&df, "T", "support_score", 100.0);
    is_null(&df, "T", "revenue_score");
    is(&df, "T", "score_raw", 445.0 / 9.0);
    is(&df, "T", "score", 49.0);
    is_str(&df, "T", "band", Some("At-Risk"));
    // completeness: observed share per group, weighted by group weights
    // over all 7 (Σw = 100): adoption 3/3, sentiment 0/2, churn_risk 0/3
    // (the trend is imputed), support 1/2 (urgent share imputed),
    // onboarding 1/1, engagement 1/1, revenue 0/1:
    // (25 + 0 + 0 + 7.5 + 10 + 5 + 0)/100 = 0.475.
    is(&df, "T", "completeness", 0.475);
}
