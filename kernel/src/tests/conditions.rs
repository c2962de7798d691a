//! Row conditions.

use super::*;

/// The bits of a bitmap's first `n` rows.
fn rows_of(bytes: &[u8], n: usize) -> Vec<bool> {
    (0..n).map(|i| (bytes[i / 8] >> (i % 8)) & 1 == 1).collect()
}

/// Conditions over 70 rows (two words): `feature` cycles through "login",
/// "export", a 15-byte "dashboard-share" and a null every 7th row;
/// `events` is i - 3 (null every 5th row).
#[test]
fn conditions_compare_strings_and_integers_with_nulls_as_false() {
    let names = ["login", "export", "dashboard-share"];
    let rows: Vec<&str> = (0..70).map(|i| names[i % 3]).collect();
    let (v, d) = views(&rows);
    let buffers = [d.as_slice()];
    let feature_valid = bitmap(&(0..70).map(|i| i % 7 != 0).collect::<Vec<_>>(), 0);
    let events: Vec<i64> = (0..70).map(|i| i as i64 - 3).collect();
    let events_valid = bitmap(&(0..70).map(|i| i % 5 != 0).collect::<Vec<_>>(), 5);
    let ops = [
        Operand::Str(
            Strings::new(&v, &buffers),
            Some(Bits::new(&feature_valid, 0)),
        ),
        Operand::Int(&events, Some(Bits::new(&events_valid, 5))),
    ];
    let str_eq = |value: &str, equal| Cond::StrEq {
        op: 0,
        value: value.as_bytes().to_vec(),
        equal,
    };
    let (login, not_login) = (str_eq("login", true), str_eq("login", false));
    let share = str_eq("dashboard-share", true);
    let positive = Cond::IntCmp {
        op: 1,
        cmp: Cmp::Gt,
        value: 0,
    };
    let eval = |c: &Cond| rows_of(&eval_cond(c, &ops, 70), 70);
    let expect = |f: &dyn Fn(usize) -> bool| (0..70).map(f).collect::<Vec<bool>>();
    let feature_ok = |i: usize| !i.is_multiple_of(7);
    let events_ok = |i: usize| !i.is_multiple_of(5);
    assert_eq!(eval(&login), expect(&|i| feature_ok(i) && i % 3 == 0));
    assert_eq!(eval(&not_login), expect(&|i| feature_ok(i) && i % 3 != 0));
    assert_eq!(eval(&share), expect(&|i| feature_ok(i) && i % 3 == 2));
    assert_eq!(eval(&positive), expect(&|i| events_ok(i) && i > 3));
    assert_eq!(
        eval(&Cond::All(vec![not_login.clone(), positive.clone()])),
        expect(&|i| feature_ok(i) && i % 3 != 0 && events_ok(i) && i > 3)
    );
    assert_eq!(eval(&Cond::NotNull(1)), expect(&|i| events_ok(i)));
    for (cmp, f) in [
        (Cmp::Eq, (|a: i64| a == 4) as fn(i64) -> bool),
        (Cmp::Ne, |a| a != 4),
        (Cmp::Lt, |a| a < 4),
        (Cmp::Le, |a| a <= 4),
        (Cmp::Gt, |a| a > 4),
        (Cmp::Ge, |a| a >= 4),
    ] {
        let c = Cond::IntCmp {
            op: 1,
            cmp,
            value: 4,
        };
        assert_eq!(
            eval(&c),
            expect(&|i| events_ok(i) && f(i as i64 - 3)),
            "{cmp:?}"
        );
        let n = Cond::IntCmp {
            op: 1,
            cmp: cmp.negated(),
            value: 4,
        };
        assert_eq!(
            eval(&n),
            expect(&|i| events_ok(i) && !f(i as i64 - 3)),
            "not {cmp:?}"
        );
    }
    // Bits past the last row are clear: 70 rows fill 9 bytes, the last
    // one holds rows 64-69 only.
    let all = eval_cond(&Cond::All(vec![]), &ops, 70);
    assert_eq!(all.len(), 9);
    assert_eq!(all[8], 0b0011_1111);
}

/// Several conditions over one batch: each gives what it gives alone
/// (comparisons they share are evaluated once); a column of another type
/// is read for its nulls only.
#[test]
fn conditions_evaluated_together_give_what_each_gives_alone() {
    let rows: Vec<&str> = (0..10)
        .map(|i| if i % 2 == 0 { "login" } else { "x" })
        .collect();
    let (v, d) = views(&rows);
    let buffers = [d.as_slice()];
    let events: Vec<i64> = (0..10).collect();
    let other_valid = bitmap(&(0..10).map(|i| i != 4).collect::<Vec<_>>(), 0);
    let ops = [
        Operand::Str(Strings::new(&v, &buffers), None),
        Operand::Int(&events, None),
        Operand::Other(Some(Bits::new(&other_valid, 0))),
    ];
    let login = Cond::StrEq {
        op: 0,
        value: b"login".to_vec(),
        equal: true,
    };
    let big = Cond::IntCmp {
        op: 1,
        cmp: Cmp::Ge,
        value: 6,
    };
    let conds = vec![
        Cond::All(vec![login.clone(), Cond::NotNull(2)]),
        Cond::All(vec![login.clone(), big.clone()]),
        big.clone(),
    ];
    let together = eval_conds(&conds, &ops, 10);
    for (c, got) in conds.iter().zip(&together) {
        assert_eq!(got, &eval_cond(c, &ops, 10), "{c:?}");
    }
    // Rows 0, 2, 6, 8 (login, row 4 null in the other column); 6, 8; 6-9.
    assert_eq!(
        rows_of(&together[0], 10),
        (0..10)
            .map(|i| [0, 2, 6, 8].contains(&i))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        rows_of(&together[1], 10),
        (0..10).map(|i| [6, 8].contains(&i)).collect::<Vec<_>>()
    );
    assert_eq!(
        rows_of(&together[2], 10),
        (0..10).map(|i| i >= 6).collect::<Vec<_>>()
    );
}
