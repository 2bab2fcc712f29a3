"""Ending a link that separates again the two sides of a merge, through the native API, on both
stores: the merge is taken back as an undo would take it back (the absorbed side under its own
id, no longer an alias; profile-level values back with it), without the ban an undo makes.
Ending any other link splits as it always did."""

from __future__ import annotations

import pytest
from synerise_client import Synerise
from test_undo import NS, end, link_between, merges, pid_of, undo, with_attributes

A = ("email:ann@x.io", "browserId:a1", "browserId:a0")  # ann's profile: the survivor
B = ("browserId:b1", "browserId:b2")  # the anonymous profile ann's absorbs


def values(profile: dict) -> set[str]:
    return {i["value"] for i in profile["identifiers"]}


def profile(api, pid: int) -> dict:
    response = api.get(f"/v1/{NS}/profiles/{pid}")
    assert response.status_code == 200, response.json
    return response.json


def lineage(api, pid: int) -> dict:
    return api.get(f"/v1/{NS}/profiles/{pid}/lineage").json


def merge_a_and_b(api, *joining: tuple[str, ...]) -> tuple[dict, int, int]:
    """Ann's profile (A) absorbs the anonymous B through ``joining`` (default a1-b1), B with
    values of its own, written through its identifiers and on the profile itself. Returns
    the merge and the ids of A and B."""
    api.link(NS, with_attributes(*A, city="Oslo"))
    api.link(NS, with_attributes(*B, city="Rome", pet="cat"))
    survivor, absorbed = pid_of(api, A[0]), pid_of(api, B[0])
    patched = api.client.patch(f"/v1/{NS}/profiles/{absorbed}/attributes", json={"nick": "Bee"})
    assert patched.status_code == 200, patched.json
    api.link(NS, *(joining or [("browserId:a1", "browserId:b1")]))
    (merge,) = merges(api, B[0])
    assert (merge["survivor"], merge["absorbed"]) == (survivor, absorbed)
    assert profile(api, absorbed)["id"] == survivor  # an alias, until it is taken back
    return merge, survivor, absorbed


def assert_taken_back(api, merge: dict, survivor: int, absorbed: int, own: set[str]) -> None:
    """B answers under its own id with ``own``, its values back; A holds only its own."""
    restored = profile(api, absorbed)
    assert (restored["id"], values(restored), restored["aliases"]) == (absorbed, own, [])
    assert restored["attributes"] == {"city": "Rome", "nick": "Bee", "pet": "cat"}
    assert {pid_of(api, f"browserId:{value}") for value in own} == {absorbed}
    kept = profile(api, survivor)
    assert (values(kept), kept["aliases"]) == ({"ann@x.io", "a0", "a1"}, [])
    assert kept["attributes"] == {"city": "Oslo"}
    (undone,) = [m for m in lineage(api, survivor)["merges"] if m["id"] == merge["id"]]
    assert undone["undone_at"] is not None


def test_ending_the_link_a_merge_added_gives_the_absorbed_side_its_id_back(api):
    merge, survivor, absorbed = merge_a_and_b(api)
    joining = link_between(api, "browserId:a1", "browserId:b1")
    assert joining["merge_id"] == merge["id"]

    response = end(api, joining["id"])
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["split"], body["ban"], body["link"]["end_reason"]) == (True, None, "wrong")
    assert [p["id"] for p in body["profiles"]] == [survivor, absorbed]
    # the answer names the merge it took back, as it is now
    assert (body["merge"]["id"], body["merge"]["absorbed"]) == (merge["id"], absorbed)
    assert body["merge"]["undone_at"] == body["link"]["ended_at"]
    assert_taken_back(api, merge, survivor, absorbed, {"b1", "b2"})
    # the lineage says what happened: the link ended, and that request took the merge back
    body = lineage(api, absorbed)
    (ended,) = [k for k in body["links"] if k["id"] == joining["id"]]
    assert (ended["active"], ended["end_reason"]) == (False, "wrong")
    (undone,) = body["merges"]
    assert undone["undone_request_id"] == ended["ended_request_id"]
    assert undone["undone_at"] == ended["ended_at"]


