"""The tab's Gradio calls with a login, without a browser: who may act, what a panel shows."""

from __future__ import annotations

import json
import threading

import pytest

from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.files import FileStore
from task_scheduler.core.services import Services, Settings
from task_scheduler.ui import commands
from tests.fakes import FakeHost
from tests.ui.app import CATALOG, ui_params, wait_until


@pytest.fixture
def services(queue, tmp_path):
    executor = TaskExecutor(queue, FakeHost())
    settings = Settings(hide_others_prompts=True)
    yield Services(
        queue,
        executor,
        FileStore(tmp_path / "in"),
        settings=lambda: settings,
        catalog=lambda: CATALOG,
    )
    executor.shutdown(timeout=5)


def _add(services, prompt, owner):
    params, script_args = ui_params(prompt)
    return services.queue.add_task("txt2img", params, script_args=script_args, owner=owner)


def test_a_hidden_tasks_panel_carries_no_prompt_parameters_infotext_or_images(services):
    task = _add(services, "a secret prompt", "bob")
    services.queue.cancel_task(task.id)
    reply, images = commands.open_task(services, json.dumps({"id": task.id}), "alice")
    assert "secret" not in reply
    assert images == []
    shown = json.loads(reply)
    assert (shown["task"]["owner"], shown["task"]["hidden"], shown["infotext"]) == ("bob", True, "")
    own, _ = commands.open_task(services, json.dumps({"id": task.id}), "bob")
    assert "a secret prompt" in own


def test_the_running_tasks_label_is_hidden_from_other_users(queue, tmp_path):
    gate = threading.Event()
    executor = TaskExecutor(queue, FakeHost(0.01, gate=gate))
    settings = Settings(hide_others_prompts=True)
    services = Services(
        queue,
        executor,
        FileStore(tmp_path / "in"),
        settings=lambda: settings,
        catalog=lambda: CATALOG,
    )
    try:
        _add(services, "a secret prompt", "bob")
        executor.start()
        wait_until(lambda: executor.current() is not None)
        request = json.dumps({"force": True, "view": {"filter": "all", "limit": 50, "offset": 0}})
        reply = json.loads(commands.poll(services, request, "alice"))
        assert reply["status"]["current"]["label"] == "a task of bob"
        assert reply["status"]["access"]["user"] == "alice"
        assert "secret" not in json.dumps(reply)
        bobs = json.loads(commands.poll(services, request, "bob"))
        assert bobs["status"]["current"]["label"] == "a secret prompt"
    finally:
        gate.set()
        executor.shutdown(timeout=5)


def test_without_a_login_the_tab_is_as_before(services):
    task = _add(services, "open prompt", "bob")
    reply = json.loads(commands.act(services, json.dumps({"action": "delete", "id": task.id})))
    assert reply["ok"] is True
