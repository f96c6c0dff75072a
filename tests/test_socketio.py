"""Socket.IO / Engine.IO against the stock socket.io-client (npm, tests/js) and raw HTTP.

Each test runs the web front on a free loopback port with a small app that sends
``/socket.io/`` to :class:`SocketIOServer`, over a real Hub and TokenAuthority.
The node script tests/js/seed_client.js connects with the seed's snippet and
reports what it sees as JSON lines; every wait is bounded by ``trio.fail_after``.
"""

from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager
from datetime import datetime, timezone

import attrs
import h11
import pytest
import trio
import trio_websocket
from jsclient import WAIT, JsClient, js_client

from eyenet.auth.model import User
from eyenet.auth.tokens import TokenAuthority
from eyenet.bus import Bus
from eyenet.config import AuthSettings, PushSettings, WebSettings
from eyenet.events import DeviceMetrics, InterfaceMetrics, encode
from eyenet.web.front import serve
from eyenet.web.http import Request, Response
from eyenet.web.push.hub import Hub
from eyenet.web.push.socketio import SocketIOServer

FAST = dict(ping_interval=0.3, ping_timeout=0.2)  # the official test suites' heartbeat
VIEWER = User(id="u-0000000000000001", username="ada", role="viewer")


class SocketIOApp:
    """The web app's routing for Engine.IO, alone."""

    def __init__(self, server: SocketIOServer) -> None:
        self.server = server

    async def http(self, request: Request) -> Response:
        if request.path.startswith("/socket.io/"):
            return await self.server.http(request)
        return Response.json({"error": "not found"}, 404)

    def websocket(self, request: Request):
        if request.path.startswith("/socket.io/"):
            return self.server.websocket(request)
        return Response.json({"error": "not found"}, 404)


@attrs.define
class Env:
    port: int
    bus: Bus
    hub: Hub
    server: SocketIOServer
    authority: TokenAuthority

    def token(self, ttl: int = 3600) -> str:
        return self.authority.issue(VIEWER, ttl).token

    def publish(self, cpu: float = 12.5) -> DeviceMetrics:
        event = DeviceMetrics(
            device_id="dev1", timestamp=datetime.now(timezone.utc), cpu=cpu, memory=40.0,
            bandwidth_in=1024, bandwidth_out=2048,
            interfaces=[InterfaceMetrics(if_index=1, name="eth0", status="up", bps_in=1024, bps_out=2048)],
        )
        self.bus.publish(event)
        return event

    def envelope(self, event: DeviceMetrics, event_id: int) -> dict:
        """What a device:dev1 subscriber must receive: the detailed envelope."""
        return json.loads(encode(event, event_id, include_interfaces=True, tz=self.hub.tz))


@asynccontextmanager
async def running(**settings):
    bus = Bus()
    authority = TokenAuthority(AuthSettings(), os.urandom(32))
    hub = Hub(bus, authority, {"dev1": ("core",)}.get, PushSettings())
    server = SocketIOServer(hub, WebSettings(**{**FAST, **settings}))
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run)
        await nursery.start(server.run)
        # Every address of "localhost": the seed's ws://localhost may resolve to ::1 first.
        bound = await nursery.start(serve, SocketIOApp(server), WebSettings(host="localhost", port=0))
        yield Env(bound[0][1], bus, hub, server, authority)
        nursery.cancel_scope.cancel()


async def subscribed(client: JsClient) -> None:
    """The seed's subscribe, answered with exactly the contract's acknowledgement."""
    ack = await client.emit("subscribe", {"type": "device", "id": "dev1"})
    assert ack == [{"status": "subscribed", "channel": "device:dev1"}]


def cpu_of(report: dict) -> float:
    return report["args"][0]["data"]["metrics"]["cpu"]


async def receives(env: Env, client: JsClient, cpu: float = 12.5) -> dict:
    """Publish a device:metrics and check what the client's handler gets: the exact
    envelope, then the event id as the recovery offset."""
    event = env.publish(cpu)
    report = await client.expect("event", lambda r: r["name"] == "device:metrics" and cpu_of(r) == cpu)
    envelope, offset = report["args"]
    assert set(envelope) == {"type", "id", "data"}
    assert envelope == env.envelope(event, envelope["id"])
    assert offset == str(envelope["id"])
    return envelope


