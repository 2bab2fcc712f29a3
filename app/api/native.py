"""The native API, namespace in the path: ``/v1/{ns}/...``. Views only translate HTTP to
service calls and back; every decision is in graph/."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.views import MethodView

from app.api.blueprint import Blueprint, check_namespace_in_path
from app.api.context import access, caller, service, source
from app.api.errors import ErrorSchema
from app.api.history import number
from app.api.history_schemas import AsOfArgsSchema
from app.api.schemas import (
    AttributesSchema,
    CallerSchema,
    ConflictArgsSchema,
    ConflictPageSchema,
    DryRunArgsSchema,
    LinkBatchSchema,
    LinkResultSchema,
    ProfileSchema,
    PurgeLogArgsSchema,
    PurgeLogSchema,
    PurgeRecordSchema,
    link_request,
    link_result_body,
)
from graph.model import format_time

blp = Blueprint(
    "native",
    __name__,
    url_prefix="/v1/<ns>",
    strict_query=True,  # a query parameter no route reads is a 400 (blueprint.py)
    description="Native identity API: link identifiers, read and erase profiles, list refused "
    "links and purges, say who is calling.",
)


blp.url_value_preprocessor(check_namespace_in_path)


@blp.route("/links")
class Links(MethodView):
    @blp.arguments(DryRunArgsSchema, location="query")
    @blp.arguments(LinkBatchSchema)
    @blp.response(200, LinkResultSchema)
    def post(self, query: dict, batch: dict, ns: str) -> Any:
        """Link identifiers seen together: one transaction, one outcome per item.

        Outcomes: created, linked, merged, moved, noop, conflict (with the rule as reason).
        With ``?dry_run=true`` the same decisions are answered and nothing is written.
        """
        result = service().linking.link(
            ns,
            [link_request(item) for item in batch["items"]],
            source=source(batch["source"]),
            request_id=batch["request_id"],
            dry_run=query["dry_run"],
        )
        headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
        return jsonify(link_result_body(result)), 200, headers


@blp.route("/conflicts")
class Conflicts(MethodView):
    @blp.arguments(ConflictArgsSchema, location="query")
    @blp.response(200, ConflictPageSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="profile= names no profile")
    def get(self, args: dict, ns: str) -> Any:
        """Links the rules refused, oldest first: time, request, item, rule, profiles.

        ``?profile=`` keeps those naming that profile or an id merged into it (404 for an
        unknown profile). Pass ``next_cursor`` as ``?cursor=``.
        """
        since = format_time(args["since"]) if args["since"] else None
        return service().reading.conflicts(
            ns,
            profile_id=args["profile"],
            since=since,
            cursor=args["cursor"],
            limit=args["limit"],
        )


@blp.route("/purges")
class Purges(MethodView):
    @blp.arguments(PurgeLogArgsSchema, location="query")
    @blp.response(200, PurgeLogSchema)
    def get(self, args: dict, ns: str) -> Any:
        """The audit log of purges, oldest first.

        Which profile, when, by whom (an API key's name, admin or local), how many
        identifiers; never what was erased. Pass ``next_cursor`` as ``?cursor=``.
        """
        return service().erasure.purges(ns, cursor=args["cursor"], limit=args["limit"])


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, CallerSchema)
    def get(self, ns: str) -> Any:
        """Who is calling and what it may do in this namespace: the admin token ("admin"),
        local open mode ("local") or an API key (its name), with its rights; never the token.
        The lineage viewer disables, saying why, what the caller may not do."""
        who = access()
        return {
            "name": who.name,
            "namespace": ns,
            "rights": list(who.rights),
            "may_write": who.may("write"),
        }


@blp.route("/identifiers/<type>/<path:value>")
class IdentifierProfile(MethodView):
    @blp.response(200, ProfileSchema)
    def get(self, ns: str, type: str, value: str) -> Any:
        """The profile an identifier belongs to; the value is normalized like a write."""
        return service().reading.profile_by_identifier(ns, type, value)


@blp.route("/profiles/<profile_id>")
class Profile(MethodView):
    @blp.arguments(AsOfArgsSchema, location="query")
    @blp.response(200, ProfileSchema)
    def get(self, args: dict, ns: str, profile_id: str) -> Any:
        """A profile by id; an absorbed id answers its survivor, which lists it in aliases.
        ``?as_of=`` answers the profile as it was then, from the history the store keeps."""
        pid = number(profile_id, "profile_id")
        if args["as_of"] is None:
            return service().reading.profile(ns, pid)
        return service().history.profile_at(ns, pid, format_time(args["as_of"]))

    @blp.response(200, PurgeRecordSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="no such profile (or erased already)")
    def delete(self, ns: str, profile_id: str) -> Any:
        """Erase a person, and everything that mentions it.

        The profile (an absorbed id erases its survivor, as a read answers it), its aliases,
        identifiers, links, attributes and their history, the bans and conflicts naming it,
        and the requests kept for replay whose answer names it: replaying such a request id
        applies it anew. Answers the purge as the audit log records it, never the values.
        """
        return service().erasure.purge(ns, number(profile_id, "profile_id"), purged_by=caller())


@blp.route("/profiles/<profile_id>/attributes")
class ProfileAttributes(MethodView):
    @blp.arguments(AttributesSchema)
    @blp.response(200, ProfileSchema)
    def patch(self, attributes: dict, ns: str, profile_id: str) -> Any:
        """Set attributes of a profile: only the names sent change; null deletes one."""
        pid = number(profile_id, "profile_id")
        return service().linking.update_attributes(ns, pid, attributes, source=source())
