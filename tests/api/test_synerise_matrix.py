"""Seed 004's merge matrix, one test per cell, through POST /v4/clients/batch.

Profile A is named by the object's first identifier in the order uuid, email, customId;
profile B by the second. Rows are A, columns B. "Conflict, no update" answers 202 like every
batch, writes nothing (the object's properties included) and logs the refusal.
"""

from __future__ import annotations

import pytest
from synerise_client import Synerise, synerise_error

UA = "88f40b29-5ba8-437b-ba9d-6d3b99dff80f"


@pytest.fixture
def sy(client) -> Synerise:
    return Synerise(client)


def anonymous_a(sy: Synerise) -> dict:
    return sy.create(uuid=UA)


def recognized_a(sy: Synerise) -> dict:
    return sy.create(uuid=UA, email="a@example.com")


def anonymous_b(sy: Synerise) -> dict:
    return sy.create(customId="cB")


def recognized_b(sy: Synerise) -> dict:
    return sy.create(customId="cB", email="b@example.com")


def assert_conflict_no_update(sy: Synerise, pair: dict, *before: dict) -> None:
    sy.batch({**pair, "firstName": "Lost"})
    for client in before:
        after = sy.client_id(client["clientId"]).json
        assert {**after, "lastActivityDate": None} == {**client, "lastActivityDate": None}
    [conflict] = sy.conflicts()
    assert sorted(conflict["profiles"]) == sorted(c["clientId"] for c in before)


# --- A: uuid of an anonymous profile ----------------------------------------------------------


def test_matrix_uuid_anonymous__email_new_becomes_recognized(sy):
    a = anonymous_a(sy)
    sy.batch({"uuid": UA, "email": "new@example.com"})
    after = sy.by("email", "new@example.com")
    assert after["clientId"] == a["clientId"]
    assert after["anonymous"] is False


def test_matrix_uuid_anonymous__email_exists_merged_into_b(sy):
    a, b = anonymous_a(sy), sy.create(email="b@example.com")
    sy.batch({"uuid": UA, "email": "b@example.com"})
    merged = sy.by("uuid", UA)
    assert merged["clientId"] == b["clientId"]
    assert merged["previousClients"] == [a["clientId"]]
    assert sy.client_id(a["clientId"]).json["clientId"] == b["clientId"]


def test_matrix_uuid_anonymous__customid_new_stays_anonymous(sy):
    a = anonymous_a(sy)
    sy.batch({"uuid": UA, "customId": "c-new"})
    after = sy.by("customId", "c-new")
    assert (after["clientId"], after["anonymous"]) == (a["clientId"], True)


def test_matrix_uuid_anonymous__customid_exists_anonymous_b_merged_anonymous(sy):
    a, b = anonymous_a(sy), anonymous_b(sy)
    sy.batch({"uuid": UA, "customId": "cB"})
    merged = sy.by("uuid", UA)
    assert (merged["clientId"], merged["anonymous"]) == (b["clientId"], True)
    assert merged["previousClients"] == [a["clientId"]]


def test_matrix_uuid_anonymous__customid_exists_recognized_b_merged_recognized(sy):
    a, b = anonymous_a(sy), recognized_b(sy)
    sy.batch({"uuid": UA, "customId": "cB"})
    merged = sy.by("uuid", UA)
    assert (merged["clientId"], merged["anonymous"]) == (b["clientId"], False)
    assert merged["previousClients"] == [a["clientId"]]


# --- A: uuid of a recognized profile ----------------------------------------------------------


def test_matrix_uuid_recognized__email_new_replaces_the_email(sy):
    a = recognized_a(sy)
    sy.batch({"uuid": UA, "email": "new@example.com"})
    assert sy.by("email", "new@example.com")["clientId"] == a["clientId"]
    assert sy.by("email", "a@example.com") is None  # ended, not resolving


def test_matrix_uuid_recognized__email_exists_conflict(sy):
    a, b = recognized_a(sy), sy.create(email="b@example.com")
    assert_conflict_no_update(sy, {"uuid": UA, "email": "b@example.com"}, a, b)


def test_matrix_uuid_recognized__customid_new_is_added(sy):
    a = recognized_a(sy)
    sy.batch({"uuid": UA, "customId": "c-new"})
    after = sy.by("customId", "c-new")
    assert (after["clientId"], after["email"]) == (a["clientId"], "a@example.com")


