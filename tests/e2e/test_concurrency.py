"""Concurrent writers commit as if one after the other, on one SQLite file and on one Neo4j.

Eight writers released together by a barrier send five batches that fight over the same
profiles (two anonymous profiles merged while each is claimed by a different customer; two
new customers claiming one shared email; a customId meeting a device), three of them twice
with the same request_id. They are threads sharing one IdentityService over one store, then
processes each opening its own store (as gunicorn's workers do), then clients of the real
server (2 workers x 4 threads) beside four readers. SQLite's writers take turns on one lock;
Neo4j's lock only the identifiers and profiles they touch, so these eight, which touch the
same ones, race for real there. Every round (SQLite 25, 25, 10; Neo4j 10, 10, 5), in a
namespace of its own:

- no call raised and no answer was a 5xx: a busy or locked database never surfaces;
- a batch sent twice at once was applied once: both sends answer the same results, one of
  them as a replay;
- every rule holds: profiles are exactly the connected components of the active links (so
  no identifier is in two profiles), no profile holds two identifiers of a unique type, the
  recognized flag matches, every id an answer named resolves to a live profile;
- the outcome equals the outcome of SOME serial order of the five batches. The reference
  applies them in all 120 orders, each in a namespace of its own of one store.

What is compared, and what cannot be. Profile ids are numbered in commit order: a concurrent
run allocates them as its batches commit, so the same serial order gives different numbers.
An id is therefore compared by what it denotes at the end: the set of identifier keys of the
live profile it resolves to. Compared: the partition of identifiers into profiles (a set of
frozensets of keys), each profile's attribute values (which of two writes is the latest
depends on the commit order, so a serial order fixes it: the service reads the clock inside
the write transaction), and for each item of each batch its outcome, its conflict reason,
the profile its answered id denotes, how many profiles it absorbed and the profiles a
conflict names. Not compared: times (created_at, link and conflict times differ on every
run), link, merge and conflict ids (numbers again), and
which of a batch's two sends was applied (either is the same serial order: the replay answers
the first results).
"""

from __future__ import annotations

import http.client
import itertools
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import networkx as nx
import pytest

from graph.replays import record_of
from graph.rules import Rules
from graph.service import IdentityService, LinkRequest
from graph.store import open_store
from graph.store.base import Store
from graph.store.sqlite.store import SqliteStore
from tests.neo4j_server import free_port

pytestmark = pytest.mark.e2e

IDGRAPH = str(Path(sys.executable).parent / "idgraph")
ROUNDS = 25
HTTP_ROUNDS = 10
READERS = 4  # beside the writers, through the real server

T = TypeVar("T")


def _uuid(n: int) -> dict[str, str]:
    return {"type": "uuid", "value": f"00000000-0000-4000-8000-{n:012d}"}


def _id(type_: str, value: str) -> dict[str, str]:
    return {"type": type_, "value": value}


def _item(*identifiers: dict[str, str], **attributes: Any) -> dict[str, Any]:
    return {"identifiers": list(identifiers), "attributes": attributes}


# three anonymous profiles of two uuids each, two customers of an email and a customId
SEED = [
    _item(_uuid(1), _uuid(11)),
    _item(_uuid(2), _uuid(12)),
    _item(_uuid(3), _uuid(13)),
    _item(_id("email", "r1@x.io"), _id("customId", "c1")),
    _item(_id("email", "r2@x.io"), _id("customId", "c2")),
]
BATCHES = [
    # anonymous 1 and 2 merged, then claimed by customer 1 ...
    [_item(_uuid(1), _uuid(2), city="Oslo"), _item(_id("email", "r1@x.io"), _uuid(2))],
    # ... while customer 2 claims anonymous 2, and anonymous 3 joins anonymous 1
    [_item(_id("email", "r2@x.io"), _uuid(2), city="Rome"), _item(_uuid(3), _uuid(1))],
    # two new customers, n1 and n2, claim one shared email: the first one wins
    [
        _item(_id("email", "s@x.io"), _id("customId", "n1"), firstName="Sam"),
        _item(_uuid(3), _id("email", "s@x.io")),
    ],
    [_item(_id("email", "s@x.io"), _id("customId", "n2"), firstName="Sue")],
    # customId n2 meets a device of anonymous 1
    [_item(_id("customId", "n2"), _uuid(11), city="Paris")],
]
SENDS = [0, 1, 2, 3, 4, 0, 1, 2]  # eight writers; batches 0-2 sent twice at once

