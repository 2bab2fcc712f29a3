"""Every rejection is a 400 (413 for an oversized body) in the one error shape, names the item
and the field, and changes nothing: a batch with one bad item applies none."""

from __future__ import annotations

import pytest
from apitools import identifiers

NS = "shop"
GOOD = {"identifiers": identifiers("email:a@x.io", "browserId:b1")}


def nothing_written(app, ns: str = NS) -> bool:
    store = app.extensions["idgraph.service"].store
    return list(store.iter_identifiers(ns)) == [] and list(store.iter_links(ns)) == []


def post(client, body, ns: str = NS, **kwargs):
    return client.post(f"/v1/{ns}/links", json=body, **kwargs)


BAD_ITEMS = [
    pytest.param(
        {"identifiers": identifiers("email:a@x.io")},
        "identifiers",
        "at least 2",
        id="single-identifier",
    ),
    pytest.param(
        {"identifiers": identifiers("email:not-an-email", "browserId:b1")},
        "identifiers.0.value",
        "not a valid email",
        id="invalid-email",
    ),
    pytest.param(
        {"identifiers": identifiers("phone:12", "browserId:b1")},
        "identifiers.0.value",
        "not a valid phone",
        id="invalid-phone",
    ),
    pytest.param(
        {"identifiers": identifiers("browserId:b1", "customId:null")},
        "identifiers.1.value",
        "blocked",
        id="blocked-value",
    ),
    pytest.param(
        {"identifiers": identifiers("email:test@test.com", "browserId:b1")},
        "identifiers.0.value",
        "blocked",
        id="blocked-email",
    ),
    pytest.param(
        {"identifiers": [{"type": "email", "value": "  "}, {"type": "browserId", "value": "b"}]},
        "identifiers.0.value",
        "empty",
        id="empty-after-trim",
    ),
    pytest.param(
        {"identifiers": [{"type": "email", "value": 42}, {"type": "browserId", "value": "b1"}]},
        "identifiers.0.value",
        "Not a valid string",
        id="number-as-value",
    ),
    pytest.param(
        {"identifiers": [{"type": "bad type!", "value": "x"}, {"type": "browserId", "value": "b"}]},
        "identifiers.0.type",
        "not a valid identifier type",
        id="invalid-type",
    ),
    pytest.param(
        {"identifiers": identifiers("email:A@x.io", "email:a@x.io")},
        "identifiers.1",
        "appears twice",
        id="same-identifier-twice",
    ),
    pytest.param(
        {"identifiers": identifiers("email:a@x.io", "browserId:b2"), "attributes": {"city": ""}},
        "attributes.city",
        "empty string",
        id="empty-attribute",
    ),
    pytest.param(
        {"identifiers": "email:a@x.io"},
        "identifiers",
        "Not a valid list",
        id="identifiers-not-a-list",
    ),
    pytest.param(
        {"identifiers": identifiers("email:a@x.io", "browserId:b2"), "colour": "red"},
        "colour",
        "Unknown field",
        id="unknown-field",
    ),
]


@pytest.mark.parametrize(("bad_item", "field", "words"), BAD_ITEMS)
def test_a_bad_item_names_its_index_and_field_and_the_batch_writes_nothing(
    app, client, error_of, bad_item, field, words
):
    response = post(client, {"items": [GOOD, GOOD, bad_item]})
    error = error_of(response, 400, "invalid_input")
    problems = error["details"]["items"]["2"]
    assert words in problems[field][0]
    assert error["message"].startswith("items[2].")
    assert nothing_written(app)


def test_every_bad_item_of_a_batch_is_reported(client, error_of):
    bad = {"identifiers": identifiers("email:nope", "browserId:b1")}
    response = post(client, {"items": [bad, GOOD, bad]})
    error = error_of(response, 400, "invalid_input")
    assert sorted(error["details"]["items"]) == ["0", "2"]
    assert "(and 1 more)" in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "items", id="no-items"),
        pytest.param({"items": []}, "items", id="empty-items"),
        pytest.param({"items": {"a": 1}}, "items", id="items-not-a-list"),
        pytest.param({"items": [GOOD], "source": 7}, "source", id="source-not-a-string"),
        pytest.param(
            {"items": [GOOD], "request_id": "has space"}, "request_id", id="bad-request-id"
        ),
        pytest.param([GOOD], "body", id="body-not-an-object"),
    ],
)
def test_a_malformed_batch_names_the_field(app, client, error_of, body, field):
    error = error_of(post(client, body), 400, "invalid_input")
    assert field in error["details"]["fields"] or field in str(error["details"])
    assert nothing_written(app)


def test_malformed_json_is_a_400(app, client, error_of):
    response = client.post(f"/v1/{NS}/links", data='{"items": [', content_type="application/json")
    error = error_of(response, 400, "invalid_input")
    assert "JSON" in error["message"]
    assert nothing_written(app)


@pytest.mark.parametrize("namespace", ["has space", "a" * 129, "semi;colon", "ünïcode"])
def test_a_namespace_outside_the_allowed_characters_is_a_400(app, client, error_of, namespace):
    error = error_of(post(client, {"items": [GOOD]}, ns=namespace), 400, "invalid_input")
    assert "ns" in error["details"]["fields"]
    assert nothing_written(app, namespace)


def test_a_namespace_may_use_letters_digits_dot_colon_dash_underscore(client):
    assert post(client, {"items": [GOOD]}, ns="Folder_00aa.b:c-1").status_code == 200


def test_more_items_than_the_limit_is_a_400(make_app, error_of):
    app = make_app(max_batch_items=3)
    response = post(app.test_client(), {"items": [GOOD] * 4})
    error = error_of(response, 400, "invalid_input")
    assert error["details"]["fields"]["items"] == ["at most 3 items per batch"]
    assert nothing_written(app)


def test_a_body_over_the_size_limit_is_a_413(make_app, error_of):
    app = make_app(max_body_bytes=1024)
    big = {"identifiers": identifiers("email:a@x.io", "browserId:" + "b" * 400)}
    response = post(app.test_client(), {"items": [big, big, big]})
    error_of(response, 413, "request_entity_too_large")
    assert nothing_written(app)


def test_a_profile_id_that_is_not_a_number_is_a_400(client, error_of):
    error = error_of(client.get(f"/v1/{NS}/profiles/abc"), 400, "invalid_input")
    assert "profile_id" in error["details"]["fields"]


def test_an_invalid_lookup_value_is_a_400(client, error_of):
    error = error_of(client.get(f"/v1/{NS}/identifiers/phone/abc"), 400, "invalid_input")
    assert "value" in error["details"]["fields"]


def test_a_key_sent_twice_in_one_object_is_refused_not_read_as_last_wins(client) -> None:
    body = (
        '{"items": [{"identifiers": [{"type": "email", "value": "a@example.com"},'
        ' {"type": "email", "type": "phone", "value": "+48601234567"}]}]}'
    )
    response = client.post("/v1/ns/links", data=body, content_type="application/json")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["details"]["items"]["0"] == {
        "identifiers.1.type": ["sent twice in one object: send each key once"]
    }
    assert client.get("/v1/ns/identifiers/email/a@example.com").status_code == 404
