"""The embedded store: one SQLite file in WAL mode, zero set-up.

- One connection per thread; every write is one ``BEGIN IMMEDIATE`` transaction, so writers
  serialize and the rules hold under any interleaving of requests, threads or processes.
  Writers queue first on a lock of their own (a thread lock, then ``flock`` on
  ``<file>.lock`` across processes), which wakes the next writer as soon as one commits;
  SQLite's busy handler polls with sleeps of up to 100 ms and starved waiting writers.
  Busy and locked errors (from writers outside idgraph) are retried a bounded number of times.
- Batches are read with a constant number of queries (keys travel as one JSON array through
  ``json_each``, so there is no bound on parameters) and written with ``executemany``.
- WAL checkpoints are SQLite's automatic ones (every 10,000 pages, in the committing
  request; see ``_connect``). Deferring them all to a background thread was measured slower
  (6,293 against 6,855 links/s on benchmarks/ingest.py) and let the WAL reach 1.8 GB under
  steady writes, because a passive checkpoint never catches up with a busy writer. A
  background thread only truncates the WAL now and then, for the case automatic checkpoints
  cannot finish: readers that never stop. ``journal_size_limit`` trims it whenever it
  restarts. After a purge, ``settle_erasure`` truncates it at once, so the purged person's
  frames do not wait for it.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from graph.errors import StoreError
from graph.store.rows import Row
from graph.store.sqlite.copy import CopySource
from graph.store.sqlite.schema import MIGRATIONS
from graph.store.sqlite.tx import SqliteTx

T = TypeVar("T")

__all__ = ["SqliteStore", "SqliteTx"]

_RETRIES = 8
_PAGE = 5000  # identifiers per read transaction of iter_identifiers
_IDENTIFIERS_PAGE = (
    "SELECT key, type, value, profile_id FROM identifiers WHERE ns = ? AND key > ? "
    "ORDER BY key LIMIT ?"
)
_BUSY = ("database is locked", "database is busy", "database table is locked")


class SqliteStore(CopySource):
    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        synchronous: str = "FULL",
        busy_timeout: float = 30.0,
        truncate_interval: float = 30.0,
    ) -> None:
        """Open (creating, upgrading) the store at ``path``. ``read_only`` opens an existing
        file of this version's schema for reading only: nothing is created, upgraded or
        written, and no lock or checkpoint is taken (exports, the source of a migration)."""
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.read_only = read_only
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._write_lock_file: int | None = None
        self._checkpointer: _Checkpointer | None = None
        try:
            if read_only:
                self._check_schema()
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._write_lock_file = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            self._migrate()
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open SQLite store {self.path}: {error}") from error
        self._checkpointer = _Checkpointer(self._connect, truncate_interval)
        self._checkpointer.start()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SqliteStore:
        """``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``."""
        return cls(sqlite_path(url), **options)

    # --- transactions -------------------------------------------------------------------------

    def read(self, work: Callable[[SqliteTx], T]) -> T:
        return self._run(work, "BEGIN")

    def write(self, work: Callable[[SqliteTx], T]) -> T:
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only")
        with self._write_lock:
            fcntl.flock(self._write_lock_file, fcntl.LOCK_EX)
            try:
                return self._run(work, "BEGIN IMMEDIATE")
            finally:
                fcntl.flock(self._write_lock_file, fcntl.LOCK_UN)

    def _run(self, work: Callable[[SqliteTx], T], begin: str) -> T:
        connection = self._connection()
        for attempt in range(_RETRIES):
            try:
                connection.execute(begin)
                try:
                    result = work(SqliteTx(connection))
                    connection.execute("COMMIT")
                    return result
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as error:
                if not _is_busy(error) or attempt == _RETRIES - 1:
                    raise StoreError(f"SQLite: {error}") from error
                time.sleep(0.01 * 2**attempt)
            except sqlite3.Error as error:
                raise StoreError(f"SQLite: {error}") from error
        raise AssertionError("unreachable")

    # --- streaming reads for exports and checks -------------------------------------------------

    def namespaces(self) -> list[str]:
        return [ns for (ns,) in self._select("SELECT DISTINCT ns FROM identifiers ORDER BY ns")]

    def iter_identifiers(self, namespace: str) -> Iterator[tuple[str, str, str, int | None]]:
        """By key, a page of ``_PAGE`` per query, as on Neo4j: a long export or re-keying
        holds no snapshot open, which would keep the WAL from being checkpointed while writes
        go on (``idgraph rekey`` writes as it reads). On a connection of its own, as
        ``_stream``: a caller may be inside a transaction of this thread's."""
        connection = self._connect()
        try:
            after = ""
            while rows := connection.execute(
                _IDENTIFIERS_PAGE, (namespace, after, _PAGE)
            ).fetchall():
                yield from rows
                after = rows[-1][0]
        except sqlite3.Error as error:
            raise StoreError(f"SQLite: {error}") from error
        finally:
            connection.close()

    def iter_links(self, namespace: str, *, active_only: bool = False) -> Iterator[dict[str, Any]]:
        where = "ns = ? AND ended_at IS NULL" if active_only else "ns = ?"
        columns = (
            "id, a_key, b_key, operation, source, request_id, item_index, merge_id, "
            "created_at, ended_at, end_reason, ended_request_id"
        )
        names = [c.strip() for c in columns.split(",")]
        for row in self._stream(
            f"SELECT {columns} FROM links WHERE {where} ORDER BY id", (namespace,)
        ):
            yield dict(zip(names, row, strict=True))

    def _select(self, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
        """A query's rows, in a read transaction of its own."""
        return self.read(lambda tx: tx.connection.execute(sql, parameters).fetchall())

    def _select_rows(self, sql: str, *parameters: Any) -> list[Row]:
        """A query's rows by column name, in a read transaction of its own."""

        def rows(tx: SqliteTx) -> list[Row]:
            cursor = tx.connection.execute(sql, parameters)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        return self.read(rows)

    def _stream(self, sql: str, parameters: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        connection = self._connect()  # its own connection: a generator may outlive a request
        try:
            cursor = connection.execute(sql, parameters)
            while rows := cursor.fetchmany(1000):
                yield from rows
        except sqlite3.Error as error:
            raise StoreError(f"SQLite: {error}") from error
        finally:
            connection.close()

    def ping(self) -> None:
        self.read(lambda tx: tx.connection.execute("SELECT 1").fetchone())

    def settle_erasure(self) -> None:
        """Truncate the WAL now, not at the background thread's next round: the frames that
        held a purged person go with it (the file's own pages are zeroed by secure_delete).
        Best effort: when readers hold the WAL, the next round truncates it."""
        if self._checkpointer is not None:
            self._checkpointer.truncate_now()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        if self._write_lock_file is not None:
            os.close(self._write_lock_file)
            self._write_lock_file = None
        self._local = threading.local()

    # --- connections --------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _connect(self) -> sqlite3.Connection:
        where = f"{self.path.resolve().as_uri()}?mode=ro" if self.read_only else str(self.path)
        connection = sqlite3.connect(
            where,
            uri=self.read_only,
            isolation_level=None,
            timeout=self._busy_timeout,
            check_same_thread=False,
        )
        connection.execute(f"PRAGMA synchronous = {self._synchronous}")
        connection.execute("PRAGMA journal_size_limit = 67108864")
        connection.execute("PRAGMA cache_size = -16384")
        # Automatic checkpoints every 10,000 pages (40 MB of WAL) rather than SQLite's 1,000:
        # with random keys a 1,000-item batch dirties ~8,000 pages, so at 1,000 every commit
        # checkpointed; now one in two or three does, and a page written by several batches is
        # copied once. Measured (benchmarks/scale.py, issue 17: 1M identifiers, stores fed the
        # same batches in turn): 4-8% more links/s, 9% fewer bytes written. Durability is
        # unchanged (each commit still syncs the WAL). Under 1,000-item batches the WAL peaks
        # at 70-90 MB (was ~30 MB at 300,000 identifiers) before a checkpoint restarts it, and
        # journal_size_limit trims the file back to 64 MB. Measured and not adopted:
        # cache_size 64 MB (+5-9%, 64 MB more per connection), mmap (within noise; mapped pages
        # count in RSS), synchronous NORMAL (no gain: the checkpoints sync anyway).
        connection.execute("PRAGMA wal_autocheckpoint = 10000")
        connection.execute("PRAGMA temp_store = MEMORY")
        # A purge must not leave the person in the file's free space: SQLite overwrites
        # deleted content (cells, freed pages) with zeros. SQLite's default is off; some
        # builds (Debian's) turn it on. Its cost, measured: docs/storage.md, "SQLite".
        connection.execute("PRAGMA secure_delete = ON")
        return connection

    def _check_schema(self) -> None:
        """A read-only store upgrades nothing: refuse a file of another schema before any
        read, and a file that is not there."""
        if not self.path.is_file():
            raise StoreError(f"no SQLite store at {self.path}")
        connection = self._connect()
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
        finally:
            connection.close()
        if version != len(MIGRATIONS):
            raise StoreError(
                f"{self.path} has schema {version}, this idgraph reads schema {len(MIGRATIONS)}: "
                "open it once with this version (`idgraph serve` upgrades it on start)"
                if version < len(MIGRATIONS)
                else f"{self.path} was written by a newer idgraph (schema {version})"
            )

    def _migrate(self) -> None:
        connection = self._connect()
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("BEGIN IMMEDIATE")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                connection.execute("ROLLBACK")
                raise StoreError(
                    f"{self.path} was written by a newer idgraph (schema {version}, "
                    f"this version knows {len(MIGRATIONS)})"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {number}")
            connection.execute("COMMIT")
        finally:
            connection.close()


def sqlite_path(url: str) -> Path:
    """The file of ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise StoreError(f"not a SQLite store URL: {url!r} (expected sqlite:///path/to/file.db)")
    return Path(url[len(prefix) :])


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction). A
    ';' inside a trigger's BEGIN ... END does not end it: SQLite's own
    ``complete_statement`` says where one does. Migrations hold no string literals with
    ';' or '--'."""
    statements, pending = [], ""
    for piece in re.sub(r"--[^\n]*", "", script).split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip("; \n"):
                statements.append(pending.strip().removesuffix(";").strip())
            pending = ""
    return statements


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return any(message in str(error) for message in _BUSY)


class _Checkpointer(threading.Thread):
    """Truncates the WAL every ``interval`` seconds, giving up at once when readers or a writer
    hold it: the next round tries again."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], interval: float) -> None:
        super().__init__(name="idgraph-sqlite-checkpoint", daemon=True)
        self._connect = connect
        self._interval = interval
        self._stopping = threading.Event()

    def run(self) -> None:
        connection = self._connect()
        try:
            while not self._stopping.wait(self._interval):
                _truncate(connection)
        finally:
            connection.close()

    def truncate_now(self) -> bool:
        """One truncation now, on a connection of its own, from the calling thread; False if
        readers or a writer held the WAL for more than 100 ms."""
        connection = self._connect()
        try:
            return _truncate(connection)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)


def _truncate(connection: sqlite3.Connection) -> bool:
    """``wal_checkpoint(TRUNCATE)``, waiting at most 100 ms for readers and writers; True if
    the WAL was copied into the file and truncated to nothing."""
    try:
        connection.execute("PRAGMA busy_timeout = 100")
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error:
        return False
    return busy == 0
