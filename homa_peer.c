// SPDX-License-Identifier: GPL-2.0

/* The peer table of a network namespace: one struct homa_peer per remote
 * host, found by address under RCU, each caching its route.
 */

#include <kunit/visibility.h>
#include <linux/jhash.h>
#include <net/ip6_fib.h>
#include <net/ip6_route.h>
#include <net/route.h>

#include "homa_impl.h"

static struct hlist_head *homa_peer_bucket(struct homa_peertab *tab,
					   const struct in6_addr *addr)
{
	u32 h = jhash2((const u32 *)addr->s6_addr32, 4, 0);

	return &tab->buckets[h & (HOMA_PEERTAB_BUCKETS - 1)];
}

/**
 * homa_peertab_init() - Initialise an empty peer table.
 * @tab: Table to initialise.
 */
void homa_peertab_init(struct homa_peertab *tab)
{
	int i;

	spin_lock_init(&tab->lock);
	tab->num_peers = 0;
	for (i = 0; i < HOMA_PEERTAB_BUCKETS; i++)
		INIT_HLIST_HEAD(&tab->buckets[i]);
}

static void homa_peer_free_rcu(struct rcu_head *head)
{
	struct homa_peer *peer = container_of(head, struct homa_peer, rcu);

	dst_release(peer->dst);
	kfree(peer);
}

/**
 * homa_peertab_destroy() - Free every peer of a namespace that is going
 * away. No socket of the namespace exists any more, so nothing else can
 * reach the peers; packet handlers may still be reading them under RCU,
 * hence the deferred free.
 * @tab: Table to empty.
 */
void homa_peertab_destroy(struct homa_peertab *tab)
{
	struct hlist_node *next;
	struct homa_peer *peer;
	int i;

	spin_lock_bh(&tab->lock);
	for (i = 0; i < HOMA_PEERTAB_BUCKETS; i++) {
		hlist_for_each_entry_safe(peer, next, &tab->buckets[i], links) {
			hlist_del_rcu(&peer->links);
			call_rcu(&peer->rcu, homa_peer_free_rcu);
		}
	}
	tab->num_peers = 0;
	spin_unlock_bh(&tab->lock);
}

/* Caller holds rcu_read_lock() or tab->lock. */
static struct homa_peer *homa_peer_lookup(struct homa_peertab *tab,
					  const struct in6_addr *addr)
{
	struct homa_peer *peer;

	hlist_for_each_entry_rcu(peer, homa_peer_bucket(tab, addr), links,
				 lockdep_is_held(&tab->lock)) {
		if (ipv6_addr_equal(&peer->addr, addr))
			return peer;
	}
	return NULL;
}

/**
 * homa_peer_find() - Find the peer for an address without creating it.
 * @hn:   Namespace state.
 * @addr: Address of the host (IPv4 addresses v4-mapped).
 *
 * Caller holds rcu_read_lock() (or has bottom halves disabled); the peer
 * may be used until then, or longer once an RPC holds it.
 *
 * Return: the peer, or NULL if this namespace has none for @addr.
 */
struct homa_peer *homa_peer_find(struct homa_net *hn,
				 const struct in6_addr *addr)
{
	return homa_peer_lookup(&hn->peertab, addr);
}

/* The table is full: evict every peer no RPC uses (they are recreated
 * when needed). Caller holds tab->lock. The work is bounded by
 * HOMA_MAX_PEERS and happens only when the table is full.
 */
static void homa_peertab_evict(struct homa_peertab *tab)
{
	struct hlist_node *next;
	struct homa_peer *peer;
	int i;

	lockdep_assert_held(&tab->lock);
	for (i = 0; i < HOMA_PEERTAB_BUCKETS; i++) {
		hlist_for_each_entry_safe(peer, next, &tab->buckets[i], links) {
			if (atomic_cmpxchg(&peer->rpcs, 0, -1) != 0)
				continue;
			hlist_del_rcu(&peer->links);
			tab->num_peers--;
			call_rcu(&peer->rcu, homa_peer_free_rcu);
		}
	}
}

/**
 * homa_peer_get() - Find the peer for an address, creating it if needed.
 * @hn:   Namespace state.
 * @addr: Address of the host (IPv4 addresses v4-mapped).
 *
 * Caller holds rcu_read_lock() or the socket lock (bottom halves off): a
 * peer no RPC uses may be evicted when the table is full and is freed
 * after a grace period; an RPC keeps it (homa_peer_hold_rpc()).
 *
 * Return: the peer, ERR_PTR(-ENOMEM) if memory is short, or
 * ERR_PTR(-ENOSPC) if the namespace has HOMA_MAX_PEERS peers in use by
 * RPCs.
 */
