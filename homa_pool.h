/* SPDX-License-Identifier: GPL-2.0 */

/* The receive buffer pool of a Homa socket: the user memory region an
 * application registers with SO_HOMA_RCVBUF, divided into bpages of
 * HOMA_BPAGE_SIZE bytes, and the bookkeeping that hands out space in it
 * to incoming messages and takes it back when the application returns
 * the offsets (recvmsg's bpage_offsets). The pool never touches the
 * region itself; it only deals in offsets.
 */

#ifndef _HOMA_POOL_H
#define _HOMA_POOL_H

#include <linux/compiler.h>
#include <linux/limits.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "uapi/linux/homa.h"

/* Fewest whole bpages a region must contain. */
#define HOMA_POOL_MIN_BPAGES	2

/* Most bpages a region may contain: offsets handed to user space are
 * __u32, so the pool addresses at most 4 GiB. This also bounds the
 * bookkeeping arrays (8 bytes per bpage, 512 KiB at most).
 */
#define HOMA_POOL_MAX_BPAGES	(1U << (32 - HOMA_BPAGE_SHIFT))

/* Alignment, within a shared bpage, of the last piece of a message. */
#define HOMA_POOL_TAIL_ALIGN	64

/* Value of homa_pool.shared_bpage when there is no shared bpage. */
#define HOMA_POOL_NO_BPAGE	U32_MAX

/**
 * struct homa_pool - The receive buffer pool of one socket.
 *
 * Every message is stored as a list of pieces: one whole bpage for each
 * full HOMA_BPAGE_SIZE bytes, then the rest (the "tail"), if any. Tails
 * are packed into a shared bpage so that short messages do not each use
 * a whole bpage. A bpage counts the pieces in it and is free when the
 * count is zero.
 *
 * Invariants (under @lock): a bpage is on @free_stack exactly when its
 * count in @refs is 0; @shared_bpage, if any, has a non-zero count.
 *
 * All fields but @lock are protected by @lock, which is a leaf lock
 * (nothing else is taken under it) taken with spin_lock_bh(), and is held
 * only for work bounded by HOMA_MAX_BPAGES, whatever the region's size.
 */
struct homa_pool {
	/** @lock: Protects everything below. */
	spinlock_t lock;

	/**
	 * @num_bpages: Whole bpages in the region; 0 if no region is set
	 * (the other fields are then 0 or NULL, and @shared_bpage is
	 * HOMA_POOL_NO_BPAGE).
	 */
	u32 num_bpages;

	/**
	 * @region: User address of the region's first byte. Fixed from
	 * homa_pool_set_region() until homa_pool_destroy().
	 */
	u64 region;

	/** @refs: For each bpage, the number of message pieces in it. */
	u32 *refs;

	/**
	 * @free_stack: Indices of the free bpages; the last ones freed are
	 * used first (they are the most likely to be in the cache).
	 */
	u32 *free_stack;

	/** @num_free: Entries in @free_stack. */
	u32 num_free;

	/**
	 * @shared_bpage: The bpage into which new tails are packed, or
	 * HOMA_POOL_NO_BPAGE.
	 */
	u32 shared_bpage;

	/**
	 * @shared_used: Bytes at the start of @shared_bpage already handed
	 * out (a multiple of HOMA_POOL_TAIL_ALIGN); new tails go here.
	 */
	u32 shared_used;
};

void homa_pool_init(struct homa_pool *pool);
int homa_pool_set_region(struct homa_pool *pool, u64 start, u64 length);
void homa_pool_get_region(struct homa_pool *pool, u64 *start, u64 *length);
int homa_pool_alloc_msg(struct homa_pool *pool, u32 length,
			u32 offsets[HOMA_MAX_BPAGES], u32 *num);
int homa_pool_release(struct homa_pool *pool, u32 num, const u32 *offsets);
u64 homa_pool_avail_bytes(struct homa_pool *pool);
void __user *homa_pool_addr(struct homa_pool *pool, u32 offset);
void homa_pool_destroy(struct homa_pool *pool);

#endif /* _HOMA_POOL_H */
