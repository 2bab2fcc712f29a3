"""The compatibility faces under load: 1,000-item batches through Adnuntius ``POST /sync`` and
Synerise ``POST /v4/clients/batch``, next to the native ``POST /v1/{ns}/links`` with the same
identifiers, against the real server (``idgraph serve``) on a fresh store each.

Each batch is one request and one store transaction (the service runs load -> plan -> apply
inside one ``store.write``), whatever the face. The workload, per batch of ``--batch`` items:

- Adnuntius: items spread over two folders; each a browser and a CRM user (``ext:crm``).
  Every third item brings a second browser of a user seen before (``linked``) and one in
  twenty a known browser with a new user of the same system (a shared device: ``moved``).
- Synerise: half ``{uuid, email}`` pairs (new recognized profiles), a quarter
  ``{email, customId}`` for an email of an earlier batch (``customId`` added) and a quarter
  ``{uuid, customId, firstName}`` anonymous profiles.
- native: the Synerise items as native link items (the same identifiers and attributes).

Printed per face: batches, items/s, p50 and p99 batch latency. Every answer is checked (200
with one result per item, or 202); the script fails on any other status.

    python benchmarks/dialects.py [--batches N] [--batch N] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workload import Connection, Server, describe_machine, machine, percentile, table, write_json

Body = list[dict[str, Any]]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    print(describe_machine(info))
    print(f"{args.batches} batches of {args.batch} items per face\n")
    runs = []
    with tempfile.TemporaryDirectory(prefix="idgraph-dialects-") as directory:
        for name, path, expected, make in FACES:
            bodies = [make(n, args.batch) for n in range(args.batches)]
            runs.append(run_face(name, path, expected, bodies, Path(directory)))
    print(table(["face", "batches", "items/s", "p50 batch ms", "p99 batch ms"], list(rows(runs))))
    if args.json:
        write_json(args.json, {"machine": info, "batch": args.batch, "runs": runs})
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="5 batches of 200 items")
    parser.add_argument("--json", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.batches, args.batch = 5, 200
    return args


# --- the workloads ----------------------------------------------------------------------------


def adnuntius(n: int, size: int) -> Body:
    items = []
    for i in range(size):
        k = n * size + i
        user = k // 3 if k % 3 == 2 else k  # every third: a second browser of a known user
        browser = f"b{k - size if k % 20 == 19 and n else k}"  # 1 in 20: a known browser
        items.append({"folderId": f"folder-{k % 2}", "browserId": browser,
                      "externalSystemType": "crm", "externalSystemUserId": f"u{user}"})  # fmt: skip
    return items


def synerise(n: int, size: int) -> Body:
    items: Body = []
    for i in range(size):
        k = n * size + i
        uid = f"00000000-0000-4000-8000-{k:012d}"
        if i % 4 < 2:
            items.append({"uuid": uid, "email": f"p{k}@example.com"})
        elif i % 4 == 2 and n:
            items.append({"email": f"p{k - size}@example.com", "customId": f"c{k}"})
        else:
            items.append({"uuid": uid, "customId": f"c{k}", "firstName": "Ann"})
    return items


def native(n: int, size: int) -> dict[str, Any]:
    def item(obj: dict[str, Any]) -> dict[str, Any]:
        names = [k for k in ("uuid", "email", "customId") if k in obj]
        identifiers = [{"type": name, "value": obj[name]} for name in names]
        attributes = {"firstName": obj["firstName"]} if "firstName" in obj else {}
        return {"identifiers": identifiers, "attributes": attributes}

    return {"items": [item(obj) for obj in synerise(n, size)]}


FACES: list[tuple[str, str, int, Callable[[int, int], Any]]] = [
    ("native /v1/{ns}/links", "/v1/default/links", 200, native),
    ("Adnuntius /sync", "/sync", 200, adnuntius),
    ("Synerise /v4/clients/batch", "/v4/clients/batch", 202, synerise),
]


# --- running ----------------------------------------------------------------------------------


def run_face(name: str, path: str, expected: int, bodies: list[Any], directory: Path) -> dict:
    slug = path.strip("/").replace("/", "-")
    latencies = []
    with Server(directory / f"{slug}.db", directory / f"{slug}.log") as server:
        connection = Connection(server.port)
        try:
            for body in bodies:
                latencies.append(post(connection, path, body, expected))
        finally:
            connection.close()
    items = sum(len(body["items"] if isinstance(body, dict) else body) for body in bodies)
    return {
        "face": name,
        "batches": len(bodies),
        "items": items,
        "seconds": sum(latencies),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def post(connection: Connection, path: str, body: Any, expected: int) -> float:
    started = time.perf_counter()
    status, answer = connection.request("POST", path, json.dumps(body).encode())
    elapsed = time.perf_counter() - started
    if status != expected:
        raise RuntimeError(f"{path}: HTTP {status}: {answer[:500]!r}")
    return elapsed


def rows(runs: list[dict]) -> Iterator[list[Any]]:
    for run in runs:
        rate = run["items"] / run["seconds"]
        yield [run["face"], run["batches"], f"{rate:,.0f}", f"{run['p50_ms']:.0f}",
               f"{run['p99_ms']:.0f}"]  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
