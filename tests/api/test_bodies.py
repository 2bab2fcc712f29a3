"""A body is read as JSON whatever its Content-Type says: the published Adnuntius client sends
none, a browser's sendBeacon sends text/plain, curl -d sends form encoding. A body that is not
JSON is a 400 saying so on every route that takes one, and changes nothing."""

from __future__ import annotations

import json
import re

import pytest
from apitools import identifiers

NS = "shop"
LINK = {"items": [{"identifiers": identifiers("email:ann@x.io", "browserId:b1")}]}
FORM = "application/x-www-form-urlencoded"

CONTENT_TYPES = [
    pytest.param(None, id="none"),
    pytest.param("text/plain", id="text-plain"),
    pytest.param("text/plain;charset=UTF-8", id="beacon"),
    pytest.param("application/json; charset=utf-8", id="json-with-charset"),
    pytest.param(FORM, id="form-encoded"),
]


def send(client, method: str, path: str, text: str | bytes, content_type: str | None):
    headers = {"Content-Type": content_type} if content_type else {}
    return client.open(path, method=method, data=text, headers=headers)


def profile_of(api, text: str) -> dict:
    response = api.profile(NS, text)
    assert response.status_code == 200, response.json
    return response.json


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_a_link_is_written_whatever_the_content_type_says(api, content_type):
    response = send(api.client, "POST", f"/v1/{NS}/links", json.dumps(LINK), content_type)
    assert response.status_code == 200, response.json
    assert response.request.headers.get("Content-Type") == content_type
    assert [r["outcome"] for r in response.json["results"]] == ["created"]
    assert api.members(NS, "email:ann@x.io") == {"email:ann@x.io", "browserId:b1"}


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_attributes_sent_form_encoded_or_untyped_are_written(api, content_type):
    api.link(NS, *LINK["items"])
    path = f"/v1/{NS}/profiles/{profile_of(api, 'email:ann@x.io')['id']}/attributes"
    response = send(api.client, "PATCH", path, json.dumps({"city": "Oslo"}), content_type)
    assert response.status_code == 200, response.json
    assert profile_of(api, "email:ann@x.io")["attributes"] == {"city": "Oslo"}


def test_undo_sent_as_text_plain_does_what_the_body_says(api):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), ("customId:c1", "browserId:b2"))
    api.link(NS, ("browserId:b1", "browserId:b2"))
    lineage = api.get(f"/v1/{NS}/profiles/{profile_of(api, 'browserId:b2')['id']}/lineage")
    (merge,) = lineage.json["merges"]
    path = f"/v1/{NS}/merges/{merge['id']}/undo"
    response = send(api.client, "POST", path, '{"ban": false}', "text/plain")
    assert response.status_code == 200, response.json
    assert response.json["bans"] == []  # the default is to ban the pair
    assert api.outcomes(NS, ("browserId:b1", "browserId:b2"))[0][0] == "merged"


def test_an_empty_body_is_no_body(api):
    response = send(api.client, "POST", f"/v1/{NS}/links", "", "text/plain")
    assert response.status_code == 400
    assert response.json["error"]["details"]["fields"] == {
        "items": ["Missing data for required field."]
    }


NOT_JSON = [
    pytest.param("city=Oslo", FORM, "Expecting value at line 1 column 1", id="form-fields"),
    pytest.param('{"city": "Oslo"', "text/plain", "Expecting ',' delimiter", id="cut-short"),
    pytest.param("{'city': 'Oslo'}", None, "Expecting property name", id="single-quotes"),
    pytest.param(b"\xff\xfe{}", "application/json", "not UTF-8 text", id="not-utf8"),
    pytest.param("[" * 100_000, "text/plain", "nested too deeply", id="nested-too-deeply"),
]


@pytest.mark.parametrize(("text", "content_type", "words"), NOT_JSON)
def test_a_link_body_that_is_not_json_is_a_400_saying_so(
    app, client, error_of, text, content_type, words
):
    response = send(client, "POST", f"/v1/{NS}/links", text, content_type)
    error = error_of(response, 400, "invalid_input")
    assert list(error["details"]["fields"]) == ["body"]
    assert error["message"].startswith("body: not JSON")
    assert words in error["message"]
    store = app.extensions["idgraph.service"].store
    assert list(store.iter_identifiers(NS)) == []


@pytest.mark.parametrize(("text", "content_type", "words"), NOT_JSON)
def test_attributes_that_are_not_json_are_a_400_and_change_nothing(
    api, error_of, text, content_type, words
):
    api.link(NS, {**LINK["items"][0], "attributes": {"city": "Rome"}})
    before = profile_of(api, "email:ann@x.io")
    path = f"/v1/{NS}/profiles/{before['id']}/attributes"
    error = error_of(send(api.client, "PATCH", path, text, content_type), 400, "invalid_input")
    assert error["message"].startswith("body: not JSON") and words in error["message"]
    assert profile_of(api, "email:ann@x.io") == before


def operations_with_a_body(client) -> list[tuple[str, str]]:
    """(method, path) of every operation the OpenAPI document says takes a body, path
    parameters filled with 1."""
    spec = client.get("/openapi.json").json
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and "requestBody" in operation
    ]


@pytest.mark.parametrize("content_type", [None, "text/plain", FORM, "application/json"])
def test_every_route_taking_a_body_refuses_one_that_is_not_json(client, content_type):
    operations = operations_with_a_body(client)
    assert ("POST", "/v1/1/links") in operations and len(operations) >= 10
    for method, path in operations:
        response = send(client, method, path, "city=Oslo", content_type)
        assert response.status_code == 400, (method, path, response.json)
        assert "body: not JSON: Expecting value" in response.get_data(as_text=True), (method, path)
