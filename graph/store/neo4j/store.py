"""The Neo4j store: the store protocol (base.py) on Neo4j 5 through the official driver.

The model is drawn at the top of cypher/schema.cypher. Every statement is a file under
cypher/store/, read once when the store opens (a missing file fails start-up, not a request),
and every batch is one ``UNWIND $rows`` statement per kind of change (tx.py).

Transactions are the driver's managed ones (``execute_read``/``execute_write``), one per
request, retried by the driver on transient errors; ``work`` may therefore run more than once,
which the store protocol allows. Every write transaction first takes the one WriteLock node
(cypher/store/take_write_lock.cypher), so writers take turns as they do on SQLite: the planner
reads the profiles a batch touches and the next free ids, and both must hold until commit.
Locking only the touched profiles would let writers of unrelated profiles overlap, but new
identifiers and new ids would then need locks of their own; measure before choosing that.

Profile attributes are one JSON property on the profile; ids are integers from Sequence
nodes shared by all namespaces, as on SQLite. Element ids are never stored. Besides the rows
themselves, every change set writes the history time travel reads (Placement and
AttributeVersion nodes); the reads of history are in history.py.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from importlib.resources.abc import Traversable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import neo4j
from neo4j.exceptions import ConstraintError, DriverError, Neo4jError

from graph.errors import StoreError
from graph.store.cypher import CYPHER_DIR, Statement, load_statements
from graph.store.neo4j import SCHEMES, history, keys, purge, schema, tx
from graph.store.neo4j.tx import Neo4jTx

T = TypeVar("T")

# the store's own; then every statement a transaction runs
STATEMENTS = ("take_write_lock", "identifiers_page", "links_page")
ALL_STATEMENTS = (
    STATEMENTS + tx.STATEMENTS + history.STATEMENTS + keys.STATEMENTS + purge.STATEMENTS
)
_PAGE = 5000
_STATEMENT_ERRORS = "Neo.ClientError.Statement."
# On Neo4j the write lock makes a uniqueness race impossible. A server with optimistic
# transactions (ArcadeDB) lets two writers run and fails the later one at commit: with a
# transient error, which the driver retries, or with a uniqueness violation on the ids both
# planned, which is retried here. A real violation still surfaces after these attempts.
_RACE_RETRIES = 10


class Neo4jStore:
    def __init__(
        self,
        uri: str,
        *,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        cypher_dir: Traversable | None = None,
        read_only: bool = False,
    ) -> None:
        """Connect, and create the constraints, indexes and seed nodes. ``read_only`` (an
        export, `idgraph cypher`, a reader without schema or write rights) creates nothing and
        refuses every write."""
        parts = urlsplit(uri)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise StoreError(
                f"not a Neo4j store URL: {uri!r} (expected neo4j://host:7687 or bolt://host:7687)"
            )
        folder = CYPHER_DIR if cypher_dir is None else cypher_dir
        self.statements = load_statements(folder / "store", ALL_STATEMENTS)
        self.schema = schema.statements(folder)
        self.read_only = read_only
        self.url = uri
        self.database = database or "neo4j"
        auth = (user or "neo4j", password) if password is not None else None
        try:
            # the server's notifications (a label not used yet, an index that exists) are
            # about the statements, not the data: the driver would log each at WARNING or INFO
            self.driver = neo4j.GraphDatabase.driver(
                uri, auth=auth, notifications_min_severity="OFF"
            )
            self.driver.verify_connectivity()
            if not read_only:
                self.initialize()
        except (Neo4jError, DriverError, OSError) as error:
            self.close()
            raise StoreError(f"cannot open Neo4j store {uri}: {error}") from error

    def __enter__(self) -> Neo4jStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Neo4jStore:
        return cls(url, **options)

    def initialize(self) -> None:
        """Constraints, indexes and the sequence and lock nodes (schema.py)."""
        for text in self.schema:
            self._session_run(neo4j.WRITE_ACCESS, lambda tx, text=text: tx.run(text).consume())

    # --- transactions -------------------------------------------------------------------------

    def read(self, work: Callable[[Neo4jTx], T]) -> T:
        return self._session_run(neo4j.READ_ACCESS, lambda tx: work(Neo4jTx(tx, self.statements)))

    def write(self, work: Callable[[Neo4jTx], T]) -> T:
        if self.read_only:
            raise StoreError(f"{self.url} is open read-only")

        def locked(tx: neo4j.ManagedTransaction) -> T:
            unit = Neo4jTx(tx, self.statements)
            unit.run("take_write_lock")
            return work(unit)

        for attempt in range(_RACE_RETRIES):
            try:
                return self._session_run(neo4j.WRITE_ACCESS, locked)
            except StoreError as error:
                if not isinstance(error.__cause__, ConstraintError):
                    raise
                if attempt == _RACE_RETRIES - 1:
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))  # jitter: losers spread out
        raise AssertionError("unreachable")

    def run(self, statement: Statement, *, write: bool = False, **parameters: Any) -> list[dict]:
        """One statement in its own transaction, its rows as dicts (analytics, tests)."""
        bound = statement.bind(parameters)
        mode = neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS
        return self._session_run(mode, lambda tx: tx.run(statement.text, bound).data())

    def _session_run(self, mode: str, unit: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run ``unit`` in a managed transaction, retried by the driver on transient errors.
        A statement Neo4j refuses (syntax, types, an entity gone) is a bug of ours, not an
        outage: it surfaces as it is (500, logged); every other failure is a StoreError (503)."""
        try:
            with self.driver.session(database=self.database, default_access_mode=mode) as s:
                if mode == neo4j.WRITE_ACCESS:
                    return s.execute_write(unit)
                return s.execute_read(unit)
        except Neo4jError as error:
            if (error.code or "").startswith(_STATEMENT_ERRORS):
                raise RuntimeError(f"Neo4j refused a statement of idgraph's: {error}") from error
            raise StoreError(f"Neo4j: {error}") from error
        except DriverError as error:
            raise StoreError(f"Neo4j: {error}") from error

    # --- streaming reads for exports and checks -------------------------------------------------

    def iter_identifiers(self, namespace: str) -> Iterator[tuple[str, str, str, int | None]]:
        for row in self._pages("identifiers_page", "key", "", ns=namespace):
            yield row["key"], row["type"], row["value"], row["profile_id"]

    def iter_links(self, namespace: str, *, active_only: bool = False) -> Iterator[dict[str, Any]]:
        yield from self._pages("links_page", "id", 0, ns=namespace, active_only=active_only)

    def _pages(self, name: str, order: str, start: Any, **parameters: Any) -> Iterator[dict]:
        """Page by the ordering column, each page its own read transaction: a long export holds
        no transaction open."""
        after = start
        while True:
            rows = self.run(self.statements[name], after=after, limit=_PAGE, **parameters)
            yield from rows
            if len(rows) < _PAGE:
                return
            after = rows[-1][order]

    def ping(self) -> None:
        try:
            self.driver.verify_connectivity()
        except (Neo4jError, DriverError, OSError) as error:
            raise StoreError(f"Neo4j: {error}") from error

    def settle_erasure(self) -> None:
        purge.settle_erasure(self)  # after a purge committed: purge.py says what it does

    def close(self) -> None:
        driver = getattr(self, "driver", None)
        if driver is not None:
            driver.close()
