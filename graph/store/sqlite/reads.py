"""The SQLite store's reads of the present: profiles and their views, the state a plan is
decided on (with the next free ids of its namespace), replays and refused links. Mixed into
SqliteTx."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import fields
from typing import Any

from graph.model import (
    ActiveLink,
    Attribute,
    Ban,
    ConflictRecord,
    GraphState,
    Identifier,
    ProfileView,
    Sequences,
    StoredIdentifier,
    StoredProfile,
    StoredRequest,
)
from graph.store.sqlite.sql import BAN_COLUMNS, Sql, either_end, json_array

# live profiles of a namespace in id order, holding an identifier of every type asked for
# (none asked: no identifier is looked at), last updated in [from, before)
_LIST_PROFILES = """
    SELECT id FROM profiles AS p
    WHERE ns = :ns AND merged_into IS NULL AND id > :after
      AND updated_at >= :from AND updated_at < :before
      AND (:count = 0 OR :count = (
          SELECT count(DISTINCT type) FROM identifiers
          WHERE ns = p.ns AND profile_id = p.id AND type IN (SELECT value FROM json_each(:types))))
    ORDER BY id LIMIT :limit
"""
# the live profile holding an identifier, with its identifiers, attributes and aliases: a
# lookup's whole read in one statement where it took five, 0.21 -> 0.14 ms in process
# (benchmarks/README.md, "The lean path"). The sort keys come along, and Python sorts: the
# order of an aggregate over an ordered subquery is not promised.
_PROFILE_VIEW_OF = """
    SELECT p.id, p.recognized, p.created_at, p.updated_at,
      (SELECT json_group_array(json_array(created_at, key, type, value)) FROM identifiers
       WHERE ns = p.ns AND profile_id = p.id),
      (SELECT json_group_array(json_array(name, value)) FROM attributes
       WHERE ns = p.ns AND profile_id = p.id),
      (SELECT json_group_array(id) FROM profiles WHERE ns = p.ns AND merged_into = p.id)
    FROM identifiers AS i JOIN profiles AS p ON p.ns = i.ns AND p.id = i.profile_id
    WHERE i.ns = ? AND i.key = ? AND p.merged_into IS NULL
"""
_BANS_OF_KEYS = either_end("bans", BAN_COLUMNS, "a_key", "b_key")
# refused links of a namespace by id
_CONFLICTS = """
    SELECT id, created_at, request_id, item_index, rule, profiles, identifiers FROM conflicts
    WHERE ns = :ns AND id > :after AND created_at >= :since
    ORDER BY id LIMIT :limit
"""
# those naming one of a JSON array of profile ids, found by conflict_profiles (migration 6):
# the CROSS JOIN keeps SQLite from reading the namespace's refusals in id order and testing
# each, which it may otherwise choose when :after is low
_CONFLICTS_NAMING = """
    SELECT c.id, c.created_at, c.request_id, c.item_index, c.rule, c.profiles, c.identifiers
    FROM (
        SELECT DISTINCT conflict_id FROM conflict_profiles
        WHERE ns = :ns AND profile_id IN (SELECT value FROM json_each(:profiles))
          AND conflict_id > :after
    ) AS named
    CROSS JOIN conflicts AS c ON c.ns = :ns AND c.id = named.conflict_id
    WHERE c.created_at >= :since
    ORDER BY c.id LIMIT :limit
"""
# the next free id of each kind of a namespace: its own sequence, or before its first write
# made one, the floor (ns '') where that write starts it
_NEXT_IDS = """
    SELECT floor.name, coalesce(own.next, floor.next) FROM sequences AS floor
    LEFT JOIN sequences AS own ON own.ns = ?1 AND own.name = floor.name
    WHERE floor.ns = ''
