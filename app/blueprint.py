"""The Blueprint every face of the API uses: request validation failures answer 400, and a
JSON body naming a key twice in one object is refused rather than read as last-wins."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request

from graph.errors import InvalidInput

NAMESPACE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class _Object(dict):
    """A JSON object that remembers the keys it was sent more than once."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) < len(pairs):
        counts = Counter(key for key, _ in pairs)
        obj.duplicates = tuple(key for key, count in counts.items() if count > 1)
    return obj


def _duplicate_paths(value: Any, path: str = "") -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    children: Any = ()
    if isinstance(value, _Object):
        for key in value.duplicates:
            found[f"{path}{key}"] = ["sent twice in one object: send each key once"]
        children = value.items()
    elif isinstance(value, list):
        children = enumerate(value)
    for key, child in children:
        found.update(_duplicate_paths(child, f"{path}{key}."))
    return found


class Parser(FlaskParser):
    """webargs answers 422 by default; a bad request is a 400 here, in the one error shape."""

    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise json.JSONDecodeError("not UTF-8", "", error.start) from error
        body = json.loads(text, object_pairs_hook=_object)
        duplicates = _duplicate_paths(body)
        if duplicates:
            abort(400, messages={"json": duplicates})
        return body


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()


def check_namespace(value: object, field: str) -> str:
    """A namespace named in a request (a path segment, a folderId, a brand id)."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not NAMESPACE.fullmatch(text):
        raise InvalidInput(
            f"{field}: not a valid namespace",
            fields={field: ["a namespace is 1-128 of letters, digits, '.', '_', ':', '-'"]},
        )
    return text


def check_namespace_in_path(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A blueprint's url_value_preprocessor: a bad ``<ns>`` path segment is a 400 before any
    of its views runs."""
    check_namespace((values or {}).get("ns", ""), "ns")
