"""How long the queue will take: each pending task's work, priced at the speed recent tasks ran.

A task's work is what the sampler does: steps x pixels x images, plus the hires pass (its own
steps at the upscaled size). img2img and the hires pass sample only the denoised part of the
schedule (`steps x denoising strength`, as Forge does unless "always do the exact number of
steps" is on). Scripts that multiply the work (an X/Y/Z grid) are priced as one generation.

The price comes from the recent finished tasks: seconds = overhead + rate x work, fitted by least
squares when their work differs enough to tell the two apart (a fixed cost per task, e.g. the
VAE decode and saving), else a plain rate (seconds per unit of work).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .params import get_field

# A fit needs this many tasks, and their work must differ by this factor, to trust an overhead.
_FIT_MIN_TASKS = 3
_FIT_MIN_SPREAD = 1.5


def _number(field: Callable[[str], Any], name: str, default: float) -> float:
    """A numeric field, read as sdapi reads it (numbers may come as text); else the default."""
    value = field(name)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return default
    return float(value)


def _denoised_steps(steps: float, strength: float) -> float:
    return max(1.0, steps * min(max(strength, 0.0), 1.0)) if steps > 0 else 0.0


def work_units(task_type: str, params: Any, script_args: Any = None) -> float:
    """A task's work in megapixel-steps, from either shape of params (core/params.py); Forge's
    defaults stand in for what a task does not say (512x512, 20 steps)."""

    def field(name: str) -> Any:
        return get_field(params, script_args, name)

    width = _number(field, "width", 512)
    height = _number(field, "height", 512)
    steps = _number(field, "steps", 20)
    images = max(1.0, _number(field, "batch_size", 1)) * max(1.0, _number(field, "n_iter", 1))
    if task_type == "img2img":
        per_image = (
            width * height * _denoised_steps(steps, _number(field, "denoising_strength", 0.75))
        )
    else:
        per_image = width * height * steps
        if field("enable_hr") is True:
            per_image += _hires_work(field, width, height, steps)
    return max(0.0, per_image * images / 1e6)


def _hires_work(field: Callable[[str], Any], width: float, height: float, steps: float) -> float:
    scale = _number(field, "hr_scale", 2.0)
    hr_width = _number(field, "hr_resize_x", 0) or width * scale
    hr_height = _number(field, "hr_resize_y", 0) or height * scale
    hr_steps = _number(field, "hr_second_pass_steps", 0) or steps
    return (
        hr_width * hr_height * _denoised_steps(hr_steps, _number(field, "denoising_strength", 0.7))
    )


@dataclass(frozen=True)
class Price:
    """Seconds for a task of `work` units: `overhead + rate * work`."""

    overhead: float
    rate: float

    def seconds(self, work: float) -> float:
        return self.overhead + self.rate * work


def price_from(recent: Iterable[tuple[float, float]]) -> Price | None:
    """The price fitted to recent tasks' (work, seconds); None when there is nothing to go by."""
    points = [(w, s) for w, s in recent if w > 0 and s >= 0]
    if not points:
        return None
    total_work = sum(w for w, _ in points)
    total_seconds = sum(s for _, s in points)
    plain = Price(0.0, total_seconds / total_work)
    works = [w for w, _ in points]
    if len(points) < _FIT_MIN_TASKS or max(works) < _FIT_MIN_SPREAD * min(works):
        return plain
    mean_w = total_work / len(points)
    mean_s = total_seconds / len(points)
    spread = sum((w - mean_w) ** 2 for w in works)
    rate = sum((w - mean_w) * (s - mean_s) for w, s in points) / spread
    overhead = mean_s - rate * mean_w
    if rate <= 0 or overhead < 0:  # noise: a negative cost explains nothing
        return plain
    return Price(overhead, rate)


def queue_seconds(pending_work: Iterable[float], price: Price | None, running_left: float) -> float:
    """Seconds until the queue is empty: what the running task has left, then each pending task."""
    if price is None:
        return running_left
    return running_left + sum(price.seconds(work) for work in pending_work)
