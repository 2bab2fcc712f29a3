"""Synerise's CRM profile API (seeds 003, 004) at Synerise's own paths: an existing client
changes only its base URL.

A client that logs in first, as Synerise's SDKs do, sends an idgraph API key as its
``apiKey`` to ``POST /uauth/v2/auth/login/profile`` and then the token it answers
(graph/tokens.py) as ``Authorization: Bearer``; the key itself works there too. The namespace
is the key's own; with the admin token or in local open mode, the ``X-Idgraph-Namespace``
header (default ``default``). A key naming another namespace in the header gets 404. Writes
answer 202 with no content, as Synerise does, including a batch object the rules refuse
("conflict, no update", seed 004): nothing of it is written and the refusal is in
``GET /v1/{ns}/conflicts``. A one-client write the rules refuse is a 409 ``conflict`` naming
the field, since the seed documents no answer for it and a 202 would hide that nothing was
written. Every decision (which profile absorbs which, replacing an email, a
generated uuid) is the Synerise rule set in graph/rules.py. Errors are in Synerise's shape
(app/api/errors.py), here and in the OpenAPI document. idgraph stores no events:
``/v4/events/...`` answers 404 saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Response, request
from flask.views import MethodView
from werkzeug.exceptions import Unauthorized

from app.api.auth import authenticated_key
from app.api.blueprint import Blueprint, check_batch_size, check_namespace, load_each
from app.api.context import access, caller, namespace, service, settings, source
from app.api.errors import SyneriseErrorSchema, as_field_errors
from app.api.synerise_schemas import (
    IDENTIFIER_FIELDS,
    SyneriseClientSchema,
    SyneriseListArgsSchema,
    SyneriseLoginSchema,
    SyneriseNewClientSchema,
    SyneriseProfileSchema,
    SyneriseTokenSchema,
    attributes_of,
    client_view,
    identifiers_of,
)
from graph import tokens
from graph.errors import InvalidInput, NotFound, Refused
from graph.items import item_errors
from graph.model import Conflict, format_time
from graph.normalize import InvalidValue, normalize_value
from graph.service import LinkRequest, LinkResult

DIALECT = "synerise"
NAMESPACE_HEADER = "X-Idgraph-Namespace"
MAX_MERGE_SOURCES = 20
NO_EVENTS = (
    "idgraph stores no events, so {path} is not served; send the client's identifiers to "
    "/v4/clients (or /v4/clients/batch) to create or link its profile"
)
REFUSED = {
    "schema": SyneriseErrorSchema,
    "description": "conflict: the rules refuse the write (an identifier another client holds)",
}


class SyneriseBlueprint(Blueprint):
    """Documents Synerise's error shape (SyneriseErrorSchema), which its routes answer, where
    every other face documents idgraph's."""

    @staticmethod
    def _prepare_response_doc(doc: dict, doc_info: dict, **kwargs: Any) -> dict:
        doc = Blueprint._prepare_response_doc(doc, doc_info, **kwargs)
        for status, response in doc.get("responses", {}).items():
            if isinstance(response, str):  # a reference to idgraph's error responses
                known = response in HTTPStatus.__members__
                doc["responses"][status] = {
                    "description": HTTPStatus[response].phrase if known else "Default error",
                    "content": {"application/json": {"schema": SyneriseErrorSchema}},
                }
        return doc


blp = SyneriseBlueprint(
    "synerise",
    __name__,
    description="Synerise: client profiles, batch create-or-update and merging, by identifier.",
)


@blp.route("/uauth/v2/auth/login/profile")
class Login(MethodView):
    @blp.arguments(SyneriseLoginSchema)
    @blp.response(200, SyneriseTokenSchema)
    @blp.doc(security=[])  # open: this is where a Synerise client gets its credentials
    def post(self, login: dict) -> Any:
        """Log in with an idgraph API key; answers a token that stands for it for one hour.

        ``apiKey`` is an idgraph API key (``idg_<id>_<secret>``). The token stands for that
        key (its namespace, name and rights) for one hour from the login, and stops at once
        when the key is revoked; send it as ``Authorization: Bearer <token>``, and log in
        again when it expires (401). 401 for anything but an active API key: the admin token
        and local open mode have no key to log in with. A wrong key counts against the
        client's address as any wrong credential does (429 once it has too many)."""
        key = authenticated_key(login["apiKey"])
        if key is None:
            raise Unauthorized("apiKey: not an active idgraph API key (idg_<id>_<secret>)")
        return {"token": tokens.issue(key, pepper=settings().admin_token)}


@blp.route("/v4/clients")
class Clients(MethodView):
    @blp.arguments(SyneriseNewClientSchema)
    @blp.response(202)
    @blp.alt_response(409, **REFUSED)
    def post(self, client: dict) -> Response:
        """Create a client from any of email, phone, uuid, customId, with profile fields;
        one that exists is updated. A new client gets a generated uuid. 409 ``conflict``,
        naming the field, when the rules refuse it; nothing of it is written."""
        _write_one(client)
        return Response(status=202)


