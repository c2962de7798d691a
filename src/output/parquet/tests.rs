use std::io::Cursor;

use polars_parquet::arrow::write::to_parquet_type;
use polars_parquet::parquet::compression::Compression;
use polars_parquet::parquet::metadata::ColumnChunkMetadata;
use polars_parquet::parquet::statistics::Statistics;
use polars_parquet::read::_read_metadata;

use super::*;

/// The writer's layout: every column zstd, many-valued floats and
/// customer ids plain (no dictionary page), few-valued floats, strings
/// and enums as dictionaries, row groups of [`ROW_GROUP_ROWS`]; readers
/// see strings.
#[test]
fn ids_and_many_valued_floats_plain_few_valued_columns_as_dictionaries_all_zstd() {
    let n = ROW_GROUP_ROWS + 10;
    let bands = ["Healthy", "At-Risk", "Critical"];
    let enum_type = DataType::from_frozen_categories(
        FrozenCategories::new(["enterprise", "standard"]).expect("distinct"),
    );
    let df = df![
        "customer_id" => (0..n).map(|i| format!("C{i:07}")).collect::<Vec<_>>(),
        "band" => (0..n).map(|i| bands[i % 3]).collect::<Vec<_>>(),
        "points" => (0..n).map(|i| (i % 5) as f64 * 25.0).collect::<Vec<_>>(),
        "ratio" => (0..n).map(|i| i as f64 / 7.0).collect::<Vec<_>>(),
        "score" => (0..n).map(|i| (i % 101) as i32).collect::<Vec<_>>(),
    ]
    .expect("frame")
    .lazy()
    .with_column(
        when(col("score").gt(lit(50)))
            .then(lit("enterprise"))
            .otherwise(lit("standard"))
            .cast(enum_type)
            .alias("scorecard"),
    )
    .collect()
    .expect("frame");
    let bytes = encode(df).expect("encodes");
    let md = _read_metadata(&mut Cursor::new(bytes.to_vec())).expect("footer");
    assert_eq!(md.row_groups.len(), 2);
    assert_eq!(md.row_groups[0].num_rows(), ROW_GROUP_ROWS);
    let column = |name: &str| -> &ColumnChunkMetadata {
        md.row_groups[0]
            .columns_under_root_iter(name)
            .and_then(|mut c| c.next())
            .expect("column")
    };
    for (name, dictionary) in [
        ("customer_id", false),
        ("points", true),
        ("ratio", false),
        ("band", true),
        ("score", true),
        ("scorecard", true),
    ] {
        let c = column(name);
        assert_eq!(c.compression(), Compression::Zstd, "{name}");
        assert_eq!(c.dictionary_page_offset().is_some(), dictionary, "{name}");
    }
    // The enum's second row group (10 rows, score 75..=84) holds only
    // "enterprise": its dictionary and statistics name that value alone,
    // not every name of the enum.
    // The footer the statistics point into: the metadata and its
    // length and magic (8 bytes) at the file's end.
    let file = bytes.to_vec();
    let metadata_len = u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap());
    let footer = &file[file.len() - metadata_len as usize - 8..];
    let stats = md.row_groups[1]
        .columns_under_root_iter("scorecard")
        .and_then(|mut c| c.next())
        .expect("column")
        .statistics(footer)
        .expect("statistics")
        .expect("readable");
    let Statistics::Binary(stats) = stats else {
        panic!("text statistics are binary");
    };
    assert_eq!(stats.min_value.as_deref(), Some(b"enterprise".as_slice()));
    assert_eq!(stats.max_value.as_deref(), Some(b"enterprise".as_slice()));
    let back = ParquetReader::new(Cursor::new(bytes.to_vec()))
        .finish()
        .expect("reads back");
    assert_eq!(back.column("scorecard").unwrap().dtype(), &DataType::String);
    assert_eq!(back.column("band").unwrap().dtype(), &DataType::String);
    let sc = back.column("scorecard").unwrap().str().unwrap().clone();
    // score = i % 101: rows 0..=50 standard, 51..=100 enterprise.
    assert_eq!(sc.get(50), Some("standard"));
    assert_eq!(sc.get(51), Some("enterprise"));
    assert_eq!(
        sc.get(n - 1),
        Some(["standard", "enterprise"][usize::from((n - 1) % 101 > 50)])
    );
}

