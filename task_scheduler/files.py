"""The data folder's input-file store: content-addressed files that tasks refer to by name.

Captured images (init images, masks, ControlNet inputs, batch uploads) are written here once,
named by their SHA-256, and listed in the task's `files`. The queue manager deletes a file when
the last task that lists it is deleted. Output images are never stored here.
"""

from __future__ import annotations

import hashlib
import os
import tempfile


class FileStore:
    """Plain files in one folder; names are `<sha256>.<ext>`, never paths."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = os.fspath(root)
        os.makedirs(self.root, exist_ok=True)

    @staticmethod
    def name_for(data: bytes, ext: str) -> str:
        """The name `put` gives these bytes: `<sha256 hex>.<ext>`."""
        ext = ext.lower().lstrip(".")
        if not ext.isalnum() or len(ext) > 8:
            raise ValueError(f"file extension {ext!r} is not allowed")
        return f"{hashlib.sha256(data).hexdigest()}.{ext}"

    def put(self, data: bytes, ext: str) -> str:
        """Store bytes (once per content) and return the file's name."""
        name = self.name_for(data, ext)
        path = self.path(name)
        if not os.path.exists(path):
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)  # atomic: a crash never leaves a half-written file
        return name

    def path(self, name: str) -> str:
        """The file's path; the name is checked so it can never point outside the folder."""
        return os.path.join(self.root, check_file_name(name))

    def read(self, name: str) -> bytes:
        with open(self.path(name), "rb") as handle:
            return handle.read()

    def exists(self, name: str) -> bool:
        return os.path.isfile(self.path(name))


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
