"""One transaction of the Neo4j store: the store protocol's reads of the present and the bulk
writes of a change set, with its reads of history (history.py), API keys (keys.py) and
erasure (purge.py) and re-keying (rekey.py). Created by Neo4jStore.read/write only.

A change set arrives as the named rows of graph/store/rows.py, the same SQLite writes; each
kind of write is one ``UNWIND $rows`` statement of the same name under cypher/store/. Neo4j
keeps no map in a property: a map (a profile's attributes, a version of them) is JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import neo4j

from graph.model import (
    ActiveLink,
    Attribute,
    ChangeSet,
    ConflictRecord,
    GraphState,
    Identifier,
    ProfileView,
    Sequences,
    StoredIdentifier,
    StoredProfile,
    StoredRequest,
    utc_now,
)
from graph.store.cypher import Statement
from graph.store.neo4j.history import HistoryReads
from graph.store.neo4j.ids import IdBlocks, Lease
from graph.store.neo4j.keys import ApiKeyRows
from graph.store.neo4j.purge import PurgeRows
from graph.store.neo4j.rekey import RekeyRows
from graph.store.neo4j.retry import LeaseExceeded, StaleRead
from graph.store.rows import (
    Row,
    attributes_from,
    change_rows,
    dump_json,
    request_row,
)

STATEMENTS = (
    "lock_identifiers",
    "lock_profiles",
    "peek_ids",
    "resolve_profile",
    "profile_of",
    "live_profiles",
    "members",
    "profile_views",
    "profile_view_of",
    "list_profiles",
    "touched_profiles",
    "active_links",
    "find_request",
    "conflicts",
    "conflicts_of_profiles",
    "save_request",
    "remove_ban",
    # the writes of a change set (graph/store/rows.py), in the order they run
    "create_profiles",
    "update_profiles",
    "create_identifiers",
    "return_identifiers",
    "move_identifiers",
    "create_links",
    "end_links",
    "create_placements",
    "merge_profiles",
    "repoint_aliases",
    "undo_merges",
    "set_merged_into",
    "set_attributes",
    "create_attribute_versions",
    "create_attribute_writes",
    "create_conflicts",
    "create_bans",
)


class Neo4jTx(HistoryReads, ApiKeyRows, PurgeRows, RekeyRows):
    """One managed transaction: the protocol's reads and the bulk writes of a change set.

    A write transaction (``writing``) locks what a plan is decided on before reading it:
    the batch's identifiers that exist, then the profiles holding them, looking again until no
    other writer moved one meanwhile (``load_state``); or the profiles named
    (``load_profiles``). The locks hold until commit, so writers of other profiles, and of
    other namespaces, never wait on each other. Its ids come from a lease of the process's
    blocks (ids.py), one per namespace, ``window`` times the size the loaded state calls for.
    """

    def __init__(
        self,
        tx: neo4j.ManagedTransaction,
        statements: Mapping[str, Statement],
        ids: IdBlocks,
        *,
        writing: bool = False,
        window: int = 1,
    ) -> None:
        self.tx = tx
        self.statements = statements
        self._ids = ids
        self._writing = writing  # else a read: a dry run plans with ids it does not take
        self._window = window
        self.leases: dict[str, Lease] = {}
        self._existing: dict[str, set[str]] = {}  # keys of a batch found (and locked), by ns

    def run(self, name: str, **parameters: Any) -> list[dict[str, Any]]:
        statement = self.statements[name]
        return self.tx.run(statement.text, statement.bind(parameters)).data()

    def _write(self, name: str, rows: list[Row], **parameters: Any) -> None:
        if rows:
            self.run(name, rows=neo4j_rows(rows), **parameters)

    # --- reads --------------------------------------------------------------------------------

    def resolve_profile(self, namespace: str, profile_id: int) -> int | None:
        rows = self.run("resolve_profile", ns=namespace, id=profile_id)
        return rows[0]["id"] if rows else None

    def profile_of(self, namespace: str, key: str) -> int | None:
        rows = self.run("profile_of", ns=namespace, key=key)
        return rows[0]["profile_id"] if rows else None

    def profile_view(self, namespace: str, profile_id: int) -> ProfileView | None:
        views = self.profile_views(namespace, [profile_id])
        return views[0] if views else None

    def profile_views(self, namespace: str, profile_ids: Iterable[int]) -> list[ProfileView]:
        return [
            _profile_view(row)
            for row in self.run("profile_views", ns=namespace, ids=list(profile_ids))
        ]

    def profile_view_of(self, namespace: str, key: str) -> ProfileView | None:
        rows = self.run("profile_view_of", ns=namespace, key=key)
        return _profile_view(rows[0]) if rows else None

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
        rows = self.run(
            "list_profiles",
            ns=namespace,
            after=after_id,
            types=sorted(set(having)),
            limit=limit,
            **{"from": updated_from or "", "before": updated_before or "\uffff"},
        )
        return self.profile_views(namespace, [row["id"] for row in rows])

    def load_state(self, namespace: str, keys: Iterable[str]) -> GraphState:
        keys = sorted(set(keys))
        if not self._writing:
            rows = self.run("touched_profiles", ns=namespace, keys=keys)
            return self._load(namespace, sorted(row["profile_id"] for row in rows), keys)
        found = self.run("lock_identifiers", ns=namespace, keys=keys)
        self._existing.setdefault(namespace, set()).update(row["key"] for row in found)
        holding = {row["profile_id"] for row in found if row["profile_id"] is not None}
        locked: set[int] = set()
        while holding - locked:  # until no other writer moved one of the keys meanwhile
            new = sorted(holding - locked)
            locked.update(new)
            holding = set(self._lock(namespace, new, keys)["holding"])
        return self._load(namespace, sorted(holding), keys)

    def load_profiles(self, namespace: str, profile_ids: Iterable[int]) -> GraphState:
        ids = sorted(set(profile_ids))
        if self._writing and ids and set(self._lock(namespace, ids, [])["live"]) != set(ids):
            raise StaleRead(f"a profile of {ids} in {namespace} was merged since it was read")
        return self._load(namespace, ids, [])

    def _lock(self, namespace: str, ids: list[int], keys: list[str]) -> dict[str, list[int]]:
        """Lock profiles: which of them are live, and which profiles hold ``keys`` now."""
        return self.run("lock_profiles", ns=namespace, ids=ids, keys=keys)[0]

    def _load(self, namespace: str, ids: list[int], keys: list[str]) -> GraphState:
        """The profiles ``ids`` as the planner sees them, with the bans naming any of their
        identifiers or of ``keys``, and the ids the plan may allocate."""
        state = GraphState()
        if ids:
            self._load_profiles(namespace, ids, state)
        if named := sorted(set(keys).union(state.identifiers)):
            state.bans = self._bans_of(namespace, named)
        size = len(keys) + 2 * (len(state.identifiers) + len(state.links)) + 16
        state.sequences = self._sequences(namespace, size * self._window)
        return state

    def _load_profiles(self, namespace: str, ids: list[int], state: GraphState) -> None:
        for row in self.run("live_profiles", ns=namespace, ids=ids):
            pid = row["id"]
            state.profiles[pid] = StoredProfile(pid, row["created_at"], bool(row["recognized"]))
            if attributes := attributes_of(row["attributes"]):
                state.attributes[pid] = attributes
        live = list(state.profiles)
        for row in self.run("members", ns=namespace, ids=live):
            key = row["key"]
            state.identifiers[key] = StoredIdentifier(
                key, row["type"], row["value"], row["profile_id"], row["created_at"]
            )
        state.links = [
            ActiveLink(row["id"], row["a"], row["b"])
            for row in self.run("active_links", ns=namespace, ids=live)
        ]

    def _sequences(self, namespace: str, size: int) -> Sequences:
        """Where a plan starts numbering: a writer's lease (one per namespace and
        transaction), or for a dry run the ids this process would give its next writer."""
        if not self._writing:
            held = self._ids.peek(namespace)
            if held is not None:
                return held
            rows = self.run("peek_ids", ns=namespace, names=list(Sequences.__dataclass_fields__))
            return Sequences(**{row["name"]: row["next"] for row in rows})
        if namespace not in self.leases:
            self.leases[namespace] = self._ids.lease(namespace, size)
        return self.leases[namespace].next

    def find_request(self, namespace: str, request_id: str) -> StoredRequest | None:
        rows = self.run("find_request", ns=namespace, request_id=request_id)
        if not rows:
            return None
        return StoredRequest(request_id, rows[0]["digest"], json.loads(rows[0]["response"]))

    def conflicts(
        self,
        namespace: str,
        *,
        since: str | None,
        after_id: int,
        limit: int,
        profiles: Collection[int] | None = None,
    ) -> list[ConflictRecord]:
        page = {"ns": namespace, "after": after_id, "since": since or "", "limit": limit}
        if profiles is None:
            rows = self.run("conflicts", **page)
        else:
            rows = self.run("conflicts_of_profiles", profiles=list(profiles), **page)
        return [
            ConflictRecord(
                id=row["id"],
                at=row["created_at"],
                request_id=row["request_id"],
                item_index=row["item_index"],
                rule=row["rule"],
                profiles=tuple(row["profiles"]),
                identifiers=tuple(map(Identifier, row["types"], row["values"])),
            )
            for row in rows
        ]

    # --- writes -------------------------------------------------------------------------------

    def apply(self, namespace: str, changes: ChangeSet) -> None:
        lease = self.leases.get(namespace)
        if lease is None:
            raise RuntimeError(f"apply to {namespace} before this transaction loaded it")
        if not lease.covers(changes.sequences):
            raise LeaseExceeded(namespace)
        lease.record(changes.sequences)
        created: set[str] = set()
        for write in change_rows(changes):
            if write.kind == "upsert_identifiers":
                created = self._upsert_identifiers(namespace, write.rows)
                continue
            rows = write.rows
            if write.kind == "create_placements":  # a new identifier's came with it
                rows = [row for row in rows if row["key"] not in created]
            if write.kind == "create_conflicts" and rows:
                first = lease.take("conflict", len(rows))
                rows = [{**row, "id": first + n} for n, row in enumerate(rows)]
            self._write(write.kind, rows, ns=namespace, **write.params)

    def settle(self, *, committed: bool) -> None:
        """Give back the ids this transaction's leases did not use (all of them, unless it
        committed)."""
        for lease in self.leases.values():
            self._ids.settle(lease, lease.used if committed else None)

    def _upsert_identifiers(self, namespace: str, rows: list[Row]) -> set[str]:
        """New identifiers are created, with their first placement; those that exist (in no
        profile: replaced, retired) come back, under the lock load_state took. Answers the
        keys created."""
        existing = self._existing.get(namespace, set())
        created = [row for row in rows if row["key"] not in existing]
        self._write("create_identifiers", created, ns=namespace)
        self._write("return_identifiers", [r for r in rows if r["key"] in existing], ns=namespace)
        return {row["key"] for row in created}

    def save_request(
        self, namespace: str, request_id: str, digest: str, response: Mapping[str, Any]
    ) -> None:
        self.run(
            "save_request", ns=namespace, **request_row(request_id, digest, utc_now(), response)
        )

    def remove_ban(self, namespace: str, ban_id: int) -> bool:
        return self.run("remove_ban", ns=namespace, id=ban_id)[0]["removed"] > 0


def attributes_of(text: str | None) -> dict[str, Attribute]:
    """A profile's attributes as the ``attributes`` property keeps them (JSON text)."""
    return attributes_from(json.loads(text)) if text else {}


def neo4j_rows(rows: Iterable[Row]) -> list[Row]:
    """Rows as a statement takes them: a map as JSON text (a property holds no map), the rest
    as it is."""
    return [
        {
            name: dump_json(value) if isinstance(value, dict) else value
            for name, value in row.items()
        }
        for row in rows
    ]


def _profile_view(row: Row) -> ProfileView:
    """A row of profile_views.cypher or profile_view_of.cypher."""
    return ProfileView(
        id=row["id"],
        recognized=bool(row["recognized"]),
        identifiers=tuple(Identifier(type_, value) for type_, value in row["identifiers"]),
        attributes={name: a.value for name, a in sorted(attributes_of(row["attributes"]).items())},
        aliases=tuple(row["aliases"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
