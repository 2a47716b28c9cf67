// SPDX-License-Identifier: GPL-2.0
/*
 * The module against uapi/linux/homa.h, from C: an application built with
 * the header sees the socket's port in struct homa_info, reads and writes
 * the socket options through the header's structs and constants, and gets
 * the documented errors from HOMAIOCABORT, sendmsg and recvmsg.  (The
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define NUM_TESTS 17
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

static void check_messages(int fd)
{
	struct homa_sendmsg_args send_args;
	struct homa_recvmsg_args recv_args;
	struct sockaddr_in peer;
	struct msghdr msg;
	char buf[100] = "request";
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };

	memset(&peer, 0, sizeof(peer));
	peer.sin_family = AF_INET;
	peer.sin_port = htons(SERVER_PORT);
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(&send_args, 0, sizeof(send_args));
	memset(&msg, 0, sizeof(msg));
	msg.msg_name = &peer;
	msg.msg_namelen = sizeof(peer);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	/* The args travel as a user pointer: msg_controllen stays 0. */
	msg.msg_control = &send_args;
	msg.msg_controllen = 0;
	expect_errno(sendmsg(fd, &msg, 0), EOPNOTSUPP,
		     "sendmsg with struct homa_sendmsg_args -> EOPNOTSUPP");

	memset(&recv_args, 0, sizeof(recv_args));
	memset(&msg, 0, sizeof(msg));
	msg.msg_name = &peer;
	msg.msg_namelen = sizeof(peer);
	msg.msg_control = &recv_args;
	msg.msg_controllen = sizeof(recv_args);
	expect_errno(recvmsg(fd, &msg, MSG_DONTWAIT), EOPNOTSUPP,
		     "recvmsg with struct homa_recvmsg_args -> EOPNOTSUPP");
}

int main(void)
{
	const char *ko = getenv("HOMA_KO");
	struct sockaddr_in addr;
	char cmd[4200];
	int fd, fd6, ret;

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
