"""Lineage of a large profile: how long the history reads take on ONE profile of
``--identifiers`` identifiers (default 50,000).

The profile is built in a fresh SQLite store through IdentityService, under rules whose
per-profile cap allows it (``max_identifiers`` = N + 10; the default cap is 1,000), in
batches of ``--batch`` items (one ``link()`` call, one transaction each):

- anchor ``customId:C-main``; new ``browserId``s hang off it in chains of ``--chain``
  identifiers: a chain's first browser is linked to the customId, each next one to the
  browser before it (browserId -> browserId), so the graph is not a star;
- every 4th chain is closed: its last browser is linked to the customId too (a new link
  between two members), so the links of that chain are no bridges;
- every 100th item carries attributes (one attribute version per batch);
- a second, anonymous profile (a ``uuid`` and browsers, ~2% of N, at most 1,000) is built
  first and merged into the main one a third of the way through;
- after the build, one link in the middle of each of the first ``--ended`` closed chains is
  ended (``end_link``): none of them splits the profile, and lineage has ended links to show.

Then each read below is timed ``--repeat`` times after ``--warm-up`` untimed calls
(p50/p95/max, milliseconds, measured by the caller):

- ``lineage`` first page (``limit`` = ``--limit``, 1000), now;
- ``lineage`` first page ``as_of`` an instant in the middle of the build;
- ``lineage`` last page (found once by following the cursors, then fetched by its cursor);
- ``explain`` between the tails of two open chains far apart (2 x ``--chain`` links);
- ``profile_at`` the middle instant: reads every member of the profile then, by design;
- over HTTP: ``GET /v1/{ns}/profiles/{id}/lineage?limit=`` through Flask's test client
  (``app.create_app``, a second store on the same file), JSON serialization included.

With ``--store neo4j://host:7687`` (credentials from NEO4J_USER, NEO4J_PASSWORD,
NEO4J_DATABASE) the profile is built on that server instead, in a namespace of its own named
after the time (nothing there is erased), and the test client's app uses it too.

    python benchmarks/lineage.py [--identifiers N] [--batch N] [--chain N] [--ended N]
                                 [--limit N] [--repeat N] [--warm-up N] [--json PATH] [--quick]
                                 [--store URL]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workload import describe_machine, machine, memory_kb, percentile, table, write_json

from app.api import create_app
from app.settings import Settings
from graph.model import utc_now
from graph.rules import RuleBook, Rules
from graph.service import IdentityService, LinkRequest
from graph.store import open_store

NS = "bench"  # on SQLite; on a Neo4j server a namespace named after the time
SOURCE = "benchmark"
ANCHOR = ("customId", "C-main")
CLOSED_EVERY = 4  # every 4th chain is closed into a cycle through the anchor
ATTRIBUTES_EVERY = 100  # items


def browser(k: int) -> tuple[str, str]:
    return ("browserId", f"b-{k:07d}")


def other_browser(k: int) -> tuple[str, str]:
    return ("browserId", f"x-{k:07d}")


OTHER_ANCHOR = ("uuid", str(uuid.UUID(int=0x1D6A9)))


def key(identifier: tuple[str, str]) -> str:
    return f"{identifier[0]}:{identifier[1]}"


@dataclass
class Build:
    """How the profile was built, and what the reads need to know about it."""

    identifiers: int
    browsers: int  # of the main profile
    absorbed_size: int  # identifiers of the profile merged in
    batches: int = 0
    seconds: float = 0.0
    batch_ms: list[float] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    profile_id: int = 0
    middle: str = ""  # an instant in the middle of the build
    merge_outcome: str = ""
    ended_links: list[int] = field(default_factory=list)
    rss_end_kb: int | None = None

    def summary(self) -> dict[str, Any]:
        tenth = max(1, len(self.batch_ms) // 10)
        return {
            "identifiers": self.identifiers,
            "main_browsers": self.browsers,
            "absorbed_profile_identifiers": self.absorbed_size,
            "batches": self.batches,
            "seconds": round(self.seconds, 2),
            "batch_p50_first_tenth_ms": round(percentile(self.batch_ms[:tenth], 50), 1),
            "batch_p50_last_tenth_ms": round(percentile(self.batch_ms[-tenth:], 50), 1),
            "outcomes": dict(sorted(self.outcomes.items())),
            "merge_outcome": self.merge_outcome,
            "ended_links": len(self.ended_links),
            "profile_id": self.profile_id,
            "middle_instant": self.middle,
            "rss_end_kb": self.rss_end_kb,
        }


@dataclass
class Timing:
    name: str
    note: str = ""
    latencies: list[float] = field(default_factory=list)  # seconds
    members: int = 0  # lineage: members of the profile on the page
    identifiers: int = 0  # lineage: on the page, members and the other ends of their links
    links: int = 0
    profile_identifiers: int = 0  # in the answer's profile view (profile_at)
    response_bytes: int | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "note": self.note,
            "repeat": len(self.latencies),
            "p50_ms": round(percentile(self.latencies, 50) * 1000, 2),
            "p95_ms": round(percentile(self.latencies, 95) * 1000, 2),
            "max_ms": round(max(self.latencies, default=0.0) * 1000, 2),
            "answer_members": self.members,
            "answer_identifiers": self.identifiers,
            "answer_links": self.links,
            "answer_profile_identifiers": self.profile_identifiers,
            "response_bytes": self.response_bytes,
        }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    print(describe_machine(info))
    print(
        f"one profile of {args.identifiers:,} identifiers (batches of {args.batch:,}, chains of "
        f"{args.chain}); {args.repeat} timed calls per read after {args.warm_up} warm-up, "
        f"page limit {args.limit:,}"
    )
    with tempfile.TemporaryDirectory(prefix="idgraph-bench-") as directory:
        url = args.store or f"sqlite:///{Path(directory) / 'lineage.db'}"
        build, timings, extra = run_all(url, args)
    print()
    print(report_build(build))
    print()
    print(report(timings))
    print()
    print(
        f"walking every page once (cursor to cursor): {extra['pages']} pages in "
        f"{extra['walk_seconds']:.2f} s"
    )
    if args.json:
        write_json(args.json, as_document(build, timings, extra, info, args))
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--identifiers", type=int, help="profile size (default 50000)")
    parser.add_argument("--batch", type=int, help="items per link() call (default 1000)")
    parser.add_argument("--chain", type=int, help="browsers per chain (default 50)")
    parser.add_argument("--ended", type=int, help="links to end after the build (default 20)")
    parser.add_argument("--limit", type=int, default=1000, help="lineage page size (1000)")
    parser.add_argument("--repeat", type=int, help="timed calls per read (default 50)")
    parser.add_argument("--warm-up", type=int, help="untimed calls before (default 3)")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON to PATH")
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run for smoke tests (2500 identifiers)"
    )
    parser.add_argument(
        "--store", metavar="URL", help="a Neo4j server (neo4j://host:7687) instead of SQLite"
    )
    args = parser.parse_args(argv)
    if args.store and args.store.startswith("sqlite:"):
        parser.error("--store is for a Neo4j server; SQLite runs use a fresh file by default")
    args.namespace = f"bench-{time.strftime('%Y%m%d-%H%M%S')}-lineage" if args.store else NS
    quick = args.quick
    defaults = {
        "identifiers": (2_500, 50_000),
        "batch": (250, 1_000),
        "chain": (10, 50),
        "ended": (4, 20),
        "repeat": (3, 50),
        "warm_up": (1, 3),
    }
    for name, (small, large) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, small if quick else large)
    if args.identifiers < 100 or args.chain < 2 or min(args.batch, args.limit, args.repeat) < 1:
        parser.error("--identifiers needs 100, --chain 2; --batch, --limit, --repeat 1")
    return args


# --- the build -------------------------------------------------------------------------------


def main_items(browsers: int, chain: int) -> Iterator[LinkRequest]:
    """The main profile's items: chains of browsers off the anchor, every 4th closed."""
    for k in range(browsers):
        attributes = (
            {"lastSeen": k, "segment": f"s{k % 7}", "visits": k // ATTRIBUTES_EVERY}
            if k % ATTRIBUTES_EVERY == 0
            else {}
        )
        if k % chain == 0:
            yield LinkRequest([ANCHOR, browser(k)], attributes)
        else:
            yield LinkRequest([browser(k - 1), browser(k)], attributes)
        if k % chain == chain - 1 and (k // chain) % CLOSED_EVERY == CLOSED_EVERY - 1:
            yield LinkRequest([ANCHOR, browser(k)])  # closes the chain: a new link only


def chunks(items: Iterator[LinkRequest], size: int) -> Iterator[list[LinkRequest]]:
    batch: list[LinkRequest] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def build_profile(service: IdentityService, args: argparse.Namespace) -> Build:
    n = args.identifiers
    absorbed = min(1_000, max(3, n // 50))
    build = Build(identifiers=n, browsers=n - absorbed - 1, absorbed_size=absorbed)
    chain = args.chain

    def link(requests: list[LinkRequest]) -> list[dict]:
        started = time.perf_counter()
        result = service.linking.link(
            args.namespace, requests, source=SOURCE, request_id=uuid.uuid4().hex
        )
        elapsed = time.perf_counter() - started
        build.seconds += elapsed
        build.batch_ms.append(elapsed * 1000)
        build.batches += 1
        outcomes = [item.outcome for item in result.results]
        build.outcomes.update(outcome.kind for outcome in outcomes)
        return outcomes

    # the profile merged in later: a uuid and browsers of its own
    other = [LinkRequest([OTHER_ANCHOR, other_browser(k)]) for k in range(absorbed - 1)]
    for batch in chunks(iter(other), args.batch):
        link(batch)
    batches = list(chunks(main_items(build.browsers, chain), args.batch))
    merge_after, middle_after = len(batches) // 3, len(batches) // 2
    for index, batch in enumerate(batches):
        results = link(batch)
        if index == 0:
            build.profile_id = results[0].profile_id
        if index == merge_after:
            merged = link([LinkRequest([ANCHOR, OTHER_ANCHOR], {"merged": True})])[0]
            build.merge_outcome = merged.kind
        if index == middle_after:
            build.middle = utc_now()
        print(
            f"  batch {index + 1}/{len(batches)}: {len(batch):,} items in "
            f"{build.batch_ms[-1]:,.0f} ms",
            file=sys.stderr,
            flush=True,
        )
    build.ended_links = end_links(service, args.namespace, build.browsers, chain, args.ended)
    build.rss_end_kb = memory_kb()
    return build


def end_links(
    service: IdentityService, ns: str, browsers: int, chain: int, count: int
) -> list[int]:
    """End the middle link of each of the first ``count`` closed chains: none is a bridge."""
    ended = []
    closed = [
        c for c in range(browsers // chain) if c % CLOSED_EVERY == CLOSED_EVERY - 1
    ]  # complete chains only
    for c in closed[:count]:
        k = c * chain + chain // 2
        a, b = key(browser(k - 1)), key(browser(k))
        touching = service.store.read(lambda tx, b=b: tx.links_touching(ns, [b]))
        link_id = next(link.id for link in touching if {link.a, link.b} == {a, b})
        separated = service.history.end_link(ns, link_id, reason="benchmark", source=SOURCE)
        assert not separated.split, f"ending link {link_id} split the profile"
        ended.append(link_id)
    return ended


# --- the reads -------------------------------------------------------------------------------


def timed(
    name: str, call: Callable[[], Any], args: argparse.Namespace, note: str = ""
) -> tuple[Timing, Any]:
    print(f"timing {name} ...", file=sys.stderr, flush=True)
    timing = Timing(name, note)
    answer = None
    for _ in range(args.warm_up):
        answer = call()
    for _ in range(args.repeat):
        started = time.perf_counter()
        answer = call()
        timing.latencies.append(time.perf_counter() - started)
    return timing, answer


def with_lineage(timing: Timing, page: Any) -> Timing:
    timing.members = sum(1 for identifier in page.identifiers if identifier.member)
    timing.identifiers = len(page.identifiers)
    timing.links = len(page.links)
    return timing


def run_all(url: str, args: argparse.Namespace) -> tuple[Build, list[Timing], dict]:
    rules = RuleBook(pinned={args.namespace: Rules(max_identifiers=args.identifiers + 10)})
    store = open_store(url, **Settings.from_env().store_options)
    try:
        service = IdentityService(store, rules)
        print(f"building one profile of {args.identifiers:,} identifiers ...", file=sys.stderr)
        build = build_profile(service, args)
        timings, extra = time_reads(service, build, args)
    finally:
        store.close()
    timings.append(time_http(url, build, args))
    return build, timings, extra


def time_reads(
    service: IdentityService, build: Build, args: argparse.Namespace
) -> tuple[list[Timing], dict]:
    ns, pid, limit, middle = args.namespace, build.profile_id, args.limit, build.middle
    timings = []

    timing, page = timed(
        "lineage, first page", lambda: service.history.lineage(ns, pid, limit=limit), args
    )
    timings.append(with_lineage(timing, page))

    timing, page = timed(
        "lineage, first page, as_of middle",
        lambda: service.history.lineage(ns, pid, as_of=middle, limit=limit),
        args,
    )
    timings.append(with_lineage(timing, page))

    print("walking the pages ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    cursor, last_cursor, pages = None, None, 0
    while True:  # a profile of a multiple of ``limit`` ends with an empty page: not that one
        page = service.history.lineage(ns, pid, cursor=cursor, limit=limit)
        if pages == 0 or any(i.member for i in page.identifiers):
            pages, last_cursor = pages + 1, cursor
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    walk_seconds = time.perf_counter() - started
    timing, page = timed(
        "lineage, last page",
        lambda: service.history.lineage(ns, pid, cursor=last_cursor, limit=limit),
        args,
        note=f"page {pages}",
    )
    timings.append(with_lineage(timing, page))

    open_chains = [
        c for c in range(build.browsers // args.chain) if c % CLOSED_EVERY != CLOSED_EVERY - 1
    ]
    a = browser(open_chains[0] * args.chain + args.chain - 1)
    b = browser(open_chains[-1] * args.chain + args.chain - 1)
    timing, explained = timed("explain", lambda: service.history.explain(ns, a, b), args)
    assert explained.connected
    timing.note = f"{len(explained.path)} steps"
    timing.links = len(explained.path)
    timings.append(timing)

    timing, view = timed(
        "profile_at middle",
        lambda: service.history.profile_at(ns, pid, middle),
        args,
        note="reads every member",
    )
    timing.profile_identifiers = len(view.identifiers)
    timings.append(timing)
    return timings, {"pages": pages, "walk_seconds": round(walk_seconds, 3)}


def time_http(store: str, build: Build, args: argparse.Namespace) -> Timing:
    neo4j = Settings.from_env()  # a Neo4j store's credentials: NEO4J_*
    settings = Settings(
        store=store,
        neo4j_user=neo4j.neo4j_user,
        neo4j_password=neo4j.neo4j_password,
        neo4j_database=neo4j.neo4j_database,
        log_level="warning",  # no access lines
    )
    app = create_app(settings)
    client = app.test_client()
    url = f"/v1/{args.namespace}/profiles/{build.profile_id}/lineage?limit={args.limit}"

    def get() -> bytes:
        response = client.get(url)
        assert response.status_code == 200, response.data[:500]
        return response.data

    try:
        timing, body = timed("HTTP GET lineage, first page", get, args, note="test client")
    finally:
        app.extensions["idgraph.service"].store.close()
    document = json.loads(body)
    timing.members = sum(1 for identifier in document["identifiers"] if identifier["member"])
    timing.identifiers = len(document["identifiers"])
    timing.links = len(document["links"])
    timing.response_bytes = len(body)
    return timing


# --- the report ------------------------------------------------------------------------------


def report_build(build: Build) -> str:
    figures = build.summary()
    outcomes = ", ".join(f"{name} {count:,}" for name, count in figures["outcomes"].items())
    return (
        f"built: {build.identifiers:,} identifiers in {build.batches} link() calls, "
        f"{build.seconds:.1f} s (batch p50 {figures['batch_p50_first_tenth_ms']:,.0f} ms in the "
        f"first tenth, {figures['batch_p50_last_tenth_ms']:,.0f} ms in the last); outcomes: "
        f"{outcomes}; merge: {build.merge_outcome}; {len(build.ended_links)} links ended"
    )


def report(timings: list[Timing]) -> str:
    rows = []
    for timing in timings:
        figures = timing.summary()
        rows.append(
            [
                timing.name,
                f"{figures['p50_ms']:,.1f}",
                f"{figures['p95_ms']:,.1f}",
                f"{figures['max_ms']:,.1f}",
                f"{timing.members:,}" if timing.members else "-",
                f"{timing.identifiers:,}" if timing.identifiers else "-",
                f"{timing.links:,}" if timing.links else "-",
                f"{timing.profile_identifiers:,}" if timing.profile_identifiers else "-",
                f"{timing.response_bytes / 1e6:,.1f}" if timing.response_bytes else "-",
                timing.note,
            ]
        )
    headers = ["read", "p50 ms", "p95 ms", "max ms", "members", "identifiers", "links",
               "profile ids", "MB", "note"]  # fmt: skip
    return table(headers, rows)


def as_document(
    build: Build,
    timings: list[Timing],
    extra: dict,
    info: dict[str, Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    return {
        "benchmark": "lineage",
        "machine": info,
        "config": {
            "identifiers": args.identifiers,
            "batch": args.batch,
            "chain": args.chain,
            "ended": args.ended,
            "limit": args.limit,
            "repeat": args.repeat,
            "warm_up": args.warm_up,
        },
        "store": args.store or "sqlite (a fresh file)",
        "build": build.summary(),
        "walk": extra,
        "runs": [timing.summary() for timing in timings],
    }


if __name__ == "__main__":
    sys.exit(main())
