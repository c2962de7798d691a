//! Boolean columns as bits: the Arrow bitmap layout ([`Bits`]) and the
//! 64-rows-to-a-word helpers the other modules build their row sets with.

/// A column of booleans in the Arrow bitmap layout: bit `offset + i`
/// (least significant bit first) is row `i`.
#[derive(Clone, Copy)]
pub struct Bits<'a> {
    /// The bitmap's bytes.
    pub(crate) bytes: &'a [u8],
    /// The bit of row 0.
    pub(crate) offset: usize,
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
    pub(crate) fn word(&self, w: usize, n: usize) -> u64 {
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
pub(crate) fn set_rows(words: &[u64]) -> impl Iterator<Item = usize> + '_ {
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

/// Eight 0/1 bytes as the low 8 bits of a word (byte `i` → bit `i`): the
/// multiplication moves byte `i`'s bit to bit `56 + i`, with no carries.
#[inline]
pub(crate) fn pack_bytes(b: &[u8]) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(b);
    u64::from_le_bytes(x).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// A word with its low `n` bits (n ≤ 64) set.
#[inline]
pub(crate) fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// The rows (items) where `holds` is true, 64 to a word.
#[inline]
pub(crate) fn packed<T>(items: &[T], holds: impl Fn(&T) -> bool) -> Vec<u64> {
    items
        .chunks(64)
        .map(|chunk| packed_word(chunk, &holds))
        .collect()
}

/// [`packed`] of at most 64 items: one word (the tests into bytes, a loop
/// the compiler vectorises, then 8 bytes packed into 8 bits at a time).
#[inline]
pub(crate) fn packed_word<T>(items: &[T], holds: impl Fn(&T) -> bool) -> u64 {
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
pub(crate) fn valid_words(
    len: usize,
    valid: Option<Bits<'_>>,
) -> impl Iterator<Item = (usize, usize, u64)> + '_ {
    (0..len.div_ceil(64)).map(move |w| {
        let n = (len - 64 * w).min(64);
        (64 * w, n, valid.map_or(low_bits(n), |v| v.word(w, n)))
    })
}

/// Clears the bits past row `len`.
pub(crate) fn mask_tail(mut words: Vec<u64>, len: usize) -> Vec<u64> {
    if let Some(last) = words.last_mut() {
        *last &= low_bits(len - 64 * (len.div_ceil(64) - 1));
    }
    words
}
