"""Export a store's identifiers and links, through the store protocol only (any store).

GraphML (networkx's writer): identifiers are nodes, links are edges with their provenance,
ended links included. The graph is built in memory before it is written.

CSV: the files ``neo4j-admin database import full`` reads, each with its header, written a
row at a time. Node ids are ``<namespace>/<key>`` (identifiers) and ``<namespace>/<id>``
(profiles): a namespace holds no ``/``, so they are unique across namespaces.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from itertools import islice
from pathlib import Path
from typing import Any

import networkx as nx

from graph.model import ProfileView
from graph.store.base import Store

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


def node_id(namespace: str, key: str | int) -> str:
    return f"{namespace}/{key}"


def export_graphml(store: Store, namespaces: Iterable[str], path: Path) -> dict[str, int]:
    """Write the namespaces' identifiers and links to one GraphML file; returns how many
    nodes and edges it holds."""
    graph = nx.MultiDiGraph()
    for ns in namespaces:
        for key, type_, value, profile_id in store.iter_identifiers(ns):
            properties = {"ns": ns, "key": key, "type": type_, "value": value}
            graph.add_node(node_id(ns, key), **properties, **_present(profile_id=profile_id))
        for link in store.iter_links(ns):
            graph.add_edge(
                node_id(ns, link["a_key"]),
                node_id(ns, link["b_key"]),
                key=link["id"],
                **_present(**{name: link[name] for name in LINK_FIELDS}),
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    nx.write_graphml(graph, path)
    return {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges()}


def _present(**properties: Any) -> dict[str, Any]:
    """GraphML has no null: an absent value is an absent attribute."""
    return {name: value for name, value in properties.items() if value is not None}


def export_csv(store: Store, namespaces: Iterable[str], folder: Path) -> dict[str, int]:
    """Write the CSV files of CSV_HEADERS into ``folder``; returns the rows of each."""
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

        for ns in namespaces:
            profile_ids = _write_identifiers(store, ns, write)
            for view in _profile_views(store, ns, sorted(profile_ids)):
                write("profiles.csv", profile_row(ns, view))
            for link in store.iter_links(ns):
                write("links.csv", link_row(ns, link))
    return counts


def _write_identifiers(
    store: Store, ns: str, write: Callable[[str, list[Any]], None]
) -> dict[int, None]:
    """identifiers.csv and member_of.csv; returns the profiles they are members of."""
    profile_ids: dict[int, None] = {}
    for key, type_, value, profile_id in store.iter_identifiers(ns):
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
