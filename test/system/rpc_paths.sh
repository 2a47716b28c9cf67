#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# RPCs over every packet path of one VM (docs/TESTBED.md, "Packet paths
# inside one VM"), IPv4 and IPv6: util/homa_echo's server in one network
# namespace, its client in another (loopback: the same one), all sizes of
# the issue's list plus the packet-size boundaries of the path, 4 client
# threads x 50 RPCs in flight, every byte of every request and response
# checked; "plain" runs, and "mixed" runs where every other request is
# private (the client checks that recvmsg(id 0) never returns a private
# response).  Per run (5 results): the client's RPCs all complete intact;
# /proc/net/homa_metrics of each namespace counts client_rpcs ==
# client_rpcs_done == server_rpcs == the RPCs run == server_rpcs_acked
# plus the server RPCs ended by ICMP (a NEED_ACK that overtook the
# client's last ACK meets its closed port);
# no pkts_dropped_* counter grew (pkts_dropped_unknown_rpc is tolerated:
# a GRANT overtaken by the end of its RPC counts there; so is the client
# side's pkts_dropped_no_socket: a NEED_ACK crossing the last ACK reaches
# the client after it closed; RPC_PATHS_STRICT=1 tolerates nothing); the server saw every request intact; and, once the
# module retransmits, no retransmission on a path that lost nothing
# (otherwise the count is printed).  Known gap, reported as a SKIP with
# the count on the NAPI paths only (veth with GRO, the NICs): under 4 x 50
# RPCs the device's ring (and qemu's queues) hold a message's packets for
# longer than resend_ticks, and the receiver asks for them again
# (spurious retransmissions; their duplicates are tolerated in
# pkts_dropped_dup).  On loopback and veth without GRO, whose per-CPU
# backlogs Homa accounts for, a spurious retransmission fails on the
# stock kernel (the debug kernel reports them as a SKIP with the count).  Each run prints, as TAP comments,
# the packets one side sent that the other never received (by type and
# direction), the drop counters below Homa that grew (backlog, ARP/ND
# queue, device, ethtool -S, qdisc; see nslib.sh) and its times.
#
# Paths (nslib.sh sets them up):
#   lo             loopback
#   veth           veth pair, default offloads (TSO on, GRO off)
#   veth-gro       veth pair, TSO off, GRO on, MTU 1500
#   veth-gro-9000  the same at MTU 9000
#   veth-cold      veth, default offloads, neighbour tables flushed before
#                  each run: the burst meets unresolved neighbours
#   nic-tso-on     the VM's two emulated NICs (run-vm --nics virtio or
#   nic-tso-off    e1000e), one per namespace, TSO on / off; a NIC that
#                  cannot change TSO skips nic-tso-on (same path as off)
#   nic-cold       nic-tso-off with the neighbour tables flushed
# Default: the NIC paths in a VM with NICs ($HOMA_VM_NICS), the others
# otherwise.
#
# Losses.  Until the module retransmits (it has no
# /proc/sys/net/homa/resend_ticks yet) a lost packet stalls its RPC
# forever.  These paths lose packets below Homa under this load every
# time, so they are gated: skipped (SKIP results) until the module
# retransmits, then run and must complete every RPC, printing how many
# retransmissions that took:
#   veth-gro, veth-gro-9000  veth's NAPI ring (256 skbs) overflows: the
#                  sender's tx_dropped and Homa's xmit_errors grow
#   veth-cold, nic-cold  the ARP/ND queue of an unresolved neighbour
#                  (unres_qlen_bytes) overflows: unresolved_discards grow
# RPC_PATHS_FORCE=1 runs them anyway (to see where packets go).  The
# other paths lose packets only sometimes, depending on how busy the
# host is: the veth backlog (netdev_max_backlog) overflows, or fq_codel
# on a NIC drops packets that waited longer than its 5 ms target.  A run
# there that stalls after Homa lost packets (sent but never received, or
# refused by IP: xmit_errors) gives SKIP results that name the loss and
# the drop counters that grew, while the module has no retransmission;
# any other failure fails.  Once the module retransmits, every run must
# complete, and a run that lost nothing must not retransmit.
#
# Default paths: lo veth veth-gro veth-gro-9000 veth-cold without NICs,
# nic-tso-on nic-tso-off nic-cold with NICs; the debug kernel (KASAN,
# lockdep: 5 to 10 times slower under TCG) runs lo veth veth-gro, and over
# the NICs nic-tso-on (IPv4) and nic-tso-off (IPv6) only.
# Sizes: the stock kernel runs 400 RPCs per run on lo and veth (every
# thread refills its window of 50 once), the full size list; the debug
# kernel, and every kernel over the NICs (slow emulation), 200 RPCs (one
# full window per thread) of the light mix: every size, the ones below
# 500000 four times as often.  Each run is a mixed one (public and
# private RPCs); --modes "plain mixed" adds public-only runs.
# Times on the 2-core host (other VMs running), module with the first
# retransmission (many runs stall or retransmit; a healthy run is
# faster): stock without NICs 1.7 min, virtio VM 1.5 min, e1000e VM
# 2.6 min; debug without NICs 3.1 min, e1000e VM 2.2 min.
#
# Usage: rpc_paths.sh [--paths "lo veth ..."] [--count N]
#                     [--modes "plain mixed"] [--families "4 6"] [--rtt N]
#   --paths    paths to run (also $RPC_PATHS)
#   --count N  RPCs per run (also $RPC_PATHS_COUNT)
#   --modes    which runs (also $RPC_PATHS_MODES)
#   --families IP versions, default "4 6" (also $RPC_PATHS_FAMILIES)
#   --rtt N    after each path, print (TAP comments) Homa and TCP
#              round-trip times of 100 B and 100 KB RPCs, N each
# Environment: HOMA_KO (module), HOMA_ECHO (default util/homa_echo, which
# run-systest.sh builds), HOMA_SYSCTLS ("name=value ...": Homa sysctls
# for both namespaces, e.g. "resend_ticks=50"), RPC_PATHS_FORCE,
# RPC_PATHS_STRICT.  Runs as root in the run-vm guest, for example
#   test/system/run-systest.sh --kernel stock -- rpc_paths.sh
#   test/system/run-systest.sh --kernel debug --nics e1000e -- rpc_paths.sh
# TAP output; exit 0 pass, 1 fail, 4 skip.

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/system/lib.sh
. "$here/lib.sh"
# shellcheck source=test/system/nslib.sh
. "$here/nslib.sh"

