"""POST /v1/{ns}/links: outcomes per item, dry runs, replays, and the conflict log."""

from __future__ import annotations

import pytest
from apitools import Api, identifiers

from app.api.schemas import LinkResultSchema, link_request

NS = "shop"


def uid(n: int) -> str:
    return f"uuid:00000000-0000-4000-8000-{n:012d}"


def test_new_identifiers_seen_together_create_a_profile(api):
    [(outcome, pid)] = api.outcomes(NS, ("email:Ann@Example.com", "browserId:b1"))
    assert outcome == "created"
    assert api.members(NS, "browserId:b1") == {"email:ann@example.com", "browserId:b1"}
    assert api.profile(NS, "email:ann@example.com").json["id"] == pid


def test_a_new_identifier_seen_with_a_known_one_is_linked(api):
    [(_, pid)] = api.outcomes(NS, ("email:a@x.io", "browserId:b1"))
    assert api.outcomes(NS, ("browserId:b1", uid(9))) == [("linked", pid)]
    assert len(api.members(NS, "email:a@x.io")) == 3


def test_repeating_a_known_link_is_a_noop(api):
    [(_, pid)] = api.outcomes(NS, ("email:a@x.io", "browserId:b1"))
    assert api.outcomes(NS, ("browserId:b1", "email:A@X.io")) == [("noop", pid)]


def test_two_profiles_seen_together_merge_and_the_absorbed_id_resolves(api):
    [(_, small)] = api.outcomes(NS, (uid(1), "browserId:b1"))
    [(_, large), _] = api.outcomes(
        NS, ("email:a@x.io", "browserId:b2"), ("email:a@x.io", "browserId:b3")
    )
    response = api.link(NS, ("browserId:b1", "email:a@x.io"))
    [result] = response.json["results"]
    assert result == {"index": 0, "outcome": "merged", "profile_id": large, "absorbed": [small]}
    survivor = api.get(f"/v1/{NS}/profiles/{small}").json
    assert survivor["id"] == large and survivor["aliases"] == [small]
    assert len(survivor["identifiers"]) == 5


def test_a_shared_browser_moves_to_its_newest_user(api):
    [(_, first)] = api.outcomes(NS, ("browserId:b1", "ext:crm:u1"))
    response = api.link(NS, ("browserId:b1", "ext:crm:u2"))
    [result] = response.json["results"]
    assert result["outcome"] == "moved" and result["moved_from"] == [first]
    assert api.members(NS, "browserId:b1") == {"browserId:b1", "ext:crm:u2"}
    assert api.members(NS, "ext:crm:u1") == {"ext:crm:u1"}


def test_two_emails_never_merge_and_the_refusal_is_logged(api):
    [(_, a), (_, b)] = api.outcomes(NS, ("email:a@x.io", uid(1)), ("email:b@x.io", uid(2)))
    response = api.link(NS, (uid(2), "email:a@x.io"), request_id="crm-42")
    [result] = response.json["results"]
    assert result["outcome"] == "conflict" and result["reason"] == "unique_type:email"
    assert set(result["profiles"]) == {a, b}
    [logged] = api.get(f"/v1/{NS}/conflicts").json["conflicts"]
    assert logged["request_id"] == "crm-42" and logged["item_index"] == 0
    assert logged["rule"] == "unique_type:email" and set(logged["profiles"]) == {a, b}
    assert logged["identifiers"] == identifiers(uid(2), "email:a@x.io")
    assert "T" in logged["at"]


def test_attributes_of_a_conflicting_item_are_not_saved(api):
    api.outcomes(NS, ("email:a@x.io", uid(1)), ("email:b@x.io", uid(2)))
    item = {"identifiers": identifiers(uid(2), "email:a@x.io"), "attributes": {"city": "Oslo"}}
    assert api.outcomes(NS, item)[0][0] == "conflict"
    assert api.profile(NS, "email:a@x.io").json["attributes"] == {}
    assert api.profile(NS, "email:b@x.io").json["attributes"] == {}


def test_items_are_decided_in_order_each_seeing_the_ones_before(api):
    outcomes = api.outcomes(
        NS,
        ("email:a@x.io", uid(1)),
        (uid(1), "customId:c1"),
        ("email:b@x.io", "customId:c1"),
    )
    assert [kind for kind, _ in outcomes] == ["created", "linked", "conflict"]


