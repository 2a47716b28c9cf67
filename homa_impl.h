/* SPDX-License-Identifier: GPL-2.0 */

/* Definitions shared by every part of the Homa module: the per network
 * namespace state, and the rules for locking and object lifetimes.
 *
 * Locking
 * -------
 * homa_socktab.lock (spinlock, BH-safe): protects the membership of a
 *     namespace's port table (insertion, removal, port changes) and the
 *     automatic port cursor. Readers look sockets up under RCU without it.
 *     Held only for bounded work: a table walk for a free automatic port
 *     visits at most HOMA_NUM_CLIENT_PORTS entries, and only when the
 *     namespace has that many sockets.
 * homa_sock.lock (spinlock, BH-safe): protects a socket's RPC tables and
 *     lists, and every field of its RPCs (except their refcounts). Taken
 *     in process context by system calls and in softirq by the receive
 *     path; transmit of the packets an event allows happens under it
 *     (bounded by the granted window of one message).
 * homa_peer.lock (spinlock, BH-safe): a peer's cached route.
 * homa_pool.lock (spinlock, BH-safe): a socket's buffer pool.
 * homa_grant.lock (spinlock, BH-safe): a namespace's incoming budget and
 *     its list of waiting RPCs.
 * Lock order (outermost first): homa_sock.lock -> homa_grant.lock,
 *     homa_pool.lock, homa_peer.lock, socktab.lock, peertab.lock. Two
 *     socket locks are never held at once: code that moves from one
 *     socket to another (ACK handling, grant rechecks) drops the first.
 * No Homa lock is held while sleeping or copying to/from user space.
 *
 * Lifetimes
 * ---------
 * struct homa_net: allocated by the pernet core (net_generic) for each
 *     namespace; lives from homa_net_init() to homa_net_exit(). Every
 *     Homa socket holds a reference on its namespace, so a namespace with
 *     Homa sockets is never torn down under them.
 * struct homa_sock: a struct sock, refcounted by sk_refcnt. It is in its
 *     namespace's port table from creation until shutdown or close; the
 *     sockets have SOCK_RCU_FREE set, so a reader that found one under
 *     rcu_read_lock() may use it until rcu_read_unlock(), or longer after
 *     sock_hold().
 * struct homa_rpc: refcounted (see homa_rpc.h). The socket's tables hold
 *     one reference until homa_rpc_end(); a recvmsg that claimed the RPC
 *     and a grant recheck each hold their own while they work unlocked.
 * struct homa_peer: lives from first use until its namespace goes away
 *     (freed after a grace period); at most HOMA_MAX_PEERS per namespace.
 * Module: each socket pins the module (proto.owner), so rmmod is refused
 *     while sockets exist; module exit frees all namespace state through
 *     the pernet exit callbacks.
 */

#ifndef _HOMA_IMPL_H
#define _HOMA_IMPL_H

#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/sock.h>

#include "homa_compat.h"
#include "homa_wire.h"
#include "uapi/linux/homa.h"

#include "homa_metrics.h"
#include "homa_peer.h"
#include "homa_pool.h"
#include "homa_rpc.h"
#include "homa_sock.h"
#include "homa_sysctl.h"

/* Most waiting messages homa_grant_recheck() serves per call. */
#define HOMA_GRANT_RECHECK_MAX	8

/**
 * struct homa_grant - A namespace's incoming-byte budget (see
 * homa_grant.c).
 */
struct homa_grant {
	/** @lock: Protects the fields below; innermost Homa lock. */
	spinlock_t lock;

	/**
	 * @total_incoming: Bytes granted (or sent unscheduled) to this
	 * namespace but not yet received, over all messages.
	 */
	int total_incoming;

	/** @num_charged: Messages contributing to @total_incoming. */
	int num_charged;

	/** @waiting: RPCs held back by max_incoming, oldest first. */
	struct list_head waiting;

	/**
	 * @recheck_work: Runs homa_grant_recheck() when budget comes back
	 * in a context that holds a socket lock (an RPC ending).
	 */
	struct work_struct recheck_work;
};

/* Ticks of receive-backlog history a namespace keeps (homa_timer.rx_tails). */
#define HOMA_RX_CLOCK_TICKS	64

/**
 * struct homa_rx_tails - One CPU's slots of homa_timer.rx_tails.
 */
struct homa_rx_tails {
	/** @tail: softnet_data.input_queue_tail at the start of a tick. */
	u32 tail[HOMA_RX_CLOCK_TICKS];
};

/**
 * struct homa_timer - A namespace's retransmission timer (homa_timer.c).
 */
struct homa_timer {
	/** @hrtimer: Fires every tick_usecs and queues @work. */
	struct hrtimer hrtimer;

	/** @work: Runs homa_timer_tick() in process context. */
	struct work_struct work;

	/**
	 * @ticks: Ticks so far (never 0 once started); written only by
	 * homa_timer_advance() (the tick work, or a KUnit test that stopped
	 * it), which never runs twice at once.
	 */
	u32 ticks;

	/**
	 * @rx_tails: Per CPU, the count of packets its receive backlog had
	 * taken in (softnet_data.input_queue_tail) at the start of each of
	 * the last HOMA_RX_CLOCK_TICKS ticks, in slot tick %
	 * HOMA_RX_CLOCK_TICKS: together with the count it has processed,
	 * how long packets wait in it (homa_rx_clock.c).
	 */
	struct homa_rx_tails __percpu *rx_tails;

	/**
	 * @rx_slot_tick: The tick each slot of @rx_tails was written for
	 * (0: never). Written only by homa_rx_clock_sample() (the tick
	 * work); read locklessly by the receive path.
	 */
	u32 rx_slot_tick[HOMA_RX_CLOCK_TICKS];

