"""Unit tests of the push session core (hub, sessions, limits) with a recording sink.

The transports are tested end to end with real clients elsewhere; here a sink
that records what it is given checks routing, limits, coalescing, replay,
filtering and expiry precisely.
"""

import gc
import json
import time
import weakref
from datetime import datetime, timezone

import attrs
import pytest
import trio

from eyenet.bus import Bus
from eyenet.config import PushSettings
from eyenet.events import AlertNew, AlertUpdate, DeviceMetrics, DeviceStatus, InterfaceMetrics, TopologyDevice, TopologyUpdate
from eyenet.web.push.hub import Hub
from eyenet.web.push.limits import SlidingWindow, TokenBucket
from eyenet.web.push.sessions import ClientError, channel_for

T0 = datetime(2025, 1, 3, 7, 12, 55, tzinfo=timezone.utc)
TAGS = {"r1": ("core",), "s1": ("access",), "s2": ("access", "lab")}


class RecordingSink:
    def __init__(self, accept=True):
        self.sent = []  # (type, envelope dict)
        self.disconnected = False
        self.accept = accept

    def send_event(self, wire, detailed):
        self.sent.append((wire.type, json.loads(wire.envelope(detailed))))
        return self.accept

    def send_private(self, event_type, event_id, envelope):
        self.sent.append((event_type, json.loads(envelope)))
        return self.accept

    def disconnect(self):
        self.disconnected = True

    def types(self):
        return [t for t, _ in self.sent]

    def errors(self):
        return [env["data"]["code"] for t, env in self.sent if t == "error"]


@attrs.frozen
class Claims:
    user_id: str
    role: str
    scope: tuple
    expires_at: datetime
    token_id: str = "jti"
    generation: int = 0


class StubAuthority:
    """Tokens are 'user:role:scope1,scope2:exp' (unit tests only; JWTs are tested in test_tokens)."""

    def verify(self, token):
        from eyenet.auth.tokens import TokenError

        try:
            user, role, scope, exp = token.split(":")
        except ValueError:
            raise TokenError("AUTH_INVALID", "malformed token") from None
        expires = datetime.fromtimestamp(float(exp), timezone.utc)
        if expires.timestamp() <= time.time():
            raise TokenError("TOKEN_EXPIRED", "token expired")
        return Claims(user, role, tuple(s for s in scope.split(",") if s), expires)

    def event_key(self, claims):
        return bytes(32)


def token(user="u1", role="viewer", scope="", ttl=3600):
    return f"{user}:{role}:{scope}:{time.time() + ttl}"


def metrics(device="r1", cpu=10.0, interfaces=()):
    return DeviceMetrics(device, T0, cpu=cpu, memory=20.0, bandwidth_in=1.0, bandwidth_out=2.0, interfaces=interfaces)


def make_hub(**push):
    return Hub(Bus(), StubAuthority(), TAGS.get, PushSettings(**push))


def connect(hub, tok=None, sink=None):
    sink = sink or RecordingSink()
    session = hub.open_session(hub.authenticate(tok or token()), sink)
    return session, sink


# -- pure pieces ---------------------------------------------------------------------------------


def test_token_bucket_bursts_to_capacity_then_refills_at_the_rate():
    b = TokenBucket(1000, updated=0.0)
    assert sum(b.take(0.0) for _ in range(1001)) == 1000
    assert not b.take(0.0)
    assert b.take(0.06)  # 1000 a minute: one token every 60 ms
    assert b.ready_at(0.06) == pytest.approx(0.12)
    for _ in range(5000):
        b.force(0.06)
    assert b.tokens == -1000  # debt bounded by one bucket


def test_sliding_window_refuses_the_1001st_event_in_any_minute():
    w = SlidingWindow(1000)
    assert all(w.take(n * 0.05) for n in range(1000))  # 1000 events over 50 s
    assert not w.take(55.0)  # the 1001st within the minute
    assert not w.take(59.9)
    assert w.take(60.0)  # the first second's events have left the window
    assert sum(w.take(61.0) for _ in range(50)) == 39  # 20 more left at 61 s: 961 counted, room for 39
    assert w.take(200.0) and w.total == 1  # a long quiet spell clears everything


@pytest.mark.parametrize("data, channel", [
    ({"type": "device", "id": "r1"}, "device:r1"),
    ({"type": "devices"}, "devices"),
    ({"type": "alerts"}, "alerts"),
    ({"type": "alerts", "id": "critical"}, "alerts:critical"),
    ({"type": "topology"}, "topology"),
    ({"type": "ml"}, "ml"),
])
def test_channel_names_follow_events_md(data, channel):
    assert channel_for(data) == channel


