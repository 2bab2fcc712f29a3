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
    Sequences,
    StoredIdentifier,
    StoredProfile,
    StoredRequest,
    utc_now,
)
from graph.store.base import values_of
from graph.store.sqlite_keys import ApiKeyRows
from graph.store.sqlite_purge import PurgeRows


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
_LINK_COLUMNS = (
    "id, a_key, b_key, operation, source, request_id, item_index, merge_id, created_at, "
    "ended_at, end_reason, ended_request_id"
)
_MERGE_COLUMNS = (
    "id, survivor, absorbed, request_id, item_index, created_at, survivor_key, absorbed_key, "
    "undone_at, undone_request_id"
)
_BAN_COLUMNS = "id, a_key, b_key, b_type, reason, created_by, created_at, link_id"
# An identifier's placements: the profile it is in from an instant on. An identifier that
# never changed profile has none: it has been in its current profile since its creation (a new
# identifier writes no placement, the write path's most frequent row). The first change of
# profile first writes that creation placement, from the row as it still is (_PLACE_CREATION).
_UNPLACED = "NOT EXISTS (SELECT 1 FROM placements AS p WHERE p.ns = i.ns AND p.key = i.key)"
# the identifiers whose latest placement at or before :at is the profile
_MEMBERS_AT = f"""
    SELECT i.key, i.type, i.value, p.profile_id, i.created_at
    FROM placements AS p JOIN identifiers AS i ON i.ns = p.ns AND i.key = p.key
    WHERE p.ns = :ns AND p.profile_id = :id AND p.at <= :at AND p.key > :after
      AND NOT EXISTS (SELECT 1 FROM placements AS later WHERE later.ns = p.ns
                      AND later.key = p.key AND later.at > p.at AND later.at <= :at)
    UNION ALL
    SELECT i.key, i.type, i.value, i.profile_id, i.created_at FROM identifiers AS i
    WHERE i.ns = :ns AND i.profile_id = :id AND i.created_at <= :at AND i.key > :after
      AND {_UNPLACED}
    ORDER BY 1 LIMIT :limit
"""
_PLACED_AT = f"""
    SELECT p.key, p.profile_id FROM placements AS p
    WHERE p.ns = :ns AND p.key IN (SELECT value FROM json_each(:keys)) AND p.at <= :at
      AND NOT EXISTS (SELECT 1 FROM placements AS later WHERE later.ns = p.ns
                      AND later.key = p.key AND later.at > p.at AND later.at <= :at)
    UNION ALL
    SELECT i.key, i.profile_id FROM identifiers AS i
    WHERE i.ns = :ns AND i.key IN (SELECT value FROM json_each(:keys)) AND i.created_at <= :at
      AND {_UNPLACED}
"""
# before identifiers in ?2 change profile: the creation placement of those that have none
_PLACE_CREATION = f"""
    INSERT INTO placements (ns, key, at, profile_id, request_id)
    SELECT i.ns, i.key, i.created_at, i.profile_id, i.request_id FROM identifiers AS i
    WHERE i.ns = ?1 AND i.key IN (SELECT value FROM json_each(?2)) AND {_UNPLACED}
"""


def _either_end(table: str, columns: str, first: str, second: str) -> str:
    """Rows of a namespace (?1) whose ``first`` or ``second`` column is in a JSON array (?2),
    by id: each side on its own index."""
    return (
        f"SELECT {columns} FROM {table} WHERE ns = ?1 "
        f"AND {first} IN (SELECT value FROM json_each(?2)) "
        f"UNION SELECT {columns} FROM {table} WHERE ns = ?1 "
        f"AND {second} IN (SELECT value FROM json_each(?2)) ORDER BY id"
    )


_BANS_OF_KEYS = _either_end("bans", _BAN_COLUMNS, "a_key", "b_key")
_LINKS_TOUCHING = _either_end("links", _LINK_COLUMNS, "a_key", "b_key")
_MERGES_OF = _either_end("merges", _MERGE_COLUMNS, "survivor", "absorbed")


