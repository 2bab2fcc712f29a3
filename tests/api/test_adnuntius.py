"""Adnuntius Data's routes: POST /sync (one object or an array, each folder its own namespace,
one transaction, one outcome per object), POST /visitor and /synchronous/visitor (profile values
with the links, in the same transaction), and POST /page (a 404 that says what to send instead)."""

from __future__ import annotations

import pytest
from apitools import Api

SEED_ONE = {
    "folderId": "00000000000aaaaa",
    "browserId": "123",
    "externalSystemType": "crm123",
    "externalSystemUserId": "user123",
}
SEED_BATCH = [
    {
        "folderId": "00000000000aaaaaa",
        "browserId": "123",
        "externalSystemType": "crm123",
        "externalSystemUserId": "testing123",
    },
    {
        "folderId": "000000000007688a",
        "browserId": "123456",
        "externalSystemType": "crm123",
        "externalSystemUserId": "user456",
    },
]
FIELDS = ("folderId", "browserId", "externalSystemType", "externalSystemUserId")
EMPTY_SAYS = {
    "folderId": "a namespace is 1-128",
    "browserId": "must not be empty",
    "externalSystemType": "1-64",
    "externalSystemUserId": "must not be empty",
}


def sync_item(
    folder: str = "f1", browser: str = "b1", system: str = "crm", user: str = "u1"
) -> dict[str, str]:
    return {
        "folderId": folder,
        "browserId": browser,
        "externalSystemType": system,
        "externalSystemUserId": user,
    }


def sync(client, body):
    return client.post("/sync", json=body)


def outcomes(client, body) -> list[dict]:
    response = sync(client, body)
    assert response.status_code == 200, response.json
    return response.json["results"]


def nothing_written(app, *folders: str) -> bool:
    store = app.extensions["idgraph.service"].store
    return all(
        list(store.iter_identifiers(ns)) == [] and list(store.iter_links(ns)) == []
        for ns in folders
    )


def test_the_seed_single_object_creates_a_profile_of_browser_and_crm_user(client, api):
    response = sync(client, SEED_ONE)
    assert response.status_code == 200
    [result] = response.json["results"]
    assert result["outcome"] == "created" and result["index"] == 0
    assert result["folderId"] == "00000000000aaaaa"
    assert response.json["request_id"]
    profile = api.profile("00000000000aaaaa", "browserId:123").json
    assert profile["id"] == result["profile_id"]
    assert api.members("00000000000aaaaa", "browserId:123") == {
        "browserId:123",
        "ext:crm123:user123",
    }


def test_the_seed_batch_writes_each_folder_apart(client, api):
    results = outcomes(client, SEED_BATCH)
    assert [(r["index"], r["folderId"], r["outcome"]) for r in results] == [
        (0, "00000000000aaaaaa", "created"),
        (1, "000000000007688a", "created"),
    ]
    assert api.members("00000000000aaaaaa", "browserId:123") == {
        "browserId:123",
        "ext:crm123:testing123",
    }
    assert api.members("000000000007688a", "browserId:123456") == {
        "browserId:123456",
        "ext:crm123:user456",
    }
    assert api.profile("000000000007688a", "browserId:123").status_code == 404
    assert api.profile("00000000000aaaaaa", "browserId:123456").status_code == 404


def test_the_same_browser_in_two_folders_is_two_profiles(client, api):
    results = outcomes(client, [sync_item("f1", user="u1"), sync_item("f2", user="u2")])
    assert [r["outcome"] for r in results] == ["created", "created"]
    assert api.members("f1", "browserId:b1") == {"browserId:b1", "ext:crm:u1"}
    assert api.members("f2", "browserId:b1") == {"browserId:b1", "ext:crm:u2"}


def test_repeating_a_sync_is_a_noop(client):
    [first] = outcomes(client, sync_item())
    [again] = outcomes(client, sync_item())
    assert (again["outcome"], again["profile_id"]) == ("noop", first["profile_id"])


