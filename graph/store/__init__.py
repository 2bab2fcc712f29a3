"""Storage adapters behind one protocol (base.py)."""

from __future__ import annotations

from graph.errors import StoreError
from graph.store.base import Store


def open_store(url: str) -> Store:
    """Open the store an ``IDGRAPH_STORE`` URL names."""
    if url.startswith("sqlite:"):
        from graph.store.sqlite import SqliteStore

        return SqliteStore.from_url(url)
    raise StoreError(f"unsupported store URL {url!r}: use sqlite:///path/to/file.db")
