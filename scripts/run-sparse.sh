#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run sparse (C=2: every file, whether rebuilt or not) over the module
# and fail on any sparse warning or error in our own files.
# Usage: run-sparse.sh KDIR
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
kdir=$1
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if ! make -s -C "$kdir" M="$root" C=2 W=1 modules >"$log" 2>&1; then
	cat "$log"
	echo "sparse: build failed"
	exit 1
fi
# Only our files count; kernel headers are not ours to fix.
if grep -E "^($root/)?(homa_[a-z_0-9]+\.[ch]|uapi/linux/homa\.h|$root/uapi/linux/homa\.h):[0-9]+:[0-9]+: (warning|error)" "$log"; then
	echo "sparse: warnings in Homa sources"
	exit 1
fi
echo "sparse: clean"
