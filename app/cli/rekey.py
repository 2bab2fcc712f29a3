"""``idgraph rekey``: bring a store written before today's rules of identifier types and values
up to them (graph/rekey.py, graph/service/rekeying.py)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from app.cli.migrate import cli_errors
from app.settings import Settings
from graph.errors import StoreError
from graph.model import utc_now

if TYPE_CHECKING:
    from graph.service.rekeying import Rekeying, RekeyReport
    from graph.store.base import Store

_LISTED = 50  # identifiers listed per kind; the rest are counted


@click.command()
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    metavar="NS",
    help="A namespace to re-key; repeat for several (default: every namespace of the store).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Say what would change, each change decided after the ones before it as a run "
    "decides it; change nothing.",
)
def rekey(namespaces: tuple[str, ...], dry_run: bool) -> None:
    """Re-key the identifiers of the configured store (IDGRAPH_STORE, SQLite or Neo4j) that
    today's rules of types and values spell differently or refuse. Run it once on a store
    written before those rules (CHANGELOG.md); it is safe to run again, and while idgraph
    serves.

    \b
    respelled    EMAIL:Bob@x.io is email:bob@x.io: joined to the new spelling as a link of
                 the two would join them (operation rekey, under the namespace's rules),
                 then folded into it with its links, history and attribute writes.
    set aside    refused by today's rules (a bare 'ext' type, an Email that is no email): its
                 type becomes '~' + the old type, which no request can name. It stays in its
                 profile; end its links or purge it if it should go. So is one in no profile
                 (replaced, retired by a merge) whose new spelling is another identifier: it
                 keeps its history, which is not that identifier's.
    refused      the respelling would break a rule (two recognized people, two emails in a
                 profile): the identifier keeps its old key, which no request can name either.
                 End the wrong link (POST /v1/{ns}/links/{id}/end) and run it again.

    Exits 0 when nothing is left refused, 1 otherwise, 2 on a usage or store error (a store
    that is not there: a dry run changes nothing, and a rekey creates no store).
    """
    from app.api.blueprint import check_namespace
    from graph.rules import load_rulebook
    from graph.service.rekeying import Rekeying

    with cli_errors():
        for ns in namespaces:
            check_namespace(ns, "--namespace")
        settings = Settings.from_env()
        store = _open(settings, dry_run)
        try:
            rekeying = Rekeying(store, load_rulebook(settings.rules), utc_now)
            chosen = dict.fromkeys(namespaces) or store.namespaces()
            reports = [_rekey(rekeying, ns, dry_run) for ns in chosen]
        finally:
            store.close()
    refused = sum(report.counts["refused"] for report in reports)
    sys.exit(1 if refused else 0)


def _open(settings: Settings, dry_run: bool) -> Store:
    """The store as it is: a dry run opens it read-only (nothing created, upgraded or locked),
    and a mistyped SQLite path is an error, not a new empty store re-keyed."""
    from graph.store import absent_store, open_store

    if (absent := absent_store(settings.store)) is not None:
        raise StoreError(f"no SQLite store at {absent}")
    return open_store(settings.store, read_only=dry_run, **settings.store_options)


def _rekey(rekeying: Rekeying, namespace: str, dry_run: bool) -> RekeyReport:
    from tqdm import tqdm

    with tqdm(desc=namespace, unit=" ids", file=sys.stderr, dynamic_ncols=True) as bar:
        report = rekeying.rekey(namespace, dry_run=dry_run, on_progress=bar.update)
    verb = "would be" if dry_run else "were"
    counts = report.counts
    click.echo(
        f"{namespace}: {report.scanned} identifiers read; {counts['respelled']} {verb} "
        f"respelled, {counts['set_aside']} {verb} set aside, {counts['refused']} refused"
    )
    respelled = [f"{c.old.key} -> {c.new.key}" for c in report.respelled]
    _list("respelled", respelled, counts["respelled"])
    set_aside = [f"{c.old.key} -> {c.new.key}: {c.reason}" for c in report.set_aside]
    _list("set aside", set_aside, counts["set_aside"])
    refused = [
        f"{c.old.key} -> {c.new.key}: {c.rule}"
        + (f" (profiles {', '.join(map(str, c.profiles))})" if c.profiles else "")
        for c in report.refused
    ]
    _list("refused", refused, counts["refused"])
    return report


def _list(kind: str, lines: list[str], count: int) -> None:
    for line in lines[:_LISTED]:
        click.echo(f"  {kind}: {line}")
    if count > _LISTED:
        click.echo(f"  {kind}: ... and {count - _LISTED} more")
