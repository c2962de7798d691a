//! Bad input (SPEC §2, §3, §7): a corpus of broken warehouse exports, each
//! made here as tiny Parquet files. Every case asserts the exact exit code
//! and the key words of the message and that nothing was written, or, for
//! rows rejected under the guards, that the manifest counts exactly the
//! bad rows planted. The fixture is the default pipeline's five tables
//! (tests/common/bad_fixture.rs); row counts per table for `valid(n)`:
//! accounts n, usage 20n, the others 5n.

use crate::bad_fixture as fixture;
use crate::common;
use common::*;
use fixture::*;
use polars::prelude::*;

/// Runs a lenient case built from `fx` and returns it after asserting exit 0
/// and that every row is accounted for.
fn run_ok(fx: &Fixture) -> (Case, serde_json::Value) {
    let case = Case::lenient();
    fx.write(&case.input());
    let r = case.run(&[]);
    assert_ok(&r);
    let m = case.manifest();
    assert_balanced(&m, fx);
    (case, m)
}

fn pairs(v: &[(&str, i64)]) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = v.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    out.sort();
    out
}

/// Scores of the valid fixture, for comparing an equivalent input with.
fn baseline_scores(fx: &Fixture) -> DataFrame {
    let (case, _) = run_ok(fx);
    case.scores()
}

/// Runs `fx` written through `edit` and asserts it scores exactly like the
/// plain fixture (the widening was read as the contract's type).
fn assert_read_like_baseline(fx: &Fixture, edit: impl Fn(&str, DataFrame) -> DataFrame) {
    let expected = baseline_scores(fx);
    let case = Case::lenient();
    fx.write_with(&case.input(), edit);
    let r = case.run(&[]);
    assert_ok(&r);
    assert_balanced(&case.manifest(), fx);
    let got = case.scores();
    assert!(
        got.equals_missing(&expected),
        "scores differ from the plain fixture:\n{got}\n{expected}"
    );
}

// ---------------------------------------------------------------------------
// Tables and columns (exit 2, nothing written)
// ---------------------------------------------------------------------------

#[test]
fn missing_table_is_exit_2() {
    let case = Case::strict();
    Fixture::valid(4).write(&case.input());
    std::fs::remove_dir_all(case.input().join("revenue")).unwrap();
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &["table revenue", "no Parquet file", "[sources.revenue]"],
    );
}

#[test]
fn missing_column_is_exit_2() {
    let case = Case::strict();
    Fixture::valid(4).write_with(&case.input(), |t, df| {
        if t == "usage" {
            without(df, "events")
        } else {
            df
        }
    });
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &["table usage", "`events`", "missing", "an integer"],
    );
}

#[test]
fn column_renamed_by_the_warehouse_is_exit_2_with_a_hint() {
    let case = Case::strict();
    Fixture::valid(4).write_with(&case.input(), |t, df| {
        if t == "usage" {
            renamed(df, "events", "event_count")
        } else {
            df
        }
    });
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &[
            "table usage",
            "`events`",
            "event_count",
            "[sources.usage] columns",
        ],
    );
}

fn renamed_pipeline() -> String {
    lenient_pipeline().replace(
        "[sources.usage]\npath = \"usage\"\n",
        "[sources.usage]\npath = \"usage\"\ncolumns = { events = \"event_count\", customer_id = \"account\" }\n",
    )
}

#[test]
fn column_renamed_in_the_pipeline_is_read() {
    let fx = Fixture::valid(4);
    let expected = baseline_scores(&fx);
    let case = Case::new(&renamed_pipeline());
    fx.write_with(&case.input(), |t, df| {
        if t == "usage" {
            renamed(
                renamed(df, "events", "event_count"),
                "customer_id",
                "account",
            )
        } else {
            df
        }
    });
    let r = case.run(&[]);
    assert_ok(&r);
    assert_balanced(&case.manifest(), &fx);
    assert!(case.scores().equals_missing(&expected));
}

