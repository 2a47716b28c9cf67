// SPDX-License-Identifier: GPL-2.0

/* The receive path: validating packets and handing them to their RPCs
 * (softirq), reassembling incoming messages, and the process-context side
 * of recvmsg: waiting for a message and copying it into the socket's
 * buffer pool.
 */

#include <kunit/visibility.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/uio.h>
#include <net/ip.h>
#include <net/ipv6.h>

#include "homa_impl.h"

/**
 * homa_sock_wakeup() - Wake the threads sleeping or polling on a socket.
 * @hsk:  Socket.
 * @mask: Events (EPOLLIN, EPOLLOUT, ...).
 */
void homa_sock_wakeup(struct homa_sock *hsk, __poll_t mask)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(hsk->inet.sk.sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, mask);
	rcu_read_unlock();
}

/**
 * homa_msgin_add() - Record that bytes [@start, @end) of an incoming
 * message arrived. Caller holds the socket lock.
 * @m:     The incoming message.
 * @start: Message offset of the first byte.
 * @end:   Message offset just past the last byte.
 *
 * Return: true if the bytes are new; false for duplicates, overlaps and
 * packets that would exceed HOMA_MAX_GAPS (all dropped by the caller).
 */
VISIBLE_IF_KUNIT bool homa_msgin_add(struct homa_msgin *m, u32 start, u32 end)
{
	struct homa_gap *gap, *new;

	if (start >= m->recv_end) {
		if (start > m->recv_end) {
			if (m->num_gaps >= HOMA_MAX_GAPS)
				return false;
			new = kmalloc(sizeof(*new), GFP_ATOMIC);
			if (!new)
				return false;
			new->start = m->recv_end;
			new->end = start;
			list_add_tail(&new->links, &m->gaps);
			m->num_gaps++;
		}
		m->recv_end = end;
		return true;
	}
	if (end > m->recv_end)
		return false;
	list_for_each_entry(gap, &m->gaps, links) {
		if (start < gap->start)
			return false;
		if (start >= gap->end)
			continue;
		if (end > gap->end)
			return false;
		if (start == gap->start && end == gap->end) {
			list_del(&gap->links);
			kfree(gap);
			m->num_gaps--;
		} else if (start == gap->start) {
			gap->start = end;
		} else if (end == gap->end) {
			gap->end = start;
		} else {
			if (m->num_gaps >= HOMA_MAX_GAPS)
				return false;
			new = kmalloc(sizeof(*new), GFP_ATOMIC);
			if (!new)
				return false;
			new->start = end;
			new->end = gap->end;
			gap->end = start;
			list_add(&new->links, &gap->links);
			m->num_gaps++;
		}
		return true;
	}
	return false;
}
EXPORT_SYMBOL_IF_KUNIT(homa_msgin_add);

/* Make a complete message (with buffers) available to recvmsg. Caller
 * holds the socket lock.
 */
static void homa_rpc_ready(struct homa_rpc *rpc)
{
	struct homa_sock *hsk = rpc->hsk;

	lockdep_assert_held(&hsk->lock);
	rpc->flags |= HOMA_RPC_F_READY;
	list_del_init(&rpc->ready_links);
	if (!(rpc->flags & HOMA_RPC_F_PRIVATE))
		list_add_tail(&rpc->ready_links, &hsk->ready_rpcs);
	WRITE_ONCE(hsk->ready_seq, hsk->ready_seq + 1);
	homa_sock_wakeup(hsk, EPOLLIN | EPOLLRDNORM);
}

/* Try to get pool space for an incoming message; on failure the RPC
 * waits on the socket's buffer-wait list. Caller holds the socket lock.
 */
static void homa_msgin_get_bufs(struct homa_rpc *rpc)
{
	struct homa_sock *hsk = rpc->hsk;
	struct homa_msgin *m = &rpc->msgin;

	lockdep_assert_held(&hsk->lock);
	if (homa_pool_alloc_msg(&hsk->pool, m->length, m->bpage_offsets,
				&m->num_bpages) == 0) {
		rpc->flags |= HOMA_RPC_F_BUFS;
		list_del_init(&rpc->ready_links);
		return;
	}
	if (list_empty(&rpc->ready_links)) {
		homa_metric_inc(hsk->hnet, HOMA_MET_BUFFER_STALLS);
		list_add_tail(&rpc->ready_links, &hsk->buf_waiters);
	}
}

/**
 * homa_pool_check_waiters() - After pool space came back, give it to
 * messages waiting for it, oldest first. Caller holds the socket lock;
 * stops at the first message that still does not fit.
 * @hsk: Socket.
 */
void homa_pool_check_waiters(struct homa_sock *hsk)
{
	struct homa_rpc *rpc;

	lockdep_assert_held(&hsk->lock);
	while (!list_empty(&hsk->buf_waiters)) {
		rpc = list_first_entry(&hsk->buf_waiters, struct homa_rpc,
				       ready_links);
		homa_msgin_get_bufs(rpc);
		if (!(rpc->flags & HOMA_RPC_F_BUFS))
			return;
		if (rpc->msgin.bytes_remaining == 0)
			homa_rpc_ready(rpc);
		else
			homa_grant_update(rpc);
	}
}

/* Drop a packet, counting why. */
static void homa_drop(struct homa_net *hn, struct sk_buff *skb,
		      enum homa_metric why)
{
	homa_metric_inc(hn, why);
	kfree_skb(skb);
}

