"""The native API's history routes, namespace in the path: a profile's lineage, why two
identifiers are one profile, ending a link, undoing a merge, and do-not-link bans. Views only
translate HTTP to service calls (graph/history.py) and back."""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask.views import MethodView

from app.api.blueprint import Blueprint, check_namespace_in_path
from app.api.context import caller, service
from app.api.history_schemas import (
    BanArgsSchema,
    BanPageSchema,
    BanSchema,
    EndedLinkSchema,
    EndLinkSchema,
    ExplainArgsSchema,
    ExplanationSchema,
    LineageArgsSchema,
    LineageSchema,
    NewBanSchema,
    UndoMergeSchema,
    UndoneMergeSchema,
)
from graph import lineage as exports
from graph.errors import InvalidInput
from graph.model import format_time

blp = Blueprint(
    "history",
    __name__,
    url_prefix="/v1/<ns>",
    strict_query=True,  # a query parameter no route reads is a 400 (blueprint.py)
    description="How profiles were assembled, and taking a wrong link or merge back.",
)


blp.url_value_preprocessor(check_namespace_in_path)


@blp.route("/profiles/<profile_id>/lineage")
class ProfileLineage(MethodView):
    @blp.arguments(LineageArgsSchema, location="query")
    @blp.response(200, LineageSchema)
    @blp.alt_response(200, description="format=graphml", content_type="application/xml")
    def get(self, args: dict, ns: str, profile_id: str) -> Any:
        """Every identifier of a profile and every link that touched them, active and ended,
        with provenance, and the merges that built it; ``?as_of=`` as it was then.

        Pages by identifier key: pass ``next_cursor`` as ``?cursor=``. Links appear on the
        page of each of their ends. ``?format=graphml`` or ``node-link`` exports the page for
        graph tools.
        """
        found = service().history.lineage(
            ns,
            number(profile_id, "profile_id"),
            as_of=format_time(args["as_of"]) if args["as_of"] else None,
            cursor=args["cursor"],
            limit=args["limit"],
        )
        if args["format"] == "graphml":
            return Response(exports.graphml(found), mimetype="application/xml")
        if args["format"] == "node-link":
            return Response(json.dumps(exports.node_link(found)), mimetype="application/json")
        return found


@blp.route("/explain")
class Explain(MethodView):
    @blp.arguments(ExplainArgsSchema, location="query")
    @blp.response(200, ExplanationSchema)
    def get(self, args: dict, ns: str) -> Any:
        """Whether two identifiers are one profile, and the shortest path of active links
        joining them, each step with its provenance. ``connected: false`` names both
        profiles."""
        found = service().history.explain(
            ns, split_identifier(args["a"], "a"), split_identifier(args["b"], "b")
        )
        named = [
            {"type": i.type, "value": i.value, "key": i.key, "profile_id": pid}
            for i, pid in zip((found.a, found.b), found.profiles, strict=True)
        ]
        return {"connected": found.connected, "a": named[0], "b": named[1], "path": found.path}


@blp.route("/links/<link_id>/end")
class EndLink(MethodView):
    @blp.arguments(EndLinkSchema)
    @blp.response(200, EndedLinkSchema)
    def post(self, body: dict, ns: str, link_id: str) -> Any:
        """End one link. If it was the last link joining the two sides of a merge, that
        merge is taken back as an undo takes it back (the absorbed profile under its old id),
        with no ban. Otherwise, if that disconnects its profile, the profile splits: the
        larger part keeps the id (on a tie the part holding the oldest identifier), the other
        gets a new one, and attribute values follow the identifiers they were written
        through. With ``"ban": true`` the two identifiers may never be linked again. 409 if
        already ended. See docs/lineage.md, "End a link".
        """
        return service().history.end_link(
            ns, number(link_id, "link_id"), reason=body["reason"], ban=body["ban"], source=caller()
        )


@blp.route("/merges/<merge_id>/undo")
class UndoMerge(MethodView):
    @blp.arguments(UndoMergeSchema)
    @blp.response(200, UndoneMergeSchema)
    def post(self, body: dict, ns: str, merge_id: str) -> Any:
        """Undo a merge: end the links it added, restore the absorbed profile under its old
        id, give each side the values written through it, and by default ban each pair it
        joined. 409 when already undone, when its survivor was merged later (undo that one
        first), or when links added since still join the two sides (they are named)."""
        return service().history.undo_merge(
            ns,
            number(merge_id, "merge_id"),
            reason=body["reason"],
            ban=body["ban"],
            source=caller(),
        )


@blp.route("/bans")
class Bans(MethodView):
    @blp.arguments(BanArgsSchema, location="query")
    @blp.response(200, BanPageSchema)
    def get(self, args: dict, ns: str) -> Any:
        """Do-not-link rules by id; ``?identifier=TYPE:VALUE`` for those naming one."""
        identifier = args["identifier"]
        return service().history.bans(
            ns,
            identifier=split_identifier(identifier, "identifier") if identifier else None,
            cursor=args["cursor"],
            limit=args["limit"],
        )

    @blp.arguments(NewBanSchema)
    @blp.response(201, BanSchema)
    def post(self, body: dict, ns: str) -> Any:
        """Ban identifier ``a`` from ever being in one profile with ``b`` (or with any
        identifier of type ``b_type``): a link that would join them is a conflict with reason
        ``banned``. It does not split a profile already holding both: end a link for that."""
        b = body["b"]
        return service().history.add_ban(
            ns,
            (body["a"]["type"], body["a"]["value"]),
            b=(b["type"], b["value"]) if b else None,
            b_type=body["b_type"],
            reason=body["reason"],
            source=caller(),
        )


@blp.route("/bans/<ban_id>")
class BanById(MethodView):
    @blp.response(204)
    def delete(self, ns: str, ban_id: str) -> Any:
        """Remove a ban: the identifiers may be linked again."""
        service().history.remove_ban(ns, number(ban_id, "ban_id"))


def split_identifier(text: str, field: str) -> tuple[str, str]:
    """``TYPE:VALUE`` -> (type, value). The type ends at the first ':', except a type with a
    system, which takes two segments: ``ext:crm:u1`` (or ``EXT:CRM:u1``: type names are
    case-insensitive) is type ``ext:crm``, value ``u1``."""
    head, _, rest = text.partition(":")
    if head.lower() == "ext" and ":" in rest:
        system, _, value = rest.partition(":")
        head, rest = f"ext:{system}", value
    if not head or not rest:
        raise InvalidInput(
            f"{field}: not TYPE:VALUE", fields={field: ["write TYPE:VALUE, e.g. email:ann@x.io"]}
        )
    return head, rest


def number(raw: str, field: str) -> int:
    """A numeric id from the path (profile, link, merge, ban)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:  # int() reads "٣" as 3
        raise InvalidInput(f"{field}: not a number", fields={field: [f"{field} is a number"]})
    return int(raw)
