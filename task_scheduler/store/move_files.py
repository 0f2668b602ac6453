"""The input files of a queue move (store/move.py): planned, copied durably into another data
folder, and put on a server destination."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any

from ..core.files import sync_folder
from .contract import Store
from .input_files import StoredInputFiles
from .move_report import EXIT_FAILED, MoveError, MoveReport

# -- input files -------------------------------------------------------------------------------


def _keep_in_store(dest: Store, conn: Any, names: Sequence[str], inputs_dir: str) -> None:
    """Put the tasks' input files into a server store too (store/input_files.py), in the move's
    transaction, so a Forge on any machine can run them; a file missing here is reported by
    the plan and fails its task when run, as it would have."""
    stored = StoredInputFiles(dest)
    for name in names:
        path = os.path.join(inputs_dir, name)
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                stored.keep(name, handle.read(), conn)


def _plan_files(
    report: MoveReport, names: Sequence[str], inputs_dir: str, copy_to: str | None
) -> None:
    """What the copy would do (--dry-run)."""
    report.files = len(names)
    for name in names:
        source_path = os.path.join(inputs_dir, name)
        if not os.path.isfile(source_path):
            report.files_missing.append(name)
        elif copy_to is not None:
            target = os.path.join(copy_to, name)
            if not os.path.exists(target):
                report.files_copied += 1
            elif _same_bytes(source_path, target):
                report.files_present += 1
            else:
                report.files_differing.append(name)


def _copy_files(
    report: MoveReport, names: Sequence[str], inputs_dir: str, copy_to: str | None
) -> list[str]:
    """Copy these input files to `copy_to` (durably, names unchanged); the names written."""
    created = []
    for name in names:
        source_path = os.path.join(inputs_dir, name)
        if not os.path.isfile(source_path):
            report.files_missing.append(name)
            continue
        if copy_to is None:
            continue
        target = os.path.join(copy_to, name)
        if os.path.exists(target):
            if _same_bytes(source_path, target):
                report.files_present += 1
            else:
                report.files_differing.append(name)
            continue
        try:
            _durable_copy(source_path, copy_to, name)
        except OSError as error:
            raise MoveError(
                EXIT_FAILED, f"could not copy input file {name} to {copy_to} ({error})"
            ) from None
        created.append(name)
        report.files_copied += 1
    return created


def _durable_copy(source_path: str, folder: str, name: str) -> None:
    """Write the file under `name` in `folder` as core/files.py does: a temporary file
    (`.incoming-`, collected if a crash leaves it), flushed, then renamed."""
    os.makedirs(folder, exist_ok=True)
    with open(source_path, "rb") as handle:
        data = handle.read()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _sync_folder(folder: str | None) -> None:
    if folder is not None:
        sync_folder(folder)


def _same_bytes(a: str, b: str) -> bool:
    try:
        if os.path.getsize(a) != os.path.getsize(b):
            return False
        with open(a, "rb") as first, open(b, "rb") as second:
            return first.read() == second.read()
    except OSError:
        return False


def same_dir(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)
