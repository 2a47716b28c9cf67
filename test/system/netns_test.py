#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Per-network-namespace state: every namespace has its own sysctls
(starting from the defaults, changed independently) and its own port
space.  (Per-namespace metrics are checked in metrics_test.py.)

One process moves between namespaces with setns(); /proc/sys/net and
/proc/net show the namespace of the thread that opens them, and a socket
belongs to the namespace it was created in.
"""

import os
import errno
import socket
import sys

from homa_systest import (InNetns, Tap, homa_load, homa_socket, homa_unload,
                          netns_add, netns_del, run)

SYSCTL_DIR = "/proc/sys/net/homa/"
DEFAULTS = {"link_mbps": 25000, "unsched_bytes": 40000, "window": 0,
            "max_incoming": 400000, "wmem_max": 100000000, "poll_usecs": 50,
            "max_gso_size": 10000, "tick_usecs": 1000, "resend_ticks": 5,
            "resend_interval": 5, "timeout_ticks": 100,
            "request_ack_ticks": 2}
NS_A, NS_B, NS_C = "homa-a", "homa-b", "homa-c"
HOME = "-"   # the namespace the test started in


class Where:
    """Context manager for a namespace name, HOME meaning "stay here"."""

    def __init__(self, name):
        self.ns = None if name == HOME else InNetns(name)

    def __enter__(self):
        if self.ns:
            self.ns.__enter__()

    def __exit__(self, *exc):
        if self.ns:
            self.ns.__exit__(*exc)
        return False


def get(where, name):
    with Where(where):
        with open(SYSCTL_DIR + name) as f:
            return int(f.read())


def put(where, name, value):
    """Write a sysctl in one write(); return "ok" or the errno name."""
    with Where(where):
        try:
            with open(SYSCTL_DIR + name, "w") as f:
                f.write(str(value))
        except OSError as e:
            return errno.errorcode.get(e.errno, str(e))
    return "ok"


def all_params(where):
    return {name: get(where, name) for name in DEFAULTS}


def bind_all(port, places):
    """Bind a new socket to port in each place in order, keeping them all
    open; return "place=result" words.  A place is a namespace name (or
    HOME), with ":6" appended for an IPv6 socket."""
    sockets, words = [], []
    try:
        for place in places:
            where, _, v6 = place.partition(":")
            fam = socket.AF_INET6 if v6 == "6" else socket.AF_INET
            with Where(where):
                s = homa_socket(fam)
            sockets.append(s)
            try:
                s.bind(("::" if v6 else "0.0.0.0", port))
                words.append(place + "=ok")
            except OSError as e:
                words.append(place + "=" + errno.errorcode.get(e.errno, "?"))
    finally:
        for s in sockets:
            s.close()
    return " ".join(words)


def main():
    # The defaults are what this test checks.
    os.environ.pop("HOMA_SYSCTLS", None)
    try:
        homa_load()
    except RuntimeError as e:
        t = Tap(1)
        t.ok(False, "insmod", str(e))
        return t.done()
    t = Tap(16)
    try:
        for ns in (NS_A, NS_B):
            netns_add(ns)
        t.is_(all_params(NS_A), DEFAULTS, "%s starts with the defaults" % NS_A)
        t.is_(all_params(NS_B), DEFAULTS, "%s starts with the defaults" % NS_B)

        # A write in one namespace changes only that namespace.
        t.is_(put(NS_A, "link_mbps", 1000), "ok",
              "write link_mbps=1000 in %s" % NS_A)
        t.is_(get(NS_A, "link_mbps"), 1000, "%s reads link_mbps 1000" % NS_A)
        t.is_(get(HOME, "link_mbps"), 25000,
              "the initial namespace still has link_mbps 25000")
        t.is_(get(NS_B, "link_mbps"), 25000,
              "%s still has link_mbps 25000" % NS_B)
        t.is_(put(HOME, "unsched_bytes", 5000), "ok",
              "write unsched_bytes=5000 in the initial namespace")
        t.is_(get(NS_A, "unsched_bytes"), 40000,
              "%s still has unsched_bytes 40000" % NS_A)
        t.is_(put(NS_B, "max_gso_size", 1499), "EINVAL",
              "%s rejects max_gso_size 1499 with EINVAL" % NS_B)
        t.is_(get(NS_B, "max_gso_size"), 10000,
              "%s keeps max_gso_size 10000" % NS_B)

        # A namespace created after those writes starts from the defaults.
        netns_add(NS_C)
        t.is_(all_params(NS_C), DEFAULTS,
              "a namespace created after the writes starts with the defaults")

        # The same server port in three namespaces at once, but still only
        # once per namespace, for IPv4 and IPv6 sockets together.
        t.is_(bind_all(1000, [HOME, NS_A, NS_B]),
              "-=ok homa-a=ok homa-b=ok",
              "port 1000 can be bound in three namespaces at once")
        t.is_(bind_all(1001, [NS_A, NS_A + ":6", HOME, NS_A]),
              "homa-a=ok homa-a:6=EADDRINUSE -=ok homa-a=EADDRINUSE",
              "a port bound in %s is taken there for IPv4 and IPv6 only"
              % NS_A)
        t.is_(bind_all(1002, [NS_B + ":6", NS_C + ":6", NS_B]),
              "homa-b:6=ok homa-c:6=ok homa-b=EADDRINUSE",
              "IPv6 ports are per namespace too")
    finally:
        for ns in (NS_A, NS_B, NS_C):
            netns_del(ns)
        left = [line for line in run(["ip", "netns", "list"]).stdout.split("\n")
                if line.startswith("homa-")]
        t.ok(not left, "delete the namespaces", "still there: %s" % left)
        # Namespaces are dismantled asynchronously; unloading must work.
        ok, msg = homa_unload()
        t.ok(ok, "rmmod after deleting the namespaces", msg)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
