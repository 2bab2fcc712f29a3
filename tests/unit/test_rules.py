"""Rules: the built-in defaults, and the rules file that overrides them per namespace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.errors import RulesError
from graph.rules import (
    ANONYMOUS_INTO_OTHER,
    MOVE,
    REJECT,
    REPLACE,
    RuleBook,
    Rules,
    load_rulebook,
)

# --- defaults and lookups ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "unique"),
    [
        pytest.param("email", True, id="email"),
        pytest.param("customId", True, id="customId"),
        pytest.param("ext:crm", True, id="ext-crm-matches-ext-pattern"),
        pytest.param("ext:crm123", True, id="ext-any-system-matches-ext-pattern"),
        pytest.param("browserId", False, id="browserId"),
        pytest.param("uuid", False, id="uuid"),
        pytest.param("phone", False, id="phone"),
        pytest.param("facebook", False, id="facebook"),
        pytest.param("external", False, id="prefix-without-colon-is-not-ext"),
        pytest.param("Email", False, id="type-names-are-case-sensitive"),
    ],
)
def test_default_unique_types(type_: str, unique: bool) -> None:
    assert Rules().is_unique(type_) is unique


def test_unique_types_are_exact_names_or_patterns() -> None:
    rules = Rules(unique_types=("phone", "crm:*"))
    assert rules.is_unique("phone")
    assert rules.is_unique("crm:eu")
    assert not rules.is_unique("email")
    assert not rules.is_unique("ext:crm")


@pytest.mark.parametrize(
    ("limits", "type_", "expected"),
    [
        pytest.param({}, "browserId", None, id="no-limit-by-default"),
        pytest.param({"browserId": 3}, "browserId", 3, id="exact"),
        pytest.param({"ext:*": 2}, "ext:crm", 2, id="pattern"),
        pytest.param({"ext:*": 2}, "email", None, id="pattern-does-not-match-other-types"),
        pytest.param({"ext:*": 2, "ext:crm": 5}, "ext:crm", 5, id="exact-beats-pattern-after"),
        pytest.param({"ext:crm": 5, "ext:*": 2}, "ext:crm", 5, id="exact-beats-pattern-before"),
        pytest.param({"ext:*": 2, "ext:crm": 5}, "ext:erp", 2, id="pattern-for-other-systems"),
    ],
)
def test_type_limits(limits: dict[str, int], type_: str, expected: int | None) -> None:
    assert Rules(type_limits=limits).limit(type_) == expected


@pytest.mark.parametrize(
    ("on_conflict", "type_", "expected"),
    [
        pytest.param(None, "browserId", MOVE, id="default-browserId-moves"),
        pytest.param(None, "email", REJECT, id="default-email-rejects"),
        pytest.param(None, "ext:crm", REJECT, id="default-ext-rejects"),
        pytest.param({"browserId": REJECT}, "browserId", REJECT, id="browserId-reject"),
        pytest.param({"ext:*": MOVE}, "ext:crm", MOVE, id="pattern"),
        pytest.param(
            {"ext:*": MOVE, "ext:crm": REJECT}, "ext:crm", REJECT, id="exact-beats-pattern-after"
        ),
        pytest.param(
            {"ext:crm": REJECT, "ext:*": MOVE}, "ext:crm", REJECT, id="exact-beats-pattern-before"
        ),
        pytest.param({"ext:*": MOVE, "ext:crm": REJECT}, "ext:erp", MOVE, id="pattern-for-others"),
    ],
)
def test_conflict_policy(on_conflict: dict[str, str] | None, type_: str, expected: str) -> None:
    rules = Rules() if on_conflict is None else Rules(on_conflict=on_conflict)
    assert rules.policy(type_) == expected


@pytest.mark.parametrize(
    ("rules", "type_", "recognizing"),
    [
        pytest.param(Rules(), "email", True, id="default-email"),
        pytest.param(Rules(), "customId", False, id="default-not-customId"),
        pytest.param(Rules(), "phone", False, id="default-not-phone"),
        pytest.param(Rules(recognizing_types=("customId",)), "customId", True, id="customId"),
        pytest.param(Rules(recognizing_types=("customId",)), "email", False, id="replaced"),
    ],
)
def test_recognizing_types(rules: Rules, type_: str, recognizing: bool) -> None:
    assert rules.is_recognizing(type_) is recognizing


@pytest.mark.parametrize(
    ("rules", "value", "blocked"),
    [
        pytest.param(Rules(), "null", True, id="null"),
        pytest.param(Rules(), "NULL", True, id="NULL"),
        pytest.param(Rules(), "Undefined", True, id="Undefined"),
        pytest.param(Rules(), "0", True, id="zero"),
        pytest.param(Rules(), "[object Object]", True, id="object-object"),
        pytest.param(Rules(), "TEST@test.com", True, id="test-email-any-case"),
        pytest.param(Rules(), "nullable", False, id="longer-value"),
        pytest.param(Rules(), "ann@example.com", False, id="real-email"),
        pytest.param(Rules(blocked_values=frozenset({"Guest"})), "GUEST", True, id="custom"),
        pytest.param(Rules(blocked_values=frozenset({"Guest"})), "null", False, id="replaced"),
    ],
)
def test_blocked_values_compare_case_insensitively(rules: Rules, value: str, blocked: bool) -> None:
    assert rules.is_blocked(value) is blocked


def test_default_size_cap_and_phone_region() -> None:
    rules = Rules()
    assert rules.max_identifiers == 1000
    assert rules.phone_region is None
    assert rules.merge_recognized is False


def test_rulebook_answers_defaults_for_a_namespace_without_overrides() -> None:
    book = RuleBook(
        default_settings={"max_identifiers": 50},
        namespace_settings={"shop": {"max_identifiers": 10}},
    )
    assert book.for_namespace("shop").max_identifiers == 10
    assert book.for_namespace("other").max_identifiers == 50
    assert book.for_namespace("other") is book.for_namespace("another")  # built once


def test_pinned_rules_hold_for_every_face() -> None:
    shop = Rules(max_identifiers=10)
    book = RuleBook(pinned={"shop": shop})
    assert book.for_namespace("shop") is shop
    assert book.for_namespace("shop", "synerise") is shop


def test_each_face_starts_from_its_preset_and_the_file_applies_on_top() -> None:
    book = RuleBook(namespace_settings={"shop": {"recognizing_types": ("customId",)}})
    synerise = book.for_namespace("other", "synerise")
    assert synerise.policy("email") == REPLACE
    assert synerise.merge_policy == ANONYMOUS_INTO_OTHER
    assert synerise.generated_types == ("uuid",)
    assert book.for_namespace("other").policy("email") == REJECT
    assert not book.for_namespace("other", "omnidesk").is_unique("email")
    assert book.for_namespace("other", "omnidesk").is_unique("customId")
    # Synerise's "non-unique emails" setting: customId recognizes, the rest of the preset holds
    shop = book.for_namespace("shop", "synerise")
    assert shop.recognizing_types == ("customId",)
    assert shop.merge_policy == ANONYMOUS_INTO_OTHER


# --- rules files ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [pytest.param(None, id="none"), pytest.param("", id="empty")])
def test_no_rules_file_gives_the_defaults(path: str | None) -> None:
    assert load_rulebook(path) == RuleBook()


TOML_FILE = """
[defaults]
max_identifiers = 500
blocked_values = ["null", "guest"]

