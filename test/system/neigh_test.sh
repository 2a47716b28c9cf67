#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Homa keeps the link-layer neighbours it talks to confirmed, as TCP does:
# a packet from a peer makes our next packet to it carry
# skb->dst_pending_confirm, so IP refreshes the ARP/ND entry instead of
# probing it.  Without that, a busy guest that drops the probes (full
# backlogs) loses the neighbour mid-run: packets wait in, and overflow,
# the unresolved queue (arp/ndisc unresolved_discards).
#
# Per family (IPv4, IPv6), over veth between two namespaces: neighbour
# entries become STALE after 0.25 to 0.75 s (base_reachable_time_ms 500)
# and are probed 1 s after the next packet (delay_first_probe_time 1);
# one warm-up RPC resolves them, then util/homa_echo clients run one
# 100-byte RPC at a time, one client after the other, and 1 s into that
# every ARP (IPv4) or ICMPv6 (IPv6, i.e. Neighbour Discovery) packet
# leaving either namespace starts being dropped by a tc filter, so no
# probe is answered any more; the clients go on for 6 s.  Results: every RPC completes
# intact; no packet waited for an unresolved neighbour (the
# unresolved_discards counter did not grow and the client's entry for the
# server is not FAILED or INCOMPLETE); no RPC timed out.  An unconfirmed
# entry fails about 4 s in (1 s delay, 3 unanswered probes) and the rest
# of the RPCs stall; that is what the module did before it confirmed.
#
# Usage: neigh_test.sh  (root, in the run-vm guest)
# TAP output; exit 0 pass, 1 fail, 4 skip.

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/system/lib.sh
. "$here/lib.sh"
# shellcheck source=test/system/nslib.sh
. "$here/nslib.sh"

PORT=4200
SECS=6

[ "$(id -u)" = 0 ] || tap_skip_all "needs root (run it in the run-vm guest)"
[ -x "$ECHO" ] || tap_skip_all "$ECHO missing: run 'make -C util'"
command -v tc >/dev/null || tap_skip_all "no tc command"

tap_plan 7

# shellcheck disable=SC2317 # called from the trap
finish() {
	ns_teardown
	rm -rf "$ns_work"
	homa_loaded && homa_unload >/dev/null
}
trap finish EXIT

# neigh_params NS DEV: entries go stale quickly and are probed soon.
neigh_params() {
	ip netns exec "$1" sysctl -q -w \
		"net.ipv4.neigh.$2.base_reachable_time_ms=500" \
		"net.ipv4.neigh.$2.delay_first_probe_time=1" \
		"net.ipv6.neigh.$2.base_reachable_time_ms=500" \
		"net.ipv6.neigh.$2.delay_first_probe_time=1"
}

# drop_resolution NS DEV: drop every ARP and ICMPv6 packet DEV sends.
drop_resolution() {
	tc -n "$1" qdisc add dev "$2" clsact &&
		tc -n "$1" filter add dev "$2" egress protocol arp \
			u32 match u32 0 0 action drop &&
		tc -n "$1" filter add dev "$2" egress protocol ipv6 \
			u32 match ip6 protocol 58 0xff action drop
}

# run_family 4|6
run_family() {
	local fam=$1 addr flag='' t0 ok=0 failed=0 runs=0 state x
	local -a out
	local desc="IPv$fam"
	local -a details=()

	addr=$A4_S
	if [ "$fam" = 6 ]; then
		addr=$A6_S
		flag=-6
	fi
	ns_server_start --port $PORT $flag || {
		tap_ok 1 "$desc: the server did not start"
		return
	}
	timeout -k 5 30 ip netns exec $NS_C "$ECHO" client --server "$addr" \
		--port $PORT $flag --threads 1 --concurrent 1 --count 1 \
		--sizes 100 --timeout 20 >/dev/null 2>&1 ||
		nslog "$desc: warm-up RPC failed"
	ns_snapshot M0
	# Clients one after the other, from now until $SECS s after the
	# filters are in: traffic never pauses, so the entries are in use
	# (and, if confirmed, REACHABLE) when resolution stops working.
	: >"$ns_work/loop.log"
	rm -f "$ns_work/stop"
	(
		while [ ! -e "$ns_work/stop" ]; do
			if out=$(timeout -k 5 60 ip netns exec $NS_C "$ECHO" \
				client --server "$addr" --port $PORT $flag \
				--threads 1 --concurrent 1 --count 200 \
				--sizes 100 --stall 20 --timeout 50 2>&1); then
				echo ok
			else
				echo fail
				printf '%s\n' "$out" | tail -n 20
				break
			fi
		done >>"$ns_work/loop.log"
	) &
	local loop=$!
	sleep 1
	drop_resolution $NS_C $devc && drop_resolution $NS_S $devs ||
		details=("tc could not drop ARP/ND:" \
			 "$(tc -n $NS_C filter show dev $devc egress 2>&1)")
	t0=$SECONDS
	sleep $SECS
	touch "$ns_work/stop"
	wait $loop
	mapfile -t out <"$ns_work/loop.log"
	for x in "${out[@]}"; do
		case $x in
		ok) runs=$((runs + 1)); ok=$((ok + 200)) ;;
		fail) runs=$((runs + 1)); failed=1 ;;
		*) details+=("$x") ;;
		esac
	done
	[ $runs = 0 ] && failed=1
	ns_snapshot M1
	[ $failed = 0 ] && [ ${#details[@]} = 0 ]
	tap_ok $? "$desc: $ok RPCs in $runs clients complete intact, the last $((SECONDS - t0)) s while no ARP/ND packet gets through" \
		"${details[@]: -20}"

	if [ "$fam" = 4 ]; then
		dlt below.arp_unresolved_discards
	else
		dlt below.ndisc_unresolved_discards
	fi
	state=$(ip -n $NS_C neigh show "$addr" dev $devc)
	[ "$REPLY" = 0 ] && [[ $state != *FAILED* ]] &&
		[[ $state != *INCOMPLETE* ]]
	tap_ok $? "$desc: the client's neighbour entry stayed confirmed (unresolved_discards +$REPLY; $state)"

	# Spurious retransmissions (a RESEND after 5 ms of queueing) are
	# another matter (rpc_paths.sh); lost neighbours make RPCs time out.
	retrans_grown
	dlt c.rpc_timeouts
	local c=$REPLY
	dlt s.rpc_timeouts
	[ "$c" = 0 ] && [ "$REPLY" = 0 ]
	tap_ok $? "$desc: no RPC timed out (c.rpc_timeouts+$c s.rpc_timeouts+$REPLY; retransmissions: ${RETRANS_N})"
	ns_server_stop
}

homa_loaded && homa_unload
out=$(homa_load 2>&1)
tap_ok $? "insmod $HOMA_KO" "$out"
for fam in 4 6; do
	if ! ns_setup veth; then
		tap_ok 1 "IPv$fam: setting up veth failed"
		tap_ok 1 "IPv$fam: setting up veth failed"
		tap_ok 1 "IPv$fam: setting up veth failed"
		continue
	fi
	neigh_params $NS_C $devc
	neigh_params $NS_S $devs
	run_family $fam
	ns_teardown
done
tap_done
