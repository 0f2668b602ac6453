"""Importing SachiraChin's and Agent Scheduler's queues from real database files.

The files are built with the other extensions' exact schemas and written the way their code
writes rows (tests/peer_dbs.py), including odd rows: bad JSON, missing fields, an unknown
sampler, pickled script args, a missing init image, unsupported img2img modes.
"""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
import subprocess
import sys
import threading
import zlib

import pytest

from task_scheduler.api.payload import FILE_REF
from task_scheduler.core.affinity import Rules
from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.files import FileStore
from task_scheduler.core.models import TaskStatus
from task_scheduler.peers.importer import ALREADY, import_source
from task_scheduler.peers.sources import (
    AGENT,
    SACHIRA,
    PeerSourceError,
    find_sources,
    inspect_file,
)
from tests import peer_dbs as peers
from tests.fakes import FakeHost

WAIT = 30
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def files(tmp_path):
    return FileStore(tmp_path / "inputs")


@pytest.fixture
def extensions(tmp_path):
    path = tmp_path / "extensions"
    path.mkdir()
    return path


def run_import(queue, files, path, history=False, catalog=None):
    source = inspect_file(str(path))
    return import_source(queue, files, catalog or peers.peer_catalog(), source, history)


def by_source(report):
    return {row.source_id: row for row in report.rows}


def payload_of(queue, task_id):
    task = queue.get_task(task_id)
    assert task.params["source"] == "api"
    return task, task.params["payload"]


# -- finding and recognising files ----------------------------------------------------------------


def test_both_kinds_are_found_in_the_extensions_folder_and_other_files_are_refused(
    extensions, queue, db_path, tmp_path
):
    peers.make_sachira_db(str(extensions / "sd-webui-forge-task-scheduler"), [peers.sachira_row()])
    peers.make_agent_db(
        str(extensions / "sd-webui-agent-scheduler"),
        [peers.agent_api_txt2img_row(), peers.agent_api_txt2img_row(status="done")],
    )
    # a renamed folder is still found by its file; a file of another schema is not taken
    peers.make_agent_db(str(extensions / "my-agent-fork"), [])
    other = extensions / "some-extension"
    other.mkdir()
    sqlite3.connect(other / "task_queue.db").execute("CREATE TABLE tasks (id TEXT)").close()
    (extensions / "notes-extension").mkdir()
    (extensions / "notes-extension" / "task_scheduler.sqlite3").write_text("not sqlite")

    found = {s.folder: s for s in find_sources([str(extensions)])}

    assert set(found) == {
        "sd-webui-forge-task-scheduler",
        "sd-webui-agent-scheduler",
        "my-agent-fork",
    }
    sachira = found["sd-webui-forge-task-scheduler"]
    assert (sachira.kind, sachira.pending, sachira.history) == (SACHIRA, 1, 0)
    agent = found["sd-webui-agent-scheduler"]
    assert (agent.kind, agent.pending, agent.history) == (AGENT, 1, 1)
    assert str(tmp_path) not in agent.id  # the API's handle names no path

    queue.add_task("txt2img", {"source": "api", "payload": {"prompt": "ours"}})
    for path, message in [
        (db_path, "not a database of"),  # our own queue looks like SachiraChin's: refused
        (other / "task_queue.db", "not a database of"),
        (extensions / "notes-extension" / "task_scheduler.sqlite3", "not a readable SQLite"),
        (tmp_path / "nowhere.db", "no such file"),
    ]:
        with pytest.raises(PeerSourceError, match=message):
            inspect_file(str(path))
    assert not (tmp_path / "nowhere.db").exists()  # read-only opening never creates a file


