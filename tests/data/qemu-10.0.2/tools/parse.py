#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Parse one recorded multifd migration and rebuild the destination's RAM.

usage: parse.py RUNDIR [--data DATADIR] [--packets FILE] [--report FILE]
                [--device-state FILE]

RUNDIR holds conn-N.bin (or capture/conn-N.bin) as proxy.py wrote them,
and optionally the dumps of capture.py (src-ram.bin, dst-ram.bin,
dst-bios-fffc0000.bin, dst-pc.ram.bin).  The parser is written from the
stream formats alone (docs/wire.md); it shares no code with mfcolo.

It prints the stream's shape (per channel: packets, SYNC packets, data
packets, zero_pages, flags; main channel: records per kind, EOS,
MULTIFD_FLUSH, sections, where the device state starts and ends) and
rebuilds every RAM block from the main channel's ZERO/PAGE records and
the multifd packets (nocomp, zlib, zstd through libzstd).  Checks, each
printed as "check NAME: ok|FAIL ...":
  loader     pc.ram equals the image of the -device loader files (layout.json)
  pmemsave   the source's guest-physical dump equals the destination's
  dst-ram    pc.ram outside 0xa0000..0xfffff equals the destination's dump
  dst-file   pc.ram equals the destination's file-backed pc.ram (if recorded)
  bios       pc.bios equals the destination's dump at 0xfffc0000
  twice      a page sent twice has the same bytes both times
