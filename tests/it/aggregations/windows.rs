use super::*;

#[test]
fn usage_sum_count_count_distinct_mean_min_max_and_empty_windows() {
    let w30 = "window_days = 30\n";
    let metrics = [
        agg("ev_sum", "usage", "sum", Some("events"), w30),
        agg("ev_count", "usage", "count", None, w30),
        agg(
            "feat_distinct",
            "usage",
            "count_distinct",
            Some("feature"),
            w30,
        ),
        agg("day_distinct", "usage", "count_distinct", Some("date"), w30),
        agg("ev_mean", "usage", "mean", Some("events"), w30),
        agg("ev_min", "usage", "min", Some("events"), w30),
        agg("ev_max", "usage", "max", Some("events"), w30),
        agg(
            "login_sum",
            "usage",
            "sum",
            Some("events"),
            "filter = \"feature = 'login'\"\nwindow_days = 30\n",
        ),
        agg("ev_all", "usage", "sum", Some("events"), ""),
    ]
    .concat();
    let data = Data {
        // B has no usage row at all; C only rows outside the 30-day window.
        accounts: vec![acc("A"), acc("B"), acc("C")],
        usage: vec![
            ("A", 0, "login", 10, 3),
            ("A", 0, "reports", 4, 7),
            ("A", 5, "api", 6, 2),
            ("A", 29, "login", 2, 5),
            ("A", 29, "api", 8, 1),
            ("A", 30, "login", 100, 9),   // D − 30: outside 30 days
            ("A", -1, "login", 1000, 50), // after D: ignored
            ("C", 45, "login", 5, 5),
        ],
        ..Default::default()
    };
    let (run, df) = run_ok(&pipeline(&metrics), &data);

    // A, 30 days = days 0, 0, 5, 29, 29: events 10, 4, 6, 2, 8.
    is(&df, "A", "ev_sum", 30.0); // 10 + 4 + 6 + 2 + 8
    is(&df, "A", "ev_count", 5.0); // five rows
    is(&df, "A", "feat_distinct", 3.0); // {login, reports, api}
    is(&df, "A", "day_distinct", 3.0); // {D, D−5, D−29}
    is(&df, "A", "ev_mean", 6.0); // 30 / 5
    is(&df, "A", "ev_min", 2.0);
    is(&df, "A", "ev_max", 10.0);
    is(&df, "A", "login_sum", 12.0); // 10 + 2 (filter feature = 'login')
    is(&df, "A", "ev_all", 130.0); // all history up to D: 30 + 100, not the 1000 after D

    // No row in the window (C) or no row at all in the table (B):
    // sum / count / count_distinct → 0, the others → null.
    for id in ["B", "C"] {
        is(&df, id, "ev_sum", 0.0);
        is(&df, id, "ev_count", 0.0);
        is(&df, id, "feat_distinct", 0.0);
        is(&df, id, "day_distinct", 0.0);
        is(&df, id, "login_sum", 0.0);
        is_null(&df, id, "ev_mean");
        is_null(&df, id, "ev_min");
        is_null(&df, id, "ev_max");
    }
    is(&df, "C", "ev_all", 5.0); // its one row at D − 45
    is(&df, "B", "ev_all", 0.0);

    // 8 rows read, the one dated D + 1 is after_as_of, 7 used.
    let m = run.manifest();
    assert_eq!(m["tables"]["usage"]["rows_read"], 8);
    assert_eq!(m["tables"]["usage"]["after_as_of"], 1);
    assert_eq!(m["tables"]["usage"]["rows_used"], 7);
}

