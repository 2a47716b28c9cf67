// SPDX-License-Identifier: GPL-2.0

/* Socket-level state of Homa: the per-namespace port table, automatic
 * port assignment and bind(). IPv4 and IPv6 sockets of one namespace
 * share a single port space.
 */

#include <kunit/visibility.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/slab.h>
#include <net/ipv6.h>

#include "homa_impl.h"

static struct hlist_head *homa_socktab_bucket(struct homa_socktab *tab,
					      u16 port)
{
	return &tab->buckets[port & (HOMA_SOCKTAB_BUCKETS - 1)];
}

/**
 * homa_socktab_init() - Initialise an empty port table.
 * @tab: Table to initialise.
 */
void homa_socktab_init(struct homa_socktab *tab)
{
	int i;

	spin_lock_init(&tab->lock);
	tab->next_client_port = HOMA_MIN_DEFAULT_PORT;
	for (i = 0; i < HOMA_SOCKTAB_BUCKETS; i++)
		INIT_HLIST_HEAD(&tab->buckets[i]);
}

/**
 * homa_socktab_destroy() - Check that a port table being discarded is
 * empty (every socket holds its namespace, so it must be).
 * @tab: Table of a namespace that is going away.
 */
void homa_socktab_destroy(struct homa_socktab *tab)
{
	int i;

	for (i = 0; i < HOMA_SOCKTAB_BUCKETS; i++)
		WARN_ON_ONCE(!hlist_empty(&tab->buckets[i]));
}

/* Caller holds tab->lock or rcu_read_lock(). */
static struct homa_sock *homa_socktab_lookup(struct homa_socktab *tab,
					     u16 port)
{
	struct homa_sock *hsk;

	hlist_for_each_entry_rcu(hsk, homa_socktab_bucket(tab, port),
				 socktab_links, lockdep_is_held(&tab->lock)) {
		if (hsk->port == port)
			return hsk;
	}
	return NULL;
}

/**
 * homa_sock_find() - Find the socket that owns a port.
 * @hn:   Namespace state.
 * @port: Port number.
 *
 * Caller must hold rcu_read_lock(); the socket may be used until
 * rcu_read_unlock() (sockets are freed after a grace period), or longer
 * after sock_hold().
 *
 * Return: the socket, or NULL if no socket has @port.
 */
struct homa_sock *homa_sock_find(struct homa_net *hn, u16 port)
{
	return homa_socktab_lookup(&hn->socktab, port);
}

/* Set the port a socket uses and the source port getsockname() shows. */
static void homa_sock_set_port(struct homa_sock *hsk, u16 port)
{
	hsk->port = port;
	hsk->inet.inet_sport = htons(port);
}

/**
 * homa_sock_init() - Give a new socket an automatic port and enter it in
 * its namespace's port table.
 * @hsk: Socket, otherwise initialised by the socket layer.
 * @hn:  State of the socket's namespace.
 *
 * Return: 0, or -EADDRNOTAVAIL if every automatic port is taken.
 */
int homa_sock_init(struct homa_sock *hsk, struct homa_net *hn)
{
	struct homa_socktab *tab = &hn->socktab;
	int tries, i;
	u16 port;

	hsk->hnet = hn;
	hsk->in_socktab = false;
	hsk->shutdown = false;
	hsk->is_server = false;
	hsk->error_msg = NULL;
	INIT_HLIST_NODE(&hsk->socktab_links);
	spin_lock_init(&hsk->lock);
	hsk->num_rpcs = 0;
	hsk->wmem_queued = 0;
	hsk->ready_seq = 0;
	INIT_LIST_HEAD(&hsk->active_rpcs);
	INIT_LIST_HEAD(&hsk->ready_rpcs);
	INIT_LIST_HEAD(&hsk->buf_waiters);
	INIT_LIST_HEAD(&hsk->throttled);
	INIT_WORK(&hsk->resume_work, homa_sock_resume);
	for (i = 0; i < HOMA_RPC_BUCKETS; i++) {
		INIT_HLIST_HEAD(&hsk->client_rpcs[i]);
		INIT_HLIST_HEAD(&hsk->server_rpcs[i]);
	}
	homa_pool_init(&hsk->pool);

	spin_lock_bh(&tab->lock);
	port = tab->next_client_port;
	for (tries = 0; tries < HOMA_NUM_CLIENT_PORTS; tries++) {
		u16 candidate = port;

		port = (port == 0xffff) ? HOMA_MIN_DEFAULT_PORT : port + 1;
		if (!homa_socktab_lookup(tab, candidate)) {
			tab->next_client_port = port;
			homa_sock_set_port(hsk, candidate);
			hlist_add_head_rcu(&hsk->socktab_links,
					   homa_socktab_bucket(tab, candidate));
			hsk->in_socktab = true;
			spin_unlock_bh(&tab->lock);
			return 0;
		}
	}
	spin_unlock_bh(&tab->lock);
	return -EADDRNOTAVAIL;
}

/* RPCs ended per hold of the socket lock during shutdown. */
#define HOMA_SHUTDOWN_BATCH	32

/**
 * homa_sock_shutdown() - Take a socket out of service: its port is freed,
 * all its RPCs end, blocked callers wake up, and later calls fail with
 * ESHUTDOWN. Process context; safe to call more than once.
 * @hsk: Socket.
 */
