#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Module autoloading and the module reference held by sockets.

With homa.ko installed in /lib/modules/$(uname -r)/extra and depmod run,
socket(AF_INET or AF_INET6, SOCK_DGRAM, 146) loads the module through its
net-pf-2/net-pf-10 aliases.  While a socket is open the module cannot be
removed; after close() it can.  IPv4 and IPv6 are checked separately, with
an rmmod in between.

A full "depmod -a" over the stock kernel's few thousand modules takes a
minute or more under TCG, so by default depmod indexes only homa.ko
("depmod VERSION FILE": the aliases that matter here are the same); the
original index files are saved first and put back at the end, so later
tests see the system's own index.  SYSTEST_FULL_DEPMOD=1 runs the real
"depmod -a" instead.
"""

import errno
import glob
import os
import shutil
import socket
import sys

from homa_systest import (HOMA_KO, HOMA_MIN_DEFAULT_PORT, IPPROTO_HOMA, Tap,
                          homa_loaded, homa_unload, run, sock_port)

ALIASES = {socket.AF_INET: "net-pf-2-proto-146-type-2",
           socket.AF_INET6: "net-pf-10-proto-146-type-2"}
FAMILY_NAME = {socket.AF_INET: "IPv4", socket.AF_INET6: "IPv6"}


def main():
    t = Tap(4 + 9 * len(ALIASES))
    kver = os.uname().release
    moddir = "/lib/modules/" + kver
    extra = moddir + "/extra"
    installed = os.path.join(extra, "homa.ko")
    backup = "/tmp/homa-autoload-index"
    full_depmod = os.environ.get("SYSTEST_FULL_DEPMOD") == "1"

    # Before homa.ko is installed, nothing can provide the protocol.
    def no_module_yet():
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM, IPPROTO_HOMA).close()
    t.errno_is("without homa.ko installed, socket() fails", no_module_yet,
               errno.EPROTONOSUPPORT)

    def install():
        save_index(moddir, backup)
        os.makedirs(extra, exist_ok=True)
        shutil.copyfile(HOMA_KO, installed)
        cmd = ["depmod", "-a"] if full_depmod else ["depmod", kver, installed]
        r = run(cmd)
        return r.returncode == 0, " ".join(cmd) + ": " + r.stderr
    t.check("install homa.ko in %s and run depmod" % extra, install)

    r = run(["modinfo", "-F", "alias", installed])
    aliases = r.stdout.split()
    for family, alias in ALIASES.items():
        t.ok(alias in aliases, "modinfo lists alias %s" % alias,
             "aliases: %s" % " ".join(aliases), r.stderr)

    try:
        for family, alias in ALIASES.items():
            check_family(t, family, alias)
    finally:
        if os.path.exists(installed):
            os.unlink(installed)
        restore_index(moddir, backup)
        if homa_loaded():
            homa_unload()
    return t.done()


def save_index(moddir, backup):
    """Copy the modules.* index files of moddir to backup."""
    shutil.rmtree(backup, ignore_errors=True)
    os.makedirs(backup)
    for path in glob.glob(moddir + "/modules.*"):
        shutil.copy2(path, backup)


def restore_index(moddir, backup):
    """Put the saved index files back; drop index files depmod added."""
    if not os.path.isdir(backup):
        return
    saved = set(os.listdir(backup))
    for path in glob.glob(moddir + "/modules.*"):
        if os.path.basename(path) not in saved:
            os.unlink(path)
    for name in saved:
        shutil.copy2(os.path.join(backup, name), moddir)
    shutil.rmtree(backup)


def check_family(t, family, alias):
    fam = FAMILY_NAME[family]
    t.ok(not homa_loaded(), "%s: homa is not loaded before socket()" % fam)
    r = run(["modprobe", "--resolve-alias", alias])
    t.is_(r.stdout.strip(), "homa",
          "%s: modprobe resolves %s to homa" % (fam, alias))

    sock = None
    try:
        sock = socket.socket(family, socket.SOCK_DGRAM, IPPROTO_HOMA)
        t.ok(True, "%s: socket(SOCK_DGRAM, 146) succeeds" % fam)
    except OSError as e:
        t.ok(False, "%s: socket(SOCK_DGRAM, 146) succeeds" % fam, str(e))
    t.ok(homa_loaded(), "%s: socket() loaded homa" % fam)

    if sock is None:
        for desc in ("socket has an automatic port",
                     "rmmod fails while a socket is open",
                     "homa stays loaded after the failed rmmod"):
            t.ok(False, "%s: %s" % (fam, desc), "no socket")
    else:
        port = sock_port(sock)
        t.ok(port >= HOMA_MIN_DEFAULT_PORT,
             "%s: socket has an automatic port" % fam, "port %d" % port)
        r = run(["rmmod", "homa"])
        t.ok(r.returncode != 0 and "in use" in r.stderr,
             "%s: rmmod fails with 'in use' while a socket is open" % fam,
             "rmmod status %d: %s" % (r.returncode, r.stderr.strip()))
        t.ok(homa_loaded(), "%s: homa stays loaded after the failed rmmod"
             % fam)
        sock.close()

    ok, msg = homa_unload()
    t.ok(ok, "%s: rmmod succeeds after close()" % fam, msg)
    t.ok(not homa_loaded(), "%s: homa is not listed after rmmod" % fam)


if __name__ == "__main__":
    sys.exit(main())
