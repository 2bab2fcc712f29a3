"""Cypher statements live in .cypher files under the top-level cypher/ folder, one statement
per file (schema.cypher holds several). The folder is a package, shipped in the wheel, and read
with importlib.resources: an installed idgraph finds its statements wherever it is installed.

A file declares its parameters on a line ``// params: $ns, $rows``; the same line tells
tools/lint_cypher.js which parameters exist, and ``Statement.bind`` refuses a call that passes
other names, so a typo fails on both sides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from graph.errors import StoreError

CYPHER_DIR: Traversable = files("cypher")  # cypher/ in the source tree, or in site-packages

_PARAMS = re.compile(r"^//\s*params:(.*)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Statement:
    name: str
    text: str
    params: frozenset[str]

    @classmethod
    def parse(cls, name: str, text: str) -> Statement:
        declared: set[str] = set()
        for line in _PARAMS.findall(text):
            declared.update(part.strip().lstrip("$") for part in line.split(",") if part.strip())
        return cls(name, text, frozenset(declared))

    @classmethod
    def read(cls, path: Traversable) -> Statement:
        try:
            return cls.parse(path.name.removesuffix(".cypher"), path.read_text(encoding="utf-8"))
        except OSError as error:
            raise StoreError(f"cannot read Cypher statement {path}: {error}") from error

    def bind(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters to send, after checking they are exactly the declared ones."""
        if set(parameters) != self.params:
            raise StoreError(
                f"{self.name}.cypher declares {sorted(self.params)}, "
                f"called with {sorted(parameters)}"
            )
        return dict(parameters)


def load_statements(folder: Traversable, names: Iterable[str]) -> dict[str, Statement]:
    """Every statement the caller needs, read once at start-up: a missing file fails here."""
    missing = [name for name in names if not (folder / f"{name}.cypher").is_file()]
    if missing:
        raise StoreError(f"missing Cypher statements in {folder}: {', '.join(sorted(missing))}")
    return {name: Statement.read(folder / f"{name}.cypher") for name in names}
