"""POST /sync, Adnuntius Data's route: one object or an array, each folder its own namespace,
one transaction, one outcome per object."""

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
