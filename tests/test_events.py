"""Event wire forms against the seed's examples.

tests/data/seed-events.json holds the server -> client JSON examples of the event
contract dashboards were first written against, by event type ("ack" is the subscribe
acknowledgement), exactly as that document gave them, value sets as "a|b|c" and all.
docs/events.md describes the contract; tests/test_events_doc.py checks it names what
the code defines.
"""

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eyenet import events as ev
from eyenet.events import (
    AlertNew,
    AlertUpdate,
    DeviceMetrics,
    DeviceStatus,
    Error,
    InterfaceMetrics,
    MlPrediction,
    Prediction,
    TopologyDevice,
    TopologyLink,
    TopologyUpdate,
    Trap,
)

SEED_EVENTS = Path(__file__).resolve().parent / "data" / "seed-events.json"
PLUS8 = timezone(timedelta(hours=8))
T = datetime(2025, 1, 3, 7, 12, 55, tzinfo=PLUS8)
SEED_TS = "2025-01-03T07:12:55+08:00"
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")

# The only additions inside data, per event type (docs/events.md, "Additions").
ALLOWED_ADDITIONS = {
    "device:status": {"reason"},
    "device:metrics": {"interfaces"},
    "alert:new": {"ruleId", "metric"},
    "alert:update": set(),
    "topology:update": {"linksAdded", "linksRemoved"},
    "ml:prediction": {"deviceId", "metric", "window"},
    "error": {"details"},
}
# Event types that came after the seed: the seed has no example of them, each field is always there.
AFTER_SEED = {"trap"}
# Measured values that may be null when unknown (a device never seen, no CPU OID, no rate yet).
NULLABLE = {
    "device:status.metrics.uptime", "device:status.metrics.lastSeen",
    "device:metrics.metrics.cpu", "device:metrics.metrics.memory",
    "device:metrics.metrics.bandwidth.in", "device:metrics.metrics.bandwidth.out",
    "alert:new.metrics.value", "alert:new.metrics.threshold",
}
INTERFACE_KEYS = {"ifIndex", "name", "status", "in", "out", "errorsIn", "errorsOut"}


SEED_EXAMPLES: dict[str, dict] = json.loads(SEED_EVENTS.read_text())


def value_set(example_value: str) -> tuple[str, ...]:
    return tuple(example_value.split("|"))


def test_seed_parsed():
    assert set(SEED_EXAMPLES) == set(ALLOWED_ADDITIONS) | {"ack"}
    assert SEED_EXAMPLES["ack"] == {"status": "subscribed", "channel": "device:device_id"}


def test_value_sets_are_the_seeds():
    s = SEED_EXAMPLES
    assert ev.DEVICE_STATUSES == value_set(s["device:status"]["data"]["status"])
    assert ev.SEVERITIES == value_set(s["alert:new"]["data"]["severity"])
    assert ev.ALERT_UPDATE_STATUSES == value_set(s["alert:update"]["data"]["status"])
    assert ev.CHANGE_TYPES == value_set(s["topology:update"]["data"]["changeType"])
    assert ev.DEVICE_TYPES == value_set(s["topology:update"]["data"]["devices"][0]["type"])
    assert ev.ML_STATUSES == value_set(s["ml:prediction"]["data"]["status"])


# -- the seed's examples, rebuilt with our classes ------------------------------------------


def examples(value_index: int = 0):
    """Events carrying the seed's example values (the value_index-th of each value set)."""
    pick = lambda values: values[value_index % len(values)]  # noqa: E731
    return [
        DeviceStatus("device_id", pick(ev.DEVICE_STATUSES), T, uptime=1234567, last_seen=T),
        DeviceMetrics("device_id", T, cpu=45.2, memory=78.5, bandwidth_in=1024, bandwidth_out=2048),
        AlertNew("alert_id", pick(ev.SEVERITIES), "device_id", "CPU usage exceeded threshold", T, value=95.5, threshold=90),
        AlertUpdate("alert_id", pick(ev.ALERT_UPDATE_STATUSES), "user_id", T),
        TopologyUpdate(pick(ev.CHANGE_TYPES),
                       [TopologyDevice("device_id", pick(ev.DEVICE_TYPES), ["device_id_1", "device_id_2"])], T),
        MlPrediction("job_id", pick(ev.ML_STATUSES), [Prediction("anomaly_type", 0.95)], T),
        Error("INTERNAL", "Error description", T),
    ]


