"""Normalization and validation of identifier values.

An identifier's key is built from its normalized value, so ``" Ann@Example.COM "`` and
``ann@example.com`` are one node:

- every value: Unicode NFC, surrounding whitespace trimmed, no control characters (C0, DEL,
  C1) or lone surrogates left, at most ``MAX_VALUE_LENGTH`` characters. NFC for every type,
  opaque ids included: a composed and a decomposed ``é`` are one character to whoever typed
  them, and NFC merges only such canonical equivalents (not NFKC, which would also fold
  look-alikes such as ``ﬁ`` and ``fi`` into one id);
- ``email``: lower-cased, one ``@``, a dotted domain;
- ``phone``: E.164 (``+48601234567``) by the ``phonenumbers`` library, with the namespace's
  ``phone_region`` for numbers written without a country code;
- ``uuid``: the canonical lower-case hyphenated form;
- any other type (``browserId``, ``customId``, ``ext:crm``, ...): as given, trimmed.

A value that is empty after normalization, or blocked by the namespace's rules, is refused.
"""

from __future__ import annotations

import math
import re
import unicodedata
import uuid

import phonenumbers

from graph.model import Identifier
from graph.rules import Rules

MAX_VALUE_LENGTH = 512
TYPE_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}(:[A-Za-z0-9_.@-]{1,64})?")
_EMAIL = re.compile(r"[^@\s]{1,64}@([a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9-]{2,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1
_SURROGATE = re.compile("[\ud800-\udfff]")  # JSON's "\ud800" escape: not text, not storable
NOT_TEXT = "not valid Unicode text (a lone surrogate)"


class InvalidValue(ValueError):
    """A type or value that cannot be an identifier; the message says why."""


def normalize_type(type_: object) -> str:
    if not isinstance(type_, str) or not TYPE_PATTERN.fullmatch(type_.strip()):
        raise InvalidValue(
            "not a valid identifier type: letters, digits, '_', '.', '-', "
            "optionally ':<system>' (e.g. 'email', 'ext:crm')"
        )
    return type_.strip()


def normalize_value(type_: str, value: object, rules: Rules) -> str:
    """The normalized value, or InvalidValue; blocked values are refused here too."""
    normalized = normalize_lookup(type_, value, rules).value
    if rules.is_blocked(normalized):
        raise InvalidValue(f"'{normalized}' is a blocked value in this namespace")
    return normalized


def normalize_lookup(type_: str, value: object, rules: Rules) -> Identifier:
    """An identifier to look up (``type_`` already normalized): normalized like a write,
    without the blocked-value check (a blocked value is simply never found)."""
    text = _clean(value)
    normalizer = _BY_TYPE.get(type_)
    return Identifier(type_, normalizer(text, rules) if normalizer else text)


def _clean(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidValue("must be a string")
    if _SURROGATE.search(value):
        raise InvalidValue(NOT_TEXT)
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise InvalidValue("must not be empty")
    if len(text) > MAX_VALUE_LENGTH:
        raise InvalidValue(f"longer than {MAX_VALUE_LENGTH} characters")
    if _CONTROL.search(text):
        raise InvalidValue("contains control characters")
    return text


def _email(text: str, rules: Rules) -> str:
    email = text.lower()
    if len(email) > 254 or ".." in email or not _EMAIL.fullmatch(email):
        raise InvalidValue("not a valid email address")
    return email


def _phone(text: str, rules: Rules) -> str:
    try:
        number = phonenumbers.parse(text, rules.phone_region)
    except phonenumbers.NumberParseException as error:
        hint = "" if rules.phone_region else " (write it with a leading '+' and country code)"
        reason = str(error).split(") ", 1)[-1]  # drop phonenumbers' "(1) " error-type prefix
        raise InvalidValue(f"not a valid phone number: {reason}{hint}") from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue("not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _uuid(text: str, rules: Rules) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError as error:
        raise InvalidValue("not a valid UUID") from error


_BY_TYPE = {"email": _email, "phone": _phone, "uuid": _uuid}


MAX_ATTRIBUTE_NAME = 128
MAX_ATTRIBUTE_TEXT = 65_536
MAX_ATTRIBUTE_DEPTH = 8


def attribute_errors(attributes: object) -> dict[str, list[str]]:
    """Problems with an attributes object, by field path; empty when it can be written.

    ``null`` is allowed at the top level (it deletes the attribute); an empty string is
    refused anywhere, as are names that are empty, too long or contain control characters.
    """
    if not isinstance(attributes, dict):
        return {"attributes": ["must be an object"]}
    errors: dict[str, list[str]] = {}
    for name, value in attributes.items():
        if not name or len(name) > MAX_ATTRIBUTE_NAME or _CONTROL.search(name):
            errors[f"attributes.{name}"] = [
                f"an attribute name needs 1 to {MAX_ATTRIBUTE_NAME} printable characters"
            ]
        elif _SURROGATE.search(name):
            errors[f"attributes.{_SURROGATE.sub(chr(0xFFFD), name)}"] = [NOT_TEXT]
        elif value is not None:
            _value_errors(value, f"attributes.{name}", 0, errors)
    return errors


def _value_errors(value: object, path: str, depth: int, errors: dict[str, list[str]]) -> None:
    if depth > MAX_ATTRIBUTE_DEPTH:
        errors[path] = [f"nested deeper than {MAX_ATTRIBUTE_DEPTH} levels"]
    elif isinstance(value, str):
        if not value:
            errors[path] = ["must not be an empty string (send null to delete)"]
        elif len(value) > MAX_ATTRIBUTE_TEXT:
            errors[path] = [f"longer than {MAX_ATTRIBUTE_TEXT} characters"]
        elif _SURROGATE.search(value):
            errors[path] = [NOT_TEXT]
    elif value is None or isinstance(value, bool | int):
        pass  # a null inside a list or object is plain JSON null
    elif isinstance(value, float):
        if not math.isfinite(value):
            errors[path] = ["must be a finite number"]
    elif isinstance(value, list):
        for position, element in enumerate(value):
            _value_errors(element, f"{path}.{position}", depth + 1, errors)
    elif isinstance(value, dict):
        for key, element in value.items():
            _value_errors(element, f"{path}.{key}", depth + 1, errors)
    else:
        errors[path] = ["must be a string, number, boolean, list or object"]
