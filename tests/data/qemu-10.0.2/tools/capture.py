#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Drive one multifd migration between two local QEMUs through proxy.py.

usage:
  capture.py run --name NAME --channels N --compression none|zstd|zlib \
             --data DATADIR --out OUTDIR --proxy-port P --dest-port D \
             [--param KEY=VALUE]... [--global G]... [--dst-ram-file]

--param: an extra migrate-set-parameters value on both sides (integers
and on/off are converted); --global: an extra "-global G" on both sides;
--dst-ram-file: the destination's pc.ram is a shared file
(memory-backend-file id=pc.ram), kept as dst-pc.ram.bin, so the
destination's own pc.ram block can be compared byte for byte.
  capture.py probe-colo --out OUTDIR

Everything listens / connects on 127.0.0.1 only.  All processes started
here are ended by PID (QMP 'quit' first, then SIGTERM/SIGKILL of that PID).
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The binary: $QEMU (ci/qemu-fetch 10.0.2 prints its path), else the PATH's.
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
RAM_MB = 32
UUID = "6d756c74-6966-6463-6170-747572652121"   # same on both sides (multifd checks it)


def base_cmdline(datadir, qmp_path, globals_=()):
    with open(os.path.join(datadir, "layout.json")) as f:
        layout = json.load(f)
    cmd = [QEMU, "-machine", "pc-i440fx-7.2", "-accel", "tcg", "-m", str(RAM_MB),
           "-smp", "1", "-nodefaults", "-display", "none", "-device", "VGA",
           "-uuid", UUID, "-S", "-qmp", f"unix:{qmp_path},server=on,wait=off"]
    for g in globals_:
        cmd += ["-global", g]
    for ent in layout:
        cmd += ["-device", "loader,file=%s,addr=0x%x" % (os.path.join(datadir, ent["file"]), ent["addr"])]
    return cmd


class QMP:
    def __init__(self, path, log, timeout=30):
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
        self.log = open(log, "a")
        greet = json.loads(self.f.readline())
        self.log.write(json.dumps({"greeting": greet}) + "\n")
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
                self.log.write(json.dumps({"event": r}) + "\n")
                continue
            self.log.write(json.dumps({"cmd": req, "resp": r}) + "\n")
            self.log.flush()
            return r

    def hmp(self, line):
        return self.cmd("human-monitor-command", **{"command-line": line}).get("return")

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass
        self.log.close()


def start(cmd, logpath):
    lf = open(logpath, "wb")
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT)
    return p


def stop(p, qmp=None):
    if p.poll() is not None:
        return p.returncode
    if qmp is not None:
        try:
            qmp.cmd("quit")
        except Exception:
            pass
    try:
        return p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGTERM)
        try:
            return p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            return p.wait()


def wait_status(q, want, timeout):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        r = q.cmd("query-migrate")["return"]
        last = r
        st = r.get("status")
        if st in want:
            return r
        if st in ("failed", "cancelled"):
            return r
        time.sleep(0.1)
    return last


