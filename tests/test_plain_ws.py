"""The plain WebSocket at /ws, end to end with a real client (trio-websocket) and real JWTs."""

import json
from datetime import datetime, timezone

import pytest
import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, open_websocket_url

from eyenet.auth.model import User
from eyenet.auth.tokens import TokenAuthority
from eyenet.bus import Bus
from eyenet.config import AuthSettings, PushSettings, WebSettings
from eyenet.events import AlertNew, DeviceMetrics, InterfaceMetrics
from eyenet.web.front import serve
from eyenet.web.http import Response
from eyenet.web.push.hub import Hub
from eyenet.web.push.plain_ws import PlainWsServer

T0 = datetime(2025, 1, 3, 7, 12, 55, tzinfo=timezone.utc)
VIEWER = User("u1", "u1", "viewer")
TAGS = {"r1": ("core",), "s1": ("access",)}


class OnlyWs:
    def __init__(self, plain):
        self.plain = plain

    async def http(self, request):
        return Response.json({"error": {"code": "NOT_FOUND", "message": request.path}}, status=404)

    def websocket(self, request):
        return self.plain.websocket(request)


async def start(tmp_path, nursery, device_tags, push):
    authority = TokenAuthority.from_settings(AuthSettings(secret_file=str(tmp_path / "jwt.secret")))
    hub = Hub(Bus(), authority, device_tags, push)
    await nursery.start(hub.run)
    web = WebSettings(host="127.0.0.1", port=0, ws_max_message=4096)
    [(host, port), *_] = await nursery.start(serve, OnlyWs(PlainWsServer(hub, web)), web)
    return f"ws://{host}:{port}/ws", hub, authority


@pytest.fixture
async def stack(tmp_path, nursery):
    """A running /ws server: (url, hub, authority)."""
    return await start(tmp_path, nursery, TAGS.get, PushSettings(auth_timeout=1.0, max_subscriptions=3))


def metrics(device="r1", cpu=45.2):
    return DeviceMetrics(device, T0, cpu=cpu, memory=78.5, bandwidth_in=1024, bandwidth_out=2048,
                         interfaces=[InterfaceMetrics(1, "Gi0/1", "up", 1024, 2048, 0, 0)])


async def recv(ws, kind=None):
    """The next message (of type `kind`), bounded."""
    with trio.fail_after(10):
        while True:
            msg = json.loads(await ws.get_message())
            if kind is None or msg["type"] == kind:
                return msg


async def publish_until(hub, ws, event, kind):
    """Publish `event` and read the next `kind` message (the hub task delivers it)."""
    hub.bus.publish(event)
    return await recv(ws, kind)


async def test_token_in_header_subscribe_ack_and_seed_shaped_events(stack):
    url, hub, authority = stack
    token = authority.issue(VIEWER).token
    async with open_websocket_url(url, extra_headers=[("Authorization", f"Bearer {token}")]) as ws:
        await ws.send_message(json.dumps({"type": "subscribe", "ref": 7, "data": {"type": "devices"}}))
        assert await recv(ws) == {"type": "ack", "ref": 7, "data": {"status": "subscribed", "channel": "devices"}}
        msg = await publish_until(hub, ws, metrics(), "device:metrics")
        assert set(msg) == {"type", "id", "data"} and isinstance(msg["id"], int)
        assert msg["data"] == {
            "deviceId": "r1", "metrics": {"cpu": 45.2, "memory": 78.5, "bandwidth": {"in": 1024, "out": 2048}},
            "timestamp": msg["data"]["timestamp"],
        }
        assert datetime.fromisoformat(msg["data"]["timestamp"]) == T0


async def test_events_waiting_on_the_bus_go_out_together_in_order(stack):
    url, hub, authority = stack
    async with open_websocket_url(f"{url}?token={authority.issue(VIEWER).token}") as ws:
        await ws.send_message(json.dumps({"type": "subscribe", "ref": 1, "data": {"type": "devices"}}))
        await recv(ws, "ack")
        for cpu in range(20):  # published in one turn: the hub routes them as one corked batch
            hub.bus.publish(metrics(cpu=float(cpu)))
        got = [await recv(ws, "device:metrics") for _ in range(20)]
        assert [m["data"]["metrics"]["cpu"] for m in got] == [float(c) for c in range(20)]
        assert [m["id"] for m in got] == sorted(m["id"] for m in got)


