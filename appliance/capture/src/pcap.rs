//! Replay of pcap and pcapng files.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use callguard_packet::{LinkType, UdpPacket, parse};
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::PcapNgReader;
use pcap_file::pcapng::blocks::Block;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;

use crate::batch::{PacketBatch, PushError, TimestampKind};
use crate::counters::SourceCounters;
use crate::error::CaptureError;
use crate::ports::{PortBitmap, PortControl};
use crate::source::{PacketSource, SourceMode};

/// How fast a [`PcapSource`] replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplaySpeed {
    /// Keep the recorded gaps between packets: the first packet comes at
    /// once, each later one when as much time has passed since the replay
    /// began as had passed since the first packet in the file.
    Recorded,
    /// Every packet as soon as it is read.
    AsFastAsPossible,
}

const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// What the file's interfaces say about their packets (pcapng), or the
/// single link type of a pcap file.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: Option<LinkType>,
    /// Nanoseconds per timestamp unit, as a fraction `num / den`.
    ts_num: u128,
    ts_den: u128,
    ts_offset_secs: u64,
}

impl Interface {
    fn new(linktype: u32) -> Self {
        Self { link: LinkType::from_linktype(linktype), ts_num: 1_000, ts_den: 1, ts_offset_secs: 0 }
    }

    /// `if_tsresol`: high bit clear, 10^-n s; set, 2^-n s. Default 10^-6.
    fn set_resolution(&mut self, tsresol: u8) {
        let exponent = u32::from(tsresol & 0x7f);
        let (num, den) = if tsresol & 0x80 == 0 {
            match 10u128.checked_pow(exponent) {
                Some(units_per_sec) => (1_000_000_000, units_per_sec),
                None => (0, 1),
            }
        } else {
            match 1u128.checked_shl(exponent) {
                Some(units_per_sec) => (1_000_000_000, units_per_sec),
                None => (0, 1),
            }
        };
        self.ts_num = num;
        self.ts_den = den;
    }

    /// The raw 64-bit timestamp of an EPB (pcap-file hands it over as
    /// `Duration::from_nanos(raw)` whatever the resolution) as a time.
    fn timestamp(&self, raw: u128) -> Duration {
        let nanos = raw.saturating_mul(self.ts_num) / self.ts_den;
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
        Duration::from_nanos(nanos).saturating_add(Duration::from_secs(self.ts_offset_secs))
    }
}

enum Reader {
    Pcap {
        reader: PcapReader<BufReader<File>>,
        interface: Interface,
    },
    PcapNg {
        reader: PcapNgReader<BufReader<File>>,
        /// Interfaces of the current section, by interface id; reused.
        interfaces: Vec<Interface>,
    },
}

/// A parsed datagram waiting for its replay time, payload copied out of the
/// reader's buffer.
struct Pending {
    header: UdpPacket<'static>,
    due: Instant,
    recorded: SystemTime,
}

/// What one read from the file produced.
enum Step {
    Pushed,
    Waiting,
    Skipped,
    End,
}

/// Replays a pcap or pcapng file as a packet source: the same datagrams a
/// live source would deliver, filtered to the port set, with their recorded
/// timestamps ([`TimestampKind::Recorded`]).
///
/// Link types: Ethernet (with VLAN tags), raw IPv4/IPv6 and Linux cooked
/// captures (SLL, SLL2). Frames of other link types in a pcapng file are
/// counted as parse errors; a pcap file of another link type is refused
/// when opened. Later IP fragments are counted and skipped (they carry no
/// UDP header); the first fragment is delivered, flagged, with its part of
/// the payload.
pub struct PcapSource {
    name: String,
    path: PathBuf,
    reader: Reader,
    ports: Arc<PortBitmap>,
    speed: ReplaySpeed,
    /// When the replay began and the recorded time of its first packet.
    clock: Option<(Instant, Duration)>,
    /// The recorded time of the last frame read.
    last_recorded: Duration,
    pending: Option<Pending>,
    pending_payload: Vec<u8>,
    finished: bool,
    /// A read error met after some datagrams of a batch: reported by the
    /// next call, so that those datagrams are not lost.
    deferred_error: Option<CaptureError>,
    counters: SourceCounters,
}

