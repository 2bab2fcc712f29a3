"""Bad input never breaks the service: schemathesis fuzzes every operation of /openapi.json
against the real server (`idgraph serve` on a SQLite store seeded through all four faces) and,
for every answer, checks:

- no 5xx, ever;
- every 4xx is in the one error shape ``{"error": {"code", "message", "details"}}``, but on
  Synerise's routes, which answer Synerise's (app/api/errors.py; schemathesis' own checks hold
  each route to the shape its document names);
- a rejected request (4xx) changes nothing: a digest of every table of the store is the same
  after it as before (but for the conflicts log a 409 ``conflict`` appends to, by design);
- schemathesis' own checks (status codes, content types, headers and bodies as documented,
  schema-invalid input refused), but for those EXCLUDED_CHECKS says why not.

The suite runs 60 examples per operation; ``make fuzz`` many more (``IDGRAPH_FUZZ_EXAMPLES``,
and ``IDGRAPH_FUZZ_COVERAGE=1`` adds schemathesis' coverage phase, the boundary values of
every parameter) and prints the figures benchmarks/README.md records.

The operations are read from the document built in process (the served one is checked to be
the same), so that each is a test of its own: schemathesis' fixture-loaded schema
(``schemathesis.pytest.from_fixture``) does not run on pytest 9.2.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import allow_header_conformance, positive_data_acceptance

from app.api import create_app
from app.settings import Settings
from tests.e2e.test_server import Server

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("IDGRAPH_FUZZ_EXAMPLES", "60"))
COVERAGE = os.environ.get("IDGRAPH_FUZZ_COVERAGE", "") == "1"
TOKEN = "fuzz-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

# Path and query values the seeded store holds, so that the fuzzer reaches past "not found"
# into the code that reads, ends, undoes and deletes; each parameter gets one of these or a
# generated value.
KNOWN: dict[str, list[str]] = {
    "ns": ["shop", "7"],
    "profile_id": ["1", "2", "3"],
    "link_id": ["1", "2", "3"],
    "merge_id": ["1"],
    "ban_id": ["1"],
    "client_id": ["1", "2", "3"],
    "type": ["email", "browserId"],
    "value": ["ann@example.com", "b-1", "C-1"],
    "kind": ["email", "uuid", "customId"],
    "sources": ["C-1,C-2", "C-2"],
    "target": ["C-3"],
    "a": ["email:ann@example.com"],
    "b": ["browserId:b-2", "customId:C-1"],
    "identifier": ["browserId:kiosk-7"],
}

SEED: list[tuple[str, str, Any]] = [
    (
        "/v1/shop/links",
        "POST",
        {
            "items": [
                {
                    "identifiers": [
                        {"type": "email", "value": "ann@example.com"},
                        {"type": "browserId", "value": "b-1"},
                    ],
                    "attributes": {"firstName": "Ann", "city": "Oslo"},
                },
                {"identifiers": [{"type": "customId", "value": "C-1"},
                                 {"type": "phone", "value": "+48601234567"}]},
                {"identifiers": [{"type": "browserId", "value": "b-2"},
                                 {"type": "browserId", "value": "b-1"}]},
                {"identifiers": [{"type": "browserId", "value": "b-2"},
                                 {"type": "customId", "value": "C-1"}]},
                {"identifiers": [{"type": "email", "value": "bob@example.com"},
                                 {"type": "customId", "value": "C-1"}]},
            ],
            "source": "fuzz-seed",
        },
    ),
    (
        "/v1/shop/bans",
        "POST",
        {"a": {"type": "browserId", "value": "kiosk-7"}, "b_type": "email", "reason": "kiosk"},
    ),
    (
        "/sync",
        "POST",
        [{"folderId": "shop", "browserId": "b-9", "externalSystemType": "crm",
          "externalSystemUserId": "u1"}],
    ),
    (
        "/v4/clients/batch",
        "POST",
        [
            {"uuid": "88f40b29-5ba8-437b-ba9d-6d3b99dff80f", "email": "ann@example.com"},
            {"customId": "C-1", "email": "cid1@example.com"},
            {"customId": "C-2", "email": "cid2@example.com"},
            {"customId": "C-3", "email": "cid3@example.com"},
        ],
    ),
    (
        "/api/v2/customer",
        "POST",
        {"brand_id": 7, "primary_id": "C-1", "channel_id": "email",
         "customer_link_channel": "ann@example.com", "firstname": "Ann"},
    ),
]  # fmt: skip


# schemathesis checks left out, and why:
# - positive_data_acceptance (every schema-valid request answers 2xx): most of the rules
#   cannot be said in JSON Schema (an email's form, a phone's country, blocked values, a type
#   name, the rules of a namespace), so schema-valid input is often, rightly, a 400.
# - allow_header_conformance on /v4/clients/batch: Synerise's own paths put it beside
#   /v4/clients/{clientId}, which "batch" matches too, so Flask's OPTIONS answer lists GET and
#   DELETE as well (both answer 400 "client_id: not a number" there).
EXCLUDED_CHECKS = [positive_data_acceptance]
EXCLUDED_CHECKS_BY_PATH = {"/v4/clients/batch": [allow_header_conformance]}


@dataclass
class Fuzzed:
    server: Server
    db: Path
    answers: Counter[str] = field(default_factory=Counter)
    operations: set[str] = field(default_factory=set)

    def count(self, case: schemathesis.Case, response: Any) -> None:
        self.operations.add(case.operation.label)
        self.answers[f"{response.status_code // 100}xx"] += 1

    def summary(self, seconds: float) -> str:
        answers = ", ".join(f"{n} {kind}" for kind, n in sorted(self.answers.items()))
        return (
            f"fuzz: {len(self.operations)} operations, {self.answers.total()} requests "
            f"({answers}) in {seconds:.0f} s; IDGRAPH_FUZZ_EXAMPLES={EXAMPLES}, "
            f"IDGRAPH_FUZZ_COVERAGE={int(COVERAGE)}"
        )


def store_digest(db: Path) -> dict[str, str]:
    """A digest of every row of every table, in a stable order, by table, read through a
    read-only connection (the store is in WAL mode, so this reads while the server writes)."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    digests: dict[str, str] = {}
    try:
        tables = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_stat%'"
            " ORDER BY name"
        ).fetchall()
        for (table,) in tables:
            rows = connection.execute(f'SELECT * FROM "{table}"').fetchall()
            digest = hashlib.sha256()
            for row in sorted(repr(row) for row in rows):
                digest.update(row.encode())
            digests[table] = digest.hexdigest()
    finally:
        connection.close()
    return digests


