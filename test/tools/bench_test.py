#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Unit tests of util/bench on the host (no VM, no timing): statistics,
the 20%-off-the-median flag, the path checks on known counter changes,
the parsers of /proc/net/dev, /proc/net/snmp and homa_echo's output, and
a report written from a synthetic run directory.

Prints one "ok N - name" / "not ok N - name" line per test and ends with
"tools-unit: N passed, N failed" (the line make check counts).  Exit
status 0 only if every test passed.
"""

import copy
import csv
import importlib.machinery
import importlib.util
import io
import json
import os
import shutil
import sys
import tempfile
import traceback
from contextlib import redirect_stderr, redirect_stdout

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def load(name, path):
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


bench = load("bench", os.path.join(REPO, "util", "bench"))
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def near(got, want, what="", eps=1e-9):
    if got is None or abs(got - want) > eps:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


# ------------------------------------------------------------ statistics

@test
def stats_known_values():
    st = bench.stats([1.0, 2.0, 3.0])
    eq((st["median"], st["min"], st["max"], st["n"]), (2.0, 1.0, 3.0, 3))
    near(st["cv"], 0.5, "cv of 1,2,3 (stdev 1 / mean 2)")
    st = bench.stats([2.0, 4.0])
    near(st["median"], 3.0, "median of two")
    near(st["cv"], (2 ** 0.5) / 3, "cv of 2,4")
    st = bench.stats([10, 10, 10, 10])
    near(st["cv"], 0.0, "cv of equal values")
    eq(bench.stats([7.0])["cv"], None, "cv of one value")
    eq(bench.stats([0.0, 0.0])["cv"], None, "cv with mean 0")


@test
def off_median_boundaries():
    eq(bench.off_median(100, 100), False)
    eq(bench.off_median(120, 100), False, "exactly 20% above is not more")
    eq(bench.off_median(80, 100), False, "exactly 20% below is not more")
    eq(bench.off_median(120.01, 100), True)
    eq(bench.off_median(79.9, 100), True)
    eq(bench.off_median(None, 100), False, "a failed run")
    eq(bench.off_median(1, 0), True, "median 0")
    eq(bench.off_median(-130, -100), True, "negative median")


def runs(*vals):
    """[(value, trusted)] -> the runs list of bench.fig()."""
    return [{"rep": i, "value": v, "trusted": t, "why": [] if t else ["x"]}
            for i, (v, t) in enumerate(vals, 1)]


@test
def summarize_uses_trusted_runs():
    st = bench.summarize(runs((10, True), (1000, False), (12, True),
                              (11, True)))
    eq(st["basis"], "trusted")
    eq((st["median"], st["min"], st["max"], st["n"]), (11, 10, 12, 3))
    eq([r["off"] for r in st["runs"]], [False, True, False, False],
       "the untrusted outlier is flagged")


@test
def summarize_flags_runs_off_the_median():
    st = bench.summarize(runs((100, True), (125, True), (90, True),
                              (70, True), (None, True)))
    eq(st["median"], 95)
    eq([r["off"] for r in st["runs"]], [False, True, False, True, False])
    eq(st["n"], 4, "a failed run (no value) is not in the statistics")


@test
def summarize_all_untrusted_or_failed():
    st = bench.summarize(runs((10, False), (20, False), (30, False)))
    eq(st["basis"], "untrusted")
    eq(st["median"], 20)
    st = bench.summarize(runs((None, False), (None, True)))
    eq(st["basis"], "none")
    eq(st["median"], None)
    eq([r["off"] for r in st["runs"]], [False, False])


@test
def fmt_runs_marks():
    rs = runs((100, True), (105, True), (150, True), (99, False),
              (None, False))
    bench.summarize(rs)
    eq(bench.fmt_runs(rs), "r1 100, r2 105, r3 150^, r4 99.0!, r5 -!")


# ------------------------------------------------------------ path checks

def homa_rtt_run(msgs=510):
    """A clean Homa RTT run as the guest records it."""
    return {"kind": "rtt", "proto": "homa", "rep": 1, "rc": 0, "msgs": msgs,
            "delta": {
                "c": {"client_rpcs": msgs, "client_rpcs_done": msgs,
                      "pkts_sent_DATA": msgs, "dev:veth0:tx_packets": msgs,
                      "dev:veth0:rx_packets": msgs},
                "s": {"server_rpcs": msgs, "pkts_sent_DATA": msgs,
                      "dev:veth0:tx_packets": msgs,
                      "dev:veth0:rx_packets": msgs}}}


@test
def micro_check_clean_runs():
    eq(bench.check_micro_run(homa_rtt_run()), [])
    tcp = homa_rtt_run()
    tcp["proto"] = "tcp"
    for side in tcp["delta"].values():
        for k in ("client_rpcs", "client_rpcs_done", "server_rpcs",
                  "pkts_sent_DATA"):
            side.pop(k, None)
        side["tcp:OutSegs"] = 600
    eq(bench.check_micro_run(tcp), [])
    udp = copy.deepcopy(tcp)
    udp["proto"] = "udp"
    udp["delta"]["c"]["udp:OutDatagrams"] = 510
    udp["delta"]["s"]["udp:InDatagrams"] = 510
    udp["delta"]["s"]["udp:OutDatagrams"] = 510
    udp["delta"]["c"]["udp:InDatagrams"] = 510
    eq(bench.check_micro_run(udp), [])


@test
def micro_check_retransmissions():
    r = homa_rtt_run()
    r["delta"]["s"]["data_pkts_resent"] = 2
    r["delta"]["c"]["pkts_sent_RESEND"] = 3
    eq(bench.check_micro_run(r), [
        "data_pkts_resent=2 (0.2% of 1020 DATA sent)", "pkts_sent_RESEND=3"])
    t = homa_rtt_run()
    t["proto"] = "tcp"
    t["delta"]["c"] = {"dev:veth0:tx_packets": 600, "tcp:RetransSegs": 1,
                       "tcp:OutSegs": 600}
    t["delta"]["s"] = {"dev:veth0:tx_packets": 600, "tcp:RetransSegs": 2}
    eq(bench.check_micro_run(t), ["tcp:RetransSegs=3 (0.5% of 600 segments)"])


@test
def micro_check_wrong_interface():
    r = homa_rtt_run()
    r["delta"]["c"]["dev:lo:tx_packets"] = 510
    r["delta"]["c"]["dev:veth0:tx_packets"] = 3
    eq(bench.check_micro_run(r), [
        "client sent 3 packets on veth0 for 510 messages",
        "client: 510 packets on lo"])


@test
def micro_check_kernel_counts():
    r = homa_rtt_run()
    r["delta"]["s"]["server_rpcs"] = 509
    eq(bench.check_micro_run(r), [
        "kernel counted client_rpcs 510, server_rpcs 509 for 510 RPCs"])
    u = homa_rtt_run()
    u["proto"] = "udp"
    u["delta"]["c"] = {"dev:veth0:tx_packets": 510, "udp:OutDatagrams": 510}
    u["delta"]["s"] = {"dev:veth0:tx_packets": 510, "udp:InDatagrams": 505,
                       "udp:RcvbufErrors": 5}
    eq(bench.check_micro_run(u), [
        "kernel counted 510 datagrams sent, 505 received for 510 requests",
        "udp:RcvbufErrors=5"])
    t = homa_rtt_run()
    t["proto"] = "tcp"
    t["delta"]["c"]["client_rpcs"] = 4
    t["delta"]["s"].pop("server_rpcs")
    eq(bench.check_micro_run(t), ["Homa RPCs during a tcp run"])


@test
def micro_check_failed_run():
    r = homa_rtt_run()
    r["rc"] = 1
    eq(bench.check_micro_run(r), ["exit status 1"])
    r = homa_rtt_run()
    r["delta"] = {}
    eq(bench.check_micro_run(r), ["no counters"])


def cperf_meta():
    """A clean cperf.json (only what the checks read)."""
    def phase(proto, name, extra):
        p = {"protocol": proto, "phase": name, "checks": [
            {"ok": True, "what": "fine", "detail": ""}],
            "homa_metrics": {}, "snmp": {}}
        p.update(extra)
        return p
    sw = {"port_bytes": {"p1": 700000, "p2": 700000, "p3": 700000},
          "dropped": 0}
    return {"backend": "netns", "gbps_per_host": 0.024, "phases": [
        phase("homa", "unloaded", {"homa_metrics": {"client_rpcs": 10}}),
        phase("homa", "loaded", {"req_bytes": 1000000, "switch": sw,
                                 "gbps_per_client": 0.024,
                                 "homa_metrics": {"client_rpcs": 900}}),
        phase("homa", "servers", {}),
        phase("tcp", "unloaded", {}),
        phase("tcp", "loaded", {"req_bytes": 1000000,
                                "gbps_per_client": 0.012,
                                "switch": copy.deepcopy(sw)}),
        phase("tcp", "servers", {})]}


@test
def cperf_check_clean():
    m = cperf_meta()
    eq(bench.check_cperf_protocol(m, "homa"), [])
    eq(bench.check_cperf_protocol(m, "tcp"), [])


@test
def cperf_check_problems():
    m = cperf_meta()
    m["phases"][0]["homa_metrics"]["pkts_sent_RESEND"] = 4
    m["phases"][1]["homa_metrics"]["data_pkts_resent"] = 7
    m["phases"][1]["homa_metrics"]["pkts_sent_DATA"] = 1400
    m["phases"][4]["snmp"]["tcp:RetransSegs"] = 2
    m["phases"][3].pop("snmp")
    eq(bench.check_cperf_protocol(m, "homa"), [
        "pkts_sent_RESEND=4 (unloaded)",
        "data_pkts_resent=7 (0.5% of 1400 DATA sent) (loaded)"])
    eq(bench.check_cperf_protocol(m, "tcp"), [
        "no TCP counters recorded (unloaded)",
        "tcp:RetransSegs=2 (loaded)"])
    m = cperf_meta()
    m["phases"][1]["switch"]["port_bytes"] = {"p1": 1000}
    m["phases"][4]["switch"]["dropped"] = 3
    m["phases"][5]["checks"].append({"ok": False, "what": "servers exit 0"})
    eq(bench.check_cperf_protocol(m, "homa"), [
        "switch ports carried 1000 bytes, less than the 2000000 bytes of "
        "payload"])
    eq(bench.check_cperf_protocol(m, "tcp"), [
        "switch dropped 3 packets",
        "cperf check failed (servers): servers exit 0"])
    m["phases"] = [p for p in m["phases"] if p["phase"] != "loaded"]
    eq(bench.check_cperf_protocol(m, "homa"), ["no loaded phase"])


@test
def cperf_ratio_untrusted_with_either_protocol():
    m = cperf_meta()
    m["phases"][4]["snmp"]["tcp:RetransSegs"] = 1
    row = {"rtt_p50_us": 100.0, "rtt_p99_us": 400.0, "slowdown_p99": 4.0}
    res = {"homa": [row, row], "tcp": [dict(row, rtt_p99_us=800.0), row]}
    figures = {}
    g = {"name": "cperf-w2-50", "workload": "w2", "load": 0.5}
    bench.cperf_figures(figures, g, [(1, m, res), (2, None, {})])
    eq(list(figures)[:2], ["W2 50% Homa short P50 RTT",
                           "W2 50% TCP short P50 RTT"])
    r = figures["W2 50% Homa/TCP short P99 RTT"]["runs"]
    eq((r[0]["value"], r[0]["trusted"]), (0.5, False))
    eq(r[0]["why"], ["TCP: tcp:RetransSegs=1 (loaded)"])
    eq((r[1]["value"], r[1]["trusted"]), (None, False), "missing rep 2")
    h = figures["W2 50% Homa short P99 RTT"]["runs"][0]
    eq((h["value"], h["trusted"]), (0.4, True), "in ms")
    t = figures["W2 50% TCP achieved/offered load"]["runs"][0]
    eq((t["value"], t["trusted"]), (0.5, False))
    eq(len(figures), len(bench.CPERF_ORDER), "every figure, rep 2 missing")


# -------------------------------------------------------------- parsers

NET_DEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
 veth0: 1234567     890    0    1    0     0          0         0  7654321     987    0    2    0     0       0          0
"""

