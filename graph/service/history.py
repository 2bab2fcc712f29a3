"""History: how a profile was assembled (lineage, explain, time travel), and taking it back
(ending a link, undoing a merge, do-not-link bans)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import networkx as nx

from graph import lineage
from graph.errors import InvalidInput, NotFound, Refused
from graph.lineage import Lineage, LineageIdentifier, Step
from graph.model import (
    Ban,
    GraphState,
    Identifier,
    LinkRecord,
    MergeRecord,
    ProfileView,
    Refusal,
    StoredIdentifier,
    just_before,
)
from graph.normalize import InvalidValue, normalize_type
from graph.planner import Undoing, merge_ended_by, plan_ban, plan_end_link, plan_undo_merge
from graph.rules import Rules
from graph.service.base import UseCase
from graph.service.lookups import cursor_position, lookup_identifier, profile_holding
from graph.store.base import ReadTx, WriteTx

_ALL = 1_000_000  # members of a profile read at once: far above any per-profile cap
_END_OF_TIME = "9999-12-31T23:59:59.999999Z"  # as_of for "now" where history answers both


@dataclass(frozen=True, slots=True)
class Explanation:
    connected: bool
    a: Identifier
    b: Identifier
    profiles: tuple[int | None, int | None]
    path: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True)
class Separated:
    """The answer to ending a link or undoing a merge: the link or merge as it is now (for
    an ended link, the merge it took back, if it did), the profiles its identifiers are in,
    the bans it made."""

    profiles: tuple[ProfileView, ...]
    bans: tuple[Ban, ...]
    link: LinkRecord | None = None
    merge: MergeRecord | None = None

    @property
    def split(self) -> bool:
        return len(self.profiles) > 1


@dataclass(frozen=True, slots=True)
class BanPage:
    bans: tuple[Ban, ...]
    next_cursor: str | None


class History(UseCase):
    # --- reads --------------------------------------------------------------------------------

    def profile_at(self, namespace: str, profile_id: int, as_of: str) -> ProfileView:
        """A profile as it was at ``as_of``: the identifiers placed in it then, the links
        active then, its attribute values then. An id absorbed by then answers its survivor."""
        rules = self.rules(namespace)

        def work(tx: ReadTx) -> ProfileView:
            pid = _profile_at(tx, namespace, profile_id, as_of)
            return _view_at(tx, namespace, pid, as_of, rules)

        return self.store.read(work)

    def lineage(
        self,
        namespace: str,
        profile_id: int,
        *,
        as_of: str | None = None,
        cursor: str | None = None,
        limit: int = 1000,
    ) -> Lineage:
        """A page of identifiers (by key) of a profile, now or at ``as_of``, with every link
        that touched them, active and ended, and on the first page the merges that built
        the profile. The page carries a summary of the profile, not all its identifiers: a
        large profile's first page stays small and quick."""

        def work(tx: ReadTx) -> Lineage:
            pid = _profile_at(tx, namespace, profile_id, as_of)
            page = tx.members_page(namespace, pid, as_of=as_of, after_key=cursor or "", limit=limit)
            keys = {member.key for member in page}
            links = lineage.links_as_of(tx.links_touching(namespace, keys), as_of)
            ends = tx.identifiers(namespace, {k for link in links for k in (link.a, link.b)} - keys)
            if as_of is not None:  # where the other ends were then
                placed = tx.placed_at(namespace, [end.key for end in ends], as_of)
                ends = [replace(end, profile_id=placed.get(end.key)) for end in ends]
            merges = lineage.merges_as_of(_merges_around(tx, namespace, pid), as_of)
            summary = lineage.LineageProfile(
                id=pid,
                aliases=tuple(lineage.aliases_at(pid, merges, as_of)),
                attributes=tx.attributes_at(namespace, pid, as_of or _END_OF_TIME),
                created_at=tx.profile_record(namespace, pid).created_at,
            )
            return Lineage(
                profile=summary,
                as_of=as_of,
                identifiers=tuple(
                    _lineage_identifier(stored, stored.profile_id == pid)
                    for stored in (*page, *ends)
                ),
                links=tuple(links),
                merges=tuple(merges) if cursor is None else (),
                next_cursor=page[-1].key if len(page) == limit else None,
            )

        return self.store.read(work)

    def explain(self, namespace: str, a: tuple[str, str], b: tuple[str, str]) -> Explanation:
        """Whether two identifiers are one profile, and the fewest active links joining
        them, each with its provenance."""
        rules = self.rules(namespace)
        first, second = (
            lookup_identifier(*a, rules, "a", "a"),
            lookup_identifier(*b, rules, "b", "b"),
        )

        def work(tx: ReadTx) -> Explanation:
            pa, pb = (profile_holding(tx, namespace, i) for i in (first, second))
            if pa != pb:
                return Explanation(False, first, second, (pa, pb))
            state = tx.load_profiles(namespace, [pa])
            path = lineage.shortest_path(
                ((link.id, link.a, link.b) for link in state.links), first.key, second.key
            )
            starts = [start for _, start, _ in path]
            records = {link.id: link for link in tx.links_touching(namespace, starts)}
            steps = tuple(Step(start, end, records[link_id]) for link_id, start, end in path)
            return Explanation(True, first, second, (pa, pb), steps)

        try:
            return self.store.read(work)
        except nx.NetworkXNoPath as error:  # a profile is connected: a broken store
            raise AssertionError(f"profile of {first.key} is not connected") from error

    def bans(
        self,
        namespace: str,
        *,
        identifier: tuple[str, str] | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> BanPage:
        key = (
            lookup_identifier(*identifier, self.rules(namespace), "identifier", "identifier").key
            if identifier
            else None
        )
        after = cursor_position(cursor)
        found = self.store.read(lambda tx: tx.bans(namespace, key=key, after_id=after, limit=limit))
        return BanPage(tuple(found), str(found[-1].id) if len(found) == limit else None)

    # --- writes -------------------------------------------------------------------------------

    def end_link(
        self,
        namespace: str,
        link_id: int,
        *,
        reason: str,
        ban: bool = False,
        source: str | None = None,
    ) -> Separated:
        """End one active link; if that separates the two sides of a merge, the merge is
        taken back as an undo takes it back, without its bans; else if that disconnects its
        profile, it splits (see ``plan_end_link``). Answers the profiles its two
        identifiers are in afterwards."""
        rules = self.rules(namespace)

        def work(tx: WriteTx) -> Separated:
            first = _active(tx, namespace, link_id)
            state = tx.load_state(namespace, [first.a])
            link = _active(tx, namespace, link_id)  # again, now that its profile is held
            undoing = _undoing(tx, namespace, link, state)
            also = [undoing.merge.absorbed, *undoing.aliases] if undoing else []
            state = _with_history(tx, namespace, state, also)
            provenance = self._provenance("end", source)
            plan = plan_end_link(
                link, state, rules, provenance, reason=reason, ban=ban, undoing=undoing
            )
            applied = _applied(tx, namespace, plan)
            merge = tx.merge_record(namespace, plan.undone) if plan.undone else None
            return Separated(*applied, link=tx.link(namespace, link_id), merge=merge)

        return self.store.write(work)

    def undo_merge(
        self,
        namespace: str,
        merge_id: int,
        *,
        reason: str,
        ban: bool = True,
        source: str | None = None,
    ) -> Separated:
        """Take a merge back: end the links it added, restore the absorbed profile under its
        old id, give each side the attribute values written through it, and (by default)
        ban every pair it joined so the next sync does not merge them again.

        Refused (409, nothing written) when the merge was undone already, when its survivor
        was itself merged later, or a later merge joined another profile through what this
        one brought (undo that merge first: ids are restored last-in, first-out), or when
        links added since still join the two sides (the answer names them: end them, then
        undo)."""
        rules = self.rules(namespace)

        def work(tx: WriteTx) -> Separated:
            merge = tx.merge_record(namespace, merge_id)
            if merge is None:
                raise NotFound(f"no merge {merge_id} in {namespace}")
            _check_undoable(tx, namespace, merge)
            state = tx.load_profiles(namespace, [merge.survivor])
            merge = tx.merge_record(namespace, merge_id)  # again, now that its profile is held
            _check_undoable(tx, namespace, merge)
            absorbed = tx.profile_record(namespace, merge.absorbed)
            members = list(state.identifiers)
            touching = tx.links_touching(namespace, members)
            ending = [k for k in touching if k.merge_id == merge.id and k.ended_at is None]
            restoring = _retired_by(tx, namespace, merge, state)
            blocking = _later_merge_through(
                tx, namespace, merge, state, touching, ending, restoring
            )
            if blocking is not None:  # undo it first (its identifiers would leave with these)
                raise Refused(
                    "merge_not_undoable",
                    f"merge {blocking.id} joined profile {blocking.absorbed} through what merge "
                    f"{merge.id} brought: undo merge {blocking.id} first",
                    merge_id=blocking.id,
                )

            family = _family(tx, namespace, merge)
            # profile-level writes to the absorbed side (and to the profiles it had absorbed)
            # go back with it: load them too, not only the survivor's
            state = _with_history(tx, namespace, state, [merge.absorbed, *family])
            plan = plan_undo_merge(
                merge,
                ending=ending,
                restoring=restoring,
                aliases=family,
                absorbed_created_at=absorbed.created_at,
                state=state,
                rules=rules,
                provenance=self._provenance("undo", source),
                reason=reason,
                ban=ban,
            )
            if isinstance(plan, Refusal):
                raise Refused.of(plan)
            applied = _applied(tx, namespace, plan)
            return Separated(*applied, merge=tx.merge_record(namespace, merge_id))

        return self.store.write(work)

    def add_ban(
        self,
        namespace: str,
        a: tuple[str, str],
        *,
        b: tuple[str, str] | None = None,
        b_type: str | None = None,
        reason: str,
        source: str | None = None,
    ) -> Ban:
        """Ban ``a`` from ever joining ``b``, or any identifier of type ``b_type``."""
        rules = self.rules(namespace)
        first = lookup_identifier(*a, rules, "a", "a")
        second = lookup_identifier(*b, rules, "b", "b") if b is not None else None
        if (second is None) == (b_type is None):
            raise InvalidInput("name b or b_type", fields={"b": ["name b or b_type, not both"]})
        if second is not None and second.key == first.key:
            raise InvalidInput("a and b are one identifier", fields={"b": ["the same as a"]})
        other_type = _type(b_type, "b_type") if b_type is not None else None

        def work(tx: WriteTx) -> Ban:
            state = tx.load_profiles(namespace, [])
            changes = plan_ban(
                first.key,
                second.key if second else None,
                other_type,
                reason,
                state,
                self._provenance("ban", source),
            )
            tx.apply(namespace, changes)
            return changes.new_bans[0]

        return self.store.write(work)

    def remove_ban(self, namespace: str, ban_id: int) -> None:
        if not self.store.write(lambda tx: tx.remove_ban(namespace, ban_id)):
            raise NotFound(f"no ban {ban_id} in {namespace}")


# --- helpers ------------------------------------------------------------------------------------


def _applied(tx: WriteTx, namespace: str, plan) -> tuple[tuple[ProfileView, ...], tuple]:
    """Write a separation; the profiles it left and the bans it made."""
    tx.apply(namespace, plan.changes)
    return tuple(tx.profile_views(namespace, plan.profiles)), tuple(plan.changes.new_bans)


def _profile_at(tx: ReadTx, namespace: str, profile_id: int, as_of: str | None) -> int:
    """The live id now, or the id answering for ``profile_id`` at ``as_of``."""
    record = tx.profile_record(namespace, profile_id)
    if record is None:
        raise NotFound(f"no profile {profile_id} in {namespace}")
    if as_of is None:
        return record.merged_into or record.id
    if record.created_at > as_of:
        raise NotFound(f"profile {profile_id} did not exist yet at {as_of}")
    pid, seen = profile_id, {profile_id}
    while True:
        holding = [
            m for m in tx.merges_of(namespace, [pid]) if m.absorbed == pid and m.active_at(as_of)
        ]
        if not holding or holding[-1].survivor in seen:
            return pid
        pid = holding[-1].survivor
        seen.add(pid)


def _view_at(tx: ReadTx, namespace: str, pid: int, as_of: str, rules: Rules) -> ProfileView:
    record = tx.profile_record(namespace, pid)
    members = tx.members_page(namespace, pid, as_of=as_of, after_key="", limit=_ALL)
    keys = [m.key for m in members]
    links = tx.links_touching(namespace, keys)
    merges = _merges_around(tx, namespace, pid)
    return lineage.profile_as_of(
        pid,
        record.created_at,
        members,
        links,
        merges,
        tx.attributes_at(namespace, pid, as_of),
        tx.attribute_history(namespace, keys, [pid]),
        rules.recognizing_types,
        as_of,
    )


def _merges_around(tx: ReadTx, namespace: str, pid: int) -> list:
    """Every merge into the profile, through chains of absorbed profiles."""
    found: dict[int, Any] = {}
    frontier = [pid]
    while frontier:
        merges = [m for m in tx.merges_of(namespace, frontier) if m.id not in found]
        found.update((m.id, m) for m in merges)
        frontier = [m.absorbed for m in merges if m.survivor in frontier]
    return sorted(found.values(), key=lambda m: m.id)


def _active(tx: ReadTx, namespace: str, link_id: int) -> LinkRecord:
    link = tx.link(namespace, link_id)
    if link is None:
        raise NotFound(f"no link {link_id} in {namespace}")
    if link.ended_at is not None:
        raise Refused(
            "link_ended",
            f"link {link_id} already ended at {link.ended_at} ({link.end_reason})",
            link_id=link_id,
        )
    return link


def _check_undoable(tx: ReadTx, namespace: str, merge) -> None:
    refusal = _undo_refusal(tx, namespace, merge)
    if refusal is not None:
        raise refusal


def _undo_refusal(tx: ReadTx, namespace: str, merge) -> Refused | NotFound | None:
    """Why the merge cannot be undone whatever the links say, or None."""
    if merge.undone_at is not None:
        return Refused(
            "merge_undone", f"merge {merge.id} was undone at {merge.undone_at}", merge_id=merge.id
        )
    survivor = tx.profile_record(namespace, merge.survivor)
    if survivor is None or tx.profile_record(namespace, merge.absorbed) is None:
        return NotFound(f"merge {merge.id}: its profiles were purged")
    if survivor.merged_into is not None:
        later = [
            m
            for m in tx.merges_of(namespace, [merge.survivor])
            if m.absorbed == merge.survivor and m.undone_at is None
        ]
        return Refused(
            "merge_superseded",
            f"profile {merge.survivor} was itself merged later (merge {later[-1].id}); "
            "undo that merge first",
            merge_id=later[-1].id,
        )
    if merge.survivor_key is None or merge.absorbed_key is None:
        return Refused(
            "merge_not_undoable",
            f"merge {merge.id} does not record the identifiers it joined: it was made before "
            "idgraph kept them, or a purge erased one of them",
            merge_id=merge.id,
        )
    return None


def _later_merge_through(
    tx: ReadTx,
    namespace: str,
    merge: MergeRecord,
    state: GraphState,
    touching: list[LinkRecord],
    ending: list[LinkRecord],
    restoring: list[LinkRecord],
) -> MergeRecord | None:
    """The latest later merge, not undone, that joined a profile through what ``merge``
    brought: one of its active links has an end in the part an undo would give back, the
    identifiers joined to the absorbed key once ``ending`` and the later merges' links are
    taken out and ``restoring`` is linked again. Giving that part back would carry the
    later profile's identifiers away while its id still answered the survivor, and that
    later merge could never be undone. None if there is none: when links that no later merge
    added still join the two sides, the planner answers (``merge_in_use``), as it does when
    the sides have gone."""
    later = [
        link
        for link in touching
        if link.ended_at is None and link.merge_id is not None and link.merge_id > merge.id
    ]
    if not later or merge.absorbed_key not in state.identifiers:
        return None
    graph = nx.Graph()
    graph.add_nodes_from(state.identifiers)
    graph.add_edges_from((link.a, link.b) for link in state.links)
    graph.remove_edges_from((link.a, link.b) for link in (*ending, *later))
    graph.add_edges_from((link.a, link.b) for link in restoring)
    part = nx.node_connected_component(graph, merge.absorbed_key)
    if merge.survivor_key in part:
        return None
    joined = [link.merge_id for link in later if link.a in part or link.b in part]
    return tx.merge_record(namespace, max(joined)) if joined else None


def _undoing(tx: ReadTx, namespace: str, link: LinkRecord, state: GraphState) -> Undoing | None:
    """The merge that ending ``link`` takes back (``merge_ended_by``), with what undoing it
    needs; None when there is none, or when an undo of it would be refused whatever the
    links say (undone, superseded, a later merge through what it brought): ending the link
    then splits the profile as for any link."""
    pid = state.identifiers[link.a].profile_id
    merge = merge_ended_by(link, state, tx.merges_of(namespace, [pid]))
    if merge is None or _undo_refusal(tx, namespace, merge) is not None:
        return None
    touching = tx.links_touching(namespace, list(state.identifiers))
    restoring = _retired_by(tx, namespace, merge, state)
    if _later_merge_through(tx, namespace, merge, state, touching, [link], restoring):
        return None
    absorbed = tx.profile_record(namespace, merge.absorbed)
    return Undoing(merge, restoring, _family(tx, namespace, merge), absorbed.created_at)


def _retired_by(tx: ReadTx, namespace: str, merge, state: GraphState) -> list[LinkRecord]:
    """The links an explicit merge ended to retire the absorbed profile's identifiers of
    unique types, and those identifiers, added to ``state``. Only the absorbed profile's:
    one request may merge several profiles into one target."""
    ended = tx.links_ended_by(namespace, merge.request_id, "merged")
    ends = {key for link in ended for key in (link.a, link.b)} | {merge.absorbed_key}
    before = tx.placed_at(namespace, ends, just_before(merge.at))
    retired = {
        stored.key: stored
        for stored in tx.identifiers(namespace, ends)
        if stored.profile_id is None and before.get(stored.key) == merge.absorbed
    }
    state.identifiers.update(retired)
    return [
        link
        for link in ended
        if {link.a, link.b} <= state.identifiers.keys() and {link.a, link.b} & retired.keys()
    ]


def _family(tx: ReadTx, namespace: str, merge) -> list[int]:
    """The profiles the absorbed one had absorbed before (directly or through chains) and
    that still answer for the survivor: after the undo they answer for it again."""
    earlier = [m for m in _merges_around(tx, namespace, merge.absorbed) if m.id < merge.id]
    family = lineage.aliases_at(merge.absorbed, earlier, None)
    return [
        pid
        for pid in family
        if (record := tx.profile_record(namespace, pid)) and record.merged_into == merge.survivor
    ]


def _with_history(
    tx: ReadTx, namespace: str, state: GraphState, also: list[int] | None = None
) -> GraphState:
    """The state with the attribute writes of its identifiers, and the profile-level writes
    to its profiles and to ``also`` (an undo's absorbed side, which the state does not
    hold: merged profiles are not loaded), for a split."""
    profiles = [*state.profiles, *(also or ())]
    state.history = tx.attribute_history(namespace, list(state.identifiers), profiles)
    return state


def _lineage_identifier(stored: StoredIdentifier, member: bool) -> LineageIdentifier:
    return LineageIdentifier(
        stored.key, stored.type, stored.value, stored.profile_id, stored.created_at, member
    )


def _type(type_: str, name: str) -> str:
    try:
        return normalize_type(type_)
    except InvalidValue as error:
        raise InvalidInput(f"{name}: {error}", fields={name: [str(error)]}) from error
