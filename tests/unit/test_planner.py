"""The planner: a batch of link items and the loaded state in, outcomes and a change set out.

Identifiers are written as keys, ``"type:value"`` (``"ext:crm:u1"`` is type ``ext:crm``).
A stored profile is given by its keys, oldest first, and its active links (by default a star
from its first key, as one item would have made it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from graph.model import (
    ActiveLink,
    Attribute,
    AttributeWrite,
    ChangeSet,
    Conflict,
    ConflictRow,
    Created,
    GraphState,
    Holder,
    Identifier,
    Linked,
    LinkItem,
    Merged,
    MergeRow,
    Moved,
    NewIdentifier,
    NewLink,
    Noop,
    ProfileRow,
    Provenance,
    Sequences,
    StoredIdentifier,
    StoredProfile,
)
from graph.planner import plan_attribute_update, plan_links, plan_merge
from graph.rules import OMNIDESK, REJECT, SYNERISE, Rules

OLD = "2026-01-01T00:00:00.000000Z"
LATER = "2026-01-15T00:00:00.000000Z"
NOW = "2026-02-01T00:00:00.000000Z"
PROVENANCE = Provenance(request_id="req-1", at=NOW, operation="native", source="tests")

DEFAULT = Rules()
REJECT_BROWSER = Rules(on_conflict={"browserId": REJECT})
NO_UNIQUE = Rules(unique_types=())
MERGE_RECOGNIZED = Rules(unique_types=(), merge_recognized=True)
CUSTOM_ID_RECOGNIZES = Rules(unique_types=(), recognizing_types=("customId",))
ONE_PHONE = Rules(type_limits={"phone": 1})
TWO_BROWSERS = Rules(type_limits={"browserId": 2})
CAP_3 = Rules(max_identifiers=3)


# --- building a state and reading a change set -------------------------------------------------


@dataclass(frozen=True)
class Stored:
    id: int
    keys: tuple[str, ...]
    links: tuple[tuple[str, str], ...] | None = None
    created_at: str = OLD
    attributes: Mapping[str, Attribute] = field(default_factory=dict)


def profile(
    pid: int,
    *keys: str,
    links: Iterable[tuple[str, str]] | None = None,
    created_at: str = OLD,
    attributes: Mapping[str, Attribute] | None = None,
) -> Stored:
    return Stored(
        pid, keys, tuple(links) if links is not None else None, created_at, attributes or {}
    )


def identifier(key: str) -> Identifier:
    type_, value = key.rsplit(":", 1)
    return Identifier(type_, value)


def state(*profiles: Stored) -> GraphState:
    """The loaded state of ``profiles``; identifiers are created in the order given, links get
    ids from 101 and the sequences continue after the highest ids."""
    given = GraphState()
    link_id = 100
    moment = 0
    for p in profiles:
        recognized = any(key.startswith("email:") for key in p.keys)
        given.profiles[p.id] = StoredProfile(p.id, p.created_at, recognized)
        for key in p.keys:
            moment += 1
            created = f"2026-01-01T00:00:{moment:02d}.000000Z"
            i = identifier(key)
            given.identifiers[key] = StoredIdentifier(key, i.type, i.value, p.id, created)
        pairs = p.links if p.links is not None else [(p.keys[0], k) for k in p.keys[1:]]
        for a, b in pairs:
            link_id += 1
            given.links.append(ActiveLink(link_id, a, b))
        if p.attributes:
            given.attributes[p.id] = dict(p.attributes)
    next_profile = max((p.id for p in profiles), default=0) + 1
    given.sequences = Sequences(profile=next_profile, link=link_id + 1, merge=1)
    return given


def item(*keys: str, **attributes: Any) -> LinkItem:
    return LinkItem(tuple(identifier(key) for key in keys), attributes)


def generating(key: str, generated: str) -> LinkItem:
    """An item of one identifier carrying an identifier generated in case it creates."""
    return LinkItem((identifier(key),), {}, (identifier(generated),))


def attr(value: Any, via: str | None, at: str = OLD, request_id: str = "earlier") -> Attribute:
    return Attribute(value, via, at, request_id)


def profiles_after(given: GraphState, changes: ChangeSet) -> dict[int, set[str]]:
    """Profile id -> identifier keys once the change set is applied."""
    where = {key: stored.profile_id for key, stored in given.identifiers.items()}
    where.update({new.key: new.profile_id for new in changes.new_identifiers})
    where.update(dict(changes.relabels))
    groups: dict[int, set[str]] = defaultdict(set)
    for key, pid in where.items():
        groups[pid].add(key)
    return dict(groups)


def links_after(given: GraphState, changes: ChangeSet) -> set[frozenset[str]]:
    active = {link.id: (link.a, link.b) for link in given.links}
    for link_id, _reason in changes.ended_links:
        del active[link_id]
    for link in changes.new_links:
        if link.ended_reason is None:
            active[link.id] = (link.a, link.b)
    return {frozenset(pair) for pair in active.values()}


def components(keys: Iterable[str], links: set[frozenset[str]]) -> set[frozenset[str]]:
    parent = {key: key for key in keys}

    def find(key: str) -> str:
        while parent[key] != key:
            key = parent[key]
        return key

    for a, b in (tuple(link) for link in links):
        parent[find(a)] = find(b)
    groups: dict[str, set[str]] = defaultdict(set)
    for key in parent:
        groups[find(key)].add(key)
    return {frozenset(group) for group in groups.values()}


# --- outcomes: one row per case -----------------------------------------------------------------

CASES = [
    # created, linked, noop
    pytest.param(
        state(), [item("email:a", "browserId:b")], DEFAULT,
        [Created(1)], {1: {"email:a", "browserId:b"}},
        id="new+new=created",
    ),
    pytest.param(
        state(profile(1, "uuid:x")), [item("email:a", "browserId:b", "customId:c")], DEFAULT,
        [Created(2)], {1: {"uuid:x"}, 2: {"email:a", "browserId:b", "customId:c"}},
        id="three-new=created-one-profile",
    ),
    pytest.param(
        state(profile(1, "email:a", "browserId:b")), [item("email:a", "browserId:c")], DEFAULT,
        [Linked(1)], {1: {"email:a", "browserId:b", "browserId:c"}},
        id="known+new=linked",
    ),
    pytest.param(
        state(profile(1, "email:a", "browserId:b")), [item("browserId:c", "email:a")], DEFAULT,
        [Linked(1)], {1: {"email:a", "browserId:b", "browserId:c"}},
        id="new-anchor+known=linked",
    ),
    pytest.param(
        state(profile(1, "email:a", "browserId:b", "browserId:c")),
        [item("browserId:b", "browserId:c")], DEFAULT,
        [Linked(1)], {1: {"email:a", "browserId:b", "browserId:c"}},
        id="known+known-same-profile-new-direct-link=linked",
    ),
    pytest.param(
        state(profile(1, "email:a", "browserId:b")), [item("email:a", "browserId:b")], DEFAULT,
        [Noop(1)], {1: {"email:a", "browserId:b"}},
        id="already-linked=noop",
    ),
    pytest.param(
        state(profile(1, "email:a", "browserId:b")), [item("browserId:b", "email:a")], DEFAULT,
        [Noop(1)], {1: {"email:a", "browserId:b"}},
        id="already-linked-other-direction=noop",
    ),
    # merged
    pytest.param(
        state(
            profile(1, "uuid:1", "uuid:2", created_at=OLD),
            profile(2, "uuid:3", "uuid:4", "uuid:5", created_at=LATER),
        ),
        [item("uuid:1", "uuid:3")], DEFAULT,
        [Merged(2, absorbed=(1,))], {2: {"uuid:1", "uuid:2", "uuid:3", "uuid:4", "uuid:5"}},
        id="merge=larger-survives-though-younger",
    ),
    pytest.param(
        state(
            profile(1, "uuid:1", "uuid:2", created_at=LATER),
            profile(2, "uuid:3", "uuid:4", created_at=OLD),
        ),
        [item("uuid:1", "uuid:3")], DEFAULT,
        [Merged(2, absorbed=(1,))], {2: {"uuid:1", "uuid:2", "uuid:3", "uuid:4"}},
        id="merge-same-size=older-survives",
    ),
    pytest.param(
        state(profile(1, "uuid:1", "uuid:2"), profile(2, "uuid:3", "uuid:4")),
        [item("uuid:3", "uuid:1")], DEFAULT,
        [Merged(1, absorbed=(2,))], {1: {"uuid:1", "uuid:2", "uuid:3", "uuid:4"}},
        id="merge-same-size-same-age=lower-id-survives",
    ),
    pytest.param(
        state(profile(1, "email:a", "uuid:1"), profile(2, "uuid:2", "browserId:b")),
        [item("uuid:2", "uuid:1", "customId:c")], DEFAULT,
        [Merged(1, absorbed=(2,))],
        {1: {"email:a", "uuid:1", "uuid:2", "browserId:b", "customId:c"}},
        id="anonymous+recognized+new=merged",
    ),
    pytest.param(
        state(
            profile(1, "uuid:1", "uuid:2"),
            profile(2, "uuid:3", "uuid:4", "uuid:5"),
            profile(3, "uuid:6", "uuid:7"),
        ),
        [item("uuid:1", "uuid:3", "uuid:6")], DEFAULT,
        [Merged(2, absorbed=(1, 3))], {2: {f"uuid:{n}" for n in range(1, 8)}},
        id="three-profiles-one-item=merged",
    ),
    # unique types
    pytest.param(
        state(), [item("email:a", "email:b")], DEFAULT,
        [Conflict(None, reason="unique_type:email")], {},
        id="two-new-emails=conflict",
    ),
    pytest.param(
        state(profile(1, "email:a", "uuid:1")), [item("uuid:1", "email:b")], DEFAULT,
        [Conflict(1, reason="unique_type:email", profiles=(1,))], {1: {"email:a", "uuid:1"}},
        id="profile-with-email+new-email=conflict",
    ),
    pytest.param(
        state(profile(1, "email:a", "uuid:1"), profile(2, "email:b", "uuid:2")),
        [item("uuid:1", "uuid:2")], DEFAULT,
        [Conflict(1, reason="unique_type:email", profiles=(1, 2))],
        {1: {"email:a", "uuid:1"}, 2: {"email:b", "uuid:2"}},
        id="two-profiles-with-emails=conflict",
    ),
    pytest.param(
        state(profile(1, "ext:crm:u1", "uuid:1"), profile(2, "ext:crm:u2", "uuid:2")),
        [item("uuid:2", "uuid:1")], DEFAULT,
        [Conflict(2, reason="unique_type:ext:crm", profiles=(2, 1))],
        {1: {"ext:crm:u1", "uuid:1"}, 2: {"ext:crm:u2", "uuid:2"}},
        id="two-profiles-with-ext-crm=conflict",
    ),
    pytest.param(
        state(profile(1, "customId:c1", "uuid:1")), [item("uuid:1", "customId:c2")], DEFAULT,
        [Conflict(1, reason="unique_type:customId", profiles=(1,))],
        {1: {"customId:c1", "uuid:1"}},
        id="second-customId=conflict",
    ),
    pytest.param(
        state(profile(1, "ext:crm:u1", "uuid:1")), [item("uuid:1", "ext:erp:e1")], DEFAULT,
        [Linked(1)], {1: {"ext:crm:u1", "uuid:1", "ext:erp:e1"}},
        id="ext-of-another-system=linked",
    ),
    # type limits
    pytest.param(
        state(profile(1, "uuid:1", "phone:+48601234567")), [item("uuid:1", "phone:+48601234568")],
        ONE_PHONE,
        [Conflict(1, reason="type_limit:phone", profiles=(1,))],
        {1: {"uuid:1", "phone:+48601234567"}},
        id="phone-over-limit=conflict",
    ),
    pytest.param(
        state(profile(1, "email:a", "browserId:b")), [item("email:a", "browserId:c")],
        TWO_BROWSERS,
        [Linked(1)], {1: {"email:a", "browserId:b", "browserId:c"}},
        id="browserId-at-limit=linked",
    ),
    pytest.param(
        state(profile(1, "email:a", "browserId:b")),
        [item("email:a", "browserId:c", "browserId:d")], TWO_BROWSERS,
        [Conflict(1, reason="type_limit:browserId", profiles=(1,))],
        {1: {"email:a", "browserId:b"}},
        id="browserId-over-limit=conflict",
    ),
    # recognized profiles
    pytest.param(
        state(profile(1, "email:a", "uuid:1"), profile(2, "email:b", "uuid:2")),
        [item("uuid:1", "uuid:2")], NO_UNIQUE,
        [Conflict(1, reason="recognized_profiles", profiles=(1, 2))],
        {1: {"email:a", "uuid:1"}, 2: {"email:b", "uuid:2"}},
        id="two-recognized-no-unique-clash=conflict",
    ),
    pytest.param(
        state(profile(1, "email:a", "uuid:1"), profile(2, "email:b", "uuid:2")),
        [item("uuid:1", "uuid:2")], MERGE_RECOGNIZED,
        [Merged(1, absorbed=(2,))], {1: {"email:a", "uuid:1", "email:b", "uuid:2"}},
        id="two-recognized-merge-recognized=merged",
    ),
    pytest.param(
        state(profile(1, "customId:c1", "uuid:1"), profile(2, "customId:c2", "uuid:2")),
        [item("uuid:1", "uuid:2")], CUSTOM_ID_RECOGNIZES,
        [Conflict(1, reason="recognized_profiles", profiles=(1, 2))],
        {1: {"customId:c1", "uuid:1"}, 2: {"customId:c2", "uuid:2"}},
        id="two-recognized-by-customId=conflict",
    ),
    pytest.param(
        state(profile(1, "email:a", "uuid:1"), profile(2, "email:b", "uuid:2")),
        [item("uuid:1", "uuid:2")], CUSTOM_ID_RECOGNIZES,
        [Merged(1, absorbed=(2,))], {1: {"email:a", "uuid:1", "email:b", "uuid:2"}},
        id="emails-do-not-recognize-when-customId-does=merged",
    ),
    pytest.param(
        state(profile(1, "email:a", "uuid:1")), [item("uuid:1", "email:b")], NO_UNIQUE,
        [Linked(1)], {1: {"email:a", "uuid:1", "email:b"}},
        id="second-email-without-unique-rule=linked",
    ),
    # max identifiers
    pytest.param(
        state(profile(1, "uuid:1", "uuid:2")), [item("uuid:1", "uuid:3")], CAP_3,
        [Linked(1)], {1: {"uuid:1", "uuid:2", "uuid:3"}},
        id="grow-to-cap=linked",
    ),
    pytest.param(
        state(profile(1, "uuid:1", "uuid:2")), [item("uuid:1", "uuid:3", "uuid:4")], CAP_3,
        [Conflict(1, reason="max_identifiers", profiles=(1,))], {1: {"uuid:1", "uuid:2"}},
        id="grow-past-cap=conflict",
    ),
    pytest.param(
        state(profile(1, "uuid:1", "uuid:2"), profile(2, "uuid:3", "uuid:4")),
        [item("uuid:1", "uuid:3")], CAP_3,
        [Conflict(1, reason="max_identifiers", profiles=(1, 2))],
        {1: {"uuid:1", "uuid:2"}, 2: {"uuid:3", "uuid:4"}},
        id="merge-past-cap=conflict",
    ),
    pytest.param(
        state(), [item("uuid:1", "uuid:2", "uuid:3", "uuid:4")], CAP_3,
        [Conflict(None, reason="max_identifiers")], {},
        id="new-item-past-cap=conflict",
    ),
    # the first rule broken names the conflict
    pytest.param(
        state(), [item("email:a", "email:b", "uuid:1")],
        Rules(type_limits={"email": 1}, max_identifiers=2),
        [Conflict(None, reason="unique_type:email")], {},
        id="unique-type-before-type-limit-and-cap",
    ),
    pytest.param(
        state(profile(1, "email:a", "uuid:1"), profile(2, "email:b", "uuid:2")),
        [item("uuid:1", "uuid:2")], Rules(unique_types=(), type_limits={"email": 1}),
        [Conflict(1, reason="type_limit:email", profiles=(1, 2))],
        {1: {"email:a", "uuid:1"}, 2: {"email:b", "uuid:2"}},
        id="type-limit-before-recognized",
    ),
    pytest.param(
        state(profile(1, "email:a", "uuid:1"), profile(2, "email:b", "uuid:2")),
        [item("uuid:1", "uuid:2")], Rules(unique_types=(), max_identifiers=3),
        [Conflict(1, reason="recognized_profiles", profiles=(1, 2))],
        {1: {"email:a", "uuid:1"}, 2: {"email:b", "uuid:2"}},
        id="recognized-before-cap",
    ),
    # moves
    pytest.param(
        state(profile(1, "ext:crm:u1", "browserId:b")), [item("ext:crm:u2", "browserId:b")],
        DEFAULT,
        [Moved(2, moved_from=(1,))], {1: {"ext:crm:u1"}, 2: {"ext:crm:u2", "browserId:b"}},
        id="shared-browser-moves-to-new-user",
    ),
    pytest.param(
        state(profile(1, "ext:crm:u1", "browserId:b")), [item("browserId:b", "ext:crm:u2")],
        DEFAULT,
        [Moved(2, moved_from=(1,))], {1: {"ext:crm:u1"}, 2: {"ext:crm:u2", "browserId:b"}},
        id="shared-browser-as-anchor-moves-to-new-user",
    ),
    pytest.param(
        state(profile(1, "ext:crm:u1", "browserId:b"), profile(2, "ext:crm:u2", "uuid:x")),
        [item("ext:crm:u2", "browserId:b")], DEFAULT,
        [Moved(2, moved_from=(1,))],
        {1: {"ext:crm:u1"}, 2: {"ext:crm:u2", "uuid:x", "browserId:b"}},
        id="shared-browser-moves-to-known-user",
    ),
    pytest.param(
        state(profile(1, "email:a", "browserId:b")), [item("email:c", "browserId:b")], DEFAULT,
        [Moved(2, moved_from=(1,))], {1: {"email:a"}, 2: {"email:c", "browserId:b"}},
        id="shared-browser-moves-to-new-email",
    ),
    pytest.param(
        state(profile(1, "ext:crm:u1", "browserId:b")), [item("ext:crm:u2", "browserId:b")],
        REJECT_BROWSER,
        [Conflict(1, reason="unique_type:ext:crm", profiles=(1,))],
        {1: {"ext:crm:u1", "browserId:b"}},
        id="shared-browser-reject-policy=conflict",
    ),
    pytest.param(
        state(profile(1, "ext:crm:u1", "browserId:b")),
        [item("browserId:b", "ext:crm:u1", "ext:crm:u3")], DEFAULT,
        [Conflict(1, reason="unique_type:ext:crm", profiles=(1,))],
        {1: {"ext:crm:u1", "browserId:b"}},
        id="browser-already-with-its-user-cannot-fix-the-item=conflict",
    ),
    pytest.param(
        state(profile(1, "ext:crm:u1", "browserId:b")),
        [item("email:x", "email:y", "browserId:b")], DEFAULT,
        [Conflict(1, reason="unique_type:email", profiles=(1,))],
        {1: {"ext:crm:u1", "browserId:b"}},
        id="move-that-still-breaks-a-rule=conflict",
    ),
    pytest.param(
        state(profile(1, "ext:crm:u1", "browserId:b", "browserId:c")),
        [item("ext:crm:u2", "browserId:b")], TWO_BROWSERS,
        [Moved(2, moved_from=(1,))],
        {1: {"ext:crm:u1", "browserId:c"}, 2: {"ext:crm:u2", "browserId:b"}},
        id="only-the-browser-named-in-the-item-moves",
    ),
    pytest.param(
        state(profile(1, "ext:crm:u1", "browserId:b"), profile(2, "ext:crm:u2", "browserId:c")),
        [item("ext:crm:u2", "browserId:b")], Rules(type_limits={"browserId": 1}),
        [Conflict(2, reason="unique_type:ext:crm", profiles=(2, 1))],
        {1: {"ext:crm:u1", "browserId:b"}, 2: {"ext:crm:u2", "browserId:c"}},
        id="move-past-the-new-owners-type-limit=conflict",
    ),
    pytest.param(
        state(
            profile(
                1, "ext:crm:u1", "browserId:b", "uuid:c",
                links=[("browserId:b", "ext:crm:u1"), ("browserId:b", "uuid:c")],
            )
        ),
        [item("ext:crm:u2", "browserId:b")], DEFAULT,
        [Moved(3, moved_from=(1,))],
        {1: {"ext:crm:u1"}, 2: {"uuid:c"}, 3: {"ext:crm:u2", "browserId:b"}},
        id="move-splits-old-profile-oldest-keeps-id",
    ),
    pytest.param(
        state(
            profile(
                1, "uuid:c", "browserId:b", "ext:crm:u1",
                links=[("browserId:b", "ext:crm:u1"), ("browserId:b", "uuid:c")],
            )
        ),
        [item("ext:crm:u2", "browserId:b")], DEFAULT,
        [Moved(3, moved_from=(1,))],
        {1: {"uuid:c"}, 2: {"ext:crm:u1"}, 3: {"ext:crm:u2", "browserId:b"}},
        id="move-splits-old-profile-other-part-oldest",
    ),
    pytest.param(
        state(
            profile(
                1, "ext:crm:u1", "browserId:b1", "browserId:b2",
                links=[("browserId:b1", "ext:crm:u1"), ("browserId:b1", "browserId:b2")],
            )
        ),
        [item("ext:crm:u2", "browserId:b1", "browserId:b2")], DEFAULT,
        [Moved(2, moved_from=(1,))],
        {1: {"ext:crm:u1"}, 2: {"ext:crm:u2", "browserId:b1", "browserId:b2"}},
        id="two-browsers-move-together",
    ),
    pytest.param(
        state(
            profile(1, "ext:crm:u1", "browserId:b"),
            profile(2, "uuid:x", "uuid:y"),
            profile(3, "ext:crm:u2", "uuid:z"),
        ),
        [item("uuid:x", "uuid:z", "browserId:b")], DEFAULT,
        [Moved(2, moved_from=(1,), absorbed=(3,))],
        {1: {"ext:crm:u1"}, 2: {"uuid:x", "uuid:y", "ext:crm:u2", "uuid:z", "browserId:b"}},
        id="browser-moves-into-profiles-the-item-merges",
    ),
    # later items see earlier ones
    pytest.param(
        state(),
        [item("email:a", "uuid:1"), item("uuid:2", "uuid:3"), item("uuid:1", "uuid:2")],
        DEFAULT,
        [Created(1), Created(2), Merged(1, absorbed=(2,))],
        {1: {"email:a", "uuid:1", "uuid:2", "uuid:3"}},
        id="batch-created-created-merged",
    ),
    pytest.param(
        state(), [item("email:a", "uuid:1"), item("uuid:1", "email:b")], DEFAULT,
        [Created(1), Conflict(1, reason="unique_type:email", profiles=(1,))],
        {1: {"email:a", "uuid:1"}},
        id="batch-created-then-conflict",
    ),
    pytest.param(
        state(), [item("email:a", "uuid:1"), item("email:a", "uuid:1")], DEFAULT,
        [Created(1), Noop(1)], {1: {"email:a", "uuid:1"}},
        id="batch-same-item-twice=created-noop",
    ),
    pytest.param(
        state(), [item("ext:crm:u1", "browserId:b"), item("ext:crm:u2", "browserId:b")], DEFAULT,
        [Created(1), Moved(2, moved_from=(1,))],
        {1: {"ext:crm:u1"}, 2: {"ext:crm:u2", "browserId:b"}},
        id="batch-created-then-moved",
    ),
    pytest.param(
        state(), [item("email:a", "email:b"), item("email:a", "uuid:1")], DEFAULT,
        [Conflict(None, reason="unique_type:email"), Created(1)], {1: {"email:a", "uuid:1"}},
        id="batch-conflict-leaves-nothing-for-later-items",
    ),
    # items of one identifier: create-or-update
    pytest.param(
        state(), [item("customId:c")], DEFAULT, [Created(1)], {1: {"customId:c"}},
        id="one-new=created",
    ),
    pytest.param(
        state(profile(1, "customId:c", "uuid:1")), [item("customId:c", city="X")], DEFAULT,
        [Noop(1)], {1: {"customId:c", "uuid:1"}},
        id="one-known=noop",
    ),
    # identifiers generated for a new profile, and only for one
    pytest.param(
        state(), [generating("email:a", "uuid:g")], SYNERISE,
        [Created(1)], {1: {"email:a", "uuid:g"}},
        id="generated-uuid-joins-a-new-profile",
    ),
    pytest.param(
        state(profile(1, "email:a", "uuid:1")), [generating("email:a", "uuid:g")], SYNERISE,
        [Noop(1)], {1: {"email:a", "uuid:1"}},
        id="generated-uuid-not-added-to-an-existing-profile",
    ),
    # the replace policy (Synerise's email): the old one leaves, in no profile
    pytest.param(
        state(profile(1, "uuid:1", "email:a")), [item("uuid:1", "email:b")], SYNERISE,
        [Linked(1, replaced=("email:a",))], {1: {"uuid:1", "email:b"}, None: {"email:a"}},
        id="new-email-replaces-the-email",
    ),
    pytest.param(
        state(profile(1, "email:a", "uuid:1", "customId:c")), [item("email:b", "customId:c")],
        SYNERISE, [Linked(1, replaced=("email:a",))],
        {1: {"uuid:1", "customId:c", "email:b"}, None: {"email:a"}},
        id="replacing-a-hub-email-keeps-the-profile-connected",
    ),
    pytest.param(
        state(profile(1, "email:a", "uuid:1")), [item("email:a", "email:b")], SYNERISE,
        [Linked(1, replaced=("email:a",))], {1: {"uuid:1", "email:b"}, None: {"email:a"}},
        id="item-naming-the-old-and-the-new-email=replaced",
    ),
    pytest.param(
        state(profile(1, "uuid:1", "email:a"), profile(2, "email:b")),
        [item("uuid:1", "email:b")], SYNERISE,
        [Conflict(1, reason="unique_type:email", profiles=(1, 2))],
        {1: {"uuid:1", "email:a"}, 2: {"email:b"}},
        id="an-existing-email-never-replaces",
    ),
    # anonymous_into_other: the first profile is absorbed into the next, only if anonymous
    pytest.param(
        state(profile(1, "uuid:1", "browserId:x", "browserId:y"), profile(2, "customId:c")),
        [item("uuid:1", "customId:c")], SYNERISE,
        [Merged(2, absorbed=(1,))], {2: {"uuid:1", "browserId:x", "browserId:y", "customId:c"}},
        id="anonymous-first-absorbed-into-second-even-if-larger",
    ),
    pytest.param(
        state(profile(1, "uuid:1", "email:a"), profile(2, "customId:c")),
        [item("uuid:1", "customId:c")], SYNERISE,
        [Conflict(1, reason="recognized_absorbed", profiles=(1, 2))],
        {1: {"uuid:1", "email:a"}, 2: {"customId:c"}},
        id="recognized-first-never-absorbed",
    ),
    pytest.param(
        state(profile(1, "uuid:1"), profile(2, "customId:c"), profile(3, "browserId:z")),
        [item("uuid:1", "customId:c", "browserId:z")], SYNERISE,
        [Conflict(1, reason="too_many_profiles", profiles=(1, 2, 3))],
        {1: {"uuid:1"}, 2: {"customId:c"}, 3: {"browserId:z"}},
        id="three-profiles-in-one-item=conflict",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("given", "items", "rules", "outcomes", "profiles"), CASES)
def test_plan_decides_every_item(
    given: GraphState,
    items: list[LinkItem],
    rules: Rules,
    outcomes: list[Any],
    profiles: dict[int, set[str]],
) -> None:
    plan = plan_links(items, given, rules, PROVENANCE)

    assert list(plan.outcomes) == outcomes
    after = profiles_after(given, plan.changes)
    assert after == profiles
    # whatever the case, profiles are the connected components of the active links
    assert {frozenset(keys) for keys in after.values()} == components(
        set().union(*after.values()), links_after(given, plan.changes)
    )


# --- change sets --------------------------------------------------------------------------------


def test_created_profile_writes_a_profile_its_identifiers_and_anchor_links() -> None:
    plan = plan_links(
        [item("email:a", "browserId:b", "customId:c", firstName="Ann")],
        state(),
        DEFAULT,
        PROVENANCE,
    )
    changes = plan.changes
    assert changes.new_profiles == [ProfileRow(1, NOW, NOW, recognized=True)]
    assert changes.updated_profiles == []
    assert changes.new_identifiers == [
        NewIdentifier("email:a", "email", "a", 1),
        NewIdentifier("browserId:b", "browserId", "b", 1),
        NewIdentifier("customId:c", "customId", "c", 1),
    ]
    assert changes.new_links == [
        NewLink(101, "email:a", "browserId:b", item_index=0),
        NewLink(102, "email:a", "customId:c", item_index=0),
    ]
    assert changes.attributes == {1: {"firstName": Attribute("Ann", "email:a", NOW, "req-1")}}
    assert changes.attribute_writes == [AttributeWrite(1, "email:a", "firstName", "Ann")]
    assert changes.sequences == Sequences(profile=2, link=103, merge=1)
    assert changes.provenance == PROVENANCE


def test_noop_without_attributes_changes_nothing() -> None:
    plan = plan_links(
        [item("email:a", "browserId:b")],
        state(profile(1, "email:a", "browserId:b")),
        DEFAULT,
        PROVENANCE,
    )
    assert plan.outcomes == (Noop(1),)
    assert plan.changes.is_empty


def test_noop_still_writes_the_attributes_sent_with_it() -> None:
    given = state(profile(1, "email:a", "browserId:b"))
    plan = plan_links([item("browserId:b", "email:a", city="Kraków")], given, DEFAULT, PROVENANCE)
    assert plan.outcomes == (Noop(1),)
    assert plan.changes.attributes == {
        1: {"city": Attribute("Kraków", "browserId:b", NOW, "req-1")}
    }
    assert plan.changes.new_links == []


@pytest.mark.parametrize(
    ("given", "joining", "outcome"),
    [
        pytest.param(
            state(profile(1, "uuid:1", "uuid:2")), item("email:a", "browserId:x", "uuid:1"),
            Linked(1), id="two-new-then-known=linked",
        ),
        pytest.param(
            state(profile(1, "ext:crm:u1", "browserId:b"), profile(2, "ext:crm:u2", "uuid:x")),
            item("browserId:b", "customId:new", "uuid:x"),
            Moved(2, moved_from=(1,)), id="moved-then-new-then-known=moved",
        ),
    ],
)  # fmt: skip
def test_new_identifiers_joining_one_profile_create_no_other_profile(
    given: GraphState, joining: LinkItem, outcome: Any
) -> None:
    plan = plan_links([joining], given, DEFAULT, PROVENANCE)

    assert plan.outcomes == (outcome,)
    assert plan.changes.new_profiles == []
    assert plan.changes.merges == []
    assert all(link.merge_id is None for link in plan.changes.new_links)
    assert plan.changes.sequences.profile == given.sequences.profile


def test_identifiers_joining_a_lone_identifier_keep_its_profile_id() -> None:
    # a lone identifier is what a move leaves behind
    given = state(profile(1, "uuid:1", links=[]))
    plan = plan_links([item("email:a", "browserId:x", "uuid:1")], given, DEFAULT, PROVENANCE)

    assert plan.outcomes == (Linked(1),)
    assert profiles_after(given, plan.changes) == {1: {"uuid:1", "email:a", "browserId:x"}}
    assert plan.changes.merges == []


def test_merge_relabels_only_the_absorbed_side_and_records_the_merge() -> None:
    given = state(
        profile(1, "uuid:1", "uuid:2", "uuid:3"),
        profile(2, "uuid:4", "uuid:5", created_at=LATER),
    )
    plan = plan_links([item("uuid:4", "uuid:1", "uuid:9")], given, DEFAULT, PROVENANCE)
    changes = plan.changes

    assert plan.outcomes == (Merged(1, absorbed=(2,)),)
    assert sorted(changes.relabels) == [("uuid:4", 1), ("uuid:5", 1)]
    assert changes.new_identifiers == [NewIdentifier("uuid:9", "uuid", "9", 1)]
    # the sides of the merge: what an undo separates again
    assert changes.merges == [MergeRow(1, 1, 2, 0, survivor_key="uuid:1", absorbed_key="uuid:4")]
    assert changes.new_links == [
        NewLink(104, "uuid:4", "uuid:1", item_index=0, merge_id=1),
        NewLink(105, "uuid:4", "uuid:9", item_index=0),
    ]
    assert changes.new_profiles == []
    assert changes.updated_profiles == [
        ProfileRow(1, OLD, NOW, recognized=False),
        ProfileRow(2, LATER, NOW, recognized=False),
    ]
    assert changes.ended_links == []
    assert changes.sequences == Sequences(profile=3, link=106, merge=2)


def test_three_profiles_joined_by_one_item_record_two_merges_in_order() -> None:
    given = state(
        profile(1, "uuid:1", "uuid:2"),
        profile(2, "uuid:3", "uuid:4", "uuid:5"),
        profile(3, "uuid:6", "uuid:7"),
    )
    plan = plan_links([item("uuid:1", "uuid:3", "uuid:6")], given, DEFAULT, PROVENANCE)

    assert plan.outcomes == (Merged(2, absorbed=(1, 3)),)
    assert plan.changes.merges == [
        MergeRow(1, 2, 1, 0, survivor_key="uuid:3", absorbed_key="uuid:1"),
        MergeRow(2, 2, 3, 0, survivor_key="uuid:1", absorbed_key="uuid:6"),
    ]
    assert [link.merge_id for link in plan.changes.new_links] == [1, 2]
    assert sorted(plan.changes.relabels) == [
        ("uuid:1", 2),
        ("uuid:2", 2),
        ("uuid:6", 2),
        ("uuid:7", 2),
    ]


def test_merge_marks_the_survivor_recognized_and_keeps_the_absorbed_profiles_own_flag() -> None:
    given = state(
        profile(1, "uuid:1", "uuid:2", "uuid:3"),
        profile(2, "email:a", "uuid:4", created_at=LATER),
    )
    plan = plan_links([item("uuid:1", "uuid:4")], given, DEFAULT, PROVENANCE)

    assert plan.outcomes == (Merged(1, absorbed=(2,)),)
    assert plan.changes.updated_profiles == [
        ProfileRow(1, OLD, NOW, recognized=True),
        ProfileRow(2, LATER, NOW, recognized=True),
    ]


CONFLICTS = [
    pytest.param(
        state(profile(1, "email:a", "uuid:1"), profile(2, "email:b", "uuid:2")),
        item("uuid:1", "uuid:2", "browserId:new", city="Kraków"), DEFAULT,
        ConflictRow(0, "unique_type:email", (1, 2),
                    (Identifier("uuid", "1"), Identifier("uuid", "2"),
                     Identifier("browserId", "new"))),
        id="two-emails",
    ),
    pytest.param(
        state(profile(1, "ext:crm:u1", "uuid:1"), profile(2, "ext:crm:u2", "uuid:2")),
        item("uuid:1", "customId:new", "uuid:2", city="Kraków"), DEFAULT,
        ConflictRow(0, "unique_type:ext:crm", (1, 2),
                    (Identifier("uuid", "1"), Identifier("customId", "new"),
                     Identifier("uuid", "2"))),
        id="two-ext-crm",
    ),
    pytest.param(
        state(profile(1, "ext:crm:u1", "browserId:b")),
        item("ext:crm:u2", "browserId:b", city="Kraków"), REJECT_BROWSER,
        ConflictRow(0, "unique_type:ext:crm", (1,),
                    (Identifier("ext:crm", "u2"), Identifier("browserId", "b"))),
        id="browser-reject-policy",
    ),
    pytest.param(
        state(profile(1, "uuid:1", "uuid:2")),
        item("uuid:1", "uuid:3", "uuid:4", city="Kraków"), CAP_3,
        ConflictRow(0, "max_identifiers", (1,),
                    (Identifier("uuid", "1"), Identifier("uuid", "3"), Identifier("uuid", "4"))),
        id="max-identifiers",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("given", "refused", "rules", "row"), CONFLICTS)
def test_conflicting_item_writes_nothing_but_the_conflict(
    given: GraphState, refused: LinkItem, rules: Rules, row: ConflictRow
) -> None:
    plan = plan_links([refused], given, rules, PROVENANCE)
    changes = plan.changes

    assert [outcome.kind for outcome in plan.outcomes] == ["conflict"]
    assert changes.conflicts == [row]
    assert changes.new_identifiers == []
    assert changes.relabels == []
    assert changes.new_profiles == []
    assert changes.updated_profiles == []
    assert changes.new_links == []
    assert changes.ended_links == []
    assert changes.merges == []
    assert changes.attributes == {}
    assert changes.attribute_writes == []


@pytest.mark.parametrize(
    ("given", "refused", "rules", "expected"),
    [
        pytest.param(
            state(profile(1, "customId:c1", "email:a")),
            item("customId:c2", "email:a"),
            OMNIDESK,
            Holder(1, 1, identifier("email:a"), identifier("customId:c1")),
            id="address-of-another-customer=held-by-that-customer",
        ),
        pytest.param(
            state(profile(1, "customId:c1", "email:a"), profile(2, "customId:c2", "phone:1")),
            item("customId:c2", "phone:1", "email:a"),
            OMNIDESK,
            Holder(1, 2, identifier("email:a"), identifier("customId:c1")),
            id="the-own-profile-is-skipped=the-other-holds-it",
        ),
        pytest.param(
            state(profile(1, "email:a", "phone:1")),
            item("uuid:9", "email:a", "email:b"),
            DEFAULT,
            None,
            id="no-identifier-of-the-anchor-type-to-name-it-by=none",
        ),
    ],
)
def test_a_conflict_names_who_holds_what_it_runs_into(
    given: GraphState, refused: LinkItem, rules: Rules, expected: Holder | None
) -> None:
    """Omnidesk's 409 names the customer holding an address; the planner says which."""
    [conflict] = plan_links([refused], given, rules, PROVENANCE).outcomes
    assert isinstance(conflict, Conflict) and conflict.holder == expected


