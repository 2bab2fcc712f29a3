"""Re-keying a store written before today's rules of identifier types and values
(graph/rekey.py, graph/service/rekeying.py), on every store.

The old store is written as the versions before wrote it: identifiers spelled as clients sent
them (``EMAIL``, ``deviceId``, a bare ``ext``), planned and applied without today's
normalization."""

from __future__ import annotations

from graph.model import Ban, Identifier, LinkItem
from graph.rules import RuleBook
from graph.service.rekeying import Rekeying
from tests.contract.test_history_contract import at, members_at, write_bans
from tests.contract.test_store_contract import NS, profile, write

OLD_BOB = Identifier("EMAIL", "Bob@x.io")
BOB = Identifier("email", "bob@x.io")


def old(*identifiers: Identifier, **attributes) -> LinkItem:
    return LinkItem(identifiers, attributes)


def b(name: str) -> Identifier:
    return Identifier("browserId", name)


def rekey(store, *, dry_run: bool = False, when: int = 20):
    return Rekeying(store, RuleBook(), lambda: at(when)).rekey(NS, dry_run=dry_run, chunk=3)


def keys(changes) -> list[tuple[str, str]]:
    return sorted((change.old.key, change.new.key) for change in changes)


def test_a_respelling_joins_the_new_spelling_and_brings_its_history(store):
    (first,) = write(store, old(OLD_BOB, b("b1"), city="Oslo"), at=at(1), rid="r1")
    (second,) = write(store, old(b("b2"), BOB), at=at(2), rid="r2")
    write_bans(store, [Ban(1, OLD_BOB.key, "browserId:b9", None, "not one", None, at(3))])
    assert profile(store, NS, "email:bob@x.io").id == second.profile_id  # two people, for now

    report = rekey(store)

    assert keys(report.respelled) == [(OLD_BOB.key, BOB.key)] and not report.refused
    view = profile(store, NS, "email:bob@x.io")
    assert {i.key for i in view.identifiers} == {"browserId:b1", "browserId:b2", BOB.key}
    assert view.attributes == {"city": "Oslo"} and view.recognized
    assert store.read(lambda tx: tx.identifiers(NS, [OLD_BOB.key])) == []
    # where the identifier was before it had today's spelling, time travel still says
    assert members_at(store, first.profile_id, at(1)) == ["browserId:b1", BOB.key]
    history = store.read(lambda tx: tx.attribute_history(NS, [BOB.key], []))
    assert [(h.name, h.via) for h in history] == [("city", BOB.key)]
    assert [ban.a for ban in store.read(lambda tx: tx.bans(NS, key=BOB.key))] == [BOB.key]
    links = store.read(lambda tx: tx.links_touching(NS, [BOB.key]))
    assert {(link.a, link.b, link.end_reason) for link in links} == {
        (BOB.key, "browserId:b1", None),
        ("browserId:b2", BOB.key, None),
        (BOB.key, BOB.key, "rekeyed"),  # the re-keying's own link, which caused the merge
    }
    # done once: run again, nothing is left to do
    again = rekey(store, when=21)
    assert (again.respelled, again.set_aside, again.refused) == ([], [], [])


def test_what_breaks_a_rule_is_refused_and_what_today_refuses_is_set_aside(store):
    write(store, old(b("b4"), Identifier("Email", "dave@x.io"), Identifier("email", "carol@x.io")))
    write(store, old(b("b3"), Identifier("ext", "crm:u1"), Identifier("deviceId", "D1")), rid="r2")

    dry = rekey(store, dry_run=True)
    assert keys(dry.refused) == [("Email:dave@x.io", "email:dave@x.io")]
    assert [r.rule for r in dry.refused] == ["unique_type:email"]
    assert keys(dry.respelled) == [("deviceId:D1", "deviceid:D1")]
    assert keys(dry.set_aside) == [("ext:crm:u1", "~ext:crm:u1")]
    assert profile(store, NS, "deviceId:D1") is not None  # a dry run changes nothing

    report = rekey(store)
    assert (keys(report.refused), keys(report.respelled), keys(report.set_aside)) == (
        keys(dry.refused),
        keys(dry.respelled),
        keys(dry.set_aside),
    )
    holder = profile(store, NS, "browserId:b3")
    assert {(i.type, i.value) for i in holder.identifiers} == {
        ("browserId", "b3"),
        ("~ext", "crm:u1"),
        ("deviceid", "D1"),
    }
    # the identifier today's rules read the old key as is no longer someone else's
    (created,) = write(store, old(b("b5"), Identifier("ext:crm", "u1")), rid="r3")
    assert created.kind == "created" and created.profile_id != holder.id
    # the refused one keeps its key until a person ends the wrong link
    assert store.read(lambda tx: tx.identifiers(NS, ["Email:dave@x.io"]))


def test_refused_links_naming_an_old_spelling_are_respelled_and_purged_with_it(store):
    (first,) = write(store, old(Identifier("customId", "c1"), OLD_BOB), rid="r1")
    (refused,) = write(store, old(Identifier("customId", "c2"), OLD_BOB), rid="r2")
    assert refused.kind == "conflict"

    rekey(store)

    (conflict,) = store.read(lambda tx: tx.conflicts(NS, since=None, after_id=0, limit=10))
    assert conflict.identifiers == (Identifier("customId", "c2"), BOB)
    store.write(lambda tx: tx.purge_profile(NS, first.profile_id))
    assert store.read(lambda tx: tx.conflicts(NS, since=None, after_id=0, limit=10)) == []
