"""`idgraph export` writes files that read back whole, whatever happens meanwhile: the CSV
folder imports with the command the export prints (the real neo4j-admin of tools/neo4j), values
holding line breaks included; a link written while the export reads names identifiers the
export holds, on SQLite and on Neo4j; and an export stopped midway (Ctrl-C, kill -9) leaves an
earlier export at --out as it was."""

from __future__ import annotations

import csv
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from app.api import create_app
from app.cli import main
from app.settings import Settings
from graph.service import IdentityService, LinkRequest
from graph.store import open_store
from graph.store.sqlite.store import SqliteStore
from graph.transfer.export import Progress, export_csv, export_graphml
from tests.neo4j_server import ROOT, Neo4jServer

IDGRAPH = str(Path(sys.executable).parent / "idgraph")
CSV_FILES = ("identifiers.csv", "profiles.csv", "member_of.csv", "links.csv")
CLASSPATH = ROOT / "tools" / "neo4j" / "target" / "classpath.txt"


def item(*identifiers: str, **attributes) -> dict:
    """``item("email:a@x.io", "deviceId:d1", city="Oslo")``: one item of a native batch."""
    pairs = [dict(zip(("type", "value"), text.split(":", 1), strict=True)) for text in identifiers]
    return {"identifiers": pairs, **({"attributes": attributes} if attributes else {})}


def post(http, path: str, body: dict) -> dict:
    response = http.post(path, json=body)
    assert response.status_code in (200, 201), response.json
    return response.json


def build_store_with_line_breaks(path: Path) -> None:
    """shop: a link ended with a reason of two lines, a merge undone with one of two lines
    (CR LF), attributes holding quotes, commas and a line break."""
    app = create_app(Settings(store=f"sqlite:///{path}"))
    http, store = app.test_client(), app.extensions["idgraph.service"].store
    try:
        note = 'said "hi, there"\nand left'
        post(http, "/v1/shop/links", {"items": [item("email:ann@x.io", "deviceId:a1", note=note)]})
        post(http, "/v1/shop/links", {"items": [item("deviceId:a1", "browserId:b1")]})
        last = list(store.iter_links("shop"))[-1]["id"]
        post(http, f"/v1/shop/links/{last}/end", {"reason": "wrong person\nticket 42"})
        post(http, "/v1/shop/links", {"items": [item("deviceId:u1", "deviceId:u2")]})
        post(http, "/v1/shop/links", {"items": [item("deviceId:u3", "deviceId:u4")]})
        joined = post(http, "/v1/shop/links", {"items": [item("deviceId:u1", "deviceId:u3")]})
        [merged] = joined["results"]
        assert merged["outcome"] == "merged", merged
        [merge] = store.read(lambda tx: tx.merges_of("shop", [merged["profile_id"]]))
        post(http, f"/v1/shop/merges/{merge.id}/undo", {"reason": "not one person\r\nsee CRM"})
    finally:
        store.close()


def read_csv(path: Path, reader=csv.reader) -> list:
    with path.open(newline="", encoding="utf-8") as rows:
        return list(reader(rows))


