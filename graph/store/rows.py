"""What a write stores, decided once for every store: a change set as named rows.

``change_rows`` turns the planner's ChangeSet into the writes that keep it, in the order a
store applies them. Each ``Write`` is a kind of change (named as the Neo4j statement that runs
it), its rows, and the parameters its rows share besides the namespace (the request's time and
id). Rows are named as SQLite's columns and Neo4j's properties are, and hold plain data:
numbers, text, None, lists and maps. A store encodes what it cannot keep as it is: both keep a
map as JSON text, and SQLite a list too.

The migration copies SQLite's rows into Neo4j in the same vocabulary (``conflict_row``,
``request_row``, ``attribute_map``), so adding a column means adding it here, to the SQL and
Cypher that write it, and to the SQLite schema: the translation itself is not repeated.

Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graph.model import Attribute, ChangeSet, Identifier, MergeRow
from graph.replays import mentioned_in

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Write:
    kind: str
    rows: list[Row]
    params: Row = field(default_factory=dict)


def change_rows(changes: ChangeSet) -> list[Write]:
    """Every write of a change set, in order, but the id sequences, which each store keeps
    its own way. Besides the rows themselves, the history time travel reads: a placement for every
    identifier put in a profile (or in none), a version of every attribute map replaced, both
    at the request's instant."""
    p = changes.provenance
    at, rid = p.at, p.request_id
    stamp = {"at": at, "request_id": rid}
    identifiers = [
        {"key": i.key, "type": i.type, "value": i.value, "profile_id": i.profile_id,
         "created_at": at, "request_id": rid}
        for i in changes.new_identifiers
    ]  # fmt: skip
    relabels = [{"key": key, "profile_id": pid} for key, pid in changes.relabels]
    merges = merge_rows(changes.merges)
    return [
        Write(
            "create_profiles",
            [
                {
                    "id": r.id,
                    "created_at": r.created_at,
                    "updated_at": r.updated_at,
                    "recognized": r.recognized,
                    "parent_id": r.parent_id,
                    "request_id": rid,
                }
                for r in changes.new_profiles
            ],
        ),  # fmt: skip
        Write(
            "update_profiles",
            [
                {"id": r.id, "updated_at": r.updated_at, "recognized": r.recognized}
                for r in changes.updated_profiles
            ],
        ),  # fmt: skip
        Write("upsert_identifiers", identifiers),
        Write("move_identifiers", relabels),
        Write(
            "create_links",
            [
                {
                    "id": link.id,
                    "a_key": link.a,
                    "b_key": link.b,
                    "operation": p.operation,
                    "source": p.source,
                    "request_id": rid,
                    "item_index": link.item_index,
                    "merge_id": link.merge_id,
                    "created_at": at,
                    "ended_at": at if link.ended_reason else None,
                    "end_reason": link.ended_reason,
                    "ended_request_id": rid if link.ended_reason else None,
                }
                for link in changes.new_links
            ],
        ),  # fmt: skip
        Write(
            "end_links",
            [{"id": link_id, "end_reason": reason} for link_id, reason in changes.ended_links],
            stamp,
        ),
        Write(
            "create_placements",
            [{"key": row["key"], "profile_id": row["profile_id"]} for row in identifiers]
            + relabels,
            stamp,
        ),
        Write("merge_profiles", merges, stamp),
        Write("repoint_aliases", [{"absorbed": m["absorbed"], "live": m["live"]} for m in merges]),
        Write("undo_merges", [{"id": merge_id} for merge_id in changes.undone_merges], stamp),
        Write(
            "set_merged_into",
            [{"id": pid, "merged_into": None} for pid in changes.restored]
            + [{"id": alias, "merged_into": live} for alias, live in changes.repointed],
        ),
        Write(
            "set_attributes",
            [
                {"id": pid, "attributes": attribute_map(attributes)}
                for pid, attributes in changes.attributes.items()
            ],
        ),  # fmt: skip
        Write(
            "create_attribute_versions",
            [
                {"profile_id": pid, "attributes": values_of(attributes)}
                for pid, attributes in changes.attributes.items()
            ],
            stamp,
        ),  # fmt: skip
        Write(
            "create_attribute_writes",
            [
                {
                    "profile_id": w.profile_id,
                    "via_key": w.via,
                    "name": w.name,
                    "value": None if w.value is None else dump_json(w.value),
                    "position": position,
                }
                for position, w in enumerate(changes.attribute_writes)
            ],
            {"operation": p.operation, "source": p.source, **stamp},
        ),  # fmt: skip
        Write(
            "create_conflicts",
            [
                conflict_row(c.item_index, c.rule, c.profiles, c.identifiers)
                for c in changes.conflicts
            ],
            stamp,
        ),
        Write(
            "create_bans",
            [
                {
                    "id": b.id,
                    "a_key": b.a,
                    "b_key": b.b,
                    "b_type": b.b_type,
                    "reason": b.reason,
                    "created_by": b.created_by,
                    "created_at": b.created_at,
                    "link_id": b.link_id,
                }
                for b in changes.new_bans
            ],
            {"request_id": rid},
        ),  # fmt: skip
    ]


