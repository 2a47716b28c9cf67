// SPDX-License-Identifier: GPL-2.0
/*
 * Compile-time check of uapi/linux/homa.h from C++ (it is included after
 * the libc and C++ headers an application would use first): it must build
 * warning-free and have the same layouts as in C.  Built by
 * uapi_compile.sh; nothing here needs to run.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <linux/homa.h>

#include "uapi_layout.h"

int main()
{
	std::vector<homa_rpc_info> rpcs(4);
	homa_recvmsg_args recv_args{};
	homa_abort_args abort_args{};
	homa_info info{};

	info.rpc_info = reinterpret_cast<__u64>(rpcs.data());
	info.rpc_info_length = rpcs.size() * sizeof(rpcs[0]);
	recv_args.num_bpages = HOMA_MAX_BPAGES;
	abort_args.error = ECANCELED;
	std::string msg(info.error_msg, strnlen(info.error_msg,
						sizeof(info.error_msg)));
	std::printf("%zu %u %u %lu\n", msg.size(), recv_args.num_bpages,
		    abort_args.error, static_cast<unsigned long>(HOMAIOCINFO));
	return 0;
}
