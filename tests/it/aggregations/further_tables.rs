use super::*;

/// The pipeline of `metrics` with a further event table `calls`
/// (crm/calls.parquet, dated by `called_on`), and accounts A and B.
fn with_calls_table(metrics: &str) -> (String, Data) {
    let text = pipeline(metrics).replacen(
        "[sources.revenue]",
        "[sources.calls]\npath = \"crm/calls.parquet\"\ndate = \"called_on\"\n[sources.revenue]",
        1,
    );
    let data = Data {
        accounts: vec![acc("A"), acc("B")],
        ..Default::default()
    };
    (text, data)
}

/// Writes [`with_calls_table`]'s table: per row its account and day
/// (`called_on`, days before D), and the `values` columns.
fn write_calls(dir: &std::path::Path, ids: Vec<&str>, days: Vec<Option<i64>>, values: Vec<Column>) {
    let mut columns = vec![
        Column::new("customer_id".into(), ids),
        date_col("called_on", &days),
    ];
    columns.extend(values);
    let calls = DataFrame::new_infer_height(columns).unwrap();
    write_parquet(dir, "crm/calls.parquet", calls);
}

/// Filters on a further table's nullable integer and string columns: a
/// comparison with a null is false, and so is its NOT (SQL), whether the
/// condition is evaluated by the kernel or by polars (the OR).
#[test]
fn filters_on_nullable_integer_and_string_columns_treat_null_as_false() {
    let metrics = [
        agg("calls", "calls", "count", None, "window_days = 30\n"),
        agg(
            "high",
            "calls",
            "count",
            None,
            "filter = \"level >= 3\"\nwindow_days = 30\n",
        ),
        agg(
            "not_high",
            "calls",
            "count",
            None,
            "filter = \"not (level >= 3)\"\nwindow_days = 30\n",
        ),
        agg(
            "by_email",
            "calls",
            "count",
            None,
            "filter = \"channel = 'email'\"\nwindow_days = 30\n",
        ),
        agg(
            "not_email",
            "calls",
            "count",
            None,
            "filter = \"channel != 'email'\"\nwindow_days = 30\n",
        ),
        agg(
            "high_phone",
            "calls",
            "count",
            None,
            "filter = \"level > 2 and channel = 'phone'\"\nwindow_days = 30\n",
        ),
        agg(
            "high_or_email",
            "calls",
            "count",
            None,
            "filter = \"level >= 3 or channel = 'email'\"\nwindow_days = 30\n",
        ),
        agg(
            "level_sum",
            "calls",
            "sum",
            Some("level"),
            "filter = \"channel != 'email'\"\nwindow_days = 30\n",
        ),
    ]
    .concat();
    let (text, data) = with_calls_table(&metrics);
    // (level, channel), all of account A within the window.
    let rows: Vec<(Option<i32>, Option<&str>)> = vec![
        (Some(5), Some("phone")),
        (Some(1), Some("email")),
        (None, Some("email")),
        (Some(3), None),
        (None, None),
        (Some(2), Some("a-long-channel-name")),
    ];
    let run = run_with(&text, &data, |dir| {
        write_calls(
            dir,
            vec!["A"; rows.len()],
            vec![Some(1); rows.len()],
            vec![
                Column::new("level".into(), rows.iter().map(|r| r.0).collect::<Vec<_>>()),
                Column::new(
                    "channel".into(),
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                ),
            ],
        )
    });
    assert_eq!(run.result.code, 0, "{}", run.result.stderr);
    let df = run.scores();
    is(&df, "A", "calls", 6.0);
    is(&df, "A", "high", 2.0); // 5, 3
    is(&df, "A", "not_high", 2.0); // 1, 2 (nulls: neither)
    is(&df, "A", "by_email", 2.0);
    is(&df, "A", "not_email", 2.0); // phone, the long name (nulls: neither)
    is(&df, "A", "high_phone", 1.0); // 5 by phone
    is(&df, "A", "high_or_email", 4.0); // 5, 1, null-email, 3
    is(&df, "A", "level_sum", 7.0); // 5 (phone) + 2 (long name)
    is(&df, "B", "high", 0.0);
}

