"""The store contract runs against every store. A store whose server is absent is skipped with
its reason, never faked. The Neo4j store runs against the Bolt server of tests/conftest.py:
NEO4J_URI's Neo4j, or the real Neo4j started for the session."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from graph.store.base import Store
from graph.store.sqlite.store import SqliteStore


def _sqlite(request, tmp_path) -> Callable[[], Store]:
    path = tmp_path / "contract.db"
    return lambda: SqliteStore(path)


def _neo4j(request, tmp_path) -> Callable[[], Store]:
    return request.getfixturevalue("empty_bolt_server").open_store


STORES = {"sqlite": _sqlite, "neo4j": _neo4j}


@pytest.fixture(params=sorted(STORES))
def open_store(request, tmp_path) -> Iterator[Callable[[], Store]]:
    """A function opening the store under test; every opened instance is closed after."""
    factory = STORES[request.param](request, tmp_path)
    opened: list[Store] = []

    def open_() -> Store:
        store = factory()
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store) -> Store:
    return open_store()
