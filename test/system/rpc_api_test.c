// SPDX-License-Identifier: GPL-2.0
/*
 * The RPC system calls of homa.ko against docs/PROTOCOL.md section 2 and
 * uapi/linux/homa.h: the exact errno of every invalid argument of sendmsg,
 * recvmsg, setsockopt(SO_HOMA_RCVBUF) and the ioctls; private RPCs; poll
 * and epoll readiness; shutdown and signals waking blocked calls; the
 * receive buffer pool running out; HOMAIOCINFO and HOMAIOCABORT during
 * RPCs; requests nobody serves; closing sockets with RPCs in flight; and
 * finally rmmod and (on a kernel with kmemleak) a leak scan.
 *
 * Built on the host (gcc -Wall -Werror -I uapi ... -lpthread) and run in
 * the run-vm guest as root: loads $HOMA_KO with insmod, works on loopback
 * in the initial network namespace, unloads the module at the end.
 *   gcc -Wall -Werror -I uapi -o build/systest/rpc_api_test \
 *           test/system/rpc_api_test.c -lpthread
 *   test/vm/run-vm --check-kernel-log --env HOMA_KO=$PWD/homa.ko -- \
 *           build/systest/rpc_api_test
 * TAP output; exit 0 pass, 1 fail.
 */

#define _GNU_SOURCE
#include <linux/homa.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NUM_TESTS	139
#define PORT_BASE	5100
#define REGION_BPAGES	200
#define KMEMLEAK	"/sys/kernel/debug/kmemleak"
#define WMEM_MAX	"/proc/sys/net/homa/wmem_max"

static int test_num;
static int failures;
static const char *section = "setup";

/* ------------------------------------------------------------------
 * TAP.
 */

static void result(bool ok, const char *desc, const char *fmt, ...)
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
static void expect_errno(long ret, int expected, const char *desc)
{
	int err = errno;

	result(ret == -1 && err == expected, desc,
	       "returned %ld, errno %d (%s); expected -1, errno %d (%s)", ret,
	       ret == -1 ? err : 0, ret == -1 ? strerror(err) : "-", expected,
	       strerror(expected));
}

/* Pass if a call returned @expected (>= 0). */
static void expect_ret(long ret, long expected, const char *desc)
{
	int err = errno;

	result(ret == expected, desc, "returned %ld (errno %d, %s); expected %ld",
	       ret, ret < 0 ? err : 0, ret < 0 ? strerror(err) : "-", expected);
}