SNMP = """Ip: Forwarding DefaultTTL
Ip: 1 64
Tcp: RtoAlgorithm RtoMin RetransSegs InErrs
Tcp: 1 200 17 0
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors
Udp: 510 0 0 511 3
"""


@test
def parse_proc_files():
    d = bench.parse_net_dev(NET_DEV)
    eq((d["dev:veth0:rx_packets"], d["dev:veth0:tx_packets"],
        d["dev:veth0:rx_drop"], d["dev:veth0:tx_drop"],
        d["dev:lo:tx_packets"], d["dev:veth0:tx_bytes"]),
       (890, 987, 1, 2, 2, 7654321))
    s = bench.cperf.parse_snmp(SNMP)
    eq((s["tcp:RetransSegs"], s["udp:InDatagrams"], s["udp:OutDatagrams"],
        s["udp:RcvbufErrors"]), (17, 510, 511, 3))
    eq("ip:Forwarding" in s, False)
    b = {"c": {"a": 1, "b": 5}, "s": {}}
    a = {"c": {"a": 1, "b": 7}, "s": {"x": 2}}
    eq(bench.deltas(b, a), {"c": {"b": 2}, "s": {"x": 2}})


@test
def parse_tool_output():
    out = ("rtt udp IPv4 size 100: n 300 p50 401.8 p99 24290.1 min 147.1 "
           "mean 2559.6 usec\nclient: 310 rpcs ok, 0 failed\n")
    eq(bench.parse_rtt(out), {"n": 300, "p50": 401.8, "p99": 24290.1,
                              "min": 147.1, "mean": 2559.6})
    eq(bench.parse_rtt("client: 0 rpcs ok, 310 failed\n"), None)
    sm = bench.parse_summary("start role=client\nsummary role=client "
                             "rpcs=53 req_bytes=53000000 time=2.025\n")
    eq((sm["rpcs"], sm["req_bytes"], sm["time"]), ("53", "53000000",
                                                   "2.025"))