def test_the_survivor_keeps_its_id_when_the_absorbed_side_grew_larger_since(api):
    merge, survivor, absorbed = merge_a_and_b(api)
    api.link(NS, *[("browserId:b2", f"browserId:b{n}") for n in (3, 4, 5)])  # B: 5, A: 3
    end(api, link_between(api, "browserId:a1", "browserId:b1")["id"])
    assert_taken_back(api, merge, survivor, absorbed, {"b1", "b2", "b3", "b4", "b5"})


def test_a_merge_taken_back_by_ending_its_link_is_undone_and_bans_nothing(api, error_of):
    merge, survivor, absorbed = merge_a_and_b(api)
    assert end(api, link_between(api, "browserId:a1", "browserId:b1")["id"]).status_code == 200
    error = error_of(undo(api, merge["id"]), 409, "merge_undone")
    assert error["details"] == {"merge_id": merge["id"]}
    assert api.get(f"/v1/{NS}/bans").json["bans"] == []
    # ending a link says nothing about whether the two may meet again: the next sync merges
    assert api.outcomes(NS, ("browserId:a1", "browserId:b1")) == [("merged", survivor)]
    assert pid_of(api, "browserId:b2") == survivor


def test_ending_the_joining_link_with_a_ban_bans_that_pair(api):
    merge, survivor, absorbed = merge_a_and_b(api)
    body = end(api, link_between(api, "browserId:a1", "browserId:b1")["id"], ban=True).json
    assert (body["ban"]["a"], body["ban"]["b"]) == ("browserId:a1", "browserId:b1")
    assert_taken_back(api, merge, survivor, absorbed, {"b1", "b2"})
    (result,) = api.link(NS, ("browserId:a1", "browserId:b1")).json["results"]
    assert (result["outcome"], result["reason"]) == ("conflict", "banned")


@pytest.mark.parametrize(
    "inside, departing",
    [
        pytest.param(("browserId:b1", "browserId:b2"), {"b2"}, id="in-the-absorbed-side"),
        pytest.param(("email:ann@x.io", "browserId:a0"), {"a0"}, id="in-the-survivors-side"),
    ],
)
def test_ending_a_link_inside_one_side_splits_off_a_new_profile_and_keeps_the_merge(
    api, inside, departing
):
    merge, survivor, absorbed = merge_a_and_b(api)
    response = end(api, link_between(api, *inside)["id"])
    assert response.status_code == 200, response.json
    assert response.json["split"] is True
    (part,) = [p for p in response.json["profiles"] if p["id"] != survivor]
    assert part["id"] not in (survivor, absorbed) and values(part) == departing
    assert response.json["merge"] is None  # no merge taken back
    kept = profile(api, survivor)
    assert kept["aliases"] == [absorbed] and profile(api, absorbed)["id"] == survivor
    assert merges(api, A[0])[0]["undone_at"] is None
    # the merge still stands, and can still be undone
    response = undo(api, merge["id"])
    assert response.status_code == 200, response.json
    assert profile(api, absorbed)["id"] == absorbed


@pytest.mark.parametrize(
    "joining, later",
    [
        # a later sync saw ann with b2: that link, no merge's, still joins the sides
        pytest.param(
            [("browserId:a1", "browserId:b1")], ("email:ann@x.io", "browserId:b2"), id="later"
        ),
        # one item of three identifiers: the merge added a1-b1 and a1-b2
        pytest.param([("browserId:a1", "browserId:b1", "browserId:b2")], None, id="same-merge"),
    ],
)
def test_ending_the_joining_link_while_others_join_the_sides_changes_nothing_else(
    api, joining, later
):
    merge, survivor, absorbed = merge_a_and_b(api, *joining)
    if later:
        api.link(NS, later)
    before = profile(api, survivor)
    body = end(api, link_between(api, "browserId:a1", "browserId:b1")["id"]).json
    assert (body["split"], body["merge"]) == (False, None)
    (after,) = body["profiles"]
    assert (after["id"], after["identifiers"]) == (survivor, before["identifiers"])
    assert (after["aliases"], after["attributes"]) == ([absorbed], before["attributes"])
    assert merges(api, A[0])[0]["undone_at"] is None

    # ending the last link that joins them takes the merge back
    remaining = link_between(api, *(later or ("browserId:a1", "browserId:b2")))
    body = end(api, remaining["id"]).json
    assert [p["id"] for p in body["profiles"]] == [survivor, absorbed]
    assert body["merge"]["id"] == merge["id"]
    assert_taken_back(api, merge, survivor, absorbed, {"b1", "b2"})