SIZES=1,100,1399,1400,1401,10000,65536,65537,500000,1000000
PORT=4000
THREADS=4
CONCURRENT=50
case $(uname -r) in
*homa-debug*) debug=1 ;;
*) debug=0 ;;
esac
rtt=0
paths=${RPC_PATHS:-}
count=${RPC_PATHS_COUNT:-}
modes=${RPC_PATHS_MODES:-}
families=${RPC_PATHS_FAMILIES:-}
while [ $# -gt 0 ]; do
	case $1 in
	--paths) paths=$2; shift 2 ;;
	--count) count=$2; shift 2 ;;
	--modes) modes=$2; shift 2 ;;
	--families) families=$2; shift 2 ;;
	--rtt) rtt=$2; shift 2 ;;
	-h | --help) sed -n '3,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "rpc_paths.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
if [ -z "$paths" ]; then
	if [ -n "${HOMA_VM_NICS:-}" ]; then
		paths="nic-tso-on nic-tso-off nic-cold"
		[ $debug = 1 ] && paths="nic-tso-on nic-tso-off"
	else
		paths="lo veth veth-gro veth-gro-9000 veth-cold"
		[ $debug = 1 ] && paths="lo veth veth-gro"
	fi
fi
# Mixed runs have public and private RPCs; plain runs (public only) on
# request (--modes "plain mixed").
[ -z "$modes" ] && modes=mixed
# The client gives up after --timeout s, or --stall s without progress.
if [ $debug = 1 ]; then
	client_timeout=300 stall=20
else
	client_timeout=120 stall=12
fi

