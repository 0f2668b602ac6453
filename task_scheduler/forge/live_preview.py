"""Forge's own live preview of the running generation, for the Task Queue tab.

The same steps as Forge's progress route (modules/progress.py) when its page asks for a
preview: `state.set_current_image()` decodes the latest latent when Forge's "Live preview
display period" (sampling steps) has passed and "Show live previews of the created image" is
on; the image is sent once per new `id_live_preview`, in Forge's preview format.
"""

from __future__ import annotations

import base64
import io
import logging

from ..core.live_preview import LivePreview

log = logging.getLogger("task_scheduler")


def live_preview(seen: int) -> LivePreview | None:
    """The preview newer than `seen`, `LivePreview(seen, "")` when there is none newer, or None
    when Forge shows no live previews."""
    from modules import shared  # Forge's; imported when asked, so this module loads without it

    opts, state = shared.opts, shared.state
    if not opts.live_previews_enable:
        return None
    state.set_current_image()
    image, preview_id = state.current_image, state.id_live_preview
    if image is None or preview_id == seen:
        return LivePreview(seen, "")
    image_format = opts.live_previews_image_format or "png"
    buffer = io.BytesIO()
    # As Forge: optimizing a large PNG takes far too long for a preview.
    save_kwargs = {"optimize": max(image.size) <= 256} if image_format == "png" else {}
    if image_format == "png" and max(image.size) > 256:
        save_kwargs["compress_level"] = 1
    try:
        image.save(buffer, format=image_format, **save_kwargs)
    except (OSError, ValueError) as error:  # e.g. an RGBA image as JPEG
        log.debug("live preview not encoded: %s", error)
        return LivePreview(seen, "")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return LivePreview(preview_id, f"data:image/{image_format};base64,{data}")
