// SPDX-License-Identifier: GPL-2.0

/* KUnit tests for the receive buffer pool (homa_pool.c): checks of the
 * region, where messages of each size class land, the packing of tails
 * into a shared bpage, all-or-nothing allocation when space runs out,
 * rejection of bad offsets handed back, the free space reported, and
 * teardown with messages outstanding. A randomised run checks against a
 * byte map that pieces never overlap and that an allocation succeeds
 * exactly when the message fits in the space the pool reports as free.
 * The pool never touches the region, so it is just a plausible user
 * address; KUnit runs in a kernel thread, where access_ok() still checks
 * against the user address limit.
 */

#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/bottom_half.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/module.h>
#include <linux/prandom.h>

#include "homa_pool.h"

/* Page-aligned user address used as the region. */
#define HOMA_TEST_REGION	0x10000000ULL

/* Bpages in the region of most tests. */
#define HOMA_TEST_BPAGES	4

#define HOMA_TEST_BPAGE_BYTES(n)	((u64)(n) << HOMA_BPAGE_SHIFT)

/* The pool of the current test; set up by homa_pool_test_init(). */
static struct homa_pool *homa_test_pool(struct kunit *test)
{
	return test->priv;
}

static int homa_pool_test_init(struct kunit *test)
{
	struct homa_pool *pool;

	pool = kunit_kzalloc(test, sizeof(*pool), GFP_KERNEL);
	if (!pool)
		return -ENOMEM;
	homa_pool_init(pool);
	test->priv = pool;
	return 0;
}

static void homa_pool_test_exit(struct kunit *test)
{
	homa_pool_destroy(homa_test_pool(test));
}

/* Give the test's pool a region of @num_bpages bpages. */
static struct homa_pool *homa_test_setup(struct kunit *test, u32 num_bpages)
{
	struct homa_pool *pool = homa_test_pool(test);

	u64 length = HOMA_TEST_BPAGE_BYTES(num_bpages);

	KUNIT_ASSERT_EQ(test,
			homa_pool_set_region(pool, HOMA_TEST_REGION, length),
			0);
	return pool;
}

/* Allocate space for a message that must fit, in softirq-like context. */
static u32 homa_test_alloc(struct kunit *test, struct homa_pool *pool,
			   u32 length, u32 *offsets)
{
	u32 num = 0;
	int ret;

	local_bh_disable();
	ret = homa_pool_alloc_msg(pool, length, offsets, &num);
	local_bh_enable();
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "length %u", length);
	return num;
}

