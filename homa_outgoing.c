// SPDX-License-Identifier: GPL-2.0

/* The transmit path: building DATA packets from an outgoing message,
 * sending what the receiver allows (unscheduled bytes, then grants), and
 * sending control packets.
 *
 * Retransmissions (homa_resend_data()) build the same packets again from
 * the message, which stays in memory until the RPC ends.
 *
 * Every packet is a fresh, unshared skb no larger than the route's MTU,
 * so no device or GSO path ever sees a Homa packet it has to segment or
 * one that somebody else still references.
 */

#include <kunit/visibility.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <net/icmp.h>
#include <net/ip.h>
#include <net/ipv6.h>

#include "homa_impl.h"

/* Room in front of every packet for link-layer and IP headers. */
#define HOMA_SKB_HEADROOM	(MAX_HEADER + sizeof(struct ipv6hdr))

/**
 * homa_skb_new() - Allocate an skb for an outgoing packet.
 * @len: Bytes of Homa header plus payload.
 *
 * Return: an skb with @len bytes of linear data (skb->data at the Homa
 * header), or NULL if memory is short.
 */
static struct sk_buff *homa_skb_new(unsigned int len)
{
	struct sk_buff *skb;

	skb = alloc_skb(HOMA_SKB_HEADROOM + len, GFP_ATOMIC);
	if (!skb)
		return NULL;
	skb_reserve(skb, HOMA_SKB_HEADROOM);
	skb_reset_transport_header(skb);
	skb_put(skb, len);
	return skb;
}

/* Record that the first transmission of bytes [@offset, @end) of a
 * message left this host in tick @now (homa_msgout.marks). Packets
 * usually leave in the order they were sent; where they do not (several
 * device queues), the lowest offset of a tick is kept, so that bytes
 * count as younger than they are, never as older.
 */
VISIBLE_IF_KUNIT void homa_msgout_left(struct homa_msgout *m, u32 offset,
				       u32 end, u32 now)
{
	struct homa_xmit_mark *k = NULL;
	unsigned long flags;

	spin_lock_irqsave(&m->marks_lock, flags);
	if (m->num_marks)
		k = &m->marks[(m->num_marks - 1) % HOMA_XMIT_MARKS];
	if (k && k->tick == now) {
		k->offset = min(k->offset, offset);
	} else {
		k = &m->marks[m->num_marks++ % HOMA_XMIT_MARKS];
		k->offset = offset;
		k->tick = now;
	}
	m->left_end = max(m->left_end, end);
	m->left_bytes += end - offset;
	if (offset <= m->left_prefix)
		m->left_prefix = max(m->left_prefix, end);
	spin_unlock_irqrestore(&m->marks_lock, flags);
}
EXPORT_SYMBOL_IF_KUNIT(homa_msgout_left);

/**
 * homa_data_wfree() - Destructor of an RPC's DATA skbs: the stack orphaned
 * or freed the packet (a device sent it, a queue dropped it, or the
 * receiving side of veth took it into its IP layer), so it is no longer
 * queued in this host; a first transmission is recorded in the message's
 * marks (homa_msgout_left()).
 * @skb: The packet, its transport header at the Homa header;
 *       destructor_arg holds its RPC. Runs in any context, with or
 *       without the socket lock.
 *
 * The socket's send memory is released last: until then it keeps the
 * socket, and so the module, alive.
 */
static void homa_data_wfree(struct sk_buff *skb)
{
	const struct homa_data_hdr *h = (const void *)skb_transport_header(skb);
	struct homa_rpc *rpc = skb_shinfo(skb)->destructor_arg;
	struct homa_msgout *m = &rpc->msgout;
	u32 offset = be32_to_cpu(h->seg.offset);

	if (!h->retransmit)
		homa_msgout_left(m, offset,
				 min_t(u32, offset + m->seg_size, m->length),
				 READ_ONCE(rpc->hsk->hnet->timer.ticks));
	homa_rpc_put(rpc);
	sock_wfree(skb);
}

/**
 * homa_xmit_skb() - Hand one packet to IP.
 * @hsk:  Sending socket.
 * @peer: Destination host.
 * @rpc:  For DATA, the RPC whose message the packet carries: the packet
 *        is recorded in its msgout.marks when it leaves this host; else
 *        NULL.
 * @skb:  Packet; skb->data at the Homa header. Always consumed.
 *
 * A first transmission of DATA that the device (or a queue in front of it:
 * a veth ring, a full qdisc or backlog) drops at once did not go out; it
 * counts as xmit_deferred, not as an error, because homa_xmit_data() sends
 * it again rather than leave it to the receiver's RESEND.
 *
 * Return: 0, -ENOBUFS if the device dropped the packet, or another
 * negative errno (the packet is gone either way).
 */
