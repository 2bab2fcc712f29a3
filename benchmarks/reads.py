"""Reads at scale (issue 17): lookups per second and latency of
``GET /v1/{ns}/identifiers/{type}/{value}`` on a store of millions of identifiers, measured
by ``wrk`` (a load generator in C, Debian's package), alone and while an ingest runs.

Python clients on the same 2 cores spend about as much CPU per lookup as the server does, so
they measure themselves as much as the server; wrk leaves the server the cores.

- The store: ``--store-file PATH`` reuses a SQLite file that already holds the workload's
  namespace (a 10M-identifier store takes an hour to build: ``idgraph import`` of the file
  ``backfill.py`` writes); without it, the workload of ``--identifiers`` is imported into a
  fresh file with ``idgraph import``.
- The sample: ``--lookups`` identifiers, each a member of a live profile drawn at random by id
  (uniform over profiles, not identifiers; a profile's identifiers are found by its index).
- In process: each identifier of the sample resolved once through the service, p50/p99.
- Over HTTP: ``idgraph serve`` with its defaults (2 workers, 2 threads each on SQLite), then
  ``wrk --latency`` with ``--connections`` keep-alive connections on 2 threads, cycling through
  the sample from a different place on each thread: first ``--warm-up`` seconds not counted,
  then ``--seconds`` counted.
- While an ingest runs: the same wrk run while one client posts 1,000-item batches into the same
  namespace, one after the other, of a workload seeded by the time (new identifiers and request
  ids, so that a second run on the same file is not answered from the kept replies); its
  links/s is reported.
- ``--separate-ingest``: the ingest goes to a second ``idgraph serve`` over the same file, so
  that no write shares a worker (and its GIL) with the lookups: what they would see if writes
  ran in processes of their own (benchmarks/README.md, "The lean path").
- The floor: the same wrk run against a trivial Flask view (``{"ok": true}`` for any path)
  under gunicorn, with the server's workers and threads, so that every run names what the
  machine serves when the app does nothing (these VMs differ by 3x from day to day); off
  with ``--no-floor``.
- ``--key``: the lookups send an API key with the read right (made in the store for the run),
  as a production client does, instead of coming as local open mode's loopback client; the
  key's rate limit is lifted (``IDGRAPH_RATE_LIMIT``) so that it is checked but never reached.

    python benchmarks/reads.py [--store-file PATH] [--identifiers N] [--lookups N]
                               [--connections N] [--seconds N] [--key] [--separate-ingest]
                               [--no-floor] [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from backfill import run_import, write_file
from resolve import (
    HTTP_TARGET_MS,
    IN_PROCESS_TARGET_MS,
    Lookup,
    lookup_path,
    resolve_in_process,
)
from workload import (
    NAMESPACE,
    Connection,
    Server,
    Workload,
    answers_ok,
    describe_machine,
    free_port,
    machine,
    table,
    write_json,
)

from graph.keys import ApiKeys
from graph.service import IdentityService
from graph.store.sqlite.store import SqliteStore

DURING_INGEST_TARGET_MS = 20.0  # p99 while an ingest runs
LOOKUPS_PER_SECOND_TARGET = 2_000

# wrk: each thread cycles through the sample from its own offset; statuses other than 200
# are counted by wrk itself ("Non-2xx or 3xx responses")
WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("READS_PATHS")) do paths[#paths + 1] = line end
local threads = 0
function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end
function init(args)
  position = offset % #paths
  local auth = os.getenv("READS_AUTH")
  if auth then wrk.headers["Authorization"] = auth end
end
function request()
  position = position % #paths + 1
  return wrk.format("GET", paths[position])
end
"""
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
FLOOR_APP = """
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/<path:anything>")
def ok(anything):
    return jsonify(ok=True)
"""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("reads.py needs wrk: apt-get install wrk")
    info = machine()
    print(describe_machine(info))
    with tempfile.TemporaryDirectory(prefix="idgraph-reads-") as folder:
        directory = Path(folder)
        store = Path(args.store_file) if args.store_file else build_store(args, directory)
        sample = sample_lookups(store, NAMESPACE, args.lookups, args.seed)
        identifiers, size = count_identifiers(store, NAMESPACE), store.stat().st_size
        print(f"store: {identifiers:,} identifiers, {size / 1e6:,.0f} MB; "
              f"{len(sample):,} lookups, {args.connections} connections")  # fmt: skip
        in_process = resolve_locally(store, sample)
        paths_file = directory / "paths.txt"
        paths_file.write_text("".join(lookup_path(NAMESPACE, *s) + "\n" for s in sample))
        script = directory / "paths.lua"
        script.write_text(WRK_SCRIPT)
        authorization = reading_key(store) if args.key else None
        with contextlib.ExitStack() as servers:
            server = servers.enter_context(Server(store, directory / "server.log"))
            writer = server
            if args.separate_ingest:
                writer = servers.enter_context(Server(store, directory / "writer.log"))
            wrk = Wrk(server.port, script, paths_file, args.connections, authorization)
            wrk.run(args.warm_up)
            alone = wrk.run(args.seconds)
            ingest = Ingest(writer.port, seed=int(time.time()))
            with ingest:
                wrk.run(args.warm_up)
                during = wrk.run(args.seconds)
            memory, workers = server.worker_memory_kb(), server.workers
        floor = None
        if args.floor:
            with Floor(directory, workers) as trivial:
                wrk = Wrk(trivial.port, script, paths_file, args.connections, None)
                wrk.run(args.warm_up)
                floor = wrk.run(args.seconds)
    figures = {
        "machine": info,
        "identifiers": identifiers,
        "store_bytes": size,
        "lookups": len(sample),
        "connections": args.connections,
        "client": "API key" if args.key else "local open mode",
        "ingest_server": "separate" if args.separate_ingest else "same",
        "in_process": in_process,
        "http": alone,
        "http_during_ingest": {**during, "ingest_links_per_second": ingest.links_per_second},
        "floor": floor,  # a trivial Flask view, the same server shape and wrk run
        "workers": workers,
        "workers_rss_kb": memory,  # summed over the workers
    }
    print(report(figures))
    if args.json:
        write_json(args.json, figures)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store-file", metavar="PATH", help="a SQLite store to read from")
    parser.add_argument("--identifiers", type=int, default=100_000, help="store size to build")
    parser.add_argument("--lookups", type=int, default=10_000, help="identifiers in the sample")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--seconds", type=int, default=20, help="each measured wrk run")
    parser.add_argument("--warm-up", type=int, default=5, help="seconds before each run")
    parser.add_argument("--seed", type=int, default=1, help="workload and sample seed")
    parser.add_argument("--key", action="store_true", help="lookups send an API key")
    parser.add_argument(
        "--separate-ingest", action="store_true", help="post the ingest to a second server"
    )
    parser.add_argument(
        "--no-floor", dest="floor", action="store_false", help="skip the trivial Flask view"
    )
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON to PATH")
    parser.add_argument("--quick", action="store_true", help="5,000 identifiers, 1 s runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.identifiers, args.lookups, args.seconds, args.warm_up = 5_000, 500, 1, 1
    if args.identifiers < 2 or args.lookups < 1 or args.connections < 1 or args.seconds < 1:
        parser.error("--identifiers needs at least 2; --lookups, --connections, --seconds 1")
    return args


def build_store(args: argparse.Namespace, directory: Path) -> Path:
    """The workload imported with ``idgraph import`` into a fresh file."""
    path, store = directory / "workload.jsonl", directory / "reads.db"
    print(f"importing {args.identifiers:,} identifiers ...", file=sys.stderr, flush=True)
    write_file(Workload(args.identifiers, seed=args.seed), path)
    run_import(path, f"sqlite:///{store}", NAMESPACE, 20_000)
    path.unlink()
    return store


def reading_key(store: Path) -> str:
    """The Authorization header of a new API key with the read right in the workload's
    namespace; the servers started after this call check it but never hold it back."""
    os.environ["IDGRAPH_RATE_LIMIT"] = "1000000"  # per second: the Server passes it on
    opened = SqliteStore(store)
    try:
        # a name of its own: a store reused with --store-file keeps the keys of earlier runs
        name = f"reads-benchmark-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        _, text = ApiKeys(opened).create(NAMESPACE, ["read"], name)
    finally:
        opened.close()
    return f"Bearer {text}"


def sample_lookups(store: Path, namespace: str, count: int, seed: int) -> list[Lookup]:
    """``count`` identifiers, each of a live profile drawn at random by id."""
    rng = random.Random(seed)
    connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        (last,) = connection.execute(
            "SELECT coalesce(max(id), 0) FROM profiles WHERE ns = ?", (namespace,)
        ).fetchone()
        sample: list[Lookup] = []
        for _attempt in range(count * 50):
            row = connection.execute(
                "SELECT type, value FROM identifiers WHERE ns = ? AND profile_id = ? LIMIT 1",
                (namespace, rng.randint(1, last)),
            ).fetchone()
            if row is not None:  # merged profiles have no identifiers of their own
                sample.append((row[0], row[1]))
                if len(sample) == count:
                    return sample
    finally:
        connection.close()
    raise SystemExit(f"found {len(sample)} of {count} identifiers in namespace {namespace!r}")


def count_identifiers(store: Path, namespace: str) -> int:
    connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        query = "SELECT count(*) FROM identifiers WHERE ns = ?"
        return int(connection.execute(query, (namespace,)).fetchone()[0])
    finally:
        connection.close()


def resolve_locally(store: Path, sample: list[Lookup]) -> dict[str, Any]:
    """Each identifier of the sample resolved once through the service, after 5% as warm-up."""
    sqlite_store = SqliteStore(store)
    try:
        service = IdentityService(sqlite_store)
        run = resolve_in_process(
            service, NAMESPACE, sample[: len(sample) // 20 or 1], sample, IN_PROCESS_TARGET_MS
        )
    finally:
        sqlite_store.close()
    return run.summary()


class Wrk:
    """``wrk --latency`` against the server, its output parsed into figures."""

    def __init__(
        self, port: int, script: Path, paths: Path, connections: int, authorization: str | None
    ) -> None:
        self._url = f"http://127.0.0.1:{port}"
        self._script = script
        self._paths = paths
        self._connections = connections
        self._authorization = authorization

    def run(self, seconds: int) -> dict[str, Any]:
        threads = min(2, self._connections)
        command = ["wrk", f"-t{threads}", f"-c{self._connections}", f"-d{seconds}s", "--latency"]
        command += ["--timeout", "10s", "-s", str(self._script), self._url]
        environment = {"READS_PATHS": str(self._paths), "PATH": "/usr/bin:/bin"}
        if self._authorization:
            environment["READS_AUTH"] = self._authorization
        done = subprocess.run(command, capture_output=True, text=True, env=environment, check=True)
        return parse_wrk(done.stdout)


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, the latency distribution (p50/p75/p90/p99, ms) and failures of a wrk run."""
    figures: dict[str, Any] = {
        "lookups_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),  # type: ignore[index]
        "requests": int(re.search(r"(\d+) requests in", output)[1]),  # type: ignore[index]
    }
    for q, number, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)$", output, re.M):
        figures[f"p{q}_ms"] = round(float(number) * _UNIT_MS[unit], 3)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    figures["failed"] = int(bad[1]) if bad else 0
    figures["socket_errors"] = errors[1] if errors else ""
    return figures


class Floor:
    """A trivial Flask view under gunicorn (``FLOOR_APP``), ``workers`` x IDGRAPH_THREADS (2,
    the default of ``idgraph serve`` on SQLite) gthread workers on a free port, as a context
    manager: what the machine serves when the app does nothing."""

    def __init__(self, directory: Path, workers: int) -> None:
        (directory / "floor_app.py").write_text(FLOOR_APP)
        self.port = free_port()
        threads = os.environ.get("IDGRAPH_THREADS", "2")
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self._command = [str(gunicorn), "--chdir", str(directory), "-k", "gthread",
                         "-w", str(workers), "--threads", threads,
                         "-b", f"127.0.0.1:{self.port}", "floor_app:app"]  # fmt: skip
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Floor:
        self._process = subprocess.Popen(
            self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self._process.poll() is None:
            if answers_ok(self.port, "/ready", timeout=1.0):
                return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"the trivial Flask view did not answer on {self._command}")

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)


class Ingest:
    """One client posting the workload of ``seed``, batch after batch, in a thread, until
    the ``with`` block ends; ``links_per_second`` over the batches it finished."""

    def __init__(self, port: int, seed: int) -> None:
        self._port = port
        self._workload = Workload(50_000_000, seed=seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._post, daemon=True)
        self._links = 0
        self._seconds = 0.0

    def __enter__(self) -> Ingest:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def links_per_second(self) -> float:
        return round(self._links / self._seconds, 1) if self._seconds else 0.0

    def _post(self) -> None:
        connection = Connection(self._port)
        try:
            for batch in self._workload.batches():
                body = batch.body()
                started = time.perf_counter()
                status, answer = connection.request("POST", f"/v1/{NAMESPACE}/links", body)
                if status != 200:
                    raise RuntimeError(f"ingest batch answered {status}: {answer[:300]!r}")
                self._seconds += time.perf_counter() - started
                self._links += batch.links
                if self._stop.is_set():
                    return
        finally:
            connection.close()


def report(figures: dict[str, Any]) -> str:
    local = figures["in_process"]
    rows = [
        ["in process", f"{local['lookups_per_second']:,.0f}", local["p50_ms"], "", "",
         local["p99_ms"], local["failures"], f"< {IN_PROCESS_TARGET_MS:g}", ""],
    ]  # fmt: skip
    for key, label, target in (
        ("http", f"HTTP, {figures['connections']} connections", HTTP_TARGET_MS),
        ("http_during_ingest", "HTTP, while an ingest runs", DURING_INGEST_TARGET_MS),
        ("floor", "a trivial Flask view (floor)", None),
    ):
        run = figures[key]
        if run is None:
            continue
        goal = "" if target is None else f"< {target:g}"
        rows.append([label, f"{run['lookups_per_second']:,.0f}", run["p50_ms"], run["p75_ms"],
                     run["p90_ms"], run["p99_ms"], run["failed"], goal,
                     run.get("ingest_links_per_second", "")])  # fmt: skip
    headers = ["lookups", "per s", "p50 ms", "p75 ms", "p90 ms", "p99 ms", "failed",
               "p99 target", "ingest links/s"]  # fmt: skip
    memory, workers = figures["workers_rss_kb"] or 0, figures["workers"]
    return (
        table(headers, rows)
        + f"\n\ntarget: >= {LOOKUPS_PER_SECOND_TARGET:,} lookups/s over HTTP; RSS at the end "
        f"{memory / 1024:,.0f} MB over {workers} workers ({memory / 1024 / workers:,.0f} MB each); "
        f"the lookups came from {figures['client']}; the ingest went to "
        + ("a second server" if figures["ingest_server"] == "separate" else "the same server")
    )


if __name__ == "__main__":
    sys.exit(main())
