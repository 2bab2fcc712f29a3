"""Which b-trees a link batch writes to (issue 17): the pages of the SQLite file that the last
``--batches`` batches of the ingest workload change, by table and index.

What a commit writes is the pages it dirtied, whatever the rows: each goes to the WAL at the
commit and to the file at the next checkpoint. A key that is random (a hash, a uuid, an email)
puts every new entry of its b-tree on a page of its own once the tree is much larger than a
batch, so the pages a batch changes say which layouts cost the write path its bytes.

The workload (benchmarks/workload.py) goes through the service layer in process into a fresh
SQLite file, but for its last ``--batches`` batches. The WAL is then checkpointed into the
file and the file copied; the last batches are applied and checkpointed too, and the two
files are compared page by page. Each changed page is named by SQLite's ``dbstat`` table (a
page that is free at the end is counted as ``(free)``).

    python benchmarks/dirty_pages.py [--identifiers N] [--batches N] [--batch N] [--seed N]
                                     [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workload import (
    NAMESPACE,
    SOURCE,
    Batch,
    Workload,
    describe_machine,
    machine,
    table,
    write_json,
)

from graph.rules import RuleBook
from graph.service import IdentityService
from graph.store.sqlite.store import SqliteStore


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    print(describe_machine(info))
    workload = Workload(identifiers=args.identifiers, batch_size=args.batch, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="idgraph-dirty-pages-") as folder:
        figures = measure(workload, args.batches, Path(folder))
    counted = figures["batches"]
    print(
        f"{figures['changed']:,} of {figures['pages']:,} pages changed by the last {counted} "
        f"of {figures['batches_in_workload']} batches ({figures['links']:,} links)"
    )
    rows = [
        [
            name,
            round(changed / counted),
            figures["sizes"].get(name, 0),
            f"{changed / figures['changed']:.0%}",
            round(changed * figures["page_size"] / figures["links"]),
        ]
        for name, changed in figures["by_btree"].items()
    ]
    print(table(["b-tree", "pages/batch", "pages in it", "share", "bytes/link"], rows))
    if args.json:
        write_json(args.json, {"benchmark": "dirty_pages", "machine": info, **figures})
    return 0


def measure(workload: Workload, counted: int, folder: Path) -> dict[str, Any]:
    """Apply all but the last ``counted`` batches, then those, and compare the file's pages.
    Only those are held: the workload is generated as it is applied."""
    path, before = folder / "store.db", folder / "before.db"
    store = SqliteStore(path)
    service = IdentityService(store, RuleBook())

    def apply(batch: Batch) -> None:
        service.linking.link(
            NAMESPACE, batch.link_requests(), source=SOURCE, request_id=batch.request_id
        )

    last: deque[Batch] = deque()  # the batches not applied yet: at the end, the last ones
    applied = 0
    try:
        for batch in workload.batches():
            last.append(batch)
            if len(last) > counted:
                apply(last.popleft())
                applied += 1
        if applied == 0:
            raise SystemExit(f"the workload has {len(last)} batches: ask fewer than that")
        checkpoint(path)
        shutil.copyfile(path, before)
        for batch in last:
            apply(batch)
    finally:
        store.close()
    checkpoint(path)
    with sqlite3.connect(path) as connection:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        owners = dict(connection.execute("SELECT pageno, name FROM dbstat"))
    changed = list(changed_pages(before, path, page_size))
    return {
        "identifiers": workload.identifiers,
        "batch_size": workload.batch_size,
        "batches": counted,
        "batches_in_workload": applied + len(last),
        "links": sum(batch.links for batch in last),
        "page_size": page_size,
        "pages": path.stat().st_size // page_size,
        "changed": len(changed),
        "by_btree": dict(Counter(owners.get(page, "(free)") for page in changed).most_common()),
        "sizes": dict(Counter(owners.values())),
    }


def checkpoint(path: Path) -> None:
    """Everything in the WAL copied into the file, the WAL emptied."""
    with sqlite3.connect(path) as connection:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        raise RuntimeError(f"could not checkpoint {path}: a reader or writer held it")


def changed_pages(before: Path, after: Path, page_size: int) -> Iterator[int]:
    """Numbers (from 1, as dbstat's) of the pages that differ, or that only ``after`` has."""
    with before.open("rb") as old, after.open("rb") as new:
        number = 0
        while page := new.read(page_size):
            number += 1
            if old.read(page_size) != page:
                yield number


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--identifiers", type=int, default=1_000_000, help="store size reached")
    parser.add_argument("--batches", type=int, default=3, help="last batches compared")
    parser.add_argument("--batch", type=int, default=1_000, help="items per batch")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the figures as JSON")
    parser.add_argument("--quick", action="store_true", help="20,000 identifiers: a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.identifiers = 20_000
    return args


if __name__ == "__main__":
    sys.exit(main())
