"""The same built-in extensions (and the Refiner) through the REST API: a body with an
`alwayson_scripts` entry sent to /sdapi/v1/txt2img, then queued unchanged at
/task-scheduler/queue/txt2img. The task's images must equal sdapi's pixel for pixel, with the
same infotext and seeds, and the extension must have changed the image (compared with the
same body without it). Recorded for the README's fidelity table."""

from __future__ import annotations

import base64
import io
import json
from collections import Counter

import pytest
from PIL import Image

from .builtin_extensions import BUILTINS

BASE_BODY = {
    "prompt": "a small red house",
    "negative_prompt": "fog",
    "steps": 2,
    "sampler_name": "Euler",
    "scheduler": "Automatic",
    "cfg_scale": 7,
    "width": 64,
    "height": 64,
}


def sdapi(forge, body: dict) -> dict:
    response = forge.api("POST", "/sdapi/v1/txt2img", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def queue_and_wait(forge, body: dict) -> dict:
    response = forge.api(
        "POST",
        "/task-scheduler/queue/txt2img",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 201, response.text
    task_id = response.json()["id"]
    forge.wait_finished(task_id)
    return forge.api("GET", f"/task-scheduler/tasks/{task_id}").json()


def decoded(images: list[str]) -> list[bytes]:
    result = []
    for data in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            result.append(image.convert("RGB").tobytes())
    return result


def fetched(forge, task: dict) -> list[tuple[tuple[int, int], bytes]]:
    result = []
    for url in task["images"]:
        response = forge.api("GET", url.removeprefix(forge.url))
        assert response.status_code == 200
        with Image.open(io.BytesIO(response.content)) as image:
            result.append((image.size, image.convert("RGB").tobytes()))
    return result


def mean_difference(first: bytes, second: bytes) -> float:
    assert len(first) == len(second)
    return sum(abs(a - b) for a, b in zip(first, second, strict=True)) / len(first)


def assert_queue_matches_sdapi(forge, body: dict) -> tuple[dict, dict]:
    direct = sdapi(forge, body)
    task = queue_and_wait(forge, body)
    assert task["status"] == "completed", task["error"]
    assert task["warnings"] == []
    info = json.loads(direct["info"])
    assert task["infotext"] == info["infotexts"][0]
    assert task["seeds"] == info["all_seeds"]
    # A queued API task saves its images (as `"save_images": true` would), so a batch also
    # saves Forge's grid, which sdapi does not return: compare the images, then the grid's size.
    size = (body["width"], body["height"])
    files = fetched(forge, task)
    images = [data for shape, data in files if shape == size]
    assert Counter(images) == Counter(decoded(direct["images"]))
    extra = [shape for shape, _ in files if shape != size]
    assert extra == ([] if len(images) == 1 else [(size[0] * len(images), size[1])])
    return direct, task


@pytest.mark.parametrize(
    ("builtin", "seed"),
    [
        pytest.param(
            builtin,
            760 + index,
            marks=pytest.mark.fidelity(builtin.name, "api"),
            id=builtin.name.replace(" ", "-"),
        )
        for index, builtin in enumerate(BUILTINS)
    ],
)
def test_builtin_extension_through_the_api_replays_like_sdapi(
    running_forge, builtin, seed, fidelity_note
):
    body = {**BASE_BODY, "seed": seed, "batch_size": builtin.batch_size}
    baseline = sdapi(running_forge, body)
    body["alwayson_scripts"] = {builtin.title: {"args": builtin.api_args}}

    direct, _task = assert_queue_matches_sdapi(running_forge, body)

    assert builtin.infotext in json.loads(direct["info"])["infotexts"][0]
    change = max(
        mean_difference(a, b)
        for a, b in zip(decoded(baseline["images"]), decoded(direct["images"]), strict=True)
    )
    assert change > 0, "the extension did not change the image: nothing is proven"
    fidelity_note(f"changes the image by {change:.3g}/255")


@pytest.mark.fidelity("Refiner", "api")
def test_refiner_through_the_api_replays_like_sdapi(running_forge, fidelity_note):
    # The top bar may be on randB after other tests: the body names its checkpoint.
    sdapi_body = {**BASE_BODY, "seed": 812, "override_settings": {"sd_model_checkpoint": "randA"}}
    baseline = sdapi(running_forge, sdapi_body)
    refined = {"refiner_checkpoint": "randB", "refiner_switch_at": 0.5}
    direct, task = assert_queue_matches_sdapi(running_forge, {**sdapi_body, **refined})
    assert "Refiner: randB" in task["infotext"]
    change = mean_difference(decoded(baseline["images"])[0], decoded(direct["images"])[0])
    assert change > 0, "the refiner did not change the image: nothing is proven"
    fidelity_note(f"changes the image by {change:.3g}/255")


def xyz_axis(forge, label: str) -> int:
    """The X/Y/Z plot's axis types are an index into the txt2img tab's list of axes (as the
    page's dropdown sends them): find `label` in the list Forge publishes."""
    response = forge.api("GET", "/sdapi/v1/script-info")
    assert response.status_code == 200, response.text
    script = next(s for s in response.json() if s["name"] == "x/y/z plot" and not s["is_img2img"])
    return script["args"][0]["choices"].index(label)


@pytest.mark.fidelity("X/Y/Z plot", "api")
def test_xyz_plot_through_the_api_replays_like_sdapi(running_forge, fidelity_note):
    forge = running_forge
    body = {
        **BASE_BODY,
        "prompt": "a grid of tiny boats",
        "seed": 802,
        "override_settings": {"sd_model_checkpoint": "randA"},
        "script_name": "x/y/z plot",
        # X type/values/dropdown, Y ..., Z ..., draw legend, include lone images, include
        # sub-grids, no fixed seeds, vary seeds x/y/z, margin size, csv mode
        "script_args": [
            xyz_axis(forge, "Steps"), "1,2", [],
            xyz_axis(forge, "CFG Scale"), "5,9", [],
            0, "", [],
            True, True, False, False, False, False, False, 0, False,
        ],
    }  # fmt: skip
    direct = sdapi(forge, body)
    task = queue_and_wait(forge, body)
    assert task["status"] == "completed", task["error"]
    assert task["warnings"] == []
    info = json.loads(direct["info"])
    assert task["infotext"] == info["infotexts"][0]
    assert 'X Type: Steps, X Values: "1,2", Y Type: CFG Scale' in task["infotext"]
    assert task["seeds"] == info["all_seeds"]
    # sdapi returns the grid then the 4 cells; the task saved the same 5 pictures.
    files = fetched(forge, task)
    assert len(files) == 5
    assert Counter(data for _, data in files) == Counter(decoded(direct["images"]))
    cells = [data for shape, data in files if shape == (64, 64)]
    assert len(cells) == 4
    assert len(set(cells)) == 4, "every cell differs (steps and CFG change the image)"
    fidelity_note("2x2 grid (Steps 1,2 x CFG 5,9): grid + 4 cells")
