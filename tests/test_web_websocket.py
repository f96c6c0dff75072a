"""WebSocket over the front (eyenet/web/websocket.py) against real clients on loopback.

Clients: trio-websocket (a full client), wsproto driven over a trio stream
where a test needs frames a library would not send (fragments, protocol
errors), and a raw socket that never reads (the slow consumer). Every wait is
bounded; no assertion is about time.
"""

from __future__ import annotations

import json
import socket

import pytest
import trio
import wsproto
from test_web_front import LIMIT, client_tls_context, self_signed
from trio_websocket import ConnectionClosed, ConnectionRejected, open_websocket_url
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.events import Request as WsRequest

from eyenet.config import WebSettings
from eyenet.web.front import serve
from eyenet.web.http import Request, Response, error_response
from eyenet.web.websocket import WebSocket, WebSocketClosed, ws_frame


class WsApp:
    """A few WebSocket endpoints; what the server side saw is kept for the test to check."""

    def __init__(self) -> None:
        self.joined_send, self.joined = trio.open_memory_channel(1000)
        self.members: dict[str, WebSocket] = {}
        self.closes: dict[str, WebSocketClosed] = {}
        self.closed_event = trio.Event()

    async def http(self, request: Request) -> Response:
        return error_response(404, "NOT_FOUND", "WebSocket only")

    def websocket(self, request: Request):
        route = {
            "/echo": self.echo,
            "/hub": self.hub,
            "/server-close": self.server_close,
            "/boom": self.boom,
            "/kick": self.kick,
        }.get(request.path)
        if route is None:
            return error_response(403, "FORBIDDEN", f"no WebSocket for {request.path}")
        return route

    def _record(self, ws: WebSocket, exc: WebSocketClosed) -> None:
        self.closes[ws.request.arg("name") or ws.request.path] = exc
        self.closed_event.set()

    async def echo(self, ws: WebSocket) -> None:
        try:
            while True:
                message = await ws.receive()
                if isinstance(message, str):
                    await ws.send_text(message)
                else:
                    await ws.send_bytes(message)
        except WebSocketClosed as exc:
            self._record(ws, exc)

    async def hub(self, ws: WebSocket) -> None:
        name = ws.request.arg("name")
        self.members[name] = ws
        await self.joined_send.send(name)
        try:
            while True:
                await ws.receive()
        except WebSocketClosed as exc:
            self._record(ws, exc)

    async def server_close(self, ws: WebSocket) -> None:
        ws.send_text_nowait("bye soon")
        await ws.aclose(4001, "go away")

    async def boom(self, ws: WebSocket) -> None:
        await ws.receive()
        raise RuntimeError("handler bug")

    async def kick(self, ws: WebSocket) -> None:
        """Close from another task while this one is receiving (as a session does on token expiry)."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ws.aclose, 1008, "token expired")
            try:
                await ws.receive()
            except WebSocketClosed as exc:
                self._record(ws, exc)


async def start(nursery: trio.Nursery, app: WsApp, **settings) -> int:
    bound = await nursery.start(serve, app, WebSettings(host="127.0.0.1", port=0, **settings))
    return bound[0][1]


class WsprotoClient:
    """A minimal client: wsproto over a trio TCP stream, for frames trio-websocket won't send."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)

    @classmethod
    async def connect(cls, port: int, target: str) -> WsprotoClient:
        client = cls(await trio.open_tcp_stream("127.0.0.1", port))
        await client.send(WsRequest(host="127.0.0.1", target=target))
        event = await client.next_event()
        assert isinstance(event, AcceptConnection), event
        return client

    async def send(self, event) -> None:
        await self.stream.send_all(self.ws.send(event))

    async def next_event(self):
        while True:
            for event in self.ws.events():
                return event
            data = await self.stream.receive_some(65536)
            self.ws.receive_data(data or None)


