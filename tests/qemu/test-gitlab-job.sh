#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ci/gitlab/qemu-gate-job.sh without building QEMU: its argument checks
# name what is wrong, and --dry-run on a tiny git tree that looks like
# QEMU prints the base worktree, mfcolo's own tests and the qemu-gate
# command with the base and candidate trees.
# usage: test-gitlab-job.sh SOURCE_ROOT
set -u
root=$1
job="$root/ci/gitlab/qemu-gate-job.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0

check()
{
    local name=$1 want_rc=$2 want=$3 out rc
    shift 3
    # Each run takes well under a second: a hang fails in 20 s, named.
    out=$(timeout -k 5 20 "$@" 2>&1)
    rc=$?
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        out="watchdog: $*: still waiting after 20 s"
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

check no-src 2 "--qemu-src DIR is required" bash "$job" --base-rev x
check not-git 2 "is not a git tree" bash "$job" --qemu-src "$work" \
    --base-rev x
mkdir "$work/q"
git -C "$work/q" init -q
echo '#!/bin/sh' >"$work/q/configure"
git -C "$work/q" add configure
git -C "$work/q" -c user.name=t -c user.email=t@t commit -qm base
echo 'patched' >"$work/q/NEWS"
git -C "$work/q" add NEWS
git -C "$work/q" -c user.name=t -c user.email=t@t commit -qm series
check bad-rev 2 "--base-rev nosuch is not a commit" bash "$job" \
    --qemu-src "$work/q" --base-rev nosuch
check dry-run 0 "+ ci/qemu-gate --base build:$work/m/build/qemu-gate-job/base --candidate build:$work/q" \
    bash "$job" --qemu-src "$work/q" --base-rev HEAD~1 --mfcolo "$work/m" \
    --mfcolo-repo "$root" --dry-run
check dry-run-worktree 0 "worktree add -f --detach $work/m/build/qemu-gate-job/base HEAD~1" \
    bash "$job" --qemu-src "$work/q" --base-rev HEAD~1 --mfcolo "$work/m" \
    --mfcolo-repo "$root" --dry-run
echo "$fails failed"
[ "$fails" = 0 ]