def test_agent_schedulers_command_line_file_is_found(extensions, tmp_path):
    folder = extensions / "sd-webui-agent-scheduler"
    peers.make_agent_db(str(folder), [peers.agent_api_txt2img_row()])
    os.rename(folder / "task_scheduler.sqlite3", folder / "queue.sqlite3")
    elsewhere = tmp_path / "shared" / "agent.sqlite3"
    peers.make_agent_db(str(elsewhere.parent), [])
    os.rename(elsewhere.parent / "task_scheduler.sqlite3", elsewhere)

    relative = find_sources([str(extensions)], agent_file="queue.sqlite3")
    absolute = find_sources([str(extensions)], agent_file=str(elsewhere))

    assert [s.path for s in relative] == [str(folder / "queue.sqlite3")]
    assert [s.path for s in absolute] == [str(elsewhere)]


# -- SachiraChin ----------------------------------------------------------------------------------


def test_sachira_pending_tasks_keep_their_parameters_order_and_script_args(
    extensions, queue, files
):
    folder = str(extensions / "sd-webui-forge-task-scheduler")
    later = peers.sachira_row(name="second", priority=0)
    first = peers.sachira_row(
        name="urgent", priority=-1, params={"prompt": "first of all", "seed": 7}
    )
    hires = peers.sachira_row(
        params={
            "enable_hr": True,
            "denoising_strength": 0.4,
            "hr_scale": 2.0,
            "hr_upscaler": "R-ESRGAN 4x+",
            "hr_second_pass_steps": 8,
            "hr_sampler_name": "Use same sampler",
            "hr_scheduler": "Use same scheduler",
            "hr_prompt": "sharper",
        },
        priority=3,
    )
    path = peers.make_sachira_db(folder, [later, hires, first])

    report = run_import(queue, files, path)

    assert (report.imported, report.skipped, report.already_imported) == (3, 0, 0)
    order = [t.id for t in queue.get_pending_tasks()]
    rows = by_source(report)
    assert order == [
        rows[first["id"]].task_id,
        rows[later["id"]].task_id,
        rows[hires["id"]].task_id,
    ]
    task, payload = payload_of(queue, rows[first["id"]].task_id)
    assert (task.name, task.priority, task.checkpoint) == (
        "urgent",
        -1,
        "randA.safetensors [0123456789]",
    )
    assert (task.task_type, task.status) == ("txt2img", TaskStatus.PENDING)
    assert {k: payload[k] for k in ("prompt", "negative_prompt", "seed", "steps")} == {
        "prompt": "first of all",
        "negative_prompt": "blurry",
        "seed": 7,
        "steps": 24,
    }
    assert (payload["sampler_name"], payload["scheduler"], payload["cfg_scale"]) == (
        "Euler a",
        "Karras",
        6.5,
    )
    assert (payload["width"], payload["height"], payload["batch_size"], payload["n_iter"]) == (
        640,
        448,
        2,
        3,
    )
    assert payload["override_settings"] == {"CLIP_stop_at_last_layers": 2}
    # FreeU is an always-on script here: carried by title; X/Y/Z plot (not selected) and the
    # built-in Sampler script are not; an extension this Forge lacks is named in a warning
    assert payload["alwayson_scripts"] == {"FreeU": {"args": [True, 1.01]}}
    assert task.warnings == [
        "script args of 'Unknown Ext' not carried over: no always-on script of that title on "
        "this Forge"
    ]
    _, hires_payload = payload_of(queue, rows[hires["id"]].task_id)
    assert {k: hires_payload[k] for k in ("enable_hr", "hr_scale", "hr_upscaler", "hr_prompt")} == {
        "enable_hr": True,
        "hr_scale": 2.0,
        "hr_upscaler": "R-ESRGAN 4x+",
        "hr_prompt": "sharper",
    }


