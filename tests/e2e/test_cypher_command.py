"""`idgraph cypher` facing hostile data, hostile query files and a server that says no, against
the Neo4j of tests/conftest.py.

Namespace ``hostile``, written through the service (customIds are not unique there): a
browser whose id is a spreadsheet formula, linked to customIds ``a, b`` and ``c``; and a link
of customId e1 whose end reason, written with Cypher, is a formula followed by a newline.

- Output: a CSV cell a spreadsheet would run as a formula gets a leading apostrophe, as the
  lineage viewer's CSV does (docs/lineage.md); a table cell shows control characters escaped
  on one line, and lists as JSON; JSON stays exact.
- The guard: a file that writes, administers, reads files or calls a procedure not known to
  read is refused (exit 2) before it is sent, however comments, strings and names hide it.
- Errors: a statement Neo4j refuses is one line with its code and message (exit 2), a server
  that does not answer one line (exit 1); parameter values are strict JSON.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from app.cli.cypher import available_queries, cypher
from graph.service import LinkRequest
from graph.store.cypher import CYPHER_DIR, Statement
from tests.e2e.test_analytics import emptied
from tests.neo4j_server import free_port

IDGRAPH = str(Path(sys.executable).parent / "idgraph")
NS = "hostile"
RULES = f"""
[namespaces.{NS}]
unique_types = ["email", "ext:*"]
"""
SOURCE = "hostile-sync"
HYPERLINK = '=HYPERLINK("http://evil.example/","open")'
END_REASON = "=1+1\nfake row"
END_LINK = Statement.parse(
    "end_link",
    "// params: $ns, $reason\n"
    "MATCH (:Identifier {ns: $ns, key: 'customId:e1'})-[link:LINKED]-(:Identifier)\n"
    "SET link.ended_at = '2026-01-02T00:00:00.000000Z', link.end_reason = $reason\n"
    "RETURN count(link) AS ended\n",
)
ECHO = "// params: $value\nRETURN $value AS value\n"
WINDOW = ("--param", f"ns={NS}", "--param", f"source={SOURCE}",
          "--param", "from=2000-01-01", "--param", "to=9999-12-31")  # fmt: skip


@pytest.fixture(scope="module")
def hostile(bolt_server, tmp_path_factory) -> Iterator[None]:
    service = emptied(bolt_server, RULES, tmp_path_factory.mktemp("rules"))
    store = service.store
    items = [
        [("browserId", HYPERLINK), ("customId", "a, b")],
        [("browserId", HYPERLINK), ("customId", "c")],
        [("customId", "e1"), ("email", "eve@x.io")],
    ]
    try:
        result = service.linking.link(NS, [LinkRequest(item) for item in items], source=SOURCE)
        assert [r.outcome.kind for r in result.results] == ["created", "linked", "created"]
        assert store.run(END_LINK, write=True, ns=NS, reason=END_REASON) == [{"ended": 1}]
        yield
    finally:
        store.close()


def run_cli(server, *args: str) -> Result:
    return CliRunner().invoke(cypher, list(args), env=server.environment())


def idgraph(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [IDGRAPH, "cypher", *args],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def query_file(folder: Path, text: str, name: str = "probe") -> str:
    path = folder / f"{name}.cypher"
    path.write_text(text, encoding="utf-8")
    return str(path)


def echo(server, folder: Path, value: Any, output: str) -> Result:
    """`RETURN $value AS value` with ``value`` passed as JSON, printed as ``output``."""
    path = query_file(folder, ECHO, "echo")
    return run_cli(server, path, "--param", f"value={json.dumps(value)}", "--format", output)


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def assert_one_line_error(result: subprocess.CompletedProcess, code: int, *words: str) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("idgraph: ")
    assert all(word in line for word in words), line
    return line


# --- 5. output: formulas in CSV, control characters and lists in tables ----------------------


def test_csv_neutralizes_a_device_id_that_is_a_formula(bolt_server, hostile):
    result = run_cli(bolt_server, "shared_devices", "--param", f"ns={NS}",
                     "--param", "min_users=2", "--format", "csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert ',"=HYPERLINK' not in result.stdout
    [row] = csv_rows(result.stdout)
    assert row["device"] == "'" + HYPERLINK
    assert json.loads(row["sample"]) == ["a, b", "c"]  # a list is JSON, which no sheet runs
    assert row["users"] == "2"


def test_csv_neutralizes_an_end_reason_that_is_a_formula(bolt_server, hostile):
    result = run_cli(bolt_server, "links_by_source", *WINDOW, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = csv_rows(result.stdout)
    assert [row["end_reason"] for row in rows if row["end_reason"]] == ["'" + END_REASON]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        pytest.param("=1+1", "'=1+1", id="equals"),
        pytest.param("+1+1", "'+1+1", id="plus"),
        pytest.param("-1+1", "'-1+1", id="minus"),
        pytest.param("@SUM(A1:A2)", "'@SUM(A1:A2)", id="at"),
        pytest.param("\t=1+1", "'\t=1+1", id="tab"),
        pytest.param("\r=1+1", "'\r=1+1", id="carriage-return"),
        pytest.param("a\rb", "a\rb", id="carriage-return-inside-is-quoted"),
        pytest.param("a=1+1", "a=1+1", id="formula-later-in-the-text"),
        pytest.param(" =1+1", " =1+1", id="leading-space"),
        pytest.param(-3, "-3", id="negative-number-stays-a-number"),
        pytest.param(-2.5, "-2.5", id="negative-float-stays-a-number"),
        pytest.param(["=1+1"], '["=1+1"]', id="list-is-json"),
    ],
)
def test_csv_cells_a_spreadsheet_would_run_get_a_leading_apostrophe(
    bolt_server, tmp_path, value, cell
):
    result = echo(bolt_server, tmp_path, value, "csv")
    assert result.exit_code == 0, result.output
    assert csv_rows(result.stdout) == [{"value": cell}]


def test_json_keeps_hostile_values_exact(bolt_server, hostile):
    result = run_cli(bolt_server, "links_by_source", *WINDOW, "--format", "json")
    assert result.exit_code == 0, result.output
    assert END_REASON in [row["end_reason"] for row in json.loads(result.stdout)]


def test_a_newline_in_a_table_cell_is_escaped_on_its_row(bolt_server, hostile):
    result = run_cli(bolt_server, "links_by_source", *WINDOW)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "(3 rows)"
    assert len(lines) == 2 + 3 + 1  # header, rule, a line per row, the count
    [ended] = [line for line in lines if "customId:e1" in line]
    assert ended.rstrip().endswith("=1+1\\nfake row")


def test_a_table_shows_lists_as_json(bolt_server, hostile):
    result = run_cli(bolt_server, "shared_devices", "--param", f"ns={NS}",
                     "--param", "min_users=2")  # fmt: skip
    assert result.exit_code == 0, result.output
    header, _, row, count = result.stdout.splitlines()
    assert row[header.index("sample") :].startswith('["a, b", "c"]')
    assert count == "(1 row)"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("a\nb", "a\\nb", id="line-feed"),
        pytest.param("a\rb", "a\\rb", id="carriage-return"),
        pytest.param("a\tb", "a\\tb", id="tab"),
        pytest.param("a\x1b[31mb", "a\\x1b[31mb", id="terminal-escape"),
        pytest.param("a\u2028b", "a\\u2028b", id="line-separator"),
        pytest.param("a\u202eb", "a\\u202eb", id="right-to-left-override"),
        pytest.param(["a\nb", "c"], '["a\\nb", "c"]', id="in-a-list"),
        pytest.param("ann@x.io", "ann@x.io", id="printable-as-is"),
    ],
)
def test_a_table_cell_shows_control_characters_escaped(bolt_server, tmp_path, value, shown):
    result = echo(bolt_server, tmp_path, value, "table")
    assert result.exit_code == 0, result.output
    rule = "-" * max(len("value"), len(shown))
    assert result.stdout.splitlines() == ["value", rule, shown, "(1 row)"]


# --- 6. the read-only guard ------------------------------------------------------------------


REFUSED = [
    pytest.param("LOAD /**/ CSV FROM 'file:///etc/passwd' AS line RETURN line",
                 "reads files (LOAD CSV)", id="load-csv-around-a-block-comment"),
    pytest.param("LOAD CSV FROM 'file:///nothing.csv' AS line RETURN line",
                 "reads files (LOAD CSV)", id="load-csv"),
    pytest.param("/* ' */ CREATE (n:Evil) /* ' */ RETURN 1",
                 "writes (CREATE)", id="quotes-inside-block-comments"),
    pytest.param("RETURN 1 AS x // it's a comment\nCREATE (n:Evil)",
                 "writes (CREATE)", id="quote-inside-a-line-comment"),
    pytest.param("RETURN '/* not a comment' AS a CREATE (n:Evil) RETURN '*/' AS b",
                 "writes (CREATE)", id="comment-markers-inside-strings"),
    pytest.param("RETURN '// not a comment' AS a CREATE (n:Evil)",
                 "writes (CREATE)", id="line-comment-marker-inside-a-string"),
    pytest.param('RETURN "a \\" /* b" AS a CREATE (n:Evil) RETURN "*/" AS b',
                 "writes (CREATE)", id="escaped-quote-inside-a-string"),
    pytest.param("RETURN 'a \\' /* b' AS a CREATE (n:Evil) RETURN '*/' AS b",
                 "writes (CREATE)", id="escaped-apostrophe-inside-a-string"),
    pytest.param("MATCH (`it's`) CREATE (n:Evil) RETURN '`'",
                 "writes (CREATE)", id="quote-inside-a-backtick-name"),
    pytest.param("RETURN 1 AS x // a comment ends at CR\rCREATE (n:Evil)",
                 "writes (CREATE)", id="line-comment-ended-by-carriage-return"),
    pytest.param("MATCH (n) CALL { WITH n SET n.evil = true } RETURN n",
                 "writes (SET)", id="write-in-a-subquery"),
    pytest.param("INSERT (n:Evil)", "writes (INSERT)", id="gql-insert"),
    pytest.param("MATCH (n) DETACH DELETE n", "writes (DELETE)", id="detach-delete"),
    pytest.param("UNWIND [1] AS x CALL { WITH x RETURN x AS y } IN /* */ TRANSACTIONS RETURN y",
                 "writes (IN TRANSACTIONS)", id="in-transactions"),
    pytest.param("SHOW TRANSACTIONS YIELD transactionId AS t WHERE t = 'none' "
                 "TERMINATE TRANSACTIONS t", "administers (TERMINATE)", id="terminate"),
    pytest.param("ALTER USER nobody SET PASSWORD 'x'", "administers (ALTER)", id="alter-user"),
    pytest.param("GRANT ROLE admin TO nobody", "administers (GRANT)", id="grant"),
    pytest.param("DENY TRAVERSE ON GRAPH * TO reader", "administers (DENY)", id="deny"),
    pytest.param("REVOKE ROLE admin FROM nobody", "administers (REVOKE)", id="revoke"),
    pytest.param("RENAME USER nobody TO mallory", "administers (RENAME)", id="rename"),
    pytest.param("STOP DATABASE nothing", "administers (STOP DATABASE)", id="stop-database"),
    pytest.param("START /* */ DATABASE nothing", "administers (START DATABASE)",
                 id="start-database"),
    pytest.param("CREATE USER mallory SET PASSWORD 'x'", "writes (CREATE)", id="create-user"),
    pytest.param("DROP DATABASE nothing", "writes (DROP)", id="drop-database"),
    pytest.param("CALL db.createLabel('Evil')", "calls db.createLabel", id="write-procedure"),
    pytest.param("CALL /* */ db . createLabel('Evil')", "calls db.createLabel",
                 id="procedure-name-around-a-comment"),
    pytest.param("CALL `db`.`createLabel`('Evil')", "calls db.createLabel",
                 id="procedure-name-in-backticks"),
    pytest.param("MATCH (n) OPTIONAL CALL dbms.killQuery('x') YIELD queryId RETURN n",
                 "calls dbms.killQuery", id="optional-call"),
    pytest.param("RETURN 1 /* CREATE (n:Evil)", "has an unterminated /* comment",
                 id="unterminated-comment"),
    pytest.param("RETURN 'a AS x CREATE (n:Evil)", "has an unterminated ' string",
                 id="unterminated-string"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "refusal"), REFUSED)
def test_a_query_that_is_not_read_only_is_refused_before_it_is_sent(
    bolt_server, hostile, tmp_path, text, refusal
):
    result = run_cli(bolt_server, query_file(tmp_path, text, "sneaky"))
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"idgraph: sneaky.cypher {refusal}")
    assert line.endswith("; idgraph cypher runs read-only queries")
    evil = run_cli(bolt_server, query_file(tmp_path, "MATCH (n:Evil) RETURN count(n) AS n"))
    assert evil.stdout.splitlines()[2] == "0"


ALLOWED = [
    pytest.param("CALL db.labels() YIELD label RETURN count(label) > 0 AS labels",
                 id="read-procedure"),
    pytest.param("CALL dbms.components() YIELD name RETURN count(name) > 0 AS ok",
                 id="dbms-components"),
    pytest.param("CALL db.schema.nodeTypeProperties() YIELD nodeType "
                 "RETURN count(nodeType) > 0 AS ok", id="schema-procedure"),
    pytest.param("CALL { MATCH (p:Profile) RETURN count(p) AS n } RETURN n >= 0 AS ok",
                 id="subquery"),
    pytest.param("MATCH (p:Profile) CALL (p) { RETURN p.id AS id } RETURN count(id) >= 0 AS ok",
                 id="scoped-subquery"),
    pytest.param("RETURN 'CREATE (n) // SET' <> \"MERGE /* DELETE */\" AS ok",
                 id="clauses-in-strings"),
    pytest.param("// SET x\n/* CREATE\n DELETE ' */ RETURN true AS ok // DROP",
                 id="clauses-in-comments"),
    pytest.param("WITH 1 AS `SET` RETURN `SET` = 1 AS ok", id="clause-as-a-quoted-name"),
    pytest.param("RETURN 'it\\'s' STARTS WITH 'it' AS ok", id="escaped-quote"),
    pytest.param("SHOW TRANSACTIONS YIELD transactionId RETURN count(*) > 0 AS ok",
                 id="show-transactions"),
]  # fmt: skip


@pytest.mark.parametrize("text", ALLOWED)
def test_a_read_only_query_runs(bolt_server, hostile, tmp_path, text):
    result = run_cli(bolt_server, query_file(tmp_path, text), "--format", "json")
    assert result.exit_code == 0, result.output
    assert all(value is True for row in json.loads(result.stdout) for value in row.values())


def test_parameters_named_like_clauses_are_names(bolt_server, hostile, tmp_path):
    path = query_file(tmp_path, "// params: $set, $call\nRETURN $set = $call AS ok")
    result = run_cli(bolt_server, path, "--param=set=1", "--param=call=1", "--format=json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"ok": True}]


def parameters_of(name: str) -> list[str]:
    """Values for the parameters a bundled query declares: an empty namespace, counts of 1,
    and text that compares as a time."""
    statement = Statement.read(CYPHER_DIR / "analytics" / f"{name}.cypher")
    pairs = []
    for param in sorted(statement.params):
        number = param == "limit" or param.startswith(("min_", "max_"))
        value = "1" if number else "nobody" if param == "ns" else "2026-01-01"
        pairs += ["--param", f"{param}={value}"]
    return pairs


@pytest.mark.parametrize("name", available_queries())
def test_every_bundled_query_passes_the_guard_and_runs(bolt_server, hostile, name):
    result = run_cli(bolt_server, name, *parameters_of(name), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


# --- 7. errors and exit codes ----------------------------------------------------------------


def test_a_parameter_of_the_wrong_type_is_one_line_from_the_server(bolt_server, hostile):
    result = idgraph(bolt_server.environment(), "largest_profiles",
                     "--param", f"ns={NS}", "--param", "limit=ten")  # fmt: skip
    assert_one_line_error(
        result, 2, "Neo4j refused largest_profiles.cypher", "Neo.ClientError.Statement.",
        "Type mismatch for parameter 'limit'",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("MATCH (n RETURN n", ("Neo.ClientError.Statement.SyntaxError",
                                           "Invalid input 'RETURN'"), id="syntax"),
        pytest.param("RETURN 1 / 0 AS x", ("Neo.ClientError.Statement.ArithmeticError",
                                           "/ by zero"), id="arithmetic"),
    ],
)  # fmt: skip
def test_a_statement_the_server_refuses_is_one_line_and_exit_2(
    bolt_server, hostile, tmp_path, text, words
):
    result = idgraph(bolt_server.environment(), query_file(tmp_path, text, "bad"))
    assert_one_line_error(result, 2, "Neo4j refused bad.cypher", *words)


def test_a_server_that_does_not_answer_is_one_line_and_exit_1(bolt_server, tmp_path):
    environment = {**bolt_server.environment(), "IDGRAPH_STORE": f"bolt://127.0.0.1:{free_port()}"}
    result = idgraph(environment, query_file(tmp_path, "RETURN 1 AS one"))
    assert_one_line_error(result, 1, "cannot open Neo4j store bolt://127.0.0.1:")


def test_a_query_file_that_is_not_utf8_is_one_line_and_exit_2(bolt_server, tmp_path):
    path = tmp_path / "latin1.cypher"
    path.write_bytes("RETURN 'café' AS x\n".encode("latin-1"))
    result = idgraph(bolt_server.environment(), str(path))
    assert_one_line_error(result, 2, "latin1.cypher", "UTF-8")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("NaN", "NaN", id="nan-is-text"),
        pytest.param("Infinity", "Infinity", id="infinity-is-text"),
        pytest.param("-Infinity", "-Infinity", id="minus-infinity-is-text"),
        pytest.param("[1, NaN]", "[1, NaN]", id="nan-in-a-list-is-text"),
        pytest.param("-3", -3, id="integer"),
        pytest.param("2.5e3", 2500.0, id="float"),
        pytest.param("9223372036854775807", 2**63 - 1, id="largest-integer"),
        pytest.param('"NaN"', "NaN", id="quoted"),
    ],
)
def test_parameter_values_are_strict_json(bolt_server, tmp_path, text, value):
    path = query_file(tmp_path, ECHO, "echo")
    result = run_cli(bolt_server, path, "--param", f"value={text}", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"value": value}]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("9223372036854775808", id="integer-beyond-64-bits"),
        pytest.param("[1, -9223372036854775809]", id="in-a-list"),
        pytest.param("1e999", id="float-beyond-double"),
    ],
)
def test_a_number_neo4j_cannot_hold_is_refused(bolt_server, tmp_path, text):
    result = idgraph(bolt_server.environment(), query_file(tmp_path, ECHO, "echo"),
                     "--param", f"value={text}")  # fmt: skip
    assert_one_line_error(result, 2, f"--param value={text}", "beyond")
