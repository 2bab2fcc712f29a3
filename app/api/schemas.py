"""Marshmallow schemas of the native API: they validate requests at the edge and generate the
OpenAPI document. Value normalization (emails, phones, blocked values) happens in
graph.normalize, because it depends on the namespace's rules; a batch schema asks for it only
to report every bad item at once (``LinkBatchSchema.value_errors``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import flask
import marshmallow as ma
from marshmallow import fields, validate

from app.api.blueprint import load_each
from app.api.context import service
from graph.items import LinkRequest, item_errors
from graph.model import ProfileView
from graph.replays import record_of
from graph.service import LinkResult

OUTCOMES = ("created", "linked", "merged", "moved", "noop", "conflict")


class IdentifierSchema(ma.Schema):
    type = fields.String(
        required=True,
        metadata={"description": "email, phone, uuid, browserId, customId, ext:<system>, ..."},
    )
    value = fields.String(required=True, metadata={"example": "ann@example.com"})


class LinkItemSchema(ma.Schema):
    identifiers = fields.List(
        fields.Nested(IdentifierSchema),
        required=True,
        validate=validate.Length(min=2, error="an item needs at least 2 identifiers seen together"),
        metadata={"description": "identifiers seen together; the first is the item's anchor"},
    )
    attributes = fields.Dict(
        keys=fields.String(),
        load_default=dict,
        metadata={"description": "written through the first identifier; null deletes"},
    )


REQUEST_ID = re.compile(r"^[\w.:-]{1,128}$")
_BATCH_FIELDS = {"items", "source", "request_id"}
_ITEM_FIELDS = {"identifiers", "attributes"}
_IDENTIFIER_FIELDS = {"type", "value"}


def plain_item(item: Any) -> bool:
    """Whether LinkItemSchema takes ``item`` as it is: only ``identifiers`` (two or more
    objects of exactly a text ``type`` and ``value``) and maybe ``attributes`` (an object).
    Checked at a tenth of the schema's cost; anything else goes through the schema, which
    reads it or says what is wrong."""
    if not isinstance(item, dict) or not item.keys() <= _ITEM_FIELDS:
        return False
    identifiers = item.get("identifiers")
    if type(identifiers) is not list or len(identifiers) < 2:
        return False
    if not isinstance(item.get("attributes", {}), dict):
        return False
    return all(
        isinstance(identifier, dict)
        and identifier.keys() == _IDENTIFIER_FIELDS
        and type(identifier["type"]) is str
        and type(identifier["value"]) is str
        for identifier in identifiers
    )


class LinkBatchSchema(ma.Schema):
    items = fields.List(
        fields.Nested(LinkItemSchema),
        required=True,
        validate=validate.Length(min=1, error="send at least one item"),
    )
    source = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "the system that saw these identifiers, kept as provenance"},
    )
    request_id = fields.String(
        load_default=None,
        validate=validate.Regexp(REQUEST_ID, error="1-128 of letters, digits, _ . : -"),
        metadata={"description": "replaying an applied request_id answers the first results"},
    )

    def load(self, data: Any, **options: Any) -> Any:
        """What the schema loads, without running it when the batch is in the plain shape,
        as an ingest's batches are: 1,000 items take 113 ms through the schema and 5 ms
        without it (benchmarks/README.md, "Batches over HTTP"). Anything else goes through
        the schema, which reads it or says what is wrong."""
        if options or not _plain_batch(data):
            return super().load(data, **options)
        for item in data["items"]:
            item.setdefault("attributes", {})
        return {
            "items": data["items"],
            "source": data.get("source"),
            "request_id": data.get("request_id"),
        }

    def value_errors(self, raw_items: dict[int, Any]) -> dict[int, dict[str, list[str]]]:
        """The value problems of the items that passed this schema when others did not, under
        the rules of the namespace in the path, as ``POST /v1/{ns}/links`` would find them:
        app/api/blueprint.py's Parser reports them with the schema's own in one 400."""
        loaded, problems = load_each(LinkItemSchema(), raw_items)
        requests = {index: link_request(item) for index, item in loaded.items()}
        namespace = (flask.request.view_args or {})["ns"]
        return {**problems, **item_errors(requests, service().rules(namespace))}


def _plain_batch(data: Any) -> bool:
    """A batch the schema would take as it is (see LinkBatchSchema.load)."""
    if not isinstance(data, dict) or not data.keys() <= _BATCH_FIELDS:
        return False
    items, source, request_id = data.get("items"), data.get("source"), data.get("request_id")
    return (
        type(items) is list
        and len(items) > 0
        and (source is None or (type(source) is str and 1 <= len(source) <= 128))
        and (request_id is None or (type(request_id) is str and bool(REQUEST_ID.match(request_id))))
        and all(map(plain_item, items))
    )


def link_request(item: Mapping[str, Any]) -> LinkRequest:
    """A LinkItemSchema item as the service takes it."""
    pairs = [(identifier["type"], identifier["value"]) for identifier in item["identifiers"]]
    return LinkRequest(pairs, item["attributes"])


class DryRunArgsSchema(ma.Schema):
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "decide and answer the outcomes, write nothing"},
    )


class ItemResultSchema(ma.Schema):
    """One item's result (graph.model.ItemResult): its outcome's fields, each present when
    the outcome has it (``replaced`` and a move's ``absorbed`` only when not empty)."""

    index = fields.Integer(required=True)
    outcome = fields.String(
        required=True, attribute="outcome.kind", validate=validate.OneOf(OUTCOMES)
    )
    profile_id = fields.Integer(allow_none=True, attribute="outcome.profile_id")
    reason = fields.String(
        attribute="outcome.reason", metadata={"description": "the rule that refused a conflict"}
    )
    profiles = fields.List(
        fields.Integer(),
        attribute="outcome.profiles",
        metadata={"description": "profiles of a conflict"},
    )
    absorbed = fields.List(
        fields.Integer(),
        attribute="outcome.absorbed",
        metadata={"description": "ids a merge absorbed"},
    )
    moved_from = fields.List(
        fields.Integer(),
        attribute="outcome.moved_from",
        metadata={"description": "profiles a move left"},
    )
    replaced = fields.List(
        fields.String(),
        attribute="outcome.replaced",
        metadata={"description": "identifiers a new one of their type replaced"},
    )

    @ma.post_dump
    def _without_empty_lists(self, data: dict, **kwargs: object) -> dict:
        for name in ("replaced", "absorbed"):
            if data.get(name) == []:
                del data[name]
        return data


class LinkResultSchema(ma.Schema):
    request_id = fields.String(required=True)
    dry_run = fields.Boolean(required=True)
    results = fields.List(fields.Nested(ItemResultSchema), required=True)


def link_result_body(result: LinkResult) -> dict[str, Any]:
    """``LinkResultSchema().dump(result)`` without marshmallow (1,000 results: 34 ms through
    the schema, 1.3 ms here): the answer as an idempotency record keeps it, and ``dry_run``.
    tests/api/test_links.py holds the two to one answer for every outcome."""
    return {**record_of(result.request_id, result.results), "dry_run": result.dry_run}


class ProfileSchema(ma.Schema):
    id = fields.Integer(required=True)
    recognized = fields.Boolean(required=True)
    identifiers = fields.List(fields.Nested(IdentifierSchema), required=True)
    attributes = fields.Dict(required=True)
    aliases = fields.List(
        fields.Integer(), required=True, metadata={"description": "absorbed ids resolving here"}
    )
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)


