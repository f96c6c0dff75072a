"""One broadcast event, encoded once, in every form a transport asks for.

The hub wraps each event from the bus in a :class:`Wire` with its event id and,
once a session or a replay asks, its two JSON variants (device:metrics carries ``interfaces`` only on a
``device:<id>`` channel). A transport turns that JSON into its own bytes (a
WebSocket frame of the envelope, a Socket.IO EVENT packet, ...) through a
*format*: a function ``(wire, detailed) -> bytes``. :meth:`Wire.encoded` calls
each format at most once per variant and caches the result, so a broadcast to
5,000 clients serialises the event a handful of times, not 5,000.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import tzinfo
from typing import Protocol

import attrs

from eyenet.events import DeviceMetrics, Event, channels, encode_variants

Format = Callable[["Wire", bool], bytes]

# What an event object holds in memory, estimated without walking it (that would cost
# as much as encoding it): measured with tracemalloc, a row of a tuple field (an
# interface, a device of the map, a link) takes ~32 bytes per attribute (its slot and
# its own number or string), and so does the event around them (tests/test_push_ring.py
# keeps the estimate within a factor two).
FIELD_BYTES = 32


@functools.cache
def _row_bytes(cls: type) -> int:
    return FIELD_BYTES * (len(attrs.fields(cls)) + 1) if attrs.has(cls) else 2 * FIELD_BYTES


def footprint(event: Event) -> int:
    nbytes = _row_bytes(type(event))
    for value in attrs.astuple(event, recurse=False):
        if isinstance(value, tuple) and value:
            nbytes += len(value) * _row_bytes(type(value[0]))
    return nbytes


class Meter(Protocol):
    def grew(self, nbytes: int) -> None: ...


class Wire:
    __slots__ = ("event", "id", "tz", "type", "device_id", "channels", "sensitive", "nbytes", "meter",
                 "_plain", "_detailed", "_cache")

    def __init__(self, event: Event, event_id: int, *, tz: tzinfo | None = None) -> None:
        self.event = event
        self.id = event_id
        self.tz = tz
        self.type: str = event.TYPE
        self.device_id: str | None = getattr(event, "device_id", None)
        self.channels: tuple[str, ...] = channels(event)
        self.sensitive = False  # set by the hub: sent as JWE, per session
        # Encoded when a session or a replay first asks: most device:metrics have no follower.
        self._plain: bytes | None = None
        self._detailed: bytes | None = None
        self._cache: dict[tuple[Format, bool], bytes] = {}
        self.nbytes = footprint(event)  # the event (estimated) and the encodings cached so far
        self.meter: Meter | None = None  # the replay ring, while it keeps this wire

    @property
    def plain(self) -> bytes:
        """The envelope JSON."""
        if self._plain is None:
            self._encode()
        return self._plain

    @property
    def detailed(self) -> bytes:
        """The device channel's envelope JSON: the same object when the event has no detail variant."""
        if self._detailed is None:
            self._encode()
        return self._detailed

    def _encode(self) -> None:
        encoded = encode_variants(self.event, self.id, tz=self.tz)
        self._plain, self._detailed = encoded.plain, encoded.detailed
        self._held(len(encoded.plain) + (len(encoded.detailed) if encoded.detailed is not encoded.plain else 0))

    def _held(self, nbytes: int) -> None:
        self.nbytes += nbytes
        if self.meter is not None:
            self.meter.grew(nbytes)

    @property
    def coalescible(self) -> bool:
        """Only device:metrics may be held back and replaced by a newer one (events.md)."""
        return isinstance(self.event, DeviceMetrics)

    def envelope(self, detailed: bool) -> bytes:
        return self.detailed if detailed else self.plain

    def encoded(self, fmt: Format, detailed: bool) -> bytes:
        detailed = detailed and self.detailed is not self.plain
        key = (fmt, detailed)
        out = self._cache.get(key)
        if out is None:
            out = self._cache[key] = fmt(self, detailed)
            self._held(len(out))
        return out

    def __repr__(self) -> str:
        return f"<Wire {self.type} id={self.id} device={self.device_id}>"
