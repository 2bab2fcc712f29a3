"""A change set as named rows (graph/store/rows.py): what both stores write, in order."""

from __future__ import annotations

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
from graph.store.cypher import CYPHER_DIR, load_statements
from graph.store.neo4j.store import ALL_STATEMENTS
from graph.store.rows import change_rows, merge_rows


def writes_of(changes: ChangeSet) -> dict[str, tuple[list, dict]]:
    return {write.kind: (write.rows, write.params) for write in change_rows(changes)}


def test_merges_in_one_batch_point_every_alias_at_the_live_survivor():
    rows = merge_rows([MergeRow(1, survivor=2, absorbed=1, item_index=0),
                       MergeRow(2, survivor=3, absorbed=2, item_index=1)])  # fmt: skip
    assert [(r["absorbed"], r["survivor"], r["live"]) for r in rows] == [(1, 2, 3), (2, 3, 3)]


def test_a_change_set_becomes_one_row_list_per_statement_in_write_order():
    changes = ChangeSet(
        provenance=Provenance("r1", "2026-01-01T00:00:00Z", operation="synerise", source="crm"),
        new_identifiers=[NewIdentifier("email:a@x.io", "email", "a@x.io", 7)],
        relabels=[("uuid:u1", 7), ("email:old@x.io", None)],
        new_links=[NewLink(3, "email:a@x.io", "uuid:u1", 0, ended_reason="replaced")],
        ended_links=[(1, "replaced")],
        conflicts=[ConflictRow(0, "unique", (7, 8), (Identifier("ext:crm", "9"),))],
    )
    statements = writes_of(changes)
    assert [write.kind for write in change_rows(changes)][:5] == [
        "create_profiles", "update_profiles", "upsert_identifiers", "move_identifiers",
        "create_links",
    ]  # fmt: skip
    [new], _ = statements["upsert_identifiers"]
    assert (new["key"], new["profile_id"], new["request_id"]) == ("email:a@x.io", 7, "r1")
    moved, _ = statements["move_identifiers"]
    assert moved == [{"key": "uuid:u1", "profile_id": 7},
                     {"key": "email:old@x.io", "profile_id": None}]  # fmt: skip
    [link], _ = statements["create_links"]
    assert (link["operation"], link["source"], link["end_reason"]) == (
        "synerise",
        "crm",
        "replaced",
    )
    assert link["ended_at"] == "2026-01-01T00:00:00Z"
    [conflict], parameters = statements["create_conflicts"]
    assert conflict["identifiers"] == [["ext:crm", "9"]] and conflict["keys"] == ["ext:crm:9"]
    assert parameters == {"request_id": "r1", "at": "2026-01-01T00:00:00Z"}
    ended, parameters = statements["end_links"]
    assert ended == [{"id": 1, "end_reason": "replaced"}] and parameters["request_id"] == "r1"


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
    statements = writes_of(changes)
    instant = {"at": "2026-01-01T00:00:00Z", "request_id": "r1"}
    assert statements["create_placements"] == (
        [{"key": "email:a@x.io", "profile_id": 7}, {"key": "email:old@x.io", "profile_id": None}],
        instant,
    )
    assert statements["create_attribute_versions"] == (
        [{"profile_id": 7, "attributes": {"age": 41, "city": "Oslo"}}],
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


def test_every_write_is_a_neo4j_statement_taking_exactly_its_parameters():
    statements = load_statements(CYPHER_DIR / "store", ALL_STATEMENTS)
    for write in change_rows(ChangeSet(provenance=Provenance("r", "t"))):
        # Neo4j creates new identifiers and finds those coming back with two statements
        kinds = ("create_identifiers", "return_identifiers")
        for kind in kinds if write.kind == "upsert_identifiers" else (write.kind,):
            statements[kind].bind({"ns": "n", "rows": write.rows, **write.params})
