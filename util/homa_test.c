// SPDX-License-Identifier: GPL-2.0
/*
 * homa_test: a functional probe of a Homa implementation through its user
 * API (uapi/linux/homa.h).  It runs a list of checks, each printing one
 * line, "PASS name" or "FAIL name: what was expected, what happened", and
 * ends with "homa_test: N passed, N failed"; the exit status is 0 only if
 * every check passed.
 *
 * The checks talk to a server: by default one started inside this process
 * on loopback, otherwise (--server ADDR) a "homa_test server" running on
 * another host.  The server answers each request with a response whose
 * length and content the request asks for, so that both directions are
 * checked byte for byte:
 *
 *   byte i of a message with seed S is pat_byte(S, i); messages of
 *   HDR_LEN bytes or more start with a header (struct probe_hdr, network
 *   byte order) that names the seed, the operation and the response
 *   length; shorter requests use a seed derived from their length and get
 *   a response of the same length.
 *
 * The server checks every request (a bad one draws an "ERR ..." text
 * response, which the client reports), answers OP_ECHO at once, keeps an
 * OP_HOLD request unanswered until an OP_RELEASE request with the same key
 * arrives (so a check can have an RPC outstanding for as long as it
 * wants), and serves port P (a large receive buffer region, several
 * threads) and port P + 1 (a region of two bpages, one thread: messages
 * must wait for buffer space there).  Port P + 2 must be served by nobody.
 *
 * Build: make -C util.  Full documentation: man -l man/homa_test.1
 * Exit status: 0 all checks passed, 1 a check failed, 2 usage or setup
 * error.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
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
#include <time.h>
#include <unistd.h>

#include "../uapi/linux/homa.h"

#define DEFAULT_PORT		4600
#define DEFAULT_TIMEOUT		120
#define CLIENT_BPAGES		400
#define SERVER_BPAGES		1000
#define SERVER_THREADS		4
#define TINY_BPAGES		2
#define MAX_HELD		64
#define MAX_INFO_RPCS		256
#define WHY_LEN			600

#define MAGIC_REQ		0x48545251	/* "HTRQ" */
#define MAGIC_RSP		0x48545253	/* "HTRS" */
#define RSP_XOR			0xa5c3e10fu
#define SHORT_SEED		0x51ed0000u

enum probe_op { OP_ECHO = 1, OP_HOLD = 2, OP_RELEASE = 3 };

/* The first HDR_LEN bytes of messages that long; fields big-endian. */
struct probe_hdr {
	uint32_t magic;
	uint32_t op;
	uint32_t seed;
	uint32_t resp_len;
	uint32_t key;		/* OP_HOLD/OP_RELEASE: which held request */
	uint32_t status;	/* 0 */
};

#define HDR_LEN ((uint32_t)sizeof(struct probe_hdr))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define __printf(a, b) __attribute__((__format__(__printf__, a, b)))

static const uint32_t echo_sizes[] = {
	1, 100, 1399, 1400, 1401, 10000, 65536, 65537, 500000, 1000000
};

#define NUM_SIZES ARRAY_SIZE(echo_sizes)

static struct {
	bool v6;
	bool list;
	const char *server;
	const char *only;
	const char *skip;
	int port;
	int timeout;
	int verbose;
} opt = {
	.port = DEFAULT_PORT,
	.timeout = DEFAULT_TIMEOUT,
};

/* Where the checks send requests (port filled in per request). */
static struct sockaddr_storage srv_addr;
static int client_family;

/* Counts of what the checks did, for comparison with the kernel's. */
static struct {
	long rpcs;		/* requests sent (client RPCs started) */
	long rpcs_done;		/* client RPCs returned by recvmsg */
	long to_server;		/* requests sent to the server's ports */
	long to_server_bytes;
	long responses;		/* responses received */
	long response_bytes;
} cnt;

static void cnt_add(long *c, long n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "EAGAIN" for EAGAIN; rotating static buffers for unknown values. */
static const char *ename(int err)
{
	static __thread char buf[4][24];
	static __thread int next;
	const char *n = strerrorname_np(err);
	char *b;

	if (n)
		return n;
	b = buf[next++ % 4];
	snprintf(b, sizeof(buf[0]), "errno %d", err);
	return b;
}

/* Describe a failure in @why (WHY_LEN bytes); long texts are cut. */
static void __printf(2, 3) whyf(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, WHY_LEN, fmt, ap);
	va_end(ap);
}

/* "returned 5" or "-1/EAGAIN". */
static const char *res_str(long ret, int err)
{
	static __thread char buf[4][48];
	static __thread int next;
	char *b = buf[next++ % 4];

	if (ret == -1)
		snprintf(b, sizeof(buf[0]), "-1/%s", ename(err));
	else
		snprintf(b, sizeof(buf[0]), "returned %ld", ret);
	return b;
}

/* ------------------------------------------------------------------
 * Message contents.
 */

static uint8_t pat_byte(uint32_t seed, size_t i)
{
	uint32_t x = seed ^ ((uint32_t)(i >> 2) * 0x9e3779b1u);

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	x *= 0x297a2d39u;
	x ^= x >> 15;
	return (uint8_t)(x >> ((i & 3) * 8));
}

static uint32_t short_seed(uint32_t len)
{
	return SHORT_SEED ^ len;
}

/* Write message @len bytes with header @h (if it fits) to @buf. */
static void msg_fill(uint8_t *buf, uint32_t len, const struct probe_hdr *h)
{
	struct probe_hdr n;
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pat_byte(h->seed, i);
	if (len >= HDR_LEN) {
		n.magic = htonl(h->magic);
		n.op = htonl(h->op);
		n.seed = htonl(h->seed);
		n.resp_len = htonl(h->resp_len);
		n.key = htonl(h->key);
		n.status = htonl(h->status);
		memcpy(buf, &n, sizeof(n));
	}
}

static void hdr_read(const uint8_t *buf, struct probe_hdr *h)
{
	struct probe_hdr n;

	memcpy(&n, buf, sizeof(n));
	h->magic = ntohl(n.magic);
	h->op = ntohl(n.op);
	h->seed = ntohl(n.seed);
	h->resp_len = ntohl(n.resp_len);
	h->key = ntohl(n.key);
	h->status = ntohl(n.status);
}

/*
 * Copy the message recvmsg placed in a region to @dst, checking that its
 * pieces are where they may be.  Return: false with @why filled if not.
 */
static bool gather(const uint8_t *region, size_t region_len,
		   const struct homa_recvmsg_args *ra, uint32_t len,
		   uint8_t *dst, char *why, size_t whylen)
{
	uint32_t want = (len + HOMA_BPAGE_SIZE - 1) / HOMA_BPAGE_SIZE;
	uint32_t i, off, n;

	if (ra->num_bpages != want) {
		snprintf(why, whylen,
			 "expected the %u-byte message in %u bpages, recvmsg said %u",
			 len, want, ra->num_bpages);
		return false;
	}
	for (i = 0; i < want; i++) {
		off = ra->bpage_offsets[i];
		n = len - i * HOMA_BPAGE_SIZE;
		if (n > HOMA_BPAGE_SIZE)
			n = HOMA_BPAGE_SIZE;
		if ((size_t)off + n > region_len ||
		    (off % HOMA_BPAGE_SIZE) + n > HOMA_BPAGE_SIZE) {
			snprintf(why, whylen,
				 "expected piece %u (%u bytes) inside one bpage of the %zu-byte region, got offset %u",
				 i, n, region_len, off);
			return false;
		}
		memcpy(dst + (size_t)i * HOMA_BPAGE_SIZE, region + off, n);
	}
	return true;
}

/* Compare @len bytes of @got with message @h; false with @why if wrong. */
static bool msg_compare(const uint8_t *got, uint32_t len,
			const struct probe_hdr *h, const char *what,
			char *why, size_t whylen)
{
	uint8_t *want = malloc(len ? len : 1);
	bool ok = true;
	uint32_t i;

	if (!want) {
		snprintf(why, whylen, "out of memory");
		return false;
	}
	msg_fill(want, len, h);
	if (memcmp(got, want, len)) {
		for (i = 0; i < len && got[i] == want[i]; i++)
			;
		snprintf(why, whylen,
			 "%s of %u bytes: expected byte %u to be 0x%02x, got 0x%02x",
			 what, len, i, want[i], got[i]);
		ok = false;
	}
	free(want);
	return ok;
}

/* ------------------------------------------------------------------
 * The server (in this process, or "homa_test server").
 */

struct held {
	bool used;
	bool released;		/* the OP_RELEASE came first */
	uint32_t key;
	uint64_t id;
	struct sockaddr_storage peer;
	struct probe_hdr h;
};

struct server {
	const char *name;
	int fd;
	int port;
	uint8_t *region;
	size_t region_len;
	int nthreads;
	pthread_t threads[SERVER_THREADS];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long permits;		/* recvmsg calls allowed; < 0: no limit */
	int in_recv;		/* threads past the gate, in recvmsg */
	bool stopping;
	long requests, bytes_in, responses, bytes_out, bad;
	struct held held[MAX_HELD];
};

static socklen_t addr_len(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
		sizeof(struct sockaddr_in);
}

/* Wait until the server may call recvmsg again (local checks gate it). */
static bool gate_pass(struct server *s)
{
	bool run;

	pthread_mutex_lock(&s->lock);
	while (s->permits == 0 && !s->stopping)
		pthread_cond_wait(&s->cond, &s->lock);
	if (s->permits > 0)
		s->permits--;
	run = !s->stopping;
	if (run)
		s->in_recv++;
	pthread_mutex_unlock(&s->lock);
	return run;
}

/* A thread's recvmsg returned. */
static void gate_left(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	s->in_recv--;
	pthread_mutex_unlock(&s->lock);
}

/*
 * Let the (single-threaded) server take exactly one more request: the one
 * its blocked recvmsg returns, or, if it has not reached recvmsg yet (it
 * was just started, or is between requests), one permitted recvmsg.
 */