def test_a_shared_browser_moves_to_the_newest_user_of_the_same_system(app, client, api):
    [first] = outcomes(client, sync_item(user="u1"))
    [moved] = outcomes(client, sync_item(user="u2"))
    assert moved["outcome"] == "moved" and moved["moved_from"] == [first["profile_id"]]
    assert api.members("f1", "browserId:b1") == {"browserId:b1", "ext:crm:u2"}
    assert api.members("f1", "ext:crm:u1") == {"ext:crm:u1"}
    links = list(app.extensions["idgraph.service"].store.iter_links("f1"))
    ended = {(link["b_key"], link["end_reason"]) for link in links if link["ended_at"]}
    assert ended == {("ext:crm:u1", "moved")}
    assert {link["operation"] for link in links} == {"sync"}


def test_a_browser_joins_users_of_different_systems_into_one_profile(client, api):
    outcomes(client, sync_item(system="crm", user="u1"))
    [joined] = outcomes(client, sync_item(system="shop", user="s9"))
    assert joined["outcome"] == "linked"
    assert api.members("f1", "ext:shop:s9") == {"browserId:b1", "ext:crm:u1", "ext:shop:s9"}


def test_with_reject_rules_a_shared_browser_is_a_logged_conflict(make_app, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[namespaces.f1]\non_conflict = { browserId = "reject" }\n')
    client = make_app(rules=str(rules)).test_client()
    api = Api(client)
    [first] = outcomes(client, sync_item(user="u1"))
    [refused] = outcomes(client, sync_item(user="u2"))
    assert (refused["outcome"], refused["reason"]) == ("conflict", "unique_type:ext:crm")
    assert api.members("f1", "browserId:b1") == {"browserId:b1", "ext:crm:u1"}
    assert api.profile("f1", "ext:crm:u2").status_code == 404
    [logged] = api.get("/v1/f1/conflicts").json["conflicts"]
    assert logged["rule"] == "unique_type:ext:crm" and first["profile_id"] in logged["profiles"]
    outcomes(client, sync_item("f2", user="u1"))
    assert outcomes(client, sync_item("f2", user="u2"))[0]["outcome"] == "moved"


def test_a_conflict_in_a_batch_across_folders_is_logged_with_its_request_index(make_app, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[namespaces.f1]\non_conflict = { browserId = "reject" }\n')
    client = make_app(rules=str(rules)).test_client()
    outcomes(client, sync_item("f1", user="u1"))
    results = outcomes(client, [sync_item("f2"), sync_item("f1", user="u2")])
    assert results[1]["outcome"] == "conflict"
    [logged] = Api(client).get("/v1/f1/conflicts").json["conflicts"]
    assert logged["item_index"] == 1


BAD_FIELDS = [
    pytest.param(field, value, words, id=f"{field}-{label}")
    for field in FIELDS
    for label, value, words in [
        ("missing", None, "Missing data"),
        ("empty", "", EMPTY_SAYS[field]),
        ("number", 42, "Not a valid string"),
    ]
    if (field, label) != ("externalSystemType", "missing")  # the folder's default system
] + [
    pytest.param("folderId", "a/b", "namespace", id="folderId-slash"),
    pytest.param("folderId", "f" * 200, "namespace", id="folderId-too-long"),
    pytest.param("externalSystemType", "my crm", "letters, digits", id="system-with-space"),
    pytest.param("externalSystemType", "x" * 65, "1-64", id="system-too-long"),
    pytest.param("browserId", "   ", "empty", id="browserId-blank"),
    pytest.param("externalSystemUserId", "null", "blocked", id="userId-blocked-value"),
]


@pytest.mark.parametrize(("field", "value", "words"), BAD_FIELDS)
def test_a_bad_field_is_a_400_naming_it_and_nothing_is_written(
    app, client, error_of, field, value, words
):
    body = sync_item()
    if value is None:
        del body[field]
    else:
        body[field] = value
    error = error_of(sync(client, body), 400, "invalid_input")
    [message] = error["details"]["items"]["0"][field]
    assert words in message
    assert error["message"].startswith(f"items[0].{field}: ")
    assert nothing_written(app, "f1")


def test_an_unknown_key_is_refused_by_name(app, client, error_of):
    error = error_of(sync(client, {**sync_item(), "colour": "red"}), 400, "invalid_input")
    assert error["details"]["items"]["0"] == {"colour": ["Unknown field."]}
    assert nothing_written(app, "f1")


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"json": []}, id="empty-array"),
        pytest.param({"json": 42}, id="json-number"),
        pytest.param({"json": "f1"}, id="json-string"),
        pytest.param({"json": None}, id="json-null"),
        pytest.param({"data": "folderId=f1", "content_type": "application/json"}, id="not-json"),
        pytest.param({"data": '[{"folderId": ', "content_type": "application/json"}, id="cut"),
        pytest.param({}, id="no-body"),
    ],
)
def test_a_body_that_is_not_objects_is_a_400_naming_the_body(client, error_of, kwargs):
    error = error_of(client.post("/sync", **kwargs), 400, "invalid_input")
    assert list(error["details"]["fields"]) == ["body"]


