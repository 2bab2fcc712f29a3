"""The Neo4j store: the store protocol (base.py) on Neo4j 5 through the official driver.

The model is drawn at the top of cypher/schema.cypher. Every statement is a file under
cypher/store/, read once when the store opens (a missing file fails start-up, not a request),
and every batch is one ``UNWIND $rows`` statement per kind of change.

Transactions are the driver's managed ones (``execute_read``/``execute_write``), one per
request, retried by the driver on transient errors; ``work`` may therefore run more than once,
which the store protocol allows. Every write transaction first takes the one WriteLock node
(cypher/store/take_write_lock.cypher), so writers take turns as they do on SQLite: the planner
reads the profiles a batch touches and the next free ids, and both must hold until commit.
Locking only the touched profiles would let writers of unrelated profiles overlap, but new
identifiers and new ids would then need locks of their own; measure before choosing that.

Profile attributes are one JSON property on the profile; ids are integers from Sequence
nodes shared by all namespaces, as on SQLite. Element ids are never stored. Besides the rows
themselves, every change set writes the history time travel reads (Placement and
AttributeVersion nodes); the reads of history are in neo4j_history.py.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import neo4j
from neo4j.exceptions import ConstraintError, DriverError, Neo4jError

from graph.errors import StoreError
from graph.items import mentioned_in
from graph.model import (
    ActiveLink,
    Attribute,
    ChangeSet,
    ConflictRecord,
    GraphState,
    Identifier,
    MergeRow,
    ProfileView,
    Sequences,
    StoredIdentifier,
    StoredProfile,
    StoredRequest,
    utc_now,
)
from graph.store import NEO4J_SCHEMES
from graph.store.base import values_of
from graph.store.cypher_files import CYPHER_DIR, Statement, load_statements, split_script
from graph.store.neo4j_history import HistoryReads
from graph.store.neo4j_keys import STATEMENTS as KEY_STATEMENTS
from graph.store.neo4j_keys import ApiKeyRows
from graph.store.neo4j_purge import STATEMENTS as PURGE_STATEMENTS
from graph.store.neo4j_purge import PurgeRows

T = TypeVar("T")

STATEMENTS = (
    "take_write_lock",
    "resolve_profile",
    "profile_of",
    "live_profiles",
    "members",
    "aliases",
    "list_profiles",
    "touched_profiles",
    "active_links",
    "sequences",
    "find_request",
    "conflicts",
    "create_profiles",
    "update_profiles",
    "upsert_identifiers",
    "move_identifiers",
    "create_links",
    "end_links",
    "merge_profiles",
    "repoint_aliases",
    "set_attributes",
    "create_attribute_writes",
    "create_conflicts",
    "advance_sequences",
    "save_request",
    "identifiers_page",
    "links_page",
    # history: lineage, explain, undo, time travel, bans (graph/store/neo4j_history.py)
    "profile_record",
    "identifiers",
    "members_page",
    "members_at",
    "placed_at",
    "link",
    "links_touching",
    "links_ended_by",
    "merge_record",
    "merges_of",
    "attribute_history",
    "attributes_at",
    "bans_page",
    "bans_of_key",
    "bans_naming",
    "create_placements",
    "undo_merges",
    "set_merged_into",
    "create_attribute_versions",
    "create_bans",
    "remove_ban",
)
_PAGE = 5000
# On Neo4j the write lock makes a uniqueness race impossible. A server with optimistic
# transactions (ArcadeDB) lets two writers run and fails the later one at commit: with a
# transient error, which the driver retries, or with a uniqueness violation on the ids both
# planned, which is retried here. A real violation still surfaces after these attempts.
_RACE_RETRIES = 10


class Neo4jStore:
    def __init__(
        self,
        uri: str,
        *,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        cypher_dir: Path | None = None,
        initialize: bool = True,
    ) -> None:
        """Connect, and unless ``initialize`` is false (a reader without schema rights, as
        `idgraph cypher` may be) create the constraints, indexes and seed nodes."""
        parts = urlsplit(uri)
        if parts.scheme not in NEO4J_SCHEMES or not parts.hostname:
            raise StoreError(
                f"not a Neo4j store URL: {uri!r} (expected neo4j://host:7687 or bolt://host:7687)"
            )
        folder = CYPHER_DIR if cypher_dir is None else cypher_dir
        self.statements = load_statements(
            folder / "store", STATEMENTS + KEY_STATEMENTS + PURGE_STATEMENTS
        )
        self.schema = split_script((folder / "schema.cypher").read_text(encoding="utf-8"))
        self.url = uri
        self.database = database or "neo4j"
        auth = (user or "neo4j", password) if password is not None else None
        try:
            self.driver = neo4j.GraphDatabase.driver(uri, auth=auth)
            self.driver.verify_connectivity()
            if initialize:
                self.initialize()
        except (Neo4jError, DriverError, OSError) as error:
            self.close()
            raise StoreError(f"cannot open Neo4j store {uri}: {error}") from error

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Neo4jStore:
        return cls(url, **options)

    def initialize(self) -> None:
        """Constraints, indexes and the sequence and lock nodes; every statement is idempotent
        and runs in its own transaction (Neo4j keeps schema and data changes apart)."""
        for text in self.schema:
            self._session_run(neo4j.WRITE_ACCESS, lambda tx, text=text: tx.run(text).consume())

    # --- transactions -------------------------------------------------------------------------

    def read(self, work: Callable[[Neo4jTx], T]) -> T:
        return self._session_run(neo4j.READ_ACCESS, lambda tx: work(Neo4jTx(tx, self.statements)))

    def write(self, work: Callable[[Neo4jTx], T]) -> T:
        def locked(tx: neo4j.ManagedTransaction) -> T:
            unit = Neo4jTx(tx, self.statements)
            unit.run("take_write_lock")
            return work(unit)

        for attempt in range(_RACE_RETRIES):
            try:
                return self._session_run(neo4j.WRITE_ACCESS, locked)
            except StoreError as error:
                if not isinstance(error.__cause__, ConstraintError):
                    raise
                if attempt == _RACE_RETRIES - 1:
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))  # jitter: losers spread out
        raise AssertionError("unreachable")

    def run(self, statement: Statement, *, write: bool = False, **parameters: Any) -> list[dict]:
        """One statement in its own transaction, its rows as dicts (analytics, tests)."""
        bound = statement.bind(parameters)
        mode = neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS
        return self._session_run(mode, lambda tx: tx.run(statement.text, bound).data())

    def _session_run(self, mode: str, unit: Callable[[neo4j.ManagedTransaction], T]) -> T:
        try:
            with self.driver.session(database=self.database, default_access_mode=mode) as s:
                if mode == neo4j.WRITE_ACCESS:
                    return s.execute_write(unit)
                return s.execute_read(unit)
        except (Neo4jError, DriverError) as error:
            raise StoreError(f"Neo4j: {error}") from error

    # --- streaming reads for exports and checks -------------------------------------------------

    def iter_identifiers(self, namespace: str) -> Iterator[tuple[str, str, str, int | None]]:
        for row in self._pages("identifiers_page", "key", "", ns=namespace):
            yield row["key"], row["type"], row["value"], row["profile_id"]

    def iter_links(self, namespace: str, *, active_only: bool = False) -> Iterator[dict[str, Any]]:
        yield from self._pages("links_page", "id", 0, ns=namespace, active_only=active_only)

    def _pages(self, name: str, order: str, start: Any, **parameters: Any) -> Iterator[dict]:
        """Page by the ordering column, each page its own read transaction: a long export holds
        no transaction open."""
        after = start
        while True:
            rows = self.run(self.statements[name], after=after, limit=_PAGE, **parameters)
            yield from rows
            if len(rows) < _PAGE:
                return
            after = rows[-1][order]

    def ping(self) -> None:
        try:
            self.driver.verify_connectivity()
        except (Neo4jError, DriverError, OSError) as error:
            raise StoreError(f"Neo4j: {error}") from error

    def close(self) -> None:
        driver = getattr(self, "driver", None)
        if driver is not None:
            driver.close()


class Neo4jTx(HistoryReads, ApiKeyRows, PurgeRows):
    """One managed transaction: the protocol's reads and the bulk writes of a change set."""

    def __init__(self, tx: neo4j.ManagedTransaction, statements: Mapping[str, Statement]) -> None:
        self.tx = tx
        self.statements = statements

    def run(self, name: str, **parameters: Any) -> list[dict[str, Any]]:
        statement = self.statements[name]
        return self.tx.run(statement.text, statement.bind(parameters)).data()

    def _write(self, name: str, rows: list[dict[str, Any]], **parameters: Any) -> None:
        if rows:
            self.run(name, rows=rows, **parameters)

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
        ids = list(profile_ids)
        profiles = self.run("live_profiles", ns=namespace, ids=ids)
        if not profiles:
            return []
        live = [row["id"] for row in profiles]
        identifiers: dict[int, list[Identifier]] = {}
        for row in self.run("members", ns=namespace, ids=live):
            identifiers.setdefault(row["profile_id"], []).append(
                Identifier(row["type"], row["value"])
            )
        aliases: dict[int, list[int]] = {}
        for row in self.run("aliases", ns=namespace, ids=live):
            aliases.setdefault(row["merged_into"], []).append(row["id"])
        return [
            ProfileView(
                id=row["id"],
                recognized=bool(row["recognized"]),
                identifiers=tuple(identifiers.get(row["id"], ())),
                attributes={
                    name: a.value for name, a in sorted(attributes_of(row["attributes"]).items())
                },
                aliases=tuple(aliases.get(row["id"], ())),
                created_at=row["created_at"],
                updated_at=row["updated_at"],
            )
            for row in profiles
        ]

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
        keys = list(keys)
        rows = self.run("touched_profiles", ns=namespace, keys=keys)
        return self._load(namespace, [row["profile_id"] for row in rows], keys)

    def load_profiles(self, namespace: str, profile_ids: Iterable[int]) -> GraphState:
        return self._load(namespace, list(profile_ids), [])

    def _load(self, namespace: str, ids: list[int], keys: list[str]) -> GraphState:
        """The profiles ``ids`` as the planner sees them, with the bans naming any of their
        identifiers or of ``keys``."""
        state = GraphState(sequences=self._sequences())
        if ids:
            self._load_profiles(namespace, ids, state)
        if named := sorted(set(keys).union(state.identifiers)):
            state.bans = self._bans_of(namespace, named)
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

    def _sequences(self) -> Sequences:
        known = {"profile", "link", "merge", "ban"}
        return Sequences(
            **{row["name"]: row["next"] for row in self.run("sequences") if row["name"] in known}
        )

    def find_request(self, namespace: str, request_id: str) -> StoredRequest | None:
        rows = self.run("find_request", ns=namespace, request_id=request_id)
        if not rows:
            return None
        return StoredRequest(request_id, rows[0]["digest"], json.loads(rows[0]["response"]))

    def conflicts(
        self, namespace: str, *, since: str | None, after_id: int, limit: int
    ) -> list[ConflictRecord]:
        rows = self.run("conflicts", ns=namespace, after=after_id, since=since or "", limit=limit)
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
        for name, rows, parameters in change_rows(changes):
            self._write(name, rows, ns=namespace, **parameters)
        s = changes.sequences
        self.run(
            "advance_sequences",
            rows=[
                {"name": "profile", "next": s.profile},
                {"name": "link", "next": s.link},
                {"name": "merge", "next": s.merge},
                {"name": "ban", "next": s.ban},
            ],
        )

    def save_request(
        self, namespace: str, request_id: str, digest: str, response: Mapping[str, Any]
    ) -> None:
        profiles, keys = mentioned_in(response)
        self.run(
            "save_request",
            ns=namespace,
            request_id=request_id,
            digest=digest,
            at=utc_now(),
            response=_dump(response),
            profiles=profiles,
            keys=keys,
        )

    def remove_ban(self, namespace: str, ban_id: int) -> bool:
        return self.run("remove_ban", ns=namespace, id=ban_id)[0]["removed"] > 0


