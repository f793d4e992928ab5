"""Draws the service's favicon (consent_service/static/favicon.ico): a blue rounded square with a white
check mark, at 16 and 32 pixels, each a PNG inside the ICO. Run once; the icon is committed.

    python tools/favicon.py [consent_service/static/favicon.ico]
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from pathlib import Path

BLUE = (29, 78, 137)  # #1d4e89
CHECK = ((0.26, 0.53), (0.43, 0.70), (0.75, 0.33))  # the mark's corners, in units of the side
STROKE = 0.12
SAMPLES = 4  # per pixel and axis: anti-aliasing by supersampling


def _segment_distance(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _coverage(size: int, x: int, y: int) -> tuple[float, float]:
    """How much of the pixel is inside the rounded square, and how much of that is the mark."""
    corner = size * 0.22
    inside = mark = 0
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            fx, fy = x + (sx + 0.5) / SAMPLES, y + (sy + 0.5) / SAMPLES
            qx, qy = min(fx, size - fx), min(fy, size - fy)
            if qx < corner and qy < corner and math.hypot(corner - qx, corner - qy) > corner:
                continue
            inside += 1
            unit = (fx / size, fy / size)
            if min(_segment_distance(unit, *CHECK[:2]), _segment_distance(unit, *CHECK[1:])) <= STROKE / 2:
                mark += 1
    return inside / SAMPLES**2, (mark / inside if inside else 0.0)


def png(size: int) -> bytes:
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter: none
        for x in range(size):
            alpha, mark = _coverage(size, x, y)
            row += bytes([round(c * (1 - mark) + 255 * mark) for c in BLUE] + [round(alpha * 255)])
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def ico(sizes: tuple[int, ...] = (16, 32)) -> bytes:
    images = [(size, png(size)) for size in sizes]
    offset = 6 + 16 * len(images)
    entries, data = b"", b""
    for size, image in images:
        entries += struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(image), offset + len(data))
        data += image
    return struct.pack("<HHH", 0, 1, len(images)) + entries + data


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "consent_service/static/favicon.ico")
    out.write_bytes(ico())
