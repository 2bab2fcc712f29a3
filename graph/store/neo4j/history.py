"""The Neo4j store's reads of history (lineage, explain, undo, time travel, bans), mixed into
Neo4jTx. Each read is one statement under cypher/store/, in the same order as on SQLite:
links and merges by id, identifiers by key, attribute writes in the order they were made.

Time travel reads the history the writes keep (cypher/schema.cypher): Placement nodes put an
identifier in a profile from an instant on, AttributeVersion nodes hold a profile's values
from an instant on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from graph.model import (
    AttributeHistory,
    Ban,
    LinkRecord,
    MergeRecord,
    ProfileRecord,
    StoredIdentifier,
)

STATEMENTS = (
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
    "attribute_history_owners",
    "attributes_at",
    "bans_page",
    "bans_of_key",
    "bans_naming",
)


class HistoryReads:
    """The history half of the read protocol (graph/store/base.py)."""

    run: Callable[..., list[dict[str, Any]]]  # Neo4jTx.run: a statement by name, its rows

    def profile_record(self, namespace: str, profile_id: int) -> ProfileRecord | None:
        rows = self.run("profile_record", ns=namespace, id=profile_id)
        if not rows:
            return None
        row = rows[0]
        return ProfileRecord(
            row["id"], row["created_at"], row["updated_at"], bool(row["recognized"]),
            row["merged_into"],
        )  # fmt: skip

    def identifiers(self, namespace: str, keys: Iterable[str]) -> list[StoredIdentifier]:
        return [
            stored_identifier(row) for row in self.run("identifiers", ns=namespace, keys=list(keys))
        ]

    def members_page(
        self,
        namespace: str,
        profile_id: int,
        *,
        as_of: str | None,
        after_key: str,
        limit: int,
    ) -> list[StoredIdentifier]:
        page = {"ns": namespace, "id": profile_id, "after": after_key, "limit": limit}
        if as_of is None:
            rows = self.run("members_page", **page)
        else:
            rows = self.run("members_at", at=as_of, **page)
        return [stored_identifier(row) for row in rows]

    def placed_at(self, namespace: str, keys: Iterable[str], at: str) -> dict[str, int | None]:
        rows = self.run("placed_at", ns=namespace, keys=list(keys), at=at)
        return {row["key"]: row["profile_id"] for row in rows}

    def link(self, namespace: str, link_id: int) -> LinkRecord | None:
        rows = self.run("link", ns=namespace, id=link_id)
        return link_record(rows[0]) if rows else None

    def links_touching(self, namespace: str, keys: Iterable[str]) -> list[LinkRecord]:
        return [
            link_record(row) for row in self.run("links_touching", ns=namespace, keys=list(keys))
        ]

    def links_ended_by(self, namespace: str, request_id: str, reason: str) -> list[LinkRecord]:
        rows = self.run("links_ended_by", ns=namespace, request_id=request_id, reason=reason)
        return [link_record(row) for row in rows]

    def merge_record(self, namespace: str, merge_id: int) -> MergeRecord | None:
        rows = self.run("merge_record", ns=namespace, id=merge_id)
        return merge_record(rows[0]) if rows else None

    def merges_of(self, namespace: str, profile_ids: Iterable[int]) -> list[MergeRecord]:
        return [
            merge_record(row) for row in self.run("merges_of", ns=namespace, ids=list(profile_ids))
        ]

    def attribute_history(
        self, namespace: str, keys: Iterable[str], profile_ids: Iterable[int]
    ) -> list[AttributeHistory]:
        ids = list(profile_ids)
        owners = self._owners(namespace, ids)
        rows = self.run(
            "attribute_history", ns=namespace, keys=list(keys), ids=ids,
            rows=[{"id": pid, "until": until} for pid, until in owners.items()],
        )  # fmt: skip
        return [
            AttributeHistory(
                row["profile_id"], row["via_key"], row["name"],
                None if row["value"] is None else json.loads(row["value"]),
                row["written_at"], row["request_id"],
            )
            for row in rows
        ]  # fmt: skip

    def _owners(self, namespace: str, profile_ids: list[int]) -> dict[int, str | None]:
        """The profiles whose writes count as ``profile_ids``' own, each with the instant
        they count until (None: always): the profiles merged into one, and the one a
        profile was split from, up to the split (as on SQLite, _OWNERS)."""
        owners: dict[int, str | None] = dict.fromkeys(profile_ids)
        frontier = list(owners)
        while frontier:
            reached: list[tuple[int, str | None]] = []
            for row in self.run("attribute_history_owners", ns=namespace, ids=frontier):
                until = owners[row["id"]]
                reached += [(alias, until) for alias in row["aliases"]]
                if row["parent_id"] is not None:
                    reached.append((row["parent_id"], _earlier(until, row["created_at"])))
            frontier = []
            for pid, until in reached:
                if _extends(owners, pid, until):
                    owners[pid] = until
                    frontier.append(pid)
        return owners

    def attributes_at(self, namespace: str, profile_id: int, at: str) -> dict[str, Any]:
        rows = self.run("attributes_at", ns=namespace, id=profile_id, at=at)
        return json.loads(rows[0]["attributes"]) if rows else {}

    def bans(
        self, namespace: str, *, key: str | None = None, after_id: int = 0, limit: int = 100
    ) -> list[Ban]:
        if key is None:
            rows = self.run("bans_page", ns=namespace, after=after_id, limit=limit)
        else:
            rows = self.run("bans_of_key", ns=namespace, key=key, after=after_id, limit=limit)
        return [ban(row) for row in rows]

    def _bans_of(self, namespace: str, keys: Iterable[str]) -> list[Ban]:
        """Every ban naming one of ``keys``, as a or as b, by id (the planner's state)."""
        return [ban(row) for row in self.run("bans_naming", ns=namespace, keys=list(keys))]


def _earlier(until: str | None, at: str) -> str:
    return at if until is None else min(until, at)


def _extends(owners: dict[int, str | None], pid: int, until: str | None) -> bool:
    """Whether ``until`` counts more of ``pid``'s writes than ``owners`` does already."""
    if pid not in owners:
        return True
    known = owners[pid]
    return known is not None and (until is None or until > known)


# --- rows to records ---------------------------------------------------------------------------


def stored_identifier(row: dict[str, Any]) -> StoredIdentifier:
    return StoredIdentifier(
        row["key"], row["type"], row["value"], row["profile_id"], row["created_at"]
    )


def link_record(row: dict[str, Any]) -> LinkRecord:
    return LinkRecord(
        id=row["id"], a=row["a_key"], b=row["b_key"], operation=row["operation"],
        source=row["source"], request_id=row["request_id"], item_index=row["item_index"],
        merge_id=row["merge_id"], created_at=row["created_at"], ended_at=row["ended_at"],
        end_reason=row["end_reason"], ended_request_id=row["ended_request_id"],
    )  # fmt: skip


def merge_record(row: dict[str, Any]) -> MergeRecord:
    return MergeRecord(
        id=row["id"], survivor=row["survivor"], absorbed=row["absorbed"],
        request_id=row["request_id"], item_index=row["item_index"], at=row["created_at"],
        survivor_key=row["survivor_key"], absorbed_key=row["absorbed_key"],
        undone_at=row["undone_at"], undone_request_id=row["undone_request_id"],
    )  # fmt: skip


def ban(row: dict[str, Any]) -> Ban:
    return Ban(
        id=row["id"], a=row["a_key"], b=row["b_key"], b_type=row["b_type"],
        reason=row["reason"], created_by=row["created_by"], created_at=row["created_at"],
        link_id=row["link_id"],
    )  # fmt: skip
