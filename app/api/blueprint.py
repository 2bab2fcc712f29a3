"""The Blueprint every face of the API uses: request validation failures answer 400, and a body
is read as JSON whatever its Content-Type says. A JSON body naming a key twice in one object is
refused rather than read as last-wins, and so is one that is not Unicode text (not UTF-8, or a
lone surrogate escape such as ``"\\ud800"``). A batch names every bad item at once: see
``Parser.handle_error``.

A body is read or refused, never dropped: on a route that declares none, any body but one
that says nothing (``{}``, ``null``) is a 400 (``Blueprint``); what a hostile body cannot make
us parse is in app/api/jsonbody.py. So is a query parameter on idgraph's own routes
(``strict_query``): one the route does not read is a 400 naming it, and so is one it reads as
one value sent more than once."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NoReturn

import flask
import flask_smorest
import marshmallow as ma
from webargs.flaskparser import FlaskParser, abort
from webargs.multidictproxy import MultiDictProxy

from app.api.jsonbody import TOO_DEEP, Unreadable, loads, nested_too_deeply, problem_paths
from graph.errors import InvalidInput
from graph.model import format_time

NAMESPACE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
JSON_WHITESPACE = b" \t\n\r"
SAYS_NOTHING = frozenset({b"{}", b"null"})
_DRY_RUN = re.compile(r"dry[-_]?run", re.IGNORECASE)
NOT_DONE = "nothing was done"
ONE_VALUE = "this route reads one value, and which one is meant is unclear"
ValueErrors = Callable[[dict[int, Any]], Mapping[int, Mapping[str, list[str]]]]


class Parser(FlaskParser):
    """webargs answers 422 by default; a bad request is a 400 here, in the one error shape.

    The body is JSON whatever the Content-Type says (none, ``text/plain`` from a beacon,
    curl's form encoding): an empty body is no body, any other that is not JSON a 400."""

    DEFAULT_VALIDATION_STATUS = 400

    def parse(self, argmap: Any, req: flask.Request | None = None, **kwargs: Any) -> Any:
        """The arguments, once every time among them can be stored (``_check_times``)."""
        arguments = super().parse(argmap, req, **kwargs)
        _check_times(arguments)
        return arguments

    def load_json(self, req: flask.Request, schema: ma.Schema) -> Any:
        """The body, unless it nests too deeply or has a number idgraph does not read: a 400
        naming ``body``. Here rather than in ``_raw_load_json`` so that a face's parser that
        wraps that (Adnuntius' reads one object as a batch of one) still names ``body``."""
        if nested_too_deeply(req.get_data(cache=True)):
            abort(400, messages={"json": [TOO_DEEP]})
        try:
            body = super().load_json(req, schema)
        except Unreadable as unreadable:
            abort(400, messages={"json": [str(unreadable)]})
        _check_batch_size_first(body, schema)
        return body

    def _raw_load_json(self, req: flask.Request) -> Any:
        """The body as JSON; webargs' ``load_json`` reads an empty body as none and hands any
        decoding error (not JSON, not UTF-8) to ``_handle_invalid_json_error``."""
        text = req.get_data(cache=True).decode("utf-8")
        body = loads(text)
        problems = problem_paths(body, text)
        if problems:
            abort(400, messages={"json": problems})
        _note_batch_size(body)
        return body

    def _handle_invalid_json_error(
        self, error: json.JSONDecodeError | UnicodeDecodeError, *args: Any, **kwargs: Any
    ) -> NoReturn:
        abort(400, exc=error, messages={"json": [_not_json(error)]})

    def handle_error(
        self,
        error: ma.ValidationError,
        req: flask.Request,
        schema: ma.Schema,
        *,
        error_status_code: int | None,
        error_headers: Mapping[str, str] | None,
    ) -> NoReturn:
        """A schema that opts in with ``value_errors(raw_items)`` is asked for the value
        problems (a bad email, a blocked value: what its namespace's rules refuse) of the batch
        items that passed it, so that one 400 names every bad item. ``raw_items`` maps an
        item's index in the batch to the item as sent; the answer maps those indexes to
        ``{field path: [messages]}``, as ``graph.items.item_errors`` reports them."""
        value_errors = getattr(schema, "value_errors", None)
        if value_errors is not None:
            error.messages = {
                location: _with_value_errors(problems, error.data, value_errors)
                for location, problems in error.messages.items()
            }
        super().handle_error(
            error, req, schema, error_status_code=error_status_code, error_headers=error_headers
        )


def load_each(schema: ma.Schema, raw_items: Mapping[int, Any]) -> tuple[dict[int, Any], dict]:
    """For a ``value_errors`` hook: each raw batch item loaded alone by ``schema``, and the
    problems of those that fail alone. In a batch, marshmallow skips every item's
    object-level checks (``validates_schema``) once any item has a field error, so an item the
    batch let pass may fail here; its problems then join the 400 like the others."""
    loaded: dict[int, Any] = {}
    problems: dict[int, Any] = {}
    for index, raw in raw_items.items():
        try:
            loaded[index] = schema.load(raw)
        except ma.ValidationError as error:
            problems[index] = error.messages
    return loaded, problems


def _not_json(error: json.JSONDecodeError | UnicodeDecodeError) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"not JSON: not UTF-8 text (byte {error.start}: {error.reason})"
    return f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"


def _with_value_errors(problems: Any, body: Any, value_errors: ValueErrors) -> Any:
    """marshmallow's ``problems`` with a batch body, and the value problems of the items that
    have none. A batch is a JSON array, or an object's ``items`` array (as errors.py reads
    them); a batch refused as a whole (not a list, none, too many) is left as it is."""
    if isinstance(body, list) and isinstance(problems, dict):
        return _merged(problems, body, value_errors)
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        found = problems.get("items", {})
        if isinstance(found, dict):
            return {**problems, "items": _merged(found, body["items"], value_errors)}
    return problems


def _merged(found: dict, items: list, value_errors: ValueErrors) -> dict:
    """Problems by item index, in index order so that the error message names the first."""
    unchecked = {index: item for index, item in enumerate(items) if index not in found}
    merged = {**found, **(value_errors(unchecked) if unchecked else {})}
    in_order = sorted(merged, key=lambda key: (isinstance(key, str), key))  # any "_schema" last
    return {key: merged[key] for key in in_order}


def _note_batch_size(body: Any) -> None:
    """A batch's item count, for the access log and /metrics: a JSON array, or ``items``."""
    items = body.get("items") if isinstance(body, dict) else body
    if isinstance(items, list):
        flask.g.batch_items = len(items)


def _check_times(arguments: Any) -> None:
    """A time argument (``as_of``, ``since``, ``updatedTo``: marshmallow reads any offset)
    that is not in years 1 to 9999 once in UTC, as times are stored (graph.model.format_time),
    is a 400 naming it: ``9999-12-31T23:59:59-01:00`` is in year 10000 there. Query
    arguments are top-level, and named here as they are sent."""
    if not isinstance(arguments, Mapping):
        return
    for name, value in arguments.items():
        if not isinstance(value, datetime):
            continue
        try:
            format_time(value)
        except OverflowError:
            problem = "falls outside years 0001 to 9999 once converted to UTC"
            raise InvalidInput(f"{name}: {problem}", fields={name: [problem]}) from None


def _check_batch_size_first(body: Any, schema: ma.Schema) -> None:
    """A batch longer than the limit is refused before any schema reads one of its items, with
    ``check_batch_size``'s error: validating 100,000 items only to name each bad one would cost
    seconds and megabytes, and the batch is refused whatever they hold. A schema loading
    ``many`` reads the body as its batch, counted by its ``check_batch_size(count)``; any
    other reads the list under its ``items`` field (the native API's), none of which is left
    to the schema ("send at least one item")."""
    if schema.many:
        check = getattr(schema, "check_batch_size", None)
        if check is not None and isinstance(body, list):
            check(len(body))
    elif isinstance(schema.fields.get("items"), ma.fields.List) and isinstance(body, dict):
        items = body.get("items")
        if isinstance(items, list) and items:
            check_batch_size(len(items), "items", "items")


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, with our Parser, refusing a body where no route reads one.

    An operation reads a body when it declares one (``@blp.arguments`` in ``json``, the
    default location: its OpenAPI ``requestBody``). Any other body would be dropped, so it is a
    400 before the view runs, and nothing is done; ``{}`` or ``null`` says nothing and is no
    body (``_refuse_an_unread_body``). An operation that declares no success answer
    (Adnuntius' ``/page``, Synerise's events: not idgraph's job) answers its error whatever the
    body: that drops nothing silently.

    With ``strict_query=True`` (idgraph's own ``/v1`` routes) a query parameter the operation
    does not read is refused the same way, each one named: webargs drops what a query schema
    does not name, and a route without one never looks, so ``DELETE .../profiles/1?dry_run=true``
    would erase and ``POST .../links?dryrun=true`` would write. An operation reads the fields of
    its query schemas (by ``data_key``, as OpenAPI documents them) and ``READ_BEFORE_VIEWS``.
    One of those sent twice is refused too, unless its field is a list: webargs would read the
    first, so ``?dry_run=false&dry_run=true`` would write. The compatible faces keep the
    default, lenient: their published clients add parameters of their own (cache busters),
    but a write there that asks for a dry run is refused (``_refuse_a_dry_run``)."""

    ARGUMENTS_PARSER = Parser()
    BODY_LOCATIONS = frozenset({"json", "form", "files"})
    QUERY_LOCATIONS = frozenset({"query", "querystring"})
    # read by app/api/auth.py before any view: a collect key may come as ?key= on any route
    # (navigator.sendBeacon cannot set headers). It reads ?dry_run= too, but that changes the
    # right needed only where the route reads it as well (POST /v1/<ns>/links): not here.
    READ_BEFORE_VIEWS = frozenset({"key"})

    def __init__(self, *args: Any, strict_query: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(self._refuse_an_unread_body)
        if strict_query:
            self.before_request(self._refuse_an_unread_or_repeated_query)
        else:
            self.before_request(self._refuse_a_dry_run)

    def _refuse_a_dry_run(self) -> None:
        """On a lenient face, a write that asks for a dry run (``?dry_run=true``, ``dryRun``,
        ``dry-run``...) is a 400: no face has one, so the parameter would be ignored like a
        cache buster and ``DELETE /v4/clients/1?dry_run=true`` would erase the person."""
        request = flask.request
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        asked = [name for name in request.args if _DRY_RUN.fullmatch(name)]
        if asked:
            problem = f"{request.method} on this route has no dry run: nothing was done"
            raise InvalidInput(f"{asked[0]}: {problem}", fields={name: [problem] for name in asked})

    def _refuse_an_unread_body(self) -> None:
        """A body sent where the operation reads none is a 400 naming ``body``: it would be
        dropped, and a body is read or refused, never dropped. A body that says nothing is no
        body (``_says_nothing``): clients that always send one, as axios' ``post(url, {})``
        does, send ``{}``, and letting it through drops nothing."""
        request = flask.request
        if not self._drops_body(request.endpoint or "", request.method):
            return
        if request.get_data() and not _says_nothing(request):
            problem = f"{request.method} on this route takes no body: nothing was done"
            raise InvalidInput(f"body: {problem}", fields={"body": [problem]})

    def _refuse_an_unread_or_repeated_query(self) -> None:
        """Every query parameter the operation does not read, and every one it reads as one
        value that was sent more than once (read as its first, whatever the client meant),
        named in one 400, in the order they were sent. One it reads as a list may repeat."""
        request = flask.request
        if not request.args:
            return
        operation = self._answered(request.endpoint or "", request.method)
        if operation is None:
            return
        schemas = self._query_schemas(operation)
        reads = frozenset(name for schema in schemas for name in _loaded_names(schema))
        lists = frozenset(name for schema in schemas for name in _list_names(schema))
        allowed = reads | self.READ_BEFORE_VIEWS
        hint = f" (it reads {', '.join(sorted(reads))})" if reads else ""
        problems: dict[str, list[str]] = {}
        for name, values in request.args.lists():
            if name not in allowed:
                problems[name] = [f"this route reads no query parameter {name}{hint}: {NOT_DONE}"]
            elif len(values) > 1 and name not in lists:
                problems[name] = [f"sent {len(values)} times: {ONE_VALUE}; {NOT_DONE}"]
        if problems:
            first = next(iter(problems))
            raise InvalidInput(f"{first}: {problems[first][0]}", fields=problems)

    def _drops_body(self, endpoint: str, method: str) -> bool:
        """Whether the view of ``endpoint`` answers ``method`` with a success without reading
        a body."""
        operation = self._answered(endpoint, method)
        if operation is None:
            return False
        parameters = operation.get("arguments", {}).get("parameters", [])
        return not any(parameter["in"] in self.BODY_LOCATIONS for parameter in parameters)

    def _answered(self, endpoint: str, method: str) -> dict[str, Any] | None:
        """What flask-smorest's decorators recorded (``_docs``, by operation) of the view of
        ``endpoint`` for ``method``, if it declares a success answer; else None."""
        operations = self._docs.get(endpoint.rpartition(".")[2], {})
        operation = operations.get("get" if method == "HEAD" else method.lower())
        if not operation or not operation.get("success_status_codes"):
            return None
        return operation

    def _query_schemas(self, operation: dict[str, Any]) -> list[ma.Schema]:
        """The schemas an operation reads its query parameters with."""
        schemas = [
            parameter["schema"]
            for parameter in operation.get("arguments", {}).get("parameters", [])
            if parameter["in"] in self.QUERY_LOCATIONS
        ]
        return [schema() if isinstance(schema, type) else schema for schema in schemas]


def _loaded_names(schema: ma.Schema) -> set[str]:
    """The query parameters a schema reads: its fields, as sent (``data_key``)."""
    return {field.data_key or name for name, field in schema.load_fields.items()}


def _list_names(schema: ma.Schema) -> set[str]:
    """The query parameters a schema reads every value of (a ``List``), as webargs decides."""
    known = tuple(Blueprint.ARGUMENTS_PARSER.KNOWN_MULTI_FIELDS)
    return MultiDictProxy({}, schema, known_multi_fields=known).multiple_keys


def _says_nothing(request: flask.Request) -> bool:
    """Whether the body is exactly ``{}`` or ``null``, with JSON whitespace around it at most,
    sent as JSON (``application/json``, ``application/*+json``) or with no Content-Type. Under
    any other type, or with anything in it, it says something, even ``[]`` or ``{"a": null}``."""
    if request.mimetype and not request.is_json:
        return False
    return request.get_data().strip(JSON_WHITESPACE) in SAYS_NOTHING


def check_namespace(value: object, field: str) -> str:
    """A namespace named in a request (a path segment, a folderId, a brand id)."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not NAMESPACE.fullmatch(text):
        raise InvalidInput(
            f"{field}: not a valid namespace",
            fields={field: ["a namespace is 1-128 of letters, digits, '.', '_', ':', '-'"]},
        )
    return text


def check_batch_size(count: int, field: str, noun: str) -> None:
    """Every face's limit on the items of one request (IDGRAPH_MAX_BATCH_ITEMS): a batch of
    none, or of more, is a 400 naming ``field`` and counting in ``noun``."""
    limit = flask.current_app.extensions["idgraph.settings"].max_batch_items
    if not 1 <= count <= limit:
        problem = f"send 1 to {limit} {noun}"
        raise InvalidInput(f"{field}: {problem}", fields={field: [problem]})


def check_namespace_in_path(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A blueprint's url_value_preprocessor: a bad ``<ns>`` path segment is a 400 before any
    of its views runs."""
    check_namespace((values or {}).get("ns", ""), "ns")