# -- the seed's client over each transport -----------------------------------------------------------


async def test_default_transports_polling_then_websocket():
    async with running() as env, js_client(env.port, env.token()) as client:
        opened = await client.expect("open")
        assert opened["transport"] == "polling"
        connected = await client.expect("connect")
        assert connected["id"] and connected["recovered"] is False
        await subscribed(client)
        await client.expect("upgrade")
        assert (await client.state())["transport"] == "websocket"
        await receives(env, client)
        assert not client.saw("disconnect") and not client.saw("connect_error")


async def test_websocket_only():
    async with running() as env, js_client(env.port, env.token(), transports="websocket") as client:
        assert (await client.expect("open"))["transport"] == "websocket"
        await client.expect("connect")
        await subscribed(client)
        await receives(env, client)
        await client.expect("ping")  # the server's heartbeat, answered by the client
        await receives(env, client, cpu=13.5)
        assert (await client.state())["transport"] == "websocket"
        assert not client.saw("upgrade") and not client.saw("disconnect")


async def test_long_polling_only():
    async with running() as env, js_client(env.port, env.token(), transports="polling") as client:
        await client.expect("connect")
        await subscribed(client)
        await receives(env, client)
        for _ in range(3):  # pings complete held GETs; the client's pongs keep the session
            await client.expect("ping")
        await receives(env, client, cpu=13.5)
        assert (await client.state())["transport"] == "polling"
        assert not client.saw("disconnect")


@pytest.mark.parametrize("token, code", [("garbage", "AUTH_INVALID"), ("", "AUTH_REQUIRED")])
async def test_refused_token_is_a_connect_error_without_retry(token, code):
    async with running() as env, js_client(env.port, token) as client:
        refused = await client.expect("connect_error")
        assert refused["data"]["code"] == code
        assert refused["message"] == refused["data"]["message"]
        assert refused["data"]["timestamp"]
        assert refused["active"] is False  # the client will not retry by itself
        with trio.fail_after(WAIT):  # and it closes its Engine.IO session
            while env.server.sessions:
                await trio.sleep(0.01)
        assert not client.saw("connect")


async def test_expired_token_is_a_connect_error():
    async with running() as env:
        expired = env.authority.issue(VIEWER, 60, now=datetime(2020, 1, 1, tzinfo=timezone.utc)).token
        async with js_client(env.port, expired) as client:
            refused = await client.expect("connect_error")
            assert refused["data"]["code"] == "TOKEN_EXPIRED" and refused["active"] is False


async def test_token_expiry_is_an_error_then_io_server_disconnect():
    async with running() as env, js_client(env.port, env.token(ttl=2), transports="websocket") as client:
        await client.expect("connect")
        await subscribed(client)
        error = await client.expect_event("error")
        envelope = error["args"][0]
        assert envelope["type"] == "error" and envelope["data"]["code"] == "TOKEN_EXPIRED"
        gone = await client.expect("disconnect")
        assert gone["reason"] == "io server disconnect"
        assert gone["active"] is False  # no automatic reconnection
        assert client.seen.index(error) < client.seen.index(gone)


async def wait_recoverable(env: Env) -> None:
    """Until the server has noticed the dropped transport (the hub keeps the session by its pid)."""
    with trio.fail_after(WAIT):
        while env.server.sessions or env.hub.sessions:
            await trio.sleep(0.01)


async def check_recovery(env: Env, client: JsClient, drop) -> None:
    """Connect, subscribe, get one event; `drop` the transport; events published
    while the client is away arrive after it recovers, and it stays subscribed."""
    first = await client.expect("connect")
    await subscribed(client)
    await receives(env, client, cpu=1.0)
    await drop()
    await client.expect("disconnect")
    await wait_recoverable(env)
    missed = [env.publish(cpu=2.0), env.publish(cpu=3.0)]
    again = await client.expect("connect")
    assert again["recovered"] is True
    assert again["id"] == first["id"]  # the same Socket.IO socket
    for event in missed:
        report = await client.expect("event", lambda r, e=event: cpu_of(r) == e.cpu)
        assert report["args"][0] == env.envelope(event, report["args"][0]["id"])
    await receives(env, client, cpu=4.0)  # the subscription came back with the session


