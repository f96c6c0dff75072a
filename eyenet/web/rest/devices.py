"""Devices: the list, one device, adding, changing and removing those added here, their
interfaces, and the history of their metrics."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, tzinfo
from typing import Annotated, Literal

import attrs
import msgspec
from msgspec import UNSET, Meta, UnsetType

from eyenet.auth.tokens import Claims
from eyenet.collect.history import HistoryPoint
from eyenet.collect.rates import REASON_TEXT
from eyenet.devices.inventory import (
    ConfiguredDevice,
    DeviceExists,
    InvalidDevice,
    Monitored,
    UnknownDevice,
    changed_device,
    device_from_json,
)
from eyenet.devices.model import DEVICE_ID, DeviceConfig
from eyenet.events import (
    DEVICE_STATUSES,
    HARDWARE_TYPES,
    INTERFACE_STATUSES,
    Component,
    DeviceIdentity,
    InterfaceMetrics,
    MetricSource,
    rfc3339,
)
from eyenet.snmp.message import VERSIONS
from eyenet.snmp.usm import AUTH_PROTOCOLS, LEVELS, PRIV_PROTOCOLS
from eyenet.web.http import Response
from eyenet.web.rest.errors import ApiError
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import Call, Router, answer
from eyenet.web.rest.services import Services
from eyenet.web.rest.shapes import Metric, Timestamp, changes_of, exact, from_json, given, number
from eyenet.web.rest.times import HISTORY_SPAN, MAX_TIME, Moment, seconds

# An address or DNS name without blanks or control characters.
HOST_PATTERN = "^[^\\u0000-\\u0020\\u007f-\\u009f]+$"


class NewDevice(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    id: Annotated[str, Meta(pattern=exact(DEVICE_ID))]
    host: Annotated[str, Meta(max_length=253, pattern=exact(HOST_PATTERN), description="IP address or DNS name")]
    port: Annotated[int, Meta(ge=1, le=65535)] = 161
    version: Annotated[Literal[tuple(VERSIONS)], Meta(description="SNMP version")] = "2c"
    community: Annotated[str, Meta(description="never returned", extra_json_schema={"writeOnly": True})] = "public"
    # Within a second and a day: beyond, a typo polls a device flat out or never.
    poll_interval: Annotated[number(ge=1, le=86400), Meta(description="seconds between polls")] = 60
    tags: Annotated[
        list[Annotated[str, Meta(min_length=1)]],
        Meta(description="device groups: a user whose scope names one of them sees the device"),
    ] = []
    # SNMPv3 (version "3"), in net-snmp's terms; the passwords are never returned.
    user: Annotated[str | None, Meta(description='SNMPv3 user name (required with version "3")')] = None
    level: Annotated[
        Literal[LEVELS] | None,
        Meta(description="default: authPriv with a privPassword, authNoPriv with an authPassword, else noAuthNoPriv"),
    ] = None
    auth_protocol: Literal[tuple(AUTH_PROTOCOLS)] = "SHA"
    auth_password: Annotated[str | None, Meta(description="8 characters at least; never returned", extra_json_schema={"writeOnly": True})] = None
    priv_protocol: Annotated[
        Literal[tuple(PRIV_PROTOCOLS)], Meta(description="AES-192-C and AES-256-C: the key extension Cisco uses")
    ] = "AES"
    priv_password: Annotated[str | None, Meta(description="8 characters at least; never returned", extra_json_schema={"writeOnly": True})] = None
    context: Annotated[str, Meta(description="SNMPv3 context name")] = ""


DeviceChange = changes_of("DeviceChange", NewDevice, without=("id",), doc="The fields to change; the id cannot change.")


class Snmpv3(msgspec.Struct, rename="camel"):
    """The SNMPv3 settings, less the passwords"""

    user: str
    level: Literal[LEVELS]
    auth_protocol: Literal[tuple(AUTH_PROTOCOLS)] | None = msgspec.field(default=None)
    priv_protocol: Literal[tuple(PRIV_PROTOCOLS)] | None = msgspec.field(default=None)
    context: str = ""


class Bandwidth(msgspec.Struct):
    """bit/s summed over the up, non-loopback interfaces"""

    in_: int | None = msgspec.field(name="in")
    out: int | None


class Readings(msgspec.Struct):
    cpu: Annotated[float | None, Meta(description="percent, one decimal")]
    memory: Annotated[float | None, Meta(description="percent, one decimal")]
    bandwidth: Bandwidth
    uptime: Annotated[int | None, Meta(description="seconds")]


class MetricStatus(msgspec.Struct):
    method: Annotated[str | None, Meta(description="the profile method that gave the value: '<file> [cpu] #n'")]
    reason: Annotated[str | None, Meta(description="why there is no value: the profiles matched and what each method gave")]


class MetricsStatus(msgspec.Struct):
    cpu: MetricStatus
    memory: MetricStatus


class Device(msgspec.Struct, rename="camel"):
    id: str
    name: Annotated[str, Meta(description="the device's id")]
    host: str
    type: Annotated[Literal[HARDWARE_TYPES] | None, Meta(description="what the device is, from its profile; null: not known")]
    vendor: str | None
    model: str | None
    os: str | None
    os_version: Annotated[str | None, Meta(description="the OS version, from sysDescr or the vendor's MIB as the profile says")]
    serial: Annotated[str | None, Meta(description="the chassis' serial number (ENTITY-MIB entPhysicalSerialNum)")]
    sys_name: Annotated[str | None, Meta(description="sysName")]
    sys_descr: Annotated[str | None, Meta(description="sysDescr")]
    sys_object_id: Annotated[str | None, Meta(description="sysObjectID, dotted")]
    location: Annotated[str | None, Meta(description="sysLocation")]
    contact: Annotated[str | None, Meta(description="sysContact")]
    metrics_status: Annotated[MetricsStatus | None, Meta(description="how cpu and memory were read at the last poll; null before one")]
    tags: list[str]
    status: Annotated[Literal[DEVICE_STATUSES] | None, Meta(description="null until the first poll")]
    reason: Annotated[str | None, Meta(description="why down or degraded: timeout, auth, interfaces down: ...")]
    last_seen: Timestamp | None
    metrics: Readings
    port: int
    version: Literal[tuple(VERSIONS)]
    poll_interval: Annotated[float, Meta(description="seconds between polls")]
    source: Annotated[Literal["config", "api"], Meta(description="config: managed in the configuration file, read-only here")]
    snmpv3: Annotated[Snmpv3 | None, Meta(description='null unless version is "3"; protocols null where the level has none')]


class DeviceList(msgspec.Struct):
    devices: list[Device]


class Interface(msgspec.Struct, rename="camel"):
    if_index: int
    name: str
    status: Literal[INTERFACE_STATUSES]
    in_: Annotated[int | None, Meta(description="bit/s")] = msgspec.field(name="in")
    out: Annotated[int | None, Meta(description="bit/s")]
    errors_in: Annotated[float | None, Meta(description="per second")]
    errors_out: Annotated[float | None, Meta(description="per second")]
    description: Annotated[str, Meta(description="ifDescr")]
    alias: Annotated[str, Meta(description="ifAlias: the operator's label")]
    type: Annotated[int | None, Meta(description="ifType (IANAifType number)")]
    speed: Annotated[int | None, Meta(description="bit/s, from ifHighSpeed or ifSpeed; null: unknown")]
    admin_status: Annotated[Literal["up", "down", "testing"] | None, Meta(description="ifAdminStatus")]
    mtu: Annotated[int | None, Meta(description="ifMtu, octets")]
    mac: Annotated[str | None, Meta(description="ifPhysAddress, aa:bb:cc:dd:ee:ff; null: none")]
    last_change: Annotated[Timestamp | None, Meta(
        description="ifLastChange: when its status last changed; null: before the agent started, or unknown",
    )]
    ignored: Annotated[bool, Meta(description="left out of bandwidth totals and alerts ([poller] ignore_interfaces)")]
    rate_reason: Annotated[str | None, Meta(
        description=f"why `in` or `out` is null: '<reason>: <explanation>', the reason one of {', '.join(REASON_TEXT)}; "
        "null when both are there",
    )]


class Interfaces(msgspec.Struct, rename="camel"):
    device_id: str
    timestamp: Annotated[Timestamp | None, Meta(description="of the poll; null before one")]
    interfaces: list[Interface]


class DeviceComponent(msgspec.Struct):
    index: Annotated[str | None, Meta(description="the row's index in its table, dotted; null: the device's single figure")]
    description: Annotated[str | None, Meta(description="its name as the device gives it; null: not named")]
    value: Annotated[float, Meta(description="percent in use, one decimal")]
    counted: Annotated[bool, Meta(description="in the device's cpu (or memory) figure")]
    method: Annotated[str, Meta(description="the profile method that read it: '<file> [cpu] #n'")]


class Components(msgspec.Struct, rename="camel"):
    device_id: str
    timestamp: Annotated[Timestamp | None, Meta(description="of the poll; null before one")]
    processors: list[DeviceComponent]
    memory: Annotated[list[DeviceComponent], Meta(description="memory pools")]


def _component(c: Component) -> DeviceComponent:
    return DeviceComponent(c.index, c.description, round(c.value, 1), c.counted, c.method)


class HistoryQuery(msgspec.Struct, kw_only=True):
    metric: Metric
    from_: Annotated[Moment, Meta(description=f"Unix seconds or RFC 3339; default: {HISTORY_SPAN} s before `to`")] | UnsetType = (
        msgspec.field(name="from", default=UNSET)
    )
    to: Annotated[Moment, Meta(description="Unix seconds or RFC 3339; default: now")] | UnsetType = UNSET
    step: Annotated[int, Meta(
        ge=0, le=MAX_TIME,
        description="seconds per point, 0 for every sample; default: 0 up to 6 hours, 300 up to 8 days, else 3600",
    )] | UnsetType = UNSET


class Point(msgspec.Struct):
    timestamp: Timestamp
    avg: float
    min: float
    max: float


class History(msgspec.Struct, rename="camel"):
    device_id: str
    metric: str
    from_: Timestamp = msgspec.field(name="from")
    to: Timestamp
    step: Annotated[int, Meta(description="seconds per point; 0: every sample")]
    points: list[Point]


def _interface(itf: InterfaceMetrics, polled: datetime, tz: tzinfo | None) -> Interface:
    """A port table row: device:metrics' interface, with its labels, speed, admin status, MTU,
    MAC and when its status last changed (as of the poll at `polled`)."""
    changed = None if itf.changed_ago is None else rfc3339(polled - timedelta(seconds=itf.changed_ago), tz)
    return from_json(Interface, {
        **itf.data(), "description": itf.description, "alias": itf.alias, "type": itf.if_type,
        "speed": None if itf.speed is None else int(itf.speed), "adminStatus": itf.admin_status, "mtu": itf.mtu,
        "mac": itf.mac, "lastChange": changed, "ignored": itf.ignored,
        "rateReason": itf.rate_reason,
    })


@attrs.frozen
class DeviceRoutes:
    services: Services

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/api/devices", self.devices, Operation("The devices in the user's scope", "devices", "viewer", DeviceList))
        add("POST", "/api/devices", self.add_device, Operation(
            "Add a device to monitor", "devices", "admin", Device, status=201, request=NewDevice, errors=(409,),
            description="A scoped admin must give the device one of its scope's tags.",
        ))
        add("GET", "/api/devices/{id}", self.device, Operation("One device", "devices", "viewer", Device))
        add("PATCH", "/api/devices/{id}", self.change_device, Operation(
            "Change a device added through the API", "devices", "admin", Device, request=DeviceChange, errors=(409,),
            description="Devices from the configuration file are changed there (409).",
        ))
        add("DELETE", "/api/devices/{id}", self.remove_device, Operation(
            "Stop monitoring a device added through the API", "devices", "admin", status=204, errors=(409,),
            description="Its history stays until retention removes it. Devices from the configuration file are removed there (409).",
        ))
        add("GET", "/api/devices/{id}/interfaces", self.interfaces, Operation(
            "The device's interfaces with their rates at the last poll", "devices", "viewer", Interfaces,
        ))
        add("GET", "/api/devices/{id}/components", self.components, Operation(
            "The processors and memory pools read at the last poll, each with its figure", "devices", "viewer", Components,
        ))
        add("GET", "/api/devices/{id}/metrics", self.history, Operation(
            "History of one metric", "devices", "viewer", History, query=HistoryQuery,
            description="Points in [from, to). A step under 300 s reads every sample, 300 s and up the 5-minute "
            "rollup, 3600 s and up the hourly one; a step that is not the table's own width merges its points.",
        ))

    def _visible(self, call: Call) -> Monitored:
        return self.services.visible_device(call.claims, call.params["id"])

    def _check_scope(self, claims: Claims, tags: tuple[str, ...]) -> None:
        if not self.services.access.tags(claims.scope, tags):
            raise ApiError(
                "FORBIDDEN", f"the device must carry one of your scope's tags ({', '.join(claims.scope)}), or you could not see it"
            )

    def _view(self, monitored: Monitored) -> Device:
        """events.md's device shape; what is not known yet is null. Never the credentials."""
        device, live = monitored.config, monitored.live
        status = None
        identity = DeviceIdentity()
        if live.metrics is not None:
            polled = live.metrics.data(tz=self.services.tz)["metrics"]  # formatted as device:metrics is
            bandwidth = polled["bandwidth"]
            metrics = Readings(polled["cpu"], polled["memory"], Bandwidth(bandwidth["in"], bandwidth["out"]), live.uptime)
            identity = live.metrics.identity or identity
            cpu, memory = (s or MetricSource(None, "not read") for s in (live.metrics.cpu_source, live.metrics.memory_source))
            status = MetricsStatus(MetricStatus(cpu.method, cpu.reason), MetricStatus(memory.method, memory.reason))
        else:
            metrics = Readings(None, None, Bandwidth(None, None), live.uptime)
        return Device(
            device.id, device.id, device.host, identity.hardware_type, identity.vendor, identity.model, identity.os,
            identity.version, identity.serial, identity.sys_name, identity.sys_descr, identity.sys_object_id, identity.location,
            identity.contact, status,
            list(device.tags), live.status, live.reason,
            rfc3339(live.last_seen, self.services.tz), metrics, device.port, device.version, device.poll_interval,
            monitored.source, _snmpv3(monitored.config),
        )

    async def devices(self, call: Call) -> Response:
        scope = call.claims.scope
        return answer(DeviceList([self._view(m) for m in self.services.inventory.devices() if self.services.access.tags(scope, m.config.tags)]))

    async def device(self, call: Call) -> Response:
        return answer(self._view(self._visible(call)))

    async def add_device(self, call: Call) -> Response:
        try:
            device = device_from_json(msgspec.to_builtins(call.body))
        except InvalidDevice as exc:
            raise ApiError("VALIDATION_FAILED", str(exc)) from None
        self._check_scope(call.claims, device.tags)
        try:
            monitored = await self.services.inventory.add(device)
        except DeviceExists as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        return answer(self._view(monitored), 201, (("location", f"/api/devices/{device.id}"),))

    def _changeable(self, call: Call) -> Monitored:
        monitored = self._visible(call)
        try:
            return self.services.inventory.changeable(monitored.id)
        except ConfiguredDevice as exc:
            raise ApiError("CONFLICT", str(exc)) from None

    async def change_device(self, call: Call) -> Response:
        monitored = self._changeable(call)
        try:
            device = changed_device(monitored.config, msgspec.to_builtins(call.body))
        except InvalidDevice as exc:
            raise ApiError("VALIDATION_FAILED", str(exc)) from None
        self._check_scope(call.claims, device.tags)
        try:
            monitored = await self.services.inventory.update(device)
        except UnknownDevice:  # removed by another request meanwhile
            raise ApiError("NOT_FOUND", f"no device {device.id!r}") from None
        return answer(self._view(monitored))

    async def remove_device(self, call: Call) -> Response:
        monitored = self._changeable(call)
        try:
            await self.services.inventory.remove(monitored.id)
        except UnknownDevice:  # removed by another request meanwhile
            raise ApiError("NOT_FOUND", f"no device {monitored.id!r}") from None
        await self.services.alerts.forget_device(monitored.id)
        return Response(204)

    async def interfaces(self, call: Call) -> Response:
        monitored = self._visible(call)
        metrics = monitored.live.metrics
        return answer(Interfaces(
            monitored.id,
            None if metrics is None else rfc3339(metrics.timestamp, self.services.tz),
            [] if metrics is None else [_interface(itf, metrics.timestamp, self.services.tz) for itf in metrics.interfaces],
        ))

    async def components(self, call: Call) -> Response:
        monitored = self._visible(call)
        metrics = monitored.live.metrics
        found = () if metrics is None else metrics.components
        return answer(Components(
            monitored.id,
            None if metrics is None else rfc3339(metrics.timestamp, self.services.tz),
            [_component(c) for c in found if c.kind == "processor"],
            [_component(c) for c in found if c.kind == "memory"],
        ))

    async def history(self, call: Call) -> Response:
        monitored = self._visible(call)
        query = call.query
        end = int(time.time()) if query.to is UNSET else seconds(query.to, "to", "INVALID_PARAMETER")
        start = end - HISTORY_SPAN if query.from_ is UNSET else seconds(query.from_, "from", "INVALID_PARAMETER")
        if start >= end:
            raise ApiError("INVALID_PARAMETER", "from: must be before to")
        span = end - start
        step = given(query.step)
        if step is None:
            step = 0 if span <= 6 * 3600 else 300 if span <= 8 * 86400 else 3600
        points = await self.services.store.history(monitored.id, query.metric, start, end, step)
        at = self.services.time
        return answer(History(
            monitored.id, query.metric, at(start), at(end), step,
            [Point(at(p.ts), p.avg, p.min, p.max) for p in merge(points, step)],
        ))


def _snmpv3(device: DeviceConfig) -> Snmpv3 | None:
    level = device.security_level
    if level is None:
        return None
    return Snmpv3(
        device.user or "", level, device.auth_protocol if level != "noAuthNoPriv" else None,
        device.priv_protocol if level == "authPriv" else None, device.context,
    )


def merge(points: list[HistoryPoint], step: int) -> list[HistoryPoint]:
    """Points merged into buckets of `step` seconds (aligned on Unix time). The store
    gives per-bucket averages without counts, so a merged average weighs each
    source point alike: exact for a device polled at a steady interval."""
    if step <= 0:
        return points
    out: list[HistoryPoint] = []
    group: list[HistoryPoint] = []
    for point in points:
        if group and point.ts - point.ts % step != group[0].ts - group[0].ts % step:
            out.append(_merged(group, step))
            group = []
        group.append(point)
    if group:
        out.append(_merged(group, step))
    return out


def _merged(group: list[HistoryPoint], step: int) -> HistoryPoint:
    if len(group) == 1 and group[0].ts % step == 0:
        return group[0]
    return HistoryPoint(
        group[0].ts - group[0].ts % step, sum(p.avg for p in group) / len(group),
        min(p.min for p in group), max(p.max for p in group),
    )
