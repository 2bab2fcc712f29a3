"""A purge (``DELETE /v1/{ns}/profiles/{id}``) leaves nothing of the person in other
profiles' reads, through the native API, on both stores: their past attribute values, their
merges' records, the writes a later split takes back, a profile the person had absorbed read
as of then (docs/storage.md, "Erasure and other profiles")."""

from __future__ import annotations

import uuid

import pytest
from apitools import identifiers
from test_time_travel import U2, instant, two_people_merged

NS = "shop"


@pytest.fixture
def marker() -> str:
    return f"erase-me-{uuid.uuid4().hex}"


def ok(response) -> dict:
    assert response.status_code == 200, response.json
    return response.json


def purge(api, profile_id: int) -> None:
    response = api.client.delete(f"/v1/{NS}/profiles/{profile_id}")
    assert response.status_code == 200, response.json


def text(response) -> str:
    assert response.status_code == 200, response.json
    return response.get_data(as_text=True)


def _ann_absorbs_the_marked(api, marker: str) -> int:
    """Ann's profile absorbs the marked visitor's (a note of the marker written through its
    browser); Ann's id."""
    ok(api.link(NS, {"identifiers": identifiers("email:ann@x.io", "browserId:a1"),
                     "attributes": {"name": "Ann"}}))  # fmt: skip
    ok(api.link(NS, {"identifiers": identifiers(f"browserId:{marker}-1", f"browserId:{marker}-2"),
                     "attributes": {"note": marker}}))  # fmt: skip
    [(outcome, ann)] = api.outcomes(NS, ("browserId:a1", f"browserId:{marker}-1"))
    assert outcome == "merged"
    return ann


def _undone_merge(api, marker: str) -> tuple[int, int]:
    """Ann absorbs the marked visitor, the merge is undone; (Ann, the visitor)."""
    ann = _ann_absorbs_the_marked(api, marker)
    [merge] = ok(api.get(f"/v1/{NS}/profiles/{ann}/lineage"))["merges"]
    undone = api.client.post(f"/v1/{NS}/merges/{merge['id']}/undo", json={"reason": "two"})
    assert undone.status_code == 200, undone.json
    return ann, api.profile(NS, f"browserId:{marker}-1").json["id"]


def _split_off(api, marker: str) -> tuple[int, int]:
    """One request makes one profile of Ann and the marked browsers; ending the link between
    them splits the marked part off under a new id; (Ann, the part)."""
    ok(api.link(
        NS,
        {"identifiers": identifiers("email:ann@x.io", "browserId:a1"),
         "attributes": {"name": "Ann"}},
        {"identifiers": identifiers(f"browserId:{marker}-1", f"browserId:{marker}-2"),
         "attributes": {"note": marker}},
        ("browserId:a1", f"browserId:{marker}-1"),
    ))  # fmt: skip
    ann = api.profile(NS, "email:ann@x.io").json["id"]
    links = ok(api.get(f"/v1/{NS}/profiles/{ann}/lineage"))["links"]
    [bridge] = [k for k in links if {k["a"], k["b"]} == {"browserId:a1", f"browserId:{marker}-1"}]
    ended = api.client.post(f"/v1/{NS}/links/{bridge['id']}/end", json={"reason": "two"})
    assert ended.status_code == 200 and ended.json["split"], ended.json
    return ann, api.profile(NS, f"browserId:{marker}-1").json["id"]


@pytest.mark.parametrize("separate", [_undone_merge, _split_off], ids=["undo", "split"])
def test_a_purged_persons_attributes_do_not_come_back_in_anothers_past(api, marker, separate):
    """A person was for a while part of Ann's profile (a merge later undone; or one profile
    later split by ending a link), then purged. Ann's profile read ``?as_of=`` that while
    still shows the purged person's attribute value (``"note": marker``), on the profile and
    on its lineage: the purge erases the attribute versions of the purged profile's ids only
    (graph/store/sqlite/purge.py:_PURGE ``attribute_versions``, cypher/store/
    purge_attribute_versions.cypher), not the versions of the profile the person was part
    of, which hold the values written through the person's identifiers."""
    ann, person = separate(api, marker)
    probe = ok(api.get(f"/v1/{NS}/profiles/{ann}/lineage"))
    times = sorted({k["created_at"] for k in probe["links"]} | {m["at"] for m in probe["merges"]})
    during = times[-1]  # the last link or merge made while they were one
    assert marker in text(api.get(f"/v1/{NS}/profiles/{ann}?as_of={during}"))  # as it was
    purge(api, person)

    assert marker not in text(api.get(f"/v1/{NS}/profiles/{ann}?as_of={during}"))
    assert marker not in text(api.get(f"/v1/{NS}/profiles/{ann}/lineage?as_of={during}"))


