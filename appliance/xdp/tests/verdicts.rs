//! Packet in, verdict out: the XDP program run with `BPF_PROG_TEST_RUN` on
//! crafted frames, with the counters checked after every frame.
//!
//! NEEDS ROOT (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN); fails without it.
//!
//! The same cases run again under the kernel the firmware image ships,
//! booted in qemu (`the_firmware_kernel_verifies_and_decides_alike`): the
//! program must pass that kernel's verifier too, not only this machine's.
//!
//! No AF_XDP socket is registered here, so a media datagram comes back as
//! XDP_PASS counted `no_socket` (the redirect itself is covered by the
//! AF_XDP test in `af_xdp.rs`).

mod common;

use std::time::Duration;

use callguard_testkit::vm::{Kernel, run_in_vm};
use callguard_xdp::{XdpCounters, XdpProgram};
use common::{XDP_PASS, frames::*, require_root, test_run, verdict_name};

const MEDIA: std::ops::RangeInclusive<u16> = 10000..=10999;
const RTP: u16 = 10000;
const SIP: u16 = 5060;

/// What one frame must do to the counters (`seen` always goes up by 1).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// Media port, no socket: XDP_PASS, `no_socket`.
    NoSocket,
    /// For the kernel stack: XDP_PASS, `passed`.
    Passed,
    /// Bad or truncated headers: XDP_PASS, `passed` and `malformed`.
    Malformed,
}

impl Outcome {
    fn delta(self) -> XdpCounters {
        let mut d = XdpCounters { seen: 1, ..XdpCounters::default() };
        match self {
            Self::NoSocket => d.no_socket = 1,
            Self::Passed => d.passed = 1,
            Self::Malformed => {
                d.passed = 1;
                d.malformed = 1;
            }
        }
        d
    }
}

struct Case {
    name: &'static str,
    frame: Vec<u8>,
    /// The length from which the program has all the header bytes it
    /// reads for its decision; any shorter frame is malformed.
    complete_at: usize,
    outcome: Outcome,
}

fn case(name: &'static str, frame: Vec<u8>, complete_at: usize, outcome: Outcome) -> Case {
    assert!(complete_at <= frame.len(), "{name}: complete_at past the frame");
    Case { name, frame, complete_at, outcome }
}

fn load() -> XdpProgram {
    let mut prog = XdpProgram::load().expect("load the XDP program");
    prog.set_media_ports(&[MEDIA]).expect("set media ports");
    prog
}

/// Runs `frame` and checks the verdict (always XDP_PASS here), that the
/// frame came back unchanged, and the counter delta.
fn check(prog: &XdpProgram, name: &str, frame: &[u8], outcome: Outcome) {
    let before = prog.counters().expect("counters");
    let run = test_run(prog.program_fd().expect("program fd"), frame)
        .unwrap_or_else(|e| panic!("{name} ({} bytes): BPF_PROG_TEST_RUN failed: {e}", frame.len()));
    assert_eq!(
        run.verdict,
        XDP_PASS,
        "{name} ({} bytes): verdict {} ({}), want XDP_PASS",
        frame.len(),
        run.verdict,
        verdict_name(run.verdict)
    );
    assert_eq!(run.frame_out, frame, "{name}: the program must not change the frame");
    let delta = prog.counters().expect("counters").since(&before);
    assert_eq!(delta, outcome.delta(), "{name} ({} bytes): counters, want {outcome:?}", frame.len());
}

fn ipv4_udp(tpids: &[u16], dport: u16) -> Vec<u8> {
    frame(ethernet(tpids, ETH_P_IP), ipv4(&[], 0, IPPROTO_UDP, &udp(dport, &rtp_payload())))
}

