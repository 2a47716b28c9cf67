// SPDX-License-Identifier: GPL-2.0

/* The retransmission timer. Every tick_usecs each namespace looks at all
 * of its RPCs and, for each one that waits for its peer, counts the ticks
 * of silence (any packet about the RPC from the peer resets the count,
 * homa_rpc_heard()). A silent RPC asks the peer with RESEND:
 *
 * - the receiver of a message asks for the ranges it misses among the
 *   bytes the sender may send (unscheduled or granted), one RESEND per
 *   range, at most HOMA_RESENDS_PER_TICK of them and HOMA_RESEND_BYTES
 *   in all;
 * - a client that sent its whole request and has no response yet asks
 *   for the start of the response (the server answers BUSY while it
 *   serves the request, RPC_UNKNOWN if the request never arrived);
 * - the sender of a message that waits for grants asks with an empty
 *   range, so that a receiver which is alive answers BUSY.
 *
 * A server that sent its whole response asks the client for an ack
 * (NEED_ACK) after request_ack_ticks of silence; the client answers ACK,
 * or BUSY while its response is incomplete (it asks for the missing bytes
 * itself, and a server that gave the RPC up then would lose the response
 * the client is still receiving). An RPC silent for
 * timeout_ticks whose peer host has also sent us nothing for timeout_ticks
 * (the host is dead or cut off) is ended: a client RPC fails with
 * ETIMEDOUT, a server RPC is freed. While the host talks to us, its
 * silence about one RPC only means that the RPC waits for its turn: a live
 * host answers every RESEND (retransmission, BUSY or RPC_UNKNOWN), and
 * giving up a server RPC whose client is alive would let a restarted
 * request run twice. A peer that has not answered a RESEND sent in an
 * earlier tick gets the RESENDs of at most one RPC per tick, so an
 * overloaded host is not flooded with them; since RPCs wait
 * resend_interval ticks between RESENDs, the ones held back get their
 * turn on later ticks.
 *
 * Silence can also mean that packets wait in long queues (an overloaded
 * host; under emulation, tens of ticks), and asking then only doubles the
 * traffic. So each peer keeps how long it takes to answer us
 * (homa_peer.answer_ticks, measured as lower bounds so that losses never
 * inflate it: homa_rpc_answered()), and its RPCs wait at least that long
 * in silence before they ask and between two RESENDs. A sender does not
 * send again bytes that left more recently than that (or than
 * resend_ticks), nor asks itself while such bytes of its own are on their
 * way (homa_msgout_young()): the RESEND was sent before they could
 * arrive. Bytes count from the moment they leave this host (a device sent
 * them, a queue dropped them, or over veth the receiving side took them
 * in: homa_msgout.marks); while still queued here they are young however
 * long ago they were sent, as the peer cannot have got them.
 *
 * Our own receive backlogs can hold the peer's packets too (loopback,
 * veth, RPS; tens of ticks under emulation): silence counts only beyond
 * how long the oldest packet in them has waited (homa_rx_clock_lag(),
 * homa_timer.rx_lag), and a RESEND that waited in them asked for bytes
 * that left us since before they could arrive (homa_rx_clock_waited()).
 *
 * The tick runs in a work item (process context) started by an hrtimer.
 * It walks the port table under RCU and each socket's RPCs under the
 * socket's lock: the work under one lock is bounded by the RPCs of that
 * socket, and each RPC costs at most one RESEND or NEED_ACK (or the
 * retransmission of its granted bytes after an allocation failure).
 */

#include <kunit/visibility.h>
#include <linux/hrtimer.h>

#include "homa_impl.h"

/* Longest sample kept in homa_peer.answer_ticks. */
#define HOMA_ANSWER_TICKS_MAX	65535

/* The peer's answer time (homa_peer.answer_ticks) as of tick @now: it
 * halves for every 2 * answer_ticks ticks without a new sample, so a host
 * that was slow once is soon asked at the usual pace again.
 */
