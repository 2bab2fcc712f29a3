"""Which attribute values a part takes back when a profile splits (ending a link, an undo),
on both stores: only those written to that profile, or to a profile it absorbed, through
the part's own identifiers; never those written through one of them while it was in
another profile (a shared browser that moved in)."""

from __future__ import annotations

import pytest
from apitools import identifiers
from test_undo import link_between, pid_of

NS = "shop"
BROWSER = "browserId:shared-1"
ANN = "ext:crm:ann"
BOB = "ext:crm:bob"


def attributes_of(api, text: str) -> dict:
    response = api.profile(NS, text)
    assert response.status_code == 200, response.json
    return response.json["attributes"]


def write(*texts: str, **attributes) -> dict:
    return {"identifiers": identifiers(*texts), "attributes": attributes}


def sync(api, *items) -> None:
    response = api.link(NS, *items)
    assert response.status_code == 200, response.json


def end(api, a: str, b: str) -> dict:
    link_id = link_between(api, a, b)["id"]
    response = api.client.post(f"/v1/{NS}/links/{link_id}/end", json={"reason": "wrong"})
    assert response.status_code == 200, response.json
    return response.json


def undo(api, merge_id: int) -> dict:
    response = api.client.post(f"/v1/{NS}/merges/{merge_id}/undo", json={"reason": "wrong"})
    assert response.status_code == 200, response.json
    return response.json


def only_merge(api, text: str) -> dict:
    (merge,) = api.get(f"/v1/{NS}/profiles/{pid_of(api, text)}/lineage").json["merges"]
    return merge


# --- a shared browser that moved ---------------------------------------------------------------


def test_a_part_does_not_take_back_a_value_written_through_its_browser_to_a_former_owner(api):
    sync(api, write(BROWSER, ANN, name="Ann"))
    sync(api, (BROWSER, BOB), (BROWSER, "browserId:b2"))  # the browser moves to Bob
    assert pid_of(api, BROWSER) == pid_of(api, BOB) != pid_of(api, ANN)
    assert attributes_of(api, BOB) == {}  # Ann's value stayed with Ann
    body = end(api, BROWSER, BOB)
    assert body["split"] is True
    # Ann's value was written to Ann's profile: no part of Bob's takes it back
    assert attributes_of(api, BROWSER) == {}
    assert attributes_of(api, BOB) == {}
    assert attributes_of(api, ANN) == {"name": "Ann"}


def test_a_part_undone_from_a_merge_does_not_take_back_a_former_owners_value(api):
    sync(api, write(BROWSER, ANN, name="Ann"))
    sync(api, (BROWSER, BOB))  # the browser moves to Bob
    sync(api, ("deviceid:d1", "deviceid:d2"), ("deviceid:d1", "deviceid:d3"))
    sync(api, (BROWSER, "deviceid:d1"))  # Bob's profile is absorbed by the larger one
    undo(api, only_merge(api, BROWSER)["id"])
    assert pid_of(api, BROWSER) == pid_of(api, BOB) != pid_of(api, "deviceid:d1")
    assert attributes_of(api, BOB) == {}
    assert attributes_of(api, "deviceid:d1") == {}
    assert attributes_of(api, ANN) == {"name": "Ann"}


# --- values written to the profile itself ------------------------------------------------------


def test_a_part_takes_back_the_latest_value_written_through_it_to_that_profile(api):
    sync(api, write(BROWSER, BOB, name="Bobby"), (BROWSER, "browserId:b2"))
    sync(api, write(BOB, BROWSER, name="Bob"))  # the current value, written through Bob
    end(api, BROWSER, BOB)
    assert attributes_of(api, BROWSER) == {"name": "Bobby"}
    assert attributes_of(api, BOB) == {"name": "Bob"}


