"""Omnidesk's customer sync API (seed 002) at its own paths: create, update, add a channel,
purge. The brand is the namespace; answers are ``{"type": "result", "message": ...}``."""

from __future__ import annotations

import pytest

BRAND = 7
CREATE = "/api/v2/customer"
UPDATE = "/api/v2/customer/updateCustomer"
ADD = "/api/v2/customer/addchannelonly"
PURGE = "/api/v2/customer/purgedata"
CREATED = {"type": "result", "message": "User created and channel linked."}
UPDATED = {"type": "result", "message": "Customer updated."}
ADDED = {"type": "result", "message": "Channel added to the customer."}
PURGED = {"type": "result", "message": "Customer data purged."}

# Bodies built from the seed's tables, every documented field present.
SEED_CREATE = {
    "ticket_id": 1234,
    "noSync": True,
    "loyaltyLevel": "gold",
    "customer_link_channel": "ann@example.com",
    "lastname": "Lee",
    "firstname": "Ann",
    "brand_id": 7,
    "primary_id": "c-1",
    "channel_id": "email",
}
SEED_UPDATE = {
    "externalPrimaryID": "c-1",
    "brandID": "7",
    "loyaltyLevel": "platinum",
    "lastname": "Lee-Smith",
    "firstname": "Anna",
}
SEED_ADD = {
    "noSync": True,
    "extra_facebook": "ann.lee.fb",
    "extra_twitter": "@annlee",
    "extra_telephone": "+48601234567",
    "extra_email": "ann.work@example.com",
    "brand_id": "7",
    "primary_id": "c-1",
}
SEED_PURGE = {"external_id": "c-1", "brand_id": 7}


def customer(primary_id: str = "c-1", address: str = "ann@example.com", **fields) -> dict:
    body = {"brand_id": BRAND, "primary_id": primary_id, "channel_id": "email"}
    return {**body, "customer_link_channel": address, **fields}


def create(client, body: dict) -> None:
    response = client.post(CREATE, json=body)
    assert (response.status_code, response.json) == (200, CREATED), response.json


def profile(api, text: str, brand: object = BRAND) -> dict:
    response = api.profile(str(brand), text)
    assert response.status_code == 200, response.json
    return response.json


def members(api, text: str, brand: object = BRAND) -> set[str]:
    return api.members(str(brand), text)


def stored(app, brand: object = BRAND) -> tuple[list, list]:
    store = app.extensions["idgraph.service"].store
    return list(store.iter_identifiers(str(brand))), list(store.iter_links(str(brand)))


def field_error(error_of, response, field: str) -> list[str]:
    """The 400's messages for ``field``, which the error's message names first."""
    error = error_of(response, 400, "invalid_input")
    assert error["message"].startswith(f"{field}: "), error
    return error["details"]["fields"][field]


# --- the seed's examples, as documented -------------------------------------------------------


def test_the_seed_create_makes_one_customer_with_address_ticket_and_fields(client, api):
    response = client.post(CREATE, json=SEED_CREATE)
    assert (response.status_code, response.json) == (200, CREATED)
    view = profile(api, "customId:c-1")
    assert members(api, "customId:c-1") == {
        "customId:c-1",
        "email:ann@example.com",
        "ticket:1234",
    }
    assert view["attributes"] == {"firstName": "Ann", "lastName": "Lee", "loyaltyLevel": "gold"}
    assert view["recognized"] is True


def test_the_seed_update_changes_names_and_custom_fields(client, api):
    create(client, SEED_CREATE)
    response = client.put(UPDATE, json=SEED_UPDATE)
    assert (response.status_code, response.json) == (200, UPDATED)
    attributes = profile(api, "customId:c-1")["attributes"]
    assert attributes == {"firstName": "Anna", "lastName": "Lee-Smith", "loyaltyLevel": "platinum"}


def test_the_seed_add_channel_links_every_extra_address(client, api):
    create(client, SEED_CREATE)
    response = client.post(ADD, json=SEED_ADD)
    assert (response.status_code, response.json) == (200, ADDED)
    assert members(api, "phone:+48601234567") == {
        "customId:c-1",
        "email:ann@example.com",
        "ticket:1234",
        "email:ann.work@example.com",
        "phone:+48601234567",
        "facebook:ann.lee.fb",
        "twitter:@annlee",
    }


def test_the_seed_purge_answers_200_with_a_result_message(client, api):
    create(client, SEED_CREATE)
    response = client.delete(PURGE, json=SEED_PURGE)
    assert (response.status_code, response.json) == (200, PURGED)


