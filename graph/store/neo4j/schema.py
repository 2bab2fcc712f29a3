"""The Neo4j store's schema: cypher/schema.cypher draws the model in its comment lines and
holds the statements that create its uniqueness constraints, its indexes and the seed nodes
(sequences, the write lock). Every statement is idempotent and runs in a transaction of its
own, since Neo4j keeps schema and data changes apart. The store runs them when it opens,
then records ``(:SchemaStep {name: 'schema <digest>'})`` (``step_name``), so that later opens
of the same store by the same schema read that node and run only the statements on data (the
seed nodes, which an erasure of the data takes away). Another schema.cypher has another
digest, and all its statements run on the first open. To have them run again on a store (a
constraint or index dropped by hand), delete that node."""

from __future__ import annotations

import hashlib
import re
from importlib.resources.abc import Traversable

from graph.errors import StoreError

SCHEMA = "schema.cypher"
# CREATE/DROP CONSTRAINT or INDEX, an index of a kind too (RANGE, TEXT, POINT, FULLTEXT, ...)
_SCHEMA_CHANGE = re.compile(r"(CREATE|DROP)\s+(\w+\s+)?(CONSTRAINT|INDEX)\b", re.IGNORECASE)


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


def changes_schema(statement: str) -> bool:
    """Whether a statement creates or drops a constraint or an index, rather than data."""
    return _SCHEMA_CHANGE.match(statement) is not None


def step_name(statements: list[str]) -> str:
    """The SchemaStep recording that these statements ran: named by their digest."""
    digest = hashlib.sha256("\n;\n".join(statements).encode()).hexdigest()
    return f"schema {digest[:16]}"