static void homa_pool_test_region_checks(struct kunit *test)
{
	struct homa_pool *pool = homa_test_pool(test);
	u64 two = HOMA_TEST_BPAGE_BYTES(2);
	u64 top = TASK_SIZE_MAX;
	u64 start, length;
	int ret;

	/* Misaligned starts. */
	ret = homa_pool_set_region(pool, HOMA_TEST_REGION + 1, two);
	KUNIT_EXPECT_EQ(test, ret, -EINVAL);
	ret = homa_pool_set_region(pool, HOMA_TEST_REGION + PAGE_SIZE / 2, two);
	KUNIT_EXPECT_EQ(test, ret, -EINVAL);

	/* Too few whole bpages. */
	ret = homa_pool_set_region(pool, HOMA_TEST_REGION, 0);
	KUNIT_EXPECT_EQ(test, ret, -EINVAL);
	ret = homa_pool_set_region(pool, HOMA_TEST_REGION, HOMA_BPAGE_SIZE);
	KUNIT_EXPECT_EQ(test, ret, -EINVAL);
	ret = homa_pool_set_region(pool, HOMA_TEST_REGION, two - 1);
	KUNIT_EXPECT_EQ(test, ret, -EINVAL);

	/* Too many bpages. */
	ret = homa_pool_set_region(pool, HOMA_TEST_REGION, U64_MAX);
	KUNIT_EXPECT_EQ(test, ret, -EINVAL);
	length = HOMA_TEST_BPAGE_BYTES(HOMA_POOL_MAX_BPAGES + 1);
	ret = homa_pool_set_region(pool, HOMA_TEST_REGION, length);
	KUNIT_EXPECT_EQ(test, ret, -EINVAL);

	/* Wrapping past the top, kernel addresses, past the user limit. */
	ret = homa_pool_set_region(pool, (u64)-PAGE_SIZE, two);
	KUNIT_EXPECT_EQ(test, ret, -EFAULT);
	ret = homa_pool_set_region(pool, (u64)-(2 * two), two);
	KUNIT_EXPECT_EQ(test, ret, -EFAULT);
	ret = homa_pool_set_region(pool, (uintptr_t)pool & PAGE_MASK, two);
	KUNIT_EXPECT_EQ(test, ret, -EFAULT);
	ret = homa_pool_set_region(pool, top - HOMA_BPAGE_SIZE, two);
	KUNIT_EXPECT_EQ(test, ret, -EFAULT);

	/* Failures leave the pool without a region. */
	homa_pool_get_region(pool, &start, &length);
	KUNIT_EXPECT_EQ(test, start, 0);
	KUNIT_EXPECT_EQ(test, length, 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), 0);

	/* Ending right at the user address limit is fine. */
	ret = homa_pool_set_region(pool, top - two, two);
	KUNIT_EXPECT_EQ(test, ret, 0);
	homa_pool_get_region(pool, &start, &length);
	KUNIT_EXPECT_EQ(test, start, top - two);
	KUNIT_EXPECT_EQ(test, length, two);
	homa_pool_destroy(pool);

	/* A partial bpage at the end is ignored. */
	ret = homa_pool_set_region(pool, HOMA_TEST_REGION,
				   HOMA_TEST_BPAGE_BYTES(3) - 1);
	KUNIT_ASSERT_EQ(test, ret, 0);
	homa_pool_get_region(pool, &start, &length);
	KUNIT_EXPECT_EQ(test, start, HOMA_TEST_REGION);
	KUNIT_EXPECT_EQ(test, length, two);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), two);

	/* A region cannot be replaced. */
	ret = homa_pool_set_region(pool,
				   HOMA_TEST_REGION + HOMA_TEST_BPAGE_BYTES(16),
				   HOMA_TEST_BPAGE_BYTES(8));
	KUNIT_EXPECT_EQ(test, ret, -EINVAL);
	homa_pool_get_region(pool, &start, &length);
	KUNIT_EXPECT_EQ(test, start, HOMA_TEST_REGION);
	KUNIT_EXPECT_EQ(test, length, two);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), two);
}

static void homa_pool_test_largest_region(struct kunit *test)
{
	struct homa_pool *pool = homa_test_pool(test);
	u32 offsets[HOMA_MAX_BPAGES];
	u32 num, n = 0, i;
	u64 length;

	/* Exactly the limit; the last offsets are just below 4 GiB. */
	length = HOMA_TEST_BPAGE_BYTES(HOMA_POOL_MAX_BPAGES);
	KUNIT_ASSERT_EQ(test, homa_pool_set_region(pool, HOMA_TEST_REGION,
						   length), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), length);
	while (n < HOMA_POOL_MAX_BPAGES) {
		num = homa_test_alloc(test, pool, HOMA_BPAGE_SIZE, offsets);
		KUNIT_ASSERT_EQ(test, num, 1);
		KUNIT_ASSERT_EQ(test, offsets[0], n << HOMA_BPAGE_SHIFT);
		n++;
	}
	KUNIT_EXPECT_EQ(test, offsets[0], 0xffff0000U);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_alloc_msg(pool, 1, offsets, &num),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, offsets), 0);
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 1, offsets), 1);
	KUNIT_EXPECT_EQ(test, offsets[0], 0xffff0000U);
	KUNIT_EXPECT_EQ(test, (unsigned long)homa_pool_addr(pool, offsets[0]),
			HOMA_TEST_REGION + 0xffff0000ULL);
	for (i = 0; i < HOMA_POOL_MAX_BPAGES; i++) {
		offsets[0] = i << HOMA_BPAGE_SHIFT;
		KUNIT_ASSERT_EQ(test, homa_pool_release(pool, 1, offsets), 0);
	}
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), length);
}

