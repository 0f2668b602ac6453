"""The run order as the worker will follow it: the claim's rule (affinity.choose) replayed.

The claim and every place shown (the tab, GET /queue, `position`) use these reads and the same
rule, so a shown order is the order the worker takes while nothing changes. Each read is
bounded: a page or a place needs only the base-order rows up to it, plus the rule's reach
(`Rules.window` candidates, a task overtaken at most `Rules.max_passed_over` times).
"""

from __future__ import annotations

from ..store.contract import Connection, Store
from . import affinity
from .affinity import Candidate, Rules


def claim_window(store: Store, conn: Connection, rules: Rules) -> list[Candidate]:
    """The first ready tasks in base order, as many as the rule looks at (the claim's read)."""
    return store.ready_candidates(max(rules.window, 1), conn)


def plan(
    store: Store,
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
    held = store.held_candidates()
    due = [t for t in held if t.run_after is not None and t.run_after <= now]
    limit = -1
    if count is not None:
        limit = count + rules.window
    elif until is not None:
        ahead = store.ready_ahead(until)
        if ahead is not None:
            limit = ahead + len(due) + rules.max_passed_over + rules.window + 1
    ready = store.ready_candidates(limit)
    truncated = limit >= 0 and len(ready) >= limit
    if due:  # "not before" came, not yet released by a claim: ready as well
        ready = sorted([*ready, *due], key=lambda t: (t.priority, t.position))
    later = [] if truncated else [t for t in held if t not in due]
    return affinity.plan(ready, later, loaded, now, rules, count=count, until=until)
