"""The HTTP/1.1 front of EyeNet's one port: h11 on our own non-blocking sockets.

Why our own: measured here with 1000 clients, a stock ASGI stack spends ~145 us
of CPU per delivered push message, and awaiting a WebSocket library's send per
client ~108 us; writing each event's pre-built frame with a non-blocking send
(conn.py) costs ~10 us (ARCHITECTURE.md, "Push and API"). So this module parses
HTTP with h11, enforces the limits an exposed server needs (head and body
size, slow clients), and hands WebSocket upgrades (validated by wsproto) to the
app's handlers with a ``WebSocket`` over the same connection.

The app sees two calls: ``http(request) -> Response`` and, for an upgrade,
``websocket(request) -> handler | Response``. Errors of the front itself are
JSON ``{"error": {"code", "message"}}`` like the REST API's.
"""

from __future__ import annotations

import errno
import http
import logging
import resource
import socket
import ssl
import time
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any, Awaitable, Callable, Protocol
from urllib.parse import parse_qs, unquote_to_bytes, urlsplit

import h11
import trio
from wsproto.connection import Connection as WsProtocol
from wsproto.connection import ConnectionType
from wsproto.events import AcceptConnection
from wsproto.handshake import H11Handshake
from wsproto.utilities import RemoteProtocolError as WsHandshakeError

from eyenet.auth.backoff import address_key
from eyenet.config import WebSettings
from eyenet.lograte import LogThrottle
from eyenet.web.admission import Backoff, Door, connection_caps
from eyenet.web.conn import Connection
from eyenet.web.http import Request, Response, error_response
from eyenet.web.logsafe import guarded_logger, redact_target
from eyenet.web.websocket import WebSocket, WebSocketClosed

# An app's answer to a WebSocket upgrade: the coroutine that serves the connection.
WebSocketHandler = Callable[[WebSocket], Awaitable[None]]


class App(Protocol):
    async def http(self, request: Request) -> Response: ...

    def websocket(self, request: Request) -> WebSocketHandler | Response:
        """For an upgrade request: a handler to accept (the connection closes when
        it returns), or a Response to refuse with."""
        ...


logger = guarded_logger(__name__)

SERVER_NAME = b"EyeNet"
# After an error response, read and drop what the client still sends for this long
# before closing, so that its unread upload does not turn our close into a reset.
ERROR_LINGER = 2.0
ACCEPT_BATCH = 64  # connections accepted per wake-up of a listener
_OUT_OF_FDS = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}
_NO_BODY_STATUSES = {204, 304}
_FRAMING_HEADERS = {"content-length", "transfer-encoding"}
_JOIN_UP_TO = 64 * 1024  # a response up to this size goes to the socket in one write
HTTP_VERSIONS = (b"1.0", b"1.1")
# On every answer: no MIME sniffing, no framing by another site, no Referer to follow a link
# out of a dashboard. Under TLS also HSTS (a year; subdomains are not EyeNet's to speak for).
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000")


# The answer to a connection over a cap, written at once without reading its request.
REFUSAL_BODY = b'{"error":{"code":"UNAVAILABLE","message":"too many connections: try again later"}}'
REFUSAL = b"".join((
    b"HTTP/1.1 503 Service Unavailable\r\n",
    *(name + b": " + value + b"\r\n" for name, value in (
        (b"server", SERVER_NAME), (b"content-type", b"application/json"), (b"content-length", b"%d" % len(REFUSAL_BODY)),
        (b"retry-after", b"1"), (b"connection", b"close"), *SECURITY_HEADERS,
    )),
    b"\r\n", REFUSAL_BODY,
))


