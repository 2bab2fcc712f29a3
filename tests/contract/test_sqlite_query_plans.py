"""Query plans on SQLite: no statement a request runs reads a whole table, or a whole
namespace of one, where an index could find its rows.

A scenario of requests (link batches with a merge, a refusal and attributes; lookups, lineage,
explain and time travel; ending a link, undoing a merge; a purge) runs through the service on a
real store file, every statement recorded as SQLite ran it (``set_trace_callback`` on the
connection of the thread, values included). Each is then planned with ``EXPLAIN QUERY PLAN``
on the same file, which holds the schema's seeded statistics as any store does.

A plan reads too much when one of its steps is ``SCAN <table>`` (every row) or ``SEARCH
<table> USING ... (ns=?)`` (every row of a namespace). The issue this guards most: random keys
made SQLite slow as a store grew, so links are indexed by integer identifier ids (schema 7);
a statement that finds links by key without going through an identifier's id reads its
whole namespace: quick at test sizes, a gigabyte read at ten million. NAMESPACE_READS lists the
statements that read a namespace on purpose, with why; an entry that nothing matches fails,
so the list stays true.
"""

from __future__ import annotations

import re
import sqlite3

from graph.items import LinkRequest
from graph.rules import RuleBook
from graph.service import IdentityService
from graph.store.sqlite.store import SqliteStore

NS = "shop"
# statements reading a whole namespace of a table on purpose: (what the statement starts
# with, the table read) -> why
NAMESPACE_READS = {
    ("SELECT floor.name", "floor"): "the floor of the sequences (ns ''): a row per kind of id",
    ("SELECT 1 FROM bans WHERE ns", "bans"): (
        "does the namespace hold any ban at all: the first row answers, and most namespaces "
        "hold none"
    ),
    ("DELETE FROM conflicts WHERE ns", "conflicts"): (
        "a purge erases the refusals naming any of the person's identifiers, which are kept as "
        "a JSON list no index searches (docs/storage.md)"
    ),
    ("DELETE FROM requests WHERE ns", "requests"): (
        "a purge erases the kept answers naming the person, read from each answer's JSON "
        "(graph/store/sqlite/purge.py)"
    ),
}
# a subquery SQLite makes first and then reads whole: its own rows, not a table's
_SUBQUERY = re.compile(r"^(?:MATERIALIZE|CO-ROUTINE) (\w+)")
# a step reading every row of a table (a virtual one, json_each, reads its argument), or of
# a namespace
_WIDE = re.compile(r"^(?:SCAN (\w+)(?!\w| VIRTUAL)|SEARCH (\w+) USING (?:\w+ )*?\(ns=\?\)$)")


def _requests(*pairs: tuple[str, str], **attributes) -> list[LinkRequest]:
    return [LinkRequest(pairs, attributes)]


def _scenario(service: IdentityService) -> None:
    """Requests of every kind a user makes, most of them finding links by their identifiers."""
    link = service.linking.link
    link(NS, _requests(("email", "ann@x.io"), ("deviceId", "d1")), source="crm")
    link(NS, _requests(("deviceId", "d2"), ("browserId", "b2")), source="web")
    merged = link(NS, _requests(("deviceId", "d1"), ("deviceId", "d2")), source="web")
    link(NS, _requests(("email", "bob@x.io"), ("deviceId", "d2"), plan="gold"), source="crm")
    link(NS, _requests(("deviceId", "d3"), ("browserId", "b3")), source="web")
    (outcome,) = merged.results
    survivor = outcome.outcome.profile_id

    reading, history = service.reading, service.history
    reading.profile_by_identifier(NS, "deviceId", "d1")
    reading.profile(NS, survivor)
    history.lineage(NS, survivor)
    history.explain(NS, ("email", "ann@x.io"), ("browserId", "b2"))
    page = history.lineage(NS, survivor)
    history.profile_at(NS, survivor, page.links[0].created_at)
    assert reading.conflicts(NS, profile_id=survivor).conflicts  # bob's email was refused
    reading.list_profiles(NS, having=["email"])
    merge = history.lineage(NS, survivor).merges[0]
    history.undo_merge(NS, merge.id, reason="test", ban=True)
    third = reading.profile_by_identifier(NS, "deviceId", "d3")
    (active,) = [x for x in history.lineage(NS, third.id).links if x.ended_at is None]
    history.end_link(NS, active.id, reason="test", ban=True)
    history.bans(NS, identifier=("deviceId", "d3"))
    service.erasure.purge(NS, reading.profile_by_identifier(NS, "email", "ann@x.io").id,
                          purged_by="admin")  # fmt: skip


def test_no_statement_of_a_request_reads_a_whole_namespace(tmp_path):
    path = tmp_path / "s.db"
    store = SqliteStore(path)
    ran: list[str] = []
    try:
        store.read(lambda tx: tx.connection.set_trace_callback(ran.append))
        _scenario(IdentityService(store, RuleBook()))
    finally:
        store.close()
    assert len(ran) > 50  # the recording saw the scenario

    wide, allowed = [], set()
    with sqlite3.connect(path) as connection:
        for statement in dict.fromkeys(s.strip() for s in ran):
            if not statement.upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")):
                continue  # BEGIN, COMMIT, PRAGMA
            subqueries = set()  # a subquery's own rows, read as it made them
            for *_, detail in connection.execute("EXPLAIN QUERY PLAN " + statement):
                if made := _SUBQUERY.match(detail):
                    subqueries.add(made.group(1))
                if not (found := _WIDE.match(detail)) or found.group(1) in subqueries:
                    continue
                table = found.group(1) or found.group(2)
                known = [k for k in NAMESPACE_READS if statement.startswith(k[0]) and k[1] == table]
                allowed.update(known)
                if not known:
                    wide.append(f"{detail}\n    in {' '.join(statement.split())[:300]}")
    assert not wide, "statements reading a whole table or namespace:\n" + "\n".join(wide)
    assert allowed == set(NAMESPACE_READS), "listed but never seen: " + str(
        set(NAMESPACE_READS) - allowed
    )