def test_dry_run_answers_the_same_outcomes_and_writes_nothing(api):
    api.outcomes(NS, ("email:a@x.io", uid(1)), ("email:b@x.io", uid(2)))
    batch = [(uid(1), "browserId:b1"), (uid(2), "email:a@x.io"), ("email:c@x.io", uid(3))]
    dry = api.link(NS, *batch, dry_run=True).json
    assert dry["dry_run"] is True
    assert [r["outcome"] for r in dry["results"]] == ["linked", "conflict", "created"]
    assert api.profile(NS, "email:c@x.io").status_code == 404
    assert api.profile(NS, "browserId:b1").status_code == 404
    assert api.get(f"/v1/{NS}/conflicts").json["conflicts"] == []
    real = api.link(NS, *batch).json
    assert real["dry_run"] is False
    assert [r["outcome"] for r in real["results"]] == [r["outcome"] for r in dry["results"]]


def test_replaying_a_request_id_answers_the_first_results_and_changes_nothing(api):
    first = api.link(NS, ("email:a@x.io", "browserId:b1"), request_id="sync-1")
    api.link(NS, ("email:a@x.io", "browserId:b9"))
    replay = api.link(NS, ("email:a@x.io", "browserId:b1"), request_id="sync-1")
    assert replay.status_code == 200 and replay.json == first.json
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert api.members(NS, "email:a@x.io") == {"email:a@x.io", "browserId:b1", "browserId:b9"}


def test_reusing_a_request_id_with_another_body_is_refused(api, error_of):
    api.link(NS, ("email:a@x.io", "browserId:b1"), request_id="sync-1")
    response = api.link(NS, ("email:b@x.io", "browserId:b2"), request_id="sync-1")
    error_of(response, 409, "request_id_reused")
    assert api.profile(NS, "email:b@x.io").status_code == 404


def test_answer_carries_a_request_id_and_source_is_kept(api, app):
    response = api.link(NS, ("email:a@x.io", "browserId:b1"), source="crm-sync")
    request_id = response.json["request_id"]
    store = app.extensions["idgraph.service"].store
    [link] = list(store.iter_links(NS))
    assert link["request_id"] == request_id and link["source"] == "crm-sync"
    assert link["operation"] == "native"


def test_conflicts_page_with_a_cursor_and_filter_by_time(api, error_of):
    api.outcomes(NS, ("email:a@x.io", uid(1)), ("email:b@x.io", uid(2)))
    for n in range(3):
        api.link(NS, (uid(1), uid(2)), request_id=f"r{n}")
    page = api.get(f"/v1/{NS}/conflicts?limit=2").json
    assert [c["request_id"] for c in page["conflicts"]] == ["r0", "r1"]
    rest = api.get(f"/v1/{NS}/conflicts?limit=2&cursor={page['next_cursor']}").json
    assert [c["request_id"] for c in rest["conflicts"]] == ["r2"] and rest["next_cursor"] is None
    assert api.get(f"/v1/{NS}/conflicts?since=2999-01-01T00:00:00Z").json["conflicts"] == []
    error_of(api.get(f"/v1/{NS}/conflicts?cursor=abc"), 400, "invalid_input")
    error_of(api.get(f"/v1/{NS}/conflicts?limit=0"), 400, "invalid_input")


def conflicts_of(api: Api, profile_id: int, query: str = "") -> list[str]:
    response = api.get(f"/v1/{NS}/conflicts?profile={profile_id}{query}")
    assert response.status_code == 200, response.json
    return [conflict["request_id"] for conflict in response.json["conflicts"]]


def test_conflicts_of_a_profile_are_the_ones_naming_it(api):
    [(_, a), (_, b), (_, d)] = api.outcomes(
        NS, ("email:a@x.io", uid(1)), ("email:b@x.io", uid(2)), ("email:d@x.io", uid(4))
    )
    api.link(NS, (uid(2), "email:a@x.io"), request_id="a-b")
    api.link(NS, (uid(4), "email:b@x.io"), request_id="b-d")
    assert conflicts_of(api, a) == ["a-b"]
    assert conflicts_of(api, b) == ["a-b", "b-d"]
    assert conflicts_of(api, d) == ["b-d"]
    assert conflicts_of(api, b, "&since=2999-01-01T00:00:00Z") == []


def test_conflicts_of_a_survivor_include_those_of_the_profiles_it_absorbed(api):
    [(_, a)] = api.outcomes(NS, ("email:a@x.io", uid(1)), ("email:a@x.io", "browserId:b1"))[:1]
    [(_, c), (_, e)] = api.outcomes(NS, (uid(3), "customId:c3"), (uid(5), "customId:c5"))
    api.link(NS, (uid(3), "customId:c5"), request_id="c-e")  # two customIds: refused
    assert conflicts_of(api, a) == []
    [(outcome, survivor)] = api.outcomes(NS, (uid(3), "email:a@x.io"))
    assert (outcome, survivor) == ("merged", a)
    assert c in api.get(f"/v1/{NS}/profiles/{a}").json["aliases"]
    assert conflicts_of(api, a) == ["c-e"]
    assert conflicts_of(api, c) == ["c-e"]  # an absorbed id answers its survivor's
    assert conflicts_of(api, e) == ["c-e"]


