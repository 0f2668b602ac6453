"""What each store fault says: its status, its cause and its place; errors about other files
are not taken for faults of the store."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from task_scheduler.store.faults import fault_of


@pytest.mark.parametrize(
    ("error", "kind", "status", "says"),
    [
        (sqlite3.OperationalError("database or disk is full"), "full", 507, "disk space"),
        (OSError(errno.ENOSPC, "No space left on device"), "full", 507, "disk space"),
        (sqlite3.OperationalError("database is locked"), "locked", 503, "locked by another"),
        (sqlite3.DatabaseError("file is not a database"), "damaged", 503, "is damaged"),
        (sqlite3.DatabaseError("database disk image is malformed"), "damaged", 503, "damaged"),
        (sqlite3.OperationalError("attempt to write a readonly database"), "read-only", 503, ""),
    ],
)
def test_each_fault_names_its_cause_and_place(tmp_path, error, kind, status, says):
    db_path = str(tmp_path / "tasks.sqlite3")
    fault = fault_of(error, db_path)
    assert (fault.kind, fault.status) == (kind, status)
    assert says in str(fault)
    assert str(tmp_path) in str(fault)


def test_errors_that_are_not_about_the_store_are_left_alone(tmp_path):
    db_path = str(tmp_path / "data" / "tasks.sqlite3")
    elsewhere = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "peer.db"))
    assert fault_of(elsewhere, db_path) is None
    assert fault_of(sqlite3.OperationalError("no such table: foo"), db_path) is None
    assert fault_of(ValueError("prompt: must be text"), db_path) is None
    inside = OSError(errno.ENOSPC, "No space left", str(tmp_path / "data" / "inputs" / "x"))
    assert fault_of(inside, db_path).kind == "full"
