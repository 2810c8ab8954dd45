//! [`XdpProgram`]: load, attach, feed and read the XDP program.

use std::{
    fmt,
    ops::RangeInclusive,
    os::fd::{AsFd, AsRawFd, BorrowedFd},
};

use aya::{
    Ebpf, EbpfError,
    maps::{Array, MapData, PerCpuArray, XskMap},
    programs::{Xdp, XdpMode as AyaXdpMode, xdp::XdpLinkId},
};

use crate::{
    abi::{self, XdpCounters},
    error::XdpError,
    port_set::PortSet,
    sys::{self, NlXdpMode},
};

/// The compiled `kernel-bpf/src/callguard_xdp.c`, built by `build.rs`.
pub static BPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/callguard_xdp.o"));

/// Where the XDP program runs on an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum XdpMode {
    /// In the driver, before any socket buffer exists (`xdpdrv`): the fast
    /// path, and the one AF_XDP zero-copy needs. Asking for it falls back to
    /// [`XdpMode::Generic`] when the driver lacks XDP.
    Native,
    /// In the kernel stack after the socket buffer is built (`xdpgeneric`):
    /// works on every interface, slower, copy mode only.
    Generic,
    /// On the NIC itself (`xdpoffload`). Only ever reported (for a program
    /// some other tool attached); callguard does not offload, and
    /// [`XdpProgram::attach`] treats it as [`XdpMode::Generic`].
    Offload,
}

impl XdpMode {
    /// The mode as `native`, `generic` or `offload`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Generic => "generic",
            Self::Offload => "offload",
        }
    }

    const fn from_netlink(mode: NlXdpMode) -> Self {
        match mode {
            NlXdpMode::Driver => Self::Native,
            NlXdpMode::Skb => Self::Generic,
            NlXdpMode::Hardware => Self::Offload,
        }
    }
}

impl fmt::Display for XdpMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An XDP program attached to an interface, as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachedProgram {
    /// The kernel's program id (`bpftool prog show id N`).
    pub id: u32,
    /// The program's name (at most 15 bytes).
    pub name: String,
    /// Where it runs.
    pub mode: XdpMode,
}

impl AttachedProgram {
    /// Whether this is a callguard program (by its name,
    /// [`abi::PROG_NAME`]).
    pub fn is_callguard(&self) -> bool {
        self.name == abi::PROG_NAME
    }
}

/// What [`XdpProgram::attach`] got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// The interface.
    pub interface: String,
    /// Its index in the network namespace it was attached in.
    pub ifindex: u32,
    /// The mode the program runs in.
    pub mode: XdpMode,
    /// Why native mode was refused, when native was asked for and the
    /// program fell back to generic mode.
    pub native_error: Option<String>,
    /// Callguard programs found on the interface and removed first (left
    /// by an earlier run that crashed, or still held by another process).
    pub replaced: Vec<AttachedProgram>,
}

struct Attached {
    report: Attachment,
    link: XdpLinkId,
}

/// The loaded callguard XDP program, its maps, and where it is attached.
///
/// One `XdpProgram` serves one interface at a time. Dropping it detaches
/// the program. Attach, detach and the interface queries act in the calling
/// thread's network namespace.
pub struct XdpProgram {
    ebpf: Ebpf,
    media_ports: Array<MapData, u64>,
    xsks: XskMap<MapData>,
    counters: PerCpuArray<MapData, XdpCounters>,
    ports: PortSet,
    attached: Option<Attached>,
}

impl fmt::Debug for XdpProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XdpProgram")
            .field("media_ports", &self.ports)
            .field("attached", &self.attached.as_ref().map(|a| &a.report))
            .finish_non_exhaustive()
    }
}

/// Checks the capabilities BPF needs before the kernel says EPERM.
fn check_capabilities() -> Result<(), XdpError> {
    let Some(caps) = sys::effective_capabilities() else {
        // No /proc: let the kernel decide.
        return Ok(());
    };
    let mut missing = Vec::new();
    if !sys::has_capability(caps, sys::CAP_NET_ADMIN) {
        missing.push("CAP_NET_ADMIN");
    }
    if !sys::has_capability(caps, sys::CAP_BPF) && !sys::has_capability(caps, sys::CAP_SYS_ADMIN) {
        missing.push("CAP_BPF");
    }
    if missing.is_empty() { Ok(()) } else { Err(XdpError::MissingCapabilities { missing: missing.join(" and ") }) }
}

/// Whether any error in the chain is the kernel's EPERM.
fn is_eperm(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.raw_os_error() == Some(libc::EPERM)
        {
            return true;
        }
        current = e.source();
    }
    false
}

fn load_error(source: EbpfError) -> XdpError {
    if is_eperm(&source) {
        XdpError::MissingCapabilities { missing: format!("the kernel's permission (EPERM: {source})") }
    } else {
        XdpError::Load { source: Box::new(source) }
    }
}