/**
 * homa_rpc_acked() - A client confirmed it has the whole response of a
 * server RPC: free the RPC. Called without Homa locks.
 * @hn:        Namespace state.
 * @peer:      The client host.
 * @client_port: Port of the client socket: the source port of the packet
 *             that carries the ack (ids are unique per client socket only,
 *             so another socket's RPC with the same id must not match).
 * @server_port: Port of the server socket.
 * @client_id: Client's id of the RPC.
 */
static void homa_rpc_acked(struct homa_net *hn, struct homa_peer *peer,
			   u16 client_port, u16 server_port, u64 client_id)
{
	struct homa_sock *hsk;
	struct homa_rpc *rpc;

	if (client_id == 0 || !homa_is_client(client_id))
		return;
	hsk = homa_sock_find(hn, server_port);
	if (!hsk)
		return;
	spin_lock_bh(&hsk->lock);
	rpc = homa_rpc_find_server(hsk, peer, client_port, client_id ^ 1);
	if (rpc && rpc->state == HOMA_RPC_OUTGOING &&
	    rpc->msgout.next_offset >= rpc->msgout.length) {
		homa_sock_remember_acked(hsk, rpc);
		homa_rpc_end(rpc);
		homa_metric_inc(hn, HOMA_MET_SERVER_RPCS_ACKED);
		homa_sock_wakeup(hsk, EPOLLOUT | EPOLLWRNORM);
	}
	spin_unlock_bh(&hsk->lock);
}

/* Tell the sender of a packet that we have no state for its RPC. */
static void homa_reply_unknown(struct homa_sock *hsk, struct homa_peer *peer,
			       const struct homa_common_hdr *h)
{
	struct homa_rpc_unknown_hdr u;

	homa_xmit_control_to(hsk, peer, ntohs(h->sport),
			     homa_local_id(h->sender_id), HOMA_PKT_RPC_UNKNOWN,
			     &u, sizeof(u));
}

/**
 * homa_rmem_full() - Whether a socket may not hold one more received
 * packet. Received DATA is charged to the socket (skb_set_owner_r()) until
 * recvmsg copies it out or the RPC ends; the limit is SO_RCVBUF plus twice
 * the receive buffer region, so that every message the region can take
 * fits, with room for packet overhead. It applies to packets that would
 * start an RPC and to messages without receive buffers (forged or unread
 * requests): a message with buffers is bounded by the region.
 * @hsk: Socket.
 * @skb: The packet.
 *
 * Return: true if @skb must be dropped.
 */
static bool homa_rmem_full(struct homa_sock *hsk, struct sk_buff *skb)
{
	struct sock *sk = &hsk->inet.sk;
	u64 limit;

	limit = (u64)READ_ONCE(sk->sk_rcvbuf) +
		((u64)hsk->pool.num_bpages << (HOMA_BPAGE_SHIFT + 1));
	return atomic_read(&sk->sk_rmem_alloc) + skb->truesize > limit;
}

