"""Re-keying a store written before today's rules of identifier types and values
(graph/rekey.py, graph/service/rekeying.py), on every store.

The old store is written as the versions before wrote it: identifiers spelled as clients sent
them (``EMAIL``, ``deviceId``, a bare ``ext``), planned and applied without today's
normalization."""

from __future__ import annotations

import random
from types import MappingProxyType

import pytest

from graph.model import Ban, Identifier, LinkItem
from graph.rules import REPLACE, RuleBook, Rules
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


def test_a_chunk_respells_in_a_profile_its_earlier_respelling_merged_into_another(store):
    """EMAIL:a@x.io joins the larger profile of email:a@x.io, which absorbs its own; in the
    same transaction deviceId:d1, now of that profile, is respelled there too."""
    write(store, old(Identifier("EMAIL", "a@x.io"), Identifier("deviceId", "d1")), rid="r1")
    write(store, old(Identifier("email", "a@x.io"), b("b2"), b("b3")), rid="r2")

    report = Rekeying(store, RuleBook(), lambda: at(20)).rekey(NS)  # one chunk

    assert keys(report.respelled) == [
        ("EMAIL:a@x.io", "email:a@x.io"),
        ("deviceId:d1", "deviceid:d1"),
    ]
    view = profile(store, NS, "deviceid:d1")
    assert {i.key for i in view.identifiers} == {
        "email:a@x.io",
        "deviceid:d1",
        "browserId:b2",
        "browserId:b3",
    }


def random_old_store(store, seed: int) -> None:
    """Requests of an older idgraph: emails, customIds and devices in several spellings, bare
    ext identifiers, emails replaced (replace policy) or merged; from ``seed``."""
    rng = random.Random(seed)
    for n in range(rng.randint(3, 25)):
        pairs = {}
        for _ in range(rng.randint(1, 3)):
            name = rng.choice(["bob", "ann", "eve"])
            pairs[
                rng.choice(
                    [
                        ("email", f"{name}@x.io"),
                        ("EMAIL", f"{name}@x.io"),
                        ("Email", f"{name.upper()}@x.io"),
                        ("email", f"{name.title()}@x.io"),
                        ("email", f"{name}@X.io"),
                        (rng.choice(["customId", "customID"]), name),
                        (rng.choice(["deviceId", "deviceid"]), f"d{rng.randint(1, 6)}"),
                        ("ext", f"crm:{name}"),
                        ("browserId", f"b{rng.randint(1, 6)}"),
                    ]
                )  # fmt: skip
            ] = None
        rules = rng.choice([Rules(), Rules(on_conflict=MappingProxyType({"email": REPLACE}))])
        write(
            store, old(*(Identifier(*p) for p in pairs)), rules=rules, at=at(n + 1), rid=f"old-{n}"
        )


def what(report) -> tuple:
    return (
        report.scanned,
        keys(report.respelled),
        sorted((change.old.key, change.reason) for change in report.set_aside),
        sorted((r.old.key, r.new.key, r.rule, r.profiles) for r in report.refused),
    )


@pytest.mark.parametrize("seed", range(12))
def test_a_dry_run_reports_what_the_run_then_does_and_a_second_run_finds_nothing(store, seed):
    random_old_store(store, seed)
    chunk = 1 + seed % 3  # changes a chunk apart and within one

    rekeying = Rekeying(store, RuleBook(), lambda: at(28))
    dry = rekeying.rekey(NS, dry_run=True, chunk=chunk)
    done = rekeying.rekey(NS, chunk=chunk)
    again = rekeying.rekey(NS, chunk=chunk)

    assert what(dry) == what(done)
    assert (again.respelled, again.set_aside) == ([], [])
    assert keys(again.refused) == keys(done.refused)
