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
  (``idgraph serve`` refuses to bind anything else; ``is_local``: not a request a proxy
  forwarded), and a request without credentials has every right, so a browser on this
  machine must not lend it to another site's page: only requests whose Host is this machine
  (no DNS rebinding), and writes from no other ``Origin``. API keys work in both modes.

Checks, in this order, before any view runs:

1. 429 with ``Retry-After`` when the client's address got ``FAILED_CREDENTIALS`` credentials
   wrong within ``FAILURE_WINDOW``, before anything it sends is hashed (``guarded``); 401
   without valid credentials.
2. 429 with ``Retry-After`` when an API key is over its rate (app/api/ratelimit.py), or a
   collect key's client address (an IPv4 address or an IPv6 /64) is over its own; the latter
   is checked first and takes nothing of the key's rate.
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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from werkzeug.exceptions import Forbidden, TooManyRequests, Unauthorized

from app.api.cors import origins
from app.api.ratelimit import FailedCredentials, RateLimiter, client_of
from app.settings import Settings, is_loopback
from graph import tokens
from graph.errors import NotFound
from graph.keys import COLLECT, ApiKey, ApiKeys, HashingBusy

T = TypeVar("T")

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
# credentials a client address may get wrong (in all processes) within the window: plenty for
# typos and a misconfigured client, while a guesser costs the server at most that many scrypts
# (about 50 ms of a core each) a minute; a client is an IPv4 address or an IPv6 /64
FAILED_CREDENTIALS = 10
FAILURE_WINDOW = 60.0  # seconds; the budget refills evenly over it
FAILURES = "idgraph.failed_credentials"
KEY_RATES = "idgraph.key_rates"


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
    share = settings.processes  # each process takes its share of every rate (app/cli/serve.py)
    limiter = RateLimiter(settings.rate_limit / share, max(1, settings.rate_burst // share))
    address_rate = settings.address_rate_limit
    by_address = RateLimiter(address_rate / share, 2 * address_rate / share)
    app.extensions[FAILURES] = FailedCredentials(FAILED_CREDENTIALS, FAILURE_WINDOW, share)
    app.extensions[KEY_RATES] = limiter

    def session(presented: str) -> ApiKey | None:
        """The key a session token of Synerise's login stands for (graph/tokens.py)."""
        store = app.extensions["idgraph.service"].store
        return tokens.verify(store, presented, pepper=settings.admin_token)

    def bearer(presented: str) -> Caller | None:
        if token and hmac.compare_digest(presented.encode(), token):
            return ADMIN
        return _caller_of(keys.authenticate(presented) or session(presented))

    def identify() -> Caller:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        presented = presented.strip()
        if scheme.lower() == "bearer" and presented:
            # neither a verified key nor a session token costs a scrypt or can be guessed
            caller = guarded(
                presented, bearer, lambda text: _caller_of(keys.verified(text) or session(text))
            )
            if caller is None:
                raise Unauthorized("unknown or expired token, or a revoked API key")
            return caller
        in_url = request.args.get("key")
        if in_url is not None:  # navigator.sendBeacon cannot send headers
            key = guarded(
                in_url,
                lambda text: _collect_only(keys.authenticate(text)),
                lambda text: _collect_only(keys.verified(text)),
            )
            if key is None:
                raise Unauthorized(
                    "only an active collect key may come as ?key=: a URL ends up in logs; "
                    "send any other key as Authorization: Bearer <key>"
                )
            return Caller(key.name, key.namespace, key.rights, key.id)
        if token:
            raise Unauthorized("send Authorization: Bearer <token>")
        forwarded = ",".join(request.headers.getlist("X-Forwarded-For"))
        if "Forwarded" in request.headers or not is_local(
            request.remote_addr or "", forwarded, settings.proxies
        ):
            raise Unauthorized(
                "local open mode answers loopback clients only, not one a proxy forwarded: "
                "set IDGRAPH_ADMIN_TOKEN to serve others"
            )
        if not addressed_here(request.host):
            raise Forbidden(
                f"local open mode answers requests for this machine only, and Host is "
                f"{request.host!r}: use localhost, 127.0.0.1 or [::1]"
            )
        origin = request.headers.get("Origin")
        if request.method not in READ_METHODS and not _same_origin(origin, request.host):
            raise Forbidden(
                f"local open mode takes writes from its own pages only, not from a page of "
                f"origin {origin}: send an API key, or the admin token"
            )
        return LOCAL

    @app.before_request
    def authorize() -> None:
        if request.endpoint in PUBLIC_ENDPOINTS:
            return
        caller = g.caller = identify()
        visitor = None  # a collect key's client: first, so that one over its rate spends
        if caller.collects_only:  # none of the page's
            address = client_address()
            visitor = (caller.key_id, client_of(address))
            _limit(by_address, visitor, f"address {address}", address_rate)
        if caller.key_id is not None:
            try:
                _limit(limiter, caller.key_id, f"API key {caller.name}", settings.rate_limit)
            except TooManyRequests:
                if visitor is not None:
                    by_address.give_back(visitor)
                raise
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


def proven_caller(
    authorization: str | None,
    peer: str,
    forwarded: str,
    host: str,
    settings: Settings,
    keys: ApiKeys,
    failures: FailedCredentials,
) -> Caller | None:
    """Who a request is from, as ``identify`` would name it, when that needs no scrypt: an API
    key this process has verified before (still active), which ``guarded`` lets through its
    throttle; the admin token, but only while the client's address may have a credential
    checked (``guarded`` takes a token of its throttle before comparing, so that a guess of
    the token is throttled like any other); or, in local open mode, a loopback client sending
    no credentials. None when only ``identify`` can tell: any other credential, a key in the
    URL, a throttled address, or no credentials where they are needed. ``peer`` is the
    socket's address, ``forwarded`` the X-Forwarded-For header, ``host`` the Host header (it
    is a read: no ``Origin`` to check)."""
    if authorization is None:
        local = is_local(peer, forwarded, settings.proxies) and addressed_here(host)
        return LOCAL if settings.open_mode and local else None
    scheme, _, presented = authorization.partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        return None
    key = _caller_of(keys.verified(presented))
    if key is not None:
        return key
    token = (settings.admin_token or "").encode()
    if not token or not failures.admits(address_of(peer, forwarded, settings.proxies)):
        return None
    return ADMIN if hmac.compare_digest(presented.encode(), token) else None


def guarded(
    presented: str, check: Callable[[str], T | None], proven: Callable[[str], T | None]
) -> T | None:
    """``check(presented)``, a credential check, under the throttle of failed credentials of
    this request's client address; its None is a failure, unless ``presented`` is a real key
    (revoked, or where it may not come: ``ApiKeys.known``). Once the address has failed
    FAILED_CREDENTIALS times within FAILURE_WINDOW, 429 with Retry-After before anything is
    hashed, unless ``proven(presented)``: a credential shown to be right before, which costs no
    scrypt and which no guess can hit, so that clients sharing an address with a guesser (behind
    one proxy or NAT) keep working. 429 too, not counted, when the check would need a scrypt
    that this process may not compute now (graph/keys.py)."""
    failures: FailedCredentials = current_app.extensions[FAILURES]
    address = client_address()
    wait = failures.attempt(address)
    if wait:
        found = proven(presented)
        if found is None:
            raise TooManyRequests(
                f"address {address} got too many credentials wrong: at most "
                f"{failures.most} in {failures.seconds:g} s; retry after {wait} s",
                retry_after=wait,
            )
        return found
    try:
        found = check(presented)
    except HashingBusy:
        failures.refund(address)  # nothing was checked
        raise TooManyRequests(
            "the server is checking other credentials; retry after 1 s", retry_after=1
        ) from None
    keys: ApiKeys = current_app.extensions["idgraph.keys"]
    if found is not None or keys.known(presented):  # right, or a real key revoked or misplaced
        failures.refund(address)
    return found


def authenticated_key(presented: str) -> ApiKey | None:
    """The active API key this text is, or None, checked as every credential is (``guarded``):
    for a view that takes a key in its body, Synerise's login."""
    keys: ApiKeys = current_app.extensions["idgraph.keys"]
    return guarded(presented, keys.authenticate, keys.verified)


def addressed_here(host: str) -> bool:
    """Whether a request's Host names this machine (a loopback name or address). A browser
    sends the name of the site whose page made the request: a hostile site whose name
    resolves to 127.0.0.1 (DNS rebinding) is refused in local open mode, where a request
    without credentials has every right."""
    try:
        return is_loopback(urlsplit(f"//{host}").hostname or "")
    except ValueError:  # a malformed Host: "[::1"
        return False


def _same_origin(origin: str | None, host: str) -> bool:
    """Whether a browser's ``Origin`` is this server's own (the lineage viewer's page): a
    browser sends a page's write to loopback with no preflight when it is a form or
    text/plain, so in local open mode another site's page could undo merges and purge. No
    ``Origin``: no browser's cross-origin request."""
    if origin is None:
        return True
    try:
        return urlsplit(origin).netloc.lower() == host.lower()
    except ValueError:
        return False


def is_local(peer: str, forwarded: str, proxies: int) -> bool:
    """Whether a request from ``peer`` with this X-Forwarded-For comes from this machine, as
    local open mode asks: the peer is loopback and no proxy forwarded it, or the client behind
    ``IDGRAPH_PROXIES`` proxies is loopback too. A reverse proxy on this machine makes every
    client's peer loopback, declared or not; what it forwards is not local."""
    if not is_loopback(peer):
        return False
    if not proxies:
        return not forwarded.strip()
    return is_loopback(address_of(peer, forwarded, proxies))


def client_address() -> str:
    """Who the per-address limits count: the peer, or behind ``IDGRAPH_PROXIES`` reverse
    proxies, the address the outermost was called from, which is as many entries from the end
    of X-Forwarded-For (what a client wrote there itself comes before)."""
    proxies = current_app.extensions["idgraph.settings"].proxies
    forwarded = ",".join(request.headers.getlist("X-Forwarded-For"))
    return address_of(request.remote_addr or "", forwarded, proxies)


def address_of(peer: str, forwarded: str, proxies: int) -> str:
    """``client_address`` of a request from ``peer`` with this X-Forwarded-For."""
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if proxies and len(hops) >= proxies:
        return hops[-proxies]
    return peer


def _caller_of(key: ApiKey | None) -> Caller | None:
    return None if key is None else Caller(key.name, key.namespace, key.rights, key.id)


def _collect_only(key: ApiKey | None) -> ApiKey | None:
    """A key that may come as ?key=; any other key there fails, as a wrong one does."""
    return key if key is not None and key.rights == (COLLECT,) else None


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