def neo4j_admin(arguments: list[str], home: Path) -> subprocess.CompletedProcess:
    """neo4j-admin (org.neo4j.cli.AdminTool, from the jars tools/neo4j fetches, as `make`
    does before the tests) with its data, logs and import.report (written where it runs) in
    ``home``."""
    Neo4jServer.build()
    conf = home / "conf"
    conf.mkdir(parents=True)
    (conf / "neo4j.conf").write_text(
        f"server.directories.data={home / 'data'}\nserver.directories.logs={home / 'logs'}\n"
    )
    java = ["java", "-Xmx256m", "-cp", CLASSPATH.read_text().strip(), "org.neo4j.cli.AdminTool"]
    return subprocess.run(
        [*java, *arguments],
        env={**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(conf)},
        cwd=home,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_printed_command_imports_the_csv_folder_with_neo4j_admin(tmp_path):
    """neo4j-admin 5.19+ reads the database ahead of the named arguments, and a value holding
    a line break (an end reason, an undo's reason) needs --multiline-fields=true."""
    path = tmp_path / "idgraph.db"
    build_store_with_line_breaks(path)
    out = tmp_path / "csv"
    result = CliRunner().invoke(
        main,
        ["export", "--format", "csv", "--namespace", "shop", "--out", str(out)],
        env={"IDGRAPH_STORE": f"sqlite:///{path}"},
    )
    assert result.exit_code == 0, result.output
    rows = {name: read_csv(out / name, csv.DictReader) for name in CSV_FILES}
    reasons = {row["end_reason"] for row in rows["links.csv"]}
    assert {"wrong person\nticket 42", "not one person\r\nsee CRM"} <= reasons

    printed = result.stdout.splitlines()[-1]
    command = shlex.split(printed.removeprefix("import with: "))
    assert command[:4] == ["neo4j-admin", "database", "import", "full"], printed
    database = ["neo4j" if word == "<database>" else word for word in command[1:]]
    imported = neo4j_admin(database, tmp_path / "neo4j")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "IMPORT DONE" in imported.stdout
    nodes = len(rows["identifiers.csv"]) + len(rows["profiles.csv"])
    relationships = len(rows["member_of.csv"]) + len(rows["links.csv"])
    assert re.search(rf"^\s*{nodes} nodes$", imported.stdout, re.MULTILINE), imported.stdout
    assert re.search(rf"^\s*{relationships} relationships$", imported.stdout, re.MULTILINE)
    assert command[4] == "<database>"  # where 5.19+ reads it: ahead of the named arguments


# --- links written while the export reads ---------------------------------------------------


def link(store, ns: str, *pairs: str) -> None:
    requests = [LinkRequest([tuple(text.split(":", 1)) for text in pairs])]
    IdentityService(store).linking.link(ns, requests)


@pytest.fixture
def stores(store_settings):
    """A fresh store of each kind: a writer, and the export's reader opened read-only as
    `idgraph export` opens it."""
    settings = Settings(**store_settings)
    writer = open_store(settings.store, **settings.store_options)
    link(writer, "shop", "email:ann@x.io", "deviceId:a1")
    link(writer, "shop", "deviceId:a1", "browserId:b1")
    link(writer, "shop", "deviceId:z1", "deviceId:z2")
    reader = open_store(settings.store, read_only=True, **settings.store_options)
    yield writer, reader
    reader.close()
    writer.close()


def writing_links_once_identifiers_are_read(writer):
    """A progress callback that, as the export starts reading shop's links (it has read its
    identifiers), links two new identifiers, and a new one to one read already."""
    written = []

    def progress(step: Progress) -> None:
        if step.step == "shop links" and not written:
            link(writer, "shop", "deviceId:new1", "deviceId:new2")
            link(writer, "shop", "browserId:b1", "phone:+4791234567")
            written.append(step)

    return progress


def test_a_csv_export_holds_the_ends_of_links_written_while_it_reads(stores, tmp_path):
    writer, reader = stores
    out = tmp_path / "csv"
    written = export_csv(
        reader, ["shop"], out, progress=writing_links_once_identifiers_are_read(writer)
    )
    rows = {name: read_csv(out / name)[1:] for name in CSV_FILES}
    assert written == {name: len(rows[name]) for name in CSV_FILES}
    identifiers = {row[0] for row in rows["identifiers.csv"]}
    ends = {end for row in rows["links.csv"] for end in row[:2]}
    assert {"shop/deviceid:new1", "shop/deviceid:new2", "shop/phone:+4791234567"} <= ends
    assert ends <= identifiers  # else neo4j-admin: "referring to missing node"
    profiles = {row[0] for row in rows["profiles.csv"]}
    assert {row[1] for row in rows["member_of.csv"]} <= profiles
    assert len(rows["member_of.csv"]) == len(identifiers)  # every identifier is in a profile


def test_a_graphml_export_writes_every_node_with_its_data(stores, tmp_path):
    writer, reader = stores
    out = tmp_path / "graph.graphml"
    written = export_graphml(
        reader, ["shop"], out, progress=writing_links_once_identifiers_are_read(writer)
    )
    graph = nx.read_graphml(out, force_multigraph=True)
    bare = [node for node, data in graph.nodes(data=True) if not {"ns", "key", "type"} <= set(data)]
    assert bare == []
    assert {"shop/deviceid:new1", "shop/phone:+4791234567"} <= set(graph.nodes)
    assert written["nodes"] == graph.number_of_nodes() == 8
    assert written["edges"] == graph.number_of_edges() == 5
    assert graph.nodes["shop/deviceid:new2"]["value"] == "new2"


# --- an export stopped midway ---------------------------------------------------------------


@pytest.fixture(scope="module")
def big_store(tmp_path_factory) -> Path:
    """shop: 30,000 identifiers in 15,000 profiles, 15,000 links; writing its GraphML takes
    a second or more, longer than the kill of the test below takes to land."""
    path = tmp_path_factory.mktemp("export") / "idgraph.db"
    with SqliteStore(path) as store:
        linking = IdentityService(store).linking
        for start in range(0, 15_000, 1000):
            pairs = range(start, start + 1000)
            linking.link(
                "shop", [LinkRequest([("customId", f"c{n}"), ("deviceId", f"d{n}")]) for n in pairs]
            )
    return path


def contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def state(folder: Path) -> dict[str, tuple[int, int, int]]:
    """What changes as soon as a file of the folder is created, truncated or written."""
    found = {}
    for entry in os.scandir(folder):
        try:
            stat = entry.stat()
        except FileNotFoundError:  # renamed meanwhile
            continue
        found[entry.name] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return found


def earlier_export(store: Path, format_: str, out: Path) -> dict[str, bytes]:
    """An export of the store, whose files the next one replaces."""
    result = run_export(store, format_, out)
    assert result.returncode == 0, result.stderr
    return contents(out.parent if format_ == "graphml" else out)


def run_export(store: Path, format_: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        export_command(format_, out),
        env={**os.environ, "IDGRAPH_STORE": f"sqlite:///{store}"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def export_command(format_: str, out: Path) -> list[str]:
    return [IDGRAPH, "export", "--format", format_, "--namespace", "shop", "--out", str(out)]


def partial_files(folder: Path, kept: dict[str, bytes]) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name not in kept)


def full_pipe() -> tuple[int, int]:
    """A pipe whose buffer is full: a process writing to it waits until it is read."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        while True:
            os.write(write_end, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(write_end, True)  # the process's writes wait rather than fail
    return read_end, write_end


def test_a_csv_export_killed_midway_leaves_the_earlier_one_in_place(big_store, tmp_path):
    """The export's first progress bar waits on a full stderr pipe: it has opened what it
    writes, and written no row. kill -9 then, on every run."""
    out = tmp_path / "csv"
    kept = earlier_export(big_store, "csv", out)
    before = state(out)
    read_end, write_end = full_pipe()
    environment = {**os.environ, "IDGRAPH_STORE": f"sqlite:///{big_store}"}
    process = subprocess.Popen(
        export_command("csv", out), env=environment, stdout=subprocess.DEVNULL, stderr=write_end
    )
    os.close(write_end)
    try:
        deadline = time.monotonic() + 60
        while state(out) == before:  # it has begun to write
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
        os.close(read_end)
    assert {name: kept[name] for name in CSV_FILES} == {
        name: (out / name).read_bytes() for name in CSV_FILES
    }
    left = partial_files(out, kept)
    assert left and all(re.fullmatch(r"\.partial-\w+-\w+\.csv", name) for name in left), left


def test_a_graphml_export_killed_while_writing_leaves_the_earlier_one_in_place(big_store, tmp_path):
    """The kill lands as soon as the export touches the folder, within the second or more
    that writing the file takes."""
    out = tmp_path / "graphml" / "shop.graphml"
    out.parent.mkdir()
    kept = earlier_export(big_store, "graphml", out)
    before = state(out.parent)
    environment = {**os.environ, "IDGRAPH_STORE": f"sqlite:///{big_store}"}
    process = subprocess.Popen(
        export_command("graphml", out),
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while state(out.parent) == before:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.001)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert out.read_bytes() == kept[out.name]
    left = partial_files(out.parent, kept)
    assert all(re.fullmatch(r"\.partial-\w+-shop\.graphml", name) for name in left), left


class Interrupted(KeyboardInterrupt):
    pass


@pytest.mark.parametrize("format_", ["csv", "graphml"])
def test_an_export_interrupted_midway_leaves_the_earlier_one_and_no_partial_file(
    format_, big_store, tmp_path
):
    out = tmp_path / "out" / ("csv" if format_ == "csv" else "shop.graphml")
    kept = earlier_export(big_store, format_, out)
    folder = out if format_ == "csv" else out.parent

    def interrupt(step: Progress) -> None:
        if step.step == "shop links" and step.done:
            raise Interrupted

    export = export_csv if format_ == "csv" else export_graphml
    with SqliteStore(big_store, read_only=True) as store, pytest.raises(Interrupted):
        export(store, ["shop"], out, progress=interrupt)
    assert contents(folder) == kept
