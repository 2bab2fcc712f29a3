"""Ids for the Neo4j store's writers, so that none waits on a sequence.

Profile, link, merge, ban and conflict ids are counted per namespace by ``(:Sequence {ns,
name, next})`` nodes. A writer never locks one for the length of its transaction, or writers
of a namespace would take turns there. Instead each process takes a block of ids of a kind at
a time, in a short transaction of its own (cypher/store/reserve_ids.cypher), and hands out
windows of it: a write leases a window large enough for anything its plan can allocate, and
when it is done the part it did not use goes back, if no other write took a window since.
One writer after another thus gets dense ids, as on SQLite; writers at the same moment, or in
different processes, leave gaps, and a block a process did not use up is never used.

A plan that needs more than its window (``Lease.covers`` is false) is planned again with a
larger one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from graph.model import Sequences
from graph.store.neo4j.retry import LeaseExceeded

KINDS = ("profile", "link", "merge", "ban", "conflict")
BLOCK = 1000  # ids of a kind a process takes from Neo4j at once (at least)
_PLANNED = tuple(Sequences.__dataclass_fields__)  # the kinds a plan numbers itself


@dataclass(slots=True)
class _Range:
    next: int = 0
    end: int = 0  # next == end: empty

    def __len__(self) -> int:
        return self.end - self.next


@dataclass(slots=True)
class Lease:
    """A window of ids of each kind of one namespace: [first, first + size)."""

    namespace: str
    first: dict[str, int]
    size: int
    taken: dict[str, int] = field(default_factory=dict)  # ids the store gave out itself
    used: Sequences | None = None  # where the last plan applied stopped

    @property
    def next(self) -> Sequences:
        """Where the next plan starts numbering."""
        if self.used is not None:
            return self.used
        return Sequences(**{kind: self.first[kind] for kind in _PLANNED})

    def record(self, used: Sequences) -> None:
        """A plan applied: ids below ``used`` are taken (a sequence never goes back)."""
        start = self.next
        self.used = Sequences(
            **{kind: max(getattr(start, kind), getattr(used, kind)) for kind in _PLANNED}
        )

    def covers(self, used: Sequences) -> bool:
        """Whether a plan that allocated up to ``used`` stayed in the window."""
        return all(getattr(used, kind) <= self.first[kind] + self.size for kind in _PLANNED)

    def take(self, kind: str, count: int) -> int:
        """The first of ``count`` ids of ``kind`` the store numbers itself (conflicts)."""
        first = self.first[kind] + self.taken.get(kind, 0)
        if first + count > self.first[kind] + self.size:
            raise LeaseExceeded(kind)
        self.taken[kind] = self.taken.get(kind, 0) + count
        return first


class IdBlocks:
    """The blocks of ids one process holds, by namespace and kind. ``reserve(namespace,
    {kind: count})`` takes ids from Neo4j and answers the first of them."""

    def __init__(self, reserve: Callable[[str, Mapping[str, int]], Mapping[str, int]]) -> None:
        self._reserve = reserve
        self._ranges: dict[tuple[str, str], _Range] = {}
        self._lock = threading.Lock()

    def lease(self, namespace: str, size: int) -> Lease:
        while True:
            with self._lock:
                ranges = {kind: self._range(namespace, kind) for kind in KINDS}
                short = {kind: max(BLOCK, size) for kind, r in ranges.items() if len(r) < size}
                if not short:
                    first = {kind: r.next for kind, r in ranges.items()}
                    for r in ranges.values():
                        r.next += size
                    return Lease(namespace, first, size)
            fetched = self._reserve(namespace, short)  # outside the lock: a round trip
            with self._lock:
                for kind, count in short.items():
                    if len(ranges[kind]) < size:  # else another write's fetch came first
                        ranges[kind].next, ranges[kind].end = fetched[kind], fetched[kind] + count
            # and look again: another write may have taken what was fetched meanwhile

    def _range(self, namespace: str, kind: str) -> _Range:
        return self._ranges.setdefault((namespace, kind), _Range())

    def peek(self, namespace: str) -> Sequences | None:
        """Where this process's next lease of the namespace would start, if it holds ids of
        every kind for one."""
        with self._lock:
            ranges = [self._ranges.get((namespace, kind)) for kind in _PLANNED]
            if any(r is None or r.next >= r.end for r in ranges):
                return None
            return Sequences(*(r.next for r in ranges))

    def settle(self, lease: Lease, used: Sequences | None) -> None:
        """Give back the part of a window after ``used`` (None: all of it), if no later
        lease took a window after it."""
        with self._lock:
            for kind in KINDS:
                r = self._ranges[(lease.namespace, kind)]
                end = lease.first[kind] + lease.size
                if r.next != end:
                    continue
                if kind == "conflict" or used is None:
                    r.next = lease.first[kind] + (lease.taken.get(kind, 0) if used else 0)
                else:
                    r.next = getattr(used, kind)
