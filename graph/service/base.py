"""What every use case shares: the store, the namespaces' rules and the clock.

Each use case validates and normalizes its input first (bad input never reaches the store),
then runs load -> plan -> apply inside one store transaction. ``work`` functions given to a
store may run again after a transient failure, so they only touch the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from graph.model import Provenance
from graph.rules import RuleBook, Rules
from graph.store.base import Store


class UseCase:
    def __init__(self, store: Store, rulebook: RuleBook, clock: Callable[[], str]) -> None:
        self.store = store
        self._rulebook = rulebook
        self._clock = clock

    def rules(self, namespace: str, dialect: str = "native") -> Rules:
        """The namespace's rules for requests coming in by ``dialect`` (a face of the API)."""
        return self._rulebook.for_namespace(namespace, dialect)

    def _provenance(
        self, operation: str, source: str | None, request_id: str | None = None
    ) -> Provenance:
        """Who writes now, and as which request (a new one unless named)."""
        return Provenance(request_id or new_request_id(), self._clock(), operation, source)


def new_request_id() -> str:
    return uuid.uuid4().hex