def open_files_limit() -> int:
    """Raise the soft limit on open files to the hard one (a service's soft limit, often 1024,
    is a fraction of what it may have) and return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # an unlimited hard limit is more than the kernel takes: keep the soft one
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def open_door(settings: WebSettings) -> Door:
    """The connection caps for this process (the open files limit raised first); NoRoom
    naming the numbers when the limit leaves too few descriptors beyond the reserve."""
    limit = open_files_limit()
    caps = connection_caps(limit, settings.fd_reserve, settings.max_connections, settings.max_connections_per_address)
    return Door(caps, limit, settings.fd_reserve)


def _refuse(sock: socket.socket, plain: bool) -> None:
    """503 and close, now, without a task: a connection over a cap costs no more than this."""
    try:
        if plain:
            sock.setblocking(False)
            try:
                sock.recv(65536)  # the request, if in: closing with it unread would reset before the answer is read
            except BlockingIOError:
                pass
            sock.send(REFUSAL)
    except OSError:
        pass
    finally:
        sock.close()


class _HttpError(Exception):
    """A request the front refuses; the connection closes after the answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.response = error_response(status, code, message)


def tls_context(settings: WebSettings) -> ssl.SSLContext:
    """The server TLS context from the settings' certificate chain and key files."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(
            f"cannot load the TLS certificate {settings.tls_cert!r} / key {settings.tls_key!r}: {exc}"
        ) from exc
    context.options |= ssl.OP_NO_RENEGOTIATION
    context.set_alpn_protocols(["http/1.1"])
    return context


def _listen(host: str, port: int) -> list[socket.socket]:
    """Non-blocking listening sockets for every address of ``host`` ("": every address of
    every family the machine has; "localhost": 127.0.0.1 and ::1 where it names both). A
    machine without IPv6 just listens on the IPv4 ones."""
    listeners: list[socket.socket] = []
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        # A name for several addresses may offer one of a family this kernel has not got.
        either = not host or len({info[4][0] for info in infos}) > 1
        seen = set()
        for family, kind, proto, _, address in infos:
            if address in seen:
                continue
            seen.add(address)
            try:
                sock = socket.socket(family, kind, proto)
            except OSError as exc:
                if either and exc.errno == errno.EAFNOSUPPORT:
                    continue  # the wildcard offers a family this kernel has not got
                raise
            listeners.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(listeners) > 1:
                address = (address[0], listeners[0].getsockname()[1], *address[2:])  # one port for all
            try:
                sock.bind(address)
            except OSError as exc:
                if either and family == socket.AF_INET6 and exc.errno == errno.EADDRNOTAVAIL:
                    listeners.pop().close()  # IPv6 switched off on this host
                    continue
                raise
            sock.listen(4096)
            sock.setblocking(False)
        if not listeners:
            raise OSError(errno.EADDRNOTAVAIL, "no address to listen on")
    except OSError as exc:
        for sock in listeners:
            sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return listeners


async def serve(
    app: App, settings: WebSettings, *, stop: trio.Event | None = None, door: Door | None = None,
    task_status=trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve HTTP and WebSocket on ``settings.host:port`` until cancelled.

    ``task_status.started`` gets the (host, port) pairs actually bound (port 0
    picks a free port). Once ``stop`` is set (a shut-down): the listeners close, so new
    connections are refused; idle keep-alive connections close, and one with a request
    in progress closes after its response (``Connection: close``). WebSockets are the
    app's to end. serve returns when the last connection has ended.

    ``door`` holds the connection caps (open_door: made for these settings when not given).
    """
    ssl_context = tls_context(settings) if settings.tls_cert else None
    door = door or open_door(settings)
    listeners = _listen(settings.host, settings.port)
    try:
        async with trio.open_nursery() as nursery:
            front = _Front(app, settings, ssl_context, nursery, door)
            async with trio.open_nursery() as accepting:
                for listener in listeners:
                    accepting.start_soon(front.accept_loop, listener)
                task_status.started([listener.getsockname()[:2] for listener in listeners])
                if stop is not None:
                    await stop.wait()
                    accepting.cancel_scope.cancel()
            _close_listeners(listeners)
            front.stop()
    finally:
        _close_listeners(listeners)


def _close_listeners(listeners: list[socket.socket]) -> None:
    for listener in listeners:
        if listener.fileno() != -1:
            trio.lowlevel.notify_closing(listener)
            listener.close()


