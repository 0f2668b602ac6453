"""Make a random textual-inversion embedding for SD 1.5 that a real Forge lists and uses.

Test tooling only: run it with the Forge venv's python (it needs torch and safetensors). Writes
the usual single-tensor safetensors layout, ``{"emb_params": (vectors, 768)}``, which Forge's
``modules/textual_inversion/textual_inversion.py`` (``create_embedding_from_data``, the
"diffuser concepts" branch: one tensor, any key) loads; 768 is the width of SD 1.5's CLIP
token embeddings, so Forge lists it under ``loaded`` (not ``skipped``) in
``GET /sdapi/v1/embeddings``. The prompt token is the file name without its extension.

The same seed gives a byte-identical file.

    $FORGE_VENV/bin/python tests/forge_env/make_embedding.py \\
        $FORGE_DIR/embeddings/randEmbed.safetensors
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

WIDTH = 768  # SD 1.5 CLIP ViT-L/14 token embedding width


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output", type=Path, help="where to write the .safetensors file")
    ap.add_argument("--seed", type=int, default=0, help="RNG seed (default 0)")
    ap.add_argument("--vectors", type=int, default=2, help="vectors per token (default 2)")
    ap.add_argument(
        "--std",
        type=float,
        default=0.1,
        help="std of the vector entries (default 0.1; the random checkpoints' token "
        "embeddings have std 0.02, so these stand out)",
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    from safetensors.torch import save_file

    started = time.monotonic()
    generator = torch.Generator().manual_seed(args.seed)
    vec = torch.randn((args.vectors, WIDTH), generator=generator) * args.std
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_name(args.output.name + ".part")
    # No metadata: safetensors would write several keys in a random order (see make_checkpoint).
    save_file({"emb_params": vec.to(torch.float32).contiguous()}, str(tmp))
    tmp.replace(args.output)
    size = args.output.stat().st_size / 2**10
    took = time.monotonic() - started
    print(
        f"wrote {args.output} ({args.vectors} vectors x {WIDTH}, {size:.1f} KiB, "
        f"seed {args.seed}, {took:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