#[test]
fn first_and_last_take_the_edge_date_and_ties_give_the_largest_value() {
    let metrics = [
        agg(
            "users_first",
            "usage",
            "first",
            Some("users"),
            "window_days = 30\n",
        ),
        agg(
            "users_last",
            "usage",
            "last",
            Some("users"),
            "window_days = 30\n",
        ),
        agg(
            "nps_first",
            "survey_responses",
            "first",
            Some("score"),
            "window_days = 180\n",
        ),
        agg(
            "nps_last",
            "survey_responses",
            "last",
            Some("score"),
            "window_days = 180\n",
        ),
        agg(
            "mrr_first",
            "revenue",
            "first",
            Some("mrr"),
            "window_days = 90\n",
        ),
        agg(
            "mrr_last",
            "revenue",
            "last",
            Some("mrr"),
            "window_days = 90\n",
        ),
    ]
    .concat();
    let data = Data {
        accounts: vec![acc("A"), acc("B")],
        usage: vec![
            // Smallest date in 30 days is D − 29: users 5 and 1 → first = 5.
            ("A", 29, "login", 2, 5),
            ("A", 29, "api", 8, 1),
            ("A", 5, "api", 6, 90),
            // Largest date is D: users 3 and 7 → last = 7.
            ("A", 0, "reports", 4, 7),
            ("A", 0, "login", 10, 3),
            ("A", 30, "login", 1, 99), // outside the window
            ("A", -1, "login", 1, 99), // after D
        ],
        surveys: vec![
            // Both at noon of the same day: ties.
            ("A", 100, "nps", 4),
            ("A", 100, "nps", 6),
            ("A", 50, "nps", 10),
            ("A", 2, "nps", 3),
            ("A", 2, "nps", 1),
            ("A", 180, "nps", 10), // D − 180: outside 180 days
        ],
        revenue: vec![
            // 90 days: months 09-01, 10-01, 11-01 (D − 90 = 2026-08-26).
            ("A", (2026, 9, 1), 100.0, 0),
            ("A", (2026, 9, 10), 150.0, 0), // month 2026-09-01: tie
            ("A", (2026, 10, 1), 300.0, 0),
            ("A", (2026, 11, 20), 500.0, 0), // month 2026-11-01: tie
            ("A", (2026, 11, 1), 400.0, 0),
        ],
        ..Default::default()
    };
    let (_run, df) = run_ok(&pipeline(&metrics), &data);
    is(&df, "A", "users_first", 5.0); // max(5, 1) on D − 29
    is(&df, "A", "users_last", 7.0); // max(7, 3) on D
    is(&df, "A", "nps_first", 6.0); // max(4, 6) on D − 100
    is(&df, "A", "nps_last", 3.0); // max(3, 1) on D − 2
    is(&df, "A", "mrr_first", 150.0); // max(100, 150) in 2026-09-01
    is(&df, "A", "mrr_last", 500.0); // max(500, 400) in 2026-11-01
    for c in [
        "users_first",
        "users_last",
        "nps_first",
        "nps_last",
        "mrr_first",
        "mrr_last",
    ] {
        is_null(&df, "B", c); // no rows: null
    }
}

#[test]
fn survey_ticket_and_revenue_aggregations() {
    let metrics = [
        agg(
            "nps_mean",
            "survey_responses",
            "mean",
            Some("score"),
            "filter = \"kind = 'nps'\"\nwindow_days = 180\n",
        ),
        agg(
            "csat_min",
            "survey_responses",
            "min",
            Some("score"),
            "filter = \"kind = 'csat'\"\nwindow_days = 180\n",
        ),
        agg(
            "csat_max",
            "survey_responses",
            "max",
            Some("score"),
            "filter = \"kind = 'csat'\"\nwindow_days = 180\n",
        ),
        agg(
            "responses",
            "survey_responses",
            "count",
            None,
            "window_days = 180\n",
        ),
        agg(
            "tickets_30d",
            "support_tickets",
            "count",
            None,
            "window_days = 30\n",
        ),
        agg(
            "urgent_90d",
            "support_tickets",
            "count",
            None,
            "filter = \"priority = 'urgent'\"\nwindow_days = 90\n",
        ),
        agg(
            "priorities_90d",
            "support_tickets",
            "count_distinct",
            Some("priority"),
            "window_days = 90\n",
        ),
        agg(
            "mrr_sum",
            "revenue",
            "sum",
            Some("mrr"),
            "window_days = 90\n",
        ),
        agg(
            "mrr_mean",
            "revenue",
            "mean",
            Some("mrr"),
            "window_days = 90\n",
        ),
        agg(
            "dpd_max",
            "revenue",
            "max",
            Some("days_past_due"),
            "window_days = 90\n",
        ),
        agg(
            "dpd_min",
            "revenue",
            "min",
            Some("days_past_due"),
            "window_days = 90\n",
        ),
    ]
    .concat();
    let data = Data {
        accounts: vec![acc("A"), acc("B")],
        surveys: vec![
            ("A", 1, "nps", 9),
            ("A", 179, "nps", 6), // D − 179: inside 180 days
            ("A", 180, "nps", 0), // D − 180: outside
            ("A", 10, "csat", 4),
            ("A", 20, "csat", 2),
            ("A", -2, "nps", 0), // after D
        ],
        tickets: vec![
            ("T1", "A", 0, None, "urgent"),
            ("T2", "A", 29, Some(28), "low"),
            ("T3", "A", 30, Some(1), "urgent"), // outside 30, inside 90
            ("T4", "A", 89, None, "high"),
            ("T5", "A", 90, None, "urgent"), // outside 90
        ],
        revenue: vec![
            ("A", (2026, 8, 1), 999.0, 90), // month before D − 90 = 2026-08-26
            ("A", (2026, 9, 1), 100.0, 0),
            ("A", (2026, 10, 1), 200.0, 20),
            ("A", (2026, 11, 1), 300.0, 3),
        ],
        ..Default::default()
    };
    let (_run, df) = run_ok(&pipeline(&metrics), &data);
    is(&df, "A", "nps_mean", 7.5); // (9 + 6) / 2
    is(&df, "A", "csat_min", 2.0);
    is(&df, "A", "csat_max", 4.0);
    is(&df, "A", "responses", 4.0); // days 1, 179, 10, 20
    is(&df, "A", "tickets_30d", 2.0); // T1, T2
    is(&df, "A", "urgent_90d", 2.0); // T1, T3
    is(&df, "A", "priorities_90d", 3.0); // {urgent, low, high}
    is(&df, "A", "mrr_sum", 600.0); // 100 + 200 + 300
    is(&df, "A", "mrr_mean", 200.0); // 600 / 3
    is(&df, "A", "dpd_max", 20.0); // max(0, 20, 3); the 90 of 2026-08 is outside
    is(&df, "A", "dpd_min", 0.0);
    // B has no row in any of these tables.
    for c in [
        "responses",
        "tickets_30d",
        "urgent_90d",
        "priorities_90d",
        "mrr_sum",
    ] {
        is(&df, "B", c, 0.0);
    }
    for c in [
        "nps_mean", "csat_min", "csat_max", "mrr_mean", "dpd_max", "dpd_min",
    ] {
        is_null(&df, "B", c);
    }
}

