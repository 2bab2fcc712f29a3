"""The planner decides the same in every process: no reason, profile id or order in a change
set depends on the string hash seed (PYTHONHASHSEED), which differs between `idgraph import`,
the server and each of its workers. Every scenario is planned in subprocesses run with
different seeds, whose answers must match each other and the order the planner documents.
States are built as in test_planner.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from test_planner import PROVENANCE, item, profile, state
from test_planner_history import record

from graph.model import MergeRecord
from graph.planner import plan_links, plan_undo_merge
from graph.rules import Rules

SEEDS = ("1", "2", "3")
EMAIL_AND_CUSTOM_ID = Rules(unique_types=("email", "customId"), merge_recognized=True)
TWO_LIMITS = Rules(unique_types=(), type_limits={"phone": 1, "browserId": 1})


def item_breaking_two_unique_types_after_a_merge() -> list[str]:
    """Profile 1 absorbs profile 2, which brings it an email and a customId; the next item
    would join profile 3, holding another of each."""
    given = state(
        profile(1, "uuid:1", "uuid:4", "uuid:5"),
        profile(2, "email:a", "customId:a"),
        profile(3, "uuid:3", "email:b", "customId:b"),
    )
    items = [item("uuid:1", "email:a"), item("uuid:1", "uuid:3")]
    plan = plan_links(items, given, EMAIL_AND_CUSTOM_ID, PROVENANCE)
    return [f"{o.kind} {getattr(o, 'reason', o.profile_id)}" for o in plan.outcomes]


def item_breaking_two_type_limits_after_a_merge() -> list[str]:
    given = state(
        profile(1, "uuid:1", "uuid:4", "uuid:5"),
        profile(2, "phone:1", "browserId:a"),
        profile(3, "uuid:3", "phone:2", "browserId:b"),
    )
    items = [item("uuid:1", "phone:1"), item("uuid:1", "uuid:3")]
    plan = plan_links(items, given, TWO_LIMITS, PROVENANCE)
    return [f"{o.kind} {getattr(o, 'reason', o.profile_id)}" for o in plan.outcomes]


def browser_moving_out_of_the_middle_of_a_star() -> dict[str, Any]:
    """The shared browser is linked to the four others of profile 1: when it moves to a new
    email, profile 1 falls apart in four parts."""
    given = state(profile(1, "browserId:b", "email:a", "uuid:2", "uuid:3", "uuid:4"))
    plan = plan_links([item("email:c", "browserId:b")], given, Rules(), PROVENANCE)
    changes = plan.changes
    placed = dict(changes.relabels)
    placed.update((row.key, row.profile_id) for row in changes.new_identifiers)
    return {
        "outcomes": [repr(outcome) for outcome in plan.outcomes],
        "placed": dict(sorted(placed.items())),
        "new_profiles": [(row.id, row.parent_id) for row in changes.new_profiles],
    }


def undo_leaving_parts_joined_only_by_the_merge() -> dict[str, Any]:
    """Merge 7 linked uuid:1 to uuid:2, uuid:8 and uuid:9 of profile 2; the links that also
    joined uuid:8 and uuid:9 to uuid:2 have ended since. Undoing it leaves four parts."""
    links = [("email:a", "uuid:1"), ("uuid:2", "uuid:3")]
    links += [("uuid:1", "uuid:2"), ("uuid:1", "uuid:8"), ("uuid:1", "uuid:9")]
    keys = ("email:a", "uuid:1", "uuid:2", "uuid:3", "uuid:8", "uuid:9")
    given = state(profile(1, *keys, links=links))
    given.sequences = replace(given.sequences, profile=3)  # 2 was taken by the absorbed
    merge = MergeRecord(7, 1, 2, "r-merge", 0, PROVENANCE.at, "uuid:1", "uuid:2")
    joined = ("uuid:2", "uuid:8", "uuid:9")
    ending = [record(103 + n, "uuid:1", key, merge_id=7) for n, key in enumerate(joined)]
    undone = plan_undo_merge(
        merge, ending=ending, restoring=[], aliases=[], absorbed_created_at=PROVENANCE.at,
        state=given, rules=Rules(), provenance=PROVENANCE, reason="wrong",
    )  # fmt: skip
    changes = undone.changes
    return {
        "profiles": list(undone.profiles),
        "placed": dict(sorted(changes.relabels)),
        "new_profiles": [(row.id, row.parent_id) for row in changes.new_profiles],
    }


SCENARIOS = {
    "two-unique-types-after-merge": item_breaking_two_unique_types_after_a_merge,
    "two-type-limits-after-merge": item_breaking_two_type_limits_after_a_merge,
    "move-splits-profile-in-four": browser_moving_out_of_the_middle_of_a_star,
    "undo-leaves-four-parts": undo_leaving_parts_joined_only_by_the_merge,
}

# the reason names the first broken type by name; split parts get new ids oldest first
EXPECTED = {
    "two-unique-types-after-merge": ["merged 1", "conflict unique_type:customId"],
    "two-type-limits-after-merge": ["merged 1", "conflict type_limit:browserId"],
    "move-splits-profile-in-four": {
        "outcomes": ["Moved(profile_id=5, moved_from=(1,), absorbed=())"],
        "placed": {"browserId:b": 5, "email:c": 5, "uuid:2": 2, "uuid:3": 3, "uuid:4": 4},
        "new_profiles": [[2, 1], [3, 1], [4, 1], [5, None]],
    },
    "undo-leaves-four-parts": {
        "profiles": [1, 2],
        "placed": {"uuid:2": 2, "uuid:3": 2, "uuid:8": 3, "uuid:9": 4},
        "new_profiles": [[3, 1], [4, 1]],
    },
}


def answers() -> str:
    """Every scenario's answer, as JSON (tuples become lists)."""
    return json.dumps({name: scenario() for name, scenario in SCENARIOS.items()})


@pytest.fixture(scope="module")
def answers_by_seed() -> dict[str, dict[str, Any]]:
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        "from test_plan_determinism import answers; print(answers())"
    )
    found = {}
    for seed in SEEDS:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        found[seed] = json.loads(done.stdout)
    return found


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_answer_whatever_the_hash_seed(
    answers_by_seed: dict[str, dict[str, Any]], scenario: str
) -> None:
    first, *others = SEEDS
    for seed in others:
        assert answers_by_seed[seed][scenario] == answers_by_seed[first][scenario], (
            f"PYTHONHASHSEED={seed} and {first} disagree"
        )
    assert answers_by_seed[first][scenario] == EXPECTED[scenario]
