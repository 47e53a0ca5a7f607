#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The verdict of qemu-hostile (test-hostile.c) without a real QEMU: a fake
# binary answers -version, a fake mfcolo-qemu prints the outcome chosen
# here.  Checks: worse than recorded fails and names the NEW finding; a
# better outcome passes and prints it as VANISHED; the recorded outcome
# passes; an unknown version fails and says how to record expectations;
# a control that does not complete fails; a tool without an outcome line
# fails; a tool that overruns its own bounds is killed and fails.
#
# usage: test-hostile-verdict.sh QEMU_HOSTILE DATA_ROOT EXPECT_DIR
set -u
# The runner's own logic against recorded expectations: never gate mode.
unset MFCOLO_QEMU_GATE
runner=$1
data=$2
expect=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
EXTRA=

cat > "$work/qemu" <<'EOF'
#!/bin/sh
echo "QEMU emulator version ${FAKE_VERSION:-7.2.22} (fake)"
EOF
cat > "$work/tool" <<'EOF'
#!/bin/sh
[ -n "$FAKE_SLEEP" ] && sleep "$FAKE_SLEEP"
echo "qemu-pid: 1"
[ -n "$FAKE_OUTCOME" ] && echo "outcome: $FAKE_OUTCOME"
exit 0
EOF
chmod +x "$work/qemu" "$work/tool"

# check NAME WANT_STATUS PATTERN CASE [env...]
check() {
    name=$1 want=$2 pattern=$3 case=$4
    shift 4
    # TMPDIR: the inputs the runner keeps after a tool error go with $work
    # The runner bounds its tool; 20 s bounds the runner (normally < 1 s).
    timeout -k 5 20 env QTEST_QEMU_BINARY="$work/qemu" TMPDIR="$work" "$@" \
        "$runner" --tool "$work/tool" \
        --data "$data" --expect "$expect" --case "$case" $EXTRA \
        > "$work/out" 2>&1
    got=$?
    if [ "$got" = 124 ] || [ "$got" = 137 ]; then
        echo "watchdog: $runner --case $case: still waiting after 20 s" \
            >> "$work/out"
    fi
    if [ "$got" != "$want" ] || ! grep -q "$pattern" "$work/out"; then
        echo "FAIL $name: status $got (want $want), pattern '$pattern'"
        sed 's/^/    /' "$work/out"
        fails=$((fails + 1))
    else
        echo "ok   $name"
    fi
}

# nocomp/pkt-magic is recorded as hang for 7.2
check worse 1 'NEW finding: nocomp/pkt-magic: crash SIGSEGV' \
    nocomp/pkt-magic FAKE_OUTCOME='crash SIGSEGV'
check same 0 'new findings: 0, vanished findings: 0' \
    nocomp/pkt-magic FAKE_OUTCOME='hang'
check better 0 'VANISHED finding: nocomp/pkt-magic: recorded hang' \
    nocomp/pkt-magic FAKE_OUTCOME='failed: qemu: bad packet'
# nocomp/main-cut-ram is recorded as failed: a hang there is new
check new-hang 1 'NEW finding: nocomp/main-cut-ram: hang' \
    nocomp/main-cut-ram FAKE_OUTCOME='hang'
check unknown-version 1 'expectations: none for QEMU 9.8.7' \
    nocomp/pkt-magic FAKE_OUTCOME='hang' FAKE_VERSION=9.8.7
check unknown-version-new 1 'NEW finding: nocomp/pkt-magic: hang' \
    nocomp/pkt-magic FAKE_OUTCOME='hang' FAKE_VERSION=9.8.7
check control 1 'FAIL: control nocomp/clean did not complete' \
    nocomp/clean FAKE_OUTCOME='failed: qemu: no'
check no-outcome 1 'mfcolo-qemu could not run' \
    nocomp/pkt-magic FAKE_OUTCOME=''
# a tool that overruns its own bounds is killed (with its process group)
EXTRA="--timeout-ms 100 --tool-slack 1"
check tool-overrun 1 'killed: it overran its own bounds' \
    nocomp/pkt-magic FAKE_OUTCOME='hang' FAKE_SLEEP=30
EXTRA=
check missing-binary 1 'FAIL: the QEMU under test cannot run' \
    nocomp/pkt-magic FAKE_OUTCOME='hang' QTEST_QEMU_BINARY=/nonexistent/qemu
[ "$fails" = 0 ] || exit 1
