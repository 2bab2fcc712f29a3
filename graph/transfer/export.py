"""Export a store's identifiers and links, through the store protocol only (any store).

GraphML (networkx's writer): identifiers are nodes, links are edges with their provenance,
ended links included. The graph is built in memory before it is written. A string holding a
character XML 1.0 does not allow is written escaped, and the element names it in its
``escaped`` attribute (graph/xmltext.py): the file stays one every XML reader reads.

CSV: the files ``neo4j-admin database import full`` reads, each with its header, written a
row at a time. Node ids are ``<namespace>/<key>`` (identifiers) and ``<namespace>/<id>``
(profiles): a namespace holds no ``/``, so they are unique across namespaces.

Each namespace's identifiers are read first, a page at a time, then its links: no snapshot
holds both (a store's streams hold none, graph/store/base.py), so a link written meanwhile
may name an identifier created after its page was read. Such an identifier is read with the
link and written too (``_with_ends``): every link's ends are in the export, which an import
needs, and so is every profile an identifier is a member of. A link whose end is gone by
then (erased, re-keyed) is left out.

The files are written under temporary names beside their own (``.partial-<random>-<name>``)
and renamed to them only once all are complete: an export stopped midway (Ctrl-C, kill -9, a
full disk) leaves an earlier export at those names as it was.

A namespace named twice is exported once.

Both tell a ``progress`` callback how far each step stands (the command line draws the bars).
"""

from __future__ import annotations

import csv
import json
import os
import secrets
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
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
_LINKS_PER_READ = 1000  # links whose ends not exported yet are read together
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


IdentifierRow = tuple[str, str, str, int | None]  # key, type, value, profile id


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
        add = partial(_add_node, graph, ns)
        exported = _identifiers(store, ns, add, progress)
        for link in _with_ends(store, ns, _links(store, ns, progress), exported, add):
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
    with _replacing([path]) as (temporary,):
        nx.write_graphml(graph, temporary)
    progress(Progress(step, "nodes+edges", elements, elements))
    return written


def _add_node(graph: nx.MultiDiGraph, ns: str, identifier: IdentifierRow) -> None:
    key, type_, value, profile_id = identifier
    node = _graphml_node(ns, key)
    if node in graph:  # a key spelled as another's escape: keys are otherwise unique
        raise IdgraphError(
            f"cannot export {ns} to GraphML: identifier {key!r} and another would be "
            "written alike, one of them escaped"
        )
    properties = {"ns": ns, "key": key, "type": type_, "value": value}
    graph.add_node(node, **xml_safe({**properties, "profile_id": profile_id}))


def _graphml_node(ns: str, key: str) -> str:
    return node_id(ns, xml_escape(key))


def _escaped(graph: nx.MultiDiGraph) -> int:
    """The nodes and edges holding an escaped string."""
    elements = chain(graph.nodes(data="escaped"), graph.edges(data="escaped"))
    return sum(1 for *_, escaped in elements if escaped)


def _identifiers(
    store: Store,
    ns: str,
    add: Callable[[IdentifierRow], None],
    progress: Callable[[Progress], None],
) -> _Keys:
    """Hand each identifier of the namespace to ``add``; returns their keys."""
    exported = _Keys()
    identifiers = store.iter_identifiers(ns)
    for identifier in _counted(identifiers, progress, f"{ns} identifiers", "identifiers"):
        add(identifier)
        exported.add(identifier[0])
    return exported


def _links(store: Store, ns: str, progress: Callable[[Progress], None]) -> Iterator[dict]:
    return _counted(store.iter_links(ns), progress, f"{ns} links", "links")


def _with_ends(
    store: Store,
    ns: str,
    links: Iterable[dict[str, Any]],
    exported: _Keys,
    add: Callable[[IdentifierRow], None],
) -> Iterator[dict[str, Any]]:
    """``links``, each once both its ends are exported: an end whose key is not in
    ``exported`` (created after the identifiers were read) is read, a thousand links at a
    time, handed to ``add`` and added to ``exported``. A link whose end is gone (erased or
    re-keyed meanwhile) is left out: no import takes a relationship without its nodes."""
    chunks = iter(links)
    while chunk := list(islice(chunks, _LINKS_PER_READ)):
        ends = {key for link in chunk for key in (link["a_key"], link["b_key"])}
        if missing := sorted(key for key in ends if key not in exported):
            for found in store.read(lambda tx, keys=missing: tx.identifiers(ns, keys)):
                add((found.key, found.type, found.value, found.profile_id))
                exported.add(found.key)
        yield from (
            link for link in chunk if link["a_key"] in exported and link["b_key"] in exported
        )


