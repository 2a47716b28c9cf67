#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""/proc/net/homa_metrics: format, socket counters and the receive path.

Packets are crafted by hand (layouts from homa_wire.h) and sent to
127.0.0.1 through a raw IPv4 socket of protocol 146, so the module's
receive handler sees them as if they came from another host.  Every
check compares the exact change of every counter: a well-formed packet
of type T adds one to pkts_rcvd_T and, as the skeleton has no RPC layer
yet, one to pkts_dropped_unhandled; a packet shorter than its type's
header adds one to pkts_dropped_short; an unknown type adds one to
pkts_dropped_bad_type.  Counters are per network namespace.
"""

import socket
import struct
import sys
import time

from homa_systest import (InNetns, Tap, homa_load, homa_socket, homa_unload,
                          metrics_delta, netns_add, netns_del, read_metrics)

# (name, type value, header length) from homa_wire.h.
TYPES = [
    ("DATA", 0x10, 56),
    ("GRANT", 0x11, 33),
    ("RESEND", 0x12, 37),
    ("RPC_UNKNOWN", 0x13, 28),
    ("BUSY", 0x14, 28),
    ("CUTOFFS", 0x15, 62),
    ("FREEZE", 0x16, 28),
    ("NEED_ACK", 0x17, 28),
    ("ACK", 0x18, 80),
]
BAD_TYPES = (0x42, 0x0f, 0x19)
REQUIRED = (["sockets_created", "sockets_closed", "pkts_dropped_short",
             "pkts_dropped_bad_type", "pkts_dropped_unhandled"] +
            ["pkts_rcvd_" + name for name, _, _ in TYPES])

SPORT, DPORT, SENDER_ID = 0x8001, 100, 1234
DATA_BYTES = 100
NUM_SOCKETS = 10
NETNS = "homa-metrics"


def common_header(ptype):
    """The 28-byte common header (big-endian)."""
    doff = (14 if ptype == 0x10 else 5) << 4
    return struct.pack(">HHI3sBBBHHHQ", SPORT, DPORT, 0, bytes(3), ptype,
                       doff, 0, 0, 0, 0, SENDER_ID)


def packet(ptype):
    """A well-formed packet of a type: its full header (DATA: plus data)."""
    h = common_header(ptype)
    if ptype == 0x10:    # DATA: the whole message in one packet
        h += struct.pack(">IIQHHB3xI", DATA_BYTES, DATA_BYTES, 0, 0, 0, 0, 0)
        h += bytes(range(DATA_BYTES))
    elif ptype == 0x11:  # GRANT: offset, priority
        h += struct.pack(">IB", 10000, 0)
    elif ptype == 0x12:  # RESEND: offset, length (all), priority
        h += struct.pack(">IIB", 0, 0xffffffff, 0)
    elif ptype == 0x15:  # CUTOFFS: 8 cutoffs, version
        h += struct.pack(">8IH", 0, 0, 0, 0, 1000000, 15000, 2800, 200, 1)
    elif ptype == 0x18:  # ACK: num_acks, 5 x {client_id, server_port}
        h += struct.pack(">H", 0) + bytes(5 * 10)
    return h


class Injector:
    """Sends raw Homa packets to 127.0.0.1 (in the current namespace)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 146)

    def send(self, payload, count=1):
        for _ in range(count):
            self.sock.sendto(payload, ("127.0.0.1", 0))

    def close(self):
        self.sock.close()


def wait_delta(before, expected, timeout=3.0):
    """Read the metrics until their change from before equals expected
    (delivery to the handler may finish after sendto returns) or the
    timeout passes; return (matched, actual change)."""
    deadline = time.monotonic() + timeout
    while True:
        delta = metrics_delta(before, read_metrics())
        if delta == expected:
            return True, delta
        overshoot = any(delta.get(k, 0) > v for k, v in expected.items())
        extra = any(k not in expected for k in delta)
        if overshoot or extra or time.monotonic() > deadline:
            return False, delta
        time.sleep(0.05)


def check_delta(t, desc, action, expected):
    """Run action() and check the exact change of every counter."""
    before = read_metrics()
    action()
    ok, delta = wait_delta(before, expected)
    t.ok(ok, desc, "expected change: %s" % expected, "actual change:   %s" % delta)


