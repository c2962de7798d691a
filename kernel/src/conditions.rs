//! Row conditions (an aggregation's filter and value check) evaluated on a
//! batch's operand columns into bitmaps: [`Cond`], [`eval_conds`].

use crate::bits::{mask_tail, packed};
use crate::{Bits, Strings};

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
