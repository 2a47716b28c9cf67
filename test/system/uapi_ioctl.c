// SPDX-License-Identifier: GPL-2.0
/*
 * The module against uapi/linux/homa.h, from C: an application built with
 * the header sees the socket's port in struct homa_info, reads and writes
 * the socket options through the header's structs and constants, gets
 * the documented errors from HOMAIOCABORT, sendmsg and recvmsg, and runs
 * one RPC over loopback (request and response payloads compared byte by
 * byte, HOMAIOCINFO's view of both sides while it is in progress).  (The
 * Python tests use hand-computed numbers; this one uses the header.)
 *
 * Built on the host by run-systest.sh into build/systest/uapi_ioctl; run
 * in the VM as root.  Loads $HOMA_KO with insmod and unloads it at the end.
 * TAP output; exit 0 pass, 1 fail.
 */

#include <linux/homa.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define NUM_TESTS 27
#define SERVER_PORT 5000

static int test_num;
static int failures;

/* One TAP result; on failure, the printf-style detail as a comment. */
static void result(int ok, const char *desc, const char *fmt, ...)
{
	va_list ap;

	test_num++;
	printf("%sok %d %s\n", ok ? "" : "not ", test_num, desc);
	if (!ok) {
		failures++;
		printf("# ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

/* Pass if a call returned -1 with errno @expected. */
static void expect_errno(int ret, int expected, const char *desc)
{
	int err = errno;

	result(ret == -1 && err == expected, desc,
	       "returned %d, errno %d (%s); expected errno %d (%s)", ret,
	       ret == -1 ? err : 0, ret == -1 ? strerror(err) : "-", expected,
	       strerror(expected));
}

static int run(const char *cmd)
{
	int status = system(cmd);

	return status == -1 ? -1 : WEXITSTATUS(status);
}

static void unload(void)
{
	int i, status = -1;

	/* Sockets are freed after an RCU grace period; retry "in use". */
	for (i = 0; i < 50 && status != 0; i++) {
		if (i)
			usleep(100000);
		status = run("rmmod homa 2>/dev/null");
	}
	result(status == 0, "rmmod", "rmmod failed 50 times");
}

static int sock_port(int fd)
{
	struct sockaddr_storage addr;
	socklen_t len = sizeof(addr);

	if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
		return -1;
	if (addr.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
	return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

static void check_info(int fd)
{
	struct homa_info info;
	int ret;

	memset(&info, 0xa5, sizeof(info));
	info.rpc_info = 0;
	info.rpc_info_length = 0;
	ret = ioctl(fd, HOMAIOCINFO, &info);
	result(ret == 0 && info.port == (__u32)sock_port(fd) &&
	       info.num_rpcs == 0,
	       "HOMAIOCINFO: port is getsockname's, num_rpcs is 0",
	       "ret %d (%s), port %u (getsockname %d), num_rpcs %u", ret,
	       ret ? strerror(errno) : "ok", info.port, sock_port(fd),
	       info.num_rpcs);
	result(ret == 0 && memchr(info.error_msg, 0, sizeof(info.error_msg)),
	       "HOMAIOCINFO: error_msg is NUL-terminated", "no NUL in %zu bytes",
	       sizeof(info.error_msg));
}

static void check_options(int fd)
{
	struct homa_rcvbuf_args rcvbuf, zero;
	socklen_t len;
	int one = 1, value = -1, ret;

	ret = setsockopt(fd, IPPROTO_HOMA, SO_HOMA_SERVER, &one, sizeof(one));
	len = sizeof(value);
	if (ret == 0)
		ret = getsockopt(fd, IPPROTO_HOMA, SO_HOMA_SERVER, &value, &len);
	result(ret == 0 && value == 1 && len == sizeof(int),
	       "SO_HOMA_SERVER set to 1 reads back as 1",
	       "ret %d (%s), value %d, optlen %u", ret,
	       ret ? strerror(errno) : "ok", value, len);

	memset(&rcvbuf, 0xa5, sizeof(rcvbuf));
	memset(&zero, 0, sizeof(zero));
	len = sizeof(rcvbuf);
	ret = getsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rcvbuf, &len);
	result(ret == 0 && len == sizeof(rcvbuf) &&
	       memcmp(&rcvbuf, &zero, sizeof(zero)) == 0,
	       "SO_HOMA_RCVBUF reads back as a zeroed struct homa_rcvbuf_args",
	       "ret %d (%s), optlen %u, start %llu, length %llu", ret,
	       ret ? strerror(errno) : "ok", len,
	       (unsigned long long)rcvbuf.start,
	       (unsigned long long)rcvbuf.length);
}

static void check_abort(int fd)
{
	struct homa_abort_args args;
	int ret;

	memset(&args, 0, sizeof(args));
	ret = ioctl(fd, HOMAIOCABORT, &args);
	result(ret == 0, "HOMAIOCABORT with id 0 succeeds", "ret %d (%s)", ret,
	       ret ? strerror(errno) : "ok");
	args.id = 4;
	expect_errno(ioctl(fd, HOMAIOCABORT, &args), EINVAL,
		     "HOMAIOCABORT with id 4 -> EINVAL");
	args.id = 0;
	args._pad1 = 1;
	expect_errno(ioctl(fd, HOMAIOCABORT, &args), EINVAL,
		     "HOMAIOCABORT with _pad1 set -> EINVAL");
}

/* Fill @buf with a pattern that depends on @key. */
static void fill(char *buf, size_t len, unsigned int key)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)(key + i * 7 + (i >> 8));
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* Map a receive buffer region of @bpages bpages and give it to @fd. */
static char *give_rcvbuf(int fd, int bpages)
{
	struct homa_rcvbuf_args args;
	char *region;

	region = mmap(NULL, (size_t)bpages * HOMA_BPAGE_SIZE,
		      PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		return NULL;
	args.start = (uintptr_t)region;
	args.length = (__u64)bpages * HOMA_BPAGE_SIZE;
	if (setsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &args,
		       sizeof(args)) < 0) {
		munmap(region, (size_t)bpages * HOMA_BPAGE_SIZE);
		return NULL;
	}
	return region;
}

/* sendmsg with struct homa_sendmsg_args as a bare user pointer. */
static int hsend(int fd, struct homa_sendmsg_args *args,
		 const struct sockaddr_in *dest, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg;

	memset(&msg, 0, sizeof(msg));
	msg.msg_name = (void *)dest;
	msg.msg_namelen = sizeof(*dest);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	/* The args travel as a user pointer: msg_controllen stays 0. */
	msg.msg_control = args;
	msg.msg_controllen = 0;
	return sendmsg(fd, &msg, 0);
}

/* recvmsg with struct homa_recvmsg_args; at most 5 s when blocking. */
static int hrecv(int fd, struct homa_recvmsg_args *args,
		 struct sockaddr_in *from, int flags)
{
	struct msghdr msg;
	int ret;

	memset(&msg, 0, sizeof(msg));
	memset(from, 0, sizeof(*from));
	msg.msg_name = from;
	msg.msg_namelen = sizeof(*from);
	msg.msg_control = args;
	msg.msg_controllen = sizeof(*args);
	alarm(5);
	ret = recvmsg(fd, &msg, flags);
	alarm(0);
	return ret;
}

/* Whether a received message equals @len bytes of @expect. */
static int same_message(const char *region, const struct homa_recvmsg_args *a,
			const char *expect, size_t len)
{
	size_t done = 0, n;
	__u32 i;

	for (i = 0; i < a->num_bpages && done < len; i++) {
		n = len - done < HOMA_BPAGE_SIZE ? len - done : HOMA_BPAGE_SIZE;
		if (memcmp(region + a->bpage_offsets[i], expect + done, n))
			return 0;
		done += n;
	}
	return done == len;
}

/* HOMAIOCINFO with room for 4 RPCs; returns the ioctl's result. */
static int rpc_info(int fd, struct homa_info *info,
		    struct homa_rpc_info rpcs[4])
{
	memset(info, 0, sizeof(*info));
	memset(rpcs, 0xa5, 4 * sizeof(*rpcs));
	info->rpc_info = (uintptr_t)rpcs;
	info->rpc_info_length = 4 * sizeof(*rpcs);
	return ioctl(fd, HOMAIOCINFO, info);
}

/*
 * Argument errors, then one RPC over loopback between @server (bound to
 * SERVER_PORT) and a new client socket, through the header's structs: a
 * REQ_LEN-byte request and a RESP_LEN-byte response (more than one bpage,
 * so the message comes back in pieces), payloads compared byte by byte.
 */
#define REQ_LEN 1000
#define RESP_LEN 70000
#define COOKIE 0x1234567890abcdefULL

static void check_messages(int server)
{
	static char req[REQ_LEN], resp[RESP_LEN];
	struct homa_sendmsg_args send_args;
	struct homa_recvmsg_args recv_args;
	struct homa_rpc_info rpcs[4];
	struct sockaddr_in dest, from;
	char *server_buf, *client_buf;
	struct homa_info info;
	__u64 client_id;
	int client, ret, i;

	fill(req, sizeof(req), 1);
	fill(resp, sizeof(resp), 2);
	memset(&dest, 0, sizeof(dest));
	dest.sin_family = AF_INET;
	dest.sin_port = htons(SERVER_PORT);
	dest.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	client = socket(AF_INET, SOCK_DGRAM, IPPROTO_HOMA);
	server_buf = give_rcvbuf(server, 4);
	client_buf = client >= 0 ? give_rcvbuf(client, 4) : NULL;
	result(client >= 0 && server_buf && client_buf,
	       "client socket; SO_HOMA_RCVBUF on client and server",
	       "client %d, server_buf %p, client_buf %p: %s", client,
	       server_buf, client_buf, strerror(errno));
	if (client < 0 || !server_buf || !client_buf) {
		for (i = 0; i < 11; i++)
			result(0, "skipped: no sockets or buffers", "see above");
		if (client >= 0)
			close(client);
		return;
	}

	/* Argument errors. */
	ret = sendto(client, req, sizeof(req), 0, (struct sockaddr *)&dest,
		     sizeof(dest));
	expect_errno(ret, EINVAL, "sendto without homa_sendmsg_args -> EINVAL");
	memset(&recv_args, 0, sizeof(recv_args));
	expect_errno(hrecv(client, &recv_args, &from, MSG_DONTWAIT), EAGAIN,
		     "recvmsg(MSG_DONTWAIT) with nothing ready -> EAGAIN");

	/* The request. */
	memset(&send_args, 0, sizeof(send_args));
	send_args.completion_cookie = COOKIE;
	ret = hsend(client, &send_args, &dest, req, sizeof(req));
	client_id = send_args.id;
	result(ret == 0 && client_id && !(client_id & 1),
	       "sendmsg of a request returns 0 and an even id",
	       "ret %d (%s), id %llu", ret, ret ? strerror(errno) : "ok",
	       (unsigned long long)client_id);

	memset(&recv_args, 0, sizeof(recv_args));
	ret = hrecv(server, &recv_args, &from, 0);
	result(ret == REQ_LEN && recv_args.id == (client_id | 1) &&
	       recv_args.num_bpages == 1 &&
	       same_message(server_buf, &recv_args, req, REQ_LEN) &&
	       from.sin_family == AF_INET &&
	       from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
	       ntohs(from.sin_port) == sock_port(client),
	       "server recvmsg: the request's bytes, id = client id + 1, "
	       "from the client's address",
	       "ret %d (%s), id %llu (client %llu), num_bpages %u, from "
	       "port %u (client %d)", ret, ret < 0 ? strerror(errno) : "ok",
	       (unsigned long long)recv_args.id,
	       (unsigned long long)client_id, recv_args.num_bpages,
	       ntohs(from.sin_port), sock_port(client));

	/* The server holds the request until it answers. */
	ret = rpc_info(server, &info, rpcs);
	result(ret == 0 && info.num_rpcs == 1 && rpcs[0].id == (client_id | 1) &&
	       rpcs[0].tx_length == -1 && rpcs[0].rx_length == REQ_LEN &&
	       rpcs[0].rx_remaining == 0 &&
	       ntohs(rpcs[0].peer.in4.sin_port) == sock_port(client),
	       "HOMAIOCINFO on the server: num_rpcs 1, the request (rx_length "
	       "1000, no tx) from the client's port",
	       "ret %d (%s), num_rpcs %u, id %llu, tx_length %d, rx_length %d, "
	       "rx_remaining %u, peer port %u", ret, ret ? strerror(errno) : "ok",
	       info.num_rpcs, (unsigned long long)rpcs[0].id,
	       rpcs[0].tx_length, rpcs[0].rx_length, rpcs[0].rx_remaining,
	       ntohs(rpcs[0].peer.in4.sin_port));
	ret = rpc_info(client, &info, rpcs);
	result(ret == 0 && info.num_rpcs == 1 && rpcs[0].id == client_id &&
	       rpcs[0].completion_cookie == COOKIE &&
	       rpcs[0].tx_length == REQ_LEN && rpcs[0].tx_sent == REQ_LEN &&
	       rpcs[0].rx_length == -1,
	       "HOMAIOCINFO on the client: num_rpcs 1, the request sent, "
	       "no response yet",
	       "ret %d (%s), num_rpcs %u, id %llu, cookie %llx, tx_length %d, "
	       "tx_sent %u, rx_length %d", ret, ret ? strerror(errno) : "ok",
	       info.num_rpcs, (unsigned long long)rpcs[0].id,
	       (unsigned long long)rpcs[0].completion_cookie,
	       rpcs[0].tx_length, rpcs[0].tx_sent, rpcs[0].rx_length);

	/* The response, returning the request's bpage with the call. */
	memset(&send_args, 0, sizeof(send_args));
	send_args.id = recv_args.id;
	ret = hsend(server, &send_args, &from, resp, sizeof(resp));
	result(ret == 0, "server sendmsg of the response returns 0",
	       "ret %d (%s)", ret, ret ? strerror(errno) : "ok");

	memset(&recv_args, 0, sizeof(recv_args));
	ret = hrecv(client, &recv_args, &from, 0);
	result(ret == RESP_LEN && recv_args.id == client_id &&
	       recv_args.completion_cookie == COOKIE &&
	       recv_args.num_bpages == 2 &&
	       same_message(client_buf, &recv_args, resp, RESP_LEN) &&
	       ntohs(from.sin_port) == SERVER_PORT,
	       "client recvmsg: the response's 70000 bytes in 2 pieces, the "
	       "request's id and completion cookie, from the server port",
	       "ret %d (%s), id %llu (sent %llu), cookie %llx, num_bpages %u, "
	       "from port %u", ret, ret < 0 ? strerror(errno) : "ok",
	       (unsigned long long)recv_args.id,
	       (unsigned long long)client_id,
	       (unsigned long long)recv_args.completion_cookie,
	       recv_args.num_bpages, ntohs(from.sin_port));

	ret = rpc_info(client, &info, rpcs);
	result(ret == 0 && info.num_rpcs == 0,
	       "HOMAIOCINFO on the client: no RPC once the response is received",
	       "ret %d, num_rpcs %u", ret, info.num_rpcs);
	/* The client's ACK frees the server's RPC (asynchronously). */
	for (i = 0; i < 200; i++) {
		ret = rpc_info(server, &info, rpcs);
		if (ret || info.num_rpcs == 0)
			break;
		usleep(10000);
	}
	result(ret == 0 && info.num_rpcs == 0,
	       "HOMAIOCINFO on the server: no RPC once the client acked",
	       "ret %d, num_rpcs %u after 2 s", ret, info.num_rpcs);

	/* The response's pieces go back with the next recvmsg. */
	recv_args.id = 0;
	ret = hrecv(client, &recv_args, &from, MSG_DONTWAIT);
	i = errno;
	rpc_info(client, &info, rpcs);
	result(ret == -1 && i == EAGAIN &&
	       info.bpool_avail_bytes == 4 * HOMA_BPAGE_SIZE,
	       "recvmsg(MSG_DONTWAIT) handing back the response's bpages -> "
	       "EAGAIN; the whole region is free again",
	       "ret %d, errno %d (%s), bpool_avail_bytes %llu", ret,
	       ret == -1 ? i : 0, ret == -1 ? strerror(i) : "-",
	       (unsigned long long)info.bpool_avail_bytes);
	close(client);
}

int main(void)
{
	const char *ko = getenv("HOMA_KO");
	struct sockaddr_in addr;
	char cmd[4200];
	struct sigaction sa;
	int fd, fd6, ret;

	/* No SA_RESTART: a recvmsg that hangs fails with EINTR. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	printf("TAP version 13\n1..%d\n", NUM_TESTS);
	if (!ko) {
		printf("# HOMA_KO is not set\n");
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "insmod '%s'", ko);
	ret = run(cmd);
	result(ret == 0, "insmod", "insmod %s: exit status %d", ko, ret);

	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_HOMA);
	result(fd >= 0, "socket(AF_INET, SOCK_DGRAM, IPPROTO_HOMA)", "%s",
	       strerror(errno));
	fd6 = socket(AF_INET6, SOCK_DGRAM, IPPROTO_HOMA);
	result(fd6 >= 0, "socket(AF_INET6, SOCK_DGRAM, IPPROTO_HOMA)", "%s",
	       strerror(errno));
	if (fd < 0 || fd6 < 0) {
		printf("# no sockets, giving up\n");
		run("rmmod homa");
		return 1;
	}
	result(sock_port(fd6) >= HOMA_MIN_DEFAULT_PORT,
	       "automatic port >= HOMA_MIN_DEFAULT_PORT", "port %d",
	       sock_port(fd6));
	check_info(fd);

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons(SERVER_PORT);
	ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	result(ret == 0, "bind to a server port", "%s", strerror(errno));
	check_info(fd);
	check_options(fd);
	check_abort(fd);
	check_messages(fd);

	close(fd);
	close(fd6);
	unload();
	if (test_num != NUM_TESTS) {
		printf("# planned %d results but produced %d\n", NUM_TESTS,
		       test_num);
		return 1;
	}
	return failures ? 1 : 0;
}
