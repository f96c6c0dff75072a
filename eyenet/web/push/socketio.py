"""Socket.IO v5 over Engine.IO v4 for the stock socket.io-client (socketio-protocol.md).

Engine.IO is served under ``/socket.io/``, over HTTP long-polling (with the upgrade
to WebSocket the client attempts by default) and over WebSocket alone. The one
Socket.IO namespace is ``/ws`` (the seed's ``io('ws://host:5000/ws')``); joining it
authenticates ``auth.token`` and binds a push :class:`~eyenet.web.sessions.Session`
to the Engine.IO session, which is that session's :class:`~eyenet.web.sessions.Sink`.

Broadcast events go out as ``42/ws,["<type>",<envelope>,"<id>"]``: the trailing
event id is Socket.IO's connection-state-recovery offset, so after a dropped
transport the client's next CONNECT carries ``pid`` and ``offset`` and gets what it
missed (``socket.recovered``). The packet text is built once per event for polling
clients and the WebSocket frame around it once more for WebSocket clients
(:meth:`Wire.encoded` caches both).
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

import trio

from eyenet.auth.backoff import address_key
from eyenet.config import WebSettings
from eyenet.lograte import LogThrottle
from eyenet.web import inbound
from eyenet.web.admission import Tally, per_address_cap
from eyenet.web.http import Request, Response
from eyenet.web.logsafe import guarded_logger
from eyenet.web.push.hub import Hub
from eyenet.web.push.sessions import ClientError, Session
from eyenet.web.push.socketio_codec import (
    EioPacket,
    EioType,
    ProtocolError,
    SioPacket,
    SioType,
    decode_eio,
    decode_payload,
    decode_sio,
    dumps,
    encode_sio,
    engine_error,
    open_packet,
)
from eyenet.web.push.wire import Wire
from eyenet.web.websocket import GOING_AWAY, WebSocket, WebSocketClosed, ws_frame

TRY_AGAIN_LATER = 1013  # RFC 6455 registry: the server is overloaded

log = guarded_logger("eyenet.socketio")

PATH = "/socket.io/"
NAMESPACE = "/ws"
POLLING, WEBSOCKET = "polling", "websocket"
PREFLIGHT_METHODS = "GET,POST,OPTIONS"


# -- formats: an event's bytes, built once per broadcast ---------------------------------------


def _event_packet(name: str, envelope: bytes, event_id: int) -> bytes:
    return b'42/ws,[%s,%s,"%d"]' % (dumps(name).encode(), envelope, event_id)


def polling_event(wire: Wire, detailed: bool) -> bytes:
    """The EVENT packet text: envelope, then the event id as the recovery offset."""
    return _event_packet(wire.type, wire.envelope(detailed), wire.id)


def websocket_event(wire: Wire, detailed: bool) -> bytes:
    """The same packet as a whole WebSocket frame."""
    return ws_frame(wire.encoded(polling_event, detailed))


# -- one Engine.IO session -----------------------------------------------------------------------


class EngineSession:
    """An Engine.IO session: its transport, the packets waiting for a polling GET,
    and the /ws push session riding on it (for which it is the Sink)."""

    def __init__(self, server: SocketIOServer, sid: str, ws: WebSocket | None, address: str | None) -> None:
        self.server = server
        self.sid = sid
        self.ws = ws  # the transport once it is a WebSocket
        self.address = address  # the client's, for the cap on unjoined sessions
        self.unjoined_since: float | None = trio.current_time()  # None while /ws is joined
        self.queue: list[bytes] = []  # polling: packets for the next GET
        self.queued_bytes = 0
        self.socket: Session | None = None  # the /ws session, while joined
        self.probing = False  # a WebSocket is attempting the upgrade
        self.upgrading = False  # "3probe" sent: every GET answers at once until "5"
        self.get_held = False
        self.closed = False
        self.pong = trio.Event()
        self.changed = trio.Event()  # wakes a held GET: data queued, upgrade, close
        self.timers = trio.CancelScope()  # ping and connect timers
        self.ws_scope = trio.CancelScope()  # the serving WebSocket's, once there is one

    @property
    def polling(self) -> bool:
        return self.ws is None

    # -- sending

    def send(self, packet: str | bytes) -> bool:
        if isinstance(packet, str):
            packet = packet.encode()
        if self.polling:
            return self._enqueue(packet)
        return self._sent(self.ws.send_frame_nowait(ws_frame(packet)))

    def send_sio(self, packet: SioPacket) -> bool:
        return self.send("4" + encode_sio(packet))

    def _enqueue(self, packet: bytes) -> bool:
        if self.closed:
            return False
        settings = self.server.settings
        if len(self.queue) >= settings.polling_queue or self.queued_bytes + len(packet) > settings.backlog_bytes:
            return self._sent(False)
        self.queue.append(packet)
        self.queued_bytes += len(packet)
        self.wake()
        return True

    def _sent(self, ok: bool) -> bool:
        # A client that cannot keep up loses its transport, not its push session:
        # closing here first leaves that recoverable (Session would close it for good).
        if not ok:
            self.close("send backlog overflow")
        return ok

    def take(self) -> bytes:
        """The body for a polling GET that may complete now."""
        if self.closed:
            return b"1"
        if self.queue:
            packets, self.queue, self.queued_bytes = self.queue, [], 0
            return b"\x1e".join(packets)
        return b"6"

    def wake(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    # -- Sink

    def send_event(self, wire: Wire, detailed: bool) -> bool:
        if self.polling:
            return self._enqueue(wire.encoded(polling_event, detailed))
        return self._sent(self.ws.send_frame_nowait(wire.encoded(websocket_event, detailed)))

    def send_private(self, event_type: str, event_id: int, envelope: bytes) -> bool:
        return self.send(_event_packet(event_type, envelope, event_id))

    def disconnect(self) -> None:
        # The client sees "io server disconnect" and does not reconnect by itself.
        self.socket = None
        self.send_sio(SioPacket(SioType.DISCONNECT, NAMESPACE))
        self.server.left(self)

    # -- ending

    def close(self, reason: str, *, fault: bool = False) -> None:
        """End the session: the transport is gone, or (`fault`) the client broke the
        protocol. The push session stays recoverable by its pid."""
        if self.closed:
            return
        log.log(logging.INFO if fault else logging.DEBUG, "engine.io session %s closed: %s", self.sid, reason)
        self.closed = True
        self.server.sessions.pop(self.sid, None)
        if self.unjoined_since is not None:
            self.server.unjoined.release(self.address)
        self.timers.cancel()
        self.ws_scope.cancel()
        self.wake()  # a held GET answers "1"
        socket, self.socket = self.socket, None
        if socket is not None:
            socket.close(recoverable=True)


# -- the server ------------------------------------------------------------------------------------


class SocketIOServer:
    """Engine.IO at ``/socket.io/`` and the Socket.IO namespace ``/ws`` over the hub.

    ``run`` owns the per-session timers; ``http`` and ``websocket`` are the web
    app's handlers for paths under ``/socket.io/``.
    """

    def __init__(self, hub: Hub, settings: WebSettings = WebSettings()) -> None:
        self.hub = hub
        self.settings = settings  # [web] of the configuration: its Socket.IO keys
        self.sessions: dict[str, EngineSession] = {}
        # Sessions not joined to /ws hold a slot here: what an unauthenticated client can make
        # the server keep is bounded in number, and in time by connect_timeout.
        unjoined = settings.max_unjoined_sessions
        self.unjoined = Tally(unjoined, per_address_cap(unjoined))
        self._nursery: trio.Nursery | None = None
        self._refusals = LogThrottle()  # payloads no honest client sends: a WARNING line a minute at most

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            for session in list(self.sessions.values()):
                session.close("server shutdown")

    def going_away(self) -> int:
        """Shut-down: every client gets a DISCONNECT (it sees "io server disconnect", and does not
        reconnect by itself into a server that is stopping) and closes the transport itself; a
        WebSocket is closed with 1001 besides. How many sessions.

        Not an Engine.IO close in the same polling answer: the client reads a payload's packets
        at once but hands Socket.IO packets on later, so it would see "transport close" first."""
        sessions = list(self.sessions.values())
        for session in sessions:
            joined = session.socket is not None
            if session.socket is not None:
                session.socket.disconnect()
            if not session.polling and session.ws is not None and self._nursery is not None:
                self._nursery.start_soon(session.ws.aclose, GOING_AWAY, "server shutting down")
            elif not joined:
                session.send(b"1")  # an Engine.IO close: no DISCONNECT to overtake
        return len(sessions)

    # -- HTTP: handshake and long-polling

    async def http(self, request: Request) -> Response:
        cors = self._cors(request)
        if request.method == "OPTIONS":
            return self._preflight(request, cors)
        refusal = self._check(request, POLLING)
        if refusal is not None:
            return _error(refusal, cors)
        sid = request.arg("sid")
        if sid is None:
            if request.method != "GET":
                return _error(2, cors)
            full = self._full(request, admit=True)
            if full is not None:
                return full
            session = self._open(None, _address(request))
            return _text(open_packet(sid=session.sid, upgrades=[WEBSOCKET], **self._times()), cors)
        session = self.sessions.get(sid)
        if session is None:
            return _error(1, cors)
        if not session.polling:
            return _error(3, cors)  # polling after the upgrade
        if request.method == "GET":
            return await self._poll(session, request, cors)
        if request.method == "POST":
            return self._post(session, request, cors)
        return _error(3, cors)

    async def _poll(self, session: EngineSession, request: Request, cors: tuple) -> Response:
        if session.get_held:
            session.close("a second GET while one is held", fault=True)  # the held one answers "1"
            return _error(3, cors)
        session.get_held = True
        try:
            await self._hold(session, request)
        finally:
            session.get_held = False
        if request.disconnected.is_set():
            session.close("poll connection closed prematurely")
        return _text(session.take(), cors)

    @staticmethod
    async def _hold(session: EngineSession, request: Request) -> None:
        """Until there is something to answer (data, a ping, the upgrade, the end)
        or the client went away."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_when_set, request.disconnected, nursery.cancel_scope)
            while not (session.queue or session.closed or session.upgrading or not session.polling):
                await session.changed.wait()
            nursery.cancel_scope.cancel()

    def _post(self, session: EngineSession, request: Request, cors: tuple) -> Response:
        # The front hands over a POST only once its body is complete and we handle
        # it without awaiting, so two POSTs of one session never overlap here.
        if len(request.body) > self.settings.max_payload:
            session.close("POST body over maxPayload", fault=True)
            return Response.json(
                {"code": 3, "message": f"body over maxPayload ({self.settings.max_payload} bytes)"}, 413, cors
            )
        content_type = (request.header("content-type") or "").lower()
        try:
            if content_type.startswith("application/octet-stream"):
                raise ProtocolError("binary POST bodies are Engine.IO v3: v4 sends binary as 'b<base64>' text")
            packets = decode_payload(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ProtocolError) as exc:
            session.close(f"parse error: {exc}", fault=True)
            return _error(3, cors)
        for packet in packets:
            if session.closed:
                break
            self._on_packet(session, packet)
        return Response.text("ok", content_type="text/html", headers=cors)

    # -- WebSocket: a session of its own, or the upgrade of a polling one

    def websocket(self, request: Request):
        cors = self._cors(request)
        refusal = self._check(request, WEBSOCKET)
        if refusal is not None:
            return _error(refusal, cors)
        sid = request.arg("sid")
        if sid is None:
            return self._full(request, admit=False) or self._websocket_session
        session = self.sessions.get(sid)
        if session is None:
            return _error(1, cors)
        if not session.polling or session.probing:
            return _error(3, cors)

        async def upgrade(ws: WebSocket) -> None:
            if not session.polling or session.probing or session.closed:
                return  # another probe won the race since the check above
            session.probing = True
            try:
                await self._serve_websocket(session, ws, probe=True)
            finally:
                session.probing = False

        return upgrade

    async def _websocket_session(self, ws: WebSocket) -> None:
        if self.unjoined.admit(_address(ws.request)) is not None:  # taken since the upgrade was checked
            await ws.aclose(TRY_AGAIN_LATER, "too many sessions waiting to join /ws")
            return
        session = self._open(ws, _address(ws.request))
        ws.send_text_nowait(open_packet(sid=session.sid, upgrades=[], **self._times()))
        await self._serve_websocket(session, ws, probe=False)

    async def _serve_websocket(self, session: EngineSession, ws: WebSocket, *, probe: bool) -> None:
        """Receive until the WebSocket or the session ends; a failed probe leaves
        the polling session as it was."""
        session.ws_scope = trio.CancelScope()  # session.close() ends this WebSocket too
        try:
            with session.ws_scope:
                if probe and not await self._probe(session, ws):
                    return
                while not session.closed:
                    message = await ws.receive()
                    if len(message) > self.settings.max_payload:
                        session.close("WebSocket message over maxPayload", fault=True)
                    elif isinstance(message, bytes):
                        self._on_packet(session, EioPacket(EioType.MESSAGE, message))
                    else:
                        self._on_text(session, message)
        except WebSocketClosed:
            pass
        finally:
            if session.ws is ws:
                session.close("transport close")

    async def _probe(self, session: EngineSession, ws: WebSocket) -> bool:
        """The upgrade handshake: "2probe" -> "3probe", then "5". True once the
        WebSocket carries the session; on anything else the probe fails and
        polling goes on."""
        with trio.move_on_after(self.settings.upgrade_timeout):
            if await ws.receive() != "2probe" or session.closed:
                return False
            ws.send_text_nowait("3probe")  # and nothing else until "5"
            session.upgrading = True
            session.wake()  # the held GET answers "6" so the client can pause polling
            try:
                if await ws.receive() != "5" or session.closed:
                    return False
            finally:
                session.upgrading = False
            session.ws = ws
            packets, session.queue = session.queue, []
            for packet in packets:  # queued during the probe: now over the WebSocket, in order
                session.send(packet)
            session.wake()  # a GET still held (the client sent "5" without waiting) answers "6"
            return True
        return False

    def _on_text(self, session: EngineSession, text: str) -> None:
        try:
            packet = decode_eio(text)
        except ProtocolError as exc:
            session.close(f"parse error: {exc}", fault=True)
            return
        self._on_packet(session, packet)

    # -- Engine.IO packets from the client

    def _on_packet(self, session: EngineSession, packet: EioPacket) -> None:
        kind = packet.type
        if kind is EioType.MESSAGE:
            if isinstance(packet.data, str):
                self._on_message(session, packet.data)
            # Binary messages can only be attachments of a binary packet, refused below.
        elif kind is EioType.PONG and not session.pong.is_set():
            session.pong.set()
        elif kind is EioType.CLOSE:
            session.close("client close")
        elif kind is EioType.PING:
            session.close("client ping: in Engine.IO v4 only the server pings", fault=True)
        else:
            # A second pong for one ping, and open, upgrade (outside a probe) and noop, which no
            # client sends: each would cost what a message does with no limit counting it.
            session.close(f"unexpected {kind.name.lower()} packet from the client", fault=True)

    # -- Socket.IO packets

    def _on_message(self, session: EngineSession, text: str) -> None:
        try:
            packet = decode_sio(text)
        except ProtocolError as exc:
            if exc.hostile:
                self._refusals.log(log, trio.current_time(), "packet", "refused a Socket.IO packet of session %s: %s",
                                   session.sid, exc)
            if session.socket is None:
                session.close(f"parse error: {exc}", fault=True)
            else:
                session.socket.invalid(str(exc), trio.current_time())
            return
        if packet.type is SioType.CONNECT:
            self._connect(session, packet)
            return
        socket = session.socket
        if socket is None or packet.nsp != NAMESPACE:
            session.close(f"{packet.type.name} for namespace {packet.nsp!r}, which is not joined", fault=True)
        elif packet.type is SioType.EVENT:
            self._event(session, socket, packet)
        elif packet.type is SioType.DISCONNECT:
            session.socket = None
            socket.close()
            self.left(session)
        elif packet.type is not SioType.ACK:  # EyeNet never asks for acks: one coming back is harmless
            message = f"{packet.type.name} packets are not accepted: send JSON events"
            socket.invalid(message, trio.current_time())
            if packet.id is not None and not socket.closed:
                session.send_sio(SioPacket(SioType.ACK, NAMESPACE, [_error_ack("INVALID_MESSAGE", message)], packet.id))

    def _event(self, session: EngineSession, socket: Session, packet: SioPacket) -> None:
        name, *args = packet.data
        ack = socket.handle(name, args[0] if args else None, trio.current_time())
        if packet.id is not None and ack is not None and not socket.closed:
            session.send_sio(SioPacket(SioType.ACK, NAMESPACE, [ack], packet.id))

    def _connect(self, session: EngineSession, packet: SioPacket) -> None:
        if packet.nsp != NAMESPACE:
            session.send_sio(SioPacket(SioType.CONNECT_ERROR, packet.nsp, {"message": "Invalid namespace"}))
            return
        if session.socket is not None:
            session.close("a second CONNECT for /ws, which is joined", fault=True)
            return
        auth = packet.data or {}
        try:
            principal = self.hub.authenticate(auth.get("token"))
        except ClientError as exc:
            # Refused: the Engine.IO session stays open, the client closes it (no retry).
            data = {"code": exc.code, "message": exc.message, "timestamp": self.hub.timestamp(time.time())}
            session.send_sio(SioPacket(SioType.CONNECT_ERROR, NAMESPACE, {"message": exc.message, "data": data}))
            return
        held = self.hub.live(auth.get("pid"), principal)
        if held is not None and isinstance(held.sink, EngineSession):
            # Back before the server saw it leave: the old transport is dead, and ending it
            # leaves the session recoverable, here and now.
            held.sink.close("its client came back on another connection")
        # Recovery replays what was missed through `session` before the reply; the
        # client buffers events until its `connect`.
        socket = self.hub.recover(auth.get("pid"), auth.get("offset"), principal, session)
        if socket is None:
            socket = self.hub.open_session(principal, session, recoverable=True)
        session.socket = socket
        if session.unjoined_since is not None:
            session.unjoined_since = None
            self.unjoined.release(session.address)
        _resume_after(socket, auth)
        session.send_sio(SioPacket(SioType.CONNECT, NAMESPACE, {"sid": socket.sid, "pid": socket.pid}))

    # -- sessions and their timers

    def _full(self, request: Request, *, admit: bool) -> Response | None:
        """A new Engine.IO session is not joined yet: 503 when no slot for one is left (with
        `admit`, the slot is taken otherwise)."""
        address = _address(request)
        refusal = self.unjoined.admit(address) if admit else self.unjoined.full(address)
        if refusal is None:
            return None
        self._refusals.log(log, trio.current_time(), "unjoined", "refused an Engine.IO session from %s: unjoined "
                           "session slots: %s (web.max_unjoined_sessions)", address, refusal)
        body = {"code": 4, "message": "too many sessions waiting to join /ws: try again later"}
        return Response.json(body, 503, (*self._cors(request), ("retry-after", "1")))

    def left(self, session: EngineSession) -> None:
        """The session left /ws: unjoined again, it takes a slot (or ends, none being left)
        and has connect_timeout to join again."""
        if session.closed or session.unjoined_since is not None:
            return
        if self.unjoined.admit(session.address) is not None:
            session.close("left /ws with no unjoined session slot free")
            return
        session.unjoined_since = trio.current_time()

    def _open(self, ws: WebSocket | None, address: str | None) -> EngineSession:
        """A new session; its unjoined slot is already taken."""
        if self._nursery is None:
            raise RuntimeError("SocketIOServer.run() is not running")
        session = EngineSession(self, secrets.token_urlsafe(15), ws, address)
        self.sessions[session.sid] = session
        self._nursery.start_soon(self._timers, session)
        return session

    async def _timers(self, session: EngineSession) -> None:
        with session.timers:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._connect_timer, session)
                await self._ping(session)

    async def _ping(self, session: EngineSession) -> None:
        """Ping every ping_interval (after the previous pong); no pong within
        ping_timeout ends the session."""
        settings = self.settings
        while True:
            await trio.sleep(settings.ping_interval)
            session.pong = trio.Event()
            session.send("2")
            with trio.move_on_after(settings.ping_timeout):
                await session.pong.wait()
            if not session.pong.is_set():
                session.close("ping timeout")

    async def _connect_timer(self, session: EngineSession) -> None:
        """Unjoined (after the handshake, or after leaving /ws) for connect_timeout: the end."""
        timeout = self.settings.connect_timeout
        while True:
            since = session.unjoined_since
            await trio.sleep_until((trio.current_time() if since is None else since) + timeout)
            since = session.unjoined_since
            if since is not None and trio.current_time() >= since + timeout:
                session.close("not joined to /ws within connect_timeout")
                return

    def _times(self) -> dict[str, Any]:
        s = self.settings
        return {"ping_interval": s.ping_interval, "ping_timeout": s.ping_timeout, "max_payload": s.max_payload}

    # -- request checks and CORS

    @staticmethod
    def _check(request: Request, transport: str) -> int | None:
        """The Engine.IO error code refusing this request, or None."""
        if request.arg("EIO") != "4":
            return 5
        if request.arg("transport") not in (POLLING, WEBSOCKET):
            return 0
        if request.arg("transport") != transport:
            return 3
        return None

    def _cors(self, request: Request) -> tuple[tuple[str, str], ...]:
        """Headers for a browser's polling XHRs; the WebSocket needs none and the
        token travels in the CONNECT packet, not in cookies."""
        origin = request.header("origin")
        allowed = self.settings.cors_origins
        if origin is None or not allowed:
            return ()
        # "*" echoes the origin with credentials allowed (the reference's `origin: true`):
        # a literal * is refused by browsers for withCredentials clients, and EyeNet's
        # authentication is the token in CONNECT, never a cookie, so this grants nothing.
        if origin in allowed or "*" in allowed:
            return (("access-control-allow-origin", origin), ("access-control-allow-credentials", "true"),
                    ("vary", "Origin"))
        return ()

    def _preflight(self, request: Request, cors: tuple) -> Response:
        if not cors:
            # No CORS for this origin: as the reference does without a CORS setting.
            return _error(2, cors)
        # Max-Age: a browser with custom headers would otherwise preflight every poll.
        headers = (*cors, ("access-control-allow-methods", PREFLIGHT_METHODS), ("access-control-max-age", "600"))
        wanted = request.header("access-control-request-headers")
        if wanted:
            headers += (("access-control-allow-headers", wanted), ("vary", "Access-Control-Request-Headers"))
        return Response(204, headers)


def _resume_after(socket: Session, auth: dict) -> None:
    """auth.lastEventId: replay after that id on each later subscribe."""
    given = auth.get("lastEventId")
    last = inbound.event_id(given)
    if last is not None:
        socket.resume_after = last
    elif given is not None:
        socket.invalid("auth.lastEventId must be an event id (an integer from 0 to below 2^53)", trio.current_time())


def _address(request: Request) -> str | None:
    return address_key(request.client[0]) if request.client else None


def _error_ack(code: str, message: str) -> dict:
    return {"status": "error", "code": code, "message": message}


def _error(code: int, cors: tuple) -> Response:
    return Response.json(engine_error(code), 400, cors)


def _text(body: str | bytes, cors: tuple) -> Response:
    if isinstance(body, str):
        body = body.encode()
    return Response(200, (("content-type", "text/plain; charset=UTF-8"), ("cache-control", "no-store"), *cors), body)


async def _cancel_when_set(event: trio.Event, scope: trio.CancelScope) -> None:
    await event.wait()
    scope.cancel()
