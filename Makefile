# SPDX-License-Identifier: GPL-2.0
#
# Builds homa.ko against an installed kernel (KDIR) and drives the test
# machinery.  Kernel-side objects are described in Kbuild.
#
#   make            build homa.ko for KDIR and the tools in util/
#   make check      everything a reviewer runs: W=1 build, sparse,
#                   checkpatch, KUnit and system tests in VMs
#   make kunit      KUnit suites in the debug-kernel VM
#   make systest    system tests in the stock- and debug-kernel VMs
#   make testkernel build (or find cached) the debug kernel
#   make install    install homa.ko for KDIR's kernel and run depmod
#   make deps       install missing packages (root) or list them
#   make demo       deps, build, then a short Homa vs TCP comparison with
#                   util/cperf on an emulated 3-host cluster in a VM
#   make bench      deps, build, then the longer benchmark set (util/bench):
#                   RTT, 1 MB throughput, cperf W2-W5 at 50%/80%, in VMs

ROOT := $(CURDIR)

ifeq ($(KDIR),)
KDIR_RUNNING := /lib/modules/$(shell uname -r)/build
ifneq ($(wildcard $(KDIR_RUNNING)/Makefile),)
KDIR := $(KDIR_RUNNING)
KDIR_WHY := running kernel
else
KDIR := $(lastword $(sort $(wildcard /lib/modules/*/build)))
KDIR_WHY := newest installed headers; the running kernel has none
endif
else
KDIR_WHY := set by KDIR=
endif

.PHONY: all module tools install clean deps testkernel debug-build kunit systest \
	sparse checkpatch check print-kdir demo bench

all: module tools

module:
	@if [ -z "$(KDIR)" ] || [ ! -f "$(KDIR)/Makefile" ]; then \
		echo "No kernel build tree found; run 'make deps' (needs linux-headers-amd64)" >&2; \
		exit 2; \
	fi
	@echo "Building homa.ko against $(KDIR) ($(KDIR_WHY))"
	$(MAKE) -C $(KDIR) M=$(ROOT) W=1 modules

# Install into /lib/modules/<release>/updates (modules_install runs depmod)
# so that socket(..., IPPROTO_HOMA) autoloads the module.
install: module tools
	$(MAKE) -C $(KDIR) M=$(ROOT) INSTALL_MOD_DIR=updates modules_install

tools:
	$(MAKE) -C util

deps:
	@bash scripts/install-deps.sh

# The README's "run it": about a minute once built.
# DEMO_ARGS go to "cperf run" in the VM, e.g. DEMO_ARGS="--time 30".
demo: deps
	@$(MAKE) --no-print-directory all
	@util/cperf demo -- $(DEMO_ARGS)

# The longer benchmark set (man -l man/bench.1): 100-byte RTT of Homa,
# TCP and UDP, 1 MB single-flow throughput, cperf W2-W5 at 50% and 80%
# load, 3 repetitions, with statistics and path checks; results in
# build/bench/DATE-TIME/.  About 25 minutes on the 2-core machine.
# BENCH_QUICK=1: a smoke configuration (about 6 minutes); BENCH_REPS=N:
# repetitions; BENCH_ARGS: more options of "util/bench run".
bench: deps
	@$(MAKE) --no-print-directory all
	@util/bench run $(if $(filter-out 0,$(BENCH_QUICK)),--quick) \
		$(if $(BENCH_REPS),--reps $(BENCH_REPS)) $(BENCH_ARGS)

testkernel:
	@bash test/vm/testkernel.sh >/dev/null

# homa.ko and the KUnit test modules built against the debug kernel, in
# build/debug and build/kunit (source symlinks keep the tree clean).
debug-build: testkernel
	@bash scripts/build-debug.sh

kunit: debug-build
	@bash test/kunit/run-kunit.sh

systest: module tools debug-build
	@bash test/system/run-systest.sh --kernel stock
	@bash test/system/run-systest.sh --kernel debug

print-kdir:
	@echo $(KDIR)

sparse:
	@bash scripts/run-sparse.sh "$(KDIR)"

checkpatch:
	@bash scripts/run-checkpatch.sh

check:
	@bash scripts/check.sh

clean:
	$(MAKE) -C $(KDIR) M=$(ROOT) clean 2>/dev/null || true
	$(MAKE) -C util clean
	rm -rf build
