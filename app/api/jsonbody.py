"""Reading a request body as JSON, whatever a hostile client sends: every check here runs
before or while json parses, so no body makes Python build something it should not.

- nesting deeper than ``MAX_JSON_DEPTH`` is found before json parses anything
  (``nested_too_deeply``);
- a number of more than ``MAX_NUMBER_DIGITS`` digits, one too large for a double (``1e400``)
  and the non-JSON ``NaN`` and ``Infinity`` are refused as json hands their text over, before
  Python makes a number of them (``loads`` raises ``Unreadable``);
- a key sent twice in one object, and a lone surrogate escape (``"\\ud800"``: JSON, but not
  text the store can hold), are named by field path (``problem_paths``);
- a body longer than ``MAX_CONTENT_LENGTH`` is a 413, chunked too (``Request``).

app/api/blueprint.py's Parser turns each into a 400 naming the body or the field.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from itertools import accumulate
from typing import IO, Any, NoReturn

import flask
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # only an escape can make one
NOT_UNICODE = "not valid Unicode: a lone surrogate (an unpaired \\ud800-\\udfff escape)"

# The deepest body a route takes is a link batch's attribute value: 4 levels of envelope
# ({"items": [{"attributes": {...}}]}), then at most graph.normalize.MAX_ATTRIBUTE_DEPTH + 1
# (9) of value. 64 leaves room and keeps every recursive reader (json, marshmallow, ours) far
# from Python's recursion limit (1,000).
MAX_JSON_DEPTH = 64
# A double has 17 significant digits and an int64 19; more digits than this is no quantity a
# route needs, and Python turns a 4,301-digit integer into a ValueError, a long one slowly.
MAX_NUMBER_DIGITS = 32
TOO_DEEP = f"not JSON idgraph reads: nested deeper than {MAX_JSON_DEPTH} levels"
TOO_MANY_DIGITS = f"not JSON idgraph reads: a number of more than {MAX_NUMBER_DIGITS} digits"
NOT_A_DOUBLE = "not JSON idgraph reads: a number too large for a double (over 1.8e308)"
NOT_A_NUMBER = "not JSON: {} is not a JSON value"  # NaN, Infinity, -Infinity: Python's extension

# For nested_too_deeply's byte passes: braces as brackets, every byte but quotes and brackets
# dropped; a bracket as a step in depth. For the number hooks: what a number has but digits.
_BRACES_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_STEP = tuple({ord("["): 1, ord("]"): -1}.get(byte, 0) for byte in range(256))
_NOT_DIGITS = str.maketrans("", "", "-+.eE")


def loads(text: str) -> Any:
    """``text`` as JSON, objects remembering the keys sent twice; Unreadable for a number
    idgraph does not read, ValueError (json's) for text that is not JSON."""
    return json.loads(
        text,
        object_pairs_hook=_object,
        parse_int=_integer,
        parse_float=_double,
        parse_constant=_constant,
    )


def problem_paths(body: Any, text: str) -> dict[str, list[str]]:
    """The keys sent twice and the lone surrogates of a body ``loads`` read, by field path."""
    return _problem_paths(body, surrogates=_SURROGATE_ESCAPE.search(text) is not None)


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


def nested_too_deeply(body: bytes) -> bool:
    """Whether JSON ``body`` nests deeper than ``MAX_JSON_DEPTH``, found before json parses
    it: passes of C-speed byte operations (replace, translate, split), none recursive, that cost
    a fraction of json's parse. Not JSON, it may be any depth where json would stop before."""
    if b"\\" in body:  # without escaped backslashes and quotes, a quote opens or ends a string
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    # quotes and brackets only; two quotes side by side end a string and open the next, or
    # hold nothing: dropped, they leave every bracket in or out of a string as it was
    structure = body.translate(_BRACES_AS_BRACKETS, _NOT_STRUCTURE).replace(b'""', b"")
    return _nested_deeper(_outside_strings(structure), MAX_JSON_DEPTH)


def _outside_strings(text: bytes) -> bytes:
    """``text``, its quotes unescaped, without its strings: what is between the quotes."""
    return b"".join(text.split(b'"')[::2]) if b'"' in text else text


def _nested_deeper(brackets: bytes, limit: int) -> bool:
    """Whether ``[`` and ``]`` ever nest deeper than ``limit``.

    Each pass of ``replace`` drops every innermost pair, so a body ``d`` deep is gone after
    ``d`` passes: the usual body, shallow and bushy, in a few passes that cost less than the
    body. Any other (deep, unbalanced, or a tall thin one that would cost more passes than the
    body is long) is measured step by step."""
    if b"[" * (limit + 1) in brackets:  # the plain attack, found at once
        return True
    left, work = brackets, 0
    for _ in range(limit):
        work += len(left)
        if not left or work > 4 * len(brackets):
            break
        left, before = left.replace(b"[]", b""), left
        if len(left) == len(before):
            break
    return bool(left) and _deeper_step_by_step(brackets, limit)


def _deeper_step_by_step(brackets: bytes, limit: int, chunk: int = 1 << 16) -> bool:
    """Whether the depth after some bracket is over ``limit``, a chunk at a time so that a
    deep body is found early. Where brackets are unbalanced the body is not JSON: json stops
    there, having gone no deeper than they did so far."""
    depth = 0
    for start in range(0, len(brackets), chunk):
        part = brackets[start : start + chunk]
        if max(accumulate(map(_STEP.__getitem__, part), initial=depth)) > limit:
            return True
        depth += part.count(b"[") - part.count(b"]")
    return False


class Unreadable(ValueError):
    """A number idgraph does not read, from json's hooks: ``_integer``, ``_double``,
    ``_constant``. Each is handed the number's text, before Python makes a number of it."""


def _integer(text: str) -> int:
    _check_digits(text)
    return int(text)


def _double(text: str) -> float:
    _check_digits(text)
    number = float(text)
    if math.isinf(number):
        raise Unreadable(NOT_A_DOUBLE)
    return number


def _check_digits(text: str) -> None:
    if len(text) > MAX_NUMBER_DIGITS and len(text.translate(_NOT_DIGITS)) > MAX_NUMBER_DIGITS:
        raise Unreadable(TOO_MANY_DIGITS)


def _constant(name: str) -> NoReturn:
    raise Unreadable(NOT_A_NUMBER.format(name))


class Request(flask.Request):
    """flask's Request, but a streamed (chunked) body longer than ``MAX_CONTENT_LENGTH`` is a
    413, as is one whose Content-Length says so. werkzeug (3.1) reads such a body up to the
    limit and stops there without a word: the rest would be dropped, the body read cut short."""

    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        if limit is not None and self.content_length is None:
            if "wsgi.input_terminated" in self.environ:  # the server ends the body (gunicorn)
                return _CappedStream(self.input_stream, limit)
        return get_input_stream(self.environ, max_content_length=limit)


class _CappedStream(LimitedStream):
    """A body read to ``limit`` bytes at most: werkzeug's ``LimitedStream``, but reading all
    of it looks one byte past the limit, and finding one is a 413."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit, is_max=True)
        self._source = stream

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._source.read(1):
            raise RequestEntityTooLarge()
        return data