@pytest.mark.parametrize("data, code", [
    ({"type": "nope"}, "UNKNOWN_CHANNEL"),
    ({"type": "alerts", "id": "bogus"}, "UNKNOWN_CHANNEL"),
    ({"type": "device"}, "INVALID_MESSAGE"),
    ("devices", "INVALID_MESSAGE"),
    (None, "INVALID_MESSAGE"),
])
def test_bad_channels_name_the_problem(data, code):
    with pytest.raises(ClientError) as exc:
        channel_for(data)
    assert exc.value.code == code


# -- sessions --------------------------------------------------------------------------------------


async def test_subscribe_ack_is_exactly_the_seeds():
    hub = make_hub()
    session, sink = connect(hub)
    assert session.handle("subscribe", {"type": "device", "id": "r1"}, 0.0) == {"status": "subscribed", "channel": "device:r1"}
    assert session.handle("unsubscribe", {"type": "device", "id": "r1"}, 0.0) == {"status": "unsubscribed", "channel": "device:r1"}
    assert sink.sent == []


async def test_detailed_variant_once_for_a_device_subscriber_plain_for_the_firehose():
    hub = make_hub()
    both, sink_both = connect(hub)
    fleet, sink_fleet = connect(hub)
    both.handle("subscribe", {"type": "devices"}, 0.0)
    both.handle("subscribe", {"type": "device", "id": "r1"}, 0.0)
    fleet.handle("subscribe", {"type": "devices"}, 0.0)
    itf = InterfaceMetrics(1, "Gi0/1", "up", 1.0, 2.0)
    wire = hub.publish(metrics(interfaces=[itf]))
    assert [env["data"].get("interfaces") for _, env in sink_both.sent] == [[itf.data()]]
    assert [("interfaces" in env["data"]) for _, env in sink_fleet.sent] == [False]
    assert sink_fleet.sent[0][1]["id"] == wire.id


async def test_event_ids_strictly_increase_and_errors_take_ids_too():
    hub = make_hub()
    session, sink = connect(hub)
    session.handle("subscribe", {"type": "devices"}, 0.0)
    hub.publish(metrics())
    session.handle("subscribe", {"type": "nope"}, 0.0)
    hub.publish(metrics())
    ids = [env["id"] for _, env in sink.sent]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert sink.types() == ["device:metrics", "error", "device:metrics"]


async def test_unknown_device_and_out_of_scope_device_answer_errors_and_change_nothing():
    hub = make_hub()
    session, sink = connect(hub, token(scope="access"))
    assert session.handle("subscribe", {"type": "device", "id": "zz"}, 0.0)["code"] == "NOT_FOUND"
    assert session.handle("subscribe", {"type": "device", "id": "r1"}, 0.0)["code"] == "FORBIDDEN"
    assert session.handle("subscribe", {"type": "bogus"}, 0.0)["code"] == "UNKNOWN_CHANNEL"
    assert session.subscriptions == {}
    assert sink.errors() == ["NOT_FOUND", "FORBIDDEN", "UNKNOWN_CHANNEL"]
    assert not sink.disconnected


async def test_scope_filters_the_firehose_and_topology():
    hub = make_hub()
    session, sink = connect(hub, token(scope="access"))
    session.handle("subscribe", {"type": "devices"}, 0.0)
    session.handle("subscribe", {"type": "topology"}, 0.0)
    hub.publish(metrics("r1"))
    hub.publish(metrics("s1"))
    hub.publish(TopologyUpdate("link_change", [
        TopologyDevice("r1", "router", ["s1"]), TopologyDevice("s1", "switch", ["r1", "s2"]),
        TopologyDevice("s2", "switch", ["s1"]),
    ], T0))
    assert [env["data"].get("deviceId") for t, env in sink.sent if t == "device:metrics"] == ["s1"]
    [(_, topo)] = [s for s in sink.sent if s[0] == "topology:update"]
    assert topo["data"]["devices"] == [
        {"id": "s1", "type": "switch", "connections": ["s2"]}, {"id": "s2", "type": "switch", "connections": ["s1"]},
    ]


async def test_event_roles_from_the_push_section_hold_events_back_from_lesser_roles():
    hub = make_hub(event_roles={"device:metrics": "operator"})
    sinks = {}
    for role in ("viewer", "operator", "admin"):
        session, sinks[role] = connect(hub, token(user=role, role=role))
        session.handle("subscribe", {"type": "devices"}, 0.0)
    hub.publish(metrics("r1"))
    hub.publish(DeviceStatus("r1", "down", T0, reason="timeout"))
    assert {role: sink.types() for role, sink in sinks.items()} == {
        "viewer": ["device:status"],
        "operator": ["device:metrics", "device:status"],
        "admin": ["device:metrics", "device:status"],
    }