#[test]
fn further_event_table_aggregations_ignore_null_values() {
    // A further table of the warehouse (SPEC §2): customer_id, a date column
    // the pipeline names, and a nullable float.
    let metrics = [
        agg("calls", "calls", "count", None, "window_days = 30\n"),
        agg(
            "rating_sum",
            "calls",
            "sum",
            Some("rating"),
            "window_days = 30\n",
        ),
        agg(
            "rating_mean",
            "calls",
            "mean",
            Some("rating"),
            "window_days = 30\n",
        ),
        agg(
            "rating_min",
            "calls",
            "min",
            Some("rating"),
            "window_days = 30\n",
        ),
        agg(
            "rating_max",
            "calls",
            "max",
            Some("rating"),
            "window_days = 30\n",
        ),
        agg(
            "rating_first",
            "calls",
            "first",
            Some("rating"),
            "window_days = 30\n",
        ),
        agg(
            "rating_last",
            "calls",
            "last",
            Some("rating"),
            "window_days = 30\n",
        ),
        agg(
            "ratings",
            "calls",
            "count_distinct",
            Some("rating"),
            "window_days = 30\n",
        ),
        agg(
            "good",
            "calls",
            "count",
            None,
            "filter = \"rating >= 3\"\nwindow_days = 30\n",
        ),
        agg(
            "not_good",
            "calls",
            "count",
            None,
            "filter = \"not (rating >= 3)\"\nwindow_days = 30\n",
        ),
    ]
    .concat();
    let (text, data) = with_calls_table(&metrics);
    // (days before D, rating)
    let rows: Vec<(i64, Option<f64>)> = vec![
        (10, None),     // smallest date, but no value: first skips it
        (3, Some(2.0)), // → first
        (2, None),
        (1, Some(4.0)),  // → last
        (0, None),       // largest date, no value: last skips it
        (-1, Some(9.0)), // after D
    ];
    let run = run_with(&text, &data, |dir| {
        write_calls(
            dir,
            vec!["A"; rows.len()],
            rows.iter().map(|r| Some(r.0)).collect(),
            vec![Column::new(
                "rating".into(),
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )],
        )
    });
    assert_eq!(run.result.code, 0, "{}", run.result.stderr);
    let df = run.scores();
    is(&df, "A", "calls", 5.0); // rows, whatever their rating
    is(&df, "A", "rating_sum", 6.0); // 2 + 4
    is(&df, "A", "rating_mean", 3.0); // (2 + 4) / 2: nulls ignored
    is(&df, "A", "rating_min", 2.0);
    is(&df, "A", "rating_max", 4.0);
    is(&df, "A", "rating_first", 2.0);
    is(&df, "A", "rating_last", 4.0);
    is(&df, "A", "ratings", 2.0); // distinct non-null {2, 4}
    is(&df, "A", "good", 1.0); // 4 ≥ 3; null ≥ 3 is false
    is(&df, "A", "not_good", 1.0); // the 2 only: not (null) is false too
    is(&df, "B", "calls", 0.0);
    is_null(&df, "B", "rating_mean");
    is_null(&df, "B", "rating_first");
    assert_eq!(run.manifest()["tables"]["calls"]["after_as_of"], 1);
}

