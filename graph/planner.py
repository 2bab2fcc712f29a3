"""Decide what a batch of link items does to the identity graph.

``plan_links`` is a pure function: given the normalized items, the loaded state of every
profile they touch, the namespace's rules and the request's provenance, it returns one outcome
per item and one change set. No I/O and no clock, so dry runs, unit tests and property tests
all exercise exactly what a write does.

Items are decided one by one in request order, each seeing the effect of the ones before.
An item's identifiers are joined by links from its first identifier (the anchor) to each of
the others. For each item:

1. If joining everything it names keeps every rule of the namespace, it is applied:
   ``created`` (all identifiers new), ``merged`` (two or more existing profiles joined),
   ``linked`` (new identifiers or a new link within one profile), or ``noop``.
2. Otherwise, if some of its identifiers have the ``move`` policy (a browser shared by two
   people) and joining the rest keeps every rule, those identifiers leave their old profiles
   (their links there end with reason ``moved``; a profile left disconnected splits, its
   largest part keeping the id) and join the others: ``moved``. A profile all of whose
   identifiers would leave is joined whole instead, as in a merge: no profile is emptied.
3. Otherwise it is a ``conflict`` with the first rule it breaks; nothing of it is written,
   its attributes included, and the refusal is recorded for ``GET /conflicts``.

Rules, in the order they are checked (the reason names the rule): ``unique_type:<type>``,
``type_limit:<type>``, ``recognized_profiles`` (two recognized profiles never merge
implicitly), ``max_identifiers``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from graph.model import (
    ChangeSet,
    Conflict,
    Created,
    GraphState,
    Linked,
    LinkItem,
    Merged,
    Moved,
    Noop,
    Outcome,
    Provenance,
)
from graph.rules import MOVE, Rules
from graph.working import WorkingGraph


@dataclass(frozen=True, slots=True)
class Plan:
    outcomes: tuple[Outcome, ...]
    changes: ChangeSet


def plan_links(
    items: Sequence[LinkItem], state: GraphState, rules: Rules, provenance: Provenance
) -> Plan:
    graph = WorkingGraph(state, rules, provenance)
    outcomes = tuple(_decide(graph, rules, index, item) for index, item in enumerate(items))
    return Plan(outcomes, graph.change_set())


def _decide(graph: WorkingGraph, rules: Rules, index: int, item: LinkItem) -> Outcome:
    keys = [identifier.key for identifier in item.identifiers]
    profiles = graph.profiles_of(keys)
    new_types = [i.type for i in item.identifiers if not graph.knows(i.key)]
    refusal = None
    if len(profiles) > 1 or new_types:
        refusal = _refusal(graph, rules, profiles, new_types)
    if refusal is None:
        return _join(graph, index, item, profiles)
    moved = _move(graph, rules, index, item)
    if moved is not None:
        return moved
    graph.record_conflict(index, refusal, profiles, item.identifiers)
    return Conflict(profiles[0] if profiles else None, reason=refusal, profiles=tuple(profiles))


def _refusal(
    graph: WorkingGraph, rules: Rules, profiles: list[int], extra_types: list[str]
) -> str | None:
    """The first rule the union of ``profiles`` and identifiers of ``extra_types`` breaks."""
    counts = Counter(extra_types)
    size = len(extra_types)
    recognized = 0
    for pid in profiles:
        counts.update(graph.counts(pid))
        size += graph.size(pid)
        recognized += graph.is_recognized(pid)
    for type_, count in counts.items():
        if count > 1 and rules.is_unique(type_):
            return f"unique_type:{type_}"
    for type_, count in counts.items():
        limit = rules.limit(type_)
        if limit is not None and count > limit:
            return f"type_limit:{type_}"
    if recognized > 1 and not rules.merge_recognized:
        return "recognized_profiles"
    if size > rules.max_identifiers:
        return "max_identifiers"
    return None


def _join(graph: WorkingGraph, index: int, item: LinkItem, profiles: list[int]) -> Outcome:
    """Apply the item: register its new identifiers and link the anchor to every other."""
    for identifier in item.identifiers:
        if not graph.knows(identifier.key):
            graph.add_identifier(identifier)
    anchor, *others = (identifier.key for identifier in item.identifiers)
    # identifiers already in a profile first: new ones then join it, not a profile of their own
    others.sort(key=lambda key: graph.profile_of(key) is None)
    added = [graph.connect(anchor, other, index) for other in others]
    pid = graph.profile_of(anchor)
    graph.write_attributes(pid, anchor, dict(item.attributes))
    if not profiles:
        return Created(pid)
    if len(profiles) > 1:
        return Merged(pid, absorbed=tuple(p for p in profiles if p != pid))
    if any(added):
        return Linked(pid)
    return Noop(pid)


def _move(graph: WorkingGraph, rules: Rules, index: int, item: LinkItem) -> Outcome | None:
    """Move the item's ``move``-policy identifiers to its other identifiers, if that keeps
    every rule; None when moving cannot resolve the refusal."""
    keys = [identifier.key for identifier in item.identifiers]
    movable = {k for k in keys if graph.knows(k) and rules.policy(graph.type_of(k)) == MOVE}
    anchors = [k for k in keys if k not in movable]
    if not movable or not anchors:
        return None
    candidates = [k for k in keys if k in movable]
    target_profiles = graph.profiles_of(anchors)
    # A profile that would be left empty is joined whole: that is a merge, not a move.
    for pid in graph.profiles_of(candidates):
        if sum(graph.profile_of(k) == pid for k in candidates) == graph.size(pid):
            target_profiles.append(pid)
    leaving = [k for k in candidates if graph.profile_of(k) not in target_profiles]
    if not leaving:
        return None
    arriving_types = [i.type for i in item.identifiers if not graph.knows(i.key)]
    arriving_types += [graph.type_of(k) for k in leaving]
    if _refusal(graph, rules, target_profiles, arriving_types) is not None:
        return None
    moved_from = tuple(graph.detach(leaving, reason="moved"))
    joined = _join(graph, index, item, target_profiles)
    absorbed = joined.absorbed if isinstance(joined, Merged) else ()
    return Moved(joined.profile_id, moved_from=moved_from, absorbed=absorbed)


def plan_attribute_update(
    state: GraphState, profile_id: int, attributes: dict, rules: Rules, provenance: Provenance
) -> ChangeSet:
    """A profile-level attribute write (no identifier to write through): ``None`` deletes."""
    graph = WorkingGraph(state, rules, provenance)
    graph.write_attributes(profile_id, None, attributes)
    return graph.change_set()
