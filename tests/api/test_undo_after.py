"""Undoing a merge after the profile changed: a later merge through what the undone one
brought, and attributes written on the absorbed profile itself. Through the native API, on
both stores."""

from __future__ import annotations

import pytest
from apitools import identifiers
from test_undo import NS, merges, pid_of, undo


def values(profile: dict) -> set[str]:
    return {i["value"] for i in profile["identifiers"]}


@pytest.mark.parametrize(
    "later",
    [
        pytest.param(("browserId:b2", "browserId:c1"), id="through-what-it-brought"),
        # c1 with b2 and with a0: the later merge joins both sides of the first
        pytest.param(("browserId:c1", "browserId:b2", "browserId:a0"), id="and-the-survivor"),
    ],
)
def test_undo_is_refused_while_a_later_merge_joined_through_what_it_brought(api, error_of, later):
    api.link(NS, ("email:ann@x.io", "browserId:a1", "browserId:a0"))
    api.link(NS, ("browserId:b1", "browserId:b2"))
    api.link(NS, ("browserId:c1", "browserId:c2"))
    api.link(NS, ("browserId:a1", "browserId:b1"))  # the first merge: ann's absorbs b's
    api.link(NS, later)  # the second: ann's absorbs c's, through b2 that came from b's
    first, second = merges(api, "email:ann@x.io")
    survivor, absorbed, third = first["survivor"], first["absorbed"], second["absorbed"]
    assert second["survivor"] == survivor and len({survivor, absorbed, third}) == 3
    before = api.profile(NS, "email:ann@x.io").json

    error = error_of(undo(api, first["id"]), 409, "merge_not_undoable")
    assert error["details"] == {"merge_id": second["id"]}
    assert f"undo merge {second['id']} first" in error["message"]
    assert api.profile(NS, "email:ann@x.io").json == before  # nothing changed
    assert api.get(f"/v1/{NS}/profiles/{third}").json["id"] == survivor

    # last in, first out: each id comes back with its own identifiers
    assert undo(api, second["id"]).status_code == 200
    response = undo(api, first["id"])
    assert response.status_code == 200, response.json
    assert [p["id"] for p in response.json["profiles"]] == [survivor, absorbed]
    for pid, own in (
        (survivor, {"ann@x.io", "a0", "a1"}),
        (absorbed, {"b1", "b2"}),
        (third, {"c1", "c2"}),
    ):
        profile = api.get(f"/v1/{NS}/profiles/{pid}").json
        assert (profile["id"], values(profile), profile["aliases"]) == (pid, own, [])
    assert all(m["undone_at"] for m in merges(api, "browserId:c1"))


def test_a_later_merge_into_the_survivors_own_side_does_not_stop_an_undo(api):
    api.link(NS, ("email:ann@x.io", "browserId:a1", "browserId:a0"))
    api.link(NS, ("browserId:b1", "browserId:b2"))
    api.link(NS, ("browserId:c1", "browserId:c2"))
    api.link(NS, ("browserId:a1", "browserId:b1"))
    api.link(NS, ("browserId:a0", "browserId:c1"))  # the later merge joins the survivor's side
    first, second = merges(api, "email:ann@x.io")
    response = undo(api, first["id"])
    assert response.status_code == 200, response.json
    kept, restored = response.json["profiles"]
    assert (kept["id"], values(kept)) == (first["survivor"], {"ann@x.io", "a0", "a1", "c1", "c2"})
    assert kept["aliases"] == [second["absorbed"]]
    assert (restored["id"], values(restored)) == (first["absorbed"], {"b1", "b2"})


def test_attributes_written_on_the_absorbed_profile_go_back_with_it(api):
    api.link(NS, ("email:ann@x.io", "browserId:a1", "browserId:a0"))
    api.link(
        NS,
        {"identifiers": identifiers("browserId:b1", "browserId:b2"), "attributes": {"pet": "cat"}},
    )
    absorbed = pid_of(api, "browserId:b1")
    patched = api.client.patch(f"/v1/{NS}/profiles/{absorbed}/attributes", json={"nick": "Bee"})
    assert patched.status_code == 200, patched.json
    api.link(NS, ("browserId:a1", "browserId:b1"))
    (merge,) = merges(api, "browserId:b1")
    assert api.profile(NS, "email:ann@x.io").json["attributes"] == {"nick": "Bee", "pet": "cat"}

    assert undo(api, merge["id"]).status_code == 200
    assert api.profile(NS, "email:ann@x.io").json["attributes"] == {}
    restored = api.get(f"/v1/{NS}/profiles/{absorbed}").json
    assert restored["attributes"] == {"nick": "Bee", "pet": "cat"}


@pytest.mark.parametrize(
    "survivor_side, merged",
    [
        # a recognized survivor's value wins the merge
        pytest.param(("email:ann@x.io", "browserId:a1"), "Ann", id="recognized-survivor"),
        # between two anonymous profiles the latest write wins: the absorbed side's
        pytest.param(("browserId:a0", "browserId:a1", "browserId:a2"), "Bee", id="anonymous"),
    ],
)
def test_each_side_keeps_its_own_profile_level_value_after_an_undo(api, survivor_side, merged):
    api.link(NS, survivor_side)
    api.link(NS, ("browserId:b1", "browserId:b2"))
    survivor, absorbed = pid_of(api, "browserId:a1"), pid_of(api, "browserId:b1")
    api.client.patch(f"/v1/{NS}/profiles/{survivor}/attributes", json={"nick": "Ann"})
    api.client.patch(f"/v1/{NS}/profiles/{absorbed}/attributes", json={"nick": "Bee"})
    api.link(NS, ("browserId:a1", "browserId:b1"))
    (merge,) = merges(api, "browserId:b1")
    assert merge["survivor"] == survivor
    assert api.profile(NS, "browserId:b1").json["attributes"] == {"nick": merged}
    assert undo(api, merge["id"]).status_code == 200
    assert api.get(f"/v1/{NS}/profiles/{survivor}").json["attributes"] == {"nick": "Ann"}
    assert api.get(f"/v1/{NS}/profiles/{absorbed}").json["attributes"] == {"nick": "Bee"}


def test_an_undo_gives_back_what_was_written_on_profiles_the_absorbed_one_had_absorbed(api):
    api.link(NS, ("email:ann@x.io", *(f"browserId:a{n}" for n in range(1, 7))))  # 7
    api.link(NS, ("browserId:b1", "browserId:b2", "browserId:b3"))
    api.link(NS, ("browserId:d1", "browserId:d2"))
    older = pid_of(api, "browserId:d1")
    api.client.patch(f"/v1/{NS}/profiles/{older}/attributes", json={"nick": "Dee"})
    api.link(NS, ("browserId:b3", "browserId:d1"))  # b's profile absorbs d's (larger)
    absorbed = pid_of(api, "browserId:b1")
    api.link(NS, ("browserId:a1", "browserId:b1", "email:ann@x.io"))
    (merge,) = [m for m in merges(api, "email:ann@x.io") if m["absorbed"] == absorbed]
    assert merge["survivor"] == pid_of(api, "email:ann@x.io")
    assert undo(api, merge["id"]).status_code == 200
    assert api.profile(NS, "email:ann@x.io").json["attributes"] == {}
    restored = api.get(f"/v1/{NS}/profiles/{older}").json
    assert (restored["id"], restored["attributes"]) == (absorbed, {"nick": "Dee"})
