"""Checkpoint affinity: fewer model loads, the user's order kept, unfairness bounded.

Real SQLite files and the real worker thread; the only stand-in is the fake host, which
"loads" a model whenever a task needs another setup (tests/fakes.py). Time is a fake clock.
"""

from __future__ import annotations

from task_scheduler.core import affinity
from task_scheduler.core.affinity import Rules
from task_scheduler.core.executor import TaskExecutor
from tests.core.test_executor import WAIT, Finished
from tests.fakes import FakeHost, api_params


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _alternating(queue, count: int = 12) -> list[str]:
    names = ["A.safetensors", "B.safetensors"]
    return [
        queue.add_task("txt2img", api_params(f"t{i}"), checkpoint=names[i % 2]).id
        for i in range(count)
    ]


def _run_all(queue, host, count: int) -> list[str]:
    finished = Finished(queue)
    executor = TaskExecutor(queue, host)
    executor.start()
    try:
        finished.wait_for(count)
    finally:
        executor.shutdown(timeout=WAIT, interrupt=True)
    return host.ran


def test_twelve_tasks_on_two_checkpoints_load_each_checkpoint_once(queue):
    ids = _alternating(queue)
    host = FakeHost()
    shown = [t.id for t in queue.get_pending_tasks()]
    ran = _run_all(queue, host, 12)
    assert host.loads == 2
    assert host.load_log == ["A.safetensors", "B.safetensors"]
    assert ran == ids[0::2] + ids[1::2]
    assert ran == shown  # the order shown before the run is the order the worker followed


def test_with_grouping_off_every_switch_loads_a_model(queue):
    queue.affinity_rules = lambda: Rules(enabled=False)
    ids = _alternating(queue)
    host = FakeHost()
    assert _run_all(queue, host, 12) == ids
    assert host.loads == 12


def test_tasks_on_the_loaded_checkpoint_go_first_and_positions_say_so(queue):
    ids = _alternating(queue, 4)  # A B A B
    queue.loaded_setup = lambda: affinity.loaded_key("B.safetensors [0123abcd]", [], None)
    assert [t.id for t in queue.get_pending_tasks()] == [ids[1], ids[3], ids[0], ids[2]]
    assert [queue.position(i) for i in ids] == [3, 1, 4, 2]
    assert queue.claim_next().id == ids[1]


def test_a_lower_priority_number_is_never_overtaken(queue):
    first = queue.add_task("txt2img", api_params("urgent"), checkpoint="A.safetensors")
    other = queue.add_task("txt2img", api_params("later"), checkpoint="B.safetensors", priority=1)
    queue.loaded_setup = lambda: affinity.loaded_key("B.safetensors", [], None)
    assert queue.claim_next().id == first.id
    assert queue.claim_next().id == other.id


def test_a_task_moved_to_the_top_runs_next_whatever_is_loaded(queue):
    ids = _alternating(queue, 6)
    queue.loaded_setup = lambda: affinity.loaded_key("A.safetensors", [], None)
    queue.move_task(ids[5], to="top")  # a B task
    assert queue.position(ids[5]) == 1
    assert queue.claim_next().id == ids[5]


def test_tasks_behind_a_hand_placed_task_never_jump_over_it(queue):
    ids = _alternating(queue, 6)  # A B A B A B
    queue.move_task(ids[3], before=ids[1])  # B3 placed by hand before B1: A0 B3 B1 A2 A4 B5
    queue.loaded_setup = lambda: affinity.loaded_key("B.safetensors", [], None)
    order = [t.id for t in queue.get_pending_tasks()]
    assert order.index(ids[3]) == 1  # B3 keeps its place
    assert order[0] == ids[0]  # A0, ahead of it, cannot be passed by tasks behind it
    claimed = [queue.claim_next().id for _ in range(6)]
    assert claimed == order


def test_a_priority_change_counts_as_placed_by_hand(queue):
    ids = _alternating(queue, 4)
    queue.edit_task(ids[2], priority=-1)
    assert queue.get_task(ids[2]).placed_by_hand
    assert not queue.get_task(ids[0]).placed_by_hand
    queue.edit_task(ids[0], name="renamed")  # not a placement
    assert not queue.get_task(ids[0]).placed_by_hand


def test_no_task_is_passed_over_more_than_the_setting_allows(queue):
    queue.affinity_rules = lambda: Rules(max_passed_over=3)
    lonely = queue.add_task("txt2img", api_params("B"), checkpoint="B.safetensors")
    others = [
        queue.add_task("txt2img", api_params(f"A{i}"), checkpoint="A.safetensors").id
        for i in range(8)
    ]
    queue.loaded_setup = lambda: affinity.loaded_key("A.safetensors", [], None)
    shown = [t.id for t in queue.get_pending_tasks()]
    claimed = [queue.claim_next().id for _ in range(9)]
    assert claimed == shown
    assert claimed.index(lonely.id) == 3  # passed over 3 times, then it ran
    assert claimed[:3] == others[:3]


def test_no_task_waits_longer_than_the_setting_allows(queue):
    clock = FakeClock()
    queue.clock = clock
    queue.affinity_rules = lambda: Rules(max_passed_over=100, max_wait_seconds=30 * 60)
    lonely = queue.add_task("txt2img", api_params("B"), checkpoint="B.safetensors")
    for i in range(5):
        queue.add_task("txt2img", api_params(f"A{i}"), checkpoint="A.safetensors")
    queue.loaded_setup = lambda: affinity.loaded_key("A.safetensors", [], None)
    assert queue.claim_next().id != lonely.id  # passed over: the clock starts
    clock.now += 29 * 60
    assert queue.claim_next().id != lonely.id
    assert queue.get_task(lonely.id).passed_over == 2
    clock.now += 60
    assert queue.position(lonely.id) == 1
    assert queue.claim_next().id == lonely.id


def test_vae_and_text_encoders_are_part_of_the_setup():
    ui = {"top_bar": {"modules": ["/m/VAE/ae.safetensors"], "unet_storage_dtype": "Automatic"}}
    key = affinity.setup_key("flux.safetensors [abc]", ui)
    assert affinity.matches(
        key, affinity.loaded_key("flux.safetensors", ["ae.safetensors"], "Automatic")
    )
    assert not affinity.matches(key, affinity.loaded_key("flux.safetensors", [], "Automatic"))
    assert affinity.matches("", affinity.loaded_key("x.safetensors", [], None))  # any will do
    assert not affinity.matches(key, None)  # nothing known loaded: no preference


def test_the_settings_reach_the_claim(queue, tmp_path):
    from task_scheduler.core.files import FileStore
    from task_scheduler.core.services import Services
    from task_scheduler.forge.settings import settings_from_options

    config = {
        "task_scheduler_group_by_checkpoint": False,
        "task_scheduler_affinity_max_passed_over": "3",
        "task_scheduler_affinity_max_wait_minutes": -5,
    }
    settings = settings_from_options(lambda key, default: config.get(key, default), "/data")
    assert settings.affinity_rules == Rules(enabled=False, max_passed_over=3, max_wait_seconds=0)
    defaults = settings_from_options(lambda _key, default: default, "/data").affinity_rules
    assert defaults == Rules(enabled=True, max_passed_over=8, max_wait_seconds=1800)
    Services(queue, TaskExecutor(queue, FakeHost()), FileStore(tmp_path), lambda: settings)
    ids = _alternating(queue, 4)
    queue.loaded_setup = lambda: affinity.loaded_key("B.safetensors", [], None)
    assert [t.id for t in queue.get_pending_tasks()] == ids  # grouping off: arrival order
