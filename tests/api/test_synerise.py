"""The Synerise face: seed 003's and 004's examples sent verbatim, updates, deletes, the
list, explicit merges and bad input. The merge matrix has its own module."""

from __future__ import annotations

import pytest
from synerise_client import NS, Synerise, synerise_error
from synerise_sdk.dto.profile import Profile

SAMPLE = "sampleclient@synerise.com"
# the keys of seed 003's example answer
SEED_PROFILE_KEYS = {
    "previousClients", "clientId", "email", "phone", "customId", "uuid", "firstName",
    "lastName", "displayName", "company", "address", "city", "province", "zipCode",
    "countryCode", "birthDate", "lastActivityDate", "sex", "avatarUrl", "anonymous",
    "agreements", "attributes", "tags",
}  # fmt: skip


@pytest.fixture
def sy(client) -> Synerise:
    return Synerise(client)


def store_of(sy: Synerise):
    return sy.client.application.extensions["idgraph.service"].store


# --- seed 003: creating, reading, updating, deleting ------------------------------------------


def test_seed_create_answers_202_and_the_profile_reads_back_in_the_seed_shape(sy):
    response = sy.post("/v4/clients", json={"email": SAMPLE})
    assert (response.status_code, response.data) == (202, b"")
    profile = sy.by("email", SAMPLE)
    assert set(profile) == SEED_PROFILE_KEYS
    assert isinstance(profile["clientId"], int)
    assert profile["uuid"] and sy.by("uuid", profile["uuid"]) == profile  # generated
    assert profile["anonymous"] is False
    assert profile["sex"] == "NOT_SPECIFIED"
    assert profile["agreements"] == dict.fromkeys(
        ["email", "sms", "push", "webPush", "bluetooth", "rfid", "wifi"], False
    )
    assert (profile["previousClients"], profile["tags"], profile["attributes"]) == ([], [], {})
    assert profile["lastActivityDate"].endswith("Z") and "." not in profile["lastActivityDate"]


def test_seed_update_changes_only_the_fields_sent(sy):
    sy.create(email=SAMPLE, city="Gdansk")
    response = sy.post(
        f"/v4/clients/by-email/{SAMPLE}", json={"firstName": "John", "lastName": "Smith"}
    )
    assert (response.status_code, response.data) == (202, b"")
    profile = sy.by("email", SAMPLE)
    assert (profile["firstName"], profile["lastName"], profile["city"]) == (
        "John",
        "Smith",
        "Gdansk",
    )


def test_seed_delete_answers_202_and_no_identifier_of_the_client_resolves(sy):
    profile = sy.create(email=SAMPLE, customId="c1", phone="+48601234567")
    response = sy.client.delete(f"/v4/clients/{profile['clientId']}", headers=sy.headers)
    assert (response.status_code, response.data) == (202, b"")
    for kind in ("email", "customId", "phone", "uuid"):
        assert sy.by(kind, profile[kind]) is None
    assert sy.client_id(profile["clientId"]).status_code == 404
    assert not [link for link in store_of(sy).iter_links(NS)]


def test_seed_batch_creates_two_and_updates_one(sy):
    existing = sy.create(email=SAMPLE)
    sy.batch(
        {"email": "newclient@synerise.com"},
        {"customId": "newClientCustomId"},
        {"email": SAMPLE, "firstName": "Michael"},
    )
    assert sy.by("email", "newclient@synerise.com")["anonymous"] is False
    assert sy.by("customId", "newClientCustomId")["anonymous"] is True
    updated = sy.by("email", SAMPLE)
    assert (updated["clientId"], updated["firstName"]) == (existing["clientId"], "Michael")


def test_null_deletes_a_custom_attribute_and_resets_a_built_in_one(sy):
    sy.create(email=SAMPLE, sex="FEMALE", tags=["vip"], agreements={"sms": True},
              attributes={"plan": "gold", "score": 7})  # fmt: skip
    resets = {"sex": None, "tags": None, "agreements": None, "attributes": {"plan": None}}
    sy.post(f"/v4/clients/by-email/{SAMPLE}", json=resets)
    profile = sy.by("email", SAMPLE)
    assert (profile["sex"], profile["tags"]) == ("NOT_SPECIFIED", [])
    assert profile["agreements"]["sms"] is False
    assert profile["attributes"] == {"score": 7}


def test_agreements_update_only_the_channels_sent(sy):
    sy.create(email=SAMPLE, agreements={"sms": True, "email": True})
    sy.post(f"/v4/clients/by-email/{SAMPLE}", json={"agreements": {"sms": False}})
    agreements = sy.by("email", SAMPLE)["agreements"]
    assert (agreements["sms"], agreements["email"]) == (False, True)


