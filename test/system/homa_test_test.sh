#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# util/homa_test, the functional probe (built on the host by "make tools"
# or run-systest.sh), run over loopback, with its numbers checked against
# the kernel's counters (never against timing):
#
# - in-process server, IPv4 and IPv6: every check passes ("N passed, 0
#   failed" with N = the checks of --list, a PASS line each, exit 0); the
#   changes of client_rpcs and client_rpcs_done in /proc/net/homa_metrics
#   equal the RPCs homa_test says it started and completed, server_rpcs
#   equals the requests its server received, which equal (count and
#   bytes) the requests it sent to the server and the responses the
#   server sent; buffer_stalls grew (the pool checks) and
#   rpcs_icmp_aborted counted the requests to the port without a server;
# - a separate "homa_test server" process probed over IPv4 and IPv6 (two
#   runs): both pass; after SIGTERM the server's summary counts the
#   requests and bytes both clients sent, none bad, one response each;
#   the kernel's counters agree with the clients' and the server's;
# - a probe of a port nobody serves fails: "FAIL echo-1: ..." naming
#   ENOTCONN, "0 passed, 2 failed", exit 1;
# - --help, --list, and a bad --only (exit 2).
#
# The receive-buffer-exhaustion checks (pool-client, pool-server) found
# two kernel bugs (a response whose first packets the rmem limit dropped
# was never asked for again; packets of messages that had their buffers
# were dropped while others waited for buffers); they run with the rest.

. "$(dirname "$0")/lib.sh"

homa_test=$repo_dir/util/homa_test
port=4600
tmp=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
# Generous: the guest is slow and shared (the debug kernel more so).
probe_timeout=120

declare -A M M0 R S

# snapshot: M0[name]=value of every Homa counter now.
snapshot() {
	local name value rest
	M0=()
	while read -r name value rest; do
		M0[$name]=$value
	done </proc/net/homa_metrics
}

# changes: M[name]=change of each counter since snapshot.
changes() {
	local name value rest
	M=()
	mtext=
	while read -r name value rest; do
		M[$name]=$((value - ${M0[$name]:-0}))
		[ "${M[$name]}" = 0 ] || mtext+="$name=${M[$name]} "
	done </proc/net/homa_metrics
}

