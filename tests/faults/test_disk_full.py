"""A full disk under the data folder (a real tmpfs): an enqueue is refused with 507 and the
reason, nothing is half-written, the tasks already stored still run, and queueing works again
once space is freed. A disk that fills while a result is recorded loses nothing either.
"""

from __future__ import annotations

import io
import random

from task_scheduler.store.faults import KEEP_FREE_BYTES
from tests.api.conftest import png_base64
from tests.fakes import FakeHost

QUEUE = "/task-scheduler/queue"


def noise_png_base64(seed: int, side: int = 96) -> str:
    """A PNG that does not compress (random pixels): its file takes real space."""
    import base64

    from PIL import Image

    rng = random.Random(seed)
    pixels = bytes(rng.randrange(256) for _ in range(side * side * 3))
    image = Image.frombytes("RGB", (side, side), pixels)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def img2img(api, image: str):
    return api.client.post(f"{QUEUE}/img2img", json={"prompt": "winter", "init_images": [image]})


def txt2img(api, prompt: str = "a lighthouse"):
    return api.client.post(f"{QUEUE}/txt2img", json={"prompt": prompt, "steps": 2})


def stored(api) -> list[str]:
    return sorted(t.id for t in api.queue.list_tasks(limit=500).tasks)


def test_a_nearly_full_disk_refuses_new_tasks_with_507_and_the_stored_ones_still_run(
    small_disk, api_on
):
    disk = small_disk("48m")
    api = api_on(disk.path)
    queued = [txt2img(api, f"t{i}").json()["id"] for i in range(2)]
    queued.append(img2img(api, png_base64()).json()["id"])
    rows, inputs = stored(api), disk.files()

    disk.fill(leave=KEEP_FREE_BYTES // 2)  # another program took the space
    for refused in (img2img(api, noise_png_base64(1)), txt2img(api)):
        assert refused.status_code == 507
        detail = refused.json()["detail"]
        assert "Not enough disk space" in detail
        assert str(disk.path) in detail
        assert "nothing was stored" in detail
    assert stored(api) == rows
    assert disk.files() == inputs  # no input file of the refused task

    assert api.client.post("/task-scheduler/start").status_code == 200
    for task_id in queued:  # the tasks already stored run and record their results
        assert api.wait_status(task_id, "completed", "failed")["status"] == "completed"

    disk.free_up()
    again = img2img(api, noise_png_base64(1))
    assert again.status_code == 201
    assert api.wait_status(again.json()["id"], "completed")["images"]


def test_an_enqueue_meeting_a_disk_full_to_the_last_byte_leaves_no_file_and_no_row(
    small_disk, api_on
):
    disk = small_disk("16m")
    api = api_on(disk.path)
    api.queue.keep_free_bytes = 0  # no margin: the writes themselves meet the full disk
    first = txt2img(api, "stored before").json()["id"]
    rows, inputs = stored(api), disk.files()
    image = noise_png_base64(2)

    disk.fill()  # nothing left: the image file cannot be written
    response = img2img(api, image)
    assert response.status_code == 507, response.text
    assert "Not enough disk space" in response.json()["detail"]

    disk.free_up()
    import base64

    size = len(base64.b64decode(image))
    disk.fill(leave=-(-size // 4096) * 4096)  # room for the image file, none for the row
    response = img2img(api, image)
    assert response.status_code == 507, response.text
    assert stored(api) == rows  # no partial row
    assert disk.files() == inputs  # the file written for it was removed again
    assert not [n for n in disk.files() if n.startswith(".incoming-")]

    disk.free_up()
    again = img2img(api, image)
    assert again.status_code == 201
    assert api.client.post("/task-scheduler/start").status_code == 200
    assert api.wait_status(first, "completed")["status"] == "completed"
    assert api.wait_status(again.json()["id"], "completed")["images"]


def test_a_disk_filling_while_a_result_is_recorded_loses_nothing(small_disk, api_on, tmp_path):
    disk = small_disk("32m")
    host = FakeHost(output_dir=str(tmp_path / "outputs"))
    api = api_on(disk.path, host=host)
    stepped = host.pause_at("stepped")  # generated; its outcome not recorded yet
    task_id = txt2img(api).json()["id"]
    api.client.post("/task-scheduler/start")
    assert stepped.reached.wait(30)

    disk.fill()
    stepped.release.set()
    api.wait_for(lambda: api.services.executor.recording_fault is not None, "a failed record")
    assert api.services.executor.recording_fault.kind == "full"
    shown = api.client.get(f"/task-scheduler/tasks/{task_id}").json()
    assert shown["status"] == "running"  # still held by the worker, not lost or failed

    disk.free_up()
    done = api.wait_status(task_id, "completed", "failed")
    assert done["status"] == "completed"
    assert len(done["images"]) == 1
    assert done["infotext"]
    assert api.services.executor.recording_fault is None
