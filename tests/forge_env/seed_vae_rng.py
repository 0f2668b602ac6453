"""Test-only Forge script: seed torch's global RNG from the generation seed.

NEVER part of the product. Forge's VAE encoder samples its posterior with torch's *global* RNG,
which no generation seed controls, so two identical img2img / inpaint requests give different
images. This always-on script seeds that RNG in ``process()``, which Forge runs after the seeds
are resolved (``p.all_seeds``) and before ``p.init`` encodes the init image, so identical
img2img / inpaint requests give byte-identical images. txt2img is unaffected (its noise comes
from per-seed generators that reseed anyway).

Installed into the test Forge as an extension (see SETUP.md):
    $FORGE_DIR/extensions/test-seed-vae-rng/scripts/seed_vae_rng.py
"""

import torch
from modules import scripts


class Script(scripts.Script):
    def title(self):
        return "Test RNG seed"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, is_img2img):
        # No controls; returning a list (not None) gives the script a name, so it is listed
        # by /sdapi/v1/scripts as "test rng seed" and tests can check that it is installed.
        return []

    def process(self, p, *args):
        seeds = getattr(p, "all_seeds", None)
        seed = seeds[0] if seeds else p.seed
        torch.manual_seed(int(seed))
