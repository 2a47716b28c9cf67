// SPDX-License-Identifier: GPL-2.0

/* Homa's counters: per-CPU so that hot paths never share a cache line,
 * summed when /proc/net/homa_metrics is read. Each namespace has its own
 * set and its own file.
 */

#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "homa_impl.h"

/**
 * struct homa_metric_desc - How one counter is printed.
 * @name: Name printed first on the line.
 * @desc: Description printed after '#'.
 */
struct homa_metric_desc {
	const char *name;
	const char *desc;
};

/* Indexed by enum homa_metric, up to HOMA_MET_PKTS_RCVD; the per-type
 * packet counters after it are named from the packet type names.
 */
static const struct homa_metric_desc homa_metric_descs[HOMA_MET_PKTS_RCVD] = {
	[HOMA_MET_SOCKETS_CREATED] = {
		"sockets_created", "Homa sockets created" },
	[HOMA_MET_SOCKETS_CLOSED] = {
		"sockets_closed", "Homa sockets closed" },
	[HOMA_MET_PKTS_DROPPED_SHORT] = {
		"pkts_dropped_short",
		"Packets dropped: shorter than the header of their type" },
	[HOMA_MET_PKTS_DROPPED_BAD_TYPE] = {
		"pkts_dropped_bad_type", "Packets dropped: unknown packet type" },
	[HOMA_MET_PKTS_DROPPED_UNHANDLED] = {
		"pkts_dropped_unhandled",
		"Well-formed packets dropped: no RPC layer in this version" },
};

/**
 * homa_metric_sum() - Sum one counter over all CPUs.
 * @hn: Namespace state.
 * @m:  Counter.
 *
 * Return: the sum.
 */
static u64 homa_metric_sum(struct homa_net *hn, enum homa_metric m)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(hn->metrics, cpu)->count[m]);
	return sum;
}

static int homa_metrics_show(struct seq_file *seq, void *v)
{
	struct homa_net *hn = homa_net(seq_file_single_net(seq));
	int i;

	for (i = 0; i < HOMA_MET_PKTS_RCVD; i++)
		seq_printf(seq, "%-28s %20llu  # %s\n", homa_metric_descs[i].name,
			   homa_metric_sum(hn, i), homa_metric_descs[i].desc);
	for (i = 0; i < HOMA_PKT_NUM_TYPES; i++) {
		const char *type = homa_pkt_type_name(HOMA_PKT_MIN_TYPE + i);

		seq_printf(seq, "pkts_rcvd_%-18s %20llu  # %s packets received\n",
			   type, homa_metric_sum(hn, HOMA_MET_PKTS_RCVD + i),
			   type);
	}
	return 0;
}

/**
 * homa_metrics_net_init() - Allocate a namespace's counters and create its
 * /proc/net/homa_metrics.
 * @hn: Namespace state.
 *
 * Return: 0 or a negative errno.
 */
int homa_metrics_net_init(struct homa_net *hn)
{
	hn->metrics = alloc_percpu(struct homa_metrics);
	if (!hn->metrics)
		return -ENOMEM;
	if (!proc_create_net_single("homa_metrics", 0444, hn->net->proc_net,
				    homa_metrics_show, NULL)) {
		free_percpu(hn->metrics);
		hn->metrics = NULL;
		return -ENOMEM;
	}
	return 0;
}

/**
 * homa_metrics_net_exit() - Remove a namespace's metrics file and free its
 * counters.
 * @hn: Namespace state.
 */
void homa_metrics_net_exit(struct homa_net *hn)
{
	remove_proc_entry("homa_metrics", hn->net->proc_net);
	free_percpu(hn->metrics);
	hn->metrics = NULL;
}
