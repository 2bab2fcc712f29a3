"""A lookup on Neo4j while a merge commits. Reads there are read committed, so one statement
can read an identifier before a merge commits and its profile after: the identifier still
names the profile just absorbed. The lookup follows it to the survivor (the concurrency suite
saw a 404 for an identifier written long before)."""

from __future__ import annotations

from graph.store.cypher import CYPHER_DIR, Statement
from tests.contract.test_store_contract import item, write

NAME_ABSORBED = Statement.read(CYPHER_DIR / "testing" / "name_absorbed_profile.cypher")
NS = "shop"


def test_a_lookup_that_reads_the_absorbed_profile_answers_the_survivor(empty_bolt_server):
    store = empty_bolt_server.open_store()
    try:
        write(store, item("email:a@x.io", "deviceId:d1"), ns=NS)
        write(store, item("deviceId:d2"), ns=NS)
        [merge] = write(store, item("deviceId:d1", "deviceId:d2"), ns=NS)
        assert merge.kind == "merged"
        survivor, absorbed = merge.profile_id, merge.absorbed[0]

        store.run(NAME_ABSORBED, write=True, ns=NS, key="deviceId:d2", absorbed=absorbed)
        view = store.read(lambda tx: tx.profile_view_of(NS, "deviceId:d2"))

        assert view is not None and view.id == survivor and view.aliases == (absorbed,)
        # d2 itself is not among them: here its row stays as that read saw it
        assert {i.value for i in view.identifiers} == {"a@x.io", "d1"}
    finally:
        store.close()
