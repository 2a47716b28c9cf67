# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are used by the tests that source it.)
#
# Two network namespaces joined by one of the VM's packet paths, for the
# tests that run util/homa_echo between them (rpc_paths.sh,
# netem_test.sh); sourced after lib.sh.  Everything that waits is
# bounded, and ns_teardown (run it from an EXIT trap) kills what was
# started here and deletes the namespaces, whatever state they are in.
#
#   ns_setup PATH      namespaces $NS_C (client) and $NS_S (server) and
#                      the path between them:
#       lo             one namespace, loopback (no GRO, MTU 65536)
#       veth           veth pair, default offloads (TSO on, GRO off)
#       veth-gro       veth pair, TSO off, GRO on (veth's NAPI ring)
#       veth-gro-9000  the same at MTU 9000
#       nic-tso-on     the VM's two emulated NICs (run-vm --nics: eth0
#       nic-tso-off    and eth1 on one qemu hub), one in each namespace,
#                      TSO on / off
#       nic            the same with the driver's default offloads
#     sets devc/devs (devices), A4_S/A6_S (server addresses), mtu.
#     $HOMA_SYSCTLS ("name=value ...") is applied to both namespaces.
#   ns_teardown        kill the server and keepers, delete the namespaces
#   ns_server_start ARGS...  homa_echo server in $NS_S (bounded wait for
#                      its "ready" line); ns_server_stop: SIGTERM, then
#                      SIGKILL after 15 s; status of the server
#   ns_snapshot ARRAY  all counters of the path (see below)
#   ns_homa_metrics ARRAY  only the homa_metrics of both namespaces
#
# Forks are expensive in the debug kernel under TCG, so counters are read
# with bash builtins where possible: each namespace has a keeper process,
# and the test reads that namespace's /proc/net files through
# /proc/<keeper>/net.

NS_C=homa-client
NS_S=homa-server
ECHO=${HOMA_ECHO:-$repo_dir/util/homa_echo}

ns_work=$(mktemp -d /tmp/homa-ns.XXXXXX)
ns_path=''
devc='' devs='' mtu=1500
A4_S='' A6_S=''
keeper_c='' keeper_s=''
server_pid=''
server_log=$ns_work/server.log

nslog() { echo "# $*"; }

# stop_pid PID SECONDS: SIGTERM, wait up to SECONDS for the process to
# end, then SIGKILL; sets REPLY to its exit status (137 when killed).
stop_pid() {
	local pid=$1 secs=$2 i
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		nslog "process $pid still alive ${secs}s after SIGTERM; SIGKILL"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	REPLY=$?
}

ns_teardown() {
	if [ -n "$server_pid" ]; then
		stop_pid "$server_pid" 15
		server_pid=''
	fi
	[ -n "$keeper_c" ] && stop_pid "$keeper_c" 5
	[ -n "$keeper_s" ] && stop_pid "$keeper_s" 5
	keeper_c='' keeper_s=''
	ip netns del $NS_C 2>/dev/null
	ip netns del $NS_S 2>/dev/null
	# Physical NICs return to the initial namespace asynchronously.
	if [[ $devc == eth* ]]; then
		local i
		for ((i = 0; i < 100; i++)); do
			[ -e /sys/class/net/eth0 ] && [ -e /sys/class/net/eth1 ] &&
				break
			sleep 0.1
		done
	fi
	devc='' devs='' ns_path=''
}

# ns_sysctls NS: apply $HOMA_SYSCTLS ("name=value ...", names in
# /proc/sys/net/homa) to namespace NS; Homa's sysctls are per namespace
# and a new one starts with the defaults.
ns_sysctls() {
	local kv
	for kv in ${HOMA_SYSCTLS:-}; do
		ip netns exec "$1" sh -c "echo ${kv#*=} >/proc/sys/net/homa/${kv%%=*}" ||
			nslog "cannot set $kv in $1"
	done
}