def test_a_bad_object_in_a_batch_names_its_index_and_nothing_is_written(app, client, error_of):
    batch = [sync_item(user="u1"), sync_item(browser="b2", user=""), sync_item(user="u3")]
    error = error_of(sync(client, batch), 400, "invalid_input")
    assert error["details"]["items"] == {"1": {"externalSystemUserId": ["must not be empty"]}}
    assert nothing_written(app, "f1")


def test_a_batch_spanning_folders_is_one_transaction(app, client, error_of):
    batch = [sync_item("fa", user="u1"), sync_item("fb", browser="null"), sync_item("fa")]
    error = error_of(sync(client, batch), 400, "invalid_input")
    assert list(error["details"]["items"]) == ["1"]
    assert "browserId" in error["details"]["items"]["1"]
    assert nothing_written(app, "fa", "fb")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('[{"folderId": "f1", "folderId": "f2", %s}]', id="in-an-array"),
        pytest.param('{"folderId": "f1", "folderId": "f2", %s}', id="single-object"),
    ],
)
def test_a_key_sent_twice_is_refused_not_read_as_last_wins(app, client, error_of, body):
    rest = '"browserId": "b1", "externalSystemType": "crm", "externalSystemUserId": "u1"'
    response = client.post("/sync", data=body % rest, content_type="application/json")
    error = error_of(response, 400, "invalid_input")
    assert error["details"]["items"]["0"] == {
        "folderId": ["sent twice in one object: send each key once"]
    }
    assert nothing_written(app, "f1", "f2")


def test_more_objects_than_the_limit_is_a_400(make_app, error_of):
    app = make_app(max_batch_items=2)
    response = sync(app.test_client(), [sync_item(user=f"u{n}") for n in range(3)])
    error = error_of(response, 400, "invalid_input")
    assert error["details"]["fields"] == {"body": ["send 1 to 2 objects"]}
    assert nothing_written(app, "f1")


def test_the_openapi_document_describes_sync_under_adnuntius(client):
    spec = client.get("/openapi.json").json
    operation = spec["paths"]["/sync"]["post"]
    assert operation["tags"] == ["adnuntius"]
    assert "200" in operation["responses"] and "400" in operation["responses"]
    assert set(FIELDS) <= set(spec["components"]["schemas"]["SyncItem"]["properties"])


# --- the folder's default external system (the published client sends no system) ---------


def test_a_sync_without_a_system_names_a_user_of_the_folders_default_system(client, api):
    item = sync_item()
    del item["externalSystemType"]
    [result] = outcomes(client, item)
    assert result["outcome"] == "created"
    assert api.members("f1", "ext:default:u1") == {"browserId:b1", "ext:default:u1"}
    assert api.profile("f1", "ext:crm:u1").status_code == 404