#[test]
fn column_mapped_in_the_pipeline_but_absent_is_exit_2() {
    let case = Case::new(&renamed_pipeline());
    Fixture::valid(4).write_with(&case.input(), |t, df| {
        if t == "usage" {
            renamed(df, "customer_id", "account")
        } else {
            df
        }
    });
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &[
            "table usage",
            "`event_count`",
            "canonical `events`",
            "missing",
        ],
    );
}

#[test]
fn int_column_exported_as_string_is_exit_2() {
    let case = Case::strict();
    Fixture::valid(4).write_with(&case.input(), |t, df| {
        if t == "usage" {
            recast(df, "events", DataType::String)
        } else {
            df
        }
    });
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &["table usage", "`events`", "str", "expected an integer"],
    );
}

#[test]
fn date_column_exported_as_string_is_exit_2() {
    let case = Case::strict();
    Fixture::valid(4).write_with(&case.input(), |t, df| {
        if t == "usage" {
            recast(df, "date", DataType::String)
        } else {
            df
        }
    });
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &["table usage", "`date`", "str", "expected a date"],
    );
}

#[test]
fn timestamp_column_exported_as_string_is_exit_2() {
    let case = Case::strict();
    Fixture::valid(4).write_with(&case.input(), |t, df| {
        if t == "support_tickets" {
            recast(df, "opened_at", DataType::String)
        } else {
            df
        }
    });
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &["table support_tickets", "`opened_at`", "expected a date"],
    );
}

#[test]
fn numeric_column_exported_as_string_is_exit_2() {
    let case = Case::strict();
    Fixture::valid(4).write_with(&case.input(), |t, df| {
        if t == "revenue" {
            recast(df, "mrr", DataType::String)
        } else {
            df
        }
    });
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &["table revenue", "`mrr`", "expected a number"],
    );
}

#[test]
fn int_column_exported_as_float_is_exit_2() {
    let case = Case::strict();
    Fixture::valid(4).write_with(&case.input(), |t, df| {
        if t == "survey_responses" {
            recast(df, "score", DataType::Float64)
        } else {
            df
        }
    });
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &[
            "table survey_responses",
            "`score`",
            "f64",
            "expected an integer",
        ],
    );
}

#[test]
fn string_column_exported_as_int_is_exit_2() {
    let case = Case::strict();
    Fixture::valid(4).write_with(&case.input(), |t, df| {
        if t == "usage" {
            with_col(
                df.clone(),
                Column::new("feature".into(), vec![7i64; df.height()]),
            )
        } else {
            df
        }
    });
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &["table usage", "`feature`", "i64", "expected a string"],
    );
}

#[test]
fn account_column_of_the_wrong_type_is_exit_2_without_values() {
    let case = Case::strict();
    Fixture::valid(4).write_with(&case.input(), |t, df| {
        if t == "accounts" {
            recast(df, "signup_date", DataType::String)
        } else {
            df
        }
    });
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &["table accounts", "`signup_date`", "expected a date"],
    );
    assert!(!r.stderr.contains("2026-"), "no row values: {}", r.stderr);
}

#[test]
fn contract_error_as_json_names_kind_table_and_column() {
    let case = Case::strict();
    Fixture::valid(4).write_with(&case.input(), |t, df| {
        if t == "revenue" {
            without(df, "days_past_due")
        } else {
            df
        }
    });
    let r = case.run(&["--format", "json"]);
    assert_eq!(r.code, 2);
    let j: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(j["status"], "error");
    assert_eq!(j["exit_code"], 2);
    assert_eq!(j["error"]["kind"], "contract");
    assert_eq!(j["error"]["table"], "revenue");
    assert_eq!(j["error"]["column"], "days_past_due");
    assert_eq!(j["error"]["retryable"], false);
    assert!(!case.out().exists());
}

