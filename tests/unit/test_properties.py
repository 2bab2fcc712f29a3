"""Properties of the committed graph, through the real service and a real SQLite file.

Whatever batches arrive, under whatever rules, and whatever links are then ended and merges
undone: profiles are exactly the connected components of the active links (so no identifier
is ever in two profiles), every profile keeps its namespace's rules, and every id a merge
absorbed (and no undo restored) still answers a live profile. No answer ever names a profile
left without identifiers.
"""

from __future__ import annotations

import tempfile
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.errors import Refused
from graph.rules import (
    ANONYMOUS_INTO_OTHER,
    LARGER_SURVIVES,
    MOVE,
    REJECT,
    REPLACE,
    RuleBook,
    Rules,
)
from graph.service import IdentityService, LinkRequest
from graph.store.base import Store
from graph.store.sqlite.store import SqliteStore

NS = "shop"

POOLS: dict[str, list[str]] = {
    "email": ["ann@example.com", "bob@example.com", "cy@example.com"],
    "customId": ["c1", "c2", "c3"],
    "ext:crm": ["u1", "u2", "u3"],
    "browserId": ["b1", "b2", "b3", "b4"],
    "uuid": [str(uuid.UUID(int=n)) for n in range(1, 5)],
}
PAIRS = [(type_, value) for type_, values in POOLS.items() for value in values]

