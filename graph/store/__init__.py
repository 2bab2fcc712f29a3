"""Storage adapters behind one protocol (base.py): sqlite/ and neo4j/, each with its store,
transaction, schema, keys and purge. rows.py turns a change set into the named rows both
write, cypher.py loads the Cypher files. Only this package touches a database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graph.errors import StoreError
from graph.store.base import Store
from graph.store.neo4j import is_neo4j_url

__all__ = ["absent_store", "is_neo4j_url", "open_store"]


def open_store(url: str, *, read_only: bool = False, **neo4j_options: Any) -> Store:
    """Open the store an ``IDGRAPH_STORE`` URL names; ``neo4j_options`` (user, password,
    database) apply to a Neo4j URL only. ``read_only`` opens it for reading only: nothing is
    created, migrated or written (exports, migration sources, checks)."""
    if url.startswith("sqlite:"):
        from graph.store.sqlite.store import SqliteStore

        return SqliteStore.from_url(url, read_only=read_only)
    if is_neo4j_url(url):
        from graph.store.neo4j.store import Neo4jStore

        return Neo4jStore.from_url(url, read_only=read_only, **neo4j_options)
    raise StoreError(
        f"unsupported store URL {url!r}: use sqlite:///path/to/file.db or neo4j://host:7687"
    )


def absent_store(url: str) -> Path | None:
    """The file a SQLite store URL names, when there is none there yet (a first run, or a
    path mistyped); None when there is one, and for a Neo4j server, which is there or not
    when connected to."""
    if not url.startswith("sqlite:"):
        return None
    from graph.store.sqlite.store import sqlite_path

    path = sqlite_path(url)
    return None if path.exists() else path
