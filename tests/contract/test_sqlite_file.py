"""What only the SQLite store promises about its file: WAL, a versioned schema that upgrades in
place (ids per namespace since schema 5 included), and statistics that keep the query planner
on the indexes."""

from __future__ import annotations

import sqlite3

import pytest

from graph.errors import StoreError
from graph.store.sqlite.schema import MIGRATIONS
from graph.store.sqlite.store import SqliteStore, _statements
from tests.contract.test_store_contract import item, write


def test_a_store_file_is_in_wal_mode_at_the_latest_schema_version(tmp_path):
    SqliteStore(tmp_path / "s.db").close()
    with sqlite3.connect(tmp_path / "s.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)


def test_a_file_written_by_the_first_version_opens_and_keeps_its_data(tmp_path):
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as connection:
        for statement in _statements(MIGRATIONS[0]):
            connection.execute(statement)
        connection.execute(
            "INSERT INTO identifiers VALUES ('ns', 'email:a@x.io', 'email', 'a@x.io', 1, 't', 'r')"
        )
        connection.execute("INSERT INTO profiles (id, ns, created_at, updated_at, request_id) "
                           "VALUES (1, 'ns', 't', 't', 'r')")  # fmt: skip
        connection.execute("PRAGMA user_version = 1")
    store = SqliteStore(path)
    try:
        assert store.read(lambda tx: tx.profile_of("ns", "email:a@x.io")) == 1
    finally:
        store.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)


def test_a_file_from_a_newer_idgraph_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    with pytest.raises(StoreError, match="newer idgraph"):
        SqliteStore(path)


@pytest.mark.parametrize("upgraded", [False, True], ids=["new-file", "from-schema-4"])
def test_every_index_has_statistics_for_the_query_planner(tmp_path, upgraded):
    """Without them SQLite answers `ns = ? AND profile_id = ?` by scanning the namespace: a
    new index needs its row in migration 2's seed (or a migration of its own), and a table
    rebuilt by a migration keeps or gets them too."""
    if upgraded:
        schema_4_file(tmp_path / "s.db")
    SqliteStore(tmp_path / "s.db").close()
    with sqlite3.connect(tmp_path / "s.db") as connection:
        indexes = {
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"
            )
        }
        without_rowid = {
            name
            for (name, sql) in connection.execute(
                "SELECT name, sql FROM sqlite_schema WHERE type = 'table'"
            )
            if sql and "WITHOUT ROWID" in sql
        }
        described = {idx for (idx,) in connection.execute("SELECT idx FROM sqlite_stat1")}
    assert described == indexes | without_rowid  # and none of an index that is gone


# A store of schema 4 numbered every namespace from one sequence: shop's profiles are 1 and 3
# (3 merged into 1), crm's 2, and every kind's next id is past them all.
_SCHEMA_4_ROWS = [
    "INSERT INTO profiles (id, ns, created_at, updated_at, recognized, merged_into, request_id) "
    "VALUES (1, 'shop', 't', 't', 0, NULL, 'r'), (2, 'crm', 't', 't', 0, NULL, 'r'), "
    "(3, 'shop', 't', 't', 0, 1, 'r')",
    "INSERT INTO identifiers VALUES ('shop', 'deviceid:d1', 'deviceid', 'd1', 1, 't', 'r'), "
    "('shop', 'deviceid:d2', 'deviceid', 'd2', 1, 't', 'r'), "
    "('crm', 'deviceid:d1', 'deviceid', 'd1', 2, 't', 'r')",
    "INSERT INTO links (id, ns, a_key, b_key, operation, request_id, created_at) "
    "VALUES (1, 'shop', 'deviceid:d1', 'deviceid:d2', 'native', 'r', 't'), "
    "(2, 'crm', 'deviceid:d1', 'deviceid:d9', 'native', 'r', 't')",
    "INSERT INTO merges (id, ns, survivor, absorbed, request_id, created_at) "
    "VALUES (1, 'shop', 1, 3, 'r', 't')",
    "INSERT INTO conflicts (ns, created_at, request_id, item_index, rule, profiles, identifiers) "
    "VALUES ('shop', 't', 'r', 0, 'rule', '[1]', '[]'), ('crm', 't', 'r', 0, 'rule', '[2]', '[]')",
    "INSERT INTO bans (id, ns, a_key, b_type, reason, created_at, request_id) "
    "VALUES (1, 'crm', 'deviceid:d1', 'email', 'test', 't', 'r')",
    "INSERT INTO purges (ns, profile_id, purged_at, purged_by, identifiers) "
    "VALUES ('crm', 7, 't', 'admin', 1)",
    "UPDATE sequences SET next = CASE name WHEN 'profile' THEN 4 WHEN 'link' THEN 3 ELSE 2 END",
]


_PAGE = {"since": None, "after_id": 0, "limit": 9}


def older_file(path, version: int, rows: list[str]) -> None:
    """A store file as an idgraph of schema ``version`` left it, holding ``rows``."""
    with sqlite3.connect(path) as connection:
        for script in MIGRATIONS[:version]:
            for statement in _statements(script):
                connection.execute(statement)
        for statement in rows:
            connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {version}")


def schema_4_file(path) -> None:
    older_file(path, 4, _SCHEMA_4_ROWS)