@pytest.mark.parametrize("transports", [None, "websocket", "polling"])
async def test_recovery_after_the_client_drops_the_transport(transports):
    async with running() as env, js_client(env.port, env.token(), transports) as client:
        async def drop():
            if transports is None:
                await client.expect("upgrade")
            await client.send(cmd="close-engine")

        await check_recovery(env, client, drop)


@pytest.mark.parametrize("transports", ["websocket", "polling"])
async def test_recovery_after_the_server_drops_the_transport(transports):
    async with running() as env, js_client(env.port, env.token(), transports) as client:
        async def drop():
            (session,) = env.server.sessions.values()
            session.close("dropped by the test")

        await check_recovery(env, client, drop)



# -- raw Engine.IO: the section 8 exchanges and the error statuses ----------------------------------

POLL = "/socket.io/?EIO=4&transport=polling"
RS = "\x1e"


async def http(env: Env, method: str, target: str, body: bytes = b"", headers=()) -> tuple[int, list, bytes]:
    """One request on its own connection: (status, [(name, value)], body)."""
    stream = await trio.open_tcp_stream("127.0.0.1", env.port)
    async with stream:
        conn = h11.Connection(h11.CLIENT)
        head = h11.Request(method=method, target=target,
                           headers=[("host", "localhost"), ("content-length", str(len(body))), *headers])
        await stream.send_all(conn.send(head) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
        response, parts = None, []
        with trio.fail_after(WAIT):
            while not isinstance(event := conn.next_event(), h11.EndOfMessage):
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some())
                elif isinstance(event, h11.Response):
                    response = event
                elif isinstance(event, h11.Data):
                    parts.append(event.data)
        return response.status_code, [(n.decode(), v.decode()) for n, v in response.headers], b"".join(parts)


def header(headers: list, name: str) -> list[str]:
    return [value for n, value in headers if n == name]


async def handshake(env: Env, headers=()) -> dict:
    status, hdrs, body = await http(env, "GET", POLL, headers=headers)
    assert status == 200 and body.startswith(b"0"), body
    assert header(hdrs, "content-type") == ["text/plain; charset=UTF-8"]
    assert header(hdrs, "cache-control") == ["no-store"]
    return json.loads(body[1:])


async def get(env: Env, sid: str) -> str:
    status, _, body = await http(env, "GET", f"{POLL}&sid={sid}")
    assert status == 200, body
    return body.decode()


async def post(env: Env, sid: str, *packets: str) -> None:
    status, _, body = await http(env, "POST", f"{POLL}&sid={sid}", RS.join(packets).encode(),
                                 headers=[("content-type", "text/plain;charset=UTF-8")])
    assert (status, body) == (200, b"ok")


async def refused(env: Env, method: str, target: str, body: bytes = b"") -> dict:
    status, hdrs, answer = await http(env, method, target, body)
    assert status == 400 and header(hdrs, "content-type") == ["application/json"]
    return json.loads(answer)


async def joined(env: Env, sid: str, auth: dict) -> dict:
    """CONNECT to /ws over polling; the accept's payload."""
    await post(env, sid, "40/ws," + json.dumps(auth))
    reply = await get(env, sid)
    assert reply.startswith("40/ws,"), reply
    return json.loads(reply[len("40/ws,"):])


def event_text(env: Env, event, event_id: int) -> str:
    """A broadcast EVENT packet exactly: name, envelope, the event id as the offset."""
    return f'42/ws,["{event.TYPE}",{encode(event, event_id, include_interfaces=True).decode()},"{event_id}"]'


async def until(predicate) -> None:
    with trio.fail_after(WAIT):
        while not predicate():
            await trio.sleep(0.005)


async def test_handshake_is_exactly_the_five_keys():
    async with running() as env:
        opened = await handshake(env)
        assert set(opened) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
        assert opened["upgrades"] == ["websocket"]
        assert (opened["pingInterval"], opened["pingTimeout"], opened["maxPayload"]) == (300, 200, 1_000_000)
        assert len(opened["sid"]) == 20 and opened["sid"].replace("-", "").replace("_", "").isalnum()


