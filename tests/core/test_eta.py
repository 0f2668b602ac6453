"""The queue's estimate: each task's work (steps x pixels x images, hires pass included) priced at
the speed recent tasks ran (core/eta.py), checked against a table worked out by hand."""

from __future__ import annotations

import pytest

from task_scheduler.core.eta import Price, price_from, queue_seconds, work_units

BASE = {"width": 512, "height": 512, "steps": 20}
MP = 512 * 512 / 1e6  # megapixels of a 512x512 image


@pytest.mark.parametrize(
    ("task_type", "params", "expected"),
    [
        ("txt2img", BASE, 20 * MP),
        ("txt2img", {**BASE, "batch_size": 2, "n_iter": 3}, 6 * 20 * MP),
        ("txt2img", {**BASE, "width": 1024}, 40 * MP),
        # hires x2 with its own 10 steps at 0.5 strength: 5 steps at 4 times the pixels
        (
            "txt2img",
            {
                **BASE,
                "enable_hr": True,
                "hr_scale": 2,
                "hr_second_pass_steps": 10,
                "denoising_strength": 0.5,
            },
            20 * MP + 5 * 4 * MP,
        ),
        # hires to a fixed size, steps taken from the first pass, strength 0.7 by default
        (
            "txt2img",
            {**BASE, "enable_hr": True, "hr_resize_x": 768, "hr_resize_y": 768},
            20 * MP + 14 * 768 * 768 / 1e6,
        ),
        ("txt2img", {**BASE, "enable_hr": False, "hr_scale": 4}, 20 * MP),
        # img2img samples the denoised part of the schedule only
        ("img2img", {**BASE, "denoising_strength": 0.25}, 5 * MP),
        ("img2img", {**BASE, "denoising_strength": 0.0}, 1 * MP),  # at least one step
        ("txt2img", {}, 20 * MP),  # Forge's defaults: 512x512, 20 steps
        ("txt2img", {"steps": "many", "width": None}, 20 * MP),  # unusable values: defaults
        ("txt2img", {**BASE, "steps": 0}, 0.0),
        ("txt2img", "not a dict", 20 * MP),  # a broken row is priced as Forge's defaults
    ],
)
def test_a_tasks_work_is_steps_times_pixels_times_images(task_type, params, expected):
    body = params if not isinstance(params, dict) else {"source": "api", "payload": params}
    assert work_units(task_type, body) == pytest.approx(expected)


def test_a_task_queued_from_the_page_is_read_the_same_way():
    # the Queue button's shape: fixed inputs by name, steps in the Sampler script's args
    params = {"source": "ui", "inputs": {"width": 640, "height": 448, "batch_size": 2}}
    script_args = {"selected": None, "scripts": {"Sampler": [12, "Euler a", "Automatic"]}}
    assert work_units("txt2img", params, script_args) == pytest.approx(2 * 12 * 640 * 448 / 1e6)
    assert work_units("txt2img", {"source": "api", "payload": {"steps": "10"}}) == pytest.approx(
        10 * MP
    )  # sdapi takes numbers as text too


def test_with_one_size_of_task_the_price_is_the_plain_rate():
    price = price_from([(2.0, 10.0), (2.0, 12.0), (2.0, 8.0)])
    assert price == Price(0.0, pytest.approx(5.0))


def test_with_different_sizes_a_fixed_cost_per_task_is_fitted():
    # 3 s a task plus 2 s per unit, measured exactly
    price = price_from([(1.0, 5.0), (4.0, 11.0), (10.0, 23.0)])
    assert price.overhead == pytest.approx(3.0)
    assert price.rate == pytest.approx(2.0)
    assert price.seconds(5.0) == pytest.approx(13.0)


def test_a_fit_that_would_need_a_negative_cost_falls_back_to_the_plain_rate():
    price = price_from([(1.0, 1.0), (4.0, 20.0), (10.0, 50.0)])  # the line crosses below 0
    assert price.overhead == 0.0
    assert price.rate == pytest.approx(71.0 / 15.0)


def test_nothing_finished_yet_gives_no_price():
    assert price_from([]) is None
    assert price_from([(0.0, 5.0)]) is None  # a task with no measurable work says nothing
    assert queue_seconds([1.0, 2.0], None, 7.0) == 7.0


def test_the_queue_takes_what_the_running_task_has_left_then_each_pending_task():
    price = Price(overhead=3.0, rate=2.0)
    # a small task (1 unit), a large one (10 units) and a hires one (4 units)
    assert queue_seconds([1.0, 10.0, 4.0], price, 6.0) == pytest.approx(6 + 5 + 23 + 11)


def test_large_tasks_weigh_more_than_the_mean_run_time_says():
    # recent: three small tasks of 10 s; pending: one task ten times larger
    price = price_from([(1.0, 10.0)] * 3)
    assert queue_seconds([10.0], price, 0.0) == pytest.approx(100.0)