def test_sachira_odd_rows_are_skipped_or_warned_with_reasons(extensions, queue, files):
    folder = str(extensions / "sd-webui-forge-task-scheduler")
    init = peers.sachira_init_image(folder)
    img2img = peers.sachira_row(
        "img2img", params={"init_images": [init], "denoising_strength": 0.3}
    )
    gone = peers.sachira_row(
        "img2img", params={"init_images": [os.path.join(folder, "temp_images", "gone.png")]}
    )
    outside = peers.sachira_row("img2img", params={"init_images": [str(extensions / "secret.png")]})
    (extensions / "secret.png").write_bytes(peers.png_bytes())
    bad_json = {**peers.sachira_row(), "params": '{"prompt": "unterminated'}
    unknown_sampler = peers.sachira_row(params={"sampler_name": "Euler Ultra"})
    unknown_checkpoint = peers.sachira_row(checkpoint="gone.safetensors [ffff]")
    sparse = peers.sachira_row(
        drop_params=["negative_prompt", "steps", "_script_args_labeled", "ui_settings"],
        script_args=None,
        name=None,
    )
    bad_type = peers.sachira_row(params={"steps": "many"})
    selected = peers.sachira_row(script_args=json.dumps([2, *peers.SACHIRA_SCRIPT_ARGS[1:]]))
    path = peers.make_sachira_db(
        folder,
        [
            img2img,
            gone,
            outside,
            bad_json,
            unknown_sampler,
            unknown_checkpoint,
            sparse,
            bad_type,
            selected,
        ],
    )

    report = run_import(queue, files, path)
    rows = by_source(report)

    assert (report.imported, report.skipped) == (5, 4)
    assert rows[gone["id"]].reason.endswith("no longer exists")
    assert "is outside" in rows[outside["id"]].reason  # a database cannot make us read any file
    assert rows[bad_json["id"]].reason == "params: not valid JSON"
    assert (rows[bad_json["id"]].label, rows[unknown_sampler["id"]].label) == (
        "",
        "a red fox in snow",
    )
    assert rows[bad_type["id"]].reason.startswith("parameters: steps:")
    task, payload = payload_of(queue, rows[img2img["id"]].task_id)
    (name,) = task.files
    assert payload["init_images"] == [{FILE_REF: name}]
    with open(init, "rb") as handle:
        assert files.read(name) == handle.read()  # the same bytes, now in our file store
    task, payload = payload_of(queue, rows[unknown_sampler["id"]].task_id)
    assert "sampler_name" not in payload
    assert any("sampler 'Euler Ultra' is unknown" in w for w in task.warnings)
    task = queue.get_task(rows[unknown_checkpoint["id"]].task_id)
    assert task.checkpoint == ""
    assert any("checkpoint 'gone.safetensors [ffff]' is unknown" in w for w in task.warnings)
    task, payload = payload_of(queue, rows[sparse["id"]].task_id)
    assert not {"negative_prompt", "steps"} & set(payload)
    assert task.name == ""
    assert task.warnings == []
    task = queue.get_task(rows[selected["id"]].task_id)
    assert "the selected script (entry 2 of the Script menu) was not carried over" in task.warnings


def test_sachira_dynamic_capture_keeps_only_what_sdapi_replays(extensions, queue, files):
    """The "dynamic" format dumps every JSON-able attribute of the processing object."""
    row = peers.sachira_row(
        capture_format="dynamic",
        params={
            "s_tmax": float("inf"),  # json.dumps writes Infinity; Forge's default is meant
            "s_churn": 0.0,
            "all_prompts": [],
            "sd_model_name": "randA",
            "iteration": 0,
            "script_args": [0, 20],
            "cached_c": [None, None],
            "override_settings": {"sd_vae": "Automatic"},
            "hr_additional_modules": ["Use same choices"],
        },
    )
    path = peers.make_sachira_db(str(extensions / "sd-webui-forge-task-scheduler"), [row])

    report = run_import(queue, files, path)

    assert report.imported == 1
    _, payload = payload_of(queue, report.rows[0].task_id)
    assert not {"s_tmax", "all_prompts", "sd_model_name", "iteration", "cached_c"} & set(payload)
    assert "script_args" not in payload  # the selected script's args in sdapi: not these
    assert payload["s_churn"] == 0.0
    assert payload["hr_additional_modules"] == ["Use same choices"]
    assert payload["override_settings"] == {"sd_vae": "Automatic", "CLIP_stop_at_last_layers": 2}


