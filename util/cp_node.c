// SPDX-License-Identifier: GPL-2.0
/*
 * cp_node: a workload generator for Homa and, for comparison, TCP.  One
 * process is either a server (answers requests on --ports ports with
 * --threads threads each) or a client (sends requests to every port of
 * every --servers host, with sizes drawn from a workload, open loop at a
 * Poisson rate or closed loop with a fixed number in flight).  It prints a
 * progress line per --interval, a summary line at the end and, on request,
 * one record per completed RPC or per-size RTT histograms.
 *
 * Every message starts with an 8-byte header (little-endian):
 *   bytes 0-3  length of this message in bytes, header included
 *   bytes 4-7  requests: length of the response wanted; responses: 0
 * so the smallest message is 8 bytes.  Over Homa the header is redundant
 * with the message length and is checked; over TCP it is the framing.
 * Responses are as long as their request, or 100 bytes with --one-way
 * (the convention of the Homa paper's benchmarks, see
 * /work/shared/docs/WORKLOADS.md).
 *
 * The output formats (progress, summary, records, histograms) are
 * documented in man/cp_node.1; cperf parses them, so change both together.
 *
 * Build: make -C util.  Exit status: 0 success, 1 any RPC failed or stalled
 * or a fatal error, 2 usage error.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
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
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../uapi/linux/homa.h"

#define CP_HDR_LEN		8
#define ONE_WAY_RESP		100
#define DEFAULT_PORT		4000
#define DEFAULT_MAX_OUT		200
#define TCP_MAX_MESSAGE		100000000
#define MAX_ERRORS_SHOWN	100
#define MAX_ERRNO		256
#define REC_BUF_LEN		65536
#define SCRATCH_LEN		(256 * 1024)
#define MAX_TARGETS		4096

/* ------------------------------------------------------------------
 * Options.
 */

enum proto { PROTO_HOMA, PROTO_TCP };

static struct {
	bool server;
	enum proto proto;
	bool ipv6;
	int port;
	int ports;
	int threads;
	double time_s;		/* 0: no time limit */
	double interval_s;	/* 0: no progress lines */
	double drain_s;
	long bpages;		/* 0: default */
	long max_message;
	/* Client only. */
	const char *servers;
	const char *workload;
	const char *workload_file;
	double gbps;		/* > 0: open loop */
	int outstanding;	/* closed loop: RPCs in flight (total) */
	int max_outstanding;	/* open loop: cap (total) */
	bool one_way;
	long rpcs;		/* 0: no limit */
	const char *records;
	const char *histogram;
	uint64_t seed;
	bool seed_given;
} opt = {
	.port = DEFAULT_PORT,
	.ports = 1,
	.threads = 1,
	.interval_s = 1,
	.drain_s = 10,
	.max_message = HOMA_MAX_MESSAGE_LENGTH,
	.workload = "100",
};

static const char *proto_name(void)
{
	return opt.proto == PROTO_HOMA ? "homa" : "tcp";
}

/* ------------------------------------------------------------------
 * Small utilities.
 */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static struct timespec ns_to_ts(uint64_t ns)
{
	struct timespec ts;

	ts.tv_sec = ns / 1000000000ULL;
	ts.tv_nsec = ns % 1000000000ULL;
	return ts;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Counters are written by one thread and read by the progress printer. */
#define BUMP(field, n) \
	__atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)
#define PEEK(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* xoshiro256** seeded through splitmix64: one generator per thread. */
struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1). */
static double rng_double(struct rng *r)
{
	return (rng_next(r) >> 11) * 0x1.0p-53;
}

/* ------------------------------------------------------------------
 * Error reporting: every error is counted; the first MAX_ERRORS_SHOWN
 * are printed to stderr.
 */

static pthread_mutex_t out_mutex = PTHREAD_MUTEX_INITIALIZER;
static long errors_shown;
static uint64_t errno_counts[MAX_ERRNO + 1];	/* [MAX_ERRNO]: others */

static const char *errno_name(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "E?";
}

static void fatal(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cp_node: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Print one error line (if fewer than MAX_ERRORS_SHOWN were printed). */
static void report(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_mutex);
	if (++errors_shown <= MAX_ERRORS_SHOWN) {
		fprintf(stderr, "cp_node: ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		if (errors_shown == MAX_ERRORS_SHOWN)
			fprintf(stderr, "cp_node: further errors are counted but not shown\n");
	}
	pthread_mutex_unlock(&out_mutex);
}

static void count_errno(int err)
{
	__atomic_fetch_add(&errno_counts[err > 0 && err < MAX_ERRNO ?
					 err : MAX_ERRNO],
			   1, __ATOMIC_RELAXED);
}

/* The socket's last error text (HOMAIOCINFO), or "". */
static const char *homa_error_msg(int fd, char *buf, size_t len)
{
	struct homa_info info;

	memset(&info, 0, sizeof(info));
	buf[0] = 0;
	if (ioctl(fd, HOMAIOCINFO, &info) == 0 && info.error_msg[0]) {
		info.error_msg[sizeof(info.error_msg) - 1] = 0;
		snprintf(buf, len, " (kernel: %s)", info.error_msg);
	}
	return buf;
}

/* ------------------------------------------------------------------
 * Addresses.
 */

static const char *addr_str(const struct sockaddr_storage *sa, char *buf,
			    size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, len, "(family %u)", sa->ss_family);
	}
	return buf;
}

static socklen_t addr_len(void)
{
	return opt.ipv6 ? sizeof(struct sockaddr_in6) :
			  sizeof(struct sockaddr_in);
}

/* Client targets: every port of every server, server-major. */
static struct sockaddr_storage *targets;
static int num_servers, num_targets;

static void resolve_servers(void)
{
	char *copy = strdup(opt.servers), *tok, *save = NULL;
	struct sockaddr_storage *hosts = NULL;
	int i, j;

	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		struct addrinfo hints, *res;
		int err;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = opt.ipv6 ? AF_INET6 : AF_INET;
		hints.ai_socktype = SOCK_DGRAM;
		err = getaddrinfo(tok, NULL, &hints, &res);
		if (err) {
			fprintf(stderr, "cp_node: --servers: cannot resolve '%s' as an %s address: %s%s\n",
				tok, opt.ipv6 ? "IPv6" : "IPv4",
				gai_strerror(err),
				opt.ipv6 ? "" : " (IPv6 needs --ipv6)");
			exit(2);
		}
		hosts = realloc(hosts, (num_servers + 1) * sizeof(*hosts));
		memset(&hosts[num_servers], 0, sizeof(*hosts));
		memcpy(&hosts[num_servers], res->ai_addr, res->ai_addrlen);
		num_servers++;
		freeaddrinfo(res);
	}
	free(copy);
	if (num_servers == 0) {
		fprintf(stderr, "cp_node: --servers: no address given\n");
		exit(2);
	}
	if ((long)num_servers * opt.ports > MAX_TARGETS) {
		fprintf(stderr, "cp_node: %d servers x %d ports is more than %d targets\n",
			num_servers, opt.ports, MAX_TARGETS);
		exit(2);
	}
	num_targets = num_servers * opt.ports;
	targets = calloc(num_targets, sizeof(*targets));
	for (i = 0; i < num_servers; i++) {
		for (j = 0; j < opt.ports; j++) {
			struct sockaddr_storage *t = &targets[i * opt.ports + j];

			*t = hosts[i];
			if (opt.ipv6)
				((struct sockaddr_in6 *)t)->sin6_port =
					htons(opt.port + j);
			else
				((struct sockaddr_in *)t)->sin_port =
					htons(opt.port + j);
		}
	}
	free(hosts);
}

/* ------------------------------------------------------------------
 * Workloads.
 *
 * w1..w5 are the five distributions of the Homa SIGCOMM 2018 paper, given
 * in /work/shared/docs/WORKLOADS.md as message sizes at fixed quantiles.
 * They are rebuilt by interpolating log(size) linearly between
 * neighbouring quantiles.  A CDF file gives a step distribution: exactly
 * its sizes, each with the probability its fraction adds.  Sizes above
 * --max-message are cut to it, sizes below CP_HDR_LEN raised to it, and
 * the startup line says how often that happens.
 */

#define WL_POINTS 16

static const double wl_quantiles[WL_POINTS] = {
	0, .01, .05, .10, .20, .30, .40, .50, .60, .70, .80, .90, .95, .99,
	.999, 1.0
};

static const struct {
	const char *name;
	const char *what;
	double sizes[WL_POINTS];
} wl_tables[] = {
	{ "w1", "Facebook memcached",
	  { 8, 8, 8, 8, 8, 8, 11, 27, 79, 151, 264, 503, 804, 1876, 4924,
	    100000 } },
	{ "w2", "Google search application",
	  { 8, 8, 8, 8, 34, 58, 171, 269, 320, 366, 427, 512, 931, 3151,
	    21845, 3529904 } },
	{ "w3", "all Google applications",
	  { 8, 8, 8, 36, 77, 110, 158, 268, 313, 402, 573, 1755, 5521, 31013,
	    356516, 15158197 } },
	{ "w4", "Facebook Hadoop",
	  { 53, 130, 297, 315, 376, 502, 561, 662, 960, 6387, 49408, 120373,
	    273075, 3430822, 10000000, 10000000 } },
	{ "w5", "web search (DCTCP)",
	  { 1430, 1430, 2860, 5720, 19110, 27930, 48510, 72030, 195510,
	    980490, 1959510, 4899510, 19600980, 27440490, 29400000,
	    29400000 } },
};

enum wl_kind { WL_FIXED, WL_QUANTILES, WL_CDF };

static struct workload {
	enum wl_kind kind;
	char name[64];
	uint32_t fixed;
	int n;
	double *x;		/* quantiles, or cumulative fractions */
	double *y;		/* log(size) for quantiles, size for CDFs */
	double mean;		/* of the generated (cut) sizes */
	double cut_fraction;	/* share of sizes cut to max_message */
	double raised_fraction;	/* share of sizes raised to CP_HDR_LEN */
	uint32_t max_size;	/* largest generated size */
} wl;

static uint32_t clamp_size(double s)
{
	if (s > opt.max_message)
		return opt.max_message;
	if (s < CP_HDR_LEN)
		return CP_HDR_LEN;
	return (uint32_t)s;
}

/* Size before clamping, for quantile @u in [0, 1). */
static double wl_raw(double u)
{
	int lo = 0, hi, mid;

	switch (wl.kind) {
	case WL_FIXED:
		return wl.fixed;
	case WL_QUANTILES:
		for (lo = 0; lo < wl.n - 2 && u >= wl.x[lo + 1]; lo++)
			;
		return llround(exp(wl.y[lo] + (u - wl.x[lo]) /
				   (wl.x[lo + 1] - wl.x[lo]) *
				   (wl.y[lo + 1] - wl.y[lo])));
	case WL_CDF:
		/* Smallest i with u < x[i]. */
		hi = wl.n - 1;
		while (lo < hi) {
			mid = (lo + hi) / 2;
			if (u < wl.x[mid])
				hi = mid;
			else
				lo = mid + 1;
		}
		return wl.y[lo];
	}
	return CP_HDR_LEN;
}