/// The columnar kernel (src/kernel.rs) keeps distinct values as bits of a
/// `u64`: a table with more than 64 distinct values of the counted column
/// goes through the group-by instead, with the same results.
#[test]
fn count_distinct_of_more_than_64_values_and_over_more_than_64_days() {
    let w30 = "window_days = 30\n";
    // Only kernel forms: the kernel starts, meets a 65th feature and gives
    // the table back to the group-by.
    let features = [
        agg(
            "feat_distinct",
            "usage",
            "count_distinct",
            Some("feature"),
            w30,
        ),
        agg("ev_sum", "usage", "sum", Some("events"), w30),
    ]
    .concat();
    // 70 days: more day bits than a u64 holds, so the table never starts
    // in the kernel.
    let days = agg(
        "days_70",
        "usage",
        "count_distinct",
        Some("date"),
        "window_days = 70\n",
    );
    // A uses 65 distinct features on day 1 (and f0 again on day 2); B one
    // feature on days 0 and 69 (D − 69 is inside 70 days, not 30).
    let names: Vec<&'static str> = (0..65)
        .map(|i| &*Box::leak(format!("f{i}").into_boxed_str()))
        .collect();
    let mut usage: Vec<Usage> = names.iter().map(|f| ("A", 1, *f, 1, 1)).collect();
    usage.push(("A", 2, "f0", 1, 1));
    usage.push(("B", 0, "f0", 2, 1));
    usage.push(("B", 69, "f0", 3, 1));
    let data = Data {
        accounts: vec![acc("A"), acc("B")],
        usage,
        ..Default::default()
    };
    let (run, df) = run_ok(&pipeline(&features), &data);
    is(&df, "A", "feat_distinct", 65.0); // f0 … f64
    is(&df, "A", "ev_sum", 66.0); // 65 + 1
    is(&df, "B", "feat_distinct", 1.0);
    is(&df, "B", "ev_sum", 2.0); // day 69 is outside 30 days
    assert_eq!(run.manifest()["tables"]["usage"]["rows_used"], 68);

    // The same as the last date of a range long enough to order the table
    // by day: the kernel meets the 65th feature in the date's window rows
    // and the group-by reads the whole table, with the same results and
    // the same row accounting (the range's earlier rows already counted).
    let n = healthscore::aggregate::range::ORDER_FROM_DATES as i64;
    let from = (chrono::NaiveDate::parse_from_str(D, "%Y-%m-%d").unwrap()
        - chrono::Duration::days(n - 1))
    .to_string();
    let ranged = run.tmp.path().join("ranged");
    let o = healthscore(&[
        "run",
        "--pipeline",
        run.tmp.path().join("p.toml").to_str().unwrap(),
        "--input",
        run.tmp.path().join("in").to_str().unwrap(),
        "--output",
        ranged.to_str().unwrap(),
        "--from",
        &from,
        "--to",
        D,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let df = read_parquet(&ranged.join(format!("scores/snapshot_date={D}")));
    is(&df, "A", "feat_distinct", 65.0);
    is(&df, "A", "ev_sum", 66.0);
    is(&df, "B", "feat_distinct", 1.0);
    is(&df, "B", "ev_sum", 2.0);
    assert_eq!(
        read_manifest(&ranged, D)["tables"]["usage"]["rows_used"],
        68
    );

    let (_, df) = run_ok(&pipeline(&days), &data);
    is(&df, "A", "days_70", 2.0); // days 1 and 2
    is(&df, "B", "days_70", 2.0); // days 0 and 69
}

/// The kernel's row accounting and its edges, by hand: a 30-day
/// count_distinct of days (bit 0 = D, bit 29 = D − 29; D − 30 and D + 1
/// outside), rows of unknown and null customer_id, a rejected row, a
/// filter on a null value, and ids that are not sorted.
#[test]
fn kernel_window_edges_orphans_and_rejected_rows() {
    let metrics = [
        agg(
            "days_30",
            "usage",
            "count_distinct",
            Some("date"),
            "filter = \"events > 0\"\nwindow_days = 30\n",
        ),
        agg(
            "feats_30",
            "usage",
            "count_distinct",
            Some("feature"),
            "filter = \"feature != 'login' and events > 0\"\nwindow_days = 30\n",
        ),
        agg(
            "users_max",
            "usage",
            "max",
            Some("users"),
            "filter = \"feature = 'login'\"\nwindow_days = 30\n",
        ),
        agg("ev_count", "usage", "count", None, "window_days = 30\n"),
    ]
    .concat();
    let data = Data {
        accounts: vec![acc("A"), acc("B"), acc("C")],
        usage: vec![
            ("B", 0, "api", 1, 4),      // B: D, counts
            ("A", 29, "login", 1, 7),   // A: D − 29 (bit 29), counts
            ("A", 30, "api", 5, 9),     // D − 30: outside
            ("A", 0, "reports", 0, 1),  // events 0: not a day, not a feature
            ("A", 0, "api", 2, 2),      // D
            ("A", 0, "api", 2, 3),      // duplicate row: same day, same feature
            ("Z", 0, "api", 1, 1),      // unknown id: orphan
            ("A", -1, "search", 9, 99), // after D
            ("B", 3, "login", -1, 5),   // negative events: rejected
            ("A", 5, "login", 3, 11),   // A: D − 5
        ],
        ..Default::default()
    };
    // One rejected and one orphaned row of 9 in scope: raise the guards.
    let text = pipeline(&metrics).replace(
        "lag_table = \"\"",
        "lag_table = \"\"\nmax_rejected_share = 0.5\nmax_orphaned_share = 0.5",
    );
    let (run, df) = run_ok(&text, &data);
    // A in 30 days with events > 0: days 29, 0, 5 → 3; features other than
    // login with events > 0: api → 1; max login users 7, 11 → 11; rows in
    // 30 days: days 29, 0, 0, 0, 5 → 5.
    is(&df, "A", "days_30", 3.0);
    is(&df, "A", "feats_30", 1.0);
    is(&df, "A", "users_max", 11.0);
    is(&df, "A", "ev_count", 5.0);
    // B: its valid row at D (the rejected one counts nowhere).
    is(&df, "B", "days_30", 1.0);
    is(&df, "B", "feats_30", 1.0);
    is_null(&df, "B", "users_max");
    is(&df, "B", "ev_count", 1.0);
    // C has no row: 0 for counts, null for max.
    is(&df, "C", "days_30", 0.0);
    is_null(&df, "C", "users_max");
    let t = &run.manifest()["tables"]["usage"];
    assert_eq!(t["rows_read"], 10);
    assert_eq!(t["after_as_of"], 1);
    assert_eq!(t["orphaned"]["unknown_customer_id"], 1);
    assert_eq!(t["rejected"]["negative_events"], 1);
    assert_eq!(t["rows_used"], 7); // 10 − 1 after − 1 orphan − 1 rejected
    assert_eq!(t["latest_event_date"], "2026-11-24");
    assert_eq!(t["earliest_event_date"], "2026-10-25"); // D − 30
}

/// A further table whose forms the kernel covers (an integer column with
/// nulls): `count` with a column counts rows whatever their value; the
/// others skip nulls, as in the group-by.
#[test]
fn kernel_further_table_with_null_integers() {
    let w30 = "window_days = 30\n";
    let metrics = [
        agg("rows_m", "calls", "count", Some("minutes"), w30),
        agg("sum_m", "calls", "sum", Some("minutes"), w30),
        agg("mean_m", "calls", "mean", Some("minutes"), w30),
        agg("max_m", "calls", "max", Some("minutes"), w30),
        agg("first_m", "calls", "first", Some("minutes"), w30),
        agg("last_m", "calls", "last", Some("minutes"), w30),
    ]
    .concat();
    let (text, data) = with_calls_table(&metrics);
    // (account, days before D, minutes)
    let rows: Vec<(&str, i64, Option<i64>)> = vec![
        ("A", 10, None),    // smallest date, no value: first skips it
        ("A", 3, Some(7)),  // → first
        ("A", 3, Some(2)),  // same day: first takes the largest, 7
        ("A", 1, Some(5)),  // → last
        ("A", 0, None),     // largest date, no value: last skips it
        ("A", 40, Some(9)), // outside 30 days
        ("B", 2, None),     // B: one row, no value
    ];
    let run = run_with(&text, &data, |dir| {
        write_calls(
            dir,
            rows.iter().map(|r| r.0).collect(),
            rows.iter().map(|r| Some(r.1)).collect(),
            vec![Column::new(
                "minutes".into(),
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )],
        )
    });
    assert_eq!(run.result.code, 0, "{}", run.result.stderr);
    let df = run.scores();
    is(&df, "A", "rows_m", 5.0); // days 10, 3, 3, 1, 0
    is(&df, "A", "sum_m", 14.0); // 7 + 2 + 5
    is(&df, "A", "mean_m", 14.0 / 3.0);
    is(&df, "A", "max_m", 7.0);
    is(&df, "A", "first_m", 7.0);
    is(&df, "A", "last_m", 5.0);
    is(&df, "B", "rows_m", 1.0);
    is(&df, "B", "sum_m", 0.0);
    is_null(&df, "B", "mean_m");
    is_null(&df, "B", "max_m");
    is_null(&df, "B", "first_m");
}
