//! Hand-computed cases for the kernel on its own (healthscore's tests run
//! it end to end).

use super::*;

/// Views and one data buffer for `strings` (inlined up to 12 bytes).
fn views(strings: &[&str]) -> (Vec<[u8; 16]>, Vec<u8>) {
    let mut data = Vec::new();
    let views = strings
        .iter()
        .map(|s| {
            let b = s.as_bytes();
            let mut v = [0u8; 16];
            v[0..4].copy_from_slice(&(b.len() as u32).to_ne_bytes());
            if b.len() <= 12 {
                v[4..4 + b.len()].copy_from_slice(b);
            } else {
                v[4..8].copy_from_slice(&b[0..4]);
                v[8..12].copy_from_slice(&0u32.to_ne_bytes());
                v[12..16].copy_from_slice(&(data.len() as u32).to_ne_bytes());
                data.extend_from_slice(b);
            }
            v
        })
        .collect();
    (views, data)
}

fn index(ids: &[&str]) -> Arc<AccountIndex> {
    let (v, d) = views(ids);
    let buffers = [d.as_slice()];
    Arc::new(AccountIndex::new(&[Strings::new(&v, &buffers)]))
}

#[test]
fn strings_read_inlined_and_buffered_values() {
    let (v, d) = views(&["a", "twelve bytes", "thirteen byte", ""]);
    let buffers = [d.as_slice()];
    let s = Strings::new(&v, &buffers);
    assert_eq!(s.get(0), b"a");
    assert_eq!(s.get(1), b"twelve bytes");
    assert_eq!(s.get(2), b"thirteen byte");
    assert_eq!(s.get(3), b"");
}

#[test]
fn row_accounting_orders_after_null_id_unknown_id_then_rules() {
    let idx = index(&["A", "B"]);
    let mut k = TableKernel::new(idx.clone(), &[Func::Count]);
    // Rows: valid A (day 10), valid B (day 12), after-D A, null id,
    // unknown Z (valid), unknown Z with rule 2, A with rule 2, B with rule
    // 1, valid A (day 7) whose optional column 1 is null.
    let (v, d) = views(&["A", "B", "A", "", "Z", "Z", "A", "B", "A"]);
    let buffers = [d.as_slice()];
    let status = [0, 0, STATUS_AFTER, STATUS_NULL_ID, 0, 2, 2, 1, 0];
    let day = [10, 12, 99, 5, 5, 5, 5, 5, 7];
    let flags = [0, 0, 0, 0, 0, 0, 0, 0, 0b10];
    let mask = [1u8; 9];
    k.add(&Batch {
        status: &status,
        day: &day,
        ids: Strings::new(&v, &buffers),
        null_flags: Some(&flags),
        aggs: vec![AggColumns {
            mask: &mask,
            values: Values::None,
        }],
    });
    let (t, out) = k.finish().expect("fits");
    assert_eq!(t.rows, 9);
    assert_eq!(t.after, 1);
    assert_eq!(t.orphan_null, 1);
    assert_eq!(t.orphan_unknown, 2); // both Z rows, the rejected one too
    assert_eq!(t.rejected[1], 1);
    assert_eq!(t.rejected[2], 1);
    assert_eq!(t.nulls[1], 1);
    assert_eq!(t.nulls[0], 0);
    assert_eq!((t.min_day, t.max_day), (Some(7), Some(12)));
    // Count: A has its two valid rows, B one.
    assert_eq!(out[0], vec![2.0, 1.0]);
}