class SyneriseBatchSchema(SyneriseNewClientSchema):
    def check_batch_size(self, count: int) -> None:
        """Read by the Parser before any client is (app/api/blueprint.py)."""
        check_batch_size(count, "body", "clients")

    def value_errors(self, raw_items: dict[int, Any]) -> dict[int, dict[str, list[str]]]:
        """The value problems of the clients that passed this schema when others did not, so
        that one 400 names every bad client (app/api/blueprint.py)."""
        loaded, problems = load_each(SyneriseNewClientSchema(), raw_items)
        requests = {index: _link_request(client) for index, client in loaded.items()}
        rules = service().rules(_namespace(), DIALECT)
        return {**problems, **item_errors(requests, rules, min_identifiers=1)}


@blp.route("/v4/clients/batch")
class ClientsBatch(MethodView):
    @blp.arguments(SyneriseBatchSchema(many=True))
    @blp.response(202)
    def post(self, clients: list[dict]) -> Response:
        """Create or update many clients in one transaction. An object naming two
        identifiers is a merge pair decided by seed 004's matrix; each pair is its own result.
        A pair the matrix refuses is 202 too ("conflict, no update"), logged in conflicts.
        """
        _link([_link_request(client) for client in clients], "batch")
        return Response(status=202)


@blp.route("/v4/clients/by-<kind>/<path:value>")
class ClientByIdentifier(MethodView):
    @blp.response(200, SyneriseProfileSchema)
    def get(self, kind: str, value: str) -> Any:
        """The client an identifier belongs to; ``kind`` is email, phone, uuid or customId."""
        view = service().reading.profile_by_identifier(
            _namespace(), _kind(kind), value, dialect=DIALECT
        )
        return client_view(view)

    @blp.arguments(SyneriseClientSchema)
    @blp.response(202)
    @blp.alt_response(409, **REFUSED)
    def post(self, client: dict, kind: str, value: str) -> Response:
        """Update the client: only the fields sent; null deletes a custom attribute and
        resets a built-in one. The body may repeat the identifier of the path, in any
        spelling of it. Another identifier sent in the body is linked, and replaces the
        client's email or phone. 404 if no client has this identifier; 409 ``conflict``,
        naming the field, when the rules refuse the update (an identifier another client
        holds): nothing of it is written."""
        _write_one(client, (_kind(kind), value))
        return Response(status=202)


@blp.route("/v4/clients/<client_id>")
class Client(MethodView):
    @blp.response(200, SyneriseProfileSchema)
    def get(self, client_id: str) -> Any:
        """A client by id; an id absorbed by a merge answers the surviving client."""
        return client_view(service().reading.profile(_namespace(), _client_id(client_id)))

    @blp.response(202)
    @blp.alt_response(404, schema=SyneriseErrorSchema, description="no client has this id")
    def delete(self, client_id: str) -> Response:
        """Erase the client: identifiers, links, attributes and their history. Afterwards
        none of its identifiers resolves. An id absorbed by a merge is 404 and erases nothing:
        on Synerise the sources of a merge are deleted (seed 004), and the client that
        absorbed it is erased only by its own id."""
        ns, cid = _namespace(), _client_id(client_id)
        service().erasure.purge(ns, cid, purged_by=caller(), absorbed_too=False)
        return Response(status=202)


@blp.route("/v4/clients/merge/from/custom-ids/<sources>/to/custom-id/<target>")
class MergeByCustomIds(MethodView):
    @blp.response(202)
    def post(self, sources: str, target: str) -> Response:
        """Merge up to 20 clients (comma-separated customIds) into the target client. The
        target keeps its id and its data; the sources' customIds (and other unique
        identifiers) stop resolving, their other identifiers move to the target. Unlike
        Synerise, the merge is recorded with its links and can be undone. 409 ``conflict``
        when the rules refuse it (a type limit, the size cap, a ban)."""
        names = _merge_sources(sources, target)
        service().linking.merge(
            _namespace(),
            ("customId", target),
            [("customId", n) for n in names],
            source=source(),
            dialect=DIALECT,
        )
        return Response(status=202)


@blp.route("/crm/v1/list")
class ClientList(MethodView):
    @blp.arguments(SyneriseListArgsSchema, location="query")
    @blp.response(200, SyneriseProfileSchema(many=True))
    def get(self, args: dict) -> Any:
        """The namespace's clients in id order: 100 per answer, or ``limit`` up to 10,000
        (the seed's maximum); the next page's cursor is in the ``X-Next-Cursor`` header.
        Filters: ``has`` (holding these identifiers), ``updatedFrom``/``updatedTo`` (last
        update in [from, to))."""
        page = service().reading.list_profiles(
            _namespace(),
            having=args["has"],
            updated_from=_time(args["updatedFrom"]),
            updated_before=_time(args["updatedTo"]),
            cursor=args["cursor"],
            limit=args["limit"],
        )
        headers = {"X-Next-Cursor": page.next_cursor} if page.next_cursor else {}
        return [client_view(profile) for profile in page.profiles], 200, headers


