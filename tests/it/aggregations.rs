//! Aggregations, windows and the time rules (SPEC §3, §4 "Metrics"), on
//! tiny hand-made exports and small pipelines whose helper metrics expose
//! every aggregation as an output column. D = 2026-11-24 (day number 20781);
//! "day k" below means D − k. Every expectation is worked out by hand from
//! the SPEC next to it.

use crate::common;
use crate::fixture;
use common::*;
use fixture::*;
use polars::prelude::{
    Column, DataFrame, DataType, IntoColumn, NamedFrom, Series, TimeUnit, TimeZone,
};

/// The header, one scored account metric (so a scorecard exists), the
/// given helper metrics and a catch-all scorecard.
fn pipeline(metrics: &str) -> String {
    format!(
        r#"{}
[[groups]]
name = "g"

{metrics}

[[metrics]]
name = "seats_m"
group = "g"
account = "seats"
normalize = {{ linear = [0, 100] }}

[[scorecards]]
name = "all"
weights = {{ g = 1 }}
"#,
        header(&[])
    )
}

/// A helper aggregation metric.
fn agg(name: &str, table: &str, agg: &str, column: Option<&str>, extra: &str) -> String {
    let column = column
        .map(|c| format!("column = \"{c}\"\n"))
        .unwrap_or_default();
    format!(
        "[[metrics]]\nname = \"{name}\"\ntable = \"{table}\"\nagg = \"{agg}\"\n{column}{extra}\n"
    )
}

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