static void homa_pool_test_no_region(struct kunit *test)
{
	struct homa_pool *pool = homa_test_pool(test);
	u32 offsets[HOMA_MAX_BPAGES] = {};
	u32 num = 99;

	KUNIT_EXPECT_EQ(test, homa_pool_alloc_msg(pool, 100, offsets, &num),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, num, 99);
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, offsets), -EINVAL);
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 0, offsets), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), 0);

	/* Destroying a pool that never had a region, twice. */
	homa_pool_destroy(pool);
	homa_pool_destroy(pool);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), 0);
}

static void homa_pool_test_bad_lengths(struct kunit *test)
{
	struct homa_pool *pool = homa_test_setup(test, HOMA_TEST_BPAGES);
	u32 offsets[HOMA_MAX_BPAGES];
	u32 num = 99;

	KUNIT_EXPECT_EQ(test, homa_pool_alloc_msg(pool, 0, offsets, &num),
			-EINVAL);
	KUNIT_EXPECT_EQ(test,
			homa_pool_alloc_msg(pool, HOMA_MAX_MESSAGE_LENGTH + 1,
					    offsets, &num),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, homa_pool_alloc_msg(pool, U32_MAX, offsets,
						  &num), -EINVAL);
	KUNIT_EXPECT_EQ(test, num, 99);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool),
			HOMA_TEST_BPAGE_BYTES(HOMA_TEST_BPAGES));
}

static void homa_pool_test_alloc_1(struct kunit *test)
{
	struct homa_pool *pool = homa_test_setup(test, HOMA_TEST_BPAGES);
	u32 offsets[HOMA_MAX_BPAGES];

	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 1, offsets), 1);
	KUNIT_EXPECT_EQ(test, offsets[0], 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool),
			HOMA_TEST_BPAGE_BYTES(HOMA_TEST_BPAGES) -
			HOMA_POOL_TAIL_ALIGN);
	KUNIT_EXPECT_EQ(test, (unsigned long)homa_pool_addr(pool, offsets[0]),
			HOMA_TEST_REGION);

	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, offsets), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool),
			HOMA_TEST_BPAGE_BYTES(HOMA_TEST_BPAGES));
	/* Returned twice. */
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, offsets), -EINVAL);
}

static void homa_pool_test_alloc_65535(struct kunit *test)
{
	struct homa_pool *pool = homa_test_setup(test, HOMA_TEST_BPAGES);
	u32 offsets[HOMA_MAX_BPAGES];

	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 65535, offsets), 1);
	KUNIT_EXPECT_EQ(test, offsets[0], 0);
	/* The tail rounds up to fill its bpage. */
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool),
			HOMA_TEST_BPAGE_BYTES(HOMA_TEST_BPAGES - 1));

	/* The next tail needs a bpage of its own. */
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 10, offsets), 1);
	KUNIT_EXPECT_EQ(test, offsets[0], HOMA_BPAGE_SIZE);
}

static void homa_pool_test_alloc_65536(struct kunit *test)
{
	struct homa_pool *pool = homa_test_setup(test, HOMA_TEST_BPAGES);
	u32 offsets[HOMA_MAX_BPAGES];

	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 65536, offsets), 1);
	KUNIT_EXPECT_EQ(test, offsets[0], 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool),
			HOMA_TEST_BPAGE_BYTES(HOMA_TEST_BPAGES - 1));

	/* A whole bpage is not shared with tails. */
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 10, offsets), 1);
	KUNIT_EXPECT_EQ(test, offsets[0], HOMA_BPAGE_SIZE);
}

static void homa_pool_test_alloc_65537(struct kunit *test)
{
	struct homa_pool *pool = homa_test_setup(test, HOMA_TEST_BPAGES);
	u32 offsets[HOMA_MAX_BPAGES];

	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 65537, offsets), 2);
	KUNIT_EXPECT_EQ(test, offsets[0], 0);
	KUNIT_EXPECT_EQ(test, offsets[1], HOMA_BPAGE_SIZE);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool),
			HOMA_TEST_BPAGE_BYTES(HOMA_TEST_BPAGES - 1) -
			HOMA_POOL_TAIL_ALIGN);

	/* The one-byte tail shares its bpage with the next one. */
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 10, offsets), 1);
	KUNIT_EXPECT_EQ(test, offsets[0],
			HOMA_BPAGE_SIZE + HOMA_POOL_TAIL_ALIGN);
}