/// A float column of at most [`FEW_FLOATS`] values in a row group is
/// a dictionary of their exact bits (−0 stays −0, nulls stay null) with
/// the statistics of its values; one value more and it is plain.
#[test]
fn few_valued_floats_are_dictionaries_of_exact_values() {
    // Row group 0: values cycle over −0, +0, −1.5, 2.5, with every
    // seventh row null; min −1.5, max 2.5.
    let cycle = [-0.0, 0.0, -1.5, 2.5];
    let few: Vec<Option<f64>> = (0..ROW_GROUP_ROWS)
        .map(|i| (i % 7 != 3).then_some(cycle[i % 4]))
        .collect();
    let nulls = (0..ROW_GROUP_ROWS).filter(|i| i % 7 == 3).count();
    // Exactly FEW_FLOATS values, then one more.
    let at_limit: Vec<Option<f64>> = (0..ROW_GROUP_ROWS)
        .map(|i| Some((i % FEW_FLOATS) as f64))
        .collect();
    let over: Vec<Option<f64>> = (0..ROW_GROUP_ROWS)
        .map(|i| Some((i % (FEW_FLOATS + 1)) as f64))
        .collect();
    let df = df!["few" => few.clone(), "at_limit" => at_limit, "over" => over].expect("frame");
    let bytes = encode(df).expect("encodes");
    let md = _read_metadata(&mut Cursor::new(bytes.to_vec())).expect("footer");
    let column = |name: &str| -> &ColumnChunkMetadata {
        md.row_groups[0]
            .columns_under_root_iter(name)
            .and_then(|mut c| c.next())
            .expect("column")
    };
    for (name, dictionary) in [("few", true), ("at_limit", true), ("over", false)] {
        assert_eq!(
            column(name).dictionary_page_offset().is_some(),
            dictionary,
            "{name}"
        );
    }
    let file = bytes.to_vec();
    let metadata_len = u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap());
    let footer = &file[file.len() - metadata_len as usize - 8..];
    let Statistics::Double(stats) = column("few")
        .statistics(footer)
        .expect("statistics")
        .expect("readable")
    else {
        panic!("double statistics");
    };
    assert_eq!(stats.min_value, Some(-1.5));
    assert_eq!(stats.max_value, Some(2.5));
    assert_eq!(stats.null_count, Some(nulls as i64));
    let back = ParquetReader::new(Cursor::new(file))
        .finish()
        .expect("reads back");
    let got: Vec<Option<u64>> = back
        .column("few")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.map(f64::to_bits))
        .collect();
    let want: Vec<Option<u64>> = few.iter().map(|v| v.map(f64::to_bits)).collect();
    assert_eq!(got, want);
    let over = back.column("over").unwrap().f64().unwrap().clone();
    assert_eq!(over.get(FEW_FLOATS), Some(FEW_FLOATS as f64));
    assert_eq!(over.get(FEW_FLOATS + 1), Some(0.0));
}