"""
_PLANNED = tuple(kind.name for kind in fields(Sequences))  # the kinds a plan numbers itself


class ProfileReads(Sql):
    """The present half of the read protocol (graph/store/base.py)."""

    # --- reads --------------------------------------------------------------------------------

    def resolve_profile(self, namespace: str, profile_id: int) -> int | None:
        row = self._one(
            "SELECT merged_into FROM profiles WHERE id = ? AND ns = ?", profile_id, namespace
        )
        if row is None:
            return None
        return row[0] if row[0] is not None else profile_id

    def profile_of(self, namespace: str, key: str) -> int | None:
        row = self._one(
            "SELECT profile_id FROM identifiers WHERE ns = ? AND key = ?", namespace, key
        )
        return row[0] if row else None

    def profile_view(self, namespace: str, profile_id: int) -> ProfileView | None:
        views = self.profile_views(namespace, [profile_id])
        return views[0] if views else None

    def profile_views(self, namespace: str, profile_ids: Iterable[int]) -> list[ProfileView]:
        ids = json_array(profile_ids)
        identifiers: dict[int, list[Identifier]] = {}
        for pid, type_, value in self._all(
            "SELECT profile_id, type, value FROM identifiers WHERE ns = ? "
            "AND profile_id IN (SELECT value FROM json_each(?)) ORDER BY created_at, key",
            namespace,
            ids,
        ):
            identifiers.setdefault(pid, []).append(Identifier(type_, value))
        attributes: dict[int, dict[str, Any]] = {}
        for pid, name, value in self._all(
            "SELECT profile_id, name, value FROM attributes WHERE ns = ? "
            "AND profile_id IN (SELECT value FROM json_each(?)) ORDER BY name",
            namespace,
            ids,
        ):
            attributes.setdefault(pid, {})[name] = json.loads(value)
        aliases: dict[int, list[int]] = {}
        for alias, pid in self._all(
            "SELECT id, merged_into FROM profiles WHERE ns = ? "
            "AND merged_into IN (SELECT value FROM json_each(?)) ORDER BY id",
            namespace,
            ids,
        ):
            aliases.setdefault(pid, []).append(alias)
        return [
            ProfileView(
                id=pid,
                recognized=bool(recognized),
                identifiers=tuple(identifiers.get(pid, ())),
                attributes=attributes.get(pid, {}),
                aliases=tuple(aliases.get(pid, ())),
                created_at=created_at,
                updated_at=updated_at,
            )
            for pid, recognized, created_at, updated_at in self._all(
                "SELECT id, recognized, created_at, updated_at FROM profiles WHERE ns = ? "
                "AND id IN (SELECT value FROM json_each(?)) AND merged_into IS NULL ORDER BY id",
                namespace,
                ids,
            )
        ]

    def profile_view_of(self, namespace: str, key: str) -> ProfileView | None:
        row = self._one(_PROFILE_VIEW_OF, namespace, key)
        if row is None:
            return None
        pid, recognized, created_at, updated_at, identifiers, attributes, aliases = row
        return ProfileView(
            id=pid,
            recognized=bool(recognized),
            identifiers=tuple(
                Identifier(type_, value) for _, _, type_, value in sorted(json.loads(identifiers))
            ),
            attributes={name: json.loads(value) for name, value in sorted(json.loads(attributes))},
            aliases=tuple(sorted(json.loads(aliases))),
            created_at=created_at,
            updated_at=updated_at,
        )

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
        types = sorted(set(having))
        wanted = {
            "ns": namespace,
            "after": after_id,
            "from": updated_from or "",
            "before": updated_before or "\uffff",
            "types": json_array(types),
            "count": len(types),
            "limit": limit,
        }
        ids = self.connection.execute(_LIST_PROFILES, wanted).fetchall()
        return self.profile_views(namespace, [pid for (pid,) in ids])

    def load_state(self, namespace: str, keys: Iterable[str]) -> GraphState:
        keys = list(keys)
        touched = self._all(
            "SELECT DISTINCT profile_id FROM identifiers WHERE ns = ? "
            "AND key IN (SELECT value FROM json_each(?))",
            namespace,
            json_array(keys),
        )
        state = self._load(namespace, [pid for (pid,) in touched if pid is not None])
        state.bans = self._bans_of(namespace, sorted(set(keys).union(state.identifiers)))
        return state

    def load_profiles(self, namespace: str, profile_ids: Iterable[int]) -> GraphState:
        state = self._load(namespace, profile_ids)
        state.bans = self._bans_of(namespace, list(state.identifiers))
        return state

    def _load(self, namespace: str, profile_ids: Iterable[int]) -> GraphState:
        state = GraphState(sequences=self._sequences(namespace))
        ids = json_array(profile_ids)
        if ids == "[]":
            return state
        for pid, created_at, recognized in self._all(
            "SELECT id, created_at, recognized FROM profiles "
            "WHERE id IN (SELECT value FROM json_each(?)) AND ns = ? AND merged_into IS NULL",
            ids,
            namespace,
        ):
            state.profiles[pid] = StoredProfile(pid, created_at, bool(recognized))
        members = []  # their ids, which the link indexes are on
        for key, type_, value, pid, created_at, member in self._all(
            "SELECT key, type, value, profile_id, created_at, id FROM identifiers "
            "WHERE ns = ? AND profile_id IN (SELECT value FROM json_each(?))",
            namespace,
            ids,
        ):
            state.identifiers[key] = StoredIdentifier(key, type_, value, pid, created_at)
            members.append(member)
        state.links = [
            ActiveLink(link_id, a, b)
            for link_id, a, b in self._all(
                "SELECT id, a_key, b_key FROM links WHERE ns = ? AND ended_at IS NULL "
                "AND a_id IN (SELECT value FROM json_each(?))",
                namespace,
                json_array(members),
            )
        ]
        for pid, name, value, via, request_id, updated_at in self._all(
            "SELECT profile_id, name, value, via_key, request_id, updated_at FROM attributes "
            "WHERE ns = ? AND profile_id IN (SELECT value FROM json_each(?))",
            namespace,
            ids,
        ):
            attribute = Attribute(json.loads(value), via, updated_at, request_id)
            state.attributes.setdefault(pid, {})[name] = attribute
        return state

    def _bans_of(self, namespace: str, keys: list[str]) -> list[Ban]:
        if self._one("SELECT 1 FROM bans WHERE ns = ? LIMIT 1", namespace) is None:
            return []  # most namespaces have none: skip looking up every key (5 ms for 3,000)
        return [Ban(*row) for row in self._all(_BANS_OF_KEYS, namespace, json_array(keys))]

    def _sequences(self, namespace: str) -> Sequences:
        ids = next_ids(self.connection, namespace)
        return Sequences(**{kind: ids[kind] for kind in _PLANNED})

    # --- history ------------------------------------------------------------------------------
    def find_request(self, namespace: str, request_id: str) -> StoredRequest | None:
        row = self._one(
            "SELECT digest, response FROM requests WHERE ns = ? AND request_id = ?",
            namespace,
            request_id,
        )
        return StoredRequest(request_id, row[0], json.loads(row[1])) if row else None

    def conflicts(
        self,
        namespace: str,
        *,
        since: str | None,
        after_id: int,
        limit: int,
        profiles: Collection[int] | None = None,
    ) -> list[ConflictRecord]:
        wanted = {"ns": namespace, "after": after_id, "since": since or "", "limit": limit}
        if profiles is None:
            rows = self.connection.execute(_CONFLICTS, wanted).fetchall()
        else:
            wanted["profiles"] = json_array(profiles)
            rows = self.connection.execute(_CONFLICTS_NAMING, wanted).fetchall()
        return [
            ConflictRecord(
                id=row[0],
                at=row[1],
                request_id=row[2],
                item_index=row[3],
                rule=row[4],
                profiles=tuple(json.loads(row[5])),
                identifiers=tuple(Identifier(t, v) for t, v in json.loads(row[6])),
            )
            for row in rows
        ]


def next_ids(connection: sqlite3.Connection, namespace: str) -> dict[str, int]:
    """The next free id of each kind of a namespace (profile, link, merge, ban, conflict,
    purge): ids are counted per namespace, so one namespace's show nothing of another's."""
    return dict(connection.execute(_NEXT_IDS, (namespace,)).fetchall())
