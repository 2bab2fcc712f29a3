"""The benchmark scripts keep working: each runs its --quick variant end to end (in process and
against the real server). No timing is asserted here; figures live in benchmarks/README.md.
What is asserted is behaviour: the ingest workload knows which outcome each item must get
(created, linked, merged, conflict), and every path must give exactly those."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def run_quick(script: str, tmp_path: Path, *options: str, env: dict | None = None) -> dict:
    output = tmp_path / f"{script}.json"
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", "--json", str(output), *options],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(output.read_text())


def test_ingest_workload_gets_the_intended_outcome_on_every_path(tmp_path):
    figures = run_quick("ingest.py", tmp_path)
    paths = {run["path"]: run for run in figures["runs"]}
    assert {"raw executemany", "service layer", "HTTP, 1 client"} <= set(paths)
    for name in ("service layer", "HTTP, 1 client"):
        run = paths[name]
        assert run["unexpected_outcomes"] == 0, name
        assert {"created", "linked", "merged", "conflict"} <= set(run["outcomes"]), name
        assert run["links_per_second"] > 0


def test_ingest_on_a_neo4j_server_gets_the_same_outcomes(tmp_path, empty_bolt_server):
    environment = {**os.environ, **empty_bolt_server.environment()}
    url = environment.pop("IDGRAPH_STORE")
    figures = run_quick(
        "ingest.py", tmp_path, "--identifiers", "1500", "--store", url, env=environment
    )
    paths = {run["path"]: run for run in figures["runs"]}
    assert set(paths) == {"service layer", "HTTP, 1 client"} and figures["targets"] == []
    assert paths["service layer"]["outcomes"] == paths["HTTP, 1 client"]["outcomes"]
    for run in paths.values():
        assert run["unexpected_outcomes"] == 0 and run["ratio_to_raw"] is None
        assert {"created", "linked", "merged", "conflict"} <= set(run["outcomes"])


def test_resolve_answers_every_lookup_in_process_and_over_http(tmp_path):
    figures = run_quick("resolve.py", tmp_path)
    for run in figures["runs"]:
        assert run["failures"] == 0, run["path"]
        assert run["mean_profile_identifiers"] >= 2, run["path"]


@pytest.mark.parametrize(
    "options",
    [[], ["--key", "--separate-ingest", "--no-floor"]],
    ids=["open mode", "API key, second server"],
)
def test_reads_benchmark_answers_every_wrk_lookup_alone_and_while_an_ingest_runs(tmp_path, options):
    figures = run_quick("reads.py", tmp_path, *options)
    assert figures["client"] == ("API key" if options else "local open mode")
    assert figures["ingest_server"] == ("separate" if options else "same")
    assert figures["in_process"]["failures"] == 0
    assert figures["in_process"]["mean_profile_identifiers"] >= 2
    runs = [figures["http"], figures["http_during_ingest"]]
    if options:
        assert figures["floor"] is None
    else:  # the trivial Flask view, beside the lookups as their machine's anchor
        runs.append(figures["floor"])
    for run in runs:
        assert run["requests"] > 0 and run["failed"] == 0 and not run["socket_errors"], run
        assert 0 < run["p50_ms"] <= run["p99_ms"], run
    assert figures["http_during_ingest"]["ingest_links_per_second"] > 0


def test_dialects_benchmark_posts_every_face_against_the_real_server(tmp_path):
    figures = run_quick("dialects.py", tmp_path)
    faces = {run["face"]: run for run in figures["runs"]}
    assert set(faces) == {"native /v1/{ns}/links", "Adnuntius /sync", "Synerise /v4/clients/batch"}
    assert all(run["items"] == 5 * 200 and run["seconds"] > 0 for run in faces.values())


def test_batch_cost_benchmark_posts_batches_with_each_writer(tmp_path):
    figures = run_quick("batch_cost.py", tmp_path)
    assert [run["writer"] for run in figures["runs"]] == ["inline", "process"]
    assert all(run["batches"] == 3 and run["items_per_s"] > 0 for run in figures["runs"])


def test_dirty_pages_benchmark_names_the_btree_of_every_page_the_last_batches_changed(tmp_path):
    figures = run_quick("dirty_pages.py", tmp_path)
    assert figures["batches"] == 3 and figures["links"] > 0
    by_btree = figures["by_btree"]
    assert sum(by_btree.values()) == figures["changed"] > 0
    # new identifiers and their links were written: their tables' pages changed, the
    # identifiers' random key b-tree most of all (a page mapped to the wrong b-tree would not)
    assert {"identifiers", "links", "identifiers_profile"} <= set(by_btree)
    assert max(by_btree, key=by_btree.get) == "identifiers"


def test_lineage_benchmark_times_every_history_read_of_one_large_profile(tmp_path):
    figures = run_quick("lineage.py", tmp_path)
    assert {"benchmark", "machine", "config", "build", "walk", "runs"} <= set(figures)
    build = figures["build"]
    assert build["merge_outcome"] == "merged" and build["ended_links"] > 0
    assert set(build["outcomes"]) == {"created", "linked", "merged"}, build["outcomes"]
    runs = {run["name"]: run for run in figures["runs"]}
    assert set(runs) == {
        "lineage, first page",
        "lineage, first page, as_of middle",
        "lineage, last page",
        "explain",
        "profile_at middle",
        "HTTP GET lineage, first page",
    }
    for run in runs.values():
        assert {"p50_ms", "p95_ms", "max_ms", "repeat"} <= set(run), run["name"]
        assert run["repeat"] == figures["config"]["repeat"] and run["p50_ms"] > 0, run["name"]
    # a page: its identifiers, and the other ends of their links (members on other pages)
    assert runs["lineage, first page"]["answer_members"] >= figures["config"]["limit"]
    assert runs["HTTP GET lineage, first page"]["answer_members"] >= figures["config"]["limit"]
    assert runs["lineage, last page"]["answer_members"] > 0
    assert runs["explain"]["answer_links"] > 2
    assert figures["walk"]["pages"] >= 2


def test_slow_clients_benchmark_times_answers_while_idle_and_trickling_sockets_are_open(tmp_path):
    figures = run_quick("slow_clients.py", tmp_path, "--idle", "10", "--trickling", "4")
    answered = {phase["path"]: phase["sent"] - phase["failed"] for phase in figures["phases"]}
    assert answered and all(count > 0 for count in answered.values()), figures


def test_backfill_imports_the_workload_with_the_outcomes_http_answers(tmp_path):
    figures = run_quick("backfill.py", tmp_path)
    assert figures["same_outcomes"] is True
    assert figures["import"]["outcomes"]["already imported"] == 0
    assert figures["import"]["outcomes"]["bad lines"] == 0
    assert {"created", "linked", "merged", "conflict"} <= set(figures["http"]["outcomes"])
    assert figures["import"]["links_per_second"] > 0 and figures["import_to_http"] > 0


def test_viewer_benchmark_times_a_profile_of_10_identifiers_and_screenshots_it(tmp_path, browser):
    # `browser` (tests/e2e/test_viewer.py): without Chromium this skips, or fails under CI
    shots, output = tmp_path / "shots", tmp_path / "viewer.json"
    script = [sys.executable, str(BENCHMARKS / "viewer.py"), "--sizes", "10", "--repeats", "1"]
    options = ["--timeout", "30", "--screenshots", str(shots), "--json", str(output)]
    result = subprocess.run([*script, *options], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    [row] = [line for line in result.stdout.splitlines() if line.startswith("| 10 |")]
    assert row.endswith("| ready |"), result.stderr[-3000:]
    assert (shots / "merged-10.png").stat().st_size > 0
    [run] = json.loads(output.read_text())["runs"]
    assert run["nodes_drawn"] > 0 and run["warm_navigations"] == 1, run
    assert run["lineage_median_ms"] > 0 and run["page_errors"] == [], run