static void homa_pool_test_alloc_max(struct kunit *test)
{
	struct homa_pool *pool = homa_test_setup(test, 20);
	u32 tail = HOMA_MAX_MESSAGE_LENGTH % HOMA_BPAGE_SIZE;
	u32 offsets[HOMA_MAX_BPAGES];
	u32 i;

	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool,
					      HOMA_MAX_MESSAGE_LENGTH, offsets),
			HOMA_MAX_BPAGES);
	KUNIT_EXPECT_EQ(test, HOMA_MAX_BPAGES, 16);
	for (i = 0; i < HOMA_MAX_BPAGES; i++)
		KUNIT_EXPECT_EQ(test, offsets[i], i << HOMA_BPAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool),
			HOMA_TEST_BPAGE_BYTES(20) -
			HOMA_TEST_BPAGE_BYTES(HOMA_MAX_BPAGES - 1) -
			ALIGN(tail, HOMA_POOL_TAIL_ALIGN));
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, HOMA_MAX_BPAGES,
						offsets), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool),
			HOMA_TEST_BPAGE_BYTES(20));
}

static void homa_pool_test_tails_share_bpage(struct kunit *test)
{
	struct homa_pool *pool = homa_test_setup(test, HOMA_TEST_BPAGES);
	u64 total = HOMA_TEST_BPAGE_BYTES(HOMA_TEST_BPAGES);
	u32 a[HOMA_MAX_BPAGES], b[HOMA_MAX_BPAGES];
	u32 c[HOMA_MAX_BPAGES], d[HOMA_MAX_BPAGES];

	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 100, a), 1);
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 200, b), 1);
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 1000, c), 1);
	KUNIT_EXPECT_EQ(test, a[0], 0);
	KUNIT_EXPECT_EQ(test, b[0], 128);
	KUNIT_EXPECT_EQ(test, c[0], 384);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), total - 1408);

	/* A whole bpage for the first 64 KiB, the tail shared. */
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 65536 + 5, d), 2);
	KUNIT_EXPECT_EQ(test, d[0], HOMA_BPAGE_SIZE);
	KUNIT_EXPECT_EQ(test, d[1], 1408);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool),
			total - HOMA_BPAGE_SIZE - 1472);

	/* The shared bpage is free only when its last piece is back. */
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, b), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 2, d), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), total - 1472);
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, a), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, c), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), total);
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, c), -EINVAL);

	/* Once free, it is used from its start again. */
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 100, a), 1);
	KUNIT_EXPECT_EQ(test, a[0], 0);
}

static void homa_pool_test_tail_does_not_fit(struct kunit *test)
{
	struct homa_pool *pool = homa_test_setup(test, HOMA_TEST_BPAGES);
	u32 a[HOMA_MAX_BPAGES], b[HOMA_MAX_BPAGES];
	u32 c[HOMA_MAX_BPAGES], d[HOMA_MAX_BPAGES];

	/* A small shared bpage stays the shared one after a big tail... */
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 10000, a), 1);
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 60000, b), 1);
	KUNIT_EXPECT_EQ(test, a[0], 0);
	KUNIT_EXPECT_EQ(test, b[0], HOMA_BPAGE_SIZE);
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 50, c), 1);
	KUNIT_EXPECT_EQ(test, c[0], 10048);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool),
			HOMA_TEST_BPAGE_BYTES(2) + HOMA_BPAGE_SIZE - 10112);

	/* ...but a fuller one is replaced by the new bpage. */
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 50000, d), 1);
	KUNIT_EXPECT_EQ(test, d[0], 10112);
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 20000, d), 1);
	KUNIT_EXPECT_EQ(test, d[0], 2 * HOMA_BPAGE_SIZE);
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 50, d), 1);
	KUNIT_EXPECT_EQ(test, d[0], 2 * HOMA_BPAGE_SIZE + 20032);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool),
			HOMA_BPAGE_SIZE + HOMA_BPAGE_SIZE - 20096);

	/* The old shared bpage is still freed by its last piece. */
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, a), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, c), 0);
	d[0] = 10112;
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, d), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool),
			HOMA_TEST_BPAGE_BYTES(2) + HOMA_BPAGE_SIZE - 20096);
}

