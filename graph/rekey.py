"""Re-keying an identifier written before today's rules of types and values: what becomes of
it. Pure: the service (graph/service/rekeying.py) loads, decides here, and writes.

Stores written before the rules of graph/normalize.py hold identifiers those rules now spell
differently (``EMAIL:bob@x.io`` is ``email:bob@x.io``, full-width ``ＡＢＣ`` is ``ABC``) or refuse
(a bare ``ext`` with ``crm:u1``, whose key is the key of ``ext:crm`` with ``u1``; an ``Email``
that is no email). Today's requests can name neither. Each identifier is, by its stored type
and value:

- kept, if today's rules give it its own key;
- respelled (``Respell``), if they give another key. It is joined to the identifier of that key
  as a link item of the two would join them, under the namespace's rules (so a respelling that
  would merge two recognized people, or give a profile two emails, is refused and reported),
  then folded into it: its links, history and attribute writes go to the new key, which keeps
  the earlier creation, and the old key is gone;
- set aside (``SetAside``), if they refuse it: its type becomes ``~`` + the old type (its key
  ``~`` + the old key), which no request can name (a type starts with a letter), so it can no
  longer stand in the way of the identifier today's rules read its key as. It stays in its
  profile with its links and history, where lineage shows it and a person can end its links
  or purge it. So is an identifier in no profile (replaced, retired by a merge) whose new
  spelling is another identifier's (``taken``): it holds only history, which folding would
  give to an identifier that is someone's now.

A dry run writes nothing, yet decides each change on what the changes before it would have
left (``Rehearsal``), as the run's transactions see them.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType

from graph.model import ActiveLink, ChangeSet, GraphState, Identifier, StoredIdentifier
from graph.normalize import InvalidValue, normalize_type, normalize_value
from graph.rules import Rules

SET_ASIDE = "~"  # the first character of a set-aside type: never the first of a named one


@dataclass(frozen=True, slots=True)
class Respell:
    old: StoredIdentifier
    new: Identifier


@dataclass(frozen=True, slots=True)
class SetAside:
    old: StoredIdentifier
    reason: str

    @property
    def new(self) -> Identifier:
        """The same value, of a type no request can name: ``~`` + the old type."""
        return Identifier(SET_ASIDE + self.old.type, self.old.value)


Change = Respell | SetAside


def decide(stored: StoredIdentifier, rules: Rules) -> Change | None:
    """What today's rules make of a stored identifier; None: it keeps its key."""
    if stored.key.startswith(SET_ASIDE):
        return None
    try:
        type_ = normalize_type(stored.type)
        new = Identifier(type_, normalize_value(type_, stored.value, rules))
    except InvalidValue as refused:
        return SetAside(stored, str(refused))
    return None if new.key == stored.key else Respell(stored, new)


def taken(change: Respell) -> SetAside:
    """An identifier in no profile whose new spelling is another identifier: set aside, with
    its history, rather than folded into someone's identifier."""
    return SetAside(change.old, f"in no profile, and {change.new.key} is another identifier")


def uncounted(state: GraphState, new: Identifier, rules: Rules) -> GraphState:
    """The state a respelling to ``new`` is planned on, in which the spellings of one
    identifier count once against the rules, as they will once folded: an old spelling of
    ``new``, or of an identifier the state holds in today's spelling or in another old one,
    gets a type no rule names (``~`` + its type). ``email:Bob@x.io`` respelled gives its
    profile no second email, and a profile holding only an old spelling of the email another
    profile holds is not a second recognized person."""
    spellings: dict[str, list[StoredIdentifier]] = {}  # today's key -> old spellings of it
    for _, stored in sorted(state.identifiers.items()):  # the first by key stays counted
        change = decide(stored, rules)
        if isinstance(change, Respell):
            spellings.setdefault(change.new.key, []).append(stored)
    counted = {new.key, *state.identifiers}  # spelled today, here or once planned
    uncounted = {
        stored.key: replace(stored, type=SET_ASIDE + stored.type)
        for key, olds in spellings.items()
        for stored in (olds if key in counted else olds[1:])
    }
    if not uncounted:
        return state
    return replace(state, identifiers={**state.identifiers, **uncounted})


def joining_rules(rules: Rules) -> Rules:
    """The rules a respelling is decided under: the namespace's, but that a respelling only
    joins or is refused (it never moves a shared device, never replaces an email), and that
    the old spelling, about to be folded, does not count against the size of a profile."""
    return replace(
        rules,
        on_conflict=MappingProxyType({}),
        max_identifiers=rules.max_identifiers + 1,
    )


def respelled_pairs(
    pairs: list[list[str]], renamed: dict[str, Identifier]
) -> list[list[str]] | None:
    """The [type, value] pairs a refused link recorded, with the re-keyed ones respelled;
    None if it names none of them."""
    if not any(f"{type_}:{value}" in renamed for type_, value in pairs):
        return None
    return [
        [renamed[key].type, renamed[key].value] if (key := f"{t}:{v}") in renamed else [t, v]
        for t, v in pairs
    ]