static u32 homa_peer_answer_ticks(const struct homa_peer *peer, u32 now)
{
	u32 est = READ_ONCE(peer->answer_ticks);
	u32 age = now - READ_ONCE(peer->answer_tick);

	/* est <= HOMA_ANSWER_TICKS_MAX: at most 16 rounds. */
	while (est && age >= 2 * est) {
		age -= 2 * est;
		est /= 2;
	}
	return est;
}

/**
 * homa_rpc_answered() - The peer sent a packet about @rpc that answers a
 * RESEND (BUSY, RPC_UNKNOWN or retransmitted DATA), or DATA sent for the
 * first time that continues a message we asked about: record in the peer
 * how long it takes. Every sample is a lower bound, so that lost RESENDs
 * and lost answers (a lossy network) never make it grow: an answer in an
 * open round took at least the time since the round's latest RESEND; one
 * that comes after its round ended (the answer to an earlier RESEND of
 * the round, while the peer answers more slowly than we ask) at least
 * the time since the last RESEND of that round; and first-transmission
 * DATA that was only late shows how long the message's silence lasted.
 * The largest recent sample wins; one below half of the current value
 * is ignored, and the value decays without fresh ones
 * (homa_peer_answer_ticks()). Caller holds the socket lock and calls
 * this before homa_rpc_heard() ends the round.
 * @rpc:  The RPC.
 * @late: The packet is first-transmission DATA of a message under way.
 */
void homa_rpc_answered(struct homa_rpc *rpc, bool late)
{
	struct homa_peer *peer = rpc->peer;
	u32 now, sample, est;

	now = READ_ONCE(rpc->hsk->hnet->timer.ticks);
	if (rpc->resend_tick)
		sample = late ? rpc->silent_ticks : now - rpc->resend_tick;
	else if (!late && rpc->prev_resend_tick)
		sample = now - rpc->prev_resend_tick;
	else
		return;
	sample = min_t(u32, sample, HOMA_ANSWER_TICKS_MAX);
	est = homa_peer_answer_ticks(peer, now);
	if (sample < est / 2)
		return;
	WRITE_ONCE(peer->answer_ticks, max(est, sample));
	WRITE_ONCE(peer->answer_tick, now);
}
EXPORT_SYMBOL_IF_KUNIT(homa_rpc_answered);

/* Ticks an RPC waits, in silence and between two RESENDs, at least: its
 * peer's answer time, capped at a quarter of timeout_ticks so that a
 * silent RPC still asks several times before it may time out.
 */
static u32 homa_timer_wait(const struct homa_rpc *rpc, u32 now,
			   const struct homa_params *p)
{
	return min_t(u32, homa_peer_answer_ticks(rpc->peer, now),
		     READ_ONCE(p->timeout_ticks) / 4);
}

/**
 * homa_rpc_young_ticks() - How recently bytes of an RPC's outgoing message
 * must have left this host for a RESEND that asks for them to count as sent
 * before they could arrive (homa_resend_data()): resend_ticks, or the
 * peer's answer time if that is longer, or longer than the oldest packet
 * in our receive backlogs has waited (homa_timer.rx_lag, queued in tick
 * now - rx_lag or later: a peer in this host, over loopback or veth, may
 * not have processed bytes that left since).
 * @rpc: The RPC.
 * @now: The current tick.
 *
 * Return: ticks.
 */
u32 homa_rpc_young_ticks(const struct homa_rpc *rpc, u32 now)
{
	const struct homa_net *hn = rpc->hsk->hnet;
	const struct homa_params *p = &hn->params;
	u32 lag = READ_ONCE(hn->timer.rx_lag);

	return max3((u32)READ_ONCE(p->resend_ticks),
		    homa_timer_wait(rpc, now, p), lag ? lag + 1 : 0);
}

/* Whether an RPC that is silent now may send a RESEND or NEED_ACK, given
 * that packets queued in our receive backlogs @lag ticks ago or later may
 * not have been seen yet: it has been silent beyond @lag for @first ticks
 * and for @wait (as long as its peer takes to answer), and sent none for
 * resend_interval (or @wait) beyond @lag.
 */
