"""Several instances on one queue (issue 12): names and leases on claims, abandoned tasks failed
exactly once, live instances, can-run. A fake clock, no sleeps; on a real SQLite file and on
PostgreSQL (tests marked `backends`, tests/backends.py)."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from task_scheduler.core.can_run import Capabilities, needs_of, waiting_reason
from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.instances import LEASE_SECONDS, RENEW_SECONDS
from task_scheduler.core.models import SHUTDOWN_ERROR
from task_scheduler.core.queue_manager import QueueManager
from task_scheduler.store import open_store, schema
from tests.fakes import FakeHost, api_params

pytestmark = pytest.mark.backends

T0 = 1_900_000_000.0


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _queue(db_path, name: str, clock: Clock) -> QueueManager:
    queue = QueueManager(db_path, recover=False)
    queue.clock = clock
    queue.instance.name = name
    return queue


def _sql(db_path, statement: str, args: tuple = ()) -> tuple | None:
    """One statement on the queue's store, whichever back-end (`?` placeholders)."""
    store = open_store(db_path)
    try:
        with store.transaction() as conn:
            cursor = conn.execute(statement, args)
            return tuple(cursor.fetchone()) if statement.startswith("SELECT") else None
    finally:
        store.close()


def _row(db_path, task_id: str) -> tuple:
    return _sql(
        db_path, "SELECT status, instance, lease_until, error FROM tasks WHERE id = ?", (task_id,)
    )


def test_schema_v4_adds_instance_lease_and_the_instances_table_to_a_v3_file(tmp_path):
    path = tmp_path / "v3.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for step in schema.MIGRATIONS[:3]:
        step(conn)
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    queue = QueueManager(path)
    assert queue.store.schema_version() == schema.SCHEMA_VERSION >= 4
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(tasks)")}
        assert {"instance", "lease_until"} <= columns
        assert conn.execute("SELECT COUNT(*) FROM instances").fetchone() == (0,)


def test_a_claim_records_the_instance_name_and_a_lease(db_path):
    clock = Clock()
    queue = _queue(db_path, "gpu0", clock)
    task = queue.add_task("txt2img", api_params())
    assert queue.claim_next().id == task.id
    assert _row(db_path, task.id) == ("running", "gpu0", T0 + LEASE_SECONDS, None)


def test_an_expired_lease_is_failed_with_the_shutdown_error_by_another_instance(db_path):
    clock = Clock()
    owner, other = _queue(db_path, "gpu0", clock), _queue(db_path, "gpu1", clock)
    task = owner.add_task("txt2img", api_params())
    owner.claim_next()
    clock.now = T0 + LEASE_SECONDS - 1
    assert other.instance.fail_abandoned() == []  # still within its lease
    clock.now = T0 + LEASE_SECONDS + 1
    assert other.instance.fail_abandoned() == [task.id]
    status, instance, _, error = _row(db_path, task.id)
    assert (status, instance, error) == ("failed", "gpu0", SHUTDOWN_ERROR)
    assert other.instance.fail_abandoned() == []  # exactly once


def test_a_renewed_lease_keeps_the_task_running_past_its_first_lease(db_path):
    clock = Clock()
    owner, other = _queue(db_path, "gpu0", clock), _queue(db_path, "gpu1", clock)
    task = owner.add_task("txt2img", api_params())
    owner.claim_next()
    for beat in range(1, 9):  # two minutes of renewals every 15 s
        clock.now = T0 + beat * RENEW_SECONDS
        assert owner.instance.beat(task.id) is True
        assert other.instance.fail_abandoned() == []
    assert _row(db_path, task.id)[0] == "running"
    assert _row(db_path, task.id)[2] == clock.now + LEASE_SECONDS