static void homa_pool_test_exhaustion(struct kunit *test)
{
	struct homa_pool *pool = homa_test_setup(test, HOMA_TEST_BPAGES);
	u32 a[HOMA_MAX_BPAGES], b[HOMA_MAX_BPAGES], c[HOMA_MAX_BPAGES];
	u32 num = 99;

	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 3 * 65536 - 100, a),
			3);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), 65536 + 64);

	/* Two bpages needed, one free: nothing is taken. */
	KUNIT_EXPECT_EQ(test, homa_pool_alloc_msg(pool, 65536 + 65, b, &num),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, homa_pool_alloc_msg(pool, 2 * 65536, b, &num),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, num, 99);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), 65536 + 64);

	/* Exactly what is free: the tail fits the shared bpage's end. */
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 65536 + 64, b), 2);
	KUNIT_EXPECT_EQ(test, b[0], 3 * 65536);
	KUNIT_EXPECT_EQ(test, b[1], 2 * 65536 + 65472);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_alloc_msg(pool, 1, c, &num), -ENOMEM);

	/* Space comes back with released pieces. */
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, &a[1]), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), 65536);
	KUNIT_EXPECT_EQ(test, homa_pool_alloc_msg(pool, 65537, c, &num),
			-ENOMEM);
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 65536, c), 1);
	KUNIT_EXPECT_EQ(test, c[0], 65536);
	KUNIT_EXPECT_EQ(test, homa_pool_alloc_msg(pool, 1, c, &num), -ENOMEM);

	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 2, b), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), 65536);
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, &a[2]), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), 2 * 65536);
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 2 * 65536, b), 2);
}

static void homa_pool_test_release_bad(struct kunit *test)
{
	struct homa_pool *pool = homa_test_setup(test, HOMA_TEST_BPAGES);
	u32 a[HOMA_MAX_BPAGES], b[HOMA_MAX_BPAGES];
	u32 bad[HOMA_MAX_BPAGES + 1];
	u64 avail;
	u32 i;

	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 65536 + 100, a), 2);
	KUNIT_ASSERT_EQ(test, homa_test_alloc(test, pool, 100, b), 1);
	KUNIT_EXPECT_EQ(test, a[0], 0);
	KUNIT_EXPECT_EQ(test, a[1], 65536);
	KUNIT_EXPECT_EQ(test, b[0], 65536 + 128);
	avail = homa_pool_avail_bytes(pool);

	/* Outside the region, first or after valid offsets. */
	bad[0] = HOMA_BPAGE_SIZE * HOMA_TEST_BPAGES;
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, bad), -EINVAL);
	bad[0] = U32_MAX;
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, bad), -EINVAL);
	bad[0] = a[0];
	bad[1] = a[1];
	bad[2] = HOMA_BPAGE_SIZE * HOMA_TEST_BPAGES + 5;
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 3, bad), -EINVAL);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), avail);

	/* Never allocated. */
	bad[2] = 2 * HOMA_BPAGE_SIZE;
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 3, bad), -EINVAL);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), avail);

	/* Bpage 0 holds one piece, bpage 1 two: the third return fails. */
	bad[0] = a[0];
	bad[1] = a[0];
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 2, bad), -EINVAL);
	bad[0] = a[1];
	bad[1] = b[0];
	bad[2] = a[1];
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 3, bad), -EINVAL);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), avail);

	/* Too many offsets, even if all are valid. */
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		bad[i] = a[0];
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, HOMA_MAX_BPAGES + 1,
						bad), -EINVAL);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), avail);

	/* Nothing was released: each piece goes back exactly once. */
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 0, bad), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, b), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), avail);
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 2, a), 0);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool),
			HOMA_TEST_BPAGE_BYTES(HOMA_TEST_BPAGES));
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, &a[0]), -EINVAL);
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, &a[1]), -EINVAL);
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, b), -EINVAL);
}

