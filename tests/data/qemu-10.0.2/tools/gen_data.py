#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Generate deterministic guest-RAM payload files for the capture runs.

Writes into DIR (argv[1]) the files below and a layout.json describing
where each one is loaded (guest physical address == pc.ram offset here,
since -m 32M keeps all RAM below the PCI hole).
"""
import json
import os
import random
import sys

PAGE = 4096
out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)

layout = []


def put(name, data, addr, what):
    p = os.path.join(out, name)
    with open(p, "wb") as f:
        f.write(data)
    layout.append({"file": name, "addr": addr, "size": len(data), "what": what})


# 1. 2 MiB of pseudo-random bytes (incompressible) at 1 MiB -> 512 full pages.
rnd = random.Random(0x5EED1234)
put("rand2m.bin", rnd.randbytes(2 * 1024 * 1024), 0x100000,
    "2 MiB pseudo-random (random.Random(0x5EED1234).randbytes)")

# 2. 1 MiB recognisable pattern at 4 MiB: each page starts with an ASCII tag
#    'MFDPAGE#<gpa hex 8>' followed by (i + pageidx) & 0xff bytes.
pat = bytearray()
base = 0x400000
for pg in range(256):
    tag = b"MFDPAGE#%08x" % (base + pg * PAGE)
    body = bytes(((i + pg) & 0xFF) for i in range(PAGE - len(tag)))
    pat += tag + body
put("pattern1m.bin", bytes(pat), base,
    "1 MiB pattern: per page b'MFDPAGE#%08x'%gpa then bytes (i+pageidx)&0xff")

# 3. 64 KiB sparse block at 8 MiB: even pages all zero, odd pages have exactly
#    one non-zero byte (offset 0, 4095, 2048, 1, ...) -> tests zero-page detection.
sp = bytearray(16 * PAGE)
offs = [0, 4095, 2048, 1, 4094, 17, 3000, 4000]
for k, pg in enumerate(range(1, 16, 2)):
    sp[pg * PAGE + offs[k]] = 0xA5 ^ k
put("sparse64k.bin", bytes(sp), 0x800000,
    "64 KiB: even pages zero, odd pages exactly one non-zero byte")

# 4. 6000 bytes of random data at an unaligned address (0x1000800..0x1001f6f, 2 pages).
put("unaligned6000.bin", rnd.randbytes(6000), 0x1000800,
    "6000 random bytes at unaligned GPA 0x1000800 (touches 2 pages, partially)")

# 5. 2750 bytes of text in the very last page of RAM (32 MiB guest).
txt = (b"QEMU multifd conformance capture. Last page of pc.ram. " * 50)[:3000]
put("lastpage.txt", txt, 0x2000000 - PAGE, "2750 bytes ASCII text at the start of the last page of 32 MiB RAM")

with open(os.path.join(out, "layout.json"), "w") as f:
    json.dump(layout, f, indent=1)
print(json.dumps(layout, indent=1))
