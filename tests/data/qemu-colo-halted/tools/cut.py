#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Cut a recorded main channel (record.py's conn-0.bin) into the pieces the
qemu tier's test primary sends as they are:

  device-tail.bin  everything after the footer of the precopy "ram"
                   SECTION_END: the device sections, QEMU_VM_EOF and the
                   VMDESCRIPTION (what PrimaryConfig.device_tail sends)
  devstate-K.bin   the VMSTATE_SIZE payload of COLO checkpoint K
  precopy-pages.bin  the pages precopy carried (firmware, option ROMs,
                   SeaBIOS data): a secondary's kvm-tpr-opt state only
                   loads over the option ROM it describes

and print what it found (parse.txt): offsets, record counts, sizes, SHA-256.

usage: cut.py CONN0 OUTDIR [--page-size 4096]

The RAM records are walked (QEMU's ram_load: be64 offset|flags; MEM_SIZE
list, ZERO, PAGE, EOS, MULTIFD_FLUSH, CONTINUE); device sections are not
(their length is not in the stream): the precopy tail ends at the end of
the VMDESCRIPTION that follows QEMU_VM_EOF.
"""
import hashlib
import json
import struct
import sys

F_ZERO, F_MEM_SIZE, F_PAGE, F_EOS, F_CONTINUE = 0x02, 0x04, 0x08, 0x10, 0x20
F_FLUSH = 0x200


class Reader:
    def __init__(self, data):
        self.d = data
        self.o = 0

    def take(self, n):
        if self.o + n > len(self.d):
            raise EOFError("truncated at %d (+%d)" % (self.o, n))
        b = self.d[self.o:self.o + n]
        self.o += n
        return b

    def u8(self):
        return self.take(1)[0]

    def be32(self):
        return struct.unpack(">I", self.take(4))[0]

    def be64(self):
        return struct.unpack(">Q", self.take(8))[0]


def ram_records(r, psize, counts, first, pages=None, cur=None):
    """Walk RAM records up to and including EOS; returns the MEM_SIZE list.
    PAGE records go to @pages as (block, offset, bytes) when given."""
    blocks = []
    if cur is None:
        cur = [None]
    while True:
        w = r.be64()
        flags = w & (psize - 1)
        if flags & F_MEM_SIZE:
            total = w & ~(psize - 1)
            seen = 0
            while seen < total:
                name = r.take(r.u8()).decode()
                used = r.be64()
                blocks.append((name, used))
                seen += used
            continue
        if flags & F_EOS:
            counts["eos"] += 1
            return blocks
        if flags & F_FLUSH:
            counts["flush"] += 1
            continue
        if flags & (F_ZERO | F_PAGE):
            if not flags & F_CONTINUE:
                name = r.take(r.u8()).decode()
                counts.setdefault("named", []).append(name)
                cur[0] = name
            elif first[0]:
                counts["first_continue"] = True
            first[0] = False
            if flags & F_ZERO:
                r.u8()
                counts["zero"] += 1
            else:
                data = r.take(psize)
                counts["page"] += 1
                if pages is not None:
                    pages.append((cur[0], w & ~(psize - 1), data))
            continue
        raise ValueError("offset %d: RAM flags 0x%x" % (r.o - 8, flags))


def section_footer(r, sid):
    if r.u8() != 0x7E or r.be32() != sid:
        raise ValueError("offset %d: bad footer" % (r.o - 5))


def sha(b):
    return hashlib.sha256(b).hexdigest()


def main():
    path, outdir = sys.argv[1], sys.argv[2]
    psize = 4096
    if "--page-size" in sys.argv:
        psize = int(sys.argv[sys.argv.index("--page-size") + 1])
    data = open(path, "rb").read()
    r = Reader(data)
    if r.be32() != 0x5145564D:
        raise ValueError("no QEVM magic")
    print("%s: %d bytes, version %d" % (path, len(data), r.be32()))
    tail_start = None
    counts = {"eos": 0, "flush": 0, "zero": 0, "page": 0}
    pages = []
    cur = [None]
    while tail_start is None:
        t = r.u8()
        if t == 0x07:
            print("  @%d CONFIGURATION %s" % (r.o - 1, r.take(r.be32())))
        elif t == 0x08:
            cmd, ln = struct.unpack(">HH", r.take(4))
            r.take(ln)
            print("  @%d COMMAND %d len %d" % (r.o - 5 - ln, cmd, ln))
        elif t == 0x01:
            sid = r.be32()
            name = r.take(r.u8()).decode()
            inst, ver = r.be32(), r.be32()
            if name != "ram":
                raise ValueError("section %s before the ram END" % name)
            blocks = ram_records(r, psize, counts, [True], pages, cur)
            section_footer(r, sid)
            print("  ram START sid %d blocks %s" % (sid, blocks))
        elif t in (0x02, 0x03):
            sid = r.be32()
            ram_records(r, psize, counts, [True], pages, cur)
            section_footer(r, sid)
            if t == 0x03:
                tail_start = r.o
        else:
            raise ValueError("offset %d: section type %d" % (r.o - 1, t))
    print("  precopy RAM: %d PAGE, %d ZERO, %d EOS, %d MULTIFD_FLUSH" %
          (counts["page"], counts["zero"], counts["eos"], counts["flush"]))
    # precopy-pages.bin: the non-zero pages precopy carried, last copy of
    # each page wins: u8 name length, name, be64 offset, the page.
    last = {}
    for name, off, pg in pages:
        last[(name, off)] = pg
    with open(outdir + "/precopy-pages.bin", "wb") as f:
        for (name, off), pg in last.items():
            f.write(bytes([len(name)]) + name.encode() +
                    struct.pack(">Q", off) + pg)
    per = {}
    for name, off in last:
        per[name] = per.get(name, 0) + 1
    print("  precopy-pages.bin: %d pages %s" % (len(last), per))
    key = b'\x06'
    o = tail_start
    while True:
        o = data.index(key, o)
        ln = struct.unpack(">I", data[o + 1:o + 5])[0]
        if data[o - 1] == 0 and data[o + 5:o + 6] == b'{':
            try:
                desc = json.loads(data[o + 5:o + 5 + ln])
                break
            except ValueError:
                pass
        o += 1
    tail_end = o + 5 + ln
    tail = data[tail_start:tail_end]
    eof = o - 1 - tail_start
    devs = ["%s/%d" % (d["name"], d["instance_id"]) for d in desc["devices"]]
    print("  device tail @%d..%d: %d bytes, QEMU_VM_EOF at tail+%d, "
          "vmdesc %d bytes, %d devices, sha256 %s" %
          (tail_start, tail_end, len(tail), eof, ln, len(devs), sha(tail)))
    print("    devices: " + ", ".join(devs))
    open(outdir + "/device-tail.bin", "wb").write(tail)
    r.o = tail_end
    k = 0
    blobs = []
    while r.o < len(data):
        at = r.o
        try:
            if r.be32() != 1:
                raise ValueError("offset %d: not CHECKPOINT_REQUEST" % at)
            if r.be32() != 3:
                raise ValueError("offset %d: not VMSTATE_SEND" % (at + 4))
            c = {"eos": 0, "flush": 0, "zero": 0, "page": 0}
            if r.u8() != 0x03:
                raise ValueError("offset %d: not SECTION_END" % (r.o - 1))
            sid = r.be32()
            first = [True]
            ram_records(r, psize, c, first)
            section_footer(r, sid)
            if r.u8() != 0:
                raise ValueError("offset %d: no QEMU_VM_EOF" % (r.o - 1))
            if r.be32() != 4:
                raise ValueError("offset %d: not VMSTATE_SIZE" % (r.o - 4))
            n = r.be64()
            blob = r.take(n)
        except EOFError as e:
            print("  checkpoint %d @%d incomplete (%s)" % (k, at, e))
            break
        blobs.append(blob)
        open("%s/devstate-%d.bin" % (outdir, k), "wb").write(blob)
        print("  cp%d @%d: %d PAGE, %d ZERO, %d EOS, %d MULTIFD_FLUSH, "
              "first record CONTINUE %s; VMSTATE_SIZE %d, sha256 %s" %
              (k, at, c["page"], c["zero"], c["eos"], c["flush"],
               bool(c.get("first_continue")), n, sha(blob)))
        k += 1
    if blobs:
        print("  tail[..EOF] equals devstate-0: %s" %
              (tail[:eof + 1] == blobs[0]))
        for i in range(1, len(blobs)):
            diff = [j for j in range(min(len(blobs[0]), len(blobs[i])))
                    if blobs[0][j] != blobs[i][j]]
            print("  devstate-%d vs devstate-0: %d bytes differ" %
                  (i, len(diff)))


if __name__ == "__main__":
    main()
