#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Re-record the halted-guest device state (README.md).
#   tools/run.sh QEMU_7_2 QEMU_10_0_2 [OUTDIR]   (default OUTDIR: this folder)
# Needs python3 and, to rebuild guest/halt.bin, binutils.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
Q72=$1
Q10=$2
OUT=${3:-$HERE}
if command -v as >/dev/null; then
    as --32 -o /tmp/halt.$$.o "$HERE/guest/halt.S"
    ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o "$HERE/guest/halt.bin" \
        /tmp/halt.$$.o
    rm -f /tmp/halt.$$.o
fi
rec()
{
    local name=$1 q=$2
    shift 2
    rm -rf "$OUT/$name"
    mkdir -p "$OUT/$name"
    python3 "$HERE/tools/record.py" --qemu "$q" --out "$OUT/$name" "$@"
    python3 "$HERE/tools/cut.py" "$OUT/$name/conn-0.bin" "$OUT/$name" \
        > "$OUT/$name/parse.txt"
    "$q" -version | head -1 > "$OUT/$name/qemu-version.txt"
    rm -f "$OUT/$name"/*.chunks "$OUT/$name/proxy.log"
}
rec 7.2-colo "$Q72" --mode colo --duration 3
rec 7.2-colo-multifd2 "$Q72" --mode colo --multifd 2 --duration 3
rec 10.0.2-precopy "$Q10" --mode precopy
# 10.0.2's COLO blob: the device sections of its precopy tail (README.md).
python3 - "$OUT/10.0.2-precopy" <<'PY'
import re, sys
d = sys.argv[1]
t = open(d + "/parse.txt").read()
eof = int(re.search(r"QEMU_VM_EOF at tail\+(\d+)", t).group(1))
tail = open(d + "/device-tail.bin", "rb").read()
open(d + "/devstate-0.bin", "wb").write(tail[:eof + 1])
PY