void homa_sock_shutdown(struct homa_sock *hsk)
{
	struct homa_socktab *tab = &hsk->hnet->socktab;
	struct homa_rpc *rpc;
	int i;

	spin_lock_bh(&tab->lock);
	WRITE_ONCE(hsk->shutdown, true);
	if (hsk->in_socktab) {
		hlist_del_init_rcu(&hsk->socktab_links);
		hsk->in_socktab = false;
	}
	spin_unlock_bh(&tab->lock);

	/* No new RPC can appear now (the receive path checks shutdown
	 * under the socket lock); end the existing ones in batches.
	 */
	for (;;) {
		spin_lock_bh(&hsk->lock);
		for (i = 0; i < HOMA_SHUTDOWN_BATCH &&
		     !list_empty(&hsk->active_rpcs); i++) {
			rpc = list_first_entry(&hsk->active_rpcs,
					       struct homa_rpc, active_links);
			homa_rpc_end(rpc);
		}
		i = list_empty(&hsk->active_rpcs);
		spin_unlock_bh(&hsk->lock);
		if (i)
			break;
		cond_resched();
	}
	homa_sock_wakeup(hsk, EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDNORM |
			 EPOLLWRNORM);
}

/* The bucket of struct homa_acked_table for an RPC. */
static struct hlist_head *homa_acked_bucket(struct homa_acked_table *t,
					    u64 id, u16 port)
{
	return &t->buckets[hash_64(id ^ ((u64)port << 48),
				   ilog2(HOMA_ACKED_BUCKETS))];
}

/**
 * homa_sock_remember_acked() - Remember a server RPC that ends because its
 * client has the response (ACK, or RPC_UNKNOWN from the client), so that
 * a late copy of its request is not served again; the oldest of the
 * HOMA_ACKED_RPCS remembered is forgotten. Caller holds the socket lock.
 * Without memory for the table nothing is remembered.
 * @hsk: Socket.
 * @rpc: Server RPC about to end.
 */
void homa_sock_remember_acked(struct homa_sock *hsk, struct homa_rpc *rpc)
{
	struct homa_acked_table *t = hsk->acked;
	struct homa_acked *a;

	lockdep_assert_held(&hsk->lock);
	if (!t) {
		/* kzalloc: every entry unhashed, every bucket empty. */
		t = kzalloc(sizeof(*t), GFP_ATOMIC);
		if (!t)
			return;
		hsk->acked = t;
	}
	a = &t->rpcs[t->next];
	t->next = (t->next + 1) % HOMA_ACKED_RPCS;
	hlist_del_init(&a->links);
	a->addr = rpc->peer->addr;
	a->id = rpc->id;
	a->port = rpc->dport;
	hlist_add_head(&a->links, homa_acked_bucket(t, a->id, a->port));
}
EXPORT_SYMBOL_IF_KUNIT(homa_sock_remember_acked);

/**
 * homa_sock_was_acked() - Whether a request is for a server RPC that
 * ended recently because its client was done with it. Caller holds the
 * socket lock. Walks one bucket: HOMA_ACKED_RPCS / HOMA_ACKED_BUCKETS
 * entries on average, HOMA_ACKED_RPCS at most.
 * @hsk:  Socket.
 * @peer: Client host.
 * @port: Client port.
 * @id:   Our id of the RPC.
 *
 * Return: true if so (the request is a late duplicate).
 */
bool homa_sock_was_acked(struct homa_sock *hsk, struct homa_peer *peer,
			 u16 port, u64 id)
{
	struct homa_acked_table *t = hsk->acked;
	const struct homa_acked *a;

	lockdep_assert_held(&hsk->lock);
	if (!t)
		return false;
	hlist_for_each_entry(a, homa_acked_bucket(t, id, port), links) {
		if (a->id == id && a->port == port &&
		    ipv6_addr_equal(&a->addr, &peer->addr))
			return true;
	}
	return false;
}
EXPORT_SYMBOL_IF_KUNIT(homa_sock_was_acked);

/**
 * homa_sock_destroy() - Free what a socket still holds after shutdown.
 * @hsk: Socket (shut down).
 */
void homa_sock_destroy(struct homa_sock *hsk)
{
	/* A queued resume holds a reference: drop it. */
	if (cancel_work_sync(&hsk->resume_work))
		sock_put(&hsk->inet.sk);
	kfree(hsk->acked);
	hsk->acked = NULL;
}

/**
 * homa_sock_bind() - Give a socket a server port.
 * @hsk:  Socket.
 * @port: Requested port (host order). 0 leaves the socket as it is.
 *
 * The socket gives up its previous port, automatic or server: a socket
 * has exactly one port.
 *
 * Return: 0, -EINVAL for a port in the automatic range, -EADDRINUSE if
 * another socket of the namespace has the port, -ESHUTDOWN after
 * shutdown.
 */
int homa_sock_bind(struct homa_sock *hsk, u16 port)
{
	struct homa_socktab *tab = &hsk->hnet->socktab;
	int err = 0;

	if (port >= HOMA_MIN_DEFAULT_PORT) {
		homa_sock_set_error(hsk, "bind: port must be below 32768");
		return -EINVAL;
	}

	spin_lock_bh(&tab->lock);
	if (hsk->shutdown) {
		homa_sock_set_error(hsk, "bind: socket has been shut down");
		err = -ESHUTDOWN;
		goto out;
	}
	if (port == 0 || port == hsk->port)
		goto out;
	if (homa_socktab_lookup(tab, port)) {
		homa_sock_set_error(hsk, "bind: port in use");
		err = -EADDRINUSE;
		goto out;
	}
	hlist_del_rcu(&hsk->socktab_links);
	homa_sock_set_port(hsk, port);
	hlist_add_head_rcu(&hsk->socktab_links,
			   homa_socktab_bucket(tab, port));
out:
	spin_unlock_bh(&tab->lock);
	return err;
}
