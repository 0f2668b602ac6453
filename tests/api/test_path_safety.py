"""Image and import routes never read or write outside the task's own files."""

from __future__ import annotations

import base64
import hashlib
import os
import pickle

import pytest

from task_scheduler.api.payload import FILE_REF, restore_images
from tests.api.conftest import png_base64

BASE = "/task-scheduler"


def finished_task(api, prompt="img", seed=1) -> dict:
    body = {"prompt": prompt, "seed": seed}
    task_id = api.client.post(f"{BASE}/queue/txt2img", json=body).json()["id"]
    api.client.post(f"{BASE}/start")
    task = api.wait_status(task_id, "completed")
    api.client.post(f"{BASE}/stop")
    return task


def all_files(root) -> set[str]:
    found = set()
    for folder, _dirs, names in os.walk(root):
        found.update(os.path.join(folder, name) for name in names)
    return found


# -- result images -----------------------------------------------------------------------------


def test_image_route_serves_the_recorded_file(app_api):
    task = finished_task(app_api)
    response = app_api.client.get(task["images"][0])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    recorded = app_api.queue.get_task(task["id"]).result_images[0]
    with open(recorded, "rb") as handle:
        assert response.content == handle.read()


def test_image_route_serves_each_task_only_its_own_images(app_api):
    first, second = finished_task(app_api, "one", 1), finished_task(app_api, "two", 2)
    for task in (first, second):
        with open(app_api.queue.get_task(task["id"]).result_images[0], "rb") as handle:
            assert app_api.client.get(task["images"][0]).content == handle.read()
    assert app_api.client.get(f"{BASE}/tasks/{first['id']}/images/1").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/tasks/{id}/images/-1",
        "/tasks/{id}/images/99999999999",
        "/tasks/{id}/images/first",
        "/tasks/{id}/images/0.png",
    ],
)
def test_image_index_must_be_a_small_non_negative_integer(app_api, path):
    task = finished_task(app_api)
    response = app_api.client.get(BASE + path.format(id=task["id"]))
    assert response.status_code == 422


@pytest.mark.parametrize(
    "task_id", ["..%2F..%2Fetc", "%2Fetc%2Fpasswd", "..", "C:%5Cwindows", "x%00y", "{id}%2F.."]
)
def test_image_route_with_path_like_task_id_finds_no_task(app_api, task_id):
    task = finished_task(app_api)
    response = app_api.client.get(f"{BASE}/tasks/{task_id.format(id=task['id'])}/images/0")
    assert response.status_code == 404


def test_query_parameters_cannot_choose_the_file(app_api):
    task = finished_task(app_api)
    own = app_api.client.get(task["images"][0]).content
    tricked = app_api.client.get(task["images"][0], params={"path": "/etc/passwd"})
    assert tricked.content == own


def test_image_deleted_from_disk_is_404(app_api):
    task = finished_task(app_api)
    os.remove(app_api.queue.get_task(task["id"]).result_images[0])
    response = app_api.client.get(task["images"][0])
    assert response.status_code == 404
    assert "no longer exists" in response.json()["detail"]


def test_image_of_unfinished_or_unknown_task_is_404(app_api):
    pending = app_api.client.post(f"{BASE}/queue/txt2img", json={}).json()["id"]
    assert app_api.client.get(f"{BASE}/tasks/{pending}/images/0").status_code == 404
    assert app_api.client.get(f"{BASE}/tasks/ghost/images/0").status_code == 404


# -- import ------------------------------------------------------------------------------------


def document(files: dict[str, str], task_files: list[str], params=None) -> dict:
    params = params or {"source": "api", "payload": {"prompt": "imported"}}
    return {
        "format": "sd-forge-task-scheduler",
        "version": 1,
        "tasks": [{"task_type": "img2img", "params": params, "files": task_files}],
        "files": files,
    }


def named(data: bytes, ext="png") -> str:
    return f"{hashlib.sha256(data).hexdigest()}.{ext}"


@pytest.mark.parametrize(
    "name",
    [
        "../escape.png",
        "../../etc/cron.d/evil",
        "/tmp/absolute.png",
        "C:\\windows\\evil.png",
        "sub/dir.png",
        "..",
        "a" * 64 + ".png/../../x",
        "0" * 64 + ".png",  # a valid-looking name whose content does not match
    ],
)
def test_import_refuses_file_names_that_are_not_content_hashes(app_api, tmp_path, name):
    data = base64.b64encode(b"payload").decode()
    before = all_files(tmp_path)
    response = app_api.client.post(f"{BASE}/import", json=document({name: data}, [name]))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", "files"]
    assert all_files(tmp_path) == before
    assert app_api.queue.counts()["pending"] == 0


