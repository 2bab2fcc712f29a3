"""Linking: identifiers seen together become one profile, under the namespace's rules; an
explicit merge of profiles; attribute writes to a profile."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graph.errors import InvalidInput, NotFound, Refused, RequestIdReused
from graph.items import LinkRequest, normalize_items
from graph.model import (
    Conflict,
    GraphState,
    Identifier,
    ItemResult,
    LinkItem,
    Outcome,
    ProfileView,
    Provenance,
)
from graph.normalize import attribute_errors
from graph.planner import plan_attribute_update, plan_links, plan_merge
from graph.replays import record_of, request_digest, results_of
from graph.rules import RuleBook, Rules
from graph.service.base import UseCase, new_request_id
from graph.service.lookups import live_profile, lookup_identifier
from graph.store.base import ReadTx, Store, WriteTx

__all__ = ["LinkRequest", "LinkResult", "Linking"]


@dataclass(frozen=True, slots=True)
class LinkResult:
    request_id: str
    results: tuple[ItemResult, ...]
    dry_run: bool = False
    replayed: bool = False


class Linking(UseCase):
    def __init__(
        self,
        store: Store,
        rulebook: RuleBook,
        clock: Callable[[], str],
        *,
        on_outcomes: Callable[[Sequence[ItemResult]], None] | None = None,
    ) -> None:
        super().__init__(store, rulebook, clock)
        self._on_outcomes = on_outcomes

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
        rid = request_id or new_request_id()
        if not items:
            return LinkResult(rid, (), dry_run=dry_run)

        def work(tx: WriteTx) -> LinkResult:
            if request_id:
                replay = _replay(tx, namespace, request_id, digest, dry_run)
                if replay:
                    return replay
            provenance = self._provenance(operation, source, rid)
            outcomes = self._plan_and_apply(
                tx, namespace, items, rules, provenance,
                dry_run=dry_run, existing_anchor=existing_anchor,
            )  # fmt: skip
            results = tuple(
                ItemResult(index, outcome, namespace) for index, outcome in enumerate(outcomes)
            )
            if request_id and not dry_run:
                tx.save_request(namespace, request_id, digest, record_of(request_id, results))
            return LinkResult(rid, results, dry_run)

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
        request_id = new_request_id()

        def work(tx: WriteTx) -> LinkResult:
            provenance = self._provenance(operation, source, request_id)
            results: dict[int, ItemResult] = {}
            for namespace, items in normalized.items():
                rules = self.rules(namespace, dialect)
                indexes = groups[namespace]
                outcomes = self._plan_and_apply(
                    tx, namespace, items, rules, provenance, indexes=indexes
                )
                for index, outcome in zip(indexes, outcomes, strict=True):
                    results[index] = ItemResult(index, outcome, namespace)
            return LinkResult(request_id, tuple(results[i] for i in range(len(requests))))

        return self._committed(self.store.write(work)) if requests else LinkResult(request_id, ())

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
    ) -> ItemResult:
        """Merge the profiles of ``sources`` into the profile of ``target`` (see
        ``plan_merge``), recorded as merges with their links so that it can be undone. Every
        identifier must exist: NotFound names the missing ones and nothing is written. A merge
        the rules refuse is recorded as a conflict, then raised as Refused ``conflict``."""
        rules = self.rules(namespace, dialect)
        wanted = [lookup_identifier(t, v, rules, name) for t, v, name in _named(target, sources)]
        request_id = new_request_id()

        def work(tx: WriteTx) -> ItemResult:
            state = tx.load_state(namespace, {identifier.key for identifier in wanted})
            _require_known(state, namespace, wanted)
            provenance = self._provenance(operation, source, request_id)
            keys = [identifier.key for identifier in wanted]
            plan = plan_merge(keys[0], keys[1:], state, rules, provenance)
            tx.apply(namespace, plan.changes)
            return ItemResult(0, plan.outcomes[0], namespace)

        result = self.store.write(work)
        if self._on_outcomes:
            self._on_outcomes((result,))
        if isinstance(result.outcome, Conflict):
            reason = result.outcome.reason
            raise Refused(
                "conflict",
                f"the merge would break the rule {reason}; nothing was changed",
                reason=reason,
            )
        return result

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
        request_id = new_request_id()

        def work(tx: WriteTx) -> ProfileView:
            pid = live_profile(tx, namespace, profile_id)
            provenance = self._provenance("attributes", source, request_id)
            state = tx.load_profiles(namespace, [pid])
            changes = plan_attribute_update(
                state, pid, dict(attributes), self.rules(namespace), provenance
            )
            tx.apply(namespace, changes)
            return tx.profile_view(namespace, pid)

        return self.store.write(work)

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
    results = results_of(stored.response, namespace)
    return LinkResult(request_id, results, dry_run=dry_run, replayed=True)


def _named(
    target: tuple[str, str], sources: Sequence[tuple[str, str]]
) -> list[tuple[str, str, str]]:
    """(type, value, field name) of a merge's target and sources, for error messages."""
    return [(*target, "target")] + [(*pair, f"sources.{i}") for i, pair in enumerate(sources)]


def _require_known(state: GraphState, namespace: str, identifiers: Sequence[Identifier]) -> None:
    missing = [i for i in identifiers if i.key not in state.identifiers]
    if missing:
        named = ", ".join(f"{i.type}:{i.value}" for i in dict.fromkeys(missing))
        raise NotFound(f"no identifier {named} in {namespace}")
