"""Neo4j 5.26 beside SQLite: the benchmarks on both stores, in one run on one machine.

Every Neo4j here is a real Neo4j 5.26 Community started for the purpose from tools/neo4j
(tests/neo4j_server.py) in a fresh folder, with ``--heap`` and ``--pagecache`` and Neo4j's
defaults otherwise, so that each Neo4j run starts from an empty database as each SQLite run
starts from a fresh file. In order:

1. ingest (ingest.py's runs) at each of ``--sizes``: raw ``executemany`` and the service
   layer on SQLite, the service layer on Neo4j; then over HTTP with one client, ``--clients``
   clients in one namespace, and ``--clients`` clients spread over as many namespaces, each
   on SQLite and then on Neo4j. Beside each run: the CPU seconds of this process (the service
   layer, or the HTTP clients), of ``idgraph serve`` (master and workers) and of the Neo4j JVM,
   and Neo4j's files at the end. From ``--lean-from`` identifiers on, Neo4j skips the clients
   in one namespace (the 1M runs are long). Before each Neo4j run, ``--warm-up`` identifiers
   go into a namespace of their own (``warm_up``). A run that fails is reported as failed.
2. resolve.py and lineage.py with their defaults, on SQLite and with ``--store`` on Neo4j.
3. the server's threads on Neo4j: for each of ``--threads`` (IDGRAPH_THREADS), the HTTP
   ingest of ``--clients`` clients over as many namespaces at the first size, each on a fresh
   Neo4j, and resolve.py's HTTP lookups from 8 clients on one Neo4j of 100,000 identifiers.
4. where a Neo4j batch's time goes: the service-layer ingest of ``--profile-identifiers``
   with every Cypher statement timed (Neo4jTx.run wrapped here, not in graph/) and the CPU
   split between this process and the JVM; then the same ingest under cProfile.

Each size and steps 3 and 4 run in a Python process of their own (spawned), so that memory
figures start clean. The issue's goals are printed PASS/FAIL; it exits 0 whatever they say.

    python benchmarks/neo4j_beside_sqlite.py [--sizes N ...] [--clients N] [--threads T ...]
        [--heap 1g] [--pagecache 512m] [--lean-from N] [--profile-identifiers N]
        [--only STEP ...] [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import multiprocessing
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import ingest
import resolve
from workload import (
    NAMESPACE,
    IngestRun,
    Server,
    Workload,
    describe_machine,
    ingest_in_process,
    machine,
    memory_kb,
    table,
    write_json,
)

from app.settings import Settings
from graph.service import IdentityService
from graph.store import open_store
from graph.store.neo4j.store import Neo4jStore
from graph.store.neo4j.tx import Neo4jTx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STEPS = ("ingest", "resolve", "lineage", "threads", "profile")
RESOLVE_IDENTIFIERS = 100_000  # resolve.py's default store size
GOALS = {  # issue 16
    "service": 1 / 2,  # Neo4j's service-layer ingest, as a share of SQLite's
    "namespaces": 1.5,  # Neo4j, clients over as many namespaces, against one client
    "resolve_p99_ms": 5.0,  # Neo4j, resolve in process
}


def load_neo4j_server() -> Any:
    """tests/neo4j_server.py's Neo4jServer: it imports nothing of the tests or of graph/."""
    spec = importlib.util.spec_from_file_location("neo4j_server", ROOT / "tests/neo4j_server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


neo4j_server = load_neo4j_server()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.update(
        NEO4J_USER="neo4j", NEO4J_PASSWORD=neo4j_server.DEFAULT_PASSWORD, NEO4J_DATABASE="neo4j"
    )
    os.environ.pop("IDGRAPH_STORE", None)
    print(describe_machine(machine()))
    print(f"Neo4j: heap {args.heap}, page cache {args.pagecache}; started {time.ctime()}")
    neo4j_server.Neo4jServer.build()
    figures: dict[str, Any] = {"machine": machine(), "config": vars(args)}
    started = time.perf_counter()
    steps: dict[str, Callable[[], Any]] = {
        "ingest": lambda: {size: in_fresh_process(ingest_step, size, args) for size in args.sizes},
        "resolve": lambda: script_on_both("resolve.py", args),
        "lineage": lambda: script_on_both("lineage.py", args),
        "threads": lambda: in_fresh_process(threads_step, args),
        "profile": lambda: in_fresh_process(profile_step, args),
    }
    for name in args.only:
        try:
            figures[name] = steps[name]()
        except Exception as error:  # reported; the other steps go on
            print(f"\n!!! step {name} failed: {type(error).__name__}: {error}", flush=True)
        if args.json:
            write_json(args.json, figures)  # what is done so far survives a later failure
    print()
    print(goals_table(figures))
    print(f"\nall steps: {(time.perf_counter() - started) / 60:.1f} min")
    if args.json:
        write_json(args.json, figures)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", help="identifiers (200000 1000000)")
    parser.add_argument("--batch", type=int, help="items per batch (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="workload seed (default 1)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (4)")
    parser.add_argument("--threads", type=int, nargs="+", help="IDGRAPH_THREADS (4 8 16)")
    parser.add_argument("--heap", default="1g", help="Neo4j's Java heap (default 1g)")
    parser.add_argument("--pagecache", default="512m", help="Neo4j's page cache (512m)")
    parser.add_argument(
        "--lean-from", type=int, help="from this size on, fewer Neo4j runs (default 1000000)"
    )
    parser.add_argument(
        "--profile-identifiers", type=int, help="identifiers of step 4 (default 100000)"
    )
    parser.add_argument(
        "--warm-up", type=int, help="identifiers into a fresh Neo4j before a run (20000)"
    )
    parser.add_argument("--only", nargs="+", choices=STEPS, default=list(STEPS), help="steps")
    parser.add_argument("--json", metavar="PATH", help="write every figure as JSON to PATH")
    parser.add_argument("--quick", action="store_true", help="a tiny run (smoke test)")
    args = parser.parse_args(argv)
    defaults = {
        "sizes": ([3_000], [200_000, 1_000_000]),
        "batch": (250, 1_000),
        "threads": ([2, 4], [4, 8, 16]),
        "lean_from": (3_000, 1_000_000),
        "profile_identifiers": (2_000, 100_000),
        "warm_up": (1_000, 20_000),
    }
    for name, (small, large) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, small if args.quick else large)
    return args


def in_fresh_process(step: Callable[..., Any], *arguments: Any) -> Any:
    """Run a step in a new Python process (spawned, not forked): its memory starts clean."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(step, *arguments).result()


# --- measuring a run ---------------------------------------------------------------------------


@contextmanager
def fresh_neo4j(args: argparse.Namespace) -> Iterator[Any]:
    """A real Neo4j on an empty database, for one run; its folder goes afterwards."""
    with tempfile.TemporaryDirectory(prefix="idgraph-neo4j-") as home:
        with neo4j_server.Neo4jServer(
            Path(home), heap=args.heap, pagecache=args.pagecache
        ) as server:
            yield server


@dataclass
class Cpu:
    """CPU seconds (user + system) spent while a run went on, by process."""

    seconds: float = 0.0  # wall clock
    this: float = 0.0  # this process: the service layer, or the HTTP clients
    serve: float = 0.0  # idgraph serve, master and workers (reaped children of this process)
    jvm: float = 0.0  # the Neo4j JVM
    machine: float = 0.0  # every process of the machine (/proc/stat): others = the rest

    @property
    def others(self) -> float:
        return max(0.0, self.machine - self.this - self.serve - self.jvm)

    def busy(self, cores: int = os.cpu_count() or 1) -> float:
        """The machine's share in use: every process's CPU over the cores' time."""
        return (self.this + self.serve + self.jvm) / (self.seconds * cores) if self.seconds else 0


def process_cpu(pid: int | None) -> float:
    """utime + stime of a running process, every thread of it (/proc/<pid>/stat)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> float:
    """CPU seconds the whole machine spent busy since boot (/proc/stat, every core)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@contextmanager
def cpu_of(jvm_pid: int | None) -> Iterator[Cpu]:
    cpu = Cpu()
    wall, mine, jvm = time.perf_counter(), os.times(), process_cpu(jvm_pid)
    everything = machine_cpu()
    yield cpu
    now = os.times()
    cpu.machine = machine_cpu() - everything
    cpu.seconds = time.perf_counter() - wall
    cpu.this = now.user + now.system - mine.user - mine.system
    cpu.serve = (now.children_user + now.children_system) - (
        mine.children_user + mine.children_system
    )
    cpu.jvm = process_cpu(jvm_pid) - jvm


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


@dataclass
class Measured:
    store: str  # sqlite or neo4j
    run: IngestRun
    cpu: Cpu
    error: str | None = None  # the run failed (a request timed out, ...): no figures
    store_mb: float | None = None  # Neo4j: data/databases at the end
    tx_log_mb: float | None = None  # Neo4j: data/transactions at the end
    jvm_rss_mb: float | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "store": self.store,
            **self.run.summary(),
            "error": self.error,
            "cpu": asdict(self.cpu),
            "neo4j_store_mb": self.store_mb,
            "neo4j_tx_log_mb": self.tx_log_mb,
            "neo4j_jvm_rss_mb": self.jvm_rss_mb,
        }

    def line(self) -> str:
        """One line as soon as the run is over."""
        run = self.run
        if self.error:
            return f"{run.path}, {self.store}: FAILED after {self.cpu.seconds:.0f} s: {self.error}"
        return (
            f"{run.path}, {self.store}: {run.links_per_second:,.0f} links/s, batch p50 "
            f"{run.batch_ms(50):,.0f} ms, p99 {run.batch_ms(99):,.0f} ms; {self.cpu.busy():.0%} "
            f"of 2 cores busy"
        )


