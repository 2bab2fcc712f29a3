"""Session tokens: what Synerise's login route (``POST /uauth/v2/auth/login/profile``) answers
for an API key, so that a Synerise client that logs in before its calls works unchanged.

A token is a JWT (PyJWT, HS256) that stands for one API key for an hour. Its header names the
key (``kid``, the standard place for it); its claims copy what the key is allowed: ``ns`` (the
namespace), ``sub`` (the key's name), ``rights``, and ``iat``/``exp``. It is signed with a
secret derived from the key's stored scrypt hash, which no one is ever shown and which every
server process reads from the same store, and from the admin token when the service has one
(``pepper``), so that a copy of the store alone cannot mint tokens.

A token is checked against the key's row at every use, as an API key is: a revoked (or
deleted) key's tokens stop at once, in every process, and a token whose claims no longer match
its key is refused. Nothing here speaks HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from graph.keys import ApiKey

LIFETIME = timedelta(hours=1)
ALGORITHM = "HS256"
_LABEL = b"idgraph session token"
_CLAIMS = ("ns", "sub", "rights", "iat", "exp")


def issue(key: ApiKey, *, pepper: str | None = None, now: datetime | None = None) -> str:
    """A token for this key, valid for LIFETIME from ``now``."""
    issued = now or datetime.now(UTC)
    claims = {
        "ns": key.namespace,
        "sub": key.name,
        "rights": list(key.rights),
        "iat": issued,
        "exp": issued + LIFETIME,
    }
    return jwt.encode(
        claims, _secret(key, pepper), algorithm=ALGORITHM, headers={"kid": str(key.id)}
    )


def verify(
    store: Any, text: str, *, pepper: str | None = None, now: datetime | None = None
) -> ApiKey | None:
    """The active key this token stands for, or None: not a token of ours, tampered with,
    expired at ``now``, signed with another pepper, or its key revoked or changed."""
    key_id = _key_id(text)
    if key_id is None:
        return None
    key = store.read(lambda tx: tx.api_key(key_id))
    if key is None or not key.active:
        return None
    try:
        claims = jwt.decode(
            text,
            _secret(key, pepper),
            algorithms=[ALGORITHM],
            options={"require": list(_CLAIMS), "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError:
        return None
    expired = (now or datetime.now(UTC)).timestamp() >= claims["exp"]
    if expired or not _describes(claims, key):
        return None
    return key


def _key_id(text: str) -> int | None:
    """The key a token names, read before anything of it is trusted."""
    try:
        kid = jwt.get_unverified_header(text).get("kid")
    except jwt.InvalidTokenError:
        return None
    if not (isinstance(kid, str) and kid.isascii() and kid.isdigit() and len(kid) <= 18):
        return None
    return int(kid)


def _describes(claims: dict[str, Any], key: ApiKey) -> bool:
    return (claims["ns"], claims["sub"], claims["rights"]) == (
        key.namespace,
        key.name,
        list(key.rights),
    )


def _secret(key: ApiKey, pepper: str | None) -> bytes:
    message = _LABEL + b"\0" + (pepper or "").encode()
    return hmac.new(bytes.fromhex(key.hash), message, hashlib.sha256).digest()
