"""Synerise's login and its errors: an API key logs in at ``/uauth/v2/auth/login/profile`` for
a token (graph/tokens.py) that stands for the key, and Synerise's routes answer every error in
Synerise's shape while the native routes keep theirs."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from apitools import assert_error
from synerise_client import synerise_error

from graph import tokens

TOKEN = "s3cret-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
LOGIN = "/uauth/v2/auth/login/profile"
NS = "tenant-7"
SAMPLE = "sampleclient@synerise.com"


@pytest.fixture
def secured(make_app):
    return make_app(admin_token=TOKEN)


@pytest.fixture
def key(secured):
    """A read-write key of NS: (the ApiKey, its text)."""
    return secured.extensions["idgraph.keys"].create(NS, ["read", "write"], "crm-sync")


def login(app, api_key: str):
    return app.test_client().post(LOGIN, json={"apiKey": api_key})


def token_of(app, api_key: str) -> str:
    response = login(app, api_key)
    assert response.status_code == 200, response.json
    return response.json["token"]


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Api-Version": "4.4", **headers}


def create(app, token: str, **client):
    return app.test_client().post("/v4/clients", json=client, headers=bearer(token))


def read(app, token: str, email: str = SAMPLE):
    return app.test_client().get(f"/v4/clients/by-email/{email}", headers=bearer(token))


# --- logging in -------------------------------------------------------------------------------


def test_an_api_key_logs_in_for_a_token_that_stands_for_it_for_an_hour(secured, key):
    api_key, text = key
    response = login(secured, text)
    assert response.status_code == 200, response.json
    assert set(response.json) == {"token"}
    token = response.json["token"]
    assert jwt.get_unverified_header(token)["kid"] == str(api_key.id)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["ns"], claims["sub"], claims["rights"]) == (NS, "crm-sync", ["read", "write"])
    assert claims["exp"] - claims["iat"] == 3600


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(TOKEN, id="the-admin-token"),
        pytest.param("idg_1_" + "x" * 43, id="a-wrong-secret"),
        pytest.param("crm-sync", id="not-a-key"),
    ],
)
def test_anything_but_an_api_key_is_401_in_synerise_shape(secured, key, sent):
    response = login(secured, sent)
    error = synerise_error(response, 401, "unauthorized")
    assert "not an active idgraph API key" in error["message"]
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="idgraph"'


def test_a_revoked_key_cannot_log_in(secured, key):
    api_key, text = key
    secured.extensions["idgraph.keys"].revoke(api_key.id)
    synerise_error(login(secured, text), 401, "unauthorized")


def test_local_open_mode_logs_in_only_with_an_api_key(app):
    synerise_error(login(app, "local"), 401, "unauthorized")
    _, text = app.extensions["idgraph.keys"].create(NS, ["read"], "reader")
    assert login(app, text).status_code == 200


def test_a_login_without_an_api_key_is_400_naming_it(secured):
    response = secured.test_client().post(LOGIN, json={"api_key": "x"})
    fields = synerise_error(response, 400, "invalid_input")["details"]["fields"]
    assert set(fields) == {"apiKey", "api_key"}


# --- the token at work ------------------------------------------------------------------------


def test_the_token_works_on_synerise_routes_in_its_keys_namespace(secured, key):
    token = token_of(secured, key[1])
    assert create(secured, token, email=SAMPLE).status_code == 202
    assert read(secured, token).json["email"] == SAMPLE
    admin = secured.test_client()
    assert admin.get(f"/v1/{NS}/identifiers/email/{SAMPLE}", headers=ADMIN).status_code == 200
    assert admin.get(f"/v1/default/identifiers/email/{SAMPLE}", headers=ADMIN).status_code == 404


def test_the_token_carries_its_keys_name_as_the_source_of_links(secured, key):
    token = token_of(secured, key[1])
    create(secured, token, email=SAMPLE)
    profile_id = read(secured, token).json["clientId"]
    lineage = secured.test_client().get(f"/v1/{NS}/profiles/{profile_id}/lineage", headers=ADMIN)
    assert {link["source"] for link in lineage.json["links"]} == {"crm-sync"}


def test_the_token_carries_its_keys_rights(secured):
    _, text = secured.extensions["idgraph.keys"].create(NS, ["read"], "reader")
    token = token_of(secured, text)
    assert read(secured, token).status_code == 404  # may read: nothing there
    error = synerise_error(create(secured, token, email=SAMPLE), 403, "forbidden")
    assert "reader may not write" in error["message"]


def test_a_token_naming_another_namespace_in_the_header_is_404(secured, key):
    token = token_of(secured, key[1])
    other = bearer(token, **{"X-Idgraph-Namespace": "default"})
    response = secured.test_client().get("/crm/v1/list", headers=other)
    synerise_error(response, 404, "not_found")


def test_the_token_stands_for_its_key_on_native_routes_too(secured, key):
    token = token_of(secured, key[1])
    response = secured.test_client().get(f"/v1/{NS}/conflicts", headers=bearer(token))
    assert response.status_code == 200, response.json


def test_a_revoked_keys_token_stops_at_its_next_request(secured, key):
    api_key, text = key
    token = token_of(secured, text)
    assert read(secured, token).status_code == 404
    secured.extensions["idgraph.keys"].revoke(api_key.id)
    synerise_error(read(secured, token), 401, "unauthorized")


def _payload(token: str) -> dict:
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _with_payload(token: str, payload: dict) -> str:
    header, _, signature = token.split(".")
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


def test_a_tampered_token_is_401(secured):
    reader, text = secured.extensions["idgraph.keys"].create(NS, ["read"], "reader")
    token = token_of(secured, text)
    escalated = _with_payload(token, {**_payload(token), "rights": ["read", "write"]})
    synerise_error(create(secured, escalated, email=SAMPLE), 401, "unauthorized")
    kid = {"kid": str(reader.id)}
    unsigned = jwt.encode(_payload(token), None, algorithm="none", headers=kid)
    synerise_error(read(secured, unsigned), 401, "unauthorized")
    guessed = jwt.encode(_payload(token), "x" * 32, algorithm="HS256", headers=kid)
    synerise_error(read(secured, guessed), 401, "unauthorized")
    synerise_error(read(secured, token[:-4] + "AAAA"), 401, "unauthorized")


def test_a_token_of_another_service_or_of_changed_claims_is_401(secured, key):
    api_key, _ = key
    other_service = tokens.issue(api_key, pepper="another-admin-token")
    synerise_error(read(secured, other_service), 401, "unauthorized")
    moved = tokens.issue(replace(api_key, namespace="default"), pepper=TOKEN)  # signed right
    synerise_error(read(secured, moved), 401, "unauthorized")


def test_a_token_expires_an_hour_after_the_login(secured, key):
    api_key, _ = key
    now = datetime.now(UTC)
    fresh = tokens.issue(api_key, pepper=TOKEN, now=now - tokens.LIFETIME + timedelta(minutes=1))
    assert read(secured, fresh).status_code == 404  # accepted: nothing there
    stale = tokens.issue(api_key, pepper=TOKEN, now=now - tokens.LIFETIME - timedelta(seconds=1))
    error = synerise_error(read(secured, stale), 401, "unauthorized")
    assert "expired" in error["message"]


# --- Synerise's error shape, and the native one unchanged ---------------------------------------


def test_synerise_routes_answer_400_401_403_404_409_in_synerise_shape(secured, key):
    token = token_of(secured, key[1])
    client = secured.test_client()
    bad = create(secured, token, email="not-an-email")
    assert "email" in synerise_error(bad, 400, "invalid_input")["details"]["fields"]
    synerise_error(client.get("/crm/v1/list"), 401, "unauthorized")
    synerise_error(client.get("/crm/v1/list", headers=bearer("idg_1_" + "x" * 43)), 401,
                   "unauthorized")  # fmt: skip
    missing = read(secured, token, "ghost@x.io")
    assert "ghost@x.io" in synerise_error(missing, 404, "not_found")["message"]
    for custom_id in ("t", "s"):
        assert create(secured, token, customId=custom_id).status_code == 202
    ban = {"a": {"type": "customId", "value": "s"}, "b": {"type": "customId", "value": "t"},
           "reason": "two people"}  # fmt: skip
    assert client.post(f"/v1/{NS}/bans", json=ban, headers=ADMIN).status_code == 201
    merge = client.post("/v4/clients/merge/from/custom-ids/s/to/custom-id/t", headers=bearer(token))
    assert synerise_error(merge, 409, "conflict")["details"] == {"reason": "banned"}


def test_the_synerise_error_body_reads_as_synerise_answers_it(secured, key):
    token = token_of(secured, key[1])
    body = read(secured, token, "ghost@x.io").json
    assert (body["status"], body["error"]) == (404, "Not Found")
    assert body["path"] == "/v4/clients/by-email/ghost@x.io"
    assert datetime.strptime(body["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")


def test_synerise_events_are_404_saying_idgraph_stores_none(secured, key):
    token = token_of(secured, key[1])
    event = {"action": "form.submit", "client": {"email": SAMPLE}, "label": "signup"}
    response = secured.test_client().post("/v4/events/custom", json=event, headers=bearer(token))
    assert "stores no events" in synerise_error(response, 404, "not_found")["message"]
    assert read(secured, token).status_code == 404  # and no profile was made of it


def test_native_routes_keep_their_error_shape(secured, key):
    token = token_of(secured, key[1])
    client = secured.test_client()
    assert_error(client.get(f"/v1/{NS}/conflicts"), 401, "unauthorized")
    assert_error(client.get(f"/v1/{NS}/identifiers/email/{SAMPLE}", headers=bearer(token)), 404,
                 "not_found")  # fmt: skip
    bad = client.post(f"/v1/{NS}/links", json={"items": []}, headers=bearer(token))
    assert_error(bad, 400, "invalid_input")


def test_a_path_no_synerise_route_matches_answers_in_synerise_shape_under_its_prefixes(secured):
    """No route: an unknown path, a value with a newline, a method the route does not take."""
    client = secured.test_client()
    synerise_error(client.get("/v4/nothing-here", headers=ADMIN), 404, "not_found")
    synerise_error(client.post("/v4/clients/by-email/a%0Ab", headers=ADMIN), 404, "not_found")
    synerise_error(client.put("/v4/clients", headers=ADMIN), 405, "method_not_allowed")
    assert_error(client.get("/v2/nothing-here", headers=ADMIN), 404, "not_found")


def test_the_openapi_document_shows_each_face_its_own_error_shape(secured):
    spec = secured.test_client().get("/openapi.json").json
    synerise_ref = {"$ref": "#/components/schemas/SyneriseError"}
    for path in ("/v4/clients", LOGIN, "/v4/events/{kind}"):
        responses = spec["paths"][path]["post"]["responses"]
        errors = [responses["default"], *([responses["400"]] if "400" in responses else [])]
        for documented in errors:
            assert documented["content"]["application/json"]["schema"] == synerise_ref
    native = spec["paths"]["/v1/{ns}/links"]["post"]["responses"]["default"]
    assert native == {"$ref": "#/components/responses/DEFAULT_ERROR"}
    assert spec["paths"][LOGIN]["post"]["security"] == []
    assert {"status", "error", "message", "code", "details"} <= set(
        spec["components"]["schemas"]["SyneriseError"]["properties"]
    )
