use super::*;

#[test]
fn data_after_as_of_is_ignored_and_counted_before_validation() {
    let metrics = [
        agg("ev_all", "usage", "sum", Some("events"), ""),
        agg("tickets_all", "support_tickets", "count", None, ""),
        agg("nps_all", "survey_responses", "mean", Some("score"), ""),
        agg("mrr_last", "revenue", "last", Some("mrr"), ""),
    ]
    .concat();
    let data = Data {
        accounts: vec![acc("A")],
        usage: vec![
            ("A", 2, "login", 5, 1),
            ("A", -1, "login", 1000, 1),
            // After D with a value that breaks a rule: dropped first, so
            // neither rejected nor counted against max_rejected_share.
            ("A", -2, "login", -5, 1),
        ],
        tickets: vec![("T1", "A", 3, None, "low"), ("T2", "A", -1, None, "urgent")],
        surveys: vec![
            ("A", 3, "nps", 8),
            ("A", -3, "nps", 0),
            ("A", -4, "nps", 42),
        ],
        revenue: vec![
            ("A", (2026, 11, 1), 100.0, 0),
            ("A", (2026, 12, 1), 9000.0, 0), // month after D
        ],
    };
    let (run, df) = run_ok(&pipeline(&metrics), &data);
    is(&df, "A", "ev_all", 5.0);
    is(&df, "A", "tickets_all", 1.0);
    is(&df, "A", "nps_all", 8.0);
    is(&df, "A", "mrr_last", 100.0); // 2026-12-01 is after D
    let t = &run.manifest()["tables"];
    assert_eq!(t["usage"]["after_as_of"], 2);
    assert_eq!(t["support_tickets"]["after_as_of"], 1);
    assert_eq!(t["survey_responses"]["after_as_of"], 2);
    assert_eq!(t["revenue"]["after_as_of"], 1);
    let rejected = &t["usage"]["rejected"];
    assert!(
        rejected.get("negative_events").is_none_or(|v| v == 0),
        "a row after D is never rejected: {rejected}"
    );
    assert!(
        t["survey_responses"]["rejected"]
            .get("nps_out_of_range")
            .is_none_or(|v| v == 0),
        "a row after D is never rejected"
    );
    assert_eq!(t["usage"]["rows_used"], 1);
    assert_eq!(t["revenue"]["rows_used"], 1);
}

#[test]
fn accounts_signed_up_after_d_are_left_out_and_counted() {
    let metrics = [
        agg("ev_all", "usage", "sum", Some("events"), ""),
        agg("tickets_all", "support_tickets", "count", None, ""),
    ]
    .concat();
    let data = Data {
        accounts: vec![
            acc("Z").signup(Some(-5)), // D + 5
            acc("Y").signup(Some(-1)), // D + 1
            acc("S").signup(Some(0)),  // on D: a customer, tenure 0
            acc("O"),
        ],
        // Rows of not-yet customers are not orphans.
        usage: vec![("Z", 0, "login", 3, 1), ("S", 0, "login", 4, 1)],
        tickets: vec![("T1", "Y", 1, None, "low")],
        ..Default::default()
    };
    let (run, df) = run_ok(&pipeline(&metrics), &data);
    let ids: Vec<Option<String>> = (0..df.height()).map(|i| s(&df, "customer_id", i)).collect();
    assert_eq!(ids, vec![Some("O".into()), Some("S".into())]);
    is(&df, "S", "ev_all", 4.0);
    let t = &run.manifest()["tables"];
    assert_eq!(t["accounts"]["not_yet_customers"], 2);
    assert_eq!(t["accounts"]["rows_read"], 4);
    assert_eq!(t["usage"]["orphaned"]["unknown_customer_id"], 0);
    assert_eq!(t["support_tickets"]["orphaned"]["unknown_customer_id"], 0);
}

