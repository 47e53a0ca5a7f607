#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/colo-checkpoint's ratio lines (the gate's `bench` row reads them):
# plain of the same run gives every transport a number, plain itself
# exactly 1.00; without plain in the run the ratio to plain is "-", never
# a 0.00 that reads like a measurement.  Tiny runs (16 MiB guest, three
# 1.2 MB checkpoints): a format check, not a timing.
# usage: test-ratio-lines.sh COLO_CHECKPOINT
set -u
bench=$1
small=(--checkpoints 3 --sessions 1 --guest-mib 16 --rate 4 --only load
       --only none)
num='[0-9]+\.[0-9]{2}'
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
# Each run takes under a second; 8 s is its bound, well inside meson's
# 20 s timeout, so a hang or a spin fails here with a message.  Both grow
# with the run's timeout multiplier (MFCOLO_TIMEOUT_MULTIPLIER: x10 in
# ci/coverage, where -O0 and gcov make the runs several times slower).
bound=$(awk -v m="${MFCOLO_TIMEOUT_MULTIPLIER:-1}" \
    'BEGIN { b = 8 * m; print (b == int(b)) ? b : int(b) + 1 }')
run() {
    local rc=0
    timeout -k 2 "$bound" "$bench" "${small[@]}" "$@" 2>&1 || rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        fail "watchdog: colo-checkpoint ${small[*]} $*: still waiting after $bound s"
    elif [ "$rc" -ne 0 ]; then
        fail "colo-checkpoint ${small[*]} $* exited with $rc"
    fi
}

out=$(run --only plain --only multifd-2) || exit 1
echo "$out" | tail -n 3
echo "$out" | grep -Eqx "load plain mean 1\.00 p99 1\.00 comp none recv/sink $num flush/memcpy $num" ||
    fail "with plain: no 'load plain mean 1.00 p99 1.00 ...' line"
echo "$out" | grep -Eqx "load multifd-2 mean $num p99 $num comp none recv/sink $num flush/memcpy $num" ||
    fail "with plain: no numeric 'load multifd-2 mean X p99 Y ...' line"

out=$(run --only multifd-2) || exit 1
echo "$out" | tail -n 1
echo "$out" | grep -Eqx "load multifd-2 mean - p99 - comp none recv/sink $num flush/memcpy $num" ||
    fail "without plain: no 'load multifd-2 mean - p99 - ...' line"
echo "$out" | grep -Eq "mean 0\.00|p99 0\.00" &&
    fail "without plain: a ratio of 0.00 printed"
echo "ok bench/ratio-lines"
