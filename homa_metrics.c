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
	[HOMA_MET_CLIENT_RPCS] = {
		"client_rpcs", "Client RPCs started (requests sent)" },
	[HOMA_MET_CLIENT_RPCS_DONE] = {
		"client_rpcs_done",
		"Client RPCs whose response or error was returned by recvmsg" },
	[HOMA_MET_SERVER_RPCS] = {
		"server_rpcs", "Server RPCs created by arriving requests" },
	[HOMA_MET_SERVER_RPCS_ACKED] = {
		"server_rpcs_acked",
		"Server RPCs freed after the client acknowledged the response" },
	[HOMA_MET_GRANTS_SENT] = {
		"grants_sent", "GRANT packets sent" },
	[HOMA_MET_BUFFER_STALLS] = {
		"buffer_stalls",
		"Incoming messages that had to wait for receive buffer space" },
	[HOMA_MET_RPCS_ICMP_ABORTED] = {
		"rpcs_icmp_aborted",
		"RPCs ended because an ICMP error said their peer is unreachable" },
	[HOMA_MET_DATA_PKTS_RESENT] = {
		"data_pkts_resent",
		"DATA packets sent again (retransmit flag set) for a RESEND" },
	[HOMA_MET_RESENDS_LIMITED] = {
		"resends_limited",
		"RESENDs held back: the peer had not answered an earlier one" },
	[HOMA_MET_RESENDS_TOO_SOON] = {
		"resends_too_soon",
		"RESENDs for bytes still in this host or only just gone (not sent again)" },
	[HOMA_MET_RESENDS_RX_LAG] = {
		"resends_rx_lag",
		"RESENDs and NEED_ACKs put off: the peer's packets may wait in our backlog" },
	[HOMA_MET_RPC_TIMEOUTS] = {
		"rpc_timeouts",
		"RPCs ended because the peer was silent for timeout_ticks" },
	[HOMA_MET_CLIENT_RPC_RESTARTS] = {
		"client_rpc_restarts",
		"Client RPCs whose request was sent again after RPC_UNKNOWN" },
	[HOMA_MET_SERVER_RPCS_UNKNOWN] = {
		"server_rpcs_unknown",
		"Server RPCs freed because the client no longer knew them" },
	[HOMA_MET_ACKS_PIGGYBACKED] = {
		"acks_piggybacked",
		"Acknowledgements received piggy-backed on DATA packets" },
	[HOMA_MET_XMIT_NO_ROUTE] = {
		"xmit_no_route", "Packets not sent: no route to the peer" },
	[HOMA_MET_XMIT_NOMEM] = {
		"xmit_nomem", "Packets not sent: no memory for an skb" },
	[HOMA_MET_XMIT_ERRORS] = {
		"xmit_errors", "Packets the IP layer refused or dropped" },
	[HOMA_MET_XMIT_THROTTLED] = {
		"xmit_throttled",
		"Times DATA waited: the device queue held SO_SNDBUF of the socket" },
	[HOMA_MET_XMIT_DEFERRED] = {
		"xmit_deferred",
		"DATA packets a full device queue dropped; sent again next tick" },
	[HOMA_MET_PKTS_DROPPED_SHORT] = {
		"pkts_dropped_short",
		"Packets dropped: shorter than the header of their type" },
	[HOMA_MET_PKTS_DROPPED_BAD_TYPE] = {
		"pkts_dropped_bad_type", "Packets dropped: unknown packet type" },
	[HOMA_MET_PKTS_DROPPED_BAD_DATA] = {
		"pkts_dropped_bad_data",
		"Packets dropped: lengths, offsets or counts out of range" },
	[HOMA_MET_PKTS_DROPPED_NO_SOCKET] = {
		"pkts_dropped_no_socket",
		"Packets dropped: no socket has the destination port" },
	[HOMA_MET_PKTS_DROPPED_NO_SERVER] = {
		"pkts_dropped_no_server",
		"Requests dropped: the socket does not accept requests" },
	[HOMA_MET_PKTS_DROPPED_UNKNOWN_RPC] = {
		"pkts_dropped_unknown_rpc",
		"Packets dropped: no such RPC (already ended, or never was)" },
	[HOMA_MET_PKTS_DROPPED_DUP] = {
		"pkts_dropped_dup",
		"DATA dropped: already received, or for an RPC that ended" },
	[HOMA_MET_PKTS_DROPPED_NOMEM] = {
		"pkts_dropped_nomem", "Packets dropped: memory allocation failed" },
	[HOMA_MET_PKTS_DROPPED_RMEM] = {
		"pkts_dropped_rmem",
		"DATA dropped: the socket holds its limit of received data" },
	[HOMA_MET_PKTS_DROPPED_PEERS] = {
		"pkts_dropped_peers",
		"Requests dropped: the peer table is full of peers in use" },
	[HOMA_MET_PKTS_DROPPED_UNHANDLED] = {
		"pkts_dropped_unhandled",
		"Well-formed packets of types this version does not act on yet" },
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
	for (i = 0; i < HOMA_PKT_NUM_TYPES; i++) {
		const char *type = homa_pkt_type_name(HOMA_PKT_MIN_TYPE + i);

		seq_printf(seq, "pkts_sent_%-18s %20llu  # %s packets sent\n",
			   type, homa_metric_sum(hn, HOMA_MET_PKTS_SENT + i),
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
