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
 * Lock order (outermost first): socket lock (lock_sock) -> socktab.lock.
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
 * Module: each socket pins the module (proto.owner), so rmmod is refused
 *     while sockets exist; module exit frees all namespace state through
 *     the pernet exit callbacks.
 */

#ifndef _HOMA_IMPL_H
#define _HOMA_IMPL_H

#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/sock.h>

#include "homa_compat.h"
#include "homa_wire.h"
#include "uapi/linux/homa.h"

#include "homa_metrics.h"
#include "homa_sock.h"
#include "homa_sysctl.h"

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

#endif /* _HOMA_IMPL_H */
