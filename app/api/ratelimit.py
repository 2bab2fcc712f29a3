"""Token buckets: ``rate`` requests per second on average, ``burst`` at once, per key.

``RateLimiter`` limits what each API key (and each address of a collect key) may ask for;
``FailedCredentials`` limits the credentials a client address may get wrong, so that guessing
costs the guesser time and the server no scrypt (app/api/auth.py).

Each process keeps its own buckets; ``idgraph serve`` tells each of its N processes that it is
one of N (``Settings.processes``), each takes 1/N of the configured rate and burst, and
connections spread over the processes, so a client sees about the configured figures in all.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

_BUCKETS = 100_000  # buckets a limiter keeps: memory stays bounded whoever calls


class RateLimiter:
    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._clock = clock
        self._buckets: OrderedDict[object, tuple[float, float]] = OrderedDict()  # (tokens, when)
        self._lock = threading.Lock()

    def wait(self, key: object) -> int:
        """Take a token for ``key``: 0 if it had one, else the seconds to wait (at least 1),
        which is what Retry-After says."""
        if self.rate <= 0:
            return 0
        with self._lock:
            now = self._clock()
            tokens = self._tokens(key, now)
            if tokens >= 1:
                self._keep(key, tokens - 1, now)
                return 0
            self._keep(key, tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))

    def has_token(self, key: object) -> bool:
        """Whether ``wait`` would give ``key`` a token now; none is taken."""
        if self.rate <= 0:
            return True
        with self._lock:
            return self._tokens(key, self._clock()) >= 1

    def spent(self, key: object) -> bool:
        """Whether ``key`` used tokens that have not come back yet."""
        with self._lock:
            return key in self._buckets and self._tokens(key, self._clock()) < self.burst

    def give_back(self, key: object) -> None:
        """Return the token ``wait`` took, when what it was taken for did not happen."""
        if self.rate <= 0:
            return
        with self._lock:
            now = self._clock()
            self._keep(key, min(self.burst, self._tokens(key, now) + 1), now)

    def _tokens(self, key: object, now: float) -> float:
        tokens, then = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - then) * self.rate)

    def _keep(self, key: object, tokens: float, now: float) -> None:
        """Most recently used last; past _BUCKETS the least recently used bucket goes, which
        is a full one unless that many clients came within one refill."""
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        if len(self._buckets) > _BUCKETS:
            self._buckets.popitem(last=False)


class FailedCredentials:
    """How many credentials each client may get wrong: ``most`` per ``seconds`` (a bucket of
    ``most`` that refills evenly over ``seconds``), shared by ``processes``.

    A check takes a token before it computes anything (``attempt``) and gives it back when the
    credential was right or was not checked (``refund``), so that concurrent guesses cannot
    overshoot. A client is an IPv4 address or an IPv6 /64, which one host usually holds
    whole."""

    def __init__(
        self,
        most: int,
        seconds: float,
        processes: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.most, self.seconds = most, seconds
        self._buckets = RateLimiter(most / seconds / processes, max(1, most // processes), clock)

    def attempt(self, address: str) -> int:
        """0: this client may have a credential checked; else the seconds it must wait."""
        return self._buckets.wait(client_of(address))

    def admits(self, address: str) -> bool:
        """Whether this client may have a credential checked now (``attempt`` would say 0);
        nothing is taken."""
        return self._buckets.has_token(client_of(address))

    def refund(self, address: str) -> None:
        self._buckets.give_back(client_of(address))

    def suspect(self, address: str) -> bool:
        """Whether this client got a credential wrong within the time its budget takes to
        refill: the server serves its requests one at a time (app/cli/worker.py)."""
        return self._buckets.spent(client_of(address))


def client_of(address: str) -> str:
    """The unit a client controls: an IPv4 address (also when IPv4-mapped), an IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
