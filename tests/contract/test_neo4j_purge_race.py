"""A purge on Neo4j while a writer holds another profile the person reached. The purge takes
the person's values out of that profile (graph/store/scrub.py); a writer that locked and read
it before the purge did writes it again from what it read. The purge waits for that writer,
then reads and scrubs what it wrote: the writer's own value stays, the person's goes."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from graph.model import Provenance
from graph.planner import plan_attribute_update
from graph.rules import Rules
from graph.service import IdentityService
from graph.store.cypher import CYPHER_DIR, Statement
from tests.contract.test_store_contract import NS, ident, item, profile, write

FIND_VALUES = Statement.read(CYPHER_DIR / "testing" / "find_values.cypher")
AT = "2026-01-0{}T00:00:00.000000Z".format
HOLD = 1.5  # seconds the writer holds its lock after reading, for the purge to start


def ann_keeps_a_value_of_bobs(store, marker: str, ns: str = NS) -> tuple[int, int]:
    """A shared browser wrote a note to Ann's profile, then moved to Bob's (the note stays
    with Ann, docs/rules.md, "Move"); (Ann's id, Bob's id)."""
    write(store, item("browserId:shared", "ext:crm:ann", note=marker), ns=ns, at=AT(1), rid="r1")
    write(store, item("ext:crm:ann", "email:ann@x.io", name="Ann"), ns=ns, at=AT(2), rid="r2")
    [moved] = write(store, item("browserId:shared", "ext:crm:bob"), ns=ns, at=AT(3), rid="r3")
    ann = profile(store, ns, "ext:crm:ann")
    assert moved.kind == "moved" and moved.profile_id != ann.id, moved
    assert ann.attributes == {"name": "Ann", "note": marker}
    return ann.id, moved.profile_id


def write_after_a_pause(store, ann: int, locked: threading.Event) -> None:
    """The write path of a writer (Linking): lock and read Ann's profile, then, a while
    later, write a city to it from what it read."""

    def work(tx):
        state = tx.load_state(NS, [ident("ext:crm:ann").key])
        locked.set()
        time.sleep(HOLD)
        changes = plan_attribute_update(
            state, ann, {"city": "Rome"}, Rules(), Provenance("w", AT(4))
        )
        tx.apply(NS, changes)

    store.write(work)


def test_a_purge_waits_for_a_writer_of_a_profile_it_scrubs(empty_bolt_server):
    store = empty_bolt_server.open_store()
    service = IdentityService(store)
    marker = f"erase-me-{uuid.uuid4().hex}"
    try:
        # once before, elsewhere: Neo4j plans each statement the first time it runs, which
        # on a fresh server takes the purge longer than the writer holds its lock
        _, warm_up = ann_keeps_a_value_of_bobs(store, marker, "warm-up")
        service.erasure.purge("warm-up", warm_up, purged_by="test")
        ann, bob = ann_keeps_a_value_of_bobs(store, marker)
        locked = threading.Event()
        with ThreadPoolExecutor(max_workers=2) as pool:
            writer = pool.submit(write_after_a_pause, store, ann, locked)
            assert locked.wait(timeout=10)
            purge = pool.submit(service.erasure.purge, NS, bob, purged_by="test")
            writer.result(timeout=30)
            purge.result(timeout=30)

        now = profile(store, NS, "ext:crm:ann").attributes
        assert now == {"name": "Ann", "city": "Rome"}, "the writer's city is lost, or the note kept"
        for day in (1, 2, 3, 4):
            then = service.history.profile_at(NS, ann, AT(day))
            assert marker not in str(then), (day, then)
            assert marker not in str(service.history.lineage(NS, ann, as_of=AT(day))), day
        assert service.history.profile_at(NS, ann, AT(4)).attributes["city"] == "Rome"
        assert store.run(FIND_VALUES, needles=[marker]) == []
    finally:
        store.close()
