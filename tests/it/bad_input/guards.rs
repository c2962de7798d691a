//! Data guards

use super::*;

#[test]
fn rejections_over_max_rejected_share_are_exit_2() {
    // usage: 100 rows dated ≤ D; 2 rejected = 2% > 1%.
    let case = Case::strict();
    let mut fx = Fixture::valid(5);
    fx.usage[0].events = Some(-1);
    fx.usage[1].users = None;
    fx.write(&case.input());
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &[
            "table usage",
            "2 of 100 rows",
            "max_rejected_share",
            "negative_events: 1",
            "null_users: 1",
            "nothing was written",
        ],
    );
}

#[test]
fn rejections_exactly_at_max_rejected_share_are_accepted() {
    let case = Case::strict();
    let mut fx = Fixture::valid(5);
    fx.usage[0].events = Some(-1);
    fx.write(&case.input());
    let r = case.run(&[]);
    assert_ok(&r);
    let m = case.manifest();
    assert_eq!(rejected(&m, "usage"), pairs(&[("negative_events", 1)]));
    assert_balanced(&m, &fx);
    assert!(
        r.stdout.contains("rejected negative_events 1"),
        "the summary shows non-zero counts: {}",
        r.stdout
    );
}

#[test]
fn the_rejected_share_is_of_rows_dated_on_or_before_d() {
    // 100 rows, 60 of them after D: 1 rejected of 40 in scope is 2.5%.
    let case = Case::strict();
    let mut fx = Fixture::valid(5);
    for u in fx.usage.iter_mut().skip(40) {
        u.day = Some(-3);
    }
    fx.usage[0].events = Some(-1);
    fx.write(&case.input());
    let r = case.run(&[]);
    assert_refused(&case, &r, 2, &["table usage", "1 of 40 rows", "2.50%"]);
}

#[test]
fn stale_usage_is_exit_2() {
    let case = Case::strict();
    let mut fx = Fixture::valid(4);
    for u in &mut fx.usage {
        u.day = u.day.map(|d| d + 4);
    }
    fx.write(&case.input());
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &[
            "table usage",
            "latest event date is 2026-11-20",
            "on or after 2026-11-21",
            "max_lag_days 3",
        ],
    );
}

#[test]
fn usage_exactly_max_lag_days_old_is_accepted() {
    let mut fx = Fixture::valid(4);
    for u in &mut fx.usage {
        u.day = u.day.map(|d| d + 3);
    }
    let (_, m) = run_ok(&fx);
    assert_eq!(
        counts(&m, "usage")["latest_event_date"].as_str(),
        Some("2026-11-21")
    );
}

#[test]
fn only_valid_rows_make_usage_fresh() {
    // The only rows of the last 4 days are orphans or rejected: stale.
    let case = Case::lenient();
    let mut fx = Fixture::valid(4);
    for u in &mut fx.usage {
        match u.day {
            Some(d) if d <= 3 && u.feature.as_deref() == Some("login") => u.events = Some(-1),
            Some(d) if d <= 3 => u.id = None,
            _ => {}
        }
    }
    fx.write(&case.input());
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &["table usage", "latest event date is 2026-11-20"],
    );
}

#[test]
fn empty_usage_is_stale() {
    let case = Case::strict();
    let mut fx = Fixture::valid(4);
    fx.usage.clear();
    fx.write(&case.input());
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &[
            "table usage",
            "0 rows used on or before 2026-11-24 (0 read, 0 after as-of)",
            "max_lag_days",
        ],
    );
}

#[test]
fn an_empty_event_table_is_accepted() {
    let mut fx = Fixture::valid(4);
    fx.tickets.clear();
    let (_, m) = run_ok(&fx);
    assert_eq!(count(&m, "support_tickets", "rows_read"), 0);
}

// ---------------------------------------------------------------------------
// Rows after D are dropped before validation
// ---------------------------------------------------------------------------

#[test]
fn rows_after_d_never_fail_validation() {
    let mut fx = Fixture::valid(5);
    let late = |u: &Use| Use {
        day: Some(-1),
        ..u.clone()
    };
    let base = fx.usage[0].clone();
    fx.usage.push(Use {
        events: Some(-5),
        ..late(&base)
    });
    fx.usage.push(Use {
        id: None,
        ..late(&base)
    });
    fx.usage.push(Use {
        id: o("unknown"),
        feature: None,
        ..late(&base)
    });
    fx.surveys.push(Srv {
        at: Some(-30),
        score: Some(42),
        ..fx.surveys[0].clone()
    });
    fx.revenue.push(Rev {
        month: Some(-40),
        mrr: Some(-1.0),
        ..fx.revenue[0].clone()
    });
    fx.tickets.push(Tkt {
        opened: Some(-1),
        priority: o("unheard-of"),
        ..fx.tickets[0].clone()
    });
    // Strict guards: the bad rows after D must not count at all.
    let case = Case::strict();
    fx.write(&case.input());
    let r = case.run(&[]);
    assert_ok(&r);
    let m = case.manifest();
    assert_balanced(&m, &fx);
    for (t, n) in [
        ("usage", 3),
        ("survey_responses", 1),
        ("revenue", 1),
        ("support_tickets", 1),
    ] {
        assert_eq!(count(&m, t, "after_as_of"), n, "{t}");
        assert_eq!(rejected(&m, t), vec![], "{t}");
        assert_eq!(count(&m, t, "orphaned.null_customer_id"), 0, "{t}");
        assert_eq!(count(&m, t, "orphaned.unknown_customer_id"), 0, "{t}");
    }
}

#[test]
fn a_revenue_month_after_d_is_after_as_of() {
    // 2026-12-01 is after D; 2026-11-01 (D's own month) is not.
    let mut fx = Fixture::valid(4);
    fx.revenue.push(Rev {
        month: Some(-7),
        ..fx.revenue[0].clone()
    });
    let (_, m) = run_ok(&fx);
    assert_eq!(count(&m, "revenue", "after_as_of"), 1);
}
