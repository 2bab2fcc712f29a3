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
   (their links there end with reason ``moved``; a profile left disconnected splits as in
   ``plan_end_link``, its largest part keeping the id) and join the others: ``moved``. A
   profile all of whose identifiers would leave is joined whole instead, as in a merge: no
   profile is emptied.
3. Otherwise, if its new identifiers of unique types with the ``replace`` policy (Synerise's
   email) are what breaks the rules, each replaces the one identifier of its type the
   profile holds: the old one's links end (reason ``replaced``), it stops resolving, and the
   new one takes its links. The outcome names the replaced keys.
4. Otherwise it is a ``conflict`` with the first rule it breaks; nothing of it is written,
   its attributes included, and the refusal is recorded for ``GET /conflicts``.

Rules, in the order they are checked (the reason names the rule): ``banned`` (a person said
two identifiers are not one: of the item, of the profiles it joins, or generated for a new
profile; checked first), ``unique_type:<type>``, ``type_limit:<type>`` (of several types
breaking either, the reason names the first by name), then the merge policy:
``recognized_profiles`` (by default two recognized profiles never merge implicitly), or with
``anonymous_into_other`` ``too_many_profiles`` (an item joins at most two profiles) and
``recognized_absorbed`` (only an anonymous profile is absorbed, into the profile of the item's
later identifier, which keeps its id); last ``max_identifiers``.

A ban makes no move and no replacement: an item whose join breaks one and no other rule is
refused ``banned``. A move or a replacement made for another rule is refused by a ban only if
its result breaks it (the identifiers it leaves behind count no more); an item it cannot
resolve that way is refused ``banned`` if its join breaks a ban too, else by its first rule.

An item of one identifier is a create-or-update: ``created`` if it is new, else ``noop``
with its attributes written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

import networkx as nx

from graph import lineage
from graph.model import (
    ChangeSet,
    Conflict,
    Created,
    GraphState,
    Holder,
    Identifier,
    Linked,
    LinkItem,
    LinkRecord,
    Merged,
    MergeRecord,
    Moved,
    Noop,
    Outcome,
    Provenance,
    Refusal,
)
from graph.rules import ANONYMOUS_INTO_OTHER, MOVE, REPLACE, Rules
from graph.working import WorkingGraph

BANNED = "banned"


@dataclass(frozen=True, slots=True)
class Plan:
    outcomes: tuple[Outcome, ...]
    changes: ChangeSet


def plan_links(
    items: Sequence[LinkItem],
    state: GraphState,
    rules: Rules,
    provenance: Provenance,
    indexes: Sequence[int] | None = None,
) -> Plan:
    """``indexes`` are the items' positions in the request (default 0, 1, ...), recorded on
    links and conflicts: a request spanning namespaces is planned one namespace at a time."""
    graph = WorkingGraph(state, rules, provenance)
    positions = range(len(items)) if indexes is None else indexes
    outcomes = tuple(
        _decide(graph, rules, index, item) for index, item in zip(positions, items, strict=True)
    )
    return Plan(outcomes, graph.change_set())


def _decide(graph: WorkingGraph, rules: Rules, index: int, item: LinkItem) -> Outcome:
    keys = [identifier.key for identifier in item.identifiers]
    profiles = graph.profiles_of(keys)
    generated = () if profiles else item.on_create  # a new profile would hold them too
    banned = graph.broken_ban((*item.identifiers, *generated)) is not None
    new_types = _new_types(graph, item, profiles)
    refusal = None
    if len(profiles) > 1 or new_types:
        refusal = _refusal(graph, rules, profiles, new_types)
    if refusal is None and not banned:
        return _join(graph, rules, index, item, profiles)
    # a ban (a person's decision) makes no move and no replacement: it only refuses the ones
    # whose result would break it
    if refusal is not None:
        resolved = _move(graph, rules, index, item)
        resolved = resolved or _replace(graph, rules, index, item, profiles)
        if resolved is not None:
            return resolved
    return _conflict(graph, index, item, profiles, BANNED if banned else refusal)


