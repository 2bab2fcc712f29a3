"""Per-namespace identity rules, and the rules file that overrides the defaults.

A rules file (``IDGRAPH_RULES``, TOML or JSON) has a ``defaults`` table applying to every
namespace and a ``namespaces`` table of per-namespace overrides. A namespace setting replaces
the default setting of the same name as a whole; settings not named keep the defaults::

    [defaults]
    max_identifiers = 500

    [namespaces."shop-eu"]
    type_limits = { browserId = 20 }
    on_conflict = { browserId = "reject" }
    phone_region = "DE"

Type names in ``unique_types``, ``type_limits`` and ``on_conflict`` may be patterns
(``ext:*``); an exact name wins over a pattern, and among patterns the first in the file wins.
A file named ``*.json`` is read as JSON, any other as TOML.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from fnmatch import fnmatchcase
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import phonenumbers

from graph.errors import RulesError

REJECT = "reject"
MOVE = "move"
POLICIES = (REJECT, MOVE)

DEFAULT_BLOCKED_VALUES = frozenset(
    {
        "null",
        "undefined",
        "none",
        "nil",
        "nan",
        "0",
        "-1",
        "unknown",
        "n/a",
        "[object object]",
        "test@test.com",
        "test@example.com",
    }
)


@dataclass(frozen=True)
class Rules:
    """The identity rules of one namespace. Decisions read these; nothing here does I/O."""

    # at most one identifier of each of these types per profile
    unique_types: tuple[str, ...] = ("email", "customId", "ext:*")
    # at most N identifiers of a type per profile
    type_limits: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # a profile holding one of these is recognized; two recognized profiles never merge
    # implicitly unless merge_recognized is true
    recognizing_types: tuple[str, ...] = ("email",)
    merge_recognized: bool = False
    # values refused for every type, compared case-insensitively after normalization
    blocked_values: frozenset[str] = DEFAULT_BLOCKED_VALUES
    # what happens to an identifier of this type when linking it would break a rule:
    # reject the item, or move the identifier (a shared device) to the item's other identifiers
    on_conflict: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({"browserId": MOVE})
    )
    # no profile grows beyond this many identifiers: merging two huge components is refused
    max_identifiers: int = 1000
    # region for phone numbers written without a country code ("DE", "PL"); None requires "+"
    phone_region: str | None = None

    def is_unique(self, type_: str) -> bool:
        cache = self._unique_cache
        if type_ not in cache:
            cache[type_] = _matches(type_, self.unique_types)
        return cache[type_]

    def limit(self, type_: str) -> int | None:
        return self._lookup(self.type_limits, type_)

    def policy(self, type_: str) -> str:
        return self._lookup(self.on_conflict, type_) or REJECT

    def is_recognizing(self, type_: str) -> bool:
        return type_ in self.recognizing_types

    def is_blocked(self, normalized_value: str) -> bool:
        return normalized_value.casefold() in self._blocked_folded

    @cached_property
    def _blocked_folded(self) -> frozenset[str]:
        return frozenset(value.casefold() for value in self.blocked_values)

    @cached_property
    def _unique_cache(self) -> dict[str, bool]:
        return {}

    @staticmethod
    def _lookup(table: Mapping[str, Any], type_: str) -> Any:
        if type_ in table:
            return table[type_]
        for pattern, value in table.items():
            if fnmatchcase(type_, pattern):
                return value
        return None


def _matches(type_: str, patterns: tuple[str, ...]) -> bool:
    return any(type_ == pattern or fnmatchcase(type_, pattern) for pattern in patterns)


@dataclass(frozen=True)
class RuleBook:
    """The rules of every namespace: defaults plus per-namespace overrides."""

    defaults: Rules = field(default_factory=Rules)
    namespaces: Mapping[str, Rules] = field(default_factory=dict)

    def for_namespace(self, namespace: str) -> Rules:
        return self.namespaces.get(namespace, self.defaults)


def load_rulebook(path: str | Path | None) -> RuleBook:
    """Read a rules file; every mistake raises RulesError naming the file and the setting."""
    if not path:
        return RuleBook()
    path = Path(path)
    document = _read_document(path)
    if not isinstance(document, dict):
        raise RulesError(f"{path}: expected a table with 'defaults' and/or 'namespaces'")
    unknown = set(document) - {"defaults", "namespaces"}
    if unknown:
        raise RulesError(
            f"{path}: unknown section(s) {sorted(unknown)}; use 'defaults', 'namespaces'"
        )
    defaults = _apply(Rules(), document.get("defaults", {}), f"{path}: defaults")
    overrides = document.get("namespaces", {})
    if not isinstance(overrides, dict):
        raise RulesError(f"{path}: 'namespaces' must be a table of namespace -> settings")
    namespaces = {
        name: _apply(defaults, settings, f"{path}: namespaces.{name}")
        for name, settings in overrides.items()
    }
    return RuleBook(defaults=defaults, namespaces=namespaces)


def _read_document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RulesError(f"cannot read rules file {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise RulesError(f"{path}: not UTF-8 text: {error}") from error
    is_json = path.suffix.lower() == ".json"  # anything else is read as TOML
    try:
        return json.loads(text) if is_json else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as error:
        raise RulesError(f"{path}: not valid {'JSON' if is_json else 'TOML'}: {error}") from error


_SETTINGS = {f.name for f in fields(Rules)}


def _apply(base: Rules, settings: Any, where: str) -> Rules:
    if not isinstance(settings, dict):
        raise RulesError(f"{where}: expected a table of settings")
    unknown = set(settings) - _SETTINGS
    if unknown:
        raise RulesError(
            f"{where}: unknown setting(s) {sorted(unknown)}; known: {sorted(_SETTINGS)}"
        )
    parsed = {name: _PARSERS[name](value, f"{where}.{name}") for name, value in settings.items()}
    return replace(base, **parsed)


def _type_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RulesError(f"{where}: expected a list of type names")
    return tuple(value)


def _limits(value: Any, where: str) -> Mapping[str, int]:
    if not isinstance(value, dict):
        raise RulesError(f"{where}: expected a table of type = maximum count")
    for type_, limit in value.items():
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise RulesError(f"{where}.{type_}: expected a whole number of at least 1")
    return MappingProxyType(dict(value))


def _policies(value: Any, where: str) -> Mapping[str, str]:
    if not isinstance(value, dict):
        raise RulesError(f"{where}: expected a table of type = policy")
    for type_, policy in value.items():
        if policy not in POLICIES:
            raise RulesError(f"{where}.{type_}: policy must be one of {list(POLICIES)}")
    return MappingProxyType(dict(value))


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise RulesError(f"{where}: expected true or false")
    return value


def _blocked(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(f"{where}: expected a list of strings")
    return frozenset(value)


def _positive(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise RulesError(f"{where}: expected a whole number of at least 2")
    return value


def _region(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise RulesError(f"{where}: expected a two-letter region code such as 'DE' or 'US'")
    return value.upper()


_PARSERS = {
    "unique_types": _type_list,
    "type_limits": _limits,
    "recognizing_types": _type_list,
    "merge_recognized": _boolean,
    "blocked_values": _blocked,
    "on_conflict": _policies,
    "max_identifiers": _positive,
    "phone_region": _region,
}
