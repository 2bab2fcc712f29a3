"""What crash.py checks once the clients have stopped: that every acknowledged request left
what its answer said, and that the committed graph keeps every rule.

The workload of crash.py uses only ``uuid`` (not unique), ``email`` and ``customId`` (unique)
under the native default rules: no type moves or replaces, nothing ends a link, so the graph
only grows. Hence the exact expectations below: once acknowledged, a join stays joined and a
refusal stays refused, whatever was applied after it (acknowledged or not).
"""

from __future__ import annotations

import http.client
import json
import random
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import networkx as nx

from app.settings import Settings
from graph.model import ConflictRecord, ProfileView
from graph.rules import Rules
from graph.service import IdentityService
from graph.store import open_store
from graph.store.base import ReadTx

SOURCE = "crash-test"
HTTP_SAMPLE = 500  # acknowledged items resolved over HTTP at the end
HTTP_REPLAYS = 100  # acknowledged requests replayed over HTTP at the end
EXAMPLES = 20

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Item:
    kind: str
    identifiers: tuple[tuple[str, str], ...]  # (type, value), values already normalized
    attributes: dict[str, Any]

    @property
    def keys(self) -> list[str]:
        return [f"{type_}:{value}" for type_, value in self.identifiers]


@dataclass(frozen=True, slots=True)
class Request:
    request_id: str
    items: tuple[Item, ...]

    def body(self) -> bytes:
        """The native API's POST /v1/{ns}/links body."""
        items = [
            {
                "identifiers": [{"type": type_, "value": value} for type_, value in i.identifiers],
                "attributes": i.attributes,
            }
            for i in self.items
        ]
        document = {"items": items, "source": SOURCE, "request_id": self.request_id}
        return json.dumps(document, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Acknowledged:
    request: Request
    answer: dict[str, Any]  # the whole JSON body of the 200

    def items(self) -> Iterator[tuple[Item, dict[str, Any]]]:
        """Each item with its result."""
        return zip(self.request.items, self.answer["results"], strict=True)


@dataclass
class Findings:
    lost: Counter[str] = field(default_factory=Counter)  # acknowledged, not there: by check
    violations: Counter[str] = field(default_factory=Counter)  # rules broken: by rule
    examples: list[str] = field(default_factory=list)
    checked_items: int = 0

    def lose(self, check: str, example: str) -> None:
        self.lost[check] += 1
        self._example(f"LOST {check}: {example}")

    def violate(self, rule: str, example: str) -> None:
        self.violations[rule] += 1
        self._example(f"RULE {rule}: {example}")

    def _example(self, text: str) -> None:
        if len(self.examples) < EXAMPLES:
            self.examples.append(text)

    def add(self, other: Findings) -> None:
        self.lost.update(other.lost)
        self.violations.update(other.violations)
        self.examples += other.examples[: EXAMPLES - len(self.examples)]
        self.checked_items += other.checked_items


# --- over HTTP, against the running server ---------------------------------------------------


def check_over_http(
    port: int, namespace: str, acknowledged: list[Acknowledged], rng: random.Random
) -> tuple[Findings, int]:
    """A sample of acknowledged items resolved, and of acknowledged requests replayed,
    through the API. Answers the findings and how many requests were replayed."""
    findings = Findings()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    joined = [
        (ack.request.request_id, item, result)
        for ack in acknowledged
        for item, result in ack.items()
        if result["outcome"] != "conflict"
    ]
    for rid, item, result in rng.sample(joined, min(HTTP_SAMPLE, len(joined))):
        paths = [f"identifiers/{t}/{quote(v, safe='')}" for t, v in item.identifiers]
        found = {_profile_id(connection, f"/v1/{namespace}/{path}") for path in paths}
        answered = _profile_id(connection, f"/v1/{namespace}/profiles/{result['profile_id']}")
        if len(found) != 1 or found != {answered} or answered is None:
            findings.lose("item over HTTP", f"{rid} {item.keys}: in {found}, answered {answered}")
    replays = rng.sample(acknowledged, min(HTTP_REPLAYS, len(acknowledged)))
    for ack in replays:
        headers = {"Content-Type": "application/json"}
        connection.request("POST", f"/v1/{namespace}/links", ack.request.body(), headers)
        response = connection.getresponse()
        answer = json.loads(response.read())
        if response.getheader("Idempotent-Replayed") != "true" or answer != ack.answer:
            findings.lose("answer replayed over HTTP", f"{ack.request.request_id}: {answer}")
    connection.close()
    return findings, len(replays)


def _profile_id(connection: http.client.HTTPConnection, path: str) -> int | None:
    connection.request("GET", path)
    response = connection.getresponse()
    body = json.loads(response.read())
    return body["id"] if response.status == 200 else None


# --- through the store, the server stopped -----------------------------------------------------


@dataclass
class Graph:
    """The committed graph of one namespace, read through the store."""

    members: dict[int, set[str]] = field(default_factory=dict)  # live profile -> keys
    recognized: dict[int, bool] = field(default_factory=dict)
    attributes: dict[int, set[str]] = field(default_factory=dict)  # live profile -> names
    profile_of: dict[str, int | None] = field(default_factory=dict)  # key -> profile
    types: dict[str, str] = field(default_factory=dict)
    active: set[frozenset[str]] = field(default_factory=set)  # links, as pairs of keys
    ended: int = 0  # links ended
    conflicts: set[tuple[str, int]] = field(default_factory=set)  # (request id, item index)
    resolves_to: dict[int, int | None] = field(default_factory=dict)  # answered id -> live id
    requests: dict[str, dict | None] = field(default_factory=dict)  # request id -> kept answer
    aliases: dict[int, int] = field(default_factory=dict)  # every absorbed id -> merged_into

    @classmethod
    def read(cls, store_url: str, namespace: str, acknowledged: list[Acknowledged]) -> Graph:
        """Through a store opened read-only (SQLite, or Neo4j with NEO4J_* from the
        environment)."""
        graph = cls()
        # NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE as idgraph reads them (SQLite: none)
        store = open_store(store_url, read_only=True, **Settings.from_env().store_options)
        try:
            graph._read_profiles(IdentityService(store), namespace)
            for key, type_, _value, pid in store.iter_identifiers(namespace):
                graph.profile_of[key], graph.types[key] = pid, type_
            for link in store.iter_links(namespace):
                if link["ended_at"] is None:
                    graph.active.add(frozenset((link["a_key"], link["b_key"])))
                else:
                    graph.ended += 1
            answered = _profiles_answered(acknowledged)
            request_ids = [ack.request.request_id for ack in acknowledged]
            store.read(lambda tx: graph._read_answers(tx, namespace, answered, request_ids))
        finally:
            store.close()
        return graph

    def _read_profiles(self, service: IdentityService, namespace: str) -> None:
        def profiles(cursor: str | None) -> tuple[Iterable[ProfileView], str | None]:
            page = service.reading.list_profiles(namespace, cursor=cursor, limit=1000)
            return page.profiles, page.next_cursor

        def conflicts(cursor: str | None) -> tuple[Iterable[ConflictRecord], str | None]:
            page = service.reading.conflicts(namespace, cursor=cursor, limit=1000)
            return page.conflicts, page.next_cursor

        for view in _pages(profiles):
            self.members[view.id] = {f"{i.type}:{i.value}" for i in view.identifiers}
            self.recognized[view.id] = view.recognized
            self.attributes[view.id] = set(view.attributes)
            self.aliases.update(dict.fromkeys(view.aliases, view.id))  # every absorbed id
        self.conflicts = {(record.request_id, record.item_index) for record in _pages(conflicts)}

    def _read_answers(
        self, tx: ReadTx, namespace: str, answered: set[int], request_ids: list[str]
    ) -> None:
        self.resolves_to = {pid: tx.resolve_profile(namespace, pid) for pid in answered}
        for rid in request_ids:
            stored = tx.find_request(namespace, rid)
            self.requests[rid] = None if stored is None else dict(stored.response)


def _pages(read: Callable[[str | None], tuple[Iterable[T], str | None]]) -> Iterator[T]:
    """Every entry of a paged read, following its cursors."""
    cursor = None
    while True:
        entries, cursor = read(cursor)
        yield from entries
        if cursor is None:
            return


def _profiles_answered(acknowledged: Iterable[Acknowledged]) -> set[int]:
    answered: set[int] = set()
    for ack in acknowledged:
        for _, result in ack.items():
            answered.update(result.get("absorbed", ()), result.get("profiles", ()))
            answered.update(result.get("moved_from", ()))
            if result["profile_id"] is not None:
                answered.add(result["profile_id"])
    return answered


def check_store(
    store_url: str, namespace: str, acknowledged: list[Acknowledged], rules: Rules
) -> Findings:
    """Every acknowledged request and item against the store, and every rule."""
    findings = Findings()
    graph = Graph.read(store_url, namespace, acknowledged)
    if store_url.startswith("sqlite:///"):  # Neo4j checks its own files; none to ask here
        check_integrity(Path(store_url.removeprefix("sqlite:///")), findings)
    check_rules(graph, rules, findings)
    for pid, live in {**graph.resolves_to, **graph.aliases}.items():
        if live not in graph.members:
            findings.violate("absorbed id", f"profile {pid} resolves to {live}, not live")
    for ack in acknowledged:
        rid = ack.request.request_id
        kept = graph.requests[rid]
        if kept is None or kept["results"] != ack.answer["results"]:
            findings.lose("request record", f"{rid}: kept {kept}")
        for item, result in ack.items():
            findings.checked_items += 1
            if result["outcome"] == "conflict":
                check_refused_item(graph, rid, item, result, findings)
            else:
                check_joined_item(graph, rid, item, result, findings)
    return findings


def check_integrity(path: Path, findings: Findings) -> None:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute("PRAGMA integrity_check").fetchall()
    finally:
        connection.close()
    if rows != [("ok",)]:
        findings.violate("integrity_check", str(rows[:5]))


def check_rules(graph: Graph, rules: Rules, findings: Findings) -> None:
    """Profiles are exactly the connected components of the active links (so no identifier
    is in two profiles), and each keeps the namespace's rules."""
    for key, pid in graph.profile_of.items():
        if pid not in graph.members:  # None: replaced or retired, which nothing here does
            findings.violate("identifier in no live profile", f"{key} in profile {pid}")
    for pid, keys in graph.members.items():
        if not keys:
            findings.violate("empty profile", f"profile {pid}")
        if any(graph.profile_of.get(key) != pid for key in keys):
            findings.violate("identifier in two profiles", f"profile {pid}: {sorted(keys)}")
        counts = Counter(graph.types[key] for key in keys)
        for type_, count in counts.items():
            if count > 1 and rules.is_unique(type_):
                findings.violate(f"unique_type:{type_}", f"profile {pid}: {sorted(keys)}")
            limit = rules.limit(type_)
            if limit is not None and count > limit:
                findings.violate(f"type_limit:{type_}", f"profile {pid}: {count} {type_}")
        if len(keys) > rules.max_identifiers:
            findings.violate("max_identifiers", f"profile {pid}: {len(keys)} identifiers")
        if graph.recognized[pid] != any(rules.is_recognizing(t) for t in counts):
            findings.violate("recognized flag", f"profile {pid}: {dict(counts)}")
    links = nx.Graph()
    links.add_nodes_from(graph.profile_of)
    links.add_edges_from(tuple(pair) for pair in graph.active)
    for component in nx.connected_components(links):
        profiles = {graph.profile_of.get(key) for key in component}
        if len(profiles) != 1 or graph.members.get(profiles.pop()) != component:
            findings.violate("profile is not a component", f"{sorted(component)[:6]}")
    if graph.ended:
        findings.violate("link ended", f"{graph.ended} links ended; nothing here ends one")


def check_joined_item(graph: Graph, rid: str, item: Item, result: dict, findings: Findings) -> None:
    """Its identifiers in one live profile, the one its answer named (or that one's
    survivor), joined by its links (anchor to each other identifier), with its attributes."""
    keys = item.keys
    where = f"{rid}#{result['index']} {keys} {result['outcome']}"
    if result["outcome"] == "moved":
        findings.violate("moved", f"{where}: nothing here may move")
    profiles = {graph.profile_of.get(key) for key in keys}
    if len(profiles) != 1 or None in profiles:
        findings.lose("item's identifiers in one profile", f"{where}: in {profiles}")
        return
    (pid,) = profiles
    if graph.resolves_to.get(result["profile_id"]) != pid:
        findings.lose("answered profile id", f"{where}: {result['profile_id']} is not {pid}")
    if any(frozenset((keys[0], other)) not in graph.active for other in keys[1:]):
        findings.lose("item's links active", where)
    if not set(item.attributes) <= graph.attributes[pid]:
        findings.lose("item's attributes", f"{where}: {sorted(item.attributes)}")


def check_refused_item(
    graph: Graph, rid: str, item: Item, result: dict, findings: Findings
) -> None:
    """In the conflicts log; and its identifiers never in one profile (the graph only grows,
    so what broke a rule then would break it now)."""
    index = result["index"]
    if (rid, index) not in graph.conflicts:
        findings.lose("conflict logged", f"{rid}#{index} {item.keys}")
    profiles = {graph.profile_of.get(key) for key in item.keys}
    if len(profiles) == 1 and None not in profiles:
        findings.violate("refused item joined later", f"{rid}#{index} {item.keys}")