static void comment(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* A call that blocks for good must not hang the whole test. */
static void on_alarm(int sig)
{
	char buf[200];
	int n;

	(void)sig;
	n = snprintf(buf, sizeof(buf),
		     "not ok %d %s: timed out (a call blocked for good)\n# giving up\n",
		     test_num + 1, section);
	if (write(1, buf, n) < 0)
		_exit(1);
	_exit(1);
}

static void watchdog(const char *name, int secs)
{
	section = name;
	comment("----- %s", name);
	alarm(secs);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run(const char *cmd)
{
	int status = system(cmd);

	return status == -1 ? -1 : WEXITSTATUS(status);
}

/* ------------------------------------------------------------------
 * Sockets and messages.
 */

struct hsock {
	int fd;
	int family;
	uint8_t *region;
	size_t region_len;
	uint16_t port;
};

/* Open a Homa socket; @bpages 0: no receive region; @port 0: automatic. */
static void hs_open(struct hsock *s, int family, int bpages, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(s, 0, sizeof(*s));
	s->family = family;
	s->fd = socket(family, SOCK_DGRAM, IPPROTO_HOMA);
	if (s->fd < 0) {
		printf("Bail out! socket(IPPROTO_HOMA): %s\n", strerror(errno));
		exit(1);
	}
	if (bpages) {
		struct homa_rcvbuf_args rb;

		s->region_len = (size_t)bpages * HOMA_BPAGE_SIZE;
		s->region = mmap(NULL, s->region_len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		rb.start = (uintptr_t)s->region;
		rb.length = s->region_len;
		if (s->region == MAP_FAILED ||
		    setsockopt(s->fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rb,
			       sizeof(rb))) {
			printf("Bail out! region: %s\n", strerror(errno));
			exit(1);
		}
	}
	if (port) {
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
					   .sin6_port = htons(port) };
		struct sockaddr_in a4 = { .sin_family = AF_INET,
					  .sin_port = htons(port) };

		if (bind(s->fd, family == AF_INET6 ? (void *)&a6 : (void *)&a4,
			 family == AF_INET6 ? sizeof(a6) : sizeof(a4))) {
			printf("Bail out! bind %d: %s\n", port, strerror(errno));
			exit(1);
		}
	}
	getsockname(s->fd, (struct sockaddr *)&ss, &len);
	s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void hs_close(struct hsock *s)
{
	close(s->fd);
	if (s->region)
		munmap(s->region, s->region_len);
	s->fd = -1;
	s->region = NULL;
}

/* Loopback address of @family and @port. */
static socklen_t lo_addr(struct sockaddr_storage *ss, int family, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (void *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		return sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*a);
	}
}

/* The bytes of message @key: byte i = f(key, i). */
static void fill(uint8_t *buf, uint32_t key, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(key * 131 + i * 7 + (i >> 8) * 13 +
				   (i >> 16) * 29);
}

static uint8_t *pattern(uint32_t key, size_t len)
{
	static uint8_t *buf;

	if (!buf)
		buf = malloc(HOMA_MAX_MESSAGE_LENGTH + 8);
	fill(buf, key, len);
	return buf;
}

/* sendmsg with struct homa_sendmsg_args; the new id goes to *@id_out. */
static int hsend(int fd, const struct sockaddr_storage *dest, socklen_t dlen,
		 const void *buf, size_t len, uint64_t id, uint64_t cookie,
		 uint32_t flags, int msg_flags, uint64_t *id_out)
{
	struct homa_sendmsg_args sa;
	struct iovec iov = { (void *)buf, len };
	struct msghdr m;
	int ret;

	memset(&sa, 0, sizeof(sa));
	sa.id = id;
	sa.completion_cookie = cookie;
	sa.flags = flags;
	memset(&m, 0, sizeof(m));
	m.msg_name = (void *)dest;
	m.msg_namelen = dlen;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = &sa;
	ret = sendmsg(fd, &m, msg_flags);
	if (id_out)
		*id_out = sa.id;
	return ret;
}

/* Send a request of @len pattern bytes with key @key to @port. */
static uint64_t request(struct hsock *c, int port, uint32_t key, size_t len,
			uint32_t flags)
{
	struct sockaddr_storage ss;
	socklen_t sl = lo_addr(&ss, c->family, port);
	uint64_t id = 0;

	if (hsend(c->fd, &ss, sl, pattern(key, len), len, 0, key, flags, 0,
		  &id) < 0) {
		comment("request to port %d: %s", port, strerror(errno));
		return 0;
	}
	return id;
}

/*
 * recvmsg: ra->num_bpages/bpage_offsets (bpages handed back) are kept as
 * the caller left them; ra->id is set to @id.
 */
static int hrecv(int fd, struct homa_recvmsg_args *ra, uint64_t id, int flags,
		 struct sockaddr_storage *from, socklen_t *fromlen)
{
	struct msghdr m;
	int ret;

	memset(&m, 0, sizeof(m));
	if (from) {
		m.msg_name = from;
		m.msg_namelen = sizeof(*from);
	}
	ra->id = id;
	m.msg_control = ra;
	m.msg_controllen = sizeof(*ra);
	ret = recvmsg(fd, &m, flags);
	if (fromlen)
		*fromlen = m.msg_namelen;
	return ret;
}

/* Whether the message recvmsg returned in @s's region has @key's bytes. */
static bool msg_ok(struct hsock *s, const struct homa_recvmsg_args *ra,
		   uint32_t key, size_t len, char *why, size_t whylen)
{
	uint8_t *want = pattern(key, len);
	size_t pos, n;
	uint32_t i;

	if (ra->num_bpages != (len + HOMA_BPAGE_SIZE - 1) / HOMA_BPAGE_SIZE) {
		snprintf(why, whylen, "num_bpages %u for %zu bytes",
			 ra->num_bpages, len);
		return false;
	}
	for (i = 0; i < ra->num_bpages; i++) {
		pos = (size_t)i * HOMA_BPAGE_SIZE;
		n = len - pos > HOMA_BPAGE_SIZE ? HOMA_BPAGE_SIZE : len - pos;
		if (ra->bpage_offsets[i] + n > s->region_len ||
		    memcmp(s->region + ra->bpage_offsets[i], want + pos, n)) {
			snprintf(why, whylen,
				 "bytes of bpage %u (region offset %u) wrong",
				 i, ra->bpage_offsets[i]);
			return false;
		}
	}
	return true;
}

/* Answer one request on server socket @s with its own bytes. */
static int echo_one(struct hsock *s, struct homa_recvmsg_args *ra, int flags)
{
	struct iovec iov[HOMA_MAX_BPAGES];
	struct homa_sendmsg_args sa;
	struct sockaddr_storage from;
	struct msghdr m;
	int len;
	uint32_t i;

	len = hrecv(s->fd, ra, 0, flags, &from, NULL);
	if (len < 0) {
		ra->num_bpages = 0;
		return -1;
	}
	for (i = 0; i < ra->num_bpages; i++) {
		size_t pos = (size_t)i * HOMA_BPAGE_SIZE;

		iov[i].iov_base = s->region + ra->bpage_offsets[i];
		iov[i].iov_len = len - pos > HOMA_BPAGE_SIZE ? HOMA_BPAGE_SIZE :
			len - pos;
	}
	memset(&sa, 0, sizeof(sa));
	sa.id = ra->id;
	memset(&m, 0, sizeof(m));
	m.msg_name = &from;
	m.msg_namelen = from.ss_family == AF_INET6 ?
			sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	m.msg_iov = iov;
	m.msg_iovlen = ra->num_bpages;
	m.msg_control = &sa;
	if (sendmsg(s->fd, &m, 0) < 0)
		return -1;
	return len;
}

/* An echo server thread: answers until its socket is shut down. */
struct echo_server {
	struct hsock s;
	pthread_t thread;
	long served;
	int delay_us;		/* before each recvmsg */
};

static void *echo_thread(void *arg)
{
	struct echo_server *e = arg;
	struct homa_recvmsg_args ra;

	memset(&ra, 0, sizeof(ra));
	for (;;) {
		if (e->delay_us)
			usleep(e->delay_us);
		if (echo_one(&e->s, &ra, 0) < 0) {
			if (errno == ESHUTDOWN || errno == EBADF)
				break;
			continue;
		}
		e->served++;
	}
	return NULL;
}

static void echo_start(struct echo_server *e, int family, int bpages, int port)
{
	memset(e, 0, sizeof(*e));
	hs_open(&e->s, family, bpages, port);
	pthread_create(&e->thread, NULL, echo_thread, e);
}

static void echo_stop(struct echo_server *e)
{
	shutdown(e->s.fd, SHUT_RDWR);
	pthread_join(e->thread, NULL);
	hs_close(&e->s);
}

/* Receive the response of client RPC @id (any if 0) within @secs. */
static int recv_wait(struct hsock *c, struct homa_recvmsg_args *ra,
		     uint64_t id, double secs)
{
	double end = now() + secs;
	int ret;

	for (;;) {
		ret = hrecv(c->fd, ra, id, MSG_DONTWAIT, NULL, NULL);
		if (ret >= 0 || errno != EAGAIN || now() > end)
			return ret;
		ra->num_bpages = 0;	/* handed back by the call above */
		usleep(1000);
	}
}

/* HOMAIOCINFO with room for @n rpc_info entries. */
static int get_info(int fd, struct homa_info *info, struct homa_rpc_info *ri,
		    int n)
{
	memset(info, 0, sizeof(*info));
	info->rpc_info = (uintptr_t)ri;
	info->rpc_info_length = (uint64_t)n * sizeof(*ri);
	return ioctl(fd, HOMAIOCINFO, info);
}

/* Print HOMAIOCINFO of @fd as TAP comments. */
static void dump_info(const char *who, int fd)
{
	struct homa_rpc_info ri[16];
	struct homa_info info;
	uint32_t i;

	get_info(fd, &info, ri, 16);
	comment("%s: port %u num_rpcs %u avail %llu error_msg '%s'", who,
		info.port, info.num_rpcs,
		(unsigned long long)info.bpool_avail_bytes, info.error_msg);
	for (i = 0; i < info.num_rpcs && i < 16; i++)
		comment("  id %llu tx %d/%u/%u rx %d rem %u gaps %u/%u granted %u flags 0x%x",
			(unsigned long long)ri[i].id, ri[i].tx_length,
			ri[i].tx_sent, ri[i].tx_granted, ri[i].rx_length,
			ri[i].rx_remaining, ri[i].rx_gaps, ri[i].rx_gap_bytes,
			ri[i].rx_granted, ri[i].flags);
}

/* Wait until RPC @id of @fd has all flags in @flags; fills *@out. */
static bool wait_rpc_flags(int fd, uint64_t id, int flags,
			   struct homa_rpc_info *out, double secs)
{
	struct homa_rpc_info ri[64];
	struct homa_info info;
	double end = now() + secs;
	uint32_t i;

	do {
		if (get_info(fd, &info, ri, 64) == 0) {
			for (i = 0; i < info.num_rpcs && i < 64; i++) {
				if (ri[i].id == id &&
				    (ri[i].flags & flags) == flags) {
					if (out)
						*out = ri[i];
					return true;
				}
			}
		}
		usleep(1000);
	} while (now() < end);
	return false;
}

static long metric(const char *name)
{
	char line[256], n[128];
	long v, result = -1;
	FILE *f = fopen("/proc/net/homa_metrics", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %ld", n, &v) == 2 && !strcmp(n, name))
			result = v;
	}
	fclose(f);
	return result;
}

static int write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY);
	int ret;

	if (fd < 0)
		return -1;
	ret = write(fd, value, strlen(value)) < 0 ? -1 : 0;
	close(fd);
	return ret;
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* ------------------------------------------------------------------
 * Blocked calls run in a helper thread.
 */

struct blocked {
	pthread_t thread;
	int fd;
	int op;			/* 0 recvmsg, 1 sendmsg */
	uint64_t id;
	struct sockaddr_storage dest;
	socklen_t dlen;
	size_t len;
	volatile int started;
	volatile int done;
	int ret;
	int err;
	uint64_t out_id;
};

static void *blocked_thread(void *arg)
{
	struct blocked *b = arg;
	struct homa_recvmsg_args ra;

	memset(&ra, 0, sizeof(ra));
	b->started = 1;
	if (b->op == 0) {
		b->ret = hrecv(b->fd, &ra, b->id, 0, NULL, NULL);
		b->out_id = ra.id;
	} else {
		b->ret = hsend(b->fd, &b->dest, b->dlen, pattern(1, b->len),
			       b->len, 0, 0, 0, 0, &b->out_id);
	}
	b->err = errno;
	b->done = 1;
	return NULL;
}

static void blocked_start(struct blocked *b)
{
	b->started = b->done = 0;
	pthread_create(&b->thread, NULL, blocked_thread, b);
	while (!b->started)
		usleep(1000);
	/* Let it get into the kernel and past the busy-poll phase. */
	usleep(200000);
}

static bool blocked_wait(struct blocked *b, double secs)
{
	double end = now() + secs;

	while (!b->done && now() < end)
		usleep(1000);
	if (!b->done)
		return false;
	pthread_join(b->thread, NULL);
	return true;
}

/* ------------------------------------------------------------------
 * The tests.
 */

static void test_sendmsg_errors(void)
{
	struct homa_sendmsg_args sa;
	struct sockaddr_storage ss;
	struct homa_info info;
	struct iovec iov;
	struct msghdr m;
	struct hsock c;
	char buf[100] = "x";
	socklen_t sl;
	uint64_t id;

	watchdog("sendmsg errors", 30);
	hs_open(&c, AF_INET, 20, 0);
	sl = lo_addr(&ss, AF_INET, PORT_BASE);

	memset(&m, 0, sizeof(m));
	iov.iov_base = buf;
	iov.iov_len = 10;
	m.msg_name = &ss;
	m.msg_namelen = sl;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	expect_errno(sendmsg(c.fd, &m, 0), EINVAL,
		     "sendmsg: msg_control NULL -> EINVAL");

	memset(&sa, 0, sizeof(sa));
	m.msg_control = &sa;
	m.msg_controllen = sizeof(sa);
	expect_errno(sendmsg(c.fd, &m, 0), EINVAL,
		     "sendmsg: msg_controllen = sizeof(args) (not 0) -> EINVAL");
	m.msg_controllen = 0;
	m.msg_control = (void *)16;
	expect_errno(sendmsg(c.fd, &m, 0), EFAULT,
		     "sendmsg: msg_control a bad pointer -> EFAULT");

	expect_errno(hsend(c.fd, &ss, sl, buf, 10, 0, 0, 0x02, 0, NULL), EINVAL,
		     "sendmsg: unknown flag 0x02 -> EINVAL");
	expect_errno(hsend(c.fd, &ss, sl, buf, 10, 0, 0, 0x80000000, 0, NULL),
		     EINVAL, "sendmsg: unknown flag 0x80000000 -> EINVAL");

	memset(&sa, 0, sizeof(sa));
	sa.reserved = 1;
	m.msg_control = &sa;
	expect_errno(sendmsg(c.fd, &m, 0), EINVAL,
		     "sendmsg: reserved != 0 -> EINVAL");

	expect_errno(hsend(c.fd, &ss, sl, buf, 0, 0, 0, 0, 0, NULL), EINVAL,
		     "sendmsg: length 0 -> EINVAL");
	{
		uint8_t *big = malloc(HOMA_MAX_MESSAGE_LENGTH + 1);

		expect_errno(hsend(c.fd, &ss, sl, big,
				   HOMA_MAX_MESSAGE_LENGTH + 1, 0, 0, 0, 0,
				   NULL), EINVAL,
			     "sendmsg: length HOMA_MAX_MESSAGE_LENGTH + 1 -> EINVAL");
		free(big);
	}
	expect_errno(hsend(c.fd, &ss, sl, buf, 10, 2, 0, 0, 0, NULL), EINVAL,
		     "sendmsg: response with an even id -> EINVAL");
	expect_ret(hsend(c.fd, &ss, sl, buf, 10, 12345, 0, 0, 0, NULL), 0,
		   "sendmsg: response for an unknown odd id returns 0");
	expect_errno(hsend(c.fd, &ss, sl, buf, 10, 12345, 99, 0, 0, NULL),
		     EINVAL, "sendmsg: response with a completion cookie -> EINVAL");
	expect_errno(hsend(c.fd, &ss, sl, buf, 10, 12345, 0,
			   HOMA_SENDMSG_PRIVATE, 0, NULL), EINVAL,
		     "sendmsg: response with HOMA_SENDMSG_PRIVATE -> EINVAL");
	expect_errno(hsend(c.fd, NULL, 0, buf, 10, 0, 0, 0, 0, NULL), EINVAL,
		     "sendmsg: no msg_name -> EINVAL");
	expect_errno(hsend(c.fd, &ss, sizeof(struct sockaddr_in) - 1, buf, 10,
			   0, 0, 0, 0, NULL), EINVAL,
		     "sendmsg: msg_namelen too short -> EINVAL");
	{
		struct sockaddr_storage bad = ss;

		bad.ss_family = AF_UNIX;
		expect_errno(hsend(c.fd, &bad, sl, buf, 10, 0, 0, 0, 0, NULL),
			     EAFNOSUPPORT, "sendmsg: AF_UNIX address -> EAFNOSUPPORT");
		lo_addr(&bad, AF_INET6, PORT_BASE);
		expect_errno(hsend(c.fd, &bad, sizeof(struct sockaddr_in6),
				   buf, 10, 0, 0, 0, 0, NULL), EAFNOSUPPORT,
			     "sendmsg: AF_INET6 address on an AF_INET socket -> EAFNOSUPPORT");
		lo_addr(&bad, AF_INET, 0);
		expect_errno(hsend(c.fd, &bad, sl, buf, 10, 0, 0, 0, 0, NULL),
			     EINVAL, "sendmsg: destination port 0 -> EINVAL");
	}
	iov.iov_base = (void *)8;
	memset(&sa, 0, sizeof(sa));
	m.msg_control = &sa;
	expect_errno(sendmsg(c.fd, &m, 0), EFAULT,
		     "sendmsg: bad iov_base -> EFAULT");
	{
		struct sockaddr_in far = { .sin_family = AF_INET,
					   .sin_port = htons(PORT_BASE) };
		long before = metric("client_rpcs");

		/* TEST-NET-3: the guest has no route there. */
		inet_pton(AF_INET, "203.0.113.1", &far.sin_addr);
		id = 1;
		expect_errno(hsend(c.fd, (void *)&far, sizeof(far), buf, 10, 0,
				   0, 0, 0, &id), ENETUNREACH,
			     "sendmsg: destination without a route -> ENETUNREACH");
		get_info(c.fd, &info, NULL, 0);
		result(info.num_rpcs == 0 && metric("client_rpcs") == before,
		       "sendmsg: ... and leaves no RPC behind",
		       "num_rpcs %u, client_rpcs grew by %ld", info.num_rpcs,
		       metric("client_rpcs") - before);
	}
	get_info(c.fd, &info, NULL, 0);
	result(strlen(info.error_msg) > 0 && strstr(info.error_msg, "sendmsg"),
	       "HOMAIOCINFO error_msg describes the last sendmsg error",
	       "error_msg '%s'", info.error_msg);
	hs_close(&c);
}

static void test_recvmsg_errors(void)
{
	struct homa_recvmsg_args ra;
	struct echo_server e;
	struct msghdr m;
	struct hsock c;
	char why[200];
	uint64_t id;
	int ret;

	watchdog("recvmsg errors", 30);
	hs_open(&c, AF_INET, 20, 0);
	memset(&ra, 0, sizeof(ra));
	memset(&m, 0, sizeof(m));

	m.msg_control = &ra;
	m.msg_controllen = 0;
	expect_errno(recvmsg(c.fd, &m, MSG_DONTWAIT), EINVAL,
		     "recvmsg: msg_controllen 0 -> EINVAL");
	m.msg_controllen = sizeof(ra) - 1;
	expect_errno(recvmsg(c.fd, &m, MSG_DONTWAIT), EINVAL,
		     "recvmsg: msg_controllen sizeof - 1 -> EINVAL");
	m.msg_controllen = sizeof(ra) + 8;
	expect_errno(recvmsg(c.fd, &m, MSG_DONTWAIT), EINVAL,
		     "recvmsg: msg_controllen sizeof + 8 -> EINVAL");
	m.msg_control = NULL;
	m.msg_controllen = sizeof(ra);
	expect_errno(recvmsg(c.fd, &m, MSG_DONTWAIT), EINVAL,
		     "recvmsg: msg_control NULL -> EINVAL");
	m.msg_control = (void *)16;
	expect_errno(recvmsg(c.fd, &m, MSG_DONTWAIT), EFAULT,
		     "recvmsg: msg_control a bad pointer -> EFAULT");

	ra.reserved = 1;
	expect_errno(hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL), EINVAL,
		     "recvmsg: reserved != 0 -> EINVAL");
	memset(&ra, 0, sizeof(ra));
	ra.num_bpages = HOMA_MAX_BPAGES + 1;
	expect_errno(hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL), EINVAL,
		     "recvmsg: num_bpages > HOMA_MAX_BPAGES -> EINVAL");
	memset(&ra, 0, sizeof(ra));
	expect_errno(hrecv(c.fd, &ra, 3, MSG_DONTWAIT, NULL, NULL), EINVAL,
		     "recvmsg: odd (server) id -> EINVAL");
	memset(&ra, 0, sizeof(ra));
	expect_errno(hrecv(c.fd, &ra, 4000000, 0, NULL, NULL), EINVAL,
		     "recvmsg: unknown client id -> EINVAL (does not block)");
	memset(&ra, 0, sizeof(ra));
	ra.num_bpages = 1;
	ra.bpage_offsets[0] = 20 * HOMA_BPAGE_SIZE;
	expect_errno(hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL), EINVAL,
		     "recvmsg: bpage offset past the region -> EINVAL");
	ra.num_bpages = 1;
	ra.bpage_offsets[0] = 0;
	expect_errno(hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL), EINVAL,
		     "recvmsg: bpage offset of a free bpage -> EINVAL");
	memset(&ra, 0, sizeof(ra));
	expect_errno(hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL), EAGAIN,
		     "recvmsg: MSG_DONTWAIT with nothing ready -> EAGAIN");
	fcntl(c.fd, F_SETFL, O_NONBLOCK);
	expect_errno(hrecv(c.fd, &ra, 0, 0, NULL, NULL), EAGAIN,
		     "recvmsg: O_NONBLOCK with nothing ready -> EAGAIN");
	fcntl(c.fd, F_SETFL, 0);

	/* A real message, then its bpage handed back twice. */
	echo_start(&e, AF_INET, REGION_BPAGES, PORT_BASE);
	id = request(&c, PORT_BASE, 7, 100, 0);
	memset(&ra, 0, sizeof(ra));
	ret = recv_wait(&c, &ra, id, 10);
	result(ret == 100 && ra.id == id && msg_ok(&c, &ra, 7, 100, why,
						    sizeof(why)),
	       "recvmsg(id) returns the response", "ret %d errno %s id %llu/%llu",
	       ret, strerror(errno), (unsigned long long)ra.id,
	       (unsigned long long)id);
	ra.num_bpages = 2;
	ra.bpage_offsets[1] = ra.bpage_offsets[0];
	expect_errno(hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL), EINVAL,
		     "recvmsg: the same piece handed back twice -> EINVAL");
	ra.num_bpages = 1;
	expect_errno(hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL), EAGAIN,
		     "recvmsg: ... and nothing was released: handing it back once works (EAGAIN)");
	ra.num_bpages = 1;
	expect_errno(hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL), EINVAL,
		     "recvmsg: handing back a released piece again -> EINVAL");
	echo_stop(&e);
	hs_close(&c);
}

