"""What every store must keep and read of the past (graph/store/base.py, "history"): where each
identifier was at an instant, a profile's attribute values then, links and merges with their
provenance, attribute writes in order, bans, undone merges, and a purge that erases all of it.

Writes go through the planner as the service makes them, each at its own instant; undo and
bans, whose use cases live in graph/history.py, are change sets built by hand here."""

from __future__ import annotations

from graph.model import Ban, ChangeSet, Provenance, Sequences
from graph.planner import plan_attribute_update
from graph.rules import MOVE, REPLACE, Rules
from tests.contract.test_store_contract import NS, item, profile, write

MOVES = Rules(on_conflict={"browserId": MOVE})
LARGER = (item("deviceId:e1", "deviceId:e2"), item("deviceId:e1", "deviceId:e3"))


def at(n: int) -> str:
    """The n-th instant of a test: a day of January 2026."""
    return f"2026-01-{n:02d}T00:00:00.000000Z"


def members_at(store, pid: int, when: str | None, *, after: str = "", limit: int = 100):
    """The keys of a profile's members at ``when`` (now, for None), by key."""
    page = store.read(lambda tx: tx.members_page(NS, pid, as_of=when, after_key=after, limit=limit))
    assert all(member.profile_id == pid for member in page)
    return [member.key for member in page]


def new_profile(store, *items, when: str) -> int:
    """Write a batch; the id of the profile its first item created."""
    (created, *_) = write(store, *items, at=when)
    assert created.kind == "created"
    return created.profile_id


def update_attributes(store, pid: int, values: dict, *, rid: str, when: str) -> None:
    """A profile-level attribute write, through no identifier."""

    def work(tx):
        state = tx.load_profiles(NS, [pid])
        tx.apply(NS, plan_attribute_update(state, pid, values, Rules(), Provenance(rid, when)))

    store.write(work)


def apply(store, changes: ChangeSet) -> None:
    """A change set made by hand, applied as a plan is: after its transaction's load."""

    def work(tx) -> None:
        tx.load_profiles(NS, [])
        tx.apply(NS, changes)

    store.write(work)


def test_placements_answer_the_members_before_and_after_a_merge(store):
    a = new_profile(store, item("deviceId:d1", "deviceId:d2"), when=at(1))
    b = new_profile(store, *LARGER, when=at(2))
    (merged,) = write(store, item("deviceId:d1", "deviceId:e1"), at=at(3))
    assert merged.kind == "merged" and merged.profile_id == b
    small = ["deviceId:d1", "deviceId:d2"]
    before = ["deviceId:e1", "deviceId:e2", "deviceId:e3"]
    everyone = [*small, *before]
    assert members_at(store, a, at(1)) == members_at(store, a, at(2)) == small
    assert members_at(store, b, at(1)) == [] and members_at(store, b, at(2)) == before
    assert members_at(store, a, at(3)) == [] and members_at(store, b, at(3)) == everyone
    assert members_at(store, b, None) == everyone and members_at(store, a, None) == []
    assert members_at(store, a, "2025-12-31T00:00:00.000000Z") == []
    assert members_at(store, b, at(3), after="deviceId:d1", limit=2) == everyone[1:3]
    assert members_at(store, b, None, after="deviceId:e1", limit=5) == everyone[3:]


def test_placements_follow_a_moved_device_to_its_new_profile(store):
    (first,) = write(store, item("customId:c1", "browserId:b1", "browserId:b2"), at=at(1))
    (second,) = write(store, item("customId:c2", "deviceId:d2"), at=at(2))
    (moved,) = write(store, item("customId:c2", "browserId:b1"), rules=MOVES, at=at(3))
    a, b = first.profile_id, second.profile_id
    assert moved.kind == "moved" and moved.profile_id == b
    assert members_at(store, a, at(2)) == ["browserId:b1", "browserId:b2", "customId:c1"]
    assert members_at(store, b, at(2)) == ["customId:c2", "deviceId:d2"]
    assert members_at(store, a, at(3)) == ["browserId:b2", "customId:c1"]
    assert members_at(store, b, at(3)) == ["browserId:b1", "customId:c2", "deviceId:d2"]


