"""The lean path of the busiest read: ``GET /v1/<ns>/identifiers/<type>/<value>``.

Through Flask a lookup cost four times the lookup itself: the request and response objects,
eleven hooks, the routing, flask-smorest's wrapper, marshmallow (benchmarks/README.md, "Reads
at scale"). ``LeanLookups`` wraps the app's WSGI callable and answers the common lookup
itself, through the same checks, in one function: the route matched by the app's own URL
map, the caller proven as auth.py's ``identify`` would prove it, the key's rate, the
namespace and the right, the lookup, the profile as ``ProfileSchema`` dumps it
(``profile_body``), the same headers, the access line and the metrics.

It answers only what it is sure of and hands everything else to the app, untouched: another
route or method, a query string, a body, an ``Origin`` (CORS), credentials that would take a
scrypt or a session token, the admin token from an address that got credentials wrong lately
(``auth.proven_caller``), a key over its rate or in another namespace, a caller without the
read right, and a lookup that fails otherwise than by a 404 (400, 503: the app looks again
and answers the error). An identifier not found is answered here, as the app's error handler
answers it: for a page asking about a new visitor, that is as common as a hit. A request it
hands over has cost it nothing it keeps: the rate token it took is given back. So the answers
are the app's, byte for byte but for the request id, and so are the throttles and rates they
leave behind (tests/api/test_lean_lookups.py); only the cost differs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.http import HTTP_STATUS_CODES

from app.api import auth
from app.api.blueprint import NAMESPACE
from app.api.errors import not_found_body
from app.api.headers import EVERY_ANSWER, NOT_A_PAGE, NOT_STORED
from app.api.logs import log_access, request_id
from app.api.schemas import profile_body
from app.settings import Settings
from graph.errors import NotFound
from graph.service import IdentityService

ENDPOINT = "native.IdentifierProfile"
_STATUS_LINES = {status: f"{status} {HTTP_STATUS_CODES[status].upper()}" for status in (200, 404)}
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# what app/api/headers.py and cors.py add to a JSON answer, in the order the app sends them
_HEADERS = [
    *EVERY_ANSWER.items(),
    ("Cache-Control", NOT_STORED),
    ("Content-Security-Policy", NOT_A_PAGE),
    ("Vary", "Origin"),
]


class LeanLookups:
    """WSGI middleware: lookups it can answer alone, everything else to ``full``."""

    def __init__(self, app: Flask, full: WSGIApp) -> None:
        self.full = full  # the app itself: what the lean path hands over
        self._urls = app.url_map
        self._rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == ENDPOINT)
        self._settings: Settings = app.extensions["idgraph.settings"]
        self._service: IdentityService = app.extensions["idgraph.service"]
        self._keys = app.extensions["idgraph.keys"]
        self._key_rates = app.extensions[auth.KEY_RATES]
        self._failures = app.extensions[auth.FAILURES]
        self._metrics = app.extensions["idgraph.metrics"]
        self._json = app.json

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        answer = self._answer(environ) if self._simple(environ) else None
        if answer is None:
            return self.full(environ, start_response)
        namespace, who, status, body = answer
        rid = request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response(
            _STATUS_LINES[status],
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                *_HEADERS,
                ("X-Request-Id", rid),
            ],
        )
        seconds = time.perf_counter() - started
        template = self._rule.rule
        log_access("GET", template, status, seconds, who, namespace=namespace, request_id=rid)
        self._metrics.answered(template, "GET", status, seconds)
        return [body]

    @staticmethod
    def _simple(environ: dict[str, Any]) -> bool:
        """A GET with no query, no body and no Origin: all a lookup needs, nothing it would
        have to judge."""
        return (
            environ.get("REQUEST_METHOD") == "GET"
            and not environ.get("QUERY_STRING")
            and environ.get("CONTENT_LENGTH") in (None, "", "0")
            and "HTTP_TRANSFER_ENCODING" not in environ
            and "HTTP_ORIGIN" not in environ
            and "HTTP_FORWARDED" not in environ  # local open mode refuses it (auth.is_local)
            and environ.get("PATH_INFO", "").startswith("/v1/")
        )

    def _answer(self, environ: dict[str, Any]) -> tuple[str, str, int, bytes] | None:
        """(namespace, caller's name, status, body) of a lookup answered here, or None."""
        try:  # as the app routes it; no match, a redirect, a bad Host: the app answers
            endpoint, args = self._urls.bind_to_environ(environ, subdomain="").match()
        except Exception:
            return None
        namespace = args.get("ns", "")
        if endpoint != ENDPOINT or not NAMESPACE.fullmatch(namespace):
            return None
        caller = auth.proven_caller(
            environ.get("HTTP_AUTHORIZATION"),
            environ.get("REMOTE_ADDR", ""),
            environ.get("HTTP_X_FORWARDED_FOR", ""),
            environ.get("HTTP_HOST", ""),
            self._settings,
            self._keys,
            self._failures,
        )
        if caller is None or not caller.may_see(namespace) or not caller.may("read"):
            return None
        if caller.key_id is not None and self._key_rates.wait(caller.key_id):
            return None
        try:
            profile = self._service.reading.profile_by_identifier(
                namespace, args["type"], args["value"]
            )
            status, answer = 200, profile_body(profile)
        except NotFound as missing:  # an identifier no one has yet: as common as a hit
            status, answer = 404, not_found_body(str(missing))
        except Exception:  # 400, 503, a bug: the app looks again, answers and logs it
            if caller.key_id is not None:
                self._key_rates.give_back(caller.key_id)  # the app takes it again
            return None
        body = f"{self._json.dumps(answer, separators=(',', ':'))}\n"
        return namespace, caller.name, status, body.encode()
