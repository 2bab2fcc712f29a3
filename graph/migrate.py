"""Copy an embedded SQLite store into Neo4j, resumably, and check the copy.

Tables are copied in an order where what a row points at is already there: profiles, then
identifiers (MEMBER_OF their profile), links (between identifiers), merges (between
profiles), attribute writes, the history time travel reads (placements, attribute versions),
conflicts, bans, requests, the audit log of purges, API keys; the sequences last. Each table
is read in key order a page at a time (``WHERE (key) > (?) ORDER BY key LIMIT ?``) from a
read-only connection, and each page is one ``UNWIND $rows`` statement in its own write
transaction (cypher/migrate/<table>.cypher). Every write is a MERGE on the row's key, so a
page written twice is written once. After each page commits, the table's checkpoint (a
``Migration`` node: source, table, key of the last row copied) moves on, so a rerun after
Ctrl-C, a crash or a lost connection starts after the last checkpoint: at worst one page is
written again.

The source must not change meanwhile: stop every writer of the SQLite store first, and run
one migration at a time (AttributeWrite has no unique key for two concurrent runs to meet on).
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.errors import StoreError
from graph.items import mentioned_in
from graph.model import Attribute, identifier_key
from graph.store.cypher_files import CYPHER_DIR, Statement, load_statements
from graph.store.neo4j import Neo4jStore, dump_attributes
from graph.store.sqlite_schema import MIGRATIONS

Row = dict[str, Any]
UNPLACED = "NOT EXISTS (SELECT 1 FROM placements AS p WHERE p.ns = t.ns AND p.key = t.key)"


@dataclass(frozen=True, slots=True)
class Table:
    """A SQLite table, how to read it in key order, and how a row becomes a Neo4j row."""

    name: str  # the table, its checkpoint and its statement in cypher/migrate/
    key: tuple[str, ...]  # its primary key: the order of copying
    select: str  # the columns read (``t`` is the table)
    convert: Callable[[Row], Row] = dict
    source: str = ""  # the table read, when it is not ``name``
    only: str = "1"  # which of its rows

    @property
    def table(self) -> str:
        return self.source or self.name


def profile_row(row: Row) -> Row:
    """A profile with its attributes as dump_attributes writes them: the same JSON text the
    Neo4j store would have written."""
    attributes = {
        name: Attribute(json.loads(value), via, at, request_id)
        for name, value, via, at, request_id in json.loads(row["attributes"])
    }
    return {
        **row,
        "recognized": bool(row["recognized"]),
        "attributes": dump_attributes(attributes) if attributes else None,
    }


def attribute_write_row(row: Row) -> Row:
    """SQLite's id becomes ``position``, which orders writes of one time."""
    return {**_without(row, "id"), "position": row["id"]}


def conflict_row(row: Row) -> Row:
    pairs = json.loads(row["identifiers"])
    return {
        **_without(row, "identifiers"),
        "profiles": json.loads(row["profiles"]),
        "types": [type_ for type_, _ in pairs],
        "values": [value for _, value in pairs],
        "keys": [identifier_key(type_, value) for type_, value in pairs],
    }


def request_row(row: Row) -> Row:
    """With the profile ids and identifier keys its answer names, as the Neo4j store saves a
    request: a purge erases the requests naming the person by them."""
    profiles, keys = mentioned_in(json.loads(row["response"]))
    return {**row, "profiles": profiles, "keys": keys}


def _without(row: Row, column: str) -> Row:
    return {name: value for name, value in row.items() if name != column}


# every attribute of the profile as [name, JSON value, via, at, request_id]
_ATTRIBUTES = """(SELECT json_group_array(json_array(a.name, a.value, a.via_key, a.updated_at,
    a.request_id)) FROM attributes AS a WHERE a.ns = t.ns AND a.profile_id = t.id) AS attributes"""