def test_ending_the_link_of_the_first_of_two_merges_gives_back_only_its_side(api):
    first, survivor, absorbed = merge_a_and_b(api)
    api.link(NS, ("browserId:c1", "browserId:c2"))
    third = pid_of(api, "browserId:c1")
    api.link(NS, ("browserId:a0", "browserId:c1"))  # the second merge: A absorbs C
    second = next(m for m in merges(api, A[0]) if m["id"] != first["id"])
    assert (second["survivor"], second["absorbed"]) == (survivor, third)

    end(api, link_between(api, "browserId:a1", "browserId:b1")["id"])
    restored = profile(api, absorbed)
    assert (restored["id"], values(restored), restored["aliases"]) == (absorbed, {"b1", "b2"}, [])
    kept = profile(api, survivor)
    assert values(kept) == {"ann@x.io", "a0", "a1", "c1", "c2"}
    assert kept["aliases"] == [third] and profile(api, third)["id"] == survivor
    states = {m["id"]: m["undone_at"] for m in lineage(api, survivor)["merges"]}
    assert states[second["id"]] is None and states[first["id"]] is not None
    assert undo(api, second["id"]).status_code == 200  # the second stands, undoable
    assert pid_of(api, "browserId:c1") == third


def test_a_later_merge_through_what_the_first_brought_keeps_the_old_split(api):
    first, survivor, absorbed = merge_a_and_b(api)
    api.link(NS, ("browserId:a0", "browserId:a8"), ("browserId:a0", "browserId:a9"))
    api.link(NS, ("browserId:c1", "browserId:c2"))
    third = pid_of(api, "browserId:c1")
    api.link(NS, ("browserId:b2", "browserId:c1"))  # the second merge, through b2
    # as an undo of the first would be refused, ending its link splits as any link does:
    # the smaller part gets a new id, both merges stand
    body = end(api, link_between(api, "browserId:a1", "browserId:b1")["id"]).json
    kept, part = body["profiles"]
    assert kept["id"] == survivor and part["id"] not in (survivor, absorbed, third)
    assert values(part) == {"b1", "b2", "c1", "c2"}
    assert all(m["undone_at"] is None for m in merges(api, A[0]))


def test_ending_the_link_of_an_explicit_merge_brings_back_the_absorbed_customer(client):
    sy = Synerise(client)
    sy.create(customId="c1", email="ann@x.io", firstName="Ann")
    sy.create(customId="c2", email="ann.work@x.io", firstName="Annie", city="Oslo")
    kept, absorbed = (sy.by("customId", c)["clientId"] for c in ("c1", "c2"))
    assert sy.post("/v4/clients/merge/from/custom-ids/c2/to/custom-id/c1").status_code == 202
    body = client.get(f"/v1/{sy.namespace}/profiles/{kept}/lineage").json
    (merge,) = body["merges"]
    # c2's uuid joined c1; its customId and email were retired
    (joining,) = [k for k in body["links"] if k["merge_id"] == merge["id"] and k["active"]]
    ending = f"/v1/{sy.namespace}/links/{joining['id']}/end"
    response = client.post(ending, json={"reason": "two customers"})
    assert response.status_code == 200, response.json
    assert [p["id"] for p in response.json["profiles"]] == [kept, absorbed]
    restored = sy.by("customId", "c2")  # as after an undo: retired identifiers back
    assert (restored["clientId"], restored["email"]) == (absorbed, "ann.work@x.io")
    assert (restored["firstName"], restored["city"]) == ("Annie", "Oslo")
    assert sy.by("customId", "c1")["previousClients"] == []
