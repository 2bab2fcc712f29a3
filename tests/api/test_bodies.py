"""A body is read as JSON whatever its Content-Type says: the published Adnuntius client sends
none, a browser's sendBeacon sends text/plain, curl -d sends form encoding. A body that is not
JSON is a 400 saying so on every route that takes one, and changes nothing."""

from __future__ import annotations

import io
import json
import re

import pytest
from apitools import identifiers

from app.api.jsonbody import MAX_JSON_DEPTH, nested_too_deeply
from graph.normalize import MAX_ATTRIBUTE_DEPTH

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
    pytest.param("[" * 100_000, "text/plain", "nested deeper than 64", id="nested-too-deeply"),
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


def openapi_operations(client, *, with_body: bool) -> list[tuple[str, str]]:
    """(method, path) of every operation the OpenAPI document says takes a body, or (with
    ``with_body=False``) that answers a success and takes none; path parameters filled with 1."""
    spec = client.get("/openapi.json").json
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict)
        and ("requestBody" in operation) == with_body
        and (with_body or any(status.startswith("2") for status in operation["responses"]))
    ]


@pytest.mark.parametrize("content_type", [None, "text/plain", FORM, "application/json"])
def test_every_route_taking_a_body_refuses_one_that_is_not_json(client, content_type):
    operations = openapi_operations(client, with_body=True)
    assert ("POST", "/v1/1/links") in operations and len(operations) >= 10
    for method, path in operations:
        response = send(client, method, path, "city=Oslo", content_type)
        assert response.status_code == 400, (method, path, response.json)
        assert "body: not JSON: Expecting value" in response.get_data(as_text=True), (method, path)


# --- a body where no route reads one is refused, not dropped ----------------------------------


def error_body(response) -> dict:
    """The error, in idgraph's shape or in Synerise's (whose ``error`` is a reason phrase)."""
    body = response.json
    return body["error"] if isinstance(body["error"], dict) else body


def test_every_route_that_takes_no_body_refuses_one(client):
    operations = openapi_operations(client, with_body=False)
    assert ("DELETE", "/v1/1/profiles/1") in operations and ("GET", "/healthz") in operations
    merge = "/v4/clients/merge/from/custom-ids/1/to/custom-id/1"
    assert ("POST", merge) in operations and len(operations) >= 15
    for method, path in operations:
        response = send(client, method, path, '{"unread": true}', "application/json")
        assert response.status_code == 400, (method, path, response.json)
        error = error_body(response)
        assert error["details"]["fields"] == {
            "body": [f"{method} on this route takes no body: nothing was done"]
        }, (method, path)


def test_a_delete_sent_with_a_body_erases_nothing(api, error_of):
    api.link(NS, *LINK["items"])
    profile_id = profile_of(api, "email:ann@x.io")["id"]
    path = f"/v1/{NS}/profiles/{profile_id}"
    error = error_of(
        send(api.client, "DELETE", path, '{"really": true}', None), 400, "invalid_input"
    )
    assert error["message"] == "body: DELETE on this route takes no body: nothing was done"
    assert profile_of(api, "email:ann@x.io")["id"] == profile_id
    assert send(api.client, "DELETE", path, "", "application/json").status_code == 200


# --- JSON nested too deeply, numbers idgraph does not read ------------------------------------