static void homa_pool_test_destroy_outstanding(struct kunit *test)
{
	struct homa_pool *pool = homa_test_setup(test, 64);
	u32 offsets[HOMA_MAX_BPAGES];
	u64 start, length;
	u32 num;

	homa_test_alloc(test, pool, HOMA_MAX_MESSAGE_LENGTH, offsets);
	homa_test_alloc(test, pool, 300, offsets);
	homa_test_alloc(test, pool, 70000, offsets);

	homa_pool_destroy(pool);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), 0);
	homa_pool_get_region(pool, &start, &length);
	KUNIT_EXPECT_EQ(test, start, 0);
	KUNIT_EXPECT_EQ(test, length, 0);
	KUNIT_EXPECT_EQ(test, homa_pool_alloc_msg(pool, 100, offsets, &num),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, homa_pool_release(pool, 1, offsets), -EINVAL);
	homa_pool_destroy(pool);

	/* The pool is as new; the exit function destroys it once more. */
	homa_test_setup(test, 2);
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool),
			HOMA_TEST_BPAGE_BYTES(2));
	homa_test_alloc(test, pool, 100, offsets);
}

/* Outstanding message of the randomised test. */
struct homa_test_msg {
	u32 length;
	u32 num;
	u32 offsets[HOMA_MAX_BPAGES];
};

#define HOMA_TEST_RAND_BPAGES	32
#define HOMA_TEST_RAND_UNITS	(HOMA_TEST_RAND_BPAGES * HOMA_BPAGE_SIZE / \
				 HOMA_POOL_TAIL_ALIGN)
#define HOMA_TEST_RAND_MSGS	48
#define HOMA_TEST_RAND_STEPS	4000

/* Mark (@set) or clear the units of @msg's pieces in @map, checking that
 * they are all clear (or all set) before.
 */
static void homa_test_map_msg(struct kunit *test, unsigned long *map,
			      const struct homa_test_msg *msg, bool set)
{
	u32 i, unit, units, piece;

	for (i = 0; i < msg->num; i++) {
		piece = i + 1 < msg->num ? HOMA_BPAGE_SIZE :
			msg->length - i * HOMA_BPAGE_SIZE;
		if (i + 1 < msg->num || piece == HOMA_BPAGE_SIZE)
			KUNIT_EXPECT_EQ(test, msg->offsets[i] %
					HOMA_BPAGE_SIZE, 0);
		KUNIT_EXPECT_EQ(test, msg->offsets[i] % HOMA_POOL_TAIL_ALIGN,
				0);
		/* A piece never crosses a bpage boundary. */
		KUNIT_EXPECT_LE(test, msg->offsets[i] % HOMA_BPAGE_SIZE + piece,
				HOMA_BPAGE_SIZE);
		unit = msg->offsets[i] / HOMA_POOL_TAIL_ALIGN;
		units = DIV_ROUND_UP(piece, HOMA_POOL_TAIL_ALIGN);
		KUNIT_ASSERT_LE(test, unit + units, HOMA_TEST_RAND_UNITS);
		if (set) {
			KUNIT_EXPECT_EQ_MSG(test,
					    find_next_bit(map, unit + units,
							  unit),
					    unit + units,
					    "piece at %u overlaps another",
					    msg->offsets[i]);
			bitmap_set(map, unit, units);
		} else {
			KUNIT_EXPECT_EQ(test,
					find_next_zero_bit(map, unit + units,
							   unit),
					unit + units);
			bitmap_clear(map, unit, units);
		}
	}
}

