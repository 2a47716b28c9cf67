// SPDX-License-Identifier: GPL-2.0
/*
 * homa_fuzz: a hostile-packet injector for the Homa receive path.
 *
 * Sends hand-made Homa packets (IP protocol 146) through a raw socket with
 * its own IP header (IP_HDRINCL / IPV6_HDRINCL), so that packets can carry
 * a spoofed source address: replies of the module to a spoofed (unroutable)
 * source are never delivered anywhere, which keeps the module's drop
 * counters a pure function of what was sent here.  Phases:
 *
 *   catalogue  a fixed list of malformed packets: every truncated length
 *              of every type, unknown types, DATA with segments outside
 *              the message or a bad message_length, wrong doff, ACK with
 *              too many acks, GRANT/RESEND offsets beyond the message,
 *              packets for ports and RPCs that do not exist, IP options,
 *              headers split across IP fragments, and (--local-src, --id)
 *              packets from the target's own address aimed at live RPCs;
 *   random     --count packets from a seeded PRNG: random bytes, and valid
 *              headers with random fields, lengths and mutations;
 *   spray      --count control packets for unknown RPCs, each from a
 *              different source address.
 *
 * It stays on one CPU so that the module handles packets in the order
 * sent, and keeps at most --window packets in flight (polling the
 * module's counters) so that none is lost in the loopback backlog.
 *
 * Every packet is classified, by the rules of PROTOCOL.md section 3 and
 * what this program knows about the target (which ports have sockets,
 * which of them accept requests), by the drop counter it must land in.
 * The counts go to stdout as "sent <class> <n>" lines:
 *
 *   short        shorter than the common header or its type's header
 *                -> pkts_dropped_short
 *   bad_type     not a Homa type -> pkts_dropped_bad_type
 *   no_socket    complete header, no socket (of this family) on dport
 *                -> pkts_rcvd_<type> and pkts_dropped_no_socket
 *   bad_data     complete header for a live port, but a DATA segment
 *                outside its message, a bad message_length, a
 *                message_length that differs from the one of the RPC's
 *                earlier packets, or an ACK with more than 5 acks
 *                -> pkts_dropped_bad_data
 *   no_server    a new request for a socket that does not accept
 *                requests -> pkts_dropped_no_server
 *   unknown_rpc  DATA or GRANT for an RPC that cannot exist (a spoofed
 *                peer has no client RPC, and no server RPC with an
 *                outgoing message) -> pkts_dropped_unknown_rpc
 *   other        complete packets whose fate depends on RPC state: new
 *                requests, duplicates, RESEND, BUSY, ... ; counted in
 *                pkts_rcvd_<type> and handled or dropped somewhere
 *
 * plus "type <NAME> <n>" (packets with a complete header of each type:
 * they must show up in pkts_rcvd_<NAME>), "maybe bad_data <n>" (packets
 * of class other that may legitimately count in bad_data: DATA from the
 * local address, which can hit a live RPC whose length is unknown here)
 * and "sent total <n>".
 *
 * Usage: homa_fuzz [-6] [options]   (run as root; see --help).
 */

#define _GNU_SOURCE
#include <linux/homa.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/types.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36
#endif

/* Wire format (homa_wire.h; PROTOCOL.md section 3), big-endian fields. */
#define PKT_DATA		0x10
#define PKT_GRANT		0x11
#define PKT_RESEND		0x12
#define PKT_RPC_UNKNOWN		0x13
#define PKT_BUSY		0x14
#define PKT_CUTOFFS		0x15
#define PKT_FREEZE		0x16
#define PKT_NEED_ACK		0x17
#define PKT_ACK			0x18
#define PKT_MIN_TYPE		PKT_DATA
#define PKT_NUM_TYPES		9

#define COMMON_LEN		28	/* struct homa_common_hdr */
#define OFF_SPORT		0
#define OFF_DPORT		2
#define OFF_SEQUENCE		4
#define OFF_TYPE		11
#define OFF_DOFF		12
#define OFF_SENDER_ID		20
#define DATA_LEN		56	/* struct homa_data_hdr */
#define OFF_MSG_LEN		28
#define OFF_INCOMING		32
#define OFF_ACK_ID		36
#define OFF_ACK_PORT		44
#define OFF_CUTOFF_VER		46
#define OFF_RETRANSMIT		48
#define OFF_SEG_OFFSET		52
#define OFF_GRANT_OFFSET	28	/* GRANT and RESEND */
#define OFF_RESEND_LENGTH	32
#define OFF_NUM_ACKS		28	/* ACK */
#define OFF_ACKS		30
#define MAX_ACKS		5
#define DOFF_DATA		(14 << 4)
#define DOFF_OTHER		(5 << 4)

/* Largest Homa part of a packet: fits lo's MTU with either IP header. */
#define MAX_HOMA		65000
#define MAX_IP_HDR		48

/* More than the 1024 gaps a message may have (homa_rpc.h). */
#define HOMA_GAPS_TRIED		1030

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

static const char * const type_names[PKT_NUM_TYPES] = {
	"DATA", "GRANT", "RESEND", "RPC_UNKNOWN", "BUSY", "CUTOFFS",
	"FREEZE", "NEED_ACK", "ACK",
};

static const unsigned int type_hdr_len[PKT_NUM_TYPES] = {
	56, 33, 37, 28, 28, 62, 28, 28, 80,
};

/* Header length of a type; 0 if it is not a Homa type. */
static unsigned int hdr_len(__u8 type)
{
	if (type < PKT_MIN_TYPE || type >= PKT_MIN_TYPE + PKT_NUM_TYPES)
		return 0;
	return type_hdr_len[type - PKT_MIN_TYPE];
}

enum pkt_class {
	CL_SHORT,
	CL_BAD_TYPE,
	CL_NO_SOCKET,
	CL_BAD_DATA,
	CL_NO_SERVER,
	CL_UNKNOWN_RPC,
	CL_OTHER,
	CL_NUM,
};

static const char * const class_names[CL_NUM] = {
	"short", "bad_type", "no_socket", "bad_data", "no_server",
	"unknown_rpc", "other",
};

#define MAX_LIST	16

/* A list of 16-bit ports or 64-bit ids given on the command line. */
struct list {
	__u64 v[MAX_LIST];
	int n;
};

/* A source address; local: the target host's own address (not spoofed). */
struct source {
	struct in6_addr addr6;
	struct in_addr addr4;
	bool local;
};

static struct {
	bool v6;
	bool verbose;
	bool trace;
	const char *phase;
	const char *hex;
	__u64 seed;
	__u64 count;
	unsigned int window;
	struct in6_addr dst6;
	struct in_addr dst4;
	struct source src[MAX_LIST];
	int num_src;
	struct source local;
	bool have_local;
	struct list server_ports;
	struct list client_ports;
	struct list closed_ports;
	struct list sports;
	struct list ids;
	struct list avoid_ids;
} opt = {
	.phase = "all",
	.seed = 1,
	.count = 200000,
	.window = 256,
};

static int raw_fd = -1;

/* What was sent, by class and by type. */
static __u64 sent_class[CL_NUM];
static __u64 sent_type[PKT_NUM_TYPES];
static __u64 sent_total;
static __u64 maybe_bad_data;
static __u64 send_errors;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "homa_fuzz: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

/* ---- deterministic PRNG (splitmix64) ---- */

