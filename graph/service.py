"""Use cases: what a caller of idgraph can do, whatever face (HTTP dialect, CLI) it comes in by.

Each write validates and normalizes its input first (bad input never reaches the store), then
runs load -> plan -> apply inside one store transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graph.erasure import ErasureUseCases
from graph.errors import InvalidInput, NotFound, RequestIdReused
from graph.history import HistoryUseCases
from graph.items import LinkRequest, normalize_items, outcome_record, request_digest
from graph.lookups import cursor_position, live_profile, lookup_identifier, profile_holding
from graph.model import (
    ConflictRecord,
    GraphState,
    Identifier,
    LinkItem,
    Outcome,
    ProfileView,
    Provenance,
    utc_now,
)
from graph.normalize import attribute_errors
from graph.planner import plan_attribute_update, plan_links, plan_merge
from graph.rules import RuleBook, Rules
from graph.store.base import ReadTx, Store, WriteTx

__all__ = ["IdentityService", "LinkRequest", "LinkResult"]


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


@dataclass(frozen=True, slots=True)
class ProfilePage:
    profiles: tuple[ProfileView, ...]
    next_cursor: str | None


class IdentityService(HistoryUseCases, ErasureUseCases):
    def __init__(
        self,
        store: Store,
        rulebook: RuleBook | None = None,
        *,
        clock: Callable[[], str] = utc_now,
        on_outcomes: Callable[[Sequence[Mapping[str, Any]]], None] | None = None,
    ) -> None:
        """``on_outcomes`` is told the result records of every committed link batch and
        merge (not of dry runs or replays): the app counts them for /metrics."""
        self.store = store
        self.rulebook = rulebook or RuleBook()
        self._clock = clock
        self._on_outcomes = on_outcomes

    def rules(self, namespace: str, dialect: str = "native") -> Rules:
        """The namespace's rules for requests coming in by ``dialect`` (a face of the API)."""
        return self.rulebook.for_namespace(namespace, dialect)

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
        dialect: str = "native",
        min_identifiers: int = 2,
        existing_anchor: bool = False,
    ) -> LinkResult:
        """Apply a batch of link items in one transaction; replaying a request id answers
        the first results and changes nothing. With ``existing_anchor`` every item's first
        identifier must already be in a profile (an update), else NotFound and nothing is
        written."""
        rules = self.rules(namespace, dialect)
        items = normalize_items(requests, rules, min_identifiers=min_identifiers)
        digest = request_digest(operation, source, items) if request_id else ""
        rid = request_id or uuid.uuid4().hex

        def work(tx: WriteTx) -> LinkResult:
            if request_id:
                replay = _replay(tx, namespace, request_id, digest, dry_run)
                if replay:
                    return replay
            provenance = Provenance(rid, self._clock(), operation, source)
            outcomes = self._plan_and_apply(
                tx, namespace, items, rules, provenance,
                dry_run=dry_run, existing_anchor=existing_anchor,
            )  # fmt: skip
            result = LinkResult(
                rid, tuple(outcome_record(*o) for o in enumerate(outcomes)), dry_run
            )
            if request_id and not dry_run:
                tx.save_request(namespace, request_id, digest, result.as_record())
            return result

        if not items:
            return LinkResult(rid, (), dry_run=dry_run)
        if dry_run:
            return self.store.read(work)
        return self._committed(self.store.write(work))

    def link_across(
        self,
        requests: Sequence[tuple[str, LinkRequest]],
        *,
        operation: str,
        dialect: str,
        source: str | None = None,
    ) -> LinkResult:
        """Items of several namespaces (Adnuntius folders) in one transaction. Each namespace's
        items are decided together, under its own rules; nothing crosses namespaces. Results
        are in request order."""
        groups: dict[str, list[int]] = {}
        for index, (namespace, _) in enumerate(requests):
            groups.setdefault(namespace, []).append(index)
        normalized: dict[str, list[LinkItem]] = {}
        errors: dict[int, Mapping[str, list[str]]] = {}
        for namespace, indexes in groups.items():
            try:
                normalized[namespace] = normalize_items(
                    [requests[i][1] for i in indexes], self.rules(namespace, dialect)
                )
            except InvalidInput as invalid:
                errors.update({indexes[i]: fields for i, fields in invalid.items.items()})
        if errors:
            raise InvalidInput(f"{len(errors)} invalid item(s); nothing was written", items=errors)
        rid = uuid.uuid4().hex

        def work(tx: WriteTx) -> LinkResult:
            provenance = Provenance(rid, self._clock(), operation, source)
            results: dict[int, Mapping[str, Any]] = {}
            for namespace, items in normalized.items():
                rules = self.rules(namespace, dialect)
                indexes = groups[namespace]
                outcomes = self._plan_and_apply(
                    tx, namespace, items, rules, provenance, indexes=indexes
                )
                for index, outcome in zip(groups[namespace], outcomes, strict=True):
                    results[index] = outcome_record(index, outcome)
            return LinkResult(rid, tuple(results[i] for i in range(len(requests))))

        return self._committed(self.store.write(work)) if requests else LinkResult(rid, ())

    def _plan_and_apply(
        self,
        tx: WriteTx,
        namespace: str,
        items: Sequence[LinkItem],
        rules: Rules,
        provenance: Provenance,
        *,
        indexes: Sequence[int] | None = None,
        dry_run: bool = False,
        existing_anchor: bool = False,
    ) -> tuple[Outcome, ...]:
        """Load what the items touch, decide them, and write the plan (unless a dry run).
        ``indexes``: the items' positions in the request, when it spans namespaces."""
        keys = {identifier.key for item in items for identifier in item.identifiers}
        state = tx.load_state(namespace, keys)
        if existing_anchor:
            _require_known(state, namespace, [item.identifiers[0] for item in items])
        plan = plan_links(items, state, rules, provenance, indexes)
        if not dry_run:
            tx.apply(namespace, plan.changes)
        return plan.outcomes

    def merge(
        self,
        namespace: str,
        target: tuple[str, str],
        sources: Sequence[tuple[str, str]],
        *,
        dialect: str = "native",
        operation: str = "merge",
        source: str | None = None,
    ) -> Mapping[str, Any]:
        """Merge the profiles of ``sources`` into the profile of ``target`` (see
        ``plan_merge``), recorded as merges with their links so that it can be undone. Every
        identifier must exist: NotFound names the missing ones and nothing is written."""
        rules = self.rules(namespace, dialect)
        wanted = [lookup_identifier(t, v, rules, name) for t, v, name in _named(target, sources)]
        rid = uuid.uuid4().hex

        def work(tx: WriteTx) -> Mapping[str, Any]:
            state = tx.load_state(namespace, {identifier.key for identifier in wanted})
            _require_known(state, namespace, wanted)
            provenance = Provenance(rid, self._clock(), operation, source)
            keys = [identifier.key for identifier in wanted]
            plan = plan_merge(keys[0], keys[1:], state, rules, provenance)
            tx.apply(namespace, plan.changes)
            return outcome_record(0, plan.outcomes[0])

        record = self.store.write(work)
        if self._on_outcomes:
            self._on_outcomes((record,))
        return record

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
            pid = live_profile(tx, namespace, profile_id)
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
            return tx.profile_view(namespace, live_profile(tx, namespace, profile_id))

        return self.store.read(work)

    def profile_by_identifier(
        self, namespace: str, type_: str, value: str, *, dialect: str = "native"
    ) -> ProfileView:
        identifier = lookup_identifier(type_, value, self.rules(namespace, dialect))

        def work(tx: ReadTx) -> ProfileView:
            return tx.profile_view(namespace, profile_holding(tx, namespace, identifier))

        return self.store.read(work)

    def list_profiles(
        self,
        namespace: str,
        *,
        having: Iterable[str] = (),
        updated_from: str | None = None,
        updated_before: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> ProfilePage:
        """Live profiles in id order, holding an identifier of every type in ``having``."""
        after_id = cursor_position(cursor)
        views = self.store.read(
            lambda tx: tx.list_profiles(
                namespace,
                having=having,
                updated_from=updated_from,
                updated_before=updated_before,
                after_id=after_id,
                limit=limit,
            )
        )
        next_cursor = str(views[-1].id) if len(views) == limit else None
        return ProfilePage(tuple(views), next_cursor)

    def conflicts(
        self,
        namespace: str,
        *,
        since: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> ConflictPage:
        after_id = cursor_position(cursor)
        records = self.store.read(
            lambda tx: tx.conflicts(namespace, since=since, after_id=after_id, limit=limit)
        )
        next_cursor = str(records[-1].id) if len(records) == limit else None
        return ConflictPage(tuple(records), next_cursor)

    def ping(self) -> None:
        self.store.ping()

    def _committed(self, result: LinkResult) -> LinkResult:
        if self._on_outcomes and not result.replayed:
            self._on_outcomes(result.results)
        return result


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


def _named(
    target: tuple[str, str], sources: Sequence[tuple[str, str]]
) -> list[tuple[str, str, str]]:
    """(type, value, field name) of a merge's target and sources, for error messages."""
    return [(*target, "target")] + [(*pair, f"sources.{i}") for i, pair in enumerate(sources)]


def _require_known(state: GraphState, namespace: str, identifiers: Iterable[Identifier]) -> None:
    missing = [i for i in identifiers if i.key not in state.identifiers]
    if missing:
        named = ", ".join(f"{i.type}:{i.value}" for i in dict.fromkeys(missing))
        raise NotFound(f"no identifier {named} in {namespace}")
