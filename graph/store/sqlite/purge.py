"""The SQLite store's erasure of a person and its audit log (migration 4), mixed into SqliteTx.
Purges are numbered per namespace, from its ``purge`` sequence.

What the person wrote also leaves the other profiles it reached (graph/store/scrub.py):
profiles the person's identifiers were in for a while (a merge later undone, a profile later
split, a device that moved) keep attribute versions and values written through them, and
merges of other profiles may name one of its identifiers as the side they joined.

Deleted rows leave no bytes behind: every connection sets ``PRAGMA secure_delete``
(graph/store/sqlite/store.py), so SQLite overwrites deleted content with zeros, and the WAL frames
that still hold it go at the next truncating checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graph.model import PurgeRecord
from graph.store.base import departed_from
from graph.store.scrub import Scrub
from graph.store.sqlite.sql import IDS_OF_KEYS, Sql, json_array
from graph.store.sqlite.writes import take_ids

_PROFILE_AND_ALIASES = "SELECT id FROM profiles WHERE ns = ? AND (id = ? OR merged_into = ?)"
_MEMBERS = "SELECT key FROM identifiers WHERE ns = ? AND profile_id = ?"
# identifiers in no profile any more (replaced, retired by a merge) linked to these keys
_DEPARTED = f"""
    SELECT key FROM identifiers WHERE ns = ?1 AND profile_id IS NULL AND key IN (
        SELECT b_key FROM links WHERE ns = ?1 AND a_id IN ({IDS_OF_KEYS})
        UNION SELECT a_key FROM links WHERE ns = ?1 AND b_id IN ({IDS_OF_KEYS}))
"""
# before the identifiers: links are found by their ids
_PURGE_LINKS = f"""
    DELETE FROM links WHERE ns = ?1 AND (a_id IN ({IDS_OF_KEYS}) OR b_id IN ({IDS_OF_KEYS}))
"""
# what the person wrote: through its identifiers, and profile-level to its profiles
_ERASED_WRITES = """
    SELECT profile_id, via_key, name, value, request_id, written_at FROM attribute_writes
    WHERE ns = :ns AND (via_key IN (SELECT value FROM json_each(:keys))
          OR (via_key IS NULL AND profile_id IN (SELECT value FROM json_each(:ids))))
"""
# the profiles its identifiers were ever in
_PLACED_IN = """
    SELECT DISTINCT profile_id FROM placements
    WHERE ns = :ns AND key IN (SELECT value FROM json_each(:keys)) AND profile_id IS NOT NULL
"""
_MERGES_OF = """
    SELECT survivor, absorbed FROM merges WHERE ns = :ns
    AND (survivor IN (SELECT value FROM json_each(:ids))
         OR absorbed IN (SELECT value FROM json_each(:ids)))
"""
_VERSIONS_OF = """
    SELECT profile_id, at, attributes FROM attribute_versions
    WHERE ns = :ns AND profile_id IN (SELECT value FROM json_each(:ids))
"""
_WRITES_TO = """
    SELECT profile_id, via_key, name, value, written_at FROM attribute_writes
    WHERE ns = :ns AND profile_id IN (SELECT value FROM json_each(:ids))
"""
_ATTRIBUTES_OF = """
    SELECT profile_id, name, via_key, request_id, updated_at AS at FROM attributes
    WHERE ns = :ns AND profile_id IN (SELECT value FROM json_each(:ids))
"""
_REWRITE_VERSION = """
    UPDATE attribute_versions SET attributes = :attributes
    WHERE ns = :ns AND profile_id = :profile_id AND at = :at
"""
_DROP_ATTRIBUTE = """
    DELETE FROM attributes WHERE ns = :ns AND profile_id = :profile_id AND name = :name