static void gate_one(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	s->permits = s->in_recv > 0 ? 0 : 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void gate_set(struct server *s, long permits)
{
	pthread_mutex_lock(&s->lock);
	s->permits = permits;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void server_send(struct server *s, uint64_t id,
			const struct sockaddr_storage *peer, const void *buf,
			uint32_t len)
{
	struct iovec iov = { (void *)buf, len };
	struct homa_sendmsg_args sa;
	struct msghdr m;

	memset(&sa, 0, sizeof(sa));
	sa.id = id;
	memset(&m, 0, sizeof(m));
	m.msg_name = (void *)peer;
	m.msg_namelen = addr_len(peer);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = &sa;
	if (sendmsg(s->fd, &m, 0) < 0) {
		fprintf(stderr, "homa_test %s: sendmsg of the response to RPC %llu: %s\n",
			s->name, (unsigned long long)id, ename(errno));
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->responses++;
	s->bytes_out += len;
	pthread_mutex_unlock(&s->lock);
}

/* Answer request @h of RPC @id with the response it asked for. */
static void server_respond(struct server *s, uint64_t id,
			   const struct sockaddr_storage *peer,
			   const struct probe_hdr *h, uint8_t *out)
{
	struct probe_hdr r = {
		.magic = MAGIC_RSP, .op = h->op, .seed = h->seed ^ RSP_XOR,
		.resp_len = h->resp_len, .key = h->key,
	};

	msg_fill(out, h->resp_len, &r);
	server_send(s, id, peer, out, h->resp_len);
}

static void server_error(struct server *s, uint64_t id,
			 const struct sockaddr_storage *peer, const char *text)
{
	char msg[WHY_LEN + 8];

	snprintf(msg, sizeof(msg), "ERR %s", text);
	pthread_mutex_lock(&s->lock);
	s->bad++;
	pthread_mutex_unlock(&s->lock);
	if (opt.verbose)
		fprintf(stderr, "homa_test %s: RPC %llu: %s\n", s->name,
			(unsigned long long)id, text);
	server_send(s, id, peer, msg, strlen(msg));
}

static void server_request(struct server *s,
			   const struct homa_recvmsg_args *ra, uint32_t len,
			   const struct sockaddr_storage *from, uint8_t *in,
			   uint8_t *out)
{
	struct probe_hdr h = { 0 };
	struct held hold = { 0 };
	char why[WHY_LEN];
	int i;

	pthread_mutex_lock(&s->lock);
	s->requests++;
	s->bytes_in += len;
	pthread_mutex_unlock(&s->lock);
	if (!gather(s->region, s->region_len, ra, len, in, why, sizeof(why))) {
		server_error(s, ra->id, from, why);
		return;
	}
	if (len < HDR_LEN) {
		h.op = OP_ECHO;
		h.seed = short_seed(len);
		h.resp_len = len;
	} else {
		hdr_read(in, &h);
		if (h.magic != MAGIC_REQ || h.op < OP_ECHO ||
		    h.op > OP_RELEASE || h.resp_len == 0 ||
		    h.resp_len > HOMA_MAX_MESSAGE_LENGTH || h.status) {
			snprintf(why, sizeof(why),
				 "request header: magic 0x%x op %u resp_len %u status %u",
				 h.magic, h.op, h.resp_len, h.status);
			server_error(s, ra->id, from, why);
			return;
		}
	}
	h.magic = MAGIC_REQ;
	if (!msg_compare(in, len, &h, "request", why, sizeof(why))) {
		server_error(s, ra->id, from, why);
		return;
	}

	if (h.op == OP_HOLD) {
		/*
		 * Another thread may have taken the OP_RELEASE before this
		 * thread got here: then answer at once.
		 */
		pthread_mutex_lock(&s->lock);
		for (i = 0; i < MAX_HELD; i++) {
			if (s->held[i].used && s->held[i].released &&
			    s->held[i].key == h.key) {
				s->held[i].used = false;
				break;
			}
		}
		if (i < MAX_HELD) {
			pthread_mutex_unlock(&s->lock);
			server_respond(s, ra->id, from, &h, out);
			return;
		}
		for (i = 0; i < MAX_HELD && s->held[i].used; i++)
			;
		if (i < MAX_HELD) {
			s->held[i].released = false;
			s->held[i].used = true;
			s->held[i].key = h.key;
			s->held[i].id = ra->id;
			s->held[i].peer = *from;
			s->held[i].h = h;
		}
		pthread_mutex_unlock(&s->lock);
		if (i == MAX_HELD)
			server_error(s, ra->id, from, "too many held requests");
		return;
	}
	if (h.op == OP_RELEASE) {
		pthread_mutex_lock(&s->lock);
		for (i = 0; i < MAX_HELD; i++) {
			if (s->held[i].used && !s->held[i].released &&
			    s->held[i].key == h.key) {
				hold = s->held[i];
				s->held[i].used = false;
				break;
			}
		}
		if (!hold.used) {
			/* The OP_HOLD has not been seen yet. */
			for (i = 0; i < MAX_HELD && s->held[i].used; i++)
				;
			if (i < MAX_HELD) {
				s->held[i].used = true;
				s->held[i].released = true;
				s->held[i].key = h.key;
			}
		}
		pthread_mutex_unlock(&s->lock);
		if (hold.used)
			server_respond(s, hold.id, &hold.peer, &hold.h, out);
	}
	server_respond(s, ra->id, from, &h, out);
}

static void *server_thread(void *arg)
{
	uint8_t *in = malloc(HOMA_MAX_MESSAGE_LENGTH);
	uint8_t *out = malloc(HOMA_MAX_MESSAGE_LENGTH);
	struct homa_recvmsg_args ra;
	struct sockaddr_storage from;
	struct server *s = arg;
	struct msghdr m;
	int len;

	if (!in || !out) {
		fprintf(stderr, "homa_test %s: out of memory\n", s->name);
		exit(2);
	}
	memset(&ra, 0, sizeof(ra));
	while (gate_pass(s)) {
		memset(&m, 0, sizeof(m));
		memset(&from, 0, sizeof(from));
		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		m.msg_control = &ra;
		m.msg_controllen = sizeof(ra);
		ra.id = 0;
		len = recvmsg(s->fd, &m, 0);
		gate_left(s);
		if (len < 0) {
			if (errno == ESHUTDOWN || errno == EBADF)
				break;
			if (errno != EINTR)
				fprintf(stderr, "homa_test %s: recvmsg: %s\n",
					s->name, ename(errno));
			/* Any bpages handed back were taken (or refused). */
			ra.num_bpages = 0;
			continue;
		}
		if (!(ra.id & 1)) {
			fprintf(stderr, "homa_test %s: recvmsg returned a response (id %llu)\n",
				s->name, (unsigned long long)ra.id);
			continue;
		}
		server_request(s, &ra, len, &from, in, out);
	}
	free(in);
	free(out);
	return NULL;
}

/* Open and start a server; Return: 0 or an errno. */
static int server_start(struct server *s, const char *name, int family,
			int port, int bpages, int nthreads)
{
	struct homa_rcvbuf_args rb;
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	int err, i;

	memset(s, 0, sizeof(*s));
	s->name = name;
	s->port = port;
	s->permits = -1;
	s->nthreads = nthreads;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->fd = socket(family, SOCK_DGRAM, IPPROTO_HOMA);
	if (s->fd < 0)
		return errno;
	s->region_len = (size_t)bpages * HOMA_BPAGE_SIZE;
	s->region = mmap(NULL, s->region_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->region == MAP_FAILED) {
		err = errno;
		close(s->fd);
		return err;
	}
	rb.start = (uintptr_t)s->region;
	rb.length = s->region_len;
	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	a4.sin_port = htons(port);
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_port = htons(port);
	if (setsockopt(s->fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rb, sizeof(rb)) ||
	    bind(s->fd, family == AF_INET6 ? (void *)&a6 : (void *)&a4,
		 family == AF_INET6 ? sizeof(a6) : sizeof(a4))) {
		err = errno;
		close(s->fd);
		munmap(s->region, s->region_len);
		return err;
	}
	for (i = 0; i < nthreads; i++)
		pthread_create(&s->threads[i], NULL, server_thread, s);
	return 0;
}

static void server_stop(struct server *s)
{
	int i;

	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	shutdown(s->fd, SHUT_RDWR);
	for (i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	close(s->fd);
	munmap(s->region, s->region_len);
}

static int servers_start(struct server *main_srv, struct server *tiny,
			 int family, int port)
{
	int err;

	err = server_start(main_srv, "server", family, port, SERVER_BPAGES,
			   SERVER_THREADS);
	if (err) {
		fprintf(stderr, "homa_test: cannot serve port %d: %s\n", port,
			ename(err));
		return err;
	}
	err = server_start(tiny, "server (2-bpage region)", family, port + 1,
			   TINY_BPAGES, 1);
	if (err) {
		fprintf(stderr, "homa_test: cannot serve port %d: %s\n",
			port + 1, ename(err));
		server_stop(main_srv);
	}
	return err;
}

static void server_summary(const char *who, struct server *m, struct server *t)
{
	printf("%s: requests=%ld request_bytes=%ld", who,
	       m->requests + t->requests, m->bytes_in + t->bytes_in);
	printf(" responses=%ld response_bytes=%ld bad_requests=%ld\n",
	       m->responses + t->responses, m->bytes_out + t->bytes_out,
	       m->bad + t->bad);
}

/* "homa_test server": serve until SIGINT or SIGTERM. */
static int run_server(void)
{
	struct server main_srv, tiny;
	int family = AF_INET6, sig;
	sigset_t sigs;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (!opt.v6) {
		/* An IPv6 socket serves IPv4 clients too; use one if we can. */
		int fd = socket(AF_INET6, SOCK_DGRAM, IPPROTO_HOMA);

		if (fd < 0)
			family = AF_INET;
		else
			close(fd);
	}
	if (servers_start(&main_srv, &tiny, family, opt.port))
		return 2;
	printf("homa_test server: serving ports %d and %d (2-bpage region) over %s\n",
	       opt.port, opt.port + 1,
	       family == AF_INET6 ? "IPv6 and IPv4" : "IPv4");
	fflush(stdout);
	sigwait(&sigs, &sig);
	server_stop(&main_srv);
	server_stop(&tiny);
	server_summary("homa_test server", &main_srv, &tiny);
	return 0;
}

/* ------------------------------------------------------------------
 * Client side of the checks.
 */

/* The in-process servers (NULL with --server). */
static struct server *local_main, *local_tiny;

struct csock {
	int fd;
	uint8_t *region;
	size_t region_len;
};

struct rpc {
	uint64_t id;
	uint64_t cookie;
	uint32_t len;
	uint32_t resp_len;
	uint32_t op;
	uint32_t seed;
	uint32_t key;
	int port;		/* 0: the server's main port */
	uint32_t flags;		/* HOMA_SENDMSG_* */
};

static uint32_t next_seed(void)
{
	static uint32_t n;

	return (uint32_t)getpid() * 0x9e3779b1u +
		__atomic_add_fetch(&n, 0x10001u, __ATOMIC_RELAXED);
}

/* Socket with a region of @bpages bpages (0: none); false with @why. */
static bool cs_open(struct csock *c, int bpages, char *why)
{
	struct homa_rcvbuf_args rb;

	memset(c, 0, sizeof(*c));
	c->fd = socket(client_family, SOCK_DGRAM, IPPROTO_HOMA);
	if (c->fd < 0) {
		whyf(why, "socket(IPPROTO_HOMA): %s", ename(errno));
		return false;
	}
	if (!bpages)
		return true;
	c->region_len = (size_t)bpages * HOMA_BPAGE_SIZE;
	c->region = mmap(NULL, c->region_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->region == MAP_FAILED) {
		c->region = NULL;
		whyf(why, "mmap: %s", ename(errno));
		close(c->fd);
		return false;
	}
	rb.start = (uintptr_t)c->region;
	rb.length = c->region_len;
	if (setsockopt(c->fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rb, sizeof(rb))) {
		whyf(why, "setsockopt(SO_HOMA_RCVBUF): %s",
		     ename(errno));
		close(c->fd);
		munmap(c->region, c->region_len);
		return false;
	}
	return true;
}

static void cs_close(struct csock *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->region)
		munmap(c->region, c->region_len);
	c->fd = -1;
	c->region = NULL;
}

static socklen_t dest_addr(struct sockaddr_storage *a, int port)
{
	*a = srv_addr;
	if (a->ss_family == AF_INET6)
		((struct sockaddr_in6 *)a)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)a)->sin_port = htons(port);
	return addr_len(a);
}

/* sendmsg with homa_sendmsg_args; Return: sendmsg's result (errno kept). */
static int raw_send(int fd, const struct sockaddr_storage *dest,
		    socklen_t dlen, const void *buf, size_t len,
		    struct homa_sendmsg_args *sa, int flags)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr m;

	memset(&m, 0, sizeof(m));
	m.msg_name = (void *)dest;
	m.msg_namelen = dlen;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = sa;
	return sendmsg(fd, &m, flags);
}