async def test_alerts_channels_and_severity_filter():
    hub = make_hub()
    crit, sink_crit = connect(hub)
    crit.handle("subscribe", {"type": "alerts", "id": "critical"}, 0.0)
    hub.publish(AlertNew("a1", "warning", "r1", "CPU usage exceeded threshold", T0, 95.5, 90))
    hub.publish(AlertNew("a2", "critical", "r1", "Device down", T0))
    hub.publish(AlertUpdate("a2", "acknowledged", "u1", T0, device_id="r1", severity="critical"))
    assert [env["data"]["alertId"] for _, env in sink_crit.sent] == ["a2", "a2"]


async def test_the_101st_subscription_is_refused_and_disconnects():
    # Every device id exists here, so 101 distinct channels are easy to make.
    hub = Hub(Bus(), StubAuthority(), lambda d: ("t",), PushSettings())
    session, sink = connect(hub)
    for n in range(100):
        assert session.handle("subscribe", {"type": "device", "id": f"d{n}"}, 0.0)["status"] == "subscribed"
    assert not sink.disconnected
    ack = session.handle("subscribe", {"type": "device", "id": "d100"}, 0.0)
    assert ack["code"] == "SUBSCRIPTION_LIMIT"
    assert sink.errors() == ["SUBSCRIPTION_LIMIT"] and sink.disconnected and session.closed
    assert session not in hub.sessions


async def test_the_1001st_client_event_in_a_minute_is_rate_limited_and_disconnects():
    hub = make_hub()
    session, sink = connect(hub)
    for _ in range(1000):
        session.handle("subscribe", {"type": "devices"}, 0.0)
    assert not sink.disconnected and sink.errors() == []
    assert session.handle("subscribe", {"type": "devices"}, 1.0) is None
    assert sink.errors() == ["RATE_LIMITED"] and sink.disconnected
    assert sink.sent[-1][1]["data"]["details"] == {"limit": 1000, "per": "minute"}


async def test_unknown_event_and_bad_data_are_errors_not_crashes():
    hub = make_hub()
    session, sink = connect(hub)
    assert session.handle("explode", {}, 0.0)["code"] == "INVALID_MESSAGE"
    assert session.handle(["not", "a", "name"], None, 0.0)["code"] == "INVALID_MESSAGE"
    assert session.handle("resume", {"lastEventId": "x"}, 0.0)["code"] == "INVALID_MESSAGE"
    assert session.handle("auth:refresh", {}, 0.0)["code"] == "INVALID_MESSAGE"
    assert not sink.disconnected


async def test_outbound_budget_coalesces_metrics_latest_per_device_and_never_holds_alerts():
    hub = make_hub(events_per_minute=3)
    session, sink = connect(hub)
    session.handle("subscribe", {"type": "device", "id": "r1"}, 0.0)
    session.handle("subscribe", {"type": "device", "id": "s1"}, 0.0)
    for cpu in range(1, 6):
        hub.publish(metrics("r1", cpu=float(cpu)))
        hub.publish(metrics("s1", cpu=float(cpu)))
    hub.publish(AlertNew("a1", "critical", "r1", "Device down", T0))
    sent = [(t, env["data"].get("deviceId"), env["data"].get("metrics", {}).get("cpu")) for t, env in sink.sent]
    assert sent == [
        ("device:metrics", "r1", 1.0), ("device:metrics", "s1", 1.0), ("device:metrics", "r1", 2.0),
        ("alert:new", "r1", None),
    ]
    assert set(session.pending) == {"r1", "s1"}
    assert hub.health().details["heldBack"] == 2
    # 3 a minute: a token every 20 s (the alert took one on credit).
    session.flush(trio.current_time() + 40.0)
    assert [(env["data"]["deviceId"], env["data"]["metrics"]["cpu"]) for _, env in sink.sent[4:]] == [("s1", 5.0)]
    session.handle("unsubscribe", {"type": "device", "id": "r1"}, 0.0)
    session.handle("subscribe", {"type": "devices"}, 0.0)
    session.flush(trio.current_time() + 60.0)
    assert [(env["data"]["deviceId"], env["data"]["metrics"]["cpu"]) for _, env in sink.sent[5:] if env["type"] == "device:metrics"] == [
        ("r1", 5.0)]
    # A held metric goes out in the variant of the channels the session has when it goes: s1's
    # with its interfaces (device:s1), r1's without (only `devices` brings r1 now).
    held = [env["data"] for _, env in sink.sent[4:] if env["type"] == "device:metrics"]
    assert ["interfaces" in data for data in held] == [True, False]
    assert session.pending == {}


