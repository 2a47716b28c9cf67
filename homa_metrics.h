/* SPDX-License-Identifier: GPL-2.0 */

/* Per network namespace, per-CPU counters, readable as
 * /proc/net/homa_metrics. Counters are indexed by enum homa_metric (the
 * way the SNMP MIBs are); names and descriptions live in homa_metrics.c.
 */

#ifndef _HOMA_METRICS_H
#define _HOMA_METRICS_H

#include <linux/percpu.h>
#include <linux/types.h>

#include "homa_wire.h"

struct homa_net;

/**
 * enum homa_metric - Index of each counter. Names and descriptions are
 * in homa_metrics.c.
 */
enum homa_metric {
	HOMA_MET_SOCKETS_CREATED,
	HOMA_MET_SOCKETS_CLOSED,
	HOMA_MET_CLIENT_RPCS,
	HOMA_MET_CLIENT_RPCS_DONE,
	HOMA_MET_SERVER_RPCS,
	HOMA_MET_SERVER_RPCS_ACKED,
	HOMA_MET_GRANTS_SENT,
	HOMA_MET_BUFFER_STALLS,
	HOMA_MET_RPCS_ICMP_ABORTED,
	HOMA_MET_DATA_PKTS_RESENT,
	HOMA_MET_RESENDS_LIMITED,
	HOMA_MET_RESENDS_TOO_SOON,
	HOMA_MET_RESENDS_RX_LAG,
	HOMA_MET_RPC_TIMEOUTS,
	HOMA_MET_CLIENT_RPC_RESTARTS,
	HOMA_MET_SERVER_RPCS_UNKNOWN,
	HOMA_MET_ACKS_PIGGYBACKED,
	HOMA_MET_XMIT_NO_ROUTE,
	HOMA_MET_XMIT_NOMEM,
	HOMA_MET_XMIT_ERRORS,
	HOMA_MET_XMIT_THROTTLED,
	HOMA_MET_XMIT_DEFERRED,
	HOMA_MET_PKTS_DROPPED_SHORT,
	HOMA_MET_PKTS_DROPPED_BAD_TYPE,
	HOMA_MET_PKTS_DROPPED_BAD_DATA,
	HOMA_MET_PKTS_DROPPED_NO_SOCKET,
	HOMA_MET_PKTS_DROPPED_NO_SERVER,
	HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC,
	HOMA_MET_PKTS_DROPPED_DUP,
	HOMA_MET_PKTS_DROPPED_NOMEM,
	HOMA_MET_PKTS_DROPPED_RMEM,
	HOMA_MET_PKTS_DROPPED_PEERS,
	HOMA_MET_PKTS_DROPPED_UNHANDLED,
	HOMA_MET_PKTS_RCVD,
	HOMA_MET_PKTS_SENT = HOMA_MET_PKTS_RCVD + HOMA_PKT_NUM_TYPES,
	HOMA_NUM_METRICS = HOMA_MET_PKTS_SENT + HOMA_PKT_NUM_TYPES,
};

/**
 * struct homa_metrics - Counters of one CPU; each only grows. Readers sum
 * over all CPUs.
 */
struct homa_metrics {
	/** @count: Counter values, indexed by enum homa_metric. */
	u64 count[HOMA_NUM_METRICS];
};

int homa_metrics_net_init(struct homa_net *hn);
void homa_metrics_net_exit(struct homa_net *hn);

#endif /* _HOMA_METRICS_H */
