"""The Neo4j store's erasure of a person and its audit log, mixed into Neo4jTx: ``(:Purge)``
nodes, ids from the ``purge`` sequence (cypher/schema.cypher).

Cypher cannot read the JSON text of a request's answer, so every ``(:Request)`` carries the
profile ids and identifier keys its answer names (``profiles``, ``keys``), and a purge erases
the requests naming the person by those. Requests saved before they carried them are read
and marked by the first purge of their namespace.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from graph.model import PurgeRecord
from graph.replays import mentioned_in
from graph.store.base import departed_from

STATEMENTS = (
    "purge_scope",
    "departed",
    "purge_attribute_writes",
    "purge_conflicts",
    "purge_identifiers",
    "purge_profiles",
    "purge_placements",
    "purge_attribute_versions",
    "purge_bans",
    "unmarked_requests",
    "mark_requests",
    "purge_requests",
    "create_purge",
    "purges",
)


class PurgeRows:
    """The erasure half of the store protocol (graph/store/base.py)."""

    run: Callable[..., list[dict[str, Any]]]  # Neo4jTx.run: a statement by name, its rows

    def purge_profile(self, namespace: str, profile_id: int) -> int:
        ns = namespace
        ids = [row["id"] for row in self.run("purge_scope", ns=ns, id=profile_id)]
        members = [row["key"] for row in self.run("members", ns=ns, ids=[profile_id])]
        departed = departed_from(
            members, lambda keys: [row["key"] for row in self.run("departed", ns=ns, keys=keys)]
        )
        keys = members + departed
        self._mark_requests(ns)
        self.run("purge_requests", ns=ns, ids=ids, keys=keys)
        self.run("purge_attribute_writes", ns=ns, keys=keys, ids=ids)
        self.run("purge_conflicts", ns=ns, keys=keys, ids=ids)
        self.run("purge_identifiers", ns=ns, keys=keys)
        self.run("purge_profiles", ns=ns, ids=ids)
        self.run("purge_placements", ns=ns, keys=keys)
        self.run("purge_attribute_versions", ns=ns, ids=ids)
        self.run("purge_bans", ns=ns, keys=keys)
        return len(keys)

    def _mark_requests(self, namespace: str) -> None:
        rows = []
        for row in self.run("unmarked_requests", ns=namespace):
            profiles, keys = mentioned_in(json.loads(row["response"]))
            rows.append({"request_id": row["request_id"], "profiles": profiles, "keys": keys})
        if rows:
            self.run("mark_requests", ns=namespace, rows=rows)

    def record_purge(
        self, namespace: str, profile_id: int, *, purged_by: str, identifiers: int, at: str
    ) -> int:
        rows = self.run(
            "create_purge", ns=namespace, profile_id=profile_id, at=at, purged_by=purged_by,
            identifiers=identifiers,
        )  # fmt: skip
        return rows[0]["id"]

    def purges(self, namespace: str, *, after_id: int, limit: int) -> list[PurgeRecord]:
        rows = self.run("purges", ns=namespace, after=after_id, limit=limit)
        return [PurgeRecord(**row) for row in rows]
