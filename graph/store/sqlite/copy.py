"""What `idgraph migrate` reads from a SQLite store, mixed into SqliteStore: every table in
key order, a page at a time, as the named rows of graph/store/rows.py; the next free ids; and
for verification, counts of each kind per namespace and a sample of profiles.

Each table is read in key order (``WHERE (key) > (?) ORDER BY key LIMIT ?``), so a copy can
resume after the key of the last row it wrote. Rows come decoded: a column SQLite keeps as
JSON text (a list of profile ids, a map of values) is a list or a map again, and the store
that receives them encodes what it cannot keep.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from graph.model import Identifier
from graph.store.rows import Row, conflict_row, request_row
from graph.store.sqlite.sql import UNPLACED


@dataclass(frozen=True, slots=True)
class Table:
    """A table (or a view of one), how to read it in key order, and how a row becomes a
    named row."""

    name: str  # what the copy calls it: its checkpoint and its Cypher statement
    key: tuple[str, ...]  # its primary key: the order of copying
    select: str  # the columns read (``t`` is the table)
    convert: Callable[[Row], Row] = dict
    source: str = ""  # the table read, when it is not ``name``
    only: str = "1"  # which of its rows

    @property
    def table(self) -> str:
        return self.source or self.name


def _profile(row: Row) -> Row:
    """A profile with its attributes as the attributes rows hold them, by name (None when it
    has none)."""
    attributes = {
        name: {"value": json.loads(value), "via": via, "at": at, "request_id": request_id}
        for name, value, via, at, request_id in json.loads(row["attributes"])
    }
    return {**row, "recognized": bool(row["recognized"]), "attributes": attributes or None}


def _attribute_write(row: Row) -> Row:
    """SQLite's id is also ``position``, which orders writes of one time on Neo4j."""
    return {**row, "position": row["id"]}


def _attribute_version(row: Row) -> Row:
    return {**row, "attributes": json.loads(row["attributes"])}


def _conflict(row: Row) -> Row:
    identifiers = [Identifier(type_, value) for type_, value in json.loads(row["identifiers"])]
    refused = conflict_row(row["item_index"], row["rule"], json.loads(row["profiles"]), identifiers)
    return {**row, **refused}


def _request(row: Row) -> Row:
    kept = request_row(
        row["request_id"], row["digest"], row["created_at"], json.loads(row["response"])
    )
    return {**kept, "ns": row["ns"]}


def _api_key(row: Row) -> Row:
    return {**row, "rights": json.loads(row["rights"])}


# every attribute of the profile as [name, JSON value, via, at, request_id]
_ATTRIBUTES = """(SELECT json_group_array(json_array(a.name, a.value, a.via_key, a.updated_at,
    a.request_id)) FROM attributes AS a WHERE a.ns = t.ns AND a.profile_id = t.id) AS attributes"""
# in the order of copying: what a row points at is copied before it
TABLES: tuple[Table, ...] = (
    Table(
        "profiles",
        ("ns", "id"),
        "id, ns, created_at, updated_at, recognized, merged_into, parent_id, request_id, "
        + _ATTRIBUTES,
        _profile,
    ),
    Table("identifiers", ("ns", "key"), "ns, key, type, value, profile_id, created_at, request_id"),
    Table(
        "links",
        ("ns", "id"),
        "id, ns, a_key, b_key, operation, source, request_id, item_index, merge_id, created_at, "
        "ended_at, end_reason, ended_request_id",
    ),
    Table(
        "merges",
        ("ns", "id"),
        "id, ns, survivor, absorbed, request_id, item_index, created_at, survivor_key, "
        "absorbed_key, undone_at, undone_request_id",
    ),
    Table(
        "attribute_writes",
        ("id",),
        "id, ns, profile_id, via_key, name, value, operation, source, request_id, written_at",
        _attribute_write,
    ),
    Table("placements", ("ns", "key", "at"), "ns, key, at, profile_id, request_id"),
    # an identifier that never changed profile has no placement here (sql.py); a copy keeps
    # its creation as one
    Table(
        "creation_placements",
        ("ns", "key"),
        "ns, key, created_at AS at, profile_id, request_id",
        source="identifiers",
        only=UNPLACED.replace("i.", "t."),
    ),
    Table(
        "attribute_versions",
        ("ns", "profile_id", "at"),
        "ns, profile_id, at, attributes, request_id",
        _attribute_version,
    ),
    Table(
        "conflicts",
        ("ns", "id"),
        "id, ns, created_at, request_id, item_index, rule, profiles, identifiers",
        _conflict,
    ),
    Table(
        "bans",
        ("ns", "id"),
        "id, ns, a_key, b_key, b_type, reason, created_by, created_at, request_id, link_id",
    ),
    Table(
        "requests", ("ns", "request_id"), "ns, request_id, digest, created_at, response", _request
    ),
    Table("purges", ("ns", "id"), "id, ns, profile_id, purged_at, purged_by, identifiers"),
    Table(
        "api_keys", ("id",), "id, ns, name, rights, salt, hash, created_at, revoked_at", _api_key
    ),
)
_BY_NAME = {table.name: table for table in TABLES}

