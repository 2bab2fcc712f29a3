"""What every store keeps of API keys (graph/keys.py): the hash of a key's secret, never the
secret; its namespace, name and rights; revocation; and a key that keeps working after the store
is reopened."""

from __future__ import annotations

import pytest

from graph.errors import InvalidInput
from graph.keys import ApiKeys


def test_a_key_authenticates_until_it_is_revoked(open_store):
    ring = ApiKeys(open_store())
    key, text = ring.create("shop", ["read", "write"], "crm-sync")
    assert text.startswith(f"idg_{key.id}_")
    assert ring.authenticate(text) == key
    assert ring.authenticate(text[:-1] + ("A" if text[-1] != "A" else "B")) is None
    revoked = ring.revoke(key.id)
    assert revoked.revoked_at is not None
    assert ring.authenticate(text) is None
    assert ring.revoke(key.id) == revoked  # again: nothing changes


def test_a_store_keeps_the_hash_and_never_the_secret(open_store):
    store = open_store()
    key, text = ApiKeys(store).create("shop", ["read"])
    [kept] = store.read(lambda tx: tx.api_keys("shop"))
    assert kept == key
    assert kept.rights == ("read",) and kept.name.startswith("key-")
    secret = text.split("_", 2)[2]  # idg_<id>_<secret>; a secret may hold "_" too
    assert secret not in repr(kept)
    assert ApiKeys(open_store()).authenticate(text) == key  # another process, its own cache


def test_keys_are_listed_by_namespace_revoked_ones_too(open_store):
    ring = ApiKeys(open_store())
    a, _ = ring.create("a", ["read"], "one")
    b, _ = ring.create("b", ["write"], "one")  # names are unique within a namespace only
    c, _ = ring.create("a", ["read", "write"], "two")
    ring.revoke(a.id)
    assert [k.id for k in ring.list("a")] == [a.id, c.id]
    assert [k.id for k in ring.list()] == [a.id, b.id, c.id]
    assert ring.list("a")[0].revoked_at is not None


def test_an_active_name_is_unique_in_its_namespace(open_store):
    ring = ApiKeys(open_store())
    first, _ = ring.create("shop", ["read"], "crm")
    with pytest.raises(InvalidInput, match="already has a key named 'crm'"):
        ring.create("shop", ["read"], "crm")
    ring.revoke(first.id)
    second, _ = ring.create("shop", ["read"], "crm")  # a revoked key's name is free again
    assert second.id != first.id


@pytest.mark.parametrize("name", ["admin", "local", "anonymous", "Admin"])
def test_a_key_may_not_take_a_name_the_audit_gives_other_callers(open_store, name):
    """Purges, bans and ended links name their caller: a key named ``admin`` would be
    recorded as the admin token is."""
    with pytest.raises(InvalidInput, match="name"):
        ApiKeys(open_store()).create("shop", ["read", "write"], name)


@pytest.mark.parametrize("rights", [[], ["admin"], ["read", "delete"]])
def test_rights_are_read_and_write(open_store, rights):
    with pytest.raises(InvalidInput, match="rights"):
        ApiKeys(open_store()).create("shop", rights)
