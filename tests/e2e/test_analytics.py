"""`idgraph cypher` and every query of cypher/analytics/, against the Neo4j of tests/conftest.py
(NEO4J_URI's, or the one started for the session) holding a small graph written through the
service, with a rules file and a clock the test sets.

The graph, namespace ``shop`` (customIds are not unique there, emails are replaced):
- kiosk: browser ``kiosk-1`` linked to customIds c1, c2, c3 in one profile;
- roamer: browser ``roamer`` seen with ext:crm u1, then u2, then u3: it moved twice;
- a merge chain A -> B -> C -> D of 3 hops, D the largest profile (23 cookies);
- emails: E's ann@old.io replaced by ann@new.io, then E's browser ``eb`` moved to F (fay);
  G's email replaced twice (g1 -> g2 -> g3);
- conflicts on two days.
Namespace ``other`` holds a bigger profile and a link by the same source in the same window,
which no query of ``shop`` may return.

Namespaces ``history`` (the rules of ``shop``) and ``plain`` (the default rules) hold the cases
where an ended link's two ends must be told apart, the end that left from the end that stayed:
a browser moving away after an email it was linked to was replaced, a browser moving while its
old neighbour gets a link of its own in the same request (or is merged away in it), a profile
split by a browser leaving, an email that comes back after it was replaced, and a browser linked
to a neighbouring browser that moved.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from app.cli.cypher import cypher, parse_parameters
from graph.rules import load_rulebook
from graph.service import IdentityService, LinkRequest
from graph.store.cypher import CYPHER_DIR, Statement

IDGRAPH = str(Path(sys.executable).parent / "idgraph")
ERASE_EVERYTHING = Statement.read(CYPHER_DIR / "testing" / "erase_everything.cypher")
RULES = """
[namespaces.shop]
unique_types = ["email", "ext:*"]
on_conflict = { email = "replace", browserId = "move" }