static uint32_t wl_sample(struct rng *r)
{
	return clamp_size(wl_raw(rng_double(r)));
}

/* Mean, cut and raised fractions of the generated sizes. */
static void wl_stats(void)
{
	double sum = 0, cut = 0, raised = 0, p, s;
	int i, k, steps = 4000;

	wl.max_size = 0;
	if (wl.kind == WL_CDF) {
		for (i = 0; i < wl.n; i++) {
			p = wl.x[i] - (i ? wl.x[i - 1] : 0);
			s = wl.y[i];
			sum += p * clamp_size(s);
			cut += s > opt.max_message ? p : 0;
			raised += s < CP_HDR_LEN ? p : 0;
			if (p > 0 && clamp_size(s) > wl.max_size)
				wl.max_size = clamp_size(s);
		}
	} else if (wl.kind == WL_FIXED) {
		sum = wl.fixed;
		wl.max_size = wl.fixed;
	} else {
		/* Midpoint rule over each segment between quantiles. */
		for (i = 0; i + 1 < wl.n; i++) {
			double w = wl.x[i + 1] - wl.x[i];

			for (k = 0; k < steps; k++) {
				s = wl_raw(wl.x[i] + w * (k + 0.5) / steps);
				sum += w / steps * clamp_size(s);
				cut += s > opt.max_message ? w / steps : 0;
				raised += s < CP_HDR_LEN ? w / steps : 0;
			}
			s = clamp_size(exp(wl.y[i + 1]));
			if (s > wl.max_size)
				wl.max_size = s;
		}
	}
	wl.mean = sum;
	wl.cut_fraction = cut;
	wl.raised_fraction = raised;
}

static void wl_load_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int lineno = 0;

	if (!f) {
		fprintf(stderr, "cp_node: --workload-file %s: %s\n", path,
			strerror(errno));
		exit(2);
	}
	wl.kind = WL_CDF;
	snprintf(wl.name, sizeof(wl.name), "file:%.50s", path);
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		double size, frac;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == 0)
			continue;
		size = strtod(p, &end);
		if (end == p)
			goto bad;
		p = end;
		frac = strtod(p, &end);
		if (end == p)
			goto bad;
		while (*end == ' ' || *end == '\t' || *end == '\n' ||
		       *end == '\r')
			end++;
		if (*end && *end != '#')
			goto bad;
		if (size < 1 || size > 1e9 || size != floor(size)) {
			fprintf(stderr, "cp_node: %s:%d: size %g is not an integer from 1 to 1000000000\n",
				path, lineno, size);
			exit(2);
		}
		if (!(frac > 0 && frac <= 1 + 1e-9)) {
			fprintf(stderr, "cp_node: %s:%d: fraction %g is not in (0, 1]\n",
				path, lineno, frac);
			exit(2);
		}
		if (wl.n && (size <= wl.y[wl.n - 1] ||
			     frac < wl.x[wl.n - 1])) {
			fprintf(stderr, "cp_node: %s:%d: sizes must increase and fractions must not decrease\n",
				path, lineno);
			exit(2);
		}
		wl.x = realloc(wl.x, (wl.n + 1) * sizeof(double));
		wl.y = realloc(wl.y, (wl.n + 1) * sizeof(double));
		wl.x[wl.n] = frac;
		wl.y[wl.n] = size;
		wl.n++;
		continue;
bad:
		fprintf(stderr, "cp_node: %s:%d: expected 'size fraction', got: %s",
			path, lineno, line);
		exit(2);
	}
	fclose(f);
	if (wl.n == 0) {
		fprintf(stderr, "cp_node: %s: no 'size fraction' lines\n", path);
		exit(2);
	}
	if (fabs(wl.x[wl.n - 1] - 1) > 1e-6) {
		fprintf(stderr, "cp_node: %s: the last fraction is %g; it must be 1 (fractions are cumulative)\n",
			path, wl.x[wl.n - 1]);
		exit(2);
	}
	wl.x[wl.n - 1] = 1;
}

static void wl_init(void)
{
	char *end;
	size_t i;
	long v;

	if (opt.workload_file) {
		wl_load_file(opt.workload_file);
		wl_stats();
		return;
	}
	for (i = 0; i < sizeof(wl_tables) / sizeof(wl_tables[0]); i++) {
		int k;

		if (strcasecmp(opt.workload, wl_tables[i].name))
			continue;
		wl.kind = WL_QUANTILES;
		snprintf(wl.name, sizeof(wl.name), "%s", wl_tables[i].name);
		wl.n = WL_POINTS;
		wl.x = malloc(WL_POINTS * sizeof(double));
		wl.y = malloc(WL_POINTS * sizeof(double));
		for (k = 0; k < WL_POINTS; k++) {
			wl.x[k] = wl_quantiles[k];
			wl.y[k] = log(wl_tables[i].sizes[k]);
		}
		wl_stats();
		return;
	}
	errno = 0;
	v = strtol(opt.workload, &end, 10);
	if (errno || end == opt.workload || *end) {
		fprintf(stderr, "cp_node: --workload '%s': expected w1, w2, w3, w4, w5 or a size in bytes\n",
			opt.workload);
		exit(2);
	}
	if (v < CP_HDR_LEN || v > opt.max_message) {
		fprintf(stderr, "cp_node: --workload %ld: a fixed size must be from %d (the cp_node header) to %ld bytes (--max-message)\n",
			v, CP_HDR_LEN, opt.max_message);
		exit(2);
	}
	wl.kind = WL_FIXED;
	wl.fixed = v;
	snprintf(wl.name, sizeof(wl.name), "%ld", v);
	wl_stats();
}

static uint32_t resp_size(uint32_t req)
{
	return opt.one_way ? ONE_WAY_RESP : req;
}

/* ------------------------------------------------------------------
 * RTT histograms: buckets of about 1.6% width (64 per power of two),
 * exact below 64 ns, values up to 2^48 ns.
 */

#define HIST_SUB_BITS	6
#define HIST_SUB	(1 << HIST_SUB_BITS)
#define HIST_MAX_EXP	48
#define HIST_BUCKETS	(HIST_SUB + (HIST_MAX_EXP - HIST_SUB_BITS) * HIST_SUB)
#define SIZE_CLASSES	28	/* log2 classes; 2^27 > TCP_MAX_MESSAGE */

