"""Devices: the list, one device, adding, changing and removing those added here, their
interfaces, and the history of their metrics."""

from __future__ import annotations

import time
from typing import Any

import attrs

from eyenet.auth.model import scope_allows
from eyenet.auth.tokens import Claims
from eyenet.collect.history import HistoryPoint
from eyenet.devices.inventory import (
    ConfiguredDevice,
    DeviceExists,
    InvalidDevice,
    Monitored,
    UnknownDevice,
    changed_device,
    device_from_json,
)
from eyenet.events import rfc3339
from eyenet.web.http import Request, Response
from eyenet.web.rest import openapi
from eyenet.web.rest.openapi import METRIC_PATTERN, Operation, Param
from eyenet.web.rest.router import ApiError, Call, Router
from eyenet.web.rest.services import Services
from eyenet.web.rest.times import HISTORY_SPAN, MAX_TIME, unix

HISTORY_PARAMS = (
    Param("metric", {"type": "string", "pattern": METRIC_PATTERN},
          "cpu, memory, uptime, bandwidth.in, bandwidth.out, or one interface's if.<ifIndex>.in / .out", required=True),
    Param("from", {"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_TIME}, {"type": "string", "format": "date-time"}]},
          f"Unix seconds or RFC 3339; default: {HISTORY_SPAN} s before `to`"),
    Param("to", {"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_TIME}, {"type": "string", "format": "date-time"}]},
          "Unix seconds or RFC 3339; default: now"),
    Param("step", {"type": "integer", "minimum": 0, "maximum": MAX_TIME},
          "seconds per point, 0 for every sample; default: 0 up to 6 hours, 300 up to 8 days, else 3600"),
)


@attrs.frozen
class DeviceRoutes:
    services: Services

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/api/devices", self.devices, Operation("The devices in the user's scope", "devices", "viewer", "DeviceList"))
        add("POST", "/api/devices", self.add_device, Operation(
            "Add a device to monitor", "devices", "admin", "Device", status=201, request="NewDevice", errors=(409,),
            description="A scoped admin must give the device one of its scope's tags.",
        ))
        add("GET", "/api/devices/{id}", self.device, Operation("One device", "devices", "viewer", "Device"))
        add("PATCH", "/api/devices/{id}", self.change_device, Operation(
            "Change a device added through the API", "devices", "admin", "Device", request="DeviceChange", errors=(409,),
            description="Devices from the configuration file are changed there (409).",
        ))
        add("DELETE", "/api/devices/{id}", self.remove_device, Operation(
            "Stop monitoring a device added through the API", "devices", "admin", status=204, errors=(409,),
            description="Its history stays until retention removes it. Devices from the configuration file are removed there (409).",
        ))
        add("GET", "/api/devices/{id}/interfaces", self.interfaces, Operation(
            "The device's interfaces with their rates at the last poll", "devices", "viewer", "Interfaces",
        ))
        add("GET", "/api/devices/{id}/metrics", self.history, Operation(
            "History of one metric", "devices", "viewer", "History", query=HISTORY_PARAMS,
            description="Points in [from, to). A step under 300 s reads every sample, 300 s and up the 5-minute "
            "rollup, 3600 s and up the hourly one; a step that is not the table's own width merges its points.",
        ))

    def _visible(self, call: Call) -> Monitored:
        return self.services.visible_device(call.claims, call.params["id"])

    @staticmethod
    def _check_scope(claims: Claims, tags: tuple[str, ...]) -> None:
        if not scope_allows(claims.scope, tags):
            raise ApiError(
                "FORBIDDEN", f"the device must carry one of your scope's tags ({', '.join(claims.scope)}), or you could not see it"
            )

    def _view(self, monitored: Monitored) -> dict[str, Any]:
        """events.md's device shape; what is not known yet is null. Never the credentials."""
        device, live = monitored.config, monitored.live
        if live.metrics is not None:
            metrics = live.metrics.data(tz=self.services.tz)["metrics"]  # formatted as device:metrics is
        else:
            metrics = {"cpu": None, "memory": None, "bandwidth": {"in": None, "out": None}}
        return {
            "id": device.id,
            "name": device.id,
            "host": device.host,
            "type": None,
            "vendor": None,
            "model": None,
            "tags": list(device.tags),
            "status": live.status,
            "reason": live.reason,
            "lastSeen": rfc3339(live.last_seen, self.services.tz),
            "metrics": {**metrics, "uptime": live.uptime},
            "port": device.port,
            "version": device.version,
            "pollInterval": device.poll_interval,
            "source": monitored.source,
        }

    async def devices(self, call: Call) -> Response:
        scope = call.claims.scope
        return Response.json(
            {"devices": [self._view(m) for m in self.services.inventory.devices() if scope_allows(scope, m.config.tags)]}
        )

    async def device(self, call: Call) -> Response:
        return Response.json(self._view(self._visible(call)))

    async def add_device(self, call: Call) -> Response:
        try:
            device = device_from_json(call.body)
        except InvalidDevice as exc:
            raise ApiError("VALIDATION_FAILED", str(exc)) from None
        self._check_scope(call.claims, device.tags)
        try:
            monitored = await self.services.inventory.add(device)
        except DeviceExists as exc:
            raise ApiError("CONFLICT", str(exc)) from None
        return Response.json(self._view(monitored), 201, (("location", f"/api/devices/{device.id}"),))

    def _changeable(self, call: Call) -> Monitored:
        monitored = self._visible(call)
        try:
            return self.services.inventory.changeable(monitored.id)
        except ConfiguredDevice as exc:
            raise ApiError("CONFLICT", str(exc)) from None

    async def change_device(self, call: Call) -> Response:
        monitored = self._changeable(call)
        try:
            device = changed_device(monitored.config, call.body)
        except InvalidDevice as exc:
            raise ApiError("VALIDATION_FAILED", str(exc)) from None
        self._check_scope(call.claims, device.tags)
        try:
            monitored = await self.services.inventory.update(device)
        except UnknownDevice:  # removed by another request meanwhile
            raise ApiError("NOT_FOUND", f"no device {device.id!r}") from None
        return Response.json(self._view(monitored))

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
        return Response.json({
            "deviceId": monitored.id,
            "timestamp": None if metrics is None else rfc3339(metrics.timestamp, self.services.tz),
            "interfaces": [] if metrics is None else [itf.data() for itf in metrics.interfaces],
        })

    async def history(self, call: Call) -> Response:
        monitored = self._visible(call)
        request = call.request
        metric = request.arg("metric")
        if metric is None:
            raise ApiError("INVALID_PARAMETER", "metric: is required (cpu, memory, uptime, bandwidth.in, bandwidth.out, if.<ifIndex>.in|out)")
        if problem := openapi.problem(HISTORY_PARAMS[0].schema, metric, "metric"):
            raise ApiError("INVALID_PARAMETER", problem)
        now = int(time.time())
        end = _time_arg(request, "to", now)
        start = _time_arg(request, "from", end - HISTORY_SPAN)
        if start >= end:
            raise ApiError("INVALID_PARAMETER", "from: must be before to")
        step = _step_arg(request, end - start)
        points = await self.services.store.history(monitored.id, metric, start, end, step)
        at = self.services.time
        return Response.json({
            "deviceId": monitored.id,
            "metric": metric,
            "from": at(start),
            "to": at(end),
            "step": step,
            "points": [{"timestamp": at(p.ts), "avg": p.avg, "min": p.min, "max": p.max} for p in merge(points, step)],
        })


def _time_arg(request: Request, name: str, default: int) -> int:
    text = request.arg(name)
    return default if text is None else unix(text, name, "INVALID_PARAMETER")


def _step_arg(request: Request, span: int) -> int:
    text = request.arg("step")
    if text is None:
        return 0 if span <= 6 * 3600 else 300 if span <= 8 * 86400 else 3600
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_TIME:
        raise ApiError("INVALID_PARAMETER", f"step: {text[:40]!r} is not a whole number of seconds (0 for every sample)")
    return int(text)


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