class _Front:
    """What one serve() call shares between its connections: the app, the
    settings, TLS, and the nursery that runs connection and writer tasks."""

    def __init__(
        self, app: App, settings: WebSettings, ssl_context: ssl.SSLContext | None, nursery: trio.Nursery, door: Door
    ):
        self._app = app
        self._door = door
        self._settings = settings
        self._ssl_context = ssl_context
        self._nursery = nursery
        self._date_second = -1
        self._date = b""
        self._security = SECURITY_HEADERS + ((HSTS,) if ssl_context is not None else ())
        # A failure a client can trigger, it can repeat: one traceback a minute per kind.
        self._failures = LogThrottle()
        self._stopping = False
        self._idle: set[trio.CancelScope] = set()  # connections waiting for a request's first byte

    def _failed(self, key: str, message: str, *args: Any, exc_info: Any = True) -> None:
        self._failures.log(logger, trio.current_time(), key, message, *args, level=logging.ERROR, exc_info=exc_info)

    def stop(self) -> None:
        """Shut-down: idle connections close now, the others after their current response."""
        self._stopping = True
        for scope in self._idle:
            scope.cancel()

    @contextmanager
    def _idle_while(self, scope: trio.CancelScope, started: bool):
        """While no byte of the next request is in, a shut-down ends the wait (scope)."""
        if not started:
            self._idle.add(scope)
            if self._stopping:
                scope.cancel()
        try:
            yield
        finally:
            self._idle.discard(scope)

    async def accept_loop(self, listener: socket.socket) -> None:
        # Out of descriptors, the listener stays readable: without a growing wait between
        # tries, accept() would spin (and log) as fast as it fails.
        backoff = Backoff()
        while True:
            await trio.lowlevel.wait_readable(listener)
            for _ in range(ACCEPT_BATCH):
                try:
                    sock, address = listener.accept()
                except BlockingIOError:
                    break
                except OSError as exc:
                    if exc.errno in _OUT_OF_FDS:
                        now = trio.current_time()
                        self._door.accept_failed(now)
                        self._failures.log(
                            logger, now, "accept", "cannot accept connections: %s (raise the open files limit)",
                            exc.strerror, level=logging.WARNING, exc_info=False,
                        )
                        await trio.sleep(backoff.failed())
                        break
                    if exc.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                        continue  # the client gave up before we accepted
                    raise
                backoff.succeeded()
                self._admit(sock, address)

    def _admit(self, sock: socket.socket, address: Any) -> None:
        # One IPv6 client usually holds a whole /64: its share is counted as one address.
        host = address_key(address[0]) if isinstance(address, tuple) else None
        now = trio.current_time()
        refusal = self._door.admit(host, now)
        if refusal is None:
            self._nursery.start_soon(self._connection, sock, address, host)
            return
        _refuse(sock, self._ssl_context is None)
        self._failures.log(
            logger, now, "cap", "refused a connection from %s: %s", host, refusal, level=logging.WARNING, exc_info=False,
        )

    async def _connection(self, sock: socket.socket, address: Any, host: Any) -> None:
        """One client connection, from accept to close; never raises (others go on)."""
        try:
            await self._serve_connection(sock, address)
        finally:
            self._door.release(host)

    async def _serve_connection(self, sock: socket.socket, address: Any) -> None:
        client = (address[0], address[1]) if isinstance(address, tuple) else None
        try:
            sock.setblocking(False)
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            sock.close()
            return
        conn = Connection(
            sock, self._nursery.start_soon, ssl_context=self._ssl_context, backlog_limit=self._settings.backlog_bytes
        )
        try:
            upgraded = await self._serve_http(conn, client)
            if upgraded is not None:
                await self._serve_websocket(conn, *upgraded)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except Exception:
            self._failed("connection", "connection from %s failed", client)
        finally:
            conn.abort()  # a no-op after a graceful close

    # -- HTTP ------------------------------------------------------------------

    async def _serve_http(self, conn: Connection, client: tuple[str, int] | None):
        """Requests until the connection closes, or (request, handler, protocol,
        trailing bytes) once a WebSocket upgrade was accepted (101 sent)."""
        h = h11.Connection(h11.SERVER, max_incomplete_event_size=self._settings.max_header_bytes)
        first = True
        while True:
            try:
                received = await self._read_request(conn, h, client, first)
            except _HttpError as err:
                await self._send(conn, h, err.response, head_only=False, close=True)
                await conn.aclose(linger=ERROR_LINGER)
                return None
            if received is None:
                await conn.aclose()
                return None
            first = False
            request, event = received
            if request.method == "GET" and _wants_websocket(request):
                outcome = self._upgrade(request, event)
                if isinstance(outcome, tuple):
                    handler, protocol, accept = outcome
                    await conn.send_all(accept)
                    return request, handler, protocol, h.trailing_data[0]
                response = outcome
            else:
                response = await self._call_app(conn, h, request)
            if not await self._send(conn, h, response, head_only=request.method == "HEAD", close=self._stopping):
                return None
            if h.our_state is not h11.DONE or h.their_state is not h11.DONE:
                await conn.aclose()
                return None
            h.start_next_cycle()

    async def _read_request(self, conn: Connection, h: h11.Connection, client, first: bool):
        """The next request and its h11 event; None when the client closed or idled out.

        The wait for a request's first byte is bounded by idle_timeout (header_timeout
        on a new connection); from that byte on, head and body by header_timeout.
        """
        settings = self._settings
        started = bool(h.trailing_data[0])
        wait = settings.header_timeout if first or started else settings.idle_timeout
        with trio.CancelScope(deadline=trio.current_time() + wait) as scope, self._idle_while(scope, started):

            async def next_event():
                nonlocal started
                while True:
                    try:
                        event = h.next_event()
                    except h11.RemoteProtocolError as exc:
                        raise _protocol_error(exc) from None
                    if event is not h11.NEED_DATA:
                        return event
                    data = await conn.receive_some()
                    if data and not started:
                        started = True
                        self._idle.discard(scope)
                        scope.deadline = trio.current_time() + settings.header_timeout
                    h.receive_data(data)

            event = await next_event()
            if isinstance(event, h11.ConnectionClosed):
                return None
            _check_head(event, settings)
            if h.they_are_waiting_for_100_continue:
                await conn.send_all(h.send(h11.InformationalResponse(status_code=100, headers=[])))
            parts = []
            size = 0
            while not isinstance(body_event := await next_event(), h11.EndOfMessage):
                size += len(body_event.data)
                if size > settings.max_body_bytes:
                    raise _body_too_large(f"the chunked request body is over the limit of {settings.max_body_bytes} bytes")
                parts.append(body_event.data)
            return _make_request(event, b"".join(parts), client), event
        if started:
            raise _HttpError(408, "REQUEST_TIMEOUT", f"the request did not arrive within {settings.header_timeout} s")
        return None

    async def _call_app(self, conn: Connection, h: h11.Connection, request: Request) -> Response:
        """Run the app's handler while still reading: EOF sets request.disconnected."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._watch, conn, h, request.disconnected)
            try:
                response = await self._app.http(request)
                if not isinstance(response, Response):
                    raise TypeError(f"the handler returned {type(response).__name__}, not a Response")
            except Exception:
                self._failed("http", "handler for %s %s failed", request.method, redact_target(request.target))
                response = _internal_error()
            nursery.cancel_scope.cancel()
        return response

    async def _watch(self, conn: Connection, h: h11.Connection, disconnected: trio.Event) -> None:
        """Read while a handler runs: keep pipelined bytes (up to a head's worth) for
        the next request, and notice when the client goes away."""
        budget = self._settings.max_header_bytes
        try:
            while budget > 0:
                data = await conn.receive_some()
                h.receive_data(data)
                if not data:
                    disconnected.set()
                    return
                budget -= len(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            disconnected.set()
            return
        await trio.sleep_forever()

    async def _send(self, conn: Connection, h: h11.Connection, response: Response, *, head_only: bool, close: bool) -> bool:
        """Write a response; False (connection reset) when the client did not take it
        within idle_timeout."""
        try:
            parts = self._encode(h, response, head_only, close)
        except Exception:
            self._failed("response", "invalid response %r", response)
            response = _internal_error()
            parts = self._encode(h, response, head_only, close)
        # One write for a usual response; a large body is written as it is rather than
        # copied onto its head.
        if sum(map(len, parts)) <= _JOIN_UP_TO:
            parts = [b"".join(parts)]
        with trio.move_on_after(self._settings.idle_timeout) as scope:
            for data in parts:
                await conn.send_all(data)
            if response.chunks is not None:
                await self._send_chunks(conn, h, () if head_only else response.chunks)
        if scope.cancelled_caught:
            conn.abort()
            return False
        return True

    async def _send_chunks(self, conn: Connection, h: h11.Connection, chunks: Iterable[bytes]) -> None:
        """A body made while it is written: each piece framed and written in turn, with a
        checkpoint between pieces (other tasks run while it is made), then its end."""
        for chunk in chunks:
            if chunk:
                await conn.send_all(b"".join(h.send_with_data_passthrough(h11.Data(data=chunk))))
            await trio.lowlevel.checkpoint()
        await conn.send_all(b"".join(h.send_with_data_passthrough(h11.EndOfMessage())))

    def _encode(self, h: h11.Connection, response: Response, head_only: bool, close: bool) -> list[bytes]:
        """The response's head and body (only its head when it comes in chunks)."""
        status = response.status
        headers = [(b"date", self._http_date()), (b"server", SERVER_NAME)]
        headers += [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers
            if name.lower() not in _FRAMING_HEADERS
        ]
        given = {name.lower() for name, _ in response.headers}
        headers += [header for header in self._security if header[0].decode() not in given]  # the app may say otherwise
        body = response.body
        has_body = status >= 200 and status not in _NO_BODY_STATUSES
        if has_body and response.chunks is None:
            headers.append((b"content-length", b"%d" % len(body)))
        if close:
            headers.append((b"connection", b"close"))
        reason = _reason(status)
        event = h11.Response(status_code=status, headers=headers, reason=reason)  # validates before h's state moves
        parts = h.send_with_data_passthrough(event)
        if response.chunks is not None:
            return parts
        if has_body and body and not head_only:
            parts += h.send_with_data_passthrough(h11.Data(data=body))
        return parts + h.send_with_data_passthrough(h11.EndOfMessage())

    def _http_date(self) -> bytes:
        now = int(time.time())
        if now != self._date_second:
            self._date_second = now
            self._date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)).encode("ascii")
        return self._date

    # -- WebSocket -------------------------------------------------------------

    def _upgrade(self, request: Request, event: h11.Request) -> Response | tuple[WebSocketHandler, WsProtocol, bytes]:
        """Validate the upgrade and ask the app: its refusal, or (handler, frame
        protocol, the 101 response bytes)."""
        handshake = H11Handshake(ConnectionType.SERVER)
        try:
            handshake.initiate_upgrade_connection(_joined_lists(event.headers), event.target)
        except WsHandshakeError as exc:
            hint = exc.event_hint
            if getattr(hint, "status_code", 400) == 426:
                return error_response(
                    426, "BAD_REQUEST", "unsupported Sec-WebSocket-Version: this server speaks version 13",
                    headers=(("sec-websocket-version", "13"),),
                )
            return error_response(400, "BAD_REQUEST", f"invalid WebSocket upgrade: {exc}")
        try:
            outcome = self._app.websocket(request)
        except Exception:
            self._failed("upgrade", "websocket() for %s failed", redact_target(request.target))
            return _internal_error()
        if isinstance(outcome, Response):
            return outcome
        extra = [(b"date", self._http_date()), (b"server", SERVER_NAME), *self._security]
        accept = handshake.send(AcceptConnection(extra_headers=extra))
        return outcome, handshake.connection, accept

    async def _serve_websocket(
        self, conn: Connection, request: Request, handler: WebSocketHandler, protocol: WsProtocol, trailing: bytes
    ) -> None:
        settings = self._settings
        ws = WebSocket(
            conn, request, protocol, max_message=settings.ws_max_message, frames_per_second=settings.ws_frames_per_second,
            frame_burst=settings.ws_frame_burst, trailing_data=trailing,
        )
        try:
            await handler(ws)
        except WebSocketClosed:
            pass
        except Exception as exc:
            # a handler's nursery may wrap the WebSocketClosed that ended it in a group
            failure = exc.split(WebSocketClosed)[1] if isinstance(exc, ExceptionGroup) else exc
            if failure is not None:
                self._failed("websocket", "WebSocket handler for %s failed", redact_target(request.target), exc_info=failure)
                await ws.aclose(1011, "internal error")
        finally:
            if ws.flooded and request.client is not None:
                self._door.penalize(address_key(request.client[0]), trio.current_time())
        await ws.aclose()


