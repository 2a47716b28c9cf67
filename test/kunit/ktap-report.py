#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Judge a KUnit run of run-kunit.sh: read the files guest-kunit.sh left in
# the run-vm output directory, print one TAP line per leaf test result
# (test case, or parameter of a parameterised case) and per failure of the
# infrastructure (missing or truncated results, a VM that died, leaks), and
# end with exactly one line "kunit: N passed, N failed".
# Exit status: 0 if nothing failed, 1 otherwise.
#
# Usage: ktap-report.py --out DIR --vm-status N [--module NAME]...
#                       [--no-homa] [--no-kmemleak]
#   --out DIR       run-vm's --out directory: guest-kunit.sh's files are
#                   in its kunit/ subdirectory, the kernel log in dmesg.txt
#   --vm-status N   run-vm's exit status
#   --module NAME   a test module that was built and must have reported
#   --no-homa       homa.ko was deliberately not loaded
#   --no-kmemleak   no kmemleak report was asked for

import argparse
import os
import re
import sys

RESULT_RE = re.compile(r'^(not ok|ok)\s+(\d+)(?:\s+-)?\s*(.*?)\s*$')
PLAN_RE = re.compile(r'^1\.\.(\d+)\s*$')
# KUnit's per-test statistics, printed just before the test's own result.
STATS_RE = re.compile(r'^# (\S+): pass:\d+ fail:\d+ skip:\d+ total:(\d+)$')
# What test/vm/check-kernel-log looks for.
SPLAT_RE = re.compile(r'BUG:|kernel BUG at|WARNING:|KASAN|UBSAN|'
                      r'possible circular locking|possible recursive locking|'
                      r'inconsistent lock state|suspicious RCU usage|Oops|'
                      r'general protection fault|Call Trace:')
TOTALS_RE = re.compile(r'^# Totals: pass:\d+ fail:\d+ skip:\d+ total:(\d+)$')
DIRECTIVE_RE = re.compile(r'^(.*?)\s*#\s*(SKIP|TODO)\b\s*(.*)$', re.I)
# printk timestamp (and optional caller id) that dmesg puts before a line.
STAMP_RE = re.compile(r'^\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])? ?')
VM_STATUS = {
    3: 'kernel problems found in the kernel log (BUG/WARNING/KASAN/'
       'lockdep/kmemleak; see the run-vm output above)',
    124: 'the VM timed out',
    125: 'the guest kernel died (panic/oops) before the run ended',
    126: 'the guest could not enter the working directory',
}


class Node:
    """One "ok"/"not ok" line and the results nested under it."""

    def __init__(self, ok, num, name, directive, children, diag):
        self.ok = ok
        self.num = num
        self.name = name
        self.directive = directive  # "SKIP reason", "TODO ..." or ""
        self.children = children
        self.diag = diag            # log lines printed before the result


class Parsed:
    def __init__(self):
        self.roots = []     # depth-0 results (the suite line)
        self.orphans = []   # deeper results never closed by a parent
        self.problems = []  # reasons the log is not complete


def count_leaves(node):
    if not node.children:
        return 1
    return sum(count_leaves(c) for c in node.children)


def parse_ktap(lines):
    """Parse KTAP (possibly nested, 4 spaces per level) into a tree.

    A result line closes the group of results one level deeper that came
    before it; those become its children. A "1..N" plan is checked against
    the number of results of its group.
    """
    parsed = Parsed()
    pending = {}   # depth -> results waiting for their parent
    plans = {}     # depth -> announced count
    diag = []
    for raw in lines:
        line = raw.rstrip('\r\n')
        stripped = line.lstrip(' ')
        if not stripped:
            continue
        depth = (len(line) - len(stripped)) // 4
        m = RESULT_RE.match(stripped)
        if m:
            name = m.group(3)
            directive = ''
            d = DIRECTIVE_RE.match(name)
            if d:
                name = d.group(1)
                directive = (d.group(2).upper() + ' ' + d.group(3)).strip()
            children = pending.pop(depth + 1, [])
            for deeper in [k for k in pending if k > depth + 1]:
                orphans = pending.pop(deeper)
                parsed.problems.append(
                    '%d result(s) at nesting level %d without a parent '
                    'before "%s"' % (len(orphans), deeper, stripped))
            plan = plans.pop(depth + 1, None)
            if plan is not None and plan != len(children):
                parsed.problems.append(
                    '"%s": %d of %d planned subtests reported (log '
                    'truncated or test crashed)' % (name, len(children),
                                                   plan))
            if children:
                # 6.1 keeps only the last parameter's lines in debugfs;
                # the statistics line tells how many there were.
                for d in diag:
                    st = STATS_RE.match(d)
                    if st and st.group(1) == name and \
                            int(st.group(2)) != len(children):
                        parsed.problems.append(
                            '"%s": %d of %s subtests reported'
                            % (name, len(children), st.group(2)))
            node = Node(m.group(1) == 'ok', int(m.group(2)), name,
                        directive, children, diag)
            if depth == 0 and children:
                for d in diag:
                    st = TOTALS_RE.match(d)
                    if st and int(st.group(1)) != count_leaves(node):
                        parsed.problems.append(
                            '"%s": %d of %s leaf results reported'
                            % (name, count_leaves(node), st.group(1)))
            diag = []
            pending.setdefault(depth, []).append(node)
            continue
        m = PLAN_RE.match(stripped)
        if m:
            plans[depth] = int(m.group(1))
            continue
        if stripped.startswith('KTAP version') or \
                stripped.startswith('TAP version') or \
                stripped.startswith('# Subtest:'):
            continue
        diag.append(stripped)
    parsed.roots = pending.pop(0, [])
    for depth, nodes in sorted(pending.items()):
        parsed.orphans += nodes
        parsed.problems.append(
            '%d result(s) at nesting level %d with no closing result line '
            '(log truncated or crashed)' % (len(nodes), depth))
    plan = plans.pop(0, None)
    if plan is not None and parsed.roots and plan != len(parsed.roots):
        parsed.problems.append('%d of %d planned top-level results'
                               % (len(parsed.roots), plan))
    return parsed


