"""Synerise's CRM profile API (seeds 003, 004) at Synerise's own paths: an existing client
changes only its base URL.

A client that logs in first, as Synerise's SDKs do, sends an idgraph API key as its
``apiKey`` to ``POST /uauth/v2/auth/login/profile`` and then the token it answers
(graph/tokens.py) as ``Authorization: Bearer``; the key itself works there too. The namespace
is the key's own; with the admin token or in local open mode, the ``X-Idgraph-Namespace``
header (default ``default``). A key naming another namespace in the header gets 404. Writes
answer 202 with no content, as Synerise does, including a batch object the rules refuse
("conflict, no update"): nothing of it is written and the refusal is in
``GET /v1/{ns}/conflicts``. Every decision (which profile absorbs which, replacing an email, a
generated uuid) is the Synerise rule set in graph/rules.py. Errors are in Synerise's shape
(app/api/errors.py), here and in the OpenAPI document. idgraph stores no events:
``/v4/events/...`` answers 404 saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, TypeVar

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
from graph.errors import InvalidInput, NotFound
from graph.items import item_errors
from graph.model import format_time
from graph.service import LinkRequest

DIALECT = "synerise"
NAMESPACE_HEADER = "X-Idgraph-Namespace"
MAX_MERGE_SOURCES = 20
NO_EVENTS = (
    "idgraph stores no events, so {path} is not served; send the client's identifiers to "
    "/v4/clients (or /v4/clients/batch) to create or link its profile"
)
T = TypeVar("T")


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
    def post(self, client: dict) -> Response:
        """Create a client from any of email, phone, uuid, customId, with profile fields;
        one that exists is updated. A new client gets a generated uuid."""
        _single(lambda: _link([_link_request(client)], "client"))
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
    def post(self, client: dict, kind: str, value: str) -> Response:
        """Update the client: only the fields sent; null deletes a custom attribute and
        resets a built-in one. An identifier sent in the body is linked, and replaces the
        client's email or phone. 404 if no client has this identifier."""
        anchor = (_kind(kind), value)
        _single(lambda: _link([_link_request(client, anchor)], "client", existing_anchor=True))
        return Response(status=202)


@blp.route("/v4/clients/<client_id>")
class Client(MethodView):
    @blp.response(200, SyneriseProfileSchema)
    def get(self, client_id: str) -> Any:
        """A client by id; an id absorbed by a merge answers the surviving client."""
        return client_view(service().reading.profile(_namespace(), _client_id(client_id)))

    @blp.response(202)
    def delete(self, client_id: str) -> Response:
        """Erase the client: identifiers, links, attributes and their history. Afterwards
        none of its identifiers resolves."""
        service().erasure.purge(_namespace(), _client_id(client_id), purged_by=caller())
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
        """The namespace's clients in id order, at most 10,000 per answer. Filters: ``has``
        (holding these identifiers), ``updatedFrom``/``updatedTo`` (last update in
        [from, to)). The next page's cursor is in the ``X-Next-Cursor`` header."""
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
    pairs = identifiers_of(client)
    names = [name for name, _ in pairs]
    if anchor is not None:
        pairs, names = [anchor, *pairs], ["value", *names]
    return LinkRequest(pairs, attributes_of(client), names=names)


def _link(requests: list[LinkRequest], operation: str, *, existing_anchor: bool = False) -> None:
    service().linking.link(
        _namespace(),
        requests,
        operation=operation,
        source=source(),
        dialect=DIALECT,
        min_identifiers=1,
        existing_anchor=existing_anchor,
    )


def _single(write: Callable[[], T]) -> T:
    """A one-client route reports an invalid field as a field, not as batch item 0."""
    try:
        return write()
    except InvalidInput as invalid:
        raise as_field_errors(invalid) from invalid


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