async def test_echo_text_and_binary(nursery):
    port = await start(nursery, WsApp())
    with trio.fail_after(LIMIT):
        async with open_websocket_url(f"ws://127.0.0.1:{port}/echo") as client:
            await client.send_message("héllo")
            assert await client.get_message() == "héllo"
            await client.send_message(b"\x00\x01\xff")
            assert await client.get_message() == b"\x00\x01\xff"
            big = "x" * 60_000  # a 16-bit length frame
            await client.send_message(big)
            assert await client.get_message() == big


async def test_fragmented_message_is_joined_and_pings_are_answered(nursery):
    port = await start(nursery, WsApp())
    with trio.fail_after(LIMIT):
        client = await WsprotoClient.connect(port, "/echo")
        await client.send(TextMessage(data="frag", message_finished=False))
        await client.send(Ping(payload=b"p1"))  # a control frame between fragments
        await client.send(TextMessage(data="men", message_finished=False))
        await client.send(TextMessage(data="ted", message_finished=True))
        assert await client.next_event() == Pong(payload=b"p1")
        message = await client.next_event()
        assert isinstance(message, TextMessage) and message.data == "fragmented" and message.message_finished
        await client.send(BytesMessage(data=b"ab", message_finished=False))
        await client.send(BytesMessage(data=b"cd", message_finished=True))
        message = await client.next_event()
        assert isinstance(message, BytesMessage) and message.data == b"abcd"
        await client.stream.aclose()


async def test_ping_pong_with_trio_websocket(nursery):
    port = await start(nursery, WsApp())
    with trio.fail_after(LIMIT):
        async with open_websocket_url(f"ws://127.0.0.1:{port}/echo") as client:
            await client.ping(b"are you there")  # returns when the matching pong arrives
            await client.send_message("still open")
            assert await client.get_message() == "still open"


async def test_close_codes_both_ways(nursery):
    app = WsApp()
    port = await start(nursery, app)
    with trio.fail_after(LIMIT):
        # the client closes: the handler sees its code and reason
        async with open_websocket_url(f"ws://127.0.0.1:{port}/echo") as client:
            await client.aclose(4002, "client done")
        await app.closed_event.wait()
        assert (app.closes["/echo"].code, app.closes["/echo"].reason) == (4002, "client done")
        # the server closes: the client sees the server's code and reason
        async with open_websocket_url(f"ws://127.0.0.1:{port}/server-close") as client:
            assert await client.get_message() == "bye soon"
            with pytest.raises(ConnectionClosed) as info:
                await client.get_message()
        assert (info.value.reason.code, info.value.reason.reason) == (4001, "go away")


async def test_close_from_another_task_while_receiving(nursery):
    app = WsApp()
    port = await start(nursery, app)
    with trio.fail_after(LIMIT):
        async with open_websocket_url(f"ws://127.0.0.1:{port}/kick") as client:
            with pytest.raises(ConnectionClosed) as info:
                await client.get_message()
        assert info.value.reason.code == 1008 and info.value.reason.reason == "token expired"
        await app.closed_event.wait()
        assert app.closes["/kick"].code == 1008


async def test_handler_exception_closes_1011(nursery, caplog):
    port = await start(nursery, WsApp())
    with trio.fail_after(LIMIT):
        async with open_websocket_url(f"ws://127.0.0.1:{port}/boom") as client:
            await client.send_message("trigger")
            with pytest.raises(ConnectionClosed) as info:
                await client.get_message()
    assert info.value.reason.code == 1011
    assert sum("handler bug" in str(r.exc_info[1]) for r in caplog.records if r.exc_info) == 1


async def test_oversized_message_is_closed_1009(nursery):
    app = WsApp()
    port = await start(nursery, app, ws_max_message=1000)
    with trio.fail_after(LIMIT):
        async with open_websocket_url(f"ws://127.0.0.1:{port}/echo") as client:
            await client.send_message("y" * 1000)  # at the limit: fine
            assert len(await client.get_message()) == 1000
            await client.send_message("y" * 1001)
            with pytest.raises(ConnectionClosed) as info:
                await client.get_message()
        assert info.value.reason.code == 1009
        await app.closed_event.wait()
        assert app.closes["/echo"].code == 1009
        # the limit is on the whole message, not on each fragment
        client = await WsprotoClient.connect(port, "/echo")
        for _ in range(3):
            await client.send(BytesMessage(data=b"z" * 400, message_finished=False))
        event = await client.next_event()
        assert isinstance(event, CloseConnection) and event.code == 1009
        await client.stream.aclose()


