"""Random sequences of queue verbs keep the run order of a simple reference model.

The model is a plain list of (id, priority) in run order, priorities never decreasing:
- add(p): goes after the last task whose priority is <= p;
- top / bottom / up / down / before X: the task lands there and takes the priority of its
  new neighbour (so the list stays sorted by priority);
- reorder(p): like removing it and adding it again with priority p;
- cancel / delete / claim: it leaves the list (claim takes the head).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from task_scheduler.core.queue_manager import QueueManager
from tests.fakes import api_params

priorities = st.integers(min_value=-2, max_value=2)


class QueueModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        self.queue = QueueManager(Path(self._dir.name) / "q.sqlite3")
        self.model: list[tuple[str, int]] = []

    def teardown(self):
        self.queue.close()
        self._dir.cleanup()

    def _insert_by_priority(self, task_id: str, priority: int) -> None:
        index = sum(1 for _, p in self.model if p <= priority)
        self.model.insert(index, (task_id, priority))

    def _index(self, task_id: str) -> int:
        return [i for i, _ in self.model].index(task_id)

    def _place(self, task_id: str, index: int, neighbour: int) -> None:
        self.model.insert(index, (task_id, self.model[neighbour][1]))

    @rule(priority=priorities)
    def add(self, priority):
        task = self.queue.add_task("txt2img", api_params(), priority=priority)
        self._insert_by_priority(task.id, priority)

    @precondition(lambda self: self.model)
    @rule(pick=st.integers(min_value=0), where=st.sampled_from(["top", "bottom", "up", "down"]))
    def move(self, pick, where):
        index = pick % len(self.model)
        task_id, priority = self.model[index]
        self.queue.move_task(task_id, to=where)
        if len(self.model) == 1:
            return
        if where == "up" and index == 0 or where == "down" and index == len(self.model) - 1:
            return
        del self.model[index]
        if where == "top":
            self._place(task_id, 0, 0)
        elif where == "bottom":
            self.model.append((task_id, self.model[-1][1]))
        elif where == "up":
            self._place(task_id, index - 1, index - 1)
        else:
            self._place(task_id, index + 1, index)

    @precondition(lambda self: len(self.model) >= 2)
    @rule(pick=st.integers(min_value=0), anchor=st.integers(min_value=0))
    def move_before(self, pick, anchor):
        task_id = self.model[pick % len(self.model)][0]
        anchor_id = self.model[anchor % len(self.model)][0]
        self.queue.move_task(task_id, before=anchor_id)
        if task_id == anchor_id:
            return
        del self.model[self._index(task_id)]
        target = self._index(anchor_id)
        self._place(task_id, target, target)

    @precondition(lambda self: self.model)
    @rule(pick=st.integers(min_value=0), priority=priorities)
    def reorder(self, pick, priority):
        task_id = self.model.pop(pick % len(self.model))[0]
        self.queue.reorder_task(task_id, priority)
        self._insert_by_priority(task_id, priority)

    @precondition(lambda self: self.model)
    @rule(pick=st.integers(min_value=0), verb=st.sampled_from(["cancel", "delete"]))
    def remove(self, pick, verb):
        task_id = self.model.pop(pick % len(self.model))[0]
        if verb == "cancel":
            self.queue.cancel_task(task_id)
        else:
            self.queue.delete_task(task_id)

    @rule()
    def claim(self):
        task = self.queue.claim_next()
        if not self.model:
            assert task is None
            return
        assert task.id == self.model.pop(0)[0]

    @invariant()
    def run_order_matches_the_model(self):
        actual = [(t.id, t.priority) for t in self.queue.get_pending_tasks()]
        assert actual == self.model
        if self.model:
            last = self.model[-1][0]
            assert self.queue.position(last) == len(self.model)


QueueModel.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_random_queue_operations_keep_the_reference_run_order = QueueModel.TestCase
