"""Hostile and careless bodies (issue 19, points 2, 5 and 8), over HTTP against the real server:
a body is read as JSON or refused, never dropped; JSON too deep or with a number too long is a
400 naming ``body`` before it is parsed, never a 500, and the server answers on; a chunked body
over the limit is a 413 like one whose Content-Length says so; an error never echoes more than
a bounded prefix of a name it was sent."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from tests.e2e.test_server import Server

pytestmark = pytest.mark.e2e

FORM = "application/x-www-form-urlencoded"
Answer = tuple[int, dict]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """One server for the tests that need no setting of their own: each keeps to its own
    namespace (Synerise's by its header)."""
    served = Server(tmp_path_factory.mktemp("hostile-bodies"))
    served.wait_ready()
    yield served
    served.stop()


def send(
    server: Server,
    method: str,
    path: str,
    body: bytes | str | Iterator[bytes] | None = None,
    content_type: str | None = "application/json",
    **headers: str,
) -> tuple[int, bytes]:
    """One request as a client writes it, byte for byte: ``body`` an iterator is sent chunked."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    sent = {name.replace("_", "-"): value for name, value in headers.items()}
    if content_type:
        sent["Content-Type"] = content_type
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def answer(server: Server, method: str, path: str, body=None, *args, **kwargs) -> Answer:
    status, raw = send(server, method, path, body, *args, **kwargs)
    return status, json.loads(raw) if raw else {}


def link(server: Server, ns: str, *pairs: tuple[str, str]) -> int:
    item = {"identifiers": [{"type": type_, "value": value} for type_, value in pairs]}
    status, body = server.request("POST", f"/v1/{ns}/links", {"items": [item]})
    assert status == 200, body
    return body["results"][0]["profile_id"]


def profile(server: Server, ns: str, profile_id: int) -> dict:
    status, body = server.request("GET", f"/v1/{ns}/profiles/{profile_id}")
    assert status == 200, body
    return body


def body_error(response: Answer, words: str) -> dict:
    """The 400 refusing the body as a whole, in idgraph's shape, saying ``words``."""
    status, body = response
    assert status == 400, body
    error = body["error"]
    assert error["code"] == "invalid_input" and list(error["details"]["fields"]) == ["body"]
    assert error["message"].startswith("body: ") and words in error["message"], error
    return error


def assert_still_serving(server: Server) -> None:
    assert server.request("GET", "/healthz")[0] == 200
    assert "unhandled error" not in server.log.read_text()


# --- point 2: a body is read, whatever its Content-Type, or refused ----------------------------


def test_attributes_sent_form_encoded_by_curl_are_written(server):
    profile_id = link(server, "curl", ("email", "ann@x.io"), ("browserId", "b1"))
    path = f"/v1/curl/profiles/{profile_id}/attributes"
    status, body = answer(server, "PATCH", path, '{"city":"Oslo"}', FORM)  # curl -d
    assert status == 200 and body["attributes"] == {"city": "Oslo"}
    assert profile(server, "curl", profile_id)["attributes"] == {"city": "Oslo"}


def test_an_undo_sent_as_text_plain_does_not_ban_what_it_says_not_to(server):
    link(server, "undo", ("email", "ann@x.io"), ("browserId", "b1"))
    link(server, "undo", ("customId", "c1"), ("browserId", "b2"))
    merged = link(server, "undo", ("browserId", "b1"), ("browserId", "b2"))
    (merge,) = server.request("GET", f"/v1/undo/profiles/{merged}/lineage")[1]["merges"]
    status, body = answer(
        server, "POST", f"/v1/undo/merges/{merge['id']}/undo", '{"ban": false}', "text/plain"
    )
    assert status == 200 and body["bans"] == []
    assert server.request("GET", "/v1/undo/bans")[1]["bans"] == []
    pair = {"items": [{"identifiers": [{"type": "browserId", "value": f"b{n}"} for n in (1, 2)]}]}
    relinked = server.request("POST", "/v1/undo/links", pair)[1]["results"][0]
    assert relinked["outcome"] == "merged"  # no ban stood in its way


def test_a_synerise_update_sent_as_text_plain_is_made(server):
    namespace = {"X-Idgraph-Namespace": "plain"}
    created = '{"customId": "c9", "email": "sam@x.io"}'
    assert send(server, "POST", "/v4/clients", created, "text/plain", **namespace)[0] == 202
    update = '{"city": "Rome", "firstName": "Sam"}'
    path = "/v4/clients/by-customId/c9"
    assert send(server, "POST", path, update, "text/plain", **namespace)[0] == 202
    status, client = answer(server, "GET", path, None, None, **namespace)
    assert status == 200 and (client["city"], client["firstName"]) == ("Rome", "Sam")


def test_a_body_sent_to_a_route_that_takes_none_is_refused_and_nothing_is_done(server):
    profile_id = link(server, "nobody", ("email", "ann@x.io"), ("browserId", "b1"))
    response = answer(server, "DELETE", f"/v1/nobody/profiles/{profile_id}", '{"keep": true}')
    assert "takes no body: nothing was done" in body_error(response, "DELETE")["message"]
    assert profile(server, "nobody", profile_id)["identifiers"]  # not erased
    assert send(server, "DELETE", f"/v1/nobody/profiles/{profile_id}")[0] == 200
    assert_still_serving(server)


def test_a_body_sent_to_the_synerise_merge_is_refused_in_synerise_shape(server):
    namespace = {"X-Idgraph-Namespace": "merging"}
    for custom_id, email in (("t1", "t@x.io"), ("s1", "s@x.io")):
        client = json.dumps({"customId": custom_id, "email": email})
        assert send(server, "POST", "/v4/clients", client, **namespace)[0] == 202
    merge = "/v4/clients/merge/from/custom-ids/s1/to/custom-id/t1"
    status, error = answer(server, "POST", merge, '{"keepSources": true}', **namespace)
    assert (status, error["status"], error["code"]) == (400, 400, "invalid_input")
    assert list(error["details"]["fields"]) == ["body"] and "takes no body" in error["message"]
    source = answer(server, "GET", "/v4/clients/by-customId/s1", None, None, **namespace)
    assert source[0] == 200 and source[1]["customId"] == "s1"  # still its own client
    assert send(server, "POST", merge, None, None, **namespace)[0] == 202


# --- point 5: deep or huge JSON is refused before it is parsed --------------------------------

DEEP = [
    pytest.param("[" * 1_000 + "]" * 1_000, id="1,000-deep-arrays"),
    pytest.param('{"items":' * 100_000 + "[]" + "}" * 100_000, id="100,000-deep-objects"),
    pytest.param("[" * 100_000, id="100,000-opened-never-closed"),
    pytest.param('{"items": ' + "[" * 64 + "]" * 64 + "}", id="65-deep-one-over-the-limit"),
]


@pytest.mark.parametrize("text", DEEP)
@pytest.mark.parametrize("path", ["/v1/deep/links", "/sync?folderId=deep"])
def test_json_nested_too_deeply_is_a_400_naming_body(server, text, path):
    body_error(answer(server, "POST", path, text, "text/plain"), "nested deeper than 64 levels")
    assert_still_serving(server)


def test_json_nested_too_deeply_to_synerise_is_its_400(server):
    status, error = answer(server, "POST", "/v4/clients/batch", "[" * 1_000 + "]" * 1_000)
    assert (status, error["error"], error["code"]) == (400, "Bad Request", "invalid_input")
    assert list(error["details"]["fields"]) == ["body"] and "nested deeper" in error["message"]
    assert_still_serving(server)


NUMBERS = [
    pytest.param("1" * 5_000, "a number of more than 32 digits", id="5,000-digit-integer"),
    pytest.param("-" + "9" * 33, "a number of more than 32 digits", id="33-digit-integer"),
    pytest.param("0." + "1" * 5_000, "a number of more than 32 digits", id="5,000-digit-fraction"),
    pytest.param("1e400", "too large for a double", id="1e400"),
    pytest.param("-1e400", "too large for a double", id="minus-1e400"),
    pytest.param("NaN", "NaN is not a JSON value", id="NaN"),
    pytest.param("-Infinity", "-Infinity is not a JSON value", id="minus-Infinity"),
]


@pytest.mark.parametrize(("number", "words"), NUMBERS)
def test_a_number_idgraph_does_not_read_is_a_400_naming_body(server, number, words):
    profile_id = link(server, "numbers", ("email", "ann@x.io"), ("browserId", "b1"))
    path = f"/v1/numbers/profiles/{profile_id}/attributes"
    body_error(answer(server, "PATCH", path, f'{{"big": {number}}}'), words)
    assert "big" not in profile(server, "numbers", profile_id)["attributes"]
    assert_still_serving(server)


# --- point 8: a chunked body over the limit; an error's echo ----------------------------------


def in_chunks(data: bytes, size: int = 1_000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def batch_of(count: int) -> bytes:
    pair = [("customId", "c{}"), ("browserId", "b{}")]
    items = [
        {"identifiers": [{"type": type_, "value": value.format(n)} for type_, value in pair]}
        for n in range(count)
    ]
    return json.dumps({"items": items}).encode()


def test_a_chunked_body_over_the_limit_is_a_413_like_a_measured_one(start):
    within, over = batch_of(10), batch_of(200)  # 0.8 KB, 16 KB
    server = start(IDGRAPH_MAX_BODY_BYTES=str(len(within)))
    for sent in (over, in_chunks(over)):  # Content-Length, then Transfer-Encoding: chunked
        status, body = answer(server, "POST", "/v1/chunked/links", sent)
        assert (status, body["error"]["code"]) == (413, "request_entity_too_large"), body
    assert server.request("GET", "/v1/chunked/identifiers/customId/c0")[0] == 404  # none written
    status, body = answer(server, "POST", "/v1/chunked/links", in_chunks(within, 64))
    assert status == 200 and len(body["results"]) == 10  # exactly the limit, read whole
    assert_still_serving(server)


def test_an_error_about_a_4_mb_attribute_name_is_small(server):
    profile_id = link(server, "echo", ("email", "ann@x.io"), ("browserId", "b1"))
    name = "A" * (4 * 1024 * 1024)
    path = f"/v1/echo/profiles/{profile_id}/attributes"
    status, raw = send(server, "PATCH", path, json.dumps({name: "x"}))
    assert status == 400 and len(raw) < 2_048, len(raw)
    error = json.loads(raw)["error"]
    assert f"…(+{len(name) - 64 + len('attributes.')} characters)" in error["message"]
    (field,) = error["details"]["fields"]
    assert field.startswith("attributes.AAAA") and field.endswith("characters)")
    assert_still_serving(server)
