"""Real faults for the reliability tests: a small tmpfs as the data folder (filled up, or
remounted read-only), a second process holding the database's write lock.

Mounting needs root (CI runs as root on this machine). Where `mount` is refused, a test
that needs it is skipped with the reason, except under CI=true, where it fails.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.api.conftest import ApiUnderTest, make_api  # noqa: F401 - a fixture used here
from tests.fakes import FakeHost

CHUNK = b"\0" * 65536


class SmallDisk:
    """A tmpfs mounted at `path`: `fill()` takes its free space (all of it, or all but
    `leave` bytes), `free_up()` gives it back; `read_only()` / `writable()` remount it."""

    def __init__(self, path: Path):
        self.path = path
        self.filler = path / "filler.bin"

    def free_bytes(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def fill(self, leave: int = 0) -> None:
        with open(self.filler, "ab", buffering=0) as handle:  # nothing left to flush at close
            try:
                for chunk in (CHUNK, CHUNK[:4096]):  # coarse, then page by page
                    while self.free_bytes() - len(chunk) >= leave:
                        handle.write(chunk)
                if leave == 0:  # the last bytes, down to the last block
                    while True:
                        handle.write(b"\0" * 512)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise

    def free_up(self) -> None:
        self.filler.unlink(missing_ok=True)

    def read_only(self) -> None:
        _mount("-o", "remount,ro", str(self.path))

    def writable(self) -> None:
        _mount("-o", "remount,rw", str(self.path))

    def files(self, folder: str = "inputs") -> list[str]:
        where = self.path / folder
        return sorted(os.listdir(where)) if where.exists() else []


MOUNT = shutil.which("mount") or "/bin/mount"
UMOUNT = shutil.which("umount") or "/bin/umount"


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MOUNT, *args], capture_output=True, text=True, check=False)


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Callable[[str], SmallDisk]]:
    """`small_disk("8m")`: a fresh tmpfs of that size (unmounted after the test)."""
    mounted: list[Path] = []

    def mount(size: str) -> SmallDisk:
        path = tmp_path / f"disk{len(mounted)}"
        path.mkdir()
        done = _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
        if done.returncode != 0:
            reason = f"cannot mount a tmpfs (needs root): {done.stderr.strip()}"
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        mounted.append(path)
        return SmallDisk(path)

    yield mount
    for path in mounted:
        _mount("-o", "remount,rw", str(path))
        if subprocess.run([UMOUNT, str(path)], check=False).returncode != 0:
            subprocess.run([UMOUNT, "-l", str(path)], check=False)


@pytest.fixture
def api_on(make_api, tmp_path) -> Callable[..., ApiUnderTest]:  # noqa: F811
    """`api_on(folder, **options)`: the API with its data folder there, outputs elsewhere."""

    def build(folder: Path, **options) -> ApiUnderTest:
        host = options.pop("host", None) or FakeHost(output_dir=str(tmp_path / "outputs"))
        return make_api(root=folder, host=host, **options)

    return build


LOCK_HOLDER = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    sys.stdin.readline()  # until the test lets go
    conn.execute("COMMIT")
    print("released", flush=True)
    """
)


@contextlib.contextmanager
def another_process_locking(db_path: Path) -> Iterator[subprocess.Popen]:
    """A second process holding `BEGIN EXCLUSIVE` on the database until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()


def short_busy_timeout(under_test: ApiUnderTest, seconds: float) -> None:
    """Wait at most `seconds` for another process's lock (Forge waits 30 s), on the
    connections already open too."""
    store = under_test.queue.store
    store.busy_timeout = seconds
    for conn in list(store._connections.values()):
        conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
