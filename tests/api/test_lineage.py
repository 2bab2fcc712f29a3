"""Lineage, explain and time travel through the native API, on both stores: how a profile was
assembled, why two identifiers are one person, and what a profile looked like at an instant."""

from __future__ import annotations

import io
import json
import time

import networkx as nx
import pytest
from apitools import identifiers

from graph.model import utc_now

NS = "shop"
U1 = "uuid:00000000-0000-0000-0000-000000000001"


def lineage(api, pid: int, query: str = "") -> dict:
    response = api.get(f"/v1/{NS}/profiles/{pid}/lineage{query}")
    assert response.status_code == 200, response.json
    return response.json


def pid_of(api, text: str) -> int:
    response = api.profile(NS, text)
    assert response.status_code == 200, response.json
    return response.json["id"]


def instant() -> str:
    """An instant strictly between the writes before and after it (times have microseconds;
    the server runs in this process, on this clock)."""
    time.sleep(0.002)
    now = utc_now()
    time.sleep(0.002)
    return now


def test_lineage_lists_every_identifier_and_link_with_provenance(api):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), source="web", request_id="r-1")
    api.link(NS, ("browserId:b1", U1), source="app")
    pid = pid_of(api, "email:ann@x.io")
    body = lineage(api, pid)
    assert body["profile"]["id"] == pid and body["as_of"] is None
    assert {i["key"] for i in body["identifiers"]} == {"email:ann@x.io", "browserId:b1", U1}
    assert all(i["member"] and i["profile_id"] == pid for i in body["identifiers"])
    first, second = body["links"]
    assert (first["a"], first["b"], first["source"], first["request_id"]) == (
        "email:ann@x.io",
        "browserId:b1",
        "web",
        "r-1",
    )
    assert (first["operation"], first["active"], first["ended_at"]) == ("native", True, None)
    assert second["source"] == "app" and second["created_at"] >= first["created_at"]
    assert body["merges"] == [] and body["next_cursor"] is None


def test_lineage_shows_ended_links_and_the_identifiers_that_left(api):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), ("browserId:b1", "browserId:b2"))
    pid = pid_of(api, "email:ann@x.io")
    bridge = next(link for link in lineage(api, pid)["links"] if link["b"] == "browserId:b2")
    api.client.post(f"/v1/{NS}/links/{bridge['id']}/end", json={"reason": "shared kiosk"})
    body = lineage(api, pid)
    ended = next(link for link in body["links"] if link["id"] == bridge["id"])
    assert (ended["active"], ended["end_reason"]) == (False, "shared kiosk")
    assert ended["ended_at"] and ended["ended_request_id"]
    left = next(i for i in body["identifiers"] if i["key"] == "browserId:b2")
    assert left["member"] is False and left["profile_id"] == pid_of(api, "browserId:b2") != pid


def test_lineage_names_the_merges_that_built_the_profile(api):
    api.link(NS, ("email:ann@x.io", "browserId:b1"))
    api.link(NS, (U1, "browserId:b2"))
    anonymous = pid_of(api, U1)
    (result,) = api.link(NS, ("browserId:b2", "email:ann@x.io"), request_id="joins").json["results"]
    assert result["outcome"] == "merged"
    (merge,) = lineage(api, result["profile_id"])["merges"]
    assert (merge["absorbed"], merge["survivor"]) == (anonymous, result["profile_id"])
    assert merge["request_id"] == "joins" and merge["undone_at"] is None
    # an identifier of each side, as each was before: the viewer names its parts by them
    assert (merge["survivor_key"], merge["absorbed_key"]) == ("email:ann@x.io", "browserId:b2")
    merging = [link for link in lineage(api, result["profile_id"])["links"] if link["merge_id"]]
    assert [link["merge_id"] for link in merging] == [merge["id"]]


def test_an_absorbed_id_answers_the_lineage_of_its_survivor(api):
    api.link(NS, ("email:ann@x.io", "browserId:b1"))
    api.link(NS, (U1, "browserId:b2"))
    anonymous = pid_of(api, U1)
    api.link(NS, ("browserId:b2", "email:ann@x.io"))
    assert lineage(api, anonymous)["profile"]["id"] == pid_of(api, U1) != anonymous


def test_large_profiles_page_by_identifier_key(api):
    items = [("customId:c0", f"browserId:b{n:03}") for n in range(25)]
    api.link(NS, *items)
    pid = pid_of(api, "customId:c0")
    seen: set[str] = set()
    cursor, pages = None, 0
    while True:
        query = "?limit=10" + (f"&cursor={cursor}" if cursor else "")
        body = lineage(api, pid, query)
        listed = {i["key"]: i for i in body["identifiers"]}
        assert all(i["member"] for i in listed.values())
        # a page: the next 10 identifiers by key, with the links touching them and their
        # other ends (a hub's page carries every link of the hub)
        last = body["next_cursor"] or "\uffff"
        own = [key for key in listed if (cursor or "") < key <= last]
        assert len(own) == (10 if body["next_cursor"] else 6)  # 26 in all
        assert all(link["a"] in listed and link["b"] in listed for link in body["links"])
        assert body["profile"]["id"] == pid and "identifiers" not in body["profile"]
        seen |= set(listed)
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == {"customId:c0", *(b for _, b in items)}


