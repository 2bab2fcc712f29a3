"""Hostile identifier types and values (issue 19, points 1, 3, 4 and 8), over HTTP against the
real server, as an attacker or a careless client would send them: a forged type cannot reach
another person's identifier, two desks of one switchboard stay two people, ``EMAIL`` is an
email with every rule of one, values that look alike are one identifier or refused, and NUL is
never stored."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.e2e.test_server import Server

pytestmark = pytest.mark.e2e

Pair = tuple[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """One server: each test keeps to its own namespace."""
    served = Server(tmp_path_factory.mktemp("identifier-values"))
    served.wait_ready()
    yield served
    served.stop()


def link(server: Server, ns: str, *pairs: Pair, **item: object) -> tuple[int, dict]:
    identifiers = [{"type": type_, "value": value} for type_, value in pairs]
    return server.request(
        "POST", f"/v1/{ns}/links", {"items": [{"identifiers": identifiers, **item}]}
    )


def result(server: Server, ns: str, *pairs: Pair, **item: object) -> dict:
    status, body = link(server, ns, *pairs, **item)
    assert status == 200, body
    return body["results"][0]


def refused(server: Server, ns: str, *pairs: Pair, **item: object) -> dict[str, list[str]]:
    """The problems of the one item, by field; the request must be a 400."""
    status, body = link(server, ns, *pairs, **item)
    assert status == 400 and body["error"]["code"] == "invalid_input", body
    return body["error"]["details"]["items"]["0"]


def profile_of(server: Server, ns: str, type_: str, value: str) -> tuple[int, dict]:
    return server.request("GET", f"/v1/{ns}/identifiers/{quote(type_)}/{quote(value, safe='')}")


def held(profile: dict) -> set[Pair]:
    return {(i["type"], i["value"]) for i in profile["identifiers"]}


# --- point 1: keys that collide -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("genuine", "forged"),
    [
        pytest.param(("ext:crm", "u1"), ("ext", "crm:u1"), id="ext+crm:u1-forges-ext:crm+u1"),
        pytest.param(("email", "work:erin@example.com"), ("email:work", "erin@example.com"),
                     id="email:work+erin-forges-email+work:erin"),
        pytest.param(("ext:crm", "u1"), ("EXT", "crm:u1"), id="EXT+crm:u1-forges-ext:crm+u1"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("genuine_first", [True, False], ids=["victim-first", "attacker-first"])
def test_a_forged_type_cannot_join_another_persons_identifier(
    server: Server, genuine: Pair, forged: Pair, genuine_first: bool, request
) -> None:
    ns = re.sub(r"[^\w.:-]", "-", f"collide-{request.node.callspec.id}")
    victim = [genuine, ("customId", "victim"), ("browserId", "victim-browser")]
    if genuine_first:
        victim_id = result(server, ns, *victim)["profile_id"]
    problems = refused(server, ns, forged, ("browserId", "attacker-browser"))
    assert "not a valid identifier type" in problems["identifiers.0.type"][0]
    if not genuine_first:
        assert result(server, ns, *victim)["outcome"] == "created"
        victim_id = profile_of(server, ns, *genuine)[1]["id"]
    assert profile_of(server, ns, "browserId", "attacker-browser")[0] == 404
    status, profile = profile_of(server, ns, *genuine)
    assert status == 200 and profile["id"] == victim_id
    assert held(profile) == set(victim)


# --- point 3: phone extensions ------------------------------------------------------------------


def test_two_desks_of_one_switchboard_are_two_people(server: Server) -> None:
    ns = "desks"
    first = result(server, ns, ("phone", "+1 650 253 0000 ext. 101"), ("customId", "desk-101"))
    second = result(server, ns, ("phone", "+1 650 253 0000 ext. 202"), ("customId", "desk-202"))
    assert (first["outcome"], second["outcome"]) == ("created", "created")
    assert first["profile_id"] != second["profile_id"]
    status, profile = profile_of(server, ns, "phone", "+1 (650) 253-0000 x202")
    assert status == 200 and profile["id"] == second["profile_id"]
    assert ("phone", "+16502530000;ext=202") in held(profile)
    # the switchboard itself is a third number, stored exactly as before extensions were kept
    assert profile_of(server, ns, "phone", "+16502530000")[0] == 404
    reception = result(server, ns, ("phone", "+1 650 253 0000"), ("customId", "reception"))
    assert reception["outcome"] == "created"
    assert ("phone", "+16502530000") in held(profile_of(server, ns, "customId", "reception")[1])


# --- point 4: type names in any case ------------------------------------------------------------


def test_an_email_type_in_any_case_is_validated_as_an_email(server: Server) -> None:
    for spelling in ("Email", "EMAIL", "eMail"):
        problems = refused(server, "cases", (spelling, "NOT AN EMAIL"), ("browserId", "b0"))
        assert "not a valid email" in problems["identifiers.0.value"][0]


def test_an_email_type_in_any_case_is_one_email_unique_and_recognizing(server: Server) -> None:
    """The issue's profile held ``EMAIL bob``, ``Email dave`` and ``email carol``."""
    ns = "one-email"
    created = result(server, ns, ("EMAIL", "Bob@Example.com"), ("customId", "c1"))
    status, profile = profile_of(server, ns, "email", "bob@example.com")
    assert status == 200 and profile["id"] == created["profile_id"]
    assert profile["recognized"] is True
    assert held(profile) == {("email", "bob@example.com"), ("customId", "c1")}
    for spelling, value in [("Email", "dave@example.com"), ("email", "carol@example.com")]:
        second = result(server, ns, ("customId", "c1"), (spelling, value))
        assert (second["outcome"], second["reason"]) == ("conflict", "unique_type:email")
    assert held(profile_of(server, ns, "customId", "c1")[1]) == held(profile)


