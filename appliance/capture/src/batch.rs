//! The caller-owned batch that sources fill.

use std::fmt;
use std::time::SystemTime;

use callguard_packet::UdpPacket;

/// Default size of each payload buffer: an Ethernet-MTU datagram and then some.
pub const DEFAULT_BUFFER_SIZE: usize = 2048;

/// Where a packet's [`ReceivedPacket::timestamp`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimestampKind {
    /// The kernel stamped the packet on arrival (`SO_TIMESTAMPNS`).
    Kernel,
    /// The source read the clock right after the receive call returned: all
    /// packets of one call share it.
    Userspace,
    /// The time recorded in a capture file.
    Recorded,
}

/// One packet of a [`PacketBatch`]: the parsed datagram view (its payload
/// borrows the batch) and when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedPacket<'a> {
    /// The datagram.
    pub packet: UdpPacket<'a>,
    /// Wall-clock arrival time (`CLOCK_REALTIME`), see `timestamp_kind`.
    pub timestamp: SystemTime,
    /// Where `timestamp` came from.
    pub timestamp_kind: TimestampKind,
}

/// Why [`PacketBatch::push`] refused a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// Every slot is taken.
    #[error("the batch is full")]
    Full,
    /// The payload is longer than a slot's buffer.
    #[error("payload of {len} bytes exceeds the batch buffer size of {buffer_size}")]
    TooLarge {
        /// The payload length.
        len: usize,
        /// The batch's buffer size.
        buffer_size: usize,
    },
}

struct Slot {
    buffer: Box<[u8]>,
    payload_len: usize,
    /// Everything about the datagram except its payload (kept empty here).
    header: UdpPacket<'static>,
    timestamp: SystemTime,
    timestamp_kind: TimestampKind,
}

/// A reusable set of packet slots, owned by the data-plane thread and filled
/// by [`PacketSource::recv_batch`](crate::PacketSource::recv_batch).
///
/// All memory is allocated by [`PacketBatch::new`]: `capacity` buffers of
/// `buffer_size` bytes each. Receiving only writes into them, so a data
/// plane that reuses one batch allocates nothing per packet. A slot holds the
/// UDP payload, not the frame; a payload longer than `buffer_size` is counted
/// as truncated by the source and not delivered.
///
/// Sources outside this crate (AF_XDP, DPDK) fill it with
/// [`push`](Self::push), copying each payload out of their ring.
pub struct PacketBatch {
    slots: Box<[Slot]>,
    len: usize,
    buffer_size: usize,
}

impl PacketBatch {
    /// A batch of `capacity` slots (at least 1) of `buffer_size` bytes each
    /// (at least 1). 64 slots of [`DEFAULT_BUFFER_SIZE`] suit a media plane;
    /// use 9216 or more for jumbo frames.
    pub fn new(capacity: usize, buffer_size: usize) -> Self {
        let buffer_size = buffer_size.max(1);
        let unspecified = "0.0.0.0:0".parse().expect("literal address");
        let slots = (0..capacity.max(1))
            .map(|_| Slot {
                buffer: vec![0; buffer_size].into_boxed_slice(),
                payload_len: 0,
                header: UdpPacket::new(unspecified, unspecified, &[]),
                timestamp: SystemTime::UNIX_EPOCH,
                timestamp_kind: TimestampKind::Userspace,
            })
            .collect();
        Self { slots, len: 0, buffer_size }
    }

    /// How many packets it can hold.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The size of each slot's payload buffer.
    pub fn buffer_size(&self) -> usize {
        self.buffer_size
    }

    /// How many packets it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when it holds no packet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when every slot is taken.
    pub fn is_full(&self) -> bool {
        self.len == self.slots.len()
    }

