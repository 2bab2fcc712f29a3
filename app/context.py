"""Access to what create_app built, from inside a request."""

from __future__ import annotations

from flask import current_app

from app.settings import Settings
from graph.service import IdentityService


def service() -> IdentityService:
    return current_app.extensions["idgraph.service"]


def settings() -> Settings:
    return current_app.extensions["idgraph.settings"]


def caller() -> str:
    """Who is calling, as recorded in provenance (bans, ended links, undone merges): the
    admin token, or a loopback client in local open mode."""
    return "admin" if settings().admin_token else "local"
