"""The storage port: what the service needs from a database, and nothing else.

A store runs a unit of work inside one transaction: ``store.write(work)`` calls ``work(tx)``
and commits when it returns, rolls back when it raises. ``work`` may be called again after a
transient failure (a busy database, a deadlock), so it must not have side effects outside
``tx``: the planner is pure, which is what makes this safe.

Every implementation passes the same contract suite (tests/contract/).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeVar

from graph.keys import ApiKey
from graph.model import (
    AttributeHistory,
    Ban,
    ChangeSet,
    ConflictRecord,
    GraphState,
    Identifier,
    LinkRecord,
    MergeRecord,
    ProfileRecord,
    ProfileView,
    Provenance,
    PurgeRecord,
    StoredIdentifier,
    StoredRequest,
)

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

    def profile_view_of(self, namespace: str, key: str) -> ProfileView | None:
        """``profile_view`` of the profile holding the identifier with this key, None if none
        does: a lookup's whole read, in one statement."""

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
        those profiles, their active links and attributes, the bans naming any of these
        identifiers or ``keys``, and the next free ids. A constant number of queries,
        whatever the number of keys."""

    def load_profiles(self, namespace: str, profile_ids: Iterable[int]) -> GraphState:
        """The same state for the given live profiles."""

    # --- history: lineage, explain, undo, time travel --------------------------------------

    def profile_record(self, namespace: str, profile_id: int) -> ProfileRecord | None:
        """A profile row, live or absorbed."""

    def identifiers(self, namespace: str, keys: Iterable[str]) -> list[StoredIdentifier]:
        """These identifiers, in a profile or in none, by key."""

    def identifiers_after(
        self, namespace: str, after: str, limit: int
    ) -> list[tuple[str, str, str, int | None]]:
        """(key, type, value, profile id) of the first ``limit`` identifiers with keys above
        ``after``, by key: a re-keying's page, read where its own writes are seen."""

    def members_page(
        self, namespace: str, profile_id: int, *, as_of: str | None, after_key: str, limit: int
    ) -> list[StoredIdentifier]:
        """The identifiers of a profile with keys above ``after_key``, by key: now, or at the
        instant ``as_of`` (from the history of placements, not from the current rows)."""

    def placed_at(self, namespace: str, keys: Iterable[str], at: str) -> dict[str, int | None]:
        """The profile each identifier was in at ``at`` (None: in none); an identifier not
        created yet is left out."""

    def link(self, namespace: str, link_id: int) -> LinkRecord | None: ...

    def links_touching(self, namespace: str, keys: Iterable[str]) -> list[LinkRecord]:
        """Every link, active or ended, with an end in ``keys``, by id."""

    def links_ended_by(self, namespace: str, request_id: str, reason: str) -> list[LinkRecord]:
        """The links one request ended for ``reason``, by id."""

    def merge_record(self, namespace: str, merge_id: int) -> MergeRecord | None: ...

    def merges_of(self, namespace: str, profile_ids: Iterable[int]) -> list[MergeRecord]:
        """Every merge, undone or not, whose survivor or absorbed profile is in the ids."""

    def attribute_history(
        self, namespace: str, keys: Iterable[str], profile_ids: Iterable[int]
    ) -> list[AttributeHistory]:
        """Attribute writes through ``keys`` made to ``profile_ids``' own profiles, and
        profile-level writes to ``profile_ids``, in the order they were made (what a split
        takes back, docs/lineage.md).

        A profile's own are itself, the profiles merged into it (their writes before the
        merge), and the profile it was split from, up to the split (with that one's own, up
        to the same instant). A write through a key to any other profile was made while the
        identifier was someone else's (a shared browser before it moved in): it is left
        out. With no ``profile_ids``, every write through ``keys``, whatever its profile."""

    def attributes_at(self, namespace: str, profile_id: int, at: str) -> dict[str, Any]:
        """A profile's attribute values as they were at ``at`` ({} if it had none)."""

    def bans(
        self, namespace: str, *, key: str | None = None, after_id: int = 0, limit: int = 100
    ) -> list[Ban]:
        """Bans by id above ``after_id``; with ``key``, those naming that identifier."""

    def find_request(self, namespace: str, request_id: str) -> StoredRequest | None:
        """An applied request kept for idempotent replay."""

    def conflicts(
        self,
        namespace: str,
        *,
        since: str | None,
        after_id: int,
        limit: int,
        profiles: Collection[int] | None = None,
    ) -> list[ConflictRecord]:
        """Refused links, oldest first, with ids above ``after_id`` and time >= ``since``;
        with ``profiles``, only those naming one of these profile ids."""

    def purges(self, namespace: str, *, after_id: int, limit: int) -> list[PurgeRecord]:
        """The audit log of purges, oldest first, with ids above ``after_id``."""

    def api_key(self, key_id: int) -> ApiKey | None:
        """An API key by id, revoked or not (graph/keys.py)."""

    def api_keys(self, namespace: str | None) -> list[ApiKey]:
        """Every API key, revoked ones too, by id: of one namespace, or of all (None)."""


