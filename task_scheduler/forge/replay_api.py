"""Run a queued API task the way Forge's /sdapi/v1/txt2img|img2img would have run its body.

Called by ForgeHost on Forge's main thread with `queue_lock` held, `shared.state.begin` done
and the task's checkpoint applied. It follows `Api.text2imgapi` / `Api.img2imgapi`
(modules/api/api.py) step by step: the body is validated by Forge's own request model, the
infotext applied, the selectable script found, sampler and scheduler resolved, script args
built from the scripts' defaults plus `script_args` / `alwayson_scripts`, init images and mask
decoded by Forge's decoder, then `process_images` (or the selected script) runs. Differences,
all deliberate:

* the lock is not taken and `state.begin/end` / progress registration are left to the host
  (the lock is already held and not re-entrant);
* results are always saved, as with ``"save_images": true`` (most clients send false, and a
  queued task's results must be retrievable), into the folders the UI uses, also with Forge's
  "Always save all generated images" off while the queue's "Always save images of queued
  tasks" is on (the default); with both off nothing is saved and a warning says so;
* so a batch also makes and saves Forge's grid, which sdapi makes only with
  ``"save_images": true``, and puts the grid's infotext first (with the main prompt: a
  Dynamic Prompts template before expansion). Unless the body asked to save, it is left out of
  the reported infotexts, so the task's infotext is the first image's, as sdapi reports it
  (selectable scripts set `do_not_save_grid` themselves: their results are left as they are);
* images travel back as files, not base64.

Forge's helper methods on `Api` are called on a bare instance: they read nothing from `self`
except other such helpers, and building a real `Api` would register its routes again.
"""

from __future__ import annotations

import logging
from contextlib import closing
from typing import Any

from ..api.payload import restore_images
from ..core.files import FileStore
from ..core.models import Task
from . import sample_saving
from .outcome import ReplayOutcome

log = logging.getLogger("task_scheduler")

_defaults: dict[str, tuple[Any, int, list[Any]]] = {}  # tab -> (runner, script count, args)


def run_sdapi_task(task: Task, files: FileStore) -> ReplayOutcome:
    """Run `task` (params {"source": "api", "payload": ...}) and report infotexts and seeds."""
    from fastapi import HTTPException

    payload = restore_images(task.params.get("payload") or {}, files, task.files)
    try:
        return _run(task.task_type, payload)
    except HTTPException as error:  # Forge's helpers report bad input this way
        raise RuntimeError(str(error.detail)) from None


def _run(tab: str, payload: dict[str, Any]) -> ReplayOutcome:
    from modules import processing, scripts, sd_samplers, shared
    from modules.api import api as forge_api
    from modules.api import models
    from modules.shared import opts

    is_img2img = tab == "img2img"
    model = (
        models.StableDiffusionImg2ImgProcessingAPI
        if is_img2img
        else models.StableDiffusionTxt2ImgProcessingAPI
    )
    request = model.model_validate(payload)
    helpers = object.__new__(forge_api.Api)
    runner = scripts.scripts_img2img if is_img2img else scripts.scripts_txt2img

    init_images = mask = None
    if is_img2img:
        init_images = request.init_images
        if init_images is None:
            raise RuntimeError("init_images: img2img needs at least one init image")
        mask = forge_api.decode_base64_to_image(request.mask) if request.mask else None

    infotext_script_args: dict[int, Any] = {}
    helpers.apply_infotext(
        request, tab, script_runner=runner, mentioned_script_args=infotext_script_args
    )
    selectable, selectable_index = helpers.get_selectable_script(request.script_name, runner)
    sampler, scheduler = sd_samplers.get_sampler_and_scheduler(
        request.sampler_name or request.sampler_index, request.scheduler
    )
    update = {
        "sampler_name": forge_api.validate_sampler_name(sampler),
        "do_not_save_samples": False,  # as "save_images": true (see module docstring)
        "do_not_save_grid": False,
    }
    if is_img2img:
        update["mask"] = mask
    populate = request.model_copy(update=update)
    if populate.sampler_name:
        populate.sampler_index = None
    if not populate.scheduler and scheduler != "Automatic":
        populate.scheduler = scheduler

    args = dict(vars(populate))
    for key in ("include_init_images", "script_name", "script_args", "alwayson_scripts"):
        args.pop(key, None)
    for key in ("infotext", "send_images", "save_images"):
        args.pop(key, None)
    script_args = helpers.init_script_args(
        request,
        _default_script_args(helpers, tab, runner),
        selectable,
        selectable_index,
        runner,
        input_script_args=infotext_script_args,
    )

    warnings = []
    requested = request.sampler_name or request.sampler_index
    if requested and requested != sampler and not requested.startswith(sampler + " "):
        # sdapi swaps an unknown name (an alias, say) for the default sampler without a word
        warnings.append(f"Forge does not know sampler {requested!r}; it used {sampler!r}.")
    if not opts.samples_save and not sample_saving.forcing():
        warnings.append(
            "Forge's 'Always save all generated images' and the queue's 'Always save images "
            "of queued tasks' are off: the results were not saved."
        )
    processing_class = (
        processing.StableDiffusionProcessingImg2Img
        if is_img2img
        else processing.StableDiffusionProcessingTxt2Img
    )
    with closing(processing_class(sd_model=shared.sd_model, **args)) as p:
        if is_img2img:
            p.init_images = [forge_api.decode_base64_to_image(x) for x in init_images]
        p.is_api = True
        p.scripts = runner
        p.outpath_grids = opts.outdir_grids or getattr(opts, f"outdir_{tab}_grids")
        p.outpath_samples = opts.outdir_samples or getattr(opts, f"outdir_{tab}_samples")
        try:
            if selectable is not None:
                p.script_args = script_args
                processed = runner.run(p, *p.script_args)
            else:
                p.script_args = tuple(script_args)
                processed = processing.process_images(p)
            processing.process_extra_images(processed)
        finally:
            shared.total_tqdm.clear()
    infotexts = list(processed.infotexts or [processed.info])
    if selectable is None and not request.save_images:
        # The grid Forge made only because results are always saved (sdapi, told not to save,
        # makes none) comes first in the infotexts; what sdapi reports starts after it.
        infotexts = infotexts[int(processed.index_of_first_image or 0) :] or infotexts
    return ReplayOutcome(
        infotexts=infotexts,
        seeds=[int(seed) for seed in processed.all_seeds],
        warnings=warnings,
    )


def _default_script_args(helpers: Any, tab: str, runner: Any) -> list[Any]:
    """The scripts' default args, as `Api.__init__` computes them once (cached per runner).

    Recomputed when the runner changes (Reload UI builds new ones) or gains scripts.
    """
    cached = _defaults.get(tab)
    if cached is not None and cached[0] is runner and cached[1] == len(runner.scripts):
        return cached[2]
    args = helpers.init_default_script_args(runner)
    _defaults[tab] = (runner, len(runner.scripts), args)
    return args
