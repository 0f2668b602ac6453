"""The callback outbox: callbacks owed to receivers, kept in the store until settled.

Mixed into QueueManager. A callback is owed (one row per task and event) when its task ends,
and settled (row deleted, outcome written to the task's `callback_status`) in one transaction,
so a callback is never owed again once it has an outcome, and a stop of Forge between the two
leaves it owed: it is sent after the restart. Delivery is therefore at least once; the
`(task id, event)` key goes with every POST so a receiver can drop a duplicate.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store.contract import Store

_OUTCOME_LIMIT = 500


@dataclass(frozen=True)
class OwedCallback:
    task_id: str
    event: str  # the task's final status: completed, failed or cancelled
    url: str
    body: dict[str, Any]
    attempts: int  # made so far

    @property
    def idempotency_key(self) -> str:
        """The same on every attempt and after a restart: `<task id>:<event>`."""
        return f"{self.task_id}:{self.event}"


class OutboxVerbs:
    """Owing, taking and settling callbacks; needs `store` and `_notify` (QueueManager)."""

    store: Store

    def _notify(self, event: str, task_id: str) -> None:
        raise NotImplementedError

    def owe_callback(self, task_id: str, event: str, url: str, body: dict[str, Any]) -> bool:
        """Owe a callback, due now; False when the task is gone, its callback already has an
        outcome, or the same callback is owed already (so an event and a start-up pick-up
        racing each other owe it once)."""
        now = time.time()
        with self.store.transaction() as conn:
            task = self.store.get(task_id, conn)
            if task is None or task.callback_status is not None:
                return False
            text = json.dumps(body, ensure_ascii=False)
            return self.store.outbox_add(conn, task_id, event, url, text, now)

    def take_due_callback(self, lease_seconds: float) -> OwedCallback | None:
        """The callback due first, leased for `lease_seconds`: another sender (a second
        process on the same file) skips it meanwhile, and when this one dies mid-attempt
        the lease runs out and it is sent again."""
        now = time.time()
        with self.store.transaction() as conn:
            row = self.store.outbox_first_due(conn, now)
            if row is None:
                return None
            self.store.outbox_set_due(conn, row[0], row[1], now + lease_seconds)
        task_id, event, url, body, attempts = row
        return OwedCallback(task_id, event, url, _body(body), attempts)

    def next_callback_due_at(self) -> float | None:
        """When the next owed callback is due (None when none is owed)."""
        return self.store.outbox_next_due()

    def callback_retry_later(self, owed: OwedCallback, failure: str, due_at: float) -> None:
        """Count a failed attempt and try again at `due_at`."""
        with self.store.transaction() as conn:
            failure = failure[:_OUTCOME_LIMIT]
            self.store.outbox_set_due(conn, owed.task_id, owed.event, due_at, failure)

    def settle_callback(self, owed: OwedCallback, outcome: str) -> None:
        """Final: the callback is no longer owed and the task says how it went."""
        with self.store.transaction() as conn:
            self.store.outbox_remove(conn, owed.task_id, owed.event)
            changed = self.store.get(owed.task_id, conn) is not None
            if changed:
                fields = {"callback_status": outcome[:_OUTCOME_LIMIT]}
                self.store.update(conn, owed.task_id, fields)
        if changed:
            self._notify("updated", owed.task_id)

    def owed_callbacks(self) -> list[dict[str, Any]]:
        """What is owed, for display and tests: key, url, attempts, last error, due time."""
        return self.store.outbox_rows()


def _body(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {}
