/* SPDX-License-Identifier: GPL-2.0+ WITH Linux-syscall-note */

/* User-space API of the Homa transport protocol: socket options, the
 * arguments passed through sendmsg/recvmsg control data, and ioctls.
 * Layouts are part of the ABI; the module pins them with BUILD_BUG_ON.
 */

#ifndef _UAPI_LINUX_HOMA_H
#define _UAPI_LINUX_HOMA_H

#include <linux/ioctl.h>
#include <linux/types.h>
#ifdef __KERNEL__
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/socket.h>
#else
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* IANA-assigned IP protocol number for Homa. */
#ifndef IPPROTO_HOMA
#define IPPROTO_HOMA 146
#endif

/**
 * define HOMA_MAX_MESSAGE_LENGTH - Largest request or response payload,
 * in bytes.
 */
#define HOMA_MAX_MESSAGE_LENGTH 1000000

/**
 * define HOMA_BPAGE_SHIFT - log2 of HOMA_BPAGE_SIZE.
 */
#define HOMA_BPAGE_SHIFT 16

/**
 * define HOMA_BPAGE_SIZE - Size of the pages ("bpages") into which the
 * receive buffer region is divided: 1 << HOMA_BPAGE_SHIFT.
 */
#define HOMA_BPAGE_SIZE 65536

/**
 * define HOMA_MAX_BPAGES - Most bpages a single incoming message can span.
 */
#define HOMA_MAX_BPAGES ((HOMA_MAX_MESSAGE_LENGTH + HOMA_BPAGE_SIZE - 1) >> \
			 HOMA_BPAGE_SHIFT)

/**
 * define HOMA_MIN_DEFAULT_PORT - Ports below this value (1..32767) are
 * server ports chosen with bind(); ports from here up are assigned to
 * sockets automatically. Port 0 is never used.
 */
#define HOMA_MIN_DEFAULT_PORT 0x8000

/**
 * struct homa_sendmsg_args - Passed by pointer in msg_control (with
 * msg_controllen 0) to sendmsg.
 */
struct homa_sendmsg_args {
	/**
	 * @id: 0 sends a new request, and the id of the new RPC is written
	 * back here. Non-zero sends the response for that (server) RPC.
	 */
	__u64 id;

	/**
	 * @completion_cookie: For requests only: returned by recvmsg with
	 * the response. Must be 0 for responses.
	 */
	__u64 completion_cookie;

	/** @flags: OR of HOMA_SENDMSG_* bits. */
	__u32 flags;

	/** @reserved: Must be zero. */
	__u32 reserved;
};

/* The response can only be received by a recvmsg that names its id. */
#define HOMA_SENDMSG_PRIVATE		0x01
#define HOMA_SENDMSG_VALID_FLAGS	0x01

/**
 * struct homa_recvmsg_args - Passed in msg_control (msg_controllen must
 * be sizeof(struct homa_recvmsg_args)) to recvmsg.
 */
struct homa_recvmsg_args {
	/**
	 * @id: In: 0 waits for any non-private message, otherwise the id of
	 * a private client RPC whose response is wanted. Out: the id of the
	 * RPC the returned message belongs to (odd: a request to answer;
	 * even: a response).
	 */
	__u64 id;

	/** @completion_cookie: Out: the cookie given with the request. */
	__u64 completion_cookie;

	/**
	 * @num_bpages: In: number of entries in @bpage_offsets handed back
	 * to the kernel. Out: number of bpages holding the message.
	 */
	__u32 num_bpages;

	/** @reserved: Must be zero. */
	__u32 reserved;

	/**
	 * @bpage_offsets: Offsets, within the receive buffer region, of
	 * bpages (in: returned to the kernel; out: holding the message, in
	 * order; every bpage but the last is full).
	 */
	__u32 bpage_offsets[HOMA_MAX_BPAGES];
};