static void test_rcvbuf(void)
{
	struct homa_rcvbuf_args rb, got;
	socklen_t len = sizeof(got);
	uint8_t *region;
	int fd;

	watchdog("SO_HOMA_RCVBUF", 30);
	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_HOMA);
	region = mmap(NULL, 10 * HOMA_BPAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rb.start = (uintptr_t)region + 1;
	rb.length = 4 * HOMA_BPAGE_SIZE;
	expect_errno(setsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rb,
				sizeof(rb)), EINVAL,
		     "SO_HOMA_RCVBUF: start not page-aligned -> EINVAL");
	rb.start = (uintptr_t)region;
	rb.length = HOMA_BPAGE_SIZE;
	expect_errno(setsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rb,
				sizeof(rb)), EINVAL,
		     "SO_HOMA_RCVBUF: one bpage (too small) -> EINVAL");
	rb.length = 0;
	expect_errno(setsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rb,
				sizeof(rb)), EINVAL,
		     "SO_HOMA_RCVBUF: length 0 -> EINVAL");
	rb.length = 4 * HOMA_BPAGE_SIZE;
	expect_errno(setsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rb,
				sizeof(rb) - 1), EINVAL,
		     "SO_HOMA_RCVBUF: optlen 15 -> EINVAL");
	expect_errno(setsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, NULL,
				sizeof(rb)), EFAULT,
		     "SO_HOMA_RCVBUF: optval NULL -> EFAULT");
	rb.start = 0xffffffffffff0000ULL;
	expect_errno(setsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rb,
				sizeof(rb)), EFAULT,
		     "SO_HOMA_RCVBUF: kernel address -> EFAULT");
	rb.start = (uintptr_t)region;
	expect_ret(setsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rb,
			      sizeof(rb)), 0, "SO_HOMA_RCVBUF: a valid region");
	memset(&got, 0, sizeof(got));
	getsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &got, &len);
	result(got.start == rb.start && got.length == rb.length &&
	       len == sizeof(got), "getsockopt(SO_HOMA_RCVBUF) returns it",
	       "start %llx/%llx length %llu/%llu len %u",
	       (unsigned long long)got.start, (unsigned long long)rb.start,
	       (unsigned long long)got.length, (unsigned long long)rb.length,
	       len);
	rb.start = (uintptr_t)region + 4 * HOMA_BPAGE_SIZE;
	expect_errno(setsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rb,
				sizeof(rb)), EINVAL,
		     "SO_HOMA_RCVBUF: set twice -> EINVAL");
	close(fd);
	munmap(region, 10 * HOMA_BPAGE_SIZE);
}

static void test_ioctl_errors(void)
{
	struct homa_abort_args aa;
	struct hsock c;

	watchdog("ioctl errors", 30);
	hs_open(&c, AF_INET, 20, 0);
	memset(&aa, 0, sizeof(aa));
	aa._pad1 = 1;
	expect_errno(ioctl(c.fd, HOMAIOCABORT, &aa), EINVAL,
		     "HOMAIOCABORT: _pad1 != 0 -> EINVAL");
	memset(&aa, 0, sizeof(aa));
	aa._pad2[1] = 1;
	expect_errno(ioctl(c.fd, HOMAIOCABORT, &aa), EINVAL,
		     "HOMAIOCABORT: _pad2 != 0 -> EINVAL");
	memset(&aa, 0, sizeof(aa));
	aa.id = 1000002;
	expect_errno(ioctl(c.fd, HOMAIOCABORT, &aa), EINVAL,
		     "HOMAIOCABORT: unknown id -> EINVAL");
	aa.id = 1000003;
	expect_errno(ioctl(c.fd, HOMAIOCABORT, &aa), EINVAL,
		     "HOMAIOCABORT: odd (server) id -> EINVAL");
	aa.id = 0;
	expect_ret(ioctl(c.fd, HOMAIOCABORT, &aa), 0,
		   "HOMAIOCABORT: id 0 with no RPCs -> 0");
	expect_errno(ioctl(c.fd, HOMAIOCINFO, (void *)16), EFAULT,
		     "HOMAIOCINFO: bad pointer -> EFAULT");
	{
		struct homa_info info;

		memset(&info, 0, sizeof(info));
		info.rpc_info = 16;
		info.rpc_info_length = 1000;
		expect_ret(ioctl(c.fd, HOMAIOCINFO, &info), 0,
			   "HOMAIOCINFO: bad rpc_info pointer with no RPCs -> 0");
	}
	hs_close(&c);
}

