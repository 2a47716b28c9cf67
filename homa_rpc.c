// SPDX-License-Identifier: GPL-2.0

/* RPC objects: creation, lookup in a socket's client and server tables,
 * and the two-step end of life (homa_rpc_end() unlinks under the socket
 * lock; homa_rpc_put() frees when the last reference goes).
 */

#include <kunit/visibility.h>
#include <linux/hash.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "homa_impl.h"

static struct hlist_head *homa_rpc_bucket(struct hlist_head *table, u64 id)
{
	return &table[hash_64(id, ilog2(HOMA_RPC_BUCKETS))];
}

static struct homa_rpc *homa_rpc_new(struct homa_sock *hsk,
				     struct homa_peer *peer, u16 dport, u64 id)
{
	struct homa_rpc *rpc;

	rpc = kzalloc(sizeof(*rpc), GFP_ATOMIC);
	if (!rpc)
		return NULL;
	if (!homa_peer_hold_rpc(peer)) {
		/* Evicted from a full peer table just now: rare. */
		kfree(rpc);
		return NULL;
	}
	rpc->hsk = hsk;
	rpc->peer = peer;
	rpc->dport = dport;
	rpc->id = id;
	refcount_set(&rpc->refs, 1);
	INIT_LIST_HEAD(&rpc->active_links);
	INIT_LIST_HEAD(&rpc->ready_links);
	INIT_LIST_HEAD(&rpc->grant_links);
	INIT_LIST_HEAD(&rpc->throttle_links);
	rpc->msgout.length = -1;
	spin_lock_init(&rpc->msgout.marks_lock);
	rpc->msgin.length = -1;
	INIT_LIST_HEAD(&rpc->msgin.gaps);
	skb_queue_head_init(&rpc->msgin.packets);
	return rpc;
}

/**
 * homa_rpc_alloc_client() - Create a client RPC and enter it in its
 * socket's table. Caller holds the socket lock.
 * @hsk:   Socket.
 * @peer:  Server host.
 * @dport: Server port.
 *
 * Return: the RPC (state HOMA_RPC_OUTGOING, no message yet), or NULL if
 * memory is short.
 */
struct homa_rpc *homa_rpc_alloc_client(struct homa_sock *hsk,
				       struct homa_peer *peer, u16 dport)
{
	struct homa_rpc *rpc;
	u64 id;

	lockdep_assert_held(&hsk->lock);
	id = atomic64_add_return(2, &hsk->hnet->next_id);
	rpc = homa_rpc_new(hsk, peer, dport, id);
	if (!rpc)
		return NULL;
	rpc->state = HOMA_RPC_OUTGOING;
	hlist_add_head(&rpc->hash_links,
		       homa_rpc_bucket(hsk->client_rpcs, id));
	list_add_tail(&rpc->active_links, &hsk->active_rpcs);
	hsk->num_rpcs++;
	atomic_inc(&hsk->hnet->num_rpcs);
	return rpc;
}
EXPORT_SYMBOL_IF_KUNIT(homa_rpc_alloc_client);

/**
 * homa_rpc_alloc_server() - Create a server RPC for an arriving request
 * and enter it in its socket's table. Caller holds the socket lock.
 * @hsk:   Socket.
 * @peer:  Client host.
 * @dport: Client port.
 * @id:    Local id (the client's id with the low bit set).
 *
 * Return: the RPC (state HOMA_RPC_INCOMING), or NULL if memory is short.
 */
struct homa_rpc *homa_rpc_alloc_server(struct homa_sock *hsk,
				       struct homa_peer *peer, u16 dport,
				       u64 id)
{
	struct homa_rpc *rpc;

	lockdep_assert_held(&hsk->lock);
	rpc = homa_rpc_new(hsk, peer, dport, id);
	if (!rpc)
		return NULL;
	rpc->state = HOMA_RPC_INCOMING;
	hlist_add_head(&rpc->hash_links,
		       homa_rpc_bucket(hsk->server_rpcs, id));
	list_add_tail(&rpc->active_links, &hsk->active_rpcs);
	hsk->num_rpcs++;
	atomic_inc(&hsk->hnet->num_rpcs);
	return rpc;
}

/**
 * homa_rpc_find_client() - Find a live client RPC of a socket. Caller
 * holds the socket lock.
 * @hsk: Socket.
 * @id:  Local id.
 *
 * Return: the RPC, or NULL.
 */
struct homa_rpc *homa_rpc_find_client(struct homa_sock *hsk, u64 id)
{
	struct homa_rpc *rpc;

