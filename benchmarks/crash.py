"""Crash safety: nothing the server acknowledged is lost when it is killed.

The real server (``idgraph serve``: gunicorn, its default 2 processes x 2 threads) runs on a
temporary SQLite file. ``--clients`` threads post link batches to ``POST /v1/{ns}/links``, each
with a unique ``request_id``, while this script SIGKILLs the whole server (the process group:
master and workers, mid-transaction or not) at a random moment ``--kills`` times and restarts
it on the same file and port. A client that gets no answer (connection refused or reset, a
truncated answer) counts the request as not acknowledged, waits for the server to be back and
sends the same request again: an idempotent replay, which may find it applied before the kill
(answered with ``Idempotent-Replayed: true``) or not. Now and then a client also re-sends a
request that WAS acknowledged: the answer must be the first answer.

The workload talks about people: person i has an email, a customId and eight uuids, and every
item names people among the ``WINDOW`` most recent ones, so the clients' concurrent batches
touch the same profiles: anonymous uuid pairs (created, linked, merged), logins (email +
uuid), CRM records (customId + email + uuid), uuids of two people (merges across people), and
clashes that the rules refuse (two customIds, two emails, one person's email with another's
customId). Only ``uuid`` (not unique), ``email`` and ``customId`` (unique) are used, under the
native default rules: no type moves or replaces, and nothing ends a link, so the graph only
grows. That is what makes the check exact: once acknowledged, a join stays joined and a
refusal stays refused. A third of the items carry an attribute of a name of their own.

After the last restart the clients stop, and the graph is checked twice: over HTTP against
the running server (a sample of acknowledged items resolved with
``GET /v1/{ns}/identifiers/...`` and ``GET /v1/{ns}/profiles/{id}``, a sample of acknowledged
requests replayed), then, with the server stopped cleanly, through the store itself
(opened read-only), all of them. With ``--store`` the server runs on a Neo4j instead, which is
not killed (only idgraph is), and its namespace is one of its own:

- lost: an acknowledged request whose idempotency record is missing or differs; an
  acknowledged item (not a conflict) whose identifiers are not all in one live profile, whose
  answered profile id does not resolve to that profile, whose links (anchor to each other
  identifier) are not all active, or whose attributes are not on the profile; an acknowledged
  conflict missing from the conflicts log;
- rule violations: ``PRAGMA integrity_check`` not ok (SQLite); a profile that is not exactly one
  connected component of the active links (so no identifier is in two profiles); a profile
  holding two identifiers of a unique type (``graph.rules``), more than ``max_identifiers``,
  a wrong ``recognized`` flag, or no identifier; an absorbed id that does not resolve to a
  live profile; any ended link or ``moved`` outcome (this workload never asks for one); an
  acknowledged conflict whose identifiers ended up in one profile anyway.

It exits 1 when anything is lost, a rule is broken, an acknowledged answer changed on replay,
or the server answered anything but 200 (a 5xx, or a 4xx to these valid requests).

    python benchmarks/crash.py [--kills 20] [--clients 4] [--batch 20] [--max-uptime 2.0]
                               [--min-acknowledged 5] [--seed 1] [--json PATH]
                               [--store bolt://host:7687]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crash_check import (
    SOURCE,
    Acknowledged,
    Findings,
    Item,
    Request,
    check_over_http,
    check_store,
)
from workload import Server, describe_machine, machine, table, write_json

from graph.rules import RuleBook

NAMESPACE = "crash"
WINDOW = 200  # items name people among the WINDOW most recent ones
NEW_PEOPLE_PER_REQUEST = 4
UUIDS_PER_PERSON = 8
ATTRIBUTE_SHARE = 1 / 3
REPLAY_SHARE = 0.05  # of a client's sends: an acknowledged request sent again
MAX_ATTEMPTS = 50
ACKNOWLEDGE_TIMEOUT = 60.0  # seconds a server life waits for its --min-acknowledged


# --- the workload ------------------------------------------------------------------------------


class People:
    """Who items talk about. A frontier shared by the clients moves forward with every
    request; items name people among the WINDOW before it, so concurrent requests overlap."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._frontier = WINDOW
        self._lock = threading.Lock()

    def advance(self) -> int:
        with self._lock:
            self._frontier += NEW_PEOPLE_PER_REQUEST
            return self._frontier

    @staticmethod
    def email(person: int) -> tuple[str, str]:
        return "email", f"p{person}@crash.example"

    @staticmethod
    def custom_id(person: int) -> tuple[str, str]:
        return "customId", f"C{person:07d}"

    def uuids(self, person: int, rng: random.Random, count: int = 1) -> list[tuple[str, str]]:
        """``count`` different uuids among the person's."""
        first = (self._seed << 64) + person * UUIDS_PER_PERSON
        picked = rng.sample(range(UUIDS_PER_PERSON), count)
        return [("uuid", str(uuid.UUID(int=first + number))) for number in picked]