#[test]
fn ratio_is_null_on_zero_denominator_or_a_null_side() {
    let metrics = r#"
[[metrics]]
name = "logins"
table = "usage"
agg = "sum"
column = "events"
filter = "feature = 'login'"
window_days = 30

[[metrics]]
name = "per_seat"
ratio = ["logins", { account = "seats" }]

[[metrics]]
name = "nps_per_ticket"
ratio = [
  { table = "survey_responses", agg = "mean", column = "score", filter = "kind = 'nps'", window_days = 180 },
  { table = "support_tickets", agg = "count", window_days = 30 },
]

[[metrics]]
name = "logins_per_mrr"
ratio = ["logins", { table = "revenue", agg = "last", column = "mrr", window_days = 90 }]

[[metrics]]
name = "urgent_share"
ratio = [
  { table = "support_tickets", agg = "count", filter = "priority = 'urgent'", window_days = 30 },
  { table = "support_tickets", agg = "count", window_days = 30 },
]
"#;
    let data = Data {
        accounts: vec![
            acc("R1").seats(Some(10)),
            acc("R2").seats(Some(0)),
            acc("R3").seats(None),
            acc("R4").seats(Some(5)),
        ],
        usage: vec![
            ("R1", 0, "login", 30, 1),
            ("R2", 0, "login", 7, 1),
            ("R3", 0, "login", 7, 1),
        ],
        surveys: vec![("R1", 3, "nps", 8)],
        tickets: vec![
            ("T1", "R1", 1, None, "high"),
            ("T2", "R1", 2, None, "low"),
            ("T3", "R3", 1, None, "low"),
        ],
        revenue: vec![("R2", (2026, 11, 1), 50.0, 0)],
    };
    let (_run, df) = run_ok(&pipeline(metrics), &data);
    // per_seat = logins / seats.
    is(&df, "R1", "per_seat", 3.0); // 30 / 10
    is_null(&df, "R2", "per_seat"); // 7 / 0: zero denominator
    is_null(&df, "R3", "per_seat"); // 7 / null seats
    is(&df, "R4", "per_seat", 0.0); // sum over no rows is 0: 0 / 5 = 0, not null
                                    // nps_per_ticket = mean nps / tickets.
    is(&df, "R1", "nps_per_ticket", 4.0); // 8 / 2
    is_null(&df, "R2", "nps_per_ticket"); // null (no survey) / 0
    is_null(&df, "R3", "nps_per_ticket"); // null numerator / 1
                                          // logins_per_mrr: null denominator (no revenue row) with a real numerator.
    is_null(&df, "R1", "logins_per_mrr"); // 30 / null
    is(&df, "R2", "logins_per_mrr", 0.14); // 7 / 50
                                           // urgent_share = urgent / all tickets in 30 days.
    is(&df, "R1", "urgent_share", 0.0); // 0 / 2: a 0 numerator is fine
    is_null(&df, "R4", "urgent_share"); // 0 / 0
                                        // Inline operands are not output columns; named helpers are.
    assert!(df.column("logins").is_ok());
    assert_eq!(
        df.width(),
        15 + 1 + 5 + 2 + 1,
        "fixed, g_score, 5 helpers, seats_m + points, model_version"
    );
}