async def test_token_in_query_and_device_channel_carries_interfaces(stack):
    url, hub, authority = stack
    async with open_websocket_url(f"{url}?token={authority.issue(VIEWER).token}") as ws:
        await ws.send_message(json.dumps({"type": "subscribe", "ref": "a", "data": {"type": "device", "id": "r1"}}))
        assert (await recv(ws))["data"] == {"status": "subscribed", "channel": "device:r1"}
        msg = await publish_until(hub, ws, metrics(), "device:metrics")
        assert msg["data"]["interfaces"] == [
            {"ifIndex": 1, "name": "Gi0/1", "status": "up", "in": 1024, "out": 2048, "errorsIn": 0.0, "errorsOut": 0.0}
        ]


async def test_first_message_auth(stack):
    url, hub, authority = stack
    async with open_websocket_url(url) as ws:
        await ws.send_message(json.dumps({"type": "auth", "ref": 1, "data": {"token": authority.issue(VIEWER).token}}))
        assert await recv(ws) == {"type": "ack", "ref": 1, "data": {"status": "authenticated"}}
        await ws.send_message(json.dumps({"type": "subscribe", "ref": 2, "data": {"type": "alerts"}}))
        assert (await recv(ws))["data"]["channel"] == "alerts"
        msg = await publish_until(hub, ws, AlertNew("a1", "critical", "r1", "CPU usage exceeded threshold", T0, 95.5, 90), "alert:new")
        assert msg["data"]["metrics"] == {"value": 95.5, "threshold": 90}


async def closing_error(ws):
    """The error event the server sends before it closes, and the close code."""
    error = await recv(ws, "error")
    with trio.fail_after(10), pytest.raises(ConnectionClosed) as closed:
        while True:
            await ws.get_message()
    return error["data"], closed.value.reason.code


@pytest.mark.parametrize("how", ["none", "garbage", "expired", "not-auth-first"])
async def test_refused_tokens_get_an_error_then_close_1008(stack, how):
    url, hub, authority = stack
    async with open_websocket_url(url if how in ("none", "not-auth-first") else
                                  f"{url}?token=" + ("x.y.z" if how == "garbage" else
                                                     authority.issue(VIEWER, now=datetime(2020, 1, 1, tzinfo=timezone.utc)).token)) as ws:
        if how == "not-auth-first":
            await ws.send_message(json.dumps({"type": "subscribe", "data": {"type": "devices"}}))
        data, code = await closing_error(ws)
    assert data["code"] == {"none": "AUTH_REQUIRED", "not-auth-first": "AUTH_REQUIRED", "garbage": "AUTH_INVALID",
                            "expired": "TOKEN_EXPIRED"}[how]
    assert code == 1008 and set(data) >= {"code", "message", "timestamp"}


async def test_bad_messages_get_invalid_message_and_the_session_lives_on(stack):
    url, hub, authority = stack
    async with open_websocket_url(f"{url}?token={authority.issue(VIEWER).token}") as ws:
        for bad in ("{not json", "[1, 2]", json.dumps({"type": "explode"}), b"\x00binary"):
            await ws.send_message(bad)
            assert (await recv(ws, "error"))["data"]["code"] == "INVALID_MESSAGE"
        await ws.send_message(json.dumps({"type": "subscribe", "ref": 1, "data": {"type": "weather"}}))
        assert (await recv(ws, "error"))["data"]["code"] == "UNKNOWN_CHANNEL"
        assert (await recv(ws, "ack"))["data"]["status"] == "error"
        await ws.send_message(json.dumps({"type": "subscribe", "ref": 2, "data": {"type": "device", "id": "nope"}}))
        assert (await recv(ws, "error"))["data"]["code"] == "NOT_FOUND"
        assert (await recv(ws, "ack"))["ref"] == 2
        await ws.send_message(json.dumps({"type": "subscribe", "ref": 3, "data": {"type": "devices"}}))
        assert (await recv(ws, "ack"))["data"] == {"status": "subscribed", "channel": "devices"}


async def test_an_oversized_message_gets_an_error_then_close_1009(stack):
    url, hub, authority = stack
    async with open_websocket_url(f"{url}?token={authority.issue(VIEWER).token}") as ws:
        await ws.send_message(json.dumps({"type": "subscribe", "data": {"type": "devices", "pad": "x" * 5000}}))
        data, code = await closing_error(ws)
    assert data["code"] == "INVALID_MESSAGE" and data["details"] == {"limit": 4096} and code == 1009


