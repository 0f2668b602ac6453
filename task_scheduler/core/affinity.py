"""Checkpoint affinity: which ready task runs next, and the run order that follows from it.

Every change of checkpoint (or VAE / text encoders, or diffusion dtype) between two tasks costs
a model load. The rule, applied at each claim to the ready pending tasks in their base order
(priority, then position):

1. Only tasks of the lowest priority number are candidates: a priority is never overtaken.
2. The head of that priority runs when it was placed by hand (moved, dragged, given a
   priority): the user's explicit order wins.
3. Otherwise the candidates are the head and the tasks behind it up to the first task placed
   by hand (at most `Rules.window` of them: the claim reads a bounded number of rows).
4. A candidate passed over `max_passed_over` times, or first passed over `max_wait_seconds`
   ago, runs now (the first such one): unfairness is bounded.
5. Else the first candidate whose setup matches what is loaded runs; else the head.
   Every candidate ahead of the one that runs counts as passed over once more.

`choose` is that rule; the claim (queue_manager.claim_next) and the run order shown by the tab
and the REST API (`plan`, through task_reads.TaskReads) both call it, so what is shown is what
the worker will do while nothing changes. Pure: no SQLite, no Forge.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

WINDOW = 32  # candidates a claim looks at: the claim stays a bounded query


@dataclass(frozen=True)
class Rules:
    """Setting "Group tasks by checkpoint" and its bounds."""

    enabled: bool = True
    max_passed_over: int = 8
    max_wait_seconds: float = 30 * 60
    window: int = WINDOW


@dataclass(frozen=True)
class Candidate:
    """What the rule needs of a pending task (one light row of the store)."""

    id: str
    priority: int
    position: float
    setup: str = ""
    placed_by_hand: bool = False
    passed_over: int = 0
    passed_over_since: float | None = None
    run_after: float | None = None


CANDIDATE_COLUMNS = (
    "id, priority, position, setup, placed_by_hand, passed_over, passed_over_since, run_after"
)


def candidate(row: Sequence[Any]) -> Candidate:
    """A Candidate from a row selected with CANDIDATE_COLUMNS."""
    return Candidate(row[0], row[1], row[2], row[3] or "", bool(row[4]), *row[5:8])


# -- setups ------------------------------------------------------------------------------------


def setup_key(checkpoint: str | None, params: Any) -> str:
    """What loading a task's model needs, as canonical text; '' = whatever is loaded.

    UI tasks record the top bar (params["top_bar"]: VAE / text encoders as "modules", the
    diffusion dtype); API tasks only name a checkpoint (or none).
    """
    parts: dict[str, Any] = {}
    name = checkpoint_name(checkpoint)
    if name:
        parts["checkpoint"] = name
    top_bar = params.get("top_bar") if isinstance(params, Mapping) else None
    if isinstance(top_bar, Mapping):
        modules = top_bar.get("modules")
        if isinstance(modules, list | tuple):
            parts["modules"] = sorted(_base(str(m)) for m in modules)
        dtype = top_bar.get("unet_storage_dtype")
        if isinstance(dtype, str) and dtype:
            parts["dtype"] = dtype
    return json.dumps(parts, sort_keys=True) if parts else ""


def loaded_key(checkpoint: str | None, modules: Iterable[str] | None, dtype: str | None) -> str:
    """The setup key of what a host has loaded (same shape as a task's)."""
    top_bar = {"modules": list(modules or []), "unet_storage_dtype": dtype}
    return setup_key(checkpoint, {"top_bar": top_bar})


def checkpoint_name(checkpoint: str | None) -> str:
    """A checkpoint's file name without folder or " [hash]": how titles and names compare."""
    return _base((checkpoint or "").split(" [")[0].strip())


def _base(path: str) -> str:
    return os.path.basename(path.replace("\\", "/"))


@lru_cache(maxsize=1024)
def _parts(key: str) -> dict[str, Any]:
    try:
        parts = json.loads(key) if key else {}
    except ValueError:
        return {}
    return parts if isinstance(parts, dict) else {}


def matches(task_setup: str, loaded: str | None) -> bool:
    """Whether a task runs on what is loaded without a model load."""
    if loaded is None:
        return False
    have = _parts(loaded)
    return all(have.get(key) == value for key, value in _parts(task_setup).items())


def after_running(loaded: str | None, task_setup: str) -> str | None:
    """What is loaded once a task with `task_setup` ran (its parts replace the loaded ones)."""
    if not task_setup:
        return loaded
    merged = {**_parts(loaded or ""), **_parts(task_setup)}
    return json.dumps(merged, sort_keys=True)


# -- the rule ----------------------------------------------------------------------------------


def is_due(task: Candidate, now: float, rules: Rules) -> bool:
    """Passed over often enough, or long enough, to run next regardless of affinity."""
    if task.passed_over >= rules.max_passed_over:
        return True
    since = task.passed_over_since
    return since is not None and now - since >= rules.max_wait_seconds


def choose(
    ready: Sequence[Candidate], loaded: str | None, now: float, rules: Rules
) -> tuple[int, list[int]]:
    """(index of the task that runs next, indices of the tasks it passes over).

    `ready`: the first ready pending tasks in base order (at least `rules.window` of them
    when there are that many). Empty `ready` is a caller's error.
    """
    head = ready[0]
    if not rules.enabled or head.placed_by_hand:
        return 0, []
    matching = None  # one pass over the segment: the first due task wins, else the first match
    for index, task in enumerate(ready[: rules.window]):
        if task.priority != head.priority or (index and task.placed_by_hand):
            break
        if is_due(task, now, rules):
            return index, list(range(index))
        if matching is None and matches(task.setup, loaded):
            matching = index
    chosen = matching or 0
    return chosen, list(range(chosen))


def passed(task: Candidate, now: float) -> Candidate:
    """The task once more passed over (what the claim writes for it)."""
    since = task.passed_over_since if task.passed_over_since is not None else now
    return replace(task, passed_over=task.passed_over + 1, passed_over_since=since)


def plan(
    ready: Sequence[Candidate],
    held: Sequence[Candidate],
    loaded: str | None,
    now: float,
    rules: Rules,
    count: int | None = None,
    until: str | None = None,
) -> list[str]:
    """Ids in the order successive claims would take them, were each task to run at once.

    `ready` in base order; `held` (tasks whose "not before" is ahead) join when the clock
    reaches their time, after every task ready before them. Stops after `count` ids, or
    once `until` is placed.
    """
    remaining = list(ready)
    later = sorted(held, key=lambda t: (t.run_after or 0.0, t.priority, t.position))
    order: list[str] = []
    while remaining or later:
        if not remaining:
            now = max(now, later[0].run_after or now)
            remaining = sorted(
                (t for t in later if (t.run_after or 0.0) <= now),
                key=lambda t: (t.priority, t.position),
            )
            later = [t for t in later if (t.run_after or 0.0) > now]
        index, overtaken = choose(remaining, loaded, now, rules)
        for i in overtaken:
            remaining[i] = passed(remaining[i], now)
        task = remaining.pop(index)
        loaded = after_running(loaded, task.setup) if rules.enabled else loaded
        order.append(task.id)
        if task.id == until or (count is not None and len(order) >= count):
            break
    return order
