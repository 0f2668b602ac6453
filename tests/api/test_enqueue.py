"""Queueing sdapi bodies: taken unchanged, checked against Forge's names, images kept as files."""

from __future__ import annotations

import base64
import os

import pytest

from tests.api.conftest import png_base64

TXT2IMG = "/task-scheduler/queue/txt2img"
IMG2IMG = "/task-scheduler/queue/img2img"


def stored_files(api) -> list[str]:
    root = api.services.files.root
    return sorted(name for name in os.listdir(root) if not name.startswith("."))


def test_txt2img_body_is_queued_with_id_and_position(app_api):
    first = app_api.client.post(TXT2IMG, json={"prompt": "one"})
    second = app_api.client.post(TXT2IMG, json={"prompt": "two"})
    assert first.status_code == 201
    assert second.json()["position"] == 2
    assert second.json()["status"] == "pending"
    assert second.headers["location"] == f"/task-scheduler/tasks/{second.json()['id']}"


def test_sdapi_body_is_stored_unchanged_minus_queue_fields(app_api):
    body = {
        "prompt": "a lighthouse",
        "negative_prompt": "blurry",
        "styles": ["cinematic"],
        "seed": 42,
        "sampler_name": "Euler a",
        "scheduler": "Karras",
        "steps": 3,
        "cfg_scale": 6.5,
        "width": 64,
        "height": 96,
        "batch_size": 2,
        "n_iter": 1,
        "enable_hr": True,
        "hr_upscaler": "Latent",
        "hr_scale": 1.5,
        "override_settings": {"CLIP_stop_at_last_layers": 2},
        "script_name": "x/y/z plot",
        "script_args": [1, "2", [3]],
        "alwayson_scripts": {"Seed": {"args": [42, False]}},
        "save_images": False,
        "send_images": True,
        "some_future_forge_field": {"kept": True},
        "checkpoint": "randB",
        "priority": 3,
        "name": "lighthouse",
        "callback_url": "https://hooks.example.com/hook",
    }
    task_id = app_api.client.post(TXT2IMG, json=body).json()["id"]
    task = app_api.client.get(f"/task-scheduler/tasks/{task_id}").json()
    queue_fields = ("checkpoint", "priority", "name", "callback_url")
    assert task["params"]["payload"] == {k: v for k, v in body.items() if k not in queue_fields}
    assert (task["checkpoint"], task["priority"], task["name"], task["callback_url"]) == (
        "randB.safetensors [abcdef0123]",
        3,
        "lighthouse",
        "https://hooks.example.com/hook",
    )


def test_string_numbers_are_accepted_as_forge_accepts_them(app_api):
    response = app_api.client.post(TXT2IMG, json={"steps": "20", "cfg_scale": "7"})
    assert response.status_code == 201


def test_queue_fields_are_typed_like_the_docs_say(app_api):
    body = {"prompt": "x", "priority": "3", "name": "typed"}
    task_id = app_api.client.post(TXT2IMG, json=body).json()["id"]
    assert app_api.queue.get_task(task_id).priority == 3


