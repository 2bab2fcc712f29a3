"""The SQLite store's reads of history: lineage, explain, undo, time travel, bans. Mixed
into SqliteTx. Links and merges come by id, identifiers by key, attribute writes in the order
they were made, as on Neo4j."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from graph.model import (
    AttributeHistory,
    Ban,
    LinkRecord,
    MergeRecord,
    ProfileRecord,
    StoredIdentifier,
)
from graph.store.sqlite.sql import (
    BAN_COLUMNS,
    IDS_OF_KEYS,
    LINK_COLUMNS,
    MERGE_COLUMNS,
    UNPLACED,
    Sql,
    either_end,
    json_array,
)

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
      AND {UNPLACED}
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
      AND {UNPLACED}
"""
# before identifiers in ?2 change profile: the creation placement of those that have none
_LINKS_TOUCHING = either_end("links", LINK_COLUMNS, "a_id", "b_id", IDS_OF_KEYS)
_MERGES_OF = either_end("merges", MERGE_COLUMNS, "survivor", "absorbed")
# The profiles whose writes count as :ids' own (base.py, attribute_history), each with the
# instant its writes count until (NULL: all of them): the profiles merged into one, and the
# one a profile was split from, up to the split. Aliases are flattened (merged_into names a
# live profile) and a parent is older than its part, so the recursion ends.
_OWNERS = """
    own(id, until) AS (
        SELECT value, NULL FROM json_each(:ids)
        UNION
        SELECT p.id, own.until FROM own JOIN profiles AS p
            ON p.ns = :ns AND p.merged_into = own.id
        UNION
        SELECT p.parent_id, CASE WHEN own.until < p.created_at THEN own.until
                                 ELSE p.created_at END
        FROM own JOIN profiles AS p ON p.ns = :ns AND p.id = own.id
        WHERE p.parent_id IS NOT NULL
    )
"""
_WRITE_COLUMNS = "w.id, w.profile_id, w.via_key, w.name, w.value, w.written_at, w.request_id"
_ATTRIBUTE_HISTORY = f"""
    WITH RECURSIVE {_OWNERS}
    SELECT {_WRITE_COLUMNS} FROM attribute_writes AS w
    WHERE w.ns = :ns AND w.via_key IN (SELECT value FROM json_each(:keys))
      AND (json_array_length(:ids) = 0
           OR EXISTS (SELECT 1 FROM own WHERE own.id = w.profile_id
                      AND (own.until IS NULL OR w.written_at <= own.until)))
    UNION
    SELECT {_WRITE_COLUMNS} FROM attribute_writes AS w
    WHERE w.ns = :ns AND w.via_key IS NULL AND w.profile_id IN (SELECT value FROM json_each(:ids))
    ORDER BY 1
"""


class HistoryReads(Sql):
    """The history half of the read protocol (graph/store/base.py)."""

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
                json_array(keys),
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
        wanted = {"ns": namespace, "keys": json_array(keys), "at": at}
        return dict(self.connection.execute(_PLACED_AT, wanted).fetchall())

    def link(self, namespace: str, link_id: int) -> LinkRecord | None:
        row = self._one(
            f"SELECT {LINK_COLUMNS} FROM links WHERE ns = ? AND id = ?", namespace, link_id
        )
        return LinkRecord(*row) if row else None

    def links_touching(self, namespace: str, keys: Iterable[str]) -> list[LinkRecord]:
        rows = self._all(_LINKS_TOUCHING, namespace, json_array(keys))
        return [LinkRecord(*row) for row in rows]

    def links_ended_by(self, namespace: str, request_id: str, reason: str) -> list[LinkRecord]:
        rows = self._all(
            f"SELECT {LINK_COLUMNS} FROM links WHERE ns = ? AND ended_request_id = ? "
            "AND end_reason = ? ORDER BY id",
            namespace,
            request_id,
            reason,
        )
        return [LinkRecord(*row) for row in rows]

    def merge_record(self, namespace: str, merge_id: int) -> MergeRecord | None:
        row = self._one(
            f"SELECT {MERGE_COLUMNS} FROM merges WHERE ns = ? AND id = ?", namespace, merge_id
        )
        return MergeRecord(*row) if row else None

    def merges_of(self, namespace: str, profile_ids: Iterable[int]) -> list[MergeRecord]:
        rows = self._all(_MERGES_OF, namespace, json_array(profile_ids))
        return [MergeRecord(*row) for row in rows]

    def attribute_history(
        self, namespace: str, keys: Iterable[str], profile_ids: Iterable[int]
    ) -> list[AttributeHistory]:
        wanted = {"ns": namespace, "keys": json_array(keys), "ids": json_array(profile_ids)}
        rows = self.connection.execute(_ATTRIBUTE_HISTORY, wanted).fetchall()
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
                f"SELECT {BAN_COLUMNS} FROM bans WHERE ns = ? AND id > ? ORDER BY id LIMIT ?",
                namespace,
                after_id,
                limit,
            )
        else:
            rows = self._all(
                f"SELECT {BAN_COLUMNS} FROM bans WHERE ns = ? AND id > ? "
                "AND (a_key = ? OR b_key = ?) ORDER BY id LIMIT ?",
                namespace,
                after_id,
                key,
                key,
                limit,
            )
        return [Ban(*row) for row in rows]
