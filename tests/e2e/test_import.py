"""`idgraph import` against the store the real server serves, on SQLite and on Neo4j: a file
imported gives the graph its lines posted in order to ``POST /v1/{ns}/links`` give, with
provenance naming the file and line; bad lines are reported; a killed import goes on where it
stopped, no line applied twice."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from graph.store.sqlite.store import SqliteStore

pytestmark = pytest.mark.e2e

IDGRAPH = str(Path(sys.executable).parent / "idgraph")


def item(*pairs: str, **attributes: Any) -> dict[str, Any]:
    identifiers = [dict(zip(("type", "value"), pair.split(":", 1), strict=True)) for pair in pairs]
    return {"identifiers": identifiers, "attributes": attributes}


# Two anonymous visitors, a login joining them (a merge), a second person, a shared browser
# (moved), refusals (a customer id of two people, two emails), a no-op and attributes.
ITEMS = [
    item("browserId:b1", "deviceId:u1"),
    item("browserId:b2", "deviceId:u2"),
    item("browserId:b1", "email:Ann@x.io", plan="gold"),
    item("browserId:b2", "email:ann@x.io"),
    item("browserId:b3", "email:bob@x.io"),
    item("email:ann@x.io", "customId:c1"),
    item("email:bob@x.io", "customId:c1"),
    item("browserId:b3", "email:ann@x.io"),
    item("email:bob@x.io", "deviceId:u9", city="Oslo"),
    item("email:ann@x.io", "email:carol@x.io"),
    item("browserId:b1", "deviceId:u1"),
    item("browserId:b4", "deviceId:u4"),
    item("deviceId:u4", "customId:c2", plan="silver"),
]
BAD = {4: "not json {", 11: json.dumps(item("email:not-an-email", "deviceId:u5"))}


def write_file(path: Path) -> dict[int, dict[str, Any]]:
    """ITEMS as JSON Lines with BAD lines among them; the good items by line number."""
    lines, good = [], {}
    items = iter(ITEMS)
    number = 0
    while len(good) < len(ITEMS):
        number += 1
        if number in BAD:
            lines.append(BAD[number])
        else:
            good[number] = next(items)
            lines.append(json.dumps(good[number]))
    path.write_text("\n".join(lines) + "\n")
    return good


def run_import(store: dict[str, str], *arguments: str, stdin: bytes | None = None):
    """``idgraph import`` into the store ``store`` names (IDGRAPH_STORE, Neo4j's user...)."""
    environment = {**os.environ, **store}
    return subprocess.run(
        [IDGRAPH, "import", *arguments], env=environment, input=stdin, capture_output=True,
        timeout=120,
    )  # fmt: skip


def counts(stdout: str) -> Counter[str]:
    """The table of outcomes the import prints."""
    table = re.findall(r"^  ([a-z ]+?)\s+([\d,]+)$", stdout, re.MULTILINE)
    return Counter({name: int(count.replace(",", "")) for name, count in table})


def graph_of(store, namespace: str) -> dict[str, Any]:
    """Everything a namespace holds, through the store contract, so that two namespaces
    written the same way compare equal. A profile is named by the least key it holds, and an
    absorbed one by its survivor's name: ids say in which order a process got its block of
    them (Neo4j hands each process its own), not what was decided."""
    identifiers = sorted(store.iter_identifiers(namespace))
    live = sorted({row[3] for row in identifiers if row[3] is not None})
    links = list(store.iter_links(namespace))

    def read(tx):
        views = tx.profile_views(namespace, live)
        conflicts = tx.conflicts(namespace, since=None, after_id=0, limit=1000)
        merges = tx.merges_of(namespace, live)
        return views, conflicts, merges

    views, conflicts, merges = store.read(read)
    name = {v.id: min(i.key for i in v.identifiers) for v in views}
    name.update({alias: name[v.id] for v in views for alias in v.aliases})
    return {
        "identifiers": [
            (key, type_, value, name.get(pid)) for key, type_, value, pid in identifiers
        ],
        "profiles": sorted(
            (
                name[v.id],
                v.recognized,
                sorted(i.key for i in v.identifiers),
                dict(v.attributes),
                len(v.aliases),
            )
            for v in views
        ),  # fmt: skip
        "links": sorted(
            (k["a_key"], k["b_key"], k["end_reason"] or "", k["merge_id"] is None) for k in links
        ),
        "conflicts": sorted(  # by content: their ids, hence order, come in blocks too
            (c.rule, [name[i] for i in c.profiles], [i.key for i in c.identifiers])
            for c in conflicts
        ),
        "merges": sorted((name[m.survivor], m.survivor_key, m.absorbed_key) for m in merges),
    }


@pytest.fixture(params=["sqlite", "neo4j"])
def served(request, start, tmp_path):
    """(the server, the environment naming its store, a store object on it), on SQLite or
    on Neo4j."""
    if request.param == "sqlite":
        environment = {"IDGRAPH_STORE": f"sqlite:///{tmp_path / 'e2e.db'}"}
        store = SqliteStore(tmp_path / "e2e.db")
    else:
        bolt = request.getfixturevalue("empty_bolt_server")
        environment = bolt.environment()
        store = bolt.open_store()
    yield start(**environment), environment, store
    store.close()


def test_a_file_imported_gives_the_graph_its_items_posted_in_order_give(served, tmp_path):
    server, store_env, store = served
    path = tmp_path / "crm-export.jsonl"
    good = write_file(path)

    done = run_import(store_env, "--namespace", "imported", "--chunk", "3", str(path))
    posted: list[str] = []
    numbers = sorted(good)
    for start in range(0, len(numbers), 4):  # batches cut elsewhere than the chunks
        batch = [good[n] for n in numbers[start : start + 4]]
        status, body = server.request("POST", "/v1/posted/links", {"items": batch})
        assert status == 200, body
        posted += [result["outcome"] for result in body["results"]]

    assert done.returncode == 1, done.stderr  # two bad lines
    stdout = done.stdout.decode()
    assert f"{len(good) + len(BAD)} lines imported from crm-export.jsonl" in stdout
    table = counts(stdout)
    assert {kind: table[kind] for kind in Counter(posted)} == Counter(posted)
    assert table["bad lines"] == 2 and table["already imported"] == 0
    assert "line 4: not JSON" in stdout
    assert "line 11: identifiers.0.value: not a valid email address" in stdout
    assert {"merged", "moved", "conflict", "noop", "linked", "created"} <= set(posted)

    imported, expected = graph_of(store, "imported"), graph_of(store, "posted")
    assert imported == expected
    # provenance: the file and the line of each link's item
    links = list(store.iter_links("imported"))
    assert {link["source"] for link in links} == {"crm-export.jsonl"}
    assert {link["operation"] for link in links} == {"import"}
    first = next(link for link in links if link["b_key"] == "email:ann@x.io")
    assert first["a_key"] == "browserId:b1" and first["item_index"] == 3
    status, profile = server.request("GET", "/v1/imported/identifiers/customId/c2")
    assert status == 200 and profile["attributes"] == {"plan": "silver"}


def test_the_same_file_again_changes_nothing_and_a_gzipped_stdin_reads_the_same(served, tmp_path):
    _, store_env, store = served
    path = tmp_path / "visits.jsonl"
    write_file(path)
    first = run_import(store_env, "--namespace", "shop", "--chunk", "5", str(path))
    before = graph_of(store, "shop")

    again = run_import(store_env, "--namespace", "shop", "--chunk", "5", str(path))
    table = counts(again.stdout.decode())
    assert table["already imported"] == len(ITEMS) and table["created"] == 0
    assert table["bad lines"] == 2  # still listed
    assert graph_of(store, "shop") == before

    piped = run_import(
        store_env, "--namespace", "piped", "--chunk", "5", "--source", "visits.jsonl", "-",
        stdin=gzip.compress(path.read_bytes()),
    )  # fmt: skip
    assert counts(piped.stdout.decode()) == counts(first.stdout.decode())
    assert graph_of(store, "piped") == before


def test_run_again_with_another_chunk_it_cuts_chunks_as_it_began_and_applies_no_line_twice(
    served, tmp_path
):
    """The markers follow the first run's chunks: a run that cut elsewhere would find none
    and apply every line again."""
    _, store_env, store = served
    path = tmp_path / "visits.jsonl"
    write_file(path)
    run_import(store_env, "--namespace", "shop", "--chunk", "5", str(path))
    before = graph_of(store, "shop")

    again = run_import(store_env, "--namespace", "shop", "--chunk", "3", str(path))
    assert b"going on with chunks of 5 lines, as this import began" in again.stderr
    assert counts(again.stdout.decode())["already imported"] == len(ITEMS)
    assert graph_of(store, "shop") == before


def test_a_run_that_goes_on_does_not_check_again_the_lines_applied_before(served, tmp_path):
    """The chunks an earlier run applied without a bad line are passed over unparsed (so a
    run that goes on reaches where the last one stopped at the speed of reading): a rule made
    since does not refuse their lines, they are already imported. A chunk that had bad lines
    is read again, and its bad lines are listed again."""
    _, store_env, store = served
    path = tmp_path / "visits.jsonl"
    write_file(path)  # chunks of 5: lines 1-5 (line 4 bad), 6-10, 11-15 (line 11 bad)
    run_import(store_env, "--namespace", "shop", "--chunk", "5", str(path))
    before = graph_of(store, "shop")
    rules = tmp_path / "rules.toml"
    rules.write_text('[namespaces.shop]\nblocked_values = ["bob@x.io"]\n')  # lines 6, 8, 10

    again = run_import({**store_env, "IDGRAPH_RULES": str(rules)}, "--namespace", "shop",
                       "--chunk", "5", str(path))  # fmt: skip
    table = counts(again.stdout.decode())
    assert table["already imported"] == len(ITEMS) and table["bad lines"] == 2, table
    assert re.findall(rb"line (\d+):", again.stdout) == [b"4", b"11"]
    assert graph_of(store, "shop") == before


def test_strict_stops_at_the_first_bad_line_and_dry_run_writes_nothing(served, tmp_path):
    _, store_env, store = served
    path = tmp_path / "visits.jsonl"
    write_file(path)

    dry = run_import(store_env, "--namespace", "shop", "--dry-run", str(path))
    assert dry.returncode == 1 and "line 4: not JSON" in dry.stdout.decode()
    assert list(store.iter_identifiers("shop")) == []

    strict = run_import(store_env, "--namespace", "shop", "--strict", "--chunk", "2", str(path))
    assert strict.returncode == 1
    assert "line 4: not JSON" in strict.stderr.decode()
    assert "lines up to 2 are applied" in strict.stderr.decode()
    keys = {row[0] for row in store.iter_identifiers("shop")}
    assert keys == {"browserId:b1", "deviceid:u1", "browserId:b2", "deviceid:u2"}


def test_a_bad_line_fixed_in_place_is_applied_alone_when_run_again(served, tmp_path):
    """The chunk of a bad line is applied without it; fixed, the line is applied on the next
    run, and the lines around it are not applied a second time: line 1's tier would be
    written again over line 3's."""
    server, store_env, store = served
    path = tmp_path / "fix.jsonl"
    lines = [
        item("customId:c1", "email:ann@x.io", tier="old"),
        item("customId:c2", "email:not-an-email"),
        item("customId:c1", "browserId:b1", tier="new"),
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    first = run_import(store_env, "--namespace", "shop", "--chunk", "2", str(path))
    assert first.returncode == 1 and counts(first.stdout.decode())["bad lines"] == 1

    path.write_text(path.read_text().replace("not-an-email", "bob@x.io"))
    fixed = run_import(store_env, "--namespace", "shop", "--chunk", "2", str(path))
    assert fixed.returncode == 0, fixed.stdout
    table = counts(fixed.stdout.decode())
    assert (table["created"], table["already imported"], table["bad lines"]) == (1, 2, 0), table
    status, ann = server.request("GET", "/v1/shop/identifiers/customId/c1")
    assert status == 200 and ann["attributes"] == {"tier": "new"}
    status, bob = server.request("GET", "/v1/shop/identifiers/email/bob@x.io")
    assert status == 200 and {i["value"] for i in bob["identifiers"]} == {"c2", "bob@x.io"}
    after = graph_of(store, "shop")

    again = run_import(store_env, "--namespace", "shop", "--chunk", "2", str(path))
    assert counts(again.stdout.decode())["already imported"] == 3
    assert graph_of(store, "shop") == after


def test_csv_columns_name_identifier_types_and_the_rest_are_attributes(served, tmp_path):
    server, store_env, _ = served
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer,email,city,tier\n"
        "c1,Ann@X.io,Oslo,gold\n"
        "c2,,Bergen,\n"
        'c3,"not an email",Tromsø,\n'
        'c4,dave@x.io,"Ski,\nNorway",bronze\n'
        f"c5,eve@x.io,{'z' * 200_000},\n"  # over csv's own limit, read, too long an attribute
    )
    done = run_import(
        store_env, "--namespace", "crm", "--column", "customer=customId", "--column", "email=email",
        str(path),
    )  # fmt: skip
    stdout = done.stdout.decode()
    assert done.returncode == 1, stdout
    assert counts(stdout)["created"] == 3 and counts(stdout)["bad lines"] == 2
    assert "line 4: identifiers.1.value: not a valid email address" in stdout
    assert "line 7: attributes.city: longer than 65536 characters" in stdout
    status, ann = server.request("GET", "/v1/crm/identifiers/email/ann@x.io")
    assert status == 200 and ann["attributes"] == {"city": "Oslo", "tier": "gold"}
    assert {i["value"] for i in ann["identifiers"]} == {"c1", "ann@x.io"}
    status, c2 = server.request("GET", "/v1/crm/identifiers/customId/c2")
    assert status == 200 and c2["attributes"] == {"city": "Bergen"}
    status, dave = server.request("GET", "/v1/crm/identifiers/customId/c4")
    assert dave["attributes"] == {"city": "Ski,\nNorway", "tier": "bronze"}

    missing = run_import(store_env, "--namespace", "crm", "--column", "mail=email", str(path))
    assert missing.returncode == 2 and b"mail" in missing.stderr


def test_a_killed_import_goes_on_where_it_stopped_and_applies_no_line_twice(tmp_path):
    path = tmp_path / "visits.jsonl"
    lines = [
        item(f"browserId:b{n}", f"deviceId:u{n}", f"email:p{n % 700}@x.io") for n in range(15_000)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    whole = {"IDGRAPH_STORE": f"sqlite:///{tmp_path / 'whole.db'}"}
    reference = counts(run_import(whole, "--namespace", "shop", str(path)).stdout.decode())

    killed = tmp_path / "killed.db"
    environment = {"IDGRAPH_STORE": f"sqlite:///{killed}"}
    process = subprocess.Popen(
        [IDGRAPH, "import", "--namespace", "shop", "--chunk", "100", str(path)],
        env={**os.environ, **environment}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (reading_ahead := _children(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.005)  # the process reading the file a chunk ahead
    while not _holds_identifiers(killed) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(map(_running, reading_ahead)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reading_ahead and not any(map(_running, reading_ahead))  # it ends with the command

    resumed = run_import(environment, "--namespace", "shop", "--chunk", "100", str(path))
    table = counts(resumed.stdout.decode())
    assert resumed.returncode == 0, resumed.stderr
    assert 0 < table["already imported"] < len(lines)  # it was killed midway
    applied_now = sum(table[kind] for kind in ("created", "linked", "merged", "moved", "noop"))
    assert table["already imported"] + applied_now + table["conflict"] == len(lines)
    with SqliteStore(killed) as store, SqliteStore(tmp_path / "whole.db") as reference_store:
        assert graph_of(store, "shop") == graph_of(reference_store, "shop")
    assert reference["noop"] == 0 and table["noop"] == 0  # a line applied twice is a noop


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in children.split()]


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's parent may never reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _holds_identifiers(path: Path) -> bool:
    if not path.exists():
        return False
    with SqliteStore(path) as store:
        return next(store.iter_identifiers("shop"), None) is not None


def test_a_truncated_gzip_stops_with_a_message_keeping_the_chunks_before(tmp_path):
    lines = [item(f"browserId:b{n}", f"deviceId:u{n}") for n in range(3000)]
    whole = gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode())
    path = tmp_path / "visits.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    store = {"IDGRAPH_STORE": f"sqlite:///{tmp_path / 'store.db'}"}

    cut = run_import(store, "--namespace", "shop", "--chunk", "100", str(path))
    assert cut.returncode == 2
    assert b"visits.jsonl.gz failed: Compressed file ended" in cut.stderr
    with SqliteStore(tmp_path / "store.db") as kept:
        identifiers = sum(1 for _ in kept.iter_identifiers("shop"))
    assert identifiers > 0 and identifiers % 200 == 0  # whole chunks of 100 lines, 2 each
