"""The run order as the worker will follow it: the claim's rule (affinity.choose) replayed.

The claim and every place shown (the tab, GET /queue, `position`) use these reads and the same
rule, so a shown order is the order the worker takes while nothing changes. Each read is
bounded: a page or a place needs only the base-order rows up to it, plus the rule's reach
(`Rules.window` candidates, a task overtaken at most `Rules.max_passed_over` times).
"""

from __future__ import annotations

import sqlite3

from ..store.sqlite import READY
from . import affinity
from .affinity import CANDIDATE_COLUMNS, Candidate, Rules

_READY = f"SELECT {CANDIDATE_COLUMNS} FROM tasks t {READY} ORDER BY t.priority, t.position LIMIT ?"
_HELD = (
    f"SELECT {CANDIDATE_COLUMNS} FROM tasks t INDEXED BY tasks_held "
    "WHERE t.status = 'pending' AND t.held = 1 ORDER BY t.run_after"
)


def claim_window(conn: sqlite3.Connection, rules: Rules) -> list[Candidate]:
    """The first ready tasks in base order, as many as the rule looks at (the claim's read)."""
    return [affinity.candidate(r) for r in conn.execute(_READY, (max(rules.window, 1),))]


def running_setup(conn: sqlite3.Connection) -> str | None:
    """The setup of the task running now (loaded once it ends), or None."""
    row = conn.execute(
        "SELECT setup FROM tasks WHERE status = 'running' ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    return None if row is None else row[0]


def plan(
    conn: sqlite3.Connection,
    loaded: str | None,
    now: float,
    rules: Rules,
    count: int | None = None,
    until: str | None = None,
) -> list[str]:
    """Pending task ids in run order (all, the first `count`, or up to `until`).

    `loaded`: what the next claim will find loaded. Call inside a snapshot when other reads
    must agree with it.
    """
    held = [affinity.candidate(r) for r in conn.execute(_HELD)]
    due = [t for t in held if t.run_after is not None and t.run_after <= now]
    limit = -1
    if count is not None:
        limit = count + rules.window
    elif until is not None:
        ahead = _ready_ahead(conn, until)
        if ahead is not None:
            limit = ahead + len(due) + rules.max_passed_over + rules.window + 1
    ready_rows = conn.execute(_READY, (limit,)).fetchall()
    truncated = limit >= 0 and len(ready_rows) >= limit
    ready = [affinity.candidate(r) for r in ready_rows]
    if due:  # "not before" came, not yet released by a claim: ready as well
        ready = sorted([*ready, *due], key=lambda t: (t.priority, t.position))
    later = [] if truncated else [t for t in held if t not in due]
    return affinity.plan(ready, later, loaded, now, rules, count=count, until=until)


def _ready_ahead(conn: sqlite3.Connection, task_id: str) -> int | None:
    """How many ready tasks come before a ready task in base order; None when it is held."""
    row = conn.execute(
        "SELECT priority, position, held FROM tasks WHERE id = ? AND status = 'pending'",
        (task_id,),
    ).fetchone()
    if row is None or row[2]:
        return None
    return conn.execute(
        "SELECT COUNT(*) FROM tasks t INDEXED BY tasks_ready WHERE t.status = 'pending' "
        "AND t.held = 0 AND (t.priority, t.position) < (?, ?)",
        (row[0], row[1]),
    ).fetchone()[0]
