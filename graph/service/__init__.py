"""Use cases: what a caller of idgraph can do, whatever face (HTTP dialect, CLI) it comes in
by, one class each behind one small facade:

- ``linking`` (linking.py): link identifiers, merge profiles, write attributes;
- ``reading`` (reading.py): profiles by id or identifier, lists of profiles, refused links;
- ``history`` (history.py): lineage, explain, time travel, ending a link, undoing a merge, bans;
- ``erasure`` (erasure.py): purge a person, the audit log of purges.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from graph.items import LinkRequest
from graph.model import ItemResult, utc_now
from graph.rules import RuleBook, Rules
from graph.service.erasure import Erasure
from graph.service.history import History
from graph.service.linking import Linking, LinkResult
from graph.service.reading import Reading
from graph.store.base import Store

__all__ = ["IdentityService", "LinkRequest", "LinkResult"]


class IdentityService:
    def __init__(
        self,
        store: Store,
        rulebook: RuleBook | None = None,
        *,
        clock: Callable[[], str] = utc_now,
        on_outcomes: Callable[[Sequence[ItemResult]], None] | None = None,
    ) -> None:
        """``on_outcomes`` is told the results of every committed link batch and merge (not
        of dry runs or replays): the app counts them for /metrics."""
        self.store = store
        self.rulebook = rulebook or RuleBook()
        self.linking = Linking(store, self.rulebook, clock, on_outcomes=on_outcomes)
        self.reading = Reading(store, self.rulebook, clock)
        self.history = History(store, self.rulebook, clock)
        self.erasure = Erasure(store, self.rulebook, clock)

    def rules(self, namespace: str, dialect: str = "native") -> Rules:
        return self.rulebook.for_namespace(namespace, dialect)

    def ping(self) -> None:
        """Raise StoreError unless the store answers."""
        self.store.ping()
