"""Normalization and validation of identifier types, values and attributes."""

from __future__ import annotations

from typing import Any

import pytest

from graph.model import Identifier
from graph.normalize import (
    MAX_ATTRIBUTE_DEPTH,
    MAX_ATTRIBUTE_NAME,
    MAX_ATTRIBUTE_TEXT,
    MAX_VALUE_LENGTH,
    InvalidValue,
    attribute_errors,
    normalize_lookup,
    normalize_type,
    normalize_value,
)
from graph.rules import Rules

DEFAULT = Rules()
GERMANY = Rules(phone_region="DE")
POLAND = Rules(phone_region="PL")
USA = Rules(phone_region="US")

UUID = "550e8400-e29b-41d4-a716-446655440000"


# --- values that normalize ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "value", "rules", "expected"),
    [
        # email: trimmed, lower-cased, NFC
        pytest.param("email", "ann@example.com", DEFAULT, "ann@example.com", id="email-as-is"),
        pytest.param(
            "email", " Ann@Example.COM ", DEFAULT, "ann@example.com", id="email-trim-lower"
        ),
        pytest.param("email", "\tann@example.com\n", DEFAULT, "ann@example.com", id="email-tabs"),
        pytest.param(
            "email", "Ame\u0301lie@example.com", DEFAULT, "am\u00e9lie@example.com", id="email-nfc"
        ),
        pytest.param(
            "email", "ann.b+news@mail.example.co.uk", DEFAULT, "ann.b+news@mail.example.co.uk",
            id="email-plus-and-subdomains",
        ),
        # phone: E.164
        pytest.param("phone", "+48 601 234 567", DEFAULT, "+48601234567", id="phone-plus-pl"),
        pytest.param("phone", "+48601234567", DEFAULT, "+48601234567", id="phone-already-e164"),
        pytest.param("phone", "+49 30 1234567", DEFAULT, "+49301234567", id="phone-plus-de"),
        pytest.param("phone", "+1 (650) 253-0000", DEFAULT, "+16502530000", id="phone-plus-us"),
        pytest.param("phone", "030 1234567", GERMANY, "+49301234567", id="phone-region-de"),
        pytest.param("phone", "601 234 567", POLAND, "+48601234567", id="phone-region-pl"),
        pytest.param("phone", "(650) 253-0000", USA, "+16502530000", id="phone-region-us"),
        pytest.param(
            "phone", "+48 601 234 567", GERMANY, "+48601234567", id="phone-plus-beats-region"
        ),
        # uuid: canonical lower-case hyphenated
        pytest.param("uuid", UUID, DEFAULT, UUID, id="uuid-canonical"),
        pytest.param("uuid", UUID.upper(), DEFAULT, UUID, id="uuid-upper-case"),
        pytest.param("uuid", UUID.replace("-", ""), DEFAULT, UUID, id="uuid-without-hyphens"),
        pytest.param("uuid", "{" + UUID + "}", DEFAULT, UUID, id="uuid-braces"),
        pytest.param("uuid", "urn:uuid:" + UUID, DEFAULT, UUID, id="uuid-urn"),
        pytest.param("uuid", f"  {UUID}  ", DEFAULT, UUID, id="uuid-trimmed"),
        # any other type: trimmed, otherwise as given
        pytest.param("browserId", " AbC-123 ", DEFAULT, "AbC-123", id="browserId-keeps-case"),
        pytest.param("customId", "Cust 42", DEFAULT, "Cust 42", id="customId-inner-space"),
        pytest.param("ext:crm", " U-0042 ", DEFAULT, "U-0042", id="ext-trimmed"),
        pytest.param("facebook", "Ann.Smith", DEFAULT, "Ann.Smith", id="channel-type"),
        pytest.param("customId", "e\u0301", DEFAULT, "\u00e9", id="other-type-nfc"),
        pytest.param("customId", "x" * MAX_VALUE_LENGTH, DEFAULT, "x" * MAX_VALUE_LENGTH,
                     id="longest-value"),
        pytest.param("customId", " " + "x" * MAX_VALUE_LENGTH + " ", DEFAULT,
                     "x" * MAX_VALUE_LENGTH, id="longest-value-after-trim"),
        pytest.param("customId", "nullable", DEFAULT, "nullable", id="contains-blocked-word"),
    ],
)  # fmt: skip
def test_value_normalizes(type_: str, value: str, rules: Rules, expected: str) -> None:
    assert normalize_value(type_, value, rules) == expected


