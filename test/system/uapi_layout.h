/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layout assertions shared by uapi_check.c and uapi_check.cc: sizes and
 * field offsets of the uAPI structs (PROTOCOL.md section 2), the ioctl
 * numbers and the constants.  static_assert is C11 <assert.h> / C++11.
 */

#ifndef UAPI_LAYOUT_H
#define UAPI_LAYOUT_H

#define CHECK_SIZE(type, size) \
	static_assert(sizeof(type) == (size), "sizeof(" #type ") must be " #size)
#define CHECK_OFFSET(type, field, off) \
	static_assert(offsetof(type, field) == (off), \
		      "offsetof(" #type ", " #field ") must be " #off)

CHECK_SIZE(struct homa_sendmsg_args, 24);
CHECK_OFFSET(struct homa_sendmsg_args, id, 0);
CHECK_OFFSET(struct homa_sendmsg_args, completion_cookie, 8);
CHECK_OFFSET(struct homa_sendmsg_args, flags, 16);
CHECK_OFFSET(struct homa_sendmsg_args, reserved, 20);

CHECK_SIZE(struct homa_recvmsg_args, 88);
CHECK_OFFSET(struct homa_recvmsg_args, id, 0);
CHECK_OFFSET(struct homa_recvmsg_args, completion_cookie, 8);
CHECK_OFFSET(struct homa_recvmsg_args, num_bpages, 16);
CHECK_OFFSET(struct homa_recvmsg_args, reserved, 20);
CHECK_OFFSET(struct homa_recvmsg_args, bpage_offsets, 24);

CHECK_SIZE(struct homa_rcvbuf_args, 16);
CHECK_OFFSET(struct homa_rcvbuf_args, start, 0);
CHECK_OFFSET(struct homa_rcvbuf_args, length, 8);

CHECK_SIZE(struct homa_rpc_info, 184);
CHECK_OFFSET(struct homa_rpc_info, id, 0);
CHECK_OFFSET(struct homa_rpc_info, peer, 8);
CHECK_OFFSET(struct homa_rpc_info, completion_cookie, 136);
CHECK_OFFSET(struct homa_rpc_info, tx_length, 144);
CHECK_OFFSET(struct homa_rpc_info, tx_sent, 148);
CHECK_OFFSET(struct homa_rpc_info, tx_granted, 152);
CHECK_OFFSET(struct homa_rpc_info, tx_prio, 156);
CHECK_OFFSET(struct homa_rpc_info, rx_length, 160);
CHECK_OFFSET(struct homa_rpc_info, rx_remaining, 164);
CHECK_OFFSET(struct homa_rpc_info, rx_gaps, 168);
CHECK_OFFSET(struct homa_rpc_info, rx_gap_bytes, 172);
CHECK_OFFSET(struct homa_rpc_info, rx_granted, 176);
CHECK_OFFSET(struct homa_rpc_info, flags, 180);

CHECK_SIZE(struct homa_info, 136);
CHECK_OFFSET(struct homa_info, rpc_info, 0);
CHECK_OFFSET(struct homa_info, rpc_info_length, 8);
CHECK_OFFSET(struct homa_info, bpool_avail_bytes, 16);
CHECK_OFFSET(struct homa_info, port, 24);
CHECK_OFFSET(struct homa_info, num_rpcs, 28);
CHECK_OFFSET(struct homa_info, error_msg, 32);

CHECK_SIZE(struct homa_abort_args, 32);
CHECK_OFFSET(struct homa_abort_args, id, 0);
CHECK_OFFSET(struct homa_abort_args, error, 8);
CHECK_OFFSET(struct homa_abort_args, _pad1, 12);
CHECK_OFFSET(struct homa_abort_args, _pad2, 16);

static_assert(HOMAIOCINFO == 0xc0886890u, "HOMAIOCINFO");
static_assert(HOMAIOCABORT == 0xc0206891u, "HOMAIOCABORT");
static_assert(IPPROTO_HOMA == 146, "IPPROTO_HOMA");
static_assert(SO_HOMA_RCVBUF == 10, "SO_HOMA_RCVBUF");
static_assert(SO_HOMA_SERVER == 11, "SO_HOMA_SERVER");
static_assert(HOMA_MAX_MESSAGE_LENGTH == 1000000, "HOMA_MAX_MESSAGE_LENGTH");
static_assert(HOMA_BPAGE_SHIFT == 16, "HOMA_BPAGE_SHIFT");
static_assert(HOMA_BPAGE_SIZE == 65536, "HOMA_BPAGE_SIZE");
static_assert(HOMA_MAX_BPAGES == 16, "HOMA_MAX_BPAGES");
static_assert(HOMA_MIN_DEFAULT_PORT == 0x8000, "HOMA_MIN_DEFAULT_PORT");
static_assert(HOMA_SENDMSG_PRIVATE == 1, "HOMA_SENDMSG_PRIVATE");

#endif /* UAPI_LAYOUT_H */
