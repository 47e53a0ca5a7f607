#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Seed the fuzz corpora.

Writes files named by their SHA-1 into tests/fuzz/corpus/<harness>/:
  - from the real QEMU 7.2 captures (tests/data/qemu-7.2 and
    qemu-7.2-colo): handshakes, single packet headers, whole and cut
    multifd channel streams, whole and cut main channels (for the main
    harness with every RAM block shrunk to 16 KiB, see SmallRam);
  - from the fake primary, through the fuzz-gen-seeds program (built with
    the replay engine: BUILD/tests/fuzz/fuzz-gen-seeds), for the
    handshake, stream, main and model harnesses;
  - hand-made inputs for every round-trip format.

Usage: tests/fuzz/make-seeds.py [--captures DIR] [--gen PROGRAM] [--out DIR]
  --out DIR  write DIR/<harness>/ instead of tests/fuzz/corpus/<harness>/
             (tests/fuzz/negative.sh starts its runs from such a seed-only
             corpus, never from what campaigns added)
Then minimise with libFuzzer (ci/fuzz --merge-only, docs/fuzzing.md).
"""
import argparse
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKET = 1344
HS = 64
OUT = os.path.join(HERE, 'corpus')


def put(harness, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def read(*path):
    with open(os.path.join(*path), 'rb') as f:
        return f.read()


def packet_ends(data, comp):
    """Stream offsets after the handshake and after each packet."""
    pos = HS
    yield pos
    while pos + PACKET <= len(data):
        hdr = data[pos:pos + PACKET]
        flags = struct.unpack('>I', hdr[8:12])[0]
        normal = struct.unpack('>I', hdr[16:20])[0]
        nps = struct.unpack('>I', hdr[20:24])[0]
        pos += PACKET
        if normal:
            pos += normal * 4096 if comp == 'none' else nps
        if pos > len(data):
            return
        yield pos


def cut(data, comp, limit):
    """The longest prefix ending at a packet boundary within @limit."""
    best = HS
    for end in packet_ends(data, comp):
        if end > limit:
            break
        best = end
    return data[:best]


def packets(data, comp):
    ends = list(packet_ends(data, comp))
    for start in ends[:-1]:
        yield data[start:start + PACKET]


def syncs(data, comp):
    """SYNC packets in @data (cut at a packet boundary)."""
    return sum(struct.unpack('>I', h[8:12])[0] & 1
               for h in packets(data, comp))


def channel_id(data):
    return data[24]


# The main harness creates the blocks a MEM_SIZE list declares; the real
# captures declare 49.6 MiB (guest memory plus COLO cache per input).  Its
# seeds declare each block at most SMALL_BLOCK bytes instead, and every
# page offset is folded into the new length, so the same records land in
# a small guest.
SMALL_BLOCK = 16 * 1024
RAM_MEM_SIZE, RAM_ZERO, RAM_PAGE, RAM_EOS = 0x04, 0x02, 0x08, 0x10
RAM_CONTINUE, RAM_FLUSH = 0x20, 0x200
VMDESC_END = b'{"page_size":'


class SmallRam:
    """Rewrites a main-channel stream (and its multifd channels) so that
    every RAM block is at most SMALL_BLOCK bytes.  It walks the records
    it knows: QEVM header, CONFIGURATION, commands, the "ram" section's
    records, the device sections up to QEMU_VM_EOF + VM description (found
    by the same end pattern as core/incoming/precopy.c), COLO messages,
    VMSTATE_SEND's RAM state and VMSTATE_SIZE's blob.  At the first thing
    it cannot parse it stops and leaves the rest as it was."""

    def __init__(self, page=4096):
        self.page = page
        self.new_len = {}   # block name -> new length
        self.ram_sid = None
        self.cur = None     # the block CONTINUE refers to
        self.seen = set()   # (block, folded offset) of this phase
        self.drop = []      # (start, end) of the records left out
        self.devices_at = None  # first device section, output offset
        self.stopped_at = None

    def fold(self, name, off):
        n = self.new_len.get(name)
        if not n:
            return off
        return off % n

    def main(self, s):
        out = bytearray(s)
        try:
            self._walk(s, out)
        except (IndexError, struct.error, ValueError) as e:
            if self.stopped_at is None:
                self.stopped_at = str(e)
        for start, end in reversed(self.drop):
            del out[start:end]
        if self.devices_at is not None:
            self.devices_at -= sum(e - b for b, e in self.drop
                                   if e <= self.devices_at)
        return bytes(out)

    def _stop(self, pos, why):
        raise ValueError('%s at %d' % (why, pos))

    def _walk(self, s, out):
        if s[:4] != b'QEVM':
            self._stop(0, 'no QEVM header')
        pos = 8
        colo = False
        while pos < len(s):
            t = s[pos]
            if t == 0x07:
                n = struct.unpack('>I', s[pos + 1:pos + 5])[0]
                pos += 5 + n
            elif t == 0x08:
                cmd, n = struct.unpack('>HH', s[pos + 1:pos + 5])
                colo = colo or cmd == 8
                pos += 5 + n
            elif t in (0x01, 0x04):
                sid = struct.unpack('>I', s[pos + 1:pos + 5])[0]
                n = s[pos + 5]
                idstr = s[pos + 6:pos + 6 + n]
                if idstr != b'ram':
                    self.devices_at = pos
                    pos = self._devices(s, pos)
                    break
                self.ram_sid = sid
                pos = self._ram(s, out, pos + 6 + n + 8, True)
            elif t in (0x02, 0x03):
                sid = struct.unpack('>I', s[pos + 1:pos + 5])[0]
                if sid != self.ram_sid:
                    self._stop(pos, 'section part %d' % sid)
                pos = self._ram(s, out, pos + 5, False)
            elif t == 0x00:
                pos += 1
                if pos < len(s) and s[pos] == 0x06:
                    n = struct.unpack('>I', s[pos + 1:pos + 5])[0]
                    pos += 5 + n
                break
            else:
                self._stop(pos, 'record type %#x' % t)
        if colo:
            self._colo(s, out, pos)

    def _devices(self, s, pos):
        """From a device section to after QEMU_VM_EOF + VM description."""
        i = s.find(VMDESC_END, pos)
        while i >= 0:
            p = i - 4 - 1 - 1 - 5
            if (p >= pos and s[p] == 0x7e and s[p + 5] == 0x00 and
                    s[p + 6] == 0x06):
                n = struct.unpack('>I', s[p + 7:p + 11])[0]
                return p + 11 + n
            i = s.find(VMDESC_END, i + 1)
        self._stop(pos, 'device sections without an end')

    def _colo(self, s, out, pos):
        while pos + 4 <= len(s):
            v = struct.unpack('>I', s[pos:pos + 4])[0]
            pos += 4
            if v == 3:      # VMSTATE_SEND: RAM state up to QEMU_VM_EOF
                self.seen = set()
                while s[pos] != 0x00:
                    if s[pos] not in (0x02, 0x03):
                        self._stop(pos, 'checkpoint record %#x' % s[pos])
                    pos = self._ram(s, out, pos + 5, False)
                pos += 1
            elif v == 4:    # VMSTATE_SIZE: be64 n, n bytes
                n = struct.unpack('>Q', s[pos:pos + 8])[0]
                pos += 8 + n
            elif v > 6:
                self._stop(pos - 4, 'COLO message %d' % v)

    def _ram(self, s, out, pos, start):
        """RAM records up to and including EOS and the section footer."""
        while True:
            word = struct.unpack('>Q', s[pos:pos + 8])[0]
            flags = word & (self.page - 1)
            addr = word & ~(self.page - 1)
            rec = pos
            pos += 8
            if flags & RAM_MEM_SIZE:
                if not start:
                    self._stop(rec, 'MEM_SIZE outside START')
                left, total, lens = addr, 0, []
                while left > 0:
                    n = s[pos]
                    name = bytes(s[pos + 1:pos + 1 + n])
                    pos += 1 + n
                    length = struct.unpack('>Q', s[pos:pos + 8])[0]
                    small = min(length, SMALL_BLOCK)
                    small -= small % self.page
                    small = small or length
                    self.new_len[name] = small
                    out[pos:pos + 8] = struct.pack('>Q', small)
                    pos += 8
                    left -= length
                    total += small
                out[rec:rec + 8] = struct.pack('>Q', total | flags)
            elif flags & (RAM_ZERO | RAM_PAGE):
                if not flags & RAM_CONTINUE:
                    n = s[pos]
                    self.cur = bytes(s[pos + 1:pos + 1 + n])
                    pos += 1 + n
                folded = self.fold(self.cur, addr)
                out[rec:rec + 8] = struct.pack('>Q', folded | flags)
                pos += 1 if flags & RAM_ZERO else self.page
                # A page folded onto one this phase already wrote: leave
                # the record out (only CONTINUE ones, so that the current
                # block stays what the stream says).
                if (self.cur, folded) in self.seen and flags & RAM_CONTINUE:
                    self.drop.append((rec, pos))
                self.seen.add((self.cur, folded))
            if flags & RAM_EOS:
                if s[pos] != 0x7e:
                    self._stop(pos, 'no footer after EOS')
                return pos + 5
            if not flags & (RAM_MEM_SIZE | RAM_ZERO | RAM_PAGE | RAM_FLUSH):
                self._stop(rec, 'RAM flags %#x' % flags)

    def channel(self, c, comp):
        """Fold the page offsets of a multifd channel's packets."""
        out = bytearray(c)
        pos = HS
        while pos + PACKET <= len(c):
            normal = struct.unpack('>I', c[pos + 16:pos + 20])[0]
            nps = struct.unpack('>I', c[pos + 20:pos + 24])[0]
            zero = struct.unpack('>I', c[pos + 32:pos + 36])[0]
            name = bytes(c[pos + 64:pos + 320]).split(b'\0')[0]
            for i in range(min(normal + zero, 128)):
                o = pos + 320 + 8 * i
                off = struct.unpack('>Q', c[o:o + 8])[0]
                out[o:o + 8] = struct.pack('>Q', self.fold(name, off))
            pos += PACKET
            if normal:
                pos += normal * self.page if comp == 'none' else nps
        return bytes(out)


