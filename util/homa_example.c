// SPDX-License-Identifier: GPL-2.0
/*
 * homa_example: the smallest complete Homa program, shown in README.md.
 * A server socket bound to port 4000 answers one request with its bytes
 * reversed; a client sends "hello, homa" and prints the response.
 *
 * Build: cc -Wall -I. -o homa_example util/homa_example.c -lpthread
 * Run:   ./homa_example [server-address]   (default 127.0.0.1)
 * Exit status 0 means the response was the request reversed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "uapi/linux/homa.h"

#define REGION_SIZE (64 * HOMA_BPAGE_SIZE)

/* Open a Homa socket with a receive buffer region. */
static int homa_open(char **region)
{
	struct homa_rcvbuf_args rcvbuf;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_HOMA);
	if (fd < 0)
		return -1;
	*region = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*region == MAP_FAILED)
		return -1;
	rcvbuf.start = (uintptr_t)*region;
	rcvbuf.length = REGION_SIZE;
	if (setsockopt(fd, IPPROTO_HOMA, SO_HOMA_RCVBUF, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		return -1;
	return fd;
}

static int server_fd;
static char *server_region;

/* Receive one request and send back its bytes reversed. */
static void *serve_one(void *arg __attribute__((unused)))
{
	struct homa_recvmsg_args recv_args = { 0 };
	struct homa_sendmsg_args send_args = { 0 };
	struct sockaddr_in client;
	struct msghdr msg = { 0 };
	char reply[HOMA_BPAGE_SIZE];
	struct iovec iov;
	int len, i;

	msg.msg_name = &client;
	msg.msg_namelen = sizeof(client);
	msg.msg_control = &recv_args;
	msg.msg_controllen = sizeof(recv_args);
	len = recvmsg(server_fd, &msg, 0);
	if (len < 0 || len > (int)sizeof(reply)) {
		perror("server recvmsg");
		return NULL;
	}
	/* Small messages fit in one bpage: the data is at offset 0's bpage. */
	for (i = 0; i < len; i++)
		reply[i] = server_region[recv_args.bpage_offsets[0] + len - 1 - i];

	send_args.id = recv_args.id;	/* an odd id: this is a response */
	iov.iov_base = reply;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = &send_args;
	msg.msg_controllen = 0;		/* msg_control stays a user pointer */
	if (sendmsg(server_fd, &msg, 0) < 0)
		perror("server sendmsg");
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in server = { .sin_family = AF_INET,
				      .sin_port = htons(4000) };
	struct homa_recvmsg_args recv_args = { 0 };
	struct homa_sendmsg_args send_args = { 0 };
	const char *request = "hello, homa";
	struct msghdr msg = { 0 };
	char *client_region;
	struct iovec iov;
	pthread_t thread;
	int fd, len;

	inet_pton(AF_INET, argc > 1 ? argv[1] : "127.0.0.1", &server.sin_addr);

	server_fd = homa_open(&server_region);
	if (server_fd < 0 || bind(server_fd, (struct sockaddr *)&server,
				  sizeof(server)) < 0) {
		perror("server socket");
		return 1;
	}
	pthread_create(&thread, NULL, serve_one, NULL);

	fd = homa_open(&client_region);
	if (fd < 0) {
		perror("client socket");
		return 1;
	}
	iov.iov_base = (void *)request;
	iov.iov_len = strlen(request);
	msg.msg_name = &server;
	msg.msg_namelen = sizeof(server);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = &send_args;	/* id 0: a new request */
	if (sendmsg(fd, &msg, 0) < 0) {
		perror("client sendmsg");
		return 1;
	}

	memset(&msg, 0, sizeof(msg));
	recv_args.id = send_args.id;	/* wait for this RPC's response */
	msg.msg_control = &recv_args;
	msg.msg_controllen = sizeof(recv_args);
	len = recvmsg(fd, &msg, 0);
	if (len < 0) {
		fprintf(stderr, "client recvmsg: RPC %llu: %s\n",
			(unsigned long long)recv_args.id, strerror(errno));
		return 1;
	}
	printf("response to RPC %llu: %.*s\n", (unsigned long long)recv_args.id,
	       len, client_region + recv_args.bpage_offsets[0]);
	pthread_join(thread, NULL);
	return len == (int)strlen(request) &&
	       memcmp(client_region + recv_args.bpage_offsets[0],
		      "amoh ,olleh", len) == 0 ? 0 : 1;
}
