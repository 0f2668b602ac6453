"""A process that queues a decompression bomb and reports how much its memory peak grew.

Usage: python -m tests.api.bomb_enqueue DATA_DIR
Prints one JSON line: {"status": {...}, "details": {...}, "growth_mb": float, "pending": int}.
Peak resident memory (ru_maxrss) is read after a warm-up request, so only the bomb requests
count. The bomb is a 10000 x 10000 RGB PNG of a few hundred KB: decoding it takes 300 MB.
"""

from __future__ import annotations

import base64
import json
import resource
import struct
import sys
import warnings
import zlib
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import build_api, png_base64

SIDE = 10_000


def png_bomb(side: int = SIDE) -> bytes:
    """A black side x side RGB PNG, compressed row by row (never held decoded in memory)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + side * 3)  # filter byte + pixels
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(data_dir: str) -> None:
    warnings.simplefilter("ignore")  # Pillow warns about the bomb's size; that is the point
    app, services, _host = build_api(Path(data_dir))
    client = TestClient(app)
    warm_up = client.post("/task-scheduler/queue/img2img", json={"init_images": [png_base64()]})
    assert warm_up.status_code == 201, warm_up.text
    bomb = base64.b64encode(png_bomb()).decode("ascii")
    bodies = {
        "init_image": {"prompt": "x", "init_images": [bomb]},
        "script_arg": {
            "prompt": "x",
            "alwayson_scripts": {"ControlNet": {"args": [{"enabled": True, "image": bomb}]}},
        },
    }
    before = peak_mb()
    status, details = {}, {}
    for name, body in bodies.items():
        reply = client.post("/task-scheduler/queue/img2img", json=body)
        status[name] = reply.status_code
        details[name] = reply.json().get("detail")
    growth = peak_mb() - before
    pending = services.queue.counts()["pending"]
    services.executor.shutdown(timeout=5)
    print(
        json.dumps({"status": status, "details": details, "growth_mb": growth, "pending": pending})
    )


if __name__ == "__main__":
    main(sys.argv[1])