/*
 * Send request @r (seed chosen here) and set r->id.  Return: 0, or -1
 * with errno.
 */
static int rpc_send(struct csock *c, struct rpc *r)
{
	struct homa_sendmsg_args sa;
	struct sockaddr_storage a;
	struct probe_hdr h = { 0 };
	int port = r->port ? r->port : opt.port;
	uint8_t *buf;
	int ret, err;

	if (!r->op)
		r->op = OP_ECHO;
	if (!r->resp_len)
		r->resp_len = r->len;
	if (r->len < HDR_LEN) {
		r->seed = short_seed(r->len);
		r->resp_len = r->len;
		r->op = OP_ECHO;
	} else {
		r->seed = next_seed();
	}
	h.magic = MAGIC_REQ;
	h.op = r->op;
	h.seed = r->seed;
	h.resp_len = r->resp_len;
	h.key = r->key;
	buf = malloc(r->len ? r->len : 1);
	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	msg_fill(buf, r->len, &h);
	memset(&sa, 0, sizeof(sa));
	sa.completion_cookie = r->cookie;
	sa.flags = r->flags;
	ret = raw_send(c->fd, &a, dest_addr(&a, port), buf, r->len, &sa, 0);
	err = errno;
	free(buf);
	r->id = sa.id;
	if (ret < 0) {
		errno = err;
		return -1;
	}
	cnt_add(&cnt.rpcs, 1);
	if (port == opt.port || port == opt.port + 1) {
		cnt_add(&cnt.to_server, 1);
		cnt_add(&cnt.to_server_bytes, r->len);
	}
	return 0;
}

/*
 * recvmsg for @id (0: any); bpages in ra->num_bpages/bpage_offsets are
 * handed back.  Return: recvmsg's result, errno kept.
 */
static int rpc_recv(struct csock *c, struct homa_recvmsg_args *ra,
		    uint64_t id, int flags, struct sockaddr_storage *from)
{
	struct msghdr m;
	int ret, err;

	memset(&m, 0, sizeof(m));
	if (from) {
		memset(from, 0, sizeof(*from));
		m.msg_name = from;
		m.msg_namelen = sizeof(*from);
	}
	ra->id = id;
	m.msg_control = ra;
	m.msg_controllen = sizeof(*ra);
	ret = recvmsg(c->fd, &m, flags);
	err = errno;
	if (ret >= 0 && ra->id && !(ra->id & 1)) {
		cnt_add(&cnt.rpcs_done, 1);
		cnt_add(&cnt.responses, 1);
		cnt_add(&cnt.response_bytes, ret);
	} else if (ret < 0 && err != EINVAL && ra->id && !(ra->id & 1)) {
		/* A failed RPC, reported with its id. */
		cnt_add(&cnt.rpcs_done, 1);
	}
	errno = err;
	return ret;
}

/*
 * Check a response recvmsg returned (@ret) for request @r.  Return: false
 * with @why filled if it is not exactly what the server had to send.
 */
static bool check_response(struct csock *c, const struct homa_recvmsg_args *ra,
			   int ret, int err, const struct rpc *r, char *why)
{
	struct probe_hdr h = {
		.magic = MAGIC_RSP, .op = r->op, .seed = r->seed ^ RSP_XOR,
		.resp_len = r->resp_len, .key = r->key,
	};
	char text[WHY_LEN];
	uint8_t *got;
	bool ok;

	if (ret < 0) {
		whyf(why,
		     "expected the %u-byte response to RPC %llu, recvmsg %s",
		     r->resp_len, (unsigned long long)r->id,
		     res_str(ret, err));
		return false;
	}
	if (ra->id != r->id) {
		whyf(why, "expected the response to RPC %llu, got id %llu",
		     (unsigned long long)r->id, (unsigned long long)ra->id);
		return false;
	}
	if (ra->completion_cookie != r->cookie) {
		whyf(why,
		     "expected completion cookie 0x%llx for RPC %llu, got 0x%llx",
		     (unsigned long long)r->cookie,
		     (unsigned long long)r->id,
		     (unsigned long long)ra->completion_cookie);
		return false;
	}
	got = malloc(ret ? ret : 1);
	if (!got) {
		whyf(why, "out of memory");
		return false;
	}
	ok = gather(c->region, c->region_len, ra, ret, got, why, WHY_LEN);
	if (ok && (uint32_t)ret != r->resp_len) {
		if (ret > 4 && !memcmp(got, "ERR ", 4)) {
			snprintf(text, sizeof(text), "%.*s", ret - 4, got + 4);
			whyf(why,
			     "expected a %u-byte response to RPC %llu, the server reported: %s",
			     r->resp_len, (unsigned long long)r->id, text);
		} else {
			whyf(why,
			     "expected a %u-byte response to RPC %llu, got %d bytes",
			     r->resp_len, (unsigned long long)r->id, ret);
		}
		ok = false;
	}
	if (ok)
		ok = msg_compare(got, ret, &h, "response", why, WHY_LEN);
	free(got);
	return ok;
}

/* Send @r and wait for its response (recvmsg(id) if @by_id, else any). */
static bool round_trip(struct csock *c, struct homa_recvmsg_args *ra,
		       struct rpc *r, bool by_id, char *why)
{
	int ret;

	if (rpc_send(c, r) < 0) {
		whyf(why, "expected sendmsg of %u bytes to work, got -1/%s",
		     r->len, ename(errno));
		return false;
	}
	ret = rpc_recv(c, ra, by_id ? r->id : 0, 0, NULL);
	return check_response(c, ra, ret, errno, r, why);
}

/* Put @prefix in front of the text in @why. */
static void why_prefix(char *why, const char *prefix)
{
	char tmp[WHY_LEN];

	memcpy(tmp, why, WHY_LEN);
	whyf(why, "%s%s", prefix, tmp);
}

static bool expect_errno(long ret, int err, int want, const char *what,
			 char *why)
{
	if (ret == -1 && err == want)
		return true;
	whyf(why, "%s: expected -1/%s, got %s", what, ename(want),
	     res_str(ret, err));
	return false;
}

/* HOMAIOCINFO; @ri (room for MAX_INFO_RPCS) may be NULL. */
static int get_info(int fd, struct homa_info *info, struct homa_rpc_info *ri)
{
	memset(info, 0, sizeof(*info));
	info->rpc_info = (uintptr_t)ri;
	info->rpc_info_length = ri ? MAX_INFO_RPCS * sizeof(*ri) : 0;
	return ioctl(fd, HOMAIOCINFO, info);
}

/* Flags of RPC @id of socket @fd, or -1 if it has no such RPC. */
static int rpc_flags(int fd, uint64_t id)
{
	static struct homa_rpc_info ri[MAX_INFO_RPCS];
	struct homa_info info;
	uint32_t i;

	if (get_info(fd, &info, ri))
		return -1;
	for (i = 0; i < info.num_rpcs && i < MAX_INFO_RPCS; i++)
		if (ri[i].id == id)
			return ri[i].flags;
	return -1;
}

/* Wait (up to the check timeout) until RPC @id has every flag in @flags. */
static bool wait_flags(int fd, uint64_t id, int flags)
{
	double end = now() + opt.timeout;
	int f;

	do {
		f = rpc_flags(fd, id);
		if (f >= 0 && (f & flags) == flags)
			return true;
		usleep(1000);
	} while (now() < end);
	return false;
}

/* Number of RPCs of @fd with flag @flag set, and their total in *@total. */
static int count_flag(int fd, int flag, int *total)
{
	static struct homa_rpc_info ri[MAX_INFO_RPCS];
	struct homa_info info;
	uint32_t i;
	int n = 0;

	*total = 0;
	if (get_info(fd, &info, ri))
		return -1;
	*total = info.num_rpcs;
	for (i = 0; i < info.num_rpcs && i < MAX_INFO_RPCS; i++)
		if (ri[i].flags & flag)
			n++;
	return n;
}

/* Up to 8 RPCs of socket @fd as text, for failure reports. */
static void describe_rpcs(int fd, char *buf, size_t len)
{
	static struct homa_rpc_info ri[MAX_INFO_RPCS];
	struct homa_info info;
	size_t used = 0;
	uint32_t i;

	buf[0] = 0;
	if (get_info(fd, &info, ri)) {
		snprintf(buf, len, "HOMAIOCINFO: %s", ename(errno));
		return;
	}
	used = snprintf(buf, len, "%u RPCs", info.num_rpcs);
	for (i = 0; i < info.num_rpcs && i < 8 && used < len; i++)
		used += snprintf(buf + used, len - used,
				 "; id %llu flags 0x%x tx %d sent %u granted %u rx %d remaining %u gaps %u granted %u",
				 (unsigned long long)ri[i].id, ri[i].flags,
				 ri[i].tx_length, ri[i].tx_sent,
				 ri[i].tx_granted, ri[i].rx_length,
				 ri[i].rx_remaining, ri[i].rx_gaps,
				 ri[i].rx_granted);
}

/*
 * recvmsg(any) polled with MSG_DONTWAIT (bpages in @ra handed back by
 * the first call) until a message comes or the check timeout passes;
 * then the socket's RPCs are described in @why.
 */
static int recv_wait(struct csock *c, struct homa_recvmsg_args *ra,
		     char *why)
{
	double end = now() + opt.timeout;
	char text[WHY_LEN];
	int ret;

	for (;;) {
		ret = rpc_recv(c, ra, 0, MSG_DONTWAIT, NULL);
		if (ret >= 0 || errno != EAGAIN)
			return ret;
		if (now() > end)
			break;
		usleep(1000);
	}
	describe_rpcs(c->fd, text, sizeof(text));
	whyf(why, "no message arrived within %d s; %s", opt.timeout, text);
	errno = ETIME;
	return -1;
}

/* A thread blocked in recvmsg, for the shutdown and signal checks. */
struct blocked {
	struct csock *c;
	uint64_t id;
	pthread_t thread;
	pid_t tid;
	int done;
	int ret;
	int err;
};

