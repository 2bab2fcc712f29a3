"""Ingest throughput: how fast idgraph links a realistic workload, next to what the machine's
SQLite can write at all.

The workload (workload.py) grows a store to ``--identifiers`` identifiers in batches of
``--batch`` items: 70% anonymous browser/uuid pairs, 20% CRM syncs that merge or attach
anonymous profiles, 10% items refused as conflicts. It is ingested

- raw: the machine's limit. Only the rows of anonymous pairs (a profile, two identifiers and
  a link each; as many identifiers as the workload) written with plain ``executemany``, one
  transaction per batch, through ``SqliteStore.write`` on a fresh file: the same schema,
  PRAGMAs, checkpoints and write lock as the service's. No reads, no planning.
- service layer: IdentityService.link over SqliteStore on a fresh file, in this process.
- HTTP: POST /v1/{ns}/links to the real server (``idgraph serve``, a fresh store) from one
  client, and from ``--http-clients`` concurrent clients when that is more than one; with
  ``--namespaces K`` those clients once more, spread over K namespaces (``posts``).

With ``--store neo4j://host:7687`` (credentials from NEO4J_USER, NEO4J_PASSWORD,
NEO4J_DATABASE) the service layer and HTTP runs go to that server instead, each into a
namespace of its own named after the time (nothing there is erased); there is no raw
baseline, so no ratios and no targets.

A link is counted per item as its identifiers minus one (the anchor joined to each other),
whatever the outcome: conflicts count too. Every rate is also given as a ratio to the raw
rate. Memory is the RSS of the process doing the work: this one for the service layer, the
gunicorn worker for HTTP; VmRSS after the first 10% of identifiers and at the end, VmHWM peak.

    python benchmarks/ingest.py [--identifiers N] [--batch N] [--seed N] [--http-clients N]
                                [--namespaces K] [--json PATH] [--quick] [--profile PATH]
                                [--store URL]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from itertools import islice, zip_longest
from pathlib import Path
from typing import Any, NamedTuple

from workload import (
    NAMESPACE,
    SOURCE,
    Batch,
    Connection,
    IngestRun,
    Server,
    Workload,
    describe_machine,
    ingest_in_process,
    machine,
    memory_kb,
    progress_printer,
    reset_peak_memory,
    table,
    wal_size,
    write_json,
)

from app.settings import Settings
from graph.model import utc_now
from graph.service import IdentityService
from graph.store import open_store
from graph.store.sqlite.store import SqliteStore, SqliteTx

RAW = "raw executemany"
SERVICE_TARGET = 1 / 3  # service layer, as a share of the raw rate
HTTP_TARGET = 1 / 2  # HTTP, as a share of the service-layer rate
OUTCOMES = ("created", "linked", "merged", "moved", "noop", "conflict")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workload = Workload(args.identifiers, args.batch, args.seed)
    info = machine()
    print(describe_machine(info))
    print(describe_workload(workload))
    with tempfile.TemporaryDirectory(prefix="idgraph-bench-") as directory:
        if args.profile:
            profile_service(workload, Path(directory), args.profile)
            return 0
        shapes = http_shapes(args.http_clients, args.namespaces)
        if args.store:
            runs = run_on_server(workload, Path(directory), shapes, args.store)
        else:
            runs = run_all(workload, Path(directory), shapes)
    print()
    print(report(runs))
    if args.json:
        write_json(args.json, as_document(runs, workload, info, args))
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--identifiers", type=int, help="store size to reach (default 200000)")
    parser.add_argument("--batch", type=int, help="items per batch (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="workload seed (default 1)")
    parser.add_argument(
        "--http-clients",
        type=int,
        default=1,
        help="also ingest over HTTP with this many concurrent clients (default 1: one run)",
    )
    parser.add_argument(
        "--namespaces",
        type=int,
        default=1,
        help="also run those clients spread over this many namespaces (default 1: no run)",
    )
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON to PATH")
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run for smoke tests (5000 identifiers)"
    )
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="only ingest through the service layer under cProfile; write the stats to PATH",
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        help="a Neo4j server (neo4j://host:7687) instead of fresh SQLite files",
    )
    args = parser.parse_args(argv)
    if args.store and args.store.startswith("sqlite:"):
        parser.error("--store is for a Neo4j server; SQLite runs use fresh files by default")
    if args.store and args.profile:
        parser.error("--profile runs on SQLite only")
    if args.identifiers is None:
        args.identifiers = 5_000 if args.quick else 200_000
    if args.batch is None:
        args.batch = 250 if args.quick else 1_000
    if args.identifiers < 2 or min(args.batch, args.http_clients, args.namespaces) < 1:
        parser.error("--identifiers needs 2; --batch, --http-clients, --namespaces at least 1")
    if args.identifiers < 2 * args.namespaces:
        parser.error("--namespaces: each namespace needs 2 identifiers at least")
    return args


def describe_workload(workload: Workload) -> str:
    return (
        f"workload: {workload.identifiers:,} identifiers in batches of {workload.batch_size:,} "
        f"items, seed {workload.seed}; a link = an item's identifiers - 1"
    )


def http_shapes(clients: int, namespaces: int) -> list[tuple[int, int]]:
    """The HTTP runs as (clients, namespaces): one client; ``clients`` in one namespace;
    ``clients`` over ``namespaces``."""
    shapes = [(1, 1), (clients, 1), (clients, namespaces)]
    return sorted(set(shapes), key=shapes.index)


def run_all(workload: Workload, directory: Path, shapes: list[tuple[int, int]]) -> list[IngestRun]:
    print("raw executemany baseline ...", file=sys.stderr, flush=True)
    runs = [run_raw(workload, directory)]
    print("service layer ...", file=sys.stderr, flush=True)
    runs.append(run_service(workload, directory))
    for clients, namespaces in shapes:
        print(f"{http_label(clients, namespaces)} ...", file=sys.stderr, flush=True)
        batches = posts(workload, namespace_names(NAMESPACE, namespaces))
        runs.append(run_http(workload, batches, clients, directory))
    return runs


def run_on_server(
    workload: Workload, directory: Path, shapes: list[tuple[int, int]], url: str
) -> list[IngestRun]:
    """The service layer and HTTP runs on a Neo4j server, each in namespaces of its own."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    print(f"service layer on {url} ...", file=sys.stderr, flush=True)
    runs = [run_service_on_server(workload, url, f"bench-{stamp}-service")]
    for clients, namespaces in shapes:
        print(f"{http_label(clients, namespaces)} on {url} ...", file=sys.stderr, flush=True)
        names = namespace_names(f"bench-{stamp}-http-{clients}x{namespaces}", namespaces)
        runs.append(run_http(workload, posts(workload, names), clients, directory, url))
    return runs


