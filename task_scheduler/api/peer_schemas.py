"""Request and response models of the routes that import another queue extension's tasks.

See api/peer.py (the routes) and peers/importer.py (the import itself).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .schemas import Status

PeerKind = Literal["forge-task-scheduler", "agent-scheduler"]


class PeerSourceOut(BaseModel):
    """A database of another queue extension found in Forge's extensions folder."""

    id: str = Field(description="Pass as `source` to POST /import/peer.")
    kind: PeerKind = Field(
        description="forge-task-scheduler: SachiraChin's sd-webui-forge-task-scheduler; "
        "agent-scheduler: Agent Scheduler."
    )
    label: str = Field(description="The extension's name, for people.")
    folder: str = Field(description="The extension folder the database was found in.")
    pending: int = Field(description="Tasks waiting there (queued as pending here).")
    history: int = Field(description="Finished tasks there (imported on request).")


class PeerSourcesOut(BaseModel):
    sources: list[PeerSourceOut]


class PeerImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        min_length=1, max_length=100, description="`id` of a source from GET /import/peer."
    )
    include_history: bool = Field(
        default=False,
        description="Also import finished tasks (completed, failed, cancelled) with their "
        "result image paths.",
    )


class PeerRowOut(BaseModel):
    """What became of one task of the other queue."""

    source_id: str = Field(description="The task's id in the other extension.")
    outcome: Literal["imported", "skipped", "already imported"]
    label: str = Field(default="", description="Its name, else the start of its prompt.")
    task_id: str | None = Field(default=None, description="Our task (imported or earlier).")
    status: Status | None = None
    reason: str | None = Field(default=None, description="Why it was skipped.")
    warnings: list[str] = Field(default_factory=list, description="What was not carried over.")


class PeerImportOut(BaseModel):
    """The import's report. Importing the same source again adds nothing twice."""

    source: dict[str, str]
    include_history: bool
    imported: int
    imported_pending: int
    skipped: int
    already_imported: int
    with_warnings: int = Field(description="Imported tasks that carry warnings.")
    rows: list[PeerRowOut]
