"""Marshmallow schemas of the history routes: lineage, explain, ending links, undoing merges,
bans. They validate requests and generate the OpenAPI document, like app/schemas.py."""

from __future__ import annotations

import datetime as dt

import marshmallow as ma
from marshmallow import fields, validate

from app.api.schemas import IdentifierSchema, ProfileSchema
from graph.normalize import text_problem

LINEAGE_FORMATS = ("json", "graphml", "node-link")


def _as_of(description: str) -> fields.AwareDateTime:
    return fields.AwareDateTime(
        load_default=None, default_timezone=dt.UTC, metadata={"description": description}
    )


def _printable(reason: str) -> None:
    if problem := text_problem(reason):  # NUL and the like: the rule of attribute text
        raise ma.ValidationError(problem)


def _reason(**options) -> fields.String:
    return fields.String(
        validate=[validate.Length(min=1, max=500), _printable],
        metadata={"description": "why, kept with the link's end and any ban"},
        **options,
    )


class AsOfArgsSchema(ma.Schema):
    as_of = _as_of("ISO-8601 (UTC if no offset): the profile as it was at that instant")


class LineageArgsSchema(ma.Schema):
    as_of = _as_of("ISO-8601 (UTC if no offset): the lineage as it was at that instant")
    cursor = fields.String(load_default=None, metadata={"description": "next_cursor of a page"})
    limit = fields.Integer(
        load_default=1000,
        validate=validate.Range(min=1, max=10000),
        metadata={"description": "identifiers per page"},
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(LINEAGE_FORMATS),
        metadata={"description": "json; graphml (networkx's writer); node-link (networkx JSON)"},
    )


class LineageIdentifierSchema(ma.Schema):
    key = fields.String(required=True, metadata={"example": "email:ann@example.com"})
    type = fields.String(required=True)
    value = fields.String(required=True)
    profile_id = fields.Integer(
        allow_none=True,
        metadata={"description": "where it is (at as_of, where it was); null: in no profile"},
    )
    created_at = fields.String(required=True)
    member = fields.Boolean(
        required=True,
        metadata={"description": "in the profile; false: the other end of a link that left it"},
    )


class LinkRecordSchema(ma.Schema):
    id = fields.Integer(required=True)
    a = fields.String(required=True, metadata={"description": "key of one end"})
    b = fields.String(required=True, metadata={"description": "key of the other end"})
    active = fields.Function(lambda link: link.ended_at is None, dump_only=True)
    operation = fields.String(required=True, metadata={"example": "sync"})
    source = fields.String(allow_none=True, metadata={"description": "system or key name"})
    request_id = fields.String(required=True)
    item_index = fields.Integer(allow_none=True)
    merge_id = fields.Integer(allow_none=True, metadata={"description": "the merge it made"})
    created_at = fields.String(required=True)
    ended_at = fields.String(allow_none=True)
    end_reason = fields.String(allow_none=True)
    ended_request_id = fields.String(allow_none=True)


class MergeRecordSchema(ma.Schema):
    id = fields.Integer(required=True)
    survivor = fields.Integer(required=True)
    absorbed = fields.Integer(required=True)
    request_id = fields.String(required=True)
    item_index = fields.Integer(allow_none=True)
    at = fields.String(required=True)
    survivor_key = fields.String(
        allow_none=True,
        metadata={"description": "an identifier the survivor held when the merge joined them"},
    )
    absorbed_key = fields.String(
        allow_none=True,
        metadata={"description": "an identifier the absorbed profile held then"},
    )
    undone_at = fields.String(allow_none=True)
    undone_request_id = fields.String(allow_none=True)


class LineageProfileSchema(ma.Schema):
    id = fields.Integer(required=True)
    aliases = fields.List(fields.Integer(), required=True)
    attributes = fields.Dict(required=True)
    created_at = fields.String(required=True)


