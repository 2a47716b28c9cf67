#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Homa under tc netem between two network namespaces (veth, or the VM's
# two emulated NICs in a VM started with run-vm --nics), next to TCP.
#
# Settings (netem on the egress of both ends, so each direction gets it;
# limit 100000 packets, so that netem itself drops only what it is told):
#   loss1   loss 1%               loss5  loss 5%        loss20  loss 20%
#   reorder delay 2ms reorder 25% 50%
#   dup     duplicate 10%
#   jitter  delay 5ms 3ms (reorders too)
#   combo   loss 3% duplicate 3% delay 2ms 1ms reorder 10%
# For each: util/homa_echo's client runs RPCs of mixed sizes up to 1 MB
# (4 threads x 8 in flight) against its server, every byte of every
# request and response checked by both, and the server checks that each
# request reached it exactly once (homa_echo's request tags).  Results:
# all RPCs complete intact; the server saw each request once and no
# error.  Then the same workload over TCP (homa_echo --tcp) under the same
# netem, for comparison only (an unfinished TCP run prints how many RPCs
# it completed).  Printed per
# setting and as a final table (TAP comments): RPCs completed and failed,
# Homa's retransmissions (DATA packets resent, RESENDs, requests
# restarted, RPC timeouts: deltas of /proc/net/homa_metrics), netem's
# drops, and the seconds Homa and TCP took.
#
# Then, with timeout_ticks set to $DEAD_TICKS in both namespaces and netem
# limiting each direction to 50 Mbit/s (so that 1 MB RPCs are in flight):
#   dead-link   the server's link goes down while 1 MB RPCs are in flight
#               (over the NICs: the server's NIC loses its addresses; a
#               virtio-net NIC that is down stops qemu's hub):
#               every unfinished client RPC fails with ETIMEDOUT (or
#               EHOSTUNREACH, when the client's ARP/ND entry for the
#               server fails first and IP says so with ICMP), within
#               timeout_ticks (at tick_usecs) plus a margin (6 s; 40 s on
#               the debug kernel: under load the timer's ticks come late,
#               and the peer host must be silent as long as the RPC)
#   dead-ns     the server's namespace goes away (its link down, the
#               server killed, the namespace deleted): the same
#   vanish      the client's namespace goes away while the server is
#               busy with its RPCs: the server's socket has no RPC left
#               within timeout_ticks plus a margin, and saw no error
#   soak        10,000 RPCs (sizes 100 to 65536) under 5% loss complete
#               intact and once each; afterwards the client RPCs all ended,
#               the server's socket has no RPC, and the bytes in the
#               kmalloc and skb slab caches and the skb heads in use are
#               back near their starting values (+512 KB, +64 skbs)
#
# Counts: RPCs per setting $NETEM_COUNT, default 2000 on the stock
# kernel (over veth and over the emulated NICs) and 300 on the debug
# kernel (KASAN and lockdep: 2000 RPCs of loss1 over veth took 234 s);
# the size mix has one 1 MB and one 500 KB message in every 40, the rest
# 100 B to 64 KB.  TCP gets at most twice Homa's time plus 10 s (90 s at
# most), and runs over veth only (default).  In a VM with NICs (run-vm
# --nics) the default is the emulated-NIC path, every setting (the debug
# kernel: combo).  Times: the README's make check table and perf.txt.
# The dead-peer parts run over veth only: taking a server off qemu's
# emulated hub (addresses flushed, namespace deleted) intermittently
# hung the other virtio-net NIC's transmit queue in CI (NETDEV WATCHDOG,
# the NIC never came back from the namespace), which is the emulator's,
# not Homa's.
#
# Usage: netem_test.sh [--path veth|nic] [--settings "loss1 ..."]
#                      [--parts "settings dead vanish soak"]
#                      [--tcp | --no-tcp]   (default: TCP on the stock
#                      kernel only; the debug kernel's TCP says little)
# Environment: HOMA_KO, HOMA_ECHO (see nslib.sh), NETEM_COUNT,
# NETEM_SOAK (RPCs of the soak, default 10000), HOMA_SYSCTLS.
# TAP output; exit 0 pass, 1 fail, 4 skip.

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/system/lib.sh
. "$here/lib.sh"
# shellcheck source=test/system/nslib.sh
. "$here/nslib.sh"