def test_sachira_history_comes_only_on_request_with_results(extensions, queue, files):
    folder = str(extensions / "sd-webui-forge-task-scheduler")
    done = peers.sachira_finished("completed", ["outputs/txt2img/0001.png", "log.txt"], name="kept")
    failed = peers.sachira_finished("failed", [], error="CUDA out of memory")
    stopped = peers.sachira_finished("stopped", ["outputs/txt2img/0002.png"])
    running = peers.sachira_row(status="running")
    pending = peers.sachira_row()
    path = peers.make_sachira_db(folder, [done, failed, stopped, running, pending])

    first = run_import(queue, files, path)
    assert [r.source_id for r in first.rows] == [pending["id"]]
    report = run_import(queue, files, path, history=True)
    rows = by_source(report)

    assert rows[pending["id"]].outcome == ALREADY
    assert report.imported == 4
    task = queue.get_task(rows[done["id"]].task_id)
    assert (task.status, task.name, task.result_images) == (
        TaskStatus.COMPLETED,
        "kept",
        ["outputs/txt2img/0001.png"],  # only image files are kept as results
    )
    assert task.result_info.startswith("a red fox in snow")
    assert task.completed_at > task.started_at
    task = queue.get_task(rows[failed["id"]].task_id)
    assert (task.status, task.error) == (TaskStatus.FAILED, "CUDA out of memory")
    assert queue.get_task(rows[stopped["id"]].task_id).status == TaskStatus.CANCELLED
    task = queue.get_task(rows[running["id"]].task_id)
    assert task.status == TaskStatus.FAILED
    assert "was running" in task.error
    assert len(queue.get_pending_tasks()) == 1  # history never runs


# -- Agent Scheduler ------------------------------------------------------------------------------