def test_a_browser_that_came_back_takes_back_only_what_it_wrote_in_this_profile(api):
    sync(api, write(BROWSER, BOB, name="Bobby"))
    sync(api, write(BROWSER, ANN, name="Ann"))  # moves to Ann and writes there, later
    sync(api, (BROWSER, BOB), (BROWSER, "browserId:b2"))  # and comes back to Bob
    sync(api, write(BOB, BROWSER, name="Bob"))
    assert attributes_of(api, ANN) == {"name": "Ann"}
    end(api, BROWSER, BOB)
    # the latest write through the browser is Ann's, to Ann's profile: it takes Bobby
    assert attributes_of(api, BROWSER) == {"name": "Bobby"}
    assert attributes_of(api, BOB) == {"name": "Bob"}
    assert attributes_of(api, ANN) == {"name": "Ann"}


# --- values written to an absorbed profile -----------------------------------------------------


def merged_with_writes_on_both_sides(api) -> None:
    sync(api, write("browserId:a1", "browserId:a2", city="Oslo"))  # the absorbed side
    sync(api, write("deviceid:d1", "browserId:s1", city="Rome"), ("deviceid:d1", "browserId:s2"))
    sync(api, ("browserId:a2", "browserId:s1"))  # merge: the larger side survives
    assert attributes_of(api, "browserId:a1") == {"city": "Rome"}  # the latest write


@pytest.mark.parametrize("how", ["undo", "end the joining link"])
def test_a_part_takes_back_a_value_written_to_the_profile_it_was_before_a_merge(api, how):
    merged_with_writes_on_both_sides(api)
    merge = only_merge(api, "browserId:a1")
    if how == "undo":
        undo(api, merge["id"])
    else:
        assert end(api, "browserId:a2", "browserId:s1")["merge"]["id"] == merge["id"]
    assert pid_of(api, "browserId:a1") == merge["absorbed"]
    assert attributes_of(api, "browserId:a1") == {"city": "Oslo"}
    assert attributes_of(api, "deviceid:d1") == {"city": "Rome"}


def test_a_part_takes_back_a_value_written_through_it_after_the_merge(api):
    merged_with_writes_on_both_sides(api)
    sync(
        api, write("browserId:a1", "browserId:a2", city="Paris")
    )  # to the merged profile, through a1
    sync(api, write("deviceid:d1", "browserId:s1", city="Lima"))
    undo(api, only_merge(api, "browserId:a1")["id"])
    assert attributes_of(api, "browserId:a1") == {"city": "Paris"}
    assert attributes_of(api, "deviceid:d1") == {"city": "Lima"}


def test_a_split_of_a_merged_profile_takes_back_values_written_to_the_absorbed_one(api):
    merged_with_writes_on_both_sides(api)
    sync(api, ("browserId:a1", "browserId:a3"))
    end(api, "browserId:a1", "browserId:a2")  # a split, the merge stands
    assert only_merge(api, "browserId:a2")["undone_at"] is None
    # a1 wrote Oslo to the absorbed profile while it was in it
    assert attributes_of(api, "browserId:a1") == {"city": "Oslo"}
    assert attributes_of(api, "deviceid:d1") == {"city": "Rome"}


def test_a_part_of_a_part_takes_back_a_value_written_to_the_profile_it_was_split_from(api):
    a, b, c, d = (f"deviceid:{name}" for name in "abcd")
    sync(api, write(c, a, city="Oslo"))
    sync(api, (a, b), (c, d))
    sync(api, write(a, b, city="Rome"))
    end(api, a, c)  # {a, b} keeps the id; {c, d} takes back Oslo, written through c
    assert attributes_of(api, c) == {"city": "Oslo"}
    sync(api, write(d, c, city="Paris"))
    end(api, c, d)
    # c wrote Oslo to the profile its part was split from, before the split
    assert attributes_of(api, c) == {"city": "Oslo"}
    assert attributes_of(api, d) == {"city": "Paris"}
    assert attributes_of(api, a) == {"city": "Rome"}