/* Handle a DATA packet (header already known to be complete). */
static void homa_data_pkt(struct homa_sock *hsk, struct homa_peer *peer,
			  const struct in6_addr *saddr, struct sk_buff *skb)
{
	const struct homa_data_hdr *h = (const struct homa_data_hdr *)skb->data;
	u64 id = homa_local_id(h->common.sender_id);
	u16 sport = ntohs(h->common.sport);
	struct homa_net *hn = hsk->hnet;
	u32 msg_len, offset, seg_len;
	bool client_done = false;
	struct homa_rpc *rpc;
	struct homa_msgin *m;
	u32 incoming;

	msg_len = be32_to_cpu(h->message_length);
	offset = be32_to_cpu(h->seg.offset);
	seg_len = skb->len - sizeof(*h);
	incoming = be32_to_cpu(h->incoming);
	if (!homa_data_seg_valid(msg_len, offset, seg_len,
				 HOMA_MAX_MESSAGE_LENGTH)) {
		homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_BAD_DATA);
		return;
	}

	if (h->ack.client_id && peer) {
		homa_metric_inc(hn, HOMA_MET_ACKS_PIGGYBACKED);
		homa_rpc_acked(hn, peer, ntohs(h->common.sport),
			       be16_to_cpu(h->ack.server_port),
			       be64_to_cpu(h->ack.client_id));
	}

	spin_lock_bh(&hsk->lock);
	if (hsk->shutdown)
		goto drop_unknown;
	if (homa_is_client(id)) {
		/* Our RPCs hold their peers: no peer, no RPC. */
		if (!peer)
			goto drop_unknown;
		rpc = homa_rpc_find_client(hsk, id);
		/* A response for an RPC we finished or abandoned is
		 * dropped; the server asks for an ack (NEED_ACK) and gets
		 * one.
		 */
		if (!rpc || rpc->peer != peer || rpc->dport != sport)
			goto drop_unknown;
	} else {
		rpc = peer ? homa_rpc_find_server(hsk, peer, sport, id) : NULL;
		if (!rpc) {
			if (peer && homa_sock_was_acked(hsk, peer, sport, id))
				goto drop_dup;
			if (!homa_sock_is_server(hsk)) {
				spin_unlock_bh(&hsk->lock);
				homa_icmp_unreachable(skb);
				homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_NO_SERVER);
				return;
			}
			/* We send RESENDs only for RPCs we have: a copy
			 * sent for one is late, and its RPC ended here
			 * (possibly executed). Only a first transmission
			 * (or a restart after RPC_UNKNOWN) starts an RPC.
			 */
			if (h->retransmit)
				goto drop_unknown;
			if (homa_rmem_full(hsk, skb))
				goto drop_rmem;
			/* Peers are created by requests only, so packets
			 * that name no RPC cannot fill the peer table.
			 */
			if (!peer) {
				peer = homa_peer_get(hn, saddr);
				if (IS_ERR(peer)) {
					spin_unlock_bh(&hsk->lock);
					homa_drop(hn, skb, PTR_ERR(peer) == -ENOSPC ?
						  HOMA_MET_PKTS_DROPPED_PEERS :
						  HOMA_MET_PKTS_DROPPED_NOMEM);
					return;
				}
			}
			rpc = homa_rpc_alloc_server(hsk, peer, sport, id);
			if (!rpc) {
				spin_unlock_bh(&hsk->lock);
				homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_NOMEM);
				return;
			}
			homa_metric_inc(hn, HOMA_MET_SERVER_RPCS);
		}
	}
	if (h->retransmit)
		homa_rpc_answered(rpc, false);
	else if (rpc->state == HOMA_RPC_INCOMING)
		homa_rpc_answered(rpc, true);
	homa_rpc_heard(rpc);
	/* A client's first response packet moves it from OUTGOING. */
	if (rpc->state != HOMA_RPC_INCOMING &&
	    !(homa_rpc_is_client(rpc) && rpc->state == HOMA_RPC_OUTGOING))
		goto drop_dup;
	/* A message with its receive buffers is bounded by the buffer
	 * region; holding its packets back too could stall the messages
	 * that free the region (their last packets dropped while others
	 * wait for buffers), so only the others are limited. A client
	 * whose first response packet is dropped here stays OUTGOING, so
	 * its timer still asks for the response.
	 */
	if (!(rpc->flags & HOMA_RPC_F_BUFS) && homa_rmem_full(hsk, skb))
		goto drop_rmem;
	rpc->state = HOMA_RPC_INCOMING;

	m = &rpc->msgin;
	if (m->length < 0) {
		m->length = msg_len;
		m->bytes_remaining = msg_len;
		m->recv_end = 0;
		m->granted = 0;
		homa_msgin_get_bufs(rpc);
	} else if (m->length != msg_len) {
		spin_unlock_bh(&hsk->lock);
		homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_BAD_DATA);
		return;
	}
	/* The sender may send this much without grants. What we believe
	 * of it is capped at our own unscheduled bytes plus a packet, so a
	 * forged or odd "incoming" cannot claim much of max_incoming.
	 */
	incoming = min(incoming, (u32)READ_ONCE(hn->params.unsched_bytes) +
			     READ_ONCE(hn->params.max_gso_size));
	if (incoming > m->granted)
		m->granted = min(incoming, msg_len);
	if (!homa_msgin_add(m, offset, offset + seg_len))
		goto drop_dup;

	/* The route is only valid inside this softirq's RCU section. */
	skb_dst_drop(skb);
	skb_set_owner_r(skb, &hsk->inet.sk);
	__skb_pull(skb, sizeof(*h));
	HOMA_SKB_CB(skb)->offset = offset;
	__skb_queue_tail(&m->packets, skb);
	m->bytes_remaining -= seg_len;
	homa_grant_update(rpc);
	if (m->bytes_remaining == 0) {
		if (homa_rpc_is_client(rpc))
			client_done = true;
		if (rpc->flags & HOMA_RPC_F_BUFS)
			homa_rpc_ready(rpc);
	}
	if (client_done)
		homa_xmit_ack(rpc);
	spin_unlock_bh(&hsk->lock);
	homa_grant_recheck(hn);
	return;

drop_dup:
	spin_unlock_bh(&hsk->lock);
	homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_DUP);
	return;
drop_unknown:
	spin_unlock_bh(&hsk->lock);
	homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC);
	return;
drop_rmem:
	/* Asked for again (RESEND) once recvmsg makes room. */
	spin_unlock_bh(&hsk->lock);
	homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_RMEM);
}

/* Find the RPC a control packet from @peer is about. Caller holds the
 * socket lock.
 */
static struct homa_rpc *homa_ctl_find(struct homa_sock *hsk,
				      struct homa_peer *peer,
				      const struct homa_common_hdr *h)
{
	u64 id = homa_local_id(h->sender_id);
	u16 sport = ntohs(h->sport);
	struct homa_rpc *rpc;

	if (homa_is_client(id)) {
		rpc = homa_rpc_find_client(hsk, id);
		if (rpc && (rpc->peer != peer || rpc->dport != sport))
			rpc = NULL;
		return rpc;
	}
	return homa_rpc_find_server(hsk, peer, sport, id);
}

/* Handle a GRANT: the receiver lets us send more of a message. */
static void homa_grant_pkt(struct homa_sock *hsk, struct homa_peer *peer,
			   struct sk_buff *skb)
{
	const struct homa_grant_hdr *h = (const struct homa_grant_hdr *)skb->data;
	u32 offset = be32_to_cpu(h->offset);
	struct homa_rpc *rpc;