Answer = tuple[int, list[dict[str, Any]], bool]  # (batch, results, answered as a replay)
STORES = ["sqlite", "neo4j"]
ROUNDS_ON = {"sqlite": ROUNDS, "neo4j": 10}
HTTP_ROUNDS_ON = {"sqlite": HTTP_ROUNDS, "neo4j": 5}


@pytest.fixture(params=STORES)
def store_at(request, tmp_path) -> tuple[str, str, dict[str, str]]:
    """(which, the IDGRAPH_STORE url, its Neo4j options) of a fresh store."""
    if request.param == "sqlite":
        return "sqlite", f"sqlite:///{tmp_path / 'concurrent.db'}", {}
    server = request.getfixturevalue("empty_bolt_server")
    options = {"user": server.user, "password": server.password, "database": server.database}
    return "neo4j", server.uri, options


def link_requests(items: Sequence[Mapping[str, Any]]) -> list[LinkRequest]:
    return [
        LinkRequest([(i["type"], i["value"]) for i in item["identifiers"]], item["attributes"])
        for item in items
    ]


def request_id(batch: int) -> str:
    return f"batch-{batch}"


def send(service: IdentityService, namespace: str, batch: int) -> Answer:
    result = service.linking.link(
        namespace, link_requests(BATCHES[batch]), source="test", request_id=request_id(batch)
    )
    answer = record_of(result.request_id, result.results)  # as the API answers it
    return batch, answer["results"], result.replayed


# --- what a round left, and the rules -----------------------------------------------------------


def outcome(store: Store, namespace: str, answers: Sequence[Answer]) -> tuple:
    """The comparable outcome of the five batches (see the module's docstring)."""
    views = _live_profiles(store, namespace)
    block = {view.id: frozenset(f"{i.type}:{i.value}" for i in view.identifiers) for view in views}
    answered = {
        pid
        for _, results, _ in answers
        for result in results
        for pid in (result["profile_id"], *result.get("profiles", ()))
        if pid is not None
    }
    live = store.read(lambda tx: {pid: tx.resolve_profile(namespace, pid) for pid in answered})

    def denote(pid: int | None) -> frozenset[str] | None:
        return None if pid is None else block[live[pid]]

    by_batch = {batch: results for batch, results, _ in answers}
    items = tuple(
        tuple(
            (
                result["outcome"],
                result.get("reason"),
                denote(result["profile_id"]),
                len(result.get("absorbed", ())),
                frozenset(map(denote, result.get("profiles", ()))),
            )
            for result in by_batch[batch]
        )
        for batch in range(len(BATCHES))
    )
    attributes = frozenset((block[v.id], json.dumps(v.attributes, sort_keys=True)) for v in views)
    return frozenset(block.values()), attributes, items


def _live_profiles(store: Store, namespace: str) -> list:
    service, views, cursor = IdentityService(store), [], None
    while True:
        page = service.reading.list_profiles(namespace, cursor=cursor, limit=1000)
        views += page.profiles
        if (cursor := page.next_cursor) is None:
            return views


def assert_rules_hold(store: Store, namespace: str, answers: Sequence[Answer]) -> None:
    rules = Rules()  # the native defaults: email and customId unique, email recognizing
    views = _live_profiles(store, namespace)
    members = {view.id: {f"{i.type}:{i.value}" for i in view.identifiers} for view in views}
    placed = {key: pid for key, _, _, pid in store.iter_identifiers(namespace)}
    assert None not in placed.values(), "nothing here replaces or retires an identifier"
    links = nx.Graph()
    links.add_nodes_from(placed)
    links.add_edges_from(
        (link["a_key"], link["b_key"]) for link in store.iter_links(namespace, active_only=True)
    )
    components = sorted(map(sorted, nx.connected_components(links)))
    assert components == sorted(map(sorted, members.values())), "profiles != components"
    for view in views:
        counts = Counter(i.type for i in view.identifiers)
        assert all(n == 1 for t, n in counts.items() if rules.is_unique(t)), view
        assert view.recognized == any(rules.is_recognizing(t) for t in counts), view
        assert 0 < len(view.identifiers) <= rules.max_identifiers, view
    for _, results, _ in answers:
        for result in results:
            for pid in (result["profile_id"], *result.get("absorbed", ())):
                if pid is not None:
                    assert store.read(lambda tx, p=pid: tx.resolve_profile(namespace, p)) in members


