// SPDX-License-Identifier: GPL-2.0
/*
 * homa_echo: an echo server and a checking client for Homa, with the same
 * workload over TCP for comparison.
 *
 * The server answers every request with the request's own bytes, sent
 * straight from the receive buffer region; the bpages go back to the
 * kernel with the thread's next recvmsg.  The client keeps --concurrent
 * RPCs in flight on each of --threads sockets, cycles through --sizes, and
 * checks every byte of every response: byte p of a message is byte p % 8
 * of 64-bit word p / 8, where word 0 is the RPC's key (unique per RPC) and
 * word j > 0 is a hash of the key and j.  So a byte in the wrong message,
 * at the wrong offset or in the wrong bpage is caught, and the server can
 * check requests of 8 bytes or more on its own (a bad request means the
 * client-to-server direction broke; a good request with a bad response
 * the other one).
 *
 * The server also checks that each request reaches it exactly once: it
 * remembers the tag of every request it served (the key, word 0 of the
 * payload, for requests of 8 bytes or more; else the client's address,
 * port and RPC id) and counts a request that comes again as an error, so
 * a retransmission or a restarted request that the kernel delivers twice
 * is caught.
 *
 * With --udp the same echo runs over UDP, one datagram each way per
 * request and one request in flight per thread: the ping-pong floor that
 * the benchmarks (util/bench) compare Homa's and TCP's round trips with.
 * UDP does not recover a lost datagram; a response that does not come
 * back within UDP_WAIT_MS is a failed RPC.
 *
 * A run that does not finish within --timeout prints, for every client
 * socket, the RPCs still outstanding and the kernel's view of them
 * (HOMAIOCINFO), which usually says which side stalled.  kill -USR1 makes
 * a server print the same for its socket.
 *
 * Build: make -C util   (or: cc -O2 -Wall -o homa_echo homa_echo.c -lpthread)
 * Exit status: 0 all RPCs correct, 1 any failure, 2 usage error.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../uapi/linux/homa.h"

#define DEFAULT_PORT		4000
#define DEFAULT_SIZES		"1,100,1399,1400,1401,10000,65536,65537,500000,1000000"
#define MAX_SIZES		64
#define MAX_ERRORS_SHOWN	20
#define RTT_WARMUP		10
#define UDP_MAX_MESSAGE		65507
#define UDP_WAIT_MS		1000

enum priv_mode { PRIV_NONE, PRIV_ALL, PRIV_MIXED };

static struct {
	bool server;
	bool tcp;
	bool udp;
	bool v6;
	bool verify;
	int port;
	int threads;
	int concurrent;
	long count;
	long rtt;
	int timeout;
	int stall;
	long bpages;
	enum priv_mode priv;
	const char *addr;
	uint32_t sizes[MAX_SIZES];
	int nsizes;
	int verbose;
} opt = {
	.verify = true,
	.port = DEFAULT_PORT,
	.timeout = 600,
	.stall = 30,
};

static struct sockaddr_storage server_addr;
static socklen_t server_addr_len;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static const char *proto_name(void)
{
	return opt.tcp ? "tcp" : opt.udp ? "udp" : "homa";
}

/* ------------------------------------------------------------------
 * Payload pattern.
 */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t pattern_word(uint64_t key, uint32_t j)
{
	return j ? mix64(key ^ ((uint64_t)j << 32 | j)) : key;
}

/* Fill @buf with the @len bytes of the message with key @key. */
static void fill_pattern(uint8_t *buf, uint64_t key, uint32_t len)
{
	uint32_t j, n = len / 8;
	uint64_t w;

	for (j = 0; j < n; j++) {
		w = pattern_word(key, j);
		memcpy(buf + 8 * (size_t)j, &w, 8);
	}
	if (len % 8) {
		w = pattern_word(key, n);
		memcpy(buf + 8 * (size_t)n, &w, len % 8);
	}
}

/**
 * check_message() - Check a message that recvmsg placed in the region.
 * @region:     Start of the receive buffer region.
 * @region_len: Its length.
 * @ra:         recvmsg's output arguments.
 * @len:        Message length.
 * @expect:     The @len bytes the message must have.
 * @why:        Filled with a description of the first problem.
 * @whylen:     Size of @why.
 *
 * Return: true if the message is intact.
 */
static bool check_message(const uint8_t *region, size_t region_len,
			  const struct homa_recvmsg_args *ra, uint32_t len,
			  const uint8_t *expect, char *why, size_t whylen)
{
	uint32_t want = (len + HOMA_BPAGE_SIZE - 1) / HOMA_BPAGE_SIZE;
	uint32_t i, pos, n, k, bad = 0, first = UINT32_MAX;

	if (ra->num_bpages != want) {
		snprintf(why, whylen, "num_bpages %u, expected %u",
			 ra->num_bpages, want);
		return false;
	}
	for (i = 0; i < want; i++) {
		pos = i * HOMA_BPAGE_SIZE;
		n = len - pos > HOMA_BPAGE_SIZE ? HOMA_BPAGE_SIZE : len - pos;
		if ((uint64_t)ra->bpage_offsets[i] + n > region_len) {
			snprintf(why, whylen,
				 "bpage_offsets[%u] = %u: piece of %u bytes ends outside the %zu-byte region",
				 i, ra->bpage_offsets[i], n, region_len);
			return false;
		}
		if (i + 1 < want && ra->bpage_offsets[i] % HOMA_BPAGE_SIZE) {
			snprintf(why, whylen,
				 "bpage_offsets[%u] = %u is not bpage-aligned",
				 i, ra->bpage_offsets[i]);
			return false;
		}
		if (memcmp(region + ra->bpage_offsets[i], expect + pos, n) == 0)
			continue;
		for (k = 0; k < n; k++) {
			if (region[ra->bpage_offsets[i] + k] != expect[pos + k]) {
				if (first == UINT32_MAX)
					first = pos + k;
				bad++;
			}
		}
	}
	if (first == UINT32_MAX)
		return true;
	snprintf(why, whylen,
		 "%u bad bytes, first at offset %u (bpage %u at region offset %u): got 0x%02x, expected 0x%02x",
		 bad, first, first / HOMA_BPAGE_SIZE,
		 ra->bpage_offsets[first / HOMA_BPAGE_SIZE],
		 region[ra->bpage_offsets[first / HOMA_BPAGE_SIZE] +
			first % HOMA_BPAGE_SIZE], expect[first]);
	return false;
}