# --------------------------------------------------- report end to end

def micro_json(reps):
    runs_ = []
    p50 = {"homa": [50.0, 60.0, 55.0], "tcp": [100.0, 100.0, 150.0],
           "udp": [30.0, 31.0, 29.0]}
    for rep in range(1, reps + 1):
        for p in ("homa", "tcp", "udp"):
            r = homa_rtt_run(msgs=110)
            r.update({"proto": p, "rep": rep, "result": {
                "n": 100, "p50": p50[p][rep - 1], "p99": 2 * p50[p][rep - 1],
                "min": 1.0, "mean": 1.0}})
            if p != "homa":
                for side in r["delta"].values():
                    side.pop("client_rpcs", None)
                    side.pop("server_rpcs", None)
            if p == "udp":
                r["delta"]["c"]["udp:OutDatagrams"] = 110
                r["delta"]["s"]["udp:InDatagrams"] = 110
            if p == "homa" and rep == 3:
                r["delta"]["c"]["pkts_sent_RESEND"] = 1
            runs_.append(r)
        for p, mbps in (("homa", 200.0 + rep), ("tcp", 800.0)):
            r = homa_rtt_run(msgs=50)
            r.update({"kind": "tput", "proto": p, "rep": rep,
                      "result": {"mbps": mbps, "rpcs": 50, "secs": 2.0}})
            if p == "tcp":
                for side in r["delta"].values():
                    side.pop("client_rpcs", None)
                    side.pop("server_rpcs", None)
            runs_.append(r)
    return {"kernel": "6.1.0-test", "path": "veth pair (test)",
            "homa_sysctls": {"resend_ticks": "5"},
            "commands": ["(client ns) homa_echo client ..."],
            "server_checks": [{"ok": True, "what": "served = completed"}],
            "runs": runs_}


