"""The replay ring: the latest broadcast events, bounded in number and in bytes.

A count alone does not bound memory: a device:metrics with a chassis' interfaces
is a hundred times a device:status, and the mix of what is kept shifts with what
clients follow (each transport's encoding of an event is cached on it). So each
:class:`~eyenet.web.push.wire.Wire` tells the ring what it holds as it grows
(its event, estimated, and its encodings, exactly), and the oldest events leave
when either bound is passed. The newest event always stays.
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

    def append(self, wire: Wire) -> None:
        wire.meter = self
        self._wires.append(wire)
        self.nbytes += wire.nbytes
        wires = self._wires
        while len(wires) > 1 and (len(wires) > self.max_events or self.nbytes > self.max_bytes):
            old = wires.popleft()
            old.meter = None  # encodings it gets later (a held-back metric) are no longer ours
            self.nbytes -= old.nbytes

    def grew(self, nbytes: int) -> None:
        """A kept wire cached another encoding (the next append trims, not this: a route is under way)."""
        self.nbytes += nbytes

    @property
    def first_id(self) -> int | None:
        return self._wires[0].id if self._wires else None

    def __len__(self) -> int:
        return len(self._wires)

    def __iter__(self) -> Iterator[Wire]:
        return iter(self._wires)

    def __reversed__(self) -> Iterator[Wire]:
        return reversed(self._wires)
