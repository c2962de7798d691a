//! Row rules of SPEC §7, each counted under its name

use super::*;

#[test]
fn usage_nulls_are_rejected_per_column() {
    let mut fx = Fixture::valid(6);
    fx.usage[0].day = None;
    fx.usage[1].feature = None;
    fx.usage[2].feature = None;
    fx.usage[3].events = None;
    fx.usage[4].users = None;
    let (_, m) = run_ok(&fx);
    assert_eq!(
        rejected(&m, "usage"),
        pairs(&[
            ("null_date", 1),
            ("null_feature", 2),
            ("null_events", 1),
            ("null_users", 1)
        ])
    );
}

#[test]
fn negative_events_and_users_are_rejected() {
    let mut fx = Fixture::valid(6);
    fx.usage[5].events = Some(-1);
    fx.usage[6].events = Some(-100);
    fx.usage[7].users = Some(-3);
    fx.usage[8].events = Some(0); // zero is fine
    fx.usage[9].users = Some(0);
    let (_, m) = run_ok(&fx);
    assert_eq!(
        rejected(&m, "usage"),
        pairs(&[("negative_events", 2), ("negative_users", 1)])
    );
}

#[test]
fn ticket_nulls_and_unknown_priority_are_rejected() {
    let mut fx = Fixture::valid(6);
    fx.tickets[0].ticket = None;
    fx.tickets[1].opened = None;
    fx.tickets[2].priority = None;
    fx.tickets[3].priority = o("Urgent"); // case-sensitive
    fx.tickets[4].priority = o("critical");
    fx.tickets[5].closed = None; // nullable: not rejected
    let (_, m) = run_ok(&fx);
    assert_eq!(
        rejected(&m, "support_tickets"),
        pairs(&[
            ("null_ticket_id", 1),
            ("null_opened_at", 1),
            ("null_priority", 1),
            ("unknown_priority", 2)
        ])
    );
}

#[test]
fn survey_nulls_are_rejected() {
    let mut fx = Fixture::valid(6);
    fx.surveys[0].at = None;
    fx.surveys[1].kind = None;
    fx.surveys[2].score = None;
    fx.surveys[3].score = None;
    let (_, m) = run_ok(&fx);
    assert_eq!(
        rejected(&m, "survey_responses"),
        pairs(&[
            ("null_responded_at", 1),
            ("null_kind", 1),
            ("null_score", 2)
        ])
    );
}

#[test]
fn nps_out_of_range_is_rejected_and_its_bounds_accepted() {
    let mut fx = Fixture::valid(6);
    // surveys of account 0: k = 0, 2, 4 are nps.
    fx.surveys[0].score = Some(11);
    fx.surveys[2].score = Some(-1);
    fx.surveys[4].score = Some(10);
    fx.surveys[5].score = Some(0); // account 1, k = 0: nps 0
    let (_, m) = run_ok(&fx);
    assert_eq!(
        rejected(&m, "survey_responses"),
        pairs(&[("nps_out_of_range", 2)])
    );
}

#[test]
fn csat_out_of_range_is_rejected_and_its_bounds_accepted() {
    let mut fx = Fixture::valid(6);
    // surveys of account 0: k = 1, 3 are csat.
    fx.surveys[1].score = Some(0);
    fx.surveys[3].score = Some(6);
    fx.surveys[6].score = Some(1);
    fx.surveys[8].score = Some(5);
    let (_, m) = run_ok(&fx);
    assert_eq!(
        rejected(&m, "survey_responses"),
        pairs(&[("csat_out_of_range", 2)])
    );
}

#[test]
fn unknown_survey_kind_is_rejected() {
    let mut fx = Fixture::valid(6);
    fx.surveys[0].kind = o("NPS");
    fx.surveys[1].kind = o("ces");
    fx.surveys[2].kind = o("");
    let (_, m) = run_ok(&fx);
    assert_eq!(
        rejected(&m, "survey_responses"),
        pairs(&[("unknown_kind", 3)])
    );
}

#[test]
fn revenue_nulls_and_negatives_are_rejected() {
    let mut fx = Fixture::valid(6);
    fx.revenue[0].month = None;
    fx.revenue[1].mrr = None;
    fx.revenue[2].dpd = None;
    fx.revenue[3].mrr = Some(-0.01);
    fx.revenue[4].dpd = Some(-1);
    fx.revenue[5].dpd = Some(-2);
    fx.revenue[6].mrr = Some(0.0); // zero is fine
    let (_, m) = run_ok(&fx);
    assert_eq!(
        rejected(&m, "revenue"),
        pairs(&[
            ("null_month", 1),
            ("null_mrr", 1),
            ("null_days_past_due", 1),
            ("negative_mrr", 1),
            ("negative_days_past_due", 2)
        ])
    );
}