@pytest.mark.parametrize("method, target, code", [
    ("GET", f"{POLL}&sid=doesnotexist", 1),
    ("POST", f"{POLL}&sid=doesnotexist", 1),
    ("GET", "/socket.io/?transport=polling", 5),
    ("GET", "/socket.io/?EIO=3&transport=polling", 5),
    ("GET", "/socket.io/?EIO=4&transport=foo", 0),
    ("GET", "/socket.io/?EIO=4", 0),
    ("POST", POLL, 2),
    ("PUT", POLL, 2),
    ("GET", "/socket.io/?EIO=4&transport=websocket", 3),  # a websocket request without the upgrade
])
async def test_engine_errors(method, target, code):
    async with running() as env:
        assert await refused(env, method, target) == {"code": code, "message": ENGINE_MESSAGES[code]}


ENGINE_MESSAGES = {0: "Transport unknown", 1: "Session ID unknown", 2: "Bad handshake method", 3: "Bad request",
                   5: "Unsupported protocol version"}


async def test_polling_session_exchange():
    """socketio-protocol.md 8.1, "the same steps while still on polling"."""
    async with running() as env:
        token = env.token()
        sid = (await handshake(env))["sid"]
        accepted = await joined(env, sid, {"token": token})
        assert set(accepted) == {"sid", "pid"} and accepted["sid"] != sid
        await post(env, sid, '42/ws,0["subscribe",{"type":"device","id":"dev1"}]')
        assert await get(env, sid) == '43/ws,0[{"status":"subscribed","channel":"device:dev1"}]'
        event = env.publish()
        body = await get(env, sid)
        if body == "2":  # a ping came first
            await post(env, sid, "3")
            body = await get(env, sid)
        event_id = int(body.rsplit('"', 2)[1])
        assert body == event_text(env, event, event_id)
        # Two events queued between GETs come in one body, in order.
        events = [env.publish(cpu=1.0), env.publish(cpu=2.0)]
        await until(lambda: len(env.server.sessions[sid].queue) >= 2)
        packets = [p for p in (await get(env, sid)).split(RS) if p != "2"]
        assert packets == [event_text(env, e, event_id + 1 + i) for i, e in enumerate(events)]
        # The client leaves /ws (not recoverable), then joins again on the same session.
        await post(env, sid, "41/ws,")
        again = await joined(env, sid, {"token": token, "pid": accepted["pid"], "offset": str(event_id + 2)})
        assert again["pid"] != accepted["pid"] and again["sid"] != accepted["sid"]
        await post(env, sid, "1")
        assert await refused(env, "GET", f"{POLL}&sid={sid}") == {"code": 1, "message": "Session ID unknown"}


async def test_upgrade_to_websocket():
    """socketio-protocol.md 8.1 step 4: the held GET answers 6, every GET does until
    5, what was queued meanwhile goes over the WebSocket, polling is then refused."""
    async with running(ping_interval=30.0, ping_timeout=30.0) as env:
        sid = (await handshake(env))["sid"]
        await joined(env, sid, {"token": env.token()})
        await post(env, sid, '42/ws,0["subscribe",{"type":"device","id":"dev1"}]')
        assert await get(env, sid) == '43/ws,0[{"status":"subscribed","channel":"device:dev1"}]'
        session = env.server.sessions[sid]
        held = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: _append(held, get(env, sid)))
            await until(lambda: session.get_held)
            url = f"ws://127.0.0.1:{env.port}/socket.io/?EIO=4&transport=websocket&sid={sid}"
            async with trio_websocket.open_websocket_url(url) as ws:
                await ws.send_message("2probe")
                assert await ws.get_message() == "3probe"
                await until(lambda: held)
                assert held == ["6"]
                assert await get(env, sid) == "6"  # while the upgrade is pending
                event = env.publish()
                await until(lambda: session.queue)
                await ws.send_message("5")
                text = await ws.get_message()
                assert text == event_text(env, event, int(text.rsplit('"', 2)[1]))
                assert await refused(env, "GET", f"{POLL}&sid={sid}") == {"code": 3, "message": "Bad request"}
                await ws.send_message('42/ws,1["unsubscribe",{"type":"device","id":"dev1"}]')
                assert await ws.get_message() == '43/ws,1[{"status":"unsubscribed","channel":"device:dev1"}]'