/* Where two buffers differ first, and how many bytes differ. */
static void describe_diff(const uint8_t *got, const uint8_t *expect,
			  uint32_t len, char *why, size_t whylen)
{
	uint32_t k, bad = 0, first = UINT32_MAX;

	for (k = 0; k < len; k++) {
		if (got[k] != expect[k]) {
			if (first == UINT32_MAX)
				first = k;
			bad++;
		}
	}
	if (first == UINT32_MAX)
		snprintf(why, whylen, "no difference");
	else
		snprintf(why, whylen,
			 "%u bad bytes, first at offset %u: got 0x%02x, expected 0x%02x",
			 bad, first, got[first], expect[first]);
}

/* ------------------------------------------------------------------
 * Homa helpers.
 */

static size_t region_bytes(long default_bpages)
{
	return (size_t)(opt.bpages ? opt.bpages : default_bpages) *
	       HOMA_BPAGE_SIZE;
}

/* Open a Homa socket with a receive buffer region of @len bytes. */
static int homa_open(uint8_t **region, size_t len)
{
	struct homa_rcvbuf_args rb;
	int fd;

	fd = socket(opt.v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, IPPROTO_HOMA);
	if (fd < 0) {
		perror("socket(IPPROTO_HOMA)");
		exit(1);
	}
	*region = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (*region == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	rb.start = (uintptr_t)*region;
	rb.length = len;
	if (setsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rb, sizeof(rb))) {
		perror("setsockopt(SO_HOMA_RCVBUF)");
		exit(1);
	}
	return fd;
}

static const char *addr_str(const void *sa, char *buf, size_t len)
{
	const struct sockaddr_in6 *s6 = sa;
	const struct sockaddr_in *s4 = sa;
	char a[INET6_ADDRSTRLEN];

	if (s4->sin_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else if (s6->sin6_family == AF_INET6) {
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, len, "(family %u)", s4->sin_family);
	}
	return buf;
}

/* Print the kernel's view of a socket's RPCs (HOMAIOCINFO). */
static void dump_socket_info(FILE *f, const char *who, int fd)
{
	struct homa_rpc_info infos[128];
	struct homa_info info;
	char a[80];
	uint32_t i, n;

	memset(&info, 0, sizeof(info));
	info.rpc_info = (uintptr_t)infos;
	info.rpc_info_length = sizeof(infos);
	if (ioctl(fd, HOMAIOCINFO, &info) < 0) {
		fprintf(f, "# %s: HOMAIOCINFO: %s\n", who, strerror(errno));
		return;
	}
	fprintf(f, "# %s: port %u, %u rpcs, bpool_avail_bytes %llu, error_msg '%s'\n",
		who, info.port, info.num_rpcs,
		(unsigned long long)info.bpool_avail_bytes, info.error_msg);
	n = info.num_rpcs < 128 ? info.num_rpcs : 128;
	for (i = 0; i < n; i++) {
		struct homa_rpc_info *r = &infos[i];

		fprintf(f, "#   id %llu peer %s tx_length %d tx_sent %u tx_granted %u rx_length %d rx_remaining %u rx_gaps %u rx_gap_bytes %u rx_granted %u flags 0x%x\n",
			(unsigned long long)r->id, addr_str(&r->peer, a, sizeof(a)),
			r->tx_length, r->tx_sent, r->tx_granted, r->rx_length,
			r->rx_remaining, r->rx_gaps, r->rx_gap_bytes,
			r->rx_granted, r->flags);
	}
}

/* ------------------------------------------------------------------
 * Homa server.
 */

static int srv_fd;
static uint8_t *srv_region;
static size_t srv_region_len;
static long srv_served, srv_errors;
static pthread_mutex_t srv_mutex = PTHREAD_MUTEX_INITIALIZER;

/*
 * Tags of the requests served: an open-addressing set of nonzero 64-bit
 * values under srv_mutex, doubled when half full.
 */
static uint64_t *seen;
static size_t seen_size, seen_count;

/* Add @tag; false if it was there already. Caller holds srv_mutex. */
static bool seen_add(uint64_t tag)
{
	size_t i;

	tag = tag ? tag : 1;
	if (2 * (seen_count + 1) > seen_size) {
		size_t old_size = seen_size, j;
		uint64_t *old = seen;

		seen_size = old_size ? 2 * old_size : 4096;
		seen = calloc(seen_size, sizeof(*seen));
		if (!seen) {
			fprintf(stderr, "server: out of memory for request tags\n");
			exit(1);
		}
		for (j = 0; j < old_size; j++) {
			if (!old[j])
				continue;
			for (i = mix64(old[j]) & (seen_size - 1); seen[i];
			     i = (i + 1) & (seen_size - 1))
				;
			seen[i] = old[j];
		}
		free(old);
	}
	for (i = mix64(tag) & (seen_size - 1); seen[i];
	     i = (i + 1) & (seen_size - 1))
		if (seen[i] == tag)
			return false;
	seen[i] = tag;
	seen_count++;
	return true;
}

static void srv_error(const char *fmt, ...);

/*
 * Note the request with tag @tag (see the top of the file); a request
 * seen before is an error.
 */
static void srv_check_once(uint64_t tag, const char *what)
{
	bool fresh;

	pthread_mutex_lock(&srv_mutex);
	fresh = seen_add(tag);
	pthread_mutex_unlock(&srv_mutex);
	if (!fresh)
		srv_error("%s delivered to the server a second time", what);
}

/* A request's tag when it has no key: its client address, port and id. */
static uint64_t addr_tag(const struct sockaddr_storage *a, uint64_t id)
{
	const struct sockaddr_in6 *s6 = (const void *)a;
	const struct sockaddr_in *s4 = (const void *)a;
	uint64_t h = mix64(id);
	uint64_t w[2];

	if (a->ss_family == AF_INET) {
		h = mix64(h ^ s4->sin_addr.s_addr ^ (uint64_t)s4->sin_port << 32);
	} else {
		memcpy(w, &s6->sin6_addr, 16);
		h = mix64(h ^ w[0]);
		h = mix64(h ^ w[1] ^ s6->sin6_port);
	}
	return h | 1ULL << 63;
}

