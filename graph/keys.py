"""API keys: who may call, in which namespace, with which rights.

A key is shown once, when it is created: ``idg_<id>_<secret>``. The store keeps its id, its
namespace, a name, its rights and a salted scrypt hash of the secret (``hashlib.scrypt``, the
standard library); never the secret. The id in the key finds its row without a scan, the hash
proves the secret. scrypt is slow on purpose (about 50 ms and 16 MB), so each process
remembers which presented keys it has verified, by their SHA-256, and on later requests only
re-reads the row: a revoked key stops working at its next request, in every process.

The id is written in canonical decimal (``idg_1_...``, never ``idg_01_...``): one key, one text.
A wrong secret costs one scrypt whatever its id names, a live key, a revoked one or none (then
it is checked against a salt and hash that match nothing), so the time of an answer does not
tell which ids exist. A revoked key's own secret is remembered once shown right, as a live
key's is: its holder, who may keep calling for a while, is answered 401 without scrypt and is
no guesser (``known``).

A process computes one scrypt at a time, and spends at most a quarter of its time hashing wrong
secrets; a check that would need a scrypt meanwhile is refused (``HashingBusy``), so that
guesses from any number of addresses cost a bounded share of the machine and leave a thread
free. Guessing is also limited per client address, before anything is hashed (app/api/auth.py).

The key's name is who wrote what: it is the ``source`` of every link written with the key, and
``created_by`` of its bans.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from graph.errors import IdgraphError, InvalidInput, NotFound
from graph.model import utc_now

# read: GET routes; write: every other route; collect: only the routes that send links
# (app/api/auth.py), for a key that lives in a web page's source, so it goes alone
RIGHTS = ("read", "write", "collect")
COLLECT = "collect"
NAME = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# what purges, bans and ended links record for callers that are no key (app/api/auth.py,
# app/api/context.py): a key of one of these names would pass for them in that audit
RESERVED_NAMES = frozenset({"admin", "local", "anonymous"})
_KEY = re.compile(r"idg_(0|[1-9][0-9]{0,17})_([A-Za-z0-9_-]{43})")  # the id in canonical decimal
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_REMEMBERED = 10_000  # verified keys a process remembers before it starts over
_WRONG_SECRETS_SHARE = 0.25  # of a process's time, at most, spent hashing wrong secrets
# what a secret is checked against when its id names no active key: the same scrypt, no match
_NO_KEY_SALT = secrets.token_hex(16)
_NO_KEY_HASH = secrets.token_hex(32)


class HashingBusy(IdgraphError):
    """This process may not compute a scrypt now: it is computing one, or wrong secrets have
    had their share of its time lately."""


class _Hashing:
    """Checks secrets with scrypt, one at a time, and gives wrong ones ``share`` of the time:
    a budget of seconds that refills by ``share`` each second, up to ``share``, and that each
    wrong secret's scrypt is taken from. While it is spent, any check that needs a scrypt is
    refused: wrong or right cannot be known before hashing. Right secrets take nothing from it,
    so that a process checking many new keys in a row is not slowed down."""

    def __init__(
        self, share: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._share = _WRONG_SECRETS_SHARE if share is None else share
        self._clock = clock
        self._lock = threading.Lock()
        self._budget, self._then = self._share, clock()

    def check(self, secret: str, salt: str, hashed: str) -> bool:
        if not self._lock.acquire(blocking=False):
            raise HashingBusy("another key is being checked")
        try:
            started = self._clock()
            budget = min(self._share, self._budget + (started - self._then) * self._share)
            self._budget, self._then = budget, started
            if budget <= 0:
                raise HashingBusy("wrong keys had their share of the time")
            right = hmac.compare_digest(hash_secret(secret, salt), hashed)
            if not right:
                ended = self._clock()
                self._budget, self._then = budget - (ended - started), ended
            return right
        finally:
            self._lock.release()


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
        self._hashing = _Hashing()

    def create(
        self, namespace: str, rights: Iterable[str], name: str | None = None
    ) -> tuple[ApiKey, str]:
        """A new key and its text, which exists only in this answer."""
        rights = check_rights(rights)
        name = name or f"key-{secrets.token_hex(4)}"
        if not NAME.fullmatch(name):
            problem = "a key name is 1-64 of letters, digits, '.', '_', ':', '-'"
            raise InvalidInput(f"name: {problem}", fields={"name": [problem]})
        if name.lower() in RESERVED_NAMES:
            problem = f"{name!r} is how the audit names a caller that is no key: choose another"
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
        """The active key this text is, or None. One scrypt for any well-formed text this
        process has not seen right yet, whatever key its id names, if any (a revoked key's
        secret is checked against its own hash, so that a right one is remembered and costs
        nothing later); HashingBusy when this process may not compute one now."""
        match = _KEY.fullmatch(presented)
        if not match:
            return None
        key_id, secret = int(match[1]), match[2]
        key = self._store.read(lambda tx: tx.api_key(key_id))
        fingerprint = _fingerprint(presented)
        if key is not None and self._verified.get(fingerprint) == key_id:
            return key if key.active else None
        salt, hashed = (key.salt, key.hash) if key is not None else (_NO_KEY_SALT, _NO_KEY_HASH)
        if not self._hashing.check(secret, salt, hashed) or key is None:
            return None
        if len(self._verified) >= _REMEMBERED:
            self._verified.clear()
        self._verified[fingerprint] = key_id  # revoked ones too: see known()
        return key if key.active else None

    def verified(self, presented: str) -> ApiKey | None:
        """The active key this text is if this process has verified it before, else None;
        without scrypt. A guess cannot hit it: only whole keys that were shown to be right are
        remembered."""
        key_id = self._verified.get(_fingerprint(presented))
        if key_id is None:
            return None
        key = self._store.read(lambda tx: tx.api_key(key_id))
        return key if key is not None and key.active else None

    def known(self, presented: str) -> bool:
        """Whether this process has seen this text to be a key's, active or since revoked:
        whoever sends it holds a real key, and is no guesser."""
        return _fingerprint(presented) in self._verified


def _fingerprint(presented: str) -> str:
    return hashlib.sha256(presented.encode()).hexdigest()
