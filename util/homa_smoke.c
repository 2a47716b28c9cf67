// SPDX-License-Identifier: GPL-2.0
/* Minimal echo smoke test: one process, server and client sockets on
 * loopback, sizes given on the command line, every byte checked.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <unistd.h>
#include "../uapi/linux/homa.h"

#define REGION (1000 * HOMA_BPAGE_SIZE)

static int setup(int port, char **region)
{
	struct homa_rcvbuf_args a;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_HOMA);

	if (fd < 0) { perror("socket"); exit(1); }
	*region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	a.start = (uintptr_t)*region; a.length = REGION;
	if (setsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &a, sizeof(a))) { perror("rcvbuf"); exit(1); }
	if (port) {
		sin.sin_port = htons(port);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin))) { perror("bind"); exit(1); }
	}
	return fd;
}

static int srv_fd; static char *srv_region;

static void *server(void *arg)
{
	struct homa_recvmsg_args ra = {0};

	for (;;) {
		struct homa_sendmsg_args sa = {0};
		struct sockaddr_in from;
		struct msghdr m = {0};
		struct iovec iov[HOMA_MAX_BPAGES];
		int len, i;

		m.msg_name = &from; m.msg_namelen = sizeof(from);
		m.msg_control = &ra; m.msg_controllen = sizeof(ra);
		ra.id = 0;
		len = recvmsg(srv_fd, &m, 0);
		if (len < 0) { perror("server recvmsg"); return NULL; }
		for (i = 0; i < (int)ra.num_bpages; i++) {
			iov[i].iov_base = srv_region + ra.bpage_offsets[i];
			iov[i].iov_len = len - i * HOMA_BPAGE_SIZE > HOMA_BPAGE_SIZE ? HOMA_BPAGE_SIZE : len - i * HOMA_BPAGE_SIZE;
		}
		sa.id = ra.id;
		m.msg_iov = iov; m.msg_iovlen = ra.num_bpages;
		m.msg_control = &sa; m.msg_controllen = 0;
		if (sendmsg(srv_fd, &m, 0) < 0) { perror("server sendmsg"); return NULL; }
	}
}

int main(int argc, char **argv)
{
	char *cli_region; pthread_t t; int cfd, i, fails = 0;
	struct homa_recvmsg_args ra = {0};

	srv_fd = setup(500, &srv_region);
	cfd = setup(0, &cli_region);
	pthread_create(&t, NULL, server, NULL);
	for (i = 1; i < argc; i++) {
		int size = atoi(argv[i]), len, j, off = 0;
		char *buf = malloc(size);
		struct homa_sendmsg_args sa = {0};
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(500) };
		struct msghdr m = {0};
		struct iovec iov = { buf, size };

		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		for (j = 0; j < size; j++) buf[j] = (char)(j * 7 + size);
		m.msg_name = &to; m.msg_namelen = sizeof(to);
		m.msg_iov = &iov; m.msg_iovlen = 1;
		m.msg_control = &sa; m.msg_controllen = 0;
		if (sendmsg(cfd, &m, 0) < 0) { perror("client sendmsg"); return 1; }
		memset(&m, 0, sizeof(m));
		m.msg_control = &ra; m.msg_controllen = sizeof(ra);
		ra.id = 0;
		len = recvmsg(cfd, &m, 0);
		if (len != size || ra.id != sa.id) { printf("size %d: len %d id %llu/%llu errno %d\n", size, len, ra.id, sa.id, errno); fails++; continue; }
		for (j = 0; j < (int)ra.num_bpages; j++) {
			int n = size - off > HOMA_BPAGE_SIZE ? HOMA_BPAGE_SIZE : size - off;
			if (memcmp(cli_region + ra.bpage_offsets[j], buf + off, n)) { printf("size %d: data mismatch in bpage %d\n", size, j); fails++; }
			off += n;
		}
		printf("size %d ok\n", size);
		free(buf);
	}
	{	/* A request to a port nobody serves fails with ENOTCONN. */
		struct homa_sendmsg_args sa = {0};
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(999) };
		struct msghdr m = {0};
		struct iovec iov = { "x", 1 };
		int len;

		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		m.msg_name = &to; m.msg_namelen = sizeof(to);
		m.msg_iov = &iov; m.msg_iovlen = 1;
		m.msg_control = &sa;
		if (sendmsg(cfd, &m, 0) < 0) { perror("sendmsg 999"); fails++; }
		memset(&m, 0, sizeof(m));
		ra.id = 0;
		m.msg_control = &ra; m.msg_controllen = sizeof(ra);
		len = recvmsg(cfd, &m, 0);
		printf("no server: len %d errno %d (%s) id %llu/%llu\n", len, errno, strerror(errno), ra.id, sa.id);
		if (len != -1 || errno != ENOTCONN || ra.id != sa.id) fails++;
	}
	printf("%d failures\n", fails);
	return fails != 0;
}
