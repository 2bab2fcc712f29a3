"""The Neo4j the Neo4j store's tests run on: the one ``NEO4J_URI`` names (its database is erased
by the tests), or a real Neo4j 5.26 Community started for the test session from tools/neo4j/
(tests/neo4j_server.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from graph.store.neo4j.store import Neo4jStore
from tests.neo4j_server import ERASURE_SETTINGS, TEST_JAVA_OPTIONS, Neo4jServer


@dataclass(frozen=True)
class BoltServer:
    """Where a Neo4j answers, and how to log in."""

    uri: str
    user: str
    password: str
    database: str

    def open_store(self) -> Neo4jStore:
        return Neo4jStore(self.uri, user=self.user, password=self.password, database=self.database)

    def environment(self) -> dict[str, str]:
        """The settings that point `idgraph` at this server."""
        return {
            "IDGRAPH_STORE": self.uri,
            "NEO4J_USER": self.user,
            "NEO4J_PASSWORD": self.password,
            "NEO4J_DATABASE": self.database,
        }


def from_environment() -> BoltServer | None:
    uri = os.environ.get("NEO4J_URI")
    if not uri:
        return None
    return BoltServer(
        uri=uri,
        user=os.environ.get("NEO4J_USER", "neo4j"),
        password=os.environ.get("NEO4J_PASSWORD", ""),
        database=os.environ.get("NEO4J_DATABASE", "neo4j"),
    )


@contextmanager
def started(home: Path) -> Iterator[BoltServer]:
    """A real Neo4j in ``home`` for as long as the block runs, set as a deployment that must
    erase is (tests/neo4j_server.py, ERASURE_SETTINGS)."""
    with Neo4jServer(home, settings=ERASURE_SETTINGS, java_options=TEST_JAVA_OPTIONS) as server:
        yield BoltServer(server.uri, server.user, server.password, server.database)
