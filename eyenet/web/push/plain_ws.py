"""The plain WebSocket at /ws: one JSON object per text frame over a push session.

events.md: server events are the envelopes ``{"type", "id", "data"}``; client
messages are ``{"type": "subscribe" | "unsubscribe" | "auth" | "auth:refresh" |
"resume", "ref": <any>, "data": {...}}`` and an acknowledgement comes back as
``{"type": "ack", "ref": <ref>, "data": {...}}``. The token comes from
``Authorization: Bearer``, ``?token=``, or a first ``auth`` message within
the auth timeout; ``?lastEventId=N`` asks for what was missed since event N.

A refused token still completes the upgrade so the client can read why: it
gets an ``error`` event and a close with code 1008 (policy violation), the
same as any limit breach or token expiry. At a shut-down every client gets a
close with code 1001 (going away).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import trio

from eyenet.config import WebSettings
from eyenet.lograte import LogThrottle
from eyenet.web import inbound
from eyenet.web.http import Request, Response
from eyenet.web.logsafe import guarded_logger
from eyenet.web.push.hub import Hub
from eyenet.web.push.sessions import ClientError, Session
from eyenet.web.push.wire import Wire
from eyenet.web.websocket import GOING_AWAY, POLICY_VIOLATION, MessageTooBig, WebSocket, WebSocketClosed, ws_frame

log = guarded_logger("eyenet.push")

NORMAL = 1000


def envelope_frame(wire: Wire, detailed: bool) -> bytes:
    """The broadcast format: the envelope as one text frame, built once per event."""
    return ws_frame(wire.envelope(detailed))


class WsSink:
    """A session's way out to one /ws client."""

    def __init__(self, ws: WebSocket, nursery: trio.Nursery) -> None:
        self.ws = ws
        self._nursery = nursery

    def send_event(self, wire: Wire, detailed: bool) -> bool:
        return self.ws.send_frame_nowait(wire.encoded(envelope_frame, detailed))

    def send_private(self, event_type: str, event_id: int, envelope: bytes) -> bool:
        return self.ws.send_frame_nowait(ws_frame(envelope))

    def send_json(self, obj: Any) -> bool:
        return self.ws.send_frame_nowait(ws_frame(json.dumps(obj, separators=(",", ":"), ensure_ascii=False)))

    def disconnect(self) -> None:
        self.close(POLICY_VIOLATION)

    def close(self, code: int, reason: str = "") -> None:
        """Start the close handshake; the receiving task then sees it end."""
        self._nursery.start_soon(self.ws.aclose, code, reason)


def bearer_token(request: Request) -> str | None:
    header = request.header("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.arg("token")


class Unreadable(NamedTuple):
    """What is wrong with a client message; `hostile` when no honest client sends it
    (nested too deeply, a number too long: inbound.BeyondBounds)."""

    reason: str
    hostile: bool = False


def _message(text: str | bytes) -> tuple[str, Any, Any] | Unreadable:
    """(type, ref, data) of a client message, or what is wrong with it."""
    if isinstance(text, bytes):
        return Unreadable("binary frames are not accepted: send JSON text")
    try:
        msg = inbound.loads(text)
    except inbound.BeyondBounds as exc:
        return Unreadable(f"not JSON we accept: it {exc}", hostile=True)
    except ValueError as exc:
        return Unreadable(f"not valid JSON: {exc}")
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        return Unreadable('a message must be a JSON object with a string "type"')
    return msg["type"], msg.get("ref"), msg.get("data")


class PlainWsServer:
    def __init__(self, hub: Hub, web: WebSettings = WebSettings()) -> None:
        self.hub = hub
        self.max_message = web.ws_max_message  # the front enforces it; the error names it
        self._refusals = LogThrottle()
        self._open: set[WsSink] = set()  # every connected client, signed in or not yet

    def websocket(self, request: Request):
        given = request.arg("lastEventId")
        last = None if given is None else inbound.event_id(given)
        if given is not None and last is None:
            return Response.json(
                {"error": {"code": "INVALID_MESSAGE", "message": "lastEventId must be an event id (up to 16 digits, below 2^53)"}},
                status=400,
            )

        async def handler(ws: WebSocket) -> None:
            async with trio.open_nursery() as nursery:
                sink = WsSink(ws, nursery)
                self._open.add(sink)
                try:
                    await self._serve(ws, sink, request, last)
                finally:
                    self._open.discard(sink)

        return handler

    def going_away(self) -> int:
        """Shut-down: every client gets a close with 1001 (going away); how many."""
        for sink in self._open:
            sink.close(GOING_AWAY, "server shutting down")
        return len(self._open)

    def _unreadable(self, ws: WebSocket, problem: Unreadable) -> None:
        """A hostile message: one WARNING line a minute at most, with how many more came."""
        if problem.hostile:
            self._refusals.log(
                log, trio.current_time(), "/ws", "refused a /ws message from %s: %s", ws.request.client, problem.reason
            )

    async def _serve(self, ws: WebSocket, sink: WsSink, request: Request, last_event_id: int | None) -> None:
        try:
            session = await self._authenticate(ws, sink, bearer_token(request))
            if session is None:
                return
            session.resume_after = last_event_id
            try:
                await self._receive_loop(ws, sink, session)
            finally:
                session.close()
        except WebSocketClosed:
            pass

    async def _authenticate(self, ws: WebSocket, sink: WsSink, token: str | None) -> Session | None:
        """The session, or None after telling the client why not (error, then close)."""
        from_message = token is None
        ref = None
        if from_message:
            with trio.move_on_after(self.hub.settings.auth_timeout):
                parsed = _message(await ws.receive())
                if isinstance(parsed, Unreadable):
                    self._unreadable(ws, parsed)
                elif parsed[0] == "auth":
                    _, ref, data = parsed
                    token = (data.get("token") if isinstance(data, dict) else None) or ""
        try:
            principal = self.hub.authenticate(token)
        except ClientError as exc:
            event_id, envelope = self.hub.error_envelope(exc.code, exc.message)
            sink.send_private("error", event_id, envelope)
            sink.disconnect()
            return None
        session = self.hub.open_session(principal, sink)
        if from_message:
            sink.send_json({"type": "ack", "ref": ref, "data": {"status": "authenticated"}})
        return session

    async def _receive_loop(self, ws: WebSocket, sink: WsSink, session: Session) -> None:
        while not session.closed:
            try:
                received = await ws.receive()
            except MessageTooBig as exc:
                session.send_error("INVALID_MESSAGE", f"message too big: {exc.reason}", {"limit": self.max_message})
                await ws.aclose(exc.code, exc.reason)
                return
            parsed = _message(received)
            now = trio.current_time()
            if isinstance(parsed, Unreadable):
                self._unreadable(ws, parsed)
                session.invalid(parsed.reason, now)
                continue
            kind, ref, data = parsed
            if kind == "auth":
                kind = "auth:refresh"  # a second auth message refreshes the token
            session.handle(kind, data, now, reply=lambda ack: sink.send_json({"type": "ack", "ref": ref, "data": ack}))
