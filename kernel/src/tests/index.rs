//! Strings, the account index and the sortedness of ids.

use super::*;

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
        k.add(&plain_batch(
            Strings::new(&v, &buffers),
            &[0; 3],
            vec![AggColumns {
                window: Window::ALL,
                mask: Some(ALL),
                values: Values::None,
            }],
        ));
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
    let (g, valid) = gather_valid(&[10.0, 11.0, 12.0], &p);
    assert_eq!(&g[..3], &[10.0, 12.0, 11.0]);
    // The unknown id's row is null (bit 3 clear).
    assert_eq!(valid, [0b1_0111]);
    assert_eq!(g[4], 12.0);
}

#[test]
fn strictly_ascending_compares_bytes_across_chunks() {
    let (a, da) = views(&["C1", "C10", "C2"]);
    let (b, db) = views(&["C3", "a long identifier 1", "a long identifier 2"]);
    let (ba, bb) = ([da.as_slice()], [db.as_slice()]);
    let (first, second) = (Strings::new(&a, &ba), Strings::new(&b, &bb));
    assert!(strictly_ascending(&[first, second]));
    // Equal neighbours (across the chunk boundary) are not strictly ascending.
    let (c, dc) = views(&["C2", "C3"]);
    let bc = [dc.as_slice()];
    assert!(!strictly_ascending(&[first, Strings::new(&c, &bc)]));
    // "C2" after "C10" is ascending; "C10" after "C2" is not.
    let (d, dd) = views(&["C2", "C10"]);
    let bd = [dd.as_slice()];
    assert!(!strictly_ascending(&[Strings::new(&d, &bd)]));
    assert!(strictly_ascending(&[]));
}

/// An account's rows together (runs of one id, the export layout), an
/// unknown id repeated, and an id seen before the run in between: each
/// row gets its account's position, None for the unknown one.
#[test]
fn positions_of_runs_of_one_id() {
    let idx = index(&["A", "B", "C"]);
    let (v, d) = views(&["A", "A", "B", "B", "Z", "Z", "A", "C", "C"]);
    let buffers = [d.as_slice()];
    let p = idx.positions(&[Strings::new(&v, &buffers)]);
    assert_eq!(
        p,
        [
            Some(0),
            Some(0),
            Some(1),
            Some(1),
            None,
            None,
            Some(0),
            Some(2),
            Some(2)
        ]
    );
}
