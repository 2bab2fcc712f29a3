"""What every query module of the SQLite store shares: the transaction's connection and
helpers to read rows, and the SQL fragments more than one of them uses."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from graph.store.rows import dump_json

# Lists and maps in a row are kept as JSON text (graph/store/rows.py): sqlite3 turns every
# list or dict parameter into it, in C, calling dump_json for those values only.
sqlite3.register_adapter(list, dump_json)
sqlite3.register_adapter(dict, dump_json)

LINK_COLUMNS = (
    "id, a_key, b_key, operation, source, request_id, item_index, merge_id, created_at, "
    "ended_at, end_reason, ended_request_id"
)
MERGE_COLUMNS = (
    "id, survivor, absorbed, request_id, item_index, created_at, survivor_key, absorbed_key, "
    "undone_at, undone_request_id"
)
BAN_COLUMNS = "id, a_key, b_key, b_type, reason, created_by, created_at, link_id"
# An identifier's placements: the profile it is in from an instant on. An identifier that
# never changed profile has none: it has been in its current profile since its creation (a new
# identifier writes no placement, the write path's most frequent row). The first change of
# profile first writes that creation placement, from the row as it still is (writes.py).
UNPLACED = "NOT EXISTS (SELECT 1 FROM placements AS p WHERE p.ns = i.ns AND p.key = i.key)"
# the creation placement of each identifier of a namespace (?1) with a key in ?2 that has none:
# written before one changes profile (writes.py) or key (rekey.py)
PLACE_CREATIONS = f"""
    INSERT INTO placements (ns, key, at, profile_id, request_id)
    SELECT i.ns, i.key, i.created_at, i.profile_id, i.request_id FROM identifiers AS i
    WHERE i.ns = ?1 AND i.key IN (SELECT value FROM json_each(?2)) AND {UNPLACED}
"""


_IN_ARRAY = "SELECT value FROM json_each(?2)"
# the ids of a namespace's (?1) identifiers whose keys are in a JSON array (?2): what the link
# indexes are on (schema.py, migration 7)
IDS_OF_KEYS = f"SELECT id FROM identifiers WHERE ns = ?1 AND key IN ({_IN_ARRAY})"


def either_end(table: str, columns: str, first: str, second: str, among: str = _IN_ARRAY) -> str:
    """Rows of a namespace (?1) whose ``first`` or ``second`` column is ``among`` (by default
    in a JSON array, ?2), by id: each side on its own index."""
    return (
        f"SELECT {columns} FROM {table} WHERE ns = ?1 AND {first} IN ({among}) "
        f"UNION SELECT {columns} FROM {table} WHERE ns = ?1 AND {second} IN ({among}) ORDER BY id"
    )


def json_array(values: Iterable[Any]) -> str:
    """Keys or ids as one JSON array, which a query reads with ``json_each``: one parameter,
    however many values."""
    return dump_json(list(values))


class Sql:
    """The connection of one transaction, and the shortest ways to read from it."""

    connection: sqlite3.Connection

    def _all(self, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, parameters).fetchall()

    def _one(self, sql: str, *parameters: Any) -> tuple[Any, ...] | None:
        return self.connection.execute(sql, parameters).fetchone()

    def _column(self, sql: str, *parameters: Any) -> list[Any]:
        return [value for (value,) in self.connection.execute(sql, parameters)]
