"""The pure parts of the migration: SQLite rows to Neo4j rows, the sample, the comparison of
profile views; and the keyset pages of a real SQLite store, read-only."""

from __future__ import annotations

import json
import random
import sqlite3

import pytest

from graph.errors import StoreError
from graph.items import LinkRequest
from graph.migrate import (
    COUNTS,
    TABLES,
    SqliteSource,
    attribute_write_row,
    conflict_row,
    profile_row,
    request_row,
    reservoir,
)
from graph.migrate_verify import view_differences
from graph.model import Identifier, ProfileView
from graph.store.cypher_files import CYPHER_DIR
from graph.store.neo4j import attributes_of
from graph.store.sqlite import SqliteStore
from graph.store.sqlite_schema import MIGRATIONS

PROFILE = {
    "id": 7, "ns": "shop", "created_at": "t0", "updated_at": "t1", "recognized": 1,
    "merged_into": None, "parent_id": 3, "request_id": "r1",
}  # fmt: skip
CITY = ["city", '"Oslo"', "email:a@x.io", "t2", "r2"]  # name, JSON value, via, at, request
TAGS = ["tags", '[1,{"x":"ü"}]', None, "t3", "r3"]


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        pytest.param([], None, id="no-attributes=null"),
        pytest.param(
            [CITY, TAGS],
            {
                "city": ("Oslo", "email:a@x.io", "t2", "r2"),
                "tags": ([1, {"x": "ü"}], None, "t3", "r3"),
            },
            id="values-decoded-with-their-write",
        ),
    ],
)
def test_profile_row_carries_attributes_as_the_neo4j_store_reads_them(stored, expected):
    row = profile_row({**PROFILE, "attributes": json.dumps(stored)})
    assert row["recognized"] is True and row["parent_id"] == 3
    if expected is None:
        assert row["attributes"] is None
        return
    read = attributes_of(row["attributes"])
    assert {name: (a.value, a.via, a.at, a.request_id) for name, a in read.items()} == expected


def test_conflict_row_splits_identifiers_into_parallel_lists_with_keys():
    row = conflict_row(
        {"id": 4, "ns": "shop", "profiles": "[1, 2]", "identifiers": '[["ext:crm", "u:1"]]'}
    )
    assert row == {
        "id": 4,
        "ns": "shop",
        "profiles": [1, 2],
        "types": ["ext:crm"],
        "values": ["u:1"],
        "keys": ["ext:crm:u:1"],
    }


def test_request_row_carries_the_profiles_and_keys_its_answer_names():
    answer = {"request_id": "r", "results": [
        {"index": 0, "outcome": "merged", "profile_id": 3, "absorbed": [1],
         "replaced": ["email:a@x.io"]},
        {"index": 1, "outcome": "conflict", "profile_id": None, "profiles": [3, 5]},
        {"index": 2, "outcome": "moved", "profile_id": 6, "moved_from": [7]},
    ]}  # fmt: skip
    row = request_row({"ns": "shop", "request_id": "r", "response": json.dumps(answer)})
    assert (row["profiles"], row["keys"]) == ([3, 1, 5, 6, 7], ["email:a@x.io"])
    assert row["response"] == json.dumps(answer)


def test_attribute_write_row_keeps_the_sqlite_order_as_position():
    row = attribute_write_row({"id": 12, "ns": "shop", "value": None})
    assert row == {"position": 12, "ns": "shop", "value": None}


@pytest.mark.parametrize(
    ("size", "length", "expected"),
    [
        pytest.param(5, 3, [0, 1, 2], id="fewer-than-size=all"),
        pytest.param(3, 3, [0, 1, 2], id="exactly-size=all"),
        pytest.param(3, 1000, 3, id="more-than-size=size-of-them"),
    ],
)
def test_reservoir(size, length, expected):
    chosen = reservoir(iter(range(length)), size, random.Random(1))
    assert chosen == expected if isinstance(expected, list) else len(set(chosen)) == expected
    assert chosen == reservoir(iter(range(length)), size, random.Random(1))  # a fixed seed


