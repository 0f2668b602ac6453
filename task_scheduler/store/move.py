"""Move a queue from its SQLite file to a PostgreSQL server (or to another SQLite file).

    python -m task_scheduler.store.move SOURCE DEST [--data-dir DIR] [--merge] [--dry-run]

SOURCE is the queue's SQLite file (`<data folder>/tasks.sqlite3`); DEST a `postgresql://` URL,
or a SQLite file path (anything `QueueManager(location)` opens). What is carried:

- every task, pending and history, with every field as stored: status, results, error, times,
  priority and position (the run order), group, owner, instance, *not before*, bookmark,
  callback URL and outcome, the claim and lease; read back from DEST and compared before the
  commit. A task still *running* in SOURCE (its Forge was killed) arrives failed with the
  error Forge's recovery gives it (`SHUTDOWN_ERROR`), as the next start would have done;
- the queue's settings and markers kept with it (`meta`: worker state, schedule, run window,
  the keys of tasks imported from other queue extensions) and the callbacks still owed;
- not the instances: each Forge registers itself when it starts on DEST.

Input files (the tasks' `files`, content-addressed names in `<data folder>/inputs/`) stay where
they are, or with `--data-dir DIR` are copied, names unchanged, into `DIR/inputs/`; a server
DEST (PostgreSQL) also keeps them itself, for Forges on other machines (store/input_files.py).

All or nothing: every row is written in one transaction on DEST, files are copied before it
and removed again if it fails. SOURCE is only read (a file of an older schema is first brought
to the current one, as a Forge starting on it would) and is left in place: keep it as a backup,
but start no Forge on it again, or its pending tasks would run twice.

Refused (nothing moved): SOURCE in use, i.e. held open by another process (Linux: seen in
/proc; this catches a Forge whose worker is stopped), a live instance registered in it (a
heartbeat within its lease) or a task running under a live claim: stop every Forge using it
first. DEST already holding tasks, unless `--merge`: the tasks whose id DEST already has are
skipped (reported), settings DEST already has are kept, and the moved pending tasks go after
DEST's own pending tasks in each priority, in their order.

--dry-run checks all of this and reports what would move; it moves nothing (a server database
without the queue's tables gets them, as the first Forge would create them).

Exit codes: 0 moved (with --dry-run: would move); 1 the move failed while writing, nothing
stored; 2 bad command line (a URL that cannot be parsed, SOURCE and DEST the same file);
3 SOURCE missing, unreadable or not a task queue; 4 DEST unreachable or unusable (server down,
login refused, unknown database, schema of a newer version); 5 refused (SOURCE in use, DEST
holds tasks without --merge).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import Any

from ..core.models import SHUTDOWN_ERROR, Task, TaskStatus
from ..core.process_liveness import claim_is_alive
from .contract import Store, is_server_url
from .faults import fault_of
from .instance_verbs import InstanceVerbs
from .move_checks import check_source_file, holders, open_destination, open_source, short_fault
from .move_files import _copy_files, _keep_in_store, _plan_files, _sync_folder, same_dir
from .move_report import (  # noqa: F401 (the command's names, for scripts and tests)
    CHUNK,
    EXIT_DEST,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_SOURCE,
    EXIT_USAGE,
    INPUTS,
    NOTHING_MOVED,
    STATUSES,
    MoveError,
    MoveReport,
)

# -- the move ----------------------------------------------------------------------------------


def move_queue(
    source: Store,
    dest: Store,
    inputs_dir: str,
    copy_to: str | None = None,
    merge: bool = False,
    dry_run: bool = False,
) -> MoveReport:
    """Move every task of `source` (a SQLite store) with its meta and owed callbacks into
    `dest` in one transaction (see the module docstring); copy the tasks' input files from
    `inputs_dir` to `copy_to` when given. Raises MoveError; nothing is stored then."""
    report = MoveReport(source.path, dest.path, dry_run=dry_run, merge=merge)
    copy_to = None if copy_to is None or same_dir(copy_to, inputs_dir) else copy_to
    report.files_dir = copy_to or inputs_dir
    now = time.time()
    with source.snapshot():
        _refuse_if_in_use(source, now)
        ids = sorted(source.matching_ids(STATUSES, None))
        claims = source.claims()
        meta = source.meta_with_prefix("")
        outbox = source.outbox_export()
        pending = source.ready_candidates(-1) + source.held_candidates()
        if dry_run:
            existing = _dest_ids(dest)
            _refuse_if_holding(dest, existing, merge)
            names: set[str] = set()
            for tasks in _chunks_of(source, ids):
                for task in tasks:
                    if task.id in existing:
                        report.skipped.append(task.id)
                        continue
                    _count(report, _as_moved(report, task, now))
                    names.update(task.files)
            _plan_files(report, sorted(names), inputs_dir, copy_to)
            _count_meta(report, dest, meta, merge, None)
            report.callbacks = sum(1 for row in outbox if row[0] not in existing)
            return report
        created: list[str] = []
        try:
            with dest.transaction() as conn:
                existing = _dest_ids(dest)
                _refuse_if_holding(dest, existing, merge)
                offset = _offset(dest, conn, pending) if existing else 0.0
                copied_names: set[str] = set()
                moved: set[str] = set()
                for tasks in _chunks_of(source, ids):
                    expected = []
                    for task in tasks:
                        if task.id in existing:
                            report.skipped.append(task.id)
                            continue
                        task = _as_moved(report, task, now)
                        task.position += offset
                        new = [n for n in task.files if n not in copied_names]
                        copied_names.update(new)
                        created += _copy_files(report, new, inputs_dir, copy_to)
                        if dest.local_file is None:  # a server: for Forges on other machines
                            _keep_in_store(dest, conn, new, inputs_dir)
                        dest.insert(conn, task)
                        if task.id in claims:
                            dest.set_claim(conn, task.id, *claims[task.id])
                        expected.append(task)
                        moved.add(task.id)
                        _count(report, task)
                    _check_read_back(report, dest, expected)
                report.files = len(copied_names)
                _count_meta(report, dest, meta, merge, conn)
                report.callbacks = dest.outbox_import(conn, [r for r in outbox if r[0] in moved])
            if created:
                _sync_folder(copy_to)
        except BaseException:
            for name in created:  # files only this move wrote, that no task of DEST lists
                with contextlib.suppress(Exception):  # the move's own error is reported
                    if not dest.file_in_use(name):
                        os.remove(os.path.join(copy_to or "", name))
            raise
    return report


def _dest_ids(dest: Store) -> set[str]:
    """The ids of DEST's tasks (inside its transaction: read on the transaction's connection)."""
    return dest.matching_ids(STATUSES, None)


def _refuse_if_holding(dest: Store, existing: set[str], merge: bool) -> None:
    if existing and not merge:
        raise MoveError(
            EXIT_REFUSED,
            f"{dest.path} already holds {len(existing)} task(s); {NOTHING_MOVED}. Give --merge "
            "to add this queue's tasks to them (tasks whose id is there already are skipped).",
        )


def _refuse_if_in_use(source: Store, now: float) -> None:
    """MoveError unless no live instance serves SOURCE and no task runs under a live claim."""
    reasons = []
    for row in InstanceVerbs(source).instances(live_at=now):
        if claim_is_alive(row.claimed_by, row.started_at, lease_until=row.lease_until, now=now):
            reasons.append(f"instance {row.name} is live (seen {now - row.seen_at:.0f} s ago)")
    for task_id, claimed_by, started_at, lease in source.running_claims(source.conn):
        if claim_is_alive(claimed_by, started_at, lease_until=lease, now=now):
            reasons.append(f"task {task_id} is running")
    if reasons:
        raise MoveError(
            EXIT_REFUSED,
            f"{source.path} is in use ({'; '.join(reasons)}): stop every Forge using it, then "
            f"move; {NOTHING_MOVED}.",
        )


def _as_moved(report: MoveReport, task: Task, now: float) -> Task:
    """The task as DEST gets it: a running one (its Forge is gone) failed as recovery would."""
    if task.status != TaskStatus.RUNNING:
        return task
    report.interrupted.append(task.id)
    return dataclasses.replace(
        task, status=TaskStatus.FAILED, error=SHUTDOWN_ERROR, completed_at=now
    )


def _count(report: MoveReport, task: Task) -> None:
    report.statuses[task.status.value] = report.statuses.get(task.status.value, 0) + 1


def _offset(dest: Store, conn: Any, pending: Sequence[Any]) -> float:
    """What --merge adds to the moved tasks' positions: their pending tasks then come after
    DEST's own pending tasks in each priority, in their order."""
    if not pending:
        return 0.0
    return dest.max_position(conn) + 1 - min(c.position for c in pending)


