"""Events and their wire form: the envelopes of the public contract (docs/events.md).

Each event is a frozen attrs value. ``event.wire(event_id)`` gives the JSON-ready
envelope ``{"type", "id", "data"}``; :func:`encode` gives its compact JSON bytes,
and :func:`encode_variants` both variants of one event at once (device:metrics
carries ``interfaces`` only on a ``device:<id>`` channel), so the push server
encodes each event once per variant, never once per client.

Wire rules (docs/events.md): timestamps RFC 3339 in the server's UTC offset, whole
seconds (``2025-01-03T07:12:55+08:00``); cpu and memory in percent with one
decimal; bandwidth in bit/s (integers); uptime in seconds. A value not known is
``null``, the key is always there (only measured values may be null: uptime,
lastSeen, cpu, memory, bandwidth in/out, an alert's value/threshold, interface
rates). Additions appear only where events.md allows
them, and only when set: device:status ``reason``; device:metrics
``interfaces``; alert:new ``ruleId``, ``metric``; topology:update ``linksAdded``,
``linksRemoved``; ml:prediction ``deviceId``, ``metric``, ``window``; error ``details``. Fields that only route an event
(AlertUpdate's device and severity) or feed the alert rules (device:metrics'
uptime, an interface's speed and admin status) never reach the wire.
"""

from __future__ import annotations

import enum
import json
import math
import types
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, ClassVar

import attrs


class Availability(enum.StrEnum):
    """A device's status: answers and all is well, answers with something wrong, does not answer."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"


DEVICE_STATUSES = ("up", "down", "degraded")  # as the contract lists them (plain strings: Literal types, messages)
SEVERITIES = ("critical", "warning", "info")
ALERT_UPDATE_STATUSES = ("acknowledged", "resolved")
CHANGE_TYPES = ("device_added", "device_removed", "link_change")
DEVICE_TYPES = ("router", "switch", "endpoint")
# What a device is as hardware (the REST API's device type), from its profile.
HARDWARE_TYPES = ("router", "switch", "firewall", "server", "wireless", "load-balancer", "storage", "endpoint")
ML_STATUSES = ("completed", "failed")
# What an ml:prediction's results say (docs/anomaly.md); "normal": nothing found.
ML_LABELS = ("spike", "drop", "level_shift", "trend", "memory_leak", "flatline", "flapping", "normal")
SNMP_VERSIONS = ("1", "2c", "3")
ERROR_CODES = (
    "AUTH_REQUIRED", "AUTH_INVALID", "TOKEN_EXPIRED", "FORBIDDEN", "INVALID_MESSAGE",
    "UNKNOWN_CHANNEL", "NOT_FOUND", "SUBSCRIPTION_LIMIT", "RATE_LIMITED", "INTERNAL",
)
SYSTEM_USER = "system"  # alert:update's updatedBy when no user made the change
# ifOperStatus (IF-MIB), as the interfaces list reports it.
INTERFACE_STATUSES = ("up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown")


# -- validators and formatting ------------------------------------------------------


def _one_of(allowed: tuple[str, ...]):
    def check(instance, attribute, value):
        if value not in allowed:
            raise ValueError(f"{type(instance).__name__}.{attribute.name} must be one of {'|'.join(allowed)}, not {value!r}")
    return check


def _aware(instance, attribute, value):
    if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
        raise ValueError(f"{type(instance).__name__}.{attribute.name} must be a timezone-aware datetime, not {value!r}")


def _finite(instance, attribute, value):
    if value is None or (type(value) is float or type(value) is int) and -math.inf < value < math.inf:
        return  # the common case, without a call: these run for every interface of every poll (NaN fails the compare)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{type(instance).__name__}.{attribute.name} must be a finite number or None, not {value!r}")


def _percent(instance, attribute, value):
    _finite(instance, attribute, value)
    if value is not None and not 0 <= value <= 100:
        raise ValueError(f"{type(instance).__name__}.{attribute.name} must be within 0-100, not {value!r}")


def _non_negative(instance, attribute, value):
    if value is None or (type(value) is float or type(value) is int) and 0 <= value < math.inf:
        return
    _finite(instance, attribute, value)
    if value is not None and value < 0:
        raise ValueError(f"{type(instance).__name__}.{attribute.name} must be >= 0, not {value!r}")


def _text(instance, attribute, value):
    if not isinstance(value, str) or not value:
        raise ValueError(f"{type(instance).__name__}.{attribute.name} must be a non-empty string, not {value!r}")


def _optional_text(instance, attribute, value):
    if value is not None:
        _text(instance, attribute, value)


def rfc3339(moment: datetime | None, tz: tzinfo | None = None) -> str | None:
    """`moment` in the server's UTC offset (or `tz`), whole seconds: 2025-01-03T07:12:55+08:00."""
    if moment is None:
        return None
    local = moment.astimezone(tz)
    offset = local.utcoffset()
    if offset is None or offset % timedelta(minutes=1):  # historic offsets with seconds: not RFC 3339
        local = moment.astimezone(timezone.utc)
        offset = timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hh, mm = divmod(abs(minutes), 60)
    return f"{local.replace(tzinfo=None, microsecond=0).isoformat()}{sign}{hh:02d}:{mm:02d}"


