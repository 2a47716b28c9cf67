#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""No memory leaks in homa.ko (debug kernel with kmemleak only).

Clears kmemleak, loads the module, creates, binds and closes 100 sockets
(and a few more in a namespace that is then deleted), unloads the module
and scans twice, 6 s apart (kmemleak ignores objects younger than 5 s).
No leaked object may have been allocated by homa: no backtrace frame may
name homa, and none may point into the module's former core memory (after
rmmod its addresses no longer resolve to symbols).  On a kernel without
kmemleak (the stock kernel) the test is skipped.
"""

import errno
import os
import re
import socket
import sys
import time

from homa_systest import (SO_HOMA_SERVER, IPPROTO_HOMA, InNetns, Tap,
                          homa_info, homa_load, homa_socket, homa_unload,
                          netns_add, netns_del)

KMEMLEAK = "/sys/kernel/debug/kmemleak"
NUM_SOCKETS = 100
NETNS = "homa-leak"


def kmemleak(command):
    with open(KMEMLEAK, "w") as f:
        f.write(command)


def module_range():
    """(start, end) of homa's core memory, from /proc/modules."""
    with open("/proc/modules") as f:
        for line in f:
            fields = line.split()
            if fields[0] == "homa":
                size, addr = int(fields[1]), int(fields[5], 16)
                # 0 when kernel addresses are hidden (kptr_restrict).
                return (addr, addr + size) if addr else None
    return None


def workload():
    """Exercise what the skeleton allocates: sockets, ports, options."""
    with open("/proc/net/homa_metrics") as f:
        f.read()
    for i in range(NUM_SOCKETS):
        s = homa_socket(socket.AF_INET if i % 2 else socket.AF_INET6)
        s.bind(("::" if s.family == socket.AF_INET6 else "0.0.0.0", 1000 + i))
        s.setsockopt(IPPROTO_HOMA, SO_HOMA_SERVER, 1)
        homa_info(s)
        try:
            s.bind(("::" if s.family == socket.AF_INET6 else "0.0.0.0", 40000))
        except OSError as e:
            if e.errno != errno.EINVAL:
                raise
        s.close()
    # A namespace's state is created and destroyed with the module loaded.
    netns_add(NETNS)
    with InNetns(NETNS):
        socks = [homa_socket() for _ in range(10)]
        for i, s in enumerate(socks):
            s.bind(("0.0.0.0", 2000 + i))
        with open("/proc/net/homa_metrics") as f:
            f.read()
        for s in socks:
            s.close()
    netns_del(NETNS)


def leaked_objects(report):
    """Split a kmemleak report into one text block per object."""
    blocks = re.split(r"(?m)^(?=unreferenced object )", report)
    return [b for b in blocks if b.startswith("unreferenced object ")]


def blames_homa(block, mod_range):
    """Whether an object's backtrace (not its hex dump) involves homa."""
    block = block.partition("backtrace:")[2]
    if re.search(r"\bhoma", block):
        return True
    if mod_range is None:
        return False
    start, end = mod_range
    for addr in re.findall(r"\b0x([0-9a-f]{16})\b", block):
        if start <= int(addr, 16) < end:
            return True
    return False


def main():
    if not os.path.exists(KMEMLEAK):
        print("TAP version 13")
        print("1..0 # SKIP this kernel has no kmemleak (%s)" % KMEMLEAK)
        return 4
    t = Tap(6)
    t.succeeds("clear kmemleak", lambda: kmemleak("clear"))
    try:
        homa_load()
    except RuntimeError as e:
        t.ok(False, "insmod", str(e))
        return t.done()
    t.ok(True, "insmod")
    mod_range = module_range()
    if mod_range:
        print("# homa core memory: 0x%x-0x%x" % mod_range)
    t.succeeds("create, bind and close %d sockets (and 10 in a namespace)"
               % NUM_SOCKETS, workload)
    ok, msg = homa_unload()
    t.ok(ok, "rmmod", msg)

    def scan():
        kmemleak("scan")
        time.sleep(6)
        kmemleak("scan")
    t.succeeds("two kmemleak scans", scan)
    with open(KMEMLEAK) as f:
        report = f.read()
    leaks = leaked_objects(report)
    ours = [b for b in leaks if blames_homa(b, mod_range)]
    if leaks:
        print("# kmemleak reports %d object(s), %d from homa"
              % (len(leaks), len(ours)))
    t.ok(not ours, "no leaked object was allocated by homa",
         *(ours[:10]))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