	spin_lock_bh(&hsk->lock);
	rpc = homa_ctl_find(hsk, peer, &h->common);
	if (!rpc || rpc->msgout.length < 0) {
		spin_unlock_bh(&hsk->lock);
		homa_drop(hsk->hnet, skb, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC);
		return;
	}
	homa_rpc_heard(rpc);
	offset = min_t(u32, offset, rpc->msgout.length);
	if (offset > rpc->msgout.granted) {
		rpc->msgout.granted = offset;
		homa_xmit_data(rpc);
	}
	spin_unlock_bh(&hsk->lock);
	consume_skb(skb);
}

/* Handle an ACK packet (caller holds rcu_read_lock()). */
static void homa_ack_pkt(struct homa_net *hn, struct homa_peer *peer,
			 struct sk_buff *skb)
{
	const struct homa_ack_hdr *h = (const struct homa_ack_hdr *)skb->data;
	unsigned int i, n = be16_to_cpu(h->num_acks);

	if (n > HOMA_MAX_ACKS_PER_PKT) {
		homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_BAD_DATA);
		return;
	}
	for (i = 0; i < n; i++)
		homa_rpc_acked(hn, peer, ntohs(h->common.sport),
			       be16_to_cpu(h->acks[i].server_port),
			       be64_to_cpu(h->acks[i].client_id));
	consume_skb(skb);
}

/* Whether @rpc waits for message bytes from its peer: its incoming message
 * misses some, or it is a client that sent its request and has no
 * response yet.
 */
static bool homa_rpc_waits_for_data(const struct homa_rpc *rpc)
{
	if (rpc->state == HOMA_RPC_INCOMING)
		return rpc->msgin.bytes_remaining != 0;
	return homa_rpc_is_client(rpc) && rpc->state == HOMA_RPC_OUTGOING &&
	       rpc->msgout.length >= 0 &&
	       rpc->msgout.next_offset >= rpc->msgout.length;
}

/* Tell the peer of @rpc that we are alive and have the RPC but send it
 * nothing now (the answer to a RESEND or NEED_ACK).
 */
static void homa_xmit_busy(struct homa_rpc *rpc)
{
	struct homa_busy_hdr busy;

	memset(&busy, 0, sizeof(busy));
	homa_xmit_control(rpc, HOMA_PKT_BUSY, &busy, sizeof(busy));
}

/**
 * homa_resend_pkt() - Handle a RESEND: the receiver of one of our messages
 * misses bytes, or our peer wants to know whether we are alive.
 * @hsk:  Socket the packet is for.
 * @peer: Sender.
 * @skb:  The packet (header complete).
 *
 * Bytes we sent before go out again, marked as retransmissions, unless
 * they are still queued in this host or left it only just
 * (homa_resend_data()); bytes beyond what was granted count as granted.
 * If we send nothing (the RPC is not sending: a server still receiving or
 * serving the request, or a client receiving the response; or our device
 * queue is full), we answer BUSY so the peer knows we are alive; an
 * unknown RPC gets RPC_UNKNOWN.
 */
static void homa_resend_pkt(struct homa_sock *hsk, struct homa_peer *peer,
			    struct sk_buff *skb)
{
	const struct homa_resend_hdr *h = (const void *)skb->data;
	u32 offset = be32_to_cpu(h->offset);
	u32 length = be32_to_cpu(h->length);
	struct homa_msgout *m;
	struct homa_rpc *rpc;
	int sent = 0, before;
	u64 end;

	spin_lock_bh(&hsk->lock);
	rpc = homa_ctl_find(hsk, peer, &h->common);
	if (!rpc) {
		spin_unlock_bh(&hsk->lock);
		homa_reply_unknown(hsk, peer, &h->common);
		homa_drop(hsk->hnet, skb, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC);
		return;
	}
	/* A RESEND carries no data: while we wait for data from the peer
	 * (our incoming message misses bytes, or a client has none of its
	 * response) it must not reset the silence after which our timer
	 * asks for them: the peer's probes would keep it from ever asking.
	 */
	if (!homa_rpc_waits_for_data(rpc))
		homa_rpc_heard(rpc);
	m = &rpc->msgout;
	/* While our device queue is full, the bytes asked for may still be
	 * in it: answer BUSY rather than send them twice.
	 */
	if (rpc->state == HOMA_RPC_OUTGOING && m->length >= 0 &&
	    !homa_xmit_queue_full(hsk)) {
		if (offset > m->length) {
			spin_unlock_bh(&hsk->lock);
			homa_drop(hsk->hnet, skb,
				  HOMA_MET_PKTS_DROPPED_BAD_DATA);
			return;
		}
		end = length == HOMA_RESEND_ALL ? m->next_offset :
						   (u64)offset + length;
		end = min_t(u64, end, m->length);
		sent = homa_resend_data(rpc, offset, end);
		before = m->next_offset;
		if (end > m->granted) {
			/* The receiver wants bytes we were never granted. */
			m->granted = end;
			homa_xmit_data(rpc);
		}
		sent += m->next_offset != before;
	}
	if (!sent)
		homa_xmit_busy(rpc);
	spin_unlock_bh(&hsk->lock);
	consume_skb(skb);
}

