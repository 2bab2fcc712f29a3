"""Every rejection is a 400 (413 for an oversized body) in the one error shape, names the item
and the field, and changes nothing: a batch with one bad item applies none."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from apitools import identifiers
from synerise_client import synerise_error

NS = "shop"
GOOD = {"identifiers": identifiers("email:a@x.io", "browserId:b1")}


def nothing_written(app, ns: str = NS) -> bool:
    store = app.extensions["idgraph.service"].store
    return list(store.iter_identifiers(ns)) == [] and list(store.iter_links(ns)) == []


def post(client, body, ns: str = NS, **kwargs):
    return client.post(f"/v1/{ns}/links", json=body, **kwargs)


def shape_of(path: str, error_of):
    """The error helper of a path: Synerise's routes answer in Synerise's shape."""
    return synerise_error if path.startswith(("/v4/", "/crm/")) else error_of


BAD_ITEMS = [
    pytest.param(
        {"identifiers": identifiers("email:a@x.io")},
        "identifiers",
        "at least 2",
        id="single-identifier",
    ),
    pytest.param(
        {"identifiers": identifiers("email:not-an-email", "browserId:b1")},
        "identifiers.0.value",
        "not a valid email",
        id="invalid-email",
    ),
    pytest.param(
        {"identifiers": identifiers("phone:12", "browserId:b1")},
        "identifiers.0.value",
        "not a valid phone",
        id="invalid-phone",
    ),
    pytest.param(
        {"identifiers": identifiers("browserId:b1", "customId:null")},
        "identifiers.1.value",
        "blocked",
        id="blocked-value",
    ),
    pytest.param(
        {"identifiers": identifiers("email:test@test.com", "browserId:b1")},
        "identifiers.0.value",
        "blocked",
        id="blocked-email",
    ),
    pytest.param(
        {"identifiers": [{"type": "email", "value": "  "}, {"type": "browserId", "value": "b"}]},
        "identifiers.0.value",
        "empty",
        id="empty-after-trim",
    ),
    pytest.param(
        {"identifiers": [{"type": "email", "value": 42}, {"type": "browserId", "value": "b1"}]},
        "identifiers.0.value",
        "Not a valid string",
        id="number-as-value",
    ),
    pytest.param(
        {"identifiers": [{"type": "bad type!", "value": "x"}, {"type": "browserId", "value": "b"}]},
        "identifiers.0.type",
        "not a valid identifier type",
        id="invalid-type",
    ),
    pytest.param(
        {"identifiers": identifiers("email:A@x.io", "email:a@x.io")},
        "identifiers.1",
        "appears twice",
        id="same-identifier-twice",
    ),
    pytest.param(
        {"identifiers": identifiers("email:a@x.io", "browserId:b2"), "attributes": {"city": ""}},
        "attributes.city",
        "empty string",
        id="empty-attribute",
    ),
    pytest.param(
        {"identifiers": "email:a@x.io"},
        "identifiers",
        "Not a valid list",
        id="identifiers-not-a-list",
    ),
    pytest.param(
        {"identifiers": identifiers("email:a@x.io", "browserId:b2"), "colour": "red"},
        "colour",
        "Unknown field",
        id="unknown-field",
    ),
]


@pytest.mark.parametrize(("bad_item", "field", "words"), BAD_ITEMS)
def test_a_bad_item_names_its_index_and_field_and_the_batch_writes_nothing(
    app, client, error_of, bad_item, field, words
):
    response = post(client, {"items": [GOOD, GOOD, bad_item]})
    error = error_of(response, 400, "invalid_input")
    problems = error["details"]["items"]["2"]
    assert words in problems[field][0]
    assert error["message"].startswith("items[2].")
    assert nothing_written(app)


def test_every_bad_item_of_a_batch_is_reported(client, error_of):
    bad = {"identifiers": identifiers("email:nope", "browserId:b1")}
    response = post(client, {"items": [bad, GOOD, bad]})
    error = error_of(response, 400, "invalid_input")
    assert sorted(error["details"]["items"]) == ["0", "2"]
    assert "(and 1 more)" in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "items", id="no-items"),
        pytest.param({"items": []}, "items", id="empty-items"),
        pytest.param({"items": {"a": 1}}, "items", id="items-not-a-list"),
        pytest.param({"items": [GOOD], "source": 7}, "source", id="source-not-a-string"),
        pytest.param(
            {"items": [GOOD], "request_id": "has space"}, "request_id", id="bad-request-id"
        ),
        pytest.param([GOOD], "body", id="body-not-an-object"),
    ],
)
def test_a_malformed_batch_names_the_field(app, client, error_of, body, field):
    error = error_of(post(client, body), 400, "invalid_input")
    assert field in error["details"]["fields"] or field in str(error["details"])
    assert nothing_written(app)


def test_malformed_json_is_a_400(app, client, error_of):
    response = client.post(f"/v1/{NS}/links", data='{"items": [', content_type="application/json")
    error = error_of(response, 400, "invalid_input")
    assert "JSON" in error["message"]
    assert nothing_written(app)


@pytest.mark.parametrize("namespace", ["has space", "a" * 129, "semi;colon", "ünïcode"])
def test_a_namespace_outside_the_allowed_characters_is_a_400(app, client, error_of, namespace):
    error = error_of(post(client, {"items": [GOOD]}, ns=namespace), 400, "invalid_input")
    assert "ns" in error["details"]["fields"]
    assert nothing_written(app, namespace)


def test_a_namespace_may_use_letters_digits_dot_colon_dash_underscore(client):
    assert post(client, {"items": [GOOD]}, ns="Folder_00aa.b:c-1").status_code == 200


def test_more_items_than_the_limit_is_a_400(make_app, error_of):
    app = make_app(max_batch_items=3)
    response = post(app.test_client(), {"items": [GOOD] * 4})
    error = error_of(response, 400, "invalid_input")
    assert error["details"]["fields"]["items"] == ["send 1 to 3 items"]
    assert nothing_written(app)


def test_a_body_over_the_size_limit_is_a_413(make_app, error_of):
    app = make_app(max_body_bytes=1024)
    big = {"identifiers": identifiers("email:a@x.io", "browserId:" + "b" * 400)}
    response = post(app.test_client(), {"items": [big, big, big]})
    error_of(response, 413, "request_entity_too_large")
    assert nothing_written(app)


def test_a_profile_id_that_is_not_a_number_is_a_400(client, error_of):
    error = error_of(client.get(f"/v1/{NS}/profiles/abc"), 400, "invalid_input")
    assert "profile_id" in error["details"]["fields"]


def test_an_invalid_lookup_value_is_a_400(client, error_of):
    error = error_of(client.get(f"/v1/{NS}/identifiers/phone/abc"), 400, "invalid_input")
    assert "value" in error["details"]["fields"]


def test_a_key_sent_twice_in_one_object_is_refused_not_read_as_last_wins(client) -> None:
    body = (
        '{"items": [{"identifiers": [{"type": "email", "value": "a@example.com"},'
        ' {"type": "email", "type": "phone", "value": "+48601234567"}]}]}'
    )
    response = client.post("/v1/ns/links", data=body, content_type="application/json")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["details"]["items"]["0"] == {
        "identifiers.1.type": ["sent twice in one object: send each key once"]
    }
    assert client.get("/v1/ns/identifiers/email/a@example.com").status_code == 404


# --- bodies that are not Unicode text (found by fuzzing, tests/e2e/test_fuzz.py) ---------------


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(f"/v1/{NS}/links", id="links"),
        pytest.param(f"/v1/{NS}/merges/1/undo", id="undo-optional-body"),
        pytest.param("/v4/clients/by-email/a@x.io", id="synerise-update-optional-body"),
        pytest.param("/sync", id="adnuntius"),
    ],
)
def test_a_body_that_is_not_utf8_is_a_400_not_read_as_no_body(app, client, error_of, path):
    response = client.post(path, data=b"\x1b\xff\xfe", content_type="application/json")
    error = shape_of(path, error_of)(response, 400, "invalid_input")
    assert error["details"]["fields"]["body"] == [
        "not JSON: not UTF-8 text (byte 1: invalid start byte)"
    ]
    assert nothing_written(app)


def _with_lone_surrogate(body: str) -> str:
    """JSON text with a lone surrogate escape where ``@`` stands (valid JSON, not Unicode)."""
    return body.replace("@", "\\ud800")


@pytest.mark.parametrize(
    ("body", "item", "field"),
    [
        pytest.param(
            '{"items": [{"identifiers": [{"type": "customId", "value": "c@"},'
            ' {"type": "browserId", "value": "b1"}]}]}',
            "0",
            "identifiers.0.value",
            id="identifier-value",
        ),
        pytest.param(
            '{"items": [{"identifiers": [{"type": "customId", "value": "c1"},'
            ' {"type": "browserId", "value": "b1"}], "attributes": {"city": "Os@lo"}}]}',
            "0",
            "attributes.city",
            id="attribute-value",
        ),
        pytest.param(
            '{"items": [{"identifiers": [{"type": "customId", "value": "c1"},'
            ' {"type": "browserId", "value": "b1"}], "attributes": {"ci@ty": "Oslo"}}]}',
            "0",
            "attributes.ci\ufffdty",
            id="attribute-name",
        ),
        pytest.param(
            '{"items": [{"identifiers": [{"type": "customId", "value": "c1"},'
            ' {"type": "browserId", "value": "b1"}]}], "source": "web@"}',
            None,
            "source",
            id="source",
        ),
    ],
)
def test_a_lone_surrogate_is_a_400_naming_the_field(app, client, error_of, body, item, field):
    response = client.post(
        f"/v1/{NS}/links", data=_with_lone_surrogate(body), content_type="application/json"
    )
    error = error_of(response, 400, "invalid_input")
    problems = error["details"]["items"][item] if item else error["details"]["fields"]
    assert "lone surrogate" in problems[field][0]
    assert nothing_written(app)


def test_a_surrogate_pair_is_one_character_and_is_accepted(client):
    body = (
        '{"items": [{"identifiers": [{"type": "customId", "value": "c\\ud83d\\ude00"},'
        ' {"type": "browserId", "value": "b1"}]}]}'
    )
    response = client.post(f"/v1/{NS}/links", data=body, content_type="application/json")
    assert response.status_code == 200, response.json
    assert client.get(f"/v1/{NS}/identifiers/customId/c\U0001f600").status_code == 200


def test_a_lone_surrogate_in_one_adnuntius_object_names_item_0(app, client, error_of):
    body = _with_lone_surrogate(
        '{"folderId": "shop", "browserId": "b@", "externalSystemType": "crm",'
        ' "externalSystemUserId": "u1"}'
    )
    response = client.post("/sync", data=body, content_type="application/json")
    error = error_of(response, 400, "invalid_input")
    assert "lone surrogate" in error["details"]["items"]["0"]["browserId"][0]
    assert nothing_written(app)


# --- identifier values are untrusted ----------------------------------------------------------


def test_every_identifier_value_over_the_limit_is_named_by_item_and_field(app, client, error_of):
    too_long = {"identifiers": identifiers("browserId:b1", "customId:" + "x" * 513)}
    response = post(client, {"items": [GOOD, too_long, GOOD, too_long]})
    error = error_of(response, 400, "invalid_input")
    assert sorted(error["details"]["items"]) == ["1", "3"]
    for item in ("1", "3"):
        assert error["details"]["items"][item] == {
            "identifiers.1.value": ["longer than 512 characters"]
        }
    assert nothing_written(app)


def test_a_value_of_512_characters_is_accepted(client):
    item = {"identifiers": identifiers("browserId:b1", "customId:" + "x" * 512)}
    assert post(client, {"items": [item]}).status_code == 200


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("a\x00b", id="nul"),
        pytest.param("a\x1b[31mb", id="escape"),
        pytest.param("a\nb", id="inner-newline"),
        pytest.param("a\x7fb", id="delete"),
        pytest.param("a\x9bb", id="c1"),
    ],
)
def test_a_control_character_in_a_value_is_a_400_naming_the_field(app, client, error_of, value):
    item = {"identifiers": identifiers("browserId:b1") + [{"type": "ext:crm", "value": value}]}
    error = error_of(post(client, {"items": [item]}), 400, "invalid_input")
    problems = error["details"]["items"]["0"]
    assert problems == {"identifiers.1.value": ["contains control characters"]}
    assert nothing_written(app)


def test_a_composed_and_a_decomposed_email_are_one_identifier(api):
    composed, decomposed = "am\u00e9lie@example.com", "Ame\u0301lie@Example.com"
    assert api.outcomes(NS, (f"email:{decomposed}", "browserId:b1")) == [("created", 1)]
    assert api.outcomes(NS, (f"email:{composed}", "browserId:b1")) == [("noop", 1)]
    assert api.members(NS, f"email:{decomposed}") == {f"email:{composed}", "browserId:b1"}


INJECTIONS = [
    "' OR 1=1 --",
    '"}) DETACH DELETE n //',
    "'; DROP TABLE identifiers; --",
    "x'); DELETE FROM links; --",
    "MATCH (n) DETACH DELETE n",
    "$ns} RETURN 1 UNION MATCH (n) RETURN n //",
    "%s %(ns)s {0} {ns}",
    "\\' OR \\'1\\'=\\'1",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_value_that_looks_like_a_query_is_stored_and_read_back_verbatim(api, value):
    item = {
        "identifiers": [{"type": "customId", "value": value}, {"type": "browserId", "value": "b1"}],
        "attributes": {"note": value, value: "named like a query"},
    }
    response = api.link(NS, item, source=value[:128])
    assert response.status_code == 200, response.json
    profile = api.get(f"/v1/{NS}/identifiers/customId/{quote(value, safe='')}")
    assert profile.status_code == 200, profile.json
    assert {"type": "customId", "value": value} in profile.json["identifiers"]
    assert profile.json["attributes"] == {"note": value, value: "named like a query"}
    lineage = api.get(f"/v1/{NS}/profiles/{profile.json['id']}/lineage").json
    assert {link["source"] for link in lineage["links"]} == {value[:128]}
    assert api.members(NS, "browserId:b1") == {f"customId:{value}", "browserId:b1"}


# --- numeric ids and cursors (found by fuzzing) -----------------------------------------------

NOT_ASCII_NUMBERS = [
    pytest.param("%C2%B9", id="superscript-one"),  # "¹": str.isdigit() says yes, int() no
    pytest.param("%D9%A3", id="arabic-indic-three"),  # "٣": int() would read it as 3
    pytest.param("1" * 19, id="over-64-bits"),
]


@pytest.mark.parametrize("raw", NOT_ASCII_NUMBERS)
@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        pytest.param("GET", f"/v1/{NS}/profiles/{{}}", "profile_id", id="profile"),
        pytest.param("DELETE", f"/v1/{NS}/profiles/{{}}", "profile_id", id="purge"),
        pytest.param("PATCH", f"/v1/{NS}/profiles/{{}}/attributes", "profile_id", id="attributes"),
        pytest.param("GET", f"/v1/{NS}/profiles/{{}}/lineage", "profile_id", id="lineage"),
        pytest.param("POST", f"/v1/{NS}/links/{{}}/end", "link_id", id="end-link"),
        pytest.param("POST", f"/v1/{NS}/merges/{{}}/undo", "merge_id", id="undo"),
        pytest.param("DELETE", f"/v1/{NS}/bans/{{}}", "ban_id", id="ban"),
        pytest.param("GET", f"/v1/{NS}/conflicts?profile={{}}", "profile", id="conflicts-of"),
        pytest.param("GET", "/v4/clients/{}", "clientId", id="synerise-client"),
    ],
)
def test_an_id_that_is_not_ascii_digits_is_a_400_not_a_500(
    client, error_of, method, path, field, raw
):
    body = {"reason": "r"} if method == "POST" else {"city": "Oslo"} if method == "PATCH" else None
    response = client.open(path.format(raw), method=method, json=body)
    error = shape_of(path, error_of)(response, 400, "invalid_input")
    assert field in error["details"]["fields"]


@pytest.mark.parametrize("cursor", ["%C2%B9", "%D9%A3", "9" * 25])
@pytest.mark.parametrize(
    "path",
    [f"/v1/{NS}/conflicts", f"/v1/{NS}/bans", f"/v1/{NS}/purges", "/crm/v1/list"],
)
def test_a_cursor_that_is_not_a_64_bit_number_is_a_400_not_a_500(client, error_of, path, cursor):
    error = shape_of(path, error_of)(client.get(f"{path}?cursor={cursor}"), 400, "invalid_input")
    assert error["details"]["fields"]["cursor"] == ["not a valid cursor"]