struct homa_peer *homa_peer_get(struct homa_net *hn,
				const struct in6_addr *addr)
{
	struct homa_peertab *tab = &hn->peertab;
	struct homa_peer *peer, *new;

	rcu_read_lock();
	peer = homa_peer_lookup(tab, addr);
	rcu_read_unlock();
	if (peer)
		return peer;

	new = kzalloc(sizeof(*new), GFP_ATOMIC);
	if (!new)
		return ERR_PTR(-ENOMEM);
	new->addr = *addr;
	new->heard_tick = READ_ONCE(hn->timer.ticks);
	spin_lock_init(&new->lock);

	spin_lock_bh(&tab->lock);
	peer = homa_peer_lookup(tab, addr);
	if (peer) {
		/* Another CPU created it first. */
		spin_unlock_bh(&tab->lock);
		kfree(new);
		return peer;
	}
	if (tab->num_peers >= HOMA_MAX_PEERS)
		homa_peertab_evict(tab);
	if (tab->num_peers >= HOMA_MAX_PEERS) {
		spin_unlock_bh(&tab->lock);
		kfree(new);
		return ERR_PTR(-ENOSPC);
	}
	hlist_add_head_rcu(&new->links, homa_peer_bucket(tab, addr));
	tab->num_peers++;
	spin_unlock_bh(&tab->lock);
	return new;
}
EXPORT_SYMBOL_IF_KUNIT(homa_peer_get);

/**
 * homa_peer_transient() - A peer outside the table, to answer one packet
 * from a host we keep no state for (RPC_UNKNOWN for a RESEND).
 * @addr: The host (IPv4 v4-mapped).
 *
 * Return: the peer (free it with homa_peer_transient_free()), or NULL if
 * memory is short.
 */
struct homa_peer *homa_peer_transient(const struct in6_addr *addr)
{
	struct homa_peer *peer = kzalloc(sizeof(*peer), GFP_ATOMIC);

	if (!peer)
		return NULL;
	peer->addr = *addr;
	spin_lock_init(&peer->lock);
	return peer;
}

/**
 * homa_peer_transient_free() - Free a peer from homa_peer_transient() and
 * the route it cached.
 * @peer: The peer.
 */
void homa_peer_transient_free(struct homa_peer *peer)
{
	dst_release(peer->dst);
	kfree(peer);
}

/* Look up a fresh route to @peer; fills in peer->flow. Caller holds
 * peer->lock.
 */
static struct dst_entry *homa_peer_route(struct homa_peer *peer,
					 struct sock *sk)
{
	struct net *net = sock_net(sk);
	struct dst_entry *dst;

	lockdep_assert_held(&peer->lock);
	if (homa_peer_is_v4(peer)) {
		struct flowi4 *fl4 = &peer->flow.v4;
		struct rtable *rt;

		flowi4_init_output(fl4, sk->sk_bound_dev_if, sk->sk_mark, 0,
				   RT_SCOPE_UNIVERSE, IPPROTO_HOMA, 0,
				   peer->addr.s6_addr32[3], 0, 0, 0,
				   sk->sk_uid);
		rt = ip_route_output_key(net, fl4);
		if (IS_ERR(rt))
			return ERR_CAST(rt);
		dst = &rt->dst;
		peer->dst_cookie = 0;
	} else {
		struct flowi6 *fl6 = &peer->flow.v6;

		memset(fl6, 0, sizeof(*fl6));
		fl6->daddr = peer->addr;
		fl6->flowi6_proto = IPPROTO_HOMA;
		fl6->flowi6_oif = sk->sk_bound_dev_if;
		fl6->flowi6_mark = sk->sk_mark;
		fl6->flowi6_uid = sk->sk_uid;
		dst = ip6_dst_lookup_flow(net, sk, fl6, NULL);
		if (IS_ERR(dst))
			return dst;
		peer->dst_cookie = rt6_get_cookie((struct rt6_info *)dst);
	}
	return dst;
}

/**
 * homa_peer_dst() - Route to a peer, from the cache when still valid.
 * @peer: The peer.
 * @sk:   Socket that will send (supplies namespace, device binding, mark).
 * @fl:   Filled in with the flow of the route (the addresses to put in
 *        the IP header).
 *
 * Return: a route with a reference the caller owns (hand it to the skb
 * or dst_release() it), or an ERR_PTR if the host is unreachable.
 */
struct dst_entry *homa_peer_dst(struct homa_peer *peer, struct sock *sk,
				struct flowi *fl)
{
	struct dst_entry *dst;

	spin_lock_bh(&peer->lock);
	dst = peer->dst;
	if (dst && dst->obsolete && !dst_check(dst, peer->dst_cookie)) {
		dst_release(dst);
		peer->dst = NULL;
		dst = NULL;
	}
	if (!dst) {
		dst = homa_peer_route(peer, sk);
		if (IS_ERR(dst)) {
			spin_unlock_bh(&peer->lock);
			return dst;
		}
		peer->dst = dst;
	}
	dst_hold(dst);
	if (homa_peer_is_v4(peer))
		fl->u.ip4 = peer->flow.v4;
	else
		fl->u.ip6 = peer->flow.v6;
	spin_unlock_bh(&peer->lock);
	return dst;
}
EXPORT_SYMBOL_IF_KUNIT(homa_peer_dst);
