"""One transaction of the SQLite store: the store protocol's reads (reads.py, history.py),
its writes (writes.py), API keys (keys.py), erasure (purge.py) and re-keying (rekey.py) over
one connection. Created by SqliteStore.read/write only."""

from __future__ import annotations

import sqlite3

from graph.store.sqlite.history import HistoryReads
from graph.store.sqlite.keys import ApiKeyRows
from graph.store.sqlite.purge import PurgeRows
from graph.store.sqlite.reads import ProfileReads
from graph.store.sqlite.rekey import RekeyRows
from graph.store.sqlite.writes import ChangeWrites


class SqliteTx(ProfileReads, HistoryReads, ChangeWrites, ApiKeyRows, PurgeRows, RekeyRows):
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
