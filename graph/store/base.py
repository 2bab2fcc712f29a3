"""The storage port: what the service needs from a database, and nothing else.

A store runs a unit of work inside one transaction: ``store.write(work)`` calls ``work(tx)``
and commits when it returns, rolls back when it raises. ``work`` may be called again after a
transient failure (a busy database, a deadlock), so it must not have side effects outside
``tx``: the planner is pure, which is what makes this safe.

Every implementation passes the same contract suite (tests/contract/).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeVar

from graph.model import ChangeSet, ConflictRecord, GraphState, ProfileView, StoredRequest

T = TypeVar("T")


class ReadTx(Protocol):
    def resolve_profile(self, namespace: str, profile_id: int) -> int | None:
        """The live profile id: itself, or the survivor it was merged into; None if unknown."""

    def profile_of(self, namespace: str, key: str) -> int | None:
        """The profile holding the identifier with this key, None if there is none."""

    def profile_view(self, namespace: str, profile_id: int) -> ProfileView | None:
        """A live profile with its identifiers, attributes and aliases."""

    def profile_views(self, namespace: str, profile_ids: Iterable[int]) -> list[ProfileView]:
        """The live ones among these profiles, by id, in a constant number of queries."""

    def list_profiles(
        self,
        namespace: str,
        *,
        having: Iterable[str] = (),
        updated_from: str | None = None,
        updated_before: str | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[ProfileView]:
        """Live profiles by id above ``after_id``, holding an identifier of every type in
        ``having``, last updated in [updated_from, updated_before)."""

    def load_state(self, namespace: str, keys: Iterable[str]) -> GraphState:
        """The planner's input: every identifier of every profile holding one of ``keys``,
        those profiles, their active links and attributes, and the next free ids. A
        constant number of queries, whatever the number of keys."""

    def load_profiles(self, namespace: str, profile_ids: Iterable[int]) -> GraphState:
        """The same state for the given live profiles."""

    def find_request(self, namespace: str, request_id: str) -> StoredRequest | None:
        """An applied request kept for idempotent replay."""

    def conflicts(
        self, namespace: str, *, since: str | None, after_id: int, limit: int
    ) -> list[ConflictRecord]:
        """Refused links, oldest first, with ids above ``after_id`` and time >= ``since``."""


class WriteTx(ReadTx, Protocol):
    def apply(self, namespace: str, changes: ChangeSet) -> None:
        """Write a change set in bulk: a few statements per kind of change, never one per item."""

    def purge_profile(self, namespace: str, profile_id: int) -> int:
        """Erase a live profile and everything that mentions its identifiers: identifiers,
        links (active and ended), attributes and their history, merges, aliases, conflicts.
        Returns how many identifiers were erased."""

    def save_request(
        self, namespace: str, request_id: str, digest: str, response: Mapping[str, Any]
    ) -> None:
        """Keep a request's response for idempotent replay."""


def departed_from(
    members: Iterable[str], linked_departed: Callable[[list[str]], Iterable[str]]
) -> list[str]:
    """Keys of the identifiers that left a profile (replaced, retired by a merge) and are
    linked to its members, through chains: a replaced email linked to a replaced phone, ...
    ``linked_departed(keys)`` is the store's query for one step; one call per step."""
    seen = set(members)
    departed: list[str] = []
    frontier = list(seen)
    while frontier:
        frontier = [key for key in dict.fromkeys(linked_departed(frontier)) if key not in seen]
        seen.update(frontier)
        departed += frontier
    return departed


class Store(Protocol):
    url: str

    def read(self, work: Callable[[ReadTx], T]) -> T:
        """Run ``work`` in a read transaction: one consistent snapshot."""

    def write(self, work: Callable[[WriteTx], T]) -> T:
        """Run ``work`` in a write transaction that serializes with every other writer."""

    def iter_identifiers(self, namespace: str) -> Iterator[tuple[str, str, str, int | None]]:
        """Stream (key, type, value, profile id) of a namespace, for exports and checks."""

    def iter_links(self, namespace: str, *, active_only: bool = False) -> Iterator[dict[str, Any]]:
        """Stream a namespace's links with their provenance, oldest first."""

    def ping(self) -> None:
        """Raise StoreError unless the database answers."""

    def close(self) -> None: ...