    /// Forget the packets (keeps the buffers). Sources call it at the start of
    /// each `recv_batch`.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The `index`th packet, if there is one.
    pub fn get(&self, index: usize) -> Option<ReceivedPacket<'_>> {
        self.slots[..self.len].get(index).map(|slot| ReceivedPacket {
            packet: slot.header.with_payload(&slot.buffer[..slot.payload_len]),
            timestamp: slot.timestamp,
            timestamp_kind: slot.timestamp_kind,
        })
    }

    /// The packets in arrival order (within one socket or one ring; across
    /// sockets, in the order they were drained).
    pub fn iter(&self) -> Iter<'_> {
        Iter { batch: self, next: 0 }
    }

    /// Copy a datagram in: its metadata and its payload into the next free
    /// slot. For sources that parse in their own buffers.
    pub fn push(
        &mut self,
        packet: &UdpPacket<'_>,
        timestamp: SystemTime,
        timestamp_kind: TimestampKind,
    ) -> Result<(), PushError> {
        let buffer_size = self.buffer_size;
        let slot = self.slots.get_mut(self.len).ok_or(PushError::Full)?;
        let len = packet.payload.len();
        let target = slot.buffer.get_mut(..len).ok_or(PushError::TooLarge { len, buffer_size })?;
        target.copy_from_slice(packet.payload);
        slot.payload_len = len;
        slot.header = packet.with_payload(&[]);
        slot.timestamp = timestamp;
        slot.timestamp_kind = timestamp_kind;
        self.len += 1;
        Ok(())
    }

    /// The buffers of the free slots, in order: for receiving in place.
    pub(crate) fn spare_buffers(&mut self) -> impl Iterator<Item = &mut [u8]> {
        self.slots[self.len..].iter_mut().map(|slot| &mut slot.buffer[..])
    }

    /// Keep the payload that a receive call wrote into free slot `at` (an
    /// absolute index, at or after `len()`), making it the next packet.
    pub(crate) fn commit_spare(
        &mut self,
        at: usize,
        header: UdpPacket<'static>,
        payload_len: usize,
        timestamp: SystemTime,
        timestamp_kind: TimestampKind,
    ) {
        debug_assert!(at >= self.len && at < self.slots.len());
        self.slots.swap(self.len, at);
        let slot = &mut self.slots[self.len];
        slot.payload_len = payload_len.min(slot.buffer.len());
        slot.header = header;
        slot.timestamp = timestamp;
        slot.timestamp_kind = timestamp_kind;
        self.len += 1;
    }
}

impl fmt::Debug for PacketBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketBatch")
            .field("len", &self.len)
            .field("capacity", &self.slots.len())
            .field("buffer_size", &self.buffer_size)
            .finish_non_exhaustive()
    }
}

impl<'a> IntoIterator for &'a PacketBatch {
    type Item = ReceivedPacket<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Iterator over the packets of a [`PacketBatch`].
#[derive(Debug)]
pub struct Iter<'a> {
    batch: &'a PacketBatch,
    next: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = ReceivedPacket<'a>;

    fn next(&mut self) -> Option<ReceivedPacket<'a>> {
        let packet = self.batch.get(self.next)?;
        self.next += 1;
        Some(packet)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.batch.len.saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(payload: &[u8]) -> UdpPacket<'_> {
        UdpPacket::new("198.18.0.1:4000".parse().unwrap(), "198.18.0.2:20000".parse().unwrap(), payload)
    }

    #[test]
    fn push_fills_then_refuses() {
        let mut batch = PacketBatch::new(2, 4);
        let now = SystemTime::now();
        batch.push(&packet(b"ab"), now, TimestampKind::Userspace).unwrap();
        assert_eq!(
            batch.push(&packet(b"abcde"), now, TimestampKind::Userspace),
            Err(PushError::TooLarge { len: 5, buffer_size: 4 })
        );
        batch.push(&packet(b""), now, TimestampKind::Kernel).unwrap();
        assert!(batch.is_full());
        assert_eq!(batch.push(&packet(b"x"), now, TimestampKind::Userspace), Err(PushError::Full));
        let got: Vec<_> = batch.iter().map(|p| p.packet.payload.to_vec()).collect();
        assert_eq!(got, vec![b"ab".to_vec(), Vec::new()]);
        assert_eq!(batch.get(1).unwrap().timestamp_kind, TimestampKind::Kernel);
        assert_eq!(batch.iter().len(), 2);
        batch.clear();
        assert!(batch.is_empty() && batch.get(0).is_none());
    }

    #[test]
    fn commit_spare_skips_dropped_slots() {
        let mut batch = PacketBatch::new(4, 8);
        for (i, buf) in batch.spare_buffers().enumerate() {
            buf[0] = b'a' + i as u8;
        }
        let header = packet(&[]).with_payload(&[]);
        let now = SystemTime::now();
        // Slot 0 is dropped (say, truncated); 1 and 3 are kept.
        batch.commit_spare(1, header, 1, now, TimestampKind::Kernel);
        batch.commit_spare(3, header, 1, now, TimestampKind::Kernel);
        let got: Vec<_> = batch.iter().map(|p| p.packet.payload[0]).collect();
        assert_eq!(got, vec![b'b', b'd']);
        assert_eq!(batch.spare_buffers().count(), 2);
    }
}