static int homa_xmit_skb(struct homa_sock *hsk, struct homa_peer *peer,
			 struct homa_rpc *rpc, struct sk_buff *skb)
{
	const struct homa_common_hdr *h = (void *)skb->data;
	struct sock *sk = &hsk->inet.sk;
	struct dst_entry *dst;
	struct flowi fl;
	u8 type = h->type;
	bool first;
	int err;

	first = type == HOMA_PKT_DATA &&
		!((const struct homa_data_hdr *)h)->retransmit;

	dst = homa_peer_dst(peer, sk, &fl);
	if (IS_ERR(dst)) {
		homa_metric_inc(hsk->hnet, HOMA_MET_XMIT_NO_ROUTE);
		kfree_skb(skb);
		return PTR_ERR(dst);
	}
	skb_dst_set(skb, dst);
	if (READ_ONCE(peer->confirm_neigh)) {
		WRITE_ONCE(peer->confirm_neigh, false);
		skb_set_dst_pending_confirm(skb, 1);
	}
	skb_set_owner_w(skb, sk);
	if (rpc) {
		/* The owner's destructor, with the RPC (which the packet
		 * keeps alive) in the shared info, as sctp does.
		 */
		homa_rpc_hold(rpc);
		skb_shinfo(skb)->destructor_arg = rpc;
		skb->destructor = homa_data_wfree;
	}
	skb->ip_summed = CHECKSUM_NONE;
	if (homa_peer_is_v4(peer))
		err = ip_queue_xmit(sk, skb, &fl);
	else
		err = ip6_xmit(sk, skb, &fl.u.ip6, sk->sk_mark, NULL, 0,
			       sk->sk_priority);
	if (err == NET_XMIT_DROP && first)
		homa_metric_inc(hsk->hnet, HOMA_MET_XMIT_DEFERRED);
	else if (err)
		homa_metric_inc(hsk->hnet, HOMA_MET_XMIT_ERRORS);
	else
		homa_metric_inc(hsk->hnet,
				HOMA_MET_PKTS_SENT + type - HOMA_PKT_MIN_TYPE);
	return net_xmit_eval(err);
}

/**
 * homa_xmit_queue_full() - Whether the socket's packets still held below
 * Homa (qdisc, device, an unresolved neighbour) take up SO_SNDBUF: then
 * DATA waits, so that a burst of messages cannot overflow a device queue
 * (devices free each skb after sending it; loopback and veth at once).
 * @hsk: Socket.
 *
 * Return: true if no more DATA should be handed to IP now.
 */
bool homa_xmit_queue_full(struct homa_sock *hsk)
{
	struct sock *sk = &hsk->inet.sk;

	return sk_wmem_alloc_get(sk) >= READ_ONCE(sk->sk_sndbuf);
}

/**
 * homa_seg_size() - Payload bytes per DATA packet to a peer: what fits in
 * the route's MTU after the IP and DATA headers, capped by max_gso_size.
 * @hsk:  Sending socket.
 * @peer: Destination.
 *
 * Return: the size, or a negative errno if there is no route.
 */
static int homa_seg_size(struct homa_sock *hsk, struct homa_peer *peer)
{
	int max_pkt = READ_ONCE(hsk->hnet->params.max_gso_size);
	struct dst_entry *dst;
	struct flowi fl;
	int mtu;

	dst = homa_peer_dst(peer, &hsk->inet.sk, &fl);
	if (IS_ERR(dst))
		return PTR_ERR(dst);
	mtu = dst_mtu(dst);
	dst_release(dst);
	mtu -= homa_peer_is_v4(peer) ? sizeof(struct iphdr) :
					sizeof(struct ipv6hdr);
	mtu = min(mtu, max_pkt);
	mtu -= sizeof(struct homa_data_hdr);
	return mtu < 64 ? -EMSGSIZE : mtu;
}

/**
 * homa_msgout_init() - Attach an outgoing message to an RPC and decide
 * its packet size and unscheduled bytes. Caller holds the socket lock.
 * @rpc: RPC without an outgoing message.
 * @buf: Payload (kvmalloc'ed); owned by the RPC from now on.
 * @len: Bytes in @buf (1..HOMA_MAX_MESSAGE_LENGTH).
 *
 * Return: 0 or a negative errno (@buf is owned by the RPC either way).
 */
