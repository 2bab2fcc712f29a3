"""The lineage viewer's page: public (it carries no data), locked down by its headers, and
made only of same-origin files. The page never touches the store, so it runs on SQLite only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.api import create_app
from app.settings import Settings

TOKEN = "s3cret-admin-token"
PAGE = "/v1/shop/profiles/7/view"
MODULES = Path(__file__).parents[2] / "app/api/static/viewer"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@pytest.fixture
def secured(tmp_path) -> Iterator:
    app = create_app(Settings(store=f"sqlite:///{tmp_path / 'viewer.db'}", admin_token=TOKEN))
    yield app.test_client()
    app.extensions["idgraph.service"].store.close()


def test_page_needs_no_token_even_when_one_is_set(secured):
    response = secured.get(PAGE)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert 'data-ns="shop"' in response.text and 'data-profile-id="7"' in response.text


def test_page_forbids_everything_not_same_origin(secured):
    headers = secured.get(PAGE).headers
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_page_has_no_inline_script_or_style(secured):
    html = secured.get(PAGE).text
    scripts = re.findall(r"<script\b[^>]*>", html, re.IGNORECASE)
    assert scripts and all(" src=" in tag for tag in scripts)
    assert not re.search(r"<style\b", html, re.IGNORECASE)
    assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE)
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE)  # no onclick= and the like
    assert "//" not in " ".join(re.findall(r'(?:src|href)="([^"]*)"', html))  # no other origin


def test_page_files_are_served_without_a_token(secured):
    html = secured.get(PAGE).text
    paths = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert {path.rsplit("/", 1)[-1] for path in paths} == {
        "viewer.css",
        "main.js",
        "cytoscape-3.34.4.min.js",
    }
    # main.js is a module: what it imports comes from beside it, and only from there
    imported = set()
    for module in MODULES.glob("*.js"):
        imported |= set(
            re.findall(r'from "\./([a-z]+\.js)"|import\("\./([a-z]+\.js)"\)', module.read_text())
        )
    imported = {name for pair in imported for name in pair if name}
    assert imported and imported <= {module.name for module in MODULES.glob("*.js")}
    paths += [f"/static/viewer/{name}" for name in sorted(imported)]
    for path in paths:
        response = secured.get(path)
        assert response.status_code == 200, path
        expected = "text/css" if path.endswith(".css") else "javascript"
        assert expected in response.mimetype, (path, response.mimetype)
        response.close()
    assert secured.get("/static/vendor/cytoscape.LICENSE").status_code == 200


def test_the_data_behind_the_page_still_needs_the_token(secured, error_of):
    error_of(secured.get("/v1/shop/profiles/7"), 401, "unauthorized")


@pytest.mark.parametrize("profile_id", ["seven", "-1", "7.0", "1" * 19])
def test_a_bad_profile_id_is_a_400(secured, error_of, profile_id):
    response = secured.get(f"/v1/shop/profiles/{profile_id}/view")
    error = error_of(response, 400, "invalid_input")
    assert "profile_id" in error["details"]["fields"]


def test_a_bad_namespace_is_a_400(secured, error_of):
    error = error_of(secured.get("/v1/sh%20op/profiles/7/view"), 400, "invalid_input")
    assert "ns" in error["details"]["fields"]


def test_page_stays_out_of_the_api_document(secured):
    assert not any(path.endswith("/view") for path in secured.get("/openapi.json").json["paths"])