def test_conflict_in_a_batch_does_not_stop_the_next_items() -> None:
    given = state(profile(1, "email:a", "uuid:1"))
    plan = plan_links(
        [item("uuid:1", "email:b", city="Paris"), item("uuid:1", "browserId:x", city="Kraków")],
        given,
        DEFAULT,
        PROVENANCE,
    )
    assert plan.outcomes == (Conflict(1, reason="unique_type:email", profiles=(1,)), Linked(1))
    assert [row.item_index for row in plan.changes.conflicts] == [0]
    assert plan.changes.attribute_writes == [AttributeWrite(1, "uuid:1", "city", "Kraków")]
    assert [(link.a, link.b, link.item_index) for link in plan.changes.new_links] == [
        ("uuid:1", "browserId:x", 1)
    ]


def test_moved_browser_ends_its_old_link_with_reason_moved() -> None:
    given = state(profile(1, "ext:crm:u1", "browserId:b"))
    plan = plan_links([item("ext:crm:u2", "browserId:b")], given, DEFAULT, PROVENANCE)
    changes = plan.changes

    assert plan.outcomes == (Moved(2, moved_from=(1,)),)
    assert changes.ended_links == [(101, "moved")]
    assert changes.relabels == [("browserId:b", 2)]
    assert changes.new_identifiers == [NewIdentifier("ext:crm:u2", "ext:crm", "u2", 2)]
    assert changes.new_links == [NewLink(102, "ext:crm:u2", "browserId:b", item_index=0)]
    assert changes.new_profiles == [ProfileRow(2, NOW, NOW, recognized=False)]
    assert changes.updated_profiles == [ProfileRow(1, OLD, NOW, recognized=False)]
    assert changes.merges == []
    assert changes.conflicts == []


