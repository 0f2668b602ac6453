"""Where tasks are kept: the store contract (contract.py) and its back-ends, SQLite
(sqlite.py, the default: one file) and PostgreSQL (postgres.py: a server several machines
share), with their schemas and versioned migrations (schema.py, postgres_schema.py)."""

from __future__ import annotations

import os

from .contract import Store, is_server_url


def open_store(location: str | os.PathLike[str], busy_timeout: float = 30.0) -> Store:
    """The store at `location`: a `postgresql://` URL, or else a SQLite file path.

    PostgreSQL's driver is imported only here, when such a URL is given."""
    if is_server_url(location):
        from .postgres import PostgresStore

        return PostgresStore(str(location), lock_timeout=busy_timeout)
    from .sqlite import TaskStore

    return TaskStore(location, busy_timeout=busy_timeout)