int homa_msgout_init(struct homa_rpc *rpc, void *buf, int len)
{
	struct homa_msgout *m = &rpc->msgout;
	int seg;

	lockdep_assert_held(&rpc->hsk->lock);
	m->buf = buf;
	m->length = len;
	m->next_offset = 0;
	rpc->hsk->wmem_queued += len;
	seg = homa_seg_size(rpc->hsk, rpc->peer);
	if (seg < 0)
		return seg;
	m->seg_size = seg;
	homa_msgout_reset(rpc);
	return 0;
}

/**
 * homa_msgout_reset() - Make an outgoing message start again: nothing
 * sent, only the unscheduled bytes (rounded up to whole packets) allowed.
 * Caller holds the socket lock.
 * @rpc: RPC whose outgoing message exists.
 */
void homa_msgout_reset(struct homa_rpc *rpc)
{
	struct homa_msgout *m = &rpc->msgout;
	unsigned long flags;
	int unsched;

	unsched = READ_ONCE(rpc->hsk->hnet->params.unsched_bytes);
	unsched = DIV_ROUND_UP(unsched, m->seg_size) * m->seg_size;
	m->next_offset = 0;
	spin_lock_irqsave(&m->marks_lock, flags);
	m->num_marks = 0;
	m->left_end = 0;
	m->left_bytes = 0;
	m->left_prefix = 0;
	spin_unlock_irqrestore(&m->marks_lock, flags);
	m->granted = min(unsched, m->length);
}
EXPORT_SYMBOL_IF_KUNIT(homa_msgout_init);

/**
 * homa_xmit_data_pkt() - Build and send the DATA packet of an outgoing
 * message that starts at @offset. Caller holds the socket lock.
 * @rpc:        The RPC.
 * @offset:     Message offset of the packet (a multiple of seg_size).
 * @retransmit: Whether this sends the bytes again for a RESEND.
 *
 * Return: 0 (also when the packet was lost below us), -ENOMEM if there
 * was no memory for it, or -ENOBUFS if the device dropped it at once.
 */
static int homa_xmit_data_pkt(struct homa_rpc *rpc, int offset,
			      bool retransmit)
{
	struct homa_msgout *m = &rpc->msgout;
	int len = min(m->seg_size, m->length - offset);
	struct homa_data_hdr *h;
	struct sk_buff *skb;
	int err;

	skb = homa_skb_new(sizeof(*h) + len);
	if (!skb) {
		homa_metric_inc(rpc->hsk->hnet, HOMA_MET_XMIT_NOMEM);
		return -ENOMEM;
	}
	h = (struct homa_data_hdr *)skb->data;
	homa_common_hdr_init(&h->common, HOMA_PKT_DATA, rpc->hsk->port,
			     rpc->dport, rpc->id);
	h->common.sequence = cpu_to_be32(offset);
	h->message_length = cpu_to_be32(m->length);
	h->incoming = cpu_to_be32(m->granted);
	h->ack.client_id = 0;
	h->ack.server_port = 0;
	h->cutoff_version = 0;
	h->retransmit = retransmit;
	memset(h->pad, 0, sizeof(h->pad));
	h->seg.offset = cpu_to_be32(offset);
	memcpy(h + 1, (char *)m->buf + offset, len);
	if (retransmit)
		homa_metric_inc(rpc->hsk->hnet, HOMA_MET_DATA_PKTS_RESENT);
	err = homa_xmit_skb(rpc->hsk, rpc->peer, rpc, skb);
	return err == -ENOMEM || err == -ENOBUFS ? err : 0;
}

/**
 * homa_msgout_young() - Where the bytes of an outgoing message begin that
 * are still queued in this host or whose first transmission left it less
 * than @age ticks ago (homa_msgout.marks). Bytes before the oldest mark
 * left before it, and count as old, unless a packet below left_end is
 * still here (it may be any from left_prefix on). Caller holds the socket
 * lock.
 * @m:   The message.
 * @now: The current tick.
 * @age: Ticks.
 *
 * Return: that offset; next_offset if no byte is that young.
 */
