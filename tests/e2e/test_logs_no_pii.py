"""No email, phone or identifier value in the logs at the default level: a whole API session
across the dialects against the real server (`idgraph serve`, its stderr in a file), then a
search of everything it logged for every value the session sent."""

from __future__ import annotations

import json
import socket
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_server import Server

pytestmark = pytest.mark.e2e

TOKEN = "adm-Tok3n-NOT-TO-BE-LOGGED"
EMAIL, EMAIL_NORMALIZED = " Zelda.Quist@Example.org ", "zelda.quist@example.org"
EMAIL_2 = "zelda.second@example.org"
PHONE, PHONE_E164 = "+48 601 234 567", "+48601234567"
CUSTOM_ID, CUSTOM_ID_2 = "cust-KX93Q", "cust-LM27P"
UUID_1 = "6a1f0c9e-3b7d-4e2a-9f00-aa11bb22cc33"
UUID_2 = "7b2e1d8f-4c6e-4f3b-8e11-bb22cc33dd44"
BROWSER_1, BROWSER_2, BROWSER_3 = "brw-ZQ7781", "brw-YX5512", "brw-kiosk-QQ90"
FIRST_NAME, CITY, LOYALTY = "Quistopher", "Vladivostok-Nord", "loyalty-PLATINUM-77"
ADN_BROWSER, ADN_USER = "adnbrw-RT5521", "adnuser-RT5522"
SYN_EMAIL, SYN_PHONE, SYN_PHONE_E164 = "Syn.Zed@Example.com", "+48 500 600 700", "+48500600700"
SYN_UUID = "9c3f2e1a-5d7b-4a8c-9d22-cc33dd44ee55"
SYN_IDS = ("syn-CID-9921", "syn-CID-9922", "syn-CID-9923")
OMNI_ID, OMNI_ID_2 = "omni-PK441", "omni-PK442"
OMNI_EMAIL, OMNI_PHONE, OMNI_PHONE_E164 = (
    "omni.zed@example.net",
    "+44 20 7946 0958",
    "+442079460958",
)
OMNI_FACEBOOK, OMNI_TWITTER = "zed.fb.7781", "@zedtw7781"
BAD_EMAIL, BAD_PHONE, GHOST = "bad.zed@@example.org", "+48 12 zed", "ghost.zed@example.org"

SENT = [
    EMAIL.strip(), EMAIL_NORMALIZED, EMAIL_2, PHONE, PHONE_E164, PHONE_E164[1:], "601234567",
    CUSTOM_ID, CUSTOM_ID_2, UUID_1, UUID_2, BROWSER_1, BROWSER_2, BROWSER_3,
    FIRST_NAME, CITY, LOYALTY, ADN_BROWSER, ADN_USER,
    SYN_EMAIL, SYN_PHONE, SYN_PHONE_E164, SYN_UUID, *SYN_IDS,
    OMNI_ID, OMNI_ID_2, OMNI_EMAIL, OMNI_PHONE, OMNI_PHONE_E164, "2079460958",
    OMNI_FACEBOOK, OMNI_TWITTER, BAD_EMAIL, BAD_PHONE, GHOST, TOKEN,
]  # fmt: skip


