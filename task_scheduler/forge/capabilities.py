"""What this Forge can run, for the can-run rule of several instances (core/can_run.py).

Read from Forge's own lists, off the main thread (the worker's instance thread, every few
seconds): checkpoints (`sd_models.checkpoints_list`), LoRAs by the names a `<lora:…>` tag
finds (the built-in LoRA extension's `networks.available_network_aliases`) and ControlNet
models (`lib_controlnet.global_state.controlnet_filename_dict`). A list whose extension is not
loaded is None ("cannot tell"), never empty, so this Forge never turns a task away for it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

from ..core.can_run import Capabilities


def capabilities() -> Capabilities:
    from modules import sd_models

    checkpoints = _names(lambda: [info.title for info in sd_models.checkpoints_list.values()])
    networks = sys.modules.get("networks")
    loras = None
    if networks is not None and hasattr(networks, "available_network_aliases"):
        loras = _names(lambda: list(networks.available_network_aliases))
    state = sys.modules.get("lib_controlnet.global_state")
    controlnets = None
    if state is not None and hasattr(state, "controlnet_filename_dict"):
        controlnets = _names(lambda: list(state.controlnet_filename_dict))
    return Capabilities.of(checkpoints, loras, controlnets)


def _names(read: Callable[[], Iterable[str]]) -> list[str] | None:
    """A list Forge may be refreshing on its main thread meanwhile: read it again if it
    changed under us; None ("cannot tell") if it keeps changing."""
    for _ in range(3):
        try:
            return [str(name) for name in read()]
        except RuntimeError:  # dictionary changed size during iteration
            continue
    return None
