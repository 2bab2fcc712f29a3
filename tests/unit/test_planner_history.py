"""Taking links and merges back, and bans, decided by the planner (pure: state in, change set
out); and the pure lineage functions: paths, aliases at an instant, links at an instant,
exports. Keys are written "type:value"; states are built as in test_planner.py."""

from __future__ import annotations

import io
from dataclasses import replace

import networkx as nx
import pytest
from test_planner import DEFAULT, NOW, OLD, PROVENANCE, identifier, item, profile, state

from graph import lineage
from graph.model import (
    Attribute,
    AttributeHistory,
    Ban,
    LinkRecord,
    MergeRecord,
    ProfileView,
    Refusal,
)
from graph.planner import BANNED, plan_end_link, plan_links, plan_undo_merge


def record(link_id: int, a: str, b: str, **fields) -> LinkRecord:
    return LinkRecord(
        link_id, a, b, "native", None, "r0", 0, fields.pop("merge_id", None), OLD, **fields
    )


def ban(a: str, b: str | None = None, b_type: str | None = None) -> Ban:
    return Ban(1, a, b, b_type, "no", "tests", OLD)


# --- ending a link ----------------------------------------------------------------------------


def test_ending_a_bridge_splits_off_the_smaller_part_with_its_own_values() -> None:
    given = state(
        profile(
            1, "email:a", "uuid:1", "uuid:2", "uuid:3",
            links=[("email:a", "uuid:1"), ("uuid:1", "uuid:2"), ("uuid:2", "uuid:3")],
            attributes={"city": Attribute("Oslo", "uuid:3", OLD, "r0")},
        )
    )  # fmt: skip
    bridge = record(103, "uuid:2", "uuid:3")
    plan = plan_end_link(bridge, given, DEFAULT, PROVENANCE, reason="wrong")
    (new_profile,) = plan.changes.new_profiles
    assert plan.profiles == (1, new_profile.id) and new_profile.parent_id == 1
    assert plan.changes.ended_links == [(103, "wrong")]
    assert plan.changes.relabels == [("uuid:3", new_profile.id)]
    assert plan.changes.attributes == {
        1: {},
        new_profile.id: {"city": Attribute("Oslo", "uuid:3", OLD, "r0")},
    }
    assert plan.changes.new_bans == []


def test_ending_a_link_inside_a_cycle_splits_nothing_and_a_ban_names_its_ends() -> None:
    cycle = [("uuid:1", "uuid:2"), ("uuid:2", "uuid:3"), ("uuid:3", "uuid:1")]
    given = state(profile(1, "uuid:1", "uuid:2", "uuid:3", links=cycle))
    plan = plan_end_link(
        record(101, "uuid:1", "uuid:2"), given, DEFAULT, PROVENANCE, reason="r", ban=True
    )
    assert plan.profiles == (1,) and plan.changes.new_profiles == []
    (made,) = plan.changes.new_bans
    assert (made.a, made.b, made.link_id, made.created_by) == ("uuid:1", "uuid:2", 101, "tests")


# --- bans in the planner ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bans, joined",
    [
        ([ban("uuid:1", "uuid:4")], False),  # the pair, in two profiles
        ([ban("uuid:2", b_type="email")], False),  # uuid:2 with any email
        ([ban("uuid:9", "uuid:4")], True),  # a ban on others
        ([ban("uuid:1", "uuid:2")], True),  # already together: not a join
    ],
)
def test_a_ban_refuses_an_item_that_would_join_its_identifiers(bans, joined) -> None:
    given = state(profile(1, "uuid:1", "uuid:2"), profile(2, "email:x", "uuid:4"))
    given.bans = bans
    plan = plan_links([item("uuid:2", "uuid:4")], given, DEFAULT, PROVENANCE)
    (outcome,) = plan.outcomes
    assert (outcome.kind == "merged") is joined
    if not joined:
        assert outcome.reason == BANNED and plan.changes.conflicts[0].rule == BANNED


def test_a_ban_naming_a_new_identifier_refuses_linking_it() -> None:
    given = state(profile(1, "uuid:1", "uuid:2"))
    given.bans = [ban("email:new", "uuid:2")]
    (outcome,) = plan_links([item("email:new", "uuid:1")], given, DEFAULT, PROVENANCE).outcomes
    assert outcome.kind == "conflict" and outcome.reason == BANNED


# --- undoing a merge ------------------------------------------------------------------------------


def merged_state(*extra_links: tuple[str, str]):
    """Profile 1 (email:a, uuid:1) absorbed profile 2 (uuid:2, uuid:3) by merge 7, whose
    link 110 joined uuid:1 with uuid:2; aliases: 3 (absorbed by 2 earlier)."""
    links = [("email:a", "uuid:1"), ("uuid:2", "uuid:3"), ("uuid:1", "uuid:2"), *extra_links]
    given = state(profile(1, "email:a", "uuid:1", "uuid:2", "uuid:3", links=links))
    given.history = [
        AttributeHistory(2, "uuid:3", "city", "Rome", OLD, "r0"),
        AttributeHistory(1, "email:a", "city", "Oslo", OLD, "r1"),
    ]
    given.attributes = {1: {"city": Attribute("Oslo", "email:a", OLD, "r1")}}
    merge = MergeRecord(7, 1, 2, "r-merge", 0, OLD, "uuid:1", "uuid:2")
    ending = [record(103, "uuid:1", "uuid:2", merge_id=7)]
    return given, merge, ending


