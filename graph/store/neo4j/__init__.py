"""The Neo4j store (store.py), one transaction of it (tx.py) with its reads of history
(history.py), API keys (keys.py) and erasure (purge.py), and the schema it creates
(schema.py). Its statements are files under the top-level cypher/ folder.

This module only knows Neo4j's URLs, so that choosing a store needs no driver."""

from __future__ import annotations

SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")


def is_neo4j_url(url: str) -> bool:
    return url.split("://", 1)[0] in SCHEMES
