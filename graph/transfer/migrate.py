"""Copy an embedded SQLite store into Neo4j, resumably.

The source is a SQLite store opened read-only; it hands over its tables in an order where what
a row points at is already there (profiles, identifiers, links, merges, the history...),
each read in key order a page at a time, as the named rows of graph/store/rows.py
(graph/store/sqlite/copy.py). Each page is one ``UNWIND $rows`` statement in its own write
transaction (cypher/migrate/<table>.cypher). Every write is a MERGE on the row's key, so a page
written twice is written once. After each page commits, the table's checkpoint (a
``Migration`` node: source, table, key of the last row copied) moves on, so a rerun after
Ctrl-C, a crash or a lost connection starts after the last checkpoint: at worst one page is
written again. The id sequences are copied last, as they are: both stores count each
namespace's ids apart, from the floor (ns '') where a namespace's first write starts its own,
and API key ids store-wide.

The source must not change meanwhile: stop every writer of the SQLite store first, and run
one migration at a time (AttributeWrite has no unique key for two concurrent runs to meet on).
The target must hold nothing but what an idgraph store creates when it opens an empty database
(schema steps, sequences) and what earlier runs from the same source wrote: since every row is
MERGEd on its id, a key, a purge, a profile... already there would be overwritten by the
source's of the same id, so any other node refuses the target (``_Runner.claim``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graph.errors import StoreError
from graph.store.cypher import CYPHER_DIR, Statement, load_statements
from graph.store.neo4j.store import Neo4jStore
from graph.store.neo4j.tx import neo4j_rows
from graph.store.sqlite.copy import TABLES
from graph.store.sqlite.store import SqliteStore

SEQUENCES = "sequences"
STATEMENTS = (
    *(table.name for table in TABLES),
    SEQUENCES,
    "sequence_values",
    "claim",
    "checkpoint",
    "checkpoints",
    "target_contents",
    "counts",
)


def migration_statements() -> dict[str, Statement]:
    return load_statements(CYPHER_DIR / "migrate", STATEMENTS)


@dataclass(frozen=True, slots=True)
class Progress:
    """Reported before a table's first page and after each page: rows copied of the total."""

    table: str
    done: int
    total: int


def _ignore(progress: Progress) -> None:
    pass


class TargetNotEmpty(StoreError):
    """The Neo4j database holds data that no migration from this source wrote."""


# what a store opening an empty database creates (its schema steps, its sequences' seeds) and
# a migration's checkpoints: a target holding only these is empty
BOOKKEEPING = frozenset({"SchemaStep", "Sequence", "Migration"})
OTHER_LABELS = "nodes of no idgraph label"


def held_data(nodes: int, labels: Mapping[str, int]) -> dict[str, int]:
    """The data a target holds, as target_contents counts it: its nodes of each label but
    BOOKKEEPING, and under OTHER_LABELS those of no label idgraph writes."""
    held = {label: n for label, n in sorted(labels.items()) if n and label not in BOOKKEEPING}
    other = nodes - sum(labels.values())
    return {**held, OTHER_LABELS: other} if other > 0 else held


def migrate(
    source: SqliteStore,
    target: Neo4jStore,
    *,
    batch: int = 5000,
    progress: Callable[[Progress], None] = _ignore,
) -> None:
    """Copy everything from the SQLite store ``source`` into ``target``, resuming after the
    checkpoints of an earlier, interrupted run from the same file."""
    run = _Runner(target, migration_statements(), str(source.path.resolve()))
    run.claim(source.copy_tables())
    checkpoints = run.checkpoints()
    for table in source.copy_tables():
        _copy(source, run, table, checkpoints.get(table), batch, progress)
    rows = namespace_sequences(source)
    progress(Progress(SEQUENCES, 0, len(rows)))
    run.write(SEQUENCES, rows=rows)
    progress(Progress(SEQUENCES, len(rows), len(rows)))


def namespace_sequences(source: SqliteStore) -> list[dict[str, Any]]:
    """Each sequence of the source, its namespaces' and the floor's (ns ''): (ns, name, next).
    A namespace without one of its own (none of its writes since SQLite's schema 5) starts
    at the floor on Neo4j too."""
    return [
        {"ns": ns, "name": name, "next": next_}
        for (ns, name), next_ in sorted(source.copy_sequences().items())
    ]


def _copy(
    source: SqliteStore,
    run: _Runner,
    table: str,
    after: list[Any] | None,
    batch: int,
    progress: Callable[[Progress], None],
) -> None:
    """Copy the rows after ``after`` (the checkpoint), a page per transaction."""
    done = source.copy_count(table, upto=after) if after else 0
    total = source.copy_count(table)
    progress(Progress(table, done, total))
    while rows := source.copy_page(table, after, batch):
        run.write(table, rows=neo4j_rows(rows))
        after = source.copy_key(table, rows[-1])
        run.write("checkpoint", source=run.source, table=table, after=json.dumps(after))
        done += len(rows)
        progress(Progress(table, done, max(total, done)))


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

    def read(self, name: str, **parameters: Any) -> list[dict[str, Any]]:
        return self.target.run(self.statements[name], **parameters)

    def claim(self, tables: tuple[str, ...]) -> None:
        """Refuse a target holding data of its own or of another source; else record that a
        migration from this source has begun (so an interrupted first page is resumed)."""
        contents = self.read("target_contents")[0]
        others = sorted(set(contents["sources"]) - {self.source})
        if others:
            raise TargetNotEmpty(
                f"{self.target.url} holds a migration from {', '.join(others)}; "
                "empty the database to migrate another store into it"
            )
        held = held_data(contents["nodes"], contents["labels"])
        if held and self.source not in contents["sources"]:
            raise TargetNotEmpty(
                f"{self.target.url} already holds data that no migration wrote ("
                + ", ".join(f"{label}: {n}" for label, n in held.items())
                + "), which the copy would overwrite where its ids meet the source's; "
                "migrate into an empty database"
            )
        self.write("claim", source=self.source, tables=list(tables))

    def checkpoints(self) -> dict[str, list[Any]]:
        rows = self.read("checkpoints", source=self.source)
        return {row["table"]: json.loads(row["after"]) for row in rows if row["after"]}
