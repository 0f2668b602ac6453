"""The data folder's input-file store: content-addressed files that tasks refer to by name.

Captured images (init images, masks, ControlNet inputs, batch uploads) are written here once,
named by their SHA-256, and listed in the task's `files`. The queue manager deletes a file when
the last task that lists it is deleted, and at start-up collects files no task lists that have
not been written or reused for a grace period (left by an enqueue whose insert failed, or by a
crash). Output images are never stored here, and names not of our making are never touched.

A file and the task row that names it must agree after a crash or power loss (the row commits
with synchronous=FULL), so a file is flushed to disk, and its folder entry too, before `put`
returns; a file already there is checked against the bytes and rewritten when it differs.
Removing files and checking them at enqueue both happen inside the queue's write transaction
(see QueueManager), so a delete can never remove a file a task being queued relies on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

log = logging.getLogger("task_scheduler")

_OUR_NAME = re.compile(r"[0-9a-f]{64}\.[a-z0-9]{1,8}")  # what name_for gives
_INCOMING = ".incoming-"  # a write in progress (or one a crash interrupted)


class FileStore:
    """Plain files in one folder; names are `<sha256>.<ext>`, never paths."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = os.fspath(root)
        # With a server store (several machines), the files are kept in it too, and a file
        # missing here is read from it (store/input_files.py StoredInputFiles); else None.
        self.shared: Any = None
        try:
            os.makedirs(self.root, exist_ok=True)
        except OSError as error:  # a read-only data folder: writes fail later, with a reason
            log.error("could not create the input folder %s: %s", self.root, error)

    @staticmethod
    def name_for(data: bytes, ext: str) -> str:
        """The name `put` gives these bytes: `<sha256 hex>.<ext>`."""
        ext = ext.lower().lstrip(".")
        if not ext.isalnum() or len(ext) > 8:
            raise ValueError(f"file extension {ext!r} is not allowed")
        return f"{hashlib.sha256(data).hexdigest()}.{ext}"

    def put(self, data: bytes, ext: str) -> str:
        """Store bytes (once per content, durably) and return the file's name.

        A file of that name that is missing, truncated or corrupt is written again.
        """
        name = self.name_for(data, ext)
        path = self.path(name)
        if not _holds(path, data):
            self._write(path, data)
        else:
            _touch(path)  # a fresh time: start-up collection spares it while its task is stored
        if self.shared is not None:
            self.shared.keep(name, data)
        return name

    def path(self, name: str) -> str:
        """The file's path; the name is checked so it can never point outside the folder. A
        file another machine's Forge queued is first copied here from the store (shared)."""
        path = os.path.join(self.root, check_file_name(name))
        if self.shared is not None and not os.path.isfile(path):
            self._fetch(name, path)
        return path

    def _fetch(self, name: str, path: str) -> None:
        data = self.shared.read(name)
        if data is None:
            return  # the caller reports the missing file as it would without a store
        if self.name_for(data, name.rpartition(".")[2]) != name:
            log.error("input file %s in the store does not match its name; not used", name)
            return
        self._write(path, data)

    def read(self, name: str) -> bytes:
        with open(self.path(name), "rb") as handle:
            return handle.read()

    def exists(self, name: str) -> bool:
        return os.path.isfile(os.path.join(self.root, check_file_name(name)))

    def require(self, names: Iterable[str], contents: Mapping[str, bytes]) -> None:
        """Make sure every named file is here, writing a missing one from `contents`.

        Called inside the enqueue's write transaction, where no delete can run. Raises
        ValueError naming a file that is missing and not in `contents`.
        """
        for name in names:
            if self.exists(name):
                continue
            data = contents.get(name)
            if data is None or self.put(data, name.rpartition(".")[2]) != name:
                raise ValueError(f"files: {name} is not in the data folder")
            log.info("input file %s was removed meanwhile; written again", name)

    def remove(self, names: Iterable[str]) -> None:
        """Delete files (missing ones are fine); called inside the queue's write transaction."""
        names = list(names)
        if self.shared is not None:
            self.shared.forget(names)
        for name in names:
            try:
                os.remove(self.path(name))
            except FileNotFoundError:
                pass
            except OSError:
                log.exception("could not remove task input file %s", name)

    def stale_names(self, cutoff: float) -> list[str]:
        """Our files (and leftover temporary files) last written or reused before `cutoff`.

        Only names this store gives (`<sha256>.<ext>`) and its `.incoming-` temporaries are
        listed: anything else in the folder (a user's file, an output image) is never ours.
        """
        stale = []
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            log.exception("could not list the input folder %s", self.root)
            return []
        for entry in entries:
            if not (_OUR_NAME.fullmatch(entry.name) or entry.name.startswith(_INCOMING)):
                continue
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    stale.append(entry.name)
            except OSError:
                continue
        return sorted(stale)

    def remove_stale(self, names: Iterable[str], cutoff: float) -> list[str]:
        """Remove those of `names` still untouched since `cutoff`; return the removed ones.

        Called inside the queue's write transaction, after checking no task lists them: the
        time is read again, so a file an enqueue reused meanwhile stays.
        """
        removed = []
        for name in names:
            path = os.path.join(self.root, check_file_name(name))
            try:
                if os.stat(path, follow_symlinks=False).st_mtime >= cutoff:
                    continue
                os.remove(path)
            except FileNotFoundError:
                continue
            except OSError:
                log.exception("could not remove unused input file %s", name)
                continue
            removed.append(name)
        return removed

    def _write(self, path: str, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=_INCOMING)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)  # atomic: a crash never leaves a half-written file
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        sync_folder(self.root)


class StagedFiles:
    """A FileStore that remembers the bytes it stored, for `QueueManager.add_task`'s
    `file_contents`: the enqueue writes a file again if a delete removed it meanwhile."""

    def __init__(self, store: FileStore):
        self.store = store
        self.contents: dict[str, bytes] = {}

    def put(self, data: bytes, ext: str) -> str:
        name = self.store.put(data, ext)
        self.contents[name] = data
        return name


def _touch(path: str) -> None:
    try:
        os.utime(path)
    except OSError:  # a read-only folder still serves the file; the grace period is lost only
        log.warning("could not refresh the time of input file %s", path)


def _holds(path: str, data: bytes) -> bool:
    """Whether the file at `path` exists with exactly these bytes."""
    try:
        if os.path.getsize(path) != len(data):
            return False
        with open(path, "rb") as handle:
            return handle.read() == data
    except OSError:
        return False


def sync_folder(folder: str) -> None:
    """Flush the folder's entries (the new name) to disk; Windows cannot open a folder."""
    if os.name == "nt":  # pragma: no cover - Windows offers no fsync of a folder
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_file_name(name: str) -> str:
    """Input files are plain names inside the data folder: no directories, no way out."""
    if (
        not isinstance(name, str)
        or not name
        or name in (".", "..")
        or any(sep in name for sep in ("/", "\\", "\0", "\n"))
        or ":" in name
    ):
        raise ValueError(f"files: {name!r} is not a plain file name")
    return name
