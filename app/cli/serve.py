"""``idgraph serve``: the HTTP API under gunicorn, shaped by the environment."""

from __future__ import annotations

import dataclasses
import logging
import sys
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from app.api.logs import GunicornLogger, configure_logging
from app.api.metrics import mark_worker_dead, workers_metrics_directory
from app.settings import Settings, SettingsError, is_loopback
from graph.errors import IdgraphError
from graph.store import is_neo4j_url

SQLITE_THREADS = 2
NEO4J_THREADS = 8


@click.command()
@click.option("--host", help="address to bind (default: HOST or 127.0.0.1)")
@click.option("--port", type=int, help="port to listen on (default: PORT or 8000)")
@click.option("--workers", type=int, help="processes (default: IDGRAPH_WORKERS or 2)")
@click.option(
    "--threads",
    type=int,
    help="threads per process (default: IDGRAPH_THREADS, else 2 on SQLite and 8 on Neo4j)",
)
def serve(host: str | None, port: int | None, workers: int | None, threads: int | None) -> None:
    """Serve the HTTP API with gunicorn (docs/operations.md, "Running in production")."""
    try:
        settings = Settings.from_env(host=host, port=port, workers=workers, threads=threads)
        settings = dataclasses.replace(
            settings, threads=request_threads(settings), writer=batch_writer(settings)
        )
        _check_mode(settings)
        _check_configuration(settings)
    except (SettingsError, IdgraphError) as error:
        click.echo(f"idgraph: {error}", err=True)
        sys.exit(2)
    configure_logging(settings.log_level, settings.log_format)
    mode = "local open mode (no IDGRAPH_ADMIN_TOKEN)" if settings.open_mode else "bearer token"
    logging.getLogger("idgraph").info(
        f"idgraph listening on http://{_bind_host(settings.host)}:{settings.port} "
        f"(store: {settings.store}; auth: {mode}; "
        f"{settings.workers} workers x {settings.threads} threads; batches written "
        f"{'in a process of each worker' if settings.writer == 'process' else 'inline'})"
    )
    with workers_metrics_directory():
        _Server(settings).run()


def request_threads(settings: Settings) -> int:
    """IDGRAPH_THREADS or --threads when given, else by store (see _Server)."""
    if settings.threads:
        return settings.threads
    return NEO4J_THREADS if is_neo4j_url(settings.store) else SQLITE_THREADS


def batch_writer(settings: Settings) -> str:
    """IDGRAPH_WRITER when given, else by store. On SQLite writes serialize anyway, so a child
    process per worker (graph/service/writer.py) costs little (12-32% more wall time per batch
    for one client posting serially) and keeps a batch's Python off the GIL that lookups
    need. On Neo4j a worker's 8 threads write at once, which one child would serialize."""
    if settings.writer:
        return settings.writer
    return "inline" if is_neo4j_url(settings.store) else "process"


def _check_mode(settings: Settings) -> None:
    if settings.open_mode and not is_loopback(settings.host):
        raise SettingsError(
            f"refusing to serve {settings.host} without IDGRAPH_ADMIN_TOKEN: local open mode "
            "binds loopback addresses only (set a token, or HOST=127.0.0.1)"
        )


def _check_configuration(settings: Settings) -> None:
    """Fail at start-up, not at the first request: read the rules, open (and migrate) the
    store, then let the workers open their own connections."""
    from graph.rules import load_rulebook
    from graph.store import open_store

    load_rulebook(settings.rules)
    open_store(settings.store, **settings.store_options).close()


def _bind_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _announce_ready(worker: Any) -> None:
    """Logged once a worker has its signal handlers and its app. A SIGTERM that reaches a
    worker earlier, between fork and gunicorn installing its handlers, is lost and the worker
    lingers until the graceful timeout; whoever stops the server at once (tests, scripts) can
    wait for one such line per worker first."""
    worker.log.info("idgraph worker %s ready", worker.pid)


class _Server(BaseApplication):
    """gunicorn with threaded workers (gthread): IDGRAPH_WORKERS processes (2) of
    IDGRAPH_THREADS threads, by default 2 on SQLite and 8 on Neo4j.

    On SQLite requests spend most of their time in Python, so the threads of one process take
    turns on its GIL: measured with 8 concurrent clients on 2 cores, 2 x 8 answered 2,030
    lookups/s with p99 19 ms, 2 x 2 answered 2,960/s with p99 7 ms. A second thread per
    process keeps reads going while the other waits on a write's fsync. Writes serialize
    whatever the shape: on a lock within a process, on flock(<store>.lock) across processes;
    so more processes (about one per core) add read capacity, never write capacity.

    On Neo4j a request mostly waits on the network (a Bolt round trip per statement, several
    per write) with the GIL released, so a process can keep more requests in flight: 8
    threads, each on its own connection from the driver's pool (100 per process). Writers
    lock only the profiles they touch, so writes of other profiles go on at once. Measured
    on 2 cores beside the Neo4j JVM, 2 x 8 ingested and resolved best; 2 x 4 and 2 x 16 did
    no better (benchmarks/README.md, "The server's threads on Neo4j").

    Not async workers (gevent): a call into sqlite3 would block every request of the
    process. But slow clients must not hold the threads either: gunicorn's gthread gives each
    new connection to a thread, which waits up to 5 s for a first byte and then reads head and
    body with blocking reads, so 3 idle sockets stalled /healthz for 4 s and 4 sockets sending
    a header line every 4 s stalled it for good (issue 19). So the worker
    (app/cli/worker.py, BufferingThreadWorker) reads each request in full on gunicorn's
    poller, its event loop, without blocking, and only then gives it to a thread: an event
    loop where waiting costs nothing, threads where the work is. Heads have
    IDGRAPH_HEADER_TIMEOUT (10 s), bodies IDGRAPH_BODY_TIMEOUT (10 s, plus 1 s per 16 KiB),
    then 408; a process holds at most worker_connections (1,000) connections, dropping the
    oldest idle ones to take new ones. With 50 idle and 16 trickling connections open,
    /healthz and a profile read answered with p99 5-10 ms (benchmarks/slow_clients.py),
    where they timed out before. gunicorn 27 has no header or body read timeout to set
    instead; waitress buffers the same way but would replace the processes, hooks and
    metrics set up here.

    gunicorn's access log stays off (a URI carries identifier values): the app writes one
    access line per request, naming the route (app/logs.py)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        super().__init__()

    def load_config(self) -> None:
        from app.cli.worker import BufferingThreadWorker

        options: dict[str, Any] = {
            "bind": f"{_bind_host(self._settings.host)}:{self._settings.port}",
            "workers": self._settings.workers,
            # gthread that reads whole requests before a thread serves them; JSON errors
            "worker_class": BufferingThreadWorker.for_settings(self._settings),
            "worker_connections": 1000,  # per process; at the cap the oldest idle one goes
            "threads": self._settings.threads,
            "timeout": 120,
            "loglevel": self._settings.log_level,
            "logger_class": GunicornLogger,
            "accesslog": None,
            "child_exit": mark_worker_dead,
            # gunicorn's control socket lives in $HOME: two servers on one machine would share it
            "control_socket_disable": True,
            "post_worker_init": _announce_ready,
        }
        for name, value in options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:  # in each worker, after fork: every worker opens its own store
        from app.api import create_app

        # each process keeps its own token buckets (app/api/ratelimit.py) and takes its share
        # of every rate; connections spread over the processes
        return create_app(dataclasses.replace(self._settings, processes=self._settings.workers))
