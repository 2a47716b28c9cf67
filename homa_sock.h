/* SPDX-License-Identifier: GPL-2.0 */

/* Homa sockets and the per-namespace table that finds them by port. */

#ifndef _HOMA_SOCK_H
#define _HOMA_SOCK_H

#include <linux/ipv6.h>
#include <linux/rculist.h>
#include <linux/spinlock.h>
#include <net/inet_sock.h>

#include "homa_pool.h"
#include "homa_rpc.h"

struct homa_net;

/* Buckets in a namespace's port table; a power of two. */
#define HOMA_SOCKTAB_BUCKETS	1024

/* Number of automatically assigned ("client") ports. */
#define HOMA_NUM_CLIENT_PORTS	(0x10000 - HOMA_MIN_DEFAULT_PORT)

/* Server RPCs a socket remembers after they ended (struct homa_acked). */
#define HOMA_ACKED_RPCS		256

/* Hash buckets of struct homa_acked_table. */
#define HOMA_ACKED_BUCKETS	64

/**
 * struct homa_acked - A server RPC that ended because the client had its
 * response. A late duplicate of its request (the network may duplicate
 * and delay packets) must not start it again: at most once.
 */
struct homa_acked {
	/** @links: In its bucket of homa_acked_table.buckets. */
	struct hlist_node links;

	/**
	 * @addr: The client host (the address, not the peer: a peer no RPC
	 * uses may be freed, and its memory reused for another host).
	 */
	struct in6_addr addr;

	/** @id: Our (server) id of the RPC. */
	u64 id;

	/** @port: The client's port. */
	u16 port;
};

/**
 * struct homa_acked_table - The HOMA_ACKED_RPCS server RPCs of a socket
 * that ended last because their client was done: a ring (the oldest entry
 * is reused), hashed by id so that a request for an unknown RPC is checked
 * against a few entries, not all of them. Protected by the socket's lock.
 */
struct homa_acked_table {
	/** @buckets: Entries of @rpcs in use, by homa_acked_bucket(). */
	struct hlist_head buckets[HOMA_ACKED_BUCKETS];

	/** @rpcs: The entries; unused ones are unhashed. */
	struct homa_acked rpcs[HOMA_ACKED_RPCS];

	/** @next: Entry of @rpcs the next ended RPC goes in. */
	u32 next;
};

/**
 * struct homa_socktab - The sockets of one namespace, hashed by port.
 */
struct homa_socktab {
	/**
	 * @lock: Serialises changes to @buckets and @next_client_port.
	 * Lookups use RCU instead.
	 */
	spinlock_t lock;

	/**
	 * @next_client_port: Where the search for a free automatic port
	 * starts; moves up so recently freed ports are not reused at once.
	 */
	u16 next_client_port;

	/** @buckets: Hash chains of struct homa_sock, by port. */
	struct hlist_head buckets[HOMA_SOCKTAB_BUCKETS];
};

/**
 * struct homa_sock - A Homa socket.
 */
struct homa_sock {
	/** @inet: Generic Internet socket; must be first. */
	struct inet_sock inet;

	/** @hnet: State of the socket's namespace. */
	struct homa_net *hnet;

	/**
	 * @port: The socket's port: assigned automatically at creation,
	 * replaced by a server port on bind(). Changed only under
	 * socktab.lock.
	 */
	u16 port;

	/**
	 * @in_socktab: True while the socket is in its namespace's port
	 * table. Changed only under socktab.lock.
	 */
	bool in_socktab;

	/**
	 * @shutdown: Set by shutdown() or close(); later calls fail with
	 * ESHUTDOWN. Written under socktab.lock, read with READ_ONCE().
	 */
	bool shutdown;

	/**
	 * @is_server: SO_HOMA_SERVER: accept incoming requests even
	 * without a bound server port.
	 */
	bool is_server;

	/**
	 * @error_msg: Static text describing the most recent error of a
	 * call on this socket, for HOMAIOCINFO; NULL if none.
	 */
	const char *error_msg;

	/** @socktab_links: Entry in a bucket of the port table. */
	struct hlist_node socktab_links;

