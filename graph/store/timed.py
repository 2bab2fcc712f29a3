"""A store whose read and write transactions are timed: each one's kind ("read" or "write")
and seconds go to a callback. The app's metrics time its store with it; a worker's writing
process (graph/service/writer.py) times its own and hands the figures to the worker."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class TimedStore:
    """Everything but ``read`` and ``write`` is the store's own."""

    def __init__(self, store: Any, observe: Callable[[str, float], None]) -> None:
        self._store = store
        self._observe = observe

    def read(self, work: Callable[[Any], T]) -> T:
        return self._timed("read", self._store.read, work)

    def write(self, work: Callable[[Any], T]) -> T:
        return self._timed("write", self._store.write, work)

    def _timed(self, kind: str, run: Callable[[Callable[[Any], T]], T], work: Any) -> T:
        started = time.perf_counter()
        try:
            return run(work)
        finally:
            self._observe(kind, time.perf_counter() - started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)