/**
 * homa_unknown_pkt() - Handle RPC_UNKNOWN: the peer has no state for one
 * of our RPCs. A client that has no response bytes yet sends its request
 * again from the start (the server lost it, or never got it); one that
 * has part of the response fails with ECONNRESET (the request may not be
 * executed twice) once RESENDs of HOMA_UNKNOWN_ROUNDS rounds drew one. A
 * server frees the RPC (the client finished or abandoned it).
 *
 * RPC_UNKNOWN answers a RESEND. If we sent none since the peer last sent
 * us anything about the RPC, it answers an older RESEND and was overtaken
 * by packets that show the peer has the RPC (a RESEND that reached the
 * server before the request did, say): it is dropped as a duplicate.
 * @hsk:  Socket the packet is for.
 * @peer: Sender.
 * @skb:  The packet (header complete).
 */
static void homa_unknown_pkt(struct homa_sock *hsk, struct homa_peer *peer,
			     struct sk_buff *skb)
{
	const struct homa_common_hdr *h = (const void *)skb->data;
	struct homa_net *hn = hsk->hnet;
	struct homa_rpc *rpc;

	spin_lock_bh(&hsk->lock);
	rpc = homa_ctl_find(hsk, peer, h);
	if (!rpc) {
		spin_unlock_bh(&hsk->lock);
		homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC);
		return;
	}
	homa_rpc_answered(rpc, false);
	if (!rpc->resend_tick) {
		spin_unlock_bh(&hsk->lock);
		homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_DUP);
		return;
	}
	if (!homa_rpc_is_client(rpc)) {
		homa_sock_remember_acked(hsk, rpc);
		homa_rpc_end(rpc);
		homa_metric_inc(hn, HOMA_MET_SERVER_RPCS_UNKNOWN);
	} else if (rpc->state == HOMA_RPC_OUTGOING) {
		homa_rpc_restart(rpc);
		homa_metric_inc(hn, HOMA_MET_CLIENT_RPC_RESTARTS);
	} else if (rpc->state == HOMA_RPC_INCOMING &&
		   !(rpc->flags & HOMA_RPC_F_READY) &&
		   rpc->unknown_tick != rpc->resend_tick) {
		/* Part of the response came, so the server executed the
		 * request and then lost it: running it again could execute
		 * it twice. Fail instead, once RESENDs of HOMA_UNKNOWN_ROUNDS
		 * rounds drew RPC_UNKNOWN (one round's may all be late
		 * answers from before the request arrived; see
		 * homa_rpc.unknowns).
		 */
		rpc->unknown_tick = rpc->resend_tick;
		if (++rpc->unknowns >= HOMA_UNKNOWN_ROUNDS)
			homa_rpc_abort(rpc, ECONNRESET);
	}
	spin_unlock_bh(&hsk->lock);
	consume_skb(skb);
}

/**
 * homa_busy_pkt() - Handle BUSY: the peer is alive but will not send now.
 * @hsk:  Socket the packet is for.
 * @peer: Sender.
 * @skb:  The packet (header complete).
 */
static void homa_busy_pkt(struct homa_sock *hsk, struct homa_peer *peer,
			  struct sk_buff *skb)
{
	const struct homa_common_hdr *h = (const void *)skb->data;
	struct homa_rpc *rpc;

	spin_lock_bh(&hsk->lock);
	rpc = homa_ctl_find(hsk, peer, h);
	if (rpc) {
		homa_rpc_answered(rpc, false);
		homa_rpc_heard(rpc);
	}
	spin_unlock_bh(&hsk->lock);
	if (rpc)
		consume_skb(skb);
	else
		homa_drop(hsk->hnet, skb, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC);
}

/**
 * homa_need_ack_pkt() - Handle NEED_ACK: a server asks whether we have the
 * whole response of one of our client RPCs. We acknowledge it if we do or
 * if we no longer know the RPC; while the response is incomplete we answer
 * BUSY: the server hears that we are alive and still want the RPC, so it
 * does not give it up (its unanswered-NEED_ACK rule, homa_timer.c) while
 * our own RESENDs for the missing bytes wait (our timer asks for them).
 * @hsk:  Socket the packet is for.
 * @peer: Sender.
 * @skb:  The packet (header complete).
 */
static void homa_need_ack_pkt(struct homa_sock *hsk, struct homa_peer *peer,
			      struct sk_buff *skb)
{
	const struct homa_common_hdr *h = (const void *)skb->data;
	u64 id = homa_local_id(h->sender_id);
	struct homa_rpc *rpc;
	bool ack = true;

	if (!homa_is_client(id)) {
		/* Only servers ask for acks. */
		homa_drop(hsk->hnet, skb, HOMA_MET_PKTS_DROPPED_BAD_DATA);
		return;
	}
	spin_lock_bh(&hsk->lock);
	rpc = homa_ctl_find(hsk, peer, h);
	if (rpc) {
		/* No homa_rpc_heard(): a NEED_ACK carries no data, and while
		 * the response is incomplete our timer must see the silence
		 * and ask for the missing bytes (the server sends NEED_ACK
		 * every resend_interval, more often than resend_ticks).
		 */
		ack = rpc->state == HOMA_RPC_FAILED ||
		      (rpc->msgin.length >= 0 &&
		       rpc->msgin.bytes_remaining == 0);
		if (!ack)
			homa_xmit_busy(rpc);
	}
	spin_unlock_bh(&hsk->lock);
	if (ack)
		homa_xmit_ack_to(hsk, peer, ntohs(h->sport), id);
	consume_skb(skb);
}