NESTING = [
    pytest.param("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, False, id="at-the-limit"),
    pytest.param("[" * 65 + "]" * 65, True, id="one-over"),
    pytest.param('{"a":' * 65 + "1" + "}" * 65, True, id="objects-one-over"),
    pytest.param("[{" * 33 + "}]" * 33, True, id="arrays-and-objects"),
    pytest.param('["' + "[" * 100 + '"]', False, id="brackets-in-a-string"),
    pytest.param('["\\"' + "[" * 100 + '"]', False, id="after-an-escaped-quote"),
    pytest.param('["\\\\"' + "," + "[" * 65 + "]" * 66, True, id="after-an-escaped-backslash"),
    pytest.param('["]]]]",' * 65 + "1" + "]" * 65, True, id="closing-brackets-in-strings"),
    pytest.param('{"city": "Oslo"', False, id="cut-short: json says where"),
    pytest.param("]" + "[" * 64, False, id="a-close-first: json says where"),
    pytest.param("[" * 100_000, True, id="never-closed"),
]


@pytest.mark.parametrize(("text", "too_deep"), NESTING)
def test_nesting_is_measured_before_json_parses_it(text, too_deep):
    assert nested_too_deeply(text.encode()) is too_deep


def test_the_deepest_attributes_pass_and_one_deeper_is_named_by_its_path(api, error_of):
    envelope = 4  # {"items": [{"attributes": {
    assert MAX_JSON_DEPTH > envelope + MAX_ATTRIBUTE_DEPTH + 2  # one deeper: named by its path
    deepest: list = []
    for _ in range(MAX_ATTRIBUTE_DEPTH):
        deepest = [deepest]  # 9 arrays: the innermost at depth 8, empty
    item = {**LINK["items"][0], "attributes": {"deep": deepest}}
    assert api.link(NS, item).status_code == 200
    assert profile_of(api, "email:ann@x.io")["attributes"] == {"deep": deepest}
    deeper = {**item, "attributes": {"deep": [deepest]}}
    error = error_of(
        api.client.post(f"/v1/{NS}/links", json={"items": [deeper]}), 400, "invalid_input"
    )
    assert "body" not in error["details"].get("fields", {})
    (path,) = error["details"]["items"]["0"]
    assert path.startswith("attributes.deep.0.0") and "nested deeper than" in error["message"]


NUMBERS = [
    pytest.param("1" * 33, "a number of more than 32 digits", id="33-digits"),
    pytest.param("1" * 5_000, "a number of more than 32 digits", id="5,000-digits"),
    pytest.param("1." + "5" * 40 + "e3", "a number of more than 32 digits", id="long-fraction"),
    pytest.param("1e400", "too large for a double", id="1e400"),
    pytest.param("NaN", "NaN is not a JSON value", id="NaN"),
    pytest.param("Infinity", "Infinity is not a JSON value", id="Infinity"),
]


@pytest.mark.parametrize(("number", "words"), NUMBERS)
def test_a_number_idgraph_does_not_read_is_a_400_naming_body(api, error_of, number, words):
    api.link(NS, *LINK["items"])
    before = profile_of(api, "email:ann@x.io")
    path = f"/v1/{NS}/profiles/{before['id']}/attributes"
    response = send(api.client, "PATCH", path, f'{{"n": {number}}}', "application/json")
    error = error_of(response, 400, "invalid_input")
    assert error["details"]["fields"] == {"body": [error["message"].removeprefix("body: ")]}
    assert words in error["message"] and error["message"].startswith("body: not JSON")
    assert profile_of(api, "email:ann@x.io") == before


def test_numbers_within_the_limits_are_read(api):
    api.link(NS, *LINK["items"])
    path = f"/v1/{NS}/profiles/{profile_of(api, 'email:ann@x.io')['id']}/attributes"
    numbers = '{"big": 9223372036854775807, "small": -1.5e-300, "max": 1.7976931348623157e308}'
    assert send(api.client, "PATCH", path, numbers, "application/json").status_code == 200
    assert profile_of(api, "email:ann@x.io")["attributes"] == json.loads(numbers)


# --- a streamed body over the limit; the size of an error -------------------------------------

CHUNKED = {"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"}


def test_a_streamed_body_over_the_limit_is_a_413_not_read_cut_short(make_app, error_of):
    body = json.dumps(LINK).encode()
    app = make_app(max_body_bytes=len(body))
    client = app.test_client()
    over = io.BytesIO(body + b" ")  # cut to the limit, it would be JSON and be written
    response = client.post(f"/v1/{NS}/links", input_stream=over, environ_overrides=CHUNKED)
    error_of(response, 413, "request_entity_too_large")
    assert list(app.extensions["idgraph.service"].store.iter_identifiers(NS)) == []
    exact = io.BytesIO(body)
    response = client.post(f"/v1/{NS}/links", input_stream=exact, environ_overrides=CHUNKED)
    assert response.status_code == 200, response.json


def test_an_error_echoes_no_more_than_64_characters_of_a_name(client, error_of):
    name = "x" * 100_000
    body = {**LINK, name: 1, "items": [{**LINK["items"][0], f"{name}y": 2}]}
    response = client.post(f"/v1/{NS}/links", json=body)
    error = error_of(response, 400, "invalid_input")
    assert len(response.data) < 1_000
    assert error["details"]["fields"] == {f"{'x' * 64}…(+99936 characters)": ["Unknown field."]}
    assert error["details"]["items"] == {
        "0": {f"{'x' * 64}…(+99937 characters)": ["Unknown field."]}
    }