# Header fields whose repeats mean one comma-separated list (RFC 9110, 5.3); wsproto reads
# only the last of each, so "Connection: Upgrade" then "Connection: keep-alive" would fail.
_LIST_FIELDS = (b"connection", b"upgrade", b"sec-websocket-extensions", b"sec-websocket-protocol")


def _joined_lists(headers) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    where: dict[bytes, int] = {}
    for name, value in headers:
        if name in _LIST_FIELDS and name in where:
            i = where[name]
            out[i] = (name, out[i][1] + b", " + value)
        else:
            if name in _LIST_FIELDS:
                where[name] = len(out)
            out.append((name, value))
    return out


def _wants_websocket(request: Request) -> bool:
    upgrade = request.header("upgrade")
    return upgrade is not None and any(token.strip().lower() == "websocket" for token in upgrade.split(","))


def _check_head(event: h11.Request, settings: WebSettings) -> None:
    """Refuse an HTTP version other than 1.0 and 1.1 (h11 reads any 1-digit.1-digit one), a
    request framed both by Content-Length and by Transfer-Encoding (RFC 9112, 6.3: a proxy
    in front may have read it the other way, so what follows on the connection cannot be
    trusted either), a head over the size limit (h11 alone only bounds an incomplete one),
    and a declared body over the body limit, before reading that body. Every refusal closes
    the connection."""
    if event.http_version not in HTTP_VERSIONS:
        version = event.http_version.decode("ascii", "replace")
        raise _HttpError(505, "HTTP_VERSION_NOT_SUPPORTED", f"HTTP/{version} is not served: use HTTP/1.1 (or 1.0)")
    names = {name for name, _ in event.headers}
    if b"content-length" in names and b"transfer-encoding" in names:
        raise _HttpError(
            400, "BAD_REQUEST", "a request with both Content-Length and Transfer-Encoding is ambiguous (RFC 9112, 6.3)"
        )
    size = len(event.method) + len(event.target) + 12 + sum(len(n) + len(v) + 4 for n, v in event.headers)
    if size > settings.max_header_bytes:
        raise _HttpError(
            431, "HEADERS_TOO_LARGE", f"the request head ({size} bytes) is over the limit of {settings.max_header_bytes} bytes"
        )
    for name, value in event.headers:
        if name == b"content-length" and int(value) > settings.max_body_bytes:
            raise _body_too_large(
                f"the request body ({int(value)} bytes) is over the limit of {settings.max_body_bytes} bytes"
            )


