"""No one reads or writes where they do not belong, on every route of every dialect.

The cases are generated from the app's route table: every route and method, except the public
ones that carry no data, is sent by an API key of namespace A at namespace B's profiles,
identifiers, links, merges and bans, and by a read-only key of A. A route whose parameters or
way of naming its namespace this file does not know fails ``test_every_route_is_covered``, so a
new route cannot be forgotten: teach it to ``PARAMS`` / ``BODIES`` below.

- A key of A gets 404 for anything of B (not 403: existence is not leaked), whether B is named
  in the path, in a header (Synerise) or in the body (Adnuntius ``folderId``, Omnidesk
  ``brand_id``), or B's ids are sent under A's own name. Nothing of B changes, and no answer
  carries any of B's values.
- A read-only key gets 403 on every write route and is let through on every read route.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any

import pytest
from apitools import Api, assert_error, identifiers
from synerise_client import synerise_error

from app.api import create_app
from app.api.auth import ADMIN_ENDPOINTS, COLLECT_ROUTES, PUBLIC_ENDPOINTS, READ_METHODS
from app.settings import Settings

TOKEN = "s3cret-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
A, B = "1001", "2002"  # numeric, so every dialect can name them (Omnidesk brand ids)
EMAIL, EMAIL_2 = "ann@b.io", "bob@b.io"
CUSTOM, CUSTOM_2 = "b-c1", "b-c2"
BROWSER = "b-b1"
HIDDEN = "hidden-in-b"  # in B's profiles, never in a request: no answer may carry it
UUID = "6b3f1c4e-2a7d-4f5e-9c1b-0d8e7a6f5b4c"


@dataclass(frozen=True)
class Tenant:
    """What namespace B holds, as ids a route can name."""

    profile_id: int
    link_id: int
    merge_id: int
    ban_id: int


def params(b: Tenant) -> dict[str, str]:
    """A value of B for every path parameter of every route."""
    return {
        "ns": B,
        "profile_id": str(b.profile_id),
        "client_id": str(b.profile_id),
        "link_id": str(b.link_id),
        "merge_id": str(b.merge_id),
        "ban_id": str(b.ban_id),
        "type": "email",
        "kind": "email",
        "value": EMAIL,
        "sources": CUSTOM_2,
        "target": CUSTOM,
    }


PARAMS = set(params(Tenant(0, 0, 0, 0)))
QUERIES = {"history.Explain": {"a": f"email:{EMAIL}", "b": f"uuid:{UUID}"}}
# a valid body for every write route (None: it takes none); "{ns}" is the namespace the case
# addresses
BODIES: dict[tuple[str, str], Any] = {
    ("native.Links", "POST"): {"items": [{"identifiers": [{"type": "email", "value": EMAIL}]}]},
    ("native.ProfileAttributes", "PATCH"): {"note": "from A"},
    ("history.EndLink", "POST"): {"reason": "from A"},
    ("history.UndoMerge", "POST"): {},
    ("native.Profile", "DELETE"): None,
    ("history.BanById", "DELETE"): None,
    ("synerise.Client", "DELETE"): None,
    ("synerise.MergeByCustomIds", "POST"): None,
    ("history.Bans", "POST"): {
        "a": {"type": "email", "value": EMAIL},
        "b_type": "phone",
        "reason": "from A",
    },
    ("adnuntius.Sync", "POST"): {
        "folderId": "{ns}",
        "browserId": BROWSER,
        "externalSystemType": "crm",
        "externalSystemUserId": "u1",
    },
    ("adnuntius.Visitor", "POST"): {
        "folderId": "{ns}",
        "browserId": BROWSER,
        "profileValues": {"note": "from A"},
    },
    ("adnuntius.SynchronousVisitor", "POST"): {
        "folderId": "{ns}",
        "browserId": BROWSER,
        "profileValues": {"note": "from A"},
    },
    ("adnuntius.Page", "POST"): {"folderId": "{ns}", "browserId": BROWSER, "keywords": ["x"]},
    ("synerise.Clients", "POST"): {"email": EMAIL, "firstName": "A"},
    ("synerise.ClientsBatch", "POST"): [{"email": EMAIL, "firstName": "A"}],
    ("synerise.ClientByIdentifier", "POST"): {"firstName": "A"},
    ("synerise.Events", "POST"): {"action": "form.submit", "client": {"email": EMAIL}},
    ("omnidesk.Customer", "POST"): {
        "brand_id": "{ns}",
        "primary_id": CUSTOM,
        "channel_id": "email",
        "customer_link_channel": EMAIL,
    },
    ("omnidesk.UpdateCustomer", "PUT"): {
        "brandID": "{ns}",
        "externalPrimaryID": CUSTOM,
        "firstname": "A",
    },
    ("omnidesk.AddChannel", "POST"): {
        "brand_id": "{ns}",
        "primary_id": CUSTOM,
        "extra_email": EMAIL_2,
    },
    ("omnidesk.PurgeData", "DELETE"): {"brand_id": "{ns}", "external_id": CUSTOM},
}
BODY_NAMESPACED = {"adnuntius.Sync", "adnuntius.Visitor", "adnuntius.SynchronousVisitor"} | {
    "adnuntius.Page",
    "omnidesk.Customer",
    "omnidesk.UpdateCustomer",
    "omnidesk.AddChannel",
    "omnidesk.PurgeData",
}
HEADER_NAMESPACED = "synerise."  # the key's namespace, or the X-Idgraph-Namespace header


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    rule: str
    arguments: frozenset[str]

    @property
    def writes(self) -> bool:
        return self.method not in READ_METHODS

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


def _routes() -> list[Route]:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(store=f"sqlite:///{folder}/routes.db"))
        app.extensions["idgraph.service"].store.close()
    return [
        Route(rule.endpoint, method, rule.rule, frozenset(rule.arguments))
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in PUBLIC_ENDPOINTS
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


ALL_ROUTES = _routes()
ROUTES = [route for route in ALL_ROUTES if route.endpoint not in ADMIN_ENDPOINTS]
ADMIN_ROUTES = [route for route in ALL_ROUTES if route.endpoint in ADMIN_ENDPOINTS]


def test_every_route_is_covered():
    assert len(ROUTES) >= 20
    for route in ROUTES:
        unknown = route.arguments - PARAMS
        assert not unknown, f"{route}: give its parameters {unknown} a value of B in params()"
        named = (
            "ns" in route.arguments
            or route.endpoint in BODY_NAMESPACED
            or route.endpoint.startswith(HEADER_NAMESPACED)
        )
        assert named, f"{route}: say how it names its namespace (BODY_NAMESPACED?)"
        if route.writes:
            assert (route.endpoint, route.method) in BODIES, f"{route}: give it a body in BODIES"


@pytest.fixture(scope="module", params=["sqlite", "neo4j"])
def world(request, tmp_path_factory, fresh_store_settings):
    """An app with an admin token, namespace B with a profile, a merge, links and a ban, and a
    snapshot function of everything B holds.

    One world per store for the whole module: every test here is refused or only reads, and
    compares B's snapshot before and after its own request, so a leak still fails the test
    that made it. Built per test, the world took most of the module's time (five batches, a
    ban and two scrypt-hashed keys, each key's first use another scrypt)."""
    store = fresh_store_settings(request, tmp_path_factory.mktemp("isolation"))
    app = create_app(Settings(**store, admin_token=TOKEN))
    yield world_in(app)
    app.extensions["idgraph.service"].store.close()


