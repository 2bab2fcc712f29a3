"""What every store must do (graph/store/base.py), exercised the way the service does:
load_state -> plan_links -> apply inside store.write, then read back through the protocol."""

from __future__ import annotations

import threading

import pytest

from graph.model import Identifier, LinkItem, Provenance
from graph.planner import plan_attribute_update, plan_links
from graph.rules import Rules

NS = "contract"


def ident(text: str) -> Identifier:
    type_, _, value = text.rpartition(":")
    return Identifier(type_, value)


def item(*texts: str, **attributes) -> LinkItem:
    return LinkItem(tuple(ident(t) for t in texts), attributes)


def write(store, *items: LinkItem, ns: str = NS, rules: Rules | None = None, at: str = "", rid="r"):
    """Plan and apply a batch in one write transaction; the outcomes."""
    at = at or "2026-01-01T00:00:00.000000Z"

    def work(tx):
        keys = {i.key for it in items for i in it.identifiers}
        plan = plan_links(items, tx.load_state(ns, keys), rules or Rules(), Provenance(rid, at))
        tx.apply(ns, plan.changes)
        return plan.outcomes

    return store.write(work)


def profile(store, ns: str, text: str):
    """The live profile holding an identifier, or None."""

    def work(tx):
        pid = tx.profile_of(ns, ident(text).key)
        return tx.profile_view(ns, pid) if pid is not None else None

    return store.read(work)


def members(view) -> set[str]:
    return {f"{i.type}:{i.value}" for i in view.identifiers}


def test_fresh_store_has_no_state_and_ids_start_at_one(store):
    state = store.read(lambda tx: tx.load_state(NS, ["email:a@x.io"]))
    assert state.identifiers == {} and state.profiles == {} and state.links == []
    assert (state.sequences.profile, state.sequences.link, state.sequences.merge) == (1, 1, 1)


def test_written_profile_reads_back_with_identifiers_and_attributes(store):
    (outcome,) = write(store, item("email:a@x.io", "browserId:b1", city="Oslo"))
    view = profile(store, NS, "browserId:b1")
    assert view.id == outcome.profile_id
    assert members(view) == {"email:a@x.io", "browserId:b1"}
    assert view.attributes == {"city": "Oslo"}
    assert view.recognized is True and view.aliases == ()


def test_load_state_returns_every_member_active_link_and_attribute_of_touched_profiles(store):
    write(store, item("email:a@x.io", "browserId:b1", city="Oslo"), item("browserId:b1", "uuid:u1"))
    write(store, item("email:z@x.io", "browserId:b9"))
    state = store.read(lambda tx: tx.load_state(NS, ["uuid:u1"]))
    assert set(state.identifiers) == {"email:a@x.io", "browserId:b1", "uuid:u1"}
    assert len(state.profiles) == 1
    assert {frozenset((link.a, link.b)) for link in state.links} == {
        frozenset(("email:a@x.io", "browserId:b1")),
        frozenset(("browserId:b1", "uuid:u1")),
    }
    (attributes,) = state.attributes.values()
    assert attributes["city"].value == "Oslo" and attributes["city"].via == "email:a@x.io"
    assert state.sequences.profile == 3 and state.sequences.link == 4


def test_merge_makes_the_absorbed_id_an_alias_of_the_survivor(store):
    (small,) = write(store, item("uuid:u1", "browserId:b1"))
    (large,) = write(store, item("email:a@x.io", "browserId:b2"), item("browserId:b2", "uuid:u2"))[
        :1
    ]
    (merged,) = write(store, item("uuid:u1", "email:a@x.io"))
    assert merged.kind == "merged" and merged.profile_id == large.profile_id
    resolved = store.read(lambda tx: tx.resolve_profile(NS, small.profile_id))
    assert resolved == large.profile_id
    assert store.read(lambda tx: tx.profile_view(NS, small.profile_id)) is None
    view = profile(store, NS, "uuid:u1")
    assert view.aliases == (small.profile_id,)
    assert members(view) == {"uuid:u1", "browserId:b1", "email:a@x.io", "browserId:b2", "uuid:u2"}