fn all_cases() -> Vec<Case> {
    use Outcome::*;
    let rtp = rtp_payload();
    let eth = 14;
    let mut cases = vec![
        // Plain IPv4.
        case("ipv4 udp to media port", ipv4_udp(&[], RTP), eth + 28, NoSocket),
        case("ipv4 udp to SIP", ipv4_udp(&[], SIP), eth + 28, Passed),
        case("ipv4 udp to last media port", ipv4_udp(&[], *MEDIA.end()), eth + 28, NoSocket),
        case("ipv4 udp just past the media range", ipv4_udp(&[], MEDIA.end() + 1), eth + 28, Passed),
        case(
            "ipv4 tcp to a media port number",
            frame(ethernet(&[], ETH_P_IP), ipv4(&[], 0, IPPROTO_TCP, &udp(RTP, &rtp))),
            eth + 20,
            Passed,
        ),
        // VLANs.
        case("802.1Q to media port", ipv4_udp(&[ETH_P_8021Q], RTP), eth + 4 + 28, NoSocket),
        case("802.1Q to SIP", ipv4_udp(&[ETH_P_8021Q], SIP), eth + 4 + 28, Passed),
        case("QinQ 88a8/8100 to media port", ipv4_udp(&[ETH_P_8021AD, ETH_P_8021Q], RTP), eth + 8 + 28, NoSocket),
        case("QinQ 8100/8100 to media port", ipv4_udp(&[ETH_P_8021Q, ETH_P_8021Q], RTP), eth + 8 + 28, NoSocket),
        case("QinQ to SIP", ipv4_udp(&[ETH_P_8021AD, ETH_P_8021Q], SIP), eth + 8 + 28, Passed),
        case(
            "three VLAN tags (not inspected)",
            ipv4_udp(&[ETH_P_8021AD, ETH_P_8021Q, ETH_P_8021Q], RTP),
            eth + 8,
            Passed,
        ),
        // IPv4 options and fragments.
        case(
            "ipv4 with router-alert option to media port",
            frame(ethernet(&[], ETH_P_IP), ipv4(&[0x94, 0x04, 0, 0], 0, IPPROTO_UDP, &udp(RTP, &rtp))),
            eth + 24 + 8,
            NoSocket,
        ),
        case(
            "ipv4 with 40 bytes of options to media port",
            frame(ethernet(&[0x8100][..0], ETH_P_IP), {
                let mut opts = vec![1u8; 39]; // NOPs
                opts.push(0); // end of options
                ipv4(&opts, 0, IPPROTO_UDP, &udp(RTP, &rtp))
            }),
            eth + 60 + 8,
            NoSocket,
        ),
        case(
            "ipv4 first fragment to media port",
            frame(ethernet(&[], ETH_P_IP), ipv4(&[], IP_MF, IPPROTO_UDP, &udp(RTP, &rtp))),
            eth + 28,
            NoSocket,
        ),
        case(
            "ipv4 non-first fragment (looks like UDP to a media port)",
            frame(ethernet(&[], ETH_P_IP), ipv4(&[], 185, IPPROTO_UDP, &udp(RTP, &rtp))),
            eth + 20,
            Passed,
        ),
        case(
            "ipv4 middle fragment",
            frame(ethernet(&[], ETH_P_IP), ipv4(&[], IP_MF | 185, IPPROTO_UDP, &udp(RTP, &rtp))),
            eth + 20,
            Passed,
        ),
        // IPv6.
        case(
            "ipv6 udp to media port",
            frame(ethernet(&[], ETH_P_IPV6), ipv6(&[], IPPROTO_UDP, &udp(RTP, &rtp))),
            eth + 48,
            NoSocket,
        ),
        case(
            "ipv6 udp to SIP",
            frame(ethernet(&[], ETH_P_IPV6), ipv6(&[], IPPROTO_UDP, &udp(SIP, &rtp))),
            eth + 48,
            Passed,
        ),
        case(
            "ipv6 hop-by-hop + destination options to media port",
            frame(
                ethernet(&[], ETH_P_IPV6),
                ipv6(&[Ext::Opts(NEXTHDR_HOP, 0), Ext::Opts(NEXTHDR_DEST, 1)], IPPROTO_UDP, &udp(RTP, &rtp)),
            ),
            eth + 40 + 8 + 16 + 8,
            NoSocket,
        ),
        case(
            "ipv6 hop-by-hop + destination options to SIP over QinQ",
            frame(
                ethernet(&[ETH_P_8021AD, ETH_P_8021Q], ETH_P_IPV6),
                ipv6(&[Ext::Opts(NEXTHDR_HOP, 0), Ext::Opts(NEXTHDR_DEST, 1)], IPPROTO_UDP, &udp(SIP, &rtp)),
            ),
            eth + 8 + 40 + 8 + 16 + 8,
            Passed,
        ),
        case(
            "ipv6 routing + first fragment + destination options to media port",
            frame(
                ethernet(&[], ETH_P_IPV6),
                ipv6(
                    &[
                        Ext::Opts(NEXTHDR_ROUTING, 2),
                        Ext::Fragment { frag_offset: 0, more: true },
                        Ext::Opts(NEXTHDR_DEST, 0),
                    ],
                    IPPROTO_UDP,
                    &udp(RTP, &rtp),
                ),
            ),
            eth + 40 + 24 + 8 + 8 + 8,
            NoSocket,
        ),
        case(
            "ipv6 non-first fragment",
            frame(
                ethernet(&[], ETH_P_IPV6),
                ipv6(&[Ext::Fragment { frag_offset: 100, more: false }], IPPROTO_UDP, &udp(RTP, &rtp)),
            ),
            eth + 40 + 8,
            Passed,
        ),
        case(
            "ipv6 six extension headers (the bound) to media port",
            frame(ethernet(&[], ETH_P_IPV6), ipv6(&[Ext::Opts(NEXTHDR_DEST, 0); 6], IPPROTO_UDP, &udp(RTP, &rtp))),
            eth + 40 + 48 + 8,
            NoSocket,
        ),
        case(
            "ipv6 seven extension headers (too many: given up)",
            frame(ethernet(&[], ETH_P_IPV6), ipv6(&[Ext::Opts(NEXTHDR_DEST, 0); 7], IPPROTO_UDP, &udp(RTP, &rtp))),
            eth + 40 + 5 * 8 + 2,
            Passed,
        ),
        case(
            "ipv6 icmpv6",
            frame(ethernet(&[], ETH_P_IPV6), ipv6(&[], 58, &[128, 0, 0, 0, 0, 1, 0, 1])),
            eth + 40,
            Passed,
        ),
        // UDP lengths.
        case(
            "zero-length UDP payload to media port",
            frame(ethernet(&[], ETH_P_IP), ipv4(&[], 0, IPPROTO_UDP, &udp(RTP, &[]))),
            eth + 28,
            NoSocket,
        ),
        case(
            "UDP length field 0",
            frame(ethernet(&[], ETH_P_IP), ipv4(&[], 0, IPPROTO_UDP, &udp_with_len(RTP, &rtp, Some(0)))),
            eth + 28,
            Malformed,
        ),
        case(
            "UDP length field 7",
            frame(ethernet(&[], ETH_P_IP), ipv4(&[], 0, IPPROTO_UDP, &udp_with_len(RTP, &rtp, Some(7)))),
            eth + 28,
            Malformed,
        ),
        // Not IP, or bad IP.
        case("ARP", frame(ethernet(&[], ETH_P_ARP), vec![0; 28]), eth, Passed),
        case(
            "IPv4 ethertype, IP version 5",
            {
                let mut f = ipv4_udp(&[], RTP);
                f[eth] = 0x55;
                f
            },
            eth + 20,
            Malformed,
        ),
        case(
            "IPv4 IHL 4",
            {
                let mut f = ipv4_udp(&[], RTP);
                f[eth] = 0x44;
                f
            },
            eth + 20,
            Malformed,
        ),
        case(
            "IPv4 total length shorter than its header",
            {
                let mut f = ipv4_udp(&[], RTP);
                f[eth + 2..eth + 4].copy_from_slice(&19u16.to_be_bytes());
                f
            },
            eth + 20,
            Malformed,
        ),
        case(
            "IPv6 ethertype, IP version 4",
            {
                let mut f = frame(ethernet(&[], ETH_P_IPV6), ipv6(&[], IPPROTO_UDP, &udp(RTP, &rtp)));
                f[eth] = 0x40;
                f
            },
            eth + 40,
            Malformed,
        ),
    ];
    // Jumbo frames: 9000 bytes on the wire.
    for (name, port, outcome) in [("jumbo frame to media port", RTP, NoSocket), ("jumbo frame to SIP", SIP, Passed)] {
        let payload = vec![0xd5u8; 9000 - 14 - 20 - 8];
        let f = frame(ethernet(&[], ETH_P_IP), ipv4(&[], 0, IPPROTO_UDP, &udp(port, &payload)));
        assert_eq!(f.len(), 9000);
        cases.push(case(name, f, eth + 28, outcome));
    }
    cases
}

