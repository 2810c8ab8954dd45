//! The program on a real interface: a veth pair between two throwaway
//! network namespaces (198.18.0.1 in A, 198.18.0.2 in B), traffic sent
//! from B, the program attached in A.
//!
//! NEEDS ROOT (CAP_SYS_ADMIN for namespaces, CAP_NET_ADMIN, CAP_BPF) and
//! iproute2; fails without them.

mod common;

use std::{
    io::{BufRead, BufReader},
    net::{SocketAddrV4, UdpSocket},
    process::{Command, Stdio},
    time::Duration,
};

use callguard_xdp::{XdpError, XdpMode, XdpProgram, attached_programs};
use common::{
    attach_foreign_program, ifindex,
    netns::{ADDR_A, IF_A, NetNsGuard, VethPair, receive_count, send_udp_from, wait_until},
    require_root,
};

const MEDIA: std::ops::RangeInclusive<u16> = 10000..=10999;
const RTP: u16 = 10000;
const SIP: u16 = 5060;
const WAIT: Duration = Duration::from_secs(3);

fn load() -> XdpProgram {
    let mut prog = XdpProgram::load().expect("load the XDP program");
    prog.set_media_ports(&[MEDIA]).expect("set media ports");
    prog
}

fn ids_on_a() -> Vec<(u32, XdpMode)> {
    attached_programs(IF_A).expect("query cg-a").into_iter().map(|p| (p.id, p.mode)).collect()
}

/// Native mode on veth: media without a socket is counted and falls back
/// to the stack, SIP reaches its plain UDP socket, detach leaves nothing.
#[test]
fn native_on_veth_counts_media_and_keeps_the_stack_working() {
    require_root("native_on_veth_counts_media_and_keeps_the_stack_working");
    let pair = VethPair::new("steer");
    let _in_a = NetNsGuard::enter(&pair.ns_a);
    let mut prog = load();
    let id = prog.program_id().expect("program id");

    let attachment = prog.attach(IF_A, XdpMode::Native).expect("attach");
    assert_eq!(attachment.mode, XdpMode::Native, "veth supports native XDP: {attachment:?}");
    assert_eq!(attachment.native_error, None);
    assert!(attachment.replaced.is_empty());
    assert_eq!(ids_on_a(), vec![(id, XdpMode::Native)]);
    let details = pair.link_details_a();
    assert!(details.contains(&format!("prog/xdp id {id}")), "ip link shows the program: {details}");

    let sip = UdpSocket::bind(SocketAddrV4::new(ADDR_A, SIP)).expect("bind SIP listener");
    let rtp = UdpSocket::bind(SocketAddrV4::new(ADDR_A, RTP)).expect("bind RTP listener");
    let before = prog.counters().expect("counters");

    send_udp_from(&pair.ns_b, SIP, 20);
    send_udp_from(&pair.ns_b, RTP, 20);
    assert_eq!(receive_count(&sip, 20, WAIT), 20, "the kernel stack still gets SIP");
    assert_eq!(receive_count(&rtp, 20, WAIT), 20, "with no AF_XDP socket, media falls back to the kernel stack");
    assert!(wait_until(WAIT, || prog.counters().expect("counters").since(&before).no_socket >= 20));
    let delta = prog.counters().expect("counters").since(&before);
    assert_eq!(delta.no_socket, 20, "{delta:?}");
    assert_eq!(delta.redirected, 0, "{delta:?}");
    assert!(delta.passed >= 20, "SIP (and ARP, neighbour discovery) passed: {delta:?}");
    assert_eq!(delta.malformed, 0, "{delta:?}");
    assert_eq!(delta.seen, delta.passed + delta.no_socket + delta.redirected);
    // Another process (`callguard bpf status`) reads the same counters by program id.
    let attached = attached_programs(IF_A).expect("query");
    let seen_elsewhere = callguard_xdp::counters_of(&attached[0]).expect("counters by id");
    assert!(seen_elsewhere.seen >= delta.seen && seen_elsewhere.no_socket >= delta.no_socket, "{seen_elsewhere:?}");

    prog.detach().expect("detach");
    assert!(prog.attachment().is_none());
    // A child process forked by a concurrent test holds our link fd until it execs.
    assert!(wait_until(WAIT, || ids_on_a().is_empty()), "no XDP program left on cg-a: {:?}", ids_on_a());
    let details = pair.link_details_a();
    assert!(!details.contains("prog/xdp"), "ip link shows no program: {details}");

    // Detached: traffic flows and the program sees none of it.
    let after_detach = prog.counters().expect("counters");
    send_udp_from(&pair.ns_b, SIP, 5);
    assert_eq!(receive_count(&sip, 5, WAIT), 5);
    assert_eq!(prog.counters().expect("counters"), after_detach);
    // A second detach is a no-op.
    prog.detach().expect("detach again");
}