def test_lineage_graphml_escapes_what_xml_cannot_hold_and_reads_back(api):
    """An identifier's value may hold U+FFFF (the API refuses control characters, not
    noncharacters): the export is still XML every reader reads, the value escaped and named
    so, and recoverable."""
    api.link(NS, ("browserId:b\uffff", U1))
    pid = pid_of(api, U1)
    response = api.get(f"/v1/{NS}/profiles/{pid}/lineage?format=graphml")
    assert response.status_code == 200
    graph = nx.read_graphml(io.BytesIO(response.data))
    node = graph.nodes["browserId:b\\uffff"]
    assert node["escaped"] == "value" and node["value"] == "b\\uffff"
    assert node["value"].encode("latin-1", "backslashreplace").decode("unicode_escape") == (
        "b\uffff"
    )
    assert "escaped" not in graph.nodes[U1]


def test_lineage_exports_graphml_and_node_link_json_of_the_same_graph(api):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), ("browserId:b1", U1))
    pid = pid_of(api, U1)
    response = api.get(f"/v1/{NS}/profiles/{pid}/lineage?format=graphml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    graph = nx.read_graphml(io.BytesIO(response.data))
    assert set(graph.nodes) == {"email:ann@x.io", "browserId:b1", U1}
    assert graph.nodes["email:ann@x.io"]["type"] == "email"
    edges = {frozenset((a, b)): data for a, b, data in graph.edges(data=True)}
    assert edges[frozenset(("browserId:b1", U1))]["operation"] == "native"
    response = api.get(f"/v1/{NS}/profiles/{pid}/lineage?format=node-link")
    data = json.loads(response.data)
    assert {node["id"] for node in data["nodes"]} == set(graph.nodes)
    assert len(data["links"]) == 2 and all("request_id" in link for link in data["links"])


def test_bad_lineage_queries_are_400_and_unknown_profiles_404(api, error_of):
    error_of(api.get(f"/v1/{NS}/profiles/7/lineage?format=pdf"), 400, "invalid_input")
    error_of(api.get(f"/v1/{NS}/profiles/7/lineage?limit=0"), 400, "invalid_input")
    error_of(api.get(f"/v1/{NS}/profiles/7/lineage?as_of=yesterday"), 400, "invalid_input")
    error_of(api.get(f"/v1/{NS}/profiles/x/lineage"), 400, "invalid_input")
    error_of(api.get(f"/v1/{NS}/profiles/7/lineage"), 404, "not_found")


# --- explain ----------------------------------------------------------------------------------


def test_explain_walks_the_shortest_path_across_four_hops(api):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), source="web")
    api.link(NS, ("browserId:b1", "browserId:b2"), ("browserId:b2", U1), source="app")
    api.link(NS, (U1, "customId:c9"), source="crm")
    api.link(NS, ("email:ann@x.io", "browserId:b9"))  # a branch the path must not take
    response = api.get(f"/v1/{NS}/explain?a=email:ann@x.io&b=customId:c9")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["connected"] is True
    assert body["a"]["profile_id"] == body["b"]["profile_id"] == pid_of(api, "customId:c9")
    walk = [(step["from"], step["to"]) for step in body["path"]]
    assert walk == [
        ("email:ann@x.io", "browserId:b1"),
        ("browserId:b1", "browserId:b2"),
        ("browserId:b2", U1),
        (U1, "customId:c9"),
    ]
    assert [step["link"]["source"] for step in body["path"]] == ["web", "app", "app", "crm"]
    assert all(step["link"]["request_id"] and step["link"]["active"] for step in body["path"])


def test_explain_names_both_profiles_when_they_are_apart(api):
    api.link(NS, ("email:ann@x.io", "browserId:b1"), ("email:bob@x.io", "browserId:b2"))
    body = api.get(f"/v1/{NS}/explain?a=email:ANN@x.io&b=browserId:b2").json
    assert body["connected"] is False and body["path"] == []
    assert body["a"]["key"] == "email:ann@x.io"  # normalized like a write
    assert (body["a"]["profile_id"], body["b"]["profile_id"]) == (
        pid_of(api, "email:ann@x.io"),
        pid_of(api, "email:bob@x.io"),
    )


def test_explain_understands_types_with_a_system(api):
    api.link(
        NS, {"identifiers": [{"type": "ext:crm", "value": "u:1"}, *identifiers("email:ann@x.io")]}
    )
    body = api.get(f"/v1/{NS}/explain?a=ext:crm:u:1&b=email:ann@x.io").json
    assert body["connected"] is True and body["a"]["type"] == "ext:crm"
    shouted = api.get(f"/v1/{NS}/explain?a=EXT:CRM:u:1&b=EMAIL:ann@x.io").json
    assert shouted["connected"] is True and shouted["a"]["type"] == "ext:crm"


