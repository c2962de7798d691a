//! What the Parquet writer asks of a column: the values of few-valued
//! text, categorical and float columns numbered in first-seen order for
//! its dictionaries ([`FirstSeen`]), and float pages' statistics
//! ([`min_max`]).

use crate::bits::{low_bits, set_rows, valid_words};
use crate::strings::{recent_slot, RECENT_SLOTS};
use crate::{Bits, Strings};

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
