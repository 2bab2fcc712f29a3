"""The Synerise client profile (seed 003) as marshmallow schemas, and its translation to and
from idgraph's identifiers and attributes.

A client object carries up to four identifiers (``uuid``, ``email``, ``customId``, ``phone``)
and profile fields. Built-in fields are stored as attributes of the same name, agreements as
``agreements.<channel>``, tags as ``tags``; custom ``attributes`` under their own names, which
therefore may not be a built-in field's name. ``null`` deletes a custom attribute and resets a
built-in one to its default; an empty string is refused anywhere.

Clients built on data classes send every field they know, ``null`` where they have no value
(the Synerise SDK's ``Profile(email=...).asdict()`` sends ``phone``, ``uuid``, ``agreements``
and ``area_code`` as null). So an identifier sent as ``null`` is taken as not sent, since an
identifier cannot be reset, only replaced; and a field the schema does not know, sent as
``null``, is dropped, since it carries nothing. A field it does not know with a value is still
a 400 naming it: a typo must not be dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from graph.model import ProfileView

# the order that names profile A (the first present) and profile B (the next): seed 004
IDENTIFIER_FIELDS = ("uuid", "email", "customId", "phone")
TEXT_FIELDS = (
    "firstName",
    "lastName",
    "displayName",
    "company",
    "address",
    "city",
    "province",
    "zipCode",
    "countryCode",
    "avatarUrl",
)
SEXES = ("MALE", "FEMALE", "OTHER", "NOT_SPECIFIED")
AGREEMENTS = ("email", "sms", "push", "webPush", "bluetooth", "rfid", "wifi")
BUILT_IN = frozenset(
    (*TEXT_FIELDS, "birthDate", "sex", "tags", *(f"agreements.{a}" for a in AGREEMENTS))
)
NOT_EMPTY = validate.Length(min=1, error="must not be an empty string (send null to reset)")


def _text(**metadata: Any) -> fields.String:
    return fields.String(allow_none=True, validate=NOT_EMPTY, metadata=metadata)


AgreementsSchema = ma.Schema.from_dict(
    {
        channel: fields.Boolean(allow_none=True, truthy={True}, falsy={False})
        for channel in AGREEMENTS
    },
    name="Agreements",
)


class SyneriseClientSchema(ma.Schema):
    """A client to create or update: at least one identifier when it stands alone."""

    class Meta:
        unknown = ma.RAISE

    uuid = fields.String(metadata={"example": "88f40b29-5ba8-437b-ba9d-6d3b99dff80f"})
    email = fields.String(metadata={"example": "sampleclient@synerise.com"})
    customId = fields.String(metadata={"example": "lue42"})  # noqa: N815
    phone = fields.String(metadata={"example": "+48601234567"})
    firstName = _text(example="John")  # noqa: N815
    lastName = _text(example="Smith")  # noqa: N815
    displayName = _text()  # noqa: N815
    company = _text()
    address = _text()
    city = _text()
    province = _text()
    zipCode = _text()  # noqa: N815
    countryCode = fields.String(  # noqa: N815
        allow_none=True, validate=validate.Regexp(r"^[A-Za-z]{2}$", error="two letters, e.g. PL")
    )
    avatarUrl = _text()  # noqa: N815
    birthDate = fields.Date(allow_none=True, metadata={"example": "1990-05-17"})  # noqa: N815
    sex = fields.String(allow_none=True, validate=validate.OneOf(SEXES))
    agreements = fields.Nested(AgreementsSchema, allow_none=True)
    attributes = fields.Dict(
        keys=fields.String(), metadata={"description": "custom attributes; null deletes one"}
    )
    tags = fields.List(fields.String(validate=NOT_EMPTY), allow_none=True)

    @ma.pre_load(pass_collection=True)
    def _drop_empty_nulls(self, data: Any, *, many: bool, **kwargs: Any) -> Any:
        """Drop a null identifier and a null field the schema does not know (module doc);
        anything but an object, or a list of them, is left for marshmallow to refuse."""
        if many:
            return [self._drop_nulls(item) for item in data] if isinstance(data, list) else data
        return self._drop_nulls(data)

    def _drop_nulls(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        meaningful = self.fields.keys() - IDENTIFIER_FIELDS
        return {k: v for k, v in data.items() if v is not None or k in meaningful}

    @ma.validates_schema
    def _custom_names(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        taken = sorted(name for name in data.get("attributes", {}) if name in BUILT_IN)
        if taken:
            problem = ["a built-in field's name: send it at the top level"]
            raise ma.ValidationError({"attributes": dict.fromkeys(taken, problem)})


class SyneriseNewClientSchema(SyneriseClientSchema):
    @ma.validates_schema
    def _names_a_client(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if not any(name in data for name in IDENTIFIER_FIELDS):
            raise ma.ValidationError(
                f"send at least one of {', '.join(IDENTIFIER_FIELDS)}", "_schema"
            )


def identifiers_of(client: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(type, value) of the identifiers a client object names, profile A's first."""
    return [(name, client[name]) for name in IDENTIFIER_FIELDS if name in client]


