#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Hostile packets: the receive path survives malformed and random Homa
packets, drops and counts each one for the right reason, and leaves no
trace: live RPCs complete, RPCs and memory go back to where they were.

In a fresh network namespace (only lo, so the spoofed sources below have
no route) the test opens an IPv4 and an IPv6 server socket and three
client sockets, and starts three RPCs whose requests are fully received
(not yet read) when the injection starts:

- A (IPv4) and B (IPv6): "protected": no injected packet uses their ids;
- E (IPv4): "exposed": packets from 127.0.0.1 aim at it on purpose.

build/systest/homa_fuzz (homa_fuzz.c) then sends, over IPv4 and then
IPv6: its catalogue of malformed packets, then HOMA_FUZZ_PACKETS (default
200000) random ones, half over each family.  Most packets come from
spoofed sources (192.0.2.x, 2001:db8::x), whose answers cannot be sent,
so the counters move by exactly what the injector predicts; a quarter of
the random ones come from the local address and a live port, to meet live
RPCs.  For every run the test checks, from /proc/net/homa_metrics:

- every packet reached the module: pkts_dropped_short + _bad_type + the
  pkts_rcvd_* counters grew by the packets sent plus the module's own
  packets (pkts_sent_*, which come back through lo);
- per type, pkts_rcvd_T grew by the complete packets of type T sent (plus
  the module's own);
- exactly: pkts_dropped_short, _bad_type, _no_server, _bad_data (a
  range where local packets may hit a live RPC whose length the injector
  does not know), and no pkts_dropped_nomem; _no_socket at least as
  predicted and at most that plus the module's own packets (answers to
  127.0.0.1 ports without a socket);
- pkts_dropped_unknown_rpc grew at least by the packets for RPCs that
  cannot exist, and at most by those plus the packets whose fate depends
  on RPC state (RESEND, BUSY, ... may be answered instead of dropped);
- no amplification: the module sent at most one packet per packet
  injected (pkts_sent_*; answers to spoofed sources cannot be sent).

Then 500 60000-byte packets, each starting a new 1 MB request for a server
whose buffers cannot hold it, must not pin more than 8 MiB (the data of a
message waits for buffer space in the sender, not in this host); and one
control packet for an unknown RPC from each of 66000 spoofed addresses
(2000 on the debug kernel) goes through the same counter checks, after
which a request from yet another address must still create an RPC (none
of those packets needs state that outlives it: no peer table may fill).

