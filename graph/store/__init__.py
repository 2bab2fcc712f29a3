"""Storage adapters behind one protocol (base.py)."""

from __future__ import annotations

from typing import Any

from graph.errors import StoreError
from graph.store.base import Store

NEO4J_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")


def is_neo4j_url(url: str) -> bool:
    return url.split("://", 1)[0] in NEO4J_SCHEMES


def open_store(url: str, **neo4j_options: Any) -> Store:
    """Open the store an ``IDGRAPH_STORE`` URL names; ``neo4j_options`` (user, password,
    database) apply to a Neo4j URL only."""
    if url.startswith("sqlite:"):
        from graph.store.sqlite import SqliteStore

        return SqliteStore.from_url(url)
    if is_neo4j_url(url):
        from graph.store.neo4j import Neo4jStore

        return Neo4jStore.from_url(url, **neo4j_options)
    raise StoreError(
        f"unsupported store URL {url!r}: use sqlite:///path/to/file.db or neo4j://host:7687"
    )
