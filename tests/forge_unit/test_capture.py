"""A Queue click becomes a stored task and comes back as the same Generate inputs."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from task_scheduler.core import params as task_params
from task_scheduler.core.files import FileStore
from task_scheduler.core.models import TaskStatus
from task_scheduler.forge.capture import capture, replay_inputs
from task_scheduler.forge.script_args import ScriptLayout, ScriptSlot
from task_scheduler.forge.values import Decoder, Encoder, UnstorableValueError

FIXED = ["prompt", "negative_prompt", "init_img", "width", "height"]
LAYOUT = ScriptLayout(
    slots=(
        ScriptSlot("Sampler", 1, 4, ("Sampling steps", "Sampling method", "Schedule type")),
        ScriptSlot("Seed", 4, 6, ("Seed", "Extra")),
        ScriptSlot("ControlNet", 6, 7, ("ControlNet Unit 0",)),
    ),
    selectable=(),
    size=7,
)
TOP_BAR = {"modules": [], "unet_storage_dtype": "Automatic", "clip_skip": 1}


def init_image(shade: int) -> Image.Image:
    return Image.new("RGB", (16, 16), (shade, 10, 20))


def generate_values(image, control=None):
    return ["a cat", "blurry", image, 64, 64, 0, 2, "Euler", "Karras", 1234, False, control]


@pytest.fixture
def store(tmp_path):
    return FileStore(tmp_path / "inputs")


def queue_click(queue, store, values, task_type="img2img"):
    captured = capture(
        task_type, FIXED, values, LAYOUT, Encoder(store), top_bar=TOP_BAR, checkpoint="randA"
    )
    return queue.add_task(captured.task_type, captured.params, **captured.add_kwargs())


def test_fixed_inputs_are_stored_by_name_and_script_args_by_title(queue, store):
    task = queue_click(queue, store, generate_values(init_image(1)))
    stored = queue.get_task(task.id)
    assert stored.params["source"] == "ui"
    assert stored.params["inputs"]["prompt"] == "a cat"
    assert stored.params["inputs"]["init_img"]["kind"] == "pil"
    assert stored.params["top_bar"] == TOP_BAR
    assert stored.checkpoint == "randA"
    assert stored.script_args["selected"] is None
    assert stored.script_args["scripts"]["Sampler"] == [2, "Euler", "Karras"]


def test_the_rest_of_the_extension_reads_steps_sampler_scheduler_and_seed(queue, store):
    task = queue.get_task(queue_click(queue, store, generate_values(init_image(1))).id)
    summary = task_params.summary(task.params, task.script_args)
    assert summary["steps"] == 2
    assert summary["sampler_name"] == "Euler"
    assert summary["scheduler"] == "Karras"
    assert summary["seed"] == 1234
    assert summary["prompt"] == "a cat"


def test_replay_gives_back_the_values_generate_received(queue, store):
    control = np.arange(8 * 8 * 4, dtype=np.uint8).reshape(8, 8, 4)
    values = generate_values(init_image(3), control)
    task = queue.get_task(queue_click(queue, store, values).id)
    replay = replay_inputs(
        task.params,
        task.script_args,
        FIXED,
        [None] * len(FIXED),
        LAYOUT,
        [0, 20, "Euler a", "Automatic", -1, False, None],
        Decoder(store),
    )
    assert replay.warnings == []
    args = replay.args
    assert args[:2] == ["a cat", "blurry"]
    assert args[2].tobytes() == values[2].tobytes()
    assert args[3:11] == values[3:11]
    np.testing.assert_array_equal(args[11], control)


def test_a_new_fixed_input_takes_its_default_with_a_warning(queue, store):
    task = queue.get_task(queue_click(queue, store, generate_values(init_image(1))).id)
    replay = replay_inputs(
        task.params,
        task.script_args,
        [*FIXED, "new_option"],
        [None] * len(FIXED) + ["its default"],
        LAYOUT,
        [None] * LAYOUT.size,
        Decoder(store),
    )
    assert replay.args[len(FIXED)] == "its default"
    assert replay.warnings == [
        "The field 'new_option' is new in this Forge; the task used its default."
    ]


def test_a_value_that_cannot_be_stored_fails_the_enqueue_naming_script_and_field(queue, store):
    values = generate_values(init_image(1), control=object())
    with pytest.raises(
        UnstorableValueError, match="the script 'ControlNet', field 'ControlNet Unit 0'"
    ):
        queue_click(queue, store, values)
    assert queue.counts().get("pending", 0) == 0
    assert os.listdir(store.root) == []


def test_deleting_a_task_removes_its_input_files_but_never_output_images(queue, store, tmp_path):
    task = queue_click(queue, store, generate_values(init_image(5)))
    output = tmp_path / "outputs" / "00000-1234.png"
    output.parent.mkdir()
    init_image(9).save(output)
    queue.claim_next()
    queue.update_task_status(task.id, TaskStatus.COMPLETED, result_images=[str(output)])
    assert all(store.exists(name) for name in task.files)
    queue.delete_task(task.id)
    assert os.listdir(store.root) == []
    assert output.exists()


def test_an_input_shared_by_two_tasks_stays_until_the_last_one_is_deleted(queue, store):
    first = queue_click(queue, store, generate_values(init_image(7)))
    second = queue_click(queue, store, generate_values(init_image(7)))
    assert first.files == second.files
    queue.delete_task(first.id)
    assert store.exists(second.files[0])
    queue.delete_task(second.id)
    assert not store.exists(second.files[0])


def test_clearing_finished_tasks_removes_their_input_files(queue, store):
    tasks = [queue_click(queue, store, generate_values(init_image(shade))) for shade in (11, 12)]
    for _ in tasks:
        claimed = queue.claim_next()
        queue.update_task_status(claimed.id, TaskStatus.COMPLETED)
    assert queue.clear_completed() == 2
    assert os.listdir(store.root) == []


def test_a_retried_task_keeps_the_inputs_alive_after_the_original_is_deleted(queue, store):
    task = queue_click(queue, store, generate_values(init_image(13)))
    claimed = queue.claim_next()
    queue.update_task_status(claimed.id, TaskStatus.FAILED, error="boom")
    retry = queue.retry_task(task.id)
    queue.delete_task(task.id)
    assert all(store.exists(name) for name in retry.files)