def small_ram(main, chans=(), comp='none'):
    """@main and @chans with every RAM block at most SMALL_BLOCK."""
    r = SmallRam()
    m = r.main(main)
    return m, [r.channel(c, comp) for c in chans]


COMP_BITS = {'none': 0, 'zstd': 1, 'zlib': 2}


def capture_seeds(captures):
    q = os.path.join(captures, 'qemu-7.2')
    kinds = {'nocomp-2ch': 'none', 'zstd-2ch': 'zstd', 'zlib-2ch': 'zlib'}
    for folder, comp in kinds.items():
        main = read(q, folder, 'conn-0.bin')
        chans = [read(q, folder, 'conn-1.bin'), read(q, folder, 'conn-2.bin')]
        chans.sort(key=channel_id)
        # handshake: both channels, 2 channels, configured uuid
        put('handshake', bytes([1 | 4]) + chans[1][:HS] + chans[0][:HS])
        put('handshake', bytes([0]) + chans[0][:HS])
        # packet: one seed per distinct (flags, has pages, pages_alloc)
        seen = set()
        for c in chans:
            for hdr in packets(c, comp):
                shape = (hdr[8:12], hdr[16:20] != b'\0' * 4, hdr[12:16])
                if shape not in seen:
                    seen.add(shape)
                    put('packet', bytes([COMP_BITS[comp] << 2]) + hdr)
        # stream, capture layout (bit 6: the captures' blocks, each cut to
        # 16 KiB, so page offsets are folded as for main, see SmallRam):
        # channel 0 alone, 3 syncs; whole for the compressed ones, cut for
        # nocomp
        r = SmallRam()
        r.main(main)
        chans = [r.channel(c, comp) for c in chans]
        conf = COMP_BITS[comp] << 2 | 0x40
        c0 = chans[0] if comp != 'none' else cut(chans[0], comp, 300000)
        put('stream', bytes([conf, syncs(c0, comp), 1]) + c0)
        c1 = cut(c0, comp, 60000)
        put('stream', bytes([conf | 0x30, 0x10 | syncs(c1, comp), 2]) + c1)
        # both channels cut to 60 KB (syncs: the fewer of the two)
        a, b = cut(chans[0], comp, 60000), cut(chans[1], comp, 60000)
        n = min(syncs(a, comp), syncs(b, comp))
        put('stream', bytes([conf | 1, n, 3]) + struct.pack('>H', len(a)) +
            a + b)
        put('stream', bytes([conf | 1 | 0x10, 0x40 | n, 4]) +
            struct.pack('>H', len(a)) + a + b)
        # main: the main channel alone (zero pages on main, device state,
        # EOF, description), replay mode with expect_end
        # (RAM blocks shrunk, see SmallRam), cut 64 bytes into the device
        # sections: the receiver scans their 12 KiB a byte at a time
        # (4-5 ms per input under ASan, 30 times a RAM-only input);
        # generated seeds cover device sections and the VM description
        if comp == 'none':
            r = SmallRam()
            m = r.main(main)
            put('main', bytes([0x80, 0]) + m[:r.devices_at + 64])
        # the whole zstd migration, 2 channels, per-section sync
        if comp == 'zstd':
            m, cs = small_ram(main, chans, comp)
            put('main', bytes([0x80 | 2 << 1 | COMP_BITS[comp] << 5, 0]) +
                b''.join(struct.pack('>I', len(c)) + c for c in cs) + m)
    c = os.path.join(captures, 'qemu-7.2-colo')
    # COLO with multifd: 2 channels, per-section sync, checkpoint 0
    d = os.path.join(c, 'kvm-multifd2')
    chans = sorted([read(d, 'conn-1.bin'), read(d, 'conn-2.bin')],
                   key=channel_id)
    m, cs = small_ram(read(d, 'conn-0.bin'), chans)
    put('main', bytes([1 | 2 << 1, 0]) +
        b''.join(struct.pack('>I', len(x)) + x for x in cs) + m)
    put('handshake', bytes([1 | 4]) + chans[0][:HS] + chans[1][:HS])
    # COLO on the main channel: one checkpoint, then the primary hangs
    put('main', bytes([1, 0]) +
        small_ram(read(c, 'tcg-workload-yank', 'conn-0.bin'))[0])
    # 20 checkpoints (shrunk: 690 KB), whole and cut inside the RAM
    # state of the last checkpoint
    kill = small_ram(read(c, 'kvm-workload-kill', 'conn-0.bin'))[0]
    put('main', bytes([1, 0]) + kill)
    put('main', bytes([1, 0]) + kill[:len(kill) - 16000])


