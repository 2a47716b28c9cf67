// SPDX-License-Identifier: GPL-2.0

/* The receive buffer pool of a Homa socket: allocation of space for
 * incoming messages in the region the application registered with
 * SO_HOMA_RCVBUF, and its return when the application hands the offsets
 * back. Free bpages sit on a stack and the tails of messages are packed
 * into one shared bpage, so every call does work bounded by
 * HOMA_MAX_BPAGES under the pool's lock, however large the region is.
 * The region's memory is never touched here; the receive path copies
 * into it at the addresses homa_pool_addr() computes.
 */

#include <kunit/visibility.h>
#include <linux/align.h>
#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "homa_pool.h"

/**
 * homa_pool_init() - Initialise a pool with no region. Needs no memory,
 * so it can be done when the enclosing socket is created.
 * @pool: Pool to initialise.
 */
void homa_pool_init(struct homa_pool *pool)
{
	spin_lock_init(&pool->lock);
	pool->num_bpages = 0;
	pool->region = 0;
	pool->refs = NULL;
	pool->free_stack = NULL;
	pool->num_free = 0;
	pool->shared_bpage = HOMA_POOL_NO_BPAGE;
	pool->shared_used = 0;
}
EXPORT_SYMBOL_IF_KUNIT(homa_pool_init);

/**
 * homa_pool_set_region() - Give a pool its region (SO_HOMA_RCVBUF).
 * @pool:   Pool, with no region yet.
 * @start:  User address of the region; must be page-aligned.
 * @length: Bytes in the region. Only the first length / HOMA_BPAGE_SIZE
 *          whole bpages are used; the rest is ignored.
 *
 * Context: Process context (allocates with GFP_KERNEL). Takes and
 * releases the pool's lock.
 *
 * Return: 0 on success; -EINVAL if @start is not page-aligned, if the
 * region holds fewer than HOMA_POOL_MIN_BPAGES or more than
 * HOMA_POOL_MAX_BPAGES whole bpages (4 GiB: offsets are 32 bits), or if
 * the pool already has a region (a region cannot be replaced, since
 * messages may sit in the old one); -EFAULT if the bpages used are not a
 * valid user address range (access_ok(), which includes wrapping past
 * the top of the address space); -ENOMEM if the bookkeeping cannot be
 * allocated. On error the pool is unchanged.
 */
