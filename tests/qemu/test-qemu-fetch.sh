#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-qemu-fetch.sh SRC_ROOT: ci/qemu-fetch's argument handling, cache
# reuse and failure messages, without network access (an unreachable
# archive URI stands for "no network"; a fake cached binary for a cache
# filled by an earlier call).  Each check states the exit status and the
# exact message.
set -u
root=${1:?usage: test-qemu-fetch.sh SRC_ROOT}
fetch="$root/ci/qemu-fetch"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mfcolo-qemu-fetch-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failures=0

# run ARGS...: sets rc, out (stdout), err (stderr)
run()
{
    # Each run takes well under a second: a hang fails in 20 s, named.
    timeout -k 5 20 "$fetch" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        echo "watchdog: ci/qemu-fetch $*: still waiting after 20 s" \
            >>"$tmp/err"
    fi
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}

# expect NAME RC STREAM TEXT: status RC and TEXT as a whole line of STREAM
expect()
{
    local name=$1 want_rc=$2 stream=$3 text=$4 body
    if [ "$stream" = out ]; then body=$out; else body=$err; fi
    if [ "$rc" != "$want_rc" ] || ! grep -qxF -- "$text" <<<"$body"; then
        echo "FAIL $name: want status $want_rc and $stream line '$text'"
        echo "  got status $rc"
        echo "  stdout: $out" | head -n 5
        echo "  stderr: $err" | head -n 5
        failures=$((failures + 1))
    else
        echo "ok   $name"
    fi
}

usage_line="usage: ci/qemu-fetch [--cache DIR] [--offline] VERSION (VERSION: 7.2 or 10.0.2)"

run
expect no-version 2 err "ci/qemu-fetch: no VERSION given"
run
expect usage-line 2 err "$usage_line"
run 9.9
expect unknown-version 2 err \
    "ci/qemu-fetch: unknown VERSION '9.9' (known: 7.2, 10.0.2)"
run 7.2 10.0.2
expect two-versions 2 err "ci/qemu-fetch: more than one VERSION (7.2, 10.0.2)"
run --frobnicate 7.2
expect unknown-option 2 err "ci/qemu-fetch: unknown option --frobnicate"
run 10.0.2 --cache
expect cache-no-arg 2 err "ci/qemu-fetch: --cache needs a directory"
run --cache= 10.0.2
expect cache-empty 2 err "ci/qemu-fetch: --cache needs a directory"
run --help
expect help 0 out "ci/qemu-fetch [--cache DIR] [--offline] VERSION"

# 7.2 is Debian 12's package (ci/packages installs it).
run 7.2
expect debian-7.2 0 out /usr/bin/qemu-system-x86_64

# An empty cache with --offline: nothing fetched, exact reason.
run --offline --cache "$tmp/empty" 10.0.2
expect offline-empty 1 err \
    "ci/qemu-fetch: --offline: 10.0.2 is not in the cache ($tmp/empty/10.0.2/fetch.txt missing)"

# A complete cache is reused without the network (--offline proves it),
# whatever the option order; the path is the last line of stdout.
cache="$tmp/cache"
fake="$cache/10.0.2/root/usr/bin/qemu-system-x86_64"
mkdir -p "$(dirname "$fake")"
printf '#!/bin/sh\necho "QEMU emulator version 10.0.2 (fake)"\n' >"$fake"
chmod +x "$fake"
echo "package: qemu-system-x86=1:10.0.2+ds-2+deb13u1~bpo12+1" \
    >"$cache/10.0.2/fetch.txt"
run --offline --cache "$cache" 10.0.2
expect cached-offline 0 out "$fake"
run 10.0.2 --cache="$cache"
expect cached 0 out "$fake"
[ "$(tail -n 1 "$tmp/out")" = "$fake" ] || {
    echo "FAIL cached: the path is not the last line"
    failures=$((failures + 1))
}
# The cache root also comes from MFCOLO_BUILD (<build>/qemu-cache).
mkdir -p "$tmp/b"
mv "$cache" "$tmp/b/qemu-cache"
MFCOLO_BUILD="$tmp/b" run --offline 10.0.2
expect mfcolo-build 0 out "$tmp/b/qemu-cache/10.0.2/root/usr/bin/qemu-system-x86_64"
mv "$tmp/b/qemu-cache" "$cache"

# A cached binary of another version is reported, not used.
printf '#!/bin/sh\necho "QEMU emulator version 10.0.20 (fake)"\n' >"$fake"
run --offline --cache "$cache" 10.0.2
expect cached-mismatch 1 err \
    "ci/qemu-fetch: version mismatch: cached $fake is not 10.0.2 (remove $cache/10.0.2 to fetch again)"

# No network: an archive that refuses connections (one attempt).
printf 'Acquire::Retries "0";\n' >"$tmp/apt.conf"
APT_CONFIG="$tmp/apt.conf" MFCOLO_DEBIAN_URI=http://127.0.0.1:9/debian \
    run --cache "$tmp/nonet" 10.0.2
expect no-network 1 err \
    "ci/qemu-fetch: no network or no archive: apt-get update of http://127.0.0.1:9/debian bookworm-backports failed (log: $tmp/nonet/10.0.2/apt/update.log)"
# ... and nothing was written outside the private cache folder.
if ! grep -qx "deb \[signed-by=.*\] http://127.0.0.1:9/debian bookworm-backports main" \
    "$tmp/nonet/10.0.2/apt/sources.list"; then
    echo "FAIL no-network: private sources file missing"
    failures=$((failures + 1))
fi
if grep -rqs "127.0.0.1:9" /etc/apt/sources.list /etc/apt/sources.list.d; then
    echo "FAIL no-network: the system's apt sources mention the test URI"
    failures=$((failures + 1))
fi

echo "$failures failed"
[ "$failures" = 0 ]
