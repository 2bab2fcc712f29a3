"""The same requests on SQLite and on Neo4j answer the same (differential tests).

Each test builds one app on a fresh SQLite file and one on the session's Neo4j (emptied),
sends both the same requests, and compares the answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.api import create_app
from app.settings import Settings


@pytest.fixture
def both(tmp_path, bolt_server, neo4j_store_emptied) -> Iterator[dict[str, object]]:
    """A test client on SQLite and one on Neo4j, each on an empty store."""
    neo4j_store_emptied()
    apps = {
        "sqlite": create_app(Settings(store=f"sqlite:///{tmp_path / 'parity.db'}")),
        "neo4j": create_app(
            Settings(
                store=bolt_server.uri,
                neo4j_user=bolt_server.user,
                neo4j_password=bolt_server.password,
                neo4j_database=bolt_server.database,
            )
        ),
    }
    yield {name: app.test_client() for name, app in apps.items()}
    for app in apps.values():
        app.extensions["idgraph.service"].store.close()


def _link(client, request_id: str, *pairs: tuple[str, str]) -> None:
    items = [
        {"identifiers": [{"type": "browserId", "value": a}, {"type": "browserId", "value": b}]}
        for a, b in pairs
    ]
    response = client.post("/v1/shop/links", json={"items": items, "request_id": request_id})
    assert response.status_code == 200, response.json


def _path(client, a: str, b: str) -> list[int]:
    response = client.get(f"/v1/shop/explain?a=browserId:{a}&b=browserId:{b}")
    assert response.status_code == 200, response.json
    assert response.json["connected"] is True
    return [step["link"]["id"] for step in response.json["path"]]


def test_explain_names_the_same_shortest_path_on_both_stores(both):
    """A profile where two shortest paths join ``d`` and ``a`` (d-b-a and d-c-a): explain
    must not depend on the store. SQLite answered d-b-a (links 3, 1), Neo4j d-c-a (links 4,
    2): the path was networkx's first found, in the order the store happened to return the
    active links (active_links.cypher has no ORDER BY; SQLite's query neither). The same
    path decides which links a ``merge_in_use`` refusal names."""
    for client in both.values():
        _link(client, "r1", ("a", "b"), ("a", "c"))  # links 1 (a-b), 2 (a-c)
        _link(client, "r2", ("d", "b"))  # link 3
        _link(client, "r3", ("d", "c"))  # link 4
        _link(client, "r4", ("e", "c"), ("e", "b"), ("f", "d"), ("f", "a"))  # links 5-8
    answers = {
        name: {(x, y): _path(client, x, y) for x in "def" for y in "ade" if x != y}
        for name, client in both.items()
    }
    differing = {
        pair: (answers["sqlite"][pair], answers["neo4j"][pair])
        for pair in answers["sqlite"]
        if answers["sqlite"][pair] != answers["neo4j"][pair]
    }
    assert differing == {}, f"(sqlite path, neo4j path) by (a, b): {differing}"