// ---------------------------------------------------------------------------
// Every accepted widening is read as the contract's type
// ---------------------------------------------------------------------------

fn ints_as(dt: DataType) -> impl Fn(&str, DataFrame) -> DataFrame {
    move |t, df| match t {
        "usage" => recast(recast(df, "events", dt.clone()), "users", dt.clone()),
        "survey_responses" => recast(df, "score", dt.clone()),
        "revenue" => recast(df, "days_past_due", dt.clone()),
        "accounts" => recast(df, "seats", dt.clone()),
        _ => df,
    }
}

#[test]
fn int8_columns_are_accepted() {
    assert_read_like_baseline(&Fixture::valid(4), ints_as(DataType::Int8));
}

#[test]
fn int16_columns_are_accepted() {
    assert_read_like_baseline(&Fixture::valid(4), ints_as(DataType::Int16));
}

#[test]
fn int32_columns_are_accepted() {
    assert_read_like_baseline(&Fixture::valid(4), ints_as(DataType::Int32));
}

#[test]
fn unsigned_columns_are_accepted() {
    let fx = Fixture::valid(4);
    assert_read_like_baseline(&fx, ints_as(DataType::UInt8));
    assert_read_like_baseline(&fx, ints_as(DataType::UInt16));
    assert_read_like_baseline(&fx, ints_as(DataType::UInt32));
    assert_read_like_baseline(&fx, ints_as(DataType::UInt64));
}

#[test]
fn float32_and_integer_numeric_columns_are_accepted() {
    // Values exact in f32 and in integers.
    let mut fx = Fixture::valid(4);
    for r in &mut fx.revenue {
        r.mrr = r.mrr.map(f64::round);
    }
    for a in &mut fx.accounts {
        a.pct = a.pct.map(f64::round);
    }
    assert_read_like_baseline(&fx, |t, df| match t {
        "revenue" => recast(df, "mrr", DataType::Float32),
        "accounts" => recast(df, "onboarding_completion_pct", DataType::Float32),
        _ => df,
    });
    assert_read_like_baseline(&fx, |t, df| match t {
        "revenue" => recast(df, "mrr", DataType::Int64),
        "accounts" => recast(df, "onboarding_completion_pct", DataType::Int32),
        _ => df,
    });
}

#[test]
fn date_column_as_timestamp_in_every_unit_and_zone_is_accepted() {
    let fx = Fixture::valid(4);
    let expected = baseline_scores(&fx);
    let days: Vec<Option<i64>> = fx.usage.iter().map(|u| u.day).collect();
    let months: Vec<Option<i64>> = fx.revenue.iter().map(|r| r.month).collect();
    for unit in [
        TimeUnit::Milliseconds,
        TimeUnit::Microseconds,
        TimeUnit::Nanoseconds,
    ] {
        for tz in [
            None,
            Some("UTC"),
            Some("America/New_York"),
            Some("Asia/Tokyo"),
        ] {
            let case = Case::lenient();
            fx.write_with(&case.input(), |t, df| match t {
                // 10:00 UTC: the same UTC calendar date as the plain Date.
                "usage" => with_col(df, ts_unit_col("date", &days, 36_000, unit, tz)),
                "revenue" => with_col(df, ts_unit_col("month", &months, 36_000, unit, tz)),
                _ => df,
            });
            let r = case.run(&[]);
            assert_ok(&r);
            assert_balanced(&case.manifest(), &fx);
            assert!(
                case.scores().equals_missing(&expected),
                "{unit:?} {tz:?} differs"
            );
        }
    }
}

