"""Named resources a task depends on (LoRA tags, embeddings, prompt styles, ControlNet models):
what was there when it was queued, and whether it still is when it runs.

A queued task that silently comes out different is the worst failure a queue can have. Forge
itself fails on a missing LoRA or ControlNet model, with an error that does not name it, but
silently skips a style it no longer has, applies a style's current text, and reads an
embedding it no longer has as plain words. So at enqueue a task records the text of its styles
and which known embeddings its prompts name (`snapshot`, stored as params["resources"]); before
it runs, `check` compares with what Forge has now:

* a LoRA tag or an enabled ControlNet unit's model Forge cannot find: an error naming it (the
  task fails before generating, as Forge would have failed, but with a clear message);
* a style gone or changed since queueing, an embedding no longer loaded: a warning on the task
  (Forge would have generated anyway; the warning makes the difference visible).

Pure logic: the Forge side (forge/resource_lists.py) supplies Forge's lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RESOURCES_KEY = "resources"  # in task.params
DATACLASS_KEY = "__ts_dataclass__"  # forge/values.py: how a stored dataclass is marked
# Forge's extra-network syntax (modules/extra_networks.py): <kind:name[:args...]>
_EXTRA_NETWORK = re.compile(r"<(\w+):([^>]+)>")
LORA_KINDS = ("lora", "lyco")
_PROMPT_FIELDS = ("prompt", "negative_prompt", "hr_prompt", "hr_negative_prompt")
NO_MODEL = ("", "None", "none")


@dataclass(frozen=True)
class TaskTexts:
    """What of a task names resources."""

    prompts: list[str] = field(default_factory=list)  # prompt, negative, hires prompts
    styles: list[str] = field(default_factory=list)  # style names, in order
    controlnet_models: list[str] = field(default_factory=list)  # enabled units' models


@dataclass(frozen=True)
class ForgeNow:
    """What Forge has when the task is about to run."""

    lora_exists: Callable[[str], bool]
    styles: Mapping[str, tuple[str, str]]  # name -> (prompt, negative prompt)
    embeddings: set[str] | None  # names the text encoder will use; None: unknown
    controlnet_exists: Callable[[str], bool] | None = None  # None: ControlNet not loaded


@dataclass
class Findings:
    errors: list[str] = field(default_factory=list)  # the task must not run
    warnings: list[str] = field(default_factory=list)  # it runs, visibly different


def task_texts(params: Mapping[str, Any], script_args: Mapping[str, Any] | None) -> TaskTexts:
    """The prompts, style names and ControlNet models of a stored task (UI or API)."""
    if params.get("source") == "api":
        source = params.get("payload") or {}
        styles = source.get("styles")
        units = _api_controlnet_units(source.get("alwayson_scripts"))
    else:
        source = params.get("inputs") or {}
        styles = source.get("prompt_styles")
        units = _ui_controlnet_units((script_args or {}).get("scripts"))
    prompts = [source[key] for key in _PROMPT_FIELDS if isinstance(source.get(key), str)]
    names = [s for s in styles if isinstance(s, str)] if isinstance(styles, list) else []
    models = []
    for unit in units:
        model = unit.get("model")
        enabled = unit.get("enabled", True) is not False
        if enabled and isinstance(model, str) and model not in (*NO_MODEL, *models):
            models.append(model)
    return TaskTexts(prompts=prompts, styles=names, controlnet_models=models)


def _api_controlnet_units(alwayson: Any) -> list[dict[str, Any]]:
    if not isinstance(alwayson, dict):
        return []
    units: list[dict[str, Any]] = []
    for title, entry in alwayson.items():
        if str(title).lower() != "controlnet" or not isinstance(entry, dict):
            continue
        units += [u for u in entry.get("args") or [] if isinstance(u, dict)]
    return units


def _ui_controlnet_units(scripts: Any) -> list[dict[str, Any]]:
    if not isinstance(scripts, dict):
        return []
    units = []
    for args in scripts.values():
        for value in args if isinstance(args, list) else []:
            if isinstance(value, dict) and value.get(DATACLASS_KEY) == "ControlNetUnit":
                fields = value.get("fields")
                if isinstance(fields, dict):
                    units.append(fields)
    return units


def lora_names(texts: Iterable[str]) -> list[str]:
    """LoRA names in <lora:NAME:weight> tags, in order, once each."""
    names: list[str] = []
    for text in texts:
        for kind, args in _EXTRA_NETWORK.findall(text):
            name = args.split(":", 1)[0].strip()
            if kind.lower() in LORA_KINDS and name and name not in names:
                names.append(name)
    return names


def mentions(texts: Iterable[str], word: str) -> bool:
    """Whether `word` stands as a word of its own in one of `texts` (case-insensitive, as
    CLIP's tokenizer lower-cases)."""
    pattern = re.compile(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", re.IGNORECASE)
    return any(pattern.search(text) for text in texts)


def snapshot(
    texts: TaskTexts, styles: Mapping[str, tuple[str, str]], embeddings: Iterable[str]
) -> dict[str, Any]:
    """What to store at enqueue: the text of each named style Forge knows, and the known
    embeddings the prompts (styles applied) name."""
    style_texts = {name: list(styles[name]) for name in texts.styles if name in styles}
    words = [*texts.prompts, *(text for pair in style_texts.values() for text in pair)]
    used = sorted({name for name in embeddings if name and mentions(words, name)})
    return {"styles": style_texts, "embeddings": used}


def check(texts: TaskTexts, recorded: Mapping[str, Any] | None, now: ForgeNow) -> Findings:
    """Compare a task's resources with Forge's now (see the module docstring)."""
    findings = Findings()
    recorded = recorded if isinstance(recorded, Mapping) else {}
    then_styles = recorded.get("styles") if isinstance(recorded.get("styles"), dict) else None
    applied: list[str] = []
    for name in texts.styles:
        current = now.styles.get(name)
        if current is not None:
            applied += [current[0], current[1]]
        if then_styles is not None and name not in then_styles:
            continue  # unknown when queued too: Forge skipped it then as now
        if current is None:
            findings.warnings.append(
                f"The style '{name}' no longer exists in Forge: the task ran without it "
                "(Forge skips styles it does not know)."
            )
        elif then_styles is not None and list(current) != list(then_styles[name]):
            findings.warnings.append(
                f"The style '{name}' was edited after the task was queued: the task ran with "
                "its current text, not the text it had when queued."
            )
    for name in lora_names([*texts.prompts, *applied]):
        if not now.lora_exists(name):
            findings.errors.append(
                f"LoRA '{name}' (from the prompt's <lora:{name}:...> tag) is not in Forge's "
                "LoRA list: its file is missing. The task was not run."
            )
    if now.embeddings is not None:
        for name in recorded.get("embeddings") or []:
            if isinstance(name, str) and name not in now.embeddings:
                findings.warnings.append(
                    f"The embedding '{name}' (named in the prompt when queued) is not loaded "
                    "in Forge now: Forge read the word as plain text."
                )
    if now.controlnet_exists is not None:
        for model in texts.controlnet_models:
            if not now.controlnet_exists(model):
                findings.errors.append(
                    f"ControlNet model '{model}' (of an enabled ControlNet unit) is not in "
                    "Forge's ControlNet model list: its file is missing. The task was not run."
                )
    return findings