static void srv_error(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&srv_mutex);
	srv_errors++;
	if (srv_errors <= MAX_ERRORS_SHOWN) {
		fprintf(stderr, "server: ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	pthread_mutex_unlock(&srv_mutex);
}

static void *homa_server_thread(void *arg)
{
	struct homa_recvmsg_args ra;
	uint8_t *expect = NULL;
	char why[200];

	(void)arg;
	if (opt.verify)
		expect = malloc(HOMA_MAX_MESSAGE_LENGTH);
	memset(&ra, 0, sizeof(ra));
	for (;;) {
		struct iovec iov[HOMA_MAX_BPAGES];
		struct homa_sendmsg_args sa;
		struct sockaddr_storage from;
		struct msghdr m;
		uint32_t i;
		int len;

		memset(&m, 0, sizeof(m));
		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		m.msg_control = &ra;
		m.msg_controllen = sizeof(ra);
		ra.id = 0;
		len = recvmsg(srv_fd, &m, 0);
		if (len < 0) {
			int err = errno;

			ra.num_bpages = 0;
			if (err == ESHUTDOWN)
				break;
			if (err == EINTR)
				continue;
			srv_error("recvmsg: %s (id %llu)", strerror(err),
				  (unsigned long long)ra.id);
			continue;
		}
		if (!(ra.id & 1)) {
			srv_error("recvmsg returned a response (id %llu, %d bytes)",
				  (unsigned long long)ra.id, len);
			continue;
		}
		if (len >= 8) {
			uint64_t key;

			memcpy(&key, srv_region + ra.bpage_offsets[0], 8);
			snprintf(why, sizeof(why),
				 "request key 0x%llx (id %llu, size %d)",
				 (unsigned long long)key,
				 (unsigned long long)ra.id, len);
			srv_check_once(key & ~(1ULL << 63), why);
		} else {
			char a[80];

			snprintf(why, sizeof(why),
				 "request id %llu from %s (size %d)",
				 (unsigned long long)ra.id,
				 addr_str(&from, a, sizeof(a)), len);
			srv_check_once(addr_tag(&from, ra.id), why);
		}
		if (expect && len >= 8) {
			uint64_t key;

			memcpy(&key, srv_region + ra.bpage_offsets[0], 8);
			fill_pattern(expect, key, len);
			if (!check_message(srv_region, srv_region_len, &ra,
					   len, expect, why, sizeof(why)))
				srv_error("request id %llu (client id %llu) size %d arrived corrupt: %s",
					  (unsigned long long)ra.id,
					  (unsigned long long)(ra.id ^ 1), len,
					  why);
		}
		for (i = 0; i < ra.num_bpages; i++) {
			uint32_t pos = i * HOMA_BPAGE_SIZE;

			iov[i].iov_base = srv_region + ra.bpage_offsets[i];
			iov[i].iov_len = len - pos > HOMA_BPAGE_SIZE ?
					 HOMA_BPAGE_SIZE : len - pos;
		}
		memset(&sa, 0, sizeof(sa));
		sa.id = ra.id;
		m.msg_iov = iov;
		m.msg_iovlen = ra.num_bpages;
		m.msg_control = &sa;
		m.msg_controllen = 0;
		if (sendmsg(srv_fd, &m, 0) < 0) {
			if (errno == ESHUTDOWN)
				break;
			srv_error("sendmsg response id %llu size %d: %s",
				  (unsigned long long)ra.id, len,
				  strerror(errno));
			continue;
		}
		__atomic_add_fetch(&srv_served, 1, __ATOMIC_RELAXED);
	}
	free(expect);
	return NULL;
}

/* ------------------------------------------------------------------
 * TCP server: a thread per connection, length-prefixed echo.
 */

static int tcp_listen_fd;

static int read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 && done == 0 ? 0 : -1;
		done += n;
	}
	return 1;
}

static int write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = write(fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

static void *tcp_conn_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t *buf = malloc(4 + HOMA_MAX_MESSAGE_LENGTH);
	uint8_t *expect = opt.verify ? malloc(HOMA_MAX_MESSAGE_LENGTH) : NULL;
	char why[200];

	for (;;) {
		uint32_t len;
		int r;

		r = read_full(fd, buf, 4);
		if (r == 0)
			break;
		if (r < 0) {
			srv_error("tcp read: %s", strerror(errno));
			break;
		}
		memcpy(&len, buf, 4);
		len = ntohl(len);
		if (len == 0 || len > HOMA_MAX_MESSAGE_LENGTH) {
			srv_error("tcp: bad length %u", len);
			break;
		}
		if (read_full(fd, buf + 4, len) != 1) {
			srv_error("tcp read payload: %s", strerror(errno));
			break;
		}
		if (expect && len >= 8) {
			uint64_t key;

			memcpy(&key, buf + 4, 8);
			fill_pattern(expect, key, len);
			if (memcmp(buf + 4, expect, len)) {
				describe_diff(buf + 4, expect, len, why,
					      sizeof(why));
				srv_error("tcp request size %u corrupt: %s",
					  len, why);
			}
		}
		if (write_full(fd, buf, 4 + len)) {
			srv_error("tcp write: %s", strerror(errno));
			break;
		}
		__atomic_add_fetch(&srv_served, 1, __ATOMIC_RELAXED);
	}
	close(fd);
	free(buf);
	free(expect);
	return NULL;
}

static void *tcp_accept_thread(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_t t;
		int one = 1;
		int fd = accept(tcp_listen_fd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&t, NULL, tcp_conn_thread,
				   (void *)(intptr_t)fd)) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

/* ------------------------------------------------------------------
 * UDP server: every datagram goes back to its sender as it came.
 */

static int udp_fd;

static void *udp_server_thread(void *arg)
{
	uint8_t *buf = malloc(UDP_MAX_MESSAGE + 1);
	uint8_t *expect = opt.verify ? malloc(UDP_MAX_MESSAGE) : NULL;
	struct sockaddr_storage from;
	socklen_t fromlen;
	char why[200];
	uint64_t key;
	ssize_t len;

	(void)arg;
	for (;;) {
		fromlen = sizeof(from);
		len = recvfrom(udp_fd, buf, UDP_MAX_MESSAGE + 1, 0,
			       (struct sockaddr *)&from, &fromlen);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			break;	/* shutdown() at exit */
		}
		if (len == 0)
			break;
		if (expect && len >= 8) {
			memcpy(&key, buf, 8);
			fill_pattern(expect, key, len);
			if (memcmp(buf, expect, len)) {
				describe_diff(buf, expect, len, why,
					      sizeof(why));
				srv_error("udp request size %zd corrupt: %s",
					  len, why);
			}
		}
		if (sendto(udp_fd, buf, len, 0, (struct sockaddr *)&from,
			   fromlen) != len)
			srv_error("udp sendto: %s", strerror(errno));
		__atomic_add_fetch(&srv_served, 1, __ATOMIC_RELAXED);
	}
	free(buf);
	free(expect);
	return NULL;
}

