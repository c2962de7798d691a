//! Accounts

use super::*;

#[test]
fn duplicate_account_ids_are_exit_2_with_examples() {
    let case = Case::strict();
    let mut fx = Fixture::valid(6);
    fx.accounts[4].id = id(1);
    fx.write(&case.input());
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &["table accounts", "customer_id", "unique", "1 ids", "A001"],
    );
}

#[test]
fn duplicate_account_ids_list_at_most_five_examples() {
    let case = Case::strict();
    let mut fx = Fixture::valid(8);
    let extra: Vec<Acc> = fx.accounts[..7].to_vec();
    fx.accounts.extend(extra);
    fx.write(&case.input());
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &[
            "7 ids",
            "A000, A001, A002, A003, A004",
            "Deduplicate the accounts export",
        ],
    );
    assert!(
        !r.stderr.contains("A005"),
        "at most 5 examples: {}",
        r.stderr
    );
}

#[test]
fn null_account_id_is_rejected_and_counted() {
    let mut fx = Fixture::valid(6);
    fx.accounts[2].id = None;
    // A002's rows in other tables are now unknown ids: orphans.
    let (case, m) = run_ok(&fx);
    assert_eq!(rejected(&m, "accounts"), pairs(&[("null_customer_id", 1)]));
    assert_eq!(count(&m, "accounts", "rows_used"), 5);
    assert_eq!(count(&m, "usage", "orphaned.unknown_customer_id"), 20);
    assert_eq!(case.scores().height(), 5);
}

#[test]
fn null_account_id_over_the_share_is_exit_2() {
    let case = Case::strict();
    let mut fx = Fixture::valid(6);
    fx.accounts.push(Acc {
        id: None,
        ..fx.accounts[0].clone()
    });
    fx.write(&case.input());
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &[
            "table accounts",
            "null_customer_id: 1",
            "max_rejected_share",
        ],
    );
}

#[test]
fn other_account_values_are_taken_as_they_are() {
    let mut fx = Fixture::valid(6);
    fx.accounts[0].seats = Some(-5);
    fx.accounts[1].pct = Some(150.0);
    fx.accounts[2].name = None;
    fx.accounts[3].segment = None;
    fx.accounts[4].signup = None;
    fx.accounts[5].pct = Some(f64::NAN);
    let (case, m) = run_ok(&fx);
    assert_eq!(rejected(&m, "accounts"), vec![]);
    assert_eq!(count(&m, "accounts", "rows_used"), 6);
    assert_eq!(case.scores().height(), 6);
}

#[test]
fn account_signed_up_after_d_is_counted_and_its_rows_are_not_orphans() {
    let mut fx = Fixture::valid(6);
    fx.accounts[3].signup = Some(-2);
    let (case, m) = run_ok(&fx);
    assert_eq!(count(&m, "accounts", "not_yet_customers"), 1);
    assert_eq!(count(&m, "usage", "orphaned.unknown_customer_id"), 0);
    assert_eq!(case.scores().height(), 5);
}

// ---------------------------------------------------------------------------
// Orphans
// ---------------------------------------------------------------------------

#[test]
fn null_and_unknown_customer_ids_are_orphans_in_every_table() {
    let mut fx = Fixture::valid(6);
    fx.usage[0].id = None;
    fx.usage[1].id = o(" A001"); // padded
    fx.usage[2].id = o("a001"); // case differs
    fx.tickets[0].id = None;
    fx.tickets[1].id = o("ZZZ");
    fx.surveys[0].id = o("A999");
    fx.revenue[0].id = None;
    fx.revenue[1].id = None;
    let (_, m) = run_ok(&fx);
    let orph = |t: &str| {
        (
            count(&m, t, "orphaned.null_customer_id"),
            count(&m, t, "orphaned.unknown_customer_id"),
        )
    };
    assert_eq!(orph("usage"), (1, 2));
    assert_eq!(orph("support_tickets"), (1, 1));
    assert_eq!(orph("survey_responses"), (0, 1));
    assert_eq!(orph("revenue"), (2, 0));
    for t in ["usage", "support_tickets", "survey_responses", "revenue"] {
        assert_eq!(rejected(&m, t), vec![], "{t}: orphans are not rejections");
    }
}

#[test]
fn orphans_over_max_orphaned_share_are_exit_2() {
    // usage: 100 rows; 6 orphans = 6% > 5%.
    let case = Case::strict();
    let mut fx = Fixture::valid(5);
    for u in fx.usage.iter_mut().take(6) {
        u.id = o("B-rekeyed");
    }
    fx.write(&case.input());
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &[
            "table usage",
            "6 of 100 rows",
            "max_orphaned_share",
            "unknown: 6",
        ],
    );
}

#[test]
fn orphans_exactly_at_max_orphaned_share_are_accepted() {
    let case = Case::strict();
    let mut fx = Fixture::valid(5);
    for u in fx.usage.iter_mut().take(5) {
        u.id = None;
    }
    fx.write(&case.input());
    let r = case.run(&[]);
    assert_ok(&r);
    let m = case.manifest();
    assert_eq!(count(&m, "usage", "orphaned.null_customer_id"), 5);
    assert_balanced(&m, &fx);
}