def test_agent_api_and_ui_tasks_are_queued_and_pickles_are_never_loaded(
    extensions, queue, files, tmp_path
):
    marker = tmp_path / "unpickled"

    class Exploit:  # loading this pickle would create the marker file
        def __reduce__(self):
            return (open, (str(marker), "w"))

    blob = zlib.compress(pickle.dumps([0, Exploit()]))
    api_row = peers.agent_api_txt2img_row(name="api task")
    ui_row = peers.agent_ui_txt2img_row(script_params=blob)
    api_img = peers.agent_api_img2img_row()
    ui_img = peers.agent_ui_img2img_row(mode=0)
    inpaint = peers.agent_ui_img2img_row(mode=4)
    sketch = peers.agent_ui_img2img_row(mode=3)
    no_args = {**peers.agent_api_txt2img_row(), "params": json.dumps({"is_ui": False})}
    odd_sampler = peers.agent_api_txt2img_row(args={"sampler_name": "Restart Turbo"})
    path = peers.make_agent_db(
        str(extensions / "sd-webui-agent-scheduler"),
        [api_row, ui_row, api_img, ui_img, inpaint, sketch, no_args, odd_sampler],
    )

    report = run_import(queue, files, path)
    rows = by_source(report)

    assert not marker.exists()
    assert (report.imported, report.skipped) == (6, 2)
    assert rows[sketch["id"]].reason.startswith("img2img mode 3")
    assert rows[no_args["id"]].reason == "params: no 'args' object"
    # run order is Agent Scheduler's priority order (checkpoint grouping off: it may regroup
    # tasks still in arrival order, as for any other tasks)
    expected = [api_row, ui_row, api_img, ui_img, inpaint, odd_sampler]
    queue.affinity_rules = lambda: Rules(enabled=False)
    assert [t.id for t in queue.get_pending_tasks()] == [rows[r["id"]].task_id for r in expected]

    task, payload = payload_of(queue, rows[api_row["id"]].task_id)
    assert (task.name, task.checkpoint, task.priority) == (
        "api task",
        "randA.safetensors [0123456789]",
        0,
    )
    assert {k: payload[k] for k in ("prompt", "seed", "steps", "sampler_name", "cfg_scale")} == {
        "prompt": "api lighthouse",
        "seed": 99,
        "steps": 12,
        "sampler_name": "Euler",
        "cfg_scale": 7.0,
    }
    assert not {"sampler_index", "styles"} & set(payload)  # None there: Forge's default
    assert payload["alwayson_scripts"] == {"FreeU": {"args": [True, 1.1]}}
    assert task.warnings == []  # its pickle holds an empty list, recognised without loading

    task, payload = payload_of(queue, rows[ui_row["id"]].task_id)
    assert task.checkpoint == "randB.safetensors [abcdef0123]"
    assert (payload["styles"], payload["width"]) == (["Style A"], 768)
    assert (payload["enable_hr"], payload["hr_scale"], payload["hr_second_pass_steps"]) == (
        True,
        1.5,
        10,
    )
    assert payload["override_settings"] == {"CLIP_stop_at_last_layers": 2}
    assert not {"steps", "id_task", "request"} & set(payload)
    assert any(w.startswith("steps, sampler_name, seed not carried over") for w in task.warnings)
    assert any(
        w.startswith("script arguments not carried over: Agent Scheduler stored them pickled")
        for w in task.warnings
    )

    task, payload = payload_of(queue, rows[api_img["id"]].task_id)
    (name,) = task.files
    assert payload["init_images"] == [{FILE_REF: name, "prefix": "data:image/png;base64,"}]
    assert files.read(name) == peers.png_bytes((1, 2, 3))

    from PIL import Image

    task, payload = payload_of(queue, rows[inpaint["id"]].task_id)
    assert set(payload) >= {"init_images", "mask"}
    assert len(task.files) == 2
    with Image.open(files.path(payload["mask"][FILE_REF])) as mask:
        assert (mask.size, mask.getpixel((0, 0))) == ((12, 10), (255, 255, 255))
    task, payload = payload_of(queue, rows[ui_img["id"]].task_id)
    with Image.open(files.path(payload["init_images"][0][FILE_REF])) as image:
        assert (image.size, image.getpixel((3, 3))) == ((12, 10), (40, 50, 60))
    assert payload["inpaint_full_res"] is False
    assert "img2img_batch_input_dir" not in payload

    task, payload = payload_of(queue, rows[odd_sampler["id"]].task_id)
    assert not {"sampler_name", "sampler_index"} & set(payload)
    assert any("sampler 'Restart Turbo' is unknown" in w for w in task.warnings)


def test_agent_history_keeps_results_errors_and_bookmarks(extensions, queue, files):
    result = {
        "images": ["outputs/a.png", "outputs/b.png"],
        "geninfo": {"infotexts": ["fox, Steps: 12"], "all_seeds": [5, 6]},
    }
    done = peers.agent_api_txt2img_row(
        status="done", result=json.dumps(result), bookmarked=True,
        created_at="2025-10-01 08:00:00", updated_at="2025-10-01 08:01:30.250000",
    )  # fmt: skip
    failed = peers.agent_api_txt2img_row(status="failed", result="Sampler not found")
    interrupted = peers.agent_api_txt2img_row(status="interrupted")
    running = peers.agent_api_txt2img_row(status="running")
    odd = peers.agent_api_txt2img_row(status="archived")
    path = peers.make_agent_db(
        str(extensions / "sd-webui-agent-scheduler"), [done, failed, interrupted, running, odd]
    )

    report = run_import(queue, files, path, history=True)
    rows = by_source(report)

    assert (report.imported, report.skipped) == (4, 1)
    assert rows[odd["id"]].reason == "status 'archived' is not one this import knows"
    task = queue.get_task(rows[done["id"]].task_id)
    assert (task.status, task.bookmarked) == (TaskStatus.COMPLETED, True)
    assert (task.result_images, task.result_seeds, task.result_info) == (
        ["outputs/a.png", "outputs/b.png"],
        [5, 6],
        "fox, Steps: 12",
    )
    assert task.completed_at - task.created_at == pytest.approx(90.25)  # UTC times kept
    assert queue.get_task(rows[failed["id"]].task_id).error == "Sampler not found"
    assert queue.get_task(rows[interrupted["id"]].task_id).status == TaskStatus.CANCELLED
    assert "was running in Agent Scheduler" in queue.get_task(rows[running["id"]].task_id).error


