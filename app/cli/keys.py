"""``idgraph keys``: create, list and revoke API keys in the store ``IDGRAPH_STORE`` names.

``create`` prints the key on stdout, once: only a hash of it is kept, so it cannot be shown
again (revoke it and create another if it is lost).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from app.api.blueprint import check_namespace
from app.settings import Settings, SettingsError
from graph.errors import IdgraphError
from graph.keys import ApiKeys
from graph.store import open_store


@click.group()
def keys() -> None:
    """API keys: one namespace each, with read and/or write rights, or collect alone."""


@keys.command()
@click.option("--namespace", "namespace", required=True, help="the one namespace it works in")
@click.option(
    "--rights",
    default="read,write",
    show_default=True,
    help="read, write or both; or collect alone: a web page's key, which may only send links",
)
@click.option("--name", help="who uses it, recorded as the source of what it writes")
def create(namespace: str, rights: str, name: str | None) -> None:
    """Create a key and print it, once."""
    with _keys() as ring:
        key, text = ring.create(check_namespace(namespace, "namespace"), rights.split(","), name)
    click.echo(
        f"API key {key.id} {key.name!r} for namespace {key.namespace}, may "
        f"{' and '.join(key.rights)}. It is shown once; only its hash is kept:",
        err=True,
    )
    click.echo(text)


@keys.command(name="list")
@click.option("--namespace", "namespace", help="only this namespace's keys")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per key")
def list_keys(namespace: str | None, as_json: bool) -> None:
    """Every key, revoked ones too (never the key itself: it is not kept)."""
    with _keys() as ring:
        found = ring.list(namespace)
    for key in found:
        if as_json:
            click.echo(json.dumps(key.public()))
        else:
            state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
            click.echo(
                f"{key.id}\t{key.namespace}\t{key.name}\t{','.join(key.rights)}\t"
                f"created {key.created_at}\t{state}"
            )


@keys.command()
@click.argument("key_id", type=click.IntRange(min=1))
def revoke(key_id: int) -> None:
    """Revoke a key for good: its next request gets 401, in every process."""
    with _keys() as ring:
        key = ring.revoke(key_id)
    click.echo(f"API key {key.id} {key.name!r} ({key.namespace}) revoked {key.revoked_at}")


@contextmanager
def _keys() -> Iterator[ApiKeys]:
    """The keys of the configured store; a bad setting, an unreachable store or a refused
    request (a bad name, an unknown id) ends the command with its message and status 2."""
    try:
        settings = Settings.from_env()
        store = open_store(settings.store, **settings.store_options)
    except (SettingsError, IdgraphError) as error:
        _fail(error)
    try:
        yield ApiKeys(store)
    except IdgraphError as error:
        _fail(error)
    finally:
        store.close()


def _fail(error: Exception) -> NoReturn:
    click.echo(f"idgraph keys: {error}", err=True)
    sys.exit(2)