def make_request(people: People, rng: random.Random, request_id: str, batch: int) -> Request:
    frontier = people.advance()
    size = rng.randint(max(1, batch // 2), max(1, batch * 3 // 2))
    items = tuple(make_item(people, rng, frontier, f"{request_id}#{i}") for i in range(size))
    return Request(request_id, items)


def make_item(people: People, rng: random.Random, frontier: int, name: str) -> Item:
    person = frontier - 1 - rng.randrange(WINDOW)
    other = frontier - 1 - rng.randrange(WINDOW)
    while other == person:
        other = frontier - 1 - rng.randrange(WINDOW)
    roll = rng.random()
    if roll < 0.35:
        kind, identifiers = "device", people.uuids(person, rng, 2)
    elif roll < 0.55:
        kind, identifiers = "login", [people.email(person), *people.uuids(person, rng)]
    elif roll < 0.70:
        crm = [people.custom_id(person), people.email(person), *people.uuids(person, rng)]
        kind, identifiers = "crm", crm
    elif roll < 0.80:
        kind, identifiers = "cross", people.uuids(person, rng) + people.uuids(other, rng)
    else:
        clashes = [  # refused whatever came before: two of a unique type, or usually so
            [people.custom_id(person), people.custom_id(other)],
            [people.email(person), people.email(other)],
            [people.email(person), people.custom_id(other)],
        ]
        kind, identifiers = "clash", rng.choice(clashes)
    attributes = {name: rng.randrange(1000)} if rng.random() < ATTRIBUTE_SHARE else {}
    return Item(kind, tuple(identifiers), attributes)


# --- clients -----------------------------------------------------------------------------------


class Run:
    """What the clients share with the script: the server's port, whether it is up, when to
    stop."""

    def __init__(self, seed: int, batch: int, namespace: str = NAMESPACE) -> None:
        self.seed = seed
        self.batch = batch
        self.namespace = namespace
        self.people = People(seed)
        self.port = 0
        self.up = threading.Event()
        self.stopping = threading.Event()

    def serving(self, port: int) -> None:
        self.port = port
        self.up.set()


@dataclass
class Figures:
    """One client's counts; summed over the clients for the report."""

    requests: int = 0  # distinct requests sent
    posts: int = 0  # every POST attempted, replays included
    acknowledged: int = 0
    acknowledged_items: int = 0
    replays: int = 0  # a request sent again after no answer
    applied_unanswered: int = 0  # ... and answered as a replay: applied before the kill
    replay_checks: int = 0  # an acknowledged request sent again
    replay_changed: int = 0  # ... whose answer was not the first answer
    gave_up: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # non-200 answers
    outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, other: Figures) -> None:
        for name, value in vars(other).items():
            if isinstance(value, Counter):
                getattr(self, name).update(value)
            else:
                setattr(self, name, getattr(self, name) + value)


class Client(threading.Thread):
    def __init__(self, number: int, run: Run) -> None:
        super().__init__(name=f"crash-client-{number}", daemon=True)
        self.number = number
        self.run_ = run
        self.figures = Figures()
        self.acknowledged: list[Acknowledged] = []
        self.busy = False  # a POST is on the wire
        self._connection: http.client.HTTPConnection | None = None
        self._rng = random.Random(f"{run.seed}:{number}")

    def run(self) -> None:
        run, rng = self.run_, self._rng
        while not run.stopping.is_set():
            if self.acknowledged and rng.random() < REPLAY_SHARE:
                self._check_replay(rng.choice(self.acknowledged))
                continue
            request_id = f"{SOURCE}-{run.seed}-{self.number}-{self.figures.requests}"
            self.figures.requests += 1
            self._send(make_request(run.people, rng, request_id, run.batch))

    def _send(self, request: Request) -> None:
        """Until acknowledged: no answer means the server is down; send it again once it is
        back (the same request_id: applying it twice is impossible)."""
        body = request.body()
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                self.figures.replays += 1
            answered = self._post(body)
            if answered is None:
                continue
            status, replayed, answer = answered
            if status == 200 and isinstance(answer, dict) and "results" in answer:
                self._record(request, answer, replayed, attempt)
                return
            self.figures.statuses[str(status)] += 1
            if status < 500:
                return  # refused: reported, not retried
            time.sleep(0.05)
        self.figures.gave_up += 1

    def _record(self, request: Request, answer: dict, replayed: bool, attempt: int) -> None:
        self.acknowledged.append(Acknowledged(request, answer))
        self.figures.acknowledged += 1
        self.figures.acknowledged_items += len(answer["results"])
        self.figures.outcomes.update(result["outcome"] for result in answer["results"])
        if replayed and attempt == 0:
            self.figures.statuses["replayed on first send"] += 1
        elif replayed:
            self.figures.applied_unanswered += 1

    def _check_replay(self, acknowledged: Acknowledged) -> None:
        answered = self._post(acknowledged.request.body())
        if answered is None:
            return  # killed meanwhile: nothing to compare
        status, replayed, answer = answered
        self.figures.replay_checks += 1
        if status != 200 or not replayed or answer != acknowledged.answer:
            self.figures.replay_changed += 1

    def _post(self, body: bytes) -> tuple[int, bool, Any] | None:
        """(status, replayed, JSON answer), or None when there was no whole answer."""
        self.run_.up.wait()
        self.figures.posts += 1
        path = f"/v1/{self.run_.namespace}/links"
        try:
            if self._connection is None:
                self._connection = http.client.HTTPConnection("127.0.0.1", self.run_.port, 60)
            self.busy = True
            self._connection.request("POST", path, body, {"Content-Type": "application/json"})
            response = self._connection.getresponse()
            data = response.read()
            replayed = response.getheader("Idempotent-Replayed") == "true"
            return response.status, replayed, json.loads(data)
        except (OSError, http.client.HTTPException, ValueError):
            if self._connection is not None:
                self._connection.close()
            self._connection = None
            return None
        finally:
            self.busy = False


# --- the kills ---------------------------------------------------------------------------------


def serve_and_kill(
    store: str,
    logs: Path,
    run: Run,
    clients: list[Client],
    kills: int,
    max_uptime: float,
    min_acknowledged: int,
) -> tuple[list[int], int | None]:
    """Serve, and SIGKILL the server at a random moment, ``kills`` times, each time on the
    same file and port. Answers the POSTs in flight at each kill, and the port."""
    rng = random.Random(run.seed)
    in_flight: list[int] = []
    port: int | None = None
    for kill in range(kills):
        with Server(store, logs / f"server-{kill}.log", port=port, process_group=True) as server:
            port = server.port
            run.serving(port)
            live(clients, min_acknowledged, rng.uniform(0.05, max_uptime))
            run.up.clear()
            in_flight.append(sum(client.busy for client in clients))
            server.kill()
        print(f"  kill {kill + 1}/{kills}: {in_flight[-1]} POSTs in flight", file=sys.stderr)
    return in_flight, port


def live(clients: list[Client], min_acknowledged: int, uptime: float) -> None:
    """One life of a server: until the clients have had ``min_acknowledged`` more requests
    acknowledged, then ``uptime`` seconds. The count makes each life do some work whatever
    the machine's speed (a slow one would otherwise kill before the workload reaches its
    merges); a server that acknowledges nothing for ACKNOWLEDGE_TIMEOUT is killed anyway."""
    wanted = acknowledged(clients) + min_acknowledged
    deadline = time.monotonic() + ACKNOWLEDGE_TIMEOUT
    while acknowledged(clients) < wanted and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(uptime)


def acknowledged(clients: list[Client]) -> int:
    return sum(client.figures.acknowledged for client in clients)


# --- the report --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    started = time.monotonic()
    # a Neo4j may hold earlier runs: each run writes a namespace of its own there
    run = Run(
        args.seed, args.batch, f"{NAMESPACE}-{uuid.uuid4().hex[:8]}" if args.store else NAMESPACE
    )
    clients = [Client(number, run) for number in range(args.clients)]
    with tempfile.TemporaryDirectory(prefix="idgraph-crash-") as directory:
        logs = Path(directory)
        store = args.store or f"sqlite:///{logs / 'crash.db'}"
        # the servers' own temporary files (a killed server cannot remove them) go here too
        os.environ["TMPDIR"] = directory
        for client in clients:
            client.start()
        try:
            in_flight, port = serve_and_kill(
                store, logs, run, clients, args.kills, args.max_uptime, args.min_acknowledged
            )
            with Server(store, logs / "last.log", port=port) as server:
                run.serving(server.port)  # the last server: the clients finish on it
                uptime = random.Random(args.seed + 1).uniform(0.05, args.max_uptime)
                live(clients, args.min_acknowledged, uptime)
                run.stopping.set()
                for client in clients:
                    client.join()
                acknowledged = [ack for client in clients for ack in client.acknowledged]
                print(f"  clients stopped at {time.monotonic() - started:.1f} s", file=sys.stderr)
                findings, http_replays = check_over_http(
                    server.port, run.namespace, acknowledged, random.Random(args.seed)
                )
                print(f"  checked over HTTP at {time.monotonic() - started:.1f} s", file=sys.stderr)
        finally:  # no client waits for a server that will not come
            run.stopping.set()
            run.up.set()
        # the last server stopped cleanly (SIGTERM): now the store itself
        rules = RuleBook().for_namespace(run.namespace)
        findings.add(check_store(store, run.namespace, acknowledged, rules))
    figures = Figures()
    for client in clients:
        figures.add(client.figures)
    document = report(args, info, figures, findings, in_flight, http_replays, started)
    print(summary_table(document))
    for example in findings.examples:
        print(example)
    if args.json:
        write_json(args.json, document)
    return 0 if document["passed"] else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs of the whole server")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    parser.add_argument("--batch", type=int, default=20, help="mean items per request")
    parser.add_argument(
        "--max-uptime", type=float, default=2.0, help="seconds; each kill comes at random in it"
    )
    parser.add_argument(
        "--min-acknowledged",
        type=int,
        default=5,
        help="requests each server life acknowledges before its --max-uptime starts",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the figures as JSON")
    parser.add_argument(
        "--store",
        metavar="URL",
        help="a Neo4j server (bolt://host:7687; NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE): "
        "the server is killed, Neo4j is not; default: a fresh SQLite file",
    )
    return parser.parse_args(argv)


def report(
    args: argparse.Namespace,
    info: dict[str, Any],
    figures: Figures,
    findings: Findings,
    in_flight: list[int],
    http_replays: int,
    started: float,
) -> dict[str, Any]:
    server_errors = sum(n for status, n in figures.statuses.items() if status.startswith("5"))
    lost = sum(findings.lost.values())
    violations = sum(findings.violations.values())
    return {
        "benchmark": "crash",
        "machine": info,
        "config": {
            k: getattr(args, k)
            for k in ("kills", "clients", "batch", "max_uptime", "min_acknowledged", "seed")
        },
        "seconds": round(time.monotonic() - started, 1),
        "requests": figures.requests,
        "posts": figures.posts,
        "acknowledged": figures.acknowledged,
        "acknowledged_items": figures.acknowledged_items,
        "never_acknowledged": figures.requests - figures.acknowledged,
        "checked_items": findings.checked_items,
        "outcomes": dict(sorted(figures.outcomes.items())),
        "kills": len(in_flight),
        "posts_in_flight_at_kills": sum(in_flight),
        "replays": figures.replays,
        "applied_before_kill_answered_on_replay": figures.applied_unanswered,
        "acknowledged_replayed": figures.replay_checks + http_replays,
        "replay_answers_changed": figures.replay_changed,
        "gave_up": figures.gave_up,
        "other_statuses": dict(figures.statuses),
        "server_errors": server_errors,
        "lost": lost,
        "lost_by_check": dict(findings.lost),
        "rule_violations": violations,
        "violations_by_rule": dict(findings.violations),
        "passed": not (lost or violations or figures.statuses or figures.replay_changed),
    }


def summary_table(document: dict[str, Any]) -> str:
    rows = [
        ("requests sent", document["requests"]),
        ("POSTs (replays included)", document["posts"]),
        ("acknowledged requests", document["acknowledged"]),
        ("acknowledged items", document["acknowledged_items"]),
        ("requests never acknowledged", document["never_acknowledged"]),
        ("kills (SIGKILL, master + workers)", document["kills"]),
        ("POSTs in flight at the kills", document["posts_in_flight_at_kills"]),
        ("replays of unanswered requests", document["replays"]),
        ("  of which applied before the kill", document["applied_before_kill_answered_on_replay"]),
        ("acknowledged requests replayed", document["acknowledged_replayed"]),
        ("  answers changed (must be 0)", document["replay_answers_changed"]),
        ("5xx answers (must be 0)", document["server_errors"]),
        ("lost (must be 0)", document["lost"]),
        ("rule violations (must be 0)", document["rule_violations"]),
        ("seconds", document["seconds"]),
    ]
    outcomes = ", ".join(f"{k} {v:,}" for k, v in document["outcomes"].items())
    verdict = "PASS" if document["passed"] else "FAIL"
    return "\n".join(
        [
            describe_machine(document["machine"]),
            table(("crash test", "count"), [(name, f"{value:,}") for name, value in rows]),
            f"outcomes of acknowledged items: {outcomes}",
            f"answers other than 200 (must be none): {document['other_statuses'] or 'none'}",
            f"result: {verdict}",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
