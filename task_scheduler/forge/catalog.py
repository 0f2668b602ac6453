"""The names Forge knows right now (samplers, schedulers, checkpoints, upscalers, scripts)."""

from __future__ import annotations

import logging

from ..core.services import Catalog
from .layout import TABS, script_title

log = logging.getLogger("task_scheduler")


def forge_catalog() -> Catalog:
    """A fresh Catalog read from Forge (cheap; call it per request)."""
    from modules import sd_models, sd_samplers, sd_schedulers, shared

    samplers = [sampler.name for sampler in sd_samplers.all_samplers]
    for sampler in sd_samplers.all_samplers:
        samplers += [alias for alias in sampler.aliases or [] if alias not in samplers]
    schedulers: list[str] = []
    for scheduler in sd_schedulers.schedulers:
        for name in (scheduler.label, scheduler.name):
            if name not in schedulers:
                schedulers.append(name)
    upscalers = [upscaler.name for upscaler in shared.sd_upscalers]
    upscalers += [name for name in shared.latent_upscale_modes if name not in upscalers]
    return Catalog(
        samplers=samplers,
        schedulers=schedulers,
        checkpoints=[info.title for info in sd_models.checkpoints_list.values()],
        upscalers=upscalers,
        scripts={tab: _script_titles(tab) for tab in TABS},
        alwayson={tab: _script_titles(tab, alwayson=True) for tab in TABS},
    )


def _script_titles(tab: str, alwayson: bool = False) -> list[str]:
    from modules import scripts

    runner = scripts.scripts_txt2img if tab == "txt2img" else scripts.scripts_img2img
    if runner is None:
        return []
    listed = runner.alwayson_scripts if alwayson else runner.scripts
    return [script_title(script) for script in listed]
