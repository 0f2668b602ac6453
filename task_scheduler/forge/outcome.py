"""What one replayed generation reports back to the Forge host (shared by UI and API replays)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ReplayOutcome:
    """Returned by a replay function that ran on Forge's main thread."""

    infotexts: list[str] = field(default_factory=list)  # one per image, first is the task's info
    seeds: list[int] = field(default_factory=list)  # resolved seeds, one per image
    warnings: list[str] = field(default_factory=list)