static void homa_pool_test_random(struct kunit *test)
{
	struct homa_pool *pool = homa_test_setup(test, HOMA_TEST_RAND_BPAGES);
	u64 total = HOMA_TEST_BPAGE_BYTES(HOMA_TEST_RAND_BPAGES);
	u32 step, length, split, r, failed = 0, succeeded = 0;
	struct homa_test_msg *msgs, *msg;
	struct rnd_state rnd;
	unsigned long *map;
	u64 avail, used;
	int ret;

	msgs = kunit_kcalloc(test, HOMA_TEST_RAND_MSGS, sizeof(*msgs),
			     GFP_KERNEL);
	map = kunit_kcalloc(test, BITS_TO_LONGS(HOMA_TEST_RAND_UNITS),
			    sizeof(*map), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, msgs);
	KUNIT_ASSERT_NOT_NULL(test, map);
	prandom_seed_state(&rnd, 0x486f6d61);

	for (step = 0; step < HOMA_TEST_RAND_STEPS; step++) {
		msg = &msgs[prandom_u32_state(&rnd) % HOMA_TEST_RAND_MSGS];
		if (msg->num) {
			/* Hand it back, sometimes in two calls. */
			homa_test_map_msg(test, map, msg, false);
			split = prandom_u32_state(&rnd) % (msg->num + 1);
			ret = homa_pool_release(pool, split, msg->offsets);
			KUNIT_ASSERT_EQ(test, ret, 0);
			ret = homa_pool_release(pool, msg->num - split,
						&msg->offsets[split]);
			KUNIT_ASSERT_EQ(test, ret, 0);
			msg->num = 0;
			continue;
		}
		r = prandom_u32_state(&rnd);
		switch (r % 5) {
		case 0:
			length = r / 5 % HOMA_MAX_MESSAGE_LENGTH + 1;
			break;
		case 1:
			length = r / 5 % (3 * HOMA_BPAGE_SIZE) + 1;
			break;
		case 2:
			length = (r / 5 % 4 + 1) * HOMA_BPAGE_SIZE;
			break;
		default:
			length = r / 5 % 3000 + 1;
			break;
		}
		avail = homa_pool_avail_bytes(pool);
		used = (u64)bitmap_weight(map, HOMA_TEST_RAND_UNITS) *
		       HOMA_POOL_TAIL_ALIGN;
		KUNIT_ASSERT_LE(test, avail + used, total);
		ret = homa_pool_alloc_msg(pool, length, msg->offsets,
					  &msg->num);
		/* Success exactly when the message fits the reported space. */
		KUNIT_ASSERT_EQ_MSG(test, ret, length <= avail ? 0 : -ENOMEM,
				    "length %u avail %llu", length, avail);
		if (ret) {
			failed++;
			continue;
		}
		msg->length = length;
		KUNIT_ASSERT_EQ(test, msg->num,
				DIV_ROUND_UP(length, HOMA_BPAGE_SIZE));
		homa_test_map_msg(test, map, msg, true);
		succeeded++;
		/* The free space shrinks by at least the space used. */
		KUNIT_ASSERT_LE(test, homa_pool_avail_bytes(pool) +
				ALIGN(length, HOMA_POOL_TAIL_ALIGN), avail);
	}
	/* Both outcomes were exercised. */
	KUNIT_EXPECT_GT(test, failed, HOMA_TEST_RAND_STEPS / 50);
	KUNIT_EXPECT_GT(test, succeeded, HOMA_TEST_RAND_STEPS / 10);

	for (msg = msgs; msg < msgs + HOMA_TEST_RAND_MSGS; msg++) {
		if (!msg->num)
			continue;
		homa_test_map_msg(test, map, msg, false);
		KUNIT_ASSERT_EQ(test, homa_pool_release(pool, msg->num,
							msg->offsets), 0);
	}
	KUNIT_EXPECT_TRUE(test, bitmap_empty(map, HOMA_TEST_RAND_UNITS));
	KUNIT_EXPECT_EQ(test, homa_pool_avail_bytes(pool), total);
}

static struct kunit_case homa_pool_test_cases[] = {
	KUNIT_CASE(homa_pool_test_region_checks),
	KUNIT_CASE(homa_pool_test_largest_region),
	KUNIT_CASE(homa_pool_test_no_region),
	KUNIT_CASE(homa_pool_test_bad_lengths),
	KUNIT_CASE(homa_pool_test_alloc_1),
	KUNIT_CASE(homa_pool_test_alloc_65535),
	KUNIT_CASE(homa_pool_test_alloc_65536),
	KUNIT_CASE(homa_pool_test_alloc_65537),
	KUNIT_CASE(homa_pool_test_alloc_max),
	KUNIT_CASE(homa_pool_test_tails_share_bpage),
	KUNIT_CASE(homa_pool_test_tail_does_not_fit),
	KUNIT_CASE(homa_pool_test_exhaustion),
	KUNIT_CASE(homa_pool_test_release_bad),
	KUNIT_CASE(homa_pool_test_destroy_outstanding),
	KUNIT_CASE(homa_pool_test_random),
	{}
};

static struct kunit_suite homa_pool_test_suite = {
	.name = "homa_pool",
	.init = homa_pool_test_init,
	.exit = homa_pool_test_exit,
	.test_cases = homa_pool_test_cases,
};

kunit_test_suite(homa_pool_test_suite);

MODULE_DESCRIPTION("KUnit tests for Homa's receive buffer pool");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