def world_in(app):
    admin = Api(app.test_client(), ADMIN)
    results = admin.outcomes(
        B,
        {
            "identifiers": identifiers("email:" + EMAIL, "customId:" + CUSTOM),
            "attributes": {"note": HIDDEN},
        },
        ("browserId:" + BROWSER, "uuid:" + UUID, f"ext:crm:{HIDDEN}-1"),
        ("email:" + EMAIL, "browserId:" + BROWSER),
        ("customId:" + CUSTOM_2, "email:" + EMAIL_2, f"ext:crm:{HIDDEN}-2"),
    )
    pid = results[0][1]
    lineage = admin.get(f"/v1/{B}/profiles/{pid}/lineage").json
    ban = admin.client.post(
        f"/v1/{B}/bans",
        json={"a": {"type": "uuid", "value": UUID}, "b_type": "phone", "reason": "seed"},
        headers=admin.headers,
    )
    assert ban.status_code == 201, ban.json
    tenant = Tenant(pid, lineage["links"][0]["id"], lineage["merges"][0]["id"], ban.json["id"])

    def snapshot() -> list[Any]:
        views = [admin.profile(B, text).json for text in ("email:" + EMAIL, "email:" + EMAIL_2)]
        return [
            views,
            admin.get(f"/v1/{B}/profiles/{pid}/lineage").json,
            admin.get(f"/v1/{B}/bans").json,
            admin.get(f"/v1/{B}/conflicts").json,
        ]

    keys = app.extensions["idgraph.keys"]
    _, writer = keys.create(A, ["read", "write"], "tenant-a")
    _, reader = keys.create(A, ["read"], "tenant-a-reader")
    return app, tenant, snapshot, writer, reader


