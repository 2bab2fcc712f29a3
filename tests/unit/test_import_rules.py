"""The house rules of the layout, as the README's "where to change what" table states them:
decisions in graph/ know nothing of HTTP, only graph/store/ touches a database, a store never
reaches up into the use cases, and the HTTP faces never into the command line. Every import
counts, those inside functions too."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ("flask", "flask_smorest", "werkzeug", "webargs", "marshmallow", "click", "gunicorn")
DRIVERS = ("sqlite3", "neo4j")
PURE = (
    "graph/model.py",
    "graph/rules.py",
    "graph/normalize.py",
    "graph/items.py",
    "graph/replays.py",
    "graph/planner.py",
    "graph/working.py",
    "graph/attributes.py",
    "graph/lineage.py",
)


@dataclass(frozen=True, slots=True)
class Rule:
    """Modules under ``where`` (minus ``besides``) import none of ``forbidden`` (a module or
    anything inside it)."""

    name: str
    where: tuple[str, ...]
    forbidden: tuple[str, ...]
    besides: tuple[str, ...] = ()


RULES = (
    Rule("graph imports no web framework nor app", ("graph",), (*WEB, "app")),
    Rule(
        "only graph/store touches a database", ("app", "graph"), DRIVERS, besides=("graph/store",)
    ),
    Rule(
        "a store never reaches up into the use cases, decisions or app",
        ("graph/store",),
        ("graph.service", "graph.transfer", "graph.planner", "graph.working", "app"),
    ),
    Rule(
        "a store's modules never import the store factory or the other store",
        ("graph/store/sqlite",),
        ("graph.store.neo4j", "graph.store.__init__"),
    ),
    Rule(
        "a store's modules never import the store factory or the other store",
        ("graph/store/neo4j",),
        ("graph.store.sqlite", "graph.store.__init__"),
    ),
    Rule(
        "decisions and the vocabulary are pure: no store, no use case",
        PURE,
        ("graph.store", "graph.service", "graph.transfer", *DRIVERS),
    ),
    Rule(
        "the HTTP faces never reach into the command line or a store's internals",
        ("app/api",),
        ("app.cli", "graph.store.sqlite", "graph.store.neo4j", "graph.transfer"),
    ),
)


def imported(source: str, module: str) -> Iterator[tuple[int, str]]:
    """(line, module) of every import of a module's source; ``from graph.store import x``
    imports the package itself, which is named ``graph.store.__init__``."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                )
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"
            if base in ("graph.store",):
                yield node.lineno, "graph.store.__init__"


def breaks(name: str, rule: Rule) -> bool:
    return any(
        name == forbidden or name.startswith(f"{forbidden}.") for forbidden in rule.forbidden
    )


def modules(rule: Rule) -> Iterator[Path]:
    for where in rule.where:
        path = ROOT / where
        for found in [path] if path.suffix == ".py" else sorted(path.rglob("*.py")):
            relative = found.relative_to(ROOT).as_posix()
            if not any(relative.startswith(besides) for besides in rule.besides):
                yield found


def offenders(rule: Rule) -> list[str]:
    found = []
    for path in modules(rule):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for line, name in imported(path.read_text(encoding="utf-8"), module):
            if breaks(name, rule):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return sorted(set(found))


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_the_layout_keeps_its_rule(rule: Rule) -> None:
    assert list(modules(rule)), f"{rule.name}: no module found under {rule.where}"
    assert offenders(rule) == [], rule.name


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        pytest.param("def f():\n    import flask\n", RULES[0], id="a-late-import-of-flask"),
        pytest.param("from graph.store import open_store\n", RULES[3], id="the-store-factory"),
        pytest.param("from ..neo4j import tx\n", RULES[3], id="a-relative-import"),
        pytest.param("import sqlite3\n", RULES[5], id="a-driver-in-the-planner"),
    ],
)
def test_a_forbidden_import_is_seen(source: str, rule: Rule) -> None:
    names = [name for _, name in imported(source, "graph.store.sqlite.example")]
    assert any(breaks(name, rule) for name in names)
