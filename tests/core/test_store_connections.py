"""Threads come and go (FastAPI and Gradio retire idle worker threads): the store's open
connections and file descriptors stay bounded by the live threads, not by every thread ever."""

from __future__ import annotations

import os
import threading

import pytest

from tests.fakes import api_params


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.backends
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_500_short_lived_threads_leave_no_connections_or_descriptors_behind(queue):
    queue.add_task("txt2img", api_params("read by every thread"))
    generation_size = 10
    before = open_descriptors()
    errors: list[BaseException] = []
    for _ in range(50):  # 50 generations of 10 threads: 500 threads, each reads the queue
        start = threading.Barrier(generation_size)

        def read_queue(start: threading.Barrier = start) -> None:
            try:
                start.wait()  # all 10 alive at once, each with its own connection
                assert queue.counts()["pending"] == 1
            except BaseException as error:  # reported below, in the test's thread
                errors.append(error)

        threads = [threading.Thread(target=read_queue) for _ in range(generation_size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    # At most one connection per thread of the last generation plus this one's (SQLite: 3 fds
    # each, the database, its WAL and its shared memory; PostgreSQL: 1 socket); 500 leaked
    # connections would be ~1000 (PostgreSQL: 500 and the server's limit long before).
    assert open_descriptors() - before <= 3 * (generation_size + 1)
    assert queue.get_pending_tasks()[0].params == api_params("read by every thread")
