"""Taking a wrong link or merge back through the native API, on both stores: ending links
(and the splits they cause), undoing merges, and the bans that keep them undone."""

from __future__ import annotations

import pytest
from apitools import identifiers
from synerise_client import Synerise

NS = "shop"
U1 = "uuid:00000000-0000-0000-0000-000000000001"


def pid_of(api, text: str) -> int:
    response = api.profile(NS, text)
    assert response.status_code == 200, response.json
    return response.json["id"]


def link_between(api, a: str, b: str) -> dict:
    body = api.get(f"/v1/{NS}/profiles/{pid_of(api, a)}/lineage").json
    (found,) = [k for k in body["links"] if {k["a"], k["b"]} == {a, b} and k["active"]]
    return found


def end(api, link_id: int, **body):
    return api.client.post(f"/v1/{NS}/links/{link_id}/end", json={"reason": "wrong", **body})


def undo(api, merge_id: int, **body):
    return api.client.post(f"/v1/{NS}/merges/{merge_id}/undo", json=body)


def merges(api, text: str) -> list[dict]:
    return api.get(f"/v1/{NS}/profiles/{pid_of(api, text)}/lineage").json["merges"]


def with_attributes(*texts: str, **attributes) -> dict:
    return {"identifiers": identifiers(*texts), "attributes": attributes}


# --- ending links -----------------------------------------------------------------------------


def test_ending_a_bridge_link_splits_the_profile_and_attributes_follow_their_identifiers(api):
    api.link(
        NS,
        with_attributes("email:ann@x.io", "browserId:b1", city="Oslo"),
        ("browserId:b1", "browserId:b2"),
        ("browserId:b1", "browserId:b3"),
        with_attributes("browserId:b2", U1, pet="cat"),
    )
    pid = pid_of(api, U1)
    response = end(api, link_between(api, "browserId:b1", "browserId:b2")["id"])
    assert response.status_code == 200, response.json
    body = response.json
    assert body["split"] is True and body["link"]["end_reason"] == "wrong"
    kept, split_off = body["profiles"]
    # the larger part keeps the id: {ann, b1, b3} against {b2, u1}
    assert kept["id"] == pid and split_off["id"] != pid
    assert {i["value"] for i in kept["identifiers"]} == {"ann@x.io", "b1", "b3"}
    assert kept["attributes"] == {"city": "Oslo"} and kept["recognized"] is True
    assert split_off["attributes"] == {"pet": "cat"} and split_off["recognized"] is False
    assert pid_of(api, U1) == split_off["id"] and pid_of(api, "browserId:b3") == pid


def test_a_split_part_takes_back_an_older_value_written_through_it(api):
    api.link(NS, with_attributes("email:ann@x.io", "browserId:b1", city="Oslo"))
    api.link(NS, with_attributes(U1, "browserId:b1", city="Rome"), (U1, "browserId:b2"))
    assert api.profile(NS, U1).json["attributes"] == {"city": "Rome"}  # latest write wins
    end(api, link_between(api, "browserId:b1", U1)["id"])
    # Rome was written through U1 and goes with it; ann's part falls back on Oslo, the
    # latest value written through its own identifiers
    assert api.profile(NS, U1).json["attributes"] == {"city": "Rome"}
    assert api.profile(NS, "email:ann@x.io").json["attributes"] == {"city": "Oslo"}


def test_ending_a_link_that_disconnects_nothing_keeps_one_profile(api):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), ("browserId:b1", U1), ("email:ann@x.io", U1))
    before = api.profile(NS, U1).json
    body = end(api, link_between(api, "browserId:b1", U1)["id"]).json
    assert body["split"] is False
    (profile,) = body["profiles"]
    assert profile["id"] == before["id"] and profile["identifiers"] == before["identifiers"]


def test_an_ended_link_cannot_end_again_and_an_unknown_link_is_404(api, error_of):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), ("browserId:b1", U1))
    link_id = link_between(api, "browserId:b1", U1)["id"]
    assert end(api, link_id).status_code == 200
    error = error_of(end(api, link_id), 409, "link_ended")
    assert error["details"] == {"link_id": link_id}
    error_of(end(api, 999), 404, "not_found")
    error_of(end(api, "x"), 400, "invalid_input")
    error = error_of(api.client.post(f"/v1/{NS}/links/1/end", json={}), 400, "invalid_input")
    assert "reason" in error["details"]["fields"]


