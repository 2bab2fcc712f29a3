"""The in-memory graph a plan is decided on.

It holds the loaded profiles of one batch, is changed item by item by the planner, and turns
into one change set at the end. Profiles are disjoint sets of identifier keys joined by union
by size (the smaller side is relabeled, as in the store); unlike a textbook union-find it also
supports taking an identifier out, because a moved device can split the profile it leaves.
No I/O and no clock: time and request come in with the Provenance.
"""

from __future__ import annotations

from bisect import insort
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from graph.attributes import Attributes
from graph.model import (
    Ban,
    ChangeSet,
    ConflictRow,
    GraphState,
    Identifier,
    LinkRecord,
    MergeRecord,
    MergeRow,
    NewIdentifier,
    NewLink,
    ProfileRow,
    Provenance,
    Sequences,
)
from graph.rules import Rules


class WorkingGraph:
    def __init__(self, state: GraphState, rules: Rules, provenance: Provenance) -> None:
        self._rules = rules
        self._provenance = provenance
        # attribute writes through these identifiers are loaded only for a split (end, undo),
        # so each part can take back the values written through it
        self._attributes = Attributes(state.attributes, state.history, provenance)
        self._profile_of: dict[str, int | None] = {}
        self._identifier: dict[str, Identifier] = {}
        self._created_at: dict[str, str] = {}
        self._members: dict[int, set[str]] = defaultdict(set)
        self._counts: dict[int, dict[str, int]] = defaultdict(dict)  # pid -> {type: count}
        # pid -> {type: its keys, oldest first}: asked once per refused or replacing item (a
        # batch may send thousands against one large profile), so built for a profile the first
        # time it is asked, then kept by ``_assign`` and ``_unassign`` (all that changes one);
        # one dropped is built again when next asked
        self._by_type: dict[int, defaultdict[str, list[str]]] = {}
        self._adjacent: dict[str, dict[str, int]] = defaultdict(dict)  # key -> {key: link id}
        self._profile_created: dict[int, str] = {}
        self._parent: dict[int, int] = {}
        self._next = {
            "profile": state.sequences.profile,
            "link": state.sequences.link,
            "merge": state.sequences.merge,
            "ban": state.sequences.ban,
        }
        self._bans: dict[str, list[Ban]] = defaultdict(list)  # by each identifier they name
        for ban in state.bans:
            self._bans[ban.a].append(ban)
            if ban.b is not None:
                self._bans[ban.b].append(ban)
        # what changed
        self._new_keys: list[str] = []
        self._new_profiles: list[int] = []
        self._touched: set[int] = set()
        self._absorbed_recognized: dict[int, bool] = {}
        self._new_links: dict[int, NewLink] = {}
        self._ended: dict[int, str] = {}
        self._merges: list[MergeRow] = []
        self._conflicts: list[ConflictRow] = []
        # profile -> (the merge of this request absorbing it, the profile absorbing it)
        self._absorbed_by: dict[int, tuple[int, int]] = {}
        self._restored: list[int] = []
        self._repointed: list[tuple[int, int]] = []
        self._undone: list[int] = []
        self._new_bans: list[Ban] = []
        self._load(state)
        self._loaded_profile_of = dict(self._profile_of)
        self._touched.clear()

    def _load(self, state: GraphState) -> None:
        for pid, profile in state.profiles.items():
            self._profile_created[pid] = profile.created_at
        for key, stored in state.identifiers.items():
            self._identifier[key] = Identifier(stored.type, stored.value)
            self._created_at[key] = stored.created_at
            if stored.profile_id is None:  # left every profile; an undo may bring it back
                self._profile_of[key] = None
            else:
                self._assign(key, stored.profile_id)
        for link in state.links:
            self._adjacent[link.a][link.b] = link.id
            self._adjacent[link.b][link.a] = link.id

    # --- questions ----------------------------------------------------------------------------

    def knows(self, key: str) -> bool:
        return key in self._identifier

    def type_of(self, key: str) -> str:
        return self._identifier[key].type

    def identifier(self, key: str) -> Identifier:
        return self._identifier[key]

    def profile_of(self, key: str) -> int | None:
        return self._profile_of.get(key)

    def profiles_of(self, keys: list[str]) -> list[int]:
        """The distinct profiles holding any of ``keys``, in the order of ``keys``."""
        found = [pid for key in keys if (pid := self._profile_of.get(key)) is not None]
        return list(dict.fromkeys(found))

    def size(self, pid: int) -> int:
        return len(self._members[pid])

    def counts(self, pid: int) -> Mapping[str, int]:
        """How many identifiers of each type the profile holds (a type may count 0), in no
        defined order: a merge or split moves identifiers in set order."""
        return self._counts[pid]

    def is_recognized(self, pid: int) -> bool:
        counts = self._counts[pid]
        return any(counts.get(type_) for type_ in self._rules.recognizing_types)

    def is_linked(self, a: str, b: str) -> bool:
        return b in self._adjacent.get(a, ())

    def broken_ban(self, identifiers: Sequence[Identifier]) -> Ban | None:
        """A ban that joining ``identifiers`` and their profiles would break: it names two of
        them (or one, and the type of another) that are not together yet. Which one, when
        several are, follows set order: callers only ask whether there is one."""
        if not self._bans:
            return None
        types = {i.key: i.type for i in identifiers}
        union = set(types)
        for pid in self.profiles_of(list(types)):
            union |= self._members[pid]
        types.update((key, self.type_of(key)) for key in union if key not in types)
        return self.ban_among(types)

    @property
    def has_bans(self) -> bool:
        return bool(self._bans)

    def ban_among(self, types: Mapping[str, str]) -> Ban | None:
        """A ban that one profile of exactly the keys of ``types`` (key -> type) would break:
        it names two of them (or one, and the type of another) that are not together yet. A
        move or a replacement asks it of what it would join, leaving some identifiers of the
        profiles it joins behind; ``broken_ban`` of whole profiles."""
        for key in types:
            for ban in self._bans.get(key, ()):
                if ban.a not in types:
                    continue
                home = self._profile_of.get(ban.a)
                for other in [ban.b] if ban.b is not None else types:
                    if (
                        other in types
                        and ban.forbids(other, types[other])
                        and (home is None or self._profile_of.get(other) != home)
                    ):
                        return ban
        return None

    def members(self, pid: int) -> list[str]:
        """The profile's identifier keys, oldest first."""
        return sorted(self._members[pid], key=self._age)

    def members_of_type(self, pid: int, type_: str) -> Sequence[str]:
        """The profile's identifier keys of ``type_``, oldest first (as in ``members``)."""
        by_type = self._by_type.get(pid)
        if by_type is None:
            by_type = self._by_type[pid] = defaultdict(list)
            for key in self.members(pid):
                by_type[self._identifier[key].type].append(key)
        return by_type[type_]

    def oldest_of_type(self, pid: int, type_: str) -> str | None:
        """The profile's first identifier of ``type_`` in the order of ``members``; None if
        it holds none."""
        keys = self.members_of_type(pid, type_)
        return keys[0] if keys else None

    # --- changes ------------------------------------------------------------------------------

    def add_identifier(self, identifier: Identifier) -> None:
        """Register a new identifier, not yet in any profile; ``connect`` places it."""
        key = identifier.key
        self._identifier[key] = identifier
        self._created_at[key] = self._provenance.at
        self._profile_of[key] = None
        self._new_keys.append(key)

    def place(self, key: str) -> int:
        """Give an identifier that is in no profile a profile of its own."""
        pid = self._new_profile()
        self._assign(key, pid)
        return pid

    def connect(
        self,
        a: str,
        b: str,
        item_index: int | None,
        *,
        survivor: int | None = None,
        merge_id: int | None = None,
    ) -> bool:
        """Add an active link a-b, joining their profiles; False if it already existed.
        ``survivor`` keeps its id if the link merges two profiles (else the larger does);
        ``merge_id`` records the link as part of a merge made by the caller."""
        pa, pb = self._profile_of[a], self._profile_of[b]
        if pa is None and pb is None:
            pid = self._new_profile()
            self._assign(a, pid)
            self._assign(b, pid)
        elif pa is None:
            self._assign(a, pb)
        elif pb is None:
            self._assign(b, pa)
        elif pa != pb:
            merge_id = self.merge(pa, pb, item_index, survivor=survivor, keys=(a, b))
        if self.is_linked(a, b):
            return False
        if merge_id is None:
            merge_id = self._merge_joining(a, b)
        self._add_link(a, b, item_index, merge_id)
        return True

    def _add_link(self, a: str, b: str, item_index: int | None, merge_id: int | None = None):
        link_id = self._allocate("link")
        self._new_links[link_id] = NewLink(link_id, a, b, item_index, merge_id)
        self._adjacent[a][b] = link_id
        self._adjacent[b][a] = link_id

    def detach(self, keys: list[str], reason: str, *, split: bool = True) -> list[int]:
        """End every active link of ``keys`` and take them out of their profiles, which split
        if that disconnects them (once all have left, so that no part is left empty; not at
        all with ``split=False``, for a caller that reconnects the rest). Returns the profiles
        they left; ``connect`` or ``place`` puts them in one again."""
        left = list(dict.fromkeys(self._profile_of[key] for key in keys))
        for key in keys:
            for neighbour, link_id in list(self._adjacent[key].items()):
                self._end_link(link_id, key, neighbour, reason)
            self._unassign(key)
        if split:
            for pid in left:
                self._split(pid)
        return left

    def end(self, link_id: int, a: str, b: str, reason: str) -> list[int]:
        """End one active link; the profile splits if that disconnects it. Returns the
        profiles its identifiers are in afterwards (one, or the parts of the split)."""
        pid = self._profile_of[a]
        self._end_link(link_id, a, b, reason)
        self._split(pid)
        return list(dict.fromkeys((self._profile_of[a], self._profile_of[b])))

    def undo_merge(
        self,
        merge: MergeRecord,
        ending: list[LinkRecord],
        restoring: list[LinkRecord],
        aliases: list[int],
        absorbed_created_at: str,
        reason: str,
    ) -> tuple[int, int] | None:
        """Take back a merge: end the links it added (``ending``), link again the identifiers
        an explicit merge retired (``restoring``: links it ended, which come back as new
        links), and give the part holding the absorbed side its id back, with ``aliases``
        (profiles it had absorbed before) pointing at it again. The survivor's part keeps its
        id; any other part gets a new one, in the order of their oldest identifiers. Returns
        (survivor, absorbed), or None, changing nothing, when later links still join the two
        sides."""
        survivor, absorbed = merge.survivor, merge.absorbed
        retired = {k for link in restoring for k in (link.a, link.b)} | {merge.absorbed_key or ""}
        scope = set(self._members[survivor])
        scope.update(k for k in retired if self.knows(k) and self._profile_of[k] is None)
        adjacent = {key: dict(self._adjacent[key]) for key in scope}
        for link in ending:
            adjacent[link.a].pop(link.b, None)
            adjacent[link.b].pop(link.a, None)
        for link in restoring:
            if link.a in scope and link.b in scope:
                adjacent[link.a][link.b] = adjacent[link.b][link.a] = 0
        parts = _components(scope, adjacent)
        parts.sort(key=self._oldest)  # other parts get new ids in order of their oldest key
        part_of = {key: part for part in parts for key in part}
        survivor_part = part_of.get(merge.survivor_key or "")
        absorbed_part = part_of.get(merge.absorbed_key or "")
        if survivor_part is None or absorbed_part is None or survivor_part is absorbed_part:
            return None
        for link in ending:
            self._end_link(link.id, link.a, link.b, reason)
        for link in restoring:
            if link.a in scope and link.b in scope and not self.is_linked(link.a, link.b):
                self._add_link(link.a, link.b, None)
        self._profile_created[absorbed] = absorbed_created_at
        self._restored.append(absorbed)
        self._undone.append(merge.id)
        self._repointed += [(alias, absorbed) for alias in aliases]
        for part in parts:
            if part is survivor_part:
                target = survivor
            elif part is absorbed_part:
                target = absorbed
            else:
                target = self._new_profile(parent=survivor)
            for key in part:
                if self._profile_of.get(key) != target:
                    if self._profile_of.get(key) is not None:
                        self._unassign(key)
                    self._assign(key, target)
            if target != survivor:
                self._attributes.carry(survivor, target, part, {target, *aliases})
        self._attributes.fill(survivor, self._members[survivor], {survivor})
        return survivor, absorbed

    def ban(self, a: str, b: str | None, b_type: str | None, reason: str, link_id=None) -> Ban:
        p = self._provenance
        ban = Ban(self._allocate("ban"), a, b, b_type, reason, p.source, p.at, link_id)
        self._new_bans.append(ban)
        return ban

    def replace(self, old: str, new: Identifier, item_index: int) -> None:
        """``new`` takes ``old``'s place in its profile: linked to each of old's neighbours,
        so the profile stays connected, while old's links end (reason ``replaced``) and old
        stops resolving. Its history stays."""
        pid = self._profile_of[old]
        neighbours = list(self._adjacent[old])
        if not self.knows(new.key):
            self.add_identifier(new)
        self.detach([old], reason="replaced", split=False)
        self._assign(new.key, pid)
        for neighbour in neighbours:
            self.connect(new.key, neighbour, item_index)

    def write_attributes(self, pid: int, via: str | None, attributes: dict[str, Any]) -> None:
        """``None`` deletes an attribute; every write is kept in the history."""
        if attributes:
            self._attributes.write(pid, via, attributes)
            self._touched.add(pid)

    def record_conflict(
        self, item_index: int, rule: str, profiles: list[int], identifiers: tuple[Identifier, ...]
    ) -> None:
        self._conflicts.append(ConflictRow(item_index, rule, tuple(profiles), identifiers))

    # --- internals ----------------------------------------------------------------------------

    def _allocate(self, sequence: str) -> int:
        value = self._next[sequence]
        self._next[sequence] = value + 1
        return value

    def _new_profile(self, parent: int | None = None) -> int:
        pid = self._allocate("profile")
        self._profile_created[pid] = self._provenance.at
        self._new_profiles.append(pid)
        if parent is not None:
            self._parent[pid] = parent
        return pid

    def _assign(self, key: str, pid: int) -> None:
        self._profile_of[key] = pid
        self._members[pid].add(key)
        counts = self._counts[pid]
        type_ = self._identifier[key].type
        counts[type_] = counts.get(type_, 0) + 1
        by_type = self._by_type.get(pid)
        if by_type is not None:
            insort(by_type[type_], key, key=self._age)
        self._touched.add(pid)

    def _unassign(self, key: str) -> None:
        pid = self._profile_of[key]
        self._members[pid].discard(key)
        type_ = self._identifier[key].type
        self._counts[pid][type_] -= 1
        by_type = self._by_type.get(pid)
        if by_type is not None:
            by_type[type_].remove(key)
        self._profile_of[key] = None
        self._touched.add(pid)

    def merge(
        self,
        pa: int,
        pb: int,
        item_index: int | None,
        *,
        survivor: int | None = None,
        keep_attributes: bool = True,
        keys: tuple[str, str] = ("", ""),
    ) -> int:
        """Join two profiles; the other's id becomes an alias of ``survivor``. Without one,
        union by size: the larger survives (the older on a tie), so the smaller side is
        relabeled. ``keep_attributes=False`` drops the absorbed side's values (an explicit
        merge: the target's data is kept). ``keys``: an identifier of ``pa`` and one of
        ``pb`` the merge joins, recorded so an undo knows the sides. Returns the merge id."""
        if survivor not in (pa, pb):
            survivor = min((pa, pb), key=self._survivor_order)
        absorbed = pb if survivor == pa else pa
        survivor_key, absorbed_key = keys if survivor == pa else keys[::-1]
        absorbed_recognized = self._absorbed_recognized[absorbed] = self.is_recognized(absorbed)
        if keep_attributes:
            self._attributes.merge(
                survivor, absorbed, self.is_recognized(survivor), absorbed_recognized
            )
        else:
            self._attributes.drop(absorbed)
        # left empty: its index by type goes whole, not key by key (a list removal each)
        self._by_type.pop(absorbed, None)
        for key in list(self._members[absorbed]):
            self._unassign(key)
            self._assign(key, survivor)
        merge_id = self._allocate("merge")
        self._merges.append(
            MergeRow(
                merge_id, survivor, absorbed, item_index, survivor_key or None, absorbed_key or None
            )
        )
        self._absorbed_by[absorbed] = (merge_id, survivor)
        return merge_id

    def _merge_joining(self, a: str, b: str) -> int | None:
        """The merge of this request a new link belongs to: one joining two identifiers that
        were in different profiles when the request began, now one (an item naming three
        identifiers of two profiles adds two links across; an undo ends both). It is the
        merge that first put those two profiles together, not one that absorbed either of
        them later: when A absorbs C and then D absorbs A, a link between A and C is the
        first merge's, and undoing the second leaves it. None if no merge did."""
        before_a, before_b = self._loaded_profile_of.get(a), self._loaded_profile_of.get(b)
        if before_a is None or before_b is None or before_a == before_b:
            return None
        # the first profile both sides reach holds them since the later merge of the two
        reached = dict(self._absorptions(before_a))
        for pid, since in self._absorptions(before_b):
            if pid in reached:
                return max(since, reached[pid])
        return None

    def _absorptions(self, pid: int) -> list[tuple[int, int]]:
        """``pid`` and the profiles this request's merges moved its identifiers into after
        it, in turn, each with the merge that moved them there (0 for ``pid`` itself: merge
        ids start at 1)."""
        chain = [(pid, 0)]
        for _ in range(len(self._absorbed_by)):  # each merge absorbs one profile
            if pid not in self._absorbed_by:
                break
            merge_id, pid = self._absorbed_by[pid]
            chain.append((pid, merge_id))
        return chain

    def _survivor_order(self, pid: int) -> tuple[int, str, int]:
        return (-len(self._members[pid]), self._profile_created[pid], pid)

    def _age(self, key: str) -> tuple[str, str]:
        """The order of ``members``: (created_at, key), oldest first."""
        return (self._created_at[key], key)

    def _oldest(self, keys: set[str]) -> tuple[str, str]:
        """(created_at, key) of the oldest of ``keys``."""
        return min((self._created_at[key], key) for key in keys)

    def _end_link(self, link_id: int, a: str, b: str, reason: str) -> None:
        del self._adjacent[a][b]
        del self._adjacent[b][a]
        if link_id in self._new_links:
            self._new_links[link_id] = replace(self._new_links[link_id], ended_reason=reason)
        else:
            self._ended[link_id] = reason

    def _split(self, pid: int) -> None:
        """Give every part of ``pid`` that is no longer connected its own profile. The largest
        part keeps the id (as the larger side survives a merge, and it relabels the fewest
        rows); on a tie, the part holding the oldest identifier. The other parts get new ids
        in the order of their oldest identifiers, and take the attributes written through
        their own identifiers."""
        remaining = self._members[pid]
        if not remaining:
            return
        parts = _components(remaining, self._adjacent)
        if len(parts) == 1:
            return
        parts.sort(key=self._oldest)  # the order new ids are given in, whatever the hash seed
        keeper = max(parts, key=len)  # on a tie the first: the part holding the oldest key
        for part in parts:
            if part is keeper:
                continue
            new_pid = self._new_profile(parent=pid)
            for key in part:
                self._unassign(key)
                self._assign(key, new_pid)
            self._attributes.carry(pid, new_pid, part)
        self._attributes.fill(pid, self._members[pid], {pid})

    # --- the result ---------------------------------------------------------------------------

    def change_set(self) -> ChangeSet:
        at = self._provenance.at
        changes = ChangeSet(provenance=self._provenance)
        # one replaced within the same request is kept too, in no profile, for its history
        changes.new_identifiers = [self._new_identifier_row(key) for key in self._new_keys]
        changes.relabels = [
            (key, pid)
            for key, loaded in self._loaded_profile_of.items()
            if (pid := self._profile_of[key]) != loaded
        ]
        new = set(self._new_profiles)
        changes.new_profiles = [self._profile_row(pid, at) for pid in self._new_profiles]
        changes.updated_profiles = [
            self._profile_row(pid, at) for pid in sorted(self._touched - new)
        ]
        changes.new_links = list(self._new_links.values())
        changes.ended_links = list(self._ended.items())
        changes.merges = list(self._merges)
        changes.attributes = self._attributes.changed()
        changes.attribute_writes = self._attributes.writes()
        changes.conflicts = list(self._conflicts)
        changes.sequences = Sequences(**self._next)
        changes.restored = list(self._restored)
        changes.repointed = list(self._repointed)
        changes.undone_merges = list(self._undone)
        changes.new_bans = list(self._new_bans)
        return changes

    def _new_identifier_row(self, key: str) -> NewIdentifier:
        identifier = self._identifier[key]
        return NewIdentifier(key, identifier.type, identifier.value, self._profile_of[key])

    def _profile_row(self, pid: int, at: str) -> ProfileRow:
        if pid in self._absorbed_recognized:
            recognized = self._absorbed_recognized[pid]
        else:
            recognized = self.is_recognized(pid)
        created = self._profile_created[pid]
        return ProfileRow(pid, created, at, recognized, self._parent.get(pid))


def _components(keys: set[str], adjacent: Mapping[str, Mapping[str, int]]) -> list[set[str]]:
    """The connected parts of ``keys`` over ``adjacent`` (key -> {neighbour: link id}), in
    set order: a caller whose decisions depend on their order sorts them."""
    unseen = set(keys)
    parts = []
    while unseen:
        start = unseen.pop()
        part, queue = {start}, deque([start])
        while queue:
            for neighbour in adjacent.get(queue.popleft(), ()):
                if neighbour in unseen:
                    unseen.discard(neighbour)
                    part.add(neighbour)
                    queue.append(neighbour)
        parts.append(part)
    return parts
