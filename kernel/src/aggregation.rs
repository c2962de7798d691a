//! The per-account aggregation of one table ([`TableKernel`]): each
//! aggregation's rows of its [`Window`] of days, each row's account, and
//! the per-account accumulators of each [`Func`].

use std::sync::Arc;

use crate::accounting::count_rows;
use crate::bits::{pack_bytes, set_rows};
use crate::strings::SmallSet;
use crate::{AccountIndex, Bits, Strings, Totals, MAX_RULES};

/// Distinct values a bitmask accumulator can hold.
pub const MAX_DISTINCT: usize = 64;

/// The days an aggregation reads: rows with `after < day ≤ through`
/// (SPEC §3's windows; an unbounded side is `i64::MIN` or `i64::MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Rows must be dated after this day.
    pub after: i64,
    /// Rows must be dated on or before this day.
    pub through: i64,
}

impl Window {
    /// Every day.
    pub const ALL: Window = Window {
        after: i64::MIN,
        through: i64::MAX,
    };

    /// Per 64 rows, a word whose bit `k` says whether row `64 w + k` is in
    /// the window: one unsigned comparison per row into bytes (a loop the
    /// compiler vectorises), then 8 bytes packed into 8 bits at a time.
    pub(crate) fn words(self, day: &[i32]) -> Vec<u64> {
        let first = self.after.saturating_add(1).max(i32::MIN as i64);
        let last = self.through.min(i32::MAX as i64);
        if first > last {
            return vec![0; day.len().div_ceil(64)];
        }
        // first ≤ d ≤ last  ⇔  (d − first) as u32 ≤ last − first.
        let (first, span) = (first as i32, (last - first) as u32);
        day.chunks(64)
            .map(|c| {
                let mut flags = [0u8; 64];
                for (f, &d) in flags.iter_mut().zip(c) {
                    *f = (d.wrapping_sub(first) as u32 <= span) as u8;
                }
                flags
                    .chunks_exact(8)
                    .enumerate()
                    .fold(0u64, |m, (j, b)| m | pack_bytes(b) << (8 * j))
            })
            .collect()
    }
}

/// The aggregation an accumulator computes (healthscore has already masked
/// the rows: only rows with a non-zero mask count, and value-based ones
/// have non-null values there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// Rows; 0 with none.
    Count,
    /// Wrapping `i64` sum of [`Values::Int`]; 0 with none.
    Sum,
    /// Mean of [`Values::Float`]; null with none.
    Mean,
    /// Minimum of [`Values::Float`]; null with none.
    Min,
    /// Maximum of [`Values::Float`]; null with none.
    Max,
    /// [`Values::Float`] of the row with the smallest day (ties: the
    /// largest value); null with none.
    First,
    /// [`Values::Float`] of the row with the largest day (ties: the
    /// largest value); null with none.
    Last,
    /// Distinct days counted back from [`Values::DaysBefore`]'s end day
    /// (0-63 days before it); 0 with none.
    DistinctBits,
    /// Distinct strings of [`Values::Str`] (at most 64 in the table); 0
    /// with none.
    DistinctStrings,
}

/// The per-row values an aggregation reads.
#[derive(Clone, Copy)]
pub enum Values<'a> {
    /// No value (count).
    None,
    /// Integers (summed exactly; other aggregations read them as f64).
    Int(&'a [i64]),
    /// Numbers.
    Float(&'a [f64]),
    /// Each row's day, counted back from this end day (0-63).
    DaysBefore(i32),
    /// Strings.
    Str(Strings<'a>),
}

/// One aggregation's columns in a batch: its window, the row mask (set:
/// the row passes the aggregation's filter and has a non-null value) and
/// the values. A row counts when it is in the window and its mask is set.
#[derive(Clone, Copy)]
pub struct AggColumns<'a> {
    /// The days that count.
    pub window: Window,
    /// Whether each row counts (None: every row).
    pub mask: Option<Bits<'a>>,
    /// Values per row (ignored where the row does not count).
    pub values: Values<'a>,
}

/// A batch of rows of one table.
pub struct Batch<'a> {
    /// Number of rows.
    pub len: usize,
    /// Whether each row is dated after the as-of date.
    pub after: Bits<'a>,
    /// Event day number per row.
    pub day: &'a [i32],
    /// customer_id per row.
    pub ids: Strings<'a>,
    /// Whether each row's customer_id is present (None: all are).
    pub ids_valid: Option<Bits<'a>>,
    /// Per row rule, in order: whether each row breaks it (a row is
    /// rejected by the first rule it breaks).
    pub rules: Vec<Bits<'a>>,
    /// Per optional column: whether each row holds a null.
    pub nulls: Vec<Bits<'a>>,
    /// One entry per accumulator, in the table's order.
    pub aggs: Vec<AggColumns<'a>>,
}

/// Per-account state of one aggregation. Float states hold NaN for "no
/// row yet" (the values themselves are never NaN: healthscore reads NaN as
/// null and masks nulls out).
enum Acc {
    Count(Vec<i64>),
    Sum(Vec<i64>),
    Mean(Vec<f64>, Vec<i64>),
    Min(Vec<f64>),
    Max(Vec<f64>),
    First(Vec<i32>, Vec<f64>),
    Last(Vec<i32>, Vec<f64>),
    Bits(Vec<u64>),
    Strings(Vec<u64>, SmallSet),
}

