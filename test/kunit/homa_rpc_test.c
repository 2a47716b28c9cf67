// SPDX-License-Identifier: GPL-2.0

/* KUnit tests of the RPC layer at the packet level: reassembly of incoming
 * messages (gaps, duplicates, overlaps, the gap limit), at-most-once
 * creation of server RPCs, validation of DATA packets, requests for ports
 * nobody serves, grant generation against max_incoming and the buffer
 * pool, ACK handling, packets for RPCs that do not exist, and the timer
 * (RESEND, BUSY, RPC_UNKNOWN, NEED_ACK, timeouts) with time stepped by
 * the test.
 *
 * Nothing is faked in homa.ko. The tests use real kernel Homa sockets in
 * init_net and hand packets they build to homa_rcv() with bottom halves
 * disabled, as the IP layer would in softirq. What the module sends goes
 * through the real transmit path to the loopback device, where a packet
 * tap (dev_add_pack()) keeps a copy of every Homa and ICMP packet. Those
 * packets then come back in through the loopback device; the "client" end
 * of every injected request is therefore a real Homa socket whose port is
 * the source port of the injected packets, so that replies sent to it are
 * dropped there as packets for unknown RPCs instead of drawing ICMP errors
 * that would end the server's RPCs.
 *
 * Tests of a peer that went silent use HOMA_TEST_FREE_PORT, which no
 * socket has. Homa answers DATA, RESEND and NEED_ACK for a port without a
 * socket with ICMP port unreachable, and that ICMP ends the sender's RPCs
 * with the port, so what the module sends there must vanish instead: an
 * rx_handler on the loopback device (the debug kernel has no netfilter)
 * consumes every Homa packet to HOMA_TEST_FREE_PORT. It runs after the
 * tap saw the packet, so the tests still check what was sent. Packets the
 * tests hand to homa_rcv() do not pass it, and HOMA_TEST_DEAD_PORT (no
 * socket either) is left alone for the tests of those ICMP errors.
 *
 * Kernel sockets have no user memory for receive buffers. Tests that need
 * buffers register a region at a plausible user address with the real
 * SO_HOMA_RCVBUF path; the pool only deals in offsets and never touches
 * the region, and no test runs recvmsg's copy to user space.
 */

#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/bottom_half.h>
#include <linux/delay.h>
#include <linux/icmp.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/netdevice.h>
#include <linux/rcupdate.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/sockptr.h>
#include <linux/vmalloc.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/route.h>

#include "homa_impl.h"

/* Server port bound by the server socket of every test. */
#define HOMA_TEST_SERVER_PORT	5146

/* A port no socket has; Homa packets sent to it vanish (homa_test_hole). */
#define HOMA_TEST_FREE_PORT	5147

/* A port no socket has; packets sent to it draw ICMP port unreachable. */
#define HOMA_TEST_DEAD_PORT	5148

/* Page-aligned user address used as the receive buffer region. */
#define HOMA_TEST_REGION	0x10000000ULL

/* Bpages in that region (room for several 200000-byte messages). */
#define HOMA_TEST_REGION_BPAGES	16

/* Most milliseconds to wait for loopback traffic to be processed. */
#define HOMA_TEST_SETTLE_MS	2000

/* Room in front of injected packets (link-layer headers). */
#define HOMA_TEST_HEADROOM	MAX_HEADER

/**
 * struct homa_test_ctx - State of one test case (test->priv).
 * @test:         The test case.
 * @server_sock:  Socket bound to HOMA_TEST_SERVER_PORT.
 * @client_sock:  Socket with an automatic port: the source port of
 *                injected requests and the destination of replies.
 * @extra_sock:   Another socket some tests create, or NULL.
 * @server:       Homa socket of @server_sock.
 * @client:       Homa socket of @client_sock.
 * @client_port:  Port of @client.
 * @hn:           Homa's state for init_net.
 * @saved_params: init_net's parameters before the test; restored after.
 * @tap:          Packet tap on the loopback device.
 * @tap_added:    Whether @tap is registered.
 * @captured:     Copies of the Homa and ICMP packets sent on loopback,
 *                skb->data at the IP header; freed when the test ends.
 * @tx_packets:   IPv4 packets the tap saw leave through loopback.
 * @rx_packets:   IPv4 packets the tap saw arrive through loopback.
 * @tap_lost:     Packets the tap could not copy (memory was short).
 * @holed:        Homa packets to HOMA_TEST_FREE_PORT the loopback
 *                device's rx_handler consumed (homa_test_hole()).
 * @hole_added:   Whether that rx_handler is registered.
 * @hold_peer:    The loopback peer while its route is @hold_rt
 *                (homa_test_hold()); else NULL.
 * @hold_rt:      Copy of the route to 127.0.0.1 whose output keeps DATA
 *                in this host while @holding.
 * @saved_dst:    The peer's own route while @hold_rt replaces it.
 * @holding:      Whether @hold_rt keeps DATA now (else it passes it).
 * @held:         DATA packets kept; freed when the test ends, after the
 *                sockets are released.
 * @msgin:        Incoming message used by the homa_msgin_add() tests; its
 *                gaps are freed when the test ends.
 * @base:         Metrics (summed over CPUs) when the test started.
 * @timer_stopped: Whether init_net's timer was stopped for the test.
 */
struct homa_test_ctx {
	struct kunit *test;
	struct socket *server_sock;
	struct socket *client_sock;
	struct socket *extra_sock;
	struct homa_sock *server;
	struct homa_sock *client;
	u16 client_port;
	struct homa_net *hn;
	struct homa_params saved_params;
	struct packet_type tap;
	bool tap_added;
	struct sk_buff_head captured;
	atomic_t tx_packets;
	atomic_t rx_packets;
	atomic_t tap_lost;
	atomic_t holed;
	bool hole_added;
	struct homa_peer *hold_peer;
	struct rtable *hold_rt;
	struct dst_entry *saved_dst;
	bool holding;
	struct sk_buff_head held;
	struct homa_msgin msgin;
	u64 base[HOMA_NUM_METRICS];
	bool timer_stopped;
};

/**
 * struct homa_test_rpc - Snapshot of an RPC, taken under the socket lock.
 * @found:         Whether the RPC exists.
 * @state:         enum homa_rpc_state.
 * @flags:         HOMA_RPC_F_* bits.
 * @in_length:     msgin.length.
 * @in_remaining:  msgin.bytes_remaining.
 * @in_recv_end:   msgin.recv_end.
 * @in_granted:    msgin.granted.
 * @in_charged:    msgin.charged.
 * @in_gaps:       msgin.num_gaps.
 * @in_pkts:       Packets queued in msgin.packets.
 * @pkt_offset:    Message offsets of the first queued packets.
 * @pkt_len:       Lengths of the first queued packets.
 * @buf_wait:      On the socket's list of RPCs waiting for buffers.
 * @grant_wait:    On the namespace's list of RPCs waiting for grants.
 * @out_length:    msgout.length.
 * @out_next:      msgout.next_offset.
 * @out_granted:   msgout.granted.
 * @out_seg:       msgout.seg_size.
 * @out_left_end:  msgout.left_end.
 * @error:         error (client RPCs that failed).
 */
struct homa_test_rpc {
	bool found;
	int state;
	u32 flags;
	int in_length;
	int in_remaining;
	int in_recv_end;
	int in_granted;
	int in_charged;
	int in_gaps;
	int in_pkts;
	u32 pkt_offset[4];
	u32 pkt_len[4];
	bool buf_wait;
	bool grant_wait;
	int out_length;
	int out_next;
	int out_granted;
	int out_seg;
	int out_left_end;
	int error;
};

/**
 * struct homa_test_sock - Snapshot of a socket, taken under its lock.
 * @num_rpcs:    Live RPCs.
 * @ready:       Entries in ready_rpcs.
 * @buf_waiters: Entries in buf_waiters.
 * @ready_seq:   ready_seq.
 * @wmem_queued: wmem_queued.
 */
struct homa_test_sock {
	int num_rpcs;
	int ready;
	int buf_waiters;
	u32 ready_seq;
	int wmem_queued;
};

/* The byte at message offset @offset of every message the tests build. */
static u8 homa_test_byte(u32 offset)
{
	return (u8)(offset * 7 + 3);
}

static u64 homa_test_metric(struct homa_net *hn, enum homa_metric m)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(hn->metrics, cpu)->count[m];
	return sum;
}

/* Change of metric @m since the test started. */
static s64 homa_test_delta(struct homa_test_ctx *ctx, enum homa_metric m)
{
	return homa_test_metric(ctx->hn, m) - ctx->base[m];
}

/* Packet tap on loopback: counts IPv4 packets in both directions and
 * keeps a copy of each outgoing Homa or ICMP packet.
 */
static int homa_test_tap_rcv(struct sk_buff *skb, struct net_device *dev,
			     struct packet_type *pt,
			     struct net_device *orig_dev)
{
	struct homa_test_ctx *ctx = container_of(pt, struct homa_test_ctx,
						 tap);
	const struct iphdr *iph;
	struct sk_buff *copy;

	if (skb->protocol != htons(ETH_P_IP))
		goto out;
	if (skb->pkt_type != PACKET_OUTGOING) {
		atomic_inc(&ctx->rx_packets);
		goto out;
	}
	copy = skb_copy(skb, GFP_ATOMIC);
	if (!copy) {
		atomic_inc(&ctx->tap_lost);
	} else {
		skb_pull(copy, skb_network_offset(copy));
		iph = (const struct iphdr *)copy->data;
		if (copy->len >= sizeof(*iph) && iph->version == 4 &&
		    (iph->protocol == IPPROTO_HOMA ||
		     iph->protocol == IPPROTO_ICMP))
			skb_queue_tail(&ctx->captured, copy);
		else
			kfree_skb(copy);
	}
	/* Counted last, so that homa_test_settle() waits for the copy. */
	atomic_inc(&ctx->tx_packets);
out:
	consume_skb(skb);
	return 0;
}

/* rx_handler of the loopback device: consumes IPv4 and IPv6 Homa packets
 * whose destination port is HOMA_TEST_FREE_PORT (so that they draw no
 * ICMP error) and passes everything else. Taps (homa_test_tap_rcv()) see
 * a packet before the rx_handler does.
 */
static rx_handler_result_t homa_test_hole(struct sk_buff **pskb)
{
	struct sk_buff *skb = *pskb;
	const struct homa_common_hdr *h;
	struct homa_common_hdr hbuf;
	struct homa_test_ctx *ctx;
	unsigned int off;

	off = skb_network_offset(skb);
	if (skb->protocol == htons(ETH_P_IP)) {
		const struct iphdr *iph;
		struct iphdr ibuf;

		iph = skb_header_pointer(skb, off, sizeof(ibuf), &ibuf);
		if (!iph || iph->version != 4 || iph->ihl < 5 ||
		    iph->protocol != IPPROTO_HOMA ||
		    (iph->frag_off & htons(IP_OFFSET)))
			return RX_HANDLER_PASS;
		off += iph->ihl * 4;
	} else if (skb->protocol == htons(ETH_P_IPV6)) {
		const struct ipv6hdr *ip6;
		struct ipv6hdr ip6buf;

		ip6 = skb_header_pointer(skb, off, sizeof(ip6buf), &ip6buf);
		if (!ip6 || ip6->version != 6 || ip6->nexthdr != IPPROTO_HOMA)
			return RX_HANDLER_PASS;
		off += sizeof(*ip6);
	} else {
		return RX_HANDLER_PASS;
	}
	h = skb_header_pointer(skb, off, sizeof(hbuf), &hbuf);
	if (!h || ntohs(h->dport) != HOMA_TEST_FREE_PORT)
		return RX_HANDLER_PASS;
	ctx = rcu_dereference(skb->dev->rx_handler_data);
	atomic_inc(&ctx->holed);
	kfree_skb(skb);
	return RX_HANDLER_CONSUMED;
}

/* Wait until every IPv4 packet sent on loopback has come back in and been
 * handled (the loopback device hands packets to the receive path, which
 * normally runs as soon as the sender enables bottom halves again).
 * Packets are seen by the tap before the receive path handles them, and
 * that handling (which may send more packets) runs in an RCU read-side
 * critical section, hence synchronize_rcu() before the second check.
 */
static void homa_test_settle(struct homa_test_ctx *ctx)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(HOMA_TEST_SETTLE_MS);

	if (!ctx->tap_added)
		return;
	do {
		if (atomic_read(&ctx->tx_packets) ==
		    atomic_read(&ctx->rx_packets)) {
			synchronize_rcu();
			if (atomic_read(&ctx->tx_packets) ==
			    atomic_read(&ctx->rx_packets))
				return;
		}
		usleep_range(1000, 2000);
	} while (time_before(jiffies, deadline));
	KUNIT_FAIL(ctx->test, "loopback traffic did not settle: %d sent, %d received",
		   atomic_read(&ctx->tx_packets),
		   atomic_read(&ctx->rx_packets));
}

static unsigned int homa_test_ncaptured(struct homa_test_ctx *ctx)
{
	return skb_queue_len(&ctx->captured);
}

/* The @n-th captured packet (from 0). It stays in ctx->captured, which is
 * only emptied when the test ends, so the pointer remains valid.
 */
static struct sk_buff *homa_test_nth(struct homa_test_ctx *ctx,
				     unsigned int n)
{
	struct sk_buff *skb, *found = NULL;
	unsigned long flags;

	spin_lock_irqsave(&ctx->captured.lock, flags);
	skb_queue_walk(&ctx->captured, skb) {
		if (n-- == 0) {
			found = skb;
			break;
		}
	}
	spin_unlock_irqrestore(&ctx->captured.lock, flags);
	KUNIT_ASSERT_NOT_NULL(ctx->test, found);
	return found;
}

/* Check the IP header of captured Homa packet @n and the common header
 * that follows, and return the Homa header; @len is set to its length
 * plus the payload's.
 */
static const void *homa_test_homa_pkt(struct homa_test_ctx *ctx,
				      unsigned int n, u8 type, u16 sport,
				      u16 dport, u64 sender_id,
				      unsigned int *len)
{
	struct sk_buff *skb = homa_test_nth(ctx, n);
	struct kunit *test = ctx->test;
	const struct homa_common_hdr *h;
	const struct iphdr *iph;
	unsigned int ihl;

	KUNIT_ASSERT_GE(test, skb->len, sizeof(*iph));
	iph = (const struct iphdr *)skb->data;
	ihl = iph->ihl * 4;
	KUNIT_ASSERT_EQ(test, iph->protocol, IPPROTO_HOMA);
	KUNIT_EXPECT_EQ(test, ntohl(iph->saddr), INADDR_LOOPBACK);
	KUNIT_EXPECT_EQ(test, ntohl(iph->daddr), INADDR_LOOPBACK);
	KUNIT_ASSERT_EQ(test, ntohs(iph->tot_len), skb->len);
	KUNIT_ASSERT_GE(test, skb->len, ihl + homa_pkt_hdr_len(type));
	h = (const struct homa_common_hdr *)(skb->data + ihl);
	KUNIT_ASSERT_EQ(test, h->type, type);
	KUNIT_EXPECT_EQ(test, ntohs(h->sport), sport);
	KUNIT_EXPECT_EQ(test, ntohs(h->dport), dport);
	KUNIT_EXPECT_EQ(test, be64_to_cpu(h->sender_id), sender_id);
	KUNIT_EXPECT_EQ(test, h->doff, (type == HOMA_PKT_DATA ?
					HOMA_DOFF_DATA : HOMA_DOFF_OTHER) << 4);
	*len = skb->len - ihl;
	return h;
}

/* Check captured packet @n: an ACK from the client socket to @dport
 * acknowledging only client RPC @id of that server port.
 * Return: its header.
 */
static const struct homa_ack_hdr *
homa_test_expect_ack(struct homa_test_ctx *ctx, unsigned int n, u16 dport,
		     u64 id)
{
	const struct homa_ack_hdr *ack;
	struct kunit *test = ctx->test;
	unsigned int len;

	ack = homa_test_homa_pkt(ctx, n, HOMA_PKT_ACK, ctx->client_port,
				 dport, id, &len);
	KUNIT_EXPECT_EQ(test, len, sizeof(*ack));
	KUNIT_EXPECT_EQ(test, be16_to_cpu(ack->num_acks), 1);
	KUNIT_EXPECT_EQ(test, be64_to_cpu(ack->acks[0].client_id), id);
	KUNIT_EXPECT_EQ(test, be16_to_cpu(ack->acks[0].server_port), dport);
	return ack;
}