--packets: every multifd packet as JSON; --report: shape, blocks (length,
SHA-256, non-zero pages) and checks as JSON; --device-state: the main
channel's bytes from the first device section up to (not including)
QEMU_VM_EOF.  Exit status 1 if a check fails.
"""
import argparse
import ctypes
import ctypes.util
import glob
import hashlib
import json
import os
import struct
import sys
import zlib

PAGE = 4096
PAGE_COUNT = 128
PKT_LEN = 320 + 8 * PAGE_COUNT
MF_MAGIC = 0x11223344

F_ZERO, F_MEM_SIZE, F_PAGE, F_EOS, F_CONTINUE = 0x02, 0x04, 0x08, 0x10, 0x20
F_XBZRLE, F_HOOK, F_COMPRESS, F_FLUSH = 0x40, 0x80, 0x100, 0x200
SEC_NAMES = {0: "EOF", 1: "SECTION_START", 2: "SECTION_PART", 3: "SECTION_END",
             4: "SECTION_FULL", 6: "VMDESCRIPTION", 7: "CONFIGURATION", 8: "COMMAND"}


class ZstdStream:
    """One persistent zstd decompression stream (libzstd via ctypes)."""

    class Buf(ctypes.Structure):
        _fields_ = [("ptr", ctypes.c_void_p), ("size", ctypes.c_size_t),
                    ("pos", ctypes.c_size_t)]

    def __init__(self):
        name = ctypes.util.find_library("zstd") or "libzstd.so.1"
        self.lib = ctypes.CDLL(name)
        self.lib.ZSTD_createDStream.restype = ctypes.c_void_p
        self.lib.ZSTD_decompressStream.restype = ctypes.c_size_t
        self.lib.ZSTD_decompressStream.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                                   ctypes.c_void_p]
        self.lib.ZSTD_isError.argtypes = [ctypes.c_size_t]
        self.ds = self.lib.ZSTD_createDStream()
        self.lib.ZSTD_initDStream(ctypes.c_void_p(self.ds))

    def inflate(self, data, want):
        src = ctypes.create_string_buffer(data, len(data))
        dst = ctypes.create_string_buffer(want)
        ib = self.Buf(ctypes.cast(src, ctypes.c_void_p), len(data), 0)
        ob = self.Buf(ctypes.cast(dst, ctypes.c_void_p), want, 0)
        while ib.pos < ib.size or ob.pos < ob.size:
            before = (ib.pos, ob.pos)
            r = self.lib.ZSTD_decompressStream(ctypes.c_void_p(self.ds), ctypes.byref(ob),
                                               ctypes.byref(ib))
            if self.lib.ZSTD_isError(r):
                raise ValueError("zstd error %d" % r)
            if (ib.pos, ob.pos) == before:
                break
        if ob.pos != want or ib.pos != ib.size:
            raise ValueError("zstd: %d of %d bytes from %d of %d input" % (ob.pos, want, ib.pos, ib.size))
        return dst.raw[:want]


class ZlibStream:
    def __init__(self):
        self.z = zlib.decompressobj()

    def inflate(self, data, want):
        out = self.z.decompress(data)
        if len(out) != want:
            raise ValueError("zlib: %d bytes, want %d" % (len(out), want))
        return out


def be(fmt, d, off):
    return struct.unpack_from(">" + fmt, d, off)


def parse_channel(name, d, blocks_seen, packets, writes):
    """A multifd channel: 64-byte handshake, then packets (+ payloads)."""
    magic, version = be("II", d, 0)
    assert magic == MF_MAGIC, "%s: handshake magic %x" % (name, magic)
    chan = {"file": name, "id": d[24], "handshake_version": version, "bytes": len(d),
            "packets": 0, "sync": 0, "data_packets": 0, "normal_pages": 0,
            "zero_pages": 0, "flags": {}, "packet_versions": [], "pages_alloc": [],
            "sync_with_pages": 0}
    off = 64
    dec = None
    while off < len(d):
        if off + PKT_LEN > len(d):
            raise ValueError("%s: truncated packet at %d" % (name, off))
        (magic, version, flags, pages_alloc, normal, next_size, pnum,
         zero) = be("IIIIIIQI", d, off)
        assert magic == MF_MAGIC, "%s: packet magic at %d" % (name, off)
        rb = d[off + 64:off + 320].split(b"\0", 1)[0].decode()
        offs = [be("Q", d, off + 320 + 8 * i)[0] for i in range(normal + zero)]
        pkt = {"chan_file": name, "chan_id": d[24], "stream_off": off, "version": version,
               "packet_num": pnum, "flags": flags, "pages_alloc": pages_alloc,
               "normal_pages": normal, "zero_pages": zero, "next_packet_size": next_size,
               "ramblock": rb if normal + zero else "",
               "unused_zero": d[off + 36:off + 64] == bytes(28),
               "offsets": ["0x%x" % o for o in offs]}
        off += PKT_LEN
        chan["packets"] += 1
        chan["flags"]["0x%x" % flags] = chan["flags"].get("0x%x" % flags, 0) + 1
        if version not in chan["packet_versions"]:
            chan["packet_versions"].append(version)
        if pages_alloc not in chan["pages_alloc"]:
            chan["pages_alloc"].append(pages_alloc)
        if flags & 1:
            chan["sync"] += 1
            if normal + zero:
                chan["sync_with_pages"] += 1
        if normal + zero:
            blocks_seen.add(rb)
        chan["zero_pages"] += zero
        for o in offs[normal:]:
            writes.append((rb, o, None, "%s@%d" % (name, pkt["stream_off"])))
        if normal:
            chan["data_packets"] += 1
            chan["normal_pages"] += normal
            comp = flags & 0x3e
            want = normal * PAGE
            if comp == 0:
                data = d[off:off + want]
                off += want
            else:
                data_c = d[off:off + next_size]
                off += next_size
                if dec is None:
                    dec = ZlibStream() if comp == 0x02 else ZstdStream()
                data = dec.inflate(data_c, want)
            pages = []
            for i, o in enumerate(offs[:normal]):
                pg = data[i * PAGE:(i + 1) * PAGE]
                pages.append(hashlib.sha256(pg).hexdigest()[:16])
                writes.append((rb, o, pg, "%s@%d" % (name, pkt["stream_off"])))
            pkt["page_sha256_16"] = pages
        packets.append(pkt)
    return chan


def parse_main(d, writes):
    """The main channel up to QEMU_VM_EOF (RAM records in full)."""
    assert d[:4] == b"QEVM", "main channel: no QEVM"
    m = {"version": be("I", d, 4)[0], "sections": [], "zero_records": 0, "page_records": 0,
         "eos": 0, "multifd_flush": 0, "mem_size_blocks": {}, "other_flags": {}}
    off = 8
    ram_id = None
    block = None
    while True:
        t = d[off]
        if t == 7:
            n = be("I", d, off + 1)[0]
            m["sections"].append({"off": off, "type": "CONFIGURATION",
                                  "machine": d[off + 5:off + 5 + n].decode()})
            off += 5 + n
            continue
        if t in (1, 4):
            sid = be("I", d, off + 1)[0]
            n = d[off + 5]
            idstr = d[off + 6:off + 6 + n].decode()
            inst, ver = be("II", d, off + 6 + n)
            sec = {"off": off, "type": SEC_NAMES[t], "id": sid, "idstr": idstr,
                   "instance": inst, "version": ver}
            if idstr != "ram":
                m["device_state_off"] = off
                break
            ram_id = sid
            off += 14 + n
        elif t in (2, 3):
            sid = be("I", d, off + 1)[0]
            sec = {"off": off, "type": SEC_NAMES[t], "id": sid}
            if sid != ram_id:
                m["device_state_off"] = off
                break
            off += 5
        else:
            m["device_state_off"] = off
            break
        # a ram section body: records until EOS, then the footer
        counts = {"zero": 0, "page": 0, "flush": 0}
        while True:
            (word,) = be("Q", d, off)
            off += 8
            flags = word & (PAGE - 1)
            addr = word & ~(PAGE - 1)
            if flags & F_MEM_SIZE:
                total = 0
                while total < addr:
                    n = d[off]
                    name = d[off + 1:off + 1 + n].decode()
                    (ln,) = be("Q", d, off + 1 + n)
                    off += 9 + n
                    m["mem_size_blocks"][name] = ln
                    total += ln
                sec["mem_size"] = {"total": addr, "blocks": len(m["mem_size_blocks"])}
                continue
            if flags & (F_ZERO | F_PAGE):
                if not flags & F_CONTINUE:
                    n = d[off]
                    block = d[off + 1:off + 1 + n].decode()
                    off += 1 + n
                if flags & F_ZERO:
                    fill = d[off]
                    off += 1
                    writes.append((block, addr, bytes([fill]) * PAGE, "main@%d" % off))
                    counts["zero"] += 1
                    m["zero_records"] += 1
                else:
                    writes.append((block, addr, d[off:off + PAGE], "main@%d" % off))
                    off += PAGE
                    counts["page"] += 1
                    m["page_records"] += 1
                continue
            if flags & F_FLUSH:
                counts["flush"] += 1
                m["multifd_flush"] += 1
                continue
            if flags & F_EOS:
                m["eos"] += 1
                break
            other = "0x%x" % flags
            m["other_flags"][other] = m["other_flags"].get(other, 0) + 1
            raise ValueError("main: unhandled RAM flags %s at %d" % (other, off - 8))
        sec["records"] = counts
        assert d[off] == 0x7E and be("I", d, off + 1)[0] == ram_id, "no footer at %d" % off
        off += 5
        m["sections"].append(sec)
    # the tail: EOF (0x00), VMDESCRIPTION (0x06, be32 length, JSON)
    for eof in range(len(d) - 6, m["device_state_off"], -1):
        if d[eof] == 0 and d[eof + 1] == 6 and eof + 6 + be("I", d, eof + 2)[0] == len(d):
            m["eof_off"] = eof
            m["vmdesc_len"] = len(d) - eof - 6
            desc = json.loads(d[eof + 6:])
            m["device_sections"] = [
                "%s/%d" % (dev["name"], dev["instance_id"]) for dev in desc["devices"]]
            break
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--data")
    ap.add_argument("--packets")
    ap.add_argument("--report")
    ap.add_argument("--device-state")
    a = ap.parse_args()
    cdir = os.path.join(a.run, "capture") if os.path.isdir(os.path.join(a.run, "capture")) else a.run
    files = sorted(glob.glob(os.path.join(cdir, "conn-*.bin")),
                   key=lambda p: int(os.path.basename(p)[5:].split(".")[0]))
    files = [f for f in files if not f.endswith(".d2s.bin")]
    writes, packets, chans, seen = [], [], [], set()
    main_d = open(files[0], "rb").read()
    m = parse_main(main_d, writes)
    for f in files[1:]:
        chans.append(parse_channel(os.path.basename(f), open(f, "rb").read(), seen, packets, writes))
    mem = {n: bytearray(ln) for n, ln in m["mem_size_blocks"].items()}
    first = {}
    twice_bad = []
    for rb, o, pg, where in writes:
        if pg is None:
            pg = bytes(PAGE)
        key = (rb, o)
        if key in first and first[key] != pg:
            twice_bad.append("%s 0x%x (%s)" % (rb, o, where))
        first.setdefault(key, pg)
        mem[rb][o:o + PAGE] = pg
    blocks = {}
    for n, b in mem.items():
        blocks[n] = {"used_length": len(b), "sha256": hashlib.sha256(b).hexdigest(),
                     "nonzero_pages": ["0x%x" % o for o in range(0, len(b), PAGE)
                                       if any(b[o:o + PAGE])]}
    checks = {}

    def check(name, ok, why=""):
        checks[name] = "ok" if ok else "FAIL " + why

    ram = mem.get("pc.ram")
    if a.data:
        img = bytearray(len(ram))
        for ent in json.load(open(os.path.join(a.data, "layout.json"))):
            blob = open(os.path.join(a.data, ent["file"]), "rb").read()
            img[ent["addr"]:ent["addr"] + len(blob)] = blob
        check("loader", img == ram, "pc.ram differs from the loader image")

    def dump(name):
        p = os.path.join(a.run, name)
        return open(p, "rb").read() if os.path.exists(p) else None

    src, dst = dump("src-ram.bin"), dump("dst-ram.bin")
    if src is not None and dst is not None:
        check("pmemsave", src == dst, "source and destination dumps differ")
    if dst is not None:
        ok = dst[:0xA0000] == ram[:0xA0000] and dst[0x100000:] == ram[0x100000:len(dst)]
        check("dst-ram", ok, "pc.ram differs from the destination's dump")
    f = dump("dst-pc.ram.bin")
    if f is not None:
        check("dst-file", f == ram, "pc.ram differs from the destination's file")
    bios = dump("dst-bios-fffc0000.bin")
    if bios is not None and "pc.bios" in mem:
        check("bios", bios == mem["pc.bios"], "pc.bios differs from the dump")
    check("twice", not twice_bad, "; ".join(twice_bad[:5]))

    shape = {"main": m, "channels": chans, "pages_twice": len(writes) - len(first)}
    print(json.dumps({"main": {k: v for k, v in m.items() if k not in ("device_sections",)},
                      "channels": chans}, indent=1))
    for n, c in checks.items():
        print("check %s: %s" % (n, c))
    if a.packets:
        with open(a.packets, "w") as fo:
            json.dump(packets, fo, indent=0)
    if a.report:
        with open(a.report, "w") as fo:
            json.dump({"shape": shape, "blocks": blocks, "checks": checks}, fo, indent=1)
    if a.device_state:
        with open(a.device_state, "wb") as fo:
            fo.write(main_d[m["device_state_off"]:m["eof_off"]])
    return 0 if all(c == "ok" for c in checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