class _Keys:
    """The keys of the identifiers an export wrote, kept as their 64-bit hashes in arrays by
    the hash's last 16 bits: about 16 bytes an identifier, where a set would keep each key's
    text too (over 100: more than a gigabyte at 10,000,000 identifiers). A key missing from
    the export passes for written only if its hash equals a written key's: one chance in
    2**64 per written key, none at the sizes exported."""

    def __init__(self) -> None:
        self._buckets: defaultdict[int, array[int]] = defaultdict(lambda: array("q"))

    def add(self, key: str) -> None:
        digest = hash(key)  # a str's hash is stable within the process
        self._buckets[digest & 0xFFFF].append(digest)

    def __contains__(self, key: str) -> bool:
        digest = hash(key)
        bucket = self._buckets.get(digest & 0xFFFF)
        return bucket is not None and digest in bucket


def export_csv(
    store: Store,
    namespaces: Iterable[str],
    folder: Path,
    *,
    progress: Callable[[Progress], None] = _ignore,
) -> dict[str, int]:
    """Write the CSV files of CSV_HEADERS into ``folder``; returns the rows of each.
    Progress: each namespace's identifiers (identifiers.csv and member_of.csv), links (and
    the identifiers created meanwhile they name), then profiles (of a known total), as they
    are written."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(CSV_HEADERS, 0)
    with _replacing([folder / name for name in CSV_HEADERS]) as temporary, ExitStack() as files:
        writers = {}
        for (name, header), path in zip(CSV_HEADERS.items(), temporary, strict=True):
            handle = files.enter_context(path.open("x", newline="", encoding="utf-8"))
            writers[name] = csv.writer(handle)
            writers[name].writerow(header)

        def write(name: str, row: list[Any]) -> None:
            writers[name].writerow(row)
            counts[name] += 1

        for ns in dict.fromkeys(namespaces):
            profile_ids: dict[int, None] = {}
            add = partial(_write_identifier, ns, write=write, profile_ids=profile_ids)
            exported = _identifiers(store, ns, add, progress)
            for link in _with_ends(store, ns, _links(store, ns, progress), exported, add):
                write("links.csv", link_row(ns, link))
            ids = sorted(profile_ids)
            views = _profile_views(store, ns, ids)
            for view in _counted(views, progress, f"{ns} profiles", "profiles", len(ids)):
                write("profiles.csv", profile_row(ns, view))
    return counts


def _write_identifier(
    ns: str,
    identifier: IdentifierRow,
    write: Callable[[str, list[Any]], None],
    profile_ids: dict[int, None],
) -> None:
    """A row of identifiers.csv and one of member_of.csv; its profile joins ``profile_ids``."""
    key, type_, value, profile_id = identifier
    node = node_id(ns, key)
    write("identifiers.csv", [node, ns, key, type_, value, profile_id, "Identifier"])
    if profile_id is not None:
        write("member_of.csv", [node, node_id(ns, profile_id), "MEMBER_OF"])
        profile_ids[profile_id] = None


@contextmanager
def _replacing(paths: list[Path]) -> Iterator[list[Path]]:
    """Temporary names beside ``paths`` (``.partial-<random>-<name>``, in the same folder,
    ending as the name does: networkx compresses a ``.gz`` file) for the block to write; once
    it has, each file is flushed to disk and renamed to its own name, replacing what was
    there. If the block raises, they are removed and ``paths`` left as they were; after a
    kill they stay behind, named partial."""
    temporary = [path.with_name(f".partial-{secrets.token_hex(4)}-{path.name}") for path in paths]
    try:
        yield temporary
        for path in temporary:
            with path.open("rb") as written:
                os.fsync(written.fileno())
    except BaseException:
        for path in temporary:
            path.unlink(missing_ok=True)
        raise
    for path, final in zip(temporary, paths, strict=True):
        path.replace(final)


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