fn run_cases(filter: impl Fn(&Case) -> bool) {
    let prog = load();
    let mut total = XdpCounters::default();
    let start = prog.counters().expect("counters");
    let mut ran = 0;
    for c in all_cases().into_iter().filter(|c| filter(c)) {
        check(&prog, c.name, &c.frame, c.outcome);
        let d = c.outcome.delta();
        total = XdpCounters {
            seen: total.seen + d.seen,
            redirected: total.redirected + d.redirected,
            passed: total.passed + d.passed,
            malformed: total.malformed + d.malformed,
            no_socket: total.no_socket + d.no_socket,
        };
        ran += 1;
    }
    assert!(ran > 0, "the filter selected no case");
    let end = prog.counters().expect("counters");
    assert_eq!(end.since(&start), total, "counter totals over {ran} frames");
    assert_eq!(end.seen, end.redirected + end.no_socket + end.passed, "seen = redirected + no_socket + passed");
}

#[test]
fn plain_ipv4_media_and_other_ports() {
    require_root("plain_ipv4_media_and_other_ports");
    run_cases(|c| c.name.starts_with("ipv4 udp") || c.name.starts_with("ipv4 tcp"));
}

#[test]
fn vlan_8021q_and_qinq() {
    require_root("vlan_8021q_and_qinq");
    run_cases(|c| c.name.contains("802.1Q") || c.name.contains("QinQ") || c.name.contains("VLAN"));
}

