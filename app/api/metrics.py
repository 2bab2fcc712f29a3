"""Prometheus metrics at ``GET /metrics`` (prometheus-client), every name prefixed ``idgraph_``.

Labels never carry a value a client sent: requests are counted by the route's template
(``/v1/<ns>/identifiers/<type>/<path:value>``), never by path, and by namespace nowhere.

Under ``idgraph serve`` several gunicorn workers answer requests, and a scrape reaches only
one of them: the workers write their metrics to files in ``PROMETHEUS_MULTIPROC_DIR`` (which
``idgraph serve`` creates before forking and removes at exit) and whichever worker answers
``/metrics`` adds up every worker's files (prometheus-client's multiprocess mode). An app in
one process (Flask's test client) keeps its metrics in a registry of its own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter as Tally
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from app.api.logs import elapsed, route
from graph.model import Conflict, ItemResult, Merged, Moved
from graph.store.timed import TimedStore

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
DIRECTORY_PREFIX = "idgraph-metrics-"
SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
ITEMS = (1, 2, 5, 10, 50, 100, 500, 1000, 2500, 5000, 10000)


class Metrics:
    """Every metric idgraph exports."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        """``registry`` None: multiprocess mode, where the metrics live in files instead."""
        self.registry = registry
        self.requests = Counter(
            "idgraph_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "idgraph_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=SECONDS,
            registry=registry,
        )
        self.batch_items = Histogram(
            "idgraph_batch_items",
            "Items per batch request (a JSON array, or the native API's items), by route.",
            ["route"],
            buckets=ITEMS,
            registry=registry,
        )
        self.outcomes = Counter(
            "idgraph_item_outcomes",
            "Committed decisions on link items: created, linked, merged, moved, noop, conflict.",
            ["outcome"],
            registry=registry,
        )
        self.conflicts = Counter(
            "idgraph_conflicts",
            "Items the rules refused, by the rule that refused them.",
            ["reason"],
            registry=registry,
        )
        self.merges = Counter(
            "idgraph_merges",
            "Profiles absorbed by another profile, implicit (a link) or explicit (a merge).",
            registry=registry,
        )
        self.store_seconds = Histogram(
            "idgraph_store_transaction_seconds",
            "Duration of store transactions (read or write), retries included.",
            ["kind"],
            buckets=SECONDS,
            registry=registry,
        )

    @classmethod
    def for_this_process(cls) -> Metrics:
        """Multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set, else a registry of its own."""
        if not os.environ.get(MULTIPROCESS_DIR):
            return cls(CollectorRegistry())
        # prometheus-client picks how values are kept when it is first imported, which in
        # `idgraph serve` is before the directory is made (the master imports the app, then
        # forks): pick again, now that it is set, before the first metric is created.
        if not _in_multiprocess_mode():
            values.ValueClass = values.get_value_class()
        return cls(None)

    def count_outcomes(self, results: Sequence[ItemResult]) -> None:
        """The service's on_outcomes hook: the results of a committed write."""
        outcomes = [result.outcome for result in results]
        for kind, count in Tally(outcome.kind for outcome in outcomes).items():
            self.outcomes.labels(kind).inc(count)
        refused = Tally(o.reason or "unknown" for o in outcomes if isinstance(o, Conflict))
        for reason, count in refused.items():
            self.conflicts.labels(reason).inc(count)
        absorbed = sum(len(o.absorbed) for o in outcomes if isinstance(o, Merged | Moved))
        if absorbed:
            self.merges.inc(absorbed)

    def answered(self, template: str, method: str, status: int, seconds: float) -> None:
        """A request answered, by its route's template."""
        self.requests.labels(template, method, str(status)).inc()
        self.request_seconds.labels(template, method).observe(seconds)

    def timed(self, store: Any) -> TimedStore:
        return TimedStore(store, self.observe_transaction)

    def observe_transaction(self, kind: str, seconds: float) -> None:
        """A store transaction of ``kind`` ("read" or "write") took ``seconds``."""
        self.store_seconds.labels(kind).observe(seconds)

    def exposition(self) -> bytes:
        registry = self.registry
        if registry is None:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)


def _in_multiprocess_mode() -> bool:
    return getattr(values.ValueClass, "_multiprocess", False)


def install_metrics(app: Flask, metrics: Metrics) -> None:
    """Count every request, and answer ``GET /metrics`` (endpoint ``metrics``; auth decides who
    may read it). Not in the OpenAPI document: it is Prometheus's text format, for a scraper."""
    app.extensions["idgraph.metrics"] = metrics

    @app.after_request
    def count(response: Response) -> Response:
        template = route()
        metrics.answered(template, request.method, response.status_code, elapsed())
        if g.get("batch_items") is not None:
            metrics.batch_items.labels(template).observe(g.batch_items)
        return response

    def exposition() -> Response:
        return Response(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)

    app.add_url_rule("/metrics", "metrics", exposition, methods=["GET"])


@contextmanager
def workers_metrics_directory() -> Iterator[Path]:
    """In `idgraph serve`'s master, before gunicorn forks: a fresh PROMETHEUS_MULTIPROC_DIR
    (``idgraph-metrics-<master pid>-*`` under TMPDIR), removed when the server stops. Workers
    leave through here too (gunicorn ends them with sys.exit after fork): only the master
    removes it. A master killed outright (SIGKILL) cannot, so the next one sweeps the
    directories of masters that are gone."""
    master = os.getpid()
    _sweep_abandoned(Path(tempfile.gettempdir()))
    directory = Path(tempfile.mkdtemp(prefix=f"{DIRECTORY_PREFIX}{master}-"))
    os.environ[MULTIPROCESS_DIR] = str(directory)
    try:
        yield directory
    finally:
        if os.getpid() == master:
            os.environ.pop(MULTIPROCESS_DIR, None)
            shutil.rmtree(directory, ignore_errors=True)


def _sweep_abandoned(parent: Path) -> None:
    for directory in parent.glob(f"{DIRECTORY_PREFIX}*-*"):
        pid = directory.name.removeprefix(DIRECTORY_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def mark_worker_dead(server: Any, worker: Any) -> None:
    """gunicorn's child_exit hook, in the master: a dead worker's live gauges stop counting
    (its counters and histograms stay in the totals, as they should)."""
    multiprocess.mark_process_dead(worker.pid)