def test_conflicts_of_a_profile_page_with_a_cursor(api):
    [(_, a), (_, b), (_, d)] = api.outcomes(
        NS, ("email:a@x.io", uid(1)), ("email:b@x.io", uid(2)), ("email:d@x.io", uid(4))
    )
    for n in range(3):
        api.link(NS, (uid(1), uid(2)), request_id=f"a-b{n}")
        if n < 2:
            api.link(NS, (uid(1), uid(4)), request_id=f"a-d{n}")
    page = api.get(f"/v1/{NS}/conflicts?profile={b}&limit=2").json
    assert [c["request_id"] for c in page["conflicts"]] == ["a-b0", "a-b1"]
    assert conflicts_of(api, b, f"&limit=2&cursor={page['next_cursor']}") == ["a-b2"]
    assert conflicts_of(api, d) == ["a-d0", "a-d1"]
    assert len(conflicts_of(api, a)) == 5


@pytest.mark.parametrize("raw", ["x", "0", "-1", "1.5", ""])
def test_conflicts_of_a_profile_that_is_not_an_id_are_a_400(api, error_of, raw):
    error = error_of(api.get(f"/v1/{NS}/conflicts?profile={raw}"), 400, "invalid_input")
    assert list(error["details"]["fields"]) == ["profile"]


def test_conflicts_of_an_unknown_profile_are_a_404(api, error_of):
    api.outcomes(NS, ("email:a@x.io", uid(1)), ("email:b@x.io", uid(2)))
    api.link(NS, (uid(2), "email:a@x.io"))
    error = error_of(api.get(f"/v1/{NS}/conflicts?profile=99"), 404, "not_found")
    assert error["message"] == api.get(f"/v1/{NS}/profiles/99").json["error"]["message"]


def test_a_replaced_identifier_is_named_in_the_result(make_app, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[namespaces.shop]\non_conflict = { email = "replace" }\n')
    api = Api(make_app(rules=str(rules)).test_client())
    api.outcomes(NS, ("email:old@x.io", "customId:c1"))
    [result] = api.link(NS, ("customId:c1", "email:new@x.io")).json["results"]
    assert (result["outcome"], result["replaced"]) == ("linked", ["email:old@x.io"])
    assert api.profile(NS, "email:old@x.io").status_code == 404


def test_every_outcome_is_answered_as_the_result_schema_dumps_it(make_app, tmp_path):
    """The answer is built without marshmallow (app/api/schemas.py, link_result_body): it
    must be what LinkResultSchema dumps for the same results, which the service answers
    again when the request is replayed to it. In "shop" an email replaces the older one; in
    "web" (the default rules) a shared browser moves."""
    rules = tmp_path / "rules.toml"
    rules.write_text('[namespaces.shop]\non_conflict = { email = "replace" }\n')
    app = make_app(rules=str(rules))
    api = Api(app.test_client())
    api.outcomes(NS, ("email:old@x.io", "customId:c1"), (uid(1), "browserId:b9"))
    api.outcomes(NS, ("email:a@x.io", "customId:c2"))
    api.outcomes("web", ("browserId:b1", "ext:crm:u1"))
    batches = {
        NS: [
            ("email:n@x.io", uid(5)),  # created
            ("customId:c1", "email:new@x.io"),  # linked, replacing an email
            ("browserId:b9", "customId:c2"),  # merged
            ("customId:c2", "email:A@x.io"),  # noop
            ("customId:c1", "customId:c2"),  # conflict
        ],
        "web": [("browserId:b1", "ext:crm:u2")],  # moved
    }
    answers = {ns: api.link(ns, *batch, request_id="all").json for ns, batch in batches.items()}
    dry_answer = api.link(NS, ("email:z@x.io", uid(6)), dry_run=True).json
    kinds = [result["outcome"] for answer in answers.values() for result in answer["results"]]
    assert kinds == ["created", "linked", "merged", "noop", "conflict", "moved"]
    assert answers[NS]["results"][1]["replaced"] == ["email:old@x.io"]

    def requests(*items):
        return [link_request({"identifiers": identifiers(*i), "attributes": {}}) for i in items]

    with app.app_context():
        linking = app.extensions["idgraph.service"].linking
        for ns, batch in batches.items():
            again = linking.link(ns, requests(*batch), request_id="all")
            assert again.replayed and answers[ns] == LinkResultSchema().dump(again)
        dry = linking.link(NS, requests(("email:z@x.io", uid(6))), dry_run=True)
    assert {**dry_answer, "request_id": dry.request_id} == LinkResultSchema().dump(dry)
