#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Loopback-only TCP capture proxy for QEMU migration streams.

usage: proxy.py LISTEN_PORT DEST_PORT OUTDIR [--expect N] [--timeout S]

Listens on 127.0.0.1:LISTEN_PORT.  Connections are accepted one at a time
and each one is connected to 127.0.0.1:DEST_PORT *before* the next accept,
so the destination sees the connections in the same order as the proxy
(QEMU 7.2 treats the first accepted connection as the main channel).
For connection i the source->destination bytes go to OUTDIR/conn-i.bin and
destination->source bytes to OUTDIR/conn-i.d2s.bin.  OUTDIR/proxy.json gets
per-connection metadata.  Exits when N connections were seen and all of
them are closed in both directions, or after --timeout seconds.
"""
import json
import os
import socket
import sys
import threading
import time

HOST = "127.0.0.1"


def main():
    lport, dport, outdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    expect, timeout = None, 120.0
    args = sys.argv[4:]
    while args:
        a = args.pop(0)
        if a == "--expect":
            expect = int(args.pop(0))
        elif a == "--timeout":
            timeout = float(args.pop(0))
    os.makedirs(outdir, exist_ok=True)

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((HOST, lport))
    ls.listen(16)
    ls.settimeout(0.5)
    print(f"proxy: listening {HOST}:{lport} -> {HOST}:{dport}", flush=True)

    t0 = time.time()
    conns = []
    threads = []
    lock = threading.Lock()

    def pump(src, dst, fname, meta, key):
        n = 0
        with open(fname, "wb") as f:
            while True:
                try:
                    b = src.recv(1 << 20)
                except OSError:
                    b = b""
                if not b:
                    break
                f.write(b)
                try:
                    dst.sendall(b)
                except OSError:
                    break
                n += len(b)
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        with lock:
            meta[key] = n
            meta[key + "_closed_t"] = round(time.time() - t0, 6)

    while time.time() - t0 < timeout:
        if expect is not None and len(conns) >= expect and all(not t.is_alive() for t in threads):
            break
        try:
            cs, addr = ls.accept()
        except socket.timeout:
            continue
        cs.settimeout(None)
        i = len(conns)
        ds = socket.create_connection((HOST, dport), timeout=10)
        ds.settimeout(None)
        meta = {"index": i, "peer": f"{addr[0]}:{addr[1]}", "accept_t": round(time.time() - t0, 6),
                "s2d_file": f"conn-{i}.bin", "d2s_file": f"conn-{i}.d2s.bin"}
        conns.append(meta)
        print(f"proxy: conn {i} from {addr}", flush=True)
        for src, dst, fn, key in ((cs, ds, f"conn-{i}.bin", "s2d_bytes"),
                                  (ds, cs, f"conn-{i}.d2s.bin", "d2s_bytes")):
            t = threading.Thread(target=pump, args=(src, dst, os.path.join(outdir, fn), meta, key),
                                 daemon=True)
            t.start()
            threads.append(t)
    for t in threads:
        t.join(timeout=max(0.1, timeout - (time.time() - t0)))
    ls.close()
    # classify by first bytes
    for m in conns:
        with open(os.path.join(outdir, m["s2d_file"]), "rb") as f:
            head = f.read(4)
        m["first4_hex"] = head.hex()
        m["kind"] = {"5145564d": "main (QEVM)", "11223344": "multifd"}.get(head.hex(), "unknown")
    with open(os.path.join(outdir, "proxy.json"), "w") as f:
        json.dump({"listen": lport, "dest": dport, "connections": conns,
                   "incomplete": [t.name for t in threads if t.is_alive()]}, f, indent=1)
    print("proxy: done", json.dumps(conns), flush=True)


if __name__ == "__main__":
    main()
