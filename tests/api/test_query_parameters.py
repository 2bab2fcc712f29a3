"""A query parameter idgraph's own routes (``/v1/...``) do not read is a 400 naming it, before
the view runs, and nothing is done: ``DELETE .../profiles/1?dry_run=true`` has no dry run to
take, and ``?dryrun=true`` is a typo, not a dry run. Every parameter a route documents in
/openapi.json is read, and so is ``?key=`` (a collect key, read by app/api/auth.py). The
compatible faces ignore what they do not read, as their published clients send their own
(cache busters)."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
import pytest
from apitools import Api, identifiers
from flask.views import MethodView
from werkzeug.test import Client

from app.api.blueprint import Blueprint
from app.api.lookups import LeanLookups

NS = "shop"
TOKEN = "s3cret-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
ANN = f"/v1/{NS}/identifiers/email/ann@x.io"
LINK = {"items": [{"identifiers": identifiers("email:ann@x.io", "customId:c1")}]}
UNREAD = "cachebust"
# a value for each path parameter of the OpenAPI document: the refusal comes before any view
PATH_VALUES = {"ns": NS, "type": "email", "value": "ann@x.io", "kind": "email"}


@pytest.fixture
def store_settings(tmp_path) -> dict[str, str]:
    """SQLite only: the refusal is in the blueprint, before any store is asked."""
    return {"store": f"sqlite:///{tmp_path / 'api.db'}"}


def refusal(*reads: str, name: str = UNREAD) -> str:
    hint = f" (it reads {', '.join(sorted(reads))})" if reads else ""
    return f"this route reads no query parameter {name}{hint}: nothing was done"


def operations(app) -> list[tuple[str, str, list[str]]]:
    """(method, path, documented query parameters) of every operation /openapi.json lists."""
    spec = app.test_client().get("/openapi.json").json
    found = []
    for template, item in spec["paths"].items():
        path = template.format_map(
            {name: PATH_VALUES.get(name, "1") for name in re.findall(r"{(\w+)}", template)}
        )
        for method, operation in item.items():
            if method == "parameters":
                continue
            documented = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            found.append((method.upper(), path, documented))
    return found


def face_operations(app) -> list[tuple[str, str, list[str]]]:
    """The operations of the compatible faces (all but ``/v1/``), every face among them."""
    faces = [op for op in operations(app) if not op[1].startswith("/v1/")]
    assert {"/sync", "/crm/v1/list", "/api/v2/customer"} <= {path for _, path, _ in faces}
    return faces


def native(app) -> list[tuple[str, str, list[str]]]:
    found = [op for op in operations(app) if op[1].startswith("/v1/")]
    assert ("POST", f"/v1/{NS}/links", ["dry_run"]) in found  # the document was read
    return found


def fields_of(response) -> dict[str, list[str]]:
    assert response.status_code == 400, (response.status_code, response.get_data()[:300])
    return response.json["error"]["details"]["fields"]


def test_a_delete_with_dry_run_is_refused_and_erases_nothing(api, error_of):
    [(_, pid)] = api.outcomes(NS, ("email:ann@x.io", "customId:c1"))
    response = api.client.delete(f"/v1/{NS}/profiles/{pid}?dry_run=true")
    error = error_of(response, 400, "invalid_input")
    assert error["details"] == {"fields": {"dry_run": [refusal(name="dry_run")]}}
    assert error["message"] == f"dry_run: {refusal(name='dry_run')}"
    assert api.get(f"/v1/{NS}/profiles/{pid}").status_code == 200
    assert api.get(f"/v1/{NS}/purges").json["purges"] == []


def test_a_misspelt_dry_run_is_refused_and_writes_nothing(api, error_of):
    response = api.client.post(f"/v1/{NS}/links?dryrun=true", json=LINK)
    error = error_of(response, 400, "invalid_input")
    assert error["details"] == {"fields": {"dryrun": [refusal("dry_run", name="dryrun")]}}
    assert api.profile(NS, "email:ann@x.io").status_code == 404
    dry = api.client.post(f"/v1/{NS}/links?dry_run=true", json=LINK)  # spelt right
    assert dry.status_code == 200 and dry.json["dry_run"] is True


def test_every_unread_parameter_is_named_at_once(api):
    response = api.get(f"/v1/{NS}/conflicts?limit=5&pretty=1&sort=asc&pretty=2")
    reads = ("cursor", "limit", "profile", "since")
    assert fields_of(response) == {
        "pretty": [refusal(*reads, name="pretty")],
        "sort": [refusal(*reads, name="sort")],
    }
    assert (
        response.json["error"]["message"]
        == f"pretty: {refusal(*reads, name='pretty')} (and 1 more)"
    )


def test_every_native_route_refuses_a_query_parameter_it_does_not_document(app):
    client = app.test_client()
    answers = {
        (method, path): fields_of(client.open(f"{path}?{UNREAD}=1", method=method))
        for method, path, _ in native(app)
    }
    expected = {(m, p): {UNREAD: [refusal(*documented)]} for m, p, documented in native(app)}
    assert answers == expected


def test_every_query_parameter_a_native_route_documents_is_read(app):
    """Each documented parameter, sent beside an unread one: only the unread one is named."""
    client = app.test_client()
    sent = [(m, p, name) for m, p, documented in native(app) for name in documented]
    assert len(sent) >= 15
    named = {
        (method, path, name): set(
            fields_of(client.open(f"{path}?{name}=1&{UNREAD}=1", method=method))
        )
        for method, path, name in sent
    }
    assert named == {case: {UNREAD} for case in sent}


def test_a_collect_key_still_comes_as_key(make_app):
    app = make_app(admin_token=TOKEN)
    _, key = app.extensions["idgraph.keys"].create(NS, ["collect"], "page")
    client = app.test_client()
    refused = client.post(f"/v1/{NS}/links?key={key}&{UNREAD}=1", json=LINK)
    assert fields_of(refused) == {UNREAD: [refusal("dry_run")]}
    assert Api(client, ADMIN).profile(NS, "email:ann@x.io").status_code == 404
    sent = client.post(f"/v1/{NS}/links?key={key}", json=LINK)
    assert sent.status_code == 200, sent.json
    assert [r["outcome"] for r in sent.json["results"]] == ["created"]


def test_a_lookup_with_a_query_goes_to_the_app_and_is_refused_there(make_app):
    """The lean path (app/api/lookups.py) answers a lookup without a query itself and hands
    one with a query to the app, whose answer is the one served."""
    app = make_app(admin_token=TOKEN)
    Api(app.test_client(), ADMIN).outcomes(NS, ("email:ann@x.io", "customId:c1"))
    lean: LeanLookups = app.wsgi_app
    for path in (ANN, f"{ANN}?"):
        assert Client(app).get(path, headers=ADMIN).status_code == 200
    path = f"{ANN}?as_of=2026-01-01T00:00:00Z"
    served = Client(app).get(path, headers=ADMIN)
    behind = Client(lean.full).get(path, headers=ADMIN)
    assert fields_of(served) == {"as_of": [refusal(name="as_of")]}
    assert (served.status, served.get_data()) == (behind.status, behind.get_data())


def test_the_compatible_faces_ignore_a_cache_buster_the_native_api_refuses(app, api):
    assert fields_of(api.client.post(f"/v1/{NS}/links?_=17", json=LINK)) == {
        "_": [refusal("dry_run", name="_")]
    }
    client = app.test_client()
    for method, path, _ in face_operations(app):
        answer = client.open(f"{path}?_=17", method=method)
        assert b"reads no query parameter" not in answer.get_data(), (method, path)
    sync = client.post(
        "/sync?_=17", json={"folderId": NS, "browserId": "b1", "externalSystemUserId": "u1"}
    )
    assert sync.status_code == 200, sync.json


class WindowArgsSchema(ma.Schema):
    start = ma.fields.String(data_key="from")
    shown = ma.fields.String(dump_only=True)


def window(make_app, *, strict_query: bool) -> Client:
    """An app with one more route, ``GET /window?from=``, on a Blueprint of ours."""
    app = make_app()
    blp = Blueprint("window", __name__, url_prefix="/window", strict_query=strict_query)

    @blp.route("")
    class Window(MethodView):
        @blp.arguments(WindowArgsSchema, location="query")
        @blp.response(200)
        def get(self, args: dict) -> Any:
            return {"from": args.get("start")}

    app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(blp)
    return app.test_client()


def test_a_query_field_is_read_by_the_name_it_is_sent_as(make_app):
    client = window(make_app, strict_query=True)
    assert client.get("/window?from=x").json == {"from": "x"}
    for name in ("start", "shown"):  # its attribute name; a field never loaded
        assert fields_of(client.get(f"/window?{name}=x")) == {name: [refusal("from", name=name)]}


def test_a_blueprint_ignores_what_it_does_not_read_unless_it_opts_in(make_app):
    lenient = window(make_app, strict_query=False)
    assert lenient.get(f"/window?start=x&{UNREAD}=1").json == {"from": None}