static void *blocked_thread(void *arg)
{
	struct homa_recvmsg_args ra;
	struct blocked *b = arg;

	__atomic_store_n(&b->tid, gettid(), __ATOMIC_RELEASE);
	memset(&ra, 0, sizeof(ra));
	b->ret = rpc_recv(b->c, &ra, b->id, 0, NULL);
	b->err = errno;
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void blocked_start(struct blocked *b, struct csock *c, uint64_t id)
{
	memset(b, 0, sizeof(*b));
	b->c = c;
	b->id = id;
	pthread_create(&b->thread, NULL, blocked_thread, b);
}

/* Whether the thread is asleep (state S in /proc), i.e. in recvmsg. */
static bool blocked_asleep(struct blocked *b)
{
	double end = now() + opt.timeout;
	char path[64], buf[512], *p;
	pid_t tid;
	FILE *f;
	size_t n;

	do {
		tid = __atomic_load_n(&b->tid, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&b->done, __ATOMIC_ACQUIRE))
			return false;
		if (tid) {
			snprintf(path, sizeof(path), "/proc/self/task/%d/stat",
				 tid);
			f = fopen(path, "r");
			if (f) {
				n = fread(buf, 1, sizeof(buf) - 1, f);
				fclose(f);
				buf[n] = 0;
				p = strrchr(buf, ')');
				if (p && p[1] == ' ' && p[2] == 'S')
					return true;
			}
		}
		usleep(2000);
	} while (now() < end);
	return false;
}

static bool blocked_wait(struct blocked *b, double secs)
{
	double end = now() + secs;

	while (!__atomic_load_n(&b->done, __ATOMIC_ACQUIRE)) {
		if (now() > end)
			return false;
		usleep(1000);
	}
	return true;
}

/* Wake the thread if it is still blocked (shutdown) and join it. */
static void blocked_end(struct blocked *b)
{
	if (!__atomic_load_n(&b->done, __ATOMIC_ACQUIRE))
		shutdown(b->c->fd, SHUT_RDWR);
	pthread_join(b->thread, NULL);
}

static uint32_t new_key(void)
{
	return next_seed() | 1;
}

/* Release held request @key (from socket @c) and take both responses. */
static bool release(struct csock *c, struct rpc *held, char *why)
{
	struct homa_recvmsg_args ra;
	struct rpc r = { .len = 100, .op = OP_RELEASE, .key = held->key,
			 .flags = HOMA_SENDMSG_PRIVATE };
	int ret;

	memset(&ra, 0, sizeof(ra));
	if (!round_trip(c, &ra, &r, true, why))
		return false;
	ret = rpc_recv(c, &ra, held->id, 0, NULL);
	return check_response(c, &ra, ret, errno, held, why);
}

/* ------------------------------------------------------------------
 * The checks.  Each returns true (pass) or false with @why filled.
 */

struct check {
	const char *name;
	bool (*fn)(const struct check *ck, char *why);
	long arg;
	const char *desc;
};

static bool addr_is_server(const struct sockaddr_storage *from, int port)
{
	struct sockaddr_storage a;
	socklen_t len = dest_addr(&a, port);

	return !memcmp(from, &a, len);
}

static bool ck_echo(const struct check *ck, char *why)
{
	struct rpc r = { .len = ck->arg, .cookie = 0xec00000000000000ULL | ck->arg };
	struct homa_recvmsg_args ra;
	struct sockaddr_storage from;
	struct csock c;
	bool ok = false;
	int ret;

	if (!cs_open(&c, CLIENT_BPAGES, why))
		return false;
	if (rpc_send(&c, &r) < 0) {
		whyf(why, "expected sendmsg of %u bytes to work, got -1/%s",
		     r.len, ename(errno));
		goto out;
	}
	memset(&ra, 0, sizeof(ra));
	ret = rpc_recv(&c, &ra, 0, 0, &from);
	if (!check_response(&c, &ra, ret, errno, &r, why))
		goto out;
	if (!addr_is_server(&from, opt.port)) {
		whyf(why,
		     "expected msg_name to be the server's address and port %d, got family %u port %u",
		     opt.port, from.ss_family,
		     ntohs(((struct sockaddr_in *)&from)->sin_port));
		goto out;
	}
	ok = true;
out:
	cs_close(&c);
	return ok;
}

static bool ck_concurrent(const struct check *ck, char *why)
{
	int n = ck->arg, i, k, ret, got = 0;
	struct homa_recvmsg_args ra;
	struct rpc *r = calloc(n, sizeof(*r));
	bool *seen = calloc(n, sizeof(*seen));
	struct csock c;
	bool ok = false;

	if (!r || !seen || !cs_open(&c, CLIENT_BPAGES, why)) {
		free(r);
		free(seen);
		return false;
	}
	for (i = 0; i < n; i++) {
		r[i].len = echo_sizes[i % NUM_SIZES];
		r[i].cookie = 0xc0c0000000000000ULL + i;
		if (rpc_send(&c, &r[i]) < 0) {
			whyf(why,
			     "expected sendmsg of request %d (%u bytes) to work, got -1/%s",
			     i, r[i].len, ename(errno));
			goto out;
		}
	}
	memset(&ra, 0, sizeof(ra));
	for (got = 0; got < n; got++) {
		ret = rpc_recv(&c, &ra, 0, 0, NULL);
		if (ret < 0) {
			whyf(why,
			     "expected %d responses, recvmsg for number %d %s",
			     n, got + 1, res_str(ret, errno));
			goto out;
		}
		for (k = 0; k < n && r[k].id != ra.id; k++)
			;
		if (k == n || seen[k]) {
			whyf(why,
			     "expected a response to one of the %d RPCs (each once), got id %llu%s",
			     n, (unsigned long long)ra.id,
			     k < n ? " a second time" : "");
			goto out;
		}
		seen[k] = true;
		if (!check_response(&c, &ra, ret, 0, &r[k], why))
			goto out;
	}
	ok = true;
out:
	cs_close(&c);
	free(r);
	free(seen);
	return ok;
}

struct thread_arg {
	struct csock *c;
	int index;
	int rpcs;
	bool ok;
	char why[WHY_LEN];
};

static void *rpc_thread(void *arg)
{
	static const uint32_t sizes[] = { 100, 1400, 20000, 70000, 1000 };
	struct thread_arg *t = arg;
	struct homa_recvmsg_args ra;
	int i;

	memset(&ra, 0, sizeof(ra));
	t->ok = true;
	for (i = 0; i < t->rpcs && t->ok; i++) {
		struct rpc r = {
			.len = sizes[(i + t->index) % 5],
			.cookie = ((uint64_t)t->index << 32) | i,
			.flags = HOMA_SENDMSG_PRIVATE,
		};

		t->ok = round_trip(t->c, &ra, &r, true, t->why);
	}
	return NULL;
}

static bool ck_threads(const struct check *ck, char *why)
{
	struct thread_arg t[4];
	struct csock c;
	bool ok = true;
	int i;

	(void)ck;
	if (!cs_open(&c, CLIENT_BPAGES, why))
		return false;
	for (i = 0; i < 4; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].c = &c;
		t[i].index = i;
		t[i].rpcs = 10;
	}
	{
		pthread_t tid[4];

		for (i = 0; i < 4; i++)
			pthread_create(&tid[i], NULL, rpc_thread, &t[i]);
		for (i = 0; i < 4; i++)
			pthread_join(tid[i], NULL);
	}
	for (i = 0; i < 4 && ok; i++) {
		if (!t[i].ok) {
			whyf(why, "thread %d: %s", i, t[i].why);
			ok = false;
		}
	}
	cs_close(&c);
	return ok;
}

static bool ck_cookies(const struct check *ck, char *why)
{
	static const uint64_t cookies[] = {
		0, 1, 0xffffffffffffffffULL, 0x8000000000000000ULL,
		0x0123456789abcdefULL,
	};
	struct homa_recvmsg_args ra;
	struct rpc r[5];
	struct csock c;
	int i, k, ret;
	bool ok = false;

	(void)ck;
	if (!cs_open(&c, CLIENT_BPAGES, why))
		return false;
	for (i = 0; i < 5; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].len = 200 + i;
		r[i].cookie = cookies[i];
		if (rpc_send(&c, &r[i]) < 0) {
			whyf(why, "expected sendmsg to work, got -1/%s",
			     ename(errno));
			goto out;
		}
	}
	memset(&ra, 0, sizeof(ra));
	for (i = 0; i < 5; i++) {
		ret = rpc_recv(&c, &ra, 0, 0, NULL);
		for (k = 0; k < 5 && r[k].id != ra.id; k++)
			;
		if (ret < 0 || k == 5) {
			whyf(why,
			     "expected a response to one of 5 RPCs, recvmsg %s with id %llu",
			     res_str(ret, errno), (unsigned long long)ra.id);
			goto out;
		}
		if (!check_response(&c, &ra, ret, 0, &r[k], why))
			goto out;
	}
	/* A private RPC's cookie comes back too. */
	memset(&r[0], 0, sizeof(r[0]));
	r[0].len = 300;
	r[0].cookie = 0xfeedfacecafebeefULL;
	r[0].flags = HOMA_SENDMSG_PRIVATE;
	if (!round_trip(&c, &ra, &r[0], true, why))
		goto out;
	ok = true;
out:
	cs_close(&c);
	return ok;
}

static bool ck_private(const struct check *ck, char *why)
{
	struct rpc p = { .len = 2000, .cookie = 11, .flags = HOMA_SENDMSG_PRIVATE };
	struct rpc n = { .len = 100, .cookie = 12 };
	struct homa_recvmsg_args ra;
	struct csock c;
	bool ok = false;
	int ret;

	(void)ck;
	if (!cs_open(&c, CLIENT_BPAGES, why))
		return false;
	memset(&ra, 0, sizeof(ra));
	if (rpc_send(&c, &p) < 0) {
		whyf(why, "expected sendmsg to work, got -1/%s",
		     ename(errno));
		goto out;
	}
	if (!wait_flags(c.fd, p.id, HOMA_RPC_PRIVATE | HOMA_RPC_RX_READY)) {
		whyf(why,
		     "expected the private response to become ready (HOMAIOCINFO flags PRIVATE|RX_READY) within %d s, flags 0x%x",
		     opt.timeout, rpc_flags(c.fd, p.id));
		goto out;
	}
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EAGAIN,
			  "recvmsg(id 0, MSG_DONTWAIT) with only a private response ready",
			  why))
		goto out;
	/* A blocking recvmsg for any message skips it too. */
	if (!round_trip(&c, &ra, &n, false, why))
		goto out;
	ret = rpc_recv(&c, &ra, p.id, 0, NULL);
	if (!check_response(&c, &ra, ret, errno, &p, why))
		goto out;
	ret = rpc_recv(&c, &ra, p.id, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EINVAL,
			  "recvmsg(id) of the private RPC once it was received",
			  why))
		goto out;
	ok = true;
out:
	cs_close(&c);
	return ok;
}

static bool pollin(int fd, char *why, bool want, const char *when)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
	int ret = poll(&pfd, 1, 0);

	if (ret < 0 || !!(pfd.revents & POLLIN) != want ||
	    !(pfd.revents & POLLOUT)) {
		whyf(why,
		     "poll %s: expected %s, got %s revents 0x%x",
		     when, want ? "POLLIN|POLLOUT" : "POLLOUT without POLLIN",
		     res_str(ret, errno), pfd.revents);
		return false;
	}
	return true;
}

