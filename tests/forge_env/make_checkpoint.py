"""Make a random-weight Stable Diffusion 1.5 checkpoint that a real Forge loads.

Test tooling only: run it with the Forge venv's python (it needs torch, diffusers, transformers
and safetensors, which Forge's requirements install). It builds the UNet, VAE and CLIP text
model from the diffusers/transformers configs that Forge ships under
``backend/huggingface/runwayml/stable-diffusion-v1-5/``, gives every norm layer slightly random
weights and biases (with the default weight 1 / bias 0 the text encoder's output mean is exactly
0, Forge's prompt-emphasis code divides by it and every image comes out black), converts the
UNet and VAE keys to the original single-file layout with the conversion tables of the
``huggingface_guess`` helper repository that Forge itself uses, and saves fp16 safetensors
(about 2 GiB).

    $FORGE_VENV/bin/python tests/forge_env/make_checkpoint.py \\
        $FORGE_DIR/models/Stable-diffusion/randA.safetensors --seed 1

Different seeds give different checkpoints; the same seed gives a byte-identical file (with the
same torch / diffusers / transformers versions).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

CONFIG_SUBDIR = Path("backend/huggingface/runwayml/stable-diffusion-v1-5")
# The test Forge lives beside the project checkout: <checkout>/../forge (tests/forge_env/ is two
# folders below the checkout).
DEFAULT_FORGE_DIR = Path(__file__).resolve().parents[3] / "forge"


def default_forge_dir() -> Path:
    """$FORGE_DIR, else the folder `forge` beside the project checkout."""
    value = os.environ.get("FORGE_DIR")
    return Path(value) if value else DEFAULT_FORGE_DIR


# Key counts of a real SD 1.5 single-file checkpoint (without position_ids / EMA keys).
EXPECTED_KEYS = {
    "model.diffusion_model.": 686,
    "first_stage_model.": 248,
    "cond_stage_model.transformer.": 196,
}
# Diffusers-only name fragments that must not survive the conversion.
DIFFUSERS_FRAGMENTS = (
    "down_blocks",
    "up_blocks",
    "mid_block",
    "resnets",
    "attentions",
    "time_embedding",
    "conv_norm_out",
)


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
    ap.add_argument(
        "--norm-jitter",
        type=float,
        default=0.1,
        help="std-dev of the noise added to norm weights (around 1) and biases (around 0)",
    )
    return ap.parse_args(argv)


def load_converter(forge_dir: Path):
    """Load huggingface_guess/diffusers_convert.py as a standalone module.

    Loading the file directly (not the package) avoids importing the rest of huggingface_guess;
    the module only needs torch.
    """
    path = forge_dir / "repositories/huggingface_guess/huggingface_guess/diffusers_convert.py"
    if not path.is_file():
        sys.exit(f"missing {path}: check out huggingface_guess into {forge_dir}/repositories")
    spec = importlib.util.spec_from_file_location("_hfg_diffusers_convert", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def jitter_norms(models, generator, std: float) -> int:
    """Give every affine GroupNorm/LayerNorm weight ~N(1, std) and bias ~N(0, std)."""
    import torch

    count = 0
    with torch.no_grad():
        for model in models:
            for module in model.modules():
                if not isinstance(module, torch.nn.GroupNorm | torch.nn.LayerNorm):
                    continue
                weight = getattr(module, "weight", None)
                bias = getattr(module, "bias", None)
                if weight is not None:
                    noise = torch.randn(weight.shape, generator=generator) * std
                    weight.copy_(1.0 + noise)
                if bias is not None:
                    bias.copy_(torch.randn(bias.shape, generator=generator) * std)
                count += 1
    return count


def build_state_dict(forge_dir: Path, seed: int, norm_jitter: float) -> dict:
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    cfg = forge_dir / CONFIG_SUBDIR
    if not cfg.is_dir():
        sys.exit(f"missing {cfg}: is {forge_dir} a Forge checkout?")
    convert = load_converter(forge_dir)

    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(cfg / "unet"))
    vae = AutoencoderKL.from_config(AutoencoderKL.load_config(cfg / "vae"))
    text = CLIPTextModel(CLIPTextConfig.from_json_file(cfg / "text_encoder" / "config.json"))

    generator = torch.Generator().manual_seed(seed + 1_000_003)
    n_norms = jitter_norms((unet, vae, text), generator, norm_jitter)
    print(f"randomised {n_norms} norm layers (std {norm_jitter})")

    out: dict[str, torch.Tensor] = {}
    for key, value in convert.convert_unet_state_dict(unet.state_dict()).items():
        out["model.diffusion_model." + key] = value
    for key, value in convert.convert_vae_state_dict(vae.state_dict()).items():
        out["first_stage_model." + key] = value
    for key, value in text.state_dict().items():
        if key.endswith("position_ids"):
            continue
        out["cond_stage_model.transformer." + key] = value
    return out


def check_layout(sd: dict) -> None:
    for prefix, expected in EXPECTED_KEYS.items():
        got = sum(1 for k in sd if k.startswith(prefix))
        if got != expected:
            sys.exit(f"layout check failed: {got} keys under {prefix!r}, expected {expected}")
    for key in sd:
        if key.startswith("cond_stage_model."):
            continue
        for frag in DIFFUSERS_FRAGMENTS:
            if frag in key:
                sys.exit(f"layout check failed: unconverted key {key}")
    # Spot checks of shapes the original layout has.
    spots = {
        "model.diffusion_model.input_blocks.0.0.weight": (320, 4, 3, 3),
        "model.diffusion_model.out.2.weight": (4, 320, 3, 3),
        "model.diffusion_model.input_blocks.1.1.proj_in.weight": (320, 320, 1, 1),
        "first_stage_model.decoder.mid.attn_1.q.weight": (512, 512, 1, 1),
        "first_stage_model.quant_conv.weight": (8, 8, 1, 1),
        "cond_stage_model.transformer.text_model.final_layer_norm.weight": (768,),
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
    sd = build_state_dict(args.forge_dir, args.seed, args.norm_jitter)
    check_layout(sd)
    sd = {k: v.detach().to(torch.float16).contiguous() for k, v in sd.items()}

    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_name(args.output.name + ".part")
    # One metadata key only: safetensors writes several keys in a random order, and the file's
    # bytes (whose sha256 Forge shows as the checkpoint hash) should depend on the seed alone.
    save_file(sd, str(tmp), metadata={"format": "pt"})
    tmp.replace(args.output)
    size = args.output.stat().st_size / 2**30
    took = time.monotonic() - started
    print(f"wrote {args.output} ({len(sd)} tensors, {size:.2f} GiB, seed {args.seed}, {took:.0f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
