//! End to end with a real AF_XDP socket (UMEM, fill, completion and RX
//! rings, via the `xdpilone` crate) bound to queue 0 of the veth, put in
//! the XSKMAP with `register_socket`: it must receive exactly the media
//! datagrams, while SIP still reaches its plain UDP socket.
//!
//! NEEDS ROOT (CAP_SYS_ADMIN for namespaces, CAP_NET_ADMIN, CAP_BPF) and
//! iproute2; fails without them.

mod common;

use std::{
    alloc::Layout,
    mem::ManuallyDrop,
    net::{SocketAddrV4, UdpSocket},
    num::NonZeroU32,
    os::fd::BorrowedFd,
    ptr::NonNull,
    time::{Duration, Instant},
};

use callguard_xdp::{XdpMode, XdpProgram};
use common::{
    XDP_REDIRECT,
    frames::{ETH_P_IP, IPPROTO_UDP, ethernet, frame, ipv4, rtp_payload, udp},
    netns::{ADDR_A, IF_A, NetNsGuard, VethPair, receive_count, send_udp_from, wait_until},
    require_root, test_run, verdict_name,
};
use xdpilone::{DeviceQueue, IfInfo, RingRx, Socket, SocketConfig, Umem, UmemConfig};

const MEDIA: std::ops::RangeInclusive<u16> = 10000..=10999;
const RTP: u16 = 10000;
const SIP: u16 = 5060;
const WAIT: Duration = Duration::from_secs(3);

const FRAME_SIZE: u32 = 4096;
const FRAMES: u32 = 256;
const AREA_SIZE: usize = (FRAME_SIZE * FRAMES) as usize;

/// One AF_XDP socket in copy mode on (interface, queue), with its own UMEM.
struct XskReceiver {
    // Dropped explicitly in `Drop`, in this order, before the area.
    rx: ManuallyDrop<RingRx>,
    fill: ManuallyDrop<DeviceQueue>,
    umem: ManuallyDrop<Umem>,
    area: NonNull<u8>,
    raw_fd: i32,
}

impl XskReceiver {
    #[allow(unsafe_code)]
    fn bind(interface: &str, queue: u32) -> Self {
        let layout = Layout::from_size_align(AREA_SIZE, 4096).expect("layout");
        // SAFETY: `layout` has a non-zero size.
        let area = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) }).expect("allocate the UMEM area");
        let area_slice = NonNull::slice_from_raw_parts(area, AREA_SIZE);
        // SAFETY: the area is page aligned (4096), AREA_SIZE bytes long,
        // and stays allocated until after the UMEM is dropped (see Drop).
        let umem = unsafe {
            Umem::new(
                UmemConfig { fill_size: FRAMES, complete_size: FRAMES, frame_size: FRAME_SIZE, headroom: 0, flags: 0 },
                area_slice,
            )
        }
        .unwrap_or_else(|e| panic!("create the UMEM: {e}"));

        let mut info = IfInfo::invalid();
        let name = std::ffi::CString::new(interface).expect("interface name");
        info.from_name(&name).unwrap_or_else(|e| panic!("find {interface}: {e}"));
        info.set_queue(queue);
        let sock = Socket::with_shared(&info, &umem).unwrap_or_else(|e| panic!("AF_XDP socket: {e}"));
        let mut fill = umem.fq_cq(&sock).unwrap_or_else(|e| panic!("fill/completion rings: {e}"));
        let user = umem
            .rx_tx(
                &sock,
                &SocketConfig {
                    rx_size: NonZeroU32::new(FRAMES),
                    tx_size: None,
                    // veth has no zero-copy support: copy mode.
                    bind_flags: SocketConfig::XDP_BIND_COPY,
                },
            )
            .unwrap_or_else(|e| panic!("RX ring: {e}"));
        let rx = user.map_rx().unwrap_or_else(|e| panic!("map the RX ring: {e}"));
        umem.bind(&user).unwrap_or_else(|e| panic!("bind to {interface} queue {queue}: {e}"));

        // Give the kernel every frame to fill.
        let mut writer = fill.fill(FRAMES);
        let filled = writer.insert((0..FRAMES).map(|i| u64::from(i * FRAME_SIZE)));
        writer.commit();
        drop(writer);
        assert_eq!(filled, FRAMES);

        Self {
            raw_fd: user.as_raw_fd(),
            rx: ManuallyDrop::new(rx),
            fill: ManuallyDrop::new(fill),
            umem: ManuallyDrop::new(umem),
            area,
        }
    }

    #[allow(unsafe_code)]
    fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `raw_fd` is the socket the UMEM and rings live on; it
        // stays open as long as `self` (the borrow ties the lifetime).
        unsafe { BorrowedFd::borrow_raw(self.raw_fd) }
    }

    /// Receives frames until `want` arrived or `within` passed; returns
    /// their bytes. Frames go back on the fill ring.
    #[allow(unsafe_code)]
    fn receive(&mut self, want: usize, within: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + within;
        let mut frames = Vec::new();
        while frames.len() < want && Instant::now() < deadline {
            let mut returned = Vec::new();
            {
                let mut reader = self.rx.receive(FRAMES);
                while let Some(desc) = reader.read() {
                    assert!(
                        desc.addr as usize + desc.len as usize <= AREA_SIZE,
                        "descriptor outside the UMEM: {desc:?}"
                    );
                    // SAFETY: the kernel handed this frame to us through the
                    // RX ring (xdpilone's `receive` did the acquire barrier),
                    // so it is ours to read until we give it back; the
                    // bounds are checked against the area just above.
                    let bytes = unsafe {
                        std::slice::from_raw_parts(self.area.as_ptr().add(desc.addr as usize), desc.len as usize)
                    };
                    frames.push(bytes.to_vec());
                    returned.push(desc.addr - desc.addr % u64::from(FRAME_SIZE));
                }
                reader.release();
            }
            if returned.is_empty() {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            let mut writer = self.fill.fill(returned.len() as u32);
            writer.insert(returned.into_iter());
            writer.commit();
        }
        frames
    }
}

