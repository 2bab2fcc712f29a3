"""What a compatible face's client sends with nothing in it. A body of ``{}`` or ``null`` (axios'
``post(url, {})``) on a route that takes none is no body; an optional field sent as ``null``
(clients built on data classes send every field they know) is not sent, unless ``null`` means
something there: a required field, a name or custom field (delete it), a profile value. And
on Omnidesk's updateCustomer, a name that says which customer or brand another call is about
is not a custom field."""

from __future__ import annotations

import pytest
from synerise_client import Synerise

BRAND = 7
CREATE = "/api/v2/customer"
UPDATE = "/api/v2/customer/updateCustomer"
ADD = "/api/v2/customer/addchannelonly"
PURGE = "/api/v2/customer/purgedata"
OK = 200
MERGE = "/v4/clients/merge/from/custom-ids/s1/to/custom-id/t1"
FORM = "application/x-www-form-urlencoded"


def customer(**fields) -> dict:
    body = {"brand_id": BRAND, "primary_id": "c-1", "channel_id": "email"}
    return {**body, "customer_link_channel": "ann@example.com", **fields}


def answered(response, status: int = OK) -> dict:
    assert response.status_code == status, response.json
    return response.json


def field_problems(error_of, response, field: str, *, item: int | None = None) -> list[str]:
    """The 400's messages for ``field`` (of batch item ``item``), which its message names
    first."""
    error = error_of(response, 400, "invalid_input")
    if item is None:
        assert error["message"].startswith(f"{field}: "), error
        return error["details"]["fields"][field]
    assert error["message"].startswith(f"items[{item}].{field}: "), error
    return error["details"]["items"][str(item)][field]


def attributes(api, text: str, ns: object = BRAND) -> dict:
    return answered(api.profile(str(ns), text))["attributes"]


# --- a body that says nothing, on a route that takes none -------------------------------------

SAYS_NOTHING = [
    pytest.param("{}", "application/json", True, id="axios-empty-object"),
    pytest.param("null", "application/json", True, id="null"),
    pytest.param(" \n{}\t\r\n", "application/json; charset=utf-8", True, id="json-whitespace"),
    pytest.param("{}", None, True, id="no-content-type"),
    pytest.param("{}", "application/merge-patch+json", True, id="a-json-subtype"),
    pytest.param('{"keepSources": true}', "application/json", False, id="says-something"),
    pytest.param('{"keepSources": null}', "application/json", False, id="a-null-field"),
    pytest.param("[]", "application/json", False, id="empty-array"),
    pytest.param("{}{}", "application/json", False, id="two-objects"),
    pytest.param("{}", "text/plain", False, id="not-sent-as-json"),
    pytest.param("{}", FORM, False, id="form-encoded"),
]


@pytest.mark.parametrize(("text", "content_type", "no_body"), SAYS_NOTHING)
def test_a_body_that_says_nothing_is_no_body_and_any_other_is_refused(
    client, text, content_type, no_body
):
    sy = Synerise(client)
    sy.batch({"customId": "t1", "email": "t@x.io"}, {"customId": "s1", "email": "s@x.io"})
    headers = {**sy.headers, **({"Content-Type": content_type} if content_type else {})}
    response = client.post(MERGE, data=text, headers=headers)
    if no_body:
        assert (response.status_code, response.data) == (202, b""), response.json
        assert sy.by("customId", "s1") is None  # merged into t1
    else:
        assert response.status_code == 400, response.json
        assert response.json["details"]["fields"] == {
            "body": ["POST on this route takes no body: nothing was done"]
        }
        assert sy.by("customId", "s1")["customId"] == "s1"  # still its own client


# --- Omnidesk: an optional field sent as null is not sent -------------------------------------


def test_a_customer_created_with_nosync_null_is_created(client, api):
    assert answered(client.post(CREATE, json=customer(noSync=None)))["type"] == "result"
    assert api.members(str(BRAND), "customId:c-1") == {"customId:c-1", "email:ann@example.com"}


def test_a_channel_added_with_other_addresses_null_links_only_the_one_sent(client, api):
    answered(client.post(CREATE, json=customer()))
    body = {
        "brand_id": BRAND,
        "primary_id": "c-1",
        "extra_email": "ann.work@example.com",
        "extra_facebook": None,
        "extra_twitter": None,
        "extra_telephone": None,
        "noSync": None,
    }
    assert answered(client.post(ADD, json=body))["message"] == "Channel added to the customer."
    assert api.members(str(BRAND), "customId:c-1") == {
        "customId:c-1",
        "email:ann@example.com",
        "email:ann.work@example.com",
    }


def test_adding_only_null_addresses_is_a_400_asking_for_one(client, app, error_of):
    answered(client.post(CREATE, json=customer()))
    body = {"brand_id": BRAND, "primary_id": "c-1", "extra_email": None, "extra_facebook": None}
    [problem] = field_problems(error_of, client.post(ADD, json=body), "body")
    assert problem.startswith("send at least one of extra_email")


