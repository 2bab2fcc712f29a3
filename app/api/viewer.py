"""The lineage viewer: one HTML page per profile that draws its graph in the browser.

The page carries no data: its script fetches the lineage from the JSON API with the caller's
token, so the page itself is public. It loads only same-origin scripts and styles (the graph
library is vendored under static/vendor by tools/vendor_viewer.sh), and the headers below
forbid everything else.
"""

from __future__ import annotations

from flask import Blueprint, Response, make_response, render_template

from app.api.blueprint import check_namespace_in_path
from app.api.history import number

blp = Blueprint("viewer", __name__)
blp.url_value_preprocessor(check_namespace_in_path)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@blp.get("/v1/<ns>/profiles/<profile_id>/view")
def view(ns: str, profile_id: str) -> Response:
    """The viewer page of a profile: its identifiers, links and their history."""
    pid = number(profile_id, "profile_id")
    response = make_response(render_template("viewer.html", ns=ns, profile_id=pid))
    response.headers.update(SECURITY_HEADERS)
    return response