static __u64 rng_state;

static __u64 rnd64(void)
{
	__u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); 0 if n is 0. */
static __u32 rnd(__u32 n)
{
	return n ? (__u32)(rnd64() % n) : 0;
}

/* True with probability pct percent. */
static bool chance(unsigned int pct)
{
	return rnd(100) < pct;
}

static const __u32 interesting32[] = {
	0, 1, 2, 13, 14, 27, 28, 55, 56, 1399, 1400, 1500, 40000, 65535,
	65536, 999999, HOMA_MAX_MESSAGE_LENGTH, HOMA_MAX_MESSAGE_LENGTH + 1,
	0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
};

static __u32 interesting(void)
{
	return interesting32[rnd(ARRAY_SIZE(interesting32))];
}

/* ---- byte order helpers ---- */

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void put64(__u8 *p, __u64 v)
{
	put32(p, v >> 32);
	put32(p + 4, v);
}

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __u32 get32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 |
	       (__u32)p[2] << 8 | p[3];
}

static __u64 get64(const __u8 *p)
{
	return (__u64)get32(p) << 32 | get32(p + 4);
}

static bool in_list(const struct list *l, __u64 v)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (l->v[i] == v)
			return true;
	return false;
}

static __u64 pick(const struct list *l)
{
	return l->v[rnd(l->n)];
}

/* ---- what the target has: a table of the requests sent to it ---- */

/*
 * Server RPCs that spoofed requests created, by (source, client port,
 * server port, id), with their message_length: a later DATA packet of the
 * same RPC with another message_length must count in bad_data.
 */
struct rpc_key {
	__u64 id;
	__u16 sport;
	__u16 dport;
	__u16 src;
};

struct rpc_entry {
	struct rpc_key key;
	__u32 msg_len;
	bool used;
};

static struct rpc_entry *rpcs;
static size_t rpcs_cap;
static size_t rpcs_used;

static size_t rpc_hash(const struct rpc_key *k)
{
	__u64 h = k->id * 0x9e3779b97f4a7c15ULL;

	h ^= ((__u64)k->sport << 32 | (__u64)k->dport << 16 | k->src) *
	     0xc2b2ae3d27d4eb4fULL;
	return (size_t)(h ^ (h >> 29));
}

static bool key_eq(const struct rpc_key *a, const struct rpc_key *b)
{
	return a->id == b->id && a->sport == b->sport &&
	       a->dport == b->dport && a->src == b->src;
}

