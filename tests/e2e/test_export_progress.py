"""`idgraph export` run as a command on a SQLite store written by link requests: a progress
bar per namespace and kind of row on stderr, ending on what was written, and stdout's summary
as before."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import networkx as nx
import pytest

from graph.service import IdentityService, LinkRequest
from graph.store.sqlite.store import SqliteStore

IDGRAPH = str(Path(sys.executable).parent / "idgraph")
CRM_ITEMS = 1200  # more than a progress report's thousand
NODE_FILES = ("identifiers.csv", "profiles.csv")  # column 1: the namespace
CSV_FILES = ("identifiers.csv", "profiles.csv", "member_of.csv", "links.csv")  # as printed


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """shop: 5 identifiers, 3 links, 2 profiles; crm: 2400 identifiers, 1200 links, 1200
    profiles."""
    path = tmp_path_factory.mktemp("export") / "idgraph.db"
    with SqliteStore(path) as sqlite:
        linking = IdentityService(sqlite).linking
        linking.link("shop", [LinkRequest([("email", "a@x.io"), ("browserId", "b1")])])
        linking.link("shop", [LinkRequest([("email", "a@x.io"), ("browserId", "b2")])])
        linking.link("shop", [LinkRequest([("browserId", "b3"), ("deviceId", "d1")])])
        crm = [
            LinkRequest([("customId", f"c{n}"), ("deviceId", f"x{n}")]) for n in range(CRM_ITEMS)
        ]
        linking.link("crm", crm)
    return path


def export(store: Path, format_: str, out: Path) -> subprocess.CompletedProcess:
    arguments = ["--format", format_, "--namespace", "shop", "--namespace", "crm"]
    result = subprocess.run(
        [IDGRAPH, "export", *arguments, "--out", str(out)],
        env={**os.environ, "IDGRAPH_STORE": f"sqlite:///{store}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result


def last_drawings(stderr: str) -> dict[str, str]:
    """Each bar's last drawing (what stays on the terminal), by its description."""
    drawings = {}
    for line in re.split(r"[\r\n]+", stderr):
        step, colon, bar = line.partition(":")
        if colon:
            drawings[step.strip()] = bar.strip()
    return drawings


def full(bar: str, total: int) -> bool:
    """A bar of a known total, full: ``100%|██████████| 2/2 [...]`` (``#`` where the terminal
    has no Unicode)."""
    return bar.startswith("100%|") and f"| {total}/{total} [" in bar


def test_graphml_export_counts_each_namespace_on_stderr(store, tmp_path):
    out = tmp_path / "graph.graphml"
    result = export(store, "graphml", out)
    graph = nx.read_graphml(out, force_multigraph=True)
    nodes = Counter(data["ns"] for _, data in graph.nodes(data=True))
    edges = Counter(source.split("/")[0] for source, _ in graph.edges())
    assert (nodes, edges) == ({"shop": 5, "crm": 2 * CRM_ITEMS}, {"shop": 3, "crm": CRM_ITEMS})
    assert result.stdout == f"wrote {out}: {nodes.total()} identifiers, {edges.total()} links\n"

    bars = last_drawings(result.stderr)
    steps = [f"{ns} {kind}" for ns in ("shop", "crm") for kind in ("identifiers", "links")]
    assert list(bars) == [*steps, "writing graph.graphml"]
    for ns in ("shop", "crm"):
        assert bars[f"{ns} identifiers"].startswith(f"{nodes[ns]} identifiers [")
        assert bars[f"{ns} links"].startswith(f"{edges[ns]} links [")
        assert "links/s]" in bars[f"{ns} links"]  # the rate
    elements = nodes.total() + edges.total()
    assert full(bars["writing graph.graphml"], elements)


def test_csv_export_counts_each_namespace_on_stderr(store, tmp_path):
    out = tmp_path / "csv"
    result = export(store, "csv", out)
    files = {path.name: list(csv.reader(path.open()))[1:] for path in out.iterdir()}
    rows = {name: Counter(row[1] for row in files[name]) for name in NODE_FILES}
    rows["links.csv"] = Counter(row[0].split("/")[0] for row in files["links.csv"])
    assert rows == {
        "identifiers.csv": {"shop": 5, "crm": 2 * CRM_ITEMS},
        "profiles.csv": {"shop": 2, "crm": CRM_ITEMS},
        "links.csv": {"shop": 3, "crm": CRM_ITEMS},
    }
    assert len(files["member_of.csv"]) == 5 + 2 * CRM_ITEMS
    written = ", ".join(f"{name}: {len(files[name])} rows" for name in CSV_FILES)
    assert result.stdout.splitlines() == [
        f"wrote {out}: {written}",
        f"import with: neo4j-admin database import full <database> "
        f"--nodes={out}/identifiers.csv --nodes={out}/profiles.csv "
        f"--relationships={out}/member_of.csv --relationships={out}/links.csv "
        "--multiline-fields=true",
    ]

    bars = last_drawings(result.stderr)
    kinds = ("identifiers", "links", "profiles")  # profiles last: of every identifier written
    assert list(bars) == [f"{ns} {kind}" for ns in ("shop", "crm") for kind in kinds]
    for ns in ("shop", "crm"):
        identifiers, profiles = rows["identifiers.csv"][ns], rows["profiles.csv"][ns]
        assert bars[f"{ns} identifiers"].startswith(f"{identifiers} identifiers [")
        assert full(bars[f"{ns} profiles"], profiles)
        assert bars[f"{ns} links"].startswith(f"{rows['links.csv'][ns]} links [")