static bool ck_poll(const struct check *ck, char *why)
{
	struct rpc h = { .len = 100, .op = OP_HOLD, .cookie = 21 };
	struct rpc rel = { .len = 100, .op = OP_RELEASE, .cookie = 22,
			   .flags = HOMA_SENDMSG_PRIVATE };
	struct epoll_event ev, out[2];
	struct homa_recvmsg_args ra;
	bool ok = false, held = false;
	struct csock c;
	int ep = -1, ret;

	(void)ck;
	if (!cs_open(&c, CLIENT_BPAGES, why))
		return false;
	memset(&ra, 0, sizeof(ra));
	ep = epoll_create1(0);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = c.fd;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev)) {
		whyf(why, "epoll setup: %s", ename(errno));
		goto out;
	}
	if (!pollin(c.fd, why, false, "on a new socket"))
		goto out;
	h.key = new_key();
	rel.key = h.key;
	if (rpc_send(&c, &h) < 0) {
		whyf(why, "expected sendmsg to work, got -1/%s",
		     ename(errno));
		goto out;
	}
	held = true;
	if (!pollin(c.fd, why, false, "while the server holds the response"))
		goto out;
	ret = epoll_wait(ep, out, 2, 0);
	if (ret != 0) {
		whyf(why,
		     "epoll_wait while the server holds the response: expected 0 events, got %s",
		     res_str(ret, errno));
		goto out;
	}
	if (rpc_send(&c, &rel) < 0) {
		whyf(why, "expected sendmsg to work, got -1/%s",
		     ename(errno));
		goto out;
	}
	held = false;
	ret = epoll_wait(ep, out, 2, opt.timeout * 1000);
	if (ret != 1 || !(out[0].events & EPOLLIN)) {
		whyf(why,
		     "epoll_wait once the response was released: expected 1 event with EPOLLIN within %d s, got %s events 0x%x",
		     opt.timeout, res_str(ret, errno),
		     ret > 0 ? out[0].events : 0);
		goto out;
	}
	if (!pollin(c.fd, why, true, "with a response ready"))
		goto out;
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!check_response(&c, &ra, ret, errno, &h, why))
		goto out;
	if (!wait_flags(c.fd, rel.id, HOMA_RPC_RX_READY)) {
		whyf(why,
		     "expected the private response to become ready within %d s",
		     opt.timeout);
		goto out;
	}
	if (!pollin(c.fd, why, false, "with only a private response ready"))
		goto out;
	ret = epoll_wait(ep, out, 2, 0);
	if (ret != 0) {
		whyf(why,
		     "epoll_wait with only a private response ready: expected 0 events, got %s",
		     res_str(ret, errno));
		goto out;
	}
	ret = rpc_recv(&c, &ra, rel.id, 0, NULL);
	if (!check_response(&c, &ra, ret, errno, &rel, why))
		goto out;
	if (!pollin(c.fd, why, false, "after both responses were received"))
		goto out;
	ok = true;
out:
	if (held) {
		char why2[WHY_LEN];

		release(&c, &h, why2);
	}
	if (ep >= 0)
		close(ep);
	cs_close(&c);
	return ok;
}

static bool ck_dontwait(const struct check *ck, char *why)
{
	struct rpc h = { .len = 100, .op = OP_HOLD, .cookie = 31 };
	struct homa_recvmsg_args ra;
	bool ok = false, held = false;
	struct csock c;
	int ret;

	(void)ck;
	if (!cs_open(&c, CLIENT_BPAGES, why))
		return false;
	memset(&ra, 0, sizeof(ra));
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EAGAIN,
			  "recvmsg(MSG_DONTWAIT) with no RPC", why))
		goto out;
	fcntl(c.fd, F_SETFL, O_NONBLOCK);
	ret = rpc_recv(&c, &ra, 0, 0, NULL);
	fcntl(c.fd, F_SETFL, 0);
	if (!expect_errno(ret, errno, EAGAIN, "recvmsg on an O_NONBLOCK socket",
			  why))
		goto out;
	h.key = new_key();
	if (rpc_send(&c, &h) < 0) {
		whyf(why, "expected sendmsg to work, got -1/%s",
		     ename(errno));
		goto out;
	}
	held = true;
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EAGAIN,
			  "recvmsg(MSG_DONTWAIT) while the response is held", why))
		goto out;
	ret = rpc_recv(&c, &ra, h.id, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EAGAIN,
			  "recvmsg(id, MSG_DONTWAIT) while the response is held",
			  why))
		goto out;
	held = false;
	if (!release(&c, &h, why))
		goto out;
	ok = true;
out:
	if (held) {
		char why2[WHY_LEN];

		release(&c, &h, why2);
	}
	cs_close(&c);
	return ok;
}

static bool ck_shutdown(const struct check *ck, char *why)
{
	struct rpc h = { .len = 100, .op = OP_HOLD, .cookie = 41,
			 .flags = HOMA_SENDMSG_PRIVATE };
	struct homa_sendmsg_args sa;
	struct homa_recvmsg_args ra;
	struct sockaddr_storage a;
	struct blocked b[2];
	struct csock c, c2;
	int started = 0, i, ret;
	bool ok = false, held = false;

	(void)ck;
	if (!cs_open(&c, CLIENT_BPAGES, why))
		return false;
	h.key = new_key();
	if (rpc_send(&c, &h) < 0) {
		whyf(why, "expected sendmsg to work, got -1/%s",
		     ename(errno));
		goto out;
	}
	held = true;
	blocked_start(&b[0], &c, 0);
	blocked_start(&b[1], &c, h.id);
	started = 2;
	for (i = 0; i < 2; i++) {
		if (!blocked_asleep(&b[i])) {
			whyf(why,
			     "expected recvmsg(%s) to block, it %s",
			     i ? "id of a held RPC" : "any",
			     b[i].done ? res_str(b[i].ret, b[i].err) :
			     "did not sleep");
			goto out;
		}
	}
	if (shutdown(c.fd, SHUT_RDWR)) {
		whyf(why, "shutdown(SHUT_RDWR): expected 0, got -1/%s",
		     ename(errno));
		goto out;
	}
	for (i = 0; i < 2; i++) {
		if (!blocked_wait(&b[i], opt.timeout) || b[i].ret != -1 ||
		    b[i].err != ESHUTDOWN) {
			whyf(why,
			     "recvmsg(%s) blocked in another thread, after shutdown: expected -1/ESHUTDOWN, got %s",
			     i ? "id" : "any", b[i].done ?
			     res_str(b[i].ret, b[i].err) :
			     "still blocked");
			goto out;
		}
	}
	memset(&ra, 0, sizeof(ra));
	ret = rpc_recv(&c, &ra, 0, 0, NULL);
	if (!expect_errno(ret, errno, ESHUTDOWN, "recvmsg after shutdown", why))
		goto out;
	memset(&sa, 0, sizeof(sa));
	ret = raw_send(c.fd, &a, dest_addr(&a, opt.port), "x", 1, &sa, 0);
	if (!expect_errno(ret, errno, ESHUTDOWN, "sendmsg after shutdown", why))
		goto out;
	ok = true;
out:
	for (i = 0; i < started; i++)
		blocked_end(&b[i]);
	cs_close(&c);
	if (held) {
		/* Let the server answer (and forget) the held request. */
		struct rpc rel = { .len = 100, .op = OP_RELEASE, .key = h.key };
		char why2[WHY_LEN];

		if (cs_open(&c2, CLIENT_BPAGES, why2)) {
			memset(&ra, 0, sizeof(ra));
			round_trip(&c2, &ra, &rel, true, why2);
			cs_close(&c2);
		}
	}
	return ok;
}

static void on_usr1(int sig)
{
	(void)sig;
}

static bool ck_signal(const struct check *ck, char *why)
{
	struct rpc r = { .len = 1000, .cookie = 51 };
	struct homa_recvmsg_args ra;
	struct sigaction sa;
	struct blocked b;
	struct csock c;
	bool ok = false;
	double end;

	(void)ck;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;	/* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	if (!cs_open(&c, CLIENT_BPAGES, why))
		return false;
	blocked_start(&b, &c, 0);
	if (!blocked_asleep(&b)) {
		whyf(why, "expected recvmsg(any) to block, it %s",
		     b.done ? res_str(b.ret, b.err) : "did not sleep");
		goto out;
	}
	/* Repeated: a signal that came before recvmsg slept is lost. */
	end = now() + opt.timeout;
	while (!__atomic_load_n(&b.done, __ATOMIC_ACQUIRE) && now() < end) {
		pthread_kill(b.thread, SIGUSR1);
		usleep(100000);
	}
	if (!b.done || b.ret != -1 || b.err != EINTR) {
		whyf(why,
		     "recvmsg blocked in a thread sent SIGUSR1 (no SA_RESTART): expected -1/EINTR, got %s",
		     b.done ? res_str(b.ret, b.err) : "still blocked");
		goto out;
	}
	memset(&ra, 0, sizeof(ra));
	if (!round_trip(&c, &ra, &r, false, why)) {
		why_prefix(why, "an RPC after the interrupted call: ");
		goto out;
	}
	ok = true;
out:
	blocked_end(&b);
	cs_close(&c);
	return ok;
}

#define POOL_RPCS 6

static bool ck_pool_client(const struct check *ck, char *why)
{
	struct homa_recvmsg_args ra, saved;
	struct rpc r[POOL_RPCS];
	int i, k, n, total, ret;
	bool seen[POOL_RPCS] = { false };
	struct homa_info info;
	struct csock c;
	bool ok = false;
	double end;

	(void)ck;
	if (!cs_open(&c, TINY_BPAGES, why))
		return false;
	for (i = 0; i < POOL_RPCS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].len = 100;
		r[i].resp_len = 100000;
		r[i].cookie = 60 + i;
		if (rpc_send(&c, &r[i]) < 0) {
			whyf(why, "expected sendmsg to work, got -1/%s",
			     ename(errno));
			goto out;
		}
	}
	/*
	 * One 100000-byte response fills the 2 bpages; the others wait
	 * (or, once the socket holds its limit of received data, their
	 * packets are dropped and asked for again later).
	 */
	end = now() + opt.timeout;
	do {
		n = count_flag(c.fd, HOMA_RPC_BUF_STALL, &total);
		if (n > 0)
			break;
		usleep(2000);
	} while (now() < end);
	if (n <= 0) {
		whyf(why,
		     "%d RPCs with 100000-byte responses and a 2-bpage region: expected some waiting for buffer space (HOMAIOCINFO BUF_STALL) within %d s, got %d of %d",
		     POOL_RPCS, opt.timeout, n, total);
		goto out;
	}
	memset(&ra, 0, sizeof(ra));
	for (i = 0; i < POOL_RPCS; i++) {
		ret = recv_wait(&c, &ra, why);
		if (ret < 0 && errno == ETIME)
			goto out;
		for (k = 0; k < POOL_RPCS && r[k].id != ra.id; k++)
			;
		if (ret < 0 || k == POOL_RPCS || seen[k]) {
			whyf(why,
			     "response %d of %d: expected a new one of the RPCs, recvmsg %s id %llu",
			     i + 1, POOL_RPCS, res_str(ret, errno),
			     (unsigned long long)ra.id);
			goto out;
		}
		seen[k] = true;
		if (!check_response(&c, &ra, ret, 0, &r[k], why))
			goto out;
		if (i == 0) {
			/* Keep the bpages: nothing else can arrive. */
			saved = ra;
			ra.num_bpages = 0;
			ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
			if (!expect_errno(ret, errno, EAGAIN,
					  "recvmsg(MSG_DONTWAIT) while the region is full",
					  why))
				goto out;
			ra = saved;
		}
	}
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EAGAIN,
			  "recvmsg(MSG_DONTWAIT) handing back the last bpages",
			  why))
		goto out;
	if (get_info(c.fd, &info, NULL) ||
	    info.bpool_avail_bytes != TINY_BPAGES * HOMA_BPAGE_SIZE) {
		whyf(why,
		     "expected HOMAIOCINFO bpool_avail_bytes %d once all bpages are back, got %llu",
		     TINY_BPAGES * HOMA_BPAGE_SIZE,
		     (unsigned long long)info.bpool_avail_bytes);
		goto out;
	}
	ok = true;
