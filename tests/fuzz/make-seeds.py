#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Seed the fuzz corpora.

Writes files named by their SHA-1 into tests/fuzz/corpus/<harness>/:
  - from the real QEMU 7.2 captures (../shared/captures/qemu-7.2 and
    qemu-7.2-colo): handshakes, single packet headers, whole and cut
    multifd channel streams, whole and cut main channels;
  - from the fake primary, through the fuzz-gen-seeds program (built with
    the replay engine: BUILD/tests/fuzz/fuzz-gen-seeds), for the
    handshake, stream, main and model harnesses;
  - hand-made inputs for every round-trip format.

Usage: tests/fuzz/make-seeds.py [--captures DIR] [--gen PROGRAM]
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


def put(harness, data):
    d = os.path.join(HERE, 'corpus', harness)
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
        # stream, capture layout (bit 6): channel 0 alone, 3 syncs; whole
        # for the compressed ones, cut for nocomp
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
        if comp == 'none':
            put('main', bytes([0x80, 0]) + main)
        # the whole zstd migration, 2 channels, per-section sync
        if comp == 'zstd':
            put('main', bytes([0x80 | 2 << 1 | COMP_BITS[comp] << 5, 0]) +
                b''.join(struct.pack('>I', len(c)) + c for c in chans) +
                main)
    c = os.path.join(captures, 'qemu-7.2-colo')
    # COLO with multifd: 2 channels, per-section sync, checkpoint 0
    d = os.path.join(c, 'kvm-multifd2')
    chans = sorted([read(d, 'conn-1.bin'), read(d, 'conn-2.bin')],
                   key=channel_id)
    put('main', bytes([1 | 2 << 1, 0]) +
        b''.join(struct.pack('>I', len(x)) + x for x in chans) +
        read(d, 'conn-0.bin'))
    put('handshake', bytes([1 | 4]) + chans[0][:HS] + chans[1][:HS])
    # COLO on the main channel: one checkpoint, then the primary hangs
    put('main', bytes([1, 0]) + read(c, 'tcg-workload-yank', 'conn-0.bin'))
    # 20 checkpoints: cut at 1 MB, inside a checkpoint
    put('main', bytes([1, 0]) +
        read(c, 'kvm-workload-kill', 'conn-0.bin')[:1000000])


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
                    default=os.path.join(HERE, '..', '..', '..', 'shared',
                                         'captures'))
    ap.add_argument('--gen', help='path of the fuzz-gen-seeds program')
    a = ap.parse_args()
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