def run_service_on_server(workload: Workload, url: str, namespace: str) -> IngestRun:
    """IdentityService over a Neo4j server, into ``namespace``; this process's memory."""
    store = open_store(url, **Settings.from_env().store_options)
    try:
        reset_peak_memory()
        return ingest_in_process(
            IdentityService(store),
            workload,
            progress=progress_printer("service", workload),
            namespace=namespace,
        )
    finally:
        store.close()


# --- raw: the machine's limit ------------------------------------------------------------------


def run_raw(workload: Workload, directory: Path) -> IngestRun:
    """Anonymous pairs' rows with executemany, one transaction per batch. ``seconds`` is the
    sum of the transactions (BEGIN to COMMIT); building the rows is not counted."""
    path = directory / "raw.db"
    store = SqliteStore(path)  # the same file set-up, PRAGMAs and write lock as the service's
    run = IngestRun(RAW)
    reset_peak_memory()
    try:
        for pairs in chunks(workload.anonymous_pairs(), workload.batch_size):
            rows = RawRows.of_pairs(pairs, first_id=run.items + 1)
            started = time.perf_counter()
            store.write(rows.write)
            elapsed = time.perf_counter() - started
            run.seconds += elapsed
            run.add(elapsed, items=len(pairs), links=len(pairs))
            run.kinds["anonymous"] += len(pairs)
            identifiers_written = 2 * run.items
            if run.rss_at_10pct_kb is None and identifiers_written >= workload.identifiers / 10:
                run.rss_at_10pct_kb = memory_kb()
        run.rss_end_kb, run.peak_rss_kb = memory_kb(), memory_kb(field_name="VmHWM")
        run.wal_end_bytes = wal_size(path)
    finally:
        store.close()
    return run