static void test_basic_and_families(void)
{
	struct homa_recvmsg_args ra;
	struct sockaddr_storage from;
	struct echo_server e4, e6;
	socklen_t flen;
	struct hsock c;
	char why[200];
	uint64_t id;
	int ret;

	watchdog("RPCs over IPv4 and IPv6", 60);
	echo_start(&e4, AF_INET, REGION_BPAGES, PORT_BASE + 1);
	echo_start(&e6, AF_INET6, REGION_BPAGES, PORT_BASE + 2);

	hs_open(&c, AF_INET, REGION_BPAGES, 0);
	memset(&ra, 0, sizeof(ra));
	id = request(&c, PORT_BASE + 1, 11, 300000, 0);
	ret = hrecv(c.fd, &ra, 0, 0, &from, &flen);
	result(ret == 300000 && ra.id == id && ra.completion_cookie == 11 &&
	       msg_ok(&c, &ra, 11, 300000, why, sizeof(why)),
	       "IPv4 RPC of 300000 bytes: response intact, id and cookie right",
	       "ret %d id %llu/%llu cookie %llu", ret,
	       (unsigned long long)ra.id, (unsigned long long)id,
	       (unsigned long long)ra.completion_cookie);
	result(flen == sizeof(struct sockaddr_in) &&
	       from.ss_family == AF_INET &&
	       ((struct sockaddr_in *)&from)->sin_port == htons(PORT_BASE + 1) &&
	       ((struct sockaddr_in *)&from)->sin_addr.s_addr ==
	       htonl(INADDR_LOOPBACK), "IPv4 recvmsg: msg_name is the server",
	       "namelen %u family %u", flen, from.ss_family);
	/* IPv4 packets reach IPv6 sockets (v4-mapped). */
	id = request(&c, PORT_BASE + 2, 12, 5000, 0);
	ret = hrecv(c.fd, &ra, id, 0, NULL, NULL);
	result(ret == 5000 && msg_ok(&c, &ra, 12, 5000, why, sizeof(why)),
	       "IPv4 client, IPv6 server socket: RPC works (v4-mapped peer)",
	       "ret %d errno %s", ret, strerror(errno));
	hs_close(&c);

	hs_open(&c, AF_INET6, REGION_BPAGES, 0);
	memset(&ra, 0, sizeof(ra));
	id = request(&c, PORT_BASE + 2, 13, 70000, 0);
	ret = hrecv(c.fd, &ra, 0, 0, &from, &flen);
	result(ret == 70000 && ra.id == id &&
	       msg_ok(&c, &ra, 13, 70000, why, sizeof(why)),
	       "IPv6 RPC of 70000 bytes: response intact", "ret %d errno %s",
	       ret, strerror(errno));
	result(flen == sizeof(struct sockaddr_in6) &&
	       from.ss_family == AF_INET6 &&
	       ((struct sockaddr_in6 *)&from)->sin6_port ==
	       htons(PORT_BASE + 2) &&
	       !memcmp(&((struct sockaddr_in6 *)&from)->sin6_addr,
		       &in6addr_loopback, 16),
	       "IPv6 recvmsg: msg_name is the server", "namelen %u family %u",
	       flen, from.ss_family);
	{
		/* An IPv6 socket may send to an IPv4 address. */
		struct sockaddr_storage ss;
		socklen_t sl = lo_addr(&ss, AF_INET, PORT_BASE + 1);

		id = 0;
		ret = hsend(c.fd, &ss, sl, pattern(14, 3000), 3000, 0, 0, 0, 0,
			    &id);
		ret = ret < 0 ? ret : hrecv(c.fd, &ra, id, 0, NULL, NULL);
		result(ret == 3000 && msg_ok(&c, &ra, 14, 3000, why,
					     sizeof(why)),
		       "IPv6 socket to an AF_INET address: RPC works",
		       "ret %d errno %s", ret, strerror(errno));
	}
	hs_close(&c);
	echo_stop(&e4);
	echo_stop(&e6);
}

static void test_no_server(void)
{
	struct homa_recvmsg_args ra;
	struct hsock c, plain, s4;
	struct sockaddr_storage ss;
	socklen_t sl;
	uint64_t id;
	int ret;

	watchdog("requests nobody serves", 30);
	hs_open(&c, AF_INET, 20, 0);
	hs_open(&plain, AF_INET, 20, 0);
	memset(&ra, 0, sizeof(ra));

	id = request(&c, PORT_BASE + 9, 21, 100, 0);
	ret = recv_wait(&c, &ra, 0, 10);
	result(ret == -1 && errno == ENOTCONN && ra.id == id,
	       "IPv4 request to a port with no socket: recvmsg -1/ENOTCONN with the id",
	       "ret %d errno %d (%s) id %llu/%llu", ret, errno,
	       strerror(errno), (unsigned long long)ra.id,
	       (unsigned long long)id);
	id = request(&c, PORT_BASE + 9, 22, 200000, 0);
	ret = recv_wait(&c, &ra, id, 10);
	result(ret == -1 && errno == ENOTCONN && ra.id == id,
	       "IPv4 200000-byte request to no socket: ENOTCONN",
	       "ret %d errno %d (%s)", ret, errno, strerror(errno));
	id = request(&c, plain.port, 23, 100, 0);
	ret = recv_wait(&c, &ra, 0, 10);
	result(ret == -1 && errno == ENOTCONN && ra.id == id,
	       "request to an unbound socket without SO_HOMA_SERVER: ENOTCONN",
	       "ret %d errno %d (%s)", ret, errno, strerror(errno));
	{
		int one = 1;
		struct homa_recvmsg_args sra;

		setsockopt(plain.fd, IPPROTO_HOMA, SO_HOMA_SERVER, &one,
			   sizeof(one));
		memset(&sra, 0, sizeof(sra));
		id = request(&c, plain.port, 24, 100, 0);
		ret = echo_one(&plain, &sra, 0);
		ret = ret < 0 ? ret : recv_wait(&c, &ra, id, 10);
		result(ret == 100, "... with SO_HOMA_SERVER set it serves",
		       "ret %d errno %s", ret, strerror(errno));
	}
	hs_close(&c);

	hs_open(&c, AF_INET6, 20, 0);
	memset(&ra, 0, sizeof(ra));
	id = request(&c, PORT_BASE + 9, 25, 100, 0);
	ret = recv_wait(&c, &ra, 0, 10);
	result(ret == -1 && errno == ENOTCONN && ra.id == id,
	       "IPv6 request to a port with no socket: ENOTCONN with the id",
	       "ret %d errno %d (%s)", ret, errno, strerror(errno));
	hs_open(&s4, AF_INET, 20, PORT_BASE + 8);
	sl = lo_addr(&ss, AF_INET6, PORT_BASE + 8);
	id = 0;
	hsend(c.fd, &ss, sl, "x", 1, 0, 0, 0, 0, &id);
	ret = recv_wait(&c, &ra, 0, 10);
	result(ret == -1 && errno == ENOTCONN && ra.id == id,
	       "IPv6 request to a port of an IPv4-only socket: ENOTCONN",
	       "ret %d errno %d (%s)", ret, errno, strerror(errno));
	hs_close(&s4);
	hs_close(&plain);
	hs_close(&c);
}

static void test_private(void)
{
	struct homa_recvmsg_args ra, sra;
	struct homa_rpc_info ri;
	struct pollfd pfd;
	struct hsock c, s;
	uint64_t id1, id2;
	struct blocked b;
	char why[200];
	int ret;

	watchdog("private RPCs", 30);
	hs_open(&s, AF_INET, REGION_BPAGES, PORT_BASE + 3);
	hs_open(&c, AF_INET, REGION_BPAGES, 0);
	memset(&ra, 0, sizeof(ra));
	memset(&sra, 0, sizeof(sra));

	id1 = request(&c, PORT_BASE + 3, 31, 20000, HOMA_SENDMSG_PRIVATE);
	ret = echo_one(&s, &sra, 0);
	result(ret == 20000 && wait_rpc_flags(c.fd, id1,
					      HOMA_RPC_PRIVATE | HOMA_RPC_RX_READY,
					      &ri, 10),
	       "private response arrived (HOMAIOCINFO: private, ready)",
	       "ret %d", ret);
	expect_errno(hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL), EAGAIN,
		     "private: recvmsg(id 0) does not return it (EAGAIN)");
	pfd.fd = c.fd;
	pfd.events = POLLIN;
	result(poll(&pfd, 1, 0) == 0,
	       "private: a ready private response does not make poll readable",
	       "revents 0x%x", pfd.revents);
	/* A thread blocked in recvmsg(0) stays blocked. */
	memset(&b, 0, sizeof(b));
	b.fd = c.fd;
	b.op = 0;
	b.id = 0;
	blocked_start(&b);
	id2 = request(&c, PORT_BASE + 3, 32, 100, HOMA_SENDMSG_PRIVATE);
	echo_one(&s, &sra, 0);
	wait_rpc_flags(c.fd, id2, HOMA_RPC_RX_READY, NULL, 10);
	usleep(100000);
	result(!b.done, "private: a thread in recvmsg(0) is not handed a private response",
	       "it returned %d with id %llu", b.ret,
	       (unsigned long long)b.out_id);
	ret = hrecv(c.fd, &ra, id1, 0, NULL, NULL);
	result(ret == 20000 && ra.id == id1 &&
	       msg_ok(&c, &ra, 31, 20000, why, sizeof(why)),
	       "private: recvmsg(id) returns it, intact", "ret %d id %llu",
	       ret, (unsigned long long)ra.id);
	ret = hrecv(c.fd, &ra, id2, 0, NULL, NULL);
	result(ret == 100 && ra.id == id2, "private: second private response by id",
	       "ret %d", ret);
	/* A non-private response wakes the blocked thread. */
	id1 = request(&c, PORT_BASE + 3, 33, 100, 0);
	echo_one(&s, &sra, 0);
	result(blocked_wait(&b, 10) && b.ret == 100 && b.out_id == id1,
	       "private: the blocked recvmsg(0) gets the next non-private response",
	       "done %d ret %d id %llu/%llu", b.done, b.ret,
	       (unsigned long long)b.out_id, (unsigned long long)id1);
	/* Non-private responses can still be fetched by id. */
	id1 = request(&c, PORT_BASE + 3, 34, 100, 0);
	echo_one(&s, &sra, 0);
	ra.num_bpages = 0;
	ret = hrecv(c.fd, &ra, id1, 0, NULL, NULL);
	result(ret == 100 && ra.id == id1,
	       "recvmsg(id) also returns a non-private response", "ret %d", ret);
	expect_errno(hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL), EAGAIN,
		     "... and it is not returned again by recvmsg(0)");
	hs_close(&c);
	hs_close(&s);
}

