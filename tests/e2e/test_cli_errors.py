"""What a user of `idgraph export`, `rekey`, `migrate` and the other commands sees when a path,
a store URL or a namespace is wrong: one line on stderr, exit status 2, no traceback, and
nothing created or changed on disk. And what `idgraph export` writes of identifiers and
provenance XML cannot hold as they are, or of a namespace named twice."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from graph.model import Identifier, LinkItem, Provenance
from graph.planner import plan_links
from graph.rules import Rules
from graph.store.sqlite.store import SqliteStore

IDGRAPH = str(Path(sys.executable).parent / "idgraph")


def idgraph(store: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "IDGRAPH_STORE": store}
    return subprocess.run(
        [IDGRAPH, *args], env=environment, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert all(word in last for word in words), result.stderr


def write_store(path: Path, *items: tuple[str, ...], source: str = "crm") -> str:
    """A SQLite store whose namespace shop holds ``items`` (``"type:value"`` identifiers each)
    as the planner wrote them, with provenance ``source``; its IDGRAPH_STORE URL."""
    with SqliteStore(path) as store:
        for n, identifiers in enumerate(items):
            item = LinkItem(tuple(Identifier(*text.split(":", 1)) for text in identifiers))
            provenance = Provenance(f"r{n}", f"2026-01-01T00:00:{n:02d}.000000Z", "import", source)

            def work(tx, item=item, provenance=provenance):
                state = tx.load_state("shop", [i.key for i in item.identifiers])
                tx.apply("shop", plan_links([item], state, Rules(), provenance).changes)

            store.write(work)
    return f"sqlite:///{path}"


@pytest.fixture
def store(tmp_path) -> str:
    return write_store(tmp_path / "idgraph.db", ("email:ann@x.io", "browserId:b1"))


@pytest.mark.parametrize(
    ("format_", "make", "problem"),
    [
        pytest.param("graphml", Path.mkdir, "is a folder", id="graphml-into-a-folder"),
        pytest.param("csv", Path.touch, "is a file", id="csv-into-a-file"),
    ],
)
def test_export_to_an_out_of_the_wrong_kind_says_so_in_one_line(
    store, tmp_path, format_, make, problem
):
    out = tmp_path / "out"
    make(out)
    result = idgraph(store, "export", "--format", format_, "--namespace", "shop", "--out", str(out))
    assert_one_line_error(result, str(out), problem)
    assert not out.is_dir() or not any(out.iterdir())
    assert not out.is_file() or out.read_bytes() == b""


MALFORMED = ["neo4j://[::1", "neo4j://127.0.0.1:abc", "bolt://:7687"]


@pytest.mark.parametrize("url", MALFORMED)
@pytest.mark.parametrize(
    "command",
    [
        ["keys", "list"],
        ["export", "--format", "csv", "--namespace", "shop", "--out", "csv"],
        ["rekey", "--dry-run"],
        ["import", "--namespace", "shop", "items.jsonl"],
    ],
    ids=lambda command: command[0],
)
def test_a_malformed_neo4j_store_url_is_a_settings_error(tmp_path, url, command):
    (tmp_path / "items.jsonl").write_text(
        '{"identifiers": [{"type": "email", "value": "a@x.io"}]}\n'
    )
    result = idgraph(url, *command, cwd=tmp_path)
    assert_one_line_error(result, f"IDGRAPH_STORE={url!r}", "expected neo4j://host:7687")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["items.jsonl"]


@pytest.mark.parametrize("url", MALFORMED)
def test_migrate_to_a_malformed_neo4j_url_names_the_option(store, url):
    result = idgraph(store, "migrate", "--to", url)
    assert_one_line_error(result, f"--to {url!r}", "expected neo4j://host:7687")


def test_rekey_refuses_a_namespace_that_is_not_valid(store):
    not_utf8 = os.fsdecode(b"x\xff")  # as the shell passes printf 'x\xff'
    result = idgraph(store, "rekey", "--namespace", not_utf8)
    assert_one_line_error(result, "--namespace: not a valid namespace")


@pytest.mark.parametrize("options", [["--dry-run"], []], ids=["dry-run", "rekey"])
def test_rekey_of_a_mistyped_store_path_creates_nothing(tmp_path, options):
    missing = tmp_path / "mistyped" / "idgraph.db"
    result = idgraph(f"sqlite:///{missing}", "rekey", *options)
    assert_one_line_error(result, f"no SQLite store at {missing}")
    assert list(tmp_path.iterdir()) == []


def test_rekey_dry_run_opens_the_store_read_only(store, tmp_path):
    database, lock = tmp_path / "idgraph.db", tmp_path / "idgraph.db.lock"
    lock.unlink()  # every writer of the store takes it, and creates it if it is not there
    before = database.read_bytes()
    result = idgraph(store, "rekey", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "shop: 2 identifiers read" in result.stdout
    assert not lock.exists() and database.read_bytes() == before


def test_graphml_export_escapes_what_xml_cannot_hold_and_reads_back(tmp_path):
    value, source = "b1\x01\uffff\\", "crm\x1b"
    url = write_store(
        tmp_path / "idgraph.db", ("email:ann@x.io", f"browserId:{value}"), source=source
    )
    out = tmp_path / "shop.graphml"
    result = idgraph(url, "export", "--format", "graphml", "--namespace", "shop", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "2 identifiers or links hold characters XML 1.0 does not allow" in result.stderr

    graph = nx.read_graphml(out, force_multigraph=True)
    node = graph.nodes["shop/browserId:b1\\x01\\uffff\\\\"]
    assert (node["value"], node["escaped"]) == ("b1\\x01\\uffff\\\\", "key,value")
    assert unescape(node["value"]) == value
    (edge,) = [data for *_, data in graph.edges(data=True)]
    assert (unescape(edge["source"]), edge["escaped"]) == (source, "source")
    assert "escaped" not in graph.nodes["shop/email:ann@x.io"]


def unescape(text: str) -> str:
    """How docs/storage.md ("Exporting") reads back an escaped string."""
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape")


def test_graphml_export_refuses_two_identifiers_it_would_write_alike(tmp_path):
    url = write_store(
        tmp_path / "idgraph.db", ("email:ann@x.io", "browserId:b\x01", "browserId:b\\x01")
    )
    out = tmp_path / "shop.graphml"
    result = idgraph(url, "export", "--format", "graphml", "--namespace", "shop", "--out", str(out))
    assert_one_line_error(result, "cannot export shop to GraphML", "written alike")
    assert not out.exists()


def test_a_namespace_named_twice_is_exported_once(store, tmp_path):
    out = tmp_path / "csv"
    twice = ["--namespace", "shop", "--namespace", "shop"]
    result = idgraph(store, "export", "--format", "csv", *twice, "--out", str(out))
    assert result.returncode == 0, result.stderr
    with (out / "identifiers.csv").open(newline="") as file:
        ids = [row[0] for row in csv.reader(file)][1:]
    assert sorted(ids) == ["shop/browserId:b1", "shop/email:ann@x.io"]
    with (out / "links.csv").open(newline="") as file:
        assert len(list(csv.reader(file))) == 2  # the header and the one link
