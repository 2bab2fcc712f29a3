"""`idgraph migrate` and `idgraph export` on real stores: a SQLite store written through the
API (two namespaces, merges and a merge chain, a replaced email, a moved browser, attributes,
conflicts, an idempotent request, an explicit Synerise merge, an undone merge, bans), copied
into the Bolt server of tests/conftest.py and read back through the store protocol on both
sides, its history (time travel, lineage, undo) included."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
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
from graph.keys import ApiKeys
from graph.store.cypher import CYPHER_DIR, Statement
from graph.store.sqlite.copy import TABLES
from graph.store.sqlite.store import SqliteStore
from graph.transfer.migrate import OTHER_LABELS, Progress, TargetNotEmpty, held_data, migrate
from graph.transfer.verify import verify

IDGRAPH = str(Path(sys.executable).parent / "idgraph")
CHECKPOINT = Statement.read(CYPHER_DIR / "migrate" / "checkpoint.cypher")
CHECKPOINTS = Statement.read(CYPHER_DIR / "migrate" / "checkpoints.cypher")
DELETE_IDENTIFIER = Statement.read(CYPHER_DIR / "testing" / "delete_identifier.cypher")
ERASE_EVERYTHING = Statement.read(CYPHER_DIR / "testing" / "erase_everything.cypher")
NAMESPACES = ("bulk", "crm", "shop")
RULES = '[namespaces.crm]\non_conflict = { email = "replace" }\n'


def migrate_file(path: Path, target, **options) -> None:
    """`idgraph migrate`'s copy from the SQLite file at ``path``, opened read-only."""
    with SqliteStore(path, read_only=True) as source:
        migrate(source, target, **options)


def verify_file(path: Path, target, **options):
    with SqliteStore(path, read_only=True) as source:
        return verify(source, target, **options)


def item(*identifiers: str, **attributes) -> dict:
    """``item("email:a@x.io", "deviceId:d1", city="Oslo")``: one item of a native batch."""
    pairs = [dict(zip(("type", "value"), text.split(":", 1), strict=True)) for text in identifiers]
    return {"identifiers": pairs, **({"attributes": attributes} if attributes else {})}


class Client:
    """The native API of an app over one store."""

    def __init__(self, **settings: str) -> None:
        self.app = create_app(Settings(**settings))
        self.http = self.app.test_client()
        self.store = self.app.extensions["idgraph.service"].store

    def link(self, ns: str, *items: dict, **body) -> list[dict]:
        response = self.http.post(f"/v1/{ns}/links", json={"items": list(items), **body})
        assert response.status_code == 200, response.json
        return response.json["results"]

    def outcomes(self, ns: str, *items: dict) -> list[str]:
        return [result["outcome"] for result in self.link(ns, *items)]