[ "$(id -u)" = 0 ] || tap_skip_all "needs root (run it in the run-vm guest)"
[ -x "$ECHO" ] || tap_skip_all "$ECHO missing: run 'make -C util'"
command -v ip >/dev/null || tap_skip_all "no ip command"
command -v ethtool >/dev/null || tap_skip_all "no ethtool command"

# modes_for PATH: set REPLY to the runs of PATH.
modes_for() {
	REPLY=$modes
}
# families_for PATH: set REPLY to the IP versions run on PATH: both,
# except on the emulated NICs under the debug kernel (a run takes over a
# minute there), where TSO on runs IPv4 and TSO off IPv6.
families_for() {
	REPLY="4 6"
	[ -n "$families" ] && REPLY=$families && return
	[ $debug = 1 ] || return 0
	case $1 in
	nic-tso-on) REPLY=4 ;;
	nic-tso-off) REPLY=6 ;;
	esac
}
nresults=2
for path in $paths; do
	modes_for "$path"
	n=$(echo "$REPLY" | wc -w)
	families_for "$path"
	nresults=$((nresults + $(echo "$REPLY" | wc -w) * n * 5))
done
tap_plan $nresults

# shellcheck disable=SC2317 # called from the trap
finish() {
	ns_teardown
	rm -rf "$ns_work"
	homa_loaded && homa_unload >/dev/null
}
trap finish EXIT
trap 'nslog "interrupted"; exit 1' INT TERM

# count_for PATH: set REPLY to the RPCs per run on PATH.
count_for() {
	if [ -n "$count" ]; then
		REPLY=$count
	elif [[ $1 == nic* ]] || [ $debug = 1 ]; then
		REPLY=200
	else
		REPLY=400
	fi
}

# gated_reason PATH: set REPLY to why PATH loses packets without
# retransmission ('' if it does not).
gated_reason() {
	case $1 in
	veth-gro*)
		REPLY="veth's NAPI ring (256 skbs) overflows: sender tx_dropped, Homa xmit_errors" ;;
	veth-cold | nic-cold)
		REPLY="the ARP/ND queue of an unresolved neighbour (unres_qlen_bytes) overflows" ;;
	*)
		REPLY='' ;;
	esac
}

# boundary_sizes PATH FAMILY: payload bytes of a full DATA packet on the
# path (route MTU or max_gso_size, less the IP and 56-byte DATA headers),
# one more, and two packets, so messages end at and just after a packet.
boundary_sizes() {
	local m=$mtu gso ip
	gso=10000
	read -r gso </proc/sys/net/homa/max_gso_size
	[ "$gso" -lt "$m" ] && m=$gso
	if [ "$2" = 4 ]; then ip=20; else ip=40; fi
	REPLY="$((m - ip - 56)),$((m - ip - 56 + 1)),$((2 * (m - ip - 56)))"
}

# secs_since T0: set REPLY to the seconds since $EPOCHREALTIME T0 (x.y).
secs_since() {
	local t=$((${EPOCHREALTIME/./} - ${1/./}))
	t=$((t / 100000))
	REPLY=$((t / 10)).$((t % 10))
}

# skip_run DESC WHY: the 5 results of a run that does not happen.
skip_run() {
	local r
	for r in "all RPCs complete intact" "metrics count the RPCs" \
		"no packet dropped by Homa" "the server saw no error" \
		"no retransmission"; do
		tap_skip "$1: $r" "$2"
	done
}

