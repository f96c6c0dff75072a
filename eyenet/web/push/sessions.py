"""One push client's session, the same for /ws and Socket.IO.

A transport authenticates the client through the hub (a :class:`SessionHost`),
which gives it a :class:`Session` bound to the transport's :class:`Sink`. From
then on the transport hands every client event to :meth:`Session.handle` and
sends back the acknowledgement it returns; the hub offers each broadcast event
to the sessions subscribed to its channels. The session holds what events.md
asks of a client: the subscription set (at most 100), the inbound limit (1000
client events a minute: beyond it RATE_LIMITED and disconnect), the outbound
budget (1000 events a minute: device:metrics beyond it wait, latest per device
wins; status, alert, topology and ml events always go), role and scope
filtering (eyenet.auth.access), token expiry and refresh, and encryption of sensitive payloads.

Errors reach the client as ``error`` events through the sink, then, when the
error ends the session, the sink's ``disconnect``. Nothing a client sends can
raise out of :meth:`Session.handle`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import attrs

from eyenet.auth.access import Access
from eyenet.auth.tokens import jwe_encrypt
from eyenet.config import PushSettings
from eyenet.events import SEVERITIES, to_json
from eyenet.lograte import LogThrottle
from eyenet.web import inbound
from eyenet.web.push.limits import SlidingWindow, TokenBucket
from eyenet.web.push.wire import Wire

CHANNEL_TYPES = ("device", "devices", "alerts", "topology", "ml")
CLIENT_EVENTS = ("subscribe", "unsubscribe", "auth:refresh", "resume")


class Sink(Protocol):
    """What a transport offers a session. Each call writes now or queues; none awaits."""

    def send_event(self, wire: Wire, detailed: bool) -> bool:
        """A broadcast event, through the transport's cached encoding. False: the
        client cannot keep up (its backlog overflowed) and is being dropped."""

    def send_private(self, event_type: str, event_id: int, envelope: bytes) -> bool:
        """An envelope made for this client alone (error, encrypted payload)."""

    def disconnect(self) -> None:
        """End the session from the server side (Socket.IO DISCONNECT, WebSocket close)."""


class SessionHost(Protocol):
    """What a session needs of the hub that routes events to it."""

    log: logging.Logger
    failures: LogThrottle
    access: Access

    def authenticate(self, token: object) -> Principal: ...
    def watch_expiry(self, session: Session) -> None: ...
    def close_session(self, session: Session, *, recoverable: bool = False) -> None: ...
    def index(self, session: Session, channel: str) -> None: ...
    def unindex(self, session: Session, channel: str) -> None: ...
    def wants_flush(self, session: Session) -> None: ...
    def missed(
        self, session: Session, after: int, *, new_channel: str | None = None, earlier: Iterable[str] = ()
    ) -> tuple[list[tuple[Wire, bool]], bool]: ...
    def scoped_topology(self, wire: Wire, scope: tuple[str, ...]) -> bytes | None: ...
    def error_envelope(self, code: str, message: str, details: Mapping[str, Any] | None = None) -> tuple[int, bytes]: ...
    def timestamp(self, unix: float) -> str: ...


@attrs.frozen
class Principal:
    """Who is connected: from a verified token."""

    user_id: str
    role: str
    scope: tuple[str, ...]  # device tags; empty: every device
    expires_at: float  # Unix time of the token's exp
    token_id: str
    event_key: bytes | None = attrs.field(default=None, repr=False)  # for JWE payloads
    generation: int = 0  # the token's: a user whose generation moved on is disconnected


class ClientError(Exception):
    """A client event the session refuses: becomes an `error` event."""

    def __init__(self, code: str, message: str, *, details: Mapping[str, Any] | None = None, fatal: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.fatal = fatal


def channel_for(data: Any) -> str:
    """`{type, id}` of a subscribe/unsubscribe -> the channel name (events.md's table)."""
    if not isinstance(data, Mapping):
        raise ClientError("INVALID_MESSAGE", "subscribe/unsubscribe data must be an object {type, id}")
    kind, ident = data.get("type"), data.get("id")
    if kind not in CHANNEL_TYPES:
        raise ClientError(
            "UNKNOWN_CHANNEL", f"unknown channel type {kind!r}: use one of {', '.join(CHANNEL_TYPES)}",
            details={"type": kind if isinstance(kind, (str, int, float, bool)) or kind is None else str(kind)},
        )
    if kind == "device":
        if not isinstance(ident, str) or not ident:
            raise ClientError("INVALID_MESSAGE", "a device subscription needs the device id as a string 'id'")
        return f"device:{ident}"
    if kind == "alerts" and ident is not None:
        if ident not in SEVERITIES:
            raise ClientError(
                "UNKNOWN_CHANNEL", f"unknown alert severity {ident!r}: use one of {', '.join(SEVERITIES)}",
                details={"type": "alerts", "id": str(ident)},
            )
        return f"alerts:{ident}"
    return kind


class Session:
    """Create through the hub's open_session."""

    def __init__(self, hub: SessionHost, principal: Principal, sink: Sink, limits: PushSettings, now: float, sid: str | None = None):
        self.hub = hub
        self.principal = principal
        self.sink = sink
        self.limits = limits
        self.sid = sid or secrets.token_urlsafe(15)
        self.pid: str | None = None  # Socket.IO recovery id, when the transport can recover
        self.subscriptions: dict[str, None] = {}
        self.inbound = SlidingWindow(limits.client_events_per_minute)
        self.outbound = TokenBucket(limits.events_per_minute, updated=now)
        # Coalesced device:metrics, by device: up to one per device for every session that is
        # behind, so an entry is the wire alone (the variant is chosen when it goes out).
        self.pending: dict[str | None, Wire] = {}
        self.resume_after: int | None = None  # replay point set by ?lastEventId / auth.lastEventId
        self._replay: list[tuple[Wire, bool]] = []  # missed events to send after the current ack
        self.closed = False
        self.expiry_entry = -1  # the hub's watch of this session's token (Hub.watch_expiry)
        self.delivered = 0
        self.coalesced = 0

    # -- client events -----------------------------------------------------------------------

    def handle(self, name: Any, data: Any, now: float, reply: Callable[[dict], None] | None = None) -> dict | None:
        """One client event. Returns the acknowledgement's data (None when the event
        has none); errors go to the client as `error` events, and a limit breach
        also ends the session. Events replayed by a subscribe or resume follow the
        acknowledgement: pass `reply` to have the ack sent (by calling it) before them."""
        ack = self._dispatch(name, data, now)
        if ack is not None and reply is not None and not self.closed:
            reply(ack)
        replay, self._replay = self._replay, []
        for wire, detailed in replay:
            self.offer(wire, detailed, now)
        return ack

    def _dispatch(self, name: Any, data: Any, now: float) -> dict | None:
        if self.closed:
            return None
        if not self._count_inbound(now):
            return None
        try:
            if name == "subscribe":
                return self.subscribe(channel_for(data), now)
            if name == "unsubscribe":
                return self.unsubscribe(channel_for(data))
            if name == "auth:refresh":
                return self.refresh(data)
            if name == "resume":
                return self.resume(data, now)
            raise ClientError(
                "INVALID_MESSAGE", f"unknown event {name!r}: use one of {', '.join(CLIENT_EVENTS)}",
                details={"event": name if isinstance(name, str) else repr(name)[:64]},
            )
        except ClientError as exc:
            self.fail(exc)
            return {"status": "error", "code": exc.code, "message": exc.message}
        except Exception:
            self.hub.failures.log(self.hub.log, now, "client event", "session %s: %s failed", self.sid, repr(name)[:80],
                                  level=logging.ERROR, exc_info=True)
            self.fail(ClientError("INTERNAL", "the server failed to handle this event"))
            return {"status": "error", "code": "INTERNAL", "message": "the server failed to handle this event"}

    def invalid(self, message: str, now: float, details: Mapping[str, Any] | None = None) -> None:
        """A client message that could not even be read (bad JSON, wrong shape): it
        counts against the inbound limit like any other, and gets INVALID_MESSAGE."""
        if not self.closed and self._count_inbound(now):
            self.send_error("INVALID_MESSAGE", message, details)

    def _count_inbound(self, now: float) -> bool:
        if self.inbound.take(now):
            return True
        self.fail(ClientError(
            "RATE_LIMITED", f"more than {self.limits.client_events_per_minute} client events in a minute",
            details={"limit": self.limits.client_events_per_minute, "per": "minute"}, fatal=True,
        ))
        return False

    def subscribe(self, channel: str, now: float) -> dict:
        if channel.startswith("device:"):
            device_id = channel[len("device:"):]
            if self.hub.access.tags_of(device_id) is None:
                raise ClientError("NOT_FOUND", f"no device {device_id!r}", details={"deviceId": device_id})
            if not self.hub.access.device(self.principal.scope, device_id):
                raise ClientError("FORBIDDEN", f"device {device_id!r} is outside your scope", details={"deviceId": device_id})
        if channel not in self.subscriptions:
            if len(self.subscriptions) >= self.limits.max_subscriptions:
                raise ClientError(
                    "SUBSCRIPTION_LIMIT", f"at most {self.limits.max_subscriptions} subscriptions per client",
                    details={"limit": self.limits.max_subscriptions}, fatal=True,
                )
            earlier = tuple(self.subscriptions)
            self.subscriptions[channel] = None
            self.hub.index(self, channel)
            if self.resume_after is not None:
                self._replay, _ = self.hub.missed(self, self.resume_after, new_channel=channel, earlier=earlier)
        return {"status": "subscribed", "channel": channel}

    def unsubscribe(self, channel: str) -> dict:
        if self.subscriptions.pop(channel, 0) is None:
            self.hub.unindex(self, channel)
        return {"status": "unsubscribed", "channel": channel}

    def refresh(self, data: Any) -> dict:
        token = data.get("token") if isinstance(data, Mapping) else None
        if not isinstance(token, str) or not token:
            raise ClientError("INVALID_MESSAGE", "auth:refresh needs {\"token\": \"<jwt>\"}")
        principal = self.hub.authenticate(token)  # raises ClientError AUTH_INVALID / TOKEN_EXPIRED
        if principal.user_id != self.principal.user_id:
            raise ClientError("FORBIDDEN", "auth:refresh must carry a token of the same user")
        self.principal = principal
        self.hub.watch_expiry(self)
        return {"status": "refreshed", "expiresAt": self.hub.timestamp(principal.expires_at)}

    def resume(self, data: Any, now: float) -> dict:
        after = inbound.event_id(data.get("lastEventId")) if isinstance(data, Mapping) else None
        if after is None:
            raise ClientError("INVALID_MESSAGE", "resume needs {\"lastEventId\": <event id>} (an integer from 0 to below 2^53)")
        self._replay, complete = self.hub.missed(self, after)
        self.resume_after = after
        return {"status": "resumed", "replayed": len(self._replay), "complete": complete}

    # -- server events -------------------------------------------------------------------------

    def may_see(self, wire: Wire) -> bool:
        """Role and scope filtering (a scoped topology is cut down when sent)."""
        p = self.principal
        return self.hub.access.event(p.role, p.scope, wire.type, wire.device_id)

    def offer(self, wire: Wire, detailed: bool, now: float) -> None:
        """A routed broadcast event: send now, or hold a device:metrics back when the
        outbound budget is spent (a newer one for the same device replaces it)."""
        if self.closed:
            return
        if wire.coalescible:
            if self.pending or not self.outbound.take(now):
                if wire.device_id in self.pending:
                    self.coalesced += 1
                self.pending[wire.device_id] = wire
                self.hub.wants_flush(self)
                return
        else:
            self.outbound.force(now)
        self._send(wire, detailed)

    def follows_device(self, wire: Wire) -> bool:
        """Whether the session gets `wire`'s detailed variant: it follows the event's device channel."""
        return any(ch in self.subscriptions for ch in wire.channels if ch.startswith("device:"))

    def flush(self, now: float) -> bool:
        """Send held metrics while the budget allows; True when some remain."""
        while self.pending and not self.closed and self.outbound.take(now):
            wire = self.pending.pop(next(iter(self.pending)))
            self._send(wire, self.follows_device(wire))
        return bool(self.pending) and not self.closed

    def _send(self, wire: Wire, detailed: bool) -> None:
        if wire.sensitive:
            ok = self._send_encrypted(wire, detailed)
        elif wire.device_id is None and self.principal.scope and wire.type == "topology:update":
            envelope = self.hub.scoped_topology(wire, self.principal.scope)
            ok = envelope is None or self.sink.send_private(wire.type, wire.id, envelope)
        else:
            ok = self.sink.send_event(wire, detailed)
        if ok:
            self.delivered += 1
        else:
            self.close()

    def _send_encrypted(self, wire: Wire, detailed: bool) -> bool:
        key = self.principal.event_key
        if key is None:  # no key, no payload: never fall back to clear text
            return True
        data = wire.encoded(data_json, detailed)
        envelope = b'{"type":"%s","id":%d,"enc":"%s"}' % (
            wire.type.encode(), wire.id, jwe_encrypt(key, data).encode()
        )
        return self.sink.send_private(wire.type, wire.id, envelope)

    def send_error(self, code: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        event_id, envelope = self.hub.error_envelope(code, message, details)
        if not self.sink.send_private("error", event_id, envelope):
            self.close()

    def fail(self, exc: ClientError) -> None:
        self.send_error(exc.code, exc.message, exc.details)
        if exc.fatal:
            self.disconnect()

    def expire(self) -> None:
        self.fail(ClientError("TOKEN_EXPIRED", "token expired: log in again or send auth:refresh before exp", fatal=True))

    def disconnect(self) -> None:
        """Server-side end: the transport tells the client, then the session leaves the hub."""
        if not self.closed:
            self.sink.disconnect()
            self.close()

    def close(self, *, recoverable: bool = False) -> None:
        """Leave the hub (the transport is gone or going). `recoverable`: the transport
        dropped, so a Socket.IO client may resume this session by its pid."""
        if not self.closed:
            self.closed = True
            self.pending.clear()
            self.hub.close_session(self, recoverable=recoverable)


def data_json(wire: Wire, detailed: bool) -> bytes:
    """A format: the event's `data` alone (what a JWE payload encrypts)."""
    return to_json(wire.event.data(include_interfaces=detailed, tz=wire.tz))