/// Parts sharing a customer_id column or a float column (under any
/// name) reuse its pages and write the same bytes as without the cache;
/// columns of the same length with other data are not mistaken for them.
#[test]
fn shared_columns_are_encoded_once_and_others_are_not_confused() {
    let n = ROW_GROUP_ROWS + 5;
    let ids = Column::new(
        "customer_id".into(),
        (0..n).map(|i| format!("C{i:07}")).collect::<Vec<_>>(),
    );
    let other_ids = Column::new(
        "customer_id".into(),
        (0..n).map(|i| format!("X{i:07}")).collect::<Vec<_>>(),
    );
    let loss = Column::new("loss".into(), (0..n).map(|i| i as f64).collect::<Vec<_>>());
    let other_loss = Column::new(
        "loss".into(),
        (0..n).map(|i| i as f64 * 3.0).collect::<Vec<_>>(),
    );
    let frame = |columns: Vec<Column>| DataFrame::new_infer_height(columns).expect("frame");
    let frames = [
        frame(vec![ids.clone(), loss.clone()]),
        frame(vec![ids.clone(), loss.clone().with_name("raw".into())]),
        frame(vec![other_ids.clone(), other_loss.clone()]),
    ];
    let cache = PageCache::default();
    cache.keep_floats(true);
    for df in &frames {
        let shared = encode_with(df.clone(), &cache).expect("encodes");
        let alone = encode(df.clone()).expect("encodes");
        assert_eq!(shared, alone);
    }
    // Frame 0 keeps ids and loss (2 row groups each: 4 entries); frame
    // 1 reuses both, and while floats are kept a reused float stays
    // (4); frame 2 keeps its own ids and loss (8).
    assert_eq!(cache.entries.lock().unwrap().len(), 8);
    // Kept buffers hold their compressed bytes, no spare capacity
    // (1.4 MB per page before; 29 kB of bytes).
    for (_, pages) in cache.entries.lock().unwrap().iter_mut() {
        for page in Arc::get_mut(pages).expect("only the cache holds them") {
            // (The 5-row second row groups of the floats are
            // dictionaries: their small dictionary pages are skipped.)
            let CompressedPage::Data(p) = page else {
                continue;
            };
            let buffer = p.slice_mut().to_mut();
            assert_eq!(buffer.capacity(), buffer.len());
        }
    }
    cache.keep_floats(false);
    let back = ParquetReader::new(Cursor::new(
        encode_with(frames[2].clone(), &cache).unwrap().to_vec(),
    ))
    .finish()
    .unwrap();
    // Floats no longer kept: frame 2's loss pages were used again, so
    // released; its ids stay.
    assert_eq!(cache.entries.lock().unwrap().len(), 6);
    let col = back.column("customer_id").unwrap().str().unwrap().clone();
    assert_eq!(col.get(n - 1), Some(format!("X{:07}", n - 1).as_str()));
    let raw = back.column("loss").unwrap().f64().unwrap().clone();
    assert_eq!(raw.get(n - 1), Some((n - 1) as f64 * 3.0));
}

/// The uncompressed pages polars-parquet writes for `array` with
/// `encoding`, as (header, bytes) text for comparison.
fn raw_pages(array: &ArrayRef, encoding: Encoding) -> Vec<String> {
    let field = ArrowField::new("c".into(), ArrowDataType::Utf8View, true);
    let type_ = to_parquet_type(&field).expect("parquet type");
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        compression: CompressionOptions::Uncompressed,
        version: Version::V1,
        data_page_size: None,
    };
    let mut out = Vec::new();
    for column in array_to_columns(array, type_, options, &[encoding]).expect("pages") {
        for page in column {
            out.push(match page.expect("page") {
                Page::Data(p) => format!("data {:?} {:?}", p.header(), p.buffer()),
                Page::Dict(p) => format!("dict {} {:?}", p.num_values, &p.buffer[..]),
            });
        }
    }
    out
}

/// A few-valued text column, from its views, gets the very pages
/// polars-parquet builds by hashing every row's string: the same
/// dictionary in the same order, keys, levels and statistics. A long
/// value stored once per row (a distinct view each time) is one
/// dictionary entry; nulls stay null.
#[test]
fn few_valued_text_gets_the_pages_of_the_hashing_path() {
    let values = ["Healthy", "renewal-risk-review", "At-Risk"];
    let column: StringChunked = (0..600usize)
        .map(|i| (i % 7 != 3).then(|| values[i % 3]))
        .collect();
    let array = column
        .downcast_iter()
        .next()
        .expect("a chunk")
        .clone()
        .boxed();
    let fast = few_valued_dictionary(array.as_ref()).expect("three values");
    assert_eq!(
        raw_pages(&fast, Encoding::RleDictionary),
        raw_pages(&array, Encoding::RleDictionary)
    );
    // Its dictionary: the three values in first-seen order (rows 0, 1, 2);
    // rows 3, 10, ..., 598 (86 rows) are null.
    let dict = fast
        .as_any()
        .downcast_ref::<DictionaryArray<u32>>()
        .expect("a dictionary");
    let names = dict
        .values()
        .as_any()
        .downcast_ref::<Utf8ViewArray>()
        .unwrap();
    assert_eq!(names.len(), 3);
    assert_eq!(names.value(0), "Healthy");
    assert_eq!(names.value(1), "renewal-risk-review");
    assert_eq!(names.value(2), "At-Risk");
    assert_eq!(dict.keys().null_count(), 86);
    // 65 distinct values: not few.
    let many: StringChunked = (0..65).map(|i| Some(format!("v{i}"))).collect();
    let many = many.downcast_iter().next().unwrap().clone().boxed();
    assert!(few_valued_dictionary(many.as_ref()).is_none());
}

