"""Every query is parameterized: no SQL or Cypher is built from strings with values in them.

The check reads the code of app/, graph/ and benchmarks/ with ``ast`` and reports, by file
and by the function they are in:

- a call of ``execute``, ``executemany``, ``executescript`` or ``run`` whose query is built
  (an f-string with a value in it, ``%``, ``.format``, ``+``), directly or through a variable
  the function builds;
- a string built the same way whose text reads as a query (upper-case SQL or Cypher
  keywords such as ``SELECT``, ``DELETE``, ``MATCH``, ``PRAGMA``), wherever it is.

Formatting in constants only is not building from values: module constants (``_LINK_COLUMNS``)
and names bound only to string literals may be interpolated. What remains must be listed in
ALLOWED with the reason it is safe; an entry that no longer matches anything fails too, so
the list stays the list of what is there.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("app", "graph", "benchmarks")
QUERY_CALLS = frozenset({"execute", "executemany", "executescript", "run"})
QUERY_WORDS = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|CREATE|DROP|ALTER|PRAGMA|ATTACH|VACUUM|MATCH|MERGE|"
    r"UNWIND|DETACH|RETURN)\b"
)

ALLOWED: dict[tuple[str, str], str] = {
    ("graph/store/sqlite/sql.py", "either_end"): (
        "one query per (table, columns) pair, built at import from constant table and column "
        "names only; the values travel as ?1 and ?2"
    ),
    ("graph/store/sqlite/store.py", "SqliteStore._connect"): (
        "PRAGMA takes no bound parameters; the value is the store's `synchronous` argument, "
        "set by code (default FULL), never by a request"
    ),
    ("graph/store/sqlite/store.py", "SqliteStore._migrate"): (
        "migrations: PRAGMA user_version takes no bound parameters; the number is the index "
        "of the migration just applied"
    ),
    ("graph/store/sqlite/copy.py", "CopySource.copy_page"): (
        "`idgraph migrate` pages through each table of the TABLES list: table, column and "
        "key names are constants of graph/store/sqlite/copy.py; the key values are bound (?)"
    ),
    ("graph/store/sqlite/copy.py", "CopySource.copy_count"): (
        "as CopySource.copy_page: names from copy.py's TABLES, values bound"
    ),
    ("graph/store/sqlite/copy.py", "CopySource.copy_counts"): (
        "table names and conditions from copy.py's COUNTS constant, no values"
    ),
}


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    scope: str
    line: int
    code: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.scope}: {self.code}"


def findings_in(source: str, path: str = "<source>") -> list[Finding]:
    """String-built queries of one module's source."""
    finder = _QueryFinder(path)
    finder.visit(ast.parse(source))
    return finder.findings


def scanned_findings() -> list[Finding]:
    found: list[Finding] = []
    for folder in SCANNED:
        for file in sorted((ROOT / folder).rglob("*.py")):
            path = file.relative_to(ROOT).as_posix()
            found += findings_in(file.read_text(encoding="utf-8"), path)
    return found


