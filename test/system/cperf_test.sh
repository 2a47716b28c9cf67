#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# util/cperf, short runs whose numbers are checked against cp_node's and
# the kernel's counters, never against timing:
#
# - emulated cluster (2 namespaces behind the shaped switch namespace),
#   Homa and TCP: cperf exits 0 and writes report.md, report.csv (the
#   expected columns; per protocol one row per size bucket plus "all",
#   whose RPC count is the buckets' sum and the records' count) and
#   cperf.json with every check passed; Homa's client_rpcs_done and
#   server_rpcs changes that cperf read equal the Homa records, TCP runs
#   change no Homa counter; the namespaces are gone afterwards;
# - ssh backend (Homa, 20 KB messages, to save time): "cperf cluster
#   up" builds the namespaces, an sshd runs in each, and cperf drives them
#   over ssh; this test reads the kernel's counters in the namespaces
#   itself: client_rpcs_done and server_rpcs changed by the number of
#   records;
# - cperf report rewrites a report and, in the stock kernel, draws the
#   PNG (importing matplotlib takes minutes in the debug kernel);
# - bad arguments exit 2.
#
# Load runs last CPERF_TIME seconds per protocol (default 3; 1 in the
# debug kernel).

. "$(dirname "$0")/lib.sh"

cperf=$repo_dir/util/cperf
py=/usr/bin/python3
debug=0
# The debug kernel (KASAN, lockdep) is many times slower under TCG: a
# shorter, lighter run there (messages up to 100 KB, 20% load), and no ssh
# part (user-space plumbing, the same kernel paths as the first run).
extra=()
case $(uname -r) in
*homa-debug*)
	debug=1
	run_time=${CPERF_TIME:-1}
	extra=(--load 0.2 --max-message 100000)
	;;
*) run_time=${CPERF_TIME:-3} ;;
esac
tmp=$(mktemp -d)
sshd_pids=()
# cleanup_ssh: end the ssh master connections and the sshds, remove the
# namespaces.
cleanup_ssh() {
	local i p
	for i in 1 2; do
		[ -S "$tmp/cm-10.77.0.$i" ] &&
			ssh -F "$tmp/ssh_config" -O exit 10.77.0.$i 2>/dev/null
	done
	for p in "${sshd_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	sshd_pids=()
	[ "${bashrc_hidden:-0}" = 1 ] && umount /root/.bashrc && bashrc_hidden=0
	if [ "${cluster_up:-0}" = 1 ]; then
		"$py" "$cperf" cluster down >/dev/null 2>&1
		cluster_up=0
	fi
}
trap 'cleanup_ssh; rm -rf "$tmp"' EXIT

# check STATUS DESC DETAIL...: tap_ok, where a DETAIL "@FILE" stands for
# the end of FILE (read only when the check failed).
check() {
	local st=$1 desc=$2 d details=()
	shift 2
	if [ "$st" != 0 ]; then
		for d in "$@"; do
			if [[ $d == @* ]]; then
				details+=("--- ${d##*/}:")
				tail -n 30 "${d#@}" >"$tmp/tail"
				mapfile -t -O "${#details[@]}" details <"$tmp/tail"
			else
				details+=("$d")
			fi
		done
	fi
	tap_ok "$st" "$desc" "${details[@]}"
}