u32 homa_msgout_young(struct homa_msgout *m, u32 now, u32 age)
{
	const struct homa_xmit_mark *k;
	unsigned long flags;
	u32 i, n, end;

	spin_lock_irqsave(&m->marks_lock, flags);
	end = min_t(u32, m->left_end, m->next_offset);
	/* A packet below left_end is still here: all from the first one
	 * that may be count as queued.
	 */
	if (m->left_bytes < m->left_end)
		end = min(end, m->left_prefix);
	n = min_t(u32, m->num_marks, HOMA_XMIT_MARKS);
	for (i = 1; i <= n; i++) {
		k = &m->marks[(m->num_marks - i) % HOMA_XMIT_MARKS];
		if (now - k->tick >= age)
			break;
		end = min(end, k->offset);
	}
	spin_unlock_irqrestore(&m->marks_lock, flags);
	return end;
}
EXPORT_SYMBOL_IF_KUNIT(homa_msgout_young);

/**
 * homa_xmit_data() - Send every packet of an RPC's outgoing message that
 * the receiver has allowed and that has not been sent. Caller holds the
 * socket lock; the work is bounded by the granted window.
 * @rpc: The RPC.
 */
void homa_xmit_data(struct homa_rpc *rpc)
{
	struct homa_sock *hsk = rpc->hsk;
	struct homa_msgout *m = &rpc->msgout;
	int err;

	lockdep_assert_held(&hsk->lock);
	while (m->next_offset < m->granted && rpc->state == HOMA_RPC_OUTGOING) {
		if (homa_xmit_queue_full(hsk)) {
			/* homa_sock_resume() goes on when the device has
			 * sent some of what it holds.
			 */
			if (list_empty(&rpc->throttle_links)) {
				list_add_tail(&rpc->throttle_links,
					      &hsk->throttled);
				homa_metric_inc(hsk->hnet,
						HOMA_MET_XMIT_THROTTLED);
			}
			return;
		}
		/* On failure the timer tries again (homa_timer_rpc()). */
		err = homa_xmit_data_pkt(rpc, m->next_offset, false);
		if (err == -ENOBUFS) {
			/* The device had no room (a veth ring is full, say):
			 * wait for the next tick rather than be resumed by
			 * sk_write_space, which the dropped skb just called.
			 */
			list_del_init(&rpc->throttle_links);
			return;
		}
		if (err)
			return;
		m->next_offset = min(m->next_offset + m->seg_size, m->length);
	}
	list_del_init(&rpc->throttle_links);
}

/**
 * homa_sock_resume() - Work item: send the granted bytes of a socket's
 * throttled RPCs, the message with the fewest bytes left first, until the
 * device queue is full again. The work is bounded by SO_SNDBUF.
 * @work: The socket's resume_work; a reference on the socket was taken
 *        when it was queued.
 */
void homa_sock_resume(struct work_struct *work)
{
	struct homa_sock *hsk = container_of(work, struct homa_sock,
					     resume_work);
	struct homa_rpc *rpc, *best;

	spin_lock_bh(&hsk->lock);
	while (!list_empty(&hsk->throttled) && !homa_xmit_queue_full(hsk)) {
		best = NULL;
		list_for_each_entry(rpc, &hsk->throttled, throttle_links) {
			if (!best || rpc->msgout.length - rpc->msgout.next_offset <
				     best->msgout.length - best->msgout.next_offset)
				best = rpc;
		}
		list_del_init(&best->throttle_links);
		homa_xmit_data(best);
	}
	spin_unlock_bh(&hsk->lock);
	sock_put(&hsk->inet.sk);
}

/**
 * homa_write_space() - sk_write_space of Homa sockets: called (in any
 * context) whenever an skb the socket sent is freed, i.e. the device is
 * done with it. Queues homa_sock_resume() if RPCs wait for room.
 * @sk: The socket; its memory stays valid during the call.
 */
void homa_write_space(struct sock *sk)
{
	struct homa_sock *hsk = homa_sk(sk);

	if (list_empty_careful(&hsk->throttled) || homa_xmit_queue_full(hsk))
		return;
	/* A socket being freed has no RPCs left to resume. */
	if (!refcount_inc_not_zero(&sk->sk_refcnt))
		return;
	if (!schedule_work(&hsk->resume_work))
		sock_put(sk);
}
EXPORT_SYMBOL_IF_KUNIT(homa_xmit_data);

/**
 * homa_resend_data() - Send again the packets of an outgoing message that
 * hold bytes in [@start, @end), as far as their first transmission left
 * this host at least homa_rpc_young_ticks() ago (homa_msgout_young()),
 * marked as retransmissions. Caller holds the socket lock; the work is
 * bounded by the message length.
 * @rpc:   The RPC; its outgoing message exists.
 * @start: First byte asked for.
 * @end:   One past the last byte asked for.
 *
 * Return: packets sent.
 */