/* Check captured GRANT @n from the server's RPC @id. */
static void homa_test_expect_grant(struct homa_test_ctx *ctx, unsigned int n,
				   u64 id, u32 offset)
{
	const struct homa_grant_hdr *h;
	unsigned int len;
	u32 grant_offset;

	h = homa_test_homa_pkt(ctx, n, HOMA_PKT_GRANT, HOMA_TEST_SERVER_PORT,
			       ctx->client_port, id, &len);
	KUNIT_EXPECT_EQ(ctx->test, len, sizeof(*h));
	grant_offset = be32_to_cpu(h->offset);
	KUNIT_EXPECT_EQ(ctx->test, grant_offset, offset);
	KUNIT_EXPECT_EQ(ctx->test, h->priority, 0);
}

/* Check captured DATA packet @n: bytes [@offset, @offset + @seg_len) of a
 * @msg_len-byte message, built with homa_test_byte().
 */
static void homa_test_expect_data(struct homa_test_ctx *ctx, unsigned int n,
				  u16 sport, u16 dport, u64 id, u32 msg_len,
				  u32 incoming, u32 offset, u32 seg_len)
{
	const struct homa_data_hdr *h;
	struct kunit *test = ctx->test;
	unsigned int len, i;
	const u8 *data;

	h = homa_test_homa_pkt(ctx, n, HOMA_PKT_DATA, sport, dport, id, &len);
	KUNIT_ASSERT_EQ(test, len, sizeof(*h) + seg_len);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(h->common.sequence), offset);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(h->message_length), msg_len);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(h->incoming), incoming);
	KUNIT_EXPECT_EQ(test, be64_to_cpu(h->ack.client_id), 0);
	KUNIT_EXPECT_EQ(test, h->retransmit, 0);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(h->seg.offset), offset);
	data = (const u8 *)(h + 1);
	for (i = 0; i < seg_len; i++) {
		if (data[i] != homa_test_byte(offset + i))
			break;
	}
	KUNIT_EXPECT_EQ_MSG(test, i, seg_len, "payload differs at offset %u",
			    offset + i);
}

/* Build a packet from @saddr (a loopback address) to 127.0.0.1: @hdr_len
 * bytes of Homa header, then @data_len bytes of payload starting at
 * message offset @offset; skb->data at the IP header. The skb looks like
 * one that came in through the loopback device (which keeps the sender's
 * route as the skb's dst), so that the module can answer it with ICMP.
 */
static struct sk_buff *homa_test_build(struct homa_test_ctx *ctx,
				       __be32 saddr, const void *hdr,
				       unsigned int hdr_len, u32 offset,
				       u32 data_len)
{
	struct kunit *test = ctx->test;
	struct sk_buff *skb;
	struct rtable *rt;
	struct iphdr *iph;
	u8 *data;
	u32 i;

	rt = ip_route_output(&init_net, htonl(INADDR_LOOPBACK),
			     htonl(INADDR_LOOPBACK), 0, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(rt));
	skb = alloc_skb(HOMA_TEST_HEADROOM + sizeof(*iph) + hdr_len + data_len,
			GFP_KERNEL);
	if (!skb)
		ip_rt_put(rt);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_reserve(skb, HOMA_TEST_HEADROOM);
	skb_dst_set(skb, &rt->dst);

	skb_reset_network_header(skb);
	iph = skb_put_zero(skb, sizeof(*iph));
	iph->version = 4;
	iph->ihl = sizeof(*iph) / 4;
	iph->tot_len = htons(sizeof(*iph) + hdr_len + data_len);
	iph->ttl = 64;
	iph->protocol = IPPROTO_HOMA;
	iph->saddr = saddr;
	iph->daddr = htonl(INADDR_LOOPBACK);
	ip_send_check(iph);
	skb_put_data(skb, hdr, hdr_len);
	data = skb_put(skb, data_len);
	for (i = 0; i < data_len; i++)
		data[i] = homa_test_byte(offset + i);
	skb->protocol = htons(ETH_P_IP);
	skb->pkt_type = PACKET_HOST;
	skb->dev = init_net.loopback_dev;
	return skb;
}

/* Give homa_rcv() the packet of homa_test_build(), as the IP layer does;
 * then wait for what the module sent in response to be handled.
 */
static void homa_test_inject_from(struct homa_test_ctx *ctx, __be32 saddr,
				  const void *hdr, unsigned int hdr_len,
				  u32 offset, u32 data_len)
{
	struct sk_buff *skb;

	skb = homa_test_build(ctx, saddr, hdr, hdr_len, offset, data_len);
	__skb_pull(skb, sizeof(struct iphdr));
	skb_reset_transport_header(skb);

	/* As in softirq: the IP layer calls handlers under RCU. */
	local_bh_disable();
	rcu_read_lock();
	homa_rcv(skb);
	rcu_read_unlock();
	local_bh_enable();
	homa_test_settle(ctx);
}

/* The same from 127.0.0.1. */
static void homa_test_inject(struct homa_test_ctx *ctx, const void *hdr,
			     unsigned int hdr_len, u32 offset, u32 data_len)
{
	homa_test_inject_from(ctx, htonl(INADDR_LOOPBACK), hdr, hdr_len,
			      offset, data_len);
}

/* Inject a DATA packet from @saddr carrying bytes [@offset, @offset +
 * @len) of a @msg_len-byte message of RPC @sender_id (the sender's id).
 */
static void homa_test_data_from(struct homa_test_ctx *ctx, __be32 saddr,
				u16 sport, u16 dport, u64 sender_id,
				u32 msg_len, u32 incoming, u32 offset, u32 len,
				bool retransmit)
{
	struct homa_data_hdr h;

	memset(&h, 0, sizeof(h));
	homa_common_hdr_init(&h.common, HOMA_PKT_DATA, sport, dport,
			     sender_id);
	h.common.sequence = cpu_to_be32(offset);
	h.message_length = cpu_to_be32(msg_len);
	h.incoming = cpu_to_be32(incoming);
	h.retransmit = retransmit;
	h.seg.offset = cpu_to_be32(offset);
	homa_test_inject_from(ctx, saddr, &h, sizeof(h), offset, len);
}

/* The same from 127.0.0.1. */
static void homa_test_data_rt(struct homa_test_ctx *ctx, u16 sport,
			      u16 dport, u64 sender_id, u32 msg_len,
			      u32 incoming, u32 offset, u32 len, bool retransmit)
{
	homa_test_data_from(ctx, htonl(INADDR_LOOPBACK), sport, dport,
			    sender_id, msg_len, incoming, offset, len,
			    retransmit);
}

static void homa_test_data(struct homa_test_ctx *ctx, u16 sport, u16 dport,
			   u64 sender_id, u32 msg_len, u32 incoming,
			   u32 offset, u32 len)
{
	homa_test_data_rt(ctx, sport, dport, sender_id, msg_len, incoming,
			  offset, len, false);
}

/* Inject a piece of a request from the client socket to the server. */
static void homa_test_request(struct homa_test_ctx *ctx, u64 client_id,
			      u32 msg_len, u32 incoming, u32 offset, u32 len)
{
	homa_test_data(ctx, ctx->client_port, HOMA_TEST_SERVER_PORT,
		       client_id, msg_len, incoming, offset, len);
}

static void homa_test_grant(struct homa_test_ctx *ctx, u16 sport, u16 dport,
			    u64 sender_id, u32 offset)
{
	struct homa_grant_hdr h;

	memset(&h, 0, sizeof(h));
	homa_common_hdr_init(&h.common, HOMA_PKT_GRANT, sport, dport,
			     sender_id);
	h.offset = cpu_to_be32(offset);
	homa_test_inject(ctx, &h, sizeof(h), 0, 0);
}

/* Inject an ACK from client port @sport to the server with @num_acks in
 * its count field and the (client id, server port) pairs of @acks (@n of
 * them; the rest are zero).
 */
static void homa_test_ack_from(struct homa_test_ctx *ctx, u16 sport,
			       u16 num_acks, const u64 *acks, int n)
{
	struct homa_ack_hdr h;
	int i;

	memset(&h, 0, sizeof(h));
	homa_common_hdr_init(&h.common, HOMA_PKT_ACK, sport,
			     HOMA_TEST_SERVER_PORT, 0);
	h.num_acks = cpu_to_be16(num_acks);
	for (i = 0; i < n && i < HOMA_MAX_ACKS_PER_PKT; i++) {
		h.acks[i].client_id = cpu_to_be64(acks[2 * i]);
		h.acks[i].server_port = cpu_to_be16(acks[2 * i + 1]);
	}
	homa_test_inject(ctx, &h, sizeof(h), 0, 0);
}

/* The same from the test's client socket. */
static void homa_test_ack(struct homa_test_ctx *ctx, u16 num_acks,
			  const u64 *acks, int n)
{
	homa_test_ack_from(ctx, ctx->client_port, num_acks, acks, n);
}

static void homa_test_get_rpc(struct homa_sock *hsk, u64 id,
			      struct homa_test_rpc *r)
{
	struct homa_rpc *rpc;
	struct sk_buff *skb;
	int i = 0;

	memset(r, 0, sizeof(*r));
	spin_lock_bh(&hsk->lock);
	if (homa_is_client(id))
		rpc = homa_rpc_find_client(hsk, id);
	else
		rpc = homa_rpc_find_server(hsk, NULL, 0, id);
	if (rpc) {
		r->found = true;
		r->state = rpc->state;
		r->flags = rpc->flags;
		r->in_length = rpc->msgin.length;
		r->in_remaining = rpc->msgin.bytes_remaining;
		r->in_recv_end = rpc->msgin.recv_end;
		r->in_granted = rpc->msgin.granted;
		r->in_charged = rpc->msgin.charged;
		r->in_gaps = rpc->msgin.num_gaps;
		r->in_pkts = skb_queue_len(&rpc->msgin.packets);
		skb_queue_walk(&rpc->msgin.packets, skb) {
			if (i >= ARRAY_SIZE(r->pkt_offset))
				break;
			r->pkt_offset[i] = HOMA_SKB_CB(skb)->offset;
			r->pkt_len[i++] = skb->len;
		}
		r->buf_wait = !(rpc->flags & HOMA_RPC_F_BUFS) &&
			      !list_empty(&rpc->ready_links);
		r->grant_wait = !list_empty(&rpc->grant_links);
		r->out_length = rpc->msgout.length;
		r->out_next = rpc->msgout.next_offset;
		r->out_granted = rpc->msgout.granted;
		r->out_seg = rpc->msgout.seg_size;
		r->out_left_end = rpc->msgout.left_end;
		r->error = rpc->error;
	}
	spin_unlock_bh(&hsk->lock);
}

static void homa_test_get_sock(struct homa_sock *hsk,
			       struct homa_test_sock *s)
{
	struct list_head *pos;

	memset(s, 0, sizeof(*s));
	spin_lock_bh(&hsk->lock);
	s->num_rpcs = hsk->num_rpcs;
	list_for_each(pos, &hsk->ready_rpcs)
		s->ready++;
	list_for_each(pos, &hsk->buf_waiters)
		s->buf_waiters++;
	s->ready_seq = hsk->ready_seq;
	s->wmem_queued = hsk->wmem_queued;
	spin_unlock_bh(&hsk->lock);
}

static int homa_test_num_rpcs(struct homa_sock *hsk)
{
	struct homa_test_sock s;

	homa_test_get_sock(hsk, &s);
	return s.num_rpcs;
}

/* The namespace's incoming budget: bytes charged and messages charged. */
static void homa_test_get_grant(struct homa_test_ctx *ctx, int *total,
				int *num_charged)
{
	struct homa_grant *g = &ctx->hn->grant;

	spin_lock_bh(&g->lock);
	*total = g->total_incoming;
	*num_charged = g->num_charged;
	spin_unlock_bh(&g->lock);
}

static void homa_test_expect_budget(struct homa_test_ctx *ctx, int total,
				    int num_charged)
{
	int t, n;

	homa_test_get_grant(ctx, &t, &n);
	KUNIT_EXPECT_EQ(ctx->test, t, total);
	KUNIT_EXPECT_EQ(ctx->test, n, num_charged);
}

static int homa_test_setsockopt(struct socket *sock, int optname,
				void *val, unsigned int len)
{
	return sock->ops->setsockopt(sock, IPPROTO_HOMA, optname,
				     KERNEL_SOCKPTR(val), len);
}

/* Register a receive buffer region with SO_HOMA_RCVBUF. */
static void homa_test_set_region(struct homa_test_ctx *ctx,
				 struct socket *sock)
{
	struct homa_rcvbuf_args args = {
		.start = HOMA_TEST_REGION,
		.length = (u64)HOMA_TEST_REGION_BPAGES << HOMA_BPAGE_SHIFT,
	};

	KUNIT_ASSERT_EQ(ctx->test,
			homa_test_setsockopt(sock, SO_HOMA_RCVBUF, &args,
					     sizeof(args)), 0);
	homa_test_settle(ctx);
}

static struct socket *homa_test_socket(u16 port)
{
	struct sockaddr_in addr;
	struct socket *sock;

	if (sock_create_kern(&init_net, AF_INET, SOCK_DGRAM, IPPROTO_HOMA,
			     &sock))
		return NULL;
	if (port) {
		memset(&addr, 0, sizeof(addr));
		addr.sin_family = AF_INET;
		addr.sin_port = htons(port);
		if (kernel_bind(sock, (struct sockaddr *)&addr, sizeof(addr))) {
			sock_release(sock);
			return NULL;
		}
	}
	return sock;
}

/* Create ctx->extra_sock (automatic port, not a server); released when
 * the test ends.
 */
static struct homa_sock *homa_test_extra_socket(struct homa_test_ctx *ctx)
{
	ctx->extra_sock = homa_test_socket(0);
	KUNIT_ASSERT_NOT_NULL(ctx->test, ctx->extra_sock);
	return homa_sk(ctx->extra_sock->sk);
}

/* Do to server RPC @id what a recvmsg of its (complete) request and then
 * a sendmsg of a @len-byte response would do, without user memory:
 * claim the request (homa_wait_for_message()), hand its buffers to the
 * application and move it to HOMA_RPC_IN_SERVICE (homa_sk_recvmsg()),
 * then attach the response and send what unscheduled bytes allow
 * (homa_sk_sendmsg()).
 */
static void homa_test_respond(struct homa_test_ctx *ctx, u64 id, int len)
{
	struct homa_sock *hsk = ctx->server;
	struct kunit *test = ctx->test;
	struct homa_rpc *rpc;
	int i, err = -ENOENT;
	u8 *buf;

	buf = kvmalloc(len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < len; i++)
		buf[i] = homa_test_byte(i);

	spin_lock_bh(&hsk->lock);
	rpc = homa_rpc_find_server(hsk, NULL, 0, id);
	if (rpc && rpc->state == HOMA_RPC_INCOMING &&
	    (rpc->flags & HOMA_RPC_F_READY)) {
		rpc->flags |= HOMA_RPC_F_CLAIMED;
		list_del_init(&rpc->ready_links);
		rpc->state = HOMA_RPC_IN_SERVICE;
		rpc->flags &= ~HOMA_RPC_F_BUFS;
		skb_queue_purge(&rpc->msgin.packets);

		rpc->state = HOMA_RPC_OUTGOING;
		err = homa_msgout_init(rpc, buf, len);
		buf = NULL;
		if (!err)
			homa_xmit_data(rpc);
	}
	spin_unlock_bh(&hsk->lock);
	kvfree(buf);
	KUNIT_ASSERT_EQ(test, err, 0);
	homa_test_settle(ctx);
}

static void homa_test_msgin_reset(struct homa_msgin *m, int length)
{
	struct homa_gap *gap, *next;

	list_for_each_entry_safe(gap, next, &m->gaps, links)
		kfree(gap);
	memset(m, 0, sizeof(*m));
	m->length = length;
	m->bytes_remaining = length;
	INIT_LIST_HEAD(&m->gaps);
	skb_queue_head_init(&m->packets);
}

/* Expect @m to have @n gaps, sorted and disjoint, and if @ranges is not
 * NULL, to be exactly [ranges[2i], ranges[2i + 1]).
 */
static void homa_test_expect_gaps(struct kunit *test, struct homa_msgin *m,
				  const u32 *ranges, int n)
{
	struct homa_gap *gap;
	u32 prev_end = 0;
	int i = 0;

	KUNIT_EXPECT_EQ(test, m->num_gaps, n);
	list_for_each_entry(gap, &m->gaps, links) {
		KUNIT_EXPECT_LE_MSG(test, prev_end, gap->start, "gap %d", i);
		KUNIT_EXPECT_LT_MSG(test, gap->start, gap->end, "gap %d", i);
		KUNIT_EXPECT_LE_MSG(test, gap->end, m->recv_end, "gap %d", i);
		prev_end = gap->end;
		if (ranges && i < n) {
			KUNIT_EXPECT_EQ_MSG(test, gap->start, ranges[2 * i],
					    "gap %d", i);
			KUNIT_EXPECT_EQ_MSG(test, gap->end, ranges[2 * i + 1],
					    "gap %d", i);
		}
		i++;
	}
	KUNIT_EXPECT_EQ(test, i, n);
}

