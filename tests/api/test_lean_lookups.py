"""The lean path of lookups (app/api/lookups.py) answers what the app answers, byte for byte,
and hands the app every request it is not sure of.

Each request goes once through the app as served (the lean path first) and once straight to
the app behind it; the two answers must be equal: status, headers (the request id apart,
unless the client sent one) and body. Which requests the lean path handed over is counted, so
that a lean path that handed over everything would fail too.
"""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

from app.api.auth import FAILED_CREDENTIALS
from app.api.lookups import LeanLookups

TOKEN = "s3cret-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
ANN = "/v1/shop/identifiers/email/ann@x.io"


class Counting:
    """The app behind the lean path, counting what it is handed."""

    def __init__(self, full: Any) -> None:
        self.full, self.handed = full, 0

    def __call__(self, environ: dict, start_response: Any) -> Any:
        self.handed += 1
        return self.full(environ, start_response)


def served(app, path: str, **request: Any) -> tuple[TestResponse, bool]:
    """The answer of the app as served, and whether the lean path handed the request over;
    checked against the answer of the app behind it to the same request."""
    lean: LeanLookups = app.wsgi_app
    counting = Counting(lean.full)
    lean.full = counting
    try:
        answer = Client(app).open(path, **request)
    finally:
        lean.full = counting.full
    behind = Client(lean.full).open(path, **request)
    assert comparable(answer, request) == comparable(behind, request), path
    return answer, counting.handed == 1


def comparable(response: TestResponse, request: dict) -> tuple:
    sent_id = "X-Request-Id" in request.get("headers", {})
    headers = [(k, v) for k, v in response.headers if k != "X-Request-Id" or sent_id]
    assert "X-Request-Id" in response.headers
    return response.status, headers, response.get_data()


@pytest.fixture
def store_settings(tmp_path) -> dict[str, str]:
    """SQLite only: the lean path is the same code on either store, the contract suite holds
    ``profile_view_of`` to one answer on both, and the API suite's lookups on Neo4j go through
    the lean path too."""
    return {"store": f"sqlite:///{tmp_path / 'api.db'}"}


def link(app, *items: list[tuple[str, str]], headers: dict = ADMIN, **attributes: Any) -> None:
    """One batch, an item per list of (type, value)."""
    body = {
        "items": [
            {"identifiers": [{"type": t, "value": v} for t, v in item], "attributes": attributes}
            for item in items
        ]
    }
    answer = app.test_client().post("/v1/shop/links", json=body, headers=headers)
    assert answer.status_code == 200, answer.get_data()


def key_for(app, namespace: str, rights: str) -> dict[str, str]:
    _, text = app.extensions["idgraph.keys"].create(namespace, rights.split(","), None)
    return {"Authorization": f"Bearer {text}"}


@pytest.fixture
def secured(make_app):
    app = make_app(admin_token=TOKEN, cors_origins=("https://shop.example",))
    link(
        app, [("email", "Ann@X.io"), ("customId", "c1"), ("phone", "+48 600 100 200")], city="Łódź"
    )
    link(app, [("email", "ann@x.io"), ("uuid", "00000000-0000-4000-8000-000000000001")])
    link(app, [("ext:crm", "eu:a/b ü"), ("customId", "c2")])
    return app


def test_it_answers_lookups_of_the_admin_token_as_the_app_would(secured):
    answer, handed = served(secured, ANN, headers=ADMIN)
    assert answer.status_code == 200 and not handed
    assert answer.json["attributes"] == {"city": "Łódź"} and len(answer.json["identifiers"]) == 4
    odd = "/v1/shop/identifiers/ext:crm/eu:a%2Fb%20%C3%BC"  # a slash, a space, a non-ASCII
    answer, handed = served(secured, odd, headers=ADMIN)
    assert answer.status_code == 200 and not handed
    answer, handed = served(secured, ANN, headers={**ADMIN, "X-Request-Id": "trace-7"})
    assert answer.headers["X-Request-Id"] == "trace-7" and not handed


def test_an_api_key_is_answered_once_this_process_has_verified_it(secured):
    reader = key_for(secured, "shop", "read")
    answer, handed = served(secured, ANN, headers=reader)  # its first use costs a scrypt
    assert answer.status_code == 200 and handed
    answer, handed = served(secured, ANN, headers=reader)
    assert answer.status_code == 200 and not handed


