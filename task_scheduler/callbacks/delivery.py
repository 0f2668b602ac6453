"""Callback delivery: a JSON POST to the task's callback URL whenever a task ends.

The queue reports "finished" on the worker thread; the listener only snapshots the task into
the store's outbox (queue_outbox.py). One sender thread posts what the outbox owes, with a
timeout and a few attempts (exponential backoff with jitter, the due time kept in the store),
and records the outcome on the task (`callback_status`), so a slow or dead receiver never
delays the queue.

Owed callbacks are not lost: the outbox survives a stop of Forge (a callback waiting for its
next attempt, or one whose POST a crash cut off, is sent after the restart), and on start the
sender also owes the callbacks of finished tasks that have no outcome and no outbox row yet
(failed by start-up recovery before the sender existed, or finished during a Reload UI).
Delivery is therefore at least once; every POST carries `Idempotency-Key: <task id>:<event>`
so a receiver can drop a duplicate.

Allowed hosts: with the callback host allow-list set (Settings.callback_hosts,
callbacks/hosts.py), a URL to another host is refused when queued and is never contacted
(checked again before each attempt: the list may have changed since).

Local targets: while Forge's `api_forbid_local_requests` is on (Settings.forbid_local_requests),
a URL naming a local address is refused when queued (`check_callback_url`), and at delivery
the host is resolved, every address checked, and the POST sent to the checked address (no
second lookup a DNS rebinding could answer differently).
"""

from __future__ import annotations

import ipaddress
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..core.models import Task
from ..core.queue_manager import QueueManager
from ..core.queue_outbox import OwedCallback
from ..core.services import Settings
from ..core.views import image_url
from ..store.faults import fault_of
from . import pinned_post
from .hosts import SETTING_LABEL, HostNotAllowedError, check_allowed, is_allowed

log = logging.getLogger("task_scheduler")

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Owed callbacks to the *default* URL are picked up only this recent: the setting may have
# been set long after older API tasks ended, which were never meant to call it.
OWED_DEFAULT_SECONDS = 86400.0
LOCAL_REFUSED = "local address refused (Forge's api_forbid_local_requests option is on)"
ALLOW_LIST_REFUSED = f"host not on the callback host allow-list (Settings: {SETTING_LABEL})"


class LocalAddressError(ValueError):
    """The callback URL reaches a local address while local requests are forbidden."""


def check_callback_url(
    url: str | None, forbid_local: bool = False, allowed_hosts: str = ""
) -> str | None:
    """The URL if it is an absolute http(s) URL, None for ""/None; ValueError otherwise.

    With `forbid_local`, a URL whose host is clearly local (a non-global IP address in any
    notation, or a localhost name) is refused too, without any DNS lookup; a name that only
    resolves to a local address is refused at delivery. With `allowed_hosts` (the allow-list
    setting, callbacks/hosts.py), a host not on the list is refused (HostNotAllowedError).
    """
    if url is None or url == "":
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("callback_url: must be an absolute http:// or https:// URL")
    if any(char.isspace() for char in url):
        raise ValueError("callback_url: must not contain spaces")
    if forbid_local and _clearly_local(parts.hostname):
        raise LocalAddressError(f"callback_url: {LOCAL_REFUSED}")
    check_allowed(url, allowed_hosts)
    return url


def is_local(address: str) -> bool:
    """Forge's rule (modules/api/api.py verify_url): anything not globally routable."""
    return not ipaddress.ip_address(address.split("%")[0]).is_global


