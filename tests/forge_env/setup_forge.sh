#!/usr/bin/env bash
# Build the CPU-only test Forge (SETUP.md steps 1-5, optionally 6 and 7) from local git snapshots.
#
#   FORGE_DIR     Forge checkout to create       (default <checkout>/../forge)
#   FORGE_VENV    its virtualenv                 (default <checkout>/../forge-venv)
#   FORGE_MIRROR  folder of bare git snapshots   (default /work/.mirror), one per repository:
#                 $FORGE_MIRROR/<owner>+<name>/repo
#   FORGE_PYTHON  interpreter for the venv       (default python3.11)
#
#   setup_forge.sh [--assets] [--extensions]
#
# --assets also writes the issue-9 test assets (step 6: a LoRA, an embedding, a ControlNet model,
# styles.csv). --extensions also installs the Python packages third-party extensions under test
# need (step 7: `dynamicprompts` for sd-dynamic-prompts; the extensions themselves are cloned by
# the tests, from the mirrors, into a Forge data folder of their own).
# Idempotent: every step checks whether it is already done and skips it, so running it again
# after an interruption finishes the job. Nothing downloads a model; pip installs Forge's
# pinned packages from the configured package index. Test tooling only, never part of the product.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
checkout="$(cd "$here/../.." && pwd)"
beside="$(dirname "$checkout")"
FORGE_DIR="${FORGE_DIR:-$beside/forge}"
FORGE_VENV="${FORGE_VENV:-$beside/forge-venv}"
# Absolute from here on (the launcher changes into FORGE_DIR; relative values are from the caller).
FORGE_DIR="$(realpath -m "$FORGE_DIR")"
FORGE_VENV="$(realpath -m "$FORGE_VENV")"
FORGE_MIRROR="${FORGE_MIRROR:-/work/.mirror}"
FORGE_PYTHON="${FORGE_PYTHON:-python3.11}"

FORGE_SHORT=dfdcbab6
TORCH_PIN="torch==2.13.0"
SETUPTOOLS_PIN="setuptools==80.9.0"
# name  mirror-folder  pinned commit (Forge's modules/launch_utils.py)
HELPERS=(
    "stable-diffusion-webui-assets AUTOMATIC1111+stable-diffusion-webui-assets 6f7db241d2f8ba7457bac5ca9753331f0c266917"
    "huggingface_guess lllyasviel+huggingface_guess 84826248b49bb7ca754c73293299c4d4e23a548d"
    "BLIP salesforce+BLIP 48211a1594f1321b00f14c9f7a5b4813144b2fb9"
)

with_assets=0
with_extensions=0
for arg in "$@"; do
    case "$arg" in
        --assets) with_assets=1 ;;
        --extensions) with_extensions=1 ;;
        -h | --help) sed -n '2,18p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "setup_forge.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
    esac
done

say() { printf '[setup_forge %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'setup_forge.sh: %s\n' "$*" >&2; exit 1; }

snapshot() {  # path of the bare snapshot of <owner>+<name>, or die naming it
    local repo="$FORGE_MIRROR/$1/repo"
    git --git-dir="$repo" rev-parse --git-dir >/dev/null 2>&1 \
        || die "no git snapshot at $repo (set FORGE_MIRROR to the folder holding <owner>+<name>/repo)"
    printf '%s' "$repo"
}

head_is() {  # head_is DIR COMMIT-PREFIX: the checkout in DIR is at that commit
    local head
    head="$(git -C "$1" rev-parse HEAD 2>/dev/null)" || return 1
    [[ "$head" == "$2"* ]]
}

started=$(date +%s)
say "FORGE_DIR=$FORGE_DIR FORGE_VENV=$FORGE_VENV FORGE_MIRROR=$FORGE_MIRROR"
case "$FORGE_DIR/" in
    "$checkout/"*) die "FORGE_DIR=$FORGE_DIR is inside the project checkout; put it beside it" ;;
esac

# -- 1. Forge and its helper repositories -----------------------------------------------------
if head_is "$FORGE_DIR" "$FORGE_SHORT"; then
    say "1. Forge already at $FORGE_SHORT"
