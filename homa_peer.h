/* SPDX-License-Identifier: GPL-2.0 */

/* Peers: the remote hosts of a network namespace, shared by all of its
 * Homa sockets. A peer caches the route to its host.
 */

#ifndef _HOMA_PEER_H
#define _HOMA_PEER_H

#include <linux/in6.h>
#include <linux/rculist.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <net/flow.h>
#include <net/ipv6.h>

struct homa_net;
struct homa_sock;

/* Buckets in a namespace's peer table; a power of two. */
#define HOMA_PEERTAB_BUCKETS	256

/* Most peers one namespace keeps; packets that would create more are
 * dropped (and counted), so spoofed sources cannot exhaust memory.
 */
#define HOMA_MAX_PEERS		65536

/**
 * struct homa_peertab - The peers of one namespace, hashed by address.
 */
struct homa_peertab {
	/** @lock: Serialises insertions; lookups use RCU. */
	spinlock_t lock;

	/** @num_peers: Peers in the table. */
	int num_peers;

	/** @buckets: Hash chains of struct homa_peer. */
	struct hlist_head buckets[HOMA_PEERTAB_BUCKETS];
};

/**
 * struct homa_peer - One remote host. Peers stay in their namespace's
 * table until the namespace (or the module) goes away; they are freed
 * after an RCU grace period then.
 */
struct homa_peer {
	/** @addr: Address of the host; IPv4 addresses are v4-mapped. */
	struct in6_addr addr;

	/** @links: Entry in a bucket of the peer table. */
	struct hlist_node links;

	/** @lock: Protects @dst and the flows. */
	spinlock_t lock;

	/** @dst: Cached route to the host, or NULL. Protected by @lock. */
	struct dst_entry *dst;

	/** @dst_cookie: IPv6 route cookie for dst_check(). */
	u32 dst_cookie;

	/** @flow: Flow the route was looked up with (addresses used). */
	union {
		/** @flow.v4: For IPv4 peers. */
		struct flowi4 v4;

		/** @flow.v6: For IPv6 peers. */
		struct flowi6 v6;
	} flow;

	/**
	 * @outstanding_resends: RESENDs sent to the host since it last sent
	 * us any packet. A hint for homa_timer (read and written with
	 * READ_ONCE()/WRITE_ONCE(), without a lock; a lost update only
	 * delays or adds one RESEND).
	 */
	u32 outstanding_resends;

	/**
	 * @heard_tick: Timer tick in which the host last sent us a packet
	 * that reached a socket (set when the peer is created). An RPC times
	 * out only when the host itself has been silent for timeout_ticks:
	 * a live host answers every RESEND, so an RPC that waits its turn
	 * for one (see @limit_tick) is not given up. Lock-free, like
	 * @outstanding_resends.
	 */
	u32 heard_tick;

	/**
	 * @confirm_neigh: The host sent us a packet since our last packet to
	 * it: the next one asks IP to confirm the link-layer neighbour
	 * (skb->dst_pending_confirm, as TCP does when an ACK shows progress),
	 * so that ARP/ND do not probe, and under load lose, a neighbour we
	 * are talking to. Lock-free, like @outstanding_resends.
	 */
	bool confirm_neigh;

	/** @resend_tick: Timer tick of the latest RESEND to the host. */
	u32 resend_tick;

	/**
	 * @limit_tick: Tick in which the host was found not to answer a
	 * RESEND from an earlier tick; it gets no more RESENDs in that tick.
	 */
	u32 limit_tick;

	/**
	 * @wait_tick: Tick in which @wait_min was collected: the smallest
	 * resend_tick (longest wait) of the RPCs to this host that were due
	 * for a RESEND but held back. In the next tick only an RPC that
	 * waited that long may send one, so held-back RPCs take turns
	 * (homa_timer_may_resend()).
	 */
	u32 wait_tick;

	/** @wait_min: See @wait_tick. */
	u32 wait_min;

	/** @turn_tick: Tick for which @turn_min holds. */
	u32 turn_tick;

	/**
	 * @turn_min: In @turn_tick, the largest resend_tick of an RPC that
	 * may send a RESEND while the host is limited (U32_MAX: any).
	 */
	u32 turn_min;

	/**
	 * @answer_ticks: How long the host takes to answer us, in ticks: the
	 * largest recent lower bound on the time from a RESEND to its answer
	 * (BUSY, RPC_UNKNOWN or retransmitted DATA) or on the silence before
	 * late DATA (homa_rpc_answered()), halving every 2 * @answer_ticks
	 * ticks without a fresh sample (homa_peer_answer_ticks()).
	 * Where queues in either host hold packets longer than resend_ticks
	 * (an overloaded host), the RPCs to the host wait this long in
	 * silence before they ask and between two asks (homa_timer.c), so
	 * that they do not ask for bytes that are still on their way, nor
	 * ask again before the answer to their last RESEND can have come.
	 * Lock-free, like @outstanding_resends.
	 */
	u32 answer_ticks;

	/** @answer_tick: Tick of the latest sample in @answer_ticks. */
	u32 answer_tick;

	/**
	 * @rpcs: RPCs that use the peer (taken in homa_rpc_new(), dropped
	 * when the RPC is freed); -1 once the peer was evicted from a full
	 * table, after which no RPC may take it (homa_peer_hold_rpc()).
	 */
	atomic_t rpcs;

	/** @rcu: For freeing after a grace period. */
	struct rcu_head rcu;
};

void homa_peertab_init(struct homa_peertab *tab);
void homa_peertab_destroy(struct homa_peertab *tab);
struct homa_peer *homa_peer_get(struct homa_net *hn,
				const struct in6_addr *addr);
struct homa_peer *homa_peer_find(struct homa_net *hn,
				 const struct in6_addr *addr);
struct homa_peer *homa_peer_transient(const struct in6_addr *addr);
void homa_peer_transient_free(struct homa_peer *peer);
struct dst_entry *homa_peer_dst(struct homa_peer *peer, struct sock *sk,
				struct flowi *fl);

/**
 * homa_peer_is_v4() - Whether a peer is an IPv4 host.
 * @peer: The peer.
 *
 * Return: true for v4-mapped addresses.
 */
/**
 * homa_peer_hold_rpc() - Count one more RPC using a peer.
 * @peer: The peer, found under RCU or the socket lock.
 *
 * Return: false if the peer was evicted meanwhile (then it must not be
 * used beyond the current RCU section).
 */
static inline bool homa_peer_hold_rpc(struct homa_peer *peer)
{
	return atomic_inc_unless_negative(&peer->rpcs);
}

static inline bool homa_peer_is_v4(const struct homa_peer *peer)
{
	return ipv6_addr_v4mapped(&peer->addr);
}

#endif /* _HOMA_PEER_H */
