// SPDX-License-Identifier: GPL-2.0

/* Glue between Homa and the rest of the kernel: module init/exit, the
 * protocol and socket-operation tables for AF_INET and AF_INET6, per
 * network namespace setup, the system calls on Homa sockets, and the entry
 * point for received packets.
 */

#include <linux/module.h>
#include <linux/net.h>
#include <linux/uaccess.h>
#include <net/inet_common.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/protocol.h>
#include <net/transp_v6.h>

#include "homa_impl.h"

unsigned int homa_net_id __read_mostly;

/* Compile-time checks that the user API keeps its ABI. */
static void homa_uapi_check_layout(void)
{
	BUILD_BUG_ON(IPPROTO_HOMA != 146);
	BUILD_BUG_ON(HOMA_BPAGE_SIZE != 1 << HOMA_BPAGE_SHIFT);
	BUILD_BUG_ON(HOMA_MAX_BPAGES != 16);
	BUILD_BUG_ON(sizeof(struct homa_sendmsg_args) != 24);
	BUILD_BUG_ON(offsetof(struct homa_sendmsg_args, completion_cookie) != 8);
	BUILD_BUG_ON(offsetof(struct homa_sendmsg_args, flags) != 16);
	BUILD_BUG_ON(offsetof(struct homa_sendmsg_args, reserved) != 20);
	BUILD_BUG_ON(sizeof(struct homa_recvmsg_args) != 88);
	BUILD_BUG_ON(offsetof(struct homa_recvmsg_args, completion_cookie) != 8);
	BUILD_BUG_ON(offsetof(struct homa_recvmsg_args, num_bpages) != 16);
	BUILD_BUG_ON(offsetof(struct homa_recvmsg_args, reserved) != 20);
	BUILD_BUG_ON(offsetof(struct homa_recvmsg_args, bpage_offsets) != 24);
	BUILD_BUG_ON(sizeof(struct homa_rcvbuf_args) != 16);
	BUILD_BUG_ON(offsetof(struct homa_rcvbuf_args, length) != 8);
	BUILD_BUG_ON(sizeof(struct homa_rpc_info) != 184);
	BUILD_BUG_ON(offsetof(struct homa_rpc_info, peer) != 8);
	BUILD_BUG_ON(offsetof(struct homa_rpc_info, completion_cookie) != 136);
	BUILD_BUG_ON(offsetof(struct homa_rpc_info, tx_length) != 144);
	BUILD_BUG_ON(offsetof(struct homa_rpc_info, tx_sent) != 148);
	BUILD_BUG_ON(offsetof(struct homa_rpc_info, tx_granted) != 152);
	BUILD_BUG_ON(offsetof(struct homa_rpc_info, tx_prio) != 156);
	BUILD_BUG_ON(offsetof(struct homa_rpc_info, rx_length) != 160);
	BUILD_BUG_ON(offsetof(struct homa_rpc_info, rx_remaining) != 164);
	BUILD_BUG_ON(offsetof(struct homa_rpc_info, rx_gaps) != 168);
	BUILD_BUG_ON(offsetof(struct homa_rpc_info, rx_gap_bytes) != 172);
	BUILD_BUG_ON(offsetof(struct homa_rpc_info, rx_granted) != 176);
	BUILD_BUG_ON(offsetof(struct homa_rpc_info, flags) != 180);
	BUILD_BUG_ON(sizeof(struct homa_info) != 136);
	BUILD_BUG_ON(offsetof(struct homa_info, rpc_info_length) != 8);
	BUILD_BUG_ON(offsetof(struct homa_info, bpool_avail_bytes) != 16);
	BUILD_BUG_ON(offsetof(struct homa_info, port) != 24);
	BUILD_BUG_ON(offsetof(struct homa_info, num_rpcs) != 28);
	BUILD_BUG_ON(offsetof(struct homa_info, error_msg) != 32);
	BUILD_BUG_ON(sizeof(struct homa_abort_args) != 32);
	BUILD_BUG_ON(offsetof(struct homa_abort_args, error) != 8);
	BUILD_BUG_ON(offsetof(struct homa_abort_args, _pad1) != 12);
	BUILD_BUG_ON(offsetof(struct homa_abort_args, _pad2) != 16);
}

/* ---------------------------------------------------------------------
 * struct proto callbacks (called with the struct sock).
 */

