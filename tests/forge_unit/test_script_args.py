"""Script arguments are stored by script title and mapped back onto the current layout."""

from __future__ import annotations

import pytest

from task_scheduler.forge.script_args import (
    ScriptLayout,
    ScriptSlot,
    join_script_args,
    split_script_args,
)


def layout_of(*scripts: tuple[str, int], selectable: tuple[str, ...] = ()) -> ScriptLayout:
    """A layout with the given (title, argument count) scripts, in order, after the dropdown."""
    slots, position = [], 1
    for title, count in scripts:
        slots.append(ScriptSlot(title, position, position + count))
        position += count
    return ScriptLayout(slots=tuple(slots), selectable=selectable, size=position)


OLD = layout_of(
    ("Sampler", 3), ("Seed", 6), ("ControlNet", 2), ("X/Y/Z plot", 2), selectable=("X/Y/Z plot",)
)
OLD_ARGS = [1, 20, "Euler", "Karras", 1234, False, -1, 0, 0, 0, "unit0", "unit1", "x", "y"]


def defaults_for(layout: ScriptLayout) -> list:
    return [f"default{i}" for i in range(layout.size)]


def test_split_keys_arguments_by_script_title_and_selected_script_by_title():
    stored = split_script_args(OLD, OLD_ARGS)
    assert stored == {
        "selected": "X/Y/Z plot",
        "scripts": {
            "Sampler": [20, "Euler", "Karras"],
            "Seed": [1234, False, -1, 0, 0, 0],
            "ControlNet": ["unit0", "unit1"],
            "X/Y/Z plot": ["x", "y"],
        },
    }


def test_same_layout_gives_back_the_exact_flat_list_without_warnings():
    args, warnings = join_script_args(OLD, split_script_args(OLD, OLD_ARGS), defaults_for(OLD))
    assert args == OLD_ARGS
    assert warnings == []


def test_reordered_scripts_receive_their_own_arguments():
    reordered = layout_of(
        ("X/Y/Z plot", 2),
        ("ControlNet", 2),
        ("Seed", 6),
        ("Sampler", 3),
        selectable=("X/Y/Z plot",),
    )
    args, warnings = join_script_args(
        reordered, split_script_args(OLD, OLD_ARGS), defaults_for(reordered)
    )
    assert args == [1, "x", "y", "unit0", "unit1", 1234, False, -1, 0, 0, 0, 20, "Euler", "Karras"]
    assert warnings == []


def test_a_new_script_gets_its_defaults_and_the_task_is_warned():
    grown = layout_of(
        ("Sampler", 3),
        ("Refiner", 2),
        ("Seed", 6),
        ("ControlNet", 2),
        ("X/Y/Z plot", 2),
        selectable=("X/Y/Z plot",),
    )
    defaults = defaults_for(grown)
    args, warnings = join_script_args(grown, split_script_args(OLD, OLD_ARGS), defaults)
    assert args[4:6] == defaults[4:6]
    assert args[1:4] == [20, "Euler", "Karras"]
    assert args[6:12] == [1234, False, -1, 0, 0, 0]
    assert warnings == [
        "The script 'Refiner' was added after this task was queued; "
        "it ran with its default settings."
    ]


def test_a_removed_script_is_dropped_and_the_task_is_warned():
    shrunk = layout_of(("Sampler", 3), ("Seed", 6), ("X/Y/Z plot", 2), selectable=("X/Y/Z plot",))
    args, warnings = join_script_args(
        shrunk, split_script_args(OLD, OLD_ARGS), defaults_for(shrunk)
    )
    assert args == [1, 20, "Euler", "Karras", 1234, False, -1, 0, 0, 0, "x", "y"]
    assert warnings == [
        "The script 'ControlNet' is no longer installed; its settings for this task were ignored."
    ]


def test_a_selected_script_that_is_gone_runs_without_a_script_and_warns():
    gone = layout_of(
        ("Sampler", 3),
        ("Seed", 6),
        ("ControlNet", 2),
        ("Prompt matrix", 1),
        selectable=("Prompt matrix",),
    )
    args, warnings = join_script_args(gone, split_script_args(OLD, OLD_ARGS), defaults_for(gone))
    assert args[0] == 0
    assert warnings[0] == (
        "The script 'X/Y/Z plot' selected for this task is no longer available; "
        "the task ran without it."
    )


def test_selected_script_index_follows_the_script_to_its_new_place_in_the_dropdown():
    moved = layout_of(
        ("Sampler", 3),
        ("Seed", 6),
        ("ControlNet", 2),
        ("Loopback", 1),
        ("X/Y/Z plot", 2),
        selectable=("Loopback", "X/Y/Z plot"),
    )
    args, _ = join_script_args(moved, split_script_args(OLD, OLD_ARGS), defaults_for(moved))
    assert args[0] == 2
    assert args[-2:] == ["x", "y"]


def test_a_script_with_more_settings_now_keeps_the_stored_ones_and_defaults_the_rest():
    wider = layout_of(
        ("Sampler", 3),
        ("Seed", 6),
        ("ControlNet", 3),
        ("X/Y/Z plot", 2),
        selectable=("X/Y/Z plot",),
    )
    defaults = defaults_for(wider)
    args, warnings = join_script_args(wider, split_script_args(OLD, OLD_ARGS), defaults)
    assert args[10:13] == ["unit0", "unit1", defaults[12]]
    assert "now takes 3 settings instead of 2" in warnings[0]


def test_scripts_sharing_a_title_are_kept_apart_in_order():
    twins = layout_of(("Sampler", 3), ("Seed", 6), ("Helper", 1), ("Helper", 1))
    stored = split_script_args(twins, [0, 20, "Euler", "Karras", 1, False, -1, 0, 0, 0, "a", "b"])
    assert stored["scripts"]["Helper"] == ["a"]
    assert stored["scripts"]["Helper (2)"] == ["b"]
    args, warnings = join_script_args(twins, stored, defaults_for(twins))
    assert args[-2:] == ["a", "b"]
    assert warnings == []


def test_scripts_without_arguments_are_not_stored_or_warned_about():
    with_empty = layout_of(("Sampler", 3), ("Comments", 0), ("Seed", 6))
    stored = split_script_args(with_empty, [0, 20, "Euler", "Karras", 1, False, -1, 0, 0, 0])
    assert "Comments" not in stored["scripts"]
    _, warnings = join_script_args(with_empty, stored, defaults_for(with_empty))
    assert warnings == []


def test_a_flat_list_that_does_not_match_the_layout_is_refused():
    with pytest.raises(ValueError, match="got 3 values but Forge's scripts take 14"):
        split_script_args(OLD, [0, 1, 2])


def test_stored_values_are_decoded_against_the_current_default_of_their_position():
    seen = []

    def decode(value, template):
        seen.append((value, template))
        return value

    join_script_args(OLD, split_script_args(OLD, OLD_ARGS), defaults_for(OLD), decode)
    assert ("unit0", "default10") in seen
    assert ("x", "default12") in seen
