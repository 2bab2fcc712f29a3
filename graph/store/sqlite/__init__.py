"""The embedded store: one SQLite file (store.py), one transaction of it (tx.py) with its
reads (reads.py, history.py), its bulk writes (writes.py), API keys (keys.py) and erasure
(purge.py), and the schema as numbered migrations (schema.py)."""