static int hist_bucket(uint64_t v)
{
	int e;

	if (v < HIST_SUB)
		return v;
	e = 63 - __builtin_clzll(v);
	if (e >= HIST_MAX_EXP)
		return HIST_BUCKETS - 1;
	return HIST_SUB + (e - HIST_SUB_BITS) * HIST_SUB +
	       ((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* Smallest value that falls in bucket @b. */
static uint64_t hist_low(int b)
{
	int e, sub;

	if (b < HIST_SUB)
		return b;
	e = (b - HIST_SUB) / HIST_SUB + HIST_SUB_BITS;
	sub = (b - HIST_SUB) % HIST_SUB;
	return (uint64_t)(HIST_SUB + sub) << (e - HIST_SUB_BITS);
}

/* Value at quantile @q of histogram @h with @total entries (midpoint of
 * its bucket), 0 if empty.
 */
static double hist_quantile(const uint64_t *h, uint64_t total, double q)
{
	uint64_t want, sum = 0;
	int b;

	if (!total)
		return 0;
	want = (uint64_t)ceil(q * total);
	if (want < 1)
		want = 1;
	for (b = 0; b < HIST_BUCKETS; b++) {
		sum += h[b];
		if (sum >= want)
			return (hist_low(b) + hist_low(b + 1)) / 2.0;
	}
	return hist_low(HIST_BUCKETS - 1);
}

static int size_class(uint32_t size)
{
	return 31 - __builtin_clz(size);
}

/* ------------------------------------------------------------------
 * Per-thread state and statistics.
 */

struct counters {
	uint64_t rpcs;		/* client: completed; server: requests */
	uint64_t req_bytes;
	uint64_t resp_bytes;
	uint64_t failed;	/* client: RPCs that failed */
	uint64_t errors;	/* other errors (server: any) */
	uint64_t sent;		/* client: requests issued */
	uint64_t skipped;	/* client: open-loop arrivals over the cap */
	uint64_t abandoned;	/* client: outstanding when given up */
	uint64_t outstanding;
	uint64_t rtt_max;
};

struct slot {
	uint64_t id;		/* Homa RPC id; 0: free */
	uint64_t start;
	uint32_t req_len;
	uint32_t resp_len;
	int target;
};

struct txmsg {
	uint32_t len;
	uint32_t resp_len;
};

struct pend {
	uint64_t start;
	uint64_t seq;
	uint32_t req_len;
	uint32_t resp_len;
};

/* One TCP connection (client or server side). */
struct conn {
	int fd;
	int target;		/* client: index in targets[] */
	bool epoll_out;		/* server: EPOLLOUT requested */
	uint32_t rx_have;	/* bytes of the current message read */
	uint32_t rx_len;	/* its length, once the header is in */
	uint8_t rx_hdr[CP_HDR_LEN];
	struct txmsg *txq;	/* ring of messages to write */
	uint32_t tx_cap, tx_head, tx_count, tx_off;
	struct pend *pq;	/* client: ring of requests awaiting replies */
	uint32_t pq_cap, pq_head, pq_count;
};

struct worker {
	int idx;
	pthread_t thread;
	bool started;
	int done;		/* set (atomically) when the thread ends */
	struct counters c;
	struct rng rng;

	/* Interval RTT histogram, taken and cleared by the printer. */
	pthread_mutex_t hist_lock;
	uint64_t *ihist;
	uint64_t *size_hist;	/* --histogram: [SIZE_CLASSES][HIST_BUCKETS] */

	/* Records (--records): lines buffered here, then written. */
	char *rec;
	size_t rec_len;

	/* Homa. */
	int fd;
	uint8_t *region;
	size_t region_len;
	uint8_t *sendbuf;

	/* Client. */
	struct slot *slots;
	int nslots;		/* this thread's share of the cap */
	int *free_slots;
	int nfree;
	long rpc_limit;		/* share of --rpcs; 0: none */
	double rate;		/* open loop: RPCs per second */
	uint64_t seq;

	/* TCP. */
	struct conn *conns;
	int nconns;
	int port_idx;		/* server: which port */
	int epfd;
	uint8_t *scratch;
};

static struct worker *workers;
static int num_workers;

static uint64_t run_start, run_start_real;
static int g_stop, g_abandon;
static int stop_fd, abandon_fd;	/* eventfds written at stop/abandon */
static bool abandon_is_failure;
static uint8_t *tcp_body;		/* payload bytes for TCP messages */
static FILE *rec_file;
static pthread_mutex_t rec_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Homa server sockets and TCP listeners, one per port. */
static int *port_fds;

static void rec_flush(struct worker *w)
{
	if (!w->rec_len)
		return;
	pthread_mutex_lock(&rec_mutex);
	fwrite(w->rec, 1, w->rec_len, rec_file);
	pthread_mutex_unlock(&rec_mutex);
	w->rec_len = 0;
}

/* Count one completed client RPC. */
static void rpc_done(struct worker *w, uint64_t start, uint64_t end,
		     uint32_t req, uint32_t resp, int target)
{
	uint64_t rtt = end - start;
	int b = hist_bucket(rtt);

	BUMP(w->c.rpcs, 1);
	BUMP(w->c.req_bytes, req);
	BUMP(w->c.resp_bytes, resp);
	if (rtt > w->c.rtt_max)
		BUMP(w->c.rtt_max, rtt - w->c.rtt_max);
	pthread_mutex_lock(&w->hist_lock);
	w->ihist[b]++;
	pthread_mutex_unlock(&w->hist_lock);
	if (w->size_hist)
		w->size_hist[size_class(req) * HIST_BUCKETS + b]++;
	if (rec_file) {
		w->rec_len += snprintf(w->rec + w->rec_len,
				       REC_BUF_LEN - w->rec_len,
				       "%" PRIu64 " %" PRIu64 " %u %u %d %d\n",
				       start - run_start, rtt, req, resp,
				       w->idx, target / opt.ports);
		if (w->rec_len > REC_BUF_LEN - 128)
			rec_flush(w);
	}
}

/* Count one failed client RPC; @id is the Homa RPC id or TCP sequence
 * number (0: none yet).
 */
static void rpc_failed(struct worker *w, uint64_t id, int err, int target,
		       uint32_t req, const char *what)
{
	char a[80];

	BUMP(w->c.failed, 1);
	count_errno(err);
	report("client thread %d: RPC id %" PRIu64 " to %s, request %u bytes: %s: errno %d %s (%s)",
	       w->idx, id,
	       target >= 0 ? addr_str(&targets[target], a, sizeof(a)) : "?",
	       req, what, err, err ? errno_name(err) : "-",
	       err ? strerror(err) : "no error code");
}

static int pick_target(struct worker *w)
{
	return num_targets == 1 ? 0 : (int)(rng_next(&w->rng) % num_targets);
}

/* Exponential inter-arrival time in ns for this thread's rate. */
static uint64_t next_gap(struct worker *w)
{
	return (uint64_t)(-log(1 - rng_double(&w->rng)) * 1e9 / w->rate);
}

/* May this client thread issue another request? */
static bool may_send(struct worker *w, bool stopping)
{
	return !stopping && (!w->rpc_limit || (long)w->seq < w->rpc_limit);
}

/* ------------------------------------------------------------------
 * Homa.
 */

static int homa_socket(size_t region_len, uint8_t **region)
{
	struct homa_rcvbuf_args rb;
	int fd;

	fd = socket(opt.ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM, IPPROTO_HOMA);
	if (fd < 0)
		fatal("socket(%s, SOCK_DGRAM, IPPROTO_HOMA): %s (is homa.ko loaded?)",
		      opt.ipv6 ? "AF_INET6" : "AF_INET", strerror(errno));
	*region = mmap(NULL, region_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (*region == MAP_FAILED)
		fatal("mmap of a %zu-byte receive region: %s", region_len,
		      strerror(errno));
	rb.start = (uintptr_t)*region;
	rb.length = region_len;
	if (setsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rb, sizeof(rb)))
		fatal("setsockopt(SO_HOMA_RCVBUF, %zu bytes): %s", region_len,
		      strerror(errno));
	return fd;
}

static void homa_client_send(struct worker *w)
{
	struct homa_sendmsg_args sa;
	struct slot *s;
	struct msghdr m;
	struct iovec iov;
	char why[160];
	int idx, r;

	idx = w->free_slots[--w->nfree];
	s = &w->slots[idx];
	s->target = pick_target(w);
	s->req_len = wl_sample(&w->rng);
	s->resp_len = resp_size(s->req_len);
	put_le32(w->sendbuf, s->req_len);
	put_le32(w->sendbuf + 4, s->resp_len);
	memset(&sa, 0, sizeof(sa));
	sa.completion_cookie = idx + 1;
	memset(&m, 0, sizeof(m));
	m.msg_name = &targets[s->target];
	m.msg_namelen = addr_len();
	iov.iov_base = w->sendbuf;
	iov.iov_len = s->req_len;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = &sa;
	m.msg_controllen = 0;
	w->seq++;
	s->start = mono_ns();
	do {
		r = sendmsg(w->fd, &m, 0);
	} while (r < 0 && errno == EINTR && !PEEK(g_abandon));
	if (r < 0 || sa.id == 0 || (sa.id & 1)) {
		int err = r < 0 ? errno : 0;
		char kmsg[128];

		if (r < 0)
			snprintf(why, sizeof(why), "sendmsg failed%s",
				 homa_error_msg(w->fd, kmsg, sizeof(kmsg)));
		else
			snprintf(why, sizeof(why),
				 "sendmsg returned a bad RPC id");
		rpc_failed(w, sa.id, err, s->target, s->req_len, why);
		w->free_slots[w->nfree++] = idx;
		/* Don't spin if every send fails. */
		usleep(1000);
		return;
	}
	s->id = sa.id;
	BUMP(w->c.sent, 1);
	BUMP(w->c.outstanding, 1);
}

/* Print the kernel's view of a Homa socket's RPCs (HOMAIOCINFO). */
static void dump_socket_info(const char *who, int fd)
{
	struct homa_rpc_info infos[32];
	struct homa_info info;
	char a[80];
	uint32_t i, n;

	memset(&info, 0, sizeof(info));
	info.rpc_info = (uintptr_t)infos;
	info.rpc_info_length = sizeof(infos);
	if (ioctl(fd, HOMAIOCINFO, &info) < 0) {
		fprintf(stderr, "cp_node: %s: HOMAIOCINFO: %s\n", who,
			strerror(errno));
		return;
	}
	fprintf(stderr, "cp_node: %s: port %u, %u RPCs, bpool_avail_bytes %llu, last error '%.104s'\n",
		who, info.port, info.num_rpcs,
		(unsigned long long)info.bpool_avail_bytes, info.error_msg);
	n = info.num_rpcs < 32 ? info.num_rpcs : 32;
	for (i = 0; i < n; i++) {
		struct homa_rpc_info *r = &infos[i];

		fprintf(stderr, "cp_node:   id %llu peer %s tx_length %d tx_sent %u tx_granted %u rx_length %d rx_remaining %u rx_gaps %u rx_granted %u flags 0x%x\n",
			(unsigned long long)r->id,
			addr_str((struct sockaddr_storage *)&r->peer, a,
				 sizeof(a)),
			r->tx_length, r->tx_sent, r->tx_granted, r->rx_length,
			r->rx_remaining, r->rx_gaps, r->rx_granted, r->flags);
	}
}

/*
 * homa_client_recv() - Receive one response (or RPC failure) on a client
 * thread's socket.  @ra carries the bpages of the previous message back
 * to the kernel.
 * Return: 1 if an RPC ended, 0 if nothing came (EAGAIN, EINTR, an error
 * without an RPC), -1 if the socket was shut down.
 */
static int homa_client_recv(struct worker *w, struct homa_recvmsg_args *ra,
			    int flags)
{
	struct sockaddr_storage from;
	uint64_t end, cookie;
	struct msghdr m;
	struct slot *s;
	int len, err, idx;
	uint32_t hdr_len;

	memset(&m, 0, sizeof(m));
	m.msg_name = &from;
	m.msg_namelen = sizeof(from);
	m.msg_control = ra;
	m.msg_controllen = sizeof(*ra);
	ra->id = 0;
	len = recvmsg(w->fd, &m, flags);
	end = mono_ns();
	err = len < 0 ? errno : 0;
	if (len < 0)
		ra->num_bpages = 0;
	if (len < 0 && ra->id == 0) {
		if (err == EAGAIN || err == EINTR)
			return 0;
		if (err == ESHUTDOWN)
			return -1;
		BUMP(w->c.errors, 1);
		count_errno(err);
		report("client thread %d: recvmsg failed without an RPC id: errno %d %s (%s)",
		       w->idx, err, errno_name(err), strerror(err));
		usleep(1000);
		return 0;
	}
	cookie = ra->completion_cookie;
	idx = (int)cookie - 1;
	if (cookie == 0 || cookie > (uint64_t)w->nslots ||
	    w->slots[idx].id != ra->id) {
		BUMP(w->c.errors, 1);
		report("client thread %d: recvmsg returned RPC id %llu, completion cookie %llu, which match no outstanding RPC (length %d, errno %d)",
		       w->idx, (unsigned long long)ra->id,
		       (unsigned long long)cookie, len, err);
		return 0;
	}
	s = &w->slots[idx];
	if (len < 0) {
		rpc_failed(w, s->id, err, s->target, s->req_len,
			   "recvmsg reported that the RPC failed");
	} else if (len < CP_HDR_LEN || ra->num_bpages == 0 ||
		   ra->bpage_offsets[0] + (uint64_t)CP_HDR_LEN >
		   w->region_len) {
		rpc_failed(w, s->id, 0, s->target, s->req_len,
			   "response too short for a cp_node header, or outside the buffer region");
	} else {
		hdr_len = get_le32(w->region + ra->bpage_offsets[0]);
		if (hdr_len != (uint32_t)len || (uint32_t)len != s->resp_len) {
			char why[120];

			snprintf(why, sizeof(why),
				 "response of %d bytes (its header says %u), expected %u",
				 len, hdr_len, s->resp_len);
			rpc_failed(w, s->id, 0, s->target, s->req_len, why);
		} else {
			rpc_done(w, s->start, end, s->req_len, len, s->target);
		}
	}
	s->id = 0;
	w->free_slots[w->nfree++] = idx;
	BUMP(w->c.outstanding, -1);
	return 1;
}

static void homa_client_abandon(struct worker *w)
{
	char a[80];
	int i;

	for (i = 0; i < w->nslots; i++) {
		struct slot *s = &w->slots[i];

		if (!s->id)
			continue;
		BUMP(w->c.abandoned, 1);
		report("client thread %d: abandoned RPC id %llu to %s, request %u bytes, outstanding for %.1f ms",
		       w->idx, (unsigned long long)s->id,
		       addr_str(&targets[s->target], a, sizeof(a)),
		       s->req_len, (mono_ns() - s->start) / 1e6);
		s->id = 0;
	}
	__atomic_store_n(&w->c.outstanding, 0, __ATOMIC_RELAXED);
}

static int sending_done_count;

/* This thread sends no more requests (stop, --rpcs reached). */
static void sending_done(struct worker *w, bool *stopping)
{
	(void)w;
	if (*stopping)
		return;
	*stopping = true;
	__atomic_fetch_add(&sending_done_count, 1, __ATOMIC_RELAXED);
}

static void *homa_client_thread(void *arg)
{
	bool open_loop = opt.gbps > 0, stopping = false;
	struct homa_recvmsg_args ra;
	struct worker *w = arg;
	uint64_t next = 0, now;

	memset(&ra, 0, sizeof(ra));
	if (open_loop)
		next = mono_ns() + next_gap(w);
	for (;;) {
		if (PEEK(g_abandon))
			break;
		if (PEEK(g_stop) || !may_send(w, stopping))
			sending_done(w, &stopping);
		if (!stopping && open_loop) {
			now = mono_ns();
			while (next <= now && may_send(w, stopping)) {
				if (w->nfree)
					homa_client_send(w);
				else
					BUMP(w->c.skipped, 1);
				next += next_gap(w);
			}
		} else if (!stopping) {
			while (w->nfree && may_send(w, stopping))
				homa_client_send(w);
		}
		if (!PEEK(w->c.outstanding)) {
			if (stopping)
				break;
			if (!open_loop)
				continue;	/* every send failed */
		}
		if (open_loop && !stopping) {
			struct pollfd p[2] = {
				{ .fd = w->fd, .events = POLLIN },
				{ .fd = stop_fd, .events = POLLIN },
			};
			struct timespec ts;
			int k, r;

			now = mono_ns();
			ts = ns_to_ts(next > now ? next - now : 0);
			r = ppoll(p, 2, &ts, NULL);
			if (r > 0 && (p[0].revents & POLLIN)) {
				for (k = 0; k < 64; k++) {
					r = homa_client_recv(w, &ra,
							     MSG_DONTWAIT);
					if (r != 1)
						break;
				}
				if (r < 0)
					break;
			}
		} else if (PEEK(w->c.outstanding)) {
			if (homa_client_recv(w, &ra, 0) < 0)
				break;
		}
	}
	homa_client_abandon(w);
	if (rec_file)
		rec_flush(w);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ------------------------------------------------------------------
 * TCP: length-prefixed messages on non-blocking TCP_NODELAY connections.
 * Each end keeps a queue of messages to write (so neither side ever
 * blocks on a full socket buffer while the other does the same) and
 * parses whatever arrives, however the stream is cut.
 */

static void ring_reserve(void **ring, uint32_t *cap, uint32_t *head,
			 uint32_t count, size_t elem)
{
	uint32_t i, new_cap;
	char *nr;

	if (count < *cap)
		return;
	new_cap = *cap ? 2 * *cap : 16;
	nr = malloc((size_t)new_cap * elem);
	if (!nr)
		fatal("out of memory");
	for (i = 0; i < count; i++)
		memcpy(nr + (size_t)i * elem,
		       (char *)*ring + (size_t)((*head + i) % *cap) * elem,
		       elem);
	free(*ring);
	*ring = nr;
	*cap = new_cap;
	*head = 0;
}

static void txq_push(struct conn *c, uint32_t len, uint32_t resp_len)
{
	struct txmsg *t;

	ring_reserve((void **)&c->txq, &c->tx_cap, &c->tx_head, c->tx_count,
		     sizeof(*c->txq));
	t = &c->txq[(c->tx_head + c->tx_count) % c->tx_cap];
	t->len = len;
	t->resp_len = resp_len;
	c->tx_count++;
}

/* Write as much of the queue as the socket takes.
 * Return: 0, or -1 with errno set.
 */
static int conn_flush(struct conn *c)
{
	uint8_t hdrs[32][CP_HDR_LEN];
	struct iovec iov[64];
	ssize_t n;
	uint32_t k, off;
	int niov;

	while (c->tx_count) {
		niov = 0;
		off = c->tx_off;
		for (k = 0; k < c->tx_count && k < 32; k++) {
			struct txmsg *t = &c->txq[(c->tx_head + k) % c->tx_cap];

			put_le32(hdrs[k], t->len);
			put_le32(hdrs[k] + 4, t->resp_len);
			if (off < CP_HDR_LEN) {
				iov[niov].iov_base = hdrs[k] + off;
				iov[niov++].iov_len = CP_HDR_LEN - off;
				off = CP_HDR_LEN;
			}
			if (t->len > off) {
				iov[niov].iov_base = tcp_body;
				iov[niov++].iov_len = t->len - off;
			}
			off = 0;
		}
		n = writev(c->fd, iov, niov);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (n > 0) {
			struct txmsg *t = &c->txq[c->tx_head];
			uint32_t left = t->len - c->tx_off;

			if ((size_t)n >= left) {
				n -= left;
				c->tx_off = 0;
				c->tx_head = (c->tx_head + 1) % c->tx_cap;
				c->tx_count--;
			} else {
				c->tx_off += n;
				n = 0;
			}
		}
	}
	return 0;
}

typedef int (*msg_fn)(struct worker *w, struct conn *c, uint32_t len,
		      uint32_t resp_len);

/* Read and parse what has arrived, calling @fn for each whole message.
 * Return: 0, or -1 with errno set (0 for end of file, EPROTO for a bad
 * header or a complaint from @fn).
 */
static int conn_read(struct worker *w, struct conn *c, msg_fn fn)
{
	size_t off, take;
	int rounds;
	ssize_t n;

	for (rounds = 0; rounds < 8; rounds++) {
		n = read(c->fd, w->scratch, SCRATCH_LEN);
		if (n == 0) {
			errno = 0;
			return -1;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		off = 0;
		while (off < (size_t)n) {
			if (c->rx_have < CP_HDR_LEN) {
				take = CP_HDR_LEN - c->rx_have;
				if (take > n - off)
					take = n - off;
				memcpy(c->rx_hdr + c->rx_have,
				       w->scratch + off, take);
				c->rx_have += take;
				off += take;
				if (c->rx_have < CP_HDR_LEN)
					break;
				c->rx_len = get_le32(c->rx_hdr);
				if (c->rx_len < CP_HDR_LEN ||
				    c->rx_len > opt.max_message) {
					report("%s thread %d: message header gives length %u (limit %ld)",
					       opt.server ? "server" : "client",
					       w->idx, c->rx_len,
					       opt.max_message);
					BUMP(w->c.errors, 1);
					errno = EPROTO;
					return -1;
				}
			} else {
				take = c->rx_len - c->rx_have;
				if (take > n - off)
					take = n - off;
				c->rx_have += take;
				off += take;
			}
			if (c->rx_have == c->rx_len) {
				c->rx_have = 0;
				if (fn(w, c, c->rx_len,
				       get_le32(c->rx_hdr + 4))) {
					errno = EPROTO;
					return -1;
				}
			}
		}
		if (n < SCRATCH_LEN)
			return 0;
	}
	return 0;
}

static int tcp_client_msg(struct worker *w, struct conn *c, uint32_t len,
			  uint32_t resp_field)
{
	uint64_t end = mono_ns();
	struct pend *p;

	(void)resp_field;
	if (!c->pq_count) {
		report("client thread %d: a %u-byte response arrived with no request outstanding",
		       w->idx, len);
		BUMP(w->c.errors, 1);
		return -1;
	}
	p = &c->pq[c->pq_head];
	c->pq_head = (c->pq_head + 1) % c->pq_cap;
	c->pq_count--;
	BUMP(w->c.outstanding, -1);
	if (len != p->resp_len) {
		char why[80];

		snprintf(why, sizeof(why), "response of %u bytes, expected %u",
			 len, p->resp_len);
		rpc_failed(w, p->seq, 0, c->target, p->req_len, why);
		return 0;
	}
	rpc_done(w, p->start, end, p->req_len, len, c->target);
	return 0;
}

/* A client connection broke: every RPC waiting on it fails. */
static void conn_fail(struct worker *w, struct conn *c, int err,
		      const char *what)
{
	char a[80];

	if (!c->pq_count && !PEEK(g_stop))
		report("client thread %d: connection to %s: %s: errno %d %s",
		       w->idx, addr_str(&targets[c->target], a, sizeof(a)),
		       what, err, err ? errno_name(err) : "-");
	while (c->pq_count) {
		struct pend *p = &c->pq[c->pq_head];

		rpc_failed(w, p->seq, err, c->target, p->req_len, what);
		c->pq_head = (c->pq_head + 1) % c->pq_cap;
		c->pq_count--;
		BUMP(w->c.outstanding, -1);
	}
	close(c->fd);
	c->fd = -1;
	c->tx_count = 0;
	c->tx_off = 0;
}

static void tcp_client_send(struct worker *w)
{
	int t = pick_target(w);
	struct conn *c = &w->conns[t];
	uint32_t req = wl_sample(&w->rng);
	uint64_t seq = ++w->seq;
	struct pend *p;

	if (c->fd < 0) {
		rpc_failed(w, seq, ENOTCONN, t, req,
			   "the connection to this server broke earlier");
		usleep(1000);
		return;
	}
	ring_reserve((void **)&c->pq, &c->pq_cap, &c->pq_head, c->pq_count,
		     sizeof(*c->pq));
	p = &c->pq[(c->pq_head + c->pq_count) % c->pq_cap];
	p->seq = seq;
	p->req_len = req;
	p->resp_len = resp_size(req);
	p->start = mono_ns();
	c->pq_count++;
	txq_push(c, req, p->resp_len);
	BUMP(w->c.sent, 1);
	BUMP(w->c.outstanding, 1);
	if (conn_flush(c) < 0)
		conn_fail(w, c, errno, "write failed");
}

static void *tcp_client_thread(void *arg)
{
	bool open_loop = opt.gbps > 0, stopping = false;
	struct worker *w = arg;
	struct pollfd *pf = calloc(w->nconns + 1, sizeof(*pf));
	uint64_t next = 0, now;
	int i, r;

	if (open_loop)
		next = mono_ns() + next_gap(w);
	for (;;) {
		struct timespec ts, *tsp = NULL;

		if (PEEK(g_abandon))
			break;
		if (PEEK(g_stop) || !may_send(w, stopping))
			sending_done(w, &stopping);
		if (!stopping && open_loop) {
			now = mono_ns();
			while (next <= now && may_send(w, stopping)) {
				if (PEEK(w->c.outstanding) <
				    (uint64_t)w->nslots)
					tcp_client_send(w);
				else
					BUMP(w->c.skipped, 1);
				next += next_gap(w);
			}
			ts = ns_to_ts(next > now ? next - now : 0);
			tsp = &ts;
		} else if (!stopping) {
			while (PEEK(w->c.outstanding) < (uint64_t)w->nslots &&
			       may_send(w, stopping))
				tcp_client_send(w);
		}
		if (!PEEK(w->c.outstanding)) {
			if (stopping)
				break;
			if (!open_loop)
				continue;	/* every send failed */
		}
		pf[0].fd = stopping ? abandon_fd : stop_fd;
		pf[0].events = POLLIN;
		for (i = 0; i < w->nconns; i++) {
			pf[i + 1].fd = w->conns[i].fd;
			pf[i + 1].events = POLLIN |
					   (w->conns[i].tx_count ? POLLOUT : 0);
			pf[i + 1].revents = 0;
		}
		r = ppoll(pf, w->nconns + 1, tsp, NULL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fatal("client thread %d: ppoll: %s", w->idx,
			      strerror(errno));
		}
		for (i = 0; i < w->nconns; i++) {
			struct conn *c = &w->conns[i];
			short re = pf[i + 1].revents;

			if (c->fd < 0 || !re)
				continue;
			if ((re & POLLOUT) && conn_flush(c) < 0) {
				conn_fail(w, c, errno, "write failed");
				continue;
			}
			if ((re & (POLLIN | POLLERR | POLLHUP)) &&
			    conn_read(w, c, tcp_client_msg) < 0) {
				int err = errno;

				conn_fail(w, c, err ? err : ECONNRESET,
					  err == EPROTO ? "bad data from the server" :
					  err ? "read failed" :
					  "the server closed the connection");
			}
		}
	}
	for (i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];
		char a[80];

		while (c->pq_count) {
			struct pend *p = &c->pq[c->pq_head];

			BUMP(w->c.abandoned, 1);
			report("client thread %d: abandoned request %llu to %s, %u bytes, outstanding for %.1f ms",
			       w->idx, (unsigned long long)p->seq,
			       addr_str(&targets[c->target], a, sizeof(a)),
			       p->req_len, (mono_ns() - p->start) / 1e6);
			c->pq_head = (c->pq_head + 1) % c->pq_cap;
			c->pq_count--;
		}
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
	}
	__atomic_store_n(&w->c.outstanding, 0, __ATOMIC_RELAXED);
	free(pf);
	if (rec_file)
		rec_flush(w);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ------------------------------------------------------------------
 * Servers.
 */

static void *homa_server_thread(void *arg)
{
	struct homa_recvmsg_args ra;
	struct worker *w = arg;
	char a[80], kmsg[128];

	memset(&ra, 0, sizeof(ra));
	for (;;) {
		struct homa_sendmsg_args sa;
		struct sockaddr_storage from;
		struct msghdr m;
		struct iovec iov;
		uint32_t resp = CP_HDR_LEN, hl, hr;
		int len, r, err;

		memset(&m, 0, sizeof(m));
		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		m.msg_control = &ra;
		m.msg_controllen = sizeof(ra);
		ra.id = 0;
		len = recvmsg(w->fd, &m, 0);
		if (len < 0) {
			err = errno;
			ra.num_bpages = 0;
			if (err == ESHUTDOWN)
				break;
			if (err == EINTR || err == EAGAIN)
				continue;
			BUMP(w->c.errors, 1);
			count_errno(err);
			report("server port %d thread %d: recvmsg failed (RPC id %llu): errno %d %s (%s)",
			       opt.port + w->port_idx, w->idx,
			       (unsigned long long)ra.id, err, errno_name(err),
			       strerror(err));
			if (!ra.id)
				usleep(1000);
			continue;
		}
		if (!(ra.id & 1)) {
			BUMP(w->c.errors, 1);
			report("server port %d: recvmsg returned a response (RPC id %llu)",
			       opt.port + w->port_idx,
			       (unsigned long long)ra.id);
			continue;
		}
		if (len < CP_HDR_LEN || ra.num_bpages == 0 ||
		    ra.bpage_offsets[0] + (uint64_t)CP_HDR_LEN > w->region_len) {
			BUMP(w->c.errors, 1);
			report("server port %d: request RPC id %llu from %s has %d bytes, too few for a cp_node header",
			       opt.port + w->port_idx,
			       (unsigned long long)ra.id,
			       addr_str(&from, a, sizeof(a)), len);
		} else {
			hl = get_le32(w->region + ra.bpage_offsets[0]);
			hr = get_le32(w->region + ra.bpage_offsets[0] + 4);
			if (hl != (uint32_t)len || hr < CP_HDR_LEN ||
			    hr > opt.max_message) {
				BUMP(w->c.errors, 1);
				report("server port %d: request RPC id %llu from %s has %d bytes; its header says %u bytes and asks for %u (limit %ld)",
				       opt.port + w->port_idx,
				       (unsigned long long)ra.id,
				       addr_str(&from, a, sizeof(a)), len, hl,
				       hr, opt.max_message);
			} else {
				resp = hr;
			}
		}
		put_le32(w->sendbuf, resp);
		put_le32(w->sendbuf + 4, 0);
		memset(&sa, 0, sizeof(sa));
		sa.id = ra.id;
		iov.iov_base = w->sendbuf;
		iov.iov_len = resp;
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = &sa;
		m.msg_controllen = 0;
		do {
			r = sendmsg(w->fd, &m, 0);
		} while (r < 0 && errno == EINTR);
		if (r < 0) {
			err = errno;
			if (err == ESHUTDOWN)
				break;
			BUMP(w->c.errors, 1);
			count_errno(err);
			report("server port %d: sendmsg of the %u-byte response to RPC id %llu from %s failed: errno %d %s (%s)%s",
			       opt.port + w->port_idx, resp,
			       (unsigned long long)ra.id,
			       addr_str(&from, a, sizeof(a)), err,
			       errno_name(err), strerror(err),
			       homa_error_msg(w->fd, kmsg, sizeof(kmsg)));
			continue;
		}
		BUMP(w->c.rpcs, 1);
		BUMP(w->c.req_bytes, len);
		BUMP(w->c.resp_bytes, resp);
	}
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int tcp_server_msg(struct worker *w, struct conn *c, uint32_t len,
			  uint32_t resp)
{
	if (resp < CP_HDR_LEN || resp > opt.max_message) {
		BUMP(w->c.errors, 1);
		report("server port %d: a %u-byte request asks for a %u-byte response (limit %ld)",
		       opt.port + w->port_idx, len, resp, opt.max_message);
		return -1;
	}
	txq_push(c, resp, 0);
	BUMP(w->c.rpcs, 1);
	BUMP(w->c.req_bytes, len);
	BUMP(w->c.resp_bytes, resp);
	return 0;
}

static void tcp_server_close(struct worker *w, struct conn **conns, int i)
{
	struct conn *c = conns[i];

	(void)w;
	close(c->fd);
	free(c->txq);
	free(c);
	conns[i] = NULL;
}

static void *tcp_server_thread(void *arg)
{
	static int stop_marker, listen_marker;
	struct worker *w = arg;
	int listen_fd = port_fds[w->port_idx];
	struct conn **conns = NULL;
	struct epoll_event ev, evs[64];
	int nconns = 0, i, n;

	w->epfd = epoll_create1(0);
	if (w->epfd < 0)
		fatal("epoll_create1: %s", strerror(errno));
	ev.events = EPOLLIN;
	ev.data.ptr = &stop_marker;
	epoll_ctl(w->epfd, EPOLL_CTL_ADD, stop_fd, &ev);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.ptr = &listen_marker;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, listen_fd, &ev))
		fatal("epoll_ctl(listening socket): %s", strerror(errno));
	for (;;) {
		n = epoll_wait(w->epfd, evs, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("server: epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			struct conn *c;
			int k, r, err;

			if (p == &stop_marker)
				goto out;
			if (p == &listen_marker) {
				for (;;) {
					int one = 1, fd;

					fd = accept4(listen_fd, NULL, NULL,
						     SOCK_NONBLOCK);
					if (fd < 0) {
						if (errno == EINTR ||
						    errno == ECONNABORTED)
							continue;
						if (errno != EAGAIN &&
						    errno != EWOULDBLOCK) {
							BUMP(w->c.errors, 1);
							report("server port %d: accept: %s",
							       opt.port + w->port_idx,
							       strerror(errno));
						}
						break;
					}
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY,
						   &one, sizeof(one));
					c = calloc(1, sizeof(*c));
					c->fd = fd;
					c->target = nconns;
					conns = realloc(conns, (nconns + 1) *
							sizeof(*conns));
					conns[nconns++] = c;
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd,
						  &ev);
				}
				continue;
			}
			c = p;
			k = c->target;
			r = 0;
			if (evs[i].events & EPOLLOUT)
				r = conn_flush(c);
			if (!r && (evs[i].events &
				   (EPOLLIN | EPOLLERR | EPOLLHUP)))
				r = conn_read(w, c, tcp_server_msg);
			if (!r && c->tx_count)
				r = conn_flush(c);
			if (r < 0) {
				err = errno;
				/* End of file and resets are how clients leave. */
				if (err && err != ECONNRESET && err != EPIPE &&
				    err != EPROTO) {
					BUMP(w->c.errors, 1);
					count_errno(err);
					report("server port %d: connection error: errno %d %s (%s)",
					       opt.port + w->port_idx, err,
					       errno_name(err), strerror(err));
				}
				tcp_server_close(w, conns, k);
				continue;
			}
			if (!!c->tx_count != c->epoll_out) {
				c->epoll_out = !!c->tx_count;
				ev.events = EPOLLIN |
					    (c->epoll_out ? EPOLLOUT : 0);
				ev.data.ptr = c;
				epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			}
		}
	}
out:
	for (i = 0; i < nconns; i++)
		if (conns[i])
			tcp_server_close(w, conns, i);
	free(conns);
	close(w->epfd);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ------------------------------------------------------------------
 * Setup.
 */

static void worker_common_init(struct worker *w, int idx)
{
	w->idx = idx;
	w->fd = -1;
	pthread_mutex_init(&w->hist_lock, NULL);
	w->ihist = calloc(HIST_BUCKETS, sizeof(uint64_t));
	rng_seed(&w->rng, opt.seed + 0x1000193ULL * (idx + 1));
}

static void setup_server(void)
{
	int p, t;

	port_fds = calloc(opt.ports, sizeof(int));
	num_workers = opt.ports * opt.threads;
	workers = calloc(num_workers, sizeof(*workers));
	for (p = 0; p < opt.ports; p++) {
		struct sockaddr_storage ss;
		uint8_t *region = NULL;
		size_t region_len = 0;
		int fd;

		memset(&ss, 0, sizeof(ss));
		if (opt.ipv6) {
			struct sockaddr_in6 *a = (void *)&ss;

			a->sin6_family = AF_INET6;
			a->sin6_addr = in6addr_any;
			a->sin6_port = htons(opt.port + p);
		} else {
			struct sockaddr_in *a = (void *)&ss;

			a->sin_family = AF_INET;
			a->sin_addr.s_addr = htonl(INADDR_ANY);
			a->sin_port = htons(opt.port + p);
		}
		if (opt.proto == PROTO_HOMA) {
			region_len = (size_t)(opt.bpages ? opt.bpages : 2048) *
				     HOMA_BPAGE_SIZE;
			fd = homa_socket(region_len, &region);
		} else {
			int one = 1;

			fd = socket(opt.ipv6 ? AF_INET6 : AF_INET,
				    SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (fd < 0)
				fatal("socket(SOCK_STREAM): %s",
				      strerror(errno));
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				   sizeof(one));
		}
		if (bind(fd, (struct sockaddr *)&ss, addr_len()))
			fatal("%s server: bind to port %d: %s", proto_name(),
			      opt.port + p, strerror(errno));
		if (opt.proto == PROTO_TCP && listen(fd, 1024))
			fatal("listen on port %d: %s", opt.port + p,
			      strerror(errno));
		port_fds[p] = fd;
		for (t = 0; t < opt.threads; t++) {
			struct worker *w = &workers[p * opt.threads + t];

			worker_common_init(w, p * opt.threads + t);
			w->port_idx = p;
			if (opt.proto == PROTO_HOMA) {
				w->fd = fd;
				w->region = region;
				w->region_len = region_len;
				w->sendbuf = malloc(opt.max_message);
				memset(w->sendbuf, 0x5a, opt.max_message);
			} else {
				w->scratch = malloc(SCRATCH_LEN);
			}
		}
	}
	if (opt.proto == PROTO_TCP) {
		tcp_body = malloc(opt.max_message);
		memset(tcp_body, 0x5a, opt.max_message);
	}
}

static void tcp_connect_all(struct worker *w)
{
	int i, one = 1;
	char a[80];

	w->nconns = num_targets;
	w->conns = calloc(num_targets, sizeof(*w->conns));
	for (i = 0; i < num_targets; i++) {
		struct conn *c = &w->conns[i];

		c->target = i;
		c->fd = socket(opt.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
		if (c->fd < 0)
			fatal("socket(SOCK_STREAM): %s", strerror(errno));
		if (connect(c->fd, (struct sockaddr *)&targets[i], addr_len()))
			fatal("client thread %d: connect to %s: %s", w->idx,
			      addr_str(&targets[i], a, sizeof(a)),
			      strerror(errno));
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	}
}

static double rate_total;	/* open loop: RPCs per second, all threads */

static void setup_client(int argc, char **argv)
{
	int cap = opt.gbps > 0 ? opt.max_outstanding : opt.outstanding;
	uint32_t max_resp;
	int i, k;

	resolve_servers();
	wl_init();
	if (opt.gbps > 0) {
		double bytes = wl.mean + (opt.one_way ? ONE_WAY_RESP : wl.mean);

		rate_total = opt.gbps * 1e9 / 8 / bytes;
	}
	max_resp = opt.one_way ? ONE_WAY_RESP : wl.max_size;
	num_workers = opt.threads;
	workers = calloc(num_workers, sizeof(*workers));
	for (i = 0; i < num_workers; i++) {
		struct worker *w = &workers[i];

		worker_common_init(w, i);
		w->nslots = cap / num_workers + (i < cap % num_workers);
		w->rate = rate_total / num_workers;
		if (opt.rpcs)
			w->rpc_limit = opt.rpcs / num_workers +
				       (i < opt.rpcs % num_workers);
		if (opt.records)
			w->rec = malloc(REC_BUF_LEN);
		if (opt.histogram)
			w->size_hist = calloc((size_t)SIZE_CLASSES *
					      HIST_BUCKETS, sizeof(uint64_t));
		if (opt.proto == PROTO_HOMA) {
			long bp = opt.bpages;

			if (!bp)
				bp = (long)w->nslots *
				     ((max_resp + HOMA_BPAGE_SIZE - 1) /
				      HOMA_BPAGE_SIZE) + 4;
			w->region_len = (size_t)bp * HOMA_BPAGE_SIZE;
			w->fd = homa_socket(w->region_len, &w->region);
			w->sendbuf = malloc(wl.max_size);
			memset(w->sendbuf, 0x5a, wl.max_size);
			w->slots = calloc(w->nslots, sizeof(*w->slots));
			w->free_slots = calloc(w->nslots, sizeof(int));
			for (k = 0; k < w->nslots; k++)
				w->free_slots[w->nfree++] = w->nslots - 1 - k;
		} else {
			w->scratch = malloc(SCRATCH_LEN);
			tcp_connect_all(w);
		}
	}
	if (opt.proto == PROTO_TCP) {
		tcp_body = malloc(opt.max_message);
		memset(tcp_body, 0x5a, opt.max_message);
	}
	if (opt.records) {
		rec_file = fopen(opt.records, "w");
		if (!rec_file)
			fatal("--records %s: %s", opt.records, strerror(errno));
		fprintf(rec_file, "# cp_node records v1\n# command:");
		for (i = 0; i < argc; i++)
			fprintf(rec_file, " %s", argv[i]);
		fprintf(rec_file, "\n");
	}
}

/* ------------------------------------------------------------------
 * Progress, stop, summary.
 */

static uint64_t *total_hist;	/* RTTs of the whole run */
static uint64_t total_hist_n;
static struct counters last_c;
static uint64_t last_t;

static void sum_counters(struct counters *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < num_workers; i++) {
		struct counters *c = &workers[i].c;

		s->rpcs += PEEK(c->rpcs);
		s->req_bytes += PEEK(c->req_bytes);
		s->resp_bytes += PEEK(c->resp_bytes);
		s->failed += PEEK(c->failed);
		s->errors += PEEK(c->errors);
		s->sent += PEEK(c->sent);
		s->skipped += PEEK(c->skipped);
		s->abandoned += PEEK(c->abandoned);
		s->outstanding += PEEK(c->outstanding);
		if (PEEK(c->rtt_max) > s->rtt_max)
			s->rtt_max = PEEK(c->rtt_max);
	}
}

/* Move the threads' interval histograms into @h; return the count. */
static uint64_t collect_hist(uint64_t *h)
{
	uint64_t n = 0;
	int i, b;

	memset(h, 0, HIST_BUCKETS * sizeof(uint64_t));
	for (i = 0; i < num_workers; i++) {
		struct worker *w = &workers[i];

		pthread_mutex_lock(&w->hist_lock);
		for (b = 0; b < HIST_BUCKETS; b++) {
			h[b] += w->ihist[b];
			n += w->ihist[b];
		}
		memset(w->ihist, 0, HIST_BUCKETS * sizeof(uint64_t));
		pthread_mutex_unlock(&w->hist_lock);
	}
	for (b = 0; b < HIST_BUCKETS; b++)
		total_hist[b] += h[b];
	total_hist_n += n;
	return n;
}

static void print_progress(uint64_t now)
{
	static uint64_t *h;
	double dt = (now - last_t) / 1e9;
	struct counters c;
	uint64_t n;

	if (!h)
		h = calloc(HIST_BUCKETS, sizeof(uint64_t));
	sum_counters(&c);
	n = collect_hist(h);
	if (dt <= 0)
		dt = 1e-9;
	if (opt.server)
		printf("progress t=%.2f kops=%.3f gbps_in=%.4f gbps_out=%.4f requests=%" PRIu64 " errors=%" PRIu64 "\n",
		       (now - run_start) / 1e9,
		       (c.rpcs - last_c.rpcs) / dt / 1e3,
		       (c.req_bytes - last_c.req_bytes) * 8 / dt / 1e9,
		       (c.resp_bytes - last_c.resp_bytes) * 8 / dt / 1e9,
		       c.rpcs, c.errors);
	else
		printf("progress t=%.2f kops=%.3f gbps_out=%.4f gbps_in=%.4f p50_us=%.1f p99_us=%.1f rpcs=%" PRIu64 " outstanding=%" PRIu64 " failed=%" PRIu64 "\n",
		       (now - run_start) / 1e9,
		       (c.rpcs - last_c.rpcs) / dt / 1e3,
		       (c.req_bytes - last_c.req_bytes) * 8 / dt / 1e9,
		       (c.resp_bytes - last_c.resp_bytes) * 8 / dt / 1e9,
		       hist_quantile(h, n, 0.5) / 1e3,
		       hist_quantile(h, n, 0.99) / 1e3, c.rpcs,
		       c.outstanding, c.failed);
	fflush(stdout);
	last_c = c;
	last_t = now;
}

static bool all_done(void)
{
	int i;

	for (i = 0; i < num_workers; i++)
		if (!__atomic_load_n(&workers[i].done, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

static void kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		fatal("eventfd write: %s", strerror(errno));
}

static void begin_stop(void)
{
	int p;

	__atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
	kick(stop_fd);
	if (opt.server && opt.proto == PROTO_HOMA)
		for (p = 0; p < opt.ports; p++)
			shutdown(port_fds[p], SHUT_RDWR);
}

static void begin_abandon(bool failure)
{
	char who[40];
	int i;

	abandon_is_failure = failure;
	if (failure)
		fprintf(stderr, "cp_node: RPCs still outstanding %.1f s after the end of sending (--drain); abandoning them\n",
			opt.drain_s);
	if (opt.proto == PROTO_HOMA) {
		for (i = 0; i < num_workers; i++) {
			if (!PEEK(workers[i].c.outstanding) ||
			    __atomic_load_n(&workers[i].done,
					    __ATOMIC_ACQUIRE))
				continue;
			snprintf(who, sizeof(who), "client thread %d", i);
			dump_socket_info(who, workers[i].fd);
		}
	}
	__atomic_store_n(&g_abandon, 1, __ATOMIC_RELAXED);
	kick(abandon_fd);
	if (opt.proto == PROTO_HOMA)
		for (i = 0; i < num_workers; i++)
			shutdown(workers[i].fd, SHUT_RDWR);
}

static void write_histograms(void)
{
	uint64_t *h = calloc((size_t)SIZE_CLASSES * HIST_BUCKETS,
			     sizeof(uint64_t));
	FILE *f = fopen(opt.histogram, "w");
	size_t k;
	int i, sc, b;

	if (!f)
		fatal("--histogram %s: %s", opt.histogram, strerror(errno));
	for (i = 0; i < num_workers; i++)
		for (k = 0; k < (size_t)SIZE_CLASSES * HIST_BUCKETS; k++)
			h[k] += workers[i].size_hist[k];
	fprintf(f, "# cp_node histograms v1: RTT by request size\n");
	fprintf(f, "# columns: size_lo size_hi rtt_lo_ns rtt_hi_ns count\n");
	for (sc = 0; sc < SIZE_CLASSES; sc++)
		for (b = 0; b < HIST_BUCKETS; b++)
			if (h[sc * HIST_BUCKETS + b])
				fprintf(f, "%lu %lu %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
					1UL << sc, (2UL << sc) - 1,
					hist_low(b), hist_low(b + 1) - 1,
					h[sc * HIST_BUCKETS + b]);
	if (fclose(f))
		fatal("--histogram %s: %s", opt.histogram, strerror(errno));
	free(h);
}

static int print_summary(uint64_t end)
{
	static uint64_t h[HIST_BUCKETS];
	double secs = (end - run_start) / 1e9;
	struct counters c;
	int i, first = 1;

	sum_counters(&c);
	collect_hist(h);
	if (secs <= 0)
		secs = 1e-9;
	if (opt.server) {
		printf("summary role=server protocol=%s time=%.3f requests=%" PRIu64 " req_bytes=%" PRIu64 " resp_bytes=%" PRIu64 " kops=%.3f gbps_in=%.4f gbps_out=%.4f errors=%" PRIu64,
		       proto_name(), secs, c.rpcs, c.req_bytes, c.resp_bytes,
		       c.rpcs / secs / 1e3, c.req_bytes * 8 / secs / 1e9,
		       c.resp_bytes * 8 / secs / 1e9, c.errors);
	} else {
		printf("summary role=client protocol=%s time=%.3f rpcs=%" PRIu64 " failed=%" PRIu64 " abandoned=%" PRIu64 " errors=%" PRIu64 " sent=%" PRIu64 " skipped=%" PRIu64 " req_bytes=%" PRIu64 " resp_bytes=%" PRIu64 " kops=%.3f gbps_out=%.4f gbps_in=%.4f rtt_p50_us=%.1f rtt_p99_us=%.1f rtt_p999_us=%.1f rtt_max_us=%.1f",
		       proto_name(), secs, c.rpcs, c.failed, c.abandoned,
		       c.errors, c.sent, c.skipped, c.req_bytes, c.resp_bytes,
		       c.rpcs / secs / 1e3, c.req_bytes * 8 / secs / 1e9,
		       c.resp_bytes * 8 / secs / 1e9,
		       hist_quantile(total_hist, total_hist_n, 0.5) / 1e3,
		       hist_quantile(total_hist, total_hist_n, 0.99) / 1e3,
		       hist_quantile(total_hist, total_hist_n, 0.999) / 1e3,
		       c.rtt_max / 1e3);
	}
	for (i = 0; i <= MAX_ERRNO; i++) {
		uint64_t n = __atomic_load_n(&errno_counts[i],
					     __ATOMIC_RELAXED);

		if (!n)
			continue;
		printf("%s%s:%" PRIu64, first ? " errnos=" : ",",
		       i == MAX_ERRNO ? "other" : errno_name(i), n);
		first = 0;
	}
	printf("\n");
	fflush(stdout);
	return c.failed || c.errors || (c.abandoned && abandon_is_failure);
}

/* Wait for the end (time, signals, workers), printing progress. */
static uint64_t main_loop(void)
{
	uint64_t end_time = opt.time_s > 0 ?
			    run_start + (uint64_t)(opt.time_s * 1e9) : 0;
	uint64_t interval = (uint64_t)(opt.interval_s * 1e9);
	uint64_t next_tick = interval ? run_start + interval : UINT64_MAX;
	uint64_t drain_deadline = UINT64_MAX, now, wake;
	sigset_t sigs;
	int sig;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	last_t = run_start;
	for (;;) {
		struct timespec ts;

		now = mono_ns();
		if (all_done())
			break;
		if (!g_stop && ((end_time && now >= end_time) ||
				(!opt.server &&
				 PEEK(sending_done_count) == num_workers))) {
			begin_stop();
			drain_deadline = now + (uint64_t)(opt.drain_s * 1e9);
		}
		if (g_stop && !g_abandon && !opt.server && now >= drain_deadline)
			begin_abandon(true);
		if (now >= next_tick) {
			print_progress(now);
			while (next_tick <= now)
				next_tick += interval;
		}
		/* Poll the workers often while they drain. */
		wake = now + (g_stop ? 5000000ULL : 50000000ULL);
		if (next_tick < wake)
			wake = next_tick;
		if (end_time && !g_stop && end_time < wake)
			wake = end_time;
		if (!g_abandon && drain_deadline < wake)
			wake = drain_deadline;
		ts = ns_to_ts(wake > now ? wake - now : 0);
		sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig <= 0)
			continue;
		if (!g_stop) {
			fprintf(stderr, "cp_node: %s: stopping%s\n",
				strsignal(sig),
				opt.server ? "" :
				" (outstanding RPCs may finish; a second signal abandons them)");
			begin_stop();
			drain_deadline = mono_ns() +
					 (uint64_t)(opt.drain_s * 1e9);
		} else if (!g_abandon && !opt.server) {
			fprintf(stderr, "cp_node: %s: abandoning outstanding RPCs\n",
				strsignal(sig));
			begin_abandon(false);
		}
	}
	return now;
}

/* ------------------------------------------------------------------
 * Command line.
 */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: cp_node server [--protocol homa|tcp] [--ipv6] [--port P] [--ports N]\n"
"                      [--threads N] [--time S] [--interval S] [--bpages N]\n"
"                      [--max-message B]\n"
"       cp_node client --servers ADDR[,ADDR...] [--protocol homa|tcp] [--ipv6]\n"
"                      [--port P] [--ports N] [--threads N]\n"
"                      [--workload w1..w5|BYTES | --workload-file FILE]\n"
"                      [--gbps G [--max-outstanding N] | --outstanding N]\n"
"                      [--one-way] [--time S] [--rpcs N] [--drain S]\n"
"                      [--records FILE] [--histogram FILE] [--seed N]\n"
"                      [--interval S] [--bpages N] [--max-message B]\n"
"\n"
"Workload generator for Homa (IPPROTO_HOMA) and TCP (TCP_NODELAY, the same\n"
"threading).  Full documentation: man -l man/cp_node.1\n"
"\n"
"Both roles:\n"
"  --protocol P      homa (default) or tcp\n"
"  --ipv6, -6        IPv6 sockets (default IPv4)\n"
"  --port P          first server port (default %d)\n"
"  --ports N         server ports P..P+N-1 (default 1); a client spreads its\n"
"                    requests uniformly over every port of every server\n"
"  --threads N       server: threads per port (default 1); client: threads,\n"
"                    each with its own Homa socket or its own TCP\n"
"                    connection to every server port (default 1)\n"
"  --time S          run time in seconds (client default 10, or no limit with\n"
"                    --rpcs; server default: until SIGINT/SIGTERM); 0: no limit\n"
"  --interval S      seconds between progress lines (default 1; 0: none)\n"
"  --bpages N        Homa receive region of N 64 KiB bpages per socket\n"
"                    (default: server 2048, client enough for its cap)\n"
"  --max-message B   largest message (default and Homa limit 1000000; TCP\n"
"                    up to %d); workload sizes above it are cut to it\n"
"\n"
"Client:\n"
"  --servers LIST    comma-separated server addresses or host names\n"
"  --workload W      w1..w5: the Homa paper's distributions (W1 Facebook\n"
"                    memcached, W2 Google search, W3 all Google, W4 Facebook\n"
"                    Hadoop, W5 web search), rebuilt from the quantiles in\n"
"                    WORKLOADS.md by interpolating log(size) linearly between\n"
"                    neighbouring quantiles; or a fixed size in bytes\n"
"                    (default 100).  Messages are at least %d bytes (header)\n"
"  --workload-file F lines 'size fraction': the cumulative fraction of\n"
"                    messages of at most size bytes; sizes increasing, last\n"
"                    fraction 1; '#' starts a comment.  Exactly these sizes\n"
"  --gbps G          open loop: Poisson arrivals at the rate that makes the\n"
"                    request plus response bytes of this client G Gbps (so\n"
"                    with a client and a server on every host, each host\n"
"                    sends about G Gbps)\n"
"  --max-outstanding N  open loop: at most N RPCs in flight (all threads,\n"
"                    default %d); arrivals beyond it are skipped and counted\n"
"  --outstanding N   closed loop (the default): keep N RPCs in flight (all\n"
"                    threads; default 1)\n"
"  --one-way         responses are %d bytes instead of the request's size\n"
"  --rpcs N          stop sending after N requests\n"
"  --drain S         after sending stops, wait up to S seconds for outstanding\n"
"                    RPCs (default 10); then they are abandoned and the exit\n"
"                    status is 1\n"
"  --records FILE    one line per completed RPC:\n"
"                    start_ns rtt_ns req_bytes resp_bytes thread server\n"
"  --histogram FILE  RTT histograms by request size:\n"
"                    size_lo size_hi rtt_lo_ns rtt_hi_ns count\n"
"  --seed N          random seed (default: from the clock); printed\n"
"\n"
"Output (stdout): a 'start' (client) or 'ready' (server) line, a 'progress'\n"
"line per interval, and a final 'summary' line, all key=value.  Errors go to\n"
"stderr with the RPC id and errno.  SIGINT/SIGTERM: stop sending, wait for\n"
"outstanding RPCs (--drain), print the summary; a second signal abandons\n"
"them.  Exit status: 0 success, 1 an RPC failed or stalled or another\n"
"error, 2 bad arguments.\n",
		DEFAULT_PORT, TCP_MAX_MESSAGE, CP_HDR_LEN, DEFAULT_MAX_OUT,
		ONE_WAY_RESP);
}

static void bad_arg(const char *name, const char *val, const char *want)
{
	fprintf(stderr, "cp_node: --%s '%s': %s\n", name, val, want);
	fprintf(stderr, "Try 'cp_node --help'.\n");
	exit(2);
}

static long parse_long(const char *name, const char *s, long min, long max)
{
	char *end, want[100];
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		snprintf(want, sizeof(want), "expected an integer from %ld to %ld",
			 min, max);
		bad_arg(name, s, want);
	}
	return v;
}

static double parse_double(const char *name, const char *s, double min,
			   double max, bool min_ok)
{
	char *end, want[100];
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v > max ||
	    v < min || (!min_ok && v == min)) {
		snprintf(want, sizeof(want), "expected a number %s %g and at most %g",
			 min_ok ? "of at least" : "above", min, max);
		bad_arg(name, s, want);
	}
	return v;
}

enum {
	OPT_PROTOCOL = 256, OPT_PORT, OPT_PORTS, OPT_THREADS, OPT_TIME,
	OPT_INTERVAL, OPT_BPAGES, OPT_MAX_MESSAGE, OPT_SERVERS, OPT_WORKLOAD,
	OPT_WORKLOAD_FILE, OPT_GBPS, OPT_MAX_OUT, OPT_OUTSTANDING,
	OPT_ONE_WAY, OPT_RPCS, OPT_DRAIN, OPT_RECORDS, OPT_HISTOGRAM,
	OPT_SEED,
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "protocol", required_argument, NULL, OPT_PROTOCOL },
		{ "ipv6", no_argument, NULL, '6' },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "ports", required_argument, NULL, OPT_PORTS },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "bpages", required_argument, NULL, OPT_BPAGES },
		{ "max-message", required_argument, NULL, OPT_MAX_MESSAGE },
		{ "servers", required_argument, NULL, OPT_SERVERS },
		{ "workload", required_argument, NULL, OPT_WORKLOAD },
		{ "workload-file", required_argument, NULL, OPT_WORKLOAD_FILE },
		{ "gbps", required_argument, NULL, OPT_GBPS },
		{ "max-outstanding", required_argument, NULL, OPT_MAX_OUT },
		{ "outstanding", required_argument, NULL, OPT_OUTSTANDING },
		{ "one-way", no_argument, NULL, OPT_ONE_WAY },
		{ "rpcs", required_argument, NULL, OPT_RPCS },
		{ "drain", required_argument, NULL, OPT_DRAIN },
		{ "records", required_argument, NULL, OPT_RECORDS },
		{ "histogram", required_argument, NULL, OPT_HISTOGRAM },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const int client_only[] = {
		OPT_SERVERS, OPT_WORKLOAD, OPT_WORKLOAD_FILE, OPT_GBPS,
		OPT_MAX_OUT, OPT_OUTSTANDING, OPT_ONE_WAY, OPT_RPCS, OPT_DRAIN,
		OPT_RECORDS, OPT_HISTOGRAM, OPT_SEED,
	};
	bool given[OPT_SEED + 1] = { false };
	sigset_t sigs;
	char *endp;
	uint64_t end;
	size_t k;
	int c, i, rc;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "server")) {
		opt.server = true;
	} else if (strcmp(argv[1], "client")) {
		fprintf(stderr, "cp_node: the first argument must be 'server' or 'client', not '%s'\n",
			argv[1]);
		fprintf(stderr, "Try 'cp_node --help'.\n");
		return 2;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "6h", longopts, NULL)) != -1) {
		if (c >= OPT_PROTOCOL && c <= OPT_SEED) {
			for (k = 0; k < sizeof(client_only) / sizeof(int); k++)
				if (opt.server && c == client_only[k]) {
					for (i = 0; longopts[i].val != c; i++)
						;
					fprintf(stderr, "cp_node: --%s is a client option\n",
						longopts[i].name);
					return 2;
				}
			given[c] = true;
		}
		switch (c) {
		case OPT_PROTOCOL:
			if (!strcmp(optarg, "homa"))
				opt.proto = PROTO_HOMA;
			else if (!strcmp(optarg, "tcp"))
				opt.proto = PROTO_TCP;
			else
				bad_arg("protocol", optarg,
					"expected homa or tcp");
			break;
		case '6':
			opt.ipv6 = true;
			break;
		case OPT_PORT:
			opt.port = parse_long("port", optarg, 1, 65535);
			break;
		case OPT_PORTS:
			opt.ports = parse_long("ports", optarg, 1, 1024);
			break;
		case OPT_THREADS:
			opt.threads = parse_long("threads", optarg, 1, 1024);
			break;
		case OPT_TIME:
			opt.time_s = parse_double("time", optarg, 0, 1e7, true);
			break;
		case OPT_INTERVAL:
			opt.interval_s = parse_double("interval", optarg, 0,
						      86400, true);
			if (opt.interval_s > 0 && opt.interval_s < 0.01)
				bad_arg("interval", optarg,
					"expected 0 (no progress lines) or at least 0.01");
			break;
		case OPT_BPAGES:
			opt.bpages = parse_long("bpages", optarg, 2, 65536);
			break;
		case OPT_MAX_MESSAGE:
			opt.max_message = parse_long("max-message", optarg,
						     CP_HDR_LEN,
						     TCP_MAX_MESSAGE);
			break;
		case OPT_SERVERS:
			opt.servers = optarg;
			break;
		case OPT_WORKLOAD:
			opt.workload = optarg;
			break;
		case OPT_WORKLOAD_FILE:
			opt.workload_file = optarg;
			break;
		case OPT_GBPS:
			opt.gbps = parse_double("gbps", optarg, 0, 1e5, false);
			break;
		case OPT_MAX_OUT:
			opt.max_outstanding = parse_long("max-outstanding",
							 optarg, 1, 100000);
			break;
		case OPT_OUTSTANDING:
			opt.outstanding = parse_long("outstanding", optarg, 1,
						     100000);
			break;
		case OPT_ONE_WAY:
			opt.one_way = true;
			break;
		case OPT_RPCS:
			opt.rpcs = parse_long("rpcs", optarg, 1,
					      1000000000000000L);
			break;
		case OPT_DRAIN:
			opt.drain_s = parse_double("drain", optarg, 0, 1e6,
						   true);
			break;
		case OPT_RECORDS:
			opt.records = optarg;
			break;
		case OPT_HISTOGRAM:
			opt.histogram = optarg;
			break;
		case OPT_SEED:
			errno = 0;
			opt.seed = strtoull(optarg, &endp, 0);
			if (errno || endp == optarg || *endp || *optarg == '-')
				bad_arg("seed", optarg,
					"expected a non-negative integer");
			opt.seed_given = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'cp_node --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cp_node: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}

	/* Combinations. */
	if (opt.proto == PROTO_HOMA && opt.max_message > HOMA_MAX_MESSAGE_LENGTH) {
		fprintf(stderr, "cp_node: --max-message %ld: Homa messages are at most %d bytes\n",
			opt.max_message, HOMA_MAX_MESSAGE_LENGTH);
		return 2;
	}
	if (opt.port + opt.ports - 1 > 65535 ||
	    (opt.proto == PROTO_HOMA && opt.port + opt.ports - 1 >=
	     HOMA_MIN_DEFAULT_PORT)) {
		fprintf(stderr, "cp_node: ports %d..%d: %s server ports must be below %d\n",
			opt.port, opt.port + opt.ports - 1, proto_name(),
			opt.proto == PROTO_HOMA ? HOMA_MIN_DEFAULT_PORT :
			65536);
		return 2;
	}
	if (given[OPT_BPAGES] && opt.proto != PROTO_HOMA) {
		fprintf(stderr, "cp_node: --bpages applies to --protocol homa only\n");
		return 2;
	}
	if (!opt.server) {
		if (!opt.servers) {
			fprintf(stderr, "cp_node: client: --servers is required\n");
			return 2;
		}
		if (given[OPT_WORKLOAD] && given[OPT_WORKLOAD_FILE]) {
			fprintf(stderr, "cp_node: give --workload or --workload-file, not both\n");
			return 2;
		}
		if (given[OPT_GBPS] && given[OPT_OUTSTANDING]) {
			fprintf(stderr, "cp_node: --gbps (open loop) and --outstanding (closed loop) exclude each other\n");
			return 2;
		}
		if (given[OPT_MAX_OUT] && !given[OPT_GBPS]) {
			fprintf(stderr, "cp_node: --max-outstanding applies to open loop (--gbps) only; closed loop uses --outstanding\n");
			return 2;
		}
		if (!opt.outstanding)
			opt.outstanding = 1;
		if (!opt.max_outstanding)
			opt.max_outstanding = DEFAULT_MAX_OUT;
		if ((opt.gbps > 0 ? opt.max_outstanding : opt.outstanding) <
		    opt.threads) {
			fprintf(stderr, "cp_node: --%s %d is less than --threads %d: every thread needs at least one RPC\n",
				opt.gbps > 0 ? "max-outstanding" : "outstanding",
				opt.gbps > 0 ? opt.max_outstanding :
				opt.outstanding, opt.threads);
			return 2;
		}
		if (opt.rpcs && opt.rpcs < opt.threads) {
			fprintf(stderr, "cp_node: --rpcs %ld is less than --threads %d\n",
				opt.rpcs, opt.threads);
			return 2;
		}
		if (!given[OPT_TIME] && !opt.rpcs)
			opt.time_s = 10;
		if (!opt.seed_given)
			opt.seed = real_ns() ^ ((uint64_t)getpid() << 32);
	}

	signal(SIGPIPE, SIG_IGN);
	/* Only main_loop() takes these (sigtimedwait); threads inherit. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	stop_fd = eventfd(0, EFD_NONBLOCK);
	abandon_fd = eventfd(0, EFD_NONBLOCK);
	if (stop_fd < 0 || abandon_fd < 0)
		fatal("eventfd: %s", strerror(errno));
	total_hist = calloc(HIST_BUCKETS, sizeof(uint64_t));

	if (opt.server) {
		setup_server();
		printf("ready role=server protocol=%s ipv6=%d ports=%d-%d threads_per_port=%d max_message=%ld pid=%d\n",
		       proto_name(), opt.ipv6, opt.port,
		       opt.port + opt.ports - 1, opt.threads, opt.max_message,
		       (int)getpid());
	} else {
		setup_client(argc, argv);
		printf("start role=client protocol=%s ipv6=%d servers=%d ports=%d threads=%d workload=%s mean_bytes=%.1f max_bytes=%u cut_fraction=%.6f raised_fraction=%.6f one_way=%d",
		       proto_name(), opt.ipv6, num_servers, opt.ports,
		       opt.threads, wl.name, wl.mean, wl.max_size,
		       wl.cut_fraction, wl.raised_fraction, opt.one_way);
		if (opt.gbps > 0)
			printf(" mode=open gbps=%g rate_per_s=%.1f max_outstanding=%d",
			       opt.gbps, rate_total, opt.max_outstanding);
		else
			printf(" mode=closed outstanding=%d", opt.outstanding);
		printf(" time=%g rpcs=%ld seed=%" PRIu64 " pid=%d\n",
		       opt.time_s, opt.rpcs, opt.seed, (int)getpid());
		if (wl.cut_fraction > 0)
			fprintf(stderr, "cp_node: %.4f%% of workload %s's messages are larger than %ld bytes and are cut to that size\n",
				wl.cut_fraction * 100, wl.name,
				opt.max_message);
	}
	fflush(stdout);

	run_start = mono_ns();
	run_start_real = real_ns();
	if (rec_file)
		fprintf(rec_file, "# start_monotonic_ns=%" PRIu64 " start_realtime_ns=%" PRIu64 "\n# columns: start_ns rtt_ns req_bytes resp_bytes thread server\n",
			run_start, run_start_real);
	for (i = 0; i < num_workers; i++) {
		void *(*fn)(void *);

		if (opt.server)
			fn = opt.proto == PROTO_HOMA ? homa_server_thread :
						       tcp_server_thread;
		else
			fn = opt.proto == PROTO_HOMA ? homa_client_thread :
						       tcp_client_thread;
		if (pthread_create(&workers[i].thread, NULL, fn, &workers[i]))
			fatal("pthread_create: %s", strerror(errno));
		workers[i].started = true;
	}
	end = main_loop();
	for (i = 0; i < num_workers; i++)
		pthread_join(workers[i].thread, NULL);
	if (rec_file && fclose(rec_file))
		fatal("--records %s: %s", opt.records, strerror(errno));
	if (opt.histogram)
		write_histograms();
	rc = print_summary(end);
	return rc;
}
