"""A Neo4j store records that its schema's statements ran (a SchemaStep named by their
digest), so that opening a store already set up runs none of them; a new schema.cypher, or a
record deleted by hand, has them all run again on the next open."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from graph.store.cypher import CYPHER_DIR, Statement
from graph.store.neo4j.schema import SCHEMA
from graph.store.neo4j.store import Neo4jStore

INDEX_NAMES = Statement.read(CYPHER_DIR / "testing" / "index_names.cypher")
DROP_INDEX = Statement.read(CYPHER_DIR / "testing" / "drop_identifier_profile_index.cypher")
FORGET_SCHEMA = Statement.read(CYPHER_DIR / "testing" / "forget_schema.cypher")
DROP_ADDED = Statement.read(CYPHER_DIR / "testing" / "drop_link_created_index.cypher")
ADDED = "link_created"
INDEX = "identifier_profile"


def indexes(store: Neo4jStore) -> set[str]:
    return {row["name"] for row in store.run(INDEX_NAMES)}


@pytest.fixture
def dropped_by_hand(empty_bolt_server) -> Iterator[Neo4jStore]:
    """A store set up, whose identifiers' profile index an operator then dropped; the schema
    is whole again after the test, whatever it did."""
    store = empty_bolt_server.open_store()
    store.run(DROP_INDEX, write=True)
    assert INDEX not in indexes(store)
    yield store
    store.run(FORGET_SCHEMA, write=True)
    store.initialize()
    store.close()


def test_an_open_of_a_store_set_up_runs_no_schema_statement(empty_bolt_server, dropped_by_hand):
    reopened = empty_bolt_server.open_store()
    try:
        assert INDEX not in indexes(reopened)  # the record says done: nothing ran
    finally:
        reopened.close()


def test_once_its_record_is_deleted_the_next_open_makes_the_schema_again(
    empty_bolt_server, dropped_by_hand
):
    dropped_by_hand.run(FORGET_SCHEMA, write=True)
    reopened = empty_bolt_server.open_store()
    try:
        assert INDEX in indexes(reopened)
    finally:
        reopened.close()


def test_a_new_schema_runs_all_its_statements_on_a_store_an_earlier_one_set_up(
    empty_bolt_server, dropped_by_hand, tmp_path
):
    newer = shutil.copytree(CYPHER_DIR, tmp_path / "cypher")
    with (newer / SCHEMA).open("a", encoding="utf-8") as schema:
        schema.write(
            f"\nCREATE INDEX {ADDED} IF NOT EXISTS\nFOR ()-[l:LINKED]-() ON (l.created_at);\n"
        )
    server = empty_bolt_server
    upgraded = Neo4jStore(
        server.uri,
        user=server.user,
        password=server.password,
        database=server.database,
        cypher_dir=newer,
    )
    try:
        assert {INDEX, ADDED} <= indexes(upgraded)
    finally:
        upgraded.run(DROP_ADDED, write=True)
        upgraded.close()