def _conflict(
    graph: WorkingGraph, index: int, item: LinkItem, profiles: list[int], rule: str
) -> Conflict:
    """Refuse the item by ``rule``: nothing of it is written, the refusal is recorded."""
    graph.record_conflict(index, rule, profiles, item.identifiers)
    first = profiles[0] if profiles else None
    return Conflict(
        first, reason=rule, profiles=tuple(profiles), holder=_holder(graph, item, profiles)
    )


def _holder(graph: WorkingGraph, item: LinkItem, profiles: list[int]) -> Holder | None:
    """The first of ``profiles`` that holds one of the item's identifiers after the first,
    and is named by an identifier of the first one's type other than it (its primary id)."""
    anchor = item.identifiers[0]
    for pid in profiles:
        named = graph.oldest_of_type(pid, anchor.type)
        # the anchor is one of them if it is in the profile: a key names its type
        if named is None or graph.profile_of(anchor.key) == pid:
            continue
        for position, identifier in enumerate(item.identifiers[1:], start=1):
            if graph.profile_of(identifier.key) == pid:
                return Holder(pid, position, identifier, graph.identifier(named))
    return None


def _new_types(graph: WorkingGraph, item: LinkItem, profiles: list[int]) -> list[str]:
    """Types of the identifiers the item adds to ``profiles``: those in no profile (new, or
    replaced earlier in the request), and when it joins no existing profile, those generated
    for a new one."""
    types = [i.type for i in item.identifiers if graph.profile_of(i.key) is None]
    if not profiles:
        types += [i.type for i in item.on_create]
    return types


def _refusal(
    graph: WorkingGraph, rules: Rules, profiles: list[int], extra_types: list[str]
) -> str | None:
    """The first rule the union of ``profiles`` and identifiers of ``extra_types`` breaks."""
    counts: dict[str, int] = {}  # by type
    for type_ in extra_types:
        counts[type_] = counts.get(type_, 0) + 1
    size = len(extra_types)
    for pid in profiles:
        for type_, count in graph.counts(pid).items():
            counts[type_] = counts.get(type_, 0) + count
        size += graph.size(pid)
    # of several types breaking a rule, the reason names the first by name: the order of
    # ``counts`` follows set iteration (hash seed) and the store's row order
    broken = [type_ for type_, count in counts.items() if count > 1 and rules.is_unique(type_)]
    if broken:
        return f"unique_type:{min(broken)}"
    if rules.type_limits:  # most namespaces set none
        broken = [
            type_
            for type_, count in counts.items()
            if (limit := rules.limit(type_)) is not None and count > limit
        ]
        if broken:
            return f"type_limit:{min(broken)}"
    refusal = _merge_refusal(graph, rules, profiles)
    if refusal is not None:
        return refusal
    if size > rules.max_identifiers:
        return "max_identifiers"
    return None


def _merge_refusal(graph: WorkingGraph, rules: Rules, profiles: list[int]) -> str | None:
    if len(profiles) < 2:
        return None
    if rules.merge_policy == ANONYMOUS_INTO_OTHER:
        if len(profiles) > 2:
            return "too_many_profiles"
        return "recognized_absorbed" if graph.is_recognized(profiles[0]) else None
    recognized = sum(graph.is_recognized(pid) for pid in profiles)
    if recognized > 1 and not rules.merge_recognized:
        return "recognized_profiles"
    return None


def _join(
    graph: WorkingGraph, rules: Rules, index: int, item: LinkItem, profiles: list[int]
) -> Outcome:
    """Apply the item: register its new identifiers and link the anchor to every other."""
    for identifier in item.identifiers:
        if not graph.knows(identifier.key):
            graph.add_identifier(identifier)
    anchor, *others = [identifier.key for identifier in item.identifiers]
    if not profiles:  # a new profile gets the identifiers generated for one
        for identifier in item.on_create:
            graph.add_identifier(identifier)
            others.append(identifier.key)
    # identifiers already in a profile first: new ones then join it, not a profile of their own
    if len(others) > 1:
        others.sort(key=lambda key: graph.profile_of(key) is None)
    survivor = profiles[-1] if rules.merge_policy == ANONYMOUS_INTO_OTHER and profiles else None
    added = [graph.connect(anchor, other, index, survivor=survivor) for other in others]
    pid = graph.profile_of(anchor)
    if pid is None:  # an item of one new identifier
        pid = graph.place(anchor)
    graph.write_attributes(pid, anchor, dict(item.attributes))
    if not profiles:
        return Created(pid)
    if len(profiles) > 1:
        return Merged(pid, absorbed=tuple(p for p in profiles if p != pid))
    if any(added):
        return Linked(pid)
    return Noop(pid)


