"""Noticing writes to a SQLite file by other connections and processes (`wait_for_change`).

`PRAGMA data_version` on a connection that never writes changes whenever another connection
commits a change to the file, whatever its process; reading it costs microseconds, and a
transaction that changed nothing (an idle claim) leaves it alone, so idle workers never wake
each other up. It is read every POLL_SECONDS.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time

POLL_SECONDS = 0.25  # a change is seen within this (plus the waiter's reaction)


class DataVersionWatch:
    """A read-only connection of its own whose data_version moves with others' commits."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._seen: int | None = None
        self._pid = os.getpid()

    def wait(self, timeout: float) -> bool:
        """True as soon as a commit by another connection is seen since the previous call
        (the first call only takes note), False after `timeout` seconds without one."""
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            if self._changed():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(POLL_SECONDS, left))

    def _changed(self) -> bool:
        with self._lock:
            if self._pid != os.getpid():  # a forked child never shares its parent's connection
                self._conn, self._seen, self._pid = None, None, os.getpid()
            if self._conn is None:
                self._conn = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False
                )
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            seen, self._seen = self._seen, version
            return seen is not None and version != seen

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._seen = None