else
    [[ -e "$FORGE_DIR" && ! -d "$FORGE_DIR/.git" ]] && [[ -n "$(ls -A "$FORGE_DIR" 2>/dev/null)" ]] \
        && die "$FORGE_DIR exists, is not empty and is not a git checkout; move it away first"
    src="$(snapshot lllyasviel+stable-diffusion-webui-forge)"
    git --git-dir="$src" rev-parse -q --verify "$FORGE_SHORT^{commit}" >/dev/null \
        || die "snapshot $src has no commit $FORGE_SHORT"
    if [[ ! -d "$FORGE_DIR/.git" ]]; then
        say "1. cloning Forge from $src"
        git clone -q --no-checkout "$src" "$FORGE_DIR"
    fi
    git -C "$FORGE_DIR" checkout -q "$FORGE_SHORT"
    say "1. Forge checked out at $FORGE_SHORT"
fi
mkdir -p "$FORGE_DIR/repositories"
for line in "${HELPERS[@]}"; do
    read -r name mirror commit <<<"$line"
    dest="$FORGE_DIR/repositories/$name"
    if head_is "$dest" "$commit"; then
        say "1. $name already at ${commit:0:8}"
        continue
    fi
    src="$(snapshot "$mirror")"
    [[ -d "$dest/.git" ]] || git clone -q --no-checkout "$src" "$dest"
    if [[ "$name" == BLIP ]]; then
        # BLIP's snapshot lacks the large BLIP.gif: sparse checkout without it. git prints
        # "error: invalid object ... for 'BLIP.gif'" on the way; harmless.
        git -C "$dest" config core.sparseCheckout true
        printf '/*\n!/BLIP.gif\n' >"$dest/.git/info/sparse-checkout"
        git -C "$dest" checkout -q "$commit" 2>/dev/null || true
    else
        git -C "$dest" checkout -q "$commit"
    fi
    head_is "$dest" "$commit" || die "could not check out $name at $commit in $dest"
    say "1. $name checked out at ${commit:0:8}"
done

# -- 2. virtualenv and packages ---------------------------------------------------------------
stamp="$FORGE_VENV/.forge-test-packages"
reqs="$FORGE_VENV/forge-requirements.txt"
if [[ ! -x "$FORGE_VENV/bin/python" ]]; then
    command -v "$FORGE_PYTHON" >/dev/null || die "no $FORGE_PYTHON on PATH (set FORGE_PYTHON)"
    say "2. creating venv $FORGE_VENV with $FORGE_PYTHON"
    "$FORGE_PYTHON" -m venv "$FORGE_VENV"
fi
want="$(sha256sum "$FORGE_DIR/requirements_versions.txt" | cut -c1-16) $TORCH_PIN $SETUPTOOLS_PIN"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    say "2. packages already installed"
else
    say "2. pip install $TORCH_PIN (alone first: keeps the CPU build)"
    "$FORGE_VENV/bin/pip" install -q "$TORCH_PIN"
    # Match whole lines: a bare '^torch' would also drop torchdiffeq and torchsde.
    grep -v -E '^(torch|setuptools==.*)[[:space:]]*(#.*)?$' "$FORGE_DIR/requirements_versions.txt" >"$reqs"
    printf '%s\njoblib\n' "$SETUPTOOLS_PIN" >>"$reqs"
    say "2. pip install Forge's pinned requirements (~2.5 min)"
    "$FORGE_VENV/bin/pip" install -q -r "$reqs" "$TORCH_PIN"
    "$FORGE_VENV/bin/python" -c 'import torch; assert "+cpu" in torch.__version__, torch.__version__' \
        || die "torch in $FORGE_VENV is not the CPU build"
    printf '%s' "$want" >"$stamp"
fi

# -- 3. torchvision fix (its CUDA wheel's C++ ops do not load beside CPU torch) ---------------
meta="$("$FORGE_VENV/bin/python" - <<'EOF'
import importlib.util, pathlib
spec = importlib.util.find_spec("torchvision")
print(pathlib.Path(spec.origin).parent / "_meta_registrations.py")
EOF
)"
[[ -f "$meta" ]] || die "torchvision is not installed in $FORGE_VENV ($meta missing)"
if "$FORGE_VENV/bin/python" -c 'import torchvision.transforms' 2>/dev/null; then
    say "3. torchvision imports (fix already applied or not needed)"
elif grep -q '_has_ops() else (lambda fn: fn))' "$meta"; then
    "$FORGE_VENV/bin/python" -c 'import torchvision.transforms' || true
    die "import torchvision fails although $meta is already patched (error above)"
else
    say "3. patching $meta"
    "$FORGE_VENV/bin/python" - "$meta" <<'EOF'