static void test_poll(void)
{
	struct homa_recvmsg_args ra, sra;
	struct epoll_event ev, out[4];
	char old_wmem[32] = "";
	struct pollfd pfd;
	struct hsock c, s;
	struct blocked b;
	uint64_t id;
	int ep, ret, n;
	double t;

	watchdog("poll and epoll", 60);
	hs_open(&s, AF_INET, REGION_BPAGES, PORT_BASE + 4);
	hs_open(&c, AF_INET, REGION_BPAGES, 0);
	memset(&ra, 0, sizeof(ra));
	memset(&sra, 0, sizeof(sra));
	pfd.fd = c.fd;
	pfd.events = POLLIN | POLLOUT;
	ret = poll(&pfd, 1, 0);
	result(ret == 1 && pfd.revents == POLLOUT,
	       "poll: idle socket is writable, not readable", "revents 0x%x",
	       pfd.revents);

	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = c.fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
	id = request(&c, PORT_BASE + 4, 41, 50000, 0);
	pfd.fd = s.fd;
	pfd.events = POLLIN;
	ret = poll(&pfd, 1, 10000);
	result(ret == 1 && (pfd.revents & POLLIN),
	       "poll: server socket readable when a request arrives",
	       "ret %d revents 0x%x", ret, pfd.revents);
	echo_one(&s, &sra, 0);
	t = now();
	n = epoll_wait(ep, out, 4, 10000);
	result(n == 1 && out[0].data.fd == c.fd && (out[0].events & EPOLLIN),
	       "epoll_wait: woken with EPOLLIN when the response arrives",
	       "n %d after %.2f s", n, now() - t);
	ret = hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL);
	result(ret == 50000 && ra.id == id, "... and recvmsg returns it",
	       "ret %d", ret);
	n = epoll_wait(ep, out, 4, 0);
	result(n == 0, "epoll_wait: not readable once the response is taken",
	       "n %d", n);
	close(ep);

	/* EPOLLOUT follows wmem_max. */
	{
		int fd = open(WMEM_MAX, O_RDONLY);

		if (fd >= 0) {
			n = read(fd, old_wmem, sizeof(old_wmem) - 1);
			old_wmem[n > 0 ? n : 0] = 0;
			close(fd);
		}
	}
	if (write_file(WMEM_MAX, "10000")) {
		result(false, "set net.homa.wmem_max to 10000", "%s",
		       strerror(errno));
	} else {
		struct sockaddr_storage ss;
		socklen_t sl = lo_addr(&ss, AF_INET, PORT_BASE + 4);

		id = request(&c, PORT_BASE + 4, 42, 20000, 0);
		/* The request stays charged until its RPC ends. */
		pfd.fd = c.fd;
		pfd.events = POLLOUT;
		ret = poll(&pfd, 1, 0);
		result(ret == 0, "poll: not writable while wmem_max is used up",
		       "ret %d revents 0x%x", ret, pfd.revents);
		expect_errno(hsend(c.fd, &ss, sl, "x", 1, 0, 0, 0, MSG_DONTWAIT,
				   NULL), EAGAIN,
			     "sendmsg MSG_DONTWAIT over wmem_max -> EAGAIN");
		/* A blocked sender gets through once the RPC ends. */
		memset(&b, 0, sizeof(b));
		b.fd = c.fd;
		b.op = 1;
		b.dest = ss;
		b.dlen = sl;
		b.len = 100;
		blocked_start(&b);
		result(!b.done, "sendmsg over wmem_max blocks", "ret %d", b.ret);
		echo_one(&s, &sra, 0);
		ret = hrecv(c.fd, &ra, id, 0, NULL, NULL);
		result(ret == 20000 && blocked_wait(&b, 10) && b.ret == 0,
		       "... and proceeds when the first RPC ends",
		       "recv %d, sender done %d ret %d errno %s", ret, b.done,
		       b.ret, strerror(b.err));
		echo_one(&s, &sra, 0);
		ret = hrecv(c.fd, &ra, b.out_id, 0, NULL, NULL);
		pfd.events = POLLOUT;
		ret = poll(&pfd, 1, 0);
		result(ret == 1 && (pfd.revents & POLLOUT),
		       "poll: writable again after the RPCs end",
		       "ret %d revents 0x%x", ret, pfd.revents);
		write_file(WMEM_MAX, old_wmem[0] ? old_wmem : "100000000");
	}
	hs_close(&c);
	hs_close(&s);
}

