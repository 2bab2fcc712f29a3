"""Web pages calling idgraph: CORS answers for the origins allowed, and collect keys, which
live in a page's source and so may only send links, from the pages their namespace allows."""

from __future__ import annotations

import pytest
from apitools import Api, identifiers

from app.settings import Settings, SettingsError
from graph.errors import InvalidInput

TOKEN = "s3cret-admin-token"
SHOP = "https://shop.example"
EVERYWHERE = "https://all.example"
RULES = f"""
[namespaces.shop]
allowed_origins = ["{SHOP}"]
"""


@pytest.fixture
def served(make_app, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    return make_app(
        admin_token=TOKEN, rules=str(rules), cors_origins=(EVERYWHERE,), address_rate_limit=0
    )


@pytest.fixture
def admin(served) -> Api:
    return Api(served.test_client(), {"Authorization": f"Bearer {TOKEN}"})


def collect_key(app, namespace: str = "shop") -> str:
    _, text = app.extensions["idgraph.keys"].create(namespace, ["collect"], "web-page")
    return text


def preflight(client, path: str, origin: str):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


LINK = {"items": [{"identifiers": identifiers("browserId:b1", "customId:c1")}]}
SYNC = {
    "folderId": "shop",
    "browserId": "b1",
    "externalSystemType": "crm",
    "externalSystemUserId": "u1",
}


# CORS


def test_a_preflight_from_an_allowed_origin_is_answered_before_authentication(served):
    response = preflight(served.test_client(), "/v1/shop/links", SHOP)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"authorization", "content-type", "x-idgraph-namespace", "idempotency-key"} <= allowed
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize(
    ("path", "origin"),
    [
        ("/v1/shop/links", "https://evil.example"),
        ("/v1/other/links", SHOP),  # shop.example is allowed in namespace shop only
        ("/v1/shop/links", "null"),  # a sandboxed page or a file
    ],
)
def test_a_preflight_from_an_origin_not_allowed_gets_no_allow_header(served, path, origin):
    response = preflight(served.test_client(), path, origin)
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


def test_answers_let_an_allowed_page_read_them_and_its_headers(admin):
    [(_, pid)] = admin.outcomes("shop", ("browserId:b1", "customId:c1"))
    response = admin.client.get(
        f"/v1/shop/profiles/{pid}", headers={**admin.headers, "Origin": SHOP}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"X-Next-Cursor", "X-Request-Id", "Retry-After"} <= exposed
    assert "Origin" in response.headers["Vary"]
    elsewhere = admin.client.get(
        f"/v1/other/profiles/{pid}", headers={**admin.headers, "Origin": SHOP}
    )
    assert "Access-Control-Allow-Origin" not in elsewhere.headers
    assert "Origin" in elsewhere.headers["Vary"]


def test_a_sync_answer_is_readable_by_the_pages_of_the_folder_it_names(admin):
    headers = {**admin.headers, "Origin": SHOP}
    to_shop = admin.client.post("/sync", json=SYNC, headers=headers)
    assert to_shop.status_code == 200, to_shop.json
    assert to_shop.headers["Access-Control-Allow-Origin"] == SHOP
    to_other = admin.client.post("/sync", json={**SYNC, "folderId": "other"}, headers=headers)
    assert to_other.status_code == 200, to_other.json
    assert "Access-Control-Allow-Origin" not in to_other.headers


def test_an_origin_allowed_everywhere_reads_every_namespace(admin):
    response = admin.link("other", ("browserId:b1", "customId:c1"))
    assert response.status_code == 200
    answer = admin.client.get(
        "/v1/other/conflicts", headers={**admin.headers, "Origin": EVERYWHERE}
    )
    assert answer.headers["Access-Control-Allow-Origin"] == EVERYWHERE