#[test]
fn ipv4_options_and_fragments() {
    require_root("ipv4_options_and_fragments");
    run_cases(|c| c.name.contains("option") || c.name.contains("fragment") && c.name.starts_with("ipv4"));
}

#[test]
fn ipv6_extension_headers() {
    require_root("ipv6_extension_headers");
    run_cases(|c| c.name.starts_with("ipv6"));
}

#[test]
fn udp_lengths() {
    require_root("udp_lengths");
    run_cases(|c| c.name.contains("UDP"));
}

#[test]
fn not_ip_and_bad_ip_headers() {
    require_root("not_ip_and_bad_ip_headers");
    run_cases(|c| c.name == "ARP" || c.name.starts_with("IPv"));
}

#[test]
fn jumbo_frames() {
    require_root("jumbo_frames");
    run_cases(|c| c.name.starts_with("jumbo"));
}

/// Every frame above, cut at every length: never a crash or a verdict
/// other than XDP_PASS; malformed while a header the program reads is
/// cut, the full outcome once it is all there. Frames shorter than an
/// Ethernet header the kernel refuses to run at all (EINVAL), which
/// counts nothing.
#[test]
fn truncated_at_every_byte() {
    require_root("truncated_at_every_byte");
    let prog = load();
    let fd = prog.program_fd().expect("program fd");
    let mut frames_run = 0u64;
    for c in all_cases() {
        for len in 0..=c.frame.len() {
            let cut = &c.frame[..len];
            if len < 14 {
                let before = prog.counters().expect("counters");
                let err = test_run(fd, cut).expect_err("the kernel runs no XDP test on less than 14 bytes");
                assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{}: cut to {len}", c.name);
                assert_eq!(prog.counters().expect("counters"), before, "{}: cut to {len}", c.name);
                continue;
            }
            let want = if len < c.complete_at { Outcome::Malformed } else { c.outcome };
            check(&prog, c.name, cut, want);
            frames_run += 1;
        }
    }
    let counters = prog.counters().expect("counters");
    assert_eq!(counters.seen, frames_run);
    assert_eq!(counters.seen, counters.passed + counters.no_socket + counters.redirected);
}

