#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Socket calls: sendmsg/recvmsg argument handling, socket options and
ioctls.

sendmsg needs a struct homa_sendmsg_args passed as a bare user pointer
(msg_control set, msg_controllen 0): without msg_control, or with a
msg_controllen that makes the kernel copy it, it fails with EINVAL.  A
request to a loopback port with no socket is accepted (id written back,
even) and then fails: recvmsg returns -1/ENOTCONN with that id.  recvmsg
needs msg_controllen == sizeof(struct homa_recvmsg_args) (EINVAL
otherwise); with nothing ready and MSG_DONTWAIT it fails with EAGAIN; a
blocked recvmsg is woken by shutdown() with ESHUTDOWN, and later calls
fail with ESHUTDOWN too.  connect, listen and accept are EOPNOTSUPP.
SO_HOMA_RCVBUF reads as 16 zero bytes until set; it takes a page-aligned
region of at least 2 bpages, once, and reads back with the length rounded
down to whole bpages.  SO_HOMA_SERVER can be set and read back (as 0 or
1); a wrong option length is EINVAL, an unknown option ENOPROTOOPT.
HOMAIOCINFO reports the port and no RPCs; HOMAIOCABORT of id 0 succeeds,
an unknown id or non-zero padding is EINVAL.
"""

import errno
import signal
import socket
import struct
import sys
import threading
import time

from homa_systest import (HOMA_BPAGE_SIZE, IPPROTO_HOMA,
                          SIZEOF_HOMA_RECVMSG_ARGS, SIZEOF_HOMA_SENDMSG_ARGS,
                          SO_HOMA_RCVBUF, SO_HOMA_SERVER, Region, Tap,
                          get_rcvbuf, homa_abort, homa_bpool_avail, homa_info,
                          homa_load, homa_recvmsg, homa_sendmsg, homa_socket,
                          homa_unload, set_rcvbuf, sock_port)

V4, V6 = socket.AF_INET, socket.AF_INET6
FAMILIES = {V4: "IPv4", V6: "IPv6"}
# Nobody serves port 100: requests sent there fail with ENOTCONN.
PEER = {V4: ("127.0.0.1", 100), V6: ("::1", 100)}
UNKNOWN_OPT = 99
PER_FAMILY = 60
RCVBUF_BPAGES = 3


class Hang(Exception):
    """A call that should have returned by now was still blocked."""


def on_alarm(signum, frame):
    raise Hang("still blocked after 5 s")


def no_hang(func):
    """Run func(), turning a hang of more than 5 s into an exception."""
    def wrapper():
        signal.alarm(5)
        try:
            return func()
        finally:
            signal.alarm(0)
    return wrapper


def server_opt(sock):
    return sock.getsockopt(IPPROTO_HOMA, SO_HOMA_SERVER)


def err_name(err):
    return errno.errorcode.get(err, str(err)) if err else "-"


def check_messages(t, fam, name):
    """sendmsg/recvmsg argument handling and a request that fails."""
    s = homa_socket(fam)
    try:
        t.errno_is("%s: sendto (no msg_control) -> EINVAL" % name,
                   no_hang(lambda: s.sendto(b"request", PEER[fam])),
                   errno.EINVAL)
        t.errno_is("%s: sendmsg without msg_control -> EINVAL" % name,
                   no_hang(lambda: s.sendmsg([b"request"], [], 0, PEER[fam])),
                   errno.EINVAL)
        r = homa_sendmsg(s, b"request", PEER[fam],
                         controllen=SIZEOF_HOMA_SENDMSG_ARGS)
        t.is_((r.ret, err_name(r.err), r.id), (-1, "EINVAL", 0),
              "%s: sendmsg with msg_controllen %d (args copied by the "
              "kernel) -> EINVAL, id untouched"
              % (name, SIZEOF_HOMA_SENDMSG_ARGS))

        # A request to a port nobody serves: accepted, then failed by the
        # ICMP port unreachable that comes back.
        r = homa_sendmsg(s, b"request", PEER[fam], cookie=77)
        rpc_id = r.id
        t.ok(r.ret == 0 and r.id != 0 and r.id % 2 == 0,
             "%s: sendmsg of a request to port %d returns 0 and an even id"
             % (name, PEER[fam][1]), repr(r))
        rr = no_hang(lambda: homa_recvmsg(s))()
        t.is_((rr.ret, err_name(rr.err), rr.id, rr.cookie, rr.offsets),
              (-1, "ENOTCONN", rpc_id, 77, []),
              "%s: recvmsg reports that RPC as -1/ENOTCONN with its id and "
              "completion cookie" % name)

        for length in (0, SIZEOF_HOMA_RECVMSG_ARGS - 1,
                       SIZEOF_HOMA_RECVMSG_ARGS + 1):
            rr = homa_recvmsg(s, controllen=length,
                              flags=socket.MSG_DONTWAIT)
            t.is_((rr.ret, err_name(rr.err)), (-1, "EINVAL"),
                  "%s: recvmsg with msg_controllen %d -> EINVAL"
                  % (name, length))
        t.errno_is("%s: recvmsg without msg_control -> EINVAL" % name,
                   no_hang(lambda: s.recvmsg(1000)), errno.EINVAL)
        rr = homa_recvmsg(s, rpc_id=5, flags=socket.MSG_DONTWAIT)
        t.is_((rr.ret, err_name(rr.err)), (-1, "EINVAL"),
              "%s: recvmsg for an odd id -> EINVAL" % name)
        rr = homa_recvmsg(s, reserved=1, flags=socket.MSG_DONTWAIT)
        t.is_((rr.ret, err_name(rr.err)), (-1, "EINVAL"),
              "%s: recvmsg with reserved != 0 -> EINVAL" % name)
        rr = homa_recvmsg(s, flags=socket.MSG_DONTWAIT)
        t.is_((rr.ret, err_name(rr.err), rr.id), (-1, "EAGAIN", 0),
              "%s: recvmsg(MSG_DONTWAIT) with nothing ready -> EAGAIN"
              % name)
        r = homa_sendmsg(s, b"x", PEER[fam], flags=2)
        t.is_((r.ret, err_name(r.err)), (-1, "EINVAL"),
              "%s: sendmsg with unknown flag bits -> EINVAL" % name)
        r = homa_sendmsg(s, b"", PEER[fam])
        t.is_((r.ret, err_name(r.err)), (-1, "EINVAL"),
              "%s: sendmsg of an empty message -> EINVAL" % name)
        _, num_rpcs, _ = homa_info(s)
        t.is_(num_rpcs, 0, "%s: HOMAIOCINFO: no RPC left after the failed "
              "request was received" % name)
    finally:
        s.close()

    # shutdown() wakes a blocked recvmsg; later calls fail too.
    s = homa_socket(fam)
    try:
        timer = threading.Timer(0.3, lambda: s.shutdown(socket.SHUT_RDWR))
        start = time.monotonic()
        timer.start()
        try:
            rr = no_hang(lambda: homa_recvmsg(s))()
        finally:
            timer.cancel()
            timer.join()
        waited = time.monotonic() - start
        t.ok(rr.ret == -1 and rr.err == errno.ESHUTDOWN and waited >= 0.25,
             "%s: a blocked recvmsg returns ESHUTDOWN when the socket is "
             "shut down" % name, repr(rr), "returned after %.2f s" % waited)
        rr = homa_recvmsg(s, flags=socket.MSG_DONTWAIT)
        t.is_((rr.ret, err_name(rr.err)), (-1, "ESHUTDOWN"),
              "%s: recvmsg after shutdown -> ESHUTDOWN" % name)
        r = homa_sendmsg(s, b"request", PEER[fam])
        t.is_((r.ret, err_name(r.err), r.id), (-1, "ESHUTDOWN", 0),
              "%s: sendmsg after shutdown -> ESHUTDOWN" % name)
    finally:
        s.close()


def check_rcvbuf(t, fam, name, keep):
    """SO_HOMA_RCVBUF."""
    s = homa_socket(fam)
    keep.append(s)
    region = Region((RCVBUF_BPAGES + 1) * HOMA_BPAGE_SIZE)
    keep.append(region)
    start = region.start
    t.is_(s.getsockopt(IPPROTO_HOMA, SO_HOMA_RCVBUF, 16), bytes(16),
          "%s: getsockopt SO_HOMA_RCVBUF returns 16 zero bytes before any "
          "set" % name)
    t.is_(homa_bpool_avail(s), 0,
          "%s: HOMAIOCINFO bpool_avail_bytes is 0 without a region" % name)
    # A valid region followed by zeros, cut to the option length.
    value = struct.pack("=QQ", start, 2 * HOMA_BPAGE_SIZE) + bytes(8)
    for length in (8, 15, 17, 24):
        t.errno_is("%s: setsockopt SO_HOMA_RCVBUF with optlen %d -> EINVAL"
                   % (name, length),
                   lambda n=length: s.setsockopt(IPPROTO_HOMA, SO_HOMA_RCVBUF,
                                                 value[:n]),
                   errno.EINVAL)
    t.errno_is("%s: SO_HOMA_RCVBUF with a start that is not page-aligned "
               "-> EINVAL" % name,
               lambda: set_rcvbuf(s, start + 8, 2 * HOMA_BPAGE_SIZE),
               errno.EINVAL)
    t.errno_is("%s: SO_HOMA_RCVBUF of 1 bpage -> EINVAL" % name,
               lambda: set_rcvbuf(s, start, HOMA_BPAGE_SIZE), errno.EINVAL)
    t.errno_is("%s: SO_HOMA_RCVBUF of 2 bpages less 1 byte -> EINVAL" % name,
               lambda: set_rcvbuf(s, start, 2 * HOMA_BPAGE_SIZE - 1),
               errno.EINVAL)
    t.errno_is("%s: SO_HOMA_RCVBUF of length 0 -> EINVAL" % name,
               lambda: set_rcvbuf(s, start, 0), errno.EINVAL)
    t.errno_is("%s: SO_HOMA_RCVBUF in kernel space -> EFAULT" % name,
               lambda: set_rcvbuf(s, 0xffff888000000000,
                                  2 * HOMA_BPAGE_SIZE), errno.EFAULT)
    t.is_(get_rcvbuf(s), (0, 0),
          "%s: SO_HOMA_RCVBUF still reads (0, 0) after the rejected calls"
          % name)
    t.succeeds("%s: SO_HOMA_RCVBUF of %d bpages + 1000 bytes at a page-"
               "aligned mmap succeeds" % (name, RCVBUF_BPAGES),
               lambda: set_rcvbuf(s, start,
                                  RCVBUF_BPAGES * HOMA_BPAGE_SIZE + 1000))
    t.is_(get_rcvbuf(s), (start, RCVBUF_BPAGES * HOMA_BPAGE_SIZE),
          "%s: SO_HOMA_RCVBUF reads back (start, length rounded down to "
          "whole bpages)" % name)
    t.is_(homa_bpool_avail(s), RCVBUF_BPAGES * HOMA_BPAGE_SIZE,
          "%s: HOMAIOCINFO bpool_avail_bytes is the whole region" % name)
    t.errno_is("%s: a second SO_HOMA_RCVBUF -> EINVAL" % name,
               lambda: set_rcvbuf(s, start, 2 * HOMA_BPAGE_SIZE),
               errno.EINVAL)
    t.is_(get_rcvbuf(s), (start, RCVBUF_BPAGES * HOMA_BPAGE_SIZE),
          "%s: SO_HOMA_RCVBUF unchanged by the second set" % name)
    t.errno_is("%s: getsockopt SO_HOMA_RCVBUF with optlen 8 -> EINVAL"
               % name,
               lambda: s.getsockopt(IPPROTO_HOMA, SO_HOMA_RCVBUF, 8),
               errno.EINVAL)
    return s


def check_family(t, fam, keep):
    name = FAMILIES[fam]
    check_messages(t, fam, name)
    s = check_rcvbuf(t, fam, name, keep)

    # Homa has no connections.
    t.errno_is("%s: connect -> EOPNOTSUPP" % name,
               no_hang(lambda: s.connect(PEER[fam])), errno.EOPNOTSUPP)
    t.errno_is("%s: listen -> EOPNOTSUPP" % name,
               no_hang(lambda: s.listen(5)), errno.EOPNOTSUPP)
    t.errno_is("%s: accept -> EOPNOTSUPP" % name,
               no_hang(s.accept), errno.EOPNOTSUPP)

    # SO_HOMA_SERVER.
    t.is_(server_opt(s), 0, "%s: SO_HOMA_SERVER is 0 on a new socket" % name)
    for value, expect in ((1, 1), (0, 0), (7, 1), (-1, 1)):
        t.succeeds("%s: setsockopt SO_HOMA_SERVER %d succeeds" % (name, value),
                   lambda v=value: s.setsockopt(IPPROTO_HOMA, SO_HOMA_SERVER,
                                                v))
        t.is_(server_opt(s), expect,
              "%s: SO_HOMA_SERVER %d reads back as %d" % (name, value, expect))
    for length in (0, 2, 8):
        t.errno_is("%s: setsockopt SO_HOMA_SERVER with optlen %d -> EINVAL"
                   % (name, length),
                   lambda n=length: s.setsockopt(IPPROTO_HOMA, SO_HOMA_SERVER,
                                                 bytes(n)),
                   errno.EINVAL)
    t.is_(server_opt(s), 1,
          "%s: SO_HOMA_SERVER unchanged by the rejected calls" % name)
    t.errno_is("%s: setsockopt of an unknown option -> ENOPROTOOPT" % name,
               lambda: s.setsockopt(IPPROTO_HOMA, UNKNOWN_OPT, 1),
               errno.ENOPROTOOPT)
    t.errno_is("%s: getsockopt of an unknown option -> ENOPROTOOPT" % name,
               lambda: s.getsockopt(IPPROTO_HOMA, UNKNOWN_OPT),
               errno.ENOPROTOOPT)

    # ioctls.
    port, num_rpcs, _ = homa_info(s)
    t.is_((port, num_rpcs), (sock_port(s), 0),
          "%s: HOMAIOCINFO reports (port, num_rpcs) = (getsockname port, 0)"
          % name)
    t.check("%s: HOMAIOCABORT with id 0 returns 0" % name,
            lambda: homa_abort(s, 0) == 0)
    t.errno_is("%s: HOMAIOCABORT with an unknown id -> EINVAL" % name,
               lambda: homa_abort(s, 1 << 40), errno.EINVAL)
    t.errno_is("%s: HOMAIOCABORT with _pad1 != 0 -> EINVAL" % name,
               lambda: homa_abort(s, 0, pad1=1), errno.EINVAL)
    t.errno_is("%s: HOMAIOCABORT with _pad2[0] != 0 -> EINVAL" % name,
               lambda: homa_abort(s, 0, pad2=(1, 0)), errno.EINVAL)
    t.errno_is("%s: HOMAIOCABORT with _pad2[1] != 0 -> EINVAL" % name,
               lambda: homa_abort(s, 0, pad2=(0, 1)), errno.EINVAL)


def main():
    signal.signal(signal.SIGALRM, on_alarm)
    try:
        homa_load()
    except RuntimeError as e:
        t = Tap(1)
        t.ok(False, "insmod", str(e))
        return t.done()
    t = Tap(2 * PER_FAMILY + 1)
    keep = []
    try:
        for fam in FAMILIES:
            check_family(t, fam, keep)
    finally:
        for obj in keep:
            obj.close()
        ok, msg = homa_unload()
        t.ok(ok, "rmmod after all sockets are closed", msg)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