def _replace(
    graph: WorkingGraph, rules: Rules, index: int, item: LinkItem, profiles: list[int]
) -> Outcome | None:
    """Let each new identifier of a unique ``replace``-policy type take the place of the one
    identifier of its type the joined profiles hold, if that keeps every other rule and every
    ban; None when replacing cannot resolve the refusal."""
    new = [i for i in item.identifiers if graph.profile_of(i.key) is None]
    replacing = [i for i in new if rules.is_unique(i.type) and rules.policy(i.type) == REPLACE]
    if not replacing or max(Counter(i.type for i in replacing).values()) > 1:
        return None
    swaps = []
    for identifier in replacing:
        held = [graph.counts(pid).get(identifier.type, 0) for pid in profiles]
        if sum(held) != 1:
            return None
        # which one, only now: the first time a profile is asked, that indexes its members
        (old,) = graph.members_of_type(profiles[held.index(1)], identifier.type)
        swaps.append((old, identifier))
    staying = [i.type for i in new if i not in replacing]  # a swap leaves every count as it was
    if _refusal(graph, rules, profiles, staying) is not None:
        return None
    replaced = tuple(old for old, _ in swaps)
    if _breaks_a_ban(graph, profiles, item.identifiers, replaced):
        return None
    for old, identifier in swaps:
        graph.replace(old, identifier, index)
    # an item may name the identifier it replaces (an update addressed by the old email)
    remaining = tuple(i for i in item.identifiers if i.key not in replaced)
    joined = _join(graph, rules, index, replace(item, identifiers=remaining), profiles)
    if isinstance(joined, Merged):
        return replace(joined, replaced=replaced)
    return Linked(joined.profile_id, replaced=replaced)  # the new identifier took old's links


def _move(graph: WorkingGraph, rules: Rules, index: int, item: LinkItem) -> Outcome | None:
    """Move the item's ``move``-policy identifiers to its other identifiers, if that keeps
    every rule and every ban; None when moving cannot resolve the refusal."""
    keys = [identifier.key for identifier in item.identifiers]
    movable = {
        k
        for k in keys
        if graph.profile_of(k) is not None and rules.policy(graph.type_of(k)) == MOVE
    }
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
    arriving_types = _new_types(graph, item, target_profiles)
    arriving_types += [graph.type_of(k) for k in leaving]
    if _refusal(graph, rules, target_profiles, arriving_types) is not None:
        return None
    generated = () if target_profiles else item.on_create
    if _breaks_a_ban(graph, target_profiles, (*item.identifiers, *generated)):
        return None
    moved_from = tuple(graph.detach(leaving, reason="moved"))
    joined = _join(graph, rules, index, item, target_profiles)
    absorbed = joined.absorbed if isinstance(joined, Merged) else ()
    return Moved(joined.profile_id, moved_from=moved_from, absorbed=absorbed)


def _breaks_a_ban(
    graph: WorkingGraph,
    profiles: list[int],
    identifiers: Sequence[Identifier],
    leaving: Collection[str] = (),
) -> bool:
    """Whether one profile made of ``profiles`` and ``identifiers``, without ``leaving``,
    breaks a ban: what a move or a replacement would join, leaving some identifiers of the
    profiles it joins behind (``WorkingGraph.broken_ban`` asks it of whole profiles)."""
    if not graph.has_bans:
        return False
    types = {key: graph.type_of(key) for pid in profiles for key in graph.members(pid)}
    types.update((i.key, i.type) for i in identifiers)
    for key in leaving:
        types.pop(key, None)
    return graph.ban_among(types) is not None


