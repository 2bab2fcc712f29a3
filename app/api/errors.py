"""The error shapes: idgraph's ``{"error": {"code", "message", "details"}}`` everywhere, but
on Synerise's routes, which answer in Synerise's own shape so that its clients read them:
``{"timestamp", "status", "error", "message", "path"}`` (``error`` is the status's reason
phrase, e.g. ``Bad Request``), with idgraph's ``code`` and ``details`` beside them. The request's
blueprint chooses, in ``error_response``, which every error handler goes through; a request no
route matched (an unknown path, a method its route does not take) has no blueprint, so its
path does: under a face's prefixes (``SHAPED_PATHS``) it is that face's shape, elsewhere
idgraph's.

``details.items`` maps a batch item's index to ``{field path: [messages]}`` and
``details.fields`` holds problems outside the items (a path parameter, a query argument, the
body itself), so a client can show every problem of a 10,000-item batch at once. The message
names the first problem in words: ``items[3].identifiers[1].value: not a valid email address``.

An error names what the client sent, never more than a bounded prefix of it: in every text of
an error (its message, each field path, each message and value in ``details``) each run of
more than ``ECHO_LIMIT`` characters with no space or colon is cut to that many, saying how
many it cut, and the whole beyond ``TEXT_LIMIT``: a 4 MB attribute name costs a few lines.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from flask import Flask, Response, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException

from graph.errors import InvalidInput, NotFound, Refused, RequestIdReused, StoreError
from graph.model import utc_now

log = logging.getLogger("idgraph")

ECHO_LIMIT = 64  # characters of a name or value sent, e.g. an attribute name in a field path
TEXT_LIMIT = 1_000  # characters of any one text, should the client's have spaces
_LONG_RUN = re.compile(rf"[^\s:]{{{ECHO_LIMIT + 1},}}")  # a path, not its ": why"


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "machine-readable code, e.g. invalid_input"})
    message = ma.fields.String(metadata={"description": "the first problem, in words"})
    details = ma.fields.Dict(
        metadata={"description": "items: {index: {field: [messages]}}, fields: {field: [...]}"}
    )


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema)


class SyneriseErrorSchema(ma.Schema):
    """Synerise's error shape, which its routes answer (app/api/synerise.py)."""

    timestamp = ma.fields.String(metadata={"description": "when, in UTC"})
    status = ma.fields.Integer(metadata={"description": "the HTTP status"})
    error = ma.fields.String(metadata={"description": "its reason phrase, e.g. Bad Request"})
    message = ma.fields.String(metadata={"description": "the first problem, in words"})
    path = ma.fields.String(metadata={"description": "the request's path"})
    code = ma.fields.String(metadata={"description": "idgraph's code, e.g. invalid_input"})
    details = ma.fields.Dict(metadata={"description": "idgraph's details, as in Error"})


def _idgraph_shape(status: int, code: str, message: str, details: dict) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _synerise_shape(status: int, code: str, message: str, details: dict) -> dict[str, Any]:
    return {
        "timestamp": utc_now(),
        "status": status,
        "error": _reason(status),
        "message": message,
        "path": _cut(request.path, TEXT_LIMIT),  # as sent: gunicorn bounds a request line
        "code": code,
        "details": details,
    }


# the blueprints whose routes answer errors in their product's shape (SyneriseErrorSchema),
# and the paths that are theirs when no route matched (a client's typo, a path with a newline)
SHAPES = {"synerise": _synerise_shape}
SHAPED_PATHS = {"synerise": ("/v4/", "/crm/", "/uauth/")}


def error_response(
    status: int, code: str, message: str, details: Mapping[str, Any] | None = None
) -> tuple[Response, int]:
    """The error in the shape of the face the request went to: its blueprint's, in SHAPES."""
    shape = SHAPES.get(_face() if has_request_context() else "", _idgraph_shape)
    return jsonify(shape(status, code, bounded(message), _bounded(dict(details or {})))), status


def not_found_body(message: str) -> dict[str, Any]:
    """The body of a native route's 404, as ``error_response`` answers it (app/api/lookups.py
    answers a lookup's outside Flask)."""
    return _idgraph_shape(404, "not_found", bounded(message), {})


def bounded(text: str) -> str:
    """``text`` with each run of more than ``ECHO_LIMIT`` characters with no space or colon,
    then the whole beyond ``TEXT_LIMIT``, cut to that many, saying how many it cut."""
    return _cut(_LONG_RUN.sub(lambda run: _cut(run[0], ECHO_LIMIT), text), TEXT_LIMIT)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…(+{len(text) - limit} characters)"


def _bounded(details: Any) -> Any:
    """Every text in ``details``, keys (field paths) included, ``bounded``."""
    if isinstance(details, Mapping):
        return {_bounded(key): _bounded(value) for key, value in details.items()}
    if isinstance(details, list | tuple):
        return [_bounded(value) for value in details]
    return bounded(details) if isinstance(details, str) else details


