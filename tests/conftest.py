"""Shared fixtures: real stores (SQLite in temporary files, a real Neo4j 5 started once per test
session, or the one NEO4J_URI names), and the Flask app over them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.api import create_app
from app.settings import Settings
from graph.rules import RuleBook
from graph.service import IdentityService
from graph.store.cypher import CYPHER_DIR, Statement
from graph.store.neo4j.store import Neo4jStore
from graph.store.sqlite.store import SqliteStore
from tests.bolt_server import BoltServer, from_environment, started

ERASE_EVERYTHING = Statement.read(CYPHER_DIR / "testing" / "erase_everything.cypher")


@pytest.fixture(scope="session")
def bolt_server(tmp_path_factory) -> Iterator[BoltServer]:
    """The Neo4j named by NEO4J_URI, or a real Neo4j started for this test session."""
    server = from_environment()
    if server is not None:
        if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
            pytest.fail("NEO4J_URI names one database, which tests in several processes would "
                        "erase under each other: run them in one (-n 0)")  # fmt: skip
        yield server
        return
    with started(tmp_path_factory.mktemp("neo4j")) as neo4j:
        yield neo4j


@pytest.fixture(scope="session")
def _neo4j_admin(bolt_server) -> Iterator[Neo4jStore]:
    store = bolt_server.open_store()
    yield store
    store.close()


@pytest.fixture(scope="session")
def neo4j_store_emptied(_neo4j_admin) -> Callable[[], Neo4jStore]:
    """Empties the Bolt server (the schema stays) and answers a store on it; for tests that
    need a fresh graph more than once (hypothesis examples)."""

    def empty() -> Neo4jStore:
        _neo4j_admin.run(ERASE_EVERYTHING, write=True)
        _neo4j_admin.initialize()
        return _neo4j_admin

    return empty


@pytest.fixture
def empty_bolt_server(bolt_server, neo4j_store_emptied) -> BoltServer:
    """The Bolt server with nothing in it but the schema and its seed nodes."""
    neo4j_store_emptied()
    return bolt_server


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "idgraph.db")
    yield store
    store.close()


@pytest.fixture
def service(sqlite_store) -> IdentityService:
    return IdentityService(sqlite_store, RuleBook())


@pytest.fixture(params=["sqlite", "neo4j"])
def store_settings(request, tmp_path) -> dict[str, str]:
    """The Settings fields pointing at the store under test: the API suite runs on both."""
    return settings_of_fresh_store(request, tmp_path)


@pytest.fixture(scope="session")
def fresh_store_settings() -> Callable[[pytest.FixtureRequest, Path], dict[str, str]]:
    """``settings_of_fresh_store``, for a fixture of a wider scope than a test's."""
    return settings_of_fresh_store


def settings_of_fresh_store(request: pytest.FixtureRequest, folder: Path) -> dict[str, str]:
    """The Settings fields pointing at a fresh store of the kind ``request.param`` names: a
    SQLite file in ``folder``, or the session's Neo4j, emptied."""
    if request.param == "sqlite":
        return {"store": f"sqlite:///{folder / 'api.db'}"}
    request.getfixturevalue("neo4j_store_emptied")()
    server = request.getfixturevalue("bolt_server")
    return {
        "store": server.uri,
        "neo4j_user": server.user,
        "neo4j_password": server.password,
        "neo4j_database": server.database,
    }


@pytest.fixture
def make_app(store_settings) -> Iterator[Callable[..., object]]:
    """Build an app on a fresh store; keyword arguments override Settings."""
    services: list[IdentityService] = []

    def build(**overrides):
        app = create_app(Settings(**{**store_settings, **overrides}))
        services.append(app.extensions["idgraph.service"])
        return app

    yield build
    for built in services:
        built.store.close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()