static bool homa_timer_due_lag(const struct homa_rpc *rpc, u32 now, u32 first,
			       u32 wait, u32 lag, const struct homa_params *p)
{
	if (rpc->silent_ticks < max(first, wait) + lag)
		return false;
	return !rpc->resend_tick ||
	       now - rpc->resend_tick >=
	       max_t(u32, READ_ONCE(p->resend_interval), wait) + lag;
}

/* homa_timer_due_lag() with this tick's receive lag (homa_timer.rx_lag);
 * counts the RPCs held back by the lag alone.
 */
static bool homa_timer_due(struct homa_rpc *rpc, u32 now, u32 first,
			   const struct homa_params *p)
{
	u32 lag = READ_ONCE(rpc->hsk->hnet->timer.rx_lag);
	u32 wait = homa_timer_wait(rpc, now, p);

	if (homa_timer_due_lag(rpc, now, first, wait, lag, p))
		return true;
	if (lag && homa_timer_due_lag(rpc, now, first, wait, 0, p))
		homa_metric_inc(rpc->hsk->hnet, HOMA_MET_RESENDS_RX_LAG);
	return false;
}

/* Whether the incoming message of @rpc misses bytes its sender may send
 * without a further grant.
 */
static bool homa_msgin_expecting(const struct homa_msgin *m)
{
	if (m->bytes_remaining == 0)
		return false;
	return m->num_gaps > 0 || m->recv_end < m->granted;
}

/* Whether @rpc, silent for another tick, is given up: it has been silent
 * for timeout_ticks and either its peer host sent nothing for as long, or
 * the host answers others but left as many of this RPC's own RESENDs
 * unanswered as are sent in timeout_ticks (its port is gone). An RPC held
 * back by the per-peer RESEND limit sends few, so it is not given up.
 */
static bool homa_timer_timed_out(struct homa_rpc *rpc, u32 now,
				 const struct homa_params *p)
{
	u32 limit = READ_ONCE(p->timeout_ticks);

	rpc->silent_ticks++;
	if (rpc->silent_ticks < limit)
		return false;
	if (now - READ_ONCE(rpc->peer->heard_tick) >= limit)
		return true;
	/* As many as resend_interval allows in timeout_ticks: an RPC that
	 * waits longer between RESENDs for a slow peer (homa_timer_wait())
	 * waits longer before it gives up on the peer's port too.
	 * resend_interval is at least 1 (sysctl range).
	 */
	return rpc->unanswered >=
	       max_t(u32, 2, limit / READ_ONCE(p->resend_interval));
}

/* End an RPC that timed out: a client RPC fails with ETIMEDOUT (recvmsg
 * returns it), a server RPC is freed.
 */
static void homa_timer_give_up(struct homa_rpc *rpc, bool client)
{
	homa_metric_inc(rpc->hsk->hnet, HOMA_MET_RPC_TIMEOUTS);
	if (client)
		homa_rpc_abort(rpc, ETIMEDOUT);
	else
		homa_rpc_end(rpc);
}

/* Most RESENDs (one per missing range) an RPC sends in one tick. */
#define HOMA_RESENDS_PER_TICK	8

/* Whether an RPC may send RESENDs in this tick: a peer that has not
 * answered a RESEND of an earlier tick gets only one RPC's RESENDs per
 * tick, and that RPC is one that has waited longest (the RPCs held back in
 * the previous tick name the longest wait: see homa_peer.wait_tick), so
 * that all of the peer's RPCs get their turn. Records the RESEND in the
 * peer and the RPC if so. The peer fields are hints (no lock: ticks of one
 * namespace do not overlap, but RPCs of several sockets share a peer).
 */