#[test]
fn null_signup_date_is_scored_with_null_tenure_and_tenure_predicates_false() {
    let text = format!(
        r#"{}
[[groups]]
name = "g"

[[metrics]]
name = "tenure"
account = "tenure_days"

[[metrics]]
name = "seats_m"
group = "g"
account = "seats"
normalize = {{ linear = [0, 100] }}

[[scorecards]]
name = "new"
when = "tenure_days < 90"
weights = {{ g = 1 }}

[[scorecards]]
name = "notnew"
when = "not (tenure_days < 90)"
weights = {{ g = 1 }}

[[scorecards]]
name = "rest"
weights = {{ g = 1 }}
"#,
        header(&[])
    );
    let data = Data {
        accounts: vec![
            acc("N").signup(None),
            acc("S").signup(Some(0)),
            acc("M").signup(Some(89)),
            acc("O").signup(Some(90)),
        ],
        ..Default::default()
    };
    let (run, df) = run_ok(&text, &data);
    assert_eq!(df.height(), 4, "a null signup_date is kept");
    is_null(&df, "N", "tenure");
    is(&df, "S", "tenure", 0.0); // D − D
    is(&df, "M", "tenure", 89.0);
    is(&df, "O", "tenure", 90.0);
    is_str(&df, "S", "scorecard", Some("new"));
    is_str(&df, "M", "scorecard", Some("new")); // 89 < 90
    is_str(&df, "O", "scorecard", Some("notnew")); // 90 is not < 90
                                                   // Null tenure: both `tenure_days < 90` and its negation are false.
    is_str(&df, "N", "scorecard", Some("rest"));
    is(&df, "N", "score", 10.0); // 10 seats → linear(0, 100) → 10
    assert_eq!(run.manifest()["tables"]["accounts"]["not_yet_customers"], 0);
}

#[test]
fn revenue_month_is_truncated_to_the_first_of_its_month() {
    // D − 54 = 2026-10-01 and D − 55 = 2026-09-30; D − 90 = 2026-08-26.
    let metrics = [
        agg(
            "mrr_54d",
            "revenue",
            "sum",
            Some("mrr"),
            "window_days = 54\n",
        ),
        agg(
            "mrr_55d",
            "revenue",
            "sum",
            Some("mrr"),
            "window_days = 55\n",
        ),
        agg(
            "mrr_90d",
            "revenue",
            "sum",
            Some("mrr"),
            "window_days = 90\n",
        ),
        agg(
            "months_90d",
            "revenue",
            "count_distinct",
            Some("month"),
            "window_days = 90\n",
        ),
        agg("latest_month", "revenue", "max", Some("month"), ""),
    ]
    .concat();
    let data = Data {
        accounts: vec![acc("A")],
        revenue: vec![
            ("A", (2026, 8, 27), 1.0, 0),    // → 2026-08-01: outside 90 days
            ("A", (2026, 9, 1), 10.0, 0),    // → 2026-09-01
            ("A", (2026, 10, 15), 100.0, 0), // → 2026-10-01
            ("A", (2026, 10, 1), 5.0, 0),
            ("A", (2026, 11, 30), 1000.0, 0), // → 2026-11-01: not after D
        ],
        ..Default::default()
    };
    let (run, df) = run_ok(&pipeline(&metrics), &data);
    // 54 days: 2026-10-01 < e ≤ D: only 2026-11-01 (the 10-15 row counts as 10-01).
    is(&df, "A", "mrr_54d", 1000.0);
    // 55 days: 2026-09-30 < e: 2026-10-01 (100 + 5) and 2026-11-01.
    is(&df, "A", "mrr_55d", 1105.0);
    // 90 days: 2026-08-26 < e: 09-01, 10-01, 11-01 (08-27 counts as 08-01).
    is(&df, "A", "mrr_90d", 1115.0); // 10 + 100 + 5 + 1000
                                     // month values are first-of-month day numbers: 10-15 and 10-01 are one
                                     // month, so {09-01, 10-01, 11-01} = 3.
    is(&df, "A", "months_90d", 3.0);
    // The latest month is 2026-11-01 (not 11-30): day 20781 − 23 = 20758.
    is(&df, "A", "latest_month", 20758.0);
    assert_eq!(run.manifest()["tables"]["revenue"]["after_as_of"], 0);
}

