/* SPDX-License-Identifier: GPL-2.0 */

/* RPC objects: one per request/response exchange on a socket, holding the
 * outgoing and incoming messages and their flow-control state.
 */

#ifndef _HOMA_RPC_H
#define _HOMA_RPC_H

#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/skbuff.h>
#include <linux/types.h>

struct in6_addr;

struct homa_peer;
struct homa_sock;

/* Buckets in each of a socket's RPC tables; a power of two. */
#define HOMA_RPC_BUCKETS	256

/* Most holes one incoming message may have; packets that would make more
 * are dropped, bounding the bookkeeping a sender can force on us.
 */
#define HOMA_MAX_GAPS		1024

/**
 * enum homa_rpc_state - Where an RPC is in its life.
 * @HOMA_RPC_OUTGOING:   sending its outgoing message (a client's request
 *                       or a server's response), or a client waiting for
 *                       the first response packet.
 * @HOMA_RPC_INCOMING:   receiving its incoming message.
 * @HOMA_RPC_IN_SERVICE: server only: the application has the request and
 *                       owes a response.
 * @HOMA_RPC_FAILED:     client only: the RPC failed (@error); it waits for
 *                       recvmsg to report that.
 * @HOMA_RPC_DEAD:       ended; unlinked from everything, freed when the
 *                       last reference goes.
 */
enum homa_rpc_state {
	HOMA_RPC_OUTGOING,
	HOMA_RPC_INCOMING,
	HOMA_RPC_IN_SERVICE,
	HOMA_RPC_FAILED,
	HOMA_RPC_DEAD,
};

/* RESEND rounds answered by RPC_UNKNOWN after which a client that has
 * part of its response gives up (ECONNRESET); see homa_rpc.unknowns.
 */
#define HOMA_UNKNOWN_ROUNDS	3

/* Bits of homa_rpc.flags. */
#define HOMA_RPC_F_PRIVATE	0x01	/* response only for recvmsg(id) */
#define HOMA_RPC_F_READY	0x02	/* incoming message (or error) ready */
#define HOMA_RPC_F_CLAIMED	0x04	/* a recvmsg is handing it to the app */
#define HOMA_RPC_F_BUFS		0x08	/* receive buffers allocated */

/**
 * struct homa_gap - A hole in the received part of an incoming message.
 */
struct homa_gap {
	/** @start: First missing byte. */
	u32 start;

	/** @end: First byte after the hole. */
	u32 end;

	/** @links: Entry in homa_msgin.gaps, sorted by @start. */
	struct list_head links;
};

/* Ticks of first transmission remembered per outgoing message. */
#define HOMA_XMIT_MARKS	8

/**
 * struct homa_xmit_mark - Where the first transmissions that left this host
 * in one tick began.
 */
struct homa_xmit_mark {
	/** @offset: First byte of the packets that left in @tick. */
	u32 offset;

	/** @tick: Timer tick. */
	u32 tick;
};

/**
 * struct homa_msgout - An outgoing message. The payload is kept in a
 * kernel buffer so that packets can be (re)built at any time.
 */
struct homa_msgout {
	/** @length: Bytes in the message; -1 if there is none (yet). */
	int length;

	/** @buf: The payload (kvmalloc'ed, @length bytes). */
	void *buf;

	/** @seg_size: Payload bytes per packet, from the route's MTU. */
	int seg_size;

	/** @next_offset: First byte not yet transmitted. */
	int next_offset;

	/** @granted: The receiver allows bytes below this offset. */
	int granted;

	/**
	 * @marks: For the last HOMA_XMIT_MARKS ticks in which first
	 * transmissions of the message left this host (their destructor
	 * ran: a device sent them, a queue dropped them, or, over veth, the
	 * receiving side's IP layer took them in; loopback and qdiscs that
	 * delay packets let go of them as they take them), where those bytes
	 * began; the newest is marks[(@num_marks - 1) % HOMA_XMIT_MARKS].
	 * Bytes still queued in this host, or that left it less than
	 * homa_rpc_young_ticks() ago, are not sent again for a RESEND, and
	 * the RPC asks its peer nothing meanwhile (homa_timer.c): the peer
	 * cannot have got what is still here, and a RESEND that arrives
	 * just after they left was most likely sent before they arrived.
	 * Under load such queues take longer than resend_ticks (TCP's
	 * skb_still_in_host_queue() is the per-packet form of the first
	 * rule).
	 */
	struct homa_xmit_mark marks[HOMA_XMIT_MARKS];

