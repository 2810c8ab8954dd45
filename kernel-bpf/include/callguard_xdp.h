/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * callguard_xdp.h - the kernel/user ABI of the callguard XDP media steering
 * program. This header is the one source of truth: the BPF program
 * (kernel-bpf/src/callguard_xdp.c) includes it, and the Rust loader
 * (appliance/xdp, crate `callguard-xdp`, module `abi`) mirrors every name,
 * constant and struct below with compile-time layout assertions.
 *
 * Change anything here and you change the ABI: update the Rust mirror in the
 * same commit and bump CALLGUARD_XDP_ABI_VERSION.
 *
 * Maps (names are the ELF symbol names; the kernel keeps the first 15 bytes):
 *
 *   cg_media_ports  BPF_MAP_TYPE_ARRAY, CALLGUARD_PORT_WORDS entries,
 *                   key __u32 word index, value __u64 bit set.
 *                   The media UDP destination ports as a 65536-bit bitmap:
 *                   port P is in the set when bit (P % 64) of word (P / 64)
 *                   is 1 (bit 0 = least significant). Ports are in host
 *                   byte order. User space is the only writer; it rewrites
 *                   only the words that change, so a live update never
 *                   empties the set in passing.
 *
 *   cg_xsks         BPF_MAP_TYPE_XSKMAP, CALLGUARD_MAX_QUEUES entries,
 *                   key __u32 RX queue index, value __u32 AF_XDP socket fd
 *                   (written by user space; read by bpf_redirect_map).
 *
 *   cg_counters     BPF_MAP_TYPE_PERCPU_ARRAY, 1 entry (key 0),
 *                   value struct callguard_xdp_counters (one per CPU; user
 *                   space sums them).
 *
 * Program: function `callguard_xdp` in section "xdp.frags" (loaded with
 * BPF_F_XDP_HAS_FRAGS; it reads only the linear part of a frame). The kernel
 * reports it under that name, which is how the loader recognises a callguard
 * program already attached to an interface.
 */
#ifndef CALLGUARD_XDP_H
#define CALLGUARD_XDP_H

#include <linux/types.h>

/* Bumped on every incompatible change of the layout below. */
#define CALLGUARD_XDP_ABI_VERSION 1

/* Program and map names, as the kernel reports them. */
#define CALLGUARD_XDP_PROG_NAME "callguard_xdp"
#define CALLGUARD_XDP_MAP_MEDIA_PORTS "cg_media_ports"
#define CALLGUARD_XDP_MAP_XSKS "cg_xsks"
#define CALLGUARD_XDP_MAP_COUNTERS "cg_counters"

/* cg_media_ports: 65536 ports / 64 bits per word. */
#define CALLGUARD_PORT_WORD_BITS 64
#define CALLGUARD_PORT_WORDS 1024

/* cg_xsks: the highest RX queue index that can have a socket, plus one. */
#define CALLGUARD_MAX_QUEUES 256

/* IPv6 extension headers walked before giving up (the frame is passed). */
#define CALLGUARD_IPV6_MAX_EXT_HEADERS 6

/* 802.1Q / 802.1ad tags parsed (QinQ: outer 0x88a8 or 0x8100, inner 0x8100). */
#define CALLGUARD_MAX_VLAN_TAGS 2

/*
 * Counters, one struct per CPU in cg_counters[0]. Every frame the program
 * sees adds 1 to `seen` and to exactly one of `redirected`, `no_socket` and
 * `passed`, so seen == redirected + no_socket + passed. `malformed` counts
 * the subset of `passed` whose headers were truncated or invalid (passed on
 * so that the kernel stack drops and accounts them itself).
 *
 *   seen        every frame.
 *   redirected  UDP to a media port, handed to the AF_XDP socket of the RX
 *               queue (bpf_redirect_map returned XDP_REDIRECT).
 *   passed      everything for the kernel stack: not UDP, not a media port,
 *               non-first fragments, unknown ethertypes, more VLAN tags or
 *               IPv6 extension headers than walked, and malformed frames.
 *   malformed   truncated or invalid Ethernet/VLAN/IP/UDP header (also in
 *               `passed`).
 *   no_socket   UDP to a media port but no AF_XDP socket for the RX queue in
 *               cg_xsks: the frame goes to the kernel stack (XDP_PASS).
 *
 * CALLGUARD_COUNTER_* are the __u64 slot indexes of the fields.
 */
#define CALLGUARD_COUNTER_SEEN 0
#define CALLGUARD_COUNTER_REDIRECTED 1
#define CALLGUARD_COUNTER_PASSED 2
#define CALLGUARD_COUNTER_MALFORMED 3
#define CALLGUARD_COUNTER_NO_SOCKET 4
#define CALLGUARD_COUNTER_COUNT 5

struct callguard_xdp_counters {
	__u64 seen;
	__u64 redirected;
	__u64 passed;
	__u64 malformed;
	__u64 no_socket;
};

_Static_assert(sizeof(struct callguard_xdp_counters) ==
		       CALLGUARD_COUNTER_COUNT * sizeof(__u64),
	       "callguard_xdp_counters: one __u64 per counter index");
_Static_assert(__builtin_offsetof(struct callguard_xdp_counters, no_socket) ==
		       CALLGUARD_COUNTER_NO_SOCKET * sizeof(__u64),
	       "callguard_xdp_counters: field order follows the indexes");
_Static_assert(CALLGUARD_PORT_WORDS * CALLGUARD_PORT_WORD_BITS == 65536,
	       "cg_media_ports covers every UDP port");

#endif /* CALLGUARD_XDP_H */
