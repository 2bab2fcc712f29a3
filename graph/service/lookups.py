"""Finding what a request names: an identifier by type and value (normalized like a write),
the profile holding it, a live profile by id, a page cursor. Each failure is the error the
HTTP layer answers: InvalidInput naming the field, or NotFound."""

from __future__ import annotations

from graph.errors import InvalidInput, NotFound
from graph.model import Identifier, ProfileView
from graph.normalize import InvalidValue, normalize_lookup, normalize_type
from graph.rules import Rules
from graph.store.base import ReadTx


def lookup_identifier(
    type_: str, value: str, rules: Rules, name: str = "value", type_name: str = "type"
) -> Identifier:
    """``name``/``type_name``: the fields an error names (a query's ``a`` names both)."""
    field_name = type_name
    try:
        clean_type = normalize_type(type_)
        field_name = name
        return normalize_lookup(clean_type, value, rules)
    except InvalidValue as error:
        raise InvalidInput(f"{field_name}: {error}", fields={field_name: [str(error)]}) from error


def profile_holding(tx: ReadTx, namespace: str, identifier: Identifier) -> int:
    pid = tx.profile_of(namespace, identifier.key)
    if pid is None:
        raise _not_held(namespace, identifier)
    return pid


def view_of_holder(tx: ReadTx, namespace: str, identifier: Identifier) -> ProfileView:
    """The profile holding ``identifier``, with its identifiers, attributes and aliases."""
    view = tx.profile_view_of(namespace, identifier.key)
    if view is None:
        raise _not_held(namespace, identifier)
    return view


def _not_held(namespace: str, identifier: Identifier) -> NotFound:
    return NotFound(f"no identifier {identifier.type}:{identifier.value} in {namespace}")


def live_profile(tx: ReadTx, namespace: str, profile_id: int) -> int:
    pid = tx.resolve_profile(namespace, profile_id)
    if pid is None:
        raise NotFound(f"no profile {profile_id} in {namespace}")
    return pid


def cursor_position(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 18:  # a 64-bit id
        raise InvalidInput("not a valid cursor", fields={"cursor": ["not a valid cursor"]})
    return int(cursor)