def test_an_ended_link_comes_back_with_the_next_sync_unless_banned(api):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), ("browserId:b1", U1))
    end(api, link_between(api, "browserId:b1", U1)["id"])
    assert api.outcomes(NS, ("browserId:b1", U1))[0][0] == "merged"
    body = end(api, link_between(api, "browserId:b1", U1)["id"], ban=True).json
    assert body["ban"]["a"] == "browserId:b1" and body["ban"]["b"] == U1
    assert body["ban"]["reason"] == "wrong" and body["ban"]["created_by"] == "local"
    (result,) = api.link(NS, (U1, "browserId:b1")).json["results"]
    assert (result["outcome"], result["reason"]) == ("conflict", "banned")
    (refused,) = api.get(f"/v1/{NS}/conflicts").json["conflicts"]
    assert refused["rule"] == "banned"
    assert pid_of(api, U1) != pid_of(api, "browserId:b1")


# --- bans -------------------------------------------------------------------------------------


def test_a_ban_stops_any_join_of_the_two_not_only_a_direct_link(api):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), ("browserId:b2", "browserId:b3"))
    response = api.client.post(
        f"/v1/{NS}/bans",
        json={
            "a": {"type": "email", "value": "Ann@X.io"},
            "b": {"type": "browserId", "value": "b2"},
            "reason": "a shared kiosk",
        },
    )
    assert response.status_code == 201, response.json
    ban = response.json
    assert (ban["a"], ban["b"], ban["b_type"]) == ("email:ann@x.io", "browserId:b2", None)
    assert api.outcomes(NS, ("browserId:b2", U1))[0][0] == "linked"  # unrelated: fine
    (result,) = api.link(NS, ("browserId:b1", U1)).json["results"]  # ann with b2, via U1
    assert (result["outcome"], result["reason"]) == ("conflict", "banned")
    assert api.client.delete(f"/v1/{NS}/bans/{ban['id']}").status_code == 204
    assert api.outcomes(NS, ("browserId:b1", U1))[0][0] == "merged"


def test_a_type_ban_keeps_an_identifier_away_from_every_identifier_of_a_type(api):
    api.link(NS, ("browserId:kiosk", U1), ("email:ann@x.io", "browserId:b1"))
    api.client.post(
        f"/v1/{NS}/bans",
        json={"a": {"type": "browserId", "value": "kiosk"}, "b_type": "email", "reason": "kiosk"},
    )
    (result,) = api.link(NS, ("browserId:kiosk", "email:bob@x.io")).json["results"]
    assert result["reason"] == "banned"
    (result,) = api.link(NS, ("browserId:kiosk", "browserId:b1")).json["results"]
    assert result["reason"] == "banned"  # b1's profile holds an email
    assert api.outcomes(NS, ("browserId:kiosk", "browserId:b9"))[0][0] == "linked"


def test_bans_list_page_and_filter_by_identifier(api, error_of):
    for value in ("b1", "b2", "b3"):
        api.client.post(
            f"/v1/{NS}/bans",
            json={
                "a": {"type": "email", "value": "ann@x.io"},
                "b": {"type": "browserId", "value": value},
                "reason": f"not {value}",
            },
        )
    page = api.get(f"/v1/{NS}/bans?limit=2").json
    assert [b["b"] for b in page["bans"]] == ["browserId:b1", "browserId:b2"]
    rest = api.get(f"/v1/{NS}/bans?limit=2&cursor={page['next_cursor']}").json
    assert [b["b"] for b in rest["bans"]] == ["browserId:b3"] and rest["next_cursor"] is None
    named = api.get(f"/v1/{NS}/bans?identifier=browserId:b2").json["bans"]
    assert [b["reason"] for b in named] == ["not b2"]
    assert api.get("/v1/other/bans").json["bans"] == []
    error_of(api.client.delete(f"/v1/{NS}/bans/99"), 404, "not_found")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"a": {"type": "email", "value": "ann@x.io"}, "reason": "r"}, "b"),
        (
            {
                "a": {"type": "email", "value": "ann@x.io"},
                "b": {"type": "email", "value": "bob@x.io"},
                "b_type": "email",
                "reason": "r",
            },
            "b",
        ),
        ({"a": {"type": "email", "value": "ann"}, "b_type": "email", "reason": "r"}, "a"),
        ({"a": {"type": "email", "value": "ann@x.io"}, "b_type": "email"}, "reason"),
    ],
)
def test_a_bad_ban_is_400_naming_the_field_and_nothing_is_written(api, error_of, body, field):
    error = error_of(api.client.post(f"/v1/{NS}/bans", json=body), 400, "invalid_input")
    assert field in error["details"]["fields"]
    assert api.get(f"/v1/{NS}/bans").json["bans"] == []