/* A packet from @peer reached one of our sockets: the host is alive. Its
 * RESENDs are answered, its RPCs may not time out yet (homa_timer.c), and
 * our next packet to it confirms its neighbour entry (peers exist only for
 * hosts that exchanged a request with us, so the host knows our address).
 */
static void homa_peer_heard(struct homa_net *hn, struct homa_peer *peer)
{
	u32 now = READ_ONCE(hn->timer.ticks);

	if (!READ_ONCE(peer->confirm_neigh))
		WRITE_ONCE(peer->confirm_neigh, true);
	if (READ_ONCE(peer->outstanding_resends))
		WRITE_ONCE(peer->outstanding_resends, 0);
	if (READ_ONCE(peer->heard_tick) != now)
		WRITE_ONCE(peer->heard_tick, now);
}

/**
 * homa_rcv() - Receive one Homa packet (IPv4 or IPv6), in softirq context.
 * @skb: The packet; skb->data is at the Homa header. Always consumed.
 *
 * Validates the header before anything reads it: the common header must
 * be present, the type known, and the whole header of that type present.
 *
 * Return: always 0 (the packet is consumed).
 */
int homa_rcv(struct sk_buff *skb)
{
	struct homa_net *hn = homa_net(dev_net(skb->dev));
	const struct homa_common_hdr *h;
	struct homa_sock *hsk;
	struct homa_peer *peer;
	struct in6_addr saddr;
	unsigned int hdr_len;
	bool v4;

	if (!pskb_may_pull(skb, sizeof(struct homa_common_hdr))) {
		homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_SHORT);
		return 0;
	}
	h = (const struct homa_common_hdr *)skb->data;
	hdr_len = homa_pkt_hdr_len(h->type);
	if (hdr_len == 0) {
		homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_BAD_TYPE);
		return 0;
	}
	if (!pskb_may_pull(skb, hdr_len)) {
		homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_SHORT);
		return 0;
	}
	h = (const struct homa_common_hdr *)skb->data;
	homa_metric_inc(hn, HOMA_MET_PKTS_RCVD + h->type - HOMA_PKT_MIN_TYPE);

	v4 = ip_hdr(skb)->version == 4;
	if (v4)
		ipv6_addr_set_v4mapped(ip_hdr(skb)->saddr, &saddr);
	else
		saddr = ipv6_hdr(skb)->saddr;

	rcu_read_lock();
	hsk = homa_sock_find(hn, ntohs(h->dport));
	/* A reference, so that a socket being closed is not charged for
	 * (or made to send) packets after its memory accounting ended.
	 */
	if (!hsk || (!v4 && hsk->inet.sk.sk_family != AF_INET6) ||
	    !refcount_inc_not_zero(&hsk->inet.sk.sk_refcnt)) {
		rcu_read_unlock();
		/* Packets whose sender waits for an answer: the sender's
		 * RPCs with this port end at once (homa_icmp_error())
		 * instead of asking again until they time out.
		 */
		if (h->type == HOMA_PKT_DATA || h->type == HOMA_PKT_RESEND ||
		    h->type == HOMA_PKT_NEED_ACK)
			homa_icmp_unreachable(skb);
		homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_NO_SOCKET);
		return 0;
	}
	/* Checks that need no state come first, so that a bad packet
	 * counts as bad whoever sent it.
	 */
	if ((h->type == HOMA_PKT_ACK &&
	     be16_to_cpu(((const struct homa_ack_hdr *)h)->num_acks) >
	     HOMA_MAX_ACKS_PER_PKT) ||
	    (h->type == HOMA_PKT_NEED_ACK &&
	     !homa_is_client(homa_local_id(h->sender_id)))) {
		homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_BAD_DATA);
		goto out;
	}
	/* Only a request creates a peer (in homa_data_pkt()); for any
	 * other packet a host we have no peer for has no RPC with us.
	 */
	peer = homa_peer_find(hn, &saddr);
	if (peer)
		homa_peer_heard(hn, peer);
	if (!peer && h->type == HOMA_PKT_RESEND) {
		/* A client asks for the response to a request none of whose
		 * packets reached us: it must learn that we have no RPC, so
		 * that it sends the request again. Answered through a
		 * transient peer: no state is kept for the host.
		 */
		peer = homa_peer_transient(&saddr);
		if (peer) {
			homa_reply_unknown(hsk, peer, h);
			homa_peer_transient_free(peer);
		}
		homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC);
		goto out;
	}
	if (!peer && h->type != HOMA_PKT_DATA) {
		homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC);
		goto out;
	}
	switch (h->type) {
	case HOMA_PKT_DATA:
		homa_data_pkt(hsk, peer, &saddr, skb);
		break;
	case HOMA_PKT_GRANT:
		homa_grant_pkt(hsk, peer, skb);
		break;
	case HOMA_PKT_ACK:
		homa_ack_pkt(hn, peer, skb);
		break;
	case HOMA_PKT_RESEND:
		homa_resend_pkt(hsk, peer, skb);
		break;
	case HOMA_PKT_RPC_UNKNOWN:
		homa_unknown_pkt(hsk, peer, skb);
		break;
	case HOMA_PKT_BUSY:
		homa_busy_pkt(hsk, peer, skb);
		break;
	case HOMA_PKT_NEED_ACK:
		homa_need_ack_pkt(hsk, peer, skb);
		break;
	default:
		/* CUTOFFS and FREEZE: handled with priorities. */
		homa_drop(hn, skb, HOMA_MET_PKTS_DROPPED_UNHANDLED);
		break;
	}
