#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run every qemu/colo case of tests/qemu/colo-real.c against one QEMU and
# print one line per case (the test's outcome line), two cases at a time.
#   tests/qemu/colo-matrix.sh BUILD_DIR [QEMU_BINARY] [FILTER]
# The lines are what tests/qemu/expect/colo-VERSION.txt records: a case
# whose outcome is not "ok" is a line "NAME OUTCOME".
set -u
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 2 ] && [ -n "$2" ] && export QTEST_QEMU_BINARY=$2
FILTER=${3:-}
export MFCOLO_DATA_ROOT=$SRC/tests/data
export MFCOLO_QEMU_EXPECT_DIR=$SRC/tests/qemu/expect
names=()
for t in plain multifd-{none,zstd}-{1,2,4}; do
    for s in checkpoints svm-dirty cut/{before-request,after-reply,ram-partial,sync-partial,after-flush,devstate-partial,after-received}; do
        names+=("qemu/colo/$t/$s")
    done
    [ "$t" != plain ] && names+=("qemu/colo/$t/cut/channel")
done
printf '%s\n' "${names[@]}" | grep -e "$FILTER" |
    xargs -P 2 -I{} sh -c "timeout 120 '$BUILD/tests/qemu/qemu-colo-test' -p {} 2>/dev/null | grep ' outcome ' || echo '{} outcome timeout'"
