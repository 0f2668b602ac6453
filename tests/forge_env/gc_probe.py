"""Test-only Forge script: count what is alive in Forge's process (the long-run bench).

NEVER part of the product. Installed by bench/long_run_forge.py into the test Forge as
    $FORGE_DIR/extensions/test-gc-probe/scripts/gc_probe.py
and inert unless Forge was started with TASK_SCHEDULER_GC_PROBE=1 in its environment: only then
does it add the route GET /test-gc-probe/counts, which runs a full garbage collection and
counts live processing objects (StableDiffusionProcessing*, Processed), PIL images, torch
tensors, tracebacks and frames, the extension's task objects, and the most numerous types.
"""

import collections
import gc
import os
import sys
import types

from modules import script_callbacks

ENV = "TASK_SCHEDULER_GC_PROBE"
_TRACKED = {
    "processing": ("modules.processing", "StableDiffusionProcessing"),
    "processed": ("modules.processing", "Processed"),
    "pil_images": ("PIL.Image", "Image"),
    "tensors": ("torch", "Tensor"),
    "tasks": ("task_scheduler.core.models", "Task"),
    "replay_outcomes": ("task_scheduler.forge.outcome", "ReplayOutcome"),
    "run_results": ("task_scheduler.core.host", "RunResult"),
}


def _same_module(loaded, module_name):
    """The extension's loader imports `task_scheduler` as `sd_forge_task_scheduler_<hash>`
    (scripts/task_scheduler.py): `core.models` is then `sd_forge_task_scheduler_<hash>.core.models`.
    """
    if loaded == module_name or loaded.endswith("." + module_name):
        return True
    top, _, rest = module_name.partition(".")
    loaded_top, _, loaded_rest = loaded.partition(".")
    return (
        top == "task_scheduler"
        and loaded_top.startswith("sd_forge_task_scheduler_")
        and loaded_rest == rest
    )


def _classes():
    found = {}
    for key, (module_name, name) in _TRACKED.items():
        for loaded, module in list(sys.modules.items()):
            if _same_module(loaded, module_name):
                cls = getattr(module, name, None)
                if isinstance(cls, type):
                    found[key] = cls
                    break
    return found


def _referrer_types(objects, limit=5):
    """For a few leftover objects: the types of what still refers to them (leak hunting)."""
    out = []
    for obj in objects[:limit]:
        refs = [type(r).__name__ for r in gc.get_referrers(obj) if r is not objects]
        out.append({"type": type(obj).__name__, "referrers": refs[:10]})
    return out


def counts():
    gc.collect()
    gc.collect()
    classes = _classes()
    found = {key: [] for key in classes}
    by_type = collections.Counter()
    tracebacks = frames = 0
    everything = gc.get_objects()
    for obj in everything:
        cls = type(obj)
        by_type[cls.__qualname__] += 1
        if cls is types.TracebackType:
            tracebacks += 1
        elif cls is types.FrameType:
            frames += 1
        for key, wanted in classes.items():
            if isinstance(obj, wanted):
                found[key].append(obj)
    result = {key: len(objs) for key, objs in found.items()}
    result.update(
        tracebacks=tracebacks,
        frames=frames,
        gc_objects=len(everything),
        top_types=by_type.most_common(25),
        processing_referrers=_referrer_types(found.get("processing", [])),
        processed_referrers=_referrer_types(found.get("processed", [])),
        pil_referrers=_referrer_types(found.get("pil_images", [])),
        pil_sizes=[getattr(o, "size", None) for o in found.get("pil_images", [])[:20]],
    )
    del everything, found
    return result


def _app_started(_demo, app):
    if os.environ.get(ENV) == "1":
        app.add_api_route("/test-gc-probe/counts", counts, methods=["GET"])


script_callbacks.on_app_started(_app_started, name="test-gc-probe")
