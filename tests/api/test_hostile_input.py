"""Hostile documents are refused with bounded memory, naming the problem, storing nothing.

Bodies go over real HTTP to a server in its own process (tests/api/hostile_server.py), whose
peak resident memory (VmHWM) is read before and after each request: the figure is the server's
alone. Parsed unchecked, 54 MB of empty objects would take about 1.3 GB; the bound asserted is
a few copies of the body (what reading it takes), never a multiple of its values.
Times are not asserted here; bench/bench_hostile.py prints them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import httpx
import pytest

from tests.api import hostile_server
from tests.api.hostile_server import BODIES, peak_mb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# What reading a body may cost: uvicorn's chunks, Starlette's joined body, one measuring copy.
COPIES = 4
SLACK_MB = 40.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("hostile")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.api.hostile_server", str(data_dir)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = json.loads(process.stdout.readline())["port"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            yield process, client, data_dir
    finally:
        process.stdin.close()
        process.wait(60)


def send(server, name: str) -> tuple[httpx.Response, float, float]:
    """POST the named hostile body; the reply, the body's MB and the server's peak growth."""
    process, client, _data_dir = server
    route, body = BODIES[name]()
    before = peak_mb(process.pid)
    reply = client.post(
        f"/task-scheduler{route}", content=body, headers={"content-type": "application/json"}
    )
    return reply, len(body) / 2**20, peak_mb(process.pid) - before


def stored_tasks(server) -> int:
    _process, _client, data_dir = server
    with sqlite3.connect(data_dir / "tasks.sqlite3") as conn:
        return conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]


@pytest.mark.parametrize("name", ["many_tasks", "tiny_values", "enqueue_tiny_values"])
def test_a_body_of_millions_of_values_is_refused_413_before_it_is_parsed(server, name):
    reply, body_mb, growth = send(server, name)
    assert reply.status_code == 413, reply.text
    assert "JSON values" in reply.json()["detail"]
    assert "at most 2,000,000" in reply.json()["detail"]
    assert growth < COPIES * body_mb + SLACK_MB, f"{growth:.0f} MB for a {body_mb:.0f} MB body"
    assert stored_tasks(server) == 0


def test_a_list_nested_100000_deep_is_refused_422_without_recursing(server):
    reply, _body_mb, growth = send(server, "deep_list")
    assert reply.status_code == 422, reply.text
    (error,) = reply.json()["detail"]
    assert error["loc"] == ["body"]
    assert "nested 100,0" in error["msg"]
    assert "at most 80" in error["msg"]
    assert growth < SLACK_MB
    assert stored_tasks(server) == 0


def test_nesting_past_the_field_limit_is_refused_naming_the_field(server):
    """Between 64 and 80 levels the body passes the cheap count; the import's own check
    names where (api_payload.MAX_DEPTH)."""
    _process, client, _data_dir = server
    nested: list = []
    for _ in range(70):
        nested = [nested]
    document = {"tasks": [{"task_type": "txt2img", "params": {"source": "api", "payload": {}}}]}
    document["tasks"][0]["params"]["payload"]["script_args"] = nested
    reply = client.post("/task-scheduler/import", json=document)
    assert reply.status_code == 422, reply.text
    (error,) = reply.json()["detail"]
    assert error["loc"][:5] == ["body", "tasks", 0, "params", "payload"]
    assert "nested deeper than 64 levels" in error["msg"]
    assert stored_tasks(server) == 0


def test_a_huge_prompt_in_an_import_is_refused_naming_the_field(server):
    reply, body_mb, growth = send(server, "huge_prompt")
    assert reply.status_code == 422, reply.text
    (error,) = reply.json()["detail"]
    assert error["loc"] == ["body", "tasks", 0, "params", "payload", "prompt"]
    assert "characters" in error["msg"]
    assert growth < COPIES * body_mb + SLACK_MB, f"{growth:.0f} MB for a {body_mb:.0f} MB body"
    assert stored_tasks(server) == 0


def test_a_document_after_hostile_ones_is_still_imported_whole(server):
    _process, client, _data_dir = server
    task = json.loads(hostile_server.TASK)
    reply = client.post("/task-scheduler/import", json={"tasks": [task, task]})
    assert reply.status_code == 201, reply.text
    assert len(reply.json()["tasks"]) == 2
    assert stored_tasks(server) == 2


# -- another queue's database, through the command line ------------------------------------------


def run_peer_cli(tmp_path, db_path: str) -> tuple[int, str, float]:
    """`python -m task_scheduler.peers.importer DB --data-dir ...`: exit code, output and its
    peak resident MB (measured by /usr/bin/time, so nothing of this process is counted)."""
    from task_scheduler.core.queue_manager import QueueManager

    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    QueueManager(data_dir / "tasks.sqlite3").close()  # the extension ran there once
    command = [sys.executable, "-m", "task_scheduler.peers.importer", db_path]
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command, "--data-dir", str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    return done.returncode, done.stdout, peak_kb / 1024


def our_pending(tmp_path) -> int:
    with sqlite3.connect(tmp_path / "data" / "tasks.sqlite3") as conn:
        return conn.execute("SELECT COUNT(*) FROM tasks WHERE status = 'pending'").fetchone()[0]


def test_a_database_of_150000_tasks_is_refused_before_its_rows_are_read(tmp_path):
    from tests.peer_dbs import make_sachira_db, sachira_row

    path = make_sachira_db(str(tmp_path / "peer"), [])
    row = sachira_row()
    with sqlite3.connect(path) as conn:
        conn.executemany(
            f"INSERT INTO tasks ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            ([f"t{i}", *list(row.values())[1:]] for i in range(150_000)),
        )
    code, output, peak = run_peer_cli(tmp_path, path)
    assert code == 2, output
    assert "holds 150,000 tasks to import; at most 100,000" in output
    assert our_pending(tmp_path) == 0
    assert peak < 150, f"{peak:.0f} MB"  # the command itself, Python and its imports: ~60 MB


def test_deep_huge_and_duplicated_rows_are_skipped_with_reasons_and_the_rest_imported(tmp_path):
    """A list nested 100,000 deep, a 70 MB cell and a second row with the same id (a file
    without a unique id column): each skipped with its reason, the good row imported, memory
    within a few copies of the largest cell read (64 MB)."""
    from tests.peer_dbs import SACHIRA_DDL, sachira_row

    path = str(tmp_path / "task_queue.db")
    with sqlite3.connect(path) as conn:
        conn.execute(SACHIRA_DDL[0].replace("id TEXT PRIMARY KEY", "id TEXT"))
        rows = [sachira_row(id="ok"), sachira_row(id="deep"), sachira_row(id="huge")]
        rows.append(sachira_row(id="ok", name="the same id again"))
        rows[1]["params"] = '{"prompt": ' + "[" * 100_000 + "]" * 100_000 + "}"
        rows[2]["params"] = json.dumps({"prompt": "a" * (70 * 2**20)})
        for row in rows:
            row = {k: v for k, v in row.items() if k not in ("requeued_task_id", "capture_format")}
            insert = f"INSERT INTO tasks ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
            conn.execute(insert, list(row.values()))
    code, output, peak = run_peer_cli(tmp_path, path)
    assert code == 0, output
    assert "imported 1, skipped 3" in output
    assert "skipped deep: params: nested 100,00" in output
    assert "skipped huge: params: larger than 64 MB" in output
    assert "skipped ok: another row of the other queue has the same id" in output
    assert our_pending(tmp_path) == 1
    assert peak < 400, f"{peak:.0f} MB"
