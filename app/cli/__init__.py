"""The ``idgraph`` command: one click group, a module per command (serve, keys, migrate and
export, import, rekey, cypher)."""

from __future__ import annotations

import click

from app.cli.cypher import cypher
from app.cli.importing import import_
from app.cli.keys import keys
from app.cli.migrate import export, migrate
from app.cli.rekey import rekey
from app.cli.serve import serve


@click.group()
def main() -> None:
    """idgraph: graph-based identity resolution."""


for command in (serve, keys, migrate, export, import_, rekey, cypher):
    main.add_command(command)
