"""Setting "Always save images of queued tasks": Forge saves a queued task's images as if its own
"Always save all generated images" (`opts.samples_save`) were on, without touching that option.

Every place in Forge's processing that decides whether to write a generated image asks
`StableDiffusionProcessing.save_samples()` (modules/processing.py). `force_saving()` makes that
method answer as it would with the option on (once `install()` wrapped it), for the thread
that entered it only, while it is entered: ForgeHost enters it on Forge's main thread around
one queued task, which holds Forge's generation lock, so a Generate click or an sdapi request
(they wait for that lock) never sees it.
Flipping `opts.samples_save` instead would be visible to every thread and would be written into
config.json by any settings save that happens while the task runs.

Grids are left to Forge's "Always save all generated image grids" (`grid_save`), which Forge
applies independently of `samples_save`. Scripts that read `opts.samples_save` themselves
(Forge's SD upscale and outpainting img2img scripts) are not covered.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("task_scheduler")

_MARK = "_task_scheduler_forced_saving"  # set on our wrapper: install once per process
_forcing_thread: int | None = None  # thread id inside force_saving(), or None


@contextmanager
def force_saving(enabled: bool = True) -> Iterator[None]:
    """While inside, this thread's generations save their images as with samples_save on.

    With `enabled` false this does nothing (Forge's option decides, as for a Generate click).
    """
    global _forcing_thread
    if not enabled:
        yield
        return
    previous, _forcing_thread = _forcing_thread, threading.get_ident()
    try:
        yield
    finally:
        _forcing_thread = previous


def forcing() -> bool:
    """Whether this thread is inside `force_saving(True)`."""
    return _forcing_thread is not None and _forcing_thread == threading.get_ident()


def install() -> None:
    """Wrap `StableDiffusionProcessing.save_samples` once per process (idempotent: the wrapper
    survives Reload UI). Outside `force_saving` the wrapper answers exactly as Forge does."""
    from modules import processing

    cls = processing.StableDiffusionProcessing
    original = cls.save_samples
    if getattr(original, _MARK, False):
        return

    def save_samples(self: Any) -> bool:
        if original(self):
            return True
        return forcing() and _saves_with_option_on(self)

    setattr(save_samples, _MARK, True)
    save_samples.__doc__ = original.__doc__
    cls.save_samples = save_samples
    log.info("task_scheduler: queued tasks save their images (Always save images of queued tasks)")


def _saves_with_option_on(p: Any) -> bool:
    """Forge's rule in `save_samples` (modules/processing.py) with `opts.samples_save` read as
    on: a run that asked not to save (img2img batch into an output folder, a script) still
    does not, nor does an interrupted one unless "save incomplete images" is on."""
    from modules.shared import opts, state

    if p.do_not_save_samples:
        return False
    return bool(opts.save_incomplete_images or not state.interrupted and not state.skipped)
