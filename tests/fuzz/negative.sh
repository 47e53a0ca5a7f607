#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Negative twins: prove that libFuzzer finds each planted bug
# (core/base/plant.h), and report how long it took.  Each
# fuzz-<harness>-planted binary of a libFuzzer build is run with a fixed
# seed until its first crash or the budget; a bug not found is a failure.
#
# Where each run starts (NEG_FROM):
#   seeds   (default) the seed corpus alone, made afresh by make-seeds.py
#           from the captures and BUILD_DIR's fuzz-gen-seeds: the
#           committed corpus is not used, because campaigns have added
#           inputs that already reach (or are) the planted bug
#   empty   nothing but the dictionary
#   corpus  a copy of the committed corpus/<harness>
#
# Usage: [NEG_FROM=seeds|empty|corpus] [NEG_HARNESSES="h ..."]
#        tests/fuzz/negative.sh BUILD_DIR [BUDGET_SECONDS] [--save]
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
from=${NEG_FROM:-seeds}

case "$from" in
seeds)
    gen=$build/tests/fuzz/fuzz-gen-seeds
    : >"$tmp/seeds.log"
    if [ ! -x "$gen" ] ||
        ! python3 "$here/make-seeds.py" --gen "$gen" --out "$tmp/seeds" \
            >"$tmp/seeds.log" 2>&1; then
        echo "negative: cannot make the seed corpus ($gen):" >&2
        tail -n 5 "$tmp/seeds.log" >&2
        exit 1
    fi ;;
empty|corpus) ;;
*) echo "negative: NEG_FROM must be seeds, empty or corpus" >&2; exit 2 ;;
esac

max_len() {
    case $1 in
    handshake) echo 400 ;;
    packet) echo 1400 ;;
    model) echo 2048 ;;
    main) echo 512 ;;
    *) echo 16384 ;;
    esac
}

echo "planted bugs, each run starting from: $from"
printf '%-10s %-28s %7s %10s %s\n' harness planted found seconds executions
for h in $harnesses; do
    bin=$build/tests/fuzz/fuzz-$h-planted
    # The entry's last quoted upper-case name, over as many lines as the
    # entry takes in meson.build ('main' spans two).
    plant=$(awk -v key="'$h':" '$1 == key { on = 1 }
                on { printf "%s ", $0 } on && /\],?$/ { exit }' \
            "$here/meson.build" | grep -oE "'[A-Z0-9_]+'" | tail -n 1 |
            tr -d "'")
    if [ -z "$plant" ]; then
        echo "negative: no planted bug named for '$h' in" \
             "$here/meson.build" >&2
        status=1
        continue
    fi
    if [ ! -x "$bin" ]; then
        echo "negative: $bin missing (libFuzzer build?)" >&2
        status=1
        continue
    fi
    mkdir -p "$tmp/$h/corpus" "$tmp/$h/art"
    case "$from" in
    seeds) cp "$tmp/seeds/$h/"* "$tmp/$h/corpus/" ;;
    corpus) cp "$here/corpus/$h/"* "$tmp/$h/corpus/" ;;
    esac
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
