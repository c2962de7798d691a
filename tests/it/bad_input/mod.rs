//! Bad input (SPEC §2, §3, §7): a corpus of broken warehouse exports, each
//! made here as tiny Parquet files. Every case asserts the exact exit code
//! and the key words of the message and that nothing was written, or, for
//! rows rejected under the guards, that the manifest counts exactly the
//! bad rows planted. The fixture is the default pipeline's five tables
//! (tests/common/bad_fixture.rs); row counts per table for `valid(n)`:
//! accounts n, usage 20n, the others 5n.

use crate::bad_fixture as fixture;
use crate::common;
use common::*;
use fixture::*;
use polars::prelude::*;

/// Runs a lenient case built from `fx` and returns it after asserting exit 0
/// and that every row is accounted for.
fn run_ok(fx: &Fixture) -> (Case, serde_json::Value) {
    let case = Case::lenient();
    fx.write(&case.input());
    let r = case.run(&[]);
    assert_ok(&r);
    let m = case.manifest();
    assert_balanced(&m, fx);
    (case, m)
}

fn pairs(v: &[(&str, i64)]) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = v.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    out.sort();
    out
}

/// Scores of the valid fixture, for comparing an equivalent input with.
fn baseline_scores(fx: &Fixture) -> DataFrame {
    let (case, _) = run_ok(fx);
    case.scores()
}

/// Runs `fx` written through `edit` and asserts it scores exactly like the
/// plain fixture (the widening was read as the contract's type).
fn assert_read_like_baseline(fx: &Fixture, edit: impl Fn(&str, DataFrame) -> DataFrame) {
    let expected = baseline_scores(fx);
    let case = Case::lenient();
    fx.write_with(&case.input(), edit);
    let r = case.run(&[]);
    assert_ok(&r);
    assert_balanced(&case.manifest(), fx);
    let got = case.scores();
    assert!(
        got.equals_missing(&expected),
        "scores differ from the plain fixture:\n{got}\n{expected}"
    );
}

mod accounts;
mod check;
mod folders;
mod guards;
mod other_tables;
mod rules;
mod storage;
mod tables;
mod widening;
