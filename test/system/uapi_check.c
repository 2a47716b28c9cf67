// SPDX-License-Identifier: GPL-2.0
/*
 * Compile-time check of uapi/linux/homa.h from C: the header must be
 * self-contained (it is included first), coexist with the usual libc
 * socket headers, build warning-free, and have the ABI layouts that the
 * module and existing Homa applications use.  Built by uapi_compile.sh;
 * nothing here needs to run.
 */

#include <linux/homa.h>

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "uapi_layout.h"

int main(void)
{
	struct homa_sendmsg_args send_args = { 0 };
	struct homa_recvmsg_args recv_args;
	struct homa_info info;

	memset(&recv_args, 0, sizeof(recv_args));
	memset(&info, 0, sizeof(info));
	send_args.flags = HOMA_SENDMSG_PRIVATE;
	recv_args.bpage_offsets[HOMA_MAX_BPAGES - 1] = 1;
	info.rpc_info_length = sizeof(struct homa_rpc_info);
	printf("%u %u %llu\n", send_args.flags,
	       recv_args.bpage_offsets[HOMA_MAX_BPAGES - 1],
	       (unsigned long long)info.rpc_info_length);
	return 0;
}