def profile_body(profile: ProfileView) -> dict[str, Any]:
    """``ProfileSchema().dump(profile)`` at a tenth of the cost, for the lean lookup path
    (app/api/lookups.py); tests/api/test_lean_lookups.py holds the two to one answer."""
    return {
        "id": profile.id,
        "recognized": profile.recognized,
        "identifiers": [{"type": i.type, "value": i.value} for i in profile.identifiers],
        "attributes": dict(profile.attributes),
        "aliases": list(profile.aliases),
        "created_at": profile.created_at,
        "updated_at": profile.updated_at,
    }


class ConflictSchema(ma.Schema):
    id = fields.Integer(required=True)
    at = fields.String(required=True)
    request_id = fields.String(required=True)
    item_index = fields.Integer(required=True)
    rule = fields.String(required=True, metadata={"example": "unique_type:email"})
    profiles = fields.List(fields.Integer(), required=True)
    identifiers = fields.List(fields.Nested(IdentifierSchema), required=True)


class ConflictPageSchema(ma.Schema):
    conflicts = fields.List(fields.Nested(ConflictSchema), required=True)
    next_cursor = fields.String(allow_none=True, metadata={"description": "pass as ?cursor="})


class PositiveId(fields.Integer):
    """An id in a query string, in ASCII digits as a path's ids are (app/api/history.py's
    ``number``): ``int`` would also read "٣", " 3" and "+3", and no store holds more than 18
    digits."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not (isinstance(value, str) and value.isascii() and value.isdigit()) or len(value) > 18:
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class ConflictArgsSchema(ma.Schema):
    profile = PositiveId(
        load_default=None,
        validate=validate.Range(min=1),
        metadata={
            "description": "a profile id: only the conflicts naming it or an id merged into "
            "it; an absorbed id answers its survivor's"
        },
    )
    since = fields.AwareDateTime(
        load_default=None,
        default_timezone=dt.UTC,
        metadata={"description": "ISO-8601 (UTC if no offset); conflicts at or after it"},
    )
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class CallerSchema(ma.Schema):
    """Who is calling, and what it may do in the namespace of the path; never its token."""

    name = fields.String(
        required=True, metadata={"description": "the API key's name, admin or local"}
    )
    namespace = fields.String(required=True)
    rights = fields.List(fields.String(), required=True, metadata={"example": ["read"]})
    may_write = fields.Boolean(
        required=True, metadata={"description": "whether writes (link, end, undo, ban) pass"}
    )


class PurgeRecordSchema(ma.Schema):
    """One purge in the audit log: never what was erased."""

    id = fields.Integer(required=True)
    profile_id = fields.Integer(
        required=True, metadata={"description": "the live profile erased (an alias's survivor)"}
    )
    purged_at = fields.String(required=True)
    purged_by = fields.String(
        required=True, metadata={"description": "the API key's name, admin or local"}
    )
    identifiers_erased = fields.Integer(required=True)


class PurgeLogSchema(ma.Schema):
    purges = fields.List(fields.Nested(PurgeRecordSchema), required=True)
    next_cursor = fields.String(allow_none=True, metadata={"description": "pass as ?cursor="})


class PurgeLogArgsSchema(ma.Schema):
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AttributesSchema(ma.Schema):
    """Any attribute names; values are JSON. ``null`` deletes, an empty string is refused."""

    class Meta:
        unknown = ma.INCLUDE


class HealthSchema(ma.Schema):
    status = fields.String(required=True)
    store = fields.String(required=True)


def without_optional_nulls(schema: ma.Schema, item: Any) -> Any:
    """``item`` without the fields ``schema`` declares optional and not ``allow_none`` that it
    sends as ``null``: for the compatible faces, whose clients (data classes) send every field
    they know, such a ``null`` is a field not sent. Anything but an object is left for the
    schema to refuse."""
    if not isinstance(item, Mapping):
        return item
    absent = {
        field.data_key or name
        for name, field in schema.load_fields.items()
        if not field.required and not field.allow_none
    }
    return {key: value for key, value in item.items() if value is not None or key not in absent}
