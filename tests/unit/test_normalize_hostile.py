"""Hostile identifier types and values (issue 19): each rule of graph/normalize.py that keeps
two people apart, or one person whole, whatever spelling a caller tries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph.errors import RulesError
from graph.model import Identifier, identifier_key
from graph.normalize import (
    TYPE_PATTERN,
    InvalidValue,
    attribute_errors,
    normalize_lookup,
    normalize_type,
    normalize_value,
    text_problem,
)
from graph.rules import REPLACE, Rules, load_rulebook

DEFAULT = Rules()
USA = Rules(phone_region="US")


# --- type names: one rule, case-insensitive -----------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        pytest.param("EMAIL", "email", id="EMAIL"),
        pytest.param("Email", "email", id="Email"),
        pytest.param(" eMaIl ", "email", id="mixed-case-trimmed"),
        pytest.param("PHONE", "phone", id="PHONE"),
        pytest.param("Uuid", "uuid", id="Uuid"),
        pytest.param("customid", "customId", id="built-in-keeps-its-spelling"),
        pytest.param("CUSTOMID", "customId", id="CUSTOMID"),
        pytest.param("BrowserID", "browserId", id="BrowserID"),
        pytest.param("Facebook", "facebook", id="other-name-lower-case"),
        pytest.param("deviceId", "deviceid", id="camel-case-name-lower-case"),
        pytest.param("ext:CRM", "ext:crm", id="ext-system-lower-case"),
        pytest.param("EXT:Crm.EU", "ext:crm.eu", id="EXT-prefix"),
        pytest.param("extra", "extra", id="name-starting-with-ext"),
        pytest.param("ext_crm", "ext_crm", id="ext-underscore-is-a-name"),
    ],
)
def test_type_name_is_folded_by_one_rule(type_: str, expected: str) -> None:
    assert normalize_type(type_) == expected


@pytest.mark.parametrize(
    ("type_", "message"),
    [
        pytest.param("ext", "'ext' needs a system", id="bare-ext"),
        pytest.param("EXT", "'ext' needs a system", id="bare-EXT"),
        pytest.param(" Ext ", "'ext' needs a system", id="bare-Ext-trimmed"),
        pytest.param("email:work", "a colon only after 'ext'", id="email-with-system"),
        pytest.param("EMAIL:work", "a colon only after 'ext'", id="EMAIL-with-system"),
        pytest.param("crm:u1", "a colon only after 'ext'", id="name-with-system"),
        pytest.param("extra:crm", "a colon only after 'ext'", id="ext-prefixed-name-with-system"),
        pytest.param("ext:crm:eu", "a colon only after 'ext'", id="system-with-colon"),
        pytest.param("\u212aey", "not a valid identifier type", id="kelvin-sign-lowers-to-k"),
        pytest.param("\uff45mail", "not a valid identifier type", id="full-width-letter"),
        pytest.param("em\u200bail", "not a valid identifier type", id="zero-width-space"),
    ],
)
def test_type_name_is_refused(type_: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        normalize_type(type_)


@pytest.mark.parametrize(
    ("type_", "value", "expected_type", "expected_value"),
    [
        pytest.param("EMAIL", " Bob@X.io ", "email", "bob@x.io", id="EMAIL-is-email"),
        pytest.param("Phone", "+48 601 234 567", "phone", "+48601234567", id="Phone-is-phone"),
        pytest.param(
            "UUID",
            "550E8400-E29B-41D4-A716-446655440000",
            "uuid",
            "550e8400-e29b-41d4-a716-446655440000",
            id="UUID-is-uuid",
        ),
    ],
)
def test_a_folded_built_in_type_gets_its_normalization(
    type_: str, value: str, expected_type: str, expected_value: str
) -> None:
    folded = normalize_type(type_)
    assert Identifier(folded, normalize_value(folded, value, DEFAULT)) == Identifier(
        expected_type, expected_value
    )


def test_a_folded_email_type_is_validated() -> None:
    with pytest.raises(InvalidValue, match="not a valid email"):
        normalize_value(normalize_type("Email"), "NOT AN EMAIL", DEFAULT)


def test_every_spelling_of_a_type_gets_the_rules_of_that_type() -> None:
    for spelling in ("email", "EMAIL", "Email"):
        type_ = normalize_type(spelling)
        assert DEFAULT.is_unique(type_) and DEFAULT.is_recognizing(type_)


# --- keys: the type is recoverable, so no two pairs share a key ---------------------------------


def _split_key(key: str) -> tuple[str, str]:
    """The rule identifier_key's docstring states: the type ends at the first colon, or at the
    second when the key starts with 'ext:'."""
    head, _, rest = key.partition(":")
    if head == "ext":
        system, _, rest = rest.partition(":")
        head = f"ext:{system}"
    return head, rest


@pytest.mark.parametrize(
    ("forged", "genuine"),
    [
        pytest.param(("ext", "crm:u1"), ("ext:crm", "u1"), id="ext+crm:u1-vs-ext:crm+u1"),
        pytest.param(
            ("email:work", "erin@example.com"),
            ("email", "work:erin@example.com"),
            id="email:work-vs-email",
        ),
        pytest.param(("EXT", "crm:u1"), ("ext:crm", "u1"), id="EXT+crm:u1-vs-ext:crm+u1"),
    ],
)
def test_a_pair_that_would_forge_another_key_is_refused(
    forged: tuple[str, str], genuine: tuple[str, str]
) -> None:
    genuine_type = normalize_type(genuine[0])
    key = Identifier(genuine_type, normalize_value(genuine_type, genuine[1], DEFAULT)).key
    assert key == identifier_key(*forged).lower()  # what collided before
    with pytest.raises(InvalidValue, match="not a valid identifier type"):
        normalize_type(forged[0])


@given(
    type_=st.from_regex(TYPE_PATTERN, fullmatch=True).filter(lambda t: t.lower() != "ext"),
    value=st.text(min_size=1, max_size=20),
)
def test_the_type_and_value_are_recoverable_from_any_key(type_: str, value: str) -> None:
    folded = normalize_type(type_)
    assert _split_key(identifier_key(folded, value)) == (folded, value)


_HOSTILE = st.sampled_from(
    [*"aA\u00fc.-@ _\u00df\u03c2\u3002\uff0e\uff20\u0130\u017f\u212a\u0430\u03b1\u0307",
     "xn--", "xn--bcher-kva", "\ufdfa", "\ufb01", "+1 650 253 0000", " ext. 1"]
)  # fmt: skip


@given(value=st.lists(_HOSTILE, max_size=20).map("".join) | st.text(max_size=40))
@pytest.mark.parametrize("type_", ["email", "phone", "customId"])
def test_a_normalized_value_normalizes_to_itself(type_: str, value: str) -> None:
    """What is stored is found again by its own spelling: every rule is idempotent."""
    try:
        normalized = normalize_value(type_, value, DEFAULT)
    except InvalidValue:
        return
    assert normalize_value(type_, normalized, DEFAULT) == normalized


# --- the rules file folds its type names by the same rule --------------------------------------


def _rules_file(tmp_path: Path, settings: str) -> Rules:
    path = tmp_path / "rules.toml"
    path.write_text(f"[defaults]\n{settings}\n", encoding="utf-8")
    return load_rulebook(path).defaults


def test_the_rules_file_folds_its_type_names(tmp_path: Path) -> None:
    rules = _rules_file(
        tmp_path,
        'unique_types = ["EMAIL", "Ext:*"]\n'
        'type_limits = { BROWSERID = 2, "EXT:CRM" = 1 }\n'
        'on_conflict = { Email = "replace" }\n'
        'recognizing_types = ["CUSTOMID"]\n'
        'generated_types = ["UUID"]',
    )
    assert rules.is_unique("email") and rules.is_unique("ext:crm")
    assert rules.limit("browserId") == 2 and rules.limit("ext:crm") == 1
    assert rules.policy("email") == REPLACE
    assert rules.is_recognizing("customId") and rules.generated_types == ("uuid",)


@pytest.mark.parametrize(
    ("pattern", "type_", "matches"),
    [
        pytest.param("ext:*", "ext:crm", True, id="ext-star"),
        pytest.param("EXT:*", "ext:crm", True, id="EXT-star"),
        pytest.param("*ID", "customId", True, id="star-ID-matches-customId"),
        pytest.param("*id", "browserId", True, id="star-id-matches-browserId"),
        pytest.param("loyalty?", "loyalty2", True, id="question-mark"),
        pytest.param("ext:*", "email", False, id="no-match"),
    ],
)
def test_a_rules_file_pattern_matches_whatever_the_case(
    tmp_path: Path, pattern: str, type_: str, matches: bool
) -> None:
    rules = _rules_file(tmp_path, f'type_limits = {{ "{pattern}" = 3 }}')
    assert (rules.limit(type_) == 3) is matches


@pytest.mark.parametrize(
    ("settings", "where"),
    [
        pytest.param('unique_types = ["email:work"]', "unique_types", id="name-with-system"),
        pytest.param('recognizing_types = ["ext"]', "recognizing_types", id="bare-ext"),
        pytest.param('recognizing_types = ["ext:*"]', "recognizing_types", id="pattern-exact"),
        pytest.param('generated_types = ["u id"]', "generated_types", id="space"),
        pytest.param("type_limits = { email = 1, EMAIL = 2 }", "type_limits.EMAIL",
                     id="two-spellings-of-one-type"),
        pytest.param('on_conflict = { "crm:x" = "move" }', "on_conflict.crm:x",
                     id="policy-of-name-with-system"),
        pytest.param('unique_types = ["ext:[a-c]*"]', "unique_types", id="bracket-pattern"),
    ],
)  # fmt: skip
def test_the_rules_file_refuses_a_type_name_no_identifier_could_have(
    tmp_path: Path, settings: str, where: str
) -> None:
    with pytest.raises(RulesError, match=rf"defaults\.{where}"):
        _rules_file(tmp_path, settings)


def test_the_rules_file_keeps_its_other_settings(tmp_path: Path) -> None:
    rules = _rules_file(
        tmp_path,
        'default_external_system = "CRM"\nallowed_origins = ["https://Shop.example"]',
    )
    assert rules.default_external_system == "CRM"  # folded where it becomes a type: ext:crm
    assert normalize_type(f"ext:{rules.default_external_system}") == "ext:crm"
    assert rules.allowed_origins == ("https://shop.example",)


# --- phones keep their extension ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "rules", "expected"),
    [
        pytest.param("+1 650 253 0000 ext. 101", DEFAULT, "+16502530000;ext=101", id="ext-dot"),
        pytest.param("+1 650 253 0000 ext. 202", DEFAULT, "+16502530000;ext=202", id="other-desk"),
        pytest.param("+1 650 253 0000 x101", DEFAULT, "+16502530000;ext=101", id="x"),
        pytest.param("+1 650 253 0000 #101", DEFAULT, "+16502530000;ext=101", id="hash"),
        pytest.param("tel:+1-650-253-0000;ext=101", DEFAULT, "+16502530000;ext=101",
                     id="rfc3966-uri"),
        pytest.param("+16502530000;ext=101", DEFAULT, "+16502530000;ext=101",
                     id="stored-form-is-stable"),
        pytest.param("(650) 253-0000 ext. 101", USA, "+16502530000;ext=101", id="region"),
        pytest.param("+1 650 253 0000 ext. \u0661\u0660\u0661", DEFAULT, "+16502530000;ext=101",
                     id="arabic-indic-digits"),
        pytest.param("+1 650 253 0000 ext. 0101", DEFAULT, "+16502530000;ext=0101",
                     id="leading-zero-kept"),
        pytest.param("+1 650 253 0000", DEFAULT, "+16502530000", id="no-extension-as-before"),
        pytest.param("+48 601 234 567", DEFAULT, "+48601234567", id="no-extension-e164"),
    ],
)  # fmt: skip
def test_a_phone_extension_is_kept(value: str, rules: Rules, expected: str) -> None:
    assert normalize_value("phone", value, rules) == expected


def test_two_desks_of_one_switchboard_are_two_identifiers() -> None:
    numbers = ("+1 650 253 0000 ext. 101", "+1 650 253 0000 ext. 202", "+1 650 253 0000")
    keys = {Identifier("phone", normalize_value("phone", n, DEFAULT)).key for n in numbers}
    assert len(keys) == 3


# --- invisible characters are refused, look-alikes folded or refused ----------------------------


@pytest.mark.parametrize("type_", ["customId", "browserId", "ext:crm", "email"])
@pytest.mark.parametrize(
    "character",
    [
        pytest.param("\u200b", id="zero-width-space"),
        pytest.param("\u00ad", id="soft-hyphen"),
        pytest.param("\u202e", id="right-to-left-override"),
        pytest.param("\ufeff", id="byte-order-mark"),
        pytest.param("\u200d", id="zero-width-joiner"),
        pytest.param("\u2060", id="word-joiner"),
        pytest.param("\U000e0041", id="tag-letter"),
    ],
)
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_an_invisible_format_character_is_refused_not_stripped(
    type_: str, character: str, where: str
) -> None:
    value = {"start": "{c}ann@x.io", "middle": "an{c}n@x.io", "end": "ann@x.io{c}"}[where]
    with pytest.raises(
        InvalidValue, match=f"invisible format character \\(U\\+{ord(character):04X}"
    ):
        normalize_value(type_, value.format(c=character), DEFAULT)


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        pytest.param("customId", "\uff21\uff22\uff23\uff11\uff12", "ABC12", id="full-width"),
        pytest.param("email", "\uff41\uff4e\uff4e\uff20\uff58\uff0e\uff49\uff4f", "ann@x.io",
                     id="full-width-email"),
        pytest.param("customId", "\ufb01le", "file", id="ligature"),
        pytest.param("customId", "c\u00b2", "c2", id="superscript"),
        pytest.param("customId", "a\u00a0b", "a b", id="no-break-space"),
        pytest.param("customId", "\u212a1", "K1", id="kelvin-sign"),
        pytest.param("customId", "Ame\u0301lie", "Am\u00e9lie", id="canonical-still-joined"),
        pytest.param("browserId", "b-\uff11\uff12\uff13", "b-123", id="full-width-digits"),
    ],
)  # fmt: skip
def test_compatibility_look_alikes_are_folded_nfkc(type_: str, value: str, expected: str) -> None:
    assert normalize_value(type_, value, DEFAULT) == expected


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        pytest.param("customId", "p\u0430ypal", id="cyrillic-a-in-latin-word"),
        pytest.param("customId", "\u0391BC", id="greek-alpha-in-latin-word"),
        pytest.param("customId", "\u0430\u03b1", id="cyrillic-and-greek"),
        pytest.param("customId", "user_\u0430", id="one-word-with-underscore"),
        pytest.param("ext:crm", "Ivan \u0418v\u0430n", id="second-word-mixed"),
        pytest.param("email", "\u0430nn@example.com", id="email-local-part"),
        pytest.param("email", "ann@ex\u0430mple.com", id="email-domain-label"),
        pytest.param("email", "ann@xn--pypal-4ve.com", id="email-punycode-label"),
    ],
)
def test_letters_of_two_look_alike_scripts_in_one_word_are_refused(type_: str, value: str) -> None:
    with pytest.raises(InvalidValue, match="letters in one word"):
        normalize_value(type_, value, DEFAULT)


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        pytest.param("customId", "Ivan \u0418\u0432\u0430\u043d", "Ivan \u0418\u0432\u0430\u043d",
                     id="two-words-two-scripts"),
        pytest.param("customId", "\u0394-42", "\u0394-42", id="greek-and-digits"),
        pytest.param("customId", "\u6771\u4eac-abc", "\u6771\u4eac-abc", id="other-script"),
        pytest.param("customId", "na\u00efve", "na\u00efve", id="latin-with-diaeresis"),
        pytest.param("email", "ivan@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444",
                     "ivan@xn--e1afmkfd.xn--p1ai", id="latin-local-cyrillic-domain"),
    ],
)  # fmt: skip
def test_one_script_per_word_is_accepted(type_: str, value: str, expected: str) -> None:
    assert normalize_value(type_, value, DEFAULT) == expected


# --- email domains: Unicode is stored as IDNA ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("ann@b\u00fccher.example", "ann@xn--bcher-kva.example", id="unicode"),
        pytest.param("ann@xn--bcher-kva.example", "ann@xn--bcher-kva.example", id="punycode"),
        pytest.param("ANN@B\u00dcCHER.EXAMPLE", "ann@xn--bcher-kva.example", id="upper-case"),
        pytest.param("ann@bu\u0308cher.example", "ann@xn--bcher-kva.example", id="decomposed"),
        pytest.param("ann@b\u00fccher\u3002example", "ann@xn--bcher-kva.example",
                     id="ideographic-full-stop"),
        pytest.param("ann@stra\u00dfe.de", "ann@xn--strae-oqa.de", id="idna-2008-keeps-sharp-s"),
        pytest.param("ann@example.com", "ann@example.com", id="ascii-as-before"),
    ],
)  # fmt: skip
def test_a_unicode_email_domain_is_stored_as_idna(value: str, expected: str) -> None:
    assert normalize_value("email", value, DEFAULT) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("ann@xn--zz.example", id="invalid-a-label"),
        pytest.param("ann@i\u2764.ws", id="symbol-not-in-idna-2008"),
        pytest.param("ann@xn--i-7iq.ws", id="symbol-as-punycode"),
        pytest.param("ann@" + "\u00fc" * 64 + ".example", id="label-too-long"),
    ],
)
def test_an_email_domain_that_is_not_a_valid_idn_is_refused(value: str) -> None:
    with pytest.raises(InvalidValue, match="not a valid email address"):
        normalize_value("email", value, DEFAULT)


def test_lookup_finds_a_unicode_domain_by_either_spelling() -> None:
    stored = Identifier("email", normalize_value("email", "ann@b\u00fccher.example", DEFAULT))
    assert normalize_lookup("email", "Ann@xn--BCHER-kva.example", DEFAULT) == stored


# --- NUL and other control characters in text ---------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "path"),
    [
        pytest.param({"city": "Os\x00lo"}, "attributes.city", id="nul"),
        pytest.param({"city": "Oslo\x1b[31m"}, "attributes.city", id="escape"),
        pytest.param({"a": {"b": "x\x00"}}, "attributes.a.b", id="nested"),
        pytest.param({"tags": ["ok", "\x07"]}, "attributes.tags.1", id="in-list"),
        pytest.param({"a": {"b\x00": "x"}}, "attributes.a.b\x00", id="nested-key"),
    ],
)
def test_a_control_character_in_attribute_text_is_refused(
    attributes: dict[str, Any], path: str
) -> None:
    assert list(attribute_errors(attributes)) == [path]


def test_attribute_text_may_hold_tabs_and_newlines() -> None:
    assert attribute_errors({"address": "1 Main St\r\nOslo\tNorway\n"}) == {}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("spam\x00", "control character", id="nul"),
        pytest.param("\x1b[2J", "control character", id="escape"),
        pytest.param("a\ud800", "lone surrogate", id="surrogate"),
        pytest.param("two\nlines\tand a tab", None, id="whitespace-is-text"),
    ],
)
def test_text_problem(text: str, problem: str | None) -> None:
    found = text_problem(text)
    assert found is None if problem is None else problem in found
