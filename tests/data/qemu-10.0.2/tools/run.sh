#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Record the QEMU 10.0.2 multifd captures of this folder.
#
#   QEMU=$(ci/qemu-fetch 10.0.2) tests/data/qemu-10.0.2/tools/run.sh [WORKDIR] [OUTDIR]
#
# Needs python3, zstd and libzstd.  Everything listens/connects on
# 127.0.0.1 only.  Each run starts a source and a destination QEMU (TCG,
# -S, 32 MiB, machine pc-i440fx-7.2, the 7.2 recordings' command line;
# the destination adds -incoming defer and a file-backed pc.ram), the
# capture proxy (proxy.py) between them, drives both over QMP
# (capture.py), then parses the streams, rebuilds every RAM block and
# checks it against the loader image and the destination's own memory
# (parse.py), and copies the result into OUTDIR (collect.py).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${1:-/tmp/qcap10-work}"
OUT="${2:-$HERE/..}"
PY="${PYTHON:-python3}"
: "${QEMU:?set QEMU to the 10.0.2 binary (QEMU=\$(ci/qemu-fetch 10.0.2))}"
export QEMU

mkdir -p "$OUT"
"$QEMU" -version | tee "$OUT/qemu-version.txt"
pkg=$(dirname "$(dirname "$(dirname "$QEMU")")")/../fetch.txt
if [ -f "$pkg" ]; then
    sed -n 's/^package: /package: /p; s/^deb: /deb: /p; s/^suite: /suite: /p' "$pkg" \
        >>"$OUT/qemu-version.txt"
fi
dpkg-query -W qemu-system-data seabios >>"$OUT/qemu-version.txt" 2>/dev/null || true

rm -rf "$WORK/runs" && mkdir -p "$WORK/runs"
"$PY" "$HERE/../../qemu-7.2/tools/gen_data.py" "$WORK/data" >/dev/null
cp "$WORK/data/layout.json" "$OUT/layout.json"
(cd "$WORK/data" && sha256sum *.bin *.txt) >"$OUT/sha256sums.txt"

# The shape 10.0.2 uses on its current machine types, on pc-i440fx-7.2:
# zero pages inside the multifd packets, one sync per round.
CURRENT="--param zero-page-detection=multifd --global migration.multifd-flush-after-each-section=off"
# name channels compression proxy-port dest-port extra
RUNS="nocomp-2ch 2 none 46111 47111 $CURRENT
zstd-2ch 2 zstd 46112 47112 $CURRENT
zlib-2ch 2 zlib 46113 47113 $CURRENT
zstd-4ch 4 zstd 46114 47114 $CURRENT
compat-zstd-2ch 2 zstd 46115 47115"

echo "$RUNS" | while read -r name ch comp pport dport extra; do
    echo "=== $name: multifd-channels=$ch multifd-compression=$comp $extra"
    # shellcheck disable=SC2086
    timeout 180 "$PY" "$HERE/capture.py" run --name "$name" --channels "$ch" \
        --compression "$comp" --data "$WORK/data" --out "$WORK/runs/$name" \
        --proxy-port "$pport" --dest-port "$dport" --dst-ram-file $extra
    "$PY" "$HERE/parse.py" "$WORK/runs/$name" --data "$WORK/data" \
        --report "$WORK/runs/$name/report.json" >"$WORK/runs/$name/parse.txt"
    grep '^check' "$WORK/runs/$name/parse.txt"
done
"$PY" "$HERE/collect.py" "$WORK" "$OUT"
