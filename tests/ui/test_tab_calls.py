"""The tab's Gradio calls without a browser: change detection, edits, moves, infotext."""

from __future__ import annotations

import json

import pytest

from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.files import FileStore
from task_scheduler.core.services import Services
from task_scheduler.ui import commands
from task_scheduler.ui.infotext import infotext
from tests.fakes import FakeHost
from tests.ui.app import CATALOG, ui_params


@pytest.fixture
def services(queue, tmp_path):
    executor = TaskExecutor(queue, FakeHost())
    yield Services(queue, executor, FileStore(tmp_path / "in"), catalog=lambda: CATALOG)
    executor.shutdown(timeout=5)


def _add(services, prompt, **options):
    params, script_args = ui_params(prompt, **options)
    return services.queue.add_task("txt2img", params, script_args=script_args)


def _act(services, **request):
    return json.loads(commands.act(services, json.dumps(request)))


def _poll(services, seen=None):
    request = {"seen": seen, "view": {"filter": "all", "limit": 50, "offset": 0}}
    return json.loads(commands.poll(services, json.dumps(request)))


def test_the_list_is_sent_only_when_the_queue_changed(services):
    _add(services, "first")
    reply = _poll(services)
    assert [row["prompt"] for row in reply["list"]["rows"]] == ["first"]
    version = reply["status"]["version"]
    assert _poll(services, seen=version)["list"] is None
    _add(services, "second")
    assert len(_poll(services, seen=version)["list"]["rows"]) == 2


def test_rows_show_run_order_places_with_a_running_task_and_under_a_search(services):
    running = _add(services, "a cat running")
    pending = [_add(services, name) for name in ("a dog", "a cat one", "a bird", "a cat two")]
    services.queue.claim_next()
    services.queue.move_task(pending[3].id, to="top")  # run order: cat two, dog, cat one, bird

    def places(search):
        view = {"filter": "all", "search": search, "limit": 25, "offset": 0}
        reply = json.loads(commands.poll(services, json.dumps({"force": True, "view": view})))
        return {row["prompt"]: row["place"] for row in reply["list"]["rows"]}

    assert places("") == {
        running.params["inputs"]["prompt"]: None,
        "a cat two": 1,
        "a dog": 2,
        "a cat one": 3,
        "a bird": 4,
    }
    assert places("cat") == {"a cat running": None, "a cat two": 1, "a cat one": 3}


def test_an_edit_naming_an_unknown_sampler_is_refused_and_nothing_is_stored(services):
    task = _add(services, "a cat", steps=10)
    fields = {"sampler_name": "Nope", "steps": "12"}
    reply = _act(services, action="edit", id=task.id, fields=fields)
    assert reply == {"ok": False, "error": "unknown sampler 'Nope'", "field": "sampler_name"}
    assert services.queue.get_task(task.id).script_args == task.script_args


def test_an_edit_of_a_running_task_is_refused(services):
    task = _add(services, "a cat")
    services.queue.claim_next()
    reply = _act(services, action="edit", id=task.id, fields={"prompt": "a dog"})
    assert reply == {"ok": False, "error": "The task is running; it cannot be edited."}


def test_dropping_after_the_last_task_moves_to_the_bottom(services):
    first, second, third = (_add(services, name) for name in ("first", "second", "third"))
    assert _act(services, action="move", id=first.id, after=third.id)["ok"]
    assert _act(services, action="move", id=third.id, after=first.id)["ok"]
    order = [t.id for t in services.queue.get_pending_tasks()]
    assert order == [second.id, first.id, third.id]


def test_opening_a_task_serves_only_its_own_recorded_images(services, tmp_path):
    task = _add(services, "a cat")
    reply, images = commands.open_task(services, json.dumps({"id": task.id, "path": "/etc/passwd"}))
    assert images == []
    assert json.loads(reply)["task"]["id"] == task.id
    assert json.loads(commands.open_task(services, '{"id": "no-such-task"}')[0]) == {"task": None}


def test_unknown_actions_and_bad_requests_get_a_message(services):
    assert _act(services, action="format_disk")["error"] == "action: unknown action 'format_disk'"
    assert _act(services, action="delete")["error"] == "id: a task id is required"
    assert _act(services, action="delete", id="missing")["error"] == "That task no longer exists."


def test_a_pending_task_is_sent_to_txt2img_as_forge_infotext(services):
    task = _add(
        services,
        "a lighthouse, at dusk",
        negative="fog",
        steps=7,
        seed=4242,
        cfg_scale=4.5,
        width=320,
        height=256,
        sampler="Euler",
        scheduler="Karras",
    )
    assert infotext(task) == (
        "a lighthouse, at dusk\n"
        "Negative prompt: fog\n"
        "Steps: 7, Sampler: Euler, Schedule type: Karras, CFG scale: 4.5, Seed: 4242, "
        "Size: 320x256"
    )


def test_a_finished_task_is_sent_with_the_infotext_forge_wrote(services):
    task = _add(services, "a cat")
    services.queue.claim_next()
    done = services.queue.update_task_status(
        task.id, "completed", result_info="a cat\nSteps: 3, Seed: 99, ADetailer model: face"
    )
    assert infotext(done) == "a cat\nSteps: 3, Seed: 99, ADetailer model: face"


def test_an_absurd_page_offset_is_refused_with_a_message(services):
    request = {"seen": None, "view": {"filter": "all", "limit": 50, "offset": 10**30}}
    reply = json.loads(commands.poll(services, json.dumps(request)))
    assert reply["error"] == "offset: out of range"
