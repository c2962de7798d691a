use super::*;
use std::sync::Mutex;

fn frame(rows: usize) -> LazyFrame {
    DataFrame::new_infer_height(vec![Column::new(
        "x".into(),
        (0..rows as i32).collect::<Vec<_>>(),
    )])
    .unwrap()
    .lazy()
}

fn heights(parts: Vec<LazyFrame>) -> Vec<usize> {
    parts
        .into_iter()
        .map(|p| p.collect().unwrap().height())
        .collect()
}

#[test]
fn small_metric_frames_share_parts_of_at_most_a_million_rows() {
    // 13 metrics × 100k accounts: 10 per part, then the other 3.
    let frames = (0..13).map(|_| frame(100_000)).collect();
    assert_eq!(
        heights(packed_parts(frames, 100_000)),
        vec![1_000_000, 300_000]
    );
    // 13 metrics × 60 accounts: one part.
    let frames = (0..13).map(|_| frame(60)).collect();
    assert_eq!(heights(packed_parts(frames, 60)), vec![780]);
}

#[test]
fn large_metric_frames_get_their_own_parts_split_at_a_million_rows() {
    let frames = vec![frame(600_000), frame(600_000)];
    assert_eq!(
        heights(packed_parts(frames, 600_000)),
        vec![600_000, 600_000]
    );
    let frames = vec![frame(2_500_000), frame(2_500_000)];
    assert_eq!(
        heights(packed_parts(frames, 2_500_000)),
        vec![1_000_000, 1_000_000, 500_000, 1_000_000, 1_000_000, 500_000]
    );
}

/// A table made row by row is split into parts as a frame is: at a
/// million rows, one empty part when it has no rows.
#[test]
fn made_tables_split_into_parts_of_a_million_rows() {
    let make = |_: usize, _: usize| -> Result<DataFrame> { unreachable!("not made") };
    let ranges = |rows| -> Vec<(usize, usize)> {
        made_parts(rows, &make)
            .into_iter()
            .map(|part| match part {
                Part::Made { start, len, .. } => (start, len),
                Part::Frame(_) | Part::Encoded(_) => panic!("a made part"),
            })
            .collect()
    };
    assert_eq!(ranges(0), [(0, 0)]);
    assert_eq!(ranges(5), [(0, 5)]);
    assert_eq!(
        ranges(2_500_000),
        [(0, 1_000_000), (1_000_000, 1_000_000), (2_000_000, 500_000)]
    );
}

/// A made part is asked for its row groups in order (131,072 rows each
/// from its first row, the last one shorter) and writes the bytes the
/// same rows write as one frame.
#[test]
fn a_made_part_is_made_a_row_group_at_a_time_into_the_same_bytes() {
    let rows = 2 * parquet::ROW_GROUP_ROWS + 7;
    let table = frame(1_000_000).collect().unwrap();
    let asked = Mutex::new(Vec::new());
    let make = |start: usize, len: usize| -> Result<DataFrame> {
        asked.lock().unwrap().push((start, len));
        Ok(table.slice(start as i64, len))
    };
    let cache = parquet::PageCache::default();
    let (bytes, written) = encode_made(100, rows, &make, &cache).unwrap();
    assert_eq!(written, rows);
    let r = parquet::ROW_GROUP_ROWS;
    assert_eq!(
        *asked.lock().unwrap(),
        [(100, r), (100 + r, r), (100 + 2 * r, 7)]
    );
    let whole = parquet::encode(table.slice(100, rows)).unwrap();
    assert_eq!(bytes, whole);
    // No rows: one empty group gives the schema.
    let (empty, none) = encode_made(0, 0, &make, &cache).unwrap();
    assert_eq!(none, 0);
    assert_eq!(empty, parquet::encode(table.slice(0, 0)).unwrap());
}

/// A row group that cannot be made fails the part with its error.
#[test]
fn a_failure_to_make_a_row_group_fails_the_part() {
    let make = |start: usize, _: usize| -> Result<DataFrame> {
        if start == 0 {
            Ok(frame(parquet::ROW_GROUP_ROWS).collect().unwrap())
        } else {
            Err(Error::Internal("scoring broke".into()))
        }
    };
    let cache = parquet::PageCache::default();
    let err = encode_made(0, 200_000, &make, &cache).unwrap_err();
    assert!(err.to_string().contains("scoring broke"), "{err}");
}