def changed_tables(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


def may_change(response: requests.Response) -> set[str]:
    """What a rejected request may write: nothing, except that a link the rules refuse (409
    ``conflict``, e.g. Omnidesk's address held by another customer) is logged in ``conflicts``
    by design, as a refused item of a 200 batch is."""
    if response.status_code == 409 and error_code(response.json()) == "conflict":
        return {"conflicts"}
    return set()


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory) -> Iterator[Fuzzed]:
    """The real server with an admin token (so it works whether or not local open mode
    answers without one), on a store seeded across the dialects."""
    tmp = tmp_path_factory.mktemp("fuzz")
    db = tmp / "fuzz.db"
    server = Server(
        tmp,
        IDGRAPH_STORE=f"sqlite:///{db}",
        IDGRAPH_ADMIN_TOKEN=TOKEN,
        IDGRAPH_WORKERS="1",
    )
    started = time.monotonic()
    try:
        server.wait_ready()
        for path, method, body in SEED:
            answer = requests.request(method, server.url + path, json=body, headers=AUTH)
            assert answer.status_code < 300, (path, answer.status_code, answer.text)
        fuzzed = Fuzzed(server, db)
        yield fuzzed
        print("\n" + fuzzed.summary(time.monotonic() - started), file=sys.stderr)
    finally:
        server.stop()