@blp.route("/v4/events/<path:kind>")
class Events(MethodView):
    def post(self, kind: str) -> Response:
        """Synerise's events (custom, transactions, ...): idgraph stores no events, so this
        answers 404 saying so. A client's identifiers go to ``/v4/clients``."""
        raise NotFound(NO_EVENTS.format(path=request.path))


def _namespace() -> str:
    """The header's namespace; without the header, an API key's own, else ``default``."""
    who = access()
    own = who.namespace if who else None
    sent = request.headers.get(NAMESPACE_HEADER) or own or "default"
    return namespace(check_namespace(sent, NAMESPACE_HEADER))


def _link_request(client: Mapping[str, Any], anchor: tuple[str, str] | None = None) -> LinkRequest:
    """The client as one item; ``anchor``, the (type, value) of an update's path, first. The
    body naming that same identifier (the SDK's ``Profile.asdict()`` always sends its email)
    names the client the path names, so it is not sent twice."""
    pairs = identifiers_of(client)  # each named by its field: (email, ...)
    if anchor is not None:
        body = [pair for pair in pairs if not _same_identifier(pair, anchor)]
        pairs = [anchor, *body]
        names = ["value", *(name for name, _ in body)]  # the path's value, then the fields
    else:
        names = [name for name, _ in pairs]
    return LinkRequest(pairs, attributes_of(client), names=names)


def _same_identifier(pair: tuple[str, str], anchor: tuple[str, str]) -> bool:
    """Whether two (type, value) pairs are one identifier once normalized (``A@X.io`` is
    ``a@x.io``); a value that does not normalize is left for the write to refuse."""
    if pair[0] != anchor[0]:
        return False
    rules = service().rules(_namespace(), DIALECT)
    try:
        return normalize_value(*pair, rules) == normalize_value(*anchor, rules)
    except InvalidValue:
        return False


def _link(
    requests: list[LinkRequest], operation: str, *, existing_anchor: bool = False
) -> LinkResult:
    return service().linking.link(
        _namespace(),
        requests,
        operation=operation,
        source=source(),
        dialect=DIALECT,
        min_identifiers=1,
        existing_anchor=existing_anchor,
    )


def _write_one(client: Mapping[str, Any], anchor: tuple[str, str] | None = None) -> None:
    """Write one client (an update when ``anchor`` names it). An invalid field is reported as
    a field, not as batch item 0; an item the rules refuse is Refused (409 ``conflict``)."""
    request = _link_request(client, anchor)
    try:
        result = _link([request], "client", existing_anchor=anchor is not None)
    except InvalidInput as invalid:
        raise as_field_errors(invalid) from invalid
    [written] = result.results
    if isinstance(written.outcome, Conflict):
        raise _refused(request, written.outcome)


def _refused(request: LinkRequest, conflict: Conflict) -> Refused:
    """The refusal, naming the field whose identifier another client holds, and that client."""
    reason, holder = conflict.reason, conflict.holder
    if holder is None:
        message = f"the rules refuse this client ({reason}); nothing was written"
        return Refused("conflict", message, reason=reason)
    field, held = request.names[holder.position], holder.identifier
    problem = f"{held.value} belongs to client {holder.profile_id}"
    return Refused(
        "conflict",
        f"{field}: {problem}; nothing was written",
        fields={field: [problem]},
        clientId=holder.profile_id,
        reason=reason,
    )


def _kind(kind: str) -> str:
    if kind not in IDENTIFIER_FIELDS:
        raise NotFound(f"no route by-{kind}: use by-{', by-'.join(IDENTIFIER_FIELDS)}")
    return kind


def _client_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise InvalidInput(
            "clientId: not a client id", fields={"clientId": ["a clientId is a number"]}
        )
    return int(raw)


def _merge_sources(sources: str, target: str) -> list[str]:
    names = [name.strip() for name in sources.split(",")]
    problem = None
    if not all(names):
        problem = "a comma-separated list of customIds, none empty"
    elif len(names) > MAX_MERGE_SOURCES:
        problem = f"at most {MAX_MERGE_SOURCES} customIds in one merge"
    elif target.strip() in names:
        problem = "the target cannot be one of the sources"
    if problem:
        raise InvalidInput(f"sources: {problem}", fields={"sources": [problem]})
    return list(dict.fromkeys(names))


def _time(moment: Any) -> str | None:
    return format_time(moment) if moment else None