fn take_map(ebpf: &mut Ebpf, name: &'static str) -> Result<aya::maps::Map, XdpError> {
    ebpf.take_map(name).ok_or_else(|| XdpError::ObjectMismatch { what: format!("map {name}") })
}

fn map_error(map: &'static str, operation: impl Into<String>) -> impl FnOnce(aya::maps::MapError) -> XdpError {
    let operation = operation.into();
    move |source| XdpError::Map { map, operation, source: Box::new(source) }
}

/// The XDP programs attached to `interface`, as the kernel reports them
/// (empty when there is none).
pub fn attached_programs(interface: &str) -> Result<Vec<AttachedProgram>, XdpError> {
    let ifindex = sys::if_nametoindex(interface)
        .ok_or_else(|| XdpError::InterfaceNotFound { interface: interface.to_owned() })?;
    attached_programs_at(interface, ifindex)
}

fn attached_programs_at(interface: &str, ifindex: u32) -> Result<Vec<AttachedProgram>, XdpError> {
    let query_error = |source: std::io::Error| {
        if source.raw_os_error() == Some(libc::EPERM) {
            XdpError::MissingCapabilities {
                missing: format!("CAP_SYS_ADMIN, needed to identify the XDP program already on {interface}"),
            }
        } else {
            XdpError::Query { interface: interface.to_owned(), source }
        }
    };
    let mut out = Vec::new();
    for (mode, id) in sys::query_xdp(ifindex).map_err(query_error)? {
        let name = match sys::program_name(id) {
            Ok(name) => name,
            // Detached and freed since the query.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(query_error(e)),
        };
        out.push(AttachedProgram { id, name, mode: XdpMode::from_netlink(mode) });
    }
    Ok(out)
}

/// The counters of a callguard program attached by another process (the
/// daemon), summed over all CPUs. For `callguard bpf status`.
pub fn counters_of(program: &AttachedProgram) -> Result<XdpCounters, XdpError> {
    let gone =
        || XdpError::ObjectMismatch { what: format!("program {} ({}) is no longer loaded", program.id, program.name) };
    let info =
        aya::programs::loaded_programs().filter_map(Result::ok).find(|p| p.id() == program.id).ok_or_else(gone)?;
    let map_ids = info.map_ids().map_err(|e| load_error(EbpfError::ProgramError(e)))?.unwrap_or_default();
    for id in map_ids {
        let Ok(map) = aya::maps::MapInfo::from_id(id) else { continue };
        if map.name_as_str() != Some(abi::MAP_COUNTERS) {
            continue;
        }
        let data = MapData::from_id(id).map_err(map_error(abi::MAP_COUNTERS, "open by id"))?;
        let counters: PerCpuArray<MapData, XdpCounters> = PerCpuArray::try_from(aya::maps::Map::PerCpuArray(data))
            .map_err(map_error(abi::MAP_COUNTERS, "open by id"))?;
        let per_cpu = counters.get(&0, 0).map_err(map_error(abi::MAP_COUNTERS, "read"))?;
        let mut total = XdpCounters::default();
        for cpu in per_cpu.iter() {
            total.add(cpu);
        }
        return Ok(total);
    }
    Err(XdpError::ObjectMismatch { what: format!("map {} of program {}", abi::MAP_COUNTERS, program.id) })
}

/// Removes every callguard XDP program from `interface` (one left by a
/// crashed daemon, say) and returns what it removed; anyone else's program
/// is left alone and is an error. For `callguard bpf detach`.
pub fn detach_callguard_programs(interface: &str) -> Result<Vec<AttachedProgram>, XdpError> {
    check_capabilities()?;
    let ifindex = sys::if_nametoindex(interface)
        .ok_or_else(|| XdpError::InterfaceNotFound { interface: interface.to_owned() })?;
    remove_stale(interface, ifindex)
}

/// Removes callguard programs from `ifindex`; refuses foreign ones.
fn remove_stale(interface: &str, ifindex: u32) -> Result<Vec<AttachedProgram>, XdpError> {
    let present = attached_programs_at(interface, ifindex)?;
    if let Some(foreign) = present.iter().find(|p| !p.is_callguard()) {
        return Err(XdpError::ForeignProgram {
            interface: interface.to_owned(),
            id: foreign.id,
            name: foreign.name.clone(),
            mode: foreign.mode.as_str(),
        });
    }
    for stale in &present {
        let stale_error = |source| XdpError::StaleProgram { interface: interface.to_owned(), id: stale.id, source };
        // Held by a BPF link (a live process, or a pinned link):
        // force-detach the link. Otherwise it was attached by netlink
        // (`ip link set ... xdp`, older kernels): clear it by netlink.
        let links = sys::detach_xdp_links(ifindex, stale.id).map_err(stale_error)?;
        if links == 0 {
            let mode = match stale.mode {
                XdpMode::Native => NlXdpMode::Driver,
                XdpMode::Generic => NlXdpMode::Skb,
                XdpMode::Offload => NlXdpMode::Hardware,
            };
            sys::netlink_detach_xdp(ifindex, mode).map_err(stale_error)?;
        }
    }
    Ok(present)
}