def test_an_ext_system_in_any_case_is_one_system(server: Server) -> None:
    ns = "ext-case"
    created = result(server, ns, ("ext:CRM", "u1"), ("browserId", "b1"))
    again = result(server, ns, ("Ext:crm", "u1"), ("browserId", "b1"))
    assert again == {**again, "outcome": "noop", "profile_id": created["profile_id"]}
    assert held(profile_of(server, ns, "ext:crm", "u1")[1]) == {
        ("ext:crm", "u1"),
        ("browserId", "b1"),
    }


# --- point 8: look-alikes, invisible characters, Unicode domains, NUL ----------------------------


@pytest.mark.parametrize(
    ("type_", "value", "words"),
    [
        pytest.param("customId", "p\u0430ypal", "letters in one word", id="cyrillic-a"),
        pytest.param("email", "ann@p\u0430ypal.com", "letters in one word",
                     id="cyrillic-a-in-domain"),
        pytest.param("email", "ann@xn--pypal-4ve.com", "letters in one word",
                     id="cyrillic-a-as-punycode"),
        pytest.param("customId", "c-42\u200b", "U+200B", id="zero-width-space"),
        pytest.param("email", "an\u00adn@example.com", "U+00AD", id="soft-hyphen"),
        pytest.param("customId", "\u202e24-c", "U+202E", id="right-to-left-override"),
    ],
)  # fmt: skip
def test_a_look_alike_or_invisible_character_is_refused(
    server: Server, type_: str, value: str, words: str
) -> None:
    problems = refused(server, "look-alikes", (type_, value), ("browserId", "b-look"))
    assert words in problems["identifiers.0.value"][0]
    assert profile_of(server, "look-alikes", "browserId", "b-look")[0] == 404


def test_full_width_letters_are_the_letters_they_look_like(server: Server) -> None:
    ns = "full-width"
    created = result(server, ns, ("customId", "\uff23\uff0d\uff14\uff12"), ("browserId", "b1"))
    again = result(server, ns, ("customId", "C-42"), ("browserId", "b2"))
    assert (again["outcome"], again["profile_id"]) == ("linked", created["profile_id"])
    status, profile = profile_of(server, ns, "customId", "C-42")
    assert status == 200 and ("customId", "C-42") in held(profile)


def test_a_unicode_email_domain_is_its_punycode(server: Server) -> None:
    ns = "idn"
    created = result(server, ns, ("email", "ann@b\u00fccher.example"), ("browserId", "b1"))
    assert created["outcome"] == "created"
    status, profile = profile_of(server, ns, "email", "ann@xn--bcher-kva.example")
    assert status == 200 and profile["id"] == created["profile_id"]
    again = result(server, ns, ("email", "Ann@xn--bcher-kva.example"), ("browserId", "b1"))
    assert again["outcome"] == "noop"


def test_nul_is_never_stored_in_an_attribute(server: Server) -> None:
    ns = "nul"
    problems = refused(
        server, ns, ("customId", "c1"), ("browserId", "b1"), attributes={"city": "Os\x00lo"}
    )
    assert "control character" in problems["attributes.city"][0]
    profile_id = result(server, ns, ("customId", "c1"), ("browserId", "b1"))["profile_id"]
    path = f"/v1/{ns}/profiles/{profile_id}/attributes"
    status, body = server.request("PATCH", path, {"note": {"text": "a\x00b"}})
    assert status == 400 and "attributes.note.text" in str(body["error"]["details"]), body
    assert server.request("GET", f"/v1/{ns}/profiles/{profile_id}")[1]["attributes"] == {}


def test_nul_is_never_stored_in_a_ban_reason(server: Server) -> None:
    ns = "ban-reason"
    result(server, ns, ("customId", "c1"), ("browserId", "b1"))
    ban = {
        "a": {"type": "customId", "value": "c1"},
        "b_type": "email",
        "reason": "fraud\x00<script>",
    }
    status, body = server.request("POST", f"/v1/{ns}/bans", ban)
    assert status == 400 and "reason" in body["error"]["details"]["fields"], body
    assert server.request("GET", f"/v1/{ns}/bans")[1]["bans"] == []


# --- the same on Neo4j: keys are built in graph/, before any store ------------------------------


def test_on_neo4j_forged_types_cased_types_and_extensions_keep_people_apart(
    start, empty_bolt_server
) -> None:
    server = start(**empty_bolt_server.environment())
    ns = "neo4j"
    victim = result(server, ns, ("ext:crm", "u1"), ("email", "work:erin@example.com"))
    for forged in [("ext", "crm:u1"), ("email:work", "erin@example.com")]:
        assert "identifiers.0.type" in refused(server, ns, forged, ("browserId", "attacker"))
    assert profile_of(server, ns, "browserId", "attacker")[0] == 404
    conflict = result(server, ns, ("ext:crm", "u1"), ("EMAIL", "bob@example.com"))
    assert (conflict["outcome"], conflict["reason"]) == ("conflict", "unique_type:email")
    desks = [
        result(server, ns, ("phone", f"+1 650 253 0000 ext. {desk}"), ("customId", desk))
        for desk in ("101", "202")
    ]
    assert [d["outcome"] for d in desks] == ["created", "created"]
    status, profile = profile_of(server, ns, "ext:crm", "u1")
    assert status == 200 and profile["id"] == victim["profile_id"]
    assert held(profile) == {("ext:crm", "u1"), ("email", "work:erin@example.com")}