/* The test that keeps DATA in this host (homa_test_hold()), if any. */
static struct homa_test_ctx *homa_test_holder;

/* Output of the loopback peer's route while a test holds DATA: keeps
 * outgoing Homa DATA packets in ctx->held, as a qdisc or device queue in
 * front of a busy link would; everything else goes on to ip_output().
 */
static int homa_test_hold_output(struct net *net, struct sock *sk,
				 struct sk_buff *skb)
{
	struct homa_test_ctx *ctx = READ_ONCE(homa_test_holder);
	const struct homa_common_hdr *h;

	h = (const struct homa_common_hdr *)skb_transport_header(skb);
	if (ctx && READ_ONCE(ctx->holding) && h->type == HOMA_PKT_DATA) {
		skb_queue_tail(&ctx->held, skb);
		return 0;
	}
	return ip_output(net, sk, skb);
}

/* Start (@on) or stop keeping outgoing DATA to 127.0.0.1 in this host.
 * The first call gives the loopback peer a copy of its route whose
 * output is homa_test_hold_output(); homa_test_unhold() puts the
 * peer's own route back.
 */
static void homa_test_hold(struct homa_test_ctx *ctx, bool on)
{
	struct kunit *test = ctx->test;
	struct homa_peer *peer;
	struct dst_entry *dst;
	struct in6_addr lo;
	struct flowi fl;
	struct rtable *rt;

	if (ctx->hold_peer || !on) {
		WRITE_ONCE(ctx->holding, on);
		return;
	}
	ipv6_addr_set_v4mapped(htonl(INADDR_LOOPBACK), &lo);
	rcu_read_lock();
	peer = homa_peer_get(ctx->hn, &lo);
	rcu_read_unlock();
	KUNIT_ASSERT_FALSE(test, IS_ERR(peer));
	dst = homa_peer_dst(peer, &ctx->server->inet.sk, &fl);
	KUNIT_ASSERT_FALSE(test, IS_ERR(dst));
	rt = rt_dst_clone(dst->dev, container_of(dst, struct rtable, dst));
	dst_release(dst);
	KUNIT_ASSERT_NOT_NULL(test, rt);
	rt->dst.output = homa_test_hold_output;
	ctx->hold_rt = rt;
	WRITE_ONCE(homa_test_holder, ctx);
	WRITE_ONCE(ctx->holding, true);
	spin_lock_bh(&peer->lock);
	ctx->saved_dst = peer->dst;
	peer->dst = &rt->dst;
	spin_unlock_bh(&peer->lock);
	ctx->hold_peer = peer;
}

/* Give the loopback peer its own route back (the copy goes when the last
 * packet that uses it does).
 */
static void homa_test_unhold(struct homa_test_ctx *ctx)
{
	struct homa_peer *peer = ctx->hold_peer;
	struct dst_entry *put;

	WRITE_ONCE(homa_test_holder, NULL);
	WRITE_ONCE(ctx->holding, false);
	spin_lock_bh(&peer->lock);
	if (peer->dst == &ctx->hold_rt->dst) {
		put = peer->dst;
		peer->dst = ctx->saved_dst;
	} else {
		/* The peer found the copy stale and routed again. */
		put = ctx->saved_dst;
	}
	spin_unlock_bh(&peer->lock);
	dst_release(put);
	ctx->hold_peer = NULL;
}

static int homa_rpc_test_init(struct kunit *test)
{
	struct homa_test_ctx *ctx;
	struct homa_peer *peer;
	enum homa_metric m;
	struct in6_addr lo;
	int err;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	test->priv = ctx;
	ctx->test = test;
	skb_queue_head_init(&ctx->captured);
	skb_queue_head_init(&ctx->held);
	atomic_set(&ctx->tx_packets, 0);
	atomic_set(&ctx->rx_packets, 0);
	atomic_set(&ctx->tap_lost, 0);
	atomic_set(&ctx->holed, 0);
	INIT_LIST_HEAD(&ctx->msgin.gaps);
	skb_queue_head_init(&ctx->msgin.packets);

	ctx->server_sock = homa_test_socket(HOMA_TEST_SERVER_PORT);
	if (!ctx->server_sock)
		return -EADDRINUSE;
	ctx->client_sock = homa_test_socket(0);
	if (!ctx->client_sock)
		return -ENOMEM;
	ctx->server = homa_sk(ctx->server_sock->sk);
	ctx->client = homa_sk(ctx->client_sock->sk);
	ctx->client_port = READ_ONCE(ctx->client->port);
	/* homa_net(&init_net) would need homa_net_id; any socket has it. */
	ctx->hn = ctx->server->hnet;
	ctx->saved_params = ctx->hn->params;
	/* Time stands still unless a test steps it (homa_test_ticks()). */
	homa_timer_stop(ctx->hn);
	ctx->timer_stopped = true;
	/* Nor do the receive-backlog notes of earlier ticks: the tests
	 * write those they need (homa_rx_clock_sample()).
	 */
	memset(ctx->hn->timer.rx_slot_tick, 0,
	       sizeof(ctx->hn->timer.rx_slot_tick));
	WRITE_ONCE(ctx->hn->timer.rx_lag, 0);
	/* Peers outlive tests: forget what earlier ones taught the
	 * loopback peer about its answer time.
	 */
	ipv6_addr_set_v4mapped(htonl(INADDR_LOOPBACK), &lo);
	rcu_read_lock();
	peer = homa_peer_get(ctx->hn, &lo);
	if (!IS_ERR(peer))
		WRITE_ONCE(peer->answer_ticks, 0);
	rcu_read_unlock();

	ctx->tap.type = htons(ETH_P_ALL);
	ctx->tap.dev = init_net.loopback_dev;
	ctx->tap.func = homa_test_tap_rcv;
	dev_add_pack(&ctx->tap);
	ctx->tap_added = true;
	rtnl_lock();
	err = netdev_rx_handler_register(init_net.loopback_dev,
					 homa_test_hole, ctx);
	rtnl_unlock();
	if (err)
		return err;
	ctx->hole_added = true;

	for (m = 0; m < HOMA_NUM_METRICS; m++)
		ctx->base[m] = homa_test_metric(ctx->hn, m);
	return 0;
}

static void homa_rpc_test_exit(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_gap *gap, *next;

	if (!ctx)
		return;
	homa_test_settle(ctx);
	if (ctx->extra_sock)
		sock_release(ctx->extra_sock);
	if (ctx->client_sock)
		sock_release(ctx->client_sock);
	if (ctx->server_sock)
		sock_release(ctx->server_sock);
	if (ctx->hn)
		ctx->hn->params = ctx->saved_params;
	if (ctx->timer_stopped)
		homa_timer_start(ctx->hn);
	if (ctx->tap_added) {
		homa_test_settle(ctx);
		/* Waits (synchronize_net()) for tap calls in progress. */
		dev_remove_pack(&ctx->tap);
		ctx->tap_added = false;
		KUNIT_EXPECT_EQ(test, atomic_read(&ctx->tap_lost), 0);
	}
	if (ctx->hole_added) {
		/* Waits (synchronize_net()) for handler calls in progress. */
		rtnl_lock();
		netdev_rx_handler_unregister(init_net.loopback_dev);
		rtnl_unlock();
		ctx->hole_added = false;
	}
	if (ctx->hold_peer)
		homa_test_unhold(ctx);
	/* Last: a held packet may keep its RPC, and its socket's memory,
	 * alive after the socket was released (homa_data_wfree()).
	 */
	skb_queue_purge(&ctx->held);
	skb_queue_purge(&ctx->captured);
	list_for_each_entry_safe(gap, next, &ctx->msgin.gaps, links)
		kfree(gap);
	INIT_LIST_HEAD(&ctx->msgin.gaps);
}

/* Reassembly: packets in order, out of order, exact duplicates, overlaps,
 * and filling a gap at its start, its end, in its middle (a split) and
 * exactly.
 */
static void homa_rpc_test_msgin_add(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_msgin *m = &ctx->msgin;

	homa_test_msgin_reset(m, 5000);

	/* In order. */
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, 0, 1000));
	KUNIT_EXPECT_EQ(test, m->recv_end, 1000);
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, 1000, 2000));
	KUNIT_EXPECT_EQ(test, m->recv_end, 2000);
	homa_test_expect_gaps(test, m, NULL, 0);

	/* Out of order: a gap opens. */
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, 3000, 4000));
	KUNIT_EXPECT_EQ(test, m->recv_end, 4000);
	homa_test_expect_gaps(test, m, (const u32[]){ 2000, 3000 }, 1);

	/* Exact duplicates, above and below the gap. */
	KUNIT_EXPECT_FALSE(test, homa_msgin_add(m, 3000, 4000));
	KUNIT_EXPECT_FALSE(test, homa_msgin_add(m, 0, 1000));
	KUNIT_EXPECT_FALSE(test, homa_msgin_add(m, 1000, 2000));

	/* Overlaps: received bytes and the gap, the gap and received
	 * bytes, received bytes and new ones.
	 */
	KUNIT_EXPECT_FALSE(test, homa_msgin_add(m, 1500, 2500));
	KUNIT_EXPECT_FALSE(test, homa_msgin_add(m, 2500, 3500));
	KUNIT_EXPECT_FALSE(test, homa_msgin_add(m, 1500, 3500));
	KUNIT_EXPECT_FALSE(test, homa_msgin_add(m, 3500, 4500));
	KUNIT_EXPECT_EQ(test, m->recv_end, 4000);
	homa_test_expect_gaps(test, m, (const u32[]){ 2000, 3000 }, 1);

	/* The middle of the gap: it splits in two. */
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, 2200, 2400));
	homa_test_expect_gaps(test, m,
			      (const u32[]){ 2000, 2200, 2400, 3000 }, 2);
	KUNIT_EXPECT_FALSE(test, homa_msgin_add(m, 2200, 2400));
	KUNIT_EXPECT_FALSE(test, homa_msgin_add(m, 2100, 2300));

	/* Exactly the first gap: it goes. */
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, 2000, 2200));
	homa_test_expect_gaps(test, m, (const u32[]){ 2400, 3000 }, 1);

	/* Its start, then its end, then what is left. */
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, 2400, 2600));
	homa_test_expect_gaps(test, m, (const u32[]){ 2600, 3000 }, 1);
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, 2800, 3000));
	homa_test_expect_gaps(test, m, (const u32[]){ 2600, 2800 }, 1);
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, 2600, 2800));
	homa_test_expect_gaps(test, m, NULL, 0);

	/* The rest of the message. */
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, 4000, 5000));
	KUNIT_EXPECT_EQ(test, m->recv_end, 5000);
	KUNIT_EXPECT_FALSE(test, homa_msgin_add(m, 4999, 5000));
	KUNIT_EXPECT_FALSE(test, homa_msgin_add(m, 0, 5000));
	homa_test_expect_gaps(test, m, NULL, 0);
}

/* HOMA_MAX_GAPS: packets that would open or split a gap beyond the limit
 * are refused; those that close, shrink or extend nothing still count.
 */
static void homa_rpc_test_msgin_add_max_gaps(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_msgin *m = &ctx->msgin;
	const u32 end = 4 * HOMA_MAX_GAPS;
	struct homa_gap *gap;
	u32 i;

	homa_test_msgin_reset(m, HOMA_MAX_MESSAGE_LENGTH);

	/* Gaps [4i, 4i + 3) with one received byte after each. */
	for (i = 0; i < HOMA_MAX_GAPS; i++)
		KUNIT_ASSERT_TRUE(test, homa_msgin_add(m, 4 * i + 3, 4 * i + 4));
	KUNIT_ASSERT_EQ(test, m->num_gaps, HOMA_MAX_GAPS);
	KUNIT_EXPECT_EQ(test, m->recv_end, end);

	/* A new gap beyond recv_end: refused, nothing changes. */
	KUNIT_EXPECT_FALSE(test, homa_msgin_add(m, end + 3, end + 4));
	KUNIT_EXPECT_EQ(test, m->recv_end, end);
	KUNIT_EXPECT_EQ(test, m->num_gaps, HOMA_MAX_GAPS);

	/* Bytes right at recv_end open no gap. */
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, end, end + 4));
	KUNIT_EXPECT_EQ(test, m->recv_end, end + 4);

	/* Splitting a gap: refused. */
	KUNIT_EXPECT_FALSE(test, homa_msgin_add(m, 1, 2));
	KUNIT_EXPECT_EQ(test, m->num_gaps, HOMA_MAX_GAPS);
	gap = list_first_entry(&m->gaps, struct homa_gap, links);
	KUNIT_EXPECT_EQ(test, gap->start, 0);
	KUNIT_EXPECT_EQ(test, gap->end, 3);

	/* Shrinking a gap at either end is fine. */
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, 0, 1));
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, 2, 3));
	KUNIT_EXPECT_EQ(test, m->num_gaps, HOMA_MAX_GAPS);

	/* Closing one makes room for one more. */
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, 1, 2));
	KUNIT_EXPECT_EQ(test, m->num_gaps, HOMA_MAX_GAPS - 1);
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, 5, 6));
	KUNIT_EXPECT_EQ(test, m->num_gaps, HOMA_MAX_GAPS);
	homa_test_expect_gaps(test, m, NULL, HOMA_MAX_GAPS);
	KUNIT_EXPECT_FALSE(test, homa_msgin_add(m, end + 100, end + 101));
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, 4, 5));
	KUNIT_EXPECT_TRUE(test, homa_msgin_add(m, end + 100, end + 101));
	KUNIT_EXPECT_EQ(test, m->num_gaps, HOMA_MAX_GAPS);
	KUNIT_EXPECT_EQ(test, m->recv_end, end + 101);
	gap = list_first_entry(&m->gaps, struct homa_gap, links);
	KUNIT_EXPECT_EQ(test, gap->start, 6);
	KUNIT_EXPECT_EQ(test, gap->end, 7);
	gap = list_last_entry(&m->gaps, struct homa_gap, links);
	KUNIT_EXPECT_EQ(test, gap->start, end + 4);
	KUNIT_EXPECT_EQ(test, gap->end, end + 100);
}

/* At most once: a retransmitted single-packet request does not make a
 * second RPC, and the message becomes ready only once.
 */
static void homa_rpc_test_dup_request(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_test_sock s;
	struct homa_test_rpc r;

	homa_test_set_region(ctx, ctx->server_sock);
	homa_test_request(ctx, 1000, 100, 100, 0, 100);
	homa_test_get_sock(ctx->server, &s);
	KUNIT_EXPECT_EQ(test, s.num_rpcs, 1);
	KUNIT_EXPECT_EQ(test, s.ready, 1);
	KUNIT_EXPECT_EQ(test, s.ready_seq, 1);
	homa_test_get_rpc(ctx->server, 1001, &r);
	KUNIT_ASSERT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, r.state, HOMA_RPC_INCOMING);
	KUNIT_EXPECT_EQ(test, r.flags, HOMA_RPC_F_READY | HOMA_RPC_F_BUFS);
	KUNIT_EXPECT_EQ(test, r.in_length, 100);
	KUNIT_EXPECT_EQ(test, r.in_remaining, 0);
	KUNIT_EXPECT_EQ(test, r.in_pkts, 1);
	KUNIT_EXPECT_EQ(test, r.in_charged, 0);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_SERVER_RPCS), 1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_DUP),
			0);

	homa_test_request(ctx, 1000, 100, 100, 0, 100);
	homa_test_get_sock(ctx->server, &s);
	KUNIT_EXPECT_EQ(test, s.num_rpcs, 1);
	KUNIT_EXPECT_EQ(test, s.ready, 1);
	KUNIT_EXPECT_EQ(test, s.ready_seq, 1);
	homa_test_get_rpc(ctx->server, 1001, &r);
	KUNIT_EXPECT_EQ(test, r.in_pkts, 1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_SERVER_RPCS), 1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_DUP),
			1);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_RCVD +
					HOMA_PKT_DATA - HOMA_PKT_MIN_TYPE), 2);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 0);
}

/* A three-packet request arriving last packet first is reassembled and
 * becomes ready exactly once.
 */