async def test_protocol_error_is_closed_1002(nursery):
    app = WsApp()
    port = await start(nursery, app)
    with trio.fail_after(LIMIT):
        client = await WsprotoClient.connect(port, "/echo")
        await client.stream.send_all(b"\x81\x02hi")  # an unmasked client frame
        event = await client.next_event()
        assert isinstance(event, CloseConnection) and event.code == 1002
        await client.stream.aclose()
        await app.closed_event.wait()
    assert app.closes["/echo"].code == 1002


async def test_client_vanishing_is_1006_on_the_server(nursery):
    app = WsApp()
    port = await start(nursery, app)
    with trio.fail_after(LIMIT):
        client = await WsprotoClient.connect(port, "/hub?name=gone")
        await app.joined.receive()
        await client.stream.aclose()  # TCP close, no close frame
        await app.closed_event.wait()
    assert app.closes["gone"].code == 1006
    assert not app.members["gone"].send_frame_nowait(ws_frame("too late"))


async def test_broadcast_one_frame_to_many_clients(nursery):
    app = WsApp()
    port = await start(nursery, app)
    clients = 50
    received: dict[int, list[str]] = {}

    async def member(i: int, ready: trio.Event, done: trio.Event) -> None:
        async with open_websocket_url(f"ws://127.0.0.1:{port}/hub?name={i}") as client:
            ready.set()
            got = received.setdefault(i, [])
            while len(got) < 3:
                got.append(await client.get_message())
        done.set()

    with trio.fail_after(LIMIT * 3):
        async with trio.open_nursery() as clients_nursery:
            done = [trio.Event() for _ in range(clients)]
            for i in range(clients):
                ready = trio.Event()
                clients_nursery.start_soon(member, i, ready, done[i])
                await ready.wait()
            for _ in range(clients):
                await app.joined.receive()
            for n in range(3):
                frame = ws_frame(json.dumps({"type": "device:status", "data": {"n": n}}))
                assert all(ws.send_frame_nowait(frame) for ws in app.members.values())
            for event in done:
                await event.wait()
    expected = [json.dumps({"type": "device:status", "data": {"n": n}}) for n in range(3)]
    assert len(received) == clients and all(got == expected for got in received.values())


async def test_joined_frames_arrive_as_separate_messages(nursery):
    app = WsApp()
    port = await start(nursery, app)
    with trio.fail_after(LIMIT):
        async with open_websocket_url(f"ws://127.0.0.1:{port}/hub?name=batch") as client:
            await app.joined.receive()
            assert app.members["batch"].send_frame_nowait(ws_frame("one") + ws_frame(b"\x02", text=False) + ws_frame("three"))
            assert [await client.get_message() for _ in range(3)] == ["one", b"\x02", "three"]


