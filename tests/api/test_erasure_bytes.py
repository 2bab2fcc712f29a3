"""An erased person leaves no bytes in the SQLite file: not in live rows, not in the free space
of its pages (``PRAGMA secure_delete``), not in the WAL once it is checkpointed (which the purge
does itself: ``settle_erasure``), not in a VACUUMed copy. Neo4j's files:
tests/contract/test_neo4j_erasure.py."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from app.api import create_app
from app.settings import Settings
from graph.errors import StoreError
from graph.service import IdentityService, LinkRequest
from graph.store.sqlite.store import SqliteStore
from tests.api.apitools import Api  # by package: tests/contract imports this module

NS = "shop"


@pytest.fixture
def store_file(tmp_path) -> Path:
    return tmp_path / "erasure.db"


@pytest.fixture
def api(store_file):
    app = create_app(Settings(store=f"sqlite:///{store_file}"))
    yield Api(app.test_client())
    app.extensions["idgraph.service"].store.close()


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.json
    return response.json


def write_a_person_with_history(api: Api, marker: str) -> int:
    """The marker in an email (sent upper-case), a browser id, a customId, attribute values, a
    request's id and source, a merge undone and made again, a ban's reason, and a conflict
    with someone else; the person's profile id."""
    email = {"type": "email", "value": f"{marker.upper()}@Example.COM"}
    item = {
        "identifiers": [email, {"type": "browserId", "value": f"{marker}-b1"},
                        {"type": "customId", "value": f"{marker}-c"}],
        "attributes": {"note": marker},
    }  # fmt: skip
    first = ok(api.link(NS, item, request_id=f"{marker}-r1", source=f"{marker}-src"))
    pid = first["results"][0]["profile_id"]
    device = (f"browserId:{marker}-b2", f"deviceId:{marker}-d2")
    ok(api.link(NS, device, request_id=f"{marker}-r2", source=f"{marker}-src"))
    joined = (f"browserId:{marker}-b1", f"browserId:{marker}-b2")
    assert ok(api.link(NS, joined, request_id=f"{marker}-r3"))["results"][0]["outcome"] == "merged"
    [merge] = ok(api.get(f"/v1/{NS}/profiles/{pid}/lineage"))["merges"]
    undo = {"reason": f"not the same {marker}", "ban": False}
    ok(api.client.post(f"/v1/{NS}/merges/{merge['id']}/undo", json=undo))
    assert ok(api.link(NS, joined, request_id=f"{marker}-r4"))["results"][0]["outcome"] == "merged"
    ok(api.client.patch(f"/v1/{NS}/profiles/{pid}/attributes", json={"city": marker}))
    ban = {
        "a": {"type": "browserId", "value": f"{marker}-b1"},
        "b": {"type": "browserId", "value": "kiosk-1"},
        "reason": f"kiosk, not {marker}",
    }
    ok(api.client.post(f"/v1/{NS}/bans", json=ban), 201)
    ok(api.link(NS, ("email:bob@example.com", "customId:bob")))
    refused = ok(api.link(NS, (f"customId:{marker}-c", "email:bob@example.com"),
                          request_id=f"{marker}-r5"))  # fmt: skip
    assert refused["results"][0]["outcome"] == "conflict"
    assert ok(api.get(f"/v1/{NS}/conflicts"))["conflicts"]
    return pid


def found_in(path: Path, needles: list[str]) -> list[str]:
    data = path.read_bytes() if path.exists() else b""
    return [needle for needle in needles if needle.encode() in data]


def needles_of(marker: str) -> list[str]:
    """The byte strings a person written with ``marker`` leaves wherever they stay."""
    return [marker, marker.upper(), f"email:{marker}@example.com", marker[len("erase-me-") :]]


def test_an_erased_person_leaves_no_bytes_in_the_file_the_wal_or_a_vacuumed_copy(
    api, store_file, tmp_path
):
    marker = f"erase-me-{uuid.uuid4().hex}"
    needles = needles_of(marker)
    pid = write_a_person_with_history(api, marker)
    with closing(sqlite3.connect(store_file)) as reader:  # the person is there, for real
        reader.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert found_in(store_file, needles)

    assert ok(api.client.delete(f"/v1/{NS}/profiles/{pid}"))["identifiers_erased"] == 5
    assert ok(api.get(f"/v1/{NS}/identifiers/email/bob@example.com"))["identifiers"]

    copy = tmp_path / "vacuumed.db"
    with closing(sqlite3.connect(store_file)) as reader:  # beside the service's connections
        assert reader.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0  # not busy
        reader.execute("VACUUM INTO ?", (str(copy),))
    wal = store_file.with_name(store_file.name + "-wal")
    for path in (store_file, wal, copy):
        assert found_in(path, needles) == [], path.name


def test_a_purge_truncates_the_wal_at_once_rather_than_at_the_next_round(api, store_file):
    marker = f"erase-me-{uuid.uuid4().hex}"
    needles = needles_of(marker)
    pid = write_a_person_with_history(api, marker)
    wal = store_file.with_name(store_file.name + "-wal")
    assert found_in(wal, needles)  # the person's frames wait in the WAL for a checkpoint

    ok(api.client.delete(f"/v1/{NS}/profiles/{pid}"))

    # no checkpoint of the test's own, and the background thread's round is 30 s away
    assert found_in(wal, needles) == []
    assert found_in(store_file, needles) == []


class StoreThatCannotSettle(SqliteStore):
    """A real SQLite store whose settling fails, as a Neo4j that went away after the commit."""

    def settle_erasure(self) -> None:
        raise StoreError("Neo4j: connection lost")


def test_a_purge_whose_settling_fails_still_erases_and_answers(tmp_path, caplog):
    store = StoreThatCannotSettle(tmp_path / "unsettled.db")
    service = IdentityService(store)
    request = LinkRequest([("email", "ann@example.com"), ("customId", "ann")])
    [created] = service.linking.link(NS, [request]).results
    with caplog.at_level(logging.WARNING, logger="idgraph"):
        record = service.erasure.purge(NS, created.outcome.profile_id, purged_by="test")
    assert record.identifiers_erased == 2
    assert store.read(lambda tx: tx.profile_of(NS, "email:ann@example.com")) is None
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "could not settle" in warning.getMessage() and warning.exc_info
    store.close()