static void homa_rpc_test_reversed_packets(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_test_sock s;
	struct homa_test_rpc r;

	homa_test_set_region(ctx, ctx->server_sock);
	homa_test_request(ctx, 1100, 3000, 3000, 2000, 1000);
	homa_test_get_rpc(ctx->server, 1101, &r);
	KUNIT_ASSERT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, r.flags, HOMA_RPC_F_BUFS);
	KUNIT_EXPECT_EQ(test, r.in_remaining, 2000);
	KUNIT_EXPECT_EQ(test, r.in_recv_end, 3000);
	KUNIT_EXPECT_EQ(test, r.in_gaps, 1);

	homa_test_request(ctx, 1100, 3000, 3000, 1000, 1000);
	homa_test_get_rpc(ctx->server, 1101, &r);
	KUNIT_EXPECT_EQ(test, r.flags, HOMA_RPC_F_BUFS);
	KUNIT_EXPECT_EQ(test, r.in_remaining, 1000);
	KUNIT_EXPECT_EQ(test, r.in_gaps, 1);
	homa_test_get_sock(ctx->server, &s);
	KUNIT_EXPECT_EQ(test, s.ready, 0);
	KUNIT_EXPECT_EQ(test, s.ready_seq, 0);

	homa_test_request(ctx, 1100, 3000, 3000, 0, 1000);
	homa_test_get_rpc(ctx->server, 1101, &r);
	KUNIT_EXPECT_EQ(test, r.state, HOMA_RPC_INCOMING);
	KUNIT_EXPECT_EQ(test, r.flags, HOMA_RPC_F_READY | HOMA_RPC_F_BUFS);
	KUNIT_EXPECT_EQ(test, r.in_remaining, 0);
	KUNIT_EXPECT_EQ(test, r.in_recv_end, 3000);
	KUNIT_EXPECT_EQ(test, r.in_gaps, 0);
	KUNIT_EXPECT_EQ(test, r.in_pkts, 3);
	KUNIT_EXPECT_EQ(test, r.pkt_offset[0], 2000);
	KUNIT_EXPECT_EQ(test, r.pkt_offset[1], 1000);
	KUNIT_EXPECT_EQ(test, r.pkt_offset[2], 0);
	KUNIT_EXPECT_EQ(test, r.pkt_len[0], 1000);
	KUNIT_EXPECT_EQ(test, r.pkt_len[1], 1000);
	KUNIT_EXPECT_EQ(test, r.pkt_len[2], 1000);
	homa_test_get_sock(ctx->server, &s);
	KUNIT_EXPECT_EQ(test, s.num_rpcs, 1);
	KUNIT_EXPECT_EQ(test, s.ready, 1);
	KUNIT_EXPECT_EQ(test, s.ready_seq, 1);

	/* A late duplicate changes nothing. */
	homa_test_request(ctx, 1100, 3000, 3000, 1000, 1000);
	homa_test_get_rpc(ctx->server, 1101, &r);
	KUNIT_EXPECT_EQ(test, r.in_pkts, 3);
	homa_test_get_sock(ctx->server, &s);
	KUNIT_EXPECT_EQ(test, s.num_rpcs, 1);
	KUNIT_EXPECT_EQ(test, s.ready, 1);
	KUNIT_EXPECT_EQ(test, s.ready_seq, 1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_SERVER_RPCS), 1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_DUP),
			1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 0);
}

/* DATA whose message_length disagrees with the first packet's, or whose
 * segment does not fit its message, is dropped as bad data.
 */
static void homa_rpc_test_bad_data(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_test_rpc r;

	homa_test_request(ctx, 1200, 3000, 3000, 0, 1000);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_BUFFER_STALLS), 1);

	/* message_length 4000 instead of 3000. */
	homa_test_request(ctx, 1200, 4000, 3000, 1000, 1000);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_BAD_DATA), 1);
	homa_test_get_rpc(ctx->server, 1201, &r);
	KUNIT_ASSERT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, r.in_length, 3000);
	KUNIT_EXPECT_EQ(test, r.in_remaining, 2000);
	KUNIT_EXPECT_EQ(test, r.in_recv_end, 1000);
	KUNIT_EXPECT_EQ(test, r.in_pkts, 1);

	/* A segment running past the end of the message. */
	homa_test_request(ctx, 1200, 3000, 3000, 2500, 1000);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_BAD_DATA), 2);

	/* A message longer than HOMA_MAX_MESSAGE_LENGTH, for a new RPC. */
	homa_test_request(ctx, 1202, HOMA_MAX_MESSAGE_LENGTH + 1, 3000, 0,
			  1000);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_BAD_DATA), 3);

	homa_test_get_rpc(ctx->server, 1201, &r);
	KUNIT_EXPECT_EQ(test, r.in_remaining, 2000);
	KUNIT_EXPECT_EQ(test, r.in_pkts, 1);
	homa_test_get_rpc(ctx->server, 1203, &r);
	KUNIT_EXPECT_FALSE(test, r.found);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_SERVER_RPCS), 1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_DUP),
			0);
}

/* Check captured packet @n: an ICMP port unreachable about a Homa packet
 * of type @type that RPC @id sent from port @sport to port @dport.
 */
static void homa_test_expect_icmp(struct homa_test_ctx *ctx, unsigned int n,
				  u8 type, u16 sport, u16 dport, u64 id)
{
	struct sk_buff *skb = homa_test_nth(ctx, n);
	const struct homa_common_hdr *h;
	struct kunit *test = ctx->test;
	const struct iphdr *iph, *inner;
	const struct icmphdr *icmph;
	unsigned int off;

	iph = (const struct iphdr *)skb->data;
	KUNIT_ASSERT_EQ(test, iph->protocol, IPPROTO_ICMP);
	KUNIT_EXPECT_EQ(test, ntohl(iph->daddr), INADDR_LOOPBACK);
	off = iph->ihl * 4;
	KUNIT_ASSERT_GE(test, skb->len, off + sizeof(*icmph) + sizeof(*inner));
	icmph = (const struct icmphdr *)(skb->data + off);
	KUNIT_EXPECT_EQ(test, icmph->type, ICMP_DEST_UNREACH);
	KUNIT_EXPECT_EQ(test, icmph->code, ICMP_PORT_UNREACH);
	off += sizeof(*icmph);
	inner = (const struct iphdr *)(skb->data + off);
	KUNIT_EXPECT_EQ(test, inner->protocol, IPPROTO_HOMA);
	off += inner->ihl * 4;
	KUNIT_ASSERT_GE(test, skb->len, off + sizeof(*h));
	h = (const struct homa_common_hdr *)(skb->data + off);
	KUNIT_EXPECT_EQ(test, h->type, type);
	KUNIT_EXPECT_EQ(test, ntohs(h->sport), sport);
	KUNIT_EXPECT_EQ(test, ntohs(h->dport), dport);
	KUNIT_EXPECT_EQ(test, be64_to_cpu(h->sender_id), id);
}

/* A request for a socket that is not a server (no bound port, no
 * SO_HOMA_SERVER) makes no RPC and is answered with ICMP port
 * unreachable; so is one for a port no socket has. SO_HOMA_SERVER makes
 * the socket accept requests.
 */
static void homa_rpc_test_no_server(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_sock *hsk = homa_test_extra_socket(ctx);
	u16 port = READ_ONCE(hsk->port);
	struct homa_test_rpc r;
	int one = 1;

	KUNIT_ASSERT_GE(test, port, HOMA_MIN_DEFAULT_PORT);
	homa_test_data(ctx, ctx->client_port, port, 1300, 100, 100, 0, 100);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(hsk), 0);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_NO_SERVER),
			1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_SERVER_RPCS), 0);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 1);
	homa_test_expect_icmp(ctx, 0, HOMA_PKT_DATA, ctx->client_port, port,
			      1300);

	/* No socket at all. */
	homa_test_data(ctx, ctx->client_port, HOMA_TEST_FREE_PORT, 1302, 100,
		       100, 0, 100);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_NO_SOCKET),
			1);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 2);
	homa_test_expect_icmp(ctx, 1, HOMA_PKT_DATA, ctx->client_port,
			      HOMA_TEST_FREE_PORT, 1302);

	/* SO_HOMA_SERVER: now the request makes an RPC, silently. */
	KUNIT_ASSERT_EQ(test, homa_test_setsockopt(ctx->extra_sock,
						   SO_HOMA_SERVER, &one,
						   sizeof(one)), 0);
	homa_test_data(ctx, ctx->client_port, port, 1300, 100, 100, 0, 100);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(hsk), 1);
	homa_test_get_rpc(hsk, 1301, &r);
	KUNIT_EXPECT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, r.in_remaining, 0);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_NO_SERVER),
			1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_SERVER_RPCS), 1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 2);
}

/* Set the parameters the grant tests depend on. */
static void homa_test_grant_params(struct homa_test_ctx *ctx,
				   int max_incoming)
{
	int total, n;

	homa_test_get_grant(ctx, &total, &n);
	KUNIT_ASSERT_EQ_MSG(ctx->test, total, 0,
			    "init_net has incoming messages already");
	KUNIT_ASSERT_EQ(ctx->test, n, 0);
	WRITE_ONCE(ctx->hn->params.window, 0);
	WRITE_ONCE(ctx->hn->params.max_incoming, max_incoming);
}

/* Grants: the first packet of a 200000-byte request (incoming 40000) gets
 * a GRANT up to received + window; a second such request gets none while
 * the bytes expected would exceed max_incoming, and waits; both are
 * granted once there is budget again.
 */
static void homa_rpc_test_grant_window(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_test_rpc r;

	homa_test_grant_params(ctx, 100000);
	WRITE_ONCE(ctx->hn->params.window, 80000);
	homa_test_set_region(ctx, ctx->server_sock);

	/* A: window 80000, target min(200000, 1000 + 80000) = 81000, well
	 * within the budget.
	 */
	homa_test_request(ctx, 2000, 200000, 40000, 0, 1000);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 1);
	homa_test_expect_grant(ctx, 0, 2001, 81000);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_GRANTS_SENT), 1);
	homa_test_get_rpc(ctx->server, 2001, &r);
	KUNIT_EXPECT_EQ(test, r.in_granted, 81000);
	KUNIT_EXPECT_EQ(test, r.in_charged, 80000);
	KUNIT_EXPECT_FALSE(test, r.grant_wait);
	homa_test_expect_budget(ctx, 80000, 1);

	/* B: its unscheduled 40000 bytes are coming anyway (charged 39000);
	 * more would exceed max_incoming (80000 + 39000 > 100000): no
	 * GRANT, and B waits for budget.
	 */
	homa_test_request(ctx, 2002, 200000, 40000, 0, 1000);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_GRANTS_SENT), 1);
	homa_test_get_rpc(ctx->server, 2003, &r);
	KUNIT_EXPECT_EQ(test, r.in_granted, 40000);
	KUNIT_EXPECT_EQ(test, r.in_charged, 39000);
	KUNIT_EXPECT_TRUE(test, r.grant_wait);
	homa_test_expect_budget(ctx, 119000, 2);

	/* More data for A: target 82000, but the budget caps it at
	 * 100000 - 39000 + 2000 = 63000, below what it has: no GRANT, and
	 * A waits too.
	 */
	homa_test_request(ctx, 2000, 200000, 40000, 1000, 1000);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 1);
	homa_test_get_rpc(ctx->server, 2001, &r);
	KUNIT_EXPECT_EQ(test, r.in_granted, 81000);
	KUNIT_EXPECT_EQ(test, r.in_charged, 79000);
	KUNIT_EXPECT_TRUE(test, r.grant_wait);
	homa_test_get_rpc(ctx->server, 2003, &r);
	KUNIT_EXPECT_TRUE(test, r.grant_wait);
	homa_test_expect_budget(ctx, 118000, 2);

	/* With max_incoming 400000, B's next packet gets its full window:
	 * a GRANT to 2000 + 80000 = 82000; the recheck that follows gives
	 * the waiting A its window too (2000 + 80000).
	 */
	WRITE_ONCE(ctx->hn->params.max_incoming, 400000);
	homa_test_request(ctx, 2002, 200000, 40000, 1000, 1000);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 3);
	homa_test_expect_grant(ctx, 1, 2003, 82000);
	homa_test_expect_grant(ctx, 2, 2001, 82000);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_GRANTS_SENT), 3);
	homa_test_get_rpc(ctx->server, 2003, &r);
	KUNIT_EXPECT_EQ(test, r.in_granted, 82000);
	KUNIT_EXPECT_EQ(test, r.in_charged, 80000);
	KUNIT_EXPECT_FALSE(test, r.grant_wait);
	homa_test_get_rpc(ctx->server, 2001, &r);
	KUNIT_EXPECT_EQ(test, r.in_granted, 82000);
	KUNIT_EXPECT_EQ(test, r.in_charged, 80000);
	KUNIT_EXPECT_FALSE(test, r.grant_wait);
	homa_test_expect_budget(ctx, 160000, 2);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_BUFFER_STALLS), 0);
}

/* Without receive buffers a message gets no grant beyond its unscheduled
 * bytes and waits for buffers (counted once as a stall); registering a
 * region gives it buffers and a GRANT.
 */
static void homa_rpc_test_no_buffers_no_grant(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_test_sock s;
	struct homa_test_rpc r;

	homa_test_grant_params(ctx, 400000);
	homa_test_request(ctx, 2100, 200000, 40000, 0, 1000);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 0);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_GRANTS_SENT), 0);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_BUFFER_STALLS), 1);
	homa_test_get_rpc(ctx->server, 2101, &r);
	KUNIT_ASSERT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, r.flags, 0);
	KUNIT_EXPECT_TRUE(test, r.buf_wait);
	KUNIT_EXPECT_FALSE(test, r.grant_wait);
	KUNIT_EXPECT_EQ(test, r.in_granted, 40000);
	KUNIT_EXPECT_EQ(test, r.in_charged, 39000);
	homa_test_expect_budget(ctx, 39000, 1);
	homa_test_get_sock(ctx->server, &s);
	KUNIT_EXPECT_EQ(test, s.buf_waiters, 1);
	KUNIT_EXPECT_EQ(test, s.ready, 0);

	homa_test_request(ctx, 2100, 200000, 40000, 1000, 1000);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 0);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_BUFFER_STALLS), 1);
	homa_test_get_rpc(ctx->server, 2101, &r);
	KUNIT_EXPECT_EQ(test, r.in_granted, 40000);
	KUNIT_EXPECT_EQ(test, r.in_charged, 38000);

	/* Buffers arrive: window 400000 / (1 + 1) reaches the end. */
	homa_test_set_region(ctx, ctx->server_sock);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 1);
	homa_test_expect_grant(ctx, 0, 2101, 200000);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_GRANTS_SENT), 1);
	homa_test_get_rpc(ctx->server, 2101, &r);
	KUNIT_EXPECT_EQ(test, r.flags, HOMA_RPC_F_BUFS);
	KUNIT_EXPECT_FALSE(test, r.buf_wait);
	KUNIT_EXPECT_EQ(test, r.in_granted, 200000);
	KUNIT_EXPECT_EQ(test, r.in_charged, 198000);
	homa_test_expect_budget(ctx, 198000, 1);
	homa_test_get_sock(ctx->server, &s);
	KUNIT_EXPECT_EQ(test, s.buf_waiters, 0);
}

/* ACKs: a server RPC whose whole response went out is freed by an ACK
 * naming it; an ACK claiming 6 entries is dropped, and ACKs for other
 * ids or ports (or from another client socket) change nothing. A
 * retransmitted request for an RPC in service is a duplicate; one for an
 * RPC the server does not have starts none.
 */