static int run_server(void)
{
	pthread_t *threads = calloc(opt.threads, sizeof(*threads));
	pthread_t acceptor;
	sigset_t sigs;
	int i, sig;

	/* Only the main thread takes these signals (sigwait below). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (opt.tcp) {
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
					   .sin6_addr = IN6ADDR_ANY_INIT };
		struct sockaddr_in a4 = { .sin_family = AF_INET };
		int one = 1;

		a6.sin6_port = htons(opt.port);
		a4.sin_port = htons(opt.port);
		tcp_listen_fd = socket(opt.v6 ? AF_INET6 : AF_INET,
				       SOCK_STREAM, 0);
		setsockopt(tcp_listen_fd, SOL_SOCKET, SO_REUSEADDR, &one,
			   sizeof(one));
		if (tcp_listen_fd < 0 ||
		    bind(tcp_listen_fd, opt.v6 ? (struct sockaddr *)&a6 :
			 (struct sockaddr *)&a4,
			 opt.v6 ? sizeof(a6) : sizeof(a4)) ||
		    listen(tcp_listen_fd, 1024)) {
			perror("server: tcp socket");
			return 1;
		}
		pthread_create(&acceptor, NULL, tcp_accept_thread, NULL);
	} else if (opt.udp) {
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
					   .sin6_addr = IN6ADDR_ANY_INIT };
		struct sockaddr_in a4 = { .sin_family = AF_INET };

		a6.sin6_port = htons(opt.port);
		a4.sin_port = htons(opt.port);
		udp_fd = socket(opt.v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
		if (udp_fd < 0 ||
		    bind(udp_fd, opt.v6 ? (struct sockaddr *)&a6 :
			 (struct sockaddr *)&a4,
			 opt.v6 ? sizeof(a6) : sizeof(a4))) {
			perror("server: udp socket");
			return 1;
		}
		for (i = 0; i < opt.threads; i++)
			pthread_create(&threads[i], NULL, udp_server_thread,
				       NULL);
	} else {
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
		struct sockaddr_in a4 = { .sin_family = AF_INET };

		a6.sin6_port = htons(opt.port);
		a4.sin_port = htons(opt.port);
		srv_region_len = region_bytes(opt.threads * HOMA_MAX_BPAGES +
					      1000);
		srv_fd = homa_open(&srv_region, srv_region_len);
		if (bind(srv_fd, opt.v6 ? (struct sockaddr *)&a6 :
			 (struct sockaddr *)&a4,
			 opt.v6 ? sizeof(a6) : sizeof(a4))) {
			perror("server: bind");
			return 1;
		}
		for (i = 0; i < opt.threads; i++)
			pthread_create(&threads[i], NULL, homa_server_thread,
				       NULL);
	}
	printf("server: ready on %s port %d (%s, %d threads)\n",
	       proto_name(), opt.port, opt.v6 ? "IPv6" : "IPv4",
	       opt.tcp ? 0 : opt.threads);
	fflush(stdout);

	for (;;) {
		if (sigwait(&sigs, &sig))
			continue;
		if (sig != SIGUSR1)
			break;
		if (!opt.tcp && !opt.udp)
			dump_socket_info(stderr, "server", srv_fd);
		fprintf(stderr, "# server: %ld requests served so far\n",
			__atomic_load_n(&srv_served, __ATOMIC_RELAXED));
	}

	if (opt.tcp) {
		/* Connection threads end when their clients close. */
		shutdown(tcp_listen_fd, SHUT_RDWR);
		close(tcp_listen_fd);
	} else if (opt.udp) {
		/* Wakes the threads blocked in recvfrom (it returns 0). */
		shutdown(udp_fd, SHUT_RDWR);
		for (i = 0; i < opt.threads; i++)
			pthread_join(threads[i], NULL);
		close(udp_fd);
	} else {
		shutdown(srv_fd, SHUT_RDWR);
		for (i = 0; i < opt.threads; i++)
			pthread_join(threads[i], NULL);
		close(srv_fd);
	}
	pthread_mutex_lock(&srv_mutex);
	printf("server: %ld requests served, %ld errors\n", srv_served,
	       srv_errors);
	pthread_mutex_unlock(&srv_mutex);
	free(threads);
	return srv_errors ? 1 : 0;
}

/* ------------------------------------------------------------------
 * Client.
 */

struct slot {
	uint64_t id;		/* 0: free */
	uint64_t key;
	uint32_t size;
	bool priv;
	long seq;		/* send order, to find the oldest */
	double start;
};

struct cthread {
	int idx;
	pthread_t thread;
	int fd;
	uint8_t *region;
	size_t region_len;
	long count;		/* RPCs this thread runs */
	long ok, failed, sent;
	int errors_shown;
	long errnos[256];	/* failures by errno (0: not an errno) */
	struct slot *slots;
	uint8_t *sendbuf;
	uint8_t *expect;
	double *rtts;		/* --rtt: one per measured RPC */
	volatile int finished;
};

static struct cthread *cthreads;
static pthread_mutex_t out_mutex = PTHREAD_MUTEX_INITIALIZER;

static void rpc_fail(struct cthread *ct, uint64_t id, uint32_t size, int err,
		     const char *fmt, ...)
{
	va_list ap;

	ct->failed++;
	ct->errnos[err > 0 && err < 256 ? err : 0]++;
	if (++ct->errors_shown > MAX_ERRORS_SHOWN)
		return;
	pthread_mutex_lock(&out_mutex);
	fprintf(stderr, "client: thread %d RPC id %llu size %u errno %d (%s): ",
		ct->idx, (unsigned long long)id, size, err,
		err ? strerror(err) : "-");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&out_mutex);
}

static uint64_t make_key(struct cthread *ct, long n)
{
	return mix64(((uint64_t)getpid() << 48) ^ ((uint64_t)ct->idx << 40) ^
		     (uint64_t)n);
}

static uint32_t pick_size(struct cthread *ct, long n)
{
	if (opt.rtt)
		return opt.sizes[0];
	return opt.sizes[(n + ct->idx) % opt.nsizes];
}

