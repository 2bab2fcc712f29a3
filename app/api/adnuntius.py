"""Adnuntius Data's HTTP API at its own paths: an existing client, the published Python one
(``adnuntius.api.DataServer``) included, changes only its base URL.

- ``POST /sync`` (seed 000): a browser and a user of an external system (a CRM) were seen
  together.
- ``POST /visitor`` and ``POST /synchronous/visitor``: a visitor's profile values, written
  with its browser and external user in one transaction. Adnuntius queues ``/visitor`` and
  answers before it stores; here both paths store before they answer.
- ``POST /page``: 404. idgraph resolves identities; it does not record page views.

The folder is the namespace: ``folderId`` in each object or, as Adnuntius allows, in the query
(``?folderId=``); one request may span folders, nothing crosses them. An object naming no
``externalSystemType`` (the published client never sends one) names a user of the folder's
default system, the rule ``default_external_system`` ("default"): ``ext:default:<id>``. There is
no ``/synchronous/sync``: Adnuntius documents none, and ``/sync`` answers once written.

The rules are in graph/: a browser joins users of different systems into one profile; a browser
already linked to another user of the same system is a shared device and moves to the newest
user, unless the folder's rules say ``on_conflict = { browserId = "reject" }``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import flask
import marshmallow as ma
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import fields, validate
from werkzeug.exceptions import HTTPException

from app.api.blueprint import Blueprint, Parser, check_batch_size, check_namespace, load_each
from app.api.context import access, namespace, service, source
from app.api.errors import ErrorSchema
from app.api.schemas import ItemResultSchema, without_optional_nulls
from graph.errors import InvalidInput
from graph.items import item_errors
from graph.service import LinkRequest, LinkResult

DIALECT = "adnuntius"
NOT_EMPTY = validate.Length(min=1, error="must not be empty")
SYSTEM_TYPE = validate.Regexp(
    r"^[A-Za-z0-9_.@-]{1,64}$", error="1-64 of letters, digits, '_', '.', '@', '-'"
)
NO_FOLDER = "Missing data for required field: send folderId in the object or as ?folderId="
OTHER_FOLDER = "differs from the query's folderId: send one of them, or the same in both"
NO_PAGE_VIEWS = (
    "idgraph resolves identities and does not record page views; nothing was stored. Send "
    "the browser's identities to POST /sync, its profile values to POST /visitor."
)


class SyncParser(Parser):
    """Reads a body of one object as a list of one, so every error names an item index."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        try:
            body = super()._raw_load_json(req)
        except HTTPException as error:  # a key sent twice: key it by index 0 as well
            if _is_one_object(req) and "messages" in (getattr(error, "data", None) or {}):
                error.data["messages"] = {"json": {"0": error.data["messages"]["json"]}}
            raise
        return [body] if isinstance(body, dict) else body


def _is_one_object(req: flask.Request) -> bool:
    return req.get_data(cache=True).lstrip().startswith(b"{")


blp = Blueprint(
    "adnuntius",
    __name__,
    description="Adnuntius Data: POST /sync, POST /visitor (and /synchronous/visitor).",
)
blp.ARGUMENTS_PARSER = SyncParser()


def _folder(value: str) -> None:
    try:
        check_namespace(value, "folderId")
    except InvalidInput as error:
        raise ma.ValidationError(error.fields["folderId"]) from error


class FolderQuerySchema(ma.Schema):
    folderId = fields.String(
        validate=_folder,
        metadata={"description": "the folder of every object that names none"},
    )


class FolderItemSchema(ma.Schema):
    """What every Adnuntius object says: its folder, and which external system its user is
    of. Any key not declared is a 400 naming it.

    An optional field sent as ``null`` is taken as not sent, where ``null`` means nothing of
    its own (the field does not ``allow_none``): seed 000 lists the fields with no word on
    null, and clients built on data classes send every field they know. So
    ``"externalSystemType": null`` names the folder's default system, ``"folderId": null`` the
    query's folder. A required field sent as ``null`` is still a 400 naming it;
    ``"profileValues": null`` (no values) and a ``null`` value in it (delete it) are read as
    before."""

    class Meta:
        unknown = ma.RAISE

    @ma.pre_load(pass_collection=True)
    def _null_is_absent(self, data: Any, *, many: bool, **kwargs: Any) -> Any:
        """Each object without its optional nulls; anything but an object, or a list when
        loading ``many``, is left for marshmallow to refuse."""
        if not many:
            return without_optional_nulls(self, data)
        if not isinstance(data, list):
            return data
        return [without_optional_nulls(self, item) for item in data]

    folderId = fields.String(
        validate=_folder,
        metadata={
            "description": "the folder: the namespace; else the query's ?folderId=",
            "example": "00000000000aaaaa",
        },
    )
    externalSystemType = fields.String(
        validate=SYSTEM_TYPE,
        metadata={
            "description": "the external system (e.g. CRM name); default: the folder's "
            "default_external_system rule",
            "example": "crm123",
        },
    )