async def _append(results: list, awaitable) -> None:
    results.append(await awaitable)


async def test_websocket_only_exchange():
    """socketio-protocol.md 8.2, with a ping answered."""
    async with running() as env:
        url = f"ws://127.0.0.1:{env.port}/socket.io/?EIO=4&transport=websocket"
        async with trio_websocket.open_websocket_url(url) as ws:
            opened = await ws.get_message()
            assert opened.startswith("0")
            assert json.loads(opened[1:])["upgrades"] == []
            await ws.send_message('40/ws,{"token":"%s"}' % env.token())
            assert json.loads((await ws.get_message())[len("40/ws,"):]).keys() == {"sid", "pid"}
            assert await ws.get_message() == "2"
            await ws.send_message("3")
            await ws.send_message('42/ws,0["subscribe",{"type":"device","id":"dev1"}]')
            assert await ws.get_message() == '43/ws,0[{"status":"subscribed","channel":"device:dev1"}]'
            await ws.send_message("1")  # the client closes the session: the server closes the socket
            with pytest.raises(trio_websocket.ConnectionClosed):
                with trio.fail_after(WAIT):
                    while True:
                        await ws.get_message()
        await until(lambda: not env.server.sessions)


@pytest.mark.parametrize("query, status", [
    ("EIO=4&transport=websocket&sid=doesnotexist", 400),
    ("transport=websocket", 400),
    ("EIO=4&transport=foo", 400),
])
async def test_websocket_refusals(query, status):
    async with running() as env:
        with pytest.raises(trio_websocket.ConnectionRejected) as refusal:
            async with trio_websocket.open_websocket_url(f"ws://127.0.0.1:{env.port}/socket.io/?{query}"):
                pass
        assert refusal.value.status_code == status


async def test_a_second_get_while_one_is_held_closes_the_session():
    async with running(ping_interval=30.0) as env:
        sid = (await handshake(env))["sid"]
        held = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: _append(held, get(env, sid)))
            await until(lambda: env.server.sessions[sid].get_held)
            assert await refused(env, "GET", f"{POLL}&sid={sid}") == {"code": 3, "message": "Bad request"}
        assert held == ["1"]
        assert sid not in env.server.sessions


async def test_post_over_max_payload_is_413_and_closes():
    async with running(max_payload=1000) as env:
        opened = await handshake(env)
        assert opened["maxPayload"] == 1000
        status, _, _ = await http(env, "POST", f"{POLL}&sid={opened['sid']}", b"4" + b"x" * 1000)
        assert status == 413
        assert opened["sid"] not in env.server.sessions


@pytest.mark.parametrize("body, content_type", [
    (b"9", "text/plain;charset=UTF-8"),  # no such Engine.IO packet type
    (b"4\xff", "text/plain;charset=UTF-8"),  # not UTF-8
    (b"4hello", "application/octet-stream"),  # v3's binary POST
])
async def test_unreadable_post_is_400_and_closes(body, content_type):
    async with running() as env:
        sid = (await handshake(env))["sid"]
        status, _, _ = await http(env, "POST", f"{POLL}&sid={sid}", body, headers=[("content-type", content_type)])
        assert status == 400
        assert sid not in env.server.sessions


async def test_unknown_namespaces_are_refused():
    async with running() as env:
        sid = (await handshake(env))["sid"]
        await post(env, sid, "40/nope,", "40")
        assert await get(env, sid) == f'44/nope,{{"message":"Invalid namespace"}}{RS}44{{"message":"Invalid namespace"}}'


