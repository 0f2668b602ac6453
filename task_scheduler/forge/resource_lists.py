"""Forge's lists of LoRAs, styles, embeddings and ControlNet models, for core/resources.py
(recorded at enqueue, checked before a task runs).

Each reader degrades to "cannot tell" (never to "missing") when the extension that owns a list
is not loaded, so a Forge without LoRA or ControlNet support never fails a task here.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from ..core.models import Task
from ..core.resources import (
    RESOURCES_KEY,
    Findings,
    ForgeNow,
    TaskTexts,
    check,
    snapshot,
    task_texts,
)

log = logging.getLogger("task_scheduler")

EMBEDDING_EXTENSIONS = (".pt", ".bin", ".safetensors", ".png", ".webp", ".avif", ".jxl")


def record(params: dict[str, Any], script_args: dict[str, Any] | None) -> dict[str, Any]:
    """params with params["resources"] set from Forge's styles and embeddings now."""
    try:
        texts = task_texts(params, script_args)
        params[RESOURCES_KEY] = snapshot(texts, styles(), loaded_embeddings())
    except Exception:  # never refuse a task because a list could not be read
        log.exception("task_scheduler: could not record the task's styles and embeddings")
    return params


def check_task(task: Task) -> Findings:
    """Task's resources against Forge's now (on Forge's main thread, before running it)."""
    texts: TaskTexts = task_texts(task.params, task.script_args)
    now = ForgeNow(
        lora_exists=lora_exists,
        styles=styles(),
        embeddings=loaded_embeddings(),
        controlnet_exists=controlnet_checker(),
    )
    return check(texts, task.params.get(RESOURCES_KEY), now)


def styles() -> dict[str, tuple[str, str]]:
    from modules import shared

    known = getattr(getattr(shared, "prompt_styles", None), "styles", None) or {}
    return {
        name: (style.prompt or "", style.negative_prompt or "") for name, style in known.items()
    }


def loaded_embeddings() -> set[str]:
    """What the text encoder will use: the database built when the model loaded (Forge binds
    embeddings at model load), or, with no model loaded yet or a different checkpoint about to
    load (`sd_models.forge_model_reload`), the files it will load from."""
    loaded = _model_embeddings()
    return loaded if loaded is not None else _embedding_files()


def _model_embeddings() -> set[str] | None:
    from modules import sd_models

    data = getattr(sd_models, "model_data", None)
    model = getattr(data, "sd_model", None)
    if model is None:
        return None
    if getattr(data, "forge_hash", None) != str(getattr(data, "forge_loading_parameters", None)):
        return None  # a checkpoint switch is pending: the next load reads the folder again
    names: set[str] = set()
    found = False
    for attribute in dir(model):
        if attribute.startswith("text_processing_engine"):
            database = getattr(getattr(model, attribute, None), "embeddings", None)
            words = getattr(database, "word_embeddings", None)
            if isinstance(words, dict):
                found = True
                names |= set(words)
    return names if found else None


def _embedding_files() -> set[str]:
    from modules.shared import cmd_opts

    folder = getattr(cmd_opts, "embeddings_dir", None)
    names: set[str] = set()
    if not folder or not os.path.isdir(folder):
        return names
    for _root, _dirs, files in os.walk(folder, followlinks=True):
        for name in files:
            stem, ext = os.path.splitext(name)
            if ext.lower() in EMBEDDING_EXTENSIONS and not name.startswith("."):
                names.add(stem)
    return names


def lora_exists(name: str) -> bool:
    """Whether Forge's LoRA loader finds `name` (as it does: aliases, rescanning once) and its
    file is still there."""
    networks = sys.modules.get("networks")
    if networks is None or not hasattr(networks, "available_network_aliases"):
        return True  # the LoRA extension is not loaded: cannot tell
    entry = _lora_entry(networks, name)
    if entry is None or not os.path.isfile(entry.filename):
        networks.list_available_networks()  # Forge rescans the folder for a missing name too
        entry = _lora_entry(networks, name)
    return entry is not None and os.path.isfile(entry.filename)


def _lora_entry(networks: Any, name: str) -> Any:
    if name.lower() in getattr(networks, "forbidden_network_aliases", {}):
        return networks.available_networks.get(name)
    return networks.available_network_aliases.get(name)


def controlnet_checker() -> Any:
    state = sys.modules.get("lib_controlnet.global_state")
    if state is None or not hasattr(state, "controlnet_filename_dict"):
        return None

    def exists(model: str) -> bool:
        if _controlnet_file(state, model):
            return True
        state.update_controlnet_filenames()  # the list is read at start and on refresh
        return _controlnet_file(state, model)

    return exists


def _controlnet_file(state: Any, model: str) -> bool:
    names = state.controlnet_filename_dict
    path = names.get(model)
    if path is None:  # "randControl_canny" for "randControl_canny [31f4219a]"
        path = next((p for n, p in names.items() if n.split(" [", 1)[0] == model), None)
    return bool(path) and os.path.isfile(path)