#[test]
fn accumulators_mask_rows_and_give_nan_for_empty_extrema() {
    let idx = index(&["A", "B", "C"]);
    let funcs = [
        Func::Sum,
        Func::Mean,
        Func::Min,
        Func::Max,
        Func::First,
        Func::Last,
        Func::DistinctBits,
        Func::DistinctStrings,
    ];
    let mut k = TableKernel::new(idx.clone(), &funcs);
    // A: days 3, 5, 5, 9 (the day-9 row masked out); B: one masked row.
    let (v, d) = views(&["A", "A", "A", "A", "B"]);
    let buffers = [d.as_slice()];
    let ints = [4i64, 6, 1, 100, 7];
    let floats = [4.0, 6.0, 1.0, 100.0, 7.0];
    let bits = [0u8, 2, 2, 63, 1];
    let (fv, fd) = views(&["x", "a longer feature", "x", "y", "z"]);
    let fbuf = [fd.as_slice()];
    let mask = [1u8, 1, 1, 0, 0];
    let day = [3, 5, 5, 9, 5];
    let col = |values| AggColumns {
        mask: &mask,
        values,
    };
    k.add(&Batch {
        status: &[0; 5],
        day: &day,
        ids: Strings::new(&v, &buffers),
        null_flags: None,
        aggs: vec![
            col(Values::Int(&ints)),
            col(Values::Float(&floats)),
            col(Values::Float(&floats)),
            col(Values::Float(&floats)),
            col(Values::Float(&floats)),
            col(Values::Float(&floats)),
            col(Values::Bits(&bits)),
            col(Values::Str(Strings::new(&fv, &fbuf))),
        ],
    });
    let (_, out) = k.finish().expect("fits");
    let a = |j: usize| out[j][0];
    assert_eq!(a(0), 11.0); // 4 + 6 + 1
    assert_eq!(a(1), 11.0 / 3.0);
    assert_eq!(a(2), 1.0);
    assert_eq!(a(3), 6.0);
    assert_eq!(a(4), 4.0); // first: day 3
    assert_eq!(a(5), 6.0); // last: day 5, tie 6 vs 1 → 6
    assert_eq!(a(6), 2.0); // bits {0, 2}
    assert_eq!(a(7), 2.0); // {x, a longer feature}
    for j in 0..funcs.len() {
        for acct in [1, 2] {
            let v = out[j][acct];
            match funcs[j] {
                Func::Sum | Func::DistinctBits | Func::DistinctStrings => assert_eq!(v, 0.0),
                _ => assert!(v.is_nan(), "{:?} of an empty account", funcs[j]),
            }
        }
    }
}

#[test]
fn a_65th_distinct_string_or_a_bit_past_63_gives_up() {
    let idx = index(&["A"]);
    let names: Vec<String> = (0..65).map(|i| format!("f{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (fv, fd) = views(&refs);
    let fbuf = [fd.as_slice()];
    let (v, d) = views(&["A"; 65]);
    let buffers = [d.as_slice()];
    let mask = [1u8; 65];
    let batch = |values| Batch {
        status: &[0; 65],
        day: &[0; 65],
        ids: Strings::new(&v, &buffers),
        null_flags: None,
        aggs: vec![AggColumns {
            mask: &mask,
            values,
        }],
    };
    // 64 distinct values fit...
    let mut k64 = TableKernel::new(idx.clone(), &[Func::DistinctStrings]);
    let (v64, d64) = views(&["A"; 64]);
    let b64 = [d64.as_slice()];
    k64.add(&Batch {
        status: &[0; 64],
        day: &[0; 64],
        ids: Strings::new(&v64, &b64),
        null_flags: None,
        aggs: vec![AggColumns {
            mask: &mask[..64],
            values: Values::Str(Strings::new(&fv[..64], &fbuf)),
        }],
    });
    assert_eq!(k64.finish().expect("64 fit").1[0], vec![64.0]);
    // ...a 65th does not.
    let mut k = TableKernel::new(idx.clone(), &[Func::DistinctStrings]);
    k.add(&batch(Values::Str(Strings::new(&fv, &fbuf))));
    assert!(k.finish().is_none());
    let mut bits = [0u8; 65];
    bits[3] = 64;
    let mut k = TableKernel::new(idx.clone(), &[Func::DistinctBits]);
    k.add(&batch(Values::Bits(&bits)));
    assert!(k.finish().is_none());
}

#[test]
fn ids_are_found_across_batches_and_unsorted() {
    let idx = index(&["long account id 1", "long account id 2"]);
    let mut k = TableKernel::new(idx.clone(), &[Func::Count]);
    for ids in [
        [
            "long account id 2",
            "long account id 1",
            "long account id 2",
        ],
        ["long account id 1", "nope", "long account id 1"],
    ] {
        let (v, d) = views(&ids);
        let buffers = [d.as_slice()];
        k.add(&Batch {
            status: &[0; 3],
            day: &[0; 3],
            ids: Strings::new(&v, &buffers),
            null_flags: None,
            aggs: vec![AggColumns {
                mask: &[1; 3],
                values: Values::None,
            }],
        });
    }
    let (t, out) = k.finish().expect("fits");
    assert_eq!(t.orphan_unknown, 1);
    assert_eq!(out[0], vec![3.0, 2.0]);
}

#[test]
fn positions_in_order_out_of_order_and_unknown_then_gather() {
    let idx = index(&["A", "B", "C"]);
    let (v, d) = views(&["A", "C", "B", "X", "C"]);
    let buffers = [d.as_slice()];
    let p = idx.positions(&[Strings::new(&v, &buffers)]);
    assert_eq!(p, vec![Some(0), Some(2), Some(1), None, Some(2)]);
    let g = gather(&[10.0, 11.0, 12.0], &p);
    assert_eq!(&g[..3], &[10.0, 12.0, 11.0]);
    assert!(g[3].is_nan());
    assert_eq!(g[4], 12.0);
}
