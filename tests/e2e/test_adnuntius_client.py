"""The published Adnuntius client (PyPI ``adnuntius``, ``adnuntius.api.DataServer``) against
the real server: an existing client changes only its base URL. It sends its bodies without a
Content-Type and without ``externalSystemType``; what it gets is read back over HTTP."""

from __future__ import annotations

import pytest
from adnuntius.api import DataServer

from tests.e2e.test_server import Server

pytestmark = pytest.mark.e2e

TOKEN = "adnuntius-e2e-t0ken"
VALUES = {"firstName": "Bruce", "educationStartYear": 2001, "lastTransaction": "2019-12-31"}


@pytest.fixture(params=[None, TOKEN], ids=["open-mode", "admin-token"])
def served(request, start) -> tuple[Server, str | None]:
    """The server in local open mode, and with an admin token the client sends as a header."""
    token = request.param
    return (start(IDGRAPH_ADMIN_TOKEN=token) if token else start()), token


def data_server(server: Server) -> DataServer:
    return DataServer("http://127.0.0.1", port=server.port)


def auth(token: str | None) -> dict[str, str]:
    """A new dict each call: the client adds its own headers to the one it is given."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def profile(server: Server, token: str | None, ns: str, type_: str, value: str) -> dict:
    status, found = server.request("GET", f"/v1/{ns}/identifiers/{type_}/{value}", token=token)
    assert status == 200, found
    status, view = server.request("GET", f"/v1/{ns}/profiles/{found['id']}", token=token)
    assert status == 200, view
    return view


def members(view: dict) -> set[str]:
    return {f"{i['type']}:{i['value']}" for i in view["identifiers"]}


def test_the_clients_sync_visitor_and_page_land_as_documented(served):
    server, token = served
    client = data_server(server)
    synced = client.sync(folder="f1", browser="b1", user_id="u1", headers=auth(token))
    assert synced.status_code == 200, synced.text
    [result] = synced.json()["results"]
    assert (result["outcome"], result["folderId"]) == ("created", "f1")
    assert members(profile(server, token, "f1", "browserId", "b1")) == {
        "browserId:b1",
        "ext:default:u1",
    }

    visited = client.visitor(
        folder="f1",
        browser="b1",
        profile_values=VALUES,
        network="net-1",
        user_id="u1",
        headers=auth(token),
    )
    assert visited.status_code == 200, visited.text
    assert visited.json()["results"][0]["profile_id"] == result["profile_id"]
    assert profile(server, token, "f1", "ext:default", "u1")["attributes"] == VALUES

    page = client.page(
        "sport.no",
        folder="f1",
        browser="b1",
        keywords=["sport", "tennis"],
        categories=["IAB_24_44"],
        headers=auth(token),
    )
    assert page.status_code == 404, page.text
    error = page.json()["error"]
    assert error["code"] == "not_found" and "does not record page views" in error["message"]
    assert "/sync" in error["message"] and "/visitor" in error["message"]


def test_the_clients_folder_may_come_as_a_query_parameter(start):
    server = start()
    client = data_server(server)
    synced = client.sync(browser="b2", user_id="u2", extra_params={"folderId": "f2"})
    assert synced.status_code == 200, synced.text
    visited = client.visitor(browser="b3", profile_values={"a": 1}, extra_params={"folderId": "f2"})
    assert visited.status_code == 200, visited.text
    assert members(profile(server, None, "f2", "ext:default", "u2")) == {
        "browserId:b2",
        "ext:default:u2",
    }
    assert profile(server, None, "f2", "browserId", "b3")["attributes"] == {"a": 1}


def test_a_bad_profile_value_is_a_400_naming_it_and_nothing_is_written(start):
    server = start()
    client = data_server(server)
    response = client.visitor(folder="f1", browser="b1", profile_values={"x": ""}, user_id="u1")
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert list(error["details"]["items"]["0"]) == ["profileValues.x"]
    assert server.request("GET", "/v1/f1/identifiers/browserId/b1")[0] == 404


def test_with_an_admin_token_the_client_without_it_is_refused(start):
    server = start(IDGRAPH_ADMIN_TOKEN=TOKEN)
    client = data_server(server)
    refused = client.sync(folder="f1", browser="b1", user_id="u1")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    status, _ = server.request("GET", "/v1/f1/identifiers/browserId/b1", token=TOKEN)
    assert status == 404