@test
def report_from_synthetic_run():
    d = tempfile.mkdtemp(prefix="bench_test.")
    try:
        os.makedirs(os.path.join(d, "micro"))
        with open(os.path.join(d, "micro", "micro.json"), "w") as f:
            json.dump(micro_json(3), f)
        cfg = dict(bench.FULL, parts=["micro"], quick=False)
        meta = {"format": 1, "started": "2026-11-23T01:02:03",
                "config": cfg, "command": "util/bench run --parts micro",
                "source": "abc (branch bench)",
                "host": {"cpus": 2, "kernel": "host"},
                "vm": {"kernel": "stock", "smp": 2, "mem": "2G"},
                "groups": [{"name": "micro", "kind": "micro", "rc": 0,
                            "wall_s": 30.0, "load_before": [1.0, 1, 1],
                            "load_after": [2.0, 1, 1],
                            "guest_command": "guest micro --reps 3"}],
                "wall_s": 31.0}
        with open(os.path.join(d, bench.META), "w") as f:
            json.dump(meta, f)
        out = io.StringIO()
        with redirect_stdout(out):
            rc = bench.report(d)
        eq(rc, 0, "report exit status")
        with open(os.path.join(d, "results.csv")) as f:
            rows = {r["figure"]: r for r in csv.DictReader(f)}
        h = rows["RTT 100 B Homa P50"]
        eq((h["median"], h["min"], h["max"], h["runs"], h["trusted_runs"],
            h["values"], h["flags"]),
           ("55", "50", "60", "3", "2", "50 60 55", "r3:untrusted"),
           "Homa P50: run 3 untrusted (a RESEND) and out of the stats")
        t = rows["RTT 100 B TCP P50"]
        eq((t["median"], t["flags"]), ("100", "r3:off"),
           "TCP P50: 150 is 50% off the median 100")
        near(float(t["cv"]), 0.2474358, "cv of 100,100,150", 1e-6)
        r = rows["RTT P50 Homa/TCP"]
        eq((r["median"], r["trusted_runs"]), ("0.55", "2"))
        eq(rows["1 MB one-way Homa/TCP"]["median"], "0.2525")
        with open(os.path.join(d, "runs.csv")) as f:
            runs_csv = list(csv.DictReader(f))
        eq(len(runs_csv), 3 * len(rows), "a line per figure and run")
        with open(os.path.join(d, "perf-entry.txt")) as f:
            entry = f.read()
        for want in ("2026-11-23  make bench", "Setup:", "Commands:",
                     "RTT 100 B Homa P50", "micro r3: Homa RTT: pkts_sent_RESEND=1",
                     "What it means: TODO", "did not help: TODO"):
            if want not in entry:
                raise AssertionError("perf-entry.txt lacks %r" % want)
        md = open(os.path.join(d, "results.md")).read()
        if "| RTT 100 B TCP P50 | us | 100 | 100 | 150 | 25% |" not in md:
            raise AssertionError("results.md row: %s" % md)
        # bench append refuses the draft until a person completed it.
        eq(bench.main(["append", d]), 2, "append with TODO left")
    finally:
        shutil.rmtree(d)


def main():
    passed = failed = 0
    print("TAP version 13")
    print("1..%d" % len(TESTS))
    for i, t in enumerate(TESTS, 1):
        try:
            with redirect_stdout(io.StringIO()), \
                    redirect_stderr(io.StringIO()):
                t()
        except Exception:   # noqa: B902 (reported as a failed test)
            failed += 1
            print("not ok %d - %s" % (i, t.__name__))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        else:
            passed += 1
            print("ok %d - %s" % (i, t.__name__))
    print("tools-unit: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