class _QueryFinder(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.scopes: list[str] = []
        self.bindings: list[dict[str, list[ast.expr | None]]] = []
        self.findings: list[Finding] = []
        self._reported: set[int] = set()

    # --- scopes: a module, a class, a function --------------------------------------------------

    def visit_Module(self, node: ast.Module) -> None:
        self._in_scope(node, None)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._in_scope(node, node.name)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._in_scope(node, node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def _in_scope(self, node: ast.AST, name: str | None) -> None:
        if name is not None:
            self.scopes.append(name)
        self.bindings.append(_bindings(node))
        self.generic_visit(node)
        self.bindings.pop()
        if name is not None:
            self.scopes.pop()

    # --- what is reported ---------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute) and node.func.attr in QUERY_CALLS and node.args:
            query = node.args[0]
            built = [query] if self._built(query) else []
            if isinstance(query, ast.Name):
                built += [v for v in self._bound(query.id) if v is not None and self._built(v)]
            for expression in built:
                self._report(expression)
        self._report_query_text(node)
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._report_query_text(node)  # not generic_visit: its parts are not strings of their own

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if not self._report_query_text(node):
            self.generic_visit(node)

    def _report_query_text(self, node: ast.expr) -> bool:
        if self._built(node) and QUERY_WORDS.search(_literal_text(node)):
            self._report(node)
            return True
        return False

    def _report(self, node: ast.expr) -> None:
        if id(node) in self._reported:
            return
        self._reported.add(id(node))
        scope = ".".join(self.scopes) or "<module>"
        code = ast.unparse(node).replace("\n", " ")
        self.findings.append(Finding(self.path, scope, node.lineno, code[:120]))

    # --- built from values, or from constants only ----------------------------------------------

    def _built(self, node: ast.expr) -> bool:
        """A string expression made by formatting or concatenation with anything that is not
        a constant."""
        if isinstance(node, ast.JoinedStr):
            return not self._constant(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
            return _stringy(node) and not self._constant(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return node.func.attr == "format" and _stringy(node.func.value)
        return False

    def _constant(self, node: ast.expr, seen: frozenset[str] = frozenset()) -> bool:
        match node:
            case ast.Constant():
                return True
            case ast.JoinedStr(values=values):
                return all(self._constant(value, seen) for value in values)
            case ast.FormattedValue(value=value):
                return self._constant(value, seen)
            case ast.BinOp(left=left, right=right):
                return self._constant(left, seen) and self._constant(right, seen)
            case ast.IfExp(body=body, orelse=orelse):
                return self._constant(body, seen) and self._constant(orelse, seen)
            case ast.Name(id=name) if name.isupper():
                return True  # a module constant, by convention
            case ast.Name(id=name) if name not in seen:
                values = self._bound(name)
                return bool(values) and all(
                    value is not None and self._constant(value, seen | {name}) for value in values
                )
        return False

    def _bound(self, name: str) -> list[ast.expr | None]:
        return self.bindings[-1].get(name, []) if self.bindings else []


def _bindings(scope: ast.AST) -> dict[str, list[ast.expr | None]]:
    """What each name of one scope is bound to; ``None`` for a binding of unknown value (a
    parameter, a loop variable, an augmented assignment...). Nested scopes are their own."""
    bound: dict[str, list[ast.expr | None]] = {}
    if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
        arguments = scope.args
        for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
            bound.setdefault(argument.arg, []).append(None)
    for node in _own_nodes(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                _bind(target, node.value, bound)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            _bind(node.target, node.value, bound)
        elif isinstance(node, ast.AugAssign | ast.For | ast.comprehension | ast.withitem):
            target = node.optional_vars if isinstance(node, ast.withitem) else node.target
            if target is not None:
                _bind(target, None, bound)
        elif isinstance(node, ast.NamedExpr):
            _bind(node.target, node.value, bound)
    return bound


def _bind(target: ast.expr, value: ast.expr | None, bound: dict) -> None:
    if isinstance(target, ast.Name):
        bound.setdefault(target.id, []).append(value)
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            _bind(element, None, bound)


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a scope, without those of the functions and classes nested in it."""
    for child in ast.iter_child_nodes(scope):
        yield child
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield from _own_nodes(child)


def _stringy(node: ast.expr) -> bool:
    """Plainly a string: a literal, an f-string, or an operation on one."""
    match node:
        case ast.Constant(value=str()) | ast.JoinedStr():
            return True
        case ast.BinOp(left=left, right=right):
            return _stringy(left) or _stringy(right)
    return False


def _literal_text(node: ast.expr) -> str:
    return " ".join(
        part.value
        for part in ast.walk(node)
        if isinstance(part, ast.Constant) and isinstance(part.value, str)
    )


# --- the code base ----------------------------------------------------------------------------


def test_no_query_is_built_from_strings_but_the_listed_exceptions() -> None:
    unexpected = [f for f in scanned_findings() if (f.path, f.scope) not in ALLOWED]
    assert not unexpected, (
        "SQL or Cypher built from strings; bind the values as parameters (SQLite `?`/`:name`, "
        "Cypher `$name`), or list a constants-only exception in ALLOWED with its reason:\n"
        + "\n".join(map(str, unexpected))
    )


def test_every_listed_exception_is_still_there() -> None:
    found = {(f.path, f.scope) for f in scanned_findings()}
    assert not set(ALLOWED) - found, "remove from ALLOWED: " + str(sorted(set(ALLOWED) - found))


def test_every_folder_that_queries_a_store_is_scanned() -> None:
    for folder in SCANNED:
        assert list((ROOT / folder).rglob("*.py")), folder


# --- the check itself: what it catches and what it lets through ---------------------------------


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("c.execute(f\"SELECT * FROM t WHERE v = '{value}'\")", id="f-string"),
        pytest.param("c.execute(\"SELECT * FROM t WHERE v = '%s'\" % value)", id="percent"),
        pytest.param('c.execute("SELECT * FROM t WHERE v = {}".format(value))', id="format"),
        pytest.param('c.execute("SELECT * FROM t WHERE v = \'" + value + "\'")', id="plus"),
        pytest.param('c.executemany("INSERT INTO t VALUES (" + v + ")", rows)', id="executemany"),
        pytest.param('c.executescript(f"DROP TABLE {name}")', id="executescript"),
        pytest.param("tx.run(f\"MATCH (i {{key: '{key}'}}) RETURN i\")", id="cypher-run"),
        pytest.param('tx.run("MATCH (i) WHERE i.key = " + key)', id="cypher-plus"),
        pytest.param(
            """
            def f(c, value):
                sql = f"SELECT * FROM t WHERE v = '{value}'"
                return c.execute(sql)
            """,
            id="through-a-variable",
        ),
        pytest.param(
            """
            def f(c, ns):
                query = "DELETE FROM links WHERE ns = '%s'" % ns
                return query
            """,
            id="query-text-anywhere",
        ),
        pytest.param('c.execute(f"{prefix} WHERE v = 1")', id="built-without-keywords"),
        pytest.param('c.execute("SELECT " + ", ".join(columns) + " FROM t")', id="join"),
    ],
)
def test_the_check_finds_a_string_built_query(source: str) -> None:
    assert findings_in(textwrap.dedent(source))


@pytest.mark.parametrize(
    "source",
    [
        pytest.param('c.execute("SELECT * FROM t WHERE v = ?", (value,))', id="bound"),
        pytest.param('c.execute("SELECT * FROM t " "WHERE v = :v", {"v": value})', id="literal"),
        pytest.param(
            """
            _COLUMNS = "id, a_key, b_key"
            _ONE = f"SELECT {_COLUMNS} FROM links WHERE id = ?"
            """,
            id="module-constant",
        ),
        pytest.param(
            """
            def f(c, active):
                where = "ended_at IS NULL" if active else "1"
                return c.execute(f"SELECT id FROM links WHERE {where} AND ns = ?", (ns,))
            """,
            id="literal-alternatives",
        ),
        pytest.param("tx.run(statement.text, statement.bind(parameters))", id="cypher-file"),
        pytest.param('log.info(f"merged {n} profiles of {ns}")', id="a-message"),
        pytest.param('raise ValueError(f"cannot read {path}: {error}")', id="an-error"),
    ],
)
def test_the_check_lets_parameterized_and_constant_queries_through(source: str) -> None:
    assert findings_in(textwrap.dedent(source)) == []
