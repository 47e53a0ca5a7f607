#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Negative twins: prove that libFuzzer finds each planted bug
# (core/base/plant.h) from the committed seed corpus, and report how long
# it took.  Each fuzz-<harness>-planted binary of a libFuzzer build is
# run on a scratch copy of corpus/<harness> with a fixed seed until its
# first crash or the budget; a bug not found is a failure.
#
# Usage: tests/fuzz/negative.sh BUILD_DIR [BUDGET_SECONDS] [--save]
#   BUILD_DIR  a build configured with -Dfuzzing_engine=libfuzzer
#   BUDGET     per harness, default 120
#   --save     store each crashing input as a witness in planted/<h>/
#              (the replay build's fuzz-planted/<h> tests replay them)
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: negative.sh BUILD_DIR [BUDGET] [--save]}
budget=${2:-120}
save=${3:-}
harnesses="${NEG_HARNESSES:-handshake packet stream main model}"
tmp=$(mktemp -d /tmp/mfcolo-negative.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
status=0

max_len() {
    case $1 in
    handshake) echo 400 ;;
    packet) echo 1400 ;;
    model) echo 2048 ;;
    main) echo 512 ;;
    *) echo 16384 ;;
    esac
}

printf '%-10s %-28s %7s %10s %s\n' harness planted found seconds executions
for h in $harnesses; do
    bin=$build/tests/fuzz/fuzz-$h-planted
    plant=$(sed -n "s/^  '$h': \[.*, '\([A-Z_]*\)'\],\$/\1/p" \
            "$here/meson.build")
    if [ ! -x "$bin" ]; then
        echo "negative: $bin missing (libFuzzer build?)" >&2
        status=1
        continue
    fi
    mkdir -p "$tmp/$h/corpus" "$tmp/$h/art"
    cp "$here/corpus/$h/"* "$tmp/$h/corpus/"
    start=$(date +%s.%N)
    "$bin" -seed=1 -max_total_time="$budget" -max_len="$(max_len "$h")" \
        -dict="$here/mfcolo.dict" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=4096 -artifact_prefix="$tmp/$h/art/" \
        "$tmp/$h/corpus" >"$tmp/$h/log" 2>&1
    end=$(date +%s.%N)
    art=$(ls "$tmp/$h/art/" 2>/dev/null | head -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$h/log")
    secs=$(echo "$end - $start" | bc)
    if [ -n "$art" ]; then
        found=yes
        if [ "$save" = "--save" ]; then
            mkdir -p "$here/planted/$h"
            sum=$(sha1sum "$tmp/$h/art/$art" | cut -d' ' -f1)
            cp "$tmp/$h/art/$art" "$here/planted/$h/$sum"
        fi
    else
        found=NO
        status=1
    fi
    printf '%-10s %-28s %7s %10.1f %s\n' "$h" "$plant" "$found" "$secs" \
        "${execs:-?}"
    if [ "$found" = yes ]; then
        grep -m1 -E 'fuzz oracle violated|ERROR: (AddressSanitizer|libFuzzer)|runtime error' \
            "$tmp/$h/log" | sed 's/^/    /'
    fi
done
exit $status