def test_sampler_with_scheduler_suffix_is_accepted_like_sdapi(app_api):
    response = app_api.client.post(TXT2IMG, json={"sampler_name": "DPM++ 2M Karras"})
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sampler_name": "Euler Z"}, "sampler_name"),
        ({"sampler_index": "nope"}, "sampler_index"),
        ({"scheduler": "Sometimes"}, "scheduler"),
        ({"checkpoint": "missing.safetensors"}, "checkpoint"),
        ({"override_settings": {"sd_model_checkpoint": "gone"}}, "override_settings"),
        ({"script_name": "Not A Script"}, "script_name"),
        ({"alwayson_scripts": {"NoSuchScript": {"args": []}}}, "alwayson_scripts"),
        ({"alwayson_scripts": {"Seed": 5}}, "alwayson_scripts"),
        ({"alwayson_scripts": {"Seed": {"args": "x"}}}, "alwayson_scripts"),
        ({"enable_hr": True, "hr_upscaler": "Magic 9x"}, "hr_upscaler"),
        ({"hr_sampler_name": "Bogus"}, "hr_sampler_name"),
        ({"steps": "many"}, "steps"),
        ({"width": 5.5}, "width"),
        ({"prompt": ["a", "b"]}, "prompt"),
        ({"priority": "high"}, "priority"),
        ({"priority": 10**12}, "priority"),
        ({"callback_url": "ftp://example/x"}, "callback_url"),
        ({"callback_url": "not a url"}, "callback_url"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_invalid_field_is_refused_with_422_naming_it_and_nothing_stored(app_api, body, field):
    response = app_api.client.post(TXT2IMG, json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]
    assert app_api.queue.counts()["pending"] == 0


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"cfg_scale": NaN}', "cfg_scale"),
        ('{"override_settings": {"x": Infinity}}', "override_settings"),
        ('{"prompt": "\\ud800"}', "prompt"),
        ('{"alwayson_scripts": {"Seed": {"args": [{"__ts_file__": "../../etc/passwd"}]}}}', None),
    ],
)
def test_json_storage_cannot_hold_is_refused_with_422(app_api, raw, field):
    response = app_api.client.post(
        TXT2IMG, content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    if field:
        assert response.json()["detail"][0]["loc"][1] == field
    assert app_api.queue.counts()["pending"] == 0


def test_body_that_is_not_a_json_object_is_refused_with_422(app_api):
    for content in ("[1, 2]", '"prompt"', "{broken", ""):
        response = app_api.client.post(
            TXT2IMG, content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, content
    assert app_api.queue.counts()["pending"] == 0


def test_img2img_images_become_files_and_are_listed_on_the_task(app_api):
    init, mask = png_base64((10, 20, 30)), png_base64((255, 255, 255))
    body = {"prompt": "winter", "init_images": [init], "mask": f"data:image/png;base64,{mask}"}
    task_id = app_api.client.post(IMG2IMG, json=body).json()["id"]
    task = app_api.queue.get_task(task_id)
    payload = task.params["payload"]
    init_name = payload["init_images"][0]["__ts_file__"]
    mask_name = payload["mask"]["__ts_file__"]
    assert sorted(task.files) == sorted([init_name, mask_name])
    assert app_api.services.files.read(init_name) == base64.b64decode(init)
    assert payload["mask"]["prefix"] == "data:image/png;base64,"


def test_images_inside_alwayson_script_args_become_files(app_api):
    unit = {"enabled": True, "image": {"image": png_base64(), "mask": png_base64((0, 0, 0))}}
    body = {"alwayson_scripts": {"ControlNet": {"args": [unit, "short text stays"]}}}
    task_id = app_api.client.post(TXT2IMG, json=body).json()["id"]
    task = app_api.queue.get_task(task_id)
    args = task.params["payload"]["alwayson_scripts"]["ControlNet"]["args"]
    assert set(args[0]["image"]["image"]) == {"__ts_file__"}
    assert args[1] == "short text stays"
    assert len(task.files) == 2


def test_http_init_image_url_is_kept_for_forge_to_fetch(app_api):
    body = {"init_images": ["https://example.invalid/cat.png"]}
    task_id = app_api.client.post(IMG2IMG, json=body).json()["id"]
    payload = app_api.queue.get_task(task_id).params["payload"]
    assert payload["init_images"] == ["https://example.invalid/cat.png"]


def test_undecodable_init_image_is_refused_and_no_file_written(app_api):
    body = {"init_images": [png_base64(), base64.b64encode(b"not an image").decode()]}
    response = app_api.client.post(IMG2IMG, json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "init_images", 1]
    assert stored_files(app_api) == []


def test_listing_does_not_carry_image_data(app_api):
    big = png_base64(size=(512, 512))
    app_api.client.post(IMG2IMG, json={"init_images": [big]})
    listing = app_api.client.get("/task-scheduler/tasks").text
    assert big[:200] not in listing
    assert len(listing) < 4000


def test_queued_task_runs_through_the_worker_to_completion(app_api):
    task_id = app_api.client.post(TXT2IMG, json={"prompt": "run me", "steps": 2}).json()["id"]
    app_api.client.post("/task-scheduler/start")
    task = app_api.wait_status(task_id, "completed")
    assert task["infotext"].startswith("run me")
    assert len(task["images"]) == 1