def test_composed_and_decomposed_spellings_are_one_identifier() -> None:
    composed, decomposed = "Am\u00e9lie", "Ame\u0301lie"
    for type_, value in [("email", "{}@example.com"), ("customId", "{}-42"), ("ext:crm", "{}")]:
        keys = {
            Identifier(type_, normalize_value(type_, value.format(name), DEFAULT)).key
            for name in (composed, decomposed)
        }
        assert len(keys) == 1, keys


def test_compatibility_look_alikes_are_folded() -> None:
    """NFKC, not NFC: a ligature or a full-width letter is the plain letters it looks like."""
    assert normalize_value("customId", "\ufb01le", DEFAULT) == "file"
    assert normalize_value("customId", "\uff21", DEFAULT) == "A"


def test_the_length_limit_counts_characters_after_normalization() -> None:
    decomposed = "e\u0301" * MAX_VALUE_LENGTH  # 1,024 code points, 512 once composed
    assert normalize_value("customId", decomposed, DEFAULT) == "\u00e9" * MAX_VALUE_LENGTH


def test_spellings_of_one_email_give_one_key() -> None:
    keys = {
        Identifier("email", normalize_value("email", spelling, DEFAULT)).key
        for spelling in ("ann@example.com", " ANN@example.com", "Ann@Example.Com\n")
    }
    assert keys == {"email:ann@example.com"}