def plan_merge(
    target: str, sources: Sequence[str], state: GraphState, rules: Rules, provenance: Provenance
) -> Plan:
    """Merge the profiles holding ``sources`` into the profile holding ``target``: an explicit
    merge, allowed between recognized profiles (Synerise's merge by custom ids). The target
    keeps its id and its attributes; the sources' identifiers of unique types leave (their
    links end, reason ``merged``) and stop resolving; their other identifiers join the target,
    each linked to ``target``. Refused, as a conflict, only by a type limit or the size cap."""
    graph = WorkingGraph(state, rules, provenance)
    survivor = graph.profile_of(target)
    absorbed = [pid for pid in graph.profiles_of(list(sources)) if pid != survivor]
    members = {pid: graph.members(pid) for pid in absorbed}
    leaving = [k for keys in members.values() for k in keys if rules.is_unique(graph.type_of(k))]
    joining = {pid: [k for k in keys if k not in leaving] for pid, keys in members.items()}
    joining_types = [graph.type_of(k) for keys in joining.values() for k in keys]
    refusal = _refusal(graph, rules, [survivor], joining_types)
    if graph.broken_ban([graph.identifier(k) for k in (target, *sources)]) is not None:
        refusal = BANNED
    if refusal is not None:
        involved = (survivor, *absorbed)
        named = tuple(graph.identifier(k) for k in (target, *sources))
        graph.record_conflict(0, refusal, list(involved), named)
        return Plan((Conflict(survivor, reason=refusal, profiles=involved),), graph.change_set())
    graph.detach(leaving, reason="merged", split=False)
    for pid in absorbed:
        via = next(k for k in sources if k in members[pid])
        merge_id = graph.merge(
            survivor, pid, 0, survivor=survivor, keep_attributes=False, keys=(target, via)
        )
        for key in joining[pid]:
            graph.connect(target, key, 0, merge_id=merge_id)
    return Plan((Merged(survivor, absorbed=tuple(absorbed)),), graph.change_set())


@dataclass(frozen=True, slots=True)
class Separation:
    """What ending a link or undoing a merge did: the profiles its identifiers are in now
    (one when nothing split), the change set, and the merge that ending a link took back."""

    profiles: tuple[int, ...]
    changes: ChangeSet
    undone: int | None = None


@dataclass(frozen=True, slots=True)
class Undoing:
    """A merge that ending a link may take back, with what undoing it needs (the arguments
    of ``plan_undo_merge`` that the store answers)."""

    merge: MergeRecord
    restoring: list[LinkRecord]
    aliases: list[int]
    absorbed_created_at: str


def merge_ended_by(
    link: LinkRecord, state: GraphState, merges: Sequence[MergeRecord]
) -> MergeRecord | None:
    """The merge that ending ``link`` would take back, of ``merges`` (those of its profile):
    the one it is tagged with (it first joined the link's ends), if that merge stands and its
    survivor is the link's profile; for a link no merge added, the one standing merge into
    its profile whose two sides (``survivor_key``, ``absorbed_key``) it is the last link to
    join. None when there is none, or several (one part cannot go back to two ids): the
    profile splits as for any link. Whether the sides do come apart, ``plan_end_link``
    decides, as an undo does."""
    pid = state.identifiers[link.a].profile_id
    standing = [m for m in merges if m.survivor == pid and m.undone_at is None]
    if link.merge_id is not None:
        return next((m for m in standing if m.id == link.merge_id), None)
    if not standing:
        return None
    graph = nx.Graph()
    graph.add_nodes_from(key for key, held in state.identifiers.items() if held.profile_id == pid)
    graph.add_edges_from((k.a, k.b) for k in state.links if k.id != link.id)
    side = nx.node_connected_component(graph, link.a)
    if link.b in side:
        return None
    separated = [
        m
        for m in standing
        if m.survivor_key in graph
        and m.absorbed_key in graph
        and (m.survivor_key in side) != (m.absorbed_key in side)
    ]
    return separated[0] if len(separated) == 1 else None


