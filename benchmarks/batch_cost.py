"""What a link batch over HTTP costs the worker that answers it (issue 17): the CPU time of
the worker process itself (not of its children) and the wall time per ``POST /v1/{ns}/links``
of ``--batch`` items, for each ``IDGRAPH_WRITER`` mode asked.

The worker's CPU is what a batch takes from the lookups that share its GIL; the wall time is
what the client waits. Unlike latency percentiles under load, both are steady on a busy VM.
One `idgraph serve` worker (``IDGRAPH_WORKERS=1``) on a fresh SQLite file per mode; the first
batch is not counted (it starts a writing process), then ``--batches`` batches of the ingest
workload (benchmarks/workload.py) are posted one after the other.

    python benchmarks/batch_cost.py [--writers inline,process] [--batches 20] [--batch 1000]
                                    [--rounds 2] [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from workload import (
    Connection,
    Server,
    Workload,
    describe_machine,
    machine,
    table,
    write_json,
)

PATH = "/v1/bench/links"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    print(describe_machine(info))
    workload = Workload(identifiers=2 * args.batch * (args.batches + 2), batch_size=args.batch)
    bodies = [batch.body() for batch in workload.batches()][: args.batches + 1]
    assert len(bodies) == args.batches + 1, "the workload is too small for --batches"
    rows: list[dict[str, Any]] = []
    for round_ in range(args.rounds):
        for writer in args.writers:
            rows.append({"round": round_ + 1, "writer": writer, **cost(writer, bodies)})
    print(
        table(
            ["round", "writer", "worker CPU ms/batch", "wall ms/batch", "items/s"],
            [
                [r["round"], r["writer"], r["worker_cpu_ms"], r["wall_ms"], r["items_per_s"]]
                for r in rows
            ],
        )
    )
    if args.json:
        write_json(args.json, {"benchmark": "batch_cost", "machine": info, "runs": rows})
    return 0


def cost(writer: str, bodies: list[bytes]) -> dict[str, Any]:
    os.environ.update(IDGRAPH_WRITER=writer, IDGRAPH_WORKERS="1")
    with tempfile.TemporaryDirectory(prefix="idgraph-batch-cost-") as folder:
        directory = Path(folder)
        with Server(directory / "store.db", directory / "server.log") as server:
            [worker] = server.worker_pids()
            connection = Connection(server.port)
            items = 0
            for number, body in enumerate(bodies):
                if number == 1:  # the first batch started the writing process: not counted
                    cpu, started = cpu_seconds(worker), time.perf_counter()
                status, answer = connection.request("POST", PATH, body)
                if status != 200:
                    raise RuntimeError(f"batch {number}: {status} {answer[:300]!r}")
                items += answer.count(b'"outcome"') if number else 0
            wall, used = time.perf_counter() - started, cpu_seconds(worker) - cpu
            connection.close()
    counted = len(bodies) - 1
    return {
        "batches": counted,
        "worker_cpu_ms": round(used / counted * 1000),
        "wall_ms": round(wall / counted * 1000),
        "items_per_s": round(items / wall),
    }


def cpu_seconds(pid: int) -> float:
    """User and system time of the process itself, its children not included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--writers",
        type=lambda raw: raw.split(","),
        default=["inline", "process"],
        help="IDGRAPH_WRITER modes, comma-separated",
    )
    parser.add_argument("--batches", type=int, default=20, help="batches counted per run")
    parser.add_argument("--batch", type=int, default=1000, help="items per batch")
    parser.add_argument("--rounds", type=int, default=2, help="runs of every mode, alternating")
    parser.add_argument("--json", help="also write the figures as JSON")
    parser.add_argument(
        "--quick", action="store_true", help="3 batches of 100, one round: a smoke test"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.batches, args.batch, args.rounds = 3, 100, 1
    return args


if __name__ == "__main__":
    sys.exit(main())