impl PcapSource {
    /// Open `path` (pcap, microsecond or nanosecond, either byte order; or
    /// pcapng) for replay at `speed`, delivering datagrams to `ports`.
    pub fn open(
        path: impl AsRef<Path>,
        speed: ReplaySpeed,
        ports: impl IntoIterator<Item = u16>,
    ) -> Result<Self, CaptureError> {
        let path = path.as_ref().to_path_buf();
        let open_error = |source| CaptureError::OpenFile { path: path.clone(), source };
        let read_error = |source| CaptureError::ReadFile { path: path.clone(), source };
        let file = File::open(&path).map_err(open_error)?;
        let mut buffered = BufReader::with_capacity(256 * 1024, file);
        let is_pcapng = buffered.fill_buf().map_err(open_error)?.starts_with(&PCAPNG_MAGIC);
        let reader = if is_pcapng {
            Reader::PcapNg {
                reader: PcapNgReader::new(buffered).map_err(read_error)?,
                interfaces: Vec::with_capacity(4),
            }
        } else {
            let reader = PcapReader::new(buffered).map_err(read_error)?;
            let linktype = u32::from(reader.header().datalink);
            let interface = Interface::new(linktype);
            if interface.link.is_none() {
                return Err(CaptureError::UnsupportedLinkType { path, linktype });
            }
            Reader::Pcap { reader, interface }
        };
        let bitmap = Arc::new(PortBitmap::new());
        let control = PortControl::filter(Arc::clone(&bitmap));
        control.add_all(ports)?;
        Ok(Self {
            name: format!("pcap {}", path.display()),
            path,
            reader,
            ports: bitmap,
            speed,
            clock: None,
            last_recorded: Duration::ZERO,
            pending: None,
            pending_payload: Vec::with_capacity(2048),
            finished: false,
            deferred_error: None,
            counters: SourceCounters::default(),
        })
    }

    /// The replay speed.
    pub fn speed(&self) -> ReplaySpeed {
        self.speed
    }

    /// Read frames until one is delivered, set aside for later, or the file ends.
    fn step(&mut self, batch: &mut PacketBatch) -> Result<Step, CaptureError> {
        let path = &self.path;
        let read_error = |source| CaptureError::ReadFile { path: path.clone(), source };
        // The frame, its interface and its time; borrowed from the reader.
        let (data, interface, recorded): (&[u8], Interface, Duration) = match &mut self.reader {
            Reader::Pcap { reader, interface } => match reader.next_packet() {
                None => return Ok(Step::End),
                Some(Err(e)) => return Err(read_error(e)),
                Some(Ok(packet)) => match packet.data {
                    std::borrow::Cow::Borrowed(data) => (data, *interface, packet.timestamp),
                    // pcap-file only hands out borrowed data; count anything
                    // else as unreadable rather than allocate.
                    std::borrow::Cow::Owned(_) => return Ok(Step::Skipped),
                },
            },
            Reader::PcapNg { reader, interfaces } => match reader.next_block() {
                None => return Ok(Step::End),
                Some(Err(e)) => return Err(read_error(e)),
                Some(Ok(block)) => match block {
                    Block::SectionHeader(_) => {
                        interfaces.clear();
                        return Ok(Step::Skipped);
                    }
                    Block::InterfaceDescription(idb) => {
                        let mut interface = Interface::new(u32::from(idb.linktype));
                        for option in &idb.options {
                            match option {
                                InterfaceDescriptionOption::IfTsResol(r) => {
                                    interface.set_resolution(*r);
                                }
                                InterfaceDescriptionOption::IfTsOffset(s) => {
                                    interface.ts_offset_secs = *s;
                                }
                                _ => {}
                            }
                        }
                        interfaces.push(interface);
                        return Ok(Step::Skipped);
                    }
                    Block::EnhancedPacket(epb) => {
                        let interface = interfaces.get(epb.interface_id as usize).copied();
                        let interface = interface.unwrap_or(Interface::new(u32::MAX));
                        let recorded = interface.timestamp(epb.timestamp.as_nanos());
                        match epb.data {
                            std::borrow::Cow::Borrowed(data) => (data, interface, recorded),
                            std::borrow::Cow::Owned(_) => return Ok(Step::Skipped),
                        }
                    }
                    Block::SimplePacket(spb) => {
                        let interface = interfaces.first().copied();
                        let interface = interface.unwrap_or(Interface::new(u32::MAX));
                        // No timestamp: it goes with the previous packet.
                        let recorded = self.last_recorded;
                        match spb.data {
                            std::borrow::Cow::Borrowed(data) => (data, interface, recorded),
                            std::borrow::Cow::Owned(_) => return Ok(Step::Skipped),
                        }
                    }
                    Block::Packet(pb) => {
                        let interface = interfaces.get(usize::from(pb.interface_id)).copied();
                        let interface = interface.unwrap_or(Interface::new(u32::MAX));
                        let recorded = interface.timestamp(u128::from(pb.timestamp));
                        match pb.data {
                            std::borrow::Cow::Borrowed(data) => (data, interface, recorded),
                            std::borrow::Cow::Owned(_) => return Ok(Step::Skipped),
                        }
                    }
                    _ => return Ok(Step::Skipped),
                },
            },
        };
        self.counters.received += 1;
        self.last_recorded = recorded;
        let Some(link) = interface.link else {
            // A frame of a link type we cannot parse: count it as not IP.
            self.counters.parse_errors.record(callguard_packet::ParseErrorKind::UnsupportedEtherType);
            return Ok(Step::Skipped);
        };
        let packet = match parse(link, data) {
            Ok(packet) => packet,
            Err(e) => {
                self.counters.parse_errors.record(e.kind());
                return Ok(Step::Skipped);
            }
        };
        if !self.ports.contains(packet.dst.port()) {
            self.counters.filtered += 1;
            return Ok(Step::Skipped);
        }
        if packet.payload.len() > batch.buffer_size() {
            self.counters.truncated += 1;
            return Ok(Step::Skipped);
        }
        let wall = SystemTime::UNIX_EPOCH + recorded;
        let due = match self.speed {
            ReplaySpeed::AsFastAsPossible => None,
            ReplaySpeed::Recorded => {
                let (start, first) = *self.clock.get_or_insert((Instant::now(), recorded));
                Some(start + recorded.saturating_sub(first))
            }
        };
        match due {
            Some(due) if due > Instant::now() => {
                self.pending_payload.clear();
                self.pending_payload.extend_from_slice(packet.payload);
                self.pending = Some(Pending { header: packet.with_payload(&[]), due, recorded: wall });
                Ok(Step::Waiting)
            }
            _ => match batch.push(&packet, wall, TimestampKind::Recorded) {
                Ok(()) => {
                    self.counters.delivered += 1;
                    Ok(Step::Pushed)
                }
                // Callers only step with room in the batch, and the size was
                // checked above; count rather than panic if that changes.
                Err(PushError::Full | PushError::TooLarge { .. }) => {
                    self.counters.truncated += 1;
                    Ok(Step::Skipped)
                }
            },
        }
    }
}

