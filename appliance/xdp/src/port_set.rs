//! The media port set as the 65536-bit bitmap `cg_media_ports` holds.

use std::ops::RangeInclusive;

use crate::abi::{PORT_WORD_BITS, PORT_WORDS};

const WORDS: usize = PORT_WORDS as usize;

/// A set of UDP ports, laid out word for word like `cg_media_ports`:
/// port `p` is bit `p % 64` of word `p / 64`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PortSet {
    words: Box<[u64; WORDS]>,
}

impl std::fmt::Debug for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.ranges()).finish()
    }
}

impl PortSet {
    pub(crate) fn new() -> Self {
        Self { words: Box::new([0; WORDS]) }
    }

    pub(crate) fn from_ranges(ranges: &[RangeInclusive<u16>]) -> Self {
        let mut set = Self::new();
        for range in ranges {
            for port in range.clone() {
                set.insert(port);
            }
        }
        set
    }

    const fn position(port: u16) -> (usize, u64) {
        let word = port as usize / PORT_WORD_BITS as usize;
        let bit = 1u64 << (port as u32 % PORT_WORD_BITS);
        (word, bit)
    }

    /// Adds `port`; returns the index of the word that changed, if one did.
    pub(crate) fn insert(&mut self, port: u16) -> Option<u32> {
        let (word, bit) = Self::position(port);
        let changed = self.words[word] & bit == 0;
        self.words[word] |= bit;
        changed.then_some(word as u32)
    }

    /// Removes `port`; returns the index of the word that changed, if one did.
    pub(crate) fn remove(&mut self, port: u16) -> Option<u32> {
        let (word, bit) = Self::position(port);
        let changed = self.words[word] & bit != 0;
        self.words[word] &= !bit;
        changed.then_some(word as u32)
    }

    pub(crate) fn contains(&self, port: u16) -> bool {
        let (word, bit) = Self::position(port);
        self.words[word] & bit != 0
    }

    pub(crate) fn word(&self, index: u32) -> u64 {
        self.words[index as usize]
    }

    pub(crate) fn set_word(&mut self, index: u32, value: u64) {
        self.words[index as usize] = value;
    }

    /// Indexes of the words that differ between `self` and `other`.
    pub(crate) fn changed_words<'a>(&'a self, other: &'a Self) -> impl Iterator<Item = u32> + 'a {
        (0..PORT_WORDS).filter(move |&i| self.words[i as usize] != other.words[i as usize])
    }

    pub(crate) fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The set as sorted, non-adjacent inclusive ranges.
    pub(crate) fn ranges(&self) -> Vec<RangeInclusive<u16>> {
        let mut out = Vec::new();
        let mut start: Option<u16> = None;
        for port in 0..=u16::MAX {
            match (self.contains(port), start) {
                (true, None) => start = Some(port),
                (false, Some(s)) => {
                    out.push(s..=port - 1);
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            out.push(s..=u16::MAX);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_layout_matches_the_header() {
        let mut set = PortSet::new();
        set.insert(0);
        set.insert(63);
        set.insert(64);
        set.insert(65535);
        assert_eq!(set.word(0), 1 | 1 << 63);
        assert_eq!(set.word(1), 1);
        assert_eq!(set.word(1023), 1 << 63);
        assert_eq!(set.len(), 4);
    }

    #[test]
    fn ranges_round_trip() {
        let ranges = [10000..=10009, 20000..=20000, 65530..=65535, 0..=1];
        let set = PortSet::from_ranges(&ranges);
        assert_eq!(set.ranges(), vec![0..=1, 10000..=10009, 20000..=20000, 65530..=65535]);
        assert_eq!(set.len(), 2 + 10 + 1 + 6);
        #[allow(clippy::reversed_empty_ranges)]
        let empty = PortSet::from_ranges(&[5..=4]);
        assert_eq!(empty.len(), 0);
        assert_eq!(PortSet::from_ranges(&[0..=65535]).len(), 65536);
    }

    #[test]
    fn insert_remove_report_changed_words() {
        let mut set = PortSet::new();
        assert_eq!(set.insert(130), Some(2));
        assert_eq!(set.insert(130), None);
        assert!(set.contains(130));
        assert_eq!(set.remove(130), Some(2));
        assert_eq!(set.remove(130), None);
        assert!(!set.contains(130));
    }

    #[test]
    fn changed_words_only_where_different() {
        let a = PortSet::from_ranges(&[10000..=10100]);
        let b = PortSet::from_ranges(&[10000..=10100, 30000..=30000]);
        assert_eq!(a.changed_words(&b).collect::<Vec<_>>(), vec![30000 / 64]);
    }
}
