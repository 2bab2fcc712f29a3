"""``idgraph import``: a backfill from a file into the configured store, with the rules of
``POST /v1/{ns}/links``. app/cli/import_files.py reads the file (JSON Lines or CSV, gzipped or
not, or standard input) into numbered lines; graph/service/importing.py applies them.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from app.cli.ahead import ahead
from app.cli.import_files import CsvFile, jsonl_lines, opened, parsed
from app.cli.migrate import cli_errors
from app.settings import Settings
from graph.model import utc_now
from graph.store import absent_store, is_neo4j_url, open_store

if TYPE_CHECKING:
    from graph.rules import RuleBook
    from graph.service.importing import Chunk, ImportOptions, ImportReport, Line, Parse
    from graph.store.base import Store

CHUNK = 20_000  # lines per transaction on SQLite; larger ones stop paying (benchmarks/README.md)
NEO4J_CHUNK = 1_000  # as fast as 2,000-4,000 there; 20,000 outgrew a 512 MB heap
# A chunk also ends once its lines hold this many bytes, ~5x what 20,000 (1,000) lines of the
# ingest workload hold (3.5 MB, 0.18 MB), so that a file of long lines cannot fill the memory.
CHUNK_BYTES, NEO4J_CHUNK_BYTES = 16 << 20, 1 << 20
# Between chunks the store's write lock is left free this long, so that the server's writers
# waiting for it get their turn: a file lock is not fair, and with the next chunk read ahead
# this process would take it again before a waiting process is even scheduled.
YIELD_SECONDS = 0.005
_LISTED = 50  # bad lines printed; the report keeps more


@click.command("import")
@click.option("--namespace", required=True, metavar="NS", help="The namespace to import into.")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["jsonl", "csv"]),
    help="jsonl or csv (default: csv for a name ending .csv or .csv.gz, else jsonl).",
)
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="COL=TYPE",
    help="CSV: column COL holds identifiers of TYPE; repeat, anchor first. Other columns "
    "are attributes.",
)
@click.option(
    "--source",
    help="Provenance's source, 1 to 128 characters (default: the file's name; stdin for -).",
)
@click.option(
    "--dry-run", is_flag=True, help="Read and check every line; open the store read-only."
)
@click.option("--strict", is_flag=True, help="Stop at the first bad line (default: skip it).")
@click.option(
    "--chunk",
    type=click.IntRange(1, 100_000),
    help=f"Lines per transaction (default: {CHUNK:,} on SQLite, {NEO4J_CHUNK:,} on Neo4j, "
    "whose transactions hold their changes in its heap).",
)
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
def import_(
    namespace: str,
    format_: str | None,
    columns: tuple[str, ...],
    source: str | None,
    dry_run: bool,
    strict: bool,
    chunk: int | None,
    path: Path,
) -> None:
    """Import link items from PATH (a file, gzipped or not, or - for standard input) into
    namespace NS of the configured store (IDGRAPH_STORE, SQLite or Neo4j).

    Each item is decided as POST /v1/{ns}/links decides it, in file order: the same
    normalization, rules and conflicts, and the same profiles and history. Provenance is
    operation 'import', the source, and the line number as the item's index.

    \b
    A chunk of lines commits at once, with a marker of its lines: run the same command again
    after a crash or Ctrl-C and it goes on after the last chunk committed, no line applied
    twice. Bad lines are skipped and listed with their reason (--strict: stop at the first).
    Exits 0 when every line was imported, 1 when some were bad, 2 on a usage or store error.
    """
    from app.api.blueprint import check_namespace
    from graph.service.importing import BadLine, ImportOptions

    stdin = str(path) == "-"
    format_ = format_ or ("csv" if path.name.endswith((".csv", ".csv.gz")) else "jsonl")
    identifier_columns = _columns(columns, format_)
    options = ImportOptions(
        namespace=namespace,
        source=_source(source, "stdin" if stdin else path.name),
        fingerprint=f"{format_} {' '.join(columns)}",
        min_identifiers=1 if format_ == "csv" else 2,
        strict=strict,
        dry_run=dry_run,
    )
    with cli_errors():
        check_namespace(namespace, "--namespace")
        settings = Settings.from_env()
        neo4j = is_neo4j_url(settings.store)
        options = replace(
            options,
            chunk=chunk or (NEO4J_CHUNK if neo4j else CHUNK),
            chunk_bytes=NEO4J_CHUNK_BYTES if neo4j else CHUNK_BYTES,
        )
        with opened(path) as (stream, size), _store_to_check(settings, options) as settings:
            try:
                if format_ == "csv":  # its rows are items as read
                    csv_file = CsvFile(stream, identifier_columns)
                    lines, parse = csv_file.lines(), None
                    options = replace(options, layout=csv_file.layout)
                else:
                    lines, parse = jsonl_lines(stream), parsed
                report, seconds = _run(settings, lines, parse, options, stream, size)
            except BadLine as bad:
                click.echo(f"idgraph: {bad}", err=True)
                sys.exit(1)
            except KeyboardInterrupt:
                click.echo("stopped: run the same command again to go on", err=True)
                sys.exit(130)
            except (OSError, EOFError, zlib.error) as error:  # a truncated or broken gzip too
                click.echo(
                    f"idgraph: reading {path} failed: {error}; the chunks read before are "
                    "applied, and the same command goes on after them",
                    err=True,
                )
                sys.exit(2)
    _print(report, options, seconds)
    sys.exit(1 if report.bad else 0)


def _columns(columns: tuple[str, ...], format_: str) -> list[tuple[str, str]]:
    pairs = []
    for column in columns:
        name, equals, type_ = column.partition("=")
        if not equals or not name or not type_:
            raise click.BadParameter(f"{column!r}: expected COL=TYPE", param_hint="--column")
        pairs.append((name, type_))
    if format_ == "csv" and not pairs:
        raise click.UsageError("a CSV import needs --column COL=TYPE for each identifier column")
    if format_ != "csv" and pairs:
        raise click.UsageError("--column is for CSV; a JSON line names its identifiers' types")
    return pairs


def _source(given: str | None, default: str) -> str:
    """``--source``, or ``default``, the file's name (as text even where it is not UTF-8)."""
    source = given if given is not None else os.fsencode(default).decode("utf-8", "replace")
    problem = _source_problem(source)
    if problem and given is None:
        problem += f" (it is the file's name, {source!r}, by default: give --source NAME)"
    if problem:
        raise click.BadParameter(problem, param_hint="--source")
    return source


