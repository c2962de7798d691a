//! Folders: Hive partitions, several files, one file

use super::*;

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
