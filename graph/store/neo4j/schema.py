"""The Neo4j store's schema: cypher/schema.cypher draws the model in its comment lines and
holds the statements that create its uniqueness constraints, its indexes and the seed nodes
(sequences, the write lock). Every statement is idempotent and runs in a transaction of its
own, since Neo4j keeps schema and data changes apart; the store runs them when it opens."""

from __future__ import annotations

import re
from importlib.resources.abc import Traversable

from graph.errors import StoreError

SCHEMA = "schema.cypher"


def statements(folder: Traversable) -> list[str]:
    """The statements of ``folder``'s schema.cypher, in order."""
    try:
        text = (folder / SCHEMA).read_text(encoding="utf-8")
    except OSError as error:
        raise StoreError(f"cannot read {SCHEMA} in {folder}: {error}") from error
    return split_script(text)


def split_script(text: str) -> list[str]:
    """The statements of a script: split at ';' ending a line, with comment lines dropped.
    The schema holds no string literal with ';' at a line's end."""
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return [part.strip() for part in re.split(r";\s*$", code, flags=re.MULTILINE) if part.strip()]