def _clearly_local(hostname: str) -> bool:
    name = hostname.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:  # numeric hosts only (127.1, 0x7f000001, ::1 ...): no DNS lookup here
        infos = socket.getaddrinfo(name, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return False
    return any(is_local(info[4][0]) for info in infos)


def resolve_checked(hostname: str, port: int, local: Callable[[str], bool] = is_local) -> list[str]:
    """The addresses to connect to: `hostname` resolved once, every address checked.

    LocalAddressError if any address is local (as Forge refuses a name with one local
    address); socket.gaierror if it does not resolve.
    """
    infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses or any(local(address) for address in addresses):
        raise LocalAddressError(LOCAL_REFUSED)
    return addresses


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
    - ``attempts``: tries per callback; waits about ``backoff``, 2x``backoff``, ... between
      them, each wait drawn from half to one and a half times that (jitter: receivers that
      come back are not hit by every sender at once).
    - ``rng``: the jitter's random source (a seeded one in tests).
    - ``lease_seconds``: how long a callback taken for an attempt is left to this sender;
      after a crash mid-attempt it is sent again once this has passed.
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
        default_base_url: Callable[[], str] = str,
        rng: random.Random | None = None,
        lease_seconds: float | None = None,
        is_local: Callable[[str], bool] = is_local,
        ssl_context: ssl.SSLContext | None = None,
    ):
        self.queue = queue
        self.is_local = is_local  # which addresses api_forbid_local_requests keeps out
        self.ssl_context = ssl_context  # None: the system's CAs
        self.settings = settings
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.default_base_url = default_base_url
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        # A row taken for an attempt is skipped by other senders this long; longer than any
        # attempt (a name may resolve to a few addresses, each tried with the timeout).
        self.lease_seconds = lease_seconds or 3 * timeout + 30.0

    def start(self) -> None:
        """Subscribe, start the thread, then hand over the callbacks still owed."""
        if self._thread is not None:
            return
        self.queue.subscribe(self._on_queue_event)
        self._thread = threading.Thread(
            target=self._run, name="task-scheduler-callbacks", daemon=True
        )
        self._thread.start()
        try:
            self._pick_up_owed()
        except Exception:
            log.exception("could not look for callbacks owed from before start")

    def _pick_up_owed(self) -> None:
        """Finished tasks with no callback outcome yet (subscribing first, so a task
        finishing meanwhile is offered by its event or here, and owed once: the outbox's
        key is the task and its event)."""
        owed = self.queue.store.unsettled_callbacks(time.time() - OWED_DEFAULT_SECONDS)
        for task_id in owed:
            self._offer(task_id)
        if owed:
            log.info("callbacks: %d task(s) finished before delivery started", len(owed))

    def close(self, timeout: float | None = 5.0) -> None:
        """Stop taking callbacks and end the thread (an attempt in flight may time out).
        What is still owed stays in the outbox for the next start."""
        self.queue.unsubscribe(self._on_queue_event)
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- on the worker thread: cheap ---------------------------------------------------------

    def _on_queue_event(self, event: str, task_id: str) -> None:
        if event == "finished":
            self._offer(task_id)

    def _offer(self, task_id: str) -> None:
        task = self.queue.get_task(task_id)
        if task is None or task.callback_status is not None:
            return
        url = task.callback_url
        if not url and task.params.get("source") == "api":  # the setting is for API tasks
            url = self.settings().callback_url
        if not url:
            return
        base_url = str(task.params.get("base_url") or self.default_base_url())
        body = callback_body(task, base_url)
        if self.queue.owe_callback(task_id, task.status.value, url, body):
            self._wake.set()

    # -- on the sender thread ----------------------------------------------------------------

    def _run(self) -> None:
        verify = self.ssl_context or True
        with httpx.Client(timeout=self.timeout, follow_redirects=False, verify=verify) as client:
            reported = None  # the store fault last logged: once, not every attempt
            while not self._closing.is_set():
                self._wake.clear()  # before looking: a callback owed meanwhile wakes us
                try:
                    owed = self.queue.take_due_callback(self.lease_seconds)
                    if owed is None:
                        due = self.queue.next_callback_due_at()
                        self._wake.wait(None if due is None else max(0.0, due - time.time()))
                        continue
                    self._attempt(client, owed)
                except Exception as error:  # e.g. the store locked beyond its timeout
                    fault = fault_of(error, self.queue.store.path)
                    if fault is None:
                        log.exception("callback sender error; retrying shortly")
                    elif str(fault) != reported:  # owed callbacks stay in the outbox
                        log.warning("callbacks wait for the store: %s", fault)
                    reported = None if fault is None else str(fault)
                    self._closing.wait(max(self.backoff, 0.1) if fault is None else 5.0)

    def _attempt(self, client: httpx.Client, owed: OwedCallback) -> None:
        """One POST; settle the callback (delivered, refused, given up) or schedule the next."""
        attempt = owed.attempts + 1
        headers = {IDEMPOTENCY_HEADER: owed.idempotency_key}
        try:
            status = self._post(client, owed.url, owed.body, headers)
            if 200 <= status < 300:
                outcome = f"delivered (HTTP {status}, attempt {attempt})"
                self.queue.settle_callback(owed, outcome)
                return
            failure = f"HTTP {status}"
        except (LocalAddressError, HostNotAllowedError) as error:
            log.warning("callback to %s not sent: %s", owed.url, error)
            self.queue.settle_callback(owed, f"not sent: {error}")
            return
        except httpx.HTTPError as error:
            failure = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        except Exception as error:  # a malformed URL must not end the sender thread
            failure = f"{type(error).__name__}: {error}"
        if attempt >= self.attempts:
            log.warning("callback to %s failed: %s", owed.url, failure)
            plural = "s" if attempt > 1 else ""
            self.queue.settle_callback(owed, f"failed after {attempt} attempt{plural}: {failure}")
            return
        due_at = time.time() + self.retry_delay(attempt)
        self.queue.callback_retry_later(owed, failure, due_at)

    def retry_delay(self, attempt: int) -> float:
        """Seconds before the attempt after `attempt`: exponential, with jitter."""
        return self.backoff * 2 ** (attempt - 1) * self.rng.uniform(0.5, 1.5)

    def _post(
        self, client: httpx.Client, url: str, body: dict[str, Any], headers: dict[str, str]
    ) -> int:
        """One POST, its HTTP status. With local requests forbidden: to an address just
        checked, tried in order, through pinned_post (the URL's host stays in the Host
        header and in TLS SNI and certificate checks), so no second lookup can answer
        differently. The host allow-list is read again first: it may have been tightened
        since the task was queued."""
        if not is_allowed(url, self.settings().callback_hosts):
            raise HostNotAllowedError(ALLOW_LIST_REFUSED)
        if not self.settings().forbid_local_requests:
            return client.post(url, json=body, headers=headers).status_code
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = resolve_checked(host, port, self.is_local)
        except socket.gaierror as error:
            raise httpx.ConnectError(f"cannot resolve {host}: {error}") from None
        for address in addresses:
            try:
                return pinned_post.post_json(
                    url, address, body, headers, self.timeout, self.ssl_context
                )
            except httpx.ConnectError:
                if address == addresses[-1]:
                    raise
        raise AssertionError("unreachable: resolve_checked returns at least one address")