/// The port set changes under a loaded program and the next frame sees it.
#[test]
fn live_port_updates() {
    require_root("live_port_updates");
    let mut prog = load();
    assert_eq!(prog.media_ports(), vec![MEDIA]);
    check(&prog, "media", &ipv4_udp(&[], RTP), Outcome::NoSocket);

    prog.remove_port(RTP).expect("remove_port");
    assert!(!prog.is_media_port(RTP));
    check(&prog, "removed port", &ipv4_udp(&[], RTP), Outcome::Passed);
    check(&prog, "neighbour still media", &ipv4_udp(&[], RTP + 1), Outcome::NoSocket);

    prog.add_port(SIP).expect("add_port");
    check(&prog, "added port", &ipv4_udp(&[], SIP), Outcome::NoSocket);

    prog.set_media_ports(&[20000..=20001, 0..=0, 65535..=65535]).expect("set_media_ports");
    assert_eq!(prog.media_ports(), vec![0..=0, 20000..=20001, 65535..=65535]);
    check(&prog, "old range gone", &ipv4_udp(&[], RTP + 1), Outcome::Passed);
    check(&prog, "old single port gone", &ipv4_udp(&[], SIP), Outcome::Passed);
    check(&prog, "new range", &ipv4_udp(&[], 20001), Outcome::NoSocket);
    check(&prog, "port 0", &ipv4_udp(&[], 0), Outcome::NoSocket);
    check(&prog, "port 65535", &ipv4_udp(&[], 65535), Outcome::NoSocket);
    check(&prog, "port 65534", &ipv4_udp(&[], 65534), Outcome::Passed);

    prog.set_media_ports(&[]).expect("empty set");
    assert!(prog.media_ports().is_empty());
    check(&prog, "empty set", &ipv4_udp(&[], 20000), Outcome::Passed);
}

#[test]
fn register_socket_rejects_queues_past_the_map() {
    require_root("register_socket_rejects_queues_past_the_map");
    let mut prog = load();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let err = prog.register_socket(callguard_xdp::abi::MAX_QUEUES, &sock).expect_err("out of range");
    assert!(err.to_string().contains("out of range"), "{err}");
    // A plain UDP socket is no AF_XDP socket: the kernel refuses it.
    let err = prog.register_socket(0, &sock).expect_err("not an AF_XDP socket");
    assert!(err.to_string().contains("cg_xsks"), "{err}");
}

/// This test binary, minus this test, as root under the firmware kernel
/// (Debian 12's, fetched by `scripts/fetch-image-kernel`) in qemu.
#[test]
fn the_firmware_kernel_verifies_and_decides_alike() {
    const NAME: &str = "the_firmware_kernel_verifies_and_decides_alike";
    let kernel = Kernel::firmware();
    let this = std::env::current_exe().expect("this test binary");
    let run = run_in_vm(&kernel, &this, &["--test-threads", "1", "--skip", NAME], Duration::from_secs(300));
    let console = &run.console;
    assert_eq!(run.kernel_release.as_deref(), Some(kernel.release.as_str()), "{console}");
    assert_eq!(run.exit_code, Some(0), "the cases failed under {}:\n{console}", kernel.release);
    let passed = console.lines().map(str::trim).filter(|l| l.starts_with("test ") && l.ends_with(" ... ok")).count();
    assert!(passed >= 10 && !console.contains("FAILED"), "{passed} cases passed:\n{console}");
}
