"""The Queue button's menu choices: what a click sends, how it is read, what the toast says."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest

from task_scheduler.forge.queue_button import SHORTCUT, QueueButtons, queue_args_js
from task_scheduler.forge.queue_options import (
    QueueOptions,
    confirmation,
    parse,
    parse_time,
    resolve_checkpoints,
)

KNOWN = ["randA.safetensors [0123456789]", "randB.safetensors [abcdef0123]"]


def test_a_plain_click_sends_nothing_and_queues_plainly():
    assert parse("") == QueueOptions()
    assert parse(None) == QueueOptions()
    assert parse("{}") == QueueOptions()


def test_queue_first_and_several_checkpoints_are_read():
    assert parse('{"front": true}') == QueueOptions(front=True)
    options = parse(json.dumps({"checkpoints": ["randA", " randB.safetensors "]}))
    assert options.checkpoints == ["randA", "randB.safetensors"]


def test_a_time_with_an_offset_is_that_moment_and_one_without_is_server_local_time():
    moment = datetime(2026, 12, 2, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    assert parse('{"run_after": "2026-12-02T01:00:00+01:00"}').run_after == moment.timestamp()
    utc = datetime(2026, 12, 2, 0, 0, tzinfo=timezone.utc).timestamp()
    assert parse_time("2026-12-02T00:00:00Z") == utc
    assert parse_time("2026-12-02T01:00") == datetime(2026, 12, 2, 1, 0).timestamp()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "must be a JSON object"),
        ("{", "not valid JSON"),
        ('{"later": 1}', "unknown option 'later'"),
        ('{"front": "yes"}', "'front' must be true or false"),
        ('{"run_after": "tomorrow"}', "run_after: not an ISO 8601"),
        ('{"checkpoints": "randA"}', "checkpoints: must be a list"),
        ('{"checkpoints": ["randA", "randA"]}', "listed twice"),
        ('{"checkpoints": ["randA"], "front": true}', "cannot be combined"),
    ],
)
def test_malformed_choices_are_refused_naming_the_option(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse(text)


def test_checkpoints_resolve_to_forges_titles_and_an_unknown_one_is_named():
    assert resolve_checkpoints(["randB", "randA.safetensors"], KNOWN) == [KNOWN[1], KNOWN[0]]
    assert resolve_checkpoints([], KNOWN) == []
    with pytest.raises(LookupError, match="'randC' is not installed"):
        resolve_checkpoints(["randA", "randC"], KNOWN)
    with pytest.raises(ValueError, match="listed twice"):
        resolve_checkpoints(["randA", KNOWN[0]], KNOWN)


def test_the_confirmation_says_where_and_how_the_tasks_were_queued():
    assert confirmation("txt2img", QueueOptions(), [3], []) == (
        "Queued (txt2img) at position 3 in the Task Queue."
    )
    assert confirmation("img2img", QueueOptions(front=True), [1], []) == (
        "Queued (img2img) at position 1 in the Task Queue, first."
    )
    later = datetime(2026, 12, 2, 1, 0).timestamp()
    assert confirmation("txt2img", QueueOptions(run_after=later), [2], []).endswith(
        "in the Task Queue, not before 2026-12-02 01:00 (server time)."
    )
    assert confirmation("txt2img", QueueOptions(checkpoints=["a", "b"]), [4, 5], KNOWN) == (
        "Queued 2 tasks (txt2img), one per checkpoint: randA, randB at positions 4-5 in the "
        "Task Queue. They form a group in the Task Queue tab."
    )


def test_the_queue_handler_hands_the_menu_choices_apart_from_generates_values():
    calls: list[tuple[Any, ...]] = []

    def enqueue(tab, values, user, options):
        calls.append((tab, values, user, options))
        return "Queued."

    handler = QueueButtons(enqueue)._handler("img2img")
    request = SimpleNamespace(headers={"content-type": "application/json"}, username="ann")
    handler("task(x)", request, "a prompt", 512, '{"checkpoints": ["randA", "randB"]}')
    assert calls == [
        ("img2img", ["a prompt", 512], "ann", QueueOptions(checkpoints=["randA", "randB"]))
    ]
    with pytest.raises(gr.Error, match="Not queued: queue options: not valid JSON"):
        handler("task(x)", request, "a prompt", 512, "{nope")
    assert len(calls) == 1


def test_the_click_preprocessor_keeps_generates_inputs_and_adds_this_clicks_choices():
    js = queue_args_js("txt2img", 26)
    assert "args.slice(0, 26)" in js
    assert "takeQueueOptions('txt2img')" in js
    assert "values.push(" in js


def test_the_tooltip_names_the_shortcut_which_is_not_forges_generate_shortcut():
    from task_scheduler.forge.queue_button import BUTTON_TOOLTIP

    assert SHORTCUT in BUTTON_TOOLTIP
    assert SHORTCUT != "Ctrl+Enter"
    assert "Alt" in SHORTCUT
