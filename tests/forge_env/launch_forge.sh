#!/usr/bin/env bash
# Launch the test Forge (CPU only, API on, 127.0.0.1 only, nothing downloaded).
#
#   FORGE_DIR   Forge checkout            (default <checkout>/../forge, beside this project)
#   FORGE_VENV  its virtualenv            (default <checkout>/../forge-venv)
#   FORGE_PORT  port of UI + API          (default 7861)
#   FORGE_SEED_SCRIPT=0  do not (re)install the test-only RNG seed script
#   FORGE_API=0          launch without --api (the extension's REST routes are then absent)
#
# Extra arguments are passed on to Forge, e.g. `--ckpt $FORGE_DIR/models/Stable-diffusion/randB.safetensors`.
# The script execs Forge, so its PID is Forge's PID: stop it with `kill PID`.
# Forge is ready when the API answers and the log has printed "Startup time:".
# See SETUP.md beside this file for how the environment is built.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
beside="$(dirname "$(cd "$here/../.." && pwd)")"  # the folder holding the project checkout
FORGE_DIR="${FORGE_DIR:-$beside/forge}"
FORGE_VENV="${FORGE_VENV:-$beside/forge-venv}"
# Absolute from here on (the launcher changes into FORGE_DIR; relative values are from the caller).
FORGE_DIR="$(realpath -m "$FORGE_DIR")"
FORGE_VENV="$(realpath -m "$FORGE_VENV")"
FORGE_PORT="${FORGE_PORT:-7861}"

if [[ ! -f "$FORGE_DIR/launch.py" ]]; then
    echo "launch_forge.sh: no Forge checkout at FORGE_DIR=$FORGE_DIR (build it: setup_forge.sh)" >&2
    exit 2
fi
if [[ ! -x "$FORGE_VENV/bin/python" ]]; then
    echo "launch_forge.sh: no venv at FORGE_VENV=$FORGE_VENV (build it: setup_forge.sh)" >&2
    exit 2
fi
for repo in stable-diffusion-webui-assets huggingface_guess BLIP; do
    if [[ ! -d "$FORGE_DIR/repositories/$repo" ]]; then
        echo "launch_forge.sh: missing $FORGE_DIR/repositories/$repo (see SETUP.md)" >&2
        exit 2
    fi
done

# Test-only always-on script that makes img2img/inpaint repeatable (never part of the product).
if [[ "${FORGE_SEED_SCRIPT:-1}" != "0" ]]; then
    seed_dir="$FORGE_DIR/extensions/test-seed-vae-rng/scripts"
    if ! cmp -s "$here/seed_vae_rng.py" "$seed_dir/seed_vae_rng.py"; then
        mkdir -p "$seed_dir"
        cp "$here/seed_vae_rng.py" "$seed_dir/seed_vae_rng.py"
    fi
fi

export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export HF_HUB_DISABLE_TELEMETRY=1
export GRADIO_ANALYTICS_ENABLED=False
export DO_NOT_TRACK=1
export PYTHONUNBUFFERED=1
export PATH="$FORGE_VENV/bin:$PATH"
export VIRTUAL_ENV="$FORGE_VENV"

# FORGE_API=0 launches without --api (the REST routes then do not exist, as /sdapi does not)
api_flag=(--api)
[[ "${FORGE_API:-1}" == "0" ]] && api_flag=()

cd "$FORGE_DIR"
exec "$FORGE_VENV/bin/python" launch.py \
    --always-cpu \
    --skip-prepare-environment \
    --skip-install \
    --skip-torch-cuda-test \
    --skip-python-version-check \
    --skip-version-check \
    --no-download-sd-model \
    --do-not-download-clip \
    "${api_flag[@]}" \
    --server-name 127.0.0.1 \
    --port "$FORGE_PORT" \
    "$@"
