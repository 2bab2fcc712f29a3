"""Ids are numbered per namespace on every store (issue 19): the profiles, links, merges,
conflicts, bans and purges of one namespace are numbered 1, 2, 3... whatever the other
namespaces write meanwhile, so an id tells an API key nothing of another namespace's traffic.
The same number names a profile in each namespace, and each namespace reads its own."""

from __future__ import annotations

from graph.model import Provenance
from graph.planner import plan_ban
from tests.contract.test_store_contract import item, members, profile, write

A, B = "ids-a", "ids-b"
AT = "2026-01-01T00:00:00.000000Z"


def created(store, ns: str, *texts: str) -> int:
    """The id of the profile a one-item batch of new identifiers created."""
    (outcome,) = write(store, item(*texts), ns=ns)
    assert outcome.kind == "created"
    return outcome.profile_id


def every_kind(store, ns: str, n: int) -> None:
    """Writes of round ``n`` in a namespace that number one or more of each kind: profiles
    and links, a merge, a conflict (two recognized profiles), a ban and a purge."""
    d = [f"deviceId:r{n}d{k}" for k in range(4)]
    write(store, item(d[0], d[1]), item(d[2], d[3]), ns=ns)
    assert [o.kind for o in write(store, item(d[1], d[2]), ns=ns)] == ["merged"]
    write(
        store,
        item(f"email:{n}a@x.io", f"uuid:r{n}a"),
        item(f"email:{n}b@x.io", f"uuid:r{n}b"),
        ns=ns,
    )
    assert [o.kind for o in write(store, item(f"uuid:r{n}a", f"uuid:r{n}b"), ns=ns)] == ["conflict"]

    def ban(tx) -> None:
        state = tx.load_profiles(ns, [])
        tx.apply(ns, plan_ban(d[0], f"email:{n}a@x.io", None, "test", state, Provenance("b", AT)))

    store.write(ban)
    store.write(lambda tx: tx.record_purge(ns, 1, purged_by="admin", identifiers=0, at=AT))


def ids(store, ns: str) -> dict[str, list[int]]:
    """The ids of every kind a namespace holds, in order."""

    def read(tx) -> dict[str, list[int]]:
        profiles = list(range(1, 50))  # more than any namespace here holds
        return {
            "profile": [pid for pid in profiles if tx.profile_record(ns, pid)],
            "merge": sorted({m.id for m in tx.merges_of(ns, profiles)}),
            "conflict": [c.id for c in tx.conflicts(ns, since=None, after_id=0, limit=1000)],
            "ban": [b.id for b in tx.bans(ns, limit=1000)],
            "purge": [p.id for p in tx.purges(ns, after_id=0, limit=1000)],
        }

    return {**store.read(read), "link": sorted(link["id"] for link in store.iter_links(ns))}


def test_two_namespaces_writing_in_turn_each_number_their_profiles_from_one(store):
    numbered: dict[str, list[int]] = {A: [], B: []}
    for n in range(3):
        for ns in (A, B):
            numbered[ns].append(created(store, ns, f"deviceId:{n}a", f"deviceId:{n}b"))
    assert numbered == {A: [1, 2, 3], B: [1, 2, 3]}
    for ns in (A, B):  # the same number, a profile of each namespace
        assert members(profile(store, ns, "deviceId:2a")) == {"deviceId:2a", "deviceId:2b"}
        assert store.read(lambda tx, ns=ns: tx.profile_view(ns, 3)).id == 3


def test_one_namespaces_ids_show_nothing_of_another_namespaces_writes(store):
    every_kind(store, A, 0)
    before = ids(store, A)
    for n in range(3):
        every_kind(store, B, n)
    every_kind(store, A, 1)
    after = ids(store, A)
    for kind, numbers in after.items():  # dense from 1: B's writes left no gap
        assert numbers == list(range(1, len(numbers) + 1)), kind
        assert len(numbers) == 2 * len(before[kind]), kind
    assert after == {
        "profile": list(range(1, 9)),
        "link": list(range(1, 11)),
        "merge": [1, 2],
        "conflict": [1, 2],
        "ban": [1, 2],
        "purge": [1, 2],
    }
    assert ids(store, B)["profile"] == list(range(1, 13))
