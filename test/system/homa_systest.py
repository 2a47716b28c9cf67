# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by the Python system tests (imported, not run).

TAP output, the uAPI constants of uapi/linux/homa.h, loading and
unloading homa.ko, reading /proc/net/homa_metrics and switching network
namespaces.  Tests run as root inside the run-vm guest with Debian's
/usr/bin/python3; HOMA_KO names the module (default: homa.ko at the top of
the repository).
"""

import ctypes
import errno
import os
import re
import socket
import struct
import subprocess
import sys
import time
import traceback

SYSTEST_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(os.path.dirname(SYSTEST_DIR))
HOMA_KO = os.environ.get("HOMA_KO", os.path.join(REPO_DIR, "homa.ko"))

# kselftest exit statuses.
KSFT_PASS = 0
KSFT_FAIL = 1
KSFT_SKIP = 4

# Values from uapi/linux/homa.h (uapi_layout.h pins the same values in the
# header at compile time; uapi_ioctl.c exercises the module through it).
IPPROTO_HOMA = 146
SO_HOMA_RCVBUF = 10
SO_HOMA_SERVER = 11
HOMA_MIN_DEFAULT_PORT = 0x8000
HOMA_BPAGE_SIZE = 1 << 16
HOMA_MAX_BPAGES = 16
HOMA_MAX_MESSAGE_LENGTH = 1000000
HOMA_SENDMSG_PRIVATE = 0x01
SIZEOF_HOMA_INFO = 136
SIZEOF_HOMA_ABORT_ARGS = 32
SIZEOF_HOMA_SENDMSG_ARGS = 24
SIZEOF_HOMA_RECVMSG_ARGS = 88
HOMA_INFO_BPOOL_AVAIL_OFFSET = 16
HOMA_INFO_PORT_OFFSET = 24
HOMA_INFO_NUM_RPCS_OFFSET = 28


def _iowr(kind, nr, size):
    """The _IOWR() macro of <asm-generic/ioctl.h>."""
    return (3 << 30) | (size << 16) | (ord(kind) << 8) | nr


HOMAIOCINFO = _iowr("h", 0x90, SIZEOF_HOMA_INFO)
HOMAIOCABORT = _iowr("h", 0x91, SIZEOF_HOMA_ABORT_ARGS)

CLONE_NEWNET = 0x40000000

libc = ctypes.CDLL("libc.so.6", use_errno=True)


class Tap:
    """A TAP 13 stream with a fixed plan.

    Every check prints one "ok"/"not ok" line; an unexpected exception
    inside a check fails that check and the test goes on.
    """

    def __init__(self, plan):
        self.planned = plan
        self.count = 0
        self.failed = 0
        self.skipped = 0
        print("TAP version 13")
        print("1..%d" % plan, flush=True)

    def ok(self, cond, desc, *details):
        """Record one result; details are printed after a failure."""
        self.count += 1
        if cond:
            print("ok %d %s" % (self.count, desc), flush=True)
            return True
        self.failed += 1
        print("not ok %d %s" % (self.count, desc))
        for line in details:
            for part in str(line).splitlines():
                print("# " + part)
        sys.stdout.flush()
        return False

    def is_(self, actual, expected, desc):
        """Pass if actual == expected."""
        return self.ok(actual == expected, desc,
                       "expected: %r" % (expected,), "actual:   %r" % (actual,))

    def skip(self, desc, why):
        self.count += 1
        self.skipped += 1
        print("ok %d %s # SKIP %s" % (self.count, desc, why), flush=True)

    def check(self, desc, func):
        """Run func(); pass if it returns a true value or None.

        func may return (False, detail...) to fail with details.
        """
        try:
            result = func()
        except Exception:  # pylint: disable=broad-except
            return self.ok(False, desc, "exception:", traceback.format_exc())
        if result is None or result is True:
            return self.ok(True, desc)
        if isinstance(result, tuple):
            return self.ok(result[0], desc, *result[1:])
        return self.ok(bool(result), desc)

    def errno_is(self, desc, func, expected):
        """Pass if func() raises OSError with errno == expected."""
        try:
            func()
        except OSError as e:
            return self.ok(e.errno == expected, desc,
                           "expected errno %s, got %s (%s)" % (
                               errno.errorcode[expected],
                               errno.errorcode.get(e.errno, e.errno), e))
        except Exception:  # pylint: disable=broad-except
            return self.ok(False, desc, "exception:", traceback.format_exc())
        return self.ok(False, desc, "expected errno %s, but the call succeeded"
                       % errno.errorcode[expected])

    def succeeds(self, desc, func):
        """Pass if func() raises nothing."""
        try:
            func()
        except Exception:  # pylint: disable=broad-except
            return self.ok(False, desc, "exception:", traceback.format_exc())
        return self.ok(True, desc)

    def done(self):
        """Check the plan; return the kselftest exit status."""
        if self.count != self.planned:
            print("# planned %d results but produced %d"
                  % (self.planned, self.count))
            return KSFT_FAIL
        if self.failed:
            print("# %d of %d failed" % (self.failed, self.count))
            return KSFT_FAIL
        if self.count and self.skipped == self.count:
            return KSFT_SKIP
        return KSFT_PASS


def skip_all(why):
    """The whole test does not apply here: print a skip plan, exit 4."""
    print("TAP version 13")
    print("1..0 # SKIP %s" % why, flush=True)
    sys.exit(KSFT_SKIP)


def run(cmd, check=False):
    """Run a command; return the CompletedProcess (text output)."""
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, check=check)


def homa_loaded():
    with open("/proc/modules") as f:
        return any(line.startswith("homa ") for line in f)


def apply_test_sysctls():
    """Write $HOMA_SYSCTLS ("name=value ...", set by guest-systest.sh) to
    the current namespace's /proc/sys/net/homa."""
    for item in os.environ.get("HOMA_SYSCTLS", "").split():
        name, _, value = item.partition("=")
        with open("/proc/sys/net/homa/" + name, "w") as f:
            f.write(value)


