"""Random queue operations with checkpoint affinity keep the run order of a reference model.

The model of test_queue_model.py (the base order: priorities, moves, cancels) plus the rule of
README "Run order", written here independently of task_scheduler/core/affinity.py:
- only the lowest priority runs; a head placed by hand runs;
- else, among the head and the tasks behind it up to the first one placed by hand (at most
  WINDOW), the first one passed over MAX_PASSED times or first passed over MAX_WAIT ago runs;
- else the first one whose checkpoint is loaded (or that names none); else the head;
- the tasks ahead of the one that runs count one more pass.
Tasks for later (run_after) are candidates only once their time came; the order shown puts
them after every task ready before them (the clock jumping to their time when nothing else is
left). After every step, the order the queue shows (pending list and positions) must be the
order the model's claims would follow, and each claim must take the model's choice. A fake
clock.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from task_scheduler.core.affinity import Rules, loaded_key
from tests.core.test_queue_model import QueueModel, priorities
from tests.fakes import api_params

WINDOW, MAX_PASSED, MAX_WAIT = 4, 2, 600.0
checkpoints = st.sampled_from(["", "A.safetensors", "B.safetensors"])


class AffinityModel(QueueModel):
    def __init__(self):
        super().__init__()
        self.now = 1_800_000_000.0
        self.queue.clock = lambda: self.now
        rules = Rules(max_passed_over=MAX_PASSED, max_wait_seconds=MAX_WAIT, window=WINDOW)
        self.queue.affinity_rules = lambda: rules
        self.loaded: str | None = None
        self.queue.loaded_setup = lambda: (
            None if self.loaded is None else loaded_key(self.loaded, [], None)
        )
        self.checkpoint: dict[str, str] = {}
        self.by_hand: set[str] = set()
        self.passed: dict[str, int] = {}
        self.since: dict[str, float] = {}
        self.after: dict[str, float] = {}  # run_after of tasks for later

    # -- the reference rule ----------------------------------------------------------------

    def _choose(self, order, loaded, passed, since):
        head_id, head_priority = order[0]
        if head_id in self.by_hand:
            return 0
        segment = []
        for task_id, priority in order[:WINDOW]:
            if priority != head_priority or task_id in self.by_hand:
                break
            segment.append(task_id)
        for i, task_id in enumerate(segment):
            waited = task_id in since and self.now - since[task_id] >= MAX_WAIT
            if passed.get(task_id, 0) >= MAX_PASSED or waited:
                return i
        for i, task_id in enumerate(segment):
            if loaded is not None and self.checkpoint[task_id] in ("", loaded):
                return i
        return 0

    def _claims(self, order, loaded, passed, since, steps, jump=True):
        """What `steps` claims take, in turn; updates the given state as they would. With
        `jump`, the clock moves to the next task for later when nothing else is ready."""
        taken, now = [], self.now
        while len(taken) < steps and order:
            ready = [e for e in order if self.after.get(e[0], now) <= now]
            if not ready:
                if not jump:
                    break
                now = min(self.after[task_id] for task_id, _ in order)
                continue
            saved, self.now = self.now, now
            index = self._choose(ready, loaded, passed, since)
            self.now = saved
            for task_id, _ in ready[:index]:
                passed[task_id] = passed.get(task_id, 0) + 1
                since.setdefault(task_id, now)
            task_id = ready[index][0]
            order.remove(ready[index])
            loaded = self.checkpoint[task_id] or loaded
            taken.append(task_id)
        return taken, loaded

    # -- rules -------------------------------------------------------------------------------

    @rule(priority=priorities, checkpoint=checkpoints)
    def add_on(self, priority, checkpoint):
        task = self.queue.add_task(
            "txt2img", api_params(), priority=priority, checkpoint=checkpoint
        )
        self.checkpoint[task.id] = checkpoint
        self._insert_by_priority(task.id, priority)

    def add(self, priority):  # the base rule, for tasks on no checkpoint
        self.add_on(priority, "")

    @rule(priority=priorities, checkpoint=checkpoints, minutes=st.integers(-5, 30))
    def add_for_later(self, priority, checkpoint, minutes):
        run_after = self.now + minutes * 60
        task = self.queue.add_task(
            "txt2img", api_params(), priority=priority, checkpoint=checkpoint, run_after=run_after
        )
        self.checkpoint[task.id] = checkpoint
        self.after[task.id] = run_after
        self._insert_by_priority(task.id, priority)

    @precondition(lambda self: self.model)
    @rule(pick=st.integers(min_value=0), where=st.sampled_from(["top", "bottom", "up", "down"]))
    def move(self, pick, where):
        index, last = pick % len(self.model), len(self.model) - 1
        stays = last == 0 or (where, index) in (("up", 0), ("down", last))
        if not stays:  # a move that moves nothing does not place the task
            self.by_hand.add(self.model[index][0])
        super().move(pick, where)

    @precondition(lambda self: len(self.model) >= 2)
    @rule(pick=st.integers(min_value=0), anchor=st.integers(min_value=0))
    def move_before(self, pick, anchor):
        task_id = self.model[pick % len(self.model)][0]
        if task_id != self.model[anchor % len(self.model)][0]:
            self.by_hand.add(task_id)
        super().move_before(pick, anchor)

    @precondition(lambda self: self.model)
    @rule(pick=st.integers(min_value=0), priority=priorities)
    def reorder(self, pick, priority):
        self.by_hand.add(self.model[pick % len(self.model)][0])
        super().reorder(pick, priority)

    @rule(checkpoint=st.sampled_from([None, "A.safetensors", "B.safetensors"]))
    def user_loads(self, checkpoint):
        self.loaded = checkpoint

    @rule(minutes=st.integers(min_value=1, max_value=15))
    def time_passes(self, minutes):
        self.now += minutes * 60

    @rule()
    def claim(self):
        task = self.queue.claim_next()
        if not self.model:
            assert task is None
            return
        taken, self.loaded = self._claims(
            self.model, self.loaded, self.passed, self.since, 1, jump=False
        )
        assert (task.id if task else None) == (taken[0] if taken else None)
        if task is None:
            return
        self.queue.update_task_status(task.id, "completed")  # as the worker would

    @invariant()
    def run_order_matches_the_model(self):
        expected, _ = self._claims(
            list(self.model), self.loaded, dict(self.passed), dict(self.since), len(self.model)
        )
        assert [t.id for t in self.queue.get_pending_tasks()] == expected
        if expected:
            assert self.queue.position(expected[-1]) == len(expected)
            assert self.queue.position(expected[0]) == 1


AffinityModel.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_random_operations_follow_the_affinity_rule = AffinityModel.TestCase
