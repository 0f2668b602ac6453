"""Make a random-weight SD 1.5 ControlNet that Forge's built-in sd_forge_controlnet loads.

Test tooling only: run it with the Forge venv's python. It builds a diffusers ``ControlNetModel``
from the SD 1.5 UNet config Forge ships (``backend/huggingface/runwayml/stable-diffusion-v1-5/
unet``), gives its zero-initialised output convolutions (the 12 ``controlnet_down_blocks`` and
the mid block's) ordinary random weights, so that the model changes the image, and its hint
embedding weights that carry the control image through (so that a different control image gives
a different picture), and writes it in the original ControlNet layout
(``control_model.input_blocks...``, ``zero_convs.N.0``, ``input_hint_block.N``,
``middle_block_out.0``), the layout of the SD 1.5 ``control_v11p_sd15_*`` files. Forge
detects that layout in ``modules_forge/supported_controlnet.py``
(``ControlNetPatcher.try_build_from_state_dict``: key ``control_model.zero_convs.0.0.weight``)
and builds ``backend/nn/cnets/cldm.ControlNet`` from it. UNet-part keys are converted with the
tables of the ``huggingface_guess`` helper repository (as in make_checkpoint.py). fp16, about
690 MiB.

Name the file with ``canny`` in it so that the unit's "Canny" control type offers it (Forge
filters the model list by the preprocessor's filename filters). The same seed gives a
byte-identical file.

    $FORGE_VENV/bin/python tests/forge_env/make_controlnet.py \\
        $FORGE_DIR/models/ControlNet/randControl_canny.safetensors
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_checkpoint import CONFIG_SUBDIR, default_forge_dir, load_converter

PREFIX = "control_model."
# Key counts of an original-layout SD 1.5 ControlNet (control_v11p_sd15_*), without prefix.
EXPECTED_KEYS = {
    "time_embed.": 4,
    "input_blocks.": 0,  # checked as part of the total
    "zero_convs.": 24,
    "input_hint_block.": 16,
    "middle_block_out.": 2,
}
EXPECTED_TOTAL = 340
DIFFUSERS_FRAGMENTS = ("down_blocks", "mid_block.", "resnets", "attentions", "time_embedding")
# Keys convert_unet_state_dict looks up although a ControlNet has no decoder output.
HINT_GAIN = 10.0  # see build_controlnet
UNET_ONLY = ("conv_norm_out.weight", "conv_norm_out.bias", "conv_out.weight", "conv_out.bias")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output", type=Path, help="where to write the .safetensors file")
    ap.add_argument("--seed", type=int, default=0, help="RNG seed for all weights (default 0)")
    ap.add_argument(
        "--forge-dir",
        type=Path,
        default=default_forge_dir(),
        help="Forge checkout (default: $FORGE_DIR, else <checkout>/../forge)",
    )
    return ap.parse_args(argv)


def build_controlnet(forge_dir: Path, seed: int):
    """A diffusers ControlNetModel of SD 1.5's shape with random (not zero) output convs."""
    import torch
    from diffusers import ControlNetModel, UNet2DConditionModel

    cfg = forge_dir / CONFIG_SUBDIR / "unet"
    if not cfg.is_dir():
        sys.exit(f"missing {cfg}: is {forge_dir} a Forge checkout?")
    unet_config = dict(UNet2DConditionModel.load_config(cfg))
    accepted = inspect.signature(ControlNetModel.__init__).parameters
    config = {k: v for k, v in unet_config.items() if k in accepted}

    torch.manual_seed(seed)
    model = ControlNetModel.from_config(config)
    with torch.no_grad():
        for conv in [model.controlnet_mid_block, *model.controlnet_down_blocks]:
            conv.reset_parameters()  # PyTorch's default init, from the seeded global RNG
        # The hint embedding (8 convs with SiLU, no norm) with PyTorch's default init shrinks
        # its input ~100-fold and its biases swamp it: the residuals then depend on the control
        # image by 1e-4 only, so two different images give the same picture. He-normal weights,
        # zero biases and a gain on the last conv make them depend on it strongly (measured:
        # ~70% of the residuals' RMS differs between a picture and its canny edges).
        generator = torch.Generator().manual_seed(seed + 1_000_003)
        embedding = model.controlnet_cond_embedding
        for conv in [embedding.conv_in, *embedding.blocks, embedding.conv_out]:
            fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
            std = (2.0 / fan_in) ** 0.5
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * std)
            conv.bias.zero_()
        embedding.conv_out.weight.mul_(HINT_GAIN)
    return model