def test_a_replaced_identifier_is_in_no_profile_from_its_replacement_on(store):
    rules = Rules(on_conflict={"email": REPLACE})
    (created,) = write(store, item("customId:c1", "email:old@x.io"), rules=rules, at=at(1))
    write(store, item("customId:c1", "email:new@x.io"), rules=rules, at=at(2))
    pid = created.profile_id
    assert members_at(store, pid, at(1)) == ["customId:c1", "email:old@x.io"]
    assert members_at(store, pid, at(2)) == ["customId:c1", "email:new@x.io"]
    found = store.read(
        lambda tx: tx.identifiers(NS, ["email:old@x.io", "customId:c1", "email:nobody@x.io"])
    )
    assert [(i.key, i.type, i.value, i.profile_id, i.created_at) for i in found] == [
        ("customId:c1", "customId", "c1", pid, at(1)),
        ("email:old@x.io", "email", "old@x.io", None, at(1)),
    ]


def placed(store, keys: list[str], when: str) -> dict[str, int | None]:
    return store.read(lambda tx: tx.placed_at(NS, keys, when))


def test_placed_at_follows_an_identifier_through_creation_merge_and_move(store):
    (first,) = write(store, item("customId:c1", "browserId:b1"), at=at(1))
    (second,) = write(store, item("deviceId:d1", "deviceId:d2"), at=at(2))
    (merged,) = write(store, item("customId:c1", "deviceId:d1"), at=at(3))
    (third,) = write(store, item("customId:c2", "deviceId:d9"), at=at(4))
    (moved,) = write(store, item("customId:c2", "browserId:b1"), rules=MOVES, at=at(5))
    a, b, c = first.profile_id, second.profile_id, third.profile_id
    keys = ["browserId:b1", "deviceId:d2", "customId:c1"]
    assert merged.kind == "merged" and moved.kind == "moved"
    assert placed(store, keys, "2025-12-31T00:00:00.000000Z") == {}  # not created yet
    assert placed(store, keys, at(1)) == {"browserId:b1": a, "customId:c1": a}
    assert placed(store, keys, at(2)) == {"browserId:b1": a, "customId:c1": a, "deviceId:d2": b}
    survivor = merged.profile_id
    assert placed(store, keys, at(3)) == dict.fromkeys(keys, survivor)
    assert placed(store, keys, at(5)) == {**dict.fromkeys(keys, survivor), "browserId:b1": c}
    assert members_at(store, b, at(2)) == ["deviceId:d1", "deviceId:d2"]


def test_an_identifier_replaced_in_the_request_that_made_it_was_in_no_profile_until_back(store):
    rules = Rules(on_conflict={"email": REPLACE})
    outcomes = write(
        store, item("customId:c1", "email:a@x.io"), item("customId:c1", "email:b@x.io"),
        rules=rules, at=at(1),
    )  # fmt: skip
    (back,) = write(store, item("customId:c2", "email:a@x.io"), rules=rules, at=at(2))
    first, returned = outcomes[0].profile_id, back.profile_id
    assert first != returned
    assert placed(store, ["email:a@x.io"], at(1)) == {"email:a@x.io": None}
    assert placed(store, ["email:a@x.io"], at(2)) == {"email:a@x.io": returned}
    assert members_at(store, first, at(1)) == ["customId:c1", "email:b@x.io"]
    assert members_at(store, returned, at(1)) == []
    assert members_at(store, returned, at(2)) == ["customId:c2", "email:a@x.io"]


def test_attributes_at_answer_the_values_before_and_after_a_change(store):
    pid = new_profile(store, item("email:a@x.io", "uuid:u1", city="Oslo", plan="gold"), when=at(2))
    write(store, item("uuid:u1", plan="silver"), at=at(4))
    update_attributes(store, pid, {"city": None}, rid="r", when=at(6))
    values = [store.read(lambda tx, n=n: tx.attributes_at(NS, pid, at(n))) for n in range(1, 8)]
    oslo_gold, oslo_silver = {"city": "Oslo", "plan": "gold"}, {"city": "Oslo", "plan": "silver"}
    assert values == [{}, oslo_gold, oslo_gold, oslo_silver, oslo_silver, {"plan": "silver"},
                      {"plan": "silver"}]  # fmt: skip
    assert store.read(lambda tx: tx.attributes_at(NS, pid + 100, at(7))) == {}


