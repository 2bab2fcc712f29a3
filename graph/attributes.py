"""The attribute values of the profiles a plan touches, and who wins when profiles join or
part (survivorship). Part of the working graph (working.py), which says when; this says what
each profile's values become. No I/O and no clock: time and request come with the Provenance.

- A write sets (or, with None, deletes) values through an identifier, or profile-level; every
  write is kept in the history.
- A merge: a recognized profile's values win over an anonymous one's, which fill the gaps;
  between equals the latest write wins. An explicit merge keeps only the target's values.
- A split: each part takes the values written through its own identifiers, and fills the
  names it lacks from the history of writes (loaded for splits only: only the writes made to
  the splitting profile or its own, base.py ``attribute_history``, never those made through
  one of its identifiers while it was in another profile, a shared browser). An undone merge's
  absorbed side also takes the values written on it profile-level (and on the profiles it
  had absorbed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graph.model import Attribute, AttributeHistory, AttributeWrite, Provenance


class Attributes:
    def __init__(
        self,
        current: Mapping[int, Mapping[str, Attribute]],
        history: Iterable[AttributeHistory],
        provenance: Provenance,
    ) -> None:
        self._values: dict[int, dict[str, Attribute]] = {
            pid: dict(attributes) for pid, attributes in current.items()
        }
        self._history = list(history)
        self._provenance = provenance
        self._changed: set[int] = set()
        self._writes: list[AttributeWrite] = []

    def write(self, pid: int, via: str | None, attributes: Mapping[str, Any]) -> None:
        """Set values through ``via`` (None: profile-level); ``None`` deletes one."""
        current = self._values.setdefault(pid, {})
        p = self._provenance
        for name, value in attributes.items():
            if value is None:
                current.pop(name, None)
            else:
                current[name] = Attribute(value, via, p.at, p.request_id)
            self._writes.append(AttributeWrite(pid, via, name, value))
        self._changed.add(pid)

    def merge(
        self, survivor: int, absorbed: int, survivor_recognized: bool, absorbed_recognized: bool
    ) -> None:
        """The survivor's values after absorbing ``absorbed``'s."""
        theirs = self._values.pop(absorbed, {})
        if not theirs:
            return
        merged = dict(self._values.get(survivor, {}))
        for name, attribute in theirs.items():
            kept = merged.get(name)
            if kept is None or _takes_precedence(
                attribute, kept, absorbed_recognized, survivor_recognized
            ):
                merged[name] = attribute
        self._values[survivor] = merged
        self._changed.update((survivor, absorbed))

    def drop(self, pid: int) -> None:
        """Forget a profile's values (an explicit merge keeps only the target's)."""
        if self._values.pop(pid, None):
            self._changed.add(pid)

    def carry(
        self, source: int, target: int, part: set[str], target_ids: set[int] | None = None
    ) -> None:
        """The values written through ``part``'s identifiers, or profile-level to one of
        ``target_ids`` (its own id by default; an undo names the absorbed profile and those
        it had absorbed), go with it from ``source`` to ``target``, which fills the names it
        lacks from the history: the latest write through its own identifiers, or
        profile-level to one of ``target_ids``. The caller fills the source the same way
        once every part has left."""
        owners = target_ids or {target}
        attributes = self._values.setdefault(source, {})
        carried = {
            name: attr
            for name, attr in attributes.items()
            if attr.via in part or (attr.via is None and self._written_to(name, attr) & owners)
        }
        for name in carried:
            del attributes[name]
        self._values[target] = carried
        self._changed.update((source, target))
        self.fill(target, part, target_ids or {target})

    def fill(self, pid: int, keys: set[str], profile_ids: set[int]) -> None:
        """Fill the names ``pid`` lacks from the latest write through ``keys``, or
        profile-level to ``profile_ids``."""
        latest: dict[str, AttributeHistory] = {}
        for write in self._history:
            if write.via in keys or (write.via is None and write.profile_id in profile_ids):
                latest[write.name] = write
        current = self._values.setdefault(pid, {})
        for name, write in latest.items():
            if name not in current and write.value is not None:
                current[name] = Attribute(write.value, write.via, write.at, write.request_id)

    def _written_to(self, name: str, attribute: Attribute) -> set[int]:
        """The profiles whose profile-level write of ``name`` set ``attribute`` (one, but a
        request writing the same name to two profiles at once leaves two)."""
        return {
            write.profile_id
            for write in self._history
            if write.via is None
            and write.name == name
            and (write.at, write.request_id) == (attribute.at, attribute.request_id)
        }

    def changed(self) -> dict[int, dict[str, Attribute]]:
        """The whole map of every profile whose values changed, by id."""
        return {pid: dict(self._values.get(pid, {})) for pid in sorted(self._changed)}

    def writes(self) -> list[AttributeWrite]:
        return list(self._writes)


def _takes_precedence(
    candidate: Attribute, kept: Attribute, candidate_recognized: bool, kept_recognized: bool
) -> bool:
    if candidate_recognized != kept_recognized:
        return candidate_recognized
    return candidate.at > kept.at