impl Acc {
    fn new(f: Func, n: usize) -> Self {
        match f {
            Func::Count => Acc::Count(vec![0; n]),
            Func::Sum => Acc::Sum(vec![0; n]),
            Func::Mean => Acc::Mean(vec![0.0; n], vec![0; n]),
            Func::Min => Acc::Min(vec![f64::NAN; n]),
            Func::Max => Acc::Max(vec![f64::NAN; n]),
            Func::First => Acc::First(vec![i32::MAX; n], vec![f64::NAN; n]),
            Func::Last => Acc::Last(vec![i32::MIN; n], vec![f64::NAN; n]),
            Func::DistinctBits => Acc::Bits(vec![0; n]),
            Func::DistinctStrings => Acc::Strings(vec![0; n], SmallSet::default()),
        }
    }

    /// Folds the rows whose mask is set into their account's slot (rows that
    /// are not valid rows of a known account all go to the extra last slot,
    /// dropped at the end, so the common updates need no branch). False
    /// when the values do not fit the accumulator (wrong kind, a bit ≥ 64,
    /// a 65th distinct string).
    fn add(&mut self, acct: &[u32], day: &[i32], counted: &[u64], values: Values<'_>) -> bool {
        let mut rows = set_rows(counted);
        match (self, values) {
            (Acc::Count(n), _) => rows.for_each(|i| n[acct[i] as usize] += 1),
            (Acc::Sum(s), Values::Int(v)) => rows.for_each(|i| {
                let a = acct[i] as usize;
                s[a] = s[a].wrapping_add(v[i]);
            }),
            (acc, Values::Float(v)) => return acc.fold_numbers(acct, day, rows, |i| v[i]),
            // Integers read as f64, as a cast would (Sum above keeps them).
            (acc, Values::Int(v)) => return acc.fold_numbers(acct, day, rows, |i| v[i] as f64),
            (Acc::Bits(b), Values::DaysBefore(end)) => {
                return rows.all(|i| {
                    let bit = end.wrapping_sub(day[i]) as u32;
                    b[acct[i] as usize] |= 1u64 << (bit & 63);
                    (bit as usize) < MAX_DISTINCT
                });
            }
            (Acc::Strings(b, set), Values::Str(s)) => {
                return rows.all(|i| match set.bit(&s, i) {
                    Some(k) => {
                        b[acct[i] as usize] |= 1u64 << k;
                        true
                    }
                    None => false,
                });
            }
            _ => return false,
        }
        true
    }

    /// The number-valued accumulators (mean, min, max, first, last) over
    /// `rows`, each row's value `x(i)`; false for another accumulator.
    fn fold_numbers(
        &mut self,
        acct: &[u32],
        day: &[i32],
        rows: impl Iterator<Item = usize>,
        x: impl Fn(usize) -> f64,
    ) -> bool {
        match self {
            Acc::Mean(s, n) => rows.for_each(|i| {
                let a = acct[i] as usize;
                s[a] += x(i);
                n[a] += 1;
            }),
            // f64::min/max return the other operand when one is NaN ("no
            // row yet").
            Acc::Min(m) => rows.for_each(|i| {
                let a = acct[i] as usize;
                m[a] = m[a].min(x(i));
            }),
            Acc::Max(m) => rows.for_each(|i| {
                let a = acct[i] as usize;
                m[a] = m[a].max(x(i));
            }),
            Acc::First(d, m) => {
                rows.for_each(|i| edge(d, m, acct[i] as usize, day[i], x(i), |x, y| x < y))
            }
            Acc::Last(d, m) => {
                rows.for_each(|i| edge(d, m, acct[i] as usize, day[i], x(i), |x, y| x > y))
            }
            _ => return false,
        }
        true
    }

    /// Per-account results as f64, NaN for null (the extra last slot
    /// included).
    fn finish(self) -> Vec<f64> {
        match self {
            Acc::Count(n) | Acc::Sum(n) => n.into_iter().map(|x| x as f64).collect(),
            Acc::Mean(s, n) => s
                .into_iter()
                .zip(n)
                .map(|(s, n)| if n == 0 { f64::NAN } else { s / n as f64 })
                .collect(),
            Acc::Min(m) | Acc::Max(m) | Acc::First(_, m) | Acc::Last(_, m) => m,
            Acc::Bits(b) | Acc::Strings(b, _) => {
                b.into_iter().map(|x| x.count_ones() as f64).collect()
            }
        }
    }
}

/// first/last: a strictly better day replaces the value; the same day keeps
/// the largest value.
fn edge(
    days: &mut [i32],
    vals: &mut [f64],
    a: usize,
    d: i32,
    v: f64,
    better: fn(i32, i32) -> bool,
) {
    if better(d, days[a]) {
        days[a] = d;
        vals[a] = v;
    } else if d == days[a] && (v > vals[a] || vals[a].is_nan()) {
        vals[a] = v;
    }
}