static bool homa_timer_may_resend(struct homa_rpc *rpc, u32 now)
{
	struct homa_peer *peer = rpc->peer;
	bool limited;

	if (READ_ONCE(peer->turn_tick) != now) {
		WRITE_ONCE(peer->turn_min,
			   READ_ONCE(peer->wait_tick) == now - 1 ?
			   READ_ONCE(peer->wait_min) : U32_MAX);
		WRITE_ONCE(peer->turn_tick, now);
	}
	limited = READ_ONCE(peer->outstanding_resends) &&
		  READ_ONCE(peer->resend_tick) != now;
	if (READ_ONCE(peer->limit_tick) == now ||
	    (limited && rpc->resend_tick > READ_ONCE(peer->turn_min))) {
		if (READ_ONCE(peer->wait_tick) != now ||
		    rpc->resend_tick < READ_ONCE(peer->wait_min))
			WRITE_ONCE(peer->wait_min, rpc->resend_tick);
		WRITE_ONCE(peer->wait_tick, now);
		homa_metric_inc(rpc->hsk->hnet, HOMA_MET_RESENDS_LIMITED);
		return false;
	}
	if (limited)
		WRITE_ONCE(peer->limit_tick, now);
	WRITE_ONCE(peer->outstanding_resends,
		   READ_ONCE(peer->outstanding_resends) + 1);
	WRITE_ONCE(peer->resend_tick, now);
	rpc->resend_tick = now;
	rpc->unanswered++;
	return true;
}

/* Send a RESEND for [@offset, @offset + @length) of the peer's message. */
static void homa_xmit_resend(struct homa_rpc *rpc, u32 offset, u32 length)
{
	struct homa_resend_hdr h;

	memset(&h, 0, sizeof(h));
	h.offset = cpu_to_be32(offset);
	h.length = cpu_to_be32(length);
	h.priority = 0;
	homa_xmit_control(rpc, HOMA_PKT_RESEND, &h, sizeof(h));
}

/* Most bytes an RPC asks for in one round of RESENDs. Silence can also
 * mean that the bytes wait in a long queue; asking for a whole window
 * again would double the traffic exactly when the network is slowest.
 */
#define HOMA_RESEND_BYTES	65536

/* Ask for the missing ranges of an incoming message, lowest first: holes
 * below recv_end, then granted bytes beyond it; at most
 * HOMA_RESENDS_PER_TICK ranges and HOMA_RESEND_BYTES in all.
 */
static void homa_timer_resend_gaps(struct homa_rpc *rpc)
{
	struct homa_msgin *in = &rpc->msgin;
	u32 budget = HOMA_RESEND_BYTES;
	struct homa_gap *gap;
	u32 len;
	int n = 0;

	list_for_each_entry(gap, &in->gaps, links) {
		if (n++ == HOMA_RESENDS_PER_TICK || !budget)
			return;
		len = min(gap->end - gap->start, budget);
		homa_xmit_resend(rpc, gap->start, len);
		budget -= len;
	}
	if (n < HOMA_RESENDS_PER_TICK && budget && in->recv_end < in->granted)
		homa_xmit_resend(rpc, in->recv_end,
				 min_t(u32, in->granted - in->recv_end, budget));
}

/**
 * homa_timer_rpc() - One tick for one RPC. Caller holds the socket lock.
 * @rpc: The RPC; it may be ended here (unlinked from the socket).
 * @now: The tick count.
 */
