"""Time travel (``?as_of=``) through the native API, on both stores: a profile and its
lineage read as of an instant say what they said then, nothing that happened later."""

from __future__ import annotations

from apitools import identifiers
from test_lineage import instant

NS = "shop"
U2 = "uuid:00000000-0000-0000-0000-000000000002"


def ok(response) -> dict:
    assert response.status_code == 200, response.json
    return response.json


def two_people_merged(api) -> tuple[int, int]:
    """Ann (recognized) absorbs an anonymous visitor; their ids (survivor, absorbed)."""
    ok(api.link(NS, {"identifiers": identifiers("email:ann@x.io", "browserId:a1"),
                     "attributes": {"name": "Ann"}}))  # fmt: skip
    ok(api.link(NS, {"identifiers": identifiers(U2, "browserId:b1"),
                     "attributes": {"city": "Rome"}}))  # fmt: skip
    [(outcome, survivor)] = api.outcomes(NS, ("browserId:a1", "browserId:b1"))
    assert outcome == "merged"
    return survivor, api.profile(NS, U2).json["aliases"][0]


def test_lineage_as_of_before_an_undo_shows_the_merge_not_yet_undone(api):
    """The lineage as of an instant shows each link and each merge as it was then: a link
    ended later shows active, and a merge undone later shows not undone (no ``undone_at``
    or ``undone_request_id`` from after that instant), as its profile is drawn merged."""
    survivor, absorbed = two_people_merged(api)
    during = instant()
    lineage_now = ok(api.get(f"/v1/{NS}/profiles/{survivor}/lineage"))
    [merge] = lineage_now["merges"]
    undone = api.client.post(f"/v1/{NS}/merges/{merge['id']}/undo", json={"reason": "two people"})
    assert undone.status_code == 200, undone.json

    then = ok(api.get(f"/v1/{NS}/profiles/{survivor}/lineage?as_of={during}"))
    assert then["profile"]["aliases"] == [absorbed]  # merged then, as it should be
    merge_link = [k for k in then["links"] if k["merge_id"] == merge["id"]]
    assert merge_link and all(k["active"] for k in merge_link)  # links are shown as then
    [merge_then] = then["merges"]
    assert merge_then["undone_at"] is None, merge_then  # the undo had not happened yet
    assert merge_then["undone_request_id"] is None


def test_updated_at_as_of_after_an_attribute_change_is_what_the_profile_said_then(api):
    """``GET /profiles/1`` right after a PATCH answers ``updated_at`` = the PATCH; the same
    profile read later ``?as_of=`` an instant after that PATCH (or far in the future)
    answers the same time, not the earlier time of its last link: a change of attributes
    updates a profile as a link does."""
    ok(api.link(NS, ("email:ann@x.io", "browserId:a1")))
    pid = api.profile(NS, "email:ann@x.io").json["id"]
    patched = api.client.patch(f"/v1/{NS}/profiles/{pid}/attributes", json={"city": "Oslo"})
    assert patched.status_code == 200, patched.json
    now = ok(api.get(f"/v1/{NS}/profiles/{pid}"))
    after = instant()

    then = ok(api.get(f"/v1/{NS}/profiles/{pid}?as_of={after}"))
    assert then["attributes"] == now["attributes"] == {"city": "Oslo"}
    assert then["updated_at"] == now["updated_at"], (then["updated_at"], now["updated_at"])
    future = ok(api.get(f"/v1/{NS}/profiles/{pid}?as_of=9999-12-31T00:00:00Z"))
    assert future["updated_at"] == now["updated_at"]
