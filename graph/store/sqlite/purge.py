"""The SQLite store's erasure of a person and its audit log (migration 4), mixed into SqliteTx.
Purges are numbered per namespace, from its ``purge`` sequence.

Deleted rows leave no bytes behind: every connection sets ``PRAGMA secure_delete``
(graph/store/sqlite/store.py), so SQLite overwrites deleted content with zeros, and the WAL frames
that still hold it go at the next truncating checkpoint.
"""

from __future__ import annotations

from graph.model import PurgeRecord
from graph.store.base import departed_from
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
_PURGE = [
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
    "DELETE FROM placements WHERE ns = :ns AND key IN (SELECT value FROM json_each(:keys))",
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
        erase = {"ns": ns, "ids": json_array(ids), "keys": json_array(members + departed)}
        self.connection.execute(_PURGE_LINKS, (ns, erase["keys"]))
        for statement in _PURGE:
            self.connection.execute(statement, erase)
        return len(members) + len(departed)

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
