"""Erasure: purge a person, and read the audit log of purges.

A purge erases the profile (an alias names its live survivor), its aliases, its identifiers
(those that left it by a replacement or a merge too), every link touching them, its
attributes and their history, its merges, the bans and conflicts naming it, and the requests
kept for idempotent replay whose answer names it. What it wrote leaves the other profiles it
was part of for a while too (their attribute versions and values), and their merge records
stop naming its identifiers (docs/storage.md, "Erasure and other profiles"). A request id
whose record was erased is unknown again: replaying it applies it as a new request. In the
same transaction the purge is added to the audit log (namespace, profile id, time, who, how
many identifiers; never a value), and once committed it is logged at INFO in the same terms.
Then the store is asked to settle the erasure: to drop what its journal or transaction logs
keep of the erased values as soon as it can (``Store.settle_erasure``). The person is erased
once the purge committed, so a failure there is logged, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from graph.errors import NotFound
from graph.model import PurgeRecord
from graph.service.base import UseCase
from graph.service.lookups import cursor_position, live_profile, lookup_identifier, profile_holding
from graph.store.base import WriteTx

log = logging.getLogger("idgraph")


@dataclass(frozen=True, slots=True)
class PurgePage:
    purges: tuple[PurgeRecord, ...]
    next_cursor: str | None


class Erasure(UseCase):
    def purge(
        self, namespace: str, profile_id: int, *, purged_by: str, absorbed_too: bool = True
    ) -> PurgeRecord:
        """Erase a person by profile id; an absorbed id erases its live survivor, unless
        ``absorbed_too`` is False (Synerise: the sources of a merge are gone, so their ids name
        no one), when it is NotFound, decided in the purge's own transaction. NotFound for an
        unknown (or already erased) id. ``purged_by`` is who asked, for the audit log."""

        def find(tx: WriteTx) -> int:
            pid = live_profile(tx, namespace, profile_id)
            if pid != profile_id and not absorbed_too:
                raise NotFound(f"no profile {profile_id} in {namespace}: it was merged into {pid}")
            return pid

        return self._purge(namespace, find, purged_by)

    def purge_identifier(
        self, namespace: str, type_: str, value: str, *, purged_by: str, dialect: str = "native"
    ) -> PurgeRecord:
        """Erase the person an identifier belongs to (see ``purge``)."""
        identifier = lookup_identifier(type_, value, self.rules(namespace, dialect))
        return self._purge(
            namespace, lambda tx: profile_holding(tx, namespace, identifier), purged_by
        )

    def purges(self, namespace: str, *, cursor: str | None = None, limit: int = 100) -> PurgePage:
        """The audit log of a namespace's purges, oldest first."""
        after_id = cursor_position(cursor)
        records = self.store.read(lambda tx: tx.purges(namespace, after_id=after_id, limit=limit))
        next_cursor = str(records[-1].id) if len(records) == limit else None
        return PurgePage(tuple(records), next_cursor)

    def _purge(self, namespace: str, find: Callable[[WriteTx], int], purged_by: str) -> PurgeRecord:
        def work(tx: WriteTx) -> PurgeRecord:
            pid = find(tx)
            erased = tx.purge_profile(namespace, pid)
            at = self._clock()
            purge_id = tx.record_purge(
                namespace, pid, purged_by=purged_by, identifiers=erased, at=at
            )
            return PurgeRecord(purge_id, namespace, pid, at, purged_by, erased)

        record = self.store.write(work)
        log.info(
            "purge %d: namespace %s, profile %d, by %s, %d identifiers erased",
            record.id, namespace, record.profile_id, purged_by, record.identifiers_erased,
        )  # fmt: skip
        self._settle(record)
        return record

    def _settle(self, record: PurgeRecord) -> None:
        try:
            self.store.settle_erasure()
        except Exception:  # committed: the person is erased whatever fails here
            log.warning(
                "purge %d committed, but the store could not settle it now: its journal or "
                "transaction logs keep the erased values until its own schedule drops them",
                record.id, exc_info=True,
            )  # fmt: skip
