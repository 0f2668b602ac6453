"""Callback delivery: a JSON POST to the task's callback URL whenever a task ends.

The queue reports "finished" on the worker thread; the listener only snapshots the task and
hands it to a bounded in-memory queue. One sender thread posts with a timeout and a few
retries (exponential backoff) and records the outcome on the task (`callback_status`), so a
slow or dead receiver never delays the queue. Callbacks waiting when Forge stops are lost;
the task's status still says what happened.
"""

from __future__ import annotations

import contextlib
import logging
import queue as queue_module
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from .models import Task, TaskNotFoundError
from .queue_manager import QueueManager
from .services import Settings
from .views import image_url

log = logging.getLogger("task_scheduler")

_STOP = object()


def check_callback_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL, None for ""/None; ValueError otherwise."""
    if url is None or url == "":
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("callback_url: must be an absolute http:// or https:// URL")
    if any(char.isspace() for char in url):
        raise ValueError("callback_url: must not contain spaces")
    return url


def callback_body(task: Task, base_url: str) -> dict[str, Any]:
    """What the receiver gets: the outcome of one task."""
    return {
        "task_id": task.id,
        "status": task.status.value,
        "task_type": task.task_type,
        "name": task.name,
        "images": [image_url(task.id, n, base_url) for n in range(len(task.result_images))],
        "infotext": task.result_info,
        "seeds": list(task.result_seeds),
        "error": task.error,
        "completed_at": task.completed_at,
    }


class CallbackSender:
    """Posts callbacks off the worker thread. `start()` subscribes; `close()` stops the thread.

    - ``timeout``: seconds per attempt (connect and read).
    - ``attempts``: tries per callback; waits ``backoff``, 2x``backoff``, ... between them.
    - ``max_waiting``: callbacks queued beyond this are dropped (and the task says so).
    - ``default_base_url``: gives the prefix of image URLs for tasks that carry none (tasks
      queued in the UI): the API passes the base URL of the last request it served.

    A task's own `callback_url` wins; API tasks without one use Settings.callback_url.
    """

    def __init__(
        self,
        queue: QueueManager,
        settings: Callable[[], Settings] = Settings,
        *,
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 1.0,
        max_waiting: int = 1000,
        default_base_url: Callable[[], str] = str,
    ):
        self.queue = queue
        self.settings = settings
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.default_base_url = default_base_url
        self._waiting: queue_module.Queue = queue_module.Queue(maxsize=max_waiting)
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self.queue.subscribe(self._on_queue_event)
        self._thread = threading.Thread(
            target=self._run, name="task-scheduler-callbacks", daemon=True
        )
        self._thread.start()

    def close(self, timeout: float | None = 5.0) -> None:
        """Stop taking callbacks and end the thread (an attempt in flight may time out)."""
        self.queue.unsubscribe(self._on_queue_event)
        self._closing.set()
        with contextlib.suppress(queue_module.Full):  # then the thread sees _closing instead
            self._waiting.put_nowait(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)

    # -- on the worker thread: cheap ---------------------------------------------------------

    def _on_queue_event(self, event: str, task_id: str) -> None:
        if event != "finished":
            return
        task = self.queue.get_task(task_id)
        if task is None:
            return
        url = task.callback_url
        if not url and task.params.get("source") == "api":  # the setting is for API tasks
            url = self.settings().callback_url
        if not url:
            return
        base_url = str(task.params.get("base_url") or self.default_base_url())
        try:
            self._waiting.put_nowait((task_id, url, callback_body(task, base_url)))
        except queue_module.Full:
            log.warning("callback for task %s dropped: too many callbacks waiting", task_id)
            self._record(task_id, "not sent: too many callbacks waiting")

    # -- on the sender thread ----------------------------------------------------------------

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            while not self._closing.is_set():
                item = self._waiting.get()
                if item is _STOP:
                    break
                task_id, url, body = item
                self._record(task_id, self._deliver(client, url, body))

    def _deliver(self, client: httpx.Client, url: str, body: dict[str, Any]) -> str:
        """Post with retries; return the outcome text stored on the task."""
        failure = ""
        for attempt in range(1, self.attempts + 1):
            try:
                response = client.post(url, json=body)
                if 200 <= response.status_code < 300:
                    return f"delivered (HTTP {response.status_code}, attempt {attempt})"
                failure = f"HTTP {response.status_code}"
            except httpx.HTTPError as error:
                failure = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            except Exception as error:  # a malformed URL must not end the sender thread
                failure = f"{type(error).__name__}: {error}"
            if attempt < self.attempts and self._closing.wait(self.backoff * 2 ** (attempt - 1)):
                break
        log.warning("callback to %s failed: %s", url, failure)
        return f"failed after {attempt} attempt{'s' if attempt > 1 else ''}: {failure}"

    def _record(self, task_id: str, outcome: str) -> None:
        try:
            self.queue.set_fields(task_id, callback_status=outcome[:500])
        except TaskNotFoundError:
            pass  # deleted in the meantime
        except Exception:
            log.exception("could not record callback outcome for task %s", task_id)