	/** @num_marks: Marks recorded since the message (re)started. */
	u32 num_marks;

	/**
	 * @left_end: One past the highest byte whose first transmission has
	 * left this host; the bytes from here to @next_offset are still
	 * queued here.
	 */
	u32 left_end;

	/**
	 * @left_bytes: Bytes of first transmissions that have left this
	 * host. Below @left_end while a packet below @left_end is still
	 * queued here: packets can leave out of order (several CPUs' or
	 * devices' queues).
	 */
	u32 left_bytes;

	/**
	 * @left_prefix: Every first transmission below this offset has left
	 * this host. Bytes from here up count as still queued while
	 * @left_bytes is below @left_end (homa_msgout_young()).
	 */
	u32 left_prefix;

	/**
	 * @marks_lock: Protects @marks, @num_marks, @left_end, @left_bytes
	 * and @left_prefix, which the
	 * destructors of the message's packets (homa_data_wfree()) write
	 * without the socket lock, in any context. Innermost: taken with
	 * the socket lock held or not, and nothing is taken under it.
	 */
	spinlock_t marks_lock;
};

/**
 * struct homa_msgin - An incoming message.
 */
struct homa_msgin {
	/** @length: Bytes in the message; -1 until the first packet. */
	int length;

	/** @bytes_remaining: Bytes not yet received. */
	int bytes_remaining;

	/** @recv_end: One past the highest byte received so far. */
	int recv_end;

	/** @granted: The sender may send bytes below this offset. */
	int granted;

	/**
	 * @charged: Bytes this message adds to its namespace's
	 * total_incoming (scheduled bytes granted but not received).
	 */
	int charged;

	/** @num_gaps: Entries in @gaps. */
	int num_gaps;

	/** @gaps: Holes below @recv_end, sorted. */
	struct list_head gaps;

	/**
	 * @packets: Received DATA skbs; skb->data is at the payload and
	 * HOMA_SKB_CB(skb)->offset gives its message offset.
	 */
	struct sk_buff_head packets;

	/** @num_bpages: Entries used in @bpage_offsets. */
	u32 num_bpages;

	/** @bpage_offsets: Where the message goes in the buffer pool. */
	u32 bpage_offsets[HOMA_MAX_BPAGES];
};

/**
 * struct homa_rpc - One RPC on one socket.
 *
 * All fields except @refs are protected by the socket's lock. Each
 * socket's tables hold one reference; code that keeps a pointer after
 * dropping the socket lock takes another (homa_rpc_hold()). Ending an
 * RPC (homa_rpc_end()) unlinks it and releases everything visible to the
 * socket (pool space, memory charge); the struct and its buffers are
 * freed when the last reference goes.
 */
struct homa_rpc {
	/** @hsk: Socket the RPC belongs to. */
	struct homa_sock *hsk;

	/** @peer: Host at the other end. */
	struct homa_peer *peer;

	/** @dport: Port of the other end. */
	u16 dport;

	/** @id: Id on this host (odd: we are the server). */
	u64 id;

	/** @completion_cookie: Client only: returned with the response. */
	u64 completion_cookie;

	/** @state: See enum homa_rpc_state. */
	enum homa_rpc_state state;

	/** @flags: HOMA_RPC_F_* bits. */
	u32 flags;

	/** @error: Client only: errno the RPC failed with, or 0. */
	int error;

	/** @refs: References; see above. */
	refcount_t refs;

	/** @hash_links: Entry in the socket's client or server table. */
	struct hlist_node hash_links;

	/** @active_links: Entry in the socket's list of all RPCs. */
	struct list_head active_links;

	/** @ready_links: Entry in the socket's ready or buffer-wait list. */
	struct list_head ready_links;

	/** @grant_links: Entry in the namespace's list of RPCs to grant. */
	struct list_head grant_links;

	/** @throttle_links: Entry in the socket's throttled list. */
	struct list_head throttle_links;

