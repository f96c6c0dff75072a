"""Alerts: the list (filtered), one alert with its history, acknowledge and resolve."""

from __future__ import annotations

from typing import Annotated, Literal

import attrs
import msgspec
from msgspec import UNSET, Meta, UnsetType

from eyenet.alerts.engine import ALERT_STATUSES, AlertNotFound, InvalidTransition
from eyenet.devices.model import DEVICE_ID
from eyenet.events import SEVERITIES, rfc3339
from eyenet.web.http import Response
from eyenet.web.rest.errors import ApiError
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import Call, Router, answer
from eyenet.web.rest.services import Services
from eyenet.web.rest.shapes import Timestamp, exact, from_json, given

DEFAULT_ALERTS = 500
MAX_ALERTS = 10_000


class AlertQuery(msgspec.Struct, rename="camel"):
    status: Annotated[
        Literal[(*ALERT_STATUSES, "active")], Meta(description="open, acknowledged, resolved, or active (open or acknowledged)")
    ] | UnsetType = UNSET
    severity: Annotated[Literal[SEVERITIES], Meta(description="critical, warning or info")] | UnsetType = UNSET
    device_id: Annotated[str, Meta(pattern=exact(DEVICE_ID), description="one device's alerts")] | UnsetType = UNSET
    limit: Annotated[int, Meta(ge=1, le=MAX_ALERTS, description="at most this many, newest first")] = DEFAULT_ALERTS


class Alert(msgspec.Struct, rename="camel"):
    alert_id: str
    rule_id: str
    severity: Literal[SEVERITIES]
    device_id: str
    interface: str | None
    metric: str
    message: str
    status: Literal[ALERT_STATUSES]
    value: float | None
    threshold: float | None
    created_at: Timestamp
    updated_at: Timestamp
    updated_by: Annotated[str | None, Meta(description="a user id, or 'system'; null while open")]
    suppressed_by: Annotated[str | None, Meta(
        description="the root-cause alert: the device was reachable only through a device that is down (such alerts are not pushed)",
    )]


class AlertList(msgspec.Struct):
    alerts: list[Alert]


class AlertChange(msgspec.Struct):
    change: Annotated[
        Literal["new", "acknowledged", "resolved", "notify"],
        Meta(description="notify: pushed after the maintenance window it was raised in"),
    ]
    status: Literal[ALERT_STATUSES]
    by: str | None
    at: Timestamp
    value: float | None


class AlertDetail(Alert):
    history: Annotated[list[AlertChange], Meta(description="every change, oldest first")]


@attrs.frozen
class AlertRoutes:
    services: Services

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/api/alerts", self.alerts, Operation(
            "Alerts in the user's scope, newest first", "alerts", "viewer", AlertList, query=AlertQuery,
        ))
        add("GET", "/api/alerts/{id}", self.alert, Operation(
            "One alert with every change it went through (who, when)", "alerts", "viewer", AlertDetail,
        ))
        add("POST", "/api/alerts/{id}/acknowledge", self.acknowledge, Operation(
            "Acknowledge an open alert (alert:update, updatedBy: your user id)", "alerts", "operator", Alert, errors=(409,),
            description="An alert already acknowledged is answered as it is (nothing changes); a resolved one 409.",
        ))
        add("POST", "/api/alerts/{id}/resolve", self.resolve, Operation(
            "Resolve an open or acknowledged alert (alert:update, updatedBy: your user id)", "alerts", "operator", Alert,
            description="An alert already resolved is answered as it is. If the condition still holds, the rule "
            "raises a new alert after its `for`.",
        ))

    async def alerts(self, call: Call) -> Response:
        query = call.query
        status = given(query.status)
        alerts = await self.services.store.alerts(
            active_only=status == "active", status=None if status == "active" else status, severity=given(query.severity),
            device_id=given(query.device_id), devices=self.services.scoped_devices(call.claims), limit=query.limit,
        )
        return answer(AlertList([from_json(Alert, a.to_json(self.services.tz)) for a in alerts]))

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
        changes = [AlertChange(h.change, h.status, h.by, rfc3339(h.at, tz), h.value) for h in history]
        return answer(from_json(AlertDetail, {**alert.to_json(tz), "history": changes}))

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
        return answer(from_json(Alert, alert.to_json(self.services.tz)))