def test_a_file_of_schema_4_opens_and_numbers_each_namespace_above_every_id_used(tmp_path):
    """Ids became per namespace in schema 5: a namespace of an older store goes on above every
    id the store had used, and so does a new one, so no id is used twice in a namespace."""
    path = tmp_path / "v4.db"
    schema_4_file(path)
    store = SqliteStore(path)
    try:
        shop = store.read(lambda tx: tx.profile_view("shop", 1))
        assert [i.value for i in shop.identifiers] == ["d1", "d2"] and shop.aliases == (3,)
        assert store.read(lambda tx: tx.resolve_profile("shop", 3)) == 1
        assert store.read(lambda tx: tx.profile_of("crm", "deviceid:d1")) == 2
        assert [link["id"] for link in store.iter_links("crm")] == [2]
        conflicts = store.read(lambda tx: tx.conflicts("crm", since=None, after_id=0, limit=9))
        assert [c.id for c in conflicts] == [2]
        naming = [  # found by the index of migration 6, made from the refusals already kept
            [c.id for c in store.read(lambda tx, ns=ns, p=p: tx.conflicts(ns, **_PAGE, profiles=p))]
            for ns, p in (("crm", [2]), ("shop", [1]), ("shop", [2]), ("crm", [3, 2]))
        ]
        assert naming == [[2], [1], [], [2]]
        assert [b.id for b in store.read(lambda tx: tx.bans("crm"))] == [1]
        assert [p.id for p in store.read(lambda tx: tx.purges("crm", after_id=0, limit=9))] == [1]

        for ns in ("shop", "crm", "new"):  # two namespaces of the old store and a new one
            batches = [item(f"deviceId:n{k}", f"deviceId:m{k}") for k in (1, 2)]
            outcomes = [write(store, batch, ns=ns)[0] for batch in batches]
            assert [outcome.profile_id for outcome in outcomes] == [4, 5], ns
            assert [link["id"] for link in store.iter_links(ns)][-2:] == [3, 4], ns
            purge = store.write(
                lambda tx, ns=ns: tx.record_purge(ns, 4, purged_by="admin", identifiers=1, at="t")
            )
            assert purge == 2, ns
            sequences = store.read(lambda tx, ns=ns: tx.load_state(ns, []).sequences)
            assert (sequences.merge, sequences.ban) == (2, 2), ns
    finally:
        store.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# A store of schema 6, before identifier ids: shop's profile 1 holds d2, d1 and d3 (created in
# that order), linked d1-d2 and d2-d3; crm's d1 is linked to a d9 it has no identifier for.
_SCHEMA_6_ROWS = [
    "INSERT INTO profiles (id, ns, created_at, updated_at, request_id) "
    "VALUES (1, 'shop', 't1', 't1', 'r'), (1, 'crm', 't1', 't1', 'r')",
    "INSERT INTO identifiers VALUES ('shop', 'deviceId:d1', 'deviceId', 'd1', 1, 't2', 'r'), "
    "('shop', 'deviceId:d2', 'deviceId', 'd2', 1, 't1', 'r'), "
    "('shop', 'deviceId:d3', 'deviceId', 'd3', 1, 't3', 'r'), "
    "('crm', 'deviceId:d1', 'deviceId', 'd1', 1, 't1', 'r')",
    "INSERT INTO links (id, ns, a_key, b_key, operation, request_id, created_at) "
    "VALUES (1, 'shop', 'deviceId:d1', 'deviceId:d2', 'native', 'r', 't2'), "
    "(2, 'shop', 'deviceId:d2', 'deviceId:d3', 'native', 'r', 't3'), "
    "(1, 'crm', 'deviceId:d1', 'deviceId:d9', 'native', 'r', 't1')",
    "INSERT INTO sequences (ns, name, next) VALUES ('shop', 'profile', 2), ('shop', 'link', 3), "
    "('crm', 'profile', 2), ('crm', 'link', 2)",
]


def test_a_file_of_schema_6_finds_every_link_by_its_identifiers(tmp_path):
    """Links are indexed by their identifiers' integer ids since schema 7: an older file numbers
    its identifiers in order of creation, and its links are found as before, beside new ones."""
    path = tmp_path / "v6.db"
    older_file(path, 6, _SCHEMA_6_ROWS)

    def touching(ns, *keys):
        return [link.id for link in store.read(lambda tx: tx.links_touching(ns, keys))]

    store = SqliteStore(path)
    try:
        state = store.read(lambda tx: tx.load_profiles("shop", [1]))
        assert sorted((link.id, link.a, link.b) for link in state.links) == [
            (1, "deviceId:d1", "deviceId:d2"),
            (2, "deviceId:d2", "deviceId:d3"),
        ]
        assert touching("shop", "deviceId:d1") == [1] and touching("shop", "deviceId:d2") == [1, 2]
        assert touching("crm", "deviceId:d1") == [1] and touching("crm", "deviceId:d9") == []

        (outcome,) = write(store, item("deviceId:d3", "deviceId:d4"), ns="shop")
        assert outcome.profile_id == 1
        assert touching("shop", "deviceId:d4") == [3] and touching("shop", "deviceId:d3") == [2, 3]
        with sqlite3.connect(path) as connection:
            numbered = connection.execute(
                "SELECT key, id FROM identifiers WHERE ns = 'shop' ORDER BY id"
            ).fetchall()
        assert [key for key, _ in numbered] == [f"deviceId:d{n}" for n in (2, 1, 3, 4)]
        assert [n for _, n in numbered] == [1, 2, 3, 4]

        assert store.write(lambda tx: tx.purge_profile("shop", 1)) == 4
        assert list(store.iter_links("shop")) == []
        assert [link["id"] for link in store.iter_links("crm")] == [1]
    finally:
        store.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