def expected_from_seed(event_type: str, value_index: int) -> dict:
    """The seed's example with each 'a|b|c' placeholder replaced by its value_index-th value."""
    def pick(node):
        if isinstance(node, dict):
            return {k: pick(v) for k, v in node.items()}
        if isinstance(node, list):
            return [pick(v) for v in node]
        if isinstance(node, str) and "|" in node:
            values = node.split("|")
            return values[value_index % len(values)]
        return node
    out = pick(SEED_EXAMPLES[event_type])
    if event_type == "error":
        out["data"]["code"] = "INTERNAL"  # the seed's "ERROR_CODE" is a placeholder
    return out


@pytest.mark.parametrize("value_index", [0, 1, 2])
def test_wire_equals_the_seed_example(value_index):
    for event in examples(value_index):
        got = event.wire(7, tz=PLUS8)
        want = expected_from_seed(event.TYPE, value_index)
        assert got == {**want, "id": 7}, event.TYPE
        assert list(got) == ["type", "id", "data"]
        # Same JSON types too (45.2 a float, 1234567 an int, ...), through real JSON.
        assert json.loads(ev.encode(event, 7, tz=PLUS8)) == {**want, "id": 7}


def same_shape(ours, seed, path, allowed_top=frozenset()):
    """Same keys at every level (plus `allowed_top` at this level), same JSON kinds."""
    if ours is None:
        assert path in NULLABLE, f"{path}: null"
    elif isinstance(seed, dict):
        assert isinstance(ours, dict), path
        extra = set(ours) - set(seed)
        assert set(seed) <= set(ours), f"{path}: missing {set(seed) - set(ours)}"
        assert extra <= set(allowed_top), f"{path}: not allowed {extra}"
        for k in seed:
            same_shape(ours[k], seed[k], f"{path}.{k}")
    elif isinstance(seed, list):
        assert isinstance(ours, list) and ours, path
        for item in ours:
            same_shape(item, seed[0], f"{path}[]")
    elif isinstance(seed, str):
        assert isinstance(ours, str), path
        if TS_RE.match(seed):
            assert TS_RE.match(ours), f"{path}: {ours!r}"
    elif isinstance(seed, (int, float)):
        assert isinstance(ours, (int, float)) and not isinstance(ours, bool), path


def full_examples():
    """Events with every allowed addition set and unusual values."""
    later = T + timedelta(minutes=5)
    iface = InterfaceMetrics(1, "Gi0/1", "up", 1e9, 2.5e8, 0.0, 1 / 60)
    return [
        DeviceStatus("core-1", "degraded", later, uptime=86400, last_seen=later, reason="interfaces down: Gi0/2"),
        DeviceMetrics("core-1", later, cpu=3.14159, memory=99.99, bandwidth_in=1.5e9, bandwidth_out=0.4,
                      interfaces=[iface, attrs.evolve(iface, if_index=2, name="Gi0/2", status="down", bps_in=None)]),
        AlertNew("a1", "critical", "core-1", "CPU above 90 % for 5 minutes", later, value=97.25, threshold=90.0,
                 rule_id="cpu-high", metric="cpu"),
        AlertUpdate("a1", "resolved", ev.SYSTEM_USER, later, device_id="core-1", severity="critical"),
        TopologyUpdate("link_change", [TopologyDevice("core-1", "router", ["dist-1"]),
                                       TopologyDevice("dist-1", "switch", ["core-1", "acc-1"])], later,
                       links_added=[TopologyLink("acc-1", "dist-1", "Gi0/1", "Te1/1/2")],
                       links_removed=[TopologyLink("core-1", "dist-1", "Te0/0/1", None)]),
        MlPrediction("j1", "completed", [Prediction("traffic_spike", 0.8), Prediction("normal", 0.2)], later,
                     device_id="core-1", metric="bandwidth.in", window_from=T, window_to=later),
        Error("SUBSCRIPTION_LIMIT", "at most 100 subscriptions", later, details={"limit": 100}),
        Trap("core-1", "1.3.6.1.4.1.9.9.41.2.0.1", "3", True, "192.0.2.1", later, uptime=86400, varbinds=TRAP_VARBINDS),
    ]