def test_eight_instances_sweeping_at_once_fail_an_expired_task_exactly_once(db_path):
    clock = Clock()
    owner = _queue(db_path, "gpu0", clock)
    tasks = [owner.add_task("txt2img", api_params(str(i))) for i in range(5)]
    for _ in tasks:
        owner.claim_next()
    sweepers = [_queue(db_path, f"gpu{i}", clock) for i in range(1, 9)]
    clock.now = T0 + LEASE_SECONDS + 1
    barrier = threading.Barrier(len(sweepers))
    failed: list[str] = []

    def sweep(queue: QueueManager) -> None:
        barrier.wait()
        failed.extend(queue.instance.fail_abandoned())

    threads = [threading.Thread(target=sweep, args=(q,)) for q in sweepers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(failed) == sorted(t.id for t in tasks)  # each once, none twice


def test_a_task_whose_process_on_this_machine_is_gone_fails_before_its_lease_ends(db_path):
    clock = Clock()
    owner, other = _queue(db_path, "gpu0", clock), _queue(db_path, "gpu1", clock)
    task = owner.add_task("txt2img", api_params())
    owner.claim_next()
    host = owner.owner.split(":")[0]
    # a claim by a process that no longer exists
    _sql(db_path, "UPDATE tasks SET claimed_by = ? WHERE id = ?", (f"{host}:0:x:y", task.id))
    assert other.instance.fail_abandoned() == [task.id]


def test_a_task_of_another_machine_lives_exactly_as_long_as_its_lease(db_path):
    clock = Clock()
    queue = _queue(db_path, "here", clock)
    task = queue.add_task("txt2img", api_params())
    queue.claim_next()
    _sql(db_path, "UPDATE tasks SET claimed_by = 'elsewhere:1:t:s' WHERE id = ?", (task.id,))
    assert queue.instance.fail_abandoned() == []
    clock.now = T0 + LEASE_SECONDS
    assert queue.instance.fail_abandoned() == [task.id]


def test_a_worker_whose_lease_was_lost_stops_its_task_and_leaves_it_failed(db_path):
    clock = Clock()
    owner, other = _queue(db_path, "gpu0", clock), _queue(db_path, "gpu1", clock)
    gate = threading.Event()
    host = FakeHost(gate=gate)
    executor = TaskExecutor(owner, host)
    task = owner.add_task("txt2img", api_params())
    executor.start()
    try:
        assert host.started.wait(10)
        clock.now = T0 + LEASE_SECONDS + 1  # the heartbeat was late: another instance sweeps
        assert other.instance.fail_abandoned() == [task.id]
        executor._beat()  # the owner's next heartbeat finds its lease gone
        executor.shutdown(timeout=10)
    finally:
        gate.set()
        executor.shutdown(timeout=10)
    assert _row(db_path, task.id)[0] == "failed"
    assert owner.get_task(task.id).error == SHUTDOWN_ERROR
    assert host.steps_run.get(task.id, 0) == 0  # stopped before its first step


def test_live_instances_are_those_whose_heartbeat_is_within_the_lease(db_path):
    clock = Clock()
    first, second = _queue(db_path, "gpu0", clock), _queue(db_path, "gpu1", clock)
    first.instance.beat()
    clock.now = T0 + 30
    second.instance.beat()
    assert sorted(first.instance.live()) == ["gpu0", "gpu1"]
    assert [i["name"] for i in second.instance.listing() if i["this"]] == ["gpu1"]
    clock.now = T0 + LEASE_SECONDS + 1  # gpu0 stopped beating
    assert sorted(first.instance.live()) == ["gpu1"]
    second.instance.leave()
    assert first.instance.live() == {}


def test_an_instance_leaves_a_task_whose_checkpoint_it_lacks_to_the_one_that_has_it(db_path):
    clock = Clock()
    a, b = _queue(db_path, "gpu0", clock), _queue(db_path, "gpu1", clock)
    a.instance.capabilities = Capabilities.of(checkpoints=["randA.safetensors [abc]"])
    b.instance.capabilities = Capabilities.of(checkpoints=["sub/randB.safetensors"])
    a.instance.beat()
    b.instance.beat()
    on_b = a.add_task("txt2img", api_params("b"), checkpoint="randB.safetensors")
    on_a = a.add_task("txt2img", api_params("a"), checkpoint="randA")
    assert a.claim_next().id == on_a.id  # passes over the task it cannot run
    assert a.claim_next() is None
    assert b.claim_next().id == on_b.id


def test_a_task_no_live_instance_can_run_waits_and_says_why(db_path):
    clock = Clock()
    a, b = _queue(db_path, "gpu0", clock), _queue(db_path, "gpu1", clock)
    a.instance.capabilities = Capabilities.of(checkpoints=["randA.safetensors"], loras=["x"])
    b.instance.capabilities = Capabilities.of(checkpoints=["randB.safetensors"], loras=[])
    a.instance.beat()
    b.instance.beat()
    task = a.add_task("txt2img", api_params("<lora:y:1>"), checkpoint="randB.safetensors")
    assert a.claim_next() is None
    assert b.claim_next() is None
    reason = a.instance.waiting_reasons([a.get_task(task.id)])[task.id]
    assert reason == (
        "Waiting: no live instance can run it (gpu0 lacks checkpoint randB.safetensors, "
        "LoRA y; gpu1 lacks LoRA y)"
    )


def test_an_instance_alone_runs_every_task_as_a_single_forge_does(db_path):
    clock = Clock()
    a = _queue(db_path, "gpu0", clock)
    a.instance.capabilities = Capabilities.of(checkpoints=["randA.safetensors"])
    a.instance.beat()
    task = a.add_task("txt2img", api_params(), checkpoint="randB.safetensors")
    assert a.instance.waiting_reasons([task]) == {}
    assert a.claim_next().id == task.id  # fails when run, naming the checkpoint (as today)


def test_needs_name_loras_from_prompts_and_recorded_styles_and_enabled_controlnet_units():
    params = api_params(
        "<lora:detail:0.5> a cat",
        styles=["s"],
        alwayson_scripts={
            "ControlNet": {
                "args": [
                    {"enabled": True, "model": "cn_canny [1234]"},
                    {"enabled": False, "model": "cn_depth"},
                ]
            }
        },
    )
    params["resources"] = {"styles": {"s": ["<lora:styled:1>", ""]}}
    needs = needs_of("models/randA.safetensors [ff]", params, {})
    assert needs.checkpoint == "randA.safetensors"
    assert needs.loras == ("detail", "styled")
    assert needs.controlnets == ("cn_canny",)
    has = {"a": Capabilities.of(["randA.safetensors"], ["detail"], ["cn_canny [1234]"])}
    has["b"] = Capabilities()  # cannot tell: can run anything
    assert waiting_reason(needs, has) is None


def test_capabilities_survive_the_stored_json_and_unknown_lists_stay_unknown():
    has = Capabilities.of(checkpoints=["a.safetensors"], loras=None, controlnets=[])
    again = Capabilities.from_json(has.to_json())
    assert again == has
    assert again.loras is None
    assert again.controlnets == frozenset()
    assert Capabilities.from_json("not json") == Capabilities()


def test_a_worker_registers_its_instance_and_leaves_when_it_ends(db_path):
    queue = QueueManager(db_path)
    queue.instance.name = "gpu7"
    executor = TaskExecutor(queue, FakeHost())
    executor.launch()
    try:
        for _ in range(200):
            if "gpu7" in queue.instance.live():
                break
            threading.Event().wait(0.01)
        assert "gpu7" in queue.instance.live()
    finally:
        executor.shutdown(timeout=10)
    assert "gpu7" not in queue.instance.live()


def test_a_task_this_instance_can_run_behind_a_full_window_of_others_is_not_starved(db_path):
    clock = Clock()
    a, b = _queue(db_path, "gpu0", clock), _queue(db_path, "gpu1", clock)
    a.instance.capabilities = Capabilities.of(checkpoints=["randA.safetensors"])
    b.instance.capabilities = Capabilities.of(checkpoints=["randB.safetensors"])
    a.instance.beat()
    b.instance.beat()
    for i in range(40):  # more than the claim's window of 32
        a.add_task("txt2img", api_params(f"b{i}"), checkpoint="randB.safetensors")
    mine = a.add_task("txt2img", api_params("a"), checkpoint="randA.safetensors")
    assert a.claim_next().id == mine.id