def run(a):
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    qs, qd = f"/tmp/qcap-{a.name}-src.qmp", f"/tmp/qcap-{a.name}-dst.qmp"
    for p in (qs, qd):
        if os.path.exists(p):
            os.unlink(p)
    src_cmd = base_cmdline(a.data, qs, a.globals)
    dst_cmd = base_cmdline(a.data, qd, a.globals) + ["-incoming", "defer"]
    if a.dst_ram_file:
        ramfile = os.path.join(out, "dst-pc.ram.bin")
        i = dst_cmd.index("pc-i440fx-7.2")
        dst_cmd[i] = "pc-i440fx-7.2,memory-backend=pc.ram"
        dst_cmd[i + 1:i + 1] = ["-object", "memory-backend-file,id=pc.ram,size=%dM,mem-path=%s,share=on"
                                % (RAM_MB, ramfile)]
    with open(os.path.join(out, "cmdlines.txt"), "w") as f:
        f.write("SOURCE:\n" + " ".join(src_cmd) + "\n\nDESTINATION:\n" + " ".join(dst_cmd) + "\n")
    procs = []
    summary = {"name": a.name, "channels": a.channels, "compression": a.compression}
    ps = pd = px = None
    Qs = Qd = None
    try:
        ps = start(src_cmd, os.path.join(out, "qemu-src.log")); procs.append(ps)
        pd = start(dst_cmd, os.path.join(out, "qemu-dst.log")); procs.append(pd)
        summary["pids"] = {"src": ps.pid, "dst": pd.pid}
        Qs = QMP(qs, os.path.join(out, "qmp-src.jsonl"))
        Qd = QMP(qd, os.path.join(out, "qmp-dst.jsonl"))
        summary["version"] = Qs.cmd("query-version")["return"]
        summary["src_ramblocks"] = Qs.hmp("info ramblock")
        summary["dst_ramblocks_before"] = Qd.hmp("info ramblock")
        summary["memdev"] = Qs.cmd("query-memdev")["return"]
        summary["src_status_before"] = Qs.cmd("query-status")["return"]
        summary["dst_status_before"] = Qd.cmd("query-status")["return"]

        # ground truth on the source, before migrating
        size = RAM_MB << 20
        for q, tag in ((Qs, "src"),):
            q.cmd("pmemsave", val=0, size=size, filename=os.path.join(out, f"{tag}-ram.bin"))
            q.cmd("pmemsave", val=0xFFFC0000, size=0x40000, filename=os.path.join(out, f"{tag}-bios-fffc0000.bin"))

        caps = [{"capability": "multifd", "state": True}]
        params = {"multifd-channels": a.channels, "multifd-compression": a.compression}
        for kv in a.param:
            k, v = kv.split("=", 1)
            params[k] = int(v) if v.isdigit() else {"on": True, "off": False}.get(v, v)
        for q in (Qs, Qd):
            r = q.cmd("migrate-set-capabilities", capabilities=caps)
            assert "return" in r, r
            r = q.cmd("migrate-set-parameters", **params)
            assert "return" in r, r
        summary["src_params"] = Qs.cmd("query-migrate-parameters")["return"]
        summary["dst_params"] = Qd.cmd("query-migrate-parameters")["return"]

        cap_dir = os.path.join(out, "capture")
        px = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "..", "qemu-7.2", "tools", "proxy.py"), str(a.proxy_port),
                               str(a.dest_port), cap_dir, "--expect", str(a.channels + 1),
                               "--timeout", "60"],
                              stdout=open(os.path.join(out, "proxy.log"), "wb"), stderr=subprocess.STDOUT)
        procs.append(px)
        time.sleep(0.5)
        r = Qd.cmd("migrate-incoming", uri=f"tcp:127.0.0.1:{a.dest_port}")
        assert "return" in r, r
        r = Qs.cmd("migrate", uri=f"tcp:127.0.0.1:{a.proxy_port}")
        assert "return" in r, r
        summary["src_migrate"] = wait_status(Qs, ("completed",), 60)
        summary["dst_migrate"] = wait_status(Qd, ("completed",), 30)
        summary["src_status_after"] = Qs.cmd("query-status")["return"]
        summary["dst_status_after"] = Qd.cmd("query-status")["return"]
        summary["dst_ramblocks_after"] = Qd.hmp("info ramblock")
        # ground truth on the destination, after migrating
        Qd.cmd("pmemsave", val=0, size=size, filename=os.path.join(out, "dst-ram.bin"))
        Qd.cmd("pmemsave", val=0xFFFC0000, size=0x40000, filename=os.path.join(out, "dst-bios-fffc0000.bin"))
        try:
            summary["proxy_rc"] = px.wait(timeout=30)
        except subprocess.TimeoutExpired:
            summary["proxy_rc"] = "timeout"
        summary["src_events"] = Qs.events
        summary["dst_events"] = Qd.events
    finally:
        for p, q in ((ps, Qs), (pd, Qd)):
            if p is not None:
                summary.setdefault("exit", []).append(stop(p, q))
        for q in (Qs, Qd):
            if q is not None:
                q.close()
        if px is not None and px.poll() is None:
            os.kill(px.pid, signal.SIGTERM)
            px.wait(timeout=10)
        with open(os.path.join(out, "run.json"), "w") as f:
            json.dump(summary, f, indent=1)
    s1 = open(os.path.join(out, "src-ram.bin"), "rb").read()
    s2 = open(os.path.join(out, "dst-ram.bin"), "rb").read()
    print(a.name, "src status", summary["src_migrate"].get("status"),
          "dst status", summary["dst_migrate"].get("status"),
          "pmemsave equal:", s1 == s2)


def probe_colo(a):
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    qp = "/tmp/qcap-colo.qmp"
    if os.path.exists(qp):
        os.unlink(qp)
    cmd = [QEMU, "-machine", "pc-i440fx-7.2", "-accel", "tcg", "-m", str(RAM_MB), "-nodefaults",
           "-display", "none", "-S", "-qmp", f"unix:{qp},server=on,wait=off"]
    p = start(cmd, os.path.join(out, "qemu-colo-probe.log"))
    q = None
    res = {"cmdline": " ".join(cmd)}
    try:
        q = QMP(qp, os.path.join(out, "qmp-colo-probe.jsonl"))
        res["listed"] = [c for c in q.cmd("query-migrate-capabilities")["return"] if c["capability"] == "x-colo"]
        res["set_x_colo_true"] = q.cmd("migrate-set-capabilities",
                                       capabilities=[{"capability": "x-colo", "state": True}])
        res["after"] = [c for c in q.cmd("query-migrate-capabilities")["return"] if c["capability"] == "x-colo"]
        res["set_x_colo_and_multifd"] = q.cmd("migrate-set-capabilities",
                                              capabilities=[{"capability": "multifd", "state": True}])
        res["after2"] = [c for c in q.cmd("query-migrate-capabilities")["return"]
                         if c["capability"] in ("x-colo", "multifd")]
        res["set_x_colo_false"] = q.cmd("migrate-set-capabilities",
                                        capabilities=[{"capability": "x-colo", "state": False},
                                                      {"capability": "multifd", "state": False}])
    finally:
        res["exit"] = stop(p, q)
        if q:
            q.close()
    with open(os.path.join(out, "colo-probe.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res, indent=1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["run", "probe-colo"])
    ap.add_argument("--name")
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--compression", default="none")
    ap.add_argument("--data")
    ap.add_argument("--out")
    ap.add_argument("--proxy-port", type=int, default=46001)
    ap.add_argument("--dest-port", type=int, default=47001)
    ap.add_argument("--param", action="append", default=[])
    ap.add_argument("--global", dest="globals", action="append", default=[])
    ap.add_argument("--dst-ram-file", action="store_true")
    a = ap.parse_args()
    if a.mode == "run":
        run(a)
    else:
        probe_colo(a)


if __name__ == "__main__":
    main()