class RawRows:
    """The profiles, identifiers and links rows of a batch of anonymous pairs, as the service
    would write them (same keys, provenance and timestamps)."""

    def __init__(self) -> None:
        self.profiles: list[tuple[Any, ...]] = []
        self.identifiers: list[tuple[Any, ...]] = []
        self.links: list[tuple[Any, ...]] = []

    @classmethod
    def of_pairs(cls, pairs: list[tuple[str, str]], first_id: int) -> RawRows:
        rows = cls()
        at, request_id = utc_now(), uuid.uuid4().hex
        for index, (browser, uuid_) in enumerate(pairs):
            pid = first_id + index  # one link per profile: the link id is the same number
            a, b = f"browserId:{browser}", f"uuid:{uuid_}"
            a_id, b_id = 2 * pid - 1, 2 * pid  # identifier ids, in order as the store gives them
            rows.profiles.append((pid, NAMESPACE, at, at, 0, None, request_id))
            rows.identifiers.append((NAMESPACE, a, "browserId", browser, pid, at, request_id, a_id))
            rows.identifiers.append((NAMESPACE, b, "uuid", uuid_, pid, at, request_id, b_id))
            rows.links.append(
                (pid, NAMESPACE, a, b, "native", SOURCE, request_id, index, at, a_id, b_id)
            )
        return rows

    def write(self, tx: SqliteTx) -> None:
        """Inside ``SqliteStore.write``: one BEGIN IMMEDIATE ... COMMIT, nothing but inserts."""
        connection = tx.connection
        connection.executemany(
            "INSERT INTO profiles (id, ns, created_at, updated_at, recognized, parent_id, "
            "request_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            self.profiles,
        )
        connection.executemany(
            "INSERT INTO identifiers (ns, key, type, value, profile_id, created_at, request_id, "
            "id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            self.identifiers,
        )
        connection.executemany(
            "INSERT INTO links (id, ns, a_key, b_key, operation, source, request_id, "
            "item_index, created_at, a_id, b_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.links,
        )