import sys, pathlib
path = pathlib.Path(sys.argv[1])
text = path.read_text()
guard = ' if torchvision.extension._has_ops() else (lambda fn: fn))'
for op in ("nms", "qnms"):
    old = f'@torch.library.register_fake("torchvision::{op}")\n'
    new = f'@(torch.library.register_fake("torchvision::{op}"){guard}\n'
    if old not in text:
        sys.exit(f"setup_forge.sh: no '{old.strip()}' in {path}: torchvision changed, fix by hand")
    text = text.replace(old, new, 1)
path.write_text(text)
EOF
    "$FORGE_VENV/bin/python" -c 'import torchvision.transforms' \
        || die "import torchvision still fails after the patch (see SETUP.md step 3)"
fi

# -- 4. two random-weight SD 1.5 checkpoints --------------------------------------------------
ckpts="$FORGE_DIR/models/Stable-diffusion"
for spec in randA:1 randB:2; do
    out="$ckpts/${spec%%:*}.safetensors"
    if [[ -s "$out" ]]; then
        say "4. $(basename "$out") already there"
        continue
    fi
    say "4. writing $(basename "$out") (seed ${spec##*:}, ~30-50 s, 6.6 GB peak)"
    "$FORGE_VENV/bin/python" "$here/make_checkpoint.py" "$out" --seed "${spec##*:}" --forge-dir "$FORGE_DIR"
done

# -- 5. test-only seed script -----------------------------------------------------------------
seed_dir="$FORGE_DIR/extensions/test-seed-vae-rng/scripts"
if cmp -s "$here/seed_vae_rng.py" "$seed_dir/seed_vae_rng.py"; then
    say "5. seed script already installed"
else
    mkdir -p "$seed_dir"
    cp "$here/seed_vae_rng.py" "$seed_dir/seed_vae_rng.py"
    say "5. seed script installed"
fi

# -- 6. (optional) issue-9 test assets --------------------------------------------------------
# Each generator writes <file>.part and renames it when done, so an existing file is complete.
asset() {  # asset STEP-LABEL OUTPUT GENERATOR [ARGS...]
    local label="$1" out="$2"
    shift 2
    if [[ -s "$out" ]]; then
        say "6. $label already there ($(basename "$out"))"
        return
    fi
    say "6. writing $label ($(basename "$out"))"
    "$FORGE_VENV/bin/python" "$here/$@" "$out"
}
if [[ "$with_assets" == 1 ]]; then
    asset "LoRA" "$FORGE_DIR/models/Lora/randLora.safetensors" make_lora.py --seed 1 \
        --forge-dir "$FORGE_DIR"
    asset "embedding" "$FORGE_DIR/embeddings/randEmbed.safetensors" make_embedding.py --seed 1
    asset "ControlNet model (~1.5 min, 3.2 GB peak)" \
        "$FORGE_DIR/models/ControlNet/randControl_canny.safetensors" make_controlnet.py --seed 1 \
        --forge-dir "$FORGE_DIR"
    # styles.csv is small: rewritten whenever it differs from the generator's (a test or a user
    # may have saved styles into it).
    styles_tmp="$(mktemp)"
    "$FORGE_VENV/bin/python" "$here/make_styles.py" "$styles_tmp" >/dev/null
    if cmp -s "$styles_tmp" "$FORGE_DIR/styles.csv"; then
        say "6. styles.csv already there"
        rm -f "$styles_tmp"
    else
        mv "$styles_tmp" "$FORGE_DIR/styles.csv"
        say "6. styles.csv written (2 styles)"
    fi
fi

# -- 7. (optional) packages of third-party extensions under test -------------------------------
# sd-dynamic-prompts (pinned in tests/integration/test_fidelity_third_party.py) requires
# dynamicprompts ~=0.31.0 and send2trash ~=1.8; Forge runs with --skip-install, so its install.py
# never runs. The [attentiongrabber,magicprompt] extras are left out: the tests use neither, and
# magicprompt's transformers[torch] could move Forge's pinned packages.
if [[ "$with_extensions" == 1 ]]; then
    have="$("$FORGE_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("dynamicprompts"))' 2>/dev/null || true)"
    if [[ "$have" == 0.31.* ]] && "$FORGE_VENV/bin/python" -c 'import send2trash' 2>/dev/null; then
        say "7. dynamicprompts $have already installed"
    else
        say "7. pip install dynamicprompts==0.31.0 send2trash~=1.8"
        "$FORGE_VENV/bin/pip" install -q "dynamicprompts==0.31.0" "send2trash~=1.8"
    fi
fi

say "done in $(($(date +%s) - started)) s"
