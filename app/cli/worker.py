"""gunicorn's threaded worker, with gunicorn's own error answers in the one error shape.

gunicorn refuses some requests before the app sees them: a request line longer than
``limit_request_line`` (4,094 bytes) is a 414, too many or too large headers a 431, a request
line or header it cannot parse a 400. It answers those with an HTML page of its own; this
worker answers ``{"error": {"code", "message", "details"}}`` instead, as every route does.

Serve with ``worker_class = "app.cli.worker.JsonErrorThreadWorker"`` (gunicorn's gthread).
"""

from __future__ import annotations

import json
import re
import socket

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error``, answering JSON: code from the reason phrase
    (``URI Too Long`` -> ``uri_too_long``), message gunicorn's own."""
    code = re.sub(r"\W+", "_", reason.lower()).strip("_")
    error = {"code": code, "message": mesg or reason, "details": {}}
    body = json.dumps({"error": error}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


class JsonErrorThreadWorker(ThreadWorker):
    def init_process(self) -> None:
        util.write_error = write_json_error  # this process serves idgraph and nothing else
        super().init_process()
