//! Types only other writers produce (pyarrow, Spark): run when a Python with
//! pyarrow is at hand (`make test` provides one), skipped otherwise.

use super::*;

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