TABLES: tuple[Table, ...] = (
    Table(
        "profiles",
        ("id",),
        "id, ns, created_at, updated_at, recognized, merged_into, parent_id, request_id, "
        + _ATTRIBUTES,
        profile_row,
    ),
    Table("identifiers", ("ns", "key"), "ns, key, type, value, profile_id, created_at, request_id"),
    Table(
        "links",
        ("id",),
        "id, ns, a_key, b_key, operation, source, request_id, item_index, merge_id, created_at, "
        "ended_at, end_reason, ended_request_id",
    ),
    Table(
        "merges",
        ("id",),
        "id, ns, survivor, absorbed, request_id, item_index, created_at, survivor_key, "
        "absorbed_key, undone_at, undone_request_id",
    ),
    Table(
        "attribute_writes",
        ("id",),
        "id, ns, profile_id, via_key, name, value, operation, source, request_id, written_at",
        attribute_write_row,
    ),
    Table("placements", ("ns", "key", "at"), "ns, key, at, profile_id, request_id"),
    # an identifier that never changed profile has no placement on SQLite (graph/store/
    # sqlite_tx.py); the Neo4j store keeps its creation as one
    Table(
        "creation_placements",
        ("ns", "key"),
        "ns, key, created_at AS at, profile_id, request_id",
        source="identifiers",
        only=UNPLACED,
    ),
    Table(
        "attribute_versions",
        ("ns", "profile_id", "at"),
        "ns, profile_id, at, attributes, request_id",
    ),
    Table(
        "conflicts",
        ("id",),
        "id, ns, created_at, request_id, item_index, rule, profiles, identifiers",
        conflict_row,
    ),
    Table(
        "bans",
        ("id",),
        "id, ns, a_key, b_key, b_type, reason, created_by, created_at, request_id, link_id",
    ),
    Table(
        "requests",
        ("ns", "request_id"),
        "ns, request_id, digest, created_at, response",
        request_row,
    ),
    Table("purges", ("id",), "id, ns, profile_id, purged_at, purged_by, identifiers"),
    Table(
        "api_keys",
        ("id",),
        "id, ns, name, rights, salt, hash, created_at, revoked_at",
        lambda row: {**row, "rights": json.loads(row["rights"])},
    ),
)
SEQUENCES = "sequences"
STATEMENTS = (
    *(table.name for table in TABLES),
    SEQUENCES,
    "claim",
    "checkpoint",
    "checkpoints",
    "target_contents",
    "counts",
)

# (kind, table, which rows): what verification counts per namespace, as counts.cypher does
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
    ("placements", "identifiers AS t", UNPLACED),
    ("attribute versions", "attribute_versions", "1"),
    ("conflicts", "conflicts", "1"),
    ("bans", "bans", "1"),
    ("requests", "requests", "1"),
    ("purges", "purges", "1"),
    ("api keys", "api_keys", "1"),
)


@dataclass(frozen=True, slots=True)
class Progress:
    """Reported before a table's first page and after each page: rows copied of the total."""

    table: str
    done: int
    total: int


def _ignore(progress: Progress) -> None:
    pass


# --- the source ---------------------------------------------------------------------------------


class SqliteSource:
    """A SQLite store file read through a read-only connection: it is never written."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        if not self.path.is_file():
            raise StoreError(f"no SQLite store at {self.path}")
        try:
            self.connection = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True)
            self.connection.row_factory = sqlite3.Row
        except sqlite3.Error as error:
            raise StoreError(f"cannot open SQLite store {self.path}: {error}") from error
        self._check_schema()

    def _check_schema(self) -> None:
        """Refuse a file of an older schema before copying anything: it lacks tables or
        columns this version copies, and a read-only source is never upgraded here."""
        version = self._all("PRAGMA user_version")[0][0]
        if version < len(MIGRATIONS):
            self.connection.close()
            raise StoreError(
                f"{self.path} has schema {version}, this idgraph copies schema "
                f"{len(MIGRATIONS)}: open it once with this version (`idgraph serve` upgrades "
                "it on start), then migrate"
            )

    @property
    def name(self) -> str:
        """What checkpoints are recorded under: the file's absolute path."""
        return str(self.path)

    def page(self, table: Table, after: list[Any] | None, limit: int) -> list[Row]:
        key = ", ".join(table.key)
        where = f"AND ({key}) > ({', '.join('?' * len(table.key))})" if after else ""
        sql = (
            f"SELECT {table.select} FROM {table.table} AS t WHERE {table.only} {where} "
            f"ORDER BY {key} LIMIT ?"
        )
        return [dict(row) for row in self._all(sql, *(after or ()), limit)]

    def count(self, table: Table, *, upto: list[Any] | None = None) -> int:
        """Rows of the table; with ``upto``, those at or before that key."""
        key = ", ".join(table.key)
        where = f"AND ({key}) <= ({', '.join('?' * len(table.key))})" if upto else ""
        sql = f"SELECT count(*) FROM {table.table} AS t WHERE {table.only} {where}"
        return self._all(sql, *(upto or ()))[0][0]

    def sequences(self) -> dict[str, int]:
        """The next free id of each kind, as the Neo4j store keeps them: conflicts, purges
        and API keys numbered on SQLite by rowid get a sequence of their own."""
        sequences = {name: next_ for name, next_ in self._all("SELECT name, next FROM sequences")}
        sequences["conflict"] = self._all("SELECT coalesce(max(id), 0) + 1 FROM conflicts")[0][0]
        sequences["purge"] = self._all("SELECT coalesce(max(id), 0) + 1 FROM purges")[0][0]
        sequences["api_key"] = self._all("SELECT coalesce(max(id), 0) + 1 FROM api_keys")[0][0]
        return sequences

    def counts(self) -> dict[tuple[str, str], int]:
        counted: dict[tuple[str, str], int] = {}
        for kind, table, which in COUNTS:
            for ns, n in self._all(f"SELECT ns, count(*) FROM {table} WHERE {which} GROUP BY ns"):
                counted[ns, kind] = counted.get((ns, kind), 0) + n
        return counted

    def sample_profiles(self, namespace: str, size: int, seed: int) -> list[int]:
        """``size`` live profiles drawn at random with a fixed seed, and the largest."""
        live = self.connection.execute(  # streamed: a namespace may hold millions
            "SELECT id FROM profiles WHERE ns = ? AND merged_into IS NULL ORDER BY id", (namespace,)
        )
        chosen = reservoir((pid for (pid,) in live), size, random.Random(seed))
        largest = self._all(
            "SELECT profile_id FROM identifiers WHERE ns = ? AND profile_id IS NOT NULL "
            "GROUP BY profile_id ORDER BY count(*) DESC, profile_id LIMIT 1",
            namespace,
        )
        return sorted(set(chosen) | {pid for (pid,) in largest})

    def _all(self, sql: str, *parameters: Any) -> list[Any]:
        try:
            return self.connection.execute(sql, parameters).fetchall()
        except sqlite3.Error as error:
            raise StoreError(f"SQLite {self.path}: {error}") from error

    def close(self) -> None:
        self.connection.close()