out:
	cs_close(&c);
	return ok;
}

#define TINY_RPCS 8

/* Add the in-process 2-bpage server's RPCs to @why. */
static void tiny_state(char *why)
{
	char text[WHY_LEN], tmp[WHY_LEN];

	if (!local_tiny)
		return;
	describe_rpcs(local_tiny->fd, text, sizeof(text));
	memcpy(tmp, why, WHY_LEN);
	whyf(why, "%s; server: %s", tmp, text);
}

static bool ck_pool_server(const struct check *ck, char *why)
{
	int i, k, n = 0, total = 0, ret;
	bool seen[TINY_RPCS] = { false };
	struct homa_recvmsg_args ra;
	long taken = 0;
	struct rpc r[TINY_RPCS];
	struct csock c;
	bool ok = false;
	double end;

	(void)ck;
	if (!cs_open(&c, CLIENT_BPAGES, why))
		return false;
	if (local_tiny) {
		pthread_mutex_lock(&local_tiny->lock);
		taken = local_tiny->requests;
		pthread_mutex_unlock(&local_tiny->lock);
		gate_one(local_tiny);
	}
	for (i = 0; i < TINY_RPCS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].len = 100000;
		r[i].cookie = 70 + i;
		r[i].port = opt.port + 1;
		if (rpc_send(&c, &r[i]) < 0) {
			whyf(why, "expected sendmsg to work, got -1/%s",
			     ename(errno));
			goto out;
		}
	}
	memset(&ra, 0, sizeof(ra));
	if (local_tiny) {
		/*
		 * The server thread takes one request, answers it and stops
		 * before its next recvmsg, keeping that request's bpages:
		 * the other requests wait (or their packets are dropped
		 * once the socket holds its limit, and sent again later).
		 */
		end = now() + opt.timeout;
		do {
			pthread_mutex_lock(&local_tiny->lock);
			k = local_tiny->requests - taken;
			pthread_mutex_unlock(&local_tiny->lock);
			n = count_flag(local_tiny->fd, HOMA_RPC_BUF_STALL,
				       &total);
			if (n > 0 && k == 1)
				break;
			usleep(2000);
		} while (now() < end);
		if (n <= 0 || k != 1) {
			whyf(why,
			     "%d requests of 100000 bytes to a server with a 2-bpage region that holds one: expected it to take 1 and others to wait for buffer space (HOMAIOCINFO BUF_STALL) within %d s; it took %d, %d of %d server RPCs wait",
			     TINY_RPCS, opt.timeout, k, n, total);
			tiny_state(why);
			goto out;
		}
		ret = recv_wait(&c, &ra, why);
		if (ret < 0 && errno == ETIME) {
			tiny_state(why);
			goto out;
		}
		for (k = 0; k < TINY_RPCS && r[k].id != ra.id; k++)
			;
		if (ret < 0 || k == TINY_RPCS) {
			whyf(why,
			     "expected the response to the request served, recvmsg %s id %llu",
			     res_str(ret, errno), (unsigned long long)ra.id);
			goto out;
		}
		seen[k] = true;
		if (!check_response(&c, &ra, ret, 0, &r[k], why))
			goto out;
		ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
		if (!expect_errno(ret, errno, EAGAIN,
				  "recvmsg(MSG_DONTWAIT) while the server's region is full",
				  why))
			goto out;
		gate_set(local_tiny, -1);
		n = 1;
	} else {
		n = 0;
	}
	for (i = n; i < TINY_RPCS; i++) {
		ret = recv_wait(&c, &ra, why);
		if (ret < 0 && errno == ETIME) {
			tiny_state(why);
			goto out;
		}
		for (k = 0; k < TINY_RPCS && r[k].id != ra.id; k++)
			;
		if (ret < 0 || k == TINY_RPCS || seen[k]) {
			whyf(why,
			     "response %d of %d: expected a new one of the RPCs, recvmsg %s id %llu",
			     i + 1, TINY_RPCS, res_str(ret, errno),
			     (unsigned long long)ra.id);
			goto out;
		}
		seen[k] = true;
		if (!check_response(&c, &ra, ret, 0, &r[k], why))
			goto out;
	}
	ok = true;
out:
	if (local_tiny)
		gate_set(local_tiny, -1);
	cs_close(&c);
	return ok;
}

static bool ck_no_server(const struct check *ck, char *why)
{
	struct rpc a = { .len = 100, .cookie = 81, .port = opt.port + 2 };
	struct rpc b = { .len = 200000, .cookie = 82, .port = opt.port + 2 };
	struct homa_recvmsg_args ra;
	struct csock c;
	bool ok = false;
	int ret, err;

	(void)ck;
	if (!cs_open(&c, CLIENT_BPAGES, why))
		return false;
	memset(&ra, 0, sizeof(ra));
	if (rpc_send(&c, &a) < 0 || rpc_send(&c, &b) < 0) {
		whyf(why, "expected sendmsg to port %d to work, got -1/%s",
		     opt.port + 2, ename(errno));
		goto out;
	}
	ret = rpc_recv(&c, &ra, a.id, 0, NULL);
	err = errno;
	if (ret != -1 || err != ENOTCONN || ra.id != a.id ||
	    ra.completion_cookie != a.cookie) {
		whyf(why,
		     "request to port %d (no server): expected recvmsg(id) -1/ENOTCONN with id %llu cookie %llu, got %s id %llu cookie %llu",
		     opt.port + 2, (unsigned long long)a.id,
		     (unsigned long long)a.cookie, res_str(ret, err),
		     (unsigned long long)ra.id,
		     (unsigned long long)ra.completion_cookie);
		goto out;
	}
	ret = rpc_recv(&c, &ra, 0, 0, NULL);
	err = errno;
	if (ret != -1 || err != ENOTCONN || ra.id != b.id ||
	    ra.completion_cookie != b.cookie) {
		whyf(why,
		     "200000-byte request to port %d (no server): expected recvmsg(any) -1/ENOTCONN with id %llu, got %s id %llu",
		     opt.port + 2, (unsigned long long)b.id,
		     res_str(ret, err), (unsigned long long)ra.id);
		goto out;
	}
	ok = true;
out:
	cs_close(&c);
	return ok;
}

static bool ck_abort(const struct check *ck, char *why)
{
	struct rpc h1 = { .len = 100, .op = OP_HOLD, .cookie = 91 };
	struct rpc h2 = { .len = 100, .op = OP_HOLD, .cookie = 92 };
	struct homa_abort_args aa;
	struct homa_recvmsg_args ra;
	struct homa_info info;
	bool ok = false, held = false;
	struct csock c;
	int ret, err;

	(void)ck;
	if (!cs_open(&c, CLIENT_BPAGES, why))
		return false;
	memset(&ra, 0, sizeof(ra));
	h1.key = new_key();
	h2.key = new_key();
	if (rpc_send(&c, &h1) < 0 || rpc_send(&c, &h2) < 0) {
		whyf(why, "expected sendmsg to work, got -1/%s",
		     ename(errno));
		goto out;
	}
	held = true;
	memset(&aa, 0, sizeof(aa));
	aa.id = h1.id;
	aa.error = ECANCELED;
	ret = ioctl(c.fd, HOMAIOCABORT, &aa);
	if (ret) {
		whyf(why,
		     "HOMAIOCABORT(id, ECANCELED): expected 0, got %s",
		     res_str(ret, errno));
		goto out;
	}
	ret = rpc_recv(&c, &ra, h1.id, 0, NULL);
	err = errno;
	if (ret != -1 || err != ECANCELED || ra.id != h1.id ||
	    ra.completion_cookie != h1.cookie) {
		whyf(why,
		     "recvmsg(id) of an RPC aborted with ECANCELED: expected -1/ECANCELED with its id and cookie, got %s id %llu cookie %llu",
		     res_str(ret, err), (unsigned long long)ra.id,
		     (unsigned long long)ra.completion_cookie);
		goto out;
	}
	aa.id = h2.id;
	aa.error = 0;
	ret = ioctl(c.fd, HOMAIOCABORT, &aa);
	if (ret) {
		whyf(why, "HOMAIOCABORT(id, 0): expected 0, got %s",
		     res_str(ret, errno));
		goto out;
	}
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EAGAIN,
			  "recvmsg(any) after HOMAIOCABORT with error 0", why))
		goto out;
	ret = rpc_recv(&c, &ra, h2.id, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EINVAL,
			  "recvmsg(id) of an RPC aborted with error 0", why))
		goto out;
	aa.id = h2.id;
	aa.error = ECANCELED;
	ret = ioctl(c.fd, HOMAIOCABORT, &aa);
	if (!expect_errno(ret, errno, EINVAL,
			  "HOMAIOCABORT of an RPC that no longer exists", why))
		goto out;
	aa.id = h2.id + 1;
	ret = ioctl(c.fd, HOMAIOCABORT, &aa);
	if (!expect_errno(ret, errno, EINVAL, "HOMAIOCABORT of an odd (server) id",
			  why))
		goto out;
	aa.id = 0;
	aa._pad1 = 1;
	ret = ioctl(c.fd, HOMAIOCABORT, &aa);
	if (!expect_errno(ret, errno, EINVAL, "HOMAIOCABORT with _pad1 != 0",
			  why))
		goto out;
	aa._pad1 = 0;
	ret = ioctl(c.fd, HOMAIOCABORT, &aa);
	if (ret) {
		whyf(why,
		     "HOMAIOCABORT(id 0) with no RPCs: expected 0, got %s",
		     res_str(ret, errno));
		goto out;
	}
	if (get_info(c.fd, &info, NULL) || info.num_rpcs) {
		whyf(why,
		     "expected no RPC left after the aborts, HOMAIOCINFO num_rpcs %u",
		     info.num_rpcs);
		goto out;
	}
	ok = true;
out:
	if (held) {
		/* The server answers; this socket drops those responses. */
		struct rpc rel = { .len = 100, .op = OP_RELEASE };
		char why2[WHY_LEN];

		rel.key = h1.key;
		if (!round_trip(&c, &ra, &rel, true, why2) && ok) {
			whyf(why, "releasing the held requests: %s",
			     why2);
			ok = false;
		}
		memset(&rel, 0, sizeof(rel));
		rel.len = 100;
		rel.op = OP_RELEASE;
		rel.key = h2.key;
		if (!round_trip(&c, &ra, &rel, true, why2) && ok) {
			whyf(why, "releasing the held requests: %s",
			     why2);
			ok = false;
		}
		ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
		if (ok && !expect_errno(ret, errno, EAGAIN,
					"recvmsg(any) after responses to aborted RPCs arrived",
					why))
			ok = false;
	}
	cs_close(&c);
	return ok;
}

