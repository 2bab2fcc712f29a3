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

Type names in the file follow the rule of every type name (graph/normalize.py): they are
case-insensitive, so ``EMAIL`` is ``email`` and ``ext:CRM`` is ``ext:crm``, and a name that
could not be an identifier's type (``email:work``, a bare ``ext``) stops start-up. Type names
in ``unique_types``, ``type_limits`` and ``on_conflict`` may be patterns of ``*`` and ``?``
(``ext:*``), matched whatever the case (``*ID`` matches ``customId``); an exact name wins over a
pattern, and among patterns the first in the file wins. ``recognizing_types`` and
``generated_types`` take exact names only.
A file named ``*.json`` is read as JSON, any other as TOML.

Each face of the API starts from a built-in rule set (``PRESETS``): the native API and
Adnuntius ``/sync`` from the defaults, Synerise and Omnidesk from the rules their products
document. The file's ``defaults`` and then its namespace settings apply on top of the preset of
the face a request came in by.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from fnmatch import fnmatchcase
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import phonenumbers

from graph.errors import RulesError
from graph.normalize import InvalidValue, normalize_type

REJECT = "reject"
MOVE = "move"
REPLACE = "replace"
POLICIES = (REJECT, MOVE, REPLACE)
TYPES_CACHED = 512  # type names a Rules object keeps its answers for, per question
T = TypeVar("T")

# Which profile survives when an item joins two existing profiles.
LARGER_SURVIVES = "larger_survives"  # union by size; two recognized profiles never merge
ANONYMOUS_INTO_OTHER = "anonymous_into_other"  # Synerise: only an anonymous first profile is
# absorbed, into the profile of the item's next identifier, which keeps its id
MERGE_POLICIES = (LARGER_SURVIVES, ANONYMOUS_INTO_OTHER)

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
    # reject the item, move the identifier (a shared device) to the item's other identifiers,
    # or (for a new identifier of a unique type) replace the profile's current one, which
    # leaves the profile and stops resolving
    on_conflict: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({"browserId": MOVE})
    )
    # no profile grows beyond this many identifiers: merging two huge components is refused
    max_identifiers: int = 1000
    # region for phone numbers written without a country code ("DE", "PL"); None requires "+"
    phone_region: str | None = None
    # which profile survives when an item joins two existing profiles (see MERGE_POLICIES)
    merge_policy: str = LARGER_SURVIVES
    # a profile created without an identifier of these types gets a generated one (uuid)
    generated_types: tuple[str, ...] = ()
    # Adnuntius: the external system of a /sync or /visitor object that names none
    # (the published client sends none): its user id is an identifier of type ext:<this>
    default_external_system: str = "default"
    # web pages (scheme://host[:port]) that may call this namespace from a browser: CORS
    # answers, and where its collect keys work (app/api/cors.py); IDGRAPH_CORS_ORIGINS adds more
    allowed_origins: tuple[str, ...] = ()

    def is_unique(self, type_: str) -> bool:
        try:
            return self._unique_cache[type_]
        except KeyError:
            return _remember(self._unique_cache, type_, _matches(type_, self.unique_types))

    def limit(self, type_: str) -> int | None:
        try:
            return self._limit_cache[type_]
        except KeyError:
            return _remember(self._limit_cache, type_, self._lookup(self.type_limits, type_))

    def policy(self, type_: str) -> str:
        try:
            return self._policy_cache[type_]
        except KeyError:
            found = self._lookup(self.on_conflict, type_) or REJECT
            return _remember(self._policy_cache, type_, found)

    def is_recognizing(self, type_: str) -> bool:
        return type_ in self.recognizing_types

    def is_blocked(self, normalized_value: str) -> bool:
        return normalized_value.casefold() in self._blocked_folded

    @cached_property
    def _blocked_folded(self) -> frozenset[str]:
        return frozenset(value.casefold() for value in self.blocked_values)

    # answers by type, the rules being frozen: a pattern is matched once per type, not per
    # item; at most TYPES_CACHED types each (``_remember``), as clients make type names up
    @cached_property
    def _unique_cache(self) -> dict[str, bool]:
        return {}

    @cached_property
    def _limit_cache(self) -> dict[str, int | None]:
        return {}

    @cached_property
    def _policy_cache(self) -> dict[str, str]:
        return {}

    @staticmethod
    def _lookup(table: Mapping[str, Any], type_: str) -> Any:
        if type_ in table:
            return table[type_]
        for pattern, value in table.items():
            if fnmatchcase(type_, pattern):
                return value
        return None