def test_another_profiles_merge_record_does_not_name_an_erased_identifier(api, marker):
    """Bob's profile absorbed another through his browser (the merge records that browser as
    ``survivor_key``); the browser then moved to Ann (a shared device goes to its newest
    user), and Ann was purged, the browser with her. Bob's lineage still names the erased
    browser in its merge record (``"survivor_key": "browserId:<marker>"``): the purge erases
    merges by the purged profile ids only (graph/store/sqlite/purge.py:_PURGE ``merges``;
    on Neo4j the merge relationship between Bob's profiles stays too), not the keys they
    record."""
    device = f"browserId:{marker}"
    ok(api.link(NS, ("ext:crm:bob", device), ("ext:crm:bob", "browserId:bob-2")))
    ok(api.link(NS, ("browserId:x-1", "browserId:x-2")))
    [(outcome, bob)] = api.outcomes(NS, (device, "browserId:x-1"))
    assert outcome == "merged"
    ok(api.link(NS, ("ext:crm:bob", "browserId:x-1")))  # Bob stays whole when the device goes
    ok(api.link(NS, ("ext:crm:ann", "email:ann@x.io")))
    [(outcome, ann)] = api.outcomes(NS, (device, "ext:crm:ann"))
    assert outcome == "moved" and ann != bob
    assert marker in text(api.get(f"/v1/{NS}/profiles/{bob}/lineage"))  # the merge names it
    purge(api, ann)

    lineage = api.get(f"/v1/{NS}/profiles/{bob}/lineage")
    assert api.profile(NS, device).status_code == 404  # erased
    assert marker not in text(lineage), ok(lineage)["merges"]


def test_a_purged_persons_attributes_do_not_come_back_when_a_shared_device_splits_off(api, marker):
    """Ann's details were written through a shared browser while it was hers; the browser
    moved to Bob (those values stay with Ann, docs/rules.md, "Move"), and Ann was purged.
    When Bob's profile later splits and the browser's part takes back "the latest value
    written through its own identifiers", it takes Ann's erased value: the purge keeps
    attribute writes made to Ann's profile through identifiers that are someone else's now
    (graph/store/sqlite/purge.py:_PURGE ``attribute_writes`` keeps writes whose via_key is not
    Ann's; likewise cypher/store/purge_attribute_writes.cypher), and the split reads writes
    by identifier whatever profile they were made to
    (graph/store/sqlite/history.py:HistoryReads.attribute_history)."""
    device = "browserId:shared-1"
    ok(api.link(NS, {"identifiers": identifiers(device, "ext:crm:ann"),
                     "attributes": {"name": marker}}))  # fmt: skip
    ann = api.profile(NS, "ext:crm:ann").json["id"]
    [(moved, bob), (_, _)] = api.outcomes(NS, (device, "ext:crm:bob"), (device, "browserId:b2"))
    assert moved == "moved" and bob != ann
    assert ok(api.get(f"/v1/{NS}/profiles/{bob}"))["attributes"] == {}
    purge(api, ann)

    links = ok(api.get(f"/v1/{NS}/profiles/{bob}/lineage"))["links"]
    [joining] = [k for k in links if k["active"] and {k["a"], k["b"]} == {device, "ext:crm:bob"}]
    ended = api.client.post(f"/v1/{NS}/links/{joining['id']}/end", json={"reason": "kiosk"})
    assert ended.status_code == 200 and ended.json["split"], ended.json
    assert marker not in text(ended)
    for pid in {p["id"] for p in ended.json["profiles"]}:
        assert marker not in text(api.get(f"/v1/{NS}/profiles/{pid}"))


