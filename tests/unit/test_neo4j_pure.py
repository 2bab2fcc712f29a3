"""The Neo4j store's pure parts, without a server: statement files, change sets to rows."""

from __future__ import annotations

import shutil

import pytest

from graph.errors import StoreError
from graph.model import (
    Attribute,
    Ban,
    ChangeSet,
    ConflictRow,
    Identifier,
    MergeRow,
    NewIdentifier,
    NewLink,
    Provenance,
)
from graph.store.cypher_files import CYPHER_DIR, Statement, load_statements, split_script
from graph.store.neo4j import (
    STATEMENTS,
    Neo4jStore,
    attributes_of,
    change_rows,
    dump_attributes,
    merge_rows,
)


def test_every_statement_the_store_runs_is_a_file_declaring_its_parameters():
    statements = load_statements(CYPHER_DIR / "store", STATEMENTS)
    assert statements["profile_of"].params == {"ns", "key"}
    assert statements["sequences"].params == frozenset()


def test_a_missing_statement_file_fails_start_up_before_any_connection(tmp_path):
    shutil.copytree(CYPHER_DIR, tmp_path / "cypher")
    (tmp_path / "cypher" / "store" / "end_links.cypher").unlink()
    with pytest.raises(StoreError, match="missing Cypher statements .*end_links"):
        # port 9 (discard) has no Bolt server: the error must come from the files first
        Neo4jStore("bolt://127.0.0.1:9", cypher_dir=tmp_path / "cypher")


def test_a_call_with_other_parameters_than_declared_is_refused():
    statement = Statement.parse("find", "// params: $ns, $key\nMATCH (i {ns: $ns, key: $key})")
    assert statement.bind({"ns": "a", "key": "k"}) == {"ns": "a", "key": "k"}
    with pytest.raises(StoreError, match=r"declares \['key', 'ns'\], called with \['kee', 'ns'\]"):
        statement.bind({"ns": "a", "kee": "k"})


def test_a_url_that_is_not_neo4j_is_refused():
    with pytest.raises(StoreError, match="not a Neo4j store URL"):
        Neo4jStore("http://localhost:7474")


def test_the_schema_script_splits_into_statements_without_comments():
    statements = split_script((CYPHER_DIR / "schema.cypher").read_text())
    assert statements[0].startswith("CREATE CONSTRAINT identifier_key")
    assert all(";" not in s and "//" not in s for s in statements)
    assert sum(s.startswith("MERGE (s:Sequence") for s in statements) == 7  # ban, api_key, purge


def test_merges_in_one_batch_point_every_alias_at_the_live_survivor():
    rows = merge_rows([MergeRow(1, survivor=2, absorbed=1, item_index=0),
                       MergeRow(2, survivor=3, absorbed=2, item_index=1)])  # fmt: skip
    assert [(r["absorbed"], r["survivor"], r["live"]) for r in rows] == [(1, 2, 3), (2, 3, 3)]


def test_attributes_round_trip_through_their_json_property():
    attributes = {"city": Attribute("Oslo", "email:a@x.io", "2026-01-01T00:00:00Z", "r1"),
                  "vip": Attribute(True, None, "2026-01-02T00:00:00Z", "r2")}  # fmt: skip
    assert attributes_of(dump_attributes(attributes)) == attributes
    assert attributes_of(None) == {}


