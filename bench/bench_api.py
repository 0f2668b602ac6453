"""Speed of the REST API over HTTP (real app, real queue, real SQLite file). Prints numbers.

Run: python bench/bench_api.py   (from the repository root, with the test environment)

Measures, through starlette's TestClient (in-process HTTP, no network): enqueue latency of a
typical txt2img body and of an img2img body with a 512x512 PNG init image, the first page of
GET /tasks and GET /queue with 10,000 tasks stored, and the size of that page.
"""

from __future__ import annotations

import base64
import io
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from task_scheduler.api import app as api
from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.files import FileStore
from task_scheduler.core.queue_manager import QueueManager
from task_scheduler.core.services import Catalog, Services

BODY = {
    "prompt": "a photograph of an astronaut riding a horse, highly detailed, 8k",
    "negative_prompt": "blurry, lowres",
    "steps": 20,
    "sampler_name": "Euler a",
    "scheduler": "Automatic",
    "cfg_scale": 7,
    "width": 512,
    "height": 512,
    "seed": -1,
}
CATALOG = Catalog(samplers=["Euler a"], schedulers=["Automatic"], checkpoints=["a.safetensors"])


class IdleHost:
    def run(self, task, on_progress):
        raise AssertionError("the bench never starts the worker")

    def interrupt(self):
        pass


def timed(call, repeat: int) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def png_base64(size: int) -> str:
    buffer = io.BytesIO()
    Image.effect_noise((size, size), 64).convert("RGB").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        queue = QueueManager(os.path.join(root, "tasks.sqlite3"), files_dir=root + "/inputs")
        services = Services(
            queue=queue,
            executor=TaskExecutor(queue, IdleHost()),
            files=FileStore(root + "/inputs"),
            catalog=lambda: CATALOG,
        )
        app = FastAPI()
        api.mount(app, services, None)
        client = TestClient(app)

        def enqueue():
            assert client.post("/task-scheduler/queue/txt2img", json=BODY).status_code == 201

        p50, p95 = timed(enqueue, 300)
        print(f"enqueue txt2img: p50 {p50:.2f} ms, p95 {p95:.2f} ms")

        image = png_base64(512)
        img2img = {**BODY, "init_images": [image]}

        def enqueue_image():
            response = client.post("/task-scheduler/queue/img2img", json=img2img)
            assert response.status_code == 201

        p50, p95 = timed(enqueue_image, 50)
        print(f"enqueue img2img, 512x512 PNG ({len(image) // 1024} KiB base64): "
              f"p50 {p50:.2f} ms, p95 {p95:.2f} ms")  # fmt: skip

        specs = [{"task_type": "txt2img", "params": {"source": "api", "payload": BODY}}] * 5000
        queue.add_tasks(specs)
        queue.add_tasks(specs[:4650])
        total = queue.counts()["pending"]
        page = client.get("/task-scheduler/tasks", params={"limit": 50})
        p50, p95 = timed(lambda: client.get("/task-scheduler/tasks", params={"limit": 50}), 50)
        print(f"GET /tasks first page of 50 with {total} tasks: p50 {p50:.2f} ms, "
              f"p95 {p95:.2f} ms, {len(page.content) // 1024} KiB")  # fmt: skip
        p50, p95 = timed(lambda: client.get("/task-scheduler/queue"), 50)
        print(f"GET /queue with {total} tasks: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
        search = {"search": "astronaut", "limit": 50, "offset": 5000}
        p50, p95 = timed(lambda: client.get("/task-scheduler/tasks", params=search), 20)
        print(f"GET /tasks search, page at offset 5000: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
        api.shutdown(services)
        queue.close()


if __name__ == "__main__":
    main()