async def test_a_sink_that_cannot_keep_up_ends_only_its_session():
    hub = make_hub()
    slow, slow_sink = connect(hub, sink=RecordingSink(accept=False))
    fast, fast_sink = connect(hub)
    for s in (slow, fast):
        s.handle("subscribe", {"type": "devices"}, 0.0)
    for _ in range(3):
        hub.publish(metrics())
    assert slow.closed and len(slow_sink.sent) == 1
    assert len(fast_sink.sent) == 3


async def test_resume_replays_missed_events_on_current_channels_only():
    hub = make_hub()
    first = [hub.publish(metrics("r1", cpu=1.0)), hub.publish(metrics("s1", cpu=1.0))]
    later = [hub.publish(metrics("r1", cpu=2.0)), hub.publish(AlertNew("a1", "info", "s1", "Rebooted", T0))]
    session, sink = connect(hub)
    session.handle("subscribe", {"type": "device", "id": "r1"}, 0.0)
    assert session.handle("resume", {"lastEventId": first[-1].id}, 0.0) == {"status": "resumed", "replayed": 1, "complete": True}
    assert [env["id"] for _, env in sink.sent] == [later[0].id]


async def test_last_event_id_replays_on_each_later_subscribe_without_duplicates():
    hub = make_hub()
    start = hub.publish(metrics("s2"))
    missed = [hub.publish(metrics("r1")), hub.publish(metrics("s1")), hub.publish(AlertNew("a1", "info", "r1", "Rebooted", T0))]
    session, sink = connect(hub)
    session.resume_after = start.id
    session.handle("subscribe", {"type": "device", "id": "r1"}, 0.0)
    session.handle("subscribe", {"type": "devices"}, 0.0)
    session.handle("subscribe", {"type": "alerts"}, 0.0)
    assert [env["id"] for _, env in sink.sent] == [missed[0].id, missed[2].id, missed[1].id]


async def test_replay_reports_an_incomplete_history_when_the_ring_lost_events():
    hub = make_hub(replay_events=2)
    old = hub.publish(metrics())
    for _ in range(3):
        hub.publish(metrics())
    session, _ = connect(hub)
    session.handle("subscribe", {"type": "devices"}, 0.0)
    assert session.handle("resume", {"lastEventId": old.id}, 0.0) == {"status": "resumed", "replayed": 2, "complete": False}


async def test_health_says_how_far_back_a_client_can_resume(autojump_clock):
    hub = make_hub(replay_events=2)
    assert hub.health().details["replaySpan"] == 0.0
    hub.publish(metrics())
    await trio.sleep(30)
    hub.publish(metrics())
    await trio.sleep(15)
    assert hub.health().details["replaySpan"] == 45.0
    hub.publish(metrics())  # the first event leaves the ring
    assert hub.health().details["replaySpan"] == 15.0


async def test_recover_restores_sid_subscriptions_and_missed_events():
    hub = make_hub()
    session, sink = connect(hub)
    session.pid = "pid-1"
    session.handle("subscribe", {"type": "device", "id": "r1"}, 0.0)
    seen = hub.publish(metrics("r1"))
    session.close(recoverable=True)
    missed = hub.publish(metrics("r1", cpu=50.0))
    sink2 = RecordingSink()
    assert hub.recover("pid-1", str(seen.id), hub.authenticate(token(user="someone-else")), sink2) is None
    again = hub.recover("pid-1", str(seen.id), hub.authenticate(token()), sink2)
    assert again.sid == session.sid and again.pid == "pid-1" and set(again.subscriptions) == {"device:r1"}
    assert [env["id"] for _, env in sink2.sent] == [missed.id]
    assert hub.recover("pid-1", str(seen.id), hub.authenticate(token()), RecordingSink()) is None  # used up


async def test_an_open_session_is_found_by_its_pid_for_its_user_alone():
    hub = make_hub()
    session = hub.open_session(hub.authenticate(token()), RecordingSink(), recoverable=True)
    assert hub.live(session.pid, hub.authenticate(token(role="admin"))) is session
    assert hub.live(session.pid, hub.authenticate(token(user="someone-else"))) is None
    assert hub.live(session.pid[:-1], hub.authenticate(token())) is None
    assert hub.live(None, hub.authenticate(token())) is None
    session.close(recoverable=True)
    assert hub.live(session.pid, hub.authenticate(token())) is None
    again = hub.recover(session.pid, "0", hub.authenticate(token()), RecordingSink())
    assert hub.live(session.pid, hub.authenticate(token())) is again


