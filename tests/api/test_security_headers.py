"""Every answer tells a browser not to sniff, frame or refer; JSON answers (errors included)
also forbid any content, so an answer opened as a page runs nothing."""

from __future__ import annotations

import pytest

NOT_A_PAGE = "default-src 'none'; frame-ancestors 'none'"


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


def test_swagger_ui_keeps_working_without_a_policy_of_ours(client):
    response = client.get("/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "Content-Security-Policy" not in response.headers
    assert response.headers["X-Frame-Options"] == "DENY"
