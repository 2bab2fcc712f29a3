"""Nothing acknowledged is lost: the crash test (benchmarks/crash.py) in a short run, and its
check shown able to see a loss and a broken rule, so that its "lost 0" means something.

The full run is `make crash-test` (20 kills); its figures are in benchmarks/README.md."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from graph.replays import record_of
from graph.rules import RuleBook
from graph.service import IdentityService, LinkRequest
from graph.store.sqlite.store import SqliteStore

pytestmark = pytest.mark.e2e

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


@pytest.mark.parametrize("on", ["sqlite", "neo4j"])
def test_a_server_killed_three_times_loses_nothing_it_acknowledged(request, tmp_path, on):
    """On Neo4j only idgraph is killed: what Neo4j committed is Neo4j's to keep, and what
    idgraph acknowledged must be among it. Each server acknowledges ten requests before its
    random second to live begins, so that on any machine the workload reaches its merges."""
    output = tmp_path / "crash.json"
    environment, store = dict(os.environ), []
    if on == "neo4j":
        server = request.getfixturevalue("bolt_server")
        environment.update(server.environment())
        store = ["--store", server.uri]
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "crash.py"), "--kills", "3", "--max-uptime", "1.0",
         "--min-acknowledged", "10", "--json", str(output), *store],
        capture_output=True,
        text=True,
        timeout=300,  # a cold Neo4j compiles every statement on first use
        env=environment,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures = json.loads(output.read_text())
    assert figures["kills"] == 3
    assert figures["acknowledged"] > 0
    assert figures["checked_items"] == figures["acknowledged_items"] > 0
    assert figures["lost"] == 0 and figures["rule_violations"] == 0, figures
    assert figures["server_errors"] == 0 and figures["replay_answers_changed"] == 0
    assert figures["acknowledged_replayed"] > 0
    assert {"created", "linked", "merged", "conflict"} <= set(figures["outcomes"])


@pytest.fixture
def crash_check(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import crash_check

    return crash_check


def acknowledge(service, crash_check, request_id, *items):
    """Apply a request as the server would and keep its answer, as a client would."""
    request = crash_check.Request(
        request_id,
        tuple(crash_check.Item("test", tuple(identifiers), {}) for identifiers in items),
    )
    requests = [LinkRequest(list(item.identifiers), item.attributes) for item in request.items]
    result = service.linking.link(
        "crash", requests, source=crash_check.SOURCE, request_id=request_id
    )
    answer = record_of(result.request_id, result.results)  # as the API answers it
    return crash_check.Acknowledged(request, answer)


def test_the_crash_check_sees_a_lost_write_and_a_broken_rule(tmp_path, crash_check):
    path = tmp_path / "crash.db"
    store = SqliteStore(path)
    service = IdentityService(store)
    ann = [("email", "ann@x.io"), ("customId", "C1")]
    bob = [("email", "bob@x.io"), ("customId", "C2")]
    acknowledged = [
        acknowledge(service, crash_check, "r1", ann, bob),
        acknowledge(service, crash_check, "r2", [("customId", "C1"), ("customId", "C2")]),
    ]
    store.close()
    rules = RuleBook().for_namespace("crash")
    url = f"sqlite:///{path}"
    clean = crash_check.check_store(url, "crash", acknowledged, rules)
    assert (clean.lost, clean.violations) == ({}, {}) and clean.checked_items == 3

    # an answer the store never saw: its request, its item, its links are lost
    never = crash_check.Acknowledged(
        crash_check.Request("r3", (crash_check.Item("test", (("email", "cy@x.io"),
                                                             ("customId", "C3")), {}),)),
        {"request_id": "r3", "results": [{"index": 0, "outcome": "created", "profile_id": 1}]},
    )  # fmt: skip
    lost = crash_check.check_store(url, "crash", [*acknowledged, never], rules)
    assert set(lost.lost) == {"request record", "item's identifiers in one profile"}

    # Bob's email moved into Ann's profile behind the rules' back
    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE identifiers SET profile_id = (SELECT profile_id FROM identifiers "
            "WHERE key = 'email:ann@x.io') WHERE key = 'email:bob@x.io'"
        )
    broken = crash_check.check_store(url, "crash", acknowledged, rules)
    assert {"unique_type:email", "profile is not a component"} <= set(broken.violations)
    assert "item's identifiers in one profile" in broken.lost
