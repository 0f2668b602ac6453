"""Make a random-weight SD 1.5 LoRA in the kohya single-file layout that a real Forge loads.

Test tooling only: run it with the Forge venv's python. It takes the module names and shapes
from the diffusers UNet and transformers CLIP text model built (on torch's "meta" device, so no
memory) from the configs Forge ships under ``backend/huggingface/runwayml/stable-diffusion-v1-5/``,
and writes, for every module kohya's sd-scripts train on SD 1.5,

    lora_unet_<diffusers module path with _>.lora_down.weight / .lora_up.weight / .alpha
    lora_te_text_model_encoder_layers_<i>_<self_attn_q_proj|...|mlp_fc2>.<same>

UNet: every Linear and 1x1 Conv2d inside the transformer blocks (proj_in/out, attn1/attn2
to_q/k/v/out.0, ff.net.0.proj, ff.net.2: 192 modules); text encoder: q/k/v/out_proj and fc1/fc2
of all 12 layers (72 modules). These are the names Forge's key maps accept
(``packages_3rdparty/comfyui_lora_collection/lora.py``: ``model_lora_keys_unet`` maps
``lora_unet_`` + diffusers names, ``model_lora_keys_clip`` maps ``lora_te_text_model_...``).

The weights are random, scaled so that the LoRA's change of each weight is of the order of the
weight itself (``--strength``): the image visibly differs with and without the prompt tag.
The same seed gives a byte-identical file.

    $FORGE_VENV/bin/python tests/forge_env/make_lora.py $FORGE_DIR/models/Lora/randLora.safetensors
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_checkpoint import CONFIG_SUBDIR, default_forge_dir

TE_TARGETS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj")
TE_TARGETS += ("mlp.fc1", "mlp.fc2")
EXPECTED_MODULES = {"lora_unet_": 192, "lora_te_": 72}
# One metadata key only (safetensors writes several in a random order; the bytes, and so Forge's
# hash, must depend on the seed alone). It tells Forge's LoRA list this is an SD 1.x LoRA.
METADATA = {"modelspec.architecture": "stable-diffusion-v1/lora"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output", type=Path, help="where to write the .safetensors file")
    ap.add_argument("--seed", type=int, default=0, help="RNG seed (default 0)")
    ap.add_argument("--rank", type=int, default=4, help="LoRA rank / network dim (default 4)")
    ap.add_argument(
        "--strength",
        type=float,
        default=0.5,
        help="std of the LoRA's weight change relative to 1/sqrt(fan_in) (default 0.5)",
    )
    ap.add_argument(
        "--forge-dir",
        type=Path,
        default=default_forge_dir(),
        help="Forge checkout (default: $FORGE_DIR, else <checkout>/../forge)",
    )
    return ap.parse_args(argv)


def target_modules(forge_dir: Path) -> dict[str, tuple[int, int, int]]:
    """kohya name -> (out_features, in_features, kernel) of every module the LoRA patches."""
    import torch
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    cfg = forge_dir / CONFIG_SUBDIR
    if not cfg.is_dir():
        sys.exit(f"missing {cfg}: is {forge_dir} a Forge checkout?")
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(cfg / "unet"))
        text = CLIPTextModel(CLIPTextConfig.from_json_file(cfg / "text_encoder" / "config.json"))

    found: dict[str, tuple[int, int, int]] = {}
    for name, module in unet.named_modules():
        if ".attentions." not in name:
            continue
        if isinstance(module, torch.nn.Linear):
            found["lora_unet_" + name.replace(".", "_")] = (
                module.out_features,
                module.in_features,
                0,
            )
        elif isinstance(module, torch.nn.Conv2d) and module.kernel_size == (1, 1):
            found["lora_unet_" + name.replace(".", "_")] = (
                module.out_channels,
                module.in_channels,
                1,
            )
    for name, module in text.named_modules():
        if not name.startswith("text_model.encoder.layers."):
            continue
        if isinstance(module, torch.nn.Linear) and name.endswith(TE_TARGETS):
            shape = (module.out_features, module.in_features, 0)
            found["lora_te_" + name.replace(".", "_")] = shape

    for prefix, expected in EXPECTED_MODULES.items():
        got = sum(1 for k in found if k.startswith(prefix))
        if got != expected:
            sys.exit(f"layout check failed: {got} modules named {prefix}*, expected {expected}")
    return found


def build_lora(modules: dict, seed: int, rank: int, strength: float) -> dict:
    """Random down/up pairs; alpha = rank, so Forge scales up @ down by 1."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for name in sorted(modules):
        out_f, in_f, kernel = modules[name]
        # up @ down has entries of std sqrt(rank) * s_up * s_down = strength / sqrt(in_f),
        # the order of a default-initialised weight (1 / sqrt(3 * in_f)).
        down = torch.randn((rank, in_f), generator=generator) / in_f**0.5
        up = torch.randn((out_f, rank), generator=generator) * strength / rank**0.5
        if kernel:
            down = down.reshape(rank, in_f, 1, 1)
            up = up.reshape(out_f, rank, 1, 1)
        out[f"{name}.lora_down.weight"] = down
        out[f"{name}.lora_up.weight"] = up
        out[f"{name}.alpha"] = torch.tensor(float(rank))
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    from safetensors.torch import save_file

    started = time.monotonic()
    modules = target_modules(args.forge_dir)
    sd = build_lora(modules, args.seed, args.rank, args.strength)
    sd = {k: v.to(torch.float16).contiguous() for k, v in sd.items()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_name(args.output.name + ".part")
    save_file(sd, str(tmp), metadata=METADATA)
    tmp.replace(args.output)
    size = args.output.stat().st_size / 2**20
    took = time.monotonic() - started
    print(
        f"wrote {args.output} ({len(modules)} modules, rank {args.rank}, {size:.1f} MiB, "
        f"seed {args.seed}, {took:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
