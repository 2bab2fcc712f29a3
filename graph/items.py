"""Items as callers send them, and what they become before the planner sees them.

``normalize_items`` turns raw (type, value) pairs into normalized ``LinkItem``s under a
namespace's rules, or raises InvalidInput with every problem of every item by index; bad
input never reaches the store. ``outcome_record`` is the JSON-ready answer for one item, the
shape idempotent replays store and answer.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graph.errors import InvalidInput
from graph.model import Conflict, Identifier, Linked, LinkItem, Merged, Moved, Outcome
from graph.normalize import InvalidValue, attribute_errors, normalize_type, normalize_value
from graph.rules import Rules


@dataclass(frozen=True, slots=True)
class LinkRequest:
    """One item as a caller sent it: (type, value) pairs, not yet normalized. ``names``
    optionally names each value's field in the caller's own body (``browserId``), so that
    errors point at what the caller wrote."""

    identifiers: Sequence[tuple[Any, Any]]
    attributes: Mapping[str, Any] = field(default_factory=dict)
    names: Sequence[str] = ()


def normalize_items(
    requests: Sequence[LinkRequest], rules: Rules, *, min_identifiers: int = 2
) -> list[LinkItem]:
    """Normalized items, or InvalidInput with every problem of every item by index. An item
    lacking an identifier of a type the rules generate gets one, used if it creates a profile."""
    items: list[LinkItem] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, request in enumerate(requests):
        item, item_errors = _normalize_item(request, rules, min_identifiers)
        if item_errors:
            errors[index] = item_errors
        else:
            items.append(item)
    if errors:
        raise InvalidInput(f"{len(errors)} invalid item(s); nothing was written", items=errors)
    return items


def _normalize_item(
    request: LinkRequest, rules: Rules, min_identifiers: int
) -> tuple[LinkItem, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    identifiers: dict[str, Identifier] = {}
    for position, (raw_type, raw_value) in enumerate(request.identifiers):
        name = request.names[position] if request.names else f"identifiers.{position}.value"
        try:
            type_ = normalize_type(raw_type)
        except InvalidValue as error:
            errors[f"identifiers.{position}.type"] = [str(error)]
            continue
        try:
            identifier = Identifier(type_, normalize_value(type_, raw_value, rules))
        except InvalidValue as error:
            errors[name] = [str(error)]
            continue
        if identifier.key in identifiers:
            errors[name.removesuffix(".value")] = ["the same identifier appears twice in this item"]
        identifiers[identifier.key] = identifier
    if not errors and len(identifiers) < min_identifiers:
        errors["identifiers"] = [
            f"an item needs at least {min_identifiers} distinct identifier(s) seen together"
        ]
    errors.update(attribute_errors(dict(request.attributes)))
    present = {identifier.type for identifier in identifiers.values()}
    generated = tuple(
        Identifier(type_, str(uuid.uuid4()))
        for type_ in rules.generated_types
        if type_ not in present
    )
    return LinkItem(tuple(identifiers.values()), dict(request.attributes), generated), errors


def outcome_record(index: int, outcome: Outcome) -> dict[str, Any]:
    """An outcome as JSON-ready data."""
    record: dict[str, Any] = {
        "index": index,
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


def mentioned_in(response: Mapping[str, Any]) -> tuple[list[int], list[str]]:
    """The profile ids and identifier keys a stored answer ``{"results": [outcome_record,
    ...]}`` names: each result's ``profile_id``, ``absorbed``, ``moved_from``, ``profiles``,
    and its ``replaced`` keys. A purge erases every stored answer naming the person; the
    SQLite store reads answers the same way in SQL (graph/store/sqlite/purge.py)."""
    ids: dict[int, None] = {}
    keys: dict[str, None] = {}
    for result in response.get("results", ()):
        if isinstance(result.get("profile_id"), int):
            ids[result["profile_id"]] = None
        for name in ("absorbed", "moved_from", "profiles"):
            ids.update(dict.fromkeys(result.get(name, ())))
        keys.update(dict.fromkeys(result.get("replaced", ())))
    return list(ids), list(keys)


def request_digest(operation: str, source: str | None, items: Sequence[LinkItem]) -> str:
    """What makes two requests the same request, for idempotent replay."""
    canonical = [
        [[i.type, i.value] for i in item.identifiers] + [dict(item.attributes)] for item in items
    ]
    text = json.dumps([operation, source, canonical], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