def test_import_refuses_references_to_files_the_task_does_not_own(app_api, tmp_path):
    data = b"\x89PNG fake"
    name = named(data)
    params = {"source": "api", "payload": {"init_images": [{FILE_REF: "../../etc/passwd"}]}}
    doc = document({name: base64.b64encode(data).decode()}, [name], params)
    before = all_files(tmp_path)
    response = app_api.client.post(f"{BASE}/import", json=doc)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:4] == ["body", "tasks", 0, "params"]
    assert all_files(tmp_path) == before


@pytest.mark.parametrize(
    "folder_input",
    ["img2img_batch_input_dir", "img2img_batch_output_dir", "img2img_batch_png_info_dir"],
)
def test_import_refuses_ui_tasks_that_name_server_folders(app_api, tmp_path, folder_input):
    inputs = {"prompt": "batch", "img2img_batch_input_dir": "", folder_input: str(tmp_path)}
    doc = {
        "format": "sd-forge-task-scheduler",
        "version": 1,
        "tasks": [{"task_type": "img2img", "params": {"source": "ui", "inputs": inputs}}],
    }
    response = app_api.client.post(f"{BASE}/import", json=doc)
    assert response.status_code == 422
    loc = ["body", "tasks", 0, "params", "inputs", folder_input]
    assert response.json()["detail"][0]["loc"] == loc
    assert app_api.queue.counts()["pending"] == 0
    inputs[folder_input] = ""  # the folders left empty, as an upload-batch task has them
    assert app_api.client.post(f"{BASE}/import", json=doc).status_code == 201


def test_import_refuses_task_files_missing_from_the_document(app_api):
    name = named(b"elsewhere")
    response = app_api.client.post(f"{BASE}/import", json=document({}, [name]))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:4] == ["body", "tasks", 0, "files"]


