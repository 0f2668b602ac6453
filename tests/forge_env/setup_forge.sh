#!/usr/bin/env bash
# Build the CPU-only test Forge described in SETUP.md (idempotent: re-running skips done steps).
#
#   FORGE_DIR     where Forge is checked out            (default /work/forge)
#   FORGE_VENV    its virtualenv                        (default /work/forge-venv)
#   FORGE_MIRROR  folder of the bare git snapshots      (default /work/.mirror)
#   PYTHON        interpreter for the venv              (default python3.11)
#
# Needs only the package registries (PyPI) and the local snapshots; downloads no model.
set -euo pipefail

FORGE_DIR="${FORGE_DIR:-/work/forge}"
FORGE_VENV="${FORGE_VENV:-/work/forge-venv}"
FORGE_MIRROR="${FORGE_MIRROR:-/work/.mirror}"
PYTHON="${PYTHON:-python3.11}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

FORGE_COMMIT=dfdcbab6
ASSETS_COMMIT=6f7db241d2f8ba7457bac5ca9753331f0c266917
HFGUESS_COMMIT=84826248b49bb7ca754c73293299c4d4e23a548d
BLIP_COMMIT=48211a1594f1321b00f14c9f7a5b4813144b2fb9

log() { printf '\n== %s\n' "$*"; }

checkout() { # checkout SNAPSHOT DEST COMMIT
    local src="$FORGE_MIRROR/$1/repo" dest="$2" commit="$3"
    if [[ -d "$dest/.git" ]]; then
        echo "$dest exists ($(git -C "$dest" rev-parse --short HEAD))"
        return
    fi
    git clone -q --no-checkout "$src" "$dest"
    # Snapshots may lack large files (BLIP.gif): check out everything else (sparse checkout).
    local missing=()
    mapfile -t missing < <(paste -d ' ' \
        <(git -C "$dest" ls-tree -r "$commit" | cut -f1 | awk '{print $3}' |
            git -C "$dest" cat-file --batch-check) \
        <(git -C "$dest" ls-tree -r "$commit" | cut -f2) |
        awk '$2 == "missing" { sub(/^[^ ]+ missing /, ""); print }')
    if ((${#missing[@]})); then
        echo "leaving out files absent from the snapshot: ${missing[*]}"
        git -C "$dest" config core.sparseCheckout true
        printf '%s\n' '/*' "${missing[@]/#/!/}" >"$dest/.git/info/sparse-checkout"
    fi
    git -C "$dest" checkout -q "$commit"
    echo "$dest at $(git -C "$dest" rev-parse --short HEAD)"
}

log "1. Forge and its helper repositories"
checkout lllyasviel+stable-diffusion-webui-forge "$FORGE_DIR" "$FORGE_COMMIT"
mkdir -p "$FORGE_DIR/repositories"
checkout AUTOMATIC1111+stable-diffusion-webui-assets \
    "$FORGE_DIR/repositories/stable-diffusion-webui-assets" "$ASSETS_COMMIT"
checkout lllyasviel+huggingface_guess "$FORGE_DIR/repositories/huggingface_guess" "$HFGUESS_COMMIT"
checkout salesforce+BLIP "$FORGE_DIR/repositories/BLIP" "$BLIP_COMMIT"

log "2. venv $FORGE_VENV"
[[ -x "$FORGE_VENV/bin/python" ]] || "$PYTHON" -m venv "$FORGE_VENV"
pip=("$FORGE_VENV/bin/python" -m pip install -q)
# torch alone first: in one resolve with the rest pip picked a CUDA build.
"${pip[@]}" torch==2.13.0
reqs="$FORGE_VENV/forge-requirements.txt"
grep -v -E '^(torch|setuptools==.*)[[:space:]]*(#.*)?$' "$FORGE_DIR/requirements_versions.txt" >"$reqs"
printf 'setuptools==80.9.0\njoblib\n' >>"$reqs"
"${pip[@]}" -r "$reqs" torch==2.13.0

log "3. torchvision fix"
"$FORGE_VENV/bin/python" - <<'EOF'
import importlib.util
import pathlib
import subprocess
import sys

spec = importlib.util.find_spec("torchvision")
path = pathlib.Path(spec.submodule_search_locations[0]) / "_meta_registrations.py"
text = path.read_text()
for op in ("nms", "qnms"):
    old = f'@torch.library.register_fake("torchvision::{op}")\n'
    new = (
        f'@(torch.library.register_fake("torchvision::{op}") '
        "if torchvision.extension._has_ops() else (lambda fn: fn))\n"
    )
    text = text.replace(old, new)
path.write_text(text)
subprocess.run([sys.executable, "-c", "import torchvision.transforms"], check=True)
print("torchvision imports:", path)
EOF
"$FORGE_VENV/bin/python" -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__)'

log "4. random checkpoints"
ckpts="$FORGE_DIR/models/Stable-diffusion"
mkdir -p "$ckpts"
for pair in A:1 B:2; do
    name="rand${pair%%:*}.safetensors"
    if [[ -f "$ckpts/$name" ]]; then
        echo "$ckpts/$name exists"
    else
        FORGE_DIR="$FORGE_DIR" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
            "$FORGE_VENV/bin/python" "$here/make_checkpoint.py" "$ckpts/$name" --seed "${pair##*:}"
    fi
done

log "5. test-only seed script"
mkdir -p "$FORGE_DIR/extensions/test-seed-vae-rng/scripts"
cp "$here/seed_vae_rng.py" "$FORGE_DIR/extensions/test-seed-vae-rng/scripts/seed_vae_rng.py"
echo "installed $FORGE_DIR/extensions/test-seed-vae-rng/scripts/seed_vae_rng.py"

log "done: start Forge with FORGE_DIR=$FORGE_DIR FORGE_VENV=$FORGE_VENV $here/launch_forge.sh"
