"""Every setting idgraph reads, declared once with its default and a one-line help.

All come from the environment; the configuration table of docs/operations.md lists the same
names (a test checks that it does).
"""

from __future__ import annotations

import functools
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from graph.errors import RulesError
from graph.rules import parse_origin
from graph.store import is_neo4j_url


@dataclass(frozen=True, slots=True)
class Setting:
    env: str
    field: str
    help: str
    parse: Callable[[str], Any] = str

    @property
    def default(self) -> Any:
        return Settings.__dataclass_fields__[self.field].default


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "IDGRAPH_STORE",
        "store",
        "Where the graph lives: sqlite:///relative/path.db, sqlite:////absolute/path.db, "
        "or a Neo4j 5 server: neo4j://host:7687 (also bolt://, neo4j+s://, bolt+s://).",
        lambda raw: _store_url(raw),
    ),
    Setting("NEO4J_USER", "neo4j_user", "User for a Neo4j store."),
    Setting("NEO4J_PASSWORD", "neo4j_password", "Password for a Neo4j store (unset: no auth)."),
    Setting("NEO4J_DATABASE", "neo4j_database", "Database of a Neo4j store."),
    Setting(
        "IDGRAPH_RULES",
        "rules",
        "A TOML or JSON rules file overriding the identity rules, per namespace.",
    ),
    Setting("HOST", "host", "Address `idgraph serve` binds to."),
    Setting("PORT", "port", "Port `idgraph serve` listens on.", int),
    Setting(
        "IDGRAPH_ADMIN_TOKEN",
        "admin_token",
        "Bearer token with every right. Unset: local open mode, loopback addresses only.",
    ),
    Setting(
        "IDGRAPH_MAX_BODY_BYTES",
        "max_body_bytes",
        "Largest request body accepted; larger ones get 413.",
        int,
    ),
    Setting(
        "IDGRAPH_MAX_BATCH_ITEMS",
        "max_batch_items",
        "Most items in one batch; more gets 400.",
        int,
    ),
    Setting(
        "IDGRAPH_RATE_LIMIT",
        "rate_limit",
        "Requests per second each API key may make, on average (0: no limit); more get 429. "
        "The admin token is not limited.",
        float,
    ),
    Setting(
        "IDGRAPH_RATE_BURST",
        "rate_burst",
        "Requests an API key may make at once above its rate (the token bucket's size).",
        int,
    ),
    Setting(
        "IDGRAPH_CORS_ORIGINS",
        "cors_origins",
        "Web pages (scheme://host[:port], comma-separated) that may call every namespace from "
        "a browser; per namespace, allowed_origins in the rules file. Default: none.",
        lambda raw: _origins(raw),
    ),
    Setting(
        "IDGRAPH_ADDRESS_RATE_LIMIT",
        "address_rate_limit",
        "Requests per second a collect key may make from one client address (0: no limit), "
        "besides the key's own rate: one visitor cannot spend a page's whole budget.",
        float,
    ),
    Setting(
        "IDGRAPH_PROXIES",
        "proxies",
        "Reverse proxies in front of idgraph, each adding to X-Forwarded-For the address it was "
        "called from (0: none, the peer is the client): the limits per client address count "
        "the address the outermost one saw.",
        lambda raw: _count(raw),
    ),
    Setting("IDGRAPH_WORKERS", "workers", "Processes of `idgraph serve`.", int),
    Setting(
        "IDGRAPH_THREADS",
        "threads",
        "Request threads per process of `idgraph serve` (unset: 2 on SQLite, 8 on Neo4j).",
        int,
    ),
    Setting(
        "IDGRAPH_WRITER",
        "writer",
        "Where `idgraph serve` plans and writes link batches: process (a child of each worker, "
        "so that lookups do not wait behind them) or inline (in the request's thread). Unset: "
        "process on SQLite, inline on Neo4j.",
        lambda raw: _one_of(raw, "process", "inline"),
    ),
    Setting(
        "IDGRAPH_HEADER_TIMEOUT",
        "header_timeout",
        "Seconds a client may take to send a request's head (its line and headers); slower "
        "ones get 408 and are closed.",
        lambda raw: _seconds(raw),
    ),
    Setting(
        "IDGRAPH_BODY_TIMEOUT",
        "body_timeout",
        "Seconds a client may take to send a request body, plus one per 16 KiB received "
        "(slower ones get 408 and are closed); also the longest a thread waits on a client "
        "that does not read its answer.",
        lambda raw: _seconds(raw),
    ),
    Setting("IDGRAPH_LOG_LEVEL", "log_level", "debug, info, warning or error."),
    Setting(
        "IDGRAPH_LOG_FORMAT",
        "log_format",
        "json (one object per line) or text. Either way no line carries an identifier value "
        "below debug level.",
        lambda raw: _one_of(raw, "json", "text"),
    ),
)


