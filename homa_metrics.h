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
 * enum homa_metric - Index of each counter.
 * @HOMA_MET_SOCKETS_CREATED:       Homa sockets created.
 * @HOMA_MET_SOCKETS_CLOSED:        Homa sockets closed.
 * @HOMA_MET_PKTS_DROPPED_SHORT:    packets shorter than their header.
 * @HOMA_MET_PKTS_DROPPED_BAD_TYPE: packets of an unknown type.
 * @HOMA_MET_PKTS_DROPPED_UNHANDLED: well-formed packets dropped because
 *                                  this version has no RPC layer yet.
 * @HOMA_MET_PKTS_RCVD:             first of HOMA_PKT_NUM_TYPES counters of
 *                                  well-formed packets received, by type.
 * @HOMA_NUM_METRICS:               number of counters.
 */
enum homa_metric {
	HOMA_MET_SOCKETS_CREATED,
	HOMA_MET_SOCKETS_CLOSED,
	HOMA_MET_PKTS_DROPPED_SHORT,
	HOMA_MET_PKTS_DROPPED_BAD_TYPE,
	HOMA_MET_PKTS_DROPPED_UNHANDLED,
	HOMA_MET_PKTS_RCVD,
	HOMA_NUM_METRICS = HOMA_MET_PKTS_RCVD + HOMA_PKT_NUM_TYPES,
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
