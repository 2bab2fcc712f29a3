"""Link batches planned and written in a process of their own (``IDGRAPH_WRITER=process``,
the default of `idgraph serve` on SQLite).

Why: a 1,000-item batch is most of a second of Python (normalizing, the planner, the rows).
In the worker that also answers lookups it holds that process's GIL, and every lookup landing
there waits behind it at each step: p99 50-85 ms while an ingest runs, against 17-19 ms when
the ingest went to other processes (benchmarks/README.md, "Reads at scale"). Here the
worker's thread sends the batch down a pipe and waits with the GIL released; a child process
of the worker does the rest.

What goes to the child: ``link`` and ``link_across``, the batch writes of every API face,
normalization and dry runs included. What stays in the worker: HTTP, auth, the body's
shape, the answer, metrics (its outcomes and the write's duration are recorded here), and
the small writes (an explicit merge, attributes of one profile), which take milliseconds.

One child per worker, started with it (``spawn``: a fork of a threaded worker could copy a
lock some thread holds) and again after it died, one batch at a time: writes serialize on
SQLite's lock anyway. The child opens the store and the rules the worker opened. Its errors come
back as themselves, so the API answers as it would in process. If it dies, the batch
it had gets StoreError (503: not acknowledged; sent again with its request_id it is
applied once, whether or not the child committed it) and the next batch starts a new one.
A child whose worker dies sees its pipe close and exits.
"""

from __future__ import annotations

import itertools
import multiprocessing
import pickle
import signal
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

from graph.errors import StoreError
from graph.model import ItemResult
from graph.rules import RuleBook, load_rulebook
from graph.service.linking import Linking, LinkRequest, LinkResult
from graph.store.base import Store
from graph.store.timed import TimedStore

__all__ = ["LinkingProcess"]

_SPAWN = multiprocessing.get_context("spawn")


class LinkingProcess(Linking):
    """Linking whose batches run in a child process (see the module's docstring)."""

    def __init__(
        self,
        store: Store,
        rulebook: RuleBook,
        clock: Callable[[], str],
        *,
        store_url: str,
        store_options: Mapping[str, Any],
        rules: str | None,
        on_outcomes: Callable[[Sequence[ItemResult]], None] | None = None,
        on_transaction: Callable[[str, float], None] | None = None,
    ) -> None:
        """``store``, ``rulebook`` and ``clock`` serve the writes that stay here; the child
        opens ``store_url`` and the rules file ``rules`` itself, and keeps the real clock.
        ``on_transaction`` is told the kind and seconds of each store transaction the child
        ran, as a TimedStore here would be."""
        super().__init__(store, rulebook, clock, on_outcomes=on_outcomes)
        self._child = _Child(store_url, dict(store_options), rules)
        self._child.start()  # now, so that a store the child cannot open stops the worker
        self._on_transaction = on_transaction

    def link(self, namespace: str, requests: Sequence[LinkRequest], **options: Any) -> LinkResult:
        result = self._in_child("link", namespace, list(requests), **options)
        return result if options.get("dry_run") else self._committed(result)

    def link_across(
        self, requests: Sequence[tuple[str, LinkRequest]], **options: Any
    ) -> LinkResult:
        return self._committed(self._in_child("link_across", list(requests), **options))

    def _in_child(self, method: str, *args: Any, **options: Any) -> LinkResult:
        answered, value, transactions = self._child.call(method, args, options)
        if self._on_transaction:
            for kind, seconds in transactions:
                self._on_transaction(kind, seconds)
        if not answered:
            raise _rejoined(value)
        return value


class _Child:
    """The child process and the worker's end of its pipe; one call at a time."""

    def __init__(self, store_url: str, store_options: dict[str, Any], rules: str | None) -> None:
        self._arguments = (store_url, store_options, rules)
        self._lock = threading.Lock()
        self._process: Any = None
        self._pipe: Connection | None = None

    def call(self, method: str, args: tuple[Any, ...], options: dict[str, Any]) -> Any:
        """The child's answer: (answered, the result or the error's chain, transactions)."""
        with self._lock:
            pipe = self._started()
            try:
                pipe.send((method, args, options))
                return pipe.recv()
            except (EOFError, OSError) as error:
                self._stop()
                raise StoreError(
                    "the writing process stopped before it answered; nothing is acknowledged"
                ) from error

    def start(self) -> None:
        with self._lock:
            self._started()

    def _started(self) -> Connection:
        if self._pipe is not None and self._process.is_alive():
            return self._pipe
        self._stop()
        mine, theirs = _SPAWN.Pipe()
        process = _SPAWN.Process(
            target=_serve, args=(theirs, *self._arguments), name="idgraph-writer", daemon=True
        )
        process.start()
        theirs.close()
        try:
            ready, error = mine.recv()  # the store and rules open, or why not
        except EOFError as lost:
            process.join()
            raise StoreError(f"the writing process exited with {process.exitcode}") from lost
        if not ready:
            process.join()
            raise _rejoined(error)
        self._process, self._pipe = process, mine
        return mine

    def _stop(self) -> None:
        if self._pipe is not None:
            self._pipe.close()  # the child reads EOF and exits
        if self._process is not None:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()
        self._process = self._pipe = None


def _serve(
    pipe: Connection, store_url: str, store_options: dict[str, Any], rules: str | None
) -> None:
    """The child: open the store, then answer calls until the worker's end closes."""
    from graph.service import IdentityService
    from graph.store import open_store

    # Ctrl-C reaches the whole process group: the worker stops, and with it this child
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    transactions: list[tuple[str, float]] = []  # of the call at hand, sent with its answer

    def noting(kind: str, seconds: float) -> None:
        transactions.append((kind, seconds))

    try:
        store = TimedStore(open_store(store_url, **store_options), noting)
        service = IdentityService(store, load_rulebook(rules))
    except Exception as error:
        pipe.send((False, _sendable(error)))
        return
    pipe.send((True, None))
    try:
        while True:
            try:
                method, args, options = pipe.recv()
            except EOFError:
                return
            transactions.clear()
            try:
                answer = (True, getattr(service.linking, method)(*args, **options))
            except Exception as error:
                answer = (False, _sendable(error))
            pipe.send((*answer, transactions))
    finally:
        service.store.close()


def _sendable(error: BaseException) -> list[BaseException]:
    """The error and its causes, each as itself when it crosses a pipe intact, else a
    RuntimeError naming it. A pickled exception loses its cause, so the chain goes as a
    list (``_rejoined`` links it again): the worker's log names every link of it, as it
    would in process. The child's traceback goes as a note on the first, for debug logs."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    chain[0].add_note("in the writing process:\n" + "".join(traceback.format_exception(error)))
    return [_picklable(link) for link in chain]


def _picklable(error: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__module__}.{type(error).__qualname__}: {error}")
    return error


def _rejoined(chain: list[BaseException]) -> BaseException:
    for error, cause in itertools.pairwise(chain):
        error.__cause__ = cause
    return chain[0]
