#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Module unload while clients and servers are active: rmmod is refused
# ("in use": every Homa socket holds a reference on the module) and
# changes nothing; the RPCs in flight all complete with their bytes
# checked; once the programs have closed their sockets, rmmod works.

. "$(dirname "$0")/lib.sh"

echo_bin=$repo_dir/util/homa_echo
port=4100
count=1000
tmp=$(mktemp -d)
trap 'kill $server_pid $client_pid 2>/dev/null; rm -rf "$tmp"' EXIT

# metric NAME: a counter of /proc/net/homa_metrics.
metric() {
	awk -v n="$1" '$1 == n { print $2 }' /proc/net/homa_metrics
}

tap_plan 9

out=$(homa_load 2>&1)
tap_ok $? "insmod" "$out"
[ -x "$echo_bin" ]
tap_ok $? "util/homa_echo was built"

"$echo_bin" server --port $port --threads 2 >"$tmp/server" 2>&1 &
server_pid=$!
for _ in $(seq 200); do
	grep -q "server: ready" "$tmp/server" && break
	sleep 0.1
done
"$echo_bin" client --server 127.0.0.1 --port $port --count $count \
	--threads 2 --concurrent 10 --sizes 100,10000,200000 \
	--timeout 240 >"$tmp/client" 2>&1 &
client_pid=$!
for _ in $(seq 300); do
	[ "$(metric client_rpcs)" -gt 0 ] && break
	sleep 0.05
done
out=$(rmmod homa 2>&1)
rc=$?
# The server (its socket open, serving the client) was still running
# after rmmod returned.
kill -0 $server_pid 2>/dev/null
alive=$?
[ $rc -ne 0 ] && [[ $out == *"in use"* ]] && [ $alive = 0 ]
tap_ok $? "rmmod while client and server run is refused: in use" \
	"rmmod exit $rc: $out" "server still running: $([ $alive = 0 ] && echo yes || echo no)"
homa_loaded
tap_ok $? "homa is still loaded"

wait $client_pid
rc=$?
client_pid=
tap_ok $rc "the client completes every RPC, bytes checked" "$(cat "$tmp/client")"
grep -q "client: $count rpcs ok, 0 failed" "$tmp/client"
tap_ok $? "client: $count rpcs ok, 0 failed" "$(cat "$tmp/client")"

kill -TERM $server_pid
wait $server_pid
rc=$?
server_pid=
tap_ok $rc "the server exits cleanly on SIGTERM" "$(cat "$tmp/server")"
tap_is "$(metric client_rpcs_done)" $count "client_rpcs_done is $count"

out=$(homa_unload 2>&1)
tap_ok $? "rmmod after the programs closed their sockets" "$out"
tap_done
