// SPDX-License-Identifier: GPL-2.0

/* Receiver-driven flow control: which bytes of incoming messages the
 * senders may transmit. Each message is granted a window beyond what it
 * has received, and the namespace as a whole stops granting while the
 * bytes it expects (granted but not received) exceed max_incoming.
 * Messages held back by that cap wait on the namespace's grant list and
 * are granted, oldest first, as budget comes back.
 *
 * SRPT ordering among messages, overcommitment limits, FIFO grants and
 * priorities belong here too and come with the scheduler; the interface
 * (homa_grant_update() on every change to a message,
 * homa_grant_recheck() after budget frees) stays the same.
 */

#include "homa_impl.h"

static void homa_grant_recheck_work(struct work_struct *work);

/**
 * homa_grant_init() - Initialise a namespace's grant state.
 * @g: State to initialise.
 */
void homa_grant_init(struct homa_grant *g)
{
	spin_lock_init(&g->lock);
	g->total_incoming = 0;
	g->num_charged = 0;
	INIT_LIST_HEAD(&g->waiting);
	INIT_WORK(&g->recheck_work, homa_grant_recheck_work);
}

/**
 * homa_grant_destroy() - Wait for a namespace's grant work to finish.
 * Called when the namespace goes away (no RPCs are left).
 * @g: State to tear down.
 */
void homa_grant_destroy(struct homa_grant *g)
{
	cancel_work_sync(&g->recheck_work);
}

/* Set how many bytes @rpc counts against max_incoming. Caller holds
 * g->lock.
 */
static void homa_grant_charge(struct homa_grant *g, struct homa_rpc *rpc,
			      int charge)
{
	struct homa_msgin *m = &rpc->msgin;

	lockdep_assert_held(&g->lock);
	if (charge > 0 && m->charged == 0)
		g->num_charged++;
	else if (charge == 0 && m->charged > 0)
		g->num_charged--;
	g->total_incoming += charge - m->charged;
	m->charged = charge;
}

/**
 * homa_grant_update() - Bring an incoming message's grant up to date
 * after it received data, got buffers, or budget came back; sends a
 * GRANT if the sender may now send more. Caller holds the socket lock.
 * @rpc: RPC with an incoming message.
 */
void homa_grant_update(struct homa_rpc *rpc)
{
	struct homa_params *p = &rpc->hsk->hnet->params;
	struct homa_grant *g = &rpc->hsk->hnet->grant;
	struct homa_msgin *m = &rpc->msgin;
	int received, window, target, limit, granted;
	struct homa_grant_hdr h;

	lockdep_assert_held(&rpc->hsk->lock);
	if (m->length < 0 || rpc->state == HOMA_RPC_DEAD)
		return;
	received = m->length - m->bytes_remaining;
	granted = m->granted;

	spin_lock_bh(&g->lock);
	if (m->bytes_remaining == 0 || !(rpc->flags & HOMA_RPC_F_BUFS)) {
		/* Done, or nowhere to put more data: grant nothing more. */
		list_del_init(&rpc->grant_links);
		homa_grant_charge(g, rpc, m->bytes_remaining == 0 ? 0 :
				  max(0, m->granted - received));
		spin_unlock_bh(&g->lock);
		return;
	}
	window = READ_ONCE(p->window);
	if (window == 0) {
		/* Active messages, counting this one even if it has no
		 * charge yet.
		 */
		int active = g->num_charged + (m->charged == 0);

		window = READ_ONCE(p->max_incoming) / (active + 1);
	}
	target = min(m->length, received + max(window, 1));
	if (target > granted) {
		/* The most this message may be granted so that the bytes
		 * expected, with its own charge recomputed, stay within
		 * max_incoming.
		 */
		limit = READ_ONCE(p->max_incoming) -
			(g->total_incoming - m->charged) + received;
		granted = max(granted, min(target, limit));
	}
	if (granted < target) {
		/* Held back by max_incoming: wait for budget. */
		if (list_empty(&rpc->grant_links))
			list_add_tail(&rpc->grant_links, &g->waiting);
	} else {
		list_del_init(&rpc->grant_links);
	}
	homa_grant_charge(g, rpc, max(0, granted - received));
	spin_unlock_bh(&g->lock);

	if (granted <= m->granted)
		return;
	m->granted = granted;
	memset(&h, 0, sizeof(h));
	h.offset = cpu_to_be32(granted);
	h.priority = 0;
	homa_xmit_control(rpc, HOMA_PKT_GRANT, &h, sizeof(h));
	homa_metric_inc(rpc->hsk->hnet, HOMA_MET_GRANTS_SENT);
}

/**
 * homa_grant_rpc_end() - Forget an RPC that is ending. Caller holds the
 * RPC's socket lock.
 * @rpc: The RPC.
 */
void homa_grant_rpc_end(struct homa_rpc *rpc)
{
	struct homa_grant *g = &rpc->hsk->hnet->grant;
	bool recheck;

	spin_lock_bh(&g->lock);
	list_del_init(&rpc->grant_links);
	recheck = rpc->msgin.charged > 0 && !list_empty(&g->waiting);
	homa_grant_charge(g, rpc, 0);
	spin_unlock_bh(&g->lock);

	/* Budget came back while others wait for it; the caller holds a
	 * socket lock, so hand the recheck to a work item.
	 */
	if (recheck)
		schedule_work(&g->recheck_work);
}

static void homa_grant_recheck_work(struct work_struct *work)
{
	struct homa_grant *g = container_of(work, struct homa_grant,
					    recheck_work);

	homa_grant_recheck(container_of(g, struct homa_net, grant));
}

/**
 * homa_grant_recheck() - Give budget that came back to messages waiting
 * for it. Called with no Homa lock held; handles a bounded number of
 * messages per call.
 * @hn: Namespace state.
 */
void homa_grant_recheck(struct homa_net *hn)
{
	struct homa_grant *g = &hn->grant;
	struct homa_sock *hsk;
	struct homa_rpc *rpc;
	int i;

	for (i = 0; i < HOMA_GRANT_RECHECK_MAX; i++) {
		spin_lock_bh(&g->lock);
		if (list_empty(&g->waiting) ||
		    g->total_incoming >= READ_ONCE(hn->params.max_incoming)) {
			spin_unlock_bh(&g->lock);
			return;
		}
		rpc = list_first_entry(&g->waiting, struct homa_rpc,
				       grant_links);
		list_del_init(&rpc->grant_links);
		homa_rpc_hold(rpc);
		hsk = rpc->hsk;
		sock_hold(&hsk->inet.sk);
		spin_unlock_bh(&g->lock);

		spin_lock_bh(&hsk->lock);
		homa_grant_update(rpc);
		spin_unlock_bh(&hsk->lock);
		homa_rpc_put(rpc);
		sock_put(&hsk->inet.sk);
	}
}