static int homa_sk_init(struct sock *sk)
{
	struct homa_net *hn = homa_sk_net(sk);
	int err;

	/* Lookups in the port table run under RCU only. */
	sock_set_flag(sk, SOCK_RCU_FREE);
	/* Called as the device frees our packets (throttled DATA). */
	sk->sk_write_space = homa_write_space;
	err = homa_sock_init(homa_sk(sk), hn);
	if (err)
		return err;
	homa_metric_inc(hn, HOMA_MET_SOCKETS_CREATED);
	return 0;
}

static void homa_sk_destroy(struct sock *sk)
{
	struct homa_sock *hsk = homa_sk(sk);

	homa_sock_shutdown(hsk);
	homa_pool_destroy(&hsk->pool);
	homa_sock_destroy(hsk);
}

static void homa_sk_close(struct sock *sk, long timeout)
{
	homa_sock_shutdown(homa_sk(sk));
	homa_metric_inc(homa_sk_net(sk), HOMA_MET_SOCKETS_CLOSED);
	sk_common_release(sk);
}

/* Homa keeps its own port table (homa_sock.c); the inet hash hooks that
 * sk_common_release() calls have nothing to do.
 */
static int homa_sk_hash(struct sock *sk)
{
	return 0;
}

static void homa_sk_unhash(struct sock *sk)
{
}

/**
 * homa_get_dest() - Decode the destination of a sendmsg.
 * @hsk:   Sending socket.
 * @msg:   The message header (msg_name is a kernel copy).
 * @addr:  Filled with the address (IPv4 v4-mapped).
 * @port:  Filled with the port.
 *
 * Return: 0, -EINVAL or -EAFNOSUPPORT.
 */
static int homa_get_dest(struct homa_sock *hsk, struct msghdr *msg,
			 struct in6_addr *addr, u16 *port)
{
	const struct sockaddr_in6 *sin6 = msg->msg_name;
	const struct sockaddr_in *sin = msg->msg_name;
	int family = hsk->inet.sk.sk_family;

	if (!sin || msg->msg_namelen < (int)sizeof(*sin)) {
		homa_sock_set_error(hsk, "sendmsg: msg_name must hold the destination");
		return -EINVAL;
	}
	if (sin->sin_family == AF_INET) {
		/* IPv6 sockets reach IPv4 hosts too (v4-mapped peers). */
		ipv6_addr_set_v4mapped(sin->sin_addr.s_addr, addr);
		*port = ntohs(sin->sin_port);
	} else if (sin->sin_family == AF_INET6 && family == AF_INET6) {
		if (msg->msg_namelen < SIN6_LEN_RFC2133) {
			homa_sock_set_error(hsk, "sendmsg: msg_namelen too short");
			return -EINVAL;
		}
		*addr = sin6->sin6_addr;
		*port = ntohs(sin6->sin6_port);
	} else {
		homa_sock_set_error(hsk, "sendmsg: wrong address family");
		return -EAFNOSUPPORT;
	}
	if (*port == 0) {
		homa_sock_set_error(hsk, "sendmsg: destination port 0");
		return -EINVAL;
	}
	return 0;
}

/**
 * homa_wait_wmem() - Wait until a socket may queue @len more bytes of
 * outgoing messages (wmem_max). The limit is soft: concurrent senders
 * that pass this check together may overshoot it by one message each.
 * @hsk:      Socket.
 * @len:      Bytes about to be queued.
 * @nonblock: Fail with -EAGAIN instead of sleeping.
 *
 * Return: 0, -EAGAIN, -EINTR or -ESHUTDOWN.
 */
