"""Who may call, where, and what.

- The admin token (``IDGRAPH_ADMIN_TOKEN``) has every right in every namespace.
- An API key (``idgraph keys create``, graph/keys.py) has the rights it was given, ``read``
  and/or ``write``, or ``collect`` alone, in its one namespace.
- A ``collect`` key is for web pages, whose source anyone can read. It may only send links to
  the routes in ``COLLECT_ROUTES`` (``write`` includes that right). When a browser sends it
  (with an ``Origin``), the origin must be one its namespace allows (app/api/cors.py). It is
  rate-limited per key and per client address. It may also come as the ``key`` query
  parameter, since ``navigator.sendBeacon`` cannot set headers; no other key may.
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
4. 403 when the route needs a right the key lacks: ``GET`` and ``HEAD`` read, a ``POST`` to
   a route of ``COLLECT_ROUTES`` collects, every other method writes (a dry run too: it goes
   where writes go); and 403 when a collect key comes from an origin its namespace does not
   allow.

A bearer may also be a session token that Synerise's login route gave for an API key
(graph/tokens.py): it stands for that key, rights and namespace, for an hour, and stops with it.

``/healthz``, ``/openapi.json``, ``/docs``, the lineage viewer's page and ``/static`` stay open:
they carry no data, and load balancers, Swagger UI and a browser opening the viewer fetch them
without credentials (the viewer's script then sends the token). So does Synerise's login,
which is where a client gets its credentials, with an API key in the body. Preflights never
get here (app/api/cors.py). ``/metrics`` covers every namespace, so it takes the admin token
(or local open mode).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import Flask, g, request
from werkzeug.exceptions import Forbidden, TooManyRequests, Unauthorized

from app.api.cors import origins
from app.api.ratelimit import RateLimiter
from app.settings import Settings, is_loopback
from graph import tokens
from graph.errors import NotFound
from graph.keys import COLLECT, ApiKeys

PUBLIC_ENDPOINTS = frozenset(
    {
        "health.Health",
        "docs_assets",
        "api-docs.openapi_json",
        "api-docs.openapi_swagger_ui",
        "viewer.view",
        "static",
        "synerise.Login",  # Synerise's login takes an API key in its body (graph/tokens.py)
    }
)
ADMIN_ENDPOINTS = frozenset({"metrics"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# what a collect key may do: send links (and a visitor's profile values) through the rules
COLLECT_ROUTES = frozenset({"/sync", "/visitor", "/synchronous/visitor", "/v1/<ns>/links"})


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

    def may(self, right: str) -> bool:
        return right in self.rights or (right == COLLECT and "write" in self.rights)

    @property
    def collects_only(self) -> bool:
        return self.rights == (COLLECT,)


ADMIN = Caller("admin", None, ("read", "write"))
LOCAL = Caller("local", None, ("read", "write"))


def install_auth(app: Flask, settings: Settings, keys: ApiKeys) -> None:
    token = (settings.admin_token or "").encode()
    limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
    address_rate = settings.address_rate_limit
    by_address = RateLimiter(address_rate, 2 * address_rate)

    def identify() -> Caller:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        presented = presented.strip()
        if scheme.lower() == "bearer" and presented:
            if token and hmac.compare_digest(presented.encode(), token):
                return ADMIN
            store = app.extensions["idgraph.service"].store
            key = keys.authenticate(presented) or tokens.verify(
                store, presented, pepper=settings.admin_token
            )  # an API key, or a session token of Synerise's login standing for one
            if key is None:
                raise Unauthorized("unknown or expired token, or a revoked API key")
            return Caller(key.name, key.namespace, key.rights, key.id)
        in_url = request.args.get("key")
        if in_url is not None:  # navigator.sendBeacon cannot send headers
            key = keys.authenticate(in_url)
            if key is None or key.rights != (COLLECT,):
                raise Unauthorized(
                    "only an active collect key may come as ?key=: a URL ends up in logs; "
                    "send any other key as Authorization: Bearer <key>"
                )
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
            _limit(limiter, caller.key_id, f"API key {caller.name}", settings.rate_limit)
        if caller.collects_only:
            where = f"address {request.remote_addr}"
            _limit(by_address, (caller.key_id, request.remote_addr), where, address_rate)
        namespace = (request.view_args or {}).get("ns")
        if isinstance(namespace, str) and not caller.may_see(namespace):
            raise NotFound(f"namespace {namespace}: not found")
        if request.endpoint in ADMIN_ENDPOINTS and caller.namespace is not None:
            raise Forbidden("this route covers every namespace: it takes the admin token")
        needed = _needed_right()
        if not caller.may(needed):
            rights = " and ".join(caller.rights)
            verb = "write" if needed == COLLECT else needed  # writing includes collecting
            raise Forbidden(f"API key {caller.name} may not {verb}: it may {rights} only")
        origin = request.headers.get("Origin")
        if caller.collects_only and origin and not origins().allows(origin, [caller.namespace]):
            raise Forbidden(
                f"API key {caller.name} collects from the pages namespace "
                f"{caller.namespace} allows (allowed_origins, IDGRAPH_CORS_ORIGINS), "
                f"and {origin} is not one of them"
            )


def _needed_right() -> str:
    if request.method in READ_METHODS:
        return "read"
    rule = request.url_rule.rule if request.url_rule is not None else None
    # a dry run writes nothing, so for a page's key it would be a read in disguise
    dry_run = request.args.get("dry_run", "false").lower() not in {"false", "0", "no", "off"}
    collects = request.method == "POST" and rule in COLLECT_ROUTES and not dry_run
    return COLLECT if collects else "write"


def _limit(limiter: RateLimiter, bucket: object, who: str, rate: float) -> None:
    wait = limiter.wait(bucket)
    if wait:
        raise TooManyRequests(
            f"{who} is over its rate of {rate:g} requests per second; retry after {wait} s",
            retry_after=wait,
        )