static struct rpc_entry *rpc_slot(struct rpc_entry *tab, size_t cap,
				  const struct rpc_key *k)
{
	size_t i = rpc_hash(k) & (cap - 1);

	while (tab[i].used && !key_eq(&tab[i].key, k))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

/* The entry for @k, or NULL. */
static struct rpc_entry *rpc_find(const struct rpc_key *k)
{
	struct rpc_entry *e;

	if (!rpcs_cap)
		return NULL;
	e = rpc_slot(rpcs, rpcs_cap, k);
	return e->used ? e : NULL;
}

/* The entry for @k, created (with @msg_len) if it did not exist. */
static struct rpc_entry *rpc_find_or_add(const struct rpc_key *k,
					 __u32 msg_len, bool *existed)
{
	struct rpc_entry *e;
	size_t i;

	if (2 * (rpcs_used + 1) > rpcs_cap) {
		size_t cap = rpcs_cap ? 2 * rpcs_cap : 1024;
		struct rpc_entry *tab = calloc(cap, sizeof(*tab));

		if (!tab)
			die("out of memory");
		for (i = 0; i < rpcs_cap; i++)
			if (rpcs[i].used)
				*rpc_slot(tab, cap, &rpcs[i].key) = rpcs[i];
		free(rpcs);
		rpcs = tab;
		rpcs_cap = cap;
	}
	e = rpc_slot(rpcs, rpcs_cap, k);
	*existed = e->used;
	if (!e->used) {
		e->used = true;
		e->key = *k;
		e->msg_len = msg_len;
		rpcs_used++;
	}
	return e;
}

/* ---- classification ---- */

#define SRC_LOCAL	(-1)	/* opt.local, not spoofed */
#define SRC_SPRAY	(-2)	/* address number pkt.spray after opt.src[0] */

/* A packet to send: the Homa part and the source it comes from. */
struct pkt {
	__u8 b[MAX_HOMA];
	unsigned int len;
	int src;		/* index in opt.src, SRC_LOCAL or SRC_SPRAY */
	__u32 spray;		/* SRC_SPRAY: which address of the range */
	bool ip_options;	/* add IPv4 options / an IPv6 hop-by-hop header */
	unsigned int frag;	/* 0, or where to split it into IP fragments */
};

static bool port_live(__u16 port)
{
	return in_list(&opt.server_ports, port) ||
	       in_list(&opt.client_ports, port);
}

/* PROTOCOL.md 3: a DATA segment must lie inside a message of 1 to
 * HOMA_MAX_MESSAGE_LENGTH bytes and carry at least one byte.
 */
static bool data_seg_valid(__u32 msg_len, __u32 offset, __u32 len)
{
	if (msg_len == 0 || msg_len > HOMA_MAX_MESSAGE_LENGTH)
		return false;
	if (len == 0 || offset >= msg_len)
		return false;
	return len <= msg_len - offset;
}

/*
 * Spoofed sources the module has a peer for: only a request to a server
 * port creates one, and control packets from other hosts name no RPC.
 * Indexed by opt.src index, or for SRC_SPRAY by MAX_LIST + spray number.
 */
#define PEER_BITS	(1u << 20)
static __u8 peer_bits[PEER_BITS / 8];

static unsigned int peer_index(const struct pkt *p)
{
	if (p->src == SRC_SPRAY)
		return (MAX_LIST + p->spray) % PEER_BITS;
	return (unsigned int)p->src;
}

static bool has_peer(const struct pkt *p)
{
	unsigned int i = peer_index(p);

	return peer_bits[i / 8] & (1u << (i % 8));
}

static void set_peer(const struct pkt *p)
{
	unsigned int i = peer_index(p);

	peer_bits[i / 8] |= 1u << (i % 8);
}

/*
 * Classify a packet about to be sent, updating the table of spoofed server
 * RPCs; *maybe is set for class other packets that may count in bad_data.
 */
static enum pkt_class classify(const struct pkt *p, bool *maybe)
{
	const __u8 *b = p->b;
	bool spoofed = p->src != SRC_LOCAL;
	__u16 dport, sport;
	unsigned int hl;
	__u64 local_id;
	__u8 type;

	*maybe = false;
	if (p->len < COMMON_LEN)
		return CL_SHORT;
	type = b[OFF_TYPE];
	hl = hdr_len(type);
	if (!hl)
		return CL_BAD_TYPE;
	if (p->len < hl)
		return CL_SHORT;
	dport = get16(b + OFF_DPORT);
	sport = get16(b + OFF_SPORT);
	if (!port_live(dport))
		return CL_NO_SOCKET;
	/* The receiver's id for the RPC: the sender's with the low bit
	 * flipped; even ids are client RPCs.
	 */
	local_id = get64(b + OFF_SENDER_ID) ^ 1;
	switch (type) {
	case PKT_DATA: {
		__u32 msg_len = get32(b + OFF_MSG_LEN);
		struct rpc_key k;
		struct rpc_entry *e;
		bool existed;

		if (!data_seg_valid(msg_len, get32(b + OFF_SEG_OFFSET),
				    p->len - DATA_LEN))
			return CL_BAD_DATA;
		if (!(local_id & 1)) {
			/* A response: no client RPC has a spoofed peer. */
			if (spoofed)
				return CL_UNKNOWN_RPC;
			*maybe = true;
			return CL_OTHER;
		}
		if (!in_list(&opt.server_ports, dport))
			return CL_NO_SERVER;
		if (!spoofed) {
			*maybe = true;
			return CL_OTHER;
		}
		memset(&k, 0, sizeof(k));
		k.id = local_id;
		k.sport = sport;
		k.dport = dport;
		k.src = (__u16)p->src;
		if (p->src == SRC_SPRAY)
			return CL_OTHER;	/* every address new: new RPC */
		/* A retransmission never starts a server RPC: the module
		 * asks only for RPCs it has, so a copy without its RPC is
		 * late.
		 */
		e = rpc_find(&k);
		if (!e && b[OFF_RETRANSMIT])
			return CL_UNKNOWN_RPC;
		/* A valid request to a server port: the module creates a
		 * peer for the source (unless its table is full).
		 */
		set_peer(p);
		e = rpc_find_or_add(&k, msg_len, &existed);
		if (existed && e->msg_len != msg_len)
			return CL_BAD_DATA;
		return CL_OTHER;
	}
	case PKT_ACK:
		if (get16(b + OFF_NUM_ACKS) > MAX_ACKS)
			return CL_BAD_DATA;
		break;
	case PKT_NEED_ACK:
		/* Only servers ask for acks: it must name a client RPC. */
		if (local_id & 1)
			return CL_BAD_DATA;
		break;
	case PKT_RPC_UNKNOWN:
		/* Ends a server RPC only if it answers a RESEND or NEED_ACK
		 * the module sent; fuzz_test.py quiets the timer while it
		 * counts, so it ends none (dropped as a stale answer).
		 */
		break;
	default:
		break;
	}
	/* Only requests create peers: a control packet from a host the
	 * module has no peer for names no RPC. A GRANT from a spoofed host
	 * never finds an outgoing message either.
	 */
	if (spoofed && (!has_peer(p) || type == PKT_GRANT))
		return CL_UNKNOWN_RPC;
	return CL_OTHER;
}

/* ---- sending ---- */

/*
 * The injector writes whole IP headers (with protocol 146) into a raw
 * socket of protocol IPPROTO_RAW: that implies IP_HDRINCL/IPV6_HDRINCL,
 * and such a socket receives nothing, whereas a raw socket of protocol 146
 * would be handed a clone of every Homa packet on the host.
 */
static void open_raw(void)
{
	int one = 1;

	raw_fd = socket(opt.v6 ? AF_INET6 : AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (raw_fd < 0)
		die("socket(SOCK_RAW, IPPROTO_RAW): %s", strerror(errno));
	if (opt.v6) {
		if (setsockopt(raw_fd, IPPROTO_IPV6, IPV6_HDRINCL, &one,
			       sizeof(one)))
			die("IPV6_HDRINCL: %s", strerror(errno));
	} else if (setsockopt(raw_fd, IPPROTO_IP, IP_HDRINCL, &one,
			      sizeof(one))) {
		die("IP_HDRINCL: %s", strerror(errno));
	}
}

/*
 * Build, in @buf, an IP packet carrying bytes [@start, @end) of @p (all of
 * it unless @p->frag splits it into two IP fragments); return its length.
 */
static size_t build_ip(const struct pkt *p, __u8 *buf, unsigned int start,
		       unsigned int end)
{
	const struct source *s = p->src == SRC_LOCAL ? &opt.local :
				 &opt.src[p->src >= 0 ? p->src : 0];
	size_t ext = p->ip_options || p->frag ? 8 : 0;
	struct iphdr *ip = (struct iphdr *)buf;
	static __u32 frag_id = 0x1000;
	bool more = end < p->len;

	if (start == 0)
		frag_id++;
	if (opt.v6) {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)buf;
		__u8 *h = buf + sizeof(*ip6);

		memset(ip6, 0, sizeof(*ip6));
		ip6->ip6_flow = htonl(6u << 28);
		ip6->ip6_plen = htons(end - start + ext);
		ip6->ip6_hlim = 64;
		ip6->ip6_src = s->addr6;
		if (p->src == SRC_SPRAY)
			put32(ip6->ip6_src.s6_addr + 12,
			      get32(s->addr6.s6_addr + 12) + p->spray);
		ip6->ip6_dst = opt.dst6;
		memset(h, 0, ext);
		h[0] = IPPROTO_HOMA;
		if (p->frag) {
			/* Fragment header: offset in 8-byte units, M flag. */
			ip6->ip6_nxt = 44;
			put16(h + 2, (__u16)(start | more));
			put32(h + 4, frag_id);
		} else if (p->ip_options) {
			/* Hop-by-hop header: length 0, PadN(4). */
			ip6->ip6_nxt = 0;
			h[2] = 1;
			h[3] = 4;
		} else {
			ip6->ip6_nxt = IPPROTO_HOMA;
		}
		memcpy(h + ext, p->b + start, end - start);
		return sizeof(*ip6) + ext + end - start;
	}

	memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ttl = 64;
	ip->protocol = IPPROTO_HOMA;
	ip->saddr = s->addr4.s_addr;
	if (p->src == SRC_SPRAY)
		ip->saddr = htonl(ntohl(ip->saddr) + p->spray);
	ip->daddr = opt.dst4.s_addr;
	/* The kernel fills in tot_len, the checksum and a zero id. */
	if (p->frag) {
		ext = 0;
		ip->id = htons((__u16)frag_id);
		ip->frag_off = htons((start >> 3) | (more ? IP_MF : 0));
	}
	ip->ihl = (sizeof(*ip) + ext) / 4;
	memset(buf + sizeof(*ip), 1, ext);	/* NOP options */
	memcpy(buf + sizeof(*ip) + ext, p->b + start, end - start);
	return sizeof(*ip) + ext + end - start;
}

#define MAX_METRICS	96

/* A snapshot of /proc/net/homa_metrics. */
struct metrics {
	int n;
	char name[MAX_METRICS][48];
	unsigned long long v[MAX_METRICS];
};

/* Read the metrics of this namespace; returns false if they cannot be. */
static bool read_metrics(struct metrics *m)
{
	FILE *f = fopen("/proc/net/homa_metrics", "r");
	char line[256];

	m->n = 0;
	if (!f)
		return false;
	while (m->n < MAX_METRICS && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%47s %llu", m->name[m->n], &m->v[m->n]) == 2)
			m->n++;
	}
	fclose(f);
	return true;
}

/*
 * Homa packets this namespace has processed: every packet reaching the
 * module counts once in pkts_dropped_short, pkts_dropped_bad_type or one
 * of pkts_rcvd_*, and the module's own packets (pkts_sent_*) come back
 * through loopback. Returns -1 if the metrics cannot be read.
 */
static __s64 homa_processed(struct metrics *m)
{
	__s64 n = 0;
	int i;

	if (!read_metrics(m))
		return -1;
	for (i = 0; i < m->n; i++) {
		if (!strcmp(m->name[i], "pkts_dropped_short") ||
		    !strcmp(m->name[i], "pkts_dropped_bad_type") ||
		    !strncmp(m->name[i], "pkts_rcvd_", 10))
			n += m->v[i];
		else if (!strncmp(m->name[i], "pkts_sent_", 10))
			n -= m->v[i];
	}
	return n;
}

static __s64 processed_base = -1;

/*
 * Keep at most opt.window packets in flight between this program and the
 * module, so that a burst cannot overflow the loopback backlog (where a
 * drop would be invisible to both).
 */
static void flow_control(void)
{
	struct timespec ts = { 0, 200000 };
	static struct metrics m;
	__s64 done;
	int tries;

	if (!opt.window || processed_base < 0 ||
	    sent_total % (opt.window / 2 ? opt.window / 2 : 1))
		return;
	for (tries = 0; tries < 25000; tries++) {
		done = homa_processed(&m) - processed_base;
		if ((__s64)sent_total - done <= (__s64)opt.window / 2)
			return;
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "homa_fuzz: %lld packets not processed after 5 s\n",
		(long long)((__s64)sent_total - done));
}

static struct metrics trace_before;

/*
 * --trace: wait until the module has processed the packet just sent, and
 * print the counters it moved (other than pkts_rcvd_* and pkts_sent_*).
 */
static void trace(void)
{
	struct timespec ts = { 0, 200000 };
	static struct metrics after;
	int i, tries;

	for (tries = 0; tries < 25000; tries++) {
		if (homa_processed(&after) - processed_base >=
		    (__s64)sent_total)
			break;
		nanosleep(&ts, NULL);
	}
	printf("#   ->");
	for (i = 0; i < after.n && i < trace_before.n; i++) {
		if (after.v[i] == trace_before.v[i] ||
		    !strncmp(after.name[i], "pkts_rcvd_", 10) ||
		    !strncmp(after.name[i], "pkts_sent_", 10))
			continue;
		printf(" %s%+lld", after.name[i],
		       after.v[i] - trace_before.v[i]);
	}
	printf("\n");
	fflush(stdout);
	trace_before = after;
}

/* Classify, count and send one packet; @label names it for --verbose. */
static void send_pkt(const struct pkt *p, const char *label)
{
	static __u8 buf[MAX_HOMA + MAX_IP_HDR];
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	unsigned int start, end;
	enum pkt_class cl;
	bool maybe;
	size_t len;
	ssize_t r;

	if (p->frag && (p->frag >= p->len || p->frag % 8))
		die("%s: bad fragment offset %u", label, p->frag);
	cl = classify(p, &maybe);
	sent_class[cl]++;
	if (maybe)
		maybe_bad_data++;
	if (cl != CL_SHORT && cl != CL_BAD_TYPE)
		sent_type[p->b[OFF_TYPE] - PKT_MIN_TYPE]++;
	sent_total++;
	if (opt.verbose || opt.trace) {
		printf("# %-34s %-11s len %5u src %2d: ", label,
		       class_names[cl], p->len, p->src);
		for (len = 0; len < p->len && len < 96; len++)
			printf("%02x", p->b[len]);
		printf("%s\n", p->len > 96 ? "..." : "");
	}

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = opt.dst6;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = opt.dst4;
	for (start = 0; start < p->len || start == 0; start = end) {
		end = p->frag && start < p->frag ? p->frag : p->len;
		len = build_ip(p, buf, start, end);
		if (opt.v6)
			r = sendto(raw_fd, buf, len, 0,
				   (struct sockaddr *)&sin6, sizeof(sin6));
		else
			r = sendto(raw_fd, buf, len, 0,
				   (struct sockaddr *)&sin, sizeof(sin));
		if (r != (ssize_t)len) {
			send_errors++;
			fprintf(stderr, "homa_fuzz: sendto (%s, %zu bytes): %s\n",
				label, len,
				r < 0 ? strerror(errno) : "short write");
		}
		if (end == 0)
			break;
	}
	if (opt.trace)
		trace();
	else
		flow_control();
}

/* ---- packet builders ---- */

static __u16 first(const struct list *l, __u16 dflt)
{
	return l->n ? (__u16)l->v[0] : dflt;
}

/* A port no socket has: the first --closed-port, or 1 if not live. */
static __u16 dead_port(void)
{
	__u16 port = 1;

	if (opt.closed_ports.n)
		return (__u16)opt.closed_ports.v[0];
	while (port_live(port))
		port++;
	return port;
}

static __u16 server_port(void)
{
	return first(&opt.server_ports, dead_port());
}

/* Ids no RPC has: derived from the seed so that runs do not collide. */
static __u64 fresh_id(void)
{
	return rnd64() & ~1ULL;
}

/* A well-formed header of @type (DATA: @data_len bytes of data). */
static void build(struct pkt *p, __u8 type, __u16 dport, __u64 id,
		  unsigned int data_len)
{
	__u8 *b = p->b;

	p->src = opt.num_src ? 0 : SRC_LOCAL;
	p->ip_options = false;
	p->frag = 0;
	p->len = hdr_len(type) ? hdr_len(type) : COMMON_LEN;
	if (type == PKT_DATA) {
		if (data_len > MAX_HOMA - DATA_LEN)
			die("DATA packet with %u bytes of data", data_len);
		p->len += data_len;
	}
	memset(b, 0, p->len);
	put16(b + OFF_SPORT, 40000);
	put16(b + OFF_DPORT, dport);
	b[OFF_TYPE] = type;
	b[OFF_DOFF] = type == PKT_DATA ? DOFF_DATA : DOFF_OTHER;
	put64(b + OFF_SENDER_ID, id);
	switch (type) {
	case PKT_DATA:
		put32(b + OFF_MSG_LEN, data_len ? data_len : 1);
		put32(b + OFF_INCOMING, data_len);
		memset(b + DATA_LEN, 0x5a, data_len);
		break;
	case PKT_GRANT:
		put32(b + OFF_GRANT_OFFSET, 10000);
		break;
	case PKT_RESEND:
		put32(b + OFF_RESEND_LENGTH, 0xffffffff);
		break;
	case PKT_CUTOFFS: {
		static const __u32 cut[8] = {
			0, 0, 0, 0, 1000000, 15000, 2800, 200,
		};
		int i;

		for (i = 0; i < 8; i++)
			put32(b + COMMON_LEN + 4 * i, cut[i]);
		put16(b + COMMON_LEN + 32, 1);
		break;
	}
	}
}

/* DATA for message @id: @len bytes at @offset of a @msg_len message. */
static void build_data(struct pkt *p, __u16 dport, __u64 id,
		       __u32 msg_len, __u32 offset, unsigned int len)
{
	build(p, PKT_DATA, dport, id, len);
	put32(p->b + OFF_SEQUENCE, offset);
	put32(p->b + OFF_MSG_LEN, msg_len);
	put32(p->b + OFF_INCOMING, msg_len);
	put32(p->b + OFF_SEG_OFFSET, offset);
}

/* ---- phase 1: the catalogue ---- */

static void catalogue(void)
{
	static const __u8 bad_types[] = { 0x00, 0x0f, 0x19, 0x7f, 0xff };
	static const struct {
		const char *what;
		__u32 msg_len, offset, len;
	} bad_segs[] = {
		{ "DATA message_length 0", 0, 0, 10 },
		{ "DATA message_length MAX+1", HOMA_MAX_MESSAGE_LENGTH + 1,
		  0, 10 },
		{ "DATA message_length 0xffffffff", 0xffffffff, 0, 10 },
		{ "DATA offset+length > message", 100, 95, 10 },
		{ "DATA offset == message_length", 100, 100, 1 },
		{ "DATA offset 0xffffffff", 100, 0xffffffff, 1 },
		{ "DATA offset+length wraps", 1000, 0xfffffff0, 32 },
		{ "DATA no data bytes", 100, 0, 0 },
		{ "DATA at MAX, one byte beyond", HOMA_MAX_MESSAGE_LENGTH,
		  HOMA_MAX_MESSAGE_LENGTH - 1, 2 },
		{ "DATA 64000 bytes of a 1000-byte message", 1000, 0, 64000 },
	};
	static const __u16 bad_acks[] = { 6, 7, 0x100, 0x8000, 0xffff };
	static const __u8 bad_doffs[] = {
		0, DOFF_OTHER, 0xf0, DOFF_DATA | 0x0f, 0xff,
	};
	__u16 srv = server_port(), cport, dead = dead_port();
	struct pkt *p = malloc(sizeof(*p));
	__u16 targets[2];
	int ntargets = 0;
	unsigned int i, len, t;
	char label[64];
	__u64 id;
	int k;

	if (!p)
		die("out of memory");
	cport = first(&opt.client_ports, 0);
	if (opt.server_ports.n)
		targets[ntargets++] = srv;
	if (cport)
		targets[ntargets++] = cport;

	/* Every truncated length of every type. */
	for (t = 0; t < PKT_NUM_TYPES; t++) {
		for (len = 0; len < type_hdr_len[t]; len++) {
			build(p, PKT_MIN_TYPE + t, srv, fresh_id(), 0);
			p->len = len;
			snprintf(label, sizeof(label), "%s truncated to %u",
				 type_names[t], len);
			send_pkt(p, label);
		}
	}

	/* Unknown types: bare common header, largest header, short. */
	for (i = 0; i < ARRAY_SIZE(bad_types); i++) {
		build(p, bad_types[i], srv, fresh_id(), 0);
		snprintf(label, sizeof(label), "type 0x%02x", bad_types[i]);
		send_pkt(p, label);
		p->len = 90;
		memset(p->b + COMMON_LEN, 0xa5, 90 - COMMON_LEN);
		send_pkt(p, label);
		p->len = 20;
		send_pkt(p, label);
	}

	/* Well-formed packets of every type for a port with no socket,
	 * with IP options, and with trailing bytes.
	 */
	for (t = 0; t < PKT_NUM_TYPES; t++) {
		build(p, PKT_MIN_TYPE + t, dead, fresh_id(), 100);
		snprintf(label, sizeof(label), "%s for no socket",
			 type_names[t]);
		send_pkt(p, label);
		p->ip_options = true;
		send_pkt(p, label);
		p->ip_options = false;
		if (PKT_MIN_TYPE + t != PKT_DATA) {
			memset(p->b + p->len, 0xee, 100);
			p->len += 100;
			send_pkt(p, label);
		}
	}
	for (k = 0; k < opt.closed_ports.n; k++) {
		build_data(p, (__u16)opt.closed_ports.v[k], fresh_id(), 10,
			   0, 10);
		send_pkt(p, "DATA for a closed port");
	}

	for (k = 0; k < ntargets; k++) {
		/* DATA segments outside their message (checked before
		 * the RPC is looked up, for clients and servers alike).
		 */
		for (i = 0; i < ARRAY_SIZE(bad_segs); i++) {
			build_data(p, targets[k], fresh_id(), bad_segs[i].msg_len,
				   bad_segs[i].offset, bad_segs[i].len);
			send_pkt(p, bad_segs[i].what);
			p->ip_options = true;
			send_pkt(p, bad_segs[i].what);
		}
		/* ACKs with more acks than a packet holds. */
		for (i = 0; i < ARRAY_SIZE(bad_acks); i++) {
			build(p, PKT_ACK, targets[k], fresh_id(), 0);
			put16(p->b + OFF_NUM_ACKS, bad_acks[i]);
			snprintf(label, sizeof(label), "ACK num_acks %u",
				 bad_acks[i]);
			send_pkt(p, label);
		}
		/* ACKs of 0..5 RPCs nobody has: consumed. */
		for (i = 0; i <= MAX_ACKS; i++) {
			unsigned int j;

			build(p, PKT_ACK, targets[k], fresh_id(), 0);
			put16(p->b + OFF_NUM_ACKS, i);
			for (j = 0; j < MAX_ACKS; j++) {
				put64(p->b + OFF_ACKS + 10 * j, fresh_id());
				put16(p->b + OFF_ACKS + 10 * j + 8,
				      j & 1 ? srv : dead);
			}
			snprintf(label, sizeof(label), "ACK of %u unknown RPCs",
				 i);
			send_pkt(p, label);
		}
		/* Responses (odd sender ids) for client RPCs that do not
		 * exist.
		 */
		build_data(p, targets[k], fresh_id() | 1, 100, 0, 100);
		send_pkt(p, "DATA response for an unknown RPC");
		build_data(p, targets[k], 1, 100, 0, 100);
		send_pkt(p, "DATA response for RPC id 0");
		/* Every control type for RPCs that do not exist, both
		 * parities, and with offsets beyond any message.
		 */
		for (t = PKT_GRANT; t < PKT_ACK; t++) {
			for (i = 0; i < 2; i++) {
				build(p, t, targets[k], fresh_id() | i, 0);
				snprintf(label, sizeof(label),
					 "%s for an unknown RPC",
					 type_names[t - PKT_MIN_TYPE]);
				send_pkt(p, label);
			}
		}
		build(p, PKT_GRANT, targets[k], fresh_id(), 0);
		put32(p->b + OFF_GRANT_OFFSET, 0xffffffff);
		p->b[OFF_GRANT_OFFSET + 4] = 0xff;
		send_pkt(p, "GRANT offset 0xffffffff, priority 255");
		build(p, PKT_GRANT, targets[k], fresh_id() | 1, 0);
		put32(p->b + OFF_GRANT_OFFSET, HOMA_MAX_MESSAGE_LENGTH + 1);
		send_pkt(p, "GRANT offset MAX+1");
		for (i = 0; i < 4; i++) {
			static const __u32 ro[4][2] = {
				{ 0xffffffff, 1 }, { 2000000, 0xffffffff },
				{ 0xfffffff0, 0x100 }, { 0, 0 },
			};

			build(p, PKT_RESEND, targets[k], fresh_id() | (i & 1),
			      0);
			put32(p->b + OFF_GRANT_OFFSET, ro[i][0]);
			put32(p->b + OFF_RESEND_LENGTH, ro[i][1]);
			send_pkt(p, "RESEND beyond the message");
		}
		build(p, PKT_CUTOFFS, targets[k], 0, 0);
		memset(p->b + COMMON_LEN, 0xff, 34);
		send_pkt(p, "CUTOFFS all 0xff");
	}

	/* Headers split across IP fragments (the module sees one
	 * reassembled, non-linear packet).
	 */
	for (i = 8; i <= 64; i += 8) {
		snprintf(label, sizeof(label), "IP fragments at %u", i);
		if (opt.server_ports.n) {
			build_data(p, srv, fresh_id(), 100, 0, 100);
			p->frag = i;
			send_pkt(p, label);
		}
		build_data(p, dead, fresh_id(), 100, 0, 100);
		p->frag = i;
		send_pkt(p, label);
		build_data(p, srv, fresh_id(), 1000, 990, 20);
		p->frag = i;
		send_pkt(p, label);
		build(p, PKT_ACK, srv, fresh_id(), 0);
		put16(p->b + OFF_NUM_ACKS, 6);
		p->frag = i;
		send_pkt(p, label);
		if (i >= type_hdr_len[PKT_GRANT - PKT_MIN_TYPE])
			continue;
		build(p, PKT_GRANT, srv, fresh_id(), 0);
		p->frag = i;
		send_pkt(p, label);
		p->len = i + 1;
		send_pkt(p, label);
	}

	if (cport) {
		/* New requests for a socket that is not a server. */
		build_data(p, cport, fresh_id(), 100, 0, 100);
		send_pkt(p, "request for a client socket");
		build_data(p, cport, fresh_id(), 1000, 500, 100);
		send_pkt(p, "request (middle) for a client socket");
	}

	if (opt.server_ports.n) {
		/* A request whose DATA packets disagree on message_length:
		 * the first creates the RPC, the second is bad data, the
		 * first again a duplicate.
		 */
		id = fresh_id();
		build_data(p, srv, id, 2000, 0, 500);
		send_pkt(p, "request part 1 of 2000");
		build_data(p, srv, id, 3000, 500, 500);
		send_pkt(p, "request part 2, message_length 3000");
		build_data(p, srv, id, 2000, 0, 500);
		send_pkt(p, "request part 1 again");
		build_data(p, srv, id, 2000, 250, 500);
		send_pkt(p, "request overlapping part 1");
		/* A complete one-packet request with wrong doff values or
		 * non-zero reserved fields: the receiver does not use them.
		 */
		for (i = 0; i < ARRAY_SIZE(bad_doffs); i++) {
			build_data(p, srv, fresh_id(), 10, 0, 10);
			p->b[OFF_DOFF] = bad_doffs[i];
			snprintf(label, sizeof(label), "request doff 0x%02x",
				 bad_doffs[i]);
			send_pkt(p, label);
		}
		build_data(p, srv, fresh_id(), 10, 0, 10);
		memset(p->b + 8, 0xff, 3);		/* unused1 */
		memset(p->b + 13, 0xff, 7);		/* flags..urgent */
		memset(p->b + OFF_CUTOFF_VER, 0xff, 6);	/* version..pad */
		send_pkt(p, "request reserved fields 0xff");
		/* Zero and huge incoming; the largest message, in one
		 * big packet at its end; the most gaps a message can get.
		 */
		build_data(p, srv, fresh_id(), 500000, 0, 1000);
		put32(p->b + OFF_INCOMING, 0);
		send_pkt(p, "request incoming 0");
		build_data(p, srv, fresh_id(), 500000, 0, 1000);
		put32(p->b + OFF_INCOMING, 0xffffffff);
		send_pkt(p, "request incoming 0xffffffff");
		build_data(p, srv, fresh_id(), HOMA_MAX_MESSAGE_LENGTH,
			   HOMA_MAX_MESSAGE_LENGTH - 64000, 64000);
		send_pkt(p, "request MAX, last 64000 bytes");
		id = fresh_id();
		for (i = 0; i < HOMA_GAPS_TRIED; i++) {
			build_data(p, srv, id, HOMA_MAX_MESSAGE_LENGTH,
				   HOMA_MAX_MESSAGE_LENGTH - 1 - 2 * i, 1);
			send_pkt(p, "request with a gap per packet");
		}
		/* The same request id from several sources and ports. */
		id = fresh_id();
		for (k = 0; k < opt.num_src; k++) {
			build_data(p, srv, id, 10, 0, 10);
			p->src = k;
			send_pkt(p, "request from each source");
			put16(p->b + OFF_SPORT, 40001);
			send_pkt(p, "request from each source");
		}
	}

	/* Packets from the local address aimed at the live RPCs. */
	if (opt.have_local) {
		for (k = 0; k < opt.ids.n; k++) {
			for (i = 0; i < 2; i++) {
				__u64 rid = opt.ids.v[k] ^ i;
				__u16 dp = i ? cport : srv;

				if (!dp || in_list(&opt.avoid_ids, rid & ~1ULL))
					continue;
				for (t = PKT_DATA; t <= PKT_ACK; t++) {
					build(p, t, dp, rid, 100);
					p->src = SRC_LOCAL;
					put16(p->b + OFF_SPORT,
					      i ? srv : cport);
					if (t == PKT_GRANT)
						put32(p->b + OFF_GRANT_OFFSET,
						      0xffffffff);
					snprintf(label, sizeof(label),
						 "local %s for a live RPC",
						 type_names[t - PKT_MIN_TYPE]);
					send_pkt(p, label);
				}
			}
		}
	}
	free(p);
}

/* ---- phase 2: random packets ---- */

/* A source port: for spoofed packets mostly from a small set (so that
 * packets meet the RPCs of earlier ones), for local ones a live port (so
 * that the module's answers reach a socket).
 */
static __u16 rand_sport(bool local)
{
	static const __u16 few[] = { 1, 1000, 40000, 65535 };

	if (local)
		return opt.sports.n ? (__u16)pick(&opt.sports) : 40000;
	if (chance(60))
		return few[rnd(4)];
	return (__u16)rnd64();
}

static __u16 rand_dport(void)
{
	unsigned int r = rnd(100);

	if (r < 40 && opt.server_ports.n)
		return (__u16)pick(&opt.server_ports);
	if (r < 60 && opt.client_ports.n)
		return (__u16)pick(&opt.client_ports);
	if (r < 70 && opt.closed_ports.n)
		return (__u16)pick(&opt.closed_ports);
	if (r < 75)
		return 0;
	return (__u16)rnd64();
}

static __u64 id_pool[16];

static __u64 rand_id(bool local)
{
	unsigned int r = rnd(100);
	__u64 id;

	if (local && opt.ids.n && r < 30)
		id = pick(&opt.ids) ^ rnd(2);
	else if (r < 60)
		id = id_pool[rnd(16)];
	else if (r < 65)
		id = rnd(4);
	else if (r < 70)
		id = ~0ULL - rnd(2);
	else
		id = rnd64();
	if (local && in_list(&opt.avoid_ids, id & ~1ULL))
		id = rnd64() | 0x8000000000000000ULL;
	return id;
}

/* DATA: mostly consistent pieces of messages, with random mutations. */
static void rand_data(struct pkt *p, bool local)
{
	__u32 msg_len, offset, len, r = rnd(100);
	__u64 id = rand_id(local);
	__u8 *b = p->b;

	if (r < 5)
		len = 0;
	else if (r < 80)
		len = 1 + rnd(1400);
	else if (r < 95)
		len = rnd(10000);
	else
		len = rnd(MAX_HOMA - DATA_LEN + 1);

	r = rnd(100);
	if (r < 30) {
		/* Consistent: a message size fixed by the id. */
		msg_len = 1 + (__u32)((id >> 8) % 200000);
		offset = (rnd(msg_len) / 1400) * 1400;
		if (len > msg_len - offset)
			len = msg_len - offset;
	} else if (r < 50) {
		offset = 0;
		msg_len = len ? len : 1;
	} else if (r < 70) {
		msg_len = 1 + rnd(HOMA_MAX_MESSAGE_LENGTH);
		offset = rnd(msg_len);
	} else if (r < 85) {
		msg_len = interesting();
		offset = chance(50) ? interesting() : rnd(msg_len);
	} else {
		msg_len = (__u32)rnd64();
		offset = (__u32)rnd64();
	}
	build_data(p, rand_dport(), id, msg_len, offset, len);
	if (chance(20))
		put32(b + OFF_INCOMING, chance(50) ? interesting() :
						     (__u32)rnd64());
	if (chance(10))
		put32(b + OFF_SEQUENCE, (__u32)rnd64());
	if (chance(10)) {
		put64(b + OFF_ACK_ID, chance(50) ? id_pool[rnd(16)] : rnd64());
		put16(b + OFF_ACK_PORT, rand_dport());
	}
	if (chance(5))
		put16(b + OFF_CUTOFF_VER, (__u16)rnd64());
	if (chance(5))
		b[OFF_RETRANSMIT] = (__u8)rnd64();
	for (r = 0; r < len && r < 64; r++)
		b[DATA_LEN + r] = (__u8)rnd64();
}

/* A valid-looking header of a random type with random field values. */
static void rand_header(struct pkt *p, bool local)
{
	static const __u8 weights[PKT_NUM_TYPES] = {
		35, 12, 10, 6, 6, 6, 5, 6, 14,
	};
	unsigned int r = rnd(100), t, i, hl;
	__u8 *b = p->b;

	for (t = 0; t < PKT_NUM_TYPES - 1 && r >= weights[t]; t++)
		r -= weights[t];
	if (t == 0) {
		rand_data(p, local);
	} else {
		build(p, PKT_MIN_TYPE + t, rand_dport(), rand_id(local), 0);
		hl = p->len;
		for (i = COMMON_LEN; i < hl; i++)
			b[i] = (__u8)rnd64();
		switch (PKT_MIN_TYPE + t) {
		case PKT_GRANT:
		case PKT_RESEND:
			if (chance(50))
				put32(b + OFF_GRANT_OFFSET, interesting());
			if (chance(50))
				put32(b + OFF_RESEND_LENGTH, interesting());
			break;
		case PKT_ACK:
			put16(b + OFF_NUM_ACKS,
			      chance(75) ? rnd(MAX_ACKS + 1) :
					   (__u16)interesting());
			for (i = 0; i < MAX_ACKS; i++) {
				put64(b + OFF_ACKS + 10 * i, rand_id(local));
				put16(b + OFF_ACKS + 10 * i + 8, rand_dport());
			}
			break;
		}
	}
	put16(b + OFF_SPORT, rand_sport(local));

	/* Mutations: lengths, then single fields or bytes. */
	r = rnd(100);
	if (r < 8) {
		p->len = rnd(p->len);
	} else if (r < 16) {
		unsigned int extra = rnd(chance(90) ? 200 : 5000);

		if (p->len + extra > MAX_HOMA)
			extra = MAX_HOMA - p->len;
		for (i = 0; i < extra; i++)
			b[p->len + i] = (__u8)rnd64();
		p->len += extra;
	}
	if (chance(5))
		b[OFF_DOFF] = (__u8)rnd64();
	if (chance(3))
		b[OFF_TYPE] = PKT_MIN_TYPE + rnd(PKT_NUM_TYPES);
	if (chance(3))
		b[OFF_TYPE] = (__u8)rnd64();
	if (chance(5))
		b[8 + rnd(3)] = (__u8)rnd64();	/* unused1 */
	if (chance(5))
		b[13 + rnd(7)] = (__u8)rnd64();	/* flags..urgent */
	if (chance(10) && p->len) {
		for (i = rnd(4); i < 4; i++)
			b[rnd(p->len)] = (__u8)rnd64();
	}
}

static void random_phase(void)
{
	struct pkt *p = malloc(sizeof(*p));
	__u64 n;
	unsigned int i, len;

	if (!p)
		die("out of memory");
	for (i = 0; i < 16; i++)
		id_pool[i] = rnd64();
	for (n = 0; n < opt.count; n++) {
		bool local = opt.have_local && (!opt.num_src || chance(25));
		unsigned int r = rnd(100);

		if (r < 8) {
			/* Random bytes, mostly short. */
			r = rnd(100);
			len = r < 70 ? rnd(101) : r < 95 ? rnd(1501) :
							   rnd(MAX_HOMA + 1);
			for (i = 0; i < len; i++)
				p->b[i] = (__u8)rnd64();
			p->len = len;
			if (local && len >= 2)
				put16(p->b + OFF_SPORT, rand_sport(true));
		} else {
			rand_header(p, local);
		}
		p->src = local ? SRC_LOCAL : (int)rnd(opt.num_src);
		p->frag = 0;
		if (p->len > 8 && chance(2))
			p->frag = 8 * (1 + rnd((p->len - 1) / 8));
		p->ip_options = !p->frag && chance(2);
		send_pkt(p, "random");
	}
	free(p);
}

/* ---- phase 3: one packet from each of many sources ---- */

/*
 * --count control packets for RPCs that do not exist, each from its own
 * address: opt.src[0], the next address, and so on. None of them needs
 * any state to be kept.
 */
static void spray_phase(void)
{
	static const __u8 types[] = {
		PKT_GRANT, PKT_RESEND, PKT_BUSY, PKT_NEED_ACK, PKT_FREEZE,
		PKT_ACK,
	};
	struct pkt *p = malloc(sizeof(*p));
	__u64 n;

	if (!p)
		die("out of memory");
	if (!opt.num_src)
		die("--phase spray needs --src (the first address)");
	for (n = 0; n < opt.count; n++) {
		build(p, types[n % ARRAY_SIZE(types)], server_port(),
		      fresh_id() | (n & 1), 0);
		p->src = SRC_SPRAY;
		p->spray = (__u32)n;
		send_pkt(p, "spray");
	}
	free(p);
}

/* ---- one packet from hex (to reproduce a finding) ---- */

static void send_hex(const char *hex)
{
	struct pkt *p = calloc(1, sizeof(*p));
	unsigned int v;

	if (!p)
		die("out of memory");
	while (hex[0] && hex[1] && p->len < MAX_HOMA) {
		if (sscanf(hex, "%2x", &v) != 1)
			die("bad hex near '%s'", hex);
		p->b[p->len++] = (__u8)v;
		hex += 2;
	}
	p->src = opt.num_src ? 0 : SRC_LOCAL;
	send_pkt(p, "--hex");
	free(p);
}

/* ---- command line ---- */

static void print_help(void)
{
	printf("Usage: homa_fuzz [-6] [options]\n"
	       "  -6                 IPv6 (default IPv4)\n"
	       "  --dst ADDR         target (default 127.0.0.1 / ::1)\n"
	       "  --src ADDR         spoofed source (repeatable); default:\n"
	       "                     none, every packet from --local-src\n"
	       "  --local-src ADDR   the target's own address; with --src,\n"
	       "                     a quarter of the random packets use it\n"
	       "  --server-port P    live port accepting requests (repeatable)\n"
	       "  --client-port P    live port not accepting requests\n"
	       "  --closed-port P    port with no socket of this family\n"
	       "  --sport P          source port for local packets (a live\n"
	       "                     port of this family)\n"
	       "  --id ID            live RPC id to aim local packets at\n"
	       "  --avoid-id ID      RPC id local packets must not use\n"
	       "  --phase catalogue|random|all|spray (default all: the\n"
	       "                     first two); spray: --count control\n"
	       "                     packets for unknown RPCs, each from\n"
	       "                     its own source (the first --src + i)\n"
	       "  --count N          random/spray packets (default 200000)\n"
	       "  --seed S           PRNG seed (default 1)\n"
	       "  --window N         packets in flight (0: no flow control;\n"
	       "                     default 256)\n"
	       "  --hex HEX          send one Homa packet given in hex\n"
	       "  -v, --verbose      print every packet (first 96 bytes)\n"
	       "  -t, --trace        also wait for each packet to be handled\n"
	       "                     and print the counters it moved\n"
	       "Prints 'sent <class> <n>', 'type <NAME> <n>',\n"
	       "'maybe bad_data <n>' and 'sent total <n>'; exit 0, or 1 if a\n"
	       "sendto failed, 2 for usage errors.\n");
}

static void add_list(struct list *l, const char *arg, __u64 max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || *end || v > max)
		die("bad number '%s'", arg);
	if (l->n >= MAX_LIST)
		die("too many values");
	l->v[l->n++] = v;
}