int homa_pool_set_region(struct homa_pool *pool, u64 start, u64 length)
{
	u32 *free_stack, *refs;
	u64 num_bpages, used;
	u32 i;

	if (!PAGE_ALIGNED(start))
		return -EINVAL;
	num_bpages = length >> HOMA_BPAGE_SHIFT;
	if (num_bpages < HOMA_POOL_MIN_BPAGES ||
	    num_bpages > HOMA_POOL_MAX_BPAGES)
		return -EINVAL;
	used = num_bpages << HOMA_BPAGE_SHIFT;
	if ((unsigned long)start != start ||
	    !access_ok((void __user *)(uintptr_t)start, used))
		return -EFAULT;

	refs = kvcalloc(num_bpages, sizeof(*refs), GFP_KERNEL_ACCOUNT);
	free_stack = kvcalloc(num_bpages, sizeof(*free_stack),
			      GFP_KERNEL_ACCOUNT);
	if (!refs || !free_stack) {
		kvfree(refs);
		kvfree(free_stack);
		return -ENOMEM;
	}
	/* Bpage 0 on top: messages fill the region from its start. */
	for (i = 0; i < num_bpages; i++)
		free_stack[i] = num_bpages - 1 - i;

	spin_lock_bh(&pool->lock);
	if (pool->num_bpages) {
		spin_unlock_bh(&pool->lock);
		kvfree(refs);
		kvfree(free_stack);
		return -EINVAL;
	}
	pool->refs = refs;
	pool->free_stack = free_stack;
	pool->num_free = num_bpages;
	pool->shared_bpage = HOMA_POOL_NO_BPAGE;
	pool->shared_used = 0;
	WRITE_ONCE(pool->region, start);
	pool->num_bpages = num_bpages;
	spin_unlock_bh(&pool->lock);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(homa_pool_set_region);

/**
 * homa_pool_get_region() - The region of a pool, for getsockopt.
 * @pool:   Pool.
 * @start:  Set to the region's user address, 0 if there is no region.
 * @length: Set to the bytes of the region in use (whole bpages only; may
 *          be less than the length given to homa_pool_set_region()), 0 if
 *          there is no region.
 */
void homa_pool_get_region(struct homa_pool *pool, u64 *start, u64 *length)
{
	spin_lock_bh(&pool->lock);
	*start = pool->region;
	*length = (u64)pool->num_bpages << HOMA_BPAGE_SHIFT;
	spin_unlock_bh(&pool->lock);
}
EXPORT_SYMBOL_IF_KUNIT(homa_pool_get_region);

/* Take a bpage off the free stack (which must not be empty) for one new
 * piece.
 */
static u32 homa_pool_get_bpage(struct homa_pool *pool)
	__must_hold(&pool->lock)
{
	u32 bpage;

	lockdep_assert_held(&pool->lock);
	bpage = pool->free_stack[--pool->num_free];
	pool->refs[bpage] = 1;
	return bpage;
}

/* Put a bpage whose count has dropped to 0 back on the free stack. */
static void homa_pool_put_bpage(struct homa_pool *pool, u32 bpage)
	__must_hold(&pool->lock)
{
	lockdep_assert_held(&pool->lock);
	if (bpage == pool->shared_bpage) {
		pool->shared_bpage = HOMA_POOL_NO_BPAGE;
		pool->shared_used = 0;
	}
	pool->free_stack[pool->num_free++] = bpage;
}

/**
 * homa_pool_alloc_msg() - Find space for an incoming message.
 * @pool:    Pool.
 * @length:  Bytes in the message, 1..HOMA_MAX_MESSAGE_LENGTH.
 * @offsets: Filled with the offsets, within the region, of the pieces of
 *           the message, in message order: one whole bpage for each full
 *           HOMA_BPAGE_SIZE bytes, then, if @length is not a multiple of
 *           HOMA_BPAGE_SIZE, one piece for the remaining bytes (aligned to
 *           HOMA_POOL_TAIL_ALIGN and usually inside a bpage shared with
 *           the tails of other messages).
 * @num:     Set to the number of entries of @offsets filled.
 *
 * Space is allocated for the whole message or not at all. Each piece
 * must be handed back with homa_pool_release() once the application is
 * done with it.
 *
 * Context: Process or softirq context; takes the pool's lock.
 *
 * Return: 0 on success; -ENOMEM if there is not enough free space now
 * (nothing is allocated; retry once pieces have been released); -EINVAL
 * if the pool has no region or @length is out of range.
 */
int homa_pool_alloc_msg(struct homa_pool *pool, u32 length,
			u32 offsets[HOMA_MAX_BPAGES], u32 *num)
{
	u32 tail = ALIGN(length & (HOMA_BPAGE_SIZE - 1), HOMA_POOL_TAIL_ALIGN);
	u32 full = length >> HOMA_BPAGE_SHIFT;
	bool tail_fits;
	u32 bpage, n;
	int ret = 0;

	if (length == 0 || length > HOMA_MAX_MESSAGE_LENGTH)
		return -EINVAL;

	spin_lock_bh(&pool->lock);
	if (!pool->num_bpages) {
		ret = -EINVAL;
		goto out;
	}
	tail_fits = tail && pool->shared_bpage != HOMA_POOL_NO_BPAGE &&
		    pool->shared_used + tail <= HOMA_BPAGE_SIZE;
	if (full + (tail && !tail_fits) > pool->num_free) {
		ret = -ENOMEM;
		goto out;
	}

	for (n = 0; n < full; n++)
		offsets[n] = homa_pool_get_bpage(pool) << HOMA_BPAGE_SHIFT;
	if (tail_fits) {
		offsets[n++] = (pool->shared_bpage << HOMA_BPAGE_SHIFT) +
			       pool->shared_used;
		pool->shared_used += tail;
		pool->refs[pool->shared_bpage]++;
	} else if (tail) {
		bpage = homa_pool_get_bpage(pool);
		offsets[n++] = bpage << HOMA_BPAGE_SHIFT;
		/* Pack later tails into whichever bpage has more room left,
		 * so that one large tail does not retire a shared bpage that
		 * is still mostly empty.
		 */
		if (pool->shared_bpage == HOMA_POOL_NO_BPAGE ||
		    tail < pool->shared_used) {
			pool->shared_bpage = bpage;
			pool->shared_used = tail;
		}
	}
	*num = n;

out:
	spin_unlock_bh(&pool->lock);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(homa_pool_alloc_msg);

/**
 * homa_pool_release() - Take back pieces of messages.
 * @pool:    Pool.
 * @num:     Entries in @offsets, at most HOMA_MAX_BPAGES.
 * @offsets: Offsets of pieces, as homa_pool_alloc_msg() returned them
 *           (any offset inside the piece's bpage has the same effect).
 *           Kernel memory: the caller copies them from user space first.
 *
 * Each offset drops the count of the bpage that holds it by one; a bpage
 * whose count reaches 0 is free again. Offsets are checked by bpage only:
 * an application that returns a piece twice while another piece in the
 * same bpage is still outstanding frees that other piece too early (its
 * own data may then be overwritten; nothing else is at risk).
 *
 * Context: Process or softirq context; takes the pool's lock.
 *
 * Return: 0 on success; -EINVAL, with nothing released, if @num is above
 * HOMA_MAX_BPAGES or any offset lies outside the bpages of the region or
 * in a bpage with no more pieces outstanding (counting repeats within
 * @offsets).
 */
int homa_pool_release(struct homa_pool *pool, u32 num, const u32 *offsets)
{
	unsigned long freed = 0;
	u32 bpage, i;
	int ret = 0;

	BUILD_BUG_ON(HOMA_MAX_BPAGES > BITS_PER_LONG);
	if (num > HOMA_MAX_BPAGES)
		return -EINVAL;
	if (!num)
		return 0;

	spin_lock_bh(&pool->lock);
	/* Checking the offsets and dropping the counts in one pass, with an
	 * undo on error, copes with the same bpage appearing more than once.
	 */
	for (i = 0; i < num; i++) {
		bpage = offsets[i] >> HOMA_BPAGE_SHIFT;
		if (bpage >= pool->num_bpages || !pool->refs[bpage]) {
			while (i-- > 0)
				pool->refs[offsets[i] >> HOMA_BPAGE_SHIFT]++;
			ret = -EINVAL;
			goto out;
		}
		if (!--pool->refs[bpage])
			freed |= BIT(i);
	}
	for (i = 0; i < num; i++) {
		if (freed & BIT(i))
			homa_pool_put_bpage(pool,
					    offsets[i] >> HOMA_BPAGE_SHIFT);
	}

out:
	spin_unlock_bh(&pool->lock);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(homa_pool_release);

/**
 * homa_pool_avail_bytes() - Free space in a pool (HOMAIOCINFO).
 * @pool: Pool.
 *
 * Counts the free bpages and the unused end of the shared bpage into
 * which tails are packed (not the unused ends of other bpages, which
 * become usable only once all their pieces are released). A message of
 * at most this many bytes can be allocated now.
 *
 * Return: free bytes; 0 if the pool has no region.
 */
u64 homa_pool_avail_bytes(struct homa_pool *pool)
{
	u64 avail;

	spin_lock_bh(&pool->lock);
	avail = (u64)pool->num_free << HOMA_BPAGE_SHIFT;
	if (pool->shared_bpage != HOMA_POOL_NO_BPAGE)
		avail += HOMA_BPAGE_SIZE - pool->shared_used;
	spin_unlock_bh(&pool->lock);
	return avail;
}
EXPORT_SYMBOL_IF_KUNIT(homa_pool_avail_bytes);

/**
 * homa_pool_addr() - User address of a place in a pool's region.
 * @pool:   Pool, with a region.
 * @offset: Offset within the region, from homa_pool_alloc_msg(), of a
 *          piece not yet released.
 *
 * Only computes the address: the caller copies to it with copy_to_user()
 * (the application may have unmapped the region; that is its problem,
 * and the copy fails cleanly). Does not take the lock: the region does
 * not change while pieces of it are allocated.
 *
 * Return: the user address of byte @offset of the region.
 */
void __user *homa_pool_addr(struct homa_pool *pool, u32 offset)
{
	return (void __user *)(uintptr_t)(READ_ONCE(pool->region) + offset);
}
EXPORT_SYMBOL_IF_KUNIT(homa_pool_addr);

/**
 * homa_pool_destroy() - Free a pool's bookkeeping and forget its region,
 * whatever is still allocated in it, leaving the pool as homa_pool_init()
 * did. Safe on a pool that never had a region, and to call again.
 * @pool: Pool.
 *
 * Context: Process context. Offsets handed out before must not be used
 * afterwards; later allocations fail with -EINVAL.
 */
void homa_pool_destroy(struct homa_pool *pool)
{
	u32 *free_stack, *refs;

	spin_lock_bh(&pool->lock);
	refs = pool->refs;
	free_stack = pool->free_stack;
	pool->num_bpages = 0;
	WRITE_ONCE(pool->region, 0);
	pool->refs = NULL;
	pool->free_stack = NULL;
	pool->num_free = 0;
	pool->shared_bpage = HOMA_POOL_NO_BPAGE;
	pool->shared_used = 0;
	spin_unlock_bh(&pool->lock);

	kvfree(refs);
	kvfree(free_stack);
}
EXPORT_SYMBOL_IF_KUNIT(homa_pool_destroy);
