//! The per-account aggregation kernel of healthscore (SPEC §9, issue 7).
//!
//! healthscore's query engine reads, projects and masks an event table in
//! batches (row status, filter masks, values); this crate does what a hash
//! group-by on a string key and per-row window tests do slowly: keep each
//! aggregation's rows of its window of days, map each row's `customer_id`
//! to a dense account index and fold the row into per-account
//! accumulators (sums, counts, extrema, first/last by day, and `u64`
//! bitmasks for distinct days in a window of at most 64 days or distinct
//! values of a column with at most 64 distinct values). It also computes
//! percentile points within a scorecard with one sort
//! ([`percentile_points`]), moves
//! dates to the first day of their month ([`first_of_month`]), evaluates
//! simple row conditions (an aggregation's filter: [`eval_conds`]), numbers
//! the values of few-valued text and float columns in first-seen order for
//! the Parquet writer's dictionaries ([`few_valued_strings`],
//! [`first_seen_keys`], [`few_valued_floats`]), gives float pages their
//! statistics ([`min_max`]) and scores each account from its raw values in
//! one pass ([`score_rows`]: points, groups, score, band, completeness,
//! losses and the three top drivers, where a chain of row-wise
//! expressions per metric and group, and a per-row top three, are slow).
//!
//! It takes plain slices (no dependency on the engine), so it is compiled
//! with optimisations even in healthscore's dev profile.

use std::sync::Arc;

pub(crate) mod scoring;
pub use scoring::{
    integers_from_floats, nulls_from_nan, score_rows, PointsRule, RowInputs, RowOutputs,
    ScoreModel, ScoredMetric,
};

/// Largest number of row rules a table can have.
pub const MAX_RULES: usize = 253;
/// Largest number of optional columns whose nulls are counted.
pub const MAX_NULL_FLAGS: usize = 8;
/// Distinct values a bitmask accumulator can hold.
pub const MAX_DISTINCT: usize = 64;

/// A column of booleans in the Arrow bitmap layout: bit `offset + i`
/// (least significant bit first) is row `i`.
#[derive(Clone, Copy)]
pub struct Bits<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Bits<'a> {
    /// The bitmap whose row 0 is bit `offset` of `bytes`.
    pub fn new(bytes: &'a [u8], offset: usize) -> Self {
        Bits { bytes, offset }
    }

    /// Row `i`.
    #[inline]
    pub fn get(&self, i: usize) -> bool {
        let j = self.offset + i;
        (self.bytes[j >> 3] >> (j & 7)) & 1 != 0
    }

    /// Rows `64 w .. 64 w + n` (n ≤ 64) as the low `n` bits of a word.
    #[inline]
    fn word(&self, w: usize, n: usize) -> u64 {
        let start = self.offset + 64 * w;
        let (byte, shift) = (start >> 3, start & 7);
        let mut buf = [0u8; 16];
        let avail = self.bytes.len().saturating_sub(byte).min(9);
        if avail > 0 {
            buf[..avail].copy_from_slice(&self.bytes[byte..byte + avail]);
        }
        let v = (u128::from_le_bytes(buf) >> shift) as u64;
        v & low_bits(n)
    }
}

/// The rows set in `words` (row `64 w + k` is bit `k` of word `w`),
/// ascending.
fn set_rows(words: &[u64]) -> impl Iterator<Item = usize> + '_ {
    words.iter().enumerate().flat_map(|(w, &word)| {
        let mut m = word;
        std::iter::from_fn(move || {
            (m != 0).then(|| {
                let k = m.trailing_zeros() as usize;
                m &= m - 1;
                64 * w + k
            })
        })
    })
}

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
    fn words(self, day: &[i32]) -> Vec<u64> {
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

/// Eight 0/1 bytes as the low 8 bits of a word (byte `i` → bit `i`): the
/// multiplication moves byte `i`'s bit to bit `56 + i`, with no carries.
#[inline]
fn pack_bytes(b: &[u8]) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(b);
    u64::from_le_bytes(x).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// A word with its low `n` bits (n ≤ 64) set.
#[inline]
fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// A string column in the Arrow "view" layout: 16-byte views (length, then
/// either the inlined bytes when at most 12, or a prefix, buffer index and
/// offset) over data buffers.
#[derive(Clone, Copy)]
pub struct Strings<'a> {
    views: &'a [[u8; 16]],
    buffers: &'a [&'a [u8]],
}

