"""Bans as the planner checks them, through the HTTP API on both stores: a ban refuses what
would bring its identifiers into one profile, the result of a move or a replacement included,
and nothing else; and a type ban covers the identifiers generated for a new profile."""

from __future__ import annotations

import pytest
from apitools import Api, identifiers
from synerise_client import Synerise

NS = "shop"
U1 = "uuid:00000000-0000-0000-0000-000000000001"


def ban(api, a: str, b: str | None = None, *, b_type: str | None = None, ns: str = NS) -> dict:
    (a_body,) = identifiers(a)
    body = {"a": a_body, "reason": "not one person"}
    if b is None:
        body["b_type"] = b_type
    else:
        (body["b"],) = identifiers(b)
    response = api.client.post(f"/v1/{ns}/bans", json=body)
    assert response.status_code == 201, response.json
    return response.json


def result_of(api, *items) -> tuple[str, str | None]:
    """The outcome and reason of the last of ``items``, sent in one request."""
    response = api.link(NS, *items)
    assert response.status_code == 200, response.json
    last = response.json["results"][-1]
    return last["outcome"], last.get("reason")


# c1 holds ann through b1; c2 has a browser of its own. Linking b1 to c2 cannot join c1 and c2
# (one customId a profile), so the browser moves to c2 and ann stays with c1.
SHARED_BROWSER = [
    ("customId:c1", "browserId:b1"),
    ("customId:c1", "email:ann@x.io"),
    ("customId:c2", "browserId:b9"),
]


@pytest.mark.parametrize(
    "seed, bans, item, expected",
    [
        pytest.param(
            SHARED_BROWSER, [("email:ann@x.io", "customId:c2")], ("browserId:b1", "customId:c2"),
            ("moved", None), id="move-keeps-banned-apart=moved",
        ),
        pytest.param(
            SHARED_BROWSER, [("browserId:b1", "browserId:b9")], ("browserId:b1", "customId:c2"),
            ("conflict", "banned"), id="move-brings-banned-together=banned",
        ),
        pytest.param(
            SHARED_BROWSER, [("browserId:b1", "customId:c2")], ("browserId:b1", "customId:c2"),
            ("conflict", "banned"), id="item-names-both=banned",
        ),
        pytest.param(
            SHARED_BROWSER, [("email:ann@x.io", "customId:c2")], ("customId:c1", "customId:c2"),
            ("conflict", "banned"), id="no-resolution=banned-before-unique_type",
        ),
        pytest.param(
            [("email:ann@x.io", "browserId:b1"), ("browserId:b2", U1)],
            [("email:ann@x.io", "browserId:b2")], ("browserId:b1", U1),
            ("conflict", "banned"), id="merge-breaks-ban=banned-not-moved",
        ),
        pytest.param(
            SHARED_BROWSER, [("customId:c1", "email:ann@x.io")], ("browserId:b1", "customId:c2"),
            ("moved", None), id="ban-inside-one-profile=moved",
        ),
    ],
)  # fmt: skip
def test_a_ban_refuses_only_what_would_bring_its_identifiers_together(
    api, seed, bans, item, expected
):
    assert api.link(NS, *seed).status_code == 200
    for a, b in bans:
        ban(api, a, b)
    assert result_of(api, item) == expected
    if expected[0] == "conflict":
        (refused,) = api.get(f"/v1/{NS}/conflicts").json["conflicts"]
        assert refused["rule"] == "banned"


def test_a_banned_customer_keeps_her_email_when_a_shared_browser_moves(api):
    api.link(NS, *SHARED_BROWSER)
    ban(api, "email:ann@x.io", "customId:c2")
    assert result_of(api, ("browserId:b1", "customId:c2")) == ("moved", None)
    assert api.members(NS, "customId:c2") == {"customId:c2", "browserId:b9", "browserId:b1"}
    assert api.members(NS, "email:ann@x.io") == {"customId:c1", "email:ann@x.io"}
    assert api.get(f"/v1/{NS}/conflicts").json["conflicts"] == []


def test_a_move_after_a_ban_in_the_same_request_sees_the_earlier_items(api):
    ban(api, "email:ann@x.io", "customId:c2")
    # the browser arrives in c1's profile and leaves it in one request
    assert result_of(api, *SHARED_BROWSER, ("browserId:b1", "customId:c2")) == ("moved", None)
    assert "email:ann@x.io" not in api.members(NS, "customId:c2")


# --- Synerise: replacements and generated uuids ------------------------------------------------


@pytest.fixture
def sy(client) -> Synerise:
    return Synerise(client)


def test_a_replaced_email_leaves_so_a_ban_on_it_does_not_refuse_the_new_one(api, sy):
    client = sy.create(customId="c1", email="old@x.io")
    ban(api, "email:old@x.io", "email:new@x.io", ns=sy.namespace)
    sy.batch({"customId": "c1", "email": "new@x.io"})
    assert sy.by("email", "new@x.io")["clientId"] == client["clientId"]
    assert sy.by("email", "old@x.io") is None and sy.conflicts() == []


def test_a_replacement_that_would_join_banned_identifiers_is_banned(api, sy):
    client = sy.create(customId="c1", email="old@x.io")
    ban(api, "customId:c1", "email:new@x.io", ns=sy.namespace)
    sy.batch({"customId": "c1", "email": "new@x.io"})
    assert sy.by("email", "old@x.io")["clientId"] == client["clientId"]
    assert sy.by("email", "new@x.io") is None
    assert [c["rule"] for c in sy.conflicts()] == ["banned"]


def test_a_type_ban_covers_the_uuid_generated_for_a_new_client(api, sy):
    ban(api, "email:kiosk@x.io", b_type="uuid", ns=sy.namespace)
    sy.batch({"email": "kiosk@x.io", "firstName": "Kiosk"})
    assert sy.by("email", "kiosk@x.io") is None
    (refused,) = sy.conflicts()
    assert refused["rule"] == "banned"
    sy.batch({"email": "ann@x.io"})  # an email the ban does not name gets its uuid
    assert sy.by("email", "ann@x.io")["uuid"]


def test_a_type_ban_on_another_type_lets_the_client_be_created(api, sy):
    ban(api, "email:kiosk@x.io", b_type="phone", ns=sy.namespace)
    sy.batch({"email": "kiosk@x.io"})
    assert sy.by("email", "kiosk@x.io")["uuid"] and sy.conflicts() == []


def test_a_browser_does_not_move_into_a_new_profile_whose_generated_uuid_it_is_banned_from(
    make_app, tmp_path
):
    path = tmp_path / "rules.toml"
    path.write_text('[namespaces.shop]\ngenerated_types = ["uuid"]\n')
    api = Api(make_app(rules=str(path)).test_client())
    api.link(NS, ("customId:c1", "browserId:b1"), ("customId:c1", "email:ann@x.io"))
    ban(api, "browserId:b1", b_type="uuid")  # c1's profile got one: the ban does not split it
    # bob cannot join ann's profile (one email a profile): b1 would move to a new profile
    # for bob, which gets a generated uuid
    assert result_of(api, ("email:bob@x.io", "browserId:b1")) == (
        "conflict",
        "unique_type:email",
    )
    assert "browserId:b1" in api.members(NS, "email:ann@x.io")
