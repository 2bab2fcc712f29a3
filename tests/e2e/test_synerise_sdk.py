"""The published Synerise SDK (PyPI ``entirius-py-synerise-sdk``), unchanged but for its base
URL, against the real server: it logs in with an idgraph API key made on the command line,
creates profiles with its own DTO, reads our 401 and our answer about events."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from synerise_sdk import SyneriseClient
from synerise_sdk.dto.profile import ClientProfileEvent, Profile, ProfileEvent

from tests.e2e.test_server import IDGRAPH

pytestmark = pytest.mark.e2e

TOKEN = "s3cret-admin-token"
NS = "shop"


def create_key(tmp_path: Path, rights: str = "read,write") -> str:
    """A key made as an operator makes it, `idgraph keys create`, on the server's store."""
    environment = {**os.environ, "IDGRAPH_STORE": f"sqlite:///{tmp_path / 'e2e.db'}"}
    created = subprocess.run(
        [IDGRAPH, "keys", "create", "--namespace", NS, "--rights", rights, "--name", "sdk"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


@pytest.fixture
def served(start, tmp_path):
    """The real server with an admin token, and an API key of NS."""
    return start(IDGRAPH_ADMIN_TOKEN=TOKEN), create_key(tmp_path)


def test_the_sdk_logs_in_and_creates_a_profile_in_its_keys_namespace(served):
    server, key = served
    sdk = SyneriseClient(server.url, key)
    body = Profile(email="ann@example.com", agreements={"email": True}).asdict()
    assert sdk.get_profile_create(body) == ("Profile successfully added/updated", 202)
    status, profile = server.request("GET", "/v4/clients/by-email/ann@example.com", token=key)
    assert status == 200, profile
    assert profile["uuid"] and profile["phone"] is None  # the DTO's nulls are not sent
    assert profile["agreements"]["email"] is True
    native = server.request("GET", f"/v1/{NS}/identifiers/email/ann@example.com", token=TOKEN)
    assert native[0] == 200 and native[1]["id"] == profile["clientId"]


def test_the_sdk_updates_a_profile_it_created(served):
    server, key = served
    sdk = SyneriseClient(server.url, key)
    sdk.get_profile_create(Profile(email="bob@example.com").asdict())
    first = server.request("GET", "/v4/clients/by-email/bob@example.com", token=key)[1]
    with_phone = Profile(email="bob@example.com", phone="+48601234567").asdict()
    assert sdk.get_profile_create(with_phone)[1] == 202
    again = server.request("GET", "/v4/clients/by-email/bob@example.com", token=key)[1]
    assert (again["clientId"], again["phone"]) == (first["clientId"], "+48601234567")


def test_a_wrong_key_raises_the_sdks_connection_error_with_our_message(served):
    server, _ = served
    for wrong in ("idg_1_" + "x" * 43, TOKEN):
        with pytest.raises(ConnectionError, match="not an active idgraph API key"):
            SyneriseClient(server.url, wrong).get_profile_create(Profile(email="a@x.io").asdict())


def test_the_sdks_body_with_an_unknown_value_answers_our_400(served):
    server, key = served
    body = Profile(email="cy@example.com", area_code="+48").asdict()
    assert SyneriseClient(server.url, key).get_profile_create(body) == ("Bad Request", 400)


def test_an_event_gets_our_answer_that_idgraph_stores_no_events(served):
    server, key = served
    client = ClientProfileEvent(email="ann@example.com")
    event = ProfileEvent(action="form.submit", client=client, label="signup").asdict()
    message, status = SyneriseClient(server.url, key).add_profile_to_event(event)
    assert status == 404 and "idgraph stores no events" in message
    assert server.request("GET", "/v4/clients/by-email/ann@example.com", token=key)[0] == 404