TRAP_VARBINDS = (
    {"oid": "1.3.6.1.2.1.2.2.1.1.3", "type": "INTEGER", "value": 3},
    {"oid": "1.3.6.1.4.1.9.9.41.1.2.3.1.5.1", "type": "STRING", "value": {"hex": "6f6b", "text": "ok"}},
)


@pytest.mark.parametrize("event", [e for e in full_examples() if e.TYPE not in AFTER_SEED], ids=lambda e: e.TYPE)
@pytest.mark.parametrize("include_interfaces", [False, True])
def test_shape_matches_seed_with_only_allowed_additions(event, include_interfaces):
    got = json.loads(ev.encode(event, 123, include_interfaces=include_interfaces))
    seed = SEED_EXAMPLES[event.TYPE]
    assert set(got) == {"type", "id", "data"} and got["type"] == seed["type"] and got["id"] == 123
    same_shape(got["data"], seed["data"], event.TYPE, ALLOWED_ADDITIONS[event.TYPE])
    if event.TYPE == "device:metrics":
        assert ("interfaces" in got["data"]) == include_interfaces
        for row in got["data"].get("interfaces", []):
            assert set(row) == INTERFACE_KEYS


def test_trap_wire_and_channel():
    e = Trap("r1", "1.3.6.1.4.1.8072.2.3.0.1", "2c", False, "192.0.2.7", T, varbinds=TRAP_VARBINDS)
    assert json.loads(ev.encode(e, 5, tz=PLUS8)) == {"type": "trap", "id": 5, "data": {
        "deviceId": "r1", "trapOid": "1.3.6.1.4.1.8072.2.3.0.1", "version": "2c", "inform": False, "source": "192.0.2.7",
        "uptime": None, "timestamp": SEED_TS, "varbinds": [dict(vb) for vb in TRAP_VARBINDS],
    }}
    assert ev.channels(e) == ("device:r1",)
    encoded = ev.encode_variants(e, 5)
    assert encoded.plain is encoded.detailed
    hash(e)
    with pytest.raises(ValueError, match="version"):
        Trap("r1", "1.3.6.1", "2", False, "192.0.2.7", T)


def test_device_metrics_units_and_rounding():
    e = full_examples()[1]
    d = e.wire(1, include_interfaces=True)["data"]
    assert d["metrics"] == {"cpu": 3.1, "memory": 100.0, "bandwidth": {"in": 1500000000, "out": 0}}
    assert d["interfaces"][0] == {"ifIndex": 1, "name": "Gi0/1", "status": "up", "in": 1000000000,
                                  "out": 250000000, "errorsIn": 0.0, "errorsOut": 0.017}
    assert d["interfaces"][1]["in"] is None


@pytest.mark.parametrize("include_interfaces", [False, True])
def test_nullable_values_keep_the_shape(include_interfaces):
    for event in (DeviceStatus("r1", "down", T), DeviceMetrics("r1", T),
                  AlertNew("a1", "warning", "r1", "device down", T)):
        got = json.loads(ev.encode(event, 1, include_interfaces=include_interfaces))
        same_shape(got["data"], SEED_EXAMPLES[event.TYPE]["data"], event.TYPE, ALLOWED_ADDITIONS[event.TYPE])


def test_unknown_values_are_null_not_missing():
    d = DeviceStatus("r1", "down", T, reason="timeout").wire(1, tz=PLUS8)["data"]
    assert d == {"deviceId": "r1", "status": "down", "timestamp": SEED_TS,
                 "metrics": {"uptime": None, "lastSeen": None}, "reason": "timeout"}
    d = DeviceMetrics("r1", T).wire(1)["data"]["metrics"]
    assert d == {"cpu": None, "memory": None, "bandwidth": {"in": None, "out": None}}


def test_alert_update_routing_fields_stay_off_the_wire():
    e = AlertUpdate("a1", "acknowledged", "u1", T, device_id="r1", severity="warning")
    assert set(e.wire(1)["data"]) == {"alertId", "status", "updatedBy", "timestamp"}
    assert ev.channels(e) == ("device:r1", "alerts", "alerts:warning")


