"""``idgraph cypher``: run one read-only Cypher file against the configured Neo4j store and
print its rows, for analysts and scripts.

The analytics queries live in cypher/analytics/; each says in its first comment lines what it
answers and how to read the result, and declares its parameters on a ``// params:`` line.
The query runs in a read transaction (Neo4j refuses a write in it); a file that writes,
administers, reads files or calls a procedure not known to only read is refused before it is
sent, whatever the server (``check_read_only``). What Neo4j refuses is one line with its code
and message, exit 2, as is every refusal of the command's; a server that cannot be reached
exits 1.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, NoReturn

import click

from app.settings import Settings, SettingsError
from graph.errors import IdgraphError, StatementRefused, StoreError
from graph.store import is_neo4j_url
from graph.store.cypher import CYPHER_DIR, Statement

ANALYTICS_DIR = CYPHER_DIR / "analytics"
FORMATS = ("table", "json", "csv")

_NAME = re.compile(r"^\$?([A-Za-z_]\w*)$")
_INT64 = range(-(2**63), 2**63)

# Cypher's tokens as far as the guard needs them, as Neo4j's Cypher 5 lexer reads them:
# whitespace, comments (// to the end of the line, /* to */) and string literals ('...' or
# "...", a backslash escaping the next character) are skipped; a `quoted` name (`` is a
# backtick in it) is a name, never a keyword. One pass from the left, so a quote inside a
# comment, or a comment marker inside a string, is what Neo4j takes it for. What opens and
# never closes is refused: Neo4j refuses it too, and the guard cannot see what it hides.
_TOKEN = re.compile(
    r"""(?P<skip> \s+ | //[^\r\n]* | /\*.*?\*/ | '(?:[^'\\]|\\.)*' | "(?:[^"\\]|\\.)*" )
      | `(?P<name>(?:[^`]|``)*)`
      | (?P<word>\w+)
      | (?P<unterminated>/\*|['"`])
      | (?P<symbol>.)""",
    re.DOTALL | re.VERBOSE,
)
_UNTERMINATED = {"/*": "/* comment", "'": "' string", '"': '" string', "`": "` name"}
# Keywords (any case) of clauses that are no read, and what the refusal says they do. A word
# that is no keyword but spelled like one (a property `n.set`) is refused too: quote it.
_REFUSED = {
    **dict.fromkeys(("CREATE", "MERGE", "SET", "DELETE", "REMOVE", "DROP", "FOREACH"), "writes"),
    "INSERT": "writes",  # GQL's CREATE
    **dict.fromkeys(
        ("ALTER", "GRANT", "DENY", "REVOKE", "RENAME", "ENABLE", "DEALLOCATE", "REALLOCATE"),
        "administers",
    ),
    "TERMINATE": "administers",  # SHOW TRANSACTIONS ... TERMINATE runs in a read transaction
    "LOAD": "reads files",  # LOAD CSV: the server's files, or any URL it reaches
}
_CLAUSES = {"LOAD": "LOAD CSV"}
# keywords that name a clause that is no read only when followed by another
_REFUSED_PAIRS = {
    ("IN", "TRANSACTIONS"): "writes",
    ("START", "DATABASE"): "administers",
    ("STOP", "DATABASE"): "administers",
}
# ``CALL {`` and ``CALL (`` are subqueries, checked as the rest of the query is; a named
# procedure may write or administer whatever its mode, so only these, which read, are called.
READ_PROCEDURES = (
    "db.labels",
    "db.relationshipTypes",
    "db.propertyKeys",
    "db.schema.nodeTypeProperties",
    "db.schema.relTypeProperties",
    "db.schema.visualization",
    "dbms.components",
)
_SUBQUERY = (("symbol", "{"), ("symbol", "("))
# Against formula injection (OWASP, "CSV Injection"): a spreadsheet runs a cell that starts
# with = + - @, tab or CR as a formula, and a formula can fetch URLs or run commands. Such a
# text cell is written with a leading apostrophe, which makes it text, as the lineage
# viewer's CSV does (app/api/static/viewer/table.js, csvField); --format json is exact.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
    """``name=value`` pairs; a value is JSON when it parses as strict JSON (``3``, ``[1, 2]``,
    ``true``, ``"007"``; not ``NaN``), else the text as given. A number Neo4j cannot hold is
    refused."""
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
            parameters[name] = _json_value(text)
        except _OutOfRange as error:
            raise QueryRefused(
                f"--param {pair}: {error} is beyond Neo4j's numbers "
                "(64-bit integers, finite floats)"
            ) from None
    return parameters


class _OutOfRange(Exception):
    """A JSON number Neo4j has no value for."""


def _json_value(text: str) -> Any:
    """``text`` as strict JSON, else ``text``: NaN and Infinity, which Python's json reads
    and JSON has not, stay text."""
    try:
        return json.loads(text, parse_constant=_not_json, parse_int=_int64, parse_float=_finite)
    except ValueError:
        return text


def _not_json(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not JSON")


def _int64(text: str) -> int:
    if (number := int(text)) not in _INT64:
        raise _OutOfRange(text)
    return number


def _finite(text: str) -> float:
    if not math.isfinite(number := float(text)):
        raise _OutOfRange(text)
    return number


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
    """Refuse a query with a clause that writes, administers or reads files (``_REFUSED``),
    or a CALL of a procedure not in READ_PROCEDURES, naming the first such clause."""
    tokens = _tokens(statement)
    for index, (kind, text) in enumerate(tokens):
        if kind != "word":
            continue
        word = text.upper()
        following = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
        pair = (word, following[1].upper() if following[0] == "word" else "")
        if word in _REFUSED:
            _refuse(statement, f"{_REFUSED[word]} ({_CLAUSES.get(word, word)})")
        if pair in _REFUSED_PAIRS:
            _refuse(statement, f"{_REFUSED_PAIRS[pair]} ({' '.join(pair)})")
        if word == "CALL" and following not in _SUBQUERY:
            procedure = _procedure_name(tokens[index + 1 :])
            if procedure not in READ_PROCEDURES:
                _refuse(
                    statement,
                    f"calls {procedure or 'a procedure'}, not a procedure known to only read "
                    f"({', '.join(READ_PROCEDURES)})",
                )


def _tokens(statement: Statement) -> list[tuple[str, str]]:
    """The words, names (`quoted`, or of a $parameter) and symbols of the query, in order:
    ("word", "MATCH"), ("symbol", "("), ..."""
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(statement.text):
        kind = match.lastgroup or "skip"
        if kind == "unterminated":
            _refuse(statement, f"has an unterminated {_UNTERMINATED[match.group()]}")
        elif kind == "name":
            tokens.append(("name", match.group("name").replace("``", "`")))
        elif kind == "word" and tokens[-1:] == [("symbol", "$")]:
            tokens.append(("name", match.group()))
        elif kind != "skip":
            tokens.append((kind, match.group()))
    return tokens


def _procedure_name(tokens: Sequence[tuple[str, str]]) -> str:
    """The dotted name the tokens start with: db . `labels` is db.labels."""
    parts: list[str] = []
    for position, (kind, text) in enumerate(tokens):
        if position % 2 == 0 and kind in ("word", "name"):
            parts.append(text)
        elif position % 2 == 0 or (kind, text) != ("symbol", "."):
            break
    return ".".join(parts)


def _refuse(statement: Statement, what: str) -> NoReturn:
    raise QueryRefused(f"{statement.name}.cypher {what}; idgraph cypher runs read-only queries")


def require_neo4j(settings: Settings) -> None:
    if not is_neo4j_url(settings.store):
        raise QueryRefused(
            f"idgraph cypher needs a Neo4j store, and IDGRAPH_STORE is {settings.store!r}: "
            "set IDGRAPH_STORE=neo4j://host:7687 (and NEO4J_USER, NEO4J_PASSWORD)"
        )


def run_query(settings: Settings, path: Path, parameters: Mapping[str, Any]) -> list[dict]:
    """The rows of one read-only query against the Neo4j store of ``settings``."""
    require_neo4j(settings)
    statement = _read(path)
    check_parameters(statement, parameters)
    check_read_only(statement)
    from graph.store.neo4j.store import Neo4jStore

    store = Neo4jStore(settings.store, **settings.store_options, read_only=True)
    try:
        return store.run(statement, **parameters)
    except StatementRefused as refused:
        first_line = refused.description.partition("\n")[0]
        raise QueryRefused(
            f"Neo4j refused {statement.name}.cypher: {refused.code}: {first_line}"
        ) from refused
    finally:
        store.close()


def _read(path: Path | Traversable) -> Statement:
    try:
        return Statement.read(path)
    except UnicodeDecodeError as error:
        raise QueryRefused(f"{path} is not UTF-8 text: {error}") from error


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
    """RFC 4180 with lists as JSON; a text cell a spreadsheet would run as a formula starts
    with an apostrophe (``spreadsheet_safe``), numbers are written as they are. Lines end with
    CRLF, as RFC 4180 says: with LF, Python's csv leaves a field holding a CR unquoted."""
    buffer = io.StringIO()
    columns = _columns(rows)
    writer = csv.writer(buffer, lineterminator="\r\n")
    if columns:
        writer.writerow(spreadsheet_safe(name) for name in columns)
    for row in rows:
        writer.writerow(_csv_cell(row.get(name)) for name in columns)
    return buffer.getvalue()


