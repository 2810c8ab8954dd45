//! Hashed word and bigram features of the rolling transcript.
//!
//! Every token of a turn gives a unigram feature and every adjacent pair a
//! bigram feature, namespaced by speaker (`c` caller, `e` callee), hashed
//! with 64-bit FNV-1a into [`BUCKETS`] buckets. The feature vector of a call
//! so far is the bucket counts scaled to unit length; the detector keeps
//! the running dot product with the weights and the running sum of squares,
//! so each new token costs O(1) whatever the call's length.

use std::collections::HashMap;

use crate::model::BUCKETS;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// 64-bit FNV-1a of a string (also used to assign training folds).
pub fn fnv1a(text: &str) -> u64 {
    fnv(FNV_OFFSET, text.as_bytes())
}

/// The hash buckets of one turn's features, in token order.
pub fn turn_buckets(caller: bool, tokens: &[String], out: &mut Vec<u32>) {
    let ns: &[u8] = if caller { b"c\xff" } else { b"e\xff" };
    let ns2: &[u8] = if caller { b"C\xff" } else { b"E\xff" };
    for (i, token) in tokens.iter().enumerate() {
        let h = fnv(fnv(FNV_OFFSET, ns), token.as_bytes());
        out.push((h % BUCKETS as u64) as u32);
        if let Some(next) = tokens.get(i + 1) {
            let h = fnv(fnv(fnv(fnv(FNV_OFFSET, ns2), token.as_bytes()), b"\xfe"), next.as_bytes());
            out.push((h % BUCKETS as u64) as u32);
        }
    }
}

/// Running bucket counts of a call with its dot product and norm.
#[derive(Default, Clone)]
pub(crate) struct WordFeatures {
    counts: HashMap<u32, u32>,
    dot: f64,
    sum_squares: f64,
}

impl WordFeatures {
    /// Adds buckets, updating the dot product with `weights`.
    pub(crate) fn add(&mut self, buckets: &[u32], weights: &[f32]) {
        for &b in buckets {
            let count = self.counts.entry(b).or_insert(0);
            self.sum_squares += f64::from(2 * *count + 1);
            *count += 1;
            self.dot += f64::from(weights.get(b as usize).copied().unwrap_or(0.0));
        }
    }

    /// The weighted sum of the unit-length feature vector.
    pub(crate) fn score(&self) -> f32 {
        if self.sum_squares <= 0.0 { 0.0 } else { (self.dot / self.sum_squares.sqrt()) as f32 }
    }

    /// Forgets everything.
    pub(crate) fn clear(&mut self) {
        self.counts.clear();
        self.dot = 0.0;
        self.sum_squares = 0.0;
    }
}

/// A sparse unit-length feature vector from bucket counts (training).
pub fn normalized(counts: &std::collections::BTreeMap<u32, u32>) -> Vec<(u32, f32)> {
    let norm = counts.values().map(|c| f64::from(*c).powi(2)).sum::<f64>().sqrt();
    if norm == 0.0 {
        return Vec::new();
    }
    counts.iter().map(|(b, c)| (*b, (f64::from(*c) / norm) as f32)).collect()
}