def test_an_update_sending_a_new_email_replaces_the_old_one(sy):
    profile = sy.create(email=SAMPLE)
    sy.post(f"/v4/clients/by-email/{SAMPLE}", json={"email": "renamed@synerise.com"})
    assert sy.by("email", "renamed@synerise.com")["clientId"] == profile["clientId"]
    assert sy.by("email", SAMPLE) is None


def test_updating_an_unknown_client_is_404_and_creates_nothing(sy):
    response = sy.post(f"/v4/clients/by-email/{SAMPLE}", json={"firstName": "John"})
    assert SAMPLE in synerise_error(response, 404, "not_found")["message"]
    assert sy.client.get("/crm/v1/list", headers=sy.headers).json == []


@pytest.mark.parametrize(
    ("kind", "value", "lookup"),
    [
        pytest.param("phone", "+48 601 234 567", "+48601234567", id="phone"),
        pytest.param(
            "uuid",
            "88F40B29-5BA8-437B-BA9D-6D3B99DFF80F",
            "88f40b29-5ba8-437b-ba9d-6d3b99dff80f",
            id="uuid",
        ),  # fmt: skip
        pytest.param("customId", "lue42", "lue42", id="customId"),
        pytest.param("email", " Ann@Example.COM", "ann@example.com", id="email"),
    ],
)
def test_every_identifier_reads_its_client_normalized(sy, kind, value, lookup):
    sy.batch({kind: value})
    assert sy.by(kind, lookup)[kind] == lookup


def test_an_absorbed_client_id_answers_the_survivor(sy):
    anonymous = sy.create(uuid="88f40b29-5ba8-437b-ba9d-6d3b99dff80f", city="Oslo")
    known = sy.create(email=SAMPLE, city="Rome")
    sy.batch({"uuid": anonymous["uuid"], "email": SAMPLE})
    survivor = sy.client_id(anonymous["clientId"]).json
    assert survivor["clientId"] == known["clientId"]
    assert survivor["city"] == "Rome"  # the recognized profile's data is kept


# --- seed 004: merging ------------------------------------------------------------------------


def test_seed_merge_by_uuid_and_customid_joins_two_anonymous_profiles(sy):
    uuid_profile = sy.create(uuid="88f40b29-5ba8-437b-ba9d-6d3b99dff80f")
    custom = sy.create(customId="lue42")
    sy.batch({"uuid": "88f40b29-5ba8-437b-ba9d-6d3b99dff80f", "customId": "lue42"})
    merged = sy.by("customId", "lue42")
    assert merged["clientId"] == custom["clientId"]
    assert merged["previousClients"] == [uuid_profile["clientId"]]


def test_three_pairs_make_three_profiles_not_one(sy):
    pairs = [{"uuid": f"00000000-0000-4000-8000-00000000000{n}", "email": f"p{n}@x.io"}
             for n in range(3)]  # fmt: skip
    sy.batch(*pairs)
    ids = {sy.by("email", pair["email"])["clientId"] for pair in pairs}
    assert len(ids) == 3


def merge(sy: Synerise, sources: str, target: str):
    return sy.post(f"/v4/clients/merge/from/custom-ids/{sources}/to/custom-id/{target}")


def test_seed_explicit_merge_keeps_the_target_and_retires_the_sources(sy):
    target = sy.create(customId="tla114", email="t@x.io", city="Warsaw")
    lue = sy.create(customId="lue42", email="l@x.io", city="Oslo", attributes={"plan": "x"})
    mjz = sy.create(customId="mjz84", email="m@x.io")
    response = merge(sy, "lue42,mjz84", "tla114")
    assert (response.status_code, response.data) == (202, b"")
    merged = sy.by("customId", "tla114")
    assert (merged["city"], merged["attributes"], merged["email"]) == ("Warsaw", {}, "t@x.io")
    assert sorted(merged["previousClients"]) == sorted([lue["clientId"], mjz["clientId"]])
    for gone in ("lue42", "mjz84"):
        assert sy.by("customId", gone) is None
    assert sy.by("email", "l@x.io") is None
    assert sy.by("uuid", lue["uuid"])["clientId"] == target["clientId"]  # non-unique moved


def test_an_explicit_merge_keeps_what_undo_needs(sy):
    sy.create(customId="t", email="t@x.io")
    sy.create(customId="s", email="s@x.io")
    merge(sy, "s", "t")
    links = list(store_of(sy).iter_links(NS))
    added = [link for link in links if link["operation"] == "merge"]
    ended = [link for link in links if link["end_reason"] == "merged"]
    assert added and all(link["merge_id"] for link in added)
    assert {link["ended_request_id"] for link in ended} == {added[0]["request_id"]}