# (kind, table, which rows): what verification counts per namespace, as a copy's target counts
# them (cypher/migrate/counts.cypher)
COUNTS = (
    ("identifiers", "identifiers", "1"),
    ("memberships", "identifiers", "profile_id IS NOT NULL"),
    ("profiles live", "profiles", "merged_into IS NULL"),
    ("profiles aliases", "profiles", "merged_into IS NOT NULL"),
    ("links active", "links", "ended_at IS NULL"),
    ("links ended", "links", "ended_at IS NOT NULL"),
    ("merges", "merges", "1"),
    ("attribute writes", "attribute_writes", "1"),
    ("placements", "placements", "1"),
    ("placements", "identifiers AS i", UNPLACED),
    ("attribute versions", "attribute_versions", "1"),
    ("conflicts", "conflicts", "1"),
    ("bans", "bans", "1"),
    ("requests", "requests", "1"),
    ("purges", "purges", "1"),
    ("api keys", "api_keys", "1"),
)
KINDS = tuple(dict.fromkeys(kind for kind, _, _ in COUNTS))


class CopySource:
    """The reads of a copy, on the store's own connection (a read-only store, as
    `idgraph migrate` opens it)."""

    _select: Callable[..., list[tuple[Any, ...]]]  # SqliteStore: a query's rows
    _select_rows: Callable[..., list[Row]]  # the same, by column name
    _stream: Callable[..., Iterator[tuple[Any, ...]]]  # the same, a thousand at a time

    def copy_tables(self) -> tuple[str, ...]:
        """The tables to copy, in the order of copying."""
        return tuple(table.name for table in TABLES)

    def copy_page(self, name: str, after: list[Any] | None, limit: int) -> list[Row]:
        """Up to ``limit`` rows of a table, in key order, after the key ``after``."""
        table = _BY_NAME[name]
        after = _resumable(table, after)
        key = ", ".join(table.key)
        where = f"AND ({key}) > ({', '.join('?' * len(table.key))})" if after else ""
        sql = (
            f"SELECT {table.select} FROM {table.table} AS t WHERE {table.only} {where} "
            f"ORDER BY {key} LIMIT ?"
        )
        return [table.convert(row) for row in self._select_rows(sql, *(after or ()), limit)]

    def copy_key(self, name: str, row: Row) -> list[Any]:
        """The key of a row of a table, where a later page resumes."""
        return [row[column] for column in _BY_NAME[name].key]

    def copy_count(self, name: str, *, upto: list[Any] | None = None) -> int:
        """Rows of a table; with ``upto``, those at or before that key."""
        table = _BY_NAME[name]
        if upto and _resumable(table, upto) is None:
            return 0  # a copy from the start has copied nothing yet
        key = ", ".join(table.key)
        where = f"AND ({key}) <= ({', '.join('?' * len(table.key))})" if upto else ""
        sql = f"SELECT count(*) FROM {table.table} AS t WHERE {table.only} {where}"
        return self._select(sql, *(upto or ()))[0][0]

    def copy_sequences(self) -> dict[tuple[str, str], int]:
        """The next free id of each kind, by (namespace, kind), as a Neo4j store keeps them:
        each namespace's own, the floor (ns '') where a namespace's first write starts its
        own, and the store-wide API key ids (numbered here by rowid), the floor's only. Not
        identifier ids: they are SQLite's own (schema.py, migration 7)."""
        rows = self._select("SELECT ns, name, next FROM sequences WHERE name <> 'identifier'")
        sequences = {(ns, name): next_ for ns, name, next_ in rows}
        ((api_key,),) = self._select("SELECT coalesce(max(id), 0) + 1 FROM api_keys")
        return {**sequences, ("", "api_key"): api_key}

    def copy_counts(self) -> dict[tuple[str, str], int]:
        """How many of each kind (KINDS) every namespace holds; 0 where it holds none."""
        counted: dict[tuple[str, str], int] = {}
        for kind, table, which in COUNTS:
            for ns, n in self._select(
                f"SELECT ns, count(*) FROM {table} WHERE {which} GROUP BY ns"
            ):
                counted[ns, kind] = counted.get((ns, kind), 0) + n
        namespaces = {ns for ns, _ in counted}
        return {
            (ns, kind): counted.get((ns, kind), 0) for ns in sorted(namespaces) for kind in KINDS
        }

    def sample_profiles(self, namespace: str, size: int, seed: int) -> list[int]:
        """``size`` live profiles drawn at random with a fixed seed, and the largest."""
        live = self._stream(  # a namespace may hold millions
            "SELECT id FROM profiles WHERE ns = ? AND merged_into IS NULL ORDER BY id", (namespace,)
        )
        chosen = reservoir((pid for (pid,) in live), size, random.Random(seed))
        largest = self._select(
            "SELECT profile_id FROM identifiers WHERE ns = ? AND profile_id IS NOT NULL "
            "GROUP BY profile_id ORDER BY count(*) DESC, profile_id LIMIT 1",
            namespace,
        )
        return sorted(set(chosen) | {pid for (pid,) in largest})


def _resumable(table: Table, after: list[Any] | None) -> list[Any] | None:
    """Where a copy of a table resumes: after the key ``after``, unless it is the key of
    another schema (a checkpoint of ``id`` before migration 5 keyed the table by ``ns, id``):
    then from the start, which writes again what the copy has (each write is a MERGE)."""
    return after if after and len(after) == len(table.key) else None


def reservoir(items: Iterable[int], size: int, rng: random.Random) -> list[int]:
    """A uniform sample of ``size`` items from a stream of unknown length (Algorithm R)."""
    chosen: list[int] = []
    for seen, item in enumerate(items):
        if seen < size:
            chosen.append(item)
        elif (slot := rng.randrange(seen + 1)) < size:
            chosen[slot] = item
    return chosen
