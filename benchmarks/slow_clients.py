"""Slow clients: can a few idle or trickling connections stall the server?

The real server (``idgraph serve``: gunicorn, its default 2 processes x 2 threads) runs on a
temporary SQLite file holding one profile. A background thread keeps open, over loopback:

- ``--idle`` connections that connect and send nothing;
- ``--trickling`` connections that send a little every ``--interval`` seconds and never
  finish: half send a request line and then one header line at a time, never the empty line
  that ends the head; half send a whole head announcing a 100,000-byte body, then one byte of
  it at a time.

A connection the server closes (a timeout) is opened again at once, so that the attack
holds for the whole measurement. Meanwhile one client sends ``--requests`` ``GET /healthz``,
then as many ``GET /v1/{ns}/profiles/{id}``, one after the other, ``--gap`` seconds apart (so
that the measurement outlasts the server's timeouts: it sees the slow connections closed and
opened again), each on a new connection (as a client without keep-alive would: every one must
be accepted next to the slow ones).
Latency is measured by the caller, connect to answer read; a request with no answer within
``--timeout`` seconds counts as failed, at the time it waited. A phase stops after
``--budget`` seconds, requests not yet sent left out (the table says how many were sent).

The goal (issue 19): p99 under 100 ms for both, with 50 idle and 16 trickling connections.

    python benchmarks/slow_clients.py [--idle 50] [--trickling 16] [--interval 3]
                                      [--requests 200] [--gap 0.05] [--timeout 5]
                                      [--budget 60] [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workload import Server, describe_machine, machine, percentile, table, write_json

NAMESPACE = "slow"
GOAL_MS = 100.0
BODY_BYTES = 100_000


@dataclass
class _Slow:
    """One attacking connection: what it sends first, then what it sends each interval."""

    first: bytes
    each: bytes
    sock: socket.socket | None = None
    next_send: float = 0.0
    sent: int = 0


class Attack:
    """Keeps ``idle`` silent and ``trickling`` slow connections open on ``port`` until
    stopped, opening again any the server closes."""

    def __init__(self, port: int, idle: int, trickling: int, interval: float) -> None:
        self.port, self.interval = port, interval
        head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        post = (
            f"POST /v1/{NAMESPACE}/links HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {BODY_BYTES}\r\n\r\n["
        ).encode()
        self.slots = [_Slow(b"", b"") for _ in range(idle)]
        self.slots += [
            _Slow(head, b"X-Slow: 1\r\n") if n % 2 == 0 else _Slow(post, b" ")
            for n in range(trickling)
        ]
        self.reopened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Attack:
        for slot in self.slots:
            self._open(slot)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        for slot in self.slots:
            if slot.sock is not None:
                slot.sock.close()

    def _open(self, slot: _Slow) -> None:
        slot.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        slot.sock.setblocking(False)
        if slot.first:
            slot.sock.send(slot.first)
        slot.next_send, slot.sent = time.monotonic() + self.interval, 0

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            for slot in self.slots:
                if self._closed_by_server(slot):
                    slot.sock.close()
                    self.reopened += 1
                    self._open(slot)
                elif slot.each and time.monotonic() >= slot.next_send:
                    self._send_more(slot)

    def _closed_by_server(self, slot: _Slow) -> bool:
        try:
            slot.sock.recv(65536)  # an answer (a 408) or the end: the server closes it
        except BlockingIOError:
            return False
        except OSError:
            pass
        return True

    def _send_more(self, slot: _Slow) -> None:
        if slot.each == b" " and slot.sent >= BODY_BYTES - 1:
            return  # never the last byte
        try:
            slot.sock.send(slot.each)
            slot.sent += 1
        except OSError:
            pass  # closed: seen on the next turn
        slot.next_send = time.monotonic() + self.interval


def timed_requests(port: int, path: str, args: argparse.Namespace, count: int) -> dict:
    """``count`` GETs of ``path``, each on a new connection, ``args.gap`` seconds apart, for
    at most ``args.budget`` seconds."""
    latencies: list[float] = []
    failed = 0
    deadline = time.monotonic() + args.budget
    for n in range(count):
        if n:
            time.sleep(args.gap)
        if time.monotonic() > deadline:
            break
        start = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=args.timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                failed += 1
        except OSError:
            failed += 1
        finally:
            connection.close()
        latencies.append(time.perf_counter() - start)
    milliseconds = [latency * 1000 for latency in latencies]
    return {
        "path": path,
        "sent": len(latencies),
        "failed": failed,
        "p50_ms": round(percentile(milliseconds, 50), 2),
        "p99_ms": round(percentile(milliseconds, 99), 2),
        "max_ms": round(max(milliseconds, default=0.0), 2),
    }


def create_profile(port: int) -> str:
    identifiers = [
        {"type": "email", "value": "ann@example.com"},
        {"type": "customId", "value": "ann-1"},
    ]
    body = {"items": [{"identifiers": identifiers}]}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(
            "POST",
            f"/v1/{NAMESPACE}/links",
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        answer = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    return answer["results"][0]["profile_id"]


def run(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    with Server(directory / "slow.db", directory / "server.log") as server:
        profile = f"/v1/{NAMESPACE}/profiles/{create_profile(server.port)}"
        for path in ("/healthz", profile):  # warm-up, not counted
            timed_requests(server.port, path, args, 5)
        with Attack(server.port, args.idle, args.trickling, args.interval) as attack:
            time.sleep(1.0)  # every slow connection open, the first lines sent
            phases = [
                timed_requests(server.port, path, args, args.requests)
                for path in ("/healthz", profile)
            ]
            reopened = attack.reopened
    return {"phases": phases, "reopened": reopened}


def report(figures: dict[str, Any], args: argparse.Namespace, info: dict[str, Any]) -> str:
    rows = [
        [
            "GET /healthz" if phase["path"] == "/healthz" else "GET profile",
            f"{phase['sent']}/{args.requests}",
            phase["failed"],
            f"{phase['p50_ms']:.1f}",
            f"{phase['p99_ms']:.1f}",
            f"{phase['max_ms']:.1f}",
        ]
        for phase in figures["phases"]
    ]
    met = all(
        phase["p99_ms"] < GOAL_MS and not phase["failed"] and phase["sent"] == args.requests
        for phase in figures["phases"]
    )
    return "\n".join(
        [
            describe_machine(info),
            f"{args.idle} idle and {args.trickling} trickling connections (one piece every "
            f"{args.interval:g} s); the server closed and the attack reopened "
            f"{figures['reopened']} of them meanwhile",
            "",
            table(["request", "sent", "failed", "p50 ms", "p99 ms", "max ms"], rows),
            "",
            f"goal p99 < {GOAL_MS:.0f} ms, none failed: {'met' if met else 'NOT met'}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    with tempfile.TemporaryDirectory(prefix="idgraph-slow-") as directory:
        figures = run(args, Path(directory))
    print(report(figures, args, info))
    if args.json:
        write_json(args.json, {"machine": info, "options": vars(args), **figures})
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=50, help="idle connections (default 50)")
    parser.add_argument(
        "--trickling", type=int, default=16, help="trickling connections (default 16)"
    )
    parser.add_argument(
        "--interval", type=float, default=3.0, help="seconds between pieces (default 3)"
    )
    parser.add_argument("--requests", type=int, default=200, help="per path (default 200)")
    parser.add_argument(
        "--gap", type=float, default=0.05, help="seconds between requests (default 0.05)"
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds a request may wait (default 5)"
    )
    parser.add_argument(
        "--budget", type=float, default=60.0, help="seconds per path at most (default 60)"
    )
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON to PATH")
    parser.add_argument("--quick", action="store_true", help="20 requests per path")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.budget = 20, 20.0
    return args


if __name__ == "__main__":
    sys.exit(main())