def test_merging_more_than_20_sources_is_400(sy):
    response = merge(sy, ",".join(f"c{n}" for n in range(21)), "t")
    assert "sources" in synerise_error(response, 400, "invalid_input")["details"]["fields"]


def test_merging_a_missing_client_is_404_naming_it_and_changes_nothing(sy):
    sy.create(customId="t")
    sy.create(customId="s1")
    response = merge(sy, "s1,ghost", "t")
    assert "customId:ghost" in synerise_error(response, 404, "not_found")["message"]
    assert sy.by("customId", "s1")["previousClients"] == []


@pytest.mark.parametrize(
    "sources", [pytest.param("a,,b", id="empty-name"), pytest.param("t", id="target-is-source")]
)
def test_bad_merge_sources_are_400(sy, sources):
    synerise_error(merge(sy, sources, "t"), 400, "invalid_input")


# --- the list ---------------------------------------------------------------------------------


def test_the_list_filters_by_identifier_and_pages_with_a_cursor(sy):
    for n in range(5):
        sy.batch({"customId": f"c{n}", **({"email": f"e{n}@x.io"} if n % 2 == 0 else {})})
    listed = sy.client.get("/crm/v1/list?has=email&limit=2", headers=sy.headers)
    assert [p["customId"] for p in listed.json] == ["c0", "c2"]
    cursor = listed.headers["X-Next-Cursor"]
    rest = sy.client.get(f"/crm/v1/list?has=email&limit=2&cursor={cursor}", headers=sy.headers)
    assert [p["customId"] for p in rest.json] == ["c4"]
    assert "X-Next-Cursor" not in rest.headers


def test_the_list_filters_by_update_time(sy):
    sy.batch({"customId": "old"})
    sy.batch({"customId": "new"})
    at = sy.client.get(f"/v1/{NS}/identifiers/customId/new").json["updated_at"]

    def listed(query: str) -> list[str]:
        response = sy.client.get(f"/crm/v1/list?{query}", headers=sy.headers)
        return [p["customId"] for p in response.json]

    assert listed(f"updatedFrom={at}") == ["new"]
    assert listed(f"updatedTo={at}") == ["old"]


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("limit=10001", id="over-10000"),
        pytest.param("limit=0", id="zero"),
        pytest.param("has=fax", id="unknown-identifier"),
        pytest.param("updatedFrom=yesterday", id="bad-time"),
        pytest.param("cursor=abc", id="bad-cursor"),
    ],
)
def test_bad_list_arguments_are_400(sy, query):
    synerise_error(sy.client.get(f"/crm/v1/list?{query}", headers=sy.headers), 400, "invalid_input")


# --- namespaces and rules ---------------------------------------------------------------------


def test_the_namespace_header_isolates_workspaces(client):
    one, two = Synerise(client, "ws1"), Synerise(client, "ws2")
    one.batch({"email": SAMPLE})
    assert two.by("email", SAMPLE) is None
    assert client.get(f"/v1/ws1/identifiers/email/{SAMPLE}").status_code == 200


def test_a_bad_namespace_header_is_400(client):
    response = client.get("/crm/v1/list", headers={"X-Idgraph-Namespace": "a/b"})
    error = synerise_error(response, 400, "invalid_input")
    assert "X-Idgraph-Namespace" in error["details"]["fields"]


def test_without_the_header_the_namespace_is_default(client):
    client.post("/v4/clients", json={"email": SAMPLE})
    assert client.get(f"/v1/default/identifiers/email/{SAMPLE}").status_code == 200


def test_customid_recognizes_where_a_namespace_has_non_unique_emails(make_app, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[namespaces.shared]\nrecognizing_types = ["customId"]\n'
        'unique_types = ["customId", "phone"]\n'
    )
    sy = Synerise(make_app(rules=str(rules)).test_client(), "shared")
    anonymous = sy.create(email="family@x.io")
    assert anonymous["anonymous"] is True
    sy.create(customId="c1")
    sy.batch({"email": "family@x.io", "customId": "c1"})  # A anonymous: merged into B
    merged = sy.by("customId", "c1")
    assert merged["previousClients"] == [anonymous["clientId"]]
    assert merged["anonymous"] is False


# --- nulls, as clients built on data classes send them (the Synerise SDK's Profile) ------------


def test_the_synerise_sdks_profile_body_creates_the_client(sy):
    body = Profile(email=SAMPLE).asdict()  # phone, area_code, agreements, uuid: null
    response = sy.post("/v4/clients", json=body)
    assert (response.status_code, response.data) == (202, b"")
    profile = sy.by("email", SAMPLE)
    assert profile["uuid"] and profile["phone"] is None  # generated: a null uuid is not sent


