//! The set of UDP ports a source delivers, changed live from any thread.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::error::CaptureError;
use crate::socket::SocketPorts;

/// 65,536 bits, one per UDP port; lock-free, so the data plane checks a
/// port with one relaxed load while a control thread changes the set.
pub(crate) struct PortBitmap {
    words: Box<[AtomicU64]>,
    len: AtomicUsize,
    /// Bumped after every change; see [`PortControl::generation`].
    generation: AtomicU64,
}

impl PortBitmap {
    pub(crate) fn new() -> Self {
        Self {
            words: (0..1024).map(|_| AtomicU64::new(0)).collect(),
            len: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
        }
    }

    fn locate(port: u16) -> (usize, u64) {
        (usize::from(port >> 6), 1u64 << (port & 63))
    }

    pub(crate) fn contains(&self, port: u16) -> bool {
        let (word, bit) = Self::locate(port);
        self.words[word].load(Ordering::Relaxed) & bit != 0
    }

    /// True when the port was not there before.
    pub(crate) fn insert(&self, port: u16) -> bool {
        let (word, bit) = Self::locate(port);
        let added = self.words[word].fetch_or(bit, Ordering::Relaxed) & bit == 0;
        if added {
            self.len.fetch_add(1, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
        }
        added
    }

    /// True when the port was there.
    pub(crate) fn remove(&self, port: u16) -> bool {
        let (word, bit) = Self::locate(port);
        let removed = self.words[word].fetch_and(!bit, Ordering::Relaxed) & bit != 0;
        if removed {
            self.len.fetch_sub(1, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
        }
        removed
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn to_vec(&self) -> Vec<u16> {
        let mut ports = Vec::with_capacity(self.len());
        for (w, word) in self.words.iter().enumerate() {
            let mut bits = word.load(Ordering::Relaxed);
            while bits != 0 {
                let b = bits.trailing_zeros();
                // w < 1024 and b < 64, so the port fits in 16 bits.
                ports.push(((w as u32) << 6 | b) as u16);
                bits &= bits - 1;
            }
        }
        ports
    }
}

#[derive(Clone)]
enum Inner {
    /// A user-space filter (AF_PACKET, pcap): membership is the whole story.
    Filter(Arc<PortBitmap>),
    /// One bound socket per port.
    Sockets(Arc<SocketPorts>),
}

/// A handle on a source's UDP port set, cheap to clone and usable from any
/// thread (the SIP side adds a call's ports when it starts and removes them
/// when it ends).
///
/// Ports are destination ports: a source delivers datagrams sent *to* them.
/// For a [`SocketSource`](crate::SocketSource), adding a port binds its socket
/// at once (so a port taken elsewhere fails here, in the caller's thread);
/// the data plane starts reading it at its next `recv_batch`. For filtering
/// sources, adding and removing only flip a bit.
#[derive(Clone)]
pub struct PortControl {
    inner: Inner,
}

impl PortControl {
    pub(crate) fn filter(bitmap: Arc<PortBitmap>) -> Self {
        Self { inner: Inner::Filter(bitmap) }
    }

    pub(crate) fn sockets(ports: Arc<SocketPorts>) -> Self {
        Self { inner: Inner::Sockets(ports) }
    }

    /// A new, empty port set that filters (flips bits, binds nothing): for
    /// sources outside this crate that check ports themselves or mirror
    /// the set elsewhere (AF_XDP's XDP program, DPDK). The source keeps one
    /// clone and hands out others from [`PacketSource::ports`](crate::PacketSource::ports).
    pub fn new_filter() -> Self {
        Self::filter(Arc::new(PortBitmap::new()))
    }

    /// A number that changes whenever the set does (every add or remove
    /// that changed it), for a source that mirrors the set elsewhere: it
    /// compares this at each `recv_batch` and re-reads the set only when
    /// it moved. Reading it is one atomic load; a reader that sees a new
    /// value also sees the change that produced it.
    pub fn generation(&self) -> u64 {
        match &self.inner {
            Inner::Filter(bitmap) => bitmap.generation(),
            Inner::Sockets(sockets) => sockets.generation(),
        }
    }

    /// Deliver datagrams to `port`. Adding a port already in the set does
    /// nothing.
    pub fn add(&self, port: u16) -> Result<(), CaptureError> {
        if port == 0 {
            return Err(CaptureError::PortZero);
        }
        match &self.inner {
            Inner::Filter(bitmap) => {
                bitmap.insert(port);
                Ok(())
            }
            Inner::Sockets(sockets) => sockets.add(port),
        }
    }

    /// Add every port of `ports`, stopping at the first failure (the ports
    /// before it stay added).
    pub fn add_all(&self, ports: impl IntoIterator<Item = u16>) -> Result<(), CaptureError> {
        ports.into_iter().try_for_each(|port| self.add(port))
    }

    /// Stop delivering datagrams to `port`; true when it was in the set.
    pub fn remove(&self, port: u16) -> bool {
        match &self.inner {
            Inner::Filter(bitmap) => bitmap.remove(port),
            Inner::Sockets(sockets) => sockets.remove(port),
        }
    }

    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        match &self.inner {
            Inner::Filter(bitmap) => bitmap.contains(port),
            Inner::Sockets(sockets) => sockets.contains(port),
        }
    }

    /// How many ports are in the set.
    pub fn len(&self) -> usize {
        match &self.inner {
            Inner::Filter(bitmap) => bitmap.len(),
            Inner::Sockets(sockets) => sockets.len(),
        }
    }

    /// True when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ports, ascending.
    pub fn to_vec(&self) -> Vec<u16> {
        match &self.inner {
            Inner::Filter(bitmap) => bitmap.to_vec(),
            Inner::Sockets(sockets) => sockets.to_vec(),
        }
    }
}

impl fmt::Debug for PortControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner {
            Inner::Filter(_) => "filter",
            Inner::Sockets(_) => "sockets",
        };
        f.debug_struct("PortControl").field("kind", &kind).field("len", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_insert_remove_iterate() {
        let bitmap = PortBitmap::new();
        for port in [1, 63, 64, 5004, 65535] {
            assert!(bitmap.insert(port));
        }
        assert!(!bitmap.insert(64));
        assert_eq!(bitmap.len(), 5);
        assert_eq!(bitmap.to_vec(), vec![1, 63, 64, 5004, 65535]);
        assert!(bitmap.contains(65535) && !bitmap.contains(65534) && !bitmap.contains(0));
        assert!(bitmap.remove(63));
        assert!(!bitmap.remove(63));
        assert_eq!(bitmap.len(), 4);
    }

    #[test]
    fn generation_moves_with_every_change() {
        let control = PortControl::new_filter();
        assert!(control.is_empty());
        let g0 = control.generation();
        control.add(20000).unwrap();
        let g1 = control.generation();
        assert_ne!(g1, g0);
        control.add(20000).unwrap();
        assert_eq!(control.generation(), g1, "no change, same generation");
        assert!(control.remove(20000));
        control.add(20002).unwrap();
        assert_ne!(control.generation(), g1, "a remove and an add of equal size still move it");
        assert!(!control.remove(1));
        assert_eq!(control.clone().generation(), control.generation());
    }

    #[test]
    fn filter_control_refuses_port_zero() {
        let control = PortControl::filter(Arc::new(PortBitmap::new()));
        assert!(matches!(control.add(0), Err(CaptureError::PortZero)));
        control.add_all([20000, 20002]).unwrap();
        assert!(control.contains(20002));
        assert!(control.remove(20000));
        assert_eq!(control.to_vec(), vec![20002]);
    }
}