[namespaces.history]
unique_types = ["email", "ext:*"]
on_conflict = { email = "replace", browserId = "move" }
"""
DAY = "2026-11-23"


class Clock:
    """The time the next request is written at."""

    def __init__(self) -> None:
        self.now = f"{DAY}T00:00:00.000000Z"

    def __call__(self) -> str:
        return self.now


@dataclass
class Shop:
    """Profile ids and request ids of the graph, as the service answered them."""

    profiles: dict[str, int] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)


def emptied(bolt_server, rules_text: str, folder: Path, **options: Any) -> IdentityService:
    """A service over the test session's Neo4j, emptied, under ``rules_text`` (a rules file
    written in ``folder``); the caller closes its store."""
    store = bolt_server.open_store()
    store.run(ERASE_EVERYTHING, write=True)
    store.initialize()
    rules = folder / "rules.toml"
    rules.write_text(rules_text, encoding="utf-8")
    return IdentityService(store, load_rulebook(rules), **options)


@pytest.fixture(scope="module")
def shop(bolt_server, tmp_path_factory) -> Iterator[Shop]:
    clock = Clock()
    service = emptied(bolt_server, RULES, tmp_path_factory.mktemp("rules"), clock=clock)
    store = service.store
    built = Shop()

    def link(at: str, source: str, *items: tuple[str, ...], ns: str = "shop", rid: str = ""):
        clock.now = f"{at}.000000Z" if "T" in at else f"{DAY}T{at}:00.000000Z"
        requests = [LinkRequest([tuple(text.rsplit(":", 1)) for text in item]) for item in items]
        result = service.linking.link(ns, requests, source=source, request_id=rid or None)
        outcomes = [(r.outcome.kind, r.outcome.profile_id) for r in result.results]
        return outcomes, result.request_id

    try:
        _build(link, built)
        _build_history(link, built)
        _build_plain(link, built)
        yield built
    finally:
        store.close()


def _build(link, built: Shop) -> None:
    p, r = built.profiles, built.requests
    kiosk = [("browserId:kiosk-1", f"customId:c{n}") for n in (1, 2, 3)]
    outcomes, _ = link("10:00", "web-shop", *kiosk)
    p["kiosk"] = outcomes[0][1]
    assert outcomes == [("created", p["kiosk"]), ("linked", p["kiosk"]), ("linked", p["kiosk"])]
    for n, at in ((1, "10:01"), (2, "10:02"), (3, "10:03")):
        item = ("browserId:roamer", f"ext:crm:u{n}")
        [(outcome, p[f"u{n}"])], r[f"roamer-{n}"] = link(at, "web-shop", item)
        assert outcome == ("created" if n == 1 else "moved")
    cookies = {name: [f"cookie:{name}{n}" for n in range(1, size + 1)]
               for name, size in (("a", 2), ("b", 3), ("c", 6), ("d", 12))}  # fmt: skip
    for name, at in (("a", "10:10"), ("b", "10:11")):
        [(_, p[name])], _ = link(at, "batch-import", tuple(cookies[name]))
    assert link("10:12", "batch-import", ("cookie:a1", "cookie:b1"))[0] == [("merged", p["b"])]
    [(_, p["c"])], _ = link("10:13", "batch-import", tuple(cookies["c"]))
    assert link("10:14", "batch-import", ("cookie:b1", "cookie:c1"))[0] == [("merged", p["c"])]
    [(_, p["d"])], _ = link("10:15", "batch-import", tuple(cookies["d"]))
    assert link("10:16", "batch-import", ("cookie:c1", "cookie:d1"))[0] == [("merged", p["d"])]

    item = ("browserId:eb", "email:ann@old.io", "customId:e1")
    [(_, p["e"])], _ = link("10:20", "crm-sync", item, rid="crm-1")
    # ann@new.io replaces ann@old.io, taking its link to eb (an item naming eb would move eb)
    item = ("customId:e1", "email:ann@new.io")
    assert link("10:21", "crm-sync", item, rid="crm-2")[0] == [("linked", p["e"])]
    [(_, p["f"])], _ = link("10:22", "crm-sync", ("ext:crm:f1", "email:fay@x.io"), rid="crm-3")
    [(outcome, _)], r["eb-moved"] = link("10:23", "web-shop", ("browserId:eb", "ext:crm:f1"))
    assert outcome == "moved"
    [(_, p["g"])], _ = link("10:30", "crm-sync", ("customId:g", "email:g1@x.io"))
    [_], r["g2"] = link("10:31", "crm-sync", ("customId:g", "email:g2@x.io"))
    [_], r["g3"] = link("10:32", "crm-sync", ("customId:g", "email:g3@x.io"))
    # the same source in the same window, and a bigger profile, in another namespace
    link("10:21", "crm-sync", ("email:ann@old.io", "customId:x"), ns="other")
    link("10:24", "batch-import", tuple(f"cookie:o{n}" for n in range(30)), ns="other")

    refused = link(
        "11:00", "crm-sync", ("ext:crm:f1", "email:ann@new.io"), ("email:fay@x.io", "ext:crm:zz")
    )[0]
    assert [outcome for outcome, _ in refused] == ["conflict", "conflict"]
    for at, item in (
        ("2026-11-24T09:00:00", ("email:g3@x.io", "ext:crm:f1")),
        ("2026-11-24T09:05:00", ("email:g3@x.io", "email:fay@x.io")),
    ):
        assert link(at, "crm-sync", item)[0][0][0] == "conflict"


def _build_history(link, built: Shop) -> None:
    """Namespace ``history``: which end of an ended link left."""
    p = built.profiles

    def one(at: str, rid: str, *identifiers: str) -> tuple[str, int]:
        [outcome], _ = link(at, "web-shop", identifiers, ns="history", rid=rid)
        return outcome

    # h1@x.io is replaced by h2@x.io; later the browser hb, linked to the customId h1@x.io was
    # linked to, moves to Z: h1@x.io left H, not Z
    _, p["h"] = one("12:00", "e-1", "customId:h", "email:h1@x.io", "browserId:hb")
    assert one("12:01", "e-2", "customId:h", "email:h2@x.io") == ("linked", p["h"])
    _, p["z"] = one("12:02", "e-3", "ext:crm:z", "email:zed@x.io")
    assert one("12:03", "e-4", "browserId:hb", "ext:crm:z") == ("moved", p["z"])
    # b2 moves away from ann@a.io, which is replaced later and stays in no profile
    _, p["ann"] = one("12:10", "s-1", "email:ann@a.io", "browserId:b2", "customId:k1")
    _, p["bob"] = one("12:11", "s-2", "ext:crm:v2", "email:bob@a.io")
    assert one("12:12", "s-3", "browserId:b2", "ext:crm:v2") == ("moved", p["bob"])
    assert one("12:13", "s-4", "customId:k1", "email:ann3@a.io") == ("linked", p["ann"])
    # cy@a.io is replaced, then comes back in a profile of its own
    _, p["cy"] = one("12:15", "f-1", "customId:k5", "email:cy@a.io")
    assert one("12:16", "f-2", "customId:k5", "email:cy2@a.io") == ("linked", p["cy"])
    outcome, p["cy-again"] = one("12:17", "f-3", "email:cy@a.io", "customId:k9")
    assert outcome == "created"
    # hub was all that joined l1 and w1: when it moves, {w1} splits off into a profile of its own
    _, p["l1"] = one("12:20", "x-1", "browserId:hub", "customId:l1", "ext:crm:w1")
    outcome, p["w2"] = one("12:21", "x-2", "browserId:hub", "ext:crm:w2")
    assert outcome == "moved"
    # a device shared by three customIds, linked to a browser kq2 that moves
    shared = ("browserId:kq", "customId:q1", "customId:q2", "customId:q3", "browserId:kq2")
    _, p["kq"] = one("12:30", "m-1", *shared, "ext:crm:qq")
    outcome, p["kq2"] = one("12:31", "m-2", "browserId:kq2", "ext:crm:zz")
    assert outcome == "moved"


def _build_plain(link, built: Shop) -> None:
    """Namespace ``plain``, default rules: a move and, in the same request, another item
    naming the identifier the browser moved away from."""
    p = built.profiles

    def request(at: str, rid: str, *items: tuple[str, ...]) -> list[tuple[str, int]]:
        return link(at, "web-shop", *items, ns="plain", rid=rid)[0]

    [(_, p["plain-u1"])] = request("12:40", "r1", ("browserId:b1", "ext:crm:u1"))
    # b1 moves to u2; u1 gets a link of its own in the same request, and stays
    outcomes = request("12:41", "r2", ("browserId:b1", "ext:crm:u2"), ("ext:crm:u1", "customId:c1"))
    p["plain-u2"] = outcomes[0][1]
    assert outcomes == [("moved", p["plain-u2"]), ("linked", p["plain-u1"])]
    # b3 moves to u4; u3, left alone, is merged into the larger profile of m2 in the same request
    [(_, p["plain-m"])] = request("12:50", "r3", ("customId:m1", "cookie:m2", "cookie:m3"))
    [(_, p["plain-u3"])] = request("12:51", "r4", ("browserId:b3", "ext:crm:u3"))
    outcomes = request("12:52", "r5", ("browserId:b3", "ext:crm:u4"), ("ext:crm:u3", "cookie:m2"))
    p["plain-u4"] = outcomes[0][1]
    assert outcomes == [("moved", p["plain-u4"]), ("merged", p["plain-m"])]


def run_cli(server, *args: str, env: dict[str, str] | None = None):
    runner = CliRunner()
    return runner.invoke(cypher, list(args), env=env or server.environment())


def query(server, name: str, **parameters: Any) -> list[dict[str, Any]]:
    """The rows of a bundled query, as `idgraph cypher NAME --format json` prints them."""
    pairs = [f"--param={key}={json.dumps(value)}" for key, value in parameters.items()]
    result = run_cli(server, name, *pairs, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def at(clock: str) -> str:
    return f"{DAY}T{clock}:00.000000Z"


# --- the queries ------------------------------------------------------------------------------


def test_largest_profiles_counts_each_type_and_stays_in_its_namespace(bolt_server, shop):
    rows = query(bolt_server, "largest_profiles", ns="shop", limit=3)
    assert [(r["profile_id"], r["identifiers"], r["per_type"], r["recognized"]) for r in rows] == [
        (shop.profiles["d"], 23, ["cookie: 23"], False),
        (shop.profiles["kiosk"], 4, ["customId: 3", "browserId: 1"], False),
        (shop.profiles["f"], 3, ["browserId: 1", "email: 1", "ext:crm: 1"], True),
    ]


def test_shared_devices_are_browsers_actively_linked_to_many_users_of_one_type(bolt_server, shop):
    rows = query(bolt_server, "shared_devices", ns="shop", min_users=2)
    assert rows == [
        {
            "device_type": "browserId",
            "device": "kiosk-1",
            "user_type": "customId",
            "users": 3,
            "sample": ["c1", "c2", "c3"],
            "profile_id": shop.profiles["kiosk"],
        }
    ]  # the roamer is linked to one user now: its other links ended when it moved
    assert query(bolt_server, "shared_devices", ns="shop", min_users=4) == []


def test_roaming_devices_are_browsers_that_moved_between_users(bolt_server, shop):
    rows = query(bolt_server, "roaming_devices", ns="shop", min_users=3)
    assert rows == [
        {
            "device_type": "browserId",
            "device": "roamer",
            "user_type": "ext:crm",
            "users": 3,
            "sample": ["u1", "u2", "u3"],
            "current": ["u3"],
            "moves": 2,
            "last_moved_at": at("10:03"),
            "profile_id": shop.profiles["u3"],
        }
    ]  # the kiosk never moved
    # eb moved once: away from e1 and ann@new.io; its link to ann@old.io ended by a replacement
    assert query(bolt_server, "roaming_devices", ns="shop", min_users=2) == rows


def test_merge_chains_list_whole_chains_of_at_least_min_hops(bolt_server, shop):
    p = shop.profiles
    rows = query(bolt_server, "merge_chains", ns="shop", min_hops=2)
    assert [(r["chain"], r["hops"], r["merged_at"]) for r in rows] == [
        ([p["a"], p["b"], p["c"], p["d"]], 3, [at("10:12"), at("10:14"), at("10:16")])
    ]
    assert len(set(rows[0]["merge_ids"])) == 3
    assert query(bolt_server, "merge_chains", ns="shop", min_hops=3) == rows
    assert query(bolt_server, "merge_chains", ns="shop", min_hops=4) == []


def test_email_history_counts_replaced_emails_but_not_those_a_moved_browser_reaches(
    bolt_server, shop
):
    rows = query(bolt_server, "email_history", ns="shop", min_emails=2)
    assert [(r["profile_id"], r["emails"], r["current"], r["former"]) for r in rows] == [
        (shop.profiles["g"], 3, ["g3@x.io"], ["g1@x.io", "g2@x.io"]),
        (shop.profiles["e"], 2, ["ann@new.io"], ["ann@old.io"]),
    ]  # F (fay) holds eb now, whose ended links reach ann@old.io and ann@new.io: not F's
    assert rows[0]["last_left_at"] == at("10:32")


def test_links_by_source_lists_the_links_of_one_source_in_a_time_window(bolt_server, shop):
    rows = query(
        bolt_server,
        "links_by_source",
        ns="shop",
        source="crm-sync",
        **{"from": f"{DAY}T10:21", "to": f"{DAY}T10:23"},
    )
    columns = ("created_at", "operation", "request_id", "item_index", "linked_from", "linked_to",
               "profile_id", "ended_at", "end_reason")  # fmt: skip
    e, f = shop.profiles["e"], shop.profiles["f"]
    assert [tuple(row[name] for name in columns) for row in rows] == [
        # the replacement links ann@new.io to ann@old.io's neighbour eb, which moved to F later
        (at("10:21"), "native", "crm-2", 0, "email:ann@new.io", "browserId:eb", e,
         at("10:23"), "moved"),
        (at("10:21"), "native", "crm-2", 0, "customId:e1", "email:ann@new.io", e, None, None),
        (at("10:22"), "native", "crm-3", 0, "ext:crm:f1", "email:fay@x.io", f, None, None),
    ]  # fmt: skip
    assert set(rows[0]) == set(columns)


def test_conflicts_per_day_count_refusals_by_rule(bolt_server, shop):
    rows = query(bolt_server, "conflicts_per_day", ns="shop", since=DAY)
    assert [(r["day"], r["rule"], r["conflicts"], r["requests"]) for r in rows] == [
        (DAY, "unique_type:email", 1, 1),
        (DAY, "unique_type:ext:crm", 1, 1),
        ("2026-11-24", "unique_type:email", 2, 2),
    ]
    assert sorted(rows[2]["example"]) == ["email:g3@x.io", "ext:crm:f1"]
    assert len(query(bolt_server, "conflicts_per_day", ns="shop", since="2026-11-24")) == 1


def test_departures_say_which_identifier_left_why_and_where_it_is(bolt_server, shop):
    rows = query(bolt_server, "departures", ns="shop", since=f"{DAY}T10:20")
    r = shop.requests
    assert [tuple(row.values()) for row in rows] == [
        (at("10:21"), "replaced", "email:ann@old.io", ["browserId:eb"], None, "crm-2"),
        (at("10:23"), "moved", "browserId:eb", ["customId:e1", "email:ann@new.io"],
         shop.profiles["f"], r["eb-moved"]),
        (at("10:31"), "replaced", "email:g1@x.io", ["customId:g"], None, r["g2"]),
        (at("10:32"), "replaced", "email:g2@x.io", ["customId:g"], None, r["g3"]),
    ]  # fmt: skip
    earlier = query(bolt_server, "departures", ns="shop", since=DAY)
    assert [(row["identifier"], row["was_linked_to"]) for row in earlier[:2]] == [
        ("browserId:roamer", ["ext:crm:u1"]),
        ("browserId:roamer", ["ext:crm:u2"]),
    ]


# --- which end of an ended link left ------------------------------------------------------------


def test_email_history_gives_a_replaced_email_to_the_profile_it_left(bolt_server, shop):
    p = shop.profiles
    rows = query(bolt_server, "email_history", ns="history", min_emails=1)
    got = [(r["profile_id"], r["emails"], r["current"], r["former"]) for r in rows]
    assert got == [
        (p["h"], 2, ["h2@x.io"], ["h1@x.io"]),
        (p["ann"], 2, ["ann3@a.io"], ["ann@a.io"]),
        (p["cy"], 2, ["cy2@a.io"], ["cy@a.io"]),
        (p["z"], 1, ["zed@x.io"], []),
        (p["bob"], 1, ["bob@a.io"], []),
        (p["cy-again"], 1, ["cy@a.io"], []),
    ], "h1@x.io left H when h2@x.io replaced it; hb moving from H to Z later takes it nowhere"
    assert [r["last_left_at"] for r in rows[:3]] == [at("12:01"), at("12:13"), at("12:16")]


def test_departures_list_the_end_that_left_not_the_end_that_stayed(bolt_server, shop):
    p = shop.profiles
    rows = query(bolt_server, "departures", ns="history", since=DAY)
    assert [tuple(row.values()) for row in rows] == [
        (at("12:01"), "replaced", "email:h1@x.io", ["customId:h"], None, "e-2"),
        (at("12:03"), "moved", "browserId:hb", ["customId:h"], p["z"], "e-4"),
        # not ann@a.io, which stayed when b2 moved away from it, and left only at s-4
        (at("12:12"), "moved", "browserId:b2", ["email:ann@a.io"], p["bob"], "s-3"),
        (at("12:13"), "replaced", "email:ann@a.io", ["customId:k1"], None, "s-4"),
        (at("12:16"), "replaced", "email:cy@a.io", ["customId:k5"], p["cy-again"], "f-2"),
        # not w1, split off into a profile of its own when hub left
        (at("12:21"), "moved", "browserId:hub", ["customId:l1", "ext:crm:w1"], p["w2"], "x-2"),
        (at("12:31"), "moved", "browserId:kq2", ["browserId:kq"], p["kq2"], "m-2"),
    ]  # fmt: skip


def test_departures_leave_out_an_end_another_item_of_the_request_linked(bolt_server, shop):
    p = shop.profiles
    rows = query(bolt_server, "departures", ns="plain", since=DAY)
    assert [tuple(row.values()) for row in rows] == [
        (at("12:41"), "moved", "browserId:b1", ["ext:crm:u1"], p["plain-u2"], "r2"),
        (at("12:52"), "moved", "browserId:b3", ["ext:crm:u3"], p["plain-u4"], "r5"),
    ], "u1 got a link of its own in r2 and u3 was merged away in r5: neither left"


def test_a_departure_stays_listed_after_the_identifier_comes_back(bolt_server, shop):
    p = shop.profiles
    rows = query(bolt_server, "departures", ns="history", since=f"{DAY}T12:15")
    assert [(r["identifier"], r["reason"], r["now_in"]) for r in rows][:1] == [
        ("email:cy@a.io", "replaced", p["cy-again"])
    ], "cy@a.io left C at f-2 whatever happened to it since"
    history = query(bolt_server, "email_history", ns="history", min_emails=2)
    assert (p["cy"], ["cy2@a.io"], ["cy@a.io"]) in [
        (r["profile_id"], r["current"], r["former"]) for r in history
    ], "C was recognized by cy@a.io before cy2@a.io replaced it"


def test_roaming_devices_leave_out_a_device_whose_neighbour_moved(bolt_server, shop):
    p = shop.profiles
    rows = query(bolt_server, "roaming_devices", ns="history", min_users=2)
    assert [(r["device"], r["user_type"], r["users"], r["current"], r["moves"]) for r in rows] == [
        ("hub", "ext:crm", 2, ["w2"], 1)
    ], "kq never moved: kq2, linked to it, did"
    shared = query(bolt_server, "shared_devices", ns="history", min_users=2)
    assert [(r["device"], r["users"], r["profile_id"]) for r in shared] == [("kq", 3, p["kq"])]


# --- the command ------------------------------------------------------------------------------


def test_the_idgraph_command_prints_an_aligned_table(bolt_server, shop):
    result = subprocess.run(
        [IDGRAPH, "cypher", "largest_profiles", "--param", "ns=shop", "--param", "limit=2"],
        env={**os.environ, **bolt_server.environment()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    header, rule, first, second, count = result.stdout.splitlines()
    assert header.split() == [
        "profile_id", "identifiers", "per_type", "recognized", "created_at", "updated_at"
    ]  # fmt: skip
    assert set(rule.split("  ")) - {""} <= {"-" * n for n in range(1, 40)}
    end = header.index("identifiers") + len("identifiers")  # numbers align to the right
    assert first[:end].split() == [str(shop.profiles["d"]), "23"] and first[end] == " "
    assert second[:end].split() == [str(shop.profiles["kiosk"]), "4"]
    assert second.index('["customId: 3", "browserId: 1"]') == header.index("per_type")
    assert count == "(2 rows)"


def test_csv_output_has_a_header_and_json_lists(bolt_server, shop):
    result = run_cli(
        bolt_server, "merge_chains", "--param", "ns=shop", "--param", "min_hops=3", "--format=csv"
    )
    assert result.exit_code == 0, result.output
    header, row = result.output.splitlines()
    assert header == "chain,hops,merge_ids,merged_at,request_ids"
    p = shop.profiles
    assert row.startswith(f'"[{p["a"]}, {p["b"]}, {p["c"]}, {p["d"]}]",3,')


def test_no_rows_say_so(bolt_server, shop):
    result = run_cli(bolt_server, "merge_chains", "--param=ns=shop", "--param=min_hops=4")
    assert result.exit_code == 0, result.output
    assert result.output == "(no rows)\n"


def test_a_server_refusing_the_login_exits_1(bolt_server):
    env = {**bolt_server.environment(), "NEO4J_PASSWORD": "not-the-password"}
    result = run_cli(bolt_server, "merge_chains", "--param=ns=shop", "--param=min_hops=4", env=env)
    assert result.exit_code == 1
    assert f"idgraph: cannot open Neo4j store {bolt_server.uri}" in result.output


def test_a_query_file_given_by_path_runs_too(bolt_server, shop, tmp_path):
    path = tmp_path / "kiosk.cypher"
    path.write_text(
        "// params: $ns, $key\n"
        "MATCH (i:Identifier {ns: $ns, key: $key}) RETURN i.profile_id AS profile_id\n",
        encoding="utf-8",
    )
    result = run_cli(
        bolt_server,
        str(path),
        "--param",
        "ns=shop",
        "--param=key=browserId:kiosk-1",
        "--format=json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"profile_id": shop.profiles["kiosk"]}]


def test_an_unknown_parameter_is_refused_naming_the_declared_ones(bolt_server):
    result = run_cli(bolt_server, "merge_chains", "--param", "ns=shop", "--param", "min_hop=3")
    assert result.exit_code == 2
    assert (
        "merge_chains.cypher takes $min_hops, $ns (--param name=value each): "
        "missing min_hops; unknown min_hop"
    ) in result.output


def test_a_missing_parameter_is_refused(bolt_server):
    result = run_cli(bolt_server, "largest_profiles", "--param", "ns=shop")
    assert result.exit_code == 2
    assert "largest_profiles.cypher takes $limit, $ns" in result.output
    assert "missing limit" in result.output


def test_an_unknown_query_name_lists_the_bundled_ones(bolt_server):
    result = run_cli(bolt_server, "largest_profile")
    assert result.exit_code == 2
    assert "no query 'largest_profile'" in result.output
    assert "largest_profiles, links_by_source, merge_chains" in result.output


def test_a_query_that_writes_is_refused_before_it_is_sent(bolt_server, shop, tmp_path):
    path = tmp_path / "sneaky.cypher"
    path.write_text(
        "// Looks like a read: 'CREATE' in a comment or a string is fine, the SET is not.\n"
        "// params: $ns\n"
        "MATCH (p:Profile {ns: $ns}) WHERE p.id <> 'CREATE'\n"
        "SET p.recognized = true RETURN p.id\n",
        encoding="utf-8",
    )
    result = run_cli(bolt_server, str(path), "--param", "ns=shop")
    assert result.exit_code == 2
    assert "sneaky.cypher writes (SET); idgraph cypher runs read-only queries" in result.output
    rows = query(bolt_server, "largest_profiles", ns="shop", limit=1)
    assert rows[0]["recognized"] is False


def test_a_sqlite_store_is_refused(tmp_path):
    result = CliRunner().invoke(
        cypher,
        ["largest_profiles", "--param", "ns=shop", "--param", "limit=3"],
        env={"IDGRAPH_STORE": f"sqlite:///{tmp_path / 'x.db'}"},
    )
    assert result.exit_code == 2
    assert "idgraph cypher needs a Neo4j store, and IDGRAPH_STORE is 'sqlite:///" in result.output
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        pytest.param(["limit=3"], {"limit": 3}, id="number"),
        pytest.param(["ids=[1, 2]"], {"ids": [1, 2]}, id="list"),
        pytest.param(["ns=shop"], {"ns": "shop"}, id="text"),
        pytest.param(['source="123"'], {"source": "123"}, id="quoted-number-is-text"),
        pytest.param(["from=2026-11-23"], {"from": "2026-11-23"}, id="day-is-text"),
        pytest.param(["$ns=a=b"], {"ns": "a=b"}, id="dollar-and-equals-in-value"),
        pytest.param(["note="], {"note": ""}, id="empty-text"),
    ],
)
def test_parameter_values_are_json_when_they_parse(pairs, expected):
    assert parse_parameters(pairs) == expected