	/**
	 * @lock: Protects the RPC tables and lists below and the state of
	 * every RPC of the socket (see homa_impl.h).
	 */
	spinlock_t lock;

	/** @num_rpcs: Live RPCs of the socket. */
	int num_rpcs;

	/**
	 * @wmem_queued: Bytes of outgoing messages held by live RPCs;
	 * sendmsg waits while this would exceed wmem_max.
	 */
	int wmem_queued;

	/** @active_rpcs: Every live RPC, oldest first. */
	struct list_head active_rpcs;

	/** @ready_rpcs: Non-private RPCs with a message for recvmsg. */
	struct list_head ready_rpcs;

	/**
	 * @ready_seq: Incremented (under @lock) whenever a message becomes
	 * ready; recvmsg busy-polls it without the lock.
	 */
	u32 ready_seq;

	/** @buf_waiters: RPCs waiting for buffer pool space. */
	struct list_head buf_waiters;

	/**
	 * @throttled: RPCs with granted bytes held back because the
	 * socket's packets below Homa (qdisc, device) reached SO_SNDBUF;
	 * @resume_work sends them when the device frees some.
	 */
	struct list_head throttled;

	/** @resume_work: Runs homa_sock_resume() (see homa_outgoing.c). */
	struct work_struct resume_work;

	/** @client_rpcs: Client RPCs, hashed by id. */
	struct hlist_head client_rpcs[HOMA_RPC_BUCKETS];

	/** @server_rpcs: Server RPCs, hashed by id. */
	struct hlist_head server_rpcs[HOMA_RPC_BUCKETS];

	/** @pool: Receive buffers (SO_HOMA_RCVBUF). */
	struct homa_pool pool;

	/**
	 * @acked: The server RPCs that ended last because their client was
	 * done; allocated with the first one, or NULL. Protected by @lock.
	 */
	struct homa_acked_table *acked;
};

/**
 * struct homa_v6_sock - A Homa socket of family AF_INET6.
 */
struct homa_v6_sock {
	/** @homa: The Homa socket. */
	struct homa_sock homa;

	/**
	 * @inet6: IPv6 state; must be last (see homa_compat.h).
	 */
	struct ipv6_pinfo inet6;
};

/**
 * homa_sk() - The Homa socket of a struct sock.
 * @sk: A socket of one of Homa's protocols.
 *
 * Return: the enclosing struct homa_sock.
 */
static inline struct homa_sock *homa_sk(const struct sock *sk)
{
	return (struct homa_sock *)sk;
}

/**
 * homa_sock_set_error() - Remember why the latest call failed.
 * @hsk: Socket.
 * @msg: Static text, returned by HOMAIOCINFO.
 */
static inline void homa_sock_set_error(struct homa_sock *hsk, const char *msg)
{
	WRITE_ONCE(hsk->error_msg, msg);
}

/**
 * homa_sock_is_server() - Whether a socket accepts incoming requests:
 * it has a server port, or SO_HOMA_SERVER is set.
 * @hsk: Socket.
 *
 * Return: true if requests are accepted.
 */
static inline bool homa_sock_is_server(const struct homa_sock *hsk)
{
	return READ_ONCE(hsk->port) < HOMA_MIN_DEFAULT_PORT ||
	       READ_ONCE(hsk->is_server);
}

void homa_socktab_init(struct homa_socktab *tab);
void homa_socktab_destroy(struct homa_socktab *tab);
int homa_sock_init(struct homa_sock *hsk, struct homa_net *hn);
void homa_sock_shutdown(struct homa_sock *hsk);
int homa_sock_bind(struct homa_sock *hsk, u16 port);
struct homa_sock *homa_sock_find(struct homa_net *hn, u16 port);
void homa_sock_remember_acked(struct homa_sock *hsk, struct homa_rpc *rpc);
bool homa_sock_was_acked(struct homa_sock *hsk, struct homa_peer *peer,
			 u16 port, u64 id);
void homa_sock_destroy(struct homa_sock *hsk);

#endif /* _HOMA_SOCK_H */
