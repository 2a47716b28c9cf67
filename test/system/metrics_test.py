#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""/proc/net/homa_metrics: format, socket counters and the receive path.

Packets are crafted by hand (layouts from homa_wire.h) and sent to
127.0.0.1 through a raw IPv4 socket of protocol 146, so the module's
receive handler sees them as if they came from another host (address
127.0.0.1, port SPORT, which no Homa socket has).  Every check compares
the exact change of every counter (the timer's RESENDs are switched off
with a large resend_ticks, so that they do not add to them):

- a packet shorter than its type's header adds one to pkts_dropped_short,
  an unknown type one to pkts_dropped_bad_type;
- a well-formed packet of type T adds one to pkts_rcvd_T and then, for a
  port with no socket, one to pkts_dropped_no_socket (DATA, RESEND and
  NEED_ACK, whose senders wait for an answer, are also answered with an
  ICMP port unreachable, seen on a raw ICMP socket);
- to a bound server socket: DATA with lengths or offsets out of range and
  an ACK with more than 5 acks count in pkts_dropped_bad_data, a GRANT or
  DATA for an RPC that does not exist in pkts_dropped_unknown_rpc, DATA
  already received in pkts_dropped_dup; NEED_ACK for a server id in
  pkts_dropped_bad_data; and, from a host the module has no peer for yet
  (only requests create peers), ACK, RESEND, RPC_UNKNOWN, BUSY, NEED_ACK,
  CUTOFFS and FREEZE in pkts_dropped_unknown_rpc;
- a well-formed request creates a server RPC (server_rpcs) whose message
  recvmsg returns with an odd id; its response goes back to SPORT, where
  it is dropped (pkts_dropped_no_socket) and the ICMP error ends the RPC
  (rpcs_icmp_aborted), after which a response for it sends nothing; a
  request longer than its unscheduled bytes is granted (grants_sent); one
  that finds no receive buffer waits for it (buffer_stalls); one for a
  socket that is not a server counts in pkts_dropped_no_server.

