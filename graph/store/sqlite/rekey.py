"""The SQLite store's half of a re-keying (graph/service/rekeying.py), mixed into SqliteTx:
the identifiers read a page at a time, an identifier folded into its new spelling, and the
refused links and kept answers that name the old one renamed."""

from __future__ import annotations

import json
from collections.abc import Mapping

from graph.model import Identifier, Provenance
from graph.rekey import respelled_pairs
from graph.replays import respelled
from graph.store.rows import dump_json
from graph.store.sqlite.sql import PLACE_CREATIONS, Sql, json_array

_PAGE = """
    SELECT key, type, value, profile_id FROM identifiers WHERE ns = ? AND key > ?
    ORDER BY key LIMIT ?
"""
_PROFILES_EVER = """
    SELECT DISTINCT profile_id FROM placements
    WHERE ns = ?1 AND key IN (SELECT value FROM json_each(?2)) AND profile_id IS NOT NULL
"""
# the new key does not exist yet: the row and its placements take it
_RENAME = [
    "UPDATE identifiers SET key = :new, type = :type, value = :value WHERE ns = :ns AND key = :old",
    "UPDATE placements SET key = :new WHERE ns = :ns AND key = :old",
]
# the new key exists: it keeps the earlier creation, and the old key's placements from before
# the new one's first (where the identifier was before it had today's spelling)
_JOIN = [
    """UPDATE identifiers SET created_at = old.created_at, request_id = old.request_id
       FROM (SELECT created_at, request_id FROM identifiers WHERE ns = :ns AND key = :old) AS old
       WHERE identifiers.ns = :ns AND identifiers.key = :new
         AND old.created_at < identifiers.created_at""",
    """UPDATE OR IGNORE placements SET key = :new WHERE ns = :ns AND key = :old
       AND at < (SELECT min(at) FROM placements WHERE ns = :ns AND key = :new)""",
    "DELETE FROM placements WHERE ns = :ns AND key = :old",
    "DELETE FROM identifiers WHERE ns = :ns AND key = :old",
]
# whichever it was: everything naming the old key names the new one, and a link the new
# identifier's id (the old one's, renamed; or the one it joins). A link between the two
# spellings (the re-keying's own, or one a client made) joins the identifier to itself: it ends.
_REPOINT = [
    "UPDATE links SET a_key = :new, a_id = :new_id WHERE ns = :ns AND a_id = :old_id",
    "UPDATE links SET b_key = :new, b_id = :new_id WHERE ns = :ns AND b_id = :old_id",
    "UPDATE links SET ended_at = :at, end_reason = 'rekeyed', ended_request_id = :request_id "
    "WHERE ns = :ns AND a_id = :new_id AND b_id = :new_id AND ended_at IS NULL",
    "UPDATE attribute_writes SET via_key = :new WHERE ns = :ns AND via_key = :old",
    "UPDATE attributes SET via_key = :new WHERE ns = :ns "
    "AND profile_id IN (SELECT value FROM json_each(:profiles)) AND via_key = :old",
    "UPDATE bans SET a_key = :new WHERE ns = :ns AND a_key = :old",
    "UPDATE bans SET b_key = :new WHERE ns = :ns AND b_key = :old",
    "UPDATE merges SET survivor_key = :new WHERE ns = :ns "
    "AND survivor IN (SELECT value FROM json_each(:profiles)) AND survivor_key = :old",
    "UPDATE merges SET absorbed_key = :new WHERE ns = :ns "
    "AND absorbed IN (SELECT value FROM json_each(:profiles)) AND absorbed_key = :old",
]
_NAMING_CONFLICTS = """
    SELECT id, identifiers FROM conflicts WHERE ns = ?1 AND EXISTS (
        SELECT 1 FROM json_each(conflicts.identifiers) AS named
        WHERE json_extract(named.value, '$[0]') || ':' || json_extract(named.value, '$[1]')
              IN (SELECT value FROM json_each(?2)))
"""
_NAMING_REQUESTS = """
    SELECT request_id, response FROM requests WHERE ns = ?1 AND EXISTS (
        SELECT 1 FROM json_tree(requests.response, '$.results') AS named
        WHERE named.type = 'text' AND typeof(named.key) = 'integer'
              AND named.value IN (SELECT value FROM json_each(?2)))
"""


class RekeyRows(Sql):
    def identifiers_after(
        self, namespace: str, after: str, limit: int
    ) -> list[tuple[str, str, str, int | None]]:
        return self._all(_PAGE, namespace, after, limit)

    def fold_identifier(
        self, namespace: str, old_key: str, new: Identifier, provenance: Provenance
    ) -> None:
        keys = json_array([old_key, new.key])
        self.connection.execute(PLACE_CREATIONS, (namespace, keys))  # all in placements
        profiles = self._column(_PROFILES_EVER, namespace, keys)
        old_id, new_id = (self._id_of(namespace, key) for key in (old_key, new.key))
        parameters = {
            "ns": namespace,
            "old": old_key,
            "new": new.key,
            "old_id": old_id,
            "new_id": old_id if new_id is None else new_id,
            "type": new.type,
            "value": new.value,
            "profiles": json_array(profiles),
            "at": provenance.at,
            "request_id": provenance.request_id,
        }
        for statement in (_RENAME if new_id is None else _JOIN) + _REPOINT:
            self.connection.execute(statement, parameters)

    def _id_of(self, namespace: str, key: str) -> int | None:
        row = self._one("SELECT id FROM identifiers WHERE ns = ? AND key = ?", namespace, key)
        return None if row is None else row[0]

    def rename_mentions(self, namespace: str, renamed: Mapping[str, Identifier]) -> None:
        if not renamed:
            return
        olds = json_array(renamed)
        for conflict_id, text in self._all(_NAMING_CONFLICTS, namespace, olds):
            pairs = respelled_pairs(json.loads(text), renamed)
            if pairs is not None:
                self.connection.execute(
                    "UPDATE conflicts SET identifiers = ? WHERE ns = ? AND id = ?",
                    (dump_json(pairs), namespace, conflict_id),
                )
        keys = {old: new.key for old, new in renamed.items()}
        for request_id, text in self._all(_NAMING_REQUESTS, namespace, olds):
            response = respelled(json.loads(text), keys)
            if response is not None:
                self.connection.execute(
                    "UPDATE requests SET response = ? WHERE ns = ? AND request_id = ?",
                    (dump_json(response), namespace, request_id),
                )