def test_attribute_history_lists_writes_through_keys_and_to_profiles_in_write_order(store):
    (created,) = write(
        store, item("email:a@x.io", "uuid:u1", plan="gold", city="Oslo"), at=at(1), rid="r1"
    )
    write(store, item("uuid:u1", plan="silver"), at=at(2), rid="r2")
    write(store, item("email:z@x.io", "uuid:u9", city="Rome"), at=at(2), rid="other")
    pid = created.profile_id
    update_attributes(store, pid, {"city": None}, rid="r3", when=at(3))
    history = store.read(lambda tx: tx.attribute_history(NS, ["email:a@x.io", "uuid:u1"], [pid]))
    assert [(h.profile_id, h.via, h.name, h.value, h.at, h.request_id) for h in history] == [
        (pid, "email:a@x.io", "plan", "gold", at(1), "r1"),
        (pid, "email:a@x.io", "city", "Oslo", at(1), "r1"),
        (pid, "uuid:u1", "plan", "silver", at(2), "r2"),
        (pid, None, "city", None, at(3), "r3"),
    ]
    through_email = store.read(lambda tx: tx.attribute_history(NS, ["email:a@x.io"], []))
    assert [(h.name, h.request_id) for h in through_email] == [("plan", "r1"), ("city", "r1")]
    to_profile = store.read(lambda tx: tx.attribute_history(NS, [], [pid]))
    assert [(h.via, h.request_id) for h in to_profile] == [(None, "r3")]


def test_links_touching_returns_ended_and_active_links_with_provenance(store):
    write(store, item("customId:c1", "browserId:b1"), at=at(1), rid="r1")
    write(store, item("customId:c2", "browserId:b1"), rules=MOVES, at=at(2), rid="r2")
    write(store, item("customId:c9", "browserId:b9"), at=at(2), rid="elsewhere")
    links = store.read(lambda tx: tx.links_touching(NS, ["browserId:b1", "customId:c1"]))
    ended, active = links
    assert ended.id < active.id
    assert (ended.a, ended.b, ended.request_id, ended.created_at, ended.operation) == (
        "customId:c1", "browserId:b1", "r1", at(1), "native",
    )  # fmt: skip
    assert (ended.ended_at, ended.end_reason, ended.ended_request_id) == (at(2), "moved", "r2")
    assert (active.a, active.b, active.request_id, active.created_at) == (
        "customId:c2", "browserId:b1", "r2", at(2),
    )  # fmt: skip
    assert (active.ended_at, active.end_reason, active.ended_request_id) == (None, None, None)
    assert active.item_index == 0 and active.merge_id is None
    assert store.read(lambda tx: tx.links_touching(NS, ["customId:c2"])) == [active]
    assert store.read(lambda tx: tx.link(NS, ended.id)) == ended
    assert store.read(lambda tx: tx.link("other", ended.id)) is None
    assert store.read(lambda tx: tx.link(NS, 999)) is None


def test_links_ended_by_names_the_links_one_request_ended_for_a_reason(store):
    write(store, item("customId:c1", "browserId:b1"), item("customId:c1", "browserId:b2"),
          at=at(1), rid="r1")  # fmt: skip
    write(store, item("customId:c2", "browserId:b1"), item("customId:c2", "browserId:b2"),
          rules=MOVES, at=at(2), rid="r2")  # fmt: skip
    ended = store.read(lambda tx: tx.links_ended_by(NS, "r2", "moved"))
    assert [(link.a, link.b) for link in ended] == [
        ("customId:c1", "browserId:b1"),
        ("customId:c1", "browserId:b2"),
    ]
    assert ended[0].id < ended[1].id and {link.ended_request_id for link in ended} == {"r2"}
    assert store.read(lambda tx: tx.links_ended_by(NS, "r2", "replaced")) == []
    assert store.read(lambda tx: tx.links_ended_by(NS, "r1", "moved")) == []
    assert store.read(lambda tx: tx.links_ended_by("other", "r2", "moved")) == []


def test_merge_records_carry_the_identifiers_each_side_joined(store):
    a = new_profile(store, item("deviceId:d1", "deviceId:d2"), when=at(1))
    b = new_profile(store, *LARGER, when=at(2))
    write(store, item("deviceId:d1", "deviceId:e1"), at=at(3), rid="r3")
    (merge,) = store.read(lambda tx: tx.merges_of(NS, [a]))
    assert (merge.survivor, merge.absorbed, merge.request_id, merge.at, merge.item_index) == (
        b, a, "r3", at(3), 0,
    )  # fmt: skip
    assert (merge.survivor_key, merge.absorbed_key) == ("deviceId:e1", "deviceId:d1")
    assert (merge.undone_at, merge.undone_request_id) == (None, None)
    assert store.read(lambda tx: tx.merges_of(NS, [b])) == [merge]
    assert store.read(lambda tx: tx.merges_of(NS, [a, b])) == [merge]
    assert store.read(lambda tx: tx.merge_record(NS, merge.id)) == merge
    assert store.read(lambda tx: tx.merge_record("other", merge.id)) is None
    assert store.read(lambda tx: tx.merges_of(NS, [999])) == []