# A keeper per namespace: its /proc/PID/net is the namespace's.
ns_start_keepers() {
	ip netns exec $NS_C sleep 1000000 &
	keeper_c=$!
	if [ "$NS_S" != "$NS_C" ]; then
		ip netns exec $NS_S sleep 1000000 &
		keeper_s=$!
	else
		keeper_s=$keeper_c
	fi
	# Until "ip netns exec" has entered the namespace, the keeper's
	# /proc/PID/net is still ours.  ([[ -ef ]] compares the namespace
	# inodes without a fork.)
	local i
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$keeper_c" 2>/dev/null ||
			! kill -0 "$keeper_s" 2>/dev/null; then
			nslog "a namespace keeper died"
			return 1
		fi
		[[ /proc/$keeper_c/ns/net -ef /proc/self/ns/net ]] ||
			[[ /proc/$keeper_s/ns/net -ef /proc/self/ns/net ]] ||
			return 0
		sleep 0.1
	done
	nslog "the namespace keepers did not enter their namespaces in 10 s"
	return 1
}

# offload_state NS DEV FEATURE: set REPLY to on/off.
offload_state() {
	REPLY=$(ip netns exec "$1" ethtool -k "$2" 2>/dev/null |
		awk -v f="$3:" '$1 == f { print $2 }')
}

ns_setup() {
	local name=$1 i
	ns_teardown
	NS_S=homa-server
	ip netns add $NS_C || return 1
	ip -n $NS_C link set lo up
	ns_sysctls $NS_C
	ns_path=$name
	mtu=1500
	case $name in
	lo)
		NS_S=$NS_C
		A4_S=127.0.0.1
		A6_S=::1
		mtu=65536
		ns_start_keepers
		return
		;;
	veth | veth-gro | veth-gro-9000)
		ip netns add $NS_S || return 1
		ip -n $NS_S link set lo up
		ns_sysctls $NS_S
		ip link add vc netns $NS_C type veth peer name vs netns $NS_S ||
			return 1
		devc=vc devs=vs
		;;
	nic | nic-tso-on | nic-tso-off)
		if [ -z "${HOMA_VM_NICS:-}" ]; then
			nslog "$name needs a VM with NICs (run-vm --nics)"
			return 1
		fi
		ip netns add $NS_S || return 1
		ip -n $NS_S link set lo up
		ns_sysctls $NS_S
		ip link set eth0 netns $NS_C || return 1
		ip link set eth1 netns $NS_S || return 1
		devc=eth0 devs=eth1
		;;
	*)
		nslog "unknown path $name"
		return 1
		;;
	esac
	[ "$name" = veth-gro-9000 ] && mtu=9000
	ip -n $NS_C link set $devc mtu $mtu || return 1
	ip -n $NS_S link set $devs mtu $mtu || return 1
	case $name in
	veth-gro*)
		ip netns exec $NS_C ethtool -K $devc tso off gro on || return 1
		ip netns exec $NS_S ethtool -K $devs tso off gro on || return 1
		;;
	nic-tso-*)
		# Not every NIC can change TSO (virtio-net on a hub has no
		# vnet header, so no offloads at all); the caller checks.
		ip netns exec $NS_C ethtool -K $devc tso "${name#nic-tso-}" \
			>/dev/null 2>&1
		ip netns exec $NS_S ethtool -K $devs tso "${name#nic-tso-}" \
			>/dev/null 2>&1
		;;
	esac
	ip -n $NS_C addr add 10.146.0.1/24 dev $devc
	ip -n $NS_S addr add 10.146.0.2/24 dev $devs
	ip -n $NS_C addr add fd00:146::1/64 dev $devc nodad
	ip -n $NS_S addr add fd00:146::2/64 dev $devs nodad
	ip -n $NS_C link set $devc up
	ip -n $NS_S link set $devs up
	A4_S=10.146.0.2
	A6_S=fd00:146::2
	# Emulated NICs need a moment for the carrier.
	for ((i = 0; i < 100; i++)); do
		ip -n $NS_C -o link show dev $devc | grep -q 'LOWER_UP' &&
			ip -n $NS_S -o link show dev $devs | grep -q 'LOWER_UP' &&
			break
		sleep 0.1
	done
	if [ $i = 100 ]; then
		nslog "the link between the namespaces did not come up:"
		ip -n $NS_C -o link show dev $devc | sed 's/^/#   /'
		ip -n $NS_S -o link show dev $devs | sed 's/^/#   /'
		return 1
	fi
	ns_start_keepers || return 1
	nslog "$name: $devc/$devs mtu $mtu; client side:" \
		"$(ip netns exec $NS_C ethtool -k $devc 2>/dev/null |
			awk '/^(tcp-segmentation-offload|generic-receive-offload|generic-segmentation-offload|scatter-gather|tx-checksumming):/ {
				printf "%s %s ", $1, $2 }')" \
		"qdisc $(tc -n $NS_C qdisc show dev $devc | head -n 1 |
			awk '{ print $2 }')"
	return 0
}