	lockdep_assert_held(&hsk->lock);
	hlist_for_each_entry(rpc, homa_rpc_bucket(hsk->client_rpcs, id),
			     hash_links) {
		if (rpc->id == id)
			return rpc;
	}
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(homa_rpc_find_client);

/**
 * homa_rpc_find_server() - Find a live server RPC of a socket. Caller
 * holds the socket lock.
 * @hsk:   Socket.
 * @peer:  Client host, or NULL to match any host and port.
 * @dport: Client port (ignored when @peer is NULL). Ids are unique per
 *         client socket only: RPCs of two sockets on one host may share
 *         an id, so a packet's RPC is found by host, port and id.
 * @id:    Local id.
 *
 * Return: the RPC, or NULL.
 */
struct homa_rpc *homa_rpc_find_server(struct homa_sock *hsk,
				      const struct homa_peer *peer, u16 dport,
				      u64 id)
{
	struct homa_rpc *rpc;

	lockdep_assert_held(&hsk->lock);
	hlist_for_each_entry(rpc, homa_rpc_bucket(hsk->server_rpcs, id),
			     hash_links) {
		if (rpc->id == id &&
		    (!peer || (rpc->peer == peer && rpc->dport == dport)))
			return rpc;
	}
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(homa_rpc_find_server);

/**
 * homa_rpc_find_server_addr() - Find a live server RPC of a socket by its
 * client's address. Caller holds the socket lock.
 * @hsk:  Socket.
 * @addr: Client host (IPv4 v4-mapped).
 * @port: Client port.
 * @id:   Local id.
 *
 * Return: the RPC, or NULL.
 */
struct homa_rpc *homa_rpc_find_server_addr(struct homa_sock *hsk,
					   const struct in6_addr *addr,
					   u16 port, u64 id)
{
	struct homa_rpc *rpc;

	lockdep_assert_held(&hsk->lock);
	hlist_for_each_entry(rpc, homa_rpc_bucket(hsk->server_rpcs, id),
			     hash_links) {
		if (rpc->id == id && rpc->dport == port &&
		    ipv6_addr_equal(&rpc->peer->addr, addr))
			return rpc;
	}
	return NULL;
}

/**
 * homa_rpc_release_bufs() - Give an incoming message's pool space back,
 * if it has any. Caller holds the socket lock.
 * @rpc: The RPC.
 */
void homa_rpc_release_bufs(struct homa_rpc *rpc)
{
	lockdep_assert_held(&rpc->hsk->lock);
	if (!(rpc->flags & HOMA_RPC_F_BUFS))
		return;
	rpc->flags &= ~HOMA_RPC_F_BUFS;
	homa_pool_release(&rpc->hsk->pool, rpc->msgin.num_bpages,
			  rpc->msgin.bpage_offsets);
	/* Messages waiting for space may fit now. */
	homa_pool_check_waiters(rpc->hsk);
}

/**
 * homa_msgin_consume() - Free the packets of an incoming message whose
 * data reached the application (consume_skb(), so that drop monitors do
 * not count them). Caller holds the socket lock.
 * @m: The message.
 */
void homa_msgin_consume(struct homa_msgin *m)
{
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(&m->packets)))
		consume_skb(skb);
}

/* Free an incoming message's packets (dropped: the RPC ended before the
 * application got them) and gap records.
 */
static void homa_msgin_free(struct homa_msgin *m)
{
	struct homa_gap *gap, *next;

	list_for_each_entry_safe(gap, next, &m->gaps, links)
		kfree(gap);
	INIT_LIST_HEAD(&m->gaps);
	m->num_gaps = 0;
	skb_queue_purge(&m->packets);
}

/**
 * homa_rpc_restart() - Start a client RPC over: the server said it does
 * not know the RPC (RPC_UNKNOWN), so whatever it received was lost. Drops
 * any partial response and sends the request again from its first byte.
 * Caller holds the socket lock.
 * @rpc: Client RPC whose response has not been completely received.
 */
void homa_rpc_restart(struct homa_rpc *rpc)
{
	struct homa_msgin *m = &rpc->msgin;

	lockdep_assert_held(&rpc->hsk->lock);
	homa_grant_rpc_end(rpc);
	homa_rpc_release_bufs(rpc);
	list_del_init(&rpc->ready_links);
	homa_msgin_free(m);
	m->length = -1;
	m->bytes_remaining = 0;
	m->recv_end = 0;
	m->granted = 0;
	m->num_bpages = 0;
	rpc->state = HOMA_RPC_OUTGOING;
	homa_rpc_heard(rpc);
	homa_msgout_reset(rpc);
	homa_xmit_data(rpc);
}

/**
 * homa_rpc_end() - End an RPC: unlink it from its socket and namespace,
 * give back its pool space, memory charge and incoming-byte budget.
 * Caller holds the socket lock. Safe to call twice.
 * @rpc: The RPC; the socket's reference to it is dropped.
 */
void homa_rpc_end(struct homa_rpc *rpc)
{
	struct homa_sock *hsk = rpc->hsk;

	lockdep_assert_held(&hsk->lock);
	if (rpc->state == HOMA_RPC_DEAD)
		return;
	rpc->state = HOMA_RPC_DEAD;
	hlist_del(&rpc->hash_links);
	list_del_init(&rpc->active_links);
	list_del_init(&rpc->ready_links);
	list_del_init(&rpc->throttle_links);
	hsk->num_rpcs--;
	atomic_dec(&hsk->hnet->num_rpcs);
	homa_grant_rpc_end(rpc);

	/* Pool space not yet handed to the application goes back; a
	 * recvmsg that claimed the RPC is handing it over right now.
	 */
	if (rpc->flags & HOMA_RPC_F_CLAIMED)
		rpc->flags &= ~HOMA_RPC_F_BUFS;
	else
		homa_rpc_release_bufs(rpc);
	if (rpc->msgout.length >= 0)
		hsk->wmem_queued -= rpc->msgout.length;
	homa_rpc_put(rpc);
}

/**
 * homa_rpc_put() - Drop a reference; the last one frees the RPC. May be
 * called in any context, with or without the socket lock.
 * @rpc: The RPC.
 */
void homa_rpc_put(struct homa_rpc *rpc)
{
	if (!refcount_dec_and_test(&rpc->refs))
		return;
	homa_msgin_free(&rpc->msgin);
	atomic_dec(&rpc->peer->rpcs);
	kvfree(rpc->msgout.buf);
	kfree(rpc);
}
