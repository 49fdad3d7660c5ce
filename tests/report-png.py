#!/usr/bin/env python3
"""tests/report-png.py - is a screenshot of the HTML report blank?

Decodes a PNG (8-bit RGB or RGBA, not interlaced: what headless Chromium
writes) with the standard library only, and prints one line:

    WIDTHxHEIGHT ink=F blue=N red=N green=N

ink is the share of pixels that differ from the page background (the most
common colour); blue/red/green count the pixels in the report's first three
plot colours (reports/report.c palette: #4a7fb5, #b5584a, #4ab56a), so a
page whose SVG plots did not render has few of them.  Exit status 1 when the
file is not such a PNG.
"""
import struct
import sys
import zlib
from collections import Counter


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("unsupported PNG (depth %d, colour type %d)" % (depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def main():
    try:
        w, h, bpp, rows = decode(sys.argv[1])
    except (OSError, ValueError, zlib.error, struct.error, TypeError) as e:
        print("report-png: %s: %s" % (sys.argv[1], e))
        return 1
    px = Counter()
    for r in rows:
        for i in range(0, len(r), bpp):
            px[r[i:i + 3]] += 1
    bg, nbg = px.most_common(1)[0]
    total = w * h
    colours = {"blue": b"\x4a\x7f\xb5", "red": b"\xb5\x58\x4a", "green": b"\x4a\xb5\x6a"}
    print("%dx%d ink=%.4f %s" % (w, h, 1 - nbg / total,
          " ".join("%s=%d" % (k, px[v]) for k, v in colours.items())))
    return 0


sys.exit(main())
