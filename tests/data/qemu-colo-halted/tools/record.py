#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Record the device state of a halted guest from a real QEMU.

Adapted from ../../qemu-7.2-colo/tools/colo.py (QMP class, start/stop) and
using its proxy.py unchanged.  Both QEMUs get the qemu tier's command line
(tests/qtest/lib/libqtest.c, qemu_argv) plus the halted guest's boot disk,
so the recorded device sections are those of the secondary the tier starts.

usage:
  record.py --qemu BIN --out DIR [--mode colo|precopy] [--multifd N]
            [--duration S] [--boot S]

  colo     x-colo on both sides, checkpoints every 200 ms for --duration s,
           then SIGKILL of the primary and x-colo-lost-heartbeat on the
           secondary (the COLO blob of each checkpoint is in conn-0.bin).
  precopy  a plain migration (no x-colo): the device sections of the
           precopy tail are what a COLO checkpoint carries (QEMU's
           qemu_save_device_state writes the same non-iterable sections
           and QEMU_VM_EOF); used where a COLO pair does not checkpoint.

Everything listens on 127.0.0.1; every process started is ended by pid.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "..", "..", "qemu-7.2-colo", "tools", "proxy.py")
UUID = "6d756c74-6966-6463-6170-747572652121"   # QT_QEMU_UUID


class QMP:
    def __init__(self, path, timeout=20):
        deadline = time.time() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.s.settimeout(timeout)
        self.f = self.s.makefile("rwb")
        self.f.readline()
        self.events = []
        self.cmd("qmp_capabilities")

    def cmd(self, execute, **args):
        req = {"execute": execute}
        if args:
            req["arguments"] = args
        self.f.write((json.dumps(req) + "\n").encode())
        self.f.flush()
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("QMP closed")
            r = json.loads(line)
            if "event" in r:
                self.events.append(r)
                continue
            return r

    def hmp(self, line):
        return self.cmd("human-monitor-command",
                        **{"command-line": line}).get("return")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def qemu_cmd(qemu, name, tmp, img, incoming):
    ram = os.path.join(tmp, name + ".pc.ram")
    cmd = [qemu, "-name", name,
           "-qmp", "unix:%s/%s.qmp,server=on,wait=off" % (tmp, name),
           "-qtest", "unix:%s/%s.qtest,server=on,wait=off" % (tmp, name),
           "-qtest-log", "/dev/null",
           "-machine", "pc-i440fx-7.2,memory-backend=pc.ram",
           "-accel", "tcg", "-m", "32", "-smp", "1", "-nodefaults",
           "-display", "none", "-device", "VGA", "-uuid", UUID, "-S",
           "-object", "memory-backend-file,id=pc.ram,size=32M,mem-path=%s,"
           "share=on" % ram,
           "-drive", "file=%s,format=raw,if=ide" % img]
    if incoming:
        cmd += ["-incoming", "defer"]
    return cmd


def stop(p):
    if p.poll() is None:
        os.kill(p.pid, signal.SIGKILL)
    return p.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", default="colo", choices=["colo", "precopy"])
    ap.add_argument("--multifd", type=int, default=0)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--boot", type=float, default=3.0,
                    help="seconds the primary runs before migrating")
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="h7rec-")
    imgs = []
    for side in ("primary", "secondary"):
        imgs.append(os.path.join(tmp, side + ".img"))
        with open(imgs[-1], "wb") as f:
            f.write(open(os.path.join(HERE, "..", "guest", "halt.bin"),
                         "rb").read())
            f.truncate(1 << 20)
    pri = qemu_cmd(a.qemu, "primary", tmp, imgs[0], False)
    sec = qemu_cmd(a.qemu, "secondary", tmp, imgs[1], True)
    with open(os.path.join(out, "cmdlines.txt"), "w") as f:
        f.write("PRIMARY:\n" + " ".join(pri).replace(tmp, "TMP") +
                "\n\nSECONDARY:\n" + " ".join(sec).replace(tmp, "TMP") + "\n")
    S = {"mode": a.mode, "multifd": a.multifd, "timeline": []}

    def note(what, **kw):
        kw.update(t=round(time.time(), 3), what=what)
        S["timeline"].append(kw)
        print("[record]", json.dumps(kw)[:300], flush=True)

    pp = subprocess.Popen(pri, stdin=subprocess.DEVNULL,
                          stdout=open(os.path.join(out, "qemu-primary.log"),
                                      "wb"), stderr=subprocess.STDOUT)
    ps = subprocess.Popen(sec, stdin=subprocess.DEVNULL,
                          stdout=open(os.path.join(out, "qemu-secondary.log"),
                                      "wb"), stderr=subprocess.STDOUT)
    px = None
    try:
        qp = QMP(os.path.join(tmp, "primary.qmp"))
        qs = QMP(os.path.join(tmp, "secondary.qmp"))
        S["version"] = qp.cmd("query-version")["return"]
        caps = []
        if a.mode == "colo":
            caps.append({"capability": "x-colo", "state": True})
        if a.multifd:
            caps.append({"capability": "multifd", "state": True})
        for q in (qp, qs):
            if caps:
                note("caps", r=q.cmd("migrate-set-capabilities",
                                     capabilities=caps))
            if a.multifd:
                q.cmd("migrate-set-parameters",
                      **{"multifd-channels": a.multifd})
        if a.mode == "colo":
            qp.cmd("migrate-set-parameters", **{"x-checkpoint-delay": 200})
        note("primary cont", r=qp.cmd("cont"))
        time.sleep(a.boot)
        S["primary_registers"] = qp.hmp("info registers")
        note("halted?", hlt="HLT=1" in S["primary_registers"])
        dport, lport = free_port(), free_port()
        px = subprocess.Popen([sys.executable, PROXY, str(lport), str(dport),
                               out, "--expect", str(1 + a.multifd),
                               "--timeout", str(int(a.duration) + 60)],
                              stdout=open(os.path.join(out, "proxy.log"),
                                          "wb"), stderr=subprocess.STDOUT)
        time.sleep(0.5)
        note("incoming", r=qs.cmd("migrate-incoming",
                                  uri="tcp:127.0.0.1:%d" % dport))
        note("migrate", r=qp.cmd("migrate", uri="tcp:127.0.0.1:%d" % lport))
        want = "colo" if a.mode == "colo" else "completed"
        deadline = time.time() + 30
        last = None
        while time.time() < deadline:
            st = (qp.cmd("query-migrate")["return"].get("status"),
                  qs.cmd("query-migrate")["return"].get("status"))
            if st != last:
                note("status", primary=st[0], secondary=st[1])
                last = st
            if st == (want, want) or "failed" in st:
                break
            time.sleep(0.1)
        if a.mode == "colo":
            time.sleep(a.duration)
            note("kill primary")
            stop(pp)
            time.sleep(0.5)
            note("lost-heartbeat", r=qs.cmd("x-colo-lost-heartbeat"))
            time.sleep(0.5)
            note("secondary", r=qs.cmd("query-migrate")["return"])
        S["secondary_registers"] = qs.hmp("info registers")
        S["secondary_status"] = qs.cmd("query-status")["return"]
    finally:
        stop(pp)
        stop(ps)
        if px is not None:
            try:
                px.wait(timeout=70)
            except subprocess.TimeoutExpired:
                stop(px)
        shutil.rmtree(tmp, ignore_errors=True)
        with open(os.path.join(out, "run.json"), "w") as f:
            json.dump(S, f, indent=1)


if __name__ == "__main__":
    main()
