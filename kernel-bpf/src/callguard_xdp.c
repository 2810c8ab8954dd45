// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * callguard_xdp.c - steer RTP media into AF_XDP sockets.
 *
 * For every frame: parse Ethernet, up to two VLAN tags (802.1Q 0x8100,
 * 802.1ad 0x88a8), IPv4 (with options; only first fragments are inspected)
 * or IPv6 (hop-by-hop, routing, fragment and destination-options extension
 * headers walked up to CALLGUARD_IPV6_MAX_EXT_HEADERS), then UDP. A UDP
 * destination port in cg_media_ports is redirected to the AF_XDP socket of
 * the frame's RX queue (cg_xsks); everything else, and every frame the
 * program cannot or need not inspect, is XDP_PASS to the kernel stack.
 *
 * The ABI (maps, counters) is in ../include/callguard_xdp.h.
 * Build: clang -O2 -g -target bpf -I../include -c callguard_xdp.c
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "callguard_xdp.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

/* IPv6 extension header numbers (RFC 8200). */
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_DEST 60

/* IPv4 fragment offset mask (13 bits), IPv6 fragment offset mask. */
#define IP4_OFFSET_MASK 0x1fff
#define IP6_OFFSET_MASK 0xfff8

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CALLGUARD_PORT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} cg_media_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, CALLGUARD_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} cg_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct callguard_xdp_counters);
} cg_counters SEC(".maps");

/* Outcome of parsing, before the port lookup. */
enum parse_result {
	PARSE_UDP = 0,    /* *l4_off is the offset of the UDP header */
	PARSE_PASS = 1,   /* well formed, but not for us */
	PARSE_MALFORMED = 2,
};

struct vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

/* IPv6 extension header common prefix (hop-by-hop, routing, dest opts). */
struct ipv6_opt_prefix {
	__u8 nexthdr;
	__u8 hdrlen; /* in 8-octet units, not counting the first 8 */
};

struct ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

static __always_inline int parse_ipv4(void *data, void *data_end, __u32 off,
				      __u32 *l4_off)
{
	struct iphdr *ip = data + off;
	__u32 ihl_bytes;

	if ((void *)(ip + 1) > data_end)
		return PARSE_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return PARSE_MALFORMED;
	ihl_bytes = (__u32)ip->ihl * 4; /* 20..60 */
	if (bpf_ntohs(ip->tot_len) < ihl_bytes)
		return PARSE_MALFORMED;
	if ((void *)ip + ihl_bytes > data_end)
		return PARSE_MALFORMED;
	/* Later fragments carry no UDP header: the kernel reassembles. */
	if (ip->frag_off & bpf_htons(IP4_OFFSET_MASK))
		return PARSE_PASS;
	if (ip->protocol != IPPROTO_UDP)
		return PARSE_PASS;
	*l4_off = off + ihl_bytes;
	return PARSE_UDP;
}

static __always_inline int parse_ipv6(void *data, void *data_end, __u32 off,
				      __u32 *l4_off)
{
	struct ipv6hdr *ip6 = data + off;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return PARSE_MALFORMED;
	if (ip6->version != 6)
		return PARSE_MALFORMED;
	nexthdr = ip6->nexthdr;
	off += sizeof(struct ipv6hdr);

#pragma unroll
	for (i = 0; i < CALLGUARD_IPV6_MAX_EXT_HEADERS; i++) {
		if (nexthdr == IPPROTO_UDP) {
			*l4_off = off;
			return PARSE_UDP;
		}

		switch (nexthdr) {
		case NEXTHDR_HOP:
		case NEXTHDR_ROUTING:
		case NEXTHDR_DEST: {
			struct ipv6_opt_prefix *opt = data + off;

			if ((void *)(opt + 1) > data_end)
				return PARSE_MALFORMED;
			nexthdr = opt->nexthdr;
			off += ((__u32)opt->hdrlen + 1) * 8;
			break;
		}
		case NEXTHDR_FRAGMENT: {
			struct ipv6_frag_hdr *frag = data + off;

			if ((void *)(frag + 1) > data_end)
				return PARSE_MALFORMED;
			if (frag->frag_off & bpf_htons(IP6_OFFSET_MASK))
				return PARSE_PASS; /* non-first fragment */
			nexthdr = frag->nexthdr;
			off += sizeof(struct ipv6_frag_hdr);
			break;
		}
		default:
			/* TCP, ICMPv6, ESP, AH, no-next-header, ...: not ours. */
			return PARSE_PASS;
		}
		/* Keep the offset bounded for the verifier; a header chain this
		 * long is not a media packet anyway. */
		if (off > 0x3fff)
			return PARSE_MALFORMED;
	}
	if (nexthdr == IPPROTO_UDP) {
		*l4_off = off;
		return PARSE_UDP;
	}
	/* More extension headers than we walk: give up, the stack decides. */
	return PARSE_PASS;
}

