"""Which instance can run which task (several Forge instances on one queue, issue 12).

An instance *has* checkpoints, LoRAs and ControlNet models (`Capabilities`, from its host); a
task *needs* its checkpoint and the LoRAs / ControlNet models it names (`needs_of`). The claim
leaves a task this instance lacks something for to the instances that have it, and a task no
live instance can run says so (`waiting_reason`) instead of waiting silently.

Names compare as Forge's lists name them, without folder and " [hash]"; a checkpoint also by
its stem ("randA" = "randA.safetensors"). A list the host cannot read is None: "cannot tell",
which never keeps a task from running. Only the task's own checkpoint counts (a hires-fix or
refiner checkpoint is checked when the task runs, as today). Pure: no SQLite, no Forge.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .affinity import checkpoint_name
from .resources import RESOURCES_KEY, lora_names, task_texts


def _key(name: str) -> str:
    """How names compare: no folder, no " [hash]"."""
    return checkpoint_name(name)


def _stem(name: str) -> str:
    return os.path.splitext(_key(name))[0]


@dataclass(frozen=True)
class Capabilities:
    """What an instance can run (None: cannot tell, counts as having everything)."""

    checkpoints: frozenset[str] | None = None
    loras: frozenset[str] | None = None
    controlnets: frozenset[str] | None = None

    @classmethod
    def of(
        cls,
        checkpoints: Iterable[str] | None = None,
        loras: Iterable[str] | None = None,
        controlnets: Iterable[str] | None = None,
    ) -> Capabilities:
        """From names as Forge lists them (titles with hashes and folders are fine)."""

        def keys(names: Iterable[str] | None, stems: bool = False) -> frozenset[str] | None:
            if names is None:
                return None
            found = {_key(n) for n in names if n}
            return frozenset(found | {_stem(n) for n in found} if stems else found)

        return cls(keys(checkpoints, stems=True), keys(loras), keys(controlnets))

    def to_json(self) -> str:
        def listed(names: frozenset[str] | None) -> list[str] | None:
            return None if names is None else sorted(names)

        return json.dumps(
            {
                "checkpoints": listed(self.checkpoints),
                "lora": listed(self.loras),
                "controlnet": listed(self.controlnets),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | None) -> Capabilities:
        """The stored form (instances.resources); damaged text reads as "cannot tell"."""
        try:
            data = json.loads(text or "{}")
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}

        def names(key: str) -> frozenset[str] | None:
            value = data.get(key)
            return frozenset(str(v) for v in value) if isinstance(value, list) else None

        return cls(names("checkpoints"), names("lora"), names("controlnet"))


@dataclass(frozen=True)
class Needs:
    """What a task needs of the instance that runs it."""

    checkpoint: str = ""  # '' = whatever is loaded
    loras: tuple[str, ...] = ()
    controlnets: tuple[str, ...] = ()


def needs_of(checkpoint: str | None, params: Any, script_args: Any) -> Needs:
    """A stored task's needs: its checkpoint, LoRA tags (prompts and the styles recorded at
    enqueue) and enabled ControlNet units' models."""
    params = params if isinstance(params, Mapping) else {}
    script_args = script_args if isinstance(script_args, Mapping) else {}
    try:
        texts = task_texts(params, script_args)
    except Exception:  # a malformed row: its checkpoint is still worth checking
        return Needs(checkpoint=_key(checkpoint or ""))
    prompts = list(texts.prompts)
    recorded = params.get(RESOURCES_KEY)
    styles = recorded.get("styles") if isinstance(recorded, Mapping) else None
    if isinstance(styles, Mapping):
        prompts += [t for pair in styles.values() if isinstance(pair, list) for t in pair if t]
    return Needs(
        checkpoint=_key(checkpoint or ""),
        loras=tuple(lora_names(p for p in prompts if isinstance(p, str))),
        controlnets=tuple(_key(m) for m in texts.controlnet_models),
    )


def missing(needs: Needs, has: Capabilities) -> list[str]:
    """What of `needs` an instance with `has` lacks, e.g. ["checkpoint randB.safetensors"]."""
    lacking = []
    known = has.checkpoints
    if (
        needs.checkpoint
        and known is not None
        and not {needs.checkpoint, _stem(needs.checkpoint)} & known
    ):
        lacking.append(f"checkpoint {needs.checkpoint}")
    if has.loras is not None:
        lacking += [f"LoRA {n}" for n in needs.loras if n not in has.loras]
    if has.controlnets is not None:
        lacking += [f"ControlNet model {m}" for m in needs.controlnets if m not in has.controlnets]
    return lacking


def can_run(needs: Needs, has: Capabilities) -> bool:
    return not missing(needs, has)


def waiting_reason(needs: Needs, live: Mapping[str, Capabilities]) -> str | None:
    """Why a pending task waits: several instances are live and none has what it needs.

    None when one of them can run it, or when fewer than two are live: an instance alone runs
    every task as a single Forge always did (one it lacks something for fails naming it).
    """
    if len(live) < 2:
        return None
    lacking: list[str] = []
    for name, has in sorted(live.items()):
        gaps = missing(needs, has)
        if not gaps:
            return None
        lacking.append(f"{name} lacks {', '.join(gaps)}")
    return "Waiting: no live instance can run it (" + "; ".join(lacking) + ")"