class LineageSchema(ma.Schema):
    profile = fields.Nested(
        LineageProfileSchema,
        required=True,
        metadata={"description": "a summary: the identifiers are the pages' members"},
    )
    as_of = fields.String(allow_none=True)
    identifiers = fields.List(fields.Nested(LineageIdentifierSchema), required=True)
    links = fields.List(fields.Nested(LinkRecordSchema), required=True)
    merges = fields.List(
        fields.Nested(MergeRecordSchema),
        required=True,
        metadata={"description": "the merges that built the profile (first page only)"},
    )
    next_cursor = fields.String(allow_none=True)


class ExplainArgsSchema(ma.Schema):
    a = fields.String(
        required=True,
        metadata={"description": "TYPE:VALUE; a type with a system is ext:<system>:VALUE"},
    )
    b = fields.String(required=True, metadata={"description": "TYPE:VALUE"})


class ExplainedIdentifierSchema(IdentifierSchema):
    key = fields.String(required=True)
    profile_id = fields.Integer(required=True)


class StepSchema(ma.Schema):
    start = fields.String(required=True, data_key="from")
    end = fields.String(required=True, data_key="to")
    link = fields.Nested(LinkRecordSchema, required=True)


class ExplanationSchema(ma.Schema):
    connected = fields.Boolean(required=True)
    a = fields.Nested(ExplainedIdentifierSchema, required=True)
    b = fields.Nested(ExplainedIdentifierSchema, required=True)
    path = fields.List(
        fields.Nested(StepSchema),
        required=True,
        metadata={"description": "the fewest active links from a to b; [] when apart"},
    )


class EndLinkSchema(ma.Schema):
    reason = _reason(required=True)
    ban = fields.Boolean(
        load_default=False, metadata={"description": "also ban the two ends from linking again"}
    )


class UndoMergeSchema(ma.Schema):
    reason = _reason(load_default="merge undone")
    ban = fields.Boolean(
        load_default=True,
        metadata={"description": "ban each pair the merge joined (default), so it stays undone"},
    )


class BanSchema(ma.Schema):
    id = fields.Integer(required=True)
    a = fields.String(required=True, metadata={"description": "key of the banned identifier"})
    b = fields.String(allow_none=True, metadata={"description": "key it may not join"})
    b_type = fields.String(allow_none=True, metadata={"description": "or: type it may not join"})
    reason = fields.String(required=True)
    created_by = fields.String(allow_none=True)
    created_at = fields.String(required=True)
    link_id = fields.Integer(allow_none=True, metadata={"description": "the ended link"})


class NewBanSchema(ma.Schema):
    a = fields.Nested(IdentifierSchema, required=True)
    b = fields.Nested(IdentifierSchema, load_default=None)
    b_type = fields.String(
        load_default=None, metadata={"description": "instead of b: every identifier of a type"}
    )
    reason = _reason(required=True)


class BanArgsSchema(ma.Schema):
    identifier = fields.String(
        load_default=None, metadata={"description": "TYPE:VALUE: only bans naming it"}
    )
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class BanPageSchema(ma.Schema):
    bans = fields.List(fields.Nested(BanSchema), required=True)
    next_cursor = fields.String(allow_none=True)


class EndedLinkSchema(ma.Schema):
    link = fields.Nested(LinkRecordSchema, required=True)
    split = fields.Boolean(required=True)
    merge = fields.Nested(
        MergeRecordSchema,
        allow_none=True,
        metadata={
            "description": "the merge ending this link took back (it was the last link "
            "joining its two sides), now undone; null if it took none back"
        },
    )
    profiles = fields.List(fields.Nested(ProfileSchema), required=True)
    ban = fields.Function(
        lambda result: BanSchema().dump(result.bans[0]) if result.bans else None,
        metadata={"description": "the ban made with ban: true"},
    )


class UndoneMergeSchema(ma.Schema):
    merge = fields.Nested(MergeRecordSchema, required=True)
    split = fields.Boolean(required=True)
    profiles = fields.List(fields.Nested(ProfileSchema), required=True)
    bans = fields.List(fields.Nested(BanSchema), required=True)