static void test_shutdown_and_signals(void)
{
	struct homa_recvmsg_args ra;
	struct sigaction sa;
	char old_wmem[32] = "";
	struct sockaddr_storage ss;
	struct pollfd pfd;
	struct hsock c, s;
	struct blocked b;
	socklen_t sl;
	int fd, n;

	watchdog("shutdown and signals", 60);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;	/* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);

	hs_open(&c, AF_INET, 20, 0);
	memset(&b, 0, sizeof(b));
	b.fd = c.fd;
	blocked_start(&b);
	pthread_kill(b.thread, SIGUSR1);
	result(blocked_wait(&b, 10) && b.ret == -1 && b.err == EINTR,
	       "a signal interrupts a blocked recvmsg: EINTR",
	       "done %d ret %d errno %d (%s)", b.done, b.ret, b.err,
	       strerror(b.err));

	memset(&b, 0, sizeof(b));
	b.fd = c.fd;
	blocked_start(&b);
	shutdown(c.fd, SHUT_RDWR);
	result(blocked_wait(&b, 10) && b.ret == -1 && b.err == ESHUTDOWN,
	       "shutdown wakes a thread blocked in recvmsg: ESHUTDOWN",
	       "done %d ret %d errno %d (%s)", b.done, b.ret, b.err,
	       strerror(b.err));
	memset(&ra, 0, sizeof(ra));
	expect_errno(hrecv(c.fd, &ra, 0, 0, NULL, NULL), ESHUTDOWN,
		     "recvmsg after shutdown -> ESHUTDOWN");
	sl = lo_addr(&ss, AF_INET, PORT_BASE + 5);
	expect_errno(hsend(c.fd, &ss, sl, "x", 1, 0, 0, 0, 0, NULL), ESHUTDOWN,
		     "sendmsg after shutdown -> ESHUTDOWN");
	pfd.fd = c.fd;
	pfd.events = POLLIN | POLLOUT;
	poll(&pfd, 1, 0);
	result((pfd.revents & (POLLIN | POLLOUT | POLLHUP)) ==
	       (POLLIN | POLLOUT | POLLHUP),
	       "poll after shutdown: POLLIN | POLLOUT | POLLHUP",
	       "revents 0x%x", pfd.revents);
	hs_close(&c);

	/* A sender blocked on wmem_max: a signal, then shutdown. */
	fd = open(WMEM_MAX, O_RDONLY);
	n = fd >= 0 ? read(fd, old_wmem, sizeof(old_wmem) - 1) : 0;
	old_wmem[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	write_file(WMEM_MAX, "10000");
	hs_open(&s, AF_INET, 20, PORT_BASE + 5);	/* never answers */
	hs_open(&c, AF_INET, 20, 0);
	request(&c, PORT_BASE + 5, 51, 20000, 0);
	memset(&b, 0, sizeof(b));
	b.fd = c.fd;
	b.op = 1;
	b.dest = ss;
	b.dlen = sl;
	b.len = 10;
	blocked_start(&b);
	pthread_kill(b.thread, SIGUSR1);
	result(blocked_wait(&b, 10) && b.ret == -1 && b.err == EINTR,
	       "a signal interrupts a sendmsg blocked on wmem_max: EINTR",
	       "done %d ret %d errno %d (%s)", b.done, b.ret, b.err,
	       strerror(b.err));
	memset(&b, 0, sizeof(b));
	b.fd = c.fd;
	b.op = 1;
	b.dest = ss;
	b.dlen = sl;
	b.len = 10;
	blocked_start(&b);
	shutdown(c.fd, SHUT_RDWR);
	result(blocked_wait(&b, 10) && b.ret == -1 && b.err == ESHUTDOWN,
	       "shutdown wakes a sendmsg blocked on wmem_max: ESHUTDOWN",
	       "done %d ret %d errno %d (%s)", b.done, b.ret, b.err,
	       strerror(b.err));
	write_file(WMEM_MAX, old_wmem[0] ? old_wmem : "100000000");
	hs_close(&c);
	hs_close(&s);
}

static void test_buffer_exhaustion(void)
{
#define NBIG 8
	struct homa_recvmsg_args ra;
	struct homa_rpc_info ri;
	struct homa_info info;
	struct echo_server e;
	uint64_t ids[NBIG];
	long stalls;
	struct hsock c;
	char why[200];
	int i, ret, got = 0, good = 0;
	bool seen[NBIG] = { false };

	watchdog("receive buffer pool exhaustion", 120);
	stalls = metric("buffer_stalls");
	/* The server's region is the minimum: two bpages. */
	echo_start(&e, AF_INET, 2, PORT_BASE + 6);
	hs_open(&c, AF_INET, 4, 0);
	get_info(c.fd, &info, NULL, 0);
	result(info.bpool_avail_bytes == 4 * HOMA_BPAGE_SIZE,
	       "HOMAIOCINFO: bpool_avail_bytes of a fresh 4-bpage region",
	       "%llu", (unsigned long long)info.bpool_avail_bytes);
	for (i = 0; i < NBIG; i++)
		ids[i] = request(&c, PORT_BASE + 6, 60 + i, 100000, 0);
	/* Two responses fit in 4 bpages; the others must wait. */
	{
		double end = now() + 60;
		bool stalled = false;

		while (!stalled && now() < end) {
			for (i = 0; i < NBIG && !stalled; i++)
				stalled = wait_rpc_flags(c.fd, ids[i],
							 HOMA_RPC_BUF_STALL,
							 &ri, 0);
			usleep(2000);
		}
		result(stalled, "a response waits for buffer space (HOMAIOCINFO flag BUF_STALL)",
		       "no RPC showed the flag");
	}
	/* Receive slowly, handing bpages back each time. */
	memset(&ra, 0, sizeof(ra));
	for (i = 0; i < NBIG; i++) {
		int k;

		ret = hrecv(c.fd, &ra, 0, 0, NULL, NULL);
		if (ret < 0) {
			comment("recvmsg %d: %s", i, strerror(errno));
			ra.num_bpages = 0;
			continue;
		}
		got++;
		for (k = 0; k < NBIG; k++) {
			if (ids[k] == ra.id && !seen[k]) {
				seen[k] = true;
				if (ret == 100000 &&
				    msg_ok(&c, &ra, 60 + k, 100000, why,
					   sizeof(why)))
					good++;
				else
					comment("response %d: len %d %s", k,
						ret, why);
			}
		}
		usleep(20000);
	}
	result(got == NBIG && good == NBIG,
	       "8 x 100000 bytes through a 4-bpage region: all arrive intact",
	       "%d received, %d intact", got, good);
	result(metric("buffer_stalls") > stalls,
	       "metric buffer_stalls grew", "%ld -> %ld", stalls,
	       metric("buffer_stalls"));
	ret = hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL);
	get_info(c.fd, &info, NULL, 0);
	result(ret == -1 && errno == EAGAIN &&
	       info.bpool_avail_bytes == 4 * HOMA_BPAGE_SIZE,
	       "all bpages free again after the last hand-back",
	       "ret %d avail %llu", ret,
	       (unsigned long long)info.bpool_avail_bytes);
	result(e.served == NBIG, "the server with a 2-bpage region served all 8",
	       "%ld", e.served);
	echo_stop(&e);
	hs_close(&c);

	/* A server without a region holds requests until it gets one. */
	{
		struct homa_recvmsg_args sra;
		struct homa_rcvbuf_args rb;
		struct hsock s;
		uint64_t id;
		bool ok;

		hs_open(&s, AF_INET, 0, PORT_BASE + 7);
		hs_open(&c, AF_INET, 20, 0);
		id = request(&c, PORT_BASE + 7, 70, 300000, 0);
		usleep(300000);
		memset(&ri, 0, sizeof(ri));
		ok = wait_rpc_flags(s.fd, id | 1, HOMA_RPC_BUF_STALL, &ri, 5);
		result(ok, "request to a socket with no region waits (BUF_STALL)",
		       "flags 0x%x", ri.flags);
		s.region_len = 20 * HOMA_BPAGE_SIZE;
		s.region = mmap(NULL, s.region_len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		rb.start = (uintptr_t)s.region;
		rb.length = s.region_len;
		setsockopt(s.fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rb, sizeof(rb));
		memset(&sra, 0, sizeof(sra));
		alarm(30);
		ret = echo_one(&s, &sra, 0);
		memset(&ra, 0, sizeof(ra));
		ret = ret < 0 ? ret : hrecv(c.fd, &ra, id, 0, NULL, NULL);
		result(ret == 300000 && msg_ok(&c, &ra, 70, 300000, why,
					       sizeof(why)),
		       "... and completes once SO_HOMA_RCVBUF is set",
		       "ret %d errno %s", ret, strerror(errno));
		hs_close(&c);
		hs_close(&s);
	}
}

static void test_info(void)
{
	struct homa_rpc_info ri[4], r;
	struct homa_recvmsg_args ra, sra;
	struct sockaddr_in *pa;
	struct homa_info info;
	struct hsock c, s;
	uint64_t id, id2;
	bool ok;
	int ret;

	watchdog("HOMAIOCINFO", 60);
	hs_open(&s, AF_INET, REGION_BPAGES, PORT_BASE + 10);
	hs_open(&c, AF_INET, REGION_BPAGES, 0);
	id = request(&c, PORT_BASE + 10, 0x1234, 200000, 0);
	result(wait_rpc_flags(s.fd, id | 1, HOMA_RPC_RX_READY, &r, 10),
	       "server: the request becomes ready", "-");
	get_info(s.fd, &info, ri, 4);
	pa = &ri[0].peer.in4;
	result(info.num_rpcs == 1 && info.port == PORT_BASE + 10 &&
	       ri[0].id == (id | 1) && pa->sin_family == AF_INET &&
	       ntohs(pa->sin_port) == c.port &&
	       pa->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
	       "server HOMAIOCINFO: num_rpcs, port, id and peer",
	       "num_rpcs %u port %u id %llu family %u peer port %u/%u",
	       info.num_rpcs, info.port, (unsigned long long)ri[0].id,
	       pa->sin_family, ntohs(pa->sin_port), c.port);
	result(ri[0].tx_length == -1 && ri[0].rx_length == 200000 &&
	       ri[0].rx_remaining == 0 && ri[0].rx_gaps == 0 &&
	       ri[0].rx_gap_bytes == 0 && ri[0].rx_granted == 200000 &&
	       ri[0].flags == HOMA_RPC_RX_READY && ri[0].completion_cookie == 0,
	       "server HOMAIOCINFO: a complete request waiting for recvmsg",
	       "tx_length %d rx_length %d rx_remaining %u gaps %u/%u rx_granted %u flags 0x%x cookie %llu",
	       ri[0].tx_length, ri[0].rx_length, ri[0].rx_remaining,
	       ri[0].rx_gaps, ri[0].rx_gap_bytes, ri[0].rx_granted,
	       ri[0].flags, (unsigned long long)ri[0].completion_cookie);
	result(info.bpool_avail_bytes < (uint64_t)REGION_BPAGES * HOMA_BPAGE_SIZE &&
	       info.bpool_avail_bytes >= (uint64_t)REGION_BPAGES * HOMA_BPAGE_SIZE - 4 * HOMA_BPAGE_SIZE,
	       "server HOMAIOCINFO: bpool_avail_bytes fell by the request",
	       "%llu", (unsigned long long)info.bpool_avail_bytes);
	get_info(c.fd, &info, ri, 4);
	pa = &ri[0].peer.in4;
	result(info.num_rpcs == 1 && ri[0].id == id &&
	       ntohs(pa->sin_port) == PORT_BASE + 10 &&
	       ri[0].completion_cookie == 0x1234 &&
	       ri[0].tx_length == 200000 && ri[0].tx_sent == 200000 &&
	       ri[0].tx_granted == 200000 && ri[0].rx_length == -1 &&
	       ri[0].flags == 0,
	       "client HOMAIOCINFO: request sent, no response yet",
	       "num_rpcs %u id %llu/%llu port %u cookie %llx tx %d/%u/%u rx_length %d flags 0x%x",
	       info.num_rpcs, (unsigned long long)ri[0].id,
	       (unsigned long long)id, ntohs(pa->sin_port),
	       (unsigned long long)ri[0].completion_cookie, ri[0].tx_length,
	       ri[0].tx_sent, ri[0].tx_granted, ri[0].rx_length, ri[0].flags);
	id2 = request(&c, PORT_BASE + 10, 0x99, 10, HOMA_SENDMSG_PRIVATE);
	get_info(c.fd, &info, ri, 1);
	result(info.num_rpcs == 2, "num_rpcs counts RPCs that do not fit in rpc_info",
	       "num_rpcs %u", info.num_rpcs);
	get_info(c.fd, &info, NULL, 0);
	result(info.num_rpcs == 2, "num_rpcs with rpc_info NULL",
	       "num_rpcs %u", info.num_rpcs);
	ok = wait_rpc_flags(c.fd, id2, 0, &r, 1);
	result(ok && r.flags == HOMA_RPC_PRIVATE,
	       "client HOMAIOCINFO: flag PRIVATE", "flags 0x%x", r.flags);

	memset(&sra, 0, sizeof(sra));
	ret = hrecv(s.fd, &sra, 0, 0, NULL, NULL);
	memset(&r, 0, sizeof(r));
	ok = wait_rpc_flags(s.fd, id | 1, 0, &r, 1);
	result(ret == 200000 && sra.id == (id | 1) && ok &&
	       !(r.flags & (HOMA_RPC_RX_READY | HOMA_RPC_RX_COPY)),
	       "server: after recvmsg the RPC is in service (not ready, not copying)",
	       "ret %d id %llu flags 0x%x", ret, (unsigned long long)sra.id,
	       r.flags);
	if (r.flags)
		dump_info("server", s.fd);
	/* Answer id with 300000 bytes and check the client's rx side. */
	{
		struct sockaddr_storage ss;
		socklen_t sl = lo_addr(&ss, AF_INET, c.port);

		ret = hsend(s.fd, &ss, sl, pattern(5, 300000), 300000, id | 1,
			    0, 0, 0, NULL);
		result(ret == 0, "server: response sent", "ret %d errno %s",
		       ret, strerror(errno));
		ok = wait_rpc_flags(c.fd, id, HOMA_RPC_RX_READY, &r, 10);
		result(ok && r.rx_length == 300000 && r.rx_remaining == 0 &&
		       r.rx_granted == 300000,
		       "client HOMAIOCINFO: response complete and ready",
		       "rx_length %d rx_remaining %u rx_granted %u flags 0x%x",
		       r.rx_length, r.rx_remaining, r.rx_granted, r.flags);
	}
	memset(&ra, 0, sizeof(ra));
	ret = hrecv(c.fd, &ra, id, 0, NULL, NULL);
	get_info(c.fd, &info, NULL, 0);
	result(ret == 300000 && info.num_rpcs == 1,
	       "client: the RPC is gone after recvmsg", "ret %d num_rpcs %u",
	       ret, info.num_rpcs);
	{
		double end = now() + 5;

		do {
			get_info(s.fd, &info, NULL, 0);
			usleep(1000);
		} while (info.num_rpcs && now() < end);
		result(info.num_rpcs <= 1 &&
		       !wait_rpc_flags(s.fd, id | 1, 0, &r, 0),
		       "server: the RPC is gone once the client acked",
		       "num_rpcs %u", info.num_rpcs);
		if (info.num_rpcs > 1)
			dump_info("server", s.fd);
	}
	hs_close(&c);
	hs_close(&s);
}

static void test_abort(void)
{
	struct homa_recvmsg_args ra;
	struct homa_abort_args aa;
	struct homa_info info;
	struct hsock c, s;
	struct blocked b;
	uint64_t id, id2, id3;
	int ret;

	watchdog("HOMAIOCABORT", 60);
	hs_open(&s, AF_INET, REGION_BPAGES, PORT_BASE + 11);	/* silent */
	hs_open(&c, AF_INET, REGION_BPAGES, 0);
	memset(&ra, 0, sizeof(ra));

	id = request(&c, PORT_BASE + 11, 81, 1000, 0);
	memset(&aa, 0, sizeof(aa));
	aa.id = id;
	aa.error = ECANCELED;
	expect_ret(ioctl(c.fd, HOMAIOCABORT, &aa), 0,
		   "HOMAIOCABORT with ECANCELED -> 0");
	ret = hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL);
	result(ret == -1 && errno == ECANCELED && ra.id == id &&
	       ra.completion_cookie == 81,
	       "recvmsg then returns -1/ECANCELED with the RPC's id and cookie",
	       "ret %d errno %d (%s) id %llu/%llu cookie %llu", ret, errno,
	       strerror(errno), (unsigned long long)ra.id,
	       (unsigned long long)id, (unsigned long long)ra.completion_cookie);
	expect_errno(hrecv(c.fd, &ra, id, MSG_DONTWAIT, NULL, NULL), EINVAL,
		     "the aborted RPC is gone: recvmsg(id) -> EINVAL");

	id = request(&c, PORT_BASE + 11, 82, 1000, 0);
	aa.id = id;
	aa.error = 0;
	expect_ret(ioctl(c.fd, HOMAIOCABORT, &aa), 0, "HOMAIOCABORT error 0 -> 0");
	expect_errno(hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL), EAGAIN,
		     "error 0 deletes silently: recvmsg(0) -> EAGAIN");
	expect_errno(hrecv(c.fd, &ra, id, MSG_DONTWAIT, NULL, NULL), EINVAL,
		     "... and recvmsg(id) -> EINVAL");

	/* Abort wakes a thread blocked on a private RPC. */
	id = request(&c, PORT_BASE + 11, 83, 1000, HOMA_SENDMSG_PRIVATE);
	memset(&b, 0, sizeof(b));
	b.fd = c.fd;
	b.id = id;
	blocked_start(&b);
	aa.id = id;
	aa.error = ETIMEDOUT;
	ioctl(c.fd, HOMAIOCABORT, &aa);
	result(blocked_wait(&b, 10) && b.ret == -1 && b.err == ETIMEDOUT &&
	       b.out_id == id,
	       "abort wakes recvmsg(id) of a private RPC: ETIMEDOUT with the id",
	       "done %d ret %d errno %d id %llu", b.done, b.ret, b.err,
	       (unsigned long long)b.out_id);

	/* id 0: all client RPCs, each reported. */
	id = request(&c, PORT_BASE + 11, 84, 1000, 0);
	id2 = request(&c, PORT_BASE + 11, 85, 200000, 0);
	id3 = request(&c, PORT_BASE + 11, 86, 10, HOMA_SENDMSG_PRIVATE);
	aa.id = 0;
	aa.error = EHOSTUNREACH;
	expect_ret(ioctl(c.fd, HOMAIOCABORT, &aa), 0, "HOMAIOCABORT id 0 -> 0");
	{
		int n = 0, ok = 0;

		while ((ret = hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL,
				    NULL)) < 0 && errno == EHOSTUNREACH) {
			n++;
			ok += ra.id == id || ra.id == id2;
		}
		ret = hrecv(c.fd, &ra, id3, MSG_DONTWAIT, NULL, NULL);
		result(n == 2 && ok == 2 && ret == -1 && errno == EHOSTUNREACH &&
		       ra.id == id3,
		       "id 0 aborts every client RPC; each is reported once",
		       "%d reported by recvmsg(0) (%d right), private: ret %d errno %d",
		       n, ok, ret, errno);
	}
	get_info(c.fd, &info, NULL, 0);
	result(info.num_rpcs == 0, "no client RPC left", "num_rpcs %u",
	       info.num_rpcs);
	/* The server still has the requests; answering them is harmless. */
	{
		struct homa_recvmsg_args sra;
		int served = 0;
		long before = metric("pkts_dropped_unknown_rpc");

		memset(&sra, 0, sizeof(sra));
		while (echo_one(&s, &sra, MSG_DONTWAIT) >= 0)
			served++;
		usleep(200000);
		comment("server answered %d aborted requests; pkts_dropped_unknown_rpc +%ld",
			served, metric("pkts_dropped_unknown_rpc") - before);
		expect_errno(hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL),
			     EAGAIN, "responses to aborted RPCs are not delivered");
	}
	hs_close(&c);
	hs_close(&s);
}