out:
	sock_put(&hsk->inet.sk);
	rcu_read_unlock();
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(homa_rcv);

/* Spin for up to poll_usecs waiting for @hsk->ready_seq to move past
 * @seq. Returns true if it did.
 */
static bool homa_busy_poll(struct homa_sock *hsk, u32 seq)
{
	u64 end = ktime_get_ns() +
		  (u64)READ_ONCE(hsk->hnet->params.poll_usecs) * NSEC_PER_USEC;

	while (ktime_get_ns() < end) {
		if (READ_ONCE(hsk->ready_seq) != seq ||
		    READ_ONCE(hsk->shutdown))
			return true;
		if (need_resched() || signal_pending(current))
			return false;
		cpu_relax();
	}
	return false;
}

/**
 * homa_wait_for_message() - Wait for an incoming message (or a failed
 * client RPC) and claim it for the calling recvmsg.
 * @hsk:      Socket.
 * @id:       0: any non-private message; otherwise the id of a client
 *            RPC whose response is wanted.
 * @nonblock: Fail with -EAGAIN instead of sleeping.
 *
 * Return: the claimed RPC with a reference the caller must drop, or an
 * ERR_PTR: -EAGAIN, -EINTR (signal), -ESHUTDOWN, -EINVAL (no client RPC
 * @id).
 */
struct homa_rpc *homa_wait_for_message(struct homa_sock *hsk, u64 id,
				       bool nonblock)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct sock *sk = &hsk->inet.sk;
	long timeo = nonblock ? 0 : MAX_SCHEDULE_TIMEOUT;
	bool polled = false;
	struct homa_rpc *rpc;
	u32 seq = 0;
	int err;

	add_wait_queue(sk_sleep(sk), &wait);
	for (;;) {
		rpc = NULL;
		err = 0;
		spin_lock_bh(&hsk->lock);
		seq = hsk->ready_seq;
		if (hsk->shutdown) {
			err = -ESHUTDOWN;
		} else if (id) {
			rpc = homa_rpc_find_client(hsk, id);
			if (!rpc)
				err = -EINVAL;
			else if (!(rpc->flags & HOMA_RPC_F_READY) ||
				 (rpc->flags & HOMA_RPC_F_CLAIMED))
				rpc = NULL;
		} else if (!list_empty(&hsk->ready_rpcs)) {
			rpc = list_first_entry(&hsk->ready_rpcs,
					       struct homa_rpc, ready_links);
		}
		if (rpc) {
			rpc->flags |= HOMA_RPC_F_CLAIMED;
			list_del_init(&rpc->ready_links);
			homa_rpc_hold(rpc);
		}
		spin_unlock_bh(&hsk->lock);
		if (rpc)
			break;
		if (err)
			goto fail;
		if (!timeo) {
			err = -EAGAIN;
			goto fail;
		}
		if (signal_pending(current)) {
			err = -EINTR;
			goto fail;
		}
		if (!polled) {
			/* Short waits are cheaper spinning than sleeping. */
			polled = true;
			if (homa_busy_poll(hsk, seq))
				continue;
		}
		timeo = wait_woken(&wait, TASK_INTERRUPTIBLE, timeo);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return rpc;

fail:
	remove_wait_queue(sk_sleep(sk), &wait);
	return ERR_PTR(err);
}

/**
 * homa_copy_to_user() - Copy a complete incoming message into the pool
 * space allocated for it. Called in the receiving process's context,
 * without locks, on an RPC the caller has claimed (so no one else touches
 * its packets).
 * @rpc: The RPC.
 *
 * Return: 0 or -EFAULT.
 */
int homa_copy_to_user(struct homa_rpc *rpc)
{
	struct homa_pool *pool = &rpc->hsk->pool;
	struct homa_msgin *m = &rpc->msgin;
	struct sk_buff *skb;

	skb_queue_walk(&m->packets, skb) {
		u32 offset = HOMA_SKB_CB(skb)->offset;
		u32 done = 0;

		while (done < skb->len) {
			u32 pos = offset + done;
			u32 in_page = pos & (HOMA_BPAGE_SIZE - 1);
			u32 n = min_t(u32, skb->len - done,
				      HOMA_BPAGE_SIZE - in_page);
			void __user *dst;
			struct iov_iter iter;
			struct iovec iov;

			dst = homa_pool_addr(pool,
					     m->bpage_offsets[pos >> HOMA_BPAGE_SHIFT]);
			if (import_single_range(READ, dst + in_page, n, &iov,
						&iter))
				return -EFAULT;
			if (skb_copy_datagram_iter(skb, done, &iter, n))
				return -EFAULT;
			done += n;
		}
	}
	return 0;
}

/**
 * homa_rpc_abort() - Make a client RPC fail. Caller holds the socket lock.
 * @rpc:   Client RPC.
 * @error: Positive errno that recvmsg will report for the RPC; 0 ends the
 *         RPC silently instead.
 */