#[test]
fn timestamp_columns_as_date_and_other_units_are_accepted() {
    let fx = Fixture::valid(4);
    let opened: Vec<Option<i64>> = fx.tickets.iter().map(|t| t.opened).collect();
    let at: Vec<Option<i64>> = fx.surveys.iter().map(|s| s.at).collect();
    assert_read_like_baseline(&fx, |t, df| match t {
        "support_tickets" => with_col(df, date_col("opened_at", &opened)),
        "survey_responses" => with_col(
            df,
            ts_unit_col(
                "responded_at",
                &at,
                43_200,
                TimeUnit::Nanoseconds,
                Some("Europe/Berlin"),
            ),
        ),
        "accounts" => {
            let signup: Vec<Option<i64>> = fx.accounts.iter().map(|a| a.signup).collect();
            with_col(
                df,
                ts_unit_col("signup_date", &signup, 0, TimeUnit::Milliseconds, None),
            )
        }
        _ => df,
    });
}

#[test]
fn the_utc_calendar_date_of_a_zoned_timestamp_is_used() {
    // 2026-11-24T23:30:00-05:00 is 2026-11-25 04:30 UTC: after D.
    // 2026-11-25T01:00:00+09:00 is 2026-11-24 16:00 UTC: on D.
    let fx = Fixture::valid(4);
    let case = Case::lenient();
    let mut days: Vec<Option<i64>> = fx.usage.iter().map(|u| u.day).collect();
    days[0] = Some(-1); // 2026-11-25, 04:30 UTC
    days[1] = Some(0); // 2026-11-24, 16:00 UTC
    fx.write_with(&case.input(), |t, df| {
        if t != "usage" {
            return df;
        }
        // Seconds into the UTC day: row 0 at 04:30, row 1 at 16:00, others noon.
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let v: Vec<Option<i64>> = days
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let secs = match i {
                    0 => 4 * 3600 + 1800,
                    1 => 16 * 3600,
                    _ => 12 * 3600,
                };
                d.map(|d| ((day(d) - epoch).num_days() * 86_400 + secs) * 1_000_000)
            })
            .collect();
        let tz0 = TimeZone::opt_try_new(Some("America/New_York")).unwrap();
        let c = Series::new("date".into(), v)
            .cast(&DataType::Datetime(TimeUnit::Microseconds, tz0))
            .unwrap()
            .into_column();
        with_col(df, c)
    });
    let r = case.run(&[]);
    assert_ok(&r);
    let m = case.manifest();
    assert_eq!(count(&m, "usage", "after_as_of"), 1);
    assert_eq!(
        counts(&m, "usage")["latest_event_date"].as_str(),
        Some(D),
        "the +09:00 row is dated D in UTC"
    );
    let mut fx2 = fx.clone();
    fx2.usage[0].day = Some(-1);
    assert_balanced(&m, &fx2);
}

#[test]
fn categorical_strings_are_accepted() {
    assert_read_like_baseline(&Fixture::valid(4), |t, df| {
        let cat = DataType::from_categories(Categories::global());
        match t {
            "accounts" => recast(recast(df, "segment", cat.clone()), "customer_id", cat),
            "usage" => recast(recast(df, "feature", cat.clone()), "customer_id", cat),
            "support_tickets" => recast(df, "priority", cat),
            "survey_responses" => recast(df, "kind", cat),
            _ => df,
        }
    });
}

// ---------------------------------------------------------------------------
// Storage and I/O (exit 1, the object named)
// ---------------------------------------------------------------------------

#[test]
fn truncated_parquet_is_exit_1_naming_the_file() {
    let case = Case::strict();
    Fixture::valid(4).write(&case.input());
    let file = case.input().join("usage/part-0.parquet");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let r = case.run(&[]);
    assert_refused(&case, &r, 1, &["usage/part-0.parquet"]);
}

#[test]
fn garbage_instead_of_parquet_is_exit_1_naming_the_file() {
    let case = Case::strict();
    Fixture::valid(4).write(&case.input());
    std::fs::write(
        case.input().join("accounts/part-0.parquet"),
        b"id,name\nA000,x\n",
    )
    .unwrap();
    let r = case.run(&[]);
    assert_refused(&case, &r, 1, &["accounts/part-0.parquet"]);
}

