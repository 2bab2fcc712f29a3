"""Reading profiles by id and by identifier, writing attributes, and namespace isolation."""

from __future__ import annotations

NS = "shop"


def test_an_identifier_is_looked_up_by_its_normalized_value(api):
    [(_, pid)] = api.outcomes(NS, ("email:ann@example.com", "phone:+48 601 234 567"))
    assert api.profile(NS, "email: ANN@Example.com ").json["id"] == pid
    assert api.profile(NS, "phone:+48601234567").json["id"] == pid


def test_a_profile_answers_its_identifiers_attributes_and_times(api):
    item = {
        "identifiers": [{"type": "email", "value": "a@x.io"}, {"type": "customId", "value": "c1"}],
        "attributes": {"firstName": "Ann", "tags": ["vip"]},
    }
    [(_, pid)] = api.outcomes(NS, item)
    profile = api.get(f"/v1/{NS}/profiles/{pid}").json
    assert profile["id"] == pid and profile["recognized"] is True
    assert profile["identifiers"] == [
        {"type": "customId", "value": "c1"},
        {"type": "email", "value": "a@x.io"},
    ]
    assert profile["attributes"] == {"firstName": "Ann", "tags": ["vip"]}
    assert profile["aliases"] == []
    assert profile["created_at"] == profile["updated_at"]


def test_a_profile_without_a_recognizing_identifier_is_anonymous(api):
    [(_, pid)] = api.outcomes(NS, ("browserId:b1", "customId:c1"))
    assert api.get(f"/v1/{NS}/profiles/{pid}").json["recognized"] is False


def test_unknown_profiles_and_identifiers_are_404(api, error_of):
    error_of(api.get(f"/v1/{NS}/profiles/999"), 404, "not_found")
    error_of(api.profile(NS, "email:nobody@x.io"), 404, "not_found")


def test_patching_attributes_sets_only_the_names_sent_and_null_deletes(api):
    item = {
        "identifiers": [{"type": "email", "value": "a@x.io"}, {"type": "customId", "value": "c1"}],
        "attributes": {"firstName": "Ann", "city": "Oslo"},
    }
    [(_, pid)] = api.outcomes(NS, item)
    before = api.get(f"/v1/{NS}/profiles/{pid}").json
    response = api.client.patch(
        f"/v1/{NS}/profiles/{pid}/attributes", json={"city": None, "plan": {"tier": "gold"}}
    )
    assert response.status_code == 200
    assert response.json["attributes"] == {"firstName": "Ann", "plan": {"tier": "gold"}}
    assert response.json["updated_at"] > before["updated_at"]
    assert api.get(f"/v1/{NS}/profiles/{pid}").json["attributes"] == response.json["attributes"]


def test_patching_an_absorbed_id_writes_to_its_survivor(api):
    [(_, small)] = api.outcomes(NS, ("customId:c1", "browserId:b1"))
    [(_, large), _] = api.outcomes(
        NS, ("email:a@x.io", "browserId:b2"), ("email:a@x.io", "browserId:b3")
    )
    api.outcomes(NS, ("customId:c1", "email:a@x.io"))
    response = api.client.patch(f"/v1/{NS}/profiles/{small}/attributes", json={"city": "Rome"})
    assert response.json["id"] == large and response.json["attributes"] == {"city": "Rome"}


def test_an_empty_string_attribute_is_refused_and_nothing_changes(api, error_of):
    item = {
        "identifiers": [{"type": "email", "value": "a@x.io"}, {"type": "customId", "value": "c1"}],
        "attributes": {"city": "Oslo"},
    }
    [(_, pid)] = api.outcomes(NS, item)
    response = api.client.patch(
        f"/v1/{NS}/profiles/{pid}/attributes", json={"city": "Rome", "lastName": ""}
    )
    error = error_of(response, 400, "invalid_input")
    assert error["details"]["fields"] == {
        "attributes.lastName": ["must not be an empty string (send null to delete)"]
    }
    assert api.get(f"/v1/{NS}/profiles/{pid}").json["attributes"] == {"city": "Oslo"}


def test_patching_an_unknown_profile_is_404(api, error_of):
    response = api.client.patch(f"/v1/{NS}/profiles/77/attributes", json={"city": "Rome"})
    error_of(response, 404, "not_found")


def test_a_profile_or_identifier_of_one_namespace_is_404_in_another(api, error_of):
    [(_, pid)] = api.outcomes("alpha", ("email:a@x.io", "customId:c1"))
    error_of(api.get(f"/v1/beta/profiles/{pid}"), 404, "not_found")
    error_of(api.profile("beta", "email:a@x.io"), 404, "not_found")
    patch = api.client.patch(f"/v1/beta/profiles/{pid}/attributes", json={"city": "Rome"})
    error_of(patch, 404, "not_found")
    [(outcome, _)] = api.outcomes("beta", ("email:a@x.io", "customId:c2"))
    assert outcome == "created"  # the same id may name it: ids are per namespace on Neo4j
    assert api.members("beta", "email:a@x.io") == {"email:a@x.io", "customId:c2"}
    assert api.members("alpha", "email:a@x.io") == {"email:a@x.io", "customId:c1"}