# -- the import as a whole ------------------------------------------------------------------------


def test_importing_twice_adds_nothing_the_second_time(extensions, queue, files):
    path = peers.make_agent_db(
        str(extensions / "sd-webui-agent-scheduler"),
        [peers.agent_api_txt2img_row(), peers.agent_ui_img2img_row(), peers.agent_ui_txt2img_row()],
    )
    first = run_import(queue, files, path, history=True)
    second = run_import(queue, files, path, history=True)

    assert (first.imported, second.imported, second.already_imported) == (3, 0, 3)
    assert len(queue.get_pending_tasks()) == 3
    assert [r.task_id for r in second.rows] == [r.task_id for r in first.rows]


def test_concurrent_imports_of_one_source_never_duplicate(extensions, queue, files):
    rows = [peers.sachira_row(name=f"t{i}") for i in range(20)]
    path = peers.make_sachira_db(str(extensions / "sd-webui-forge-task-scheduler"), rows)
    barrier = threading.Barrier(4)
    reports = []

    def worker():
        barrier.wait()
        reports.append(run_import(queue, files, path))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)

    assert len(reports) == 4
    assert sum(r.imported for r in reports) == 20
    assert sorted(t.name for t in queue.get_pending_tasks()) == sorted(r["name"] for r in rows)


def test_a_failure_part_way_leaves_nothing_and_a_retry_imports_everything(
    extensions, queue, files, db_path
):
    folder = str(extensions / "sd-webui-forge-task-scheduler")
    init = peers.sachira_init_image(folder, color=(9, 8, 7))
    rows = [peers.sachira_row(name=f"t{i}") for i in range(4)]
    rows.insert(1, peers.sachira_row("img2img", params={"init_images": [init]}))
    path = peers.make_sachira_db(folder, rows)
    queue.add_task("txt2img", {"source": "api", "payload": {"prompt": "already here"}})
    # a real SQLite failure on the third insert of the import's transaction
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "CREATE TRIGGER fail_third AFTER INSERT ON tasks "
            "WHEN (SELECT COUNT(*) FROM tasks) >= 4 BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )

    with pytest.raises(sqlite3.IntegrityError, match="disk trouble"):
        run_import(queue, files, path)

    assert [t.params["payload"]["prompt"] for t in queue.get_pending_tasks()] == ["already here"]
    assert queue.imported_keys("") == {}
    assert os.listdir(files.root) == []  # the copied init image went with it
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TRIGGER fail_third")
    report = run_import(queue, files, path)
    assert (report.imported, len(queue.get_pending_tasks())) == (5, 6)


def _bytes_and_mtime(path):
    with open(path, "rb") as handle:
        return handle.read(), os.stat(path).st_mtime_ns


def test_the_other_database_is_never_written(extensions, queue, files):
    folder = extensions / "sd-webui-forge-task-scheduler"
    init = peers.sachira_init_image(str(folder))
    path = peers.make_sachira_db(
        str(folder),
        [peers.sachira_row(), peers.sachira_row("img2img", params={"init_images": [init]})],
    )
    agent = peers.make_agent_db(
        str(extensions / "sd-webui-agent-scheduler"), [peers.agent_ui_txt2img_row()]
    )
    before = {p: _bytes_and_mtime(p) for p in (path, agent, init)}
    listing = {p: sorted(os.listdir(os.path.dirname(p))) for p in (path, agent)}

    find_sources([str(extensions)])
    run_import(queue, files, path, history=True)
    run_import(queue, files, agent, history=True)

    after = {p: _bytes_and_mtime(p) for p in before}
    assert after == before
    # no journal, WAL or shared-memory file was created beside them
    assert {p: sorted(os.listdir(os.path.dirname(p))) for p in (path, agent)} == listing