impl<'a> Strings<'a> {
    /// A column from its views and data buffers (Arrow `Utf8View` layout).
    pub fn new(views: &'a [[u8; 16]], buffers: &'a [&'a [u8]]) -> Self {
        Strings { views, buffers }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.views.len()
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    /// The whole view of row `i` when the string is inlined in it (at most
    /// 12 bytes): then equal keys mean equal strings, whatever the batch.
    fn key(&self, i: usize) -> Option<u128> {
        (word(&self.views[i], 0) <= 12).then(|| u128::from_ne_bytes(self.views[i]))
    }

    /// The bytes of row `i`.
    pub fn get(&self, i: usize) -> &'a [u8] {
        self.bytes_of(&self.views[i])
    }

    /// The bytes a view of this column stands for.
    fn bytes_of(&self, v: &'a [u8; 16]) -> &'a [u8] {
        let len = word(v, 0);
        if len <= 12 {
            &v[4..4 + len]
        } else {
            let (buffer, offset) = (word(v, 8), word(v, 12));
            &self.buffers[buffer][offset..offset + len]
        }
    }
}

/// The native-endian `u32` at byte `k` of a view.
fn word(v: &[u8; 16], k: usize) -> usize {
    u32::from_ne_bytes([v[k], v[k + 1], v[k + 2], v[k + 3]]) as usize
}

/// FxHash (the rustc hasher) over the bytes, with MurmurHash3's final
/// avalanche so every bit depends on every byte (ids differing only in
/// their last characters are the rule).
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ b as u64).wrapping_mul(K);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Dense index of the known account ids: id → position in the accounts
/// table (0-based, in the order given). An open-addressing table of 8-byte
/// slots (hash tag, position + 1) over one arena of the ids' bytes: one
/// random memory access per lookup, no allocation per id.
pub struct AccountIndex {
    slots: Vec<u64>,
    arena: Vec<u8>,
    offsets: Vec<usize>,
}

impl AccountIndex {
    /// Index of the ids of `chunks`, in order (chunk after chunk). Ids must
    /// be unique and non-null.
    pub fn new(chunks: &[Strings<'_>]) -> Self {
        let len: usize = chunks.iter().map(Strings::len).sum();
        let mut index = AccountIndex {
            slots: vec![0; (2 * len).next_power_of_two().max(16)],
            arena: Vec::new(),
            offsets: Vec::with_capacity(len + 1),
        };
        index.offsets.push(0);
        let mut hashes = Vec::with_capacity(len);
        for c in chunks {
            for i in 0..c.len() {
                let id = c.get(i);
                index.arena.extend_from_slice(id);
                index.offsets.push(index.arena.len());
                hashes.push(hash(id));
            }
        }
        // Each insertion touches a random slot: the slot of the id
        // `AHEAD` places on is fetched meanwhile, so the cache misses
        // overlap instead of following one another.
        const AHEAD: usize = 16;
        let mask = index.slots.len() - 1;
        for (position, &h) in hashes.iter().enumerate() {
            if let Some(&next) = hashes.get(position + AHEAD) {
                prefetch(&index.slots[next as usize & mask]);
            }
            index.insert(position, h);
        }
        index
    }

    /// Puts account `position`, whose id hashes to `h`, in the table.
    fn insert(&mut self, position: usize, h: u64) {
        let mask = self.slots.len() - 1;
        let mut slot = h as usize & mask;
        while self.slots[slot] != 0 {
            slot = (slot + 1) & mask;
        }
        self.slots[slot] = (h & 0xffff_ffff_0000_0000) | (position as u64 + 1);
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are no accounts.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The position of each id of `chunks` (chunk after chunk), None for
    /// an unknown id; ids in the index's order cost no hash lookup.
    pub fn positions(&self, chunks: &[Strings<'_>]) -> Vec<Option<u32>> {
        let mut out = Vec::with_capacity(chunks.iter().map(Strings::len).sum());
        let mut next = 0;
        for c in chunks {
            for i in 0..c.len() {
                let found = self.find_near(next, c.get(i));
                next = found.map_or(0, |a| a as usize + 1);
                out.push(found);
            }
        }
        out
    }

    /// The account of `id`, tried first at the [`NEAR`] accounts from
    /// `next` (ids sorted, the usual export layout, make that the common
    /// case: tables skip the accounts without rows), then in the hash
    /// table.
    fn find_near(&self, next: usize, id: &[u8]) -> Option<u32> {
        match (next..next + NEAR).find(|&a| self.is(a, id)) {
            Some(a) => Some(a as u32),
            None => self.find(id),
        }
    }

    /// Whether account `a` has id `id` (false past the end).
    fn is(&self, a: usize, id: &[u8]) -> bool {
        a < self.len() && &self.arena[self.offsets[a]..self.offsets[a + 1]] == id
    }

    fn find(&self, id: &[u8]) -> Option<u32> {
        let h = hash(id);
        let mask = self.slots.len() - 1;
        let mut slot = h as usize & mask;
        loop {
            let s = self.slots[slot];
            if s == 0 {
                return None;
            }
            if s >> 32 == h >> 32 {
                let a = (s & 0xffff_ffff) as usize - 1;
                if self.is(a, id) {
                    return Some(a as u32);
                }
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// Asks the processor to bring `x`'s cache line in (a hint; nothing on
/// other architectures).
#[inline]
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults, and `x` is a valid
    // reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (x as *const T).cast::<i8>(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
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

/// Up to 64 distinct strings, each with its bit.
struct SmallSet {
    keys: Vec<Option<u128>>,
    bytes: Vec<Box<[u8]>>,
    overflow: bool,
    /// Short strings' keys seen lately, by a hash of the key, with 1 + their
    /// bit (0: empty): one probe instead of a scan of `keys` per row.
    recent: Box<[(u128, u32); RECENT_SLOTS]>,
}

/// Slots of [`SmallSet::recent`] (a power of two).
const RECENT_SLOTS: usize = 256;

impl Default for SmallSet {
    fn default() -> Self {
        SmallSet {
            keys: Vec::new(),
            bytes: Vec::new(),
            overflow: false,
            recent: Box::new([(0, 0); RECENT_SLOTS]),
        }
    }
}

/// The [`SmallSet::recent`] slot of a key.
#[inline]
fn recent_slot(key: u128) -> usize {
    let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize & (RECENT_SLOTS - 1)
}

impl SmallSet {
    /// The bit of `s[i]`, inserting it; None once more than 64 are seen.
    fn bit(&mut self, s: &Strings<'_>, i: usize) -> Option<u32> {
        let key = s.key(i);
        if let Some(key) = key {
            let slot = recent_slot(key);
            let (seen, bit) = self.recent[slot];
            if bit != 0 && seen == key {
                return Some(bit - 1);
            }
            if let Some(k) = self.keys.iter().position(|&r| r == Some(key)) {
                self.recent[slot] = (key, k as u32 + 1);
                return Some(k as u32);
            }
        }
        let b = s.get(i);
        if let Some(k) = self.bytes.iter().position(|x| **x == *b) {
            return Some(k as u32);
        }
        if self.bytes.len() == MAX_DISTINCT {
            self.overflow = true;
            return None;
        }
        self.keys.push(key);
        self.bytes.push(b.into());
        Some(self.bytes.len() as u32 - 1)
    }
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
        let acct = self.accounts(b);
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

    /// Row accounting of a batch, and each row's account slot (the extra
    /// last slot unless the row is valid and its account known). Rows are
    /// classified 64 at a time with word operations (SPEC §7's order:
    /// after the as-of date, null id, unknown id, first broken rule).
    fn accounts(&mut self, b: &Batch<'_>) -> Vec<u32> {
        let none = self.index.len() as u32;
        let mut acct = self.id_accounts(&b.ids, none);
        let t = &mut self.totals;
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
        acct
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

/// A float column with its validity (None: no nulls).
pub type Floats<'a> = (&'a [f64], Option<Bits<'a>>);

/// Bits per driver in a [`RowOutputs::top`] code.
pub const DRIVER_BITS: u32 = 21;

/// The first day of each day's month, days counted from 1970-01-01
/// (revenue.month is truncated to it, SPEC §2). One fused pass over the
/// column: the calendar arithmetic is that of Howard Hinnant's
/// `civil_from_days`, in `i64` so that no `i32` input can overflow.
pub fn first_of_month(days: &[i32]) -> Vec<i32> {
    days.iter().map(|&d| month_start(d)).collect()
}

#[inline]
fn month_start(d: i32) -> i32 {
    // Days since 0000-03-01 in 400-year eras of 146,097 days.
    let z = d as i64 + 719_468;
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    // Day of the March-based year, then its month (0 = March).
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day_of_month = doy - (153 * mp + 2) / 5;
    (d as i64 - day_of_month) as i32
}

/// SPEC §3's percentile points of each valid row's value within its
/// group (a scorecard's accounts; rows with a null group form one group):
/// 100 · (m − 1)/(n − 1), where n is the group's count of valid values and
/// m the count of them no better than the row's (≤ when higher is better,
/// ≥ otherwise; ties count, so they share the customer's best rank), 100
/// when n = 1. Values are compared as numbers (−0 equals +0) and must not
/// be NaN. Rows whose value is not valid get 0 (the caller masks them).
/// One sort of the valid rows by (group, value) instead of a rank over a
/// window of every row.
pub fn percentile_points(
    values: &[f64],
    valid: Option<Bits<'_>>,
    groups: &[u32],
    groups_valid: Option<Bits<'_>>,
    higher_is_better: bool,
) -> Vec<f64> {
    let mut rows: Vec<(u32, u64, u32)> = (0..values.len())
        .filter(|&i| valid.is_none_or(|v| v.get(i)))
        .map(|i| {
            // Group code 0 is the null group.
            let group = match groups_valid {
                Some(g) if !g.get(i) => 0,
                _ => groups[i].saturating_add(1),
            };
            let x = if higher_is_better {
                values[i]
            } else {
                -values[i]
            };
            (group, ordered_bits(x), i as u32)
        })
        .collect();
    rows.sort_unstable_by_key(|&(g, k, _)| (g, k));
    let mut points = vec![0.0; values.len()];
    for group in rows.chunk_by(|a, b| a.0 == b.0) {
        let n = group.len() as f64;
        let mut seen = 0usize;
        for tie in group.chunk_by(|a, b| a.1 == b.1) {
            seen += tie.len();
            let p = if group.len() == 1 {
                100.0
            } else {
                100.0 * (seen as f64 - 1.0) / (n - 1.0)
            };
            for &(_, _, row) in tie {
                points[row as usize] = p;
            }
        }
    }
    points
}

/// A float's bits as an unsigned integer in the float's numeric order
/// (−0 as +0).
#[inline]
fn ordered_bits(x: f64) -> u64 {
    let bits = (x + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// `values` at each of `positions`, null where the position is None or
/// the value NaN: the values (0 where null) and an Arrow validity bitmap
/// (bit `i` of byte `i / 8`), in one pass.
pub fn gather_valid(values: &[f64], positions: &[Option<u32>]) -> (Vec<f64>, Vec<u8>) {
    let mut out = Vec::with_capacity(positions.len());
    let mut valid = vec![0u8; positions.len().div_ceil(8)];
    for (i, p) in positions.iter().enumerate() {
        let x = p.map_or(f64::NAN, |a| values[a as usize]);
        let ok = !x.is_nan();
        valid[i >> 3] |= (ok as u8) << (i & 7);
        out.push(if ok { x } else { 0.0 });
    }
    (out, valid)
}

/// Whether the strings of `chunks` (chunk after chunk) are strictly
/// ascending byte-wise (so sorted and unique).
pub fn strictly_ascending(chunks: &[Strings<'_>]) -> bool {
    let mut previous: Option<&[u8]> = None;
    for c in chunks {
        for i in 0..c.len() {
            let s = c.get(i);
            if previous.is_some_and(|p| s <= p) {
                return false;
            }
            previous = Some(s);
        }
    }
    true
}

/// How an integer operand is compared with a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Cmp {
    /// The comparison with its sides swapped: `a cmp b` is `b cmp' a`.
    pub fn flipped(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
            same => same,
        }
    }

    /// The comparison that holds exactly when this one does not.
    pub fn negated(self) -> Cmp {
        match self {
            Cmp::Eq => Cmp::Ne,
            Cmp::Ne => Cmp::Eq,
            Cmp::Lt => Cmp::Ge,
            Cmp::Le => Cmp::Gt,
            Cmp::Gt => Cmp::Le,
            Cmp::Ge => Cmp::Lt,
        }
    }
}

/// A row condition the kernel evaluates on a batch's operand columns (an
/// aggregation's filter and value check). A comparison with a null
/// operand does not hold, so a tree of comparisons joined by AND gives
/// what SQL gives with nulls read as false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// The string operand `op` equals `value` (`equal`) or differs from it.
    StrEq {
        /// Operand position.
        op: usize,
        /// The constant's bytes.
        value: Vec<u8>,
        /// Equal (true) or different (false).
        equal: bool,
    },
    /// The integer operand `op` compared with `value`.
    IntCmp {
        /// Operand position.
        op: usize,
        /// The comparison.
        cmp: Cmp,
        /// The constant.
        value: i64,
    },
    /// Operand `op` is not null.
    NotNull(usize),
    /// Every condition holds.
    All(Vec<Cond>),
}

/// A column a [`Cond`] reads, with its validity (None: no nulls).
#[derive(Clone, Copy)]
pub enum Operand<'a> {
    /// Strings.
    Str(Strings<'a>, Option<Bits<'a>>),
    /// Integers (a null row's value is ignored).
    Int(&'a [i64], Option<Bits<'a>>),
    /// A column of another type, read for its nulls only.
    Other(Option<Bits<'a>>),
}

impl Operand<'_> {
    fn validity(&self) -> Option<Bits<'_>> {
        match self {
            Operand::Str(_, v) | Operand::Int(_, v) | Operand::Other(v) => *v,
        }
    }
}

/// The rows of a batch of `len` rows where `cond` holds, as an Arrow
/// bitmap (row `i` is bit `i % 8` of byte `i / 8`). Panics when `cond`
/// names an operand that is missing or of another type.
pub fn eval_cond(cond: &Cond, ops: &[Operand<'_>], len: usize) -> Vec<u8> {
    eval_conds(std::slice::from_ref(cond), ops, len)
        .pop()
        .expect("one condition")
}

/// [`eval_cond`] of each condition, each comparison that several share
/// evaluated once.
pub fn eval_conds(conds: &[Cond], ops: &[Operand<'_>], len: usize) -> Vec<Vec<u8>> {
    let mut seen: Vec<(&Cond, Vec<u64>)> = Vec::new();
    conds
        .iter()
        .map(|c| {
            let words = cond_words(c, ops, len, &mut seen);
            let mut bytes = Vec::with_capacity(8 * words.len());
            for w in words {
                bytes.extend_from_slice(&w.to_le_bytes());
            }
            bytes.truncate(len.div_ceil(8));
            bytes
        })
        .collect()
}

/// [`eval_cond`] as 64-row words; `seen` keeps the comparisons evaluated.
fn cond_words<'c>(
    cond: &'c Cond,
    ops: &[Operand<'_>],
    len: usize,
    seen: &mut Vec<(&'c Cond, Vec<u64>)>,
) -> Vec<u64> {
    let words = len.div_ceil(64);
    if let Some((_, w)) = seen.iter().find(|(c, _)| *c == cond) {
        return w.clone();
    }
    // A comparison's rows (before its operand's nulls), and the operand.
    let (op, mut out) = match cond {
        Cond::All(all) => {
            let mut acc = vec![u64::MAX; words];
            for c in all {
                for (a, w) in acc.iter_mut().zip(cond_words(c, ops, len, seen)) {
                    *a &= w;
                }
            }
            return mask_tail(acc, len);
        }
        Cond::NotNull(op) => (*op, vec![u64::MAX; words]),
        Cond::StrEq { op, value, equal } => {
            let Operand::Str(strings, _) = &ops[*op] else {
                panic!("operand {op} is not a string column");
            };
            let (views, equal) = (&strings.views[..len], *equal);
            let rows = match inline_view(value) {
                // A short constant: one 16-byte comparison per row.
                Some(t) => packed(views, |v| (u128::from_ne_bytes(*v) == t) == equal),
                None => packed(views, |v| {
                    (strings.bytes_of(v) == value.as_slice()) == equal
                }),
            };
            (*op, rows)
        }
        Cond::IntCmp { op, cmp, value } => {
            let Operand::Int(values, _) = &ops[*op] else {
                panic!("operand {op} is not an integer column");
            };
            let (values, b) = (&values[..len], *value);
            let rows = match cmp {
                Cmp::Eq => packed(values, |&a| a == b),
                Cmp::Ne => packed(values, |&a| a != b),
                Cmp::Lt => packed(values, |&a| a < b),
                Cmp::Le => packed(values, |&a| a <= b),
                Cmp::Gt => packed(values, |&a| a > b),
                Cmp::Ge => packed(values, |&a| a >= b),
            };
            (*op, rows)
        }
    };
    if let Some(valid) = ops[op].validity() {
        for (w, word) in out.iter_mut().enumerate() {
            *word &= valid.word(w, (len - 64 * w).min(64));
        }
    }
    let out = mask_tail(out, len);
    seen.push((cond, out.clone()));
    out
}

/// The view of `value` when it is inlined in one (at most 12 bytes): then
/// a row holds `value` exactly when its view is this one.
fn inline_view(value: &[u8]) -> Option<u128> {
    (value.len() <= 12).then(|| {
        let mut v = [0u8; 16];
        v[0..4].copy_from_slice(&(value.len() as u32).to_ne_bytes());
        v[4..4 + value.len()].copy_from_slice(value);
        u128::from_ne_bytes(v)
    })
}

/// The rows (items) where `holds` is true, 64 to a word.
#[inline]
fn packed<T>(items: &[T], holds: impl Fn(&T) -> bool) -> Vec<u64> {
    items
        .chunks(64)
        .map(|chunk| packed_word(chunk, &holds))
        .collect()
}

/// [`packed`] of at most 64 items: one word (the tests into bytes, a loop
/// the compiler vectorises, then 8 bytes packed into 8 bits at a time).
#[inline]
fn packed_word<T>(items: &[T], holds: impl Fn(&T) -> bool) -> u64 {
    let mut flags = [0u8; 64];
    for (f, item) in flags.iter_mut().zip(items) {
        *f = holds(item) as u8;
    }
    flags
        .chunks_exact(8)
        .enumerate()
        .fold(0u64, |m, (j, b)| m | pack_bytes(b) << (8 * j))
}

/// The rows of a column of `len` rows 64 at a time: each word's first row,
/// its number of rows (64 but for the last) and its valid rows (`valid`;
/// None: every row) as bits.
fn valid_words(
    len: usize,
    valid: Option<Bits<'_>>,
) -> impl Iterator<Item = (usize, usize, u64)> + '_ {
    (0..len.div_ceil(64)).map(move |w| {
        let n = (len - 64 * w).min(64);
        (64 * w, n, valid.map_or(low_bits(n), |v| v.word(w, n)))
    })
}

/// Clears the bits past row `len`.
fn mask_tail(mut words: Vec<u64>, len: usize) -> Vec<u64> {
    if let Some(last) = words.last_mut() {
        *last &= low_bits(len - 64 * (len.div_ceil(64) - 1));
    }
    words
}

/// A column of few distinct values as codes: each row's code (0 for a
/// null row) into the distinct values in the order they are first seen,
/// and for each distinct value the row it was first seen on. This is the
/// dictionary a Parquet writer builds by hashing every row's value.
#[derive(Debug, PartialEq, Eq)]
pub struct FirstSeen {
    /// Per row, its value's code.
    pub codes: Vec<u32>,
    /// Per code, the row it was first seen on.
    pub rows: Vec<usize>,
}

/// The [`FirstSeen`] codes of a string column (`valid`: its validity) if
/// it holds at most `limit` distinct values, else None. Rows with the same
/// 16-byte view (inlined string, or the same bytes of the same buffer)
/// share a code without reading their bytes; distinct views of one string
/// are merged. Gives up after `4 * limit` distinct views.
pub fn few_valued_strings(
    strings: &Strings<'_>,
    valid: Option<Bits<'_>>,
    limit: usize,
) -> Option<FirstSeen> {
    // (view, code + 1) of recently seen views, by a hash of the view (as
    // SmallSet's recent keys).
    let mut slots = [(0u128, 0u32); RECENT_SLOTS];
    let mut distinct_views = 0usize;
    let mut values: Vec<&[u8]> = Vec::new();
    let mut seen = FirstSeen {
        codes: Vec::with_capacity(strings.len()),
        rows: Vec::new(),
    };
    for (i, view) in strings.views.iter().enumerate() {
        if valid.is_some_and(|v| !v.get(i)) {
            seen.codes.push(0);
            continue;
        }
        let v = u128::from_ne_bytes(*view);
        let slot = recent_slot(v);
        let (w, code) = slots[slot];
        let code = if code != 0 && w == v {
            code - 1
        } else {
            distinct_views += 1;
            if distinct_views > 4 * limit {
                return None;
            }
            let bytes = strings.get(i);
            let code = match values.iter().position(|b| *b == bytes) {
                Some(c) => c as u32,
                None => {
                    if values.len() == limit {
                        return None;
                    }
                    values.push(bytes);
                    seen.rows.push(i);
                    (values.len() - 1) as u32
                }
            };
            slots[slot] = (v, code + 1);
            code
        };
        seen.codes.push(code);
    }
    Some(seen)
}

/// The [`FirstSeen`] codes of a float column (`valid`: its validity) if
/// it holds at most `limit` distinct values, else None. Values are told
/// apart by their bits, as a Parquet dictionary stores them (−0 and +0 are
/// two values). Gives up as soon as value `limit + 1` is seen, so a column
/// of many values costs only the rows read until then.
pub fn few_valued_floats(
    values: &[f64],
    valid: Option<Bits<'_>>,
    limit: usize,
) -> Option<FirstSeen> {
    let mut numbering = FloatNumbering {
        table: FloatCodes::with_slots(64),
        seen: FirstSeen {
            codes: vec![0; values.len()],
            rows: Vec::new(),
        },
        last: (0, u32::MAX),
        limit,
    };
    // 64 rows at a time: a word of all valid rows needs no bit tests.
    for (first, n, word) in valid_words(values.len(), valid) {
        let numbered = if word == low_bits(n) {
            (first..first + n).all(|i| numbering.row(values, i))
        } else {
            set_rows(&[word]).all(|k| numbering.row(values, first + k))
        };
        if !numbered {
            return None;
        }
    }
    Some(numbering.seen)
}

/// The state of [`few_valued_floats`].
struct FloatNumbering {
    table: FloatCodes,
    seen: FirstSeen,
    /// The previous valid row's (bits, code): runs of one value (a count
    /// of 0, a step's points) skip the table. Code u32::MAX: none yet.
    last: (u64, u32),
    limit: usize,
}

impl FloatNumbering {
    /// Numbers valid row `i`; false once there are too many values.
    #[inline(always)]
    fn row(&mut self, values: &[f64], i: usize) -> bool {
        let bits = values[i].to_bits();
        if self.last.1 != u32::MAX && bits == self.last.0 {
            self.seen.codes[i] = self.last.1;
            return true;
        }
        let code = match self.table.code(bits) {
            Ok(code) => code,
            Err(slot) => {
                if self.seen.rows.len() == self.limit {
                    return false;
                }
                self.seen.rows.push(i);
                let code = (self.seen.rows.len() - 1) as u32;
                self.table.put(slot, bits, code);
                if 2 * self.seen.rows.len() > self.table.slots.len() {
                    self.table = self.table.grown(values, &self.seen.rows);
                }
                code
            }
        };
        self.last = (bits, code);
        self.seen.codes[i] = code;
        true
    }
}

/// Open addressing from a float's bits to its code, at most half full;
/// it starts small (in the first-level cache for the usual handful of
/// values) and doubles as values come.
struct FloatCodes {
    /// (bits, code + 1); code 0: empty.
    slots: Vec<(u64, u32)>,
    shift: u32,
}

impl FloatCodes {
    fn with_slots(n: usize) -> Self {
        FloatCodes {
            slots: vec![(0, 0); n],
            shift: 64 - n.trailing_zeros(),
        }
    }

    /// The code of `bits`, or the empty slot where it goes.
    #[inline]
    fn code(&self, bits: u64) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let mut slot = (float_hash(bits) >> self.shift) as usize;
        loop {
            match self.slots[slot] {
                (_, 0) => return Err(slot),
                (b, c) if b == bits => return Ok(c - 1),
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    fn put(&mut self, slot: usize, bits: u64, code: u32) {
        self.slots[slot] = (bits, code + 1);
    }

    /// The table with twice the slots, holding the values first seen on
    /// `rows` (code = position in `rows`).
    fn grown(&self, values: &[f64], rows: &[usize]) -> Self {
        let mut bigger = FloatCodes::with_slots(2 * self.slots.len());
        for (code, &r) in rows.iter().enumerate() {
            let bits = values[r].to_bits();
            if let Err(slot) = bigger.code(bits) {
                bigger.put(slot, bits, code as u32);
            }
        }
        bigger
    }
}

/// A hash of a float's bits whose high bits depend on both halves (the
/// low mantissa bits of counts and steps are all zero, so a plain
/// multiplication would crowd them into few slots).
#[inline]
fn float_hash(bits: u64) -> u64 {
    (bits ^ (bits >> 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The least and greatest of the valid values (None when there are none),
/// as a Parquet writer's statistics take them: when a valid value is NaN,
/// the first such NaN is both. Four running minima and maxima at a time,
/// with comparisons the compiler vectorises.
pub fn min_max(values: &[f64], valid: Option<Bits<'_>>) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = ([f64::INFINITY; 4], [f64::NEG_INFINITY; 4]);
    let (mut any, mut nan) = (false, false);
    let mut take = |lo: &mut f64, hi: &mut f64, x: f64| {
        *lo = if x < *lo { x } else { *lo };
        *hi = if x > *hi { x } else { *hi };
        nan |= x.is_nan();
    };
    for (first, n, word) in valid_words(values.len(), valid) {
        let rows = &values[first..first + n];
        if word == low_bits(n) {
            let mut quads = rows.chunks_exact(4);
            for q in &mut quads {
                for j in 0..4 {
                    take(&mut lo[j], &mut hi[j], q[j]);
                }
            }
            for &x in quads.remainder() {
                take(&mut lo[0], &mut hi[0], x);
            }
        } else {
            for k in set_rows(&[word]) {
                take(&mut lo[0], &mut hi[0], rows[k]);
            }
        }
        any |= word != 0;
    }
    if !any {
        return None;
    }
    if nan {
        let first = (0..values.len())
            .find(|&i| valid.is_none_or(|v| v.get(i)) && values[i].is_nan())
            .map(|i| values[i])?;
        return Some((first, first));
    }
    let lo = lo
        .into_iter()
        .fold(f64::INFINITY, |a, x| if x < a { x } else { a });
    let hi = hi
        .into_iter()
        .fold(f64::NEG_INFINITY, |a, x| if x > a { x } else { a });
    Some((lo, hi))
}

/// A categorical column's keys (positions in its names), of any width.
#[derive(Clone, Copy)]
pub enum Keys<'a> {
    /// 8-bit keys.
    U8(&'a [u8]),
    /// 16-bit keys.
    U16(&'a [u16]),
    /// 32-bit keys.
    U32(&'a [u32]),
}

impl Keys<'_> {
    /// Row `i`'s key.
    pub fn get(&self, i: usize) -> usize {
        match self {
            Keys::U8(k) => k[i] as usize,
            Keys::U16(k) => k[i] as usize,
            Keys::U32(k) => k[i] as usize,
        }
    }
}

/// The [`FirstSeen`] codes of a categorical column (`keys`, each below
/// `names`; `valid`: its validity): its names renumbered in the order they
/// are first seen (`rows` gives each one's first row; a null row is code 0).
pub fn first_seen_keys(keys: Keys<'_>, valid: Option<Bits<'_>>, names: usize) -> FirstSeen {
    match keys {
        Keys::U8(k) => first_seen(k, valid, names),
        Keys::U16(k) => first_seen(k, valid, names),
        Keys::U32(k) => first_seen(k, valid, names),
    }
}

/// [`first_seen_keys`] of one key width.
fn first_seen<K: Copy + Into<u32>>(keys: &[K], valid: Option<Bits<'_>>, names: usize) -> FirstSeen {
    let mut renumbered = vec![0u32; names];
    let mut seen = FirstSeen {
        codes: Vec::with_capacity(keys.len()),
        rows: Vec::new(),
    };
    for (i, &key) in keys.iter().enumerate() {
        if valid.is_some_and(|v| !v.get(i)) {
            seen.codes.push(0);
            continue;
        }
        let key = key.into() as usize;
        if renumbered[key] == 0 {
            seen.rows.push(i);
            renumbered[key] = seen.rows.len() as u32;
        }
        seen.codes.push(renumbered[key] - 1);
    }
    seen
}

/// Accounts from the one after the last found that an id is compared with
/// before it is hashed ([`AccountIndex::find_near`]).
const NEAR: usize = 4;

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

#[cfg(test)]
mod tests;
