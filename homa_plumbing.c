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
	err = homa_sock_init(homa_sk(sk), hn);
	if (err)
		return err;
	homa_metric_inc(hn, HOMA_MET_SOCKETS_CREATED);
	return 0;
}

static void homa_sk_destroy(struct sock *sk)
{
	homa_sock_shutdown(homa_sk(sk));
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

static int homa_sk_sendmsg(struct sock *sk, struct msghdr *msg, size_t len)
{
	homa_sock_set_error(homa_sk(sk), "sendmsg: not supported yet");
	return -EOPNOTSUPP;
}

static int homa_sk_recvmsg(struct sock *sk, struct msghdr *msg, size_t len,
			   int flags, int *addr_len)
{
	homa_sock_set_error(homa_sk(sk), "recvmsg: not supported yet");
	return -EOPNOTSUPP;
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
			homa_sock_set_error(hsk, "SO_HOMA_SERVER: optlen must be sizeof(int)");
			return -EINVAL;
		}
		if (copy_from_sockptr(&val, optval, sizeof(val)))
			return -EFAULT;
		WRITE_ONCE(hsk->is_server, val != 0);
		return 0;
	case SO_HOMA_RCVBUF:
		homa_sock_set_error(hsk, "SO_HOMA_RCVBUF: receive buffers not supported yet");
		return -EOPNOTSUPP;
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
		/* No region can be registered yet: report none. */
		memset(&rcvbuf, 0, sizeof(rcvbuf));
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
	/* sendmsg never blocks yet; after shutdown nothing blocks. */
	mask = EPOLLOUT | EPOLLWRNORM;
	if (READ_ONCE(hsk->shutdown))
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLHUP;
	return mask;
}

static int homa_ioc_info(struct homa_sock *hsk, void __user *uarg)
{
	struct homa_info info;
	const char *msg;

	if (copy_from_user(&info, uarg, sizeof(info)))
		return -EFAULT;
	info.bpool_avail_bytes = 0;
	info.port = READ_ONCE(hsk->port);
	info.num_rpcs = 0;
	msg = READ_ONCE(hsk->error_msg);
	strscpy_pad(info.error_msg, msg ? msg : "", sizeof(info.error_msg));
	if (copy_to_user(uarg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static int homa_ioc_abort(struct homa_sock *hsk, void __user *uarg)
{
	struct homa_abort_args args;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args._pad1 || args._pad2[0] || args._pad2[1]) {
		homa_sock_set_error(hsk, "HOMAIOCABORT: padding must be zero");
		return -EINVAL;
	}
	/* The socket has no client RPCs, so "all of them" is done and any
	 * particular id does not exist.
	 */
	if (args.id != 0) {
		homa_sock_set_error(hsk, "HOMAIOCABORT: no such client RPC");
		return -EINVAL;
	}
	return 0;
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

/* ---------------------------------------------------------------------
 * Packet reception.
 */

/**
 * homa_rcv() - Receive one Homa packet (IPv4 or IPv6), in softirq context.
 * @skb: The packet; skb->data is at the Homa header. Always consumed.
 *
 * Validates the header before anything reads it: the common header must
 * be present, the type known, and the whole header of that type present.
 *
 * Return: always 0 (the packet is consumed).
 */
static int homa_rcv(struct sk_buff *skb)
{
	struct homa_net *hn = homa_net(dev_net(skb->dev));
	const struct homa_common_hdr *h;
	unsigned int hdr_len;

	if (!pskb_may_pull(skb, sizeof(struct homa_common_hdr))) {
		homa_metric_inc(hn, HOMA_MET_PKTS_DROPPED_SHORT);
		kfree_skb_reason(skb, SKB_DROP_REASON_PKT_TOO_SMALL);
		return 0;
	}
	h = (const struct homa_common_hdr *)skb->data;
	hdr_len = homa_pkt_hdr_len(h->type);
	if (hdr_len == 0) {
		homa_metric_inc(hn, HOMA_MET_PKTS_DROPPED_BAD_TYPE);
		kfree_skb_reason(skb, SKB_DROP_REASON_NOT_SPECIFIED);
		return 0;
	}
	if (!pskb_may_pull(skb, hdr_len)) {
		homa_metric_inc(hn, HOMA_MET_PKTS_DROPPED_SHORT);
		kfree_skb_reason(skb, SKB_DROP_REASON_PKT_TOO_SMALL);
		return 0;
	}
	h = (const struct homa_common_hdr *)skb->data;
	homa_metric_inc(hn, HOMA_MET_PKTS_RCVD + h->type - HOMA_PKT_MIN_TYPE);

	/* A well-formed packet, but there is no RPC layer to take it yet. */
	homa_metric_inc(hn, HOMA_MET_PKTS_DROPPED_UNHANDLED);
	kfree_skb_reason(skb, SKB_DROP_REASON_NOT_SPECIFIED);
	return 0;
}

static const struct net_protocol homa_protocol = {
	.handler	= homa_rcv,
	.no_policy	= 1,
};

static const struct inet6_protocol homav6_protocol = {
	.handler	= homa_rcv,
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
	err = homa_metrics_net_init(hn);
	if (err)
		return err;
	err = homa_sysctl_net_init(hn);
	if (err) {
		homa_metrics_net_exit(hn);
		return err;
	}
	return 0;
}

static void __net_exit homa_net_exit(struct net *net)
{
	struct homa_net *hn = homa_net(net);

	homa_sysctl_net_exit(hn);
	homa_metrics_net_exit(hn);
	homa_socktab_destroy(&hn->socktab);
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
