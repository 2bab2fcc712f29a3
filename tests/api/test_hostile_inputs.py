"""What a client can send to make a read fail or a request cost far more than its size: any
JSON one face stores read by another, batches far over the limit, type names made up by the
thousand, and times at the edges of the calendar. Each answers a 200 or a 400 naming the field,
cheaply, on a real SQLite store."""

from __future__ import annotations

import json

import pytest
from apitools import identifiers
from synerise_client import synerise_error

NS = "shop"
SYNERISE = {"X-Idgraph-Namespace": NS}


@pytest.fixture
def store_settings(tmp_path) -> dict[str, str]:
    """SQLite only: nothing here depends on the store."""
    return {"store": f"sqlite:///{tmp_path / 'api.db'}"}


def link(client, *items, ns: str = NS, query: str = ""):
    body = {"items": [item if isinstance(item, dict) else {"identifiers": identifiers(*item)}
                      for item in items]}  # fmt: skip
    return client.post(f"/v1/{ns}/links{query}", json=body)


def profile_id(client, text: str) -> int:
    type_, _, value = text.rpartition(":")
    response = client.get(f"/v1/{NS}/identifiers/{type_}/{value}")
    assert response.status_code == 200, response.json
    return response.json["id"]


def synerise_reads(client, pid: int) -> tuple[dict, dict]:
    """The client by id and its entry in the list, each asserted a 200."""
    one = client.get(f"/v4/clients/{pid}", headers=SYNERISE)
    listed = client.get("/crm/v1/list", headers=SYNERISE)
    assert (one.status_code, listed.status_code) == (200, 200), (one.json, listed.json)
    [entry] = [c for c in listed.json if c["clientId"] == pid]
    return one.json, entry


# --- 1. a stored attribute of any JSON type reads in Synerise's shape ----------------------------


@pytest.mark.parametrize(
    ("stored", "tags"),
    [
        pytest.param(1, ["1"], id="number"),
        pytest.param(2.5, ["2.5"], id="fraction"),
        pytest.param(True, [], id="boolean"),
        pytest.param("vip", ["vip"], id="text"),
        pytest.param({"a": 1}, [], id="object"),
        pytest.param(["vip", 7, False, None, {"a": 1}, ["b"]], ["vip", "7"], id="mixed-list"),
    ],
)
def test_synerise_reads_tags_of_any_type_another_face_wrote(client, stored, tags):
    item = {"identifiers": identifiers("email:ann@x.io", "browserId:b1"), "attributes": {}}
    item["attributes"]["tags"] = stored
    assert link(client, item).status_code == 200
    one, listed = synerise_reads(client, profile_id(client, "email:ann@x.io"))
    assert one["tags"] == listed["tags"] == tags


def test_synerise_reads_tags_a_visitor_wrote_through_adnuntius(client):
    visitor = {"folderId": NS, "browserId": "v1", "profileValues": {"tags": 1}}
    assert client.post("/visitor", json=visitor).status_code == 200
    one, listed = synerise_reads(client, profile_id(client, "browserId:v1"))
    assert one["tags"] == listed["tags"] == ["1"]


@pytest.mark.parametrize("stored", [{"a": 1}, ["x"], True], ids=["object", "list", "boolean"])
def test_synerise_reads_a_text_field_neither_text_nor_number_as_null(client, stored):
    attributes = {"firstName": stored, "birthDate": stored, "sex": stored}
    item = {"identifiers": identifiers("email:ann@x.io", "browserId:b1"), "attributes": attributes}
    assert link(client, item).status_code == 200
    one, _ = synerise_reads(client, profile_id(client, "email:ann@x.io"))
    assert (one["firstName"], one["birthDate"]) == (None, None)
    assert one["sex"] == "NOT_SPECIFIED"


@pytest.mark.parametrize("stored", ["false", "no", 1, ["yes"]], ids=["false", "no", "one", "list"])
def test_synerise_reads_only_true_as_an_agreement(client, stored):
    attributes = {"agreements.email": stored, "agreements.sms": True}
    item = {"identifiers": identifiers("email:ann@x.io", "browserId:b1"), "attributes": attributes}
    assert link(client, item).status_code == 200
    one, _ = synerise_reads(client, profile_id(client, "email:ann@x.io"))
    assert (one["agreements"]["email"], one["agreements"]["sms"]) == (False, True)


# --- 2. a batch over the limit is refused before its items are read -----------------------------

BATCH_ROUTES = [
    pytest.param("/v1/shop/links", lambda items: {"items": items}, "items", "items", id="native"),
    pytest.param("/sync?folderId=shop", lambda items: items, "body", "objects", id="sync"),
    pytest.param("/v4/clients/batch", lambda items: items, "body", "clients", id="synerise"),
]


