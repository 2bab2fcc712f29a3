"""Backfill: ``idgraph import`` of a file against the same items POSTed over HTTP, in one run.

The workload (workload.py) is written once as a JSON Lines file, one item a line in batch
order. It is then

- imported: ``idgraph import --namespace ... FILE`` in a subprocess into a fresh SQLite file
  (or, with ``--store``, into that Neo4j, a namespace named after the time). Its time is the
  command's wall clock, start-up and reading the file included; its memory is the command's
  peak RSS (``ru_maxrss`` of the child);
- posted: the same items in the same order, batches of ``--batch`` items, from one client to
  the real server on a fresh store (ingest.py's HTTP path). Memory is the gunicorn worker's.

Both count a link per item as its identifiers minus one, conflicts too, so the rates compare;
the import's table of outcomes must equal the outcomes HTTP answered (``same_outcomes``).

    python benchmarks/backfill.py [--identifiers N] [--batch N] [--chunk N] [--seed N]
                                  [--store URL] [--no-http] [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ingest import posts, run_http
from workload import NAMESPACE, Workload, describe_machine, machine, table, write_json

IDGRAPH = str(Path(sys.executable).parent / "idgraph")
OUTCOME_ROW = re.compile(r"^  ([a-z ]+?)\s+([\d,]+)$", re.MULTILINE)


def write_file(workload: Workload, path: Path) -> tuple[int, int]:
    """The workload as JSON Lines; (lines, links)."""
    lines = links = 0
    with path.open("w", encoding="utf-8") as file:
        for batch in workload.batches():
            for item in batch.items:
                file.write(json.dumps(item.as_json(), ensure_ascii=False, separators=(",", ":")))
                file.write("\n")
            lines += len(batch.items)
            links += batch.links
    return lines, links


def run_import(path: Path, store: str, namespace: str, chunk: int) -> dict[str, Any]:
    """``idgraph import`` in a subprocess: wall-clock seconds, peak RSS, its outcome table."""
    environment = {**os.environ, "IDGRAPH_STORE": store}
    command = [IDGRAPH, "import", "--namespace", namespace, "--chunk", str(chunk), str(path)]
    started = time.perf_counter()
    done = subprocess.run(command, env=environment, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"idgraph import exited {done.returncode}:\n{done.stderr[-3000:]}")
    table_ = {name: int(count.replace(",", "")) for name, count in OUTCOME_ROW.findall(done.stdout)}
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child yet
    return {"seconds": seconds, "peak_rss_kb": peak_kb, "table": table_, "stdout": done.stdout}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--identifiers", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1_000, help="items per HTTP request")
    parser.add_argument("--chunk", type=int, default=20_000, help="lines per import chunk")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--store", help="a Neo4j URL (neo4j://host:7687) instead of SQLite")
    parser.add_argument("--no-http", action="store_true", help="import only")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--quick", action="store_true", help="20,000 identifiers")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.identifiers = 20_000
    workload = Workload(arguments.identifiers, arguments.batch, arguments.seed)

    with tempfile.TemporaryDirectory(prefix="idgraph-backfill-") as folder:
        directory = Path(folder)
        path = directory / "workload.jsonl"
        lines, links = write_file(workload, path)
        print(f"{path.name}: {lines:,} lines, {path.stat().st_size / 1e6:,.1f} MB", file=sys.stderr)

        namespace = f"backfill-{int(time.time())}" if arguments.store else NAMESPACE
        store = arguments.store or f"sqlite:///{directory / 'import.db'}"
        imported = run_import(path, store, namespace, arguments.chunk)
        rows = [_row("idgraph import", links, imported["seconds"], imported["peak_rss_kb"])]
        figures: dict[str, Any] = {
            "machine": machine(),
            "identifiers": arguments.identifiers,
            "lines": lines,
            "links": links,
            "chunk": arguments.chunk,
            "store": "neo4j" if arguments.store else "sqlite",
            "import": {
                "seconds": round(imported["seconds"], 2),
                "links_per_second": round(links / imported["seconds"], 1),
                "peak_rss_kb": imported["peak_rss_kb"],
                "outcomes": imported["table"],
            },
        }
        if not arguments.no_http:
            http_namespace = f"{namespace}-http" if arguments.store else NAMESPACE
            batches = posts(workload, [http_namespace])
            http = run_http(workload, batches, 1, directory, arguments.store)
            rows.append(_row("HTTP, 1 client", links, http.seconds, http.peak_rss_kb))
            posted = Counter(http.outcomes)
            same = all(imported["table"].get(kind, 0) == n for kind, n in posted.items())
            figures["http"] = {
                "seconds": round(http.seconds, 2),
                "links_per_second": round(links / http.seconds, 1),
                "batch_p99_ms": round(http.batch_ms(99), 2),
                "peak_rss_kb": http.peak_rss_kb,
                "outcomes": dict(posted),
            }
            figures["import_to_http"] = round(http.seconds / imported["seconds"], 2)
            figures["same_outcomes"] = same

    print(describe_machine(figures["machine"]))
    print(f"{arguments.identifiers:,} identifiers, {lines:,} lines, {links:,} links\n")
    print(table(["path", "seconds", "links/s", "peak RSS MB"], rows))
    if "http" in figures:
        print(f"\nimport is {figures['import_to_http']}x HTTP; same outcomes: "
              f"{figures['same_outcomes']}")  # fmt: skip
    print(imported["stdout"])
    if arguments.json:
        write_json(arguments.json, figures)


def _row(path: str, links: int, seconds: float, peak_kb: int | None) -> list[str]:
    memory = f"{peak_kb / 1024:,.0f}" if peak_kb else "?"
    return [path, f"{seconds:,.1f}", f"{links / seconds:,.0f}", memory]


if __name__ == "__main__":
    main()