static void homa_rpc_test_ack(struct kunit *test)
{
	static const u64 two_acks[] = { 3002, HOMA_TEST_SERVER_PORT,
					3000, HOMA_TEST_SERVER_PORT };
	struct homa_test_ctx *ctx = test->priv;
	struct homa_test_sock s;
	struct homa_test_rpc r;
	s64 unknown;

	homa_test_set_region(ctx, ctx->server_sock);
	homa_test_request(ctx, 3000, 100, 100, 0, 100);
	homa_test_respond(ctx, 3001, 3000);

	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 1);
	homa_test_expect_data(ctx, 0, HOMA_TEST_SERVER_PORT, ctx->client_port,
			      3001, 3000, 3000, 0, 3000);
	homa_test_get_rpc(ctx->server, 3001, &r);
	KUNIT_ASSERT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, r.state, HOMA_RPC_OUTGOING);
	KUNIT_EXPECT_EQ(test, r.out_length, 3000);
	KUNIT_EXPECT_EQ(test, r.out_next, 3000);
	KUNIT_EXPECT_EQ(test, r.out_granted, 3000);
	homa_test_get_sock(ctx->server, &s);
	KUNIT_EXPECT_EQ(test, s.wmem_queued, 3000);

	/* The request again: at most once. */
	homa_test_request(ctx, 3000, 100, 100, 0, 100);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_DUP),
			1);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 1);

	/* num_acks 6: more than an ACK can hold. */
	homa_test_ack(ctx, 6, (const u64[]){ 3000, HOMA_TEST_SERVER_PORT }, 1);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_BAD_DATA), 1);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 1);

	/* Another id, another server port, no id; the same id from another
	 * client socket of the host (ids are unique per socket only).
	 */
	homa_test_ack(ctx, 1, (const u64[]){ 3002, HOMA_TEST_SERVER_PORT }, 1);
	homa_test_ack(ctx, 1, (const u64[]){ 3000, HOMA_TEST_FREE_PORT }, 1);
	homa_test_ack(ctx, 1, (const u64[]){ 0, HOMA_TEST_SERVER_PORT }, 1);
	homa_test_ack_from(ctx, HOMA_TEST_FREE_PORT, 1,
			   (const u64[]){ 3000, HOMA_TEST_SERVER_PORT }, 1);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 1);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_SERVER_RPCS_ACKED), 0);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_BAD_DATA), 1);

	/* The right one, second of two entries. */
	homa_test_ack(ctx, 2, two_acks, 2);
	homa_test_get_rpc(ctx->server, 3001, &r);
	KUNIT_EXPECT_FALSE(test, r.found);
	homa_test_get_sock(ctx->server, &s);
	KUNIT_EXPECT_EQ(test, s.num_rpcs, 0);
	KUNIT_EXPECT_EQ(test, s.wmem_queued, 0);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_SERVER_RPCS_ACKED), 1);

	/* A second ACK finds nothing. */
	homa_test_ack(ctx, 1, (const u64[]){ 3000, HOMA_TEST_SERVER_PORT }, 1);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_SERVER_RPCS_ACKED), 1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 1);

	/* A late copy of the request does not start the RPC again, but
	 * the same id from another client port is another RPC.
	 */
	homa_test_request(ctx, 3000, 100, 100, 0, 100);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_DUP),
			2);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 0);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_SERVER_RPCS), 1);
	homa_test_data(ctx, HOMA_TEST_FREE_PORT, HOMA_TEST_SERVER_PORT, 3000,
		       100, 100, 0, 100);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_SERVER_RPCS), 2);

	/* A retransmitted request packet never starts an RPC: the server
	 * asked for it, so its RPC ended here since. (The client socket
	 * dropped the response to its unknown RPC 3000 before.)
	 */
	unknown = homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC);
	homa_test_data_rt(ctx, ctx->client_port, HOMA_TEST_SERVER_PORT, 3004,
			  100, 100, 0, 100, true);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_SERVER_RPCS), 2);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC),
			unknown + 1);
}

/* A response longer than the unscheduled bytes: only those go out, an ACK
 * before the rest is sent does not free the RPC, a GRANT sends the rest
 * (a GRANT past the end sends nothing more), and then the ACK frees it.
 */
static void homa_rpc_test_grant_sends_response(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	const u32 len = 100000;
	u32 seg, unsched, off;
	struct homa_test_rpc r;
	unsigned int n;

	WRITE_ONCE(ctx->hn->params.unsched_bytes, 40000);
	WRITE_ONCE(ctx->hn->params.max_gso_size, 10000);
	/* Packet payload: the loopback MTU or max_gso_size, less the IPv4
	 * and DATA headers; unscheduled bytes round up to whole packets.
	 */
	seg = min_t(u32, init_net.loopback_dev->mtu - sizeof(struct iphdr),
		    10000) - sizeof(struct homa_data_hdr);
	unsched = DIV_ROUND_UP(40000, seg) * seg;
	KUNIT_ASSERT_LT(test, unsched, len);

	homa_test_set_region(ctx, ctx->server_sock);
	homa_test_request(ctx, 3100, 100, 100, 0, 100);
	homa_test_respond(ctx, 3101, len);
	homa_test_get_rpc(ctx->server, 3101, &r);
	KUNIT_ASSERT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, r.out_seg, seg);
	KUNIT_EXPECT_EQ(test, r.out_granted, unsched);
	KUNIT_EXPECT_EQ(test, r.out_next, unsched);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), unsched / seg);
	for (n = 0, off = 0; off < unsched; n++, off += seg)
		homa_test_expect_data(ctx, n, HOMA_TEST_SERVER_PORT,
				      ctx->client_port, 3101, len, unsched,
				      off, seg);

	homa_test_ack(ctx, 1, (const u64[]){ 3100, HOMA_TEST_SERVER_PORT }, 1);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 1);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_SERVER_RPCS_ACKED), 0);

	homa_test_grant(ctx, ctx->client_port, HOMA_TEST_SERVER_PORT, 3100,
			len);
	homa_test_get_rpc(ctx->server, 3101, &r);
	KUNIT_EXPECT_EQ(test, r.out_granted, len);
	KUNIT_EXPECT_EQ(test, r.out_next, len);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), DIV_ROUND_UP(len, seg));
	for (; off < len; n++, off += seg)
		homa_test_expect_data(ctx, n, HOMA_TEST_SERVER_PORT,
				      ctx->client_port, 3101, len, len, off,
				      min(seg, len - off));

	homa_test_grant(ctx, ctx->client_port, HOMA_TEST_SERVER_PORT, 3100,
			2 * len);
	homa_test_get_rpc(ctx->server, 3101, &r);
	KUNIT_EXPECT_EQ(test, r.out_granted, len);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), DIV_ROUND_UP(len, seg));

	homa_test_ack(ctx, 1, (const u64[]){ 3100, HOMA_TEST_SERVER_PORT }, 1);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 0);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_SERVER_RPCS_ACKED), 1);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC),
			DIV_ROUND_UP(len, seg));
}

/* GRANTs for RPCs that do not exist, or that have nothing to send, are
 * dropped as packets for unknown RPCs.
 */
static void homa_rpc_test_grant_unknown_rpc(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;

	homa_test_grant(ctx, ctx->client_port, HOMA_TEST_SERVER_PORT, 4000,
			10000);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC),
			1);

	/* A server RPC still receiving its request. */
	homa_test_request(ctx, 4002, 3000, 3000, 0, 1000);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 1);
	homa_test_grant(ctx, ctx->client_port, HOMA_TEST_SERVER_PORT, 4002,
			10000);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC),
			2);

	/* A client id on the client socket. */
	homa_test_grant(ctx, HOMA_TEST_SERVER_PORT, ctx->client_port, 4005,
			10000);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC),
			3);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_RCVD +
					HOMA_PKT_GRANT - HOMA_PKT_MIN_TYPE), 3);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 0);
}

/* A response for a client RPC the socket does not have is dropped. */
static void homa_rpc_test_client_unknown_response(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;

	homa_test_data(ctx, HOMA_TEST_SERVER_PORT, ctx->client_port, 5001, 100,
		       100, 0, 100);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC),
			1);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->client), 0);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_NO_SERVER),
			0);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 0);
}

/* The peer for 127.0.0.1, where the tests' client sockets live. */
static struct homa_peer *homa_test_lo_peer(struct homa_test_ctx *ctx)
{
	struct homa_peer *peer;
	struct in6_addr addr;

	ipv6_addr_set_v4mapped(htonl(INADDR_LOOPBACK), &addr);
	peer = homa_peer_get(ctx->hn, &addr);
	KUNIT_ASSERT_FALSE(ctx->test, IS_ERR(peer));
	return peer;
}

/* Client side, end to end over loopback: a client RPC's request reaches
 * the server socket; a response from the wrong port is dropped, and so is
 * one the socket has no room for (the RPC stays OUTGOING); the response
 * completes the RPC, which sends an ACK naming it; a duplicate response is
 * dropped and draws no second ACK.
 */
static void homa_rpc_test_client_response(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_sock *hsk = ctx->client;
	const struct homa_ack_hdr *ack;
	struct homa_peer *peer;
	struct homa_test_rpc r;
	struct homa_rpc *rpc;
	int i, err = -ENOMEM;
	int rcvbuf;
	u64 id = 0;
	u8 *buf;

	peer = homa_test_lo_peer(ctx);
	buf = kvmalloc(200, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < 200; i++)
		buf[i] = homa_test_byte(i);

	/* What homa_sk_sendmsg() does for a new request. */
	spin_lock_bh(&hsk->lock);
	rpc = homa_rpc_alloc_client(hsk, peer, HOMA_TEST_SERVER_PORT);
	if (rpc) {
		id = rpc->id;
		err = homa_msgout_init(rpc, buf, 200);
		buf = NULL;
		if (!err)
			homa_xmit_data(rpc);
	}
	spin_unlock_bh(&hsk->lock);
	kvfree(buf);
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_EXPECT_TRUE(test, homa_is_client(id));
	homa_test_settle(ctx);

	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 1);
	homa_test_expect_data(ctx, 0, ctx->client_port, HOMA_TEST_SERVER_PORT,
			      id, 200, 200, 0, 200);
	homa_test_get_rpc(ctx->server, id | 1, &r);
	KUNIT_EXPECT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, r.in_remaining, 0);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_SERVER_RPCS), 1);

	/* Right id, wrong server port. */
	homa_test_data(ctx, HOMA_TEST_FREE_PORT, ctx->client_port, id | 1, 300,
		       300, 0, 300);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC),
			1);
	homa_test_get_rpc(hsk, id, &r);
	KUNIT_EXPECT_EQ(test, r.state, HOMA_RPC_OUTGOING);
	KUNIT_EXPECT_EQ(test, r.in_length, -1);

	/* The socket holds its limit of received data (no region here, so
	 * the limit is SO_RCVBUF): the first response packet is dropped and
	 * the RPC stays OUTGOING, so its timer asks for the response again.
	 */
	rcvbuf = READ_ONCE(hsk->inet.sk.sk_rcvbuf);
	WRITE_ONCE(hsk->inet.sk.sk_rcvbuf, 0);
	homa_test_data(ctx, HOMA_TEST_SERVER_PORT, ctx->client_port, id | 1,
		       300, 300, 0, 300);
	WRITE_ONCE(hsk->inet.sk.sk_rcvbuf, rcvbuf);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_RMEM),
			1);
	homa_test_get_rpc(hsk, id, &r);
	KUNIT_EXPECT_EQ(test, r.state, HOMA_RPC_OUTGOING);
	KUNIT_EXPECT_EQ(test, r.in_length, -1);

	homa_test_data(ctx, HOMA_TEST_SERVER_PORT, ctx->client_port, id | 1,
		       300, 300, 0, 300);
	homa_test_get_rpc(hsk, id, &r);
	KUNIT_ASSERT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, r.state, HOMA_RPC_INCOMING);
	KUNIT_EXPECT_EQ(test, r.in_length, 300);
	KUNIT_EXPECT_EQ(test, r.in_remaining, 0);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 2);
	ack = homa_test_expect_ack(ctx, 1, HOMA_TEST_SERVER_PORT, id);
	for (i = 1; i < HOMA_MAX_ACKS_PER_PKT; i++)
		KUNIT_EXPECT_EQ(test, be64_to_cpu(ack->acks[i].client_id), 0);
	/* The server had not answered, so the ACK freed nothing there. */
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 1);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_SERVER_RPCS_ACKED), 0);

	homa_test_data(ctx, HOMA_TEST_SERVER_PORT, ctx->client_port, id | 1,
		       300, 300, 0, 300);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_DUP),
			1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 2);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(hsk), 1);
}

/* ---------------------------------------------------------------------
 * The timer: time is stepped by calling homa_timer_step() with the real
 * timer stopped. Parameters: first RESEND after 3 silent ticks, then every
 * 2 ticks, abort after 10, NEED_ACK after 2.
 */

static void homa_test_timer_params(struct homa_test_ctx *ctx)
{
	WRITE_ONCE(ctx->hn->params.resend_ticks, 3);
	WRITE_ONCE(ctx->hn->params.resend_interval, 2);
	WRITE_ONCE(ctx->hn->params.timeout_ticks, 10);
	WRITE_ONCE(ctx->hn->params.request_ack_ticks, 2);
}

/* Step the namespace's timer @n ticks, letting loopback traffic settle
 * after each.
 */
static void homa_test_ticks(struct homa_test_ctx *ctx, int n)
{
	while (n-- > 0) {
		homa_timer_step(ctx->hn, false);
		homa_test_settle(ctx);
	}
}

/* Step the timer @n ticks, as homa_test_ticks(), while the oldest packet
 * in this host's receive backlogs has waited @lag ticks.
 */
static void homa_test_ticks_lag(struct homa_test_ctx *ctx, int n, u32 lag)
{
	while (n-- > 0) {
		homa_timer_step(ctx->hn, lag);
		homa_test_settle(ctx);
	}
}

/* Let @n ticks pass without running the timer's work (a tick that
 * nothing was due in).
 */
static void homa_test_age(struct homa_test_ctx *ctx, u32 n)
{
	WRITE_ONCE(ctx->hn->timer.ticks, READ_ONCE(ctx->hn->timer.ticks) + n);
}

/* Inject a control packet that has only the common header. */
static void homa_test_ctl(struct homa_test_ctx *ctx, u8 type, u16 sport,
			  u16 dport, u64 sender_id)
{
	struct homa_common_hdr h;

	homa_common_hdr_init(&h, type, sport, dport, sender_id);
	homa_test_inject(ctx, &h, sizeof(h), 0, 0);
}

static void homa_test_resend(struct homa_test_ctx *ctx, u16 sport, u16 dport,
			     u64 sender_id, u32 offset, u32 length)
{
	struct homa_resend_hdr h;

	memset(&h, 0, sizeof(h));
	homa_common_hdr_init(&h.common, HOMA_PKT_RESEND, sport, dport,
			     sender_id);
	h.offset = cpu_to_be32(offset);
	h.length = cpu_to_be32(length);
	homa_test_inject(ctx, &h, sizeof(h), 0, 0);
}

/* Check captured packet @n: BUSY for RPC @id from @sport to @dport. */
static void homa_test_expect_busy(struct homa_test_ctx *ctx, unsigned int n,
				  u16 sport, u16 dport, u64 id)
{
	unsigned int len;

	homa_test_homa_pkt(ctx, n, HOMA_PKT_BUSY, sport, dport, id, &len);
	KUNIT_EXPECT_EQ(ctx->test, len, sizeof(struct homa_busy_hdr));
}

/* Inject a RESEND for bytes 0-99 of the response to client RPC @id and
 * check that the server sends the first packet (@seg payload bytes) again
 * as captured packet @n, its only retransmission since the test started.
 */
static void homa_test_resend_first(struct homa_test_ctx *ctx, u64 id,
				   unsigned int n, u32 seg)
{
	const struct homa_data_hdr *d;
	struct kunit *test = ctx->test;
	unsigned int len;

	homa_test_resend(ctx, ctx->client_port, HOMA_TEST_SERVER_PORT, id,
			 0, 100);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), n + 1);
	d = homa_test_homa_pkt(ctx, n, HOMA_PKT_DATA, HOMA_TEST_SERVER_PORT,
			       ctx->client_port, id + 1, &len);
	KUNIT_EXPECT_EQ(test, len, sizeof(*d) + seg);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(d->seg.offset), 0);
	KUNIT_EXPECT_EQ(test, d->retransmit, 1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_DATA_PKTS_RESENT),
			1);
}

/* For the tests of RESENDs to a sender: 1000 unscheduled bytes, packets
 * of at most 10000 bytes, a receive region for the server and a 100-byte
 * request from client RPC @id (the test sends the response).
 * Return: payload bytes of a full DATA packet on loopback.
 */
static u32 homa_test_resend_setup(struct homa_test_ctx *ctx, u64 id)
{
	WRITE_ONCE(ctx->hn->params.unsched_bytes, 1000);
	WRITE_ONCE(ctx->hn->params.max_gso_size, 10000);
	homa_test_set_region(ctx, ctx->server_sock);
	homa_test_request(ctx, id, 100, 100, 0, 100);
	return min_t(u32, init_net.loopback_dev->mtu - sizeof(struct iphdr),
		     10000) - sizeof(struct homa_data_hdr);
}

/* Inject a RESEND for bytes 0-99 of the response to client RPC @id and
 * check that the server answers BUSY (captured packet @n) and resends
 * nothing: since the test started, @too_soon RESENDs were for bytes too
 * young (resends_too_soon) and @resent DATA packets were resent.
 */
static void homa_test_resend_busy(struct homa_test_ctx *ctx, u64 id,
				  unsigned int n, s64 too_soon, s64 resent)
{
	struct kunit *test = ctx->test;

	homa_test_resend(ctx, ctx->client_port, HOMA_TEST_SERVER_PORT, id,
			 0, 100);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), n + 1);
	homa_test_expect_busy(ctx, n, HOMA_TEST_SERVER_PORT, ctx->client_port,
			      id + 1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_RESENDS_TOO_SOON),
			too_soon);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_DATA_PKTS_RESENT),
			resent);
}

/* Check captured RESEND @n. */
static void homa_test_expect_resend(struct homa_test_ctx *ctx, unsigned int n,
				    u16 sport, u16 dport, u64 id, u32 offset,
				    u32 length)
{
	const struct homa_resend_hdr *h;
	unsigned int len;

	h = homa_test_homa_pkt(ctx, n, HOMA_PKT_RESEND, sport, dport, id, &len);
	KUNIT_EXPECT_EQ(ctx->test, len, sizeof(*h));
	KUNIT_EXPECT_EQ(ctx->test, be32_to_cpu(h->offset), offset);
	KUNIT_EXPECT_EQ(ctx->test, be32_to_cpu(h->length), length);
}