#[test]
fn corrupt_data_pages_are_exit_1_naming_the_file() {
    // The footer is intact (the schema reads), the column data is not.
    let case = Case::strict();
    let fx = Fixture::valid(40);
    fx.write(&case.input());
    let file = case.input().join("usage/part-0.parquet");
    let mut bytes = std::fs::read(&file).unwrap();
    let footer = u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap());
    let data_end = bytes.len() - 8 - footer as usize;
    for b in &mut bytes[4..data_end] {
        *b = 0xAB;
    }
    std::fs::write(&file, &bytes).unwrap();
    let r = case.run(&[]);
    assert_refused(&case, &r, 1, &["usage/part-0.parquet"]);
}

#[test]
fn one_corrupt_file_of_a_multi_file_table_is_named() {
    let case = Case::strict();
    let fx = Fixture::valid(4);
    fx.write(&case.input());
    let usage = fx.usage_df();
    write_parquet(&case.input(), "usage/part-1.parquet", usage.slice(0, 10));
    std::fs::write(
        case.input().join("usage/part-2.parquet"),
        b"PAR1 not really",
    )
    .unwrap();
    let r = case.run(&[]);
    assert_refused(&case, &r, 1, &["usage/part-2.parquet"]);
}

#[test]
fn missing_input_folder_is_exit_1() {
    let case = Case::strict();
    let r = case.run(&[]);
    assert_refused(&case, &r, 1, &[case.input().to_str().unwrap(), "missing"]);
}

// ---------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Row rules of SPEC §7, each counted under its name
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Data guards
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Folders: Hive partitions, several files, one file
// ---------------------------------------------------------------------------

#[test]
fn hive_partitioned_table_is_read_as_one() {
    // usage/date=YYYY-MM-DD/part-0.parquet, the date only in the path.
    let fx = Fixture::valid(4);
    let expected = baseline_scores(&fx);
    let case = Case::lenient();
    fx.write(&case.input());
    std::fs::remove_dir_all(case.input().join("usage")).unwrap();
    for d in 0..10 {
        let rows: Vec<Use> = fx
            .usage
            .iter()
            .filter(|u| u.day == Some(d))
            .cloned()
            .collect();
        let part = Fixture {
            usage: rows,
            ..fx.clone()
        };
        let df = without(part.usage_df(), "date");
        write_parquet(
            &case.input(),
            &format!("usage/date={}/part-0.parquet", day(d)),
            df,
        );
    }
    let r = case.run(&[]);
    assert_ok(&r);
    assert_balanced(&case.manifest(), &fx);
    assert!(case.scores().equals_missing(&expected));
}

#[test]
fn hive_partitions_with_extra_keys_and_spark_markers_are_read_as_one() {
    let fx = Fixture::valid(4);
    let expected = baseline_scores(&fx);
    let case = Case::lenient();
    fx.write(&case.input());
    std::fs::remove_dir_all(case.input().join("revenue")).unwrap();
    let df = fx.revenue_df();
    let half = df.height() / 2;
    write_parquet(
        &case.input(),
        "revenue/region=eu/part-0.parquet",
        df.slice(0, half),
    );
    write_parquet(
        &case.input(),
        "revenue/region=us/part-0.parquet",
        df.slice(half as i64, df.height() - half),
    );
    std::fs::write(case.input().join("revenue/_SUCCESS"), b"").unwrap();
    std::fs::write(
        case.input().join("revenue/region=eu/.part-0.parquet.crc"),
        b"x",
    )
    .unwrap();
    let r = case.run(&[]);
    assert_ok(&r);
    assert_balanced(&case.manifest(), &fx);
    assert!(case.scores().equals_missing(&expected));
}

