"""Access to what create_app built, from inside a request."""

from __future__ import annotations

from flask import current_app

from app.settings import Settings
from graph.service import IdentityService


def service() -> IdentityService:
    return current_app.extensions["idgraph.service"]


def settings() -> Settings:
    return current_app.extensions["idgraph.settings"]