def plan_end_link(
    link: LinkRecord, state: GraphState, rules: Rules, provenance: Provenance, *, reason: str,
    ban: bool = False, undoing: Undoing | None = None,
) -> Separation:  # fmt: skip
    """End an active link. If that separates the two sides of ``undoing``'s merge (see
    ``merge_ended_by``), the merge is taken back as ``plan_undo_merge`` takes it back (the
    absorbed side under its own id, the survivor's under its id whatever their sizes), but
    with no ban of the merge's pairs and no other link ended: an undo that ends only this
    link. Otherwise, if ending it disconnects its profile, the profile splits: the larger
    part keeps the id (the part holding the oldest identifier on a tie, as for a moved
    device), every other part gets a new id (in the order of their oldest identifiers), and
    values go with the identifiers they were written through. With ``ban`` the two
    identifiers may never be linked again."""
    graph = WorkingGraph(state, rules, provenance)
    taken_back = undoing if undoing and _undo_by_ending(graph, link, undoing, reason) else None
    if taken_back is None:
        graph.end(link.id, link.a, link.b, reason)
    if ban:
        graph.ban(link.a, link.b, None, reason, link_id=link.id)
    profiles = dict.fromkeys(graph.profile_of(key) for key in (link.a, link.b))
    undone = taken_back.merge.id if taken_back else None
    return Separation(tuple(profiles), graph.change_set(), undone)


def _undo_by_ending(graph: WorkingGraph, link: LinkRecord, undoing: Undoing, reason: str) -> bool:
    """Undo ``undoing``'s merge by ending ``link`` alone; False, changing nothing, when the
    link is not in the merge's survivor or the two sides stay joined without it."""
    if graph.profile_of(link.a) != undoing.merge.survivor:
        return False
    undone = graph.undo_merge(
        undoing.merge,
        [link],
        undoing.restoring,
        undoing.aliases,
        undoing.absorbed_created_at,
        reason,
    )
    return undone is not None


def plan_undo_merge(
    merge: MergeRecord,
    *,
    ending: list[LinkRecord],
    restoring: list[LinkRecord],
    aliases: list[int],
    absorbed_created_at: str,
    state: GraphState,
    rules: Rules,
    provenance: Provenance,
    reason: str,
    ban: bool = True,
) -> Separation | Refusal:
    """Undo a merge (see ``WorkingGraph.undo_merge``). Refused, with nothing planned, when
    links added since still join the two sides (the refusal names them: end them first), or
    when the identifiers it joined have left the profile. With ``ban`` the ends of every link
    it ends may never be linked again, so the next sync of the same pair is a conflict, not
    the same merge."""
    graph = WorkingGraph(state, rules, provenance)
    profiles = graph.undo_merge(merge, ending, restoring, aliases, absorbed_created_at, reason)
    if profiles is None:
        return _undo_refusal(merge, state, ending)
    if ban:
        for link in ending:
            graph.ban(link.a, link.b, None, reason, link_id=link.id)
    return Separation(profiles, graph.change_set())


def _undo_refusal(merge: MergeRecord, state: GraphState, ending: list[LinkRecord]) -> Refusal:
    """Why the two sides of a merge do not come apart: the links on the shortest path that
    still joins them, or none when its identifiers have left the profile."""
    gone = {link.id for link in ending}
    links = [(link.id, link.a, link.b) for link in state.links if link.id not in gone]
    try:
        path = lineage.shortest_path(links, merge.survivor_key, merge.absorbed_key)
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        path = []
    if not path:
        return Refusal(
            "merge_not_undoable",
            f"the identifiers merge {merge.id} joined have left its profile since",
            {"merge_id": merge.id},
        )
    joining = [link_id for link_id, _, _ in path]
    return Refusal(
        "merge_in_use",
        f"links added since merge {merge.id} still join its two sides: end links "
        f"{', '.join(map(str, joining))} first, then undo it",
        {"links": joining},
    )


def plan_ban(
    a: str, b: str | None, b_type: str | None, reason: str, state: GraphState,
    provenance: Provenance,
) -> ChangeSet:  # fmt: skip
    """A do-not-link rule between ``a`` and ``b`` (or every identifier of ``b_type``). It
    stops future joins; it does not split a profile already holding both."""
    graph = WorkingGraph(state, Rules(), provenance)
    graph.ban(a, b, b_type, reason)
    return graph.change_set()


def plan_attribute_update(
    state: GraphState, profile_id: int, attributes: dict, rules: Rules, provenance: Provenance
) -> ChangeSet:
    """A profile-level attribute write (no identifier to write through): ``None`` deletes."""
    graph = WorkingGraph(state, rules, provenance)
    graph.write_attributes(profile_id, None, attributes)
    return graph.change_set()