async def test_bad_packets_of_a_joined_client_are_errors_not_crashes():
    async with running(ping_interval=30.0) as env:
        sid = (await handshake(env))["sid"]
        await joined(env, sid, {"token": env.token()})
        await post(env, sid, "42/ws,{}", '451-/ws,7["blob",{"_placeholder":true,"num":0}]', "bAQIDBA==",
                   '42/ws,8["nope",{}]')
        packets = (await get(env, sid)).split(RS)
        errors = [json.loads(p[len("42/ws,"):])[1]["data"] for p in packets if p.startswith('42/ws,["error"')]
        assert [e["code"] for e in errors] == ["INVALID_MESSAGE"] * 3
        assert "must be an array" in errors[0]["message"]
        acks = {p.split("[", 1)[0]: json.loads("[" + p.split("[", 1)[1]) for p in packets if p.startswith("43/ws,")}
        assert acks["43/ws,7"][0]["code"] == acks["43/ws,8"][0]["code"] == "INVALID_MESSAGE"
        await post(env, sid, '42/ws,9["subscribe",{"type":"device","id":"dev1"}]')  # still served
        assert await get(env, sid) == '43/ws,9[{"status":"subscribed","channel":"device:dev1"}]'


async def test_a_parse_error_before_joining_closes_the_session():
    async with running() as env:
        sid = (await handshake(env))["sid"]
        await post(env, sid, "42/ws,{")
        assert sid not in env.server.sessions


@pytest.mark.parametrize("packets", [("3", "3"), ("6",), ("0",), ("5",)], ids=["second-pong", "noop", "open", "upgrade"])
async def test_packets_no_client_sends_close_the_session(packets):
    # Counted by no limit, they could otherwise be sent without end.
    async with running(ping_interval=0.2) as env:
        sid = (await handshake(env))["sid"]
        await joined(env, sid, {"token": env.token()})
        assert await get(env, sid) == "2"
        await post(env, sid, *packets)
        await until(lambda: sid not in env.server.sessions)


async def test_last_event_id_replays_on_subscribe():
    async with running(ping_interval=30.0) as env:
        missed = [env.publish(cpu=1.0), env.publish(cpu=2.0)]
        await until(lambda: len(env.hub.ring) == 2)
        first = env.hub.ring.first_id
        sid = (await handshake(env))["sid"]
        await joined(env, sid, {"token": env.token(), "lastEventId": str(first - 1)})
        await post(env, sid, '42/ws,0["subscribe",{"type":"device","id":"dev1"}]')
        packets = (await get(env, sid)).split(RS)
        assert packets == [event_text(env, missed[0], first), event_text(env, missed[1], first + 1),
                           '43/ws,0[{"status":"subscribed","channel":"device:dev1"}]']


async def test_ping_timeout_closes_the_session():
    async with running() as env:
        sid = (await handshake(env))["sid"]
        await joined(env, sid, {"token": env.token()})
        assert await get(env, sid) == "2"
        assert await get(env, sid) == "1"  # no pong: held until the timeout, then closed
        assert sid not in env.server.sessions and not env.hub.sessions


async def test_connect_timeout_closes_a_session_that_never_joins():
    async with running(connect_timeout=0.5) as env:
        sid = (await handshake(env))["sid"]
        with trio.fail_after(WAIT):
            while (body := await get(env, sid)) == "2":
                await post(env, sid, "3")  # alive, but never joining /ws
        assert body == "1"


ORIGIN = "http://app.example"


async def test_cors_for_listed_origins():
    async with running(cors_origins=(ORIGIN,)) as env:
        _, hdrs, _ = await http(env, "GET", POLL, headers=[("origin", ORIGIN)])
        assert header(hdrs, "access-control-allow-origin") == [ORIGIN]
        assert header(hdrs, "access-control-allow-credentials") == ["true"]
        assert header(hdrs, "vary") == ["Origin"]
        status, hdrs, _ = await http(env, "GET", f"{POLL}&sid=nope", headers=[("origin", ORIGIN)])
        assert status == 400 and header(hdrs, "access-control-allow-origin") == [ORIGIN]
        _, hdrs, _ = await http(env, "GET", POLL, headers=[("origin", "http://elsewhere.example")])
        assert header(hdrs, "access-control-allow-origin") == []
        status, hdrs, body = await http(env, "OPTIONS", POLL, headers=[
            ("origin", ORIGIN), ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type,authorization"),
        ])
        assert (status, body) == (204, b"")
        assert header(hdrs, "access-control-allow-origin") == [ORIGIN]
        assert header(hdrs, "access-control-allow-credentials") == ["true"]
        assert header(hdrs, "access-control-allow-methods") == ["GET,POST,OPTIONS"]
        assert header(hdrs, "access-control-allow-headers") == ["content-type,authorization"]
        assert header(hdrs, "vary") == ["Origin", "Access-Control-Request-Headers"]


