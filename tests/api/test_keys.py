"""API keys at the door: a key works in its namespace with its rights, its name is who wrote
what, a revoked key stops at once, and a key over its rate waits (429 with Retry-After)."""

from __future__ import annotations

import pytest
from apitools import Api
from synerise_client import synerise_error

TOKEN = "s3cret-admin-token"


@pytest.fixture
def secured(make_app):
    return make_app(admin_token=TOKEN)


def key_for(app, namespace: str, rights: str = "read,write", name: str | None = None) -> str:
    """A new key, made as `idgraph keys create` makes it."""
    _, text = app.extensions["idgraph.keys"].create(namespace, rights.split(","), name)
    return text


def with_key(app, text: str) -> Api:
    return Api(app.test_client(), {"Authorization": f"Bearer {text}"})


def test_a_key_reads_and_writes_its_namespace(secured):
    api = with_key(secured, key_for(secured, "shop"))
    [(outcome, pid)] = api.outcomes("shop", ("email:ann@x.io", "customId:c1"))
    assert outcome == "created"
    assert api.get(f"/v1/shop/profiles/{pid}").json["id"] == pid


def test_the_key_name_is_the_source_of_its_links_and_bans(secured):
    api = with_key(secured, key_for(secured, "shop", name="crm-sync"))
    [(_, pid)] = api.outcomes("shop", ("email:ann@x.io", "customId:c1"), source="made-up")
    lineage = api.get(f"/v1/shop/profiles/{pid}/lineage").json
    assert [link["source"] for link in lineage["links"]] == ["crm-sync"]
    ban = api.client.post(
        "/v1/shop/bans",
        json={"a": {"type": "email", "value": "ann@x.io"}, "b_type": "phone", "reason": "test"},
        headers=api.headers,
    )
    assert ban.status_code == 201, ban.json
    assert ban.json["created_by"] == "crm-sync"


def test_admin_and_local_callers_name_their_source(secured, client):
    admin = Api(secured.test_client(), {"Authorization": f"Bearer {TOKEN}"})
    for api in (admin, Api(client)):
        [(_, pid)] = api.outcomes("shop", ("email:ann@x.io", "customId:c1"), source="web-shop")
        links = api.get(f"/v1/shop/profiles/{pid}/lineage").json["links"]
        assert [link["source"] for link in links] == ["web-shop"]


def test_a_read_only_key_reads_and_may_not_write(secured, error_of):
    admin = Api(secured.test_client(), {"Authorization": f"Bearer {TOKEN}"})
    [(_, pid)] = admin.outcomes("shop", ("email:ann@x.io", "customId:c1"))
    reader = with_key(secured, key_for(secured, "shop", "read"))
    assert reader.get(f"/v1/shop/profiles/{pid}").status_code == 200
    error = error_of(reader.link("shop", ("email:bob@x.io",)), 403, "forbidden")
    assert "may not write" in error["message"]
    error_of(reader.link("shop", ("email:bob@x.io",), dry_run=True), 403, "forbidden")
    assert admin.profile("shop", "email:bob@x.io").status_code == 404


def test_a_write_only_key_may_not_read(secured, error_of):
    writer = with_key(secured, key_for(secured, "shop", "write"))
    [(_, pid)] = writer.outcomes("shop", ("email:ann@x.io", "customId:c1"))
    error_of(writer.get(f"/v1/shop/profiles/{pid}"), 403, "forbidden")


def test_me_names_the_admin_and_its_rights_in_any_namespace(secured):
    admin = Api(secured.test_client(), {"Authorization": f"Bearer {TOKEN}"})
    response = admin.get("/v1/tenant-7/me")
    assert response.status_code == 200, response.json
    assert response.json == {
        "name": "admin",
        "namespace": "tenant-7",
        "rights": ["read", "write"],
        "may_write": True,
    }
    assert TOKEN not in response.get_data(as_text=True)


