"""In-process publish/subscribe on Trio; a slow subscriber never stalls the publisher.

``bus.publish(event)`` is synchronous: it never awaits and never blocks. Each
subscriber has its own bounded buffer, and when it is full the subscriber's
overflow policy decides what goes:

* ``Overflow.DROP_OLDEST`` (default): keep the newest events, for metrics-like
  consumers where the latest value is what counts;
* ``Overflow.DROP_NEWEST``: keep what is buffered and drop what arrives, for
  consumers that would rather see a prefix in order.

A subscriber learns what it lost in-band: a :class:`Lagged` marker, carrying how
many events were dropped, is delivered at the place of the gap (consecutive
drops make one marker); ``report_lag=False`` turns the markers off.
``subscription.dropped`` counts every drop either way. A subscriber may also ask
only for some events: ``types=`` (event classes) and/or ``filter=`` (a callable;
one that raises is logged and treated as "no").

Use::

    async with bus.subscribe(maxlen=256, types=(DeviceMetrics,)) as sub:
        async for item in sub:
            if isinstance(item, Lagged): ...

A subscriber that handles each event without waiting takes them in batches
(``async for batch in sub.batches()``, or ``await sub.receive_batch()``): one scheduler
turn per event falls behind a busy loop.

The subscription receives what is published while its ``with`` block is open
(``with`` works too) and is removed from the bus on exit. When the bus closes,
each subscription delivers what it holds and then ends.
"""

from __future__ import annotations

import enum
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import trio

from eyenet.health import Checks, Health, recently

log = logging.getLogger("eyenet.bus")

DEFAULT_MAXLEN = 1024


class Overflow(enum.Enum):
    DROP_OLDEST = "drop-oldest"
    DROP_NEWEST = "drop-newest"


@attrs.frozen
class Lagged:
    """`missed` events were dropped here because this subscriber fell behind."""

    missed: int


