"""The running task's live preview, for the tab's status area.

A source (Forge's live preview in forge/live_preview.py; a drawing in the tests) is asked for
the image newer than the one the browser already shows; it answers None when there is none.
The browser asks only while the tab is on screen and "Show live previews" is on, so nothing
is decoded or sent for a hidden tab.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LivePreview:
    """One preview image: `id` grows with each new image of a run; `image` is a data: URL."""

    id: int
    image: str


PreviewSource = Callable[[int], "LivePreview | None"]


def no_preview(_seen: int) -> LivePreview | None:
    return None


def preview_reply(source: PreviewSource, running: bool, request: Any) -> dict[str, Any] | None:
    """What a poll answers for `request` (`{"seen": id}` or None when the browser wants none):
    the newer image, `{"id": seen}` when the browser's is still the newest, None with no run."""
    if not running or not isinstance(request, dict):
        return None
    seen = request.get("seen")
    seen = seen if isinstance(seen, int) and not isinstance(seen, bool) else -1
    preview = source(seen)
    if preview is None or preview.id == seen:
        return {"id": seen, "image": None}
    return {"id": preview.id, "image": preview.image}
