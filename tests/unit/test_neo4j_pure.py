"""The Neo4j store's parts that need no server: statement files, the schema, encoding."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Mapping

import pytest

from graph.errors import StoreError
from graph.model import Attribute, Sequences
from graph.store.cypher import CYPHER_DIR, Statement, load_statements
from graph.store.neo4j.ids import BLOCK, IdBlocks, Lease
from graph.store.neo4j.purge import size_in_bytes
from graph.store.neo4j.schema import split_script
from graph.store.neo4j.store import ALL_STATEMENTS, Neo4jStore
from graph.store.neo4j.tx import attributes_of, neo4j_rows
from graph.store.rows import attribute_map


def test_every_statement_the_store_runs_is_a_file_declaring_its_parameters():
    statements = load_statements(CYPHER_DIR / "store", ALL_STATEMENTS)
    assert statements["profile_of"].params == {"ns", "key"}
    assert statements["reserve_ids"].params == {"ns", "rows"}


def test_a_missing_statement_file_fails_start_up_before_any_connection(tmp_path):
    shutil.copytree(CYPHER_DIR, tmp_path / "cypher")
    (tmp_path / "cypher" / "store" / "end_links.cypher").unlink()
    with pytest.raises(StoreError, match="missing Cypher statements .*end_links"):
        # port 9 (discard) has no Bolt server: the error must come from the files first
        Neo4jStore("bolt://127.0.0.1:9", cypher_dir=tmp_path / "cypher")


def test_a_call_with_other_parameters_than_declared_is_refused():
    statement = Statement.parse("find", "// params: $ns, $key\nMATCH (i {ns: $ns, key: $key})")
    assert statement.bind({"ns": "a", "key": "k"}) == {"ns": "a", "key": "k"}
    with pytest.raises(StoreError, match=r"declares \['key', 'ns'\], called with \['kee', 'ns'\]"):
        statement.bind({"ns": "a", "kee": "k"})


def test_a_url_that_is_not_neo4j_is_refused():
    with pytest.raises(StoreError, match="not a Neo4j store URL"):
        Neo4jStore("http://localhost:7474")


def test_the_schema_script_splits_into_statements_without_comments():
    statements = split_script((CYPHER_DIR / "schema.cypher").read_text())
    assert statements[0].startswith("CREATE CONSTRAINT identifier_key")
    assert all(";" not in s and "//" not in s for s in statements)
    # namespaces make their own sequences: the schema seeds only the store-wide one
    assert [s for s in statements if s.startswith("MERGE (s:Sequence")] == [
        "MERGE (s:Sequence {ns: '', name: 'api_key'}) ON CREATE SET s.next = 1"
    ]


def test_attributes_round_trip_through_their_json_property():
    attributes = {"city": Attribute("Oslo", "email:a@x.io", "2026-01-01T00:00:00Z", "r1"),
                  "vip": Attribute(True, None, "2026-01-02T00:00:00Z", "r2")}  # fmt: skip
    [row] = neo4j_rows([{"id": 1, "attributes": attribute_map(attributes), "ids": [1, 2]}])
    assert isinstance(row["attributes"], str) and row["ids"] == [1, 2]  # lists stay lists
    assert attributes_of(row["attributes"]) == attributes
    assert attributes_of(None) == {}


@pytest.mark.parametrize(
    ("shown", "size"),
    [
        pytest.param("128.00KiB", 128 * 1024, id="the-smallest-rotation-size"),
        pytest.param("256.00MiB", 256 * 1024**2, id="neo4j-default"),
        pytest.param("195.32KiB", 200008, id="rounded-up"),
        pytest.param("1.00GiB", 1024**3, id="gib"),
        pytest.param("512B", 512, id="bytes"),
        pytest.param("a lot", None, id="not-a-size"),
    ],
)
def test_a_setting_s_byte_size_reads_as_neo4j_shows_it(shown, size):
    assert size_in_bytes(shown) == size


def test_writers_whose_id_fetches_overlap_both_get_windows_that_do_not_overlap():
    """A write short of one kind fetches a block outside the lock; while it waits, a second
    write fetches too and takes most of what the first saw. Both must get their windows (this
    once hung: the first re-entered its own lock) and no id may be handed out twice."""
    sequences: dict[str, int] = {}
    first_is_fetching, second_is_done = threading.Event(), threading.Event()

    def reserve(namespace: str, counts: Mapping[str, int]) -> dict[str, int]:  # reserve_ids
        if threading.current_thread().name == "first":
            first_is_fetching.set()
            second_is_done.wait(5)
        fetched = {kind: sequences.get(kind, 1) for kind in counts}
        sequences.update({kind: fetched[kind] + count for kind, count in counts.items()})
        return fetched

    blocks = IdBlocks(reserve)
    opening = blocks.lease("ns", BLOCK)
    used = {kind: opening.first[kind] + BLOCK - 50 for kind in Sequences.__dataclass_fields__}
    used["profile"] = opening.first["profile"] + BLOCK  # every profile id used, 50 of the rest
    blocks.settle(opening, Sequences(**used))
    leases: dict[str, Lease] = {}

    def lease(name: str, size: int) -> None:
        leases[name] = blocks.lease("ns", size)

    first = threading.Thread(target=lease, args=("first", 20), name="first", daemon=True)
    first.start()
    assert first_is_fetching.wait(5)
    second = threading.Thread(target=lease, args=("second", 40), name="second", daemon=True)
    second.start()
    second.join(5)
    second_is_done.set()
    first.join(5)
    assert not first.is_alive() and not second.is_alive(), "a lease hung"
    links = [range(opening.first["link"], used["link"])]  # what the opening write kept
    links += [range(held.first["link"], held.first["link"] + held.size) for held in leases.values()]
    assert all(not set(a) & set(b) for i, a in enumerate(links) for b in links[i + 1 :])