def test_move_that_splits_a_profile_gives_the_other_part_a_new_id_and_its_attributes() -> None:
    given = state(
        profile(
            1,
            "ext:crm:u1",
            "browserId:b",
            "uuid:c",
            links=[("browserId:b", "ext:crm:u1"), ("browserId:b", "uuid:c")],
            attributes={
                "name": attr("Ann", via="ext:crm:u1"),
                "city": attr("Kraków", via="uuid:c"),
                "lang": attr("pl", via="uuid:c"),
                "tier": attr("gold", via=None),
            },
        )
    )
    plan = plan_links([item("ext:crm:u2", "browserId:b")], given, DEFAULT, PROVENANCE)
    changes = plan.changes

    assert plan.outcomes == (Moved(3, moved_from=(1,)),)
    assert sorted(changes.ended_links) == [(101, "moved"), (102, "moved")]
    assert changes.new_profiles == [
        ProfileRow(2, NOW, NOW, recognized=False, parent_id=1),
        ProfileRow(3, NOW, NOW, recognized=False),
    ]
    assert changes.attributes[2] == {
        "city": attr("Kraków", via="uuid:c"),
        "lang": attr("pl", via="uuid:c"),
    }
    assert changes.attributes[1] == {
        "name": attr("Ann", via="ext:crm:u1"),
        "tier": attr("gold", via=None),
    }