declare -A NETEM=(
	[loss1]="loss 1%"
	[loss5]="loss 5%"
	[loss20]="loss 20%"
	[reorder]="delay 2ms reorder 25% 50%"
	[dup]="duplicate 10%"
	[jitter]="delay 5ms 3ms"
	[combo]="loss 3% duplicate 3% delay 2ms 1ms reorder 10%"
)
ALL_SETTINGS="loss1 loss5 loss20 reorder dup jitter combo"
PORT=4100
TCP_PORT=4101
THREADS=4
CONCURRENT=8
DEAD_TICKS=1000
case $(uname -r) in
*homa-debug*) debug=1 ;;
*) debug=0 ;;
esac

path=veth
settings=$ALL_SETTINGS
parts="settings dead vanish soak"
if [ -n "${HOMA_VM_NICS:-}" ]; then
	# The NIC VMs: the emulated-NIC path, every setting.
	path=nic
	parts="settings"
fi
tcp=''
while [ $# -gt 0 ]; do
	case $1 in
	--path) path=$2; shift 2 ;;
	--settings) settings=$2; shift 2 ;;
	--parts) parts=$2; shift 2 ;;
	--tcp) tcp=1; shift ;;
	--no-tcp) tcp=0; shift ;;
	-h | --help) sed -n '3,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "netem_test.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
for s in $settings; do
	[ -n "${NETEM[$s]:-}" ] || { echo "netem_test.sh: unknown setting $s" >&2; exit 2; }
done

# TCP is compared over veth; over the NICs it would only add time.
[[ $path == nic* ]] && tcp=${tcp:-0}
if [ $debug = 1 ]; then
	# 300 RPCs per setting, and over the NICs one setting: KASAN and
	# lockdep make every RPC about 20 times slower under TCG (2000
	# RPCs of loss1 over veth took 234 s in CI, 11 s on the stock
	# kernel; 1000 of each setting took 139-263 s, which with the
	# debug VM's other tests took it past its 2400 s), and the stock
	# kernel runs them all. The soak took 303 s (stock: 15 s), hence
	# its 900 s limit. Ticks run late when the VM is loaded: vanish
	# took 20.4 s of a 1 s timeout_ticks, hence the 40 s margin.
	count=300 stall=60 margin=40 soak_count=10000 soak_limit=900
	tcp=${tcp:-0}
	[[ $path == nic* ]] && [ "$settings" = "$ALL_SETTINGS" ] &&
		settings=combo
else
	count=2000 stall=30 margin=6 soak_count=10000 soak_limit=150
	tcp=${tcp:-1}
fi
count=${NETEM_COUNT:-$count}
soak_count=${NETEM_SOAK:-$soak_count}
# One 1 MB and one 500 KB message in every 40.
small="100,1400,10000,100,1400,65536,100,10000,1400,100"
MIX="$small,$small,$small,${small%,100},500000,1000000"
SOAK_MIX="100,1400,10000,100,1400,65536,100,1401,1399,10000"

[ "$(id -u)" = 0 ] || tap_skip_all "needs root (run it in the run-vm guest)"
[ -x "$ECHO" ] || tap_skip_all "$ECHO missing: run 'make -C util'"
command -v tc >/dev/null || tap_skip_all "no tc command"
if [[ $path == nic* ]] && [ -z "${HOMA_VM_NICS:-}" ]; then
	tap_skip_all "path $path needs a VM with NICs (run-vm --nics)"
fi

nresults=2
n=0
for p in $parts; do
	case $p in
	settings) n=$((n + 2 * $(echo "$settings" | wc -w))) ;;
	dead) n=$((n + 4)) ;;
	vanish) n=$((n + 2)) ;;
	soak) n=$((n + 5)) ;;
	esac
done
tap_plan $((n + nresults))

# shellcheck disable=SC2317 # called from the trap
finish() {
	[ -n "${client_pid:-}" ] && stop_pid "$client_pid" 5
	ns_teardown
	rm -rf "$ns_work"
	homa_loaded && homa_unload >/dev/null
}
trap finish EXIT
trap 'nslog "interrupted"; exit 1' INT TERM

client_pid=''
client_log=$ns_work/client.log
table=()

secs_since() {
	local t=$((${EPOCHREALTIME/./} - ${1/./}))
	t=$((t / 10000))
	REPLY=$((t / 100)).$((t % 100 / 10))$((t % 10))
}

