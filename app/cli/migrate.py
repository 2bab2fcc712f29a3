"""``idgraph migrate`` (SQLite to Neo4j, resumable, verified) and ``idgraph export``.

The modules doing the work (and the driver, networkx, tqdm) are imported when a command runs:
every other ``idgraph`` command starts without them.
"""

from __future__ import annotations

import errno
import shlex
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.settings import Settings, SettingsError
from graph.errors import IdgraphError
from graph.store import open_store

if TYPE_CHECKING:
    from graph.store.neo4j.store import Neo4jStore
    from graph.store.sqlite.store import SqliteStore
    from graph.transfer.export import Progress as ExportProgress
    from graph.transfer.migrate import Progress
    from graph.transfer.verify import Verification

_SQLITE = "sqlite:///"
_LISTED = 50  # differences printed; the rest are counted


@click.command()
@click.option(
    "--to",
    "target_url",
    required=True,
    metavar="URL",
    help="The Neo4j 5 server: neo4j://host:7687 or bolt://host:7687; NEO4J_USER, "
    "NEO4J_PASSWORD and NEO4J_DATABASE apply.",
)
@click.option(
    "--from",
    "source_url",
    metavar="URL",
    help="The SQLite store: sqlite:///path.db (default: IDGRAPH_STORE).",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="Rows per transaction.",
)
@click.option("--verify-only", is_flag=True, help="Compare the copy with its source; copy nothing.")
@click.option(
    "--sample",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Random profiles per namespace compared view by view (the largest is added).",
)
def migrate(
    target_url: str, source_url: str | None, batch: int, verify_only: bool, sample: int
) -> None:
    """Copy an embedded SQLite store into Neo4j, then verify the copy.

    Everything is copied: profiles and their aliases, identifiers, links (ended ones too),
    merges, attribute writes, conflicts, applied requests, the history time travel reads
    (placements, attribute versions), bans and the id sequences, so idgraph
    goes on where it stopped with IDGRAPH_STORE pointing at Neo4j. Stop every writer of the
    SQLite store first. The target must be empty (an idgraph store opened on it, its schema
    and sequences, is): a target holding anything else, an API key or a purge's audit row
    say, is refused, since the copy would overwrite what shares an id with the source. An
    interrupted migration resumes where it stopped when run again with the same --from.
    Verification compares counts of each kind per namespace and a sample of profiles on
    both sides; it exits 1, listing the differences, if they differ.
    """
    from graph.store.neo4j.store import Neo4jStore, url_problem
    from graph.store.sqlite.store import SqliteStore
    from graph.transfer.verify import verify

    with cli_errors():
        if problem := url_problem(target_url):
            raise click.UsageError(f"--to {target_url!r}: {problem}")
        settings = Settings.from_env()
        source_url = _sqlite_url(source_url or settings.store)
        with closing(SqliteStore.from_url(source_url, read_only=True)) as source:
            target = Neo4jStore(target_url, **settings.store_options)
            try:
                if not verify_only:
                    _copy(source, target, batch)
                click.echo(f"verifying {target_url} against {source.path} ...", err=True)
                result = verify(source, target, sample=sample)
            finally:
                target.close()
    _report(result)
    sys.exit(0 if result.ok else 1)


def _sqlite_url(url: str) -> str:
    if not url.startswith(_SQLITE) or len(url) == len(_SQLITE):
        raise click.UsageError(
            f"cannot migrate from {url!r}: --from (or IDGRAPH_STORE) must be sqlite:///path.db"
        )
    return url


def _copy(source: SqliteStore, target: Neo4jStore, batch: int) -> None:
    """Copy with progress bars; a copy that stops midway says how to resume it."""
    from graph.transfer.migrate import TargetNotEmpty
    from graph.transfer.migrate import migrate as copy_store

    bars = _Bars(width=16)

    def progress(step: Progress) -> None:
        bars.show(step.table, step.done, step.total, "rows")

    try:
        copy_store(source, target, batch=batch, progress=progress)
    except TargetNotEmpty:
        raise
    except (KeyboardInterrupt, IdgraphError) as error:
        bars.close()
        if isinstance(error, IdgraphError):
            click.echo(f"idgraph: {error}", err=True)
        click.echo("the copy stopped: run the same command again to resume", err=True)
        sys.exit(130 if isinstance(error, KeyboardInterrupt) else 2)
    bars.close()


