"""Input files and the tasks that list them always agree: a delete racing an enqueue that
reuses the same image never leaves the new task without its file, and a file damaged on disk
(a power loss before it reached the disk) is repaired by the next enqueue of the same bytes."""

from __future__ import annotations

import os
import threading

import pytest

from task_scheduler.core.files import FileStore, StagedFiles
from task_scheduler.core.queue_manager import QueueManager
from tests.fakes import api_params


@pytest.fixture
def files(tmp_path):
    return FileStore(tmp_path / "inputs")


@pytest.fixture
def queue(tmp_path, files):
    manager = QueueManager(tmp_path / "tasks.sqlite3", files_dir=files.root)
    yield manager
    manager.close()


def finished_task_using(queue: QueueManager, files: FileStore, data: bytes):
    name = files.put(data, "png")
    task = queue.add_task("img2img", api_params("old"), files=[name])
    queue.update_task_status(task.id, "running")
    queue.update_task_status(task.id, "completed")
    return task


def enqueue_reusing(queue: QueueManager, files: FileStore, data: bytes):
    """What every enqueue does: write (or find) the file, then store the task."""
    staged = StagedFiles(files)
    name = staged.put(data, "png")
    return queue.add_task("img2img", api_params("new"), files=[name], file_contents=staged.contents)


def assert_every_task_has_its_files(queue: QueueManager, files: FileStore) -> None:
    tasks = queue.list_tasks(limit=10_000).tasks
    missing = [(t.id, name) for t in tasks for name in t.files if not files.exists(name)]
    assert missing == []


@pytest.mark.parametrize("remove", ["delete", "clear completed", "retention prune"])
def test_an_enqueue_racing_a_delete_of_the_last_task_using_its_image_keeps_the_file(
    queue, files, remove
):
    removers = {
        "delete": lambda task: queue.delete_task(task.id),
        "clear completed": lambda _task: queue.clear_completed(),
        "retention prune": lambda _task: queue.prune_history(older_than_seconds=-60),
    }
    errors: list[BaseException] = []
    for round_ in range(150):
        data = f"image {round_}".encode()
        old = finished_task_using(queue, files, data)
        start = threading.Barrier(2)

        def run(action, start=start) -> None:
            try:
                start.wait()
                action()
            except BaseException as error:  # reported by the test's own thread
                errors.append(error)

        threads = [
            threading.Thread(target=run, args=(lambda d=data: enqueue_reusing(queue, files, d),)),
            threading.Thread(target=run, args=(lambda t=old: removers[remove](t),)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert queue.get_task(old.id) is None
    assert_every_task_has_its_files(queue, files)
    assert queue.counts()["pending"] == 150


def test_a_file_removed_between_writing_it_and_queueing_the_task_is_written_again(queue, files):
    data = b"the init image"
    old = finished_task_using(queue, files, data)
    staged = StagedFiles(files)
    name = staged.put(data, "png")  # the capture found the file already there ...
    queue.clear_completed()  # ... and the last task using it went away meanwhile
    assert queue.get_task(old.id) is None
    new = queue.add_task("img2img", api_params(), files=[name], file_contents=staged.contents)
    assert files.read(name) == data
    assert queue.get_task(new.id).files == [name]


def test_a_task_naming_a_missing_file_without_its_bytes_is_refused_and_nothing_stored(queue):
    with pytest.raises(ValueError, match="files: " + "b" * 64):
        queue.add_task("img2img", api_params(), files=["b" * 64 + ".png"])
    assert queue.list_tasks().total == 0


@pytest.mark.parametrize("damage", ["truncated", "emptied", "overwritten"])
def test_a_damaged_stored_file_is_repaired_by_the_next_enqueue_of_the_same_image(
    queue, files, damage
):
    data = os.urandom(4096)
    first = enqueue_reusing(queue, files, data)
    (name,) = first.files
    with open(files.path(name), "r+b") as handle:
        if damage == "truncated":
            handle.truncate(1000)
        elif damage == "emptied":
            handle.truncate(0)
        else:
            handle.write(b"\0" * 16)
    second = enqueue_reusing(queue, files, data)
    assert second.files == [name]
    assert files.read(name) == data  # both tasks replay the real image again
    assert [n for n in os.listdir(files.root) if n.startswith(".")] == []  # no temp left