def test_an_identifier_sent_as_null_is_not_sent_so_it_keeps_its_value(sy):
    before = sy.create(email=SAMPLE, customId="c1", phone="+48601234567")
    nulls = {"customId": None, "phone": None, "uuid": None, "city": "Oslo"}
    assert sy.post(f"/v4/clients/by-email/{SAMPLE}", json=nulls).status_code == 202
    sy.batch({"email": SAMPLE, "customId": None, "firstName": "Ann"})
    after = sy.by("email", SAMPLE)
    assert {k: after[k] for k in ("customId", "phone", "uuid", "city", "firstName")} == {
        "customId": "c1",
        "phone": "+48601234567",
        "uuid": before["uuid"],
        "city": "Oslo",
        "firstName": "Ann",
    }


def test_an_unknown_field_sent_as_null_is_dropped_and_one_with_a_value_is_400(sy):
    assert sy.post("/v4/clients", json={"email": SAMPLE, "area_code": None}).status_code == 202
    response = sy.post("/v4/clients", json={"email": "b@x.io", "area_code": "+48"})
    error = synerise_error(response, 400, "invalid_input")
    assert error["details"]["fields"] == {"area_code": ["Unknown field."]}
    assert sy.by("email", "b@x.io") is None


def test_an_object_whose_identifiers_are_all_null_names_no_client(sy):
    response = sy.post("/v4/clients", json={"email": None, "uuid": None, "firstName": "Ann"})
    assert "body" in synerise_error(response, 400, "invalid_input")["details"]["fields"]


# --- bad input --------------------------------------------------------------------------------

BAD_CLIENTS = [
    pytest.param({"email": "not-an-email"}, "email", id="email"),
    pytest.param({"uuid": "123"}, "uuid", id="uuid"),
    pytest.param({"phone": "12345"}, "phone", id="phone"),
    pytest.param({"customId": ""}, "customId", id="customId-empty"),
    pytest.param({"email": 5}, "email", id="email-number"),
    pytest.param({"email": SAMPLE, "firstName": ""}, "firstName", id="empty-string"),
    pytest.param({"email": SAMPLE, "sex": "M"}, "sex", id="sex"),
    pytest.param({"email": SAMPLE, "birthDate": "17.05.1990"}, "birthDate", id="birth-date"),
    pytest.param({"email": SAMPLE, "countryCode": "POL"}, "countryCode", id="country-code"),
    pytest.param({"email": SAMPLE, "agreements": {"sms": "yes"}}, "agreements.sms", id="agree"),
    pytest.param({"email": SAMPLE, "agreements": {"fax": True}}, "agreements.fax", id="agree-k"),
    pytest.param({"email": SAMPLE, "tags": ["vip", ""]}, "tags.1", id="empty-tag"),
    pytest.param({"email": SAMPLE, "tags": "vip"}, "tags", id="tags-not-a-list"),
    pytest.param({"email": SAMPLE, "attributes": {"plan": ""}}, "attributes.plan", id="attr"),
    pytest.param({"email": SAMPLE, "attributes": {"city": "x"}}, "attributes.city", id="built"),
    pytest.param({"email": SAMPLE, "nickname": "x"}, "nickname", id="unknown-field"),
    pytest.param({"firstName": "John"}, "body", id="no-identifier"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CLIENTS)
def test_a_bad_client_is_400_naming_the_field_and_writes_nothing(sy, body, field):
    error = synerise_error(sy.post("/v4/clients", json=body), 400, "invalid_input")
    assert field in error["details"]["fields"], error
    assert sy.client.get("/crm/v1/list", headers=sy.headers).json == []


@pytest.mark.parametrize(("body", "field"), BAD_CLIENTS)
def test_a_bad_batch_object_is_400_naming_its_index_and_the_batch_writes_nothing(sy, body, field):
    response = sy.post("/v4/clients/batch", json=[{"email": "ok@x.io"}, body])
    error = synerise_error(response, 400, "invalid_input")
    problems = error["details"].get("items", {}).get("1", {})
    assert field.replace("body", "item") in problems, error
    assert sy.by("email", "ok@x.io") is None


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        pytest.param("/v4/clients/abc", 400, "invalid_input", id="client-id-not-a-number"),
        pytest.param("/v4/clients/by-fax/123", 404, "not_found", id="unknown-identifier-kind"),
    ],
)
def test_bad_paths(sy, path, status, code):
    synerise_error(sy.client.get(path, headers=sy.headers), status, code)


def test_an_empty_batch_is_400(sy):
    synerise_error(sy.post("/v4/clients/batch", json=[]), 400, "invalid_input")


def test_the_openapi_document_shows_synerise_under_its_tag(client):
    spec = client.get("/openapi.json").json
    assert spec["paths"]["/v4/clients/batch"]["post"]["tags"] == ["synerise"]
    assert "/crm/v1/list" in spec["paths"]
