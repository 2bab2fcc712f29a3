"""The rows a copy carries: a SQLite store's tables read in key order through its read-only
mode (graph/store/sqlite/copy.py), the named rows of graph/store/rows.py they share with the
write path, the sample, and the comparison of profile views."""

from __future__ import annotations

import json
import random
import sqlite3

import pytest

from graph.errors import StoreError
from graph.items import LinkRequest
from graph.model import Identifier, ProfileView
from graph.store.cypher import CYPHER_DIR
from graph.store.neo4j.tx import attributes_of, neo4j_rows
from graph.store.rows import conflict_row, request_row
from graph.store.sqlite.copy import KINDS, reservoir
from graph.store.sqlite.schema import MIGRATIONS
from graph.store.sqlite.store import SqliteStore
from graph.transfer.verify import view_differences


def test_profile_rows_carry_attributes_as_the_neo4j_store_reads_them(service, sqlite_store):
    service.linking.link("shop", [LinkRequest([("deviceId", "d1"), ("email", "a@x.io")],
                                      {"city": "Oslo", "tags": [1, {"x": "ü"}]})])  # fmt: skip
    service.linking.link("shop", [LinkRequest([("deviceId", "d2"), ("deviceId", "d3")])])
    sqlite_store.close()
    with SqliteStore(sqlite_store.path, read_only=True) as source:
        first, second = source.copy_page("profiles", None, 10)
    assert first["recognized"] is True and second["recognized"] is False
    assert second["attributes"] is None
    [encoded] = neo4j_rows([first])
    read = attributes_of(encoded["attributes"])
    assert {name: (a.value, a.via) for name, a in read.items()} == {  # type names fold
        "city": ("Oslo", "deviceid:d1"),
        "tags": ([1, {"x": "ü"}], "deviceid:d1"),
    }


def test_conflict_row_names_identifiers_as_pairs_with_their_keys():
    row = conflict_row(3, "unique_type:ext:crm", (1, 2), [Identifier("ext:crm", "u:1")])
    assert row == {
        "item_index": 3,
        "rule": "unique_type:ext:crm",
        "profiles": [1, 2],
        "identifiers": [["ext:crm", "u:1"]],
        "keys": ["ext:crm:u:1"],
    }


def test_request_row_carries_the_profiles_and_keys_its_answer_names():
    answer = {"request_id": "r", "results": [
        {"index": 0, "outcome": "merged", "profile_id": 3, "absorbed": [1],
         "replaced": ["email:a@x.io"]},
        {"index": 1, "outcome": "conflict", "profile_id": None, "profiles": [3, 5]},
        {"index": 2, "outcome": "moved", "profile_id": 6, "moved_from": [7]},
    ]}  # fmt: skip
    row = request_row("r", "digest", "t0", answer)
    assert (row["profiles"], row["keys"]) == ([3, 1, 5, 6, 7], ["email:a@x.io"])
    assert json.loads(row["response"]) == answer


def test_attribute_writes_keep_the_sqlite_order_as_position(service, sqlite_store):
    service.linking.link(
        "shop", [LinkRequest([("deviceId", "d1"), ("deviceId", "d2")], {"a": 1, "b": None})]
    )
    sqlite_store.close()
    with SqliteStore(sqlite_store.path, read_only=True) as source:
        writes = source.copy_page("attribute_writes", None, 10)
    assert [(w["position"], w["name"], w["value"]) for w in writes] == [
        (1, "a", "1"),
        (2, "b", None),
    ]


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
        service.linking.link(ns, [LinkRequest(identifiers) for identifiers in pairs])
    sqlite_store.close()
    before = sqlite_store.path.read_bytes()
    with SqliteStore(sqlite_store.path, read_only=True) as source:
        first = source.copy_page("identifiers", None, 13)
        after = source.copy_key("identifiers", first[-1])
        rest = source.copy_page("identifiers", after, 100)
        keys = [(row["ns"], row["key"]) for row in first + rest]
        assert keys == sorted(keys) and len(set(keys)) == 20
        assert source.copy_count("identifiers", upto=after) == 13 and after[0] == "b"
        with pytest.raises(StoreError, match="read-only"):
            source.write(lambda tx: None)
    assert sqlite_store.path.read_bytes() == before


def test_every_table_and_count_reads_a_store_of_the_current_schema(tmp_path):
    """Every column copied exists (the merges' keys, placements, versions, bans included), and
    every kind verification counts on SQLite, cypher/migrate/counts.cypher counts on Neo4j."""
    SqliteStore(tmp_path / "fresh.db").close()
    with SqliteStore(tmp_path / "fresh.db", read_only=True) as source:
        tables = source.copy_tables()
        assert all(source.copy_page(table, None, 1) == [] for table in tables)
        assert source.copy_counts() == {}
    assert {"placements", "attribute_versions", "bans", "purges"} <= set(tables)
    counted = (CYPHER_DIR / "migrate" / "counts.cypher").read_text()
    assert all(f"'{kind}'" in counted for kind in KINDS)


@pytest.mark.parametrize("offset", [-1, 1], ids=["older", "newer"])
def test_a_store_of_another_schema_is_refused_before_anything_is_read(tmp_path, offset):
    path = tmp_path / "other.db"
    SqliteStore(path).close()
    other = len(MIGRATIONS) + offset
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {other}")
    with pytest.raises(StoreError, match=f"has schema {other}|written by a newer idgraph"):
        SqliteStore(path, read_only=True)


def test_no_file_is_created_to_read_one(tmp_path):
    with pytest.raises(StoreError, match="no SQLite store at"):
        SqliteStore(tmp_path / "absent.db", read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_history_pages_follow_their_keys(service, sqlite_store):
    """Placements and attribute versions are keyed (ns, key or profile, at), the creation
    placements SQLite does not keep (ns, key): the next page starts right after the last row
    of the one before, never repeating or skipping one."""
    for n in range(4):
        service.linking.link("shop", [LinkRequest([("deviceId", f"d{n}"), ("deviceId", f"e{n}")],
                                          {"n": n})])  # fmt: skip
    service.linking.link("shop", [LinkRequest([("deviceId", "d0"), ("deviceId", "d1")], {"n": 9})])
    sqlite_store.close()
    with SqliteStore(sqlite_store.path, read_only=True) as source:
        for name in ("placements", "attribute_versions", "creation_placements"):
            first = source.copy_page(name, None, 3)
            after = source.copy_key(name, first[-1])
            rest = source.copy_page(name, after, 100)
            keys = [tuple(source.copy_key(name, row)) for row in first + rest]
            assert keys == sorted(keys) and len(set(keys)) == source.copy_count(name)
            assert source.copy_count(name, upto=after) == 3
