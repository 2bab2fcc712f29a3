"""`idgraph rekey` on a store written before today's rules of identifier types and values,
while the real server serves it: what a client could not find before, it finds after.

The old store is written as versions before this one wrote it: identifiers spelled as
clients sent them, planned and applied without today's normalization."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pytest

from graph.model import Identifier, LinkItem, Provenance
from graph.planner import plan_links
from graph.rules import REPLACE, Rules
from graph.store.base import Store
from graph.store.sqlite.store import SqliteStore

IDGRAPH = str(Path(sys.executable).parent / "idgraph")
_REQUESTS = itertools.count()  # each old request of a test its own id and a later second


def write_as_before(store: Store, *items: tuple[tuple[str, str], ...], rules=None) -> None:
    """One request of an older idgraph: ``items`` planned in order and applied as spelled."""
    n = next(_REQUESTS)
    provenance = Provenance(f"old-{n}", f"2026-01-01T{n // 3600:02d}:{n // 60 % 60:02d}:"
                            f"{n % 60:02d}.000000Z")  # fmt: skip
    batch = [LinkItem(tuple(Identifier(t, v) for t, v in pairs)) for pairs in items]

    def work(tx):
        keys = {i.key for item in batch for i in item.identifiers}
        plan = plan_links(batch, tx.load_state("shop", keys), rules or Rules(), provenance)
        tx.apply("shop", plan.changes)

    store.write(work)


def rekey(path: Path, *options: str) -> subprocess.CompletedProcess:
    return run_rekey({"IDGRAPH_STORE": f"sqlite:///{path}"}, *options)


def run_rekey(environment: dict[str, str], *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [IDGRAPH, "rekey", *options],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_rekey_makes_old_spellings_findable_and_reports_what_it_cannot_do(start, tmp_path):
    store = tmp_path / "e2e.db"  # the server's store (test_server.py)
    with SqliteStore(store) as old:
        write_as_before(old, (("EMAIL", "Bob@x.io"), ("browserId", "b1")))
        write_as_before(old, (("browserId", "b3"), ("ext", "crm:u1")))
        write_as_before(old, (("browserId", "b4"), ("Email", "dave@x.io"), ("email", "carol@x.io")))
    server = start()
    assert server.request("GET", "/v1/shop/identifiers/email/BOB@x.io")[0] == 404

    dry = rekey(store, "--dry-run")
    assert dry.returncode == 1, dry.stderr  # one respelling is refused
    assert "1 would be respelled, 1 would be set aside, 1 refused" in dry.stdout
    assert server.request("GET", "/v1/shop/identifiers/email/BOB@x.io")[0] == 404

    done = rekey(store)
    assert done.returncode == 1, done.stderr
    assert "respelled: EMAIL:Bob@x.io -> email:bob@x.io" in done.stdout
    assert "set aside: ext:crm:u1 -> ~ext:crm:u1: not a valid identifier type" in done.stdout
    assert "refused: Email:dave@x.io -> email:dave@x.io: unique_type:email" in done.stdout
    status, bob = server.request("GET", "/v1/shop/identifiers/email/BOB@x.io")
    assert status == 200 and {"type": "browserId", "value": "b1"} in bob["identifiers"]
    assert bob["recognized"]  # an email now: recognized, with the rules of emails
    # ext:crm + u1 is no longer the bare ext's identifier of someone else
    status, body = server.request(
        "POST",
        "/v1/shop/links",
        {
            "items": [
                {
                    "identifiers": [
                        {"type": "ext:crm", "value": "u1"},
                        {"type": "browserId", "value": "b5"},
                    ]
                }
            ]
        },
    )
    assert status == 200 and body["results"][0]["outcome"] == "created"

    # a person ends the wrong link, and the refused one goes through
    status, b4 = server.request("GET", "/v1/shop/identifiers/browserId/b4")
    status, lineage = server.request("GET", f"/v1/shop/profiles/{b4['id']}/lineage")
    (wrong,) = [link for link in lineage["links"] if link["b"] == "Email:dave@x.io"]
    status, _ = server.request("POST", f"/v1/shop/links/{wrong['id']}/end", {"reason": "two"})
    assert status == 200
    again = rekey(store)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 were respelled, 0 were set aside, 0 refused" in again.stdout
    status, dave = server.request("GET", "/v1/shop/identifiers/email/dave@x.io")
    assert status == 200 and dave["id"] != b4["id"]


# --- on every store: SQLite in a file, and the session's Neo4j --------------------------------


@dataclass
class OldStore:
    store: Store
    environment: dict[str, str]  # what points `idgraph` at it

    def rekey(self, *options: str) -> subprocess.CompletedProcess:
        return run_rekey(self.environment, *options)


@pytest.fixture(params=["sqlite", "neo4j"])
def old_store(request, tmp_path) -> Iterator[OldStore]:
    if request.param == "sqlite":
        path = tmp_path / "old.db"
        old = OldStore(SqliteStore(path), {"IDGRAPH_STORE": f"sqlite:///{path}"})
    else:
        server = request.getfixturevalue("empty_bolt_server")
        old = OldStore(server.open_store(), server.environment())
    yield old
    old.store.close()


def said(result: subprocess.CompletedProcess) -> tuple[int, str]:
    """What a run said and its exit status, a dry run's in the words of a real one."""
    return result.returncode, result.stdout.replace("would be", "were")


