"""Cost of hostile input: time and server memory for bodies and peer databases that are refused.

Run: python bench/bench_hostile.py   (from the repository root, with the test environment)

Each hostile body of tests/api/hostile_server.py goes over HTTP to a server in its own process;
the figures are the request's wall time and the growth of the server's peak resident memory
(VmHWM). For scale: the same request of 10,000 ordinary tasks, which is imported. Then the
peer-import command line against a database of 150,000 rows (refused before reading them) and
one whose rows hold a list nested 100,000 deep and a 70 MB cell (those rows are skipped).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import httpx

from tests.api.hostile_server import BODIES, TASK, import_doc, peak_mb
from tests.peer_dbs import make_sachira_db, sachira_row

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def bench_bodies() -> None:
    data_dir = tempfile.mkdtemp(prefix="bench-hostile-")
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.api.hostile_server", data_dir],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = json.loads(server.stdout.readline())["port"]
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}/task-scheduler", timeout=300)
        bodies = {**BODIES, "10,000 ordinary tasks": lambda: ("/import", ordinary())}
        print(f"{'body':<24} {'size':>8} {'status':>6} {'time':>9} {'server peak +':>14}")
        for name, build in bodies.items():
            route, body = build()
            before = peak_mb(server.pid)
            start = time.perf_counter()
            reply = client.post(route, content=body, headers={"content-type": "application/json"})
            seconds = time.perf_counter() - start
            growth = peak_mb(server.pid) - before
            print(
                f"{name:<24} {len(body) / 2**20:>6.1f}MB {reply.status_code:>6} "
                f"{seconds * 1000:>7.0f}ms {growth:>12.1f}MB"
            )
    finally:
        server.stdin.close()
        server.wait(60)


def ordinary() -> bytes:
    return import_doc(b",".join([TASK] * 10_000))


def run_cli(db_path: str) -> tuple[int, str, float, float]:
    """The peer-import command line: (exit code, report line, seconds, peak resident MB).
    Its peak is measured by /usr/bin/time: a child forked from this process would count
    this process's memory at the fork."""
    data_dir = tempfile.mkdtemp(prefix="bench-peer-")
    from task_scheduler.core.queue_manager import QueueManager

    QueueManager(os.path.join(data_dir, "tasks.sqlite3")).close()
    command = [
        sys.executable,
        "-m",
        "task_scheduler.peers.importer",
        db_path,
        "--data-dir",
        data_dir,
    ]
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command], cwd=ROOT, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    lines = done.stdout.strip().splitlines()
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    return done.returncode, lines[1] if len(lines) > 1 else lines[-1], seconds, peak_kb / 1024


def bench_peer() -> None:
    folder = tempfile.mkdtemp(prefix="bench-peer-db-")
    many = make_sachira_db(os.path.join(folder, "many"), [])
    row = sachira_row()
    columns = ", ".join(row)
    with sqlite3.connect(many) as conn:
        conn.executemany(
            f"INSERT INTO tasks ({columns}) VALUES ({', '.join('?' * len(row))})",
            ([f"t{i}", *list(row.values())[1:]] for i in range(150_000)),
        )
    deep = sachira_row(id="deep")
    deep["params"] = '{"prompt": ' + "[" * 100_000 + "]" * 100_000 + "}"
    huge = sachira_row(id="huge")
    huge["params"] = json.dumps({"prompt": "a" * (70 * 2**20)})
    hostile = make_sachira_db(os.path.join(folder, "hostile"), [sachira_row(id="ok"), deep, huge])
    small = make_sachira_db(os.path.join(folder, "small"), [sachira_row(id="ok")])
    print(f"\n{'peer database':<36} {'exit':>4} {'time':>9} {'peak RSS':>9}  report")
    for name, path in (
        ("1 ordinary row (baseline)", small),
        ("150,000 rows", many),
        ("deep-nested row + 70 MB row + 1 ok", hostile),
    ):
        code, line, seconds, peak = run_cli(path)
        print(f"{name:<36} {code:>4} {seconds * 1000:>7.0f}ms {peak:>7.0f}MB  {line[:90]}")


if __name__ == "__main__":
    bench_bodies()
    bench_peer()