def test_browsers_moving_together_leave_no_empty_profile_behind() -> None:
    given = state(
        profile(
            1,
            "ext:crm:u1",
            "browserId:b1",
            "browserId:b2",
            links=[("browserId:b1", "ext:crm:u1"), ("browserId:b1", "browserId:b2")],
        )
    )
    plan = plan_links(
        [item("ext:crm:u2", "browserId:b1", "browserId:b2")], given, DEFAULT, PROVENANCE
    )

    assert plan.outcomes == (Moved(2, moved_from=(1,)),)
    assert plan.changes.new_profiles == [ProfileRow(2, NOW, NOW, recognized=False)]
    assert sorted(plan.changes.relabels) == [("browserId:b1", 2), ("browserId:b2", 2)]


def test_split_gives_the_id_to_the_larger_part_even_when_it_is_younger() -> None:
    given = state(
        profile(
            1,
            "ext:crm:u1",
            "browserId:b",
            "uuid:y1",
            "uuid:y2",
            links=[
                ("browserId:b", "ext:crm:u1"),
                ("browserId:b", "uuid:y1"),
                ("uuid:y1", "uuid:y2"),
            ],
        )
    )
    plan = plan_links([item("ext:crm:u2", "browserId:b")], given, DEFAULT, PROVENANCE)

    assert plan.outcomes == (Moved(3, moved_from=(1,)),)
    assert profiles_after(given, plan.changes) == {
        1: {"uuid:y1", "uuid:y2"},
        2: {"ext:crm:u1"},
        3: {"ext:crm:u2", "browserId:b"},
    }
    assert plan.changes.new_profiles[0] == ProfileRow(2, NOW, NOW, recognized=False, parent_id=1)