def minimal_main_seeds():
    """Short plain streams: QEVM header, "ram" SECTION_START with one
    MEM_SIZE block, a ZERO and a PAGE record, EOS, footer, QEMU_VM_EOF."""
    ram = 4 * 4096
    name = b'\x06pc.ram'
    s = b'QEVM' + struct.pack('>I', 3)
    s += b'\x01' + struct.pack('>I', 2) + b'\x03ram' + struct.pack('>II', 0, 4)
    s += struct.pack('>Q', ram | 0x04) + name + struct.pack('>Q', ram)
    s += struct.pack('>Q', 0x1000 | 0x02) + name + b'\x00'
    s += struct.pack('>Q', 0x2000 | 0x08) + name + bytes([0x5a]) * 4096
    s += struct.pack('>Q', 0x3000 | 0x22) + b'\x00'
    s += struct.pack('>Q', 0x10) + b'\x7e' + struct.pack('>I', 2) + b'\x00'
    put('main', bytes([0x80, 0]) + s)
    # the smallest: one ZERO record at offset 0, EOS, footer, EOF
    z = s[:s.index(struct.pack('>Q', 0x1000 | 0x02))]
    z += struct.pack('>Q', 0x02) + name + b'\x00'
    z += struct.pack('>Q', 0x10) + b'\x7e' + struct.pack('>I', 2) + b'\x00'
    put('main', bytes([0x80, 0]) + z)
    # the same with ENABLE_COLO, then one empty checkpoint
    colo = (s[:8] + b'\x08' + struct.pack('>HH', 8, 0) + s[8:])
    cp = struct.pack('>II', 1, 3) + b'\x03' + struct.pack('>I', 2)
    cp += struct.pack('>Q', 0x10) + b'\x7e' + struct.pack('>I', 2) + b'\x00'
    cp += struct.pack('>IQ', 4, 4) + b'dev!'
    put('main', bytes([0x01, 0]) + colo + cp)


