"""Export a store's identifiers and links, through the store protocol only (any store).

GraphML (networkx's writer): identifiers are nodes, links are edges with their provenance,
ended links included. The graph is built in memory before it is written. A string holding a
character XML 1.0 does not allow is written escaped, and the element names it in its
``escaped`` attribute (graph/xmltext.py): the file stays one every XML reader reads.

CSV: the files ``neo4j-admin database import full`` reads, each with its header, written a
row at a time. Node ids are ``<namespace>/<key>`` (identifiers) and ``<namespace>/<id>``
(profiles): a namespace holds no ``/``, so they are unique across namespaces.

A namespace named twice is exported once.

Both tell a ``progress`` callback how far each step stands (the command line draws the bars).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any, TypeVar

import networkx as nx

from graph.errors import IdgraphError
from graph.model import ProfileView
from graph.store.base import Store
from graph.xmltext import xml_escape, xml_safe

LINK_FIELDS = (
    "id",
    "operation",
    "source",
    "request_id",
    "item_index",
    "merge_id",
    "created_at",
    "ended_at",
    "end_reason",
    "ended_request_id",
)
# file -> its header, in neo4j-admin's format: name:type, :ID(space), :START_ID(space), ...
CSV_HEADERS: dict[str, list[str]] = {
    "identifiers.csv": [
        "ns_key:ID(Identifier)", "ns", "key", "type", "value", "profile_id:long", ":LABEL",
    ],
    "profiles.csv": [
        "ns_id:ID(Profile)", "ns", "id:long", "recognized:boolean", "created_at", "updated_at",
        "attributes", "aliases:long[]", ":LABEL",
    ],
    "member_of.csv": [":START_ID(Identifier)", ":END_ID(Profile)", ":TYPE"],
    "links.csv": [
        ":START_ID(Identifier)", ":END_ID(Identifier)", "id:long", "operation", "source",
        "request_id", "item_index:int", "merge_id:long", "created_at", "ended_at", "end_reason",
        "ended_request_id", ":TYPE",
    ],
}  # fmt: skip
_VIEWS_PER_READ = 1000
_REPORT_EVERY = 1000  # items between two progress reports
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Progress:
    """Reported when a step starts, every thousand items and when it ends: ``done`` items
    (``unit``: identifiers, links...) of ``total``, None where it is not known beforehand."""

    step: str
    unit: str
    done: int
    total: int | None = None


def _ignore(progress: Progress) -> None:
    pass


def _counted(
    items: Iterable[T],
    progress: Callable[[Progress], None],
    step: str,
    unit: str,
    total: int | None = None,
) -> Iterator[T]:
    """``items`` as they come, reporting the step's progress as they are consumed."""
    progress(Progress(step, unit, 0, total))
    done = 0
    for done, item in enumerate(items, 1):
        yield item
        if done % _REPORT_EVERY == 0:
            progress(Progress(step, unit, done, total))
    progress(Progress(step, unit, done, total))


def node_id(namespace: str, key: str | int) -> str:
    return f"{namespace}/{key}"


