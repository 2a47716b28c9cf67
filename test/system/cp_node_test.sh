#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# cp_node and homa_metrics (util/, built on the host by "make tools" or
# run-systest.sh): short runs over loopback whose numbers are checked
# against each other and against the kernel's counters, never against
# timing:
#
# - for each run (Homa closed and open loop, IPv4 and IPv6, w4 and fixed
#   sizes, one-way; TCP closed and open loop) the client and the server
#   exit 0 (the server after SIGTERM) with no failure or error, and the
#   client's completed RPCs = the server's requests = the --records lines;
# - the request bytes in the records = the client's and the server's byte
#   counts; every response has the size asked for (the request's, or 100
#   bytes with --one-way);
# - Homa: the changes of client_rpcs, client_rpcs_done and server_rpcs
#   in /proc/net/homa_metrics equal that RPC count, and no packet was
#   dropped; --histogram counts every RPC;
# - a client stopped by SIGTERM prints its summary and exits 0, with the
#   same accounting, the counters read with homa_metrics --save/--diff
#   (just once: Python starts slowly in the VMs);
# - requests to a port nobody serves fail with ENOTCONN: each is reported
#   with its RPC id and errno, counted in the summary, and the exit
#   status is 1;
# - bad arguments exit 2 with a message.
#
# Timed runs last CP_TIME seconds (default 2, or 1 in the debug kernel).
# resend_ticks is raised to 1 s (see below) so that only a real loss could
# count as a drop.

. "$(dirname "$0")/lib.sh"

cp_node=$repo_dir/util/cp_node
metrics=$repo_dir/util/homa_metrics
case $(uname -r) in
*homa-debug*) run_time=${CP_TIME:-1} ;;
*) run_time=${CP_TIME:-2} ;;
esac
tmp=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

# The helpers below use shell builtins where they can: a fork is slow
# under TCG, more so in the debug kernel.
declare -A C S M M0

