"""Normalization and validation of identifier types and values.

An identifier's key is ``type:value`` (graph/model.py ``identifier_key``), built from the
normalized type and value, so ``" Ann@Example.COM "`` and ``ann@example.com`` are one node.

Types, one rule: a type is a name (a letter, then letters, digits, ``_ . -``; at most 64) or
``ext:<system>`` (letters, digits, ``_ . @ -``; at most 64). A colon is allowed only after
``ext``, and a bare ``ext`` is refused, so the type is recoverable from a key and no other
(type, value) pair can forge it. Type names are case-insensitive: the built-in names keep their
spelling (``BUILT_IN_TYPES``: ``EMAIL`` is ``email``, ``CUSTOMID`` is ``customId``) and every
other name, ``ext:`` systems included, is stored in lower case (``ext:CRM`` is ``ext:crm``).
The rules file's type names are folded by this same rule (graph/rules.py).

Values:

- every value: Unicode NFKC, surrounding whitespace trimmed, at most ``MAX_VALUE_LENGTH``
  characters; refused if it holds a control character (C0, DEL, C1), an invisible format
  character (category Cf: U+200B zero width space, U+00AD soft hyphen, U+202E right-to-left
  override, U+FEFF, ...; refused, not stripped, so that what is stored is what was sent) or a
  lone surrogate. NFKC, not NFC: it joins canonical equivalents (a composed and a decomposed
  ``é``) and also compatibility look-alikes that are the same letters (full-width ``Ａ`` and
  ``A``, the ligature ``ﬁ`` and ``fi``, ``²`` and ``2``). Ids are made by programs in ASCII
  or typed by people; no system we resolve for tells ``ﬁ`` from ``fi`` in an id, while a
  person (or an attacker) can type either, and two spellings that look the same must not be
  two people;
- letters of more than one of Latin, Cyrillic and Greek within one word (a run of characters
  between spaces; for an email, its local part and each label of its domain) are refused:
  ``pаypal`` with a Cyrillic ``а`` is not a second ``paypal``. Other scripts, and a word
  written wholly in one script that looks like another (Cyrillic ``аре``), are not checked;
- ``email``: lower-cased, one ``@``, a dotted domain. A Unicode domain is stored as its
  IDNA 2008 (UTS #46) ASCII form, as DNS knows it: ``ann@bücher.example`` is
  ``ann@xn--bcher-kva.example``; an ``xn--`` label must be a valid IDNA label;
- ``phone``: E.164 (``+48601234567``) by the ``phonenumbers`` library, with the namespace's
  ``phone_region`` for numbers written without a country code; an extension is kept, in
  RFC 3966's spelling after the number: ``+16502530000;ext=101``. A number without one is
  exactly its E.164 form;
- ``uuid``: the canonical lower-case hyphenated form;
- any other type (``browserId``, ``customId``, ``ext:crm``, ...): as given after the above.

A value that is empty after normalization, or blocked by the namespace's rules, is refused.
"""

from __future__ import annotations

import math
import re
import unicodedata
import uuid
from typing import TYPE_CHECKING

import idna
import phonenumbers

from graph.model import Identifier

if TYPE_CHECKING:  # graph/rules.py folds its type names with normalize_type
    from graph.rules import Rules