def send(app, route: Route, key: str, tenant: Tenant, *, ns: str, header_ns: str | None = None):
    values = {**params(tenant), "ns": ns}
    path = route.rule
    for name in route.arguments:
        path = path.replace(f"<{name}>", values[name]).replace(f"<path:{name}>", values[name])
    headers = {"Authorization": f"Bearer {key}"}
    if header_ns:
        headers["X-Idgraph-Namespace"] = header_ns
    body = _fill(BODIES.get((route.endpoint, route.method)), ns)
    return app.test_client().open(
        path,
        method=route.method,
        json=body,
        query_string=QUERIES.get(route.endpoint),
        headers=headers,
    )


def _fill(body: Any, ns: str) -> Any:
    if isinstance(body, dict):
        return {k: _fill(v, ns) for k, v in body.items()}
    if isinstance(body, list):
        return [_fill(v, ns) for v in body]
    return ns if body == "{ns}" else body


def _refused_as_missing(response, route: Route) -> None:
    assert response.status_code == 404, f"{route}: {response.status_code} {response.data[:300]}"
    error_in_its_shape(response, route, 404, "not_found")
    assert HIDDEN not in response.get_data(as_text=True), f"{route} leaked B's values"


def error_in_its_shape(response, route: Route, status: int, code: str) -> dict[str, Any]:
    """Synerise's routes answer errors in Synerise's shape, every other route in idgraph's."""
    check = synerise_error if route.endpoint.startswith("synerise.") else assert_error
    return check(response, status, code)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_a_key_of_another_namespace_gets_404_and_changes_nothing(world, route):
    app, tenant, snapshot, writer, _ = world
    before = snapshot()
    if route.endpoint.startswith(HEADER_NAMESPACED):
        response = send(app, route, writer, tenant, ns=A, header_ns=B)
    else:
        response = send(app, route, writer, tenant, ns=B)
    _refused_as_missing(response, route)
    assert snapshot() == before


# Under its own namespace's name, a key of A sends B's ids: a profile id, a link, a merge, a
# ban, an identifier. Routes that name nothing of B (create a client, list) do not apply.
NAMES_B = [
    route
    for route in ROUTES
    if route.arguments - {"ns"}
    and route.endpoint not in BODY_NAMESPACED
    and not (route.endpoint == "synerise.ClientByIdentifier" and route.method == "POST")
] + [route for route in ROUTES if route.endpoint in ("history.Explain", "omnidesk.PurgeData")]


@pytest.mark.parametrize("route", NAMES_B, ids=str)
def test_ids_of_another_namespace_are_not_found_in_a_keys_own(world, route):
    app, tenant, snapshot, writer, _ = world
    before = snapshot()
    _refused_as_missing(send(app, route, writer, tenant, ns=A), route)
    assert snapshot() == before


@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=str)
def test_routes_over_every_namespace_take_the_admin_token(world, error_of, route):
    app, tenant, _, writer, _ = world
    error_of(send(app, route, writer, tenant, ns=A), 403, "forbidden")
    admin = app.test_client().open(route.rule, method=route.method, headers=ADMIN)
    assert admin.status_code == 200


@pytest.mark.parametrize("route", [r for r in ROUTES if r.writes], ids=str)
def test_a_read_only_key_gets_403_on_every_write_route(world, route):
    app, tenant, snapshot, _, reader = world
    before = snapshot()
    response = send(app, route, reader, tenant, ns=A)
    assert "may not write" in error_in_its_shape(response, route, 403, "forbidden")["message"]
    assert snapshot() == before


@pytest.mark.parametrize("route", [r for r in ROUTES if not r.writes], ids=str)
def test_a_read_only_key_may_use_every_read_route(world, route):
    app, tenant, _, _, reader = world
    response = send(app, route, reader, tenant, ns=A)
    assert response.status_code in (200, 404), f"{route}: {response.status_code} {response.json}"


NOT_COLLECTING = [r for r in ROUTES if not (r.method == "POST" and r.rule in COLLECT_ROUTES)]


@pytest.mark.parametrize("route", NOT_COLLECTING, ids=str)
def test_a_collect_key_gets_403_on_every_route_but_those_that_send_links(world, route):
    """A key a web page shows, of B itself: whatever route is added, it cannot read or change
    B through it unless the route is one of auth.py's COLLECT_ROUTES."""
    app, tenant, snapshot, _, _ = world
    _, page_key = app.extensions["idgraph.keys"].create(B, ["collect"])
    before = snapshot()
    response = send(app, route, page_key, tenant, ns=B)
    assert "may collect only" in error_in_its_shape(response, route, 403, "forbidden")["message"]
    assert snapshot() == before
