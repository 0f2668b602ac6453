"""The tab with several Forges on one queue (issue 12): the status line lists the live
instances, a row and the panel name the instance that ran a task, and a task no live instance
can run says why it waits."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from task_scheduler.core.can_run import Capabilities
from task_scheduler.core.queue_manager import QueueManager
from tests.ui.app import TabApp
from tests.ui.conftest import new_screen


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    app = TabApp(tmp_path_factory.mktemp("instances"), step_seconds=0.02)
    app.queue.instance.name = "gpu0"
    app.launch()
    other = QueueManager(app.queue.store.path, recover=False)  # a second Forge's queue
    other.instance.name = "gpu1"
    other.instance.capabilities = Capabilities.of(checkpoints=["randB.safetensors"])
    yield app, other
    other.close()
    app.close()


def test_live_instances_the_instance_that_ran_a_task_and_why_a_task_waits(browser, shared_app):
    app, other = shared_app
    app.reset()
    app.host.has = Capabilities.of(checkpoints=["randA.safetensors"])  # the worker reads it
    app.queue.instance.capabilities = app.host.has
    app.queue.instance.beat()
    other.instance.beat()
    done = app.add("ran here")
    app.executor.start()
    screen = new_screen(browser, app)
    try:
        screen.open()
        expect(screen.row("ran here").locator(".ts-status-badge")).to_have_text("Completed")
        app.executor.stop()
        app.queue.instance.beat()  # the worker's own heartbeat comes every 15 s
        other.instance.beat()
        app.add("needs a third checkpoint", checkpoint="randC.safetensors")
        instances = screen.page.locator(".ts-instances")
        expect(instances).to_have_text(
            "Instances: gpu0 (this one), gpu1 · 1 pending task no instance can run "
            "(see its details)"
        )
        expect(screen.row("ran here")).to_contain_text("on gpu0")
        screen.row("ran here").click()
        expect(screen.page.locator(".ts-fields")).to_contain_text("gpu0")
        screen.row("needs a third checkpoint").click()
        expect(screen.page.locator(".ts-fields")).to_contain_text(
            "Waiting: no live instance can run it (gpu0 lacks checkpoint randC.safetensors; "
            "gpu1 lacks checkpoint randC.safetensors)"
        )
        screen.shot("instances")
        assert app.queue.get_task(done.id).instance == "gpu0"
    finally:
        screen.page.context.close()
