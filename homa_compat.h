/* SPDX-License-Identifier: GPL-2.0 */

/* Every difference between the kernel versions Homa builds against lives
 * here, so the rest of the code reads like code for one kernel. Today the
 * module targets Linux 6.1 (Debian 12); later kernels add cases below.
 */

#ifndef _HOMA_COMPAT_H
#define _HOMA_COMPAT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "Homa needs Linux 6.1 or later"
#endif

/* Up to 6.4, inet6_create() finds the ipv6_pinfo of a socket at the end of
 * the protocol's object (obj_size - sizeof(struct ipv6_pinfo)), so it must
 * be the last member of struct homa_v6_sock. 6.5 added
 * proto.ipv6_pinfo_offset, which must then be set instead.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define HOMA_PROTO_IPV6_PINFO_OFFSET(type, member) \
	.ipv6_pinfo_offset = offsetof(type, member),
#else
#define HOMA_PROTO_IPV6_PINFO_OFFSET(type, member)
#endif

#endif /* _HOMA_COMPAT_H */
