//! The Rust mirror of `kernel-bpf/include/callguard_xdp.h`, the kernel/user
//! ABI of the XDP program.
//!
//! Every constant and struct here has the value or layout of its C
//! counterpart; the `const` assertions at the bottom fail the build when
//! they drift apart. Change the header first, then this file, in one commit.

/// `CALLGUARD_XDP_ABI_VERSION`.
pub const ABI_VERSION: u32 = 1;

/// `CALLGUARD_XDP_PROG_NAME`: the program's name as the kernel reports it
/// (`bpftool prog`, `ip link`); how a callguard program already attached to
/// an interface is recognised.
pub const PROG_NAME: &str = "callguard_xdp";
/// `CALLGUARD_XDP_MAP_MEDIA_PORTS`: `BPF_MAP_TYPE_ARRAY`, key `u32` word
/// index, value `u64` bit set (see [`PORT_WORDS`]).
pub const MAP_MEDIA_PORTS: &str = "cg_media_ports";
/// `CALLGUARD_XDP_MAP_XSKS`: `BPF_MAP_TYPE_XSKMAP`, key `u32` RX queue,
/// value `u32` AF_XDP socket fd.
pub const MAP_XSKS: &str = "cg_xsks";
/// `CALLGUARD_XDP_MAP_COUNTERS`: `BPF_MAP_TYPE_PERCPU_ARRAY`, one entry
/// (key 0) of [`XdpCounters`] per CPU.
pub const MAP_COUNTERS: &str = "cg_counters";

/// `CALLGUARD_PORT_WORD_BITS`: ports per word of `cg_media_ports`.
pub const PORT_WORD_BITS: u32 = 64;
/// `CALLGUARD_PORT_WORDS`: entries of `cg_media_ports`. Port `p` is a media
/// port when bit `p % 64` (least significant first) of word `p / 64` is 1.
pub const PORT_WORDS: u32 = 1024;
/// `CALLGUARD_MAX_QUEUES`: entries of `cg_xsks`, so RX queues
/// `0..MAX_QUEUES` can have a socket.
pub const MAX_QUEUES: u32 = 256;
/// `CALLGUARD_IPV6_MAX_EXT_HEADERS`: IPv6 extension headers walked before
/// the program gives up and passes the frame.
pub const IPV6_MAX_EXT_HEADERS: u32 = 6;
/// `CALLGUARD_MAX_VLAN_TAGS`: VLAN tags parsed (QinQ).
pub const MAX_VLAN_TAGS: u32 = 2;

/// `CALLGUARD_COUNTER_SEEN`: `u64` slot of [`XdpCounters::seen`].
pub const COUNTER_SEEN: usize = 0;
/// `CALLGUARD_COUNTER_REDIRECTED`.
pub const COUNTER_REDIRECTED: usize = 1;
/// `CALLGUARD_COUNTER_PASSED`.
pub const COUNTER_PASSED: usize = 2;
/// `CALLGUARD_COUNTER_MALFORMED`.
pub const COUNTER_MALFORMED: usize = 3;
/// `CALLGUARD_COUNTER_NO_SOCKET`.
pub const COUNTER_NO_SOCKET: usize = 4;
/// `CALLGUARD_COUNTER_COUNT`.
pub const COUNTER_COUNT: usize = 5;

/// `struct callguard_xdp_counters`: the program's counters, per CPU in the
/// map and summed over CPUs by [`crate::XdpProgram::counters`].
///
/// Every frame adds 1 to `seen` and to exactly one of `redirected`,
/// `no_socket` and `passed`; `malformed` is the part of `passed` whose
/// headers were truncated or invalid.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct XdpCounters {
    /// Every frame the program ran on.
    pub seen: u64,
    /// UDP to a media port, redirected to the RX queue's AF_XDP socket.
    pub redirected: u64,
    /// Given to the kernel stack: not UDP, not a media port, non-first
    /// fragments, too many VLAN tags or IPv6 extension headers, malformed.
    pub passed: u64,
    /// Truncated or invalid headers (also counted in `passed`).
    pub malformed: u64,
    /// UDP to a media port with no AF_XDP socket for the RX queue: passed
    /// to the kernel stack.
    pub no_socket: u64,
}

impl XdpCounters {
    /// The counters as an array indexed by the `COUNTER_*` constants.
    pub const fn as_array(&self) -> [u64; COUNTER_COUNT] {
        [self.seen, self.redirected, self.passed, self.malformed, self.no_socket]
    }

    /// What happened since `earlier` (field by field, saturating at 0).
    #[must_use]
    pub const fn since(&self, earlier: &Self) -> Self {
        Self {
            seen: self.seen.saturating_sub(earlier.seen),
            redirected: self.redirected.saturating_sub(earlier.redirected),
            passed: self.passed.saturating_sub(earlier.passed),
            malformed: self.malformed.saturating_sub(earlier.malformed),
            no_socket: self.no_socket.saturating_sub(earlier.no_socket),
        }
    }

    pub(crate) const fn add(&mut self, other: &Self) {
        self.seen = self.seen.wrapping_add(other.seen);
        self.redirected = self.redirected.wrapping_add(other.redirected);
        self.passed = self.passed.wrapping_add(other.passed);
        self.malformed = self.malformed.wrapping_add(other.malformed);
        self.no_socket = self.no_socket.wrapping_add(other.no_socket);
    }
}