class Session:
    """Requests with the admin token; each answer's status checked, its request id kept."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.request_ids: list[str] = []

    def __call__(
        self, expected: int, method: str, path: str, body: Any = None, **headers: str
    ) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.server.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        headers.setdefault("Authorization", f"Bearer {TOKEN}")
        for name, value in headers.items():
            request.add_header(name.replace("_", "-"), value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, answer, text = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, answer, text = error.code, error.headers, error.read()
        assert status == expected, (method, path, status, text)
        self.request_ids.append(answer["X-Request-Id"])
        is_json = text and answer.get_content_type() == "application/json"
        return json.loads(text) if is_json else text

    def synerise(self, expected: int, method: str, path: str, body: Any = None) -> Any:
        return self(expected, method, path, body, X_Idgraph_Namespace="syn")


def q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def identifier(type_: str, value: str) -> dict[str, str]:
    return {"type": type_, "value": value}


def one_item(*identifiers: tuple[str, str]) -> dict[str, Any]:
    """A native batch of one item naming these (type, value)."""
    return {"items": [{"identifiers": [identifier(*pair) for pair in identifiers]}]}


@pytest.fixture
def server(tmp_path):
    started = Server(tmp_path, IDGRAPH_ADMIN_TOKEN=TOKEN)
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


def test_a_whole_api_session_leaves_no_value_in_the_logs(server):
    call = Session(server)
    native_session(call)
    adnuntius_session(call)
    synerise_session(call)
    omnidesk_session(call)
    malformed_requests(server)
    server.stop()

    text = server.log.read_text()
    leaked = [value for value in SENT if value.lower() in text.lower()]
    assert leaked == [], f"values in the logs: {leaked}"
    access = [json.loads(line) for line in text.splitlines() if '"idgraph.access"' in line]
    assert {line["request_id"] for line in access} >= set(call.request_ids)
    assert len(set(call.request_ids)) == len(call.request_ids) > 50  # one id each
    assert {line["route"] for line in access} >= {
        "/v1/<ns>/identifiers/<type>/<path:value>",
        "/v4/clients/by-<kind>/<path:value>",
        "/api/v2/customer",
        "/sync",
    }


def native_session(call: Session) -> None:
    ns = "/v1/shop"
    items = [
        {
            "identifiers": [identifier("email", EMAIL), identifier("customId", CUSTOM_ID)],
            "attributes": {"firstName": FIRST_NAME, "loyalty": LOYALTY},
        },
        {"identifiers": [identifier("customId", CUSTOM_ID), identifier("phone", PHONE)]},
        {"identifiers": [identifier("browserId", BROWSER_1), identifier("uuid", UUID_1)]},
        {"identifiers": [identifier("browserId", BROWSER_2), identifier("uuid", UUID_2)]},
    ]
    batch = {"items": items, "request_id": "native-1", "source": "crm-sync"}
    [recognized, *_] = call(200, "POST", f"{ns}/links", batch)["results"]
    call(200, "POST", f"{ns}/links", batch)  # a replay
    call(409, "POST", f"{ns}/links", {**batch, "items": items[:1]})  # request id reused
    merge = one_item(("uuid", UUID_1), ("uuid", UUID_2))
    [merged] = call(200, "POST", f"{ns}/links?dry_run=true", merge)["results"]
    [merged] = call(200, "POST", f"{ns}/links", merge)["results"]
    assert merged["outcome"] == "merged"
    conflict = one_item(("customId", CUSTOM_ID), ("email", EMAIL_2))
    assert call(200, "POST", f"{ns}/links", conflict)["results"][0]["outcome"] == "conflict"
    call(200, "GET", f"{ns}/conflicts")

    pid = recognized["profile_id"]
    call(200, "GET", f"{ns}/identifiers/email/{q(EMAIL.strip())}")
    call(200, "GET", f"{ns}/identifiers/phone/{q(PHONE)}")
    call(200, "GET", f"{ns}/identifiers/phone/{PHONE_E164}")
    call(200, "GET", f"{ns}/identifiers/customId/{CUSTOM_ID}")
    call(200, "GET", f"{ns}/identifiers/uuid/{UUID_2}")
    call(404, "GET", f"{ns}/identifiers/email/{GHOST}")
    call(400, "GET", f"{ns}/identifiers/email/{q(BAD_EMAIL)}")
    call(400, "GET", f"{ns}/identifiers/phone/{q(BAD_PHONE)}")
    call(200, "GET", f"{ns}/profiles/{pid}")
    call(200, "GET", f"{ns}/profiles/{pid}?as_of=2100-01-01T00:00:00Z")
    call(200, "PATCH", f"{ns}/profiles/{pid}/attributes", {"city": CITY})
    call(400, "PATCH", f"{ns}/profiles/{pid}/attributes", {"city": "", "note": CITY})
    call(200, "GET", f"{ns}/explain?a=email:{q(EMAIL_NORMALIZED)}&b=customId:{CUSTOM_ID}")
    call(404, "GET", f"{ns}/explain?a=email:{q(GHOST)}&b=customId:{CUSTOM_ID}")
    lineage = call(200, "GET", f"{ns}/profiles/{merged['profile_id']}/lineage")
    call(200, "GET", f"{ns}/profiles/{merged['profile_id']}/lineage?format=graphml")

    ban = {"a": identifier("browserId", BROWSER_3), "b_type": "email", "reason": "a shop kiosk"}
    ban_id = call(201, "POST", f"{ns}/bans", ban)["id"]
    call(200, "GET", f"{ns}/bans?identifier=browserId:{BROWSER_3}")
    banned = one_item(("browserId", BROWSER_3), ("email", EMAIL_2))
    assert call(200, "POST", f"{ns}/links", banned)["results"][0]["reason"] == "banned"
    call(204, "DELETE", f"{ns}/bans/{ban_id}")

    [merge_record] = lineage["merges"]
    call(200, "POST", f"{ns}/merges/{merge_record['id']}/undo", {"reason": "two people"})
    link_id = next(link["id"] for link in lineage["links"] if link["active"])
    call(200, "POST", f"{ns}/links/{link_id}/end", {"reason": "wrong", "ban": True})
    call(409, "POST", f"{ns}/links/{link_id}/end", {"reason": "again"})

    call(400, "POST", f"{ns}/links", one_item(("email", BAD_EMAIL), ("phone", BAD_PHONE)))
    call(400, "POST", f"/v1/{q(GHOST)}/links", batch)  # a namespace that cannot be one
    call(401, "GET", f"{ns}/identifiers/email/{q(EMAIL_NORMALIZED)}", Authorization="Bearer no")
    call(200, "GET", "/healthz", X_Request_Id=f"rid-{EMAIL_NORMALIZED}")  # not a sane id
    call(200, "DELETE", f"{ns}/profiles/{pid}")
    call(404, "GET", f"{ns}/identifiers/email/{q(EMAIL_NORMALIZED)}")


def adnuntius_session(call: Session) -> None:
    sync = {
        "folderId": "fold1",
        "browserId": ADN_BROWSER,
        "externalSystemType": "crm123",
        "externalSystemUserId": ADN_USER,
    }
    call(200, "POST", "/sync", sync)
    call(200, "POST", "/sync", [sync, {**sync, "browserId": BROWSER_1}])
    call(400, "POST", "/sync", [{**sync, "externalSystemType": ADN_USER + " !"}])


def synerise_session(call: Session) -> None:
    call.synerise(
        202,
        "POST",
        "/v4/clients",
        {"email": SYN_EMAIL, "phone": SYN_PHONE, "customId": SYN_IDS[0], "firstName": FIRST_NAME},
    )
    batch = [{"uuid": SYN_UUID, "email": SYN_EMAIL}, *({"customId": c} for c in SYN_IDS[1:])]
    call.synerise(202, "POST", "/v4/clients/batch", batch)
    client = call.synerise(200, "GET", f"/v4/clients/by-email/{q(SYN_EMAIL)}")
    call.synerise(200, "GET", f"/v4/clients/by-phone/{q(SYN_PHONE_E164)}")
    call.synerise(200, "GET", f"/v4/clients/by-customId/{SYN_IDS[0]}")
    call.synerise(200, "GET", f"/v4/clients/by-uuid/{SYN_UUID}")
    call.synerise(202, "POST", f"/v4/clients/by-email/{q(SYN_EMAIL)}", {"city": CITY})
    call.synerise(404, "GET", f"/v4/clients/by-email/{q(GHOST)}")
    call.synerise(400, "GET", f"/v4/clients/by-phone/{q(BAD_PHONE)}")
    call.synerise(200, "GET", f"/v4/clients/{client['clientId']}")
    merge = "/v4/clients/merge/from/custom-ids/{}/to/custom-id/" + SYN_IDS[0]
    call.synerise(202, "POST", merge.format(",".join(SYN_IDS[1:])))
    call.synerise(404, "POST", merge.format(GHOST))
    call.synerise(200, "GET", "/crm/v1/list?has=email")
    call.synerise(202, "DELETE", f"/v4/clients/{client['clientId']}")


def omnidesk_session(call: Session) -> None:
    create = {
        "brand_id": 7,
        "primary_id": OMNI_ID,
        "channel_id": "email",
        "customer_link_channel": OMNI_EMAIL,
        "firstname": FIRST_NAME,
    }
    call(200, "POST", "/api/v2/customer", create)
    update = {"externalPrimaryID": OMNI_ID, "brandID": "7", "lastname": CITY}
    call(200, "PUT", "/api/v2/customer/updateCustomer", update)
    add = {
        "brand_id": "7",
        "primary_id": OMNI_ID,
        "extra_telephone": OMNI_PHONE,
        "extra_facebook": OMNI_FACEBOOK,
        "extra_twitter": OMNI_TWITTER,
    }
    call(200, "POST", "/api/v2/customer/addchannelonly", add)
    call(409, "POST", "/api/v2/customer", {**create, "primary_id": OMNI_ID_2})  # address taken
    call(400, "POST", "/api/v2/customer", {**create, "customer_link_channel": BAD_EMAIL})
    call(200, "DELETE", "/api/v2/customer/purgedata", {"external_id": OMNI_ID, "brand_id": 7})


def malformed_requests(server: Server) -> None:
    """Requests gunicorn itself refuses, before the app: it would quote their request line."""
    for raw in (
        f"GET /v1/shop/identifiers/email/{EMAIL_NORMALIZED} x HTTP/1.1\r\n\r\n",
        f"GET /v4/clients/by-phone/{SYN_PHONE_E164} HTTP/1.1\r\nBad Header: {GHOST}\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
            connection.sendall(raw.encode())
            assert connection.recv(64).startswith(b"HTTP/1.1 400")


def test_a_500_logs_its_traceback_without_the_request(tmp_path, server):
    call = Session(server)
    batch = one_item(("email", EMAIL), ("uuid", UUID_1))
    call(200, "POST", "/v1/shop/links", {**batch, "request_id": "r-500"})
    # A stored answer that is no longer JSON (no mock: the real file): replaying it fails in
    # a way no handler expects
    with closing(sqlite3.connect(tmp_path / "e2e.db")) as db, db:
        db.execute("UPDATE requests SET response = ? WHERE request_id = 'r-500'", (GHOST,))
    call(500, "POST", "/v1/shop/links", {**batch, "request_id": "r-500"})
    server.stop()

    [error] = logged(server.log, "unhandled error")
    assert error["level"] == "error" and error["request_id"] == call.request_ids[-1]
    assert "Traceback (most recent call last)" in error["exception"]
    assert "json.decoder.JSONDecodeError (message withheld" in error["exception"]
    text = server.log.read_text().lower()
    assert [v for v in (EMAIL_NORMALIZED, UUID_1, GHOST) if v in text] == []


def test_a_store_error_quoting_a_value_is_logged_without_it(tmp_path, server):
    # A real fault in the real file: a new identifier makes SQLite fail with an error that
    # quotes its value ("JSON path error near 'zelda.quist@example.org'")
    with closing(sqlite3.connect(tmp_path / "e2e.db")) as db, db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON identifiers "
            "BEGIN SELECT json_extract('{}', NEW.value); END"
        )
    call = Session(server)
    batch = one_item(("email", EMAIL), ("uuid", UUID_1))
    assert call(503, "POST", "/v1/shop/links", batch)["error"]["code"] == "store_unavailable"
    server.stop()

    [error] = logged(server.log, "store unavailable")
    assert "sqlite3.OperationalError [SQLITE_ERROR]" in error["exception"]
    assert "graph.errors.StoreError (message withheld" in error["exception"]
    assert EMAIL_NORMALIZED not in server.log.read_text().lower()


def logged(log: Path, message: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [line for line in lines if line["message"] == message]
