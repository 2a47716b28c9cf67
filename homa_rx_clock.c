// SPDX-License-Identifier: GPL-2.0

/* How long received packets wait in this host's receive backlogs before
 * Homa sees them.
 *
 * Packets that loopback, veth (without GRO) and RPS hand to the stack wait
 * in a per-CPU backlog (softnet_data.input_pkt_queue) until that CPU's
 * softirq work gets to them. On a loaded host, and above all under
 * emulation, that can take tens of ticks; silence from a peer then only
 * means that its packets wait here, and a RESEND sent, or answered, then
 * doubles the traffic for nothing (spurious retransmissions).
 *
 * Each CPU counts the packets its backlog has taken in
 * (softnet_data.input_queue_tail) and processed (input_queue_head). At the
 * start of every tick a namespace's timer notes each CPU's count taken in
 * (homa_rx_clock_sample(), homa_timer.rx_tails); comparing a CPU's count
 * processed with those notes tells how long the oldest packet still in
 * its backlog has waited (homa_rx_clock_lag(), the receiver's side: a
 * silent RPC asks only after its silence outlasts that) and when the
 * packet being processed now was queued (homa_rx_clock_waited(), the
 * sender's side: bytes that left us after a RESEND was queued here were
 * asked for before they could arrive).
 *
 * The notes cover HOMA_RX_CLOCK_TICKS ticks; longer waits count as that
 * long. The counters of other CPUs are read without their locks, and the
 * notes are written by the timer while the receive path reads them
 * (homa_timer.rx_slot_tick, written last with release semantics, tells
 * a reader which tick a slot holds): every answer is a hint for the
 * current tick, never used to index memory. Kernels without RPS have no
 * such counters and always get 0 (no wait known).
 */

#include <kunit/visibility.h>
#include <linux/netdevice.h>

#include "homa_impl.h"

#ifdef CONFIG_RPS

/**
 * homa_rx_clock_sample() - Note, for tick @now, how many packets each CPU's
 * receive backlog has taken in. Called by the timer at the start of each
 * tick (process context; ticks of one namespace never overlap).
 * @hn:  Namespace state.
 * @now: The tick that begins.
 */
void homa_rx_clock_sample(struct homa_net *hn, u32 now)
{
	u32 slot = now % HOMA_RX_CLOCK_TICKS;
	struct homa_rx_tails *t;
	int cpu;

	WRITE_ONCE(hn->timer.rx_slot_tick[slot], 0);
	/* Readers stop trusting the slot before its tails change: pairs
	 * with the smp_rmb() in homa_rx_clock_tail().
	 */
	smp_wmb();
	for_each_possible_cpu(cpu) {
		t = per_cpu_ptr(hn->timer.rx_tails, cpu);
		WRITE_ONCE(t->tail[slot],
			   READ_ONCE(per_cpu(softnet_data, cpu).input_queue_tail));
	}
	/* The tails before the tick that vouches for them: pairs with the
	 * smp_load_acquire() in homa_rx_clock_tail().
	 */
	smp_store_release(&hn->timer.rx_slot_tick[slot], now);
}
EXPORT_SYMBOL_IF_KUNIT(homa_rx_clock_sample);

/* The count taken in by @cpu's backlog at the start of tick @tick, if the
 * notes still hold it: true and *@tail set, or false.
 */
static bool homa_rx_clock_tail(struct homa_net *hn, int cpu, u32 tick,
			       u32 *tail)
{
	u32 slot = tick % HOMA_RX_CLOCK_TICKS;

	/* 0 marks a slot never written, or being written. */
	if (!tick || smp_load_acquire(&hn->timer.rx_slot_tick[slot]) != tick)
		return false;
	*tail = READ_ONCE(per_cpu_ptr(hn->timer.rx_tails, cpu)->tail[slot]);
	/* The tail before the second look at its tick: if the writer began
	 * to rewrite the slot meanwhile, the tick has changed (pairs with
	 * the smp_wmb() in homa_rx_clock_sample()).
	 */
	smp_rmb();
	return READ_ONCE(hn->timer.rx_slot_tick[slot]) == tick;
}

/**
 * homa_rx_clock_lag() - How long the oldest packet still waiting in a
 * receive backlog of this host has waited: packets for us that were queued
 * longer ago than that have all been processed.
 * @hn:  Namespace state.
 * @now: The current tick (sampled already).
 *
 * Return: ticks, at most (the packet was queued in tick @now - lag or
 * later); 0 if no backlog holds a packet queued before this tick,
 * HOMA_RX_CLOCK_TICKS if one is older than the notes.
 */
u32 homa_rx_clock_lag(struct homa_net *hn, u32 now)
{
	u32 head, tail, lag = 0;
	struct softnet_data *sd;
	int cpu, age;

	for_each_online_cpu(cpu) {
		sd = &per_cpu(softnet_data, cpu);
		head = READ_ONCE(sd->input_queue_head);
		if (READ_ONCE(sd->input_queue_tail) == head)
			continue;
		/* The oldest note still ahead of what was processed: the
		 * packet was queued in the tick before it.
		 */
		for (age = HOMA_RX_CLOCK_TICKS - 1; age >= (int)lag; age--) {
			if (!homa_rx_clock_tail(hn, cpu, now - age, &tail))
				continue;
			if ((s32)(tail - head) > 0) {
				lag = age + 1;
				break;
			}
		}
	}
	return lag;
}
EXPORT_SYMBOL_IF_KUNIT(homa_rx_clock_lag);

/**
 * homa_rx_clock_waited() - For the packet this CPU's receive path handles
 * now: for how many ticks it may have waited in this CPU's backlog. It
 * was queued at the start of tick @now - result or later. Caller runs in
 * the receive path (softirq: the CPU cannot change).
 * @hn:  Namespace state.
 * @now: The current tick.
 *
 * Return: ticks; 0 if the backlog is empty (the packet did not come
 * through it, or no note says more), HOMA_RX_CLOCK_TICKS if it was queued
 * before the oldest note.
 */
u32 homa_rx_clock_waited(struct homa_net *hn, u32 now)
{
	struct softnet_data *sd = this_cpu_ptr(&softnet_data);
	int cpu = smp_processor_id();
	u32 head, tail, age;
	bool known = false;

	/* The count processed grows after a packet has been handled: while
	 * one from the backlog is in hand, it is one behind the count
	 * taken in.
	 */
	head = READ_ONCE(sd->input_queue_head);
	if (READ_ONCE(sd->input_queue_tail) == head)
		return 0;
	/* The newest note from before the packet in hand was queued. */
	for (age = 0; age < HOMA_RX_CLOCK_TICKS; age++) {
		if (!homa_rx_clock_tail(hn, cpu, now - age, &tail))
			continue;
		known = true;
		if ((s32)(tail - head) <= 0)
			return age;
	}
	return known ? HOMA_RX_CLOCK_TICKS : 0;
}
EXPORT_SYMBOL_IF_KUNIT(homa_rx_clock_waited);

#else /* !CONFIG_RPS */

void homa_rx_clock_sample(struct homa_net *hn, u32 now)
{
}
EXPORT_SYMBOL_IF_KUNIT(homa_rx_clock_sample);

u32 homa_rx_clock_lag(struct homa_net *hn, u32 now)
{
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(homa_rx_clock_lag);

u32 homa_rx_clock_waited(struct homa_net *hn, u32 now)
{
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(homa_rx_clock_waited);

#endif /* CONFIG_RPS */
