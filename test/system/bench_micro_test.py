#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""util/bench's micro benchmarks (make bench), a short run checked against
the kernel's counters, never against timing.

Runs "util/bench guest micro" once with tiny settings (one repetition, 50
measured round trips of 100 bytes for Homa, TCP and UDP through
util/homa_echo, 1 s of 1 MB one-way messages for Homa and TCP through
util/cp_node) between two network namespaces joined by a veth pair, and
checks in its micro.json:

- it exits 0, and each server (homa_echo for Homa, TCP and UDP, cp_node
  for Homa and TCP) served exactly the requests its clients completed;
- each RTT run reports as many round trips as asked for, each throughput
  run its Mbit/s as the bytes of its summary over its time;
- each run's own numbers agree with the kernel's: on the veth pair each
  way at least a packet per message, nothing on loopback; Homa's
  client_rpcs and server_rpcs changed by the run's RPC count (warm-up
  included), TCP and UDP runs started no Homa RPC, the UDP run's
  datagrams sent and received (/proc/net/snmp) equal its requests.

Retransmissions (Homa DATA resent or RESENDs, TCP RetransSegs) make bench
mark a run untrusted; here they are printed as notes, not failures: they
are the kernel's behaviour (rpc_paths.sh tracks Homa's), not the tool's.
"""

import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import homa_systest as ht  # noqa: E402

RETRANS = ("data_pkts_resent=", "pkts_sent_RESEND=", "tcp:RetransSegs=")


def main():
    if os.geteuid() != 0:
        ht.skip_all("needs root (run it in the VM)")
    if ht.homa_loaded():
        ht.skip_all("homa is loaded already")
    bench_py = os.path.join(ht.REPO_DIR, "util", "bench")
    loader = importlib.machinery.SourceFileLoader("bench", bench_py)
    spec = importlib.util.spec_from_loader("bench", loader)
    bench = importlib.util.module_from_spec(spec)
    loader.exec_module(bench)

    tap = ht.Tap(7)
    out = tempfile.mkdtemp(prefix="bench_micro.")
    try:
        cmd = [bench_py, "guest", "micro", "--out", out, "--reps", "1",
               "--rtt-rpcs", "50", "--tput-time", "1", "--module", ht.HOMA_KO,
               "--homa-sysctls", os.environ.get("HOMA_SYSCTLS", "")]
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True,
                           timeout=600)
        path = os.path.join(out, "micro.json")
        tap.ok(p.returncode == 0 and os.path.exists(path),
               "bench guest micro: exit 0, micro.json written",
               "exit status %d" % p.returncode, p.stdout[-3000:])
        if not os.path.exists(path):
            for _ in range(6):
                tap.ok(False, "(no micro.json)")
            return tap.done()
        with open(path) as f:
            micro = json.load(f)
        sc = micro.get("server_checks", [])
        tap.ok(len(sc) == 5 and all(c["ok"] for c in sc),
               "5 servers: requests served = the clients' completed RPCs",
               *[c["what"] for c in sc])
        runs = {(r["kind"], r["proto"]): r for r in micro["runs"]}
        for proto in ("homa", "tcp", "udp"):
            r = runs.get(("rtt", proto))
            res = (r or {}).get("result") or {}
            why = bench.check_micro_run(r) if r else ["no run"]
            hard = [w for w in why if not w.startswith(RETRANS)]
            tap.ok(r and res.get("n") == 50 and not hard,
                   "%s RTT: 50 round trips; kernel counters agree (path, "
                   "RPCs/datagrams)" % proto, *(hard + [json.dumps(
                       (r or {}).get("delta"))]))
            for w in why:
                if w.startswith(RETRANS):
                    print("# note: %s RTT run: %s" % (proto, w))
        for proto in ("homa", "tcp"):
            r = runs.get(("tput", proto))
            res = (r or {}).get("result") or {}
            sm = (r or {}).get("summary") or {}
            why = bench.check_micro_run(r) if r else ["no run"]
            hard = [w for w in why if not w.startswith(RETRANS)]
            want = None
            try:
                want = int(sm["req_bytes"]) * 8 / float(sm["time"]) / 1e6
            except (KeyError, ValueError, ZeroDivisionError):
                pass
            tap.ok(r and res.get("rpcs", 0) > 0 and want is not None and
                   abs(res.get("mbps", -1) - want) < 1e-6 * want and
                   res.get("rpcs") * bench.TPUT_SIZE == int(sm["req_bytes"])
                   and not hard,
                   "%s 1 MB: Mbit/s = summary bytes / time, RPCs x 1 MB = "
                   "bytes; kernel counters agree" % proto,
                   *(hard + [json.dumps(sm), json.dumps(
                       (r or {}).get("delta"))]))
            for w in why:
                if w.startswith(RETRANS):
                    print("# note: %s 1 MB run: %s" % (proto, w))
    finally:
        shutil.rmtree(out, ignore_errors=True)
        if ht.homa_loaded():
            ok, msg = ht.homa_unload()
            if not ok:
                print("# " + msg)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