static int homa_wait_wmem(struct homa_sock *hsk, int len, bool nonblock)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct sock *sk = &hsk->inet.sk;
	long timeo = nonblock ? 0 : MAX_SCHEDULE_TIMEOUT;
	int err = 0;
	bool ok;

	add_wait_queue(sk_sleep(sk), &wait);
	for (;;) {
		spin_lock_bh(&hsk->lock);
		/* One message always fits, however large. */
		ok = hsk->wmem_queued == 0 || hsk->wmem_queued + len <=
		     READ_ONCE(hsk->hnet->params.wmem_max);
		spin_unlock_bh(&hsk->lock);
		if (READ_ONCE(hsk->shutdown)) {
			err = -ESHUTDOWN;
			break;
		}
		if (ok)
			break;
		if (!timeo) {
			err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			err = -EINTR;
			break;
		}
		timeo = wait_woken(&wait, TASK_INTERRUPTIBLE, timeo);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

static int homa_sk_sendmsg(struct sock *sk, struct msghdr *msg, size_t len)
{
	struct homa_sendmsg_args __user *uargs = msg->msg_control_user;
	struct homa_sock *hsk = homa_sk(sk);
	struct homa_sendmsg_args args;
	struct homa_peer *peer;
	struct homa_rpc *rpc;
	struct in6_addr addr;
	void *buf;
	u64 id;
	u16 port;
	int err;

	if (!msg->msg_control_is_user || !uargs) {
		homa_sock_set_error(hsk, "sendmsg: msg_control must point to homa_sendmsg_args");
		return -EINVAL;
	}
	if (copy_from_user(&args, uargs, sizeof(args)))
		return -EFAULT;
	if ((args.flags & ~HOMA_SENDMSG_VALID_FLAGS) || args.reserved) {
		homa_sock_set_error(hsk, "sendmsg: bad flags or reserved field");
		return -EINVAL;
	}
	if (len == 0 || len > HOMA_MAX_MESSAGE_LENGTH) {
		homa_sock_set_error(hsk, "sendmsg: bad message length");
		return -EINVAL;
	}
	if (args.id != 0 && (homa_is_client(args.id) ||
			     args.completion_cookie ||
			     (args.flags & HOMA_SENDMSG_PRIVATE))) {
		homa_sock_set_error(hsk, "sendmsg: bad id, cookie or flags");
		return -EINVAL;
	}
	err = homa_get_dest(hsk, msg, &addr, &port);
	if (err)
		return err;

	buf = kvmalloc(len, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	if (!copy_from_iter_full(buf, len, &msg->msg_iter)) {
		kvfree(buf);
		return -EFAULT;
	}
	err = homa_wait_wmem(hsk, len, msg->msg_flags & MSG_DONTWAIT);
	if (err) {
		kvfree(buf);
		return err;
	}

	spin_lock_bh(&hsk->lock);
	if (hsk->shutdown) {
		spin_unlock_bh(&hsk->lock);
		kvfree(buf);
		return -ESHUTDOWN;
	}

	if (args.id == 0) {
		peer = homa_peer_get(hsk->hnet, &addr);
		if (IS_ERR(peer)) {
			spin_unlock_bh(&hsk->lock);
			kvfree(buf);
			return PTR_ERR(peer) == -ENOSPC ? -ENOBUFS : -ENOMEM;
		}
		rpc = homa_rpc_alloc_client(hsk, peer, port);
		if (!rpc) {
			spin_unlock_bh(&hsk->lock);
			kvfree(buf);
			return -ENOMEM;
		}
		rpc->completion_cookie = args.completion_cookie;
		if (args.flags & HOMA_SENDMSG_PRIVATE)
			rpc->flags |= HOMA_RPC_F_PRIVATE;
	} else {
		/* Clients on different hosts may use the same id: the
		 * destination picks the RPC.
		 */
		rpc = homa_rpc_find_server_addr(hsk, &addr, port, args.id);
		if (!rpc && homa_rpc_find_server(hsk, NULL, 0, args.id)) {
			spin_unlock_bh(&hsk->lock);
			kvfree(buf);
			homa_sock_set_error(hsk, "sendmsg: msg_name is not the requester");
			return -EINVAL;
		}
		if (!rpc) {
			/* The RPC ended (e.g. aborted): nothing to send. */
			spin_unlock_bh(&hsk->lock);
			kvfree(buf);
			return 0;
		}
		if (rpc->state != HOMA_RPC_IN_SERVICE) {
			spin_unlock_bh(&hsk->lock);
			kvfree(buf);
			homa_sock_set_error(hsk, "sendmsg: response not expected");
			return -EINVAL;
		}
		rpc->state = HOMA_RPC_OUTGOING;
	}
	err = homa_msgout_init(rpc, buf, len);
	if (err) {
		homa_rpc_end(rpc);
		spin_unlock_bh(&hsk->lock);
		homa_sock_set_error(hsk, "sendmsg: no route to the destination");
		return err;
	}
	homa_xmit_data(rpc);
	id = rpc->id;
	spin_unlock_bh(&hsk->lock);

	if (args.id == 0) {
		homa_metric_inc(hsk->hnet, HOMA_MET_CLIENT_RPCS);
		if (put_user(id, &uargs->id)) {
			spin_lock_bh(&hsk->lock);
			rpc = homa_rpc_find_client(hsk, id);
			if (rpc)
				homa_rpc_end(rpc);
			spin_unlock_bh(&hsk->lock);
			return -EFAULT;
		}
	}
	return 0;
}

/**
 * homa_rpc_peer_addr() - Write the other end of an RPC as a socket address
 * of the RPC's socket family (IPv4 peers of IPv6 sockets v4-mapped).
 * @rpc:  The RPC.
 * @addr: Room for a struct sockaddr_in6; zeroed first.
 *
 * Return: bytes of the address written.
 */
static int homa_rpc_peer_addr(const struct homa_rpc *rpc, void *addr)
{
	struct sockaddr_in6 *sin6;

	if (rpc->hsk->inet.sk.sk_family == AF_INET) {
		struct sockaddr_in *sin = addr;

		memset(sin, 0, sizeof(*sin));
		sin->sin_family = AF_INET;
		sin->sin_port = htons(rpc->dport);
		sin->sin_addr.s_addr = rpc->peer->addr.s6_addr32[3];
		return sizeof(*sin);
	}
	sin6 = addr;
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(rpc->dport);
	sin6->sin6_addr = rpc->peer->addr;
	return sizeof(*sin6);
}

static int homa_sk_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
			   int flags, int *addr_len)
{
	struct homa_recvmsg_args __user *uargs = msg->msg_control_user;
	struct homa_sock *hsk = homa_sk(sk);
	struct homa_recvmsg_args args;
	struct homa_rpc *rpc;
	int result, err;

	if (!msg->msg_control_is_user || !uargs ||
	    msg->msg_controllen != sizeof(args)) {
		homa_sock_set_error(hsk, "recvmsg: bad msg_control or msg_controllen");
		return -EINVAL;
	}
	if (copy_from_user(&args, uargs, sizeof(args)))
		return -EFAULT;
	if (args.reserved || args.num_bpages > HOMA_MAX_BPAGES ||
	    (args.id && !homa_is_client(args.id))) {
		homa_sock_set_error(hsk, "recvmsg: bad id, num_bpages or reserved");
		return -EINVAL;
	}
	if (args.num_bpages) {
		err = homa_pool_release(&hsk->pool, args.num_bpages,
					args.bpage_offsets);
		if (err) {
			homa_sock_set_error(hsk, "recvmsg: bad bpage_offsets");
			return err;
		}
		spin_lock_bh(&hsk->lock);
		homa_pool_check_waiters(hsk);
		spin_unlock_bh(&hsk->lock);
		homa_grant_recheck(hsk->hnet);
	}

	rpc = homa_wait_for_message(hsk, args.id, flags & MSG_DONTWAIT);
	memset(&args, 0, sizeof(args));
	if (IS_ERR(rpc)) {
		result = PTR_ERR(rpc);
		goto out;
	}
	args.id = rpc->id;
	if (homa_rpc_is_client(rpc))
		args.completion_cookie = rpc->completion_cookie;
	if (rpc->state == HOMA_RPC_FAILED) {
		result = -rpc->error;
	} else {
		result = homa_copy_to_user(rpc);
		if (result == 0) {
			result = rpc->msgin.length;
			args.num_bpages = rpc->msgin.num_bpages;
			memcpy(args.bpage_offsets, rpc->msgin.bpage_offsets,
			       sizeof(args.bpage_offsets));
		}
	}
	if (msg->msg_name)
		*addr_len = homa_rpc_peer_addr(rpc, msg->msg_name);

	spin_lock_bh(&hsk->lock);
	if (result < 0)
		homa_rpc_release_bufs(rpc);
	if (rpc->state != HOMA_RPC_DEAD) {
		/* The data reached the application: consumed, not dropped. */
		if (result >= 0)
			homa_msgin_consume(&rpc->msgin);
		if (homa_rpc_is_client(rpc)) {
			homa_rpc_end(rpc);
			homa_metric_inc(hsk->hnet, HOMA_MET_CLIENT_RPCS_DONE);
		} else {
			/* The application owns the request's buffers now. */
			rpc->state = HOMA_RPC_IN_SERVICE;
			rpc->flags &= ~(HOMA_RPC_F_BUFS | HOMA_RPC_F_READY |
					HOMA_RPC_F_CLAIMED);
			skb_queue_purge(&rpc->msgin.packets);
		}
	}
	spin_unlock_bh(&hsk->lock);
	homa_rpc_put(rpc);
	homa_sock_wakeup(hsk, EPOLLOUT | EPOLLWRNORM);

out:
	if (copy_to_user(uargs, &args, sizeof(args)))
		return -EFAULT;
	return result;
}

static int homa_sk_setsockopt(struct sock *sk, int level, int optname,
			      sockptr_t optval, unsigned int optlen)
{
	struct homa_sock *hsk = homa_sk(sk);
	int val;

	if (level != IPPROTO_HOMA)
		return -ENOPROTOOPT;
	switch (optname) {
	case SO_HOMA_SERVER:
		if (optlen != sizeof(int)) {
			homa_sock_set_error(hsk, "SO_HOMA_SERVER: bad optlen");
			return -EINVAL;
		}
		if (copy_from_sockptr(&val, optval, sizeof(val)))
			return -EFAULT;
		WRITE_ONCE(hsk->is_server, val != 0);
		return 0;
	case SO_HOMA_RCVBUF: {
		struct homa_rcvbuf_args args;
		int err;

		if (optlen != sizeof(args)) {
			homa_sock_set_error(hsk, "SO_HOMA_RCVBUF: bad optlen");
			return -EINVAL;
		}
		if (copy_from_sockptr(&args, optval, sizeof(args)))
			return -EFAULT;
		err = homa_pool_set_region(&hsk->pool, args.start, args.length);
		if (err) {
			homa_sock_set_error(hsk, "SO_HOMA_RCVBUF: bad region");
			return err;
		}
		spin_lock_bh(&hsk->lock);
		homa_pool_check_waiters(hsk);
		spin_unlock_bh(&hsk->lock);
		homa_grant_recheck(hsk->hnet);
		return 0;
	}
	}
	return -ENOPROTOOPT;
}

static int homa_sk_getsockopt(struct sock *sk, int level, int optname,
			      char __user *optval, int __user *optlen)
{
	struct homa_sock *hsk = homa_sk(sk);
	struct homa_rcvbuf_args rcvbuf;
	const void *result;
	int len, size, val;

	if (level != IPPROTO_HOMA)
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;
	switch (optname) {
	case SO_HOMA_SERVER:
		val = READ_ONCE(hsk->is_server);
		result = &val;
		size = sizeof(val);
		break;
	case SO_HOMA_RCVBUF:
		homa_pool_get_region(&hsk->pool, &rcvbuf.start, &rcvbuf.length);
		result = &rcvbuf;
		size = sizeof(rcvbuf);
		break;
	default:
		return -ENOPROTOOPT;
	}
	if (len < size) {
		homa_sock_set_error(hsk, "getsockopt: optlen too small");
		return -EINVAL;
	}
	if (copy_to_user(optval, result, size) || put_user(size, optlen))
		return -EFAULT;
	return 0;
}

static struct proto homa_prot = {
	.name		= "HOMA",
	.owner		= THIS_MODULE,
	.close		= homa_sk_close,
	.init		= homa_sk_init,
	.destroy	= homa_sk_destroy,
	.setsockopt	= homa_sk_setsockopt,
	.getsockopt	= homa_sk_getsockopt,
	.sendmsg	= homa_sk_sendmsg,
	.recvmsg	= homa_sk_recvmsg,
	.hash		= homa_sk_hash,
	.unhash		= homa_sk_unhash,
	.obj_size	= sizeof(struct homa_sock),
	.no_autobind	= 1,
};

static struct proto homav6_prot = {
	.name		= "HOMAv6",
	.owner		= THIS_MODULE,
	.close		= homa_sk_close,
	.init		= homa_sk_init,
	.destroy	= homa_sk_destroy,
	.setsockopt	= homa_sk_setsockopt,
	.getsockopt	= homa_sk_getsockopt,
	.sendmsg	= homa_sk_sendmsg,
	.recvmsg	= homa_sk_recvmsg,
	.hash		= homa_sk_hash,
	.unhash		= homa_sk_unhash,
	.obj_size	= sizeof(struct homa_v6_sock),
	HOMA_PROTO_IPV6_PINFO_OFFSET(struct homa_v6_sock, inet6)
	.no_autobind	= 1,
};

/* ---------------------------------------------------------------------
 * struct proto_ops callbacks (called with the struct socket).
 */

static int homa_bind(struct socket *sock, struct sockaddr *addr, int addr_len)
{
	struct homa_sock *hsk = homa_sk(sock->sk);
	__be16 port;

	if (sock->sk->sk_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)addr;

		if (addr_len < SIN6_LEN_RFC2133) {
			homa_sock_set_error(hsk, "bind: address too short");
			return -EINVAL;
		}
		if (sin6->sin6_family != AF_INET6) {
			homa_sock_set_error(hsk, "bind: address family must be AF_INET6");
			return -EAFNOSUPPORT;
		}
		port = sin6->sin6_port;
	} else {
		const struct sockaddr_in *sin = (struct sockaddr_in *)addr;

		if (addr_len < (int)sizeof(*sin)) {
			homa_sock_set_error(hsk, "bind: address too short");
			return -EINVAL;
		}
		if (sin->sin_family != AF_INET) {
			homa_sock_set_error(hsk, "bind: address family must be AF_INET");
			return -EAFNOSUPPORT;
		}
		port = sin->sin_port;
	}
	return homa_sock_bind(hsk, ntohs(port));
}