impl XdpProgram {
    /// Loads the embedded program and creates its maps (media port set
    /// empty, no sockets, counters zero). Nothing is attached yet.
    pub fn load() -> Result<Self, XdpError> {
        if !sys::kernel_has_bpf() {
            return Err(XdpError::KernelLacksBpf);
        }
        check_capabilities()?;
        let mut ebpf = Ebpf::load(BPF_OBJECT).map_err(load_error)?;
        let media_ports = Array::try_from(take_map(&mut ebpf, abi::MAP_MEDIA_PORTS)?)
            .map_err(map_error(abi::MAP_MEDIA_PORTS, "open"))?;
        let xsks = XskMap::try_from(take_map(&mut ebpf, abi::MAP_XSKS)?).map_err(map_error(abi::MAP_XSKS, "open"))?;
        let counters = PerCpuArray::try_from(take_map(&mut ebpf, abi::MAP_COUNTERS)?)
            .map_err(map_error(abi::MAP_COUNTERS, "open"))?;
        let mut program = Self { ebpf, media_ports, xsks, counters, ports: PortSet::new(), attached: None };
        program.xdp()?.load().map_err(|e| load_error(EbpfError::ProgramError(e)))?;
        Ok(program)
    }

    fn xdp(&mut self) -> Result<&mut Xdp, XdpError> {
        let mismatch = || XdpError::ObjectMismatch { what: format!("XDP program {}", abi::PROG_NAME) };
        self.ebpf.program_mut(abi::PROG_NAME).ok_or_else(mismatch)?.try_into().map_err(|_| mismatch())
    }

    fn xdp_ref(&self) -> Result<&Xdp, XdpError> {
        let mismatch = || XdpError::ObjectMismatch { what: format!("XDP program {}", abi::PROG_NAME) };
        self.ebpf.program(abi::PROG_NAME).ok_or_else(mismatch)?.try_into().map_err(|_| mismatch())
    }

