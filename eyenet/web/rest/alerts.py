"""Alerts: the list (filtered), one alert with its history, acknowledge and resolve."""

from __future__ import annotations

import attrs

from eyenet.alerts.engine import ALERT_STATUSES, AlertNotFound, InvalidTransition
from eyenet.devices.model import DEVICE_ID
from eyenet.events import SEVERITIES, rfc3339
from eyenet.web.http import Response
from eyenet.web.rest.openapi import Operation, Param
from eyenet.web.rest.router import ApiError, Call, Router
from eyenet.web.rest.services import Services

DEFAULT_ALERTS = 500
MAX_ALERTS = 10_000
ALERT_PARAMS = (
    Param("status", {"enum": [*ALERT_STATUSES, "active"]}, "open, acknowledged, resolved, or active (open or acknowledged)"),
    Param("severity", {"enum": list(SEVERITIES)}, "critical, warning or info"),
    Param("deviceId", {"type": "string", "pattern": DEVICE_ID.pattern}, "one device's alerts"),
    Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_ALERTS}, f"at most this many, newest first (default {DEFAULT_ALERTS})"),
)


@attrs.frozen
class AlertRoutes:
    services: Services

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/api/alerts", self.alerts, Operation(
            "Alerts in the user's scope, newest first", "alerts", "viewer", "AlertList", query=ALERT_PARAMS,
        ))
        add("GET", "/api/alerts/{id}", self.alert, Operation(
            "One alert with every change it went through (who, when)", "alerts", "viewer", "AlertDetail",
        ))
        add("POST", "/api/alerts/{id}/acknowledge", self.acknowledge, Operation(
            "Acknowledge an open alert (alert:update, updatedBy: your user id)", "alerts", "operator", "Alert", errors=(409,),
            description="An alert already acknowledged is answered as it is (nothing changes); a resolved one 409.",
        ))
        add("POST", "/api/alerts/{id}/resolve", self.resolve, Operation(
            "Resolve an open or acknowledged alert (alert:update, updatedBy: your user id)", "alerts", "operator", "Alert",
            description="An alert already resolved is answered as it is. If the condition still holds, the rule "
            "raises a new alert after its `for`.",
        ))

    async def alerts(self, call: Call) -> Response:
        request = call.request
        status, severity, device_id = request.arg("status"), request.arg("severity"), request.arg("deviceId")
        for name, value, allowed in (("status", status, ALERT_STATUSES + ("active",)), ("severity", severity, SEVERITIES)):
            if value is not None and value not in allowed:
                raise ApiError("INVALID_PARAMETER", f"{name}: must be one of {', '.join(allowed)}, not {value[:40]!r}")
        if device_id is not None and not DEVICE_ID.fullmatch(device_id):
            raise ApiError("INVALID_PARAMETER", f"deviceId: {device_id[:40]!r} is not a device id")
        limit = request.arg("limit")
        limit = str(DEFAULT_ALERTS) if limit is None else limit
        if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= MAX_ALERTS:
            raise ApiError("INVALID_PARAMETER", f"limit: must be a whole number from 1 to {MAX_ALERTS}")
        alerts = await self.services.store.alerts(
            active_only=status == "active", status=None if status == "active" else status, severity=severity,
            device_id=device_id, devices=self.services.scoped_devices(call.claims), limit=int(limit),
        )
        return Response.json({"alerts": [a.to_json(self.services.tz) for a in alerts]})

    async def _visible_alert(self, call: Call):
        alert_id = call.params["id"]
        found = await self.services.store.alert(alert_id)
        devices = self.services.scoped_devices(call.claims)
        if found is None or (devices is not None and found[0].device_id not in devices):
            raise ApiError("NOT_FOUND", f"no alert {alert_id!r}")
        return found

    async def alert(self, call: Call) -> Response:
        alert, history = await self._visible_alert(call)
        tz = self.services.tz
        return Response.json({
            **alert.to_json(tz),
            "history": [
                {"change": h.change, "status": h.status, "by": h.by, "at": rfc3339(h.at, tz), "value": h.value}
                for h in history
            ],
        })

    async def acknowledge(self, call: Call) -> Response:
        return await self._alert_action(call, self.services.alerts.acknowledge, "acknowledged")

    async def resolve(self, call: Call) -> Response:
        return await self._alert_action(call, self.services.alerts.resolve, "resolved")

    async def _alert_action(self, call: Call, action, target: str) -> Response:
        alert, _ = await self._visible_alert(call)
        # Asking again for what already holds changes nothing and is answered as done, so a
        # client may retry after a lost answer; only acknowledging a resolved alert conflicts.
        if alert.status != target:
            try:
                alert = await action(alert.id, call.claims.user_id)
            except (AlertNotFound, InvalidTransition):
                alert, _ = await self._visible_alert(call)  # changed meanwhile
                if alert.status != target:
                    raise ApiError("CONFLICT", f"alert {alert.id} is {alert.status}: it cannot be {target}") from None
        return Response.json(alert.to_json(self.services.tz))