def attributes_of(client: Mapping[str, Any]) -> dict[str, Any]:
    """The attribute writes a client object asks for; None deletes or resets."""
    written: dict[str, Any] = {}
    for name in (*TEXT_FIELDS, "sex", "tags"):
        if name in client:
            written[name] = client[name]
    if "birthDate" in client:
        born = client["birthDate"]
        written["birthDate"] = born.isoformat() if born else None
    if "agreements" in client:
        chosen = client["agreements"] or {}  # null resets every agreement
        for channel in AGREEMENTS:
            if channel in chosen or client["agreements"] is None:
                written[f"agreements.{channel}"] = chosen.get(channel)
    written.update(client.get("attributes", {}))
    return written


_nullable_text = (*IDENTIFIER_FIELDS, *TEXT_FIELDS, "birthDate")
SyneriseProfileSchema = ma.Schema.from_dict(
    {
        "previousClients": fields.List(fields.Integer(), metadata={"description": "absorbed ids"}),
        "clientId": fields.Integer(required=True),
        **{name: fields.String(allow_none=True) for name in _nullable_text},
        "lastActivityDate": fields.String(required=True),
        "sex": fields.String(required=True),
        "anonymous": fields.Boolean(required=True),
        "agreements": fields.Dict(keys=fields.String(), values=fields.Boolean()),
        "attributes": fields.Dict(),
        "tags": fields.List(fields.String()),
    },
    name="SyneriseProfile",
)


def client_view(profile: ProfileView) -> dict[str, Any]:
    """The profile in Synerise's shape. A merged profile may hold several uuids (each merge
    keeps the absorbed one's); ``uuid`` answers the oldest, and every one resolves.

    Every face writes the same attributes, and the native API and Adnuntius' profileValues
    take any JSON value, so a built-in field may hold any type here: it is read as Synerise's
    type or left out, never assumed (``_text_of``, ``_tags_of``). An agreement is given only
    by a stored ``true``: ``"false"`` or ``1`` sent through another face is no consent."""
    first: dict[str, str] = {}
    for identifier in profile.identifiers:
        first.setdefault(identifier.type, identifier.value)
    stored = profile.attributes
    return {
        "previousClients": list(profile.aliases),
        "clientId": profile.id,
        **{name: first.get(name) for name in IDENTIFIER_FIELDS},
        **{name: _text_of(stored.get(name)) for name in (*TEXT_FIELDS, "birthDate")},
        "lastActivityDate": re.sub(r"\.\d+Z$", "Z", profile.updated_at),
        "sex": _text_of(stored.get("sex")) or "NOT_SPECIFIED",
        "anonymous": not profile.recognized,
        "agreements": {a: stored.get(f"agreements.{a}") is True for a in AGREEMENTS},
        "attributes": {k: v for k, v in stored.items() if k not in BUILT_IN},
        "tags": _tags_of(stored.get("tags")),
    }


def _text_of(value: Any) -> str | None:
    """A stored value as a text field: a string as it is, a number as its text, anything
    else (a boolean, an object, a list, none) as null."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _tags_of(value: Any) -> list[str]:
    """Stored ``tags`` as Synerise's list of strings: a list keeps its strings and the text of
    its numbers, in order; a lone string or number is a list of its text; anything else, in a
    list or alone (a boolean, an object, a nested list, null), is left out."""
    values = value if isinstance(value, list) else [value]
    return [text for text in map(_text_of, values) if text is not None]


class SyneriseListArgsSchema(ma.Schema):
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=10_000),
        metadata={"description": "profiles per answer, at most 10,000"},
    )
    cursor = fields.String(load_default=None, metadata={"description": "from X-Next-Cursor"})
    updatedFrom = fields.AwareDateTime(load_default=None)  # noqa: N815
    updatedTo = fields.AwareDateTime(load_default=None)  # noqa: N815
    has = fields.List(
        fields.String(validate=validate.OneOf(IDENTIFIER_FIELDS)),
        load_default=list,
        metadata={"description": "only profiles holding these identifiers (repeatable)"},
    )


class SyneriseLoginSchema(ma.Schema):
    apiKey = fields.String(  # noqa: N815
        required=True,
        metadata={"description": "an idgraph API key", "example": "idg_7_<43 characters>"},
    )


class SyneriseTokenSchema(ma.Schema):
    token = fields.String(
        required=True,
        metadata={"description": "send as Authorization: Bearer <token>; valid for one hour"},
    )
