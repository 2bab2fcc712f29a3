"""Key guessing: how long a real lookup takes while clients send junk API keys.

A fresh SQLite store holds one profile and one read key. ``idgraph serve`` (2 workers, its
defaults) serves it. One legitimate client, on a keep-alive connection from 127.0.0.2 with that
key, reads the profile (``GET /v1/shop/profiles/{id}``) every ``--interval`` ms and times each
answer, in three phases of ``--seconds`` each:

- quiet: nobody else calls;
- one address: ``--junk`` clients (processes, each with a keep-alive connection, as fast as
  the server answers, never waiting for Retry-After) send ``Bearer idg_<the live id>_<junk>``,
  all from 127.0.1.1;
- many addresses: the same, each client from an address of its own (127.0.2.1, .2, ...), so
  that each gets the throttle's whole budget of failures;
- healthz flood, for comparison: the same clients, from as many addresses, ask ``/healthz``
  without credentials, which the server answers about as cheaply as a refused key: what any
  flood of cheap requests costs the lookup on these cores, keys or none.

Before the throttle of failed credentials each junk key cost a scrypt (about 50 ms of a core);
the figures show what it leaves of the lookup's latency. All on loopback, all bounded in time.

    python benchmarks/key_guessing.py [--seconds S] [--junk N] [--interval MS] [--json PATH]
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from workload import Connection, Server, describe_machine, machine, percentile, table, write_json

from graph.keys import ApiKeys
from graph.store.sqlite.store import SqliteStore

LEGIT = "127.0.0.2"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--junk", type=int, default=16, help="clients sending junk keys")
    parser.add_argument("--interval", type=float, default=10.0, help="ms between lookups")
    parser.add_argument("--json", help="also write the figures as JSON")
    arguments = parser.parse_args()
    print(describe_machine(machine()), flush=True)
    with tempfile.TemporaryDirectory() as directory:
        store = Path(directory) / "guessing.db"
        key_id, key = make_key(store)
        with Server(store, Path(directory) / "server.log") as server:
            profile_id = make_profile(server.port)
            warm_up(server.port, key, profile_id)
            many = [f"127.0.2.{n + 1}" for n in range(arguments.junk)]
            phases = {
                "quiet": ([], None),
                "one address": (["127.0.1.1"] * arguments.junk, key_id),
                "many addresses": (many, key_id),
                "healthz flood": (many, None),
            }
            rows, figures = [], {}
            for name, (sources, junk_id) in phases.items():
                result = phase(server.port, key, junk_id, profile_id, sources, arguments)
                figures[name] = result
                rows.append(row(name, result))
                print(f"  {name}: done", file=sys.stderr, flush=True)
    print(table(HEADERS, rows))
    if arguments.json:
        write_json(arguments.json, {"machine": machine(), "phases": figures})


HEADERS = (
    "phase",
    "lookups",
    "429s",
    "p50 ms",
    "p99 ms",
    "max ms",
    "junk/s",
    "junk 401 (a scrypt each)",
    "junk 429",
    "healthz 200",
    "load average",
)


def row(name: str, result: dict[str, Any]) -> list[Any]:
    junk = result["junk"]
    return [
        name,
        result["lookups"],
        result["refused"],
        f"{result['p50_ms']:.1f}",
        f"{result['p99_ms']:.1f}",
        f"{result['max_ms']:.1f}",
        f"{sum(junk.values()) / result['seconds']:.0f}",
        junk.get("401", 0),
        junk.get("429", 0),
        junk.get("200", 0),
        f"{result['load_before']:.1f} -> {result['load_after']:.1f}",
    ]


def make_key(store_path: Path) -> tuple[int, str]:
    """A read key of namespace shop, as `idgraph keys create` makes it: its id and text."""
    store = SqliteStore(store_path)
    try:
        key, text = ApiKeys(store).create("shop", ["read"], "reader")
        return key.id, text
    finally:
        store.close()


def make_profile(port: int) -> int:
    """One profile, linked over HTTP (the server is in local open mode on loopback)."""
    identifiers = [{"type": "email", "value": "ann@x.io"}, {"type": "customId", "value": "c1"}]
    items = [{"identifiers": identifiers}]
    status, body = Connection(port).request(
        "POST", "/v1/shop/links", json.dumps({"items": items}).encode()
    )
    assert status == 200, body
    return json.loads(body)["results"][0]["profile_id"]


def warm_up(port: int, key: str, profile_id: int) -> None:
    """The key verified by every worker (its first request to each costs a scrypt): new
    connections land on either of the 2 workers at random, so 30 reach both but for 1 in 2^29.
    """
    for _ in range(30):
        connection = http.client.HTTPConnection("127.0.0.1", port, source_address=(LEGIT, 0))
        connection.request(
            "GET", f"/v1/shop/profiles/{profile_id}", headers={"Authorization": f"Bearer {key}"}
        )
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        connection.close()


def phase(
    port: int, key: str, key_id: int | None, profile_id: int, sources: list[str], arguments: Any
) -> dict[str, Any]:
    """Lookups while a client from each of ``sources`` sends junk keys for ``key_id``, or asks
    /healthz when there is no key id."""
    stop = multiprocessing.Event()
    counts: multiprocessing.Queue = multiprocessing.Queue()
    path = f"/v1/shop/profiles/{profile_id}"
    junk = [
        multiprocessing.Process(target=guess, args=(port, source, key_id, path, stop, counts))
        for source in sources
    ]
    for process in junk:
        process.start()
    load = os.getloadavg()[0]
    latencies, refused = lookups(port, key, path, arguments.seconds, arguments.interval / 1000)
    stop.set()
    statuses: collections.Counter[str] = collections.Counter()
    for _ in junk:
        statuses.update(counts.get(timeout=30))
    for process in junk:
        process.join(timeout=30)
    return {
        "seconds": arguments.seconds,
        "junk_clients": len(sources),
        "junk_addresses": len(set(sources)),
        "lookups": len(latencies),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000,
        "refused": refused,
        "junk": dict(statuses),
        "load_before": load,
        "load_after": os.getloadavg()[0],
    }


def lookups(
    port: int, key: str, path: str, seconds: float, interval: float
) -> tuple[list[float], int]:
    """The legitimate client: one lookup every ``interval`` s; the time of each answered one,
    and how many were refused (429: none should be)."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=30, source_address=(LEGIT, 0)
    )
    headers = {"Authorization": f"Bearer {key}"}
    took: list[float] = []
    refused = 0
    deadline = time.monotonic() + seconds
    tick = time.monotonic()
    while time.monotonic() < deadline:
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status == 429:
            refused += 1
        else:
            assert response.status == 200, response.status
            took.append(time.perf_counter() - started)
        tick += interval
        time.sleep(max(0.0, tick - time.monotonic()))
    connection.close()
    return took, refused


def guess(port: int, source: str, key_id: int | None, path: str, stop: Any, counts: Any) -> None:
    """A junk client: wrong secrets for a live key id (without one: /healthz), as fast as it
    is answered. At the lowest priority: an attacker's clients run on its machines, not on the
    server's cores, so here they take only the CPU that the server and the legitimate client
    leave."""
    os.nice(19)
    statuses: collections.Counter[str] = collections.Counter()
    connection = None
    while not stop.is_set():
        if connection is None:
            connection = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=30, source_address=(source, 0)
            )
        junk = {"Authorization": f"Bearer idg_{key_id}_{secrets.token_urlsafe(32)}"}
        try:
            if key_id is None:
                connection.request("GET", "/healthz")
            else:
                connection.request("GET", path, headers=junk)
            response = connection.getresponse()
            response.read()
            statuses[str(response.status)] += 1
        except (OSError, http.client.HTTPException):
            statuses["error"] += 1
            connection.close()
            connection = None
    counts.put(dict(statuses))


if __name__ == "__main__":
    main()
