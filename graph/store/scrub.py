"""Erasure beyond the purged profiles, decided once for every store: which of the other
profiles a purged person reached keep what, in their attribute history and current values.
Pure: a store reads the rows it asks for and writes the rows it answers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from graph.store.rows import dump_json


class Scrub:
    """What a purged person wrote, taken out of the other profiles it reached; the store reads
    and writes the rows (graph/store/sqlite/purge.py, graph/store/neo4j/purge.py).

    The person wrote values through its identifiers, and profile-level to its profiles
    (``erased``: those writes). Other profiles hold such values where the person was part of
    them for a while: the profiles its identifiers were placed in (``placed``: a merge later
    undone, a profile later split, a device that moved), the profiles its own merged with,
    and, through merges, every profile that absorbed one of those since (``others``). Their
    attribute versions and current values are kept, without the person's values:

    - a version loses a name whose value equals one the person wrote for it by then, unless a
      write that stays (to that profile or one it absorbed, by then) wrote that same value: the
      profile's past is what it was, less what came from the person. Values are not
      recomputed: a version is what survivorship decided then (a recognized side wins a merge),
      which the writes alone do not say; a value another source wrote alike to another profile
      absorbed later is taken out too.
    - a current value goes when it came from one of the person's writes (its provenance: the
      identifier it came through, or the request and time of a profile-level write).
    """

    def __init__(
        self,
        ids: Iterable[int],
        keys: Iterable[str],
        erased: Iterable[Mapping[str, Any]],
        placed: Iterable[int],
        merges_of: Any,
    ) -> None:
        self._ids = set(ids)
        self._keys = set(keys)
        self._first: dict[tuple[str, str], str] = {}  # (name, value): first written by them
        self._provenance: set[tuple[str, str | None, str, str]] = set()
        seeds = set(placed)
        for write in erased:
            seeds.add(write["profile_id"])
            self._provenance.add(
                (write["name"], write["via_key"], write["request_id"], write["written_at"])
            )
            if write["value"] is not None:
                value = (write["name"], _canonical(write["value"]))
                if write["written_at"] < self._first.get(value, "\uffff"):
                    self._first[value] = write["written_at"]
        self._absorbed: dict[int, set[int]] = {}  # survivor: the profiles it absorbed
        self.others = self._reach(seeds, merges_of)
        self.sources = self.others | {a for p in self.others for a in self._absorbed.get(p, ())}
        self._kept: dict[tuple[int, str, str], str] = {}  # (profile, name, value): first

    def _reach(
        self, seeds: set[int], merges_of: Callable[[list[int]], Iterable[tuple[int, int]]]
    ) -> set[int]:
        """The other profiles: the seeds, the profiles the person's merged with, and every
        profile that absorbed one of them since; ``_absorbed`` records the merges read."""
        reached = set(seeds) | self._ids
        frontier = set(reached)
        while frontier:
            found: set[int] = set()
            for survivor, absorbed in merges_of(sorted(frontier)):
                self._absorbed.setdefault(survivor, set()).add(absorbed)
                if absorbed in self._ids or survivor in self._ids:
                    found |= {survivor, absorbed}
                if absorbed in reached:
                    found.add(survivor)
            frontier = found - reached
            reached |= found
        return reached - self._ids

    def keep(self, writes: Iterable[Mapping[str, Any]]) -> None:
        """The writes to ``sources`` (each of ``others`` and the profiles they absorbed); those
        the purge deletes are left out here."""
        for write in writes:
            if write["value"] is None or write["profile_id"] in self._ids:
                continue
            if write["via_key"] in self._keys:
                continue
            value = (write["profile_id"], write["name"], _canonical(write["value"]))
            if write["written_at"] < self._kept.get(value, "\uffff"):
                self._kept[value] = write["written_at"]

    def versions(self, rows: Iterable[tuple[int, str, str]]) -> list[dict[str, Any]]:
        """The attribute versions (profile_id, at, JSON values) of ``others`` that change:
        rows of profile_id, at and the attributes without the person's values."""
        changed = []
        for profile_id, at, text in rows:
            values = json.loads(text)
            kept = {
                name: value
                for name, value in values.items()
                if not self._theirs(profile_id, name, value, at)
            }
            if len(kept) != len(values):
                changed.append({"profile_id": profile_id, "at": at, "attributes": dump_json(kept)})
        return changed

    def attributes(self, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Of the current values of ``others`` (profile_id, name, via_key, request_id, at),
        those that came from one of the person's writes: profile_id and name."""
        return [
            {"profile_id": row["profile_id"], "name": row["name"]}
            for row in rows
            if row["via_key"] in self._keys
            or (row["name"], row["via_key"], row["request_id"], row["at"]) in self._provenance
        ]

    def _theirs(self, profile_id: int, name: str, value: Any, at: str) -> bool:
        text = dump_json(_sorted(value))
        first = self._first.get((name, text))
        if first is None or first > at:
            return False
        profiles = {profile_id} | self._absorbed.get(profile_id, set())
        return not any(self._kept.get((p, name, text), "\uffff") <= at for p in profiles)


def _canonical(text: str) -> str:
    """A value's JSON text, the same for equal values however they were written."""
    return dump_json(_sorted(json.loads(text)))


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value
