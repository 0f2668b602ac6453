"""An API under test: the real FastAPI app, queue, worker and file store, with the fake host."""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from task_scheduler.api import app as api
from task_scheduler.callbacks.delivery import CallbackSender
from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.files import FileStore
from task_scheduler.core.queue_manager import QueueManager
from task_scheduler.core.services import Catalog, Services, Settings
from tests.fakes import FakeHost

CATALOG = Catalog(
    samplers=["Euler", "Euler a", "DPM++ 2M"],
    schedulers=["Automatic", "automatic", "Karras", "karras", "Uniform", "uniform"],
    checkpoints=["randA.safetensors [0123456789]", "randB.safetensors [abcdef0123]"],
    upscalers=["Latent", "Latent (nearest)", "R-ESRGAN 4x+"],
    scripts={
        "txt2img": ["Prompt matrix", "X/Y/Z plot", "Sampler", "Seed", "ControlNet"],
        "img2img": ["Prompt matrix", "X/Y/Z plot", "Sampler", "Seed", "ControlNet", "Loopback"],
    },
)
USERS = {"alice": "wonder land", "bob": "pässwörd"}
WAIT = 30.0  # generous: tests wait on conditions, never on fixed sleeps


def png_base64(color=(200, 30, 30), size=(16, 16)) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass
class ApiUnderTest:
    client: TestClient
    services: Services
    host: FakeHost
    tmp_path: object
    settings: dict = field(default_factory=dict)

    @property
    def queue(self) -> QueueManager:
        return self.services.queue

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        done = threading.Event()

        def check(*_args) -> None:
            if condition():
                done.set()

        self.queue.subscribe(check)
        try:
            check()
            # events wake us; the periodic re-check covers changes made by other threads' reads
            deadline = WAIT
            while not done.wait(0.05):
                deadline -= 0.05
                check()
                assert deadline > 0, f"timed out waiting for {what}"
        finally:
            self.queue.unsubscribe(check)

    def wait_status(self, task_id: str, *statuses: str) -> dict:
        self.wait_for(
            lambda: (t := self.queue.get_task(task_id)) is not None and t.status.value in statuses,
            f"task {task_id} to become {statuses}",
        )
        return self.client.get(f"/task-scheduler/tasks/{task_id}").json()


def build_api(
    tmp_path,
    credentials: dict[str, str] | None = None,
    host: FakeHost | None = None,
    settings: Settings | None = None,
    callback_options: dict | None = None,
) -> tuple[FastAPI, Services, FakeHost]:
    queue = QueueManager(tmp_path / "tasks.sqlite3", files_dir=tmp_path / "inputs")
    host = host or FakeHost(output_dir=str(tmp_path / "outputs"))
    services = Services(
        queue=queue,
        executor=TaskExecutor(queue, host),
        files=FileStore(tmp_path / "inputs"),
        settings=lambda: settings or Settings(),
        catalog=lambda: CATALOG,
    )
    app = FastAPI()
    options = {"timeout": 5.0, "attempts": 3, "backoff": 0.05, **(callback_options or {})}
    sender = CallbackSender(queue, services.settings, **options)
    api.mount(app, services, credentials, callback_sender=sender)
    return app, services, host


@pytest.fixture
def make_api(tmp_path) -> Iterator[Callable[..., ApiUnderTest]]:
    built: list[ApiUnderTest] = []

    def make(root=None, **kwargs) -> ApiUnderTest:
        root = root or tmp_path
        app, services, host = build_api(root, **kwargs)
        client = TestClient(app)
        if kwargs.get("credentials"):
            client.auth = ("alice", USERS["alice"])
        under_test = ApiUnderTest(client, services, host, root)
        built.append(under_test)
        return under_test

    yield make
    for under_test in built:
        if under_test.host.gate is not None:
            under_test.host.gate.set()
        under_test.services.executor.shutdown(timeout=WAIT, interrupt=True)
        api.shutdown(under_test.services)
        under_test.services.queue.close()


@pytest.fixture
def app_api(make_api) -> ApiUnderTest:
    return make_api()


class PausingHost(FakeHost):
    """The fake host, paused part-way through a task (step 1 of 4) until `release` is set."""

    def __init__(self, output_dir: str):
        super().__init__(output_dir=output_dir)
        self.release = threading.Event()
        self.paused = threading.Event()

    def run(self, task, on_progress, cancel):
        from task_scheduler.core.host import Progress, RunResult

        self._interrupt.clear()
        self.ran.append(task.id)
        on_progress(Progress(step=1, total_steps=4, image=0, total_images=2, text="sampling"))
        self.paused.set()
        while not self.release.wait(0.01):
            if self._interrupt.is_set() or cancel.cancelled:
                return RunResult(interrupted=True)
        self.paused.clear()
        self.release.clear()
        return super().run(task, on_progress, cancel)


@pytest.fixture
def paused_api(make_api, tmp_path) -> Iterator[tuple[ApiUnderTest, PausingHost]]:
    host = PausingHost(str(tmp_path / "outputs"))
    under_test = make_api(host=host)
    yield under_test, host
    host.release.set()
