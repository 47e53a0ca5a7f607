# SPDX-License-Identifier: GPL-2.0-or-later
# Shared set-up for ci/test and ci/gate (sourced, never run).
#
# Provides: the repository root, Debian package installation (only what
# is missing, no prompts), idempotent meson set-up of a build directory,
# and a parser for meson test's summary.  Policy values live in
# ci/gate.conf; the package list lives in ci/packages.

MF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MF_CI="$MF_ROOT/ci"
# shellcheck source=ci/gate.conf
. "$MF_CI/gate.conf"

# Build directory of the main (-Werror) configuration; the gate derives
# "<it>-asan" and "<it>-coverage" from it.  Relative to the repository.
MF_BUILD=${MFCOLO_BUILD:-build}
case "$MF_BUILD" in
/*) ;;
*) MF_BUILD="$MF_ROOT/$MF_BUILD" ;;
esac

export LC_ALL=C.UTF-8
export DEBIAN_FRONTEND=noninteractive

mf_log()
{
    echo "[ci] $*" >&2
}

# Packages from a list file (default ci/packages), comments and blank
# lines stripped.
mf_package_list()
{
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "${1:-$MF_CI/packages}" |
        grep -v '^$'
}

mf_package_installed()
{
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# Install the packages of a list file (default ci/packages) that are
# missing.  Does nothing (no apt-get update either) when all are present.
# MFCOLO_NO_APT=1 skips the step (for machines managed otherwise).
mf_ensure_packages()
{
    local missing="" pkg list=${1:-$MF_CI/packages}

    if [ "${MFCOLO_NO_APT:-0}" = 1 ]; then
        mf_log "MFCOLO_NO_APT=1: not checking Debian packages"
        return 0
    fi
    if ! command -v dpkg-query >/dev/null 2>&1; then
        mf_log "no dpkg-query: not a Debian system, skipping package check"
        return 0
    fi
    for pkg in $(mf_package_list "$list"); do
        if ! mf_package_installed "$pkg"; then
            missing="$missing $pkg"
        fi
    done
    if [ -z "$missing" ]; then
        mf_log "all $(mf_package_list "$list" | wc -l) Debian packages of" \
            "$(basename "$list") present"
        return 0
    fi
    mf_log "installing missing Debian packages:$missing"
    if [ "$(id -u)" != 0 ]; then
        mf_log "not root: run as root, or install them yourself:"
        mf_log "  apt-get install -y$missing"
        return 1
    fi
    # shellcheck disable=SC2086
    apt-get update -q </dev/null &&
        apt-get install -y -q --no-install-recommends $missing </dev/null
}

# mf_setup_build DIR [meson options...]
# Configure DIR, reusing it when it exists (options are re-applied, so a
# re-run is cheap and picks up changes); wipes it only if reconfiguring
# fails (e.g. created by another meson version).
mf_setup_build()
{
    local dir=$1 log rc=1
    shift

    cd "$MF_ROOT" || return 1
    log=$(mktemp) || return 1
    if [ -f "$dir/meson-private/coredata.dat" ]; then
        if meson setup --reconfigure "$dir" "$@" >"$log" 2>&1; then
            rc=0
        else
            mf_log "reconfigure of $dir failed, wiping it"
            meson setup --wipe "$dir" "$@" >>"$log" 2>&1 && rc=0
        fi
    else
        meson setup "$dir" "$@" >"$log" 2>&1 && rc=0
    fi
    if [ "$rc" = 0 ]; then
        cp "$log" "$dir/ci-setup.log"
    else
        tail -n 40 "$log" >&2
    fi
    rm -f "$log"
    return "$rc"
}

# Options of the main build: C11, warning_level=2 (-Wall -Wextra), -Werror.
MF_MAIN_OPTS="-Dc_std=c11 -Dwarning_level=2 -Dwerror=true --wrap-mode=nodownload"

mf_build()
{
    ninja -C "$1"
}

# mf_meson_test DIR LOG [meson test args...]
# Run meson test, copy its output to LOG and set MF_T_OK, MF_T_XFAIL,
# MF_T_FAIL, MF_T_XPASS, MF_T_SKIP, MF_T_TIMEOUT from its summary, then
# MF_T_PASSED (Ok + Expected Fail) and MF_T_FAILED (Fail + Unexpected
# Pass + Timeout + Skipped: this project has no legitimate skip, so a
# skip is a failure).  Returns meson's exit status, or 1 when it passed
# but a test was skipped, or 1 when no test ran at all.
mf_meson_test()
{
    local dir=$1 log=$2 rc mult=
    shift 2

    # A timeout multiplier (-t M) scales the tests' own whole-process
    # bounds too (tests/support/process-watchdog.h): MFCOLO_TIMEOUT_MULTIPLIER.
    local prev=
    for a in "$@"; do
        case "$prev" in
        -t|--timeout-multiplier) mult=$a ;;
        esac
        case "$a" in
        --timeout-multiplier=*) mult=${a#*=} ;;
        esac
        prev=$a
    done
    # --no-rebuild: callers build first, so the tests are those of the
    # build that was checked.
    env ${mult:+MFCOLO_TIMEOUT_MULTIPLIER=$mult} \
        meson test -C "$dir" --no-rebuild --print-errorlogs "$@" 2>&1 |
        tee "$log"
    rc=${PIPESTATUS[0]}
    mf_parse_summary "$log"
    if [ "$rc" = 0 ] && [ "$MF_T_FAILED" != 0 ]; then
        rc=1
    fi
    if [ "$rc" = 0 ] && [ "$MF_T_PASSED" = 0 ]; then
        rc=1
    fi
    return "$rc"
}

mf_parse_summary()
{
    local vals

    # Strip colours, take the last summary block.
    vals=$(sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
        /^Ok:/              { ok = $2 }
        /^Expected Fail:/   { xf = $3 }
        /^Fail:/            { f = $2 }
        /^Unexpected Pass:/ { xp = $3 }
        /^Skipped:/         { sk = $2 }
        /^Timeout:/         { to = $2 }
        END { printf "%d %d %d %d %d %d\n", ok, xf, f, xp, sk, to }')
    # shellcheck disable=SC2086
    set -- $vals
    MF_T_OK=$1 MF_T_XFAIL=$2 MF_T_FAIL=$3 MF_T_XPASS=$4 MF_T_SKIP=$5
    MF_T_TIMEOUT=$6
    MF_T_PASSED=$((MF_T_OK + MF_T_XFAIL))
    MF_T_FAILED=$((MF_T_FAIL + MF_T_XPASS + MF_T_TIMEOUT + MF_T_SKIP))
}

# Number of tests meson knows in suite $2 of build DIR $1 (0 if none).
mf_count_suite()
{
    meson introspect "$1" --tests | python3 -c '
import json, sys
suite = sys.argv[1]
tests = json.load(sys.stdin)
print(sum(1 for t in tests
          if any(s.split(":")[-1] == suite for s in t["suite"])))
' "$2"
}