def reservoir(items: Iterable[int], size: int, rng: random.Random) -> list[int]:
    """A uniform sample of ``size`` items from a stream of unknown length (Algorithm R)."""
    chosen: list[int] = []
    for seen, item in enumerate(items):
        if seen < size:
            chosen.append(item)
        elif (slot := rng.randrange(seen + 1)) < size:
            chosen[slot] = item
    return chosen


# --- the copy ------------------------------------------------------------------------------------


class TargetNotEmpty(StoreError):
    """The Neo4j database holds data that no migration from this source wrote."""


def migrate(
    source_path: str | Path,
    target: Neo4jStore,
    *,
    batch: int = 5000,
    progress: Callable[[Progress], None] = _ignore,
) -> None:
    """Copy everything from the SQLite store at ``source_path`` into ``target``, resuming
    after the checkpoints of an earlier, interrupted run from the same file."""
    statements = load_statements(CYPHER_DIR / "migrate", STATEMENTS)
    with closing(SqliteSource(source_path)) as source:
        run = _Runner(target, statements, source.name)
        run.claim()
        checkpoints = run.checkpoints()
        for table in TABLES:
            _copy(source, run, table, checkpoints.get(table.name), batch, progress)
        sequences = source.sequences()
        rows = [{"name": name, "next": next_} for name, next_ in sorted(sequences.items())]
        progress(Progress(SEQUENCES, 0, len(rows)))
        run.write(SEQUENCES, rows=rows)
        progress(Progress(SEQUENCES, len(rows), len(rows)))


def _copy(
    source: SqliteSource,
    run: _Runner,
    table: Table,
    after: list[Any] | None,
    batch: int,
    progress: Callable[[Progress], None],
) -> None:
    """Copy the rows after ``after`` (the checkpoint), a page per transaction."""
    done = source.count(table, upto=after) if after else 0
    total = source.count(table)
    progress(Progress(table.name, done, total))
    while rows := source.page(table, after, batch):
        run.write(table.name, rows=[table.convert(row) for row in rows])
        after = [rows[-1][column] for column in table.key]
        run.write("checkpoint", source=run.source, table=table.name, after=json.dumps(after))
        done += len(rows)
        progress(Progress(table.name, done, max(total, done)))


class _Runner:
    """The migration's statements on the target, each in its own managed transaction."""

    def __init__(
        self, target: Neo4jStore, statements: Mapping[str, Statement], source: str
    ) -> None:
        self.target = target
        self.statements = statements
        self.source = source

    def write(self, name: str, **parameters: Any) -> None:
        self.target.run(self.statements[name], write=True, **parameters)

    def read(self, name: str, **parameters: Any) -> list[Row]:
        return self.target.run(self.statements[name], **parameters)

    def claim(self) -> None:
        """Refuse a target holding data of its own or of another source; else record that a
        migration from this source has begun (so an interrupted first page is resumed)."""
        contents = self.read("target_contents")[0]
        others = sorted(set(contents["sources"]) - {self.source})
        if others:
            raise TargetNotEmpty(
                f"{self.target.url} holds a migration from {', '.join(others)}; "
                "empty the database to migrate another store into it"
            )
        if contents["profiles"] and self.source not in contents["sources"]:
            raise TargetNotEmpty(
                f"{self.target.url} already holds data that no migration wrote (profiles: "
                f"{contents['profiles']}); migrate into an empty database"
            )
        self.write("claim", source=self.source, tables=[table.name for table in TABLES])

    def checkpoints(self) -> dict[str, list[Any]]:
        rows = self.read("checkpoints", source=self.source)
        return {row["table"]: json.loads(row["after"]) for row in rows if row["after"]}
