"""The SQLite store's writes: a change set in bulk (``apply``), a request kept for replay, a
ban removed. Mixed into SqliteTx.

A change set arrives as the named rows of graph/store/rows.py, the same the Neo4j store
writes; here each kind of write is one ``executemany`` of the SQL below, with the rows' names
as parameters. Two things are SQLite's own: a new identifier writes no placement (it has been
in its profile since its creation, see sql.py), and a profile's attributes are a row each.

Ids are counted per namespace (schema.py, migration 5): a plan numbers profiles, links, merges
and bans from its namespace's sequences, which its write then raises; conflicts and
identifiers are numbered as they are written (``take_ids``), and purges (purge.py). An
identifier's id is the store's own (migration 7): the link indexes are on ids, not keys, and
no plan or read sees one. One coming back keeps the id it had, so its number is skipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from operator import itemgetter
from typing import Any

from graph.model import ChangeSet, Sequences, utc_now
from graph.store.rows import Row, change_rows, request_row
from graph.store.sqlite.reads import next_ids
from graph.store.sqlite.sql import PLACE_CREATIONS, Sql, json_array

# each kind of write of graph/store/rows.py: its statements, run over its rows in order
_WRITES: dict[str, tuple[str, ...]] = {
    "create_profiles": (
        "INSERT INTO profiles (id, ns, created_at, updated_at, recognized, parent_id, "
        "request_id) VALUES (:id, :ns, :created_at, :updated_at, :recognized, :parent_id, "
        ":request_id)",
    ),
    "update_profiles": (
        "UPDATE profiles SET updated_at = :updated_at, recognized = :recognized "
        "WHERE id = :id AND ns = :ns",
    ),
    "upsert_identifiers": (  # one that left every profile (replaced) comes back, its id kept
        "INSERT INTO identifiers (ns, key, type, value, profile_id, created_at, request_id, id) "
        "VALUES (:ns, :key, :type, :value, :profile_id, :created_at, :request_id, :id) "
        "ON CONFLICT (ns, key) DO UPDATE SET profile_id = excluded.profile_id",
    ),
    "move_identifiers": (
        "UPDATE identifiers SET profile_id = :profile_id WHERE ns = :ns AND key = :key",
    ),
    # after upsert_identifiers: both ends have their ids (migration 7); an end numbered by
    # this write comes with its id (``_with_end_ids``), the others' are looked up by key
    "create_links": (
        "INSERT INTO links (id, ns, a_key, b_key, operation, source, request_id, item_index, "
        "merge_id, created_at, ended_at, end_reason, ended_request_id, a_id, b_id) VALUES (:id, "
        ":ns, :a_key, :b_key, :operation, :source, :request_id, :item_index, :merge_id, "
        ":created_at, :ended_at, :end_reason, :ended_request_id, "
        "coalesce(:a_id, (SELECT id FROM identifiers WHERE ns = :ns AND key = :a_key)), "
        "coalesce(:b_id, (SELECT id FROM identifiers WHERE ns = :ns AND key = :b_key)))",
    ),
    "end_links": (
        "UPDATE links SET ended_at = :at, end_reason = :end_reason, "
        "ended_request_id = :request_id WHERE id = :id AND ns = :ns AND ended_at IS NULL",
    ),
    "create_placements": (
        "INSERT INTO placements (ns, key, at, profile_id, request_id) "
        "VALUES (:ns, :key, :at, :profile_id, :request_id) "
        "ON CONFLICT (ns, key, at) DO UPDATE SET profile_id = excluded.profile_id",
    ),
    # in merge order; the absorbed profile becomes an alias of the live survivor at once
    "merge_profiles": (
        "INSERT INTO merges (id, ns, survivor, absorbed, request_id, item_index, created_at, "
        "survivor_key, absorbed_key) VALUES (:id, :ns, :survivor, :absorbed, :request_id, "
        ":item_index, :at, :survivor_key, :absorbed_key)",
        "UPDATE profiles SET merged_into = :live, updated_at = :at "
        "WHERE id = :absorbed AND ns = :ns",
    ),
    "repoint_aliases": (
        "UPDATE profiles SET merged_into = :live WHERE merged_into = :absorbed AND ns = :ns",
    ),
    "undo_merges": (
        "UPDATE merges SET undone_at = :at, undone_request_id = :request_id "
        "WHERE id = :id AND ns = :ns",
    ),
    "set_merged_into": (
        "UPDATE profiles SET merged_into = :merged_into WHERE id = :id AND ns = :ns",
    ),
    "set_attributes": (
        "DELETE FROM attributes WHERE ns = :ns AND profile_id = :id",
        "INSERT INTO attributes (ns, profile_id, name, value, via_key, request_id, updated_at) "
        "SELECT :ns, :id, a.key, a.value -> '$.value', a.value ->> '$.via', "
        "a.value ->> '$.request_id', a.value ->> '$.at' FROM json_each(:attributes) AS a",
    ),
    "create_attribute_versions": (
        "INSERT INTO attribute_versions (ns, profile_id, at, attributes, request_id) "
        "VALUES (:ns, :profile_id, :at, :attributes, :request_id) "
        "ON CONFLICT (ns, profile_id, at) DO UPDATE SET attributes = excluded.attributes",
    ),
    "create_attribute_writes": (
        "INSERT INTO attribute_writes (ns, profile_id, via_key, name, value, operation, source, "
        "request_id, written_at) VALUES (:ns, :profile_id, :via_key, :name, :value, "
        ":operation, :source, :request_id, :at)",
    ),
    "create_conflicts": (
        "INSERT INTO conflicts (id, ns, created_at, request_id, item_index, rule, profiles, "
        "identifiers) VALUES (:id, :ns, :at, :request_id, :item_index, :rule, :profiles, "
        ":identifiers)",
    ),
    "create_bans": (
        "INSERT INTO bans (id, ns, a_key, b_key, b_type, reason, created_by, created_at, "
        "request_id, link_id) VALUES (:id, :ns, :a_key, :b_key, :b_type, :reason, "
        ":created_by, :created_at, :request_id, :link_id)",
    ),
    # a namespace's first write makes its sequences; a sequence only ever goes up
    "advance_sequences": (
        "INSERT INTO sequences (ns, name, next) VALUES (:ns, :name, :next) "
        "ON CONFLICT (ns, name) DO UPDATE SET next = max(next, excluded.next)",
    ),
}


# Rows written in the order of a b-tree they go into: a chunk's keys are random, and in order
# each page they land on is changed once rather than fetched and written again row after row.
_KEY_ORDER = {"upsert_identifiers": "key", "create_links": "a_key", "create_placements": "key"}

# Rows numbered as they are written, not by the plan: the kind of id each takes
_NUMBERED_HERE = {"upsert_identifiers": "identifier", "create_conflicts": "conflict"}


class ChangeWrites(Sql):
    """The write half of the store protocol (graph/store/base.py), but keys and purges."""

    def apply(self, namespace: str, changes: ChangeSet) -> None:
        placed = self._place_creations(namespace, changes)
        numbered: dict[str, int] = {}  # the key of each identifier created now: its id
        for write in change_rows(changes):
            rows = write.rows
            if write.kind == "create_placements":  # new identifiers have theirs implicitly
                rows = [row for row in rows if row["key"] in placed]
            if write.kind in _KEY_ORDER:  # after the filter: most placements are dropped
                rows = sorted(rows, key=itemgetter(_KEY_ORDER[write.kind]))
            if write.kind in _NUMBERED_HERE and rows:  # identifiers in key order
                first = take_ids(self.connection, namespace, _NUMBERED_HERE[write.kind], len(rows))
                rows = [{**row, "id": first + n} for n, row in enumerate(rows)]
            if write.kind == "upsert_identifiers":  # one coming back keeps the id it had
                numbered = {row["key"]: row["id"] for row in rows if row["key"] not in placed}
            if write.kind == "create_links":
                rows = _with_end_ids(rows, numbered)
            self._run(write.kind, namespace, rows, write.params)
        self._run("advance_sequences", namespace, _sequence_rows(changes.sequences))

    def _run(
        self, kind: str, namespace: str, rows: Iterable[Row], params: Mapping[str, Any] = {}
    ) -> None:
        encoded = [{**params, **row, "ns": namespace} for row in rows]
        if encoded:
            for sql in _WRITES[kind]:
                self.connection.executemany(sql, encoded)

    def _place_creations(self, namespace: str, changes: ChangeSet) -> set[str]:
        """Write the creation placement of every identifier about to change profile (moved,
        or in none and coming back), while its row still says where it was; answers their
        keys, whose new placements are written too."""
        new = [i.key for i in changes.new_identifiers]
        returning = self._column(
            "SELECT key FROM identifiers WHERE ns = ? AND key IN (SELECT value FROM json_each(?))",
            namespace,
            json_array(new),
        ) if new else []  # fmt: skip
        moving = [key for key, _ in changes.relabels] + sorted(returning)
        if moving:
            self.connection.execute(PLACE_CREATIONS, (namespace, json_array(moving)))
        return set(moving)

    def save_request(
        self, namespace: str, request_id: str, digest: str, response: Mapping[str, Any]
    ) -> None:
        row = request_row(request_id, digest, utc_now(), response)
        self.connection.execute(
            "INSERT INTO requests (ns, request_id, digest, created_at, response) "
            "VALUES (:ns, :request_id, :digest, :created_at, :response)",
            {**row, "ns": namespace},
        )

    def remove_ban(self, namespace: str, ban_id: int) -> bool:
        deleted = self.connection.execute(
            "DELETE FROM bans WHERE ns = ? AND id = ?", (namespace, ban_id)
        )
        return deleted.rowcount > 0


def take_ids(connection: sqlite3.Connection, namespace: str, kind: str, count: int) -> int:
    """The first of ``count`` new ids of a kind the store numbers itself (conflict, purge) in
    a namespace; its sequence moves past them. Inside the write transaction, which writers
    take in turn."""
    first = next_ids(connection, namespace)[kind]
    advance = {"ns": namespace, "name": kind, "next": first + count}
    connection.execute(_WRITES["advance_sequences"][0], advance)
    return first


def _with_end_ids(rows: list[Row], numbered: Mapping[str, int]) -> list[Row]:
    """Links with the id of each end this write numbered, None for the others: two searches
    of the identifiers' key index fewer for a link between new identifiers (most are)."""
    return [
        {**row, "a_id": numbered.get(row["a_key"]), "b_id": numbered.get(row["b_key"])}
        for row in rows
    ]


def _sequence_rows(sequences: Sequences) -> list[Row]:
    """The next free id of each kind a plan allocates from, in the plan's namespace."""
    return [
        {"name": "profile", "next": sequences.profile},
        {"name": "link", "next": sequences.link},
        {"name": "merge", "next": sequences.merge},
        {"name": "ban", "next": sequences.ban},
    ]