def merge_rows(merges: list[MergeRow]) -> list[Row]:
    """Merge rows with the live survivor of each absorbed profile: within one batch A may be
    absorbed by B and B later by C, and an alias always names a live profile (C)."""
    absorbed_by = {m.absorbed: m.survivor for m in merges}

    def live(pid: int) -> int:
        while pid in absorbed_by:
            pid = absorbed_by[pid]
        return pid

    return [
        {"id": m.id, "absorbed": m.absorbed, "survivor": m.survivor, "live": live(m.survivor),
         "item_index": m.item_index, "survivor_key": m.survivor_key,
         "absorbed_key": m.absorbed_key}
        for m in merges
    ]  # fmt: skip


def conflict_row(
    item_index: int, rule: str, profiles: Iterable[int], identifiers: Iterable[Identifier]
) -> Row:
    """A refused item: its identifiers as [type, value] pairs, and their keys, which a purge
    looks for."""
    named = list(identifiers)
    return {
        "item_index": item_index,
        "rule": rule,
        "profiles": list(profiles),
        "identifiers": [[i.type, i.value] for i in named],
        "keys": [i.key for i in named],
    }


def request_row(request_id: str, digest: str, at: str, response: Mapping[str, Any]) -> Row:
    """An applied request kept for replay, with the profile ids and identifier keys its answer
    names (``mentioned_in``), which a purge looks for."""
    profiles, keys = mentioned_in(response)
    return {
        "request_id": request_id,
        "digest": digest,
        "created_at": at,
        "response": dump_json(response),
        "profiles": profiles,
        "keys": keys,
    }


def attribute_map(attributes: Mapping[str, Attribute]) -> dict[str, dict[str, Any]]:
    """A profile's attributes with the write each came from, as stored: by name."""
    return {
        name: {"value": a.value, "via": a.via, "at": a.at, "request_id": a.request_id}
        for name, a in sorted(attributes.items())
    }


def attributes_from(stored: Mapping[str, Mapping[str, Any]]) -> dict[str, Attribute]:
    """The inverse of ``attribute_map``."""
    return {
        name: Attribute(entry["value"], entry["via"], entry["at"], entry["request_id"])
        for name, entry in stored.items()
    }


def values_of(attributes: Mapping[str, Attribute]) -> dict[str, Any]:
    """An attribute map as the values a reader sees (what an attribute version keeps)."""
    return {name: attribute.value for name, attribute in sorted(attributes.items())}


def dump_json(value: Any) -> str:
    """JSON text as both stores keep it: compact, Unicode as it is."""
    return _ENCODER.encode(value)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
