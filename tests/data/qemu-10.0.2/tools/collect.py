#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Copy the recorded runs of run.sh into the stored folder layout.

usage: collect.py WORKDIR OUTDIR

For each WORKDIR/runs/NAME: OUTDIR/NAME/ gets conn-N.bin (source to
destination bytes; the destination sent nothing back, which is checked),
proxy.json, cmdlines.txt, packets.json and shape.json (parse.py) and
dumps.json (the memory dumps by SHA-256, stored once, zstd-compressed, in
OUTDIR/dumps/).  Dumps equal to one of ../qemu-7.2/dumps/ point there instead (the same
bytes are not stored twice); the destination's file-backed pc.ram is
recorded by its SHA-256 only (it equals pc.ram of expected-ramblocks.json).
OUTDIR/expected-ramblocks.json: every RAM block's
length, SHA-256 and non-zero pages, which must be the same in every run.
OUTDIR/devstate/: the destination-side data a test primary needs
(ramblocks.json: the MEM_SIZE list in stream order; device-state.bin: the
main channel from the first device section up to, not including,
QEMU_VM_EOF; vmdesc.json: the VM description after it), from nocomp-2ch.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def sha(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def dump_same_as_72(out, base, h):
    """The 7.2 recordings already hold a dump with these exact bytes."""
    z = os.path.join(out, "..", "qemu-7.2", "dumps", base)
    if not os.path.exists(z):
        return False
    raw = subprocess.run(["zstd", "-dc", z], check=True, stdout=subprocess.PIPE).stdout
    return hashlib.sha256(raw).hexdigest() == h


def main():
    work, out = sys.argv[1], sys.argv[2]
    names = sorted(os.listdir(os.path.join(work, "runs")))
    expected = None
    for name in names:
        run = os.path.join(work, "runs", name)
        cap = os.path.join(run, "capture")
        dst = os.path.join(out, name)
        shutil.rmtree(dst, ignore_errors=True)
        os.makedirs(dst)
        proxy = json.load(open(os.path.join(cap, "proxy.json")))
        for c in proxy["connections"]:
            assert c["d2s_bytes"] == 0, "%s: destination sent bytes" % name
            shutil.copy(os.path.join(cap, c["s2d_file"]), dst)
        shutil.copy(os.path.join(cap, "proxy.json"), dst)
        shutil.copy(os.path.join(run, "cmdlines.txt"), dst)
        subprocess.run([sys.executable, os.path.join(HERE, "parse.py"), run,
                        "--packets", os.path.join(dst, "packets.json"),
                        "--report", os.path.join(run, "report.json")],
                       check=True, stdout=subprocess.DEVNULL)
        rep = json.load(open(os.path.join(run, "report.json")))
        assert all(v == "ok" for v in rep["checks"].values()), (name, rep["checks"])
        shape = rep["shape"]
        shape["main"].pop("device_sections", None)
        shape["checks"] = rep["checks"]
        with open(os.path.join(dst, "shape.json"), "w") as f:
            json.dump(shape, f, indent=1)
        dumps = {}
        for fn in ("src-ram.bin", "dst-ram.bin", "src-bios-fffc0000.bin",
                   "dst-bios-fffc0000.bin", "dst-pc.ram.bin"):
            p = os.path.join(run, fn)
            h = sha(p)
            kind = fn.split("-", 1)[1][:-4]
            base = "%s-%s.bin.zst" % (kind, h[:16])
            ent = {"sha256": h, "size": os.path.getsize(p)}
            if fn == "dst-pc.ram.bin":
                # equal to pc.ram of expected-ramblocks.json (check dst-file)
                assert h == rep["blocks"]["pc.ram"]["sha256"]
                ent["file"] = None
            elif dump_same_as_72(out, base, h):
                ent["file"] = "../../qemu-7.2/dumps/" + base
            else:
                z = os.path.join(out, "dumps", base)
                os.makedirs(os.path.dirname(z), exist_ok=True)
                if not os.path.exists(z):
                    subprocess.run(["zstd", "-q", "-19", "-f", p, "-o", z], check=True)
                ent["file"] = "../dumps/" + base
            dumps[fn] = ent
        with open(os.path.join(dst, "dumps.json"), "w") as f:
            json.dump(dumps, f, indent=1)
        blocks = {n: {"used_length": b["used_length"], "sha256": b["sha256"],
                      "nonzero_pages": b["nonzero_pages"]} for n, b in rep["blocks"].items()}
        if expected is None:
            expected = blocks
        assert blocks == expected, "%s: blocks differ from %s" % (name, names[0])
        if name == "nocomp-2ch":
            dev = os.path.join(out, "devstate")
            os.makedirs(dev, exist_ok=True)
            conn0 = open(os.path.join(cap, "conn-0.bin"), "rb").read()
            m = shape["main"]
            with open(os.path.join(dev, "device-state.bin"), "wb") as f:
                f.write(conn0[m["device_state_off"]:m["eof_off"]])
            with open(os.path.join(dev, "vmdesc.json"), "wb") as f:
                f.write(conn0[m["eof_off"] + 6:])
            with open(os.path.join(dev, "ramblocks.json"), "w") as f:
                json.dump({"source": "nocomp-2ch/conn-0.bin", "blocks": [
                    {"name": n, "used_length": ln} for n, ln in m["mem_size_blocks"].items()]},
                    f, indent=1)
    with open(os.path.join(out, "expected-ramblocks.json"), "w") as f:
        json.dump({"note": "destination RAMBlock contents after migration, rebuilt from the "
                           "captures by tools/parse.py (main-channel records + multifd "
                           "packets) and checked there against the loader image, the "
                           "destination's file-backed pc.ram and its memory dumps",
                   "runs": names,
                   "ramblocks": {n: dict(b, same_in_all_runs=True)
                                 for n, b in expected.items()}}, f, indent=1)


if __name__ == "__main__":
    main()
