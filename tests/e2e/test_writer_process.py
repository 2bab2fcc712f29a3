"""`idgraph serve` on SQLite writes link batches in a child process of each worker
(graph/service/writer.py, IDGRAPH_WRITER): the same answers as inline, and a child that dies
loses nothing acknowledged and is replaced."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.test_server import Server

pytestmark = pytest.mark.e2e


def ids(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"type": kind, "value": value} for kind, value in pairs]


ANN, CUSTOMER = ("email", "Ann@x.io"), ("customId", "7")
U1 = ("uuid", "6f1c2a52-6c1e-4c5e-9a53-8a0c1b4a8f11")
U2 = ("uuid", "0b6f9c1e-1b1a-4c1e-9a53-8a0c1b4a8f12")
OMNIDESK = {"brand_id": 7, "primary_id": "c-1", "channel_id": "email"}
LINKS = "/v1/shop/links"

# (method, path, body): every batch write of every face, with each kind of answer
REQUESTS = [
    ("POST", LINKS, {"request_id": "r1", "items": [{"identifiers": ids(ANN, CUSTOMER)}]}),
    ("POST", LINKS, {"request_id": "r1", "items": [{"identifiers": ids(ANN, CUSTOMER)}]}),
    ("POST", LINKS, {"request_id": "r1", "items": [{"identifiers": ids(ANN, U1)}]}),
    ("POST", LINKS, {"request_id": "r2", "items": [
        {"identifiers": ids(U1, U2), "attributes": {"plan": "gold"}},
        {"identifiers": ids(ANN, U1)},
        {"identifiers": ids(("customId", "7"), ("customId", "8"))},
        {"identifiers": ids(("email", "bob@x.io"), ("customId", "9"))},
    ]}),
    ("POST", LINKS + "?dry_run=true", {"request_id": "r3", "items": [
        {"identifiers": ids(("email", "bob@x.io"), ANN)},
    ]}),
    ("POST", LINKS, {"items": [
        {"identifiers": ids(U1, U2)},
        {"identifiers": ids(("email", "not an address"), ("uuid", "nope"))},
    ]}),
    ("POST", "/api/v2/customer", {**OMNIDESK, "customer_link_channel": "ann@x.io"}),
    ("POST", "/api/v2/customer",
     {**OMNIDESK, "primary_id": "c-2", "customer_link_channel": "ANN@x.io"}),
    ("PUT", "/api/v2/customer/updateCustomer",
     {"brandID": 7, "externalPrimaryID": "c-9", "firstname": "Eve"}),
    ("POST", "/sync", [{"folderId": "f1", "browserId": "b1", "externalSystemType": "crm",
                        "externalSystemUserId": "u1"},
                       {"folderId": "f2", "browserId": "b1", "externalSystemType": "crm",
                        "externalSystemUserId": "u2"}]),
    ("GET", "/v1/shop/identifiers/uuid/" + U2[1], None),
    ("GET", "/v1/shop/identifiers/customId/8", None),
]  # fmt: skip

CHANGING = {"request_id", "created_at", "updated_at"}


def same_shape(answer: object) -> object:
    """An answer without what differs between two servers by design (new request ids and
    the clock)."""
    if isinstance(answer, dict):
        return {k: same_shape(v) for k, v in answer.items() if k not in CHANGING}
    if isinstance(answer, list):
        return [same_shape(v) for v in answer]
    return answer


def test_batches_written_in_a_process_answer_as_they_do_inline(tmp_path):
    answers = {}
    for writer in ("inline", "process"):
        server = Server(
            tmp_path,
            IDGRAPH_WRITER=writer,
            IDGRAPH_WORKERS="1",
            IDGRAPH_STORE=f"sqlite:///{tmp_path / writer}.db",
        )
        try:
            server.wait_ready()
            answers[writer] = [
                (status, same_shape(body))
                for status, body in (server.request(*request) for request in REQUESTS)
            ]
            banner = server.log.read_text()
        finally:
            server.stop()
        assert ("in a process of each worker" in banner) == (writer == "process")
    assert answers["process"] == answers["inline"]
    statuses = [status for status, _ in answers["process"]]
    assert statuses == [200, 200, 409, 200, 200, 400, 200, 409, 404, 200, 200, 404]
    outcomes = [result["outcome"] for result in answers["process"][3][1]["results"]]
    assert outcomes == ["created", "merged", "conflict", "created"]


def writers_of(worker: int) -> list[int]:
    """The worker's writing process (multiprocessing also starts a resource tracker)."""
    return [
        pid
        for pid in children_of(worker)
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def children_of(pid: int) -> list[int]:
    """Of every thread of the process (each thread lists the children it started)."""
    tasks = Path(f"/proc/{pid}/task").glob("*/children")
    return [int(child) for task in tasks for child in task.read_text().split()]


def gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_a_writing_process_that_dies_mid_batch_acknowledges_nothing_and_is_replaced(start):
    server = start(IDGRAPH_WORKERS="1")
    first = {"request_id": "first", "items": [{"identifiers": ids(ANN, U1)}]}
    assert server.request("POST", LINKS, first)[0] == 200
    [worker] = children_of(server.process.pid)
    [writer] = writers_of(worker)

    os.kill(writer, signal.SIGSTOP)  # the batch waits in the pipe, then the writer dies
    held = {"request_id": "held", "items": [{"identifiers": ids(U1, U2)}]}
    answered = {}
    sending = threading.Thread(
        target=lambda: answered.update(r=server.request("POST", LINKS, held))
    )
    sending.start()
    time.sleep(0.5)
    assert server.request("GET", "/v1/shop/identifiers/uuid/" + U1[1])[0] == 200  # reads go on
    os.kill(writer, signal.SIGKILL)
    sending.join(timeout=10)
    status, body = answered["r"]
    assert status == 503 and body["error"]["code"] == "store_unavailable"
    assert server.request("GET", "/v1/shop/identifiers/uuid/" + U2[1])[0] == 404

    status, body = server.request("POST", LINKS, held)  # sent again: applied once
    assert status == 200 and body["results"][0]["outcome"] == "linked"
    [replacement] = writers_of(worker)
    assert replacement != writer
    status, profile = server.request("GET", "/v1/shop/identifiers/uuid/" + U2[1])
    assert status == 200 and len(profile["identifiers"]) == 3

    os.kill(worker, signal.SIGKILL)  # a writer outlives no worker
    assert gone(replacement)


def test_on_neo4j_batches_can_be_written_in_a_process_too(start, empty_bolt_server):
    server = start(IDGRAPH_WRITER="process", IDGRAPH_WORKERS="1", **empty_bolt_server.environment())
    assert "in a process of each worker" in server.log.read_text()
    answers = [server.request(*request) for request in REQUESTS[:4] + REQUESTS[6:8]]
    assert [status for status, _ in answers] == [200, 200, 409, 200, 200, 409]
    outcomes = [result["outcome"] for result in answers[3][1]["results"]]
    assert outcomes == ["created", "merged", "conflict", "created"]
    status, profile = server.request("GET", "/v1/shop/identifiers/uuid/" + U2[1])
    assert status == 200 and profile["attributes"] == {"plan": "gold"}
