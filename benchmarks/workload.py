"""The benchmarks' shared workload and measuring tools.

The workload is a deterministic (``seed``) stream of link batches that grows a store to a
given number of identifiers, item by item in this mix:

- 70% anonymous visits: a new ``browserId`` and a new ``uuid`` (outcome ``created``);
- 20% CRM syncs of a new customer ``email`` and ``customId``: half of them name the uuids of
  two untouched anonymous profiles (``merged``), a quarter attach to one (``linked``); the last
  quarter is a known customer logging in on an anonymous browser (``merged``);
- 10% conflicts: a recognized customer's uuid sent with another customer's email
  (``unique_type:email``), or a customer's email with a second customId
  (``unique_type:customId``).

Each item carries the outcome the generator intends, so a run can prove the mix happened.
An item may refer to profiles made earlier in its own batch (same transaction) or at least
``REFERENCE_LAG`` batches earlier, so that clients posting batches concurrently still refer
only to committed profiles.

Alongside it: the machine's description, percentiles, memory of a process from /proc, the
real server (``idgraph serve``) in a subprocess, a keep-alive HTTP connection, and the
service-layer ingest that both scripts run.
"""

from __future__ import annotations

import cProfile
import hashlib
import http.client
import json
import math
import os
import platform
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.service import IdentityService, LinkRequest

NAMESPACE = "bench"
SOURCE = "benchmark"

ANONYMOUS_SHARE = 0.70
CRM_SHARE = 0.20  # the rest, 10%, are conflicts
REFERENCE_LAG = 8  # batches before another batch may refer to a profile

FIRST_NAMES = ("Anna", "Jan", "Maria", "Piotr", "Katarzyna", "Tomasz", "Zofia")
LAST_NAMES = ("Nowak", "Kowalski", "Lewandowska", "Wójcik", "Kamińska", "Zieliński")
DOMAINS = ("Example.com", "mail.example.org", "shop.example.net")
CITIES = ("Warszawa", "Kraków", "Gdańsk", "Poznań", "Wrocław")


# --- the workload ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    kind: str  # which generator rule made it: anonymous, crm_merge, conflict_email, ...
    identifiers: tuple[tuple[str, str], ...]
    attributes: dict[str, Any]
    expected: str  # the outcome the generator intends

    @property
    def links(self) -> int:
        """Links the item asks for: its anchor joined to each other identifier."""
        return len(self.identifiers) - 1

    def as_json(self) -> dict[str, Any]:
        identifiers = [{"type": type_, "value": value} for type_, value in self.identifiers]
        return {"identifiers": identifiers, "attributes": self.attributes}


