"""Limits on what an import reads from another queue extension's database (bounded memory).

A database file is whatever was found on disk: it may hold millions of rows, cells of
hundreds of megabytes, JSON nested 100,000 deep, or the same task id twice. Before any row is
read, the rows to import are counted and their JSON text measured in SQL (`check_size`):
past MAX_ROWS or MAX_TOTAL_CHARS the import is refused (PeerSourceTooLarge, HTTP 413) with
nothing stored. Rows are then read one at a time (`rows_in_order`: SQLite sorts only row ids
and short keys, never wide rows), each text cell cut at MAX_CELL_CHARS in SQL (`capped`) and
measured before it is parsed (`loads_cell`, json_bounds.py): a cell over a limit skips its
row with the reason, as any other row that cannot be imported.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from ..core.json_bounds import JSONTooDeep, JSONTooLarge, loads_bounded
from .sources import PeerSourceError
from .tasks import RowSkipped

MAX_ROWS = 100_000  # ten times the default "most pending tasks"; history included
MAX_CELL_CHARS = 64 * 2**20  # one task's params: a few init images as base64 fit
MAX_TOTAL_CHARS = 512 * 2**20  # all JSON text one import reads, summed over its rows
MAX_CELL_VALUES = 200_000  # JSON values in one cell; a task needs a few hundred


class PeerSourceTooLarge(PeerSourceError):
    """The rows to import are too many or too large to read at once (HTTP 413)."""


def check_size(
    conn: sqlite3.Connection,
    table: str,
    where: str,
    args: Sequence[Any],
    text_columns: Sequence[str],
    label: str,
) -> None:
    """Refuse before reading when the rows `where` selects are over MAX_ROWS, or their JSON
    text (`text_columns`, each counted up to MAX_CELL_CHARS) over MAX_TOTAL_CHARS."""
    sizes = " + ".join(f"min(coalesce(length({c}), 0), {MAX_CELL_CHARS})" for c in text_columns)
    rows, chars = conn.execute(
        f"SELECT COUNT(*), coalesce(sum({sizes}), 0) FROM {table} WHERE {where}", tuple(args)
    ).fetchone()
    if rows > MAX_ROWS:
        raise PeerSourceTooLarge(
            f"{label} holds {rows:,} tasks to import; at most {MAX_ROWS:,} are imported at "
            "once (import without history, or delete finished tasks there first)"
        )
    if chars > MAX_TOTAL_CHARS:
        raise PeerSourceTooLarge(
            f"{label}: the tasks to import hold {chars / 2**20:,.0f} MB of parameters; at most "
            f"{MAX_TOTAL_CHARS // 2**20:,} MB are imported at once (import without history)"
        )


def rows_in_order(
    conn: sqlite3.Connection,
    table: str,
    columns: str,
    where: str,
    order: Sequence[str],
    args: Sequence[Any] = (),
) -> Iterator[tuple[Any, ...]]:
    """The rows `where` selects, `columns` of each, in the order of the `order` columns.

    The order is taken on row ids and keys cut to 64 characters first, then each row is read
    alone: an ORDER BY over the wide rows themselves would have SQLite copy every selected
    cell into its sorter at once.
    """
    keys = ", ".join(
        f"(CASE WHEN typeof({c}) IN ('text', 'blob') THEN substr({c}, 1, 64) ELSE {c} END)"
        for c in order
    )
    query = f"SELECT rowid FROM {table} WHERE {where} ORDER BY {keys}"
    rowids = [row[0] for row in conn.execute(query, tuple(args))]
    for rowid in rowids:
        row = conn.execute(f"SELECT {columns} FROM {table} WHERE rowid = ?", (rowid,)).fetchone()
        if row is not None:  # deleted meanwhile
            yield row


def capped(column: str) -> str:
    """SQL selecting `column` cut one character past MAX_CELL_CHARS (so `loads_cell` sees
    that it was longer without the whole cell ever being read)."""
    return f"substr({column}, 1, {MAX_CELL_CHARS + 1}) AS {column}"


def loads_cell(text: str | bytes, column: str) -> Any:
    """A JSON cell parsed within the limits; RowSkipped naming the column otherwise (and for
    text that is not JSON)."""
    if len(text) > MAX_CELL_CHARS:
        raise RowSkipped(f"{column}: larger than {MAX_CELL_CHARS // 2**20} MB")
    try:
        return loads_bounded(text, max_values=MAX_CELL_VALUES)
    except (JSONTooLarge, JSONTooDeep) as error:
        raise RowSkipped(f"{column}: {error}") from None
    except (TypeError, ValueError):
        raise RowSkipped(f"{column}: not valid JSON") from None