static void parse_addr(const char *arg, struct source *s)
{
	memset(s, 0, sizeof(*s));
	if (opt.v6 ? inet_pton(AF_INET6, arg, &s->addr6) != 1 :
		     inet_pton(AF_INET, arg, &s->addr4) != 1)
		die("bad %s address '%s' (give -6 first for IPv6)",
		    opt.v6 ? "IPv6" : "IPv4", arg);
}

enum {
	OPT_DST = 256, OPT_SRC, OPT_LOCAL, OPT_SERVER, OPT_CLIENT, OPT_CLOSED,
	OPT_SPORT, OPT_ID, OPT_AVOID, OPT_PHASE, OPT_COUNT, OPT_SEED,
	OPT_WINDOW, OPT_HEX,
};

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dst", required_argument, NULL, OPT_DST },
		{ "src", required_argument, NULL, OPT_SRC },
		{ "local-src", required_argument, NULL, OPT_LOCAL },
		{ "server-port", required_argument, NULL, OPT_SERVER },
		{ "client-port", required_argument, NULL, OPT_CLIENT },
		{ "closed-port", required_argument, NULL, OPT_CLOSED },
		{ "sport", required_argument, NULL, OPT_SPORT },
		{ "id", required_argument, NULL, OPT_ID },
		{ "avoid-id", required_argument, NULL, OPT_AVOID },
		{ "phase", required_argument, NULL, OPT_PHASE },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "hex", required_argument, NULL, OPT_HEX },
		{ "verbose", no_argument, NULL, 'v' },
		{ "trace", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dst = NULL, *local = NULL;
	const char *srcs[MAX_LIST];
	struct list tmp;
	int c, i;

	while ((c = getopt_long(argc, argv, "6vth", longopts, NULL)) != -1) {
		memset(&tmp, 0, sizeof(tmp));
		switch (c) {
		case '6':
			opt.v6 = true;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 't':
			opt.trace = true;
			break;
		case 'h':
			print_help();
			exit(0);
		case OPT_DST:
			dst = optarg;
			break;
		case OPT_SRC:
			if (opt.num_src >= MAX_LIST)
				die("too many --src");
			srcs[opt.num_src++] = optarg;
			break;
		case OPT_LOCAL:
			local = optarg;
			break;
		case OPT_SERVER:
			add_list(&opt.server_ports, optarg, 0xffff);
			break;
		case OPT_CLIENT:
			add_list(&opt.client_ports, optarg, 0xffff);
			break;
		case OPT_CLOSED:
			add_list(&opt.closed_ports, optarg, 0xffff);
			break;
		case OPT_SPORT:
			add_list(&opt.sports, optarg, 0xffff);
			break;
		case OPT_ID:
			add_list(&opt.ids, optarg, ~0ULL);
			break;
		case OPT_AVOID:
			add_list(&opt.avoid_ids, optarg, ~0ULL);
			break;
		case OPT_PHASE:
			opt.phase = optarg;
			if (strcmp(optarg, "catalogue") &&
			    strcmp(optarg, "random") && strcmp(optarg, "all") &&
			    strcmp(optarg, "spray"))
				die("bad --phase '%s'", optarg);
			break;
		case OPT_COUNT:
			add_list(&tmp, optarg, ~0ULL);
			opt.count = tmp.v[0];
			break;
		case OPT_SEED:
			add_list(&tmp, optarg, ~0ULL);
			opt.seed = tmp.v[0];
			break;
		case OPT_WINDOW:
			add_list(&tmp, optarg, 1 << 20);
			opt.window = (unsigned int)tmp.v[0];
			break;
		case OPT_HEX:
			opt.hex = optarg;
			break;
		default:
			print_help();
			exit(2);
		}
	}
	if (optind != argc)
		die("unexpected argument '%s'", argv[optind]);
	for (i = 0; i < opt.num_src; i++)
		parse_addr(srcs[i], &opt.src[i]);
	if (!dst)
		dst = opt.v6 ? "::1" : "127.0.0.1";
	parse_addr(dst, &opt.local);
	opt.dst6 = opt.local.addr6;
	opt.dst4 = opt.local.addr4;
	if (local)
		parse_addr(local, &opt.local);
	opt.local.local = true;
	opt.have_local = local || !opt.num_src;
	if (opt.window == 1)
		opt.window = 2;
}

