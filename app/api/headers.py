"""Headers every answer carries, so a browser that is handed one cannot be turned against its
user: no content sniffing, no framing, no referrer; for everything but HTML pages a
Content-Security-Policy that allows nothing, and for Swagger UI's page one that allows its own
files and its one inline script (the viewer's page sets its own). Nothing but the static files,
which are the same for everyone, may be stored by a browser or a proxy (``no-store``): answers
carry personal data, and an error can quote it."""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request

EVERY_ANSWER = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
NOT_A_PAGE = "default-src 'none'; frame-ancestors 'none'"
NOT_STORED = "no-store"  # Cache-Control of everything but the static files
CACHEABLE = frozenset({"static", "docs_assets"})  # endpoints of files, the same for everyone
SWAGGER_UI = "api-docs.openapi_swagger_ui"
# Swagger UI's page (flask-smorest's template): its files under /docs/assets/, the OpenAPI
# document and "Try it out" from this origin, icons inlined in its CSS as data: URLs; and the
# inline script that starts it, allowed by its hash. Nothing else: no other script or style, no
# validator badge from validator.swagger.io.
SWAGGER_UI_POLICY = (
    "default-src 'none'; script-src 'self' {scripts}; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)  # no src=: inline


def install_security_headers(app: Flask) -> None:
    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in EVERY_ANSWER.items():
            response.headers.setdefault(name, value)
        if request.endpoint not in CACHEABLE:
            response.headers.setdefault("Cache-Control", NOT_STORED)
        if request.endpoint == SWAGGER_UI and response.status_code == 200:
            policy = swagger_ui_policy(response.get_data(as_text=True))
            response.headers.setdefault("Content-Security-Policy", policy)
        if response.mimetype != "text/html":
            response.headers.setdefault("Content-Security-Policy", NOT_A_PAGE)
        return response


def swagger_ui_policy(page: str) -> str:
    """The policy of Swagger UI's page, with the hashes of the inline scripts it carries. The
    page is rendered from the app's configuration alone, no request input reaches it."""
    hashes = (hashlib.sha256(script.encode()).digest() for script in _INLINE_SCRIPT.findall(page))
    scripts = " ".join(f"'sha256-{base64.b64encode(digest).decode()}'" for digest in hashes)
    return SWAGGER_UI_POLICY.format(scripts=scripts)