static bool same_addr(const struct sockaddr_storage *a, socklen_t alen)
{
	const struct sockaddr_storage *s = &server_addr;

	if (s->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a;
		const struct sockaddr_in *y = (const void *)s;

		return alen >= sizeof(*x) && x->sin_family == AF_INET &&
		       x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	} else {
		const struct sockaddr_in6 *x = (const void *)a;
		const struct sockaddr_in6 *y = (const void *)s;

		return alen >= sizeof(*x) && x->sin6_family == AF_INET6 &&
		       x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
	}
}

/* Send request number @n in @slot; returns false if sendmsg failed. */
static bool homa_send_one(struct cthread *ct, struct slot *slot, long n)
{
	struct homa_sendmsg_args sa;
	struct msghdr m;
	struct iovec iov;

	slot->size = pick_size(ct, n);
	slot->key = make_key(ct, n);
	slot->seq = n;
	slot->priv = opt.priv == PRIV_ALL ||
		     (opt.priv == PRIV_MIXED && (n & 1));
	fill_pattern(ct->sendbuf, slot->key, slot->size);
	memset(&sa, 0, sizeof(sa));
	sa.completion_cookie = slot->key;
	sa.flags = slot->priv ? HOMA_SENDMSG_PRIVATE : 0;
	memset(&m, 0, sizeof(m));
	m.msg_name = &server_addr;
	m.msg_namelen = server_addr_len;
	iov.iov_base = ct->sendbuf;
	iov.iov_len = slot->size;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = &sa;
	m.msg_controllen = 0;
	slot->start = now_us();
	if (sendmsg(ct->fd, &m, 0) < 0) {
		rpc_fail(ct, 0, slot->size, errno, "sendmsg failed");
		slot->id = 0;
		return false;
	}
	if (sa.id == 0 || (sa.id & 1)) {
		rpc_fail(ct, sa.id, slot->size, 0,
			 "sendmsg returned a bad id");
		slot->id = 0;
		return false;
	}
	slot->id = sa.id;
	ct->sent++;
	return true;
}

static void *homa_client_thread(void *arg)
{
	struct cthread *ct = arg;
	int conc = opt.rtt ? 1 : opt.concurrent;
	struct homa_recvmsg_args ra;
	long next = 0, done = 0;
	int outstanding = 0;
	char why[300];

	memset(&ra, 0, sizeof(ra));
	while (done < ct->count) {
		struct sockaddr_storage from;
		struct slot *slot, *oldest = NULL;
		bool any_public = false;
		struct msghdr m;
		uint64_t want;
		double end;
		int i, len;

		for (i = 0; i < conc && next < ct->count; i++) {
			if (ct->slots[i].id)
				continue;
			if (homa_send_one(ct, &ct->slots[i], next))
				outstanding++;
			else
				done++;
			next++;
		}
		if (!outstanding)
			continue;
		for (i = 0; i < conc; i++) {
			slot = &ct->slots[i];
			if (!slot->id)
				continue;
			if (!slot->priv)
				any_public = true;
			else if (!oldest || slot->seq < oldest->seq)
				oldest = slot;
		}
		want = any_public ? 0 : oldest->id;
		ra.id = want;
		memset(&m, 0, sizeof(m));
		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		m.msg_control = &ra;
		m.msg_controllen = sizeof(ra);
		len = recvmsg(ct->fd, &m, 0);
		end = now_us();
		if (len < 0 && ra.id == 0) {
			int err = errno;

			ra.num_bpages = 0;
			if (err == EINTR)
				continue;
			pthread_mutex_lock(&out_mutex);
			fprintf(stderr, "client: thread %d: recvmsg failed without an RPC id: %s\n",
				ct->idx, strerror(err));
			pthread_mutex_unlock(&out_mutex);
			break;
		}
		slot = NULL;
		for (i = 0; i < conc; i++) {
			if (ct->slots[i].id && ct->slots[i].id == ra.id)
				slot = &ct->slots[i];
		}
		if (!slot) {
			rpc_fail(ct, ra.id, 0, len < 0 ? errno : 0,
				 "recvmsg returned an id this thread has no RPC for (length %d)",
				 len);
			ra.num_bpages = len < 0 ? 0 : ra.num_bpages;
			continue;
		}
		if (len < 0) {
			rpc_fail(ct, slot->id, slot->size, errno,
				 "RPC failed %.0f ms after it was sent",
				 (end - slot->start) / 1000);
			ra.num_bpages = 0;
		} else if (slot->priv && any_public) {
			rpc_fail(ct, slot->id, slot->size, 0,
				 "private response returned to a recvmsg for id 0");
		} else if (want && ra.id != want) {
			rpc_fail(ct, slot->id, slot->size, 0,
				 "recvmsg for id %llu returned this RPC",
				 (unsigned long long)want);
		} else if ((uint32_t)len != slot->size) {
			rpc_fail(ct, slot->id, slot->size, 0,
				 "response length %d", len);
		} else if (ra.completion_cookie != slot->key) {
			rpc_fail(ct, slot->id, slot->size, 0,
				 "completion_cookie 0x%llx, expected 0x%llx",
				 (unsigned long long)ra.completion_cookie,
				 (unsigned long long)slot->key);
		} else if (!same_addr(&from, m.msg_namelen)) {
			char a[80];

			rpc_fail(ct, slot->id, slot->size, 0,
				 "msg_name %s (namelen %u) is not the server",
				 addr_str(&from, a, sizeof(a)), m.msg_namelen);
		} else {
			fill_pattern(ct->expect, slot->key, slot->size);
			if (check_message(ct->region, ct->region_len, &ra,
					  len, ct->expect, why, sizeof(why))) {
				if (ct->rtts && slot->seq >= RTT_WARMUP)
					ct->rtts[slot->seq - RTT_WARMUP] =
						end - slot->start;
				ct->ok++;
			} else {
				rpc_fail(ct, slot->id, slot->size, 0,
					 "response corrupt: %s", why);
			}
		}
		slot->id = 0;
		outstanding--;
		done++;
	}
	/* Hand the last bpages back; nothing else can be pending. */
	if (ra.num_bpages) {
		struct msghdr m;

		memset(&m, 0, sizeof(m));
		ra.id = 0;
		m.msg_control = &ra;
		m.msg_controllen = sizeof(ra);
		if (recvmsg(ct->fd, &m, MSG_DONTWAIT) >= 0 || errno != EAGAIN)
			rpc_fail(ct, ra.id, 0, errno,
				 "final recvmsg(MSG_DONTWAIT) did not fail with EAGAIN");
	}
	ct->finished = 1;
	return NULL;
}