static bool ck_err_msg_name(const struct check *ck, char *why)
{
	struct homa_sendmsg_args sa;
	struct sockaddr_storage a;
	struct homa_info info;
	struct csock c;
	bool ok = false;
	socklen_t len;
	int ret;

	(void)ck;
	if (!cs_open(&c, CLIENT_BPAGES, why))
		return false;
	memset(&sa, 0, sizeof(sa));
	ret = raw_send(c.fd, NULL, 0, "abc", 3, &sa, 0);
	if (!expect_errno(ret, errno, EINVAL, "sendmsg without msg_name", why))
		goto out;
	len = dest_addr(&a, opt.port);
	ret = raw_send(c.fd, &a, 4, "abc", 3, &sa, 0);
	if (!expect_errno(ret, errno, EINVAL, "sendmsg with msg_namelen 4", why))
		goto out;
	len = dest_addr(&a, 0);
	ret = raw_send(c.fd, &a, len, "abc", 3, &sa, 0);
	if (!expect_errno(ret, errno, EINVAL, "sendmsg to port 0", why))
		goto out;
	if (get_info(c.fd, &info, NULL) || info.num_rpcs || sa.id) {
		whyf(why,
		     "expected the refused sendmsg calls to leave no RPC and id 0, got num_rpcs %u id %llu",
		     info.num_rpcs, (unsigned long long)sa.id);
		goto out;
	}
	ok = true;
out:
	cs_close(&c);
	return ok;
}

static bool ck_err_family(const struct check *ck, char *why)
{
	struct homa_sendmsg_args sa;
	struct sockaddr_storage a;
	struct csock c;
	bool ok = false;
	int ret;

	(void)ck;
	if (!cs_open(&c, CLIENT_BPAGES, why))
		return false;
	memset(&sa, 0, sizeof(sa));
	dest_addr(&a, opt.port);
	a.ss_family = AF_UNIX;
	ret = raw_send(c.fd, &a, sizeof(struct sockaddr_in6), "abc", 3, &sa, 0);
	if (!expect_errno(ret, errno, EAFNOSUPPORT,
			  "sendmsg to an AF_UNIX address", why))
		goto out;
	if (client_family == AF_INET) {
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
					   .sin6_port = htons(opt.port),
					   .sin6_addr = IN6ADDR_LOOPBACK_INIT };

		ret = raw_send(c.fd, (void *)&a6, sizeof(a6), "abc", 3, &sa, 0);
		if (!expect_errno(ret, errno, EAFNOSUPPORT,
				  "sendmsg from an AF_INET socket to an AF_INET6 address",
				  why))
			goto out;
	}
	ok = true;
out:
	cs_close(&c);
	return ok;
}

static bool ck_err_too_long(const struct check *ck, char *why)
{
	struct homa_sendmsg_args sa;
	struct sockaddr_storage a;
	struct homa_info info;
	socklen_t len = dest_addr(&a, opt.port);
	uint8_t *big = calloc(1, HOMA_MAX_MESSAGE_LENGTH + 1);
	struct csock c;
	bool ok = false;
	int ret;

	(void)ck;
	if (!big) {
		whyf(why, "out of memory");
		return false;
	}
	if (!cs_open(&c, CLIENT_BPAGES, why)) {
		free(big);
		return false;
	}
	memset(&sa, 0, sizeof(sa));
	ret = raw_send(c.fd, &a, len, big, HOMA_MAX_MESSAGE_LENGTH + 1, &sa, 0);
	if (!expect_errno(ret, errno, EINVAL,
			  "sendmsg of HOMA_MAX_MESSAGE_LENGTH + 1 bytes", why))
		goto out;
	ret = raw_send(c.fd, &a, len, big, 0, &sa, 0);
	if (!expect_errno(ret, errno, EINVAL, "sendmsg of 0 bytes", why))
		goto out;
	if (get_info(c.fd, &info, NULL) || info.num_rpcs) {
		whyf(why,
		     "expected the refused sendmsg calls to leave no RPC, got num_rpcs %u",
		     info.num_rpcs);
		goto out;
	}
	ok = true;
out:
	cs_close(&c);
	free(big);
	return ok;
}

static bool ck_err_args(const struct check *ck, char *why)
{
	struct homa_sendmsg_args sa;
	struct homa_recvmsg_args ra;
	struct sockaddr_storage a;
	socklen_t len = dest_addr(&a, opt.port);
	struct msghdr m;
	struct csock c;
	bool ok = false;
	int ret;

	(void)ck;
	if (!cs_open(&c, CLIENT_BPAGES, why))
		return false;
	memset(&m, 0, sizeof(m));
	m.msg_name = &a;
	m.msg_namelen = len;
	ret = sendmsg(c.fd, &m, 0);
	if (!expect_errno(ret, errno, EINVAL, "sendmsg without msg_control", why))
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.flags = 0x02;
	ret = raw_send(c.fd, &a, len, "abc", 3, &sa, 0);
	if (!expect_errno(ret, errno, EINVAL, "sendmsg with flag 0x02", why))
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.reserved = 1;
	ret = raw_send(c.fd, &a, len, "abc", 3, &sa, 0);
	if (!expect_errno(ret, errno, EINVAL, "sendmsg with reserved != 0", why))
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.id = 12345;
	sa.completion_cookie = 1;
	ret = raw_send(c.fd, &a, len, "abc", 3, &sa, 0);
	if (!expect_errno(ret, errno, EINVAL,
			  "sendmsg of a response with a completion cookie", why))
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.id = 12346;
	ret = raw_send(c.fd, &a, len, "abc", 3, &sa, 0);
	if (!expect_errno(ret, errno, EINVAL,
			  "sendmsg of a response with an even id", why))
		goto out;

	memset(&ra, 0, sizeof(ra));
	memset(&m, 0, sizeof(m));
	m.msg_control = &ra;
	m.msg_controllen = sizeof(ra) - 8;
	ret = recvmsg(c.fd, &m, MSG_DONTWAIT);
	if (!expect_errno(ret, errno, EINVAL,
			  "recvmsg with msg_controllen sizeof(args) - 8", why))
		goto out;
	ra.reserved = 1;
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EINVAL, "recvmsg with reserved != 0", why))
		goto out;
	memset(&ra, 0, sizeof(ra));
	ret = rpc_recv(&c, &ra, 3, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EINVAL, "recvmsg for an odd (server) id",
			  why))
		goto out;
	memset(&ra, 0, sizeof(ra));
	ret = rpc_recv(&c, &ra, 4000000, 0, NULL);
	if (!expect_errno(ret, errno, EINVAL,
			  "recvmsg for an unknown client id (must not block)",
			  why))
		goto out;
	ok = true;
out:
	cs_close(&c);
	return ok;
}

static bool ck_err_no_region(const struct check *ck, char *why)
{
	struct rpc r = { .len = 5000, .cookie = 101 };
	struct homa_recvmsg_args ra;
	struct homa_rcvbuf_args rb;
	struct homa_info info;
	struct csock c;
	bool ok = false;
	int ret;

	(void)ck;
	if (!cs_open(&c, 0, why))
		return false;
	if (get_info(c.fd, &info, NULL) || info.bpool_avail_bytes) {
		whyf(why,
		     "expected HOMAIOCINFO bpool_avail_bytes 0 without a region, got %llu",
		     (unsigned long long)info.bpool_avail_bytes);
		goto out;
	}
	memset(&ra, 0, sizeof(ra));
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EAGAIN,
			  "recvmsg(MSG_DONTWAIT) without a buffer region", why))
		goto out;
	ra.num_bpages = 1;
	ra.bpage_offsets[0] = 0;
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EINVAL,
			  "recvmsg handing back a bpage without a buffer region",
			  why))
		goto out;
	memset(&ra, 0, sizeof(ra));
	if (rpc_send(&c, &r) < 0) {
		whyf(why,
		     "expected sendmsg without a buffer region to work, got -1/%s",
		     ename(errno));
		goto out;
	}
	if (!wait_flags(c.fd, r.id, HOMA_RPC_BUF_STALL)) {
		whyf(why,
		     "expected the response to wait for buffer space (HOMAIOCINFO BUF_STALL) within %d s, flags 0x%x",
		     opt.timeout, rpc_flags(c.fd, r.id));
		goto out;
	}
	ret = rpc_recv(&c, &ra, r.id, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EAGAIN,
			  "recvmsg(id, MSG_DONTWAIT) for a response with no buffer region",
			  why))
		goto out;
	c.region_len = 20 * HOMA_BPAGE_SIZE;
	c.region = mmap(NULL, c.region_len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c.region == MAP_FAILED) {
		c.region = NULL;
		whyf(why, "mmap: %s", ename(errno));
		goto out;
	}
	rb.start = (uintptr_t)c.region;
	rb.length = c.region_len;
	if (setsockopt(c.fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rb, sizeof(rb))) {
		whyf(why, "setsockopt(SO_HOMA_RCVBUF) later: %s",
		     ename(errno));
		goto out;
	}
	ret = rpc_recv(&c, &ra, r.id, 0, NULL);
	if (!check_response(&c, &ra, ret, errno, &r, why)) {
		why_prefix(why, "once a region was registered: ");
		goto out;
	}
	ok = true;
out:
	cs_close(&c);
	return ok;
}

static bool ck_err_bpages(const struct check *ck, char *why)
{
	struct rpc r = { .len = 100, .cookie = 111 };
	struct homa_recvmsg_args ra, kept;
	struct csock c;
	bool ok = false;
	int ret;

	(void)ck;
	if (!cs_open(&c, 10, why))
		return false;
	memset(&ra, 0, sizeof(ra));
	ra.num_bpages = 1;
	ra.bpage_offsets[0] = 10 * HOMA_BPAGE_SIZE;
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EINVAL,
			  "recvmsg handing back an offset past the region", why))
		goto out;
	memset(&ra, 0, sizeof(ra));
	ra.num_bpages = 1;
	ra.bpage_offsets[0] = 0;
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EINVAL,
			  "recvmsg handing back a bpage that is not in use", why))
		goto out;
	memset(&ra, 0, sizeof(ra));
	ra.num_bpages = HOMA_MAX_BPAGES + 1;
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EINVAL,
			  "recvmsg with num_bpages HOMA_MAX_BPAGES + 1", why))
		goto out;
	memset(&ra, 0, sizeof(ra));
	if (!round_trip(&c, &ra, &r, true, why))
		goto out;
	kept = ra;
	ra.num_bpages = 2;
	ra.bpage_offsets[1] = ra.bpage_offsets[0];
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EINVAL,
			  "recvmsg handing back one bpage twice in one call", why))
		goto out;
	ra = kept;
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EAGAIN,
			  "recvmsg(MSG_DONTWAIT) handing it back once (nothing was released before)",
			  why))
		goto out;
	ra = kept;
	ret = rpc_recv(&c, &ra, 0, MSG_DONTWAIT, NULL);
	if (!expect_errno(ret, errno, EINVAL,
			  "recvmsg handing back a bpage already handed back", why))
		goto out;
	ok = true;