def test_an_undone_absorbed_profile_read_as_of_its_merge_is_not_an_empty_profile(api):
    """Profile 2 was absorbed by Ann's profile 1, the merge was undone, then Ann was purged.
    ``GET /profiles/2?as_of=<while merged>`` answers a profile 2 with no identifier at all
    (``identifiers: []``, ``recognized: false``) — a profile that never existed: the purge
    erased the merge record (so 2 no longer resolves to 1 then) but kept profile 2's
    placements in the erased profile 1 for that window
    (graph/store/sqlite/purge.py:PurgeRows.purge_profile, cypher purge_placements: only the
    purged keys' placements go). Either 2 as it was on its own, or a 404, is an answer;
    an empty profile is not."""
    survivor, absorbed = two_people_merged(api)
    during = instant()
    [merge] = ok(api.get(f"/v1/{NS}/profiles/{survivor}/lineage"))["merges"]
    undone = api.client.post(f"/v1/{NS}/merges/{merge['id']}/undo", json={"reason": "two people"})
    assert undone.status_code == 200, undone.json
    purged = api.client.delete(f"/v1/{NS}/profiles/{survivor}")
    assert purged.status_code == 200, purged.json

    then = api.get(f"/v1/{NS}/profiles/{absorbed}?as_of={during}")
    if then.status_code != 404:
        assert then.status_code == 200, then.json
        values = {i["value"] for i in then.json["identifiers"]}
        assert values == {"b1", U2.removeprefix("uuid:")}, then.json
    lineage = api.get(f"/v1/{NS}/profiles/{absorbed}/lineage?as_of={during}")
    if lineage.status_code != 404:
        members = [i for i in ok(lineage)["identifiers"] if i["member"]]
        assert members, lineage.json


def test_another_profiles_merge_that_named_an_erased_identifier_is_kept_but_not_undone(api, marker):
    """After the purge above, Bob's merge is still in his lineage, no longer naming the
    erased browser as the side it joined (``survivor_key`` null), and undoing it is refused,
    not attempted with a side no one knows any more."""
    device = f"browserId:{marker}"
    ok(api.link(NS, ("ext:crm:bob", device), ("ext:crm:bob", "browserId:bob-2")))
    ok(api.link(NS, ("browserId:x-1", "browserId:x-2")))
    [(outcome, bob)] = api.outcomes(NS, (device, "browserId:x-1"))
    assert outcome == "merged"
    ok(api.link(NS, ("ext:crm:bob", "browserId:x-1")))
    ok(api.link(NS, ("ext:crm:ann", "email:ann@x.io")))
    [(outcome, ann)] = api.outcomes(NS, (device, "ext:crm:ann"))
    assert outcome == "moved"
    purge(api, ann)

    [merge] = ok(api.get(f"/v1/{NS}/profiles/{bob}/lineage"))["merges"]
    assert merge["survivor_key"] is None and merge["absorbed_key"] == "browserId:x-1", merge
    undone = api.client.post(f"/v1/{NS}/merges/{merge['id']}/undo", json={"reason": "two"})
    assert undone.status_code == 409, undone.json
    assert undone.json["error"]["code"] == "merge_not_undoable", undone.json
    assert "a purge erased one of them" in undone.json["error"]["message"]


def test_a_purged_persons_values_leave_a_profile_that_absorbed_the_one_they_were_in(api, marker):
    """The marked visitor was part of Ann's profile while Bob's absorbed Ann's; both merges
    were undone, then the visitor was purged. Bob's versions of that while held the visitor's
    value too, and lose it with the purge; Ann's and Bob's own values stay."""
    ann = _ann_absorbs_the_marked(api, marker)
    ok(api.link(NS, {"identifiers": identifiers("ext:crm:bob", "browserId:b1"),
                     "attributes": {"city": "Rome"}}))  # fmt: skip
    [(outcome, bob)] = api.outcomes(NS, ("browserId:b1", "browserId:a1"))
    assert outcome == "merged"
    during = instant()
    assert marker in text(api.get(f"/v1/{NS}/profiles/{bob}?as_of={during}"))
    merges = ok(api.get(f"/v1/{NS}/profiles/{bob}/lineage"))["merges"]
    for merge in sorted(merges, key=lambda m: m["id"], reverse=True):  # last in, first out
        undone = api.client.post(f"/v1/{NS}/merges/{merge['id']}/undo", json={"reason": "no"})
        assert undone.status_code == 200, undone.json
    person = api.profile(NS, f"browserId:{marker}-1").json["id"]
    assert person not in (ann, bob)
    purge(api, person)

    for pid in {ann, bob}:
        then = ok(api.get(f"/v1/{NS}/profiles/{pid}?as_of={during}"))
        assert marker not in str(then), then
        assert then["attributes"].get("name") == "Ann", then
    assert api.profile(NS, f"browserId:{marker}-1").status_code == 404