/* With the timer parameters of these tests, the first 1000 bytes of a
 * 3000-byte request from client RPC @id at HOMA_TEST_FREE_PORT, whose
 * socket does not exist (what the server sends it vanishes).
 */
static void homa_test_silent_request(struct homa_test_ctx *ctx, u64 id)
{
	homa_test_timer_params(ctx);
	homa_test_data(ctx, HOMA_TEST_FREE_PORT, HOMA_TEST_SERVER_PORT, id,
		       3000, 3000, 0, 1000);
	KUNIT_ASSERT_EQ(ctx->test, homa_test_num_rpcs(ctx->server), 1);
}

/* A server receiving a request from a client that went silent (its port
 * has no socket, and homa_test_hole() makes RESENDs vanish): RESEND for the missing bytes after
 * resend_ticks, again every resend_interval; a packet from the client
 * restarts the count and the next RESEND asks for the remaining gap; the
 * RPC ends after timeout_ticks of silence.
 */
static void homa_rpc_test_timer_resend_timeout(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_test_rpc r;

	homa_test_silent_request(ctx, 6000);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 0);

	homa_test_ticks(ctx, 2);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 0);
	homa_test_ticks(ctx, 1);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 1);
	homa_test_expect_resend(ctx, 0, HOMA_TEST_SERVER_PORT,
				HOMA_TEST_FREE_PORT, 6001, 1000, 2000);
	homa_test_ticks(ctx, 1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 1);
	homa_test_ticks(ctx, 1);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 2);
	homa_test_expect_resend(ctx, 1, HOMA_TEST_SERVER_PORT,
				HOMA_TEST_FREE_PORT, 6001, 1000, 2000);

	/* The client answers with the last part: one gap is left. */
	homa_test_data(ctx, HOMA_TEST_FREE_PORT, HOMA_TEST_SERVER_PORT, 6000,
		       3000, 3000, 2000, 1000);
	homa_test_ticks(ctx, 2);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 2);
	homa_test_ticks(ctx, 1);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 3);
	homa_test_expect_resend(ctx, 2, HOMA_TEST_SERVER_PORT,
				HOMA_TEST_FREE_PORT, 6001, 1000, 1000);

	/* 3 silent ticks so far; the RPC ends at the 10th. */
	homa_test_ticks(ctx, 6);
	homa_test_get_rpc(ctx->server, 6001, &r);
	KUNIT_EXPECT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_RPC_TIMEOUTS), 0);
	homa_test_ticks(ctx, 1);
	homa_test_get_rpc(ctx->server, 6001, &r);
	KUNIT_EXPECT_FALSE(test, r.found);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_RPC_TIMEOUTS), 1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_PKTS_SENT +
					      HOMA_PKT_RESEND -
					      HOMA_PKT_MIN_TYPE),
			homa_test_ncaptured(ctx));
	/* Every RESEND vanished: none drew an ICMP error. */
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->holed),
			homa_test_ncaptured(ctx));
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_NO_SOCKET),
			0);
	homa_test_expect_budget(ctx, 0, 0);
}

/* The sender's side of RESEND: bytes sent before go out again marked as
 * retransmitted; a range beyond the grant acts as a grant; a RESEND that
 * asks for nothing we could send draws BUSY; an offset past the message
 * is dropped as bad data; a RESEND for an unknown RPC draws RPC_UNKNOWN.
 */
static void homa_rpc_test_timer_resend_pkt(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	const u32 len = 25000;
	struct homa_test_rpc r;
	unsigned int plen;
	u32 seg;

	seg = homa_test_resend_setup(ctx, 6100);
	homa_test_respond(ctx, 6101, len);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 1);

	/* The packet left in this tick: the RESEND was sent before it could
	 * arrive. BUSY, and it is not sent again.
	 */
	homa_test_resend_busy(ctx, 6100, 1, 1, 0);
	/* resend_ticks - 1 ticks later, still too soon. */
	homa_test_age(ctx, READ_ONCE(ctx->hn->params.resend_ticks) - 1);
	homa_test_resend_busy(ctx, 6100, 2, 2, 0);
	homa_test_age(ctx, 1);

	homa_test_resend_first(ctx, 6100, 3, seg);

	/* Beyond the grant: the next packet goes out, as for a GRANT. */
	homa_test_resend(ctx, ctx->client_port, HOMA_TEST_SERVER_PORT, 6100,
			 seg, 100);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 5);
	homa_test_expect_data(ctx, 4, HOMA_TEST_SERVER_PORT, ctx->client_port,
			      6101, len, seg + 100, seg, seg);
	homa_test_get_rpc(ctx->server, 6101, &r);
	KUNIT_EXPECT_EQ(test, r.out_granted, seg + 100);
	KUNIT_EXPECT_EQ(test, r.out_next, 2 * seg);

	/* Nothing to send: BUSY. */
	homa_test_resend(ctx, ctx->client_port, HOMA_TEST_SERVER_PORT, 6100,
			 2 * seg, 0);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 6);
	homa_test_expect_busy(ctx, 5, HOMA_TEST_SERVER_PORT, ctx->client_port,
			      6101);

	homa_test_resend(ctx, ctx->client_port, HOMA_TEST_SERVER_PORT, 6100,
			 len + 1, 10);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_BAD_DATA), 1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 6);

	homa_test_resend(ctx, ctx->client_port, HOMA_TEST_SERVER_PORT, 7000,
			 0, 100);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 7);
	homa_test_homa_pkt(ctx, 6, HOMA_PKT_RPC_UNKNOWN, HOMA_TEST_SERVER_PORT,
			   ctx->client_port, 7001, &plen);
	KUNIT_EXPECT_EQ(test, plen, sizeof(struct homa_rpc_unknown_hdr));
	/* Counted as packets for unknown RPCs: the RESEND for 7000 and, at
	 * the client socket, the three DATA packets, the three BUSYs and the
	 * RPC_UNKNOWN (none of which it answers).
	 */
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC),
			8);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_RESENDS_TOO_SOON),
			2);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 1);
}

/* A sender whose DATA is still queued in this host (kept by the route's
 * output, as a busy qdisc would) does not send it again for a RESEND,
 * however long ago it left the socket, and its RPC asks its peer nothing:
 * BUSY (resends_too_soon). Once the queue dropped the packet it counts as
 * gone from then on: a RESEND in the same tick still gets BUSY (it was
 * most likely sent before the packet could arrive), one resend_ticks
 * later the bytes; the timer then probes for a grant once the RPC is
 * silent. A packet still held when the test ends keeps the RPC alive
 * after its socket is released (KASAN checks the teardown).
 */
static void homa_rpc_test_timer_in_host(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_test_rpc r;
	u32 seg;

	homa_test_timer_params(ctx);
	seg = homa_test_resend_setup(ctx, 6400);
	homa_test_hold(ctx, true);
	homa_test_respond(ctx, 6401, 20000);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 0);
	KUNIT_ASSERT_EQ(test, skb_queue_len(&ctx->held), 1);
	homa_test_get_rpc(ctx->server, 6401, &r);
	KUNIT_EXPECT_EQ(test, r.out_next, seg);
	KUNIT_EXPECT_EQ(test, r.out_left_end, 0);

	/* Silent for almost timeout_ticks: no probe for a grant. */
	homa_test_ticks(ctx, READ_ONCE(ctx->hn->params.timeout_ticks) - 1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 0);
	homa_test_resend_busy(ctx, 6400, 0, 1, 0);

	/* The queue drops the packet: it has left this host, just now. */
	homa_test_hold(ctx, false);
	skb_queue_purge(&ctx->held);
	homa_test_get_rpc(ctx->server, 6401, &r);
	KUNIT_EXPECT_EQ(test, r.out_left_end, seg);
	homa_test_resend_busy(ctx, 6400, 1, 2, 0);
	homa_test_age(ctx, READ_ONCE(ctx->hn->params.resend_ticks));
	homa_test_resend_first(ctx, 6400, 2, seg);

	/* Silent again for resend_ticks: the timer asks for a grant (the
	 * client socket, which has no such RPC, answers RPC_UNKNOWN, and
	 * the server frees it).
	 */
	homa_test_ticks(ctx, READ_ONCE(ctx->hn->params.resend_ticks) - 1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 3);
	homa_test_ticks(ctx, 1);
	KUNIT_ASSERT_GE(test, homa_test_ncaptured(ctx), 4);
	homa_test_expect_resend(ctx, 3, HOMA_TEST_SERVER_PORT,
				ctx->client_port, 6401, seg, 0);

	/* Kept until after the sockets are released. */
	homa_test_request(ctx, 6500, 100, 100, 0, 100);
	homa_test_hold(ctx, true);
	homa_test_respond(ctx, 6501, 20000);
	KUNIT_EXPECT_EQ(test, skb_queue_len(&ctx->held), 1);
	homa_test_get_rpc(ctx->server, 6501, &r);
	KUNIT_EXPECT_EQ(test, r.out_left_end, 0);
}

/* Queue @skb in this CPU's receive backlog, as loopback and veth do; the
 * caller has bottom halves disabled, so it stays there until they are
 * enabled again. An IPv4 packet counts as one the tap will see come in.
 */
static void homa_test_backlog(struct homa_test_ctx *ctx, struct sk_buff *skb)
{
	if (skb->protocol == htons(ETH_P_IP))
		atomic_inc(&ctx->tx_packets);
	KUNIT_EXPECT_EQ(ctx->test, netif_rx(skb), NET_RX_SUCCESS);
}

/* A packet that no protocol takes (the stack drops it after the backlog). */
static struct sk_buff *homa_test_filler(struct homa_test_ctx *ctx)
{
	struct sk_buff *skb = alloc_skb(64, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(ctx->test, skb);
	skb_put_zero(skb, 46);
	skb_reset_network_header(skb);
	skb->protocol = htons(ETH_P_802_3_MIN);
	skb->pkt_type = PACKET_HOST;
	skb->dev = init_net.loopback_dev;
	return skb;
}

/* The receive-backlog clock: a packet queued in this CPU's backlog between
 * the notes of ticks 101 and 102 has, at tick 105, waited at most 4 ticks:
 * the lag, and for the packet at the head of the backlog its wait, are 4;
 * once the backlog has been processed both are 0, as they are for ticks
 * the notes no longer cover.
 */
static void homa_rpc_test_rx_clock(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_net *hn = ctx->hn;
	u32 lag, waited, late;
	struct sk_buff *skb;

	skb = homa_test_filler(ctx);
	homa_test_settle(ctx);
	local_bh_disable();
	homa_rx_clock_sample(hn, 101);
	homa_test_backlog(ctx, skb);
	homa_rx_clock_sample(hn, 102);
	lag = homa_rx_clock_lag(hn, 105);
	waited = homa_rx_clock_waited(hn, 105);
	/* Notes older than HOMA_RX_CLOCK_TICKS are not trusted: longer. */
	late = homa_rx_clock_lag(hn, 101 + HOMA_RX_CLOCK_TICKS + 5);
	local_bh_enable();
	KUNIT_EXPECT_EQ(test, lag, 4);
	KUNIT_EXPECT_EQ(test, waited, 4);
	KUNIT_EXPECT_EQ(test, late, 0);

	homa_test_settle(ctx);
	local_bh_disable();
	lag = homa_rx_clock_lag(hn, 105);
	waited = homa_rx_clock_waited(hn, 105);
	local_bh_enable();
	KUNIT_EXPECT_EQ(test, lag, 0);
	KUNIT_EXPECT_EQ(test, waited, 0);
}

/* For homa_rpc_test_timer_rx_lag(): @n ticks with a lag of 2 send nothing
 * (resends_rx_lag is @held since the test began), the next one sends
 * RESEND number @k of server RPC 6801, for bytes 1000-2999.
 */
static void homa_test_lag_round(struct homa_test_ctx *ctx, int n, s64 held,
				unsigned int k)
{
	struct kunit *test = ctx->test;

	homa_test_ticks_lag(ctx, n, 2);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), k);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_RESENDS_RX_LAG),
			held);
	homa_test_ticks_lag(ctx, 1, 2);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), k + 1);
	homa_test_expect_resend(ctx, k, HOMA_TEST_SERVER_PORT,
				HOMA_TEST_FREE_PORT, 6801, 1000, 2000);
}

/* While packets wait in this host's receive backlog, an RPC's silence
 * counts only beyond that wait: with a lag of 2 ticks the first RESEND
 * goes out at resend_ticks + 2 and the next one resend_interval + 2
 * later (resends_rx_lag counts the ticks at which it would have gone
 * out without the lag); the timeout does not wait for the lag.
 */
static void homa_rpc_test_timer_rx_lag(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_test_rpc r;

	homa_test_silent_request(ctx, 6800);
	homa_test_lag_round(ctx, 4, 2, 0);
	homa_test_lag_round(ctx, 3, 4, 1);

	/* Silent for timeout_ticks (10): the RPC ends, lag or not. */
	homa_test_ticks_lag(ctx, 1, 20);
	homa_test_get_rpc(ctx->server, 6801, &r);
	KUNIT_EXPECT_FALSE(test, r.found);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_RPC_TIMEOUTS), 1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 2);
}

/* A RESEND that waited in our receive backlog was sent when it was queued
 * there, and the bytes it asks for count as young from then: queued in the
 * tick after they left (resend_ticks + 3 ticks ago, so it waited
 * resend_ticks + 2), it draws BUSY (resends_too_soon), as does a RESEND
 * straight from the device while a packet queued in our backlogs when the
 * bytes left still waits (a peer in this host may not have them). The
 * same RESEND once nothing waits gets them.
 */
static void homa_rpc_test_timer_resend_backlog(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_resend_hdr h;
	struct sk_buff *skb;
	u32 seg, left;

	seg = homa_test_resend_setup(ctx, 6900);
	left = READ_ONCE(ctx->hn->timer.ticks);
	homa_test_respond(ctx, 6901, 25000);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 1);
	homa_test_age(ctx, READ_ONCE(ctx->hn->params.resend_ticks) + 3);

	/* Queued in the tick after the response left. */
	memset(&h, 0, sizeof(h));
	homa_common_hdr_init(&h.common, HOMA_PKT_RESEND, ctx->client_port,
			     HOMA_TEST_SERVER_PORT, 6900);
	h.offset = cpu_to_be32(0);
	h.length = cpu_to_be32(100);
	skb = homa_test_build(ctx, htonl(INADDR_LOOPBACK), &h, sizeof(h), 0, 0);
	local_bh_disable();
	homa_rx_clock_sample(ctx->hn, left + 1);
	homa_test_backlog(ctx, skb);
	homa_rx_clock_sample(ctx->hn, left + 2);
	local_bh_enable();
	homa_test_settle(ctx);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 2);
	homa_test_expect_busy(ctx, 1, HOMA_TEST_SERVER_PORT, ctx->client_port,
			      6901);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_RESENDS_TOO_SOON),
			1);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_DATA_PKTS_RESENT),
			0);

	/* The oldest packet in our backlogs was queued when they left. */
	WRITE_ONCE(ctx->hn->timer.rx_lag,
		   READ_ONCE(ctx->hn->timer.ticks) - left);
	homa_test_resend_busy(ctx, 6900, 2, 2, 0);
	WRITE_ONCE(ctx->hn->timer.rx_lag, 0);

	homa_test_resend_first(ctx, 6900, 3, seg);
}

/* Packets that leave out of order (several queues): while one below the
 * highest departed byte is still here, the bytes from the first that may
 * be it count as young however old the marks are; once it has left, the
 * marks decide again.
 */
static void homa_rpc_test_msgout_left_order(struct kunit *test)
{
	struct homa_msgout *m;

	m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m);
	spin_lock_init(&m->marks_lock);
	m->length = 5000;
	m->seg_size = 1000;
	m->next_offset = 4000;

	homa_msgout_left(m, 0, 1000, 10);
	homa_msgout_left(m, 2000, 3000, 10);
	homa_msgout_left(m, 3000, 4000, 11);
	/* 1000-2000 is still here: from 1000 on everything is young. */
	KUNIT_EXPECT_EQ(test, homa_msgout_young(m, 100, 5), 1000);
	homa_msgout_left(m, 1000, 2000, 12);
	KUNIT_EXPECT_EQ(test, homa_msgout_young(m, 100, 5), 4000);
	/* At tick 15, what left in ticks 11 and 12 is still young. */
	KUNIT_EXPECT_EQ(test, homa_msgout_young(m, 15, 5), 1000);
	KUNIT_EXPECT_EQ(test, homa_msgout_young(m, 16, 5), 1000);
	KUNIT_EXPECT_EQ(test, homa_msgout_young(m, 17, 5), 4000);
}