# verify DIR: check a run directory; prints "csv: PROBLEM" lines for the
# report's CSV against the records (columns; per protocol one row per
# bucket plus "all"; RPCs = records) and "kernel: PROBLEM" lines for the
# counter changes cperf read against the records (Homa: client_rpcs_done
# and server_rpcs = records; TCP: no Homa RPC), switch drops and failed
# checks.  One Python process: each costs seconds in the VMs.
verify() {
	"$py" - "$1" <<'EOF' 2>&1
import csv, json, os, sys
d = sys.argv[1]
want = ["protocol", "bucket", "size_lo", "size_hi", "rpcs", "share",
        "unloaded_p50_us", "rtt_p50_us", "rtt_p99_us", "rtt_p999_us",
        "slowdown_p50", "slowdown_p99", "slowdown_p999"]
meta = json.load(open(os.path.join(d, "cperf.json")))


def records(ph):
    n = 0
    for c in ph["clients"]:
        with open(os.path.join(d, "raw", c["records"])) as f:
            n += sum(1 for line in f if not line.startswith("#"))
    return n


def csv_problems():
    rows = list(csv.DictReader(open(os.path.join(d, "report.csv"))))
    if not rows or list(rows[0].keys()) != want:
        yield "columns %s" % (list(rows[0].keys()) if rows else "none")
    for p in meta["protocols"]:
        mine = [r for r in rows if r["protocol"] == p]
        buckets = [r for r in mine if r["bucket"] != "all"]
        total = [r for r in mine if r["bucket"] == "all"]
        if len(buckets) != len(meta["buckets"]) or len(total) != 1:
            yield ("%s: %d bucket rows for %d buckets, %d 'all' rows"
                   % (p, len(buckets), len(meta["buckets"]), len(total)))
            continue
        n = sum(int(r["rpcs"]) for r in buckets)
        recs = sum(records(ph) for ph in meta["phases"]
                   if ph["protocol"] == p and ph["phase"] == "loaded")
        if not (n == int(total[0]["rpcs"]) == recs) or n == 0:
            yield ("%s: buckets %d, all %s, records %d"
                   % (p, n, total[0]["rpcs"], recs))
        for r in mine:
            if int(r["rpcs"]) and not (float(r["slowdown_p50"]) > 0 and
                                       float(r["rtt_p99_us"]) >=
                                       float(r["rtt_p50_us"]) > 0):
                yield "%s bucket %s: %s" % (p, r["bucket"], r)


def kernel_problems():
    for ph in meta["phases"]:
        if ph["phase"] not in ("loaded", "unloaded"):
            continue
        recs = records(ph)
        m = ph["homa_metrics"]
        if ph["protocol"] == "homa":
            got = (m.get("client_rpcs_done"), m.get("server_rpcs"))
            if got != (recs, recs) or recs == 0:
                yield ("homa %s: %d records, client_rpcs_done %s, "
                       "server_rpcs %s" % ((ph["phase"], recs) + got))
        elif m.get("client_rpcs") or m.get("server_rpcs"):
            yield "tcp %s: Homa counted %s" % (ph["phase"], m)
        if ph.get("switch", {}).get("dropped"):
            yield "%s: switch dropped %s" % (ph["protocol"],
                                             ph["switch"]["dropped"])
    if meta["failed_checks"]:
        yield "%d failed checks" % meta["failed_checks"]


for what, problems in (("csv", csv_problems), ("kernel", kernel_problems)):
    try:
        for line in problems():
            print("%s: %s" % (what, line))
    except (OSError, KeyError, ValueError) as e:
        print("%s: %r" % (what, e))
EOF
}

# ns_metric NS NAME: print counter NAME of namespace NS.
ns_metric() {
	ip netns exec "$1" awk -v n="$2" '$1 == n { print $2 }' /proc/net/homa_metrics
}

tap_plan 19

[ -x "$cperf" ] && [ -x "$repo_dir/util/cp_node" ]
check $? "util/cperf and util/cp_node exist (make tools)"
out=$(homa_load 2>&1)
check $? "insmod" "$out"

common=(--time "$run_time" --baseline-samples 1 --progress 2 --drain 30
	--workload w4 --load 0.5 --no-plot "${extra[@]}")

# ---- emulated cluster
run1=$tmp/run1
echo "# cperf run --hosts 2 ${common[*]}"
SECONDS=0
"$py" "$cperf" run --hosts 2 --out "$run1" "${common[@]}" >"$tmp/run1.log" 2>&1
rc=$?
echo "# emulated cluster run: ${SECONDS}s"
sed -n 's/^\(cperf: .*\(achieved\|FAIL\|note\).*\)/# \1/p' "$tmp/run1.log"
check $rc "emulated cluster: cperf run exits 0" "exit status $rc" "@$tmp/run1.log"
missing=
for f in report.md report.csv cperf.json raw/homa-loaded-h1.rec \
		raw/tcp-loaded-h2.rec raw/homa-server-h1.out; do
	[ -s "$run1/$f" ] || missing+="$f "