def _remember(cache: dict[str, T], type_: str, answer: T) -> T:
    """``answer`` for ``type_``, kept in ``cache``, emptied first when it holds TYPES_CACHED
    types: a Rules object is shared by every namespace its settings apply to and lives as
    long as the process, and type names are the client's (10,000 made-up ones fit in one
    dry run). A namespace's real types are few and come back at once. A hit is one dict
    lookup, and a reader never finds its type gone: it returns the answer it computed."""
    if len(cache) >= TYPES_CACHED:
        cache.clear()
    cache[type_] = answer
    return answer


def _matches(type_: str, patterns: tuple[str, ...]) -> bool:
    return any(type_ == pattern or fnmatchcase(type_, pattern) for pattern in patterns)


SYNERISE = Rules(
    unique_types=("email", "customId", "phone", "ext:*"),
    on_conflict=MappingProxyType({"email": REPLACE, "phone": REPLACE, "browserId": MOVE}),
    merge_policy=ANONYMOUS_INTO_OTHER,
    generated_types=("uuid",),
)
# Omnidesk: the customer's primary id is unique; a customer may have several addresses of a
# channel, but an address held by another customer is a conflict (two primary ids).
OMNIDESK = Rules(
    unique_types=("customId", "ext:*"),
    recognizing_types=("customId",),
    on_conflict=MappingProxyType({}),
)
PRESETS: Mapping[str, Rules] = MappingProxyType(
    {"native": Rules(), "adnuntius": Rules(), "synerise": SYNERISE, "omnidesk": OMNIDESK}
)


@dataclass(frozen=True)
class RuleBook:
    """The rules of every namespace, for every face of the API.

    ``default_settings`` and ``namespace_settings`` are parsed settings from a rules file,
    applied over the preset of the face a request came in by. A ``Rules`` in ``pinned`` is a
    namespace's whole rule set whatever the face (tests and embedders use it).
    """

    default_settings: Mapping[str, Any] = field(default_factory=dict)
    namespace_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    pinned: Mapping[str, Rules] = field(default_factory=dict)

    def for_namespace(self, namespace: str, dialect: str = "native") -> Rules:
        if namespace in self.pinned:
            return self.pinned[namespace]
        return self._rules(namespace if namespace in self.namespace_settings else None, dialect)

    def origins_anywhere(self) -> frozenset[str]:
        """Every origin some namespace allows: a preflight names no namespace, only a path."""
        settings = [self.default_settings, *self.namespace_settings.values()]
        pinned = [rules.allowed_origins for rules in self.pinned.values()]
        return frozenset(
            origin
            for origins in [*(s.get("allowed_origins", ()) for s in settings), *pinned]
            for origin in origins
        )

    @property
    def defaults(self) -> Rules:
        """The native rules of a namespace the file does not name."""
        return self._rules(None, "native")

    def _rules(self, configured: str | None, dialect: str) -> Rules:
        """One Rules per (configured namespace, face), built once: Rules cache lookups."""
        key = (configured, dialect)
        if key not in self._resolved:
            settings = {**self.default_settings, **self.namespace_settings.get(configured, {})}
            self._resolved[key] = replace(PRESETS[dialect], **settings)
        return self._resolved[key]

    @cached_property
    def _resolved(self) -> dict[tuple[str | None, str], Rules]:
        return {}


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
    defaults = _parse(document.get("defaults", {}), f"{path}: defaults")
    overrides = document.get("namespaces", {})
    if not isinstance(overrides, dict):
        raise RulesError(f"{path}: 'namespaces' must be a table of namespace -> settings")
    namespaces = {
        name: _parse(settings, f"{path}: namespaces.{name}") for name, settings in overrides.items()
    }
    return RuleBook(default_settings=defaults, namespace_settings=namespaces)


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