/* Socket options (level IPPROTO_HOMA). */
#define SO_HOMA_RCVBUF	10
#define SO_HOMA_SERVER	11

/**
 * struct homa_rcvbuf_args - Value of the SO_HOMA_RCVBUF socket option.
 */
struct homa_rcvbuf_args {
	/**
	 * @start: Address of the region (as returned by mmap); must be
	 * page-aligned.
	 */
	__u64 start;

	/**
	 * @length: Bytes in the region; only whole bpages are used, and
	 * there must be at least two.
	 */
	__u64 length;
};

/* Bits of homa_rpc_info.flags. */
#define HOMA_RPC_BUF_STALL	1
#define HOMA_RPC_PRIVATE	2
#define HOMA_RPC_RX_READY	4
#define HOMA_RPC_RX_COPY	8

/**
 * struct homa_rpc_info - State of one RPC, returned by HOMAIOCINFO.
 */
struct homa_rpc_info {
	/** @id: The RPC's id on this host. */
	__u64 id;

	/** @peer: Address of the other end of the RPC. */
	union {
		struct sockaddr_storage storage;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} peer;

	/** @completion_cookie: Cookie of a client RPC. */
	__u64 completion_cookie;

	/** @tx_length: Length of the outgoing message, -1 if none. */
	__s32 tx_length;

	/** @tx_sent: Bytes of the outgoing message sent so far. */
	__u32 tx_sent;

	/** @tx_granted: Bytes of the outgoing message the peer allows. */
	__u32 tx_granted;

	/** @tx_prio: Priority of the most recent outgoing packet. */
	__u32 tx_prio;

	/** @rx_length: Length of the incoming message, -1 if none yet. */
	__s32 rx_length;

	/** @rx_remaining: Bytes of the incoming message not received. */
	__u32 rx_remaining;

	/** @rx_gaps: Holes in the received part of the incoming message. */
	__u32 rx_gaps;

	/** @rx_gap_bytes: Bytes in those holes. */
	__u32 rx_gap_bytes;

	/** @rx_granted: Bytes of the incoming message granted so far. */
	__u32 rx_granted;

	/** @flags: OR of HOMA_RPC_* bits. */
	__u16 flags;

	/** @_pad: Zero. */
	__u16 _pad[1];
};

/**
 * struct homa_info - Argument of the HOMAIOCINFO ioctl.
 */
struct homa_info {
	/**
	 * @rpc_info: In: user address of an array of struct homa_rpc_info
	 * to fill, or 0.
	 */
	__u64 rpc_info;

	/** @rpc_info_length: In: bytes available at @rpc_info. */
	__u64 rpc_info_length;

	/** @bpool_avail_bytes: Out: free bytes in the receive buffer pool. */
	__u64 bpool_avail_bytes;

	/** @port: Out: the socket's port. */
	__u32 port;

	/** @num_rpcs: Out: RPCs of the socket (even if fewer fit). */
	__u32 num_rpcs;

	/**
	 * @error_msg: Out: NUL-terminated text of the socket's most recent
	 * error, so that users can learn why a call failed.
	 */
	char error_msg[104];
};

/**
 * struct homa_abort_args - Argument of the HOMAIOCABORT ioctl.
 */
struct homa_abort_args {
	/** @id: Client RPC to abort; 0 aborts all of the socket's. */
	__u64 id;

	/**
	 * @error: 0 deletes the RPC(s) silently; otherwise they complete
	 * with this errno.
	 */
	__u32 error;

	/** @_pad1: Must be zero. */
	__u32 _pad1;

	/** @_pad2: Must be zero. */
	__u64 _pad2[2];
};

/* ioctls. */
#define HOMAIOCINFO	_IOWR('h', 0x90, struct homa_info)
#define HOMAIOCABORT	_IOWR('h', 0x91, struct homa_abort_args)

#ifdef __cplusplus
}
#endif

#endif /* _UAPI_LINUX_HOMA_H */
