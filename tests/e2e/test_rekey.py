"""`idgraph rekey` on a store written before today's rules of identifier types and values,
while the real server serves it: what a client could not find before, it finds after.

The old store is written as versions before this one wrote it: identifiers spelled as
clients sent them, planned and applied without today's normalization."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from graph.model import Identifier, LinkItem, Provenance
from graph.planner import plan_links
from graph.rules import Rules
from graph.store.sqlite.store import SqliteStore

IDGRAPH = str(Path(sys.executable).parent / "idgraph")


def write_as_before(path: Path, *items: tuple[tuple[str, str], ...]) -> None:
    with SqliteStore(path) as store:
        for n, pairs in enumerate(items):
            item = LinkItem(tuple(Identifier(t, v) for t, v in pairs))

            def work(tx, item=item, n=n):
                keys = [i.key for i in item.identifiers]
                plan = plan_links([item], tx.load_state("shop", keys), Rules(), Provenance(
                    f"old-{n}", f"2026-01-01T00:00:{n:02d}.000000Z"))  # fmt: skip
                tx.apply("shop", plan.changes)

            store.write(work)


def rekey(path: Path, *options: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "IDGRAPH_STORE": f"sqlite:///{path}"}
    return subprocess.run(
        [IDGRAPH, "rekey", *options], env=environment, capture_output=True, text=True, timeout=60
    )


def test_rekey_makes_old_spellings_findable_and_reports_what_it_cannot_do(start, tmp_path):
    store = tmp_path / "e2e.db"  # the server's store (test_server.py)
    write_as_before(
        store,
        (("EMAIL", "Bob@x.io"), ("browserId", "b1")),
        (("browserId", "b3"), ("ext", "crm:u1")),
        (("browserId", "b4"), ("Email", "dave@x.io"), ("email", "carol@x.io")),
    )
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