static void test_robustness(void)
{
	struct homa_recvmsg_args ra, sra;
	struct homa_info info;
	struct hsock c, s;
	uint64_t id, id2;
	long aborted;
	double end;
	int ret;

	watchdog("unusual but legal situations", 60);
	hs_open(&s, AF_INET, REGION_BPAGES, PORT_BASE + 12);

	/* The client unmaps its region before the response is copied. */
	hs_open(&c, AF_INET, 20, 0);
	id = request(&c, PORT_BASE + 12, 91, 100000, 0);
	memset(&sra, 0, sizeof(sra));
	echo_one(&s, &sra, 0);
	wait_rpc_flags(c.fd, id, HOMA_RPC_RX_READY, NULL, 10);
	munmap(c.region, c.region_len);
	c.region = NULL;
	memset(&ra, 0, sizeof(ra));
	ret = hrecv(c.fd, &ra, 0, MSG_DONTWAIT, NULL, NULL);
	result(ret == -1 && errno == EFAULT && ra.id == id,
	       "region unmapped: recvmsg -> EFAULT with the RPC's id",
	       "ret %d errno %d (%s) id %llu", ret, errno, strerror(errno),
	       (unsigned long long)ra.id);
	get_info(c.fd, &info, NULL, 0);
	result(info.num_rpcs == 0 && info.bpool_avail_bytes == 20 * HOMA_BPAGE_SIZE,
	       "... the RPC ended and its bpages went back",
	       "num_rpcs %u avail %llu", info.num_rpcs,
	       (unsigned long long)info.bpool_avail_bytes);
	hs_close(&c);

	/* The client closes before the server answers: the response to one
	 * request meets ICMP port unreachable, and that error ends every
	 * server RPC of the closed socket, also the request the server has
	 * not read yet (nobody waits for its response).
	 */
	hs_open(&c, AF_INET, 20, 0);
	id = request(&c, PORT_BASE + 12, 92, 100, 0);
	id2 = request(&c, PORT_BASE + 12, 93, 300000, 0);
	result(wait_rpc_flags(s.fd, id | 1, HOMA_RPC_RX_READY, NULL, 10) &&
	       wait_rpc_flags(s.fd, id2 | 1, HOMA_RPC_RX_READY, NULL, 10),
	       "two requests of one client socket wait at the server",
	       "not both ready in 10 s");
	aborted = metric("rpcs_icmp_aborted");
	hs_close(&c);
	echo_one(&s, &sra, 0);
	end = now() + 5;
	do {
		get_info(s.fd, &info, NULL, 0);
		usleep(2000);
	} while (info.num_rpcs && now() < end);
	aborted = metric("rpcs_icmp_aborted") - aborted;
	result(info.num_rpcs == 0 && aborted == 2,
	       "a response to a closed client socket: its server RPCs end (ICMP)",
	       "num_rpcs %u, rpcs_icmp_aborted +%ld", info.num_rpcs, aborted);
	ret = hrecv(s.fd, &sra, 0, MSG_DONTWAIT, NULL, NULL);
	result(ret == -1 && errno == EAGAIN,
	       "... the request not read yet is not delivered",
	       "recvmsg -> %d errno %d id %llu", ret, errno,
	       (unsigned long long)sra.id);
	hs_close(&s);
}

/*
 * Two client hosts (network namespaces) start numbering their RPCs at the
 * same value, so a server often holds two RPCs with the same id from
 * different peers.  Both must be answerable.
 */
static void child_client(const char *ns, const char *server, int port,
			 uint32_t key, bool leave)
{
	struct homa_recvmsg_args ra;
	struct sockaddr_in dest = { .sin_family = AF_INET,
				    .sin_port = htons(port) };
	struct hsock c;
	uint64_t id = 0;
	char path[100];
	int fd, ret;

	alarm(0);
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		printf("# %s: setns: %s\n", ns, strerror(errno));
		_exit(2);
	}
	hs_open(&c, AF_INET, 20, 0);
	inet_pton(AF_INET, server, &dest.sin_addr);
	if (hsend(c.fd, (void *)&dest, sizeof(dest), pattern(key, 1000), 1000,
		  0, key, 0, 0, &id) < 0) {
		printf("# %s: sendmsg: %s\n", ns, strerror(errno));
		_exit(3);
	}
	if (leave) {
		/* Wait until the request is out, then close the socket. */
		usleep(500000);
		_exit(0);
	}
	memset(&ra, 0, sizeof(ra));
	ret = recv_wait(&c, &ra, id, 10);
	printf("# client in %s: RPC id %llu: recvmsg %d (%s)\n", ns,
	       (unsigned long long)id, ret, ret < 0 ? strerror(errno) : "ok");
	fflush(stdout);
	_exit(ret == 1000 ? 0 : 1);
}