def invalid_input_response(
    items: Mapping[int | str, Mapping[str, list[str]]], fields: Mapping[str, list[str]]
) -> tuple[Response, int]:
    details: dict[str, Any] = {}
    if items:
        details["items"] = {str(index): dict(errors) for index, errors in items.items()}
    if fields:
        details["fields"] = dict(fields)
    return error_response(400, "invalid_input", _first_problem(details), details)


def as_field_errors(invalid: InvalidInput, *, drop_prefix: str = "") -> InvalidInput:
    """A route taking one object reports its problems as fields of the body, not as batch
    item 0; ``drop_prefix`` strips a path prefix the body does not have."""
    named = {
        path.removeprefix(drop_prefix): problems
        for item in invalid.items.values()
        for path, problems in item.items()
    }
    return InvalidInput(invalid.message, fields={**invalid.fields, **named})


def validation_details(messages: Mapping[str, Any]) -> tuple[dict[str, dict], dict[str, list]]:
    """Split webargs/marshmallow messages (``{location: {field: nested...}}``) into per-item
    and other field errors, with dotted field paths."""
    flat: dict[str, list[str]] = {}
    for nested in messages.values():  # drop the location level (json, query, ...)
        _flatten(nested, "", flat)
    items: dict[str, dict[str, list[str]]] = {}
    fields: dict[str, list[str]] = {}
    for path, problems in flat.items():
        path = re.sub(r"\.?_schema$", "", path)  # marshmallow's key for the object itself
        match = re.fullmatch(r"(?:items\.)?(\d+)(?:\.(.+))?", path)  # a body that is a list too
        if match:
            items.setdefault(match[1], {})[match[2] or "item"] = problems
        else:
            fields[path or "body"] = problems
    return items, fields


def flattened(messages: Any) -> dict[str, list[str]]:
    """marshmallow's nested messages (``{"identifiers": {0: {"value": [...]}}}``) by dotted
    field path (``identifiers.0.value``); the object's own problems under ``""``."""
    flat: dict[str, list[str]] = {}
    _flatten(messages, "", flat)
    return flat


def _flatten(messages: Any, path: str, into: dict[str, list[str]]) -> None:
    if isinstance(messages, Mapping):
        for key, nested in messages.items():
            _flatten(nested, f"{path}.{key}" if path else str(key), into)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        into[path] = list(messages)
    else:
        into[path] = [str(messages)]


def _first_problem(details: Mapping[str, Any]) -> str:
    problems = [
        (f"items.{index}.{path}", messages)
        for index, errors in details.get("items", {}).items()
        for path, messages in errors.items()
    ] + list(details.get("fields", {}).items())
    if not problems:
        return "invalid input"
    path, messages = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{_readable_path(path)}: {messages[0]}{more}"


def _readable_path(path: str) -> str:
    """``items.3.identifiers.1.value`` -> ``items[3].identifiers[1].value``"""
    return re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", path)


def _face() -> str:
    if request.blueprint:
        return request.blueprint
    faces = (face for face, prefixes in SHAPED_PATHS.items() if request.path.startswith(prefixes))
    return next(faces, "")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _code(exception: HTTPException) -> str:
    return re.sub(r"\W+", "_", (exception.name or "error").lower()).strip("_")


def handle_http_exception(exception: HTTPException) -> tuple[Response, int]:
    """Every HTTPException, including webargs' validation aborts, in the one shape."""
    data = getattr(exception, "data", None) or {}
    if "messages" in data:
        items, fields = validation_details(data["messages"])
        response, status = invalid_input_response(items, fields)
    else:
        message = data.get("message") or exception.description or exception.name
        response, status = error_response(exception.code or 500, _code(exception), message)
    for name, value in exception.get_headers():  # e.g. Allow on a 405
        if name.lower() != "content-type":
            response.headers[name] = value
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if exception.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="idgraph"'
    return response, status


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(
        InvalidInput, lambda error: invalid_input_response(error.items, error.fields)
    )
    app.register_error_handler(NotFound, lambda error: error_response(404, "not_found", str(error)))
    app.register_error_handler(
        RequestIdReused, lambda error: error_response(409, "request_id_reused", str(error))
    )
    app.register_error_handler(
        Refused, lambda error: error_response(409, error.code, error.message, error.details)
    )
    app.register_error_handler(StoreError, _store_unavailable)
    app.register_error_handler(Exception, _internal_error)


def _store_unavailable(error: StoreError) -> tuple[Response, int]:
    log.error("store unavailable", exc_info=error)  # a driver's message may quote a value
    return error_response(503, "store_unavailable", "the store is not available; retry later")


def _internal_error(error: Exception) -> tuple[Response, int]:
    log.exception("unhandled error", exc_info=error)
    return error_response(500, "internal_error", "internal error; see the server log")
