//! Storage and I/O (exit 1, the object named)

use super::*;

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
