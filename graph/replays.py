"""Requests kept for idempotent replay: what makes two requests the same (``request_digest``),
their answer as a store keeps it (``record_of``, read back by ``results_of``), and the profile
ids and identifier keys an answer names, which a purge looks for (``mentioned_in``).

A kept answer is JSON: ``{"request_id", "results": [{"index", "outcome", "profile_id", ...}]}``,
each result with the fields its outcome has (``absorbed``, ``moved_from``, ``reason`` and
``profiles``, ``replaced``). Stores written by earlier versions hold the same shape.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from graph.model import (
    Conflict,
    Created,
    ItemResult,
    Linked,
    LinkItem,
    Merged,
    Moved,
    Noop,
    Outcome,
)

_OUTCOMES: dict[str, type[Outcome]] = {
    kind.kind: kind for kind in (Created, Linked, Merged, Moved, Noop, Conflict)
}


def request_digest(operation: str, source: str | None, items: Sequence[LinkItem]) -> str:
    """What makes two requests the same request, for idempotent replay."""
    canonical = [
        [[i.type, i.value] for i in item.identifiers] + [dict(item.attributes)] for item in items
    ]
    text = json.dumps([operation, source, canonical], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def record_of(request_id: str, results: Sequence[ItemResult]) -> dict[str, Any]:
    """An answer as a store keeps it."""
    return {"request_id": request_id, "results": [_result_record(r) for r in results]}


def results_of(record: Mapping[str, Any], namespace: str) -> tuple[ItemResult, ...]:
    """The results of a kept answer, as they were first answered."""
    return tuple(
        ItemResult(result["index"], _outcome(result), namespace) for result in record["results"]
    )


def _result_record(result: ItemResult) -> dict[str, Any]:
    outcome = result.outcome
    record: dict[str, Any] = {
        "index": result.index,
        "outcome": outcome.kind,
        "profile_id": outcome.profile_id,
    }
    if isinstance(outcome, Merged):
        record["absorbed"] = list(outcome.absorbed)
    elif isinstance(outcome, Moved):
        record["moved_from"] = list(outcome.moved_from)
        if outcome.absorbed:
            record["absorbed"] = list(outcome.absorbed)
    elif isinstance(outcome, Conflict):
        record["reason"] = outcome.reason
        record["profiles"] = list(outcome.profiles)
    if isinstance(outcome, Linked | Merged) and outcome.replaced:
        record["replaced"] = list(outcome.replaced)
    return record


def _outcome(record: Mapping[str, Any]) -> Outcome:
    kind = _OUTCOMES[record["outcome"]]
    fields: dict[str, Any] = {"profile_id": record["profile_id"]}
    for name in ("absorbed", "moved_from", "profiles", "replaced"):
        if name in record:
            fields[name] = tuple(record[name])
    if "reason" in record:
        fields["reason"] = record["reason"]
    return kind(**fields)


def mentioned_in(response: Mapping[str, Any]) -> tuple[list[int], list[str]]:
    """The profile ids and identifier keys a kept answer names: each result's
    ``profile_id``, ``absorbed``, ``moved_from``, ``profiles``, and its ``replaced`` keys. A
    purge erases every kept answer naming the person; the SQLite store reads answers the same
    way in SQL (graph/store/sqlite/purge.py)."""
    ids: dict[int, None] = {}
    keys: dict[str, None] = {}
    for result in response.get("results", ()):
        if isinstance(result.get("profile_id"), int):
            ids[result["profile_id"]] = None
        for name in ("absorbed", "moved_from", "profiles"):
            ids.update(dict.fromkeys(result.get(name, ())))
        keys.update(dict.fromkeys(result.get("replaced", ())))
    return list(ids), list(keys)


def respelled(response: Mapping[str, Any], renamed: Mapping[str, str]) -> dict[str, Any] | None:
    """A kept answer with the ``replaced`` keys it names renamed (old key -> new), as a
    re-keying leaves them (graph/service/rekeying.py); None if it names none of them."""
    results = response.get("results", ())
    if not any(key in renamed for result in results for key in result.get("replaced", ())):
        return None
    return {
        **response,
        "results": [
            {**result, "replaced": [renamed.get(key, key) for key in result["replaced"]]}
            if "replaced" in result
            else result
            for result in results
        ],
    }
