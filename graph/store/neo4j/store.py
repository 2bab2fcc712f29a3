"""The Neo4j store: the store protocol (base.py) on Neo4j 5 through the official driver.

The model is drawn at the top of cypher/schema.cypher. Every statement is a file under
cypher/store/, read once when the store opens (a missing file fails start-up, not a request),
and every batch is one ``UNWIND $rows`` statement per kind of change (tx.py).

Transactions are the driver's managed ones (``execute_read``/``execute_write``), one per
request, retried by the driver on transient errors; ``work`` may therefore run more than once,
which the store protocol allows. A write transaction locks only the identifiers and profiles
its plan is decided on (tx.py), so writers of other profiles and namespaces never wait on each
other; what no lock guards (a new identifier, a request id) is raced for and won once (see
``Neo4jStore.write``).

Profile attributes are one JSON property on the profile; ids are integers counted per
namespace, handed out in blocks (ids.py). Element ids are never stored. Besides the rows
themselves, every change set writes the history time travel reads (Placement and
AttributeVersion nodes); the reads of history are in history.py.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from importlib.resources.abc import Traversable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import neo4j
from neo4j.exceptions import ConstraintError, DriverError, Neo4jError

from graph.errors import StatementRefused, StoreError
from graph.model import utc_now
from graph.store.cypher import CYPHER_DIR, Statement, load_statements
from graph.store.neo4j import SCHEMES, history, keys, purge, rekey, schema, tx
from graph.store.neo4j.ids import IdBlocks
from graph.store.neo4j.retry import LeaseExceeded, StaleRead
from graph.store.neo4j.tx import Neo4jTx

T = TypeVar("T")

# the store's own; then every statement a transaction runs
STATEMENTS = (
    "reserve_ids",
    "identifiers_page",
    "links_page",
    "namespaces",
    "schema_steps_done",
    "finish_schema_step",
    "name_conflict_profiles",
)
ALL_STATEMENTS = (
    STATEMENTS
    + tx.STATEMENTS
    + history.STATEMENTS
    + keys.STATEMENTS
    + purge.STATEMENTS
    + rekey.STATEMENTS
)
_PAGE = 5000
CONFLICT_NAMES = "conflict_names"  # the SchemaStep of the backfill of NAMES
_STATEMENT_ERRORS = "Neo.ClientError.Statement."
# attempts of a write that lost a race to another writer (see Neo4jStore.write)
_RETRIES = 10


def url_problem(url: str) -> str | None:
    """What makes ``url`` no Neo4j server address, or None. Asked before the driver is: it
    reports a malformed host or port as a ValueError, or only once it tries to connect."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises for a port that is no number from 0 to 65535)
    except ValueError as error:
        return f"{error} (expected neo4j://host:7687 or bolt://host:7687)"
    if parts.scheme not in SCHEMES or not parts.hostname:
        return "expected neo4j://host:7687 or bolt://host:7687"
    return None


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
        problem = url_problem(uri)
        if problem:
            raise StoreError(f"not a Neo4j store URL: {uri!r}: {problem}")
        folder = CYPHER_DIR if cypher_dir is None else cypher_dir
        self.statements = load_statements(folder / "store", ALL_STATEMENTS)
        self.schema = schema.statements(folder)
        self._schema_step = schema.step_name(self.schema)
        self.read_only = read_only
        # every transaction of this store sees what the ones before it committed, even on a
        # cluster whose reads go to a follower (Aura, neo4j:// routing): sessions share bookmarks
        self._bookmarks = neo4j.GraphDatabase.bookmark_manager()
        self._ids = IdBlocks(self._reserve_ids)
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
        """Constraints and indexes (schema.py) and the one-time backfills, unless this store
        records them done, and the seed nodes: an open of a store already set up is a read
        and the seeds, not ~30 statements (0.24 s on a local Neo4j, each a round trip to a
        remote one). Blocks of ids this process holds are dropped: the sequences may have
        been erased (tests do)."""
        self._ids = IdBlocks(self._reserve_ids)
        steps = [self._schema_step, CONFLICT_NAMES]
        done = {row["name"] for row in self.run(self.statements["schema_steps_done"], names=steps)}
        schema_done = self._schema_step in done
        for text in self.schema:
            if not (schema_done and schema.changes_schema(text)):  # seeds: data can be erased
                self._session_run(neo4j.WRITE_ACCESS, lambda tx, text=text: tx.run(text).consume())
        if not schema_done:
            self._finish(self._schema_step)
        if CONFLICT_NAMES not in done:
            self._name_conflict_profiles()

    def _name_conflict_profiles(self) -> None:
        """Refusals kept by an idgraph before NAMES get theirs, _PAGE at a time (a
        transaction holds its changes in Neo4j's heap), so that a profile's refusals are found
        from it."""
        name = self.statements["name_conflict_profiles"]
        while self.run(name, write=True, limit=_PAGE)[0]["named"]:
            pass
        self._finish(CONFLICT_NAMES)

    def _finish(self, step: str) -> None:
        self.run(self.statements["finish_schema_step"], write=True, name=step, at=utc_now())

    # --- transactions -------------------------------------------------------------------------

    def read(self, work: Callable[[Neo4jTx], T]) -> T:
        return self._session_run(
            neo4j.READ_ACCESS, lambda tx: work(Neo4jTx(tx, self.statements, self._ids))
        )

    def write(self, work: Callable[[Neo4jTx], T]) -> T:
        """Run ``work`` in a write transaction that locks what it reads (tx.py). It runs
        again, with a short random wait, when it lost a race: another writer created an
        identifier or a request id it planned to create (the uniqueness constraint fails it),
        or changed a profile between its read and its lock; and with a larger window of ids
        when its plan needed more. The driver itself runs it again on a deadlock."""
        if self.read_only:
            raise StoreError(f"{self.url} is open read-only")
        window = 1
        for attempt in range(_RETRIES):
            units: list[Neo4jTx] = []
            try:
                result = self._session_run(
                    neo4j.WRITE_ACCESS, self._unit_of_work(work, window, units)
                )
            except LeaseExceeded:
                window *= 4
                continue
            except StaleRead:
                pass
            except StoreError as error:
                if not isinstance(error.__cause__, ConstraintError) or attempt == _RETRIES - 1:
                    raise
            else:
                for unit in units[:-1]:  # attempts the driver ran again: none committed
                    unit.settle(committed=False)
                units[-1].settle(committed=True)
                return result
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # jitter: losers spread out
        raise StoreError(f"Neo4j: a write lost {_RETRIES} races in a row; retry later")

    def _unit_of_work(
        self, work: Callable[[Neo4jTx], T], window: int, units: list[Neo4jTx]
    ) -> Callable[[neo4j.ManagedTransaction], T]:
        """``work`` on a write transaction; every try the driver makes is kept in ``units``,
        and one that fails gives its ids back at once."""

        def unit_of_work(tx: neo4j.ManagedTransaction) -> T:
            unit = Neo4jTx(tx, self.statements, self._ids, writing=True, window=window)
            units.append(unit)
            try:
                return work(unit)
            except BaseException:
                unit.settle(committed=False)
                raise

        return unit_of_work

    def _reserve_ids(self, namespace: str, counts: Mapping[str, int]) -> dict[str, int]:
        """Take ids from the namespace's sequences in a transaction of its own (ids.py)."""
        rows = self.run(
            self.statements["reserve_ids"],
            write=True,
            ns=namespace,
            rows=[{"name": kind, "count": count} for kind, count in counts.items()],
        )
        return {row["name"]: row["first"] for row in rows}

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
            with self.driver.session(
                database=self.database, default_access_mode=mode, bookmark_manager=self._bookmarks
            ) as s:
                if mode == neo4j.WRITE_ACCESS:
                    return s.execute_write(unit)
                return s.execute_read(unit)
        except Neo4jError as error:
            if (error.code or "").startswith(_STATEMENT_ERRORS):
                raise StatementRefused(error.code or "", error.message or "") from error
            raise StoreError(f"Neo4j: {error}") from error
        except DriverError as error:
            raise StoreError(f"Neo4j: {error}") from error

    # --- streaming reads for exports and checks -------------------------------------------------

    def namespaces(self) -> list[str]:
        return [row["ns"] for row in self.run(self.statements["namespaces"])]

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
