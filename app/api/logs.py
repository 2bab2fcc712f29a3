"""Logs: one JSON object per line on stderr (or text), a request id on every line written while
handling a request, one access line per request, and no identifier value at the default level.

Paths carry emails and phone numbers (``/v1/shop/identifiers/email/ann@example.com``), so no
line names one: the access line names the route's template (``/v1/<ns>/identifiers/<type>/
<path:value>``), gunicorn's access log stays off, and gunicorn's lines that would quote a
request line or a URI keep it out. Exception messages can quote values too (a driver's
constraint error names the key it hit), so below ``debug`` a traceback keeps its frames and
its exceptions' types (and error codes), not their messages. Bodies are never logged.

The formatter is a few lines of the standard library's logging: a dependency
(python-json-logger) would save little and still need the policy above.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request, request_started
from gunicorn import glogging

from app.api import context
from app.api.blueprint import NAMESPACE

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "<unmatched>"
WITHHELD = "<withheld>"
access_log = logging.getLogger("idgraph.access")


# --- formatting ---------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "pid", "message", "request_id"?, ...fields, "exception"?}``"""

    def __init__(self, *, messages_of_exceptions: bool) -> None:
        super().__init__()
        self._messages = messages_of_exceptions

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[1] is not None:
            entry["exception"] = describe_exception(record.exc_info[1], messages=self._messages)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger [request id] message key=value...``, for reading in a terminal."""

    def __init__(self, *, messages_of_exceptions: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s %(message)s%(kv)s")
        self._messages = messages_of_exceptions

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.rid = f" [{rid}]" if rid else ""
        fields = getattr(record, "fields", {})
        record.kv = "".join(f" {name}={value}" for name, value in fields.items())
        record.exc_text = None  # another handler's cached traceback may carry the messages
        return super().format(record)

    def formatException(self, exc_info: Any) -> str:
        return describe_exception(exc_info[1], messages=self._messages)


def describe_exception(error: BaseException, *, messages: bool) -> str:
    """The traceback; without ``messages``, each exception of the chain by its type (and the
    error code a driver gives, e.g. SQLITE_BUSY) instead of its message."""
    if messages:
        return "".join(traceback.format_exception(error)).rstrip()
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        implicit = None if current.__suppress_context__ else current.__context__
        current = current.__cause__ or implicit
    parts = [
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_tb(link.__traceback__))
        + f"{_name_of(link)} (message withheld below debug level)"
        for link in reversed(chain)
    ]
    return "\n\nwhich led to\n\n".join(parts)


def _name_of(error: BaseException) -> str:
    kind = type(error)
    name = kind.__qualname__
    if kind.__module__ != "builtins":
        name = f"{kind.__module__}.{name}"
    codes = [getattr(error, "sqlite_errorname", None), getattr(error, "code", None)]
    named = [code for code in codes if isinstance(code, str) and code]
    return f"{name} [{named[0]}]" if named else name


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is written (tests swap it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> Any:  # type: ignore[override]
        return sys.stderr


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        return True


def configure_logging(level: str, log_format: str) -> None:
    """Send every logger's lines (ours, gunicorn's, libraries') to stderr in ``log_format``;
    idempotent (each create_app calls it)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    messages = level.lower() == "debug"
    handler = _StderrHandler()
    handler.addFilter(_RequestId())
    if log_format == "text":
        handler.setFormatter(TextFormatter(messages_of_exceptions=messages))
    else:
        handler.setFormatter(JsonFormatter(messages_of_exceptions=messages))
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # a library's warning is a line like the others


# --- gunicorn -----------------------------------------------------------------------------


class GunicornLogger(glogging.Logger):
    """gunicorn's lines through the handler configure_logging installed, and its access log
    off: idgraph writes one access line per request itself, naming the route, not the path."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in [h for h in log.handlers if getattr(h, "_gunicorn", False)]:
                log.removeHandler(handler)
        self.error_log.propagate = True
        if not any(isinstance(f, _WithholdRequestLines) for f in self.error_log.filters):
            self.error_log.addFilter(_WithholdRequestLines())

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """Never: a URI carries identifier values."""


class _WithholdRequestLines(logging.Filter):
    """gunicorn quotes the URI of a request whose handling failed, and the request line of a
    request it could not parse (``Invalid request from ip=...: Invalid HTTP request line:
    'GET /v1/shop/identifiers/email/...'``): keep the what, drop the quote."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        if message.startswith("Error handling request %s"):
            record.args = tuple(WITHHELD if "/" in str(a) else a for a in record.args or ())
        elif message.startswith("Invalid request from ip="):
            record.msg = re.sub(r"""['"].*""", WITHHELD, message, flags=re.DOTALL)
            record.args = ()
        return True


# --- requests -----------------------------------------------------------------------------


def install_request_logs(app: Flask) -> None:
    """A request id for every request, echoed in ``X-Request-Id``, and its access line."""
    request_started.connect(_begin, app)
    app.after_request(_end)


def _begin(sender: Flask, **extra: Any) -> None:
    """On Flask's request_started signal, which comes before the url_value_preprocessors
    (they may refuse a bad ``<ns>``) and before every before_request function (auth)."""
    g.request_id = request_id(request.headers.get("X-Request-Id", ""))
    g.request_started = time.perf_counter()


def request_id(sent: str) -> str:
    """The id of a request's lines: the client's ``X-Request-Id`` if it is one, else new."""
    return sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex


def route() -> str:
    """The URL rule's template (``/v1/<ns>/links``), never the path, which carries values."""
    return request.url_rule.rule if request.url_rule is not None else UNMATCHED


def elapsed() -> float:
    """Seconds since the request started."""
    return time.perf_counter() - g.get("request_started", time.perf_counter())


def _end(response: Response) -> Response:
    response.headers["X-Request-Id"] = g.get("request_id", "")
    log_access(
        request.method,
        route(),
        response.status_code,
        elapsed(),
        context.caller(),
        namespace=(request.view_args or {}).get("ns"),
        batch_items=g.get("batch_items"),
    )
    return response


def log_access(
    method: str,
    template: str,
    status: int,
    seconds: float,
    who: str,
    *,
    namespace: object = None,
    batch_items: int | None = None,
    request_id: str | None = None,
) -> None:
    """The access line of a request: its route's template, never its path; the namespace
    only when it is a valid one (a bad one is what a client sent)."""
    fields: dict[str, Any] = {
        "method": method,
        "route": template,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "who": who,
    }
    if isinstance(namespace, str) and NAMESPACE.fullmatch(namespace):
        fields["namespace"] = namespace
    if batch_items is not None:
        fields["batch_items"] = batch_items
    extra: dict[str, Any] = {"fields": fields}
    if request_id is not None:  # outside Flask's request context (app/api/lookups.py)
        extra["request_id"] = request_id
    access_log.info("%s %s %s", method, template, status, extra=extra)
