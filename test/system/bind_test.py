#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Port assignment and bind().

Every socket gets an automatic port >= 0x8000 when it is created.  bind()
to port 0 changes nothing; to 1..32767 takes that server port (EADDRINUSE
if another socket of the namespace has it; IPv4 and IPv6 share one port
space) and frees the socket's previous port; to a port >= 32768 fails with
EINVAL.  A short address fails with EINVAL, a foreign address family with
EAFNOSUPPORT, a socket after shutdown() with ESHUTDOWN.  close() frees the
port.
"""

import errno
import resource
import socket
import sys

from homa_systest import (HOMA_MIN_DEFAULT_PORT, Tap, homa_info, homa_load,
                          homa_socket, homa_unload, raw_bind, sock_port,
                          sockaddr_in, sockaddr_in6)

V4, V6 = socket.AF_INET, socket.AF_INET6
FAMILIES = {V4: "IPv4", V6: "IPv6"}
ANY = {V4: "0.0.0.0", V6: "::"}
NUM_MANY = 1000

# Results per family in check_family(), plus the family-independent ones.
PER_FAMILY = 29
COMMON = 8


def bind_port(sock, port):
    sock.bind((ANY[sock.family], port))


def check_family(t, fam, sockets):
    """Checks on sockets of one family; every socket goes into sockets."""
    name = FAMILIES[fam]
    base = 100 if fam == V4 else 200   # server ports used by this family

    def new():
        s = homa_socket(fam)
        sockets.append(s)
        return s

    # Automatic ports.
    a = new()
    auto = sock_port(a)
    t.ok(HOMA_MIN_DEFAULT_PORT <= auto <= 0xffff,
         "%s: new socket has an automatic port >= 0x8000" % name,
         "port %d" % auto)
    t.is_(homa_info(a)[0], auto,
          "%s: HOMAIOCINFO reports the same port as getsockname" % name)
    b = new()
    t.ok(sock_port(b) != auto,
         "%s: two new sockets get different automatic ports" % name)

    # Port 0.
    t.succeeds("%s: bind to port 0 succeeds" % name, lambda: bind_port(a, 0))
    t.is_(sock_port(a), auto, "%s: bind to port 0 keeps the port" % name)

    # Server ports: the lowest, the highest, and one in between.
    t.succeeds("%s: bind to port 1 succeeds" % name, lambda: bind_port(a, 1))
    t.is_(sock_port(a), 1, "%s: getsockname shows port 1" % name)
    t.is_(homa_info(a)[0], 1, "%s: HOMAIOCINFO shows port 1" % name)
    t.succeeds("%s: bind to port 32767 succeeds" % name,
               lambda: bind_port(b, 32767))
    t.is_(sock_port(b), 32767, "%s: getsockname shows port 32767" % name)
    t.succeeds("%s: bind to port 0 after a server port succeeds" % name,
               lambda: bind_port(a, 0))
    t.is_(sock_port(a), 1,
          "%s: bind to port 0 keeps the server port" % name)
    a.close()
    b.close()

    # Conflicts within the family.
    c, d = new(), new()
    bind_port(c, base)
    d_port = sock_port(d)
    t.errno_is("%s: bind to a port another socket has -> EADDRINUSE" % name,
               lambda: bind_port(d, base), errno.EADDRINUSE)
    t.is_(sock_port(d), d_port, "%s: a failed bind keeps the port" % name)

    # Rebinding frees the old port.
    t.succeeds("%s: rebinding to another server port succeeds" % name,
               lambda: bind_port(c, base + 1))
    t.is_(sock_port(c), base + 1, "%s: the socket has the new port" % name)
    t.succeeds("%s: the old port is free after rebinding" % name,
               lambda: bind_port(d, base))
    c.close()
    d.close()

    # close() frees the port.
    e = new()
    bind_port(e, base + 2)
    e.close()
    f = new()
    t.succeeds("%s: a port is free after close()" % name,
               lambda: bind_port(f, base + 2))

    # Ports in the automatic range.
    g = new()
    g_port = sock_port(g)
    t.errno_is("%s: bind to port 32768 -> EINVAL" % name,
               lambda: bind_port(g, 32768), errno.EINVAL)
    t.errno_is("%s: bind to port 65535 -> EINVAL" % name,
               lambda: bind_port(g, 65535), errno.EINVAL)
    t.is_(sock_port(g), g_port,
          "%s: a rejected bind keeps the port" % name)

    # Address length and family.
    if fam == V4:
        t.errno_is("IPv4: bind with addrlen 15 -> EINVAL",
                   lambda: raw_bind(g, sockaddr_in(base + 3), 15),
                   errno.EINVAL)
        t.errno_is("IPv4: bind with addrlen 2 -> EINVAL",
                   lambda: raw_bind(g, sockaddr_in(base + 3), 2),
                   errno.EINVAL)
        t.errno_is("IPv4: bind with an AF_INET6 address -> EAFNOSUPPORT",
                   lambda: raw_bind(g, sockaddr_in6(base + 3), 28),
                   errno.EAFNOSUPPORT)
        t.errno_is("IPv4: bind with an AF_UNIX family -> EAFNOSUPPORT",
                   lambda: raw_bind(g, sockaddr_in(base + 3,
                                                   family=socket.AF_UNIX), 16),
                   errno.EAFNOSUPPORT)
        t.succeeds("IPv4: bind with addrlen 16 succeeds",
                   lambda: raw_bind(g, sockaddr_in(base + 3), 16))
    else:
        t.errno_is("IPv6: bind with addrlen 23 -> EINVAL",
                   lambda: raw_bind(g, sockaddr_in6(base + 3), 23),
                   errno.EINVAL)
        t.errno_is("IPv6: bind with addrlen 16 -> EINVAL",
                   lambda: raw_bind(g, sockaddr_in6(base + 3), 16),
                   errno.EINVAL)
        t.errno_is("IPv6: bind with an AF_INET address -> EAFNOSUPPORT",
                   lambda: raw_bind(g, sockaddr_in6(base + 3,
                                                    family=socket.AF_INET),
                                    28),
                   errno.EAFNOSUPPORT)
        t.errno_is("IPv6: bind with an AF_UNIX family -> EAFNOSUPPORT",
                   lambda: raw_bind(g, sockaddr_in6(base + 3,
                                                    family=socket.AF_UNIX),
                                    28),
                   errno.EAFNOSUPPORT)
        t.succeeds("IPv6: bind with addrlen 24 (no scope id) succeeds",
                   lambda: raw_bind(g, sockaddr_in6(base + 3)[:24], 24))
    t.is_(sock_port(g), base + 3,
          "%s: getsockname shows the port of the raw bind" % name)
    g.close()

    # After shutdown().
    h = new()
    t.succeeds("%s: shutdown(SHUT_RDWR) succeeds" % name,
               lambda: h.shutdown(socket.SHUT_RDWR))
    t.errno_is("%s: bind after shutdown -> ESHUTDOWN" % name,
               lambda: bind_port(h, base + 4), errno.ESHUTDOWN)
    h.close()


def check_shared_space(t, sockets):
    """IPv4 and IPv6 sockets share one port space."""
    v4, v6 = homa_socket(V4), homa_socket(V6)
    sockets += [v4, v6]
    bind_port(v4, 300)
    t.errno_is("IPv6 bind to a port an IPv4 socket has -> EADDRINUSE",
               lambda: bind_port(v6, 300), errno.EADDRINUSE)
    bind_port(v6, 301)
    t.errno_is("IPv4 bind to a port an IPv6 socket has -> EADDRINUSE",
               lambda: bind_port(v4, 301), errno.EADDRINUSE)
    v4.close()
    t.succeeds("IPv6 bind to a port an IPv4 socket released succeeds",
               lambda: bind_port(v6, 300))
    v6.close()


def check_many(t, sockets):
    """NUM_MANY sockets of both families get distinct automatic ports."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NUM_MANY + 100
    if soft != resource.RLIM_INFINITY and soft < want:
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    many = []
    try:
        for i in range(NUM_MANY):
            many.append(homa_socket(V4 if i % 2 == 0 else V6))
    except OSError as e:
        t.ok(False, "create %d sockets" % NUM_MANY,
             "socket %d: %s" % (len(many), e))
    else:
        t.ok(True, "create %d sockets" % NUM_MANY)
    sockets += many
    ports = [sock_port(s) for s in many]
    t.is_(len(set(ports)), len(many),
          "%d sockets have distinct automatic ports" % len(many))
    bad = [p for p in ports if not HOMA_MIN_DEFAULT_PORT <= p <= 0xffff]
    t.ok(not bad, "all %d automatic ports are >= 0x8000" % len(many),
         "out of range: %s" % bad[:10])
    for s in many:
        s.close()
    # The ports are free again: the same server port for one of each.
    s = homa_socket(V4)
    sockets.append(s)
    t.succeeds("bind works after closing %d sockets" % len(many),
               lambda: bind_port(s, 400))
    s.close()


def main():
    try:
        homa_load()
    except RuntimeError as e:
        t = Tap(1)
        t.ok(False, "insmod", str(e))
        return t.done()
    t = Tap(2 * PER_FAMILY + COMMON)
    sockets = []
    try:
        for fam in FAMILIES:
            check_family(t, fam, sockets)
        check_shared_space(t, sockets)
        check_many(t, sockets)
    finally:
        for s in sockets:
            s.close()
        ok, msg = homa_unload()
        t.ok(ok, "rmmod after all sockets are closed", msg)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
