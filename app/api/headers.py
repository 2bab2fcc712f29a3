"""Headers every answer carries, so a browser that is handed one cannot be turned against its
user: no content sniffing, no framing, no referrer, and for everything but HTML pages (which
set their own policy: the viewer, Swagger UI) a Content-Security-Policy that allows nothing."""

from __future__ import annotations

from flask import Flask, Response

EVERY_ANSWER = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
NOT_A_PAGE = "default-src 'none'; frame-ancestors 'none'"


def install_security_headers(app: Flask) -> None:
    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in EVERY_ANSWER.items():
            response.headers.setdefault(name, value)
        if response.mimetype != "text/html":
            response.headers.setdefault("Content-Security-Policy", NOT_A_PAGE)
        return response
