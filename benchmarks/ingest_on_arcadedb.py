"""Run ingest.py --store against ArcadeDB, the Bolt server the test suite uses, started here
on free loopback ports in a temporary directory. A stand-in where no Neo4j can run: the
figures say what the Neo4j store's statements cost over Bolt, not what Neo4j would do.

    python benchmarks/ingest_on_arcadedb.py [ingest.py options, e.g. --identifiers 50000]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from tests.bolt_server import ArcadeDb  # noqa: E402


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="idgraph-arcadedb-") as directory:
        with ArcadeDb(Path(directory)) as server:
            environment = {**os.environ, **server.environment()}
            url = environment.pop("IDGRAPH_STORE")
            print(f"ArcadeDB (arcadedb-embedded) at {url}", flush=True)
            command = [sys.executable, str(ROOT / "benchmarks" / "ingest.py"), "--store", url]
            return subprocess.run([*command, *argv], env=environment).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
