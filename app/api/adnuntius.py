"""Adnuntius Data's ``POST /sync`` (seed 000) at its own path: an existing client changes only
its base URL.

Each object says a browser and a user of an external system (a CRM) were seen together in one
folder. The folder is the namespace: one request may span folders, nothing crosses them. The
rules are in graph/: a browser joins users of different systems into one profile; a browser
already linked to another user of the same system is a shared device and moves to the newest
user, unless the folder's rules say ``on_conflict = { browserId = "reject" }``.
"""

from __future__ import annotations

from typing import Any

import flask
import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields, validate
from werkzeug.exceptions import HTTPException

from app.api.blueprint import Blueprint, Parser, check_batch_size, check_namespace
from app.api.context import namespace, service, source
from app.api.schemas import ItemResultSchema
from graph.errors import InvalidInput
from graph.service import LinkRequest, LinkResult

DIALECT = "adnuntius"
NOT_EMPTY = validate.Length(min=1, error="must not be empty")
SYSTEM_TYPE = validate.Regexp(
    r"^[A-Za-z0-9_.@-]{1,64}$", error="1-64 of letters, digits, '_', '.', '@', '-'"
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


blp = Blueprint("adnuntius", __name__, description="Adnuntius Data: POST /sync.")
blp.ARGUMENTS_PARSER = SyncParser()


def _folder(value: str) -> None:
    try:
        check_namespace(value, "folderId")
    except InvalidInput as error:
        raise ma.ValidationError(error.fields["folderId"]) from error


class SyncItemSchema(ma.Schema):
    """One sync object. Every field is a required, non-empty string; any other key is a 400
    naming it."""

    class Meta:
        unknown = ma.RAISE

    folderId = fields.String(
        required=True,
        validate=_folder,
        metadata={"description": "the folder: the namespace", "example": "00000000000aaaaa"},
    )
    browserId = fields.String(
        required=True, validate=NOT_EMPTY, metadata={"description": "the browser or app"}
    )
    externalSystemType = fields.String(
        required=True,
        validate=SYSTEM_TYPE,
        metadata={"description": "the external system (e.g. CRM name)", "example": "crm123"},
    )
    externalSystemUserId = fields.String(
        required=True,
        validate=NOT_EMPTY,
        metadata={"description": "the user's id in that system", "example": "user123"},
    )


class SyncItemResultSchema(ItemResultSchema):
    folderId = fields.String(required=True, attribute="namespace")


class SyncResultSchema(ma.Schema):
    request_id = fields.String(required=True)
    results = fields.List(fields.Nested(SyncItemResultSchema), required=True)


@blp.route("/sync")
class Sync(MethodView):
    @blp.arguments(SyncItemSchema(many=True), description="One sync object, or an array.")
    @blp.response(200, SyncResultSchema)
    def post(self, items: list[dict[str, str]]) -> LinkResult:
        """Link browsers to external users: one object or an array, in one transaction.

        Unlike Adnuntius, which answers 200 with no body that clients read, the answer is
        always ``{"request_id", "results": [...]}``, one result per object in request order,
        for a single object too: outcome ``created``, ``linked``, ``merged``, ``moved``,
        ``noop`` or ``conflict`` (with the rule as ``reason``; nothing of that object is
        written, and the refusal is in ``GET /v1/{folderId}/conflicts``). Any bad object is a
        400 naming its index and field, and nothing of the request is written.
        """
        check_batch_size(len(items), "body", "objects")
        return service().linking.link_across(
            [(namespace(item["folderId"]), _link_request(item)) for item in items],
            operation="sync",
            source=source(),
            dialect=DIALECT,
        )


def _link_request(item: dict[str, str]) -> LinkRequest:
    return LinkRequest(
        identifiers=[
            ("browserId", item["browserId"]),
            (f"ext:{item['externalSystemType']}", item["externalSystemUserId"]),
        ],
        names=["browserId", "externalSystemUserId"],
    )
