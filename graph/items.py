"""Items as callers send them, and what they become before the planner sees them.

``normalize_items`` turns raw (type, value) pairs into normalized ``LinkItem``s under a
namespace's rules, or raises InvalidInput with every problem of every item by index; bad
input never reaches the store. ``item_errors`` answers the same problems without raising, for
a face that reports them beside the ones its schema found (app/api/blueprint.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graph.errors import InvalidInput
from graph.model import Identifier, LinkItem
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


def item_errors(
    requests: Mapping[int, LinkRequest], rules: Rules, *, min_identifiers: int = 2
) -> dict[int, dict[str, list[str]]]:
    """The problems ``normalize_items`` would raise, by the caller's own index of each item
    (its position in a batch of which only some items are checked)."""
    return normalize_each(requests, rules, min_identifiers=min_identifiers)[1]


def normalize_each(
    requests: Mapping[int, LinkRequest], rules: Rules, *, min_identifiers: int = 2
) -> tuple[dict[int, LinkItem], dict[int, dict[str, list[str]]]]:
    """The items that normalize, and the problems of those that do not, each by the caller's
    own index: for a face that applies the good items and reports the bad (an import)."""
    items: dict[int, LinkItem] = {}
    errors: dict[int, dict[str, list[str]]] = {}
    for index, request in requests.items():
        item, problems = _normalize_item(request, rules, min_identifiers)
        if problems:
            errors[index] = problems
        else:
            items[index] = item
    return items, errors


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