static void *tcp_client_thread(void *arg)
{
	struct cthread *ct = arg;
	int conc = opt.rtt ? 1 : opt.concurrent;
	struct pollfd *pfds = calloc(conc, sizeof(*pfds));
	long next = 0, done = 0;
	int i, outstanding = 0;
	char why[300];

	for (i = 0; i < conc; i++) {
		int one = 1;

		pfds[i].fd = socket(server_addr.ss_family, SOCK_STREAM, 0);
		pfds[i].events = POLLIN;
		if (pfds[i].fd < 0 ||
		    connect(pfds[i].fd, (struct sockaddr *)&server_addr,
			    server_addr_len)) {
			rpc_fail(ct, 0, 0, errno, "tcp connect");
			ct->failed = ct->count;
			goto out;
		}
		setsockopt(pfds[i].fd, IPPROTO_TCP, TCP_NODELAY, &one,
			   sizeof(one));
	}
	while (done < ct->count) {
		for (i = 0; i < conc && next < ct->count; i++) {
			struct slot *slot = &ct->slots[i];
			uint32_t nlen;

			if (slot->id)
				continue;
			slot->size = pick_size(ct, next);
			slot->key = make_key(ct, next);
			slot->seq = next;
			slot->id = next + 1;
			nlen = htonl(slot->size);
			memcpy(ct->sendbuf, &nlen, 4);
			fill_pattern(ct->sendbuf + 4, slot->key, slot->size);
			slot->start = now_us();
			next++;
			if (write_full(pfds[i].fd, ct->sendbuf,
				       4 + slot->size)) {
				rpc_fail(ct, slot->id, slot->size, errno,
					 "tcp write");
				slot->id = 0;
				done++;
				continue;
			}
			outstanding++;
		}
		if (!outstanding)
			continue;
		if (poll(pfds, conc, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < conc; i++) {
			struct slot *slot = &ct->slots[i];
			uint32_t nlen;
			double end;

			if (!(pfds[i].revents & (POLLIN | POLLERR | POLLHUP)) ||
			    !slot->id)
				continue;
			if (read_full(pfds[i].fd, &nlen, 4) != 1 ||
			    ntohl(nlen) != slot->size ||
			    read_full(pfds[i].fd, ct->sendbuf,
				      slot->size) != 1) {
				rpc_fail(ct, slot->id, slot->size, errno,
					 "tcp response read failed or wrong length");
				ct->failed += ct->count - done - 1;
				goto out;
			}
			end = now_us();
			fill_pattern(ct->expect, slot->key, slot->size);
			if (memcmp(ct->sendbuf, ct->expect, slot->size)) {
				describe_diff(ct->sendbuf, ct->expect,
					      slot->size, why, sizeof(why));
				rpc_fail(ct, slot->id, slot->size, 0,
					 "tcp response corrupt: %s", why);
			} else {
				if (ct->rtts && slot->seq >= RTT_WARMUP)
					ct->rtts[slot->seq - RTT_WARMUP] =
						end - slot->start;
				ct->ok++;
			}
			slot->id = 0;
			outstanding--;
			done++;
		}
	}
out:
	for (i = 0; i < conc; i++)
		if (pfds[i].fd > 0)
			close(pfds[i].fd);
	free(pfds);
	ct->finished = 1;
	return NULL;
}

/*
 * UDP client: one request at a time on a connected socket; a response
 * that is not back within UDP_WAIT_MS is counted as a failed RPC (UDP
 * does not retransmit), and a late one that arrives afterwards is skipped
 * by its key.
 */
static void *udp_client_thread(void *arg)
{
	struct timeval wait = { .tv_sec = UDP_WAIT_MS / 1000,
				.tv_usec = UDP_WAIT_MS % 1000 * 1000 };
	struct cthread *ct = arg;
	struct slot *slot = &ct->slots[0];
	double end, deadline;
	uint64_t key;
	char why[300];
	ssize_t n;
	long next;
	int fd;

	fd = socket(server_addr.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&server_addr,
			      server_addr_len) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait))) {
		rpc_fail(ct, 0, 0, errno, "udp socket");
		ct->failed = ct->count;
		goto out;
	}
	for (next = 0; next < ct->count; next++) {
		slot->size = pick_size(ct, next);
		slot->key = make_key(ct, next);
		slot->seq = next;
		slot->id = next + 1;
		fill_pattern(ct->sendbuf, slot->key, slot->size);
		slot->start = now_us();
		deadline = slot->start + UDP_WAIT_MS * 1e3;
		ct->sent++;
		if (send(fd, ct->sendbuf, slot->size, 0) != slot->size) {
			rpc_fail(ct, slot->id, slot->size, errno, "udp send");
			continue;
		}
		for (;;) {
			n = recv(fd, ct->expect, UDP_MAX_MESSAGE, 0);
			end = now_us();
			if (n < 0 && errno == EINTR && end < deadline)
				continue;
			if (n < 0) {
				rpc_fail(ct, slot->id, slot->size, errno,
					 errno == EAGAIN ?
					 "udp response not back within %d ms" :
					 "udp recv", UDP_WAIT_MS);
				break;
			}
			/* A response given up on earlier: skip it. */
			if (n >= 8 && slot->size >= 8) {
				memcpy(&key, ct->expect, 8);
				if (key != slot->key && end < deadline)
					continue;
			}
			if (n != slot->size ||
			    memcmp(ct->expect, ct->sendbuf, n)) {
				describe_diff(ct->expect, ct->sendbuf,
					      n < slot->size ? n : slot->size,
					      why, sizeof(why));
				rpc_fail(ct, slot->id, slot->size, 0,
					 "udp response of %zd bytes: %s", n,
					 why);
				break;
			}
			if (ct->rtts && slot->seq >= RTT_WARMUP)
				ct->rtts[slot->seq - RTT_WARMUP] =
					end - slot->start;
			ct->ok++;
			break;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	slot->id = 0;
	ct->finished = 1;
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* After --timeout: say what every thread is still waiting for. */
static void report_stall(double secs)
{
	double t = now_us();
	int i, j;

	fprintf(stderr, "client: no RPC completed for %d s or --timeout %d s passed (after %.0f s); outstanding RPCs:\n",
		opt.stall, opt.timeout, secs);
	for (i = 0; i < opt.threads; i++) {
		struct cthread *ct = &cthreads[i];
		int conc = opt.rtt ? 1 : opt.concurrent;
		char who[40];

		if (ct->finished)
			continue;
		fprintf(stderr, "# thread %d: %ld ok, %ld failed, %ld of %ld sent\n",
			i, ct->ok, ct->failed, ct->sent, ct->count);
		for (j = 0; j < conc; j++) {
			struct slot *s = &ct->slots[j];

			if (s->id)
				fprintf(stderr, "#   waiting: id %llu size %u%s, sent %.0f ms ago\n",
					(unsigned long long)s->id, s->size,
					s->priv ? " private" : "",
					(t - s->start) / 1000);
		}
		if (!opt.tcp && !opt.udp) {
			snprintf(who, sizeof(who), "client thread %d", i);
			dump_socket_info(stderr, who, ct->fd);
		}
	}
}

/*
 * Print how many RPCs failed with each errno ("client: failures errno 110
 * (Connection timed out): N"); errno 0 counts the other failures (wrong
 * data, wrong length...).
 */
static void print_errnos(void)
{
	long n;
	int e, i;

	for (e = 0; e < 256; e++) {
		n = 0;
		for (i = 0; i < opt.threads; i++)
			n += cthreads[i].errnos[e];
		if (n)
			printf("client: failures errno %d (%s): %ld\n", e,
			       e ? strerror(e) : "not an error return", n);
	}
}

static int run_client(void)
{
	long total_ok = 0, total_failed = 0, count, measured = 0;
	int conc = opt.rtt ? 1 : opt.concurrent;
	double start, deadline, secs, last_change;
	long last_progress = -1;
	bool stalled = false;
	uint64_t bytes = 0;
	int i;

	if (opt.rtt) {
		opt.threads = 1;
		opt.count = opt.rtt + RTT_WARMUP;
	}
	count = opt.count;
	cthreads = calloc(opt.threads, sizeof(*cthreads));
	for (i = 0; i < opt.threads; i++) {
		struct cthread *ct = &cthreads[i];

		ct->idx = i;
		ct->count = count / opt.threads + (i < count % opt.threads);
		ct->slots = calloc(conc, sizeof(*ct->slots));
		ct->sendbuf = malloc(4 + HOMA_MAX_MESSAGE_LENGTH);
		ct->expect = malloc(HOMA_MAX_MESSAGE_LENGTH);
		if (opt.rtt)
			ct->rtts = calloc(opt.rtt, sizeof(double));
		if (!opt.tcp && !opt.udp) {
			ct->region_len = region_bytes((long)conc *
						      HOMA_MAX_BPAGES + 16);
			ct->fd = homa_open(&ct->region, ct->region_len);
		}
	}
	start = now_us();
	last_change = start;
	for (i = 0; i < opt.threads; i++)
		pthread_create(&cthreads[i].thread, NULL,
			       opt.tcp ? tcp_client_thread :
			       opt.udp ? udp_client_thread : homa_client_thread,
			       &cthreads[i]);
	deadline = start + opt.timeout * 1e6;
	for (;;) {
		long progress = 0, finished = 0;
		double t = now_us();

		for (i = 0; i < opt.threads; i++) {
			progress += cthreads[i].ok + cthreads[i].failed;
			finished += cthreads[i].finished;
		}
		if (finished == opt.threads)
			break;
		if (progress != last_progress) {
			last_progress = progress;
			last_change = t;
		}
		if (t > deadline || t - last_change > opt.stall * 1e6) {
			stalled = true;
			break;
		}
		usleep(2000);
	}
	if (!stalled)
		for (i = 0; i < opt.threads; i++)
			pthread_join(cthreads[i].thread, NULL);
	secs = (now_us() - start) / 1e6;
	if (stalled) {
		report_stall(secs);
		for (i = 0; i < opt.threads; i++) {
			struct cthread *ct = &cthreads[i];

			total_ok += ct->ok;
			total_failed += ct->count - ct->ok;
		}
		print_errnos();
		printf("client: %ld rpcs ok, %ld failed (gave up after %.0f s)\n",
		       total_ok, total_failed, secs);
		fflush(stdout);
		_exit(1);
	}
	for (i = 0; i < opt.threads; i++) {
		struct cthread *ct = &cthreads[i];

		total_ok += ct->ok;
		total_failed += ct->count - ct->ok;
		if (!opt.tcp && !opt.udp)
			close(ct->fd);
	}
	for (i = 0; i < opt.nsizes; i++)
		bytes += opt.sizes[i];
	if (opt.rtt) {
		double *r = cthreads[0].rtts, sum = 0;

		measured = cthreads[0].ok - RTT_WARMUP;
		if (measured > 0 && !total_failed) {
			qsort(r, opt.rtt, sizeof(double), cmp_double);
			for (i = 0; i < opt.rtt; i++)
				sum += r[i];
			printf("rtt %s %s size %u: n %ld p50 %.1f p99 %.1f min %.1f mean %.1f usec\n",
			       proto_name(),
			       opt.v6 ? "IPv6" : "IPv4", opt.sizes[0],
			       opt.rtt, r[opt.rtt / 2],
			       r[(long)(opt.rtt * 0.99) < opt.rtt ?
				 (long)(opt.rtt * 0.99) : opt.rtt - 1],
			       r[0], sum / opt.rtt);
		}
	} else {
		/* Sizes cycle, so the volume is about count/nsizes * sum. */
		printf("client: %.2f s, about %.1f MB each way\n", secs,
		       (double)bytes / opt.nsizes * count / 1e6);
	}
	print_errnos();
	printf("client: %ld rpcs ok, %ld failed\n", total_ok, total_failed);
	return total_failed ? 1 : 0;
}

/* ------------------------------------------------------------------
 * Command line.
 */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: homa_echo server [--port P] [--threads N] [-6] [--tcp | --udp]\n"
"                        [--bpages N] [--no-verify]\n"
"       homa_echo client --server ADDR [--port P] [-6] [--tcp | --udp]\n"
"                        [--sizes S1,S2,...] [--threads N] [--concurrent N]\n"
"                        [--count N] [--private | --mixed] [--rtt N]\n"
"                        [--timeout S] [--stall S] [--bpages N]\n"
"\n"
"Echo server and checking client for Homa (IPPROTO_HOMA) and, with --tcp,\n"
"the same length-prefixed echo over TCP (TCP_NODELAY), or with --udp over\n"
"UDP: one datagram each way (at most %d bytes), one request in flight per\n"
"thread, no retransmission (a response not back within %d ms is a failed\n"
"RPC); the UDP ping-pong is the floor for Homa's and TCP's round trips.\n"
"\n"
"server: one socket bound to --port (default %d), --threads threads\n"
"  (default 2) each receiving a request and sending it back from the\n"
"  receive buffer; bpages go back with the thread's next recvmsg.  Checks\n"
"  each request of 8 bytes or more (--no-verify: don't).  Prints\n"
"  'server: ready ...' when it serves; SIGTERM/SIGINT: shut the socket down,\n"
"  print 'server: N requests served, N errors', exit 1 if any error.\n"
"  SIGUSR1: print the socket's RPCs (HOMAIOCINFO) to stderr.\n"
"\n"
"client: --threads sockets (default 4), each keeping --concurrent RPCs in\n"
"  flight (default 50), --count RPCs in all (default 200), sizes cycling\n"
"  through --sizes (default %s).\n"
"  Every byte of every response is checked; each failure is printed with\n"
"  its RPC id, size and errno.  Prints 'client: N rpcs ok, N failed'; exit 1\n"
"  on any failure.\n"
"  --private   send every request with HOMA_SENDMSG_PRIVATE and receive\n"
"              the responses by id, oldest first\n"
"  --mixed     every other request private; a private response returned to\n"
"              a recvmsg for id 0 is a failure\n"
"  --rtt N     closed loop: one thread, one RPC at a time, the first size of\n"
"              --sizes (default 100), %d warm-up RPCs then N measured;\n"
"              prints 'rtt homa|tcp|udp IPv4|IPv6 size S: n N p50 X p99 Y min Z\n"
"              mean M usec'\n"
"  --timeout S give up after S seconds (default 600), or --stall S\n"
"              seconds (default 30) after the last RPC completed, printing\n"
"              what every socket still waits for (and HOMAIOCINFO); exit 1\n"
"  --bpages N  receive buffer region of N bpages (default: enough for\n"
"              --concurrent largest messages; smaller provokes buffer stalls)\n"
"  -6          IPv6 sockets (ADDR must then be an IPv6 address)\n",
		UDP_MAX_MESSAGE, UDP_WAIT_MS, DEFAULT_PORT, DEFAULT_SIZES,
		RTT_WARMUP);
}

