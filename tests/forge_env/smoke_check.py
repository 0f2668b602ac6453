"""Smoke-check a running test Forge through its API (test tooling, not part of the product).

Checks that both random checkpoints are listed, that txt2img gives a non-uniform (not black)
image, that the same request twice gives byte-identical PNGs, that the two checkpoints give
different images, and that img2img is repeatable (needs the test-only seed script).
Prints the time of each request. Needs Pillow: run it with the Forge venv's python.

    $FORGE_VENV/bin/python tests/forge_env/smoke_check.py [--url http://127.0.0.1:7861]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import sys
import time
import urllib.error
import urllib.request

from PIL import Image, ImageStat

CHECKPOINTS = ("randA", "randB")


def call(url: str, path: str, body: dict | None = None, timeout: float = 600) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method="GET" if body is None else "POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def wait_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            call(url, "/sdapi/v1/sd-models", timeout=5)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def timed(label: str, url: str, path: str, body: dict) -> bytes:
    started = time.monotonic()
    result = call(url, path, body)
    took = time.monotonic() - started
    png = base64.b64decode(result["images"][0])
    image = Image.open(io.BytesIO(png)).convert("RGB")
    stat = ImageStat.Stat(image)
    mean = sum(stat.mean) / 3
    std = sum(stat.stddev) / 3
    size = "x".join(map(str, image.size))
    print(f"{label:<34} {took:6.2f} s  {size}  mean {mean:5.1f} std {std:5.1f}")
    if std < 2.0 or mean < 2.0:
        sys.exit(f"FAIL: {label}: image is black or uniform (mean {mean:.1f}, std {std:.1f})")
    return png


def txt2img_body(checkpoint: str, seed: int = 1234) -> dict:
    return {
        "prompt": "a red house by a lake",
        "negative_prompt": "",
        "seed": seed,
        "steps": 2,
        "width": 64,
        "height": 64,
        "cfg_scale": 7,
        "sampler_name": "Euler",
        "scheduler": "Automatic",
        "batch_size": 1,
        "n_iter": 1,
        "save_images": False,
        "send_images": True,
        "override_settings": {"sd_model_checkpoint": checkpoint},
    }


def main(argv: list[str] | None = None) -> int:
    port = os.environ.get("FORGE_PORT", "7861")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=f"http://127.0.0.1:{port}")
    ap.add_argument("--wait", type=float, default=120, help="seconds to wait for the API")
    args = ap.parse_args(argv)
    url = args.url.rstrip("/")

    wait_ready(url, args.wait)
    titles = [m["title"] for m in call(url, "/sdapi/v1/sd-models")]
    print("checkpoints:", ", ".join(titles))
    for name in CHECKPOINTS:
        if not any(t.startswith(name + ".safetensors") for t in titles):
            sys.exit(f"FAIL: checkpoint {name} not listed")

    a1 = timed("txt2img A (first: loads model)", url, "/sdapi/v1/txt2img", txt2img_body("randA"))
    a2 = timed("txt2img A (same request again)", url, "/sdapi/v1/txt2img", txt2img_body("randA"))
    if a1 != a2:
        sys.exit("FAIL: two identical txt2img requests gave different PNGs")
    b1 = timed("txt2img B (switches checkpoint)", url, "/sdapi/v1/txt2img", txt2img_body("randB"))
    b2 = timed("txt2img B (same request again)", url, "/sdapi/v1/txt2img", txt2img_body("randB"))
    if b1 != b2:
        sys.exit("FAIL: two identical txt2img requests on B gave different PNGs")
    if a1 == b1:
        sys.exit("FAIL: checkpoints A and B gave the same image")

    scripts = call(url, "/sdapi/v1/scripts")
    if "test rng seed" not in scripts.get("img2img", []):
        print("WARNING: test-only seed script not listed: img2img will not be repeatable")

    i2i = txt2img_body("randB", seed=99)
    i2i.update({"init_images": [base64.b64encode(a1).decode()], "denoising_strength": 0.6})
    i1 = timed("img2img B", url, "/sdapi/v1/img2img", i2i)
    i2 = timed("img2img B (same request again)", url, "/sdapi/v1/img2img", i2i)
    if i1 != i2:
        sys.exit("FAIL: two identical img2img requests differ (is the seed script installed?)")

    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    inpaint = dict(i2i, mask=base64.b64encode(buf.getvalue()).decode(), inpainting_fill=1)
    p1 = timed("inpaint B", url, "/sdapi/v1/img2img", inpaint)
    p2 = timed("inpaint B (same request again)", url, "/sdapi/v1/img2img", inpaint)
    if p1 != p2:
        sys.exit("FAIL: two identical inpaint requests differ (is the seed script installed?)")
    print("OK: all smoke checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
