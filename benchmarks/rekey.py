"""What `idgraph rekey` costs on a store written before today's rules of identifier types.

It writes an old store as versions before wrote it (identifiers as clients spelled them,
planned and applied without today's normalization): ``--identifiers`` identifiers in pairs
of a browser and a device, ``browserId:b<n>`` + ``deviceId:d<n>``. Every ``deviceId`` is now
``deviceid`` (a custom type name folds to lower case), so half the store is respelled: the
worst case short of a store written entirely in other spellings. Every ``--spelled-twice``-th
pair also had its device sent as ``deviceid`` already, in a profile of its own, so that the
respelling merges two profiles. Then it times the re-keying (Rekeying.rekey, what the command
runs) and reports identifiers read per second, respellings per second and the peak RSS; then
times a second run, which finds nothing to do.

    python benchmarks/rekey.py [--identifiers N] [--spelled-twice K] [--store URL] [--json PATH]

``--store neo4j://...`` (NEO4J_USER, NEO4J_PASSWORD) writes into a namespace of that server
named after the time; the default is a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workload import (  # noqa: E402
    describe_machine,
    machine,
    memory_kb,
    reset_peak_memory,
    table,
    write_json,
)

from graph.model import Identifier, LinkItem, Provenance, utc_now  # noqa: E402
from graph.planner import plan_links  # noqa: E402
from graph.rules import RuleBook, Rules  # noqa: E402
from graph.service.rekeying import Rekeying  # noqa: E402
from graph.store import open_store  # noqa: E402

BATCH = 1000  # items per transaction while writing the old store


def old_items(pairs: int, spelled_twice: int) -> Iterator[LinkItem]:
    for n in range(pairs):
        yield LinkItem((Identifier("browserId", f"b{n}"), Identifier("deviceId", f"d{n}")))
        if spelled_twice and n % spelled_twice == 0:
            yield LinkItem((Identifier("uuid", f"u{n}"), Identifier("deviceid", f"d{n}")))


def write_old_store(store, namespace: str, items: Iterator[LinkItem]) -> int:
    """Write the items in batches; how many identifiers they held."""
    written = 0
    while batch := list(islice(items, BATCH)):
        written += sum(len(item.identifiers) for item in batch)

        def work(tx, batch=batch, request_id=f"old-{written}"):
            keys = {i.key for item in batch for i in item.identifiers}
            plan = plan_links(batch, tx.load_state(namespace, keys), Rules(),
                              Provenance(request_id, utc_now()))  # fmt: skip
            tx.apply(namespace, plan.changes)

        store.write(work)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--identifiers", type=int, default=1_000_000)
    parser.add_argument("--spelled-twice", type=int, default=100)
    parser.add_argument("--store", help="a Neo4j URL; default: a fresh SQLite file")
    parser.add_argument("--json", help="write the figures there too")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="idgraph-rekey-")
    url = args.store or f"sqlite:///{folder}/rekey.db"
    options = {}
    if args.store:
        options = {"user": os.environ.get("NEO4J_USER", "neo4j"),
                   "password": os.environ.get("NEO4J_PASSWORD", "")}  # fmt: skip
    store = open_store(url, **options)
    namespace = f"rekey-{int(time.time())}" if args.store else "bench"
    print(f"writing an old store of about {args.identifiers:,} identifiers to {url} ...",
          file=sys.stderr)  # fmt: skip
    started = time.perf_counter()
    write_old_store(store, namespace, old_items(args.identifiers // 2, args.spelled_twice))
    write_seconds = time.perf_counter() - started

    reset_peak_memory()
    rekeying = Rekeying(store, RuleBook(), utc_now)
    started = time.perf_counter()
    report = rekeying.rekey(namespace)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = rekeying.rekey(namespace)  # nothing left to do: only reading and deciding
    again_seconds = time.perf_counter() - started
    store.close()

    peak_mb = (memory_kb(field_name="VmHWM") or 0) / 1024
    figures = {
        "store": url.split(":")[0],
        "identifiers": report.scanned,
        "respelled": report.counts["respelled"],
        "refused": report.counts["refused"],
        "seconds": round(seconds, 1),
        "identifiers_per_s": round(report.scanned / seconds),
        "respelled_per_s": round(report.counts["respelled"] / seconds),
        "rekey_peak_rss_mb": round(peak_mb),
        "again_identifiers_per_s": round(again.scanned / again_seconds),
        "old_store_write_s": round(write_seconds, 1),
    }
    print(describe_machine(machine()))
    print(table(list(figures), [list(figures.values())]))
    if args.json:
        write_json(args.json, {"machine": machine(), **figures})


if __name__ == "__main__":
    main()
