"""tools/lint_cypher.js: Neo4j's own Cypher linter over every .cypher file, against the model
declared in cypher/schema.cypher and the parameters each file declares."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
LINTER = ROOT / "tools" / "lint_cypher.js"
NODE_MODULES = ROOT / "tools" / "cypher-lint" / "node_modules"


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None or not NODE_MODULES.is_dir():
        pytest.fail("run `make test` (it runs npm ci in tools/cypher-lint)")
    return subprocess.run(
        [node, str(LINTER), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,  # ~25 s on 2 quiet cores; a guard against a hang, not a speed check
        check=False,
    )


def test_every_cypher_file_of_the_repository_lints_clean():
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("files, 0 problems")


# (file name, text, a problem it must report): all linted in one run of node, which takes ~2 s
BROKEN = [
    (
        "undeclared-parameter",
        "MATCH (i:Identifier {ns: $nss}) RETURN i.key\n",
        ":1:26: error: Parameter $nss is not defined.",
    ),
    (
        "exists-function",
        "MATCH (i:Identifier) WHERE exists(i.key) RETURN i\n",
        ":1:28: error: The property existence syntax `... exists(variable.property)`",
    ),
    (
        "misspelt-label",
        "MATCH (i:Identifer) RETURN i\n",
        ":1:10: warning: Label Identifer is not present in the database.",
    ),
    (
        "misspelt-relationship-type",
        "MATCH (:Identifier)-[:MEMBER_OFF]->(p:Profile) RETURN p\n",
        ":1:23: warning: Relationship type MEMBER_OFF is not present in the database.",
    ),
    (
        "misspelt-property",
        "// params: $ns\nMATCH (i:Identifier {ns: $ns})\nRETURN i.profil_id\n",
        ":3:10: warning: profil_id is not present in the database.",
    ),
    (
        "misspelt-property-of-a-node-in-a-pattern",
        "// params: $rows\nUNWIND $rows AS row\n"
        "MATCH (a:Identifier {key: row.a})-[:MEMBER_OF]->(p:Profile {id: a.profil_id})\n"
        "RETURN p\n",
        ":3:67: warning: profil_id is not present in the database.",
    ),
    # the package checks names in reading clauses only; lint_cypher.js checks the others
    (
        "create-misspelt-label",
        "// params: $ns\nCREATE (:Profil {ns: $ns, id: 1})\n",
        ":2:10: warning: Label Profil is not present in the database.",
    ),
    (
        "merge-misspelt-label",
        "// params: $ns, $key\nMERGE (i:Identifer {ns: $ns, key: $key})\nRETURN i\n",
        ":2:10: warning: Label Identifer is not present in the database.",
    ),
    (
        "create-misspelt-relationship-type",
        "MATCH (a:Identifier {key: 'a'})\nMATCH (b:Identifier {key: 'b'})\n"
        "CREATE (a)-[:LINKD {id: 1}]->(b)\n",
        ":3:14: warning: Relationship type LINKD is not present in the database.",
    ),
    (
        "set-misspelt-property",
        "MATCH (i:Identifier)\nSET i.craeted_at = datetime()\nRETURN i.craeted_at\n",
        ":2:7: warning: craeted_at is not present in the database.",
    ),
    (
        "set-map-misspelt-property",
        "// params: $at\nMATCH (p:Profile)\nSET p += {updated_at: $at, recognised: true}\n",
        ":3:28: warning: recognised is not present in the database.",
    ),
    (
        "on-create-set-misspelt-property",
        "// params: $rows\nUNWIND $rows AS row\nMERGE (i:Identifier {key: row.key})\n"
        "ON CREATE SET i.tpye = row.type\n",
        ":4:17: warning: tpye is not present in the database.",
    ),
    (
        "create-map-misspelt-property",
        "// params: $ns, $rows\nUNWIND $rows AS row\nCREATE (:Profile {ns: $ns, idd: row.id})\n",
        ":3:28: warning: idd is not present in the database.",
    ),
    (
        "index-misspelt-property",
        "CREATE INDEX identifier_profile IF NOT EXISTS\n"
        "FOR (i:Identifier) ON (i.ns, i.profil_id);\n",
        ":2:32: warning: profil_id is not present in the database.",
    ),
    (
        "constraint-misspelt-label",
        "CREATE CONSTRAINT profile_id IF NOT EXISTS\n"
        "FOR (p:Profil) REQUIRE (p.ns, p.id) IS UNIQUE;\n",
        ":2:8: warning: Label Profil is not present in the database.",
    ),
    (
        "declared-parameter-unused",
        "// Look up identifiers.\n// params: $ns, $rows\nMATCH (i:Identifier {ns: $ns}) RETURN i\n",
        ":2:17: error: Parameter $rows is declared but never used.",
    ),
    (
        "declared-parameter-without-dollar",
        "// params: $ns, rows\nMATCH (i:Identifier {ns: $ns}) RETURN i\n",
        ':1:17: error: Malformed declaration "rows"',
    ),
    (
        "deprecated-function",
        "MATCH (i:Identifier) RETURN id(i)\n",
        ":1:29: warning: The query used a deprecated function.",
    ),
    (
        "syntax-error-in-second-statement",
        "MATCH (i:Identifier) RETURN i;\nMATCH (i:Identifier RETURN i;\n",
        ":2:21: error: Invalid input 'RETURN'",
    ),
]


# linted with the broken files (one run of node): no false positive on write statements
VALID = (
    "// Link identifiers of one batch; row fields are no property keys of the model.\n"
    "// params: $ns, $rows, $at, $defaults\n"
    "UNWIND $rows AS row\n"
    "MATCH (a:Identifier {ns: $ns, key: row.a})-[:MEMBER_OF]->(p:Profile)\n"
    "WHERE p.merged_into IS NULL AND a.created_at <= coalesce(row.until, $at)\n"
    "CREATE (a)-[:LINKED {id: randomUUID(), created_at: datetime(),\n"
    "  ended_at: datetime() + duration('P1D')}]->(a)\n"
    "RETURN elementId(a), size(collect(p.id)), range(1, 3);\n"
    "\n"
    "// Keys of rows, of $maps and of the maps a statement makes are no property keys.\n"
    "UNWIND $rows AS row\n"
    "WITH row, {first: row.ids[0], json: row.attributes} AS extra\n"
    "MERGE (i:Identifier {ns: $ns, key: row.key})\n"
    "ON CREATE SET i.type = row.type, i.value = row.value.text, i.created_at = $at\n"
    "ON MATCH SET i += {request_id: row.request.id}\n"
    "MERGE (p:Profile {ns: $ns, id: coalesce(row.profile, $defaults.profile)})\n"
    "SET p += {updated_at: $at, attributes: extra.json}\n"
    "CREATE (i)-[:MEMBER_OF]->(p)\n"
    "RETURN i {.key, .type, profile: p {.id, live: p.merged_into IS NULL}},\n"
    "  {first: extra.first, unknown: row.nope, nested: {deeper: $defaults.x}} AS echo\n"
)


@pytest.fixture(scope="module")
def broken_lint(tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("broken")
    for name, text, _ in [*BROKEN, ("valid", VALID, None)]:
        (folder / f"{name}.cypher").write_text(text, encoding="utf-8")
    result = lint(*sorted(folder.iterdir()))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{len(BROKEN) + 1} files," in result.stdout, result.stdout
    return folder, result.stdout


@pytest.mark.parametrize(("name", "expected"), [pytest.param(n, e, id=n) for n, _, e in BROKEN])
def test_a_broken_statement_fails(broken_lint, name, expected):
    folder, output = broken_lint
    problem = f"{folder / name}.cypher{expected}"
    assert any(line.startswith(problem) for line in output.splitlines()), output


def test_a_problem_is_reported_once(broken_lint):
    # the package and lint_cypher.js both check the names of reading clauses
    _, output = broken_lint
    places = [line.split(": ", 1)[0] for line in output.splitlines()[:-1]]
    assert len(places) == len(set(places)), output


def test_a_valid_statement_passes(broken_lint):
    folder, output = broken_lint
    valid = f"{folder / 'valid.cypher'}:"
    assert not any(line.startswith(valid) for line in output.splitlines()), output