def check_round(
    store: Store, namespace: str, answers: Sequence[Answer], serial: Mapping[tuple, list]
) -> tuple[int, ...]:
    """The checks of every round; answers the first serial order the outcome equals."""
    assert sorted(batch for batch, _, _ in answers) == sorted(SENDS)
    for batch in {b for b in SENDS if SENDS.count(b) > 1}:
        sends = [(results, replayed) for b, results, replayed in answers if b == batch]
        assert sends[0][0] == sends[1][0], f"batch {batch}: two answers to one request"
        assert sorted(replayed for _, replayed in sends) == [False, True], f"batch {batch}"
    assert_rules_hold(store, namespace, answers)
    found = outcome(store, namespace, answers)
    assert found in serial, f"no serial order of the batches gives {found[2]}"
    return serial[found][0]


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> dict[tuple, list[tuple[int, ...]]]:
    """Outcome -> the orders giving it, over all 120 orders of the five batches."""
    store = SqliteStore(tmp_path_factory.mktemp("serial") / "serial.db", synchronous="OFF")
    service = IdentityService(store)
    outcomes: dict[tuple, list[tuple[int, ...]]] = {}
    try:
        for number, order in enumerate(itertools.permutations(range(len(BATCHES)))):
            namespace = f"order{number}"
            service.linking.link(namespace, link_requests(SEED))
            answers = [send(service, namespace, batch) for batch in order]
            outcomes.setdefault(outcome(store, namespace, answers), []).append(order)
    finally:
        store.close()
    assert len(outcomes) > 10, "the batches must fight: their orders give many outcomes"
    return outcomes


# --- threads -----------------------------------------------------------------------------------


def at_once(calls: Sequence[Callable[[], T]]) -> list[T | BaseException]:
    """Each call in a thread of its own, all released together by a barrier; what each
    returned or raised, in order."""
    barrier = threading.Barrier(len(calls))
    returned: list[T | BaseException] = [RuntimeError("not run")] * len(calls)

    def run(slot: int, call: Callable[[], T]) -> None:
        barrier.wait(timeout=30)
        try:
            returned[slot] = call()
        except BaseException as error:  # noqa: BLE001 - the caller asserts on it
            returned[slot] = error

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return returned


def test_threads_sharing_one_service_commit_as_some_serial_order(store_at, serial):
    which, url, options = store_at
    store = open_store(url, **options)
    service = IdentityService(store)
    try:
        for round_ in range(ROUNDS_ON[which]):
            namespace = f"round{round_}"
            service.linking.link(namespace, link_requests(SEED))
            sends = random.Random(round_).sample(SENDS, len(SENDS))
            answers = at_once([partial(send, service, namespace, b) for b in sends])
            assert not [a for a in answers if isinstance(a, BaseException)], answers
            check_round(store, namespace, answers, serial)
    finally:
        store.close()


# --- processes ---------------------------------------------------------------------------------


def _writer_process(url: str, options: dict[str, str], barrier: Any, jobs: Any) -> None:
    """One writer process with its own store on the shared one; answers each (namespace,
    batch) job sent through ``jobs`` once every writer is at the barrier."""
    store = open_store(url, **options)
    service = IdentityService(store)
    try:
        while (job := jobs.recv()) is not None:
            namespace, batch = job
            barrier.wait(timeout=60)
            try:
                jobs.send(("answer", send(service, namespace, batch)))
            except Exception as error:  # noqa: BLE001 - sent to the test, which fails
                jobs.send(("error", repr(error)))
    finally:
        store.close()


def test_processes_each_with_its_own_store_commit_as_some_serial_order(store_at, serial):
    which, url, options = store_at
    store = open_store(url, **options)
    service = IdentityService(store)
    # writers forked from a fresh single-threaded server with this module loaded: forking
    # pytest itself, which runs threads, is unsafe, and spawning 8 interpreters is slow
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    barrier = context.Barrier(len(SENDS))
    pipes = [context.Pipe() for _ in SENDS]
    writers = [
        context.Process(target=_writer_process, args=(url, options, barrier, child), daemon=True)
        for _, child in pipes
    ]
    for writer in writers:
        writer.start()
    try:
        for round_ in range(ROUNDS_ON[which]):
            namespace = f"round{round_}"
            service.linking.link(namespace, link_requests(SEED))
            sends = random.Random(round_).sample(SENDS, len(SENDS))
            for (ours, _), batch in zip(pipes, sends, strict=True):
                ours.send((namespace, batch))
            replies = [ours.recv() for ours, _ in pipes]
            assert [kind for kind, _ in replies] == ["answer"] * len(SENDS), replies
            check_round(store, namespace, [answer for _, answer in replies], serial)
    finally:
        for ours, _ in pipes:
            with suppress(OSError):  # a writer that died has said why already
                ours.send(None)
        for writer in writers:
            writer.join(timeout=30)
        store.close()
    assert [writer.exitcode for writer in writers] == [0] * len(writers)