async def test_subscription_limit_disconnects(stack):
    url, hub, authority = stack  # the fixture allows 3 subscriptions
    async with open_websocket_url(f"{url}?token={authority.issue(VIEWER).token}") as ws:
        for kind in ("devices", "alerts", "topology"):
            await ws.send_message(json.dumps({"type": "subscribe", "data": {"type": kind}}))
            assert (await recv(ws, "ack"))["data"]["status"] == "subscribed"
        await ws.send_message(json.dumps({"type": "subscribe", "data": {"type": "ml"}}))
        data, code = await closing_error(ws)
    assert data["code"] == "SUBSCRIPTION_LIMIT" and data["details"] == {"limit": 3} and code == 1008


async def test_the_101st_subscription_at_the_default_limit_disconnects(tmp_path, nursery):
    url, hub, authority = await start(tmp_path, nursery, lambda device: ("lab",), PushSettings())  # any device id exists
    async with open_websocket_url(f"{url}?token={authority.issue(VIEWER).token}") as ws:
        for n in range(100):
            await ws.send_message(json.dumps({"type": "subscribe", "ref": n, "data": {"type": "device", "id": f"d{n}"}}))
        for n in range(100):
            assert (await recv(ws, "ack")) == {"type": "ack", "ref": n, "data": {"status": "subscribed", "channel": f"device:d{n}"}}
        await ws.send_message(json.dumps({"type": "subscribe", "ref": 100, "data": {"type": "device", "id": "d100"}}))
        data, code = await closing_error(ws)
    assert data["code"] == "SUBSCRIPTION_LIMIT" and data["details"] == {"limit": 100} and code == 1008


async def test_resume_with_last_event_id_replays_what_was_missed(stack):
    url, hub, authority = stack
    token = authority.issue(VIEWER).token
    async with open_websocket_url(f"{url}?token={token}") as ws:
        await ws.send_message(json.dumps({"type": "subscribe", "data": {"type": "devices"}}))
        await recv(ws, "ack")
        seen = await publish_until(hub, ws, metrics(cpu=1.0), "device:metrics")
    missed = [hub.publish(metrics(cpu=float(n))) for n in (2, 3)]
    async with open_websocket_url(f"{url}?token={token}&lastEventId={seen['id']}") as ws:
        await ws.send_message(json.dumps({"type": "subscribe", "data": {"type": "devices"}}))
        await recv(ws, "ack")
        got = [await recv(ws, "device:metrics") for _ in missed]
        assert [m["id"] for m in got] == [w.id for w in missed]
        await ws.send_message(json.dumps({"type": "resume", "ref": 9, "data": {"lastEventId": seen["id"]}}))
        assert (await recv(ws, "ack"))["data"] == {"status": "resumed", "replayed": 2, "complete": True}


async def test_token_expiry_disconnects_with_token_expired(stack):
    url, hub, authority = stack
    now = datetime.now(timezone.utc)
    token = authority.issue(VIEWER, ttl=2, now=now).token
    async with open_websocket_url(f"{url}?token={token}") as ws:
        data, code = await closing_error(ws)
    assert data["code"] == "TOKEN_EXPIRED" and code == 1008


async def test_a_client_that_never_reads_does_not_delay_the_others(stack):
    url, hub, authority = stack
    token = authority.issue(VIEWER).token
    host, port = url[len("ws://"):-len("/ws")].split(":")
    # A raw client that upgrades, subscribes, then never reads (trio-websocket keeps reading into its queue).
    stuck = await trio.open_tcp_stream(host, int(port))
    subscribe = json.dumps({"type": "subscribe", "data": {"type": "device", "id": "r1"}}).encode()
    await stuck.send_all(
        f"GET /ws?token={token} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        + bytes([0x81, 0x80 | len(subscribe), 0, 0, 0, 0]) + subscribe  # masked with a zero key
    )
    async with stuck, open_websocket_url(f"{url}?token={token}") as live:
        await live.send_message(subscribe.decode())
        await recv(live, "ack")
        with trio.fail_after(10):
            while sum("device:r1" in s.subscriptions for s in hub.sessions) < 2:
                await trio.sleep(0.01)
        # Its kernel buffers fill, then its backlog overflows and it is dropped; the hub never waits on it.
        # ~90 kB a message, 250 of them: more than loopback buffers hold.
        big = DeviceMetrics("r1", T0, interfaces=[InterfaceMetrics(n, f"Ethernet{n}", "up", n, n) for n in range(1000)])
        for _ in range(250):
            hub.publish(big)
            assert (await recv(live, "device:metrics"))["data"]["deviceId"] == "r1"
        assert len(hub.sessions) == 1


async def test_upgrade_with_a_malformed_last_event_id_is_refused(stack):
    url, hub, authority = stack
    with pytest.raises(ConnectionRejected) as exc:
        async with open_websocket_url(f"{url}?lastEventId=abc"):
            pass
    assert exc.value.status_code == 400

