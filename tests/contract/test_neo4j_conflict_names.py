"""A Neo4j store written before refusals named their profiles by relationship (NAMES): opened
by this version, its refusals are found from their profiles, as the ones it writes are."""

from __future__ import annotations

from graph.store.cypher import CYPHER_DIR, Statement
from tests.contract.test_store_contract import item, write

FORGET_NAMES = Statement.read(CYPHER_DIR / "testing" / "forget_conflict_names.cypher")
NS = "shop"


def naming(store, *profiles: int) -> list[int]:
    page = {"since": None, "after_id": 0, "limit": 9, "profiles": profiles}
    return [c.id for c in store.read(lambda tx: tx.conflicts(NS, **page))]


def test_refusals_kept_before_names_are_found_from_their_profiles_once_the_store_opens(
    empty_bolt_server,
):
    store = empty_bolt_server.open_store()
    try:
        [a] = write(store, item("email:a@x.io", "deviceId:d1"), ns=NS)
        [b] = write(store, item("email:b@x.io", "deviceId:d2"), ns=NS)
        [refused] = write(store, item("deviceId:d1", "email:b@x.io"), ns=NS)  # two emails
        assert refused.kind == "conflict"
        found = naming(store, a.profile_id)
        assert found and found == naming(store, b.profile_id) == naming(store, b.profile_id, 99)

        store.run(FORGET_NAMES, write=True)
        assert naming(store, a.profile_id) == []  # the relationship is what finds them
    finally:
        store.close()

    reopened = empty_bolt_server.open_store()
    try:
        assert naming(reopened, a.profile_id) == naming(reopened, b.profile_id) == found
        assert naming(reopened, 99) == []
    finally:
        reopened.close()
