//! The dense index of the known account ids ([`AccountIndex`]): id →
//! position in the accounts table.

use crate::Strings;

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
        // A run of one id (an account's rows together) costs one lookup.
        let mut last: Option<(&[u8], Option<u32>)> = None;
        for c in chunks {
            for i in 0..c.len() {
                let id = c.get(i);
                let found = match last {
                    Some((l, found)) if l == id => found,
                    _ => self.find_near(next, id),
                };
                last = Some((id, found));
                next = found.map_or(0, |a| a as usize + 1);
                out.push(found);
            }
        }
        out
    }

    /// The slot of each id of `chunks` for [`crate::TableKernel::add_placed`]:
    /// its position, or the index's length for an unknown id (and for a
    /// null one, whose view `valid` unsets).
    pub fn slots(&self, chunks: &[Strings<'_>]) -> Vec<u32> {
        let none = self.len() as u32;
        self.positions(chunks)
            .into_iter()
            .map(|p| p.unwrap_or(none))
            .collect()
    }

    /// The account of `id`, tried first at the [`NEAR`] accounts from
    /// `next` (ids sorted, the usual export layout, make that the common
    /// case: tables skip the accounts without rows), then in the hash
    /// table.
    pub(crate) fn find_near(&self, next: usize, id: &[u8]) -> Option<u32> {
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

/// Accounts from the one after the last found that an id is compared with
/// before it is hashed ([`AccountIndex::find_near`]).
const NEAR: usize = 4;
