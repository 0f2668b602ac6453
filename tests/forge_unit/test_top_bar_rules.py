"""The task's top bar is applied where it differs and the user's choice is put back after."""

from __future__ import annotations

from task_scheduler.forge.top_bar import changes, restore_plan

USER = {
    "checkpoint": "randB",
    "modules": ["/vae/a.safetensors"],
    "unet_storage_dtype": "Automatic",
    "clip_skip": 1,
}


def test_only_differing_values_are_switched():
    task = {
        "checkpoint": "randA",
        "modules": ["/vae/a.safetensors"],
        "unet_storage_dtype": "Automatic",
        "clip_skip": 2,
    }
    assert changes(USER, task) == {"checkpoint": "randA", "clip_skip": 2}


def test_module_lists_compare_regardless_of_order():
    current = {"modules": ["/m/a", "/m/b"]}
    assert changes(current, {"modules": ["/m/b", "/m/a"]}) == {}


def test_values_a_task_does_not_carry_are_left_alone():
    assert changes(USER, {"checkpoint": "randB", "clip_skip": None}) == {}


def test_after_the_task_the_users_values_come_back():
    applied = {"checkpoint": "randA", "clip_skip": 2}
    now = {**USER, **applied}
    assert restore_plan(USER, applied, now) == {"checkpoint": "randB", "clip_skip": 1}


def test_a_value_the_user_changed_during_the_task_is_kept():
    applied = {"checkpoint": "randA", "clip_skip": 2}
    now = {**USER, "checkpoint": "randC", "clip_skip": 2}  # user picked randC meanwhile
    assert restore_plan(USER, applied, now) == {"clip_skip": 1}
