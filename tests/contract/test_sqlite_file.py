"""What only the SQLite store promises about its file: WAL, a versioned schema that upgrades in
place, and statistics that keep the query planner on the indexes."""

from __future__ import annotations

import sqlite3

import pytest

from graph.errors import StoreError
from graph.store.sqlite.schema import MIGRATIONS
from graph.store.sqlite.store import SqliteStore, _statements


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


def test_every_index_has_statistics_for_the_query_planner(tmp_path):
    """Without them SQLite answers `ns = ? AND profile_id = ?` by scanning the namespace: a
    new index needs its row in migration 2's seed (or a migration of its own)."""
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
    assert indexes | without_rowid <= described