def homa_load():
    """insmod HOMA_KO, then apply $HOMA_SYSCTLS; raise with insmod's
    message on failure."""
    r = run(["insmod", HOMA_KO])
    if r.returncode != 0:
        raise RuntimeError("insmod %s failed: %s" % (HOMA_KO, r.stderr.strip()))
    apply_test_sysctls()


def homa_unload(retry_s=5.0):
    """rmmod homa; return (ok, message).

    Sockets are freed after an RCU grace period and hold a module
    reference until then, so "in use" right after the last close() is
    retried for up to retry_s seconds.
    """
    deadline = time.monotonic() + retry_s
    while True:
        r = run(["rmmod", "homa"])
        if r.returncode == 0:
            return True, ""
        if "in use" not in r.stderr or time.monotonic() > deadline:
            return False, r.stderr.strip()
        time.sleep(0.1)


def homa_socket(family=socket.AF_INET):
    return socket.socket(family, socket.SOCK_DGRAM, IPPROTO_HOMA)


def sock_port(sock):
    """Port shown by getsockname()."""
    return sock.getsockname()[1]


def homa_info(sock):
    """HOMAIOCINFO with no RPC array; return (port, num_rpcs, raw bytes)."""
    import fcntl  # pylint: disable=import-outside-toplevel
    buf = bytearray(SIZEOF_HOMA_INFO)
    # Output fields start as garbage so that "not filled in" shows.
    buf[16:] = b"\xa5" * (SIZEOF_HOMA_INFO - 16)
    fcntl.ioctl(sock.fileno(), HOMAIOCINFO, buf, True)
    port, num_rpcs = struct.unpack_from("=II", buf, HOMA_INFO_PORT_OFFSET)
    return port, num_rpcs, bytes(buf)


def homa_bpool_avail(sock):
    """bpool_avail_bytes of HOMAIOCINFO."""
    return struct.unpack_from("=Q", homa_info(sock)[2],
                              HOMA_INFO_BPOOL_AVAIL_OFFSET)[0]


