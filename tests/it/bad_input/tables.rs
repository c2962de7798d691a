//! Tables and columns (exit 2, nothing written)

use super::*;

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