/// The last id looked up, so rows sorted or clustered by customer_id (the
/// usual export layout) cost one comparison instead of a hash lookup.
#[derive(Default)]
struct LastId {
    bytes: Vec<u8>,
    acct: Option<u32>,
    set: bool,
}

/// The aggregation of one table: account index, accumulators, totals.
pub struct TableKernel {
    index: Arc<AccountIndex>,
    accs: Vec<Acc>,
    totals: Totals,
    last: LastId,
    failed: bool,
}

impl TableKernel {
    /// A kernel for the accounts of `index` computing `funcs`, in order.
    pub fn new(index: Arc<AccountIndex>, funcs: &[Func]) -> Self {
        TableKernel {
            accs: funcs
                .iter()
                .map(|&f| Acc::new(f, index.len() + 1))
                .collect(),
            index,
            totals: Totals {
                rejected: vec![0; MAX_RULES + 1],
                ..Default::default()
            },
            last: LastId::default(),
            failed: false,
        }
    }

    /// Folds one batch in. Batches may come in any order.
    pub fn add(&mut self, b: &Batch<'_>) {
        if self.failed {
            return;
        }
        let none = self.index.len() as u32;
        let acct = self.id_accounts(&b.ids, none);
        self.fold(b, acct);
    }

    /// [`TableKernel::add`] with each row's account slot given: `slots[i]`
    /// is the position of row `i`'s id in the index, or the index's length
    /// when the id is unknown or null ([`AccountIndex::slots`]). A table
    /// read on many dates looks its ids up once.
    pub fn add_placed(&mut self, b: &Batch<'_>, slots: &[u32]) {
        if self.failed {
            return;
        }
        let none = self.index.len() as u32;
        let acct = slots.iter().map(|&s| s.min(none)).collect();
        self.fold(b, acct);
    }

    /// Folds a batch in given each row's account slot (the row accounting
    /// first, which moves the rows that do not count to the extra slot).
    fn fold(&mut self, b: &Batch<'_>, mut acct: Vec<u32>) {
        let none = self.index.len() as u32;
        count_rows(&mut self.totals, b, &mut acct, none);
        // Aggregations often share a window: each distinct one is computed
        // once per batch.
        let mut windows: Vec<(Window, Vec<u64>)> = Vec::new();
        for (acc, c) in self.accs.iter_mut().zip(&b.aggs) {
            let at = match windows.iter().position(|(w, _)| *w == c.window) {
                Some(at) => at,
                None => {
                    windows.push((c.window, c.window.words(&b.day[..b.len])));
                    windows.len() - 1
                }
            };
            let in_window = windows[at].1.as_slice();
            let masked: Vec<u64>;
            let counted = match c.mask {
                None => in_window,
                Some(mask) => {
                    masked = in_window
                        .iter()
                        .enumerate()
                        .map(|(w, &m)| m & mask.word(w, (b.len - 64 * w).min(64)))
                        .collect();
                    &masked
                }
            };
            if !acc.add(&acct, b.day, counted, c.values) {
                self.failed = true;
                return;
            }
        }
    }

    /// The account of each row's id (`none` when unknown; whatever for a
    /// null id). A row whose view is the row before's holds the same string
    /// (inlined bytes, or the same bytes of the same buffer), so a run of
    /// one id (ids sorted, the usual export layout) costs one lookup.
    fn id_accounts(&mut self, ids: &Strings<'_>, none: u32) -> Vec<u32> {
        let mut out = Vec::with_capacity(ids.len());
        let mut run: Option<(u128, u32)> = None;
        for (i, view) in ids.views.iter().enumerate() {
            let view = u128::from_ne_bytes(*view);
            let a = match run {
                Some((v, a)) if v == view => a,
                _ => {
                    let a = lookup(&self.index, &mut self.last, ids, i).unwrap_or(none);
                    run = Some((view, a));
                    a
                }
            };
            out.push(a);
        }
        out
    }

    /// The totals and each accumulator's per-account results (NaN: null),
    /// or None when a batch did not fit an accumulator (more than 64
    /// distinct strings, say): the caller then aggregates another way.
    pub fn finish(self) -> Option<(Totals, Vec<Vec<f64>>)> {
        if self.failed {
            return None;
        }
        let n = self.index.len();
        let results = self
            .accs
            .into_iter()
            .map(|a| {
                let mut v = a.finish();
                v.truncate(n);
                v
            })
            .collect();
        Some((self.totals, results))
    }
}

/// The account of row `i`, through the last-id cache (the same id as the
/// row looked up before costs one comparison), else searched from the
/// account after the last one found.
fn lookup(index: &AccountIndex, last: &mut LastId, ids: &Strings<'_>, i: usize) -> Option<u32> {
    let bytes = ids.get(i);
    if !(last.set && last.bytes == bytes) {
        let next = last.acct.map_or(0, |a| a as usize + 1);
        last.acct = index.find_near(next, bytes);
        last.bytes.clear();
        last.bytes.extend_from_slice(bytes);
        last.set = true;
    }
    last.acct
}