#[test]
fn a_filter_on_a_null_value_is_false() {
    // closed_at is the one nullable column of an event table.
    let w = "window_days = 30\n";
    let metrics = [
        agg(
            "closed",
            "support_tickets",
            "count",
            None,
            &format!("filter = \"closed_at > 0\"\n{w}"),
        ),
        agg(
            "not_closed",
            "support_tickets",
            "count",
            None,
            &format!("filter = \"not (closed_at > 0)\"\n{w}"),
        ),
        agg(
            "open",
            "support_tickets",
            "count",
            None,
            &format!("filter = \"closed_at is null\"\n{w}"),
        ),
        agg(
            "closed_or_high",
            "support_tickets",
            "count",
            None,
            &format!("filter = \"closed_at > 0 or priority = 'high'\"\n{w}"),
        ),
        agg(
            "close_days",
            "support_tickets",
            "count_distinct",
            Some("closed_at"),
            w,
        ),
    ]
    .concat();
    let data = Data {
        accounts: vec![acc("A")],
        tickets: vec![
            ("F1", "A", 5, Some(3), "low"),
            ("F2", "A", 6, None, "low"),
            ("F3", "A", 7, None, "high"),
        ],
        ..Default::default()
    };
    let (_run, df) = run_ok(&pipeline(&metrics), &data);
    is(&df, "A", "closed", 1.0); // F1 only: null > 0 is false
    is(&df, "A", "not_closed", 0.0); // not (null) is null → false for F2, F3
    is(&df, "A", "open", 2.0); // F2, F3: an explicit null test
    is(&df, "A", "closed_or_high", 2.0); // F1 (true), F3 (null or true = true)
    is(&df, "A", "close_days", 1.0); // distinct non-null values: {D − 3}
}

#[test]
fn window_boundaries_and_offset_window() {
    let metrics = [
        agg("w30", "usage", "sum", Some("events"), "window_days = 30\n"),
        agg(
            "prev30",
            "usage",
            "sum",
            Some("events"),
            "window_days = 30\noffset_days = 30\n",
        ),
        agg(
            "up_to_prev",
            "usage",
            "sum",
            Some("events"),
            "offset_days = 30\n",
        ),
        agg("w1", "usage", "sum", Some("events"), "window_days = 1\n"),
        agg("all", "usage", "sum", Some("events"), ""),
        agg("last_day", "usage", "max", Some("date"), ""),
        agg(
            "first_day_30",
            "usage",
            "min",
            Some("date"),
            "window_days = 30\n",
        ),
    ]
    .concat();
    let data = Data {
        accounts: vec![acc("A")],
        usage: vec![
            ("A", 60, "login", 2, 1),    // D − 60
            ("A", 59, "login", 20, 1),   // D − 59
            ("A", 30, "login", 1, 1),    // D − 30 = D − N
            ("A", 29, "login", 10, 1),   // D − 29 = D − N + 1
            ("A", 0, "login", 100, 1),   // D
            ("A", -1, "login", 1000, 1), // D + 1
        ],
        ..Default::default()
    };
    let (run, df) = run_ok(&pipeline(&metrics), &data);
    // D − 30 < e ≤ D: days 29 and 0.
    is(&df, "A", "w30", 110.0); // 10 + 100
                                // Offset K = 30, N = 30: D − 60 < e ≤ D − 30: days 59 and 30.
    is(&df, "A", "prev30", 21.0); // 20 + 1
                                  // No window, offset 30: e ≤ D − 30: days 60, 59, 30.
    is(&df, "A", "up_to_prev", 23.0); // 2 + 20 + 1
    is(&df, "A", "w1", 100.0); // D − 1 < e ≤ D: D only
    is(&df, "A", "all", 133.0); // 2 + 20 + 1 + 10 + 100, never the row after D
                                // Dates are day numbers: 2026-11-24 is day 20781 since 1970-01-01.
    is(&df, "A", "last_day", 20781.0); // not D + 1
    is(&df, "A", "first_day_30", 20781.0 - 29.0);
    assert_eq!(run.manifest()["tables"]["usage"]["after_as_of"], 1);
}