def to_original_layout(diffusers_sd: dict, convert) -> dict:
    """diffusers ControlNetModel keys -> original ControlNet keys (the inverse of Forge's map)."""
    unet_part = {}
    out = {}
    for key, value in diffusers_sd.items():
        head, _, rest = key.partition(".")
        if head == "controlnet_down_blocks":
            index, _, suffix = rest.partition(".")
            out[f"zero_convs.{index}.0.{suffix}"] = value
        elif head == "controlnet_mid_block":
            out[f"middle_block_out.0.{rest}"] = value
        elif head == "controlnet_cond_embedding":
            part, _, suffix = rest.rpartition(".")
            if part == "conv_in":
                index = 0
            elif part == "conv_out":
                index = 14
            else:  # blocks.<i>
                index = (int(part.split(".")[1]) + 1) * 2
            out[f"input_hint_block.{index}.{suffix}"] = value
        else:
            unet_part[key] = value
    placeholders = {k: None for k in UNET_ONLY}
    for key, value in convert.convert_unet_state_dict({**unet_part, **placeholders}).items():
        if value is not None:
            out[key] = value
    return out


def check_layout(sd: dict) -> None:
    if len(sd) != EXPECTED_TOTAL:
        sys.exit(f"layout check failed: {len(sd)} keys, expected {EXPECTED_TOTAL}")
    for prefix, expected in EXPECTED_KEYS.items():
        got = sum(1 for k in sd if k.startswith(prefix))
        if expected and got != expected:
            sys.exit(f"layout check failed: {got} keys under {prefix!r}, expected {expected}")
    for key in sd:
        if any(frag in key for frag in DIFFUSERS_FRAGMENTS):
            sys.exit(f"layout check failed: unconverted key {key}")
    spots = {
        "input_blocks.0.0.weight": (320, 4, 3, 3),
        "input_hint_block.0.weight": (16, 3, 3, 3),
        "input_hint_block.14.weight": (320, 256, 3, 3),
        "zero_convs.11.0.weight": (1280, 1280, 1, 1),
        "middle_block_out.0.weight": (1280, 1280, 1, 1),
        "middle_block.1.proj_in.weight": (1280, 1280, 1, 1),
    }
    for key, shape in spots.items():
        if key not in sd or tuple(sd[key].shape) != shape:
            got = tuple(sd[key].shape) if key in sd else None
            sys.exit(f"layout check failed: {key} has shape {got}, expected {shape}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    from safetensors.torch import save_file

    started = time.monotonic()
    convert = load_converter(args.forge_dir)
    model = build_controlnet(args.forge_dir, args.seed)
    sd = to_original_layout(model.state_dict(), convert)
    check_layout(sd)
    sd = {PREFIX + k: v.detach().to(torch.float16).contiguous() for k, v in sd.items()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_name(args.output.name + ".part")
    # One metadata key only, as make_checkpoint.py (byte-identical files for one seed).
    save_file(sd, str(tmp), metadata={"format": "pt"})
    tmp.replace(args.output)
    size = args.output.stat().st_size / 2**20
    took = time.monotonic() - started
    print(f"wrote {args.output} ({len(sd)} tensors, {size:.0f} MiB, seed {args.seed}, {took:.0f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