class WriteTx(ReadTx, Protocol):
    def apply(self, namespace: str, changes: ChangeSet) -> None:
        """Write a change set in bulk: a few statements per kind of change, never one per item.
        It is planned on what this transaction loaded of the namespace (``load_state``,
        ``load_profiles``), whose ``sequences`` it numbers from.
        Besides the rows themselves it keeps the history time travel reads: a placement
        (key, profile, time) for every identifier whose profile changed, and a version of
        every attribute map that changed. A store may leave the placement of an identifier's
        creation implicit in the identifier (SQLite does, until it first changes profile)."""

    def purge_profile(self, namespace: str, profile_id: int) -> int:
        """Erase a live profile and everything that mentions it or its identifiers:
        identifiers (those that left it by a replacement or a merge too), links (active and
        ended), attributes and their history (every write through its identifiers or to its
        profiles, its versions, the placements of its identifiers and every placement in its
        profiles), merges, aliases, bans, conflicts, and the requests kept for replay whose
        answer names one of its ids or identifiers (``graph.replays.mentioned_in``). Other
        profiles it reached keep their history without it: their attribute versions and
        current values lose what it wrote (graph/store/scrub.py), and their
        merges' records name none of its identifiers (``survivor_key``/``absorbed_key``
        None). Returns how many identifiers were erased."""

    def record_purge(
        self, namespace: str, profile_id: int, *, purged_by: str, identifiers: int, at: str
    ) -> int:
        """Add a purge to the audit log: namespace, profile id, who, when, how many
        identifiers; never what was erased. Returns its id."""

    def save_request(
        self, namespace: str, request_id: str, digest: str, response: Mapping[str, Any]
    ) -> None:
        """Keep a request's response for idempotent replay."""

    def fold_identifier(
        self, namespace: str, old_key: str, new: Identifier, provenance: Provenance
    ) -> None:
        """Re-key an identifier (graph/rekey.py): if ``new`` does not exist, the identifier
        takes its key, type and value; if it does, it keeps the earlier creation and the old
        one is deleted. Either way every link, placement, attribute write, ban and merge naming
        the old key names the new one; where the identifier was before the new key's first
        placement is kept from the old key's; links joining the new key to itself end with
        reason ``rekeyed``."""

    def rename_mentions(self, namespace: str, renamed: Mapping[str, Identifier]) -> None:
        """After folds: refused links and kept answers naming an old key (``renamed``: old
        key -> its new identifier) name the new one, so that a purge finds them."""

    def remove_ban(self, namespace: str, ban_id: int) -> bool:
        """Delete a ban; False if there was none."""

    def create_api_key(
        self, namespace: str, name: str, rights: tuple[str, ...], salt: str, hash: str, at: str
    ) -> int:
        """Keep a new key (its secret's hash, never the secret); returns its id."""

    def revoke_api_key(self, key_id: int, at: str) -> bool:
        """Mark a key revoked; False if there was no such active key."""


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

    def namespaces(self) -> list[str]:
        """Every namespace holding identifiers, by name: reads the whole store."""

    def iter_identifiers(self, namespace: str) -> Iterator[tuple[str, str, str, int | None]]:
        """Stream (key, type, value, profile id) of a namespace, for exports and checks."""

    def iter_links(self, namespace: str, *, active_only: bool = False) -> Iterator[dict[str, Any]]:
        """Stream a namespace's links with their provenance, oldest first."""

    def ping(self) -> None:
        """Raise StoreError unless the database answers."""

    def settle_erasure(self) -> None:
        """After a purge committed: let the store drop what it keeps of erased data (journal,
        transaction logs) as soon as it can. Never inside a transaction; best effort: it may
        leave work to the database's own schedule (docs/storage.md says what stays where)."""

    def close(self) -> None: ...
