//! String columns in the Arrow "view" layout ([`Strings`]), the small set
//! of distinct strings behind [`crate::Func::DistinctStrings`], and the
//! sortedness test of id columns.

use crate::MAX_DISTINCT;

/// A string column in the Arrow "view" layout: 16-byte views (length, then
/// either the inlined bytes when at most 12, or a prefix, buffer index and
/// offset) over data buffers.
#[derive(Clone, Copy)]
pub struct Strings<'a> {
    /// One 16-byte view per row.
    pub(crate) views: &'a [[u8; 16]],
    /// The data buffers the views of longer strings point into.
    pub(crate) buffers: &'a [&'a [u8]],
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
    pub(crate) fn bytes_of(&self, v: &'a [u8; 16]) -> &'a [u8] {
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

/// Up to 64 distinct strings, each with its bit.
pub(crate) struct SmallSet {
    keys: Vec<Option<u128>>,
    bytes: Vec<Box<[u8]>>,
    overflow: bool,
    /// Short strings' keys seen lately, by a hash of the key, with 1 + their
    /// bit (0: empty): one probe instead of a scan of `keys` per row.
    recent: Box<[(u128, u32); RECENT_SLOTS]>,
}

/// Slots of [`SmallSet::recent`] (a power of two).
pub(crate) const RECENT_SLOTS: usize = 256;

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
pub(crate) fn recent_slot(key: u128) -> usize {
    let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize & (RECENT_SLOTS - 1)
}

impl SmallSet {
    /// The bit of `s[i]`, inserting it; None once more than 64 are seen.
    pub(crate) fn bit(&mut self, s: &Strings<'_>, i: usize) -> Option<u32> {
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