# --- undoing merges ---------------------------------------------------------------------------


def test_undo_of_a_merge_that_brought_three_identifiers_restores_the_absorbed_profile(api):
    api.link(NS, with_attributes("email:ann@x.io", "browserId:b1", "browserId:b0", city="Oslo"))
    api.link(
        NS,
        with_attributes(U1, "browserId:b2", city="Rome", pet="cat"),
        ("browserId:b2", "browserId:b3"),
    )
    recognized, anonymous = pid_of(api, "email:ann@x.io"), pid_of(api, U1)
    (result,) = api.link(NS, ("email:ann@x.io", "browserId:b2")).json["results"]
    assert result["outcome"] == "merged" and result["profile_id"] == recognized
    merged = api.profile(NS, U1).json
    assert merged["aliases"] == [anonymous] and merged["attributes"] == {
        "city": "Oslo",
        "pet": "cat",
    }

    (merge,) = merges(api, U1)
    response = undo(api, merge["id"], reason="not the same person")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["merge"]["undone_at"] and body["split"] is True
    assert [p["id"] for p in body["profiles"]] == [recognized, anonymous]
    survivor, restored = api.profile(NS, "email:ann@x.io").json, api.profile(NS, U1).json
    assert (survivor["id"], restored["id"]) == (recognized, anonymous)
    assert {i["value"] for i in restored["identifiers"]} == {U1.split(":", 1)[1], "b2", "b3"}
    assert survivor["aliases"] == [] and restored["aliases"] == []
    assert survivor["attributes"] == {"city": "Oslo"}
    assert restored["attributes"] == {"city": "Rome", "pet": "cat"}
    assert api.get(f"/v1/{NS}/profiles/{anonymous}").json["id"] == anonymous  # no alias now
    ended = [k for k in api.get(f"/v1/{NS}/profiles/{recognized}/lineage").json["links"]]
    assert [k["end_reason"] for k in ended if k["merge_id"] == merge["id"]] == [
        "not the same person"
    ]


def test_an_undone_merge_does_not_come_back_with_the_next_sync_of_the_same_pair(api, error_of):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), (U1, "browserId:b2"))
    api.link(NS, ("browserId:b1", "browserId:b2"))
    (merge,) = merges(api, U1)
    body = undo(api, merge["id"]).json
    assert [(b["a"], b["b"]) for b in body["bans"]] == [("browserId:b1", "browserId:b2")]
    (result,) = api.link(NS, ("browserId:b1", "browserId:b2")).json["results"]
    assert (result["outcome"], result["reason"]) == ("conflict", "banned")
    error_of(undo(api, merge["id"]), 409, "merge_undone")
    error_of(undo(api, 999), 404, "not_found")


def test_undo_without_a_ban_lets_the_next_sync_merge_again(api):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), (U1, "browserId:b2"))
    api.link(NS, ("browserId:b1", "browserId:b2"))
    (merge,) = merges(api, U1)
    assert undo(api, merge["id"], ban=False).json["bans"] == []
    assert api.outcomes(NS, ("browserId:b1", "browserId:b2"))[0][0] == "merged"


def test_undo_ends_every_link_the_merging_request_added_across_the_two_sides(api):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), (U1, "browserId:b2", "browserId:b3"))
    # one item, three identifiers: ann's b1 with b2 and b3 of the anonymous profile
    api.link(NS, ("browserId:b1", "browserId:b2", "browserId:b3"))
    (merge,) = merges(api, U1)
    body = undo(api, merge["id"]).json
    assert body["split"] is True
    assert pid_of(api, "browserId:b3") == pid_of(api, U1) != pid_of(api, "browserId:b1")
    assert len(body["bans"]) == 2