@dataclass(frozen=True, slots=True)
class Rehearsal:
    """What a dry run would have written so far, as much of it as a later decision reads: a
    real run decides each change on a store holding the changes before it, so a dry run
    decides on the store as it is, ``seen`` through these. Memory grows with the changes.

    A store may run a transaction's work again: the work writes to an ``attempt``, which its
    caller keeps (``keep``) once the store has returned."""

    folded: ChainMap[str, str] = field(default_factory=ChainMap)  # old key -> the key it went to
    # identifiers that were not there (a new spelling, a set-aside key), in their profile then
    made: ChainMap[str, StoredIdentifier] = field(default_factory=ChainMap)
    made_in: ChainMap[int, tuple[str, ...]] = field(default_factory=ChainMap)
    survivor: ChainMap[int, int] = field(default_factory=ChainMap)  # absorbed -> live profile
    absorbed: ChainMap[int, tuple[int, ...]] = field(default_factory=ChainMap)

    def attempt(self) -> Rehearsal:
        return Rehearsal(*(getattr(self, f.name).new_child() for f in fields(self)))

    def keep(self) -> None:
        """Make an attempt's writes those of the rehearsal it was made from."""
        for f in fields(self):
            layers = getattr(self, f.name).maps
            layers[1].update(layers[0])

    def live(self, profile_id: int) -> int:
        return self.survivor.get(profile_id, profile_id)

    def exists(self, key: str, *, stored: bool) -> bool:
        """Whether the run would find ``key``, which the store holds or not."""
        return key in self.made or (stored and key not in self.folded)

    def profiles_to_load(self, state: GraphState, keys: Iterable[str]) -> set[int]:
        """The store's profiles whose identifiers make up the profiles the run would have
        holding ``keys``, of which ``state`` is the store's load."""
        lives = {self.live(pid) for pid in state.profiles}
        for key in keys:
            made = self.made.get(key)
            if made is not None and made.profile_id is not None:
                lives.add(self.live(made.profile_id))
        return {pid for live in lives for pid in (live, *self.absorbed.get(live, ()))}

    def seen(self, *loads: GraphState) -> GraphState:
        """The store's loads (of every profile ``profiles_to_load`` names) as the run would
        have left them: folded keys gone into their new ones, made identifiers in, absorbed
        profiles in their survivors. The attributes are the store's: no decision of a
        re-keying reads them."""
        into = self.folded
        state = _union(loads)
        identifiers = {
            key: replace(stored, profile_id=self.live(stored.profile_id))
            for key, stored in state.identifiers.items()
            if key not in into
        }
        for pid in state.profiles:
            for key in self.made_in.get(pid, ()):
                identifiers[key] = replace(self.made[key], profile_id=self.live(pid))
        profiles = {p: row for p, row in state.profiles.items() if p not in self.survivor}
        links = [
            ActiveLink(link.id, a, b)
            for link in state.links
            if (a := into.get(link.a, link.a)) != (b := into.get(link.b, link.b))
        ]
        bans = [
            replace(
                ban, a=into.get(ban.a, ban.a), b=None if ban.b is None else into.get(ban.b, ban.b)
            )
            for ban in state.bans
        ]
        attributes = {p: values for p, values in state.attributes.items() if p in profiles}
        return GraphState(
            identifiers, profiles, links, attributes, state.sequences, bans, state.history
        )

    def apply(self, changes: ChangeSet, created_at: str) -> None:
        """A respelling's link, planned on what ``seen`` answered."""
        for merge in changes.merges:
            moved = (merge.absorbed, *self.absorbed.get(merge.absorbed, ()))
            for pid in moved:
                self.survivor[pid] = merge.survivor
            self.absorbed[merge.survivor] = self.absorbed.get(merge.survivor, ()) + moved
        for row in changes.new_identifiers:
            self._make(StoredIdentifier(row.key, row.type, row.value, row.profile_id, created_at))

    def fold(self, old: StoredIdentifier, new: Identifier, *, stored: bool) -> None:
        """``old`` folded into ``new``, which the store holds or not."""
        if not self.exists(new.key, stored=stored):
            pid = None if old.profile_id is None else self.live(old.profile_id)
            self._make(StoredIdentifier(new.key, new.type, new.value, pid, old.created_at))
        self.folded[old.key] = new.key

    def _make(self, made: StoredIdentifier) -> None:
        self.made[made.key] = made
        if made.profile_id is not None:
            self.made_in[made.profile_id] = (*self.made_in.get(made.profile_id, ()), made.key)


def _union(loads: Iterable[GraphState]) -> GraphState:
    """Several loads of one transaction as one (the first's ids)."""
    loads = list(loads)
    union = GraphState(sequences=loads[0].sequences)
    links, bans = {}, {}
    for load in loads:
        union.identifiers.update(load.identifiers)
        union.profiles.update(load.profiles)
        union.attributes.update(load.attributes)
        union.history += load.history
        links.update((link.id, link) for link in load.links)
        bans.update((ban.id, ban) for ban in load.bans)
    union.links, union.bans = list(links.values()), list(bans.values())
    return union