static void homa_timer_rpc(struct homa_rpc *rpc, u32 now)
{
	const struct homa_params *p = &rpc->hsk->hnet->params;
	struct homa_msgout *out = &rpc->msgout;
	struct homa_msgin *in = &rpc->msgin;
	bool client = homa_rpc_is_client(rpc);
	u32 offset, length;

	switch (rpc->state) {
	case HOMA_RPC_OUTGOING:
		if (out->length < 0)
			return;
		if (out->next_offset < out->granted) {
			/* Our turn to send: a packet found no memory or a
			 * full device, or the socket's device queue is full.
			 * A device or route that takes nothing for
			 * timeout_ticks cuts us off from the peer like a dead
			 * link does.
			 */
			homa_xmit_data(rpc);
			if (out->next_offset < out->granted &&
			    homa_timer_timed_out(rpc, now, p))
				homa_timer_give_up(rpc, client);
			return;
		}
		if (!client && out->next_offset >= out->length) {
			/* The whole response went out: wait for the ack. */
			if (homa_timer_timed_out(rpc, now, p)) {
				homa_timer_give_up(rpc, client);
				return;
			}
			if (homa_timer_due(rpc, now,
					   READ_ONCE(p->request_ack_ticks),
					   p)) {
				struct homa_need_ack_hdr h;

				memset(&h, 0, sizeof(h));
				homa_xmit_control(rpc, HOMA_PKT_NEED_ACK, &h,
						  sizeof(h));
				rpc->resend_tick = now;
				rpc->unanswered++;
			}
			return;
		}
		if (client && out->next_offset >= out->length) {
			/* Waiting for the response to start. */
			offset = 0;
			length = READ_ONCE(p->unsched_bytes);
		} else {
			/* Waiting for a grant: are you there? */
			offset = out->granted;
			length = 0;
		}
		break;
	case HOMA_RPC_INCOMING:
		if (!homa_msgin_expecting(in)) {
			/* Complete, or waiting for us (grants, buffers). */
			homa_rpc_heard(rpc);
			return;
		}
		/* Ranges: see homa_timer_resend_gaps(). */
		offset = 0;
		length = 0;
		break;
	default:
		/* Serving a request (the application's turn), failed, or
		 * dead: nothing to wait for.
		 */
		return;
	}

	if (homa_timer_timed_out(rpc, now, p)) {
		homa_timer_give_up(rpc, client);
		return;
	}
	/* Bytes of ours still queued in this host, or that left it
	 * recently (homa_msgout_young(), homa_rpc_young_ticks()), may not
	 * have arrived: a RESEND now could overtake them (and a server that
	 * has no request yet would answer RPC_UNKNOWN, restarting it).
	 */
	if (rpc->state == HOMA_RPC_OUTGOING &&
	    homa_msgout_young(out, now, homa_rpc_young_ticks(rpc, now)) <
	    out->next_offset)
		return;
	if (!homa_timer_due(rpc, now, READ_ONCE(p->resend_ticks), p) ||
	    !homa_timer_may_resend(rpc, now))
		return;
	if (rpc->state == HOMA_RPC_INCOMING)
		homa_timer_resend_gaps(rpc);
	else
		homa_xmit_resend(rpc, offset, length);
}

/* Start the next tick of a namespace; returns its number. Only the tick
 * work (or a KUnit test that stopped it) writes ticks; 0 means "never"
 * in RPCs.
 */
static u32 homa_timer_advance(struct homa_net *hn)
{
	u32 now = READ_ONCE(hn->timer.ticks) + 1;

	if (now == 0)
		now = 1;
	WRITE_ONCE(hn->timer.ticks, now);
	return now;
}

/* Check every RPC of every socket of a namespace in tick @now. */
static void homa_timer_check(struct homa_net *hn, u32 now, u32 rx_lag)
{
	struct homa_rpc *rpc, *next;
	struct homa_sock *hsk;
	int i;

	WRITE_ONCE(hn->timer.rx_lag, rx_lag);
	rcu_read_lock();
	for (i = 0; i < HOMA_SOCKTAB_BUCKETS; i++) {
		hlist_for_each_entry_rcu(hsk, &hn->socktab.buckets[i],
					 socktab_links) {
			if (READ_ONCE(hsk->shutdown))
				continue;
			spin_lock_bh(&hsk->lock);
			list_for_each_entry_safe(rpc, next, &hsk->active_rpcs,
						 active_links)
				homa_timer_rpc(rpc, now);
			spin_unlock_bh(&hsk->lock);
		}
	}
	rcu_read_unlock();
}

/* One tick of the namespace's timer (the tick work, process context):
 * note the receive backlogs (homa_rx_clock.c), then check the RPCs.
 */