@pytest.mark.parametrize(
    "first, second, between",
    [
        pytest.param(("EMAIL", "Bob@x.io"), ("Email", "BOB@x.io"), 0, id="one-chunk"),
        # a chunk apart: emails of today's spelling sort between the two
        pytest.param(("email", "Bob@x.io"), ("email", "bob@X.io"), 1000, id="a-chunk-apart"),
    ],
)
@pytest.mark.parametrize("today", [False, True], ids=["new-spelling", "spelling-in-use"])
def test_a_dry_run_says_what_the_run_does_when_a_respelling_depends_on_an_earlier_one(
    old_store, first, second, between, today
):
    """Two old spellings of one email in two profiles of a customId each: the first respelling
    joins today's spelling (new, or another profile's), the second would then give one
    profile two customIds. The dry run decides each after the ones before it, as the run
    does, however far apart they are read."""
    write_as_before(old_store.store, (first, ("customId", "c1")))
    if today:
        write_as_before(old_store.store, (("email", "bob@x.io"), ("browserId", "b2")))
    if between:
        write_as_before(old_store.store, *[(("email", f"a{n:04d}@x.io"),) for n in range(between)])
    write_as_before(old_store.store, (second, ("customId", "c2")))

    dry = old_store.rekey("--dry-run")
    done = old_store.rekey()

    assert done.returncode == 1, done.stdout + done.stderr
    refused = f"refused: {second[0]}:{second[1]} -> email:bob@x.io: unique_type:customId"
    assert refused in done.stdout
    assert said(dry) == said(done)


@pytest.mark.parametrize(
    "today",
    [
        pytest.param(("email", "old@x.io"), id="written-by-a-client"),
        pytest.param(("EMAIL", "old@x.io"), id="respelled-by-the-run-before"),
    ],
)
def test_an_old_spelling_in_no_profile_whose_new_spelling_is_taken_is_set_aside(old_store, today):
    """email:Old@x.io was replaced (it holds only history), and today's email:old@x.io is
    someone's: the old one keeps its history under a key no request names, and the run ends
    clean, as do the runs after it."""
    replacing = Rules(on_conflict=MappingProxyType({"email": REPLACE}))
    write_as_before(old_store.store, (("email", "Old@x.io"), ("browserId", "b1")))
    write_as_before(old_store.store, (("browserId", "b1"), ("email", "new@x.io")), rules=replacing)
    write_as_before(old_store.store, (today, ("browserId", "b2")))

    dry = old_store.rekey("--dry-run")
    done = old_store.rekey()
    again = old_store.rekey()

    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "set aside: email:Old@x.io -> ~email:Old@x.io: in no profile, and email:old@x.io "
        "is another identifier" in done.stdout
    )
    assert said(dry) == said(done)
    assert again.returncode == 0 and "0 were respelled, 0 were set aside, 0 refused" in again.stdout
    read = old_store.store.read
    (old,) = read(lambda tx: tx.identifiers("shop", ["~email:Old@x.io"]))
    assert old.profile_id is None
    (link,) = read(lambda tx: tx.links_touching("shop", [old.key]))
    assert (link.a, link.b, link.end_reason) == (old.key, "browserId:b1", "replaced")
    today = read(lambda tx: tx.profile_view_of("shop", "email:old@x.io"))
    assert {i.key for i in today.identifiers} == {"email:old@x.io", "browserId:b2"}


