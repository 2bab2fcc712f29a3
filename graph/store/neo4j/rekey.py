"""The Neo4j store's half of a re-keying (graph/service/rekeying.py), mixed into Neo4jTx: the
identifiers read a page at a time, an identifier folded into its new spelling, and the
refused links and kept answers that name the old one renamed. Cypher cannot read JSON text:
a profile's attributes and a kept answer are rewritten here, in Python."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from graph.model import Identifier, Provenance
from graph.rekey import respelled_pairs
from graph.replays import mentioned_in, respelled
from graph.store.rows import dump_json

STATEMENTS = (
    "rekey_profiles",
    "rename_identifier",
    "fold_placements",
    "fold_identifier",
    "repoint_keys",
    "profile_attributes",
    "conflicts_naming",
    "respell_conflicts",
    "requests_naming",
    "respell_requests",
)


class RekeyRows:
    run: Callable[..., list[dict[str, Any]]]  # Neo4jTx.run: a statement by name, its rows
    identifiers: Callable[..., list[Any]]

    def identifiers_after(
        self, namespace: str, after: str, limit: int
    ) -> list[tuple[str, str, str, int | None]]:
        rows = self.run("identifiers_page", ns=namespace, after=after, limit=limit)
        return [(row["key"], row["type"], row["value"], row["profile_id"]) for row in rows]

    def fold_identifier(
        self, namespace: str, old_key: str, new: Identifier, provenance: Provenance
    ) -> None:
        ns, old = namespace, old_key
        profiles = self.run("rekey_profiles", ns=ns, keys=[old, new.key])[0]["profiles"]
        if self.identifiers(ns, [new.key]):
            self.run("fold_placements", ns=ns, old=old, new=new.key)
            self.run("fold_identifier", ns=ns, old=old, new=new.key)
        else:
            self.run(
                "rename_identifier", ns=ns, old=old, new=new.key, type=new.type, value=new.value
            )
        self.run(
            "repoint_keys", ns=ns, old=old, new=new.key, profiles=profiles,
            at=provenance.at, request_id=provenance.request_id,
        )  # fmt: skip
        rows = []
        for row in self.run("profile_attributes", ns=ns, ids=profiles):
            attributes = json.loads(row["attributes"])
            if any(entry["via"] == old for entry in attributes.values()):
                for entry in attributes.values():
                    entry["via"] = new.key if entry["via"] == old else entry["via"]
                rows.append({"id": row["id"], "attributes": dump_json(attributes)})
        if rows:
            self.run("set_attributes", ns=ns, rows=rows)

    def rename_mentions(self, namespace: str, renamed: Mapping[str, Identifier]) -> None:
        if not renamed:
            return
        olds = list(renamed)
        conflicts = []
        for row in self.run("conflicts_naming", ns=namespace, keys=olds):
            pairs = respelled_pairs(
                [list(p) for p in zip(row["types"], row["values"], strict=True)], renamed
            )
            if pairs is not None:
                conflicts.append({
                    "id": row["id"],
                    "types": [t for t, _ in pairs],
                    "values": [v for _, v in pairs],
                    "keys": [f"{t}:{v}" for t, v in pairs],
                })  # fmt: skip
        if conflicts:
            self.run("respell_conflicts", ns=namespace, rows=conflicts)
        keys = {old: new.key for old, new in renamed.items()}
        requests = []
        for row in self.run("requests_naming", ns=namespace, keys=olds):
            response = respelled(json.loads(row["response"]), keys)
            if response is not None:
                requests.append({
                    "request_id": row["request_id"],
                    "response": dump_json(response),
                    "keys": mentioned_in(response)[1],
                })  # fmt: skip
        if requests:
            self.run("respell_requests", ns=namespace, rows=requests)
