"""A real Bolt server for the Neo4j store's tests: the Neo4j named by ``NEO4J_URI`` when it is
set, otherwise ArcadeDB from the ``arcadedb-embedded`` wheel, started on free loopback ports in
a temporary directory with the Java runtime the wheel bundles.

ArcadeDB speaks Bolt 5 and Neo4j 5 Cypher with transactions that really roll back, which is
what the contract and API suites need. It is more lenient than Neo4j; tools/lint_cypher.js is
what keeps the statements Neo4j-valid.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from graph.store.neo4j.store import Neo4jStore


@dataclass(frozen=True)
class BoltServer:
    uri: str
    user: str
    password: str
    database: str
    name: str  # "neo4j" or "arcadedb", for test ids and skip reasons

    def open_store(self) -> Neo4jStore:
        return Neo4jStore(self.uri, user=self.user, password=self.password, database=self.database)

    def environment(self) -> dict[str, str]:
        """The settings that point `idgraph` at this server."""
        return {
            "IDGRAPH_STORE": self.uri,
            "NEO4J_USER": self.user,
            "NEO4J_PASSWORD": self.password,
            "NEO4J_DATABASE": self.database,
        }


def from_environment() -> BoltServer | None:
    uri = os.environ.get("NEO4J_URI")
    if not uri:
        return None
    return BoltServer(
        uri=uri,
        user=os.environ.get("NEO4J_USER", "neo4j"),
        password=os.environ.get("NEO4J_PASSWORD", ""),
        database=os.environ.get("NEO4J_DATABASE", "neo4j"),
        name="neo4j",
    )


class ArcadeDb:
    """``with ArcadeDb(directory) as server:`` starts it and stops it."""

    DATABASE = "idgraph"

    def __init__(self, directory: Path) -> None:
        import arcadedb_embedded

        self.package = Path(arcadedb_embedded.__file__).parent
        self.directory = directory
        self.password = secrets.token_hex(12)
        self.port = free_port()
        self.log = directory / "arcadedb.out"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BoltServer:
        java = self.package / "jre" / "bin" / "java"
        options = {
            "arcadedb.server.plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "arcadedb.bolt.host": "127.0.0.1",
            "arcadedb.bolt.port": self.port,
            "arcadedb.server.httpIncomingHost": "127.0.0.1",
            "arcadedb.server.httpIncomingPort": free_port(),
            "arcadedb.server.rootPath": self.directory,
            "arcadedb.server.rootPassword": self.password,
            "arcadedb.server.defaultDatabases": f"{self.DATABASE}[root]",
        }
        command = [
            str(java),
            "-Xmx1g",
            "-cp",
            f"{self.package / 'jars'}/*",
            *(f"-D{name}={value}" for name, value in options.items()),
            "com.arcadedb.server.ArcadeDBServer",
        ]
        with self.log.open("wb") as log:  # not "log": ArcadeDB makes a log/ folder there
            self.process = subprocess.Popen(
                command, cwd=self.directory, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready(timeout=60)
        return BoltServer(
            f"bolt://127.0.0.1:{self.port}", "root", self.password, self.DATABASE, "arcadedb"
        )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ArcadeDB exited early:\n{self.log.read_text()[-4000:]}")
            if "Server started" in self.log.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise RuntimeError(f"ArcadeDB not ready in {timeout}s:\n{self.log.read_text()[-4000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