def test_an_old_spelling_of_a_unique_type_is_not_refused_as_a_second_one(old_store):
    """email:Bob@x.io is today's email:bob@x.io, and a full-width customId:ＡＢＣ is
    customId:ABC: respelled, neither gives its profile a second identifier of its type, and a
    profile holding only the old spelling of an email another profile holds today is the same
    person, not a second recognized one."""
    write_as_before(old_store.store, (("email", "Bob@x.io"), ("browserId", "b1")))
    write_as_before(old_store.store, (("customId", "ＡＢＣ"), ("browserId", "b2")))
    write_as_before(old_store.store, (("email", "Ann@x.io"), ("browserId", "b3")))
    write_as_before(old_store.store, (("email", "ann@x.io"), ("browserId", "b4")))

    done = old_store.rekey()

    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 were respelled, 0 were set aside, 0 refused" in done.stdout
    ann = old_store.store.read(lambda tx: tx.profile_view_of("shop", "email:ann@x.io"))
    assert {i.key for i in ann.identifiers} == {"email:ann@x.io", "browserId:b3", "browserId:b4"}
    assert ann.recognized


def test_old_spellings_of_one_identifier_in_two_profiles_are_joined_in_one_run(old_store):
    """Each profile holds an old spelling of an email the other holds in another: whichever
    respelling comes first counts the spellings of one email once, as they will be once
    folded, so none is refused for a second email and no second run finds more to do."""
    write_as_before(old_store.store, (("EMAIL", "ann@x.io"), ("email", "ann@X.io")))
    write_as_before(old_store.store, (("email", "ann@x.io"), ("browserId", "b5")))
    write_as_before(old_store.store, (("deviceid", "d2"), ("email", "Eve@x.io")))
    write_as_before(old_store.store, (("deviceId", "d2"), ("email", "eve@x.io")))

    dry = old_store.rekey("--dry-run")
    done = old_store.rekey()
    again = old_store.rekey()

    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 were respelled, 0 were set aside, 0 refused" in done.stdout
    assert said(dry) == said(done)
    assert "0 were respelled, 0 were set aside, 0 refused" in again.stdout
    view = old_store.store.read(lambda tx: tx.profile_view_of("shop", "email:eve@x.io"))
    assert {i.key for i in view.identifiers} == {"email:eve@x.io", "deviceid:d2"}


def test_rekey_counts_each_identifier_once_though_it_reads_new_spellings_again(tmp_path):
    """Today's deviceid:d1 sorts after deviceId:d1, so a run reads the identifiers it
    respelled again, further on: it counts them once, in its line and on its progress bar."""
    path = tmp_path / "old.db"
    with SqliteStore(path) as store:
        for first in range(0, 3000, 1000):
            write_as_before(store, *[
                (("browserId", f"b{n}"), ("deviceId", f"d{n}")) for n in range(first, first + 1000)
            ])  # fmt: skip

    dry = rekey(path, "--dry-run")
    done = rekey(path)

    assert "shop: 6000 identifiers read; 3000 would be respelled" in dry.stdout
    assert "shop: 6000 identifiers read; 3000 were respelled" in done.stdout, done.stdout
    shown = [int(n) for n in re.findall(r"shop: (\d+) ids", done.stderr)]
    assert shown[-1] == max(shown) == 6000, done.stderr