def suite_from_kernel_log(path, suite):
    """The KTAP lines of @suite in a module's kernel log, or None."""
    try:
        with open(path, errors='replace') as f:
            lines = [STAMP_RE.sub('', l.rstrip('\r\n')) for l in f]
    except OSError:
        return None
    start = None
    for i, line in enumerate(lines):
        if line.strip() == '# Subtest: ' + suite:
            start = i
        elif start is not None:
            m = RESULT_RE.match(line)
            if m and line == line.lstrip(' ') and m.group(3).split(' #')[0] == suite:
                return lines[start:i + 1]
    return None


class Report:
    def __init__(self):
        self.n = 0
        self.passed = 0
        self.failed = 0

    def result(self, ok, name, directive='', diag=()):
        self.n += 1
        line = '%s %d - %s' % ('ok' if ok else 'not ok', self.n, name)
        if directive:
            line += ' # ' + directive
        print(line)
        if not ok:
            for d in diag:
                print('#   ' + d)
        if ok:
            self.passed += 1
        else:
            self.failed += 1

    def infra(self, msg, diag=()):
        self.result(False, 'infrastructure: ' + msg, diag=diag)


def collect_splats(node, prefix, splats):
    """Map the full name of each test to the kernel problems (KASAN,
    lockdep, WARNING, ...) logged while it ran: those lines precede the
    test's result line in the kernel log, so they are in its diag."""
    name = prefix + node.name
    hits = [d for d in node.diag if SPLAT_RE.search(d)]
    if hits:
        splats[name] = hits
    for child in node.children:
        collect_splats(child, name + '.', splats)


def leaves(report, node, prefix, splats):
    """Report the leaf results under @node; return how many failed."""
    name = prefix + node.name
    splat = splats.get(name)
    if not node.children:
        if node.ok and splat:
            report.result(False, name + ' (kernel problem while it ran)',
                          diag=splat[:3] + ['see dmesg.txt for the rest'])
            return 1
        report.result(node.ok, name, node.directive, node.diag)
        return 0 if node.ok else 1
    failed = 0
    for child in node.children:
        failed += leaves(report, child, name + '.', splats)
    if failed == 0 and (splat or not node.ok):
        # E.g. a suite_init failure, a parameterised case whose generator
        # failed, or a problem in suite_exit: nothing below says why, so
        # count the parent.
        report.result(False, name + (' (kernel problem while it ran)'
                                     if splat else
                                     ' (failed, with no failing subtest)'),
                      node.directive, splat[:3] if splat else node.diag)
        failed = 1
    return failed


def report_suite(report, res, suite, kernel_log):
    path = os.path.join(res, suite + '.ktap')
    try:
        with open(path, errors='replace') as f:
            lines = f.readlines()
    except OSError:
        report.infra('suite %s: no results file %s.ktap' % (suite, suite))
        return
    parsed = parse_ktap(lines)
    source = 'debugfs'
    # KUnit 6.1 keeps in debugfs only the last parameter of parameterised
    # tests and 512 bytes of log per test case, and none of the kernel's
    # own messages; the kernel log has everything.
    klog = suite_from_kernel_log(kernel_log, suite)
    kparsed = parse_ktap(klog) if klog is not None else None
    if (parsed.problems or not parsed.roots) and kparsed is not None and \
            not kparsed.problems and kparsed.roots:
        print('# %s: results from the kernel log; debugfs has %s'
              % (suite, '; '.join(parsed.problems) or 'none'))
        parsed = kparsed
        source = 'kernel log'
    splats = {}
    if kparsed is not None:
        for root in kparsed.roots + kparsed.orphans:
            collect_splats(root, '', splats)
    if not parsed.roots:
        # Whatever the suite reported before it stopped still counts.
        for orphan in parsed.orphans:
            leaves(report, orphan, suite + '.', splats)
        report.infra('suite %s: no complete results in %s.ktap (crashed '
                     'or never ran)' % (suite, suite), diag=parsed.problems)
        return
    for root in parsed.roots:
        if root.name != suite:
            report.infra('suite %s: %s.ktap reports suite "%s"'
                         % (suite, suite, root.name))
        if not root.children:
            report.infra('suite %s: no test results' % suite,
                         diag=root.diag)
            continue
        leaves(report, root, '', splats)
    for problem in parsed.problems:
        report.infra('suite %s (%s): %s' % (suite, source, problem))