def test_a_null_name_or_custom_field_still_deletes_it_and_a_null_ticket_is_none(client, api):
    answered(client.post(CREATE, json=customer(firstname="Ann", city="Oslo", ticket_id=None)))
    update = {"brandID": BRAND, "externalPrimaryID": "c-1", "firstname": None, "city": None}
    answered(client.put(UPDATE, json=update))
    assert attributes(api, "customId:c-1") == {}
    assert api.members(str(BRAND), "customId:c-1") == {"customId:c-1", "email:ann@example.com"}


OMNIDESK_REQUIRED = [
    *(("post", CREATE, customer(), field) for field in ("brand_id", "primary_id", "channel_id")),
    ("post", CREATE, customer(), "customer_link_channel"),
    *(
        ("put", UPDATE, {"brandID": BRAND, "externalPrimaryID": "c-1"}, field)
        for field in ("brandID", "externalPrimaryID")
    ),
    *(
        ("post", ADD, {"brand_id": BRAND, "primary_id": "c-1", "extra_email": "a@b.io"}, field)
        for field in ("brand_id", "primary_id")
    ),
    *(("delete", PURGE, {"external_id": "c-1", "brand_id": BRAND}, f) for f in ("external_id",)),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), OMNIDESK_REQUIRED)
def test_a_required_omnidesk_field_sent_as_null_is_a_400_naming_it(
    client, api, error_of, method, path, body, field
):
    answered(client.post(CREATE, json=customer(firstname="Ann")))
    response = getattr(client, method)(path, json={**body, field: None})
    assert field_problems(error_of, response, field) == ["Field may not be null."]
    assert attributes(api, "customId:c-1") == {"firstName": "Ann"}  # nothing changed


# --- Omnidesk: what names the customer or the brand is not a custom field ---------------------

NAMES_OF_ANOTHER_CALL = [
    pytest.param("put", UPDATE, "primary_id", "c-1", "externalPrimaryID", id="update-primary_id"),
    pytest.param("put", UPDATE, "brand_id", BRAND, "brandID", id="update-brand_id"),
    pytest.param("put", UPDATE, "external_id", "c-1", "externalPrimaryID", id="update-external_id"),
    pytest.param("post", CREATE, "externalPrimaryID", "c-1", "primary_id", id="create-externalID"),
    pytest.param("post", CREATE, "brandID", "7", "brand_id", id="create-brandID"),
]


@pytest.mark.parametrize(("method", "path", "field", "value", "ours"), NAMES_OF_ANOTHER_CALL)
def test_a_name_of_the_customer_or_brand_in_another_call_is_a_400_not_an_attribute(
    client, api, error_of, method, path, field, value, ours
):
    answered(client.post(CREATE, json=customer(firstname="Ann")))
    sent = customer(lastname="Lee") if path == CREATE else {"lastname": "Lee"}
    if path == UPDATE:
        sent.update(brandID=BRAND, externalPrimaryID="c-1")
    response = getattr(client, method)(path, json={**sent, field: value})
    [problem] = field_problems(error_of, response, field)
    assert problem.startswith("names the ") and problem.endswith(f"; here {ours} does")
    assert attributes(api, "customId:c-1") == {"firstName": "Ann"}  # nothing written


# --- Adnuntius: an optional field sent as null is not sent ------------------------------------


def sync_item(**fields) -> dict:
    return {"folderId": "f1", "browserId": "b1", "externalSystemUserId": "u1", **fields}


def test_a_sync_with_a_null_system_type_names_the_folders_default_system(client, api):
    [result] = answered(client.post("/sync", json=sync_item(externalSystemType=None)))["results"]
    assert result["outcome"] == "created"
    assert api.members("f1", "browserId:b1") == {"browserId:b1", "ext:default:u1"}


def test_a_batch_object_with_a_null_folder_is_in_the_querys_folder(client, api):
    batch = [sync_item(folderId=None, externalSystemType=None), sync_item(browserId="b2")]
    results = answered(client.post("/sync?folderId=f1", json=batch))["results"]
    assert [r["folderId"] for r in results] == ["f1", "f1"]
    assert api.members("f1", "browserId:b2") == {"browserId:b1", "browserId:b2", "ext:default:u1"}


def test_a_visitor_with_a_null_browser_and_network_is_its_user_alone(client, api):
    body = sync_item(browserId=None, networkId=None, profileValues={"a": 1, "b": None})
    [result] = answered(client.post("/visitor", json=body))["results"]
    assert result["outcome"] == "created"
    assert api.members("f1", "ext:default:u1") == {"ext:default:u1"}
    assert attributes(api, "ext:default:u1", "f1") == {"a": 1}


def test_a_visitor_with_every_identifier_null_is_a_400_asking_for_one(client, error_of, app):
    body = sync_item(browserId=None, externalSystemUserId=None, profileValues={"a": 1})
    [problem] = field_problems(error_of, client.post("/visitor", json=body), "browserId", item=0)
    assert problem == "send browserId, externalSystemUserId or both"


@pytest.mark.parametrize("field", ["browserId", "externalSystemUserId"])
def test_a_required_sync_field_sent_as_null_is_a_400_naming_it(client, error_of, field):
    response = client.post("/sync", json=[sync_item(), sync_item(**{field: None})])
    assert field_problems(error_of, response, field, item=1) == ["Field may not be null."]
    assert client.get("/v1/f1/identifiers/browserId/b1").status_code == 404  # nothing written
