"""Omnidesk's updateCustomer and the names only creating a customer reads (seed 002: in the
create table, not in the update one): ``channel_id``, ``customer_link_channel``,
``ticket_id``, ``noSync``. Sent to an update they were stored as custom fields, so a client
that meant to link an address or a ticket got a 200 and a stray attribute. Now, as
``primary_id`` and ``brand_id`` there, each is a 400 naming it, and nothing is written. So
is an ``extra_*`` address, which only addchannelonly reads, sent to a create or an update."""

from __future__ import annotations

import pytest

BRAND = 7
CREATE = "/api/v2/customer"
UPDATE = "/api/v2/customer/updateCustomer"
UPDATED = {"type": "result", "message": "Customer updated."}
CREATE_ONLY = [
    pytest.param("channel_id", "email", id="channel_id"),
    pytest.param("customer_link_channel", "ann.work@example.com", id="customer_link_channel"),
    pytest.param("ticket_id", 1234, id="ticket_id"),
    pytest.param("ticket_id", "T-9", id="ticket_id-text"),
    pytest.param("noSync", True, id="noSync"),
    pytest.param("noSync", None, id="noSync-null"),  # as primary_id: null is refused there
]


@pytest.fixture
def store_settings(tmp_path) -> dict[str, str]:
    """SQLite only: the refusal is in the schema, before any store is asked."""
    return {"store": f"sqlite:///{tmp_path / 'api.db'}"}


@pytest.fixture
def ann(client) -> dict:
    """Customer c-1 of brand 7, created with a ticket, and the profile it reads as."""
    body = {
        "brand_id": BRAND,
        "primary_id": "c-1",
        "channel_id": "email",
        "customer_link_channel": "ann@example.com",
        "ticket_id": 17,
        "noSync": True,
        "firstname": "Ann",
        "city": "Oslo",
    }
    assert client.post(CREATE, json=body).status_code == 200
    return stored(client)


def stored(client) -> dict:
    response = client.get(f"/v1/{BRAND}/identifiers/customId/c-1")
    assert response.status_code == 200, response.json
    return response.json


def update(**fields) -> dict:
    return {"brandID": BRAND, "externalPrimaryID": "c-1", **fields}


@pytest.mark.parametrize(("field", "value"), CREATE_ONLY)
def test_a_create_only_name_on_update_is_a_400_and_nothing_is_written(
    client, error_of, ann, field, value
):
    sent = update(lastname="Lee", city="Bergen", **{field: value})
    error = error_of(client.put(UPDATE, json=sent), 400, "invalid_input")
    [problem] = error["details"]["fields"][field]
    assert error["message"] == f"{field}: {problem}"
    assert problem.startswith("read when a customer is created, not a custom field: an update ")
    assert stored(client) == ann  # no attribute, no identifier, not even updated_at


def test_every_create_only_name_sent_is_named_at_once(client, error_of, ann):
    sent = update(channel_id="email", customer_link_channel="ann.work@example.com", noSync=True)
    error = error_of(client.put(UPDATE, json=sent), 400, "invalid_input")
    assert set(error["details"]["fields"]) == {"channel_id", "customer_link_channel", "noSync"}
    assert stored(client) == ann


def test_an_address_or_ticket_sent_to_an_update_is_not_linked(client, ann):
    sent = update(channel_id="email", customer_link_channel="bob@example.com", ticket_id=99)
    assert client.put(UPDATE, json=sent).status_code == 400
    for path in ("email/bob@example.com", "ticket/99"):
        assert client.get(f"/v1/{BRAND}/identifiers/{path}").status_code == 404


def test_the_create_still_reads_them_and_the_update_its_own_fields(client, ann):
    assert {i["type"] for i in ann["identifiers"]} == {"customId", "email", "ticket"}
    assert ann["attributes"] == {"firstName": "Ann", "city": "Oslo"}
    assert client.put(UPDATE, json=update(lastname="Lee", city="Bergen")).json == UPDATED
    assert stored(client)["attributes"] == {"firstName": "Ann", "lastName": "Lee", "city": "Bergen"}


@pytest.mark.parametrize(
    "field", ["extra_email", "extra_telephone", "extra_facebook", "extra_twitter"]
)
def test_an_extra_address_is_addchannelonlys_and_no_custom_field_of_create_or_update(
    client, error_of, ann, field
):
    """An ``extra_*`` address sent to create or update was stored as a custom attribute and
    linked nothing: a 400 naming it, and nothing written."""
    address = "+48601234567" if field == "extra_telephone" else "bob@example.com"
    created = {
        "primary_id": "c-2",
        "channel_id": "email",
        "customer_link_channel": "cee@example.com",
        field: address,
    }
    for method, path, body in (
        ("put", UPDATE, update(lastname="Lee", **{field: address})),
        ("post", CREATE, {"brand_id": BRAND, **created}),
    ):
        error = error_of(getattr(client, method)(path, json=body), 400, "invalid_input")
        assert error["details"]["fields"] == {
            field: ["an address addchannelonly adds to a customer, not a custom field"]
        }
    assert stored(client) == ann
    assert client.get(f"/v1/{BRAND}/identifiers/customId/c-2").status_code == 404
