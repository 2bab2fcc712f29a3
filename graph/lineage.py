"""How a profile was assembled: its history as a graph, the path that explains why two
identifiers are one person, and exports for analysts. Pure functions over what the store
read; networkx does the graph algorithms and the GraphML. No I/O, no HTTP.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import networkx as nx

from graph.model import (
    AttributeHistory,
    Identifier,
    LinkRecord,
    MergeRecord,
    ProfileView,
    StoredIdentifier,
)
from graph.xmltext import xml_escape, xml_safe


@dataclass(frozen=True, slots=True)
class LineageIdentifier:
    key: str
    type: str
    value: str
    profile_id: int | None  # where it is (was, at ``as_of``); None: in no profile
    created_at: str
    member: bool  # in the profile; else the other end of a link that left it


@dataclass(frozen=True, slots=True)
class LineageProfile:
    """The profile a lineage page belongs to (now, or at ``as_of``)."""

    id: int
    aliases: tuple[int, ...]
    attributes: dict
    created_at: str


@dataclass(frozen=True, slots=True)
class Lineage:
    """One page of a profile's lineage: identifiers by key, every link touching them, and the
    merges that built the profile (on the first page)."""

    profile: LineageProfile
    as_of: str | None
    identifiers: tuple[LineageIdentifier, ...]
    links: tuple[LinkRecord, ...]
    merges: tuple[MergeRecord, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Step:
    """One link of an explanation, walked from ``start`` to ``end``."""

    start: str
    end: str
    link: LinkRecord


def links_as_of(links: Iterable[LinkRecord], as_of: str | None) -> list[LinkRecord]:
    """The links as they were at ``as_of`` (all of them, now, for None)."""
    return [shown for link in links if (shown := link.as_of(as_of)) is not None]


def merges_as_of(merges: Iterable[MergeRecord], as_of: str | None) -> list[MergeRecord]:
    """The merges as they were at ``as_of`` (all of them, now, for None)."""
    return [shown for merge in merges if (shown := merge.as_of(as_of)) is not None]


def aliases_at(profile_id: int, merges: Iterable[MergeRecord], as_of: str | None) -> list[int]:
    """The ids merged into the profile, directly or through chains, by merges holding at
    ``as_of``."""
    into: dict[int, list[int]] = {}
    for merge in merges:
        if merge.active_at(as_of):
            into.setdefault(merge.survivor, []).append(merge.absorbed)
    found: list[int] = []
    frontier = [profile_id]
    while frontier:
        frontier = [absorbed for pid in frontier for absorbed in into.get(pid, ())]
        found += frontier
    return sorted(set(found) - {profile_id})


def profile_as_of(
    profile_id: int,
    created_at: str,
    members: Sequence[StoredIdentifier],
    links: Iterable[LinkRecord],
    merges: Iterable[MergeRecord],
    attributes: dict,
    writes: Iterable[AttributeHistory],
    recognizing_types: Iterable[str],
    as_of: str,
) -> ProfileView:
    """A profile as it was at ``as_of``; it was last updated by the latest of its members'
    links created or ended by then and of the attribute writes to it by then (its values
    change only through one or the other)."""
    times = [created_at] + [m.created_at for m in members]
    for link in links_as_of(links, as_of):
        times += [t for t in (link.created_at, link.ended_at) if t]
    times += [w.at for w in writes if w.profile_id == profile_id and w.at <= as_of]
    ordered = sorted(members, key=lambda m: (m.created_at, m.key))
    recognizing = set(recognizing_types)
    return ProfileView(
        id=profile_id,
        recognized=any(m.type in recognizing for m in members),
        identifiers=tuple(Identifier(m.type, m.value) for m in ordered),
        attributes=dict(sorted(attributes.items())),
        aliases=tuple(aliases_at(profile_id, merges, as_of)),
        created_at=created_at,
        updated_at=max(times),
    )


def shortest_path(links: Iterable[tuple[int, str, str]], start: str, end: str) -> list[tuple]:
    """The fewest active links joining two identifiers, as (link id, from, to) in walking
    order; [] when ``start`` is ``end``. Raises nx.NetworkXNoPath when they are apart. Of
    several shortest paths, the one found first walking links in the order of their ids:
    the same on every store, whatever order it reads links in."""
    graph = nx.Graph()
    graph.add_nodes_from((start, end))
    for link_id, a, b in sorted(links):
        graph.add_edge(a, b, id=link_id)
    keys = nx.shortest_path(graph, start, end)
    return [(graph.edges[a, b]["id"], a, b) for a, b in zip(keys, keys[1:], strict=False)]


# --- exports ----------------------------------------------------------------------------------


def as_graph(lineage: Lineage) -> nx.MultiGraph:
    """Identifiers as nodes (by key), links as edges with their provenance; None values are
    left out, as GraphML has no null."""
    graph = nx.MultiGraph(profile_id=lineage.profile.id, as_of=lineage.as_of or "")
    for identifier in lineage.identifiers:
        graph.add_node(identifier.key, **_present(asdict(identifier), skip={"key"}))
    for link in lineage.links:
        data = _present(asdict(link), skip={"a", "b"})
        graph.add_edge(link.a, link.b, key=link.id, active=link.ended_at is None, **data)
    return graph


def graphml(lineage: Lineage) -> str:
    """``as_graph`` as GraphML, its strings escaped where XML 1.0 cannot hold them and named
    in each element's ``escaped`` attribute (graph/xmltext.py)."""
    graph = as_graph(lineage)
    safe = nx.MultiGraph(**xml_safe(graph.graph))
    safe.add_nodes_from((xml_escape(key), xml_safe(data)) for key, data in graph.nodes(data=True))
    safe.add_edges_from(
        (xml_escape(a), xml_escape(b), key, xml_safe(data))
        for a, b, key, data in graph.edges(keys=True, data=True)
    )
    out = io.BytesIO()
    nx.write_graphml(safe, out, named_key_ids=True)
    return out.getvalue().decode("utf-8")


def node_link(lineage: Lineage) -> dict:
    """networkx's node-link JSON (what d3, Cytoscape and networkx read back)."""
    return nx.node_link_data(as_graph(lineage), edges="links")


def _present(record: dict, skip: set[str]) -> dict:
    return {k: v for k, v in record.items() if v is not None and k not in skip}