def homa_abort(sock, rpc_id, error=0, pad1=0, pad2=(0, 0)):
    """HOMAIOCABORT; raises OSError on failure, returns the ioctl result."""
    import fcntl  # pylint: disable=import-outside-toplevel
    buf = bytearray(struct.pack("=QIIQQ", rpc_id, error, pad1, *pad2))
    return fcntl.ioctl(sock.fileno(), HOMAIOCABORT, buf, True)


def sockaddr_in(port, addr="0.0.0.0", family=socket.AF_INET):
    """Raw struct sockaddr_in bytes (16)."""
    return struct.pack("=HH4s8x", family, socket.htons(port),
                       socket.inet_aton(addr))


def sockaddr_in6(port, addr="::", family=socket.AF_INET6, scope_id=0):
    """Raw struct sockaddr_in6 bytes (28)."""
    return struct.pack("=HHI16sI", family, socket.htons(port), 0,
                       socket.inet_pton(socket.AF_INET6, addr), scope_id)


def raw_bind(sock, addr, addrlen):
    """bind(2) with an exact address buffer and length; raises OSError."""
    buf = ctypes.create_string_buffer(bytes(addr), max(len(addr), 1))
    if libc.bind(sock.fileno(), buf, addrlen) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


# ---- sendmsg / recvmsg with the Homa argument structs (through ctypes:
# Python's socket methods cannot pass msg_control as a bare user pointer).

class _Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [("msg_name", ctypes.c_void_p),
                ("msg_namelen", ctypes.c_uint32),
                ("msg_iov", ctypes.POINTER(_Iovec)),
                ("msg_iovlen", ctypes.c_size_t),
                ("msg_control", ctypes.c_void_p),
                ("msg_controllen", ctypes.c_size_t),
                ("msg_flags", ctypes.c_int)]


libc.sendmsg.argtypes = [ctypes.c_int, ctypes.POINTER(_Msghdr), ctypes.c_int]
libc.sendmsg.restype = ctypes.c_ssize_t
libc.recvmsg.argtypes = [ctypes.c_int, ctypes.POINTER(_Msghdr), ctypes.c_int]
libc.recvmsg.restype = ctypes.c_ssize_t
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                      ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mmap.restype = ctypes.c_void_p
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.munmap.restype = ctypes.c_int

_MAP_FAILED = ctypes.c_void_p(-1).value


def sockaddr_for(family, dest):
    """struct sockaddr_in/_in6 bytes for (host, port)."""
    host, port = dest[0], dest[1]
    if family == socket.AF_INET6:
        return sockaddr_in6(port, host)
    return sockaddr_in(port, host)


def parse_sockaddr(raw, length):
    """(host, port) from struct sockaddr bytes; None if length is 0."""
    if length == 0:
        return None
    family = struct.unpack_from("=H", raw)[0]
    if family == socket.AF_INET:
        port, addr = struct.unpack_from("!H4s", raw, 2)
        return socket.inet_ntop(socket.AF_INET, addr), port
    if family == socket.AF_INET6:
        port, addr = struct.unpack_from("!H4x16s", raw, 2)
        return socket.inet_ntop(socket.AF_INET6, addr), port
    return ("family %d" % family, None)


class SendResult:
    """What homa_sendmsg() saw: ret (-1 on error), err (errno or 0) and
    id (the args' id after the call)."""

    def __init__(self, ret, err, rpc_id):
        self.ret, self.err, self.id = ret, err, rpc_id

    def __repr__(self):
        return "SendResult(ret=%d, err=%s, id=%d)" % (
            self.ret, errno.errorcode.get(self.err, self.err), self.id)


