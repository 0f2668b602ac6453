"""Both store back-ends for the contract tests (a pytest plugin, tests/conftest.py): a test
marked `backends` (e.g. `pytestmark = pytest.mark.backends`) that uses `db_path` (or `queue`)
runs on SQLite and on PostgreSQL (ids `sqlite` / `postgresql`); any other test on SQLite.

PostgreSQL: the server of TASK_SCHEDULER_TEST_DATABASE_URL (default: 127.0.0.1:5432, database
`test`, trust auth); each test gets a throw-away schema of its own (tests of other sessions run
on the same server at the same time), dropped afterwards. Unreachable server or no psycopg:
the PostgreSQL tests fail under CI=true, and are skipped otherwise.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from task_scheduler.store.postgres import redacted

SERVER = os.environ.get("TASK_SCHEDULER_TEST_DATABASE_URL", "postgresql://root@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def schema_url(server: str, schema: str) -> str:
    """The URL of `server` with `schema` first on its search_path (the store's tables go there)."""
    joiner = "&" if "?" in server else "?"
    return f"{server}{joiner}options=-csearch_path%3D{schema}"


def _admin(server: str):
    try:
        import psycopg

        return psycopg.connect(server, autocommit=True, connect_timeout=5)
    except Exception as error:  # no driver, server down, refused
        message = f"PostgreSQL test server {redacted(server)} unavailable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL naming a fresh, empty schema on the test server (dropped after the test)."""
    admin = _admin(SERVER)
    schema = f"ts_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(SERVER, schema)
    finally:
        admin.execute("SET lock_timeout = '20s'")
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "backends: runs on both store back-ends, SQLite and PostgreSQL (backends.py)"
    )


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("backends") and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request) -> str:
    """The store back-end of this test: "sqlite" unless the test is marked `backends`."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def db_path(backend, tmp_path, request):
    """Where the queue is kept: a SQLite file, or a throw-away PostgreSQL schema."""
    if backend == "sqlite":
        return tmp_path / "tasks.sqlite3"
    return request.getfixturevalue("pg_url")