int homa_resend_data(struct homa_rpc *rpc, u32 start, u32 end)
{
	struct homa_net *hn = rpc->hsk->hnet;
	struct homa_msgout *m = &rpc->msgout;
	u32 young, now;
	int offset, sent = 0;

	lockdep_assert_held(&rpc->hsk->lock);
	/* Bytes still queued in this host, or that left it less than
	 * resend_ticks (or the peer's answer time) ago, were asked for
	 * before they could arrive (the receiver asks after resend_ticks of
	 * silence, and its RESEND may have waited in queues since): if they
	 * were lost, the next RESEND finds them old enough.
	 */
	now = READ_ONCE(hn->timer.ticks);
	/* A RESEND that waited in our receive backlog was sent when it was
	 * queued there: young counts from then.
	 */
	young = homa_msgout_young(m, now, homa_rpc_young_ticks(rpc, now) +
				  homa_rx_clock_waited(hn, now));
	if (end > young && start < m->next_offset)
		homa_metric_inc(hn, HOMA_MET_RESENDS_TOO_SOON);
	end = min_t(u32, end, young);
	if (start >= end)
		return 0;
	/* Packets start at multiples of seg_size. */
	for (offset = start - start % m->seg_size; offset < end;
	     offset += m->seg_size) {
		if (homa_xmit_data_pkt(rpc, offset, true))
			break;
		sent++;
	}
	return sent;
}

/**
 * homa_xmit_control_to() - Send a control packet to a peer, with or
 * without an RPC behind it (e.g. RPC_UNKNOWN for an RPC we do not have).
 * @hsk:       Sending socket (its port is the source port).
 * @peer:      Destination host.
 * @dport:     Destination port.
 * @sender_id: RPC id as this host knows it.
 * @type:      Packet type.
 * @hdr:       The whole header; its common part is filled in here.
 * @len:       Bytes in @hdr.
 *
 * Return: 0 or a negative errno.
 */
int homa_xmit_control_to(struct homa_sock *hsk, struct homa_peer *peer,
			 u16 dport, u64 sender_id, u8 type, void *hdr,
			 unsigned int len)
{
	struct sk_buff *skb;

	homa_common_hdr_init(hdr, type, hsk->port, dport, sender_id);
	skb = homa_skb_new(len);
	if (!skb) {
		homa_metric_inc(hsk->hnet, HOMA_MET_XMIT_NOMEM);
		return -ENOMEM;
	}
	memcpy(skb->data, hdr, len);
	return homa_xmit_skb(hsk, peer, NULL, skb);
}

/**
 * homa_xmit_control() - Send a control packet about an RPC.
 * @rpc:  The RPC (supplies ports, id and destination).
 * @type: Packet type.
 * @hdr:  The whole header; its common part is filled in here.
 * @len:  Bytes in @hdr.
 *
 * Return: 0 or a negative errno.
 */
int homa_xmit_control(struct homa_rpc *rpc, u8 type, void *hdr,
		      unsigned int len)
{
	return homa_xmit_control_to(rpc->hsk, rpc->peer, rpc->dport, rpc->id,
				    type, hdr, len);
}

/**
 * homa_xmit_ack() - Tell the server of a client RPC that the whole
 * response arrived, so it can free its state.
 * @rpc: Client RPC.
 */
void homa_xmit_ack(struct homa_rpc *rpc)
{
	homa_xmit_ack_to(rpc->hsk, rpc->peer, rpc->dport, rpc->id);
}

/**
 * homa_xmit_ack_to() - Acknowledge a client RPC, which may no longer exist
 * (the answer to a NEED_ACK for an RPC we already finished).
 * @hsk:       Client socket.
 * @peer:      Server host.
 * @dport:     Server port.
 * @client_id: Our id of the RPC.
 */
void homa_xmit_ack_to(struct homa_sock *hsk, struct homa_peer *peer,
		      u16 dport, u64 client_id)
{
	struct homa_ack_hdr h;

	memset(&h, 0, sizeof(h));
	h.num_acks = cpu_to_be16(1);
	h.acks[0].client_id = cpu_to_be64(client_id);
	h.acks[0].server_port = cpu_to_be16(dport);
	homa_xmit_control_to(hsk, peer, dport, client_id, HOMA_PKT_ACK, &h,
			     sizeof(h));
}

/**
 * homa_icmp_unreachable() - Answer a request for a port nobody serves.
 * @skb: The request packet (its IP header is still in place).
 */
void homa_icmp_unreachable(struct sk_buff *skb)
{
	if (ip_hdr(skb)->version == 4)
		icmp_send(skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0);
	else
		icmpv6_send(skb, ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH, 0);
}