    /// The loaded program's file descriptor (for `BPF_PROG_TEST_RUN`,
    /// diagnostics).
    pub fn program_fd(&self) -> Result<BorrowedFd<'_>, XdpError> {
        let fd = self.xdp_ref()?.fd().map_err(|e| load_error(EbpfError::ProgramError(e)))?;
        Ok(fd.as_fd())
    }

    /// The kernel's id of the loaded program, as [`attached_programs`]
    /// reports it.
    pub fn program_id(&self) -> Result<u32, XdpError> {
        let info = self.xdp_ref()?.info().map_err(|e| load_error(EbpfError::ProgramError(e)))?;
        Ok(info.id())
    }

    /// Attaches the program to `interface`.
    ///
    /// [`XdpMode::Native`] falls back to [`XdpMode::Generic`] when the
    /// driver refuses it; the returned [`Attachment`] says which mode it got
    /// and why native was refused. A callguard program already on the
    /// interface (left by a crashed run, or held by another process) is
    /// removed first; anyone else's program is left alone and is an error.
    /// If this program was attached elsewhere it is detached from there.
    pub fn attach(&mut self, interface: &str, mode: XdpMode) -> Result<Attachment, XdpError> {
        check_capabilities()?;
        self.detach()?;
        let ifindex = sys::if_nametoindex(interface)
            .ok_or_else(|| XdpError::InterfaceNotFound { interface: interface.to_owned() })?;
        let replaced = remove_stale(interface, ifindex)?;

        let xdp = self.xdp()?;
        let attach_error = |native_error, source| XdpError::AttachFailed {
            interface: interface.to_owned(),
            native_error,
            source: Box::new(source),
        };
        let (link, mode, native_error) = match mode {
            XdpMode::Native => match xdp.attach_to_if_index(ifindex, AyaXdpMode::Driver) {
                Ok(link) => (link, XdpMode::Native, None),
                Err(native) => {
                    let native = native.to_string();
                    match xdp.attach_to_if_index(ifindex, AyaXdpMode::Skb) {
                        Ok(link) => (link, XdpMode::Generic, Some(native)),
                        Err(generic) => return Err(attach_error(Some(native), generic)),
                    }
                }
            },
            XdpMode::Generic | XdpMode::Offload => match xdp.attach_to_if_index(ifindex, AyaXdpMode::Skb) {
                Ok(link) => (link, XdpMode::Generic, None),
                Err(generic) => return Err(attach_error(None, generic)),
            },
        };
        let report = Attachment { interface: interface.to_owned(), ifindex, mode, native_error, replaced };
        self.attached = Some(Attached { report: report.clone(), link });
        Ok(report)
    }

    /// Where the program is attached, if it is.
    pub fn attachment(&self) -> Option<&Attachment> {
        self.attached.as_ref().map(|a| &a.report)
    }

    /// Detaches the program from its interface (nothing to do when it is
    /// not attached). Media then reaches the kernel stack like all traffic.
    pub fn detach(&mut self) -> Result<(), XdpError> {
        let Some(attached) = self.attached.take() else {
            return Ok(());
        };
        let interface = attached.report.interface;
        self.xdp()?.detach(attached.link).map_err(|source| XdpError::Detach { interface, source: Box::new(source) })
    }

    /// Replaces the media port set with `ranges` (inclusive; an empty range
    /// such as `5..=4` adds nothing). Only the bitmap words that change are
    /// written, so ports in both the old and the new set are never missing
    /// from the kernel's view while it changes.
    pub fn set_media_ports(&mut self, ranges: &[RangeInclusive<u16>]) -> Result<(), XdpError> {
        let new = PortSet::from_ranges(ranges);
        let changed: Vec<u32> = new.changed_words(&self.ports).collect();
        for word in changed {
            self.write_word(&new, word)?;
            // Keep the shadow equal to what the kernel holds, word by word,
            // so a failure half way leaves both consistent.
            self.ports.set_word(word, new.word(word));
        }
        Ok(())
    }

    /// Adds one media port.
    pub fn add_port(&mut self, port: u16) -> Result<(), XdpError> {
        let mut next = self.ports.clone();
        if let Some(word) = next.insert(port) {
            self.write_word(&next, word)?;
            self.ports = next;
        }
        Ok(())
    }

    /// Removes one media port.
    pub fn remove_port(&mut self, port: u16) -> Result<(), XdpError> {
        let mut next = self.ports.clone();
        if let Some(word) = next.remove(port) {
            self.write_word(&next, word)?;
            self.ports = next;
        }
        Ok(())
    }

    fn write_word(&mut self, from: &PortSet, word: u32) -> Result<(), XdpError> {
        self.media_ports
            .set(word, from.word(word), 0)
            .map_err(map_error(abi::MAP_MEDIA_PORTS, format!("write word {word}")))
    }

    /// The media port set, as sorted inclusive ranges.
    pub fn media_ports(&self) -> Vec<RangeInclusive<u16>> {
        self.ports.ranges()
    }

    /// How many ports the media port set holds.
    pub fn media_port_count(&self) -> usize {
        self.ports.len()
    }

    /// Whether `port` is in the media port set.
    pub fn is_media_port(&self, port: u16) -> bool {
        self.ports.contains(port)
    }

    /// Puts the AF_XDP `socket` (bound to RX `queue` of the attached
    /// interface) in the XSKMAP: media arriving on that queue goes to it.
    /// The kernel drops the entry by itself when the socket is closed.
    pub fn register_socket(&mut self, queue: u32, socket: impl AsFd) -> Result<(), XdpError> {
        self.check_queue(queue)?;
        self.xsks
            .set(queue, socket.as_fd().as_raw_fd(), 0)
            .map_err(map_error(abi::MAP_XSKS, format!("register a socket for queue {queue}")))
    }

    /// Removes the socket of RX `queue` from the XSKMAP: media arriving on
    /// it goes to the kernel stack again (counted `no_socket`).
    pub fn unregister_socket(&mut self, queue: u32) -> Result<(), XdpError> {
        self.check_queue(queue)?;
        match self.xsks.unset(queue) {
            Ok(()) => Ok(()),
            // Already empty.
            Err(aya::maps::MapError::SyscallError(e)) if e.io_error.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            Err(e) => Err(map_error(abi::MAP_XSKS, format!("unregister queue {queue}"))(e)),
        }
    }

    const fn check_queue(&self, queue: u32) -> Result<(), XdpError> {
        if queue >= abi::MAX_QUEUES {
            return Err(XdpError::QueueOutOfRange { queue, max: abi::MAX_QUEUES - 1 });
        }
        Ok(())
    }

    /// The counters, summed over all CPUs.
    pub fn counters(&self) -> Result<XdpCounters, XdpError> {
        let per_cpu = self.counters.get(&0, 0).map_err(map_error(abi::MAP_COUNTERS, "read"))?;
        let mut total = XdpCounters::default();
        for cpu in per_cpu.iter() {
            total.add(cpu);
        }
        Ok(total)
    }
}

impl Drop for XdpProgram {
    fn drop(&mut self) {
        // Errors cannot be reported from drop; the kernel also drops a BPF
        // link when its last descriptor (ours) closes.
        let _ = self.detach();
    }
}