def test_merges_of_lists_every_merge_of_a_profile_by_id(store):
    write(store, item("deviceId:d1", "deviceId:d2"), item("deviceId:d1", "deviceId:d3"))
    write(store, item("deviceId:e1", "deviceId:e2"))
    write(store, item("deviceId:f1", "deviceId:f2"))
    write(store, item("deviceId:d1", "deviceId:e1"), item("deviceId:d1", "deviceId:f1"))
    survivor = profile(store, NS, "deviceId:d1").id
    merges = store.read(lambda tx: tx.merges_of(NS, [survivor]))
    assert len(merges) == 2 and merges[0].id < merges[1].id
    assert {m.survivor for m in merges} == {survivor}
    assert [m.absorbed_key for m in merges] == ["deviceId:e1", "deviceId:f1"]


BANS = [
    Ban(1, "email:a@x.io", "uuid:u9", None, "support", "agent-7", at(1)),
    Ban(2, "uuid:u1", None, "email", "policy", None, at(1), link_id=7),
    Ban(3, "phone:+4791234567", "email:z@x.io", None, "fraud", "agent-8", at(1)),
]


def write_bans(store, bans: list[Ban]) -> None:
    """Bans as a change set carries them: numbered by the planner, the sequence advanced."""
    changes = ChangeSet(
        provenance=Provenance("bans", at(1)),
        new_bans=bans,
        sequences=Sequences(ban=max(b.id for b in bans) + 1),
    )
    apply(store, changes)


def test_bans_written_in_a_change_set_read_back_all_by_key_and_paged(store):
    write_bans(store, BANS)
    assert store.read(lambda tx: tx.bans(NS)) == BANS
    assert store.read(lambda tx: tx.bans(NS, after_id=1, limit=1)) == [BANS[1]]
    assert store.read(lambda tx: tx.bans(NS, key="email:a@x.io")) == [BANS[0]]
    assert store.read(lambda tx: tx.bans(NS, key="uuid:u9")) == [BANS[0]]  # named as b
    assert store.read(lambda tx: tx.bans(NS, key="email:z@x.io")) == [BANS[2]]
    assert store.read(lambda tx: tx.bans(NS, key="email:a@x.io", after_id=1)) == []
    assert store.read(lambda tx: tx.bans(NS, key="email")) == []  # a type names no identifier
    assert store.read(lambda tx: tx.bans("other")) == []
    assert store.read(lambda tx: tx.load_state(NS, [])).sequences.ban == 4


def test_load_state_carries_the_bans_naming_its_identifiers_or_keys(store):
    (created,) = write(store, item("email:a@x.io", "uuid:u1"))
    write_bans(store, BANS)
    by_keys = store.read(lambda tx: tx.load_state(NS, ["email:a@x.io"]))
    assert by_keys.bans == BANS[:2]  # a@x.io itself, and uuid:u1 of its profile
    unknown = store.read(lambda tx: tx.load_state(NS, ["email:z@x.io"]))
    assert unknown.identifiers == {} and unknown.bans == [BANS[2]]
    by_profile = store.read(lambda tx: tx.load_profiles(NS, [created.profile_id]))
    assert by_profile.bans == BANS[:2]
    assert store.read(lambda tx: tx.load_state("other", ["email:a@x.io"])).bans == []


def test_remove_ban_deletes_one_ban_once(store):
    write_bans(store, BANS)
    assert store.write(lambda tx: tx.remove_ban("other", 1)) is False
    assert store.write(lambda tx: tx.remove_ban(NS, 1)) is True
    assert store.write(lambda tx: tx.remove_ban(NS, 1)) is False
    assert store.read(lambda tx: tx.bans(NS)) == BANS[1:]
    assert store.read(lambda tx: tx.load_state(NS, ["uuid:u9"])).bans == []