MAX_VALUE_LENGTH = 512
# the built-in type names, in the spelling they keep whatever the case a caller writes
BUILT_IN_TYPES = ("email", "phone", "uuid", "customId", "browserId")
_SPELLING = {name.lower(): name for name in BUILT_IN_TYPES}
TYPE_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}|[Ee][Xx][Tt]:[A-Za-z0-9_.@-]{1,64}")
TYPE_RULE = (
    "a name of letters, digits, '_', '.', '-' starting with a letter (e.g. 'email'), "
    "or 'ext:<system>' (e.g. 'ext:crm'); a colon only after 'ext'"
)
_EMAIL = re.compile(r"[^@\s]{1,64}@([a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9-]{2,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1
# in text a person reads (attribute values, reasons): C0 but tab, line feed, carriage return
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SURROGATE = re.compile("[\ud800-\udfff]")  # JSON's "\ud800" escape: not text, not storable
NOT_TEXT = "not valid Unicode text (a lone surrogate)"
NOT_PRINTABLE = "contains a control character (of those, text may hold only tab and newlines)"
# scripts with letters that look alike (Latin a, Cyrillic а, Greek α): one per word
CONFUSABLE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


class InvalidValue(ValueError):
    """A type or value that cannot be an identifier; the message says why."""


def normalize_type(type_: object) -> str:
    """The type name by the one rule of type names (see the module): validated, case-folded."""
    text = type_.strip() if isinstance(type_, str) else ""
    if not TYPE_PATTERN.fullmatch(text):  # ASCII only: before lower(), which maps K (U+212A)
        raise InvalidValue(f"not a valid identifier type: {TYPE_RULE}")
    folded = text.lower()
    if folded == "ext":
        raise InvalidValue("not a valid identifier type: 'ext' needs a system, e.g. 'ext:crm'")
    return _SPELLING.get(folded, folded)


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
    return Identifier(type_, _BY_TYPE.get(type_, _opaque)(text, rules))


def _clean(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidValue("must be a string")
    if _SURROGATE.search(value):
        raise InvalidValue(NOT_TEXT)
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        raise InvalidValue("must not be empty")
    if len(text) > MAX_VALUE_LENGTH:
        raise InvalidValue(f"longer than {MAX_VALUE_LENGTH} characters")
    if _CONTROL.search(text):
        raise InvalidValue("contains control characters")
    invisible = () if text.isascii() else [c for c in text if unicodedata.category(c) == "Cf"]
    if invisible:
        raise InvalidValue(
            f"contains an invisible format character (U+{ord(invisible[0]):04X} "
            f"{unicodedata.name(invisible[0], '')}): values that look equal must be equal"
        )
    return text


def _one_script(word: str) -> None:
    """Refuses a word with letters of more than one of the confusable scripts."""
    if word.isascii():
        return
    scripts = {
        script
        for letter in word
        if letter.isalpha()
        for script in CONFUSABLE_SCRIPTS
        if unicodedata.name(letter, "").startswith(f"{script} ")
    }
    if len(scripts) > 1:
        raise InvalidValue(
            f"mixes {' and '.join(sorted(s.title() for s in scripts))} letters in one word, "
            "which makes look-alikes (a Cyrillic 'а' in a Latin word)"
        )


def _opaque(text: str, rules: Rules) -> str:
    for word in text.split():
        _one_script(word)
    return text


def _email(text: str, rules: Rules) -> str:
    local, at, domain = text.lower().rpartition("@")
    if not at:
        raise InvalidValue("not a valid email address")
    domain, labels = _email_domain(domain)
    email = f"{local}@{domain}"
    if len(email) > 254 or ".." in email or not _EMAIL.fullmatch(email):
        raise InvalidValue("not a valid email address")
    for word in (local, *labels):
        _one_script(word)
    return email


def _email_domain(domain: str) -> tuple[str, list[str]]:
    """The domain as DNS knows it (a Unicode domain becomes its IDNA 2008 ASCII form), and
    its labels in Unicode, for the script check."""
    try:
        if not domain.isascii():
            domain = idna.encode(domain, uts46=True).decode("ascii")
        labels = [
            idna.decode(label) if label.startswith("xn--") else label for label in domain.split(".")
        ]
    except UnicodeError as error:  # idna.IDNAError is one
        raise InvalidValue(
            f"not a valid email address: its domain is not a valid internationalized "
            f"domain name ({error})"
        ) from error
    return domain, labels


def _phone(text: str, rules: Rules) -> str:
    try:
        number = phonenumbers.parse(text, rules.phone_region)
    except phonenumbers.NumberParseException as error:
        hint = "" if rules.phone_region else " (write it with a leading '+' and country code)"
        reason = str(error).split(") ", 1)[-1]  # drop phonenumbers' "(1) " error-type prefix
        raise InvalidValue(f"not a valid phone number: {reason}{hint}") from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue("not a valid phone number for its country")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not number.extension:
        return e164
    return f"{e164};ext={phonenumbers.normalize_digits_only(number.extension)}"  # ١٠١ is 101


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
    refused anywhere, as are names that are empty, too long or contain control characters,
    keys of nested objects with control characters, and text with a control character other
    than tab and newlines (NUL).
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
        elif problem := text_problem(value):
            errors[path] = [problem]
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
            if _CONTROL.search(key) or _SURROGATE.search(key):
                errors[f"{path}.{_SURROGATE.sub(chr(0xFFFD), key)}"] = [
                    "a key needs printable characters"
                ]
            else:
                _value_errors(element, f"{path}.{key}", depth + 1, errors)
    else:
        errors[path] = ["must be a string, number, boolean, list or object"]


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as text a person reads (an attribute value, a ban reason),
    or None: a lone surrogate, or a C0 control character other than tab and newlines (NUL)."""
    if _SURROGATE.search(text):
        return NOT_TEXT
    if _TEXT_CONTROL.search(text):
        return NOT_PRINTABLE
    return None