def _parse(settings: Any, where: str) -> dict[str, Any]:
    if not isinstance(settings, dict):
        raise RulesError(f"{where}: expected a table of settings")
    unknown = set(settings) - _SETTINGS
    if unknown:
        raise RulesError(
            f"{where}: unknown setting(s) {sorted(unknown)}; known: {sorted(_SETTINGS)}"
        )
    return {name: _PARSERS[name](value, f"{where}.{name}") for name, value in settings.items()}


def _type_list(value: Any, where: str, patterns: bool = True) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RulesError(f"{where}: expected a list of type names")
    return tuple(_type_name(name, where, patterns) for name in value)


def _exact_types(value: Any, where: str) -> tuple[str, ...]:
    """Types compared as they are (recognizing, generated): no patterns."""
    return _type_list(value, where, patterns=False)


def _type_name(name: str, where: str, patterns: bool = True) -> str:
    """A type name folded by the rule of every type name (``EMAIL`` is ``email``), or a
    pattern made to match whatever the case: ``ext:*`` becomes ``[eE][xX][tT]:*``."""
    if patterns and _WILDCARD.search(name):
        if not _PATTERN.fullmatch(name):
            raise RulesError(f"{where}: {name!r} is not a pattern of type names ('*', '?')")
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in name)
    try:
        return normalize_type(name)
    except InvalidValue as error:
        raise RulesError(f"{where}: {name!r} is {error}") from error


def _type_table(value: dict[str, Any], where: str) -> dict[str, Any]:
    """The table with its type names folded; two spellings of one type are a mistake."""
    table: dict[str, Any] = {}
    for name, setting in value.items():
        type_ = _type_name(name, f"{where}.{name}")
        if type_ in table:
            raise RulesError(f"{where}.{name}: a second entry for {type_!r} (case is ignored)")
        table[type_] = setting
    return table


_WILDCARD = re.compile(r"[*?]")
_PATTERN = re.compile(r"[A-Za-z0-9_.@:*?-]{1,130}")


def _limits(value: Any, where: str) -> Mapping[str, int]:
    if not isinstance(value, dict):
        raise RulesError(f"{where}: expected a table of type = maximum count")
    for type_, limit in value.items():
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise RulesError(f"{where}.{type_}: expected a whole number of at least 1")
    return MappingProxyType(_type_table(value, where))


def _policies(value: Any, where: str) -> Mapping[str, str]:
    if not isinstance(value, dict):
        raise RulesError(f"{where}: expected a table of type = policy")
    for type_, policy in value.items():
        if policy not in POLICIES:
            raise RulesError(f"{where}.{type_}: policy must be one of {list(POLICIES)}")
    return MappingProxyType(_type_table(value, where))


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


def _system(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _SYSTEM.fullmatch(value):
        raise RulesError(f"{where}: expected 1-64 of letters, digits, '_', '.', '@', '-'")
    return value


def _origins(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(f"{where}: expected a list of origins such as 'https://shop.example'")
    return tuple(parse_origin(origin, where) for origin in value)


def parse_origin(text: str, where: str) -> str:
    """An origin as browsers send it: ``scheme://host[:port]``, lower case, no path."""
    origin = text.strip().lower().rstrip("/")
    if not _ORIGIN.fullmatch(origin):
        raise RulesError(
            f"{where}: {text!r} is not an origin; write scheme://host[:port], e.g. "
            "https://shop.example (no path, no wildcard)"
        )
    return origin


_SYSTEM = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?")


def _merge_policy(value: Any, where: str) -> str:
    if value not in MERGE_POLICIES:
        raise RulesError(f"{where}: must be one of {list(MERGE_POLICIES)}")
    return value


_PARSERS = {
    "unique_types": _type_list,
    "type_limits": _limits,
    "recognizing_types": _exact_types,
    "merge_recognized": _boolean,
    "blocked_values": _blocked,
    "on_conflict": _policies,
    "max_identifiers": _positive,
    "phone_region": _region,
    "merge_policy": _merge_policy,
    "generated_types": _exact_types,
    "default_external_system": _system,
    "allowed_origins": _origins,
}
