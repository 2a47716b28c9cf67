#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Socket calls of the module skeleton: options, ioctls and the calls that
are not implemented yet.

Calls without an implementation must fail with EOPNOTSUPP, never succeed
silently: sendmsg, recvmsg, connect, listen, accept and setsockopt
SO_HOMA_RCVBUF.  SO_HOMA_SERVER can be set and read back (as 0 or 1); a
wrong option length is EINVAL, an unknown option ENOPROTOOPT.
getsockopt SO_HOMA_RCVBUF returns 16 zero bytes while no region is set.
HOMAIOCINFO reports the port and no RPCs; HOMAIOCABORT of id 0 succeeds,
any other id or non-zero padding is EINVAL.
"""

import ctypes
import errno
import mmap
import signal
import socket
import struct
import sys

from homa_systest import (HOMA_BPAGE_SIZE, IPPROTO_HOMA, SO_HOMA_RCVBUF,
                          SO_HOMA_SERVER, Tap, homa_abort, homa_info,
                          homa_load, homa_socket, homa_unload, sock_port)

V4, V6 = socket.AF_INET, socket.AF_INET6
FAMILIES = {V4: "IPv4", V6: "IPv6"}
PEER = {V4: ("127.0.0.1", 100), V6: ("::1", 100)}
UNKNOWN_OPT = 99
PER_FAMILY = 30


class Hang(Exception):
    """A call that should have failed at once was still blocked."""


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


def rcvbuf_region():
    """An anonymous mapping and a bpage-aligned 4-bpage region inside it."""
    region = mmap.mmap(-1, 5 * HOMA_BPAGE_SIZE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(region))
    start = (addr + HOMA_BPAGE_SIZE - 1) & ~(HOMA_BPAGE_SIZE - 1)
    return region, struct.pack("=QQ", start, 4 * HOMA_BPAGE_SIZE)


def server_opt(sock):
    return sock.getsockopt(IPPROTO_HOMA, SO_HOMA_SERVER)


def check_family(t, fam, keep):
    name = FAMILIES[fam]
    s = homa_socket(fam)
    keep.append(s)

    # Not implemented yet: must fail, not succeed silently.
    t.errno_is("%s: sendto -> EOPNOTSUPP" % name,
               no_hang(lambda: s.sendto(b"request", PEER[fam])),
               errno.EOPNOTSUPP)
    t.errno_is("%s: sendmsg -> EOPNOTSUPP" % name,
               no_hang(lambda: s.sendmsg([b"request"], [], 0, PEER[fam])),
               errno.EOPNOTSUPP)
    t.errno_is("%s: recvmsg(MSG_DONTWAIT) -> EOPNOTSUPP" % name,
               no_hang(lambda: s.recvmsg(1000, 0, socket.MSG_DONTWAIT)),
               errno.EOPNOTSUPP)
    t.errno_is("%s: blocking recvmsg -> EOPNOTSUPP" % name,
               no_hang(lambda: s.recvmsg(1000)), errno.EOPNOTSUPP)
    t.errno_is("%s: connect -> EOPNOTSUPP" % name,
               no_hang(lambda: s.connect(PEER[fam])), errno.EOPNOTSUPP)
    t.errno_is("%s: listen -> EOPNOTSUPP" % name,
               no_hang(lambda: s.listen(5)), errno.EOPNOTSUPP)
    t.errno_is("%s: accept -> EOPNOTSUPP" % name,
               no_hang(s.accept), errno.EOPNOTSUPP)
    region, args = rcvbuf_region()
    keep.append(region)
    t.errno_is("%s: setsockopt SO_HOMA_RCVBUF -> EOPNOTSUPP" % name,
               lambda: s.setsockopt(IPPROTO_HOMA, SO_HOMA_RCVBUF, args),
               errno.EOPNOTSUPP)
    t.check("%s: getsockopt SO_HOMA_RCVBUF returns 16 zero bytes" % name,
            lambda: (lambda v: (v == bytes(16), "got %r" % v))(
                s.getsockopt(IPPROTO_HOMA, SO_HOMA_RCVBUF, 16)))

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
    t.errno_is("%s: HOMAIOCABORT with id 2 -> EINVAL" % name,
               lambda: homa_abort(s, 2), errno.EINVAL)
    t.errno_is("%s: HOMAIOCABORT with _pad1 != 0 -> EINVAL" % name,
               lambda: homa_abort(s, 0, pad1=1), errno.EINVAL)
    t.errno_is("%s: HOMAIOCABORT with _pad2[0] != 0 -> EINVAL" % name,
               lambda: homa_abort(s, 0, pad2=(1, 0)), errno.EINVAL)
    t.errno_is("%s: HOMAIOCABORT with _pad2[1] != 0 -> EINVAL" % name,
               lambda: homa_abort(s, 0, pad2=(0, 1)), errno.EINVAL)
    s.close()


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
