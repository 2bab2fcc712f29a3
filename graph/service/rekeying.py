"""Re-keying a namespace written before today's rules of identifier types and values
(graph/rekey.py says what becomes of each identifier; ``idgraph rekey`` runs this).

The namespace's identifiers are read in key order, a chunk per read, and decided. A chunk
holding changes is written in one transaction, in which each change is decided again on what
the store holds then: a server may be writing meanwhile, and a respelling may be refused, or
be needless, by the time it is written. A respelling is a link item of the old and the new
spelling, planned and applied as ``POST /links`` would (operation ``rekey``), then folded.
Killed, it is run again: what was written is kept, and what was not is found again.

A dry run decides the same way, in a read transaction, on the store seen through what the
changes before it would have written (graph/rekey.py, ``Rehearsal``).

An identifier is counted once: a new spelling the run wrote after where it is reading is read
again further on (``deviceid:d1`` after ``deviceId:d1``), and counted in its place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from graph.model import (
    ChangeSet,
    Conflict,
    GraphState,
    Identifier,
    LinkItem,
    Provenance,
    StoredIdentifier,
)
from graph.planner import plan_links
from graph.rekey import (
    SET_ASIDE,
    Change,
    Rehearsal,
    Respell,
    SetAside,
    decide,
    joining_rules,
    taken,
    uncounted,
)
from graph.rules import Rules
from graph.service.base import UseCase
from graph.store.base import ReadTx, WriteTx

OPERATION = "rekey"
KEPT = 1000  # changes of each kind a report lists


@dataclass(frozen=True, slots=True)
class Refused:
    """A respelling the namespace's rules refuse: the identifier keeps its old key."""

    old: StoredIdentifier
    new: Identifier
    rule: str
    profiles: tuple[int, ...]


@dataclass(slots=True)
class RekeyReport:
    """What a re-keying did to one namespace (or, in a dry run, would do): how many of each
    kind, and the first ``KEPT`` of each (a store may respell millions)."""

    namespace: str
    scanned: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    respelled: list[Respell] = field(default_factory=list)
    set_aside: list[SetAside] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)

    def add(self, kind: str, changes: list) -> None:
        self.counts[kind] += len(changes)
        kept: list = getattr(self, kind)
        kept += changes[: KEPT - len(kept)]


class Rekeying(UseCase):
    def rekey(
        self,
        namespace: str,
        *,
        dry_run: bool = False,
        chunk: int = 1000,
        on_progress: Callable[[int], None] = lambda scanned: None,
    ) -> RekeyReport:
        """Re-key every identifier of ``namespace`` that today's rules spell differently or
        refuse. ``on_progress`` is told how many identifiers each chunk read (those the run
        wrote and reads again counted once)."""
        rules = self.rules(namespace)
        report = RekeyReport(namespace)
        rehearsal = Rehearsal() if dry_run else None
        after, owed = "", 0  # owed: new spellings written after ``after``, to be read again
        while rows := self.store.read(_page(namespace, after, chunk)):
            after = rows[-1].key
            changes = [change for row in rows if (change := decide(row, rules))]
            again = min(owed, len(rows) - len(changes))  # kept rows: those read again in them
            owed -= again
            if changes:
                done, ahead = self._rekey_chunk(namespace, changes, rules, rehearsal, after)
                owed += ahead
                for kind in ("respelled", "set_aside", "refused"):
                    report.add(kind, getattr(done, kind))
            report.scanned += len(rows) - again
            on_progress(len(rows) - again)
        return report

    def _rekey_chunk(
        self,
        namespace: str,
        changes: list[Change],
        rules: Rules,
        rehearsal: Rehearsal | None,
        after: str,
    ) -> tuple[RekeyReport, int]:
        """Decide and make a chunk's changes (in a dry run, rehearse them): what was done,
        and how many identifiers it made with keys after ``after``."""
        keys = [change.old.key for change in changes]
        provenance = self._provenance(OPERATION, "idgraph rekey")

        def work(tx: WriteTx) -> tuple[RekeyReport, _Writing | _Rehearsing]:
            done = RekeyReport(namespace)
            if rehearsal is None:
                target: _Writing | _Rehearsing = _Writing(tx, namespace, changes, after)
            else:
                target = _Rehearsing(tx, namespace, rehearsal.attempt())
            for stored in tx.identifiers(namespace, keys):  # as they are now
                change = decide(stored, rules)
                if change is not None:
                    _rekey(target, change, rules, provenance, done)
            target.close(done)
            return done, target

        if rehearsal is not None:
            done, rehearsing = self.store.read(work)
            rehearsing.rehearsal.keep()  # once the store returned: it may run work again
            return done, 0
        done, writing = self.store.write(work)
        return done, writing.ahead