def test_undo_is_refused_while_later_links_still_join_the_two_sides(api, error_of):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), (U1, "browserId:b2"))
    api.link(NS, ("browserId:b1", "browserId:b2"))
    api.link(NS, ("email:ann@x.io", U1))  # a later sync joins the two sides again
    (merge,) = merges(api, U1)
    error = error_of(undo(api, merge["id"]), 409, "merge_in_use")
    later = link_between(api, "email:ann@x.io", U1)["id"]
    assert later in error["details"]["links"]
    assert pid_of(api, U1) == pid_of(api, "email:ann@x.io")  # nothing changed
    end(api, later)
    assert undo(api, merge["id"]).status_code == 200
    assert pid_of(api, U1) != pid_of(api, "email:ann@x.io")


def test_undo_of_a_merge_whose_survivor_was_merged_later_names_the_merge_to_undo_first(
    api, error_of
):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), (U1, "browserId:b2"))
    api.link(NS, *[("browserId:b9", f"browserId:c{n}") for n in range(5)])  # 6 identifiers
    api.link(NS, ("browserId:b1", "browserId:b2"))  # anonymous absorbed by ann's (older)
    (first,) = merges(api, U1)
    api.link(NS, ("browserId:b2", "browserId:b9"))  # ann's 4 absorbed by the larger 6
    second = next(m for m in merges(api, U1) if m["id"] != first["id"])
    assert second["absorbed"] == first["survivor"]
    error = error_of(undo(api, first["id"]), 409, "merge_superseded")
    assert error["details"] == {"merge_id": second["id"]}
    assert undo(api, second["id"]).status_code == 200
    assert undo(api, first["id"]).status_code == 200
    assert len({pid_of(api, t) for t in ("email:ann@x.io", U1, "browserId:b9")}) == 3


def test_undo_of_an_explicit_merge_brings_back_the_absorbed_customer(client):
    sy = Synerise(client)
    sy.create(customId="c1", email="ann@x.io", firstName="Ann")
    sy.create(customId="c2", email="ann.work@x.io", firstName="Annie", city="Oslo")
    kept = sy.by("customId", "c1")["clientId"]
    absorbed = sy.by("customId", "c2")["clientId"]
    assert sy.post("/v4/clients/merge/from/custom-ids/c2/to/custom-id/c1").status_code == 202
    assert sy.by("customId", "c2") is None  # retired by the merge
    namespace = sy.namespace
    (merge,) = client.get(f"/v1/{namespace}/profiles/{kept}/lineage").json["merges"]
    response = client.post(f"/v1/{namespace}/merges/{merge['id']}/undo", json={})
    assert response.status_code == 200, response.json
    restored = sy.by("customId", "c2")
    assert restored["clientId"] == absorbed and restored["email"] == "ann.work@x.io"
    assert (restored["firstName"], restored["city"]) == ("Annie", "Oslo")
    assert sy.by("customId", "c1")["clientId"] == kept
    assert sy.by("customId", "c1")["previousClients"] == []


def test_undoing_one_source_of_an_explicit_merge_leaves_the_other_merged(client):
    sy = Synerise(client)
    for custom_id in ("c1", "c2", "c3"):
        sy.create(customId=custom_id, email=f"{custom_id}@x.io")
    second, third = (sy.by("customId", c)["clientId"] for c in ("c2", "c3"))
    assert sy.post("/v4/clients/merge/from/custom-ids/c2,c3/to/custom-id/c1").status_code == 202
    kept = sy.by("customId", "c1")["clientId"]
    merges = client.get(f"/v1/{sy.namespace}/profiles/{kept}/lineage").json["merges"]
    (undoing,) = [m for m in merges if m["absorbed"] == second]
    response = client.post(f"/v1/{sy.namespace}/merges/{undoing['id']}/undo", json={})
    assert response.status_code == 200, response.json
    assert [p["id"] for p in response.json["profiles"]] == [kept, second]
    assert sy.by("customId", "c2")["email"] == "c2@x.io"
    assert sy.by("customId", "c3") is None  # still retired by the merge that stands
    assert sy.client_id(third).json["clientId"] == kept