def test_the_rules_file_sets_a_folders_default_system(make_app, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[namespaces.f1]\ndefault_external_system = "crm9"\n')
    client = make_app(rules=str(rules)).test_client()
    api = Api(client)
    anonymous = [
        {"folderId": ns, "browserId": "b1", "externalSystemUserId": "u1"} for ns in "f1 f2".split()
    ]
    outcomes(client, anonymous)
    assert api.members("f1", "browserId:b1") == {"browserId:b1", "ext:crm9:u1"}
    assert api.members("f2", "browserId:b1") == {"browserId:b1", "ext:default:u1"}


# --- folderId in the query, as Adnuntius allows --------------------------------------------


def test_objects_without_a_folder_take_the_querys(client, api):
    named, unnamed = sync_item("f1", user="u1"), sync_item(browser="b2", user="u2")
    del unnamed["folderId"]
    response = client.post("/sync?folderId=f1", json=[named, unnamed])
    assert [r["folderId"] for r in response.json["results"]] == ["f1", "f1"]
    assert api.members("f1", "browserId:b2") == {"browserId:b2", "ext:crm:u2"}


def test_a_body_folder_other_than_the_querys_is_a_400_naming_the_object(app, client, error_of):
    batch = [sync_item("f1"), sync_item("f2", browser="b2")]
    error = error_of(client.post("/sync?folderId=f1", json=batch), 400, "invalid_input")
    assert list(error["details"]["items"]) == ["1"]
    assert "differs from the query's folderId" in error["details"]["items"]["1"]["folderId"][0]
    assert error["message"].startswith("items[1].folderId: ")
    assert nothing_written(app, "f1", "f2")


def test_without_a_folder_anywhere_each_object_lacking_one_is_named(app, client, error_of):
    unnamed = sync_item(browser="b2")
    del unnamed["folderId"]
    error = error_of(sync(client, [sync_item("f1"), unnamed]), 400, "invalid_input")
    [message] = error["details"]["items"]["1"]["folderId"]
    assert list(error["details"]["items"]) == ["1"] and "?folderId=" in message
    assert nothing_written(app, "f1")


@pytest.mark.parametrize(
    ("query", "words"),
    [
        pytest.param("folderId=a/b", "a namespace is 1-128", id="not-a-namespace"),
        pytest.param("folderId=f1&folderId=f2", "send it once", id="sent-twice"),
    ],
)
def test_a_bad_query_folder_is_a_400_naming_folderId(app, client, error_of, query, words):
    unnamed = sync_item()
    del unnamed["folderId"]
    error = error_of(client.post(f"/sync?{query}", json=unnamed), 400, "invalid_input")
    assert words in error["details"]["fields"]["folderId"][0]
    assert nothing_written(app, "f1", "f2")


@pytest.mark.parametrize("path", ["/sync", "/visitor"])
def test_a_key_of_another_folder_naming_it_in_the_query_gets_404(make_app, error_of, path):
    app = make_app(admin_token="t0ken")
    _, key = app.extensions["idgraph.keys"].create("f1", ["read", "write"], "crm")
    unnamed = sync_item()
    del unnamed["folderId"]
    response = app.test_client().post(
        f"{path}?folderId=f2", json=unnamed, headers={"Authorization": f"Bearer {key}"}
    )
    error_of(response, 404, "not_found")
    assert nothing_written(app, "f1", "f2")


# --- /visitor and /synchronous/visitor: profile values with the links ----------------------

VISITOR_PATHS = [
    pytest.param("/visitor", id="visitor"),
    pytest.param("/synchronous/visitor", id="synchronous"),
]


def visit(client, body, path: str = "/visitor", query: str = ""):
    return client.post(f"{path}{query}", json=body)


def visited(client, body, path: str = "/visitor", query: str = "") -> dict:
    response = visit(client, body, path, query)
    assert response.status_code == 200, response.json
    [result] = response.json["results"]
    return result


def profile_of(api, ns: str, text: str) -> dict:
    response = api.profile(ns, text)
    assert response.status_code == 200, response.json
    return api.get(f"/v1/{ns}/profiles/{response.json['id']}").json


@pytest.mark.parametrize("path", VISITOR_PATHS)
def test_a_visitor_links_browser_and_user_and_writes_its_values(client, api, path):
    values = {"firstName": "Bruce", "educationStartYear": 2001, "tags": ["a", "b"]}
    body = {
        "folderId": "00000000000123ab",
        "browserId": "123xyz",
        "externalSystemType": "crm",
        "externalSystemUserId": "u1",
        "profileValues": values,
    }
    result = visited(client, body, path)
    assert (result["outcome"], result["folderId"]) == ("created", "00000000000123ab")
    profile = profile_of(api, "00000000000123ab", "browserId:123xyz")
    assert profile["id"] == result["profile_id"] and profile["attributes"] == values
    assert api.members("00000000000123ab", "ext:crm:u1") == {"browserId:123xyz", "ext:crm:u1"}


@pytest.mark.parametrize("path", VISITOR_PATHS)
def test_a_visitor_of_a_browser_alone_creates_it_then_updates_it(client, api, path):
    first = visited(
        client, {"browserId": "b1", "profileValues": {"a": 1, "b": 2}}, path, "?folderId=f1"
    )
    again = visited(client, {"folderId": "f1", "browserId": "b1", "profileValues": {"b": 3}}, path)
    assert (first["outcome"], again["outcome"]) == ("created", "noop")
    assert again["profile_id"] == first["profile_id"]
    profile = profile_of(api, "f1", "browserId:b1")
    assert profile["attributes"] == {"a": 1, "b": 3}
    assert [i["type"] for i in profile["identifiers"]] == ["browserId"]


def test_a_visitor_of_a_user_alone_uses_the_folders_default_system(client, api):
    visited(client, {"folderId": "f1", "externalSystemUserId": "u1", "profileValues": {"a": 1}})
    assert profile_of(api, "f1", "ext:default:u1")["attributes"] == {"a": 1}


def test_the_published_clients_visitor_without_values_links_and_writes_no_values(client, api):
    body = {"profileValues": None, "folderId": "f1", "browserId": "b1", "networkId": "net"}
    assert visited(client, {**body, "externalSystemUserId": "u1"})["outcome"] == "created"
    profile = profile_of(api, "f1", "browserId:b1")
    assert profile["attributes"] == {}
    assert api.members("f1", "browserId:b1") == {"browserId:b1", "ext:default:u1"}


def test_a_visitor_joins_the_profile_a_sync_made_and_null_deletes_a_value(client, api):
    [synced] = outcomes(client, sync_item())
    body = {**sync_item(), "profileValues": {"a": 1, "b": 2}}
    assert visited(client, body) == {**synced, "outcome": "noop"}
    visited(client, {**body, "profileValues": {"a": None}})
    assert profile_of(api, "f1", "ext:crm:u1")["attributes"] == {"b": 2}


def test_a_users_values_stay_with_the_user_when_the_browser_moves(client, api):
    visited(client, {**sync_item(user="u1"), "profileValues": {"firstName": "Ann"}})
    [moved] = outcomes(client, sync_item(user="u2"))
    assert moved["outcome"] == "moved"
    assert profile_of(api, "f1", "ext:crm:u1")["attributes"] == {"firstName": "Ann"}
    assert profile_of(api, "f1", "ext:crm:u2")["attributes"] == {}


def test_a_refused_visitor_writes_none_of_its_values(make_app, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[namespaces.f1]\non_conflict = { browserId = "reject" }\n')
    client = make_app(rules=str(rules)).test_client()
    outcomes(client, sync_item(user="u1"))
    refused = visited(client, {**sync_item(user="u2"), "profileValues": {"a": 1}})
    assert (refused["outcome"], refused["reason"]) == ("conflict", "unique_type:ext:crm")
    assert profile_of(Api(client), "f1", "browserId:b1")["attributes"] == {}


BAD_VISITORS = [
    pytest.param({"profileValues": {"x": ""}}, "profileValues.x", "empty string", id="empty-value"),
    pytest.param(
        {"profileValues": {"x": {"y": ""}}}, "profileValues.x.y", "empty", id="nested-empty"
    ),
    pytest.param(
        {"profileValues": {"x": "v" * 65_537}}, "profileValues.x", "longer than", id="too-long"
    ),
    pytest.param({"profileValues": {"": 1}}, "profileValues.", "attribute name", id="no-name"),
    pytest.param({"profileValues": ["x"]}, "profileValues", "mapping", id="not-an-object"),
    pytest.param(
        {"browserId": None, "externalSystemUserId": None},
        "browserId",
        "send browserId",
        id="browser-and-user-null",
    ),
    pytest.param({"browserId": "null"}, "browserId", "blocked", id="browser-blocked"),
    pytest.param({"externalSystemUserId": ""}, "externalSystemUserId", "empty", id="user-empty"),
    pytest.param({"networkId": 7}, "networkId", "string", id="network-number"),
    pytest.param({"colour": "red"}, "colour", "Unknown field", id="unknown-key"),
]


@pytest.mark.parametrize(("change", "field", "words"), BAD_VISITORS)
def test_a_bad_visitor_is_a_400_naming_the_field_and_nothing_is_written(
    app, client, error_of, change, field, words
):
    body = {**sync_item(), "profileValues": {"ok": 1}, **change}
    error = error_of(visit(client, body), 400, "invalid_input")
    [message] = error["details"]["items"]["0"][field]
    assert words in message
    assert error["message"].startswith(f"items[0].{field}: ")
    assert nothing_written(app, "f1")


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        pytest.param({"folderId": "f1"}, "browserId", "or both", id="nobody"),
        pytest.param(
            {"folderId": "f1", "browserId": "b1", "externalSystemType": "crm"},
            "externalSystemUserId",
            "needed with externalSystemType",
            id="system-without-user",
        ),
    ],
)
def test_a_visitor_must_name_a_browser_or_a_user(app, client, error_of, body, field, words):
    error = error_of(visit(client, {**body, "profileValues": {"a": 1}}), 400, "invalid_input")
    assert words in error["details"]["items"]["0"][field][0]
    assert nothing_written(app, "f1")