identifiers = st.lists(st.sampled_from(PAIRS), min_size=1, max_size=4, unique=True)
attributes = st.dictionaries(
    st.sampled_from(["city", "name"]), st.sampled_from(["Kraków", "Ann", None]), max_size=2
)
link_items = st.builds(LinkRequest, identifiers=identifiers, attributes=attributes)
batches = st.lists(st.lists(link_items, min_size=1, max_size=4), min_size=1, max_size=5)
# ("end", which active link, ban?) or ("undo", which merge, ban?), picked among those there are
take_backs = st.lists(
    st.tuples(st.sampled_from(["end", "undo"]), st.integers(0, 99), st.booleans()), max_size=4
)
rules_variants = st.builds(
    Rules,
    on_conflict=st.sampled_from(
        [{"browserId": MOVE}, {"browserId": REJECT}, {"browserId": MOVE, "email": REPLACE}]
    ),
    type_limits=st.sampled_from([{}, {"browserId": 2}]),
    max_identifiers=st.sampled_from([1000, 5, 3]),
    merge_policy=st.sampled_from([LARGER_SURVIVES, ANONYMOUS_INTO_OTHER]),
    generated_types=st.sampled_from([(), ("uuid",)]),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(rules=rules_variants, batches=batches, take_backs=take_backs)
def test_committed_profiles_are_components_that_keep_the_rules(
    rules: Rules, batches: list[list[LinkRequest]], take_backs: list[tuple[str, int, bool]]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteStore(Path(directory) / "idgraph.db", synchronous="OFF")
        try:
            _check_the_rules_hold(store, rules, batches, take_backs)
        finally:
            store.close()


@settings(
    max_examples=30,  # a Bolt round trip per statement: the SQLite run above goes wider
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(rules=rules_variants, batches=batches, take_backs=take_backs)
def test_the_same_holds_on_the_neo4j_store(
    neo4j_store_emptied,
    rules: Rules,
    batches: list[list[LinkRequest]],
    take_backs: list[tuple[str, int, bool]],
) -> None:
    _check_the_rules_hold(neo4j_store_emptied(), rules, batches, take_backs)


def _check_the_rules_hold(
    store: Store,
    rules: Rules,
    batches: list[list[LinkRequest]],
    take_backs: list[tuple[str, int, bool]],
) -> None:
    service = IdentityService(store, RuleBook(pinned={NS: rules}))
    absorbed, mentioned = _link_every_batch(service, batches)
    _check_committed_graph(service, store, rules, absorbed)
    mentioned |= _take_back(service, store, take_backs, absorbed)
    _check_committed_graph(service, store, rules, absorbed)
    for pid in mentioned:  # (5) no profile an answer names was emptied
        assert service.reading.profile(NS, pid).identifiers, f"profile {pid} is empty"


def _link_every_batch(
    service: IdentityService, batches: list[list[LinkRequest]]
) -> tuple[set[int], set[int]]:
    """Apply the batches; the ids merges absorbed, and every profile id the answers named.
    A dry run first must decide the same."""
    absorbed: set[int] = set()
    mentioned: set[int] = set()
    for batch in batches:
        planned = service.linking.link(NS, batch, dry_run=True, min_identifiers=1)
        applied = service.linking.link(NS, batch, min_identifiers=1)
        assert applied.results == planned.results
        for result in applied.results:
            outcome = result.outcome
            absorbed.update(getattr(outcome, "absorbed", ()))
            mentioned.update(getattr(outcome, "moved_from", ()), getattr(outcome, "profiles", ()))
            if outcome.profile_id is not None:
                mentioned.add(outcome.profile_id)
    return absorbed, mentioned


def _take_back(
    service: IdentityService,
    store: Store,
    take_backs: list[tuple[str, int, bool]],
    absorbed: set[int],
) -> set[int]:
    """End links and undo merges; a refused undo (in use, superseded, already undone) must
    change nothing, which the check after shows. The profiles the answers named."""
    mentioned: set[int] = set()
    for kind, pick, ban in take_backs:
        links = list(store.iter_links(NS))
        if kind == "end":
            active = [link["id"] for link in links if link["ended_at"] is None]
            if active:
                done = service.history.end_link(NS, active[pick % len(active)], reason="t", ban=ban)
                mentioned.update(view.id for view in done.profiles)
            continue
        merges = sorted({link["merge_id"] for link in links if link["merge_id"] is not None})
        if not merges:
            continue
        try:
            done = service.history.undo_merge(NS, merges[pick % len(merges)], reason="t", ban=ban)
        except Refused:
            continue
        absorbed.discard(done.merge.absorbed)
        mentioned.update(view.id for view in done.profiles)
    return mentioned


def _check_committed_graph(
    service: IdentityService, store: Store, rules: Rules, absorbed: set[int]
) -> None:
    profiles: dict[int, set[str]] = defaultdict(set)
    types: dict[str, str] = {}
    departed: set[str] = set()  # replaced: in no profile, and with no active link
    for key, type_, _value, pid in store.iter_identifiers(NS):
        if pid is None:
            departed.add(key)
            continue
        profiles[pid].add(key)
        types[key] = type_
    graph = nx.Graph()
    graph.add_nodes_from(types)
    active = [(link["a_key"], link["b_key"]) for link in store.iter_links(NS, active_only=True)]
    assert not departed.intersection(key for edge in active for key in edge)
    graph.add_edges_from(active)

    # (1) profiles are the connected components of the active links; a key without an
    # active link is a profile of its own
    components = [set(component) for component in nx.connected_components(graph)]
    assert sorted(map(sorted, profiles.values())) == sorted(map(sorted, components))
    # (2) no two components share a profile id
    ids = [{_profile_of(profiles, key) for key in component} for component in components]
    assert all(len(pids) == 1 for pids in ids)
    assert len(set().union(*ids)) == len(components)
    # (3) every profile keeps the rules
    for pid, keys in profiles.items():
        _assert_keeps_rules(rules, pid, Counter(types[key] for key in keys))
    # (4) an absorbed id answers the live profile it was merged into
    for old_id in absorbed:
        view = service.reading.profile(NS, old_id)
        assert view.id not in absorbed
        assert view.id != old_id
        assert {f"{i.type}:{i.value}" for i in view.identifiers} == profiles.get(view.id, set())


def _profile_of(profiles: dict[int, set[str]], key: str) -> int:
    return next(pid for pid, keys in profiles.items() if key in keys)


def _assert_keeps_rules(rules: Rules, pid: int, counts: Counter[str]) -> None:
    described: dict[str, Any] = {"profile": pid, "counts": dict(counts)}
    assert sum(counts.values()) <= rules.max_identifiers, described
    for type_, count in counts.items():
        if rules.is_unique(type_):
            assert count <= 1, described
        limit = rules.limit(type_)
        if limit is not None:
            assert count <= limit, described
