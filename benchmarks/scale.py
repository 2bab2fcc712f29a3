"""Scale: the SQLite store as it grows to millions of identifiers (issue 17).

The workload of workload.py grows a fresh store to ``--identifiers`` identifiers (default
1,000,000) in batches of ``--batch`` items, along each of these paths:

- raw minimal: the physical anchor. For the workload's anonymous pairs, a table of
  identifiers and a table of links with their keys only (no other index, no other table),
  written with ``executemany``, one transaction per batch, through ``SqliteStore.write``: the
  store's PRAGMAs, write lock and checkpoints, nothing of its schema.
- raw full schema: the same pairs as ingest.py's raw baseline writes them (a profile, two
  identifiers and a link each) into the store's own schema, every index included.
- service layer: IdentityService.link over SqliteStore on a fresh file, in this process; then
  ``--lookups`` random identifiers of the store are resolved in process
  (IdentityService.profile_by_identifier, resolve.py's loop), and the store's b-trees are
  measured (``dbstat``).
- HTTP (``--http``): POST /v1/{ns}/links to the real server (``idgraph serve``, as ingest.py
  starts it) over a fresh store, from ``--http-clients`` clients; bodies are encoded a few
  batches ahead by a thread of their own (at 10M they would not fit in memory all at once).

For each tenth of the run (the batches that took the store from k/10 to (k+1)/10 of the
identifiers) it reports links/s, batch p50/p99, the RSS at the tenth's end and the bytes
written per link (``wchar``: the WAL and the checkpoints); for the whole run, RSS (VmRSS at the
end, VmHWM peak: this process, or the largest gunicorn worker with its writing process), the
WAL's peak and the store's bytes per identifier. Links and times are counted as in ingest.py.

    python benchmarks/scale.py [--identifiers N] [--batch N] [--seed N] [--lookups N]
                               [--paths raw-minimal,raw-full,service] [--http]
                               [--http-clients N] [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest import Feed, Post, RawRows, chunks, http_label, post_batches
from resolve import IN_PROCESS_TARGET_MS, resolve_in_process
from workload import (
    NAMESPACE,
    Batch,
    IngestRun,
    Server,
    Workload,
    describe_machine,
    ingest_in_process,
    machine,
    memory_kb,
    percentile,
    progress_printer,
    reset_peak_memory,
    table,
    wal_size,
    write_json,
)

from graph.service import IdentityService
from graph.store.sqlite.store import SqliteStore, SqliteTx

RAW_MINIMAL, RAW_FULL, SERVICE = "raw minimal", "raw full schema", "service layer"
PATH_NAMES = {"raw-minimal": RAW_MINIMAL, "raw-full": RAW_FULL, "service": SERVICE}
TENTHS = 10
WARM_UP_SHARE = 0.05
# the goals, for a 10M-identifier store on 2 cores
FLAT_GOAL = 1.25  # last tenth's batch p50 / first tenth's
HTTP_RATE_GOAL = 10_000  # links/s
WORKER_RSS_GOAL_MB = 200


# --- one path's run, batch by batch ------------------------------------------------------------


@dataclass
class PathRun:
    """What IngestRun counts for one path, and per batch the links and the store's size after
    it, so that the run can be cut into tenths of the store's growth."""

    run: IngestRun
    identifiers: int  # the size the workload grows the store to
    probe: Probe  # memory and bytes written of what does the work
    batch_links: list[int] = field(default_factory=list)
    batch_identifiers: list[int] = field(default_factory=list)
    finished_at: list[float] = field(default_factory=list)  # perf_counter at each answer
    rss_kb: list[int | None] = field(default_factory=lambda: [None] * TENTHS)
    written: list[int] = field(default_factory=lambda: [0] * (TENTHS + 1))  # at each tenth's end
    wall_clock: bool = False  # tenths timed by the clock (concurrent clients), not summed
    started_at: float = 0.0  # perf_counter at the first request, for the clock
    store_path: Path | None = None  # whose WAL to watch
    wal_peak_bytes: int = 0  # the largest the -wal file was after a batch
    store_bytes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.run.path

    def batch_done(self, links: int, identifiers_after: int) -> None:
        """After each batch, outside its timing: the RSS kept is the last of each tenth."""
        self.batch_links.append(links)
        self.batch_identifiers.append(identifiers_after)
        self.finished_at.append(time.perf_counter())
        tenth = self.tenth_of(identifiers_after)
        self.rss_kb[tenth] = self.probe.memory_kb("VmRSS")
        self.written[tenth + 1] = self.probe.written()
        if self.store_path is not None:
            self.wal_peak_bytes = max(self.wal_peak_bytes, wal_size(self.store_path) or 0)

    def start(self) -> None:
        """Just before the first batch."""
        self.written[0] = self.probe.written()

    def finish(self) -> None:
        self.run.rss_end_kb = self.probe.memory_kb("VmRSS")
        self.run.peak_rss_kb = self.probe.memory_kb("VmHWM")

    def tenth_of(self, identifiers_after: int) -> int:
        return min(TENTHS - 1, max(0, identifiers_after - 1) * TENTHS // self.identifiers)

    def tenths(self) -> list[dict[str, Any]]:
        groups: list[list[int]] = [[] for _ in range(TENTHS)]
        for index, identifiers in enumerate(self.batch_identifiers):
            groups[self.tenth_of(identifiers)].append(index)
        figures, clock = [], self.started_at
        for number, batches in enumerate(groups):
            latencies = [self.run.batch_seconds[i] for i in batches]
            links = sum(self.batch_links[i] for i in batches)
            written = self.written[number + 1] - self.written[number] if batches else 0
            if self.wall_clock and batches:
                end = self.finished_at[batches[-1]]
                seconds, clock = end - clock, end
            else:
                seconds = sum(latencies)
            figures.append(
                {
                    "tenth": number + 1,
                    "identifiers_at_end": self.batch_identifiers[batches[-1]] if batches else None,
                    "batches": len(batches),
                    "links": links,
                    "seconds": round(seconds, 3),
                    "links_per_second": round(links / seconds, 1) if seconds else 0.0,
                    "batch_p50_ms": round(percentile(latencies, 50) * 1000, 2),
                    "batch_p99_ms": round(percentile(latencies, 99) * 1000, 2),
                    "rss_kb": self.rss_kb[number],
                    "written_bytes_per_link": round(written / links) if links else None,
                }
            )
        return figures

    def flatness(self) -> float | None:
        """Last tenth's batch p50 over the first tenth's: 1.0 is flat."""
        tenths = self.tenths()
        first, last = tenths[0]["batch_p50_ms"], tenths[-1]["batch_p50_ms"]
        return round(last / first, 3) if first else None

    def summary(self) -> dict[str, Any]:
        stored = self.batch_identifiers[-1] if self.batch_identifiers else 0
        per_identifier = self.store_bytes / stored if self.store_bytes and stored else None
        return {
            **self.run.summary(),
            "identifiers_stored": stored,
            "tenths": self.tenths(),
            "last_over_first_tenth_p50": self.flatness(),
            "store_bytes": self.store_bytes,
            "wal_peak_bytes": self.wal_peak_bytes,
            "store_bytes_per_identifier": None if per_identifier is None else round(per_identifier),
            **self.extra,
        }


class Probe:
    """Memory and bytes written (``wchar`` of /proc/<pid>/io: the WAL, checkpoints, logs) of
    what does the work: this process, or the server's workers, each with its own children
    (its writing process: with ``IDGRAPH_WRITER=process`` the batches are written there). The
    largest worker's memory with its children's (for VmHWM, the sum of their peaks: an upper
    bound), and the sum of every one's writes."""

    def __init__(self, server: Server | None = None) -> None:
        self._server = server

    def _families(self) -> list[list[int | str]]:
        if self._server is None:
            return [["self"]]
        return [list(family) for family in self._server.worker_families()]

    def memory_kb(self, field_name: str) -> int | None:
        sizes = [
            sum(size for pid in family if (size := memory_kb(pid, field_name)) is not None)
            for family in self._families()
        ]
        return max(sizes, default=0) or None

    def written(self) -> int:
        return sum(_written(pid) for family in self._families() for pid in family)


def _written(pid: int | str) -> int:
    try:
        with open(f"/proc/{pid}/io", encoding="ascii") as io:
            for line in io:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def store_bytes(path: Path) -> int | None:
    """The store's file once closed and its WAL checkpointed into it: what it holds, not what
    is still in the WAL (up to ``journal_size_limit``, 64 MB)."""
    if not path.exists():
        return None
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return path.stat().st_size


# --- raw: the physical anchor and the full schema ----------------------------------------------


class BareRows:
    """A batch of anonymous pairs as two identifiers and a link, in tables with their keys and
    nothing else: what any store of this graph must write at least."""

    SCHEMA = (
        "CREATE TABLE bare_identifiers (ns TEXT NOT NULL, key TEXT NOT NULL, "
        "profile_id INTEGER, PRIMARY KEY (ns, key)) WITHOUT ROWID",
        "CREATE TABLE bare_links (ns TEXT NOT NULL, id INTEGER NOT NULL, a_key TEXT NOT NULL, "
        "b_key TEXT NOT NULL, PRIMARY KEY (ns, id)) WITHOUT ROWID",
    )

    def __init__(self, pairs: list[tuple[str, str]], first_id: int) -> None:
        self.identifiers: list[tuple[str, str, int]] = []
        self.links: list[tuple[str, int, str, str]] = []
        for index, (browser, uuid_) in enumerate(pairs):
            pid = first_id + index
            a, b = f"browserId:{browser}", f"uuid:{uuid_}"
            self.identifiers += [(NAMESPACE, a, pid), (NAMESPACE, b, pid)]
            self.links.append((NAMESPACE, pid, a, b))

    @classmethod
    def create_tables(cls, tx: SqliteTx) -> None:
        for statement in cls.SCHEMA:
            tx.connection.execute(statement)

    def write(self, tx: SqliteTx) -> None:
        connection = tx.connection
        connection.executemany(
            "INSERT INTO bare_identifiers (ns, key, profile_id) VALUES (?, ?, ?)",
            self.identifiers,
        )
        connection.executemany(
            "INSERT INTO bare_links (ns, id, a_key, b_key) VALUES (?, ?, ?, ?)", self.links
        )


def run_raw(label: str, workload: Workload, directory: Path) -> PathRun:
    """The anonymous pairs, a transaction per batch; ``seconds`` is the sum of the
    transactions, building the rows is not counted."""
    path = directory / f"{label.replace(' ', '-')}.db"
    store = SqliteStore(path)
    minimal = label == RAW_MINIMAL
    if minimal:
        store.write(BareRows.create_tables)
    scale = PathRun(IngestRun(label), workload.identifiers, Probe(), store_path=path)
    run, printer = scale.run, progress_printer(label, workload)
    reset_peak_memory()
    scale.start()
    try:
        for pairs in chunks(workload.anonymous_pairs(), workload.batch_size):
            first = run.items + 1
            rows = BareRows(pairs, first) if minimal else RawRows.of_pairs(pairs, first)
            started = time.perf_counter()
            store.write(rows.write)
            elapsed = time.perf_counter() - started
            run.seconds += elapsed
            run.add(elapsed, items=len(pairs), links=len(pairs))
            run.kinds["anonymous"] += len(pairs)
            scale.batch_done(len(pairs), 2 * run.items)
            printer(_Progress(2 * run.items))
        scale.finish()
    finally:
        store.close()
    scale.store_bytes = store_bytes(path)
    return scale


@dataclass(frozen=True)
class _Progress:
    """What progress_printer reads of a batch, for the raw loops that have none."""

    identifiers_after: int


# --- the service layer, then resolving and the b-trees -----------------------------------------


def run_service(workload: Workload, directory: Path, lookups: int, seed: int) -> PathRun:
    path = directory / "service.db"
    store = SqliteStore(path)
    scale = PathRun(IngestRun(SERVICE), workload.identifiers, Probe(), store_path=path)
    printer = progress_printer(SERVICE, workload)

    def after_batch(batch: Batch) -> None:
        scale.batch_done(batch.links, batch.identifiers_after)
        printer(batch)

    try:
        service = IdentityService(store)
        reset_peak_memory()
        scale.start()
        scale.run = ingest_in_process(service, workload, progress=after_batch)
        scale.finish()
        print("resolving in process ...", file=sys.stderr, flush=True)
        warm_up, measured = sample_identifiers(store, lookups, seed)
        resolved = resolve_in_process(service, NAMESPACE, warm_up, measured, IN_PROCESS_TARGET_MS)
        scale.extra["resolve"] = resolved.summary()
    finally:
        store.close()
    scale.store_bytes = store_bytes(path)
    scale.extra["btrees"] = btree_sizes(path)
    return scale


def sample_identifiers(
    store: SqliteStore, count: int, seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A warm-up sample and the measured sample of distinct identifiers in a profile, drawn
    by one reservoir over the store's identifiers, so that memory does not grow with the store
    (resolve.py keeps them all); with replacement only if the store holds too few."""
    rng = random.Random(seed)
    warm_size = max(1, int(count * WARM_UP_SHARE))
    reservoir: list[tuple[str, str]] = []
    seen = 0
    for _key, type_, value, profile_id in store.iter_identifiers(NAMESPACE):
        if profile_id is None:
            continue
        seen += 1
        if len(reservoir) < count + warm_size:
            reservoir.append((type_, value))
        elif (slot := rng.randrange(seen)) < len(reservoir):
            reservoir[slot] = (type_, value)
    if seen < count + warm_size:
        return rng.choices(reservoir, k=warm_size), rng.choices(reservoir, k=count)
    rng.shuffle(reservoir)
    return reservoir[:warm_size], reservoir[warm_size:]


def btree_sizes(path: Path, top: int = 8) -> list[dict[str, Any]]:
    """The largest tables and indexes of the store, in bytes (SQLite's dbstat), or nothing
    where this SQLite lacks it."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT ?", (top,)
        ).fetchall()
    except sqlite3.Error:
        return []
    finally:
        connection.close()
    return [{"name": name, "bytes": size} for name, size in rows]


# --- HTTP --------------------------------------------------------------------------------------


def run_http(workload: Workload, directory: Path, clients: int) -> PathRun:
    """POST every batch to a fresh server; ``seconds`` is the wall clock from the first request
    to the last answer, each tenth too; memory is that of the largest worker with its children
    (see Probe)."""
    label = http_label(clients, 1)
    path = directory / "http.db"
    with Server(path, directory / "server.log") as server:
        scale = PathRun(IngestRun(label), workload.identifiers, Probe(server), store_path=path)
        scale.wall_clock = True
        printer = progress_printer(label, workload)

        def after_batch(batch: Batch) -> None:
            scale.batch_done(batch.links, batch.identifiers_after)
            printer(batch)

        feed = Feed(encoded_ahead(workload), scale.run, after_batch)
        scale.start()
        started = scale.started_at = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            posting = [pool.submit(post_batches, feed, server.port) for _ in range(clients)]
            for future in posting:
                future.result()
        scale.run.seconds = time.perf_counter() - started
        scale.finish()
        scale.extra["workers"] = server.workers
        scale.extra["workers_rss_end_kb"] = server.worker_memory_kb()
    scale.store_bytes = store_bytes(path)
    return scale


def encoded_ahead(workload: Workload, depth: int = 16) -> Iterator[Post]:
    """The batches as POST bodies, encoded by a thread of their own at most ``depth`` batches
    ahead of the clients: off the clients' clock, and never all in memory."""
    ready: queue.Queue[Post | BaseException | None] = queue.Queue(depth)

    def encode() -> None:
        try:
            for batch in workload.batches():
                ready.put(Post(batch, batch.body(), NAMESPACE))
            ready.put(None)
        except BaseException as error:  # handed to the consumer, raised there
            ready.put(error)

    threading.Thread(target=encode, name="encode-batches", daemon=True).start()
    while (post := ready.get()) is not None:
        if isinstance(post, BaseException):
            raise post
        yield post


# --- the report --------------------------------------------------------------------------------


def report(runs: list[PathRun]) -> str:
    parts = [summary_table(runs)]
    parts += [tenths_table(run) for run in runs]
    service = next((run for run in runs if run.path == SERVICE), None)
    if service is not None:
        parts.append(resolve_line(service.extra["resolve"]))
        parts.append(btree_table(service.extra["btrees"], service.summary()))
    if judged := goals(runs):
        parts.append(goals_table(judged))
    return "\n\n".join(parts)


def anchor_rate(runs: list[PathRun]) -> float | None:
    rates = [run.run.links_per_second for run in runs if run.path == RAW_MINIMAL]
    return rates[0] if rates else None


def summary_table(runs: list[PathRun]) -> str:
    anchor = anchor_rate(runs)
    rows = []
    for run in runs:
        figures = run.summary()
        rows.append(
            [
                run.path,
                f"{figures['identifiers_stored']:,}",
                f"{run.run.links:,}",
                f"{run.run.seconds:.1f}",
                f"{run.run.links_per_second:,.0f}",
                "-" if not anchor else f"{run.run.links_per_second / anchor:.2f}",
                f"{run.run.batch_ms(50):.1f}",
                f"{run.run.batch_ms(99):.1f}",
                f"{figures['last_over_first_tenth_p50']}",
                megabytes(run.run.rss_end_kb),
                megabytes(run.run.peak_rss_kb),
                megabytes(None if run.store_bytes is None else run.store_bytes // 1024),
                megabytes(run.wal_peak_bytes // 1024),
                f"{figures['store_bytes_per_identifier']}",
                f"{run.run.unexpected:,}",
            ]
        )
    headers = ["path", "identifiers", "links", "s", "links/s", "x raw min", "batch p50 ms",
               "p99 ms", "last/first p50", "RSS MB end", "peak", "store MB", "WAL MB peak",
               "bytes/id",
               "unexpected"]  # fmt: skip
    return table(headers, rows)


def tenths_table(run: PathRun) -> str:
    memory = "largest worker, with its writer" if run.wall_clock else "this process"
    rows = [
        [
            f"{tenth['tenth'] * 10}%",
            "-" if tenth["identifiers_at_end"] is None else f"{tenth['identifiers_at_end']:,}",
            f"{tenth['batches']:,}",
            f"{tenth['links_per_second']:,.0f}",
            f"{tenth['batch_p50_ms']:.1f}",
            f"{tenth['batch_p99_ms']:.1f}",
            megabytes(tenth["rss_kb"]),
            f"{tenth['written_bytes_per_link'] or 0:,}",
        ]
        for tenth in run.tenths()
    ]
    headers = [run.path, "identifiers", "batches", "links/s", "batch p50 ms", "p99 ms",
               f"RSS MB ({memory})", "bytes written/link"]  # fmt: skip
    return table(headers, rows)


def resolve_line(figures: dict[str, Any]) -> str:
    return table(
        ["resolve at the end", "lookups", "p50 ms", "p99 ms", "max ms", "failed", "target"],
        [
            [
                "in process",
                f"{figures['lookups']:,}",
                f"{figures['p50_ms']:.3f}",
                f"{figures['p99_ms']:.3f}",
                f"{figures['max_ms']:.1f}",
                f"{figures['failures']}",
                f"< {IN_PROCESS_TARGET_MS:g} ms",
            ]
        ],
    )


def btree_table(btrees: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    stored = summary["identifiers_stored"] or 1
    rows = [
        [tree["name"], f"{tree['bytes'] / 2**20:,.1f}", f"{tree['bytes'] / stored:.0f}"]
        for tree in btrees
    ]
    return table(["largest b-trees (service store)", "MB", "bytes/id"], rows)


def goals(runs: list[PathRun]) -> list[dict[str, Any]]:
    """The issue's goals (stated for 10M identifiers on 2 cores) against this run."""
    results = []
    for run in runs:
        if run.path == SERVICE or run.wall_clock:
            ratio = run.flatness()
            results.append(goal(f"{run.path}: last tenth's p50 / first's", ratio, FLAT_GOAL))
    for run in (run for run in runs if run.wall_clock):
        rate = run.run.links_per_second
        results.append(goal(f"{run.path}: links/s", rate, HTTP_RATE_GOAL, at_most=False))
        peak = None if run.run.peak_rss_kb is None else run.run.peak_rss_kb / 1024
        results.append(goal("RSS MB per worker (peak)", peak, WORKER_RSS_GOAL_MB))
    for run in runs:
        if "resolve" in run.extra:
            p99 = run.extra["resolve"]["p99_ms"]
            results.append(goal("resolve p99 ms, in process", p99, IN_PROCESS_TARGET_MS))
    return results


def goal(name: str, value: float | None, bound: float, *, at_most: bool = True) -> dict[str, Any]:
    """The value must stay at or under the bound (``at_most``), or reach it."""
    met = value is not None and (value <= bound if at_most else value >= bound)
    return {
        "goal": name,
        "value": value if value is None else round(value, 3),
        "bound": f"{'<=' if at_most else '>='} {bound:g}",
        "result": "PASS" if met else "FAIL",
    }


def goals_table(results: list[dict[str, Any]]) -> str:
    rows = [[g["goal"], f"{g['value']}", g["bound"], g["result"]] for g in results]
    return table(["goal (issue 17: 10M identifiers, 2 cores)", "value", "needed", "result"], rows)


def megabytes(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:.1f}"


# --- the command -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workload = Workload(args.identifiers, args.batch, args.seed)
    info = {**machine(), "load_average_at_start": os.getloadavg()}
    print(describe_machine(info))
    print(
        f"workload: {workload.identifiers:,} identifiers in batches of {workload.batch_size:,} "
        f"items, seed {workload.seed}; load average {os.getloadavg()[0]:.2f} at the start"
    )
    runs = []
    with tempfile.TemporaryDirectory(prefix="idgraph-scale-") as directory:
        for path in args.paths:
            print(f"{path} ...", file=sys.stderr, flush=True)
            runs.append(run_path(path, workload, Path(directory), args))
    info["load_average_at_end"] = os.getloadavg()
    print()
    print(report(runs))
    print(f"\nload average at the end: {info['load_average_at_end'][0]:.2f}")
    if args.json:
        write_json(args.json, as_document(runs, workload, info, args))
    return 0


def run_path(path: str, workload: Workload, directory: Path, args: argparse.Namespace) -> PathRun:
    if path in (RAW_MINIMAL, RAW_FULL):
        return run_raw(path, workload, directory)
    if path == SERVICE:
        return run_service(workload, directory, args.lookups, args.seed)
    return run_http(workload, directory, args.http_clients)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--identifiers", type=int, help="store size to reach (default 1000000)")
    parser.add_argument("--batch", type=int, help="items per batch (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="workload seed (default 1)")
    parser.add_argument("--lookups", type=int, help="resolves at the end (default 10000)")
    parser.add_argument(
        "--paths",
        default="raw-minimal,raw-full,service",
        help="comma-separated, of raw-minimal, raw-full, service; empty for --http alone "
        "(default: all three)",
    )
    parser.add_argument("--http", action="store_true", help="also ingest over HTTP")
    parser.add_argument("--http-clients", type=int, default=1, help="HTTP clients (default 1)")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON to PATH")
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run for smoke tests (20000 identifiers)"
    )
    args = parser.parse_args(argv)
    if args.identifiers is None:
        args.identifiers = 20_000 if args.quick else 1_000_000
    if args.batch is None:
        args.batch = 200 if args.quick else 1_000
    if args.lookups is None:
        args.lookups = 1_000 if args.quick else 10_000
    names = [name for name in args.paths.split(",") if name]
    unknown = set(names) - set(PATH_NAMES)
    if unknown:
        parser.error(f"--paths: unknown {', '.join(sorted(unknown))}")
    args.paths = [PATH_NAMES[name] for name in names]
    if args.http:
        args.paths.append(http_label(args.http_clients, 1))
    if not args.paths:
        parser.error("nothing to run: --paths is empty and --http not given")
    if min(args.batch, args.lookups, args.http_clients) < 1:
        parser.error("--batch, --lookups and --http-clients must be at least 1")
    if args.identifiers < 40 * args.batch:
        parser.error("--identifiers must be at least 40 x --batch: a tenth of several batches")
    return args


def as_document(
    runs: list[PathRun], workload: Workload, info: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    anchor = anchor_rate(runs)
    rates = {run.path: run.run.links_per_second for run in runs}
    return {
        "benchmark": "scale",
        "machine": info,
        "config": {
            "identifiers": workload.identifiers,
            "batch": workload.batch_size,
            "seed": workload.seed,
            "lookups": args.lookups,
            "http_clients": args.http_clients if args.http else None,
            "link": "per item: identifiers - 1, whatever the outcome",
        },
        "runs": [
            {
                **run.summary(),
                "ratio_to_raw_minimal": round(run.run.links_per_second / anchor, 3)
                if anchor
                else None,
            }
            for run in runs
        ],
        "raw_minimal_links_per_second": rates.get(RAW_MINIMAL),
        "raw_full_links_per_second": rates.get(RAW_FULL),
        "goals": goals(runs),
    }


if __name__ == "__main__":
    sys.exit(main())