def test_me_says_a_read_only_key_may_not_write(secured):
    text = key_for(secured, "shop", "read", name="viewer")
    response = with_key(secured, text).get("/v1/shop/me")
    assert response.json == {
        "name": "viewer",
        "namespace": "shop",
        "rights": ["read"],
        "may_write": False,
    }
    assert text.split("_", 2)[2] not in response.get_data(as_text=True)  # nor its secret


def test_me_says_a_key_that_writes_may_write(secured):
    me = with_key(secured, key_for(secured, "shop", "read,write", name="crm-sync")).get(
        "/v1/shop/me"
    )
    assert me.json["name"] == "crm-sync" and me.json["rights"] == ["read", "write"]
    assert me.json["may_write"] is True


def test_me_in_local_open_mode_is_local_with_every_right(client):
    assert client.get("/v1/shop/me").json == {
        "name": "local",
        "namespace": "shop",
        "rights": ["read", "write"],
        "may_write": True,
    }


@pytest.mark.parametrize(
    ("proxies", "forwarded"),
    [(0, {"X-Forwarded-For": "203.0.113.9"}), (0, {"Forwarded": "for=203.0.113.9"}),
     (1, {"X-Forwarded-For": "203.0.113.9"})],
)  # fmt: skip
def test_local_open_mode_refuses_a_client_a_proxy_forwarded(make_app, error_of, proxies, forwarded):
    """A reverse proxy on this machine makes every client come from loopback: a request it
    forwarded is not local, whether IDGRAPH_PROXIES declares the proxy or not."""
    client = make_app(proxies=proxies).test_client()
    for answer in (
        client.get("/v1/shop/me", headers=forwarded),
        client.get("/v1/shop/identifiers/email/ann@x.io", headers=forwarded),
        client.delete("/v1/shop/profiles/1", headers=forwarded),
    ):
        error = error_of(answer, 401, "unauthorized")
        assert "loopback" in error["message"]


def test_local_open_mode_behind_a_declared_proxy_answers_a_loopback_client(make_app):
    client = make_app(proxies=1).test_client()
    assert client.get("/v1/shop/me").json["name"] == "local"  # straight to the server
    forwarded = {"X-Forwarded-For": "127.0.0.1"}  # through the proxy, from this machine
    assert client.get("/v1/shop/me", headers=forwarded).json["name"] == "local"


def test_local_open_mode_refuses_a_write_another_sites_page_sends(client, error_of):
    """A browser on this machine sends a page's request to loopback without credentials,
    which local open mode takes as the local user: a write from another origin's page (a
    text/plain POST needs no preflight) must not undo merges, end links or purge."""
    api = Api(client)
    [(_, pid)] = api.outcomes("shop", ("email:ann@x.io", "customId:c1"))
    [link] = api.get(f"/v1/shop/profiles/{pid}/lineage").json["links"]
    elsewhere = {"Origin": "http://localhost:18732", "Content-Type": "text/plain"}
    for answer in (
        client.post(f"/v1/shop/links/{link['id']}/end", data='{"reason": "x"}', headers=elsewhere),
        client.delete(f"/v1/shop/profiles/{pid}", headers={"Origin": "null"}),
        client.post("/v1/shop/links", data='{"items": []}', headers=elsewhere),
    ):
        error = error_of(answer, 403, "forbidden")
        assert "origin" in error["message"]
    assert api.get(f"/v1/shop/profiles/{pid}/lineage").json["links"][0]["ended_at"] is None
    same = {"Origin": "http://localhost", "Content-Type": "application/json"}  # the viewer's
    ended = client.post(f"/v1/shop/links/{link['id']}/end", json={"reason": "x"}, headers=same)
    assert ended.status_code == 200, ended.json


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:5000", "10.0.0.8"])
def test_local_open_mode_answers_only_requests_addressed_to_this_machine(client, error_of, host):
    """A hostile site whose name resolves to 127.0.0.1 (DNS rebinding) makes the browser send
    its own name as Host: neither a read nor a write is answered for it."""
    Api(client).outcomes("shop", ("email:ann@x.io", "customId:c1"))
    for answer in (
        client.get("/v1/shop/identifiers/email/ann@x.io", headers={"Host": host}),
        client.get("/v1/shop/me", headers={"Host": host}),
        client.post("/v1/shop/links", json={"items": []}, headers={"Host": host}),
    ):
        error = error_of(answer, 403, "forbidden")
        assert "Host" in error["message"]
    for host in ("localhost:5000", "127.0.0.1", "[::1]:8080"):
        assert client.get("/v1/shop/me", headers={"Host": host}).status_code == 200