	/**
	 * @rx_lag: Ticks the oldest packet still in a receive backlog of
	 * this host had waited when the current tick began (0: none
	 * waits); written only by the tick (homa_timer_check()), read
	 * locklessly by the receive path too (homa_rpc_young_ticks()).
	 */
	u32 rx_lag;
};

/**
 * struct homa_net - Homa's state for one network namespace.
 */
struct homa_net {
	/** @net: The namespace this state belongs to. */
	struct net *net;

	/** @params: Tunable parameters (sysctls of net/homa). */
	struct homa_params params;

	/** @sysctl_hdr: Registration of the net/homa sysctl directory. */
	struct ctl_table_header *sysctl_hdr;

	/** @sysctl_table: The namespace's copy of the sysctl table. */
	struct ctl_table *sysctl_table;

	/** @metrics: Per-CPU counters, summed in /proc/net/homa_metrics. */
	struct homa_metrics __percpu *metrics;

	/** @socktab: Sockets of this namespace, by port. */
	struct homa_socktab socktab;

	/** @peertab: Remote hosts this namespace talks to. */
	struct homa_peertab peertab;

	/** @grant: Incoming-byte budget and the messages waiting for it. */
	struct homa_grant grant;

	/**
	 * @num_rpcs: Live RPCs over all sockets of the namespace; the
	 * timer does nothing while there are none.
	 */
	atomic_t num_rpcs;

	/** @timer: Drives retransmission and timeouts. */
	struct homa_timer timer;

	/** @next_id: Last client RPC id handed out (ids are even). */
	atomic64_t next_id;
};

extern unsigned int homa_net_id;

/**
 * homa_net() - Homa's state for a network namespace.
 * @net: The namespace.
 *
 * Return: the namespace's struct homa_net.
 */
static inline struct homa_net *homa_net(const struct net *net)
{
	return net_generic(net, homa_net_id);
}

/**
 * homa_sk_net() - Homa's state for the namespace of a socket.
 * @sk: A Homa socket.
 *
 * Return: the namespace's struct homa_net.
 */
static inline struct homa_net *homa_sk_net(const struct sock *sk)
{
	return homa_net(sock_net(sk));
}

/**
 * homa_metric_inc() - Add one to a counter of the current CPU. Safe in any
 * context.
 * @hn: Namespace state.
 * @m:  Counter.
 */
static inline void homa_metric_inc(struct homa_net *hn, enum homa_metric m)
{
	this_cpu_inc(hn->metrics->count[m]);
}

/* homa_grant.c */
void homa_grant_init(struct homa_grant *g);
void homa_grant_destroy(struct homa_grant *g);
void homa_grant_update(struct homa_rpc *rpc);
void homa_grant_rpc_end(struct homa_rpc *rpc);
void homa_grant_recheck(struct homa_net *hn);

/* homa_rx_clock.c */
void homa_rx_clock_sample(struct homa_net *hn, u32 now);
u32 homa_rx_clock_lag(struct homa_net *hn, u32 now);
u32 homa_rx_clock_waited(struct homa_net *hn, u32 now);

/* homa_timer.c */
int homa_timer_init(struct homa_net *hn);
void homa_timer_destroy(struct homa_net *hn);
void homa_timer_start(struct homa_net *hn);
void homa_timer_stop(struct homa_net *hn);
void homa_timer_step(struct homa_net *hn, u32 rx_lag);
void homa_rpc_answered(struct homa_rpc *rpc, bool late);
u32 homa_rpc_young_ticks(const struct homa_rpc *rpc, u32 now);

/* homa_incoming.c */
int homa_rcv(struct sk_buff *skb);
int homa_err_handler_v4(struct sk_buff *skb, u32 info);
int homa_err_handler_v6(struct sk_buff *skb, struct inet6_skb_parm *opt,
			u8 type, u8 code, int offset, __be32 info);
void homa_sock_wakeup(struct homa_sock *hsk, __poll_t mask);
void homa_pool_check_waiters(struct homa_sock *hsk);
struct homa_rpc *homa_wait_for_message(struct homa_sock *hsk, u64 id,
				       bool nonblock);
int homa_copy_to_user(struct homa_rpc *rpc);
void homa_rpc_abort(struct homa_rpc *rpc, int error);
#if IS_ENABLED(CONFIG_KUNIT)
bool homa_msgin_add(struct homa_msgin *m, u32 start, u32 end);
void homa_msgout_left(struct homa_msgout *m, u32 offset, u32 end, u32 now);
#endif

/* homa_outgoing.c */
int homa_msgout_init(struct homa_rpc *rpc, void *buf, int len);
void homa_msgout_reset(struct homa_rpc *rpc);
bool homa_xmit_queue_full(struct homa_sock *hsk);
void homa_xmit_data(struct homa_rpc *rpc);
void homa_sock_resume(struct work_struct *work);
void homa_write_space(struct sock *sk);
int homa_resend_data(struct homa_rpc *rpc, u32 start, u32 end);
u32 homa_msgout_young(struct homa_msgout *m, u32 now, u32 age);
int homa_xmit_control(struct homa_rpc *rpc, u8 type, void *hdr,
		      unsigned int len);
int homa_xmit_control_to(struct homa_sock *hsk, struct homa_peer *peer,
			 u16 dport, u64 sender_id, u8 type, void *hdr,
			 unsigned int len);
void homa_xmit_ack(struct homa_rpc *rpc);
void homa_xmit_ack_to(struct homa_sock *hsk, struct homa_peer *peer,
		      u16 dport, u64 client_id);
void homa_icmp_unreachable(struct sk_buff *skb);

#endif /* _HOMA_IMPL_H */
