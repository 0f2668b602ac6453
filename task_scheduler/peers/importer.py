"""Import the queue of another queue extension: all or nothing, once per task, with a report.

`import_source` reads a recognised database (peers/sources.py) strictly read-only, maps every
row (peers/sachira.py / peers/agent.py, checks in peers/tasks.py), copies init images into our
FileStore, and adds the tasks in one transaction (QueueManager.add_imported), remembering each
source task id so a second import adds nothing twice. Pending tasks are queued in the other
extension's run order; on request its history comes along as finished tasks with their result
image paths. The report lists every row: imported (with warnings), skipped (with the reason) or
already imported.

Over HTTP only detected sources can be imported (GET/POST /task-scheduler/import/peer); any
other file is imported from the command line, which refuses files of any other schema::

    python -m task_scheduler.peers.importer PATH --data-dir DATA_DIR [--history] [--dry-run]

Nothing here imports Forge.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..api.payload import ExtractedImages
from ..core.files import FileStore
from ..core.models import Task
from ..core.queue_manager import QueueManager
from ..core.services import Catalog
from . import agent as peer_agent
from . import sachira as peer_sachira
from .sources import SACHIRA, PeerSource, PeerSourceError, detect_kind, open_readonly
from .tasks import RowSkipped, build_task

log = logging.getLogger("task_scheduler")

IMPORTED, SKIPPED, ALREADY = "imported", "skipped", "already imported"
DUPLICATE_ID = "another row of the other queue has the same id (the first one is imported)"


@dataclass
class RowOutcome:
    """What became of one row of the other queue."""

    source_id: str
    outcome: str  # IMPORTED, SKIPPED or ALREADY
    label: str = ""  # the task's name, else the start of its prompt (for people)
    task_id: str | None = None
    status: str | None = None  # our status of the imported task
    reason: str | None = None  # why it was skipped
    warnings: list[str] = field(default_factory=list)  # what was not carried over


@dataclass
class ImportReport:
    source: PeerSource
    include_history: bool
    rows: list[RowOutcome] = field(default_factory=list)
    dry_run: bool = False

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def imported(self) -> int:
        return self.count(IMPORTED)

    @property
    def skipped(self) -> int:
        return self.count(SKIPPED)

    @property
    def already_imported(self) -> int:
        return self.count(ALREADY)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": {
                "id": self.source.id,
                "kind": self.source.kind,
                "label": self.source.label,
                "folder": self.source.folder,
            },
            "include_history": self.include_history,
            "dry_run": self.dry_run,
            "imported": self.imported,
            "imported_pending": sum(
                1 for r in self.rows if r.outcome == IMPORTED and r.status == "pending"
            ),
            "skipped": self.skipped,
            "already_imported": self.already_imported,
            "with_warnings": sum(1 for r in self.rows if r.outcome == IMPORTED and r.warnings),
            "rows": [vars(row) for row in self.rows],
        }


def import_source(
    queue: QueueManager,
    files: FileStore,
    catalog: Catalog | None,
    source: PeerSource,
    include_history: bool = False,
    dry_run: bool = False,
    check_room: Callable[[int], None] | None = None,
    owner: str | None = None,
) -> ImportReport:
    """Import `source` into `queue` (see module docstring); nothing is stored on failure.

    `catalog` None (command line, no Forge at hand) keeps names unchecked: an unknown sampler
    then fails the task when it runs instead of being dropped here. `check_room` is called
    with the number of pending tasks about to be added, before anything is stored (it raises to
    refuse, e.g. api_limits.QueueFullError). Raises PeerSourceError when the file cannot be
    read or is no longer a known queue database, peer_bounds.PeerSourceTooLarge (a
    PeerSourceError) when its rows to import are too many or too large to read at once.
    The imported tasks belong to `owner`, the user who imports (core/permissions.py).
    """
    rows = read_source(source, catalog, include_history)
    seen = queue.imported_keys(source.kind + ":")
    report = ImportReport(source, include_history, dry_run=dry_run)
    entries: list[tuple[str, Task]] = []
    images: list[ExtractedImages] = []
    keys: set[str] = set()
    for source_id, mapped in rows:
        key = f"{source.kind}:{source_id}"
        if key in seen:
            label = "" if isinstance(mapped, str) else _label(mapped.name, mapped.payload)
            report.rows.append(RowOutcome(source_id, ALREADY, label, task_id=seen[key]))
            continue
        label = "" if isinstance(mapped, str) else _label(mapped.name, mapped.payload)
        try:
            if key in keys:  # a database without a unique id column: the first row wins
                raise RowSkipped(DUPLICATE_ID)
            keys.add(key)
            if isinstance(mapped, str):
                raise RowSkipped(mapped)
            task, extracted = build_task(mapped, catalog)
            task.owner = owner
        except RowSkipped as reason:
            report.rows.append(RowOutcome(source_id, SKIPPED, label, reason=str(reason)))
            continue
        entries.append((key, task))
        images.append(extracted)
        report.rows.append(
            RowOutcome(
                source_id, IMPORTED, label, task.id, task.status.value, warnings=task.warnings
            )
        )
    if dry_run or not entries:
        return report
    if check_room is not None:
        check_room(sum(1 for _, task in entries if task.status.value == "pending"))
    added = _add_all_or_nothing(queue, files, entries, images)
    added_ids = {task.id for task in added}
    for row in report.rows:  # a concurrent import of the same source got there first
        if row.outcome == IMPORTED and row.task_id not in added_ids:
            row.outcome, row.task_id, row.status, row.warnings = ALREADY, None, None, []
    log.info(
        "task_scheduler: imported %d task(s) from %s (%s); %d skipped, %d already imported",
        report.imported, source.label, source.path, report.skipped, report.already_imported,
    )  # fmt: skip
    return report


def _label(name: str, payload: dict[str, Any]) -> str:
    prompt = payload.get("prompt")
    text = name or (prompt if isinstance(prompt, str) else "")
    return text if len(text) <= 60 else text[:59] + "…"


def read_source(
    source: PeerSource, catalog: Catalog | None, include_history: bool
) -> list[tuple[str, Any]]:
    """The mapped rows of `source`, read through a read-only connection."""
    conn = open_readonly(source.path)
    try:
        kind = detect_kind(conn)
        if kind != source.kind:
            raise PeerSourceError(f"{source.path}: no longer a {source.label} database")
        if kind == SACHIRA:
            return peer_sachira.read_rows(conn, source.path, catalog, include_history)
        return peer_agent.read_rows(conn, include_history)
    except sqlite3.Error as error:
        raise PeerSourceError(f"{source.path}: cannot be read ({error})") from None
    finally:
        conn.close()


def _add_all_or_nothing(
    queue: QueueManager,
    files: FileStore,
    entries: list[tuple[str, Task]],
    images: list[ExtractedImages],
) -> list[Task]:
    created = []
    try:
        for extracted in images:
            for name in extracted.names:
                if not files.exists(name):
                    created.append(name)
            extracted.save(files)
        contents = {name: data for ex in images for name, (data, _ext) in ex.files.items()}
        added = queue.add_imported(entries, contents)
    except BaseException:
        for name in created:  # files only this failed import wrote
            if not queue.file_in_use(name):
                with contextlib.suppress(OSError):
                    os.remove(files.path(name))
        raise
    return added


# -- command line ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m task_scheduler.peers.importer",
        description="Import the queue of sd-webui-forge-task-scheduler (SachiraChin) or Agent "
        "Scheduler into this extension's queue. The other database is opened read-only.",
    )
    parser.add_argument("path", help="the other extension's database file")
    parser.add_argument(
        "--data-dir",
        required=True,
        help="this extension's data folder (holds tasks.sqlite3; shown in Settings)",
    )
    parser.add_argument("--history", action="store_true", help="also import finished tasks")
    parser.add_argument("--dry-run", action="store_true", help="report only; store nothing")
    args = parser.parse_args(argv)
    from .sources import inspect_file

    db_path = os.path.join(args.data_dir, "tasks.sqlite3")
    if not os.path.isfile(db_path):
        print(f"error: {db_path} does not exist (start Forge with the extension once)")
        return 2
    try:
        source = inspect_file(args.path)
    except PeerSourceError as error:
        print(f"error: {error}")
        return 2
    queue = QueueManager(db_path, files_dir=os.path.join(args.data_dir, "inputs"), recover=False)
    try:
        files = FileStore(os.path.join(args.data_dir, "inputs"))
        report = import_source(queue, files, None, source, args.history, args.dry_run)
    except PeerSourceError as error:
        print(f"error: {error}")
        return 2
    finally:
        queue.close()
    print(format_report(report))
    return 0


def format_report(report: ImportReport) -> str:
    """The report as plain text, one line per row that was skipped or has warnings."""
    lines = [
        f"{report.source.label}: {report.source.path}",
        f"{'would import' if report.dry_run else 'imported'} {report.imported}, "
        f"skipped {report.skipped}, already imported {report.already_imported}",
    ]
    for row in report.rows:
        if row.outcome == SKIPPED:
            lines.append(f"  skipped {row.source_id}: {row.reason}")
        for warning in row.warnings:
            lines.append(f"  {row.source_id}: {warning}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