// SAFETY: `XdpCounters` is `#[repr(C)]`, made only of `u64`s with no
// padding (asserted below), so every bit pattern is a valid value and it can
// be copied to and from the kernel's map value byte for byte, as `Pod`
// requires.
#[allow(unsafe_code)]
unsafe impl aya::Pod for XdpCounters {}

// Layout of `struct callguard_xdp_counters` (header: five __u64 in slot
// order, 40 bytes, 8-byte aligned).
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<XdpCounters>() == 40);
    assert!(size_of::<XdpCounters>() == COUNTER_COUNT * size_of::<u64>());
    assert!(align_of::<XdpCounters>() == 8);
    assert!(offset_of!(XdpCounters, seen) == COUNTER_SEEN * 8);
    assert!(offset_of!(XdpCounters, redirected) == COUNTER_REDIRECTED * 8);
    assert!(offset_of!(XdpCounters, passed) == COUNTER_PASSED * 8);
    assert!(offset_of!(XdpCounters, malformed) == COUNTER_MALFORMED * 8);
    assert!(offset_of!(XdpCounters, no_socket) == COUNTER_NO_SOCKET * 8);
    assert!((PORT_WORDS * PORT_WORD_BITS) as usize == 1 << 16);
    // Kernel object names keep 15 bytes.
    assert!(PROG_NAME.len() <= 15);
    assert!(MAP_MEDIA_PORTS.len() <= 15);
    assert!(MAP_XSKS.len() <= 15);
    assert!(MAP_COUNTERS.len() <= 15);
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The header is the source of truth: check the constants mirrored
    /// here against the text of the header itself.
    #[test]
    fn constants_match_the_header() {
        let header = include_str!("../../../kernel-bpf/include/callguard_xdp.h");
        let define = |name: &str| -> String {
            let line = header
                .lines()
                .find(|l| l.starts_with(&format!("#define {name} ")))
                .unwrap_or_else(|| panic!("callguard_xdp.h lacks #define {name}"));
            line[format!("#define {name} ").len()..].trim().to_owned()
        };
        assert_eq!(define("CALLGUARD_XDP_ABI_VERSION"), ABI_VERSION.to_string());
        assert_eq!(define("CALLGUARD_XDP_PROG_NAME"), format!("{PROG_NAME:?}"));
        assert_eq!(define("CALLGUARD_XDP_MAP_MEDIA_PORTS"), format!("{MAP_MEDIA_PORTS:?}"));
        assert_eq!(define("CALLGUARD_XDP_MAP_XSKS"), format!("{MAP_XSKS:?}"));
        assert_eq!(define("CALLGUARD_XDP_MAP_COUNTERS"), format!("{MAP_COUNTERS:?}"));
        assert_eq!(define("CALLGUARD_PORT_WORD_BITS"), PORT_WORD_BITS.to_string());
        assert_eq!(define("CALLGUARD_PORT_WORDS"), PORT_WORDS.to_string());
        assert_eq!(define("CALLGUARD_MAX_QUEUES"), MAX_QUEUES.to_string());
        assert_eq!(define("CALLGUARD_IPV6_MAX_EXT_HEADERS"), IPV6_MAX_EXT_HEADERS.to_string());
        assert_eq!(define("CALLGUARD_MAX_VLAN_TAGS"), MAX_VLAN_TAGS.to_string());
        assert_eq!(define("CALLGUARD_COUNTER_SEEN"), COUNTER_SEEN.to_string());
        assert_eq!(define("CALLGUARD_COUNTER_REDIRECTED"), COUNTER_REDIRECTED.to_string());
        assert_eq!(define("CALLGUARD_COUNTER_PASSED"), COUNTER_PASSED.to_string());
        assert_eq!(define("CALLGUARD_COUNTER_MALFORMED"), COUNTER_MALFORMED.to_string());
        assert_eq!(define("CALLGUARD_COUNTER_NO_SOCKET"), COUNTER_NO_SOCKET.to_string());
        assert_eq!(define("CALLGUARD_COUNTER_COUNT"), COUNTER_COUNT.to_string());

        // Field order of struct callguard_xdp_counters.
        let start = header
            .find("struct callguard_xdp_counters {")
            .expect("callguard_xdp.h lacks struct callguard_xdp_counters");
        let body = &header[start..start + header[start..].find("};").expect("struct end")];
        let fields: Vec<&str> = body
            .lines()
            .skip(1)
            .filter_map(|l| l.trim().strip_prefix("__u64 "))
            .map(|f| f.trim_end_matches(';'))
            .collect();
        assert_eq!(fields, ["seen", "redirected", "passed", "malformed", "no_socket"]);
    }

    #[test]
    fn since_and_array() {
        let a = XdpCounters { seen: 5, redirected: 1, passed: 3, malformed: 1, no_socket: 1 };
        let b = XdpCounters { seen: 2, redirected: 1, passed: 1, malformed: 0, no_socket: 0 };
        let d = a.since(&b);
        assert_eq!(d.as_array(), [3, 0, 2, 1, 1]);
        assert_eq!(b.since(&a), XdpCounters::default());
    }
}
