//! The replay list of RFC 3711 section 3.3.2: a sliding window of packet
//! indices, as a ring of bits.

/// Why an index is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// The index was already accepted.
    Seen,
    /// The index is behind the window.
    TooOld,
}

/// Indices accepted within `size` of the highest one.
#[derive(Debug, Clone)]
pub(crate) struct ReplayWindow {
    size: u64,
    highest: Option<u64>,
    bits: Vec<u64>,
}

impl ReplayWindow {
    /// A window of `size` (at least 1) packets.
    pub(crate) fn new(size: u16) -> Self {
        let size = u64::from(size.max(1));
        Self { size, highest: None, bits: vec![0; size.div_ceil(64) as usize] }
    }

    fn capacity(&self) -> u64 {
        self.bits.len() as u64 * 64
    }

    fn bit(&self, index: u64) -> (usize, u64) {
        let pos = index % self.capacity();
        ((pos / 64) as usize, 1 << (pos % 64))
    }

    /// Whether `index` may be accepted, without changing anything.
    pub(crate) fn check(&self, index: u64) -> Result<(), Replay> {
        let Some(highest) = self.highest else {
            return Ok(());
        };
        if index > highest {
            return Ok(());
        }
        if highest - index >= self.size {
            return Err(Replay::TooOld);
        }
        let (word, mask) = self.bit(index);
        if self.bits[word] & mask != 0 { Err(Replay::Seen) } else { Ok(()) }
    }

    /// Records `index` as accepted (after [`check`](Self::check) and the
    /// authentication passed).
    pub(crate) fn accept(&mut self, index: u64) {
        match self.highest {
            Some(highest) if index <= highest => {}
            Some(highest) if index - highest < self.capacity() => {
                for i in highest + 1..=index {
                    let (word, mask) = self.bit(i);
                    self.bits[word] &= !mask;
                }
                self.highest = Some(index);
            }
            _ => {
                self.bits.iter_mut().for_each(|w| *w = 0);
                self.highest = Some(index);
            }
        }
        let (word, mask) = self.bit(index);
        self.bits[word] |= mask;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_of_64() {
        let mut w = ReplayWindow::new(64);
        assert_eq!(w.check(1000), Ok(()));
        w.accept(1000);
        assert_eq!(w.check(1000), Err(Replay::Seen));
        assert_eq!(w.check(999), Ok(()));
        assert_eq!(w.check(937), Ok(()));
        assert_eq!(w.check(936), Err(Replay::TooOld));
        w.accept(990);
        assert_eq!(w.check(990), Err(Replay::Seen));
        w.accept(1063);
        // 990 is still inside (1063 - 990 = 73 >= 64): too old now.
        assert_eq!(w.check(990), Err(Replay::TooOld));
        assert_eq!(w.check(1000), Err(Replay::Seen));
        assert_eq!(w.check(1001), Ok(()));
        // A jump past the whole ring forgets everything behind.
        w.accept(100_000);
        assert_eq!(w.check(99_999), Ok(()));
        assert_eq!(w.check(100_000), Err(Replay::Seen));
    }

    #[test]
    fn ring_bits_are_cleared_as_it_slides() {
        let mut w = ReplayWindow::new(100); // 128 bits of ring
        for i in 0..1000u64 {
            w.accept(i * 3);
            assert_eq!(w.check(i * 3 + 1), Ok(()), "{i}");
        }
        // Within the window, only multiples of 3 were seen.
        for i in 2900..2997u64 {
            assert_eq!(w.check(i).is_err(), i % 3 == 0, "{i}");
        }
    }

    #[test]
    fn window_of_one() {
        let mut w = ReplayWindow::new(0);
        w.accept(5);
        assert_eq!(w.check(5), Err(Replay::Seen));
        assert_eq!(w.check(4), Err(Replay::TooOld));
        assert_eq!(w.check(6), Ok(()));
    }
}
