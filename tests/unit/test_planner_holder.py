"""Who a refused item runs into, asked again later in the same batch: the planner keeps each
profile's oldest identifier of a type between items, and must name the holder as it is when
the item is decided, after the items before it moved or merged identifiers. States are built
as in test_planner.py."""

from __future__ import annotations

import pytest
from test_planner import PROVENANCE, identifier, item, profile, state

from graph.model import Conflict, GraphState, Holder, LinkItem, Merged, Moved
from graph.planner import plan_links
from graph.rules import Rules

CAP_3 = Rules(max_identifiers=3)
CAP_4 = Rules(max_identifiers=4)
AROUND_EMAIL = [("email:a", "browserId:b1"), ("email:a", "browserId:b2")]


@pytest.mark.parametrize(
    ("given", "batch", "rules", "kinds", "named_by"),
    [
        pytest.param(
            state(profile(1, "browserId:b1", "browserId:b2", "email:a", links=AROUND_EMAIL)),
            [
                item("browserId:x", "email:a"),
                item("customId:k", "browserId:b1"),
                item("browserId:y", "email:a", "phone:1"),
            ],
            CAP_3,
            [Conflict, Moved, Conflict],
            ["browserId:b1", None, "browserId:b2"],
            id="the-oldest-moved-away=the-next-oldest-names-it",
        ),
        pytest.param(
            state(
                profile(2, "browserId:b0"),
                profile(1, "email:a", "browserId:b1", "browserId:b2"),
            ),
            [
                item("browserId:x", "email:a", "phone:1"),
                item("email:a", "browserId:b0"),
                item("browserId:y", "email:a"),
            ],
            CAP_4,
            [Conflict, Merged, Conflict],
            ["browserId:b1", None, "browserId:b0"],
            id="an-older-one-merged-in=it-names-it",
        ),
    ],
)
def test_a_holder_is_named_by_its_oldest_identifier_of_the_type_at_that_item(
    given: GraphState,
    batch: list[LinkItem],
    rules: Rules,
    kinds: list[type],
    named_by: list[str | None],
) -> None:
    outcomes = plan_links(batch, given, rules, PROVENANCE).outcomes

    assert [type(outcome) for outcome in outcomes] == kinds
    for outcome, key in zip(outcomes, named_by, strict=True):
        if key is not None:
            assert isinstance(outcome, Conflict)
            assert outcome.holder == Holder(1, 1, identifier("email:a"), identifier(key))