def spreadsheet_safe(cell: str) -> str:
    return f"'{cell}" if cell.startswith(_FORMULA_START) else cell


def _csv_cell(value: Any) -> str:
    cell = _json_cell(value)
    return cell if _is_number(value) else spreadsheet_safe(cell)


def _json_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict | bool):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def one_line(text: str) -> str:
    """``text`` on one line of a terminal, as it is: what is not printable (a newline, a tab,
    a terminal escape, a right-to-left override) escaped as Python writes it (\\n, \\x1b)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Aligned columns, numbers to the right, a line per row; lists as JSON."""
    if not rows:
        return "(no rows)\n"
    names = _columns(rows)
    columns = [one_line(name) for name in names]
    cells = [[one_line(_json_cell(row.get(name))) for name in names] for row in rows]
    widths = [max(len(name), *(len(line[i]) for line in cells)) for i, name in enumerate(columns)]
    numeric = [all(_is_number(row.get(name)) for row in rows) for name in names]

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
    'true, "007"; NaN is text), else text',
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
        _fail(error, 2)
    except StoreError as error:  # the server unreachable, the login refused
        _fail(error, 1)
    click.echo(render(rows, output), nl=False)


def _fail(error: Exception, status: int) -> NoReturn:
    lines = (line.strip() for line in str(error).splitlines())
    click.echo(f"idgraph: {one_line(' '.join(line for line in lines if line))}", err=True)
    sys.exit(status)