done
[ -z "$missing" ]
check $? "emulated cluster: report.md, report.csv, cperf.json and raw/ written" \
	"missing or empty: $missing"
grep -q '^| short (' "$run1/report.md" && grep -q '^| all | slowdown' "$run1/report.md"
check $? "report.md has the short-message and overall rows" "@$run1/report.md"
verify "$run1" >"$tmp/verify"
bad=$(grep '^csv: ' "$tmp/verify")
[ -z "$bad" ] && [ -s "$run1/report.csv" ]
check $? "report.csv: expected columns, one row per bucket plus 'all', RPCs = records" \
	"$bad"
bad=$(grep -v '^csv: ' "$tmp/verify")
[ -z "$bad" ]
check $? "kernel: client_rpcs_done and server_rpcs changes = Homa records; TCP runs count no Homa RPC; no drops; all checks ok" \
	"$bad"
# Drawing the plot means importing matplotlib: half a minute in the stock
# VM, minutes in the debug kernel.  In the stock kernel it runs while the
# ssh part does.
report_pid=
if [ "$debug" = 0 ]; then
	rm -f "$run1/report.md"
	"$py" "$cperf" report "$run1" >"$tmp/rep.log" 2>&1 &
	report_pid=$!
fi
left=$(ip netns list | grep -c '^cperf-')
tap_is "$left" 0 "emulated cluster: namespaces removed at the end"
homa_loaded
check $? "cperf leaves a module it did not load loaded"

# ---- ssh backend: sshd in two namespaces built by "cperf cluster up"
ssh_ok=1
if [ "$debug" = 1 ]; then
	ssh_ok=0
	why="stock kernel only (minutes under KASAN; no kernel path of its own)"
