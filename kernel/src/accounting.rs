//! Row accounting of a table (SPEC §7): rows read, after the as-of date,
//! orphaned, rejected by row rule, nulls of optional columns ([`Totals`]).

use crate::bits::{low_bits, packed_word, set_rows};
use crate::Batch;

/// Largest number of row rules a table can have.
pub const MAX_RULES: usize = 253;

/// Largest number of optional columns whose nulls are counted.
pub const MAX_NULL_FLAGS: usize = 8;

/// Row accounting of one table (SPEC §7).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// All rows.
    pub rows: i64,
    /// Rows dated after the as-of date.
    pub after: i64,
    /// Rows on or before it with a null customer_id.
    pub orphan_null: i64,
    /// Rows on or before it with an unknown customer_id.
    pub orphan_unknown: i64,
    /// Rows of known accounts rejected, by 1-based rule code (index 0 unused).
    pub rejected: Vec<i64>,
    /// Valid rows of known accounts with optional column j null.
    pub nulls: [i64; MAX_NULL_FLAGS],
    /// Latest day of a valid row of a known account.
    pub max_day: Option<i32>,
    /// Earliest day of a valid row of a known account.
    pub min_day: Option<i32>,
}

impl Totals {
    /// Rows rejected by row rule `rule` (0-based: its position in
    /// [`Batch::rules`]), out of [`Totals::rejected`], which is indexed by
    /// the 1-based rule code (`rule + 1`); 0 for a rule it has no entry for.
    pub fn rejected_by_rule(&self, rule: usize) -> i64 {
        let code = rule.checked_add(1);
        code.and_then(|c| self.rejected.get(c))
            .copied()
            .unwrap_or(0)
    }

    /// Adds the accounting of other rows of the same table (counted with
    /// the same rules and optional columns): a range of dates counts the
    /// rows before its windows once and adds them to each date's.
    pub fn add(&mut self, other: &Totals) {
        self.rows += other.rows;
        self.after += other.after;
        self.orphan_null += other.orphan_null;
        self.orphan_unknown += other.orphan_unknown;
        if self.rejected.len() < other.rejected.len() {
            self.rejected.resize(other.rejected.len(), 0);
        }
        for (mine, theirs) in self.rejected.iter_mut().zip(&other.rejected) {
            *mine += theirs;
        }
        for (mine, theirs) in self.nulls.iter_mut().zip(&other.nulls) {
            *mine += theirs;
        }
        self.max_day = self.max_day.max(other.max_day);
        self.min_day = match (self.min_day, other.min_day) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// Adds the rows of batch `b` to `t` (SPEC §7's order: after the as-of
/// date, null id, unknown id, first broken rule), given each row's account
/// slot (`none`, the extra last slot, when its id is unknown), and sets
/// the slot of every row that does not count to `none`. Rows are
/// classified 64 at a time with word operations.
pub(crate) fn count_rows(t: &mut Totals, b: &Batch<'_>, acct: &mut [u32], none: u32) {
    t.rows += b.len as i64;
    let (mut min_day, mut max_day) = (i32::MAX, i32::MIN);
    for w in 0..b.len.div_ceil(64) {
        let n = (b.len - 64 * w).min(64);
        let rows = 64 * w..64 * w + n;
        let after = b.after.word(w, n);
        let null_id = b.ids_valid.map_or(0, |v| !v.word(w, n) & low_bits(n)) & !after;
        let in_scope = low_bits(n) & !after & !null_id;
        let known = packed_word(&acct[rows.clone()], |&a| a != none);
        let ok = in_scope & known;
        let broken = b.rules.iter().fold(0, |any, r| any | r.word(w, n)) & ok;
        let used = ok & !broken;
        t.after += after.count_ones() as i64;
        t.orphan_null += null_id.count_ones() as i64;
        t.orphan_unknown += (in_scope & !known).count_ones() as i64;
        for i in set_rows(&[broken]) {
            let i = 64 * w + i;
            let first = b.rules.iter().position(|r| r.get(i)).unwrap_or(0);
            t.rejected[first + 1] += 1;
        }
        for (count, flags) in t.nulls.iter_mut().zip(&b.nulls) {
            *count += (flags.word(w, n) & used).count_ones() as i64;
        }
        for ((k, a), &d) in acct[rows.clone()].iter_mut().enumerate().zip(&b.day[rows]) {
            let counts = (used >> k) & 1 != 0;
            *a = if counts { *a } else { none };
            min_day = min_day.min(if counts { d } else { i32::MAX });
            max_day = max_day.max(if counts { d } else { i32::MIN });
        }
    }
    if min_day <= max_day {
        t.min_day = Some(t.min_day.map_or(min_day, |m| m.min(min_day)));
        t.max_day = Some(t.max_day.map_or(max_day, |m| m.max(max_day)));
    }
}
