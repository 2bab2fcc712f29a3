"""One transaction of the SQLite store: the queries the store protocol needs, and the bulk
writes of a change set. Created by SqliteStore.read/write only."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

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
from graph.store.base import departed_from


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


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
_PROFILE_AND_ALIASES = "SELECT id FROM profiles WHERE ns = ? AND (id = ? OR merged_into = ?)"
_MEMBERS = "SELECT key FROM identifiers WHERE ns = ? AND profile_id = ?"
# identifiers in no profile any more (replaced, retired by a merge) linked to these keys
_DEPARTED = """
    SELECT key FROM identifiers WHERE ns = ?1 AND profile_id IS NULL AND key IN (
        SELECT b_key FROM links WHERE ns = ?1 AND a_key IN (SELECT value FROM json_each(?2))
        UNION SELECT a_key FROM links WHERE ns = ?1 AND b_key IN (SELECT value FROM json_each(?2)))
"""
_PURGE = [
    """DELETE FROM links WHERE ns = :ns AND (a_key IN (SELECT value FROM json_each(:keys))
       OR b_key IN (SELECT value FROM json_each(:keys)))""",
    "DELETE FROM identifiers WHERE ns = :ns AND key IN (SELECT value FROM json_each(:keys))",
    "DELETE FROM attributes WHERE ns = :ns AND profile_id IN (SELECT value FROM json_each(:ids))",
    # writes through its identifiers, and profile-level writes to it; not writes through
    # identifiers that were split off and belong to someone else now
    """DELETE FROM attribute_writes WHERE ns = :ns
       AND (via_key IN (SELECT value FROM json_each(:keys))
            OR (via_key IS NULL AND profile_id IN (SELECT value FROM json_each(:ids))))""",
    """DELETE FROM merges WHERE ns = :ns AND (survivor IN (SELECT value FROM json_each(:ids))
       OR absorbed IN (SELECT value FROM json_each(:ids)))""",
    "DELETE FROM profiles WHERE ns = :ns AND id IN (SELECT value FROM json_each(:ids))",
    """DELETE FROM conflicts WHERE ns = :ns AND EXISTS (
       SELECT 1 FROM json_each(conflicts.identifiers) AS named
       WHERE json_extract(named.value, '$[0]') || ':' || json_extract(named.value, '$[1]')
             IN (SELECT value FROM json_each(:keys)))""",
]


class SqliteTx:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def _all(self, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, parameters).fetchall()

    def _one(self, sql: str, *parameters: Any) -> tuple[Any, ...] | None:
        return self.connection.execute(sql, parameters).fetchone()

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
        ids = _dump(list(profile_ids))
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
            "types": _dump(types),
            "count": len(types),
            "limit": limit,
        }
        ids = self.connection.execute(_LIST_PROFILES, wanted).fetchall()
        return self.profile_views(namespace, [pid for (pid,) in ids])

    def load_state(self, namespace: str, keys: Iterable[str]) -> GraphState:
        touched = self._all(
            "SELECT DISTINCT profile_id FROM identifiers WHERE ns = ? "
            "AND key IN (SELECT value FROM json_each(?))",
            namespace,
            _dump(list(keys)),
        )
        return self.load_profiles(namespace, [pid for (pid,) in touched if pid is not None])

    def load_profiles(self, namespace: str, profile_ids: Iterable[int]) -> GraphState:
        state = GraphState(sequences=self._sequences())
        ids = _dump(list(profile_ids))
        if ids == "[]":
            return state
        for pid, created_at, recognized in self._all(
            "SELECT id, created_at, recognized FROM profiles "
            "WHERE id IN (SELECT value FROM json_each(?)) AND ns = ? AND merged_into IS NULL",
            ids,
            namespace,
        ):
            state.profiles[pid] = StoredProfile(pid, created_at, bool(recognized))
        for key, type_, value, pid, created_at in self._all(
            "SELECT key, type, value, profile_id, created_at FROM identifiers "
            "WHERE ns = ? AND profile_id IN (SELECT value FROM json_each(?))",
            namespace,
            ids,
        ):
            state.identifiers[key] = StoredIdentifier(key, type_, value, pid, created_at)
        state.links = [
            ActiveLink(link_id, a, b)
            for link_id, a, b in self._all(
                "SELECT id, a_key, b_key FROM links WHERE ns = ? AND ended_at IS NULL AND a_key IN "
                "(SELECT key FROM identifiers WHERE ns = ? "
                "AND profile_id IN (SELECT value FROM json_each(?)))",
                namespace,
                namespace,
                ids,
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

    def _sequences(self) -> Sequences:
        return Sequences(**dict(self._all("SELECT name, next FROM sequences")))

    def find_request(self, namespace: str, request_id: str) -> StoredRequest | None:
        row = self._one(
            "SELECT digest, response FROM requests WHERE ns = ? AND request_id = ?",
            namespace,
            request_id,
        )
        return StoredRequest(request_id, row[0], json.loads(row[1])) if row else None

    def conflicts(
        self, namespace: str, *, since: str | None, after_id: int, limit: int
    ) -> list[ConflictRecord]:
        rows = self._all(
            "SELECT id, created_at, request_id, item_index, rule, profiles, identifiers "
            "FROM conflicts WHERE ns = ? AND id > ? AND created_at >= ? ORDER BY id LIMIT ?",
            namespace,
            after_id,
            since or "",
            limit,
        )
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

    # --- writes -------------------------------------------------------------------------------

    def apply(self, namespace: str, changes: ChangeSet) -> None:
        p = changes.provenance
        ns = namespace
        run = self.connection.executemany
        run(
            "INSERT INTO profiles (id, ns, created_at, updated_at, recognized, parent_id, "
            "request_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(r.id, ns, r.created_at, r.updated_at, r.recognized, r.parent_id, p.request_id)
             for r in changes.new_profiles],
        )  # fmt: skip
        run(
            "UPDATE profiles SET updated_at = ?, recognized = ? WHERE id = ? AND ns = ?",
            [(r.updated_at, r.recognized, r.id, ns) for r in changes.updated_profiles],
        )
        run(
            "INSERT INTO identifiers (ns, key, type, value, profile_id, created_at, request_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "  # one that left every profile (replaced) comes back
            "ON CONFLICT (ns, key) DO UPDATE SET profile_id = excluded.profile_id",
            [(ns, i.key, i.type, i.value, i.profile_id, p.at, p.request_id)
             for i in changes.new_identifiers],
        )  # fmt: skip
        run(
            "UPDATE identifiers SET profile_id = ? WHERE ns = ? AND key = ?",
            [(pid, ns, key) for key, pid in changes.relabels],
        )
        run(
            "INSERT INTO links (id, ns, a_key, b_key, operation, source, request_id, item_index, "
            "merge_id, created_at, ended_at, end_reason, ended_request_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(link.id, ns, link.a, link.b, p.operation, p.source, p.request_id, link.item_index,
              link.merge_id, p.at, p.at if link.ended_reason else None, link.ended_reason,
              p.request_id if link.ended_reason else None)
             for link in changes.new_links],
        )  # fmt: skip
        run(
            "UPDATE links SET ended_at = ?, end_reason = ?, ended_request_id = ? "
            "WHERE id = ? AND ns = ? AND ended_at IS NULL",
            [(p.at, reason, p.request_id, link_id, ns) for link_id, reason in changes.ended_links],
        )
        self._apply_merges(ns, changes)
        self._apply_attributes(ns, changes)
        run(
            "INSERT INTO conflicts (ns, created_at, request_id, item_index, rule, profiles, "
            "identifiers) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(ns, p.at, p.request_id, c.item_index, c.rule, _dump(c.profiles),
              _dump([[i.type, i.value] for i in c.identifiers]))
             for c in changes.conflicts],
        )  # fmt: skip
        s = changes.sequences
        run(
            "UPDATE sequences SET next = max(next, ?) WHERE name = ?",
            [(s.profile, "profile"), (s.link, "link"), (s.merge, "merge")],
        )

    def _apply_merges(self, ns: str, changes: ChangeSet) -> None:
        p = changes.provenance
        merges = changes.merges
        if not merges:
            return
        self.connection.executemany(
            "INSERT INTO merges (id, ns, survivor, absorbed, request_id, item_index, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(m.id, ns, m.survivor, m.absorbed, p.request_id, m.item_index, p.at) for m in merges],
        )
        # In merge order, so that chains within one request flatten: aliases always point
        # at a live profile.
        self.connection.executemany(
            "UPDATE profiles SET merged_into = ?, updated_at = ? WHERE id = ? AND ns = ?",
            [(m.survivor, p.at, m.absorbed, ns) for m in merges],
        )
        self.connection.executemany(
            "UPDATE profiles SET merged_into = ? WHERE merged_into = ? AND ns = ?",
            [(m.survivor, m.absorbed, ns) for m in merges],
        )

    def _apply_attributes(self, ns: str, changes: ChangeSet) -> None:
        p = changes.provenance
        self.connection.executemany(
            "DELETE FROM attributes WHERE ns = ? AND profile_id = ?",
            [(ns, pid) for pid in changes.attributes],
        )
        self.connection.executemany(
            "INSERT INTO attributes (ns, profile_id, name, value, via_key, request_id, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(ns, pid, name, _dump(a.value), a.via, a.request_id, a.at)
             for pid, attributes in changes.attributes.items()
             for name, a in attributes.items()],
        )  # fmt: skip
        self.connection.executemany(
            "INSERT INTO attribute_writes (ns, profile_id, via_key, name, value, operation, "
            "source, request_id, written_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(ns, w.profile_id, w.via, w.name, None if w.value is None else _dump(w.value),
              p.operation, p.source, p.request_id, p.at)
             for w in changes.attribute_writes],
        )  # fmt: skip

    def purge_profile(self, namespace: str, profile_id: int) -> int:
        """Erase a live profile, its aliases, its identifiers (and those that left it by a
        replacement or a merge), every link touching them, its attributes, their history, its
        merges and the conflicts naming its identifiers. Returns the identifiers erased."""
        ns = namespace
        ids = [pid for (pid,) in self._all(_PROFILE_AND_ALIASES, ns, profile_id, profile_id)]
        members = [key for (key,) in self._all(_MEMBERS, ns, profile_id)]
        departed = departed_from(
            members, lambda keys: [key for (key,) in self._all(_DEPARTED, ns, _dump(keys))]
        )
        erase = {"ns": ns, "ids": _dump(ids), "keys": _dump(members + departed)}
        for statement in _PURGE:
            self.connection.execute(statement, erase)
        return len(members) + len(departed)

    def save_request(
        self, namespace: str, request_id: str, digest: str, response: Mapping[str, Any]
    ) -> None:
        self.connection.execute(
            "INSERT INTO requests (ns, request_id, digest, created_at, response) "
            "VALUES (?, ?, ?, ?, ?)",
            (namespace, request_id, digest, utc_now(), _dump(response)),
        )