@pytest.mark.parametrize(
    ("channel", "address", "identifier"),
    [
        ("email", " Ann@Example.COM ", "email:ann@example.com"),
        ("telephone", "+48 601 234 567", "phone:+48601234567"),
        ("facebook", "ann.lee.fb", "facebook:ann.lee.fb"),
        ("twitter", "@annlee", "twitter:@annlee"),
    ],
)
def test_each_channel_links_its_address_normalized(client, api, channel, address, identifier):
    create(client, customer(channel_id=channel, customer_link_channel=address))
    assert members(api, identifier) == {"customId:c-1", identifier}


def test_a_ticket_id_as_a_number_or_a_string_is_one_ticket(client, api):
    create(client, customer(ticket_id=42))
    create(client, customer(ticket_id="42"))
    assert members(api, "ticket:42") == {"customId:c-1", "email:ann@example.com", "ticket:42"}


def test_custom_fields_may_be_numbers_and_booleans(client, api):
    create(client, customer(visits=3, score=4.5, vip=True))
    assert profile(api, "customId:c-1")["attributes"] == {"visits": 3, "score": 4.5, "vip": True}


# --- brands, several addresses, conflicts -----------------------------------------------------


def test_brand_7_and_brand_string_7_are_one_namespace(client, api):
    create(client, customer(firstname="Ann", lastname="Lee", brand_id=7))
    body = {"brandID": "7", "externalPrimaryID": "c-1", "firstname": "Anna", "lastname": "Ray"}
    assert client.put(UPDATE, json=body).json == UPDATED
    response = client.get("/v1/7/identifiers/customId/c-1")
    assert response.json["attributes"] == {"firstName": "Anna", "lastName": "Ray"}


def test_the_same_primary_id_in_two_brands_is_two_customers(client, api):
    create(client, customer(brand_id=7))
    create(client, customer(brand_id="8", customer_link_channel="ann@other.example"))
    assert members(api, "customId:c-1", 7) == {"customId:c-1", "email:ann@example.com"}
    assert members(api, "customId:c-1", 8) == {"customId:c-1", "email:ann@other.example"}


def test_a_customer_may_hold_two_emails(client, api):
    create(client, customer())
    body = {"brand_id": BRAND, "primary_id": "c-1", "extra_email": "ann.work@example.com"}
    assert client.post(ADD, json=body).json == ADDED
    first, second = (
        profile(api, "email:ann@example.com"),
        profile(api, "email:ann.work@example.com"),
    )
    assert first["id"] == second["id"]
    assert members(api, "customId:c-1") == {
        "customId:c-1",
        "email:ann@example.com",
        "email:ann.work@example.com",
    }


def test_an_address_of_another_customer_is_a_409_naming_its_primary_id(client, api, error_of):
    create(client, customer("c-1", "ann@example.com", firstname="Ann"))
    create(client, customer("c-2", "bob@example.com", firstname="Bob"))
    before = profile(api, "customId:c-1"), profile(api, "customId:c-2")
    response = client.post(
        ADD, json={"brand_id": 7, "primary_id": "c-2", "extra_email": "ann@example.com"}
    )
    error = error_of(response, 409, "conflict")
    assert error["message"] == (
        "extra_email: email:ann@example.com is already linked to the customer with primary id "
        "'c-1'; nothing was changed"
    )
    assert error["details"] == {"holder_primary_id": "c-1", "reason": "unique_type:customId"}
    assert (profile(api, "customId:c-1"), profile(api, "customId:c-2")) == before
    [logged] = api.get(f"/v1/{BRAND}/conflicts").json["conflicts"]
    assert logged["rule"] == "unique_type:customId"
    assert set(logged["profiles"]) == {before[0]["id"], before[1]["id"]}


def test_creating_a_customer_with_a_held_address_is_a_409_and_writes_nothing(client, api, error_of):
    create(client, customer("c-1", "ann@example.com"))
    before = profile(api, "customId:c-1")
    response = client.post(CREATE, json=customer("c-2", "ANN@example.com", firstname="Eve"))
    error = error_of(response, 409, "conflict")
    assert error["message"] == (
        "customer_link_channel: email:ann@example.com is already linked to the customer with "
        "primary id 'c-1'; nothing was changed"
    )
    assert error["details"]["holder_primary_id"] == "c-1"
    assert profile(api, "customId:c-1") == before
    assert api.profile(str(BRAND), "customId:c-2").status_code == 404
    assert len(api.get(f"/v1/{BRAND}/conflicts").json["conflicts"]) == 1


# --- updateCustomer ---------------------------------------------------------------------------


