"""A query parameter sent more than once to idgraph's own routes (``/v1/...``) is a 400 naming
it, before the view runs, and nothing is done: ``?dry_run=false&dry_run=true`` was read as
its first value, and which one a client meant is not for idgraph to guess. A parameter a
route reads as a list (a ``fields.List`` in its query schema: none on ``/v1`` today) may
repeat. The compatible faces stay lenient, as their clients add parameters of their own."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import pytest
from apitools import Api, identifiers
from flask.views import MethodView
from synerise_client import Synerise
from test_query_parameters import face_operations, operations

from app.api.blueprint import Blueprint

NS = "shop"
TOKEN = "s3cret-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
LINK = {"items": [{"identifiers": identifiers("email:ann@x.io", "customId:c1")}]}


@pytest.fixture
def store_settings(tmp_path) -> dict[str, str]:
    """SQLite only: the refusal is in the blueprint, before any store is asked."""
    return {"store": f"sqlite:///{tmp_path / 'api.db'}"}


def repeated(count: int = 2) -> str:
    return (
        f"sent {count} times: this route reads one value, and which one is meant is unclear; "
        "nothing was done"
    )


def fields_of(response) -> dict[str, list[str]]:
    assert response.status_code == 400, (response.status_code, response.get_data()[:300])
    return response.json["error"]["details"]["fields"]


def test_a_dry_run_sent_twice_is_refused_and_writes_nothing(api, error_of):
    for query in ("dry_run=false&dry_run=true", "dry_run=true&dry_run=false"):
        response = api.client.post(f"/v1/{NS}/links?{query}", json=LINK)
        error = error_of(response, 400, "invalid_input")
        assert error["details"] == {"fields": {"dry_run": [repeated()]}}
        assert error["message"] == f"dry_run: {repeated()}"
    assert api.profile(NS, "email:ann@x.io").status_code == 404


def test_a_limit_sent_twice_is_refused_whatever_the_values(api):
    api.outcomes(NS, ("email:ann@x.io", "customId:c1"))
    for route in ("conflicts", "purges", "bans"):
        for query in ("limit=1&limit=1000", "limit=5&limit=5", "limit=1&limit=2&limit=3"):
            count = query.count("limit=")
            answer = api.get(f"/v1/{NS}/{route}?{query}")
            assert fields_of(answer) == {"limit": [repeated(count)]}, (route, query)
        assert api.get(f"/v1/{NS}/{route}?limit=1").status_code == 200  # sent once: read


def test_a_delete_with_dry_run_twice_erases_nothing(api, error_of):
    """The delete reads no dry_run at all: that is what the 400 says, once."""
    [(_, pid)] = api.outcomes(NS, ("email:ann@x.io", "customId:c1"))
    response = api.client.delete(f"/v1/{NS}/profiles/{pid}?dry_run=false&dry_run=true")
    [problem] = error_of(response, 400, "invalid_input")["details"]["fields"]["dry_run"]
    assert problem.startswith("this route reads no query parameter dry_run")
    assert api.get(f"/v1/{NS}/profiles/{pid}").status_code == 200
    assert api.get(f"/v1/{NS}/purges").json["purges"] == []


def test_every_query_parameter_a_native_route_documents_is_refused_twice(app):
    client = app.test_client()
    sent = [
        (method, path, name)
        for method, path, documented in operations(app)
        if path.startswith("/v1/")
        for name in documented
    ]
    assert len(sent) >= 15  # the document was read
    answers = {
        (method, path, name): fields_of(client.open(f"{path}?{name}=1&{name}=2", method=method))
        for method, path, name in sent
    }
    assert answers == {case: {case[2]: [repeated()]} for case in sent}


def test_repeated_and_unread_parameters_are_named_in_one_answer(api):
    answer = api.get(f"/v1/{NS}/conflicts?cursor=a&pretty=1&cursor=b&limit=3&pretty=2")
    problems = fields_of(answer)
    assert list(problems) == ["cursor", "pretty"]  # in the order they were sent
    assert problems["cursor"] == [repeated()]
    assert problems["pretty"][0].startswith("this route reads no query parameter pretty")
    assert answer.json["error"]["message"] == f"cursor: {repeated()} (and 1 more)"


def test_a_collect_key_sent_twice_is_refused_and_writes_nothing(make_app):
    app = make_app(admin_token=TOKEN)
    _, key = app.extensions["idgraph.keys"].create(NS, ["collect"], "page")
    client = app.test_client()
    refused = client.post(f"/v1/{NS}/links?key={key}&key={key}", json=LINK)
    assert fields_of(refused) == {"key": [repeated()]}
    assert Api(client, ADMIN).profile(NS, "email:ann@x.io").status_code == 404
    assert client.post(f"/v1/{NS}/links?key={key}", json=LINK).status_code == 200


def test_a_lookup_with_a_repeated_parameter_is_refused(api):
    api.outcomes(NS, ("email:ann@x.io", "customId:c1"))
    query = "as_of=2020-01-01T00:00:00Z&as_of=2030-01-01T00:00:00Z"
    assert fields_of(api.get(f"/v1/{NS}/profiles/1?{query}")) == {"as_of": [repeated()]}


class TagsArgsSchema(ma.Schema):
    tag = ma.fields.List(ma.fields.String(), load_default=list)
    limit = ma.fields.Integer(load_default=10)


def tags_client(make_app):
    """An app with one more strict route, ``GET /tags?tag=a&tag=b``, reading a list."""
    app = make_app()
    blp = Blueprint("tags", __name__, url_prefix="/tags", strict_query=True)

    @blp.route("")
    class Tags(MethodView):
        @blp.arguments(TagsArgsSchema, location="query")
        @blp.response(200)
        def get(self, args: dict) -> Any:
            return args

    app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(blp)
    return app.test_client()


def test_a_parameter_read_as_a_list_may_repeat(make_app):
    client = tags_client(make_app)
    assert client.get("/tags?tag=a&tag=b&limit=3").json == {"tag": ["a", "b"], "limit": 3}
    assert fields_of(client.get("/tags?tag=a&limit=3&limit=4")) == {"limit": [repeated()]}


def test_the_compatible_faces_still_read_a_repeated_parameter_as_before(app, api):
    client = app.test_client()
    for method, path, _ in face_operations(app):
        answer = client.open(f"{path}?_=17&_=18", method=method)
        assert b"this route reads one value" not in answer.get_data(), (method, path)
    sync = client.post(
        "/sync?_=1&_=2", json={"folderId": NS, "browserId": "b1", "externalSystemUserId": "u1"}
    )
    assert sync.status_code == 200, sync.json
    customer = {
        "brand_id": 7,
        "primary_id": "c-1",
        "channel_id": "email",
        "customer_link_channel": "ann@example.com",
    }
    assert client.post("/api/v2/customer?_=1&_=2", json=customer).status_code == 200


def test_synerise_list_still_reads_has_as_a_list_and_a_repeated_limit_as_before(client):
    """``has`` is the one query parameter read as a list (a lenient face): both values count."""
    sy = Synerise(client)
    sy.batch({"customId": "c0", "email": "e0@x.io", "phone": "+48601234567"})
    sy.batch({"customId": "c1", "email": "e1@x.io"})
    both = client.get("/crm/v1/list?has=email&has=phone", headers=sy.headers)
    assert [p["customId"] for p in both.json] == ["c0"]
    first = client.get("/crm/v1/list?has=email&limit=1&limit=1000", headers=sy.headers)
    assert [p["customId"] for p in first.json] == ["c0"]