#[test]
fn several_files_with_different_integer_widths_are_read_as_one() {
    let fx = Fixture::valid(4);
    let expected = baseline_scores(&fx);
    let case = Case::lenient();
    fx.write(&case.input());
    std::fs::remove_dir_all(case.input().join("usage")).unwrap();
    let df = fx.usage_df();
    let n = df.height() as i64;
    write_parquet(&case.input(), "usage/part-0.parquet", df.slice(0, 30));
    write_parquet(
        &case.input(),
        "usage/part-1.parquet",
        recast(df.slice(30, 30), "events", DataType::Int32),
    );
    write_parquet(
        &case.input(),
        "usage/part-2.parquet",
        recast(df.slice(60, (n - 60) as usize), "users", DataType::UInt16),
    );
    let r = case.run(&[]);
    assert_ok(&r);
    assert_balanced(&case.manifest(), &fx);
    assert!(case.scores().equals_missing(&expected));
}

#[test]
fn one_file_of_the_wrong_type_in_a_multi_file_table_is_exit_2_naming_it() {
    let case = Case::strict();
    let fx = Fixture::valid(4);
    fx.write(&case.input());
    let bad = recast(fx.usage_df().slice(0, 5), "events", DataType::String);
    write_parquet(&case.input(), "usage/part-1.parquet", bad);
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &[
            "table usage",
            "`events`",
            "expected an integer",
            "usage/part-1.parquet",
        ],
    );
}

#[test]
fn one_file_missing_a_column_in_a_multi_file_table_is_exit_2_naming_it() {
    let case = Case::strict();
    let fx = Fixture::valid(4);
    fx.write(&case.input());
    let bad = without(fx.usage_df().slice(0, 5), "users");
    write_parquet(&case.input(), "usage/part-1.parquet", bad);
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &["table usage", "`users`", "missing", "usage/part-1.parquet"],
    );
}

#[test]
fn a_table_given_as_one_file_is_read() {
    let fx = Fixture::valid(4);
    let pipeline = lenient_pipeline().replace(
        "[sources.usage]\npath = \"usage\"",
        "[sources.usage]\npath = \"exports/usage.parquet\"",
    );
    let case = Case::new(&pipeline);
    fx.write(&case.input());
    std::fs::remove_dir_all(case.input().join("usage")).unwrap();
    write_parquet(&case.input(), "exports/usage.parquet", fx.usage_df());
    let r = case.run(&[]);
    assert_ok(&r);
    assert_balanced(&case.manifest(), &fx);
}

// ---------------------------------------------------------------------------
// healthscore check: the same checks, a report, nothing written
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Types only other writers produce (pyarrow, Spark): run when a Python with
// pyarrow is at hand (`make test` provides one), skipped otherwise.
// ---------------------------------------------------------------------------

#[test]
fn arrow_types_from_other_writers_are_accepted() {
    // Never skipped: without the test venv's Python this test fails.
    let fx = Fixture::valid(4);
    let expected = baseline_scores(&fx);
    let case = Case::lenient();
    fx.write(&case.input());
    // Seconds-unit zoned timestamps (stored as ms with the Arrow schema),
    // legacy INT96 timestamps (Spark, Impala), date64, LargeString,
    // StringView, dictionary strings, unsigned 64-bit and 8-bit integers.
    let script = r#"
import sys, pyarrow as pa, pyarrow.parquet as pq, pyarrow.compute as pc
root = sys.argv[1]
def rewrite(table, casts, **kw):
    path = f"{root}/{table}/part-0.parquet"
    t = pq.read_table(path)
    for name, f in casts.items():
        i = t.schema.get_field_index(name)
        t = t.set_column(i, name, f(t.column(name)))
    pq.write_table(t, path, **kw)
rewrite("usage", {
    "date": lambda c: pc.cast(pc.cast(c, pa.timestamp("s")), pa.timestamp("s", tz="America/New_York")),
    "customer_id": lambda c: pc.cast(c, pa.string_view()),
    "feature": lambda c: pc.cast(c, pa.string()).dictionary_encode(),
    "events": lambda c: pc.cast(c, pa.uint64()),
    "users": lambda c: pc.cast(c, pa.uint8()),
})
rewrite("support_tickets", {
    "opened_at": lambda c: pc.cast(c, pa.timestamp("ns")),
    "closed_at": lambda c: pc.cast(c, pa.timestamp("ns")),
    "priority": lambda c: pc.cast(c, pa.large_string()),
}, use_deprecated_int96_timestamps=True, store_schema=False)
rewrite("survey_responses", {
    "kind": lambda c: pc.cast(c, pa.string()),
    "score": lambda c: pc.cast(c, pa.int8()),
})
rewrite("revenue", {"month": lambda c: pc.cast(c, pa.date64())})
rewrite("accounts", {"segment": lambda c: pc.cast(c, pa.large_string()).dictionary_encode()})
"#;
    run_python(script, &case.input());
    let r = case.run(&[]);
    assert_ok(&r);
    assert_balanced(&case.manifest(), &fx);
    assert!(case.scores().equals_missing(&expected));
}