# --- values refused -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "value", "rules", "message"),
    [
        # emails
        pytest.param("email", "ann", DEFAULT, "not a valid email", id="email-no-at"),
        pytest.param("email", "ann@", DEFAULT, "not a valid email", id="email-no-domain"),
        pytest.param("email", "@example.com", DEFAULT, "not a valid email", id="email-no-local"),
        pytest.param("email", "ann@example", DEFAULT, "not a valid email", id="email-no-dot"),
        pytest.param("email", "a@@example.com", DEFAULT, "not a valid email", id="email-two-at"),
        pytest.param("email", "a@b@example.com", DEFAULT, "not a valid email",
                     id="email-at-in-local"),
        pytest.param("email", "ann smith@example.com", DEFAULT, "not a valid email",
                     id="email-space"),
        pytest.param("email", "ann@example..com", DEFAULT, "not a valid email", id="email-dot-dot"),
        pytest.param("email", "ann@example.c", DEFAULT, "not a valid email", id="email-short-tld"),
        pytest.param("email", "ann@-example.com", DEFAULT, "not a valid email",
                     id="email-domain-starts-with-hyphen"),
        pytest.param("email", "x" * 65 + "@example.com", DEFAULT, "not a valid email",
                     id="email-local-part-too-long"),
        pytest.param("email", "a@" + "b" * 250 + ".com", DEFAULT, "not a valid email",
                     id="email-over-254"),
        # phones
        pytest.param("phone", "030 1234567", DEFAULT, r"leading '\+'", id="phone-no-plus"),
        pytest.param("phone", "+48 123", DEFAULT, "not a valid phone number",
                     id="phone-too-short"),
        pytest.param("phone", "+48 601 234 567 890", DEFAULT, "not a valid phone number",
                     id="phone-too-long"),
        pytest.param("phone", "call me", DEFAULT, "not a valid phone number", id="phone-words"),
        pytest.param("phone", "+999 1234567", DEFAULT, "not a valid phone number",
                     id="phone-unknown-country"),
        pytest.param("phone", "0601 234 567", POLAND, "not a valid phone number",
                     id="phone-invalid-for-region"),
        # uuids
        pytest.param("uuid", "not-a-uuid", DEFAULT, "not a valid UUID", id="uuid-words"),
        pytest.param("uuid", UUID[:-1], DEFAULT, "not a valid UUID", id="uuid-too-short"),
        pytest.param("uuid", UUID[:-1] + "g", DEFAULT, "not a valid UUID", id="uuid-not-hex"),
        # every type: empty, too long, control characters, not text
        pytest.param("customId", "", DEFAULT, "must not be empty", id="empty"),
        pytest.param("customId", "   ", DEFAULT, "must not be empty", id="spaces"),
        pytest.param("email", " \t\n ", DEFAULT, "must not be empty", id="whitespace-email"),
        pytest.param("customId", "x" * (MAX_VALUE_LENGTH + 1), DEFAULT, "longer than",
                     id="too-long"),
        pytest.param("email", "a" * 600 + "@example.com", DEFAULT, "longer than",
                     id="too-long-email"),
        pytest.param("customId", "ab\x00c", DEFAULT, "control characters", id="nul"),
        pytest.param("customId", "ab\x1b[0m", DEFAULT, "control characters", id="escape"),
        pytest.param("customId", "a\nb", DEFAULT, "control characters", id="inner-newline"),
        pytest.param("customId", "a\x7fb", DEFAULT, "control characters", id="delete"),
        pytest.param("customId", "a\x85b", DEFAULT, "control characters", id="c1-control"),
        pytest.param("customId", "a\ud800b", DEFAULT, "lone surrogate", id="lone-surrogate"),
        pytest.param("email", "ann\udfff@example.com", DEFAULT, "lone surrogate",
                     id="lone-surrogate-email"),
        pytest.param("customId", "a\u200bb\x9b", DEFAULT, "control characters",
                     id="c1-csi-after-zero-width-space"),
        pytest.param("customId", 42, DEFAULT, "must be a string", id="number"),
        pytest.param("customId", None, DEFAULT, "must be a string", id="none"),
        # blocked values, case-insensitively
        pytest.param("customId", "null", DEFAULT, "blocked", id="blocked-null"),
        pytest.param("customId", "NULL", DEFAULT, "blocked", id="blocked-NULL"),
        pytest.param("browserId", "undefined", DEFAULT, "blocked", id="blocked-undefined"),
        pytest.param("browserId", " Undefined ", DEFAULT, "blocked", id="blocked-after-trim"),
        pytest.param("customId", "0", DEFAULT, "blocked", id="blocked-zero"),
        pytest.param("ext:crm", "[object Object]", DEFAULT, "blocked", id="blocked-object"),
        pytest.param("email", "test@test.com", DEFAULT, "blocked", id="blocked-test-email"),
        pytest.param("email", " Test@TEST.com ", DEFAULT, "blocked",
                     id="blocked-test-email-after-normalizing"),
        pytest.param("customId", "guest", Rules(blocked_values=frozenset({"GUEST"})), "blocked",
                     id="blocked-by-namespace-rules"),
    ],
)  # fmt: skip
def test_value_is_refused(type_: str, value: Any, rules: Rules, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        normalize_value(type_, value, rules)


def test_blocked_value_of_the_defaults_is_allowed_when_a_namespace_replaces_the_list() -> None:
    rules = Rules(blocked_values=frozenset({"guest"}))
    assert normalize_value("customId", "null", rules) == "null"


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        pytest.param("customId", "null", Identifier("customId", "null"), id="blocked-is-looked-up"),
        pytest.param(
            "email", " Ann@Example.com ", Identifier("email", "ann@example.com"), id="email"
        ),
        pytest.param("uuid", UUID.upper(), Identifier("uuid", UUID), id="uuid"),
    ],
)
def test_lookup_normalizes_like_a_write_without_the_blocked_check(
    type_: str, value: str, expected: Identifier
) -> None:
    assert normalize_lookup(type_, value, DEFAULT) == expected


def test_lookup_refuses_what_cannot_be_an_identifier() -> None:
    with pytest.raises(InvalidValue, match="not a valid email"):
        normalize_lookup("email", "ann", DEFAULT)


# --- types --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        pytest.param("email", "email", id="email"),
        pytest.param(" browserId ", "browserId", id="trimmed"),
        pytest.param("ext:crm123", "ext:crm123", id="ext-system"),
        pytest.param("ext:crm.eu-1_a@x", "ext:crm.eu-1_a@x", id="ext-system-punctuation"),
        pytest.param("my_type.v2-x", "my_type.v2-x", id="declared-type"),
        pytest.param("a" * 64, "a" * 64, id="longest-name"),
    ],
)
def test_type_name_is_accepted(type_: str, expected: str) -> None:
    assert normalize_type(type_) == expected


@pytest.mark.parametrize(
    "type_",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces"),
        pytest.param("1email", id="starts-with-digit"),
        pytest.param("_email", id="starts-with-underscore"),
        pytest.param("e mail", id="inner-space"),
        pytest.param("ext:", id="empty-system"),
        pytest.param(":crm", id="empty-name"),
        pytest.param("ext:crm:eu", id="two-colons"),
        pytest.param("ext:c rm", id="space-in-system"),
        pytest.param("a" * 65, id="name-too-long"),
        pytest.param("ext:" + "c" * 65, id="system-too-long"),
        pytest.param("emaił", id="non-ascii"),
        pytest.param(42, id="number"),
        pytest.param(None, id="none"),
    ],
)
def test_type_name_is_refused(type_: Any) -> None:
    with pytest.raises(InvalidValue, match="not a valid identifier type"):
        normalize_type(type_)


