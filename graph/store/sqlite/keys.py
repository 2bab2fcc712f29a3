"""The SQLite store's API keys (migration 4), mixed into SqliteTx."""

from __future__ import annotations

import json
from typing import Any

from graph.keys import ApiKey
from graph.store.sqlite.sql import Sql


class ApiKeyRows(Sql):
    """The API-key half of the store protocol (graph/store/base.py)."""

    def api_key(self, key_id: int) -> ApiKey | None:
        row = self.connection.execute(
            "SELECT id, ns, name, rights, salt, hash, created_at, revoked_at "
            "FROM api_keys WHERE id = ?",
            (key_id,),
        ).fetchone()
        return None if row is None else _key(row)

    def api_keys(self, namespace: str | None) -> list[ApiKey]:
        rows = self.connection.execute(
            "SELECT id, ns, name, rights, salt, hash, created_at, revoked_at "
            "FROM api_keys WHERE ?1 IS NULL OR ns = ?1 ORDER BY id",
            (namespace,),
        )
        return [_key(row) for row in rows]

    def create_api_key(
        self, namespace: str, name: str, rights: tuple[str, ...], salt: str, hash: str, at: str
    ) -> int:
        cursor = self.connection.execute(
            "INSERT INTO api_keys (ns, name, rights, salt, hash, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (namespace, name, json.dumps(list(rights)), salt, hash, at),
        )
        return int(cursor.lastrowid or 0)

    def revoke_api_key(self, key_id: int, at: str) -> bool:
        cursor = self.connection.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (at, key_id)
        )
        return cursor.rowcount > 0


def _key(row: tuple[Any, ...]) -> ApiKey:
    key_id, ns, name, rights, salt, hashed, created_at, revoked_at = row
    return ApiKey(key_id, ns, name, tuple(json.loads(rights)), salt, hashed, created_at, revoked_at)
