"""The Synerise face where a reviewer found it unlike Synerise: an update whose body repeats
the identifier of its path, deleting a client id that a merge absorbed, and a one-client write
the rules refuse."""

from __future__ import annotations

import pytest
from synerise_client import NS, Synerise, synerise_error
from synerise_sdk.dto.profile import Profile

UA = "88f40b29-5ba8-437b-ba9d-6d3b99dff80f"
ANN = {"customId": "c1", "email": "a@x.io", "phone": "+48601234567", "uuid": UA}


@pytest.fixture
def sy(client) -> Synerise:
    return Synerise(client)


def links_of(sy: Synerise) -> list[dict]:
    return list(sy.client.application.extensions["idgraph.service"].store.iter_links(NS))


def listed(sy: Synerise) -> list[dict]:
    return sy.client.get("/crm/v1/list", headers=sy.headers).json


# --- an update's body may name the client its path names (seed 003: "include the fields") ---


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param("by-email/a@x.io", {"email": "a@x.io"}, id="email"),
        pytest.param("by-email/A@X.io", {"email": "a@x.io"}, id="email-other-spelling"),
        pytest.param("by-email/a@x.io", {"email": " A@x.IO"}, id="email-body-spelling"),
        pytest.param("by-customId/c1", {"customId": "c1"}, id="customId"),
        pytest.param("by-phone/+48601234567", {"phone": "+48 601 234 567"}, id="phone"),
        pytest.param(f"by-uuid/{UA.upper()}", {"uuid": UA}, id="uuid"),
    ],
)
def test_an_update_whose_body_repeats_the_identifier_of_its_path_is_made(sy, path, body):
    before = sy.create(**ANN)
    response = sy.post(f"/v4/clients/{path}", json={**body, "firstName": "X"})
    assert (response.status_code, response.data) == (202, b""), response.json
    after = sy.by("customId", "c1")
    assert after["firstName"] == "X"
    assert {k: after[k] for k in (*ANN, "clientId")} == {k: before[k] for k in (*ANN, "clientId")}
    assert len(listed(sy)) == 1


def test_the_sdks_profile_body_updates_the_client_its_path_names(sy):
    sy.create(email="a@x.io")
    body = Profile(email="a@x.io", agreements={"sms": True}).asdict()  # always has its email
    assert sy.post("/v4/clients/by-email/a@x.io", json=body).status_code == 202
    assert sy.by("email", "a@x.io")["agreements"]["sms"] is True


# --- deleting an id a merge absorbed (seed 004: "The source accounts are deleted") ------------


def merge_by_pair(sy: Synerise) -> tuple[dict, dict]:
    absorbed = sy.create(uuid=UA)
    survivor = sy.create(email="s@x.io", firstName="Sam")
    sy.batch({"uuid": UA, "email": "s@x.io"})
    return absorbed, survivor


def merge_explicitly(sy: Synerise) -> tuple[dict, dict]:
    absorbed = sy.create(customId="lue42", email="l@x.io")
    survivor = sy.create(customId="tla114", email="s@x.io", firstName="Sam")
    response = sy.post("/v4/clients/merge/from/custom-ids/lue42/to/custom-id/tla114")
    assert response.status_code == 202, response.json
    return absorbed, survivor


@pytest.mark.parametrize(
    "merged",
    [pytest.param(merge_by_pair, id="batch-pair"), pytest.param(merge_explicitly, id="explicit")],
)
def test_deleting_an_absorbed_client_id_is_404_and_erases_nothing(sy, merged):
    absorbed, survivor = merged(sy)
    links = links_of(sy)
    response = sy.client.delete(f"/v4/clients/{absorbed['clientId']}", headers=sy.headers)
    assert "no profile" in synerise_error(response, 404, "not_found")["message"]
    kept = sy.by("email", "s@x.io")
    assert (kept["clientId"], kept["firstName"]) == (survivor["clientId"], "Sam")
    assert kept["previousClients"] == [absorbed["clientId"]]
    assert links_of(sy) == links  # its history too
    assert sy.client_id(absorbed["clientId"]).json["clientId"] == survivor["clientId"]  # GET
    deleted = sy.client.delete(f"/v4/clients/{survivor['clientId']}", headers=sy.headers)
    assert deleted.status_code == 202 and sy.by("email", "s@x.io") is None


# --- a one-client write the rules refuse is a 409 a client can see ----------------------------


@pytest.fixture
def ann_and_bob(sy) -> tuple[dict, dict]:
    return sy.create(email="ann@x.io", customId="c1"), sy.create(email="bob@x.io", customId="c2")


def test_an_update_naming_another_clients_email_is_409_naming_the_field_and_writes_nothing(
    sy, ann_and_bob
):
    ann, bob = ann_and_bob
    body = {"firstName": "Ann", "email": "bob@x.io"}
    response = sy.post("/v4/clients/by-customId/c1", json=body)
    error = synerise_error(response, 409, "conflict")
    assert error["message"].startswith("email: ")
    assert list(error["details"]["fields"]) == ["email"]
    assert error["details"]["clientId"] == bob["clientId"]
    assert sy.by("customId", "c1") == ann  # not even its firstName
    assert sy.by("email", "bob@x.io") == bob
    assert [c["rule"] for c in sy.conflicts()] == [error["details"]["reason"]]  # still logged


def test_a_create_the_rules_refuse_is_409_naming_the_field_and_writes_nothing(sy, ann_and_bob):
    ann, bob = ann_and_bob
    body = {"email": "bob@x.io", "customId": "c1", "firstName": "Zed"}
    error = synerise_error(sy.post("/v4/clients", json=body), 409, "conflict")
    assert error["details"]["fields"] == {"customId": [f"c1 belongs to client {ann['clientId']}"]}
    assert (sy.by("customId", "c1"), sy.by("email", "bob@x.io")) == (ann, bob)


def test_the_openapi_document_gives_the_one_client_writes_a_409(client):
    paths = client.get("/openapi.json").json["paths"]
    for path in ("/v4/clients", "/v4/clients/by-{kind}/{value}"):
        refused = paths[path]["post"]["responses"]["409"]
        schema = refused["content"]["application/json"]["schema"]["$ref"]
        assert schema.endswith("/SyneriseError"), refused