def test_me_in_another_namespace_is_a_404_and_a_write_only_key_a_403(secured, error_of):
    error_of(with_key(secured, key_for(secured, "shop")).get("/v1/other/me"), 404, "not_found")
    writer = with_key(secured, key_for(secured, "shop", "write"))
    error_of(writer.get("/v1/shop/me"), 403, "forbidden")


def test_a_revoked_key_stops_at_its_next_request(secured, error_of):
    text = key_for(secured, "shop")
    api = with_key(secured, text)
    assert api.get("/v1/shop/conflicts").status_code == 200
    key_id = int(text.split("_")[1])
    secured.extensions["idgraph.keys"].revoke(key_id)
    error_of(api.get("/v1/shop/conflicts"), 401, "unauthorized")


@pytest.mark.parametrize("text", ["idg_1_" + "x" * 43, "idg_999_" + "x" * 43, "idg_1", "idg_"])
def test_an_unknown_key_is_a_401(secured, error_of, text):
    key_for(secured, "shop")
    error_of(with_key(secured, text).get("/v1/shop/conflicts"), 401, "unauthorized")


def test_keys_work_in_local_open_mode_too(app, error_of):
    api = with_key(app, key_for(app, "shop", "read"))
    assert api.get("/v1/shop/conflicts").status_code == 200
    error_of(api.get("/v1/other/conflicts"), 404, "not_found")
    error_of(api.link("shop", ("email:ann@x.io",)), 403, "forbidden")


def test_synerise_takes_its_namespace_from_the_key(secured):
    text = key_for(secured, "tenant-7")
    client = secured.test_client()
    auth = {"Authorization": f"Bearer {text}"}
    created = client.post("/v4/clients", json={"email": "ann@x.io"}, headers=auth)
    assert created.status_code == 202, created.json
    admin = Api(secured.test_client(), {"Authorization": f"Bearer {TOKEN}"})
    assert admin.profile("tenant-7", "email:ann@x.io").status_code == 200
    assert admin.profile("default", "email:ann@x.io").status_code == 404
    own = client.get("/v4/clients/by-email/ann@x.io", headers=auth)
    assert own.status_code == 200, own.json
    same = {**auth, "X-Idgraph-Namespace": "tenant-7"}
    assert client.get("/v4/clients/by-email/ann@x.io", headers=same).status_code == 200
    other = {**auth, "X-Idgraph-Namespace": "default"}
    synerise_error(client.get("/v4/clients/by-email/ann@x.io", headers=other), 404, "not_found")


def test_a_key_over_its_rate_waits(make_app, error_of):
    app = make_app(admin_token=TOKEN, rate_limit=0.5, rate_burst=3)
    api = with_key(app, key_for(app, "shop", "read"))
    answers = [api.get("/v1/shop/conflicts") for _ in range(4)]
    assert [r.status_code for r in answers[:3]] == [200, 200, 200]
    error = error_of(answers[3], 429, "too_many_requests")
    assert "over its rate" in error["message"]
    assert int(answers[3].headers["Retry-After"]) >= 1
    other = with_key(app, key_for(app, "shop", "read"))  # each key has its own bucket
    assert other.get("/v1/shop/conflicts").status_code == 200
    admin = Api(app.test_client(), {"Authorization": f"Bearer {TOKEN}"})
    assert all(admin.get("/v1/shop/conflicts").status_code == 200 for _ in range(5))
