#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ci/qemu-gate --bench without QEMU: fake binaries (they only answer
# -version) and a fake colo-checkpoint (--bench-tool) that prints result
# lines in colo-checkpoint's format with figures chosen per call.  Checks
# the argument errors, the alternating order of the pairs, the ratios
# (median, spread, direction) in the text and JSON reports, a transport
# without results, and a failing candidate run (exit 1).
# With --real TOOL (suite qemu-full): one pair of real runs of TOOL
# (bench/colo-checkpoint) on the binary under test as both base and
# candidate, plain idle, 3 checkpoints: the report has the row, with 3
# checkpoints on each side and ratios.
# usage: test-qemu-gate-bench.sh SOURCE_ROOT [--real TOOL]
set -u
root=$1
gate="$root/ci/qemu-gate"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0

check()
{
    local name=$1 want_rc=$2 want=$3 out rc
    shift 3
    # Each run takes a few seconds: a hang fails in 30 s, named.
    out=$(timeout -k 5 30 "$@" 2>&1)
    rc=$?
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        out="watchdog: $*: still waiting after 30 s"
    fi
    if [ "$rc" != "$want_rc" ] || ! grep -qF -- "$want" <<<"$out"; then
        echo "FAIL $name: exit $rc (want $want_rc), output:"
        sed 's/^/    /' <<<"$out"
        echo "    (wanted a line containing: $want)"
        fails=$((fails + 1))
    else
        echo "ok   $name"
    fi
}

if [ "${2:-}" = --real ]; then
    bin=${QTEST_QEMU_BINARY:-${MFCOLO_QEMU:-/usr/bin/qemu-system-x86_64}}
    python3 "$gate" --bench --base "$bin" --candidate "$bin" \
        --bench-tool "$3" --pairs 1 --transports plain --runs idle \
        --checkpoints 3 --out "$work/out"
    rc=$?
    python3 - "$work/out/qemu-gate-bench.json" "$rc" <<'EOF'
import json, sys
rc = int(sys.argv[2])
rows = json.load(open(sys.argv[1]))['rows']
r = rows[0] if len(rows) == 1 else None
ok = (rc == 0 and r and (r['comp'], r['run'], r['transport']) ==
      ('none', 'idle', 'plain') and r['complete_pairs'] == 1 and
      r['pairs'][0]['base']['n'] == 3 and
      r['pairs'][0]['candidate']['n'] == 3 and
      r['mean']['median'] > 0 and r['p99']['median'] > 0)
print('ok   real' if ok else 'FAIL real: exit %d, rows %r' % (rc, rows))
sys.exit(0 if ok else 1)
EOF
    exit $?
fi

for side in base cand; do
    cat >"$work/qemu-$side" <<EOF
#!/bin/sh
echo "QEMU emulator version 9.9.1 (fake $side)"
EOF
    chmod +x "$work/qemu-$side"
done
# The fake benchmark: call N (1-based, counted in $work/calls) of the
# binary qemu-base prints mean 10 p99 20; of qemu-cand the K-th
# candidate call prints mean 3+K and p99 30, 10, 25 (K = 1, 2, 3).
# multifd-2 has no checkpoints on the base.  FAIL_CALL=N fails call N.
cat >"$work/bench" <<'EOF'
#!/bin/bash
work=$(dirname "$0")
args="$*"
while [ $# -gt 0 ]; do
    case $1 in
    --qemu) q=$2; shift ;;
    esac
    shift
done
echo "$(basename "$q") $args" >>"$work/calls"
n=$(wc -l <"$work/calls")
if [ "${FAIL_CALL:-0}" = "$n" ]; then
    echo "session load ch 0 none: boom" >&2
    exit 1
fi
echo "colo-checkpoint: fake"
if [ "$(basename "$q")" = qemu-base ]; then
    m=10.00 p=20.00 n2=0
else
    k=$(grep -c qemu-cand "$work/calls")
    m=$((3 + k)).00 p=$(echo 30 10 25 | cut -d' ' -f"$k").00 n2=30
fi
printf 'none load plain         30 |   %6s     1.00   %6s    40.00 |    1.00    0.00    1.00    0.00 |   4.00\n' "$m" "$p"
printf 'none load multifd-2   %4s |   %6s     1.00   %6s    40.00 |    1.00    0.00    1.00    0.00 |   4.00\n' "$n2" "$m" "$p"
EOF
chmod +x "$work/bench"

g=(python3 "$gate" --bench --base "$work/qemu-base"
   --candidate "$work/qemu-cand" --bench-tool "$work/bench")
check with-full 2 "--bench takes no --full or --only" "${g[@]}" --full
check bad-transport 2 "--transports: 'multifd-3' is not plain or multifd-1/2/4/8" \
    "${g[@]}" --transports plain,multifd-3

rm -f "$work/calls"
check ratios 0 "none load plain          3 | 0.50 [0.40..0.60] lower      | 1.25 [0.50..1.50] mixed      | 10.00/5.00, 20.00/25.00" \
    "${g[@]}" --out "$work/out" --transports plain,multifd-2 --runs load \
    --checkpoints 7
check order 0 "qemu-base qemu-cand qemu-cand qemu-base qemu-base qemu-cand" \
    echo $(cut -d' ' -f1 "$work/calls")
check bench-args 0 "--checkpoints 7 --sessions 1 --only plain --only multifd-2 --only none --only load" \
    head -1 "$work/calls"
check no-pairs 0 "none load multifd-2      0 | -                            | -  " \
    cat "$work/out/qemu-gate-bench.txt"
check header 0 "3 pairs, order b1 c1 c2 b2 b3 c3; 7 checkpoints per run" \
    cat "$work/out/qemu-gate-bench.txt"
check json 0 "0.5 0.4 0.6 lower 1.25 mixed" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["rows"][0]
print(r["mean"]["median"], r["mean"]["min"], r["mean"]["max"],
      r["mean"]["direction"], r["p99"]["median"], r["p99"]["direction"])
' "$work/out/qemu-gate-bench.json"
check xml 0 'name="none/load/plain"' cat "$work/out/qemu-gate-bench.xml"
check run-log 0 "none load plain         30 |    10.00" \
    cat "$work/out/bench-runs/pair2-base.txt"

rm -f "$work/calls"
check cand-fails 1 "run failed: pair 1 candidate: exit 1: session load ch 0 none: boom" \
    env FAIL_CALL=2 "${g[@]}" --out "$work/out2" --transports plain \
    --runs load --pairs 1
rm -f "$work/calls"
check base-fails 2 "run failed: pair 1 base: exit 1: session load ch 0 none: boom" \
    env FAIL_CALL=1 "${g[@]}" --out "$work/out3" --transports plain \
    --runs load --pairs 1
echo "$fails failed"
[ "$fails" = 0 ]
