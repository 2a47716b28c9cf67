/* SPDX-License-Identifier: GPL-2.0 */

/* Tunable parameters of a network namespace and their sysctl directory
 * net/homa. The table of names, defaults and ranges is in homa_sysctl.c;
 * man/homa.7 documents each one.
 */

#ifndef _HOMA_SYSCTL_H
#define _HOMA_SYSCTL_H

struct homa_net;

/**
 * struct homa_params - A namespace's tunables. Each is an int written only
 * through its sysctl (range-checked there) and read with READ_ONCE().
 */
struct homa_params {
	/** @link_mbps: Uplink speed assumed by the pacer, Mbit/s. */
	int link_mbps;

	/** @unsched_bytes: Bytes of a message sent before any grant. */
	int unsched_bytes;

	/**
	 * @window: Granted-but-not-received bytes allowed per message;
	 * 0 picks max_incoming / (active messages + 1).
	 */
	int window;

	/** @max_incoming: Cap on granted-but-not-received bytes overall. */
	int max_incoming;

	/** @wmem_max: Transmit memory one socket may hold, bytes. */
	int wmem_max;

	/** @poll_usecs: Busy-wait in recvmsg before sleeping, usecs. */
	int poll_usecs;

	/** @max_gso_size: Largest packet handed to GSO/TSO, bytes. */
	int max_gso_size;

	/** @tick_usecs: Interval of the retransmission timer, usecs. */
	int tick_usecs;

	/** @resend_ticks: Silent ticks before the first RESEND. */
	int resend_ticks;

	/** @resend_interval: Ticks between RESENDs for one RPC. */
	int resend_interval;

	/** @timeout_ticks: Silent ticks after which an RPC is aborted. */
	int timeout_ticks;

	/**
	 * @request_ack_ticks: Silent ticks after a whole response went out
	 * before the server asks for an ack (NEED_ACK).
	 */
	int request_ack_ticks;
};

void homa_params_init(struct homa_params *p);
int homa_sysctl_net_init(struct homa_net *hn);
void homa_sysctl_net_exit(struct homa_net *hn);

#endif /* _HOMA_SYSCTL_H */