# run_case PATH FAMILY MODE GATED: a fresh server (RPCs left over from a
# failed run must not disturb the next one), one client run; 5 results.
run_case() {
	local path=$1 fam=$2 mode=$3 gated=$4 addr flag='' extra='' sizes desc
	local t0 t1 rc out n d tol bad i x lost t cnt excuse='' retrans warm=1
	local -a details
	count_for "$path"
	cnt=$REPLY
	if [ "$fam" = 6 ]; then addr=$A6_S; flag=-6; else addr=$A4_S; fi
	[ "$mode" = mixed ] && extra=--mixed
	boundary_sizes "$path" "$fam"
	sizes=$SIZES,$REPLY
	local what="sizes $sizes"
	if [ $debug = 1 ] || [[ $path == nic* ]]; then
		# The light mix: every size below 500000 four times as often
		# (each thread still sends each size at least once).
		x=${SIZES%,500000,1000000},$REPLY
		sizes=$x,$x,$x,$x,500000,1000000
		what="sizes $SIZES,$REPLY (light mix: the large ones a quarter as often)"
	fi
	desc="$path IPv$fam $mode"
	t0=$EPOCHREALTIME
	if ! ns_server_start --port $PORT --threads 2 $flag; then
		for i in 1 2 3 4 5; do
			tap_ok 1 "$desc: the server did not start"
		done
		return 1
	fi
	if [[ $path == *-cold ]]; then
		# The burst meets unresolved neighbours.
		ip -n $NS_C neigh flush all
		ip -n $NS_S neigh flush all
		warm=0
	else
		# One single-packet RPC resolves the neighbours both ways.
		timeout -k 5 30 ip netns exec $NS_C "$ECHO" client \
			--server "$addr" --port $PORT $flag --threads 1 \
			--concurrent 1 --count 1 --sizes 1 --stall 10 \
			--timeout 20 >/dev/null 2>&1 || nslog "warm-up RPC failed"
	fi
	ns_snapshot M0
	secs_since "$t0"
	t="setup ${REPLY}s"

	t1=$EPOCHREALTIME
	out=$(timeout -k 5 $((client_timeout + 30)) ip netns exec $NS_C \
		"$ECHO" client --server "$addr" --port $PORT $flag \
		--sizes "$sizes" --threads $THREADS --concurrent $CONCURRENT \
		--count "$cnt" $extra --stall $stall --timeout $client_timeout 2>&1)
	rc=$?
	secs_since "$t1"
	t="$t, client ${REPLY}s"
	[ $rc = 124 ] || [ $rc = 137 ] &&
		out="$out"$'\n'"(killed by timeout after $((client_timeout + 30)) s)"
	mapfile -t details <<<"$out"
	# A stalled client lists every outstanding RPC; keep the start of
	# that report and the summary line.
	[ ${#details[@]} -gt 60 ] &&
		details=("${details[@]:0:58}" "..." "${details[-1]}")
	if [ $rc != 0 ]; then
		kill -USR1 "$server_pid" 2>/dev/null
		sleep 1
	fi
	t1=$EPOCHREALTIME
	# Acks travel after the last response; give them a moment.  A
	# server RPC whose ACK a NEED_ACK overtook ends when the NEED_ACK
	# meets the closed client port and draws ICMP (rpcs_icmp_aborted).
	for ((i = 0; i < 50; i++)); do
		ns_homa_metrics M1
		dlt s.server_rpcs_acked
		local acked=$REPLY
		dlt s.rpcs_icmp_aborted
		[ $((acked + REPLY)) -ge "$cnt" ] && break
		[ $rc != 0 ] && [ $i -ge 10 ] && break
		sleep 0.1
	done
	ns_snapshot M1

	# Packets Homa handed to IP on one side but never saw on the other.
	lost=''
	for x in DATA GRANT ACK RESEND BUSY NEED_ACK RPC_UNKNOWN; do
		if [ "$NS_S" = "$NS_C" ]; then
			dlt c.pkts_sent_$x; n=$REPLY
			dlt c.pkts_rcvd_$x; n=$((n - REPLY))
			[ "$n" != 0 ] && lost="$lost $x $n"
		else
			dlt c.pkts_sent_$x; n=$REPLY
			dlt s.pkts_rcvd_$x; n=$((n - REPLY))
			[ "$n" != 0 ] && lost="$lost $x client->server $n"
			dlt s.pkts_sent_$x; n=$REPLY
			dlt c.pkts_rcvd_$x; n=$((n - REPLY))
			[ "$n" != 0 ] && lost="$lost $x server->client $n"
		fi
	done
	below_lost
	local below=$REPLY
	nslog "sent but never received:${lost:- none}; drops below Homa:" \
		"${below:-none}"
	# Did Homa lose packets?  Packets it sent that never arrived, or
	# that IP refused (xmit_errors).  The counters below Homa say where,
	# but not all of them are Homa's packets (e1000e counts short ARP
	# frames as rx_errors, for instance).
	local lossy=$lost
	grown '^[cs]\.(xmit_errors|xmit_nomem)$'
	lossy="$lost${REPLY:+ $REPLY}"
	retrans=''
	if homa_has_retrans; then
		retrans_grown
		retrans="retransmission ${REPLY:-none}; "
		probes_grown
		retrans="${retrans}timer ${REPLY:-none}; "
	fi

	# Result 1: the client.  Without retransmission, a stall that
	# follows packets lost below Homa is that loss, not a bug here.
	if [ $rc != 0 ] && [ "$gated" = 0 ] && [ -n "$lossy" ] &&
		! homa_has_retrans && [ "${RPC_PATHS_STRICT:-0}" != 1 ] &&
		[[ $out == *"client: no RPC completed"* ]] &&
		[[ $out != *"client: thread "*" RPC id "* ]]; then
		excuse="lost packets below Homa (${lossy# }; where: ${below:-no drop counter grew}) and the module has no retransmission yet"
	fi
	if [ -n "$excuse" ]; then
		tap_skip "$desc: $cnt RPCs, $what, ${THREADS}x$CONCURRENT in flight" "$excuse"
		for x in "${details[@]}"; do
			echo "# $x"
		done
	else
		tap_ok $rc "$desc: $cnt RPCs, $what, ${THREADS}x$CONCURRENT in flight" \
			"${details[@]}"
	fi
	[[ $out =~ (client: [0-9.]+ s, about [^$'\n']*) ]] && nslog "${BASH_REMATCH[1]}"

	# Result 2: the metrics.
	n=''
	for x in c.client_rpcs c.client_rpcs_done s.server_rpcs s.server_rpcs_acked; do
		dlt $x
		n="$n${n:+ }${x#?.} $REPLY"
	done
	if [ -n "$excuse" ]; then
		tap_skip "$desc: metrics count $cnt RPCs everywhere ($n)" "$excuse"
	elif [ -n "$lossy" ] && homa_has_retrans; then
		# A request restarted after RPC_UNKNOWN makes another server
		# RPC; server RPCs may end by the timer instead of an ACK.
		dlt s.server_rpcs
		[[ $n == "client_rpcs $cnt client_rpcs_done $cnt "* ]] &&
			[ "$REPLY" -ge "$cnt" ]
		tap_ok $? "$desc: metrics count $cnt client RPCs, at least $cnt server RPCs" "$n"
	else
		# Server RPCs end by ACK, or (a NEED_ACK that crossed the
		# client's last ACK) by the ICMP error its closed port drew.
		dlt s.server_rpcs_acked
		x=$REPLY
		dlt s.rpcs_icmp_aborted
		[[ $n == "client_rpcs $cnt client_rpcs_done $cnt server_rpcs $cnt server_rpcs_acked "* ]] &&
			[ $((x + REPLY)) = "$cnt" ]
		tap_ok $? "$desc: metrics count $cnt RPCs everywhere (server RPCs acked or ended by ICMP: $x + $REPLY)" "$n"
	fi

	# Result 3: Homa's own drop counters.  A GRANT sent just before the
	# last packets of a message can arrive after the RPC ended (the two
	# went through different CPUs' backlogs) and count in
	# pkts_dropped_unknown_rpc; after a loss, retransmitted duplicates
	# count in pkts_dropped_dup.
	if [ "$NS_S" = "$NS_C" ]; then
		grown '^c\.pkts_dropped_'
	else
		grown '^[cs]\.pkts_dropped_'
	fi
	d=$REPLY
	bad='' tol=''
	for x in $d; do
		case $x in
		[cs].pkts_dropped_unknown_rpc+*) tol="$tol$x " ;;
		[cs].pkts_dropped_dup+*)
			# Retransmitted duplicates: after a loss, or after a
			# spurious RESEND (see result 5).
			tol="$tol$x " ;;
		c.pkts_dropped_no_socket+*)
			# Late packets for a client that closed: one that
			# gave up, or a server's NEED_ACK or RESEND that
			# crossed the client's last ACK.
			tol="$tol$x " ;;
		s.pkts_dropped_no_socket+*)
			if [ $rc != 0 ]; then tol="$tol$x "; else bad="$bad$x "; fi ;;
		*) bad="$bad$x " ;;
		esac
	done
	if [ "${RPC_PATHS_STRICT:-0}" = 1 ]; then bad=$d; tol=''; fi
	[ -z "$bad" ]
	tap_ok $? "$desc: no packet dropped by Homa${tol:+ (tolerated: ${tol% })}" "$bad"

	# Result 4: the server's own checks (client-to-server direction).
	ns_server_stop
	i=$?
	details=()
	while IFS= read -r x; do
		details+=("$x")
	done <"$server_log"
	[ ${#details[@]} -gt 0 ] && nslog "${details[-1]}"
	[ ${#details[@]} -gt 30 ] && details=("${details[@]: -30}")
	# Each request reaches the server application exactly once (the
	# warm-up RPC is one more), also when it was sent again.
	x=''
	[ $rc = 0 ] && x=", each once"
	if [ $i = 0 ] && [ $rc = 0 ] &&
		[[ ${details[-1]:-} != "server: $((cnt + warm)) requests served, 0 errors" ]]; then
		i=1
		details+=("expected: server: $((cnt + warm)) requests served, 0 errors")
	fi
	tap_ok $i "$desc: the server saw no error (requests intact$x)" \
		"${details[@]}"

	# Result 5: retransmission only where packets were lost.
	if ! homa_has_retrans; then
		tap_skip "$desc: no retransmission" "the module has no retransmission"
	elif [ -n "$lossy" ]; then
		tap_ok 0 "$desc: $RETRANS_N retransmissions for the packets lost below Homa (${lossy# }${below:+; where: $below})"
	elif [ "$RETRANS_N" = 0 ]; then
		tap_ok 0 "$desc: no retransmission on a path that lost nothing"
	elif [[ $path == nic* || $path == veth-gro* ]] || [ $debug = 1 ]; then
		# Known gap (issue 3 open): with 4 x 50 RPCs in flight, a
		# message's packets (or the RESEND asking for them) can wait
		# for longer than resend_ticks (5 ms) in a NAPI device's ring
		# (veth with GRO, the emulated NICs; for the NICs also qemu's
		# queue between them), which Homa does not see, and the
		# receiver asks for them again although nothing was lost.
		# The other queues of this host are accounted for: the
		# sender's (homa_msgout.marks) and the per-CPU receive
		# backlogs of loopback and veth without GRO
		# (homa_rx_clock.c), so there the count must be 0 on the
		# stock kernel. Measured 2026-12-07 (virtio, nic-tso-off,
		# 200 RPCs): nothing is lost (every packet one NIC sent the
		# other received) and the same runs with resend_ticks=50 send
		# no RESEND at all, in the same time; with 1 vCPU instead of
		# 2 the count grows (1020-1935 against 50-490 per run), so the
		# packets wait in the guest, for its NAPI poll. Two estimates
		# of that wait did not lower the count (A/B, same VM): the
		# time the bytes granted to us take at the recent receive
		# rate, and the peer's answer time sampled from GRANT to the
		# DATA it allowed. On e1000e even resend_ticks=50 left 2 of
		# 12 runs with some (waits over 50 ms under TCG).
		# The debug kernel (KASAN, lockdep: 5-10x
		# slower) still showed some on loopback in CI (18 in one
		# IPv4 run, 0 in runs by hand), not explained yet.
		# Reported, not hidden: the count is in the skip reason.
		if [ $debug = 1 ] && [[ $path != nic* && $path != veth-gro* ]]; then
			REPLY="the debug kernel still has some on this path (not explained yet)"
		else
			REPLY="packets wait in a NAPI device's ring longer than resend_ticks under 4x50 load"
		fi
		tap_skip "$desc: no retransmission on a path that lost nothing" \
			"KNOWN: $RETRANS_N spurious retransmissions ($REPLY)"
	else
		tap_ok 1 "$desc: no retransmission on a path that lost nothing" \
			"$RETRANS_N spurious retransmissions: ${retrans%; }"
	fi

	dlt c.pkts_sent_DATA
	x="c.pkts_sent_DATA $REPLY"
	dlt s.pkts_sent_DATA
	x="$x s.pkts_sent_DATA $REPLY"
	dlt s.grants_sent
	x="$x s.grants_sent $REPLY"
	secs_since "$t1"
	nslog "$desc: $n; $x; ${retrans}dropped: ${d:-none}; $t, checks ${REPLY}s"
	return $rc
}

run_rtt() {
	local fam=$1 addr flag='' size tpid
	if [ "$fam" = 6 ]; then addr=$A6_S; flag=-6; else addr=$A4_S; fi
	ns_server_start --port $PORT --threads 1 $flag || return
	ip netns exec $NS_S "$ECHO" server --tcp --port $((PORT + 1)) \
		--threads 1 $flag >/dev/null 2>&1 &
	tpid=$!
	sleep 0.5
	for size in 100 100000; do
		timeout -k 5 120 ip netns exec $NS_C "$ECHO" client \
			--server "$addr" --port $PORT $flag --rtt "$rtt" \
			--sizes $size --timeout 100 2>&1 | grep '^rtt' | sed 's/^/# /'
		timeout -k 5 120 ip netns exec $NS_C "$ECHO" client --tcp \
			--server "$addr" --port $((PORT + 1)) $flag --rtt "$rtt" \
			--sizes $size --timeout 100 2>&1 | grep '^rtt' | sed 's/^/# /'
	done
	stop_pid $tpid 5
	ns_server_stop
}

homa_loaded && homa_unload
out=$(homa_load 2>&1)
tap_ok $? "insmod $HOMA_KO" "$out"
if homa_has_retrans; then
	nslog "the module retransmits (resend_ticks $(</proc/sys/net/homa/resend_ticks)):" \
		"gated paths run"
else
	nslog "the module has no retransmission: gated paths are skipped"
fi
t_all=$EPOCHREALTIME
for path in $paths; do
	nslog "===== path $path"
	t_path=$EPOCHREALTIME
	gated_reason "$path"
	why=$REPLY
	base=${path%-cold}
	[ "$base" = nic ] && base=nic-tso-off
	gated=0
	[ -n "$why" ] && gated=1
	skip_why=''
	if [ $gated = 1 ] && ! homa_has_retrans &&
		[ "${RPC_PATHS_FORCE:-0}" != 1 ]; then
		skip_why="loses packets without retransmission: $why"
	elif ! ns_setup "$base"; then
		skip_why=''
		modes_for "$path"
		n=$(echo "$REPLY" | wc -w)
		families_for "$path"
		for ((i = 0; i < $(echo "$REPLY" | wc -w) * n * 5; i++)); do
			tap_ok 1 "$path: setting up the path failed"
		done
		continue
	elif [[ $path == nic-tso-* ]]; then
		offload_state $NS_C $devc tcp-segmentation-offload
		[ "$REPLY" != "${path#nic-tso-}" ] &&
			skip_why="$HOMA_VM_NICS cannot turn TSO ${path#nic-tso-} (it is $REPLY): the same path as nic-tso-$REPLY"
	fi
	modes_for "$path"
	path_modes=$REPLY
	families_for "$path"
	for fam in $REPLY; do
		for mode in $path_modes; do
			if [ -n "$skip_why" ]; then
				skip_run "$path IPv$fam $mode" "$skip_why"
			else
				run_case "$path" "$fam" "$mode" "$gated"
			fi
		done
		[ -z "$skip_why" ] && [ "$rtt" -gt 0 ] && run_rtt "$fam"
	done
	ns_teardown
	secs_since "$t_path"
	nslog "path $path: ${REPLY}s"
done
secs_since "$t_all"
nslog "all paths: ${REPLY}s"
out=$(homa_unload 2>&1)
tap_ok $? "rmmod homa" "$out"
tap_done