impl Drop for XskReceiver {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: each field is dropped exactly once, here, rings before
        // the UMEM, and the area only after the kernel's last user of it
        // (the socket, closed with the UMEM) is gone.
        unsafe {
            ManuallyDrop::drop(&mut self.rx);
            ManuallyDrop::drop(&mut self.fill);
            ManuallyDrop::drop(&mut self.umem);
            std::alloc::dealloc(self.area.as_ptr(), Layout::from_size_align(AREA_SIZE, 4096).expect("layout"));
        }
    }
}

/// The UDP destination port of an Ethernet/IPv4/UDP frame.
fn udp_dport(frame: &[u8]) -> Option<u16> {
    if frame.len() < 14 + 20 + 8 || frame[12..14] != [0x08, 0x00] || frame[14 + 9] != 17 {
        return None;
    }
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    let udp = frame.get(14 + ihl..14 + ihl + 8)?;
    Some(u16::from_be_bytes([udp[2], udp[3]]))
}

#[test]
fn af_xdp_socket_receives_exactly_the_media() {
    require_root("af_xdp_socket_receives_exactly_the_media");
    let pair = VethPair::new("afxdp");
    let _in_a = NetNsGuard::enter(&pair.ns_a);

    let mut prog = XdpProgram::load().expect("load");
    prog.set_media_ports(&[MEDIA]).expect("media ports");
    let attachment = prog.attach(IF_A, XdpMode::Native).expect("attach");
    assert_eq!(attachment.mode, XdpMode::Native);

    let mut xsk = XskReceiver::bind(IF_A, 0);
    prog.register_socket(0, xsk.fd()).expect("register the AF_XDP socket");

    // With a socket in the map, BPF_PROG_TEST_RUN sees the redirect too.
    let media_frame = frame(ethernet(&[], ETH_P_IP), ipv4(&[], 0, IPPROTO_UDP, &udp(RTP, &rtp_payload())));
    let before = prog.counters().expect("counters");
    let run = test_run(prog.program_fd().expect("fd"), &media_frame).expect("test run");
    assert_eq!(run.verdict, XDP_REDIRECT, "got {}", verdict_name(run.verdict));
    let delta = prog.counters().expect("counters").since(&before);
    assert_eq!((delta.seen, delta.redirected), (1, 1), "{delta:?}");

    let sip = UdpSocket::bind(SocketAddrV4::new(ADDR_A, SIP)).expect("bind SIP");
    let rtp = UdpSocket::bind(SocketAddrV4::new(ADDR_A, RTP)).expect("bind RTP");
    let before = prog.counters().expect("counters");
    send_udp_from(&pair.ns_b, RTP, 20);
    send_udp_from(&pair.ns_b, RTP + 7, 10);
    send_udp_from(&pair.ns_b, SIP, 20);

    let frames = xsk.receive(30, WAIT);
    let mut ports: Vec<u16> = frames.iter().map(|f| udp_dport(f).expect("an IPv4/UDP frame")).collect();
    ports.sort_unstable();
    let mut want = vec![RTP; 20];
    want.extend(std::iter::repeat_n(RTP + 7, 10));
    assert_eq!(ports, want, "the AF_XDP socket gets the media datagrams");
    for f in &frames {
        let text = String::from_utf8_lossy(&f[14 + 20 + 8..]);
        assert!(text.starts_with("callguard test datagram"), "payload intact: {text}");
    }
    // Nothing else arrives (no SIP, no ARP).
    assert!(xsk.receive(1, Duration::from_millis(300)).is_empty(), "only media on the socket");

    assert_eq!(receive_count(&sip, 20, WAIT), 20, "SIP still reaches the kernel stack");
    assert_eq!(
        receive_count(&rtp, 1, Duration::from_millis(300)),
        0,
        "redirected media does not reach the kernel's UDP socket"
    );
    let delta = prog.counters().expect("counters").since(&before);
    assert_eq!(delta.redirected, 30, "{delta:?}");
    assert_eq!(delta.no_socket, 0, "{delta:?}");
    assert!(delta.passed >= 20, "{delta:?}");

    // Unregistered: media falls back to the kernel stack, counted no_socket.
    prog.unregister_socket(0).expect("unregister");
    let before = prog.counters().expect("counters");
    send_udp_from(&pair.ns_b, RTP, 5);
    assert_eq!(receive_count(&rtp, 5, WAIT), 5, "media back on the kernel stack");
    assert!(wait_until(WAIT, || prog.counters().expect("counters").since(&before).no_socket >= 5));
    assert!(xsk.receive(1, Duration::from_millis(300)).is_empty());
    // Unregistering twice is fine.
    prog.unregister_socket(0).expect("unregister again");
}
