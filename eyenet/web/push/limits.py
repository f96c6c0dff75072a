"""The arithmetic behind the push limits (pure, no I/O, no clock).

events.md: at most 100 subscriptions per client, at most 1000 client events a
minute (beyond: RATE_LIMITED and disconnect), at most 1000 server events a
minute (beyond: device:metrics coalesce, other events still go). The numbers
are [push] of the configuration (eyenet.config.PushSettings).

The client limit is a hard cap, so it is counted literally: a sliding window of
60 one-second slots, and the 1001st event within any minute is refused. The
server budget only decides when held-back metrics go out, so it is a token
bucket holding N tokens that refills at N per 60 s (bursts up to N, never more
than N a minute sustained) and tells when the next token comes.
"""

from __future__ import annotations

import attrs


@attrs.define
class SlidingWindow:
    """At most `limit` events in any `period` seconds, counted in `slots` equal slots
    (so "any minute" is exact to one slot). Times are floats from the caller's clock."""

    limit: int
    period: float = 60.0
    slots: int = 60
    counts: list[int] = attrs.field(init=False)
    slot: int = attrs.field(init=False, default=0)  # the slot `counts` was last advanced to
    total: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        self.counts = [0] * self.slots

    def take(self, now: float) -> bool:
        """Count one event now, unless that would make more than `limit` in the window."""
        slot = int(now * self.slots / self.period)
        if slot > self.slot:
            for s in range(max(self.slot + 1, slot - self.slots + 1), slot + 1):
                self.total -= self.counts[s % self.slots]
                self.counts[s % self.slots] = 0
            self.slot = slot
        if self.total >= self.limit:
            return False
        self.counts[slot % self.slots] += 1
        self.total += 1
        return True


@attrs.define
class TokenBucket:
    """`capacity` tokens, refilled at `capacity / period` per second. Times are
    plain floats (seconds) from the caller's clock."""

    capacity: float
    period: float = 60.0
    tokens: float = attrs.field(default=attrs.Factory(lambda self: self.capacity, takes_self=True))
    updated: float = 0.0

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.capacity / self.period)
            self.updated = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def force(self, now: float) -> None:
        """Spend one token even when there is none (events that are never held
        back still count against what may follow); the debt is bounded by one
        bucket so a burst of alerts cannot starve metrics for long."""
        self._refill(now)
        self.tokens = max(self.tokens - 1.0, -self.capacity)

    def ready_at(self, now: float) -> float:
        """When the next whole token is available (now, if one is)."""
        self._refill(now)
        if self.tokens >= 1.0:
            return now
        return now + (1.0 - self.tokens) * self.period / self.capacity
