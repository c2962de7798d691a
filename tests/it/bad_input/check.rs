//! healthscore check: the same checks, a report, nothing written

use super::*;

/// The fixture with bad rows planted in usage and accounts.
fn planted() -> Fixture {
    let mut fx = Fixture::valid(6);
    fx.usage[0].events = Some(-1);
    fx.usage[1].id = None;
    fx.usage[2].id = o("A999");
    fx.usage[3].day = Some(-1);
    fx.accounts[2].signup = None;
    fx
}

/// Everything under the case's folder: check must add nothing.
fn files_under(case: &Case) -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(case.tmp.path(), &mut out);
    out.sort();
    out
}

#[test]
fn check_reports_rows_dates_rejections_orphans_and_null_shares() {
    let case = Case::lenient();
    planted().write(&case.input());
    let before = files_under(&case);
    let r = case.check(&[]);
    assert_ok(&r);
    assert_eq!(files_under(&case), before, "check writes nothing");
    for line in [
        "inputs pass the contract and the data guards",
        "usage: 120 rows read, 116 used, dated 2026-11-15 to 2026-11-24",
        "  after as-of: 1",
        "  rejected: negative_events 1 (0.84% of 119 rows dated on or before 2026-11-24; max_rejected_share 50.00%)",
        "  orphaned: null_customer_id 1, unknown_customer_id 1 (1.68%; max_orphaned_share 50.00%)",
        "support_tickets: 30 rows read, 30 used, dated 2026-09-20 to 2026-11-19",
        "  nulls among rows used: closed_at 40.00%",
        "accounts: 6 rows read, 6 used",
        "signup_date 16.67%",
        "seats 0.00%",
        "freshness: usage latest event date 2026-11-24, must be on or after 2026-11-21",
    ] {
        assert!(r.stdout.contains(line), "report lacks `{line}`:\n{}", r.stdout);
    }
}

#[test]
fn check_as_json_gives_every_count() {
    let case = Case::lenient();
    planted().write(&case.input());
    let r = case.check(&["--format", "json"]);
    assert_ok(&r);
    let j: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(j["status"], "ok");
    assert_eq!(j["exit_code"], 0);
    assert_eq!(j["as_of"], D);
    let u = &j["tables"]["usage"];
    assert_eq!(u["rows_read"], 120);
    assert_eq!(u["rows_used"], 116);
    assert_eq!(u["after_as_of"], 1);
    assert_eq!(u["rejected"]["negative_events"], 1);
    assert_eq!(u["orphaned"]["null_customer_id"], 1);
    assert_eq!(u["orphaned"]["unknown_customer_id"], 1);
    assert_eq!(u["earliest_event_date"], "2026-11-15");
    assert_eq!(u["latest_event_date"], D);
    close(u["rejected_share"].as_f64(), 1.0 / 119.0, "rejected share");
    close(
        j["tables"]["support_tickets"]["null_shares"]["closed_at"].as_f64(),
        0.4,
        "closed_at",
    );
    close(
        j["tables"]["accounts"]["null_shares"]["signup_date"].as_f64(),
        1.0 / 6.0,
        "signup_date",
    );
    assert_eq!(j["guards"]["max_rejected_share"], 0.5);
}

#[test]
fn check_refused_by_a_guard_is_exit_2_with_the_report() {
    let case = Case::strict();
    let mut fx = Fixture::valid(5);
    fx.usage[0].events = Some(-1);
    fx.usage[1].events = Some(-1);
    fx.write(&case.input());
    let before = files_under(&case);
    let r = case.check(&[]);
    assert_refused(&case, &r, 2, &["table usage", "max_rejected_share"]);
    assert!(
        r.stdout
            .contains("rejected: negative_events 2 (2.00% of 100 rows"),
        "{}",
        r.stdout
    );
    assert_eq!(files_under(&case), before);
    let r = case.check(&["--format", "json"]);
    assert_eq!(r.code, 2);
    let j: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(j["status"], "error");
    assert_eq!(j["error"]["kind"], "guard");
    assert_eq!(j["error"]["table"], "usage");
    assert_eq!(j["tables"]["usage"]["rejected"]["negative_events"], 2);
}

#[test]
fn check_refuses_a_contract_breach_like_run() {
    let case = Case::strict();
    Fixture::valid(4).write_with(&case.input(), |t, df| {
        if t == "survey_responses" {
            without(df, "kind")
        } else {
            df
        }
    });
    let r = case.check(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &["table survey_responses", "`kind`", "missing", "a string"],
    );
    let run = case.run(&[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.lines().last(),
        r.stderr.lines().last(),
        "check and run give the same message"
    );
}

#[test]
fn check_of_a_stale_export_is_exit_2() {
    let case = Case::strict();
    let mut fx = Fixture::valid(4);
    for u in &mut fx.usage {
        u.day = u.day.map(|d| d + 10);
    }
    fx.write(&case.input());
    let r = case.check(&[]);
    assert_refused(&case, &r, 2, &["table usage", "max_lag_days"]);
    assert!(r
        .stdout
        .contains("freshness: usage latest event date 2026-11-14"));
}

#[test]
fn check_of_a_corrupt_object_is_exit_1() {
    let case = Case::strict();
    Fixture::valid(4).write(&case.input());
    std::fs::write(case.input().join("revenue/part-0.parquet"), b"PAR1").unwrap();
    let r = case.check(&[]);
    assert_refused(
        &case,
        &r,
        1,
        &["cannot read Parquet object", "revenue/part-0.parquet"],
    );
}

#[test]
fn check_of_duplicate_accounts_is_exit_2() {
    let case = Case::strict();
    let mut fx = Fixture::valid(4);
    fx.accounts[3].id = id(0);
    fx.write(&case.input());
    let r = case.check(&[]);
    assert_refused(&case, &r, 2, &["table accounts", "unique", "A000"]);
}
