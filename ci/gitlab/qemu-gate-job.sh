#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ci/gitlab/qemu-gate-job.sh --qemu-src DIR --base-rev REV [--mfcolo DIR]
#                            [--mfcolo-repo URL] [--full] [--dry-run]
#
# The script part of a QEMU fork's CI job (ci/gitlab/mfcolo.gitlab-ci.yml),
# runnable by hand too: build the QEMU of DIR's HEAD (the candidate) and
# of REV (the base, usually the merge base with the target branch), with
# mfcolo's ci/qemu-build, then compare them with ci/qemu-gate.
#   --qemu-src DIR     a QEMU git tree (the pipeline's checkout)
#   --base-rev REV     the base revision in DIR (e.g. the merge base)
#   --mfcolo DIR       an mfcolo checkout (default: this script's own);
#   --mfcolo-repo URL  clone mfcolo from URL into DIR first if DIR is absent
#   --full             the whole qemu tier (qemu-full too)
#   --dry-run          print the commands, run nothing
# Exit status: ci/qemu-gate's (1 on a REGRESSION, 2 when it cannot run).
# Reports: DIR_OF_MFCOLO/build/qemu-gate/qemu-gate.{txt,json,xml}.
set -u

die()
{
    echo "qemu-gate-job: $*" >&2
    exit 2
}

qemu_src="" base_rev="" mfcolo="" mfcolo_repo="" full="" dry=0
while [ $# -gt 0 ]; do
    case "$1" in
    --qemu-src) qemu_src=${2:-}; shift 2 || die "--qemu-src needs a value" ;;
    --base-rev) base_rev=${2:-}; shift 2 || die "--base-rev needs a value" ;;
    --mfcolo) mfcolo=${2:-}; shift 2 || die "--mfcolo needs a value" ;;
    --mfcolo-repo) mfcolo_repo=${2:-}; shift 2 ||
        die "--mfcolo-repo needs a value" ;;
    --full) full=--full; shift ;;
    --dry-run) dry=1; shift ;;
    *) die "unknown argument '$1' (see the header of $0)" ;;
    esac
done
[ -n "$qemu_src" ] || die "--qemu-src DIR is required"
[ -n "$base_rev" ] || die "--base-rev REV is required"
[ -d "$qemu_src/.git" ] || die "--qemu-src $qemu_src is not a git tree"
[ -f "$qemu_src/configure" ] || die "--qemu-src $qemu_src is not QEMU"
qemu_src=$(cd "$qemu_src" && pwd)
git -C "$qemu_src" rev-parse --verify -q "$base_rev^{commit}" >/dev/null ||
    die "--base-rev $base_rev is not a commit of $qemu_src"
[ -n "$mfcolo" ] || mfcolo=$(cd "$(dirname "$0")/../.." && pwd)

run()
{
    echo "+ $*"
    [ "$dry" = 1 ] || "$@"
}

if [ ! -d "$mfcolo" ]; then
    [ -n "$mfcolo_repo" ] || die "no mfcolo at $mfcolo (give --mfcolo-repo)"
    run git clone -q "$mfcolo_repo" "$mfcolo" || die "cannot clone mfcolo"
fi
# The base as a clean tree of its own: ci/qemu-build caches by its HEAD.
base_tree="$mfcolo/build/qemu-gate-job/base"
run rm -rf "$base_tree"
run git -C "$qemu_src" worktree prune
run git -C "$qemu_src" worktree add -f --detach "$base_tree" "$base_rev" ||
    die "cannot check out $base_rev"
run cd "$mfcolo" || die "cannot enter $mfcolo"
run ci/test || die "mfcolo's own tests fail: the gate would not be trusted"
run ci/qemu-gate $full --base "build:$base_tree" \
    --candidate "build:$qemu_src"
rc=$?
[ "$dry" = 1 ] || git -C "$qemu_src" worktree remove --force "$base_tree"
exit "$rc"