/* RESENDs to a peer that does not answer: while it answered everything
 * before the tick, every due RPC asks; once a RESEND of an earlier tick
 * is unanswered, only one RPC per tick asks and the others wait their
 * turn (resends_limited).
 */
static void homa_rpc_test_timer_resend_limit(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;

	homa_test_timer_params(ctx);
	/* Two requests from HOMA_TEST_FREE_PORT: RESENDs vanish. The
	 * second packet from 127.0.0.1 also makes the peer "answered".
	 */
	homa_test_data(ctx, HOMA_TEST_FREE_PORT, HOMA_TEST_SERVER_PORT, 6300,
		       3000, 3000, 0, 1000);
	homa_test_data(ctx, HOMA_TEST_FREE_PORT, HOMA_TEST_SERVER_PORT, 6302,
		       3000, 3000, 0, 1000);
	KUNIT_ASSERT_EQ(test, homa_test_num_rpcs(ctx->server), 2);
	homa_test_ticks(ctx, 3);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 2);
	homa_test_ticks(ctx, 1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 2);
	homa_test_ticks(ctx, 1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 3);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_RESENDS_LIMITED),
			1);
	homa_test_ticks(ctx, 1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 4);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_RESENDS_LIMITED),
			1);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->holed), 4);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 2);
}

/* Sender id of captured Homa packet @n (any type). */
static u64 homa_test_nth_id(struct homa_test_ctx *ctx, unsigned int n)
{
	struct sk_buff *skb = homa_test_nth(ctx, n);
	const struct homa_common_hdr *h;
	unsigned int ihl;

	ihl = ((const struct iphdr *)skb->data)->ihl * 4;
	KUNIT_ASSERT_GE(ctx->test, skb->len, ihl + sizeof(*h));
	h = (const struct homa_common_hdr *)(skb->data + ihl);
	return be64_to_cpu(h->sender_id);
}

/* Held-back RPCs take turns: with four RPCs due at a peer that answers
 * nothing, one RESEND per tick goes out and, over eight ticks, every RPC
 * gets some (the longest waiting goes next), not only the first ones of
 * the socket's list.
 */
static void homa_rpc_test_timer_resend_turns(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	unsigned int i, n, first;
	int got[4] = { 0 };
	u64 id;

	homa_test_timer_params(ctx);
	WRITE_ONCE(ctx->hn->params.timeout_ticks, 1000);
	for (i = 0; i < 4; i++)
		homa_test_data(ctx, HOMA_TEST_FREE_PORT, HOMA_TEST_SERVER_PORT,
			       6400 + 2 * i, 3000, 3000, 0, 1000);
	KUNIT_ASSERT_EQ(test, homa_test_num_rpcs(ctx->server), 4);
	/* Tick 3: all four ask (the peer answered before). */
	homa_test_ticks(ctx, 3);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 4);
	first = homa_test_ncaptured(ctx);
	homa_test_ticks(ctx, 8);
	n = homa_test_ncaptured(ctx);
	/* One per tick from the second due tick on (ticks 5..11). */
	KUNIT_EXPECT_EQ(test, n - first, 7);
	for (i = first; i < n; i++) {
		id = homa_test_nth_id(ctx, i);
		KUNIT_ASSERT_TRUE(test, id >= 6401 && id <= 6407);
		got[(id - 6401) / 2]++;
	}
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_GE_MSG(test, got[i], 1, "RPC %u never asked", i);
	KUNIT_EXPECT_GT(test, homa_test_delta(ctx, HOMA_MET_RESENDS_LIMITED),
			0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->holed), n);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 4);
}

/* Check that server RPC @id is still there after @n - 1 more ticks and
 * gone after one more, timed out: @timeouts RPC timeouts counted since the
 * test started.
 */
static void homa_test_server_times_out(struct homa_test_ctx *ctx, u64 id,
				       int n, s64 timeouts)
{
	struct homa_test_rpc r;

	homa_test_ticks(ctx, n - 1);
	homa_test_get_rpc(ctx->server, id, &r);
	KUNIT_EXPECT_TRUE(ctx->test, r.found);
	homa_test_ticks(ctx, 1);
	homa_test_get_rpc(ctx->server, id, &r);
	KUNIT_EXPECT_FALSE(ctx->test, r.found);
	KUNIT_EXPECT_EQ(ctx->test, homa_test_delta(ctx, HOMA_MET_RPC_TIMEOUTS),
			timeouts);
}

/* A server that sent its whole response asks for an ack after
 * request_ack_ticks; the client socket, which has no such RPC, acks and
 * the server RPC is freed. Without any answer the RPC ends after
 * timeout_ticks.
 */
static void homa_rpc_test_timer_need_ack(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_test_rpc r;
	unsigned int plen;

	homa_test_timer_params(ctx);
	homa_test_set_region(ctx, ctx->server_sock);
	homa_test_request(ctx, 6200, 100, 100, 0, 100);
	homa_test_respond(ctx, 6201, 500);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 1);
	homa_test_ticks(ctx, 1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 1);
	homa_test_ticks(ctx, 1);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 3);
	homa_test_homa_pkt(ctx, 1, HOMA_PKT_NEED_ACK, HOMA_TEST_SERVER_PORT,
			   ctx->client_port, 6201, &plen);
	KUNIT_EXPECT_EQ(test, plen, sizeof(struct homa_need_ack_hdr));
	homa_test_expect_ack(ctx, 2, HOMA_TEST_SERVER_PORT, 6200);
	homa_test_get_rpc(ctx->server, 6201, &r);
	KUNIT_EXPECT_FALSE(test, r.found);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_SERVER_RPCS_ACKED), 1);

	/* Timeout before the first NEED_ACK would go out. */
	WRITE_ONCE(ctx->hn->params.request_ack_ticks, 5);
	WRITE_ONCE(ctx->hn->params.timeout_ticks, 3);
	homa_test_request(ctx, 6202, 100, 100, 0, 100);
	homa_test_respond(ctx, 6203, 500);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 4);
	homa_test_server_times_out(ctx, 6203, 3, 1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 4);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 0);
}

/* Pretend the client RPC @id sent a RESEND in tick @tick (a new round). */
static void homa_test_resend_round(struct homa_test_ctx *ctx, u64 id,
				   u32 tick)
{
	struct homa_rpc *rpc;

	spin_lock_bh(&ctx->client->lock);
	rpc = homa_rpc_find_client(ctx->client, id);
	if (rpc)
		rpc->resend_tick = tick;
	spin_unlock_bh(&ctx->client->lock);
	KUNIT_ASSERT_NOT_NULL(ctx->test, rpc);
}

/* A client RPC to @dport on @peer whose @len-byte request counts as sent
 * (no packet goes out, so a port nobody has draws no ICMP error).
 * Return: its id.
 */
static u64 homa_test_client_sent(struct homa_test_ctx *ctx,
				 struct homa_peer *peer, u16 dport, int len)
{
	struct homa_sock *hsk = ctx->client;
	struct homa_rpc *rpc;
	int i, err = -ENOMEM;
	u64 id = 0;
	u8 *buf;

	buf = kvmalloc(len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(ctx->test, buf);
	for (i = 0; i < len; i++)
		buf[i] = homa_test_byte(i);
	spin_lock_bh(&hsk->lock);
	rpc = homa_rpc_alloc_client(hsk, peer, dport);
	if (rpc) {
		id = rpc->id;
		err = homa_msgout_init(rpc, buf, len);
		buf = NULL;
		/* Long gone from this host (no marks): old bytes. */
		rpc->msgout.next_offset = len;
		rpc->msgout.left_end = len;
		rpc->msgout.left_bytes = len;
		rpc->msgout.left_prefix = len;
	}
	spin_unlock_bh(&hsk->lock);
	kvfree(buf);
	KUNIT_ASSERT_EQ(ctx->test, err, 0);
	return id;
}

/* The peer's answer time. A BUSY right after the 4th RESEND of a round
 * (the answer to the latest, as far as we know: RESENDs or answers may
 * have been lost) teaches nothing; a second BUSY 6 ticks later answers an
 * earlier RESEND of the round: the peer takes at least 6 ticks. The RPC
 * then waits 6 silent ticks (not resend_ticks, 3) before it asks again,
 * and 6 ticks between RESENDs; without new samples the wait halves every
 * 2 x its value, back to the resend_interval pace. A larger sample raises
 * it, one below half of it is ignored.
 */
static void homa_rpc_test_timer_answer_wait(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_peer *peer;
	unsigned int n;
	u64 id;

	homa_test_timer_params(ctx);
	WRITE_ONCE(ctx->hn->params.timeout_ticks, 100);
	WRITE_ONCE(ctx->hn->params.unsched_bytes, 5000);
	peer = homa_test_lo_peer(ctx);
	id = homa_test_client_sent(ctx, peer, HOMA_TEST_FREE_PORT, 200);

	/* RESENDs after 3 silent ticks, then every 2: 4 in 9 ticks. */
	homa_test_ticks(ctx, 9);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 4);
	homa_test_expect_resend(ctx, 3, ctx->client_port, HOMA_TEST_FREE_PORT,
				id, 0, 5000);
	homa_test_ctl(ctx, HOMA_PKT_BUSY, HOMA_TEST_FREE_PORT,
		      ctx->client_port, id | 1);
	KUNIT_EXPECT_EQ(test, READ_ONCE(peer->answer_ticks), 0);
	homa_test_age(ctx, 6);
	homa_test_ctl(ctx, HOMA_PKT_BUSY, HOMA_TEST_FREE_PORT,
		      ctx->client_port, id | 1);
	KUNIT_EXPECT_EQ(test, READ_ONCE(peer->answer_ticks), 6);

	homa_test_ticks(ctx, 5);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 4);
	homa_test_ticks(ctx, 1);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 5);
	homa_test_expect_resend(ctx, 4, ctx->client_port, HOMA_TEST_FREE_PORT,
				id, 0, 5000);
	homa_test_ticks(ctx, 5);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 5);
	/* Ticks 12 to 24 after the BUSY: the wait is 3 from tick 12, 1
	 * from 18 and none from 20 (RESENDs at 12, 15, 18, 20, 22, 24).
	 */
	homa_test_ticks(ctx, 13);
	n = homa_test_ncaptured(ctx);
	KUNIT_EXPECT_EQ(test, n, 11);
	/* A BUSY 18 ticks after the latest RESEND: the larger sample raises
	 * the wait to 18.
	 */
	homa_test_age(ctx, 18);
	homa_test_ctl(ctx, HOMA_PKT_BUSY, HOMA_TEST_FREE_PORT,
		      ctx->client_port, id | 1);
	KUNIT_EXPECT_EQ(test, READ_ONCE(peer->answer_ticks), 18);
	homa_test_ticks(ctx, 17);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), n);
	homa_test_ticks(ctx, 1);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), n + 1);
	/* An answer 2 ticks after that RESEND is below half of 18: ignored.
	 * The RPC waits until the wait halves, 36 ticks after the sample
	 * of 18, 16 ticks after this BUSY (not 3).
	 */
	homa_test_ticks(ctx, 2);
	homa_test_ctl(ctx, HOMA_PKT_BUSY, HOMA_TEST_FREE_PORT,
		      ctx->client_port, id | 1);
	KUNIT_EXPECT_EQ(test, READ_ONCE(peer->answer_ticks), 18);
	homa_test_ticks(ctx, 15);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), n + 1);
	homa_test_ticks(ctx, 1);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), n + 2);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_RPC_TIMEOUTS), 0);
}

/* A client RPC whose server says nothing: RESEND for the start of the
 * response after resend_ticks, then the RPC fails with ETIMEDOUT (and is
 * ready for recvmsg). RPC_UNKNOWN from the server restarts another
 * client RPC (its request goes out again from byte 0), but only if it
 * answers a RESEND sent since the server last said anything about the RPC:
 * an older one is stale and dropped.
 */
static void homa_rpc_test_timer_client(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_sock *hsk = ctx->client;
	struct homa_test_rpc r;
	struct homa_peer *peer;
	struct homa_rpc *rpc;
	u64 id = 0, id2 = 0;
	int err = -ENOMEM;
	unsigned int n;
	u8 *buf2;
	int i;

	homa_test_timer_params(ctx);
	WRITE_ONCE(ctx->hn->params.unsched_bytes, 5000);
	peer = homa_test_lo_peer(ctx);
	buf2 = kvmalloc(200, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf2);
	for (i = 0; i < 200; i++)
		buf2[i] = homa_test_byte(i);

	/* A request to a port nobody has, as if sent. */
	id = homa_test_client_sent(ctx, peer, HOMA_TEST_FREE_PORT, 200);

	homa_test_ticks(ctx, 3);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 1);
	homa_test_expect_resend(ctx, 0, ctx->client_port, HOMA_TEST_FREE_PORT,
				id, 0, 5000);
	homa_test_ticks(ctx, 6);
	homa_test_get_rpc(hsk, id, &r);
	KUNIT_EXPECT_EQ(test, r.state, HOMA_RPC_OUTGOING);
	homa_test_ticks(ctx, 1);
	homa_test_get_rpc(hsk, id, &r);
	KUNIT_ASSERT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, r.state, HOMA_RPC_FAILED);
	KUNIT_EXPECT_EQ(test, r.error, ETIMEDOUT);
	KUNIT_EXPECT_TRUE(test, r.flags & HOMA_RPC_F_READY);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_RPC_TIMEOUTS), 1);
	/* A failed RPC waits for recvmsg; the timer leaves it alone. */
	homa_test_ticks(ctx, 3);
	homa_test_get_rpc(hsk, id, &r);
	KUNIT_EXPECT_EQ(test, r.state, HOMA_RPC_FAILED);

	/* Restart after RPC_UNKNOWN. So far the RPC's RESENDs alone went
	 * out, all into the hole.
	 */
	n = homa_test_ncaptured(ctx);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->holed), n);
	err = -ENOMEM;
	spin_lock_bh(&hsk->lock);
	rpc = homa_rpc_alloc_client(hsk, peer, HOMA_TEST_SERVER_PORT);
	if (rpc) {
		id2 = rpc->id;
		err = homa_msgout_init(rpc, buf2, 200);
		buf2 = NULL;
		if (!err)
			homa_xmit_data(rpc);
	}
	spin_unlock_bh(&hsk->lock);
	kvfree(buf2);
	KUNIT_ASSERT_EQ(test, err, 0);
	homa_test_settle(ctx);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), n + 1);
	homa_test_ctl(ctx, HOMA_PKT_RPC_UNKNOWN, HOMA_TEST_SERVER_PORT,
		      ctx->client_port, id2 | 1);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_CLIENT_RPC_RESTARTS), 0);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_DUP),
			1);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), n + 1);
	/* As if a RESEND had gone out this tick (the server's BUSY would
	 * answer a real one first).
	 */
	homa_test_resend_round(ctx, id2,
			       READ_ONCE(ctx->hn->timer.ticks) ? : 1);
	homa_test_ctl(ctx, HOMA_PKT_RPC_UNKNOWN, HOMA_TEST_SERVER_PORT,
		      ctx->client_port, id2 | 1);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_CLIENT_RPC_RESTARTS), 1);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), n + 2);
	homa_test_expect_data(ctx, n + 1, ctx->client_port,
			      HOMA_TEST_SERVER_PORT, id2, 200, 200, 0, 200);
	/* The server already had the request: the copy is a duplicate
	 * (the second, after the stale RPC_UNKNOWN).
	 */
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_DUP),
			2);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 1);

	/* BUSY from the server keeps the RPC alive. */
	homa_test_ticks(ctx, 9);
	homa_test_ctl(ctx, HOMA_PKT_BUSY, HOMA_TEST_SERVER_PORT,
		      ctx->client_port, id2 | 1);
	homa_test_ticks(ctx, 9);
	homa_test_get_rpc(hsk, id2, &r);
	KUNIT_EXPECT_EQ(test, r.state, HOMA_RPC_OUTGOING);
	/* Nothing to the server went into the hole. */
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->holed), n);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_NO_SOCKET),
			0);
}

/* NEED_ACK for a response the client is still receiving draws BUSY (no
 * response byte yet, or part of it), and does not restart the client's
 * silence count: its RESEND for the missing bytes goes out in the same
 * tick as without the NEED_ACK. Once the response is complete NEED_ACK
 * draws an ACK. A server whose NEED_ACKs draw BUSY keeps the RPC past
 * timeout_ticks (a live client still wants the response); when the BUSYs
 * stop, the RPC ends after timeout_ticks.
 */