@dataclass(frozen=True, slots=True)
class Batch:
    index: int
    request_id: str
    items: tuple[Item, ...]
    identifiers_after: int  # identifiers the store holds once this batch is applied

    @property
    def links(self) -> int:
        return sum(item.links for item in self.items)

    @property
    def expected(self) -> list[str]:
        return [item.expected for item in self.items]

    def link_requests(self) -> list[LinkRequest]:
        return [LinkRequest(item.identifiers, item.attributes) for item in self.items]

    def body(self) -> bytes:
        """The batch as the native API's POST /v1/{ns}/links body."""
        document = {
            "items": [item.as_json() for item in self.items],
            "source": SOURCE,
            "request_id": self.request_id,
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Workload:
    identifiers: int = 200_000
    batch_size: int = 1_000
    seed: int = 1

    def batches(self) -> Iterator[Batch]:
        """The batches, the same ones on every call."""
        return _Generator(self).batches()

    def anonymous_pairs(self) -> Iterator[tuple[str, str]]:
        """(browserId, uuid) pairs making as many identifiers as the workload: the raw
        baseline's rows."""
        values = _Values(self.seed)
        for number in range(self.identifiers // 2):
            yield values.browser(number), values.uuid(number)


class _Values:
    """Identifier values derived from a number, so the generator keeps numbers, not strings."""

    def __init__(self, seed: int) -> None:
        self._seed = seed

    def _hex(self, label: str, number: int) -> str:
        text = f"{self._seed}:{label}:{number}".encode()
        return hashlib.blake2b(text, digest_size=16).hexdigest()

    def browser(self, number: int) -> str:
        return self._hex("browser", number)[:24]

    def uuid(self, number: int) -> str:
        h = self._hex("uuid", number)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    @staticmethod
    def person(number: int) -> tuple[str, str]:
        return FIRST_NAMES[number % 7], LAST_NAMES[(number // 7) % 6]

    def email(self, number: int) -> str:
        first, last = self.person(number)
        return f"{first}.{last}.{number}@{DOMAINS[number % 3]}"  # mixed case: normalized

    @staticmethod
    def custom_id(number: int) -> str:
        return f"CRM-{number:08d}"

    @staticmethod
    def stray_custom_id(number: int) -> str:
        """A customId no customer holds: the second customId of a conflict."""
        return f"CRM-X{number:08d}"

    def crm_attributes(self, number: int) -> dict[str, Any]:
        first, last = self.person(number)
        return {"firstName": first, "lastName": last, "city": CITIES[number % 5]}


class _Pool:
    """Numbers of profiles later items may refer to. A profile made in batch i is visible at
    once to the rest of batch i (same transaction) and to batches after i + lag."""

    def __init__(self, lag: int) -> None:
        self._lag = lag
        self._settled = array("q")
        self._fresh = array("q")
        self._waiting: deque[array] = deque()

    def __len__(self) -> int:
        return len(self._settled) + len(self._fresh)

    def add(self, number: int) -> None:
        self._fresh.append(number)

    def end_batch(self) -> None:
        self._waiting.append(self._fresh)
        self._fresh = array("q")
        if len(self._waiting) > self._lag:
            self._settled.extend(self._waiting.popleft())

    def pick(self, rng: random.Random) -> int:
        numbers, position = self._locate(rng.randrange(len(self)))
        return numbers[position]

    def take(self, rng: random.Random) -> int:
        """Pick and remove (swap with the last, so removal is O(1))."""
        numbers, position = self._locate(rng.randrange(len(self)))
        number = numbers[position]
        numbers[position] = numbers[-1]
        numbers.pop()
        return number

    def _locate(self, position: int) -> tuple[array, int]:
        if position < len(self._settled):
            return self._settled, position
        return self._fresh, position - len(self._settled)


class _Generator:
    """One pass over the workload: the random stream and the profiles made so far."""

    def __init__(self, workload: Workload) -> None:
        self._workload = workload
        self._rng = random.Random(workload.seed)
        self._values = _Values(workload.seed)
        self._anonymous = _Pool(REFERENCE_LAG)  # anonymous profiles no later item touched
        self._recognized = _Pool(REFERENCE_LAG)  # customers: email + customId
        self._uuid_of_customer = array("q")  # customer number -> anonymous number of a uuid
        self._next_anonymous = 0
        self._strays = 0
        self._stored = 0  # identifiers the store holds after the items so far

    def batches(self) -> Iterator[Batch]:
        workload = self._workload
        index = 0
        while self._stored < workload.identifiers:
            items: list[Item] = []
            while len(items) < workload.batch_size and self._stored < workload.identifiers:
                items.append(self._next_item())
            request_id = f"bench-{workload.seed}-{index}"
            yield Batch(index, request_id, tuple(items), self._stored)
            self._anonymous.end_batch()
            self._recognized.end_batch()
            index += 1

    def _next_item(self) -> Item:
        roll = self._rng.random()
        if roll < ANONYMOUS_SHARE:
            return self._anonymous_visit()
        if roll < ANONYMOUS_SHARE + CRM_SHARE:
            return self._crm_sync()
        return self._conflict()

    # --- the kinds of item; each falls back to an anonymous visit when what it refers to
    # does not exist yet (the first items of a run)

    def _anonymous_visit(self) -> Item:
        number = self._next_anonymous
        self._next_anonymous += 1
        self._anonymous.add(number)
        self._stored += 2
        values = self._values
        identifiers = (("browserId", values.browser(number)), ("uuid", values.uuid(number)))
        return Item("anonymous", identifiers, {}, "created")

    def _crm_sync(self) -> Item:
        roll = self._rng.random()
        if roll < 0.5 and len(self._anonymous) >= 2:
            return self._new_customer("crm_merge", anonymous_profiles=2)
        if roll < 0.75 and len(self._anonymous) >= 1:
            return self._new_customer("crm_attach", anonymous_profiles=1)
        if len(self._recognized) >= 1 and len(self._anonymous) >= 1:
            return self._login()
        return self._anonymous_visit()

    def _new_customer(self, kind: str, anonymous_profiles: int) -> Item:
        """[new email, uuid of each anonymous profile, new customId]: one profile is linked,
        two are merged."""
        customer = len(self._uuid_of_customer)
        devices = [self._anonymous.take(self._rng) for _ in range(anonymous_profiles)]
        self._uuid_of_customer.append(devices[0])
        self._recognized.add(customer)
        self._stored += 2
        values = self._values
        identifiers = (
            ("email", values.email(customer)),
            *(("uuid", values.uuid(device)) for device in devices),
            ("customId", values.custom_id(customer)),
        )
        expected = "merged" if anonymous_profiles > 1 else "linked"
        return Item(kind, identifiers, values.crm_attributes(customer), expected)

    def _login(self) -> Item:
        """[known email, browser of an anonymous profile]: the anonymous profile is merged
        into the customer's."""
        customer = self._recognized.pick(self._rng)
        device = self._anonymous.take(self._rng)
        identifiers = (
            ("email", self._values.email(customer)),
            ("browserId", self._values.browser(device)),
        )
        return Item("crm_login", identifiers, {}, "merged")

    def _conflict(self) -> Item:
        if len(self._recognized) < 2:
            return self._anonymous_visit()
        if self._rng.random() < 0.5:
            return self._email_conflict()
        return self._custom_id_conflict()

    def _email_conflict(self) -> Item:
        """A customer's uuid with another customer's email: an email is unique per profile."""
        first = self._recognized.pick(self._rng)
        second = self._recognized.pick(self._rng)
        while second == first:
            second = self._recognized.pick(self._rng)
        identifiers = (
            ("uuid", self._values.uuid(self._uuid_of_customer[first])),
            ("email", self._values.email(second)),
        )
        return Item("conflict_email", identifiers, {}, "conflict")

    def _custom_id_conflict(self) -> Item:
        """A customer's email with a second customId: a customId is unique per profile."""
        customer = self._recognized.pick(self._rng)
        self._strays += 1
        identifiers = (
            ("email", self._values.email(customer)),
            ("customId", self._values.stray_custom_id(self._strays)),
        )
        return Item("conflict_custom_id", identifiers, {}, "conflict")


# --- one ingest run and its figures ------------------------------------------------------------


@dataclass
class IngestRun:
    """What one way of ingesting the workload did, and how long it took."""

    path: str
    items: int = 0
    links: int = 0
    seconds: float = 0.0  # the time the figures divide by (see each runner)
    batch_seconds: list[float] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)  # what the generator sent
    outcomes: Counter[str] = field(default_factory=Counter)  # what the service answered
    unexpected: int = 0  # items whose outcome was not the one the generator intended
    rss_at_10pct_kb: int | None = None
    rss_end_kb: int | None = None
    peak_rss_kb: int | None = None
    wal_end_bytes: int | None = None  # the store's -wal file when the last batch is in

    def record(self, batch: Batch, seconds: float, outcomes: Sequence[str]) -> None:
        """One applied batch and the outcomes the service answered, in item order."""
        self.add(seconds, items=len(batch.items), links=batch.links)
        self.kinds.update(item.kind for item in batch.items)
        self.outcomes.update(outcomes)
        self.unexpected += sum(a != e for a, e in zip(outcomes, batch.expected, strict=True))

    def add(self, seconds: float, *, items: int, links: int) -> None:
        self.items += items
        self.links += links
        self.batch_seconds.append(seconds)

    @property
    def links_per_second(self) -> float:
        return self.links / self.seconds if self.seconds else 0.0

    def batch_ms(self, q: float, tenth: str = "all") -> float:
        """A percentile of batch latency over all batches, or the ``first`` or ``last`` tenth
        of them (in the order they finished): how latency moves as the store grows."""
        count = max(1, len(self.batch_seconds) // 10)
        part = {
            "all": self.batch_seconds,
            "first": self.batch_seconds[:count],
            "last": self.batch_seconds[-count:],
        }[tenth]
        return percentile(part, q) * 1000

    def summary(self) -> dict[str, Any]:
        """The figures as JSON-ready data (latencies in milliseconds)."""
        return {
            "path": self.path,
            "items": self.items,
            "links": self.links,
            "batches": len(self.batch_seconds),
            "seconds": round(self.seconds, 3),
            "links_per_second": round(self.links_per_second, 1),
            "batch_p50_ms": round(self.batch_ms(50), 2),
            "batch_p99_ms": round(self.batch_ms(99), 2),
            "batch_p50_first_tenth_ms": round(self.batch_ms(50, "first"), 2),
            "batch_p50_last_tenth_ms": round(self.batch_ms(50, "last"), 2),
            "kinds": dict(sorted(self.kinds.items())),
            "outcomes": dict(sorted(self.outcomes.items())),
            "unexpected_outcomes": self.unexpected,
            "rss_at_10pct_kb": self.rss_at_10pct_kb,
            "rss_end_kb": self.rss_end_kb,
            "peak_rss_kb": self.peak_rss_kb,
            "wal_end_bytes": self.wal_end_bytes,
        }


def ingest_in_process(
    service: IdentityService,
    workload: Workload,
    *,
    profiler: cProfile.Profile | None = None,
    progress: Callable[[Batch], None] | None = None,
    namespace: str = NAMESPACE,
) -> IngestRun:
    """Ingest the workload through IdentityService.link, batch by batch. ``seconds`` is the
    sum of the link() calls: building the workload is not counted, normalization is.
    Memory is this process's."""
    run = IngestRun("service layer")
    tenth = workload.identifiers / 10
    for batch in workload.batches():
        requests = batch.link_requests()
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        result = service.linking.link(
            namespace, requests, source=SOURCE, request_id=batch.request_id
        )
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - started
        run.seconds += elapsed
        run.record(batch, elapsed, [item.outcome.kind for item in result.results])
        if run.rss_at_10pct_kb is None and batch.identifiers_after >= tenth:
            run.rss_at_10pct_kb = memory_kb()
        if progress:
            progress(batch)
    run.rss_end_kb = memory_kb()
    run.peak_rss_kb = memory_kb(field_name="VmHWM")
    return run


def progress_printer(label: str, workload: Workload) -> Callable[[Batch], None]:
    """A callback printing to stderr each time another tenth of the workload is in."""
    printed = [0]

    def report(batch: Batch) -> None:
        tenth = batch.identifiers_after * 10 // workload.identifiers
        if tenth > printed[0]:
            printed[0] = tenth
            print(f"  {label}: {tenth * 10}%", file=sys.stderr, flush=True)

    return report


# --- figures -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def memory_kb(pid: int | str = "self", field_name: str = "VmRSS") -> int | None:
    """A memory figure of a process from /proc/<pid>/status, in kB (VmRSS now, VmHWM peak)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def wal_size(store: Path) -> int | None:
    """Bytes in a SQLite store's write-ahead log, None if it has none."""
    try:
        return store.with_name(store.name + "-wal").stat().st_size
    except OSError:
        return None


def reset_peak_memory() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux: 5 > /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def machine() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "os": platform.platform(),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe_machine(info: dict[str, Any]) -> str:
    return (
        f"machine: {info['cpu']}, {info['cores']} cores; Python {info['python']}, "
        f"SQLite {info['sqlite']}; {info['os']}"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table: first column left-aligned, the others right-aligned."""
    cells = [list(map(str, headers))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]

    def line(row: list[str]) -> str:
        first, *rest = zip(row, widths, strict=True)
        return "  ".join([first[0].ljust(first[1])] + [c.rjust(w) for c, w in rest])

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def write_json(path: str, document: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as output:
        json.dump(document, output, indent=2, ensure_ascii=False)
        output.write("\n")


# --- the real server ---------------------------------------------------------------------------


def answers_ok(port: int, path: str, timeout: float = 5.0) -> bool:
    """Whether ``GET path`` on 127.0.0.1:``port`` is answered 200; False when nothing answers
    (yet), or the connection breaks."""
    connection = Connection(port, timeout=timeout)
    try:
        return connection.request("GET", path)[0] == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``idgraph serve`` (gunicorn: a master and ``IDGRAPH_WORKERS`` worker processes, 2 by
    default) in a subprocess, on a free loopback port, over the given store file (or store
    URL: a Neo4j server, with NEO4J_* taken from this environment). A context manager; ready
    once /healthz answers and every worker logged that it is ready.

    ``port`` restarts a server where an earlier one listened; with ``process_group`` the
    server leads a process group of its own, so that ``kill()`` can end the master and its
    workers at once."""

    def __init__(
        self, store: Path | str, log: Path, *, port: int | None = None, process_group: bool = False
    ) -> None:
        self.port = port or free_port()
        self._store = store
        self._log = log
        self._process_group = process_group
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        environment = {
            **os.environ,
            "IDGRAPH_STORE": (
                self._store
                if isinstance(self._store, str)
                else f"sqlite:///{self._store.resolve()}"
            ),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "IDGRAPH_LOG_LEVEL": "info",  # boot lines only: gunicorn's access log is off
        }
        environment.pop("IDGRAPH_ADMIN_TOKEN", None)  # local open mode on loopback
        self.workers = int(environment.get("IDGRAPH_WORKERS", "2"))
        command = [str(Path(sys.executable).parent / "idgraph"), "serve"]
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=self._process_group,
            )
        self._wait_ready()
        return self

    def __exit__(self, *exc_info: object) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def kill(self, timeout: float = 30.0) -> None:
        """SIGKILL the master and every worker at once, as a power cut or the OOM killer
        would: no handler runs, no transaction finishes. Returns once none of them is alive
        (a surviving worker would keep answering on the port). Needs ``process_group``."""
        process = self._process
        assert process is not None and self._process_group, "start with process_group=True"
        workers = self.worker_pids()
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + timeout
        while any(_alive(pid) for pid in workers):
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers {workers} still alive {timeout:.0f}s after SIGKILL")
            time.sleep(0.01)

    def _wait_ready(self, timeout: float = 60.0) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self._log.read_text()}")
            ready = self._log.read_text().count("ready")  # "idgraph worker <pid> ready"
            if ready >= self.workers and self._healthy():
                return
            time.sleep(0.05)
        raise RuntimeError(f"server not ready in {timeout:.0f}s:\n{self._log.read_text()}")

    def _healthy(self) -> bool:
        return answers_ok(self.port, "/healthz")

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the processes that serve requests and hold the store."""
        assert self._process is not None
        pid = self._process.pid
        try:
            with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as children:
                return [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            return _children_of(pid)

    def worker_families(self) -> list[list[int]]:
        """Each worker with its own children (its writing process and multiprocessing's
        resource tracker, graph/service/writer.py): what serves and writes for it."""
        return [[pid, *_children_of(pid)] for pid in self.worker_pids()]

    def worker_memory_kb(self, field_name: str = "VmRSS") -> int | None:
        """Summed over the workers and their own children."""
        sizes = [memory_kb(pid, field_name) for family in self.worker_families() for pid in family]
        return sum(size for size in sizes if size is not None) or None


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie (dead, its files closed, not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children_of(parent: int) -> list[int]:
    """The children of ``parent``, found by scanning /proc (when .../children is missing)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the field after the ")" closing the command name: state, then the parent pid
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            children.append(int(entry.name))
    return children


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects and retries once if the server closed
    it (a retried POST carries its request_id, so it cannot apply twice)."""

    def __init__(self, port: int, timeout: float = 120.0) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        for attempt in range(2):
            try:
                self._connection.request(method, path, body=body, headers=headers)
                response = self._connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._connection.close()
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._connection.close()