elif [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null; then
	ssh_ok=0
	why="no /usr/sbin/sshd or ssh (scripts/install-deps.sh installs openssh-server)"
else
	cluster_up=1
	out=$("$py" "$cperf" cluster up --hosts 2 2>&1)
	check $? "cperf cluster up --hosts 2" "$out"
	mkdir -p /run/sshd
	# sshd runs commands with the login shell, and bash then reads
	# ~/.bashrc; this machine's (pyenv set-up) takes seconds per
	# command under TCG.  The guest's mounts are its own: hide it.
	bashrc_hidden=0
	if [ -n "${HOMA_VM:-}" ] && [ -f /root/.bashrc ]; then
		: >"$tmp/bashrc"
		mount --bind "$tmp/bashrc" /root/.bashrc && bashrc_hidden=1
	fi
	ssh-keygen -q -t ed25519 -N '' -f "$tmp/hostkey" &&
		ssh-keygen -q -t ed25519 -N '' -f "$tmp/id" &&
		cp "$tmp/id.pub" "$tmp/authorized_keys"
	cat >"$tmp/sshd_config" <<EOF
HostKey $tmp/hostkey
AuthorizedKeysFile $tmp/authorized_keys
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
	cat >"$tmp/ssh_config" <<EOF
Host *
  User root
  IdentityFile $tmp/id
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  BatchMode yes
  ControlMaster auto
  ControlPath $tmp/cm-%h
  ControlPersist 120
EOF
	for i in 1 2; do
		ip netns exec cperf-h$i /usr/sbin/sshd -f "$tmp/sshd_config" \
			-o ListenAddress=10.77.0.$i -o PidFile="$tmp/sshd$i.pid" \
			-E "$tmp/sshd$i.log"
	done
	for i in 1 2; do
		[ -s "$tmp/sshd$i.pid" ] && sshd_pids+=("$(cat "$tmp/sshd$i.pid")")
	done
	out=$(ssh -F "$tmp/ssh_config" 10.77.0.1 echo hello 2>"$tmp/ssh.err")
	[ "$out" = hello ] && ssh -F "$tmp/ssh_config" 10.77.0.2 true 2>>"$tmp/ssh.err"
	check $? "sshd in both namespaces answers" "stdout: $out" "@$tmp/ssh.err" \
		"@$tmp/sshd1.log"
fi

if [ "$ssh_ok" = 1 ]; then
	declare -A before
	for i in 1 2; do
		for n in client_rpcs_done server_rpcs; do
			before[$i.$n]=$(ns_metric cperf-h$i $n)
		done
	done
	run2=$tmp/run2
	echo "# cperf run --hosts 10.77.0.1,10.77.0.2 (ssh) --protocols homa ${common[*]} --time 2 --workload 20000"
	SECONDS=0
	"$py" "$cperf" run --hosts 10.77.0.1,10.77.0.2 \
		--ssh "ssh -F $tmp/ssh_config" --link-mbps 30 --protocols homa \
		--out "$run2" "${common[@]}" --time 2 --workload 20000 \
		>"$tmp/run2.log" 2>&1
	rc=$?
	echo "# ssh run: ${SECONDS}s"
	check $rc "ssh: cperf run exits 0" "exit status $rc" "@$tmp/run2.log"
	recs=$(cat "$run2"/raw/homa-*.rec 2>/dev/null | grep -vc '^#')
	deltas=
	for n in client_rpcs_done server_rpcs; do
		d=0
		for i in 1 2; do
			d=$((d + $(ns_metric cperf-h$i $n) - ${before[$i.$n]}))
		done
		deltas+="$d "
	done
	[ "$deltas" = "$recs $recs " ] && [ "$recs" -gt 0 ]
	check $? "ssh: client_rpcs_done and server_rpcs in the namespaces changed by the $recs Homa records" \
		"changes (client_rpcs_done server_rpcs): $deltas" "@$tmp/run2.log"
	bad=$(verify "$run2")
	[ -z "$bad" ]
	check $? "ssh: report.csv and cperf's own kernel checks agree with the records" \
		"$bad"
else
	tap_skip "cperf cluster up --hosts 2" "$why"
	tap_skip "sshd in both namespaces answers" "$why"
	tap_skip "ssh: cperf run exits 0" "$why"
	tap_skip "ssh: counters = records" "$why"
	tap_skip "ssh: report.csv and checks" "$why"
fi

# ---- cperf report: the plot was drawn in the background (stock kernel)
if [ "$debug" = 1 ]; then
	"$py" "$cperf" report --no-plot "$run1" >"$tmp/rep.log" 2>&1
	rc=$?
	check $rc "cperf report rewrites the report" "@$tmp/rep.log"
	tap_skip "cperf report draws slowdown_w4.png" \
		"importing matplotlib takes minutes in the debug kernel"
else
	wait "$report_pid"
	rc=$?
	[ "$rc" = 0 ] && [ -s "$run1/report.md" ] && grep -q '^plot: ' "$tmp/rep.log"
	check $? "cperf report rewrites the report" "exit status $rc" "@$tmp/rep.log"
	if ! grep -q '^plot: *none (matplotlib is missing' "$tmp/rep.log"; then
		head -c 8 "$run1/slowdown_w4.png" 2>/dev/null | od -An -c | tr -d ' \n' |
			grep -q '211PNG\\r\\n032\\n'
		check $? "cperf report draws slowdown_w4.png" "@$tmp/rep.log"
	else
		tap_skip "cperf report draws slowdown_w4.png" "no python3-matplotlib"
	fi
fi

# ---- argument errors
bad_args() {
	local want=$1 out rc
	shift
	out=$("$py" "$cperf" "$@" 2>&1)
	rc=$?
	[ "$rc" = 2 ] && echo "$out" | grep -q -- "$want"
	check $? "cperf $* exits 2: $want" "exit status $rc" "$out"
}
if [ "$debug" = 1 ]; then
	# Python alone takes 10 s to start there; nothing kernel-specific.
	tap_skip "cperf run --workload w9 exits 2" "stock kernel only"
	tap_skip "cperf run --hosts a,b exits 2" "stock kernel only"
else
	bad_args "expected w1..w5" run --workload w9 --out "$tmp/bad"
	bad_args "is required" run --hosts a,b --out "$tmp/bad"
fi

cleanup_ssh
out=$(homa_unload 2>&1)
check $? "rmmod" "$out"
tap_done