def measure(
    store: str, path: str, call: Callable[[], IngestRun], jvm_pid: int | None = None
) -> Measured:
    """One run, its CPU split; a run that fails is kept as failed, and the others go on."""
    with cpu_of(jvm_pid) as cpu:
        try:
            run, error = call(), None
        except Exception as exception:  # reported, not hidden
            run, error = IngestRun(path), f"{type(exception).__name__}: {exception}"[:300]
    measured = Measured(store, run, cpu, error)
    print(measured.line(), flush=True)
    return measured


def on_sqlite(path: str, call: Callable[[], IngestRun]) -> Measured:
    return measure("sqlite", path, call)


def on_neo4j(args: argparse.Namespace, path: str, call: Callable[[str], IngestRun]) -> Measured:
    """A run on a fresh, warmed-up Neo4j, and the size of its files at the end."""
    with fresh_neo4j(args) as server:
        warm_up(server.uri, args)
        measured = measure("neo4j", path, partial(call, server.uri), server.pid)
        data, rss = server.home / "data", memory_kb(server.pid)
        measured.store_mb = folder_mb(data / "databases")
        measured.tx_log_mb = folder_mb(data / "transactions")
        measured.jvm_rss_mb = None if rss is None else rss / 1024
        return measured


def warm_up(url: str, args: argparse.Namespace) -> None:
    """A Neo4j's first batches go at about half speed while its JIT compiles and its query
    plans fill the cache; a long-running server is past that. So before a measured run a small
    workload of its own (``--warm-up`` identifiers, another seed) goes into a namespace of its
    own through the service layer."""
    if not args.warm_up:
        return
    store = open_store(url, **Settings.from_env().store_options)
    try:
        workload = Workload(args.warm_up, args.batch, args.seed + 1000)
        ingest_in_process(IdentityService(store), workload, namespace="warm-up")
    finally:
        store.close()


@contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --- 1. ingest ---------------------------------------------------------------------------------


def ingest_step(size: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One size: SQLite's runs and Neo4j's, run by run (see the module's docstring)."""
    workload = Workload(size, args.batch, args.seed)
    print(f"\n=== ingest, {ingest.describe_workload(workload)}", flush=True)
    shapes = ingest.http_shapes(args.clients, args.clients)
    lean = size >= args.lean_from
    measured: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="idgraph-bench-") as folder:
        directory = Path(folder)
        measured.append(on_sqlite(ingest.RAW, partial(ingest.run_raw, workload, directory)))
        service = "service layer"
        measured.append(on_sqlite(service, partial(ingest.run_service, workload, directory)))
        on_server = partial(ingest.run_service_on_server, workload, namespace=NAMESPACE)
        measured.append(on_neo4j(args, service, on_server))
        for clients, namespaces in shapes:
            path = ingest.http_label(clients, namespaces)
            batches = ingest.posts(workload, ingest.namespace_names(NAMESPACE, namespaces))
            http = partial(ingest.run_http, workload, batches, clients, directory)  # (url)
            measured.append(on_sqlite(path, http))
            if not (lean and clients > 1 and namespaces == 1):
                measured.append(on_neo4j(args, path, http))
    for store in ("sqlite", "neo4j"):
        print(f"\n--- on {store}, {size:,} identifiers")
        print(ingest.report([m.run for m in measured if m.store == store and not m.error]))
    print()
    print(cpu_table(measured))
    print()
    print(beside_table(measured))
    return [m.summary() for m in measured]


def cpu_table(measured: list[Measured]) -> str:
    rows = [
        [f"{m.run.path}, {m.store}", f"{m.cpu.seconds:.1f}", f"FAILED: {m.error}"] + [""] * 6
        if m.error
        else [
            f"{m.run.path}, {m.store}",
            f"{m.cpu.seconds:.1f}",
            f"{m.cpu.this:.1f}",
            f"{m.cpu.serve:.1f}",
            f"{m.cpu.jvm:.1f}" if m.store == "neo4j" else "-",
            f"{m.cpu.busy():.0%}",
            f"{m.cpu.others:.1f}",
            "-" if m.store_mb is None else f"{m.store_mb:,.0f} + {m.tx_log_mb:,.0f}",
            "-" if m.jvm_rss_mb is None else f"{m.jvm_rss_mb:,.0f}",
        ]
        for m in measured
    ]
    headers = ["CPU s during the run", "wall s", "this process", "idgraph serve", "Neo4j JVM",
               "busy (2 cores)", "other processes", "Neo4j MB store + tx logs",
               "JVM RSS MB"]  # fmt: skip
    return table(headers, rows)


def beside_table(measured: list[Measured]) -> str:
    by_path: dict[str, dict[str, IngestRun]] = {}
    for m in measured:
        by_path.setdefault(m.run.path, {})
        if not m.error:
            by_path[m.run.path][m.store] = m.run
    rows = []
    for path, runs in by_path.items():
        sqlite, neo4j = runs.get("sqlite"), runs.get("neo4j")
        rows.append(
            [
                path,
                f"{sqlite.links_per_second:,.0f}" if sqlite else "-",
                f"{neo4j.links_per_second:,.0f}" if neo4j else "-",
                f"{neo4j.links_per_second / sqlite.links_per_second:.2f}"
                if sqlite and neo4j
                else "-",
            ]
        )
    return table(["links/s", "SQLite", "Neo4j", "Neo4j / SQLite"], rows)


# --- 2. resolve and lineage --------------------------------------------------------------------


def script_on_both(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """A script with its defaults on SQLite, then with --store on a fresh Neo4j."""
    options = ["--quick"] if args.quick else []
    figures = {"sqlite": script(name, options)}
    with fresh_neo4j(args) as server:
        figures["neo4j"] = script(name, [*options, "--store", server.uri])
    return figures


def script(name: str, options: list[str]) -> dict[str, Any]:
    print(f"\n=== {name} {' '.join(options)}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "figures.json"
        command = [sys.executable, str(HERE / name), *options, "--json", str(output)]
        subprocess.run(command, check=True)
        return json.loads(output.read_text())


# --- 3. the server's threads on Neo4j ----------------------------------------------------------


def threads_step(args: argparse.Namespace) -> dict[str, Any]:
    workload = Workload(args.sizes[0], args.batch, args.seed)
    clients = args.clients
    print(f"\n=== IDGRAPH_THREADS on Neo4j: {ingest.describe_workload(workload)}", flush=True)
    batches = ingest.posts(workload, ingest.namespace_names(NAMESPACE, clients))
    ingests = []
    with tempfile.TemporaryDirectory(prefix="idgraph-bench-") as folder:
        http = partial(ingest.run_http, workload, batches, clients, Path(folder))  # (url)
        path = ingest.http_label(clients, clients)
        for threads in args.threads:
            with environment(IDGRAPH_THREADS=str(threads)):
                ingests.append(on_neo4j(args, path, http))
        lookups = resolve_with_threads(args, Path(folder))
    rows = [
        [
            f"2 x {threads}",
            "FAILED" if m.error else f"{m.run.links_per_second:,.0f}",
            f"{m.run.batch_ms(50):,.0f}",
            f"{m.run.batch_ms(99):,.0f}",
            f"{m.cpu.busy():.0%}",
            f"{run.summary()['lookups_per_second']:,.0f}",
            f"{run.summary()['p50_ms']:.2f}",
            f"{run.p99_ms:.2f}",
        ]
        for threads, m, run in zip(args.threads, ingests, lookups, strict=True)
    ]
    headers = ["workers x threads", f"ingest, {ingests[0].run.path}: links/s", "batch p50 ms",
               "p99 ms", "busy", "resolve, HTTP 8 clients: per s", "p50 ms", "p99 ms"]  # fmt: skip
    print()
    print(table(headers, rows))
    return {
        "threads": args.threads,
        "ingest": [m.summary() for m in ingests],
        "resolve": [run.summary() for run in lookups],
    }


def resolve_with_threads(args: argparse.Namespace, directory: Path) -> list[resolve.ResolveRun]:
    """resolve.py's HTTP run (8 clients) against one Neo4j store, once per thread count."""
    size, count = (5_000, 500) if args.quick else (RESOLVE_IDENTIFIERS, 10_000)
    workload = Workload(size, 1_000, args.seed)
    runs = []
    with fresh_neo4j(args) as server:
        store = open_store(server.uri, **Settings.from_env().store_options)
        try:
            print(f"resolve: ingesting {size:,} identifiers ...", file=sys.stderr, flush=True)
            ingest_in_process(IdentityService(store), workload, namespace=NAMESPACE)
            warm_up, lookups = resolve.sample_lookups(store, NAMESPACE, count, args.seed)
        finally:
            store.close()
        warm_up_paths = [resolve.lookup_path(NAMESPACE, *lookup) for lookup in warm_up]
        paths = [resolve.lookup_path(NAMESPACE, *lookup) for lookup in lookups]
        for threads in args.threads:
            print(f"resolve: 2 x {threads} threads ...", file=sys.stderr, flush=True)
            with environment(IDGRAPH_THREADS=str(threads)):
                with Server(server.uri, directory / f"resolve-{threads}.log") as http:
                    runs.append(resolve.resolve_over_http(http.port, warm_up_paths, paths, 8))
    return runs


# --- 4. where a Neo4j batch's time goes --------------------------------------------------------


class StatementClock:
    """While installed, times every Cypher statement a Neo4j transaction runs as this process
    sees it (Neo4jTx.run: send, execute, fetch every row) and as Neo4j reports it (the result's
    ``result_available_after`` + ``result_consumed_after``), and the transactions around them:
    ``Neo4jStore.write`` and ``.read`` (session, begin, the work, commit, retries) and the work
    inside them.
    Wrapped here, for this run only: graph/ is not changed."""

    def __init__(self) -> None:
        self.client: Counter[str] = Counter()  # seconds
        self.server: Counter[str] = Counter()  # seconds
        self.calls: Counter[str] = Counter()
        self.rows_in: Counter[str] = Counter()  # the longest list parameter ($rows, $keys)
        self.rows_out: Counter[str] = Counter()
        self.transaction_seconds = 0.0  # Neo4jStore.write and .read
        self.work_seconds = 0.0  # inside them
        self.reserve_seconds = 0.0  # ids taken in transactions of their own (ids.py)

    def per(self, count: int) -> dict[str, dict[str, float]]:
        """Each statement's figures per batch or lookup, as JSON."""
        return {
            name: {
                "calls": round(self.calls[name] / count, 2),
                "rows_in_per_call": round(self.rows_in[name] / self.calls[name], 1),
                "rows_out_per_call": round(self.rows_out[name] / self.calls[name], 1),
                "ms": round(seconds * 1000 / count, 3),
                "neo4j_ms": round(self.server[name] * 1000 / count, 3),
            }
            for name, seconds in self.client.most_common()
        }

    @contextmanager
    def installed(self) -> Iterator[StatementClock]:
        originals = {
            (Neo4jTx, "run"): Neo4jTx.run,
            (Neo4jStore, "write"): Neo4jStore.write,
            (Neo4jStore, "read"): Neo4jStore.read,
            (Neo4jStore, "run"): Neo4jStore.run,
        }
        clock = self

        def run(tx: Neo4jTx, name: str, **parameters: Any) -> list[dict[str, Any]]:
            statement = tx.statements[name]
            started = time.perf_counter()
            result = tx.tx.run(statement.text, statement.bind(parameters))
            rows = result.data()
            summary = result.consume()
            clock.client[name] += time.perf_counter() - started
            server_ms = (summary.result_available_after or 0) + (summary.result_consumed_after or 0)
            clock.server[name] += server_ms / 1000
            clock.calls[name] += 1
            lists = [len(value) for value in parameters.values() if isinstance(value, list)]
            clock.rows_in[name] += max(lists, default=0)
            clock.rows_out[name] += len(rows)
            return rows

        def transaction(kind: str) -> Callable[..., Any]:
            def timed(store: Neo4jStore, work: Callable[[Neo4jTx], Any]) -> Any:
                def timed_work(tx: Neo4jTx) -> Any:
                    started = time.perf_counter()
                    try:
                        return work(tx)
                    finally:
                        clock.work_seconds += time.perf_counter() - started

                started = time.perf_counter()
                try:
                    return originals[Neo4jStore, kind](store, timed_work)
                finally:
                    clock.transaction_seconds += time.perf_counter() - started

            return timed

        def store_run(store: Neo4jStore, statement: Any, **options: Any) -> list[dict]:
            started = time.perf_counter()
            try:
                return originals[Neo4jStore, "run"](store, statement, **options)
            finally:
                clock.reserve_seconds += time.perf_counter() - started

        replacements = {
            (Neo4jTx, "run"): run,
            (Neo4jStore, "write"): transaction("write"),
            (Neo4jStore, "read"): transaction("read"),
            (Neo4jStore, "run"): store_run,
        }
        for (owner, name), replacement in replacements.items():
            setattr(owner, name, replacement)
        try:
            yield self
        finally:
            for (owner, name), original in originals.items():
                setattr(owner, name, original)


def profile_step(args: argparse.Namespace) -> dict[str, Any]:
    workload = Workload(args.profile_identifiers, args.batch, args.seed)
    print(f"\n=== where a Neo4j batch goes: {ingest.describe_workload(workload)}", flush=True)
    clock = StatementClock()
    with fresh_neo4j(args) as server:
        warm_up(server.uri, args)
        with clock.installed(), cpu_of(server.pid) as cpu:
            run = ingest.run_service_on_server(workload, server.uri, NAMESPACE)
        lookups = resolve_timed(args, server.uri)
    batches = len(run.batch_seconds)
    print(f"\nservice layer with every statement timed: {run.links_per_second:,.0f} links/s")
    print(
        f"CPU over {cpu.seconds:.1f} s: this process {cpu.this:.1f} s "
        f"({cpu.this / cpu.seconds:.0%} of one core), Neo4j JVM {cpu.jvm:.1f} s "
        f"({cpu.jvm / cpu.seconds:.0%} of one core); both: {cpu.busy():.0%} of 2 cores"
    )
    parts = breakdown(run.seconds, clock, "link() in all", "normalizing, digest")
    print()
    print(parts_table(parts, batches, "per batch"))
    print()
    print(statements_table(clock, batches, "batch"))
    return {
        "run": run.summary(),
        "cpu": asdict(cpu),
        "per_batch_ms": {name: round(s * 1000 / batches, 2) for name, s in parts.items()},
        "statements_per_batch": clock.per(batches),
        "resolve": lookups,
        "cprofile_top": profile_under_cprofile(args, workload),
    }


def resolve_timed(args: argparse.Namespace, url: str) -> dict[str, Any]:
    """resolve.py's in-process lookups on the store just ingested, every statement timed."""
    store = open_store(url, **Settings.from_env().store_options)
    try:
        service = IdentityService(store)
        count = 200 if args.quick else 2_000
        warm_up_sample, lookups = resolve.sample_lookups(store, NAMESPACE, count, args.seed)
        resolve.resolve_in_process(service, NAMESPACE, warm_up_sample, [])
        clock = StatementClock()
        with clock.installed():
            run = resolve.resolve_in_process(service, NAMESPACE, [], lookups)
    finally:
        store.close()
    figures = run.summary()
    print(
        f"\nresolve in process, every statement timed: {count:,} lookups, "
        f"p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms"
    )
    parts = breakdown(sum(run.latencies), clock, "profile_by_identifier()", "the service")
    print(parts_table(parts, count, "per lookup", digits=2))
    print()
    print(statements_table(clock, count, "lookup", digits=2))
    return {
        "run": figures,
        "per_lookup_ms": {name: round(s * 1000 / count, 3) for name, s in parts.items()},
        "statements_per_lookup": clock.per(count),
    }


def breakdown(total: float, clock: StatementClock, call: str, before: str) -> dict[str, float]:
    """Seconds, from the service call down to what Neo4j says it spent."""
    statements, work = sum(clock.client.values()), clock.work_seconds
    return {
        call: total,
        f"outside the transaction ({before})": total - clock.transaction_seconds,
        "session, begin, commit, retries": clock.transaction_seconds - work,
        "inside the transaction": work,
        "  statements, as this process sees them": statements,
        "    of which Neo4j reports executing": sum(clock.server.values()),
        "  ids taken (reserve_ids, own transactions)": clock.reserve_seconds,
        "  Python between statements (loading, planning, rows)": work
        - statements
        - clock.reserve_seconds,
    }


def parts_table(parts: dict[str, float], count: int, unit: str, digits: int = 1) -> str:
    total = next(iter(parts.values()))
    rows = [
        [name, f"{seconds * 1000 / count:,.{digits}f}", f"{seconds / total:.0%}"]
        for name, seconds in parts.items()
    ]
    return table([unit, "ms", "share"], rows)


def statements_table(clock: StatementClock, count: int, unit: str, digits: int = 1) -> str:
    total = sum(clock.client.values())
    rows = [
        [
            name,
            f"{clock.calls[name] / count:.1f}",
            f"{clock.rows_in[name] / clock.calls[name]:,.0f}",
            f"{clock.rows_out[name] / clock.calls[name]:,.0f}",
            f"{seconds * 1000 / count:,.{digits}f}",
            f"{clock.server[name] * 1000 / count:,.{digits}f}",
            f"{seconds / total:.0%}",
        ]
        for name, seconds in clock.client.most_common()
    ]
    headers = ["statement", f"calls/{unit}", "rows in/call", "rows out/call", f"ms/{unit}",
               f"Neo4j ms/{unit}", "share"]  # fmt: skip
    return table(headers, rows)


def profile_under_cprofile(args: argparse.Namespace, workload: Workload) -> list[str]:
    """The same ingest under cProfile (the link() calls only): the top of this process."""
    profiler = cProfile.Profile()
    with fresh_neo4j(args) as server:
        warm_up(server.uri, args)
        store = open_store(server.uri, **Settings.from_env().store_options)
        try:
            run = ingest_in_process(
                IdentityService(store), workload, profiler=profiler, namespace=NAMESPACE
            )
        finally:
            store.close()
    print(f"\nunder cProfile: {run.links:,} links in {run.seconds:.1f} s (with its overhead)")
    lines = []
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(20)
        print(text.getvalue())
        lines.append(text.getvalue())
    return lines


# --- the goals ---------------------------------------------------------------------------------


def goals_table(figures: dict[str, Any]) -> str:
    rows = []
    for size, runs in figures.get("ingest", {}).items():
        rate = {(r["store"], r["path"]): r["links_per_second"] for r in runs if not r["error"]}
        if ("neo4j", "service layer") in rate and ("sqlite", "service layer") in rate:
            service = rate[("neo4j", "service layer")] / rate[("sqlite", "service layer")]
            name = f"{size:,}: Neo4j service layer >= 1/2 of SQLite's"
            rows.append(goal(name, service, "service"))
        one = rate.get(("neo4j", "HTTP, 1 client"))
        spread = [
            r
            for r in runs
            if r["store"] == "neo4j" and r["path"].endswith("namespaces") and not r["error"]
        ]
        if one and spread:
            name = f"{size:,}: Neo4j {spread[0]['path']} >= 1.5 x 1 client"
            rows.append(goal(name, spread[0]["links_per_second"] / one, "namespaces"))
    if "resolve" in figures:
        p99 = figures["resolve"]["neo4j"]["runs"][0]["p99_ms"]
        rows.append(goal("Neo4j resolve in process: p99 ms < 5", p99, "resolve_p99_ms"))
    return table(["goal (issue 16)", "measured", "needed", "result"], rows)


def goal(name: str, measured: float, key: str) -> list[str]:
    needed = GOALS[key]
    met = measured < needed if key.endswith("_ms") else measured >= needed
    return [name, f"{measured:.3f}", f"{needed:.3f}", "PASS" if met else "FAIL"]


if __name__ == "__main__":
    sys.exit(main())