	/**
	 * @silent_ticks: Timer ticks since the peer last sent anything
	 * about this RPC while we were waiting for it (see homa_timer.c).
	 */
	u32 silent_ticks;

	/**
	 * @resend_tick: Tick at which we last sent a RESEND or NEED_ACK for
	 * this RPC; 0 if none since the peer was last heard from.
	 */
	u32 resend_tick;

	/**
	 * @prev_resend_tick: @resend_tick when the peer was last heard from
	 * (the last RESEND of the previous round). An answer that comes
	 * after its round ended answers a RESEND sent no later than this:
	 * the peer takes at least that long (homa_rpc_answered()).
	 */
	u32 prev_resend_tick;

	/**
	 * @unanswered: RESENDs and NEED_ACKs sent for this RPC since the peer
	 * last sent anything about it. A live host answers each; when it
	 * answers others but not these, the port is gone (a client process
	 * that died), and the RPC may time out (homa_timer.c).
	 */
	u32 unanswered;

	/**
	 * @unknowns: RESEND rounds (values of @resend_tick) whose RESENDs
	 * drew RPC_UNKNOWN since the peer last sent anything else about this
	 * RPC. A client with part of the response fails only after
	 * HOMA_UNKNOWN_ROUNDS of them: RPC_UNKNOWNs that answer RESENDs sent
	 * before the request reached the server can arrive late, several
	 * together, and after the first response bytes (reordering, a
	 * neighbour's queue); a server that really lost the RPC answers every
	 * round.
	 */
	u32 unknowns;

	/** @unknown_tick: The @resend_tick last counted in @unknowns. */
	u32 unknown_tick;

	/** @msgout: The message we send. */
	struct homa_msgout msgout;

	/** @msgin: The message we receive. */
	struct homa_msgin msgin;
};

/**
 * struct homa_skb_cb - Homa's use of skb->cb for received DATA.
 */
struct homa_skb_cb {
	/** @offset: Message offset of the skb's payload. */
	u32 offset;
};

#define HOMA_SKB_CB(skb) ((struct homa_skb_cb *)(skb)->cb)

/**
 * homa_rpc_hold() - Take a reference on an RPC.
 * @rpc: The RPC.
 */
static inline void homa_rpc_hold(struct homa_rpc *rpc)
{
	refcount_inc(&rpc->refs);
}

/**
 * homa_rpc_heard() - The peer sent a packet about an RPC: it is alive, so
 * the RPC's silence count starts again. Caller holds the socket lock.
 * @rpc: The RPC.
 */
static inline void homa_rpc_heard(struct homa_rpc *rpc)
{
	rpc->silent_ticks = 0;
	if (rpc->resend_tick)
		rpc->prev_resend_tick = rpc->resend_tick;
	rpc->resend_tick = 0;
	rpc->unanswered = 0;
	rpc->unknowns = 0;
	rpc->unknown_tick = 0;
}

/**
 * homa_rpc_is_client() - Whether this host is the RPC's client.
 * @rpc: The RPC.
 *
 * Return: true for client RPCs.
 */
static inline bool homa_rpc_is_client(const struct homa_rpc *rpc)
{
	return (rpc->id & 1) == 0;
}

struct homa_rpc *homa_rpc_alloc_client(struct homa_sock *hsk,
				       struct homa_peer *peer, u16 dport);
struct homa_rpc *homa_rpc_alloc_server(struct homa_sock *hsk,
				       struct homa_peer *peer, u16 dport,
				       u64 id);
struct homa_rpc *homa_rpc_find_client(struct homa_sock *hsk, u64 id);
struct homa_rpc *homa_rpc_find_server(struct homa_sock *hsk,
				      const struct homa_peer *peer, u16 dport,
				      u64 id);
struct homa_rpc *homa_rpc_find_server_addr(struct homa_sock *hsk,
					   const struct in6_addr *addr,
					   u16 port, u64 id);
void homa_rpc_release_bufs(struct homa_rpc *rpc);
void homa_msgin_consume(struct homa_msgin *m);
void homa_rpc_restart(struct homa_rpc *rpc);
void homa_rpc_end(struct homa_rpc *rpc);
void homa_rpc_put(struct homa_rpc *rpc);

#endif /* _HOMA_RPC_H */
