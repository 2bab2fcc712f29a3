"""The lineage viewer in a real browser: how long `GET /v1/{ns}/profiles/{id}/view` takes to
draw a profile of 10, 100 and 1,000 identifiers (issue 20).

The distro's headless Chromium (`/usr/bin/chromium`), driven by Playwright as
tests/e2e/test_viewer.py drives it (its `chromium()` and token), against `idgraph serve`
(one worker, an admin token) on a temporary SQLite store. Each size gets a namespace of its
own holding one profile, seeded over HTTP by tests/e2e/viewer_profiles.py: with `--shape
merged` (the default) four anonymous profiles of a uuid and browsers joined by three logins
through one email, a customId and a refused second one; with `--shape hub` one customId with
an email, two phones and browsers. Then, per size, in a fresh browser context (an empty
cache):

- cold: a first visit to the server (`/healthz`) puts the token in the tab's sessionStorage
  (key `idgraph.token`, where the page's token form puts it), then one navigation to the
  view, timed from `page.goto` until `#graph[data-state=ready]` (the page sets it once the
  graph is laid out and painted);
- warm: `--repeats` more navigations of the same tab to the same view, the browser's cache
  and the token in place, each timed the same way.

Per navigation, in the page's own clock: the lineage requests made before it was ready
(Resource Timing: from the first one's start to the last one's response end) and the time
from that end to `data-state=ready` (JSON to a painted graph); the nodes drawn
(`idgraphViewer.cy.nodes().length`, and how many of each kind when the page marks them with
the classes `identifier`, `group` and `part`). Reported per size as a markdown table: cold,
the warm navigations' median and max, the median lineage and drawing times (of the warm
navigations), the nodes drawn, and a screenshot of the last navigation in `--screenshots DIR`
(`<shape>-<size>.png`); then the load average, since the VM is shared. Script errors and
failed loads are printed as they come. A navigation not ready within `--timeout` seconds is
reported as such, and the size's other navigations are skipped. Sizes over the default cap
of 1,000 identifiers raise it in the server's rules.

    python benchmarks/viewer.py [--sizes 10,100,1000] [--repeats 5] [--shape merged|hub]
                                [--timeout 120] [--screenshots DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ is not installed

from workload import describe_machine, machine, write_json  # noqa: E402

from tests.e2e.test_server import Server  # noqa: E402
from tests.e2e.test_viewer import TOKEN, chromium  # noqa: E402
from tests.e2e.viewer_profiles import Seeded, hub_profile, merged_profile  # noqa: E402

DEFAULT_MAX_IDENTIFIERS = 1000  # graph/rules.py: a larger size needs a rules file
SHAPES = {"merged": merged_profile, "hub": hub_profile}
VIEWPORT = {"width": 1280, "height": 800}
READY = "#graph[data-state=ready], #graph[data-state=error]"
# when #graph first says ready, in the page's own clock (ms since its navigation started)
MARK_READY = """
new MutationObserver((changes, observer) => {
  for (const change of changes) {
    if (change.target.id === "graph" && change.target.dataset.state === "ready") {
      window.__benchReadyAt = performance.now();
      observer.disconnect();
    }
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
"""
# the lineage requests this document made before it was ready (one, or several pages) and
# what cytoscape holds: every node, and those of each kind when the page marks them (the new
# page draws an identifier, a group of them or a part's box as a node of that class)
IN_PAGE = """() => {
  const readyAt = window.__benchReadyAt ?? performance.now();
  const lineage = performance.getEntriesByType("resource")
    .filter((entry) => entry.name.includes("/lineage") && entry.responseEnd <= readyAt);
  const [first, last] = [lineage[0], lineage[lineage.length - 1]];
  const cy = window.idgraphViewer && window.idgraphViewer.cy;
  const kinds = Object.fromEntries(
    ["identifier", "group", "part"].map((kind) => [kind, cy ? cy.nodes("." + kind).length : 0]),
  );
  return {
    ready_ms: window.__benchReadyAt ?? null,
    lineage_requests: lineage.length,
    lineage_ms: last ? last.responseEnd - first.startTime : null,
    lineage_end_ms: last ? last.responseEnd : null,
    lineage_bytes: lineage.reduce((sum, entry) => sum + entry.encodedBodySize, 0),
    nodes: cy ? cy.nodes().length : null,
    nodes_by_kind: Object.values(kinds).some((count) => count > 0) ? kinds : null,
  };
}"""


@dataclass
class Navigation:
    seconds: float  # page.goto to ready, this process's clock
    state: str  # ready, error (the page's #message), or timed out
    ready_ms: float | None = None  # in the page's clock
    lineage_requests: int = 0
    lineage_ms: float | None = None
    lineage_end_ms: float | None = None
    lineage_bytes: int | None = None
    nodes: int | None = None
    nodes_by_kind: dict[str, int] | None = None  # identifier, group, part; None: not marked

    @property
    def drawing_ms(self) -> float | None:
        if self.ready_ms is None or self.lineage_end_ms is None:
            return None
        return self.ready_ms - self.lineage_end_ms


@dataclass
class SizeRun:
    size: int
    profile_id: int
    seed_seconds: float
    cold: Navigation | None = None
    warm: list[Navigation] = field(default_factory=list)
    screenshot: str | None = None
    page_errors: list[str] = field(default_factory=list)  # script errors, failed loads

    def status(self) -> str:
        failed = [n for n in [self.cold, *self.warm] if n is not None and n.state != "ready"]
        return failed[0].state if failed else "ready"

    def last_ready(self) -> Navigation | None:
        ready = [n for n in [self.cold, *self.warm] if n is not None and n.state == "ready"]
        return ready[-1] if ready else None

    def summary(self) -> dict[str, Any]:
        ready = [n for n in self.warm if n.state == "ready"]
        # the page's own figures: of the warm navigations, or the cold one without any
        timed = ready or [n for n in [self.cold] if n is not None and n.state == "ready"]
        last = self.last_ready()
        return {
            "identifiers": self.size,
            "profile_id": self.profile_id,
            "status": self.status(),
            "seed_seconds": round(self.seed_seconds, 2),
            "cold_seconds": rounded(self.cold.seconds if self.cold else None, 3),
            "warm_navigations": len(ready),
            "warm_median_seconds": rounded(median([n.seconds for n in ready]), 3),
            "warm_max_seconds": rounded(max((n.seconds for n in ready), default=None), 3),
            "lineage_median_ms": rounded(median([n.lineage_ms for n in timed]), 1),
            "drawing_median_ms": rounded(median([n.drawing_ms for n in timed]), 1),
            "nodes_drawn": last.nodes if last else None,
            "nodes_by_kind": last.nodes_by_kind if last else None,
            "screenshot": self.screenshot,
            "page_errors": self.page_errors,
            "navigations": [asdict(n) for n in filter(None, [self.cold, *self.warm])],
        }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    args.screenshots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="idgraph-viewer-") as directory:
        with serving(Path(directory), max(args.sizes)) as server, chromium() as browser:
            info["chromium"] = browser.version
            info["playwright"] = importlib.metadata.version("playwright")
            print(f"{describe_machine(info)}; Chromium {browser.version}")
            print(f"--shape {args.shape}, {args.repeats} warm navigations per size, timeout "
                  f"{args.timeout:.0f} s\n")  # fmt: skip
            info["load_average_start"] = os.getloadavg()[0]
            runs = [run_size(server, browser, size, args) for size in args.sizes]
    info["load_average_end"] = os.getloadavg()[0]
    print(report(runs, args))
    print(f"load average (1 min) at the start {info['load_average_start']:.1f}, at the end "
          f"{info['load_average_end']:.1f}")  # fmt: skip
    if args.json:
        document = {"benchmark": "viewer", "machine": info, "config": config(args)}
        write_json(args.json, {**document, "runs": [run.summary() for run in runs]})
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000", help="identifiers per profile")
    parser.add_argument("--repeats", type=int, default=5, help="warm navigations per size (5)")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="merged")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per navigation")
    parser.add_argument(
        "--screenshots",
        type=Path,
        default=Path(__file__).parent / "out" / "viewer",
        metavar="DIR",
        help="where to write a screenshot per size (benchmarks/out/viewer)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(size) for size in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes: numbers separated by commas, not {args.sizes!r}")
    if min(args.sizes) < 10 or args.repeats < 0 or args.timeout <= 0:
        parser.error("--sizes of 10 identifiers or more, --repeats 0 or more, --timeout > 0")
    return args


def config(args: argparse.Namespace) -> dict[str, Any]:
    return {"sizes": args.sizes, "repeats": args.repeats, "shape": args.shape,
            "timeout": args.timeout, "viewport": VIEWPORT}  # fmt: skip


@contextmanager
def serving(directory: Path, largest: int) -> Iterator[Server]:
    """`idgraph serve` as tests/e2e/test_viewer.py starts it: one worker, the admin token."""
    environment = {"IDGRAPH_ADMIN_TOKEN": TOKEN, "IDGRAPH_WORKERS": "1"}
    if largest > DEFAULT_MAX_IDENTIFIERS:
        rules = directory / "rules.json"
        rules.write_text(json.dumps({"defaults": {"max_identifiers": largest}}))
        environment["IDGRAPH_RULES"] = str(rules)
    server = Server(directory, **environment)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


# --- one size --------------------------------------------------------------------------------


def run_size(server: Server, browser: Browser, size: int, args: argparse.Namespace) -> SizeRun:
    started = time.perf_counter()
    seeded: Seeded = SHAPES[args.shape](server, size, token=TOKEN, ns=f"viewer-{size}")
    run = SizeRun(size, seeded.profile_id, time.perf_counter() - started)
    url = f"{server.url}/v1/{seeded.ns}/profiles/{seeded.profile_id}/view"
    print(f"{size:,} identifiers: seeded in {run.seed_seconds:.1f} s; {url}", file=sys.stderr)
    context = browser.new_context(viewport=VIEWPORT)  # its own cache and sessionStorage
    try:
        context.add_init_script(MARK_READY)
        page = context.new_page()
        watch_errors(page, run.page_errors)
        page.goto(f"{server.url}/healthz")  # the first visit: the token goes in the tab
        page.evaluate("(token) => sessionStorage.setItem('idgraph.token', token)", TOKEN)
        run.cold = navigate(page, url, args.timeout, f"{size:,}, cold")
        for repeat in range(args.repeats if run.cold.state == "ready" else 0):
            run.warm.append(navigate(page, url, args.timeout, f"{size:,}, warm {repeat + 1}"))
            if run.warm[-1].state != "ready":
                break
        if run.status() == "ready":
            run.screenshot = str(args.screenshots / f"{args.shape}-{size}.png")
            page.screenshot(path=run.screenshot)
    finally:
        context.close()
    return run


def watch_errors(page: Page, errors: list[str]) -> None:
    """Script errors and console errors (a failed load says its status there) as they come."""

    def seen(error: str) -> None:
        errors.append(error)
        print(f"  page error: {error}", file=sys.stderr, flush=True)

    page.on("pageerror", lambda error: seen(str(error)))
    page.on("console", lambda message: message.type == "error" and seen(message.text))


def navigate(page: Page, url: str, timeout: float, label: str) -> Navigation:
    """One navigation to the view, until the graph is ready (or says an error)."""
    started = time.perf_counter()
    try:
        page.goto(url, wait_until="commit", timeout=timeout * 1000)
        graph = page.locator(READY)
        graph.wait_for(state="attached", timeout=max(1.0, timeout * 1000 - elapsed(started)))
    except PlaywrightTimeout:
        print(f"  {label}: not ready in {timeout:.0f} s", file=sys.stderr)
        return Navigation(time.perf_counter() - started, f"timed out ({timeout:.0f} s)")
    seconds = time.perf_counter() - started
    state = graph.get_attribute("data-state") or "?"
    if state != "ready":
        state = f"error: {page.locator('#message').inner_text()}"
    navigation = Navigation(seconds, state, **page.evaluate(IN_PAGE))
    print(f"  {label}: {seconds:.3f} s, {state}", file=sys.stderr, flush=True)
    return navigation


def elapsed(started: float) -> float:
    return (time.perf_counter() - started) * 1000


# --- the report ------------------------------------------------------------------------------


def report(runs: list[SizeRun], args: argparse.Namespace) -> str:
    headers = ["identifiers", "nodes drawn", "cold s", f"warm median s (n={args.repeats})",
               "warm max s", "lineage API ms", "JSON to drawn ms", "status"]  # fmt: skip
    rows = []
    for run in runs:
        figures = run.summary()
        rows.append([
            f"{run.size:,}",
            nodes_cell(figures["nodes_drawn"], figures["nodes_by_kind"]),
            cold_cell(run, args.timeout),
            cell(figures["warm_median_seconds"], "{:.2f}"),
            cell(figures["warm_max_seconds"], "{:.2f}"),
            cell(figures["lineage_median_ms"], "{:,.0f}"),
            cell(figures["drawing_median_ms"], "{:,.0f}"),
            figures["status"],
        ])  # fmt: skip
    screenshots = ", ".join(run.screenshot for run in runs if run.screenshot)
    return f"{markdown(headers, rows)}\n\nscreenshots: {screenshots or 'none'}"


def cold_cell(run: SizeRun, timeout: float) -> str:
    if run.cold is None or run.cold.state.startswith("error"):
        return "-"
    return f"{run.cold.seconds:.2f}" if run.cold.state == "ready" else f"> {timeout:.0f}"


def nodes_cell(nodes: int | None, by_kind: dict[str, int] | None) -> str:
    """1,000; or, when the page marks its nodes' kinds, 40: 12 identifier, 25 group, 3 part."""
    if nodes is None or not by_kind:
        return cell(nodes, "{:,}")
    kinds = ", ".join(f"{count:,} {kind}" for kind, count in by_kind.items() if count)
    return f"{nodes:,}: {kinds}"


def markdown(headers: list[str], rows: list[list[str]]) -> str:
    lines = [headers, ["---"] * len(headers), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def cell(value: float | int | None, form: str) -> str:
    return "-" if value is None else form.format(value)


def median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


if __name__ == "__main__":
    sys.exit(main())
