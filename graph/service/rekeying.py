"""Re-keying a namespace written before today's rules of identifier types and values
(graph/rekey.py says what becomes of each identifier; ``idgraph rekey`` runs this).

The namespace's identifiers are read in key order and decided in chunks. A chunk holding
changes is written in one transaction, in which each change is decided again on what the
store holds then: a server may be writing meanwhile, and a respelling may be refused, or be
needless, by the time it is written. A respelling is a link item of the old and the new
spelling, planned and applied as ``POST /links`` would (operation ``rekey``), then folded.
Killed, it is run again: what was written is kept, and what was not is found again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from graph.model import Conflict, Identifier, LinkItem, Provenance, StoredIdentifier
from graph.planner import plan_links
from graph.rekey import Change, Respell, SetAside, decide, joining_rules
from graph.rules import Rules
from graph.service.base import UseCase
from graph.store.base import WriteTx

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
        refuse. ``on_progress`` is told how many identifiers each chunk read."""
        rules = self.rules(namespace)
        report = RekeyReport(namespace)
        for rows in _chunks(self.store.iter_identifiers(namespace), chunk):
            report.scanned += len(rows)
            changes = [
                change
                for key, type_, value, profile_id in rows
                if (change := decide(StoredIdentifier(key, type_, value, profile_id, ""), rules))
            ]
            if changes:
                self._rekey_chunk(namespace, changes, rules, report, dry_run)
            on_progress(len(rows))
        return report

    def _rekey_chunk(
        self,
        namespace: str,
        changes: list[Change],
        rules: Rules,
        report: RekeyReport,
        dry_run: bool,
    ) -> None:
        keys = [change.old.key for change in changes]
        provenance = self._provenance(OPERATION, "idgraph rekey")

        def work(tx: WriteTx) -> RekeyReport:
            done = RekeyReport(namespace)
            for stored in tx.identifiers(namespace, keys):  # as they are now
                change = decide(stored, rules)
                if change is not None:
                    _rekey(tx, namespace, change, rules, provenance, done, dry_run)
            if not dry_run:
                renamed = {change.old.key: change.new for change in done.respelled}
                renamed.update({change.old.key: change.new for change in done.set_aside})
                tx.rename_mentions(namespace, renamed)
            return done

        done = self.store.read(work) if dry_run else self.store.write(work)
        for kind in ("respelled", "set_aside", "refused"):
            report.add(kind, getattr(done, kind))


def _rekey(
    tx: WriteTx,
    namespace: str,
    change: Change,
    rules: Rules,
    provenance: Provenance,
    report: RekeyReport,
    dry_run: bool,
) -> None:
    """Decide one change on the transaction's state and, unless a dry run, write it."""
    old = change.old
    if isinstance(change, Respell) and old.profile_id is not None:
        item = LinkItem((Identifier(old.type, old.value), change.new))
        state = tx.load_state(namespace, [old.key, change.new.key])
        plan = plan_links([item], state, joining_rules(rules), provenance)
        outcome = plan.outcomes[0]
        if isinstance(outcome, Conflict):
            report.refused.append(Refused(old, change.new, outcome.reason, outcome.profiles))
            return
        if not dry_run:
            tx.apply(namespace, plan.changes)
    elif isinstance(change, Respell) and tx.identifiers(namespace, [change.new.key]):
        # in no profile (replaced, retired), and spelled like an identifier someone holds
        report.refused.append(Refused(old, change.new, "retired", ()))
        return
    if not dry_run:
        tx.fold_identifier(namespace, old.key, change.new, provenance)
    (report.respelled if isinstance(change, Respell) else report.set_aside).append(change)


def _chunks(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch
