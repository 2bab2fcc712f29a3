"""Query plans on the real Neo4j: no statement on a request's path reads a whole label.

Every file under cypher/store/ (the folder is listed, so a new file is checked without touching
this module), cypher/analytics/ and cypher/migrate/ is planned with ``EXPLAIN`` on the Neo4j of
tests/conftest.py, holding the schema of cypher/schema.cypher (constraints, indexes, seed nodes)
and no data, with parameters bound: values of the right shape invented from each file's
``// params:`` line, and for ``$rows`` rows holding every ``row.<name>`` the statement reads.

A statement scans when an operator of its plan has a name ending in ``Scan``: it reads every
node of a label (``NodeByLabelScan``, ``AllNodesScan``, the ``...NodeByLabelsScan`` of several
labels), every relationship of a type (``DirectedRelationshipTypeScan``,
``UndirectedRelationshipTypeScan``, ``...AllRelationshipsScan``) or every entry of an index
(``NodeIndexScan``, ``...RelationshipIndexScan``, the ``Contains``/``EndsWith`` scans), of every
namespace. Seeks (``NodeIndexSeek``, ``NodeUniqueIndexSeek``, ``...RelationshipIndexSeek``)
and expansions from a node found by one are what a request should use.

- A statement of cypher/store/ that scans fails, naming the operator and what it reads,
  unless KNOWN_SCANS lists it with the reason; the fix is usually an index in
  cypher/schema.cypher, or a predicate the index can serve (no OR across properties, a
  relationship found by an indexed property or from an anchored node).
- Analytics and migration queries may read the whole graph, but WHOLE_GRAPH lists which do
  and why, so a reader sees which are whole-graph by design.
- A listed statement that no longer scans fails too: the lists stay true.

Not counted as a scan: a seek of a composite index by its first property alone, with
``IS NOT NULL`` or an open range on the others. It reads every node of the label in one
namespace, never in every namespace. purge_conflicts, purge_requests and unmarked_requests
do that on purpose (no index finds an element of a list property, or a missing property),
as do several analytics queries (largest_profiles, departures, conflicts_per_day).

Plans are made with ``CYPHER replan=force`` (no plan cached under other statistics) on an
emptied database, once its indexes are online and resampled, and only there if the database
has no index that schema.cypher does not declare: a long-lived Neo4j (NEO4J_URI) keeping an
index dropped from the schema would hide the scan this test is for. The resampling matters: an
index whose sample still counts what earlier tests wrote and deleted can look cheap to read
whole, and the planner then scans MERGED_INTO(id) for migrate/merges.cypher where a fresh
sample seeks it. Lists are bound with two elements: Neo4j plans ``x IN $list`` of one element
as ``x = $list[0]``, of several as requests send them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import neo4j
import pytest

from graph.store.cypher import CYPHER_DIR, Statement

# Request-path statements that read a whole label anyway, with why.
KNOWN_SCANS: dict[str, str] = {
    "store/every_api_key.cypher": (
        "`idgraph keys list` without --namespace lists every API key of every namespace: it "
        "reads them all, a handful of nodes an administrator makes; never on a request's path"
    ),
    "store/name_conflict_profiles.cypher": (
        "gives refusals kept by an idgraph before NAMES their relationships, a batch at a "
        "time, once per store (SchemaStep 'conflict_names'), when the store first opens with "
        "this version; never on a request's path"
    ),
    "store/namespaces.cypher": (
        "`idgraph rekey` without --namespace finds every namespace of the store: it reads "
        "every identifier once, before reading each namespace's identifiers anyway; never on "
        "a request's path"
    ),
}

# Analytics and migration queries that read a whole label or relationship type, by design.
WHOLE_GRAPH: dict[str, str] = {
    "migrate/counts.cypher": (
        "counts every node and relationship of each kind in every namespace, to compare the "
        "target with the source of a migration: it reads them all"
    ),
    "migrate/sequence_values.cypher": (
        "reads every sequence of every namespace, to compare the target with the source of a "
        "migration"
    ),
    "migrate/target_contents.cypher": (
        "counts the target's nodes, all and by label (from the counts store), and reads its "
        "Migration nodes, once before a migration starts, to refuse a target holding data"
    ),
    "migrate/checkpoint.cypher": (
        "Migration nodes have no index: one per table of each source a migration came from, "
        "a few dozen at most, written once per copied batch"
    ),
    "migrate/checkpoints.cypher": (
        "Migration nodes have no index: one per table of each source, read once when a "
        "migration starts or resumes"
    ),
    "migrate/claim.cypher": (
        "Migration nodes have no index: one per table of each source, merged once when a "
        "migration starts"
    ),
}

REQUEST_PATH = ("store",)
WHOLE_GRAPH_FOLDERS = ("analytics", "migrate")
EXPLAIN = "CYPHER replan=force EXPLAIN\n"
GRAPH_COUNTS = "CALL db.stats.retrieve('GRAPH COUNTS') YIELD data RETURN data"
DECLARED_SCHEMA = re.compile(r"^CREATE (?:CONSTRAINT|INDEX) (\w+)", re.MULTILINE)


def cypher_files(folders: tuple[str, ...]) -> list[str]:
    """``folder/name.cypher`` of every statement file of ``folders``."""
    return sorted(
        f"{folder}/{path.name}"
        for folder in folders
        for path in (CYPHER_DIR / folder).iterdir()
        if path.name.endswith(".cypher")
    )


def statement(name: str) -> Statement:
    folder, file = name.split("/")
    return Statement.read(CYPHER_DIR / folder / file)


# --- parameters of the right shape ---------------------------------------------------------------

AT = "2026-11-23T12:00:00.000000Z"
KEYS = ["email:ann@example.com", "browserId:b-1"]
LISTS: dict[str, list[Any]] = {
    "keys": KEYS,
    "ids": [1, 2],
    "profiles": [1, 2],
    "types": ["email", "customId"],
    "rights": ["read", "write"],
    "tables": ["profiles", "identifiers"],
    "names": ["schema 0123456789abcdef", "conflict_names"],
}
ROW_LISTS: dict[str, list[Any]] = {  # a row's field of that name, when it differs
    "identifiers": [["email", "ann@example.com"], ["browserId", "b-1"]],
}
INTEGERS = {
    "id", "profile_id", "absorbed", "survivor", "live", "merged_into", "parent_id",
    "merge_id", "link_id", "item_index", "position", "next", "limit", "identifiers",
    "min_emails", "min_users", "min_hops",
}  # fmt: skip
TIMES = {
    "at", "since", "from", "to", "before", "created_at", "updated_at", "ended_at", "written_at",
}  # fmt: skip
FLAGS = {"active_only", "recognized"}
ROW_FIELD = re.compile(r"\brow\.(\w+)")
AFTER_A_KEY = re.compile(r"\.key\s*>\s*\$after\b")


def invented(name: str, text: str, *, in_row: bool = False) -> Any:
    """A value for parameter (or row field) ``name`` of the statement ``text``: a key, an id, a
    time, a list of two of them...; any other name is text (a namespace, a request id, JSON)."""
    if in_row and name in ROW_LISTS:
        return ROW_LISTS[name]
    if name in LISTS:
        return LISTS[name]
    if name in INTEGERS:
        return 1
    if name in TIMES:
        return AT
    if name in FLAGS:
        return False
    if name == "after":  # a page starts after a key, or after an id
        return "" if AFTER_A_KEY.search(text) else 0
    if name.endswith("key"):
        return KEYS[0]
    return "shop"


def parameters(statement: Statement) -> dict[str, Any]:
    """Every declared parameter bound; ``$rows`` as two rows holding each ``row.<name>``."""
    bound = {name: invented(name, statement.text) for name in statement.params - {"rows"}}
    if "rows" in statement.params:
        fields = sorted(set(ROW_FIELD.findall(statement.text)))
        row = {field: invented(field, statement.text, in_row=True) for field in fields}
        bound["rows"] = [row, dict(row)]
    return statement.bind(bound)


# --- plans -------------------------------------------------------------------------------------


def scans(plan: dict[str, Any]) -> list[str]:
    """Each operator of the plan tree that reads a whole label, type or index, with what it
    reads. The Python driver gives the plan as a dict: ``operatorType`` ('NodeByLabelScan@neo4j'),
    ``args`` (its ``Details``: 'k:ApiKey', '(a)-[l:LINKED]->(b)'), ``children``."""
    operator = plan["operatorType"].split("@")[0]
    found = [f"{operator} {plan['args'].get('Details', '')}"] if operator.endswith("Scan") else []
    for child in plan.get("children", []):
        found += scans(child)
    return found


def undeclared_indexes(session: neo4j.Session) -> list[str]:
    """Indexes (constraints' too) of the database that cypher/schema.cypher does not create."""
    schema = (CYPHER_DIR / "schema.cypher").read_text(encoding="utf-8")
    declared = set(DECLARED_SCHEMA.findall(schema))
    present = session.run("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name")
    return sorted({row["name"] for row in present} - declared)


def resample_indexes(session: neo4j.Session, timeout: float = 60.0) -> None:
    """Index samples that match the data, not what earlier tests wrote and deleted."""
    session.run("CALL db.resampleOutdatedIndexes()").consume()
    deadline = time.monotonic() + timeout
    while stale := [
        index for index in session.run(GRAPH_COUNTS).single()["data"]["indexes"]
        if index["updatesSinceEstimation"]
    ]:  # fmt: skip
        assert time.monotonic() < deadline, f"indexes still not resampled: {stale}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def plan_scans(bolt_server, neo4j_store_emptied) -> Iterator[Callable[[str], list[str]]]:
    """The scans of a statement's plan, by ``folder/name.cypher``, on the schema alone."""
    neo4j_store_emptied()  # the schema and its seed nodes: no data other tests left
    auth = (bolt_server.user, bolt_server.password)
    with (
        neo4j.GraphDatabase.driver(
            bolt_server.uri, auth=auth, notifications_min_severity="OFF"
        ) as driver,
        driver.session(database=bolt_server.database) as session,
    ):
        session.run("CALL db.awaitIndexes(300)").consume()
        resample_indexes(session)
        extra = undeclared_indexes(session)
        assert not extra, f"drop the indexes cypher/schema.cypher does not declare: {extra}"

        def explain(name: str) -> list[str]:
            read = statement(name)
            return scans(session.run(EXPLAIN + read.text, parameters(read)).consume().plan)

        yield explain


def check(name: str, found: list[str], listed: dict[str, str]) -> None:
    if name in listed:
        assert found, f"{name} scans no more: take it off the list ({listed[name]!r})"
    else:
        assert not found, (
            f"{name} reads a whole label, type or index: {'; '.join(found)}. Give it an index "
            "(cypher/schema.cypher) or a predicate one serves, or list it here with the reason"
        )


@pytest.mark.parametrize("name", cypher_files(REQUEST_PATH))
def test_a_request_path_statement_reads_no_whole_label(plan_scans, name):
    check(name, plan_scans(name), KNOWN_SCANS)


@pytest.mark.parametrize("name", cypher_files(WHOLE_GRAPH_FOLDERS))
def test_analytics_and_migration_queries_reading_the_whole_graph_are_listed(plan_scans, name):
    check(name, plan_scans(name), WHOLE_GRAPH)


def test_every_listed_statement_is_a_file_of_its_folder():
    assert set(KNOWN_SCANS) <= set(cypher_files(REQUEST_PATH))
    assert set(WHOLE_GRAPH) <= set(cypher_files(WHOLE_GRAPH_FOLDERS))
    assert all(reason.strip() for reason in [*KNOWN_SCANS.values(), *WHOLE_GRAPH.values()])