def test_a_profile_whose_every_identifier_would_move_is_joined_whole_not_emptied() -> None:
    given = state(
        profile(1, "browserId:b1", "browserId:b2"),
        profile(2, "ext:crm:u1", "browserId:b3"),
    )
    items = [item("browserId:b1", "browserId:b2", "browserId:b3", "ext:crm:u2")]
    plan = plan_links(items, given, DEFAULT, PROVENANCE)

    assert plan.outcomes == (Moved(1, moved_from=(2,)),)
    assert profiles_after(given, plan.changes) == {
        1: {"browserId:b1", "browserId:b2", "browserId:b3", "ext:crm:u2"},
        2: {"ext:crm:u1"},
    }
    assert plan.changes.new_profiles == []
    assert [link for link, _ in plan.changes.ended_links] == [102]


def test_link_created_and_ended_in_one_batch_carries_its_end() -> None:
    plan = plan_links(
        [item("ext:crm:u1", "browserId:b"), item("ext:crm:u2", "browserId:b")],
        state(),
        DEFAULT,
        PROVENANCE,
    )
    changes = plan.changes

    assert plan.outcomes == (Created(1), Moved(2, moved_from=(1,)))
    assert changes.new_links == [
        NewLink(101, "ext:crm:u1", "browserId:b", item_index=0, ended_reason="moved"),
        NewLink(102, "ext:crm:u2", "browserId:b", item_index=1),
    ]
    assert changes.ended_links == []
    assert changes.new_identifiers == [
        NewIdentifier("ext:crm:u1", "ext:crm", "u1", 1),
        NewIdentifier("browserId:b", "browserId", "b", 2),
        NewIdentifier("ext:crm:u2", "ext:crm", "u2", 2),
    ]