# netem_on SETTING / netem_off: netem on the egress of both ends.
netem_on() {
	local p=${NETEM[$1]}
	# shellcheck disable=SC2086 # the parameters are words
	tc -n $NS_C qdisc replace dev $devc root netem limit 100000 $p &&
		tc -n $NS_S qdisc replace dev $devs root netem limit 100000 $p
}
netem_off() {
	tc -n $NS_C qdisc del dev $devc root 2>/dev/null
	tc -n $NS_S qdisc del dev $devs root 2>/dev/null
}

# netem_drops: set REPLY to the packets netem dropped on both ends.
netem_drops() {
	REPLY=$({ tc -n $NS_C -s qdisc show dev $devc
		tc -n $NS_S -s qdisc show dev $devs; } |
		awk '$1 == "qdisc" { n = ($2 == "netem") }
		     n { for (i = 1; i < NF; i++) if ($i == "(dropped") s += $(i + 1) + 0 }
		     END { print s + 0 }')
}

# client_line PATTERN: set REPLY to the first line of the client's output
# that matches PATTERN (a bash regular expression), '' if none.
client_line() {
	local line
	REPLY=''
	while IFS= read -r line; do
		if [[ $line =~ $1 ]]; then
			REPLY=$line
			return 0
		fi
	done <"$client_log"
	return 1
}

# run_client LIMIT ARGS...: homa_echo client in $NS_C, output in
# $client_log; at most LIMIT seconds.
run_client() {
	local limit=$1
	shift
	timeout -k 5 "$limit" ip netns exec $NS_C "$ECHO" client \
		--server "$A4_S" "$@" >"$client_log" 2>&1
}

# server_rpcs: set REPLY to the RPCs of the server's socket (SIGUSR1
# makes homa_echo print HOMAIOCINFO: "# server: port P, N rpcs, ...").
server_rpcs() {
	local line n=-1 i
	kill -USR1 "$server_pid" 2>/dev/null
	for ((i = 0; i < 20; i++)); do
		sleep 0.1
		n=-1
		while IFS= read -r line; do
			[[ $line =~ ^#\ server:\ port\ [0-9]+,\ ([0-9]+)\ rpcs ]] &&
				n=${BASH_REMATCH[1]}
		done <"$server_log"
		[ "$n" != -1 ] && break
	done
	REPLY=$n
}

# server_summary: set REPLY to the server's last line and return 0 if it
# says N requests served with 0 errors.
server_summary() {
	local line last=''
	while IFS= read -r line; do
		last=$line
	done <"$server_log"
	REPLY=$last
	[[ $last == "server: $1 requests served, 0 errors" ]]
}

# log_file FILE [MAX]: FILE as TAP comments (the last MAX lines).
log_file() {
	local -a lines
	mapfile -t lines <"$1"
	[ ${#lines[@]} -gt "${2:-40}" ] && lines=("${lines[@]: -${2:-40}}")
	printf '#   %s\n' "${lines[@]}"
}

# ---------------------------------------------------------------- settings
# warm_up WHAT CLIENT-ARGS...: loss-free RPCs to the running server before
# netem starts, so that both ends have resolved each other's neighbour
# entry (and the caches are warm): a lost ARP request or reply leaves the
# peer unresolved for retrans_time (1 s), ten times timeout_ticks, and the
# first RPCs would time out (20% loss as the first setting did so on the
# debug kernel). The test is about the transport, not neighbour
# resolution under loss (timeout_ticks in man/homa.7).
warm_up() {
	local what=$1
	shift
	run_client 60 --port $PORT --stall 30 --timeout 50 "$@" ||
		nslog "$what warm-up failed"
}

run_setting() {
	local s=$1 t0 rc hsecs tsecs ok failed drops retrans tcp_res srv
	local desc="$s (${NETEM[$s]})"
	if ! netem_on "$s"; then
		tap_ok 1 "$desc: netem could not be set up"
		tap_ok 1 "$desc: netem could not be set up"
		return
	fi
	ns_server_start --port $PORT || {
		tap_ok 1 "$desc: the server did not start"
		tap_ok 1 "$desc: the server did not start"
		netem_off
		return
	}
	ns_snapshot M0
	t0=$EPOCHREALTIME
	# A run fails if no RPC completes for $stall seconds, or if it
	# takes longer than 3 x $stall plus 0.1 s per RPC (loss20 over an
	# emulated NIC measured 0.06 s per RPC).
	local limit=$((stall * 3 + count / 10))
	run_client $((limit + 10)) --port $PORT --sizes "$MIX" \
		--threads $THREADS --concurrent $CONCURRENT --count "$count" \
		--stall $stall --timeout $limit
	rc=$?
	secs_since "$t0"
	hsecs=$REPLY
	ns_snapshot M1
	netem_drops
	drops=$REPLY
	client_line '^client: [0-9]+ rpcs ok, [0-9]+ failed'
	[[ $REPLY =~ ([0-9]+)\ rpcs\ ok,\ ([0-9]+)\ failed ]]
	ok=${BASH_REMATCH[1]:-0} failed=${BASH_REMATCH[2]:-$count}
	tap_ok $rc "$desc: Homa: $count RPCs of sizes 100 B to 1 MB complete intact (${hsecs}s)" \
		"$(log_file "$client_log" 40)"
	ns_server_stop
	rc=$?
	server_summary $((count))
	srv=$?
	[ $rc = 0 ] && [ $srv = 0 ]
	tap_ok $? "$desc: the server saw each of the $count requests once, intact ($REPLY)" \
		"$(log_file "$server_log" 30)"

	retrans_grown
	retrans=$REPLY
	probes_grown
	nslog "$desc: Homa ${hsecs}s, $ok ok, $failed failed; netem dropped $drops;" \
		"${retrans:-no retransmission}; ${REPLY:-no timer packets}"
	local resent=0 resends=0 restarts=0 timeouts=0 x
	for x in data_pkts_resent:resent pkts_sent_RESEND:resends \
		client_rpc_restarts:restarts rpc_timeouts:timeouts; do
		dlt "c.${x%%:*}"
		local v=$REPLY
		dlt "s.${x%%:*}"
		printf -v "${x##*:}" %d $((v + REPLY))
	done

	tcp_res='-'
	tsecs='-'
	if [ "$tcp" = 1 ]; then
		local limit
		limit=${hsecs%.*}
		limit=$((2 * limit + 10))
		[ $limit -gt 90 ] && limit=90
		ip netns exec $NS_S "$ECHO" server --tcp --port $TCP_PORT \
			>"$ns_work/tcp-server.log" 2>&1 &
		local tpid=$!
		sleep 0.5
		t0=$EPOCHREALTIME
		run_client $((limit + 10)) --tcp --port $TCP_PORT --sizes "$MIX" \
			--threads $THREADS --concurrent $CONCURRENT \
			--count "$count" --stall "$limit" --timeout "$limit"
		rc=$?
		secs_since "$t0"
		tsecs=$REPLY
		client_line '^client: [0-9]+ rpcs ok, [0-9]+ failed'
		tcp_res=${REPLY#client: }
		[ $rc != 0 ] && tsecs=">$tsecs"
		nslog "$desc: TCP ${tsecs}s: $tcp_res"
		stop_pid $tpid 10
	fi
	netem_off
	table+=("$(printf '%-8s %6s %5s %7s %7s %8s %8s %6s %8s %9s  %s' "$s" \
		"$ok" "$failed" "$drops" "$resent" "$resends" "$restarts" \
		"$timeouts" "$hsecs" "$tsecs" "${tcp_res%% rpcs ok*}")")
}

# ---------------------------------------------------------------- dead peers
# cut_off NS DEV: the host of namespace NS stops answering: veth goes
# down; an emulated NIC loses its addresses instead (a virtio-net port
# that is down stops qemu's hub, and with it the other NIC's transmit
# queue: the NETDEV WATCHDOG fires), so it keeps taking packets and drops
# them.
cut_off() {
	if [[ $2 == eth* ]]; then
		ip -n "$1" addr flush dev "$2"
	else
		ip -n "$1" link set "$2" down
	fi
}

# nic_back DEV: after its namespace went away, an emulated NIC is back in
# this namespace, down; bring it up (see cut_off).
nic_back() {
	local i
	[[ $1 == eth* ]] || return 0
	for ((i = 0; i < 100; i++)); do
		ip link set "$1" up 2>/dev/null && return 0
		sleep 0.1
	done
	nslog "$1 did not come back from its namespace"
}

# Wait (at most 20 s) until the client has RPCs in flight and the server
# has started serving.
wait_busy() {
	local i
	for ((i = 0; i < 200; i++)); do
		ns_homa_metrics M1
		dlt c.client_rpcs
		local c=$REPLY
		dlt s.server_rpcs
		[ "$c" -ge "$1" ] && [ "$REPLY" -ge 1 ] && return 0
		kill -0 "$client_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# wait_client SECONDS: wait for the background client, at most SECONDS;
# sets REPLY to its exit status (124: still running, killed).
wait_client() {
	local i
	for ((i = 0; i < $1 * 20; i++)); do
		kill -0 "$client_pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$client_pid" 2>/dev/null; then
		stop_pid "$client_pid" 5
		REPLY=124
	else
		wait "$client_pid"
		REPLY=$?
	fi
	client_pid=''
}

# dead_server HOW: HOW is link (the server's link goes down) or ns (its
# namespace goes away); 2 results.
dead_server() {
	local how=$1 t0 rc n bound lines other limit x line gone
	HOMA_SYSCTLS="${HOMA_SYSCTLS:-} timeout_ticks=$DEAD_TICKS" ns_setup "$path" ||
		{ tap_ok 1 "dead-$how: setup"; tap_ok 1 "dead-$how: setup"; return; }
	ns_server_start --port $PORT || {
		tap_ok 1 "dead-$how: the server did not start"
		tap_ok 1 "dead-$how: the server did not start"
		return
	}
	# 50 Mbit/s each way: the 16 MB take seconds, so RPCs are in flight
	# when the server goes.
	NETEM[rate]="rate 50mbit"
	netem_on rate
	ns_homa_metrics M0
	ip netns exec $NS_C "$ECHO" client --server "$A4_S" --port $PORT \
		--threads 1 --concurrent 16 --count 16 --sizes 1000000 \
		--stall 300 --timeout 300 >"$client_log" 2>&1 &
	client_pid=$!
	if ! wait_busy 16; then
		nslog "the client never got busy:"
		log_file "$client_log"
	fi
	t0=$EPOCHREALTIME
	cut_off $NS_S $devs
	if [ "$how" = ns ]; then
		kill -KILL "$server_pid" "$keeper_s" 2>/dev/null
		wait "$server_pid" "$keeper_s" 2>/dev/null
		server_pid='' keeper_s=''
		ip netns del $NS_S
		nic_back $devs
	fi
	# timeout_ticks at tick_usecs, plus the margin.
	bound=$(((DEAD_TICKS * $(</proc/sys/net/homa/tick_usecs) + 999999) / 1000000 + margin))
	wait_client $((bound + 60))
	rc=$REPLY
	secs_since "$t0"
	limit=$REPLY
	client_line '^client: [0-9]+ rpcs ok, [0-9]+ failed'
	lines=$REPLY
	[[ $lines =~ ([0-9]+)\ rpcs\ ok,\ ([0-9]+)\ failed ]]
	n=${BASH_REMATCH[2]:-0}
	# ETIMEDOUT, or EHOSTUNREACH: when the client's ARP/ND entry for
	# the server fails first, IP reports the packets it queued for it
	# with an ICMP host unreachable, which ends their RPCs.
	other='' gone=0
	while IFS= read -r line; do
		[[ $line =~ ^client:\ failures\ errno\ ([0-9]+)\ .*:\ ([0-9]+)$ ]] || continue
		case ${BASH_REMATCH[1]} in
		110 | 113) gone=$((gone + BASH_REMATCH[2])) ;;
		*) other="$other $line" ;;
		esac
	done <"$client_log"
	# When each RPC failed, counted from when it was sent.
	x=''
	while IFS= read -r line; do
		[[ $line =~ errno\ ([0-9]+).*RPC\ failed\ ([0-9]+)\ ms ]] &&
			x="$x ${BASH_REMATCH[2]}(${BASH_REMATCH[1]})"
	done <"$client_log"
	nslog "dead-$how: RPCs failed after (ms from their start, errno):${x:- none}"
	[ $rc = 1 ] && [ "$n" -gt 0 ] && [ -z "$other" ] && [ "$gone" = "$n" ]
	tap_ok $? "dead-$how: the client's $n unfinished RPCs fail with ETIMEDOUT or EHOSTUNREACH" \
		"client exit status $rc; $lines; other errors:${other:- none}" \
		"$(log_file "$client_log" 30)"
	[ "$rc" != 124 ] && [ "${limit%.*}" -lt "$bound" ]
	tap_ok $? "dead-$how: ... within ${bound}s of the server going away (${limit}s; timeout_ticks $DEAD_TICKS)"
	[ -n "$server_pid" ] && ns_server_stop
	ns_teardown
}

# vanish: the client goes away while the server works on its RPCs.
vanish() {
	local t0 n=-1 bound i
	HOMA_SYSCTLS="${HOMA_SYSCTLS:-} timeout_ticks=$DEAD_TICKS" ns_setup "$path" ||
		{ tap_ok 1 "vanish: setup"; tap_ok 1 "vanish: setup"; return; }
	ns_server_start --port $PORT || {
		tap_ok 1 "vanish: the server did not start"
		tap_ok 1 "vanish: the server did not start"
		return
	}
	NETEM[rate]="rate 50mbit"
	netem_on rate
	ns_homa_metrics M0
	ip netns exec $NS_C "$ECHO" client --server "$A4_S" --port $PORT \
		--threads 2 --concurrent 8 --count 16 --sizes 1000000 \
		--stall 300 --timeout 300 >"$client_log" 2>&1 &
	client_pid=$!
	wait_busy 16 || nslog "the client never got busy"
	server_rpcs
	nslog "vanish: the server's socket has $REPLY RPCs when the client goes"
	t0=$EPOCHREALTIME
	cut_off $NS_C $devc
	kill -KILL "$client_pid" "$keeper_c" 2>/dev/null
	wait "$client_pid" "$keeper_c" 2>/dev/null
	client_pid='' keeper_c=''
	ip netns del $NS_C
	nic_back $devc
	bound=$(((DEAD_TICKS * $(</proc/sys/net/homa/tick_usecs) + 999999) / 1000000 + margin))
	for ((i = 0; i < bound + 30; i++)); do
		server_rpcs
		n=$REPLY
		[ "$n" = 0 ] && break
		sleep 0.9
	done
	secs_since "$t0"
	[ "$n" = 0 ] && [ "${REPLY%.*}" -lt "$bound" ]
	tap_ok $? "vanish: the server's socket has no RPC left ${REPLY}s after its client went (at most ${bound}s; timeout_ticks $DEAD_TICKS)" \
		"server socket RPCs: $n" "$(log_file "$server_log" 30)"
	ns_homa_metrics M1
	grown '^s\.(rpc_timeouts|server_rpcs_unknown|server_rpcs_acked|pkts_sent_NEED_ACK|pkts_sent_RESEND|xmit_errors|data_pkts_resent)$'
	nslog "vanish: on the server: ${REPLY:-no counter grew}"
	ns_server_stop
	server_summary '[0-9]+'
	[[ $REPLY =~ ^server:\ [0-9]+\ requests\ served,\ 0\ errors$ ]]
	tap_ok $? "vanish: the server saw no error ($REPLY)" "$(log_file "$server_log" 30)"
	ns_teardown
}

# ---------------------------------------------------------------- soak
# mem_snapshot: set MEM (bytes in use in the slab caches homa allocates
# from: kmalloc for RPCs, peers and packet data, and the skb caches) and
# SKB (skb heads in use), after dropping clean caches and shrinking those
# slab caches, which also empties KASAN's quarantine of freed objects
# (they count as in use until then); as fuzz_test.py does.
mem_snapshot() {
	local name active size rest
	local -a caches=()
	echo 3 >/proc/sys/vm/drop_caches
	while read -r name rest; do
		[[ $name == *kmalloc* || $name == skbuff* ]] && caches+=("$name")
	done </proc/slabinfo
	for name in "${caches[@]}"; do
		echo 1 2>/dev/null >"/sys/kernel/slab/$name/shrink"
	done
	MEM=0 SKB=0
	while read -r name active rest size rest; do
		[[ $name == *kmalloc* || $name == skbuff* ]] || continue
		[[ $active =~ ^[0-9]+$ ]] || continue
		MEM=$((MEM + active * size))
		[ "$name" = skbuff_head_cache ] && SKB=$active
	done </proc/slabinfo
}

soak() {
	local rc t0 secs mem0 skb0 i n bound
	ns_setup "$path" || {
		for i in 1 2 3 4 5; do tap_ok 1 "soak: setup"; done
		return
	}
	ns_server_start --port $PORT || {
		for i in 1 2 3 4 5; do tap_ok 1 "soak: the server did not start"; done
		return
	}
	# Warm up, then take the starting values.
	warm_up soak --sizes "$SOAK_MIX" --threads $THREADS \
		--concurrent $CONCURRENT --count 50
	sleep 1
	mem_snapshot
	mem0=$MEM skb0=$SKB
	ns_homa_metrics M0
	netem_on loss5
	t0=$EPOCHREALTIME
	run_client $((soak_limit + 10)) --port $PORT --sizes "$SOAK_MIX" \
		--threads $THREADS --concurrent $CONCURRENT --count "$soak_count" \
		--stall $stall --timeout $soak_limit
	rc=$?
	secs_since "$t0"
	secs=$REPLY
	netem_off
	tap_ok $rc "soak: $soak_count RPCs under 5% loss complete intact (${secs}s)" \
		"$(log_file "$client_log" 40)"
	bound=$((margin + 10))
	for ((i = 0; i < bound; i++)); do
		server_rpcs
		n=$REPLY
		[ "$n" = 0 ] && break
		sleep 0.9
	done
	ns_homa_metrics M1
	local c s
	dlt c.client_rpcs
	c=$REPLY
	dlt c.client_rpcs_done
	[ "$n" = 0 ] && [ "$c" = "$soak_count" ] && [ "$REPLY" = "$c" ]
	tap_ok $? "soak: afterwards every client RPC ended ($REPLY of $c) and the server's socket has no RPC ($n)"
	retrans_grown
	nslog "soak: ${REPLY:-no retransmission}"
	ns_server_stop
	rc=$?
	server_summary $((soak_count + 50))
	s=$?
	[ $rc = 0 ] && [ $s = 0 ]
	tap_ok $? "soak: the server saw each request once, intact ($REPLY)" \
		"$(log_file "$server_log" 30)"
	ns_homa_metrics M1
	dlt c.sockets_created
	c=$REPLY
	dlt c.sockets_closed
	[ "$c" = "$REPLY" ]
	tap_ok $? "soak: the client's sockets are all closed ($REPLY of $c)"
	# Memory freed after an RCU grace period or by the reaper: look a
	# few times.
	for ((i = 0; i < 10; i++)); do
		sleep 1
		mem_snapshot
		[ $((MEM - mem0)) -le 524288 ] && [ $((SKB - skb0)) -le 64 ] && break
	done
	[ $((MEM - mem0)) -le 524288 ] && [ $((SKB - skb0)) -le 64 ]
	tap_ok $? "soak: kernel memory back near its start (kmalloc and skb caches $((mem0 / 1024)) -> $((MEM / 1024)) KB, at most +512; skb heads $skb0 -> $SKB, at most +64)"
	ns_teardown
}

# ---------------------------------------------------------------- main
homa_loaded && homa_unload
out=$(homa_load 2>&1)
tap_ok $? "insmod $HOMA_KO" "$out"
if ! homa_has_retrans; then
	nslog "the module has no retransmission: every lossy setting will fail"
fi
t_all=$EPOCHREALTIME
for part in $parts; do
	t_part=$EPOCHREALTIME
	case $part in
	settings)
		if ! ns_setup "$path"; then
			for s in $settings; do
				tap_ok 1 "$s: setting up the path failed"
				tap_ok 1 "$s: setting up the path failed"
			done
			continue
		fi
		if ns_server_start --port $PORT; then
			warm_up settings --sizes 100,1400,10000 --threads 1 \
				--concurrent 4 --count 20
			ns_server_stop
		else
			nslog "settings warm-up: the server did not start"
		fi
		for s in $settings; do
			run_setting "$s"
		done
		ns_teardown
		nslog "Homa and TCP under netem over $path, $count RPCs each, sizes 100 B to 1 MB ($THREADS threads x $CONCURRENT in flight):"
		nslog "$(printf '%-8s %6s %5s %7s %7s %8s %8s %6s %8s %9s  %s' \
			setting ok fail netem_dr resent RESENDs restarts tmouts \
			homa_s tcp_s tcp_ok)"
		for row in "${table[@]}"; do
			nslog "$row"
		done
		;;
	dead)
		dead_server link
		dead_server ns
		;;
	vanish) vanish ;;
	soak) soak ;;
	esac
	secs_since "$t_part"
	nslog "part $part: ${REPLY}s"
done
secs_since "$t_all"
nslog "all parts: ${REPLY}s"
out=$(homa_unload 2>&1)
tap_ok $? "rmmod homa" "$out"
tap_done
