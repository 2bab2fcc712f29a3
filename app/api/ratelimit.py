"""A token bucket per API key: ``rate`` requests per second on average, ``burst`` at once.

Each process keeps its own buckets; ``idgraph serve`` gives each of its N processes 1/N of
the configured rate and burst, and connections spread over the processes, so a key sees about
the configured figures in all.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._clock = clock
        self._buckets: dict[object, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def wait(self, key: object) -> int:
        """Take a token for ``key``: 0 if it had one, else the seconds to wait (at least 1),
        which is what Retry-After says."""
        if self.rate <= 0:
            return 0
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))
