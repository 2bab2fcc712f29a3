"""benchmarks/scale.py keeps working and reports every figure issue 17 asks for: a tiny run of
every path (the two raw ones, the service layer, HTTP against the real server) must give ten
tenths with a rate and latencies each, memory, bytes per identifier, the resolve p99 and both
raw rates. No timing is asserted; the figures live in benchmarks/README.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "scale.py"
PATHS = ["raw minimal", "raw full schema", "service layer", "HTTP, 1 client"]


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict:
    output = tmp_path_factory.mktemp("scale") / "scale.json"
    command = [sys.executable, str(SCRIPT), "--quick", "--identifiers", "12000", "--batch", "150",
               "--lookups", "300", "--http", "--json", str(output)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "goal (issue 17" in result.stdout and "resolve at the end" in result.stdout
    return json.loads(output.read_text())


def test_scale_runs_every_path_to_the_size_asked(figures):
    assert figures["config"]["identifiers"] == 12_000
    assert [run["path"] for run in figures["runs"]] == PATHS
    for run in figures["runs"]:
        assert run["identifiers_stored"] >= 12_000 and run["unexpected_outcomes"] == 0, run["path"]


def test_every_tenth_has_a_rate_and_latencies(figures):
    for run in figures["runs"]:
        tenths = run["tenths"]
        assert [tenth["tenth"] for tenth in tenths] == list(range(1, 11)), run["path"]
        for tenth in tenths:
            assert tenth["batches"] >= 1 and tenth["links_per_second"] > 0, (run["path"], tenth)
            assert 0 < tenth["batch_p50_ms"] <= tenth["batch_p99_ms"], (run["path"], tenth)
            assert tenth["rss_kb"] > 0, (run["path"], tenth)
        assert run["last_over_first_tenth_p50"] > 0


def test_memory_size_and_rates_are_reported_for_every_path(figures):
    for run in figures["runs"]:
        assert run["rss_end_kb"] > 0 and run["peak_rss_kb"] >= run["rss_end_kb"], run["path"]
        assert run["store_bytes_per_identifier"] > 0 and run["wal_peak_bytes"] > 0, run["path"]
        assert run["links_per_second"] > 0 and run["batch_p99_ms"] >= run["batch_p50_ms"] > 0
    assert figures["raw_minimal_links_per_second"] > 0
    assert figures["raw_full_links_per_second"] > 0
    assert figures["runs"][0]["ratio_to_raw_minimal"] == 1.0


def test_the_service_store_is_resolved_at_the_end(figures):
    service = next(run for run in figures["runs"] if run["path"] == "service layer")
    resolve = service["resolve"]
    assert resolve["lookups"] == 300 and resolve["failures"] == 0
    assert 0 < resolve["p50_ms"] <= resolve["p99_ms"]
    assert {tree["name"] for tree in service["btrees"]} >= {"identifiers", "links"}


def test_the_goals_are_judged(figures):
    goals = {goal["goal"]: goal for goal in figures["goals"]}
    assert "resolve p99 ms, in process" in goals and "RSS MB per worker (peak)" in goals
    assert "HTTP, 1 client: links/s" in goals
    assert all(goal["result"] in ("PASS", "FAIL") for goal in goals.values())
