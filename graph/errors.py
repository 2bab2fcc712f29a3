"""Domain errors. The HTTP layer translates each into a status code and the one error shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graph.model import Refusal


class IdgraphError(Exception):
    """Root of every error idgraph raises on purpose."""


class InvalidInput(IdgraphError):
    """Input that fails validation; nothing was written.

    ``items`` maps a batch item's index to ``{field path: [messages]}``; ``fields`` holds errors
    that belong to no item (a path parameter, a query argument).
    """

    def __init__(
        self,
        message: str,
        *,
        items: Mapping[int, Mapping[str, list[str]]] | None = None,
        fields: Mapping[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.items = dict(items or {})
        self.fields = dict(fields or {})


class NotFound(IdgraphError):
    """A profile, identifier or record that does not exist in this namespace."""


class RequestIdReused(IdgraphError):
    """A request id that was already applied with a different body."""


class Refused(IdgraphError):
    """A request the graph's state does not allow now (a link already ended, a merge whose
    sides later links still join, an item the rules refuse where only that item was sent);
    nothing was written. ``code`` names the case."""

    def __init__(self, code: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole: a batch written in a child process (graph/service/writer.py)
        raises it in the worker that answers."""
        return (_refused, (type(self), self.code, self.message, self.details), self.__dict__)

    @classmethod
    def of(cls, refusal: Refusal) -> Refused:
        """The error for a refusal the planner decided."""
        return cls(refusal.code, refusal.message, **refusal.details)


def _refused(kind: type[Refused], code: str, message: str, details: dict[str, Any]) -> Refused:
    return kind(code, message, **details)


class RulesError(IdgraphError):
    """A rules file that cannot be used; start-up stops with this message."""


class StoreError(IdgraphError):
    """A database failure, wrapped once at the store boundary."""


class StatementRefused(RuntimeError):
    """Neo4j refused a statement as it is (its syntax, a parameter's type, an entity gone, a
    write in a read transaction): a bug of idgraph's own statements, not an outage (500, not
    503), or an analyst's query that `idgraph cypher` reports. ``code`` is Neo4j's
    (``Neo.ClientError.Statement.SyntaxError``), ``description`` its words."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"Neo4j refused a statement of idgraph's: {code}: {description}")
        self.code = code
        self.description = description