void homa_rpc_abort(struct homa_rpc *rpc, int error)
{
	struct homa_sock *hsk = rpc->hsk;

	lockdep_assert_held(&hsk->lock);
	if (!error) {
		homa_rpc_end(rpc);
		return;
	}
	/* A recvmsg already owns it, or it already failed. */
	if (rpc->flags & HOMA_RPC_F_CLAIMED || rpc->state == HOMA_RPC_FAILED)
		return;
	rpc->error = error;
	rpc->state = HOMA_RPC_FAILED;
	homa_grant_rpc_end(rpc);
	homa_rpc_release_bufs(rpc);
	skb_queue_purge(&rpc->msgin.packets);
	homa_rpc_ready(rpc);
}

/* An ICMP error says a packet we sent from port @sport to @daddr:@dport
 * for RPC @id could not be delivered: fail the RPC with @error. A port
 * unreachable for a server's packet means the client socket is gone: all
 * of the server RPCs for that client port end (ICMP is rate-limited, so
 * one error may have to speak for many RPCs).
 */
static void homa_icmp_error(struct homa_net *hn, const struct in6_addr *daddr,
			    u16 sport, u16 dport, u64 id, int error)
{
	struct homa_rpc *rpc, *next;
	struct homa_sock *hsk;

	rcu_read_lock();
	hsk = homa_sock_find(hn, sport);
	if (!hsk) {
		rcu_read_unlock();
		return;
	}
	spin_lock_bh(&hsk->lock);
	if (homa_is_client(id)) {
		rpc = homa_rpc_find_client(hsk, id);
		if (rpc && rpc->dport == dport &&
		    ipv6_addr_equal(&rpc->peer->addr, daddr)) {
			homa_rpc_abort(rpc, error);
			homa_metric_inc(hn, HOMA_MET_RPCS_ICMP_ABORTED);
		}
	} else if (error == ENOTCONN) {
		/* The client's socket is gone: so are all its RPCs here. The
		 * work is bounded by the socket's RPCs.
		 */
		list_for_each_entry_safe(rpc, next, &hsk->active_rpcs,
					 active_links) {
			if (homa_rpc_is_client(rpc) || rpc->dport != dport ||
			    !ipv6_addr_equal(&rpc->peer->addr, daddr))
				continue;
			homa_rpc_end(rpc);
			homa_metric_inc(hn, HOMA_MET_RPCS_ICMP_ABORTED);
		}
	} else {
		/* Clients on different hosts may use the same id. */
		rpc = homa_rpc_find_server_addr(hsk, daddr, dport, id);
		if (rpc) {
			homa_rpc_end(rpc);
			homa_metric_inc(hn, HOMA_MET_RPCS_ICMP_ABORTED);
		}
	}
	spin_unlock_bh(&hsk->lock);
	rcu_read_unlock();
}

/**
 * homa_err_handler_v4() - Handle an ICMP error about a Homa packet we sent.
 * @skb:  The ICMP message; skb->data is at the IP header of our packet.
 * @info: ICMP info field (unused).
 *
 * Return: 0.
 */
int homa_err_handler_v4(struct sk_buff *skb, u32 info)
{
	struct homa_net *hn = homa_net(dev_net(skb->dev));
	const struct homa_common_hdr *h;
	const struct icmphdr *icmp = icmp_hdr(skb);
	const struct iphdr *iph;
	struct in6_addr daddr;
	int error;

	if (icmp->type != ICMP_DEST_UNREACH)
		return 0;
	error = icmp->code == ICMP_PORT_UNREACH ? ENOTCONN : EHOSTUNREACH;
	iph = (const struct iphdr *)skb->data;
	if (!pskb_may_pull(skb, iph->ihl * 4 + sizeof(*h)))
		return 0;
	iph = (const struct iphdr *)skb->data;
	h = (const struct homa_common_hdr *)(skb->data + iph->ihl * 4);
	ipv6_addr_set_v4mapped(iph->daddr, &daddr);
	homa_icmp_error(hn, &daddr, ntohs(h->sport), ntohs(h->dport),
			be64_to_cpu(h->sender_id), error);
	return 0;
}

/**
 * homa_err_handler_v6() - Handle an ICMPv6 error about a Homa packet we
 * sent.
 * @skb:    The ICMP message; skb->data is at the IPv6 header of our packet.
 * @opt:    Unused.
 * @type:   ICMPv6 type.
 * @code:   ICMPv6 code.
 * @offset: Offset of our Homa header from skb->data.
 * @info:   Unused.
 *
 * Return: 0.
 */
int homa_err_handler_v6(struct sk_buff *skb, struct inet6_skb_parm *opt,
			u8 type, u8 code, int offset, __be32 info)
{
	struct homa_net *hn = homa_net(dev_net(skb->dev));
	const struct homa_common_hdr *h;
	const struct ipv6hdr *ip6h;
	int error;

	if (type != ICMPV6_DEST_UNREACH)
		return 0;
	error = code == ICMPV6_PORT_UNREACH ? ENOTCONN : EHOSTUNREACH;
	if (!pskb_may_pull(skb, offset + sizeof(*h)))
		return 0;
	ip6h = (const struct ipv6hdr *)skb->data;
	h = (const struct homa_common_hdr *)(skb->data + offset);
	homa_icmp_error(hn, &ip6h->daddr, ntohs(h->sport), ntohs(h->dport),
			be64_to_cpu(h->sender_id), error);
	return 0;
}