def _source_problem(source: str) -> str | None:
    """Why ``source`` is not one by the API's rule for a request's source (LinkBatchSchema:
    1 to 128 characters) and for text a person reads (no control character but tab and
    newlines), or None."""
    from marshmallow import ValidationError

    from app.api.schemas import LinkBatchSchema
    from graph.normalize import text_problem

    try:
        source.encode("utf-8")
    except UnicodeEncodeError:  # an argument's bytes that are not UTF-8 come as surrogates
        return "not UTF-8"
    try:
        LinkBatchSchema().fields["source"].deserialize(source)
    except ValidationError as error:
        return " ".join(error.messages)
    return text_problem(source)


def _run(
    settings: Settings,
    lines: Iterator[Line],
    parse: Parse | None,
    options: ImportOptions,
    stream: IO[bytes],
    size: int | None,
) -> tuple[ImportReport, float]:
    """The report of the import, and how long it took in seconds. The file is read, parsed
    and normalized a chunk ahead, in a second process (app/cli/ahead.py)."""
    from tqdm import tqdm

    from graph.rules import load_rulebook
    from graph.service.importing import Importing, chunked

    rulebook = load_rulebook(settings.rules)
    resumed = _resumed(settings, rulebook, options)
    options = resumed or options
    applied = None if resumed is None else _AppliedBefore(settings, rulebook, options)
    raw = getattr(stream, "fileobj", stream)  # a gzip file's compressed bytes
    rules = rulebook.for_namespace(options.namespace)
    chunks_read = chunked(lines, options, rules, parse=parse, applied=applied)
    read = ((chunk, _position(raw)) for chunk in chunks_read)
    started = time.monotonic()
    with ahead(read) as read_ahead:
        store = _store(settings, options)
        bar = tqdm(
            desc=options.namespace,
            total=size,
            unit="B" if size is not None else " lines",
            unit_scale=size is not None,
            file=sys.stderr,
            dynamic_ncols=True,
        )

        def chunks() -> Iterator[Chunk]:  # the bar moves to where each chunk ends
            for chunk, position in read_ahead:
                if size is not None:
                    bar.update(position - bar.n)
                yield chunk
                time.sleep(YIELD_SECONDS)

        def progress(report: ImportReport) -> None:
            if size is None:  # a bar of lines
                bar.update(report.lines - bar.n)
                return
            elapsed = max(time.monotonic() - started, 1e-9)
            bar.set_postfix_str(f"{report.lines:,} lines, {report.lines / elapsed:,.0f} lines/s")

        try:
            importing = Importing(store, rulebook, utc_now)
            report = importing.apply(chunks(), options, on_chunk=progress)
        finally:
            bar.close()
            store.close()
    return report, time.monotonic() - started


