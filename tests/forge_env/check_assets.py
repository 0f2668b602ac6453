"""Prove the issue-9 test assets work in a running test Forge, through its API (test tooling).

Checks, each on checkpoint randA with the smoke check's 64x64 / 2-step request:
- LoRA: ``GET /sdapi/v1/loras`` lists randLora; ``<lora:randLora:1>`` in the prompt changes the
  image, weight 0.5 gives a third image, the same request twice is byte-identical, and the
  infotext records ``Lora hashes``;
- embedding: ``GET /sdapi/v1/embeddings`` lists randEmbed as loaded (2 vectors of 768); the
  token in the negative prompt changes the image; with ``--embedding-reload`` also that the
  *embedding* (not the word) does it: with the file moved away and the model reloaded (Forge
  reads embeddings when it loads a model) the same request gives a different image, and with the
  file back the original one;
- styles: ``GET /sdapi/v1/prompt-styles`` lists both test styles; ``styles`` in the request
  gives the same image as the request with the styles' text written out by hand, and the
  wrapping style put the prompt in place of ``{prompt}``;
- ControlNet: ``GET /controlnet/model_list`` lists randControl_canny; a unit (canny, pixel
  perfect, an uploaded 64x64 picture) changes the image, twice gives the same image, the
  mirrored picture gives another image (the control image matters, not only the unit), and the
  "None" preprocessor (the picture itself as hint) yet another one.
Prints the time of each request. Run with the Forge venv's python (needs Pillow and numpy).

    $FORGE_VENV/bin/python tests/forge_env/check_assets.py [--url URL] [--embedding-reload]
        [--only lora|embedding|styles|controlnet ...]
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_checkpoint import default_forge_dir
from make_styles import STYLES
from smoke_check import call, txt2img_body, wait_ready

LORA = "randLora"
EMBEDDING = "randEmbed"
CONTROLNET = "randControl_canny"
VISIBLE = 2.0  # mean absolute difference per channel (0-255) that a person would notice


def fail(message: str) -> None:
    sys.exit(f"FAIL: {message}")


def generate(label: str, url: str, body: dict, path: str = "/sdapi/v1/txt2img"):
    """Run one request; return (png bytes, pixels as int array, infotext)."""
    started = time.monotonic()
    result = call(url, path, body)
    took = time.monotonic() - started
    png = base64.b64decode(result["images"][0])
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    info = result.get("info", "")
    print(f"{label:<44} {took:6.2f} s  mean {pixels.mean():5.1f} std {pixels.std():5.1f}")
    if pixels.std() < 2.0:
        fail(f"{label}: image is uniform")
    return png, pixels, info


def differ(label: str, a, b) -> float:
    diff = float(np.abs(a[1] - b[1]).mean())
    print(f"  {label}: mean abs difference {diff:.1f}")
    if diff < VISIBLE:
        fail(f"{label}: images differ by only {diff:.2f} (need {VISIBLE})")
    return diff


def same(label: str, a, b, pixels_only: bool = False) -> None:
    """Byte-identical PNGs, or (pixels_only: the infotexts legitimately differ) pixels."""
    if pixels_only:
        if not np.array_equal(a[1], b[1]):
            fail(f"{label}: the pixels differ")
        print(f"  {label}: identical pixels")
        return
    if a[0] != b[0]:
        fail(f"{label}: the two PNGs differ")
    print(f"  {label}: byte-identical")


def body(prompt: str, negative: str = "", checkpoint: str = "randA", **extra) -> dict:
    out = txt2img_body(checkpoint)
    out.update(prompt=prompt, negative_prompt=negative, **extra)
    return out


def check_lora(url: str, prompt: str, base) -> None:
    names = [item["name"] for item in call(url, "/sdapi/v1/loras")]
    if LORA not in names:
        fail(f"LoRA {LORA} not listed by /sdapi/v1/loras ({names})")
    full = generate("LoRA at 1", url, body(f"{prompt} <lora:{LORA}:1>"))
    again = generate("LoRA at 1 (same request again)", url, body(f"{prompt} <lora:{LORA}:1>"))
    half = generate("LoRA at 0.5", url, body(f"{prompt} <lora:{LORA}:0.5>"))
    differ("LoRA at 1 vs no LoRA", full, base)
    differ("LoRA at 0.5 vs no LoRA", half, base)
    differ("LoRA at 1 vs 0.5", full, half)
    same("LoRA at 1 twice", full, again)
    if "Lora hashes" not in full[2] or f"{LORA}: " not in full[2]:
        fail(f"infotext has no Lora hashes for {LORA}: {full[2]!r}")


def reload_model(url: str, prompt: str) -> None:
    """Load randB then randA again: Forge re-reads the embeddings folder on a model load."""
    generate("  (load randB)", url, body(prompt, checkpoint="randB"))


def check_embedding(url: str, prompt: str, base, forge_dir: Path | None) -> None:
    listed = call(url, "/sdapi/v1/embeddings")
    entry = listed.get("loaded", {}).get(EMBEDDING)
    if entry is None:
        fail(f"embedding {EMBEDDING} not loaded: {listed}")
    if entry.get("shape") != 768 or entry.get("vectors") != 2:
        fail(f"embedding {EMBEDDING} has shape/vectors {entry}")
    with_emb = generate("embedding in the negative prompt", url, body(prompt, EMBEDDING))
    differ("negative embedding vs none", with_emb, base)
    if forge_dir is None:
        return
    path = forge_dir / "embeddings" / f"{EMBEDDING}.safetensors"
    aside = path.with_name(path.name + ".aside")
    shutil.move(path, aside)
    try:
        reload_model(url, prompt)
        as_word = generate("same, file gone + model reloaded", url, body(prompt, EMBEDDING))
    finally:
        shutil.move(aside, path)
    reload_model(url, prompt)
    back = generate("same, file back + model reloaded", url, body(prompt, EMBEDDING))
    differ("embedding vs the bare word", with_emb, as_word)
    same("embedding before and after the reload", with_emb, back)


def check_styles(url: str, prompt: str) -> None:
    names = [item["name"] for item in call(url, "/sdapi/v1/prompt-styles")]
    wanted = [name for name, _, _ in STYLES]
    if not all(name in names for name in wanted):
        fail(f"styles {wanted} not all listed by /sdapi/v1/prompt-styles ({names})")
    styled = generate("two styles", url, body(prompt, "", styles=wanted))
    # Forge applies the styles in order: appended one first, then the wrapping one.
    (_, p1, n1), (_, p2, n2) = STYLES
    by_hand_prompt = p2.replace("{prompt}", f"{prompt}, {p1}")
    by_hand = generate("the same written out by hand", url, body(by_hand_prompt, f"{n1}, {n2}"))
    same("styles vs written out", styled, by_hand, pixels_only=True)
    if f"a photo of {prompt}" not in styled[2]:
        fail(f"the wrapping style did not wrap the prompt: {styled[2]!r}")


def control_picture(flip: bool = False) -> str:
    """A 64x64 picture with hard edges (a bright square and a bar on dark) for canny;
    `flip` mirrors it left-right (same colours, other edges)."""
    pixels = np.full((64, 64, 3), 30, dtype=np.uint8)
    pixels[12:40, 12:40] = (230, 200, 40)
    pixels[46:54, 8:58] = (40, 120, 230)
    if flip:
        pixels = np.ascontiguousarray(pixels[:, ::-1])
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def check_controlnet(url: str, prompt: str, base) -> None:
    models = call(url, "/controlnet/model_list")["model_list"]
    model = next((m for m in models if m.split(" [")[0] == CONTROLNET), None)
    if model is None:
        fail(f"ControlNet model {CONTROLNET} not listed by /controlnet/model_list ({models})")
    print(f"  ControlNet model listed as {model!r}")
    unit = {
        "enabled": True,
        "module": "canny",
        "model": model,
        "weight": 1.0,
        "image": control_picture(),
        "resize_mode": "Crop and Resize",
        "processor_res": 64,
        "threshold_a": 100,
        "threshold_b": 200,
        "pixel_perfect": True,
        "control_mode": "Balanced",
    }

    def with_unit(**changes) -> dict:
        return body(prompt, alwayson_scripts={"ControlNet": {"args": [{**unit, **changes}]}})

    canny = generate("ControlNet canny", url, with_unit())
    again = generate("ControlNet canny (same request again)", url, with_unit())
    other = generate(
        "ControlNet canny, mirrored picture", url, with_unit(image=control_picture(True))
    )
    plain = generate("ControlNet, preprocessor None", url, with_unit(module="None"))
    differ("ControlNet canny vs no unit", canny, base)
    differ("ControlNet canny: mirrored vs first picture", other, canny)
    differ("ControlNet None vs canny", plain, canny)
    same("ControlNet canny twice", canny, again)


def main(argv: list[str] | None = None) -> int:
    port = os.environ.get("FORGE_PORT", "7861")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=f"http://127.0.0.1:{port}")
    ap.add_argument("--wait", type=float, default=120, help="seconds to wait for the API")
    ap.add_argument(
        "--embedding-reload",
        action="store_true",
        help="also move the embedding file away and back (two extra model reloads)",
    )
    ap.add_argument("--forge-dir", type=Path, default=default_forge_dir())
    ap.add_argument(
        "--only",
        action="append",
        choices=("lora", "embedding", "styles", "controlnet"),
        help="run only these checks (repeatable; default all)",
    )
    args = ap.parse_args(argv)
    url = args.url.rstrip("/")
    wait_ready(url, args.wait)

    prompt = "a red house by a lake"
    base = generate("no assets (loads model)", url, body(prompt))
    wanted = set(args.only or ("lora", "embedding", "styles", "controlnet"))
    if "lora" in wanted:
        check_lora(url, prompt, base)
    if "embedding" in wanted:
        check_embedding(url, prompt, base, args.forge_dir if args.embedding_reload else None)
    if "styles" in wanted:
        check_styles(url, prompt)
    if "controlnet" in wanted:
        check_controlnet(url, prompt, base)
    print(f"OK: asset checks passed ({', '.join(sorted(wanted))})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