@pytest.mark.parametrize(
    "path",
    [
        "/v1/shop/identifiers/email/bob@x.io",
        "/v1/shop/identifiers/shoe/42",  # a type no rule names: no identifier has it
        f"/v1/shop/identifiers/ext:crm/{'x' * 300}",  # the message cuts what it echoes
    ],
)
def test_an_identifier_not_found_is_answered_as_the_app_answers_it(secured, path):
    reader = key_for(secured, "shop", "read")
    served(secured, ANN, headers=reader)
    for headers in (ADMIN, reader, {**ADMIN, "X-Request-Id": "trace-8"}):
        answer, handed = served(secured, path, headers=headers)
        assert answer.status_code == 404 and not handed
        assert answer.json["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "request_", "status"),
    [
        pytest.param(ANN, {}, 401, id="no credentials"),
        pytest.param(ANN, {"headers": {"Authorization": "Bearer nope"}}, 401, id="a wrong token"),
        pytest.param(ANN, {"headers": {"Authorization": f"Basic {TOKEN}"}}, 401, id="not a bearer"),
        pytest.param("/v1/shop/identifiers/email/nope", {"headers": ADMIN}, 400, id="not an email"),
        pytest.param(
            "/v1/sh%20op/identifiers/email/ann@x.io", {"headers": ADMIN}, 400, id="bad namespace"
        ),
        pytest.param("/v1/shop/profiles/1", {"headers": ADMIN}, 200, id="another route"),
        pytest.param(ANN, {"method": "HEAD", "headers": ADMIN}, 200, id="HEAD"),
        pytest.param(ANN + "?pretty=1", {"headers": ADMIN}, 400, id="a query"),  # unread
        pytest.param(ANN, {"headers": ADMIN, "data": b'{"unread": 1}'}, 400, id="a body"),
        pytest.param(
            ANN, {"headers": {**ADMIN, "Origin": "https://shop.example"}}, 200, id="a browser"
        ),
        pytest.param(
            ANN, {"headers": {**ADMIN, "Origin": "https://evil.example"}}, 200, id="a stranger"
        ),
        pytest.param(
            "/v1/shop/identifiers//email/ann@x.io", {"headers": ADMIN}, 308, id="double slash"
        ),
        pytest.param(ANN + "/", {"headers": ADMIN}, 400, id="trailing slash"),
    ],
)
def test_what_it_is_not_sure_of_goes_to_the_app(secured, path, request_, status):
    answer, handed = served(secured, path, **request_)
    assert answer.status_code == status and handed


@pytest.mark.parametrize(
    ("namespace", "rights", "status"),
    [("other", "read", 404), ("shop", "write", 403), ("shop", "collect", 403)],
)
def test_a_key_without_the_right_is_refused_by_the_app(secured, namespace, rights, status):
    key = key_for(secured, namespace, rights)
    served(secured, ANN, headers=key)  # verified: the next one needs no scrypt
    answer, handed = served(secured, ANN, headers=key)
    assert answer.status_code == status and handed


def test_a_revoked_key_stops_at_once(secured):
    keys = secured.extensions["idgraph.keys"]
    created, text = keys.create("shop", ["read"], None)
    reader = {"Authorization": f"Bearer {text}"}
    served(secured, ANN, headers=reader)
    keys.revoke(created.id)
    answer, handed = served(secured, ANN, headers=reader)
    assert answer.status_code == 401 and handed


def test_a_lookup_costs_a_key_one_token_of_its_rate_whichever_path(make_app):
    app = make_app(admin_token=TOKEN, rate_limit=0.01, rate_burst=4)
    link(app, [("email", "ann@x.io"), ("customId", "c1")])
    reader = key_for(app, "shop", "read")
    client = Client(app)
    statuses = [
        client.get(path, headers=reader).status_code
        for path in (ANN, ANN, "/v1/shop/identifiers/email/nope", ANN, ANN)
    ]
    # verified by the app, answered lean, handed over (400), lean, then over the rate
    assert statuses == [200, 200, 400, 200, 429]


def test_local_open_mode_answers_loopback_clients_only(make_app):
    app = make_app()
    link(app, [("email", "ann@x.io"), ("customId", "c1")], headers={})
    answer, handed = served(app, ANN, environ_base={"REMOTE_ADDR": "::1"})
    assert answer.status_code == 200 and not handed
    answer, handed = served(app, ANN, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert answer.status_code == 401 and handed


def wrong_credentials(app, count: int, headers: dict | None = None) -> None:
    """``count`` lookups with a wrong token, each answered 401 and counted by the throttle."""
    client = Client(app)
    for n in range(count):
        answer = client.get(ANN, headers={**(headers or {}), "Authorization": f"Bearer guess-{n}"})
        assert answer.status_code == 401


def test_the_admin_token_waits_like_any_guess_once_an_address_got_credentials_wrong(secured):
    reader = key_for(secured, "shop", "read")
    served(secured, ANN, headers=reader)  # verified before the guessing starts
    wrong_credentials(secured, FAILED_CREDENTIALS)
    answer, handed = served(secured, ANN, headers=ADMIN)
    assert answer.status_code == 429 and handed  # as the app answers: no guess of it is checked
    answer, handed = served(secured, ANN, headers=reader)
    assert answer.status_code == 200 and not handed  # a key shown right before goes on


def test_behind_a_proxy_the_address_that_guessed_waits_and_no_other(make_app):
    app = make_app(admin_token=TOKEN, proxies=1)
    link(app, [("email", "ann@x.io"), ("customId", "c1")])
    guesser, other = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "198.51.100.2"}
    wrong_credentials(app, FAILED_CREDENTIALS, headers=guesser)
    answer, handed = served(app, ANN, headers={**ADMIN, **guesser})
    assert answer.status_code == 429 and handed
    answer, handed = served(app, ANN, headers={**ADMIN, **other})
    assert answer.status_code == 200 and not handed
