"""A person can be erased: ``DELETE /v1/{ns}/profiles/{id}`` (and Synerise's delete, Omnidesk's
purgedata) erases the profile and everything that mentions it, and records who did it, when,
and how many identifiers went, in ``GET /v1/{ns}/purges``: never what was erased."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from synerise_client import Synerise

NS = "shop"


@pytest.fixture
def marker() -> str:
    return f"erase-me-{uuid.uuid4().hex}"


def link(api, *items, **body) -> dict:
    response = api.link(NS, *items, **body)
    assert response.status_code == 200, response.json
    return response.json


def person(api, marker: str, **body) -> int:
    """A person with the marker in an email, a customId and an attribute; their profile id."""
    answer = link(
        api,
        {"identifiers": [{"type": "email", "value": f"{marker}@example.com"},
                         {"type": "browserId", "value": f"{marker}-b1"},
                         {"type": "customId", "value": f"{marker}-c"}],
         "attributes": {"note": marker}},
        **body,
    )  # fmt: skip
    return answer["results"][0]["profile_id"]


def purge(api, profile_id: int, ns: str = NS):
    return api.client.delete(f"/v1/{ns}/profiles/{profile_id}", headers=api.headers)


def purges(api, ns: str = NS, query: str = "") -> dict:
    response = api.get(f"/v1/{ns}/purges{query}")
    assert response.status_code == 200, response.json
    return response.json


def test_delete_erases_the_person_and_answers_the_purge(api, marker, error_of):
    pid = person(api, marker)
    then = api.get(f"/v1/{NS}/profiles/{pid}").json["updated_at"]
    response = purge(api, pid)
    assert response.status_code == 200, response.json
    assert response.json == {
        "id": response.json["id"], "profile_id": pid, "purged_at": response.json["purged_at"],
        "purged_by": "local", "identifiers_erased": 3,
    }  # fmt: skip
    error_of(api.get(f"/v1/{NS}/profiles/{pid}"), 404, "not_found")
    for text in (f"email:{marker}@example.com", f"browserId:{marker}-b1", f"customId:{marker}-c"):
        error_of(api.profile(NS, text), 404, "not_found")
    error_of(api.get(f"/v1/{NS}/profiles/{pid}/lineage"), 404, "not_found")
    error_of(api.get(f"/v1/{NS}/profiles/{pid}?as_of={then}"), 404, "not_found")  # its past too
    error_of(purge(api, pid), 404, "not_found")  # once erased, it is not there to erase


def test_deleting_an_absorbed_id_erases_its_survivor_as_a_read_answers_it(api):
    [(_, small)] = api.outcomes(NS, ("browserId:a1", "browserId:a2"))
    [(_, large)] = api.outcomes(NS, ("email:ann@x.io", "browserId:b1", "browserId:b2"))
    [(outcome, survivor)] = api.outcomes(NS, ("browserId:a1", "browserId:b1"))
    assert (outcome, survivor) == ("merged", large)
    assert api.get(f"/v1/{NS}/profiles/{small}").json["id"] == large
    response = purge(api, small)
    assert response.status_code == 200 and response.json["profile_id"] == large
    assert response.json["identifiers_erased"] == 5
    for pid in (small, large):
        assert api.get(f"/v1/{NS}/profiles/{pid}").status_code == 404


def test_a_profile_id_that_is_not_a_number_is_a_400(api, error_of):
    error = error_of(purge(api, "seven"), 400, "invalid_input")
    assert "profile_id" in error["details"]["fields"]


def test_the_conflict_log_no_longer_names_the_erased_person(api, marker):
    pid = person(api, marker)
    other = link(api, ("email:bob@example.com", "customId:bob"))["results"][0]["profile_id"]
    [(outcome, _)] = api.outcomes(NS, (f"customId:{marker}-c", "email:bob@example.com"))
    assert outcome == "conflict"
    logged = api.get(f"/v1/{NS}/conflicts").json["conflicts"]
    assert [sorted(c["profiles"]) for c in logged] == [sorted([pid, other])]
    assert purge(api, pid).status_code == 200
    after = api.get(f"/v1/{NS}/conflicts")
    assert after.json["conflicts"] == [] and marker not in after.get_data(as_text=True)
    assert api.members(NS, "email:bob@example.com") == {"email:bob@example.com", "customId:bob"}


def test_the_audit_log_lists_each_purge_with_who_and_how_many_and_no_value(api, marker):
    first = person(api, marker, source=f"{marker}-source", request_id=f"{marker}-r1")
    second = link(api, ("email:bob@example.com", "browserId:bob"))["results"][0]["profile_id"]
    erased = [purge(api, first).json, purge(api, second).json]
    page = purges(api)
    assert page == {"purges": erased, "next_cursor": None}
    assert [(p["profile_id"], p["purged_by"], p["identifiers_erased"]) for p in erased] == [
        (first, "local", 3),
        (second, "local", 2),
    ]
    text = json.dumps(page)
    assert marker not in text and "bob" not in text
    one = purges(api, query="?limit=1")
    assert one["purges"] == erased[:1] and one["next_cursor"] == str(erased[0]["id"])
    assert purges(api, query=f"?cursor={one['next_cursor']}")["purges"] == erased[1:]
    assert purges(api, "elsewhere") == {"purges": [], "next_cursor": None}


def test_purges_through_synerise_and_omnidesk_land_in_the_audit_log(client, api):
    synerise = Synerise(client, namespace=NS)
    found = synerise.create(email="ann@example.com", customId="ann")
    deleted = client.delete(f"/v4/clients/{found['clientId']}", headers=synerise.headers)
    assert deleted.status_code == 202
    client.post("/api/v2/customer", json={
        "brand_id": 7, "primary_id": "c-1", "channel_id": "email",
        "customer_link_channel": "bob@example.com"})  # fmt: skip
    pid = api.profile("7", "customId:c-1").json["id"]
    purged = client.delete("/api/v2/customer/purgedata", json={"brand_id": 7, "external_id": "c-1"})
    assert purged.status_code == 200
    [by_synerise] = purges(api)["purges"]
    [by_omnidesk] = purges(api, "7")["purges"]
    assert (by_synerise["profile_id"], by_synerise["purged_by"]) == (found["clientId"], "local")
    assert by_synerise["identifiers_erased"] == 3  # email, customId and the generated uuid
    assert (by_omnidesk["profile_id"], by_omnidesk["identifiers_erased"]) == (pid, 2)


def test_replaying_a_request_id_after_its_person_was_erased_applies_it_anew(api, marker):
    """The kept answer named the person, so the purge erased it: the request id is unknown
    again, and the same request creates the person again (documented in docs/api.md)."""
    body = {"request_id": "signup-1", "source": "web"}
    pid = person(api, marker, **body)
    replay = api.link(NS, *_person_items(marker), **body)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert purge(api, pid).status_code == 200
    again = api.link(NS, *_person_items(marker), **body)
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    [result] = again.json["results"]
    assert result["outcome"] == "created" and result["profile_id"] != pid
    assert api.profile(NS, f"customId:{marker}-c").json["id"] == result["profile_id"]


def test_purging_one_person_leaves_another_and_their_request_untouched(api, marker):
    pid = person(api, marker, request_id="ann-1")
    items = [("email:bob@example.com", "browserId:bob-1"), ("browserId:bob-1", "uuid:" + _UUID)]
    first = link(api, *items, request_id="bob-1", source="crm")
    bob = api.get(f"/v1/{NS}/identifiers/email/bob@example.com").json
    lineage = api.get(f"/v1/{NS}/profiles/{bob['id']}/lineage").json
    assert purge(api, pid).status_code == 200
    assert api.get(f"/v1/{NS}/identifiers/email/bob@example.com").json == bob
    assert api.get(f"/v1/{NS}/profiles/{bob['id']}/lineage").json == lineage
    replay = api.link(NS, *items, request_id="bob-1", source="crm")
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json["results"] == first["results"]


def test_each_purge_is_logged_once_at_info_without_any_value(api, marker, caplog):
    pid = person(api, marker)
    with caplog.at_level(logging.INFO, logger="idgraph"):
        record = purge(api, pid).json
    lines = [r.getMessage() for r in caplog.records if r.name == "idgraph"]
    assert lines == [
        f"purge {record['id']}: namespace {NS}, profile {pid}, by local, 3 identifiers erased"
    ]
    assert all(marker not in r.getMessage() for r in caplog.records)


_UUID = "9b2f3c4d-0000-4000-8000-00000000000b"


def _person_items(marker: str) -> list[dict]:
    return [
        {"identifiers": [{"type": "email", "value": f"{marker}@example.com"},
                         {"type": "browserId", "value": f"{marker}-b1"},
                         {"type": "customId", "value": f"{marker}-c"}],
         "attributes": {"note": marker}}
    ]  # fmt: skip
