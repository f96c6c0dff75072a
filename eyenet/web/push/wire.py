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

from collections.abc import Callable
from datetime import tzinfo

from eyenet.events import DeviceMetrics, Event, channels, encode_variants

Format = Callable[["Wire", bool], bytes]


class Wire:
    __slots__ = ("event", "id", "tz", "type", "device_id", "channels", "sensitive", "_plain", "_detailed", "_cache")

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
        return out

    def __repr__(self) -> str:
        return f"<Wire {self.type} id={self.id} device={self.device_id}>"