def build_source(path: Path, rules: Path) -> None:
    api = Client(store=f"sqlite:///{path}", rules=str(rules))
    browsers = [f"browserId:b{n}" for n in range(1, 6)]
    ann = api.link("shop", item("email:ann@x.io", *browsers, firstName="Ann", age=41))
    assert api.outcomes(
        "shop", item("deviceId:d1", "deviceId:d2"), item("deviceId:d3", "deviceId:d4")
    ) == ["created", "created"]
    chain = api.outcomes(
        "shop", item("deviceId:d2", "deviceId:d3"), item("deviceId:d4", "browserId:b1")
    )
    assert chain == ["merged", "merged"]  # d3's profile into d1's, then that into ann's
    bob = item("email:bob@x.io", "deviceId:d9")
    api.link("shop", bob, request_id="req-1")
    replay = api.http.post("/v1/shop/links", json={"items": [bob], "request_id": "req-1"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert api.outcomes("shop", item("deviceId:d9", "deviceId:d1")) == ["conflict"]
    assert api.outcomes("shop", item("email:bob@x.io", "browserId:b5")) == ["moved"]
    patch = {"city": "Oslo", "tags": ["a", "ü"], "firstName": None}
    profile = f"/v1/shop/profiles/{ann[0]['profile_id']}/attributes"
    assert api.http.patch(profile, json=patch).status_code == 200
    api.link("crm", item("customId:c1", "email:old@x.io", plan="gold"))
    assert api.outcomes("crm", item("customId:c1", "email:new@x.io")) == ["linked"]  # replaced
    api.link("crm", item("customId:lue42", "deviceId:x1"), item("customId:tla114", "deviceId:x2"))
    merge = "/v4/clients/merge/from/custom-ids/lue42/to/custom-id/tla114"
    assert api.http.post(merge, headers={"X-Idgraph-Namespace": "crm"}).status_code == 202
    assert api.outcomes("crm", item("customId:c1", "customId:c2")) == ["conflict"]
    api.link("bulk", *[item(f"deviceId:k{n}", f"browserId:z{n}") for n in range(100)])
    undo_a_merge_and_ban(api)
    api.store.close()


def undo_a_merge_and_ban(api: Client) -> None:
    """A merge undone (the merge marked, the absorbed profile live again, its sides banned
    from joining) and a ban of an identifier against a type."""
    (gold,) = api.link("shop", item("deviceId:u1", "deviceId:u2", plan="gold"))
    api.link(
        "shop", item("deviceId:u3", "deviceId:u4", city="Rome"), item("deviceId:u3", "deviceId:u5")
    )
    assert api.outcomes("shop", item("deviceId:u1", "deviceId:u3")) == ["merged"]
    (merge,) = api.store.read(lambda tx: tx.merges_of("shop", [gold["profile_id"]]))
    undone = api.http.post(f"/v1/shop/merges/{merge.id}/undo", json={"reason": "not one person"})
    assert undone.status_code == 200, undone.json
    ban = {"a": {"type": "email", "value": "bob@x.io"}, "b_type": "phone", "reason": "shared"}
    assert api.http.post("/v1/shop/bans", json=ban).status_code == 201


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "rules.toml"
    path.write_text(RULES)
    return path


@pytest.fixture(scope="module")
def source_db(tmp_path_factory, rules) -> Path:
    path = tmp_path_factory.mktemp("source") / "idgraph.db"
    build_source(path, rules)
    return path


@pytest.fixture
def source(source_db, tmp_path) -> Path:
    """A private copy of the source store: a test may write to it."""
    path = tmp_path / "source.db"
    with sqlite3.connect(source_db) as origin, sqlite3.connect(path) as copy:
        origin.backup(copy)
    return path


@pytest.fixture
def target(empty_bolt_server):
    store = empty_bolt_server.open_store()
    yield store
    store.close()


@pytest.fixture
def sqlite_source(source):
    store = SqliteStore(source)
    yield store
    store.close()


def everything(store) -> dict:
    """What the store protocol reads of every namespace: profile views, identifiers, links
    (ended ones too), conflicts, an idempotent request, and its history."""

    def read(tx, ns):
        return {
            "views": tx.list_profiles(ns, limit=10_000),
            "conflicts": tx.conflicts(ns, since=None, after_id=0, limit=10_000),
            "request": tx.find_request(ns, "req-1"),
        }

    return {
        ns: {
            **store.read(lambda tx, ns=ns: read(tx, ns)),
            "identifiers": list(store.iter_identifiers(ns)),
            "links": list(store.iter_links(ns)),
            "history": history(store, ns),
        }
        for ns in NAMESPACES
    }


def history(store, ns: str) -> dict:
    """What time travel, lineage and undo read: every profile (live or absorbed) with its
    merges, its members and attribute values at every instant a link was made or ended, the
    attribute writes in order, and the bans."""
    links = list(store.iter_links(ns))
    made_or_ended = {at for link in links for at in (link["created_at"], link["ended_at"]) if at}
    instants = [*sorted(made_or_ended), "9999"]

    def read(tx):
        ids = range(1, tx.load_state(ns, []).sequences.profile)
        profiles = {pid: record for pid in ids if (record := tx.profile_record(ns, pid))}
        keys = [key for key, *_ in store.iter_identifiers(ns)]
        return {
            "profiles": profiles,
            "merges": tx.merges_of(ns, list(profiles)),
            "members": {
                (pid, when): tx.members_page(ns, pid, as_of=when, after_key="", limit=10_000)
                for pid in profiles
                for when in instants
            },
            "attributes": {
                (pid, when): tx.attributes_at(ns, pid, when)
                for pid in profiles
                for when in instants
            },
            "writes": tx.attribute_history(ns, keys, list(profiles)),
            "bans": tx.bans(ns, limit=10_000),
        }

    return store.read(read)


def test_the_copy_reads_back_exactly_as_the_source(source, sqlite_source, target):
    migrate_file(source, target)
    expected, copied = everything(sqlite_source), everything(target)
    assert copied == expected
    shop = expected["shop"]
    assert any(view.aliases for view in shop["views"]) and shop["conflicts"]
    assert shop["request"] is not None
    ended = {link["end_reason"] for ns in NAMESPACES for link in expected[ns]["links"]}
    assert {"replaced", "moved", "merged", "not one person"} <= ended
    undone = [m for m in shop["history"]["merges"] if m.undone_at]
    assert len(undone) == 1 and undone[0].survivor_key and undone[0].absorbed_key
    assert len(shop["history"]["bans"]) == 2 and any(shop["history"]["attributes"].values())
    assert verify_file(source, target).ok


def test_idgraph_goes_on_on_the_copy_where_sqlite_left_off(
    source, rules, target, empty_bolt_server
):
    migrate_file(source, target)
    server = empty_bolt_server
    on_sqlite = Client(store=f"sqlite:///{source}", rules=str(rules))
    on_neo4j = Client(
        rules=str(rules),
        store=server.uri,
        neo4j_user=server.user,
        neo4j_password=server.password,
        neo4j_database=server.database,
    )
    both = (on_sqlite, on_neo4j)
    try:
        replayed = [
            api.link("shop", item("email:bob@x.io", "deviceId:d9"), request_id="req-1")
            for api in both
        ]
        assert replayed[0] == replayed[1]
        for ns, batch, outcome in [
            ("shop", item("deviceId:fresh1", "deviceId:fresh2"), "created"),  # the next id
            ("bulk", item("deviceId:k1", "deviceId:k2"), "merged"),  # two migrated profiles
            ("crm", item("customId:c1", "email:newest@x.io"), "linked"),  # replaced again
            ("crm", item("customId:c1", "customId:c3"), "conflict"),  # the next conflict id
            ("shop", item("deviceId:u1", "deviceId:u3"), "conflict"),  # banned by the undo
            ("shop", item("email:bob@x.io", "phone:+4791234567"), "conflict"),  # banned
        ]:
            answers = [api.link(ns, batch) for api in both]
            assert answers[0] == answers[1] and answers[0][0]["outcome"] == outcome
        assert _profiles(on_sqlite.store) == _profiles(on_neo4j.store)
        assert _conflicts(on_sqlite.store) == _conflicts(on_neo4j.store)
    finally:
        on_sqlite.store.close()
        on_neo4j.store.close()


def _conflicts(store) -> list[tuple]:
    """Every conflict without its time and request id (each app made its own). Both stores
    number each namespace's conflicts apart, Neo4j from where SQLite stood: the same ids."""
    pages = store.read(
        lambda tx: [tx.conflicts(ns, since=None, after_id=0, limit=1000) for ns in NAMESPACES]
    )
    return [(c.id, c.item_index, c.rule, c.profiles, c.identifiers) for p in pages for c in p]


def _profiles(store) -> list[tuple]:
    """Every live profile without its times (the two apps wrote at different moments)."""
    views = store.read(lambda tx: [tx.list_profiles(ns, limit=10_000) for ns in NAMESPACES])
    return [
        (v.id, v.recognized, v.identifiers, dict(v.attributes), v.aliases)
        for page in views
        for v in page
    ]


class Interrupted(Exception):
    pass


def test_an_interrupted_migration_resumes_and_duplicates_nothing(source, sqlite_source, target):
    def crash_in_links(progress: Progress) -> None:
        if progress.table == "links" and progress.done >= 9:
            raise Interrupted

    with pytest.raises(Interrupted):
        migrate_file(source, target, batch=3, progress=crash_in_links)
    rows = target.run(CHECKPOINTS, source=str(source.resolve()))
    checkpoints = {row["table"]: row["after"] for row in rows}
    # links are copied by (namespace, id): bulk's 100 first
    assert json.loads(checkpoints["links"]) == ["bulk", 9] and checkpoints["merges"] is None
    assert not verify_file(source, target).ok

    resumed: list[Progress] = []
    migrate_file(source, target, batch=3, progress=resumed.append)
    profiles = [p for p in resumed if p.table == "profiles"]
    assert profiles == [Progress("profiles", profiles[0].total, profiles[0].total)]  # copied
    assert [p.done for p in resumed if p.table == "links"][:2] == [9, 12]  # after the checkpoint
    result = verify_file(source, target)
    assert result.ok, result.differences
    assert everything(target) == everything(sqlite_source)


def test_a_page_copied_again_is_copied_once(source, sqlite_source, target):
    """A crash between a page's commit and its checkpoint's: the page is written again."""
    migrate_file(source, target)
    for table in TABLES:
        target.run(
            CHECKPOINT, write=True, source=str(source.resolve()), table=table.name, after=None
        )
    migrate_file(source, target, batch=7)
    result = verify_file(source, target)
    assert result.ok, result.differences
    assert everything(target) == everything(sqlite_source)


def test_a_checkpoint_from_before_ids_per_namespace_copies_its_table_again(
    source, sqlite_source, target
):
    """A migration interrupted before its source was upgraded to schema 5 checkpointed links
    by id alone; they are keyed by (namespace, id) now, so they are copied again from the
    first, and nothing twice."""
    migrate_file(source, target)
    old = {"source": str(source.resolve()), "table": "links", "after": json.dumps([9])}
    target.run(CHECKPOINT, write=True, **old)
    resumed: list[Progress] = []
    migrate_file(source, target, batch=7, progress=resumed.append)
    assert [p.done for p in resumed if p.table == "links"][:2] == [0, 7]
    result = verify_file(source, target)
    assert result.ok, result.differences
    assert everything(target) == everything(sqlite_source)


def test_a_killed_migration_resumes_where_its_checkpoint_stands(
    source, sqlite_source, target, empty_bolt_server, tmp_path
):
    environment = {**os.environ, **empty_bolt_server.environment()}
    command = [IDGRAPH, "migrate", "--to", empty_bolt_server.uri, "--from", f"sqlite:///{source}"]
    log = tmp_path / "killed.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--batch", "1"], env=environment, stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + 30
        while not _checkpoint(target, source, "identifiers"):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert not verify_file(source, target).ok  # stopped midway through the identifiers
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verified: the copy matches its source" in result.stdout
    assert everything(target) == everything(sqlite_source)


def _checkpoint(store, source: Path, table: str) -> str | None:
    rows = store.run(CHECKPOINTS, source=str(source.resolve()))
    return next((row["after"] for row in rows if row["table"] == table), None)


def idgraph(*args: str, env: dict[str, str]):
    return CliRunner().invoke(main, list(args), env=env)


def test_verify_only_exits_1_naming_what_the_copy_lacks(
    source, sqlite_source, target, empty_bolt_server
):
    migrate_file(source, target)
    identifiers = len(list(sqlite_source.iter_identifiers("shop")))
    target.run(DELETE_IDENTIFIER, write=True, ns="shop", key="deviceid:d9")  # names fold
    arguments = ["--to", empty_bolt_server.uri, "--from", f"sqlite:///{source}"]
    result = idgraph("migrate", *arguments, "--verify-only", env=empty_bolt_server.environment())
    assert result.exit_code == 1, result.output
    lacking = f"shop: identifiers: {identifiers} in SQLite, {identifiers - 1} in Neo4j"
    assert lacking in result.output and "differences:" in result.output


def test_a_target_holding_other_data_is_refused(source, tmp_path, target, empty_bolt_server):
    server = empty_bolt_server
    settings = {"store": server.uri, "neo4j_user": server.user, "neo4j_database": server.database}
    api = Client(**settings, neo4j_password=server.password)
    api.link("shop", item("deviceId:d1", "deviceId:d2"))
    api.store.close()
    with pytest.raises(TargetNotEmpty, match=r"no migration wrote \(.*Identifier: 2.*Profile: 1"):
        migrate_file(source, target)
    target.run(ERASE_EVERYTHING, write=True)
    target.initialize()
    migrate_file(source, target)
    other = tmp_path / "other.db"
    SqliteStore(other).close()
    with pytest.raises(TargetNotEmpty, match="holds a migration from"):
        migrate_file(other, target)


FOREIGN_NODE = Statement.parse("foreign_node", "CREATE (:Customer {name: 'kept'})")


def a_key_made_there(server) -> None:
    made = idgraph(
        "keys", "create", "--namespace", "shop", "--name", "neo-prepared", "--rights", "read",
        env=server.environment(),
    )  # fmt: skip
    assert made.exit_code == 0, made.output


def a_purged_profile(server) -> None:
    """All that stays of a person erased there: the audit log's row (ids of its own)."""
    api = Client(
        store=server.uri,
        neo4j_user=server.user,
        neo4j_password=server.password,
        neo4j_database=server.database,
    )
    try:
        (made,) = api.link("shop", item("deviceId:d1", "deviceId:d2"))
        assert api.http.delete(f"/v1/shop/profiles/{made['profile_id']}").status_code == 200
    finally:
        api.store.close()


def another_applications_node(server) -> None:
    store = server.open_store()
    try:
        store.run(FOREIGN_NODE, write=True)
    finally:
        store.close()


@pytest.mark.parametrize(
    "prepare, held",
    [
        pytest.param(a_key_made_there, "ApiKey: 1", id="an-api-key"),
        pytest.param(a_purged_profile, "Purge: 1", id="only-a-purge"),
        pytest.param(another_applications_node, "nodes of no idgraph label: 1", id="foreign"),
    ],
)
def test_a_target_holding_any_data_is_refused_and_left_as_it_was(
    prepare, held, source, target, empty_bolt_server
):
    """Every row is copied by MERGE on its id: the source's key 1 would overwrite a key 1 made
    on the target, its purge 1 the target's purge 1."""
    on_sqlite = SqliteStore(source)
    try:
        ring = ApiKeys(on_sqlite)
        ring.create("shop", ["read"], "crm-sync")
        ring.create("shop", ["read", "write"], "old")
    finally:
        on_sqlite.close()
    prepare(empty_bolt_server)
    before = everything(target), ApiKeys(target).list(None)
    arguments = ["--to", empty_bolt_server.uri, "--from", f"sqlite:///{source}"]
    result = idgraph("migrate", *arguments, env=empty_bolt_server.environment())
    assert result.exit_code == 2, result.output
    assert f"already holds data that no migration wrote ({held})" in result.output
    assert "migrate into an empty database" in result.output
    assert (everything(target), ApiKeys(target).list(None)) == before
    assert not target.run(CHECKPOINTS, source=str(source.resolve()))  # nothing claimed


@pytest.mark.parametrize(
    "nodes, labels, held",
    [
        pytest.param(3, {"SchemaStep": 2, "Sequence": 1, "Purge": 0}, {}, id="fresh-store"),
        pytest.param(
            9, {"SchemaStep": 2, "Sequence": 3, "Migration": 4}, {}, id="a-migration-begun"
        ),
        pytest.param(
            6,
            {"SchemaStep": 2, "Sequence": 1, "Purge": 1, "ApiKey": 1},
            {"ApiKey": 1, "Purge": 1, OTHER_LABELS: 1},
            id="keys+purges+a-foreign-node",
        ),
    ],
)
def test_what_a_target_holds_leaves_out_bookkeeping(nodes, labels, held):
    assert held_data(nodes, labels) == held


def export(store_environment: dict[str, str], format_: str, out: Path) -> str:
    arguments = ["--format", format_, "--namespace", "shop", "--namespace", "crm"]
    result = idgraph("export", *arguments, "--out", str(out), env=store_environment)
    assert result.exit_code == 0, result.output
    return result.output


def test_graphml_export_reads_back_with_networkx(source, sqlite_source, tmp_path):
    out = tmp_path / "graph.graphml"
    export({"IDGRAPH_STORE": f"sqlite:///{source}"}, "graphml", out)
    graph = nx.read_graphml(out, force_multigraph=True)
    identifiers = [i for ns in ("shop", "crm") for i in sqlite_source.iter_identifiers(ns)]
    links = [link for ns in ("shop", "crm") for link in sqlite_source.iter_links(ns)]
    assert (graph.number_of_nodes(), graph.number_of_edges()) == (len(identifiers), len(links))
    ann = graph.nodes["shop/email:ann@x.io"]
    assert (ann["type"], ann["value"], ann["ns"]) == ("email", "ann@x.io", "shop")
    assert "profile_id" not in graph.nodes["crm/email:old@x.io"]  # replaced: in no profile
    ended = [data for _, _, data in graph.edges(data=True) if "ended_at" in data]
    assert {data["end_reason"] for data in ended} >= {"replaced", "moved", "merged"}
    assert all(data["request_id"] and data["created_at"] for _, _, data in graph.edges(data=True))


def test_csv_export_is_what_neo4j_admin_imports(source, sqlite_source, tmp_path):
    out = tmp_path / "csv"
    output = export({"IDGRAPH_STORE": f"sqlite:///{source}"}, "csv", out)
    assert "neo4j-admin database import full" in output
    files = {path.name: list(csv.reader(path.open())) for path in out.iterdir()}
    assert set(files) == {"identifiers.csv", "profiles.csv", "member_of.csv", "links.csv"}
    assert files["identifiers.csv"][0][0] == "ns_key:ID(Identifier)"
    assert "profile_id:long" in files["identifiers.csv"][0]
    assert files["links.csv"][0][:2] == [":START_ID(Identifier)", ":END_ID(Identifier)"]
    assert files["member_of.csv"][0] == [":START_ID(Identifier)", ":END_ID(Profile)", ":TYPE"]
    identifiers = [i for ns in ("shop", "crm") for i in sqlite_source.iter_identifiers(ns)]
    links = [link for ns in ("shop", "crm") for link in sqlite_source.iter_links(ns)]
    live = sqlite_source.read(
        lambda tx: [v for ns in ("shop", "crm") for v in tx.list_profiles(ns, limit=10_000)]
    )
    rows = {name: len(content) - 1 for name, content in files.items()}
    assert rows == {
        "identifiers.csv": len(identifiers),
        "member_of.csv": len([i for i in identifiers if i[3] is not None]),
        "links.csv": len(links),
        "profiles.csv": len(live),
    }
    ids = [row[0] for row in files["identifiers.csv"][1:]]
    assert len(set(ids)) == len(ids) and "crm/customId:c1" in ids


def test_exports_of_the_sqlite_store_and_of_its_neo4j_copy_are_the_same(
    source, target, empty_bolt_server, tmp_path
):
    migrate_file(source, target)
    for format_, name in (("csv", "csv"), ("graphml", "graph.graphml")):
        export({"IDGRAPH_STORE": f"sqlite:///{source}"}, format_, tmp_path / "a" / name)
        export(empty_bolt_server.environment(), format_, tmp_path / "b" / name)
    for path in sorted((tmp_path / "a").rglob("*.*")):
        assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes()


def test_api_keys_work_on_the_copy(source, target):
    """A key made on SQLite authenticates on the Neo4j copy, a revoked one stays revoked, and
    the next key made there gets the next id."""
    on_sqlite = SqliteStore(source)
    try:
        ring = ApiKeys(on_sqlite)
        kept, kept_text = ring.create("shop", ["read"], "crm-sync")
        gone, gone_text = ring.create("shop", ["read", "write"], "old")
        ring.revoke(gone.id)
    finally:
        on_sqlite.close()
    migrate_file(source, target)
    assert verify_file(source, target).differences == ()
    copied = ApiKeys(target)
    assert copied.authenticate(kept_text) == kept
    assert copied.authenticate(gone_text) is None
    assert copied.create("shop", ["read"])[0].id == gone.id + 1
