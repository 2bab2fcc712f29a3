"""API keys: who may call, in which namespace, with which rights.

A key is shown once, when it is created: ``idg_<id>_<secret>``. The store keeps its id, its
namespace, a name, its rights and a salted scrypt hash of the secret (``hashlib.scrypt``, the
standard library); never the secret. The id in the key finds its row without a scan, the hash
proves the secret. scrypt is slow on purpose (about 50 ms and 16 MB), so each process
remembers which presented keys it has verified, by their SHA-256, and on later requests only
re-reads the row: a revoked key stops working at its next request, in every process.

The key's name is who wrote what: it is the ``source`` of every link written with the key, and
``created_by`` of its bans.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from graph.errors import InvalidInput, NotFound
from graph.model import utc_now

# read: GET routes; write: every other route; collect: only the routes that send links
# (app/api/auth.py), for a key that lives in a web page's source, so it goes alone
RIGHTS = ("read", "write", "collect")
COLLECT = "collect"
NAME = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_KEY = re.compile(r"idg_([0-9]{1,18})_([A-Za-z0-9_-]{43})")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_REMEMBERED = 10_000  # verified keys a process remembers before it starts over


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    namespace: str
    name: str
    rights: tuple[str, ...]
    salt: str  # hex
    hash: str  # hex of scrypt(secret, salt)
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def may(self, right: str) -> bool:
        return right in self.rights

    def public(self) -> dict[str, Any]:
        """What ``idgraph keys list`` shows: everything but the hash and its salt."""
        return {
            "id": self.id,
            "namespace": self.namespace,
            "name": self.name,
            "rights": list(self.rights),
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def hash_secret(secret: str, salt: str) -> str:
    return hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), **_SCRYPT).hex()


def check_rights(rights: Iterable[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(right.strip() for right in rights if right.strip()))
    unknown = [right for right in wanted if right not in RIGHTS]
    problem = None
    if unknown or not wanted:
        problem = f"rights are some of {', '.join(RIGHTS)}; got {', '.join(wanted) or 'none'}"
    elif COLLECT in wanted and len(wanted) > 1:
        problem = "collect goes alone: a key a web page shows cannot also read or write"
    if problem:
        raise InvalidInput(f"rights: {problem}", fields={"rights": [problem]})
    return tuple(right for right in RIGHTS if right in wanted)


class ApiKeys:
    """Create, list, revoke and check API keys, over any store (graph/store/base.py)."""

    def __init__(self, store: Any, clock: Callable[[], str] = utc_now) -> None:
        self._store = store
        self._clock = clock
        self._verified: dict[str, int] = {}  # SHA-256 of a presented key -> its id

    def create(
        self, namespace: str, rights: Iterable[str], name: str | None = None
    ) -> tuple[ApiKey, str]:
        """A new key and its text, which exists only in this answer."""
        rights = check_rights(rights)
        name = name or f"key-{secrets.token_hex(4)}"
        if not NAME.fullmatch(name):
            problem = "a key name is 1-64 of letters, digits, '.', '_', ':', '-'"
            raise InvalidInput(f"name: {problem}", fields={"name": [problem]})
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        hashed = hash_secret(secret, salt)
        at = self._clock()

        def create(tx: Any) -> int:
            if any(key.name == name and key.active for key in tx.api_keys(namespace)):
                problem = f"namespace {namespace} already has a key named {name!r}"
                raise InvalidInput(f"name: {problem}", fields={"name": [problem]})
            return tx.create_api_key(namespace, name, rights, salt, hashed, at)

        key_id = self._store.write(create)
        return ApiKey(key_id, namespace, name, rights, salt, hashed, at), f"idg_{key_id}_{secret}"

    def list(self, namespace: str | None = None) -> list[ApiKey]:
        """Every key, revoked ones too, by id; of one namespace, or of all."""
        return self._store.read(lambda tx: tx.api_keys(namespace))

    def revoke(self, key_id: int) -> ApiKey:
        """Revoke a key for good (again: nothing changes). NotFound for an unknown id."""
        at = self._clock()

        def revoke(tx: Any) -> ApiKey | None:
            tx.revoke_api_key(key_id, at)
            return tx.api_key(key_id)

        key = self._store.write(revoke)
        if key is None:
            raise NotFound(f"no API key {key_id}")
        return key

    def authenticate(self, presented: str) -> ApiKey | None:
        """The active key this text is, or None."""
        match = _KEY.fullmatch(presented)
        if not match:
            return None
        key_id, secret = int(match[1]), match[2]
        key = self._store.read(lambda tx: tx.api_key(key_id))
        if key is None or not key.active:
            return None
        fingerprint = hashlib.sha256(presented.encode()).hexdigest()
        if self._verified.get(fingerprint) == key_id:
            return key
        if not hmac.compare_digest(hash_secret(secret, key.salt), key.hash):
            return None
        if len(self._verified) >= _REMEMBERED:
            self._verified.clear()
        self._verified[fingerprint] = key_id
        return key