def _one_decimal(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def _bps(value: float | None) -> int | None:
    return None if value is None else int(round(value))


def _per_second(value: float | None) -> float | None:
    """Error and discard rates: three decimals (one error a minute is 0.017)."""
    return None if value is None else round(float(value), 3)


# Tuple converters, one per element type: a type checker cannot solve the element type of
# `tuple` itself used as a converter, so every caller would fail the check.
def _interface_rows(rows: Iterable[InterfaceMetrics]) -> tuple[InterfaceMetrics, ...]:
    return tuple(rows)


def _strings(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


def _topology_devices(devices: Iterable[TopologyDevice]) -> tuple[TopologyDevice, ...]:
    return tuple(devices)


def _topology_links(links: Iterable[TopologyLink]) -> tuple[TopologyLink, ...]:
    return tuple(links)


def _predictions(results: Iterable[Prediction]) -> tuple[Prediction, ...]:
    return tuple(results)


def _varbinds(items: Iterable[Mapping[str, Any]]) -> tuple[Mapping[str, Any], ...]:
    return tuple(types.MappingProxyType(dict(vb)) for vb in items)


def _freeze_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    return None if value is None else types.MappingProxyType(dict(value))


def now() -> datetime:
    return datetime.now(timezone.utc)


class _Event:
    TYPE: ClassVar[str]
    # Events whose data differs between a device channel and the others.
    HAS_DETAIL_VARIANT: ClassVar[bool] = False

    def data(self, *, include_interfaces: bool = False, tz: tzinfo | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def wire(self, event_id: int, *, include_interfaces: bool = False, tz: tzinfo | None = None) -> dict[str, Any]:
        """The envelope {"type", "id", "data"}, ready for json."""
        if isinstance(event_id, bool) or not isinstance(event_id, int) or event_id < 0:
            raise ValueError(f"event id must be an integer >= 0, not {event_id!r}")
        return {"type": self.TYPE, "id": event_id, "data": self.data(include_interfaces=include_interfaces, tz=tz)}


# -- device ------------------------------------------------------------------------------


@attrs.frozen
class DeviceStatus(_Event):
    """device:status, published when a device's status changes."""

    TYPE: ClassVar[str] = "device:status"

    device_id: str = attrs.field(validator=_text)
    status: str = attrs.field(validator=_one_of(DEVICE_STATUSES))
    timestamp: datetime = attrs.field(validator=_aware)
    uptime: int | None = attrs.field(default=None, validator=_non_negative)  # seconds
    last_seen: datetime | None = attrs.field(default=None, validator=_aware)
    reason: str | None = attrs.field(default=None, validator=_optional_text)

    def data(self, *, include_interfaces: bool = False, tz: tzinfo | None = None) -> dict[str, Any]:
        d = {
            "deviceId": self.device_id,
            "status": self.status,
            "timestamp": rfc3339(self.timestamp, tz),
            "metrics": {
                "uptime": None if self.uptime is None else int(self.uptime),
                "lastSeen": rfc3339(self.last_seen, tz),
            },
        }
        if self.reason is not None:
            d["reason"] = self.reason
        return d


@attrs.frozen
class InterfaceMetrics:
    """One row of device:metrics' interfaces list: rates in bit/s, errors a second."""

    if_index: int = attrs.field(validator=_non_negative)
    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    status: str = attrs.field(validator=_one_of(INTERFACE_STATUSES))
    bps_in: float | None = attrs.field(default=None, validator=_non_negative)
    bps_out: float | None = attrs.field(default=None, validator=_non_negative)
    errors_in: float | None = attrs.field(default=None, validator=_non_negative)
    errors_out: float | None = attrs.field(default=None, validator=_non_negative)
    # For the alert rules (utilisation, interfaces shut on purpose); not on the wire.
    speed: float | None = attrs.field(default=None, validator=_non_negative)  # bit/s
    admin_status: str | None = attrs.field(default=None, validator=_optional_text)
    # For the REST API's port table, not on the wire (the agent's texts, as read).
    description: str = ""  # ifDescr
    alias: str = ""  # ifAlias
    if_type: int | None = None  # IANAifType
    mtu: int | None = None  # ifMtu, octets
    mac: str | None = None  # ifPhysAddress, "aa:bb:cc:dd:ee:ff"
    changed_ago: float | None = attrs.field(default=None, validator=_non_negative)  # seconds before the poll: ifLastChange
    # Listed, but left out of bandwidth totals, alerts and the device's health
    # ([poller] ignore_interfaces); for the REST API's port table, not on the wire.
    ignored: bool = False
    # Why bps_in or bps_out is None ("<reason>: <text>", eyenet.collect.rates); for the REST API, not on the wire.
    rate_reason: str | None = None

    def data(self) -> dict[str, Any]:
        return {
            "ifIndex": self.if_index,
            "name": self.name,
            "status": self.status,
            "in": _bps(self.bps_in),
            "out": _bps(self.bps_out),
            "errorsIn": _per_second(self.errors_in),
            "errorsOut": _per_second(self.errors_out),
        }


@attrs.frozen
class MetricSource:
    """How a device's cpu or memory was read: the profile method that gave it, or why none did.
    Not on the wire of device:metrics; the REST API shows it as a device's metricsStatus."""

    method: str | None = None  # "collectors/<profile>.toml [cpu] #1"
    reason: str | None = None  # when no method gave a value

    def data(self) -> dict[str, Any]:
        return {"method": self.method, "reason": self.reason}


@attrs.frozen
class DeviceIdentity:
    """What a device is, from its profile, sysObjectID, sysDescr and ENTITY-MIB. Not on the
    wire of device:metrics; the REST API shows it with the device. None: not known."""

    vendor: str | None = None
    model: str | None = None
    os: str | None = None
    version: str | None = None
    serial: str | None = None
    hardware_type: str | None = None  # one of HARDWARE_TYPES
    sys_name: str | None = None
    sys_descr: str | None = None
    sys_object_id: str | None = None
    location: str | None = None
    contact: str | None = None


COMPONENT_KINDS = ("processor", "memory")


@attrs.frozen
class Component:
    """One processor or memory pool a device's cpu or memory method read, with its own
    figure. Not on the wire of device:metrics; the REST API lists them per device."""

    kind: str = attrs.field(validator=_one_of(COMPONENT_KINDS))
    index: str | None  # the row's index in its table, dotted; None: a single figure (not a table)
    description: str | None  # the row's name as the device gives it; None: the profile names no column for it
    value: float  # percent in use
    counted: bool  # in the device's cpu / memory figure (else a row the profile's filters leave out)
    method: str  # the profile method that read it: "<file> [cpu] #n"


@attrs.frozen
class DeviceMetrics(_Event):
    """device:metrics, published on every poll. cpu and memory in percent, bandwidth
    in bit/s summed over the up, non-loopback interfaces (the poller sums)."""

    TYPE: ClassVar[str] = "device:metrics"
    HAS_DETAIL_VARIANT: ClassVar[bool] = True

    device_id: str = attrs.field(validator=_text)
    timestamp: datetime = attrs.field(validator=_aware)
    cpu: float | None = attrs.field(default=None, validator=_percent)
    memory: float | None = attrs.field(default=None, validator=_percent)
    bandwidth_in: float | None = attrs.field(default=None, validator=_non_negative)
    bandwidth_out: float | None = attrs.field(default=None, validator=_non_negative)
    interfaces: tuple[InterfaceMetrics, ...] = attrs.field(default=(), converter=_interface_rows)
    uptime: int | None = attrs.field(default=None, validator=_non_negative)  # seconds; for the alert rules, not on the wire
    # For the REST API, not on the wire: how cpu and memory were read, and what the device is.
    cpu_source: MetricSource | None = None
    memory_source: MetricSource | None = None
    identity: DeviceIdentity | None = None
    components: tuple[Component, ...] = ()

    def data(self, *, include_interfaces: bool = False, tz: tzinfo | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {
            "deviceId": self.device_id,
            "metrics": {
                "cpu": _one_decimal(self.cpu),
                "memory": _one_decimal(self.memory),
                "bandwidth": {"in": _bps(self.bandwidth_in), "out": _bps(self.bandwidth_out)},
            },
            "timestamp": rfc3339(self.timestamp, tz),
        }
        if include_interfaces:
            d["interfaces"] = [i.data() for i in self.interfaces]
        return d


@attrs.frozen
class Trap(_Event):
    """trap, published when a device sends a notification that is not one of those that make
    it be polled at once (linkDown, linkUp, coldStart, warmStart, authenticationFailure).
    varbinds: in snmp.display's JSON form ({"oid", "type", "value"}), without sysUpTime.0
    and snmpTrapOID.0, which are given apart (uptime in seconds, trap_oid dotted)."""

    TYPE: ClassVar[str] = "trap"

    device_id: str = attrs.field(validator=_text)
    trap_oid: str = attrs.field(validator=_text)
    version: str = attrs.field(validator=_one_of(SNMP_VERSIONS))
    inform: bool
    source: str = attrs.field(validator=_text)  # the sender's address
    timestamp: datetime = attrs.field(validator=_aware)
    uptime: int | None = attrs.field(default=None, validator=_non_negative)
    varbinds: tuple[Mapping[str, Any], ...] = attrs.field(default=(), converter=_varbinds, eq=False, hash=False)

    def data(self, *, include_interfaces: bool = False, tz: tzinfo | None = None) -> dict[str, Any]:
        return {
            "deviceId": self.device_id,
            "trapOid": self.trap_oid,
            "version": self.version,
            "inform": self.inform,
            "source": self.source,
            "uptime": self.uptime,
            "timestamp": rfc3339(self.timestamp, tz),
            "varbinds": [dict(vb) for vb in self.varbinds],
        }


# -- alerts --------------------------------------------------------------------------------


@attrs.frozen
class AlertNew(_Event):
    TYPE: ClassVar[str] = "alert:new"

    alert_id: str = attrs.field(validator=_text)
    severity: str = attrs.field(validator=_one_of(SEVERITIES))
    device_id: str = attrs.field(validator=_text)
    message: str = attrs.field(validator=_text)
    timestamp: datetime = attrs.field(validator=_aware)
    value: float | None = attrs.field(default=None, validator=_finite)
    threshold: float | None = attrs.field(default=None, validator=_finite)
    rule_id: str | None = attrs.field(default=None, validator=_optional_text)
    metric: str | None = attrs.field(default=None, validator=_optional_text)

    def data(self, *, include_interfaces: bool = False, tz: tzinfo | None = None) -> dict[str, Any]:
        d = {
            "alertId": self.alert_id,
            "severity": self.severity,
            "deviceId": self.device_id,
            "message": self.message,
            "timestamp": rfc3339(self.timestamp, tz),
            "metrics": {"value": self.value, "threshold": self.threshold},  # as given: 90 stays 90
        }
        if self.rule_id is not None:
            d["ruleId"] = self.rule_id
        if self.metric is not None:
            d["metric"] = self.metric
        return d


@attrs.frozen
class AlertUpdate(_Event):
    """alert:update. device_id and severity route the event (device:<id>,
    alerts:<severity>) and are not on the wire. updated_by is a user id, or
    SYSTEM_USER when the alert service resolved the alert itself (the seed's
    updatedBy is always a string)."""

    TYPE: ClassVar[str] = "alert:update"

    alert_id: str = attrs.field(validator=_text)
    status: str = attrs.field(validator=_one_of(ALERT_UPDATE_STATUSES))
    updated_by: str = attrs.field(validator=_text)
    timestamp: datetime = attrs.field(validator=_aware)
    device_id: str | None = attrs.field(default=None, validator=_optional_text)
    severity: str | None = attrs.field(default=None, validator=attrs.validators.optional(_one_of(SEVERITIES)))

    def data(self, *, include_interfaces: bool = False, tz: tzinfo | None = None) -> dict[str, Any]:
        return {
            "alertId": self.alert_id,
            "status": self.status,
            "updatedBy": self.updated_by,
            "timestamp": rfc3339(self.timestamp, tz),
        }


# -- topology ------------------------------------------------------------------------------


@attrs.frozen
class TopologyDevice:
    id: str = attrs.field(validator=_text)
    type: str = attrs.field(validator=_one_of(DEVICE_TYPES))
    connections: tuple[str, ...] = attrs.field(
        default=(), converter=_strings, validator=attrs.validators.deep_iterable(attrs.validators.instance_of(str))
    )

    def data(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "connections": list(self.connections)}


@attrs.frozen
class TopologyLink:
    """One link with the port at each end (None: not known); source < target."""

    source: str = attrs.field(validator=_text)
    target: str = attrs.field(validator=_text)
    source_port: str | None = attrs.field(default=None, validator=_optional_text)
    target_port: str | None = attrs.field(default=None, validator=_optional_text)

    def data(self) -> dict[str, Any]:
        return {"source": self.source, "sourcePort": self.source_port, "target": self.target, "targetPort": self.target_port}


@attrs.frozen
class TopologyUpdate(_Event):
    """links_added / links_removed (link_change only): the links of `devices` that appeared or
    went, so a change among parallel links, which leaves the connections as they were, shows."""

    TYPE: ClassVar[str] = "topology:update"

    change_type: str = attrs.field(validator=_one_of(CHANGE_TYPES))
    devices: tuple[TopologyDevice, ...] = attrs.field(converter=_topology_devices)
    timestamp: datetime = attrs.field(validator=_aware)
    links_added: tuple[TopologyLink, ...] = attrs.field(default=(), converter=_topology_links)
    links_removed: tuple[TopologyLink, ...] = attrs.field(default=(), converter=_topology_links)

    def data(self, *, include_interfaces: bool = False, tz: tzinfo | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {
            "changeType": self.change_type,
            "devices": [dev.data() for dev in self.devices],
            "timestamp": rfc3339(self.timestamp, tz),
        }
        if self.links_added:
            d["linksAdded"] = [link.data() for link in self.links_added]
        if self.links_removed:
            d["linksRemoved"] = [link.data() for link in self.links_removed]
        return d


# -- ml ----------------------------------------------------------------------------------------


@attrs.frozen
class Prediction:
    label: str = attrs.field(validator=_text)
    confidence: float = attrs.field(validator=_finite)

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.confidence <= 1:
            raise ValueError(f"Prediction.confidence must be within 0-1, not {self.confidence!r}")


@attrs.frozen
class MlPrediction(_Event):
    TYPE: ClassVar[str] = "ml:prediction"

    job_id: str = attrs.field(validator=_text)
    status: str = attrs.field(validator=_one_of(ML_STATUSES))
    results: tuple[Prediction, ...] = attrs.field(converter=_predictions)
    timestamp: datetime = attrs.field(validator=_aware)
    device_id: str | None = attrs.field(default=None, validator=_optional_text)
    metric: str | None = attrs.field(default=None, validator=_optional_text)
    window_from: datetime | None = attrs.field(default=None, validator=_aware)
    window_to: datetime | None = attrs.field(default=None, validator=_aware)

    def __attrs_post_init__(self) -> None:
        if (self.window_from is None) != (self.window_to is None):
            raise ValueError("MlPrediction window needs both window_from and window_to, or neither")

    def data(self, *, include_interfaces: bool = False, tz: tzinfo | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {
            "jobId": self.job_id,
            "status": self.status,
            "results": [{"label": p.label, "confidence": p.confidence} for p in self.results],
            "timestamp": rfc3339(self.timestamp, tz),
        }
        if self.device_id is not None:
            d["deviceId"] = self.device_id
        if self.metric is not None:
            d["metric"] = self.metric
        if self.window_from is not None:
            d["window"] = {"from": rfc3339(self.window_from, tz), "to": rfc3339(self.window_to, tz)}
        return d


# -- error -------------------------------------------------------------------------------------


@attrs.frozen
class Error(_Event):
    """error, sent to one client. details: a JSON object (e.g. the limit exceeded)."""

    TYPE: ClassVar[str] = "error"

    code: str = attrs.field(validator=_one_of(ERROR_CODES))
    message: str = attrs.field(validator=_text)
    timestamp: datetime = attrs.field(validator=_aware)
    details: Mapping[str, Any] | None = attrs.field(default=None, converter=_freeze_mapping, eq=False, hash=False)

    def data(self, *, include_interfaces: bool = False, tz: tzinfo | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code, "message": self.message, "timestamp": rfc3339(self.timestamp, tz)}
        if self.details is not None:
            d["details"] = dict(self.details)
        return d


Event = DeviceStatus | DeviceMetrics | Trap | AlertNew | AlertUpdate | TopologyUpdate | MlPrediction | Error
EVENT_TYPES = {
    cls.TYPE: cls for cls in (DeviceStatus, DeviceMetrics, Trap, AlertNew, AlertUpdate, TopologyUpdate, MlPrediction, Error)
}


# -- encoding and routing ------------------------------------------------------------------------


def to_json(obj: Any) -> bytes:
    """Compact JSON, UTF-8, no NaN."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def encode(event: Event, event_id: int, *, include_interfaces: bool = False, tz: tzinfo | None = None) -> bytes:
    return to_json(event.wire(event_id, include_interfaces=include_interfaces, tz=tz))


@attrs.frozen
class EncodedEvent:
    """One event encoded once: `plain` for every channel, `detailed` for device:<id>
    (the same bytes object when the event has no detail variant)."""

    event: Event
    id: int
    plain: bytes
    detailed: bytes

    def frame(self, channel: str) -> bytes:
        return self.detailed if channel.startswith("device:") else self.plain


def encode_variants(event: Event, event_id: int, *, tz: tzinfo | None = None) -> EncodedEvent:
    plain = encode(event, event_id, tz=tz)
    detailed = encode(event, event_id, include_interfaces=True, tz=tz) if event.HAS_DETAIL_VARIANT else plain
    return EncodedEvent(event, event_id, plain, detailed)


def channels(event: Event) -> tuple[str, ...]:
    """The subscription channels (events.md) that receive this event. Error is
    addressed to one client, never broadcast: ()."""
    if isinstance(event, (DeviceStatus, DeviceMetrics)):
        return (f"device:{event.device_id}", "devices")
    if isinstance(event, Trap):
        return (f"device:{event.device_id}",)
    if isinstance(event, (AlertNew, AlertUpdate)):
        out = ["alerts"]
        if event.severity is not None:
            out.append(f"alerts:{event.severity}")
        if event.device_id is not None:
            out.insert(0, f"device:{event.device_id}")
        return tuple(out)
    if isinstance(event, TopologyUpdate):
        return ("topology",)
    if isinstance(event, MlPrediction):
        return ("ml",) if event.device_id is None else (f"device:{event.device_id}", "ml")
    return ()