# --- attributes ---------------------------------------------------------------------------------


def _nested_lists(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "attributes",
    [
        pytest.param({}, id="empty-object"),
        pytest.param({"firstName": "Ann", "age": 41, "vip": True, "score": 0.5}, id="scalars"),
        pytest.param({"firstName": None}, id="null-deletes"),
        pytest.param({"address": {"city": "Kraków", "zip": None}}, id="null-nested"),
        pytest.param({"tags": ["a", None, 3, {"k": [1.5]}]}, id="list-mixed"),
        pytest.param({"tags": []}, id="empty-list"),
        pytest.param({"x" * MAX_ATTRIBUTE_NAME: 1}, id="longest-name"),
        pytest.param({"bio": "x" * MAX_ATTRIBUTE_TEXT}, id="longest-text"),
        pytest.param({"deep": _nested_lists(MAX_ATTRIBUTE_DEPTH)}, id="deepest-nesting"),
        pytest.param({"zero": 0, "false": False}, id="falsy-values"),
    ],
)
def test_attributes_are_accepted(attributes: dict[str, Any]) -> None:
    assert attribute_errors(attributes) == {}


@pytest.mark.parametrize(
    ("attributes", "path", "message"),
    [
        pytest.param({"firstName": ""}, "attributes.firstName", "empty string", id="empty-top"),
        pytest.param({"address": {"city": ""}}, "attributes.address.city", "empty string",
                     id="empty-nested"),
        pytest.param({"tags": ["a", ""]}, "attributes.tags.1", "empty string", id="empty-in-list"),
        pytest.param({"": 1}, "attributes.", "attribute name", id="empty-name"),
        pytest.param({"x" * (MAX_ATTRIBUTE_NAME + 1): 1}, "attributes." + "x" * 129,
                     "attribute name", id="name-too-long"),
        pytest.param({"first\nName": "Ann"}, "attributes.first\nName", "attribute name",
                     id="name-with-control-character"),
        pytest.param({"ci\ud800ty": "Oslo"}, "attributes.ci\ufffdty", "lone surrogate",
                     id="name-with-lone-surrogate"),
        pytest.param({"city": "Os\udc00lo"}, "attributes.city", "lone surrogate",
                     id="text-with-lone-surrogate"),
        pytest.param({"score": float("nan")}, "attributes.score", "finite", id="nan"),
        pytest.param({"score": float("inf")}, "attributes.score", "finite", id="infinity"),
        pytest.param({"s": [float("-inf")]}, "attributes.s.0", "finite", id="infinity-nested"),
        pytest.param({"deep": _nested_lists(MAX_ATTRIBUTE_DEPTH + 1)},
                     "attributes.deep" + ".0" * (MAX_ATTRIBUTE_DEPTH + 1), "deeper than",
                     id="too-deep"),
        pytest.param({"bio": "x" * (MAX_ATTRIBUTE_TEXT + 1)}, "attributes.bio", "longer than",
                     id="text-too-long"),
        pytest.param({"when": object()}, "attributes.when", "must be a string, number",
                     id="not-json"),
        pytest.param({"raw": b"bytes"}, "attributes.raw", "must be a string, number",
                     id="bytes"),
    ],
)  # fmt: skip
def test_attribute_problem_is_reported_by_path(
    attributes: dict[str, Any], path: str, message: str
) -> None:
    errors = attribute_errors(attributes)
    assert list(errors) == [path]
    assert message in errors[path][0]


def test_every_attribute_problem_is_reported() -> None:
    errors = attribute_errors({"a": "", "b": "ok", "c": {"d": ""}, "e": float("nan")})
    assert sorted(errors) == ["attributes.a", "attributes.c.d", "attributes.e"]


@pytest.mark.parametrize(
    "attributes",
    [
        pytest.param([], id="list"),
        pytest.param(None, id="none"),
        pytest.param("firstName=Ann", id="text"),
    ],
)
def test_attributes_must_be_an_object(attributes: Any) -> None:
    assert attribute_errors(attributes) == {"attributes": ["must be an object"]}
