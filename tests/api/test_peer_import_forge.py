"""Against a real Forge: another queue's database in the extensions folder is found, imported
over REST and its tasks run. Needs FORGE_DIR (see tests/forge_env/SETUP.md).

The database (Agent Scheduler's schema, tests/peer_dbs.py) sits in a folder of its own under
Forge's extensions folder for the duration of the module, as the real extension's would.
"""

from __future__ import annotations

import io
import os
import shutil

import pytest
from PIL import Image

from tests import peer_dbs as peers
from tests.integration.forge_process import ForgeProcess, forge_dir, install_extension

pytestmark = pytest.mark.forge

FORGE = forge_dir()
if FORGE is None or not (FORGE / "launch.py").is_file():
    pytest.skip("FORGE_DIR is not set to a Forge checkout", allow_module_level=True)

URL = "/task-scheduler/import/peer"
SMALL = {"width": 64, "height": 64, "steps": 2, "sampler_name": "Euler", "seed": 5}


@pytest.fixture(scope="module")
def forge(tmp_path_factory):
    install_extension(FORGE)
    folder = FORGE / "extensions" / f"zz-peer-import-test-{os.getpid()}"
    api_row = peers.agent_api_txt2img_row(
        name="from agent scheduler",
        args={**SMALL, "override_settings": {}, "alwayson_scripts": {}},
    )
    api_row["params"] = api_row["params"].replace(
        '"checkpoint": "randA.safetensors [0123456789]"', '"checkpoint": "randA.safetensors"'
    )
    ui_row = peers.agent_ui_txt2img_row(
        args={"width": 64, "height": 64, "enable_hr": False, "n_iter": 1}, checkpoint=None
    )
    peers.make_agent_db(str(folder), [api_row, ui_row])
    process = ForgeProcess(
        FORGE,
        tmp_path_factory.mktemp("forge-peer"),
        {"task_scheduler_start_on_launch": False, "sd_model_checkpoint": "randA.safetensors"},
        [],
    )
    try:
        yield process.start(), folder, (api_row, ui_row)
    finally:
        process.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_peer_database_in_forges_extensions_folder_is_imported_and_runs(forge):
    process, folder, (api_row, ui_row) = forge
    listed = process.api("GET", URL)
    assert listed.status_code == 200
    (source,) = (s for s in listed.json()["sources"] if s["folder"] == folder.name)
    assert (source["kind"], source["pending"], source["history"]) == ("agent-scheduler", 2, 0)

    reply = process.api("POST", URL, json={"source": source["id"]})

    assert reply.status_code == 201, reply.text
    report = reply.json()
    assert (report["imported"], report["skipped"]) == (2, 0)
    rows = {row["source_id"]: row for row in report["rows"]}
    assert rows[api_row["id"]]["warnings"] == []
    assert any("pickled" in w for w in rows[ui_row["id"]]["warnings"])
    # its steps, sampler and seed were in the pickle: the user sets them, as the warning says
    edit = {"steps": 2, "sampler_name": "Euler", "seed": 6}
    edited = process.api(
        "PATCH", f"/task-scheduler/tasks/{rows[ui_row['id']]['task_id']}", json=edit
    )
    assert edited.status_code == 200, edited.text
    assert process.api("POST", "/task-scheduler/start").status_code == 200
    api_task = process.wait_finished(rows[api_row["id"]]["task_id"])
    ui_task = process.wait_finished(rows[ui_row["id"]]["task_id"])

    assert (api_task.status.value, ui_task.status.value) == ("completed", "completed"), (
        api_task.error,
        ui_task.error,
    )
    assert api_task.checkpoint.startswith("randA.safetensors")
    assert "Steps: 2" in api_task.result_info
    assert "Seed: 5" in api_task.result_info
    assert "Seed: 6" in ui_task.result_info
    image = process.api("GET", f"/task-scheduler/tasks/{api_task.id}/images/0")
    assert image.status_code == 200
    with Image.open(io.BytesIO(image.content)) as picture:
        assert picture.size == (64, 64)
    # a second import adds nothing
    again = process.api("POST", URL, json={"source": source["id"]}).json()
    assert (again["imported"], again["already_imported"]) == (0, 2)
