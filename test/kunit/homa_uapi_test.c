// SPDX-License-Identifier: GPL-2.0

/* KUnit tests for the Homa user-space API (uapi/linux/homa.h): sizes and
 * field offsets of every structure passed across the system-call boundary,
 * and the values of its constants and ioctl numbers. Applications built
 * against the reference header must keep working, so the expected values
 * are written out here from the specification, not computed from the
 * header.
 */

#include <kunit/test.h>
#include <linux/compiler.h>
#include <linux/ioctl.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/stddef.h>

#include "uapi/linux/homa.h"

/**
 * struct homa_test_layout - One size or offset to check.
 * @what:     Description for failure messages.
 * @actual:   Value computed by the compiler from the header.
 * @expected: Value the ABI requires.
 */
struct homa_test_layout {
	const char *what;
	size_t actual;
	size_t expected;
};

#define HOMA_TEST_SIZE(type, size)					\
	{ "sizeof(struct " #type ")", sizeof(struct type), size }
#define HOMA_TEST_OFF(type, field, off)					\
	{ #type "." #field " offset", offsetof(struct type, field), off }
#define HOMA_TEST_FSIZE(type, field, size)				\
	{ #type "." #field " size", sizeof_field(struct type, field), size }

/* Checks every entry of a layout table. */
static void homa_test_check_layout(struct kunit *test,
				   const struct homa_test_layout *t,
				   unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ_MSG(test, t[i].actual, t[i].expected, "%s",
				    t[i].what);
}

static const struct homa_test_layout homa_test_sendmsg_args[] = {
	HOMA_TEST_SIZE(homa_sendmsg_args, 24),
	HOMA_TEST_OFF(homa_sendmsg_args, id, 0),
	HOMA_TEST_FSIZE(homa_sendmsg_args, id, 8),
	HOMA_TEST_OFF(homa_sendmsg_args, completion_cookie, 8),
	HOMA_TEST_FSIZE(homa_sendmsg_args, completion_cookie, 8),
	HOMA_TEST_OFF(homa_sendmsg_args, flags, 16),
	HOMA_TEST_FSIZE(homa_sendmsg_args, flags, 4),
	HOMA_TEST_OFF(homa_sendmsg_args, reserved, 20),
	HOMA_TEST_FSIZE(homa_sendmsg_args, reserved, 4),
};

/**
 * homa_uapi_test_sendmsg_args() - Layout of struct homa_sendmsg_args.
 * @test: Test context.
 */
static void homa_uapi_test_sendmsg_args(struct kunit *test)
{
	homa_test_check_layout(test, homa_test_sendmsg_args,
			       ARRAY_SIZE(homa_test_sendmsg_args));
}

static const struct homa_test_layout homa_test_recvmsg_args[] = {
	HOMA_TEST_SIZE(homa_recvmsg_args, 88),
	HOMA_TEST_OFF(homa_recvmsg_args, id, 0),
	HOMA_TEST_FSIZE(homa_recvmsg_args, id, 8),
	HOMA_TEST_OFF(homa_recvmsg_args, completion_cookie, 8),
	HOMA_TEST_FSIZE(homa_recvmsg_args, completion_cookie, 8),
	HOMA_TEST_OFF(homa_recvmsg_args, num_bpages, 16),
	HOMA_TEST_FSIZE(homa_recvmsg_args, num_bpages, 4),
	HOMA_TEST_OFF(homa_recvmsg_args, reserved, 20),
	HOMA_TEST_FSIZE(homa_recvmsg_args, reserved, 4),
	HOMA_TEST_OFF(homa_recvmsg_args, bpage_offsets, 24),
	HOMA_TEST_FSIZE(homa_recvmsg_args, bpage_offsets, 16 * 4),
	HOMA_TEST_OFF(homa_recvmsg_args, bpage_offsets[1], 28),
	HOMA_TEST_FSIZE(homa_recvmsg_args, bpage_offsets[1], 4),
	HOMA_TEST_OFF(homa_recvmsg_args, bpage_offsets[15], 84),
	HOMA_TEST_FSIZE(homa_recvmsg_args, bpage_offsets[15], 4),
};

/**
 * homa_uapi_test_recvmsg_args() - Layout of struct homa_recvmsg_args.
 * @test: Test context.
 */
static void homa_uapi_test_recvmsg_args(struct kunit *test)
{
	homa_test_check_layout(test, homa_test_recvmsg_args,
			       ARRAY_SIZE(homa_test_recvmsg_args));
}

static const struct homa_test_layout homa_test_rcvbuf_args[] = {
	HOMA_TEST_SIZE(homa_rcvbuf_args, 16),
	HOMA_TEST_OFF(homa_rcvbuf_args, start, 0),
	HOMA_TEST_FSIZE(homa_rcvbuf_args, start, 8),
	HOMA_TEST_OFF(homa_rcvbuf_args, length, 8),
	HOMA_TEST_FSIZE(homa_rcvbuf_args, length, 8),
};

/**
 * homa_uapi_test_rcvbuf_args() - Layout of struct homa_rcvbuf_args.
 * @test: Test context.
 */
static void homa_uapi_test_rcvbuf_args(struct kunit *test)
{
	homa_test_check_layout(test, homa_test_rcvbuf_args,
			       ARRAY_SIZE(homa_test_rcvbuf_args));
}

static const struct homa_test_layout homa_test_rpc_info[] = {
	HOMA_TEST_SIZE(homa_rpc_info, 184),
	HOMA_TEST_OFF(homa_rpc_info, id, 0),
	HOMA_TEST_FSIZE(homa_rpc_info, id, 8),
	HOMA_TEST_OFF(homa_rpc_info, peer, 8),
	HOMA_TEST_FSIZE(homa_rpc_info, peer, 128),
	HOMA_TEST_OFF(homa_rpc_info, peer.storage, 8),
	HOMA_TEST_FSIZE(homa_rpc_info, peer.storage, 128),
	HOMA_TEST_OFF(homa_rpc_info, peer.in4, 8),
	HOMA_TEST_FSIZE(homa_rpc_info, peer.in4, 16),
	HOMA_TEST_OFF(homa_rpc_info, peer.in6, 8),
	HOMA_TEST_FSIZE(homa_rpc_info, peer.in6, 28),
	HOMA_TEST_OFF(homa_rpc_info, completion_cookie, 136),
	HOMA_TEST_FSIZE(homa_rpc_info, completion_cookie, 8),
	HOMA_TEST_OFF(homa_rpc_info, tx_length, 144),
	HOMA_TEST_FSIZE(homa_rpc_info, tx_length, 4),
	HOMA_TEST_OFF(homa_rpc_info, tx_sent, 148),
	HOMA_TEST_FSIZE(homa_rpc_info, tx_sent, 4),
	HOMA_TEST_OFF(homa_rpc_info, tx_granted, 152),
	HOMA_TEST_FSIZE(homa_rpc_info, tx_granted, 4),
	HOMA_TEST_OFF(homa_rpc_info, tx_prio, 156),
	HOMA_TEST_FSIZE(homa_rpc_info, tx_prio, 4),
	HOMA_TEST_OFF(homa_rpc_info, rx_length, 160),
	HOMA_TEST_FSIZE(homa_rpc_info, rx_length, 4),
	HOMA_TEST_OFF(homa_rpc_info, rx_remaining, 164),
	HOMA_TEST_FSIZE(homa_rpc_info, rx_remaining, 4),
	HOMA_TEST_OFF(homa_rpc_info, rx_gaps, 168),
	HOMA_TEST_FSIZE(homa_rpc_info, rx_gaps, 4),
	HOMA_TEST_OFF(homa_rpc_info, rx_gap_bytes, 172),
	HOMA_TEST_FSIZE(homa_rpc_info, rx_gap_bytes, 4),
	HOMA_TEST_OFF(homa_rpc_info, rx_granted, 176),
	HOMA_TEST_FSIZE(homa_rpc_info, rx_granted, 4),
	HOMA_TEST_OFF(homa_rpc_info, flags, 180),
	HOMA_TEST_FSIZE(homa_rpc_info, flags, 2),
	HOMA_TEST_OFF(homa_rpc_info, _pad, 182),
	HOMA_TEST_FSIZE(homa_rpc_info, _pad, 2),
};

/**
 * homa_uapi_test_rpc_info() - Layout of struct homa_rpc_info, and the
 * signedness of the lengths that use -1 for "no message".
 * @test: Test context.
 */
static void homa_uapi_test_rpc_info(struct kunit *test)
{
	struct homa_rpc_info *info = NULL;

	homa_test_check_layout(test, homa_test_rpc_info,
			       ARRAY_SIZE(homa_test_rpc_info));
	KUNIT_EXPECT_TRUE(test, is_signed_type(typeof(info->tx_length)));
	KUNIT_EXPECT_TRUE(test, is_signed_type(typeof(info->rx_length)));
	KUNIT_EXPECT_FALSE(test, is_signed_type(typeof(info->tx_sent)));
	KUNIT_EXPECT_FALSE(test, is_signed_type(typeof(info->id)));
	KUNIT_EXPECT_EQ(test, HOMA_RPC_BUF_STALL, 1);
	KUNIT_EXPECT_EQ(test, HOMA_RPC_PRIVATE, 2);
	KUNIT_EXPECT_EQ(test, HOMA_RPC_RX_READY, 4);
	KUNIT_EXPECT_EQ(test, HOMA_RPC_RX_COPY, 8);
}

static const struct homa_test_layout homa_test_info[] = {
	HOMA_TEST_SIZE(homa_info, 136),
	HOMA_TEST_OFF(homa_info, rpc_info, 0),
	HOMA_TEST_FSIZE(homa_info, rpc_info, 8),
	HOMA_TEST_OFF(homa_info, rpc_info_length, 8),
	HOMA_TEST_FSIZE(homa_info, rpc_info_length, 8),
	HOMA_TEST_OFF(homa_info, bpool_avail_bytes, 16),
	HOMA_TEST_FSIZE(homa_info, bpool_avail_bytes, 8),
	HOMA_TEST_OFF(homa_info, port, 24),
	HOMA_TEST_FSIZE(homa_info, port, 4),
	HOMA_TEST_OFF(homa_info, num_rpcs, 28),
	HOMA_TEST_FSIZE(homa_info, num_rpcs, 4),
	HOMA_TEST_OFF(homa_info, error_msg, 32),
	HOMA_TEST_FSIZE(homa_info, error_msg, 104),
};

/**
 * homa_uapi_test_info() - Layout of struct homa_info.
 * @test: Test context.
 */
static void homa_uapi_test_info(struct kunit *test)
{
	homa_test_check_layout(test, homa_test_info,
			       ARRAY_SIZE(homa_test_info));
}

static const struct homa_test_layout homa_test_abort_args[] = {
	HOMA_TEST_SIZE(homa_abort_args, 32),
	HOMA_TEST_OFF(homa_abort_args, id, 0),
	HOMA_TEST_FSIZE(homa_abort_args, id, 8),
	HOMA_TEST_OFF(homa_abort_args, error, 8),
	HOMA_TEST_FSIZE(homa_abort_args, error, 4),
	HOMA_TEST_OFF(homa_abort_args, _pad1, 12),
	HOMA_TEST_FSIZE(homa_abort_args, _pad1, 4),
	HOMA_TEST_OFF(homa_abort_args, _pad2, 16),
	HOMA_TEST_FSIZE(homa_abort_args, _pad2, 16),
};

/**
 * homa_uapi_test_abort_args() - Layout of struct homa_abort_args.
 * @test: Test context.
 */
static void homa_uapi_test_abort_args(struct kunit *test)
{
	homa_test_check_layout(test, homa_test_abort_args,
			       ARRAY_SIZE(homa_test_abort_args));
}

/**
 * homa_uapi_test_constants() - Protocol number, limits, buffer geometry,
 * port ranges, socket options and sendmsg flags.
 * @test: Test context.
 */
static void homa_uapi_test_constants(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, IPPROTO_HOMA, 146);
	KUNIT_EXPECT_EQ(test, HOMA_MAX_MESSAGE_LENGTH, 1000000);
	KUNIT_EXPECT_EQ(test, HOMA_BPAGE_SIZE, 65536);
	KUNIT_EXPECT_EQ(test, HOMA_BPAGE_SHIFT, 16);
	KUNIT_EXPECT_EQ(test, 1 << HOMA_BPAGE_SHIFT, HOMA_BPAGE_SIZE);
	KUNIT_EXPECT_EQ(test, HOMA_MAX_BPAGES, 16);

	/* The largest message fits in HOMA_MAX_BPAGES, and needs all. */
	KUNIT_EXPECT_GE(test, HOMA_MAX_BPAGES * HOMA_BPAGE_SIZE,
			HOMA_MAX_MESSAGE_LENGTH);
	KUNIT_EXPECT_LT(test, (HOMA_MAX_BPAGES - 1) * HOMA_BPAGE_SIZE,
			HOMA_MAX_MESSAGE_LENGTH);
	KUNIT_EXPECT_EQ(test, sizeof_field(struct homa_recvmsg_args,
					   bpage_offsets) / sizeof(__u32),
			HOMA_MAX_BPAGES);

	KUNIT_EXPECT_EQ(test, HOMA_MIN_DEFAULT_PORT, 0x8000);
	KUNIT_EXPECT_EQ(test, SO_HOMA_RCVBUF, 10);
	KUNIT_EXPECT_EQ(test, SO_HOMA_SERVER, 11);
	KUNIT_EXPECT_EQ(test, HOMA_SENDMSG_PRIVATE, 1);
	KUNIT_EXPECT_EQ(test, HOMA_SENDMSG_VALID_FLAGS, 1);
}

/**
 * homa_uapi_test_ioctls() - ioctl numbers, both as _IOWR() expressions
 * and as the numbers compiled into existing x86 binaries.
 * @test: Test context.
 */
static void homa_uapi_test_ioctls(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, HOMAIOCINFO, _IOWR('h', 0x90, struct homa_info));
	KUNIT_EXPECT_EQ(test, _IOC_DIR(HOMAIOCINFO), _IOC_READ | _IOC_WRITE);
	KUNIT_EXPECT_EQ(test, _IOC_TYPE(HOMAIOCINFO), 'h');
	KUNIT_EXPECT_EQ(test, _IOC_NR(HOMAIOCINFO), 0x90);
	KUNIT_EXPECT_EQ(test, _IOC_SIZE(HOMAIOCINFO), 136);

	KUNIT_EXPECT_EQ(test, HOMAIOCABORT,
			_IOWR('h', 0x91, struct homa_abort_args));
	KUNIT_EXPECT_EQ(test, _IOC_DIR(HOMAIOCABORT), _IOC_READ | _IOC_WRITE);
	KUNIT_EXPECT_EQ(test, _IOC_TYPE(HOMAIOCABORT), 'h');
	KUNIT_EXPECT_EQ(test, _IOC_NR(HOMAIOCABORT), 0x91);
	KUNIT_EXPECT_EQ(test, _IOC_SIZE(HOMAIOCABORT), 32);

#ifdef CONFIG_X86
	KUNIT_EXPECT_EQ(test, HOMAIOCINFO, 0xc0886890U);
	KUNIT_EXPECT_EQ(test, HOMAIOCABORT, 0xc0206891U);
#endif
}

static struct kunit_case homa_uapi_test_cases[] = {
	KUNIT_CASE(homa_uapi_test_sendmsg_args),
	KUNIT_CASE(homa_uapi_test_recvmsg_args),
	KUNIT_CASE(homa_uapi_test_rcvbuf_args),
	KUNIT_CASE(homa_uapi_test_rpc_info),
	KUNIT_CASE(homa_uapi_test_info),
	KUNIT_CASE(homa_uapi_test_abort_args),
	KUNIT_CASE(homa_uapi_test_constants),
	KUNIT_CASE(homa_uapi_test_ioctls),
	{}
};

static struct kunit_suite homa_uapi_test_suite = {
	.name = "homa_uapi",
	.test_cases = homa_uapi_test_cases,
};

kunit_test_suite(homa_uapi_test_suite);

MODULE_DESCRIPTION("KUnit tests for the Homa user-space API layout");
MODULE_LICENSE("GPL");