static int homa_shutdown(struct socket *sock, int how)
{
	/* Same encoding check as inet_shutdown(); any direction shuts the
	 * whole socket down, since Homa has no half-closed state.
	 */
	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	homa_sock_shutdown(homa_sk(sock->sk));
	return 0;
}

static __poll_t homa_poll(struct file *file, struct socket *sock,
			  struct poll_table_struct *wait)
{
	struct homa_sock *hsk = homa_sk(sock->sk);
	__poll_t mask;

	sock_poll_wait(file, sock, wait);
	mask = 0;
	spin_lock_bh(&hsk->lock);
	if (!list_empty(&hsk->ready_rpcs))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (hsk->wmem_queued < READ_ONCE(hsk->hnet->params.wmem_max))
		mask |= EPOLLOUT | EPOLLWRNORM;
	spin_unlock_bh(&hsk->lock);
	/* After shutdown no call blocks. */
	if (READ_ONCE(hsk->shutdown))
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM |
			EPOLLHUP;
	return mask;
}

/* Describe one RPC for HOMAIOCINFO. Caller holds the socket lock. */
static void homa_rpc_get_info(struct homa_rpc *rpc, struct homa_rpc_info *ri)
{
	struct homa_msgin *m = &rpc->msgin;
	struct homa_gap *gap;

	memset(ri, 0, sizeof(*ri));
	ri->id = rpc->id;
	homa_rpc_peer_addr(rpc, &ri->peer);
	if (homa_rpc_is_client(rpc))
		ri->completion_cookie = rpc->completion_cookie;
	ri->tx_length = rpc->msgout.length;
	if (rpc->msgout.length >= 0) {
		ri->tx_sent = rpc->msgout.next_offset;
		ri->tx_granted = rpc->msgout.granted;
	}
	ri->rx_length = m->length;
	if (m->length >= 0) {
		ri->rx_remaining = m->bytes_remaining;
		ri->rx_gaps = m->num_gaps;
		list_for_each_entry(gap, &m->gaps, links)
			ri->rx_gap_bytes += gap->end - gap->start;
		ri->rx_granted = m->granted;
		if (!(rpc->flags & HOMA_RPC_F_BUFS) &&
		    !list_empty(&rpc->ready_links) &&
		    !(rpc->flags & HOMA_RPC_F_READY))
			ri->flags |= HOMA_RPC_BUF_STALL;
	}
	if (rpc->flags & HOMA_RPC_F_PRIVATE)
		ri->flags |= HOMA_RPC_PRIVATE;
	if ((rpc->flags & (HOMA_RPC_F_READY | HOMA_RPC_F_CLAIMED)) ==
	    HOMA_RPC_F_READY)
		ri->flags |= HOMA_RPC_RX_READY;
	if (rpc->flags & HOMA_RPC_F_CLAIMED)
		ri->flags |= HOMA_RPC_RX_COPY;
}