def test_a_lookup_reads_the_view_of_the_holder_in_one_call(store):
    """``profile_view_of`` answers what ``profile_of`` then ``profile_view`` answer, whole:
    identifiers oldest first, attributes (nested values too), aliases in order."""
    at = "2026-01-0{}T00:00:00.000000Z".format
    write(store, item("uuid:u1", "browserId:b1", city="Łódź", tags=["a", "b"]), at=at(1))
    write(store, item("uuid:u2", "browserId:b2", score=1.5, seen={"x": [1, None]}), at=at(2))
    write(store, item("uuid:u3", "browserId:b3"), item("uuid:u3", "browserId:b4"), at=at(3))
    write(store, item("uuid:u1", "email:ann@x.io"), at=at(4))
    write(store, item("uuid:u3", "uuid:u1"), item("uuid:u2", "uuid:u3"), at=at(5))
    write(store, item("email:zed@x.io", "browserId:b9"), ns="other", at=at(6))
    texts = ["uuid:u1", "uuid:u2", "uuid:u3", "browserId:b4", "email:ann@x.io"]

    def both(tx, text):
        key = ident(text).key
        return tx.profile_view_of(NS, key), tx.profile_view(NS, tx.profile_of(NS, key))

    for text in texts:
        one_call, two_calls = store.read(lambda tx, text=text: both(tx, text))
        assert one_call == two_calls
    view = store.read(lambda tx: tx.profile_view_of(NS, ident("uuid:u1").key))
    assert len(view.aliases) == 2 and list(view.aliases) == sorted(view.aliases)
    assert view.attributes == {
        "city": "Łódź",
        "tags": ["a", "b"],
        "score": 1.5,
        "seen": {"x": [1, None]},
    }
    assert [i.value for i in view.identifiers][:2] == ["b1", "u1"]  # oldest first, then by key
    for ns, text in [(NS, "uuid:nobody"), (NS, "email:zed@x.io"), ("nowhere", "uuid:u1")]:
        key = ident(text).key
        assert store.read(lambda tx, ns=ns, key=key: tx.profile_view_of(ns, key)) is None


def test_alias_chains_flatten_to_the_live_profile(store):
    (first,) = write(store, item("uuid:u1", "browserId:b1"))
    write(store, item("uuid:u2", "browserId:b2"), item("uuid:u2", "browserId:b3"))
    write(store, item("uuid:u1", "uuid:u2"))  # first is absorbed (smaller)
    (last,) = write(store, item("uuid:u4", "browserId:b4"), item("uuid:u4", "browserId:b5"))[:1]
    write(store, *(item("uuid:u4", f"browserId:b{n}") for n in (6, 7, 8)))  # 6 beat 5
    (outcome,) = write(store, item("uuid:u4", "uuid:u1"))
    assert outcome.profile_id == last.profile_id
    assert store.read(lambda tx: tx.resolve_profile(NS, first.profile_id)) == last.profile_id
    assert first.profile_id in profile(store, NS, "uuid:u1").aliases


def test_ended_links_stay_in_history_but_not_in_state(store):
    write(store, item("browserId:b1", "ext:crm:u1"))
    (moved,) = write(store, item("browserId:b1", "ext:crm:u2"))
    assert moved.kind == "moved"
    links = list(store.iter_links(NS))
    active = list(store.iter_links(NS, active_only=True))
    assert len(links) == 2 and len(active) == 1
    ended = next(link for link in links if link["ended_at"])
    assert ended["end_reason"] == "moved" and ended["b_key"] == "ext:crm:u1"
    state = store.read(lambda tx: tx.load_state(NS, ["ext:crm:u1"]))
    assert state.links == []


def test_a_failing_unit_of_work_writes_nothing(store):
    class Boom(Exception):
        pass

    def work(tx):
        state = tx.load_state(NS, ["email:a@x.io"])
        items = [item("email:a@x.io", "browserId:b1")]
        tx.apply(NS, plan_links(items, state, Rules(), Provenance("r", "t")).changes)
        raise Boom

    with pytest.raises(Boom):
        store.write(work)
    assert profile(store, NS, "email:a@x.io") is None
    assert store.read(lambda tx: tx.load_state(NS, [])).sequences.profile == 1


def test_requests_are_kept_for_replay(store):
    store.write(lambda tx: tx.save_request(NS, "req-1", "digest", {"results": [{"index": 0}]}))
    stored = store.read(lambda tx: tx.find_request(NS, "req-1"))
    assert stored.digest == "digest" and stored.response == {"results": [{"index": 0}]}
    assert store.read(lambda tx: tx.find_request("other", "req-1")) is None


def test_conflicts_are_listed_oldest_first_and_page(store):
    write(store, item("email:a@x.io", "uuid:u1"), item("email:b@x.io", "uuid:u2"))
    for n, at in enumerate(("2026-01-01T00:00:01.000000Z", "2026-01-02T00:00:00.000000Z")):
        write(store, item("uuid:u1", "uuid:u2"), at=at, rid=f"r{n}")
    every = store.read(lambda tx: tx.conflicts(NS, since=None, after_id=0, limit=10))
    assert [c.request_id for c in every] == ["r0", "r1"]
    assert every[0].rule == "unique_type:email" and every[0].item_index == 0
    assert set(every[0].identifiers) == {ident("uuid:u1"), ident("uuid:u2")}
    assert len(every[0].profiles) == 2
    page = store.read(lambda tx: tx.conflicts(NS, since=None, after_id=every[0].id, limit=10))
    assert [c.request_id for c in page] == ["r1"]
    recent = store.read(
        lambda tx: tx.conflicts(NS, since="2026-01-02T00:00:00.000000Z", after_id=0, limit=10)
    )
    assert [c.request_id for c in recent] == ["r1"]