# --- the real server ---------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path, store_at):
    """``idgraph serve --workers 2 --threads 4`` on a fresh store and a free port."""
    which, url, options = store_at
    port = free_port()
    environment = {**os.environ, "IDGRAPH_STORE": url, "PORT": str(port)}
    environment.update({f"NEO4J_{name.upper()}": value for name, value in options.items()})
    environment.pop("IDGRAPH_ADMIN_TOKEN", None)  # local open mode on loopback
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [IDGRAPH, "serve", "--workers", "2", "--threads", "4"],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(process, port, log)
        yield which, port, open_store(url, **options)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _wait_healthy(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, f"server exited early:\n{log.read_text()}"
        try:
            if _request(port, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"server not ready in 30 s:\n{log.read_text()}")


def _request(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any, bool]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = None if body is None else json.dumps(body).encode()
        connection.request(method, path, data, {"Content-Type": "application/json"})
        response = connection.getresponse()
        replayed = response.getheader("Idempotent-Replayed") == "true"
        return response.status, json.loads(response.read()), replayed
    finally:
        connection.close()


def post(port: int, namespace: str, batch: int) -> tuple[int, Any, bool]:
    body = {"items": BATCHES[batch], "source": "test", "request_id": request_id(batch)}
    return _request(port, "POST", f"/v1/{namespace}/links", body)


def read(port: int, namespace: str) -> list[int]:
    """The statuses of looking up every identifier of the seed (all there before the round)."""
    return [
        _request(port, "GET", f"/v1/{namespace}/identifiers/{i['type']}/{i['value']}")[0]
        for item in SEED
        for i in item["identifiers"]
    ]


def test_the_real_server_under_concurrent_clients_answers_no_5xx_and_keeps_the_rules(
    server, serial
):
    """The eight writers, and four readers looking up identifiers while they write."""
    which, port, store = server  # read beside the running server
    try:
        for round_ in range(HTTP_ROUNDS_ON[which]):
            namespace = f"http{round_}"
            assert _request(port, "POST", f"/v1/{namespace}/links", {"items": SEED})[0] == 200
            sends = random.Random(round_).sample(SENDS, len(SENDS))
            answered = at_once(
                [partial(post, port, namespace, batch) for batch in sends]
                + [partial(read, port, namespace) for _ in range(READERS)]
            )
            posted, looked_up = answered[: len(SENDS)], answered[len(SENDS) :]
            statuses = [a if isinstance(a, BaseException) else a[0] for a in posted]
            assert statuses == [200] * len(SENDS)
            assert all(isinstance(r, list) and set(r) == {200} for r in looked_up), looked_up
            answers = [
                (batch, answer["results"], replayed)
                for batch, (_, answer, replayed) in zip(sends, posted, strict=True)
            ]
            check_round(store, namespace, answers, serial)
    finally:
        store.close()


# --- who waits for whom on Neo4j ---------------------------------------------------------------


def test_on_neo4j_a_writer_holds_only_what_it_touches(empty_bolt_server):
    """While a writer holds the profile of uuid:1 open, a writer of another namespace and a
    writer of another profile of the same namespace commit; a writer of that profile waits
    for it, then goes on from what it committed."""
    store = empty_bolt_server.open_store()
    service = IdentityService(store)
    for namespace in ("a", "b"):
        service.linking.link(namespace, link_requests([SEED[0], SEED[1]]))
    holding, release = threading.Event(), threading.Event()

    def hold(tx):
        state = tx.load_state("a", ["uuid:" + _uuid(1)["value"]])  # locks its profile
        holding.set()
        release.wait(timeout=60)
        return state

    def link(namespace: str, uuid: int, device: str) -> Callable[[], Any]:
        item = _item(_uuid(uuid), _id("deviceId", device))
        return partial(service.linking.link, namespace, link_requests([item]))

    holder = threading.Thread(target=store.write, args=(hold,))
    holder.start()
    try:
        assert holding.wait(timeout=30)
        others = [
            threading.Thread(target=call) for call in (link("b", 1, "d1"), link("a", 2, "d2"))
        ]
        same = threading.Thread(target=link("a", 1, "d3"))
        for thread in (*others, same):
            thread.start()
        for thread in others:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in others), "a writer of others waited"
        same.join(timeout=2)
        assert same.is_alive(), "a writer of the held profile did not wait"
    finally:
        release.set()
        holder.join(timeout=30)
        same.join(timeout=30)
    try:
        assert not same.is_alive()
        held = service.reading.profile_by_identifier("a", "uuid", _uuid(1)["value"])
        assert "d3" in {i.value for i in held.identifiers}
    finally:
        store.close()