"""
# other profiles' merges keep their records, without naming an erased identifier
_FORGET_MERGE_KEYS = [
    """UPDATE merges SET survivor_key = NULL WHERE ns = :ns
       AND survivor IN (SELECT value FROM json_each(:others))
       AND survivor_key IN (SELECT value FROM json_each(:keys))""",
    """UPDATE merges SET absorbed_key = NULL WHERE ns = :ns
       AND absorbed IN (SELECT value FROM json_each(:others))
       AND absorbed_key IN (SELECT value FROM json_each(:keys))""",
]
_PURGE = [
    "DELETE FROM identifiers WHERE ns = :ns AND key IN (SELECT value FROM json_each(:keys))",
    "DELETE FROM attributes WHERE ns = :ns AND profile_id IN (SELECT value FROM json_each(:ids))",
    # writes through its identifiers, and every write to its profiles: through identifiers
    # that are someone else's now too (a shared device that moved away leaves its values here)
    """DELETE FROM attribute_writes WHERE ns = :ns
       AND (via_key IN (SELECT value FROM json_each(:keys))
            OR profile_id IN (SELECT value FROM json_each(:ids)))""",
    """DELETE FROM merges WHERE ns = :ns AND (survivor IN (SELECT value FROM json_each(:ids))
       OR absorbed IN (SELECT value FROM json_each(:ids)))""",
    "DELETE FROM profiles WHERE ns = :ns AND id IN (SELECT value FROM json_each(:ids))",
    # where its identifiers were, and who was in its profiles: an identifier that was in one
    # for a while (an undone merge, a split) is where it was before, in a time-travel read
    "DELETE FROM placements WHERE ns = :ns AND key IN (SELECT value FROM json_each(:keys))",
    """DELETE FROM placements WHERE ns = :ns
       AND profile_id IN (SELECT value FROM json_each(:ids))""",
    """DELETE FROM attribute_versions WHERE ns = :ns
       AND profile_id IN (SELECT value FROM json_each(:ids))""",
    """DELETE FROM bans WHERE ns = :ns AND (a_key IN (SELECT value FROM json_each(:keys))
       OR b_key IN (SELECT value FROM json_each(:keys)))""",
    # refused links naming one of its identifiers or one of its profile ids
    """DELETE FROM conflicts WHERE ns = :ns AND (EXISTS (
         SELECT 1 FROM json_each(conflicts.identifiers) AS named
         WHERE json_extract(named.value, '$[0]') || ':' || json_extract(named.value, '$[1]')
               IN (SELECT value FROM json_each(:keys)))
       OR EXISTS (SELECT 1 FROM json_each(conflicts.profiles) AS involved
                  WHERE involved.value IN (SELECT value FROM json_each(:ids))))""",
    # requests kept for replay whose answer names one of its ids or identifiers, as
    # graph.replays.mentioned_in reads an answer: in an outcome record every integer but
    # ``index`` is a profile id (profile_id, absorbed, moved_from, profiles) and every string
    # in a list is an identifier key (replaced). One parse of each answer of the namespace:
    # about 1 ms per 1,000 results kept (22,000 results: 20 ms; five json_each per result
    # took 65-100 ms)
    """DELETE FROM requests WHERE ns = :ns AND EXISTS (
         SELECT 1 FROM json_tree(requests.response, '$.results') AS named
         WHERE (named.type = 'integer' AND named.key IS NOT 'index'
                AND named.value IN (SELECT value FROM json_each(:ids)))
            OR (named.type = 'text' AND typeof(named.key) = 'integer'
                AND named.value IN (SELECT value FROM json_each(:keys))))""",
]
_PURGE_COLUMNS = "id, ns, profile_id, purged_at, purged_by, identifiers"


class PurgeRows(Sql):
    """The erasure half of the store protocol (graph/store/base.py)."""

    def purge_profile(self, namespace: str, profile_id: int) -> int:
        ns = namespace
        ids = self._column(_PROFILE_AND_ALIASES, ns, profile_id, profile_id)
        members = self._column(_MEMBERS, ns, profile_id)
        departed = departed_from(
            members, lambda keys: self._column(_DEPARTED, ns, json_array(keys))
        )
        keys = members + departed
        erase = {"ns": ns, "ids": json_array(ids), "keys": json_array(keys)}
        self._scrub_others(ns, ids, keys, erase)
        self.connection.execute(_PURGE_LINKS, (ns, erase["keys"]))
        for statement in _PURGE:
            self.connection.execute(statement, erase)
        return len(keys)

    def _scrub_others(
        self, ns: str, ids: list[int], keys: list[str], erase: Mapping[str, Any]
    ) -> None:
        """Before the person's rows go: take what it wrote out of the other profiles it
        reached (``Scrub``), and their merges' records of its identifiers."""
        erased = self._dicts(_ERASED_WRITES, erase)
        placed = [row["profile_id"] for row in self._dicts(_PLACED_IN, erase)]

        def merges_of(profiles: Iterable[int]) -> list[tuple[int, int]]:
            rows = self._dicts(_MERGES_OF, {"ns": ns, "ids": json_array(profiles)})
            return [(row["survivor"], row["absorbed"]) for row in rows]

        scrub = Scrub(ids, keys, erased, placed, merges_of)
        if not scrub.others:
            return
        others = {"ns": ns, "ids": json_array(sorted(scrub.others))}
        sources = {"ns": ns, "ids": json_array(sorted(scrub.sources))}
        scrub.keep(self._dicts(_WRITES_TO, sources))
        versions = scrub.versions(
            (row["profile_id"], row["at"], row["attributes"])
            for row in self._dicts(_VERSIONS_OF, others)
        )
        self.connection.executemany(_REWRITE_VERSION, [{"ns": ns, **row} for row in versions])
        dropped = scrub.attributes(self._dicts(_ATTRIBUTES_OF, others))
        self.connection.executemany(_DROP_ATTRIBUTE, [{"ns": ns, **row} for row in dropped])
        for statement in _FORGET_MERGE_KEYS:
            self.connection.execute(statement, {**erase, "others": others["ids"]})

    def _dicts(self, sql: str, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        cursor = self.connection.execute(sql, parameters)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def record_purge(
        self, namespace: str, profile_id: int, *, purged_by: str, identifiers: int, at: str
    ) -> int:
        purge_id = take_ids(self.connection, namespace, "purge", 1)
        self.connection.execute(
            "INSERT INTO purges (id, ns, profile_id, purged_at, purged_by, identifiers) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (purge_id, namespace, profile_id, at, purged_by, identifiers),
        )
        return purge_id

    def purges(self, namespace: str, *, after_id: int, limit: int) -> list[PurgeRecord]:
        rows = self.connection.execute(
            f"SELECT {_PURGE_COLUMNS} FROM purges WHERE ns = ? AND id > ? ORDER BY id LIMIT ?",
            (namespace, after_id, limit),
        )
        return [PurgeRecord(*row) for row in rows]