class SyncItemSchema(FolderItemSchema):
    """One sync object: a browser and a user of an external system seen together."""

    def check_batch_size(self, count: int) -> None:
        """Read by the Parser before any object is (app/api/blueprint.py)."""
        check_batch_size(count, "body", "objects")

    def value_errors(self, raw_items: dict[int, Any]) -> dict[int, dict[str, list[str]]]:
        """The folder and value problems of the objects that passed this schema when others
        did not, under each one's folder rules: the Parser names them in the same 400
        (app/api/blueprint.py). A folder the caller may not use is left to the 404."""
        queried = flask.request.args.get("folderId")
        loaded, errors = load_each(SyncItemSchema(), raw_items)
        by_folder: dict[str, dict[int, LinkRequest]] = defaultdict(dict)
        for index, item in loaded.items():
            problem = _folder_problem(item.get("folderId"), queried)
            folder = item.get("folderId") or queried
            if problem:
                errors[index] = {"folderId": [problem]}
            elif access() is None or access().may_see(folder):
                by_folder[folder][index] = _sync_request(item, folder)
        for folder, requests in by_folder.items():
            errors.update(item_errors(requests, service().rules(folder, DIALECT)))
        return errors

    browserId = fields.String(
        required=True, validate=NOT_EMPTY, metadata={"description": "the browser or app"}
    )
    externalSystemUserId = fields.String(
        required=True,
        validate=NOT_EMPTY,
        metadata={"description": "the user's id in that system", "example": "user123"},
    )


