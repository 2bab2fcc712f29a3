"""Resolve latency: how long it takes to answer "whose profile is this identifier?" with the
full profile (identifiers, attributes, aliases).

The workload of workload.py (default 100,000 identifiers) is ingested through the service
layer into a fresh SQLite store; then ``--lookups`` identifiers drawn at random from the store
(with replacement, ``--seed``) are resolved

- in process: IdentityService.profile_by_identifier, one call at a time;
- over HTTP: GET /v1/{ns}/identifiers/{type}/{value} against the real server
  (``idgraph serve`` on the same store file) from ``--clients`` concurrent clients, each a
  process of its own with one keep-alive connection, the lookups split evenly between them;
  and, for reference (no target), from one client: a request's own cost, without waiting
  behind the others. Clients are processes, as independent clients are: threads of one
  Python process would wait for each other's GIL, and that wait would count as the server's.

Latency is per lookup, measured by the caller (for HTTP: request sent to answer read). Each
path first resolves a separate warm-up sample of 5% of ``--lookups`` that is not counted.

With ``--store neo4j://host:7687`` (credentials from NEO4J_USER, NEO4J_PASSWORD,
NEO4J_DATABASE) the workload goes to that server instead, into a namespace of its own named
after the time (nothing there is erased), and the server of the HTTP runs uses it too.

    python benchmarks/resolve.py [--identifiers N] [--lookups N] [--clients N] [--seed N]
                                 [--json PATH] [--quick] [--store URL]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from workload import (
    NAMESPACE,
    Connection,
    Server,
    Workload,
    describe_machine,
    ingest_in_process,
    machine,
    percentile,
    progress_printer,
    table,
    write_json,
)

from app.settings import Settings
from graph.service import IdentityService
from graph.store import open_store
from graph.store.base import Store
from graph.store.sqlite.store import SqliteStore

IN_PROCESS_TARGET_MS = 1.0  # p99
NEO4J_IN_PROCESS_TARGET_MS = 5.0  # p99 on a Neo4j server: Bolt round trips to another process
HTTP_TARGET_MS = 10.0  # p99
WARM_UP_SHARE = 0.05

Lookup = tuple[str, str]  # (type, value) as stored


@dataclass
class ResolveRun:
    path: str
    target_ms: float | None  # p99 target; None for a reference run
    seconds: float = 0.0  # wall-clock time of the measured lookups
    latencies: list[float] = field(default_factory=list)  # seconds, one per lookup
    failures: int = 0  # lookups not answered with a profile
    identifiers_seen: int = 0  # identifiers in the profiles answered

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1000

    @property
    def result(self) -> str:
        if self.target_ms is None:
            return "-"
        return "PASS" if self.failures == 0 and self.p99_ms < self.target_ms else "FAIL"

    def summary(self) -> dict[str, Any]:
        count = len(self.latencies)
        return {
            "path": self.path,
            "lookups": count,
            "failures": self.failures,
            "seconds": round(self.seconds, 3),
            "lookups_per_second": round(count / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(percentile(self.latencies, 50) * 1000, 3),
            "p99_ms": round(self.p99_ms, 3),
            "max_ms": round(max(self.latencies, default=0.0) * 1000, 3),
            "mean_profile_identifiers": round(self.identifiers_seen / count, 2) if count else 0,
            "target_p99_ms": self.target_ms,
            "result": self.result,
        }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workload = Workload(args.identifiers, args.batch, args.seed)
    info = machine()
    print(describe_machine(info))
    print(
        f"workload: {workload.identifiers:,} identifiers (batches of {workload.batch_size:,}, "
        f"seed {workload.seed}); {args.lookups:,} lookups, {args.clients} HTTP clients"
    )
    with tempfile.TemporaryDirectory(prefix="idgraph-bench-") as directory:
        runs = run_all(workload, Path(directory), args)
    print()
    print(report(runs))
    if args.json:
        write_json(args.json, as_document(runs, workload, info, args))
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--identifiers", type=int, help="store size (default 100000)")
    parser.add_argument("--lookups", type=int, help="lookups per path (default 10000)")
    parser.add_argument("--clients", type=int, default=8, help="HTTP clients (default 8)")
    parser.add_argument("--batch", type=int, default=1_000, help="ingest batch (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="workload and sample seed")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON to PATH")
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run for smoke tests (5000 identifiers)"
    )
    parser.add_argument(
        "--store", metavar="URL", help="a Neo4j server (neo4j://host:7687) instead of SQLite"
    )
    args = parser.parse_args(argv)
    if args.store and args.store.startswith("sqlite:"):
        parser.error("--store is for a Neo4j server; SQLite runs use a fresh file by default")
    if args.identifiers is None:
        args.identifiers = 5_000 if args.quick else 100_000
    if args.lookups is None:
        args.lookups = 500 if args.quick else 10_000
    if args.identifiers < 2 or args.lookups < 1 or args.clients < 1 or args.batch < 1:
        parser.error("--identifiers needs at least 2; --lookups, --clients, --batch at least 1")
    return args


def run_all(workload: Workload, directory: Path, args: argparse.Namespace) -> list[ResolveRun]:
    path = directory / "resolve.db"
    if args.store:
        store = open_store(args.store, **Settings.from_env().store_options)
        namespace = f"bench-{time.strftime('%Y%m%d-%H%M%S')}-resolve"
    else:
        store, namespace = SqliteStore(path), NAMESPACE
    try:
        service = IdentityService(store)
        print("ingesting the workload ...", file=sys.stderr, flush=True)
        progress = progress_printer("ingest", workload)
        ingest_in_process(service, workload, progress=progress, namespace=namespace)
        warm_up, lookups = sample_lookups(store, namespace, args.lookups, args.seed)
        print("resolving in process ...", file=sys.stderr, flush=True)
        target = NEO4J_IN_PROCESS_TARGET_MS if args.store else IN_PROCESS_TARGET_MS
        runs = [resolve_in_process(service, namespace, warm_up, lookups, target)]
    finally:
        store.close()
    print(f"resolving over HTTP, {args.clients} clients ...", file=sys.stderr, flush=True)
    warm_up_paths = [lookup_path(namespace, *lookup) for lookup in warm_up]
    paths = [lookup_path(namespace, *lookup) for lookup in lookups]
    with Server(args.store or path, directory / "server.log") as server:
        runs.append(resolve_over_http(server.port, warm_up_paths, paths, args.clients))
        if args.clients > 1:
            print("resolving over HTTP, 1 client ...", file=sys.stderr, flush=True)
            runs.append(resolve_over_http(server.port, warm_up_paths, paths, 1, target_ms=None))
    return runs


def sample_lookups(
    store: Store, namespace: str, count: int, seed: int
) -> tuple[list[Lookup], list[Lookup]]:
    """A warm-up sample and the measured sample of identifiers that belong to a profile."""
    stored = [
        (type_, value)
        for _key, type_, value, profile_id in store.iter_identifiers(namespace)
        if profile_id is not None
    ]
    rng = random.Random(seed)
    warm_up = rng.choices(stored, k=max(1, int(count * WARM_UP_SHARE)))
    return warm_up, rng.choices(stored, k=count)


def resolve_in_process(
    service: IdentityService,
    namespace: str,
    warm_up: list[Lookup],
    lookups: list[Lookup],
    target_ms: float = IN_PROCESS_TARGET_MS,
) -> ResolveRun:
    run = ResolveRun("in process", target_ms)
    for type_, value in warm_up:
        service.reading.profile_by_identifier(namespace, type_, value)
    started = time.perf_counter()
    for type_, value in lookups:
        begun = time.perf_counter()
        view = service.reading.profile_by_identifier(namespace, type_, value)
        run.latencies.append(time.perf_counter() - begun)
        run.identifiers_seen += len(view.identifiers)
    run.seconds = time.perf_counter() - started
    return run


def resolve_over_http(
    port: int,
    warm_up_paths: list[str],
    paths: list[str],
    clients: int,
    target_ms: float | None = HTTP_TARGET_MS,
) -> ResolveRun:
    label = f"HTTP, {clients} client{'s' if clients > 1 else ''}"
    run = ResolveRun(label if target_ms else f"{label} (reference)", target_ms)
    ports = [port] * clients
    with ProcessPoolExecutor(clients) as pool:
        list(pool.map(get_all, ports, split(warm_up_paths, clients)))
        started = time.perf_counter()
        shares = list(pool.map(get_all, ports, split(paths, clients)))
        run.seconds = time.perf_counter() - started
    for share in shares:
        run.latencies += share.latencies
        run.failures += share.failures
        run.identifiers_seen += share.identifiers_seen
    return run


def lookup_path(namespace: str, type_: str, value: str) -> str:
    return f"/v1/{namespace}/identifiers/{quote(type_, safe='')}/{quote(value, safe='')}"


def split(paths: list[str], parts: int) -> list[list[str]]:
    return [paths[start::parts] for start in range(parts)]


def get_all(port: int, paths: list[str]) -> ResolveRun:
    """One client: GET every path on one keep-alive connection."""
    share = ResolveRun("client", None)
    connection = Connection(port)
    try:
        for path in paths:
            begun = time.perf_counter()
            status, body = connection.request("GET", path)
            share.latencies.append(time.perf_counter() - begun)
            if status == 200:
                share.identifiers_seen += len(json.loads(body)["identifiers"])
            else:
                share.failures += 1
    finally:
        connection.close()
    return share


def report(runs: list[ResolveRun]) -> str:
    rows = []
    for run in runs:
        figures = run.summary()
        rows.append(
            [
                run.path,
                f"{figures['lookups']:,}",
                f"{figures['lookups_per_second']:,.0f}",
                f"{figures['p50_ms']:.3f}",
                f"{figures['p99_ms']:.3f}",
                f"{figures['max_ms']:.1f}",
                f"{figures['mean_profile_identifiers']:.2f}",
                str(run.failures),
                "-" if run.target_ms is None else f"< {run.target_ms:g}",
                run.result,
            ]
        )
    headers = ["resolve", "lookups", "per s", "p50 ms", "p99 ms", "max ms", "ids/profile",
               "failed", "p99 target", "result"]  # fmt: skip
    return table(headers, rows)


def as_document(
    runs: list[ResolveRun], workload: Workload, info: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    return {
        "benchmark": "resolve",
        "machine": info,
        "config": {
            "identifiers": workload.identifiers,
            "batch": workload.batch_size,
            "seed": workload.seed,
            "lookups": args.lookups,
            "clients": args.clients,
            "warm_up_lookups": max(1, int(args.lookups * WARM_UP_SHARE)),
        },
        "store": args.store or "sqlite (a fresh file)",
        "runs": [run.summary() for run in runs],
    }


if __name__ == "__main__":
    sys.exit(main())
