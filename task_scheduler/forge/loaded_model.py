"""What Forge has loaded now, for checkpoint affinity (the host's `loaded_setup`).

Forge loads the model lazily inside `process_images` (`sd_models.forge_model_reload`) when its
loading parameters (checkpoint, additional modules, dtype) differ from those of the model in
memory, whose `str()` it keeps in `model_data.forge_hash`. After a queued task the host puts
the user's top bar back, which changes the loading parameters but not the model in memory: so
the setup is read while the parameters still are the loaded ones (right after a generation, or
whenever they agree) and remembered by that hash.
"""

from __future__ import annotations

import os

from ..core.affinity import loaded_key

_KEEP = 16  # setups remembered (one per model loaded lately)
_known: dict[str, str] = {}


def remember() -> None:
    """Record the setup of the model in memory, if the loading parameters are its own."""
    from modules import sd_models, shared

    data = sd_models.model_data
    loaded_hash = getattr(data, "forge_hash", "")
    parameters = getattr(data, "forge_loading_parameters", None) or {}
    if not loaded_hash or loaded_hash != str(parameters) or loaded_hash in _known:
        return
    info = parameters.get("checkpoint_info")
    checkpoint = getattr(info, "title", None) or os.path.basename(getattr(info, "filename", ""))
    modules = [str(m) for m in parameters.get("additional_modules") or []]
    dtype = shared.opts.data.get("forge_unet_storage_dtype")
    _known[loaded_hash] = loaded_key(checkpoint, modules, dtype if isinstance(dtype, str) else None)
    while len(_known) > _KEEP:
        _known.pop(next(iter(_known)))


def loaded_setup() -> str | None:
    """The setup key of the model in memory; None before the first load or when unknown."""
    try:
        remember()
        from modules import sd_models

        return _known.get(getattr(sd_models.model_data, "forge_hash", ""))
    except Exception:  # never a reason for a claim or a listing to fail: no preference
        return None