def _count_meta(
    report: MoveReport, dest: Store, meta: dict[str, str], merge: bool, conn: Any
) -> None:
    """Set SOURCE's meta in DEST (conn None: count only); --merge keeps DEST's own keys."""
    for key, value in sorted(meta.items()):
        if merge and dest.get_meta(key, conn=conn) is not None:
            report.meta_kept += 1
            continue
        if conn is not None:
            dest.set_meta(key, value, conn)
        report.meta_moved += 1


def _check_read_back(report: MoveReport, dest: Store, expected: list[Task]) -> None:
    """Every task just written reads back from DEST equal to what was written (PostgreSQL:
    a NUL in a text field as U+FFFD, its documented difference); MoveError otherwise."""
    got = {t.id: t for t in dest.get_many([t.id for t in expected])}
    for task in expected:
        stored = got.get(task.id)
        if stored == task:
            continue
        if stored is not None and dest.local_file is None and stored == _without_nul(task):
            report.nul_replaced.append(task.id)
            continue
        fields = (
            "the whole task"
            if stored is None
            else ", ".join(
                f.name
                for f in dataclasses.fields(Task)
                if getattr(stored, f.name) != getattr(task, f.name)
            )
        )
        raise MoveError(
            EXIT_FAILED,
            f"task {task.id} reads back from {dest.path} differently ({fields}); {NOTHING_MOVED}.",
        )