// ---------------------------------------------------------------------------
// A further event table of the warehouse (SPEC §2): same rules
// ---------------------------------------------------------------------------

fn with_calls_table() -> String {
    lenient_pipeline()
        .replace(
            "[sources.revenue]\npath = \"revenue\"\n",
            "[sources.revenue]\npath = \"revenue\"\n[sources.csm_calls]\npath = \"crm/calls\"\ndate = \"called_on\"\n",
        )
        .replace(
            "# --- adoption",
            "[[metrics]]\nname = \"calls_90d\"\ntable = \"csm_calls\"\nagg = \"count\"\nwindow_days = 90\n\n# --- adoption",
        )
}

fn calls(ids: &[Option<&str>], days: &[Option<i64>]) -> DataFrame {
    DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), ids.to_vec()),
        ts_col("called_on", days),
        Column::new("minutes".into(), vec![10i64; ids.len()]),
    ])
    .unwrap()
}

#[test]
fn a_further_event_table_counts_null_dates_orphans_and_late_rows() {
    let fx = Fixture::valid(4);
    let case = Case::new(&with_calls_table());
    fx.write(&case.input());
    write_parquet(
        &case.input(),
        "crm/calls/part-0.parquet",
        calls(
            &[
                Some("A000"),
                Some("A000"),
                Some("A001"),
                None,
                Some("nobody"),
                Some("A002"),
            ],
            &[Some(1), Some(100), None, Some(2), Some(3), Some(-1)],
        ),
    );
    let r = case.run(&[]);
    assert_ok(&r);
    let m = case.manifest();
    assert_balanced(&m, &fx);
    assert_eq!(count(&m, "csm_calls", "rows_read"), 6);
    assert_eq!(count(&m, "csm_calls", "rows_used"), 2);
    assert_eq!(count(&m, "csm_calls", "after_as_of"), 1);
    assert_eq!(rejected(&m, "csm_calls"), pairs(&[("null_called_on", 1)]));
    assert_eq!(count(&m, "csm_calls", "orphaned.null_customer_id"), 1);
    assert_eq!(count(&m, "csm_calls", "orphaned.unknown_customer_id"), 1);
    let df = case.scores();
    close(
        f(&df, "calls_90d", row_of(&df, "A000")),
        1.0,
        "the call 100 days ago is outside 90 days",
    );
}

#[test]
fn a_further_event_table_with_a_text_date_is_exit_2() {
    let case = Case::new(&with_calls_table());
    Fixture::valid(4).write(&case.input());
    let df = calls(&[Some("A000")], &[Some(1)]);
    write_parquet(
        &case.input(),
        "crm/calls/part-0.parquet",
        recast(df, "called_on", DataType::String),
    );
    let r = case.run(&[]);
    assert_refused(
        &case,
        &r,
        2,
        &["table csm_calls", "`called_on`", "expected a date"],
    );
}
