"""A rules file (IDGRAPH_RULES) changes decisions per namespace; a broken one stops start-up."""

from __future__ import annotations

import pytest
from apitools import Api

from graph.errors import RulesError

RULES = """
[defaults]
type_limits = { browserId = 2 }

[namespaces.strict]
on_conflict = { browserId = "reject" }
blocked_values = ["guest"]
"""


@pytest.fixture
def api_with_rules(make_app, tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(RULES)
    return Api(make_app(rules=str(path)).test_client())


def test_a_namespace_override_changes_the_conflict_policy(api_with_rules):
    api = api_with_rules
    for ns in ("relaxed", "strict"):
        api.outcomes(ns, ("browserId:b1", "ext:crm:u1"))
    assert api.outcomes("relaxed", ("browserId:b1", "ext:crm:u2"))[0][0] == "moved"
    response = api.link("strict", ("browserId:b1", "ext:crm:u2")).json
    assert response["results"][0]["outcome"] == "conflict"
    assert response["results"][0]["reason"] == "unique_type:ext:crm"


def test_defaults_from_the_file_apply_to_every_namespace(api_with_rules):
    api = api_with_rules
    for ns in ("relaxed", "strict"):
        api.outcomes(ns, ("customId:c1", "browserId:b1"), ("customId:c1", "browserId:b2"))
        [result] = api.link(ns, ("customId:c1", "browserId:b3")).json["results"]
        assert (result["outcome"], result["reason"]) == ("conflict", "type_limit:browserId")


def test_a_namespace_blocked_value_is_a_400_there_only(api_with_rules, error_of):
    api = api_with_rules
    error_of(api.link("strict", ("customId:guest", "browserId:b1")), 400, "invalid_input")
    assert api.outcomes("relaxed", ("customId:guest", "browserId:b1"))[0][0] == "created"


def test_a_malformed_rules_file_stops_start_up(make_app, tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[namespaces.x]\non_conflict = { browserId = "shrug" }\n')
    with pytest.raises(RulesError, match=r"namespaces\.x\.on_conflict\.browserId"):
        make_app(rules=str(path))
