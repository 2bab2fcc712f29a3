"""Access to what create_app built, and to who is calling, from inside a request."""

from __future__ import annotations

from flask import current_app, g

from app.api.auth import Caller
from app.api.cors import touched
from app.settings import Settings
from graph.errors import NotFound
from graph.keys import ApiKeys
from graph.service import IdentityService


def service() -> IdentityService:
    return current_app.extensions["idgraph.service"]


def settings() -> Settings:
    return current_app.extensions["idgraph.settings"]


def keys() -> ApiKeys:
    return current_app.extensions["idgraph.keys"]


def access() -> Caller | None:
    """Who is calling (app/api/auth.py); None on the public routes, which ask no one."""
    return g.get("caller")


def caller() -> str:
    """Who is calling, as recorded in provenance (bans, ended links, undone merges, purges):
    an API key's name, "admin" for the admin token, "local" in local open mode."""
    who = access()
    return who.name if who else "anonymous"


def source(sent: str | None = None) -> str | None:
    """The ``source`` recorded on links: an API key's name, which the caller cannot choose;
    with the admin token or in local open mode, what the request says (or nothing)."""
    who = access()
    return who.name if who and who.key_id is not None else sent


def namespace(name: str) -> str:
    """A namespace the request names in its body or a header, once the caller may use it:
    an API key of another namespace gets 404, as for anything that is not there."""
    who = access()
    if who is not None and not who.may_see(name):
        raise NotFound(f"namespace {name}: not found")
    touched(name)
    return name