# ns_server_start ARGS...: homa_echo server in $NS_S; waits up to 20 s
# for its "server: ready" line.
ns_server_start() {
	local line i
	: >"$server_log"
	ip netns exec $NS_S "$ECHO" server "$@" >"$server_log" 2>&1 &
	server_pid=$!
	for ((i = 0; i < 200; i++)); do
		line=''
		IFS= read -r line <"$server_log"
		[[ $line == "server: ready"* ]] && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	nslog "the server did not start:"
	while IFS= read -r line; do
		nslog "  $line"
	done <"$server_log"
	[ -n "$server_pid" ] && stop_pid "$server_pid" 5
	server_pid=''
	return 1
}

# ns_server_stop: SIGTERM (the server prints its totals and exits), at
# most 15 s; returns the server's exit status (137: it had to be killed).
ns_server_stop() {
	[ -n "$server_pid" ] || return 1
	stop_pid "$server_pid" 15
	server_pid=''
	return "$REPLY"
}

# hexsum FILE COLUMN_NAME|COLUMN_NUMBER: set REPLY to the sum of a column
# of hex numbers (/proc/net/softnet_stat, /proc/net/stat/*).
hexsum() {
	local file=$1 col=$2 sum=0 i
	local -a f
	while read -r -a f; do
		if [[ ! $col =~ ^[0-9]+$ ]]; then
			for i in "${!f[@]}"; do
				[ "${f[$i]}" = "$col" ] && col=$((i + 1))
			done
			continue
		fi
		sum=$((sum + 16#${f[$((col - 1))]:-0}))
	done <"$file"
	REPLY=$sum
}

# ns_homa_metrics ARRAY: /proc/net/homa_metrics of the client's and the
# server's namespace as "c.<name>" and "s.<name>" (for lo both are the
# same namespace).
# shellcheck disable=SC2178  # arr is a nameref
ns_homa_metrics() {
	local -n arr=$1
	local name value rest
	arr=()
	# (A namespace that a test removed has no keeper left.)
	[ -n "$keeper_c" ] && while read -r name value rest; do
		arr["c.$name"]=$value
	done <"/proc/$keeper_c/net/homa_metrics"
	[ -n "$keeper_s" ] && while read -r name value rest; do
		arr["s.$name"]=$value
	done <"/proc/$keeper_s/net/homa_metrics"
}

# ns_snapshot ARRAY: ns_homa_metrics, plus the drop counters below Homa
# as "below.<what>": the per-CPU backlog (softnet_stat column 2), the
# ARP/ND queues for unresolved neighbours (unres_qlen_bytes; these
# statistics are global and shown only in the initial namespace), the
# devices' /proc/net/dev drop and fifo columns, their ethtool -S counters
# whose names say drop, error, full or fifo (veth: xdp drops; NICs: the
# driver's), and their qdiscs' drops.
# shellcheck disable=SC2178  # arr is a nameref
ns_snapshot() {
	local -n arr=$1
	local name value rest side pid dev ns
	local -a f
	ns_homa_metrics "$1"
	hexsum /proc/net/softnet_stat 2
	arr["below.softnet_dropped"]=$REPLY
	hexsum /proc/net/stat/arp_cache unresolved_discards
	arr["below.arp_unresolved_discards"]=$REPLY
	hexsum /proc/net/stat/ndisc_cache unresolved_discards
	arr["below.ndisc_unresolved_discards"]=$REPLY
	[ -n "$devc" ] || return 0
	for side in c s; do
		if [ $side = c ]; then
			pid=$keeper_c dev=$devc ns=$NS_C
		else
			pid=$keeper_s dev=$devs ns=$NS_S
		fi
		while IFS= read -r rest; do
			name=${rest%%:*}
			name=${name// /}
			[ "$name" = "$dev" ] || continue
			read -r -a f <<<"${rest#*:}"
			arr["below.$dev.rx_dropped"]=${f[3]}
			arr["below.$dev.rx_fifo"]=${f[4]}
			arr["below.$dev.tx_dropped"]=${f[11]}
			arr["below.$dev.tx_fifo"]=${f[12]}
		done <"/proc/$pid/net/dev"
		# veth has no qdisc and no ethtool counter of its ring drops
		# (they are its tx_dropped); forks are dear in the debug VM.
		[[ $dev == eth* ]] || continue
		# (No process substitution: the guest has no /dev/fd.)
		while read -r name value; do
			name=${name%:}
			[[ $name =~ (drop|err|full|fifo|miss|overrun|busy) ]] &&
				arr["below.$dev.ethtool.$name"]=$value
		done <<<"$(ip netns exec "$ns" ethtool -S "$dev" 2>/dev/null)"
		# Drops of the root qdisc, and those of them that fq_codel
		# made because it was full (the others are CoDel's: packets
		# that waited longer than its target, dropped at dequeue).
		read -r name value <<<"$(tc -n "$ns" -s qdisc show dev "$dev" |
			awk '$1 == "qdisc" { root = ($0 ~ / root /) }
			     root { for (i = 1; i < NF; i++) {
					if ($i == "(dropped") d += $(i + 1) + 0
					if ($i == "drop_overlimit") o += $(i + 1)
			     } }
			     END { print d + 0, o + 0 }')"
		arr["below.$dev.qdisc_dropped"]=$name
		arr["below.$dev.qdisc_drop_overlimit"]=$value
	done
}

# Counter maps for the tests: M0 before a run, M1 after it.
declare -A M0 M1

# dlt NAME: set REPLY to the growth of counter NAME from M0 to M1.
dlt() {
	REPLY=$((${M1[$1]:-0} - ${M0[$1]:-0}))
}

# grown PATTERN: set REPLY to "name+N " for each counter matching PATTERN
# (a bash regular expression on the full name) that grew from M0 to M1.
grown() {
	local k
	REPLY=''
	for k in "${!M1[@]}"; do
		[[ $k =~ $1 ]] || continue
		[ "${M1[$k]}" != "${M0[$k]:-0}" ] &&
			REPLY="$REPLY$k+$((M1[$k] - ${M0[$k]:-0})) "
	done
	REPLY=${REPLY% }
}

# Retransmission: the module has it when it has the timer's sysctls.
# retrans_grown: set REPLY to the growth of the retransmission counters
# on both sides (one side for lo), as "name+N ..." ('' if none grew), and
# RETRANS_N to their sum: DATA packets sent again, requests restarted
# after RPC_UNKNOWN, RPCs ended by the timer.  RESEND, BUSY and NEED_ACK
# packets are not counted: a client asks a slow server with RESEND, which
# answers BUSY, on a path that loses nothing.
homa_has_retrans() {
	[ -e /proc/sys/net/homa/resend_ticks ]
}
retrans_grown() {
	local x n=0 sides='[cs]'
	[ "$NS_S" = "$NS_C" ] && sides=c
	grown "^$sides\\.(data_pkts_resent|client_rpc_restarts|rpc_timeouts)\$"
	for x in $REPLY; do
		n=$((n + ${x##*+}))
	done
	RETRANS_N=$n
}

# probes_grown: set REPLY to the growth of the timer's other packets and
# counters ("name+N ...").
probes_grown() {
	local sides='[cs]'
	[ "$NS_S" = "$NS_C" ] && sides=c
	grown "^$sides\\.(pkts_sent_(RESEND|BUSY|NEED_ACK|RPC_UNKNOWN)|resends_limited|server_rpcs_unknown)\$"
}

# below_lost: set REPLY to the drop counters below Homa that grew, with
# Homa's own xmit_errors, xmit_nomem and pkts_dropped_nomem (packets the
# stack below refused or could not buffer), "" if none did.  One lost
# packet may show in several of them (veth: the sender's tx_dropped, the
# peer's rx_dropped, softnet_dropped and xmit_errors).
below_lost() {
	grown '^(below\.|[cs]\.(xmit_errors|xmit_nomem|pkts_dropped_nomem)$)'
}