def export_graphml(
    store: Store,
    namespaces: Iterable[str],
    path: Path,
    *,
    progress: Callable[[Progress], None] = _ignore,
) -> dict[str, int]:
    """Write the namespaces' identifiers and links to one GraphML file; returns how many
    nodes and edges it holds, and how many of them hold escaped strings. Progress: each
    namespace's identifiers and links as they are read, then the file's nodes and edges,
    reported all at once when it is written."""
    graph = nx.MultiDiGraph()
    for ns in dict.fromkeys(namespaces):
        identifiers = store.iter_identifiers(ns)
        for key, type_, value, profile_id in _counted(
            identifiers, progress, f"{ns} identifiers", "identifiers"
        ):
            node = _graphml_node(ns, key)
            if node in graph:  # a key spelled as another's escape: keys are otherwise unique
                raise IdgraphError(
                    f"cannot export {ns} to GraphML: identifier {key!r} and another would be "
                    "written alike, one of them escaped"
                )
            properties = {"ns": ns, "key": key, "type": type_, "value": value}
            graph.add_node(node, **xml_safe({**properties, "profile_id": profile_id}))
        for link in _counted(store.iter_links(ns), progress, f"{ns} links", "links"):
            graph.add_edge(
                _graphml_node(ns, link["a_key"]),
                _graphml_node(ns, link["b_key"]),
                key=link["id"],
                **xml_safe({name: link[name] for name in LINK_FIELDS}),
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    written = {
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "escaped": _escaped(graph),
    }
    step, elements = f"writing {path.name}", written["nodes"] + written["edges"]
    progress(Progress(step, "nodes+edges", 0, elements))
    nx.write_graphml(graph, path)
    progress(Progress(step, "nodes+edges", elements, elements))
    return written


def _graphml_node(ns: str, key: str) -> str:
    return node_id(ns, xml_escape(key))


def _escaped(graph: nx.MultiDiGraph) -> int:
    """The nodes and edges holding an escaped string."""
    elements = chain(graph.nodes(data="escaped"), graph.edges(data="escaped"))
    return sum(1 for *_, escaped in elements if escaped)


def export_csv(
    store: Store,
    namespaces: Iterable[str],
    folder: Path,
    *,
    progress: Callable[[Progress], None] = _ignore,
) -> dict[str, int]:
    """Write the CSV files of CSV_HEADERS into ``folder``; returns the rows of each.
    Progress: each namespace's identifiers (identifiers.csv and member_of.csv), profiles (of
    a known total) and links, as they are written."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(CSV_HEADERS, 0)
    with ExitStack() as files:
        writers = {}
        for name, header in CSV_HEADERS.items():
            handle = files.enter_context((folder / name).open("w", newline="", encoding="utf-8"))
            writers[name] = csv.writer(handle)
            writers[name].writerow(header)

        def write(name: str, row: list[Any]) -> None:
            writers[name].writerow(row)
            counts[name] += 1

        for ns in dict.fromkeys(namespaces):
            identifiers = _counted(
                store.iter_identifiers(ns), progress, f"{ns} identifiers", "identifiers"
            )
            profile_ids = sorted(_write_identifiers(identifiers, ns, write))
            views = _profile_views(store, ns, profile_ids)
            for view in _counted(views, progress, f"{ns} profiles", "profiles", len(profile_ids)):
                write("profiles.csv", profile_row(ns, view))
            for link in _counted(store.iter_links(ns), progress, f"{ns} links", "links"):
                write("links.csv", link_row(ns, link))
    return counts


def _write_identifiers(
    identifiers: Iterable[tuple[str, str, str, int | None]],
    ns: str,
    write: Callable[[str, list[Any]], None],
) -> dict[int, None]:
    """identifiers.csv and member_of.csv; returns the profiles they are members of."""
    profile_ids: dict[int, None] = {}
    for key, type_, value, profile_id in identifiers:
        node = node_id(ns, key)
        write("identifiers.csv", [node, ns, key, type_, value, profile_id, "Identifier"])
        if profile_id is not None:
            write("member_of.csv", [node, node_id(ns, profile_id), "MEMBER_OF"])
            profile_ids[profile_id] = None
    return profile_ids


def _profile_views(store: Store, ns: str, ids: list[int]) -> Iterator[ProfileView | int]:
    """The views of these profiles, a thousand per read; the id alone for one that is no
    longer live (merged or erased while the export ran), so every membership has its node."""
    chunks = iter(ids)
    while chunk := list(islice(chunks, _VIEWS_PER_READ)):
        views = {v.id: v for v in store.read(lambda tx, c=chunk: tx.profile_views(ns, c))}
        yield from (views.get(pid, pid) for pid in chunk)


def profile_row(ns: str, view: ProfileView | int) -> list[Any]:
    if isinstance(view, int):
        return [node_id(ns, view), ns, view, None, None, None, None, None, "Profile"]
    return [
        node_id(ns, view.id),
        ns,
        view.id,
        "true" if view.recognized else "false",
        view.created_at,
        view.updated_at,
        json.dumps(dict(view.attributes), ensure_ascii=False, separators=(",", ":")),
        ";".join(map(str, view.aliases)),
        "Profile",
    ]


def link_row(ns: str, link: dict[str, Any]) -> list[Any]:
    return [
        node_id(ns, link["a_key"]),
        node_id(ns, link["b_key"]),
        *(link[name] for name in LINK_FIELDS),
        "LINKED",
    ]