[namespaces."shop-eu"]
type_limits = { browserId = 20 }
on_conflict = { browserId = "reject" }
phone_region = "de"
unique_types = ["customId"]
"""

JSON_FILE = {
    "defaults": {"max_identifiers": 500, "blocked_values": ["null", "guest"]},
    "namespaces": {
        "shop-eu": {
            "type_limits": {"browserId": 20},
            "on_conflict": {"browserId": "reject"},
            "phone_region": "de",
            "unique_types": ["customId"],
        }
    },
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "text"),
    [
        pytest.param("rules.toml", TOML_FILE, id="toml"),
        pytest.param("rules.json", json.dumps(JSON_FILE), id="json"),
        pytest.param("RULES.JSON", json.dumps(JSON_FILE), id="json-upper-case-suffix"),
    ],
)
def test_rules_file_sets_defaults_and_namespace_overrides(
    tmp_path: Path, name: str, text: str
) -> None:
    book = load_rulebook(_write(tmp_path, name, text))

    assert book.defaults.max_identifiers == 500
    assert book.defaults.is_blocked("GUEST")
    assert not book.defaults.is_blocked("undefined")  # the list replaces the built-in one
    assert book.defaults.unique_types == Rules().unique_types
    assert book.defaults.policy("browserId") == MOVE

    shop = book.for_namespace("shop-eu")
    assert shop.limit("browserId") == 20
    assert shop.policy("browserId") == REJECT
    assert shop.phone_region == "DE"
    assert shop.is_unique("customId")
    assert not shop.is_unique("email")
    # settings the namespace does not name keep the file's defaults
    assert shop.max_identifiers == 500
    assert shop.is_blocked("guest")
    assert shop.recognizing_types == ("email",)

    assert book.for_namespace("elsewhere") == book.defaults


def test_namespace_setting_replaces_the_default_setting_as_a_whole(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "rules.toml",
        """
        [defaults]
        type_limits = { browserId = 5, phone = 2 }
        on_conflict = { browserId = "move", "ext:*" = "move" }

        [namespaces.a]
        type_limits = { phone = 3 }
        on_conflict = { "ext:crm" = "reject" }
        """,
    )
    book = load_rulebook(path)
    assert book.defaults.limit("browserId") == 5
    a = book.for_namespace("a")
    assert a.limit("phone") == 3
    assert a.limit("browserId") is None
    assert a.policy("ext:crm") == REJECT
    assert a.policy("ext:erp") == REJECT
    assert a.policy("browserId") == REJECT


def test_json_rules_file_may_clear_the_phone_region(tmp_path: Path) -> None:
    document = {"defaults": {"phone_region": "PL"}, "namespaces": {"us": {"phone_region": None}}}
    book = load_rulebook(_write(tmp_path, "rules.json", json.dumps(document)))
    assert book.defaults.phone_region == "PL"
    assert book.for_namespace("us").phone_region is None


def test_every_setting_can_be_set_from_a_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "rules.toml",
        """
        [defaults]
        unique_types = ["customId", "ext:*"]
        type_limits = { browserId = 10 }
        recognizing_types = ["customId"]
        merge_recognized = true
        blocked_values = ["guest"]
        on_conflict = { browserId = "reject" }
        max_identifiers = 2
        phone_region = "PL"
        merge_policy = "anonymous_into_other"
        generated_types = ["uuid"]
        """,
    )
    rules = load_rulebook(path).defaults
    assert rules == Rules(
        unique_types=("customId", "[eE][xX][tT]:*"),  # a pattern matches whatever the case
        type_limits={"browserId": 10},
        recognizing_types=("customId",),
        merge_recognized=True,
        blocked_values=frozenset({"guest"}),
        on_conflict={"browserId": REJECT},
        max_identifiers=2,
        phone_region="PL",
        merge_policy=ANONYMOUS_INTO_OTHER,
        generated_types=("uuid",),
    )


BAD_SETTINGS = [
    pytest.param('unique_types = "email"', "unique_types", id="unique-types-not-a-list"),
    pytest.param('unique_types = ["email", 3]', "unique_types", id="unique-types-not-strings"),
    pytest.param('recognizing_types = [""]', "recognizing_types", id="empty-type-name"),
    pytest.param('merge_recognized = "yes"', "merge_recognized", id="merge-recognized-not-bool"),
    pytest.param("blocked_values = [0]", "blocked_values", id="blocked-values-not-strings"),
    pytest.param("type_limits = [1]", "type_limits", id="type-limits-not-a-table"),
    pytest.param("type_limits = { browserId = 0 }", "type_limits.browserId", id="limit-below-1"),
    pytest.param('type_limits = { browserId = "5" }', "type_limits.browserId", id="limit-text"),
    pytest.param("type_limits = { browserId = 2.5 }", "type_limits.browserId", id="limit-float"),
    pytest.param("type_limits = { browserId = true }", "type_limits.browserId", id="limit-bool"),
    pytest.param('on_conflict = { browserId = "steal" }', "on_conflict.browserId", id="bad-policy"),
    pytest.param('on_conflict = "move"', "on_conflict", id="on-conflict-not-a-table"),
    pytest.param("max_identifiers = 1", "max_identifiers", id="max-identifiers-below-2"),
    pytest.param("max_identifiers = true", "max_identifiers", id="max-identifiers-bool"),
    pytest.param('max_identifiers = "1000"', "max_identifiers", id="max-identifiers-text"),
    pytest.param('phone_region = "XX"', "phone_region", id="unknown-phone-region"),
    pytest.param('phone_region = "Germany"', "phone_region", id="phone-region-not-a-code"),
    pytest.param("phone_region = 49", "phone_region", id="phone-region-not-text"),
    pytest.param('merge_policy = "newest"', "merge_policy", id="unknown-merge-policy"),
    pytest.param('generated_types = "uuid"', "generated_types", id="generated-not-a-list"),
]


@pytest.mark.parametrize(
    "table", [pytest.param("defaults", id="defaults"), pytest.param('namespaces."shop"', id="ns")]
)
@pytest.mark.parametrize(("line", "setting"), BAD_SETTINGS)
def test_bad_setting_names_the_file_and_the_setting(
    tmp_path: Path, table: str, line: str, setting: str
) -> None:
    path = _write(tmp_path, "rules.toml", f"[{table}]\n{line}\n")
    with pytest.raises(RulesError) as raised:
        load_rulebook(path)
    where = table.replace('"', "")
    assert str(path) in str(raised.value)
    assert f"{where}.{setting}:" in str(raised.value)


BAD_DOCUMENTS = [
    pytest.param("rules.toml", "[rules]\nmax_identifiers = 5", "rules", id="unknown-section"),
    pytest.param(
        "rules.toml",
        "[defaults]\nmax_identifier = 5",
        "defaults: unknown setting(s) ['max_identifier']",
        id="unknown-setting-in-defaults",
    ),
    pytest.param(
        "rules.toml",
        '[namespaces.shop]\ncolour = "red"',
        "namespaces.shop: unknown setting(s) ['colour']",
        id="unknown-setting-in-namespace",
    ),
    pytest.param("rules.toml", 'defaults = "strict"', "defaults", id="defaults-not-a-table"),
    pytest.param("rules.toml", 'namespaces = ["a"]', "namespaces", id="namespaces-not-a-table"),
    pytest.param("rules.toml", "namespaces = { a = 3 }", "namespaces.a", id="namespace-not-table"),
    pytest.param("rules.json", '["defaults"]', "expected a table", id="json-not-an-object"),
    pytest.param("rules.toml", "[defaults\nmax_identifiers = 5", "not valid TOML", id="bad-toml"),
    pytest.param("rules.json", '{"defaults": {}', "not valid JSON", id="bad-json"),
    pytest.param("rules.json", TOML_FILE, "not valid JSON", id="toml-in-a-json-file"),
]


@pytest.mark.parametrize(("name", "text", "named"), BAD_DOCUMENTS)
def test_malformed_rules_file_names_the_file_and_the_problem(
    tmp_path: Path, name: str, text: str, named: str
) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(RulesError) as raised:
        load_rulebook(path)
    assert str(path) in str(raised.value)
    assert named in str(raised.value)


def test_missing_rules_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(RulesError, match="cannot read rules file") as raised:
        load_rulebook(path)
    assert str(path) in str(raised.value)


def test_rules_file_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_bytes(b'[defaults]\nblocked_values = ["\xff\xfe"]\n')
    with pytest.raises(RulesError) as raised:
        load_rulebook(path)
    assert str(path) in str(raised.value)