def test_a_change_set_becomes_one_row_list_per_statement_in_write_order():
    changes = ChangeSet(
        provenance=Provenance("r1", "2026-01-01T00:00:00Z", operation="synerise", source="crm"),
        new_identifiers=[NewIdentifier("email:a@x.io", "email", "a@x.io", 7)],
        relabels=[("uuid:u1", 7), ("email:old@x.io", None)],
        new_links=[NewLink(3, "email:a@x.io", "uuid:u1", 0, ended_reason="replaced")],
        ended_links=[(1, "replaced")],
        conflicts=[ConflictRow(0, "unique", (7, 8), (Identifier("ext:crm", "9"),))],
    )
    statements = {name: (rows, parameters) for name, rows, parameters in change_rows(changes)}
    assert [name for name, _, _ in change_rows(changes)][:5] == [
        "create_profiles", "update_profiles", "upsert_identifiers", "move_identifiers",
        "create_links",
    ]  # fmt: skip
    moved, _ = statements["move_identifiers"]
    assert moved == [{"key": "email:a@x.io", "profile_id": 7},
                     {"key": "uuid:u1", "profile_id": 7},
                     {"key": "email:old@x.io", "profile_id": None}]  # fmt: skip
    [link], _ = statements["create_links"]
    assert (link["operation"], link["source"], link["end_reason"]) == (
        "synerise",
        "crm",
        "replaced",
    )
    assert link["ended_at"] == "2026-01-01T00:00:00Z"
    [conflict], parameters = statements["create_conflicts"]
    assert conflict["types"] == ["ext:crm"] and conflict["keys"] == ["ext:crm:9"]
    assert parameters == {"request_id": "r1", "at": "2026-01-01T00:00:00Z"}
    ended, parameters = statements["end_links"]
    assert ended == [{"id": 1, "reason": "replaced"}] and parameters["request_id"] == "r1"


def test_history_is_written_at_the_provenance_instant():
    """A placement for every identifier put somewhere (in no profile too), a version of every
    attribute map replaced, and the undo and ban rows, each statement with its parameters."""
    changes = ChangeSet(
        provenance=Provenance("r1", "2026-01-01T00:00:00Z"),
        new_identifiers=[NewIdentifier("email:a@x.io", "email", "a@x.io", 7)],
        relabels=[("email:old@x.io", None)],
        merges=[MergeRow(4, survivor=7, absorbed=3, item_index=0, survivor_key="email:a@x.io",
                         absorbed_key="uuid:u1")],
        attributes={7: {"city": Attribute("Oslo", "email:a@x.io", "t0", "r0"),
                        "age": Attribute(41, None, "t1", "r1")}},
        undone_merges=[2],
        restored=[5],
        repointed=[(6, 5), (5, 9)],
        new_bans=[Ban(3, "email:a@x.io", None, "phone", "fraud", "agent", "t2", link_id=8)],
    )  # fmt: skip
    statements = {name: (rows, parameters) for name, rows, parameters in change_rows(changes)}
    instant = {"at": "2026-01-01T00:00:00Z", "request_id": "r1"}
    assert statements["create_placements"] == (
        [{"key": "email:a@x.io", "profile_id": 7}, {"key": "email:old@x.io", "profile_id": None}],
        instant,
    )
    assert statements["create_attribute_versions"] == (
        [{"profile_id": 7, "attributes": '{"age":41,"city":"Oslo"}'}],
        instant,
    )
    [merge], _ = statements["merge_profiles"]
    assert (merge["survivor_key"], merge["absorbed_key"]) == ("email:a@x.io", "uuid:u1")
    assert statements["undo_merges"] == ([{"id": 2}], instant)
    merged_into, _ = statements["set_merged_into"]  # in order: the last row for a profile wins
    assert merged_into == [{"id": 5, "merged_into": None}, {"id": 6, "merged_into": 5},
                           {"id": 5, "merged_into": 9}]  # fmt: skip
    [ban], parameters = statements["create_bans"]
    assert ban == {
        "id": 3, "a_key": "email:a@x.io", "b_key": None, "b_type": "phone", "reason": "fraud",
        "created_by": "agent", "created_at": "t2", "link_id": 8,
    }  # fmt: skip
    assert parameters == {"request_id": "r1"}


def test_every_row_statement_is_called_with_exactly_its_declared_parameters():
    statements = load_statements(CYPHER_DIR / "store", STATEMENTS)
    for name, rows, parameters in change_rows(ChangeSet(provenance=Provenance("r", "t"))):
        statements[name].bind({"ns": "n", "rows": rows, **parameters})
