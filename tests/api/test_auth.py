"""With IDGRAPH_ADMIN_TOKEN set every data route needs the bearer token; without it, local
open mode answers loopback clients only."""

from __future__ import annotations

import pytest
from apitools import Api

TOKEN = "s3cret-admin-token"
ROUTES = [
    ("post", "/v1/shop/links"),
    ("get", "/v1/shop/conflicts"),
    ("get", "/v1/shop/identifiers/email/a@x.io"),
    ("get", "/v1/shop/profiles/1"),
    ("patch", "/v1/shop/profiles/1/attributes"),
    ("get", "/v1/shop/me"),
]


@pytest.fixture
def secured(make_app):
    return make_app(admin_token=TOKEN).test_client()


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "header", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", TOKEN], ids=str
)
def test_every_route_needs_the_token(secured, error_of, method, path, header):
    headers = {"Authorization": header} if header else {}
    response = getattr(secured, method)(path, json={}, headers=headers)
    error_of(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_token_opens_every_route(secured):
    api = Api(secured, {"Authorization": f"Bearer {TOKEN}"})
    [(outcome, pid)] = api.outcomes("shop", ("email:a@x.io", "customId:c1"))
    assert outcome == "created"
    assert api.get(f"/v1/shop/profiles/{pid}").status_code == 200


def test_health_and_api_documents_need_no_token(secured):
    for path in ("/healthz", "/openapi.json", "/docs", "/docs/assets/swagger-ui.css"):
        assert secured.get(path).status_code == 200, path


def test_open_mode_answers_loopback_clients(client):
    assert client.get("/v1/shop/conflicts").status_code == 200
    ipv6 = client.get("/v1/shop/conflicts", environ_base={"REMOTE_ADDR": "::1"})
    assert ipv6.status_code == 200


def test_open_mode_refuses_other_clients(client, error_of):
    response = client.get("/v1/shop/conflicts", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    error = error_of(response, 401, "unauthorized")
    assert "loopback" in error["message"]