/// A plain float column's pages carry the statistics polars-parquet
/// computes itself (same headers, same compressed bytes): nulls, NaN
/// (the first one), signed zeros, infinities, a page of nulls only,
/// and a column long enough for several pages.
#[test]
fn plain_float_statistics_are_polars_parquets_own() {
    let field = ArrowField::new("c".into(), ArrowDataType::Float64, true);
    let type_ = to_parquet_type(&field).expect("parquet type");
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        compression: CompressionOptions::Zstd(None),
        version: Version::V1,
        data_page_size: None,
    };
    let described = |pages: Vec<CompressedPage>| -> Vec<String> {
        pages
            .iter()
            .map(|p| match p {
                CompressedPage::Data(d) => format!("{:?} {}", d.header(), d.compressed_size()),
                CompressedPage::Dict(_) => "dictionary".to_string(),
            })
            .collect()
    };
    let nan = f64::from_bits(0x7ff8_0000_0000_0007);
    let columns: Vec<Vec<Option<f64>>> = vec![
        (0..1000)
            .map(|i| (i % 9 != 4).then_some(i as f64 * 0.37 - 150.0))
            .collect(),
        (0..1000)
            .map(|i| {
                Some(match i % 5 {
                    0 => -0.0,
                    1 => 0.0,
                    2 => f64::INFINITY,
                    _ => -(i as f64),
                })
            })
            .collect(),
        (0..1000)
            .map(|i| (i % 3 != 0).then_some(if i == 500 { nan } else { i as f64 }))
            .collect(),
        vec![None; 300],
        vec![Some(0.0); 10],
        (0..300_000u64)
            .map(|i| Some(((i * 7919) % 100_003) as f64 / 7.0))
            .collect(),
    ];
    for (k, values) in columns.into_iter().enumerate() {
        let array: ArrayRef = Box::new(PrimitiveArray::<f64>::from(values));
        let ours = column_pages(&array, &type_, Encoding::Plain, options).expect("pages");
        let mut polars = Vec::new();
        for column in
            array_to_columns(&array, type_.clone(), options, &[Encoding::Plain]).expect("pages")
        {
            for page in column {
                polars.push(compress_page(page.expect("page"), None).expect("compressed"));
            }
        }
        assert!(
            ours.iter()
                .all(|p| matches!(p, CompressedPage::Data(d) if d.statistics().is_some())),
            "column {k}"
        );
        assert_eq!(described(ours), described(polars), "column {k}");
    }
}

/// A code column (an enum) repeated by several parts is encoded once
/// and kept for the parts after; another column of the same codes in
/// other memory is not mistaken for it. Bytes are those without the
/// cache.
#[test]
fn shared_code_columns_are_encoded_once() {
    let n = ROW_GROUP_ROWS + 3;
    let names = DataType::from_frozen_categories(
        FrozenCategories::new(["enterprise", "standard"]).expect("distinct"),
    );
    let codes = |name: &str| -> Column {
        Column::new(
            name.into(),
            (0..n)
                .map(|i| ["enterprise", "standard"][i % 2])
                .collect::<Vec<_>>(),
        )
        .cast(&names)
        .expect("enum")
    };
    let shared = codes("scorecard");
    let other = codes("scorecard");
    let frame = |c: &Column| DataFrame::new_infer_height(vec![c.clone()]).expect("frame");
    let cache = PageCache::default();
    for (df, entries) in [(frame(&shared), 2), (frame(&shared), 2), (frame(&other), 4)] {
        let with_cache = encode_with(df.clone(), &cache).expect("encodes");
        assert_eq!(with_cache, encode(df).expect("encodes"));
        // Two row groups per new column, kept.
        assert_eq!(cache.entries.lock().unwrap().len(), entries);
    }
}