Counters are per network namespace.
"""

import errno
import select
import signal
import socket
import struct
import sys
import time

from homa_systest import (HOMA_BPAGE_SIZE, IPPROTO_HOMA, SO_HOMA_SERVER, InNetns, Region,
                          Tap, homa_info, homa_load, homa_rcvbuf_socket,
                          homa_recvmsg, homa_sendmsg, homa_socket,
                          homa_unload, metrics_delta, netns_add, netns_del,
                          read_metrics, set_rcvbuf, sock_port)

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
TYPE_NAMES = {ptype: name for name, ptype, _ in TYPES}
BAD_TYPES = (0x42, 0x0f, 0x19)
DATA, GRANT, ACK = 0x10, 0x11, 0x18
REQUIRED = (["sockets_created", "sockets_closed", "client_rpcs",
             "client_rpcs_done", "server_rpcs", "server_rpcs_acked",
             "grants_sent", "buffer_stalls", "rpcs_icmp_aborted",
             "data_pkts_resent", "resends_limited", "resends_too_soon",
             "resends_rx_lag", "rpc_timeouts",
             "client_rpc_restarts", "server_rpcs_unknown",
             "acks_piggybacked",
             "xmit_no_route", "xmit_nomem", "xmit_errors",
             "xmit_throttled", "xmit_deferred",
             "pkts_dropped_short", "pkts_dropped_bad_type",
             "pkts_dropped_bad_data", "pkts_dropped_no_socket",
             "pkts_dropped_no_server", "pkts_dropped_unknown_rpc",
             "pkts_dropped_dup", "pkts_dropped_nomem",
             "pkts_dropped_unhandled"] +
            ["pkts_rcvd_" + name for name, _, _ in TYPES] +
            ["pkts_sent_" + name for name, _, _ in TYPES])

SPORT = 999           # the injector's Homa port: no socket has it
NO_SOCKET_PORT = 100  # no socket has it either
# Types answered with ICMP port unreachable when no socket has the port.
ICMP_ANSWERED = ("DATA", "RESEND", "NEED_ACK")
SERVER_PORT = 4000    # a bound server socket with a receive buffer
STALL_PORT = 4001     # a bound server socket without a receive buffer
SENDER_ID = 1234      # even: the sender is a client

# Control packets to a server socket from 127.0.0.1 before any request
# from there: the module has no peer for that host (only requests create
# peers), so they name no RPC. A RESEND is still answered with RPC_UNKNOWN
# (through a transient peer: a client whose request never arrived must
# learn it); the answers for known peers are checked by the KUnit tests of
# the timer.
# (description, type, sender_id, expected counter changes).
CONTROL_CASES = [
    ("RESEND from a host without a peer counts in pkts_dropped_unknown_rpc "
     "and is answered with RPC_UNKNOWN (to the injector's port: no socket)",
     0x12, None, dict(pkts_rcvd_RESEND=1, pkts_dropped_unknown_rpc=1,
                      pkts_sent_RPC_UNKNOWN=1, pkts_rcvd_RPC_UNKNOWN=1,
                      pkts_dropped_no_socket=1)),
    ("RPC_UNKNOWN for an unknown RPC counts in pkts_dropped_unknown_rpc",
     0x13, None, dict(pkts_rcvd_RPC_UNKNOWN=1, pkts_dropped_unknown_rpc=1)),
    ("BUSY for an unknown RPC counts in pkts_dropped_unknown_rpc",
     0x14, None, dict(pkts_rcvd_BUSY=1, pkts_dropped_unknown_rpc=1)),
    ("NEED_ACK naming a server RPC counts in pkts_dropped_bad_data",
     0x17, None, dict(pkts_rcvd_NEED_ACK=1, pkts_dropped_bad_data=1)),
    ("NEED_ACK for a client RPC from a host without a peer counts in "
     "pkts_dropped_unknown_rpc", 0x17, SENDER_ID + 1,
     dict(pkts_rcvd_NEED_ACK=1, pkts_dropped_unknown_rpc=1)),
    ("CUTOFFS from a host without a peer counts in pkts_dropped_unknown_rpc",
     0x15, None, dict(pkts_rcvd_CUTOFFS=1, pkts_dropped_unknown_rpc=1)),
    ("FREEZE from a host without a peer counts in pkts_dropped_unknown_rpc",
     0x16, None, dict(pkts_rcvd_FREEZE=1, pkts_dropped_unknown_rpc=1)),
]
DATA_BYTES = 100
NUM_SOCKETS = 10
NETNS = "homa-metrics"


class Hang(Exception):
    """A call that should have returned by now was still blocked."""


def on_alarm(signum, frame):
    raise Hang("still blocked after 5 s")


def common_header(ptype, dport=NO_SOCKET_PORT, sender_id=SENDER_ID,
                  sequence=0):
    """The 28-byte common header (big-endian)."""
    doff = (14 if ptype == DATA else 5) << 4
    return struct.pack(">HHI3sBBBHHHQ", SPORT, dport, sequence, bytes(3),
                       ptype, doff, 0, 0, 0, 0, sender_id)


def data_packet(dport, msg_len, offset, data, sender_id=SENDER_ID,
                incoming=None):
    """A DATA packet carrying data at offset of a msg_len-byte message
    (incoming: the sender's promise, default the whole message)."""
    if incoming is None:
        incoming = msg_len
    return (common_header(DATA, dport, sender_id, offset) +
            struct.pack(">IIQHHB3xI", msg_len, incoming, 0, 0, 0, 0, offset) +
            data)


def ack_packet(dport, num_acks, acks=()):
    """An ACK packet; acks: (client_id, server_port) pairs (at most 5)."""
    body = b"".join(struct.pack(">QH", cid, port) for cid, port in acks)
    return (common_header(ACK, dport) + struct.pack(">H", num_acks) +
            body + bytes(50 - len(body)))


def packet(ptype, dport=NO_SOCKET_PORT, sender_id=SENDER_ID):
    """A well-formed packet of a type: its full header (DATA: plus data)."""
    if ptype == DATA:    # the whole message in one packet
        return data_packet(dport, DATA_BYTES, 0, bytes(range(DATA_BYTES)),
                           sender_id)
    h = common_header(ptype, dport, sender_id)
    if ptype == GRANT:   # offset, priority
        h += struct.pack(">IB", 10000, 0)
    elif ptype == 0x12:  # RESEND: offset, length (all), priority
        h += struct.pack(">IIB", 0, 0xffffffff, 0)
    elif ptype == 0x15:  # CUTOFFS: 8 cutoffs, version
        h += struct.pack(">8IH", 0, 0, 0, 0, 1000000, 15000, 2800, 200, 1)
    elif ptype == ACK:   # num_acks, 5 x {client_id, server_port}
        h += struct.pack(">H", 0) + bytes(5 * 10)
    return h


class Injector:
    """Sends raw Homa packets to 127.0.0.1 (in the current namespace) and
    sees the Homa packets that arrive there."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 146)

    def send(self, payload, count=1):
        for _ in range(count):
            self.sock.sendto(payload, ("127.0.0.1", 0))

    def drain(self):
        """Forget the packets received so far."""
        while select.select([self.sock], [], [], 0)[0]:
            self.sock.recv(70000)

    def wait_packet(self, match, timeout=2.0):
        """The Homa part of the first packet received for which
        match(homa_bytes) is true, or None after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            pkt = self.sock.recv(70000)
            homa = pkt[(pkt[0] & 0x0f) * 4:]
            if len(homa) >= 28 and match(homa):
                return homa

    def close(self):
        self.sock.close()


class IcmpSniffer:
    """Watches the ICMP port unreachable messages about Homa packets."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                                  socket.IPPROTO_ICMP)

    def drain(self):
        while select.select([self.sock], [], [], 0)[0]:
            self.sock.recv(70000)

    def collect(self, expected, timeout=2.0, linger=0.2):
        """(Homa type name, dport) of each port unreachable that quotes a
        Homa packet: wait until expected of them arrived (or timeout), then
        linger seconds more for any extra ones."""
        found = []
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if len(found) >= expected:
                deadline = min(deadline, now + linger)
            left = deadline - now
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return found
            pkt = self.sock.recv(70000)
            icmp = pkt[(pkt[0] & 0x0f) * 4:]
            if len(icmp) < 8 + 20 or icmp[0] != 3 or icmp[1] != 3:
                continue
            inner = icmp[8:]
            if inner[9] != 146:
                continue
            homa = inner[(inner[0] & 0x0f) * 4:]
            if len(homa) < 12:
                continue
            dport = struct.unpack_from(">H", homa, 2)[0]
            found.append((TYPE_NAMES.get(homa[11], hex(homa[11])), dport))

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


def recv_blocking(sock):
    """Blocking recvmsg, failing after 5 s instead of hanging."""
    signal.alarm(5)
    try:
        return homa_recvmsg(sock)
    finally:
        signal.alarm(0)


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


def check_no_socket(t, inj, icmp):
    """Packets to a port with no socket; malformed packets."""
    for name, ptype, _ in TYPES:
        pkt = packet(ptype)
        icmp.drain()
        check_delta(t, "%s (%d bytes) to a port with no socket counts in "
                    "pkts_rcvd_%s and pkts_dropped_no_socket"
                    % (name, len(pkt), name),
                    lambda p=pkt: inj.send(p),
                    {"pkts_rcvd_" + name: 1, "pkts_dropped_no_socket": 1})
        if name in ICMP_ANSWERED:
            t.is_(icmp.collect(1), [(name, NO_SOCKET_PORT)],
                  "that %s packet is answered with one ICMP port "
                  "unreachable (its sender waits for an answer)" % name)
            icmp.drain()
    t.is_(icmp.collect(0), [],
          "no ICMP port unreachable for the other types")
    for name, ptype, hlen in TYPES:
        short = packet(ptype)[:hlen - 1]
        check_delta(t, "%s of %d bytes (one short) counts in "
                    "pkts_dropped_short" % (name, hlen - 1),
                    lambda p=short: inj.send(p), {"pkts_dropped_short": 1})
    check_delta(t, "a 10-byte packet counts in pkts_dropped_short",
                lambda: inj.send(common_header(DATA)[:10]),
                {"pkts_dropped_short": 1})
    check_delta(t, "a 30-byte DATA packet counts in pkts_dropped_short",
                lambda: inj.send(packet(DATA)[:30]),
                {"pkts_dropped_short": 1})
    for ptype in BAD_TYPES:
        check_delta(t, "type 0x%02x counts in pkts_dropped_bad_type" % ptype,
                    lambda p=ptype: inj.send(common_header(p)),
                    {"pkts_dropped_bad_type": 1})
    check_delta(t, "5 GRANT packets add 5 to pkts_rcvd_GRANT and "
                "pkts_dropped_no_socket",
                lambda: inj.send(packet(GRANT), 5),
                {"pkts_rcvd_GRANT": 5, "pkts_dropped_no_socket": 5})


def check_bad_packets(t, inj):
    """Packets a bound server socket must not act on."""
    bad_data = {"pkts_rcvd_DATA": 1, "pkts_dropped_bad_data": 1}
    for desc, pkt in (
            ("message_length 0",
             data_packet(SERVER_PORT, 0, 0, b"hello")),
            ("offset 3 + 5 bytes beyond message_length 5",
             data_packet(SERVER_PORT, 5, 3, b"hello")),
            ("offset 5 at message_length 5",
             data_packet(SERVER_PORT, 5, 5, b"hello")),
            ("message_length 1000001",
             data_packet(SERVER_PORT, 1000001, 0, b"hello")),
            ("no data bytes", data_packet(SERVER_PORT, 5, 0, b""))):
        check_delta(t, "DATA to a server with %s counts in "
                    "pkts_dropped_bad_data" % desc,
                    lambda p=pkt: inj.send(p), bad_data)
    check_delta(t, "GRANT for an unknown server RPC counts in "
                "pkts_dropped_unknown_rpc",
                lambda: inj.send(packet(GRANT, SERVER_PORT, SENDER_ID)),
                {"pkts_rcvd_GRANT": 1, "pkts_dropped_unknown_rpc": 1})
    check_delta(t, "GRANT for an unknown client RPC counts in "
                "pkts_dropped_unknown_rpc",
                lambda: inj.send(packet(GRANT, SERVER_PORT, SENDER_ID + 1)),
                {"pkts_rcvd_GRANT": 1, "pkts_dropped_unknown_rpc": 1})
    check_delta(t, "DATA for an unknown client RPC counts in "
                "pkts_dropped_unknown_rpc",
                lambda: inj.send(packet(DATA, SERVER_PORT, SENDER_ID + 1)),
                {"pkts_rcvd_DATA": 1, "pkts_dropped_unknown_rpc": 1})
    check_delta(t, "ACK with num_acks 6 counts in pkts_dropped_bad_data",
                lambda: inj.send(ack_packet(SERVER_PORT, 6)),
                {"pkts_rcvd_ACK": 1, "pkts_dropped_bad_data": 1})
    check_delta(t, "ACK from a host without a peer counts in "
                "pkts_dropped_unknown_rpc",
                lambda: inj.send(ack_packet(SERVER_PORT, 1,
                                            [(SENDER_ID, SERVER_PORT)])),
                {"pkts_rcvd_ACK": 1, "pkts_dropped_unknown_rpc": 1})
    for desc, ptype, sender_id, expected in CONTROL_CASES:
        check_delta(t, desc,
                    lambda p=ptype, i=sender_id or SENDER_ID:
                    inj.send(packet(p, SERVER_PORT, i)),
                    expected)


def check_requests(t, inj, icmp, server, region, keep):
    """Requests injected to server sockets, and a response."""
    peer = ("127.0.0.1", SPORT)

    # A single-packet request, received, then a duplicate, then answered.
    req_id = 2000
    request = data_packet(SERVER_PORT, 5, 0, b"hello", req_id)
    check_delta(t, "a 5-byte request to a server creates one server RPC",
                lambda: inj.send(request),
                {"pkts_rcvd_DATA": 1, "server_rpcs": 1})
    r = recv_blocking(server)
    t.is_((r.ret, r.err, r.id, r.addr, region.message(r)),
          (5, 0, req_id + 1, peer, b"hello"),
          "recvmsg returns the request: 5 bytes, odd id (client id + 1), "
          "from 127.0.0.1:%d" % SPORT)
    t.is_(homa_info(server)[1], 1, "HOMAIOCINFO: the server has 1 RPC")
    check_delta(t, "the same request again counts in pkts_dropped_dup",
                lambda: inj.send(request),
                {"pkts_rcvd_DATA": 1, "pkts_dropped_dup": 1})
    inj.drain()
    sent = []
    check_delta(t, "the response goes to 127.0.0.1:%d, finds no socket, and "
                "the ICMP error ends the server RPC" % SPORT,
                lambda: sent.append(homa_sendmsg(server, b"world!", peer,
                                                 rpc_id=req_id + 1)),
                {"pkts_sent_DATA": 1, "pkts_rcvd_DATA": 1,
                 "pkts_dropped_no_socket": 1, "rpcs_icmp_aborted": 1})
    t.is_((sent[0].ret, sent[0].err, sent[0].id), (0, 0, req_id + 1),
          "sendmsg of the response returns 0")
    pkt = inj.wait_packet(lambda h: h[11] == DATA and
                          struct.unpack_from(">H", h)[0] == SERVER_PORT)
    fields = None
    if pkt is not None and len(pkt) >= 56:
        fields = (struct.unpack_from(">HHI3xBB", pkt) +
                  struct.unpack_from(">QII", pkt, 20) +
                  struct.unpack_from(">I", pkt, 52) + (pkt[56:],))
    t.is_(fields, (SERVER_PORT, SPORT, 0, DATA, 14 << 4, req_id + 1, 6, 6, 0,
                   b"world!"),
          "the response on the wire: ports, DATA, doff 14, server id, "
          "message_length 6, incoming 6, offset 0, payload")
    t.is_(homa_info(server)[1], 0, "HOMAIOCINFO: the server has no RPC left")
    sent = []
    check_delta(t, "a response for that ended RPC sends nothing",
                lambda: sent.append(homa_sendmsg(server, b"again", peer,
                                                 rpc_id=req_id + 1)), {})
    t.is_((sent[0].ret, sent[0].err), (0, 0),
          "and sendmsg returns 0 for it")

    # A request longer than its unscheduled bytes is granted.
    req_id = 2002
    first = data_packet(SERVER_PORT, 10, 0, b"01234", req_id, incoming=5)
    check_delta(t, "the first half of a 10-byte request with incoming 5 "
                "creates an RPC and a GRANT (to a port with no socket)",
                lambda: inj.send(first),
                {"pkts_rcvd_DATA": 1, "server_rpcs": 1, "grants_sent": 1,
                 "pkts_sent_GRANT": 1, "pkts_rcvd_GRANT": 1,
                 "pkts_dropped_no_socket": 1})
    check_delta(t, "the first half again counts in pkts_dropped_dup",
                lambda: inj.send(first),
                {"pkts_rcvd_DATA": 1, "pkts_dropped_dup": 1})
    check_delta(t, "the second half completes the request",
                lambda: inj.send(data_packet(SERVER_PORT, 10, 5, b"56789",
                                             req_id, incoming=10)),
                {"pkts_rcvd_DATA": 1})
    r = recv_blocking(server)
    t.is_((r.ret, r.err, r.id, r.addr, region.message(r)),
          (10, 0, req_id + 1, peer, b"0123456789"),
          "recvmsg returns the 10-byte request")

    # A request that finds no receive buffer waits for one.
    req_id = 2004
    stall = homa_socket()
    keep.append(stall)
    stall.bind(("0.0.0.0", STALL_PORT))
    check_delta(t, "a request to a server without a receive buffer counts "
                "in buffer_stalls",
                lambda: inj.send(data_packet(STALL_PORT, 5, 0, b"stall",
                                             req_id)),
                {"pkts_rcvd_DATA": 1, "server_rpcs": 1, "buffer_stalls": 1})
    r = homa_recvmsg(stall, flags=socket.MSG_DONTWAIT)
    t.is_((r.ret, errno.errorcode.get(r.err), homa_info(stall)[1]),
          (-1, "EAGAIN", 1),
          "recvmsg(MSG_DONTWAIT) -> EAGAIN while it waits; the RPC exists")
    stall_region = Region(2 * HOMA_BPAGE_SIZE)
    keep.append(stall_region)
    set_rcvbuf(stall, stall_region.start, stall_region.length)
    r = recv_blocking(stall)
    t.is_((r.ret, r.err, r.id, stall_region.message(r)),
          (5, 0, req_id + 1, b"stall"),
          "after SO_HOMA_RCVBUF recvmsg returns it")

    # A socket that is not a server (automatic port, no SO_HOMA_SERVER).
    req_id = 2006
    client, client_region = homa_rcvbuf_socket()
    keep += [client, client_region]
    cport = sock_port(client)
    icmp.drain()
    check_delta(t, "a request to a socket that is not a server counts in "
                "pkts_dropped_no_server",
                lambda: inj.send(data_packet(cport, 5, 0, b"hello", req_id)),
                {"pkts_rcvd_DATA": 1, "pkts_dropped_no_server": 1})
    t.is_(icmp.collect(1), [("DATA", cport)],
          "it is answered with one ICMP port unreachable")
    client.setsockopt(IPPROTO_HOMA, SO_HOMA_SERVER, 1)
    check_delta(t, "after SO_HOMA_SERVER the same request creates an RPC",
                lambda: inj.send(data_packet(cport, 5, 0, b"hello", req_id)),
                {"pkts_rcvd_DATA": 1, "server_rpcs": 1})
    r = recv_blocking(client)
    t.is_((r.ret, r.err, r.id, client_region.message(r)),
          (5, 0, req_id + 1, b"hello"), "and recvmsg returns it")


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
                inj.send(packet(DATA))
                inj.send(packet(ACK)[:20])
                inj.send(common_header(0x42))
                inj.close()
                for _ in range(3):
                    homa_socket().close()

            check_delta(t, "packets and sockets in the namespace count there",
                        traffic,
                        {"pkts_rcvd_DATA": 1, "pkts_dropped_no_socket": 1,
                         "pkts_dropped_short": 1, "pkts_dropped_bad_type": 1,
                         "sockets_created": 3, "sockets_closed": 3})
        delta = metrics_delta(home_before, read_metrics())
        t.ok(not delta, "the initial namespace's counters did not change",
             "change: %s" % delta)
    finally:
        netns_del(NETNS)


def main():
    signal.signal(signal.SIGALRM, on_alarm)
    try:
        homa_load()
    except RuntimeError as e:
        t = Tap(1)
        t.ok(False, "insmod", str(e))
        return t.done()
    # Exact counter changes: the retransmission timer must not ask for
    # the missing half of a request while the test looks at counters.
    for name, value in (("resend_ticks", 100000), ("timeout_ticks", 10000000),
                        ("request_ack_ticks", 100000)):
        with open("/proc/sys/net/homa/" + name, "w") as f:
            f.write(str(value))
    t = Tap(2 + 2 + (len(TYPES) + len(ICMP_ANSWERED) + 1) + len(TYPES) + 2 +
            len(BAD_TYPES) + 1 +
            (5 + 3 + 2 + len(CONTROL_CASES)) + 21 + 3 + 1)
    inj = Injector()
    icmp = IcmpSniffer()
    keep = []
    try:
        check_format(t)
        check_sockets(t)
        check_no_socket(t, inj, icmp)
        server, region = homa_rcvbuf_socket(port=SERVER_PORT)
        keep += [server, region]
        check_bad_packets(t, inj)
        check_requests(t, inj, icmp, server, region, keep)
        check_namespace(t)
    finally:
        for obj in keep:
            obj.close()
        inj.close()
        icmp.close()
        ok, msg = homa_unload()
        t.ok(ok, "rmmod", msg)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