def homa_sendmsg(sock, data, dest, rpc_id=0, cookie=0, flags=0, reserved=0,
                 controllen=0, control=True, msg_flags=0):
    """sendmsg(2) with a struct homa_sendmsg_args in msg_control.

    dest is (host, port) in the socket's family (or raw sockaddr bytes);
    controllen is the msg_controllen passed (0 = the kernel gets the bare
    user pointer, as Homa wants); control=False passes msg_control NULL.
    Returns a SendResult; never raises for a failed call.
    """
    args = ctypes.create_string_buffer(
        struct.pack("=QQII", rpc_id, cookie, flags, reserved),
        SIZEOF_HOMA_SENDMSG_ARGS)
    if isinstance(dest, (bytes, bytearray)):
        name = bytes(dest)
    else:
        name = sockaddr_for(sock.family, dest)
    name_buf = ctypes.create_string_buffer(name, len(name))
    payload = ctypes.create_string_buffer(bytes(data), max(len(data), 1))
    iov = _Iovec(ctypes.cast(payload, ctypes.c_void_p), len(data))
    msg = _Msghdr()
    msg.msg_name = ctypes.cast(name_buf, ctypes.c_void_p)
    msg.msg_namelen = len(name)
    msg.msg_iov = ctypes.pointer(iov)
    msg.msg_iovlen = 1
    msg.msg_control = ctypes.cast(args, ctypes.c_void_p) if control else None
    msg.msg_controllen = controllen
    ret = libc.sendmsg(sock.fileno(), ctypes.byref(msg), msg_flags)
    err = ctypes.get_errno() if ret < 0 else 0
    return SendResult(ret, err, struct.unpack_from("=Q", args.raw)[0])


class RecvResult:
    """What homa_recvmsg() saw: ret (message length, or -1), err (errno
    or 0), the struct homa_recvmsg_args after the call (id, cookie,
    num_bpages, offsets: the first num_bpages offsets), addr (msg_name as
    (host, port), None if the kernel left msg_namelen 0)."""

    def __init__(self, ret, err, raw_args, addr):
        self.ret, self.err, self.addr = ret, err, addr
        (self.id, self.cookie, self.num_bpages,
         self.reserved) = struct.unpack_from("=QQII", raw_args)
        offsets = struct.unpack_from("=%dI" % HOMA_MAX_BPAGES, raw_args, 24)
        self.offsets = list(offsets[:min(self.num_bpages, HOMA_MAX_BPAGES)])

    def __repr__(self):
        return ("RecvResult(ret=%d, err=%s, id=%d, cookie=%d, offsets=%s, "
                "addr=%s)" % (self.ret, errno.errorcode.get(self.err, self.err),
                              self.id, self.cookie, self.offsets, self.addr))


def homa_recvmsg(sock, rpc_id=0, flags=0, release=(), reserved=0,
                 controllen=SIZEOF_HOMA_RECVMSG_ARGS, control=True):
    """recvmsg(2) with a struct homa_recvmsg_args in msg_control.

    rpc_id: 0 = any message, else a private client RPC's response;
    release: bpage offsets handed back; controllen: msg_controllen passed
    (the size of the args unless testing errors); control=False passes
    msg_control NULL.  Returns a RecvResult; never raises for a failed
    call.  A blocking call sleeps without holding the GIL.
    """
    release = list(release)
    raw = struct.pack("=QQII", rpc_id, 0, len(release), reserved)
    raw += struct.pack("=%dI" % HOMA_MAX_BPAGES,
                       *(release + [0] * (HOMA_MAX_BPAGES - len(release))))
    args = ctypes.create_string_buffer(raw, SIZEOF_HOMA_RECVMSG_ARGS)
    name_buf = ctypes.create_string_buffer(28)
    msg = _Msghdr()
    msg.msg_name = ctypes.cast(name_buf, ctypes.c_void_p)
    msg.msg_namelen = 28
    msg.msg_iov = None
    msg.msg_iovlen = 0
    msg.msg_control = ctypes.cast(args, ctypes.c_void_p) if control else None
    msg.msg_controllen = controllen
    ret = libc.recvmsg(sock.fileno(), ctypes.byref(msg), flags)
    err = ctypes.get_errno() if ret < 0 else 0
    addr = parse_sockaddr(name_buf.raw, msg.msg_namelen) if ret >= 0 else None
    return RecvResult(ret, err, args.raw, addr)