class _Bars:
    """One tqdm bar per step (a table, a namespace's links...) on stderr, a new step closing
    the one before; a bar starts where its step stands (a resumed table)."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.bar: Any = None  # a tqdm bar
        self.step: str | None = None

    def show(self, step: str, done: int, total: int | None, unit: str) -> None:
        from tqdm import tqdm

        if step != self.step:
            self.close()
            self.step = step
            self.bar = tqdm(
                desc=f"{step:<{self.width}}",
                total=total,
                initial=done,
                unit=f" {unit}",
                file=sys.stderr,
                dynamic_ncols=True,
            )
            return
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _report(result: Verification) -> None:
    rows = [("namespace", "kind", "SQLite", "Neo4j", "")] + [
        (c.namespace, c.kind, str(c.sqlite), str(c.neo4j), "" if c.sqlite == c.neo4j else "<>")
        for c in result.counts
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for ns, kind, a, b, mark in rows:
        line = f"{ns:<{widths[0]}}  {kind:<{widths[1]}}  {a:>{widths[2]}}  {b:>{widths[3]}}"
        click.echo(f"{line}  {mark}".rstrip())
    click.echo(f"profiles compared view by view: {result.sampled}")
    if result.ok:
        click.echo("verified: the copy matches its source")
        return
    click.echo(f"{len(result.differences)} differences:")
    for difference in result.differences[:_LISTED]:
        click.echo(f"  {difference}")
    if len(result.differences) > _LISTED:
        click.echo(f"  ... and {len(result.differences) - _LISTED} more")


@click.command()
@click.option(
    "--format",
    "format_",
    type=click.Choice(["graphml", "csv"]),
    required=True,
    help="graphml: one file; csv: a folder for neo4j-admin.",
)
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    required=True,
    help="A namespace to export; repeat for several.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="The GraphML file, or the folder the CSV files are written into.",
)
def export(format_: str, namespaces: tuple[str, ...], out: Path) -> None:
    """Export identifiers and links of the configured store (IDGRAPH_STORE, SQLite or Neo4j).

    \b
    --format graphml: one GraphML file. Nodes are identifiers (ns, key, type, value,
      profile_id; none for an identifier in no profile), edges are links with their
      provenance (id, operation, source, request_id, item_index, merge_id, created_at),
      ended links too, with ended_at, end_reason and ended_request_id. A string holding
      characters XML 1.0 does not allow is written escaped, named in the element's
      'escaped' attribute (docs/storage.md).
    --format csv: a folder of files with neo4j-admin headers; node ids are <ns>/<key>
      (identifiers) and <ns>/<id> (profiles), unique across namespaces:
      identifiers.csv  one row per identifier (label Identifier)
      profiles.csv     one row per live profile holding identifiers: recognized, times,
                       attributes as JSON {name: value}, aliases (label Profile)
      member_of.csv    identifier -> its profile (type MEMBER_OF)
      links.csv        identifier -> identifier, every link with its provenance, ended
                       ones too (type LINKED)
      Import them with (Neo4j 5.19+ reads the database ahead of the named arguments;
      a value may hold a line break, an end reason say, written as it is):
      neo4j-admin database import full <database> --nodes=identifiers.csv
      --nodes=profiles.csv --relationships=member_of.csv --relationships=links.csv
      --multiline-fields=true
    Each file is written under a temporary name beside its own (.partial-*) and renamed
    to it once the export is complete: one stopped midway leaves an earlier one as it was.
    """
    from app.api.blueprint import check_namespace
    from graph.transfer.export import export_csv, export_graphml

    with cli_errors():
        for ns in namespaces:  # a valid one holds no '/': node ids stay unique
            check_namespace(ns, "--namespace")
        _check_out(format_, out)
        settings = Settings.from_env()
        store = open_store(settings.store, read_only=True, **settings.store_options)
        bars = _Bars(width=20)

        def progress(step: ExportProgress) -> None:
            bars.show(step.step, step.done, step.total, step.unit)

        try:
            if format_ == "graphml":
                written = export_graphml(store, namespaces, out, progress=progress)
                summary = f"{written['nodes']} identifiers, {written['edges']} links"
            else:
                written = export_csv(store, namespaces, out, progress=progress)
                summary = ", ".join(f"{name}: {rows} rows" for name, rows in written.items())
        finally:
            bars.close()
            store.close()
    click.echo(f"wrote {out}: {summary}")
    if format_ == "graphml" and written["escaped"]:
        click.echo(
            f"idgraph: {written['escaped']} identifiers or links hold characters XML 1.0 does "
            "not allow, written escaped and named in their 'escaped' attribute "
            '(docs/storage.md, "Exporting")',
            err=True,
        )
    if format_ == "csv":
        click.echo(_import_command(out))


def _check_out(format_: str, out: Path) -> None:
    """Refuse an --out the export cannot write before the store is read, not after."""
    if format_ == "graphml" and out.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder; --format graphml writes a file", out)
    if format_ == "csv" and out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "is a file; --format csv writes a folder", out)


def _import_command(folder: Path) -> str:
    """neo4j-admin's command for the folder, as a shell reads it: the database comes ahead of
    the named arguments (Neo4j 5.19 on reads one after them as one more file), and values
    may hold line breaks (an end reason, an undo's reason): --multiline-fields=true keeps
    them as they are, where escaping them would change the values imported."""
    nodes = [f"--nodes={folder / name}" for name in ("identifiers.csv", "profiles.csv")]
    links = [f"--relationships={folder / name}" for name in ("member_of.csv", "links.csv")]
    arguments = shlex.join([*nodes, *links, "--multiline-fields=true"])
    return f"import with: neo4j-admin database import full <database> {arguments}"


@contextmanager
def cli_errors() -> Iterator[None]:
    """A configuration or store problem, or a file that cannot be written, is one line on
    stderr and exit status 2."""
    try:
        yield
    except (SettingsError, IdgraphError) as error:
        click.echo(f"idgraph: {error}", err=True)
        sys.exit(2)
    except OSError as error:
        where = f"{error.filename}: " if error.filename is not None else ""
        click.echo(f"idgraph: {where}{error.strerror or error}", err=True)
        sys.exit(2)
