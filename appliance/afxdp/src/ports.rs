//! The port set: a [`PortControl`] any thread changes, and the XDP
//! program's bitmap (`cg_media_ports`) kept equal to it by the data-plane
//! thread.
//!
//! # How the bitmap follows the `PortControl`
//!
//! * The `PortControl` is a lock-free filter bitmap
//!   (`PortControl::new_filter`). Every frame's destination port is
//!   checked against it in user space (one relaxed load): a port removed
//!   is filtered from the very next frame, before the program's bitmap
//!   has caught up.
//! * At the start of every `recv_batch`, and between poll slices of at
//!   most [`POLL_SLICE`] while the rings are idle, [`PortSync::moved`]
//!   loads the set's generation (one atomic load). When it moved, it reads
//!   the set (`PortControl::to_vec`), compares it with the bitmap last
//!   written to the program, and writes only the 64-port words that differ
//!   (`XdpProgram::set_media_ports`).
//! * So a port added reaches the program at the data plane's next
//!   `recv_batch` (under load: within one batch; idle: within
//!   [`POLL_SLICE`]). Until then media for the new port reaches the
//!   kernel stack.
//! * Per frame: one relaxed load, no lock, no allocation. Per change: one
//!   `Vec` (the port list) and one map write per changed word.

use std::{ops::RangeInclusive, time::Duration};

use callguard_capture::PortControl;
use callguard_xdp::{XdpError, XdpProgram, abi::PORT_WORDS};

/// Longest `poll(2)` wait between two looks at the port set while idle.
pub const POLL_SLICE: Duration = Duration::from_millis(10);
const WORDS: usize = PORT_WORDS as usize;

/// The port set in the program's layout: port `p` is bit `p % 64` of word
/// `p / 64`.
type Bitmap = [u64; WORDS];

/// Keeps the program's `cg_media_ports` equal to a [`PortControl`].
pub(crate) struct PortSync {
    control: PortControl,
    /// What the program holds, as last written.
    applied: Box<Bitmap>,
    /// The set as last read from `control`.
    wanted: Box<Bitmap>,
    last_generation: Option<u64>,
    sweeps: u64,
    updates: u64,
}

impl PortSync {
    pub(crate) fn new(control: PortControl) -> Self {
        Self {
            control,
            applied: Box::new([0; WORDS]),
            wanted: Box::new([0; WORDS]),
            last_generation: None,
            sweeps: 0,
            updates: 0,
        }
    }

    pub(crate) fn control(&self) -> &PortControl {
        &self.control
    }

    /// How many times the set was compared with the program's bitmap, and
    /// how many of those wrote to it.
    pub(crate) fn sweeps_and_updates(&self) -> (u64, u64) {
        (self.sweeps, self.updates)
    }

    /// Compares and writes now. The program's bitmap must hold what
    /// `applied` says (empty for a program just loaded).
    pub(crate) fn sync_now(&mut self, program: &mut XdpProgram) -> Result<bool, XdpError> {
        // Generation first: a change after this read moves it again.
        self.last_generation = Some(self.control.generation());
        self.sweeps += 1;
        self.wanted.fill(0);
        for port in self.control.to_vec() {
            self.wanted[usize::from(port / 64)] |= 1 << (port % 64);
        }
        if self.wanted == self.applied {
            return Ok(false);
        }
        self.updates += 1;
        let result = program.set_media_ports(&ranges(&self.wanted));
        let written = result.is_ok();
        // `set_media_ports` writes word by word and keeps its shadow equal
        // to the kernel's map even when it fails half way: take it from there.
        for word in 0..WORDS {
            if self.applied[word] != self.wanted[word] {
                self.applied[word] = if written { self.wanted[word] } else { program_word(program, word) };
            }
        }
        if !written {
            // Try again at the next look.
            self.last_generation = None;
        }
        result.map(|()| true)
    }

    /// The cheap look done at every `recv_batch` and poll slice: whether
    /// the set's generation moved (or the last write failed) since the
    /// last [`sync_now`](Self::sync_now).
    pub(crate) fn moved(&self) -> bool {
        self.last_generation != Some(self.control.generation())
    }
}

/// The bits of `word` as the program's shadow of its map holds them.
fn program_word(program: &XdpProgram, word: usize) -> u64 {
    (0..64u32).filter(|bit| program.is_media_port((word as u32 * 64 + bit) as u16)).fold(0, |w, bit| w | 1 << bit)
}

/// The set bits of `bitmap` as sorted inclusive port ranges.
fn ranges(bitmap: &Bitmap) -> Vec<RangeInclusive<u16>> {
    let mut out = Vec::new();
    let mut start: Option<u32> = None;
    for (w, &bits) in bitmap.iter().enumerate() {
        if start.is_none() && bits == 0 {
            continue;
        }
        for bit in 0..64u32 {
            let port = w as u32 * 64 + bit;
            match (bits >> bit & 1 == 1, start) {
                (true, None) => start = Some(port),
                (false, Some(s)) => {
                    out.push(s as u16..=(port - 1) as u16);
                    start = None;
                }
                _ => {}
            }
        }
    }
    if let Some(s) = start {
        out.push(s as u16..=u16::MAX);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitmap(ports: &[u16]) -> Box<Bitmap> {
        let mut b = Box::new([0; WORDS]);
        for &p in ports {
            b[usize::from(p / 64)] |= 1 << (p % 64);
        }
        b
    }

    #[test]
    fn ranges_of_a_bitmap() {
        assert!(ranges(&bitmap(&[])).is_empty());
        assert_eq!(ranges(&bitmap(&[1, 2, 3, 63, 64, 200, 65535])), vec![1..=3, 63..=64, 200..=200, 65535..=65535]);
        let all: Vec<u16> = (0..=u16::MAX).collect();
        assert_eq!(ranges(&bitmap(&all)), vec![0..=65535]);
    }
}