async def test_cors_any_origin_and_none():
    async with running(cors_origins=("*",)) as env:
        _, hdrs, _ = await http(env, "GET", POLL, headers=[("origin", ORIGIN)])
        # Echoed with credentials: browsers refuse a literal * to withCredentials clients.
        assert header(hdrs, "access-control-allow-origin") == [ORIGIN]
        assert header(hdrs, "access-control-allow-credentials") == ["true"]
        status, hdrs, _ = await http(env, "OPTIONS", POLL, headers=[("origin", ORIGIN), ("access-control-request-method", "POST")])
        assert status == 204 and header(hdrs, "access-control-max-age") == ["600"]
    async with running() as env:
        _, hdrs, _ = await http(env, "GET", POLL, headers=[("origin", ORIGIN)])
        assert header(hdrs, "access-control-allow-origin") == []
        status, _, body = await http(env, "OPTIONS", POLL, headers=[("origin", ORIGIN)])
        assert (status, json.loads(body)) == (400, {"code": 2, "message": "Bad handshake method"})


async def polling_subscriber(env: Env, token: str) -> tuple[str, dict, str]:
    """A polling session joined to /ws and subscribed to dev1, which saw one event:
    (its Engine.IO sid, the CONNECT accept, the offset of that event)."""
    sid = (await handshake(env))["sid"]
    accepted = await joined(env, sid, {"token": token})
    await post(env, sid, '42/ws,0["subscribe",{"type":"device","id":"dev1"}]')
    assert (await get(env, sid)).startswith("43/ws,0")
    seen = env.publish(cpu=1.0)
    offset = (await get(env, sid)).rsplit('"', 2)[1]
    newest = list(env.hub.ring)[-1]
    assert offset == str(newest.id) and newest.event == seen
    return sid, accepted, offset


async def recovers(env: Env, token: str, accepted: dict, offset: str, missed: list) -> None:
    """A new polling session's CONNECT with the pid and offset gets the `missed` events, then
    the accept with the same sid and pid."""
    sid = (await handshake(env))["sid"]
    await post(env, sid, "40/ws," + json.dumps({"pid": accepted["pid"], "offset": offset, "token": token}))
    assert (await get(env, sid)).split(RS) == [
        *(event_text(env, event, int(offset) + n) for n, event in enumerate(missed, 1)),
        '40/ws,{"sid":"%s","pid":"%s"}' % (accepted["sid"], accepted["pid"]),
    ]


async def test_recovery_exchange():
    """socketio-protocol.md 8.4: missed events first, then the accept with the same sid and pid."""
    async with running(ping_interval=30.0) as env:
        token = env.token()
        sid, accepted, offset = await polling_subscriber(env, token)
        env.server.sessions[sid].close("dropped by the test")
        missed = [env.publish(cpu=2.0), env.publish(cpu=3.0)]
        await until(lambda: len(env.hub.ring) == 3)
        await recovers(env, token, accepted, offset, missed)


async def test_a_polling_client_that_falls_behind_loses_its_transport():
    async with running(polling_queue=2, ping_interval=30.0) as env:
        sid = (await handshake(env))["sid"]
        await joined(env, sid, {"token": env.token()})
        await post(env, sid, '42/ws,0["subscribe",{"type":"device","id":"dev1"}]')
        for cpu in (1.0, 2.0):  # the ack and one event fill the queue; the next overflows it
            env.publish(cpu)
        await until(lambda: sid not in env.server.sessions)
        assert not env.hub.sessions


@pytest.mark.parametrize("field", ["ping_interval", "ping_timeout", "max_payload", "upgrade_timeout",
                                   "connect_timeout", "polling_queue"])
def test_settings_must_be_positive(field):
    with pytest.raises(ValueError, match=field):
        WebSettings(**{field: 0})