def test_an_undone_merge_is_marked_and_its_profiles_point_where_they_did(store):
    """C was absorbed by A, then A by B; undoing the second merge makes A live again and C
    its alias again. The change set is what graph/history.py plans for it."""
    c = new_profile(store, item("deviceId:c1", "deviceId:c2"), when=at(1))
    a = new_profile(
        store, item("deviceId:a1", "deviceId:a2"), item("deviceId:a1", "deviceId:a3"), when=at(1)
    )
    b = new_profile(
        store, *(item("deviceId:b1", f"deviceId:b{n}") for n in range(2, 9)), when=at(1)
    )
    write(store, item("deviceId:a1", "deviceId:c1"), at=at(2))  # c into a
    write(store, item("deviceId:b1", "deviceId:a1"), at=at(3))  # a (and c with it) into b
    record = store.read(lambda tx: tx.profile_record(NS, c))
    assert record.merged_into == b
    (merge,) = [m for m in store.read(lambda tx: tx.merges_of(NS, [a])) if m.survivor == b]
    apply(store, ChangeSet(provenance=Provenance("undo-1", at(4)), undone_merges=[merge.id],
                           restored=[a], repointed=[(c, a)]))  # fmt: skip
    undone = store.read(lambda tx: tx.merge_record(NS, merge.id))
    assert (undone.undone_at, undone.undone_request_id) == (at(4), "undo-1")
    assert undone.active_at(at(3)) and not undone.active_at(None)
    first = next(m for m in store.read(lambda tx: tx.merges_of(NS, [c])) if m.absorbed == c)
    assert first.undone_at is None
    restored = store.read(lambda tx: tx.profile_record(NS, a))
    assert restored.merged_into is None and restored.id == a
    assert store.read(lambda tx: tx.profile_record(NS, c)).merged_into == a
    assert store.read(lambda tx: tx.resolve_profile(NS, c)) == a
    assert store.read(lambda tx: tx.profile_record(NS, b)).merged_into is None
    assert store.read(lambda tx: tx.profile_record(NS, 999)) is None


def test_profile_record_reads_a_live_or_absorbed_profile(store):
    small = new_profile(store, item("deviceId:d1", "deviceId:d2"), when=at(1))
    large = new_profile(store, *LARGER, when=at(2))
    write(store, item("email:a@x.io", "deviceId:e1"), at=at(3))
    write(store, item("deviceId:d1", "deviceId:e1"), at=at(4))
    absorbed = store.read(lambda tx: tx.profile_record(NS, small))
    live = store.read(lambda tx: tx.profile_record(NS, large))
    assert (absorbed.created_at, absorbed.updated_at, absorbed.recognized) == (at(1), at(4), False)
    assert absorbed.merged_into == large
    assert (live.created_at, live.recognized, live.merged_into) == (at(2), True, None)


def test_purge_erases_placements_versions_and_bans(store):
    (person,) = write(store, item("email:a@x.io", "uuid:u1", city="Oslo"), at=at(1))
    (other,) = write(store, item("email:z@x.io", "uuid:u9", city="Rome"), at=at(1))
    bans = [
        Ban(1, "email:a@x.io", "uuid:u7", None, "fraud", None, at(1)),
        Ban(2, "uuid:u8", "uuid:u1", None, "fraud", None, at(1)),
        Ban(3, "email:z@x.io", "uuid:u6", None, "fraud", None, at(1)),
    ]
    write_bans(store, bans)
    pid = person.profile_id
    assert store.write(lambda tx: tx.purge_profile(NS, pid)) == 2
    (again,) = write(store, item("email:a@x.io", "uuid:u2"), at=at(2))  # the same email, anew
    assert again.kind == "created" and again.profile_id != pid
    # a placement left behind would put the new email in the erased profile
    assert members_at(store, pid, at(1)) == members_at(store, pid, at(2)) == []
    assert members_at(store, again.profile_id, at(2)) == ["email:a@x.io", "uuid:u2"]
    assert members_at(store, other.profile_id, at(1)) == ["email:z@x.io", "uuid:u9"]
    assert store.read(lambda tx: tx.attributes_at(NS, pid, at(2))) == {}
    rome = store.read(lambda tx: tx.attributes_at(NS, other.profile_id, at(2)))
    assert rome == {"city": "Rome"}
    assert store.read(lambda tx: tx.bans(NS)) == [bans[2]]
