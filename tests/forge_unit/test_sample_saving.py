"""'Always save images of queued tasks': the setting's default, and that the forced saving is
seen only by the thread running the queued task, only while it runs (Forge's option and other
threads' generations are never affected). The real saving is proven in a real Forge:
tests/integration/test_always_save_images.py."""

from __future__ import annotations

import threading

from task_scheduler.forge.sample_saving import force_saving, forcing
from task_scheduler.forge.settings import option_key, settings_from_options


def test_the_setting_is_on_by_default_and_read_from_forges_options():
    defaults = settings_from_options(lambda _key, default: default, "/data")
    assert defaults.always_save_images is True
    config = {option_key("always_save_images"): False}
    off = settings_from_options(lambda key, default: config.get(key, default), "/data")
    assert off.always_save_images is False


def test_forced_saving_is_seen_only_by_the_entering_thread_and_only_while_inside():
    inside = threading.Event()
    release = threading.Event()
    seen: dict[str, bool] = {}

    def queued_task() -> None:
        with force_saving(True):
            seen["task, inside"] = forcing()
            inside.set()
            release.wait(10)
        seen["task, after"] = forcing()

    worker = threading.Thread(target=queued_task)
    worker.start()
    assert inside.wait(10)
    seen["other thread, meanwhile"] = forcing()
    release.set()
    worker.join(10)
    assert seen == {"task, inside": True, "other thread, meanwhile": False, "task, after": False}


def test_setting_off_forces_nothing_and_nesting_restores_the_outer_state():
    with force_saving(False):
        assert not forcing()
    with force_saving(True):
        with force_saving(False):
            assert forcing()  # an inner "off" does not undo the outer task's saving
        with force_saving(True):
            assert forcing()
        assert forcing()
    assert not forcing()