def test_an_imported_txt2img_task_runs_through_the_worker(extensions, queue, files, tmp_path):
    path = peers.make_agent_db(
        str(extensions / "sd-webui-agent-scheduler"),
        [peers.agent_api_txt2img_row(args={"steps": 3, "seed": 4242})],
    )
    report = run_import(queue, files, path)
    host = FakeHost(output_dir=str(tmp_path / "outputs"))
    finished = threading.Event()
    queue.subscribe(lambda event, _id: finished.set() if event == "finished" else None)
    executor = TaskExecutor(queue, host)
    try:
        executor.start()
        assert finished.wait(WAIT)
    finally:
        executor.shutdown(timeout=WAIT, interrupt=True)

    task = queue.get_task(report.rows[0].task_id)
    assert host.ran == [task.id]
    assert (task.status, task.result_seeds) == (TaskStatus.COMPLETED, [4242])
    assert os.path.isfile(task.result_images[0])


# -- command line ---------------------------------------------------------------------------------


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "task_scheduler.peers.importer", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_line_imports_a_file_anywhere_and_refuses_other_files(tmp_path):
    data = tmp_path / "data"
    from task_scheduler.core.queue_manager import QueueManager

    QueueManager(data / "tasks.sqlite3").close()
    path = peers.make_agent_db(str(tmp_path / "backup"), [peers.agent_ui_txt2img_row(name="cli")])
    (tmp_path / "passwords.txt").write_text("secret")

    dry = _cli(path, "--data-dir", data, "--dry-run")
    done = _cli(path, "--data-dir", data)
    again = _cli(path, "--data-dir", data)
    refused = _cli(tmp_path / "passwords.txt", "--data-dir", data)

    assert (dry.returncode, done.returncode, refused.returncode) == (0, 0, 2)
    assert "would import 1, skipped 0" in dry.stdout
    assert "imported 1, skipped 0, already imported 0" in done.stdout
    assert "already imported 1" in again.stdout
    assert "not a readable SQLite database" in refused.stdout
    assert "secret" not in refused.stdout + refused.stderr
    queue = QueueManager(data / "tasks.sqlite3")
    try:
        assert [t.name for t in queue.get_pending_tasks()] == ["cli"]
    finally:
        queue.close()


def test_a_blob_check_never_needs_the_pickle():
    """The empty-list recognition compares bytes; nothing is unpickled."""
    import task_scheduler.peers.agent as agent

    assert agent._blob_bytes(zlib.compress(pickle.dumps([]))) in agent._EMPTY_BLOBS
    assert agent._blob_bytes(zlib.compress(pickle.dumps([0]))) not in agent._EMPTY_BLOBS


def test_an_init_image_removed_while_the_import_commits_is_written_again(
    extensions, queue, files, monkeypatch
):
    folder = str(extensions / "sd-webui-forge-task-scheduler")
    init = peers.sachira_init_image(folder)
    path = peers.make_sachira_db(
        folder, [peers.sachira_row("img2img", params={"init_images": [init]})]
    )
    add_imported = queue.add_imported

    def delete_of_a_sharing_task_lands_first(entries, *args, **kwargs):
        for _key, task in entries:  # what a delete of another task using the image does
            for name in task.files:
                os.remove(files.path(name))
        return add_imported(entries, *args, **kwargs)

    missing_when_visible = []

    def on_change(event, task_id):  # the moment the task is committed and announced
        if event == "added":
            task = queue.get_task(task_id)
            missing_when_visible.extend(n for n in task.files if not files.exists(n))

    queue.subscribe(on_change)
    monkeypatch.setattr(queue, "add_imported", delete_of_a_sharing_task_lands_first)
    report = run_import(queue, files, path)

    assert report.imported == 1
    assert missing_when_visible == []
    (task,) = queue.get_pending_tasks()
    (name,) = task.files
    with open(files.path(name), "rb") as stored, open(init, "rb") as original:
        assert stored.read() == original.read()
