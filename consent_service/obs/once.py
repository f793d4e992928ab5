"""Warnings that must be seen but never flood: at most one per key in a period, at most a few per
minute overall, and a bounded memory of the keys, whatever a client sends.

Per process (each worker has its own): a key is logged at most once per period by each worker.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

EVERY_S = 600.0  # one warning per key every 10 minutes
MAX_KEYS = 1024  # keys remembered; the oldest is forgotten first
PER_MINUTE = 20  # warnings per minute in all; more are counted and said with the next one


class OncePer:
    """`due(key)`: None to stay silent, else the number of warnings left out by the overall limit
    since the last one written (to be said with this one)."""

    def __init__(
        self,
        every_s: float = EVERY_S,
        max_keys: int = MAX_KEYS,
        per_minute: int = PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.every_s, self.max_keys, self.per_minute = every_s, max_keys, per_minute
        self._clock = clock
        self._seen: OrderedDict[Hashable, float] = OrderedDict()  # key → when last written, oldest first
        self._minute_start = -60.0
        self._in_minute = 0
        self._left_out = 0

    def due(self, key: Hashable) -> int | None:
        now = self._clock()
        last = self._seen.get(key)
        if last is not None and now - last < self.every_s:
            return None
        if now - self._minute_start >= 60:
            self._minute_start, self._in_minute = now, 0
        if self._in_minute >= self.per_minute:
            self._left_out += 1
            return None
        self._in_minute += 1
        self._seen[key] = now
        self._seen.move_to_end(key)
        while len(self._seen) > self.max_keys or now - next(iter(self._seen.values())) >= self.every_s:
            self._seen.popitem(last=False)
        left_out, self._left_out = self._left_out, 0
        return left_out

    def __len__(self) -> int:
        return len(self._seen)
