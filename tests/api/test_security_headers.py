"""Every answer tells a browser not to sniff, frame or refer; JSON answers (errors included)
also forbid any content, so an answer opened as a page runs nothing; Swagger UI's page may run
its own files and its one inline script only. Nothing but the static files may be stored by a
browser or a proxy: answers carry personal data."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from apitools import Api

NOT_A_PAGE = "default-src 'none'; frame-ancestors 'none'"
TOKEN = "s3cret-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
ADNUNTIUS = {
    "folderId": "shop",
    "browserId": "b1",
    "externalSystemType": "crm",
    "externalSystemUserId": "u1",
}
OMNIDESK = {
    "brand_id": 7,
    "primary_id": "c-9",
    "channel_id": "email",
    "customer_link_channel": "eve@x.io",
}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/shop/conflicts", 200),
        ("/v1/shop/profiles/nope", 400),
        ("/v1/shop/profiles/404", 404),
        ("/healthz", 200),
        ("/openapi.json", 200),
    ],
)
def test_json_answers_forbid_everything(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["Content-Security-Policy"] == NOT_A_PAGE
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_an_unauthenticated_answer_carries_them_too(make_app):
    response = make_app(admin_token="t").test_client().get("/v1/shop/conflicts")
    assert response.status_code == 401
    assert response.headers["Content-Security-Policy"] == NOT_A_PAGE


def test_swagger_ui_runs_its_own_files_and_its_one_inline_script_only(client):
    response = client.get("/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    [inline] = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert directives["script-src"] == f"'self' 'sha256-{digest}'"
    assert directives["default-src"] == "'none'" and directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"  # the OpenAPI document and "Try it out"
    assert directives["frame-ancestors"] == "'none'" and directives["base-uri"] == "'none'"
    assert "unsafe" not in policy
    files = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert files and all(url.startswith("/docs/assets/") for url in files)
    assert all(client.get(url).status_code == 200 for url in files)
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.fixture
def secured(make_app):
    return make_app(admin_token=TOKEN)


def rule_path(rule: str) -> str:
    """A path of a route, each parameter filled with something it accepts."""
    filled = {"ns": "shop", "type": "email", "kind": "email", "path:kind": "profile"}
    return re.sub(r"<([^>]+)>", lambda m: filled.get(m[1].split(":")[-1], "1"), rule)


def test_every_answer_but_static_files_may_not_be_stored(secured):
    client = secured.test_client()
    answers = []
    for rule in secured.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = rule_path(rule.rule)
            for headers in (ADMIN, {}):  # an answer, and a 401 (or the public route's answer)
                response = client.open(path, method=method, json={}, headers=headers)
                answers.append((rule.endpoint, method, path, response))
    static = {"static", "docs_assets"}
    stored = [
        (method, path, response.status_code, response.headers.get("Cache-Control"))
        for endpoint, method, path, response in answers
        if endpoint not in static and response.headers.get("Cache-Control") != "no-store"
    ]
    assert not stored
    assert {endpoint for endpoint, *_ in answers} >= {"synerise.Login", "omnidesk.Customer"}
    for path in ("/static/viewer/main.js", "/docs/assets/swagger-ui-bundle.js"):  # as they were
        response = client.get(path)
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")


def test_answers_with_personal_data_of_every_face_may_not_be_stored(secured):
    api = Api(secured.test_client(), ADMIN)
    [(_, pid)] = api.outcomes("shop", ("email:ann@x.io", "customId:c1"))
    client = secured.test_client()
    synerise = {**ADMIN, "X-Idgraph-Namespace": "shop"}
    answers = {
        "native profile": api.get(f"/v1/shop/profiles/{pid}"),
        "native identifier": api.profile("shop", "email:ann@x.io"),
        "lineage": api.get(f"/v1/shop/profiles/{pid}/lineage"),
        "synerise client": client.get("/v4/clients/by-email/ann@x.io", headers=synerise),
        "adnuntius sync": client.post("/sync", json=ADNUNTIUS, headers=ADMIN),
        "omnidesk customer": client.post("/api/v2/customer", json=OMNIDESK, headers=ADMIN),
        "viewer page": api.get(f"/v1/shop/profiles/{pid}/view"),
        "an error quoting a value": client.get(
            "/v1/shop/identifiers/email/bob@x.io", headers=ADMIN
        ),
    }
    assert {name: r.status_code for name, r in answers.items()} == {
        **dict.fromkeys(answers, 200),
        "an error quoting a value": 404,
    }
    assert {name: r.headers.get("Cache-Control") for name, r in answers.items()} == dict.fromkeys(
        answers, "no-store"
    )