class Region:
    """An anonymous, page-aligned mapping for SO_HOMA_RCVBUF."""

    def __init__(self, length):
        self.length = length
        addr = libc.mmap(None, length, 3, 0x22, -1, 0)  # RW, PRIVATE|ANON
        if addr in (None, _MAP_FAILED):
            raise OSError(ctypes.get_errno(), "mmap failed")
        self.start = addr

    def read(self, offset, length):
        if offset < 0 or offset + length > self.length:
            raise ValueError("read outside the region")
        return ctypes.string_at(self.start + offset, length)

    def message(self, result):
        """The bytes of a message recvmsg returned (a RecvResult): every
        piece a whole bpage except the last."""
        out, left = b"", result.ret
        for off in result.offsets:
            n = min(left, HOMA_BPAGE_SIZE)
            out += self.read(off, n)
            left -= n
        return out

    def close(self):
        if self.start is not None:
            libc.munmap(self.start, self.length)
            self.start = None


def set_rcvbuf(sock, start, length):
    """setsockopt SO_HOMA_RCVBUF; raises OSError."""
    sock.setsockopt(IPPROTO_HOMA, SO_HOMA_RCVBUF,
                    struct.pack("=QQ", start, length))


def get_rcvbuf(sock):
    """getsockopt SO_HOMA_RCVBUF as (start, length)."""
    return struct.unpack("=QQ", sock.getsockopt(IPPROTO_HOMA, SO_HOMA_RCVBUF,
                                                16))


def homa_rcvbuf_socket(family=socket.AF_INET, bpages=4, port=None,
                       server=False):
    """A Homa socket with a receive buffer of bpages bpages (optionally
    bound to a port, or SO_HOMA_SERVER set); returns (socket, Region)."""
    s = homa_socket(family)
    region = Region(bpages * HOMA_BPAGE_SIZE)
    try:
        if port:
            s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
        if server:
            s.setsockopt(IPPROTO_HOMA, SO_HOMA_SERVER, 1)
        set_rcvbuf(s, region.start, region.length)
    except Exception:
        s.close()
        region.close()
        raise
    return s, region


METRIC_LINE = re.compile(r"^([A-Za-z0-9_]+) +([0-9]+) +# \S.*$")


def read_metrics(path="/proc/net/homa_metrics"):
    """Parse the metrics file of the current namespace into {name: value}.

    Raises ValueError for a line that is not "name value  # description"
    or a name that appears twice.
    """
    with open(path) as f:
        text = f.read()
    return parse_metrics(text)


def parse_metrics(text):
    metrics = {}
    for line in text.splitlines():
        m = METRIC_LINE.match(line)
        if not m:
            raise ValueError("bad metrics line: %r" % line)
        name, value = m.group(1), int(m.group(2))
        if name in metrics:
            raise ValueError("metric %s appears twice" % name)
        if value >= 1 << 64:
            raise ValueError("metric %s does not fit in a u64" % name)
        metrics[name] = value
    return metrics


def metrics_delta(before, after):
    """{name: after - before} for the names in both, zero entries omitted."""
    return {k: after[k] - before[k] for k in after
            if k in before and after[k] != before[k]}


def netns_add(name):
    run(["ip", "netns", "del", name])
    run(["ip", "netns", "add", name], check=True)
    run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)


def netns_del(name):
    run(["ip", "netns", "del", name])


def setns(fd_or_path):
    """Move this thread into a network namespace (path or open fd)."""
    if isinstance(fd_or_path, str):
        fd = os.open(fd_or_path, os.O_RDONLY)
        try:
            setns(fd)
        finally:
            os.close(fd)
        return
    if libc.setns(fd_or_path, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


class InNetns:
    """Context manager: run the body inside /run/netns/<name>."""

    def __init__(self, name):
        self.name = name
        self.home = None

    def __enter__(self):
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        setns("/run/netns/" + self.name)
        return self

    def __exit__(self, *exc):
        setns(self.home)
        os.close(self.home)
        return False