def kmemleak_blocks(path):
    try:
        with open(path, errors='replace') as f:
            text = f.read()
    except OSError:
        return None
    blocks = re.split(r'(?m)^(?=unreferenced object )', text)
    return [b for b in blocks if b.startswith('unreferenced object')]


def homa_leak(block):
    """Whether a kmemleak report concerns Homa or its tests.

    Modules are unloaded before the scan, so frames in them print as bare
    addresses ("[<(____ptrval____)>] 0xffffffffc0224715"); the only
    modules in the test VM are homa.ko and its test modules.
    """
    if re.search('homa', block, re.I):
        return True
    return re.search(r'(?m)^\s*\[<[^>]*>\] 0x[0-9a-f]+\s*$', block) \
        is not None


def module_ranges(path):
    """[(start, end, name)] of the modules in a copy of /proc/modules."""
    ranges = []
    try:
        with open(path) as f:
            for line in f:
                w = line.split()
                if len(w) >= 6 and w[5].startswith('0x'):
                    start = int(w[5], 16)
                    ranges.append((start, start + int(w[1]), w[0]))
    except (OSError, ValueError):
        pass
    return ranges


def leak_origin(block, ranges):
    """The first backtrace frame of a kmemleak report in Homa's code, as
    "symbol [module]" or "module+0xoffset" (for frames in modules that had
    been unloaded when the report was printed), or None."""
    for line in block.splitlines():
        m = re.match(r'^\s*\[<[^>]*>\] (\S+)(.*)$', line)
        if not m:
            continue
        if 'homa' in line.lower():
            return (m.group(1) + m.group(2)).strip()
        if re.fullmatch(r'0x[0-9a-f]+', m.group(1)):
            addr = int(m.group(1), 16)
            for start, end, name in ranges:
                if start <= addr < end:
                    return '%s+0x%x' % (name, addr - start)
            return m.group(1) + ' (in an unloaded module)'
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--vm-status', type=int, required=True)
    ap.add_argument('--module', action='append', default=[])
    ap.add_argument('--no-homa', action='store_true')
    ap.add_argument('--no-kmemleak', action='store_true')
    args = ap.parse_args()

    report = Report()
    res = os.path.join(args.out, 'kunit')

    if args.vm_status != 0:
        report.infra('run-vm exited with status %d: %s' % (
            args.vm_status, VM_STATUS.get(args.vm_status,
                                          'the guest script failed')))
    elif not os.path.exists(os.path.join(res, 'done')):
        report.infra('guest-kunit.sh did not run to the end')

    try:
        with open(os.path.join(res, 'infra.txt')) as f:
            for line in f:
                if line.strip():
                    report.infra(line.strip())
    except OSError:
        if args.vm_status == 0:
            report.infra('no kunit/infra.txt: guest-kunit.sh did not run')

    manifest = {}
    order = []
    try:
        with open(os.path.join(res, 'modules.txt')) as f:
            for line in f:
                words = line.split()
                if words:
                    manifest[words[0]] = words[1:]
                    order.append(words[0])
    except OSError:
        pass

    for module in args.module:
        if module not in manifest:
            report.infra('module %s was never loaded (guest stopped '
                         'early?)' % module)
    for module in order:
        words = manifest[module]
        if words and words[0] == 'SKIP':
            print('# %s not loaded: %s' % (module, ' '.join(words[1:])))
            if not args.no_homa:
                report.infra('module %s skipped: %s' % (
                    module, ' '.join(words[1:])))
            continue
        if words and words[0] == 'MISSING':
            continue  # already in infra.txt
        for suite in words:
            report_suite(report, res, suite,
                         os.path.join(args.out, 'dmesg.txt'))

    blocks = kmemleak_blocks(os.path.join(res, 'kmemleak.txt'))
    if blocks is None:
        if args.vm_status == 0 and not args.no_kmemleak:
            report.infra('no kunit/kmemleak.txt from the guest')
    else:
        ignored = 0
        ranges = module_ranges(os.path.join(res, 'proc-modules.txt'))
        for block in blocks:
            if homa_leak(block):
                head = block.splitlines()
                report.infra('kmemleak: %s allocated in %s'
                             % (head[0].strip().rstrip(':'),
                                leak_origin(block, ranges)),
                             diag=[l.rstrip() for l in head[1:]])
            else:
                ignored += 1
        if ignored:
            print('# kmemleak: %d report(s) not involving Homa ignored'
                  % ignored)

    print('1..%d' % report.n)
    print('kunit: %d passed, %d failed' % (report.passed, report.failed))
    return 0 if report.failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