def _resumed(
    settings: Settings, rulebook: RuleBook, options: ImportOptions
) -> ImportOptions | None:
    """The options with the chunking an earlier run of this import began with, if one did:
    chunks must be cut where that run cut them for its markers to be found. The store is
    opened for this alone and closed again, before the reading process is forked."""
    from graph.service.importing import Importing

    store = _store(settings, options)
    try:
        resumed = Importing(store, rulebook, utc_now).resumed(options)
    finally:
        store.close()
    if resumed is not None and resumed.chunk != options.chunk:
        click.echo(
            f"idgraph: going on with chunks of {resumed.chunk:,} lines, as this import began",
            err=True,
        )
    return resumed


def _store(settings: Settings, options: ImportOptions) -> Store:
    """The store, read-only for a dry run: it creates, upgrades and writes nothing."""
    return open_store(settings.store, read_only=options.dry_run, **settings.store_options)


@contextmanager
def _store_to_check(settings: Settings, options: ImportOptions) -> Iterator[Settings]:
    """``settings``, but for a dry run against a SQLite store not created yet: then the
    lines are checked against an empty store of the run's own, in a temporary directory
    removed after, and nothing is created where IDGRAPH_STORE points (a path mistyped stays
    free). An empty store holds no chunk applied, as a store not created would."""
    absent = absent_store(settings.store) if options.dry_run else None
    if absent is None:
        yield settings
        return
    click.echo(f"idgraph: no store at {absent} yet: the lines are checked alone", err=True)
    with tempfile.TemporaryDirectory(prefix="idgraph-dry-run-") as folder:
        empty = f"sqlite:///{folder}/empty.db"
        open_store(empty).close()
        yield replace(settings, store=empty)


class _AppliedBefore:
    """``Importing.applied_before`` in the reading process, so that it passes on the chunks an
    earlier run applied unparsed: a run that goes on reaches where the last one stopped at
    the speed of reading. The store is its own, read-only, opened on the first chunk (after
    the fork: a driver must not cross one) and closed at the first chunk not applied: the
    import goes on from there, and ``Importing.apply`` still finds any later chunk a run
    beside this one applied."""

    def __init__(self, settings: Settings, rulebook: RuleBook, options: ImportOptions) -> None:
        self._settings, self._rulebook, self._options = settings, rulebook, options
        self._store: Store | None = None
        self._check: Callable[[str], bool | None] | None = None
        self._done = False

    def __call__(self, marker: str) -> bool:
        if self._done:
            return False
        if self._check is None:
            from graph.service.importing import Importing

            settings = self._settings
            self._store = open_store(settings.store, read_only=True, **settings.store_options)
            self._check = Importing(self._store, self._rulebook, utc_now).applied_before(
                self._options
            )
        applied = self._check(marker)
        if applied is None:  # not applied: the import goes on from here, read as it comes
            self._store.close()
            self._done = True
        return bool(applied)


def _position(raw: Any) -> int:
    try:
        return int(raw.tell())
    except (OSError, ValueError):
        return 0


def _print(report: ImportReport, options: ImportOptions, seconds: float) -> None:
    from graph.service.importing import OUTCOMES

    seconds = max(seconds, 1e-9)
    verb = "checked" if options.dry_run else "imported"
    click.echo(
        f"{options.namespace}: {report.lines:,} lines {verb} from {options.source} in "
        f"{seconds:,.1f} s ({report.lines / seconds:,.0f} lines/s, "
        f"{report.links / seconds:,.0f} links/s)"
    )
    rows = [(kind, report.outcomes[kind]) for kind in OUTCOMES]
    rows += [("already imported", report.already), ("bad lines", report.bad)]
    width = max(len(name) for name, _ in rows)
    for name, count in rows:
        click.echo(f"  {name:<{width}}  {count:>12,}")
    for number, reason in report.problems[:_LISTED]:
        click.echo(f"  line {number}: {reason}")
    if report.bad > _LISTED:
        click.echo(f"  ... and {report.bad - _LISTED:,} more bad lines")
