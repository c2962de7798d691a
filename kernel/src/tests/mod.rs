//! Hand-computed cases for the kernel on its own (healthscore's tests run
//! it end to end).

use std::sync::Arc;

use super::*;

mod accounting;
mod aggregation;
mod calendar;
mod changes;
mod conditions;
mod encoding;
mod index;
mod scoring;

/// Views and one data buffer for `strings` (inlined up to 12 bytes).
fn views(strings: &[&str]) -> (Vec<[u8; 16]>, Vec<u8>) {
    let mut data = Vec::new();
    let views = strings
        .iter()
        .map(|s| {
            let b = s.as_bytes();
            let mut v = [0u8; 16];
            v[0..4].copy_from_slice(&(b.len() as u32).to_ne_bytes());
            if b.len() <= 12 {
                v[4..4 + b.len()].copy_from_slice(b);
            } else {
                v[4..8].copy_from_slice(&b[0..4]);
                v[8..12].copy_from_slice(&0u32.to_ne_bytes());
                v[12..16].copy_from_slice(&(data.len() as u32).to_ne_bytes());
                data.extend_from_slice(b);
            }
            v
        })
        .collect();
    (views, data)
}

/// A bitmap of `flags`, one bit per row, starting at bit `offset` of its
/// first byte (the other bits set, so a misread offset shows).
fn bitmap(flags: &[bool], offset: usize) -> Vec<u8> {
    let mut bytes = vec![0xffu8; (offset + flags.len()).div_ceil(8)];
    for (i, &f) in flags.iter().enumerate() {
        let j = offset + i;
        if !f {
            bytes[j >> 3] &= !(1 << (j & 7));
        }
    }
    bytes
}

/// No row set.
const NONE: Bits<'static> = Bits {
    bytes: &[0; 16],
    offset: 0,
};

/// Every row set.
const ALL: Bits<'static> = Bits {
    bytes: &[0xff; 16],
    offset: 0,
};

/// A batch of valid rows (none after D, no null id, no rule or null
/// flags) with `aggs`: `day.len()` rows.
fn plain_batch<'a>(ids: Strings<'a>, day: &'a [i32], aggs: Vec<AggColumns<'a>>) -> Batch<'a> {
    Batch {
        len: day.len(),
        after: NONE,
        day,
        ids,
        ids_valid: None,
        rules: Vec::new(),
        nulls: Vec::new(),
        aggs,
    }
}

fn index(ids: &[&str]) -> Arc<AccountIndex> {
    let (v, d) = views(ids);
    let buffers = [d.as_slice()];
    Arc::new(AccountIndex::new(&[Strings::new(&v, &buffers)]))
}
