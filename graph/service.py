"""Use cases: what a caller of idgraph can do, whatever face (HTTP dialect, CLI) it comes in by.

Each write validates and normalizes its input first (bad input never reaches the store), then
runs load -> plan -> apply inside one store transaction.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graph.errors import InvalidInput, NotFound, RequestIdReused
from graph.model import (
    Conflict,
    ConflictRecord,
    Identifier,
    LinkItem,
    Merged,
    Moved,
    Outcome,
    ProfileView,
    Provenance,
    utc_now,
)
from graph.normalize import (
    InvalidValue,
    attribute_errors,
    normalize_lookup,
    normalize_type,
    normalize_value,
)
from graph.planner import plan_attribute_update, plan_links
from graph.rules import RuleBook, Rules
from graph.store.base import ReadTx, Store, WriteTx


@dataclass(frozen=True, slots=True)
class LinkRequest:
    """One item as a caller sent it: (type, value) pairs, not yet normalized."""

    identifiers: Sequence[tuple[Any, Any]]
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LinkResult:
    request_id: str
    results: tuple[Mapping[str, Any], ...]
    dry_run: bool = False
    replayed: bool = False

    def as_record(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "results": list(self.results)}


@dataclass(frozen=True, slots=True)
class ConflictPage:
    conflicts: tuple[ConflictRecord, ...]
    next_cursor: str | None


class IdentityService:
    def __init__(
        self,
        store: Store,
        rulebook: RuleBook | None = None,
        *,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        self.store = store
        self.rulebook = rulebook or RuleBook()
        self._clock = clock

    def rules(self, namespace: str) -> Rules:
        return self.rulebook.for_namespace(namespace)

    # --- writes -------------------------------------------------------------------------------

    def link(
        self,
        namespace: str,
        requests: Sequence[LinkRequest],
        *,
        source: str | None = None,
        request_id: str | None = None,
        dry_run: bool = False,
        operation: str = "native",
    ) -> LinkResult:
        """Apply a batch of link items in one transaction; replaying a request id answers
        the first results and changes nothing."""
        rules = self.rules(namespace)
        items = normalize_items(requests, rules)
        digest = _digest(operation, source, items) if request_id else ""
        rid = request_id or uuid.uuid4().hex

        def work(tx: WriteTx) -> LinkResult:
            if request_id:
                replay = _replay(tx, namespace, request_id, digest, dry_run)
                if replay:
                    return replay
            keys = {identifier.key for item in items for identifier in item.identifiers}
            state = tx.load_state(namespace, keys)
            provenance = Provenance(rid, self._clock(), operation, source)
            plan = plan_links(items, state, rules, provenance)
            results = tuple(outcome_record(i, outcome) for i, outcome in enumerate(plan.outcomes))
            if dry_run:
                return LinkResult(rid, results, dry_run=True)
            tx.apply(namespace, plan.changes)
            result = LinkResult(rid, results)
            if request_id:
                tx.save_request(namespace, request_id, digest, result.as_record())
            return result

        if not items:
            return LinkResult(rid, (), dry_run=dry_run)
        return self.store.read(work) if dry_run else self.store.write(work)

    def update_attributes(
        self,
        namespace: str,
        profile_id: int,
        attributes: Mapping[str, Any],
        *,
        source: str | None = None,
    ) -> ProfileView:
        """Write profile-level attributes; ``None`` deletes one. An absorbed id writes to
        its survivor."""
        errors = attribute_errors(attributes)
        if errors:
            raise InvalidInput("invalid attributes; nothing was written", fields=errors)

        def work(tx: WriteTx) -> ProfileView:
            pid = _live_profile(tx, namespace, profile_id)
            provenance = Provenance(uuid.uuid4().hex, self._clock(), "attributes", source)
            state = tx.load_profiles(namespace, [pid])
            changes = plan_attribute_update(
                state, pid, dict(attributes), self.rules(namespace), provenance
            )
            tx.apply(namespace, changes)
            return tx.profile_view(namespace, pid)

        return self.store.write(work)

    # --- reads --------------------------------------------------------------------------------

    def profile(self, namespace: str, profile_id: int) -> ProfileView:
        """A profile by id; an absorbed id answers its survivor."""

        def work(tx: ReadTx) -> ProfileView:
            return tx.profile_view(namespace, _live_profile(tx, namespace, profile_id))

        return self.store.read(work)

    def profile_by_identifier(self, namespace: str, type_: str, value: str) -> ProfileView:
        identifier = _lookup_identifier(type_, value, self.rules(namespace))

        def work(tx: ReadTx) -> ProfileView:
            pid = tx.profile_of(namespace, identifier.key)
            view = tx.profile_view(namespace, pid) if pid is not None else None
            if view is None:
                raise NotFound(f"no identifier {identifier.type}:{identifier.value} in {namespace}")
            return view

        return self.store.read(work)

    def conflicts(
        self,
        namespace: str,
        *,
        since: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> ConflictPage:
        after_id = _cursor_position(cursor)
        records = self.store.read(
            lambda tx: tx.conflicts(namespace, since=since, after_id=after_id, limit=limit)
        )
        next_cursor = str(records[-1].id) if len(records) == limit else None
        return ConflictPage(tuple(records), next_cursor)

    def ping(self) -> None:
        self.store.ping()


def normalize_items(requests: Sequence[LinkRequest], rules: Rules) -> list[LinkItem]:
    """Normalized items, or InvalidInput with every problem of every item by index."""
    items: list[LinkItem] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, request in enumerate(requests):
        item, item_errors = _normalize_item(request, rules)
        if item_errors:
            errors[index] = item_errors
        else:
            items.append(item)
    if errors:
        raise InvalidInput(f"{len(errors)} invalid item(s); nothing was written", items=errors)
    return items


def _normalize_item(request: LinkRequest, rules: Rules) -> tuple[LinkItem, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    identifiers: dict[str, Identifier] = {}
    for position, (raw_type, raw_value) in enumerate(request.identifiers):
        try:
            type_ = normalize_type(raw_type)
        except InvalidValue as error:
            errors[f"identifiers.{position}.type"] = [str(error)]
            continue
        try:
            identifier = Identifier(type_, normalize_value(type_, raw_value, rules))
        except InvalidValue as error:
            errors[f"identifiers.{position}.value"] = [str(error)]
            continue
        if identifier.key in identifiers:
            errors[f"identifiers.{position}"] = ["the same identifier appears twice in this item"]
        identifiers[identifier.key] = identifier
    if not errors and len(identifiers) < 2:
        errors["identifiers"] = ["an item needs at least 2 distinct identifiers seen together"]
    errors.update(attribute_errors(dict(request.attributes)))
    return LinkItem(tuple(identifiers.values()), dict(request.attributes)), errors


def outcome_record(index: int, outcome: Outcome) -> dict[str, Any]:
    """An outcome as JSON-ready data: the shape idempotent replays store and answer."""
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
    return record


def _replay(
    tx: ReadTx, namespace: str, request_id: str, digest: str, dry_run: bool
) -> LinkResult | None:
    stored = tx.find_request(namespace, request_id)
    if stored is None:
        return None
    if stored.digest != digest:
        raise RequestIdReused(
            f"request_id {request_id!r} was already used with a different body; "
            "use a new request_id for a new request"
        )
    results = tuple(stored.response["results"])
    return LinkResult(request_id, results, dry_run=dry_run, replayed=True)


def _lookup_identifier(type_: str, value: str, rules: Rules) -> Identifier:
    field_name = "type"
    try:
        clean_type = normalize_type(type_)
        field_name = "value"
        return normalize_lookup(clean_type, value, rules)
    except InvalidValue as error:
        raise InvalidInput(f"{field_name}: {error}", fields={field_name: [str(error)]}) from error


def _live_profile(tx: ReadTx, namespace: str, profile_id: int) -> int:
    pid = tx.resolve_profile(namespace, profile_id)
    if pid is None:
        raise NotFound(f"no profile {profile_id} in {namespace}")
    return pid


def _cursor_position(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise InvalidInput("not a valid cursor", fields={"cursor": ["not a valid cursor"]})
    return int(cursor)


def _digest(operation: str, source: str | None, items: Sequence[LinkItem]) -> str:
    canonical = [
        [[i.type, i.value] for i in item.identifiers] + [dict(item.attributes)] for item in items
    ]
    text = json.dumps([operation, source, canonical], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