# load_summary ARRAY FILE: ARRAY[key]=value for the words of the last
# "summary" line of FILE.
load_summary() {
	# shellcheck disable=SC2034 # (a nameref: the caller's array)
	local -n arr=$1
	local line word
	arr=()
	while IFS= read -r line; do
		[[ $line == "summary "* ]] || continue
		arr=()
		for word in $line; do
			[[ $word == *=* ]] && arr[${word%%=*}]=${word#*=}
		done
	done <"$2"
}

# snapshot: M0[name]=value of every Homa counter now.
snapshot() {
	local name value rest
	M0=()
	while read -r name value rest; do
		M0[$name]=$value
	done </proc/net/homa_metrics
}

# changes: M[name]=change of each counter since snapshot; mtext lists the
# non-zero ones.
changes() {
	local name value rest
	M=()
	mtext=
	while read -r name value rest; do
		M[$name]=$((value - ${M0[$name]:-0}))
		[ "${M[$name]}" = 0 ] || mtext+="$name=${M[$name]} "
	done </proc/net/homa_metrics
}

# nap S: sleep S seconds without a fork.
mkfifo "$tmp/fifo"
exec {nap_fd}<>"$tmp/fifo"
nap() {
	read -r -t "$1" -u "$nap_fd" _
}

# load_metrics: M[name]=change from homa_metrics --all output in
# $tmp/mdiff, the way the runs without it work them out.
load_metrics() {
	local name diff rest
	M=()
	while read -r name diff rest; do
		[[ $name == "#"* ]] || M[$name]=$diff
	done <"$tmp/mdiff"
}

# find_drops: set dropped to the pkts_dropped_* counters that changed.
find_drops() {
	local n
	dropped=
	for n in "${!M[@]}"; do
		# A GRANT overtaken by the end of its RPC (the two took
		# different CPUs' backlogs) counts as for an unknown RPC: not
		# a loss.
		[ "$n" = pkts_dropped_unknown_rpc ] && continue
		[[ $n == pkts_dropped_* && ${M[$n]} != 0 ]] &&
			dropped+="$n=${M[$n]} "
	done
}

# check STATUS DESC DETAIL...: tap_ok, where a DETAIL "@FILE" stands for
# the end of FILE (read only when the check failed).
check() {
	local st=$1 desc=$2 d details=()
	shift 2
	if [ "$st" != 0 ]; then
		for d in "$@"; do
			if [[ $d == @* ]]; then
				details+=("--- ${d##*/}:")
				tail -n 40 "${d#@}" >"$tmp/tail"
				mapfile -t -O "${#details[@]}" details <"$tmp/tail"
			else
				details+=("$d")
			fi
		done
	fi
	tap_ok "$st" "$desc" "${details[@]}"
}

# start_server ARGS...: start a cp_node server, wait for its "ready" line.
start_server() {
	local line
	# Empty it here: the child's redirection may come after our first read.
	: >"$tmp/srv.out"
	"$cp_node" server --interval 0 "$@" >"$tmp/srv.out" 2>"$tmp/srv.err" &
	server_pid=$!
	for _ in {1..200}; do
		line=
		read -r line <"$tmp/srv.out"
		[[ $line == "ready "* ]] && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		nap 0.1
	done
	return 1
}

# stop_server: SIGTERM the server and wait; sets server_rc.
stop_server() {
	kill -TERM "$server_pid" 2>/dev/null
	wait "$server_pid"
	server_rc=$?
	server_pid=
}

# check_run NAME PROTO RESP: the five checks of a finished run (client
# output in $tmp/cli.*, client status in client_rc, server in $tmp/srv.*,
# metric changes in M).  RESP: "echo" or a response size.
check_run() {
	local name=$1 proto=$2 resp=$3 rpcs lines rbytes bad

	load_summary C "$tmp/cli.out"
	load_summary S "$tmp/srv.out"
	rpcs=${C[rpcs]:-0}
	[ "$client_rc" = 0 ] && [ "$rpcs" -gt 0 ] && [ "${C[failed]}" = 0 ] &&
		[ "${C[abandoned]}" = 0 ] && [ "${C[errors]}" = 0 ]
	check $? "$name: client exits 0, rpcs=$rpcs, nothing failed" \
		"exit status $client_rc" "@$tmp/cli.out" "@$tmp/cli.err"

	[ "$server_rc" = 0 ] && [ "${S[errors]}" = 0 ] &&
		[ "${S[requests]}" = "$rpcs" ]
	check $? "$name: server exits 0 on SIGTERM, requests = client rpcs" \
		"server exit status $server_rc, requests '${S[requests]}', client rpcs '$rpcs'" \
		"@$tmp/srv.out" "@$tmp/srv.err"

	# Records: lines, sum of request bytes, responses not as asked.
	awk -v resp="$resp" '
		/^#/ { next }
		{ n++; sum += $3; want = resp == "echo" ? $3 : resp
		  if ($4 != want || $3 < 8 || $2 <= 0) bad++ }
		END { printf "%d %d %d\n", n, sum, bad }' "$tmp/rec" >"$tmp/sums"
	read -r lines rbytes bad <"$tmp/sums"
	tap_is "$lines" "$rpcs" "$name: --records has one line per RPC"

	[ "$rbytes" = "${C[req_bytes]}" ] && [ "$rbytes" = "${S[req_bytes]}" ] &&
		[ "$bad" = 0 ] && [ "${C[resp_bytes]}" = "${S[resp_bytes]}" ]
	check $? "$name: request bytes agree (records $rbytes), responses sized as asked" \
		"client req_bytes '${C[req_bytes]}', server '${S[req_bytes]}', bad records '$bad'" \
		"client resp_bytes '${C[resp_bytes]}', server '${S[resp_bytes]}'"

	if [ "$proto" = homa ]; then
		find_drops
		[ "${M[client_rpcs]}" = "$rpcs" ] &&
			[ "${M[client_rpcs_done]}" = "$rpcs" ] &&
			[ "${M[server_rpcs]}" = "$rpcs" ] && [ -z "$dropped" ]
		check $? "$name: kernel counted $rpcs client_rpcs, client_rpcs_done, server_rpcs; no drops" \
			"client_rpcs '${M[client_rpcs]}', client_rpcs_done '${M[client_rpcs_done]}', server_rpcs '${M[server_rpcs]}'" \
			"drops: $dropped" "changes: $mtext"
	else
		[ "${M[client_rpcs]}" = 0 ]
		check $? "$name: no Homa RPC counted for a TCP run" \
			"client_rpcs changed by '${M[client_rpcs]}'"
	fi
}

# run NAME PROTO RESP SERVER_ARGS -- CLIENT_ARGS: one measured run.
run() {
	local name=$1 proto=$2 resp=$3 sargs=() cargs=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		sargs+=("$1")
		shift
	done
	shift
	cargs=("$@")
	echo "# $name: server ${sargs[*]}; client ${cargs[*]}"
	SECONDS=0
	if ! start_server --protocol "$proto" "${sargs[@]}"; then
		echo "# server did not start: $(cat "$tmp/srv.err")"
	fi
	snapshot
	"$cp_node" client --protocol "$proto" --interval 1 \
		--records "$tmp/rec" "${cargs[@]}" \
		>"$tmp/cli.out" 2>"$tmp/cli.err"
	client_rc=$?
	stop_server
	changes
	check_run "$name" "$proto" "$resp"
	echo "# client: ${C[rpcs]} RPCs, P50 ${C[rtt_p50_us]} us, P99 ${C[rtt_p99_us]} us; ${SECONDS}s"
}

# 6 runs x 5 checks, histogram 1, SIGTERM run 2, error run 3, args 4,
# plus tools present, insmod, rmmod.
tap_plan $((6 * 5 + 1 + 2 + 3 + 4 + 3))

[ -x "$cp_node" ] && [ -x "$metrics" ]
check $? "util/cp_node and util/homa_metrics exist (make tools)" \
	"missing: $cp_node or $metrics"
out=$(homa_load 2>&1)
check $? "insmod" "$out"
# Loopback loses nothing, so "no drops" must hold; but under emulation a
# busy host can leave a peer's packets unprocessed for longer than the
# default 5 ms of silence before a RESEND (RTTs of 150 ms were seen), and
# a spurious retransmission would be dropped as a duplicate. Silence
# thresholds must exceed the host's worst scheduling delay: 1 s here.
for p in "resend_ticks 1000" "timeout_ticks 100000"; do
	echo "${p#* }" >/proc/sys/net/homa/"${p% *}"
done

t=$run_time
run "homa IPv4 closed w4" homa echo --ports 2 --threads 2 -- \
	--servers 127.0.0.1 --ports 2 --threads 2 --outstanding 4 \
	--workload w4 --time "$t"
run "homa IPv6 closed 1000 B one-way" homa 100 --ipv6 -- \
	--ipv6 --servers ::1 --outstanding 2 --workload 1000 --one-way \
	--time "$t"
run "homa IPv4 open w4" homa echo --ports 2 -- \
	--servers 127.0.0.1 --ports 2 --threads 2 --gbps 0.05 \
	--max-outstanding 20 --workload w4 --time "$t" --histogram "$tmp/hist"
n=$(awk '!/^#/ { n += $5 } END { print n + 0 }' "$tmp/hist")
[ "$n" = "${C[rpcs]}" ]
check $? "--histogram counts every RPC" "counted $n of ${C[rpcs]}" \
	"@$tmp/hist"
run "homa IPv6 open w1 --rpcs 150" homa echo --ipv6 --threads 2 -- \
	--ipv6 --servers ::1 --threads 3 --gbps 0.0005 --workload w1 \
	--rpcs 150
run "tcp IPv4 closed w4" tcp echo --ports 2 --threads 2 -- \
	--servers 127.0.0.1 --ports 2 --threads 2 --outstanding 4 \
	--workload w4 --time "$t"
run "tcp IPv6 open 1000 B one-way" tcp 100 --ipv6 -- \
	--ipv6 --servers ::1 --gbps 0.001 --workload 1000 --one-way \
	--time "$t"

# SIGTERM to a client without a time limit.  The counters are read with
# homa_metrics --save/--diff too, which must agree with reading them here.
start_server --protocol homa || echo "# server did not start"
snapshot
"$metrics" --save "$tmp/m0"
"$cp_node" client --servers 127.0.0.1 --outstanding 2 --workload w2 \
	--time 0 --interval 0 --records "$tmp/rec" \
	>"$tmp/cli.out" 2>"$tmp/cli.err" &
pid=$!
nap "$run_time"
kill -TERM "$pid"
wait "$pid"
client_rc=$?
stop_server
"$metrics" --diff "$tmp/m0" --all >"$tmp/mdiff" 2>&1
load_metrics
tool_rpcs=${M[client_rpcs]} tool_done=${M[client_rpcs_done]}
tool_server=${M[server_rpcs]}
changes
load_summary C "$tmp/cli.out"
load_summary S "$tmp/srv.out"
[ -n "${C[rpcs]}" ] && grep -q 'Terminated: stopping' "$tmp/cli.err"
check $? "SIGTERM: the client says it stops and prints its summary" \
	"@$tmp/cli.out" "@$tmp/cli.err"
rpcs=${C[rpcs]:-0}
lines=$(grep -vc '^#' "$tmp/rec")
[ "$client_rc" = 0 ] && [ "${C[failed]}" = 0 ] && [ "${C[abandoned]}" = 0 ] &&
	[ "$rpcs" -gt 0 ] && [ "$lines" = "$rpcs" ] &&
	[ "${S[requests]}" = "$rpcs" ] && [ "${M[client_rpcs]}" = "$rpcs" ] &&
	[ "$tool_rpcs" = "$rpcs" ] && [ "$tool_done" = "$rpcs" ] &&
	[ "$tool_server" = "$rpcs" ]
check $? "SIGTERM: exit 0, outstanding RPCs drained; rpcs=$rpcs = records = server = client_rpcs, client_rpcs_done and server_rpcs by homa_metrics" \
	"exit status $client_rc, records $lines, server '${S[requests]}'" \
	"homa_metrics: client_rpcs '$tool_rpcs' client_rpcs_done '$tool_done' server_rpcs '$tool_server'; read here: client_rpcs '${M[client_rpcs]}'" \
	"@$tmp/cli.out" "@$tmp/cli.err" "@$tmp/srv.out" "@$tmp/mdiff"

# Requests to a port nobody serves: reported, counted, exit 1.
snapshot
"$cp_node" client --servers 127.0.0.1 --port 5999 --rpcs 5 --interval 0 \
	>"$tmp/cli.out" 2>"$tmp/cli.err"
client_rc=$?
changes
load_summary C "$tmp/cli.out"
tap_is "$client_rc" 1 "no server: the client exits 1"
n=$(grep -c 'RPC id [1-9][0-9]* to 127.0.0.1:5999.*errno 107 ENOTCONN' "$tmp/cli.err")
[ "$n" = 5 ]
check $? "no server: 5 failures reported with RPC id and errno" \
	"$n lines like 'RPC id N to 127.0.0.1:5999 ... errno 107 ENOTCONN'" \
	"@$tmp/cli.err"
[ "${C[failed]}" = 5 ] && [ "${C[errnos]}" = ENOTCONN:5 ] &&
	[ "${M[client_rpcs_done]}" = 5 ]
check $? "no server: summary failed=5 errnos=ENOTCONN:5; kernel client_rpcs_done 5" \
	"@$tmp/cli.out" "client_rpcs_done '${M[client_rpcs_done]}'"

# Argument checking (no socket is opened).
"$cp_node" --help >"$tmp/help" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q -- '--workload' "$tmp/help"
check $? "cp_node --help exits 0" "exit status $rc"
bad_args() {
	local want=$1 out rc
	shift
	out=$("$cp_node" "$@" 2>&1)
	rc=$?
	[ "$rc" = 2 ] && echo "$out" | grep -q -- "$want"
	check $? "cp_node $* exits 2: $want" "exit status $rc" "$out"
}
bad_args "--servers is required" client --workload w4
bad_args "exclude each other" client --servers 127.0.0.1 --gbps 1 --outstanding 2
bad_args "expected an integer from 1 to 1024" server --threads 0

out=$(homa_unload 2>&1)
check $? "rmmod" "$out"
tap_done