static __always_inline int parse_l3(struct xdp_md *ctx, __u32 *l4_off)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 off = sizeof(struct ethhdr);
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return PARSE_MALFORMED;
	proto = eth->h_proto;

#pragma unroll
	for (i = 0; i < CALLGUARD_MAX_VLAN_TAGS; i++) {
		struct vlan_hdr *vlan;

		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		vlan = data + off;
		if ((void *)(vlan + 1) > data_end)
			return PARSE_MALFORMED;
		proto = vlan->encapsulated_proto;
		off += sizeof(struct vlan_hdr);
	}

	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, off, l4_off);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, data_end, off, l4_off);
	/* ARP, LLDP, a third VLAN tag, ...: for the kernel stack. */
	return PARSE_PASS;
}

/* Parse down to UDP. One call site for the UDP header keeps the verifier's
 * view of the packet pointer simple. */
static __always_inline int parse_frame(struct xdp_md *ctx, __u16 *dport)
{
	__u32 l4_off = 0;
	int parsed = parse_l3(ctx, &l4_off);
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct udphdr *udp;

	if (parsed != PARSE_UDP)
		return parsed;
	if (l4_off > 0x7fff) /* bounded for the verifier; never true */
		return PARSE_MALFORMED;
	udp = data + l4_off;
	if ((void *)(udp + 1) > data_end)
		return PARSE_MALFORMED;
	/* UDP length covers the 8-byte header at least (a length of 0, the
	 * IPv6 jumbogram form, does not occur on an Ethernet media link). */
	if (bpf_ntohs(udp->len) < sizeof(struct udphdr))
		return PARSE_MALFORMED;
	*dport = bpf_ntohs(udp->dest);
	return PARSE_UDP;
}

static __always_inline int is_media_port(__u16 port)
{
	__u32 word = port / CALLGUARD_PORT_WORD_BITS;
	__u64 *bits = bpf_map_lookup_elem(&cg_media_ports, &word);

	if (!bits)
		return 0;
	return (*bits >> (port % CALLGUARD_PORT_WORD_BITS)) & 1;
}

SEC("xdp.frags")
int callguard_xdp(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct callguard_xdp_counters *cnt =
		bpf_map_lookup_elem(&cg_counters, &zero);
	__u16 dport = 0;
	int parsed;
	long action;

	/* cnt is never NULL for a 1-entry per-CPU array, but the verifier
	 * needs the check; without counters the steering still works. */
	if (cnt)
		cnt->seen++;

	parsed = parse_frame(ctx, &dport);
	if (parsed == PARSE_UDP && is_media_port(dport)) {
		/* The low bits of flags are the action when cg_xsks has no
		 * socket for this queue: that is how "no socket" is detected,
		 * with the one lookup bpf_redirect_map does anyway. */
		action = bpf_redirect_map(&cg_xsks, ctx->rx_queue_index,
					  XDP_PASS);
		if (cnt) {
			if (action == XDP_REDIRECT)
				cnt->redirected++;
			else
				cnt->no_socket++;
		}
		return (int)action;
	}

	if (cnt) {
		cnt->passed++;
		if (parsed == PARSE_MALFORMED)
			cnt->malformed++;
	}
	return XDP_PASS;
}

/* GPL-compatible, as the kernel requires for some helpers; see README. */
char LICENSE[] SEC("license") = "GPL";