def test_a_malformed_origin_setting_stops_start_up():
    with pytest.raises(SettingsError, match="IDGRAPH_CORS_ORIGINS"):
        Settings.from_env({"IDGRAPH_CORS_ORIGINS": "https://shop.example/path"})
    with pytest.raises(SettingsError, match="not an origin"):
        Settings.from_env({"IDGRAPH_CORS_ORIGINS": "*"})
    read = Settings.from_env({"IDGRAPH_CORS_ORIGINS": "https://A.example, http://b.example:8080"})
    assert read.cors_origins == ("https://a.example", "http://b.example:8080")


# collect keys


def test_a_collect_key_sends_links_from_an_allowed_page_and_from_an_app(served, admin):
    key = collect_key(served)
    client = served.test_client()
    from_page = {"Authorization": f"Bearer {key}", "Origin": SHOP}
    linked = client.post("/v1/shop/links", json=LINK, headers=from_page)
    assert linked.status_code == 200, linked.json
    synced = client.post("/sync", json={**SYNC, "browserId": "b2"}, headers=from_page)
    assert synced.status_code == 200, synced.json
    from_app = client.post(  # an app sends no Origin
        "/sync", json={**SYNC, "browserId": "app-1"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert from_app.status_code == 200, from_app.json
    assert admin.members("shop", "customId:c1") == {"browserId:b1", "customId:c1"}
    assert admin.members("shop", "ext:crm:u1") == {"browserId:b2", "browserId:app-1", "ext:crm:u1"}
    lineage = admin.get(f"/v1/shop/profiles/{linked.json['results'][0]['profile_id']}/lineage")
    assert {link["source"] for link in lineage.json["links"]} == {"web-page"}


def test_a_collect_key_from_a_page_its_namespace_does_not_allow_writes_nothing(served, admin):
    key = collect_key(served)
    for origin in ("https://evil.example", EVERYWHERE + ".evil.example"):
        refused = served.test_client().post(
            "/v1/shop/links",
            json=LINK,
            headers={"Authorization": f"Bearer {key}", "Origin": origin},
        )
        assert refused.status_code == 403, refused.json
        assert origin in refused.json["error"]["message"]
    assert admin.profile("shop", "customId:c1").status_code == 404


def test_a_collect_key_cannot_read_list_merge_undo_ban_end_or_purge(served, admin):
    [(_, pid)] = admin.outcomes("shop", ("email:ann@x.io", "customId:c1"))
    admin.outcomes("shop", ("email:bob@x.io", "customId:c2"))
    page = {"Authorization": f"Bearer {collect_key(served)}", "Origin": SHOP}
    client = served.test_client()
    ban = {"a": {"type": "email", "value": "ann@x.io"}, "b_type": "phone", "reason": "x"}
    attempts = [
        client.get(f"/v1/shop/profiles/{pid}", headers=page),
        client.get("/v1/shop/identifiers/email/ann@x.io", headers=page),
        client.get(f"/v1/shop/profiles/{pid}/lineage", headers=page),
        client.get("/v1/shop/conflicts", headers=page),
        client.get("/crm/v1/list", headers=page),
        client.post("/v1/shop/links?dry_run=true", json=LINK, headers=page),  # a read, really
        client.get("/v1/shop/explain?a=email:ann@x.io&b=customId:c1", headers=page),
        client.post("/v4/clients/merge/from/custom-ids/c2/to/custom-id/c1", headers=page),
        client.post("/v4/clients", json={"customId": "c3"}, headers=page),
        client.post("/v1/shop/merges/1/undo", json={"reason": "x"}, headers=page),
        client.post("/v1/shop/bans", json=ban, headers=page),
        client.post("/v1/shop/links/1/end", json={"reason": "x"}, headers=page),
        client.patch(f"/v1/shop/profiles/{pid}/attributes", json={"city": "Oslo"}, headers=page),
        client.delete(f"/v1/shop/profiles/{pid}", headers=page),
    ]
    assert [response.status_code for response in attempts] == [403] * len(attempts)
    assert admin.members("shop", "customId:c1") == {"email:ann@x.io", "customId:c1"}
    assert admin.get(f"/v1/shop/profiles/{pid}").json["attributes"] == {}


def test_a_collect_key_stays_in_its_namespace(served):
    page = {"Authorization": f"Bearer {collect_key(served)}", "Origin": SHOP}
    other = served.test_client().post("/sync", json={**SYNC, "folderId": "other"}, headers=page)
    assert other.status_code == 404


def test_a_collect_key_goes_alone(served):
    ring = served.extensions["idgraph.keys"]
    for rights in (["collect", "read"], ["collect", "write"]):
        with pytest.raises(InvalidInput, match="collect goes alone"):
            ring.create("shop", rights)


def test_a_collect_key_is_limited_per_client_address(make_app):
    app = make_app(admin_token=TOKEN, address_rate_limit=1.0, rate_limit=1000.0)
    page = {"Authorization": f"Bearer {collect_key(app)}"}
    another = app.test_client()
    other_address = {"REMOTE_ADDR": "192.0.2.7"}
    # first from another address: the store's first write (seconds on a slow Neo4j) is paid
    # there, so the visitor's three take well under the second in which a token comes back
    answer = another.post("/v1/shop/links", json=LINK, headers=page, environ_base=other_address)
    assert answer.status_code == 200
    visitor = app.test_client()
    statuses = [
        visitor.post("/v1/shop/links", json=LINK, headers=page).status_code for _ in range(3)
    ]
    assert statuses[:2] == [200, 200] and statuses[2] == 429  # a burst of 2, then the rate


def test_a_visitor_over_its_address_rate_leaves_the_pages_rate_to_the_others(make_app):
    """The limit per address is there so that one visitor cannot spend a page's whole rate:
    a request it refuses takes none of the key's."""
    app = make_app(admin_token=TOKEN, address_rate_limit=1.0, rate_limit=0.1, rate_burst=8)
    page = {"Authorization": f"Bearer {collect_key(app)}"}
    other = {"REMOTE_ADDR": "192.0.2.7"}
    # the store's first write (seconds on a slow Neo4j) is paid by another address first
    answer = app.test_client().post("/v1/shop/links", json=LINK, headers=page, environ_base=other)
    assert answer.status_code == 200
    visitor = app.test_client()
    statuses = [
        visitor.post("/v1/shop/links", json=LINK, headers=page).status_code for _ in range(12)
    ]
    # a burst of 2, and a token a second: the key's 8 would have gone by the 8th request
    assert statuses[:2] == [200, 200] and statuses.count(429) > 6
    answer = app.test_client().post("/v1/shop/links", json=LINK, headers=page, environ_base=other)
    assert answer.status_code == 200, answer.json


def test_a_collect_keys_visitor_on_ipv6_is_its_whole_64(make_app):
    """One host holds a whole /64: a new address in it per request is the same visitor."""
    app = make_app(admin_token=TOKEN, address_rate_limit=1.0, rate_limit=1000.0)
    page = {"Authorization": f"Bearer {collect_key(app)}"}
    statuses = [
        app.test_client()
        .post("/v1/shop/links", json=LINK, headers=page, environ_base={"REMOTE_ADDR": address})
        .status_code
        for address in (f"2001:db8::{n}" for n in range(1, 7))
    ]
    assert statuses[:2] == [200, 200] and set(statuses[2:]) == {429}


def test_only_a_collect_key_may_come_in_the_url(served, admin):
    client = served.test_client()
    beacon = {"data": '{"folderId": "shop", "browserId": "b9", "externalSystemUserId": "u9"}'}
    sent = client.post(f"/sync?key={collect_key(served)}", content_type="text/plain", **beacon)
    assert sent.status_code == 200, sent.json
    assert admin.members("shop", "ext:default:u9") == {"browserId:b9", "ext:default:u9"}
    _, writer = served.extensions["idgraph.keys"].create("shop", ["read", "write"], "crm")
    for key in (writer, "idg_1_" + "x" * 43):
        refused = client.post(f"/sync?key={key}", content_type="text/plain", **beacon)
        assert refused.status_code == 401, refused.json
        assert "collect key" in refused.json["error"]["message"]
