"""The store verbs for several Forge instances on one queue (issue 12): the instances table,
running tasks' leases, and noticing another process's writes (`wait_for_change`).

`InstanceVerbs(store)` works on any store of the contract (store/contract.py: `transaction()`,
`conn`, `clock`, `wait_for_change`); its SQL is standard (`?` placeholders, no SQLite-only
functions), so both back-ends run it. The rules (who is live, when a lease has expired, what
a claim may take) live in core/instances.py; these are the statements they need.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InstanceRow:
    """One instance serving the queue (a row of `instances`)."""

    name: str
    claimed_by: str  # its process (process_liveness claim string)
    started_at: float
    seen_at: float  # its last heartbeat
    lease_until: float  # live until then, unless it renews
    resources: str  # JSON: what it can run (can_run.Capabilities.to_json)
    address: str = ""


@dataclass(frozen=True)
class RunningClaim:
    """A running task and who vouches for it."""

    task_id: str
    claimed_by: str | None
    started_at: float | None
    lease_until: float | None
    instance: str | None


class InstanceVerbs:
    """The verbs, bound to one store (TaskStore or another back-end's store)."""

    def __init__(self, store: Any):
        self.store = store

    def transaction(self) -> AbstractContextManager[Any]:
        return self.store.transaction()

    @property
    def conn(self) -> Any:
        return self.store.conn

    def clock(self) -> float:
        return self.store.clock()

    # -- instances -----------------------------------------------------------------------------

    def renew_instance(
        self,
        name: str,
        claimed_by: str,
        lease_until: float,
        resources: str | None = None,
        address: str | None = None,
    ) -> str | None:
        """Insert or renew an instance's row (`resources` / `address` None: keep the stored
        ones). Returns the process of *another* live instance that holds this name, if any (two
        instances given the same name: the caller warns)."""
        now = self.clock()
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT claimed_by, lease_until FROM instances WHERE name = ?", (name,)
            ).fetchone()
            clash = row[0] if row and row[0] != claimed_by and row[1] > now else None
            if row is None or row[0] != claimed_by:  # a new process under this name
                conn.execute("DELETE FROM instances WHERE name = ?", (name,))
                conn.execute(
                    "INSERT INTO instances (name, claimed_by, started_at, seen_at, "
                    "lease_until, resources, address) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (name, claimed_by, now, now, lease_until, resources or "{}", address or ""),
                )
            else:
                conn.execute(
                    "UPDATE instances SET seen_at = ?, lease_until = ?, "
                    "resources = COALESCE(?, resources), address = COALESCE(?, address) "
                    "WHERE name = ?",
                    (now, lease_until, resources, address, name),
                )
        return clash

    def leave_instance(self, name: str, claimed_by: str) -> None:
        """An instance that stops serving the queue is no longer live (its row stays, for the
        tab's "last seen")."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE instances SET lease_until = ? "
                "WHERE name = ? AND claimed_by = ? AND lease_until > ?",
                (self.clock(), name, claimed_by, self.clock()),
            )

    def instances(self, live_at: float | None = None, conn: Any = None) -> list[InstanceRow]:
        """Every instance ever registered by name, or only those live at `live_at`."""
        where, args = ("WHERE lease_until > ?", [live_at]) if live_at is not None else ("", [])
        rows = (
            (conn or self.conn)
            .execute(
                "SELECT name, claimed_by, started_at, seen_at, lease_until, resources, address "
                f"FROM instances {where} ORDER BY name",
                args,
            )
            .fetchall()
        )
        return [InstanceRow(*row) for row in rows]

    def task_needs_rows(self, conn: Any, task_ids: Sequence[str]) -> list[tuple]:
        """(id, checkpoint, params, script_args) of tasks: what the can-run rule reads."""
        if not task_ids:
            return []
        marks = ", ".join("?" for _ in task_ids)
        return conn.execute(
            f"SELECT id, checkpoint, params, script_args FROM tasks WHERE id IN ({marks})",
            list(task_ids),
        ).fetchall()

    # -- leases of running tasks ---------------------------------------------------------------

    def renew_task_lease(self, task_id: str, claimed_by: str, lease_until: float) -> bool:
        """Extend a running task's lease; False when the task is no longer running under this
        claim (finished, or failed by another instance after its lease expired)."""
        with self.transaction() as conn:
            changed = conn.execute(
                "UPDATE tasks SET lease_until = ? "
                "WHERE id = ? AND status = 'running' AND claimed_by = ?",
                (lease_until, task_id, claimed_by),
            ).rowcount
        return changed == 1

    def stamp_claim(self, conn: Any, task_id: str, instance: str, lease_until: float) -> None:
        """Name the instance and start the lease of a task being claimed (claim's transaction)."""
        conn.execute(
            "UPDATE tasks SET instance = ?, lease_until = ? WHERE id = ?",
            (instance, lease_until, task_id),
        )

    def running_leases(self, conn: Any) -> list[RunningClaim]:
        """Every running task with its claim and lease (inside the sweep's transaction)."""
        rows = conn.execute(
            "SELECT id, claimed_by, started_at, lease_until, instance FROM tasks "
            "WHERE status = 'running'"
        ).fetchall()
        return [RunningClaim(*row) for row in rows]

    def fail_running(self, conn: Any, claim: RunningClaim, error: str, now: float) -> bool:
        """Fail a running task *only if* it is still running under the claim that was judged
        (the conditional UPDATE that makes "exactly once" hold whoever else tries)."""
        changed = conn.execute(
            "UPDATE tasks SET status = 'failed', error = ?, completed_at = ? "
            "WHERE id = ? AND status = 'running' AND COALESCE(claimed_by, '') = ? "
            "AND COALESCE(lease_until, -1) = ?",
            (
                error,
                now,
                claim.task_id,
                claim.claimed_by or "",
                -1 if claim.lease_until is None else claim.lease_until,
            ),
        ).rowcount
        return changed == 1

    # -- noticing other processes' writes ------------------------------------------------------

    def wait_for_change(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a write to the queue by any connection (another
        process's included): the store's own verb (SQLite: PRAGMA data_version,
        sqlite_changes.py; PostgreSQL: LISTEN/NOTIFY). True as soon as one is seen since the
        previous call; may answer True for a write that changed nothing the caller cares about.
        """
        return bool(self.store.wait_for_change(timeout))