def test_channels():
    status, metrics, new, update, topo, ml, err, trap = full_examples()
    assert ev.channels(status) == ev.channels(metrics) == ("device:core-1", "devices")
    assert ev.channels(new) == ("device:core-1", "alerts", "alerts:critical")
    assert ev.channels(topo) == ("topology",)
    assert ev.channels(ml) == ("device:core-1", "ml")
    assert ev.channels(attrs.evolve(ml, device_id=None)) == ("ml",)
    assert ev.channels(err) == ()
    assert ev.channels(trap) == ("device:core-1",)


# -- timestamps ---------------------------------------------------------------------------


def test_rfc3339_server_offset_whole_seconds():
    utc_moment = datetime(2025, 1, 2, 23, 12, 55, 987654, tzinfo=timezone.utc)
    assert ev.rfc3339(utc_moment, PLUS8) == SEED_TS
    assert ev.rfc3339(utc_moment, timezone.utc) == "2025-01-02T23:12:55+00:00"
    assert ev.rfc3339(utc_moment, timezone(timedelta(hours=-5, minutes=-30))) == "2025-01-02T17:42:55-05:30"
    # Server's local offset by default: always a valid RFC 3339 string.
    assert TS_RE.match(ev.rfc3339(utc_moment))
    # An offset with seconds is not RFC 3339: UTC instead.
    assert ev.rfc3339(utc_moment, timezone(timedelta(hours=1, seconds=7))) == "2025-01-02T23:12:55+00:00"


@given(st.datetimes(timezones=st.sampled_from([timezone.utc, PLUS8])),
       st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_rfc3339_roundtrip(moment, offset_minutes):
    text = ev.rfc3339(moment, timezone(timedelta(minutes=offset_minutes)))
    assert TS_RE.match(text)
    back = datetime.fromisoformat(text)
    assert back == moment.replace(microsecond=0)
    assert back.utcoffset() == timedelta(minutes=offset_minutes)


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: DeviceStatus("r1", "unknown", T),
    lambda: DeviceStatus("", "up", T),
    lambda: DeviceStatus("r1", "up", datetime(2025, 1, 3)),  # naive
    lambda: DeviceMetrics("r1", T, cpu=101.0),
    lambda: DeviceMetrics("r1", T, memory=float("nan")),
    lambda: DeviceMetrics("r1", T, bandwidth_in=-1),
    lambda: AlertNew("a", "major", "r1", "m", T),
    lambda: AlertUpdate("a", "open", "u", T),
    lambda: AlertUpdate("a", "resolved", None, T),
    lambda: AlertUpdate("a", "resolved", "u", T, severity="minor"),
    lambda: TopologyUpdate("device_moved", [], T),
    lambda: TopologyDevice("r1", "firewall"),
    lambda: MlPrediction("j", "running", [], T),
    lambda: MlPrediction("j", "completed", [], T, window_from=T),
    lambda: Prediction("x", 1.5),
    lambda: Error("OOPS", "m", T),
    lambda: InterfaceMetrics(1, "eth0", "admindown"),
])
def test_invalid_values_rejected(make):
    with pytest.raises(ValueError):
        make()


def test_event_id_validated():
    e = examples()[0]
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError):
            e.wire(bad)


# -- encoding -------------------------------------------------------------------------------


def test_encode_compact_utf8():
    e = AlertNew("a1", "info", "r1", "Température élevée", T, value=1, threshold=2)
    raw = ev.encode(e, 5, tz=PLUS8)
    assert b" " not in raw.replace("Température élevée".encode(), b"")
    assert "Température élevée".encode() in raw
    assert raw.startswith(b'{"type":"alert:new","id":5,"data":{')


def test_encode_variants_once():
    metrics = full_examples()[1]
    enc = ev.encode_variants(metrics, 9)
    assert b'"interfaces"' in enc.detailed and b'"interfaces"' not in enc.plain
    assert enc.frame("device:core-1") is enc.detailed and enc.frame("devices") is enc.plain
    status = full_examples()[0]
    enc = ev.encode_variants(status, 10)
    assert enc.plain is enc.detailed


def test_events_are_frozen_and_hashable():
    for e in examples():
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            e.timestamp = T
        hash(e)
    assert hash(full_examples()[-1])  # details excluded from the hash


def test_event_types_table():
    assert set(ev.EVENT_TYPES) == set(ALLOWED_ADDITIONS) | AFTER_SEED