def _without_nul(task: Task) -> Task:
    changes = {
        f.name: getattr(task, f.name).replace("\x00", "\ufffd")
        for f in dataclasses.fields(Task)
        if isinstance(getattr(task, f.name), str) and "\x00" in getattr(task, f.name)
    }
    return dataclasses.replace(task, **changes)


def _chunks_of(source: Store, ids: list[str]) -> Iterator[list[Task]]:
    for start in range(0, len(ids), CHUNK):
        yield source.get_many(ids[start : start + CHUNK])


# -- command line ------------------------------------------------------------------------------


def run(
    source_path: str,
    dest: str,
    data_dir: str | None = None,
    merge: bool = False,
    dry_run: bool = False,
) -> MoveReport:
    """The whole command: checks, the move, the report. Raises MoveError."""
    if is_server_url(source_path):
        raise MoveError(
            EXIT_USAGE, "SOURCE must be the queue's SQLite file (<data folder>/tasks.sqlite3)"
        )
    if "://" in dest and not is_server_url(dest):
        raise MoveError(EXIT_USAGE, f"DEST: {dest.split('://')[0]}:// is not a postgresql:// URL")
    check_source_file(source_path)
    if not is_server_url(dest) and os.path.exists(dest) and same_dir(dest, source_path):
        raise MoveError(EXIT_USAGE, "SOURCE and DEST are the same file")
    busy = holders(source_path)
    if busy:
        raise MoveError(
            EXIT_REFUSED,
            f"{source_path} is open in another process ({'; '.join(busy)}): stop every Forge "
            f"using it, then move; {NOTHING_MOVED}.",
        )
    source = open_source(source_path)
    try:
        with source.snapshot():
            _refuse_if_in_use(source, time.time())  # before DEST is opened (and created)
        target = open_destination(dest, dry_run)
        try:
            inputs_dir = os.path.join(os.path.dirname(os.path.abspath(source_path)), INPUTS)
            copy_to = os.path.join(os.path.abspath(data_dir), INPUTS) if data_dir else None
            if target is None:  # a dry run to a new SQLite file: an empty destination
                from .sqlite import TaskStore

                with tempfile.TemporaryDirectory() as folder:
                    empty = TaskStore(os.path.join(folder, "tasks.sqlite3"))
                    try:
                        report = move_queue(source, empty, inputs_dir, copy_to, merge, True)
                    finally:
                        empty.close()
                report.dest = dest
                return report
            return move_queue(source, target, inputs_dir, copy_to, merge, dry_run)
        except MoveError:
            raise
        except Exception as error:
            fault = fault_of(error, target.path) if target is not None else None
            detail = short_fault(fault) if fault is not None else f"{type(error).__name__}: {error}"
            raise MoveError(
                EXIT_FAILED,
                f"the move failed ({detail}); {NOTHING_MOVED} (the destination's transaction "
                "was rolled back)",
            ) from error
        finally:
            if target is not None:
                target.close()
    finally:
        source.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m task_scheduler.store.move",
        description="Move a task queue from its SQLite file to a PostgreSQL server (or to "
        "another SQLite file): every task, pending and history, its settings and owed "
        "callbacks, in one transaction. Stop every Forge using SOURCE first.",
        epilog="Exit codes: 0 moved, 1 the move failed (nothing stored), 2 bad command line, "
        "3 SOURCE unreadable, 4 DEST unreachable or unusable, 5 refused (SOURCE in use, or "
        "DEST holds tasks without --merge).",
    )
    parser.add_argument("source", help="the queue's SQLite file: <data folder>/tasks.sqlite3")
    parser.add_argument(
        "dest", help="where the queue goes: a postgresql:// URL, or a SQLite file path"
    )
    parser.add_argument(
        "--data-dir",
        help="copy the tasks' input files into this data folder's inputs/ (default: they "
        "stay in SOURCE's folder's inputs/)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="DEST may hold tasks already: skip those whose id it has, keep its settings, "
        "queue the moved pending tasks after its own",
    )
    parser.add_argument("--dry-run", action="store_true", help="check and report; store nothing")
    args = parser.parse_args(argv)
    logging.getLogger("task_scheduler").addHandler(logging.NullHandler())  # we say it once
    try:
        report = run(args.source, args.dest, args.data_dir, args.merge, args.dry_run)
    except MoveError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.code
    print("\n".join(report.lines()))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