async def test_a_namespace_disconnect_is_not_recoverable():
    hub = make_hub()
    session, _ = connect(hub)
    session.pid = "pid-2"
    session.close()
    assert hub.recover("pid-2", "0", hub.authenticate(token()), RecordingSink()) is None


async def test_authentication_failures_carry_the_contract_codes():
    hub = make_hub()
    for tok, code in ((None, "AUTH_REQUIRED"), ("", "AUTH_REQUIRED"), (42, "AUTH_INVALID"), ("garbage", "AUTH_INVALID"),
                      (token(ttl=-5), "TOKEN_EXPIRED")):
        with pytest.raises(ClientError) as exc:
            hub.authenticate(tok)
        assert exc.value.code == code


async def test_token_expiry_disconnects_and_refresh_extends():
    hub = make_hub()
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run)
        short, short_sink = connect(hub, token(ttl=0.3))
        kept, kept_sink = connect(hub, token(ttl=0.3))
        assert kept.handle("auth:refresh", {"token": token(ttl=60)}, 0.0)["status"] == "refreshed"
        assert kept.handle("auth:refresh", {"token": token(user="other")}, 0.0)["code"] == "FORBIDDEN"
        with trio.fail_after(10):
            while not short.closed:
                await trio.sleep(0.05)
        assert short_sink.errors() == ["TOKEN_EXPIRED"] and short_sink.disconnected
        assert not kept.closed
        nursery.cancel_scope.cancel()


async def test_closed_sessions_are_freed_before_their_tokens_expire():
    # A client that reconnects in a loop with a token good for an hour: its closed sessions
    # (transport, buffers) must not wait for the expiry watch.
    # Nor while many others stay open (the heap then holds many entries).
    hub = make_hub()
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run)
        short, short_sink = connect(hub, token(ttl=0.3))
        staying = [connect(hub, token(ttl=3600))[0] for _ in range(300)]
        gone = []
        for _ in range(1000):
            session, _ = connect(hub, token(ttl=3600))
            gone.append(weakref.ref(session))
            session.close()
        del session
        gc.collect()
        assert sum(ref() is not None for ref in gone) == 0
        assert len(hub._expiry) <= 2 * (len(staying) + 1) + 64
        with trio.fail_after(10):  # the open session's expiry is still watched
            while not short.closed:
                await trio.sleep(0.05)
        assert short_sink.errors() == ["TOKEN_EXPIRED"]
        nursery.cancel_scope.cancel()


async def test_bus_events_reach_sessions_through_the_hub_task():
    hub = make_hub()
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run)
        session, sink = connect(hub)
        session.handle("subscribe", {"type": "devices"}, 0.0)
        hub.bus.publish(DeviceStatus("r1", "down", T0, reason="timeout"))
        with trio.fail_after(10):
            while not sink.sent:
                await trio.sleep(0.01)
        assert sink.sent[0][1]["data"] == {
            "deviceId": "r1", "status": "down", "timestamp": sink.sent[0][1]["data"]["timestamp"],
            "metrics": {"uptime": None, "lastSeen": None}, "reason": "timeout",
        }
        nursery.cancel_scope.cancel()


async def test_sensitive_payloads_are_encrypted_per_session():
    from jwcrypto import jwe, jwk

    hub = Hub(Bus(), StubAuthority(), TAGS.get, PushSettings(sensitive_devices={"r1"}))
    session, sink = connect(hub)
    session.handle("subscribe", {"type": "devices"}, 0.0)
    hub.publish(metrics("r1", cpu=42.0))
    hub.publish(metrics("s1"))
    [(_, secret), (_, clear)] = sink.sent
    assert set(secret) == {"type", "id", "enc"} and "data" in clear
    token_ = jwe.JWE()
    token_.deserialize(secret["enc"], key=jwk.JWK(kty="oct", k="A" * 43))  # base64url of 32 zero bytes
    assert json.loads(token_.payload)["metrics"]["cpu"] == 42.0


async def test_a_failure_inside_the_server_is_internal_and_the_session_lives_on():
    def broken_inventory(device_id):
        raise RuntimeError("inventory unavailable")

    hub = Hub(Bus(), StubAuthority(), broken_inventory, PushSettings())
    session, sink = connect(hub)
    assert session.handle("subscribe", {"type": "device", "id": "r1"}, 0.0)["code"] == "INTERNAL"
    assert sink.errors() == ["INTERNAL"] and not sink.disconnected
    assert session.handle("subscribe", {"type": "devices"}, 0.0)["status"] == "subscribed"

