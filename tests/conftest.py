"""Shared fixtures: real stores in temporary files, and the Flask app over them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from app import create_app
from app.settings import Settings
from graph.rules import RuleBook
from graph.service import IdentityService
from graph.store.sqlite import SqliteStore


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "idgraph.db")
    yield store
    store.close()


@pytest.fixture
def service(sqlite_store) -> IdentityService:
    return IdentityService(sqlite_store, RuleBook())


@pytest.fixture
def make_app(tmp_path) -> Iterator[Callable[..., object]]:
    """Build an app on a fresh SQLite file; keyword arguments override Settings."""
    services: list[IdentityService] = []

    def build(**overrides):
        settings = Settings(store=f"sqlite:///{tmp_path / 'api.db'}", **overrides)
        app = create_app(settings)
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
