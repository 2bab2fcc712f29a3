"""The Blueprint every face of the API uses: request validation failures answer 400, a JSON
body naming a key twice in one object is refused rather than read as last-wins, and so is one
that is not Unicode text (not UTF-8, or a lone surrogate escape such as ``"\\ud800"``)."""

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
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # only an escape can make one
NOT_UNICODE = "not valid Unicode: a lone surrogate (an unpaired \\ud800-\\udfff escape)"


class _Object(dict):
    """A JSON object that remembers the keys it was sent more than once."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) < len(pairs):
        counts = Counter(key for key, _ in pairs)
        obj.duplicates = tuple(key for key, count in counts.items() if count > 1)
    return obj


def _problem_paths(value: Any, path: str = "", *, surrogates: bool) -> dict[str, list[str]]:
    """Keys sent twice in one object and, when ``surrogates``, text holding a lone surrogate
    (an unpaired ``\\ud800``-``\\udfff`` escape: JSON allows it, UTF-8 and so the store
    cannot hold it), by field path."""
    found: dict[str, list[str]] = {}
    children: Any = ()
    if isinstance(value, _Object):
        for key in value.duplicates:
            found[f"{path}{key}"] = ["sent twice in one object: send each key once"]
        children = value.items()
    elif isinstance(value, list):
        children = enumerate(value)
    elif surrogates and isinstance(value, str) and _SURROGATE.search(value):
        found[path.removesuffix(".") or "body"] = [NOT_UNICODE]
    for key, child in children:
        name = _SURROGATE.sub("\ufffd", key) if isinstance(key, str) else key
        if surrogates and name != key:
            found[f"{path}{name}"] = [NOT_UNICODE]
        found.update(_problem_paths(child, f"{path}{name}.", surrogates=surrogates))
    return found


class Parser(FlaskParser):
    """webargs answers 422 by default; a bad request is a 400 here, in the one error shape."""

    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        text = req.get_data(cache=True).decode("utf-8")  # not UTF-8: webargs answers 400
        body = json.loads(text, object_pairs_hook=_object)
        problems = _problem_paths(body, surrogates=_SURROGATE_ESCAPE.search(text) is not None)
        if problems:
            abort(400, messages={"json": problems})
        _note_batch_size(body)
        return body


def _note_batch_size(body: Any) -> None:
    """A batch's item count, for the access log and /metrics: a JSON array, or ``items``."""
    items = body.get("items") if isinstance(body, dict) else body
    if isinstance(items, list):
        flask.g.batch_items = len(items)


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