out:
	cs_close(&c);
	return ok;
}

static const struct check checks[] = {
	{ "echo-1", ck_echo, 1, "echo a 1-byte message" },
	{ "echo-100", ck_echo, 100, "echo a 100-byte message" },
	{ "echo-1399", ck_echo, 1399, "echo a 1399-byte message" },
	{ "echo-1400", ck_echo, 1400, "echo a 1400-byte message" },
	{ "echo-1401", ck_echo, 1401, "echo a 1401-byte message" },
	{ "echo-10000", ck_echo, 10000, "echo a 10000-byte message" },
	{ "echo-65536", ck_echo, 65536, "echo a 65536-byte message (one bpage)" },
	{ "echo-65537", ck_echo, 65537, "echo a 65537-byte message (two bpages)" },
	{ "echo-500000", ck_echo, 500000, "echo a 500000-byte message" },
	{ "echo-1000000", ck_echo, 1000000,
	  "echo a 1000000-byte message (HOMA_MAX_MESSAGE_LENGTH)" },
	{ "concurrent", ck_concurrent, 24,
	  "24 RPCs of all echo sizes in flight on one socket, received in any order" },
	{ "threads", ck_threads, 0,
	  "4 threads x 10 private RPCs on one shared socket" },
	{ "cookies", ck_cookies, 0,
	  "completion cookies (0, 1, ~0, ...) come back with their responses" },
	{ "private", ck_private, 0,
	  "a private response goes only to a recvmsg naming its id" },
	{ "poll", ck_poll, 0,
	  "poll/epoll report POLLIN only while a non-private message is ready" },
	{ "dontwait", ck_dontwait, 0,
	  "MSG_DONTWAIT and O_NONBLOCK with nothing ready: EAGAIN" },
	{ "shutdown", ck_shutdown, 0,
	  "shutdown() wakes recvmsg blocked in other threads: ESHUTDOWN" },
	{ "signal", ck_signal, 0,
	  "a signal interrupts a blocked recvmsg: EINTR" },
	{ "pool-client", ck_pool_client, 0,
	  "responses wait while a 2-bpage region is full, then all arrive intact" },
	{ "pool-server", ck_pool_server, 0,
	  "requests to a server with a 2-bpage region wait, then all complete intact" },
	{ "no-server", ck_no_server, 0,
	  "a request to a port nobody serves: recvmsg -1/ENOTCONN with its id" },
	{ "abort", ck_abort, 0,
	  "HOMAIOCABORT: with an errno, with 0, and its EINVAL cases" },
	{ "err-msg-name", ck_err_msg_name, 0,
	  "sendmsg without a usable msg_name: EINVAL" },
	{ "err-family", ck_err_family, 0,
	  "sendmsg to an address of a wrong family: EAFNOSUPPORT" },
	{ "err-too-long", ck_err_too_long, 0,
	  "sendmsg of more than HOMA_MAX_MESSAGE_LENGTH or 0 bytes: EINVAL" },
	{ "err-args", ck_err_args, 0,
	  "bad homa_sendmsg_args/homa_recvmsg_args: EINVAL" },
	{ "err-no-region", ck_err_no_region, 0,
	  "recvmsg without a buffer region: messages wait, bpages refused" },
	{ "err-bpages", ck_err_bpages, 0,
	  "bad bpage offsets handed back to recvmsg: EINVAL" },
};

#define NUM_CHECKS ARRAY_SIZE(checks)

static const char *current_check;
static int passed, failed;

static void on_alarm(int sig)
{
	char buf[300];
	int n;

	(void)sig;
	n = snprintf(buf, sizeof(buf),
		     "FAIL %s: expected it to finish within %d s, it was still running (a call blocked?)\nhoma_test: %d passed, %d failed\n",
		     current_check ? current_check : "?", opt.timeout + 30, passed,
		     failed + 1);
	if (write(1, buf, n) < 0)
		_exit(1);
	_exit(1);
}

/* Whether @name matches one of the comma-separated patterns of @list. */
static bool in_list(const char *list, const char *name)
{
	char *copy = strdup(list), *tok, *save;
	bool found = false;

	for (tok = strtok_r(copy, ",", &save); tok && !found;
	     tok = strtok_r(NULL, ",", &save))
		found = !fnmatch(tok, name, 0);
	free(copy);
	return found;
}

static bool selected(const char *name)
{
	return (!opt.only || in_list(opt.only, name)) &&
		(!opt.skip || !in_list(opt.skip, name));
}

static void print_help(FILE *f)
{
	fprintf(f,
		"Usage: homa_test [OPTIONS]         run the checks\n"
		"       homa_test server [--port N] [-6]   serve \"homa_test --server\"\n"
		"\n"
		"A functional probe of Homa through its user API: echo of many sizes,\n"
		"concurrent and private RPCs, completion cookies, poll/epoll, shutdown,\n"
		"signals, MSG_DONTWAIT, receive buffer exhaustion, HOMAIOCABORT and the\n"
		"exact errno of error cases.  Prints \"PASS name\" or \"FAIL name: ...\"\n"
		"per check and \"homa_test: N passed, N failed\" at the end.\n"
		"\n"
		"Options:\n"
		"  --server ADDR  probe \"homa_test server\" at ADDR (default: start a\n"
		"                 server in this process and use loopback)\n"
		"  --port N       server ports N (main) and N+1 (2-bpage region); N+2\n"
		"                 must have no server (default %d)\n"
		"  -6, --ipv6     use IPv6 (default IPv4; implied by an IPv6 --server)\n"
		"  --only LIST    run only these checks: comma-separated names or\n"
		"                 shell patterns, e.g. --only 'echo-*,poll'\n"
		"  --skip LIST    do not run these checks (same form)\n"
		"  --list         list the checks and exit\n"
		"  --timeout S    fail a check still running after S seconds (default %d)\n"
		"  -v, --verbose  more detail (the server prints bad requests)\n"
		"  -h, --help     this text\n"
		"\n"
		"Exit status: 0 all checks passed, 1 a check failed, 2 usage or setup error.\n"
		"Full documentation: man -l man/homa_test.1\n",
		DEFAULT_PORT, DEFAULT_TIMEOUT);
}

static long parse_num(const char *name, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "homa_test: --%s %s: expected a number from %ld to %ld\n",
			name, s, lo, hi);
		exit(2);
	}
	return v;
}

/* Set srv_addr and client_family from --server / -6. */
static int set_target(void)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&srv_addr;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&srv_addr;

	memset(&srv_addr, 0, sizeof(srv_addr));
	if (!opt.server) {
		if (opt.v6) {
			a6->sin6_family = AF_INET6;
			a6->sin6_addr = in6addr_loopback;
		} else {
			a4->sin_family = AF_INET;
			a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		}
	} else if (!opt.v6 && inet_pton(AF_INET, opt.server, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
	} else if (inet_pton(AF_INET6, opt.server, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
	} else {
		fprintf(stderr, "homa_test: --server %s: expected an %saddress\n",
			opt.server, opt.v6 ? "IPv6 " : "IPv4 or IPv6 ");
		return 2;
	}
	client_family = opt.v6 || srv_addr.ss_family == AF_INET6 ?
			AF_INET6 : AF_INET;
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_SERVER = 256, OPT_PORT, OPT_ONLY, OPT_SKIP, OPT_LIST,
	       OPT_TIMEOUT };
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "ipv6", no_argument, NULL, '6' },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "skip", required_argument, NULL, OPT_SKIP },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct server main_srv, tiny;
	bool server_mode = false;
	char why[WHY_LEN];
	int c, fd, nsel = 0;
	size_t i;

	if (argc > 1 && !strcmp(argv[1], "server")) {
		server_mode = true;
		optind = 2;
	}
	while ((c = getopt_long(argc, argv, "6hv", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SERVER:
			opt.server = optarg;
			break;
		case OPT_PORT:
			opt.port = parse_num("port", optarg, 1,
					     HOMA_MIN_DEFAULT_PORT - 3);
			break;
		case '6':
			opt.v6 = true;
			break;
		case OPT_ONLY:
			opt.only = optarg;
			break;
		case OPT_SKIP:
			opt.skip = optarg;
			break;
		case OPT_LIST:
			opt.list = true;
			break;
		case OPT_TIMEOUT:
			opt.timeout = parse_num("timeout", optarg, 1, 86400);
			break;
		case 'v':
			opt.verbose++;
			break;
		case 'h':
			print_help(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'homa_test --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "homa_test: unexpected argument '%s'\nTry 'homa_test --help'.\n",
			argv[optind]);
		return 2;
	}
	if (server_mode && (opt.server || opt.only || opt.skip || opt.list)) {
		fprintf(stderr, "homa_test server: takes only --port, -6 and -v\n");
		return 2;
	}
	if (server_mode)
		return run_server();

	for (i = 0; i < NUM_CHECKS; i++)
		if (selected(checks[i].name))
			nsel++;
	if (!nsel) {
		fprintf(stderr, "homa_test: --only/--skip leave no check to run (see --list)\n");
		return 2;
	}
	if (opt.list) {
		for (i = 0; i < NUM_CHECKS; i++)
			if (selected(checks[i].name))
				printf("%-14s %s\n", checks[i].name,
				       checks[i].desc);
		return 0;
	}
	if (set_target())
		return 2;
	fd = socket(client_family, SOCK_DGRAM, IPPROTO_HOMA);
	if (fd < 0) {
		fprintf(stderr, "homa_test: socket(%s, IPPROTO_HOMA): %s (is homa loaded?)\n",
			client_family == AF_INET6 ? "AF_INET6" : "AF_INET",
			ename(errno));
		return 2;
	}
	close(fd);
	if (!opt.server) {
		if (servers_start(&main_srv, &tiny, client_family, opt.port))
			return 2;
		local_main = &main_srv;
		local_tiny = &tiny;
	}
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < NUM_CHECKS; i++) {
		if (!selected(checks[i].name))
			continue;
		current_check = checks[i].name;
		why[0] = 0;
		alarm(opt.timeout + 30);
		if (checks[i].fn(&checks[i], why)) {
			printf("PASS %s\n", checks[i].name);
			passed++;
		} else {
			printf("FAIL %s: %s\n", checks[i].name, why);
			failed++;
		}
		alarm(0);
		fflush(stdout);
	}
	current_check = NULL;
	printf("homa_test: client_rpcs=%ld client_rpcs_done=%ld", cnt.rpcs,
	       cnt.rpcs_done);
	printf(" requests_to_server=%ld request_bytes_to_server=%ld",
	       cnt.to_server, cnt.to_server_bytes);
	printf(" responses=%ld response_bytes=%ld\n", cnt.responses,
	       cnt.response_bytes);
	if (local_main) {
		server_stop(local_main);
		server_stop(local_tiny);
		server_summary("homa_test: in-process server", local_main,
			       local_tiny);
	}
	printf("homa_test: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