def undo(given, merge, ending):
    return plan_undo_merge(
        merge, ending=ending, restoring=[], aliases=[3], absorbed_created_at=OLD,
        state=given, rules=DEFAULT, provenance=PROVENANCE, reason="wrong",
    )  # fmt: skip


def test_undo_restores_the_absorbed_id_its_aliases_and_its_values() -> None:
    plan = undo(*merged_state())
    assert plan.profiles == (1, 2)
    changes = plan.changes
    assert changes.restored == [2] and changes.undone_merges == [7]
    assert changes.repointed == [(3, 2)]
    assert sorted(changes.relabels) == [("uuid:2", 2), ("uuid:3", 2)]
    assert changes.ended_links == [(103, "wrong")]
    assert changes.attributes[2] == {"city": Attribute("Rome", "uuid:3", OLD, "r0")}
    assert changes.attributes[1] == {"city": Attribute("Oslo", "email:a", OLD, "r1")}
    assert [(b.a, b.b) for b in changes.new_bans] == [("uuid:1", "uuid:2")]


def test_undo_is_refused_naming_the_links_that_still_join_the_two_sides() -> None:
    refusal = undo(*merged_state(("email:a", "uuid:3")))
    assert isinstance(refusal, Refusal) and refusal.code == "merge_in_use"
    assert refusal.details == {"links": [101, 104, 102]}
    assert "end links 101, 104, 102 first" in refusal.message


def test_undo_is_refused_when_the_identifiers_it_joined_have_left() -> None:
    given, merge, ending = merged_state()
    gone = replace(merge, absorbed_key="uuid:9")  # replaced since, in no profile now
    refusal = undo(given, gone, ending)
    assert isinstance(refusal, Refusal) and refusal.code == "merge_not_undoable"
    assert refusal.details == {"merge_id": 7}


# --- lineage: pure functions ----------------------------------------------------------------------


def test_shortest_path_takes_the_fewest_links_in_walking_order() -> None:
    links = [
        (1, "a", "b"),
        (2, "b", "c"),
        (3, "c", "d"),
        (4, "d", "e"),
        (5, "a", "x"),
        (6, "x", "e"),
    ]
    assert lineage.shortest_path(links, "a", "d") == [(1, "a", "b"), (2, "b", "c"), (3, "c", "d")]
    assert lineage.shortest_path(links, "e", "a") == [(6, "e", "x"), (5, "x", "a")]
    with pytest.raises(nx.NetworkXNoPath):
        lineage.shortest_path([(1, "a", "b"), (2, "c", "d")], "a", "d")


def test_aliases_at_follow_chains_and_leave_out_undone_and_later_merges() -> None:
    merges = [
        MergeRecord(1, 2, 1, "r", 0, "2026-01-02T00:00:00.000000Z"),  # 1 into 2
        MergeRecord(2, 3, 2, "r", 0, "2026-01-03T00:00:00.000000Z"),  # 2 into 3
        MergeRecord(3, 3, 4, "r", 0, "2026-01-04T00:00:00.000000Z", undone_at=NOW),
    ]
    assert lineage.aliases_at(3, merges, None) == [1, 2]
    assert lineage.aliases_at(3, merges, "2026-01-02T12:00:00.000000Z") == []
    assert lineage.aliases_at(3, merges, "2026-01-05T00:00:00.000000Z") == [1, 2, 4]


def test_links_as_of_hide_later_links_and_later_ends() -> None:
    ended = replace(record(1, "a", "b"), ended_at="2026-01-10T00:00:00.000000Z", end_reason="x")
    later = replace(record(2, "b", "c"), created_at="2026-01-20T00:00:00.000000Z")
    shown = lineage.links_as_of([ended, later], "2026-01-05T00:00:00.000000Z")
    assert [(k.id, k.ended_at, k.end_reason) for k in shown] == [(1, None, None)]
    assert lineage.links_as_of([ended, later], None) == [ended, later]


def test_graphml_carries_identifiers_and_links_with_their_provenance() -> None:
    found = lineage.Lineage(
        profile=ProfileView(1, False, (identifier("uuid:1"),), {}, (), OLD, OLD),
        as_of=None,
        identifiers=(
            lineage.LineageIdentifier("uuid:1", "uuid", "1", 1, OLD, True),
            lineage.LineageIdentifier("uuid:2", "uuid", "2", None, OLD, False),
        ),
        links=(replace(record(5, "uuid:1", "uuid:2"), ended_at=NOW, end_reason="moved"),),
        merges=(),
        next_cursor=None,
    )
    graph = nx.read_graphml(io.StringIO(lineage.graphml(found)))
    assert graph.nodes["uuid:2"]["member"] is False and "profile_id" not in graph.nodes["uuid:2"]
    ((_, _, data),) = graph.edges(data=True)
    assert (data["end_reason"], data["active"], data["request_id"]) == ("moved", False, "r0")