static void test_id_collision(void)
{
	static const char *setup =
		"modprobe veth 2>/dev/null; "
		"ip netns add rpcapi-c1 && ip netns add rpcapi-c2 && "
		"ip link add rpcapi-a1 type veth peer name rpcapi-b1 netns rpcapi-c1 && "
		"ip link add rpcapi-a2 type veth peer name rpcapi-b2 netns rpcapi-c2 && "
		"ip addr add 10.147.1.1/24 dev rpcapi-a1 && ip link set rpcapi-a1 up && "
		"ip addr add 10.147.2.1/24 dev rpcapi-a2 && ip link set rpcapi-a2 up && "
		"ip -n rpcapi-c1 addr add 10.147.1.2/24 dev rpcapi-b1 && "
		"ip -n rpcapi-c1 link set rpcapi-b1 up && "
		"ip -n rpcapi-c2 addr add 10.147.2.2/24 dev rpcapi-b2 && "
		"ip -n rpcapi-c2 link set rpcapi-b2 up";
	struct homa_recvmsg_args ra[2];
	struct sockaddr_storage from[2];
	socklen_t flen[2];
	int i, ret[2], sent[2], status[2];
	struct hsock s;
	pid_t pid[2];
	char a[2][INET_ADDRSTRLEN];

	watchdog("two client hosts, same RPC id", 60);
	if (run(setup)) {
		result(false, "two client namespaces joined by veth", "setup failed");
		result(false, "server answers both RPCs with the same id", "-");
		result(false, "both clients get their response", "-");
		run("ip netns del rpcapi-c1 2>/dev/null; ip netns del rpcapi-c2 2>/dev/null");
		return;
	}
	result(true, "two client namespaces joined by veth", "-");
	hs_open(&s, AF_INET, REGION_BPAGES, PORT_BASE + 16);
	fflush(stdout);
	pid[0] = fork();
	if (!pid[0])
		child_client("rpcapi-c1", "10.147.1.1", PORT_BASE + 16, 161,
			     false);
	pid[1] = fork();
	if (!pid[1])
		child_client("rpcapi-c2", "10.147.2.1", PORT_BASE + 16, 162,
			     false);
	/* Take both requests before answering either. */
	for (i = 0; i < 2; i++) {
		memset(&ra[i], 0, sizeof(ra[i]));
		ret[i] = hrecv(s.fd, &ra[i], 0, 0, &from[i], &flen[i]);
		inet_ntop(AF_INET, &((struct sockaddr_in *)&from[i])->sin_addr,
			  a[i], sizeof(a[i]));
		comment("server: request id %llu from %s, %d bytes",
			(unsigned long long)ra[i].id, a[i], ret[i]);
	}
	for (i = 0; i < 2; i++) {
		struct iovec iov = { s.region + ra[i].bpage_offsets[0], 1000 };
		struct homa_sendmsg_args sa;
		struct msghdr m;

		memset(&sa, 0, sizeof(sa));
		sa.id = ra[i].id;
		memset(&m, 0, sizeof(m));
		m.msg_name = &from[i];
		m.msg_namelen = flen[i];
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = &sa;
		sent[i] = sendmsg(s.fd, &m, 0);
		if (sent[i])
			comment("server: sendmsg response id %llu to %s: %s",
				(unsigned long long)ra[i].id, a[i],
				strerror(errno));
	}
	result(ret[0] == 1000 && ret[1] == 1000 && sent[0] == 0 && sent[1] == 0,
	       "server answers both RPCs (same id, different client hosts)",
	       "ids %llu and %llu; sendmsg returned %d and %d",
	       (unsigned long long)ra[0].id, (unsigned long long)ra[1].id,
	       sent[0], sent[1]);
	for (i = 0; i < 2; i++) {
		status[i] = -1;
		waitpid(pid[i], &status[i], 0);
	}
	result(WIFEXITED(status[0]) && WEXITSTATUS(status[0]) == 0 &&
	       WIFEXITED(status[1]) && WEXITSTATUS(status[1]) == 0,
	       "both clients get their response",
	       "exit statuses 0x%x and 0x%x", status[0], status[1]);

	/*
	 * Again (ids collide again: one RPC so far in each namespace), but
	 * the client of the older RPC closes its socket before the answer
	 * comes: the ICMP port unreachable must end that server RPC, not be
	 * ignored because another RPC with the same id was found first.
	 */
	{
		struct homa_info info;
		double end;

		pid[0] = fork();
		if (!pid[0])
			child_client("rpcapi-c1", "10.147.1.1", PORT_BASE + 16,
				     163, true);
		memset(&ra[0], 0, sizeof(ra[0]));
		ret[0] = hrecv(s.fd, &ra[0], 0, 0, &from[0], &flen[0]);
		waitpid(pid[0], &status[0], 0);
		pid[1] = fork();
		if (!pid[1])
			child_client("rpcapi-c2", "10.147.2.1", PORT_BASE + 16,
				     164, false);
		memset(&ra[1], 0, sizeof(ra[1]));
		ret[1] = hrecv(s.fd, &ra[1], 0, 0, &from[1], &flen[1]);
		comment("server: request ids %llu (client gone) and %llu",
			(unsigned long long)ra[0].id,
			(unsigned long long)ra[1].id);
		for (i = 0; i < 2; i++) {
			struct iovec iov = { s.region + ra[i].bpage_offsets[0],
					     1000 };
			struct homa_sendmsg_args sa;
			struct msghdr m;

			memset(&sa, 0, sizeof(sa));
			sa.id = ra[i].id;
			memset(&m, 0, sizeof(m));
			m.msg_name = &from[i];
			m.msg_namelen = flen[i];
			m.msg_iov = &iov;
			m.msg_iovlen = 1;
			m.msg_control = &sa;
			sent[i] = sendmsg(s.fd, &m, 0);
		}
		waitpid(pid[1], &status[1], 0);
		result(ret[0] == 1000 && ret[1] == 1000 && ra[0].id == ra[1].id &&
		       sent[0] == 0 && sent[1] == 0 &&
		       WIFEXITED(status[1]) && WEXITSTATUS(status[1]) == 0,
		       "same id again: the remaining client gets its response",
		       "ids %llu/%llu, sendmsg %d/%d, client status 0x%x",
		       (unsigned long long)ra[0].id,
		       (unsigned long long)ra[1].id, sent[0], sent[1],
		       status[1]);
		end = now() + 5;
		do {
			get_info(s.fd, &info, NULL, 0);
			usleep(2000);
		} while (info.num_rpcs && now() < end);
		result(info.num_rpcs == 0,
		       "ICMP for the closed client ends its server RPC, not ignored for the other RPC with its id",
		       "num_rpcs %u after 5 s", info.num_rpcs);
		if (info.num_rpcs)
			dump_info("server", s.fd);
	}
	hs_close(&s);
	run("ip netns del rpcapi-c1; ip netns del rpcapi-c2");
}

/* Close sockets with 100 RPCs in flight in all sorts of states. */
static void test_close_in_flight(void)
{
	static const uint32_t sizes[] = { 1, 100, 1400, 10000, 65537, 200000,
					  500000, 1000000 };
	struct echo_server e;
	struct hsock c, c2, silent;
	long closed;
	int i;

	watchdog("close with RPCs in flight", 120);
	closed = metric("sockets_closed");
	echo_start(&e, AF_INET, REGION_BPAGES, PORT_BASE + 13);
	hs_open(&silent, AF_INET, 30, PORT_BASE + 14);
	hs_open(&c, AF_INET, REGION_BPAGES, 0);
	hs_open(&c2, AF_INET6, REGION_BPAGES, 0);
	for (i = 0; i < 100; i++) {
		request(&c, PORT_BASE + 13, 100 + i, sizes[i % 8],
			i % 3 ? 0 : HOMA_SENDMSG_PRIVATE);
		request(&c2, PORT_BASE + 14, 200 + i, sizes[(i + 3) % 8], 0);
	}
	usleep(300000);
	hs_close(&c);		/* responses still arriving */
	usleep(100000);
	hs_close(&silent);	/* requests pending, some waiting for bpages */
	hs_close(&c2);
	echo_stop(&e);		/* RPCs half-answered to a closed client */
	result(metric("sockets_closed") - closed == 4,
	       "closed 4 sockets with 200 RPCs in flight", "%ld",
	       metric("sockets_closed") - closed);
	/* The same once more over IPv6 with the server closing first. */
	closed = metric("sockets_closed");
	echo_start(&e, AF_INET6, REGION_BPAGES, PORT_BASE + 15);
	hs_open(&c, AF_INET6, REGION_BPAGES, 0);
	for (i = 0; i < 100; i++)
		request(&c, PORT_BASE + 15, 300 + i, sizes[i % 8], 0);
	usleep(200000);
	echo_stop(&e);
	usleep(100000);
	hs_close(&c);
	result(metric("sockets_closed") - closed == 2,
	       "server closed first with 100 RPCs in flight, then the client",
	       "%ld", metric("sockets_closed") - closed);
}

/* ------------------------------------------------------------------
 * kmemleak.
 */

static bool kmemleak_write(const char *cmd)
{
	return write_file(KMEMLEAK, cmd) == 0;
}

/* Count the reported objects whose backtrace mentions homa. */
static int kmemleak_homa(char *first, size_t firstlen)
{
	char line[512], block[4096] = "";
	bool in_bt = false, blames = false;
	int n = 0;
	FILE *f = fopen(KMEMLEAK, "r");

	if (!f)
		return -1;
	first[0] = 0;
	for (;;) {
		bool eof = !fgets(line, sizeof(line), f);

		if (eof || !strncmp(line, "unreferenced object", 19)) {
			if (blames) {
				n++;
				if (!first[0])
					snprintf(first, firstlen, "%s", block);
			}
			if (eof)
				break;
			block[0] = 0;
			in_bt = blames = false;
		}
		if (strstr(line, "backtrace:"))
			in_bt = true;
		if (in_bt && strstr(line, "homa"))
			blames = true;
		if (strlen(block) + strlen(line) < sizeof(block) - 1)
			strcat(block, line);
	}
	fclose(f);
	return n;
}

static void unload(void)
{
	int i, status = -1;

	/* Sockets are freed after an RCU grace period; retry "in use". */
	for (i = 0; i < 100 && status != 0; i++) {
		if (i)
			usleep(100000);
		status = run("rmmod homa 2>/dev/null");
	}
	result(status == 0, "rmmod homa after all sockets closed",
	       "rmmod failed %d times", i);
}

int main(void)
{
	const char *ko = getenv("HOMA_KO");
	bool leakcheck = access(KMEMLEAK, F_OK) == 0;
	struct sigaction sa;
	char cmd[600];
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..%d\n", NUM_TESTS);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!ko) {
		printf("# HOMA_KO is not set\n");
		return 1;
	}
	if (leakcheck)
		kmemleak_write("clear");
	run("rmmod homa 2>/dev/null");
	snprintf(cmd, sizeof(cmd), "insmod '%s'", ko);
	ret = run(cmd);
	result(ret == 0, "insmod", "insmod %s: exit status %d", ko, ret);
	if (ret)
		return 1;
	run("ip link set lo up");

	test_sendmsg_errors();
	test_recvmsg_errors();
	test_rcvbuf();
	test_ioctl_errors();
	test_basic_and_families();
	test_no_server();
	test_private();
	test_poll();
	test_shutdown_and_signals();
	test_buffer_exhaustion();
	test_info();
	test_abort();
	test_robustness();
	test_id_collision();
	test_close_in_flight();
	alarm(0);

	watchdog("rmmod and kmemleak", 300);
	unload();
	if (leakcheck) {
		char first[4096];
		int n;

		kmemleak_write("scan");
		sleep(6);
		kmemleak_write("scan");
		n = kmemleak_homa(first, sizeof(first));
		result(n == 0, "kmemleak: no leaked object allocated by homa",
		       "%d objects; the first:\n%s", n, first);
	} else {
		test_num++;
		printf("ok %d kmemleak # SKIP this kernel has no kmemleak\n",
		       test_num);
	}
	if (test_num != NUM_TESTS)
		printf("# planned %d results, produced %d\n", NUM_TESTS,
		       test_num);
	return failures || test_num != NUM_TESTS ? 1 : 0;
}
