//! Row accounting (SPEC §7).

use super::*;

#[test]
fn row_accounting_orders_after_null_id_unknown_id_then_rules() {
    let idx = index(&["A", "B"]);
    let mut k = TableKernel::new(idx.clone(), &[Func::Count]);
    // Rows: valid A (day 10), valid B (day 12), after-D A, null id,
    // unknown Z (valid), unknown Z with rule 2, A with rule 2, B with rule
    // 1, valid A (day 7) whose optional column 1 is null.
    let (v, d) = views(&["A", "B", "A", "", "Z", "Z", "A", "B", "A"]);
    let buffers = [d.as_slice()];
    let (t, f) = (true, false);
    let after = bitmap(&[f, f, t, f, f, f, f, f, f], 3);
    let ids_valid = bitmap(&[t, t, t, f, t, t, t, t, t], 5);
    // Rule 1 broken by the B row; rule 2 by both Z rows, the A row, the
    // B row (counted under rule 1, its first) and the after-D and null-id
    // rows (counted as those).
    let rule1 = bitmap(&[f, f, f, f, f, f, f, t, f], 0);
    let rule2 = bitmap(&[f, f, t, t, f, t, t, t, f], 7);
    let day = [10, 12, 99, 5, 5, 5, 5, 5, 7];
    let null0 = bitmap(&[f; 9], 1);
    let null1 = bitmap(&[f, f, f, f, f, f, f, f, t], 2);
    k.add(&Batch {
        len: 9,
        after: Bits::new(&after, 3),
        day: &day,
        ids: Strings::new(&v, &buffers),
        ids_valid: Some(Bits::new(&ids_valid, 5)),
        rules: vec![Bits::new(&rule1, 0), Bits::new(&rule2, 7)],
        nulls: vec![Bits::new(&null0, 1), Bits::new(&null1, 2)],
        aggs: vec![AggColumns {
            window: Window::ALL,
            mask: Some(ALL),
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
fn bitmaps_are_read_across_words_at_any_offset() {
    // 130 rows of account A: rows 128 and 129 after D, rows 64 and 100
    // break the rule, the mask holds every third row. Counted: rows
    // 0, 3, ..., 126 (43 rows; 64 and 100 are not multiples of 3).
    let idx = index(&["A"]);
    let (v, d) = views(&["A"; 130]);
    let buffers = [d.as_slice()];
    let after: Vec<bool> = (0..130).map(|i| i >= 128).collect();
    let rule: Vec<bool> = (0..130).map(|i| i == 64 || i == 100).collect();
    let mask: Vec<bool> = (0..130).map(|i| i % 3 == 0).collect();
    let (after, rule, mask) = (bitmap(&after, 5), bitmap(&rule, 7), bitmap(&mask, 3));
    let mut k = TableKernel::new(idx, &[Func::Count]);
    k.add(&Batch {
        len: 130,
        after: Bits::new(&after, 5),
        day: &[1; 130],
        ids: Strings::new(&v, &buffers),
        ids_valid: None,
        rules: vec![Bits::new(&rule, 7)],
        nulls: Vec::new(),
        aggs: vec![AggColumns {
            window: Window::ALL,
            mask: Some(Bits::new(&mask, 3)),
            values: Values::None,
        }],
    });
    let (t, out) = k.finish().expect("fits");
    assert_eq!((t.rows, t.after, t.rejected[1]), (130, 2, 2));
    assert_eq!(out[0], vec![43.0]);
}

/// Row accounting over several words with ids of 17 bytes (kept in a
/// buffer, not inlined), runs of one id, accounts skipped (near and far)
/// and out of order, unknown and null ids: the counts a row-at-a-time
/// reading of SPEC §7's order gives.
#[test]
fn row_accounting_over_words_matches_a_row_by_row_reading() {
    let names: Vec<String> = (0..10).map(|a| format!("long-account-{a:04}")).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let idx = index(&name_refs);
    // Account positions per row (None: an unknown id); 13 times over.
    let pattern = [
        Some(0),
        Some(0),
        Some(2),
        Some(2),
        Some(2),
        Some(7),
        None,
        Some(8),
        Some(3),
        Some(9),
    ];
    let n = 130;
    let rows: Vec<Option<usize>> = (0..n).map(|r| pattern[r % pattern.len()]).collect();
    let ids: Vec<&str> = rows
        .iter()
        .map(|a| a.map_or("long-account-zzzz", |a| name_refs[a]))
        .collect();
    let after: Vec<bool> = (0..n).map(|r| r % 11 == 0).collect();
    let valid: Vec<bool> = (0..n).map(|r| r % 17 != 5).collect();
    let broken: Vec<bool> = (0..n).map(|r| r % 13 == 4).collect();
    let nulls: Vec<bool> = (0..n).map(|r| r % 3 == 1).collect();
    let day: Vec<i32> = (0..n as i32).map(|r| 1000 - r).collect();
    // Row by row, as SPEC §7 orders the reasons.
    let (mut n_after, mut n_null, mut n_unknown, mut n_rejected, mut n_nulls) = (0, 0, 0, 0, 0);
    let mut counts = [0.0; 10];
    let (mut lo, mut hi) = (i32::MAX, i32::MIN);
    for r in 0..n {
        if after[r] {
            n_after += 1;
        } else if !valid[r] {
            n_null += 1;
        } else if let Some(a) = rows[r] {
            if broken[r] {
                n_rejected += 1;
            } else {
                counts[a] += 1.0;
                n_nulls += nulls[r] as i64;
                lo = lo.min(day[r]);
                hi = hi.max(day[r]);
            }
        } else {
            n_unknown += 1;
        }
    }
    let (v, d) = views(&ids);
    let buffers = [d.as_slice()];
    let (after, valid, broken, nulls) = (
        bitmap(&after, 2),
        bitmap(&valid, 0),
        bitmap(&broken, 5),
        bitmap(&nulls, 7),
    );
    let mut k = TableKernel::new(idx, &[Func::Count]);
    k.add(&Batch {
        len: n,
        after: Bits::new(&after, 2),
        day: &day,
        ids: Strings::new(&v, &buffers),
        ids_valid: Some(Bits::new(&valid, 0)),
        rules: vec![Bits::new(&broken, 5)],
        nulls: vec![Bits::new(&nulls, 7)],
        aggs: vec![AggColumns {
            window: Window::ALL,
            mask: None,
            values: Values::None,
        }],
    });
    let (t, out) = k.finish().expect("fits");
    assert_eq!(t.rows, n as i64);
    assert_eq!(
        (t.after, t.orphan_null, t.orphan_unknown),
        (n_after, n_null, n_unknown)
    );
    assert_eq!(t.rejected[1], n_rejected);
    assert_eq!(t.nulls[0], n_nulls);
    assert_eq!((t.min_day, t.max_day), (Some(lo), Some(hi)));
    assert_eq!(out[0], counts);
    // The pattern leaves accounts 1, 4, 5 and 6 without rows.
    assert_eq!([out[0][1], out[0][4], out[0][5], out[0][6]], [0.0; 4]);
    assert!(n_after > 0 && n_null > 0 && n_unknown > 0 && n_rejected > 0);
}

/// Rows rejected per rule, read by the rule's position in
/// [`Batch::rules`]: the kernel counts them under the 1-based rule code.
#[test]
fn rejected_by_rule_reads_the_rule_codes() {
    let mut k = TableKernel::new(index(&["A"]), &[Func::Count]);
    // Five rows of A: rule 0 broken by rows 1 and 3, rule 1 by none, rule
    // 2 by rows 3 and 4 (row 3 counts under rule 0, its first).
    let (v, d) = views(&["A"; 5]);
    let buffers = [d.as_slice()];
    let (t, f) = (true, false);
    let rules = [
        bitmap(&[f, t, f, t, f], 0),
        bitmap(&[f; 5], 0),
        bitmap(&[f, f, f, t, t], 0),
    ];
    k.add(&Batch {
        len: 5,
        after: NONE,
        day: &[1; 5],
        ids: Strings::new(&v, &buffers),
        ids_valid: None,
        rules: rules.iter().map(|r| Bits::new(r, 0)).collect(),
        nulls: Vec::new(),
        aggs: vec![AggColumns {
            window: Window::ALL,
            mask: None,
            values: Values::None,
        }],
    });
    let (totals, out) = k.finish().expect("fits");
    assert_eq!(totals.rejected[1..4], [2, 0, 1]);
    assert_eq!([0, 1, 2].map(|r| totals.rejected_by_rule(r)), [2, 0, 1]);
    // Past the last rule code, and totals without codes: none rejected.
    assert_eq!(totals.rejected_by_rule(MAX_RULES), 0);
    assert_eq!(totals.rejected_by_rule(usize::MAX), 0);
    assert_eq!(Totals::default().rejected_by_rule(0), 0);
    assert_eq!(out[0], vec![2.0]);
}

#[test]
fn totals_add_sums_counts_and_widens_the_day_span() {
    let mut a = Totals {
        rows: 10,
        after: 2,
        orphan_null: 1,
        orphan_unknown: 0,
        rejected: vec![0, 3, 0],
        nulls: [1, 0, 0, 0, 0, 0, 0, 0],
        max_day: Some(40),
        min_day: Some(20),
    };
    let b = Totals {
        rows: 5,
        after: 0,
        orphan_null: 0,
        orphan_unknown: 4,
        rejected: vec![0, 1, 2],
        nulls: [0, 2, 0, 0, 0, 0, 0, 0],
        max_day: Some(19),
        min_day: Some(3),
    };
    a.add(&b);
    assert_eq!(
        (a.rows, a.after, a.orphan_null, a.orphan_unknown),
        (15, 2, 1, 4)
    );
    assert_eq!(a.rejected, vec![0, 4, 2]);
    assert_eq!(a.nulls[..2], [1, 2]);
    // Days 3..19 and 20..40: the earliest of both, the latest of both.
    assert_eq!((a.min_day, a.max_day), (Some(3), Some(40)));
    // Rows with no valid day add none.
    a.add(&Totals::default());
    assert_eq!((a.min_day, a.max_day, a.rows), (Some(3), Some(40), 15));
    let mut empty = Totals::default();
    empty.add(&b);
    assert_eq!((empty.min_day, empty.max_day), (Some(3), Some(19)));
}