#[test]
fn generic_mode_on_request() {
    require_root("generic_mode_on_request");
    let pair = VethPair::new("generic");
    let _in_a = NetNsGuard::enter(&pair.ns_a);
    let mut prog = load();
    let attachment = prog.attach(IF_A, XdpMode::Generic).expect("attach");
    assert_eq!(attachment.mode, XdpMode::Generic);
    assert_eq!(ids_on_a(), vec![(prog.program_id().expect("id"), XdpMode::Generic)]);

    let sip = UdpSocket::bind(SocketAddrV4::new(ADDR_A, SIP)).expect("bind");
    let before = prog.counters().expect("counters");
    send_udp_from(&pair.ns_b, RTP, 5);
    send_udp_from(&pair.ns_b, SIP, 5);
    assert_eq!(receive_count(&sip, 5, WAIT), 5);
    assert!(wait_until(WAIT, || prog.counters().expect("counters").since(&before).no_socket >= 5));
    drop(prog);
    assert!(wait_until(WAIT, || ids_on_a().is_empty()), "drop detaches: {:?}", ids_on_a());
}

/// A simulated restart: a second instance attaches while the first still
/// holds its link. Exactly one program is left, the new one, and dropping
/// the old instance does not take the new one down.
#[test]
fn attach_twice_leaves_exactly_one_program() {
    require_root("attach_twice_leaves_exactly_one_program");
    let pair = VethPair::new("twice");
    let _in_a = NetNsGuard::enter(&pair.ns_a);

    let mut old = load();
    let old_id = old.program_id().expect("id");
    old.attach(IF_A, XdpMode::Native).expect("attach old");

    let mut new = load();
    let new_id = new.program_id().expect("id");
    let attachment = new.attach(IF_A, XdpMode::Native).expect("attach new");
    assert_eq!(attachment.mode, XdpMode::Native);
    assert_eq!(
        attachment.replaced.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![old_id],
        "the old program was replaced: {attachment:?}"
    );
    assert_eq!(ids_on_a(), vec![(new_id, XdpMode::Native)]);

    drop(old);
    assert_eq!(ids_on_a(), vec![(new_id, XdpMode::Native)], "old instance's drop left the new program");

    // Attaching the same instance again also leaves one.
    new.attach(IF_A, XdpMode::Native).expect("re-attach");
    assert_eq!(ids_on_a(), vec![(new_id, XdpMode::Native)]);

    // And it still works.
    let sip = UdpSocket::bind(SocketAddrV4::new(ADDR_A, SIP)).expect("bind");
    let before = new.counters().expect("counters");
    send_udp_from(&pair.ns_b, RTP, 3);
    send_udp_from(&pair.ns_b, SIP, 3);
    assert_eq!(receive_count(&sip, 3, WAIT), 3);
    assert!(wait_until(WAIT, || new.counters().expect("counters").since(&before).no_socket >= 3));

    drop(new);
    assert!(wait_until(WAIT, || ids_on_a().is_empty()), "{:?}", ids_on_a());
}

/// Attaches the program with `ip link` (netlink, no BPF link): it stays
/// after its loader is gone, as a crashed older version would leave it.
fn attach_with_ip_link(pair: &VethPair, mode: &str) {
    let object = std::env::temp_dir().join(format!("callguard_xdp-{mode}-{}.o", std::process::id()));
    std::fs::write(&object, callguard_xdp::BPF_OBJECT).expect("write object");
    let path = object.to_str().expect("path");
    common::netns::ip(&["-n", &pair.ns_a, "link", "set", "dev", IF_A, mode, "obj", path, "sec", "xdp.frags"]);
    let _ = std::fs::remove_file(&object);
}

