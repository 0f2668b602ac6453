"""Input files on a queue that several machines share (PostgreSQL): a task queued with an image
on one machine runs on another, whose data folder never had the file (store/input_files.py)."""

from __future__ import annotations

import os

import pytest

from task_scheduler.core.queue_manager import QueueManager

IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # any bytes: the store never decodes them


def _machine(db_path, folder):
    return QueueManager(db_path, files_dir=folder / "inputs")


@pytest.mark.backends
def test_a_file_queued_on_one_machine_is_read_on_another(db_path, backend, tmp_path):
    here = _machine(db_path, tmp_path / "machine-a")
    there = _machine(db_path, tmp_path / "machine-b")
    name = here.files.put(IMAGE, "png")
    task = here.add_task("img2img", {"init_images": [name]}, files=[name])
    # the other machine claims it; its data folder never saw the file
    claimed = there.claim_next()
    assert claimed.id == task.id
    assert not os.path.exists(tmp_path / "machine-b" / "inputs" / name)
    path = there.files.path(name)
    if backend == "sqlite":  # one file on one disk: there is nothing to fetch from
        assert not os.path.exists(path)
        return
    with open(path, "rb") as handle:
        assert handle.read() == IMAGE  # copied from the store into this machine's folder
    assert there.files.read(name) == IMAGE


def test_a_file_goes_from_the_store_with_the_last_task_that_lists_it(pg_url, tmp_path):
    db_path = pg_url  # a server store: a SQLite queue keeps its files in the data folder only
    here = _machine(db_path, tmp_path / "machine-a")
    there = _machine(db_path, tmp_path / "machine-b")
    name = here.files.put(IMAGE, "png")
    first = here.add_task("img2img", {"init_images": [name]}, files=[name])
    second = here.add_task("img2img", {"init_images": [name]}, files=[name])
    here.delete_task(first.id)
    assert there.files.read(name) == IMAGE  # still listed by the second task
    os.remove(there.files.path(name))  # as a fresh machine: nothing in its folder
    here.delete_task(second.id)
    assert here.files.shared.read(name) is None
    assert not os.path.exists(there.files.path(name))  # nothing left to fetch


def test_a_stored_file_that_does_not_match_its_name_is_not_used(pg_url, tmp_path):
    db_path = pg_url  # a server store: a SQLite queue keeps its files in the data folder only
    here = _machine(db_path, tmp_path / "machine-a")
    name = here.files.name_for(IMAGE, "png")
    here.files.shared.keep(name, b"other bytes")  # damaged or forged under that name
    there = _machine(db_path, tmp_path / "machine-b")
    assert not os.path.exists(there.files.path(name))


def test_files_no_task_lists_leave_the_store_at_start_up(pg_url, tmp_path):
    db_path = pg_url  # a server store: a SQLite queue keeps its files in the data folder only
    here = _machine(db_path, tmp_path / "machine-a")
    left = here.files.put(IMAGE, "png")  # an enqueue whose insert then failed
    kept = here.files.put(IMAGE + b"!", "png")
    here.add_task("img2img", {"init_images": [kept]}, files=[kept])
    here.collect_unused_files(grace_seconds=0)
    assert here.files.shared.read(left) is None
    assert here.files.shared.read(kept) == IMAGE + b"!"