impl PacketSource for PcapSource {
    fn mode(&self) -> SourceMode {
        SourceMode::Pcap
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn recv_batch(&mut self, batch: &mut PacketBatch, timeout: Duration) -> Result<usize, CaptureError> {
        batch.clear();
        if let Some(error) = self.deferred_error.take() {
            return Err(error);
        }
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if let Some(pending) = &self.pending {
                let now = Instant::now();
                if pending.due <= now {
                    let packet = pending.header.with_payload(&self.pending_payload);
                    match batch.push(&packet, pending.recorded, TimestampKind::Recorded) {
                        Ok(()) => self.counters.delivered += 1,
                        Err(_) => self.counters.truncated += 1,
                    }
                    self.pending = None;
                } else {
                    // Deliver what is due now rather than hold it back.
                    if !batch.is_empty() {
                        return Ok(batch.len());
                    }
                    let wake = deadline.map_or(pending.due, |d| d.min(pending.due));
                    if wake <= now {
                        return Ok(0);
                    }
                    thread::sleep(wake - now);
                    continue;
                }
            }
            if batch.is_full() {
                return Ok(batch.len());
            }
            if self.finished {
                return if batch.is_empty() {
                    Err(CaptureError::EndOfCapture { source_name: self.name.clone() })
                } else {
                    Ok(batch.len())
                };
            }
            let step = match self.step(batch) {
                Ok(step) => step,
                Err(error) => {
                    // The file is damaged: nothing after this point is read.
                    self.finished = true;
                    if batch.is_empty() {
                        return Err(error);
                    }
                    self.deferred_error = Some(error);
                    return Ok(batch.len());
                }
            };
            match step {
                Step::Pushed | Step::Waiting => {}
                Step::Skipped => {
                    // A file of nothing but filtered frames must not hold the
                    // caller past its timeout.
                    if batch.is_empty() && deadline.is_some_and(|d| Instant::now() >= d) {
                        return Ok(0);
                    }
                }
                Step::End => self.finished = true,
            }
        }
    }

    fn counters(&self) -> SourceCounters {
        self.counters
    }

    fn ports(&self) -> PortControl {
        PortControl::filter(Arc::clone(&self.ports))
    }

    fn split(self: Box<Self>) -> Vec<Box<dyn PacketSource>> {
        vec![self]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcapng_resolutions() {
        let mut i = Interface::new(1);
        assert_eq!(i.timestamp(1_500_000), Duration::from_millis(1500));
        i.set_resolution(9);
        assert_eq!(i.timestamp(1_500_000), Duration::from_micros(1500));
        i.set_resolution(3);
        assert_eq!(i.timestamp(1_500), Duration::from_millis(1500));
        i.set_resolution(0x80 | 10);
        assert_eq!(i.timestamp(1024), Duration::from_secs(1));
        i.ts_offset_secs = 10;
        assert_eq!(i.timestamp(0), Duration::from_secs(10));
        i.set_resolution(0x7f);
        assert_eq!(i.timestamp(5), Duration::from_secs(10));
    }
}
