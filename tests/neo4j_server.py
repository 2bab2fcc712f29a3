"""A real Neo4j 5.26 Community for tests, without Docker: the embedded DBMS of tools/neo4j/
(Maven Central jars, Bolt on 127.0.0.1), started as a child process in a folder of its own.

    with Neo4jServer(tmp_path / "neo4j") as server:
        driver = neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password))
        ...
        server.restart()  # the same home, port and password: what survives a restart

It builds tools/neo4j on first use (``tools/neo4j/run --build``, what ``make`` runs: the jars go to
tools/neo4j/.m2, about 160 MB, a minute or two on a fresh clone), picks a free loopback port
unless given one, and is ready only once ``RETURN 1`` is answered through the driver. The
launcher's output goes to ``home/neo4j.out``, Neo4j's own logs to ``home/logs/``.

Only the standard library and the ``neo4j`` driver: it imports nothing from graph/ or the tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import neo4j
from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable, SessionExpired

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "tools" / "neo4j" / "run"
DEFAULT_PASSWORD = "idgraph-dev-password"
PORT_IN_USE = 3  # the launcher's exit status when its Bolt port is taken
# What a deployment that must erase sets (docs/storage.md, "Erasure on Neo4j"), and what the
# tests' Neo4j and `make neo4j` run with: a purge leaves the transaction logs about a second
# after it commits (the purge pads the log file holding it to 128k, so Neo4j starts a new
# one; the next checkpoint, at most a second later, deletes every older file). Safe for
# development: Neo4j never prunes the logs its recovery needs (those since the last
# checkpoint), and no backup reads them here.
ERASURE_SETTINGS = {
    "db.tx_log.rotation.retention_policy": "1 files",
    "db.tx_log.rotation.size": "128k",
    "db.checkpoint.interval.time": "1s",
}

# What the tests' servers run with (tests/bolt_server.py): the serial collector, and C2, the
# JIT's slow tier, only for code some ten times hotter than by default. A test session sends
# thousands of small, different queries within minutes, and C2's compiles of code run a few
# thousand times never paid back the CPU that the tests' own Python needs on 2 cores.
# Measured on a 2-core Xeon (2026-12-07), `pytest -n 2 tests/api` / `pytest
# tests/e2e/test_migrate.py tests/e2e/test_concurrency.py`: the JVM's defaults 172-178 s /
# 63-66 s; these 154 / 70 s; C1 only (-XX:TieredStopAtLevel=1) 142-150 / 91 s. Benchmarks
# keep the defaults: a server that runs for hours wants C2.
TEST_JAVA_OPTIONS = (
    "-XX:+UseSerialGC",
    "-XX:Tier4InvocationThreshold=100000",
    "-XX:Tier4CompileThreshold=120000",
    "-XX:Tier4BackEdgeThreshold=400000",
)


class Neo4jServer:
    """``with Neo4jServer(home) as server:`` starts a Neo4j on ``server.uri`` and stops it.

    ``settings`` are extra neo4j.conf settings (``{"db.tx_log.rotation.retention_policy":
    "1 files"}``), checked by Neo4j itself; ``java_options`` more options for its JVM
    (``TEST_JAVA_OPTIONS``). The password is set when ``home`` is new; a home keeps the
    password it was first started with.
    """

    user = "neo4j"
    database = "neo4j"

    def __init__(
        self,
        home: Path,
        *,
        port: int | None = None,
        password: str = DEFAULT_PASSWORD,
        heap: str = "512m",
        pagecache: str = "64m",
        transaction_timeout: str = "120s",
        settings: Mapping[str, str] | None = None,
        java_options: Sequence[str] = (),
        startup_timeout: float = 90.0,
        stop_timeout: float = 30.0,
    ) -> None:
        if len(password) < 8:
            raise ValueError("Neo4j needs a password of at least 8 characters")
        self.home = Path(home).resolve()
        self.port = port or free_port()
        self._port_chosen = port is None
        self.password = password
        self.heap = heap
        self.pagecache = pagecache
        self.transaction_timeout = transaction_timeout
        self.settings = dict(settings or {})
        self.java_options = tuple(java_options)
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.log = self.home / "neo4j.out"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The JVM's process id while it runs (tools/neo4j/run execs java)."""
        return self.process.pid if self.running else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # --- lifecycle ------------------------------------------------------------------------

    @staticmethod
    def build() -> None:
        """Fetch the jars and compile the launcher unless done already (a no-op then)."""
        subprocess.run([str(RUN), "--build"], check=True, stdin=subprocess.DEVNULL, timeout=1200)

    def start(self) -> Neo4jServer:
        """Start it and return once it answers queries; a port this object chose itself is
        chosen again if another process took it meanwhile."""
        if self.running:
            raise RuntimeError(f"Neo4j already running on {self.uri} (pid {self.pid})")
        self.build()
        self.home.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):
            self._spawn()
            try:
                self._wait_ready()
                return self
            except _PortTaken:
                if not self._port_chosen or attempt == 2:
                    raise RuntimeError(f"port {self.port} is taken\n{self.log_tail()}") from None
                self.port = free_port()
        raise AssertionError("unreachable")

    def stop(self) -> int | None:
        """SIGTERM, then wait for a clean shutdown (SIGKILL after ``stop_timeout``). Returns the
        exit status (-15 or 143 after SIGTERM), None if it was not started."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def restart(self) -> Neo4jServer:
        """Stop and start again on the same home, port and password."""
        self.stop()
        return self.start()

    def __enter__(self) -> Neo4jServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- for the tests --------------------------------------------------------------------

    def driver(self, **config: object) -> neo4j.Driver:
        """A driver logged in as neo4j; the caller closes it."""
        return neo4j.GraphDatabase.driver(self.uri, auth=(self.user, self.password), **config)

    def environment(self) -> dict[str, str]:
        """The settings that point `idgraph` at this server, and those of `make neo4j-test`."""
        return {
            "IDGRAPH_STORE": self.uri,
            "NEO4J_URI": self.uri,
            "NEO4J_USER": self.user,
            "NEO4J_PASSWORD": self.password,
            "NEO4J_DATABASE": self.database,
        }

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the launcher's output and of Neo4j's user log, for error messages."""
        parts = []
        for path in (self.log, self.home / "logs" / "neo4j.log"):
            if path.exists():
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path} ---\n" + "\n".join(text))
        return "\n".join(parts) or f"(no output in {self.home})"

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"Neo4jServer({self.uri}, home={self.home}, {state})"

    # --- internals ------------------------------------------------------------------------

    def _spawn(self) -> None:
        environ = {
            **os.environ,
            "NEO4J_PORT": str(self.port),
            "NEO4J_PASSWORD": self.password,
            "NEO4J_DATA": str(self.home),
            "NEO4J_HEAP": self.heap,
            "NEO4J_PAGECACHE": self.pagecache,
            "NEO4J_TX_TIMEOUT": self.transaction_timeout,
            "NEO4J_JAVA_OPTS": " ".join(self.java_options),
        }
        arguments: list[str] = []
        for name, value in self.settings.items():
            arguments += ["--setting", f"{name}={value}"]
        with self.log.open("ab") as log:
            log.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting on {self.uri}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [str(RUN), *arguments],
                env=environ,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _wait_ready(self) -> None:
        """Until ``RETURN 1`` is answered: the Bolt port opens a second or two before queries
        are served, so only a real query says it is ready."""
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        last: Exception | None = None
        with self.driver(connection_timeout=2.0, max_connection_lifetime=60) as driver:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    process, self.process = self.process, None
                    if process.returncode == PORT_IN_USE:
                        raise _PortTaken
                    tail = self.log_tail()
                    raise RuntimeError(
                        f"Neo4j exited with status {process.returncode} before it answered a"
                        f" query on {self.uri}\n{tail}"
                    )
                try:
                    with driver.session(database=self.database) as session:
                        session.run("RETURN 1").consume()
                    return
                except AuthError as error:
                    self.stop()
                    raise RuntimeError(
                        f"Neo4j on {self.uri} refused the password: {self.home} was first"
                        f" started with another one ({error.code})"
                    ) from error
                except (ServiceUnavailable, SessionExpired, Neo4jError, OSError) as error:
                    last = error
                    time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"Neo4j on {self.uri} answered no query in {self.startup_timeout:.0f} s"
            f" (last error: {last!r})\n{self.log_tail()}"
        )


class _PortTaken(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