class Subscription:
    """One subscriber's bounded buffer. Create it with :meth:`Bus.subscribe`."""

    def __init__(
        self,
        bus: Bus,
        *,
        maxlen: int,
        overflow: Overflow,
        types: tuple[type, ...] | None,
        filter: Callable[[Any], bool] | None,
        report_lag: bool,
        name: str,
    ) -> None:
        if maxlen < 1:
            raise ValueError(f"maxlen must be at least 1, not {maxlen}")
        self._bus = bus
        self.maxlen = maxlen
        self.overflow = Overflow(overflow)
        self._types = types
        self._filter = filter
        self._report_lag = report_lag
        self.name = name
        self._items: deque[Any] = deque()  # events and Lagged markers
        self._count = 0  # events in _items (markers not counted)
        self._lot = trio.lowlevel.ParkingLot()
        self._open = False
        self._closed = False
        self._filter_failed = False
        self.delivered = 0  # events handed to the subscriber
        self.dropped = 0  # events lost to overflow
        self.dropped_at: float | None = None  # time.monotonic() of the last drop

    # -- publisher side (synchronous) ------------------------------------------------------

    def _wants(self, event: Any) -> bool:
        if self._types is not None and not isinstance(event, self._types):
            return False
        if self._filter is not None:
            try:
                return bool(self._filter(event))
            except Exception:
                if not self._filter_failed:
                    log.exception("subscriber %s: filter failed; events it fails on are skipped", self.name)
                    self._filter_failed = True
                return False
        return True

    def _offer(self, event: Any) -> bool:
        """Buffer `event` if wanted; True when it was buffered."""
        if not self._wants(event):
            return False
        items = self._items
        if self._count >= self.maxlen:
            self.dropped += 1
            self.dropped_at = time.monotonic()
            if self.overflow is Overflow.DROP_NEWEST:
                self._mark_lag_at_tail()
                self._wake()
                return False
            self._drop_oldest()
        items.append(event)
        self._count += 1
        self._wake()
        return True

    def _mark_lag_at_tail(self) -> None:
        if not self._report_lag:
            return
        items = self._items
        if items and isinstance(items[-1], Lagged):
            items[-1] = Lagged(items[-1].missed + 1)
        else:
            items.append(Lagged(1))

    def _drop_oldest(self) -> None:
        items = self._items
        missed = 0
        while isinstance(items[0], Lagged):  # markers before the oldest event merge into one
            missed += items.popleft().missed
        items.popleft()
        self._count -= 1
        missed += 1
        if self._report_lag:
            items.appendleft(Lagged(missed))

    def _wake(self) -> None:
        if len(self._lot):
            self._lot.unpark_all()

    # -- subscriber side ---------------------------------------------------------------------

    def __len__(self) -> int:
        """Events buffered (markers not counted)."""
        return self._count

    def receive_nowait(self) -> Any:
        """The next event or Lagged marker; trio.WouldBlock when none is buffered."""
        if self._items:
            item = self._items.popleft()
            if not isinstance(item, Lagged):
                self._count -= 1
                self.delivered += 1
            return item
        if self._closed:
            raise trio.ClosedResourceError("this subscription has ended")
        if self._bus.closed:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    async def receive(self) -> Any:
        """The next event or Lagged marker, waiting for one. trio.EndOfChannel once
        the bus is closed and the buffer drained."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                item = self.receive_nowait()
            except trio.WouldBlock:
                await self._lot.park()
            else:
                await trio.lowlevel.cancel_shielded_checkpoint()
                return item

    async def receive_batch(self, limit: int = 256) -> list[Any]:
        """What is buffered, up to limit items (events and markers), waiting for the first.
        One checkpoint for the batch: a subscriber that takes one event per turn of the
        scheduler falls behind a busy loop (each turn runs every ready task), one that takes
        what is there does not. trio.EndOfChannel as receive()."""
        batch = [await self.receive()]
        items = self._items
        while items and len(batch) < limit:
            batch.append(self.receive_nowait())
        return batch

    async def batches(self, limit: int = 256):
        """receive_batch() after receive_batch(), until the bus closes and the buffer is drained."""
        while True:
            try:
                yield await self.receive_batch(limit)
            except trio.EndOfChannel:
                return

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    # -- lifetime -------------------------------------------------------------------------------

    def _enter(self) -> Subscription:
        if self._open or self._closed:
            raise RuntimeError("a subscription is entered once")
        self._open = True
        self._bus._add(self)
        return self

    def close(self) -> None:
        """Leave the bus; buffered events are discarded and waiting receivers woken."""
        if self._closed:
            return
        self._closed = True
        self._bus._remove(self)
        self._items.clear()
        self._count = 0
        self._lot.unpark_all()

    def __enter__(self) -> Subscription:
        return self._enter()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Subscription:
        return self._enter()

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<Subscription {self.name} {self._count}/{self.maxlen} {self.overflow.value} "
                f"delivered={self.delivered} dropped={self.dropped}>")


class Bus:
    """Publish/subscribe between the services of one process."""

    def __init__(self) -> None:
        # A dict keeps subscription order (stable delivery order, easy to reason about).
        self._subscribers: dict[Subscription, None] = {}
        self.closed = False
        self.published = 0

    def subscribe(
        self,
        *,
        maxlen: int = DEFAULT_MAXLEN,
        overflow: Overflow = Overflow.DROP_OLDEST,
        types: Iterable[type] | type | None = None,
        filter: Callable[[Any], bool] | None = None,
        report_lag: bool = True,
        name: str = "subscriber",
    ) -> Subscription:
        """A subscription, active inside its (async) with block."""
        if isinstance(types, type):
            types = (types,)
        return Subscription(
            self, maxlen=maxlen, overflow=overflow, types=None if types is None else tuple(types),
            filter=filter, report_lag=report_lag, name=name,
        )

    def publish(self, event: Any) -> int:
        """Hand `event` to every subscriber that wants it, now; never blocks.
        Returns how many subscribers buffered it."""
        if self.closed:
            raise trio.ClosedResourceError("the bus is closed")
        self.published += 1
        buffered = 0
        for sub in list(self._subscribers):
            buffered += sub._offer(event)
        return buffered

    def close(self) -> None:
        """No more events: each subscriber drains its buffer, then its iteration ends."""
        self.closed = True
        for sub in list(self._subscribers):
            sub._wake()

    @property
    def subscribers(self) -> tuple[Subscription, ...]:
        return tuple(self._subscribers)

    def health(self) -> Health:
        """Degraded while a subscriber is more than half behind, or dropped events lately."""
        now = time.monotonic()
        checks = Checks({"published": self.published, "subscribers": len(self._subscribers)})
        for sub in self._subscribers:
            if sub._count * 2 > sub.maxlen:
                checks.degraded(f"{sub.name} is behind: {sub._count} of {sub.maxlen} events waiting")
            if recently(sub.dropped_at, now):
                checks.degraded(f"{sub.name} fell behind and dropped events lately ({sub.dropped} in all)")
        return checks.health()

    def _add(self, sub: Subscription) -> None:
        if self.closed:
            raise trio.ClosedResourceError("the bus is closed")
        self._subscribers[sub] = None

    def _remove(self, sub: Subscription) -> None:
        self._subscribers.pop(sub, None)
