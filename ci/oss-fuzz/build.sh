#!/bin/bash -eu
# SPDX-License-Identifier: GPL-2.0-or-later
#
# OSS-Fuzz / ClusterFuzzLite build script (projects/mfcolo/build.sh, or
# .clusterfuzzlite/build.sh).  Uses only what the builder provides: $CC,
# $CFLAGS (sanitizer and -fsanitize=fuzzer-no-link already in), the
# engine's link flags $LIB_FUZZING_ENGINE (libFuzzer, AFL++ driver or
# honggfuzz), $SRC, $WORK and $OUT.  Produces in $OUT, per harness:
#   fuzz-<h>                  the fuzz target
#   fuzz-<h>_seed_corpus.zip  tests/fuzz/corpus/<h>
#   fuzz-<h>.dict             tests/fuzz/mfcolo.dict
#   fuzz-<h>.options          libFuzzer options (max_len)
# ci/oss-fuzz/check runs it locally with the variables set as OSS-Fuzz
# sets them.
src=${MFCOLO_SRC:-$SRC/mfcolo}
build=$WORK/mfcolo-build
harnesses="handshake packet roundtrip stream main model"

rm -rf "$build"
# b_lundef=false: the engine library resolves LLVMFuzzerTestOneInput's
# caller at link time; no sanitizer options here, $CFLAGS has them.
meson setup "$build" "$src" \
    -Dfuzzing_engine=oss-fuzz \
    -Dlib_fuzzing_engine="$LIB_FUZZING_ENGINE" \
    -Db_lundef=false -Dbuildtype=plain -Ddefault_library=static \
    -Dfaults=disabled -Dqtest=disabled
targets=""
for h in $harnesses; do
    targets="$targets tests/fuzz/fuzz-$h"
done
ninja -C "$build" $targets

for h in $harnesses; do
    cp "$build/tests/fuzz/fuzz-$h" "$OUT/fuzz-$h"
    rm -f "$OUT/fuzz-${h}_seed_corpus.zip"
    (cd "$src/tests/fuzz/corpus/$h" && zip -q -j \
        "$OUT/fuzz-${h}_seed_corpus.zip" ./*)
    cp "$src/tests/fuzz/mfcolo.dict" "$OUT/fuzz-$h.dict"
    case $h in
    handshake) len=400 ;;
    packet) len=1400 ;;
    roundtrip) len=512 ;;
    model) len=2048 ;;
    *) len=16384 ;;
    esac
    printf '[libfuzzer]\nmax_len = %s\ndict = fuzz-%s.dict\n' "$len" "$h" \
        >"$OUT/fuzz-$h.options"
done