def test_profile_created_and_absorbed_in_one_batch_is_inserted_and_merged() -> None:
    plan = plan_links(
        [item("email:a", "uuid:1"), item("uuid:2", "uuid:3"), item("uuid:1", "uuid:2")],
        state(),
        DEFAULT,
        PROVENANCE,
    )
    changes = plan.changes

    assert plan.outcomes == (Created(1), Created(2), Merged(1, absorbed=(2,)))
    assert changes.new_profiles == [
        ProfileRow(1, NOW, NOW, recognized=True),
        ProfileRow(2, NOW, NOW, recognized=False),
    ]
    assert changes.updated_profiles == []
    assert changes.merges == [MergeRow(1, 1, 2, 2, survivor_key="uuid:1", absorbed_key="uuid:2")]
    assert changes.new_links[-1] == NewLink(103, "uuid:1", "uuid:2", item_index=2, merge_id=1)
    assert {new.key: new.profile_id for new in changes.new_identifiers} == {
        "email:a": 1,
        "uuid:1": 1,
        "uuid:2": 1,
        "uuid:3": 1,
    }


# --- attributes ---------------------------------------------------------------------------------

RECOGNIZED = ("email:a", "uuid:1")
ANONYMOUS = ("uuid:2", "uuid:3", "uuid:4")  # the larger side: it survives
SURVIVORSHIP = [
    pytest.param(
        RECOGNIZED, {"name": attr("Ann", "email:a", OLD), "city": attr("Kraków", "uuid:1")},
        ANONYMOUS, {"name": attr("Anna", "uuid:2", LATER), "lang": attr("pl", "uuid:2")},
        {"name": attr("Ann", "email:a", OLD), "city": attr("Kraków", "uuid:1"),
         "lang": attr("pl", "uuid:2")},
        id="recognized-wins-though-older-and-absorbed+anonymous-fills-gaps",
    ),
    pytest.param(
        ANONYMOUS, {"name": attr("Anna", "uuid:2", LATER), "lang": attr("pl", "uuid:2")},
        RECOGNIZED, {"name": attr("Ann", "email:a", OLD), "city": attr("Kraków", "uuid:1")},
        {"name": attr("Ann", "email:a", OLD), "city": attr("Kraków", "uuid:1"),
         "lang": attr("pl", "uuid:2")},
        id="recognized-wins-though-older-and-surviving-side-anonymous",
    ),
    pytest.param(
        ("uuid:1", "uuid:5"),
        {"name": attr("Ann", "uuid:1", OLD), "city": attr("Kraków", "uuid:1")},
        ANONYMOUS, {"name": attr("Anna", "uuid:2", LATER)},
        {"name": attr("Anna", "uuid:2", LATER), "city": attr("Kraków", "uuid:1")},
        id="two-anonymous-latest-write-wins-from-survivor",
    ),
    pytest.param(
        ("uuid:1", "uuid:5"), {"name": attr("Anna", "uuid:1", LATER)},
        ANONYMOUS, {"name": attr("Ann", "uuid:2", OLD), "lang": attr("pl", "uuid:2")},
        {"name": attr("Anna", "uuid:1", LATER), "lang": attr("pl", "uuid:2")},
        id="two-anonymous-latest-write-wins-from-absorbed",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("keys_a", "attrs_a", "keys_b", "attrs_b", "expected"), SURVIVORSHIP)
def test_merge_survivorship(
    keys_a: tuple[str, ...],
    attrs_a: dict[str, Attribute],
    keys_b: tuple[str, ...],
    attrs_b: dict[str, Attribute],
    expected: dict[str, Attribute],
) -> None:
    given = state(profile(1, *keys_a, attributes=attrs_a), profile(2, *keys_b, attributes=attrs_b))
    plan = plan_links([item(keys_a[1], keys_b[0])], given, NO_UNIQUE, PROVENANCE)

    (merged,) = plan.outcomes
    assert isinstance(merged, Merged)
    assert plan.changes.attributes[merged.profile_id] == expected
    assert plan.changes.attributes[merged.absorbed[0]] == {}
    assert plan.changes.attribute_writes == []  # survivorship rewrites no history


def test_attributes_sent_with_a_merge_are_written_after_it_and_win() -> None:
    given = state(
        profile(1, "email:a", "uuid:1", attributes={"city": attr("Kraków", "email:a")}),
        profile(2, "uuid:2", "uuid:3", "uuid:4", attributes={"city": attr("Paris", "uuid:2")}),
    )
    plan = plan_links([item("uuid:1", "uuid:2", city="Berlin")], given, DEFAULT, PROVENANCE)

    assert plan.outcomes == (Merged(2, absorbed=(1,)),)
    assert plan.changes.attributes[2] == {"city": Attribute("Berlin", "uuid:1", NOW, "req-1")}
    assert plan.changes.attribute_writes == [AttributeWrite(2, "uuid:1", "city", "Berlin")]


def test_none_deletes_an_attribute_and_the_deletion_is_recorded() -> None:
    given = state(
        profile(1, "email:a", "uuid:1", attributes={"name": attr("Ann", "email:a")}),
    )
    plan = plan_links(
        [item("uuid:1", "email:a", name=None, city="Kraków")], given, DEFAULT, PROVENANCE
    )

    assert plan.outcomes == (Noop(1),)
    assert plan.changes.attributes == {1: {"city": Attribute("Kraków", "uuid:1", NOW, "req-1")}}
    assert plan.changes.attribute_writes == [
        AttributeWrite(1, "uuid:1", "name", None),
        AttributeWrite(1, "uuid:1", "city", "Kraków"),
    ]
    assert plan.changes.updated_profiles == [ProfileRow(1, OLD, NOW, recognized=True)]


def test_attribute_update_writes_profile_level_values_and_deletes_none() -> None:
    given = state(
        profile(
            1,
            "email:a",
            "uuid:1",
            attributes={"name": attr("Ann", "email:a"), "city": attr("Paris", "uuid:1")},
        )
    )
    changes = plan_attribute_update(given, 1, {"city": "Kraków", "name": None}, DEFAULT, PROVENANCE)

    assert changes.attributes == {1: {"city": Attribute("Kraków", None, NOW, "req-1")}}
    assert changes.attribute_writes == [
        AttributeWrite(1, None, "city", "Kraków"),
        AttributeWrite(1, None, "name", None),
    ]
    assert changes.updated_profiles == [ProfileRow(1, OLD, NOW, recognized=True)]
    assert changes.new_links == [] and changes.new_identifiers == [] and changes.merges == []


def test_attribute_update_with_nothing_to_write_changes_nothing() -> None:
    given = state(profile(1, "email:a", "uuid:1"))
    assert plan_attribute_update(given, 1, {}, DEFAULT, PROVENANCE).is_empty


def test_planning_does_not_change_the_loaded_state() -> None:
    given = state(
        profile(1, "email:a", "browserId:b", attributes={"name": attr("Ann", "email:a")}),
        profile(2, "uuid:1", "uuid:2"),
    )
    before = (dict(given.identifiers), list(given.links), {1: dict(given.attributes[1])})
    plan_links(
        [item("uuid:1", "browserId:b", name=None), item("email:c", "browserId:b")],
        given,
        DEFAULT,
        PROVENANCE,
    )
    assert (given.identifiers, given.links, given.attributes) == before


# --- explicit merges ----------------------------------------------------------------------------


def test_explicit_merge_keeps_the_target_retires_unique_identifiers_and_moves_the_rest() -> None:
    given = state(
        profile(1, "customId:t", "email:t", attributes={"city": attr("Rome", "customId:t")}),
        profile(2, "customId:s", "email:s", "uuid:s", attributes={"city": attr("Oslo", None)}),
    )
    plan = plan_merge("customId:t", ["customId:s"], given, SYNERISE, PROVENANCE)

    assert plan.outcomes == (Merged(1, absorbed=(2,)),)
    after = profiles_after(given, plan.changes)
    assert after == {1: {"customId:t", "email:t", "uuid:s"}, None: {"customId:s", "email:s"}}
    assert plan.changes.merges == [
        MergeRow(1, 1, 2, 0, survivor_key="customId:t", absorbed_key="customId:s")
    ]
    assert [(link.a, link.b, link.merge_id) for link in plan.changes.new_links] == [
        ("customId:t", "uuid:s", 1)
    ]
    assert {reason for _, reason in plan.changes.ended_links} == {"merged"}
    assert 1 not in plan.changes.attributes  # the target's values stay as they were
    assert plan.changes.attributes[2] == {}  # the source's are dropped (kept in history)


def test_explicit_merge_refused_by_the_size_cap_writes_nothing_but_the_conflict() -> None:
    given = state(profile(1, "customId:t", "uuid:1"), profile(2, "customId:s", "uuid:2", "uuid:3"))
    rules = Rules(unique_types=("customId",), max_identifiers=3)
    plan = plan_merge("customId:t", ["customId:s"], given, rules, PROVENANCE)

    assert plan.outcomes == (Conflict(1, reason="max_identifiers", profiles=(1, 2)),)
    assert profiles_after(given, plan.changes) == {
        1: {"customId:t", "uuid:1"},
        2: {"customId:s", "uuid:2", "uuid:3"},
    }
    assert [c.rule for c in plan.changes.conflicts] == ["max_identifiers"]