def roundtrip_seeds():
    for sel in range(4):
        put('roundtrip', bytes([sel]) + bytes(range(1, 64)))
    put('roundtrip', bytes([2]) + struct.pack('>Q', 0x3092004))
    put('roundtrip', bytes([1, 1, 2, 128, 100, 28]) + bytes(40))
    # section headers: "ram" SECTION_START, PART, a device SECTION_FULL
    put('roundtrip', bytes([4, 1]) + struct.pack('>I', 2) + b'\x03ram' +
        struct.pack('>II', 0, 4))
    put('roundtrip', bytes([4, 2]) + struct.pack('>I', 2))
    put('roundtrip', bytes([4, 4]) + struct.pack('>I', 3) + b'\x05timer' +
        struct.pack('>II', 0, 2))
    # fixed records: footer, ENABLE_COLO, QEVM header, COLO message
    put('roundtrip', bytes([5, 0x7e]) + struct.pack('>I', 2) + bytes(3))
    put('roundtrip', bytes([5, 8]) + struct.pack('>HH', 8, 0) + bytes(3))
    put('roundtrip', bytes([5]) + b'QEVM' + struct.pack('>I', 3))
    put('roundtrip', bytes([5]) + struct.pack('>I', 4) + bytes(4))
    # names: a START header built from fields
    put('roundtrip', bytes([6, 0]) + struct.pack('>III', 2, 0, 4) +
        bytes([6]) + b'pc.ram')


def generated_seeds(gen):
    tmp = tempfile.mkdtemp(prefix='mfcolo-seeds-')
    try:
        subprocess.run([gen, tmp], check=True)
        for harness in sorted(os.listdir(tmp)):
            for name in sorted(os.listdir(os.path.join(tmp, harness))):
                put(harness, read(tmp, harness, name))
    finally:
        shutil.rmtree(tmp)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--captures',
                    default=os.path.join(HERE, '..', 'data'))
    ap.add_argument('--gen', help='path of the fuzz-gen-seeds program')
    ap.add_argument('--out', help='corpus root (default tests/fuzz/corpus)')
    a = ap.parse_args()
    if a.out:
        global OUT
        OUT = a.out
    capture_seeds(a.captures)
    minimal_main_seeds()
    roundtrip_seeds()
    if a.gen:
        generated_seeds(a.gen)
    else:
        print('make-seeds: --gen not given, generated seeds skipped',
              file=sys.stderr)


if __name__ == '__main__':
    main()