def test_a_visitor_takes_one_object(app, client, error_of):
    error = error_of(visit(client, [sync_item(), sync_item(user="u2")]), 400, "invalid_input")
    assert error["details"]["fields"] == {"body": ["send one object"]}
    assert nothing_written(app, "f1")


def test_a_visitor_folder_other_than_the_querys_is_a_400(app, client, error_of):
    response = visit(client, {**sync_item("f1"), "profileValues": {"a": 1}}, query="?folderId=f2")
    error = error_of(response, 400, "invalid_input")
    assert "differs from the query's folderId" in error["details"]["items"]["0"]["folderId"][0]
    assert nothing_written(app, "f1", "f2")


# --- /page: not idgraph's job, and it says so ------------------------------------------------


def test_a_page_view_is_a_404_naming_what_to_send_instead(app, client, error_of):
    body = {"keywords": ["sport"], "categories": ["IAB_24_44"], "folderId": "f1", "browserId": "b1"}
    error = error_of(client.post("/page", json=body), 404, "not_found")
    assert "does not record page views" in error["message"]
    assert "/sync" in error["message"] and "/visitor" in error["message"]
    assert error_of(client.post("/page", data="not json"), 404, "not_found") == error
    assert nothing_written(app, "f1")


ADNUNTIUS_PATHS = ("/sync", "/visitor", "/synchronous/visitor", "/page")


def test_the_openapi_document_describes_every_adnuntius_route(client):
    spec = client.get("/openapi.json").json
    routes = {path: spec["paths"][path]["post"] for path in ADNUNTIUS_PATHS}
    assert all(operation["tags"] == ["adnuntius"] for operation in routes.values())
    assert "404" in routes["/page"]["responses"] and "page views" in routes["/page"]["summary"]
    visitor = spec["components"]["schemas"]["VisitorItem"]["properties"]
    assert {"profileValues", "networkId", "browserId", "externalSystemUserId"} <= set(visitor)
    assert "/synchronous/sync" not in spec["paths"]  # Adnuntius documents none
    [query] = routes["/sync"]["parameters"]
    assert (query["name"], query["in"]) == ("folderId", "query")
