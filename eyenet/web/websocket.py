"""A server-side WebSocket over a front Connection.

Why: the push server sends one event to many clients. ``ws_frame`` builds the
frame once; ``send_frame_nowait`` writes those same bytes to each client
without awaiting (conn.py). Incoming frames (masked, maybe fragmented, with
pings and the close handshake) are parsed by wsproto; outgoing data frames
bypass it, close and pong frames come from it so the wire stays consistent.
"""

from __future__ import annotations

import struct

import trio
from wsproto.connection import Connection as WsProtocol
from wsproto.connection import ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

from eyenet.web.conn import Connection
from eyenet.web.http import Request
from eyenet.web.push.limits import TokenBucket

NORMAL_CLOSURE = 1000
GOING_AWAY = 1001  # the server is shutting down
ABNORMAL_CLOSURE = 1006  # no close frame: the connection just ended
POLICY_VIOLATION = 1008  # RFC 6455: the server ends the session for a reason of policy
MESSAGE_TOO_BIG = 1009
# How long aclose() waits for the client's answering close frame.
CLOSE_TIMEOUT = 5.0


def ws_frame(payload: bytes | str, *, text: bool = True) -> bytes:
    """One unmasked server frame with FIN set: built once, written to many clients.

    A text payload given as bytes must already be UTF-8 (JSON from the encoder is).
    """
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    first = 0x81 if text else 0x82
    size = len(payload)
    if size < 126:
        head = bytes((first, size))
    elif size < 65536:
        head = struct.pack("!BBH", first, 126, size)
    else:
        head = struct.pack("!BBQ", first, 127, size)
    return head + payload


def _ends_frame(event) -> bool:
    """Does this event end a frame that the budget counts: a ping, a pong, or a data frame
    that does not end its message (wsproto hands a long frame over in parts, the last one
    frame_finished)? A whole message is a client event, which the push session's own limit
    counts; the close frame ends the flow."""
    if isinstance(event, (TextMessage, BytesMessage)):
        return event.frame_finished and not event.message_finished
    return isinstance(event, (Ping, Pong))