class VisitorItemSchema(FolderItemSchema):
    """One visitor: a browser, a user of an external system, or both, and profile values."""

    def check_batch_size(self, count: int) -> None:
        """One object, or an array of one: read by the Parser before any object is
        (app/api/blueprint.py)."""
        if count != 1:
            raise InvalidInput("body: send one object", fields={"body": ["send one object"]})

    browserId = fields.String(
        validate=NOT_EMPTY,
        metadata={"description": "the browser or app; needed unless externalSystemUserId is"},
    )
    externalSystemUserId = fields.String(
        validate=NOT_EMPTY,
        metadata={"description": "the user's id in the external system", "example": "user123"},
    )
    networkId = fields.String(
        metadata={"description": "accepted and ignored: the folder is the namespace"}
    )
    profileValues = fields.Dict(
        keys=fields.String(),
        allow_none=True,
        metadata={
            "description": "attribute name -> value, written to the profile; null deletes one",
            "example": {"firstName": "Bruce", "educationStartYear": 2001},
        },
    )

    @ma.validates_schema
    def _someone(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if "browserId" not in data and "externalSystemUserId" not in data:
            raise ma.ValidationError("send browserId, externalSystemUserId or both", "browserId")
        if "externalSystemType" in data and "externalSystemUserId" not in data:
            raise ma.ValidationError(
                "needed with externalSystemType: the user's id in that system",
                "externalSystemUserId",
            )


class SyncItemResultSchema(ItemResultSchema):
    folderId = fields.String(required=True, attribute="namespace")


class SyncResultSchema(ma.Schema):
    request_id = fields.String(required=True)
    results = fields.List(fields.Nested(SyncItemResultSchema), required=True)


@blp.route("/sync")
class Sync(MethodView):
    @blp.arguments(FolderQuerySchema, location="query")
    @blp.arguments(SyncItemSchema(many=True), description="One sync object, or an array.")
    @blp.response(200, SyncResultSchema)
    def post(self, query: dict[str, str], items: list[dict[str, str]]) -> LinkResult:
        """Link browsers to external users: one object or an array, in one transaction.

        Unlike Adnuntius, which answers 200 with no body that clients read, the answer is
        always ``{"request_id", "results": [...]}``, one result per object in request order,
        for a single object too: outcome ``created``, ``linked``, ``merged``, ``moved``,
        ``noop`` or ``conflict`` (with the rule as ``reason``; nothing of that object is
        written, and the refusal is in ``GET /v1/{folderId}/conflicts``). Any bad object is a
        400 naming its index and field, and nothing of the request is written.
        """
        folders = _folders(items, _query_folder(query))
        return service().linking.link_across(
            [(ns, _sync_request(item, ns)) for item, ns in zip(items, folders, strict=True)],
            operation="sync",
            source=source(),
            dialect=DIALECT,
        )


@blp.route("/visitor")
class Visitor(MethodView):
    @blp.arguments(FolderQuerySchema, location="query")
    @blp.arguments(
        VisitorItemSchema(many=True),
        description="One visitor object (an array of one is read the same; more is a 400).",
    )
    @blp.response(200, SyncResultSchema)
    def post(self, query: dict[str, str], items: list[dict[str, Any]]) -> LinkResult:
        """Write a visitor's profile values with its links, in one transaction.

        One object per request, as Adnuntius documents. Its browser and external user (either
        may be left out) are linked as ``/sync`` links them; a browser alone is created or
        found. The values are written through the external user when one is named (they stay
        with the person if the browser later moves to another user), else through the
        browser; ``null`` deletes a value. Unlike Adnuntius, which queues ``/visitor``, the
        values are stored before the answer, which is ``/sync``'s: one result (an outcome
        ``conflict`` writes nothing of the object, its values included), or a 400 naming the
        field (``profileValues.<name>`` for a value), and nothing is written.
        """
        [ns] = _folders(items, _query_folder(query))
        try:
            return service().linking.link(
                ns,
                [_visitor_request(items[0], ns)],
                operation="visitor",
                source=source(),
                dialect=DIALECT,
                min_identifiers=1,
            )
        except InvalidInput as invalid:
            raise _as_profile_values(invalid) from invalid


@blp.route("/synchronous/visitor")
class SynchronousVisitor(Visitor):
    """Adnuntius' confirmed ``/visitor``; here the same, as both store before they answer."""


@blp.route("/page")
class Page(MethodView):
    @blp.alt_response(404, schema=ErrorSchema, description="always: no page views here")
    def post(self) -> NoReturn:
        """Not in idgraph: page views (keywords, categories) are not recorded.

        idgraph resolves identities and holds no page views, so rather than acknowledge data
        it would drop, every request is a 404 that says so, whatever its body: send a
        browser's identities to ``POST /sync``, its profile values to ``POST /visitor``.
        """
        abort(404, message=NO_PAGE_VIEWS)


def _query_folder(query: Mapping[str, str]) -> str | None:
    """The query's folderId; sent twice it is a 400, not read as the first."""
    if len(flask.request.args.getlist("folderId")) > 1:
        raise InvalidInput("folderId: sent twice", fields={"folderId": ["send it once"]})
    return query.get("folderId")


def _folders(items: Sequence[Mapping[str, Any]], queried: str | None) -> list[str]:
    """Each object's folder: its own, else the query's. None, or two that differ, is a 400
    naming the object; a folder an API key may not use is a 404."""
    errors = {
        index: {"folderId": [problem]}
        for index, item in enumerate(items)
        if (problem := _folder_problem(item.get("folderId"), queried))
    }
    if errors:
        raise InvalidInput(f"{len(errors)} invalid item(s); nothing was written", items=errors)
    return [namespace(item.get("folderId") or queried) for item in items]


def _folder_problem(sent: str | None, queried: str | None) -> str | None:
    if sent is None and queried is None:
        return NO_FOLDER
    if sent is not None and queried is not None and sent != queried:
        return OTHER_FOLDER
    return None


def _external_user(item: Mapping[str, Any], ns: str) -> tuple[str, str]:
    system = item.get("externalSystemType") or service().rules(ns, DIALECT).default_external_system
    return f"ext:{system}", item["externalSystemUserId"]


def _sync_request(item: Mapping[str, Any], ns: str) -> LinkRequest:
    return LinkRequest(
        identifiers=[("browserId", item["browserId"]), _external_user(item, ns)],
        names=["browserId", "externalSystemUserId"],
    )


def _visitor_request(item: Mapping[str, Any], ns: str) -> LinkRequest:
    """The external user first: the values are written through the first identifier."""
    named: list[tuple[str, tuple[str, str]]] = []
    if "externalSystemUserId" in item:
        named.append(("externalSystemUserId", _external_user(item, ns)))
    if "browserId" in item:
        named.append(("browserId", ("browserId", item["browserId"])))
    return LinkRequest(
        identifiers=[pair for _, pair in named],
        attributes=item.get("profileValues") or {},
        names=[name for name, _ in named],
    )


def _as_profile_values(invalid: InvalidInput) -> InvalidInput:
    """The service names values ``attributes.<name>``; the body calls them profileValues."""
    renamed = {
        index: {_body_path(path): problems for path, problems in problems_by_path.items()}
        for index, problems_by_path in invalid.items.items()
    }
    return InvalidInput(invalid.message, items=renamed, fields=invalid.fields)


def _body_path(path: str) -> str:
    head, dot, rest = path.partition(".")
    return f"profileValues{dot}{rest}" if head == "attributes" else path