#[test]
fn nan_mrr_counts_as_null() {
    let mut fx = Fixture::valid(6);
    fx.revenue[0].mrr = Some(f64::NAN);
    fx.revenue[7].mrr = Some(f64::NAN);
    let (_, m) = run_ok(&fx);
    assert_eq!(rejected(&m, "revenue"), pairs(&[("null_mrr", 2)]));
}

#[test]
fn infinite_mrr_counts_as_null_too() {
    // SPEC §2: NaN or ±inf counts as null, so each is a null_mrr rejection
    // (a +inf MRR would otherwise sum into every total).
    let mut fx = Fixture::valid(6);
    fx.revenue[0].mrr = Some(f64::INFINITY);
    fx.revenue[7].mrr = Some(f64::NEG_INFINITY);
    let (_, m) = run_ok(&fx);
    assert_eq!(rejected(&m, "revenue"), pairs(&[("null_mrr", 2)]));
}

#[test]
fn a_row_breaking_several_rules_is_counted_once_under_the_first() {
    let mut fx = Fixture::valid(6);
    // null id before everything else
    fx.usage[0].id = None;
    fx.usage[0].events = Some(-1);
    fx.usage[0].feature = None;
    // unknown id before the null and value rules
    fx.usage[1].id = o("nobody");
    fx.usage[1].users = None;
    // null_<column> in column order: date before feature before events
    fx.usage[2].feature = None;
    fx.usage[2].events = None;
    fx.usage[3].day = None;
    fx.usage[3].users = None;
    // nulls before value rules
    fx.usage[4].events = None;
    fx.usage[4].users = Some(-1);
    // value rules in column order: events before users
    fx.usage[5].events = Some(-1);
    fx.usage[5].users = Some(-1);
    // surveys: null kind before nps; nps before unknown kind is moot; kind
    // unknown and score null: null first
    fx.surveys[0].kind = None;
    fx.surveys[0].score = Some(99);
    fx.surveys[1].kind = o("other");
    fx.surveys[1].score = None;
    // revenue: null mrr before negative days_past_due
    fx.revenue[0].mrr = Some(f64::NAN);
    fx.revenue[0].dpd = Some(-5);
    fx.revenue[1].mrr = Some(-1.0);
    fx.revenue[1].dpd = Some(-5);
    // tickets: null opened_at before unknown priority
    fx.tickets[0].opened = None;
    fx.tickets[0].priority = o("p1");
    let (_, m) = run_ok(&fx);
    assert_eq!(count(&m, "usage", "orphaned.null_customer_id"), 1);
    assert_eq!(count(&m, "usage", "orphaned.unknown_customer_id"), 1);
    assert_eq!(
        rejected(&m, "usage"),
        pairs(&[
            ("null_date", 1),
            ("null_feature", 1),
            ("null_events", 1),
            ("negative_events", 1)
        ])
    );
    assert_eq!(
        rejected(&m, "survey_responses"),
        pairs(&[("null_kind", 1), ("null_score", 1)])
    );
    assert_eq!(
        rejected(&m, "revenue"),
        pairs(&[("null_mrr", 1), ("negative_mrr", 1)])
    );
    assert_eq!(
        rejected(&m, "support_tickets"),
        pairs(&[("null_opened_at", 1)])
    );
}

#[test]
fn rejected_rows_do_not_feed_the_metrics() {
    // Account 0's logins on D: one valid row of 5 events and one negative.
    let mut fx = Fixture::valid(3);
    let expected = {
        let (case, _) = run_ok(&fx);
        let df = case.scores();
        f(&df, "logins_30d", row_of(&df, "A000")).unwrap()
    };
    fx.usage.push(Use {
        events: Some(-1000),
        ..fx.usage[0].clone()
    });
    fx.usage.push(Use {
        feature: None,
        events: Some(1000),
        ..fx.usage[0].clone()
    });
    let (case, m) = run_ok(&fx);
    assert_eq!(
        rejected(&m, "usage"),
        pairs(&[("negative_events", 1), ("null_feature", 1)])
    );
    let df = case.scores();
    close(
        f(&df, "logins_30d", row_of(&df, "A000")),
        expected,
        "logins unchanged by rejected rows",
    );
}
