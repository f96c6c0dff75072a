"""The replay ring: the latest broadcast events, bounded in number and in bytes.

A count alone does not bound memory: a device:metrics with a chassis' interfaces
is a hundred times a device:status, and the mix of what is kept shifts with what
clients follow (each transport's encoding of an event is cached on it). So each
:class:`~eyenet.web.push.wire.Wire` tells the ring what it holds as it grows
(its event, estimated, and its encodings, exactly), and the oldest events leave
when either bound is passed. The newest event always stays.

The ring also knows when each event came, so it can say how far back a reconnecting
client can resume (its span): what an operator sizes the bounds by.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from eyenet.web.push.wire import Wire


class ReplayRing:
    def __init__(self, max_events: int, max_bytes: int) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.nbytes = 0  # what the kept wires hold, by their own count
        self._wires: deque[Wire] = deque()
        self._times: deque[float] = deque()  # when each kept wire came, beside it

    def append(self, wire: Wire, at: float) -> None:
        """Keep `wire`, published at time `at` (any clock that span() is given too)."""
        wire.meter = self
        self._wires.append(wire)
        self._times.append(at)
        self.nbytes += wire.nbytes
        wires = self._wires
        while len(wires) > 1 and (len(wires) > self.max_events or self.nbytes > self.max_bytes):
            old = wires.popleft()
            self._times.popleft()
            old.meter = None  # encodings it gets later (a held-back metric) are no longer ours
            self.nbytes -= old.nbytes

    def grew(self, nbytes: int) -> None:
        """A kept wire cached another encoding (the next append trims, not this: a route is under way)."""
        self.nbytes += nbytes

    @property
    def first_id(self) -> int | None:
        return self._wires[0].id if self._wires else None

    def span(self, now: float) -> float:
        """Seconds from the oldest kept event to `now`: a client away longer misses some."""
        return now - self._times[0] if self._times else 0.0

    def __len__(self) -> int:
        return len(self._wires)

    def __iter__(self) -> Iterator[Wire]:
        return iter(self._wires)

    def __reversed__(self) -> Iterator[Wire]:
        return reversed(self._wires)