# --- pure parts: change sets to rows, stored text to values -------------------------------------


def change_rows(changes: ChangeSet) -> list[tuple[str, list[dict[str, Any]], dict[str, Any]]]:
    """The statements that write a change set, in order, each with its rows and its other
    parameters (besides the namespace). Sequences are advanced separately. Besides the rows
    themselves: a placement for every identifier put in a profile (or in none), a version of
    every attribute map replaced, both at the provenance's instant."""
    p = changes.provenance
    at, rid = p.at, p.request_id
    new_profiles = [
        {"id": r.id, "created_at": r.created_at, "updated_at": r.updated_at,
         "recognized": r.recognized, "parent_id": r.parent_id, "request_id": rid}
        for r in changes.new_profiles
    ]  # fmt: skip
    placed = [{"key": i.key, "profile_id": i.profile_id} for i in changes.new_identifiers]
    placed += [{"key": key, "profile_id": pid} for key, pid in changes.relabels]
    links = [
        {"id": link.id, "a": link.a, "b": link.b, "operation": p.operation, "source": p.source,
         "request_id": rid, "item_index": link.item_index, "merge_id": link.merge_id,
         "created_at": at, "ended_at": at if link.ended_reason else None,
         "end_reason": link.ended_reason, "ended_request_id": rid if link.ended_reason else None}
        for link in changes.new_links
    ]  # fmt: skip
    merges = merge_rows(changes.merges)
    bans = [
        {"id": b.id, "a_key": b.a, "b_key": b.b, "b_type": b.b_type, "reason": b.reason,
         "created_by": b.created_by, "created_at": b.created_at, "link_id": b.link_id}
        for b in changes.new_bans
    ]  # fmt: skip
    conflicts = [
        {"item_index": c.item_index, "rule": c.rule, "profiles": list(c.profiles),
         "types": [i.type for i in c.identifiers], "values": [i.value for i in c.identifiers],
         "keys": [i.key for i in c.identifiers]}
        for c in changes.conflicts
    ]  # fmt: skip
    return [
        ("create_profiles", new_profiles, {}),
        (
            "update_profiles",
            [
                {"id": r.id, "updated_at": r.updated_at, "recognized": r.recognized}
                for r in changes.updated_profiles
            ],
            {},
        ),  # fmt: skip
        (
            "upsert_identifiers",
            [
                {
                    "key": i.key,
                    "type": i.type,
                    "value": i.value,
                    "created_at": at,
                    "request_id": rid,
                }
                for i in changes.new_identifiers
            ],
            {},
        ),  # fmt: skip
        ("move_identifiers", placed, {}),
        ("create_links", links, {}),
        (
            "end_links",
            [{"id": link_id, "reason": reason} for link_id, reason in changes.ended_links],
            {"at": at, "request_id": rid},
        ),
        ("create_placements", placed, {"at": at, "request_id": rid}),
        ("merge_profiles", merges, {"at": at, "request_id": rid}),
        ("repoint_aliases", [{"absorbed": m["absorbed"], "live": m["live"]} for m in merges], {}),
        (
            "undo_merges",
            [{"id": merge_id} for merge_id in changes.undone_merges],
            {"at": at, "request_id": rid},
        ),
        (
            "set_merged_into",
            [{"id": pid, "merged_into": None} for pid in changes.restored]
            + [{"id": alias, "merged_into": live} for alias, live in changes.repointed],
            {},
        ),
        (
            "set_attributes",
            [
                {"id": pid, "attributes": dump_attributes(attributes)}
                for pid, attributes in changes.attributes.items()
            ],
            {},
        ),  # fmt: skip
        (
            "create_attribute_versions",
            [
                {"profile_id": pid, "attributes": _dump(values_of(attributes))}
                for pid, attributes in changes.attributes.items()
            ],
            {"at": at, "request_id": rid},
        ),
        (
            "create_attribute_writes",
            [
                {
                    "profile_id": w.profile_id,
                    "via_key": w.via,
                    "name": w.name,
                    "value": None if w.value is None else _dump(w.value),
                    "position": position,
                }
                for position, w in enumerate(changes.attribute_writes)
            ],
            {"operation": p.operation, "source": p.source, "request_id": rid, "at": at},
        ),  # fmt: skip
        ("create_conflicts", conflicts, {"request_id": rid, "at": at}),
        ("create_bans", bans, {"request_id": rid}),
    ]


def merge_rows(merges: list[MergeRow]) -> list[dict[str, Any]]:
    """Merge rows with the live survivor of each absorbed profile: within one batch A may be
    absorbed by B and B later by C, and an alias always names a live profile (C)."""
    absorbed_by = {m.absorbed: m.survivor for m in merges}

    def live(pid: int) -> int:
        while pid in absorbed_by:
            pid = absorbed_by[pid]
        return pid

    return [
        {"id": m.id, "absorbed": m.absorbed, "survivor": m.survivor, "live": live(m.survivor),
         "item_index": m.item_index, "survivor_key": m.survivor_key,
         "absorbed_key": m.absorbed_key}
        for m in merges
    ]  # fmt: skip


def dump_attributes(attributes: Mapping[str, Attribute]) -> str:
    return _dump(
        {name: {"value": a.value, "via": a.via, "at": a.at, "request_id": a.request_id}
         for name, a in sorted(attributes.items())}
    )  # fmt: skip


def attributes_of(text: str | None) -> dict[str, Attribute]:
    if not text:
        return {}
    return {
        name: Attribute(stored["value"], stored["via"], stored["at"], stored["request_id"])
        for name, stored in json.loads(text).items()
    }


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