def batch_error(response) -> dict:
    """The error, in whichever shape its face answers."""
    body = response.json
    assert response.status_code == 400, body
    error = body.get("error") if isinstance(body.get("error"), dict) else None
    return error or synerise_error(response, 400, "invalid_input")


@pytest.mark.parametrize(("path", "wrap", "field", "noun"), BATCH_ROUTES)
def test_bad_items_over_the_limit_get_the_batch_size_error_alone(make_app, path, wrap, field, noun):
    client = make_app(max_batch_items=3).test_client()
    response = client.post(path, json=wrap([{}] * 5), headers=SYNERISE)
    error = batch_error(response)
    assert error["details"] == {"fields": {field: [f"send 1 to 3 {noun}"]}}
    assert error["message"] == f"{field}: send 1 to 3 {noun}"


@pytest.mark.parametrize(("path", "wrap", "field", "noun"), BATCH_ROUTES)
def test_a_hundred_thousand_empty_items_get_a_short_answer(client, path, wrap, field, noun):
    body = json.dumps(wrap([{}] * 100_000))
    response = client.post(path, data=body, content_type="application/json", headers=SYNERISE)
    error = batch_error(response)
    assert error["details"] == {"fields": {field: [f"send 1 to 10000 {noun}"]}}
    assert len(response.data) < 1_000


def test_a_visitor_array_of_bad_objects_is_refused_as_more_than_one_object(client):
    response = client.post("/visitor?folderId=shop", json=[{}] * 5)
    error = batch_error(response)
    assert error["details"] == {"fields": {"body": ["send one object"]}}


# --- 3. made-up type names leave nothing behind for good -----------------------------------------


def test_made_up_type_names_do_not_grow_the_shared_rules_without_bound(app, client):
    made_up = [(f"t{n}:a", f"t{n}:b") for n in range(2_000)]  # two of a type: is it unique?
    for start in range(0, len(made_up), 1_000):
        response = link(client, *made_up[start : start + 1_000], query="?dry_run=true")
        assert response.status_code == 200, response.json
    rules = app.extensions["idgraph.service"].rules(NS)
    cached = (rules._unique_cache, rules._limit_cache, rules._policy_cache)
    assert 0 < max(map(len, cached)) <= 1_024


# --- 4. times at the edges of the calendar -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        pytest.param("/v1/shop/profiles/1?as_of=9999-12-31T23:59:59-14:00", "as_of", id="profile"),
        pytest.param("/v1/shop/profiles/1/lineage?as_of=9999-12-31T23:59:59-01:00", "as_of",
                     id="lineage"),
        pytest.param("/v1/shop/conflicts?since=0001-01-01T00:00:00%2B01:00", "since",
                     id="conflicts"),
    ],
)  # fmt: skip
def test_a_time_outside_the_years_utc_can_hold_is_a_400_naming_it(client, error_of, path, field):
    assert link(client, ("email:ann@x.io", "browserId:b1")).status_code == 200
    error = error_of(client.get(path), 400, "invalid_input")
    assert list(error["details"]["fields"]) == [field]
    assert error["message"].startswith(f"{field}: ")


@pytest.mark.parametrize("field", ["updatedFrom", "updatedTo"])
def test_a_synerise_list_time_outside_utc_is_a_400_naming_it(client, field):
    query = f"?{field}=9999-12-31T23:59:59-05:00"
    response = client.get(f"/crm/v1/list{query}", headers=SYNERISE)
    error = synerise_error(response, 400, "invalid_input")
    assert list(error["details"]["fields"]) == [field]


def test_a_profile_as_of_a_year_before_1000_did_not_exist_yet(client, error_of):
    assert link(client, ("email:ann@x.io", "browserId:b1")).status_code == 200
    pid = profile_id(client, "email:ann@x.io")
    response = client.get(f"/v1/{NS}/profiles/{pid}?as_of=0999-06-01T00:00:00Z")
    assert "did not exist yet" in error_of(response, 404, "not_found")["message"]


def test_conflicts_since_a_year_before_1000_include_todays(client):
    assert link(client, ("email:ann@x.io", "customId:u1")).status_code == 200
    refused = link(client, ("email:bob@x.io", "customId:u1"))
    assert refused.json["results"][0]["outcome"] == "conflict"
    response = client.get(f"/v1/{NS}/conflicts?since=0999-01-01T00:00:00Z")
    assert response.status_code == 200, response.json
    assert len(response.json["conflicts"]) == 1


def test_a_synerise_list_updated_from_a_year_before_1000_lists_todays(client):
    assert link(client, ("email:ann@x.io", "browserId:b1")).status_code == 200
    response = client.get("/crm/v1/list?updatedFrom=0999-01-01T00:00:00Z", headers=SYNERISE)
    assert response.status_code == 200, response.json
    assert len(response.json) == 1