class WebSocketClosed(Exception):
    """The WebSocket is closed: ``code`` and ``reason`` are those of the close
    (the peer's if it closed first, ours if we did, 1006 if the connection ended
    without a close frame)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"WebSocket closed ({self.code}{': ' + self.reason if self.reason else ''})"


class MessageTooBig(WebSocketClosed):
    """An incoming message over the size limit. Raised before the close frame goes,
    so the handler may still tell the client why; the close that follows (the next
    receive(), or aclose() without a code, as the front does) carries 1009."""


class WebSocket:
    """One accepted WebSocket. One task at a time may ``receive``; any task may send.

    ``aclose`` from another task while one is receiving is fine: the receiver
    sees the client's answering close and gets ``WebSocketClosed``.
    """

    __slots__ = ("request", "_conn", "_proto", "_max_message", "_parts", "_size", "_close", "_receiving", "_changed",
                 "_too_big", "_frames", "_frame_rate", "flooded")

    def __init__(
        self,
        conn: Connection,
        request: Request,
        protocol: WsProtocol,
        *,
        max_message: int = 65536,
        frames_per_second: float = 50.0,
        frame_burst: int = 200,
        trailing_data: bytes = b"",
    ) -> None:
        self.request = request
        self._conn = conn
        self._proto = protocol
        self._max_message = max_message
        self._parts: list[str | bytes] = []
        self._size = 0
        self._close: tuple[int, str] | None = None  # the close code and reason, once closed
        self._receiving = False
        self._changed: trio.Event | None = None  # set when a receive() call ends
        self._too_big: MessageTooBig | None = None  # raised once; the close follows
        # The frames that carry no whole message, before and after login: pings, pongs and
        # (empty) continuations cost about what a message does and no other limit counts them.
        self._frames = TokenBucket(frame_burst, period=frame_burst / frames_per_second, updated=trio.current_time())
        self._frame_rate = frames_per_second
        self.flooded = False  # closed for sending frames beyond the budget
        if trailing_data:
            protocol.receive_data(trailing_data)

    @property
    def closed(self) -> bool:
        """True once a close frame went either way, or the connection is gone."""
        return self._close is not None or self._conn.closed

    @property
    def backlog(self) -> int:
        """Bytes queued for this client, not yet taken by the kernel."""
        return self._conn.backlog

    # -- sending ---------------------------------------------------------------

    def send_frame_nowait(self, frame: bytes) -> bool:
        """Write a frame from ``ws_frame`` without waiting.

        ``frame`` may also be several ws_frame()s joined: a broadcaster holding
        several events at once writes them with one call per client (one
        syscall, one TLS record), about ten times cheaper per message than one
        call per event (bench/ws_broadcast.py, the -joined servers).

        False when the WebSocket is closed or its backlog overflowed (the
        connection is then reset and the receiver gets WebSocketClosed 1006).
        """
        if self._close is not None:
            return False
        return self._conn.send_nowait(frame)

    def send_text_nowait(self, text: str) -> bool:
        return self.send_frame_nowait(ws_frame(text))

    async def send_text(self, text: str) -> None:
        """Send a text message, waiting while this client's backlog is high."""
        await self._send_all(ws_frame(text))

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message, waiting while this client's backlog is high."""
        await self._send_all(ws_frame(data, text=False))

    async def _send_all(self, frame: bytes) -> None:
        if self._close is not None:
            raise WebSocketClosed(*self._close)
        try:
            await self._conn.send_all(frame)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise WebSocketClosed(*self._ended()) from None

    # -- receiving -------------------------------------------------------------

    async def receive(self) -> str | bytes:
        """The next complete message (text as str, binary as bytes).

        Pings are answered and fragments joined on the way. Raises
        WebSocketClosed when the close handshake ran, the connection ended or
        the client broke the protocol (closed with 1002/1007); MessageTooBig
        (a WebSocketClosed) for a message over the size limit, before the close
        1009 that the next receive() or aclose() sends.
        """
        if self._receiving:
            raise trio.BusyResourceError("another task is already receiving on this WebSocket")
        self._receiving = True
        try:
            if self._too_big is not None:
                self._protocol_close(self._too_big.code, self._too_big.reason)
            while True:
                message = self._next_message()
                if message is not None:
                    return message
                await self._feed()
        finally:
            self._receiving = False
            if self._changed is not None:
                self._changed.set()
                self._changed = None

    async def _feed(self) -> None:
        if self._close is not None and self._proto.state is ConnectionState.CLOSED:
            raise WebSocketClosed(*self._close)
        try:
            data = await self._conn.receive_some()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        self._proto.receive_data(data or None)

    def _next_message(self) -> str | bytes | None:
        """Process what wsproto parsed: a complete message, or None for "read more"."""
        now = trio.current_time()
        for event in self._proto.events():
            if self._close is None and _ends_frame(event) and not self._frames.take(now):
                # Closed at once, without reading on for the client's close: a flood is not parsed.
                self.flooded = True
                self._protocol_close(POLICY_VIOLATION, f"too many frames: at most {self._frame_rate:g} a second")
            if isinstance(event, (TextMessage, BytesMessage)):
                if self._close is not None:
                    continue  # data after our close frame: drop it while awaiting theirs
                data = event.data
                self._size += len(data) if isinstance(data, bytes) or data.isascii() else len(data.encode("utf-8"))
                if self._size > self._max_message:
                    self._parts, self._size = [], 0
                    self._too_big = MessageTooBig(MESSAGE_TOO_BIG, f"message over {self._max_message} bytes")
                    raise self._too_big
                self._parts.append(data)
                if event.message_finished:
                    parts, self._parts, self._size = self._parts, [], 0
                    if isinstance(event, TextMessage):
                        return "".join(parts)
                    return b"".join(parts)
            elif isinstance(event, Ping):
                if self._proto.state is ConnectionState.OPEN:
                    self._conn.send_nowait(self._proto.send(event.response()))
            elif isinstance(event, CloseConnection):
                self._on_close(event)
        return None

    def _on_close(self, event: CloseConnection) -> None:
        state = self._proto.state
        if state is ConnectionState.OPEN:
            # wsproto found a protocol error (the event carries 1002, 1007, ...)
            self._protocol_close(event.code, event.reason or "")
        if state is ConnectionState.REMOTE_CLOSING:
            self._conn.send_nowait(self._proto.send(event.response()))
        if self._close is None:
            reason = event.reason or ""
            if event.code == ABNORMAL_CLOSURE and self._conn.broken:
                reason = self._conn.broken
            self._close = (int(event.code), reason)
        raise WebSocketClosed(*self._close)

    def _protocol_close(self, code: int, reason: str) -> None:
        """Close because of what the client sent: close frame out, then raise."""
        self._close = (code, reason)
        self._conn.send_nowait(self._proto.send(CloseConnection(code=code, reason=reason)))
        raise WebSocketClosed(code, reason)

    def _ended(self) -> tuple[int, str]:
        if self._close is None:
            self._close = (ABNORMAL_CLOSURE, self._conn.broken or "connection closed")
        return self._close

    # -- closing ---------------------------------------------------------------

    async def aclose(self, code: int | None = None, reason: str = "") -> None:
        """Close: send a close frame, wait (bounded) for the client's, then close TCP.
        Without a code: 1009 after an oversized message, else 1000."""
        if code is None:
            code, reason = (self._too_big.code, self._too_big.reason) if self._too_big else (NORMAL_CLOSURE, reason)
        if self._close is None and not self._conn.closed:
            self._close = (code, reason)
            if self._proto.state is ConnectionState.OPEN:
                self._conn.send_nowait(self._proto.send(CloseConnection(code=code, reason=reason)))
            with trio.move_on_after(CLOSE_TIMEOUT):
                await self._await_peer_close()
        await self._conn.aclose()

    async def _await_peer_close(self) -> None:
        """Until the client's close frame (or EOF) is in: read it, or let the receiver do so."""
        while self._proto.state is not ConnectionState.CLOSED and not self._conn.closed:
            if self._receiving:
                if self._changed is None:
                    self._changed = trio.Event()
                await self._changed.wait()
                continue
            try:
                self._next_message()
                await self._feed()
            except WebSocketClosed:
                return