def _body_too_large(message: str) -> _HttpError:
    return _HttpError(413, "BODY_TOO_LARGE", message)


def _protocol_error(exc: h11.RemoteProtocolError) -> _HttpError:
    if exc.error_status_hint == 431:
        return _HttpError(
            431, "HEADERS_TOO_LARGE", "the request head is over the size limit (or never ends with an empty line)"
        )
    return _HttpError(exc.error_status_hint, "BAD_REQUEST", f"malformed HTTP request: {exc}")


def _internal_error() -> Response:
    return error_response(500, "INTERNAL", "internal server error (logged on the server)")


def _reason(status: int) -> bytes:
    try:
        return http.HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""


def _make_request(event: h11.Request, body: bytes, client: tuple[str, int] | None) -> Request:
    target = event.target
    if not target.startswith(b"/") and b"://" in target:  # absolute form, as sent to proxies
        parts = urlsplit(target)
        raw_path, raw_query = parts.path or b"/", parts.query
    else:
        raw_path, _, raw_query = target.partition(b"?")
    query = parse_qs(raw_query.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace")
    return Request(
        method=event.method.decode("ascii"),
        target=target.decode("latin-1"),
        path=unquote_to_bytes(raw_path).decode("utf-8", "replace"),
        query={name: tuple(values) for name, values in query.items()},
        headers=tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in event.headers),
        body=body,
        client=client,
    )