static int parse_sizes(const char *s)
{
	char *copy = strdup(s), *tok, *save = NULL;

	opt.nsizes = 0;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		long v = strtol(tok, NULL, 0);

		if (v < 1 || v > HOMA_MAX_MESSAGE_LENGTH ||
		    opt.nsizes == MAX_SIZES) {
			fprintf(stderr, "homa_echo: bad size '%s'\n", tok);
			free(copy);
			return -1;
		}
		opt.sizes[opt.nsizes++] = v;
	}
	free(copy);
	return opt.nsizes ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "server", required_argument, NULL, 's' },
		{ "sizes", required_argument, NULL, 'S' },
		{ "concurrent", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "private", no_argument, NULL, 'P' },
		{ "mixed", no_argument, NULL, 'M' },
		{ "rtt", required_argument, NULL, 'r' },
		{ "tcp", no_argument, NULL, 'T' },
		{ "udp", no_argument, NULL, 'U' },
		{ "timeout", required_argument, NULL, 'o' },
		{ "stall", required_argument, NULL, 'x' },
		{ "bpages", required_argument, NULL, 'b' },
		{ "no-verify", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool sizes_given = false;
	int c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "server")) {
		opt.server = true;
		opt.threads = 2;
	} else if (!strcmp(argv[1], "client")) {
		opt.threads = 4;
		opt.concurrent = 50;
		opt.count = 200;
	} else {
		fprintf(stderr, "homa_echo: first argument must be 'server' or 'client'\n");
		usage(stderr);
		return 2;
	}
	parse_sizes(DEFAULT_SIZES);
	optind = 2;
	while ((c = getopt_long(argc, argv, "6h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': opt.port = atoi(optarg); break;
		case 't': opt.threads = atoi(optarg); break;
		case 's': opt.addr = optarg; break;
		case 'S':
			if (parse_sizes(optarg))
				return 2;
			sizes_given = true;
			break;
		case 'c': opt.concurrent = atoi(optarg); break;
		case 'n': opt.count = atol(optarg); break;
		case 'P': opt.priv = PRIV_ALL; break;
		case 'M': opt.priv = PRIV_MIXED; break;
		case 'r': opt.rtt = atol(optarg); break;
		case 'T': opt.tcp = true; break;
		case 'U': opt.udp = true; break;
		case 'o': opt.timeout = atoi(optarg); break;
		case 'x': opt.stall = atoi(optarg); break;
		case 'b': opt.bpages = atol(optarg); break;
		case 'V': opt.verify = false; break;
		case '6': opt.v6 = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || opt.port < 1 || opt.port > 65535 ||
	    opt.threads < 1 || (!opt.server && (opt.concurrent < 1 ||
	    opt.count < 1 || opt.rtt < 0 || opt.timeout < 1 ||
	    opt.stall < 1)) ||
	    opt.bpages < 0 || (opt.tcp && opt.udp)) {
		fprintf(stderr, "homa_echo: bad arguments\n");
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (opt.server)
		return run_server();

	if (!opt.addr) {
		fprintf(stderr, "homa_echo client: --server ADDR is required\n");
		return 2;
	}
	if (opt.rtt && !sizes_given)
		opt.sizes[0] = 100;
	if (opt.rtt)
		opt.nsizes = 1;		/* only the first size is used */
	if (opt.udp) {
		for (c = 0; c < opt.nsizes; c++) {
			if (opt.sizes[c] > UDP_MAX_MESSAGE) {
				fprintf(stderr, "homa_echo: --udp: size %u is above %d\n",
					opt.sizes[c], UDP_MAX_MESSAGE);
				return 2;
			}
		}
		opt.concurrent = 1;
	}
	memset(&server_addr, 0, sizeof(server_addr));
	if (opt.v6) {
		struct sockaddr_in6 *a = (void *)&server_addr;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(opt.port);
		if (inet_pton(AF_INET6, opt.addr, &a->sin6_addr) != 1) {
			fprintf(stderr, "homa_echo: bad IPv6 address '%s'\n",
				opt.addr);
			return 2;
		}
		server_addr_len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)&server_addr;

		a->sin_family = AF_INET;
		a->sin_port = htons(opt.port);
		if (inet_pton(AF_INET, opt.addr, &a->sin_addr) != 1) {
			fprintf(stderr, "homa_echo: bad IPv4 address '%s'\n",
				opt.addr);
			return 2;
		}
		server_addr_len = sizeof(*a);
	}
	return run_client();
}