async def test_slow_consumer_is_dropped_while_others_get_everything(nursery):
    """A client that never reads overflows its (small) backlog and is dropped; the
    readers keep up and receive every message, in order."""
    app = WsApp()
    limit = 65536
    port = await start(nursery, app, backlog_bytes=limit)
    fast = 3
    counts = dict.fromkeys(range(fast), 0)
    in_order = []
    payload = "p" * 8000
    total = None

    async def reader(i: int, ready: trio.Event) -> None:
        async with open_websocket_url(f"ws://127.0.0.1:{port}/hub?name={i}", message_queue_size=64) as client:
            ready.set()
            while total is None or counts[i] < total:
                message = await client.get_message()
                in_order.append(int(message.partition(":")[0]) == counts[i])
                counts[i] += 1

    with trio.fail_after(LIMIT * 6):
        slow = trio.socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a tiny window: the server's queue fills
        await slow.connect(("127.0.0.1", port))
        await slow.send(
            b"GET /hub?name=slow HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += await slow.recv(1)
        assert head.startswith(b"HTTP/1.1 101 ")  # ... and it never reads again
        assert await app.joined.receive() == "slow"
        async with trio.open_nursery() as readers:
            for i in range(fast):
                ready = trio.Event()
                readers.start_soon(reader, i, ready)
                await ready.wait()
                await app.joined.receive()
            sent = 0
            dropped_at = None
            for n in range(5000):  # bounded: stops shortly after the slow one is dropped
                frame = ws_frame(f"{n}:{payload}")
                for name, ws in app.members.items():
                    if not ws.send_frame_nowait(frame):
                        assert name == "slow", f"reader {name} was dropped"
                        dropped_at = n if dropped_at is None else dropped_at
                sent += 1
                while any(app.members[str(i)].backlog > limit // 2 for i in range(fast)):
                    await trio.sleep(0.001)  # pace to the readers, never to the slow one
                if dropped_at is not None and n >= dropped_at + 20:
                    break
            total = sent
        slow.close()
    assert dropped_at is not None, "the slow consumer was never dropped"
    assert app.members["slow"].closed
    assert counts == dict.fromkeys(range(fast), total) and all(in_order)
    with trio.fail_after(LIMIT):
        await app.closed_event.wait()
        while "slow" not in app.closes:
            await trio.sleep(0.01)
    assert app.closes["slow"].code == 1006 and "backlog" in app.closes["slow"].reason


async def test_websocket_over_tls(nursery, tmp_path):
    cert, key = self_signed(tmp_path)
    port = await start(nursery, WsApp(), tls_cert=cert, tls_key=key, ws_max_message=200_000)
    with trio.fail_after(LIMIT):
        async with open_websocket_url(f"wss://127.0.0.1:{port}/echo", ssl_context=client_tls_context(cert)) as client:
            for text in ("secure", "z" * 100_000):
                await client.send_message(text)
                assert await client.get_message() == text


async def test_refused_upgrade_is_the_apps_response(nursery):
    port = await start(nursery, WsApp())
    with trio.fail_after(LIMIT):
        with pytest.raises(ConnectionRejected) as info:
            async with open_websocket_url(f"ws://127.0.0.1:{port}/nowhere"):
                pass
    assert info.value.status_code == 403
    assert json.loads(info.value.body)["error"] == {"code": "FORBIDDEN", "message": "no WebSocket for /nowhere"}


@pytest.mark.parametrize(
    "headers, status, words",
    [
        (b"Sec-WebSocket-Version: 13\r\n", 400, "Sec-WebSocket-Key"),
        (b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", 400, "Sec-WebSocket-Version"),
        (b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n", 426, "version 13"),
    ],
)
async def test_bad_upgrade_request_is_refused(nursery, headers, status, words):
    port = await start(nursery, WsApp())
    with trio.fail_after(LIMIT):
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            await stream.send_all(
                b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n" + headers
                + b"\r\n"
            )
            raw = b""
            while chunk := await stream.receive_some(65536):
                raw += chunk
    assert raw.startswith(b"HTTP/1.1 %d " % status)
    body = json.loads(raw.partition(b"\r\n\r\n")[2])
    assert body["error"]["code"] == "BAD_REQUEST" and words in body["error"]["message"]
    if status == 426:
        assert b"sec-websocket-version: 13\r\n" in raw.lower()


async def test_repeated_connection_headers_are_one_list(nursery):
    port = await start(nursery, WsApp())
    with trio.fail_after(LIMIT):
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            await stream.send_all(
                b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Connection: keep-alive\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            raw = b""
            while b"\r\n\r\n" not in raw:
                raw += await stream.receive_some(65536)
    assert raw.startswith(b"HTTP/1.1 101 ")


def test_ws_frame_lengths():
    assert ws_frame("hi") == b"\x81\x02hi"
    assert ws_frame(b"\x00", text=False) == b"\x82\x01\x00"
    assert ws_frame("a" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert ws_frame("a" * 65536)[:10] == b"\x81\x7f" + (65536).to_bytes(8, "big")
