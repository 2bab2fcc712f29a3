"""Check a migrated copy against its SQLite source: counts of each kind per namespace, the
sequences, and a sample of profiles read through the store protocol on both sides.

The counts catch a missing or duplicated row of any kind; the profile views catch a copied
row that reads back differently (its attributes, its members, its aliases). The sample is
random with a fixed seed, so two runs compare the same profiles, plus each namespace's
largest profile, where a missing membership is most likely to hide.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from graph.model import ProfileView
from graph.store.base import Store
from graph.store.neo4j.store import Neo4jStore
from graph.store.sqlite.copy import KINDS
from graph.store.sqlite.store import SqliteStore
from graph.transfer.migrate import migration_statements, namespace_sequences


@dataclass(frozen=True, slots=True)
class Count:
    namespace: str
    kind: str
    sqlite: int
    neo4j: int


@dataclass(frozen=True, slots=True)
class Verification:
    counts: tuple[Count, ...]
    sampled: int  # profiles compared view by view
    differences: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.differences


def verify(
    source: SqliteStore, target: Neo4jStore, *, sample: int = 100, seed: int = 0
) -> Verification:
    """Compare the copy with its source: counts of each kind per namespace, the sequences,
    and ``sample`` random live profiles per namespace (plus the largest) read through the
    store protocol on both sides."""
    expected = source.copy_counts()
    namespaces = sorted({ns for ns, _ in expected})
    samples = {ns: source.sample_profiles(ns, sample, seed) for ns in namespaces}
    found = {(r["ns"], r["kind"]): r["n"] for r in target.run(migration_statements()["counts"])}
    counts = tuple(
        Count(ns, kind, expected.get((ns, kind), 0), found.get((ns, kind), 0))
        for ns in sorted({ns for ns, _ in (*expected, *found)})
        for kind in KINDS
    )
    differences = [
        f"{c.namespace}: {c.kind}: {c.sqlite} in SQLite, {c.neo4j} in Neo4j"
        for c in counts
        if c.sqlite != c.neo4j
    ]
    differences += _sequence_differences(source, target)
    for ns, ids in samples.items():
        differences += view_differences(ns, _views(source, ns, ids), _views(target, ns, ids))
    return Verification(counts, sum(map(len, samples.values())), tuple(differences))


def _views(store: Store, namespace: str, ids: list[int]) -> list[ProfileView]:
    return store.read(lambda tx: tx.profile_views(namespace, ids))


def _sequence_differences(source: SqliteStore, target: Neo4jStore) -> list[str]:
    statement = migration_statements()["sequence_values"]
    found = {(row["ns"], row["name"]): row["next"] for row in target.run(statement)}
    return [
        f"sequence {row['name']} of namespace {row['ns']!r}: next "
        f"{found.get((row['ns'], row['name']))} in Neo4j, at least {row['next']} needed"
        for row in namespace_sequences(source)
        if found.get((row["ns"], row["name"]), 0) < row["next"]
    ]


def view_differences(
    namespace: str, expected: list[ProfileView], found: list[ProfileView]
) -> list[str]:
    """What differs between the views of the same profiles read from two stores."""
    on_sqlite = {view.id: view for view in expected}
    on_neo4j = {view.id: view for view in found}
    differences = []
    for pid in sorted(set(on_sqlite) | set(on_neo4j)):
        a, b = on_sqlite.get(pid), on_neo4j.get(pid)
        if a is None or b is None:
            where = "Neo4j" if b is None else "SQLite"
            differences.append(f"{namespace}: profile {pid}: missing in {where}")
            continue
        differences += [
            f"{namespace}: profile {pid}: {f.name} is {_short(getattr(a, f.name))} in SQLite, "
            f"{_short(getattr(b, f.name))} in Neo4j"
            for f in fields(ProfileView)
            if getattr(a, f.name) != getattr(b, f.name)
        ]
    return differences


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