/* Most RPCs one HOMAIOCINFO call describes (bounds the kernel buffer). */
#define HOMA_INFO_MAX_RPCS	10000

static int homa_ioc_info(struct homa_sock *hsk, void __user *uarg)
{
	struct homa_rpc_info *infos = NULL;
	struct homa_info info;
	struct homa_rpc *rpc;
	const char *msg;
	u64 max = 0;
	u32 n = 0;
	int err = 0;

	if (copy_from_user(&info, uarg, sizeof(info)))
		return -EFAULT;
	if (info.rpc_info && info.rpc_info_length) {
		max = min_t(u64, info.rpc_info_length / sizeof(*infos),
			    HOMA_INFO_MAX_RPCS);
		if (max) {
			infos = kvcalloc(max, sizeof(*infos), GFP_KERNEL);
			if (!infos)
				return -ENOMEM;
		}
	}
	spin_lock_bh(&hsk->lock);
	info.num_rpcs = hsk->num_rpcs;
	list_for_each_entry(rpc, &hsk->active_rpcs, active_links) {
		if (n >= max)
			break;
		homa_rpc_get_info(rpc, &infos[n++]);
	}
	spin_unlock_bh(&hsk->lock);
	if (n && copy_to_user(u64_to_user_ptr(info.rpc_info), infos,
			      n * sizeof(*infos)))
		err = -EFAULT;
	kvfree(infos);
	if (err)
		return err;

	info.bpool_avail_bytes = homa_pool_avail_bytes(&hsk->pool);
	info.port = READ_ONCE(hsk->port);
	msg = READ_ONCE(hsk->error_msg);
	strscpy_pad(info.error_msg, msg ? msg : "", sizeof(info.error_msg));
	if (copy_to_user(uarg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static int homa_ioc_abort(struct homa_sock *hsk, void __user *uarg)
{
	struct homa_abort_args args;
	struct homa_rpc *rpc, *next;
	int err = 0;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args._pad1 || args._pad2[0] || args._pad2[1]) {
		homa_sock_set_error(hsk, "HOMAIOCABORT: padding must be zero");
		return -EINVAL;
	}
	if (args.error > MAX_ERRNO) {
		homa_sock_set_error(hsk, "HOMAIOCABORT: error is not an errno");
		return -EINVAL;
	}
	spin_lock_bh(&hsk->lock);
	if (args.id == 0) {
		list_for_each_entry_safe(rpc, next, &hsk->active_rpcs,
					 active_links) {
			if (homa_rpc_is_client(rpc))
				homa_rpc_abort(rpc, args.error);
		}
	} else {
		rpc = homa_is_client(args.id) ?
		      homa_rpc_find_client(hsk, args.id) : NULL;
		if (rpc) {
			homa_rpc_abort(rpc, args.error);
		} else {
			homa_sock_set_error(hsk, "HOMAIOCABORT: no such client RPC");
			err = -EINVAL;
		}
	}
	spin_unlock_bh(&hsk->lock);
	homa_sock_wakeup(hsk, EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM);
	return err;
}

static int homa_ioctl(struct socket *sock, unsigned int cmd,
		      unsigned long arg)
{
	struct homa_sock *hsk = homa_sk(sock->sk);

	switch (cmd) {
	case HOMAIOCINFO:
		return homa_ioc_info(hsk, (void __user *)arg);
	case HOMAIOCABORT:
		return homa_ioc_abort(hsk, (void __user *)arg);
	}
	if (sock->sk->sk_family == AF_INET6)
		return inet6_ioctl(sock, cmd, arg);
	return inet_ioctl(sock, cmd, arg);
}

static const struct proto_ops homa_proto_ops = {
	.family		= PF_INET,
	.owner		= THIS_MODULE,
	.release	= inet_release,
	.bind		= homa_bind,
	.connect	= sock_no_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= inet_getname,
	.poll		= homa_poll,
	.ioctl		= homa_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= homa_shutdown,
	.setsockopt	= sock_common_setsockopt,
	.getsockopt	= sock_common_getsockopt,
	.sendmsg	= inet_sendmsg,
	.recvmsg	= inet_recvmsg,
	.mmap		= sock_no_mmap,
};

static const struct proto_ops homav6_proto_ops = {
	.family		= PF_INET6,
	.owner		= THIS_MODULE,
	.release	= inet6_release,
	.bind		= homa_bind,
	.connect	= sock_no_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= inet6_getname,
	.poll		= homa_poll,
	.ioctl		= homa_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= homa_shutdown,
	.setsockopt	= sock_common_setsockopt,
	.getsockopt	= sock_common_getsockopt,
	.sendmsg	= inet_sendmsg,
	.recvmsg	= inet_recvmsg,
	.mmap		= sock_no_mmap,
};

static struct inet_protosw homa_protosw = {
	.type		= SOCK_DGRAM,
	.protocol	= IPPROTO_HOMA,
	.prot		= &homa_prot,
	.ops		= &homa_proto_ops,
	.flags		= INET_PROTOSW_REUSE,
};

static struct inet_protosw homav6_protosw = {
	.type		= SOCK_DGRAM,
	.protocol	= IPPROTO_HOMA,
	.prot		= &homav6_prot,
	.ops		= &homav6_proto_ops,
	.flags		= INET_PROTOSW_REUSE,
};

static const struct net_protocol homa_protocol = {
	.handler	= homa_rcv,
	.err_handler	= homa_err_handler_v4,
	.no_policy	= 1,
};

static const struct inet6_protocol homav6_protocol = {
	.handler	= homa_rcv,
	.err_handler	= homa_err_handler_v6,
	.flags		= INET6_PROTO_NOPOLICY | INET6_PROTO_FINAL,
};

/* ---------------------------------------------------------------------
 * Network namespaces.
 */

static int __net_init homa_net_init(struct net *net)
{
	struct homa_net *hn = homa_net(net);
	int err;

	hn->net = net;
	homa_params_init(&hn->params);
	homa_socktab_init(&hn->socktab);
	homa_peertab_init(&hn->peertab);
	homa_grant_init(&hn->grant);
	atomic64_set(&hn->next_id, 0);
	err = homa_metrics_net_init(hn);
	if (err)
		return err;
	err = homa_sysctl_net_init(hn);
	if (err) {
		homa_metrics_net_exit(hn);
		return err;
	}
	atomic_set(&hn->num_rpcs, 0);
	err = homa_timer_init(hn);
	if (err) {
		homa_sysctl_net_exit(hn);
		homa_metrics_net_exit(hn);
		return err;
	}
	homa_timer_start(hn);
	return 0;
}

static void __net_exit homa_net_exit(struct net *net)
{
	struct homa_net *hn = homa_net(net);

	homa_timer_stop(hn);
	homa_timer_destroy(hn);
	homa_sysctl_net_exit(hn);
	homa_metrics_net_exit(hn);
	homa_socktab_destroy(&hn->socktab);
	homa_grant_destroy(&hn->grant);
	homa_peertab_destroy(&hn->peertab);
}

static struct pernet_operations homa_net_ops = {
	.init	= homa_net_init,
	.exit	= homa_net_exit,
	.id	= &homa_net_id,
	.size	= sizeof(struct homa_net),
};

/* ---------------------------------------------------------------------
 * Module load and unload.
 */

static int __init homa_load(void)
{
	int err;

	homa_wire_check_layout();
	homa_uapi_check_layout();

	err = proto_register(&homa_prot, 1);
	if (err)
		return err;
	err = proto_register(&homav6_prot, 1);
	if (err)
		goto err_v6_proto;
	/* Namespace state exists before any packet or socket can use it. */
	err = register_pernet_subsys(&homa_net_ops);
	if (err)
		goto err_pernet;
	err = inet_add_protocol(&homa_protocol, IPPROTO_HOMA);
	if (err)
		goto err_inet_proto;
	inet_register_protosw(&homa_protosw);
	err = inet6_add_protocol(&homav6_protocol, IPPROTO_HOMA);
	if (err)
		goto err_inet6_proto;
	err = inet6_register_protosw(&homav6_protosw);
	if (err)
		goto err_inet6_protosw;
	return 0;

err_inet6_protosw:
	inet6_del_protocol(&homav6_protocol, IPPROTO_HOMA);
err_inet6_proto:
	inet_unregister_protosw(&homa_protosw);
	inet_del_protocol(&homa_protocol, IPPROTO_HOMA);
err_inet_proto:
	unregister_pernet_subsys(&homa_net_ops);
err_pernet:
	proto_unregister(&homav6_prot);
err_v6_proto:
	proto_unregister(&homa_prot);
	return err;
}

static void __exit homa_unload(void)
{
	/* No sockets exist (each pins the module); stop new packets, wait
	 * for handlers in flight (the del_protocol calls synchronize_net),
	 * then free the namespaces' state.
	 */
	inet6_unregister_protosw(&homav6_protosw);
	inet6_del_protocol(&homav6_protocol, IPPROTO_HOMA);
	inet_unregister_protosw(&homa_protosw);
	inet_del_protocol(&homa_protocol, IPPROTO_HOMA);
	unregister_pernet_subsys(&homa_net_ops);
	proto_unregister(&homav6_prot);
	proto_unregister(&homa_prot);
}

module_init(homa_load);
module_exit(homa_unload);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Homa: a receiver-driven datacenter transport for RPCs");
/* SOCK_DGRAM is an enum in the kernel, so the alias spells out its value
 * (2): "net-pf-2-proto-146-type-2" is what inet_create() asks for.
 */
MODULE_ALIAS_NET_PF_PROTO_TYPE(PF_INET, IPPROTO_HOMA, 2);
MODULE_ALIAS_NET_PF_PROTO_TYPE(PF_INET6, IPPROTO_HOMA, 2);
