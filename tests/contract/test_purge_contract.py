"""What every store must erase with a person (graph/store/base.py, ``purge_profile``) beyond
the graph itself: the requests kept for replay whose answer names it, the conflicts naming its
profile ids; and the audit log of purges (``record_purge``, ``purges``), which never holds a
value."""

from __future__ import annotations

import json

from graph.model import ChangeSet, ConflictRow, Provenance, PurgeRecord
from graph.store.cypher import CYPHER_DIR, Statement
from tests.contract.test_store_contract import NS, ident, item, write

AT = "2026-01-05T00:00:00.000000Z"


def person_and_other(store) -> tuple[int, int, int]:
    """A person whose profile absorbed another (so it has an alias), and someone else:
    (live id, alias, other's id)."""
    (small,) = write(store, item("deviceId:d1", "deviceId:d2"), rid="r1")
    (large,) = write(store, item("email:a@x.io", "deviceId:e1", "deviceId:e2"), rid="r2")
    (merged,) = write(store, item("deviceId:d1", "deviceId:e1"), rid="r3")
    (other,) = write(store, item("email:o@x.io", "deviceId:o1"), rid="r4")
    assert merged.kind == "merged" and merged.profile_id == large.profile_id
    return large.profile_id, small.profile_id, other.profile_id


def answers(live: int, alias: int, other: int) -> dict[str, list[dict]]:
    """Stored answers by request id, shaped as graph.items.outcome_record makes them."""
    return {
        "names-live": [{"index": 0, "outcome": "created", "profile_id": live}],
        "names-alias": [
            {"index": 0, "outcome": "merged", "profile_id": other, "absorbed": [alias]}
        ],
        "names-moved-from": [
            {"index": 0, "outcome": "moved", "profile_id": other, "moved_from": [live]}
        ],
        "names-conflict": [
            {"index": 0, "outcome": "conflict", "profile_id": None, "profiles": [other, live]}
        ],
        "names-replaced": [
            {"index": 0, "outcome": "linked", "profile_id": other, "replaced": ["email:a@x.io"]}
        ],
        "names-other": [
            {"index": 0, "outcome": "linked", "profile_id": other},
            {"index": 1, "outcome": "noop", "profile_id": other},
        ],
        "names-no-one": [],
        "index-is-not-an-id": [{"index": live, "outcome": "noop", "profile_id": other}],
    }


def save_answers(store, saved: dict[str, list[dict]]) -> None:
    def work(tx):
        for request_id, results in saved.items():
            tx.save_request(
                NS, request_id, "digest", {"request_id": request_id, "results": results}
            )

    store.write(work)


def kept_requests(store, request_ids) -> set[str]:
    def work(tx):
        return {rid for rid in request_ids if tx.find_request(NS, rid) is not None}

    return store.read(work)


def test_purge_erases_the_requests_whose_answer_names_the_person(store):
    live, alias, other = person_and_other(store)
    saved = answers(live, alias, other)
    save_answers(store, saved)
    assert store.write(lambda tx: tx.purge_profile(NS, live)) == 5
    assert kept_requests(store, saved) == {"names-other", "names-no-one", "index-is-not-an-id"}
    kept = store.read(lambda tx: tx.find_request(NS, "names-other"))
    assert kept.response["results"] == saved["names-other"]


def test_purge_erases_conflicts_naming_the_person_by_profile_id_alone(store):
    """A conflict names profiles and identifiers; one whose identifiers have left the person
    still names its profile id."""
    live, alias, other = person_and_other(store)
    refused = [
        ConflictRow(0, "banned", (live, other), (ident("deviceId:gone"), ident("deviceId:o1"))),
        ConflictRow(1, "banned", (alias,), (ident("deviceId:gone"),)),
        ConflictRow(2, "banned", (other,), (ident("deviceId:o1"), ident("deviceId:o2"))),
    ]
    changes = ChangeSet(Provenance("r5", AT), conflicts=refused)
    store.write(lambda tx: (tx.load_profiles(NS, []), tx.apply(NS, changes)))
    store.write(lambda tx: tx.purge_profile(NS, live))
    left = store.read(lambda tx: tx.conflicts(NS, since=None, after_id=0, limit=10))
    assert [(c.item_index, c.profiles) for c in left] == [(2, (other,))]


def test_purges_are_recorded_numbered_and_listed_oldest_first_per_namespace(store):
    def record(ns: str, pid: int, by: str, count: int, at: str) -> int:
        return store.write(
            lambda tx: tx.record_purge(ns, pid, purged_by=by, identifiers=count, at=at)
        )

    first = record(NS, 7, "crm-sync", 3, "2026-01-01T00:00:00.000000Z")
    elsewhere = record("other", 8, "admin", 1, "2026-01-02T00:00:00.000000Z")
    second = record(NS, 9, "local", 0, "2026-01-03T00:00:00.000000Z")
    assert first < second  # numbered in order within a namespace
    assert elsewhere > 0
    listed = store.read(lambda tx: tx.purges(NS, after_id=0, limit=10))
    assert listed == [
        PurgeRecord(first, NS, 7, "2026-01-01T00:00:00.000000Z", "crm-sync", 3),
        PurgeRecord(second, NS, 9, "2026-01-03T00:00:00.000000Z", "local", 0),
    ]
    assert store.read(lambda tx: tx.purges(NS, after_id=0, limit=1)) == listed[:1]
    assert store.read(lambda tx: tx.purges(NS, after_id=first, limit=10)) == listed[1:]
    elsewhere_listed = store.read(lambda tx: tx.purges("other", after_id=0, limit=10))
    assert [p.profile_id for p in elsewhere_listed] == [8]
    assert store.read(lambda tx: tx.purges("nobody", after_id=0, limit=10)) == []


def test_a_failed_purge_records_nothing(store):
    class Boom(Exception):
        pass

    live, _, _ = person_and_other(store)

    def work(tx):
        tx.purge_profile(NS, live)
        tx.record_purge(NS, live, purged_by="admin", identifiers=5, at=AT)
        raise Boom

    try:
        store.write(work)
    except Boom:
        pass
    assert store.read(lambda tx: tx.purges(NS, after_id=0, limit=10)) == []
    assert store.read(lambda tx: tx.resolve_profile(NS, live)) == live


def test_neo4j_requests_saved_before_they_named_their_profiles_are_erased_too(empty_bolt_server):
    """Cypher cannot read an answer's JSON: a (:Request) carries the ids and keys its answer
    names. One saved without them (an earlier idgraph) is read, marked and erased as well."""
    store = empty_bolt_server.open_store()
    try:
        live, alias, other = person_and_other(store)
        saved = answers(live, alias, other)
        unmarked = Statement.read(CYPHER_DIR / "testing" / "save_unmarked_request.cypher")
        for request_id, results in saved.items():
            response = json.dumps({"request_id": request_id, "results": results})
            store.run(unmarked, write=True, ns=NS, request_id=request_id, response=response)
        store.write(lambda tx: tx.purge_profile(NS, live))
        assert kept_requests(store, saved) == {"names-other", "names-no-one", "index-is-not-an-id"}
    finally:
        store.close()