static void homa_timer_tick(struct homa_net *hn)
{
	u32 now = homa_timer_advance(hn);

	homa_rx_clock_sample(hn, now);
	homa_timer_check(hn, now, homa_rx_clock_lag(hn, now));
}

/**
 * homa_timer_step() - Advance a namespace's timer by one tick as
 * homa_timer_tick() does, with a receive lag given by the caller: for
 * the KUnit tests, which stop the timer and step time themselves.
 * @hn:     Namespace state.
 * @rx_lag: Ticks the oldest packet in our receive backlogs has waited
 *          (homa_rx_clock_lag()).
 */
void homa_timer_step(struct homa_net *hn, u32 rx_lag)
{
	homa_timer_check(hn, homa_timer_advance(hn), rx_lag);
}
EXPORT_SYMBOL_IF_KUNIT(homa_timer_step);

static ktime_t homa_timer_interval(struct homa_net *hn)
{
	return ns_to_ktime(READ_ONCE(hn->params.tick_usecs) *
			   (u64)NSEC_PER_USEC);
}

static void homa_timer_work(struct work_struct *work)
{
	struct homa_timer *t = container_of(work, struct homa_timer, work);

	homa_timer_tick(container_of(t, struct homa_net, timer));
}

static enum hrtimer_restart homa_timer_fire(struct hrtimer *timer)
{
	struct homa_timer *t = container_of(timer, struct homa_timer, hrtimer);
	struct homa_net *hn = container_of(t, struct homa_net, timer);

	/* If the previous tick still runs, this one is merged into it.
	 * Ticks without RPCs change nothing, so they are skipped.
	 */
	if (atomic_read(&hn->num_rpcs))
		schedule_work(&t->work);
	hrtimer_forward_now(timer, homa_timer_interval(hn));
	return HRTIMER_RESTART;
}

/**
 * homa_timer_start() - Start a namespace's timer (namespace creation, or a
 * KUnit test done stepping time itself).
 * @hn: Namespace state; homa_timer_init() was called.
 */
void homa_timer_start(struct homa_net *hn)
{
	hrtimer_start(&hn->timer.hrtimer, homa_timer_interval(hn),
		      HRTIMER_MODE_REL);
}
EXPORT_SYMBOL_IF_KUNIT(homa_timer_start);

/**
 * homa_timer_stop() - Stop a namespace's timer and wait for a tick in
 * progress to finish. The tick work never restarts the hrtimer, so after
 * this no tick runs until homa_timer_start().
 * @hn: Namespace state.
 */
void homa_timer_stop(struct homa_net *hn)
{
	hrtimer_cancel(&hn->timer.hrtimer);
	cancel_work_sync(&hn->timer.work);
}
EXPORT_SYMBOL_IF_KUNIT(homa_timer_stop);

/**
 * homa_timer_init() - Set up (but do not start) a namespace's timer.
 * @hn: Namespace state.
 *
 * Return: 0, or -ENOMEM.
 */
int homa_timer_init(struct homa_net *hn)
{
	hn->timer.rx_tails = alloc_percpu(struct homa_rx_tails);
	if (!hn->timer.rx_tails)
		return -ENOMEM;
	memset(hn->timer.rx_slot_tick, 0, sizeof(hn->timer.rx_slot_tick));
	hn->timer.rx_lag = 0;
	hn->timer.ticks = 0;
	INIT_WORK(&hn->timer.work, homa_timer_work);
	hrtimer_init(&hn->timer.hrtimer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	hn->timer.hrtimer.function = homa_timer_fire;
	return 0;
}

/**
 * homa_timer_destroy() - Free what homa_timer_init() allocated; the timer
 * is stopped (homa_timer_stop()).
 * @hn: Namespace state.
 */
void homa_timer_destroy(struct homa_net *hn)
{
	free_percpu(hn->timer.rx_tails);
	hn->timer.rx_tails = NULL;
}