def _known_or_generated(values: dict[str, Any] | None) -> st.SearchStrategy:
    if not values:
        return st.just(values)
    return st.fixed_dictionaries(
        {
            name: st.sampled_from([value, *KNOWN[name]]) if name in KNOWN else st.just(value)
            for name, value in values.items()
        }
    )


def _served_document() -> dict[str, Any]:
    """The OpenAPI document the server answers at /openapi.json, built by the same code in
    process, so that pytest has one test per operation before any server runs (the test below
    checks that the served document is this one)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(store=f"sqlite:///{tmp}/openapi.db"))
        try:
            return app.test_client().get("/openapi.json").get_json()
        finally:
            app.extensions["idgraph.service"].store.close()


DOCUMENT = _served_document()
REJECTIONS = [
    "400",
    "401",
    "403",
    "404",
    "405",
    "406",
    "409",
    "414",
    "415",
    "422",
    "428",
    "429",
    "431",
]
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "headers": AUTH,  # known to schemathesis, so it does not count it as left out
            "generation": {"max-examples": EXAMPLES},
            "phases": {"coverage": {"enabled": COVERAGE}},
            # schema-violating input is rejected, by the app (4xx) or, for a request line or
            # headers too large, by gunicorn before the app (414, 431)
            "checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}},
        }
    ),
)
schema.hook("flatmap_path_parameters")(lambda context, values: _known_or_generated(values))
schema.hook("flatmap_query")(lambda context, values: _known_or_generated(values))


def test_the_fuzzed_document_is_the_served_one(fuzzed: Fuzzed) -> None:
    assert requests.get(f"{fuzzed.server.url}/openapi.json").json() == DOCUMENT


@schema.parametrize()
def test_bad_input_never_breaks_the_service(case, fuzzed: Fuzzed) -> None:
    before = store_digest(fuzzed.db)
    response = case.call(base_url=fuzzed.server.url)
    after = store_digest(fuzzed.db)
    fuzzed.count(case, response)
    assert response.status_code < 500, response.text
    if 400 <= response.status_code < 500:
        assert_error_shape(response.json(), case.operation.path)
        changed = changed_tables(before, after)
        assert changed <= may_change(response), (
            f"a rejected request changed {sorted(changed)}: {case.as_curl_command()}"
        )
    excluded = EXCLUDED_CHECKS + EXCLUDED_CHECKS_BY_PATH.get(case.operation.path, [])
    case.validate_response(response, excluded_checks=excluded)


def test_what_gunicorn_refuses_is_answered_in_the_error_shape(fuzzed: Fuzzed) -> None:
    """gunicorn refuses a request line over 4,094 bytes and too many headers before the app
    sees them; `idgraph serve`'s worker (app/cli/worker.py) answers those in the one error shape,
    not with gunicorn's HTML page."""
    url = fuzzed.server.url
    too_long = requests.get(f"{url}/healthz?{'x' * 5000}")
    too_many = requests.get(f"{url}/healthz", headers={f"X-Header-{n}": "1" for n in range(120)})
    assert too_long.status_code == 414
    assert too_long.json()["error"]["code"] == "uri_too_long"
    assert too_many.status_code == 431
    for answer in (too_long, too_many):
        assert answer.headers["Content-Type"] == "application/json"
        assert_error_shape(answer.json())


SYNERISE_PATHS = ("/v4/", "/crm/", "/uauth/")
SYNERISE_ERROR_KEYS = {"timestamp", "status", "error", "message", "path", "code", "details"}


def error_code(body: dict[str, Any]) -> str:
    return body["code"] if set(body) == SYNERISE_ERROR_KEYS else body["error"]["code"]


def assert_error_shape(body: Any, path: str = "") -> None:
    if isinstance(body, dict) and set(body) == SYNERISE_ERROR_KEYS:
        assert path.startswith(SYNERISE_PATHS), (path, body)
        assert isinstance(body["status"], int) and isinstance(body["error"], str), body
        assert isinstance(body["code"], str) and body["code"], body
        assert isinstance(body["message"], str) and body["message"], body
        assert isinstance(body["details"], dict), body
        return
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "details"}, body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body
    assert isinstance(error["details"], dict), body
