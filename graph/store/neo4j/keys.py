"""The Neo4j store's API keys, mixed into Neo4jTx: ``(:ApiKey)`` nodes, ids from the
``api_key`` sequence (cypher/schema.cypher)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graph.keys import ApiKey

STATEMENTS = ("api_key", "api_keys", "every_api_key", "create_api_key", "revoke_api_key")


class ApiKeyRows:
    """The API-key half of the store protocol (graph/store/base.py)."""

    run: Callable[..., list[dict[str, Any]]]  # Neo4jTx.run: a statement by name, its rows

    def api_key(self, key_id: int) -> ApiKey | None:
        rows = self.run("api_key", id=key_id)
        return _key(rows[0]) if rows else None

    def api_keys(self, namespace: str | None) -> list[ApiKey]:
        if namespace is None:
            return [_key(row) for row in self.run("every_api_key")]
        return [_key(row) for row in self.run("api_keys", ns=namespace)]

    def create_api_key(
        self, namespace: str, name: str, rights: tuple[str, ...], salt: str, hash: str, at: str
    ) -> int:
        rows = self.run(
            "create_api_key", ns=namespace, key_name=name, rights=list(rights), salt=salt,
            hash=hash, at=at,
        )  # fmt: skip
        return rows[0]["id"]

    def revoke_api_key(self, key_id: int, at: str) -> bool:
        return self.run("revoke_api_key", id=key_id, at=at)[0]["revoked"] > 0


def _key(row: dict[str, Any]) -> ApiKey:
    return ApiKey(
        row["id"], row["ns"], row["name"], tuple(row["rights"]), row["salt"], row["hash"],
        row["created_at"], row["revoked_at"],
    )  # fmt: skip