def test_matrix_uuid_recognized__customid_exists_anonymous_b_conflict(sy):
    a, b = recognized_a(sy), anonymous_b(sy)
    assert_conflict_no_update(sy, {"uuid": UA, "customId": "cB"}, a, b)


def test_matrix_uuid_recognized__customid_exists_recognized_b_conflict(sy):
    a, b = recognized_a(sy), recognized_b(sy)
    assert_conflict_no_update(sy, {"uuid": UA, "customId": "cB"}, a, b)


# --- A: an email no profile has ---------------------------------------------------------------


def duplicate_email_body(second: str) -> str:
    return f'[{{"email": "a@example.com", "email": "{second}"}}]'


def test_matrix_email_new__email_new_is_400_duplicate_key(sy):
    response = sy.post("/v4/clients/batch", data=duplicate_email_body("new@example.com"),
                       content_type="application/json")  # fmt: skip
    assert synerise_error(response, 400, "invalid_input")["details"]["items"]["0"] == {
        "email": ["sent twice in one object: send each key once"]
    }
    assert sy.by("email", "a@example.com") is None


def test_matrix_email_new__email_exists_is_400_duplicate_key(sy):
    b = sy.create(email="b@example.com")
    response = sy.post("/v4/clients/batch", data=duplicate_email_body("b@example.com"),
                       content_type="application/json")  # fmt: skip
    assert "email" in synerise_error(response, 400, "invalid_input")["details"]["items"]["0"]
    assert sy.by("email", "a@example.com") is None
    assert sy.by("email", "b@example.com") == b


def test_matrix_email_new__customid_new_creates_a_profile_with_both(sy):
    sy.batch({"email": "a@example.com", "customId": "c-new"})
    created = sy.by("customId", "c-new")
    assert (created["email"], created["anonymous"]) == ("a@example.com", False)
    assert created["uuid"]  # generated for a new profile


def test_matrix_email_new__customid_exists_anonymous_b_gets_the_email(sy):
    b = anonymous_b(sy)
    sy.batch({"email": "a@example.com", "customId": "cB"})
    after = sy.by("email", "a@example.com")
    assert (after["clientId"], after["anonymous"]) == (b["clientId"], False)


def test_matrix_email_new__customid_exists_recognized_b_email_replaced(sy):
    b = recognized_b(sy)
    sy.batch({"email": "a@example.com", "customId": "cB"})
    assert sy.by("email", "a@example.com")["clientId"] == b["clientId"]
    assert sy.by("email", "b@example.com") is None


# --- A: an email a profile has ----------------------------------------------------------------


def test_matrix_email_exists__email_new_is_400_duplicate_key(sy):
    a = sy.create(email="a@example.com")
    response = sy.post("/v4/clients/batch", data=duplicate_email_body("new@example.com"),
                       content_type="application/json")  # fmt: skip
    synerise_error(response, 400, "invalid_input")
    assert sy.by("email", "a@example.com") == a
    assert sy.by("email", "new@example.com") is None


def test_matrix_email_exists__email_exists_is_400_duplicate_key(sy):
    a, b = sy.create(email="a@example.com"), sy.create(email="b@example.com")
    response = sy.post("/v4/clients/batch", data=duplicate_email_body("b@example.com"),
                       content_type="application/json")  # fmt: skip
    synerise_error(response, 400, "invalid_input")
    assert (sy.by("email", "a@example.com"), sy.by("email", "b@example.com")) == (a, b)


def test_matrix_email_exists__customid_new_is_added(sy):
    a = sy.create(email="a@example.com")
    sy.batch({"email": "a@example.com", "customId": "c-new"})
    assert sy.by("customId", "c-new")["clientId"] == a["clientId"]


def test_matrix_email_exists__customid_exists_anonymous_b_conflict(sy):
    a, b = sy.create(email="a@example.com"), anonymous_b(sy)
    assert_conflict_no_update(sy, {"email": "a@example.com", "customId": "cB"}, a, b)


def test_matrix_email_exists__customid_exists_recognized_b_conflict(sy):
    a, b = sy.create(email="a@example.com"), recognized_b(sy)
    assert_conflict_no_update(sy, {"email": "a@example.com", "customId": "cB"}, a, b)
