"""The Neo4j store's erasure of a person and its audit log, mixed into Neo4jTx: ``(:Purge)``
nodes, ids from the ``purge`` sequence (cypher/schema.cypher).

Cypher cannot read the JSON text of a request's answer, so every ``(:Request)`` carries the
profile ids and identifier keys its answer names (``profiles``, ``keys``), and a purge erases
the requests naming the person by those. Requests saved before they carried them are read
and marked by the first purge of their namespace.

Once a purge has committed, ``settle_erasure`` closes the transaction log file holding it, so
that Neo4j can prune it (docs/storage.md, "Erasure on Neo4j").
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from graph.model import PurgeRecord
from graph.replays import mentioned_in
from graph.store.base import departed_from
from graph.store.neo4j.retry import StaleRead
from graph.store.rows import dump_json
from graph.store.scrub import Scrub

if TYPE_CHECKING:
    from graph.store.neo4j.store import Neo4jStore

STATEMENTS = (
    "purge_scope",
    "departed",
    "purge_erased_writes",
    "purge_placed_in",
    "purge_merges_of",
    "purge_versions_of",
    "purge_writes_to",
    "purge_rewrite_versions",
    "purge_merge_keys",
    "purge_attribute_writes",
    "purge_conflicts",
    "purge_identifiers",
    "purge_profiles",
    "purge_placements",
    "purge_placements_in",
    "purge_attribute_versions",
    "purge_bans",
    "unmarked_requests",
    "mark_requests",
    "purge_requests",
    "create_purge",
    "purges",
    "log_rotation_size",
    "pad_log",
    "unpad_log",
)

# The largest db.tx_log.rotation.size a purge pads the transaction log up to: a deployment
# that must erase sets the rotation size at or below it (docs/storage.md, "Erasure on Neo4j").
PAD_LIMIT = 1024 * 1024
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)?")
_UNITS = {None: 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}


class PurgeRows:
    """The erasure half of the store protocol (graph/store/base.py)."""

    run: Callable[..., list[dict[str, Any]]]  # Neo4jTx.run: a statement by name, its rows
    load_profiles: Callable[..., Any]  # Neo4jTx.load_profiles: locks them in a write

    def purge_profile(self, namespace: str, profile_id: int) -> int:
        ns = namespace
        self.load_profiles(ns, [profile_id])  # locked: no writer changes it from now on
        ids = [row["id"] for row in self.run("purge_scope", ns=ns, id=profile_id)]
        members = [row["key"] for row in self.run("members", ns=ns, ids=[profile_id])]
        departed = self._departed(ns, members)
        self.run("lock_identifiers", ns=ns, keys=departed)  # in no profile: their own locks
        if self._departed(ns, members) != departed:  # one came back to a profile meanwhile
            raise StaleRead(f"identifiers of profile {profile_id} moved while it was erased")
        keys = members + departed
        self._scrub_others(ns, ids, keys)
        self._mark_requests(ns)
        self.run("purge_requests", ns=ns, ids=ids, keys=keys)
        self.run("purge_attribute_writes", ns=ns, keys=keys, ids=ids)
        self.run("purge_conflicts", ns=ns, keys=keys, ids=ids)
        self.run("purge_identifiers", ns=ns, keys=keys)
        self.run("purge_profiles", ns=ns, ids=ids)
        self.run("purge_placements", ns=ns, keys=keys)
        self.run("purge_placements_in", ns=ns, ids=ids)
        self.run("purge_attribute_versions", ns=ns, ids=ids)
        self.run("purge_bans", ns=ns, keys=keys)
        return len(keys)

    def _scrub_others(self, ns: str, ids: list[int], keys: list[str]) -> None:
        """Before the person's nodes go: take what it wrote out of the other profiles it
        reached (graph/store/scrub.py), and their merges' records of its identifiers. They are
        locked as writers lock them, then read: a writer that locked one first commits first,
        and what it wrote is read and scrubbed; the reach is read again under the locks until
        no writer merged one meanwhile. The profiles they absorbed (``scrub.sources``) are read
        unlocked: only one an undone merge left live can gain a write meanwhile, and a write
        missed there only takes a value out of a version, as a scrub may anyway. A writer of
        the person's profile and another may lock them the other way round: Neo4j detects the
        deadlock, and the driver runs one of the two transactions again (store.py)."""
        erased = self.run("purge_erased_writes", ns=ns, keys=keys, ids=ids)
        placed = [row["profile_id"] for row in self.run("purge_placed_in", ns=ns, keys=keys)]

        def merges_of(profiles: list[int]) -> list[tuple[int, int]]:
            rows = self.run("purge_merges_of", ns=ns, ids=list(profiles))
            return [(row["survivor"], row["absorbed"]) for row in rows]

        scrub = Scrub(ids, keys, erased, placed, merges_of)
        locked: set[int] = set()
        while scrub.others - locked:  # until no writer merged one of them meanwhile
            new = sorted(scrub.others - locked)
            self.run("lock_profiles", ns=ns, ids=new, keys=[])
            locked.update(new)
            scrub = Scrub(ids, keys, erased, placed, merges_of)
        if not scrub.others:
            return
        others = sorted(scrub.others)
        scrub.keep(self.run("purge_writes_to", ns=ns, ids=sorted(scrub.sources)))
        versions = self.run("purge_versions_of", ns=ns, ids=others)
        rows = scrub.versions((v["profile_id"], v["at"], v["attributes"]) for v in versions)
        if rows:
            self.run("purge_rewrite_versions", ns=ns, rows=rows)
        current = {
            row["id"]: json.loads(row["attributes"])
            for row in self.run("profile_attributes", ns=ns, ids=others)
        }
        dropped = scrub.attributes(
            {"profile_id": pid, "name": name, "via_key": entry["via"],
             "request_id": entry["request_id"], "at": entry["at"]}
            for pid, attributes in current.items()
            for name, entry in attributes.items()
        )  # fmt: skip
        for row in dropped:
            current[row["profile_id"]].pop(row["name"])
        if dropped:
            changed = sorted({row["profile_id"] for row in dropped})
            rows = [{"id": pid, "attributes": dump_json(current[pid])} for pid in changed]
            self.run("set_attributes", ns=ns, rows=rows)
        self.run("purge_merge_keys", ns=ns, ids=others, keys=keys)

    def _departed(self, namespace: str, members: list[str]) -> list[str]:
        def step(keys: list[str]) -> list[str]:
            return [row["key"] for row in self.run("departed", ns=namespace, keys=keys)]

        return departed_from(members, step)

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


def settle_erasure(store: Neo4jStore) -> None:
    """After a purge committed (never inside its transaction). Neo4j keeps every committed
    transaction, the purge itself with the values it deleted, in its transaction log files
    until a checkpoint prunes the files the retention policy no longer keeps, and it never
    prunes the file it is writing. Community has no procedure to checkpoint or to start a new
    file: it starts one when the current file reaches db.tx_log.rotation.size. So this pads
    the log up to that size (a property of the store-wide api_key sequence node, set, then
    removed), and the file holding the purge is closed; a small write, set and removed, lands
    in the new file, so the next scheduled checkpoint reaches past the old one and prunes it
    when the retention policy is "1 files" (a checkpoint keeps the file it points into).
    Nothing is written when the rotation size is above PAD_LIMIT, or cannot be read."""
    size = log_rotation_size(store)
    if size is None or size > PAD_LIMIT:
        return
    # fill the file holding the purge, so Neo4j starts a new one after it; then write a little
    # in the new one: a checkpoint reaching into the new file lets the old one go
    for fill in ("x" * size, "."):
        store.run(store.statements["pad_log"], write=True, fill=fill)
        store.run(store.statements["unpad_log"], write=True)


def log_rotation_size(store: Neo4jStore) -> int | None:
    """db.tx_log.rotation.size in bytes; None if the server does not show it."""
    rows = store.run(store.statements["log_rotation_size"])
    return size_in_bytes(rows[0]["value"]) if rows else None


def size_in_bytes(shown: str) -> int | None:
    """A byte size as Neo4j shows a setting ('128.00KiB', '256.00MiB'); None if it is not one."""
    match = _SIZE.fullmatch(shown.strip())
    if match is None:
        return None
    return math.ceil(float(match[1]) * _UNITS[match[2]])