def test_conflicts_naming_profiles_are_listed_oldest_first_and_page(store):
    a, b, d = (
        outcome.profile_id
        for outcome in write(
            store,
            item("email:a@x.io", "uuid:u1"),
            item("email:b@x.io", "uuid:u2"),
            item("email:d@x.io", "uuid:u4"),
        )
    )
    for n, pair in enumerate([("u1", "u2"), ("u2", "u4"), ("u1", "u4")]):  # r0: a-b, r1: b-d...
        write(store, item(*(f"uuid:{u}" for u in pair)), rid=f"r{n}")

    def naming(profiles, ns=NS, after_id=0, limit=10):
        return store.read(
            lambda tx: tx.conflicts(
                ns, since=None, after_id=after_id, limit=limit, profiles=profiles
            )
        )

    def requests(profiles, **page) -> list[str]:
        return [conflict.request_id for conflict in naming(profiles, **page)]

    assert requests([a]) == ["r0", "r2"]
    assert requests([b]) == ["r0", "r1"]
    assert requests([a, b]) == requests(None) == ["r0", "r1", "r2"]
    assert naming([999]) == naming([]) == naming([a], ns="other") == []
    (first,) = naming([d], limit=1)
    assert requests([d], after_id=first.id, limit=1) == ["r2"]


def test_namespaces_never_see_each_other(store):
    """An id names a profile of its own namespace only (each namespace is numbered apart:
    the same id may name a profile in each)."""
    (a,) = write(store, item("email:a@x.io", "uuid:u1"), ns="alpha")
    (b,) = write(store, item("email:a@x.io", "uuid:u2"), ns="beta")
    assert a.kind == b.kind == "created"
    assert members(profile(store, "beta", "email:a@x.io")) == {"email:a@x.io", "uuid:u2"}
    seen = store.read(lambda tx: tx.profile_view("beta", a.profile_id))
    assert seen is None or members(seen) == {"email:a@x.io", "uuid:u2"}
    assert store.read(lambda tx: tx.resolve_profile("beta", a.profile_id)) in (None, b.profile_id)
    assert [key for key, *_ in store.iter_identifiers("alpha")] == ["email:a@x.io", "uuid:u1"]


def test_profile_level_attribute_writes_replace_values_and_null_deletes(store):
    (created,) = write(store, item("email:a@x.io", "uuid:u1", city="Oslo", plan="gold"))
    pid = created.profile_id

    def update(tx):
        state = tx.load_profiles(NS, [pid])
        changes = plan_attribute_update(
            state, pid, {"city": "Rome", "plan": None}, Rules(), Provenance("r2", "t2")
        )
        tx.apply(NS, changes)

    store.write(update)
    assert profile(store, NS, "uuid:u1").attributes == {"city": "Rome"}


def test_concurrent_writers_serialize(store):
    """Each writer reads the next profile id and creates that profile: if two transactions
    interleaved, ids would collide and a write would fail."""
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for round_ in range(5):
                write(store, item(f"uuid:t{n}-{round_}", f"browserId:t{n}-{round_}"), rid=f"{n}")
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = {pid for *_, pid in store.iter_identifiers(NS)}
    assert len(ids) == 30


def test_data_survives_closing_and_reopening(open_store):
    first = open_store()
    write(first, item("email:a@x.io", "uuid:u1", city="Oslo"))
    first.close()
    again = open_store()
    view = profile(again, NS, "uuid:u1")
    assert members(view) == {"email:a@x.io", "uuid:u1"} and view.attributes == {"city": "Oslo"}


def test_purge_erases_identifiers_that_left_the_profile_by_a_replacement(store):
    """A replaced email is in no profile, but it was the person's: a purge erases it too,
    with its ended link, and leaves other people alone."""
    rules = Rules(on_conflict={"email": "replace", "phone": "replace"})
    write(store, item("customId:c1", "email:old@x.io", "phone:+4791234567"), rules=rules)
    write(store, item("customId:c1", "email:new@x.io"), rules=rules)
    write(store, item("customId:c1", "phone:+4798765432"), rules=rules)
    write(store, item("customId:c2", "email:other@x.io"), rules=rules)
    assert profile(store, NS, "email:old@x.io") is None  # replaced: stops resolving
    pid = profile(store, NS, "customId:c1").id
    erased = store.write(lambda tx: tx.purge_profile(NS, pid))
    assert erased == 5
    assert {key for key, *_ in store.iter_identifiers(NS)} == {"customId:c2", "email:other@x.io"}
    assert [(link["a_key"], link["b_key"]) for link in store.iter_links(NS)] == [
        ("customId:c2", "email:other@x.io")
    ]
