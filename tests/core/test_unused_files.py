"""Input files no task lists are collected at start-up, and nothing else is.

Real files in a real data folder; "start-up" is a new QueueManager on the same folder, in this
process or (for the race with an enqueue in flight) in another one. Files are aged with
os.utime instead of waiting for the grace period.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from task_scheduler.core.files import FileStore
from task_scheduler.core.queue_manager import QueueManager
from task_scheduler.core.queue_removal import UNUSED_FILE_GRACE_SECONDS
from tests.fakes import api_params

REPO = Path(__file__).resolve().parents[2]
LONG_AGO = time.time() - 2 * UNUSED_FILE_GRACE_SECONDS


@pytest.fixture
def folders(tmp_path):
    return tmp_path / "tasks.sqlite3", tmp_path / "inputs"


def start_up(folders) -> None:
    """Forge starting (again) on this data folder."""
    db_path, inputs = folders
    QueueManager(db_path, files_dir=inputs).close()


def start_up_in_another_process(folders) -> None:
    db_path, inputs = folders
    code = (
        "import sys; from task_scheduler.core.queue_manager import QueueManager; "
        "QueueManager(sys.argv[1], files_dir=sys.argv[2]).close()"
    )
    subprocess.run([sys.executable, "-c", code, str(db_path), str(inputs)], cwd=REPO, check=True)


def age(path: str | Path) -> None:
    os.utime(path, (LONG_AGO, LONG_AGO))


def test_a_file_left_by_a_failed_enqueue_is_removed_at_the_next_start(folders):
    db_path, inputs = folders
    queue = QueueManager(db_path, files_dir=inputs)
    name = queue.files.put(b"init image of a task never stored", "png")
    with pytest.raises(ValueError, match="priority"):
        queue.add_task("img2img", api_params("x"), files=[name], priority="high")
    queue.close()
    age(inputs / name)
    start_up(folders)
    assert not (inputs / name).exists()


def test_files_in_use_recent_or_not_ours_stay(folders):
    db_path, inputs = folders
    queue = QueueManager(db_path, files_dir=inputs)
    used = queue.files.put(b"used by a pending task", "png")
    queue.add_task("img2img", api_params("pending"), files=[used])
    finished = queue.files.put(b"used by a finished task", "png")
    done = queue.add_task("img2img", api_params("done"), files=[finished])
    queue.update_task_status(done.id, "running")
    queue.update_task_status(done.id, "completed", result_images=[str(inputs / "00001-7.png")])
    recent = queue.files.put(b"an enqueue still in flight wrote this", "png")
    queue.close()
    not_ours = {
        "00001-7.png": b"an output image someone saved here",  # Forge's naming
        "notes.txt": b"the user's",
        ("a" * 64).upper() + ".png": b"not a name we give (upper case)",
    }
    for file_name, data in not_ours.items():
        (inputs / file_name).write_bytes(data)
        age(inputs / file_name)
    age(inputs / used)
    age(inputs / finished)
    start_up(folders)
    for file_name in [used, finished, recent, *not_ours]:
        assert (inputs / file_name).exists(), file_name


def test_a_temporary_file_of_a_write_a_crash_interrupted_is_removed(folders):
    _, inputs = folders
    FileStore(inputs)
    leftover = inputs / ".incoming-k3j4h5"
    leftover.write_bytes(b"half an image")
    age(leftover)
    start_up(folders)
    assert not leftover.exists()


def test_an_enqueue_in_flight_in_another_process_keeps_the_old_file_it_reuses(folders):
    """The same image as an old orphan: the enqueue finds the file there and relies on it."""
    db_path, inputs = folders
    enqueuer = QueueManager(db_path, files_dir=inputs)
    orphan = enqueuer.files.put(b"the same init image", "png")
    age(inputs / orphan)  # an orphan from long ago

    name = enqueuer.files.put(b"the same init image", "png")  # the enqueue begins...
    start_up_in_another_process(folders)  # ...another Forge starts and collects...
    task = enqueuer.add_task("img2img", api_params("x"), files=[name])  # ...and it goes on
    assert (inputs / name).exists()
    assert enqueuer.get_task(task.id).files == [name]
    enqueuer.close()


def test_collection_after_the_grace_period_never_removes_a_file_a_task_lists(folders):
    db_path, inputs = folders
    queue = QueueManager(db_path, files_dir=inputs)
    name = queue.files.put(b"listed", "png")
    queue.add_task("img2img", api_params("x"), files=[name])
    age(inputs / name)
    assert queue.collect_unused_files() == []
    assert (inputs / name).exists()
    orphan = queue.files.put(b"unlisted", "png")
    age(inputs / orphan)
    assert queue.collect_unused_files() == [orphan]
    queue.close()