/*
 * Stay on one CPU: loopback queues each packet to the input backlog of
 * the sending CPU, so packets sent from one CPU are handled in the order
 * sent, which the predictions of class bad_data for a later packet of the
 * same request rely on.
 */
static void pin_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (cpu < 0)
		die("sched_getcpu: %s", strerror(errno));
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	double secs;
	int i;

	parse_args(argc, argv);
	rng_state = opt.seed;
	pin_cpu();
	open_raw();
	processed_base = homa_processed(&trace_before);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (opt.hex) {
		send_hex(opt.hex);
	} else {
		if (!strcmp(opt.phase, "spray")) {
			spray_phase();
		} else {
			if (strcmp(opt.phase, "random"))
				catalogue();
			if (strcmp(opt.phase, "catalogue"))
				random_phase();
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# homa_fuzz: %s, seed %llu, phase %s: %llu packets in %.1f s\n",
	       opt.v6 ? "IPv6" : "IPv4", (unsigned long long)opt.seed,
	       opt.hex ? "hex" : opt.phase, (unsigned long long)sent_total,
	       secs);
	for (i = 0; i < CL_NUM; i++)
		printf("sent %s %llu\n", class_names[i],
		       (unsigned long long)sent_class[i]);
	for (i = 0; i < PKT_NUM_TYPES; i++)
		printf("type %s %llu\n", type_names[i],
		       (unsigned long long)sent_type[i]);
	printf("maybe bad_data %llu\n", (unsigned long long)maybe_bad_data);
	printf("sent total %llu\n", (unsigned long long)sent_total);
	close(raw_fd);
	free(rpcs);
	return send_errors ? 1 : 0;
}