/// A callguard program attached by netlink (as an older kernel, `ip link`
/// or a crashed older version leaves it: it outlives its process) is found
/// and replaced.
#[test]
fn program_left_by_netlink_attach_is_replaced() {
    require_root("program_left_by_netlink_attach_is_replaced");
    let pair = VethPair::new("stale");
    attach_with_ip_link(&pair, "xdpdrv");

    let _in_a = NetNsGuard::enter(&pair.ns_a);
    let stale = attached_programs(IF_A).expect("query");
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert!(stale[0].is_callguard(), "{stale:?}");

    let mut prog = load();
    let attachment = prog.attach(IF_A, XdpMode::Native).expect("attach");
    assert_eq!(attachment.replaced, stale);
    assert_eq!(ids_on_a(), vec![(prog.program_id().expect("id"), XdpMode::Native)]);
    prog.detach().expect("detach");
    assert!(wait_until(WAIT, || ids_on_a().is_empty()), "{:?}", ids_on_a());
}

/// `callguard bpf detach`: a program left behind is removed without
/// attaching a new one; nothing left is nothing to do.
#[test]
fn a_left_program_is_detached_on_request() {
    require_root("a_left_program_is_detached_on_request");
    let pair = VethPair::new("left");
    attach_with_ip_link(&pair, "xdpgeneric");

    let _in_a = NetNsGuard::enter(&pair.ns_a);
    let removed = callguard_xdp::detach_callguard_programs(IF_A).expect("detach");
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0].mode, XdpMode::Generic);
    assert!(wait_until(WAIT, || ids_on_a().is_empty()), "{:?}", ids_on_a());
    assert!(callguard_xdp::detach_callguard_programs(IF_A).expect("nothing left").is_empty());
}

/// The daemon killed with SIGKILL while attached: the kernel drops its
/// BPF link, so no program is left behind.
#[test]
fn crash_leaves_no_program() {
    require_root("crash_leaves_no_program");
    let pair = VethPair::new("crash");
    let mut child = Command::new("ip")
        .args(["netns", "exec", &pair.ns_a])
        .arg(common::example("attach_until_killed"))
        .arg(IF_A)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the child process");
    let stdout = child.stdout.take().expect("child stdout");
    let mut attached_id = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read child");
        // libtest prints "test NAME ... " first, on the same line.
        if let Some(at) = line.find("ATTACHED ") {
            let id = line[at + "ATTACHED ".len()..].trim();
            attached_id = Some(id.parse::<u32>().expect("id"));
            break;
        }
    }
    let id = attached_id.expect("the child attached and said so");

    let _in_a = NetNsGuard::enter(&pair.ns_a);
    assert_eq!(ids_on_a(), vec![(id, XdpMode::Native)], "the child's program is attached");
    child.kill().expect("SIGKILL the child");
    child.wait().expect("reap the child");
    assert!(wait_until(WAIT, || ids_on_a().is_empty()), "a killed process leaves no XDP program: {:?}", ids_on_a());
}

/// Someone else's XDP program is never removed.
#[test]
fn foreign_program_is_left_alone() {
    require_root("foreign_program_is_left_alone");
    let pair = VethPair::new("foreign");
    let _in_a = NetNsGuard::enter(&pair.ns_a);
    let link = attach_foreign_program(ifindex(IF_A));
    let before = attached_programs(IF_A).expect("query");
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].name, "foreign_xdp");

    let mut prog = load();
    let err = prog.attach(IF_A, XdpMode::Native).expect_err("must refuse");
    assert!(matches!(err, XdpError::ForeignProgram { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("foreign_xdp") && message.contains("not callguard's"), "{message}");
    assert_eq!(attached_programs(IF_A).expect("query"), before, "left in place");
    drop(link);
    assert!(wait_until(WAIT, || ids_on_a().is_empty()));
}

#[test]
fn missing_interface_is_a_clear_error() {
    require_root("missing_interface_is_a_clear_error");
    let mut prog = load();
    let err = prog.attach("cg-nonexistent", XdpMode::Native).expect_err("no such interface");
    assert!(matches!(err, XdpError::InterfaceNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("\"cg-nonexistent\" does not exist"), "{err}");
}
