"""``idgraph cypher``: run one read-only Cypher file against the configured Neo4j store and
print its rows, for analysts and scripts.

The analytics queries live in cypher/analytics/; each says in its first comment lines what it
answers and how to read the result, and declares its parameters on a ``// params:`` line.
The query runs in a read transaction (Neo4j refuses a write in it); a file with a write clause
is refused before it is sent, whatever the server.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import click

from app.settings import Settings, SettingsError
from graph.errors import IdgraphError, StoreError
from graph.store import is_neo4j_url
from graph.store.cypher import CYPHER_DIR, Statement

ANALYTICS_DIR = CYPHER_DIR / "analytics"
FORMATS = ("table", "json", "csv")

_NAME = re.compile(r"^\$?([A-Za-z_]\w*)$")
# Clauses that write, looked for outside comments and string literals.
_WRITE_CLAUSE = re.compile(
    r"\b(CREATE|MERGE|SET|DELETE|REMOVE|DROP|LOAD\s+CSV|FOREACH|IN\s+TRANSACTIONS)\b",
    re.IGNORECASE,
)
_COMMENTS_AND_STRINGS = re.compile(r"//[^\n]*|'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"|`[^`]*`")


class QueryRefused(IdgraphError):
    """A query, its parameters or the configuration that ``idgraph cypher`` will not run."""


def available_queries() -> list[str]:
    return sorted(
        entry.name.removesuffix(".cypher")
        for entry in ANALYTICS_DIR.iterdir()
        if entry.name.endswith(".cypher")
    )


def find_query(name: str) -> Path | Traversable:
    """A path to a .cypher file, or the bare name of one in cypher/analytics/."""
    path = Path(name)
    if path.is_file():
        return path
    bundled = ANALYTICS_DIR / f"{name.removesuffix('.cypher')}.cypher"
    if "/" not in name and bundled.is_file():
        return bundled
    raise QueryRefused(
        f"no query {name!r}: not a file, nor one of {ANALYTICS_DIR}: "
        f"{', '.join(available_queries()) or '(none)'}"
    )


def parse_parameters(pairs: Iterable[str]) -> dict[str, Any]:
    """``name=value`` pairs; a value is JSON when it parses as JSON (``3``, ``[1, 2]``,
    ``true``, ``"007"``), else the text as given."""
    parameters: dict[str, Any] = {}
    for pair in pairs:
        raw_name, equals, text = pair.partition("=")
        match = _NAME.match(raw_name.strip())
        if not equals or not match:
            raise QueryRefused(f"--param {pair!r}: expected name=value, e.g. --param ns=shop")
        name = match.group(1)
        if name in parameters:
            raise QueryRefused(f"--param {name} is given twice")
        try:
            parameters[name] = json.loads(text)
        except ValueError:
            parameters[name] = text
    return parameters


def check_parameters(statement: Statement, parameters: Mapping[str, Any]) -> None:
    """Exactly the declared parameters, or an error naming them."""
    missing = sorted(statement.params - set(parameters))
    unknown = sorted(set(parameters) - statement.params)
    if not missing and not unknown:
        return
    declared = ", ".join(f"${name}" for name in sorted(statement.params)) or "no parameters"
    problems = [f"missing {', '.join(missing)}"] if missing else []
    problems += [f"unknown {', '.join(unknown)}"] if unknown else []
    raise QueryRefused(
        f"{statement.name}.cypher takes {declared} (--param name=value each): "
        + "; ".join(problems)
    )


def check_read_only(statement: Statement) -> None:
    code = _COMMENTS_AND_STRINGS.sub(" ", statement.text)
    found = _WRITE_CLAUSE.search(code)
    if found:
        raise QueryRefused(
            f"{statement.name}.cypher writes ({found.group(1).upper()}); "
            "idgraph cypher runs read-only queries"
        )


def require_neo4j(settings: Settings) -> None:
    if not is_neo4j_url(settings.store):
        raise QueryRefused(
            f"idgraph cypher needs a Neo4j store, and IDGRAPH_STORE is {settings.store!r}: "
            "set IDGRAPH_STORE=neo4j://host:7687 (and NEO4J_USER, NEO4J_PASSWORD)"
        )


def run_query(settings: Settings, path: Path, parameters: Mapping[str, Any]) -> list[dict]:
    """The rows of one read-only query against the Neo4j store of ``settings``."""
    require_neo4j(settings)
    statement = Statement.read(path)
    check_parameters(statement, parameters)
    check_read_only(statement)
    from graph.store.neo4j.store import Neo4jStore

    store = Neo4jStore(settings.store, **settings.store_options, read_only=True)
    try:
        return store.run(statement, **parameters)
    finally:
        store.close()


# --- output -----------------------------------------------------------------------------------


def render(rows: Sequence[Mapping[str, Any]], output: str) -> str:
    if output == "json":
        return json.dumps(list(rows), ensure_ascii=False, indent=2, default=str) + "\n"
    if output == "csv":
        return _csv(rows)
    return _table(rows)


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(name for row in rows for name in row))


def _csv(rows: Sequence[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    columns = _columns(rows)
    writer = csv.writer(buffer, lineterminator="\n")
    if columns:
        writer.writerow(columns)
    for row in rows:
        writer.writerow(_json_cell(row.get(name)) for name in columns)
    return buffer.getvalue()


def _json_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict | bool):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _text_cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text_cell(item) for item in value)
    return _json_cell(value)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Aligned columns, numbers to the right; lists as comma-separated text."""
    if not rows:
        return "(no rows)\n"
    columns = _columns(rows)
    cells = [[_text_cell(row.get(name)) for name in columns] for row in rows]
    widths = [max(len(name), *(len(line[i]) for line in cells)) for i, name in enumerate(columns)]
    numeric = [all(_is_number(row.get(name)) for row in rows) for name in columns]

    def line(values: Sequence[str]) -> str:
        parts = (
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        )
        return "  ".join(parts).rstrip()

    body = [line(columns), line(["-" * width for width in widths])]
    body += [line(values) for values in cells]
    count = f"({len(rows)} row{'s' if len(rows) != 1 else ''})"
    return "\n".join([*body, count]) + "\n"


# --- the command ------------------------------------------------------------------------------


@click.command(epilog="Queries in cypher/analytics/: " + (", ".join(available_queries()) or "none"))
@click.argument("query")
@click.option(
    "--param",
    "pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="a parameter the query declares; the value is JSON when it parses (3, [1,2], "
    'true, "007"), else text',
)
@click.option(
    "--format",
    "output",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for people, json or csv for scripts",
)
def cypher(query: str, pairs: tuple[str, ...], output: str) -> None:
    """Run a read-only Cypher QUERY (a .cypher file, or the name of one in cypher/analytics/)
    against the Neo4j store of IDGRAPH_STORE and print its rows.

    Example: idgraph cypher largest_profiles --param ns=shop --param limit=20
    """
    try:
        settings = Settings.from_env()
        rows = run_query(settings, find_query(query), parse_parameters(pairs))
    except (SettingsError, QueryRefused) as error:
        click.echo(f"idgraph: {error}", err=True)
        sys.exit(2)
    except StoreError as error:
        click.echo(f"idgraph: {error}", err=True)
        sys.exit(1)
    click.echo(render(rows, output), nl=False)
