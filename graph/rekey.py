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
  or purge it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType

from graph.model import Identifier, StoredIdentifier
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