class SettingsError(ValueError):
    """A setting with a value that cannot be used; start-up stops with this message."""


@dataclass(frozen=True, slots=True)
class Settings:
    """The defaults of every setting; SETTINGS says where each comes from."""

    store: str = "sqlite:///var/idgraph.db"
    neo4j_user: str = "neo4j"
    neo4j_password: str | None = None
    neo4j_database: str = "neo4j"
    rules: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    admin_token: str | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    max_batch_items: int = 10_000
    rate_limit: float = 200.0
    rate_burst: int = 400
    cors_origins: tuple[str, ...] = ()
    address_rate_limit: float = 5.0
    proxies: int = 0
    workers: int = 2
    threads: int | None = None  # None: by store, see app/cli/serve.py
    writer: str | None = None  # None: by store under `idgraph serve`, else inline
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    log_level: str = "info"
    log_format: str = "json"
    # not read from the environment: how many processes share the rates above, each keeping
    # its own buckets and taking its share of them (app/api/auth.py); `idgraph serve` sets
    # it to its workers. The rates stay the configured figures, which the 429s name.
    processes: int = 1

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = environ.get(setting.env)
            if raw is None or raw == "":
                continue
            try:
                values[setting.field] = setting.parse(raw)
            except ValueError as error:
                raise SettingsError(f"{setting.env}={raw!r}: {error}") from error
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)

    @property
    def store_options(self) -> dict[str, Any]:
        """What open_store needs besides the URL (used by a Neo4j URL only)."""
        return {
            "user": self.neo4j_user,
            "password": self.neo4j_password,
            "database": self.neo4j_database,
        }

    @property
    def open_mode(self) -> bool:
        """No admin token: unauthenticated requests, accepted from loopback only."""
        return not self.admin_token


def _store_url(raw: str) -> str:
    """A Neo4j URL is checked here, before any command connects: a malformed one is a setting
    to fix, not the driver's traceback. A SQLite URL is checked when the store opens."""
    if is_neo4j_url(raw):
        from graph.store.neo4j.store import url_problem  # the driver: this store needs it

        if problem := url_problem(raw):
            raise ValueError(problem)
    return raw


def _one_of(raw: str, *choices: str) -> str:
    value = raw.strip().lower()
    if value not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}")
    return value


def _seconds(raw: str) -> float:
    value = float(raw)
    if not 0 < value < float("inf"):
        raise ValueError("expected a number of seconds above 0")
    return value


def _count(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected 0 or more")
    return value


def _origins(raw: str) -> tuple[str, ...]:
    try:
        return tuple(parse_origin(part, "origin") for part in raw.split(",") if part.strip())
    except RulesError as error:
        raise ValueError(str(error)) from error


@functools.lru_cache(maxsize=1024)  # asked per request in local open mode (app/api/auth.py)
def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_NOT_SETTINGS = {"processes"}
assert {s.field for s in SETTINGS} == {f.name for f in fields(Settings)} - _NOT_SETTINGS, (
    "declare settings once"
)