def view(pid: int, **changes) -> ProfileView:
    fields = {
        "id": pid,
        "recognized": False,
        "identifiers": (Identifier("email", "a@x.io"),),
        "attributes": {"city": "Oslo"},
        "aliases": (),
        "created_at": "t0",
        "updated_at": "t1",
    }
    return ProfileView(**{**fields, **changes})


@pytest.mark.parametrize(
    ("sqlite", "neo4j", "expected"),
    [
        pytest.param([view(1)], [view(1)], [], id="equal"),
        pytest.param([view(1)], [], ["shop: profile 1: missing in Neo4j"], id="missing"),
        pytest.param(
            [view(1)],
            [view(1, aliases=(2,))],
            ["shop: profile 1: aliases is () in SQLite, (2,) in Neo4j"],
            id="aliases-differ",
        ),
    ],
)
def test_view_differences_name_the_profile_and_the_field(sqlite, neo4j, expected):
    assert view_differences("shop", sqlite, neo4j) == expected


def test_pages_follow_the_key_and_never_write(service, sqlite_store):
    pairs = [[("deviceId", f"d{n}"), ("email", f"{n}@x.io")] for n in range(5)]
    for ns in ("b", "a"):
        service.link(ns, [LinkRequest(identifiers) for identifiers in pairs])
    sqlite_store.close()
    before = sqlite_store.path.read_bytes()
    source = SqliteSource(sqlite_store.path)
    identifiers = next(table for table in TABLES if table.name == "identifiers")
    first = source.page(identifiers, None, 13)
    after = [first[-1]["ns"], first[-1]["key"]]
    rest = source.page(identifiers, after, 100)
    keys = [(row["ns"], row["key"]) for row in first + rest]
    assert keys == sorted(keys) and len(set(keys)) == 20
    assert source.count(identifiers, upto=after) == 13 and after[0] == "b"
    source.close()
    assert sqlite_store.path.read_bytes() == before


def test_every_table_and_count_reads_a_store_of_the_current_schema(tmp_path):
    """Every column copied exists (the merges' keys, placements, versions, bans included), and
    every kind verification counts on SQLite, cypher/migrate/counts.cypher counts on Neo4j."""
    SqliteStore(tmp_path / "fresh.db").close()
    source = SqliteSource(tmp_path / "fresh.db")
    assert all(source.page(table, None, 1) == [] for table in TABLES)
    assert source.counts() == {}
    assert {"placements", "attribute_versions", "bans", "purges"} <= {t.name for t in TABLES}
    counted = (CYPHER_DIR / "migrate" / "counts.cypher").read_text()
    assert all(f"'{kind}'" in counted for kind, _, _ in COUNTS)
    source.close()


def test_a_store_of_an_older_schema_is_refused_before_anything_is_copied(tmp_path):
    path = tmp_path / "old.db"
    SqliteStore(path).close()
    older = len(MIGRATIONS) - 1
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {older}")
    with pytest.raises(
        StoreError, match=f"has schema {older}, this idgraph copies schema {older + 1}"
    ):
        SqliteSource(path)


def test_history_pages_follow_their_keys(service, sqlite_store):
    """Placements and attribute versions are keyed (ns, key or profile, at), the creation
    placements SQLite does not keep (ns, key): the next page starts right after the last row
    of the one before, never repeating or skipping one."""
    for n in range(4):
        service.link("shop", [LinkRequest([("deviceId", f"d{n}"), ("deviceId", f"e{n}")],
                                          {"n": n})])  # fmt: skip
    service.link("shop", [LinkRequest([("deviceId", "d0"), ("deviceId", "d1")], {"n": 9})])
    sqlite_store.close()
    source = SqliteSource(sqlite_store.path)
    for name in ("placements", "attribute_versions", "creation_placements"):
        table = next(table for table in TABLES if table.name == name)
        first = source.page(table, None, 3)
        after = [first[-1][column] for column in table.key]
        rest = source.page(table, after, 100)
        keys = [tuple(row[column] for column in table.key) for row in first + rest]
        assert keys == sorted(keys) and len(set(keys)) == source.count(table)
        assert source.count(table, upto=after) == 3
    source.close()