def check_format(t):
    try:
        metrics = read_metrics()
    except (OSError, ValueError) as e:
        t.ok(False, "every line is 'name value  # description'", str(e))
        metrics = {}
    else:
        t.ok(True, "every line is 'name value  # description'")
    missing = [name for name in REQUIRED if name not in metrics]
    t.ok(not missing, "the required counters are present",
         "missing: %s" % missing)


def check_sockets(t):
    socks = []

    def create():
        for i in range(NUM_SOCKETS):
            socks.append(homa_socket(socket.AF_INET if i % 2 else
                                     socket.AF_INET6))

    def close():
        for s in socks:
            s.close()

    check_delta(t, "creating %d sockets adds %d to sockets_created"
                % (NUM_SOCKETS, NUM_SOCKETS), create,
                {"sockets_created": NUM_SOCKETS})
    check_delta(t, "closing them adds %d to sockets_closed" % NUM_SOCKETS,
                close, {"sockets_closed": NUM_SOCKETS})


def check_packets(t, inj):
    for name, ptype, hlen in TYPES:
        pkt = packet(ptype)
        check_delta(t, "%s (%d bytes) counts in pkts_rcvd_%s and "
                    "pkts_dropped_unhandled" % (name, len(pkt), name),
                    lambda p=pkt: inj.send(p),
                    {"pkts_rcvd_" + name: 1, "pkts_dropped_unhandled": 1})
    for name, ptype, hlen in TYPES:
        short = packet(ptype)[:hlen - 1]
        check_delta(t, "%s of %d bytes (one short) counts in "
                    "pkts_dropped_short" % (name, hlen - 1),
                    lambda p=short: inj.send(p), {"pkts_dropped_short": 1})
    check_delta(t, "a 10-byte packet counts in pkts_dropped_short",
                lambda: inj.send(common_header(0x10)[:10]),
                {"pkts_dropped_short": 1})
    check_delta(t, "a 30-byte DATA packet counts in pkts_dropped_short",
                lambda: inj.send(packet(0x10)[:30]),
                {"pkts_dropped_short": 1})
    for ptype in BAD_TYPES:
        check_delta(t, "type 0x%02x counts in pkts_dropped_bad_type" % ptype,
                    lambda p=ptype: inj.send(common_header(p)),
                    {"pkts_dropped_bad_type": 1})
    check_delta(t, "5 GRANT packets add 5 to pkts_rcvd_GRANT",
                lambda: inj.send(packet(0x11), 5),
                {"pkts_rcvd_GRANT": 5, "pkts_dropped_unhandled": 5})


def check_namespace(t):
    """Counters of another namespace start at 0 and move independently."""
    home_before = read_metrics()
    netns_add(NETNS)
    try:
        with InNetns(NETNS):
            start = read_metrics()
            nonzero = {k: v for k, v in start.items() if v}
            t.ok(not nonzero, "a new namespace's counters start at 0",
                 "non-zero: %s" % nonzero)

            def traffic():
                inj = Injector()
                inj.send(packet(0x10))
                inj.send(packet(0x18)[:20])
                inj.send(common_header(0x42))
                inj.close()
                for _ in range(3):
                    homa_socket().close()

            check_delta(t, "packets and sockets in the namespace count there",
                        traffic,
                        {"pkts_rcvd_DATA": 1, "pkts_dropped_unhandled": 1,
                         "pkts_dropped_short": 1, "pkts_dropped_bad_type": 1,
                         "sockets_created": 3, "sockets_closed": 3})
        delta = metrics_delta(home_before, read_metrics())
        t.ok(not delta, "the initial namespace's counters did not change",
             "change: %s" % delta)
    finally:
        netns_del(NETNS)


def main():
    try:
        homa_load()
    except RuntimeError as e:
        t = Tap(1)
        t.ok(False, "insmod", str(e))
        return t.done()
    t = Tap(2 + 2 + 2 * len(TYPES) + 2 + len(BAD_TYPES) + 1 + 3 + 1)
    inj = Injector()
    try:
        check_format(t)
        check_sockets(t)
        check_packets(t, inj)
        check_namespace(t)
    finally:
        inj.close()
        ok, msg = homa_unload()
        t.ok(ok, "rmmod", msg)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
