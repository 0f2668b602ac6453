"""Forge's built-in always-on extensions, each with non-default values: how to set them on the
page (their own controls), the same values as an `alwayson_scripts` entry for the API, and an
infotext fragment that shows Generate used them. Read from extensions-builtin/ at dfdcbab."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .script_controls import ScriptControls


@dataclass(frozen=True)
class Builtin:
    name: str  # row of the README's fidelity table
    title: str  # the accordion's label, which is also the script title the API takes
    set_up: Callable[[ScriptControls], Any]
    api_args: list[Any]
    infotext: str  # in Generate's infotext once the extension is on
    batch_size: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    # Infotext fields that turn it on where its own controls cannot (see FreeU): the test
    # pastes them with "Read generation parameters", as Send to img2img / PNG Info do.
    img2img_paste: str = ""


BUILTINS = [
    Builtin(
        "FreeU",
        "FreeU Integrated (SD 1.x, SD 2.x, SDXL)",
        lambda c: c.enabled_by_header()
        .slider("B1", 1.5)
        .slider("B2", 1.6)
        .slider("S1", 0.9)
        .slider("S2", 0.2),
        [True, 1.5, 1.6, 0.9, 0.2, 0.0, 1.0],
        "freeu_enabled: True",
        # Forge gives FreeU's accordion the same element id in both tabs, so its img2img
        # header ticks txt2img's hidden checkbox (javascript/inputAccordion.js finds it by id)
        # and img2img's Generate runs without FreeU: in img2img it can only be turned on by
        # pasting its parameters.
        img2img_paste="freeu_enabled: True, freeu_b1: 1.5, freeu_b2: 1.6, freeu_s1: 0.9, "
        "freeu_s2: 0.2, freeu_start: 0.0, freeu_end: 1.0",
    ),
    Builtin(
        "Perturbed Attention Guidance",
        "PerturbedAttentionGuidance Integrated",
        lambda c: c.enabled_by_header().slider("Scale", 5),
        [True, 5.0, 0.0, 0.0, 1.0],
        "pagi_enabled: True",
    ),
    Builtin(
        "Self-Attention Guidance",
        "SelfAttentionGuidance Integrated (SD 1.x, SD 2.x, SDXL)",
        # At 64x64 the middle block's attention map is 1x1: its sum is exactly 1, so only a
        # mask threshold below 1 lets SAG blur anything (the default 1 changes nothing).
        lambda c: c.enabled_by_header()
        .slider("Scale", 1.5)
        .slider("Blur Sigma", 1)
        .slider("Blur mask threshold", 0.5),
        [True, 1.5, 1.0, 0.5],
        "sag_enabled: True",
    ),
    Builtin(
        "Kohya HRFix",
        "Kohya HRFix Integrated",
        lambda c: c.enabled_by_header()
        .slider("Block Number", 2)
        .slider("Downscale Factor", 1.5)
        .slider("End Percent", 1),
        [True, 2, 1.5, 0.0, 1.0, True, "bicubic", "bicubic"],
        "kohya_hrfix_enabled: True",
    ),
    Builtin(
        "DynamicThresholding",
        "DynamicThresholding (CFG-Fix) Integrated",
        lambda c: c.open()
        .check("Enabled")
        .slider("Mimic Scale", 3)
        .slider("Threshold Percentile", 0.9)
        .radio("Mimic Mode", "Linear Down"),
        [True, 3.0, 0.9, "Linear Down", 0.0, "Constant", 0.0, 1.0, "enable", "MEAN", "AD", 1.0],
        "dynthres_enabled: True",
    ),
    Builtin(
        "Latent Modifier",
        "LatentModifier Integrated",
        lambda c: c.open()
        .check("Enabled")
        .slider("Sharpness Multiplier", 10)
        .slider("Contrast Multiplier", 5)
        .radio("Tonemap Method", "arctan"),
        [
            True,
            10.0,
            "anisotropic",
            0.0,
            "arctan",
            100.0,
            5.0,
            "subtract",
            0.0,
            0.0,
            "gaussian",
            "add",
            0.0,
            100,
            127,
            0.0,
            "hard_clamp",
            5.0,
            0.0,
            "None",
            "None",
        ],
        "latent_modifier_enabled: True",
    ),  # fmt: skip
    Builtin(
        "StyleAlign",
        "StyleAlign Integrated",
        lambda c: c.open().check("Share attention in batch").slider("Strength", 0.7),
        [True, 0.7],
        "stylealign_enabled: True",
        batch_size=2,  # it shares attention across the batch: one image alone shows nothing
    ),
    Builtin(
        "MultiDiffusion",
        "MultiDiffusion Integrated",
        lambda c: c.open()
        .check("Enabled")
        .slider("Tile Width", 32)
        .slider("Tile Height", 32)
        .slider("Tile Overlap", 0),
        [True, "MultiDiffusion", 32, 32, 0, 4],
        "multidiffusion_enabled: True",
    ),
]
