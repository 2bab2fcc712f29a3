"""Cross-origin calls from web pages (CORS): which pages may read idgraph's answers.

An origin is allowed in every namespace by ``IDGRAPH_CORS_ORIGINS`` and in one namespace by
its rules' ``allowed_origins`` (graph/rules.py). By default none is, and a browser lets no page
read an answer.

- A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is answered
  here, before authentication: browsers send it without credentials. It carries no body, so
  it cannot say which namespace the request will touch: an origin some namespace allows gets
  the allow headers, and the request itself is judged when it comes.
- Every other answer to an allowed origin carries ``Access-Control-Allow-Origin`` (that origin,
  never ``*``) and exposes the headers clients read. An origin is allowed for an answer when it
  is allowed globally, or by every namespace the request touched (the path's, the body's
  ``folderId``, the header's, the key's); a request that touched none (a 401) is judged as a
  preflight is.
- Credentials (cookies) are never allowed: idgraph reads none, and a page's key travels in
  ``Authorization`` or in the ``key`` query parameter (app/api/auth.py).
- Every answer says ``Vary: Origin``, so a cache never hands one page's answer to another.

CORS only decides what a page may *read*. A page can always *send* a simple request (a
``text/plain`` POST, ``navigator.sendBeacon``); what such a request may do is decided by its
key, and a ``collect`` key works only from the origins its namespace allows (auth.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, current_app, g, request

from graph.rules import RuleBook

ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
ALLOW_HEADERS = (
    "Authorization, Content-Type, Accept, X-Idgraph-Namespace, X-Request-Id, Idempotency-Key, "
    "Api-Version"
)
EXPOSE_HEADERS = "X-Next-Cursor, X-Request-Id, Retry-After"
PREFLIGHT_MAX_AGE = "600"  # seconds a browser may reuse a preflight's answer


class Origins:
    """Which origin may call which namespace: the global list, then the rules file's."""

    def __init__(self, everywhere: Iterable[str], rulebook: RuleBook) -> None:
        self.everywhere = frozenset(everywhere)
        self._rulebook = rulebook
        self._somewhere = self.everywhere | rulebook.origins_anywhere()

    def allows(self, origin: str, namespaces: Iterable[str]) -> bool:
        """May ``origin`` read an answer touching these namespaces (none: any namespace's)?"""
        origin = origin.lower()
        if origin in self.everywhere:
            return True
        named = set(namespaces)
        if not named:
            return origin in self._somewhere
        return all(
            origin in self._rulebook.for_namespace(namespace).allowed_origins for namespace in named
        )


def origins() -> Origins:
    return current_app.extensions["idgraph.origins"]


def touched(namespace: str) -> None:
    """Note a namespace this request reads or writes (app/api/context.py calls it)."""
    g.setdefault("namespaces", set()).add(namespace)


def touched_namespaces() -> set[str]:
    named = set(g.get("namespaces", ()))
    path_namespace = (request.view_args or {}).get("ns")
    if isinstance(path_namespace, str):
        named.add(path_namespace)
    caller = g.get("caller")
    if caller is not None and caller.namespace is not None:
        named.add(caller.namespace)
    return named


def install_cors(app: Flask, everywhere: Iterable[str], rulebook: RuleBook) -> None:
    """Install before authentication, so that a preflight never meets it."""
    app.extensions["idgraph.origins"] = Origins(everywhere, rulebook)

    @app.before_request
    def preflight() -> Response | None:
        origin = request.headers.get("Origin")
        is_preflight = (
            request.method == "OPTIONS"
            and origin
            and "Access-Control-Request-Method" in request.headers
            and request.url_rule is not None
        )
        if not is_preflight:
            return None
        response = Response(status=204)
        del response.headers["Content-Type"]  # no body
        if origins().allows(origin, touched_namespaces()):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        return response

    @app.after_request
    def allow_reading(response: Response) -> Response:
        response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if origin and "Access-Control-Allow-Origin" not in response.headers:
            if origins().allows(origin, touched_namespaces()):
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        return response