def test_update_changes_only_the_fields_sent(client, api):
    create(client, customer(firstname="Ann", lastname="Lee", city="Oslo"))
    assert (
        client.put(UPDATE, json={"brandID": 7, "externalPrimaryID": "c-1", "lastname": "Ray"}).json
        == UPDATED
    )
    assert profile(api, "customId:c-1")["attributes"] == {
        "firstName": "Ann",
        "lastName": "Ray",
        "city": "Oslo",
    }


def test_update_with_null_deletes_a_custom_field(client, api):
    create(client, customer(firstname="Ann", city="Oslo"))
    body = {"brandID": 7, "externalPrimaryID": "c-1", "city": None}
    assert client.put(UPDATE, json=body).json == UPDATED
    assert profile(api, "customId:c-1")["attributes"] == {"firstName": "Ann"}


@pytest.mark.parametrize("field", ["firstname", "lastname", "city"])
def test_update_with_an_empty_string_is_a_400_naming_the_field(client, api, error_of, field):
    create(client, customer(firstname="Ann", lastname="Lee", city="Oslo"))
    before = profile(api, "customId:c-1")
    response = client.put(UPDATE, json={"brandID": 7, "externalPrimaryID": "c-1", field: ""})
    assert "empty" in field_error(error_of, response, field)[0]
    assert profile(api, "customId:c-1") == before


def test_update_of_an_unknown_customer_is_a_404_naming_its_primary_id(client, app, error_of):
    body = {"brandID": 7, "externalPrimaryID": "nobody", "firstname": "Ann"}
    error = error_of(client.put(UPDATE, json=body), 404, "not_found")
    assert "'nobody'" in error["message"]
    assert stored(app) == ([], [])


# --- addchannelonly ---------------------------------------------------------------------------


def test_adding_a_channel_to_an_unknown_customer_is_a_404(client, app, error_of):
    body = {"brand_id": 7, "primary_id": "nobody", "extra_email": "ann@example.com"}
    error = error_of(client.post(ADD, json=body), 404, "not_found")
    assert "'nobody'" in error["message"]
    assert stored(app) == ([], [])


def test_adding_no_address_at_all_is_a_400(client, error_of):
    create(client, customer())
    response = client.post(ADD, json={"brand_id": 7, "primary_id": "c-1", "noSync": False})
    error = error_of(response, 400, "invalid_input")
    assert "extra_email" in error["message"] and "extra_twitter" in error["message"]


# --- purgedata --------------------------------------------------------------------------------


def test_purge_erases_identifiers_links_and_profile(client, api, app):
    create(client, customer(ticket_id=9, firstname="Ann"))
    client.post(ADD, json={"brand_id": 7, "primary_id": "c-1", "extra_telephone": "+48601234567"})
    pid = profile(api, "customId:c-1")["id"]
    assert client.delete(PURGE, json={"external_id": "c-1", "brand_id": "7"}).json == PURGED
    for text in ("customId:c-1", "email:ann@example.com", "ticket:9", "phone:+48601234567"):
        assert api.profile("7", text).status_code == 404
    assert api.get(f"/v1/7/profiles/{pid}").status_code == 404
    assert stored(app) == ([], [])


def test_purge_leaves_other_customers_and_other_brands_untouched(client, api, app):
    create(client, customer("c-1", "ann@example.com", brand_id=7))
    create(client, customer("c-2", "bob@example.com", brand_id=7, firstname="Bob"))
    create(client, customer("c-1", "ann@example.com", brand_id=8, firstname="Ann"))
    others = profile(api, "customId:c-2", 7), profile(api, "customId:c-1", 8)
    assert client.delete(PURGE, json={"external_id": "c-1", "brand_id": 7}).json == PURGED
    assert (profile(api, "customId:c-2", 7), profile(api, "customId:c-1", 8)) == others
    identifiers, links = stored(app, 7)
    assert len(identifiers) == 2 and len(links) == 1
    assert api.profile("7", "email:ann@example.com").status_code == 404


def test_purging_an_unknown_customer_is_a_404(client, error_of):
    response = client.delete(PURGE, json={"external_id": "nobody", "brand_id": 7})
    assert "'nobody'" in error_of(response, 404, "not_found")["message"]


# --- bad input: 400 naming the field, nothing written ----------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            CREATE,
            customer(channel_id="telephone", customer_link_channel="12345"),
            "customer_link_channel",
        ),
        (
            CREATE,
            customer(channel_id="telephone", customer_link_channel="+1 555"),
            "customer_link_channel",
        ),
        (ADD, {"brand_id": 7, "primary_id": "c-0", "extra_telephone": "12345"}, "extra_telephone"),
        (ADD, {"brand_id": 7, "primary_id": "c-0", "extra_telephone": "+1 555"}, "extra_telephone"),
    ],
)
def test_an_invalid_telephone_is_a_400_naming_the_field(client, app, error_of, path, body, field):
    create(client, customer("c-0", "zed@example.com"))
    before = stored(app)
    assert "phone" in field_error(error_of, client.post(path, json=body), field)[0]
    assert stored(app) == before