def test_explain_of_an_unknown_identifier_is_404_and_a_bad_one_400(api, error_of):
    api.link(NS, ("email:ann@x.io", "browserId:b1"))
    error = error_of(
        api.get(f"/v1/{NS}/explain?a=email:ann@x.io&b=email:zed@x.io"), 404, "not_found"
    )
    assert "email:zed@x.io" in error["message"]
    error = error_of(api.get(f"/v1/{NS}/explain?a=email&b=email:ann@x.io"), 400, "invalid_input")
    assert "a" in error["details"]["fields"]
    error_of(api.get(f"/v1/{NS}/explain?a=email:ann@x.io"), 400, "invalid_input")


# --- time travel ------------------------------------------------------------------------------


def test_as_of_answers_the_profile_before_and_after_a_merge(api):
    api.link(
        NS,
        {
            "identifiers": identifiers("email:ann@x.io", "browserId:b1"),
            "attributes": {"city": "Oslo"},
        },
    )
    api.link(
        NS,
        {
            "identifiers": identifiers(U1, "browserId:b2"),
            "attributes": {"city": "Rome", "pet": "cat"},
        },
    )
    recognized, anonymous = pid_of(api, "email:ann@x.io"), pid_of(api, U1)
    before = instant()
    api.link(NS, ("email:ann@x.io", U1))
    after = instant()
    api.client.patch(f"/v1/{NS}/profiles/{recognized}/attributes", json={"city": "Bergen"})

    then = api.get(f"/v1/{NS}/profiles/{recognized}?as_of={before}").json
    assert {i["value"] for i in then["identifiers"]} == {"ann@x.io", "b1"}
    assert then["attributes"] == {"city": "Oslo"} and then["aliases"] == []
    assert api.get(f"/v1/{NS}/profiles/{anonymous}?as_of={before}").json["id"] == anonymous

    merged = api.get(f"/v1/{NS}/profiles/{anonymous}?as_of={after}").json
    assert merged["id"] == recognized and merged["aliases"] == [anonymous]
    assert len(merged["identifiers"]) == 4
    assert merged["attributes"] == {"city": "Oslo", "pet": "cat"}  # the recognized side wins
    now = api.get(f"/v1/{NS}/profiles/{recognized}").json
    assert now["attributes"]["city"] == "Bergen"


def test_as_of_answers_the_profile_before_and_after_a_split(api):
    api.link(
        NS,
        ("email:ann@x.io", "browserId:b1"),
        ("browserId:b1", "browserId:b2"),
        ("browserId:b2", U1),
    )
    pid = pid_of(api, U1)
    links = lineage(api, pid)["links"]
    (bridge,) = [k for k in links if {k["a"], k["b"]} == {"browserId:b1", "browserId:b2"}]
    before = instant()
    ended = api.client.post(f"/v1/{NS}/links/{bridge['id']}/end", json={"reason": "wrong"}).json
    after = instant()
    (other,) = [p["id"] for p in ended["profiles"] if p["id"] != pid]

    whole = api.get(f"/v1/{NS}/profiles/{pid}?as_of={before}").json
    assert len(whole["identifiers"]) == 4
    past = lineage(api, pid, f"?as_of={before}")
    assert all(link["active"] for link in past["links"]) and past["as_of"] == before
    assert all(i["member"] and i["profile_id"] == pid for i in past["identifiers"])
    later = {i["key"]: i for i in lineage(api, pid, f"?as_of={after}")["identifiers"]}
    assert later["browserId:b2"]["member"] is False  # the other end of the ended link
    assert later["browserId:b2"]["profile_id"] == other
    part = api.get(f"/v1/{NS}/profiles/{pid}?as_of={after}").json
    assert len(part["identifiers"]) == 2
    error = api.get(f"/v1/{NS}/profiles/{other}?as_of={before}")
    assert error.status_code == 404 and "did not exist" in error.json["error"]["message"]
    assert len(api.get(f"/v1/{NS}/profiles/{other}?as_of={after}").json["identifiers"]) == 2


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/v1/has space/profiles/1/lineage"),
        ("get", "/v1/semi;colon/explain?a=email:a@x.io&b=email:b@x.io"),
        ("post", "/v1/has space/links/1/end"),
        ("post", "/v1/has space/merges/1/undo"),
        ("get", "/v1/has space/bans"),
    ],
)
def test_history_routes_refuse_a_bad_namespace(api, error_of, method, path):
    response = getattr(api.client, method)(path, json={"reason": "r"} if method == "post" else None)
    assert "ns" in error_of(response, 400, "invalid_input")["details"]["fields"]
