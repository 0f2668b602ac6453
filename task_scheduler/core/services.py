"""What the REST API and the Task Queue tab are given to work with.

The entry script builds one `Services` from Forge (task_scheduler/forge); tests build one from
the fake host and a fixed catalog. Neither the API nor the UI imports Forge.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .affinity import Rules
from .executor import TaskExecutor
from .files import FileStore
from .live_preview import PreviewSource, no_preview
from .queue_manager import QueueManager


@dataclass(frozen=True)
class Settings:
    """The extension's settings (Settings page, section "Task Scheduler")."""

    start_on_launch: bool = False  # no surprise runs after a restart
    history_days: int = 0  # 0 keeps history forever; bookmarked or named tasks always stay
    notify_when_empty: bool = False
    notify_sound: bool = False
    callback_url: str = ""  # default for tasks that give none
    # Hosts callbacks may reach, "name" or "name:port", comma-separated; "" = any (see
    # callbacks/hosts.py). Checked when a task is queued and again before each delivery.
    callback_hosts: str = ""
    confirm_delete: bool = True
    show_live_previews: bool = True  # the running task's preview in the tab's status area
    # Queued tasks save their images even with Forge's samples_save off (forge/sample_saving.py)
    always_save_images: bool = True
    data_dir: str = ""  # shown to the user; where the database and input files live
    # Limits on what one API request may carry (see README "API limits").
    max_body_mb: int = 64  # a few 4K init images as base64, with room for the rest
    # 64 x 1024 x 1024 = 8192 x 8192 pixels: an 8K photo (7680 x 4320) fits, and one RGBA
    # decode of the largest allowed image costs at most 256 MB when the task runs.
    max_image_megapixels: int = 64
    max_images: int = 64  # images in one enqueue (init images, mask, script-arg images)
    max_pending: int = 10_000  # a flood of API enqueues is refused (429), not stored unnoticed
    # Forge's own "Forbid URLs to local resources" (Settings -> API, api_forbid_local_requests,
    # default on): while on, callback URLs may not reach loopback, private or link-local hosts.
    forbid_local_requests: bool = True
    # Checkpoint affinity (affinity.py): prefer tasks that need no model load, within bounds.
    group_by_checkpoint: bool = True
    affinity_max_passed_over: int = 8  # then the task runs next regardless
    affinity_max_wait_minutes: int = 30  # from the first time it was passed over
    # Owners and permissions (core/permissions.py): user names, comma-separated; "" = nobody
    # is named, so everyone may start, stop, clear ... and change tasks without an owner.
    queue_admins: str = ""
    hide_others_prompts: bool = False  # others' tasks: only owner, type, size, status, place

    @property
    def affinity_rules(self) -> Rules:
        return Rules(
            enabled=self.group_by_checkpoint,
            max_passed_over=self.affinity_max_passed_over,
            max_wait_seconds=self.affinity_max_wait_minutes * 60.0,
        )

    @property
    def max_body_bytes(self) -> int:
        return self.max_body_mb * 1024 * 1024

    @property
    def max_image_pixels(self) -> int:
        return self.max_image_megapixels * 1024 * 1024  # binary megapixels: 64 = 8192 x 8192


@dataclass(frozen=True)
class Catalog:
    """Names Forge knows right now: what a task may ask for."""

    samplers: list[str] = field(default_factory=list)
    schedulers: list[str] = field(default_factory=list)
    checkpoints: list[str] = field(default_factory=list)
    upscalers: list[str] = field(default_factory=list)
    scripts: dict[str, list[str]] = field(default_factory=dict)  # task_type -> script titles
    alwayson: dict[str, list[str]] = field(default_factory=dict)  # task_type -> always-on ones

    def resolve_checkpoint(self, name: str) -> str | None:
        """The catalog's name for a checkpoint given by title, file name or stem."""
        for known in self.checkpoints:
            stem = os.path.splitext(known.split(" [")[0])[0]
            if name in (known, known.split(" [")[0], stem, os.path.basename(stem)):
                return known
        return None


@dataclass
class Services:
    queue: QueueManager
    executor: TaskExecutor
    files: FileStore
    settings: Callable[[], Settings] = Settings
    catalog: Callable[[], Catalog] = Catalog
    # Resolves a recorded result image path (possibly relative to Forge's working directory).
    resolve_image: Callable[[str], str] = os.path.abspath
    # Extra, Forge-specific information for the running task (e.g. its Forge progress id).
    extras: dict[str, Any] = field(default_factory=dict)
    # Other queue extensions' databases found by the server (peer_sources.PeerSource list).
    find_peers: Callable[[], list[Any]] = list
    # Adds to a new task's params what its named resources are now (styles' text, embeddings
    # named), for the check before it runs (task_scheduler/core/resources.py); given params and
    # script_args, returns params.
    record_resources: Callable[[dict[str, Any], Any], dict[str, Any]] = lambda params, _args: params
    # The running task's live preview newer than a given id (core/live_preview.py).
    live_preview: PreviewSource = no_preview

    def __post_init__(self) -> None:
        # The claim and every run order shown read the setting when they run.
        self.queue.affinity_rules = lambda: self.settings().affinity_rules