def test_a_channel_not_in_the_list_is_a_400(client, app, error_of):
    response = client.post(CREATE, json=customer(channel_id="whatsapp"))
    assert "email, telephone, facebook, twitter" in field_error(error_of, response, "channel_id")[0]
    assert stored(app) == ([], [])


REQUIRED = (
    [
        ("post", CREATE, customer(), field)
        for field in ("brand_id", "primary_id", "channel_id", "customer_link_channel")
    ]
    + [
        ("put", UPDATE, {"brandID": 7, "externalPrimaryID": "c-1"}, field)
        for field in ("brandID", "externalPrimaryID")
    ]
    + [
        ("post", ADD, {"brand_id": 7, "primary_id": "c-1", "extra_email": "a@b.io"}, field)
        for field in ("brand_id", "primary_id")
    ]
    + [("delete", PURGE, SEED_PURGE, field) for field in ("brand_id", "external_id")]
)


@pytest.mark.parametrize(("method", "path", "body", "field"), REQUIRED)
def test_a_missing_required_field_is_a_400_naming_it(
    client, app, error_of, method, path, body, field
):
    create(client, customer())
    before = stored(app)
    payload = {key: value for key, value in body.items() if key != field}
    response = getattr(client, method)(path, json=payload)
    assert field_error(error_of, response, field) == ["Missing data for required field."]
    assert stored(app) == before


@pytest.mark.parametrize("brand", [True, 1.5, "", None, [7], "7 7"])
@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", CREATE, customer(), "brand_id"),
        ("put", UPDATE, {"externalPrimaryID": "c-1", "firstname": "Ann"}, "brandID"),
        ("post", ADD, {"primary_id": "c-1", "extra_email": "a@b.io"}, "brand_id"),
        ("delete", PURGE, {"external_id": "c-1"}, "brand_id"),
    ],
)
def test_a_brand_that_is_not_a_whole_number_or_a_name_is_a_400(
    client, error_of, method, path, body, field, brand
):
    response = getattr(client, method)(path, json={**body, field: brand})
    assert field_error(error_of, response, field)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("primary_id", 12),
        ("ticket_id", 1.5),
        ("ticket_id", True),
        ("noSync", "maybe"),
        ("firstname", 3),
    ],
)
def test_a_field_of_the_wrong_type_is_a_400_naming_it(client, app, error_of, field, value):
    response = client.post(CREATE, json=customer(**{field: value}))
    assert field_error(error_of, response, field)
    assert stored(app) == ([], [])


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("city", "", "empty"),
        ("tags", ["a"], "string, a number or a boolean"),
        ("firstName", "Ann", "firstname"),
    ],
)
def test_a_bad_custom_field_is_a_400_naming_it(client, app, error_of, field, value, says):
    response = client.post(CREATE, json=customer(**{field: value}))
    assert says in field_error(error_of, response, field)[0]
    assert stored(app) == ([], [])


def test_a_key_sent_twice_is_a_400_naming_it(client, app, error_of):
    raw = (
        '{"brand_id": 7, "primary_id": "c-1", "primary_id": "c-2", "channel_id": "email",'
        ' "customer_link_channel": "ann@example.com"}'
    )
    response = client.post(CREATE, data=raw, content_type="application/json")
    assert "twice" in field_error(error_of, response, "primary_id")[0]
    assert stored(app) == ([], [])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", ADD, {"brand_id": 7, "primary_id": "c-1", "extra_email": "a@b.io"}),
        ("delete", PURGE, SEED_PURGE),
    ],
)
def test_an_unknown_key_is_a_400_where_no_custom_fields_are_taken(
    client, app, error_of, method, path, body
):
    create(client, customer())
    before = stored(app)
    response = getattr(client, method)(path, json={**body, "city": "Oslo"})
    assert field_error(error_of, response, "city") == ["Unknown field."]
    assert stored(app) == before


# --- OpenAPI ----------------------------------------------------------------------------------


def test_openapi_lists_the_four_routes_under_the_omnidesk_tag(client):
    paths = client.get("/openapi.json").json["paths"]
    tagged = {
        (path, method)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if method != "parameters" and "omnidesk" in operation.get("tags", [])
    }
    assert tagged == {
        (CREATE, "post"),
        (UPDATE, "put"),
        (ADD, "post"),
        (PURGE, "delete"),
    }