static void homa_rpc_test_timer_need_ack_busy(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	unsigned int n, len, asks = 0;
	struct homa_test_rpc r;
	struct homa_peer *peer;
	int i;
	u64 id;

	homa_test_timer_params(ctx);
	homa_test_set_region(ctx, ctx->client_sock);
	peer = homa_test_lo_peer(ctx);
	id = homa_test_client_sent(ctx, peer, HOMA_TEST_FREE_PORT, 200);

	homa_test_ctl(ctx, HOMA_PKT_NEED_ACK, HOMA_TEST_FREE_PORT,
		      ctx->client_port, id | 1);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 1);
	homa_test_expect_busy(ctx, 0, ctx->client_port, HOMA_TEST_FREE_PORT,
			      id);

	/* The first 1000 of 3000 response bytes. */
	homa_test_data(ctx, HOMA_TEST_FREE_PORT, ctx->client_port, id | 1,
		       3000, 3000, 0, 1000);
	homa_test_get_rpc(ctx->client, id, &r);
	KUNIT_EXPECT_EQ(test, r.state, HOMA_RPC_INCOMING);
	homa_test_ticks(ctx, 2);
	homa_test_ctl(ctx, HOMA_PKT_NEED_ACK, HOMA_TEST_FREE_PORT,
		      ctx->client_port, id | 1);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 2);
	homa_test_expect_busy(ctx, 1, ctx->client_port, HOMA_TEST_FREE_PORT,
			      id);
	homa_test_ticks(ctx, 1);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 3);
	homa_test_expect_resend(ctx, 2, ctx->client_port, HOMA_TEST_FREE_PORT,
				id, 1000, 2000);

	/* The rest of the response: NEED_ACK now draws an ACK. */
	homa_test_data(ctx, HOMA_TEST_FREE_PORT, ctx->client_port, id | 1,
		       3000, 3000, 1000, 2000);
	n = homa_test_ncaptured(ctx);
	homa_test_ctl(ctx, HOMA_PKT_NEED_ACK, HOMA_TEST_FREE_PORT,
		      ctx->client_port, id | 1);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), n + 1);
	homa_test_expect_ack(ctx, n, HOMA_TEST_FREE_PORT, id);

	/* The server side, with a client at a port whose packets vanish. */
	homa_test_set_region(ctx, ctx->server_sock);
	homa_test_data(ctx, HOMA_TEST_FREE_PORT, HOMA_TEST_SERVER_PORT, 6300,
		       100, 100, 0, 100);
	homa_test_respond(ctx, 6301, 500);
	n = homa_test_ncaptured(ctx);
	for (i = 0; i < 30; i++) {
		homa_test_ticks(ctx, 1);
		if (homa_test_ncaptured(ctx) == n)
			continue;
		KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), n + 1);
		homa_test_homa_pkt(ctx, n, HOMA_PKT_NEED_ACK,
				   HOMA_TEST_SERVER_PORT, HOMA_TEST_FREE_PORT,
				   6301, &len);
		n++;
		asks++;
		homa_test_ctl(ctx, HOMA_PKT_BUSY, HOMA_TEST_FREE_PORT,
			      HOMA_TEST_SERVER_PORT, 6300);
	}
	/* A NEED_ACK 2 silent ticks after each BUSY. */
	KUNIT_EXPECT_EQ(test, asks, 15);
	homa_test_get_rpc(ctx->server, 6301, &r);
	KUNIT_EXPECT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_RPC_TIMEOUTS), 0);
	homa_test_server_times_out(ctx, 6301, 10, 1);
}

/* ---------------------------------------------------------------------
 * ICMP port unreachable for packets whose sender waits for an answer.
 */

/* A RESEND (from a client) and a NEED_ACK (from a server) for a port no
 * socket has are answered with ICMP port unreachable, as DATA is, so that
 * their senders stop asking; a GRANT, whose sender waits for nothing,
 * draws none. Each counts once in pkts_dropped_no_socket. The ICMP errors
 * come back to sockets with no such RPCs and end nothing.
 */
static void homa_rpc_test_no_socket_icmp(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;

	homa_test_resend(ctx, ctx->client_port, HOMA_TEST_DEAD_PORT, 1400, 0,
			 100);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_NO_SOCKET),
			1);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 1);
	homa_test_expect_icmp(ctx, 0, HOMA_PKT_RESEND, ctx->client_port,
			      HOMA_TEST_DEAD_PORT, 1400);

	homa_test_ctl(ctx, HOMA_PKT_NEED_ACK, HOMA_TEST_SERVER_PORT,
		      HOMA_TEST_DEAD_PORT, 1401);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_NO_SOCKET),
			2);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 2);
	homa_test_expect_icmp(ctx, 1, HOMA_PKT_NEED_ACK, HOMA_TEST_SERVER_PORT,
			      HOMA_TEST_DEAD_PORT, 1401);

	homa_test_grant(ctx, HOMA_TEST_SERVER_PORT, HOMA_TEST_DEAD_PORT, 1401,
			100);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_NO_SOCKET),
			3);
	KUNIT_EXPECT_EQ(test, homa_test_ncaptured(ctx), 2);

	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_RCVD +
					HOMA_PKT_RESEND - HOMA_PKT_MIN_TYPE),
			1);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_RCVD +
					HOMA_PKT_NEED_ACK - HOMA_PKT_MIN_TYPE),
			1);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_RPCS_ICMP_ABORTED), 0);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->client), 0);
	KUNIT_EXPECT_EQ(test, homa_test_num_rpcs(ctx->server), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->holed), 0);
}

/* A port unreachable about a packet a server RPC sent says the client's
 * socket is gone: every server RPC of that client address and port ends
 * (ICMP is rate-limited, so one error speaks for all of them), whether
 * its request is complete or not. Server RPCs of another port of that
 * host, or of the same port on another host, stay.
 */
static void homa_rpc_test_icmp_ends_client_rpcs(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_test_sock s;
	struct homa_test_rpc r;

	homa_test_set_region(ctx, ctx->server_sock);
	/* From 127.0.0.1:HOMA_TEST_DEAD_PORT: two whole requests and part
	 * of a third.
	 */
	homa_test_data(ctx, HOMA_TEST_DEAD_PORT, HOMA_TEST_SERVER_PORT, 7000,
		       100, 100, 0, 100);
	homa_test_data(ctx, HOMA_TEST_DEAD_PORT, HOMA_TEST_SERVER_PORT, 7002,
		       3000, 3000, 0, 1000);
	homa_test_data(ctx, HOMA_TEST_DEAD_PORT, HOMA_TEST_SERVER_PORT, 7004,
		       100, 100, 0, 100);
	/* The client socket's port, and the same port on 127.0.0.2. */
	homa_test_request(ctx, 7006, 100, 100, 0, 100);
	homa_test_data_from(ctx, htonl(INADDR_LOOPBACK + 1),
			    HOMA_TEST_DEAD_PORT, HOMA_TEST_SERVER_PORT, 7008,
			    100, 100, 0, 100, false);
	KUNIT_ASSERT_EQ(test, homa_test_num_rpcs(ctx->server), 5);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 0);

	/* The response to 7000 goes to the dead port and draws the ICMP. */
	homa_test_respond(ctx, 7001, 500);
	KUNIT_ASSERT_EQ(test, homa_test_ncaptured(ctx), 2);
	homa_test_expect_data(ctx, 0, HOMA_TEST_SERVER_PORT,
			      HOMA_TEST_DEAD_PORT, 7001, 500, 500, 0, 500);
	homa_test_expect_icmp(ctx, 1, HOMA_PKT_DATA, HOMA_TEST_SERVER_PORT,
			      HOMA_TEST_DEAD_PORT, 7001);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_PKTS_DROPPED_NO_SOCKET),
			1);
	KUNIT_EXPECT_EQ(test,
			homa_test_delta(ctx, HOMA_MET_RPCS_ICMP_ABORTED), 3);

	homa_test_get_rpc(ctx->server, 7001, &r);
	KUNIT_EXPECT_FALSE(test, r.found);
	homa_test_get_rpc(ctx->server, 7003, &r);
	KUNIT_EXPECT_FALSE(test, r.found);
	homa_test_get_rpc(ctx->server, 7005, &r);
	KUNIT_EXPECT_FALSE(test, r.found);
	homa_test_get_rpc(ctx->server, 7007, &r);
	KUNIT_EXPECT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, r.in_remaining, 0);
	homa_test_get_rpc(ctx->server, 7009, &r);
	KUNIT_EXPECT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, r.in_remaining, 0);
	homa_test_get_sock(ctx->server, &s);
	KUNIT_EXPECT_EQ(test, s.num_rpcs, 2);
	KUNIT_EXPECT_EQ(test, s.wmem_queued, 0);
	/* The partial request's charge went with it. */
	homa_test_expect_budget(ctx, 0, 0);
	KUNIT_EXPECT_EQ(test, homa_test_delta(ctx, HOMA_MET_RPC_TIMEOUTS), 0);
}

/* A client with part of its response fails with ECONNRESET only when
 * RESENDs of HOMA_UNKNOWN_ROUNDS different rounds drew RPC_UNKNOWN: any
 * number of them answering one round (late answers to RESENDs sent before
 * the server had the request) leave it alone, and response data starts
 * the count again.
 */
static void homa_rpc_test_client_unknown_rounds(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	struct homa_sock *hsk = ctx->client;
	struct homa_test_rpc r;
	struct homa_peer *peer;
	u64 id;
	u32 t;
	int i;

	homa_test_timer_params(ctx);
	peer = homa_test_lo_peer(ctx);
	/* A request to the black-hole port, as if sent. */
	id = homa_test_client_sent(ctx, peer, HOMA_TEST_FREE_PORT, 200);

	/* The first third of the response. */
	homa_test_data(ctx, HOMA_TEST_FREE_PORT, ctx->client_port, id | 1,
		       3000, 3000, 0, 1000);
	homa_test_get_rpc(hsk, id, &r);
	KUNIT_ASSERT_EQ(test, r.state, HOMA_RPC_INCOMING);

	t = READ_ONCE(ctx->hn->timer.ticks) + 100;
	for (i = 0; i < HOMA_UNKNOWN_ROUNDS - 1; i++) {
		homa_test_resend_round(ctx, id, t + i);
		homa_test_ctl(ctx, HOMA_PKT_RPC_UNKNOWN, HOMA_TEST_FREE_PORT,
			      ctx->client_port, id | 1);
		homa_test_ctl(ctx, HOMA_PKT_RPC_UNKNOWN, HOMA_TEST_FREE_PORT,
			      ctx->client_port, id | 1);
		homa_test_get_rpc(hsk, id, &r);
		KUNIT_EXPECT_EQ(test, r.state, HOMA_RPC_INCOMING);
	}
	/* More response data: the peer has the RPC after all. */
	homa_test_data(ctx, HOMA_TEST_FREE_PORT, ctx->client_port, id | 1,
		       3000, 3000, 1000, 1000);
	for (i = 0; i < HOMA_UNKNOWN_ROUNDS - 1; i++) {
		homa_test_resend_round(ctx, id, t + 10 + i);
		homa_test_ctl(ctx, HOMA_PKT_RPC_UNKNOWN, HOMA_TEST_FREE_PORT,
			      ctx->client_port, id | 1);
	}
	homa_test_get_rpc(hsk, id, &r);
	KUNIT_EXPECT_EQ(test, r.state, HOMA_RPC_INCOMING);

	/* One more round: the server lost the RPC. */
	homa_test_resend_round(ctx, id, t + 20);
	homa_test_ctl(ctx, HOMA_PKT_RPC_UNKNOWN, HOMA_TEST_FREE_PORT,
		      ctx->client_port, id | 1);
	homa_test_get_rpc(hsk, id, &r);
	KUNIT_ASSERT_TRUE(test, r.found);
	KUNIT_EXPECT_EQ(test, r.state, HOMA_RPC_FAILED);
	KUNIT_EXPECT_EQ(test, r.error, ECONNRESET);
}

/* The socket's table of acked server RPCs (late duplicates of their
 * requests are dropped): it remembers the last HOMA_ACKED_RPCS, keyed by
 * client address, client port and id, and an RPC whose peer is another
 * host at the same address of memory (a peer freed and reused) is not
 * mistaken for one of them.
 */
static void homa_rpc_test_acked_table(struct kunit *test)
{
	struct homa_test_ctx *ctx = test->priv;
	const u32 n = HOMA_ACKED_RPCS + 44;
	struct homa_sock *hsk = ctx->server;
	struct homa_peer *peer;
	struct homa_rpc *rpc;
	u32 i, found = 0, lost = 0;

	peer = kunit_kzalloc(test, sizeof(*peer), GFP_KERNEL);
	rpc = kunit_kzalloc(test, sizeof(*rpc), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, peer);
	KUNIT_ASSERT_NOT_NULL(test, rpc);
	ipv6_addr_set_v4mapped(htonl(0x0a000001), &peer->addr);
	rpc->peer = peer;
	rpc->dport = 40000;

	spin_lock_bh(&hsk->lock);
	KUNIT_EXPECT_FALSE(test, homa_sock_was_acked(hsk, peer, 40000, 2));
	for (i = 0; i < n; i++) {
		rpc->id = 1001 + 2 * i;
		homa_sock_remember_acked(hsk, rpc);
	}
	for (i = 0; i < n; i++) {
		if (homa_sock_was_acked(hsk, peer, 40000, 1001 + 2 * i))
			found += i >= n - HOMA_ACKED_RPCS;
		else
			lost += i < n - HOMA_ACKED_RPCS;
	}
	KUNIT_EXPECT_EQ(test, found, HOMA_ACKED_RPCS);
	KUNIT_EXPECT_EQ(test, lost, n - HOMA_ACKED_RPCS);

	/* The same id from another port, or another host. */
	KUNIT_EXPECT_TRUE(test, homa_sock_was_acked(hsk, peer, 40000,
						    1001 + 2 * (n - 1)));
	KUNIT_EXPECT_FALSE(test, homa_sock_was_acked(hsk, peer, 40001,
						     1001 + 2 * (n - 1)));
	ipv6_addr_set_v4mapped(htonl(0x0a000002), &peer->addr);
	KUNIT_EXPECT_FALSE(test, homa_sock_was_acked(hsk, peer, 40000,
						     1001 + 2 * (n - 1)));
	spin_unlock_bh(&hsk->lock);
}

static struct kunit_case homa_rpc_test_cases[] = {
	KUNIT_CASE(homa_rpc_test_msgin_add),
	KUNIT_CASE(homa_rpc_test_msgin_add_max_gaps),
	KUNIT_CASE(homa_rpc_test_dup_request),
	KUNIT_CASE(homa_rpc_test_reversed_packets),
	KUNIT_CASE(homa_rpc_test_bad_data),
	KUNIT_CASE(homa_rpc_test_no_server),
	KUNIT_CASE(homa_rpc_test_grant_window),
	KUNIT_CASE(homa_rpc_test_no_buffers_no_grant),
	KUNIT_CASE(homa_rpc_test_ack),
	KUNIT_CASE(homa_rpc_test_acked_table),
	KUNIT_CASE(homa_rpc_test_grant_sends_response),
	KUNIT_CASE(homa_rpc_test_grant_unknown_rpc),
	KUNIT_CASE(homa_rpc_test_client_unknown_response),
	KUNIT_CASE(homa_rpc_test_client_response),
	KUNIT_CASE(homa_rpc_test_timer_resend_timeout),
	KUNIT_CASE(homa_rpc_test_timer_resend_pkt),
	KUNIT_CASE(homa_rpc_test_timer_resend_limit),
	KUNIT_CASE(homa_rpc_test_timer_answer_wait),
	KUNIT_CASE(homa_rpc_test_timer_resend_turns),
	KUNIT_CASE(homa_rpc_test_timer_need_ack),
	KUNIT_CASE(homa_rpc_test_timer_client),
	KUNIT_CASE(homa_rpc_test_timer_need_ack_busy),
	KUNIT_CASE(homa_rpc_test_timer_in_host),
	KUNIT_CASE(homa_rpc_test_rx_clock),
	KUNIT_CASE(homa_rpc_test_timer_rx_lag),
	KUNIT_CASE(homa_rpc_test_timer_resend_backlog),
	KUNIT_CASE(homa_rpc_test_msgout_left_order),
	KUNIT_CASE(homa_rpc_test_client_unknown_rounds),
	KUNIT_CASE(homa_rpc_test_no_socket_icmp),
	KUNIT_CASE(homa_rpc_test_icmp_ends_client_rpcs),
	{}
};

static struct kunit_suite homa_rpc_test_suite = {
	.name = "homa_rpc",
	.init = homa_rpc_test_init,
	.exit = homa_rpc_test_exit,
	.test_cases = homa_rpc_test_cases,
};

kunit_test_suite(homa_rpc_test_suite);

MODULE_DESCRIPTION("KUnit tests for Homa's RPC layer, at the packet level");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