def _page(namespace: str, after: str, size: int) -> Callable[[ReadTx], list[StoredIdentifier]]:
    def read(tx: ReadTx) -> list[StoredIdentifier]:
        return [
            StoredIdentifier(key, type_, value, profile_id, "")
            for key, type_, value, profile_id in tx.identifiers_after(namespace, after, size)
        ]

    return read


def _rekey(
    target: _Writing | _Rehearsing,
    change: Change,
    rules: Rules,
    provenance: Provenance,
    report: RekeyReport,
) -> None:
    """Decide one change on what the target holds now, and make it there."""
    old = change.old
    if isinstance(change, Respell) and old.profile_id is not None:
        item = LinkItem((Identifier(old.type, old.value), change.new))
        state = uncounted(target.state([old.key, change.new.key]), change.new, rules)
        plan = plan_links([item], state, joining_rules(rules), provenance)
        outcome = plan.outcomes[0]
        if isinstance(outcome, Conflict):
            report.refused.append(Refused(old, change.new, outcome.reason, outcome.profiles))
            return
        target.apply(plan.changes)
    elif isinstance(change, Respell) and target.exists(change.new.key):
        change = taken(change)  # in no profile: only history, which stays with it
    target.fold(old, change.new, provenance)
    (report.respelled if isinstance(change, Respell) else report.set_aside).append(change)


class _Writing:
    """A run's transaction: the store, written as the changes are decided."""

    def __init__(self, tx: WriteTx, namespace: str, changes: list[Change], after: str) -> None:
        self.tx, self.namespace, self.after = tx, namespace, after
        # the keys the changes may write under after ``after``, and those already there
        self._later = {
            key
            for change in changes
            for key in (change.new.key, SET_ASIDE + change.old.key)
            if key > after
        }
        self._there = {stored.key for stored in tx.identifiers(namespace, self._later)}
        self.ahead = 0  # identifiers made with keys after ``after``: the run reads them again

    def state(self, keys: list[str]) -> GraphState:
        return self.tx.load_state(self.namespace, keys)

    def exists(self, key: str) -> bool:
        return bool(self.tx.identifiers(self.namespace, [key]))

    def apply(self, changes: ChangeSet) -> None:
        self.tx.apply(self.namespace, changes)

    def fold(self, old: StoredIdentifier, new: Identifier, provenance: Provenance) -> None:
        self.tx.fold_identifier(self.namespace, old.key, new, provenance)

    def close(self, done: RekeyReport) -> None:
        changes = [*done.respelled, *done.set_aside]
        renamed = {change.old.key: change.new for change in changes}
        self.tx.rename_mentions(self.namespace, renamed)
        made = {change.new.key for change in changes} & self._later
        self.ahead = len(made - self._there)


class _Rehearsing:
    """A dry run's transaction: the store as it is, seen through what the run would have
    written (its ``rehearsal``), to which the changes decided are added."""

    def __init__(self, tx: ReadTx, namespace: str, rehearsal: Rehearsal) -> None:
        self.tx, self.namespace, self.rehearsal = tx, namespace, rehearsal

    def state(self, keys: list[str]) -> GraphState:
        load = self.tx.load_state(self.namespace, keys)
        more = self.rehearsal.profiles_to_load(load, keys) - load.profiles.keys()
        if not more:
            return self.rehearsal.seen(load)
        return self.rehearsal.seen(load, self.tx.load_profiles(self.namespace, more))

    def exists(self, key: str) -> bool:
        return self.rehearsal.exists(key, stored=self._stored(key))

    def apply(self, changes: ChangeSet) -> None:
        self.rehearsal.apply(changes, changes.provenance.at)

    def fold(self, old: StoredIdentifier, new: Identifier, provenance: Provenance) -> None:
        self.rehearsal.fold(old, new, stored=self._stored(new.key))

    def close(self, done: RekeyReport) -> None:
        pass

    def _stored(self, key: str) -> bool:
        return bool(self.tx.identifiers(self.namespace, [key]))