def chunks(pairs: Iterator[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    while chunk := list(islice(pairs, size)):
        yield chunk


# --- the service layer -------------------------------------------------------------------------


def run_service(workload: Workload, directory: Path) -> IngestRun:
    """IdentityService over SqliteStore on a fresh file; this process's memory."""
    path = directory / "service.db"
    store = SqliteStore(path)
    try:
        reset_peak_memory()  # the peak then belongs to this run, not to the ones before
        run = ingest_in_process(
            IdentityService(store), workload, progress=progress_printer("service", workload)
        )
        run.wal_end_bytes = wal_size(path)
        return run
    finally:
        store.close()


def profile_service(workload: Workload, directory: Path, output: str) -> None:
    """The service-layer ingest under cProfile (only the link() calls), top entries printed."""
    profiler = cProfile.Profile()
    store = SqliteStore(directory / "profile.db")
    try:
        run = ingest_in_process(IdentityService(store), workload, profiler=profiler)
    finally:
        store.close()
    profiler.dump_stats(output)
    print(f"profiled {run.links:,} links in {run.seconds:.1f} s (with profiler overhead)")
    for order in ("cumulative", "tottime"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(15)
        print(text.getvalue())


# --- HTTP --------------------------------------------------------------------------------------


class Post(NamedTuple):
    """A batch as one client posts it: its body, to its namespace."""

    batch: Batch
    body: bytes
    namespace: str


def namespace_names(prefix: str, count: int) -> list[str]:
    return [prefix] if count == 1 else [f"{prefix}-{n}" for n in range(count)]


def posts(workload: Workload, namespaces: list[str]) -> list[Post]:
    """The workload's batches as POST bodies, encoded before any clock starts. Over several
    namespaces it is as many workloads, each of an equal share of the identifiers (seeds
    ``seed``, ``seed + 1``, ...), one per namespace, their batches taken in turn: a batch
    refers only to profiles of its own namespace, so every outcome is still the intended one.
    ``identifiers_after`` then counts the identifiers of every namespace."""
    if len(namespaces) == 1:
        return [Post(batch, batch.body(), namespaces[0]) for batch in workload.batches()]
    share, extra = divmod(workload.identifiers, len(namespaces))
    parts = [
        Workload(share + (n < extra), workload.batch_size, workload.seed + n).batches()
        for n in range(len(namespaces))
    ]
    stored = [0] * len(namespaces)
    result = []
    for round_ in zip_longest(*parts):
        for n, batch in enumerate(round_):
            if batch is not None:
                stored[n] = batch.identifiers_after
                stamped = replace(batch, index=len(result), identifiers_after=sum(stored))
                result.append(Post(stamped, batch.body(), namespaces[n]))
    return result


def http_label(clients: int, namespaces: int) -> str:
    label = f"HTTP, {clients} client{'s' if clients > 1 else ''}"
    return label if namespaces == 1 else f"{label}, {namespaces} namespaces"


def run_http(
    workload: Workload,
    batches: list[Post],
    clients: int,
    directory: Path,
    url: str | None = None,
) -> IngestRun:
    """POST every batch to a fresh server from ``clients`` threads, each on its own keep-alive
    connection. ``seconds`` is wall-clock time from the first request to the last answer;
    memory is the gunicorn worker's. The server's store is a fresh file, or ``url``."""
    namespaces = len({post.namespace for post in batches})
    label = http_label(clients, namespaces)
    run = IngestRun(label)
    name = f"{clients}x{namespaces}"
    store, log = directory / f"http-{name}.db", directory / f"server-{name}.log"
    with Server(url or store, log) as server:
        tenth = workload.identifiers / 10
        printer = progress_printer(label, workload)

        def after_batch(batch: Batch) -> None:
            if run.rss_at_10pct_kb is None and batch.identifiers_after >= tenth:
                run.rss_at_10pct_kb = server.worker_memory_kb()
            printer(batch)

        feed = Feed(batches, run, after_batch)
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            posting = [pool.submit(post_batches, feed, server.port) for _ in range(clients)]
            for future in posting:
                future.result()
        run.seconds = time.perf_counter() - started
        run.rss_end_kb = server.worker_memory_kb()
        run.peak_rss_kb = server.worker_memory_kb("VmHWM")
        run.wal_end_bytes = None if url else wal_size(store)
    return run


class Feed:
    """Hands batches to client threads in order; records what comes back."""

    def __init__(
        self, batches: list[Post], run: IngestRun, after_batch: Callable[[Batch], None]
    ) -> None:
        self._batches = iter(batches)
        self._run = run
        self._after_batch = after_batch
        self._lock = threading.Lock()

    def next(self) -> Post | None:
        with self._lock:
            return next(self._batches, None)

    def done(self, batch: Batch, seconds: float, outcomes: list[str]) -> None:
        with self._lock:
            self._run.record(batch, seconds, outcomes)
            self._after_batch(batch)


def post_batches(feed: Feed, port: int) -> None:
    """One client: post batches until the feed runs dry."""
    connection = Connection(port)
    try:
        while (work := feed.next()) is not None:
            batch, body, namespace = work
            started = time.perf_counter()
            status, answer = connection.request("POST", f"/v1/{namespace}/links", body)
            elapsed = time.perf_counter() - started
            if status != 200:
                raise RuntimeError(f"batch {batch.index}: HTTP {status}: {answer[:500]!r}")
            outcomes = [result["outcome"] for result in json.loads(answer)["results"]]
            feed.done(batch, elapsed, outcomes)
    finally:
        connection.close()


# --- the report --------------------------------------------------------------------------------


def report(runs: list[IngestRun]) -> str:
    tables = [throughput_table(runs), growth_table(runs), outcome_table(runs)]
    if raw_rate(runs):
        tables.append(targets_table(runs))
    return "\n\n".join(tables)


def raw_rate(runs: list[IngestRun]) -> float | None:
    """The raw baseline's links/s; None on a Neo4j server, where there is none."""
    return runs[0].links_per_second if runs[0].path == RAW else None


def ratio(run: IngestRun, raw: float | None) -> float | None:
    return None if raw is None else round(run.links_per_second / raw, 3)


def throughput_table(runs: list[IngestRun]) -> str:
    raw = raw_rate(runs)
    rows = [
        [
            run.path,
            f"{run.items:,}",
            f"{run.links:,}",
            f"{run.seconds:.1f}",
            f"{run.links_per_second:,.0f}",
            "-" if raw is None else f"{run.links_per_second / raw:.2f}",
            f"{run.batch_ms(50):.1f}",
            f"{run.batch_ms(99):.1f}",
        ]
        for run in runs
    ]
    headers = ["path", "items", "links", "s", "links/s", "x raw", "batch p50 ms", "p99 ms"]
    return table(headers, rows)


def growth_table(runs: list[IngestRun]) -> str:
    """Latency, memory and WAL as the store grows: first tenth against the end."""
    rows = [
        [
            f"{run.path} ({'server worker' if run.path.startswith('HTTP') else 'this process'})",
            f"{run.batch_ms(50, 'first'):.1f}",
            f"{run.batch_ms(50, 'last'):.1f}",
            megabytes(run.rss_at_10pct_kb),
            megabytes(run.rss_end_kb),
            megabytes(run.peak_rss_kb),
            megabytes(None if run.wal_end_bytes is None else run.wal_end_bytes // 1024),
        ]
        for run in runs
    ]
    headers = ["as the store grows", "batch p50 ms first 10%", "last 10%", "RSS MB at 10%",
               "at end", "peak (VmHWM)", "WAL MB at end"]  # fmt: skip
    return table(headers, rows)


def outcome_table(runs: list[IngestRun]) -> str:
    planned = [run for run in runs if run.path != RAW]  # raw sends anonymous pairs only
    kinds = (planned or runs)[0].kinds
    sent = "sent: " + ", ".join(f"{kind} {count:,}" for kind, count in sorted(kinds.items()))
    rows = [
        [run.path, *(f"{run.outcomes[o]:,}" for o in OUTCOMES), f"{run.unexpected:,}"]
        for run in planned
    ]
    return sent + "\n" + table(["outcomes", *OUTCOMES, "unexpected"], rows)


def targets_table(runs: list[IngestRun]) -> str:
    return table(
        ["target", "ratio", "needed", "result"],
        [
            [t["target"], f"{t['ratio']:.3f}", f"{t['needed']:.3f}", t["result"]]
            for t in targets(runs)
        ],
    )


def targets(runs: list[IngestRun]) -> list[dict[str, Any]]:
    raw, service, *http = runs
    checks = [(f"{service.path} >= 1/3 of {raw.path}", service, raw, SERVICE_TARGET)]
    checks += [(f"{run.path} >= 1/2 of {service.path}", run, service, HTTP_TARGET) for run in http]
    results = []
    for name, run, reference, needed in checks:
        ratio = run.links_per_second / reference.links_per_second
        results.append(
            {
                "target": name,
                "ratio": round(ratio, 3),
                "needed": round(needed, 3),
                "result": "PASS" if ratio >= needed else "FAIL",
            }
        )
    return results


def megabytes(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:.1f}"


def as_document(
    runs: list[IngestRun], workload: Workload, info: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    raw = raw_rate(runs)
    return {
        "benchmark": "ingest",
        "machine": info,
        "config": {
            "identifiers": workload.identifiers,
            "batch": workload.batch_size,
            "seed": workload.seed,
            "http_clients": args.http_clients,
            "namespaces": args.namespaces,
            "link": "per item: identifiers - 1, whatever the outcome",
        },
        "runs": [{**run.summary(), "ratio_to_raw": ratio(run, raw)} for run in runs],
        "targets": targets(runs) if raw else [],
        "store": args.store or "sqlite (fresh files)",
    }


if __name__ == "__main__":
    sys.exit(main())
