"""Who may call, where, and what.

- The admin token (``IDGRAPH_ADMIN_TOKEN``) has every right in every namespace.
- An API key (``idgraph keys create``, graph/keys.py) has the rights it was given, ``read``
  and/or ``write``, in its one namespace.
- Without an admin token the service is in local open mode: it answers loopback clients only
  (``idgraph serve`` refuses to bind anything else), and a request without credentials has
  every right. API keys work in both modes.

Checks, in this order, before any view runs:

1. 401 without valid credentials.
2. 429 with ``Retry-After`` when an API key is over its rate (app/ratelimit.py).
3. 404 when a key names another namespace in the path (``/v1/<ns>/...``): the same answer as
   a missing profile, so a key cannot learn what another namespace holds. Namespaces a body or
   a header names (Adnuntius ``folderId``, Omnidesk ``brand_id``, Synerise's header) are
   checked by the views with ``context.namespace``.
4. 403 when the route needs a right the key lacks: ``GET`` and ``HEAD`` read, every other
   method writes (a dry run too: it goes where writes go).

``/healthz``, ``/openapi.json``, ``/docs``, the lineage viewer's page and ``/static`` stay open:
they carry no data, and load balancers, Swagger UI and a browser opening the viewer fetch them
without credentials (the viewer's script then sends the token). ``/metrics`` covers every
namespace, so it takes the admin token (or local open mode).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import Flask, g, request
from werkzeug.exceptions import Forbidden, TooManyRequests, Unauthorized

from app.api.ratelimit import RateLimiter
from app.settings import Settings, is_loopback
from graph.errors import NotFound
from graph.keys import RIGHTS, ApiKeys

PUBLIC_ENDPOINTS = frozenset(
    {
        "health.Health",
        "docs_assets",
        "api-docs.openapi_json",
        "api-docs.openapi_swagger_ui",
        "viewer.view",
        "static",
    }
)
ADMIN_ENDPOINTS = frozenset({"metrics"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the admin token ("admin"), a loopback client in local open mode
    ("local"), or an API key (its name)."""

    name: str
    namespace: str | None  # None: every namespace
    rights: tuple[str, ...]
    key_id: int | None = None

    def may_see(self, namespace: str) -> bool:
        return self.namespace is None or self.namespace == namespace


ADMIN = Caller("admin", None, RIGHTS)
LOCAL = Caller("local", None, RIGHTS)


def install_auth(app: Flask, settings: Settings, keys: ApiKeys) -> None:
    token = (settings.admin_token or "").encode()
    limiter = RateLimiter(settings.rate_limit, settings.rate_burst)

    def identify() -> Caller:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        presented = presented.strip()
        if scheme.lower() == "bearer" and presented:
            if token and hmac.compare_digest(presented.encode(), token):
                return ADMIN
            key = keys.authenticate(presented)
            if key is None:
                raise Unauthorized("unknown token, or a revoked API key")
            return Caller(key.name, key.namespace, key.rights, key.id)
        if token:
            raise Unauthorized("send Authorization: Bearer <token>")
        if not is_loopback(request.remote_addr or ""):
            raise Unauthorized("local open mode answers loopback clients only")
        return LOCAL

    @app.before_request
    def authorize() -> None:
        if request.endpoint in PUBLIC_ENDPOINTS:
            return
        caller = g.caller = identify()
        if caller.key_id is not None:
            wait = limiter.wait(caller.key_id)
            if wait:
                raise TooManyRequests(
                    f"API key {caller.name} is over its rate of {settings.rate_limit:g} "
                    f"requests per second; retry after {wait} s",
                    retry_after=wait,
                )
        namespace = (request.view_args or {}).get("ns")
        if isinstance(namespace, str) and not caller.may_see(namespace):
            raise NotFound(f"namespace {namespace}: not found")
        if request.endpoint in ADMIN_ENDPOINTS and caller.namespace is not None:
            raise Forbidden("this route covers every namespace: it takes the admin token")
        needed = "read" if request.method in READ_METHODS else "write"
        if needed not in caller.rights:
            rights = " and ".join(caller.rights)
            raise Forbidden(f"API key {caller.name} may not {needed}: it may {rights} only")