Afterwards: A's and B's requests arrive intact and their responses
complete; E's request arrives intact (its client may have been given a
forged response: it is aborted if still waiting); new small and large
RPCs (the large one needs grants) complete; the client sockets have no
RPC left and every client RPC started was completed; the server sockets'
RPCs created by injected requests time out (only when the module has RPC
timeouts, i.e. /proc/sys/net/homa/timeout_ticks; skipped before); after
the namespace is deleted, the bytes in the kmalloc and skb slab caches
(measured after shrinking them, which also empties KASAN's quarantine)
and the skbuff_head_cache objects are back near where they started;
rmmod works; with kmemleak (debug kernel), no leaked object comes from
homa.  KASAN and lockdep reports are caught by run-vm --check-kernel-log.
"""

import errno
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import time

from kmemleak_test import blames_homa, leaked_objects, module_range
from homa_systest import (REPO_DIR, HOMAIOCINFO, SIZEOF_HOMA_INFO, InNetns,
                          Tap, homa_abort, homa_info, homa_load,
                          homa_rcvbuf_socket, homa_recvmsg, homa_sendmsg,
                          homa_unload, metrics_delta, netns_add, netns_del,
                          read_metrics, sock_port)

NETNS = "homa-fuzz"
BUILD = os.environ.get("SYSTEST_BUILD", os.path.join(REPO_DIR, "build",
                                                     "systest"))
FUZZ = os.path.join(BUILD, "homa_fuzz")
# The debug kernel (KASAN, lockdep, kmemleak under TCG) handles a packet
# about 50 times slower than the stock one: 200000 there would take more
# than 10 minutes.
DEBUG_KERNEL = "homa-debug" in os.uname().release
PACKETS = int(os.environ.get("HOMA_FUZZ_PACKETS",
                             "20000" if DEBUG_KERNEL else "200000"))
TRACE = ["--trace"] if os.environ.get("HOMA_FUZZ_TRACE") else []
# Seconds one homa_fuzz run may take (about 1 ms a packet on the debug
# kernel, 50 us on the stock one, more on a busy host).
FUZZ_TIMEOUT = 120 + PACKETS // 200
SEED = int(os.environ.get("HOMA_FUZZ_SEED", "1"))

PORT4, PORT6 = 4000, 4001
BPAGES = 64                 # 4 MiB receive buffers
REQ_LEN = 100000            # more than unsched_bytes: needs grants
RESP_LEN = 30000            # less than unsched_bytes
E_REQ_LEN = 3000
LARGE_LEN = 300000          # a new RPC after the injection, with grants
RECV_TIMEOUT = 30           # seconds; the debug kernel under TCG is slow
SLAB_BOUND = 8 << 20        # bytes of SUnreclaim growth tolerated
# Packets from distinct sources: more than the 65536 peers a namespace may
# have (homa_peer.h) on the stock kernel; a quick run on the debug one.
SPRAY = 2000 if DEBUG_KERNEL else 66000
FLOOD = 500                 # 60000-byte DATA for requests without buffers
FLOOD_BOUND = 8 << 20       # bytes they may pin (they carry 30 MB)
PORT_SMALL = 4002
SKB_BOUND = 500             # skbuff_head_cache objects tolerated
KMEMLEAK = "/sys/kernel/debug/kmemleak"

TYPES = ["DATA", "GRANT", "RESEND", "RPC_UNKNOWN", "BUSY", "CUTOFFS",
         "FREEZE", "NEED_ACK", "ACK"]
CHECKS_PER_RUN = 11

HOMA_RPC_INFO_SIZE = 184
HOMA_RPC_INFO_RX_REMAINING = 164
HOMA_RPC_INFO_FLAGS = 180
HOMA_RPC_RX_READY = 4


class Hang(Exception):
    """A blocking call did not return in time."""


def on_alarm(signum, frame):
    raise Hang("still blocked after %d s" % RECV_TIMEOUT)


def payload(tag, length):
    """Deterministic bytes for a message."""
    return random.Random("%s-%d" % (tag, SEED)).randbytes(length)


def rpc_infos(sock, max_rpcs=64):
    """HOMAIOCINFO with an RPC array: [(id, rx_remaining, flags)]."""
    import ctypes  # pylint: disable=import-outside-toplevel
    import fcntl  # pylint: disable=import-outside-toplevel
    arr = ctypes.create_string_buffer(max_rpcs * HOMA_RPC_INFO_SIZE)
    buf = bytearray(SIZEOF_HOMA_INFO)
    struct.pack_into("=QQ", buf, 0, ctypes.addressof(arr), len(arr))
    fcntl.ioctl(sock.fileno(), HOMAIOCINFO, buf, True)
    num = struct.unpack_from("=I", buf, 28)[0]
    out = []
    for i in range(min(num, max_rpcs)):
        base = i * HOMA_RPC_INFO_SIZE
        rid = struct.unpack_from("=Q", arr.raw, base)[0]
        rem = struct.unpack_from("=I", arr.raw,
                                 base + HOMA_RPC_INFO_RX_REMAINING)[0]
        flags = struct.unpack_from("=H", arr.raw,
                                   base + HOMA_RPC_INFO_FLAGS)[0]
        out.append((rid, rem, flags))
    return out


def wait_for(cond, timeout, interval=0.05):
    """Poll cond() until it returns a true value or timeout seconds pass;
    return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def processed(before, after):
    """Homa packets handled between two metric snapshots, less the
    module's own (which come back through lo)."""
    d = {k: after[k] - before[k] for k in after}
    got = d["pkts_dropped_short"] + d["pkts_dropped_bad_type"]
    got += sum(d["pkts_rcvd_" + t] for t in TYPES)
    return got - sum(d["pkts_sent_" + t] for t in TYPES)


def meminfo(field):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def homa_caches(name):
    """Whether homa allocates from a slab cache: kmalloc (RPCs, peers,
    gaps, packet data) and the skb caches."""
    return "kmalloc" in name or name.startswith("skbuff")


def slab_usage():
    """(bytes in the caches homa uses, skbuff_head_cache objects), from
    /proc/slabinfo; None without it."""
    total, skbs = 0, 0
    try:
        with open("/proc/slabinfo") as f:
            lines = f.readlines()[2:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if homa_caches(fields[0]):
            total += int(fields[1]) * int(fields[3])
        if fields[0] == "skbuff_head_cache":
            skbs = int(fields[1])
    return total, skbs


def drop_caches():
    """Drop clean caches, and shrink the slab caches homa uses: that also
    empties KASAN's quarantine of their freed objects, which count as
    active in /proc/slabinfo until then."""
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")
    try:
        with open("/proc/slabinfo") as f:
            names = [line.split()[0] for line in f.readlines()[2:]]
    except OSError:
        return
    for name in names:
        if homa_caches(name):
            try:
                with open("/sys/kernel/slab/%s/shrink" % name, "w") as f:
                    f.write("1")
            except OSError:
                pass


def kmemleak(command):
    with open(KMEMLEAK, "w") as f:
        f.write(command)


def softnet_dropped():
    """Packets dropped by the per-CPU input backlogs (all CPUs)."""
    total = 0
    with open("/proc/net/softnet_stat") as f:
        for line in f:
            total += int(line.split()[1], 16)
    return total


class Rpc:
    """A client RPC started by the test."""

    def __init__(self, name, client, region, dest, request):
        self.name, self.client, self.region = name, client, region
        self.dest, self.request = dest, request
        r = homa_sendmsg(client, request, dest)
        if r.ret != 0:
            raise OSError(r.err, "%s: sendmsg failed: %s" % (name, r))
        self.id = r.id
        self.port = sock_port(client)


class Server:
    """A server socket and what arrived on it."""

    def __init__(self, family, port):
        self.sock, self.region = homa_rcvbuf_socket(family, BPAGES, port)
        self.expected = {}      # (id, client port) -> response
        self.requests = {}      # (id, client port) -> bytes
        self.forged = 0
        self.release = []

    def drain(self):
        """Receive every request now ready (and those that become ready as
        buffers come back); answer the test's own (self.expected: {(id,
        port): response}) and give every other one a 1-byte response.
        Returns the number received."""
        respond_to = self.expected
        n = 0
        while True:
            r = homa_recvmsg(self.sock, flags=socket.MSG_DONTWAIT,
                             release=self.release)
            if r.ret < 0:
                if r.err != errno.EAGAIN:
                    raise OSError(r.err, "recvmsg: %s" % r)
                if not self.release:
                    return n
                self.release = []
                continue
            n += 1
            self.release = list(r.offsets)
            key = (r.id, r.addr[1] if r.addr else None)
            if key in respond_to:
                self.requests[key] = self.region.message(r)
                resp = respond_to[key]
            else:
                self.forged += 1
                resp = b"x"
            # A response to a spoofed (unroutable) client fails and ends
            # the RPC; that is fine.
            homa_sendmsg(self.sock, resp, r.addr, rpc_id=r.id)

    def close(self):
        self.sock.close()
        self.region.close()


def recv_response(rpc, timeout=RECV_TIMEOUT):
    """Blocking recvmsg for one client RPC; (length, bytes or errno name)."""
    signal.alarm(timeout)
    try:
        r = homa_recvmsg(rpc.client, rpc_id=rpc.id)
    finally:
        signal.alarm(0)
    if r.ret < 0:
        return r.ret, errno.errorcode.get(r.err, r.err)
    data = rpc.region.message(r)
    release(rpc, r.offsets)
    return r.ret, data


def release(rpc, offsets):
    """Hand a response's buffers back (the recvmsg naming the ended RPC
    then fails with EINVAL, after the release)."""
    if offsets:
        homa_recvmsg(rpc.client, rpc_id=rpc.id, flags=socket.MSG_DONTWAIT,
                     release=offsets)


def serve(server, rpc, response, timeout=RECV_TIMEOUT):
    """Wait for rpc's request on server and answer it (other requests get
    1 byte); return the request bytes or None."""
    key = (rpc.id + 1, rpc.port)
    server.expected[key] = response
    deadline = time.monotonic() + timeout
    while key not in server.requests and time.monotonic() < deadline:
        select.select([server.sock], [], [], 0.2)
        server.drain()
    return server.requests.get(key)


class Fuzzer:
    """Runs homa_fuzz and checks the counters against what it sent."""

    def __init__(self, t):
        self.t = t
        self.runs = 0
        self.seconds = 0.0

    def run(self, desc, args):
        t = self.t
        self.runs += 1
        before = read_metrics()
        drops_before = softnet_dropped()
        start = time.monotonic()
        try:
            r = subprocess.run([FUZZ, "--seed", str(SEED * 100 + self.runs)]
                               + args, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               check=False, timeout=FUZZ_TIMEOUT)
        except subprocess.TimeoutExpired as ex:
            r = subprocess.CompletedProcess(
                ex.cmd, -1, "", "timed out after %d s" % FUZZ_TIMEOUT)
        sent, types, maybe = {}, {}, 0
        for line in r.stdout.splitlines():
            f = line.split()
            if len(f) == 3 and f[0] == "sent":
                sent[f[1]] = int(f[2])
            elif len(f) == 3 and f[0] == "type":
                types[f[1]] = int(f[2])
            elif f[:2] == ["maybe", "bad_data"]:
                maybe = int(f[2])
            elif line.startswith("#"):
                print(line)
        total = sent.get("total", 0)
        ok = t.ok(r.returncode == 0 and total > 0 and len(types) == 9,
                  "%s: homa_fuzz sent %d packets" % (desc, total),
                  "exit status %d" % r.returncode, r.stderr[-2000:])
        if not ok:
            for _ in range(CHECKS_PER_RUN - 1):
                t.ok(False, "%s: (not checked: homa_fuzz failed)" % desc)
            return
        def caught_up():
            m = read_metrics()
            return m if processed(before, m) >= total else None
        after = wait_for(caught_up, 30) or read_metrics()
        self.seconds += time.monotonic() - start
        d = {k: after[k] - before[k] for k in after}
        print("# sent: %s; maybe bad_data %d" % (sent, maybe))
        print("# counters: %s" % metrics_delta(before, after))
        dropped = softnet_dropped() - drops_before
        t.is_(processed(before, after), total,
              "%s: every packet reached the module (short + bad_type + "
              "rcvd - own sent; %d dropped by the input backlog)"
              % (desc, dropped))
        t.is_(d["pkts_dropped_short"], sent["short"],
              "%s: pkts_dropped_short" % desc)
        t.is_(d["pkts_dropped_bad_type"], sent["bad_type"],
              "%s: pkts_dropped_bad_type" % desc)
        got = {n: d["pkts_rcvd_" + n] - d["pkts_sent_" + n] for n in TYPES}
        t.is_(got, types, "%s: pkts_rcvd_<type> - pkts_sent_<type> per type"
              % desc)
        # The module's own answers to 127.0.0.1 ports without a socket
        # (RPC_UNKNOWN for a RESEND, ACK for a NEED_ACK) land there too.
        own = sum(d["pkts_sent_" + n] for n in TYPES)
        lo = sent["no_socket"]
        t.ok(lo <= d["pkts_dropped_no_socket"] <= lo + own,
             "%s: pkts_dropped_no_socket in [%d, %d]" % (desc, lo, lo + own),
             "actual: %d" % d["pkts_dropped_no_socket"])
        # A DATA packet dropped because the socket holds its limit of
        # received data (pkts_dropped_rmem) creates no RPC, so a later
        # packet predicted bad against that RPC may start one instead.
        hi = sent["bad_data"] + maybe
        lo = max(0, sent["bad_data"] - d["pkts_dropped_rmem"])
        t.ok(lo <= d["pkts_dropped_bad_data"] <= hi,
             "%s: pkts_dropped_bad_data %s" % (
                 desc, lo if lo == hi else "in [%d, %d]" % (lo, hi)),
             "actual: %d" % d["pkts_dropped_bad_data"])
        t.is_(d["pkts_dropped_no_server"], sent["no_server"],
              "%s: pkts_dropped_no_server" % desc)
        lo = sent["unknown_rpc"]
        hi = lo + sent["other"]
        t.ok(lo <= d["pkts_dropped_unknown_rpc"] <= hi,
             "%s: pkts_dropped_unknown_rpc in [%d, %d]" % (desc, lo, hi),
             "actual: %d" % d["pkts_dropped_unknown_rpc"])
        t.is_(d["pkts_dropped_nomem"], 0,
              "%s: no pkts_dropped_nomem" % desc)
        own = sum(d["pkts_sent_" + n] for n in TYPES)
        t.ok(own <= total, "%s: at most one packet sent in answer to each "
             "(%d sent)" % (desc, own), "sent: %d for %d" % (own, total))


def set_timer(**values):
    """Write retransmission-timer sysctls of the current namespace."""
    for name, value in values.items():
        path = "/proc/sys/net/homa/" + name
        if os.path.exists(path):
            with open(path, "w") as f:
                f.write(str(value))


def main():
    signal.signal(signal.SIGALRM, on_alarm)
    if not os.access(FUZZ, os.X_OK):
        t = Tap(1)
        t.ok(False, "homa_fuzz was built on the host", FUZZ)
        return t.done()
    have_kmemleak = os.path.exists(KMEMLEAK)
    if have_kmemleak:
        kmemleak("clear")
    try:
        homa_load()
    except RuntimeError as e:
        t = Tap(1)
        t.ok(False, "insmod", str(e))
        return t.done()
    t = Tap(2 + 5 * CHECKS_PER_RUN + 2 + 11 + 2 + 2)
    t.ok(True, "insmod")
    mod_range = module_range()
    t_start = time.monotonic()
    drop_caches()
    slab0 = meminfo("SUnreclaim")
    usage0 = slab_usage()
    avail0 = meminfo("MemAvailable")
    socks = []
    fuzzer = Fuzzer(t)
    try:
        netns_add(NETNS)
        with InNetns(NETNS):
            # Exact counts: the timer must not answer the injected
            # requests with RESENDs or NEED_ACKs, nor end the test's own
            # RPCs, while packets are counted (timeouts come back below).
            set_timer(resend_ticks=100000, request_ack_ticks=100000,
                      timeout_ticks=1000000)
            m0 = read_metrics()
            s4 = Server(socket.AF_INET, PORT4)
            s6 = Server(socket.AF_INET6, PORT6)
            socks += [s4, s6]
            c4, r4 = homa_rcvbuf_socket(socket.AF_INET, BPAGES)
            c6, r6 = homa_rcvbuf_socket(socket.AF_INET6, BPAGES)
            ce, re_ = homa_rcvbuf_socket(socket.AF_INET, BPAGES)
            for s, r in ((c4, r4), (c6, r6), (ce, re_)):
                socks.append(s)
                socks.append(r)
            a = Rpc("A", c4, r4, ("127.0.0.1", PORT4), payload("A", REQ_LEN))
            b = Rpc("B", c6, r6, ("::1", PORT6), payload("B", REQ_LEN))
            e = Rpc("E", ce, re_, ("127.0.0.1", PORT4),
                    payload("E", E_REQ_LEN))

            def requests_in():
                ready = [(rid, rem) for rid, rem, fl in
                         rpc_infos(s4.sock) + rpc_infos(s6.sock)
                         if fl & HOMA_RPC_RX_READY and rem == 0]
                return len(ready) == 3
            t.ok(wait_for(requests_in, RECV_TIMEOUT),
                 "the requests of RPCs A, B (%d bytes) and E are received "
                 "(not yet read) before the injection" % REQ_LEN,
                 "server RPCs: %s %s" % (rpc_infos(s4.sock),
                                         rpc_infos(s6.sock)))

            cports = [sock_port(c4), sock_port(c6), sock_port(ce)]
            common = ["--window", "256"]
            v4 = (["--local-src", "127.0.0.1",
                   "--server-port", str(PORT4), "--server-port", str(PORT6),
                   "--client-port", str(sock_port(ce)),
                   "--client-port", str(sock_port(c4)),
                   "--client-port", str(sock_port(c6))] +
                  sum((["--sport", str(p)] for p in [PORT4, PORT6] + cports),
                      []) +
                  ["--id", str(e.id), "--avoid-id", str(a.id),
                   "--avoid-id", str(b.id)] + common)
            v6 = (["-6", "--local-src", "::1",
                   "--server-port", str(PORT6),
                   "--client-port", str(sock_port(c6)),
                   "--closed-port", str(PORT4),
                   "--closed-port", str(sock_port(c4)),
                   "--closed-port", str(sock_port(ce)),
                   "--sport", str(PORT6), "--sport", str(sock_port(c6)),
                   "--avoid-id", str(a.id), "--avoid-id", str(b.id)] +
                  common)

            def srcs(fmt, first):
                return sum((["--src", fmt % i] for i in
                            range(first, first + 4)), [])
            half = PACKETS // 2
            fuzzer.run("IPv4 catalogue", ["--phase", "catalogue"] + TRACE +
                       srcs("192.0.2.%d", 1) + v4)
            fuzzer.run("IPv6 catalogue", ["--phase", "catalogue"] + TRACE +
                       srcs("2001:db8::%x", 1) + v6)
            fuzzer.run("IPv4 random x%d" % half,
                       ["--phase", "random", "--count", str(half)] +
                       srcs("192.0.2.%d", 11) + v4)
            fuzzer.run("IPv6 random x%d" % (PACKETS - half),
                       ["--phase", "random", "--count",
                        str(PACKETS - half)] +
                       srcs("2001:db8::%x", 0x11) + v6)
            print("# injection: %.1f s" % fuzzer.seconds)

            # Requests that find no receive buffer must not pin memory
            # beyond a bound.
            check_flood(t)

            # One control packet for an unknown RPC from each of SPRAY
            # addresses: no state needs to outlive them, so a request
            # from yet another address must still be served.
            fuzzer.run("IPv4 spray from %d sources" % SPRAY,
                       ["--phase", "spray", "--count", str(SPRAY),
                        "--src", "10.1.0.0"] + v4)
            check_new_source(t)

            # The live RPCs.
            resp = {n: payload("resp" + n, RESP_LEN) for n in "ABE"}
            s4.expected[(e.id + 1, e.port)] = resp["E"]
            got = serve(s4, a, resp["A"])
            t.ok(got == a.request, "A's request arrives intact",
                 "got %s bytes" % (len(got) if got is not None else None))
            got = serve(s6, b, resp["B"])
            t.ok(got == b.request, "B's request arrives intact",
                 "got %s bytes" % (len(got) if got is not None else None))
            got = serve(s4, e, resp["E"])
            # An RPC_UNKNOWN forged from E's client address legitimately
            # ends E's server RPC.
            killed = (read_metrics()["server_rpcs_unknown"] -
                      m0["server_rpcs_unknown"])
            t.ok(got == e.request or (got is None and killed > 0),
                 "E's (exposed) request arrives intact, or a forged "
                 "RPC_UNKNOWN ended it",
                 "got %s bytes, server_rpcs_unknown +%d"
                 % (len(got) if got is not None else None, killed))
            for rpc in (a, b):
                try:
                    n, data = recv_response(rpc)
                except Hang as ex:
                    n, data = -1, str(ex)
                t.ok(n == RESP_LEN and data == resp[rpc.name],
                     "%s's response (%d bytes) arrives intact"
                     % (rpc.name, RESP_LEN), "got %r" % ((n, data[:16]),))

            # E's client may have taken a forged response, or be left
            # with a partial one: abort it if it still waits.
            n, data = recv_response_nowait(e, 3.0)
            try:
                if n is None:
                    homa_abort(ce, e.id, errno.ECANCELED)
                    n, data = recv_response(e)
            except Hang as ex:
                n, data = None, str(ex)
            if n is not None and n >= 0:
                data = "%d bytes, %s" % (len(data), "the real response"
                                         if data == resp["E"] else "forged")
            print("# E ended with %r" % ((n, data),))
            t.ok(n is not None, "E's client RPC ends (its response, a "
                 "forged one, or ECANCELED after HOMAIOCABORT)", data)

            # Counting is over: the timer works normally again, with a
            # short timeout, so that the injected requests' RPCs end and
            # give back the incoming budget they hold.
            set_timer(resend_ticks=5, request_ack_ticks=2, timeout_ticks=50)

            # New RPCs after the injection, small and large.
            for name, length in (("small", 1000), ("large", LARGE_LEN)):
                req = payload("req" + name, length)
                rsp = payload("rsp" + name, length)
                try:
                    rpc = Rpc(name, c4, r4, ("127.0.0.1", PORT4), req)
                    got = serve(s4, rpc, rsp)
                    n, data = recv_response(rpc) if got == req else (
                        -1, "request: %s" % (len(got) if got else got))
                except Hang as ex:
                    n, data = -1, str(ex)
                if n != length:
                    # Collect it, so that the counts below stay exact.
                    homa_abort(c4, rpc.id, errno.ECANCELED)
                    recv_response(rpc)
                t.ok(n == length and data == rsp,
                     "a new %d-byte RPC completes, both messages intact%s"
                     % (length, " (it needs grants)" if name == "large"
                        else ""),
                     "got %r" % ((n, data[:32]),),
                     "server RPCs: %s" % rpc_infos(s4.sock))

            left = {n: homa_info(s)[1] for n, s in
                    (("c4", c4), ("c6", c6), ("ce", ce))}
            t.is_(left, {"c4": 0, "c6": 0, "ce": 0},
                  "no RPC is left on the client sockets")
            m1 = read_metrics()
            t.is_(m1["client_rpcs"] - m0["client_rpcs"],
                  m1["client_rpcs_done"] - m0["client_rpcs_done"],
                  "every client RPC started was completed (client_rpcs, "
                  "client_rpcs_done)")
            print("# server sockets: %d forged requests received and "
                  "answered; RPCs left: %d (IPv4), %d (IPv6); memory "
                  "held: SUnreclaim %+d KiB, MemAvailable %+d KiB"
                  % (s4.forged + s6.forged, homa_info(s4.sock)[1],
                     homa_info(s6.sock)[1],
                     (meminfo("SUnreclaim") - slab0) >> 10,
                     (meminfo("MemAvailable") - avail0) >> 10))
            if os.path.exists("/proc/sys/net/homa/timeout_ticks"):
                def reaped():
                    s4.drain()
                    s6.drain()
                    return (homa_info(s4.sock)[1] == 0 and
                            homa_info(s6.sock)[1] == 0)
                t.ok(wait_for(reaped, 60, 0.5),
                     "the server RPCs of injected requests time out",
                     "left: %d %d" % (homa_info(s4.sock)[1],
                                      homa_info(s6.sock)[1]))
            else:
                t.skip("the server RPCs of injected requests time out",
                       "no RPC timeouts in this module (no timeout_ticks "
                       "sysctl); %d RPCs stay until close"
                       % (homa_info(s4.sock)[1] + homa_info(s6.sock)[1]))
            for s in socks:
                s.close()
            socks = []
        netns_del(NETNS)

        # Memory: the namespace is freed asynchronously.
        if usage0 is None:
            t.skip("kmalloc and skb slab caches back near the start",
                   "no /proc/slabinfo")
            t.skip("skbuff_head_cache objects back near the start",
                   "no /proc/slabinfo")
        else:
            def slab_back():
                drop_caches()
                return slab_usage()[0] - usage0[0] < SLAB_BOUND
            wait_for(slab_back, 30, 1.0)
            usage1 = slab_usage()
            growth = usage1[0] - usage0[0]
            print("# kmalloc and skb caches: %d KiB before, %+d KiB after; "
                  "SUnreclaim %+d KiB" % (usage0[0] >> 10, growth >> 10,
                                          (meminfo("SUnreclaim") - slab0)
                                          >> 10))
            t.ok(growth < SLAB_BOUND,
                 "kmalloc and skb slab caches within %d MiB of the start "
                 "after the namespace is gone" % (SLAB_BOUND >> 20),
                 "growth: %d KiB" % (growth >> 10))
            print("# skbuff_head_cache: %d objects before, %d after"
                  % (usage0[1], usage1[1]))
            t.ok(usage1[1] - usage0[1] < SKB_BOUND,
                 "skbuff_head_cache within %d objects of the start"
                 % SKB_BOUND, "before %d, after %d" % (usage0[1], usage1[1]))
    finally:
        for s in socks:
            s.close()
        netns_del(NETNS)
        ok, msg = homa_unload()
        t.ok(ok, "rmmod", msg)
    if have_kmemleak:
        # kmemleak only reports objects older than 5 s, seen unreferenced
        # by two scans.
        kmemleak("scan")
        time.sleep(6)
        kmemleak("scan")
        with open(KMEMLEAK) as f:
            leaks = leaked_objects(f.read())
        ours = [b for b in leaks if blames_homa(b, mod_range)]
        print("# kmemleak: %d object(s) reported, %d from homa"
              % (len(leaks), len(ours)))
        t.ok(not ours, "kmemleak: no leaked object was allocated by homa",
             *(ours[:10]))
    else:
        t.skip("kmemleak: no leaked object was allocated by homa",
               "this kernel has no kmemleak")
    print("# fuzz_test: %.0f s" % (time.monotonic() - t_start))
    return t.done()


def ip4_packet(src, homa):
    """An IPv4 header (HDRINCL: the kernel fills length and checksum) from
    src to 127.0.0.1, protocol 146, followed by homa."""
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 64, 146, 0,
                       socket.inet_aton(src),
                       socket.inet_aton("127.0.0.1")) + homa


def data_packet(dport, rpc_id, msg_len, data):
    """A DATA packet (homa_wire.h) at offset 0 from port 40000."""
    return (struct.pack(">HHI3sBBBHHHQ", 40000, dport, 0, bytes(3), 0x10,
                        14 << 4, 0, 0, 0, 0, rpc_id) +
            struct.pack(">IIQHHB3xI", msg_len, msg_len, 0, 0, 0, 0, 0) +
            data)


def inject(packets, expect_rcvd):
    """Send raw IPv4 packets and wait until the module has counted
    expect_rcvd more DATA packets; return the counter change."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    before = read_metrics()
    try:
        for i, pkt in enumerate(packets):
            raw.sendto(pkt, ("127.0.0.1", 0))
            if i % 100 == 99:
                wait_for(lambda n=i + 1: read_metrics()["pkts_rcvd_DATA"] -
                         before["pkts_rcvd_DATA"] >= n, 10)
    finally:
        raw.close()
    wait_for(lambda: read_metrics()["pkts_rcvd_DATA"] -
             before["pkts_rcvd_DATA"] >= expect_rcvd, 10)
    return metrics_delta(before, read_metrics())


def check_new_source(t):
    """A request from a source never seen before creates an RPC."""
    d = inject([ip4_packet("192.0.2.200",
                           data_packet(PORT4, 1 << 40, 10, b"0123456789"))],
               1)
    t.ok(d.get("server_rpcs") == 1 and not d.get("pkts_dropped_nomem"),
         "after the spray a request from a new source creates a server RPC",
         "counters: %s" % d)


def check_flood(t):
    """FLOOD 60000-byte packets, each the start of a new 1 MB request for
    a server whose buffers cannot hold any of them: the data of
    requests with no buffer must not be kept without bound."""
    server, region = homa_rcvbuf_socket(socket.AF_INET, 2, PORT_SMALL)
    try:
        drop_caches()
        avail0 = meminfo("MemAvailable")
        data = bytes(60000)
        d = inject((ip4_packet("192.0.2.201",
                               data_packet(PORT_SMALL, (1 << 41) + 2 * i,
                                           1000000, data))
                    for i in range(FLOOD)), FLOOD)
        drop_caches()
        held = avail0 - meminfo("MemAvailable")
        print("# flood: %s; %d RPCs, MemAvailable %+d KiB"
              % (d, homa_info(server)[1], -held >> 10))
        t.ok(held < FLOOD_BOUND,
             "%d x 60000 bytes of requests that find no buffer pin less "
             "than %d MiB" % (FLOOD, FLOOD_BOUND >> 20),
             "MemAvailable went down by %d KiB" % (held >> 10))
    finally:
        server.close()
        region.close()


def recv_response_nowait(rpc, timeout):
    """Poll for rpc's response for up to timeout seconds; (None, None) if
    it did not come."""
    deadline = time.monotonic() + timeout
    while True:
        r = homa_recvmsg(rpc.client, rpc_id=rpc.id, flags=socket.MSG_DONTWAIT)
        if r.ret >= 0:
            data = rpc.region.message(r)
            release(rpc, r.offsets)
            return r.ret, data
        if r.err != errno.EAGAIN:
            return r.ret, errno.errorcode.get(r.err, r.err)
        if time.monotonic() > deadline:
            return None, None
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