# load_counts ARRAY PATTERN FILE: ARRAY[key]=value for the key=value
# words of the lines of FILE that match the glob PATTERN.
# shellcheck disable=SC2034 # (arr: a nameref to the caller's array)
load_counts() {
	local -n arr=$1
	local pattern=$2 line word
	arr=()
	while IFS= read -r line; do
		# shellcheck disable=SC2053 # (a glob on purpose)
		[[ $line == $pattern ]] || continue
		for word in $line; do
			[[ $word == *=* ]] && arr[${word%%=*}]=${word#*=}
		done
	done <"$3"
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

# probe NAME ARGS...: run homa_test ARGS with output in $tmp/NAME.*; sets
# rc and R (its "homa_test: client_rpcs=..." counts), and checks that
# every check passed.
probe() {
	local name=$1 npass nfail
	shift
	"$homa_test" --timeout "$probe_timeout" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
	load_counts R "homa_test: client_rpcs=*" "$tmp/$name.out"
	nchecks=$("$homa_test" --list | grep -c .)
	npass=$(grep -c '^PASS ' "$tmp/$name.out")
	nfail=$(grep -c '^FAIL ' "$tmp/$name.out")
	[ "$rc" = 0 ] && [ "$npass" = "$nchecks" ] && [ "$nfail" = 0 ] &&
		grep -qx "homa_test: $nchecks passed, 0 failed" "$tmp/$name.out"
	check $? "$name: all $nchecks checks pass, exit 0" \
		"exit status $rc, $npass PASS and $nfail FAIL lines" \
		"@$tmp/$name.out" "@$tmp/$name.err"
	grep -E '^(FAIL|homa_test:)' "$tmp/$name.out" | sed 's/^/# /'
}

# kernel_agrees NAME RPCS DONE SERVER_REQUESTS: the metric changes (M)
# match what the probes said.
kernel_agrees() {
	local name=$1 rpcs=$2 done=$3 sreq=$4
	[ -n "$rpcs" ] && [ "$rpcs" -gt 0 ] &&
		[ "${M[client_rpcs]}" = "$rpcs" ] &&
		[ "${M[client_rpcs_done]}" = "$done" ] &&
		[ "${M[server_rpcs]}" = "$sreq" ]
	check $? "$name: kernel counted client_rpcs $rpcs, client_rpcs_done $done, server_rpcs $sreq" \
		"kernel: client_rpcs '${M[client_rpcs]}' client_rpcs_done '${M[client_rpcs_done]}' server_rpcs '${M[server_rpcs]}'" \
		"changes: $mtext"
}

# server_agrees NAME: S (a server summary) against R (one probe).
server_agrees() {
	local name=$1
	[ "${S[requests]}" = "${R[requests_to_server]}" ] &&
		[ "${S[request_bytes]}" = "${R[request_bytes_to_server]}" ] &&
		[ "${S[responses]}" = "${S[requests]}" ] &&
		[ "${S[bad_requests]}" = 0 ]
	check $? "$name: server received ${S[requests]} requests, ${S[request_bytes]} bytes = what the client sent; answered each, none bad" \
		"server: ${S[*]@K}" "client: ${R[*]@K}"
}

# in_process NAME ARGS...: one run with the server in homa_test.
in_process() {
	local name=$1
	shift
	snapshot
	probe "$name" "$@"
	changes
	load_counts S "homa_test: in-process server: *" "$tmp/$name.out"
	kernel_agrees "$name" "${R[client_rpcs]}" "${R[client_rpcs_done]}" \
		"${S[requests]}"
	server_agrees "$name"
	[ "${M[buffer_stalls]:-0}" -gt 0 ] &&
		[ "${M[rpcs_icmp_aborted]:-0}" -ge 2 ]
	check $? "$name: kernel counted buffer stalls and the requests ICMP ended" \
		"buffer_stalls '${M[buffer_stalls]}' rpcs_icmp_aborted '${M[rpcs_icmp_aborted]}'"
}

# 2 in-process runs x 4, server runs 2 + 3, failing probe 3, args 3,
# plus tool present, insmod, rmmod.
tap_plan $((2 * 4 + 5 + 3 + 3 + 3))

[ -x "$homa_test" ]
check $? "util/homa_test exists (make tools)" "missing: $homa_test"
nchecks=$("$homa_test" --list | grep -c .)
out=$(homa_load 2>&1)
check $? "insmod" "$out"
# As in cp_node_test.sh: a busy emulated host can leave a peer's packets
# unprocessed longer than the default silence before a RESEND, and a
# spurious retransmission would be a second copy of a request.
for p in "resend_ticks 1000" "timeout_ticks 100000"; do
	echo "${p#* }" >/proc/sys/net/homa/"${p% *}"
done

in_process "in-process IPv4"
in_process "in-process IPv6" -6

# A separate server process, probed over IPv4 and then IPv6.
snapshot
: >"$tmp/srv.out"
"$homa_test" server --port $port >"$tmp/srv.out" 2>"$tmp/srv.err" &
server_pid=$!
for _ in {1..300}; do
	grep -q '^homa_test server: serving' "$tmp/srv.out" && break
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
probe "server process, IPv4 client" --server 127.0.0.1 --port $port
declare -A R4
for k in "${!R[@]}"; do R4[$k]=${R[$k]}; done
probe "server process, IPv6 client" --server ::1 --port $port
kill -TERM "$server_pid"
wait "$server_pid"
server_rc=$?
server_pid=
changes
load_counts S "homa_test server: requests=*" "$tmp/srv.out"
for k in client_rpcs client_rpcs_done requests_to_server request_bytes_to_server; do
	R[$k]=$((R[$k] + R4[$k]))
done
[ "$server_rc" = 0 ]
check $? "server process: exits 0 on SIGTERM with a summary" \
	"exit status $server_rc" "@$tmp/srv.out" "@$tmp/srv.err"
server_agrees "server process, both clients"
kernel_agrees "server process, both clients" "${R[client_rpcs]}" \
	"${R[client_rpcs_done]}" "${S[requests]}"

# A probe that must fail: nobody serves port 4800.
"$homa_test" --timeout "$probe_timeout" --server 127.0.0.1 --port 4800 \
	--only 'echo-1,echo-100' >"$tmp/fail.out" 2>"$tmp/fail.err"
rc=$?
tap_is "$rc" 1 "a probe of a port without a server exits 1"
grep -q '^FAIL echo-1: .*ENOTCONN' "$tmp/fail.out" &&
	grep -q '^FAIL echo-100: .*ENOTCONN' "$tmp/fail.out"
check $? "... and reports FAIL echo-1 and echo-100 with ENOTCONN" \
	"@$tmp/fail.out" "@$tmp/fail.err"
grep -qx 'homa_test: 0 passed, 2 failed' "$tmp/fail.out"
check $? "... and ends with 'homa_test: 0 passed, 2 failed'" "@$tmp/fail.out"
grep '^FAIL' "$tmp/fail.out" | head -n 1 | sed 's/^/# /'

# Arguments.
"$homa_test" --help >"$tmp/help" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q -- '--only' "$tmp/help"
check $? "homa_test --help exits 0" "exit status $rc" "@$tmp/help"
nchecks=$("$homa_test" --list | grep -c .)
[ "$nchecks" -ge 28 ] && "$homa_test" --list --only 'echo-*' >"$tmp/list" &&
	[ "$(grep -c '^echo-' "$tmp/list")" = 10 ]
check $? "--list names $nchecks checks, 10 of them echo-*" "@$tmp/list"
out=$("$homa_test" --only no-such-check 2>&1)
rc=$?
[ "$rc" = 2 ] && [[ $out == *"no check to run"* ]]
check $? "--only with an unknown name exits 2" "exit status $rc" "$out"

out=$(homa_unload 2>&1)
check $? "rmmod" "$out"
tap_done
