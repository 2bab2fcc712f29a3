"""Who may call: the admin token, or anyone on loopback in local open mode.

With ``IDGRAPH_ADMIN_TOKEN`` set, every request needs ``Authorization: Bearer <token>``
(401 otherwise). Without it the service is in local open mode: it answers loopback clients
only, and ``idgraph serve`` refuses to bind anything but a loopback address.
``/healthz``, ``/openapi.json``, ``/docs``, the lineage viewer's page and ``/static`` stay open
in both modes: they carry no data, and load balancers, Swagger UI and a browser opening the
viewer fetch them without credentials (the viewer's script then sends the token).
"""

from __future__ import annotations

import hmac

from flask import Flask, request
from werkzeug.exceptions import Unauthorized

from app.settings import Settings, is_loopback

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


def install_auth(app: Flask, settings: Settings) -> None:
    token = (settings.admin_token or "").encode()

    @app.before_request
    def authenticate() -> None:
        if request.endpoint in PUBLIC_ENDPOINTS:
            return
        if not token:
            if not is_loopback(request.remote_addr or ""):
                raise Unauthorized("local open mode answers loopback clients only")
            return
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), token):
            raise Unauthorized("send Authorization: Bearer <token>")