#[test]
fn timestamps_are_dated_by_their_utc_calendar_day() {
    let metrics = [
        agg(
            "tickets_30d",
            "support_tickets",
            "count",
            None,
            "window_days = 30\n",
        ),
        agg(
            "usage_1d",
            "usage",
            "sum",
            Some("events"),
            "window_days = 1\n",
        ),
    ]
    .concat();
    let data = Data {
        accounts: vec![acc("A")],
        ..Default::default()
    };
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let d = (day(0) - epoch).num_days(); // D's day number
    const MS_DAY: i64 = 86_400_000;
    const MS_HOUR: i64 = 3_600_000;
    let opened_ms: Vec<i64> = vec![
        (d - 30) * MS_DAY + MS_DAY - 1, // D − 30 23:59:59.999 UTC: out of 30 days
        (d - 29) * MS_DAY,              // D − 29 00:00 UTC: in
        d * MS_DAY + MS_DAY - 1_000,    // D 23:59:59 UTC: in
        (d + 1) * MS_DAY,               // D + 1 00:00 UTC: after D
        (d + 1) * MS_DAY + 3 * MS_HOUR, // D 22:00 in New York = D + 1 03:00 UTC: after D
    ];
    let new_york = DataType::Datetime(
        TimeUnit::Milliseconds,
        TimeZone::opt_try_new(Some("America/New_York")).unwrap(),
    );
    const NS_DAY: i64 = 86_400_000_000_000;
    const NS_HOUR: i64 = 3_600_000_000_000;
    let usage_ns: Vec<i64> = vec![
        (d - 1) * NS_DAY + 23 * NS_HOUR, // D − 1 23:00: out of 1 day
        d * NS_DAY + 23 * NS_HOUR,       // D 23:00: in
        (d + 1) * NS_DAY + NS_HOUR,      // D + 1 01:00: after D
    ];
    let run = run_with(&pipeline(&metrics), &data, |dir| {
        let tickets = DataFrame::new_infer_height(vec![
            Column::new("ticket_id".into(), ["T1", "T2", "T3", "T4", "T5"]),
            Column::new("customer_id".into(), ["A"; 5]),
            Series::new("opened_at".into(), opened_ms)
                .cast(&new_york)
                .unwrap()
                .into_column(),
            Series::new("closed_at".into(), vec![None::<i64>; 5])
                .cast(&new_york)
                .unwrap()
                .into_column(),
            Column::new("priority".into(), ["low"; 5]),
        ])
        .unwrap();
        write_parquet(dir, "support_tickets/part-0.parquet", tickets);
        // usage.date as a nanosecond timestamp without time zone (UTC).
        let usage = DataFrame::new_infer_height(vec![
            Column::new("customer_id".into(), ["A"; 3]),
            Series::new("date".into(), usage_ns)
                .cast(&DataType::Datetime(TimeUnit::Nanoseconds, None))
                .unwrap()
                .into_column(),
            Column::new("feature".into(), ["login"; 3]),
            Column::new("events".into(), [1i64, 10, 100]),
            Column::new("users".into(), [1i64, 1, 1]),
        ])
        .unwrap();
        write_parquet(dir, "usage/part-0.parquet", usage);
    });
    assert_eq!(run.result.code, 0, "{}", run.result.stderr);
    let df = run.scores();
    is(&df, "A", "tickets_30d", 2.0); // T2, T3
    is(&df, "A", "usage_1d", 10.0); // the D 23:00 row only
    let t = &run.manifest()["tables"];
    assert_eq!(t["support_tickets"]["after_as_of"], 2); // T4, T5
    assert_eq!(t["usage"]["after_as_of"], 1);
}