class _Exploit:
    """Unpickling this would create a marker file."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_import_never_unpickles_anything(app_api, tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Exploit(str(marker)))
    name = named(payload, "bin")
    params = {"source": "api", "payload": {"prompt": base64.b64encode(payload).decode()}}
    doc = document({name: base64.b64encode(payload).decode()}, [name], params)
    response = app_api.client.post(f"{BASE}/import", json=doc)
    assert response.status_code == 201
    task_id = response.json()["tasks"][0]["id"]
    app_api.client.post(f"{BASE}/start")
    app_api.wait_status(task_id, "completed", "failed")
    assert not marker.exists()
    assert app_api.services.files.read(name) == payload


# -- replaying references ----------------------------------------------------------------------


def test_restore_reads_only_the_tasks_own_files(app_api):
    own = app_api.services.files.put(b"own", "png")
    other = app_api.services.files.put(b"other", "png")
    payload = {"init_images": [{FILE_REF: other}]}
    with pytest.raises(ValueError, match="not one of the task's files"):
        restore_images(payload, app_api.services.files, allowed=[own])
    with pytest.raises(ValueError, match="not a plain file name"):
        restore_images({"x": {FILE_REF: "../x"}}, app_api.services.files, allowed=["../x"])


def test_restored_images_decode_to_the_bytes_the_client_sent(app_api):
    init = png_base64((1, 2, 3))
    body = {"init_images": [init], "mask": "data:image/png;base64," + png_base64((9, 9, 9))}
    task_id = app_api.client.post(f"{BASE}/queue/img2img", json=body).json()["id"]
    task = app_api.queue.get_task(task_id)
    restored = restore_images(task.params["payload"], app_api.services.files, task.files)
    assert restored == body


# -- server paths inside script args (a ControlNet unit's batch folders) -----------------------


def controlnet_unit(**changes) -> dict:
    """Forge's built-in ControlNetUnit (sd_forge_controlnet lib_controlnet/external_code.py)
    as the Queue button stores it: a dataclass marker with every field, enums as markers."""
    fields = {
        "input_mode": {"__ts_enum__": "InputMode", "value": "simple"},
        "use_preview_as_input": False,
        "batch_image_dir": "",
        "batch_mask_dir": "",
        "batch_input_gallery": None,
        "batch_mask_gallery": None,
        "generated_image": None,
        "mask_image": None,
        "mask_image_fg": None,
        "hr_option": {"__ts_enum__": "HiResFixOption", "value": "Both"},
        "enabled": True,
        "module": "canny",
        "model": "control_v11p_sd15_canny [d14c016b]",
        "weight": 1.0,
        "image": None,
        "image_fg": None,
        "resize_mode": {"__ts_enum__": "ResizeMode", "value": "Crop and Resize"},
        "processor_res": 512,
        "threshold_a": 100.0,
        "threshold_b": 200.0,
        "guidance_start": 0.0,
        "guidance_end": 1.0,
        "pixel_perfect": False,
        "control_mode": {"__ts_enum__": "ControlMode", "value": "Balanced"},
        "save_detected_map": True,
        **changes,
    }
    return {"__ts_dataclass__": "ControlNetUnit", "fields": fields}


def ui_controlnet_document(unit: dict) -> dict:
    script_args = {
        "selected": None,
        "scripts": {"Sampler": [20, "Euler", "Automatic"], "ControlNet": [unit, controlnet_unit()]},
    }
    params = {"source": "ui", "inputs": {"prompt": "controlled"}, "top_bar": {}}
    task = {"task_type": "txt2img", "params": params, "script_args": script_args}
    return {"format": "sd-forge-task-scheduler", "version": 1, "tasks": [task]}


SERVER_PATHS = [
    "/srv/private/images",
    "~/secrets",
    "../../outside",
    "images/../../../etc",
    "C:\\Users\\me\\Pictures",
    "D:/data",
    "\\\\fileserver\\share",
    "file:///etc",
]


@pytest.mark.parametrize("path", SERVER_PATHS)
@pytest.mark.parametrize("field", ["batch_image_dir", "batch_mask_dir"])
def test_import_refuses_a_controlnet_unit_naming_a_server_folder(app_api, field, path):
    document = ui_controlnet_document(
        controlnet_unit(input_mode={"__ts_enum__": "InputMode", "value": "batch"}, **{field: path})
    )
    response = app_api.client.post(f"{BASE}/import", json=document)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    loc = ["body", "tasks", 0, "script_args", "scripts", "ControlNet", 0, "fields", field]
    assert detail["loc"] == loc
    assert "server path" in detail["msg"]
    assert app_api.queue.counts()["pending"] == 0


def test_import_refuses_gallery_paths_in_a_controlnet_unit(app_api):
    unit = controlnet_unit(
        input_mode={"__ts_enum__": "InputMode", "value": "merge"},
        batch_input_gallery=[["/home/someone/photo.png", None]],
    )
    response = app_api.client.post(f"{BASE}/import", json=ui_controlnet_document(unit))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-3:] == ["batch_input_gallery", 0, 0]


def test_import_refuses_server_folders_in_an_api_tasks_controlnet_args(app_api):
    unit = {"enabled": True, "module": "canny", "input_mode": "batch", "batch_image_dir": "/srv"}
    params = {"source": "api", "payload": {"alwayson_scripts": {"ControlNet": {"args": [unit]}}}}
    response = app_api.client.post(f"{BASE}/import", json=document({}, [], params))
    assert response.status_code == 422
    loc = ["body", "tasks", 0, "params", "payload", "alwayson_scripts", "ControlNet", "args", 0]
    assert response.json()["detail"][0]["loc"] == [*loc, "batch_image_dir"]
    params["payload"]["script_args"] = ["~/.ssh"]
    unit["batch_image_dir"] = ""
    response = app_api.client.post(f"{BASE}/import", json=document({}, [], params))
    assert response.json()["detail"][0]["loc"][-3:] == ["payload", "script_args", 0]


def test_import_keeps_a_controlnet_unit_without_server_paths(app_api):
    unit = controlnet_unit(batch_image_dir="", model="sub/model.safetensors", module="a..b")
    response = app_api.client.post(f"{BASE}/import", json=ui_controlnet_document(unit))
    assert response.status_code == 201, response.text
    stored = app_api.queue.get_task(response.json()["tasks"][0]["id"])
    assert stored.script_args["scripts"]["ControlNet"][0] == unit


def test_api_enqueue_accepts_controlnet_batch_folders_as_sdapi_does(app_api):
    """The caller wrote this body and could send it to /sdapi with the same credentials."""
    unit = {"enabled": True, "input_mode": "batch", "batch_image_dir": "/srv/frames"}
    body = {"prompt": "frames", "alwayson_scripts": {"ControlNet": {"args": [unit]}}}
    response = app_api.client.post(f"{BASE}/queue/txt2img", json=body)
    assert response.status_code == 201, response.text
