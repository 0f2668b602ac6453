"""Hostile bodies, and a server process whose memory peak can be read while they arrive.

    python -m tests.api.hostile_server DATA_DIR

serves the API (the real app, store and worker with the fake host, as tests/api/conftest.py
builds it) on uvicorn, on a free local port, and prints {"port": N} once it accepts
connections; it runs until its stdin closes. Its peak resident memory is the VmHWM line of
/proc/<pid>/status (`peak_mb`), so the cost of one request is the peak after it minus the
peak before it, with nothing of the client's in the figure.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

TASK = b'{"task_type":"txt2img","params":{"source":"api","payload":{"prompt":"x"}}}'


def import_doc(tasks: bytes) -> bytes:
    return b'{"format":"sd-forge-task-scheduler","version":1,"tasks":[' + tasks + b"]}"


def _one_task(payload_tail: bytes) -> bytes:
    """An import document of one API task whose payload ends with `payload_tail`."""
    task = b'{"task_type":"txt2img","params":{"source":"api","payload":{"prompt":"x",'
    return import_doc(task + payload_tail + b"}}}")


def many_tasks() -> tuple[str, bytes]:
    """800,000 tasks (57 MB), where 10,000 at most are taken."""
    return "/import", import_doc(b",".join([TASK] * 800_000))


def tiny_values() -> tuple[str, bytes]:
    """One task holding 19 million empty objects (54 MB): 1.3 GB were it parsed."""
    return "/import", _one_task(b'"comments":{"x":[' + b"{}," * 19_000_000 + b"{}]}")


def deep_list() -> tuple[str, bytes]:
    """A list nested 100,000 deep in a task's payload."""
    return "/import", _one_task(b'"script_args":' + b"[" * 100_000 + b"]" * 100_000)


def huge_prompt() -> tuple[str, bytes]:
    """A 50 MB prompt in an imported task."""
    task = b'{"task_type":"txt2img","params":{"source":"api","payload":{"prompt":"'
    return "/import", import_doc(task + b"a" * 50_000_000 + b'"}}}')


def enqueue_tiny_values() -> tuple[str, bytes]:
    """A txt2img body holding 19 million empty objects in `comments` (54 MB)."""
    return "/queue/txt2img", b'{"prompt":"x","comments":{"x":[' + b"{}," * 19_000_000 + b"{}]}}"


BODIES: dict[str, Callable[[], tuple[str, bytes]]] = {
    "many_tasks": many_tasks,
    "tiny_values": tiny_values,
    "deep_list": deep_list,
    "huge_prompt": huge_prompt,
    "enqueue_tiny_values": enqueue_tiny_values,
}


def peak_mb(pid: int) -> float:
    """Peak resident memory of process `pid` so far (Linux)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def serve(data_dir: str) -> None:
    import uvicorn
    from fastapi.testclient import TestClient

    from tests.api.conftest import build_api

    app, services, _host = build_api(Path(data_dir))
    warm_up = TestClient(app).post("/task-scheduler/import", json={"tasks": [json.loads(TASK)]})
    assert warm_up.status_code == 201, warm_up.text
    services.queue.delete_task(warm_up.json()["tasks"][0]["id"])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    print(json.dumps({"port": listener.getsockname()[1]}), flush=True)
    sys.stdin.read()  # until the test closes our stdin
    server.should_exit = True
    thread.join(30)
    services.executor.shutdown(timeout=5)


if __name__ == "__main__":
    serve(sys.argv[1])