class SqliteTx(ApiKeyRows, PurgeRows):
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
        keys = list(keys)
        touched = self._all(
            "SELECT DISTINCT profile_id FROM identifiers WHERE ns = ? "
            "AND key IN (SELECT value FROM json_each(?))",
            namespace,
            _dump(keys),
        )
        state = self._load(namespace, [pid for (pid,) in touched if pid is not None])
        state.bans = self._bans_of(namespace, sorted(set(keys).union(state.identifiers)))
        return state

    def load_profiles(self, namespace: str, profile_ids: Iterable[int]) -> GraphState:
        state = self._load(namespace, profile_ids)
        state.bans = self._bans_of(namespace, list(state.identifiers))
        return state

    def _load(self, namespace: str, profile_ids: Iterable[int]) -> GraphState:
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

    def _bans_of(self, namespace: str, keys: list[str]) -> list[Ban]:
        if self._one("SELECT 1 FROM bans WHERE ns = ? LIMIT 1", namespace) is None:
            return []  # most namespaces have none: skip looking up every key (5 ms for 3,000)
        return [_ban(row) for row in self._all(_BANS_OF_KEYS, namespace, _dump(keys))]

    def _sequences(self) -> Sequences:
        return Sequences(**dict(self._all("SELECT name, next FROM sequences")))

    # --- history ------------------------------------------------------------------------------

    def profile_record(self, namespace: str, profile_id: int) -> ProfileRecord | None:
        row = self._one(
            "SELECT id, created_at, updated_at, recognized, merged_into FROM profiles "
            "WHERE ns = ? AND id = ?",
            namespace,
            profile_id,
        )
        return ProfileRecord(row[0], row[1], row[2], bool(row[3]), row[4]) if row else None

    def identifiers(self, namespace: str, keys: Iterable[str]) -> list[StoredIdentifier]:
        return [
            StoredIdentifier(*row)
            for row in self._all(
                "SELECT key, type, value, profile_id, created_at FROM identifiers "
                "WHERE ns = ? AND key IN (SELECT value FROM json_each(?)) ORDER BY key",
                namespace,
                _dump(list(keys)),
            )
        ]

    def members_page(
        self, namespace: str, profile_id: int, *, as_of: str | None, after_key: str, limit: int
    ) -> list[StoredIdentifier]:
        if as_of is None:
            rows = self._all(
                "SELECT key, type, value, profile_id, created_at FROM identifiers "
                "WHERE ns = ? AND profile_id = ? AND key > ? ORDER BY key LIMIT ?",
                namespace,
                profile_id,
                after_key,
                limit,
            )
        else:
            wanted = {"ns": namespace, "id": profile_id, "at": as_of, "after": after_key}
            rows = self.connection.execute(_MEMBERS_AT, {**wanted, "limit": limit}).fetchall()
        return [StoredIdentifier(*row) for row in rows]

    def placed_at(self, namespace: str, keys: Iterable[str], at: str) -> dict[str, int | None]:
        wanted = {"ns": namespace, "keys": _dump(list(keys)), "at": at}
        return dict(self.connection.execute(_PLACED_AT, wanted).fetchall())

    def link(self, namespace: str, link_id: int) -> LinkRecord | None:
        row = self._one(
            f"SELECT {_LINK_COLUMNS} FROM links WHERE ns = ? AND id = ?", namespace, link_id
        )
        return LinkRecord(*row) if row else None

    def links_touching(self, namespace: str, keys: Iterable[str]) -> list[LinkRecord]:
        rows = self._all(_LINKS_TOUCHING, namespace, _dump(list(keys)))
        return [LinkRecord(*row) for row in rows]

    def links_ended_by(self, namespace: str, request_id: str, reason: str) -> list[LinkRecord]:
        rows = self._all(
            f"SELECT {_LINK_COLUMNS} FROM links WHERE ns = ? AND ended_request_id = ? "
            "AND end_reason = ? ORDER BY id",
            namespace,
            request_id,
            reason,
        )
        return [LinkRecord(*row) for row in rows]

    def merge_record(self, namespace: str, merge_id: int) -> MergeRecord | None:
        row = self._one(
            f"SELECT {_MERGE_COLUMNS} FROM merges WHERE ns = ? AND id = ?", namespace, merge_id
        )
        return MergeRecord(*row) if row else None

    def merges_of(self, namespace: str, profile_ids: Iterable[int]) -> list[MergeRecord]:
        rows = self._all(_MERGES_OF, namespace, _dump(list(profile_ids)))
        return [MergeRecord(*row) for row in rows]

    def attribute_history(
        self, namespace: str, keys: Iterable[str], profile_ids: Iterable[int]
    ) -> list[AttributeHistory]:
        rows = self._all(
            "SELECT id, profile_id, via_key, name, value, written_at, request_id "
            "FROM attribute_writes WHERE ns = ?1 AND via_key IN (SELECT value FROM json_each(?2)) "
            "UNION SELECT id, profile_id, via_key, name, value, written_at, request_id "
            "FROM attribute_writes WHERE ns = ?1 AND via_key IS NULL "
            "AND profile_id IN (SELECT value FROM json_each(?3)) ORDER BY id",
            namespace,
            _dump(list(keys)),
            _dump(list(profile_ids)),
        )
        return [
            AttributeHistory(pid, via, name, None if value is None else json.loads(value), at, rid)
            for _, pid, via, name, value, at, rid in rows
        ]

    def attributes_at(self, namespace: str, profile_id: int, at: str) -> dict[str, Any]:
        row = self._one(
            "SELECT attributes FROM attribute_versions WHERE ns = ? AND profile_id = ? "
            "AND at <= ? ORDER BY at DESC LIMIT 1",
            namespace,
            profile_id,
            at,
        )
        return json.loads(row[0]) if row else {}

    def bans(
        self, namespace: str, *, key: str | None = None, after_id: int = 0, limit: int = 100
    ) -> list[Ban]:
        if key is None:
            rows = self._all(
                f"SELECT {_BAN_COLUMNS} FROM bans WHERE ns = ? AND id > ? ORDER BY id LIMIT ?",
                namespace,
                after_id,
                limit,
            )
        else:
            rows = self._all(
                f"SELECT {_BAN_COLUMNS} FROM bans WHERE ns = ? AND id > ? "
                "AND (a_key = ? OR b_key = ?) ORDER BY id LIMIT ?",
                namespace,
                after_id,
                key,
                key,
                limit,
            )
        return [_ban(row) for row in rows]

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
        returning = self._existing(ns, [i.key for i in changes.new_identifiers])
        moving = [key for key, _ in changes.relabels] + sorted(returning)
        if moving:  # their creation placements, while the rows still say where they were
            self.connection.execute(_PLACE_CREATION, (ns, _dump(moving)))
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
        run(
            "INSERT INTO placements (ns, key, at, profile_id, request_id) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (ns, key, at) DO UPDATE SET profile_id = excluded.profile_id",
            [
                (ns, i.key, p.at, i.profile_id, p.request_id)
                for i in changes.new_identifiers
                if i.key in returning
            ]
            + [(ns, key, p.at, pid, p.request_id) for key, pid in changes.relabels],
        )
        self._apply_merges(ns, changes)
        self._apply_undo(ns, changes)
        self._apply_attributes(ns, changes)
        run(
            "INSERT INTO conflicts (ns, created_at, request_id, item_index, rule, profiles, "
            "identifiers) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(ns, p.at, p.request_id, c.item_index, c.rule, _dump(c.profiles),
              _dump([[i.type, i.value] for i in c.identifiers]))
             for c in changes.conflicts],
        )  # fmt: skip
        run(
            "INSERT INTO bans (id, ns, a_key, b_key, b_type, reason, created_by, created_at, "
            "request_id, link_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(b.id, ns, b.a, b.b, b.b_type, b.reason, b.created_by, b.created_at, p.request_id,
              b.link_id)
             for b in changes.new_bans],
        )  # fmt: skip
        s = changes.sequences
        run(
            "UPDATE sequences SET next = max(next, ?) WHERE name = ?",
            [(s.profile, "profile"), (s.link, "link"), (s.merge, "merge"), (s.ban, "ban")],
        )

    def _apply_merges(self, ns: str, changes: ChangeSet) -> None:
        p = changes.provenance
        merges = changes.merges
        if not merges:
            return
        self.connection.executemany(
            "INSERT INTO merges (id, ns, survivor, absorbed, request_id, item_index, created_at, "
            "survivor_key, absorbed_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(m.id, ns, m.survivor, m.absorbed, p.request_id, m.item_index, p.at, m.survivor_key,
              m.absorbed_key)
             for m in merges],
        )  # fmt: skip
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

    def _apply_undo(self, ns: str, changes: ChangeSet) -> None:
        p = changes.provenance
        run = self.connection.executemany
        run(
            "UPDATE merges SET undone_at = ?, undone_request_id = ? WHERE id = ? AND ns = ?",
            [(p.at, p.request_id, merge_id, ns) for merge_id in changes.undone_merges],
        )
        run(
            "UPDATE profiles SET merged_into = NULL WHERE id = ? AND ns = ?",
            [(pid, ns) for pid in changes.restored],
        )
        run(
            "UPDATE profiles SET merged_into = ? WHERE id = ? AND ns = ?",
            [(live, alias, ns) for alias, live in changes.repointed],
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
            "INSERT INTO attribute_versions (ns, profile_id, at, attributes, request_id) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (ns, profile_id, at) "
            "DO UPDATE SET attributes = excluded.attributes",
            [(ns, pid, p.at, _dump(values_of(attributes)), p.request_id)
             for pid, attributes in changes.attributes.items()],
        )  # fmt: skip
        self.connection.executemany(
            "INSERT INTO attribute_writes (ns, profile_id, via_key, name, value, operation, "
            "source, request_id, written_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(ns, w.profile_id, w.via, w.name, None if w.value is None else _dump(w.value),
              p.operation, p.source, p.request_id, p.at)
             for w in changes.attribute_writes],
        )  # fmt: skip

    def _existing(self, namespace: str, keys: list[str]) -> set[str]:
        """Which of these "new" identifiers exist already: ones that left every profile
        (replaced, retired) and come back now."""
        if not keys:
            return set()
        sql = "SELECT key FROM identifiers WHERE ns = ? AND key IN (SELECT value FROM json_each(?))"
        return {key for (key,) in self._all(sql, namespace, _dump(keys))}

    def save_request(
        self, namespace: str, request_id: str, digest: str, response: Mapping[str, Any]
    ) -> None:
        self.connection.execute(
            "INSERT INTO requests (ns, request_id, digest, created_at, response) "
            "VALUES (?, ?, ?, ?, ?)",
            (namespace, request_id, digest, utc_now(), _dump(response)),
        )

    def remove_ban(self, namespace: str, ban_id: int) -> bool:
        deleted = self.connection.execute(
            "DELETE FROM bans WHERE ns = ? AND id = ?", (namespace, ban_id)
        )
        return deleted.rowcount > 0


def _ban(row: tuple[Any, ...]) -> Ban:
    return Ban(*row)
