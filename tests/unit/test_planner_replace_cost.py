"""Which identifier a replacing item replaces, asked again later in the same batch: the planner
counts the joined profiles' identifiers of the type, then finds the one they hold in an index
of a profile's members by type, built the first time the profile is asked and kept between
items. It must name the identifier as it is when the item is decided, after the items before
it replaced, merged or refused. States are built as in test_planner.py."""

from __future__ import annotations

import pytest
from test_planner import PROVENANCE, item, profile, state

from graph.model import Conflict, GraphState, Linked, LinkItem, Merged
from graph.planner import plan_links
from graph.rules import MOVE, REPLACE, SYNERISE, Rules

# larger survives a merge, so an email can join a profile already asked about
EMAIL_REPLACES = Rules(on_conflict={"email": REPLACE, "browserId": MOVE})


@pytest.mark.parametrize(
    ("given", "batch", "rules", "outcomes"),
    [
        pytest.param(
            state(profile(1, "uuid:1", "email:a")),
            [item("uuid:1", "email:b"), item("uuid:1", "email:c")],
            SYNERISE,
            [Linked(1, replaced=("email:a",)), Linked(1, replaced=("email:b",))],
            id="replaced-twice=the-second-replaces-the-first-replacement",
        ),
        pytest.param(
            state(
                profile(1, "customId:c", "browserId:b1", "browserId:b2"),
                profile(2, "email:a"),
            ),
            [
                item("customId:c", "customId:d"),  # asks profile 1 for its oldest customId
                item("browserId:b1", "email:a"),
                item("customId:c", "email:z"),
            ],
            EMAIL_REPLACES,
            [
                Conflict(1, reason="unique_type:customId", profiles=(1,)),
                Merged(1, absorbed=(2,)),
                Linked(1, replaced=("email:a",)),
            ],
            id="an-email-merged-in-after-the-profile-was-asked=it-is-replaced",
        ),
        pytest.param(
            state(profile(1, "uuid:1"), profile(2, "customId:c", "email:a")),
            [item("uuid:1", "customId:c", "email:z")],
            SYNERISE,
            [Merged(2, absorbed=(1,), replaced=("email:a",))],
            id="the-email-in-the-second-joined-profile=replaced",
        ),
        pytest.param(
            state(profile(1, "uuid:1", "email:a"), profile(2, "customId:c", "email:b")),
            [item("customId:c", "uuid:1", "email:z")],
            SYNERISE,
            [Conflict(2, reason="unique_type:email", profiles=(2, 1))],
            id="an-email-in-each-joined-profile=refused",
        ),
    ],
)
def test_a_replacement_replaces_the_one_identifier_of_its_type_held_at_that_item(
    given: GraphState, batch: list[LinkItem], rules: Rules, outcomes: list[object]
) -> None:
    assert list(plan_links(batch, given, rules, PROVENANCE).outcomes) == outcomes
